/* fetcher.c - see include/xsysroot/fetcher.h */
#include "xsysroot/fetcher.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { K_IDLE, K_RUNNING, K_READY };

/* One key.  m guards every other field; it is taken alone, or after
 * nothing else of the fetcher (never while holding prefetch_lock or
 * grow_lock), and never held while the work or done runs. */
struct slot {
	pthread_mutex_t m;
	pthread_cond_t cv; /* broadcast when a run ends (gen changes) */
	int state;
	unsigned gen;	 /* runs ended so far */
	bool background; /* the run under way is a prefetch */
	int result;	 /* the last run's result */
	char err[XS_FETCHER_ERR_MAX];
};

/* The keys live in chunks that never move: chunk c holds CHUNK0 << c keys,
 * from key CHUNK0 * (2^c - 1) on, so growth allocates a new chunk and
 * never copies a slot another thread may be waiting in. */
#define CHUNK0_SHIFT 6
#define CHUNK0 ((size_t)1 << CHUNK0_SHIFT)
#define MAX_CHUNKS 40

struct xs_fetcher {
	struct xs_fetcher_config cfg; /* constant */
	/* chunks[c] is set once, under grow_lock, before nkeys covers it;
	 * nkeys only grows, written under grow_lock and read atomically
	 * (acquire): a reader that sees a key below nkeys sees its chunk */
	pthread_mutex_t grow_lock;
	struct slot *chunks[MAX_CHUNKS];
	size_t nkeys;
	size_t nready; /* keys ready, atomic */
	/* prefetch_lock guards prefetching (threads running) and closing;
	 * taken alone (a slot's m is released first).  xs_fetcher_free
	 * sets closing and waits on prefetch_cv until prefetching is 0. */
	pthread_mutex_t prefetch_lock;
	pthread_cond_t prefetch_cv;
	int prefetching;
	bool closing;
};

static size_t chunk_of(size_t key, size_t *off)
{
	size_t q = (key >> CHUNK0_SHIFT) + 1;
	size_t c = 63 - (size_t)__builtin_clzll((unsigned long long)q);
	*off = key - CHUNK0 * (((size_t)1 << c) - 1);
	return c;
}

static struct slot *slot_of(struct xs_fetcher *f, size_t key)
{
	size_t off, c = chunk_of(key, &off);
	return &f->chunks[c][off];
}

static struct slot *new_chunk(size_t c)
{
	size_t n = CHUNK0 << c;
	struct slot *s = calloc(n, sizeof *s);
	if (!s)
		return NULL;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_init(&s[i].m, NULL);
		pthread_cond_init(&s[i].cv, &ca);
	}
	pthread_condattr_destroy(&ca);
	return s;
}

static void free_chunk(struct slot *s, size_t c)
{
	if (!s)
		return;
	for (size_t i = 0; i < (CHUNK0 << c); i++) {
		pthread_mutex_destroy(&s[i].m);
		pthread_cond_destroy(&s[i].cv);
	}
	free(s);
}

int xs_fetcher_grow(struct xs_fetcher *f, size_t nkeys)
{
	int q = 0;
	pthread_mutex_lock(&f->grow_lock);
	if (nkeys > f->nkeys) {
		size_t off, last = chunk_of(nkeys - 1, &off);
		if (last >= MAX_CHUNKS)
			q = -ENOMEM;
		for (size_t c = 0; q == 0 && c <= last; c++)
			if (!f->chunks[c] && !(f->chunks[c] = new_chunk(c)))
				q = -ENOMEM;
		if (q == 0)
			__atomic_store_n(&f->nkeys, nkeys, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&f->grow_lock);
	return q;
}

size_t xs_fetcher_nkeys(struct xs_fetcher *f)
{
	return __atomic_load_n(&f->nkeys, __ATOMIC_ACQUIRE);
}

int xs_fetcher_new(const struct xs_fetcher_config *cfg, size_t nkeys, struct xs_fetcher **out)
{
	*out = NULL;
	if (!cfg->work || cfg->timeout_ms <= 0 || cfg->max_prefetch < 0)
		return -EINVAL;
	struct xs_fetcher *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	f->cfg = *cfg;
	f->closing = true; /* no background work until xs_fetcher_start */
	pthread_mutex_init(&f->grow_lock, NULL);
	pthread_mutex_init(&f->prefetch_lock, NULL);
	pthread_cond_init(&f->prefetch_cv, NULL);
	int q = xs_fetcher_grow(f, nkeys);
	if (q < 0) {
		xs_fetcher_free(f);
		return q;
	}
	*out = f;
	return 0;
}

void xs_fetcher_free(struct xs_fetcher *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->prefetch_lock);
	f->closing = true;
	while (f->prefetching > 0)
		pthread_cond_wait(&f->prefetch_cv, &f->prefetch_lock);
	pthread_mutex_unlock(&f->prefetch_lock);
	for (size_t c = 0; c < MAX_CHUNKS; c++)
		free_chunk(f->chunks[c], c);
	pthread_mutex_destroy(&f->grow_lock);
	pthread_mutex_destroy(&f->prefetch_lock);
	pthread_cond_destroy(&f->prefetch_cv);
	free(f);
}

