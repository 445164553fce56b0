/* binfmt.h - pointing qemu-user's default library prefix at a mount.
 *
 * Debian builds qemu-user and qemu-user-static with the interpreter prefix
 * /etc/qemu-binfmt/QEMU_ARCH (`qemu-aarch64 -h` shows it as the default of
 * QEMU_LD_PREFIX).  A foreign program started by a binfmt_misc handler of
 * those packages (/usr/lib/binfmt.d/qemu-ARCH.conf) with no QEMU_LD_PREFIX
 * in its environment finds its loader and libraries under that prefix.
 *
 * xs_binfmt_point() makes DIR/QEMU_ARCH a symlink to a mount point and
 * keeps what was there: an entry of any kind (symlink, directory, file) is
 * moved to DIR/QEMU_ARCH.xsysroot-saved (atomically swapped with the new
 * link, so the name never goes missing); when nothing was there, an empty
 * file DIR/QEMU_ARCH.xsysroot-none says so.  xs_binfmt_restore() puts the
 * previous state back.  That state lives in the file system, so a later
 * mount or umount can restore it after a daemon was killed
 * (xs_binfmt_recover()).
 *
 * No locking: one process handles one QEMU_ARCH at a time (a second point
 * while the state files exist fails with -EBUSY).  Nothing here logs; the
 * functions return 0 or a negative errno, with err naming the path.
 */
#ifndef XSYSROOT_BINFMT_H
#define XSYSROOT_BINFMT_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define XS_BINFMT_DIR "/etc/qemu-binfmt"

struct xs_binfmt {
	char dir[PATH_MAX];    /* DIR */
	char link[PATH_MAX];   /* DIR/QEMU_ARCH */
	char target[PATH_MAX]; /* what the link points at: the mount point */
	bool made_dir;	       /* DIR did not exist and was created */
	bool active;	       /* pointed and not yet restored */
};

/* Point DIR/QEMU_ARCH at target (an absolute path), keeping what was there.
 * -EBUSY when the state files of an earlier point exist (held by another
 * mount, or left by a killed one: see xs_binfmt_holder/xs_binfmt_recover). */
int xs_binfmt_point(struct xs_binfmt *b, const char *dir, const char *qemu_arch,
		    const char *target, char *err, size_t errsz);

/* Put back what xs_binfmt_point() found, if DIR/QEMU_ARCH is still the link
 * it made (else -ESTALE and nothing is touched); remove DIR when it was
 * created and is empty.  A second call does nothing. */
int xs_binfmt_restore(struct xs_binfmt *b, char *err, size_t errsz);

/* The target of DIR/QEMU_ARCH when an earlier point holds it (its state
 * files exist and it is a symlink): 0 with holder filled, -ENOENT when no
 * point holds it. */
int xs_binfmt_holder(const char *dir, const char *qemu_arch, char *holder, size_t holdersz);

/* Restore the state an earlier point left (see xs_binfmt_holder), whoever
 * made it: for a daemon that is gone.  -ENOENT when there is none. */
int xs_binfmt_recover(const char *dir, const char *qemu_arch, char *err, size_t errsz);
#endif
