/* aptsrc.c - see include/xsysroot/aptsrc.h
 *
 * One-line format, as apt reads it: '#' starts a comment unless it is inside
 * an open "[...]"; a line is "TYPE [ [opt=val ...] ] URI SUITE [COMP...]";
 * TYPE is "deb" or "deb-src" (deb-src is skipped, anything else is
 * -EBADMSG); a URI needs a ':'; a SUITE ending in '/' is a flat repository
 * and takes no component, any other suite needs at least one.  Options:
 * "arch=a,b" and "arch+=a" set/extend archs ("arch-=" is ignored),
 * "signed-by=v" sets signed_by; other options are accepted and ignored.
 *
 * deb822 format: Types, URIs, Suites, Components, Architectures, Signed-By,
 * Enabled.  A Signed-By holding an inline key (several lines, or a "-----"
 * armor line) gives signed_by NULL.  Enabled is false for no/false/off/
 * disable/0.  Disabled stanzas and stanzas without "deb" in Types are not
 * listed; as in apt, a disabled stanza needs only a valid Types field, while
 * a deb-src-only stanza is still checked in full.
 *
 * origin_file is "FILE:LINE" of the line or stanza.
 * Limits: MAX_ENTRIES entries in one list, MAX_WORDS words in one
 * field, MAX_FILE bytes per file, MAX_DIR files in sources.list.d; more is
 * -E2BIG.  A failed parse leaves the list as it was.
 */
#include "xsysroot/aptsrc.h"
#include "xsysroot/deb822.h"
#include "xsysroot/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_ENTRIES 4096
#define MAX_WORDS 256
#define MAX_FILE (4u << 20)
#define MAX_DIR 1024
#define WS " \t\r\n" /* separators in deb822 list fields */

static bool sp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n';
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

static char **strv_copy(char *const *v)
{
	if (!v)
		return NULL;
	size_t n = strv_len(v);
	char **c = xs_xcalloc(n + 1, sizeof *c);
	for (size_t i = 0; i < n; i++)
		c[i] = xs_strdup(v[i]);
	return c;
}

/* Append the words of [s, s+n) separated by any of 'seps' to *v. */
static int strv_split_append(char ***v, const char *s, size_t n, const char *seps)
{
	size_t cnt = strv_len(*v);
	const char *e = s + n;
	while (s < e) {
		while (s < e && strchr(seps, *s))
			s++;
		if (s == e)
			break;
		const char *w = s;
		while (s < e && !strchr(seps, *s))
			s++;
		if (cnt >= MAX_WORDS)
			return -E2BIG;
		*v = xs_xrealloc(*v, (cnt + 2) * sizeof **v);
		(*v)[cnt++] = xs_strndup(w, (size_t)(s - w));
		(*v)[cnt] = NULL;
	}
	if (!*v)
		*v = xs_xcalloc(1, sizeof **v);
	return 0;
}

static void source_free(struct xs_source *s)
{
	free(s->uri);
	free(s->suite);
	strv_free(s->components);
	free(s->signed_by);
	strv_free(s->archs);
	free(s->origin_file);
	memset(s, 0, sizeof *s);
}

