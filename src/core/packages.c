/* packages.c - see include/xsysroot/packages.h
 *
 * Dependency fields: the parser works on (ptr, len) and never reads past
 * len.  A parsed field is one allocation (alts, atoms, strings), so callers
 * must not free or replace its members one by one.  A field holds at most DEP_MAX_ALTS comma separated entries of at
 * most DEP_MAX_ATOMS alternatives each (-E2BIG beyond).  Empty entries
 * ("a, , b", a trailing comma) are -EBADMSG, as dpkg has it.  A name is
 * [A-Za-z0-9+._-]+, an arch qualifier [A-Za-z0-9-]+, and a version
 * constraint needs an operator ("(1.0)" alone is refused).
 *
 * The name index (hidx) is one allocation of 2.5 * hcap words:
 *   [0, 2*hcap)          buckets: (first + 1, last + 1) package of a name,
 *                        0 marks an empty bucket (open addressing);
 *   [2*hcap, 2.5*hcap)   next + 1 of each package in its name's chain.
 * hcap is a power of two at least 2 * n, so the buckets are at most half
 * full whatever the names, and a name shared by many packages costs one
 * probe sequence, not one per package.  Appending packages extends the
 * index from hbuilt; crossing hcap / 2 rebuilds it at twice the size.
 *
 * Source: only the source package's name is kept ("glibc (2.36-9)" gives
 * "glibc"); NULL when the field is absent.
 */
#include "xsysroot/packages.h"
#include "xsysroot/deb822.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DEP_MAX_ALTS 4096
#define DEP_MAX_ATOMS 256

/* ---- dependency fields --------------------------------------------------- */

static bool dep_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '.' || c == '-' || c == '_';
}

static bool arch_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

void xs_dep_free(struct xs_dep *d)
{
	if (!d)
		return;
	free(d->alts); /* one block: see xs_dep_parse */
	d->alts = NULL;
	d->n = 0;
}

struct cursor {
	const char *s;
	size_t i, n;
};

/* One atom as slices of the input. */
struct atom_span {
	const char *name, *arch, *ver;
	size_t nlen, alen, vlen;
	int op;
};

static void skip_ws(struct cursor *c)
{
	while (c->i < c->n && dep_ws(c->s[c->i]))
		c->i++;
}

static int parse_relop(struct cursor *c)
{
	char a = c->s[c->i];
	char b = c->i + 1 < c->n ? c->s[c->i + 1] : 0;
	if (a == '<') {
		c->i += (b == '<' || b == '=') ? 2 : 1;
		return b == '<' ? XS_OP_LT : XS_OP_LE;
	}
	if (a == '>') {
		c->i += (b == '>' || b == '=') ? 2 : 1;
		return b == '>' ? XS_OP_GT : XS_OP_GE;
	}
	if (a == '=') {
		c->i++;
		return XS_OP_EQ;
	}
	return -1;
}

