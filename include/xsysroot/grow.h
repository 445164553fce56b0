/* grow.h - growing a view while it serves.
 *
 * A lookup of a path that no package of the view has may bring the package
 * of the archive that ships it (alone, not its dependencies) into the view,
 * so that a guest program reads the target's file instead of the host's.
 * Only paths in scope (xs_grow_scope) are looked for.  The path is looked
 * up in the reverse index of every Contents index (the sources in order,
 * contents.h), each candidate confirmed by its forward entry; the candidate
 * table of the resolution (viewcache.h) gives the package's version and
 * file.  A directory that packages of the archive ship paths below is
 * added to the view (empty), so that the lookups below it come here next.
 *
 * What grow does not do: own the package table, the Contents indexes or
 * the view's packages.  The caller (the repo) supplies them through
 * xs_grow_ops, and adds the package itself (ops.add).  It does not fetch.
 *
 * Thread safety: xs_grow_provide and xs_grow_find_provider may be called
 * concurrently; additions are serialised by a lock of the xs_grow (taken
 * alone, around ops.in_view and ops.add), and the candidate table is
 * mapped once under it.  The ops must be callable from any thread.
 * Logging: through the log callback, with the path and the package.
 */
#ifndef XSYSROOT_GROW_H
#define XSYSROOT_GROW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/contents.h"
#include "xsysroot/util.h"
#include "xsysroot/view.h"
#include "xsysroot/viewcache.h"

/* The paths a running view may add a package for, as the view shows them
 * (relative, normalised): etc/, usr/lib/ and usr/libexec/, except the
 * trees that only their own interpreters or tools read, and debugging
 * symbols. */
bool xs_grow_scope(const char *vpath);

/* The reverse index key of a Contents path (xs_contents_build_rev's key
 * function): its view form when in scope, else 0 (not indexed). */
int xs_grow_rev_key(const char *path, char *out, size_t outsz, void *ud);
/* Attach the reverse index at rpath to c, building it first when absent
 * (*built true, *st its figures).  0 or negative errno; without one the
 * view only cannot grow. */
int xs_grow_open_rev(struct xs_contents *c, const char *rpath, bool *built,
		     struct xs_contents_rev_stats *st);

struct xs_grow_ops {
	/* The candidate table's file into out: 0, or negative errno for none. */
	int (*table_path)(void *ud, char *out, size_t outsz);
	/* The i-th Contents index, the sources in order; NULL past the last. */
	struct xs_contents *(*contents)(void *ud, size_t i);
	/* Whether the view has a package of that name. */
	bool (*in_view)(void *ud, const char *name);
	/* Add candidate c, which provides /vpath, to the view: 1, -ENOSPC when
	 * the view has no room, -EBADMSG when c is unusable. */
	int (*add)(void *ud, const struct xs_viewcache_cand *c, const char *vpath);
};

struct xs_grow_config {
	const char *arch; /* Debian architecture: candidates of it or "all" */
	int max_added;	  /* in the message when ops.add says -ENOSPC */
	xs_log_fn log;
	void *log_ud;
	struct xs_grow_ops ops;
	void *ud;
};

struct xs_grow;

/* Never fails (allocation failures abort, as xs_xmalloc). */
struct xs_grow *xs_grow_new(const struct xs_grow_config *cfg);
void xs_grow_free(struct xs_grow *g);

/* Lookup of name in directory parent of view v found nothing: 1 when the
 * view now has it (a package or a directory was added), 0 when not,
 * negative errno (-ENAMETOOLONG, or from xs_view_path). */
int xs_grow_provide(struct xs_grow *g, struct xs_view *v, uint64_t parent, const char *name);
/* The package of the archive that would provide path (relative, as the
 * view shows it): 1 and its name and version ("" when the candidate table
 * does not list it), 0 none, -EINVAL for a bad path. */
int xs_grow_find_provider(struct xs_grow *g, const char *path, char *name, size_t namesz,
			  char *version, size_t versz);
/* The candidate table's line of name: 0, -ENOENT, -EBADMSG (the mapping
 * lives as long as g; the spans point into it). */
int xs_grow_cands_find(struct xs_grow *g, const char *name, struct xs_viewcache_line *out);
#endif