void xs_sourcelist_free(struct xs_sourcelist *l)
{
	for (size_t i = 0; i < l->n; i++)
		source_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static void rollback(struct xs_sourcelist *l, size_t n0)
{
	while (l->n > n0)
		source_free(&l->v[--l->n]);
}

static char *uri_dup(const char *s, size_t n)
{
	/* drop trailing slashes, but never those right after "scheme:" */
	const char *colon = memchr(s, ':', n);
	size_t keep = colon ? (size_t)(colon - s) + 1 : 0;
	while (keep < n && s[keep] == '/')
		keep++;
	while (n > keep && s[n - 1] == '/')
		n--;
	return xs_strndup(s, n);
}

static bool uri_ok(const char *s, size_t n)
{
	if (n == 0 || !memchr(s, ':', n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] == 127)
			return false;
	return true;
}

static int add_entry(struct xs_sourcelist *l, const char *uri, size_t ulen, const char *suite,
		     size_t slen, char *const *comps, const char *signed_by, char *const *archs,
		     bool enabled, const char *file, unsigned line)
{
	if (l->n >= MAX_ENTRIES)
		return -E2BIG;
	xs_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
	struct xs_source *s = &l->v[l->n++];
	memset(s, 0, sizeof *s);
	s->uri = uri_dup(uri, ulen);
	s->suite = xs_strndup(suite, slen);
	s->components = comps ? strv_copy(comps) : xs_xcalloc(1, sizeof(char *));
	s->signed_by = signed_by ? xs_strdup(signed_by) : NULL;
	s->archs = strv_copy(archs);
	s->enabled = enabled;
	size_t fl = strlen(file ? file : "") + 16;
	s->origin_file = xs_xmalloc(fl);
	snprintf(s->origin_file, fl, "%s:%u", file ? file : "", line);
	return 0;
}

/* ---- one-line format ----------------------------------------------------- */

struct words {
	const char *s, *e;
};

static bool next_word(struct words *w, const char **ws, size_t *wn)
{
	while (w->s < w->e && sp(*w->s))
		w->s++;
	if (w->s == w->e)
		return false;
	*ws = w->s;
	while (w->s < w->e && !sp(*w->s))
		w->s++;
	*wn = (size_t)(w->s - *ws);
	return true;
}

static int parse_options(const char *s, const char *e, char ***archs, char **signed_by)
{
	struct words w = { s, e };
	const char *o;
	size_t n;
	while (next_word(&w, &o, &n)) {
		const char *eq = memchr(o, '=', n);
		if (!eq || eq == o || eq == o + n - 1)
			return -EBADMSG;
		size_t klen = (size_t)(eq - o);
		const char *v = eq + 1;
		size_t vlen = n - klen - 1;
		char mod = 0;
		if (o[klen - 1] == '+' || o[klen - 1] == '-')
			mod = o[--klen];
		if (klen == 0)
			return -EBADMSG;
		if (klen == 4 && strncmp(o, "arch", 4) == 0) {
			if (mod == '-')
				continue;
			if (mod == 0) {
				strv_free(*archs);
				*archs = NULL;
			}
			int r = strv_split_append(archs, v, vlen, ",");
			if (r < 0)
				return r;
		} else if (klen == 9 && strncmp(o, "signed-by", 9) == 0 && mod == 0) {
			free(*signed_by);
			*signed_by = xs_strndup(v, vlen);
		}
	}
	return 0;
}

static int parse_line(struct xs_sourcelist *l, const char *s, const char *e,
		      const char *file, unsigned line)
{
	struct words w = { s, e };
	const char *t, *uri, *suite, *c;
	size_t tn, un, sn, cn;
	_cleanup_free_ char *signed_by = NULL;
	char **archs = NULL, **comps = NULL;
	int r = -EBADMSG;

	if (!next_word(&w, &t, &tn))
		return 0;
	bool src = tn == 7 && strncmp(t, "deb-src", 7) == 0;
	if (!src && !(tn == 3 && strncmp(t, "deb", 3) == 0))
		return -EBADMSG;
	while (w.s < w.e && sp(*w.s))
		w.s++;
	if (w.s < w.e && *w.s == '[') {
		const char *close = memchr(w.s, ']', (size_t)(w.e - w.s));
		if (!close)
			goto out;
		r = parse_options(w.s + 1, close, &archs, &signed_by);
		if (r < 0)
			goto out;
		r = -EBADMSG;
		w.s = close + 1;
	}
	if (!next_word(&w, &uri, &un) || !uri_ok(uri, un) || !next_word(&w, &suite, &sn))
		goto out;
	if (suite[sn - 1] == '/') {
		if (next_word(&w, &c, &cn))
			goto out;
	} else {
		while (next_word(&w, &c, &cn)) {
			r = strv_split_append(&comps, c, cn, " ");
			if (r < 0)
				goto out;
			r = -EBADMSG;
		}
		if (!comps)
			goto out;
	}
	r = src ? 0 : add_entry(l, uri, un, suite, sn, comps, signed_by, archs, true, file, line);
out:
	strv_free(archs);
	strv_free(comps);
	return r;
}

int xs_aptsrc_parse_list(struct xs_sourcelist *l, const char *text, size_t len,
			 const char *file)
{
	const char *p = text, *end = text ? text + len : NULL;
	size_t n0 = l->n;
	unsigned line = 0;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e = nl ? nl : end;
		p = nl ? nl + 1 : end;
		line++;
		if (memchr(s, 0, (size_t)(e - s))) {
			rollback(l, n0);
			return -EBADMSG;
		}
		/* comment: a '#' outside of an open [ ... ] */
		int depth = 0;
		for (const char *q = s; q < e; q++) {
			if (*q == '[')
				depth++;
			else if (*q == ']' && depth > 0)
				depth--;
			else if (*q == '#' && depth == 0) {
				e = q;
				break;
			}
		}
		int r = parse_line(l, s, e, file, line);
		if (r < 0) {
			rollback(l, n0);
			return r;
		}
	}
	return 0;
}

/* ---- deb822 format ------------------------------------------------------- */