static int parse_atom(struct cursor *c, struct atom_span *a)
{
	memset(a, 0, sizeof *a);
	size_t s = c->i;
	while (c->i < c->n && name_char(c->s[c->i]))
		c->i++;
	if (c->i == s)
		return -EBADMSG;
	a->name = c->s + s;
	a->nlen = c->i - s;
	if (c->i < c->n && c->s[c->i] == ':') {
		s = ++c->i;
		while (c->i < c->n && arch_char(c->s[c->i]))
			c->i++;
		if (c->i == s)
			return -EBADMSG;
		a->arch = c->s + s;
		a->alen = c->i - s;
	}
	skip_ws(c);
	if (c->i < c->n && c->s[c->i] == '(') {
		c->i++;
		skip_ws(c);
		if (c->i >= c->n)
			return -EBADMSG;
		int op = parse_relop(c);
		if (op < 0)
			return -EBADMSG;
		a->op = op;
		skip_ws(c);
		s = c->i;
		while (c->i < c->n && !dep_ws(c->s[c->i]) && c->s[c->i] != ')') {
			unsigned char ch = (unsigned char)c->s[c->i];
			if (ch < 33 || ch > 126 || ch == '(')
				return -EBADMSG;
			c->i++;
		}
		if (c->i == s)
			return -EBADMSG;
		a->ver = c->s + s;
		a->vlen = c->i - s;
		skip_ws(c);
		if (c->i >= c->n || c->s[c->i] != ')')
			return -EBADMSG;
		c->i++;
		skip_ws(c);
	}
	/* architecture restrictions, then build profiles: dropped */
	while (c->i < c->n && c->s[c->i] == '[') {
		const char *e = memchr(c->s + c->i + 1, ']', c->n - c->i - 1);
		if (!e || memchr(c->s + c->i + 1, '[', (size_t)(e - c->s) - c->i - 1))
			return -EBADMSG;
		c->i = (size_t)(e - c->s) + 1;
		skip_ws(c);
	}
	while (c->i < c->n && c->s[c->i] == '<') {
		const char *e = memchr(c->s + c->i + 1, '>', c->n - c->i - 1);
		if (!e || memchr(c->s + c->i + 1, '<', (size_t)(e - c->s) - c->i - 1))
			return -EBADMSG;
		c->i = (size_t)(e - c->s) + 1;
		skip_ws(c);
	}
	return 0;
}

static char *put_str(char **pool, const char *s, size_t n)
{
	char *d = *pool;
	memcpy(d, s, n);
	d[n] = 0;
	*pool += n + 1;
	return d;
}

/* The whole field: with out == NULL, count entries, atoms and string bytes;
 * else fill out->alts (sized by the counting pass). */
static int scan_field(const char *s, size_t len, struct xs_dep *out, size_t *n_alts,
		      size_t *n_atoms, size_t *n_bytes)
{
	struct cursor c = { s, 0, len };
	struct xs_dep_atom *atoms = NULL;
	char *pool = NULL;
	size_t alts = 0, total = 0, bytes = 0;
	if (out) {
		atoms = (struct xs_dep_atom *)(out->alts + *n_alts);
		pool = (char *)(atoms + *n_atoms);
	}
	skip_ws(&c);
	if (c.i == c.n)
		goto done;
	for (;;) {
		if (alts >= DEP_MAX_ALTS)
			return -E2BIG;
		size_t in_alt = 0;
		if (out)
			out->alts[alts] = (struct xs_dep_alt){ atoms + total, 0 };
		for (;;) {
			struct atom_span a;
			skip_ws(&c);
			if (in_alt >= DEP_MAX_ATOMS)
				return -E2BIG;
			int r = parse_atom(&c, &a);
			if (r < 0)
				return r;
			bytes += a.nlen + 1 + (a.arch ? a.alen + 1 : 0) + (a.ver ? a.vlen + 1 : 0);
			if (out) {
				struct xs_dep_atom *t = &atoms[total];
				t->name = put_str(&pool, a.name, a.nlen);
				t->archq = a.arch ? put_str(&pool, a.arch, a.alen) : NULL;
				t->op = a.op;
				t->version = a.ver ? put_str(&pool, a.ver, a.vlen) : NULL;
				out->alts[alts].n++;
			}
			in_alt++;
			total++;
			if (c.i < c.n && c.s[c.i] == '|') {
				c.i++;
				continue;
			}
			break;
		}
		alts++;
		if (c.i == c.n)
			break;
		if (c.s[c.i] != ',')
			return -EBADMSG;
		c.i++;
		skip_ws(&c);
	}
done:
	*n_alts = alts;
	*n_atoms = total;
	*n_bytes = bytes;
	return 0;
}

/* The result is one allocation holding the alts array, then every atom,
 * then every string; xs_dep_free frees it.  Two passes over the field (count,
 * then fill) cost less than one malloc per string. */
