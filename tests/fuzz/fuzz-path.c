/* fuzz-path.c - xs_path_normalize (util.h).
 *
 * The input, as a C string, is normalised into a buffer of XS_MAX_PATH + 1
 * bytes and, separately, into a heap buffer of the size the first byte
 * picks (ASan sees a write past it).  Checks: the result is relative, has
 * no empty, "." or ".." component, fits XS_MAX_PATH and XS_MAX_DEPTH, and
 * normalising it again changes nothing; a smaller buffer gives the same
 * result or -EINVAL; "a/" + input normalises to "a/" + the result (or
 * fails on a limit). */
#include "fuzz.h"

static void check_normal(const char *p)
{
	size_t n = strlen(p);
	FZ_CHECK(n <= XS_MAX_PATH);
	if (!n)
		return;
	FZ_CHECK(p[0] != '/' && p[n - 1] != '/');
	unsigned depth = 0;
	for (const char *s = p;;) {
		const char *e = strchr(s, '/');
		size_t k = e ? (size_t)(e - s) : strlen(s);
		FZ_CHECK(k > 0);
		FZ_CHECK(!(k == 1 && s[0] == '.'));
		FZ_CHECK(!(k == 2 && s[0] == '.' && s[1] == '.'));
		depth++;
		if (!e)
			break;
		s = e + 1;
	}
	FZ_CHECK(depth <= XS_MAX_DEPTH);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fz_str(data, size);
	char out[XS_MAX_PATH + 1], again[XS_MAX_PATH + 1];
	int r = xs_path_normalize(in, out, sizeof out);
	FZ_CHECK(r == 0 || r == -EINVAL);
	if (r == 0) {
		check_normal(out);
		FZ_CHECK(xs_path_normalize(out, again, sizeof again) == 0);
		FZ_CHECK(strcmp(out, again) == 0);
	}

	size_t small = size ? (size_t)data[0] % 64 : 0;
	char *buf = small ? xs_xmalloc(small) : NULL;
	int rs = xs_path_normalize(in, buf, small);
	if (rs == 0)
		FZ_CHECK(r == 0 && strcmp(buf, out) == 0);
	else
		FZ_CHECK(rs == -EINVAL);
	free(buf);

	/* one level down */
	size_t n = strlen(in);
	char *sub = xs_xmalloc(n + 3);
	memcpy(sub, "a/", 2);
	memcpy(sub + 2, in, n + 1);
	int rsub = xs_path_normalize(sub, again, sizeof again);
	if (r == 0 && rsub == 0)
		FZ_CHECK(out[0] ? again[0] == 'a' && again[1] == '/' && strcmp(again + 2, out) == 0
				: strcmp(again, "a") == 0);
	if (r == 0)
		FZ_CHECK(rsub == 0 || rsub == -EINVAL);
	free(sub);
	free(in);
	return 0;
}
