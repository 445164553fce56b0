/* source.c - a container image as the source of a view; see
 * include/xsysroot/source.h */
#include "xsysroot/source.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* At open, the image's documents are fetched and verified and the view is
 * left empty; the layers (the tree of an image is not known before they
 * are read) come at the first settle, merged with their whiteouts into one
 * package, 0. */
struct image_source {
	struct xs_source_env env;
	char *describe; /* constant */
	/* lock serialises settle and guards image (freed once settled);
	 * ready is read atomically (set once, under lock) */
	pthread_mutex_t lock;
	struct xs_image *image;
	bool ready;
};

#define logf_(o, level, ...) xs_logf((o)->env.log, (o)->env.log_ud, level, __VA_ARGS__)

/* Every layer into the store, leased, and the merged tree into fs: under
 * the cache's shared lock until the lease names every object of the tree
 * (gc would see objects nothing references yet). */
static int fetch_layers(struct image_source *s, struct xs_manifest *fs, size_t *fetched,
			uint64_t *bytes, char *err, size_t errsz)
{
	size_t n = xs_image_nlayers(s->image);
	int hold = xs_cache_hold(s->env.cache_dir);
	int q = xs_image_layers(s->image, fs, fetched, bytes, err, errsz);
	for (size_t i = 0; q == 0 && i < n; i++)
		q = xs_lease_add(s->env.lease, "pkg", xs_image_layer_hex(s->image, i));
	for (size_t i = 0; q == 0 && i < fs->n; i++)
		if (fs->e[i].type == XS_E_REG)
			q = xs_lease_add(s->env.lease, "obj", fs->e[i].sha256);
	if (hold >= 0)
		close(hold);
	if (q < 0 && !*err)
		snprintf(err, errsz, "cannot lease the objects of %s in %s: %s", s->describe,
			 s->env.cache_dir, strerror(-q));
	return q;
}

/* With s->lock held. */
static int settle_locked(struct image_source *s, char *err, size_t errsz)
{
	struct xs_source_counters *c = s->env.counters;
	__atomic_add_fetch(&c->in_flight, 1, __ATOMIC_RELAXED);
	uint64_t t0 = xs_now_ns(), bytes = 0;
	size_t fetched = 0, n = xs_image_nlayers(s->image);
	struct xs_manifest fs = { 0 };
	int q = fetch_layers(s, &fs, &fetched, &bytes, err, errsz);
	__atomic_sub_fetch(&c->in_flight, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->debs_fetched, fetched, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->deb_bytes, bytes, __ATOMIC_RELAXED);
	if (q < 0) {
		__atomic_add_fetch(&c->fetch_failures, 1, __ATOMIC_RELAXED);
		return q;
	}
	__atomic_add_fetch(&c->cache_hits, n - fetched, __ATOMIC_RELAXED);
	xs_view_apply(s->env.view, 0, &fs);
	logf_(s, XS_LOG_INFO, "%zu layers of %s in the view (%zu fetched, %llu bytes, %zu paths) "
	      "in %.2f s", n, s->describe, fetched, (unsigned long long)bytes, fs.n,
	      (xs_now_ns() - t0) / 1e9);
	xs_manifest_free(&fs);
	return s->env.finish_view(s->env.ud, err, errsz);
}

static int image_settle(void *impl, char *err, size_t errsz)
{
	struct image_source *s = impl;
	if (__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&s->lock);
	int q = s->ready ? 0 : settle_locked(s, err, errsz);
	if (q == 0 && !s->ready) {
		xs_fetcher_set_ready(s->env.fetcher, 0);
		xs_image_free(s->image); /* its work is done */
		s->image = NULL;
		__atomic_store_n(&s->ready, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&s->lock);
	return q;
}

/* The one package is the whole image: fetching it is settling. */
static int image_fetch(void *impl, size_t i, char *err, size_t errsz)
{
	if (i != 0)
		XS_FAIL(-EINVAL, "no package %zu in the view of an image", i);
	return image_settle(impl, err, errsz);
}

static const char *image_describe(void *impl)
{
	return ((struct image_source *)impl)->describe;
}

static const char *image_origin(void *impl, size_t i)
{
	(void)i;
	return image_describe(impl);
}

static int image_status(void *impl, struct xs_buf *out)
{
	(void)impl, (void)out;
	return 0; /* no source= lines: the image is described elsewhere */
}

static void image_free(void *impl)
{
	struct image_source *s = impl;
	if (!s)
		return;
	xs_image_free(s->image);
	pthread_mutex_destroy(&s->lock);
	free(s->describe);
	free(s);
}

static const struct xs_source_ops image_ops = {
	.kind = "image",
	.settle = image_settle,
	.fetch = image_fetch,
	.describe = image_describe,
	.origin = image_origin,
	.status = image_status,
	.free = image_free,
};

int xs_source_image_open(const struct xs_source_env *env, const struct xs_image_config *ic,
			 struct xs_pkg_source *out, char digest[80], char view_digest[65], char *err,
			 size_t errsz)
{
	struct xs_image *im = NULL;
	int q = xs_image_open(env->store, ic, &im, err, errsz);
	if (q < 0)
		return q;
	struct image_source *s = xs_xcalloc(1, sizeof *s);
	s->env = *env;
	s->describe = xs_strdup(xs_image_describe(im));
	pthread_mutex_init(&s->lock, NULL);
	s->image = im;
	snprintf(digest, 80, "%s", xs_image_digest(im));
	if (xs_image_view_digest(im, view_digest) < 0)
		view_digest[0] = 0; /* no digest: no mount is the same view */
	*out = (struct xs_pkg_source){ &image_ops, s };
	return 0;
}