static bool bool_false(const struct xs_field *f)
{
	static const char *const no[] = { "no", "false", "off", "disable", "without", "0" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(no); i++)
		if (f->value_len == strlen(no[i]) && strncasecmp(f->value, no[i], f->value_len) == 0)
			return true;
	return false;
}

static int parse_stanza(struct xs_sourcelist *l, const struct xs_stanza *st, const char *file)
{
	const struct xs_field *ft = xs_stanza_get(st, "Types");
	const struct xs_field *fu = xs_stanza_get(st, "URIs");
	const struct xs_field *fs = xs_stanza_get(st, "Suites");
	const struct xs_field *fc = xs_stanza_get(st, "Components");
	const struct xs_field *fa = xs_stanza_get(st, "Architectures");
	const struct xs_field *fk = xs_stanza_get(st, "Signed-By");
	const struct xs_field *fe = xs_stanza_get(st, "Enabled");
	char **types = NULL, **uris = NULL, **suites = NULL, **comps = NULL, **archs = NULL;
	char *signed_by = NULL;
	int r;

	if (!ft)
		return -EBADMSG;
	if ((r = strv_split_append(&types, ft->value, ft->value_len, WS)) < 0)
		goto out;
	r = -EBADMSG;
	if (!types[0])
		goto out;
	bool deb = false;
	for (char **t = types; *t; t++) {
		if (!strcmp(*t, "deb"))
			deb = true;
		else if (strcmp(*t, "deb-src"))
			goto out;
	}
	r = 0;
	if (fe && bool_false(fe))
		goto out; /* apt checks nothing else in a disabled stanza */
	r = -EBADMSG;
	if (!fu || !fs)
		goto out;
	if ((r = strv_split_append(&uris, fu->value, fu->value_len, WS)) < 0 ||
	    (r = strv_split_append(&suites, fs->value, fs->value_len, WS)) < 0 ||
	    (fc && (r = strv_split_append(&comps, fc->value, fc->value_len, WS)) < 0) ||
	    (fa && (r = strv_split_append(&archs, fa->value, fa->value_len, WS)) < 0))
		goto out;
	r = -EBADMSG;
	if (!uris[0] || !suites[0])
		goto out;
	for (char **u = uris; *u; u++)
		if (!uri_ok(*u, strlen(*u)))
			goto out;
	for (char **s = suites; *s; s++) {
		bool flat = (*s)[strlen(*s) - 1] == '/';
		if (flat != !(comps && comps[0]))
			goto out;
	}
	if (fk && fk->value_len && !memchr(fk->value, '\n', fk->value_len) &&
	    !(fk->value_len >= 5 && !memcmp(fk->value, "-----", 5)))
		signed_by = xs_strndup(fk->value, fk->value_len);
	r = 0;
	if (!deb)
		goto out;
	for (char **u = uris; *u && r == 0; u++)
		for (char **s = suites; *s && r == 0; s++)
			r = add_entry(l, *u, strlen(*u), *s, strlen(*s), comps, signed_by, archs,
				      true, file, st->line);
out:
	strv_free(types);
	strv_free(uris);
	strv_free(suites);
	strv_free(comps);
	strv_free(archs);
	free(signed_by);
	return r;
}

int xs_aptsrc_parse_sources(struct xs_sourcelist *l, const char *text, size_t len,
			    const char *file)
{
	struct xs_deb822 it;
	const struct xs_stanza *st;
	size_t n0 = l->n;
	int r;
	xs_deb822_init(&it, text, len);
	while ((r = xs_deb822_next(&it, &st)) > 0)
		if ((r = parse_stanza(l, st, file)) < 0)
			break;
	xs_deb822_free(&it);
	if (r < 0)
		rollback(l, n0);
	return r < 0 ? r : 0;
}

/* ---- files --------------------------------------------------------------- */

static char *join(const char *root, const char *rel)
{
	size_t n = strlen(root);
	while (n > 0 && root[n - 1] == '/')
		n--;
	size_t len = n + strlen(rel) + 2;
	char *p = xs_xmalloc(len);
	snprintf(p, len, "%.*s/%s", (int)n, root, rel);
	return p;
}

static int load_file(struct xs_sourcelist *l, const char *path, bool deb822)
{
	struct xs_buf b;
	int r = xs_read_file(path, MAX_FILE, &b);
	if (r == -ENOENT) {
		xs_buf_free(&b);
		return 0;
	}
	if (r < 0) {
		xs_buf_free(&b);
		return r;
	}
	r = deb822 ? xs_aptsrc_parse_sources(l, b.data, b.len, path)
		   : xs_aptsrc_parse_list(l, b.data, b.len, path);
	xs_buf_free(&b);
	return r;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a > b && strcmp(s + a - b, suf) == 0;
}

