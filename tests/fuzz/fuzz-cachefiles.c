/* fuzz-cachefiles.c - xs_cf_parse (cachefiles.h).
 *
 * The input, as a C string, is parsed as a cache file name.  Checks: a
 * name of a kind is built back, by that kind's builder from the parsed
 * fields, into exactly the input (the parser accepts only what a builder
 * writes); every sibling of an InRelease name parses to its own kind with
 * the same key; a name of no kind leaves the output untouched. */
#include "fuzz.h"
#include "xsysroot/cachefiles.h"

static void rebuild(const struct xs_cf *f, char *out, size_t outsz)
{
	if (f->kind == XS_CF_LAYER) {
		FZ_CHECK(xs_cf_build_layer(f->key, f->key2, out, outsz) == 0);
	} else if (f->kind == XS_CF_LEASE) {
		unsigned char rnd[8];
		for (size_t i = 0; i < 8; i++) {
			unsigned v;
			FZ_CHECK(sscanf(f->key + 2 * i, "%2x", &v) == 1);
			rnd[i] = (unsigned char)v;
		}
		FZ_CHECK(xs_cf_build_lease(f->pid, rnd, out, outsz) == 0);
	} else {
		FZ_CHECK(xs_cf_build(f->kind, f->key, out, outsz) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fz_str(data, size);
	struct xs_cf f, g;
	memset(&f, 0x5a, sizeof f);
	enum xs_cf_kind k = xs_cf_parse(in, &f);
	if (k == XS_CF_NONE) {
		for (size_t i = 0; i < sizeof f; i++)
			FZ_CHECK(((unsigned char *)&f)[i] == 0x5a);
		free(in);
		return 0;
	}
	FZ_CHECK(f.kind == k);
	char out[256];
	rebuild(&f, out, sizeof out);
	FZ_CHECK(strcmp(out, in) == 0);
	if (k >= XS_CF_INRELEASE && k <= XS_CF_INRELEASE_DATE)
		for (int s = XS_CF_INRELEASE; s <= XS_CF_INRELEASE_DATE; s++) {
			FZ_CHECK(xs_cf_sibling(in, (enum xs_cf_kind)s, out, sizeof out) == 0);
			FZ_CHECK(xs_cf_parse(out, &g) == (enum xs_cf_kind)s);
			FZ_CHECK(strcmp(g.key, f.key) == 0);
		}
	free(in);
	return 0;
}
