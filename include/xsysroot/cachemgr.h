/* cachemgr.h - what the cache holds, checking it, and trimming it.
 *
 * The store (store.h) only adds; this module looks at a whole cache
 * directory from outside any mount:
 *   - list: the cached packages (a manifest meta/manifest-<deb sha256>, and
 *     beside it meta/pkg-<deb sha256> naming the package; its mtime is the
 *     package's last use), the cached InRelease files with the index objects
 *     they list, and the disk usage;
 *   - verify: every object re-hashed against its name; a mismatch is moved
 *     to quarantine/ (store.h); manifests that name a missing object are
 *     reported (a mount fetches such a package again); the compact
 *     Packages indexes checked whole, a damaged one moved to quarantine/;
 *   - gc: removes leftovers (tmp/ files nobody holds, quarantine/), objects
 *     nothing references, and with a size bound evicts the least recently
 *     used packages until the cache fits.
 *
 * What gc never removes:
 *   - what a live process leased: each process that opens a view (a mount,
 *     fetch, ldd) keeps a lease file leases/<random> under flock(LOCK_EX)
 *     for its life, listing "pkg <deb sha256>" for every package of its view
 *     and "obj <sha256>" for every object it serves that no manifest names
 *     (generated files such as ld.so.cache).  A lease nobody holds belongs to
 *     a dead process and is deleted.  Files a mount has open therefore stay
 *     in place (and a file opened later through the mount finds its object);
 *   - the index objects a cached InRelease lists, and the meta/ documents
 *     (parsed indexes, resolved views), which a live mount may map, unless
 *     unused for a while (xs_cache_gc_run's index_age; a Contents index
 *     only while no process holds a lease);
 *   - anything while a process adds to the store: adding happens under the
 *     cache's shared lock (xs_cache_hold), gc takes it exclusively.
 *
 * Last use: the mtime of meta/pkg-<deb sha256>, set when a package is
 * fetched or put in a view by a mount or fetch (once per package per view,
 * never per read).
 *
 * The names of these files are cachefiles.h's; this module tells what it
 * finds with that header's parsers.
 *
 * Sizes are disk usage (allocated blocks, as du counts them).
 *
 * Thread safety: leases are thread safe; the rest works on its own handles.
 * Nothing here logs.
 */
#ifndef XSYSROOT_CACHEMGR_H
#define XSYSROOT_CACHEMGR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/store.h"

/* ---- the shared lock ------------------------------------------------------ */
/* Take the cache's lock (dir/lock) shared: returns an fd to close to release
 * it, or a negative errno.  Held while a process adds objects and the
 * documents that refer to them, and while it opens a view. */
int xs_cache_hold(const char *dir);

/* ---- leases ----------------------------------------------------------------- */
struct xs_lease;
/* Create this process's lease in dir/leases/. */
int xs_lease_open(const char *dir, struct xs_lease **out);
/* Record kind ("pkg" or "obj") sha256; appended at once. */
int xs_lease_add(struct xs_lease *l, const char *kind, const char *sha256);
/* Delete the lease (NULL is fine). */
void xs_lease_close(struct xs_lease *l);

/* ---- last use --------------------------------------------------------------- */
/* Record that package deb_sha256 (name version arch) is used now: creates
 * meta/pkg-<deb_sha256> or sets its mtime. */
int xs_cache_note_use(struct xs_store *s, const char *deb_sha256, const char *name,
		      const char *version, const char *arch);

/* ---- list ------------------------------------------------------------------- */
struct xs_cache_pkg {
	char deb_sha256[65];
	char *name, *version, *arch; /* "?" when no meta/pkg- document names it */
	uint64_t bytes;		     /* its manifest and objects (shared ones counted in each) */
	uint64_t files;		     /* regular files */
	uint64_t missing;	     /* objects it names that are absent */
	int64_t last_use;	     /* seconds since the epoch */
	bool leased;		     /* a live process has it in its view */
};

struct xs_cache_index {
	char *source;	/* "Origin Suite (Codename)" of the InRelease that lists it */
	char *path;	/* "main/binary-arm64/Packages.xz", or "InRelease" itself */
	char sha256[65];
	uint64_t bytes; /* on disk (a Contents or Packages index: its compact form) */
};

struct xs_cache_info {
	struct xs_cache_pkg *pkgs;  /* sorted by name, then version */
	size_t npkgs;
	struct xs_cache_index *idx;
	size_t nidx;
	uint64_t total_bytes;	    /* the whole directory */
	uint64_t objects, object_bytes;
	uint64_t unreferenced, unreferenced_bytes;
	uint64_t quarantined, quarantine_bytes;
	uint64_t leases;	    /* live processes */
};

