/* test-suggest.c - "did you mean": bounded edit distance and the closest name */
#include "xsysroot/suggest.h"
#include "tap.h"

#include <string.h>

static size_t dist(const char *a, const char *b, size_t bound)
{
	return xs_suggest_distance(a, strlen(a), b, strlen(b), bound);
}

static void test_distance(void)
{
	CHECK_INT((int)dist("zlib1-dev", "zlib1g-dev", 3), 1, "one insertion");
	CHECK_INT((int)dist("pyhton3", "python3", 3), 1, "a transposition costs one");
	CHECK_INT((int)dist("kitten", "sitting", 5), 3, "the classic pair");
	CHECK_INT((int)dist("", "abc", 5), 3, "from nothing");
	CHECK_INT((int)dist("abc", "abc", 0), 0, "equal");
	CHECK_INT((int)dist("kitten", "sitting", 2), 3, "past the bound: bound + 1");
	CHECK_INT((int)dist("a", "abcdefgh", 3), 4, "lengths too far apart: bound + 1");
	char longw[XS_SUGGEST_MAX_LEN + 2];
	memset(longw, 'a', sizeof longw - 1);
	longw[sizeof longw - 1] = 0;
	CHECK_INT((int)dist(longw, longw, 3), 4, "a word over the limit is never compared");
}

static const char *best_of(const char *word, const char *const *names, size_t n)
{
	struct xs_suggest s;
	xs_suggest_init(&s, word);
	for (size_t i = 0; i < n; i++)
		xs_suggest_offer(&s, names[i]);
	return xs_suggest_best(&s);
}

static void test_best(void)
{
	static const char *const names[] = { "zlib1g", "zlib1g-dev", "libz-dev", "libssl-dev",
					     "python3", "python3.11", "libc6", "libc6-dev" };
	static const char *const rev[] = { "libc6-dev", "libc6", "python3.11", "python3",
					   "libssl-dev", "libz-dev", "zlib1g-dev", "zlib1g" };
	size_t n = sizeof names / sizeof *names;
	const char *b = best_of("zlib1-dev", names, n);
	CHECK_STR(b ? b : "(none)", "zlib1g-dev", "zlib1-dev: zlib1g-dev");
	b = best_of("libssl", names, n);
	CHECK(b == NULL, "libssl: nothing within 2 edits");
	b = best_of("libc7", names, n);
	CHECK_STR(b ? b : "(none)", "libc6", "a short word: one edit");
	b = best_of("lib", names, n);
	CHECK(b == NULL, "a 3-letter word allows one edit only");
	b = best_of("libc6", names, n);
	CHECK(b == NULL, "the word itself is no suggestion, and nothing else is close");
	/* a tie (distance 1 both): the name that sorts first, whatever the order */
	static const char *const tie[] = { "libfoo2", "libfoo1" };
	static const char *const tie_rev[] = { "libfoo1", "libfoo2" };
	const char *b1 = best_of("libfoo", tie, 2), *b2 = best_of("libfoo", tie_rev, 2);
	CHECK(b1 && b2 && !strcmp(b1, "libfoo1") && !strcmp(b2, "libfoo1"),
	      "ties go to the name that sorts first, in any order of offers");
	b1 = best_of("pyhton3", names, n);
	b2 = best_of("pyhton3", rev, n);
	CHECK(b1 && b2 && !strcmp(b1, "python3") && !strcmp(b2, "python3"),
	      "pyhton3: python3, in either order");
}

int main(void)
{
	test_distance();
	test_best();
	return tap_done();
}
