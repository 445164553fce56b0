/* aptsrc.h - the host's apt sources and os-release.
 *
 * Parsing is pure (xs_aptsrc_parse_*); xs_aptsrc_load reads files under a root
 * directory ("/" normally, a fixture directory in tests).
 */
#ifndef XSYSROOT_APTSRC_H
#define XSYSROOT_APTSRC_H
#include <stdbool.h>
#include <stddef.h>

struct xs_source {
	char *uri;	   /* base URL without trailing '/' */
	char *suite;
	char **components; /* NULL-terminated */
	char *signed_by;   /* keyring path from [signed-by=] / Signed-By, or NULL */
	char **archs;	   /* NULL-terminated list from [arch=] / Architectures, or NULL */
	bool enabled;
	char *origin_file; /* where it was read, for messages */
};

struct xs_sourcelist {
	struct xs_source *v;
	size_t n, cap;
};

void xs_sourcelist_free(struct xs_sourcelist *l);
/* One-line format ("deb [opts] uri suite comp..."); deb-src lines and
 * comments are skipped.  file names the origin for messages. */
int xs_aptsrc_parse_list(struct xs_sourcelist *l, const char *text, size_t len,
			 const char *file);
/* deb822 format (.sources); a stanza may carry several URIs and Suites:
 * one entry per (uri, suite).  Types without "deb" and Enabled: no are skipped. */
int xs_aptsrc_parse_sources(struct xs_sourcelist *l, const char *text, size_t len,
			    const char *file);
/* Read root/etc/apt/sources.list and root/etc/apt/sources.list.d/ *.list and
 * *.sources (sorted by name, as apt does).  Missing files are fine. */
int xs_aptsrc_load(struct xs_sourcelist *l, const char *root);
/* VERSION_CODENAME (or, failing that, the codename in VERSION) from
 * root/etc/os-release, falling back to root/usr/lib/os-release. */
int xs_osrelease_codename(const char *root, char *out, size_t outsz);
/* True for a suite that belongs to this codename: "bookworm", "bookworm-updates",
 * "bookworm-security", but not "bookworm-backports" (apt pins it low). */
bool xs_suite_belongs(const char *suite, const char *codename);
#endif
