/* cli.h - what the commands of the xsysroot program share: the option
 * codes of the repository options, logging, mount helpers and quoting.
 * Each command lives in its own src/cmd_*.c. */
#ifndef XSYSROOT_CLI_H
#define XSYSROOT_CLI_H

#include <getopt.h>
#include <stdio.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/config.h"
#include "xsysroot/elf.h"
#include "xsysroot/lookup.h"
#include "xsysroot/repo.h"

enum {
	OPT_MIRROR = 256,
	OPT_SUITE,
	OPT_COMPONENTS,
	OPT_PACKAGES,
	OPT_KEYRING,
	OPT_CACHE_DIR,
	OPT_ALLOW_EXPIRED,
	OPT_FETCH_TIMEOUT,
	OPT_LOG_FILE,
	OPT_APT_ROOT,
	OPT_BIND,
	OPT_PROXY,
	OPT_CONFIG,
	OPT_OFFLINE,
	OPT_CACHE_MAX_SIZE,
	OPT_MAX_SIZE,
	OPT_JOBS,
	OPT_BINFMT_PREFIX,
	OPT_IMAGE,
	OPT_PLAIN_HTTP,
	OPT_CREDS,
	OPT_AUTH_FILE,
};


/* The long options of the repository options (mount, ldd and the commands
 * that open a view), for an option table. */
#define XS_REPO_LONG_OPTIONS                                                  \
	{ "mirror", required_argument, NULL, OPT_MIRROR },                    \
	{ "suite", required_argument, NULL, OPT_SUITE },                      \
	{ "components", required_argument, NULL, OPT_COMPONENTS },            \
	{ "packages", required_argument, NULL, OPT_PACKAGES },                \
	{ "keyring", required_argument, NULL, OPT_KEYRING },                  \
	{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },              \
	{ "allow-expired", no_argument, NULL, OPT_ALLOW_EXPIRED },            \
	{ "apt-root", required_argument, NULL, OPT_APT_ROOT },                \
	{ "proxy", required_argument, NULL, OPT_PROXY },                      \
	{ "config", required_argument, NULL, OPT_CONFIG },                    \
	{ "image", required_argument, NULL, OPT_IMAGE },                      \
	{ "plain-http", no_argument, NULL, OPT_PLAIN_HTTP },                  \
	{ "creds", required_argument, NULL, OPT_CREDS },                      \
	{ "auth-file", required_argument, NULL, OPT_AUTH_FILE }

/* The usage text (main.c). */
void usage(FILE *f);

/* The daemon's log: a file, and stderr in the foreground. */
struct logger {
	int fd;
	bool to_stderr;
	bool debug;
	const char *mountpoint;
};
void log_cb(int level, const char *msg, void *ud);
/* Warnings and errors to stderr, nothing else (commands that are not a
 * daemon). */
void warn_log(int level, const char *msg, void *ud);

/* fusermount3 -u [-z] MOUNTPOINT: 0 or -errno. */
int run_fusermount(const char *mp, bool lazy);
/* A mount whose daemon is gone (statfs gives ENOTCONN). */
bool mount_is_dead(const char *path);
/* The file system type and source of the topmost mount at mp (a real
 * path): 0, or -ENOENT when mp is no mount point. */
int mount_source(const char *mp, char *fstype, size_t ftsz, char *source, size_t srcsz);
/* cb for each line of /proc/self/mountinfo, in order, until it returns
 * non-zero (which is returned); 0 at the end, or -errno. */
int mountinfo_foreach(int (*cb)(const char *mp, const char *fstype, const char *source,
				void *ud),
		      void *ud);


void raise_nofile(void);
/* What the repository options collect; repo_configure then fills what the
 * command line left unset from the configuration files. */
