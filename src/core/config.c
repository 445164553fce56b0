/* config.c - see include/xsysroot/config.h */
#include "xsysroot/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xsysroot/arch.h"
#include "xsysroot/util.h"

enum kind { K_URLS, K_WORD, K_WORDS, K_NAMES, K_PATH, K_SIZE, K_PROXY, K_SECONDS };

static const struct xs_config_key_info keys[XS_CONF_NKEYS] = {
	[XS_CONF_MIRROR] = { "mirror", "URL...",
			     "archive base URLs, tried in order (failover)" },
	[XS_CONF_SUITE] = { "suite", "NAME", "suite or codename" },
	[XS_CONF_COMPONENTS] = { "components", "LIST", "components (default: main)" },
	[XS_CONF_PACKAGES] = { "packages", "LIST", "packages added to the view" },
	[XS_CONF_KEYRING] = { "keyring", "FILE", "OpenPGP keyring for the InRelease signature" },
	[XS_CONF_CACHE_DIR] = { "cache-dir", "DIR", "cache directory" },
	[XS_CONF_QUOTA] = { "quota", "SIZE", "largest size of the cache (K, M, G, T suffixes)" },
	[XS_CONF_PROXY] = { "proxy", "URL", "HTTP proxy (empty: none, not even the environment's)" },
	[XS_CONF_FETCH_TIMEOUT] = { "fetch-timeout", "SECS",
				      "a package download fails after this long without data" },
};

static const enum kind kinds[XS_CONF_NKEYS] = {
	[XS_CONF_MIRROR] = K_URLS,   [XS_CONF_SUITE] = K_WORD,	   [XS_CONF_COMPONENTS] = K_WORDS,
	[XS_CONF_PACKAGES] = K_NAMES, [XS_CONF_KEYRING] = K_PATH,    [XS_CONF_CACHE_DIR] = K_PATH,
	[XS_CONF_QUOTA] = K_SIZE,    [XS_CONF_PROXY] = K_PROXY,	   [XS_CONF_FETCH_TIMEOUT] = K_SECONDS,
};

#define MAX_LIST 64 /* items of a list value */

const struct xs_config_key_info *xs_config_keys(size_t *n)
{
	if (n)
		*n = XS_CONF_NKEYS;
	return keys;
}

void xs_config_init(struct xs_config *c)
{
	memset(c, 0, sizeof *c);
}

static void section_free(struct xs_config_section *s)
{
	free(s->arch);
	for (size_t k = 0; k < XS_CONF_NKEYS; k++)
		free(s->v[k].value), free(s->v[k].origin);
}

void xs_config_free(struct xs_config *c)
{
	for (size_t i = 0; i < c->n; i++)
		section_free(&c->secs[i]);
	free(c->secs);
	memset(c, 0, sizeof *c);
}

/* The section for arch (NULL: global) in c, added when absent; NULL when
 * there would be too many. */
static struct xs_config_section *section_of(struct xs_config *c, const char *arch)
{
	if (c->n == 0) {
		xs_grow(&c->secs, &c->cap, 1, sizeof *c->secs);
		memset(&c->secs[0], 0, sizeof c->secs[0]);
		c->n = 1;
	}
	if (!arch)
		return &c->secs[0];
	for (size_t i = 1; i < c->n; i++)
		if (!strcmp(c->secs[i].arch, arch))
			return &c->secs[i];
	if (c->n >= XS_CONFIG_MAX_SECTIONS)
		return NULL;
	xs_grow(&c->secs, &c->cap, c->n + 1, sizeof *c->secs);
	struct xs_config_section *s = &c->secs[c->n++];
	memset(s, 0, sizeof *s);
	s->arch = xs_strdup(arch);
	return s;
}

/* ---- values ------------------------------------------------------------ */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("._+-/~:", c);
}

/* Each item of a list (separated by blanks and commas) meets ok(); at least
 * one, at most MAX_LIST. */
static const char *check_list(const char *v, bool (*ok)(const char *b, size_t n))
{
	size_t n = 0;
	for (const char *p = v; *p;) {
		while (*p == ',' || is_blank(*p))
			p++;
		const char *b = p;
		while (*p && *p != ',' && !is_blank(*p))
			p++;
		if (p == b)
			continue;
		if (++n > MAX_LIST)
			return "too many items";
		if (!ok(b, (size_t)(p - b)))
			return NULL;
	}
	return n ? "" : "an empty list";
}

static bool url_ok(const char *b, size_t n)
{
	size_t s = !strncmp(b, "http://", 7) ? 7 : !strncmp(b, "https://", 8) ? 8 : 0;
	return s && n > s && b[s] != '/';
}

static bool word_ok(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!word_char(b[i]))
			return false;
	return true;
}

