/* test-deb822.c - the deb822 iterator */
#include "xsysroot/deb822.h"
#include "xsysroot/util.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *val(const struct xs_stanza *st, const char *name)
{
	static char buf[4096];
	const struct xs_field *f = xs_stanza_get(st, name);
	if (!f)
		return NULL;
	snprintf(buf, sizeof buf, "%.*s", (int)f->value_len, f->value);
	return buf;
}

/* Number of stanzas in s, or the error. */
static int count(const char *s, size_t len, unsigned *errline)
{
	struct xs_deb822 it;
	const struct xs_stanza *st;
	int n = 0, r;
	xs_deb822_init(&it, s, len);
	while ((r = xs_deb822_next(&it, &st)) > 0)
		n++;
	if (errline)
		*errline = it.line;
	xs_deb822_free(&it);
	return r < 0 ? r : n;
}

static void test_basic(void)
{
	const char *s = "Package: hello\n"
			"Version:  2.10-3  \n"
			"Description: a greeting\n"
			" with a second line\n"
			" .\n"
			" and a third\n"
			"Empty:\n"
			"\n\n   \n"
			"# a comment between stanzas\n"
			"package: second\n"
			"SHA256:\n"
			" aaa 1 main/x\n"
			" bbb 2 main/y\n";
	struct xs_deb822 it;
	const struct xs_stanza *st;
	xs_deb822_init(&it, s, strlen(s));
	CHECK_INT(xs_deb822_next(&it, &st), 1, "first stanza");
	CHECK_INT(st->n, 4, "four fields");
	CHECK_INT(st->line, 1, "stanza starts on line 1");
	CHECK_STR(val(st, "Package"), "hello", "simple value");
	CHECK_STR(val(st, "version"), "2.10-3", "case-insensitive lookup, trimmed value");
	CHECK_STR(val(st, "Description"),
		  "a greeting\n with a second line\n .\n and a third",
		  "multi-line value kept verbatim");
	CHECK_STR(val(st, "Empty"), "", "empty value");
	CHECK(xs_stanza_get(st, "Missing") == NULL, "absent field is NULL");
	char *d = xs_stanza_dup(st, "Package");
	CHECK_STR(d, "hello", "dup");
	free(d);
	CHECK(xs_stanza_dup(st, "Nope") == NULL, "dup of absent field is NULL");

	CHECK_INT(xs_deb822_next(&it, &st), 1, "second stanza");
	CHECK_INT(st->line, 12, "second stanza's line");
	CHECK_STR(val(st, "Package"), "second", "lowercase field name");
	CHECK_STR(val(st, "SHA256"), "aaa 1 main/x\n bbb 2 main/y",
		  "value with empty first line starts at the continuation");
	CHECK_INT(xs_deb822_next(&it, &st), 0, "end");
	CHECK_INT(xs_deb822_next(&it, &st), 0, "still the end");
	xs_deb822_free(&it);
}

static void test_edges(void)
{
	CHECK_INT(count("", 0, NULL), 0, "empty input");
	CHECK_INT(count(NULL, 0, NULL), 0, "NULL input");
	CHECK_INT(count("\n\n \t\n", 5, NULL), 0, "only blank lines");
	CHECK_INT(count("A: 1", 4, NULL), 1, "no final newline");
	CHECK_INT(count("A: 1\r\nB: 2\r\n\r\nC: 3\r\n", 20, NULL), 2, "CRLF lines");
	CHECK_INT(count("A: 1\n#x\nB: 2\n", 13, NULL), 1, "comment inside a stanza");
	CHECK_INT(count("# only a comment\n", 17, NULL), 0, "only a comment");

	/* not NUL terminated: the parser must stop at len */
	char *buf = malloc(7);
	memcpy(buf, "A: 1\nB:", 7);
	struct xs_deb822 it;
	const struct xs_stanza *st;
	xs_deb822_init(&it, buf, 7);
	CHECK_INT(xs_deb822_next(&it, &st), 1, "unterminated buffer parses");
	CHECK_STR(val(st, "B"), "", "value at the very end");
	xs_deb822_free(&it);
	free(buf);

	buf = malloc(6);
	memcpy(buf, "A: 1\n ", 6);
	CHECK_INT(count(buf, 6, NULL), 1, "blank continuation at end of buffer");
	free(buf);
	buf = malloc(1);
	buf[0] = 'A';
	CHECK_INT(count(buf, 1, NULL), -EBADMSG, "one byte, no colon");
	free(buf);
}

