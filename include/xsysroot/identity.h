/* identity.h - how the CLI recognises a mount its daemon serves, and what
 * the daemon says about it: the one list of the names both sides use.
 *
 *  - /proc/self/mountinfo: type XS_ID_FSTYPE ("fuse.xsysroot": FUSE's
 *    "fuse." + the subtype the daemon passes), source "xsysroot:ARCH" (the
 *    fsname, ARCH the Debian name), built by xs_id_fsname and read back by
 *    xs_id_fsname_arch;
 *  - extended attributes, read-only, of the mount (fuse_ops.c says which
 *    node has which): XS_ID_XATTR_PREFIX + XS_ID_KEY_STATUS / PACKAGE /
 *    VERSION / SHA256;
 *  - the status, the value of user.xsysroot.status on the root: lines
 *    "KEY=VALUE" with the XS_STATUS_* keys (xs_repo_status writes them,
 *    `xsysroot status` and `run` read them with xs_id_status_field);
 *  - the view digest: what tells two mounts of the same view apart from
 *    others, whatever mirror they fetch from.  It is the SHA-256 (lowercase
 *    hex) of the byte string made of the view's package digests (each the
 *    SHA-256 of the .deb, 64 lowercase hex digits), sorted in byte order,
 *    duplicates dropped, each followed by "\n".  For a container image view
 *    the digests are those of its layer blobs (the hex of each layer's
 *    "sha256:" digest).  The packages are those the view was opened with
 *    (xs_repo_view_digest), which no lookup changes.  An empty list gives
 *    the SHA-256 of the empty string.
 *
 * Pure functions, thread safe, no state; xs_id_read_status reads an
 * extended attribute, nothing else touches the file system. */
#ifndef XSYSROOT_IDENTITY_H
#define XSYSROOT_IDENTITY_H
#include <stddef.h>

#define XS_ID_SUBTYPE "xsysroot"
#define XS_ID_FSTYPE "fuse." XS_ID_SUBTYPE
#define XS_ID_FSNAME_PREFIX "xsysroot:"

#define XS_ID_XATTR_PREFIX "user.xsysroot."
#define XS_ID_KEY_STATUS "status"
#define XS_ID_KEY_PACKAGE "package"
#define XS_ID_KEY_VERSION "version"
#define XS_ID_KEY_SHA256 "sha256"
/* the package value of a file the view generates (ld.so.cache, etc/hosts ...) */
#define XS_ID_GENERATED "generated"
#define XS_ID_XATTR_STATUS XS_ID_XATTR_PREFIX XS_ID_KEY_STATUS
#define XS_ID_MAX_STATUS (1u << 20) /* bound on the status text a reader takes */

/* The status keys, in the order xs_repo_status writes them.  "source" and
 * "error" may appear more than once (one line per source, per recent
 * error: "EPOCH MESSAGE"). */
#define XS_STATUS_ARCH "arch"
#define XS_STATUS_SOURCE "source"
#define XS_STATUS_VIEW_DIGEST "view_digest"
#define XS_STATUS_VIEW_FORMAT "view_format" /* XS_VIEW_FORMAT of the daemon */
#define XS_STATUS_CACHE_DIR "cache_dir"
#define XS_STATUS_OFFLINE "offline"
#define XS_STATUS_PACKAGES "packages"
#define XS_STATUS_PACKAGES_FETCHED "packages_fetched"
#define XS_STATUS_DEBS_FETCHED "debs_fetched"
#define XS_STATUS_BYTES_DOWNLOADED "bytes_downloaded"
#define XS_STATUS_DEB_BYTES "deb_bytes"
#define XS_STATUS_INDEX_BYTES "index_bytes"
#define XS_STATUS_CACHE_HITS "cache_hits"
#define XS_STATUS_FETCH_FAILURES "fetch_failures"
#define XS_STATUS_IN_FLIGHT "in_flight"
#define XS_STATUS_EVICTED "evicted"
#define XS_STATUS_QUOTA "quota"
/* an archive's view only: the packages declared (--packages, and what run
 * adds for a program's DT_NEEDED) and the runtime base, comma lists (empty:
 * none); the view is exactly their dependency closure */
#define XS_STATUS_DECLARED "declared"
#define XS_STATUS_BASE "base"
#define XS_STATUS_PID "pid"	    /* the daemon's process id */
#define XS_STATUS_STARTED "started" /* when it began serving, seconds since the epoch */
/* 1: the private mount of one `run`, made for its program and gone when it
 * exits; no other run reuses it (it is not theirs to keep alive) */
#define XS_STATUS_PRIVATE "private"
#define XS_STATUS_ERROR "error"

/* The format of a view: what, besides the view digest, a build of xsysroot
 * puts in it (its generated files, the tree's layout).  Bump it whenever
 * the generated files or the layout change, so that `run` does not reuse a
 * mount an older or newer build serves: two mounts present the same files
 * only when both their view digest and their view format are equal. */
#define XS_VIEW_FORMAT 2

/* "xsysroot:ARCH" into out: 0, or -ENAMETOOLONG. */
int xs_id_fsname(const char *arch, char *out, size_t outsz);
/* The ARCH of a mount source "xsysroot:ARCH" (points into source), or NULL
 * when source is not of that form. */
const char *xs_id_fsname_arch(const char *source);

/* The value of the first line "key=VALUE" of a status text (points into
 * text; *len its length, without the newline), or NULL. */
const char *xs_id_status_field(const char *text, const char *key, size_t *len);

/* The status text of the mount at mp (malloc'ed, NUL-terminated, at most
 * XS_ID_MAX_STATUS bytes) into *out: 0, or negative errno (-ENODATA or
 * -ENOTSUP: the daemon reports none; -E2BIG: too long). */
int xs_id_read_status(const char *mp, char **out);

/* The view digest (above) of the n package digests hex[] (64 lowercase hex
 * digits each) into out: 0, or -EINVAL when one is not such a digest. */
int xs_id_view_digest(const char *const *hex, size_t n, char out[65]);
#endif
