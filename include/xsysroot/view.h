/* view.h - the in-memory tree that a mount presents.
 *
 * Every node has a permanent inode number (1 is the root) and is never freed
 * while the view lives, so the FUSE layer needs no reference counting.
 *
 * A node is created in one of two states:
 *  - pending: a path that a package of the view provides, known from the
 *    archive's Contents index before the package is fetched.  Its type and
 *    attributes are unknown; looking it up means fetching the package first
 *    (xs_view_lookup says so).  Directories are never pending: they are
 *    implied by the paths below them and are complete at once, except those
 *    made with xs_view_add_dir, which hold what later packages add.
 *  - ready: attributes from the package's manifest (after unpacking).
 * xs_view_apply() turns a package's pending nodes ready and adds the paths of
 * the manifest that Contents did not list.
 *
 * Ownership of a path shared by several packages is deterministic: the
 * package with the lowest index (the view's package order) owns it; entries
 * of other packages for that path are ignored and counted.
 *
 * Presentation rules: setuid/setgid/sticky bits are already cleared by the
 * unpacker; device nodes, fifos and sockets keep their type, permissions and
 * device number as metadata only (the mount is nodev, and nothing is ever
 * created on disk for them); hardlinks share the inode of their target.
 *
 * Presentation as a sysroot (the cache keeps pristine package contents):
 *  - merged /usr: bin, sbin, lib, lib32, lib64, libx32 and libo32 at the top
 *    are symlinks into usr/ (xs_view_finish adds them), and what packages
 *    ship there appears under usr/ (a package's own top-level symlink of
 *    that name is dropped);
 *  - symlink targets are confined to the view, as a chroot at its root
 *    resolves them (xs_view_clamp_target): the mount is a directory of the
 *    host, and the host kernel resolves a link's target from where the link
 *    is, so an absolute target ("/etc/hostname") would name the host's file
 *    and a relative one that climbs above the root
 *    ("../../../../etc/hostname") would reach the host's directories above
 *    the mount point.  Every absolute target is presented as the equivalent
 *    relative one, so qemu -L (which hands guest paths under its prefix to
 *    the host kernel), clang --sysroot and a host process reading the mount
 *    all resolve it inside the view, and `run --strict` (the view as "/" after
 *    pivot_root) resolves it to the same file.  A relative target that climbs
 *    above the root is presented clamped: ".." at the root stays at the root;
 *    so is one whose ".." follows a name (a symlink on the way could carry
 *    it out), resolved lexically.  Package links that stay below the root
 *    are presented as shipped;
 *  - proc, sys, dev, run and tmp at the top are left out, so that qemu's
 *    fallback reaches the live host ones;
 *  - synthetic files (xs_view_add_file) replace whatever a package ships at
 *    that path, now or later.
 *
 * Thread safety: all functions may be called concurrently; lookups take a
 * read lock, the functions that change the tree the write lock.
 */
#ifndef XSYSROOT_VIEW_H
#define XSYSROOT_VIEW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "xsysroot/deb.h"
#include "xsysroot/store.h"

struct xs_view;

struct xs_vattr {
	uint64_t ino;
	uint32_t mode;	/* 0 while pending */
	uint32_t uid, gid, nlink;
	uint64_t size;
	uint64_t rdev;
	int64_t mtime;
	int pkg;	/* providing package, -1 for an implied directory */
	bool pending;
	bool volatile_; /* host-backed or derived from host data: short timeouts */
};

struct xs_view_stats {
	uint64_t nodes, pending, conflicts;
};

struct xs_view *xs_view_new(struct xs_store *store, int64_t default_mtime);
void xs_view_free(struct xs_view *v);

/* Present a package path as the view shows it (merged /usr, hidden top
 * directories): 0 and the view path in out, or -ENOENT when the view leaves
 * it out. */
int xs_view_present_path(const char *path, char *out, size_t outsz);
/* The relative form of an absolute symlink target for a link at path
 * (both as the view shows them). */
int xs_view_relative_target(const char *link_path, const char *target, char *out,
			    size_t outsz);
/* The target that the view presents for a package's symlink at link_path
 * (a view path) whose target is target, confined to the view: an absolute
 * target becomes its relative equivalent ("/.." is "/"); a relative one is
 * left as it is when it stays below the root by the letter of it (its ".."
 * all lead and there are no more of them than link_path has directories),
 * else it becomes the relative path to where a chroot at the root would
 * lexically resolve it ("../../../../etc/hostname" at "usr/share/x" is
 * "../../etc/hostname").  Pure.  0, or -ENAMETOOLONG when the result does
 * not fit (or is deeper than XS_MAX_DEPTH). */
