/* release.c - see include/xsysroot/release.h
 *
 * Clearsigned text (xs_clearsign_split) follows apt's SplitClearSignedFile:
 *  - every line loses its trailing blanks (space, tab, CR): RFC 4880 7.1
 *    leaves them out of the signature, so gpgv and we read the same text;
 *  - the returned text holds each signed line followed by '\n', the last
 *    line included (the line break before "-----BEGIN PGP SIGNATURE-----"
 *    formally belongs to the armor; we add it back so that the text is a
 *    well-formed file of lines);
 *  - only blank lines may come before the BEGIN PGP SIGNED MESSAGE line,
 *    the armor headers may only be "Hash:" lines, a message line starting
 *    with '-' must be "- " (dash escaped) or the BEGIN PGP SIGNATURE line,
 *    a signature block may not contain a line starting with '-' other than
 *    its END line, and after it come only blank lines or a further
 *    signature block (apt accepts several);
 *  - a NUL byte anywhere is refused.
 */
#include "xsysroot/release.h"
#include "xsysroot/deb822.h"
#include "xsysroot/http.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_LIST 1024 /* entries in Architectures / Components */

static const char BEGIN_MSG[] = "-----BEGIN PGP SIGNED MESSAGE-----";
static const char BEGIN_SIG[] = "-----BEGIN PGP SIGNATURE-----";
static const char END_SIG[] = "-----END PGP SIGNATURE-----";

#define fail xs_bad_input

static bool line_is(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n == l && memcmp(s, lit, l) == 0;
}

static bool line_starts(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n >= l && memcmp(s, lit, l) == 0;
}

int xs_clearsign_split(const char *data, size_t len, char **text, size_t *text_len,
		       char *err, size_t errsz)
{
	enum { BEFORE, HEADERS, MESSAGE, SIG, AFTER } state = BEFORE;
	struct xs_buf out;
	unsigned line = 0;
	size_t sig_lines = 0;
	int r;

	*text = NULL;
	if (text_len)
		*text_len = 0;
	if (!data)
		len = 0;
	if (len && memchr(data, 0, len))
		return fail(err, errsz, "NUL byte in clearsigned data");
	xs_buf_init(&out, len + 1);

	const char *p = data, *end = data ? data + len : NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e = nl ? nl : end;
		p = nl ? nl + 1 : end;
		line++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		size_t n = (size_t)(e - s);

		switch (state) {
		case BEFORE:
			if (n == 0)
				continue;
			if (!line_is(s, n, BEGIN_MSG)) {
				r = fail(err, errsz, "line %u: text before the signed message", line);
				goto out;
			}
			state = HEADERS;
			break;
		case HEADERS:
			if (n == 0) {
				state = MESSAGE;
				break;
			}
			if (!line_starts(s, n, "Hash: ")) {
				r = fail(err, errsz, "line %u: unexpected armor header", line);
				goto out;
			}
			break;
		case MESSAGE:
			if (n && s[0] == '-') {
				if (line_is(s, n, BEGIN_SIG)) {
					state = SIG;
					sig_lines = 0;
					break;
				}
				if (!line_starts(s, n, "- ")) {
					r = fail(err, errsz,
						 "line %u: unexpected line starting with a dash", line);
					goto out;
				}
				s += 2;
				n -= 2;
			}
			if ((r = xs_buf_append(&out, s, n)) < 0 ||
			    (r = xs_buf_append(&out, "\n", 1)) < 0)
				goto out;
			break;
		case SIG:
			if (line_is(s, n, END_SIG)) {
				if (sig_lines == 0) {
					r = fail(err, errsz, "line %u: empty signature block", line);
					goto out;
				}
				state = AFTER;
				break;
			}
			if (n && s[0] == '-') {
				r = fail(err, errsz,
					 "line %u: unexpected line starting with a dash in the signature",
					 line);
				goto out;
			}
			if (n)
				sig_lines++;
			break;
		case AFTER:
			if (n == 0)
				continue;
			if (line_is(s, n, BEGIN_SIG)) {
				state = SIG;
				sig_lines = 0;
				break;
			}
			r = fail(err, errsz, "line %u: unsigned text after the signature", line);
			goto out;
		}
	}

	switch (state) {
	case BEFORE:
		r = fail(err, errsz, "not a clearsigned message");
		goto out;
	case HEADERS:
	case MESSAGE:
		r = fail(err, errsz, "missing signature block");
		goto out;
	case SIG:
		r = fail(err, errsz, "signature block not closed");
		goto out;
	case AFTER:
		break;
	}
	*text = xs_buf_steal(&out, text_len);
	return *text ? 0 : -ENOMEM;
