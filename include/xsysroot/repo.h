/* repo.h - a verified Debian archive and the view built from it.
 *
 * xs_repo_open does everything a mount needs before it answers:
 *   1. the sources (archive.h): --mirror/--suite, or the host's Debian apt
 *      sources for the codename (release, -updates, -security...);
 *   2. for each source, InRelease: fetched, checked with gpgv against the
 *      keyring (--keyring, else the source's Signed-By, else the default),
 *      split strictly, Date/Valid-Until checked, Suite/Codename matched, and
 *      compared with the last verified one (an older Date is a rollback);
 *   3. Packages for each component: by-hash when Acquire-By-Hash, SHA256 and
 *      size checked into the store; unchanged indexes are never re-fetched;
 *   4. dependency resolution of the requested packages (cached per set of
 *      index digests, so a warm remount parses nothing; with cfg.memo, a
 *      later open of the same process resolves over the indexes an earlier
 *      one parsed, reading none), or, with a lock
 *      file (lock.h), exactly its pinned packages: no index is read, and a
 *      source that moved on since the lock has its packages fetched at open
 *      (its Contents describe other versions);
 *   5. the view's file lists, one of two ways chosen by cost
 *      (xs_filelists_choose): when the view's uncached .debs are fewer bytes
 *      than the Contents indexes still to download, or no Contents is
 *      usable, those .debs are fetched now, several at once (the fetcher's
 *      batch), verified and unpacked; otherwise Contents-ARCH and
 *      Contents-all, turned once into compact indexes, give every path of
 *      every package of the view, and no .deb has been fetched.  Either
 *      way the view is complete at mount time (XSYSROOT_CONTENTS=always|
 *      never overrides the choice; the debug log gives it, with both
 *      figures).
 * Packages that no Contents index lists are fetched at once, with the
 * others (so that the view never answers ENOENT for a path it provides).
 *
 * Real archives degrade; they do not fail the mount:
 *   - a Contents index is only an accelerator: one that fails verification
 *     (a mirror mid-sync serves another size), or cannot be read, is never
 *     used, with one warning naming the file, the mirror and both sizes
 *     (a refusal is remembered in meta/ for an hour: no download again); the
 *     packages it would have listed are fetched at mount, as above (and
 *     xs_repo_find_provider knows no path of it).  Only a failure of the
 *     cache fails;
 *   - a source whose Release lacks the architecture, or a component, is
 *     skipped with one warning line, as apt skips it; an error only when no
 *     Packages index is left;
 *   - a Packages stanza with a hostile Filename makes that package unusable
 *     (one warning per index): a view needing it fails naming it and its
 *     index, any other view mounts.
 * An expired Release is still refused (unless allow_expired).
 *
 * The view is exactly the dependency closure of what was declared: the
 * runtime base (selection.h) and cfg.packages (for run, also the packages
 * it adds for a program's DT_NEEDED).  Every file of every package of it is
 * present and nothing else; no lookup adds a package, so a path no package
 * of the view ships is missing for the life of the mount, whatever the
 * archive ships (under qemu -L, qemu then falls back to the host's file).
 * The status names the declared packages (XS_STATUS_DECLARED).
 * xs_repo_find_provider only answers which package outside the view ships
 * a path (provider.h), for ldd and run.
 *
 * xs_repo_fetch fetches, verifies and unpacks one package of the view,
 * single-flight: concurrent callers for one package share one download and
 * each waits at most the fetch timeout.  A failure is not remembered: the
 * next call tries again.  Once xs_repo_start was called, a fetched
 * package's dependencies in the view are fetched in the background (at most
 * a few at once), since the program that needed it will load them next.
 *
 * The cache is shared with gc (cachemgr.h): a repo holds a lease listing
 * every package of its view and every generated file it serves for its
 * whole life, opens the view and adds packages under the cache's shared
 * lock, and records each package's last use when it enters the view or is
 * fetched.  With a quota (cache_max_size) it evicts other packages after a
 * download.  Offline, nothing goes to the network: the cached InRelease
 * (checked as fetched ones are), indexes and packages only.
 *
 * The core does not log; events (fetched, failed, refused) go to the log
 * callback with their full context.
 *
 * Composed of: the single flight and prefetch of fetcher.h (one key per
 * package), and a source (source.h), this Debian archive or an image.
 */
