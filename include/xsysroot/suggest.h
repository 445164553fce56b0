/* suggest.h - "did you mean": the closest of a set of names to a word that
 * names none of them (a misspelt package name), by edit distance.
 *
 * The distance is the optimal string alignment distance (insertions,
 * deletions, substitutions and transpositions of two adjacent characters,
 * each costing 1), computed only up to a bound: a name further than the
 * bound is no suggestion.  The bound grows with the word: 1 for a word of up
 * to 4 characters, 2 up to 8, else 3.  Words and names longer than
 * XS_SUGGEST_MAX_LEN are never compared (no suggestion).
 *
 * Names are offered one at a time (a table of 60,000 package names costs
 * a few milliseconds); the best one so far is kept: the smallest distance,
 * then the name that sorts first, so the answer does not depend on the
 * order of the offers.  The strings are the caller's: the best one must
 * outlive the struct's use.
 *
 * Pure; no allocation; one struct per thread. */
#ifndef XSYSROOT_SUGGEST_H
#define XSYSROOT_SUGGEST_H
#include <stddef.h>

#define XS_SUGGEST_MAX_LEN 128

struct xs_suggest {
	const char *word; /* the word that matched nothing */
	size_t len, bound;
	const char *best; /* the closest name offered so far, NULL none */
	size_t best_dist;
};

/* Start a search for names close to word. */
void xs_suggest_init(struct xs_suggest *s, const char *word);
/* Consider name (the word itself is no suggestion). */
void xs_suggest_offer(struct xs_suggest *s, const char *name);
/* The closest name offered within the bound, or NULL. */
const char *xs_suggest_best(const struct xs_suggest *s);
/* The edit distance of a and b (lengths la, lb) when it is at most bound,
 * else bound + 1. */
size_t xs_suggest_distance(const char *a, size_t la, const char *b, size_t lb, size_t bound);
#endif