int xs_dep_parse(const char *s, size_t len, struct xs_dep *out)
{
	size_t n_alts, n_atoms, n_bytes;
	out->alts = NULL;
	out->n = 0;
	if (!s)
		return 0;
	int r = scan_field(s, len, NULL, &n_alts, &n_atoms, &n_bytes);
	if (r < 0)
		return r;
	if (n_alts == 0)
		return 0;
	out->alts = xs_xmalloc(n_alts * sizeof(struct xs_dep_alt) +
			       n_atoms * sizeof(struct xs_dep_atom) + n_bytes);
	r = scan_field(s, len, out, &n_alts, &n_atoms, &n_bytes);
	if (r < 0) { /* cannot happen: the first pass accepted the same bytes */
		xs_dep_free(out);
		return r;
	}
	out->n = n_alts;
	return 0;
}

/* ---- the table ----------------------------------------------------------- */

void xs_pkgtab_init(struct xs_pkgtab *t)
{
	memset(t, 0, sizeof *t);
}

static void pkg_free(struct xs_pkg *p)
{
	free(p->name); /* one block: name, version, arch, ... (parse_stanza) */
	free(p->unusable);
	xs_dep_free(&p->depends);
	xs_dep_free(&p->pre_depends);
	xs_dep_free(&p->provides);
}

void xs_pkgtab_free(struct xs_pkgtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		pkg_free(&t->pkgs[i]);
	free(t->pkgs);
	free(t->hidx);
	memset(t, 0, sizeof *t);
}

