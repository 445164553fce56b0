/* source.h - where the packages of a view come from: one small interface
 * that the repo (repo.h, the composition) calls, and its implementations:
 *
 *   - a Debian archive (xs_source_debian_open, debsource.c): the view is
 *     complete at open (Contents, or the .debs fetched at open), settle has
 *     nothing to do, and fetching package i fetches, verifies and unpacks
 *     its .deb;
 *   - a container image (xs_source_image_open, source.c): open fetches
 *     only the image's documents and leaves the view empty; settle fetches
 *     every layer and fills the view; the whole image is one package (0).
 *
 * The repo runs a source's fetch through its single-flight fetcher
 * (fetcher.h), so a source need not collapse concurrent fetches of one
 * package; settle must be safe to call from any thread at any time.
 *
 * A source reports what it fetched in the repo's counters (updated with
 * __atomic builtins, read for the status) and events through the log
 * callback; it never logs otherwise.
 */
#ifndef XSYSROOT_SOURCE_H
#define XSYSROOT_SOURCE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/archive.h"
#include "xsysroot/cachemgr.h"
#include "xsysroot/fetcher.h"
#include "xsysroot/image.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"
#include "xsysroot/view.h"

/* What the sources fetched (xs_repo_stats); every field atomic. */
struct xs_source_counters {
	uint64_t debs_fetched;	 /* packages (or layers) downloaded */
	uint64_t deb_bytes;	 /* their bytes */
	uint64_t cache_hits;	 /* packages (or layers) found in the cache */
	uint64_t fetch_failures; /* failed fetches */
	uint64_t in_flight;	 /* fetches under way */
};

struct xs_source_ops {
	const char *kind; /* "debian", "image" */
	/* Fill the view before anything of it is answered: 0 at once when it
	 * is (already) filled; concurrent callers wait for one attempt; a
	 * failure is not remembered. */
	int (*settle)(void *impl, char *err, size_t errsz);
	/* Fetch, verify and unpack package i and apply it to the view: the
	 * fetcher's work, never run twice at once for one i. */
	int (*fetch)(void *impl, size_t i, char *err, size_t errsz);
	/* The sources, for messages: "URL SUITE[, ...]" or the image. */
	const char *(*describe)(void *impl);
	/* Where package i is fetched from (a base URL, or the image). */
	const char *(*origin)(void *impl, size_t i);
	/* Append the status lines of the sources ("source=URL SUITE\n"). */
	int (*status)(void *impl, struct xs_buf *out);
	/* Free what the source owns (NULL impl: nothing). */
	void (*free)(void *impl);
	/* Apply package i to the view from the cache when it is complete
	 * there, and mark it ready in the fetcher: true when done.  NULL: a
	 * source whose packages are never found this way. */
	bool (*cached)(void *impl, size_t i);
};

struct xs_pkg_source {
	const struct xs_source_ops *ops; /* NULL: no source yet */
	void *impl;
};

/* What a source uses of the repo; borrowed, must outlive it. */
struct xs_source_env {
	struct xs_store *store;
	struct xs_lease *lease;	    /* the layers and objects are leased here */
	struct xs_view *view;	    /* filled by settle, as package 0 */
	struct xs_fetcher *fetcher; /* key 0 marked ready once settled */
	const char *cache_dir;
	struct xs_source_counters *counters;
	/* what every view gets once its packages are in (loader files...) */
	int (*finish_view)(void *ud, char *err, size_t errsz);
	void *ud;
	xs_log_fn log;
	void *log_ud;
};

/* Open the image ic->ref (its documents only, image.h) as a source.  The
 * manifest's digest ("sha256:HEX") is copied to digest (the package's
 * version), the view digest (identity.h: over the layer digests) to
 * view_digest ("" when there is none).  0, or negative errno with a message. */
int xs_source_image_open(const struct xs_source_env *env, const struct xs_image_config *ic,
			 struct xs_pkg_source *out, char digest[80], char view_digest[65],
			 char *err, size_t errsz);

/* Package i of a Debian view, as the Debian source fetches it: the strings
 * are the repo's and stay valid while it lives. */
struct xs_deb_pkg {
	const char *name, *version, *arch, *filename, *sha256;
	uint64_t size;
	size_t src; /* the archive's source it comes from */
	uint64_t installed_size; /* Installed-Size in KiB, 0: not known */
};

/* What the Debian source uses besides base (whose lease and finish_view
 * it leaves alone: the repo leases its packages and finishes its view). */
struct xs_debian_env {
	struct xs_source_env base;
	struct xs_archive *archive; /* opened (xs_archive_open) */
	bool offline;		    /* never download */
	/* package i of the view (base.ud): called from any thread, for any
	 * i below the number of packages the fetcher tracks */
	void (*pkg)(void *ud, size_t i, struct xs_deb_pkg *out);
};

/* The archive env->archive as a source; env is copied.  Fetching package i
 * streams its .deb into the unpacker as it downloads
 * (xs_archive_fetch_pool_tee, debstream.h), and once the whole .deb matched
 * its size and SHA-256 writes its manifest (meta/manifest-DEB) and applies
 * it to the view; the .deb itself is never written.  A failed or restarted
 * download leaves only objects nothing names.
 *
 * Many processes share a cache (CVMFS's shared cache is the model):
 *   - cross-process single flight: a process fetches a package holding an
 *     flock on meta/pkg-DEB.lock (cachefiles.h) from the download to the
 *     manifest; one that waited for it finds the manifest complete and
 *     applies it instead of downloading (the in-process single flight,
 *     fetcher.h, stays in front: one thread per process waits);
 *   - the lock is taken under the cache's shared lock (xs_cache_hold), so
 *     gc, which holds that exclusively, never meets a held package lock;
 *     it removes an evicted package's lock file, and a process then locks
 *     the name made anew (xs_store_meta_lock);
 *   - a .deb the store holds whole (left by an older version) is unpacked
 *     from there and removed, under the package lock and after the
 *     manifest: every process reaches the .deb under that lock, and a
 *     process that finds the manifest never opens the .deb; keeping .debs
 *     until gc would double the cache for nothing.
 * Cached manifests are applied without the lock: a manifest is written by
 * rename after its objects are synced, so it is whole or absent. */
void xs_source_debian_open(const struct xs_debian_env *env, struct xs_pkg_source *out);
#endif
