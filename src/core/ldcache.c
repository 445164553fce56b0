/* ldcache.c - see include/xsysroot/ldcache.h.
 *
 * Layout written (glibc's new format only, as elf/cache.c save_cache writes it
 * with -c new; structures from sysdeps/generic/dl-cache.h), every integer in
 * the target's byte order:
 *
 *   0   struct cache_file_new (48 bytes)
 *         magic "glibc-ld.so.cache", version "1.1", nlibs, len_strings,
 *         flags (endian: 2 little, 3 big), 3 pad, extension_offset, 3 unused
 *   48  nlibs x struct file_entry_new (24 bytes)
 *         int32 flags, uint32 key, uint32 value, uint32 osversion, uint64 hwcap
 *       string table (len_strings bytes, NUL-terminated strings); key and
 *         value are offsets from the start of the file (= the start of
 *         cache_file_new when there is no old-format part)
 *       pad to 4
 *       struct cache_extension {magic, count = 1} + one section
 *         {tag generator (0), flags 0, offset, size}, then the generator
 *         string itself (size bytes, no NUL), as write_extensions does.
 *
 * Order: ld.so's search_cache (elf/dl-cache.c) bisects with
 * _dl_cache_libcmp(name, key) and moves right when the result is negative,
 * so the entries are sorted by DEScending libcmp (ldconfig's compare() swaps
 * its arguments for the same reason); equal keys keep their input order.
 */
#include "xsysroot/ldcache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xs-build.h"

#define HDR_SIZE 48u
#define ENTRY_SIZE 24u
#define EXT_HDR_SIZE 8u	 /* struct cache_extension: magic, count */
#define EXT_SEC_SIZE 16u /* struct cache_extension_section */
#define EXT_MAGIC 0xeaa42174u /* (uint32_t) -358342284 */
#define EXT_TAG_GENERATOR 0u
#define ENDIAN_LITTLE 2u
#define ENDIAN_BIG 3u
#define GENERATOR "xsysroot " XS_VERSION

/* _dl_cache_libcmp, with the target's char signedness for the final
 * "*p1 - *p2" (plain char is signed on x86, MIPS and LoongArch, unsigned on
 * the others).  Digit runs are compared as numbers accumulated in a 32-bit
 * int, wrapping as the target's ld.so does in practice. */
static int libcmp(const char *a, const char *b, bool signed_char)
{
	const unsigned char *p1 = (const unsigned char *)a, *p2 = (const unsigned char *)b;
#define ISDIG(c) ((c) >= '0' && (c) <= '9')
#define CH(c) (signed_char ? (int)(signed char)(c) : (int)(c))
	while (*p1) {
		if (ISDIG(*p1)) {
			if (!ISDIG(*p2))
				return 1;
			uint32_t v1 = 0, v2 = 0;
			while (ISDIG(*p1))
				v1 = v1 * 10u + (uint32_t)(*p1++ - '0');
			while (ISDIG(*p2))
				v2 = v2 * 10u + (uint32_t)(*p2++ - '0');
			if (v1 != v2) {
				int32_t d = (int32_t)(v1 - v2);
				return d < 0 ? -1 : 1;
			}
		} else if (ISDIG(*p2)) {
			return -1;
		} else if (*p1 != *p2) {
			return CH(*p1) - CH(*p2);
		} else {
			p1++;
			p2++;
		}
	}
	return CH(*p1) - CH(*p2);
#undef CH
#undef ISDIG
}

int xs_ldcache_libcmp(const char *a, const char *b)
{
	return libcmp(a, b, false);
}

struct sort_ctx {
	const struct xs_ldcache_entry *e;
	bool signed_char;
	uint32_t flags; /* the architecture's */
};

static uint32_t flags_of(const struct sort_ctx *c, size_t i)
{
	return c->e[i].flags ? c->e[i].flags : c->flags;
}

/* Negative when entry i goes before entry j: larger key first, then larger
 * flags (ldconfig's compare()), then input order. */
static int order(const struct sort_ctx *c, size_t i, size_t j)
{
	int r = libcmp(c->e[j].key, c->e[i].key, c->signed_char);
	if (r)
		return r;
	uint32_t fi = flags_of(c, i), fj = flags_of(c, j);
	if (fi != fj)
		return fi > fj ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* Stable merge sort of index array (own sort: never trusts the comparator to
 * be transitive, unlike some qsort implementations). */
static void msort(const struct sort_ctx *c, size_t *v, size_t *tmp, size_t n)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	msort(c, v, tmp, h);
	msort(c, v + h, tmp, n - h);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = order(c, v[j], v[i]) < 0 ? v[j++] : v[i++];
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof *v);
}

static uint32_t get32(const unsigned char *p, bool big)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[big ? 3 - i : i] << (8 * i);
	return v;
}