static void test_malformed(void)
{
	unsigned line;
	CHECK_INT(count("A: 1\nno colon here\n", 19, &line), -EBADMSG, "line without colon");
	CHECK_INT(line, 2, "error names the line");
	CHECK_INT(count(" continuation first\n", 20, &line), -EBADMSG,
		  "continuation without a field");
	CHECK_INT(count("A: 1\n\n continuation\n", 20, &line), -EBADMSG,
		  "continuation after a blank line");
	CHECK_INT(line, 3, "error line of the orphan continuation");
	CHECK_INT(count(": value\n", 8, NULL), -EBADMSG, "empty field name");
	CHECK_INT(count("Bad Name: x\n", 12, NULL), -EBADMSG, "space in field name");
	CHECK_INT(count("-----BEGIN PGP SIGNED MESSAGE-----\n", 35, NULL), -EBADMSG,
		  "armor line is not a field");
	CHECK_INT(count("-X: y\n", 6, NULL), -EBADMSG, "field name starting with dash");
	CHECK_INT(count("A: 1\nB: 2\na: 3\n", 15, NULL), -EBADMSG, "duplicate field");
	CHECK_INT(count("A: 1\n\nA: 2\n", 11, NULL), 2, "same field in two stanzas is fine");
	CHECK_INT(count("A: x\0y\n", 7, NULL), -EBADMSG, "NUL byte in a value");
	CHECK_INT(count("A\0: x\n", 6, NULL), -EBADMSG, "NUL byte in a name");
	CHECK_INT(count("A: \xff\xfe\n", 6, NULL), 1, "high bytes in a value are data");
	CHECK_INT(count("\xc3\xa9: x\n", 6, NULL), -EBADMSG, "non-ASCII field name");
	CHECK_INT(count("A: 1\nB: x\0y\n", 12, &line), -EBADMSG, "NUL on line 2");
	CHECK_INT(line, 2, "NUL error names line 2");

	/* the iterator ends after an error */
	struct xs_deb822 it;
	const struct xs_stanza *st;
	const char *s = "A: 1\n\nbad\n\nB: 2\n";
	xs_deb822_init(&it, s, strlen(s));
	CHECK_INT(xs_deb822_next(&it, &st), 1, "first stanza before the error");
	CHECK_INT(xs_deb822_next(&it, &st), -EBADMSG, "then the error");
	CHECK_INT(it.line, 3, "on line 3");
	CHECK_INT(xs_deb822_next(&it, &st), 0, "then the end");
	xs_deb822_free(&it);
}

static void test_limits(void)
{
	struct xs_buf b;
	xs_buf_init(&b, 1u << 26);
	for (unsigned i = 0; i < XS_DEB822_MAX_FIELDS; i++)
		xs_buf_printf(&b, "F%u: %u\n", i, i);
	CHECK_INT(count(b.data, b.len, NULL), 1, "exactly the maximum number of fields");
	xs_buf_printf(&b, "Extra: 1\n");
	CHECK_INT(count(b.data, b.len, NULL), -E2BIG, "one field too many");
	xs_buf_free(&b);

	size_t n = XS_DEB822_MAX_LINE + 10;
	char *big = malloc(n);
	memcpy(big, "A: ", 3);
	memset(big + 3, 'x', n - 3);
	unsigned line;
	memcpy(big, "A: 1\n\n", 6);
	CHECK_INT(count(big, n, &line), -E2BIG, "overlong line");
	CHECK_INT(line, 3, "error names the overlong line");
	memcpy(big, "A: ", 3);
	memset(big + 3, 'x', 3);
	CHECK_INT(count(big, XS_DEB822_MAX_LINE, NULL), 1, "line of the maximum length");
	free(big);

	/* many stanzas: linear time, iterator reuses its array */
	xs_buf_init(&b, 1u << 26);
	for (unsigned i = 0; i < 100000; i++)
		xs_buf_printf(&b, "Package: p%u\nVersion: 1\n\n", i);
	CHECK_INT(count(b.data, b.len, NULL), 100000, "100000 stanzas");
	xs_buf_free(&b);
}

static void test_fuzzish(void)
{
	/* random bytes from a fixed seed: must return, never crash */
	unsigned seed = 12345;
	const char alphabet[] = "A:b \n\t#-\r\0x";
	int bad = 0;
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(rand_r(&seed) % 64);
		char *p = malloc(n ? n : 1);
		for (size_t i = 0; i < n; i++)
			p[i] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
		int r = count(p, n, NULL);
		if (r < 0 && r != -EBADMSG && r != -E2BIG)
			bad++;
		free(p);
	}
	CHECK_INT(bad, 0, "random input gives a count or -EBADMSG");
}

int main(void)
{
	test_basic();
	test_edges();
	test_malformed();
	test_limits();
	test_fuzzish();
	return tap_done();
}