out:
	xs_buf_free(&out);
	return r;
}

/* ---- dates --------------------------------------------------------------- */

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

static int read_num(const char **p, int mindig, int maxdig, int *out)
{
	int v = 0, d = 0;
	while (d < maxdig && **p >= '0' && **p <= '9') {
		v = v * 10 + (**p - '0');
		(*p)++;
		d++;
	}
	if (d < mindig || (**p >= '0' && **p <= '9'))
		return -EINVAL;
	*out = v;
	return 0;
}

static void skip_sp(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static int need_sp(const char **p)
{
	if (**p != ' ' && **p != '\t')
		return -EINVAL;
	skip_sp(p);
	return 0;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int xs_parse_rfc2822(const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int day, mon = -1, year, hh, mm, ss = 0, off = 0;
	const char *p = s;

	if (!s)
		return -EINVAL;
	skip_sp(&p);
	/* optional "Day," */
	if ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) {
		size_t i;
		for (i = 0; i < XS_ARRAY_SIZE(wdays); i++)
			if (strncasecmp(p, wdays[i], 3) == 0)
				break;
		if (i == XS_ARRAY_SIZE(wdays) || p[3] != ',')
			return -EINVAL;
		p += 4;
		skip_sp(&p);
	}
	if (read_num(&p, 1, 2, &day) < 0 || need_sp(&p) < 0)
		return -EINVAL;
	for (size_t i = 0; i < XS_ARRAY_SIZE(months); i++)
		if (strncasecmp(p, months[i], 3) == 0) {
			mon = (int)i;
			break;
		}
	if (mon < 0)
		return -EINVAL;
	p += 3;
	if (need_sp(&p) < 0 || read_num(&p, 4, 4, &year) < 0 || need_sp(&p) < 0)
		return -EINVAL;
	if (read_num(&p, 2, 2, &hh) < 0 || *p != ':')
		return -EINVAL;
	p++;
	if (read_num(&p, 2, 2, &mm) < 0)
		return -EINVAL;
	if (*p == ':') {
		p++;
		if (read_num(&p, 2, 2, &ss) < 0)
			return -EINVAL;
	}
	if (need_sp(&p) < 0)
		return -EINVAL;
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, z;
		p++;
		if (read_num(&p, 4, 4, &z) < 0 || z % 100 > 59)
			return -EINVAL;
		off = sign * ((z / 100) * 3600 + (z % 100) * 60);
	} else if (strncmp(p, "UTC", 3) == 0 || strncmp(p, "GMT", 3) == 0) {
		p += 3;
	} else if (strncmp(p, "UT", 2) == 0) {
		p += 2;
	} else if (*p == 'Z') {
		p++;
	} else {
		return -EINVAL;
	}
	skip_sp(&p);
	if (*p)
		return -EINVAL;

	if (year < 1970 || hh > 23 || mm > 59 || ss > 60 || day < 1 ||
	    day > mdays[mon] + (mon == 1 && leap(year)))
		return -EINVAL;
	struct tm tm = { .tm_year = year - 1900, .tm_mon = mon, .tm_mday = day,
			 .tm_hour = hh, .tm_min = mm, .tm_sec = ss };
	time_t t = timegm(&tm);
	int64_t v = (int64_t)t - off;
	if (v < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static const char *fmt_time(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_wday < 0 ||
	    tm.tm_wday > 6) {
		snprintf(buf, n, "@%lld", (long long)t);
		return buf;
	}
	snprintf(buf, n, "%s, %02d %s %04d %02d:%02d:%02d UTC", wdays[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return buf;
}

int xs_release_check_dates(const struct xs_release *r, int64_t now, int64_t slack,
			   bool allow_expired, char *err, size_t errsz)
{
	char a[64], b[64];
	int64_t limit;
	if (__builtin_add_overflow(now, slack < 0 ? 0 : slack, &limit))
		limit = INT64_MAX;
	if (r->date >= 0 && r->date > limit) {
		if (err && errsz)
			snprintf(err, errsz,
				 "Release file is not valid yet: Date is %s, now is %s",
				 fmt_time(r->date, a, sizeof a), fmt_time(now, b, sizeof b));
		return -EKEYREJECTED;
	}
	if (r->valid_until >= 0 && r->valid_until < now && !allow_expired) {
		if (err && errsz)
			snprintf(err, errsz,
				 "Release file has expired: Valid-Until is %s, now is %s",
				 fmt_time(r->valid_until, a, sizeof a),
				 fmt_time(now, b, sizeof b));
		return -EKEYEXPIRED;
	}
	return 0;
}

/* ---- Release ------------------------------------------------------------- */

static bool is_sp(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whitespace separated words of a field: a NULL-terminated array (never NULL
 * itself). */
static int split_words(const struct xs_field *f, char ***out)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	xs_grow(&v, &cap, 1, sizeof *v);
	if (f) {
		const char *p = f->value, *end = f->value + f->value_len;
		while (p < end) {
			while (p < end && is_sp(*p))
				p++;
			if (p == end)
				break;
			const char *s = p;
			while (p < end && !is_sp(*p))
				p++;
			if (n >= MAX_LIST) {
				for (size_t i = 0; i < n; i++)
					free(v[i]);
				free(v);
				return -E2BIG;
			}
			xs_grow(&v, &cap, n + 2, sizeof *v);
			v[n++] = xs_strndup(s, (size_t)(p - s));
		}
	}
	v[n] = NULL;
	*out = v;
	return 0;
}

static void free_words(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static bool field_yes(const struct xs_stanza *st, const char *name)
{
	const struct xs_field *f = xs_stanza_get(st, name);
	return f && f->value_len == 3 && strncasecmp(f->value, "yes", 3) == 0;
}

static int field_date(const struct xs_stanza *st, const char *name, int64_t *out,
		      char *err, size_t errsz)
{
	*out = -1;
	const struct xs_field *f = xs_stanza_get(st, name);
	if (!f)
		return 0;
	char buf[128];
	if (f->value_len >= sizeof buf)
		return fail(err, errsz, "bad %s: too long", name);
	memcpy(buf, f->value, f->value_len);
	buf[f->value_len] = 0;
	if (xs_parse_rfc2822(buf, out) < 0)
		return fail(err, errsz, "bad %s: '%s'", name, buf);
	return 0;
}

static int parse_sha256(struct xs_release *r, const struct xs_field *f, char *err,
			size_t errsz)
{
	const char *p = f->value, *end = f->value + f->value_len;
	size_t cap = 0;
	unsigned ln = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e = nl ? nl : end;
		p = nl ? nl + 1 : end;
		ln++;
		while (s < e && is_sp(*s))
			s++;
		while (e > s && is_sp(e[-1]))
			e--;
		if (s == e)
			continue;
		/* <64 hex> <size> <path> */
		const char *q = s;
		char hex[65];
		size_t i;
		for (i = 0; i < 64 && q < e; i++, q++) {
			if (xs_hexval(*q) < 0)
				break;
			hex[i] = (char)(*q >= 'A' && *q <= 'F' ? *q - 'A' + 'a' : *q);
		}
		hex[64] = 0;
		if (i != 64 || q == e || !is_sp(*q))
			return fail(err, errsz, "SHA256 line %u: bad digest", ln);
		while (q < e && is_sp(*q))
			q++;
		uint64_t size = 0;
		const char *ds = q;
		while (q < e && *q >= '0' && *q <= '9') {
			unsigned d = (unsigned)(*q - '0');
			if (size > (UINT64_MAX - d) / 10)
				return fail(err, errsz, "SHA256 line %u: size too large", ln);
			size = size * 10 + d;
			q++;
		}
		if (q == ds || q == e || !is_sp(*q))
			return fail(err, errsz, "SHA256 line %u: bad size", ln);
		while (q < e && is_sp(*q))
			q++;
		const char *ps = q;
		while (q < e && !is_sp(*q))
			q++;
		if (q == ps || q != e)
			return fail(err, errsz, "SHA256 line %u: bad path", ln);
		if (r->n_files >= XS_RELEASE_MAX_FILES)
			return fail(err, errsz, "more than %u files in SHA256",
				    (unsigned)XS_RELEASE_MAX_FILES);
		xs_grow(&r->files, &cap, r->n_files + 1, sizeof *r->files);
		struct xs_release_file *rf = &r->files[r->n_files++];
		rf->path = xs_strndup(ps, (size_t)(q - ps));
		rf->size = size;
		memcpy(rf->sha256, hex, sizeof hex);
	}
	return 0;
}

int xs_release_parse(const char *text, size_t len, struct xs_release *out, char *err,
		     size_t errsz)
{
	struct xs_deb822 it;
	const struct xs_stanza *st;
	int r;

	memset(out, 0, sizeof *out);
	out->date = out->valid_until = -1;
	xs_deb822_init(&it, text, len);
	r = xs_deb822_next(&it, &st);
	if (r < 0) {
		r = fail(err, errsz, "line %u: malformed Release (%s)", it.line,
			 r == -E2BIG ? "too large" : "syntax");
		goto fail;
	}
	if (r == 0) {
		r = fail(err, errsz, "empty Release file");
		goto fail;
	}

	out->origin = xs_stanza_dup(st, "Origin");
	out->label = xs_stanza_dup(st, "Label");
	out->suite = xs_stanza_dup(st, "Suite");
	out->codename = xs_stanza_dup(st, "Codename");
	out->version = xs_stanza_dup(st, "Version");
	out->acquire_by_hash = field_yes(st, "Acquire-By-Hash");
	out->not_automatic = field_yes(st, "NotAutomatic");
	out->but_automatic_upgrades = field_yes(st, "ButAutomaticUpgrades");
	if ((r = field_date(st, "Date", &out->date, err, errsz)) < 0 ||
	    (r = field_date(st, "Valid-Until", &out->valid_until, err, errsz)) < 0)
		goto fail;
	if ((r = split_words(xs_stanza_get(st, "Architectures"), &out->architectures)) < 0 ||
	    (r = split_words(xs_stanza_get(st, "Components"), &out->components)) < 0) {
		r = fail(err, errsz, "too many Architectures or Components");
		goto fail;
	}
	const struct xs_field *f = xs_stanza_get(st, "SHA256");
	if (f && (r = parse_sha256(out, f, err, errsz)) < 0)
		goto fail;

	r = xs_deb822_next(&it, &st);
	if (r != 0) {
		r = fail(err, errsz, "line %u: unexpected text after the Release stanza",
			 it.line);
		goto fail;
	}
	xs_deb822_free(&it);
	return 0;
fail:
	xs_deb822_free(&it);
	xs_release_free(out);
	return r;
}

void xs_release_free(struct xs_release *r)
{
	if (!r)
		return;
	free(r->origin);
	free(r->label);
	free(r->suite);
	free(r->codename);
	free(r->version);
	free_words(r->architectures);
	free_words(r->components);
	for (size_t i = 0; i < r->n_files; i++)
		free(r->files[i].path);
	free(r->files);
	memset(r, 0, sizeof *r);
	r->date = r->valid_until = -1;
}

const struct xs_release_file *xs_release_find(const struct xs_release *r, const char *path)
{
	for (size_t i = 0; i < r->n_files; i++)
		if (strcmp(r->files[i].path, path) == 0)
			return &r->files[i];
	return NULL;
}

/* ---- the validators of a stored InRelease ------------------------------- */

_Static_assert(XS_RELEASE_ETAG_MAX == XS_HTTP_ETAG_MAX, "one ETag bound");

static bool validators_ok(const struct xs_release_validators *v)
{
	return xs_is_sha256_hex(v->sha256) && v->last_modified >= 0 &&
	       (!v->etag[0] || xs_http_etag_ok(v->etag)) && (v->last_modified > 0 || v->etag[0]);
}

int xs_release_validators_format(const struct xs_release_validators *v, char *out,
				 size_t outsz)
{
	if (!validators_ok(v))
		return -EINVAL;
	int n = snprintf(out, outsz, "%s\n%lld\n%s\n", v->sha256, (long long)v->last_modified,
			 v->etag);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

/* The next line of [*p, end) without its '\n' into out (NUL-terminated);
 * false when there is no '\n' or the line does not fit. */
static bool take_line(const char **p, const char *end, char *out, size_t outsz)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (!nl || (size_t)(nl - *p) >= outsz || memchr(*p, 0, (size_t)(nl - *p)))
		return false;
	memcpy(out, *p, (size_t)(nl - *p));
	out[nl - *p] = 0;
	*p = nl + 1;
	return true;
}

int xs_release_validators_parse(const char *data, size_t len, struct xs_release_validators *out)
{
	struct xs_release_validators v = { 0 };
	const char *p = data, *end = data + len;
	char num[24];
	if (len > XS_RELEASE_VALIDATORS_MAX || !take_line(&p, end, v.sha256, sizeof v.sha256) ||
	    !take_line(&p, end, num, sizeof num) || !take_line(&p, end, v.etag, sizeof v.etag) ||
	    p != end)
		return -EBADMSG;
	size_t nd = strspn(num, "0123456789");
	if (nd == 0 || nd > 18 || num[nd] || (num[0] == '0' && nd > 1))
		return -EBADMSG;
	v.last_modified = strtoll(num, NULL, 10);
	if (!validators_ok(&v))
		return -EBADMSG;
	*out = v;
	return 0;
}
