/* ldcache-read.h - an independent reader of glibc's ld.so.cache, straight
 * from sysdeps/generic/dl-cache.h, for the tests of the writer (test-ldcache)
 * and of the sysroot's cache (test-sysroot). */
#ifndef XS_LDCACHE_READ_H
#define XS_LDCACHE_READ_H
#include <stdint.h>
#include <string.h>

#include "xsysroot/ldcache.h"
#include "xsysroot/util.h"

struct parsed {
	uint32_t nlibs, len_strings, ext_off;
	uint8_t endian;
	int ok; /* every structural check passed */
	char *key[1024], *value[1024];
	uint32_t flags[1024];
	char generator[64];
};

static uint32_t get32(const unsigned char *p, int big)
{
	return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		   : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int zero(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/* Offsets are from the start of the file; the string must lie in the string
 * table and be NUL-terminated there. */
static char *str_at(const unsigned char *d, uint32_t off, uint32_t s0, uint32_t s1)
{
	if (off < s0 || off >= s1 || !memchr(d + off, 0, s1 - off))
		return NULL;
	return (char *)d + off;
}

static void parse(const struct xs_buf *b, int big, struct parsed *o)
{
	const unsigned char *d = (const unsigned char *)b->data;
	memset(o, 0, sizeof *o);
	if (b->len < 48 || memcmp(d, "glibc-ld.so.cache1.1", 20) != 0)
		return;
	o->nlibs = get32(d + 20, big);
	o->len_strings = get32(d + 24, big);
	o->endian = d[28];
	o->ext_off = get32(d + 32, big);
	if (!zero(d + 29, 3) || !zero(d + 36, 12) || o->nlibs > 1024)
		return;
	uint32_t s0 = 48 + 24 * o->nlibs, s1 = s0 + o->len_strings;
	if (s1 > b->len || o->ext_off != ((s1 + 3) & ~3u) || o->ext_off + 24 > b->len)
		return;
	for (uint32_t i = 0; i < o->nlibs; i++) {
		const unsigned char *e = d + 48 + 24 * i;
		o->flags[i] = get32(e, big);
		o->key[i] = str_at(d, get32(e + 4, big), s0, s1);
		o->value[i] = str_at(d, get32(e + 8, big), s0, s1);
		if (!o->key[i] || !o->value[i] || !zero(e + 12, 12)) /* osversion, hwcap */
			return;
	}
	const unsigned char *x = d + o->ext_off;
	uint32_t off = get32(x + 16, big), size = get32(x + 20, big);
	if (get32(x, big) != (uint32_t)-358342284 /* cache_extension_magic */ ||
	    get32(x + 4, big) != 1 || get32(x + 8, big) != 0 /* tag generator */ ||
	    get32(x + 12, big) != 0 || off != o->ext_off + 24 || (size_t)off + size != b->len ||
	    size >= sizeof o->generator)
		return;
	memcpy(o->generator, d + off, size);
	o->ok = 1;
}

/* ld.so's search_cache (elf/dl-cache.c): bisect, negative -> go right, then
 * walk back to the first equal key. */
static const char *lookup(const struct parsed *p, const char *name)
{
	int left = 0, right = p->ok ? (int)p->nlibs - 1 : -1;
	while (left <= right) {
		int mid = (left + right) / 2;
		int c = xs_ldcache_libcmp(name, p->key[mid]);
		if (c == 0) {
			while (mid > 0 && xs_ldcache_libcmp(name, p->key[mid - 1]) == 0)
				mid--;
			return p->value[mid];
		}
		if (c < 0)
			left = mid + 1;
		else
			right = mid - 1;
	}
	return NULL;
}
#endif