void xs_fetcher_start(struct xs_fetcher *f)
{
	pthread_mutex_lock(&f->prefetch_lock);
	f->closing = false;
	pthread_mutex_unlock(&f->prefetch_lock);
}

/* The run itself, in the caller's thread; s->state is K_RUNNING. */
static int run(struct xs_fetcher *f, struct slot *s, size_t key, bool background, char *err,
	       size_t errsz)
{
	char ferr[XS_FETCHER_ERR_MAX] = "";
	int q = f->cfg.work(f->cfg.ud, key, ferr, sizeof ferr);
	if (q > 0)
		q = 0;
	if (q < 0 && !ferr[0])
		snprintf(ferr, sizeof ferr, "%s", strerror(-q));
	if (f->cfg.done)
		f->cfg.done(f->cfg.ud, key, q, background, ferr);
	if (q < 0)
		snprintf(err, errsz, "%s", ferr);
	pthread_mutex_lock(&s->m);
	s->state = q == 0 ? K_READY : K_IDLE;
	s->result = q;
	snprintf(s->err, sizeof s->err, "%s", ferr);
	s->gen++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->m);
	if (q == 0)
		__atomic_add_fetch(&f->nready, 1, __ATOMIC_RELAXED);
	return q;
}

static struct timespec deadline(int ms)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* Whether a wait whose deadline dl passed goes on: the run made progress
 * since *seen (then dl moves on by the timeout). */
static bool progressed(struct xs_fetcher *f, size_t key, uint64_t *seen, struct timespec *dl)
{
	if (!f->cfg.progress)
		return false;
	uint64_t now = f->cfg.progress(f->cfg.ud, key);
	if (now == *seen)
		return false;
	*seen = now;
	*dl = deadline(f->cfg.timeout_ms);
	return true;
}

/* background: a prefetch.  With s->m held, wait for runs under way; 1 when
 * the caller should run the work itself, else the result to return (and
 * s->m released). */
static int wait_runs(struct xs_fetcher *f, size_t key, struct slot *s, bool background,
		     char *err, size_t errsz)
{
	struct timespec dl = deadline(f->cfg.timeout_ms);
	uint64_t seen = f->cfg.progress ? f->cfg.progress(f->cfg.ud, key) : 0;
	while (s->state == K_RUNNING) {
		unsigned gen = s->gen;
		bool joined_bg = s->background;
		while (s->state == K_RUNNING && s->gen == gen) {
			if (pthread_cond_timedwait(&s->cv, &s->m, &dl) == ETIMEDOUT &&
			    !progressed(f, key, &seen, &dl)) {
				pthread_mutex_unlock(&s->m);
				if (errsz)
					err[0] = 0;
				return -ETIMEDOUT;
			}
		}
		if (s->state == K_IDLE && joined_bg && !background)
			return 1; /* the prefetch failed: this caller tries itself */
		if (s->state == K_RUNNING)
			continue; /* another run began meanwhile: wait for it */
		int q = s->state == K_READY ? 0 : s->result;
		if (q < 0)
			snprintf(err, errsz, "%s", s->err);
		pthread_mutex_unlock(&s->m);
		return q;
	}
	return 1;
}

static int fetch_key(struct xs_fetcher *f, size_t key, bool background, char *err, size_t errsz)
{
	if (key >= xs_fetcher_nkeys(f)) {
		snprintf(err, errsz, "no key %zu (of %zu)", key, xs_fetcher_nkeys(f));
		return -EINVAL;
	}
	struct slot *s = slot_of(f, key);
	pthread_mutex_lock(&s->m);
	int q = wait_runs(f, key, s, background, err, errsz);
	if (q <= 0)
		return q;
	if (s->state == K_READY) {
		pthread_mutex_unlock(&s->m);
		return 0;
	}
	s->state = K_RUNNING;
	s->background = background;
	pthread_mutex_unlock(&s->m);
	return run(f, s, key, background, err, errsz);
}

int xs_fetcher_fetch(struct xs_fetcher *f, size_t key, char *err, size_t errsz)
{
	return fetch_key(f, key, false, err, errsz);
}

struct prefetch_job {
	struct xs_fetcher *f;
	size_t key;
};

static void *prefetch_thread(void *ud)
{
	struct prefetch_job *j = ud;
	struct xs_fetcher *f = j->f;
	char err[XS_FETCHER_ERR_MAX];
	fetch_key(f, j->key, true, err, sizeof err); /* done saw the outcome */
	free(j);
	pthread_mutex_lock(&f->prefetch_lock);
	f->prefetching--;
	pthread_cond_broadcast(&f->prefetch_cv);
	pthread_mutex_unlock(&f->prefetch_lock);
	return NULL;
}

