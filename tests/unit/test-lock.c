/* test-lock.c - lock files: a built lock formatted, parsed back to the same
 * table and the same text, written by transaction and read; the View-Digest
 * is identity.h's; every hostile value refused naming its line and stanza. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/identity.h"
#include "xsysroot/lock.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SHA_A "8e6b4ad0bd8b5f5a4c5a0a3a2b1f4fd9e2a6a0c3cd0b4c3c8f8e1e9d7b6a5f40"
#define SHA_B "1111111111111111111111111111111111111111111111111111111111111111"
#define SHA_C "2222222222222222222222222222222222222222222222222222222222222222"
#define SHA_I "3333333333333333333333333333333333333333333333333333333333333333"

/* A lock of two sources and three packages, added out of order. */
static void build(struct xs_lock *l)
{
	xs_lock_init(l, "arm64");
	xs_lock_add_source(l, "http://a.example/debian http://b.example/debian", "bookworm",
			   "main,contrib", 1765000000, SHA_I);
	xs_lock_add_source(l, "http://s.example/debian-security", "bookworm-security", "main",
			   1765000100, SHA_I);
	xs_lock_add_pkg(l, "zlib1g", "1:1.2.13.dfsg-1", "arm64",
			"pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_arm64.deb", SHA_C, 83936, 0);
	xs_lock_add_pkg(l, "libc6", "2.36-9+deb12u4", "arm64",
			"pool/updates/main/g/glibc/libc6_2.36-9+deb12u4_arm64.deb", SHA_A, 2322696, 1);
	xs_lock_add_pkg(l, "hello", "2.10-3", "arm64", "pool/main/h/hello/hello_2.10-3_arm64.deb",
			SHA_B, 52804, 0);
}

static char *text_of(const struct xs_lock *l)
{
	struct xs_buf b;
	xs_buf_init(&b, XS_LOCK_MAX_BYTES);
	CHECK_INT(xs_lock_format(l, &b), 0, "format");
	return xs_buf_steal(&b, NULL);
}

static void test_round_trip(void)
{
	struct xs_lock l, back;
	char err[512] = "";
	build(&l);
	CHECK_INT(xs_lock_finish(&l, err, sizeof err), 0, "finish: %s", err);
	CHECK_STR(l.pkgs[0].name, "hello", "sorted by name: hello first");
	CHECK_STR(l.pkgs[2].name, "zlib1g", "zlib1g last");
	const char *hex[] = { SHA_A, SHA_B, SHA_C };
	char want[65];
	xs_id_view_digest(hex, 3, want);
	CHECK_STR(l.view_digest, want, "View-Digest is identity.h's view digest of the .debs");
	char *text = text_of(&l);
	CHECK(strstr(text, "Components: main contrib\n") != NULL, "components blank-separated");
	CHECK(strstr(text, "Date: Sat, 06 Dec 2025 05:46:40 UTC\n") != NULL, "Date in RFC 2822");
	CHECK(strstr(text, "Package: libc6\nVersion: 2.36-9+deb12u4\nArchitecture: arm64\n"
			   "Suite: bookworm-security\n") != NULL, "a package names its source's suite");
	CHECK_INT(xs_lock_parse(text, strlen(text), &back, err, sizeof err), 0, "parse: %s", err);
	CHECK_INT(back.npkgs, 3, "three packages back");
	CHECK_INT(back.nsrcs, 2, "two sources back");
	CHECK(back.npkgs == 3 && back.pkgs[1].src == 1 && back.pkgs[1].size == 2322696 &&
	      !strcmp(back.pkgs[1].filename, l.pkgs[1].filename) && back.srcs[1].date == 1765000100,
	      "libc6: its source, size, pool path; the source's date");
	char *again = text_of(&back);
	CHECK_STR(again, text, "format(parse(text)) == text");
	CHECK(xs_lock_find(&back, "hello") == &back.pkgs[0] && !xs_lock_find(&back, "nope"),
	      "xs_lock_find");

	const char *path = tl_path("view.lock");
	CHECK_INT(xs_lock_write(path, &l, err, sizeof err), 0, "write: %s", err);
	xs_lock_free(&back);
	CHECK_INT(xs_lock_read(path, &back, err, sizeof err), 0, "read: %s", err);
	CHECK_STR(back.view_digest, l.view_digest, "read back: the same digest");
	xs_lock_free(&back);
	CHECK_INT(xs_lock_read(tl_path("absent.lock"), &back, err, sizeof err), -ENOENT,
		  "no file: -ENOENT");
	xs_lock_free(&back);
	free(text), free(again);
	xs_lock_free(&l);
}

/* text with the first "from" replaced by "to", parsed: its return, err. */
static int parse_edited(const char *text, const char *from, const char *to, char *err,
			size_t errsz)
{
	const char *at = strstr(text, from);
	CHECK(at != NULL, "'%s' is in the text", from);
	if (!at)
		return 0;
	struct xs_buf b;
	xs_buf_init(&b, XS_LOCK_MAX_BYTES);
	xs_buf_append(&b, text, (size_t)(at - text));
	xs_buf_printf(&b, "%s%s", to, at + strlen(from));
	struct xs_lock l;
	err[0] = 0;
	int q = xs_lock_parse(b.data, b.len, &l, err, errsz);
	xs_lock_free(&l);
	xs_buf_free(&b);
	return q;
}

