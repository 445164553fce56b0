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
 *
 * Also here, pure (no file system): the binfmt_misc handler of an
 * architecture's programs, as the magic and mask that match them and as
 * the line to write to binfmt_misc's register file (run --strict registers
 * one; see Documentation/admin-guide/binfmt-misc.rst of Linux).
 */
#ifndef XSYSROOT_BINFMT_H
#define XSYSROOT_BINFMT_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "xsysroot/arch.h"

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

/* ---- binfmt_misc handlers (pure) ---- */

#define XS_BINFMT_MAGIC_LEN 20 /* e_ident, e_type and e_machine of an ELF header */

/* The magic and mask that match the ELF executables and shared objects of
 * a: its class, byte order and machine, EV_CURRENT, any OS ABI, e_type
 * ET_EXEC or ET_DYN (one masked bit). */
void xs_binfmt_magic(const struct xs_arch *a, unsigned char magic[XS_BINFMT_MAGIC_LEN],
		     unsigned char mask[XS_BINFMT_MAGIC_LEN]);

/* The register line of handler name for a's programs, run by interp with
 * flags ("OF", "POF"): ":NAME:M::MAGIC:MASK:INTERP:FLAGS", magic and mask
 * written \xHH.  0; -EINVAL when binfmt_misc cannot take name (empty, ".",
 * "..", a '/' or ':') or interp (empty, a ':') or flags (a ':');
 * -ENAMETOOLONG when the line does not fit in outsz (out is then ""). */
int xs_binfmt_register_line(const struct xs_arch *a, const char *name, const char *interp,
			    const char *flags, char *out, size_t outsz);
#endif
