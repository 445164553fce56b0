/* test-identity.c - the mount identity (include/xsysroot/identity.h): the
 * view digest's definition (an independent computation of the documented
 * byte string), its order independence and sensitivity, the fsname round
 * trip and the status-text parser. */
#include "tap.h"
#include "xsysroot/identity.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const A = "0000000000000000000000000000000000000000000000000000000000000001";
static const char *const B = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
static const char *const C = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

static void digest_of(const char *const *hex, size_t n, char out[65])
{
	out[0] = 0;
	int q = xs_id_view_digest(hex, n, out);
	CHECK_INT(q, 0, "digest of %zu digests", n);
}

static void test_definition(void)
{
	/* the documented byte string, hashed here by the plain SHA-256 */
	char want[65], got[65];
	const char *s = "0000000000000000000000000000000000000000000000000000000000000001\n"
			"abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n"
			"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n";
	xs_sha256_buf(s, strlen(s), want);
	const char *const cba[] = { C, B, A };
	digest_of(cba, 3, got);
	CHECK_STR(got, want, "SHA-256 of the sorted digests, one a line");
	/* the empty view */
	xs_sha256_buf("", 0, want);
	digest_of(NULL, 0, got);
	CHECK_STR(got, want, "an empty view: the SHA-256 of nothing");
	CHECK_STR(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		  "which is e3b0c442...");
}

static void test_order_and_sensitivity(void)
{
	const char *const abc[] = { A, B, C }, *const bca[] = { B, C, A }, *const cab[] = { C, A, B };
	const char *const abbc[] = { A, B, B, C }, *const ab[] = { A, B };
	char d1[65], d2[65], d3[65], d4[65], d5[65];
	digest_of(abc, 3, d1);
	digest_of(bca, 3, d2);
	digest_of(cab, 3, d3);
	CHECK_STR(d2, d1, "order independent (b c a)");
	CHECK_STR(d3, d1, "order independent (c a b)");
	digest_of(abbc, 4, d4);
	CHECK_STR(d4, d1, "a digest given twice counts once (a set)");
	digest_of(ab, 2, d5);
	CHECK(strcmp(d5, d1) != 0, "a package less: another digest");
	/* one digit of one package changed */
	char b2[65];
	memcpy(b2, B, 65);
	for (size_t pos = 0; pos < 64; pos += 21) {
		b2[pos] = b2[pos] == '0' ? '1' : '0';
		const char *const ab2c[] = { A, b2, C };
		char d6[65];
		digest_of(ab2c, 3, d6);
		CHECK(strcmp(d6, d1) != 0, "digit %zu of one .deb digest changed: another digest", pos);
		memcpy(b2, B, 65);
	}
	/* no confusion between one digest and the concatenation of others */
	const char *const one[] = { A };
	char d7[65];
	digest_of(one, 1, d7);
	CHECK(strcmp(d7, d5) != 0 && strcmp(d7, d1) != 0, "one package is not two");
}

static void test_refused(void)
{
	char out[65] = "";
	const char *const upper[] = { "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789" };
	const char *const shorter[] = { "abcdef" };
	const char *const junk[] = { A, "not a digest" };
	CHECK_INT(xs_id_view_digest(upper, 1, out), -EINVAL, "upper-case hex refused");
	CHECK_INT(xs_id_view_digest(shorter, 1, out), -EINVAL, "a short digest refused");
	CHECK_INT(xs_id_view_digest(junk, 2, out), -EINVAL, "junk refused");
}

static void test_fsname(void)
{
	char buf[64];
	CHECK_INT(xs_id_fsname("arm64", buf, sizeof buf), 0, "fsname built");
	CHECK_STR(buf, "xsysroot:arm64", "fsname of arm64");
	const char *a = xs_id_fsname_arch(buf);
	CHECK_STR(a ? a : "(null)", "arm64", "fsname parses back to its architecture");
	CHECK(xs_id_fsname_arch("sshfs:arm64") == NULL, "another source: NULL");
	CHECK(xs_id_fsname_arch("xsysroot") == NULL, "the bare word: NULL");
	char small[10];
	CHECK_INT(xs_id_fsname("arm64", small, sizeof small), -ENAMETOOLONG, "too long");
	CHECK_STR(XS_ID_FSTYPE, "fuse." XS_ID_SUBTYPE, "the type is FUSE's fuse.SUBTYPE");
	CHECK_STR(XS_ID_XATTR_STATUS, "user.xsysroot.status", "the status xattr");
}

static void test_status_field(void)
{
	const char *text = "arch=arm64\nsource=http://h/debian bookworm\n"
			   "source=http://h/debian bookworm-updates\nview_digest=abc\n"
			   "packages=12\npackages_fetched=3\nerror=1 a=b\n";
	size_t n = 0;
	const char *v = xs_id_status_field(text, XS_STATUS_PACKAGES, &n);
	CHECK(v && n == 2 && !strncmp(v, "12", 2), "packages=12");
	v = xs_id_status_field(text, XS_STATUS_PACKAGES_FETCHED, &n);
	CHECK(v && n == 1 && *v == '3', "packages_fetched is not packages");
	v = xs_id_status_field(text, XS_STATUS_SOURCE, &n);
	CHECK(v && n == strlen("http://h/debian bookworm") && !strncmp(v, "http://h/debian bookworm", n),
	      "the first source");
	v = xs_id_status_field(text, XS_STATUS_VIEW_DIGEST, &n);
	CHECK(v && n == 3 && !strncmp(v, "abc", 3), "view_digest");
	CHECK(xs_id_status_field(text, "a", &n) == NULL, "a key inside a value is no key");
	CHECK(xs_id_status_field(text, XS_STATUS_QUOTA, &n) == NULL, "absent key");
	v = xs_id_status_field("quota=5", XS_STATUS_QUOTA, &n);
	CHECK(v && n == 1, "the last line without a newline");
	CHECK(xs_id_status_field("", XS_STATUS_ARCH, &n) == NULL, "empty text");
}

int main(void)
{
	test_definition();
	test_order_and_sensitivity();
	test_refused();
	test_fsname();
	test_status_field();
	return tap_done();
}
