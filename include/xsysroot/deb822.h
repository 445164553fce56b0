/* deb822.h - pure parser for deb822 control data (Packages, Release,
 * sources, dpkg status).  Bytes in, fields out: no I/O, no allocation beyond
 * the iterator's field array.
 *
 * Field values point into the caller's buffer (no copy): a value is the text
 * after "Name:" with leading/trailing blanks trimmed; for a multi-line field
 * it spans the continuation lines verbatim (embedded "\n " kept).
 * Stanzas are separated by one or more blank lines (lines of only blanks).
 * Comment lines starting with '#' are skipped (as in .sources files).
 *
 * Limits: a stanza holds at most XS_DEB822_MAX_FIELDS fields and a line at
 * most XS_DEB822_MAX_LINE bytes; more gives -E2BIG.
 * Strictness: a field given twice in one stanza, or a NUL byte, is -EBADMSG.
 * After an error the iterator is at its end (later calls return 0).
 * Thread safety: an iterator belongs to one thread.
 */
#ifndef XSYSROOT_DEB822_H
#define XSYSROOT_DEB822_H
#include <stddef.h>

#define XS_DEB822_MAX_FIELDS 256
#define XS_DEB822_MAX_LINE (1u << 20)

struct xs_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

struct xs_stanza {
	struct xs_field *fields;
	size_t n;
	size_t cap;
	unsigned line; /* 1-based line number of the stanza's first field */
};

struct xs_deb822 {
	const char *p, *end;
	unsigned line;
	struct xs_stanza st;
};

void xs_deb822_init(struct xs_deb822 *it, const char *data, size_t len);
/* 1 and *out points at the next stanza (valid until the next call),
 * 0 at the end, or a negative errno for malformed input (-EBADMSG: a line
 * that is neither "Name: value", a continuation nor blank; it->line names it). */
int xs_deb822_next(struct xs_deb822 *it, const struct xs_stanza **out);
void xs_deb822_free(struct xs_deb822 *it);

/* Case-insensitive field lookup; NULL when absent. */
const struct xs_field *xs_stanza_get(const struct xs_stanza *st, const char *name);
/* A malloc'ed NUL-terminated copy of a field's value, or NULL when absent. */
char *xs_stanza_dup(const struct xs_stanza *st, const char *name);
#endif