static int key_state(struct xs_fetcher *f, size_t key)
{
	struct slot *s = slot_of(f, key);
	pthread_mutex_lock(&s->m);
	int st = s->state;
	pthread_mutex_unlock(&s->m);
	return st;
}

int xs_fetcher_prefetch(struct xs_fetcher *f, size_t key)
{
	if (key >= xs_fetcher_nkeys(f))
		return -EINVAL;
	if (key_state(f, key) != K_IDLE)
		return -EALREADY;
	pthread_mutex_lock(&f->prefetch_lock);
	bool go = !f->closing && f->prefetching < f->cfg.max_prefetch;
	if (go)
		f->prefetching++;
	pthread_mutex_unlock(&f->prefetch_lock);
	if (!go)
		return -EBUSY;
	struct prefetch_job *job = malloc(sizeof *job);
	int q = job ? 0 : -EAGAIN;
	if (job) {
		*job = (struct prefetch_job){ f, key };
		pthread_t th;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, prefetch_thread, job) != 0) {
			free(job);
			q = -EAGAIN;
		}
		pthread_attr_destroy(&at);
	}
	if (q < 0) {
		pthread_mutex_lock(&f->prefetch_lock);
		f->prefetching--;
		pthread_cond_broadcast(&f->prefetch_cv);
		pthread_mutex_unlock(&f->prefetch_lock);
	}
	return q;
}

void xs_fetcher_set_ready(struct xs_fetcher *f, size_t key)
{
	if (key >= xs_fetcher_nkeys(f))
		return;
	struct slot *s = slot_of(f, key);
	pthread_mutex_lock(&s->m);
	bool was_idle = s->state == K_IDLE;
	if (was_idle)
		s->state = K_READY;
	pthread_mutex_unlock(&s->m);
	if (was_idle)
		__atomic_add_fetch(&f->nready, 1, __ATOMIC_RELAXED);
}

bool xs_fetcher_ready(struct xs_fetcher *f, size_t key)
{
	return key < xs_fetcher_nkeys(f) && key_state(f, key) == K_READY;
}

size_t xs_fetcher_nready(struct xs_fetcher *f)
{
	return __atomic_load_n(&f->nready, __ATOMIC_RELAXED);
}

/* ---- a batch of keys, a bounded number at once ---------------------------- */

struct batch_run {
	struct xs_fetcher *f;
	const struct xs_fetcher_batch *b;
	pthread_mutex_t m; /* guards next, stop, q, failed_key, err; taken alone */
	size_t next;
	bool stop;
	int q;
	size_t failed_key;
	char err[XS_FETCHER_ERR_MAX];
};

/* Take the next key to run: false when none is left or the batch stopped. */
static bool batch_take(struct batch_run *br, size_t *key)
{
	pthread_mutex_lock(&br->m);
	bool ok = !br->stop && br->next < br->b->n;
	if (ok)
		*key = br->b->keys[br->next++];
	pthread_mutex_unlock(&br->m);
	return ok;
}

static void batch_failed(struct batch_run *br, size_t key, int q, const char *err)
{
	pthread_mutex_lock(&br->m);
	if (br->q == 0) {
		br->q = q;
		br->failed_key = key;
		snprintf(br->err, sizeof br->err, "%s", err);
	}
	if (!br->b->keep_going)
		br->stop = true;
	if (br->b->failed)
		br->b->failed(br->b->ud, key, q, err);
	pthread_mutex_unlock(&br->m);
}

static void *batch_worker(void *ud)
{
	struct batch_run *br = ud;
	size_t key;
	char err[XS_FETCHER_ERR_MAX];
	while (batch_take(br, &key)) {
		err[0] = 0;
		int q = xs_fetcher_fetch(br->f, key, err, sizeof err);
		if (q < 0)
			batch_failed(br, key, q, err[0] ? err : strerror(-q));
	}
	return NULL;
}

int xs_fetcher_fetch_batch(struct xs_fetcher *f, const struct xs_fetcher_batch *b,
			   size_t *failed_key, char *err, size_t errsz)
{
	struct batch_run br = { .f = f, .b = b };
	pthread_mutex_init(&br.m, NULL);
	unsigned width = b->width < 1 ? 1 : b->width > 64 ? 64 : b->width;
	if (width > b->n)
		width = b->n ? (unsigned)b->n : 1;
	pthread_t th[64];
	unsigned started = 0;
	for (unsigned k = 1; k < width; k++)
		if (pthread_create(&th[started], NULL, batch_worker, &br) == 0)
			started++; /* fewer threads: the batch only runs narrower */
	batch_worker(&br);
	for (unsigned k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&br.m);
	if (br.q < 0) {
		if (failed_key)
			*failed_key = br.failed_key;
		if (errsz)
			snprintf(err, errsz, "%s", br.err);
	}
	return br.q;
}