int xs_cache_list(const char *dir, struct xs_cache_info *out);
void xs_cache_info_free(struct xs_cache_info *ci);

/* ---- verify ----------------------------------------------------------------- */
struct xs_cache_verify {
	uint64_t objects, bytes; /* checked */
	uint64_t bad;		 /* moved to quarantine/ */
	char **bad_names;	 /* their digests, NULL-terminated */
	uint64_t broken;	 /* manifests naming a missing object */
	char **broken_names;	 /* "name version arch (N missing)", NULL-terminated */
	uint64_t indexes;	 /* compact Packages indexes checked (meta/packages-*.idx) */
	uint64_t bad_indexes;	 /* damaged ones, moved to quarantine/ */
	char **bad_index_names;	 /* "packages-SHA.idx: why", NULL-terminated */
};
/* progress (may be NULL) is called after each object with the counts so far.
 * Each compact index (pkgidx.h) gets the whole check a resolution makes
 * before it uses one (xs_pkgidx_load: digest, frame, parse, count), and
 * must have been made from the index its name gives; a damaged one is
 * moved to quarantine/ (a resolution rebuilds it from the mirror's index),
 * unless the name meanwhile refers to another file (a writer replaced it).
 * A compact index that cannot be read for another reason than damage
 * (-ENOMEM, -EACCES) ends the verification with that error. */
int xs_cache_verify(const char *dir, void (*progress)(uint64_t done, uint64_t total, void *ud),
		    void *ud, struct xs_cache_verify *out);
void xs_cache_verify_free(struct xs_cache_verify *v);

/* ---- gc --------------------------------------------------------------------- */
struct xs_cache_gc {
	uint64_t tmp_removed, quarantine_removed, leases_removed;
	uint64_t objects_removed, bytes_freed;
	uint64_t evicted;	 /* packages */
	char **evicted_names;	 /* "name version arch", NULL-terminated */
	uint64_t kept_leased;	 /* packages over the bound that a live process uses */
	uint64_t indexes_removed; /* index objects (xs_cache_gc_run) */
	char **index_names;	  /* "SOURCE PATH" of each, NULL-terminated */
	uint64_t contents_removed, views_removed; /* meta/ documents */
	uint64_t hybrid_removed; /* run --native-tools layers (CACHEDIR/hybrid) */
	uint64_t size_before, size_after;
};
/* max_size UINT64_MAX: no bound.  wait: block for the exclusive lock, else
 * -EWOULDBLOCK when a process is adding to the store.  Indexes are kept
 * (xs_cache_gc_run with index_age -1). */
int xs_cache_gc(const char *dir, uint64_t max_size, bool wait, struct xs_cache_gc *out);

/* Indexes and resolved views: an index object (a Packages file a cached
 * InRelease lists) whose last use (its mtime: set when fetched, and when a
 * mount or fetch reads it from the cache) is older than index_age, and
 * that no live process leased, is removed, as is a Packages index's
 * compact form (meta/packages-SHA.idx, pkgidx.h: read whole when a view
 * resolves, so no live process holds it) and as are the Contents indexes
 * (only while no live process holds a lease: one may have them mapped),
 * resolved views, candidate tables and --native-tools layers (hybrid/, as
 * Contents: only while no live process holds a lease; and a half-made one
 * of a dead process) not used for as long; beyond that
 * the resolved views are bounded to the newest XS_CACHE_MAX_VIEWS.  A
 * later mount of that suite and architecture fetches and rebuilds what it
 * needs.  The InRelease files themselves stay (small; the rollback guard
 * reads them).  dry_run: the same figures and names, nothing removed
 * (leases of dead processes stay too; tmp/ is purged by opening the cache
 * whatever the mode, as every process does). */
#define XS_CACHE_INDEX_AGE (14 * 86400) /* seconds, the default index_age */
#define XS_CACHE_MAX_VIEWS 64
struct xs_cache_gc_opts {
	uint64_t max_size; /* UINT64_MAX: no bound */
	bool wait;
	bool dry_run;
	int64_t index_age; /* seconds; 0: XS_CACHE_INDEX_AGE; -1: keep every index */
	int64_t now;	   /* 0: time(NULL) */
};
int xs_cache_gc_run(const char *dir, const struct xs_cache_gc_opts *o, struct xs_cache_gc *out);
void xs_cache_gc_free(struct xs_cache_gc *g);
#endif
