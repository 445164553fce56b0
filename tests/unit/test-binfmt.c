/* test-binfmt.c - pointing a qemu prefix at a mount and back
 * (include/xsysroot/binfmt.h), in a temporary directory standing for
 * /etc/qemu-binfmt: the previous state is a symlink, a directory, a file or
 * nothing; a second point is refused; a state left by a killed process is
 * recovered; a link changed behind our back is left alone. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/binfmt.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *root;
static char err[8192];

/* The target of symlink path, or "" when it is none. */
static const char *link_of(const char *path)
{
	static char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof buf - 1);
	buf[n < 0 ? 0 : n] = 0;
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void test_previous_symlink(const char *dir, const char *mnt)
{
	struct xs_binfmt b;
	char link[600];
	snprintf(link, sizeof link, "%s/aarch64", dir);
	CHECK_INT(symlink("/old/sysroot", link), 0, "symlink: a previous link");
	CHECK_INT(xs_binfmt_point(&b, dir, "aarch64", mnt, err, sizeof err), 0, "symlink: point");
	CHECK_STR(link_of(link), mnt, "symlink: the link points at the mount");
	char holder[PATH_MAX];
	CHECK_INT(xs_binfmt_holder(dir, "aarch64", holder, sizeof holder), 0,
		  "symlink: the prefix has a holder");
	CHECK_STR(holder, mnt, "symlink: the holder is the mount");
	struct xs_binfmt b2;
	CHECK_INT(xs_binfmt_point(&b2, dir, "aarch64", "/elsewhere", err, sizeof err), -EBUSY,
		  "symlink: a second point is refused");
	CHECK(strstr(err, "aarch64") != NULL, "symlink: the refusal names the prefix (%s)", err);
	CHECK_STR(link_of(link), mnt, "symlink: the refused point changed nothing");
	CHECK_INT(xs_binfmt_restore(&b, err, sizeof err), 0, "symlink: restore");
	CHECK_STR(link_of(link), "/old/sysroot", "symlink: the previous link is back");
	CHECK_INT(tl_count_entries(dir), 1, "symlink: no state file left");
	CHECK_INT(xs_binfmt_restore(&b, err, sizeof err), 0, "symlink: a second restore is a no-op");
	CHECK_STR(link_of(link), "/old/sysroot", "symlink: still the previous link");
	CHECK_INT(xs_binfmt_holder(dir, "aarch64", holder, sizeof holder), -ENOENT,
		  "symlink: no holder after restore");
	unlink(link);
}

static void test_previous_dir(const char *dir, const char *mnt)
{
	struct xs_binfmt b;
	char sub[600], file[700];
	snprintf(sub, sizeof sub, "%s/arm", dir);
	snprintf(file, sizeof file, "%s/arm/lib-marker", dir);
	CHECK_INT(mkdir(sub, 0755), 0, "dir: a previous directory");
	int fd = open(file, O_WRONLY | O_CREAT, 0644);
	close(fd);
	CHECK_INT(xs_binfmt_point(&b, dir, "arm", mnt, err, sizeof err), 0, "dir: point");
	CHECK_STR(link_of(sub), mnt, "dir: the name is now a link to the mount");
	CHECK_INT(xs_binfmt_restore(&b, err, sizeof err), 0, "dir: restore");
	struct stat st;
	CHECK(lstat(sub, &st) == 0 && S_ISDIR(st.st_mode) && exists(file),
	      "dir: the directory is back with its content");
	CHECK_INT(tl_count_entries(dir), 1, "dir: no state file left");
	xs_rm_rf(sub);
}

