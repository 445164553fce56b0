/* test-util.c - bounded buffers, files, directories, SHA-256, path
 * normalisation and size formatting (include/xsysroot/util.h). */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_448 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define SHA_MILLION_A "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

static const char *root;

static int write_plain(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int r = xs_write_all(fd, p, n);
	close(fd);
	return r;
}

static void test_buf(void)
{
	struct xs_buf b;
	xs_buf_init(&b, 10);
	CHECK(b.data == NULL && b.len == 0, "init: empty");
	CHECK_INT(xs_buf_append(&b, "hello", 5), 0, "append within max");
	CHECK_INT(b.len, 5, "len counts the bytes");
	CHECK_INT(b.data[5], 0, "NUL terminated after append");
	CHECK_STR(b.data, "hello", "content");
	CHECK_INT(xs_buf_append(&b, "world", 5), 0, "append exactly to max");
	CHECK_INT(b.len, 10, "len at max");
	CHECK_STR(b.data, "helloworld", "content at max");
	CHECK_INT(xs_buf_append(&b, "!", 1), -E2BIG, "one byte past max: -E2BIG");
	CHECK_INT(b.len, 10, "failed append leaves len");
	CHECK_STR(b.data, "helloworld", "failed append leaves content");
	CHECK_INT(xs_buf_append(&b, "", 0), 0, "empty append at max is fine");
	CHECK_INT(xs_buf_append(&b, "x", SIZE_MAX), -E2BIG, "huge append: -E2BIG, no overflow");
	xs_buf_free(&b);
	CHECK(b.data == NULL && b.len == 0, "free resets");

	/* embedded NULs are data */
	xs_buf_init(&b, 100);
	CHECK_INT(xs_buf_append(&b, "a\0b", 3), 0, "append with NUL inside");
	CHECK(b.len == 3 && memcmp(b.data, "a\0b", 4) == 0, "binary content plus terminator");
	xs_buf_free(&b);

	/* printf */
	xs_buf_init(&b, 16);
	CHECK_INT(xs_buf_printf(&b, "%s-%d", "abc", 42), 0, "printf");
	CHECK_STR(b.data, "abc-42", "printf content");
	CHECK_INT(xs_buf_printf(&b, "/%x", 255), 0, "printf appends");
	CHECK_STR(b.data, "abc-42/ff", "printf appended content");
	CHECK_INT(b.len, 9, "printf len");
	CHECK_INT(xs_buf_printf(&b, "%s", "1234567"), 0, "printf exactly to max");
	CHECK_INT(b.len, 16, "printf len at max");
	CHECK_INT(xs_buf_printf(&b, "%c", 'z'), -E2BIG, "printf past max: -E2BIG");
	CHECK_STR(b.data, "abc-42/ff1234567", "failed printf leaves content");
	CHECK_INT(xs_buf_printf(&b, "%s", ""), 0, "empty printf at max");
	xs_buf_free(&b);

	/* growth across many reallocations keeps content and termination */
	xs_buf_init(&b, 1 << 20);
	int ok = 1;
	for (int i = 0; i < 10000 && ok; i++)
		ok = xs_buf_printf(&b, "%04d", i % 10000) == 0;
	CHECK(ok, "10000 printfs");
	CHECK_INT(b.len, 40000, "grown len");
	CHECK(memcmp(b.data, "000000010002", 12) == 0 && memcmp(b.data + 39996, "9999", 4) == 0 &&
		      b.data[40000] == 0,
	      "grown content and terminator");
	CHECK(b.cap > b.len, "cap holds the terminator");

	/* steal */
	size_t len = 0;
	char *s = xs_buf_steal(&b, &len);
	CHECK(s != NULL && len == 40000 && s[40000] == 0, "steal hands over data and len");
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0, "steal resets the buffer");
	free(s);
	CHECK_INT(xs_buf_append(&b, "again", 5), 0, "buffer usable after steal");
	CHECK_STR(b.data, "again", "content after steal");
	CHECK_INT(b.max, 1 << 20, "steal keeps max");
	xs_buf_free(&b);

	xs_buf_init(&b, 0);
	len = 99;
	s = xs_buf_steal(&b, &len);
	CHECK(s != NULL && s[0] == 0 && len == 0, "steal of an empty buffer gives \"\"");
	free(s);
	CHECK_INT(xs_buf_append(&b, "a", 1), -E2BIG, "max 0 refuses any byte");
	xs_buf_free(&b);
	s = xs_buf_steal(&b, NULL);
	CHECK(s != NULL && *s == 0, "steal with NULL len");
	free(s);
}

