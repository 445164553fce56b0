/* filelists.h - the view's file lists from the archive's Contents indexes.
 *
 * For every source of an opened archive and every component, the
 * Contents-ARCH and Contents-all indexes are fetched once (through the
 * archive, which verifies them against the Release), turned into the compact
 * form of contents.h under meta/ (the raw file then dropped), and given a
 * reverse index for finding the package that ships a path (provider.h;
 * without one ldd and run find none there: a warning).  The packages' listed paths go into the view as
 * pending; a package no index lists is reported to the caller, who fetches
 * it at mount.
 *
 * Degradation: a Contents index is only an accelerator.  One the mirrors
 * serve wrong (its size or digest differ from the Release's) is not used and
 * remembered as refused for an hour (meta/contents-SHA.refused, unless
 * offline), one that cannot be read is not used: each with one warning,
 * its packages then fetched at mount.  Only a failure of the cache itself
 * (-ENOSPC, -EDQUOT, -EROFS, -ENOMEM) fails the open.
 *
 * What it does not do: fetch packages, resolve, own the view.
 *
 * Errors: 0 or negative errno with a message in err; warnings and progress
 * through the log callback.  Thread safety: xs_filelists_open_archive and
 * xs_filelists_attach before any other use, from one thread; afterwards the
 * lists are read-only and every other call may run concurrently (the view
 * given must allow its own calls).  Ownership: the xs_filelists owns the
 * indexes it opened or was given.  Limits: 4 GiB of Contents text per index.
 */
#ifndef XSYSROOT_FILELISTS_H
#define XSYSROOT_FILELISTS_H
#include <stdbool.h>
#include <stddef.h>

#include "xsysroot/archive.h"
#include "xsysroot/contents.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"
#include "xsysroot/view.h"

struct xs_filelists;

struct xs_filelists_config {
	struct xs_store *store;
	const char *cache_dir; /* for messages */
	bool offline;	       /* a refusal is then not remembered */
	size_t nsrcs;	       /* the sources' numbers are below it */
	xs_log_fn log;
	void *log_ud;
};

struct xs_filelists *xs_filelists_new(const struct xs_filelists_config *cfg);
void xs_filelists_free(struct xs_filelists *fl);

/* Open the Contents indexes of every source of a (opened, nsources equal to
 * cfg->nsrcs) for Debian architecture arch, degrading as above. */
int xs_filelists_open_archive(struct xs_filelists *fl, struct xs_archive *a, const char *arch,
			      char *err, size_t errsz);
/* Add the opened index c as one of source src's (taken over). */
void xs_filelists_attach(struct xs_filelists *fl, size_t src, struct xs_contents *c);

/* The indexes, the sources in order: how many, and the i-th (NULL past). */
size_t xs_filelists_count(const struct xs_filelists *fl);
struct xs_contents *xs_filelists_get(const struct xs_filelists *fl, size_t i);
/* Call cb with every path of package name that any index lists. */
void xs_filelists_foreach(const struct xs_filelists *fl, const char *name,
			  int (*cb)(const char *path, void *ud), void *ud);

/* Add the paths of package number pkg (name, of source src) to v as
 * pending: those its own source's indexes list, else (security archives
 * publish empty Contents files) the first other source's that lists any.
 * Returns how many paths. */
size_t xs_filelists_add_pkg(const struct xs_filelists *fl, struct xs_view *v, const char *name,
			    int src, int pkg);

struct xs_filelists_pkg {
	const char *name;
	int src;
	bool skip; /* its paths come another way (a cached manifest) */
};

/* xs_filelists_add_pkg for each of pkgs[0..n) not skipped, in order; one
 * that no index lists is passed to missing(ud, i, err, errsz) at once (to
 * fetch it), whose negative return stops and is returned.  Returns how many
 * were missing. */
int xs_filelists_add_view(const struct xs_filelists *fl, struct xs_view *v,
			  const struct xs_filelists_pkg *pkgs, size_t n,
			  int (*missing)(void *ud, size_t i, char *err, size_t errsz), void *ud,
			  char *err, size_t errsz);

#endif