static void test_previous_file(const char *dir, const char *mnt)
{
	struct xs_binfmt b;
	char f[600];
	snprintf(f, sizeof f, "%s/s390x", dir);
	int fd = open(f, O_WRONLY | O_CREAT, 0600);
	close(fd);
	CHECK_INT(xs_binfmt_point(&b, dir, "s390x", mnt, err, sizeof err), 0, "file: point");
	CHECK_INT(xs_binfmt_restore(&b, err, sizeof err), 0, "file: restore");
	struct stat st;
	CHECK(lstat(f, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600,
	      "file: the file is back");
	unlink(f);
}

static void test_nothing_before(const char *mnt)
{
	/* the directory itself is missing: made, then removed */
	char parent[600], dir[700], link[800];
	snprintf(parent, sizeof parent, "%s/none", root);
	snprintf(dir, sizeof dir, "%s/qemu-binfmt", parent);
	snprintf(link, sizeof link, "%s/aarch64", dir);
	CHECK_INT(mkdir(parent, 0755), 0, "none: parent");
	struct xs_binfmt b;
	CHECK_INT(xs_binfmt_point(&b, dir, "aarch64", mnt, err, sizeof err), 0, "none: point");
	CHECK(b.made_dir, "none: the directory was made");
	CHECK_STR(link_of(link), mnt, "none: the link points at the mount");
	CHECK_INT(xs_binfmt_restore(&b, err, sizeof err), 0, "none: restore");
	CHECK(!exists(dir), "none: the directory made is removed again");

	/* a directory that exists stays */
	CHECK_INT(mkdir(dir, 0755), 0, "none: directory");
	CHECK_INT(xs_binfmt_point(&b, dir, "aarch64", mnt, err, sizeof err), 0, "none: point again");
	CHECK(!b.made_dir, "none: an existing directory is not made");
	CHECK_INT(xs_binfmt_restore(&b, err, sizeof err), 0, "none: restore again");
	CHECK(exists(dir) && tl_count_entries(dir) == 0, "none: the existing directory stays, empty");
}

static void test_recover(const char *dir, const char *mnt)
{
	/* a point whose process died: its state files stay behind */
	struct xs_binfmt b;
	char link[600];
	snprintf(link, sizeof link, "%s/riscv64", dir);
	CHECK_INT(symlink("/prev", link), 0, "recover: a previous link");
	CHECK_INT(xs_binfmt_point(&b, dir, "riscv64", mnt, err, sizeof err), 0, "recover: point");
	/* (b is forgotten: the process is gone) */
	CHECK_INT(xs_binfmt_recover(dir, "riscv64", err, sizeof err), 0, "recover: recover");
	CHECK_STR(link_of(link), "/prev", "recover: the previous link is back");
	CHECK_INT(xs_binfmt_recover(dir, "riscv64", err, sizeof err), -ENOENT,
		  "recover: nothing left to recover");
	unlink(link);

	CHECK_INT(xs_binfmt_point(&b, dir, "riscv64", mnt, err, sizeof err), 0,
		  "recover: point with nothing before");
	CHECK_INT(xs_binfmt_recover(dir, "riscv64", err, sizeof err), 0,
		  "recover: recover to nothing");
	CHECK(!exists(link) && tl_count_entries(dir) == 0, "recover: nothing is left");
}

static void test_changed_behind(const char *dir, const char *mnt)
{
	struct xs_binfmt b;
	char link[600];
	snprintf(link, sizeof link, "%s/ppc64le", dir);
	CHECK_INT(xs_binfmt_point(&b, dir, "ppc64le", mnt, err, sizeof err), 0, "changed: point");
	unlink(link);
	CHECK_INT(symlink("/someone/else", link), 0, "changed: someone else points it");
	CHECK_INT(xs_binfmt_restore(&b, err, sizeof err), -ESTALE,
		  "changed: restore refuses to touch it");
	CHECK(strstr(err, "no longer points") != NULL, "changed: says why (%s)", err);
	CHECK_STR(link_of(link), "/someone/else", "changed: their link stays");
	CHECK_INT(xs_binfmt_recover(dir, "ppc64le", err, sizeof err), 0, "changed: clean up");
}

static void test_bad_args(const char *dir)
{
	struct xs_binfmt b;
	CHECK_INT(xs_binfmt_point(&b, dir, "a/b", "/m", err, sizeof err), -EINVAL,
		  "bad: a name with a slash");
	CHECK_INT(xs_binfmt_point(&b, dir, "", "/m", err, sizeof err), -EINVAL, "bad: empty name");
	CHECK_INT(xs_binfmt_point(&b, dir, "aarch64", "rel/m", err, sizeof err), -EINVAL,
		  "bad: a relative target");
	char f[600];
	snprintf(f, sizeof f, "%s/plainfile", root);
	int fd = open(f, O_WRONLY | O_CREAT, 0644);
	close(fd);
	CHECK_INT(xs_binfmt_point(&b, f, "aarch64", "/m", err, sizeof err), -ENOTDIR,
		  "bad: the prefix directory is a file");
	CHECK(!b.active, "bad: nothing active after a failure");
}

/* The register line of run --strict's handler: the magic and mask of
 * Debian's qemu-user-static handlers, for a little- and a big-endian
 * machine, and the refusals. */
static void test_register_line(void)
{
	const struct xs_arch *arm64 = xs_arch_lookup("arm64"), *s390x = xs_arch_lookup("s390x");
	char line[512];
	CHECK_INT(xs_binfmt_register_line(arm64, "xsysroot-aarch64", "/usr/bin/qemu-aarch64-static",
					  "OF", line, sizeof line), 0, "line: arm64");
	CHECK_STR(line, ":xsysroot-aarch64:M::"
		  "\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00"
		  "\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:"
		  "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff"
		  "\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:"
		  "/usr/bin/qemu-aarch64-static:OF", "line: arm64 matches Debian's qemu-aarch64");
	unsigned char magic[XS_BINFMT_MAGIC_LEN], mask[XS_BINFMT_MAGIC_LEN];
	xs_binfmt_magic(s390x, magic, mask);
	static const unsigned char want_magic[XS_BINFMT_MAGIC_LEN] = {
		0x7f, 'E', 'L', 'F', 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x16,
	};
	static const unsigned char want_mask[XS_BINFMT_MAGIC_LEN] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,	0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff,
	};
	CHECK(!memcmp(magic, want_magic, sizeof magic), "magic: s390x (big endian, e_type "
	      "and e_machine in its byte order)");
	CHECK(!memcmp(mask, want_mask, sizeof mask), "mask: s390x masks one bit of e_type");
	size_t need = strlen(line) + 1;
	CHECK_INT(xs_binfmt_register_line(arm64, "xsysroot-aarch64", "/usr/bin/qemu-aarch64-static",
					  "OF", line, need), 0, "line: fits exactly");
	CHECK_INT(xs_binfmt_register_line(arm64, "xsysroot-aarch64", "/usr/bin/qemu-aarch64-static",
					  "OF", line, need - 1), -ENAMETOOLONG,
		  "line: one byte short -> -ENAMETOOLONG");
	CHECK_STR(line, "", "line: nothing left half written");
	CHECK_INT(xs_binfmt_register_line(arm64, "a:b", "/q", "F", line, sizeof line), -EINVAL,
		  "line: a name with ':'");
	CHECK_INT(xs_binfmt_register_line(arm64, "a/b", "/q", "F", line, sizeof line), -EINVAL,
		  "line: a name with '/'");
	CHECK_INT(xs_binfmt_register_line(arm64, "..", "/q", "F", line, sizeof line), -EINVAL,
		  "line: the name ..");
	CHECK_INT(xs_binfmt_register_line(arm64, "x", "/q:r", "F", line, sizeof line), -EINVAL,
		  "line: an interpreter with ':'");
	CHECK_INT(xs_binfmt_register_line(arm64, "x", "", "F", line, sizeof line), -EINVAL,
		  "line: no interpreter");
}

int main(void)
{
	root = tl_root();
	char d[600], m[600];
	snprintf(d, sizeof d, "%s/qemu-binfmt", root);
	snprintf(m, sizeof m, "%s/mnt", root);
	mkdir(d, 0755);
	mkdir(m, 0755);
	test_previous_symlink(d, m);
	test_previous_dir(d, m);
	test_previous_file(d, m);
	test_nothing_before(m);
	test_recover(d, m);
	test_changed_behind(d, m);
	test_bad_args(d);
	test_register_line();
	CHECK_INT(xs_rm_rf(root), 0, "temporary root removed");
	return tap_done();
}