__attribute__((format(printf, 4, 5)))
static int bad(char *err, size_t errsz, unsigned line, const char *fmt, ...)
{
	if (err && errsz) {
		int k = snprintf(err, errsz, "line %u: ", line);
		if (k >= 0 && (size_t)k < errsz) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err + k, errsz - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	return -EBADMSG;
}

static int parse_u64(const struct xs_field *f, uint64_t *out)
{
	uint64_t v = 0;
	if (f->value_len == 0)
		return -EBADMSG;
	for (size_t i = 0; i < f->value_len; i++) {
		char ch = f->value[i];
		if (ch < '0' || ch > '9')
			return -EBADMSG;
		unsigned d = (unsigned)(ch - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* A single word of printable ASCII (no blanks, no control bytes). */
static bool is_token(const struct xs_field *f)
{
	if (f->value_len == 0)
		return false;
	for (size_t i = 0; i < f->value_len; i++) {
		unsigned char ch = (unsigned char)f->value[i];
		if (ch < 33 || ch > 126)
			return false;
	}
	return true;
}

static bool is_pkg_name(const struct xs_field *f)
{
	if (f->value_len == 0)
		return false;
	for (size_t i = 0; i < f->value_len; i++)
		if (!name_char(f->value[i]))
			return false;
	return true;
}

/* A relative path without a ".." component: inside the mirror (apt, too,
 * accepts directories other than pool/: old archives, and repositories
 * built by hand, use them). */
static bool safe_filename(const char *s)
{
	if (s[0] == '/')
		return false;
	for (const char *p = s; *p;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return false;
		if (!e)
			break;
		p = e + 1;
	}
	return true;
}

enum {
	F_PACKAGE, F_VERSION, F_ARCH, F_MULTIARCH, F_FILENAME, F_SIZE, F_SHA256,
	F_SOURCE, F_SECTION, F_ISIZE, F_ESSENTIAL, F_DEPENDS, F_PREDEPENDS, F_PROVIDES,
	F_COUNT
};
#define FIELD(k, s) [k] = { s, sizeof(s) - 1 }
static const struct {
	const char *name;
	size_t len;
} fields[F_COUNT] = {
	FIELD(F_PACKAGE, "Package"),	   FIELD(F_VERSION, "Version"),
	FIELD(F_ARCH, "Architecture"),	   FIELD(F_MULTIARCH, "Multi-Arch"),
	FIELD(F_FILENAME, "Filename"),	   FIELD(F_SIZE, "Size"),
	FIELD(F_SHA256, "SHA256"),	   FIELD(F_SOURCE, "Source"),
	FIELD(F_SECTION, "Section"),	   FIELD(F_ISIZE, "Installed-Size"),
	FIELD(F_ESSENTIAL, "Essential"),   FIELD(F_DEPENDS, "Depends"),
	FIELD(F_PREDEPENDS, "Pre-Depends"), FIELD(F_PROVIDES, "Provides"),
};
#undef FIELD

/* A package's strings share one allocation (a table holds tens of
 * thousands of packages: one malloc per string costs a third of it). */
struct strblk {
	char *next;
};

static char *blk_put(struct strblk *b, const char *s, size_t n)
{
	char *r = b->next;
	memcpy(r, s, n);
	r[n] = 0;
	b->next += n + 1;
	return r;
}

static char *dupf(struct strblk *b, const struct xs_field *f)
{
	return f ? blk_put(b, f->value, f->value_len) : NULL;
}

/* Room for every string of the stanza whose fields are f. */
static size_t blk_size(const struct xs_field *const *f, const int *keys, size_t nkeys)
{
	size_t n = 0;
	for (size_t i = 0; i < nkeys; i++)
		n += f[keys[i]] ? f[keys[i]]->value_len + 1 : 0;
	return n;
}

static int parse_stanza(const struct xs_stanza *st, struct xs_pkg *p, char *err, size_t errsz)
{
	const struct xs_field *f[F_COUNT] = { 0 };
	unsigned line = st->line;
	int r;

	for (size_t i = 0; i < st->n; i++) {
		const struct xs_field *sf = &st->fields[i];
		for (size_t k = 0; k < F_COUNT; k++)
			if (sf->name_len == fields[k].len &&
			    strncasecmp(sf->name, fields[k].name, fields[k].len) == 0) {
				f[k] = sf;
				break;
			}
	}

	if (!f[F_PACKAGE])
		return bad(err, errsz, line, "stanza without Package");
	if (!is_pkg_name(f[F_PACKAGE]))
		return bad(err, errsz, line, "bad package name '%.*s'",
			   (int)(f[F_PACKAGE]->value_len > 64 ? 64 : f[F_PACKAGE]->value_len),
			   f[F_PACKAGE]->value);
	static const int strs[] = { F_PACKAGE, F_VERSION, F_ARCH,    F_MULTIARCH, F_FILENAME,
				    F_SOURCE,  F_SECTION, F_DEPENDS, F_PREDEPENDS };
	struct strblk blk = { xs_xmalloc(blk_size(f, strs, XS_ARRAY_SIZE(strs))) };
	p->name = dupf(&blk, f[F_PACKAGE]);
	for (size_t k = F_VERSION; k <= F_SHA256; k++)
		if (k != F_MULTIARCH && !f[k])
			return bad(err, errsz, line, "package '%s': missing %s", p->name,
				   fields[k].name);
	if (!is_token(f[F_VERSION]))
		return bad(err, errsz, line, "package '%s': bad Version", p->name);
	if (!is_token(f[F_ARCH]))
		return bad(err, errsz, line, "package '%s': bad Architecture", p->name);
	if (f[F_MULTIARCH] && !is_token(f[F_MULTIARCH]))
		return bad(err, errsz, line, "package '%s': bad Multi-Arch", p->name);
	p->version = dupf(&blk, f[F_VERSION]);
	p->arch = dupf(&blk, f[F_ARCH]);
	p->multi_arch = dupf(&blk, f[F_MULTIARCH]);
	p->filename = dupf(&blk, f[F_FILENAME]);
	if (!is_token(f[F_FILENAME]) || !safe_filename(p->filename)) {
		char why[160];
		snprintf(why, sizeof why, "unsafe Filename '%.100s'", p->filename);
		for (char *c = why; *c; c++)
			if ((unsigned char)*c < 32 || *c == 127)
				*c = '?';
		p->unusable = xs_strdup(why);
	}
	if (parse_u64(f[F_SIZE], &p->size) < 0)
		return bad(err, errsz, line, "package '%s': bad Size", p->name);
	if (f[F_SHA256]->value_len != 64)
		return bad(err, errsz, line, "package '%s': bad SHA256", p->name);
	for (size_t i = 0; i < 64; i++) {
		char ch = f[F_SHA256]->value[i];
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		p->sha256[i] = ch;
	}
	p->sha256[64] = 0;
	if (!xs_is_sha256_hex(p->sha256))
		return bad(err, errsz, line, "package '%s': bad SHA256", p->name);
	if (f[F_ISIZE] && parse_u64(f[F_ISIZE], &p->installed_size) < 0)
		return bad(err, errsz, line, "package '%s': bad Installed-Size", p->name);
	if (f[F_SOURCE]) {
		const char *s = f[F_SOURCE]->value;
		size_t n = 0;
		while (n < f[F_SOURCE]->value_len && name_char(s[n]))
			n++;
		if (n == 0)
			return bad(err, errsz, line, "package '%s': bad Source", p->name);
		p->source = blk_put(&blk, s, n);
	}
	if (f[F_SECTION])
		p->section = dupf(&blk, f[F_SECTION]);
	p->essential = f[F_ESSENTIAL] && f[F_ESSENTIAL]->value_len == 3 &&
		       strncasecmp(f[F_ESSENTIAL]->value, "yes", 3) == 0;

	static const struct {
		int k;
		size_t off;
	} deps[] = {
		{ F_DEPENDS, offsetof(struct xs_pkg, depends) },
		{ F_PREDEPENDS, offsetof(struct xs_pkg, pre_depends) },
		{ F_PROVIDES, offsetof(struct xs_pkg, provides) },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(deps); i++) {
		const struct xs_field *df = f[deps[i].k];
		if (!df)
			continue;
		struct xs_dep *d = (struct xs_dep *)((char *)p + deps[i].off);
		r = xs_dep_parse(df->value, df->value_len, d);
		if (r == 0 && deps[i].k != F_PROVIDES) {
			/* checked now, kept as text: parsed again on use (xs_pkg_deps) */
			xs_dep_free(d);
			*(deps[i].k == F_DEPENDS ? &p->depends_text : &p->pre_depends_text) =
				dupf(&blk, df);
		}
		if (r == -E2BIG)
			return bad(err, errsz, line, "package '%s': %s too long", p->name,
				   fields[deps[i].k].name);
		if (r < 0)
			return bad(err, errsz, line, "package '%s': malformed %s", p->name,
				   fields[deps[i].k].name);
	}
	for (size_t i = 0; i < p->provides.n; i++) {
		const struct xs_dep_alt *a = &p->provides.alts[i];
		if (a->n != 1 || (a->atoms[0].op != XS_OP_NONE && a->atoms[0].op != XS_OP_EQ))
			return bad(err, errsz, line,
				   "package '%s': Provides with alternatives or a non-'=' version",
				   p->name);
	}
	return 0;
}

/* xs_packages_parse of text whose first line is line0 + 1 of its index */
static int parse_at(struct xs_pkgtab *t, const char *data, size_t len, int origin,
		    unsigned line0, char *err, size_t errsz)
{
	struct xs_deb822 it;
	const struct xs_stanza *st;
	size_t n0 = t->n;
	int r;

	xs_deb822_init(&it, data, len);
	it.line = line0;
	for (;;) {
		r = xs_deb822_next(&it, &st);
		if (r < 0) {
			if (r == -E2BIG)
				bad(err, errsz, it.line, "line or stanza too long");
			else
				bad(err, errsz, it.line, "malformed control data");
			goto fail;
		}
		if (r == 0)
			break;
		if (t->n >= XS_PACKAGES_MAX) {
			if (err && errsz)
				snprintf(err, errsz, "more than %u packages",
					 (unsigned)XS_PACKAGES_MAX);
			r = -E2BIG;
			goto fail;
		}
		xs_grow(&t->pkgs, &t->cap, t->n + 1, sizeof *t->pkgs);
		struct xs_pkg *p = &t->pkgs[t->n];
		memset(p, 0, sizeof *p);
		p->origin = origin;
		r = parse_stanza(st, p, err, errsz);
		if (r < 0) {
			pkg_free(p);
			goto fail;
		}
		t->n++;
	}
	xs_deb822_free(&it);
	return 0;
fail:
	xs_deb822_free(&it);
	for (size_t i = n0; i < t->n; i++)
		pkg_free(&t->pkgs[i]);
	t->n = n0;
	return r;
}

int xs_packages_parse(struct xs_pkgtab *t, const char *data, size_t len, int origin,
		      char *err, size_t errsz)
{
	return parse_at(t, data, len, origin, 0, err, errsz);
}

void xs_pkgtab_move(struct xs_pkgtab *dst, struct xs_pkgtab *src)
{
	if (!dst->pkgs && !dst->n) { /* src's array becomes dst's: no copy */
		free(dst->hidx);
		*dst = (struct xs_pkgtab){ src->pkgs, src->n, src->cap, NULL, 0, 0 };
		src->pkgs = NULL;
		src->n = src->cap = 0;
		xs_pkgtab_free(src);
		return;
	}
	if (dst->cap < dst->n + src->n) { /* exactly: doubling would hold twice the table */
		dst->cap = dst->n + src->n;
		dst->pkgs = xs_xrealloc(dst->pkgs, dst->cap * sizeof *dst->pkgs);
	}
	if (src->n)
		memcpy(dst->pkgs + dst->n, src->pkgs, src->n * sizeof *src->pkgs);
	dst->n += src->n;
	src->n = 0;
	xs_pkgtab_free(src);
}

/* ---- streaming ------------------------------------------------------------ */

struct xs_packages_stream {
	struct xs_pkgtab *t;
	struct xs_pkgtab mine; /* what the stream parsed: into t at its end */
	int origin;
	unsigned line;	/* lines of the index parsed so far */
	int failed;	/* the first error, kept */
	char *buf;	/* the text not parsed yet: a stanza not yet whole */
	size_t len, cap;
};

int xs_packages_stream_new(struct xs_pkgtab *t, int origin, struct xs_packages_stream **out)
{
	struct xs_packages_stream *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->t = t;
	xs_pkgtab_init(&s->mine);
	s->origin = origin;
	*out = s;
	return 0;
}

/* Every stanza of s->buf[0, len) (whole stanzas) into the table. */
static int stream_parse(struct xs_packages_stream *s, size_t len, char *err, size_t errsz)
{
	int r = parse_at(&s->mine, s->buf, len, s->origin, s->line, err, errsz);
	for (size_t i = 0; i < len; i++)
		s->line += s->buf[i] == '\n';
	memmove(s->buf, s->buf + len, s->len - len);
	s->len -= len;
	return r;
}

/* The stream failed with r: what it parsed is dropped. */
static int stream_fail(struct xs_packages_stream *s, int r)
{
	xs_pkgtab_free(&s->mine);
	s->failed = r;
	return r;
}

int xs_packages_stream_feed(struct xs_packages_stream *s, const void *p, size_t n, char *err,
			    size_t errsz)
{
	if (s->failed)
		return s->failed;
	if (n > XS_PACKAGES_STANZA_MAX || s->len > XS_PACKAGES_STANZA_MAX - n) {
		if (err && errsz)
			snprintf(err, errsz, "line %u: stanza over %u bytes", s->line + 1,
				 (unsigned)XS_PACKAGES_STANZA_MAX);
		return stream_fail(s, -E2BIG);
	}
	xs_grow(&s->buf, &s->cap, s->len + n, 1);
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	/* the text up to the last blank line holds whole stanzas */
	size_t cut = 0, low = s->len - n + 1; /* a pair ending in the new bytes */
	for (size_t i = s->len; i >= 2 && i >= low && !cut; i--)
		if (s->buf[i - 1] == '\n' && s->buf[i - 2] == '\n')
			cut = i;
	int r = cut ? stream_parse(s, cut, err, errsz) : 0;
	return r < 0 ? stream_fail(s, r) : 0;
}

int xs_packages_stream_end(struct xs_packages_stream *s, char *err, size_t errsz)
{
	if (s->failed)
		return s->failed;
	int r = s->len ? stream_parse(s, s->len, err, errsz) : 0;
	if (r < 0)
		return stream_fail(s, r);
	if (s->mine.n > XS_PACKAGES_MAX - s->t->n) {
		if (err && errsz)
			snprintf(err, errsz, "more than %u packages", (unsigned)XS_PACKAGES_MAX);
		return stream_fail(s, -E2BIG);
	}
	xs_pkgtab_move(s->t, &s->mine);
	s->failed = -EALREADY; /* ended: no more input */
	return 0;
}

void xs_packages_stream_free(struct xs_packages_stream *s)
{
	if (!s)
		return;
	xs_pkgtab_free(&s->mine);
	free(s->buf);
	free(s);
}

int xs_pkg_deps(struct xs_pkg *p)
{
	if (p->deps_parsed)
		return 0;
	int r = p->depends_text ? xs_dep_parse(p->depends_text, strlen(p->depends_text),
					       &p->depends) : 0;
	if (r == 0 && p->pre_depends_text)
		r = xs_dep_parse(p->pre_depends_text, strlen(p->pre_depends_text),
				 &p->pre_depends);
	if (r < 0) {
		xs_dep_free(&p->depends);
		return r;
	}
	p->deps_parsed = true;
	return 0;
}

/* ---- name index ---------------------------------------------------------- */

static void index_insert(struct xs_pkgtab *t, size_t i)
{
	size_t mask = t->hcap - 1;
	size_t *next = t->hidx + 2 * t->hcap;
	const char *name = t->pkgs[i].name;
	size_t b = (size_t)xs_hash_str(name) & mask;
	for (;;) {
		size_t *bk = t->hidx + 2 * b;
		if (bk[0] == 0) {
			bk[0] = bk[1] = i + 1;
			break;
		}
		if (strcmp(t->pkgs[bk[0] - 1].name, name) == 0) {
			next[bk[1] - 1] = i + 1;
			bk[1] = i + 1;
			break;
		}
		b = (b + 1) & mask;
	}
	next[i] = 0;
}

static int index_update(struct xs_pkgtab *t)
{
	if (t->hidx && t->hbuilt == t->n)
		return 0;
	if (!t->hidx || t->n > t->hcap / 2) {
		size_t cap = 16;
		while (cap / 2 < t->n) {
			if (cap > SIZE_MAX / 8)
				return -ENOMEM;
			cap *= 2;
		}
		size_t words = 2 * cap + cap / 2;
		size_t *h = calloc(words, sizeof *h);
		if (!h)
			return -ENOMEM;
		free(t->hidx);
		t->hidx = h;
		t->hcap = cap;
		t->hbuilt = 0;
	}
	for (; t->hbuilt < t->n; t->hbuilt++)
		index_insert(t, t->hbuilt);
	return 0;
}

int xs_pkgtab_foreach_name(struct xs_pkgtab *t, const char *name,
			   int (*cb)(struct xs_pkg *p, size_t idx, void *ud), void *ud)
{
	int r = index_update(t);
	if (r < 0)
		return r;
	size_t mask = t->hcap - 1;
	const size_t *next = t->hidx + 2 * t->hcap;
	size_t b = (size_t)xs_hash_str(name) & mask;
	for (;;) {
		const size_t *bk = t->hidx + 2 * b;
		if (bk[0] == 0)
			return 0;
		if (strcmp(t->pkgs[bk[0] - 1].name, name) == 0) {
			for (size_t i = bk[0]; i; i = next[i - 1]) {
				r = cb(&t->pkgs[i - 1], i - 1, ud);
				if (r)
					return r;
			}
			return 0;
		}
		b = (b + 1) & mask;
	}
}
