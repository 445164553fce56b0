/* viewcache.c - see include/xsysroot/viewcache.h */
#include "xsysroot/viewcache.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xsysroot/version.h"

/* ---- shared field rules -------------------------------------------------- */

static bool field_ok(const char *s)
{
	return s && *s && !strpbrk(s, "\t\n");
}

/* Plain decimal s[0..n) (digits only, no sign, no overflow) below max. */
static bool decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!n || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v >= max)
		return false;
	*out = v;
	return true;
}

static bool sha256_span(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Split line[0..n) at TABs into exactly nf non-empty fields. */
static bool split_fields(const char *line, size_t n, size_t nf, const char **f, size_t *fl)
{
	const char *p = line, *end = line + n;
	for (size_t i = 0; i < nf; i++) {
		const char *t = i + 1 < nf ? memchr(p, '\t', (size_t)(end - p)) : end;
		if (!t || t == p)
			return false;
		f[i] = p;
		fl[i] = (size_t)(t - p);
		p = t + 1;
	}
	return memchr(f[nf - 1], '\t', fl[nf - 1]) == NULL;
}

/* ---- the view ------------------------------------------------------------ */

int xs_viewcache_write_header(struct xs_buf *out)
{
	return xs_buf_printf(out, "%s\n", XS_VIEWCACHE_VERSION);
}

int xs_viewcache_write_pkg(struct xs_buf *out, const struct xs_viewcache_pkg *p)
{
	const char *ma = p->multi_arch && *p->multi_arch ? p->multi_arch : NULL;
	if (!field_ok(p->name) || !field_ok(p->version) || !field_ok(p->arch) ||
	    !field_ok(p->filename) || !xs_is_sha256_hex(p->sha256) || p->origin < 0 ||
	    (ma && (!field_ok(ma) || !strcmp(ma, "-"))))
		return -EBADMSG;
	size_t mark = out->len;
	int q = xs_buf_printf(out, "%s\t%s\t%s\t%s\t%d\t%llu\t%llu\t%s\t%s\t", p->name,
			      p->version, p->arch, ma ? ma : "-", p->origin,
			      (unsigned long long)p->size,
			      (unsigned long long)p->installed_size, p->sha256, p->filename);
	for (size_t i = 0; i < p->ndeps && q == 0; i++)
		q = xs_buf_printf(out, "%s%zu", i ? "," : "", p->deps[i]);
	if (q == 0)
		q = xs_buf_printf(out, "%s\n", p->ndeps ? "" : "-");
	if (q < 0)
		out->len = mark;
	return q;
}

void xs_viewcache_free(struct xs_viewcache *vc)
{
	for (size_t i = 0; i < vc->n; i++)
		free(vc->pkgs[i].deps);
	free(vc->pkgs);
	free(vc->text);
	memset(vc, 0, sizeof *vc);
}

/* "3,7,12" or "-" into p (indexes checked later, against the count). */
static bool parse_deps(const char *s, size_t n, struct xs_viewcache_pkg *p)
{
	if (n == 1 && s[0] == '-')
		return true;
	size_t cap = 0;
	for (const char *c = s, *end = s + n; c <= end;) {
		const char *comma = memchr(c, ',', (size_t)(end - c));
		const char *stop = comma ? comma : end;
		uint64_t v;
		if (!decimal(c, (size_t)(stop - c), SIZE_MAX, &v))
			return false;
		xs_grow(&p->deps, &cap, p->ndeps + 1, sizeof *p->deps);
		p->deps[p->ndeps++] = (size_t)v;
		c = stop + 1;
	}
	return true;
}

/* One package line (terminated in place: the fields become strings). */
static bool parse_pkg(char *line, size_t n, size_t norigins, struct xs_viewcache_pkg *p)
{
	const char *f[10];
	size_t fl[10];
	uint64_t origin;
	memset(p, 0, sizeof *p);
	if (memchr(line, 0, n) || !split_fields(line, n, 10, f, fl) ||
	    !decimal(f[4], fl[4], norigins, &origin) || origin > INT_MAX ||
	    !decimal(f[5], fl[5], UINT64_MAX, &p->size) ||
	    !decimal(f[6], fl[6], UINT64_MAX, &p->installed_size) || !sha256_span(f[7], fl[7]) ||
	    !parse_deps(f[9], fl[9], p))
		return false;
	for (size_t i = 0; i < 10; i++)
		((char *)f[i])[fl[i]] = 0;
	p->name = f[0];
	p->version = f[1];
	p->arch = f[2];
	p->multi_arch = strcmp(f[3], "-") ? f[3] : "";
	p->origin = (int)origin;
	p->sha256 = f[7];
	p->filename = f[8];
	return true;
}

int xs_viewcache_parse(const char *data, size_t len, size_t norigins, struct xs_viewcache *out)
{
	memset(out, 0, sizeof *out);
	size_t hl = strlen(XS_VIEWCACHE_VERSION), cap = 0;
	if (len <= hl || memcmp(data, XS_VIEWCACHE_VERSION, hl) || data[hl] != '\n' ||
	    data[len - 1] != '\n')
		return -EBADMSG;
	out->text = xs_xmalloc(len);
	memcpy(out->text, data, len);
	bool ok = true;
	for (size_t at = hl + 1; ok && at < len;) {
		char *line = out->text + at;
		char *nl = memchr(line, '\n', len - at);
		xs_grow(&out->pkgs, &cap, out->n + 1, sizeof *out->pkgs);
		ok = parse_pkg(line, (size_t)(nl - line), norigins, &out->pkgs[out->n]);
		out->n++; /* its deps are freed with the table even when refused */
		at = (size_t)(nl - out->text) + 1;
	}
	for (size_t i = 0; ok && i < out->n; i++)
		for (size_t k = 0; ok && k < out->pkgs[i].ndeps; k++)
			ok = out->pkgs[i].deps[k] < out->n;
	if (!ok || out->n == 0) {
		xs_viewcache_free(out);
		return -EBADMSG;
	}
	return 0;
}

/* ---- the candidate table ------------------------------------------------- */

static int cmp_cand(const void *a, const void *b, void *ud)
{
	const struct xs_pkgtab *t = ud;
	const struct xs_pkg *x = &t->pkgs[*(const size_t *)a], *y = &t->pkgs[*(const size_t *)b];
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	c = xs_version_cmp(y->version, x->version);
	if (c)
		return c;
	return (x->origin > y->origin) - (x->origin < y->origin);
}

/* The table's lines in order, each printed into out; when fd >= 0, out
 * is flushed to fd whenever it holds CANDS_CHUNK bytes, so that the table
 * is never whole in memory (limit XS_VIEWCACHE_CANDS_MAX either way). */
#define CANDS_CHUNK (64u << 10)
static int cands_emit(const struct xs_pkgtab *t, const char *arch, struct xs_buf *out, int fd)
{
	size_t *ix = xs_xmalloc((t->n ? t->n : 1) * sizeof *ix), n = 0;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->pkgs[i].arch, arch) || !strcmp(t->pkgs[i].arch, "all"))
			ix[n++] = i;
	qsort_r(ix, n, sizeof *ix, cmp_cand, (void *)t);
	int q = 0;
	uint64_t flushed = 0;
	for (size_t k = 0; k < n && q == 0; k++) {
		const struct xs_pkg *p = &t->pkgs[ix[k]];
		if (k && !strcmp(p->name, t->pkgs[ix[k - 1]].name))
			continue;
		if (p->unusable || strpbrk(p->name, "\t\n") || strpbrk(p->version, "\t\n"))
			continue;
		q = xs_buf_printf(out, "%s\t%s\n", p->name, p->version);
		if (q == 0 && fd >= 0 && (out->len >= CANDS_CHUNK || k + 1 == n)) {
			flushed += out->len;
			q = flushed > XS_VIEWCACHE_CANDS_MAX ? -E2BIG
							     : xs_write_all(fd, out->data, out->len);
			out->len = 0;
		}
	}
	free(ix);
	return q;
}

