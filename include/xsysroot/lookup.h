/* lookup.h - the lazy protocol of a view: what a mount and the commands ask
 * of it (lookup, getattr, readdir, extended attributes, a file's content).
 *
 * A view (view.h) knows every path of its packages before any package is
 * fetched: a file whose package is not fetched yet is pending.  These calls
 * hold the whole protocol around the view, so that the FUSE adapter only
 * converts and replies, and the commands answer as the mount would:
 *   1. settle: a view with no tree yet (a container image's, before its
 *      layers are in) gets it first.  lookup and readdir settle; getattr
 *      does not (the root's own attributes need no layer, and every other
 *      inode came from a lookup), nor do the xattr calls;
 *   2. a lookup of the name "ld.so.cache" first regenerates the files
 *      derived from host directories (--bind) when those changed;
 *   3. a name the view does not have is -ENOENT, whatever the archive
 *      ships: no lookup, getattr, readdir or open adds a package (the view
 *      is exactly the closure of what was declared, repo.h), so an answer
 *      never changes while the view serves;
 *   4. a pending file's package is fetched before its attributes are
 *      returned (lookup and getattr), and the file is looked up again: it
 *      is ready, or -ENOENT when the package does not ship a path its
 *      Contents index listed (a warning is logged).
 *
 * Two modes, fixed at init:
 *   XS_LOOKUP_FETCH  the whole protocol (the mount);
 *   XS_LOOKUP_PEEK   the view exactly as it stands: no settle, no refresh,
 *                    no fetch.  Nothing goes to the network and
 *                    the view does not change; a pending file is answered
 *                    pending (mode 0, its package in pkg).  ldd and run look
 *                    at a view this way before anything is mounted.
 *
 * Errors are 0 or negative errno.  A failed settle or fetch is -EIO (the
 * errno a program sees on the mount): it is logged once through the log
 * callback with its context (the path and the operation's message, which
 * names the package, its version and the mirror) and recorded for the
 * status.  A settle failure is recorded here with note_error; a fetch
 * records its own failure (ops->fetch's contract, as xs_repo_fetch does), so
 * that one failure is one recorded error.  A regular file whose cached
 * content is damaged or missing (xs_lookup_fd) is -EIO too, logged and
 * recorded with its path and package.
 *
 * Extended attributes, read-only, computed on each call (nothing stored):
 *   user.xsysroot.status   on the root: the status "key=value" lines
 *                          (ops->status, what `xsysroot status` prints);
 *   user.xsysroot.package  on every node a package provides: its name,
 *   user.xsysroot.version  and version (known before it is fetched);
 *   user.xsysroot.sha256   on every regular file whose content is known:
 *                          the SHA-256 of that content.  A pending file has
 *                          none (ENODATA): the xattr calls never fetch.
 *                          Generated files (ld.so.cache, etc/hosts ...)
 *                          have a digest and the package "generated"
 *                          (XS_ID_GENERATED), no version; --bind files have
 *                          none of them.
 * Any other name is -ENODATA.
 *
 * What it does not do: reply to anyone (the caller converts the result),
 * cache answers (the view is the cache; the kernel keeps negative entries),
 * or bound the time of a fetch (ops->fetch does: the repo's fetch timeout).
 *
 * The repository side is a small table of operations, so that the protocol
 * runs in unit tests with a real view and fake operations;
 * xs_lookup_init_repo binds it to an xs_repo (repo.h).
 *
 * Ownership: an xs_lookup borrows its view, ops and ud, which must outlive
 * it; it owns nothing and needs no release.
 *
 * Thread safety: an xs_lookup is read-only once initialised; every call may
 * run concurrently from any number of threads when the view and the ops
 * allow it (xs_view's and xs_repo's do).
 */
#ifndef XSYSROOT_LOOKUP_H
#define XSYSROOT_LOOKUP_H
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/repo.h"
#include "xsysroot/util.h"
#include "xsysroot/view.h"

enum xs_lookup_mode { XS_LOOKUP_PEEK, XS_LOOKUP_FETCH };

/* What the protocol needs from the repository; ud is the first argument of
 * each.  All are called only in XS_LOOKUP_FETCH mode except pkg, note_error
 * and status. */
