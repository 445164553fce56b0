/* test-cachefiles.c - the cache's file names (include/xsysroot/cachefiles.h):
 * every builder's output parses back to its kind and fields, the names
 * are the ones existing caches hold (spelled out here), names the cache
 * does not make (temp files, wrong keys) are no kind, and temp files are
 * told as such. */
#include "tap.h"
#include "xsysroot/cachefiles.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const H64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char *const G64 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

static const struct {
	enum xs_cf_kind kind;
	const char *name; /* of key H64, as on disk */
	size_t hex;
} keyed[] = {
	{ XS_CF_INRELEASE, "inrelease-0123456789abcdef", 16 },
	{ XS_CF_INRELEASE_LOCK, "inrelease-0123456789abcdef.lock", 16 },
	{ XS_CF_INRELEASE_VERIFIED, "inrelease-0123456789abcdef.verified", 16 },
	{ XS_CF_INRELEASE_DATE, "inrelease-0123456789abcdef.date", 16 },
	{ XS_CF_INRELEASE_HTTP, "inrelease-0123456789abcdef.http", 16 },
	{ XS_CF_MANIFEST, "manifest-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	  64 },
	{ XS_CF_PKGINFO, "pkg-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64 },
	{ XS_CF_CONTENTS_IDX,
	  "contents-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.idx", 64 },
	{ XS_CF_CONTENTS_REV,
	  "contents-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.rev", 64 },
	{ XS_CF_CONTENTS_REFUSED,
	  "contents-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.refused", 64 },
	{ XS_CF_VIEW, "view-0123456789abcdef0123456789abcdef", 32 },
	{ XS_CF_CANDS, "cands-0123456789abcdef0123456789abcdef", 32 },
	{ XS_CF_PKG_LOCK,
	  "pkg-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.lock", 64 },
	{ XS_CF_LAYER_LOCK,
	  "oci-layer-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.lock", 64 },
};

static void test_keyed(void)
{
	for (size_t i = 0; i < XS_ARRAY_SIZE(keyed); i++) {
		char name[256] = "";
		CHECK_INT(xs_cf_build(keyed[i].kind, H64, name, sizeof name), 0, "build kind %d",
			  keyed[i].kind);
		CHECK_STR(name, keyed[i].name, "kind %d: the name existing caches hold",
			  keyed[i].kind);
		struct xs_cf f;
		memset(&f, 0x55, sizeof f);
		CHECK_INT(xs_cf_parse(name, &f), keyed[i].kind, "%s parses to its kind", name);
		CHECK_INT(f.kind, keyed[i].kind, "%s: kind field", name);
		CHECK(strlen(f.key) == keyed[i].hex && !strncmp(f.key, H64, keyed[i].hex),
		      "%s: key '%s' back", name, f.key);
		CHECK(f.key2[0] == 0 && f.pid == 0, "%s: no other fields", name);
		/* build from the parsed key: the same name */
		char again[256];
		CHECK(xs_cf_build(f.kind, f.key, again, sizeof again) == 0 && !strcmp(again, name),
		      "%s: parse then build is the identity", name);
		/* a short key, an upper-case key, a short buffer */
		CHECK_INT(xs_cf_build(keyed[i].kind, "0123", name, sizeof name), -EINVAL,
			  "kind %d: a short key refused", keyed[i].kind);
		char up[65];
		memcpy(up, G64, 65);
		up[keyed[i].hex - 1] = 'A';
		CHECK_INT(xs_cf_build(keyed[i].kind, up, name, sizeof name), -EINVAL,
			  "kind %d: upper case refused", keyed[i].kind);
		char small[12];
		CHECK_INT(xs_cf_build(keyed[i].kind, H64, small, sizeof small), -ENAMETOOLONG,
			  "kind %d: too long for the buffer", keyed[i].kind);
		/* every other kind of the same key is another name */
		for (size_t j = 0; j < XS_ARRAY_SIZE(keyed); j++) {
			char sib[256];
			if (j == i)
				continue;
			xs_cf_build(keyed[j].kind, H64, sib, sizeof sib);
			CHECK(strcmp(sib, keyed[i].name) != 0 &&
			      xs_cf_parse(sib, NULL) == keyed[j].kind,
			      "kinds %d and %d differ", keyed[i].kind, keyed[j].kind);
		}
	}
	char x[8];
	CHECK_INT(xs_cf_build(XS_CF_NONE, H64, x, sizeof x), -EINVAL, "XS_CF_NONE builds nothing");
	CHECK_INT(xs_cf_build(XS_CF_LAYER, H64, x, sizeof x), -EINVAL, "layers have their builder");
	CHECK_INT(xs_cf_build(XS_CF_LEASE, H64, x, sizeof x), -EINVAL, "leases have their builder");
}

static void test_layer_lease(void)
{
	char name[256];
	struct xs_cf f;
	CHECK_INT(xs_cf_build_layer(H64, G64, name, sizeof name), 0, "layer built");
	CHECK_STR(name,
		  "oci-layer-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef-"
		  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
		  "the layer name of existing caches");
	CHECK_INT(xs_cf_parse(name, &f), XS_CF_LAYER, "a layer parses");
	CHECK(!strcmp(f.key, H64) && !strcmp(f.key2, G64), "blob and diff_id back");
	CHECK_INT(xs_cf_build_layer(H64, "sha256:x", name, sizeof name), -EINVAL, "bad diff_id");

	static const unsigned char rnd[8] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
	CHECK_INT(xs_cf_build_lease(4242, rnd, name, sizeof name), 0, "lease built");
	CHECK_STR(name, "4242-00017f80abcdefff", "the lease name of existing caches");
	CHECK_INT(xs_cf_parse(name, &f), XS_CF_LEASE, "a lease parses");
	CHECK(f.pid == 4242 && !strcmp(f.key, "00017f80abcdefff"), "pid and random back");
	CHECK_INT(xs_cf_build_lease(0, rnd, name, sizeof name), -EINVAL, "pid 0 refused");
}

static void test_inrelease(void)
{
	/* SRC: the first 16 hex digits of SHA-256("URI\nSUITE") */
	char hex[65], want[64], name[128];
	const char *s = "http://127.0.0.1:8080/debian\nbookworm";
	xs_sha256_buf(s, strlen(s), hex);
	snprintf(want, sizeof want, "inrelease-%.16s", hex);
	CHECK_INT(xs_cf_build_inrelease("http://127.0.0.1:8080/debian", "bookworm", name,
					sizeof name), 0, "inrelease built");
	CHECK_STR(name, want, "the inrelease name is the source's hash");
	char other[128];
	xs_cf_build_inrelease("http://127.0.0.1:8080/debian", "trixie", other, sizeof other);
	CHECK(strcmp(other, name) != 0, "another suite, another name");
	char sib[160];
	CHECK_INT(xs_cf_sibling(name, XS_CF_INRELEASE_VERIFIED, sib, sizeof sib), 0, "sibling");
	char wantv[192];
	snprintf(wantv, sizeof wantv, "%s.verified", name);
	CHECK_STR(sib, wantv, "the .verified of an InRelease");
	CHECK_INT(xs_cf_sibling("junk", XS_CF_INRELEASE_DATE, sib, sizeof sib), -EINVAL,
		  "no sibling of junk");
}

static void test_not_names(void)
{
	static const char *const junk[] = {
		"",
		"lock",
		"leases",
		"manifest-",
		"manifest-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
		"manifest-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
		"manifest-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		".manifest-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.Xy12ab",
		"view-0123456789abcdef0123456789abcdef.tmp.AbC123",
		"contents-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.idx.tmp.x",
		"contents-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"inrelease-0123456789abcdef.old",
		"inrelease-0123456789abcde",
		"inrelease-0123456789abcdef0",
		"oci-layer-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"oci-layer-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef-",
		"pkg-0123",
		"0-0123456789abcdef",
		"-12-0123456789abcdef",
		"12-0123456789abcde",
		"12-0123456789abcdeg",
		"99999999999999999999999-0123456789abcdef",
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(junk); i++)
		CHECK_INT(xs_cf_parse(junk[i], NULL), XS_CF_NONE, "'%s' is no cache name", junk[i]);
}

static void test_temp(void)
{
	static const unsigned char rnd[6] = { 0x00, 0x10, 0xab, 0xcd, 0xef, 0xff };
	char name[256], built[300];
	xs_cf_build(XS_CF_MANIFEST, H64, name, sizeof name);
	CHECK_INT(xs_cf_build_temp(name, rnd, built, sizeof built), 0, "temp name built");
	char want[300];
	snprintf(want, sizeof want, ".%s.0010abcdefff", name);
	CHECK_STR(built, want, "the temp name of xs_store_meta_write");
	CHECK(xs_cf_is_temp(built), "it is a temp file");
	CHECK_INT(xs_cf_parse(built, NULL), XS_CF_NONE, "and no document");
	snprintf(want, sizeof want, "%s" XS_CF_TEMP_INFIX "AbC123", "contents-x.idx");
	CHECK_STR(want, "contents-x.idx.tmp.AbC123", "an index build's temp name");
	CHECK(xs_cf_is_temp(want), "is a temp file");
	for (size_t i = 0; i < XS_ARRAY_SIZE(keyed); i++)
		CHECK(!xs_cf_is_temp(keyed[i].name), "%s is no temp file", keyed[i].name);
	char small[20];
	CHECK_INT(xs_cf_build_temp(name, rnd, small, sizeof small), -ENAMETOOLONG, "too long");
}

int main(void)
{
	test_keyed();
	test_layer_lease();
	test_inrelease();
	test_not_names();
	test_temp();
	return tap_done();
}
