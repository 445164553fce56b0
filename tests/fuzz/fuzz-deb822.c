/* fuzz-deb822.c - xs_deb822_next over arbitrary bytes (deb822.h).
 *
 * Checks: fields lie inside the input; names are non-empty; values are
 * trimmed; xs_stanza_get finds each field under its own name (duplicates
 * are refused, so the match is that very field); xs_stanza_dup copies the
 * value exactly; after an error the iterator stays at its end. */
#include "fuzz.h"
#include "xsysroot/deb822.h"

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *beg = (const char *)data, *end = beg + size;
	struct xs_deb822 it;
	const struct xs_stanza *st;
	int r;

	xs_deb822_init(&it, beg, size);
	while ((r = xs_deb822_next(&it, &st)) == 1) {
		FZ_CHECK(st && st->n > 0 && st->n <= XS_DEB822_MAX_FIELDS && st->line > 0);
		for (size_t i = 0; i < st->n; i++) {
			const struct xs_field *f = &st->fields[i];
			FZ_CHECK(f->name_len > 0 && f->name >= beg && f->name + f->name_len <= end);
			FZ_CHECK(f->value >= beg && f->value + f->value_len <= end);
			if (f->value_len)
				FZ_CHECK(!blank(f->value[0]) && !blank(f->value[f->value_len - 1]));
			char *name = xs_strndup(f->name, f->name_len);
			FZ_CHECK(strlen(name) == f->name_len);
			FZ_CHECK(xs_stanza_get(st, name) == f);
			char *v = xs_stanza_dup(st, name);
			FZ_CHECK(v && strlen(v) == f->value_len &&
				 memcmp(v, f->value, f->value_len) == 0);
			free(v);
			free(name);
		}
		FZ_CHECK(!xs_stanza_get(st, "no:such")); /* ':' ends a name */
	}
	FZ_CHECK(r <= 0);
	if (r < 0) /* the iterator is at its end after an error */
		FZ_CHECK(xs_deb822_next(&it, &st) == 0);
	xs_deb822_free(&it);
	return 0;
}
