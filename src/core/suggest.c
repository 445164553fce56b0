/* suggest.c - see include/xsysroot/suggest.h
 *
 * Three rows of the dynamic programme (the transposition looks two rows
 * back), each cut off as soon as its smallest cell passes the bound. */
#include "xsysroot/suggest.h"

#include <stdbool.h>
#include <string.h>

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;
	return m < c ? m : c;
}

size_t xs_suggest_distance(const char *a, size_t la, const char *b, size_t lb, size_t bound)
{
	if (la > XS_SUGGEST_MAX_LEN || lb > XS_SUGGEST_MAX_LEN)
		return bound + 1;
	if ((la > lb ? la - lb : lb - la) > bound)
		return bound + 1;
	size_t rows[3][XS_SUGGEST_MAX_LEN + 1];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		size_t row_min = cur[0];
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t d = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
			if (d < row_min)
				row_min = d;
		}
		if (row_min > bound)
			return bound + 1;
		size_t *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb] <= bound ? prev[lb] : bound + 1;
}

void xs_suggest_init(struct xs_suggest *s, const char *word)
{
	size_t n = strlen(word);
	*s = (struct xs_suggest){ .word = word, .len = n, .bound = n <= 4 ? 1 : n <= 8 ? 2 : 3 };
}

void xs_suggest_offer(struct xs_suggest *s, const char *name)
{
	size_t n = strlen(name);
	if (s->len > XS_SUGGEST_MAX_LEN || (n == s->len && !memcmp(name, s->word, n)))
		return;
	size_t limit = s->best && s->best_dist < s->bound ? s->best_dist : s->bound;
	size_t d = xs_suggest_distance(s->word, s->len, name, n, limit);
	if (d > limit)
		return;
	bool better = !s->best || d < s->best_dist || strcmp(name, s->best) < 0;
	if (better) {
		s->best = name;
		s->best_dist = d;
	}
}

const char *xs_suggest_best(const struct xs_suggest *s)
{
	return s->best;
}