static void test_read(void)
{
	struct xs_buf b;
	CHECK_INT(write_plain(tl_path("ten"), "0123456789", 10), 0, "fixture written");
	CHECK_INT(xs_read_file(tl_path("ten"), 10, &b), 0, "read a file of exactly max bytes");
	CHECK(b.len == 10 && strcmp(b.data, "0123456789") == 0, "content, NUL terminated");
	xs_buf_free(&b);
	CHECK_INT(xs_read_file(tl_path("ten"), 9, &b), -E2BIG, "file larger than max: -E2BIG");
	CHECK(b.data == NULL && b.len == 0, "buffer empty after -E2BIG");
	xs_buf_free(&b);
	CHECK_INT(xs_read_file(tl_path("missing"), 100, &b), -ENOENT, "missing file: -ENOENT");
	CHECK(b.data == NULL && b.len == 0, "buffer initialised on -ENOENT");
	xs_buf_free(&b); /* safe: initialised */
	CHECK_INT(xs_read_file(root, 100, &b), -EISDIR, "directory: -EISDIR");
	xs_buf_free(&b);

	CHECK_INT(write_plain(tl_path("empty"), "", 0), 0, "empty fixture");
	CHECK_INT(xs_read_file(tl_path("empty"), 0, &b), 0, "empty file with max 0");
	CHECK(b.data != NULL && b.len == 0 && b.data[0] == 0, "empty file gives \"\"");
	xs_buf_free(&b);

	/* larger than the internal chunk */
	size_t big = 200000;
	char *data = xs_xmalloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	CHECK_INT(write_plain(tl_path("big"), data, big), 0, "big fixture");
	int fd = open(tl_path("big"), O_RDONLY);
	CHECK(fd >= 0, "open big");
	CHECK_INT(xs_read_fd(fd, big, &b), 0, "read_fd of a multi-chunk file");
	CHECK(b.len == big && memcmp(b.data, data, big) == 0 && b.data[big] == 0,
	      "multi-chunk content");
	xs_buf_free(&b);
	CHECK_INT(lseek(fd, 100, SEEK_SET), 100, "seek");
	CHECK_INT(xs_read_fd(fd, big, &b), 0, "read_fd from the current position");
	CHECK(b.len == big - 100 && memcmp(b.data, data + 100, big - 100) == 0,
	      "read_fd reads from the position on");
	xs_buf_free(&b);
	CHECK_INT(lseek(fd, 0, SEEK_SET), 0, "rewind");
	CHECK_INT(xs_read_fd(fd, big - 1, &b), -E2BIG, "read_fd: one byte too many -> -E2BIG");
	CHECK(b.data == NULL, "buffer freed after -E2BIG");
	close(fd);
	CHECK_INT(xs_read_fd(-1, 10, &b), -EBADF, "bad fd: -EBADF");
	free(data);
}

static void test_write_atomic(void)
{
	mode_t old = umask(022);
	const char *p = tl_path("atomic.conf");
	CHECK_INT(xs_write_file_atomic(p, "first\n", 6, 0640), 0, "atomic write");
	struct xs_buf b;
	CHECK_INT(xs_read_file(p, 100, &b), 0, "read back");
	CHECK_STR(b.data, "first\n", "content");
	xs_buf_free(&b);
	struct stat st;
	CHECK_INT(stat(p, &st), 0, "stat");
	CHECK_INT(st.st_mode & 07777, 0640, "mode 0640");
	CHECK(S_ISREG(st.st_mode), "regular file");

	struct stat st1 = st;
	CHECK_INT(xs_write_file_atomic(p, "second, longer\n", 15, 0600), 0, "replace");
	CHECK_INT(xs_read_file(p, 100, &b), 0, "read back replacement");
	CHECK_STR(b.data, "second, longer\n", "replaced content");
	xs_buf_free(&b);
	CHECK_INT(stat(p, &st), 0, "stat replacement");
	CHECK_INT(st.st_mode & 07777, 0600, "mode 0600 of the replacement");
	CHECK(st.st_ino != st1.st_ino, "replaced by rename (a new inode)");

	CHECK_INT(xs_write_file_atomic(p, "", 0, 0644), 0, "empty content");
	CHECK_INT(stat(p, &st), 0, "stat empty");
	CHECK_INT(st.st_size, 0, "empty file");

	CHECK_INT(tl_count_entries(root), 1 + 3 /* ten empty big */, "no temp file left behind");

	CHECK_INT(mkdir(tl_path("ro"), 0755), 0, "dir fixture");
	CHECK_INT(xs_write_file_atomic(tl_path("ro/missing/x"), "x", 1, 0644), -ENOENT,
		  "missing directory: -ENOENT");
	CHECK_INT(tl_count_entries(tl_path("ro")), 0, "nothing created on failure");
	/* the target is a directory: rename fails, the temp file is removed */
	CHECK_INT(mkdir(tl_path("ro/isdir"), 0755), 0, "dir in the way");
	int r = xs_write_file_atomic(tl_path("ro/isdir"), "x", 1, 0644);
	CHECK(r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST, "directory in the way fails (%d)", r);
	CHECK_INT(tl_count_entries(tl_path("ro")), 1, "temp file removed after a failed rename");
	umask(old);
}

