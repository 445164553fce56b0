/* archive.h - the Debian archive a view is built from: its sources, their
 * mirrors, their verified InRelease, and the files they serve.
 *
 * A source is one archive (URL + suite + components + keyring): either the
 * mirror list given (--mirror, at most XS_ARCHIVE_MAX_MIRRORS base URLs of
 * the same archive) or the host's apt sources for its codename (release,
 * -updates, -security...).  xs_archive_new only chooses them (no network).
 *
 * xs_archive_open verifies every source's InRelease, the sources in
 * parallel, each from the first of its mirrors that gives one passing every
 * check, as apt does:
 *   - gpgv with the keyring (--keyring, else the source's Signed-By, else
 *     the default); the bytes gpgv checks are exactly the bytes then parsed
 *     and trusted: they go to a private temporary file in the cache's meta/
 *     (a random name no other process knows), gpgv reads that file, the
 *     parser the same buffer, and the file is installed under the final
 *     name by an atomic rename only when every check passed;
 *   - bytes verified before with the same keyring (the "Hit") need no second
 *     gpgv run;
 *   - split strictly, Date and Valid-Until checked against now (unless
 *     allow_expired), Suite or Codename matched, the architecture listed;
 *   - never older than the Release verified before (rollback): reading the
 *     stored Date, comparing, storing the new Date and installing the
 *     InRelease happen under an exclusive lock on a per-source lock file in
 *     meta/, so processes sharing a cache agree on the last verified one.
 * Offline, the InRelease is the last verified one in the cache, checked in
 * the same way; nothing goes to the network.
 * A source whose verified Release does not list the architecture (as the
 * -security archive of a release for some architectures) is skipped with
 * one warning line, as apt skips it: its skipped flag is set.  Open fails
 * (-ENXIO) only when no source carries the architecture.
 *
 * Files are then fetched against that Release whichever mirror serves them:
 * an index (by-hash when the Release says Acquire-By-Hash, else or when
 * missing the plain path) and a pool file (a .deb) go into the store by
 * transaction, SHA-256 and size checked; a mirror that fails (network,
 * 5xx, digest or size mismatch) is logged and the next one tried, and one
 * that failed on the network is tried last for a minute.  A failure of the
 * cache itself (no space, read-only) stops at once.  Nothing a mirror
 * garbled is ever stored.
 *
 * The archive owns its HTTP clients and never logs but through the log
 * callback.  Errors: 0 or negative errno, with a message in err naming the
 * URL and the reason (the texts tests and users rely on).
 * Thread safety: xs_archive_new, xs_archive_open and xs_archive_free by one
 * thread; after open, every other call is safe from any thread (the mirror
 * order is kept with atomics, the statistics are atomic).  The sources and
 * their Release do not change after open.
 * Ownership: the store passed to open is borrowed and must outlive the
 * archive; everything returned points into the archive.
 */
#ifndef XSYSROOT_ARCHIVE_H
#define XSYSROOT_ARCHIVE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/arch.h"
#include "xsysroot/progress.h"
#include "xsysroot/release.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"

#define XS_ARCHIVE_MAX_MIRRORS 16

struct xs_archive_config {
	const struct xs_arch *arch;
	const char *mirror;	/* NULL: host apt sources; else the mirror list */
	const char *suite;	/* NULL: host codename */
	const char *components; /* comma list, NULL: "main" */
	const char *keyring;	/* NULL: Signed-By or the default keyring */
	const char *apt_root;	/* NULL: "/" */
	const char *gpgv;	/* NULL: the configured gpgv */
	const char *proxy;	/* as xs_http_opts.proxy */
	bool allow_expired, offline;
	/* progress of the downloads (progress.h), NULL: none; it outlives
	 * the archive */
	const struct xs_progress *progress;
	int fetch_timeout_s;	/* a pool file fails after this long without data; 0: 120 s */
	int64_t now;		/* 0: time(NULL) */
	xs_log_fn log;
	void *log_ud;
};

