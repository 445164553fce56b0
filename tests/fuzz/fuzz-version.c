/* fuzz-version.c - xs_version_cmp, xs_version_satisfies, xs_relop_parse
 * (version.h).
 *
 * The input is up to three versions separated by '\n'.  Checks that the
 * comparison is an order: reflexive, antisymmetric, transitive (for the
 * three given); that satisfies agrees with cmp for every operator; that
 * relop_parse consumes only what it recognised. */
#include "fuzz.h"
#include "xsysroot/version.h"

static int sgn(int c)
{
	return (c > 0) - (c < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v[3];
	const uint8_t *p = data;
	size_t left = size;
	for (int i = 0; i < 3; i++) {
		size_t n, nrest;
		const uint8_t *rest;
		fz_split(p, left, '\n', &n, &rest, &nrest);
		v[i] = fz_str(p, n);
		p = rest;
		left = nrest;
	}
	for (int i = 0; i < 3; i++) {
		FZ_CHECK(xs_version_cmp(v[i], v[i]) == 0);
		for (int j = 0; j < 3; j++) {
			int c = sgn(xs_version_cmp(v[i], v[j]));
			FZ_CHECK(c == -sgn(xs_version_cmp(v[j], v[i])));
			FZ_CHECK(xs_version_satisfies(v[i], XS_OP_LT, v[j]) == (c < 0));
			FZ_CHECK(xs_version_satisfies(v[i], XS_OP_LE, v[j]) == (c <= 0));
			FZ_CHECK(xs_version_satisfies(v[i], XS_OP_EQ, v[j]) == (c == 0));
			FZ_CHECK(xs_version_satisfies(v[i], XS_OP_GE, v[j]) == (c >= 0));
			FZ_CHECK(xs_version_satisfies(v[i], XS_OP_GT, v[j]) == (c > 0));
			FZ_CHECK(xs_version_satisfies(v[i], XS_OP_NONE, v[j]));
			for (int k = 0; k < 3; k++) {
				int d = sgn(xs_version_cmp(v[j], v[k]));
				int e = sgn(xs_version_cmp(v[i], v[k]));
				if (c <= 0 && d <= 0)
					FZ_CHECK(e <= 0);
				if (c == 0 && d == 0)
					FZ_CHECK(e == 0);
				if (c < 0 && d <= 0)
					FZ_CHECK(e < 0);
			}
		}
		int used = -1;
		int op = xs_relop_parse(v[i], &used);
		if (op < 0) {
			FZ_CHECK(op == -1 && used == -1);
		} else {
			FZ_CHECK(op >= XS_OP_LT && op <= XS_OP_GT);
			FZ_CHECK(used >= 1 && used <= 2 && (size_t)used <= strlen(v[i]));
			FZ_CHECK(xs_relop_str(op)[0]);
		}
	}
	for (int i = 0; i < 3; i++)
		free(v[i]);
	return 0;
}
