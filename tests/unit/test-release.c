/* test-release.c - InRelease splitting, Release parsing, dates */
#include "xsysroot/release.h"
#include "xsysroot/util.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define H1 "3f2a7c0b9d1e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"
#define H2 "0000000000000000000000000000000000000000000000000000000000000001"

static const char release_text[] =
	"Origin: Debian\n"
	"Label: Debian\n"
	"Suite: stable\n"
	"Version: 12.8\n"
	"Codename: bookworm\n"
	"Changelogs: https://metadata.example/changelogs/@CHANGEPATH@_changelog\n"
	"Date: Sat, 09 Nov 2024 10:05:24 UTC\n"
	"Valid-Until: Sat, 16 Nov 2024 10:05:24 +0000\n"
	"Acquire-By-Hash: yes\n"
	"No-Support-for-Architecture-all: Packages\n"
	"Architectures: all amd64 arm64 armel armhf i386 mips64el mipsel ppc64el s390x\n"
	"Components: main contrib non-free-firmware non-free\n"
	"Description: Debian 12.8 Released 09 November 2024\n"
	"MD5Sum:\n"
	" 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all\n"
	"SHA256:\n"
	" " H1 " 1484322 contrib/Contents-all\n"
	" " H2 "   98581 main/binary-arm64/Packages.xz\n"
	" 3F2A7C0B9D1E4F5A6B7C8D9E0F1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C 0 main/i18n/Index\n";

static const char signed_text[] =
	"-----BEGIN PGP SIGNED MESSAGE-----\n"
	"Hash: SHA256\n"
	"\n"
	"Origin: Debian\n"
	"- Suite: stable\n"
	"- - dashed\n"
	"Codename: bookworm   \n"
	"-----BEGIN PGP SIGNATURE-----\n"
	"\n"
	"iQIzBAEBCAAdFiEE4pV1Mm1uS0jp1V0b3V1zJ3Rr\n"
	"=abcd\n"
	"-----END PGP SIGNATURE-----\n";

static int split(const char *s, char **text, char *err)
{
	size_t n;
	return xs_clearsign_split(s, strlen(s), text, &n, err, 256);
}

/* Replace the first occurrence of 'from' in signed_text by 'to'; split it. */
static int split_edit(const char *from, const char *to, char *err)
{
	char buf[4096];
	const char *p = strstr(signed_text, from);
	if (!p)
		return -999;
	snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - signed_text), signed_text, to,
		 p + strlen(from));
	char *text = NULL;
	int r = split(buf, &text, err);
	free(text);
	return r;
}

static void test_split(void)
{
	char err[256] = "", *text = NULL;
	size_t n = 0;
	int r = xs_clearsign_split(signed_text, strlen(signed_text), &text, &n, err, sizeof err);
	CHECK_INT(r, 0, "valid clearsigned message: %s", err);
	CHECK_STR(text, "Origin: Debian\nSuite: stable\n- dashed\nCodename: bookworm\n",
		  "dash escapes undone, trailing blanks dropped, every line ends in \\n");
	CHECK_INT(n, text ? strlen(text) : 0, "length reported");
	free(text);

	/* CRLF and leading blank lines */
	const char crlf[] = "\r\n\n-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA512\r\n\r\n"
			    "A: b\r\n-----BEGIN PGP SIGNATURE-----\r\nxx\r\n"
			    "-----END PGP SIGNATURE-----\r\n\r\n";
	r = split(crlf, &text, err);
	CHECK_INT(r, 0, "CRLF and blank lines around are fine: %s", err);
	CHECK_STR(text, "A: b\n", "CRLF text");
	free(text);

	/* no Hash header, several signature blocks (apt accepts them) */
	const char multi[] = "-----BEGIN PGP SIGNED MESSAGE-----\n\nA: b\n"
			     "-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n"
			     "-----BEGIN PGP SIGNATURE-----\nyy\n-----END PGP SIGNATURE-----";
	r = split(multi, &text, err);
	CHECK_INT(r, 0, "two signature blocks, no final newline: %s", err);
	CHECK_STR(text, "A: b\n", "text of a multi-signature file");
	free(text);

	/* not NUL terminated input */
	size_t len = strlen(signed_text);
	char *copy = malloc(len);
	memcpy(copy, signed_text, len);
	r = xs_clearsign_split(copy, len - 1, &text, &n, err, sizeof err);
	CHECK_INT(r, 0, "exact-length buffer: %s", err);
	free(text);
	r = xs_clearsign_split(copy, len - 5, &text, &n, err, sizeof err);
	CHECK_INT(r, -EBADMSG, "truncated END line");
	CHECK(text == NULL, "no text on failure");
	free(copy);
}

