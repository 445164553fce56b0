/* test-fetcher.c - the single-flight fetcher with a fake work callback: one
 * run shared by every caller of a key, failures not remembered, the bound
 * on a wait (and waiting on while the run progresses), a failed prefetch
 * retried by the caller waiting for it, the prefetch bound, free while
 * prefetches run, growth while callers wait. */
#include "tap.h"
#include "xsysroot/fetcher.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The fake work: counts its runs, may wait at a gate, fails as told. */
struct fake {
	pthread_mutex_t m;
	pthread_cond_t cv;
	int runs, running, max_running, finished, done_calls, done_bg_failures;
	bool gated, gate_open;
	int fail_runs;	/* the first fail_runs runs fail with -EIO */
	int sleep_ms;	/* each run takes this long */
	int arrived;	/* callers about to call xs_fetcher_fetch */
	size_t last_key;
	bool last_done_seen; /* done ran for the last run */
};

static struct fake F;

static void fake_reset(void)
{
	pthread_mutex_lock(&F.m);
	F.runs = F.running = F.max_running = F.finished = F.done_calls = 0;
	F.done_bg_failures = F.fail_runs = F.sleep_ms = F.arrived = 0;
	F.gated = F.gate_open = F.last_done_seen = false;
	F.last_key = 0;
	pthread_mutex_unlock(&F.m);
}