static void test_refusals(void)
{
	struct xs_lock l;
	char err[512] = "";
	build(&l);
	xs_lock_finish(&l, err, sizeof err);
	char *text = text_of(&l);
	static const struct {
		const char *from, *to, *says;
	} bad[] = {
		{ "SHA256: " SHA_B, "SHA256: " SHA_C, "View-Digest" },
		{ "SHA256: " SHA_B, "SHA256: 1111", "invalid SHA256" },
		{ "SHA256: " SHA_B, "SHA256: " SHA_B "\nExtra: x", "unknown field 'Extra'" },
		{ "Size: 52804", "Size: 052804", "invalid Size" },
		{ "Size: 52804", "Size: -1", "invalid Size" },
		{ "Size: 52804", "Size: 99999999999999999999", "invalid Size" },
		{ "Size: 52804\n", "", "no Size field" },
		{ "Filename: pool/main/h", "Filename: /pool/main/h", "invalid Filename" },
		{ "Filename: pool/main/h", "Filename: pool/../../h", "invalid Filename" },
		{ "Filename: pool/main/h", "Filename: pool//main/h", "invalid Filename" },
		{ "Package: hello", "Package: Hello", "invalid Package" },
		{ "Package: hello", "Package: zz", "not after package" },
		{ "Version: 2.10-3", "Version: 2.10 3", "invalid Version" },
		{ "Version: 2.10-3", "Version: 2.10-3\n more", "invalid Version" },
		{ "Suite: bookworm\nFilename: pool/main/h", "Suite: sid\nFilename: pool/main/h",
		  "Suite sid is no source" },
		{ "Lock-Format: 1", "Lock-Format: 2", "invalid Lock-Format" },
		{ "Date: Sat", "Date: Sot", "invalid Date" },
		{ "Suite: bookworm-security\nComponents", "Suite: bookworm\nComponents",
		  "a second source of suite bookworm" },
		{ "InRelease-SHA256: " SHA_I, "InRelease-SHA256: " SHA_I "\n\n", "" },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(bad); i++) {
		int q = parse_edited(text, bad[i].from, bad[i].to, err, sizeof err);
		if (!bad[i].says[0]) { /* blank lines between stanzas are fine */
			CHECK_INT(q, 0, "an extra blank line is no error: %s", err);
			continue;
		}
		CHECK(q == -EBADMSG && strstr(err, bad[i].says) && strstr(err, "line "),
		      "'%s' -> '%.40s': refused naming the line: %s", bad[i].from, bad[i].to, err);
	}
	CHECK_INT(parse_edited(text, "\nPackage: hello", "\nURIs: x\nSuite: s\nComponents: main\n"
			       "Date: Sat, 06 Dec 2025 05:46:40 UTC\nInRelease-SHA256: " SHA_I
			       "\n\nPackage: hello", err, sizeof err),
		  0, "a third source before the packages: fine (%s)", err);
	int q = parse_edited(text, "Package: libc6", "Package: libc6\nPackage: libc6", err,
			     sizeof err);
	CHECK(q == -EBADMSG, "a field twice is refused: %s", err);
	struct xs_lock e;
	CHECK_INT(xs_lock_parse("", 0, &e, err, sizeof err), -EBADMSG, "empty text: %s", err);
	xs_lock_free(&e);
	CHECK_INT(xs_lock_parse("x", XS_LOCK_MAX_BYTES + 1ul, &e, err, sizeof err), -E2BIG,
		  "over the size limit: -E2BIG");
	xs_lock_free(&e);
	free(text);
	xs_lock_free(&l);
}

static void test_finish_refuses(void)
{
	struct xs_lock l;
	char err[512] = "";
	xs_lock_init(&l, "arm64");
	xs_lock_add_source(&l, "http://a.example/debian", "bookworm", "main", 1765000000, SHA_I);
	xs_lock_add_pkg(&l, "hello", "2.10-3", "arm64", "../hello.deb", SHA_B, 1, 0);
	CHECK(xs_lock_finish(&l, err, sizeof err) == -EBADMSG && strstr(err, "Filename"),
	      "finish refuses what the parser would: %s", err);
	xs_lock_free(&l);
	xs_lock_init(&l, "arm64");
	xs_lock_add_source(&l, "http://a.example/debian", "bookworm", "main", 1765000000, SHA_I);
	xs_lock_add_pkg(&l, "hello", "2.10-3", "arm64", "pool/hello.deb", SHA_B, 1, 0);
	xs_lock_add_pkg(&l, "hello", "2.10-3", "arm64", "pool/hello.deb", SHA_B, 1, 0);
	CHECK(xs_lock_finish(&l, err, sizeof err) == -EBADMSG && strstr(err, "not after"),
	      "a package twice: refused: %s", err);
	xs_lock_free(&l);
}

int main(void)
{
	test_round_trip();
	test_refusals();
	test_finish_refuses();
	return tap_done();
}
