/* fetcher.h - a generic single-flight fetcher over N keys, with prefetch.
 *
 * A key is an index 0..N-1 (a package of the view).  Making a key ready is
 * the caller's work, a callback; this module knows nothing of what it does
 * (no network, no files, no logging of its own).  It guarantees:
 *
 *   - single flight: concurrent callers of one key share one run of the
 *     work; the first caller runs it in its own thread, the others wait for
 *     it and get its result (0, or its negative errno and message);
 *   - a bound on waiting: a caller that waits for another's run waits at
 *     most timeout_ms without progress (see the progress callback), then
 *     gets -ETIMEDOUT with err left "" (the run goes on); the caller that
 *     runs the work is bounded by the work itself;
 *   - a failure is not remembered: the key goes back to idle and the next
 *     call runs the work again; a success is: the key stays ready and the
 *     work never runs for it again;
 *   - prefetch: xs_fetcher_prefetch runs the work of an idle key in a
 *     detached background thread, at most max_prefetch at once, and only
 *     between xs_fetcher_start and xs_fetcher_free.  A caller that finds a
 *     prefetch of its key under way waits for it, but does not take its
 *     failure as its own: it runs the work once more itself (the prefetch
 *     may have begun before the cause of its failure went away);
 *   - growth: xs_fetcher_grow adds keys while callers use the others; the
 *     state of a key never moves in memory.
 *
 * The work's message on failure is never empty (the fetcher writes the
 * errno's text when the work wrote none).  The done callback, when given,
 * sees every run's outcome in the thread that ran it, before the waiters
 * are woken (the place to record a failure or start prefetches).
 *
 * Thread safety: every function may be called from any thread, except
 * xs_fetcher_free (once, when no caller remains; it waits for the running
 * prefetches, which may still call work and done meanwhile).
 */
#ifndef XSYSROOT_FETCHER_H
#define XSYSROOT_FETCHER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XS_FETCHER_ERR_MAX 1536 /* a run's message kept for its waiters */

struct xs_fetcher_config {
	/* Make key ready: 0, or a negative errno with a message in err.
	 * Runs without any lock of the fetcher held, for different keys at
	 * once; never twice at once for one key. */
	int (*work)(void *ud, size_t key, char *err, size_t errsz);
	/* May be NULL.  Every run's outcome (q, its message, and whether it
	 * was a prefetch), after work, before the waiters see it; it may call
	 * xs_fetcher_prefetch and xs_fetcher_ready, not xs_fetcher_fetch of
	 * the same key. */
	void (*done)(void *ud, size_t key, int q, bool background, const char *err);
	/* May be NULL.  A count that grows while the run of key makes progress
	 * (bytes received, say); called with a fetcher lock held, so it must
	 * be quick and call nothing of the fetcher.  A waiter whose timeout_ms
	 * passed waits timeout_ms more each time the count grew meanwhile: a
	 * run that progresses is waited for however long it takes. */
	uint64_t (*progress)(void *ud, size_t key);
	void *ud;
	int timeout_ms;	  /* bound on one wait for another's run without progress, > 0 */
	int max_prefetch; /* background runs at once, >= 0 */
};

struct xs_fetcher;

/* A fetcher over nkeys idle keys; prefetch is off until xs_fetcher_start.
 * 0, -EINVAL (no work, timeout_ms <= 0) or -ENOMEM. */
int xs_fetcher_new(const struct xs_fetcher_config *cfg, size_t nkeys, struct xs_fetcher **out);
/* Stop prefetching, wait for the running prefetches, free.  NULL: nothing. */
void xs_fetcher_free(struct xs_fetcher *f);

/* The key count grew to nkeys (new keys idle); a smaller count is ignored.
 * 0, or -ENOMEM (the count is unchanged then).  Callers of the new keys
 * must see the new count first (xs_fetcher_nkeys, or their own ordering). */
int xs_fetcher_grow(struct xs_fetcher *f, size_t nkeys);
size_t xs_fetcher_nkeys(struct xs_fetcher *f);

/* Make key ready (see above): 0, the work's negative errno (message in
 * err), -ETIMEDOUT (err ""), -EINVAL for a key >= the count. */
int xs_fetcher_fetch(struct xs_fetcher *f, size_t key, char *err, size_t errsz);

/* A batch: make every key of keys[0..n) ready, at most width runs at once
 * (the calling thread is one of them, the others are threads made for the
 * call and joined before it returns), each through xs_fetcher_fetch, so a
 * key a prefetch or another caller runs is waited for, not run twice.  A
 * failure stops the batch (no key is started after it; the runs under way
 * finish) unless keep_going; failed, when given, sees every failure (key,
 * errno, message), one at a time.  Returns 0, or the first failure's errno
 * with its message in err and its key in *failed_key.  Meant for a set of
 * keys that must all be there before going on (a view's packages at
 * mount).  Prefetch need not be started. */
struct xs_fetcher_batch {
	const size_t *keys;
	size_t n;
	unsigned width; /* runs at once, 1 to 64 (others are clamped) */
	bool keep_going;
	void (*failed)(void *ud, size_t key, int q, const char *err); /* may be NULL */
	void *ud;
};
int xs_fetcher_fetch_batch(struct xs_fetcher *f, const struct xs_fetcher_batch *b,
			   size_t *failed_key, char *err, size_t errsz);

/* Start a background run of key: 0 started; -EALREADY the key is not idle;
 * -EBUSY max_prefetch runs already under way, or prefetch is off (a caller
 * walking a list stops there); -EAGAIN no thread could be made; -EINVAL. */
int xs_fetcher_prefetch(struct xs_fetcher *f, size_t key);

/* Allow prefetches (in the process that serves, after any fork). */
void xs_fetcher_start(struct xs_fetcher *f);

/* Mark key ready without running the work (found complete elsewhere, e.g.
 * in a cache).  Meant for a key nobody fetches at the moment. */
void xs_fetcher_set_ready(struct xs_fetcher *f, size_t key);
bool xs_fetcher_ready(struct xs_fetcher *f, size_t key);
/* How many keys are ready. */
size_t xs_fetcher_nready(struct xs_fetcher *f);
#endif