static void put32(unsigned char *p, uint32_t v, bool big)
{
	for (int i = 0; i < 4; i++)
		p[big ? 3 - i : i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v, bool big)
{
	for (int i = 0; i < 8; i++)
		p[big ? 7 - i : i] = (unsigned char)(v >> (8 * i));
}

int xs_ldcache_build(const struct xs_arch *arch, const struct xs_ldcache_entry *e, size_t n,
		     struct xs_buf *out)
{
	xs_buf_init(out, 0);
	if (!arch || (arch->elf_data != 1 && arch->elf_data != 2) || (n && !e))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!e[i].key || !e[i].key[0] || !e[i].value || e[i].value[0] != '/')
			return -EINVAL;
	/* Offsets are uint32 and ld.so bisects with int indices. */
	if (n > (UINT32_MAX - HDR_SIZE) / ENTRY_SIZE)
		return -E2BIG;

	bool big = arch->elf_data == 2;
	_cleanup_free_ size_t *idx = malloc((n ? n : 1) * sizeof *idx);
	_cleanup_free_ size_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
	if (!idx || !tmp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	struct sort_ctx ctx = { e, arch->char_signed, arch->ldcache_flags };
	msort(&ctx, idx, tmp, n);

	/* Drop every entry whose key equals (for ld.so: libcmp == 0) the one
	 * before it with the same flags: the earliest input pair of each run
	 * comes first. */
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (m == 0 || libcmp(e[idx[m - 1]].key, e[idx[i]].key, ctx.signed_char) != 0 ||
		    flags_of(&ctx, idx[m - 1]) != flags_of(&ctx, idx[i]))
			idx[m++] = idx[i];

	uint64_t strings = 0;
	for (size_t i = 0; i < m; i++)
		strings += strlen(e[idx[i]].key) + 1 + strlen(e[idx[i]].value) + 1;
	uint64_t str_off = HDR_SIZE + (uint64_t)m * ENTRY_SIZE;
	uint64_t ext_off = (str_off + strings + 3) & ~(uint64_t)3;
	uint64_t gen_off = ext_off + EXT_HDR_SIZE + EXT_SEC_SIZE;
	uint64_t total = gen_off + strlen(GENERATOR);
	if (total > UINT32_MAX)
		return -E2BIG;

	unsigned char *p = calloc(1, (size_t)total);
	if (!p)
		return -ENOMEM;
	memcpy(p, "glibc-ld.so.cache1.1", 20);
	put32(p + 20, (uint32_t)m, big);
	put32(p + 24, (uint32_t)strings, big);
	p[28] = big ? ENDIAN_BIG : ENDIAN_LITTLE;
	put32(p + 32, (uint32_t)ext_off, big);

	size_t s = (size_t)str_off;
	for (size_t i = 0; i < m; i++) {
		const struct xs_ldcache_entry *x = &e[idx[i]];
		unsigned char *q = p + HDR_SIZE + i * ENTRY_SIZE;
		size_t kl = strlen(x->key) + 1, vl = strlen(x->value) + 1;
		put32(q, flags_of(&ctx, idx[i]), big);
		put32(q + 4, (uint32_t)s, big);
		memcpy(p + s, x->key, kl);
		s += kl;
		put32(q + 8, (uint32_t)s, big);
		memcpy(p + s, x->value, vl);
		s += vl;
		put32(q + 12, 0, big); /* osversion */
		put64(q + 16, 0, big); /* hwcap */
	}

	unsigned char *x = p + ext_off;
	put32(x, EXT_MAGIC, big);
	put32(x + 4, 1, big);
	put32(x + 8, EXT_TAG_GENERATOR, big);
	put32(x + 12, 0, big);
	put32(x + 16, (uint32_t)gen_off, big);
	put32(x + 20, (uint32_t)strlen(GENERATOR), big);
	memcpy(p + gen_off, GENERATOR, strlen(GENERATOR));

	xs_buf_init(out, (size_t)total);
	int r = xs_buf_append(out, p, (size_t)total);
	free(p);
	if (r < 0)
		xs_buf_free(out);
	return r;
}

/* The NUL-terminated string at off within [s0, s1) of p, or NULL. */
static const char *string_at(const unsigned char *p, uint32_t off, size_t s0, size_t s1)
{
	if (off < s0 || off >= s1 || !memchr(p + off, 0, s1 - off))
		return NULL;
	return (const char *)p + off;
}

int xs_ldcache_parse(const struct xs_arch *arch, const void *data, size_t len,
		     struct xs_ldcache_entry **e, size_t *n)
{
	const unsigned char *p = data;
	*e = NULL;
	*n = 0;
	if (!arch || len < HDR_SIZE || memcmp(p, "glibc-ld.so.cache1.1", 20) != 0)
		return -EBADMSG;
	bool big = arch->elf_data == 2;
	if (p[28] != (big ? ENDIAN_BIG : ENDIAN_LITTLE))
		return p[28] == (big ? ENDIAN_LITTLE : ENDIAN_BIG) ? -EPROTO : -EBADMSG;
	uint32_t nlibs = get32(p + 20, big), len_strings = get32(p + 24, big);
	if (nlibs > (len - HDR_SIZE) / ENTRY_SIZE)
		return -EBADMSG;
	size_t s0 = HDR_SIZE + (size_t)nlibs * ENTRY_SIZE;
	if (len_strings > len - s0)
		return -EBADMSG;
	size_t s1 = s0 + len_strings;
	struct xs_ldcache_entry *v = calloc(nlibs ? nlibs : 1, sizeof *v);
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < nlibs; i++) {
		const unsigned char *q = p + HDR_SIZE + (size_t)i * ENTRY_SIZE;
		v[i].flags = get32(q, big);
		v[i].key = string_at(p, get32(q + 4, big), s0, s1);
		v[i].value = string_at(p, get32(q + 8, big), s0, s1);
		if (!v[i].key || !v[i].value) {
			free(v);
			return -EBADMSG;
		}
	}
	*e = v;
	*n = nlibs;
	return 0;
}