static void test_split_hostile(void)
{
	char err[256];
	char *text = (char *)1;
	CHECK_INT(split("", &text, err), -EBADMSG, "empty input");
	CHECK(text == NULL, "text reset on failure");
	CHECK_INT(split("Origin: Debian\n", &text, err), -EBADMSG, "unsigned Release");
	CHECK_INT(split_edit("-----BEGIN PGP SIGNED", "junk\n-----BEGIN PGP SIGNED", err),
		  -EBADMSG, "text before the signed message");
	CHECK(strstr(err, "before") != NULL, "reason names it: %s", err);
	CHECK_INT(split_edit("-----END PGP SIGNATURE-----\n",
			     "-----END PGP SIGNATURE-----\nOrigin: Evil\n", err),
		  -EBADMSG, "unsigned text after the signature");
	CHECK_INT(split_edit("-----END PGP SIGNATURE-----\n",
			     "-----END PGP SIGNATURE-----\n\n \n", err),
		  0, "blank lines after the signature are fine");
	CHECK_INT(split_edit("-----END PGP SIGNATURE-----\n",
			     "-----END PGP SIGNATURE-----\n-----BEGIN PGP SIGNED MESSAGE-----\n"
			     "Hash: SHA256\n\nOrigin: Evil\n-----BEGIN PGP SIGNATURE-----\nx\n"
			     "-----END PGP SIGNATURE-----\n",
			     err),
		  -EBADMSG, "a second signed message after the first");
	CHECK_INT(split_edit("Origin: Debian\n", "-----BEGIN PGP SIGNED MESSAGE-----\n", err),
		  -EBADMSG, "a second BEGIN inside the text");
	CHECK_INT(split_edit("Hash: SHA256\n", "Hash: SHA256\n-----BEGIN PGP SIGNED MESSAGE-----\n",
			     err),
		  -EBADMSG, "a second BEGIN among the armor headers");
	CHECK_INT(split_edit("Hash: SHA256\n", "Hash: SHA256\nNotDashEscaped: yes\n", err),
		  -EBADMSG, "unknown armor header");
	CHECK_INT(split_edit("Origin: Debian\n", "-Origin: Debian\n", err), -EBADMSG,
		  "unescaped line starting with a dash");
	CHECK_INT(split_edit("iQIz", "-----BEGIN PGP SIGNED MESSAGE-----\niQIz", err), -EBADMSG,
		  "a dash line inside the signature");
	CHECK_INT(split_edit("\n-----BEGIN PGP SIGNATURE-----\n\niQIzBAEBCAAdFiEE4pV1Mm1uS0jp1V0b3V1zJ3Rr\n=abcd\n-----END PGP SIGNATURE-----\n",
			     "\n", err),
		  -EBADMSG, "missing signature block");
	CHECK(strstr(err, "signature") != NULL, "reason: %s", err);
	CHECK_INT(split_edit("-----END PGP SIGNATURE-----\n", "", err), -EBADMSG,
		  "signature never closed");
	CHECK_INT(split_edit("\niQIzBAEBCAAdFiEE4pV1Mm1uS0jp1V0b3V1zJ3Rr\n=abcd\n", "\n", err),
		  -EBADMSG, "empty signature block");
	CHECK_INT(split_edit("Hash: SHA256\n\n", "Hash: SHA256\n", err), -EBADMSG,
		  "no blank line after the armor headers (Origin taken as header)");
	CHECK_INT(split_edit("-----BEGIN PGP SIGNED MESSAGE-----\n", "-----BEGIN PGP SIGNED MESSAGE----- x\n",
			     err),
		  -EBADMSG, "garbled BEGIN line");

	/* NUL byte */
	char buf[512];
	size_t n = strlen(signed_text);
	memcpy(buf, signed_text, n);
	buf[40] = 0;
	size_t tl;
	CHECK_INT(xs_clearsign_split(buf, n, &text, &tl, err, sizeof err), -EBADMSG, "NUL byte");
	CHECK_INT(xs_clearsign_split(NULL, 0, &text, &tl, NULL, 0), -EBADMSG,
		  "NULL input, NULL err");
}

