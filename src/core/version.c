/* version.c - see include/xsysroot/version.h
 *
 * A version is [epoch:]upstream[-revision]: the epoch is the text before the
 * first ':', the revision the text after the last '-'.  A missing epoch is
 * "0" and a missing revision is "", which compares equal to "0".
 *
 * upstream and revision are compared the dpkg way, alternating between a
 * non-digit run and a digit run.  In a non-digit run '~' sorts before
 * everything (the end of the string included), then the end of the string,
 * then letters, then every other character by its code.  Digit runs compare
 * as numbers of any length: leading zeros are skipped, then a longer run is
 * larger, then the first differing digit decides.  The epoch compares as a
 * number in the same way.  Nothing here allocates or overflows, whatever the
 * input.
 */
#include "xsysroot/version.h"

#include <stddef.h>
#include <string.h>

struct slice {
	const char *s;
	size_t n;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Weight of a character in a non-digit run; 0 stands for "end of run". */
static int weight(const struct slice *v, size_t i)
{
	if (i >= v->n || is_digit(v->s[i]))
		return 0;
	char c = v->s[i];
	if (c == '~')
		return -1;
	if (is_alpha(c))
		return (unsigned char)c;
	return (unsigned char)c + 256;
}

/* Compare two digit runs as numbers; advances *i and *j past them. */
static int cmp_digits(const struct slice *a, size_t *i, const struct slice *b, size_t *j)
{
	while (*i < a->n && a->s[*i] == '0')
		(*i)++;
	while (*j < b->n && b->s[*j] == '0')
		(*j)++;
	size_t ai = *i, bj = *j;
	while (*i < a->n && is_digit(a->s[*i]))
		(*i)++;
	while (*j < b->n && is_digit(b->s[*j]))
		(*j)++;
	size_t la = *i - ai, lb = *j - bj;
	if (la != lb)
		return la < lb ? -1 : 1;
	int c = memcmp(a->s + ai, b->s + bj, la);
	return c < 0 ? -1 : c > 0;
}

static int cmp_part(const struct slice *a, const struct slice *b)
{
	size_t i = 0, j = 0;
	while (i < a->n || j < b->n) {
		/* non-digit run */
		while ((i < a->n && !is_digit(a->s[i])) || (j < b->n && !is_digit(b->s[j]))) {
			int wa = weight(a, i), wb = weight(b, j);
			if (wa != wb)
				return wa < wb ? -1 : 1;
			if (i < a->n && !is_digit(a->s[i]))
				i++;
			if (j < b->n && !is_digit(b->s[j]))
				j++;
		}
		int c = cmp_digits(a, &i, b, &j);
		if (c)
			return c;
	}
	return 0;
}

static void split(const char *v, struct slice *epoch, struct slice *up, struct slice *rev)
{
	if (!v)
		v = "";
	size_t n = strlen(v);
	const char *colon = memchr(v, ':', n);
	epoch->s = "0";
	epoch->n = 1;
	up->s = v;
	up->n = n;
	if (colon) {
		epoch->s = v;
		epoch->n = (size_t)(colon - v);
		up->s = colon + 1;
		up->n = n - epoch->n - 1;
	}
	rev->s = "";
	rev->n = 0;
	const char *dash = memrchr(up->s, '-', up->n);
	if (dash) {
		rev->s = dash + 1;
		rev->n = up->n - (size_t)(rev->s - up->s);
		up->n = (size_t)(dash - up->s);
	}
}

int xs_version_cmp(const char *a, const char *b)
{
	struct slice ea, ua, ra, eb, ub, rb;
	split(a, &ea, &ua, &ra);
	split(b, &eb, &ub, &rb);
	int c = cmp_part(&ea, &eb);
	if (!c)
		c = cmp_part(&ua, &ub);
	if (!c)
		c = cmp_part(&ra, &rb);
	return c;
}

bool xs_version_satisfies(const char *have, enum xs_relop op, const char *want)
{
	if (op == XS_OP_NONE)
		return true;
	if (!have || !want)
		return false;
	int c = xs_version_cmp(have, want);
	switch (op) {
	case XS_OP_LT:
		return c < 0;
	case XS_OP_LE:
		return c <= 0;
	case XS_OP_EQ:
		return c == 0;
	case XS_OP_GE:
		return c >= 0;
	case XS_OP_GT:
		return c > 0;
	default:
		return false;
	}
}

int xs_relop_parse(const char *s, int *used)
{
	int op = -1, n = 0;
	if (!s)
		return -1;
	if (s[0] == '<') {
		if (s[1] == '<')
			op = XS_OP_LT, n = 2;
		else if (s[1] == '=')
			op = XS_OP_LE, n = 2;
		else
			op = XS_OP_LE, n = 1; /* obsolete "<" means "<=" */
	} else if (s[0] == '>') {
		if (s[1] == '>')
			op = XS_OP_GT, n = 2;
		else if (s[1] == '=')
			op = XS_OP_GE, n = 2;
		else
			op = XS_OP_GE, n = 1; /* obsolete ">" means ">=" */
	} else if (s[0] == '=') {
		op = XS_OP_EQ, n = 1;
	}
	if (op >= 0 && used)
		*used = n;
	return op;
}

const char *xs_relop_str(enum xs_relop op)
{
	switch (op) {
	case XS_OP_LT:
		return "<<";
	case XS_OP_LE:
		return "<=";
	case XS_OP_EQ:
		return "=";
	case XS_OP_GE:
		return ">=";
	case XS_OP_GT:
		return ">>";
	default:
		return "";
	}
}
