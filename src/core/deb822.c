/* deb822.c - see include/xsysroot/deb822.h
 *
 * The iterator walks the caller's (ptr, len) bytes line by line with memchr
 * and never reads past 'end', so the input need not be NUL terminated.
 * Rules beyond the header:
 *  - a line ends at '\n'; a '\r' before it counts as trailing blank;
 *  - a NUL byte anywhere in a stanza is -EBADMSG (no field value can be
 *    silently cut short by a later strndup);
 *  - a field name is 1..255 printable ASCII characters other than ':' and
 *    does not start with '#' or '-';
 *  - the same field twice in one stanza is -EBADMSG (dpkg refuses it too;
 *    two readers must never disagree on which value counts);
 *  - a value is trimmed of blanks (space, tab, CR, LF) on both ends, so a
 *    multi-line field with an empty first line ("SHA256:\n a b c") starts at
 *    the first non-blank character of its continuation.
 */
#include "xsysroot/deb822.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define MAX_NAME 255

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void xs_deb822_init(struct xs_deb822 *it, const char *data, size_t len)
{
	memset(it, 0, sizeof *it);
	it->p = data;
	it->end = data ? data + len : NULL;
	it->line = 0;
}

void xs_deb822_free(struct xs_deb822 *it)
{
	free(it->st.fields);
	it->st.fields = NULL;
	it->st.n = it->st.cap = 0;
}

/* The next line: [*ls, *le) without the '\n'; advances it->p.  */
static int next_line(struct xs_deb822 *it, const char **ls, const char **le)
{
	const char *s = it->p;
	size_t avail = (size_t)(it->end - s);
	const char *nl = memchr(s, '\n', avail);
	const char *e = nl ? nl : it->end;
	it->line++;
	if ((size_t)(e - s) > XS_DEB822_MAX_LINE)
		return -E2BIG;
	if (memchr(s, 0, (size_t)(e - s)))
		return -EBADMSG;
	it->p = nl ? nl + 1 : it->end;
	*ls = s;
	*le = e;
	return 0;
}

static bool line_is_blank(const char *s, const char *e)
{
	for (; s < e; s++)
		if (!is_blank(*s))
			return false;
	return true;
}

static void finish_value(struct xs_field *f, const char *vend)
{
	const char *v = f->value;
	while (v < vend && is_blank(*v))
		v++;
	while (vend > v && is_blank(vend[-1]))
		vend--;
	f->value = v;
	f->value_len = (size_t)(vend - v);
}

/* Duplicate detection in O(1) per field: an open-addressing set of the
 * stanza's field names (index + 1 into st->fields), hashed without case.
 * SEEN_SLOTS is over twice XS_DEB822_MAX_FIELDS, so probing always ends. */
#define SEEN_SLOTS 1024
_Static_assert(SEEN_SLOTS >= 2 * XS_DEB822_MAX_FIELDS, "seen set too small");

static bool seen_before(const struct xs_stanza *st, uint16_t *seen, const char *name,
			size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		h = (h ^ (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c)) * 16777619u;
	}
	for (size_t b = h & (SEEN_SLOTS - 1);; b = (b + 1) & (SEEN_SLOTS - 1)) {
		if (!seen[b]) {
			seen[b] = (uint16_t)(st->n + 1); /* the slot the caller fills next */
			return false;
		}
		const struct xs_field *f = &st->fields[seen[b] - 1];
		if (f->name_len == n && strncasecmp(f->name, name, n) == 0)
			return true;
	}
}

int xs_deb822_next(struct xs_deb822 *it, const struct xs_stanza **out)
{
	struct xs_stanza *st = &it->st;
	struct xs_field *cur = NULL;
	const char *cur_end = NULL;
	uint16_t seen[SEEN_SLOTS] = { 0 };
	int r;

	st->n = 0;
	st->line = 0;
	*out = NULL;
	if (!it->p)
		return 0;

	while (it->p < it->end) {
		const char *ls = NULL, *le = NULL;
		r = next_line(it, &ls, &le);
		if (r < 0)
			goto fail;
		if (line_is_blank(ls, le)) {
			if (st->n > 0)
				break; /* end of stanza */
			continue;
		}
		if (ls[0] == '#')
			continue; /* comment, also inside a stanza */
		if (ls[0] == ' ' || ls[0] == '\t') {
			if (!cur) {
				r = -EBADMSG; /* continuation without a field */
				goto fail;
			}
			cur_end = le;
			continue;
		}
		/* "Name: value" */
		const char *colon = memchr(ls, ':', (size_t)(le - ls));
		r = -EBADMSG;
		if (!colon || colon == ls || ls[0] == '-' || (size_t)(colon - ls) > MAX_NAME)
			goto fail;
		for (const char *c = ls; c < colon; c++)
			if ((unsigned char)*c <= 32 || (unsigned char)*c >= 127)
				goto fail;
		size_t nlen = (size_t)(colon - ls);
		if (seen_before(st, seen, ls, nlen))
			goto fail; /* duplicate field */
		if (cur)
			finish_value(cur, cur_end);
		r = -E2BIG;
		if (st->n >= XS_DEB822_MAX_FIELDS)
			goto fail;
		xs_grow(&st->fields, &st->cap, st->n + 1, sizeof *st->fields);
		cur = &st->fields[st->n++];
		cur->name = ls;
		cur->name_len = nlen;
		cur->value = colon + 1;
		cur_end = le;
		if (st->n == 1)
			st->line = it->line;
	}
	if (cur)
		finish_value(cur, cur_end);
	if (st->n == 0)
		return 0;
	*out = st;
	return 1;
fail:
	/* the iterator ends after an error; it->line names the bad line */
	it->p = it->end;
	st->n = 0;
	return r;
}

const struct xs_field *xs_stanza_get(const struct xs_stanza *st, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < st->n; i++)
		if (st->fields[i].name_len == n &&
		    strncasecmp(st->fields[i].name, name, n) == 0)
			return &st->fields[i];
	return NULL;
}

char *xs_stanza_dup(const struct xs_stanza *st, const char *name)
{
	const struct xs_field *f = xs_stanza_get(st, name);
	if (!f)
		return NULL;
	return xs_strndup(f->value, f->value_len);
}