static void test_parse(void)
{
	struct xs_release r;
	char err[256] = "";
	int rc = xs_release_parse(release_text, strlen(release_text), &r, err, sizeof err);
	CHECK_INT(rc, 0, "parse a Release: %s", err);
	CHECK_STR(r.origin, "Debian", "Origin");
	CHECK_STR(r.label, "Debian", "Label");
	CHECK_STR(r.suite, "stable", "Suite");
	CHECK_STR(r.codename, "bookworm", "Codename");
	CHECK_STR(r.version, "12.8", "Version");
	CHECK_INT(r.date, 1731146724, "Date");
	CHECK_INT(r.valid_until, 1731146724 + 7 * 86400, "Valid-Until");
	CHECK(r.acquire_by_hash, "Acquire-By-Hash");
	CHECK(!r.not_automatic && !r.but_automatic_upgrades, "automatic flags absent");
	CHECK_STR(r.architectures[0], "all", "first arch");
	CHECK_STR(r.architectures[2], "arm64", "third arch");
	CHECK(r.architectures[10] == NULL, "ten archs");
	CHECK_STR(r.components[3], "non-free", "components");
	CHECK(r.components[4] == NULL, "four components");
	CHECK_INT(r.n_files, 3, "SHA256 entries only (MD5Sum ignored)");
	const struct xs_release_file *f = xs_release_find(&r, "main/binary-arm64/Packages.xz");
	CHECK(f != NULL, "find by path");
	CHECK(f && f->size == 98581, "size");
	CHECK_STR(f ? f->sha256 : NULL, H2, "digest");
	f = xs_release_find(&r, "main/i18n/Index");
	CHECK(f && f->size == 0, "size zero");
	CHECK_STR(f ? f->sha256 : NULL, H1, "uppercase digest is lowercased");
	CHECK(xs_release_find(&r, "main/binary-arm64/Packages") == NULL, "absent path");
	xs_release_free(&r);
	CHECK(r.files == NULL && r.origin == NULL, "free resets");
	xs_release_free(&r);

	const char minimal[] = "Suite: sid\nNotAutomatic: yes\nButAutomaticUpgrades: Yes\n";
	rc = xs_release_parse(minimal, strlen(minimal), &r, err, sizeof err);
	CHECK_INT(rc, 0, "minimal Release");
	CHECK(r.date == -1 && r.valid_until == -1, "absent dates are -1");
	CHECK(r.not_automatic && r.but_automatic_upgrades, "NotAutomatic, ButAutomaticUpgrades");
	CHECK(r.architectures && r.architectures[0] == NULL, "absent list is empty");
	CHECK(r.origin == NULL, "absent Origin is NULL");
	CHECK_INT(r.n_files, 0, "no files");
	xs_release_free(&r);
}

static int parse_str(const char *s, char *err)
{
	struct xs_release r;
	int rc = xs_release_parse(s, strlen(s), &r, err, 256);
	if (rc == 0)
		xs_release_free(&r);
	else
		CHECK(r.files == NULL && r.origin == NULL, "nothing left after failure");
	return rc;
}

static void test_parse_bad(void)
{
	char err[256];
	CHECK_INT(parse_str("", err), -EBADMSG, "empty");
	CHECK_INT(parse_str("SHA256:\n " H1 " 12\n", err), -EBADMSG, "no path");
	CHECK(strstr(err, "SHA256") != NULL, "reason names the field: %s", err);
	CHECK_INT(parse_str("SHA256:\n " H1 " 12 a b\n", err), -EBADMSG, "two paths");
	CHECK_INT(parse_str("SHA256:\n abc 12 a\n", err), -EBADMSG, "short digest");
	CHECK_INT(parse_str("SHA256:\n " H1 "0 12 a\n", err), -EBADMSG, "long digest");
	CHECK_INT(parse_str("SHA256:\n " H1 " -1 a\n", err), -EBADMSG, "negative size");
	CHECK_INT(parse_str("SHA256:\n " H1 " 12x a\n", err), -EBADMSG, "size with letters");
	CHECK_INT(parse_str("SHA256:\n " H1 " 18446744073709551616 a\n", err), -EBADMSG,
		  "size overflows 64 bits");
	CHECK_INT(parse_str("SHA256:\n " H1 " 18446744073709551615 a\n", err), 0,
		  "largest 64-bit size");
	CHECK_INT(parse_str("SHA256:\n g" H1 " 1 a\n", err), -EBADMSG, "non-hex digest");
	CHECK_INT(parse_str("Date: yesterday\n", err), -EBADMSG, "bad Date");
	CHECK(strstr(err, "Date") != NULL, "reason: %s", err);
	CHECK_INT(parse_str("Valid-Until: Sat, 16 Nov 2024 10:05:24 CEST\n", err), -EBADMSG,
		  "bad Valid-Until zone");
	CHECK_INT(parse_str("Origin: a\n\nOrigin: b\n", err), -EBADMSG, "two stanzas");
	CHECK_INT(parse_str("Origin: a\nOrigin: b\n", err), -EBADMSG, "duplicate field");
	CHECK_INT(parse_str("garbage\n", err), -EBADMSG, "not deb822");

	/* too many files */
	struct xs_buf b;
	xs_buf_init(&b, 1u << 28);
	xs_buf_printf(&b, "SHA256:\n");
	for (unsigned i = 0; i <= XS_RELEASE_MAX_FILES; i++)
		xs_buf_printf(&b, " %s 1 f%u\n", H1, i);
	struct xs_release r;
	CHECK_INT(xs_release_parse(b.data, b.len, &r, err, sizeof err), -EBADMSG,
		  "more than XS_RELEASE_MAX_FILES files");
	xs_buf_free(&b);
}