int xs_viewcache_cands_write(const struct xs_pkgtab *t, const char *arch, struct xs_buf *out)
{
	xs_buf_init(out, XS_VIEWCACHE_CANDS_MAX);
	int q = cands_emit(t, arch, out, -1);
	if (q < 0)
		xs_buf_free(out);
	return q;
}

int xs_viewcache_cands_write_fd(const struct xs_pkgtab *t, const char *arch, int fd)
{
	struct xs_buf b;
	xs_buf_init(&b, XS_VIEWCACHE_CANDS_MAX); /* grows to a chunk and a line */
	int q = cands_emit(t, arch, &b, fd);
	xs_buf_free(&b);
	return q;
}

int xs_viewcache_cands_find(const char *d, size_t len, const char *name,
			    struct xs_viewcache_line *out)
{
	size_t lo = 0, hi = len, n = strlen(name);
	while (lo < hi) { /* lo and hi are line starts */
		size_t mid = lo + (hi - lo) / 2;
		while (mid > lo && d[mid - 1] != '\n')
			mid--;
		const char *e = memchr(d + mid, '\n', len - mid);
		const char *tab = e ? memchr(d + mid, '\t', (size_t)(e - (d + mid))) : NULL;
		if (!tab)
			return -EBADMSG;
		size_t kl = (size_t)(tab - (d + mid));
		int c = memcmp(name, d + mid, n < kl ? n : kl);
		if (c == 0)
			c = (n > kl) - (n < kl);
		if (c < 0) {
			hi = mid;
			continue;
		}
		if (c > 0) {
			lo = (size_t)(e - d) + 1;
			continue;
		}
		const char *p = d + mid;
		for (int i = 0; i < XS_VIEWCACHE_CAND_FIELDS; i++) {
			const char *q = i + 1 < XS_VIEWCACHE_CAND_FIELDS ? memchr(p, '\t', (size_t)(e - p))
									 : e;
			if (!q)
				return -EBADMSG;
			out->f[i] = p;
			out->len[i] = (size_t)(q - p);
			p = q + 1;
		}
		return 0;
	}
	return -ENOENT;
}

void xs_viewcache_cand_free(struct xs_viewcache_cand *c)
{
	free(c->name), free(c->version);
	memset(c, 0, sizeof *c);
}

int xs_viewcache_cand_decode(const struct xs_viewcache_line *l, struct xs_viewcache_cand *out)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < XS_VIEWCACHE_CAND_FIELDS; i++)
		if (!l->len[i] || memchr(l->f[i], '\t', l->len[i]) || memchr(l->f[i], '\n', l->len[i]) ||
		    memchr(l->f[i], 0, l->len[i]))
			return -EBADMSG;
	out->name = xs_strndup(l->f[0], l->len[0]);
	out->version = xs_strndup(l->f[1], l->len[1]);
	return 0;
}
