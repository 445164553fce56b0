/* lock.h - lock files: a view pinned to the byte, to be mounted again
 * anywhere (`mount|fetch|run --lock FILE`).
 *
 * A lock file is deb822 text (deb822.h), human-readable, sorted and
 * diff-friendly: '#' comment lines, then
 *   - a header stanza:  Lock-Format: 1, Architecture (Debian name),
 *     View-Digest (identity.h's view digest of the packages below: the one
 *     `status` shows for a view of these packages, whatever the mirror);
 *   - one stanza per source, in the archive's order:  URIs (its mirrors,
 *     blank-separated), Suite (unique among the sources), Components
 *     (blank-separated), Date (of the verified InRelease, RFC 2822 in UTC),
 *     InRelease-SHA256 (of the verified InRelease's bytes);
 *   - one stanza per package, sorted by name then architecture (byte
 *     order, no two alike):  Package, Version, Architecture, Suite (which
 *     source), Filename (the pool path below the source's URI), Size,
 *     SHA256 (of the .deb).
 * Every field is required, no other is allowed (a later format changes
 * Lock-Format), and every value is checked: SHA-256 as 64 lowercase hex
 * digits, Size as a decimal number from 1 to 2^63-1 without sign or leading
 * zero, Filename a relative path without a ".." component, leading '/' or
 * empty component, names and versions printable tokens; the View-Digest
 * must match the packages.  A refusal is -EBADMSG (-E2BIG over a limit)
 * with a message naming the line and the stanza.  xs_lock_format of a
 * parsed lock gives the same text back but for the comments.
 *
 * What it does not do: resolve, fetch or verify a package (the repository
 * does, against the pinned SHA-256 and size), or trust a lock more than the
 * user who chose the file: a lock names what to fetch, and every .deb is
 * checked against it.
 *
 * Limits (hostile input): XS_LOCK_MAX_BYTES of text, XS_LOCK_MAX_SOURCES
 * sources, XS_LOCK_MAX_PKGS packages, XS_LOCK_MAX_VALUE bytes per value.
 * Thread safety: none needed (no global state); a lock belongs to its
 * caller.  Ownership: every string of a struct xs_lock is its own,
 * released by xs_lock_free.
 */
#ifndef XSYSROOT_LOCK_H
#define XSYSROOT_LOCK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/archive.h"
#include "xsysroot/selection.h"
#include "xsysroot/util.h"

#define XS_LOCK_FORMAT 1
#define XS_LOCK_MAX_BYTES (64u << 20)
#define XS_LOCK_MAX_SOURCES 64
#define XS_LOCK_MAX_PKGS 100000
#define XS_LOCK_MAX_VALUE 4096

struct xs_lock_source {
	char *uris;	  /* blank-separated base URLs, the first its name */
	char *suite;
	char *components; /* blank-separated */
	int64_t date;	  /* the InRelease's Date, seconds since the epoch */
	char inrelease_sha256[65];
};

struct xs_lock_pkg {
	char *name, *version, *arch, *filename;
	char sha256[65];
	uint64_t size;
	size_t src; /* its source: srcs[src] */
};

struct xs_lock {
	char *arch;
	char view_digest[65];
	struct xs_lock_source *srcs;
	size_t nsrcs;
	struct xs_lock_pkg *pkgs; /* sorted (xs_lock_finish) */
	size_t npkgs;
};

/* An empty lock for Debian architecture arch. */
void xs_lock_init(struct xs_lock *l, const char *arch);
void xs_lock_free(struct xs_lock *l);
/* Append a source (strings copied): its number.  components may hold
 * commas or blanks between names. */
size_t xs_lock_add_source(struct xs_lock *l, const char *uris, const char *suite,
			  const char *components, int64_t date, const char *inrelease_sha256);
/* Append a package of source src (strings copied). */
void xs_lock_add_pkg(struct xs_lock *l, const char *name, const char *version,
		     const char *arch, const char *filename, const char *sha256, uint64_t size,
		     size_t src);
/* Sort the packages and compute the View-Digest, then check the whole as
 * xs_lock_parse would: 0, or -EBADMSG with the reason in err (a value the
 * format cannot hold, two sources with one suite, a package twice). */
int xs_lock_finish(struct xs_lock *l, char *err, size_t errsz);

/* Parse lock text data[0..len) (pure: no I/O) into *out (released with
 * xs_lock_free, also after an error): 0, or -EBADMSG / -E2BIG with err
 * naming the line and the stanza. */
int xs_lock_parse(const char *data, size_t len, struct xs_lock *out, char *err, size_t errsz);
/* The text of a finished lock, appended to out: 0, or negative errno. */
int xs_lock_format(const struct xs_lock *l, struct xs_buf *out);

/* The package called name (the first of its architectures), or NULL. */
const struct xs_lock_pkg *xs_lock_find(const struct xs_lock *l, const char *name);

/* xs_lock_parse of the file at path: 0, -ENOENT when there is none, or
 * negative errno with err naming the file. */
int xs_lock_read(const char *path, struct xs_lock *out, char *err, size_t errsz);
/* Write a finished lock to path by transaction (a temporary file beside
 * it, renamed over it): 0, or negative errno with err naming the file. */
int xs_lock_write(const char *path, const struct xs_lock *l, char *err, size_t errsz);

/* The view of lock l over the opened archive a, as xs_selection_open would
 * give it (no index read, no resolution): each lock source is the source of
 * a with the same suite (the mirrors may differ), else -ENOENT naming it
 * (path names the lock in messages).  A source whose verified InRelease
 * differs from the lock's (the archive moved on) is reported once through
 * log: the packages are still exactly the pinned ones (see
 * xs_lock_moved_on). */
int xs_lock_select(const struct xs_lock *l, const char *path, const struct xs_archive *a,
		   xs_log_fn log, void *log_ud, struct xs_selection *out, char *err,
		   size_t errsz);
/* Whether archive source s moved on since lock l was written: l has a
 * source of its suite whose InRelease-SHA256 is not s's verified one (the
 * archive's Contents then describe other versions than the pinned ones). */
bool xs_lock_moved_on(const struct xs_lock *l, const struct xs_archive_source *s);

struct xs_repo;
/* The lock of the opened Debian repository r (repo.h) as it was opened:
 * its sources with their verified InRelease, its packages; finished
 * (xs_lock_finish).  0, or negative errno with err (-EINVAL: an image). */
int xs_lock_of_repo(struct xs_repo *r, struct xs_lock *out, char *err, size_t errsz);
#endif
