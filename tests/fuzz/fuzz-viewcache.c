/* fuzz-viewcache.c - the resolved-view cache formats (viewcache.h).
 *
 * Checks: a refused view file leaves an empty table; an accepted one has
 * origins, digests and dependencies in range, the writer accepts every
 * entry, and parse(write(t)) is t with the same bytes on a second write
 * (the round-trip law).  The candidate table's search, for names taken from
 * the input, never reads outside it and returns the line of that name,
 * whose decoded values follow the header's rules. */
#include "fuzz.h"
#include "xsysroot/viewcache.h"

#define NORIGINS 8

static bool same(const struct xs_viewcache *a, const struct xs_viewcache *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct xs_viewcache_pkg *x = &a->pkgs[i], *y = &b->pkgs[i];
		if (strcmp(x->name, y->name) || strcmp(x->version, y->version) ||
		    strcmp(x->arch, y->arch) || strcmp(x->filename, y->filename) ||
		    strcmp(x->sha256, y->sha256) || x->size != y->size || x->origin != y->origin ||
		    x->ndeps != y->ndeps ||
		    (x->ndeps && memcmp(x->deps, y->deps, x->ndeps * sizeof *x->deps)))
			return false;
	}
	return true;
}

static void write_all(const struct xs_viewcache *vc, struct xs_buf *b)
{
	xs_buf_init(b, XS_VIEWCACHE_MAX);
	FZ_CHECK(xs_viewcache_write_header(b) == 0);
	for (size_t i = 0; i < vc->n; i++)
		FZ_CHECK(xs_viewcache_write_pkg(b, &vc->pkgs[i]) == 0);
}

static void view_round_trip(const uint8_t *data, size_t size)
{
	struct xs_viewcache vc, vc2, vc3;
	if (xs_viewcache_parse((const char *)data, size, NORIGINS, &vc) < 0) {
		FZ_CHECK(vc.n == 0 && vc.pkgs == NULL);
		return;
	}
	FZ_CHECK(vc.n > 0);
	for (size_t i = 0; i < vc.n; i++) {
		const struct xs_viewcache_pkg *p = &vc.pkgs[i];
		FZ_CHECK(p->origin >= 0 && p->origin < NORIGINS && xs_is_sha256_hex(p->sha256));
		for (size_t k = 0; k < p->ndeps; k++)
			FZ_CHECK(p->deps[k] < vc.n);
	}
	struct xs_buf b, b2;
	write_all(&vc, &b);
	FZ_CHECK(xs_viewcache_parse(b.data, b.len, NORIGINS, &vc2) == 0 && same(&vc, &vc2));
	write_all(&vc2, &b2);
	FZ_CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
	FZ_CHECK(xs_viewcache_parse(b2.data, b2.len, NORIGINS, &vc3) == 0 && same(&vc, &vc3));
	xs_buf_free(&b);
	xs_buf_free(&b2);
	xs_viewcache_free(&vc);
	xs_viewcache_free(&vc2);
	xs_viewcache_free(&vc3);
}

static void cands_find(const uint8_t *data, size_t size, const char *name)
{
	const char *d = (const char *)data;
	struct xs_viewcache_line l;
	int q = xs_viewcache_cands_find(size ? d : NULL, size, name, &l);
	if (q < 0) {
		FZ_CHECK(q == -ENOENT || q == -EBADMSG);
		return;
	}
	FZ_CHECK(q == 0 && l.len[0] == strlen(name) && !memcmp(l.f[0], name, l.len[0]));
	for (int i = 0; i < XS_VIEWCACHE_CAND_FIELDS; i++) {
		FZ_CHECK(l.f[i] >= d && l.f[i] + l.len[i] <= d + size);
		FZ_CHECK(!memchr(l.f[i], '\n', l.len[i]) &&
			 (i + 1 == XS_VIEWCACHE_CAND_FIELDS || !memchr(l.f[i], '\t', l.len[i])));
	}
	struct xs_viewcache_cand c;
	if (xs_viewcache_cand_decode(&l, &c) == 0) {
		FZ_CHECK(!strcmp(c.name, name) && *c.version && !strchr(c.version, '\t'));
	} else {
		FZ_CHECK(c.name == NULL && c.version == NULL);
	}
	xs_viewcache_cand_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	view_round_trip(data, size);
	/* the names: the first field of the first lines, and one absent */
	size_t at = 0;
	for (int k = 0; k < 8 && at < size; k++) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t end = nl ? (size_t)(nl - data) : size;
		const uint8_t *tab = memchr(data + at, '\t', end - at);
		size_t kl = (tab ? (size_t)(tab - data) : end) - at;
		char *name = fz_str(data + at, kl);
		cands_find(data, size, name);
		free(name);
		at = end + 1;
	}
	cands_find(data, size, "zzzz-absent");
	return 0;
}