/* One source, read-only. */
struct xs_archive_source {
	const char *uri;	  /* the first mirror: its name in messages and keys */
	const char *suite;
	char *const *components;  /* NULL-terminated */
	char *const *mirrors;	  /* base URLs without a trailing '/' */
	size_t nmirrors;
	const struct xs_release *rel; /* after xs_archive_open: the verified Release */
	bool skipped; /* after open: its Architectures lack the architecture (skipped) */
	char inrelease_sha256[65]; /* after open: SHA-256 of the verified InRelease bytes */
};

struct xs_archive_stats {
	uint64_t index_bytes; /* InRelease and indexes downloaded */
	uint64_t index_hits;  /* indexes found in the store */
};

/* What a successful fetch got: bytes downloaded (0 when the store had it,
 * more than the size after failed attempts) and the URL that served it. */
struct xs_archive_fetched {
	uint64_t bytes;
	char url[XS_MAX_PATH + 512];
};

struct xs_archive;

/* Choose the sources (no network).  -ENOENT: no source or no codename,
 * -EINVAL: a mirror list of 0 or more than XS_ARCHIVE_MAX_MIRRORS. */
int xs_archive_new(const struct xs_archive_config *cfg, struct xs_archive **out, char *err,
		   size_t errsz);
/* Verify every source's InRelease, keeping files in store (see above). */
int xs_archive_open(struct xs_archive *a, struct xs_store *store, char *err, size_t errsz);
void xs_archive_free(struct xs_archive *a);

size_t xs_archive_nsources(const struct xs_archive *a);
const struct xs_archive_source *xs_archive_source(const struct xs_archive *a, size_t i);
/* "URL[|MIRROR...] SUITE[, ...]", for messages. */
const char *xs_archive_describe(const struct xs_archive *a);
void xs_archive_stats(struct xs_archive *a, struct xs_archive_stats *st);

/* The Release entry of source i for stem ("main/binary-arm64/Packages") in
 * the first compression it lists (.xz, .gz, .zst, .bz2, none), or NULL. */
const struct xs_release_file *xs_archive_find_index(const struct xs_archive *a, size_t i,
						    const char *stem);
/* Make sure index f (an entry of source i's Release) is in the store.
 * Offline, -ENOENT when it is not; -EFBIG over the index size limit. */
int xs_archive_fetch_index(struct xs_archive *a, size_t i, const struct xs_release_file *f,
			   char *err, size_t errsz);
/* The same, and while it downloads every byte the store receives also
 * goes to tee, in order (tee->reset before each attempt and whenever the
 * transfer restarts from zero; a negative return of tee->write fails the
 * attempt).  *teed (may be NULL) is set when the tee saw the whole file
 * of the right size and SHA-256, i.e. exactly what the store now holds;
 * when the store already had it, nothing goes to tee and *teed is false.
 * The tee sees bytes before they are verified: it must keep what it makes
 * of them apart until *teed says they are the Release's. */
struct xs_http_sink;
int xs_archive_fetch_index_tee(struct xs_archive *a, size_t i, const struct xs_release_file *f,
			       const struct xs_http_sink *tee, bool *teed, char *err,
			       size_t errsz);
/* Make sure the pool file at path (relative to the mirror's base URL) of
 * source i, of that size and SHA-256, is in the store, from the source's
 * mirrors with failover.  label names it in messages ("libc6 2.36-9 arm64").
 * Offline, -ENOENT when it is not in the store.  got may be NULL. */
int xs_archive_fetch_pool(struct xs_archive *a, size_t i, const char *path, uint64_t size,
			  const char *sha256, const char *label, struct xs_archive_fetched *got,
			  char *err, size_t errsz);
/* The same pool file, not stored: every byte goes to tee, in order, as for
 * xs_archive_fetch_index_tee (reset before each attempt and whenever the
 * transfer restarts from zero), and its SHA-256 and size are computed on
 * the way.  0 only when the bytes the tee saw since its last reset are the
 * whole file of that size and SHA-256; any other outcome fails as
 * xs_archive_fetch_pool fails (the same messages), nothing stored either
 * way.  The tee must keep what it makes of the bytes apart until then
 * (debstream.h).  Whether the store holds the file is not asked. */
int xs_archive_fetch_pool_tee(struct xs_archive *a, size_t i, const char *path, uint64_t size,
			      const char *sha256, const char *label,
			      const struct xs_http_sink *tee, struct xs_archive_fetched *got,
			      char *err, size_t errsz);
#endif
