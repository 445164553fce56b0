/* deb.h - unpack a verified .deb into the store and describe its files.
 *
 * The .deb (an ar archive: debian-binary, control.tar.*, data.tar.{gz,xz,zst,bz2}
 * or uncompressed) is read with libarchive.  Every regular file of data.tar
 * becomes a store object (by SHA-256), and so does every file of control.tar
 * that dpkg keeps in its database, at var/lib/dpkg/info/PACKAGE.NAME (NAME
 * without a '.', not control or list; PACKAGE from control's Package field;
 * none without it); nothing else is created anywhere: the
 * manifest records directories, symlinks, hardlinks and device nodes as
 * metadata only.
 *
 * Safety, for a hostile archive:
 *  - member paths are normalised (xs_path_normalize); "..", absolute names
 *    and over-long or over-deep paths are rejected (-EINVAL, named in err);
 *  - a hardlink must name an earlier regular file of the same archive;
 *  - setuid/setgid/sticky bits are cleared; device nodes, fifos and sockets
 *    are kept as metadata only;
 *  - limits on total unpacked bytes, entry count and each file's size stop a
 *    bomb (-EFBIG / -E2BIG) within bounded time and memory;
 *  - a duplicate path replaces the earlier entry (as tar extraction would).
 * On failure nothing is added to the manifest; objects already committed are
 * harmless (content-addressed, verified).
 *
 * What the manifest does not settle, and the view must: nothing is written
 * to a file system, so a member "lib/passwd" after a symlink "lib -> /etc"
 * is simply recorded as the path "lib/passwd"; likewise a file may remain
 * under a path that a later duplicate turned into a non-directory.  The view
 * must treat a path below a symlink or non-directory entry as a conflict,
 * never follow the symlink.  Parent directories without an entry of their
 * own are implicit.  A hardlink entry carries the digest, size and mode of
 * its target as it was when the hardlink was read (a later duplicate of
 * the target's path does not change it).
 */
#ifndef XSYSROOT_DEB_H
#define XSYSROOT_DEB_H
#include <stdint.h>
#include <sys/types.h>
#include "xsysroot/store.h"

struct xs_limits {
	uint64_t max_total;	/* unpacked bytes of one .deb */
	uint64_t max_file;	/* bytes of one member */
	uint64_t max_entries;	/* members of one .deb */
};
/* Defaults: 4 GiB total, 2 GiB per file, 1,000,000 entries. */
void xs_limits_default(struct xs_limits *l);

/* Where the kept control files are (not part of the package's file list,
 * dpkg's info/PKG.list). */
#define XS_DEB_CONTROL_DIR "var/lib/dpkg/info/"

enum xs_entry_type { XS_E_DIR = 1, XS_E_REG, XS_E_SYMLINK, XS_E_HARDLINK, XS_E_OTHER };

struct xs_entry {
	char *path;	  /* normalised, relative, "" is the root */
	int type;	  /* enum xs_entry_type */
	uint32_t mode;	  /* full st_mode (type bits + permissions, suid/sgid cleared) */
	uint32_t uid, gid;
	int64_t mtime;
	uint64_t size;	  /* regular files */
	char sha256[65];  /* regular files (and hardlinks: the target's) */
	char *link;	  /* symlink target verbatim, or hardlink target (normalised path) */
	uint64_t rdev;	  /* device nodes (metadata only) */
};

struct xs_manifest {
	struct xs_entry *e;
	size_t n, cap;
	int format; /* parsed: 2, or 1 for one written before a .deb's control
		     * files (var/lib/dpkg/info/PKG.NAME) were kept */
};

void xs_manifest_free(struct xs_manifest *m);
/* Unpack the .deb in deb_fd (read with pread from offset 0; the fd's
 * position is not used).  Objects are committed with deferred durability:
 * call xs_store_sync before recording the manifest anywhere.  out is initialised here and left empty on
 * failure; err (may be NULL) receives a one-line reason.  lim NULL: the
 * defaults. */
int xs_deb_unpack(struct xs_store *s, int deb_fd, const struct xs_limits *lim,
		  struct xs_manifest *out, char *err, size_t errsz);
/* The same, the .deb's bytes pulled in order from src: it sets *p to the
 * next bytes (valid until its next call) and returns how many, 0 at the
 * end, or a negative errno, which ends the unpacking with that errno.  The
 * bytes after data.tar are not asked for.  Called from the calling thread
 * only. */
typedef ssize_t (*xs_deb_read_fn)(void *ud, const void **p);
int xs_deb_unpack_from(struct xs_store *s, xs_deb_read_fn src, void *ud,
		       const struct xs_limits *lim, struct xs_manifest *out, char *err,
		       size_t errsz);
/* Unpack one layer of a container image: a tar stream in fd (read with
 * pread from offset 0), uncompressed, gzip or zstd as comp says (anything
 * else in the data is refused), with the same normalisation, limits and
 * safety rules as a .deb's data.tar.  diff_id receives the SHA-256 of the
 * uncompressed stream (the image config's diff_id).  Whiteout entries
 * (".wh.*") are recorded like any file: applying them is the caller's
 * business (oci.h). */
enum xs_tar_compression { XS_TAR_NONE, XS_TAR_GZIP, XS_TAR_ZSTD };
int xs_tar_unpack(struct xs_store *s, int fd, enum xs_tar_compression comp,
		  const struct xs_limits *lim, struct xs_manifest *out, char diff_id[65],
		  char *err, size_t errsz);
/* Serialise / parse a manifest (a self-describing text format that escapes
 * every byte of a path; parse is pure and bounded).  parse initialises out;
 * it refuses with -EBADMSG anything serialize would not write: unknown
 * version, truncation, unnormalised paths, setuid bits, bad escapes. */
int xs_manifest_serialize(const struct xs_manifest *m, char **data, size_t *len);
int xs_manifest_parse(const char *data, size_t len, struct xs_manifest *out);
#endif