static int is_dir(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_mkdir_rm(void)
{
	CHECK_INT(xs_mkdir_p(tl_path("m/a/b/c"), 0755), 0, "mkdir -p nested");
	CHECK(is_dir(tl_path("m/a")) && is_dir(tl_path("m/a/b")) && is_dir(tl_path("m/a/b/c")),
	      "all levels exist");
	CHECK_INT(xs_mkdir_p(tl_path("m/a/b/c"), 0755), 0, "existing: fine");
	CHECK_INT(xs_mkdir_p(tl_path("m/a/b"), 0755), 0, "existing prefix: fine");
	CHECK_INT(xs_mkdir_p(tl_path("m/a/x/"), 0755), 0, "trailing slash");
	CHECK(is_dir(tl_path("m/a/x")), "trailing slash created");
	CHECK_INT(xs_mkdir_p(tl_path("m//a//y"), 0755), 0, "doubled slashes");
	CHECK(is_dir(tl_path("m/a/y")), "doubled slashes created");
	CHECK_INT(xs_mkdir_p("/", 0755), 0, "\"/\" exists");
	CHECK_INT(xs_mkdir_p("", 0755), -EINVAL, "empty path: -EINVAL");

	CHECK_INT(write_plain(tl_path("m/file"), "f", 1), 0, "file fixture");
	CHECK_INT(xs_mkdir_p(tl_path("m/file"), 0755), -ENOTDIR, "a file at the path: -ENOTDIR");
	CHECK_INT(xs_mkdir_p(tl_path("m/file/sub/deeper"), 0755), -ENOTDIR,
		  "a file in the way: -ENOTDIR");
	CHECK_INT(symlink("file", tl_path("m/lnk")), 0, "symlink fixture");
	CHECK_INT(xs_mkdir_p(tl_path("m/lnk"), 0755), -ENOTDIR, "symlink to a file: -ENOTDIR");

	char longp[XS_MAX_PATH + 2];
	memset(longp, 'a', sizeof longp - 1);
	longp[sizeof longp - 1] = 0;
	CHECK_INT(xs_mkdir_p(longp, 0755), -EINVAL, "path longer than XS_MAX_PATH: -EINVAL");

	/* rm -rf does not follow symlinks */
	CHECK_INT(xs_mkdir_p(tl_path("sentinel/inner"), 0755), 0, "sentinel dir");
	CHECK_INT(write_plain(tl_path("sentinel/keep"), "k", 1), 0, "sentinel file");
	CHECK_INT(write_plain(tl_path("sentinel/inner/keep2"), "k", 1), 0, "sentinel nested file");
	CHECK_INT(xs_mkdir_p(tl_path("victim/d1/d2"), 0755), 0, "victim tree");
	CHECK_INT(write_plain(tl_path("victim/d1/d2/f"), "f", 1), 0, "victim file");
	CHECK_INT(write_plain(tl_path("victim/f"), "f", 1), 0, "victim top file");
	char target[512];
	snprintf(target, sizeof target, "%s", tl_path("sentinel"));
	CHECK_INT(symlink(target, tl_path("victim/d1/to-sentinel")), 0, "absolute symlink to sentinel");
	CHECK_INT(symlink("../../sentinel", tl_path("victim/d1/rel-sentinel")), 0,
		  "relative symlink to sentinel");
	CHECK_INT(symlink("/nonexistent/dangling", tl_path("victim/dangling")), 0, "dangling symlink");
	CHECK_INT(mkfifo(tl_path("victim/fifo"), 0644), 0, "fifo");
	CHECK_INT(xs_rm_rf(tl_path("victim")), 0, "rm -rf");
	struct stat st;
	CHECK(lstat(tl_path("victim"), &st) < 0 && errno == ENOENT, "tree removed");
	CHECK(is_dir(tl_path("sentinel")) && is_dir(tl_path("sentinel/inner")), "sentinel dirs survive");
	CHECK(lstat(tl_path("sentinel/keep"), &st) == 0 &&
		      lstat(tl_path("sentinel/inner/keep2"), &st) == 0,
	      "sentinel files survive");

	/* the path itself a symlink to a directory: the link goes, not the target */
	CHECK_INT(symlink(target, tl_path("top-link")), 0, "top-level symlink to sentinel");
	CHECK_INT(xs_rm_rf(tl_path("top-link")), 0, "rm -rf of a symlink");
	CHECK(lstat(tl_path("top-link"), &st) < 0, "symlink removed");
	CHECK(lstat(tl_path("sentinel/keep"), &st) == 0, "its target survives");

	CHECK_INT(xs_rm_rf(tl_path("does-not-exist")), 0, "missing path: 0");
	CHECK_INT(xs_rm_rf(tl_path("m/file")), 0, "plain file removed");
	CHECK(lstat(tl_path("m/file"), &st) < 0, "file gone");
	CHECK_INT(xs_rm_rf(tl_path("m")), 0, "rm -rf m");
	CHECK_INT(xs_rm_rf(tl_path("sentinel")), 0, "rm -rf sentinel");
}

static void test_sha256(void)
{
	char hex[65];
	CHECK_INT(xs_sha256_buf("", 0, hex), 0, "sha256(\"\")");
	CHECK_STR(hex, SHA_EMPTY, "sha256 of the empty string");
	CHECK_INT(xs_sha256_buf("abc", 3, hex), 0, "sha256(\"abc\")");
	CHECK_STR(hex, SHA_ABC, "sha256 of abc");
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	CHECK_INT(xs_sha256_buf(m448, strlen(m448), hex), 0, "sha256 of the 448-bit message");
	CHECK_STR(hex, SHA_448, "FIPS 180 448-bit vector");

	struct xs_sha256 h;
	CHECK_INT(xs_sha256_init(&h), 0, "streaming init");
	for (const char *c = m448; *c; c++)
		xs_sha256_update(&h, c, 1);
	CHECK_INT(xs_sha256_final(&h, hex), 0, "streaming final");
	CHECK_STR(hex, SHA_448, "byte-by-byte streaming equals one shot");
	CHECK(h.ctx == NULL, "final frees the context");
	xs_sha256_free(&h); /* idempotent */
	CHECK_INT(xs_sha256_init(&h), 0, "init then free");
	xs_sha256_update(&h, "x", 1);
	xs_sha256_free(&h);
	CHECK(h.ctx == NULL, "free clears ctx");

	/* fd: one million 'a' (several pread chunks), from offset 0 */
	size_t n = 1000000;
	char *a = xs_xmalloc(n);
	memset(a, 'a', n);
	CHECK_INT(write_plain(tl_path("million"), a, n), 0, "fixture");
	free(a);
	int fd = open(tl_path("million"), O_RDONLY);
	CHECK_INT(lseek(fd, 12345, SEEK_SET), 12345, "fd position moved");
	uint64_t size = 0;
	CHECK_INT(xs_sha256_fd(fd, hex, &size), 0, "sha256_fd");
	CHECK_STR(hex, SHA_MILLION_A, "one million 'a'");
	CHECK_INT(size, n, "size reported");
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 12345, "fd position untouched (pread)");
	CHECK_INT(xs_sha256_fd(fd, hex, NULL), 0, "size may be NULL");
	close(fd);
	CHECK_INT(write_plain(tl_path("abc"), "abc", 3), 0, "abc fixture");
	fd = open(tl_path("abc"), O_RDONLY);
	CHECK_INT(xs_sha256_fd(fd, hex, &size), 0, "sha256_fd abc");
	CHECK_STR(hex, SHA_ABC, "file abc");
	CHECK_INT(size, 3, "size 3");
	close(fd);
	CHECK_INT(xs_sha256_fd(-1, hex, &size), -EBADF, "bad fd: -EBADF");
	unlink(tl_path("million"));
	unlink(tl_path("abc"));

	CHECK(xs_is_sha256_hex(SHA_EMPTY), "valid digest");
	CHECK(xs_is_sha256_hex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
	      "all digits");
	CHECK(!xs_is_sha256_hex(""), "empty: no");
	CHECK(!xs_is_sha256_hex("abc"), "short: no");
	CHECK(!xs_is_sha256_hex(SHA_EMPTY "0"), "65 digits: no");
	CHECK(!xs_is_sha256_hex("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"),
	      "upper case: no");
	CHECK(!xs_is_sha256_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g"),
	      "non-hex last digit: no");
	CHECK(!xs_is_sha256_hex(" 3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	      "space: no");
	char sixtythree[64];
	memcpy(sixtythree, SHA_EMPTY, 63);
	sixtythree[63] = 0;
	CHECK(!xs_is_sha256_hex(sixtythree), "63 digits: no");
}

/* Normalise in with an XS_MAX_PATH + 1 buffer; returns the result or an
 * error string "E<errno>". */
static const char *norm(const char *in)
{
	static char out[XS_MAX_PATH + 1];
	static char err[16];
	int r = xs_path_normalize(in, out, sizeof out);
	if (r < 0) {
		snprintf(err, sizeof err, "E%d", -r);
		return err;
	}
	return out;
}

static void test_normalize(void)
{
	char einval[16];
	snprintf(einval, sizeof einval, "E%d", EINVAL);

	CHECK_STR(norm("./usr//bin/"), "usr/bin", "./usr//bin/");
	CHECK_STR(norm("/abs"), "abs", "/abs");
	CHECK_STR(norm("/usr/lib/x86_64-linux-gnu/libc.so.6"), "usr/lib/x86_64-linux-gnu/libc.so.6",
		  "absolute path");
	CHECK_STR(norm("a/./b/../c"), "a/c", "a/./b/../c");
	CHECK_STR(norm("a/b/c/../../d"), "a/d", "two levels up");
	CHECK_STR(norm("a/.."), "", "a/.. is the root");
	CHECK_STR(norm("a/../b"), "b", "a/../b");
	CHECK_STR(norm("abc/../de/./f/.."), "de", "mixed");
	CHECK_STR(norm("."), "", "\".\" is the root");
	CHECK_STR(norm("/"), "", "\"/\" is the root");
	CHECK_STR(norm(""), "", "\"\" is the root");
	CHECK_STR(norm("./"), "", "\"./\" is the root");
	CHECK_STR(norm("///"), "", "\"///\" is the root");
	CHECK_STR(norm("./././."), "", "dots only");
	CHECK_STR(norm("usr"), "usr", "single component");
	CHECK_STR(norm("usr/"), "usr", "trailing slash");
	CHECK_STR(norm("...") , "...", "\"...\" is a name");
	CHECK_STR(norm("a/..b/.c/c."), "a/..b/.c/c.", "names with dots");
	CHECK_STR(norm("a\\b"), "a\\b", "backslash is a name byte");
	CHECK_STR(norm("a b/ c "), "a b/ c ", "spaces kept");

	CHECK_STR(norm(".."), einval, "\"..\" -> -EINVAL");
	CHECK_STR(norm("/.."), einval, "\"/..\" -> -EINVAL");
	CHECK_STR(norm("../etc/passwd"), einval, "leading .. -> -EINVAL");
	CHECK_STR(norm("a/../../b"), einval, "a/../../b -> -EINVAL");
	CHECK_STR(norm("./a/b/../../.."), einval, "climbing above the root at the end");
	CHECK_STR(norm("a/b/../../../etc"), einval, "climbing above the root in the middle");

	/* XS_MAX_PATH: exactly at and one over */
	char *in = xs_xmalloc(2 * XS_MAX_PATH + 16);
	memset(in, 'x', XS_MAX_PATH);
	in[XS_MAX_PATH] = 0;
	const char *r = norm(in);
	CHECK(strlen(r) == XS_MAX_PATH && r[0] == 'x', "one component of XS_MAX_PATH bytes");
	in[XS_MAX_PATH] = 'x';
	in[XS_MAX_PATH + 1] = 0;
	CHECK_STR(norm(in), einval, "XS_MAX_PATH + 1 bytes -> -EINVAL");
	/* with separators: "a/" * (XS_MAX_PATH / 2) minus the last slash is 4095 bytes */
	size_t o = 0;
	while (o + 2 <= XS_MAX_PATH - 2) {
		in[o++] = 'b';
		in[o++] = '/';
	}
	/* o == XS_MAX_PATH - 2 here: add "cd" for exactly XS_MAX_PATH */
	memcpy(in + o, "cd", 3);
	CHECK_INT(strlen(in), XS_MAX_PATH, "fixture of XS_MAX_PATH bytes");
	/* too deep anyway (2047 components), so check the length rule on a shallow path */
	CHECK_STR(norm(in), einval, "2047 components -> -EINVAL (depth)");
	/* shallow: 8 components of 511 bytes + 7 slashes = 4095, then one more byte */
	o = 0;
	for (int i = 0; i < 8; i++) {
		if (i)
			in[o++] = '/';
		memset(in + o, 'a' + i, 511);
		o += 511;
	}
	in[o] = 0;
	CHECK_INT(o, XS_MAX_PATH - 1, "fixture of XS_MAX_PATH - 1 bytes");
	CHECK_INT(strlen(norm(in)), XS_MAX_PATH - 1, "XS_MAX_PATH - 1 bytes with separators");
	in[o] = 'z';
	in[o + 1] = 0;
	CHECK_INT(strlen(norm(in)), XS_MAX_PATH, "exactly XS_MAX_PATH bytes with separators");
	in[o + 1] = 'z';
	in[o + 2] = 0;
	CHECK_STR(norm(in), einval, "XS_MAX_PATH + 1 bytes with separators -> -EINVAL");
	{
		/* the limit holds with a larger output buffer too */
		char *big = xs_xmalloc(XS_MAX_PATH + 100);
		CHECK_INT(xs_path_normalize(in, big, XS_MAX_PATH + 100), -EINVAL,
			  "XS_MAX_PATH + 1 bytes into a larger buffer -> -EINVAL");
		in[o + 1] = 0;
		CHECK_INT(xs_path_normalize(in, big, XS_MAX_PATH + 100), 0,
			  "XS_MAX_PATH bytes into a larger buffer");
		free(big);
	}
	/* the limit is on the normalised form: redundant input is fine */
	o = 0;
	memcpy(in + o, "./", 2), o += 2;
	for (int i = 0; i < 100; i++)
		memcpy(in + o, "//./", 4), o += 4;
	memset(in + o, 'q', XS_MAX_PATH);
	o += XS_MAX_PATH;
	memcpy(in + o, "/./", 4);
	CHECK(strlen(in) > XS_MAX_PATH, "input longer than XS_MAX_PATH");
	CHECK_INT(strlen(norm(in)), XS_MAX_PATH, "normalised form of exactly XS_MAX_PATH bytes");

	/* XS_MAX_DEPTH: exactly at and one over */
	o = 0;
	for (int i = 0; i < XS_MAX_DEPTH; i++) {
		if (i)
			in[o++] = '/';
		in[o++] = 'd';
	}
	in[o] = 0;
	r = norm(in);
	CHECK_INT(strlen(r), 2 * XS_MAX_DEPTH - 1, "XS_MAX_DEPTH components accepted");
	memcpy(in + o, "/e", 3);
	CHECK_STR(norm(in), einval, "XS_MAX_DEPTH + 1 components -> -EINVAL");
	memcpy(in + o, "/.", 3);
	CHECK_INT(strlen(norm(in)), 2 * XS_MAX_DEPTH - 1, "a trailing \".\" adds no depth");
	memcpy(in + o, "/..", 4);
	CHECK_INT(strlen(norm(in)), 2 * XS_MAX_DEPTH - 3, "a trailing \"..\" removes one");
	memcpy(in + o, "/../e", 6);
	CHECK_INT(strlen(norm(in)), 2 * XS_MAX_DEPTH - 1, "\"..\" frees a level for another");
	free(in);

	/* small output buffers */
	char small[8];
	memset(small, '#', sizeof small);
	CHECK_INT(xs_path_normalize("abc", small, 4), 0, "fits exactly (3 + NUL)");
	CHECK_STR(small, "abc", "small result");
	CHECK_INT(xs_path_normalize("abcd", small, 4), -EINVAL, "one byte short: -EINVAL");
	CHECK_INT(xs_path_normalize("a/b", small, 3), -EINVAL, "separator counts");
	CHECK_INT(xs_path_normalize("a/b", small, 4), 0, "a/b in 4 bytes");
	CHECK_STR(small, "a/b", "a/b");
	CHECK_INT(xs_path_normalize("/", small, 1), 0, "the root fits in 1 byte");
	CHECK_STR(small, "", "root");
	CHECK_INT(xs_path_normalize("a", small, 1), -EINVAL, "\"a\" does not fit in 1 byte");
	CHECK_INT(xs_path_normalize("", small, 0), -EINVAL, "outsz 0: -EINVAL");
	/* never a byte past outsz, whatever the outcome */
	memset(small, '#', sizeof small);
	CHECK_INT(xs_path_normalize("abcdef/ghijkl", small, 4), -EINVAL, "too long for outsz");
	CHECK(small[4] == '#' && small[7] == '#', "nothing written past outsz");
	memset(small, '#', sizeof small);
	int q = xs_path_normalize("longer/x/..", small, 7);
	CHECK(q == -EINVAL || (q == 0 && strcmp(small, "longer") == 0),
	      "an intermediate longer than outsz: -EINVAL or the result (%d)", q);
	CHECK(small[7] == '#', "nothing written past outsz");
}

static void test_fmt_size(void)
{
	char out[32];
	CHECK_STR(xs_fmt_size(0, out, sizeof out), "0 B", "0");
	CHECK_STR(xs_fmt_size(1, out, sizeof out), "1 B", "1");
	CHECK_STR(xs_fmt_size(999, out, sizeof out), "999 B", "999");
	CHECK_STR(xs_fmt_size(1000, out, sizeof out), "1.0 kB", "1000");
	CHECK_STR(xs_fmt_size(1500, out, sizeof out), "1.5 kB", "1500");
	CHECK_STR(xs_fmt_size(999000, out, sizeof out), "999.0 kB", "999000");
	CHECK_STR(xs_fmt_size(1000000, out, sizeof out), "1.0 MB", "1e6");
	CHECK_STR(xs_fmt_size(2300000, out, sizeof out), "2.3 MB", "2.3 MB (the header's example)");
	CHECK_STR(xs_fmt_size(1000000000ull, out, sizeof out), "1.00 GB", "1e9");
	CHECK_STR(xs_fmt_size(123456789012ull, out, sizeof out), "123.46 GB", "123 GB");
	CHECK(xs_fmt_size(5, out, sizeof out) == out, "returns the caller's buffer");
	char tiny[4];
	CHECK_STR(xs_fmt_size(123456, tiny, sizeof tiny), "123", "truncated into a small buffer");
}

static void test_parse_size(void)
{
	static const struct {
		const char *in;
		int r;
		uint64_t want;
	} cases[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "1K", 0, 1024 },
		{ "1k", 0, 1024 },
		{ "500M", 0, 500ull << 20 },
		{ "2G", 0, 2ull << 30 },
		{ "2GB", 0, 2ull << 30 },
		{ "2GiB", 0, 2ull << 30 },
		{ "3T", 0, 3ull << 40 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "16777216T", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "M", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 },
		{ "1 G", -EINVAL, 0 },
		{ "1X", -EINVAL, 0 },
		{ "1GG", -EINVAL, 0 },
		{ "1Gx", -EINVAL, 0 },
		{ "100B", 0, 100 },
		{ "1BB", -EINVAL, 0 },
		{ "1iB", -EINVAL, 0 },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(cases); i++) {
		uint64_t v = 12345;
		int r = xs_parse_size(cases[i].in, &v);
		CHECK_INT(r, cases[i].r, "xs_parse_size('%s') result", cases[i].in);
		if (cases[i].r == 0)
			CHECK(v == cases[i].want, "xs_parse_size('%s') value", cases[i].in);
		else
			CHECK(v == 12345, "xs_parse_size('%s') leaves the output alone", cases[i].in);
	}
}

int main(void)
{
	root = tl_root();
	test_buf();
	test_read();
	test_write_atomic();
	test_mkdir_rm();
	test_sha256();
	test_normalize();
	test_fmt_size();
	test_parse_size();
	CHECK_INT(xs_rm_rf(root), 0, "temporary root removed");
	struct stat st;
	CHECK(stat(root, &st) < 0 && errno == ENOENT, "temporary root gone");
	return tap_done();
}