static void sleep_ms(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int work(void *ud, size_t key, char *err, size_t errsz)
{
	(void)ud;
	pthread_mutex_lock(&F.m);
	int n = ++F.runs;
	F.last_key = key;
	F.last_done_seen = false;
	if (++F.running > F.max_running)
		F.max_running = F.running;
	pthread_cond_broadcast(&F.cv);
	while (F.gated && !F.gate_open)
		pthread_cond_wait(&F.cv, &F.m);
	int ms = F.sleep_ms;
	bool fail = n <= F.fail_runs;
	pthread_mutex_unlock(&F.m);
	sleep_ms(ms);
	pthread_mutex_lock(&F.m);
	F.running--;
	F.finished++;
	pthread_mutex_unlock(&F.m);
	if (fail) {
		snprintf(err, errsz, "run %d of key %zu failed", n, key);
		return -EIO;
	}
	return 0;
}

static void done(void *ud, size_t key, int q, bool background, const char *err)
{
	(void)ud, (void)key, (void)err;
	pthread_mutex_lock(&F.m);
	F.done_calls++;
	F.done_bg_failures += background && q < 0;
	F.last_done_seen = true;
	pthread_mutex_unlock(&F.m);
}

static void wait_runs(int n)
{
	pthread_mutex_lock(&F.m);
	while (F.runs < n)
		pthread_cond_wait(&F.cv, &F.m);
	pthread_mutex_unlock(&F.m);
}

static void open_gate(void)
{
	pthread_mutex_lock(&F.m);
	F.gate_open = true;
	pthread_cond_broadcast(&F.cv);
	pthread_mutex_unlock(&F.m);
}

static int get_int(const int *p)
{
	pthread_mutex_lock(&F.m);
	int v = *p;
	pthread_mutex_unlock(&F.m);
	return v;
}

static struct xs_fetcher *make(size_t nkeys, int timeout_ms, int max_prefetch)
{
	struct xs_fetcher_config c = {
		.work = work, .done = done, .timeout_ms = timeout_ms, .max_prefetch = max_prefetch,
	};
	struct xs_fetcher *f = NULL;
	int q = xs_fetcher_new(&c, nkeys, &f);
	CHECK(q == 0 && f, "a fetcher over %zu keys", nkeys);
	return f;
}

struct caller {
	pthread_t th;
	struct xs_fetcher *f;
	size_t key;
	int q;
	bool saw_done; /* done had run when the call returned */
	char err[256];
};

static void *call(void *ud)
{
	struct caller *c = ud;
	pthread_mutex_lock(&F.m);
	F.arrived++;
	pthread_cond_broadcast(&F.cv);
	pthread_mutex_unlock(&F.m);
	c->q = xs_fetcher_fetch(c->f, c->key, c->err, sizeof c->err);
	pthread_mutex_lock(&F.m);
	c->saw_done = F.last_done_seen;
	pthread_mutex_unlock(&F.m);
	return NULL;
}

static void start_call(struct caller *c, struct xs_fetcher *f, size_t key)
{
	c->f = f;
	c->key = key;
	c->q = 1;
	c->err[0] = 0;
	pthread_create(&c->th, NULL, call, c);
}

static void wait_arrived(int n)
{
	pthread_mutex_lock(&F.m);
	while (F.arrived < n)
		pthread_cond_wait(&F.cv, &F.m);
	pthread_mutex_unlock(&F.m);
}

#define NCALLERS 8

/* N callers of one key while its one run waits at the gate; fail: the run
 * fails and every caller gets its error. */
static void test_single_flight(bool fail)
{
	fake_reset();
	F.gated = true;
	F.fail_runs = fail ? 1 : 0;
	struct xs_fetcher *f = make(4, 10000, 0);
	struct caller c[NCALLERS];
	start_call(&c[0], f, 2);
	wait_runs(1);
	for (int i = 1; i < NCALLERS; i++)
		start_call(&c[i], f, 2);
	wait_arrived(NCALLERS);
	sleep_ms(200); /* the callers that arrived are waiting now */
	open_gate();
	int ok = 0, same_err = 0, saw_done = 0;
	for (int i = 0; i < NCALLERS; i++) {
		pthread_join(c[i].th, NULL);
		ok += c[i].q == (fail ? -EIO : 0);
		same_err += !strcmp(c[i].err, fail ? "run 1 of key 2 failed" : "");
		saw_done += c[i].saw_done;
	}
	CHECK_INT(get_int(&F.runs), 1, "%s: %d callers of one key, the work ran once",
		  fail ? "failing" : "succeeding", NCALLERS);
	CHECK_INT(ok, NCALLERS, "every caller got the run's result");
	CHECK_INT(same_err, NCALLERS, "every caller got the run's message");
	CHECK_INT(saw_done, NCALLERS, "done ran before any caller returned");
	CHECK(xs_fetcher_ready(f, 2) == !fail, "the key is %s", fail ? "idle" : "ready");
	CHECK_INT(xs_fetcher_nready(f), fail ? 0 : 1, "ready count");
	xs_fetcher_free(f);
}

static void test_failure_not_remembered(void)
{
	fake_reset();
	F.fail_runs = 1;
	struct xs_fetcher *f = make(2, 10000, 0);
	char err[256] = "";
	CHECK_INT(xs_fetcher_fetch(f, 1, err, sizeof err), -EIO, "the first run fails");
	CHECK_STR(err, "run 1 of key 1 failed", "with the work's message");
	CHECK_INT(xs_fetcher_fetch(f, 1, err, sizeof err), 0, "the next call runs it again");
	CHECK_INT(xs_fetcher_fetch(f, 1, err, sizeof err), 0, "a success is remembered");
	CHECK_INT(get_int(&F.runs), 2, "two runs for three calls");
	CHECK(!xs_fetcher_ready(f, 0) && xs_fetcher_ready(f, 1), "only key 1 is ready");
	CHECK_INT(xs_fetcher_fetch(f, 2, err, sizeof err), -EINVAL, "a key past the count");
	xs_fetcher_free(f);
}

/* A message the work leaves empty becomes the errno's text. */
static int silent_work(void *ud, size_t key, char *err, size_t errsz)
{
	(void)ud, (void)key, (void)err, (void)errsz;
	return -ENOSPC;
}

static void test_empty_message(void)
{
	struct xs_fetcher_config c = { .work = silent_work, .timeout_ms = 1000 };
	struct xs_fetcher *f = NULL;
	CHECK_INT(xs_fetcher_new(&c, 1, &f), 0, "a fetcher without done");
	char err[256] = "";
	CHECK_INT(xs_fetcher_fetch(f, 0, err, sizeof err), -ENOSPC, "the work's errno");
	CHECK_STR(err, strerror(ENOSPC), "an empty message becomes the errno's text");
	xs_fetcher_free(f);
	struct xs_fetcher_config bad = { .work = NULL, .timeout_ms = 1000 };
	CHECK_INT(xs_fetcher_new(&bad, 1, &f), -EINVAL, "no work: refused");
	bad.work = silent_work;
	bad.timeout_ms = 0;
	CHECK_INT(xs_fetcher_new(&bad, 1, &f), -EINVAL, "no timeout: refused");
}

/* The progress of a run as the waiters see it: a count that grows with
 * time (a steady download), or one that never moves (a stall). */
static uint64_t ticking(void *ud, size_t key)
{
	(void)ud, (void)key;
	return (uint64_t)(now_s() * 20);
}

static uint64_t frozen(void *ud, size_t key)
{
	(void)ud, (void)key;
	return 7;
}

/* A fetcher of one key whose waits last 150 ms without progress; a runner
 * starts the run, then this thread waits for it: its result in *q, the
 * seconds it waited returned. */
static double wait_for_run(uint64_t (*progress)(void *, size_t), struct xs_fetcher **f,
			   struct caller *runner, int *q, char *err, size_t errsz)
{
	struct xs_fetcher_config c = {
		.work = work, .done = done, .progress = progress, .timeout_ms = 150,
	};
	CHECK_INT(xs_fetcher_new(&c, 1, f), 0, "a fetcher (progress callback: %s)",
		  progress ? "yes" : "no");
	start_call(runner, *f, 0);
	wait_runs(1);
	double t0 = now_s();
	*q = xs_fetcher_fetch(*f, 0, err, errsz);
	return now_s() - t0;
}

/* A waiter gives up after the timeout, with no progress callback or one
 * that says the run does not progress. */
static void test_timeout(uint64_t (*progress)(void *, size_t))
{
	fake_reset();
	F.gated = true;
	struct xs_fetcher *f = NULL;
	struct caller runner;
	char err[256] = "x";
	int q;
	double dt = wait_for_run(progress, &f, &runner, &q, err, sizeof err);
	CHECK_INT(q, -ETIMEDOUT, "a waiter gives up after its timeout");
	CHECK_STR(err, "", "and leaves the message empty");
	CHECK(dt >= 0.14 && dt < 5.0, "it waited about the timeout (%.3f s)", dt);
	open_gate();
	pthread_join(runner.th, NULL);
	CHECK_INT(runner.q, 0, "the run went on and succeeded for its caller");
	CHECK_INT(get_int(&F.runs), 1, "the waiter did not run the work");
	xs_fetcher_free(f);
}

/* A waiter waits on, past its timeout, while the run progresses. */
static void test_progress(void)
{
	fake_reset();
	F.sleep_ms = 700;
	struct xs_fetcher *f = NULL;
	struct caller runner;
	char err[256] = "";
	int q;
	double dt = wait_for_run(ticking, &f, &runner, &q, err, sizeof err);
	CHECK(q == 0 && dt >= 0.5, "a run that progresses for %.2f s, beyond the 150 ms "
	      "timeout, is waited for (%d)", dt, q);
	pthread_join(runner.th, NULL);
	CHECK_INT(get_int(&F.runs), 1, "one run of the work");
	xs_fetcher_free(f);
}

/* A prefetch that fails while a caller waits for it: the caller runs the
 * work itself instead of returning the prefetch's error. */
static void test_background_failure(void)
{
	fake_reset();
	F.gated = true;
	F.fail_runs = 1;
	struct xs_fetcher *f = make(3, 10000, 2);
	CHECK_INT(xs_fetcher_prefetch(f, 1), -EBUSY, "no prefetch before start");
	xs_fetcher_start(f);
	CHECK_INT(xs_fetcher_prefetch(f, 1), 0, "a prefetch of key 1");
	wait_runs(1);
	struct caller c;
	start_call(&c, f, 1);
	wait_arrived(1);
	sleep_ms(200); /* the caller waits for the prefetch now */
	open_gate();
	pthread_join(c.th, NULL);
	CHECK_INT(c.q, 0, "the caller's own run succeeded");
	CHECK_STR(c.err, "", "without the prefetch's message");
	CHECK_INT(get_int(&F.runs), 2, "the work ran twice: the prefetch, then the caller");
	CHECK_INT(get_int(&F.done_bg_failures), 1, "done saw the prefetch fail");
	CHECK(xs_fetcher_ready(f, 1), "the key is ready");
	xs_fetcher_free(f);

	/* a prefetch that fails alone leaves its key idle */
	fake_reset();
	F.fail_runs = 1;
	f = make(1, 10000, 1);
	xs_fetcher_start(f);
	CHECK_INT(xs_fetcher_prefetch(f, 0), 0, "a prefetch that will fail");
	while (get_int(&F.done_calls) < 1)
		sleep_ms(5);
	xs_fetcher_free(f); /* waits for its thread */
	CHECK(get_int(&F.done_bg_failures) == 1, "it failed");
}

static void test_prefetch_bound(void)
{
	fake_reset();
	F.gated = true;
	struct xs_fetcher *f = make(8, 10000, 2);
	xs_fetcher_start(f);
	CHECK_INT(xs_fetcher_prefetch(f, 0), 0, "prefetch 1 of 2");
	CHECK_INT(xs_fetcher_prefetch(f, 1), 0, "prefetch 2 of 2");
	wait_runs(2);
	CHECK_INT(xs_fetcher_prefetch(f, 0), -EALREADY, "a key under way is not idle");
	CHECK_INT(xs_fetcher_prefetch(f, 2), -EBUSY, "a third prefetch at once is refused");
	CHECK_INT(xs_fetcher_prefetch(f, 8), -EINVAL, "a key past the count");
	open_gate();
	while (get_int(&F.finished) < 2 || xs_fetcher_nready(f) < 2)
		sleep_ms(5);
	CHECK_INT(xs_fetcher_prefetch(f, 0), -EALREADY, "a ready key is not idle");
	for (size_t k = 2; k < 8; k++)
		while (xs_fetcher_prefetch(f, k) == -EBUSY)
			sleep_ms(2);
	xs_fetcher_free(f);
	CHECK_INT(get_int(&F.max_running), 2, "never more than 2 runs at once");
	CHECK_INT(get_int(&F.runs), 8, "every prefetch ran");
}

static void test_free_waits(void)
{
	fake_reset();
	F.sleep_ms = 300;
	struct xs_fetcher *f = make(4, 10000, 4);
	xs_fetcher_start(f);
	for (size_t k = 0; k < 3; k++)
		xs_fetcher_prefetch(f, k);
	wait_runs(3);
	xs_fetcher_free(f);
	CHECK_INT(get_int(&F.finished), 3, "free waited for the 3 running prefetches");
}

/* Growth across several chunks while callers wait in an old key. */
static void test_grow(void)
{
	fake_reset();
	F.gated = true;
	struct xs_fetcher *f = make(3, 10000, 0);
	struct caller c[2];
	start_call(&c[0], f, 1);
	wait_runs(1);
	start_call(&c[1], f, 1);
	wait_arrived(2);
	CHECK_INT(xs_fetcher_grow(f, 5000), 0, "grown to 5000 keys");
	CHECK_INT(xs_fetcher_nkeys(f), 5000, "the count");
	CHECK_INT(xs_fetcher_grow(f, 10), 0, "a smaller count is ignored");
	CHECK_INT(xs_fetcher_nkeys(f), 5000, "the count stays");
	open_gate();
	pthread_join(c[0].th, NULL);
	pthread_join(c[1].th, NULL);
	CHECK(c[0].q == 0 && c[1].q == 0, "the callers of the old key got its result");
	char err[256];
	CHECK_INT(xs_fetcher_fetch(f, 4999, err, sizeof err), 0, "the last new key");
	CHECK_INT((long long)F.last_key, 4999, "ran for it");
	CHECK_INT(xs_fetcher_fetch(f, 5000, err, sizeof err), -EINVAL, "past the count");
	xs_fetcher_set_ready(f, 64);
	xs_fetcher_set_ready(f, 64);
	CHECK(xs_fetcher_ready(f, 64) && !xs_fetcher_ready(f, 65), "set_ready marks one key");
	CHECK_INT(xs_fetcher_nready(f), 3, "ready: keys 1, 4999 and 64");
	int runs = get_int(&F.runs);
	CHECK_INT(xs_fetcher_fetch(f, 64, err, sizeof err), 0, "a key set ready");
	CHECK_INT(get_int(&F.runs), runs, "is not run");
	xs_fetcher_free(f);
}

/* ---- batches ---------------------------------------------------------------- */

struct batch_fake {
	pthread_mutex_t m;
	int running, max_running, runs;
	long fail_key; /* -1 none */
	int failures_seen;
};

static int batch_work(void *ud, size_t key, char *err, size_t errsz)
{
	struct batch_fake *b = ud;
	pthread_mutex_lock(&b->m);
	b->runs++;
	if (++b->running > b->max_running)
		b->max_running = b->running;
	pthread_mutex_unlock(&b->m);
	sleep_ms(30);
	pthread_mutex_lock(&b->m);
	b->running--;
	pthread_mutex_unlock(&b->m);
	if ((long)key == b->fail_key) {
		snprintf(err, errsz, "key %zu: broken", key);
		return -EIO;
	}
	return 0;
}

static void batch_failed_cb(void *ud, size_t key, int q, const char *err)
{
	struct batch_fake *b = ud;
	b->failures_seen += q == -EIO && strstr(err, "broken") && (long)key == b->fail_key;
}

static struct xs_fetcher *batch_make(struct batch_fake *b, size_t n, long fail_key)
{
	*b = (struct batch_fake){ .fail_key = fail_key };
	pthread_mutex_init(&b->m, NULL);
	struct xs_fetcher_config cfg = { .work = batch_work, .ud = b, .timeout_ms = 5000 };
	struct xs_fetcher *f = NULL;
	xs_fetcher_new(&cfg, n, &f);
	return f;
}

static void test_batch(void)
{
	size_t keys[12];
	for (size_t i = 0; i < 12; i++)
		keys[i] = i;
	struct batch_fake b;
	struct xs_fetcher *f = batch_make(&b, 12, -1);
	struct xs_fetcher_batch bt = { .keys = keys, .n = 12, .width = 4 };
	char err[256] = "";
	double t0 = now_s();
	int q = xs_fetcher_fetch_batch(f, &bt, NULL, err, sizeof err);
	double took = now_s() - t0;
	CHECK_INT(q, 0, "batch: 12 keys made ready");
	CHECK_INT(xs_fetcher_nready(f), 12, "batch: every key is ready after it");
	CHECK(b.max_running <= 4 && b.max_running >= 2, "batch: at most 4 runs at once, and "
	      "more than one (saw %d)", b.max_running);
	CHECK(took < 12 * 0.030, "batch: faster than one at a time (%.3f s)", took);
	q = xs_fetcher_fetch_batch(f, &bt, NULL, err, sizeof err);
	CHECK(q == 0 && b.runs == 12, "batch again: ready keys are not run again");
	xs_fetcher_free(f);
	pthread_mutex_destroy(&b.m);

	f = batch_make(&b, 12, 1);
	bt.width = 1;
	size_t failed = 99;
	q = xs_fetcher_fetch_batch(f, &bt, &failed, err, sizeof err);
	CHECK(q == -EIO && failed == 1 && strstr(err, "key 1: broken"),
	      "batch: a failure is returned with its key and message (%s)", err);
	CHECK_INT(b.runs, 2, "batch: nothing is started after a failure");
	xs_fetcher_free(f);
	pthread_mutex_destroy(&b.m);

	f = batch_make(&b, 12, 5);
	bt = (struct xs_fetcher_batch){ .keys = keys, .n = 12, .width = 3, .keep_going = true,
					.failed = batch_failed_cb, .ud = &b };
	q = xs_fetcher_fetch_batch(f, &bt, &failed, err, sizeof err);
	CHECK(q == -EIO && failed == 5 && b.runs == 12 && xs_fetcher_nready(f) == 11,
	      "batch keep_going: every other key is ready, the failure returned");
	CHECK_INT(b.failures_seen, 1, "batch keep_going: the failed callback saw the failure");
	xs_fetcher_free(f);
	pthread_mutex_destroy(&b.m);
}

int main(void)
{
	pthread_mutex_init(&F.m, NULL);
	pthread_cond_init(&F.cv, NULL);
	test_single_flight(false);
	test_single_flight(true);
	test_failure_not_remembered();
	test_empty_message();
	test_timeout(NULL);
	test_timeout(frozen);
	test_progress();
	test_background_failure();
	test_prefetch_bound();
	test_free_waits();
	test_grow();
	test_batch();
	return tap_done();
}