struct xs_lookup_ops {
	/* Give the view its tree if it has none yet (xs_repo_settle): 0, or a
	 * negative errno with the reason in err. */
	int (*settle)(void *ud, char *err, size_t errsz);
	/* Regenerate the files derived from host directories (xs_repo_refresh). */
	int (*refresh)(void *ud);
	/* Fetch package pkg of the view and apply it to the view
	 * (xs_repo_fetch): 0, or a negative errno with a message naming the
	 * package, its version and where it came from in err.  It records its
	 * own failure for the status. */
	int (*fetch)(void *ud, int pkg, char *err, size_t errsz);
	/* Package pkg of the view (xs_repo_pkg): 0, or -ENOENT. */
	int (*pkg)(void *ud, int pkg, struct xs_repo_pkg *out);
	/* Remember an error for the status (xs_repo_note_error). */
	void (*note_error)(void *ud, const char *msg);
	/* Append the status "key=value" lines to out (xs_repo_status). */
	int (*status)(void *ud, struct xs_buf *out);
};

struct xs_lookup {
	struct xs_view *view;
	const struct xs_lookup_ops *ops;
	void *ud;
	enum xs_lookup_mode mode;
	xs_log_fn log; /* may be NULL */
	void *log_ud;
};

void xs_lookup_init(struct xs_lookup *lk, struct xs_view *v, const struct xs_lookup_ops *ops,
		    void *ud, enum xs_lookup_mode mode, xs_log_fn log, void *log_ud);
/* The protocol over repo r and its view. */
void xs_lookup_init_repo(struct xs_lookup *lk, struct xs_repo *r, enum xs_lookup_mode mode,
			 xs_log_fn log, void *log_ud);

/* name in directory parent: 0 and *out (ready, or pending in PEEK mode);
 * -ENOENT, with out->volatile_ telling whether that answer is short-lived
 * (a --bind directory); -ENOTDIR; -EIO (settle or fetch failed); -ESTALE for
 * an unknown parent. */
int xs_lookup_entry(const struct xs_lookup *lk, uint64_t parent, const char *name,
		    struct xs_vattr *out);
/* The attributes of ino: 0 and *out (a pending file's package fetched
 * first in FETCH mode); -ENOENT; -EIO; -ESTALE. */
int xs_lookup_getattr(const struct xs_lookup *lk, uint64_t ino, struct xs_vattr *out);
/* The entries of directory ino after position off, as xs_view_readdir
 * gives them (settled first in FETCH mode); -EIO when settle failed. */
int xs_lookup_readdir(const struct xs_lookup *lk, uint64_t ino, uint64_t off,
		      int (*cb)(const char *name, uint64_t ino, uint32_t mode,
				uint64_t next_off, void *ud),
		      void *ud);
/* A path from the root ("usr/bin/hello", normalised here; "" is the root),
 * looked up one component at a time with xs_lookup_entry (so in FETCH mode
 * with the whole protocol), without following symlinks: 0 and *out, or
 * the first component's error (-EINVAL for a path that does not
 * normalise). */
int xs_lookup_path(const struct xs_lookup *lk, const char *path, struct xs_vattr *out);

/* The value of extended attribute name of ino appended to out: 0, -ENODATA
 * (no such attribute on ino), or -E2BIG (out's maximum). */
int xs_lookup_getxattr(const struct xs_lookup *lk, uint64_t ino, const char *name,
		       struct xs_buf *out);
/* The names of ino's extended attributes, each NUL-terminated, appended to
 * out: 0 or -E2BIG. */
int xs_lookup_listxattr(const struct xs_lookup *lk, uint64_t ino, struct xs_buf *out);

/* A read-only fd on the content of regular file ino, owned by the view
 * (xs_view_fd: do not close it); -EIO when the cached content is damaged
 * (moved to quarantine) or missing, logged and recorded with the file's
 * path and package; -EISDIR for a directory (not logged); other errors
 * of xs_view_fd, logged. */
int xs_lookup_fd(const struct xs_lookup *lk, uint64_t ino);
#endif