#ifndef XSYSROOT_REPO_H
#define XSYSROOT_REPO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/arch.h"
#include "xsysroot/progress.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"
#include "xsysroot/view.h"


struct xs_repo_config {
	const char *arch;	/* Debian name or alias */
	const char *mirror;	/* NULL: host apt sources; else a list of base
				 * URLs (blank- or comma-separated), the
				 * mirrors of one archive, tried in order */
	const char *suite;	/* NULL: host codename */
	const char *components; /* comma list, NULL: "main" */
	const char *packages;	/* comma list of extra roots, may be NULL */
	const char *keyring;	/* NULL: Signed-By or the default keyring */
	const char *cache_dir;
	const char *apt_root;	/* "/" unless testing */
	const char *gpgv;	/* path of gpgv */
	const char *proxy;	/* NULL: libcurl's http_proxy variables;
				 * "": none at all */
	bool allow_expired;
	/* progress of the downloads (progress.h), NULL: none; it outlives
	 * the repository */
	const struct xs_progress *progress;
	/* No network at all: the last verified InRelease files, indexes and
	 * packages in the cache only (their Valid-Until still applies unless
	 * allow_expired); a package that is not cached fails to fetch. */
	bool offline;
	/* Quota on the cache directory in bytes (0: none): after a download,
	 * the least recently used packages no live process uses are evicted
	 * until the cache fits (cachemgr.h). */
	uint64_t cache_max_size;
	int fetch_timeout_s;	/* a package download fails after this long without data */
	int64_t now;		/* 0: time(NULL); for tests */
	const char *const *binds; /* NULL-terminated "HOSTDIR:/PATH" overlays */
	/* A container image instead of a Debian archive (image.h): the view is
	 * the image's file system, fetched at open; mirror, suite, components,
	 * packages and keyring are not used. */
	const char *image;	/* REGISTRY/REPO[:TAG][@DIGEST] or oci:DIR[:TAG], or NULL */
	bool plain_http;	/* a registry over http even when not loopback */
	const char *creds;	/* registry "USER:PASSWORD", may be NULL */
	const char *auth_file;	/* Docker config.json, NULL: the default */
	/* A lock file's packages (lock.h) instead of a resolution: the view is
	 * exactly them, each fetched against its pinned SHA-256 and size;
	 * packages is not used.  lock_path names it in messages. */
	const struct xs_lock *lock;
	const char *lock_path;
	/* NULL, or the parsed Packages indexes kept across the opens of one
	 * process (selection.h's memo: its owner's lifetime and threads) */
	struct xs_selection_memo *memo;
	xs_log_fn log;
	void *log_ud;
};

struct xs_repo_pkg {
	const char *name, *version, *arch, *filename, *sha256;
	uint64_t size;
	const char *mirror; /* base URL it is fetched from */
	bool fetched;
	size_t src;	/* its source: xs_archive_source(xs_repo_archive(r), src) */
	/* its Packages stanza's Multi-Arch ("foreign"...; "" none given);
	 * NULL when not known (a lock's view: the index is to be read) */
	const char *multi_arch;
};

struct xs_repo_stats {
	uint64_t debs_fetched, deb_bytes, cache_hits, fetch_failures, in_flight;
	uint64_t index_bytes;
	uint64_t pkgs_ready;	/* packages of the view fetched (or applied from the cache) */
	uint64_t evicted;	/* packages evicted by the quota */
};

#define XS_REPO_MAX_ERRORS 10 /* recent errors kept for the status */

struct xs_repo;
struct xs_lock;
struct xs_selection_memo;
struct xs_archive;

int xs_repo_open(const struct xs_repo_config *cfg, struct xs_repo **out, char *err,
		 size_t errsz);
void xs_repo_free(struct xs_repo *r);

const struct xs_arch *xs_repo_arch(struct xs_repo *r);
/* The archive (sources, verified InRelease), NULL for an image. */
const struct xs_archive *xs_repo_archive(struct xs_repo *r);
struct xs_view *xs_repo_view(struct xs_repo *r);
size_t xs_repo_npkgs(struct xs_repo *r);
int xs_repo_pkg(struct xs_repo *r, size_t i, struct xs_repo_pkg *out);
void xs_repo_stats(struct xs_repo *r, struct xs_repo_stats *st);
/* Remember an error (with the time) for the status; the last
 * XS_REPO_MAX_ERRORS are kept.  Failed fetches are recorded by the repo
 * itself.  Thread safe. */
