/* fuzz-aptsrc.c - xs_aptsrc_parse_list and xs_aptsrc_parse_sources
 * (aptsrc.h), each over the same input.
 *
 * Each parse appends to a list that already holds one entry, so that the
 * rollback of a failed parse is seen.  Checks: a failure leaves the list as
 * it was; every entry has a URI (no trailing '/' past "scheme:/"), a suite,
 * a NULL-terminated component list and its origin "file:line". */
#include "fuzz.h"
#include "xsysroot/aptsrc.h"

static const char first[] = "deb http://mirror.example/debian bookworm main\n";

static void check(const struct xs_sourcelist *l, const char *file)
{
	for (size_t i = 1; i < l->n; i++) {
		const struct xs_source *s = &l->v[i];
		FZ_CHECK(s->uri && s->uri[0] && s->suite && s->suite[0] && s->components);
		size_t fl = strlen(file);
		FZ_CHECK(s->origin_file && strncmp(s->origin_file, file, fl) == 0 &&
			 s->origin_file[fl] == ':'); /* "file:line" */
		size_t n = strlen(s->uri);
		if (s->uri[n - 1] == '/')
			FZ_CHECK(n >= 2 && (s->uri[n - 2] == ':' || s->uri[n - 2] == '/'));
		for (char **c = s->components; *c; c++)
			FZ_CHECK(**c);
		for (char **a = s->archs; a && *a; a++)
			FZ_CHECK(**a);
	}
}

static void one(const uint8_t *data, size_t size, bool deb822)
{
	const char *file = deb822 ? "fuzz.sources" : "fuzz.list";
	struct xs_sourcelist l = { 0 };
	FZ_CHECK(xs_aptsrc_parse_list(&l, first, sizeof first - 1, "first.list") == 0);
	FZ_CHECK(l.n == 1);
	int r = deb822 ? xs_aptsrc_parse_sources(&l, (const char *)data, size, file)
		       : xs_aptsrc_parse_list(&l, (const char *)data, size, file);
	FZ_CHECK(r <= 0);
	if (r < 0)
		FZ_CHECK(l.n == 1);
	FZ_CHECK(strcmp(l.v[0].uri, "http://mirror.example/debian") == 0);
	check(&l, file);
	xs_sourcelist_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, false);
	one(data, size, true);
	return 0;
}
