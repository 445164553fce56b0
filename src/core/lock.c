/* lock.c - see include/xsysroot/lock.h */
#include "xsysroot/lock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "xsysroot/deb822.h"
#include "xsysroot/identity.h"
#include "xsysroot/release.h"
#include "xsysroot/repo.h"

#define FAIL XS_FAIL
#define MAX_YEAR 9999 /* a Date the format writes back as it was read */

/* ---- building -------------------------------------------------------------- */

void xs_lock_init(struct xs_lock *l, const char *arch)
{
	memset(l, 0, sizeof *l);
	l->arch = xs_strdup(arch ? arch : "");
}

void xs_lock_free(struct xs_lock *l)
{
	for (size_t i = 0; i < l->nsrcs; i++)
		free(l->srcs[i].uris), free(l->srcs[i].suite), free(l->srcs[i].components);
	for (size_t i = 0; i < l->npkgs; i++) {
		struct xs_lock_pkg *p = &l->pkgs[i];
		free(p->name), free(p->version), free(p->arch), free(p->filename);
	}
	free(l->srcs);
	free(l->pkgs);
	free(l->arch);
	memset(l, 0, sizeof *l);
}

/* names separated by commas or blanks, as "a b c" */
static char *join_names(const char *s)
{
	char *out = xs_xmalloc(strlen(s) + 1), *o = out;
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, ", \t\n");
		if (n) {
			if (o != out)
				*o++ = ' ';
			memcpy(o, p, n);
			o += n;
		}
		p += n;
		p += strspn(p, ", \t\n");
	}
	*o = 0;
	return out;
}

size_t xs_lock_add_source(struct xs_lock *l, const char *uris, const char *suite,
			  const char *components, int64_t date, const char *inrelease_sha256)
{
	l->srcs = xs_xrealloc(l->srcs, (l->nsrcs + 1) * sizeof *l->srcs);
	struct xs_lock_source *s = &l->srcs[l->nsrcs];
	*s = (struct xs_lock_source){ .uris = join_names(uris), .suite = xs_strdup(suite),
				      .components = join_names(components), .date = date };
	snprintf(s->inrelease_sha256, sizeof s->inrelease_sha256, "%s", inrelease_sha256);
	return l->nsrcs++;
}

void xs_lock_add_pkg(struct xs_lock *l, const char *name, const char *version,
		     const char *arch, const char *filename, const char *sha256, uint64_t size,
		     size_t src)
{
	l->pkgs = xs_xrealloc(l->pkgs, (l->npkgs + 1) * sizeof *l->pkgs);
	struct xs_lock_pkg *p = &l->pkgs[l->npkgs++];
	*p = (struct xs_lock_pkg){ .name = xs_strdup(name), .version = xs_strdup(version),
				   .arch = xs_strdup(arch), .filename = xs_strdup(filename),
				   .size = size, .src = src };
	snprintf(p->sha256, sizeof p->sha256, "%s", sha256);
}

static int cmp_pkg(const void *a, const void *b)
{
	const struct xs_lock_pkg *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->arch, y->arch);
}

/* The view digest (identity.h) of l's packages. */
static int pkgs_digest(const struct xs_lock *l, char out[65])
{
	const char **hex = xs_xcalloc(l->npkgs + 1, sizeof *hex);
	for (size_t i = 0; i < l->npkgs; i++)
		hex[i] = l->pkgs[i].sha256;
	int q = xs_id_view_digest(hex, l->npkgs, out);
	free(hex);
	return q;
}

int xs_lock_finish(struct xs_lock *l, char *err, size_t errsz)
{
	if (l->npkgs)
		qsort(l->pkgs, l->npkgs, sizeof *l->pkgs, cmp_pkg);
	if (pkgs_digest(l, l->view_digest) < 0)
		l->view_digest[0] = 0;
	/* what is written must read back: the parser is the one judge */
	struct xs_buf b;
	xs_buf_init(&b, XS_LOCK_MAX_BYTES);
	int q = xs_lock_format(l, &b);
	if (q < 0) {
		xs_buf_free(&b);
		FAIL(q, "cannot write a lock: %s", strerror(-q));
	}
	struct xs_lock back;
	q = xs_lock_parse(b.data, b.len, &back, err, errsz);
	xs_lock_free(&back);
	xs_buf_free(&b);
	return q;
}

/* ---- writing --------------------------------------------------------------- */

