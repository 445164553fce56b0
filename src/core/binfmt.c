/* binfmt.c - pointing qemu-user's default library prefix at a mount (see
 * include/xsysroot/binfmt.h). */
#include "xsysroot/binfmt.h"
#include "xsysroot/elf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAVED_SUFFIX ".xsysroot-saved"
#define NONE_SUFFIX ".xsysroot-none"

static int fail(int r, char *err, size_t errsz, const char *fmt, const char *path)
{
	char what[PATH_MAX + 256];
	snprintf(what, sizeof what, fmt, path);
	snprintf(err, errsz, "%s: %s", what, strerror(-r));
	return r;
}

/* dir/name + suffix into out: 0 or -ENAMETOOLONG. */
static int join(char *out, size_t outsz, const char *dir, const char *name, const char *suffix)
{
	int n = snprintf(out, outsz, "%s/%s%s", dir, name, suffix);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static bool is_symlink(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* The state files of link: link.xsysroot-saved and link.xsysroot-none. */
static int state_names(const char *link, char saved[PATH_MAX], char none[PATH_MAX])
{
	if (snprintf(saved, PATH_MAX, "%s" SAVED_SUFFIX, link) >= PATH_MAX ||
	    snprintf(none, PATH_MAX, "%s" NONE_SUFFIX, link) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* Put back what the state files of link keep: the saved entry, or no entry
 * at all.  The link in place goes only when it is a symlink. */
static int put_back(const char *link, char *err, size_t errsz)
{
	char saved[PATH_MAX], none[PATH_MAX];
	int r = state_names(link, saved, none);
	if (r < 0)
		return fail(r, err, errsz, "%s", link);
	if (exists(saved)) {
		if (!exists(link)) {
			if (rename(saved, link) < 0)
				return fail(-errno, err, errsz, "cannot move back %s", saved);
			return 0;
		}
		if (renameat2(AT_FDCWD, saved, AT_FDCWD, link, RENAME_EXCHANGE) < 0)
			return fail(-errno, err, errsz, "cannot swap back %s", saved);
		/* saved now holds the link that pointed at the mount */
		if (is_symlink(saved) && unlink(saved) < 0)
			return fail(-errno, err, errsz, "cannot remove %s", saved);
		return 0;
	}
	if (exists(none)) {
		if (is_symlink(link) && unlink(link) < 0)
			return fail(-errno, err, errsz, "cannot remove %s", link);
		if (unlink(none) < 0)
			return fail(-errno, err, errsz, "cannot remove %s", none);
		return 0;
	}
	return -ENOENT;
}

int xs_binfmt_point(struct xs_binfmt *b, const char *dir, const char *qemu_arch,
		    const char *target, char *err, size_t errsz)
{
	memset(b, 0, sizeof *b);
	char saved[PATH_MAX], none[PATH_MAX], tmp[PATH_MAX];
	int r;
	if (!*qemu_arch || strchr(qemu_arch, '/') || target[0] != '/')
		return fail(-EINVAL, err, errsz, "bad prefix name or target for %s", dir);
	if (snprintf(b->dir, sizeof b->dir, "%s", dir) >= (int)sizeof b->dir ||
	    snprintf(b->target, sizeof b->target, "%s", target) >= (int)sizeof b->target ||
	    join(b->link, sizeof b->link, dir, qemu_arch, "") < 0 ||
	    state_names(b->link, saved, none) < 0 ||
	    snprintf(tmp, sizeof tmp, "%s.xsysroot-new.%ld", b->link, (long)getpid()) >=
		    (int)sizeof tmp)
		return fail(-ENAMETOOLONG, err, errsz, "%s", dir);

	struct stat st;
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT)
			return fail(-errno, err, errsz, "%s", dir);
		if (mkdir(dir, 0755) < 0)
			return fail(-errno, err, errsz, "cannot create %s", dir);
		b->made_dir = true;
	} else if (!S_ISDIR(st.st_mode)) {
		return fail(-ENOTDIR, err, errsz, "%s", dir);
	}
	if (exists(saved) || exists(none)) {
		snprintf(err, errsz, "%s is held by an earlier --binfmt-prefix (%s exists)", b->link,
			 exists(saved) ? saved : none);
		r = -EBUSY;
		goto undo_dir;
	}
	unlink(tmp);
	if (symlink(target, tmp) < 0) {
		r = fail(-errno, err, errsz, "cannot create %s", tmp);
		goto undo_dir;
	}
	if (exists(b->link)) {
		/* swap: the name never goes missing; tmp then holds the old entry */
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, b->link, RENAME_EXCHANGE) < 0) {
			r = fail(-errno, err, errsz, "cannot replace %s", b->link);
			unlink(tmp);
			goto undo_dir;
		}
		if (rename(tmp, saved) < 0) {
			r = fail(-errno, err, errsz, "cannot keep the previous %s", b->link);
			renameat2(AT_FDCWD, tmp, AT_FDCWD, b->link, RENAME_EXCHANGE);
			unlink(tmp);
			goto undo_dir;
		}
	} else {
		int fd = open(none, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			r = fail(-errno, err, errsz, "cannot create %s", none);
			unlink(tmp);
			goto undo_dir;
		}
		close(fd);
		if (rename(tmp, b->link) < 0) {
			r = fail(-errno, err, errsz, "cannot create %s", b->link);
			unlink(tmp);
			unlink(none);
			goto undo_dir;
		}
	}
	b->active = true;
	return 0;
undo_dir:
	if (b->made_dir)
		rmdir(dir);
	b->made_dir = false;
	return r;
}

