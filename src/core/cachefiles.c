/* cachefiles.c - see include/xsysroot/cachefiles.h.  One table says each
 * meta/ kind's shape: prefix, number of hex digits, suffix; the builder
 * writes it and the parser reads it back. */
#include "xsysroot/cachefiles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsysroot/util.h"

static const struct {
	const char *prefix;
	size_t hex;
	const char *suffix;
} shapes[] = {
	[XS_CF_INRELEASE] = { "inrelease-", 16, "" },
	[XS_CF_INRELEASE_LOCK] = { "inrelease-", 16, ".lock" },
	[XS_CF_INRELEASE_VERIFIED] = { "inrelease-", 16, ".verified" },
	[XS_CF_INRELEASE_DATE] = { "inrelease-", 16, ".date" },
	[XS_CF_MANIFEST] = { "manifest-", 64, "" },
	[XS_CF_PKGINFO] = { "pkg-", 64, "" },
	[XS_CF_LAYER] = { "oci-layer-", 64, "" }, /* + "-" DIFFID */
	[XS_CF_CONTENTS_IDX] = { "contents-", 64, ".idx" },
	[XS_CF_CONTENTS_REV] = { "contents-", 64, ".rev" },
	[XS_CF_CONTENTS_REFUSED] = { "contents-", 64, ".refused" },
	[XS_CF_VIEW] = { "view-", 32, "" },
	[XS_CF_CANDS] = { "cands-", 32, "" },
	[XS_CF_PKG_LOCK] = { "pkg-", 64, ".lock" },
	[XS_CF_LAYER_LOCK] = { "oci-layer-", 64, ".lock" },
	[XS_CF_PACKAGES_IDX] = { "packages-", 64, ".idx" },
	[XS_CF_INRELEASE_HTTP] = { "inrelease-", 16, ".http" },
};

/* s starts with n lowercase hex digits */
static int hex_prefix(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int put(size_t outsz, int n)
{
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

int xs_cf_build(enum xs_cf_kind kind, const char *key, char *out, size_t outsz)
{
	if (kind <= XS_CF_NONE || kind >= XS_CF_LEASE || kind == XS_CF_LAYER ||
	    strnlen(key, shapes[kind].hex) < shapes[kind].hex || !hex_prefix(key, shapes[kind].hex))
		return -EINVAL;
	return put(outsz,
		   snprintf(out, outsz, "%s%.*s%s", shapes[kind].prefix, (int)shapes[kind].hex, key,
			    shapes[kind].suffix));
}

int xs_cf_build_layer(const char *blob, const char *diff_id, char *out, size_t outsz)
{
	if (!xs_is_sha256_hex(blob) || !xs_is_sha256_hex(diff_id))
		return -EINVAL;
	return put(outsz,
		   snprintf(out, outsz, "%s%s-%s", shapes[XS_CF_LAYER].prefix, blob, diff_id));
}

int xs_cf_build_lease(long pid, const unsigned char rnd[8], char *out, size_t outsz)
{
	if (pid <= 0)
		return -EINVAL;
	return put(outsz,
		   snprintf(out, outsz, "%ld-%02x%02x%02x%02x%02x%02x%02x%02x", pid, rnd[0], rnd[1],
			    rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]));
}

int xs_cf_build_temp(const char *name, const unsigned char rnd[6], char *out, size_t outsz)
{
	return put(outsz, snprintf(out, outsz, ".%s.%02x%02x%02x%02x%02x%02x", name, rnd[0], rnd[1],
				   rnd[2], rnd[3], rnd[4], rnd[5]));
}

int xs_cf_build_inrelease(const char *uri, const char *suite, char *out, size_t outsz)
{
	char hex[65];
	struct xs_buf b;
	xs_buf_init(&b, 1 << 16);
	int q = xs_buf_printf(&b, "%s\n%s", uri, suite);
	if (q == 0)
		q = xs_sha256_buf(b.data, b.len, hex);
	xs_buf_free(&b);
	return q < 0 ? q : xs_cf_build(XS_CF_INRELEASE, hex, out, outsz);
}

int xs_cf_sibling(const char *name, enum xs_cf_kind kind, char *out, size_t outsz)
{
	struct xs_cf f;
	if (xs_cf_parse(name, &f) == XS_CF_NONE)
		return -EINVAL;
	return xs_cf_build(kind, f.key, out, outsz);
}

/* name is "PID-RANDOM" */
static enum xs_cf_kind parse_lease(const char *name, struct xs_cf *f)
{
	char *end;
	if (name[0] < '1' || name[0] > '9')
		return XS_CF_NONE;
	errno = 0;
	long pid = strtol(name, &end, 10);
	if (errno || *end != '-' || strlen(end + 1) != 16 || !hex_prefix(end + 1, 16))
		return XS_CF_NONE;
	f->kind = XS_CF_LEASE;
	f->pid = pid;
	memcpy(f->key, end + 1, 17);
	return XS_CF_LEASE;
}

/* name is prefix KEY suffix of kind k (for a layer, "-" DIFFID follows) */
static enum xs_cf_kind parse_shape(const char *name, enum xs_cf_kind k, struct xs_cf *f)
{
	size_t pl = strlen(shapes[k].prefix), n = shapes[k].hex;
	if (strncmp(name, shapes[k].prefix, pl) || strnlen(name + pl, n) < n ||
	    !hex_prefix(name + pl, n))
		return XS_CF_NONE;
	const char *rest = name + pl + n;
	if (k == XS_CF_LAYER) {
		if (rest[0] != '-' || !xs_is_sha256_hex(rest + 1))
			return XS_CF_NONE;
		memcpy(f->key2, rest + 1, 65);
	} else if (strcmp(rest, shapes[k].suffix)) {
		return XS_CF_NONE;
	}
	f->kind = k;
	memcpy(f->key, name + pl, n);
	f->key[n] = 0;
	return k;
}

enum xs_cf_kind xs_cf_parse(const char *name, struct xs_cf *out)
{
	struct xs_cf f = { 0 };
	enum xs_cf_kind k = XS_CF_NONE;
	for (size_t i = XS_CF_NONE + 1; k == XS_CF_NONE && i < XS_ARRAY_SIZE(shapes); i++)
		k = parse_shape(name, (enum xs_cf_kind)i, &f);
	if (k == XS_CF_NONE)
		k = parse_lease(name, &f);
	if (k != XS_CF_NONE && out)
		*out = f;
	return k;
}

bool xs_cf_is_temp(const char *name)
{
	return name[0] == '.' || strstr(name, XS_CF_TEMP_INFIX) != NULL;
}