static bool name_ok(const char *b, size_t n)
{
	if (!((b[0] >= 'a' && b[0] <= 'z') || (b[0] >= '0' && b[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') ||
		      strchr("+.-", b[i])))
			return false;
	return true;
}

/* NULL when v is a valid value of key k, else why not. */
static const char *check_value(int k, const char *v)
{
	const char *e;
	switch (kinds[k]) {
	case K_URLS:
		e = check_list(v, url_ok);
		return e && !*e ? NULL : e ? e : "each mirror must be an http:// or https:// URL";
	case K_WORDS:
		e = check_list(v, word_ok);
		return e && !*e ? NULL : e ? e : "a list of names (letters, digits, ._+-/~:)";
	case K_NAMES:
		e = check_list(v, name_ok);
		return e && !*e ? NULL : e ? e : "a list of Debian package names";
	case K_WORD:
		return *v && word_ok(v, strlen(v)) ? NULL : "one name (letters, digits, ._+-/~:)";
	case K_PATH:
		return v[0] == '/' ? NULL : "an absolute path";
	case K_SIZE: {
		uint64_t q;
		int r = xs_parse_size(v, &q);
		return r == -ERANGE ? "too large" : r < 0 ? "a size such as 512M or 20G" : NULL;
	}
	case K_PROXY:
		for (const char *p = v; *p; p++)
			if (is_blank(*p))
				return "a URL without blanks (or nothing: no proxy)";
		return NULL;
	case K_SECONDS: {
		char *end;
		long s = strtol(v, &end, 10);
		return end == v || *end || s <= 0 || s > 86400 ? "a number of seconds (1-86400)"
								: NULL;
	}
	}
	return "unknown kind";
}

/* ---- parsing ----------------------------------------------------------- */

#define PFAIL(...)                                                          \
	do {                                                                \
		int n_ = snprintf(err, errsz, "%s:%zu: ", file, lineno);     \
		if (n_ >= 0 && (size_t)n_ < errsz)                          \
			snprintf(err + n_, errsz - (size_t)n_, __VA_ARGS__); \
		q = -EINVAL;                                                \
		goto out;                                                   \
	} while (0)

static char *trimmed(const char *b, const char *e)
{
	while (b < e && is_blank(*b))
		b++;
	while (e > b && (is_blank(e[-1]) || e[-1] == '\r'))
		e--;
	return xs_strndup(b, (size_t)(e - b));
}

/* "[arch NAME]": the Debian name in out; else NULL and why. */
static const char *section_header(const char *line, char *out, size_t outsz)
{
	size_t n = strlen(line);
	if (n < 2 || line[n - 1] != ']')
		return "a section header must end with ']'";
	char *in = trimmed(line + 1, line + n - 1);
	const char *why = NULL;
	if (strncmp(in, "arch", 4) || !is_blank(in[4])) {
		why = "the only sections are [arch NAME]";
	} else {
		char *name = trimmed(in + 5, in + strlen(in));
		const struct xs_arch *a = *name ? xs_arch_lookup(name) : NULL;
		if (!a)
			why = "unknown architecture in [arch NAME]";
		else
			snprintf(out, outsz, "%s", a->deb);
		free(name);
	}
	free(in);
	return why;
}

static int key_index(const char *name)
{
	for (int k = 0; k < XS_CONF_NKEYS; k++)
		if (!strcmp(keys[k].name, name))
			return k;
	return -1;
}

/* Copy the values of src over those of dst (sections merged by arch). */
static int merge(struct xs_config *dst, const struct xs_config *src)
{
	size_t add = 0;
	for (size_t i = 1; i < src->n; i++) {
		bool have = false;
		for (size_t j = 1; j < dst->n && !have; j++)
			have = !strcmp(dst->secs[j].arch, src->secs[i].arch);
		add += !have;
	}
	if ((dst->n ? dst->n : 1) + add > XS_CONFIG_MAX_SECTIONS)
		return -E2BIG;
	for (size_t i = 0; i < src->n; i++) {
		struct xs_config_section *d = section_of(dst, src->secs[i].arch);
		if (!d)
			return -E2BIG;
		for (size_t k = 0; k < XS_CONF_NKEYS; k++) {
			const struct xs_config_value *v = &src->secs[i].v[k];
			if (!v->value)
				continue;
			free(d->v[k].value), free(d->v[k].origin);
			d->v[k].value = xs_strdup(v->value);
			d->v[k].origin = xs_strdup(v->origin);
		}
	}
	return 0;
}

int xs_config_parse(struct xs_config *c, const char *text, size_t len, const char *file,
		    char *err, size_t errsz)
{
	struct xs_config f; /* this file alone, merged into c at the end */
	xs_config_init(&f);
	section_of(&f, NULL);
	struct xs_config_section *sec = &f.secs[0];
	size_t lineno = 0, cur = 0; /* cur: index of sec in f.secs */
	char *line = NULL;
	int q = 0;
	if (len > XS_CONFIG_MAX_FILE) {
		snprintf(err, errsz, "%s: larger than %u bytes", file, XS_CONFIG_MAX_FILE);
		q = -EFBIG;
		goto out;
	}
	for (size_t pos = 0; pos < len;) {
		const char *b = text + pos, *nl = memchr(b, '\n', len - pos);
		const char *e = nl ? nl : text + len;
		pos = (size_t)(e - text) + (nl ? 1 : 0);
		lineno++;
		if ((size_t)(e - b) > XS_CONFIG_MAX_LINE)
			PFAIL("line longer than %d bytes", XS_CONFIG_MAX_LINE);
		if (memchr(b, 0, (size_t)(e - b)))
			PFAIL("a NUL byte: not a text file");
		free(line);
		line = trimmed(b, e);
		if (!line[0] || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[') {
			char arch[32];
			const char *why = section_header(line, arch, sizeof arch);
			if (why)
				PFAIL("%s: %s", line, why);
			sec = section_of(&f, arch);
			if (!sec)
				PFAIL("more than %d sections", XS_CONFIG_MAX_SECTIONS);
			cur = (size_t)(sec - f.secs);
			continue;
		}
		char *eq = strchr(line, '=');
		if (!eq)
			PFAIL("expected KEY = VALUE or [arch NAME], not '%s'", line);
		_cleanup_free_ char *key = trimmed(line, eq);
		_cleanup_free_ char *val = trimmed(eq + 1, line + strlen(line));
		int k = key_index(key);
		if (k < 0) {
			struct xs_buf names;
			xs_buf_init(&names, 4096);
			for (size_t i = 0; i < XS_CONF_NKEYS; i++)
				xs_buf_printf(&names, "%s%s", i ? ", " : "", keys[i].name);
			snprintf(err, errsz, "%s:%zu: unknown key '%s' (the keys are: %s)", file,
				 lineno, key, names.data);
			xs_buf_free(&names);
			q = -EINVAL;
			goto out;
		}
		sec = &f.secs[cur];
		if (sec->v[k].value)
			PFAIL("'%s' is given twice in this section (first at %s)", key,
			      sec->v[k].origin);
		const char *bad = check_value(k, val);
		if (bad)
			PFAIL("%s = %s: expected %s", key, val, bad);
		sec->v[k].value = steal_pointer(&val);
		char origin[XS_MAX_PATH + 32];
		snprintf(origin, sizeof origin, "%s:%zu", file, lineno);
		sec->v[k].origin = xs_strdup(origin);
	}
	q = merge(c, &f);
	if (q < 0)
		snprintf(err, errsz, "%s: more than %d sections over all files", file,
			 XS_CONFIG_MAX_SECTIONS);
out:
	free(line);
	xs_config_free(&f);
	return q;
}

int xs_config_load(struct xs_config *c, const char *path, bool must_exist, char *err,
		   size_t errsz)
{
	struct xs_buf b;
	int q = xs_read_file(path, XS_CONFIG_MAX_FILE, &b);
	if (q == -ENOENT && !must_exist)
		return 0;
	if (q < 0) {
		snprintf(err, errsz, "cannot read %s: %s", path,
			 q == -E2BIG ? "larger than 1 MiB" : strerror(-q));
		return q;
	}
	q = xs_config_parse(c, b.data ? b.data : "", b.len, path, err, errsz);
	xs_buf_free(&b);
	return q;
}

void xs_config_resolve(const struct xs_config *c, const char *arch, struct xs_settings *out)
{
	memset(out, 0, sizeof *out);
	const struct xs_arch *a = arch ? xs_arch_lookup(arch) : NULL;
	for (size_t i = 0; i < c->n; i++) {
		const struct xs_config_section *s = &c->secs[i];
		if (s->arch && (!a || strcmp(s->arch, a->deb)))
			continue;
		for (size_t k = 0; k < XS_CONF_NKEYS; k++) {
			/* secs[0] is global; an arch section always comes after it */
			if (!s->v[k].value)
				continue;
			out->value[k] = s->v[k].value;
			out->origin[k] = s->v[k].origin;
		}
	}
	if (out->value[XS_CONF_QUOTA])
		xs_parse_size(out->value[XS_CONF_QUOTA], &out->quota);
	if (out->value[XS_CONF_FETCH_TIMEOUT])
		out->fetch_timeout_s = atoi(out->value[XS_CONF_FETCH_TIMEOUT]);
}

int xs_config_user_path(char *out, size_t outsz)
{
	return xs_xdg_path("XDG_CONFIG_HOME", ".config", "xsysroot/config", out, outsz);
}
