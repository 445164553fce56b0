/* cachefiles.h - the names of the files a cache directory holds besides
 * the content-addressed objects (store.h): each kind with its builder and
 * its parser side by side, so that what writes a name and what reads it
 * back (cache list, gc) cannot disagree.
 *
 * Under meta/ (KEY: lowercase hex digits, as many as the kind says):
 *   inrelease-SRC          the last verified InRelease of a source; SRC: the
 *                          first 16 hex digits of SHA-256("URI\nSUITE")
 *   inrelease-SRC.new      the InRelease being checked
 *   inrelease-SRC.verified "INRELEASE_SHA256:KEYRING_SHA256" of the last
 *                          gpgv success (apt's "Hit")
 *   inrelease-SRC.date     the Date of the last verified one (rollback guard)
 *   inrelease-SRC.http     the HTTP validators it was served with (release.h:
 *                          its SHA-256, Last-Modified, ETag), for the next
 *                          fetch's conditional GET; absent when it had none
 *   manifest-DEB           a package's manifest; DEB: the .deb's SHA-256 (64)
 *   pkg-DEB                "NAME\tVERSION\tARCH"; its mtime is the last use
 *   pkg-DEB.lock           the package's lock: held (flock) by the one process
 *                          fetching, unpacking and recording it (debsource.c);
 *                          empty, removed with the package by gc
 *   oci-layer-BLOB-DIFFID  a container image layer's manifest: its blob's and
 *                          its uncompressed tar's SHA-256 (64 each)
 *   oci-layer-BLOB.lock    the layer's lock, as pkg-DEB.lock (image.c)
 *   contents-SHA.idx       the compact index of a Contents file (SHA: its
 *   contents-SHA.rev       SHA-256, 64) and its reverse index
 *   view-KEY               a resolved view, KEY: the first 32 hex digits of
 *                          the SHA-256 of what it was resolved from
 *   cands-KEY              the table of candidates of a set of indexes (32)
 *   packages-SHA.idx       the compact form of a verified Packages index
 *                          (pkgidx.h), kept instead of the index; SHA: the
 *                          index file's SHA-256 (64), as its Release lists it
 *   .NAME.RANDOM           a document being written (xs_store_meta_write;
 *                          RANDOM: 12 hex digits), renamed to NAME when done
 *   NAME.tmp.XXXXXX        an index being built (contents.h), likewise
 * At the top of the cache directory:
 *   lock                   the shared lock (cachemgr.h)
 *   leases/PID-RANDOM      a live process's lease; RANDOM: 16 hex digits
 *
 * These names are on disk: changing one makes existing caches miss.
 * Pure functions, thread safe, no state. */
#ifndef XSYSROOT_CACHEFILES_H
#define XSYSROOT_CACHEFILES_H
#include <stdbool.h>
#include <stddef.h>

#define XS_CF_LOCK "lock"
#define XS_CF_LEASES "leases"
#define XS_CF_HYBRID "hybrid" /* run --native-tools' layers: hybrid/DIGEST (hybrid.h) */
#define XS_CF_TEMP_INFIX ".tmp." /* NAME.tmp.XXXXXX: a mkstemp template follows */

enum xs_cf_kind {
	XS_CF_NONE = 0, /* no name the cache makes */
	XS_CF_INRELEASE,
	XS_CF_INRELEASE_LOCK, /* the per-source lock of the rollback check */
	XS_CF_INRELEASE_VERIFIED,
	XS_CF_INRELEASE_DATE,
	XS_CF_MANIFEST,
	XS_CF_PKGINFO,
	XS_CF_LAYER,
	XS_CF_CONTENTS_IDX,
	XS_CF_CONTENTS_REV,
	XS_CF_CONTENTS_REFUSED, /* why the mirrors served another Contents file */
	XS_CF_VIEW,
	XS_CF_CANDS,
	XS_CF_PKG_LOCK, /* the per-package lock of fetch + unpack + manifest */
	XS_CF_LAYER_LOCK, /* the same for an image layer (by its blob) */
	XS_CF_PACKAGES_IDX, /* a Packages index's compact form */
	XS_CF_INRELEASE_HTTP, /* the HTTP validators of the verified InRelease */
	XS_CF_LEASE,
};

/* What a name says. */
struct xs_cf {
	enum xs_cf_kind kind;
	char key[65];  /* SRC, DEB, BLOB, SHA, KEY or RANDOM */
	char key2[65]; /* DIFFID (layers), else "" */
	long pid;      /* PID (leases), else 0 */
};

/* The name of kind (any but XS_CF_LAYER, XS_CF_LEASE and XS_CF_NONE) for
 * key into out: key holds at least the kind's number of lowercase hex
 * digits, and the name takes that many (a whole SHA-256 may be passed for
 * a 16- or 32-digit key).  0, -EINVAL, or -ENAMETOOLONG. */
int xs_cf_build(enum xs_cf_kind kind, const char *key, char *out, size_t outsz);
/* oci-layer-BLOB-DIFFID (64 lowercase hex digits each). */
int xs_cf_build_layer(const char *blob, const char *diff_id, char *out, size_t outsz);
/* PID-RANDOM (the name inside leases/) from 8 random bytes. */
int xs_cf_build_lease(long pid, const unsigned char rnd[8], char *out, size_t outsz);
/* .NAME.RANDOM, the temp file of meta/NAME, from 6 random bytes. */
int xs_cf_build_temp(const char *name, const unsigned char rnd[6], char *out, size_t outsz);
/* inrelease-SRC of the source URI SUITE. */
int xs_cf_build_inrelease(const char *uri, const char *suite, char *out, size_t outsz);
/* The name of kind with the key of name (another name of the cache):
 * "inrelease-SRC" -> "inrelease-SRC.verified". */
int xs_cf_sibling(const char *name, enum xs_cf_kind kind, char *out, size_t outsz);

/* What name (a meta/ name, or one inside leases/) is: its kind (and *out,
 * when out is not NULL, filled), or XS_CF_NONE for any other name,
 * including temp files and names of the right shape with a wrong key. */
enum xs_cf_kind xs_cf_parse(const char *name, struct xs_cf *out);
/* Whether name (in meta/) is a temp file of either form above: one that a
 * process killed while writing leaves behind. */
bool xs_cf_is_temp(const char *name);
#endif
