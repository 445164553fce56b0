/* config.h - xsysroot's configuration files: /etc/xsysroot.conf and the
 * user's $XDG_CONFIG_HOME/xsysroot/config (~/.config/xsysroot/config).
 *
 * The format (man/xsysroot.conf.5):
 *
 *     # a comment (a line whose first non-blank character is '#' or ';')
 *     mirror = http://one.example/debian http://two.example/debian
 *     quota = 20G
 *     [arch riscv64]
 *     mirror = http://ports.example/debian-ports
 *     suite = sid
 *
 * Keys before any section header are global; a section "[arch NAME]" (NAME
 * a Debian architecture or an alias) holds values for that architecture,
 * which win over the global ones.  Every key of the table (xs_config_keys)
 * may appear in both.  A value is the rest of the line, blanks trimmed.
 * Unknown keys, other section headers, a key given twice in one section of
 * one file, invalid values (checked here: URL schemes, sizes, numbers) and
 * malformed lines are errors naming "file:line".
 *
 * Several files merge key by key: a value parsed later replaces the one of
 * the same key in the same section (so the user's file, read after
 * /etc/xsysroot.conf, wins).  xs_config_resolve then gives the values for
 * one architecture.  The command line comes above all this, in src/cli.c.
 *
 * Parsing is pure (bytes in, tables out); xs_config_load reads a file.
 * Nothing here logs.  Not thread safe on one struct xs_config.
 */
#ifndef XSYSROOT_CONFIG_H
#define XSYSROOT_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum xs_config_key {
	XS_CONF_MIRROR,
	XS_CONF_SUITE,
	XS_CONF_COMPONENTS,
	XS_CONF_PACKAGES,
	XS_CONF_KEYRING,
	XS_CONF_CACHE_DIR,
	XS_CONF_QUOTA,
	XS_CONF_PROXY,
	XS_CONF_FETCH_TIMEOUT,
	XS_CONF_NKEYS
};

struct xs_config_key_info {
	const char *name; /* "cache-dir" */
	const char *arg;  /* what the value is: "DIR" */
	const char *help; /* one line */
};
/* The key table, indexed by enum xs_config_key (n: XS_CONF_NKEYS). */
const struct xs_config_key_info *xs_config_keys(size_t *n);

#define XS_CONFIG_MAX_FILE (1u << 20)  /* bytes in one file */
#define XS_CONFIG_MAX_LINE 4096	       /* bytes in one line */
#define XS_CONFIG_MAX_SECTIONS 64      /* distinct sections over all files */

struct xs_config_value {
	char *value;  /* NULL: not set */
	char *origin; /* "file:line" */
};

struct xs_config_section {
	char *arch; /* Debian name; NULL for the global section */
	struct xs_config_value v[XS_CONF_NKEYS];
};

struct xs_config {
	struct xs_config_section *secs; /* secs[0] is the global section */
	size_t n, cap;
};

void xs_config_init(struct xs_config *c);
void xs_config_free(struct xs_config *c);

/* Parse one file's text over what c holds.  On an error c is unchanged and
 * err says "file:line: what". */
int xs_config_parse(struct xs_config *c, const char *text, size_t len, const char *file,
		    char *err, size_t errsz);
/* Read and parse path; a missing file is -ENOENT (with err set) when
 * must_exist, else 0 with nothing read. */
int xs_config_load(struct xs_config *c, const char *path, bool must_exist, char *err,
		   size_t errsz);

/* The values for one architecture. */
struct xs_settings {
	const char *value[XS_CONF_NKEYS];  /* NULL: not set anywhere */
	const char *origin[XS_CONF_NKEYS]; /* "file:line" of each value */
	uint64_t quota;			   /* bytes; 0: not set */
	int fetch_timeout_s;		   /* 0: not set */
};
/* arch: a Debian name or alias, or NULL for the global values only. */
void xs_config_resolve(const struct xs_config *c, const char *arch, struct xs_settings *out);


/* The user's file: $XDG_CONFIG_HOME/xsysroot/config, else
 * $HOME/.config/xsysroot/config; -ENOENT when neither is set (absolute). */
int xs_config_user_path(char *out, size_t outsz);
#define XS_CONFIG_SYSTEM_PATH "/etc/xsysroot.conf"
#endif