static void test_dates(void)
{
	int64_t t = 0;
	CHECK_INT(xs_parse_rfc2822("Sat, 21 Nov 2026 00:53:02 UTC", &t), 0, "with day name");
	CHECK_INT(t, 1795222382, "value");
	CHECK_INT(xs_parse_rfc2822("21 Nov 2026 00:53:02 UTC", &t), 0, "without day name");
	CHECK_INT(t, 1795222382, "same value");
	CHECK_INT(xs_parse_rfc2822("Sat, 21 Nov 2026 00:53:02 GMT", &t), 0, "GMT");
	CHECK_INT(xs_parse_rfc2822("Sat, 21 Nov 2026 00:53:02 Z", &t), 0, "Z");
	CHECK_INT(xs_parse_rfc2822("Sat, 21 Nov 2026 00:53:02 +0000", &t), 0, "+0000");
	CHECK_INT(t, 1795222382, "+0000 value");
	CHECK_INT(xs_parse_rfc2822("Sat, 21 Nov 2026 02:53:02 +0200", &t), 0, "+0200");
	CHECK_INT(t, 1795222382, "+0200 is two hours ahead");
	CHECK_INT(xs_parse_rfc2822("Fri, 20 Nov 2026 19:23:02 -0530", &t), 0, "-0530");
	CHECK_INT(t, 1795222382, "-0530 value");
	CHECK_INT(xs_parse_rfc2822("Thu, 1 Jan 1970 00:00:00 UTC", &t), 0, "epoch, one digit day");
	CHECK_INT(t, 0, "epoch value");
	CHECK_INT(xs_parse_rfc2822("Thu, 29 Feb 2024 12:00 UTC", &t), 0, "leap day, no seconds");
	CHECK_INT(t, 1709208000, "leap day value");
	CHECK_INT(xs_parse_rfc2822("  sat,  21  nov  2026  00:53:02  utc ", &t), -EINVAL,
		  "lowercase zone is refused");
	CHECK_INT(xs_parse_rfc2822(" sat, 21 nov 2026 00:53:02 UTC  ", &t), 0,
		  "case-insensitive names, extra blanks");

	const char *bad[] = {
		"", "Sat", "Sat,", "Sat 21 Nov 2026 00:53:02 UTC", "Foo, 21 Nov 2026 00:53:02 UTC",
		"21 Foo 2026 00:53:02 UTC", "32 Nov 2026 00:53:02 UTC", "31 Nov 2026 00:53:02 UTC",
		"29 Feb 2023 00:53:02 UTC", "0 Nov 2026 00:53:02 UTC", "21 Nov 26 00:53:02 UTC",
		"21 Nov 2026 24:00:00 UTC", "21 Nov 2026 00:60:00 UTC", "21 Nov 2026 00:53:61 UTC",
		"21 Nov 2026 00:53:02", "21 Nov 2026 00:53:02 CEST", "21 Nov 2026 00:53:02 +00",
		"21 Nov 2026 00:53:02 +0060", "21 Nov 2026 00:53:02 UTC x", "21 Nov 2026 0:53:02 UTC",
		"21 Nov 2026 00:53: UTC", "21 Nov 2026 00", "21 Nov 2026 00:", "21 Nov 1969 00:00:00 UTC",
		"123 Nov 2026 00:53:02 UTC", "21 Nov 20260 00:53:02 UTC", "1 Jan 1970 00:00:00 +0100",
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(bad); i++)
		CHECK_INT(xs_parse_rfc2822(bad[i], &t), -EINVAL, "refused: '%s'", bad[i]);
	CHECK_INT(xs_parse_rfc2822(NULL, &t), -EINVAL, "NULL");
}

