/* test-view.c - the in-memory tree of a mount (include/xsysroot/view.h):
 * pending paths and implied directories, applying manifests, symlinks,
 * hardlinks, empty directories, ownership conflicts, readdir offsets,
 * content fds, path resolution, and concurrent readers during applies. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/deb.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"
#include "xsysroot/view.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MTIME0 1000 /* the view's default mtime */

static struct xs_store *store;

/* Put content into the store; its digest in sha. */
static int put(const char *content, char sha[65])
{
	return tl_store_put(store, content, strlen(content), sha);
}

static struct xs_entry *add(struct xs_manifest *m, int type, const char *path, uint32_t perm)
{
	xs_grow(&m->e, &m->cap, m->n + 1, sizeof *m->e);
	struct xs_entry *e = &m->e[m->n++];
	memset(e, 0, sizeof *e);
	e->path = xs_strdup(path);
	e->type = type;
	uint32_t fmt = type == XS_E_DIR ? S_IFDIR : type == XS_E_SYMLINK ? S_IFLNK : S_IFREG;
	e->mode = fmt | perm;
	e->mtime = 1700000000;
	return e;
}

static struct xs_entry *add_dir(struct xs_manifest *m, const char *path, uint32_t perm,
				int64_t mtime)
{
	struct xs_entry *e = add(m, XS_E_DIR, path, perm);
	e->mtime = mtime;
	return e;
}

/* A regular file whose content goes into the store. */
static struct xs_entry *add_reg(struct xs_manifest *m, const char *path, const char *content,
				uint32_t perm)
{
	struct xs_entry *e = add(m, XS_E_REG, path, perm);
	e->size = strlen(content);
	if (put(content, e->sha256) < 0)
		CHECK(0, "store object for %s", path);
	return e;
}

static struct xs_entry *add_symlink(struct xs_manifest *m, const char *path, const char *target)
{
	struct xs_entry *e = add(m, XS_E_SYMLINK, path, 0777);
	e->link = xs_strdup(target);
	return e;
}

/* A hardlink entry carries its target's digest, size and mode. */
static struct xs_entry *add_hardlink(struct xs_manifest *m, const char *path,
				     const struct xs_entry *target)
{
	char *tpath = xs_strdup(target->path);
	uint32_t mode = target->mode;
	uint64_t size = target->size;
	char sha[65];
	memcpy(sha, target->sha256, 65);
	struct xs_entry *e = add(m, XS_E_HARDLINK, path, 0);
	e->mode = mode;
	e->size = size;
	memcpy(e->sha256, sha, 65);
	e->link = tpath;
	return e;
}

static int resolve(struct xs_view *v, const char *path, struct xs_vattr *a)
{
	memset(a, 0xa5, sizeof *a);
	return xs_view_resolve(v, path, a);
}

static uint64_t ino_of(struct xs_view *v, const char *path)
{
	struct xs_vattr a;
	return resolve(v, path, &a) == 0 ? a.ino : 0;
}