struct repo_opts {
	struct xs_repo_config *cfg;
	char *cache_dir;	/* PATH_MAX bytes; "" until set */
	const char *config;	/* --config FILE, NULL: $XSYSROOT_CONFIG or the defaults */
	char *mirrors;		/* the --mirror values, space-separated (owned) */
	struct xs_config conf;	/* the files read (owned) */
	uint64_t quota;		/* bytes, from the files; 0: none */
};
/* The repository options (and --fetch-timeout, --offline): true when c was
 * one (and o was set); a bad --fetch-timeout value exits with status 2. */
bool repo_option(int c, struct repo_opts *o);
/* Read the configuration files (--config FILE, else $XSYSROOT_CONFIG, else
 * /etc/xsysroot.conf then the user's file) and fill from them, for the
 * architecture o->cfg->arch, what the command line left unset; -1 after
 * saying why on stderr. */
int repo_configure(struct repo_opts *o);
void repo_opts_free(struct repo_opts *o);
/* xsysroot --help-config: the keys of the configuration files. */
void config_help(FILE *f);
/* --fetch-timeout SECS into *out; false after saying why on stderr. */
bool fetch_timeout_option(const char *arg, int *out);
/* The cache directory (given, or this user's default), created, as an
 * absolute path in abs; -1 after saying why on stderr. */
int open_cache_dir(char cache_dir[PATH_MAX], char abs[PATH_MAX]);

/* The full path of a program of PATH in full: false when it is in none. */
bool path_lookup(const char *prog, char full[PATH_MAX]);
/* The program name if it is in PATH, else NULL. */
const char *in_path(const char *prog);
/* A fresh string, printf-style (aborts when out of memory). */
char *fmt_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* s quoted for sh when it needs it (a fresh string). */
char *sh_quote(const char *s);

/* Tell a service manager that the mount is ready (sd_notify's READY=1 to
 * $NOTIFY_SOCKET, without libsystemd); nothing when that is not set. */
void notify_ready(void);

/* The long options of mount (cmd_mount.c), which the mount helper form maps
 * its -o options to. */
extern const struct option mount_opts[];
/* Whether a first argument that is no command is the source of the mount
 * helper form ([TYPE#]ARCH): cmd_fstab.c. */
bool mount_helper_form(const char *source);
int cmd_mount_helper(int argc, char **argv);
/* A foreign ELF file and what it needs from a view (ldd, run). */
/* Read and parse file (its strings made printable): 0, or -1 after saying
 * why on stderr. */
int elf_load(const char *file, struct xs_elf *e);
/* Why e cannot run on a, or NULL. */
const char *elf_mismatch(const struct xs_elf *e, const struct xs_arch *a);
/* The view path of an absolute path, or false. */
bool view_path_of(const char *abs, char *out, size_t outsz);
/* The view has a file (not a directory) at vpath, looked up by the core in
 * mode (lookup.h; PEEK: the view as it stands): its attributes in va. */
bool view_has(struct xs_repo *r, enum xs_lookup_mode mode, const char *vpath,
	      struct xs_vattr *va);
/* One file the ELF needs: its interpreter, or a DT_NEEDED entry. */
struct elf_need {
	const char *label;  /* "interpreter PATH", or the DT_NEEDED name */
	const char *found;  /* the view path that has it, NULL when none does */
	int pkg;	    /* the package of found, -1 when generated */
	char *const *cands; /* not found: the view paths looked at, in order */
	size_t ncands;
	const char *why;    /* not found and nothing looked up: why not */
};
typedef void (*elf_need_fn)(struct xs_repo *r, const struct elf_need *n, void *ud);
/* Look up e's interpreter, then each DT_NEEDED in the loader's order
 * (DT_RPATH, DT_RUNPATH, the view's ld.so.conf order), in r's view; cb
 * once per entry. */
void elf_needs_foreach(struct xs_repo *r, const struct xs_elf *e, elf_need_fn cb, void *ud);

int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_env(int argc, char **argv);
int cmd_ldd(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_cache(int argc, char **argv);

/* A size option's value (xs_parse_size): true, or false after saying why
 * on stderr. */
bool size_option(const char *opt, const char *arg, uint64_t *out);
int cmd_run(int argc, char **argv);

#endif
