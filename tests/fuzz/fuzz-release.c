/* fuzz-release.c - xs_clearsign_split, xs_release_parse, xs_release_find,
 * xs_release_check_dates and xs_parse_rfc2822 (release.h).
 *
 * The input goes to the clearsign splitter; the Release parser reads the
 * signed text when the split succeeds, else the input itself.  Its first
 * line, as a C string, goes to the date parser.  Checks: the split text is
 * NUL-terminated with its length and no longer than the input; every
 * SHA256 entry is found by its path and has a hex digest; the date parser
 * is deterministic.  The whole input also goes to the reader of a stored
 * InRelease's HTTP validators: what it accepts formats back to the same
 * bytes. */
#include "fuzz.h"
#include "xsysroot/release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	char *text = (char *)"x";
	size_t tlen = 12345;
	err[0] = 0;
	int r = xs_clearsign_split((const char *)data, size, &text, &tlen, err, sizeof err);
	if (r == 0) {
		FZ_CHECK(text && tlen <= size && strlen(text) == tlen);
	} else {
		FZ_CHECK(r < 0 && !text && err[0]);
	}

	struct xs_release rel;
	err[0] = 0;
	r = text ? xs_release_parse(text, tlen, &rel, err, sizeof err)
		 : xs_release_parse((const char *)data, size, &rel, err, sizeof err);
	if (r == 0) {
		FZ_CHECK(rel.n_files <= XS_RELEASE_MAX_FILES);
		for (size_t i = 0; i < rel.n_files; i++) {
			const struct xs_release_file *f = &rel.files[i];
			FZ_CHECK(f->path && xs_is_sha256_hex(f->sha256));
			const struct xs_release_file *g = xs_release_find(&rel, f->path);
			FZ_CHECK(g && strcmp(g->path, f->path) == 0);
		}
		for (char **a = rel.architectures; a && *a; a++)
			FZ_CHECK(**a);
		for (char **c = rel.components; c && *c; c++)
			FZ_CHECK(**c);
		FZ_CHECK(!xs_release_find(&rel, "fuzz/absent/\x01"));
		xs_release_check_dates(&rel, 1700000000, 600, false, err, sizeof err);
		xs_release_check_dates(&rel, INT64_MAX, INT64_MAX, true, err, sizeof err);
		xs_release_check_dates(&rel, INT64_MIN, 0, false, err, sizeof err);
		xs_release_free(&rel);
	} else {
		FZ_CHECK(r < 0);
	}
	free(text);

	size_t n1, nrest;
	const uint8_t *rest;
	fz_split(data, size, '\n', &n1, &rest, &nrest);
	char *line = fz_str(data, n1);
	int64_t t1 = 0, t2 = 0;
	int r1 = xs_parse_rfc2822(line, &t1), r2 = xs_parse_rfc2822(line, &t2);
	FZ_CHECK(r1 == r2 && (r1 < 0 || t1 == t2));
	FZ_CHECK(r1 == 0 || r1 == -EINVAL);
	free(line);

	struct xs_release_validators v;
	char back[XS_RELEASE_VALIDATORS_MAX + 1];
	r = xs_release_validators_parse((const char *)data, size, &v);
	FZ_CHECK(r == 0 || r == -EBADMSG);
	if (r == 0)
		FZ_CHECK(xs_release_validators_format(&v, back, sizeof back) == 0 &&
			 strlen(back) == size && !memcmp(back, data, size));
	return 0;
}