static void test_check_dates(void)
{
	struct xs_release r = { .date = 1000000, .valid_until = 2000000 };
	char err[256] = "";
	CHECK_INT(xs_release_check_dates(&r, 1500000, 0, false, err, sizeof err), 0, "in range");
	CHECK_INT(xs_release_check_dates(&r, 1000000, 0, false, err, sizeof err), 0,
		  "Date == now");
	CHECK_INT(xs_release_check_dates(&r, 999000, 600, false, err, sizeof err), -EKEYREJECTED,
		  "Date in the future beyond the slack");
	CHECK(strstr(err, "12 Jan 1970 13:46:40 UTC") && strstr(err, "12 Jan 1970 13:30:00 UTC"),
	      "message names both times: %s", err);
	CHECK_INT(xs_release_check_dates(&r, 999500, 600, false, err, sizeof err), 0,
		  "Date in the future within the slack");
	CHECK_INT(xs_release_check_dates(&r, 2000001, 0, false, err, sizeof err), -EKEYEXPIRED,
		  "expired");
	CHECK(strstr(err, "Sat, 24 Jan 1970 03:33:20 UTC") && strstr(err, "03:33:21"),
	      "message names both times: %s", err);
	CHECK_INT(xs_release_check_dates(&r, 2000001, 0, true, err, sizeof err), 0,
		  "expired but allowed");
	CHECK_INT(xs_release_check_dates(&r, 2000000, 0, false, err, sizeof err), 0,
		  "Valid-Until == now is still valid");
	CHECK_INT(xs_release_check_dates(&r, INT64_MAX - 5, INT64_MAX, true, NULL, 0), 0,
		  "huge slack does not overflow");
	struct xs_release none = { .date = -1, .valid_until = -1 };
	CHECK_INT(xs_release_check_dates(&none, 5, 0, false, err, sizeof err), 0,
		  "no dates, nothing to check");
}

/* The validators kept beside a verified InRelease: their text form reads
 * back, and anything else (a truncated, garbled or hostile file) is not
 * read, so that the next fetch asks unconditionally. */
static void test_validators(void)
{
	const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct xs_release_validators v = { .last_modified = 1796000000 }, w;
	char text[XS_RELEASE_VALIDATORS_MAX + 1];
	snprintf(v.sha256, sizeof v.sha256, "%s", sha);
	snprintf(v.etag, sizeof v.etag, "\"5e-abc\"");
	CHECK_INT(xs_release_validators_format(&v, text, sizeof text), 0, "format");
	char want[160];
	snprintf(want, sizeof want, "%s\n1796000000\n\"5e-abc\"\n", sha);
	CHECK_STR(text, want, "the text form");
	memset(&w, 0x55, sizeof w);
	CHECK(xs_release_validators_parse(text, strlen(text), &w) == 0 && !strcmp(w.sha256, sha) &&
	      w.last_modified == 1796000000 && !strcmp(w.etag, "\"5e-abc\""), "it reads back");
	v.etag[0] = 0;
	CHECK(xs_release_validators_format(&v, text, sizeof text) == 0 &&
	      xs_release_validators_parse(text, strlen(text), &w) == 0 && !w.etag[0],
	      "Last-Modified alone");
	v.last_modified = 0;
	CHECK_INT(xs_release_validators_format(&v, text, sizeof text), -EINVAL, "no validator");
	snprintf(v.etag, sizeof v.etag, "\"a b\"");
	CHECK_INT(xs_release_validators_format(&v, text, sizeof text), -EINVAL, "a bad ETag");
	const char *bad[] = {
		"",
		"0123\n1\n\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n0\n\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n12\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n12\n\nx",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n-12\n\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n012\n\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n1 2\n\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
		"99999999999999999999\n\n",
		"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n12\n\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n0\n\"a\r\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n0\nabc\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK_INT(xs_release_validators_parse(bad[i], strlen(bad[i]), &w), -EBADMSG,
			  "refused: bad form %zu", i);
	char nul[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n1\x00\n\n";
	CHECK_INT(xs_release_validators_parse(nul, sizeof nul - 1, &w), -EBADMSG, "a NUL byte");
}

int main(void)
{
	test_split();
	test_split_hostile();
	test_parse();
	test_parse_bad();
	test_dates();
	test_check_dates();
	test_validators();
	return tap_done();
}