int xs_view_clamp_target(const char *link_path, const char *target, char *out, size_t outsz);

/* The path of node ino as the view shows it ("" for the root); -EXDEV for a
 * node of a host directory (--bind) or below one. */
int xs_view_path(struct xs_view *v, uint64_t ino, char *out, size_t outsz);
/* An implied directory at path (a view path) and its parents, for a
 * directory that packages added later may fill (a lookup of a name it
 * lacks says volatile_, so that the answer is not kept long): 0, or
 * -ENOTDIR when something that is no directory is in the way. */
int xs_view_add_dir(struct xs_view *v, const char *path);
/* Add a pending path (normalised, relative) provided by package pkg. */
int xs_view_add_pending(struct xs_view *v, const char *path, int pkg);
/* Make package pkg's paths ready from its manifest. */
int xs_view_apply(struct xs_view *v, int pkg, const struct xs_manifest *m);

/* A synthetic regular file whose content is the store object sha256.  A
 * changed content gets a new inode (readers of the old one are unaffected). */
int xs_view_add_file(struct xs_view *v, const char *path, const char *sha256, uint64_t size,
		     uint32_t mode);
/* A synthetic symbolic link at path to target (an absolute target is
 * presented relative, as a package's: xs_view_clamp_target), replacing
 * whatever non-directory is there. */
int xs_view_add_symlink(struct xs_view *v, const char *path, const char *target);
/* Overlay the host directory hostdir, read-only, at path (normalised,
 * relative): whatever packages ship there is hidden, and lookups below it
 * go to the host each time (short timeouts; setuid bits dropped).  From
 * then on, synthetic files are volatile too (they may be regenerated from
 * the host directories). */
int xs_view_add_bind(struct xs_view *v, const char *path, const char *hostdir);
/* The merged-/usr top-level symlinks (lib -> usr/lib ...) for the usr/
 * directories that exist. */
int xs_view_finish(struct xs_view *v);
/* The names in directory path (not following symlinks) that are not
 * directories, in sorted order: cb(name, ud); -ENOENT when absent. */
int xs_view_list_leaves(struct xs_view *v, const char *path,
			int (*cb)(const char *name, void *ud), void *ud);

/* 0 and *out; -ENOENT; -ENOTDIR when parent is no directory. */
int xs_view_lookup(struct xs_view *v, uint64_t parent, const char *name,
		   struct xs_vattr *out);
int xs_view_getattr(struct xs_view *v, uint64_t ino, struct xs_vattr *out);
/* Resolve a path ("usr/bin/hello", "" = root) without following symlinks. */
int xs_view_resolve(struct xs_view *v, const char *path, struct xs_vattr *out);
/* Copy the symlink target; -EINVAL when not a symlink. Returns its length. */
ssize_t xs_view_readlink(struct xs_view *v, uint64_t ino, char *buf, size_t size);

/* Directory entries after position off (0 = from the start, "." and ".."
 * first); cb returns non-zero to stop (buffer full): the entry it refused is
 * offered again at the next call.  Each entry carries its position + 1 as the
 * next offset.  Pending entries have mode 0 (unknown type). */
int xs_view_readdir(struct xs_view *v, uint64_t ino, uint64_t off,
		    int (*cb)(const char *name, uint64_t ino, uint32_t mode,
			      uint64_t next_off, void *ud),
		    void *ud);

/* A read-only fd on a ready regular file's content, owned by the view (do
 * not close it); opened on first use and kept.  At that first open the
 * store object's SHA-256 is checked against the digest the node expects
 * (the cache may have been damaged since it was written): on a mismatch
 * the object is moved to the store's quarantine (so that it is never
 * served, and a later mount fetches its package again) and the result is
 * -EBADMSG; -ENOENT when the object is missing.  Host-backed (--bind)
 * files are not checked. */
int xs_view_fd(struct xs_view *v, uint64_t ino);

/* The SHA-256 of a ready regular file's content (a package's file or a
 * synthetic one) into out: 0; -ENODATA for anything else (a directory, a
 * symlink, a pending node, a host-backed file); -ENOENT for no such node. */
int xs_view_digest(struct xs_view *v, uint64_t ino, char out[65]);

void xs_view_stats(struct xs_view *v, struct xs_view_stats *st);
#endif