void xs_repo_note_error(struct xs_repo *r, const char *msg);
/* The view digest (identity.h) of the view: of the packages resolved at
 * open (an image's: of its layers).  Constant after open; "" when a
 * package's digest is no SHA-256 (no view is the same as this one). */
const char *xs_repo_view_digest(struct xs_repo *r);
/* The status of the repo as "key=value" lines (identity.h's XS_STATUS_*:
 * arch, source (one per source: URL SUITE), view_digest, cache_dir,
 * offline, packages, packages_fetched,
 * debs_fetched, bytes_downloaded, deb_bytes, index_bytes, cache_hits,
 * fetch_failures, in_flight, evicted, quota, for an archive's view
 * declared and base, pid and started (once xs_repo_start was called),
 * then error=EPOCH MESSAGE for each recent error, oldest first) appended
 * to out. */
int xs_repo_status(struct xs_repo *r, struct xs_buf *out);
/* Apply the quota now (nothing without one): 0, or negative errno. */
int xs_repo_trim(struct xs_repo *r, bool wait);
/* A short description of the sources, for messages: "URL SUITE[, ...]". */
const char *xs_repo_describe(struct xs_repo *r);

/* Fetch, verify and unpack package i and apply it to the view. */
int xs_repo_fetch(struct xs_repo *r, size_t i, char *err, size_t errsz);

/* Which package of the archive a library named soname ("libfoo.so.3")
 * comes in by Debian's naming (soname.h), without Contents: 1 and the
 * first guessed name the archive's package table has for the architecture,
 * with its version; 0 when none; negative errno.  A guess: the caller
 * confirms the package ships the library once it is fetched, and else
 * asks xs_repo_find_provider.  Thread safe. */
int xs_repo_guess_provider(struct xs_repo *r, const char *soname, char *name, size_t namesz,
			   char *version, size_t versz);

/* Which package of the archive outside the view ships path (as the view
 * shows it: "usr/lib/aarch64-linux-gnu/libz.so.1"), in the scope of
 * xs_provider_scope (provider.h); a query, the view does not change: 1 and
 * its name, and its version
 * ("" when the cache's package table does not list it); 0 when none does;
 * negative errno.  A view built without Contents (filelists.h) opens the
 * Contents indexes on the first call (downloading them), writing r's file
 * lists and a flag unlocked, which filelists.h allows only before any other
 * use of the lists.  So: not thread safe.  Callers: the CLI's ldd and run,
 * from the thread that opened r, before r is served (xs_serve) or started
 * (xs_repo_start) and while no other thread uses r.  A daemon or a FUSE op
 * must not call it. */
int xs_repo_find_provider(struct xs_repo *r, const char *path, char *name, size_t namesz,
			  char *version, size_t versz);

/* A view of a container image (cfg.image) is empty after xs_repo_open:
 * only the image's documents were fetched.  The first call fetches (or
 * finds in the cache), verifies and unpacks every layer, a few at once,
 * and fills the view; concurrent callers wait for it.  A failure is not
 * remembered: the next call tries again.  0 at once for a Debian view or
 * once the image is in.  Call it before answering any lookup, getattr or
 * readdir (the root's own attributes need no layer). */
int xs_repo_settle(struct xs_repo *r, char *err, size_t errsz);

/* Allow background work (prefetching the dependencies of a fetched
 * package): call it in the process that serves, after any fork. */
void xs_repo_start(struct xs_repo *r);

/* Mark r as the private view of one program's run (status key "private"):
 * call before serving. */
void xs_repo_set_private(struct xs_repo *r);

/* Regenerate the files derived from --bind directories (ld.so.cache) when
 * one of them changed since the last look.  Cheap when nothing changed. */
int xs_repo_refresh(struct xs_repo *r);

/* Default cache directory for this user (root: /var/cache/xsysroot). */
int xs_default_cache_dir(char *out, size_t outsz);
#endif
