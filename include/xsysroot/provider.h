/* provider.h - which package of the archive ships a path: a query.
 *
 * ldd and run ask it which package of the archive, outside the view, ships
 * a library a program needs (ldd names it, run declares it before it
 * mounts).  It never changes a view: a view holds exactly the dependency
 * closure of what was declared (repo.h), and no lookup adds a package.
 * Only paths in scope (xs_provider_scope) are known.  The path is looked up
 * in the reverse index of every Contents index (the sources in order,
 * contents.h), each candidate confirmed by its forward entry; the candidate
 * table of the resolution (viewcache.h) gives the package's version.
 *
 * What it does not do: own the Contents indexes or the view's packages
 * (the caller supplies them through xs_provider_ops), fetch, or add
 * anything to a view.
 *
 * Thread safety: xs_provider_find and xs_provider_cands_find may be called
 * concurrently; the candidate table is mapped once, under a lock of the
 * xs_provider (taken alone).  The ops must be callable from any thread.
 */
#ifndef XSYSROOT_PROVIDER_H
#define XSYSROOT_PROVIDER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/contents.h"
#include "xsysroot/util.h"
#include "xsysroot/view.h"
#include "xsysroot/viewcache.h"

/* The paths a provider is known for, as the view shows them (relative,
 * normalised): etc/, usr/lib/ and usr/libexec/, except the trees that only
 * their own interpreters or tools read, and debugging symbols. */
bool xs_provider_scope(const char *vpath);

/* The reverse index key of a Contents path (xs_contents_build_rev's key
 * function): its view form when in scope, else 0 (not indexed). */
int xs_provider_rev_key(const char *path, char *out, size_t outsz, void *ud);
/* Attach the reverse index at rpath to c, building it first when absent
 * (*built true, *st its figures).  0 or negative errno; without one no
 * provider is found in c. */
int xs_provider_open_rev(struct xs_contents *c, const char *rpath, bool *built,
			 struct xs_contents_rev_stats *st);

struct xs_provider_ops {
	/* The candidate table's file into out: 0, or negative errno for none. */
	int (*table_path)(void *ud, char *out, size_t outsz);
	/* The i-th Contents index, the sources in order; NULL past the last. */
	struct xs_contents *(*contents)(void *ud, size_t i);
	/* Whether the view has a package of that name. */
	bool (*in_view)(void *ud, const char *name);
};

struct xs_provider;

/* Never fails (allocation failures abort, as xs_xmalloc). */
struct xs_provider *xs_provider_new(const struct xs_provider_ops *ops, void *ud);
void xs_provider_free(struct xs_provider *p);

/* The package of the archive outside the view that ships path (relative,
 * as the view shows it): 1 and its name and version ("" when the candidate
 * table does not list it), 0 none, -EINVAL for a bad path. */
int xs_provider_find(struct xs_provider *p, const char *path, char *name, size_t namesz,
		     char *version, size_t versz);
/* The candidate table's line of name: 0, -ENOENT, -EBADMSG (the mapping
 * lives as long as p; the spans point into it). */
int xs_provider_cands_find(struct xs_provider *p, const char *name,
			   struct xs_viewcache_line *out);
#endif