/* The content behind a view fd. */
static char *fd_content(int fd)
{
	static char buf[4096];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

static uint64_t conflicts(struct xs_view *v)
{
	struct xs_view_stats st;
	xs_view_stats(v, &st);
	return st.conflicts;
}

/* ---- readdir collection ------------------------------------------------- */
struct dirent_rec {
	char name[64];
	uint64_t ino, next;
	uint32_t mode;
};
struct listing {
	struct dirent_rec e[64];
	int n;
	int stop_after; /* refuse the entry after this many (-1: never) */
	int offered;
};

static int collect(const char *name, uint64_t ino, uint32_t mode, uint64_t next, void *ud)
{
	struct listing *l = ud;
	l->offered++;
	if (l->stop_after >= 0 && l->n >= l->stop_after)
		return 1;
	if (l->n >= 64)
		return 1;
	struct dirent_rec *r = &l->e[l->n++];
	snprintf(r->name, sizeof r->name, "%s", name);
	r->ino = ino;
	r->mode = mode;
	r->next = next;
	return 0;
}

static int list(struct xs_view *v, uint64_t ino, uint64_t off, int stop_after, struct listing *l)
{
	memset(l, 0, sizeof *l);
	l->stop_after = stop_after;
	return xs_view_readdir(v, ino, off, collect, l);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_pending(void)
{
	struct xs_view *v = xs_view_new(store, MTIME0);
	struct xs_vattr a;
	CHECK_INT(xs_view_getattr(v, 1, &a), 0, "root exists");
	CHECK_INT(a.ino, 1, "root is inode 1");
	CHECK_INT(a.mode, S_IFDIR | 0755, "root mode");
	CHECK_INT(a.nlink, 2, "empty root: nlink 2");
	CHECK_INT(a.pkg, -1, "root belongs to no package");

	CHECK_INT(xs_view_add_pending(v, "usr/bin/hello", 0), 0, "add_pending usr/bin/hello");
	CHECK_INT(xs_view_add_pending(v, "usr/lib/libfoo.so.1", 0), 0, "add_pending lib");
	CHECK_INT(xs_view_add_pending(v, "usr/share/doc/foo/copyright", 1), 0, "add_pending doc");
	CHECK_INT(xs_view_add_pending(v, "etc/foo.conf", 1), 0, "add_pending etc");
	CHECK_INT(xs_view_add_pending(v, "usr/bin/hello", 0), 0, "the same path again");
	CHECK_INT(xs_view_add_pending(v, "", 0), 0, "the root: nothing to do");

	CHECK_INT(resolve(v, "usr", &a), 0, "implied usr");
	CHECK_INT(a.mode, S_IFDIR | 0755, "implied directory: S_IFDIR|0755");
	CHECK(!a.pending, "directories are never pending");
	CHECK_INT(a.pkg, -1, "implied directory: pkg -1");
	CHECK_INT(a.nlink, 5, "usr nlink: 2 + bin, lib, share");
	CHECK_INT(a.mtime, MTIME0, "implied directory: the default mtime");
	CHECK_INT(resolve(v, "usr/share/doc/foo", &a), 0, "implied deep directory");
	CHECK_INT(a.mode, S_IFDIR | 0755, "deep implied directory mode");
	CHECK_INT(a.nlink, 2, "leaf directory nlink 2");
	CHECK_INT(xs_view_getattr(v, 1, &a), 0, "root again");
	CHECK_INT(a.nlink, 4, "root nlink: 2 + usr, etc");

	uint64_t bin = ino_of(v, "usr/bin");
	CHECK(bin > 1, "usr/bin has an inode");
	memset(&a, 0, sizeof a);
	CHECK_INT(xs_view_lookup(v, bin, "hello", &a), 0, "lookup pending leaf");
	CHECK(a.pending, "pending=true");
	CHECK_INT(a.mode, 0, "pending: mode 0");
	CHECK_INT(a.pkg, 0, "pending: providing package");
	CHECK(a.ino > bin, "pending leaf has its own inode");
	uint64_t hello = a.ino;
	CHECK_INT(resolve(v, "etc/foo.conf", &a), 0, "resolve pending leaf");
	CHECK(a.pending && a.pkg == 1, "pending etc/foo.conf of package 1");
	CHECK_INT(xs_view_getattr(v, hello, &a), 0, "getattr of a pending inode");
	CHECK(a.pending && a.ino == hello, "getattr: pending, same inode");
	CHECK(xs_view_fd(v, hello) < 0, "no fd for a pending node");
	char buf[16];
	CHECK_INT(xs_view_readlink(v, hello, buf, sizeof buf), -EINVAL, "readlink of pending: -EINVAL");

	struct xs_view_stats st;
	xs_view_stats(v, &st);
	CHECK_INT(st.pending, 4, "4 pending nodes");
	CHECK_INT(st.nodes, 12, "12 nodes: 8 directories, 4 leaves");
	CHECK_INT(st.conflicts, 0, "no conflicts");

	/* a pending leaf that turns out to hold children is a directory */
	CHECK_INT(xs_view_add_pending(v, "usr/x", 2), 0, "pending usr/x");
	CHECK_INT(resolve(v, "usr", &a), 0, "usr");
	CHECK_INT(a.nlink, 5, "a pending leaf adds no link");
	CHECK_INT(xs_view_add_pending(v, "usr/x/y", 2), 0, "pending usr/x/y below it");
	CHECK_INT(resolve(v, "usr/x", &a), 0, "usr/x");
	CHECK_INT(a.mode, S_IFDIR | 0755, "usr/x became a directory");
	CHECK(!a.pending, "and is not pending");
	CHECK_INT(resolve(v, "usr", &a), 0, "usr again");
	CHECK_INT(a.nlink, 6, "usr nlink counts the new subdirectory x");
	CHECK_INT(resolve(v, "usr/x/y", &a), 0, "usr/x/y");
	CHECK(a.pending && a.pkg == 2, "usr/x/y pending for package 2");
	xs_view_free(v);
}

static void test_apply(void)
{
	struct xs_view *v = xs_view_new(store, MTIME0);
	static const char *const pend0[] = {
		"usr/bin/hello", "usr/bin/hi", "usr/bin/hello2", "usr/lib/libfoo.so.1",
		"usr/bin/ghost", "usr/share/pdir",
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(pend0); i++)
		xs_view_add_pending(v, pend0[i], 0);

	struct xs_manifest m = { 0 };
	add_dir(&m, "", 0700, 5); /* the root keeps its own attributes */
	add_dir(&m, "usr", 0755, 600);
	add_dir(&m, "usr/bin", 0755, 600);
	struct xs_entry hello_e;
	/* the hardlink comes before its target in the manifest */
	struct xs_entry *t = add_reg(&m, "usr/bin/hello", "#!/bin/sh\necho hello\n", 0755);
	t->uid = 0;
	t->gid = 50;
	t->mtime = 1234567;
	hello_e = *t;
	struct xs_entry *h = add_hardlink(&m, "usr/bin/hello2", &hello_e);
	(void)h;
	/* move the hardlink to the front */
	struct xs_entry tmp = m.e[m.n - 1];
	memmove(&m.e[1], &m.e[0], (m.n - 1) * sizeof *m.e);
	m.e[0] = tmp;
	add_symlink(&m, "usr/bin/hi", "hello");
	add_reg(&m, "usr/lib/libfoo.so.1", "ELF\177not really", 0644)->uid = 1000;
	add_dir(&m, "usr/share/empty", 0700, 777);
	add_dir(&m, "usr/share/pdir", 0750, 888);
	add_reg(&m, "usr/share/extra/notlisted", "not in Contents", 0600);
	struct xs_entry *dev = add(&m, XS_E_OTHER, "usr/share/null", 0666);
	dev->mode = S_IFCHR | 0666;
	dev->rdev = makedev(1, 3);
	CHECK_INT(xs_view_apply(v, 0, &m), 0, "apply package 0");

	struct xs_vattr a;
	CHECK_INT(xs_view_getattr(v, 1, &a), 0, "root");
	CHECK_INT(a.mode, S_IFDIR | 0755, "the root keeps its mode");
	CHECK_INT(a.mtime, MTIME0, "the root keeps its mtime");

	CHECK_INT(resolve(v, "usr/bin/hello", &a), 0, "hello");
	CHECK(!a.pending, "hello is ready");
	CHECK_INT(a.mode, S_IFREG | 0755, "hello mode");
	CHECK_INT(a.size, strlen("#!/bin/sh\necho hello\n"), "hello size");
	CHECK_INT(a.uid, 0, "hello uid");
	CHECK_INT(a.gid, 50, "hello gid");
	CHECK_INT(a.mtime, 1234567, "hello mtime");
	CHECK_INT(a.pkg, 0, "hello package");
	CHECK_INT(a.nlink, 2, "hello: nlink 2 (one hardlink)");
	uint64_t hello = a.ino;

	CHECK_INT(resolve(v, "usr/bin/hello2", &a), 0, "hello2 (hardlink)");
	CHECK_INT(a.ino, hello, "hardlink shares the inode of its target");
	CHECK_INT(a.nlink, 2, "hardlink nlink 2");
	CHECK_INT(a.mode, S_IFREG | 0755, "hardlink mode");
	CHECK(!a.pending, "hardlink ready");
	CHECK_INT(xs_view_lookup(v, ino_of(v, "usr/bin"), "hello2", &a), 0, "lookup hardlink");
	CHECK_INT(a.ino, hello, "lookup gives the target inode too");

	CHECK_INT(resolve(v, "usr/bin/hi", &a), 0, "symlink");
	CHECK(S_ISLNK(a.mode), "S_IFLNK");
	CHECK_INT(a.size, 5, "symlink size = target length");
	char buf[64];
	CHECK_INT(xs_view_readlink(v, a.ino, buf, sizeof buf), 5, "readlink length");
	CHECK_STR(buf, "hello", "readlink target");
	CHECK_INT(xs_view_readlink(v, a.ino, buf, 3), 2, "readlink into a small buffer truncates");
	CHECK_STR(buf, "he", "truncated, NUL terminated");
	CHECK(xs_view_readlink(v, a.ino, buf, 0) < 0, "readlink with size 0 fails");
	CHECK_INT(xs_view_readlink(v, hello, buf, sizeof buf), -EINVAL, "readlink of a file: -EINVAL");
	CHECK(xs_view_fd(v, a.ino) < 0, "no content fd for a symlink");

	CHECK_INT(resolve(v, "usr/lib/libfoo.so.1", &a), 0, "lib");
	CHECK(!a.pending && a.mode == (S_IFREG | 0644) && a.uid == 1000, "lib attributes");

	CHECK_INT(resolve(v, "usr/bin/ghost", &a), 0, "listed but not shipped");
	CHECK(a.pending, "stays pending");

	CHECK_INT(resolve(v, "usr/share/extra/notlisted", &a), 0, "manifest-only path added");
	CHECK(!a.pending && a.mode == (S_IFREG | 0600) && a.pkg == 0, "manifest-only attributes");
	CHECK_INT(resolve(v, "usr/share/extra", &a), 0, "its implied directory");
	CHECK_INT(a.mode, S_IFDIR | 0755, "implied directory mode");

	CHECK_INT(resolve(v, "usr/share/empty", &a), 0, "empty shipped directory appears");
	CHECK_INT(a.mode, S_IFDIR | 0700, "empty directory mode");
	CHECK_INT(a.mtime, 777, "empty directory mtime");
	CHECK_INT(a.nlink, 2, "empty directory nlink");
	CHECK_INT(a.pkg, 0, "empty directory package");
	CHECK_INT(resolve(v, "usr/share/pdir", &a), 0, "a pending path shipped as a directory");
	CHECK_INT(a.mode, S_IFDIR | 0750, "its mode");
	CHECK_INT(a.mtime, 888, "its mtime");
	CHECK(!a.pending, "not pending");
	CHECK_INT(resolve(v, "usr/share", &a), 0, "usr/share");
	CHECK_INT(a.nlink, 2 + 3, "usr/share nlink: extra, empty, pdir");
	CHECK_INT(resolve(v, "usr", &a), 0, "usr");
	CHECK_INT(a.mode, S_IFDIR | 0755, "shipped usr mode");
	CHECK_INT(a.mtime, 600, "a directory takes its package's mtime");
	CHECK_INT(a.pkg, 0, "and its package");

	CHECK_INT(resolve(v, "usr/share/null", &a), 0, "device node");
	CHECK_INT(a.mode, S_IFCHR | 0666, "device keeps type and permissions");
	CHECK_INT(a.rdev, makedev(1, 3), "device number kept");
	CHECK(xs_view_fd(v, a.ino) < 0, "no content fd for a device");

	/* content fds */
	int fd = xs_view_fd(v, hello);
	CHECK(fd >= 0, "fd of hello");
	CHECK_STR(fd_content(fd), "#!/bin/sh\necho hello\n", "hello content");
	CHECK_INT(xs_view_fd(v, hello), fd, "the same fd on a second call");
	CHECK_INT(xs_view_fd(v, ino_of(v, "usr/bin/hello2")), fd, "the hardlink's fd is the target's");
	CHECK_INT(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY, "read-only fd");
	int fd2 = xs_view_fd(v, ino_of(v, "usr/lib/libfoo.so.1"));
	CHECK(fd2 >= 0 && fd2 != fd, "another file, another fd");
	CHECK_STR(fd_content(fd2), "ELF\177not really", "lib content");
	CHECK_INT(xs_view_fd(v, ino_of(v, "usr/bin")), -EISDIR, "fd of a directory: -EISDIR");
	CHECK_INT(xs_view_fd(v, 1), -EISDIR, "fd of the root: -EISDIR");
	CHECK(xs_view_fd(v, 99999) < 0, "fd of an unknown inode fails");

	/* apply is idempotent */
	uint64_t before = conflicts(v);
	CHECK_INT(xs_view_apply(v, 0, &m), 0, "apply package 0 again");
	CHECK_INT(resolve(v, "usr/bin/hello", &a), 0, "hello after re-apply");
	CHECK_INT(a.ino, hello, "same inode");
	CHECK_INT(conflicts(v), before, "re-apply adds no conflicts");
	CHECK_INT(a.nlink, 2, "re-apply does not count the hardlink twice");

	struct xs_view_stats st;
	xs_view_stats(v, &st);
	CHECK_INT(st.pending, 1, "only the ghost stays pending");
	xs_manifest_free(&m);
	xs_view_free(v);
}

/* Two packages claim usr/bin/tool: the lower index owns it in any order. */
static void conflict_order(bool pending, int first, int second)
{
	struct xs_view *v = xs_view_new(store, MTIME0);
	const char *content[6] = { [3] = "from package 3", [5] = "from package 5, longer" };
	if (pending) {
		xs_view_add_pending(v, "usr/bin/tool", first);
		xs_view_add_pending(v, "usr/bin/tool", second);
	}
	for (int k = 0; k < 2; k++) {
		int pkg = k == 0 ? first : second;
		struct xs_manifest m = { 0 };
		add_reg(&m, "usr/bin/tool", content[pkg], 0755)->mtime = 100 + pkg;
		add_dir(&m, "usr/share/doc", pkg == 3 ? 0755 : 0775, 200 + pkg);
		CHECK_INT(xs_view_apply(v, pkg, &m), 0, "apply package %d", pkg);
		xs_manifest_free(&m);
	}
	struct xs_vattr a;
	CHECK_INT(resolve(v, "usr/bin/tool", &a), 0, "tool");
	CHECK_INT(a.pkg, 3, "%s, %d then %d: package 3 owns the file",
		  pending ? "pending" : "not pending", first, second);
	CHECK_INT(a.size, strlen(content[3]), "its size");
	CHECK_INT(a.mtime, 103, "its mtime");
	int fd = xs_view_fd(v, a.ino);
	CHECK_STR(fd >= 0 ? fd_content(fd) : "", content[3], "its content");
	CHECK(conflicts(v) >= 1, "the conflict is counted");
	CHECK_INT(resolve(v, "usr/share/doc", &a), 0, "shared directory");
	CHECK_INT(a.pkg, 3, "package 3 owns the shared directory");
	CHECK_INT(a.mtime, 203, "and gives its attributes");
	CHECK_INT(a.mode, S_IFDIR | 0755, "its mode");
	xs_view_free(v);
}

static void test_conflicts(void)
{
	conflict_order(true, 3, 5);
	conflict_order(true, 5, 3);
	/* pending added in one order, applied in the other */
	{
		struct xs_view *v = xs_view_new(store, MTIME0);
		xs_view_add_pending(v, "usr/bin/tool", 5);
		xs_view_add_pending(v, "usr/bin/tool", 3);
		struct xs_vattr a;
		CHECK_INT(resolve(v, "usr/bin/tool", &a), 0, "pending claimed by two");
		CHECK_INT(a.pkg, 3, "the pending path is the lower package's");
		CHECK_INT(conflicts(v), 1, "one conflict");
		struct xs_manifest m = { 0 };
		add_reg(&m, "usr/bin/tool", "five", 0755);
		xs_view_apply(v, 5, &m);
		xs_manifest_free(&m);
		CHECK_INT(resolve(v, "usr/bin/tool", &a), 0, "after package 5");
		CHECK(a.pending && a.pkg == 3, "still pending for package 3");
		add_reg(&m, "usr/bin/tool", "three", 0755);
		xs_view_apply(v, 3, &m);
		xs_manifest_free(&m);
		CHECK_INT(resolve(v, "usr/bin/tool", &a), 0, "after package 3");
		CHECK(!a.pending && a.pkg == 3 && a.size == 5, "package 3's file");
		xs_view_free(v);
	}

	/* a path below another package's regular file */
	struct xs_view *v = xs_view_new(store, MTIME0);
	struct xs_manifest m = { 0 };
	add_reg(&m, "usr/share/thing", "a file", 0644);
	add_dir(&m, "usr/share/adir", 0755, 1);
	add_reg(&m, "usr/share/adir/f", "f", 0644);
	xs_view_apply(v, 0, &m);
	xs_manifest_free(&m);
	uint64_t c0 = conflicts(v);
	add_reg(&m, "usr/share/thing/sub", "below a file", 0644);
	add_reg(&m, "usr/share/thing/deeper/sub", "below a file", 0644);
	add_dir(&m, "usr/share/thing/d", 0755, 1);
	add_symlink(&m, "usr/share/thing/l", "x");
	add_dir(&m, "usr/share/thing", 0755, 1); /* a directory where a file is */
	add_reg(&m, "usr/share/adir", "a file where a directory is", 0644);
	add_reg(&m, "usr/share/ok", "fine", 0644);
	CHECK_INT(xs_view_apply(v, 1, &m), 0, "apply package 1 with conflicting paths");
	xs_manifest_free(&m);
	CHECK_INT(conflicts(v) - c0, 6, "six conflicts counted");
	struct xs_vattr a;
	CHECK_INT(resolve(v, "usr/share/thing", &a), 0, "thing");
	CHECK(a.mode == (S_IFREG | 0644) && a.pkg == 0, "thing stays package 0's file");
	CHECK_INT(resolve(v, "usr/share/thing/sub", &a), -ENOTDIR, "below a file: -ENOTDIR");
	CHECK_INT(xs_view_lookup(v, ino_of(v, "usr/share/thing"), "sub", &a), -ENOTDIR,
		  "lookup under a file: -ENOTDIR");
	CHECK_INT(resolve(v, "usr/share/adir", &a), 0, "adir");
	CHECK(S_ISDIR(a.mode) && a.pkg == 0, "adir stays a directory");
	CHECK_INT(resolve(v, "usr/share/adir/f", &a), 0, "adir/f still there");
	CHECK_INT(resolve(v, "usr/share/ok", &a), 0, "the rest of package 1 applied");
	CHECK_INT(a.pkg, 1, "ok is package 1's");
	xs_view_add_pending(v, "usr/share/thing/pending", 2);
	CHECK_INT(conflicts(v) - c0, 7, "a pending path below a file: a conflict too");
	CHECK_INT(resolve(v, "usr/share/thing", &a), 0, "thing");
	CHECK(S_ISREG(a.mode), "still a file");
	xs_view_free(v);
}

static void test_readdir(void)
{
	struct xs_view *v = xs_view_new(store, MTIME0);
	/* children: ready and pending, inserted out of order */
	xs_view_add_pending(v, "usr/r/b", 0);
	xs_view_add_pending(v, "usr/r/A", 0);
	struct xs_manifest m = { 0 };
	add_reg(&m, "usr/r/c", "c", 0644);
	add_reg(&m, "usr/r/aa", "aa", 0644);
	add_dir(&m, "usr/r/a", 0755, 1);
	add_symlink(&m, "usr/r/z", "c");
	xs_view_apply(v, 1, &m);
	xs_manifest_free(&m);
	uint64_t r = ino_of(v, "usr/r"), usr = ino_of(v, "usr");
	static const char *const want[] = { ".", "..", "A", "a", "aa", "b", "c", "z" };
	const int nwant = (int)XS_ARRAY_SIZE(want);

	struct listing l;
	CHECK_INT(list(v, r, 0, -1, &l), 0, "readdir from 0");
	CHECK_INT(l.n, nwant, "8 entries");
	bool names = l.n == nwant, offs = true;
	for (int i = 0; i < l.n && i < nwant; i++) {
		names = names && strcmp(l.e[i].name, want[i]) == 0;
		offs = offs && l.e[i].next == (uint64_t)i + 1;
	}
	CHECK(names, "\".\", \"..\", then children sorted bytewise");
	CHECK(offs, "each entry's next offset is its position + 1");
	CHECK(l.e[0].ino == r && S_ISDIR(l.e[0].mode), "\".\" is the directory");
	CHECK_INT(l.e[1].ino, usr, "\"..\" is the parent");
	CHECK(S_ISDIR(l.e[1].mode), "\"..\" is a directory");
	CHECK_INT(l.e[2].mode, 0, "pending A: mode 0");
	CHECK_INT(l.e[5].mode, 0, "pending b: mode 0");
	CHECK(S_ISDIR(l.e[3].mode) && S_ISREG(l.e[4].mode) && S_ISLNK(l.e[7].mode),
	      "types of ready entries");
	CHECK_INT(l.e[6].ino, ino_of(v, "usr/r/c"), "entry inode = lookup inode");

	CHECK_INT(list(v, r, 4, -1, &l), 0, "resume from offset 4");
	CHECK(l.n == nwant - 4 && strcmp(l.e[0].name, "aa") == 0 && l.e[0].next == 5,
	      "resumes at the 5th entry (aa)");
	CHECK_INT(list(v, r, 1, -1, &l), 0, "resume from offset 1");
	CHECK(l.n == nwant - 1 && strcmp(l.e[0].name, "..") == 0, "offset 1 starts at \"..\"");
	CHECK_INT(list(v, r, (uint64_t)nwant, -1, &l), 0, "offset at the end");
	CHECK_INT(l.offered, 0, "nothing offered at the end");
	CHECK_INT(list(v, r, 1000, -1, &l), 0, "offset past the end");
	CHECK_INT(l.offered, 0, "nothing offered past the end");

	/* a callback that stops: the refused entry comes again */
	CHECK_INT(list(v, r, 0, 3, &l), 0, "readdir stopping after 3");
	CHECK_INT(l.n, 3, "3 accepted");
	CHECK_INT(l.offered, 4, "the 4th offered and refused, no more");
	uint64_t next = l.e[2].next;
	CHECK_INT(list(v, r, next, 2, &l), 0, "resume at the last accepted next offset");
	CHECK(l.n == 2 && strcmp(l.e[0].name, "a") == 0 && strcmp(l.e[1].name, "aa") == 0,
	      "the refused entry is offered again first");
	CHECK_INT(l.offered, 3, "then stops again");
	/* paging through one entry at a time gives the full listing */
	uint64_t off = 0;
	int got = 0;
	bool same = true;
	for (int guard = 0; guard < 20; guard++) {
		CHECK_INT(list(v, r, off, 1, &l), 0, "page at %llu", (unsigned long long)off);
		if (l.n == 0)
			break;
		same = same && got < nwant && strcmp(l.e[0].name, want[got]) == 0;
		got++;
		off = l.e[0].next;
	}
	CHECK(same && got == nwant, "one-entry pages give the whole listing in order");

	CHECK_INT(list(v, 1, 0, -1, &l), 0, "readdir of the root");
	CHECK(l.n == 3 && l.e[0].ino == 1 && l.e[1].ino == 1 && strcmp(l.e[2].name, "usr") == 0,
	      "root: \".\", \"..\" (itself), usr");
	CHECK_INT(list(v, ino_of(v, "usr/r/c"), 0, -1, &l), -ENOTDIR, "readdir of a file: -ENOTDIR");
	CHECK(list(v, 99999, 0, -1, &l) < 0, "readdir of an unknown inode fails");
	CHECK_INT(l.offered, 0, "and offers nothing");
	xs_view_free(v);
}

static void test_resolve(void)
{
	struct xs_view *v = xs_view_new(store, MTIME0);
	struct xs_manifest m = { 0 };
	add_reg(&m, "usr/lib/x86_64-linux-gnu/libz.so.1.3", "zlib", 0644);
	add_symlink(&m, "usr/lib/x86_64-linux-gnu/libz.so.1", "libz.so.1.3");
	add_dir(&m, "etc", 0755, 1);
	xs_view_apply(v, 0, &m);
	xs_manifest_free(&m);
	struct xs_vattr a, b;
	CHECK_INT(resolve(v, "", &a), 0, "\"\" is the root");
	CHECK_INT(a.ino, 1, "root inode");
	CHECK_INT(resolve(v, "/", &a), 0, "\"/\" is the root");
	CHECK_INT(a.ino, 1, "root inode");
	CHECK_INT(resolve(v, "usr/lib/x86_64-linux-gnu/libz.so.1.3", &a), 0, "nested file");
	CHECK(S_ISREG(a.mode) && a.size == 4, "nested file attributes");
	CHECK_INT(resolve(v, "/usr//lib/./x86_64-linux-gnu/libz.so.1.3", &b), 0,
		  "unnormalised spelling");
	CHECK_INT(b.ino, a.ino, "same inode");
	CHECK_INT(resolve(v, "usr/lib/../lib/x86_64-linux-gnu/libz.so.1.3", &b), 0, "with ..");
	CHECK_INT(b.ino, a.ino, "same inode");
	CHECK_INT(resolve(v, "usr/lib/x86_64-linux-gnu/libz.so.1", &b), 0, "symlink");
	CHECK(S_ISLNK(b.mode) && b.ino != a.ino, "symlinks are not followed");
	CHECK_INT(resolve(v, "usr/lib/x86_64-linux-gnu/libz.so.1/x", &b), -ENOTDIR,
		  "below a symlink: -ENOTDIR (not followed)");
	CHECK_INT(resolve(v, "usr/lib/x86_64-linux-gnu/", &b), 0, "directory with a trailing slash");
	CHECK(S_ISDIR(b.mode), "a directory");
	CHECK_INT(resolve(v, "usr/missing", &b), -ENOENT, "missing leaf: -ENOENT");
	CHECK_INT(resolve(v, "usr/missing/deeper", &b), -ENOENT, "missing directory: -ENOENT");
	CHECK_INT(resolve(v, "nothing", &b), -ENOENT, "missing top: -ENOENT");
	CHECK_INT(resolve(v, "usr/lib/x86_64-linux-gnu/libz.so.1.3/x", &b), -ENOTDIR,
		  "below a file: -ENOTDIR");
	CHECK_INT(resolve(v, "../etc", &b), -EINVAL, "above the root: -EINVAL");
	CHECK_INT(xs_view_lookup(v, a.ino, "x", &b), -ENOTDIR, "lookup with a file parent");
	CHECK_INT(xs_view_lookup(v, 1, "usr", &b), 0, "lookup usr in the root");
	CHECK_INT(xs_view_lookup(v, 1, "us", &b), -ENOENT, "a prefix is no match");
	CHECK_INT(xs_view_lookup(v, 1, "usrx", &b), -ENOENT, "a longer name is no match");
	CHECK_INT(xs_view_lookup(v, 1, "", &b), -ENOENT, "the empty name");
	CHECK(xs_view_lookup(v, 0, "usr", &b) < 0, "parent 0 fails");
	CHECK(xs_view_lookup(v, 99999, "usr", &b) < 0, "unknown parent fails");
	CHECK(xs_view_getattr(v, 0, &b) < 0, "getattr of inode 0 fails");
	CHECK(xs_view_getattr(v, 99999, &b) < 0, "getattr of an unknown inode fails");
	xs_view_free(v);
}

/* ---- concurrency ------------------------------------------------------------ */
#define NPKG 40
#define NFILE 25

struct conc {
	struct xs_view *v;
	int done;
	int errors;
	long ops;
	long live; /* operations so far, all readers */
};

static void conc_path(char *out, size_t outsz, int pkg, int f)
{
	snprintf(out, outsz, "usr/share/p%02d/d%d/f%02d", pkg, f % 3, f);
}

static void *reader(void *arg)
{
	struct conc *c = arg;
	unsigned seed = (unsigned)(uintptr_t)pthread_self();
	long ops = 0;
	int errors = 0;
	while (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) || ops < 2000) {
		int pkg = (int)(rand_r(&seed) % NPKG), f = (int)(rand_r(&seed) % NFILE);
		char p[128];
		conc_path(p, sizeof p, pkg, f);
		struct xs_vattr a;
		int r = xs_view_resolve(c->v, p, &a);
		if (r != 0 || !(a.pending || S_ISREG(a.mode)))
			errors++;
		if (r == 0 && !a.pending) {
			int fd = xs_view_fd(c->v, a.ino);
			char buf[192], want[192];
			ssize_t n = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;
			snprintf(want, sizeof want, "content of %s", p);
			if (n < 0 || (buf[n] = 0, strcmp(buf, want) != 0))
				errors++;
		}
		struct listing l;
		char dir[64];
		snprintf(dir, sizeof dir, "usr/share/p%02d", pkg);
		if (xs_view_resolve(c->v, dir, &a) == 0) {
			if (list(c->v, a.ino, 0, -1, &l) != 0 || l.n < 2 ||
			    strcmp(l.e[0].name, ".") || strcmp(l.e[1].name, ".."))
				errors++;
			for (int i = 3; i < l.n; i++)
				if (strcmp(l.e[i - 1].name, l.e[i].name) >= 0)
					errors++;
		} else {
			errors++;
		}
		struct xs_view_stats st;
		xs_view_stats(c->v, &st);
		ops++;
		__atomic_add_fetch(&c->live, 1, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&c->errors, errors, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->ops, ops, __ATOMIC_RELAXED);
	return NULL;
}

static void test_concurrency(void)
{
	struct conc c = { .v = xs_view_new(store, MTIME0) };
	char p[128], content[192];
	struct xs_manifest ms[NPKG];
	for (int pkg = 0; pkg < NPKG; pkg++) {
		memset(&ms[pkg], 0, sizeof ms[pkg]);
		for (int f = 0; f < NFILE; f++) {
			conc_path(p, sizeof p, pkg, f);
			xs_view_add_pending(c.v, p, pkg);
			snprintf(content, sizeof content, "content of %s", p);
			add_reg(&ms[pkg], p, content, 0644);
		}
		/* and paths Contents did not list */
		snprintf(p, sizeof p, "usr/share/p%02d/extra/e", pkg);
		snprintf(content, sizeof content, "content of %s", p);
		add_reg(&ms[pkg], p, content, 0644);
	}
	pthread_t th[4];
	int started = 0;
	for (int i = 0; i < 4; i++)
		started += pthread_create(&th[i], NULL, reader, &c) == 0;
	CHECK_INT(started, 4, "4 reader threads");
	for (int i = 0; i < 10000 && __atomic_load_n(&c.live, __ATOMIC_RELAXED) < 100; i++)
		usleep(1000);
	long live0 = __atomic_load_n(&c.live, __ATOMIC_RELAXED);
	int applied = 0;
	for (int pkg = 0; pkg < NPKG; pkg++) {
		applied += xs_view_apply(c.v, pkg, &ms[pkg]) == 0;
		snprintf(p, sizeof p, "usr/share/p%02d/late", pkg);
		xs_view_add_pending(c.v, p, pkg);
		usleep(500);
	}
	long live1 = __atomic_load_n(&c.live, __ATOMIC_RELAXED);
	__atomic_store_n(&c.done, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(applied, NPKG, "all manifests applied");
	CHECK(live1 > live0, "readers ran while the manifests were applied (%ld operations)",
	      live1 - live0);
	CHECK_INT(c.errors, 0, "readers saw only consistent states (%ld operations)", c.ops);
	struct xs_view_stats st;
	xs_view_stats(c.v, &st);
	CHECK_INT(st.pending, NPKG, "only the late paths are pending");
	CHECK_INT(st.conflicts, 0, "no conflicts");
	struct xs_vattr a;
	conc_path(p, sizeof p, NPKG - 1, NFILE - 1);
	CHECK_INT(resolve(c.v, p, &a), 0, "last file");
	CHECK(!a.pending && a.pkg == NPKG - 1, "last file ready");
	for (int pkg = 0; pkg < NPKG; pkg++)
		xs_manifest_free(&ms[pkg]);
	xs_view_free(c.v);
}

/* xs_view_digest: a synthetic file's digest; none for a directory or a
 * pending file; an unknown inode is -ENOENT. */
static void test_digest(void)
{
	struct xs_view *v = xs_view_new(store, MTIME0);
	const char *sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
	CHECK_INT(xs_view_add_file(v, "etc/gen.conf", sha, 5, 0644), 0, "synthetic file");
	CHECK_INT(xs_view_add_pending(v, "usr/bin/later", 0), 0, "pending file");
	char out[65] = "";
	struct xs_vattr a;
	CHECK_INT(resolve(v, "etc/gen.conf", &a), 0, "resolve the synthetic file");
	CHECK_INT(xs_view_digest(v, a.ino, out), 0, "digest of a synthetic file");
	CHECK_STR(out, sha, "its SHA-256");
	CHECK_INT(xs_view_digest(v, 1, out), -ENODATA, "the root has no digest");
	CHECK_INT(resolve(v, "usr/bin/later", &a), 0, "resolve the pending file");
	CHECK_INT(xs_view_digest(v, a.ino, out), -ENODATA, "a pending file has no digest yet");
	CHECK_INT(xs_view_digest(v, 999999, out), -ENOENT, "an unknown inode");
	xs_view_free(v);
}

/* Symlink targets confined to the view (xs_view_clamp_target): what a
 * chroot at the view's root reaches, never above it. */
static void test_clamp(void)
{
	static const struct {
		const char *link, *target, *want;
	} cases[] = {
		/* climbing above the root: clamped at the root */
		{ "usr/share/x", "../../../../etc/hostname", "../../etc/hostname" },
		{ "usr/share/doc/p/x", "../../../../../../etc/hostname", "../../../../etc/hostname" },
		{ "x", "../etc/hostname", "etc/hostname" },
		{ "x", "..", "." },
		{ "usr/x", "../../..", ".." },
		{ "usr/share/x", "../../../usr/share/y", "y" },
		/* a ".." after a name: resolved lexically, then clamped */
		{ "usr/share/x", "here/../../../../../../etc/passwd", "../../etc/passwd" },
		{ "usr/share/x", "a/../b", "b" },
		{ "usr/share/x", "./../../../lib/y", "../lib/y" }, /* merged /usr */
		/* absolute: the relative equivalent, "/.." is "/" */
		{ "usr/share/x", "/etc/hostname", "../../etc/hostname" },
		{ "usr/share/x", "/../../etc/hostname", "../../etc/hostname" },
		{ "usr/lib/x", "/lib/y", "y" },
		/* below the root by the letter of it: as shipped */
		{ "usr/share/x", "../../etc/hostname", "../../etc/hostname" },
		{ "usr/share/x", "./.././y/", "./.././y/" },
		{ "usr/share/x", "y/z", "y/z" },
		{ "usr/bin/x", "../lib/y", "../lib/y" },
		{ "x", "y", "y" },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(cases); i++) {
		char out[XS_MAX_PATH + 1] = "";
		int r = xs_view_clamp_target(cases[i].link, cases[i].target, out, sizeof out);
		CHECK(r == 0 && !strcmp(out, cases[i].want), "%s -> %s presented as %s (got %d, %s)",
		      cases[i].link, cases[i].target, cases[i].want, r, out);
	}
	char small[8];
	CHECK_INT(xs_view_clamp_target("usr/share/x", "../../../../etc/hostname", small,
				       sizeof small),
		  -ENAMETOOLONG, "a result that does not fit: -ENAMETOOLONG");

	/* applied: readlink presents the clamped target */
	struct xs_view *v = xs_view_new(store, MTIME0);
	struct xs_manifest m = { 0 };
	add_symlink(&m, "usr/share/esc/up", "../../../../../../etc/hostname");
	add_symlink(&m, "usr/share/esc/abs", "/etc/hostname");
	add_symlink(&m, "usr/share/esc/ok", "../../bin/sh");
	add_symlink(&m, "lib/esc", "../../../etc/shadow"); /* presented at usr/lib/esc */
	CHECK_INT(xs_view_apply(v, 0, &m), 0, "apply the escaping links");
	static const char *const want[][2] = {
		{ "usr/share/esc/up", "../../../etc/hostname" },
		{ "usr/share/esc/abs", "../../../etc/hostname" },
		{ "usr/share/esc/ok", "../../bin/sh" },
		{ "usr/lib/esc", "../../etc/shadow" },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(want); i++) {
		struct xs_vattr a;
		char buf[256] = "";
		ssize_t n = resolve(v, want[i][0], &a) == 0
				    ? xs_view_readlink(v, a.ino, buf, sizeof buf)
				    : -1;
		CHECK(n > 0 && !strcmp(buf, want[i][1]) && a.size == (uint64_t)n,
		      "readlink %s: %s (got %s)", want[i][0], want[i][1], buf);
	}
	xs_manifest_free(&m);
	xs_view_free(v);
}

int main(void)
{
	int r = tl_store_open("cache", &store);
	CHECK_INT(r, 0, "store opened");
	if (r == 0) {
		test_pending();
		test_apply();
		test_conflicts();
		test_readdir();
		test_resolve();
		test_concurrency();
		test_digest();
		test_clamp();
		xs_store_close(store);
	}
	return tap_done();
}
