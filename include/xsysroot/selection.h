/* selection.h - the view's package set: from the verified archive's Packages
 * indexes to the resolved, cached list of packages.
 *
 * The roots are the runtime base (libc6, libc-bin, libgcc-s1, libstdc++6)
 * and the requested packages.  The result is keyed by the architecture, the
 * roots and every Packages index's digest: a resolution cached under meta/
 * (viewcache.h, "view-<key>") is read back instead of fetching and parsing
 * the indexes.  Otherwise every index is read from its compact form
 * (pkgidx.h, meta/packages-SHA.idx, named by the index's digest), or, when
 * there is none or it is refused (a warning names it), fetched (the
 * caller's callback), decompressed and parsed (packages.h); then the view
 * is resolved (resolve.h).  An index read from the mirror or the store is
 * kept in its compact form (temp file + rename; by a thread of its own,
 * while the view resolves) and its raw object then leaves the store; one
 * that finds the raw object gone reads the compact form instead.  The indexes
 * are fetched and parsed in parallel (a thread each, at most
 * XS_SELECTION_PARALLEL at once: the callbacks must be thread safe), each
 * streamed through the decompressor and the parser as it downloads (or as
 * it is read from the store), never held whole in memory.  The result is
 * written to the cache whole or not at all, and the candidate table
 * ("cands-<key>", the same key without the roots) is written once, for
 * naming the version of a package outside the view (provider.h), streamed
 * to its file as it is made (never whole in memory); failing to write it is
 * not an error, its name is then "".  Memory: the parsed indexes (about
 * 35 MB for bookworm's main) live only until the view is resolved; they
 * are then freed and handed back to the system (malloc_trim) before the
 * caller fetches anything, unless a memo (below) keeps them for the next
 * resolution of the same process.
 *
 * Hostile stanzas: a stanza packages.h marks unusable makes only its
 * package unusable; each index with such stanzas gets one warning.  The
 * resolution fails (-EBADMSG, the message naming the package and its index)
 * only when the view needs an unusable package.
 *
 * What it does not do: verify or download anything itself (the archive
 * does, through xs_selection_open or the fetch callback), fetch packages,
 * build the view.
 *
 * Errors: 0 or negative errno, with a message in err; warnings and nothing
 * else through the log callback.  Thread safety: none needed (no global
 * state); a selection is owned by its caller.  Limits: 16 components per
 * source, 1 GiB of Packages text per index.
 */
#ifndef XSYSROOT_SELECTION_H
#define XSYSROOT_SELECTION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/archive.h"
#include "xsysroot/release.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"

#define XS_SELECTION_PARALLEL 4 /* indexes fetched and parsed at once */

/* One Packages index of one source. */
struct xs_selection_index {
	size_t src;			 /* the source's number */
	const char *uri, *suite;	 /* for messages */
	const struct xs_release_file *file; /* path, size, sha256 (the store object) */
	const char *inrelease_sha256; /* the InRelease that listed it, "" or NULL unknown */
};

struct xs_selection_memo;

struct xs_selection_config {
	struct xs_store *store;
	const char *arch;     /* Debian name */
	size_t nsrcs;	      /* origins are below it */
	const struct xs_selection_index *idx;
	size_t nidx;	      /* at least 1 */
	const char *packages; /* extra roots, whitespace separated; NULL: none */
	const char *describe; /* the archive, for messages */
	struct xs_selection_memo *memo; /* NULL, or the indexes kept (below) */
	/* makes index k's object present in the store (k < nidx) */
	int (*fetch_index)(void *ud, size_t k, char *err, size_t errsz);
	/* NULL, or the same with a tee that sees the bytes as they download
	 * (xs_archive_fetch_index_tee): the index is then parsed while it
	 * arrives and used only once *teed says it was the Release's */
	int (*fetch_index_tee)(void *ud, size_t k, const struct xs_http_sink *tee, bool *teed,
			       char *err, size_t errsz);
	void *ud;
	xs_log_fn log;
	void *log_ud;
};

/* One package of the view; every string owned. */
struct xs_selection_pkg {
	char *name, *version, *arch, *filename, *sha256;
	uint64_t size;
	int src;      /* its source's number */
	size_t *deps; /* the view packages satisfying its Depends/Pre-Depends */
	size_t ndeps;
	uint64_t installed_size; /* Installed-Size in KiB, 0: not known (a lock's) */
	/* its stanza's Multi-Arch ("" none given); NULL: not known (a lock's) */
	char *multi_arch;
};

struct xs_selection {
	struct xs_selection_pkg *pkgs;
	size_t n;
	char cands_name[96]; /* meta/ name of the candidate table, "" none */
};

/* The parsed Packages indexes kept for the later resolutions of one
 * process: run opens its view up to three times (the declared packages,
 * then the libraries' guessed packages, then the Contents' answers), and
 * each resolution that misses the view cache would read and parse every
 * index again (0.6-0.8 s for bookworm's main from the compact forms).
 * A resolution given a memo reads the indexes only when the memo holds no
 * table of the same indexes (the architecture, every index's source, path
 * and SHA-256: the candidate table's key), and leaves the table it read in
 * the memo instead of freeing it; a later one over the same indexes
 * resolves over that table (its index warnings were said the first time).
 * A resolution answered by the view cache neither reads nor changes it.
 *
 * Lifetime: the caller makes it before the first open and frees it after
 * the last (it holds the table, about 35 MB for bookworm's main: free it
 * before running anything long; the free hands the memory back to the
 * system).  It outlives every resolution given it.
 * Thread safety: one resolution at a time per memo (the resolver parses
 * dependencies into the table it reads); distinct memos are independent.
 * No global state; a forked child must not use its parent's. */
struct xs_selection_memo;
struct xs_selection_memo *xs_selection_memo_new(void);
void xs_selection_memo_free(struct xs_selection_memo *m);
/* How many resolutions read the indexes into m, and how many resolved
 * over the table already there. */
void xs_selection_memo_counts(const struct xs_selection_memo *m, unsigned *reads,
			      unsigned *reuses);

/* Resolve (or read back) the view of cfg into *out (freed with
 * xs_selection_free, also after an error). */
int xs_selection_resolve(const struct xs_selection_config *cfg, struct xs_selection *out,
			 char *err, size_t errsz);

/* The same over the Packages indexes of the opened archive a (skipped
 * sources left out; a component without an index for arch skipped with a
 * warning, an error when none is left), each fetched and verified by a. */
int xs_selection_open(struct xs_archive *a, struct xs_store *store, const char *arch,
		      const char *packages, struct xs_selection_memo *memo, xs_log_fn log,
		      void *log_ud, struct xs_selection *out, char *err, size_t errsz);

void xs_selection_free(struct xs_selection *s);
/* The i-th package of the runtime base (a root of every view), NULL past
 * the last. */
const char *xs_selection_base(size_t i);
/* Fill p with copies of the strings (its deps none, its Multi-Arch not
 * known). */
void xs_selection_pkg_fill(struct xs_selection_pkg *p, const char *name, const char *version,
			   const char *arch, const char *filename, const char *sha256,
			   uint64_t size, int src);

#endif