static bool name_ok(const char *s)
{
	if (s[0] == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int xs_aptsrc_load(struct xs_sourcelist *l, const char *root)
{
	_cleanup_free_ char *main_list = join(root, "etc/apt/sources.list");
	_cleanup_free_ char *dir = join(root, "etc/apt/sources.list.d");
	size_t n0 = l->n;
	char **names = NULL;
	size_t n = 0;
	int r = load_file(l, main_list, false);
	if (r < 0)
		return r;

	DIR *d = opendir(dir);
	if (!d) {
		r = errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
		if (r < 0)
			rollback(l, n0);
		return r;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!name_ok(de->d_name) ||
		    !(ends_with(de->d_name, ".list") || ends_with(de->d_name, ".sources")))
			continue;
		if (n >= MAX_DIR) {
			r = -E2BIG;
			break;
		}
		names = xs_xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xs_strdup(de->d_name);
	}
	closedir(d);
	if (r == 0 && n)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n && r == 0; i++) {
		_cleanup_free_ char *path = join(dir, names[i]);
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		r = load_file(l, path, ends_with(names[i], ".sources"));
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (r < 0)
		rollback(l, n0);
	return r;
}

/* ---- os-release ---------------------------------------------------------- */

/* The value of KEY in os-release text, unquoted, into out. */
static int osr_get(const char *text, size_t len, const char *key, char *out, size_t outsz)
{
	const char *p = text, *end = text + len;
	size_t kl = strlen(key);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e = nl ? nl : end;
		p = nl ? nl + 1 : end;
		while (s < e && sp(*s))
			s++;
		if ((size_t)(e - s) <= kl || strncmp(s, key, kl) != 0 || s[kl] != '=')
			continue;
		s += kl + 1;
		while (e > s && sp(e[-1]))
			e--;
		size_t o = 0;
		char q = (s < e && (*s == '"' || *s == '\'')) ? *s++ : 0;
		for (; s < e; s++) {
			char ch = *s;
			if (q && ch == q)
				break;
			if (q == '"' && ch == '\\' && s + 1 < e)
				ch = *++s;
			else if (!q && sp(ch))
				break;
			if (o + 1 >= outsz)
				return -ERANGE;
			out[o++] = ch;
		}
		out[o] = 0;
		return 0;
	}
	return -ENOENT;
}

static bool codename_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_' || *s == '+'))
			return false;
	return true;
}

int xs_osrelease_codename(const char *root, char *out, size_t outsz)
{
	static const char *const files[] = { "etc/os-release", "usr/lib/os-release" };
	struct xs_buf b;
	int r = -ENOENT;
	if (!out || outsz == 0)
		return -EINVAL;
	for (size_t i = 0; i < XS_ARRAY_SIZE(files) && r == -ENOENT; i++) {
		_cleanup_free_ char *path = join(root, files[i]);
		r = xs_read_file(path, 1u << 16, &b);
		if (r < 0)
			xs_buf_free(&b);
	}
	if (r < 0)
		return r;

	char val[256];
	r = osr_get(b.data, b.len, "VERSION_CODENAME", val, sizeof val);
	if (r == 0 && val[0] == 0)
		r = -ENOENT;
	if (r == -ENOENT && osr_get(b.data, b.len, "VERSION", val, sizeof val) == 0) {
		/* "12 (bookworm)": the first word in parentheses, lowercased */
		char *o = strchr(val, '(');
		r = -ENODATA;
		if (o) {
			size_t k = 0;
			for (o++; *o && *o != ')' && !sp(*o); o++)
				val[k++] = (char)(*o >= 'A' && *o <= 'Z' ? *o - 'A' + 'a' : *o);
			val[k] = 0;
			r = 0;
		}
	} else if (r == -ENOENT) {
		r = -ENODATA;
	}
	xs_buf_free(&b);
	if (r < 0)
		return r == -ERANGE ? -EBADMSG : r;
	if (!codename_ok(val))
		return -ENODATA;
	if (strlen(val) + 1 > outsz)
		return -ERANGE;
	strcpy(out, val);
	return 0;
}

bool xs_suite_belongs(const char *suite, const char *codename)
{
	static const char *const ok[] = { "", "-updates", "-security", "-proposed-updates",
					   "/updates" };
	if (!suite || !codename || !*codename)
		return false;
	size_t n = strlen(codename);
	if (strncmp(suite, codename, n) != 0)
		return false;
	for (size_t i = 0; i < XS_ARRAY_SIZE(ok); i++)
		if (strcmp(suite + n, ok[i]) == 0)
			return true;
	return false;
}