int xs_binfmt_restore(struct xs_binfmt *b, char *err, size_t errsz)
{
	if (!b->active)
		return 0;
	char cur[PATH_MAX];
	ssize_t n = readlink(b->link, cur, sizeof cur - 1);
	if (n < 0 || (cur[n] = 0, strcmp(cur, b->target))) {
		snprintf(err, errsz, "%s no longer points at %s: left as it is", b->link, b->target);
		return -ESTALE;
	}
	int r = put_back(b->link, err, errsz);
	if (r == -ENOENT)
		snprintf(err, errsz, "the saved state of %s is gone", b->link);
	if (r == 0)
		b->active = false;
	if (r == 0 && b->made_dir)
		rmdir(b->dir); /* fails, as it should, when something else is in it */
	return r;
}

int xs_binfmt_holder(const char *dir, const char *qemu_arch, char *holder, size_t holdersz)
{
	char link[PATH_MAX], saved[PATH_MAX], none[PATH_MAX];
	if (join(link, sizeof link, dir, qemu_arch, "") < 0 || state_names(link, saved, none) < 0)
		return -ENAMETOOLONG;
	if (!exists(saved) && !exists(none))
		return -ENOENT;
	char cur[PATH_MAX];
	ssize_t n = readlink(link, cur, sizeof cur - 1);
	cur[n < 0 ? 0 : n] = 0;
	snprintf(holder, holdersz, "%s", cur);
	return 0;
}

int xs_binfmt_recover(const char *dir, const char *qemu_arch, char *err, size_t errsz)
{
	char link[PATH_MAX];
	if (join(link, sizeof link, dir, qemu_arch, "") < 0)
		return fail(-ENAMETOOLONG, err, errsz, "%s", dir);
	return put_back(link, err, errsz);
}

/* ---- binfmt_misc handlers ---------------------------------------------- */

void xs_binfmt_magic(const struct xs_arch *a, unsigned char magic[XS_BINFMT_MAGIC_LEN],
		     unsigned char mask[XS_BINFMT_MAGIC_LEN])
{
	static const unsigned char ident[4] = { 0x7f, 'E', 'L', 'F' };
	memset(magic, 0, XS_BINFMT_MAGIC_LEN);
	memcpy(magic, ident, sizeof ident);
	magic[4] = a->elf_class;
	magic[5] = a->elf_data;
	magic[6] = 1; /* EV_CURRENT */
	memset(mask, 0xff, XS_BINFMT_MAGIC_LEN);
	mask[7] = 0; /* any OS ABI */
	bool le = a->elf_data == XS_ELF_DATA_LSB;
	magic[le ? 16 : 17] = 2; /* ET_EXEC, and ET_DYN through the mask */
	mask[le ? 16 : 17] = 0xfe;
	magic[le ? 18 : 19] = (unsigned char)(a->elf_machine & 0xff);
	magic[le ? 19 : 18] = (unsigned char)(a->elf_machine >> 8);
}

/* printf into out at *at: false when it does not fit. */
static bool put(char *out, size_t outsz, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool put(char *out, size_t outsz, size_t *at, const char *fmt, ...)
{
	if (*at >= outsz)
		return false;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(out + *at, outsz - *at, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= outsz - *at)
		return false;
	*at += (size_t)w;
	return true;
}

int xs_binfmt_register_line(const struct xs_arch *a, const char *name, const char *interp,
			    const char *flags, char *out, size_t outsz)
{
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strpbrk(name, "/:") ||
	    !*interp || strchr(interp, ':') || strchr(flags, ':'))
		return -EINVAL;
	unsigned char magic[XS_BINFMT_MAGIC_LEN], mask[XS_BINFMT_MAGIC_LEN];
	xs_binfmt_magic(a, magic, mask);
	size_t at = 0;
	bool ok = put(out, outsz, &at, ":%s:M::", name);
	for (size_t i = 0; i < sizeof magic; i++)
		ok = ok && put(out, outsz, &at, "\\x%02x", magic[i]);
	ok = ok && put(out, outsz, &at, ":");
	for (size_t i = 0; i < sizeof mask; i++)
		ok = ok && put(out, outsz, &at, "\\x%02x", mask[i]);
	ok = ok && put(out, outsz, &at, ":%s:%s", interp, flags);
	if (!ok) {
		if (outsz)
			out[0] = 0;
		return -ENAMETOOLONG;
	}
	return 0;
}