/* RFC 2822 in UTC, as Release files write it; "" when out of range. */
static void fmt_date(int64_t t, char out[40])
{
	static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;
	out[0] = 0;
	if (t < 0 || (int64_t)tt != t || !gmtime_r(&tt, &tm) || tm.tm_year + 1900 > MAX_YEAR)
		return;
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d UTC", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int xs_lock_format(const struct xs_lock *l, struct xs_buf *out)
{
	int q = xs_buf_printf(out,
			      "# xsysroot lock file: the view's exact packages (xsysroot(1), "
			      "--lock).\n# Delete it to resolve again.\n"
			      "Lock-Format: %d\nArchitecture: %s\nView-Digest: %s\n",
			      XS_LOCK_FORMAT, l->arch, l->view_digest);
	for (size_t i = 0; q == 0 && i < l->nsrcs; i++) {
		const struct xs_lock_source *s = &l->srcs[i];
		char date[40];
		fmt_date(s->date, date);
		q = xs_buf_printf(out,
				  "\nURIs: %s\nSuite: %s\nComponents: %s\nDate: %s\n"
				  "InRelease-SHA256: %s\n",
				  s->uris, s->suite, s->components, date, s->inrelease_sha256);
	}
	for (size_t i = 0; q == 0 && i < l->npkgs; i++) {
		const struct xs_lock_pkg *p = &l->pkgs[i];
		q = xs_buf_printf(out,
				  "\nPackage: %s\nVersion: %s\nArchitecture: %s\nSuite: %s\n"
				  "Filename: %s\nSize: %" PRIu64 "\nSHA256: %s\n",
				  p->name, p->version, p->arch,
				  p->src < l->nsrcs ? l->srcs[p->src].suite : "", p->filename,
				  p->size, p->sha256);
	}
	return q;
}

int xs_lock_write(const char *path, const struct xs_lock *l, char *err, size_t errsz)
{
	struct xs_buf b;
	xs_buf_init(&b, XS_LOCK_MAX_BYTES);
	int q = xs_lock_format(l, &b);
	if (q == 0)
		q = xs_write_file_atomic(path, b.data, b.len, 0644);
	xs_buf_free(&b);
	if (q < 0)
		FAIL(q, "cannot write the lock file %s: %s", path, strerror(-q));
	return 0;
}

/* ---- reading: values ------------------------------------------------------- */

/* What a value may be. */
enum kind {
	K_TOKEN,    /* printable, no blank */
	K_TOKENS,   /* tokens separated by single blanks */
	K_NAME,	    /* a package name: [a-z0-9][a-z0-9+.-]* */
	K_ARCH,	    /* [a-z0-9-]+ */
	K_SHA256,   /* 64 lowercase hex digits */
	K_SIZE,	    /* 1..INT64_MAX, decimal */
	K_FILENAME, /* relative path inside the mirror */
	K_DATE,	    /* RFC 2822 */
	K_FORMAT,   /* XS_LOCK_FORMAT */
};

static bool name_ok(const char *v, bool arch)
{
	for (const char *c = v; *c; c++) {
		bool alnum = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9');
		bool punct = arch ? *c == '-' : (*c == '+' || *c == '.' || *c == '-');
		if (!alnum && !(c > v && punct))
			return false;
	}
	return true;
}

/* Every component non-empty, none "." or "..", no leading '/'. */
static bool filename_ok(const char *v)
{
	for (const char *p = v;;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

static bool size_ok(const char *v, uint64_t *out)
{
	size_t n = strlen(v);
	if (n == 0 || n > 19 || v[0] == '0' || strspn(v, "0123456789") != n)
		return false;
	*out = strtoull(v, NULL, 10);
	return *out <= INT64_MAX;
}

static bool date_ok(const char *v, int64_t *out)
{
	char back[40];
	if (xs_parse_rfc2822(v, out) < 0)
		return false;
	fmt_date(*out, back);
	return back[0] != 0;
}

/* v (NUL-terminated, no byte below 32 but for those checked here) of kind k;
 * *num receives a size, date or format. */
static bool value_ok(const char *v, enum kind k, int64_t *num)
{
	size_t n = strlen(v);
	if (n == 0 || n > XS_LOCK_MAX_VALUE)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 32 || (unsigned char)v[i] > 126 ||
		    (v[i] == ' ' && (k != K_TOKENS && k != K_DATE)) ||
		    (v[i] == ' ' && i > 0 && v[i - 1] == ' '))
			return false;
	uint64_t u = 0;
	switch (k) {
	case K_TOKEN: case K_TOKENS: return true;
	case K_NAME: return name_ok(v, false);
	case K_ARCH: return name_ok(v, true);
	case K_SHA256: return xs_is_sha256_hex(v);
	case K_SIZE: if (!size_ok(v, &u)) return false; *num = (int64_t)u; return true;
	case K_FILENAME: return filename_ok(v);
	case K_DATE: return date_ok(v, num);
	case K_FORMAT: return !strcmp(v, "1");
	}
	return false;
}

/* ---- reading: stanzas ------------------------------------------------------ */

struct spec {
	const char *name;
	enum kind kind;
};

static const struct spec header_spec[] = {
	{ "Lock-Format", K_FORMAT }, { "Architecture", K_ARCH }, { "View-Digest", K_SHA256 },
};
static const struct spec source_spec[] = {
	{ "URIs", K_TOKENS },	  { "Suite", K_TOKEN },	  { "Components", K_TOKENS },
	{ "Date", K_DATE },	  { "InRelease-SHA256", K_SHA256 },
};
static const struct spec pkg_spec[] = {
	{ "Package", K_NAME },	   { "Version", K_TOKEN },   { "Architecture", K_ARCH },
	{ "Suite", K_TOKEN },	   { "Filename", K_FILENAME }, { "Size", K_SIZE },
	{ "SHA256", K_SHA256 },
};
#define NSPEC 7 /* the most fields of a stanza */

/* The stanza st checked against spec[0..n): every field there, none else,
 * each valid.  vals[k] receives field k (malloc'ed), nums[k] its number.
 * what names the stanza in messages. */
static int take_stanza(const struct xs_stanza *st, const struct spec *spec, size_t n,
		       const char *what, char *vals[NSPEC], int64_t nums[NSPEC], char *err,
		       size_t errsz)
{
	for (size_t i = 0; i < st->n; i++) {
		size_t k = 0;
		while (k < n && (strlen(spec[k].name) != st->fields[i].name_len ||
				 strncasecmp(spec[k].name, st->fields[i].name, st->fields[i].name_len)))
			k++;
		if (k == n)
			return xs_bad_input(err, errsz, "line %u (%s): unknown field '%.*s'",
					    st->line, what, (int)(st->fields[i].name_len > 64 ? 64
							: st->fields[i].name_len), st->fields[i].name);
	}
	for (size_t k = 0; k < n; k++) {
		const struct xs_field *f = xs_stanza_get(st, spec[k].name);
		if (!f)
			return xs_bad_input(err, errsz, "line %u (%s): no %s field", st->line, what,
					    spec[k].name);
		if (f->value_len > XS_LOCK_MAX_VALUE)
			return xs_bad_input(err, errsz, "line %u (%s): %s is too long", st->line,
					    what, spec[k].name);
		vals[k] = xs_strndup(f->value, f->value_len);
		if (strlen(vals[k]) != f->value_len || !value_ok(vals[k], spec[k].kind, &nums[k]))
			return xs_bad_input(err, errsz, "line %u (%s): invalid %s '%.80s'", st->line,
					    what, spec[k].name, vals[k]);
	}
	return 0;
}

static void free_vals(char *vals[NSPEC])
{
	for (size_t k = 0; k < NSPEC; k++)
		free(vals[k]), vals[k] = NULL;
}

static int take_header(struct xs_lock *l, const struct xs_stanza *st, char *err, size_t errsz)
{
	char *v[NSPEC] = { 0 };
	int64_t num[NSPEC] = { 0 };
	int q = take_stanza(st, header_spec, XS_ARRAY_SIZE(header_spec), "the header", v, num,
			    err, errsz);
	if (q == 0) {
		free(l->arch);
		l->arch = xs_strdup(v[1]);
		snprintf(l->view_digest, sizeof l->view_digest, "%s", v[2]);
	}
	free_vals(v);
	return q;
}

static int take_source(struct xs_lock *l, const struct xs_stanza *st, char *err, size_t errsz)
{
	char *v[NSPEC] = { 0 };
	int64_t num[NSPEC] = { 0 };
	int q = -E2BIG;
	if (l->nsrcs >= XS_LOCK_MAX_SOURCES)
		snprintf(err, errsz, "line %u: more than %d sources", st->line,
			 XS_LOCK_MAX_SOURCES);
	else
		q = take_stanza(st, source_spec, XS_ARRAY_SIZE(source_spec), "a source", v, num,
				err, errsz);
	for (size_t i = 0; q == 0 && i < l->nsrcs; i++)
		if (!strcmp(l->srcs[i].suite, v[1]))
			q = xs_bad_input(err, errsz, "line %u (source %s): a second source of suite %s",
					 st->line, v[0], v[1]);
	if (q == 0)
		xs_lock_add_source(l, v[0], v[1], v[2], num[3], v[4]);
	free_vals(v);
	return q;
}

static size_t find_suite(const struct xs_lock *l, const char *suite)
{
	size_t i = 0;
	while (i < l->nsrcs && strcmp(l->srcs[i].suite, suite))
		i++;
	return i;
}

static int take_pkg(struct xs_lock *l, const struct xs_stanza *st, char *err, size_t errsz)
{
	char *v[NSPEC] = { 0 }, what[128] = "a package";
	int64_t num[NSPEC] = { 0 };
	const struct xs_field *f = xs_stanza_get(st, "Package");
	if (f && f->value_len < 64)
		snprintf(what, sizeof what, "package '%.*s'", (int)f->value_len, f->value);
	if (l->npkgs >= XS_LOCK_MAX_PKGS) {
		snprintf(err, errsz, "line %u: more than %d packages", st->line, XS_LOCK_MAX_PKGS);
		return -E2BIG;
	}
	int q = take_stanza(st, pkg_spec, XS_ARRAY_SIZE(pkg_spec), what, v, num, err, errsz);
	size_t src = q == 0 ? find_suite(l, v[3]) : 0;
	if (q == 0 && src == l->nsrcs)
		q = xs_bad_input(err, errsz, "line %u (%s): Suite %s is no source of the lock",
				 st->line, what, v[3]);
	if (q == 0 && l->npkgs &&
	    cmp_pkg(&l->pkgs[l->npkgs - 1], &(struct xs_lock_pkg){ .name = v[0], .arch = v[2] }) >= 0)
		q = xs_bad_input(err, errsz, "line %u (%s): not after package '%s' (the packages "
				 "are sorted by name, each once)", st->line, what,
				 l->pkgs[l->npkgs - 1].name);
	if (q == 0)
		xs_lock_add_pkg(l, v[0], v[1], v[2], v[4], v[6], (uint64_t)num[5], src);
	free_vals(v);
	return q;
}

/* One stanza after the header: a source (before any package) or a package. */
static int take_body(struct xs_lock *l, const struct xs_stanza *st, char *err, size_t errsz)
{
	if (!xs_stanza_get(st, "Package") && xs_stanza_get(st, "URIs")) {
		if (l->npkgs)
			return xs_bad_input(err, errsz, "line %u: a source after the packages",
					    st->line);
		return take_source(l, st, err, errsz);
	}
	return take_pkg(l, st, err, errsz);
}

static int parse_stanzas(struct xs_lock *l, struct xs_deb822 *it, unsigned *header_line,
			 char *err, size_t errsz)
{
	const struct xs_stanza *st;
	int q, k = 0;
	while ((q = xs_deb822_next(it, &st)) > 0) {
		if (k == 0)
			*header_line = st->line;
		q = k++ == 0 ? take_header(l, st, err, errsz) : take_body(l, st, err, errsz);
		if (q < 0)
			return q;
	}
	if (q < 0)
		FAIL(q, "line %u: %s", it->line,
		     q == -E2BIG ? "a line or stanza over the limits" : "not deb822 text");
	if (k == 0)
		return xs_bad_input(err, errsz, "no header stanza (Lock-Format)");
	return 0;
}

int xs_lock_parse(const char *data, size_t len, struct xs_lock *out, char *err, size_t errsz)
{
	xs_lock_init(out, NULL);
	if (len > XS_LOCK_MAX_BYTES)
		FAIL(-E2BIG, "over %u bytes", XS_LOCK_MAX_BYTES);
	struct xs_deb822 it;
	xs_deb822_init(&it, data, len);
	unsigned hl = 0;
	int q = parse_stanzas(out, &it, &hl, err, errsz);
	xs_deb822_free(&it);
	if (q < 0)
		return q;
	char digest[65];
	if (pkgs_digest(out, digest) < 0 || strcmp(digest, out->view_digest))
		return xs_bad_input(err, errsz, "line %u (the header): View-Digest %s does not "
				    "match the packages (theirs is %s): the lock was edited or damaged",
				    hl, out->view_digest, digest);
	return 0;
}

int xs_lock_read(const char *path, struct xs_lock *out, char *err, size_t errsz)
{
	struct xs_buf b;
	int q = xs_read_file(path, XS_LOCK_MAX_BYTES, &b);
	if (q < 0) {
		xs_lock_init(out, NULL);
		xs_buf_free(&b);
		FAIL(q, "cannot read the lock file %s: %s", path, strerror(-q));
	}
	char perr[1024] = "";
	q = xs_lock_parse(b.data ? b.data : "", b.len, out, perr, sizeof perr);
	xs_buf_free(&b);
	if (q < 0)
		FAIL(q, "lock file %s: %s", path, perr);
	return 0;
}

const struct xs_lock_pkg *xs_lock_find(const struct xs_lock *l, const char *name)
{
	for (size_t i = 0; i < l->npkgs; i++)
		if (!strcmp(l->pkgs[i].name, name))
			return &l->pkgs[i];
	return NULL;
}

/* ---- the view of a lock ---------------------------------------------------- */

/* The source of a for lock source s: the one of the same suite, or nsrcs. */
static size_t archive_source(const struct xs_archive *a, const struct xs_lock_source *s)
{
	size_t n = xs_archive_nsources(a), i = 0;
	while (i < n && strcmp(xs_archive_source(a, i)->suite, s->suite))
		i++;
	return i;
}

bool xs_lock_moved_on(const struct xs_lock *l, const struct xs_archive_source *s)
{
	size_t i = find_suite(l, s->suite);
	return i < l->nsrcs && strcmp(l->srcs[i].inrelease_sha256, s->inrelease_sha256);
}

int xs_lock_select(const struct xs_lock *l, const char *path, const struct xs_archive *a,
		   xs_log_fn log, void *log_ud, struct xs_selection *out, char *err,
		   size_t errsz)
{
	memset(out, 0, sizeof *out);
	size_t *map = xs_xcalloc(l->nsrcs + 1, sizeof *map);
	for (size_t i = 0; i < l->nsrcs; i++) {
		const struct xs_lock_source *s = &l->srcs[i];
		map[i] = archive_source(a, s);
		if (map[i] == xs_archive_nsources(a)) {
			free(map);
			FAIL(-ENOENT, "the lock file %s pins packages of %s %s, which is not among the "
				      "sources (%s): pass --mirror and --suite %s", path, s->uris,
			     s->suite, xs_archive_describe(a), s->suite);
		}
		const struct xs_archive_source *as = xs_archive_source(a, map[i]);
		if (xs_lock_moved_on(l, as))
			xs_logf(log, log_ud, XS_LOG_INFO, "%s %s has moved on since the lock file %s "
				"was written: its pinned packages are fetched at mount (from the "
				"cache or the pool)", as->uri, s->suite, path);
	}
	out->pkgs = xs_xcalloc(l->npkgs + 1, sizeof *out->pkgs);
	for (size_t i = 0; i < l->npkgs; i++) {
		const struct xs_lock_pkg *p = &l->pkgs[i];
		xs_selection_pkg_fill(&out->pkgs[i], p->name, p->version, p->arch, p->filename,
				      p->sha256, p->size, (int)map[p->src]);
	}
	out->n = l->npkgs;
	free(map);
	return 0;
}

/* "a b c" of a NULL-terminated list */
static char *join_strv(char *const *v)
{
	struct xs_buf b;
	xs_buf_init(&b, 1 << 20);
	for (size_t i = 0; v && v[i]; i++)
		xs_buf_printf(&b, "%s%s", i ? " " : "", v[i]);
	char *s = xs_buf_steal(&b, NULL);
	return s ? s : xs_strdup("");
}

int xs_lock_of_repo(struct xs_repo *r, struct xs_lock *out, char *err, size_t errsz)
{
	xs_lock_init(out, xs_repo_arch(r)->deb);
	const struct xs_archive *a = xs_repo_archive(r);
	if (!a)
		FAIL(-EINVAL, "a view of a container image has no lock file");
	for (size_t i = 0; i < xs_archive_nsources(a); i++) {
		const struct xs_archive_source *s = xs_archive_source(a, i);
		char *uris = join_strv(s->mirrors), *comps = join_strv(s->components);
		xs_lock_add_source(out, uris, s->suite, comps,
				   s->rel && s->rel->date > 0 ? s->rel->date : 0, s->inrelease_sha256);
		free(uris), free(comps);
	}
	size_t n = xs_repo_npkgs(r);
	for (size_t i = 0; i < n; i++) {
		struct xs_repo_pkg p;
		if (xs_repo_pkg(r, i, &p) == 0)
			xs_lock_add_pkg(out, p.name, p.version, p.arch, p.filename, p.sha256, p.size,
					p.src);
	}
	return xs_lock_finish(out, err, errsz);
}
