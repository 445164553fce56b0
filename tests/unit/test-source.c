/* test-source.c - the image source (source.h) over an OCI image layout
 * written here, an image of no layers (the layers themselves are
 * test-image's): settle fills the view once for concurrent callers, a
 * failure is not remembered, package 0 becomes ready in the fetcher, and
 * the interface's other calls. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/cachemgr.h"
#include "xsysroot/fetcher.h"
#include "xsysroot/source.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *root;
static char lay[300], ref[320];

static void write_doc(const char *text, char digest[72])
{
	char hex[65], path[400];
	xs_sha256_buf(text, strlen(text), hex);
	snprintf(digest, 72, "sha256:%s", hex);
	snprintf(path, sizeof path, "%s/blobs/sha256/%s", lay, hex);
	xs_write_file_atomic(path, text, strlen(text), 0644);
}

/* An arm64 image of no layers, tagged "empty"; its manifest's digest. */
static void make_layout(char man[72])
{
	char path[400], cfg[72], text[1024];
	snprintf(path, sizeof path, "%s/blobs/sha256", lay);
	xs_mkdir_p(path, 0755);
	const char *config = "{\"architecture\":\"arm64\",\"os\":\"linux\",\"rootfs\":"
			     "{\"type\":\"layers\",\"diff_ids\":[]}}";
	write_doc(config, cfg);
	snprintf(text, sizeof text,
		 "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		 "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		 "\"digest\":\"%s\",\"size\":%zu},\"layers\":[]}", cfg, strlen(config));
	write_doc(text, man);
	size_t man_size = strlen(text);
	snprintf(text, sizeof text,
		 "{\"schemaVersion\":2,\"manifests\":["
		 "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\","
		 "\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"empty\"}}]}",
		 man, man_size);
	snprintf(path, sizeof path, "%s/index.json", lay);
	xs_write_file_atomic(path, text, strlen(text), 0644);
}

/* The repo's side: finish_view counts its calls and fails while told. */
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int finishes, fail_finishes;

static int finish_view(void *ud, char *err, size_t errsz)
{
	(void)ud;
	pthread_mutex_lock(&m);
	int n = ++finishes;
	bool fail = n <= fail_finishes;
	pthread_mutex_unlock(&m);
	if (fail)
		XS_FAIL(-EIO, "finish %d failed", n);
	return 0;
}

static int no_work(void *ud, size_t key, char *err, size_t errsz)
{
	(void)ud, (void)key;
	XS_FAIL(-ENOSYS, "not used");
}

struct env {
	struct xs_store *store;
	struct xs_lease *lease;
	struct xs_view *view;
	struct xs_fetcher *fetcher;
	struct xs_source_counters count;
	struct xs_pkg_source src;
	char digest[80];
};

static int open_env(struct env *e, char *err, size_t errsz)
{
	memset(e, 0, sizeof *e);
	struct xs_fetcher_config fc = { .work = no_work, .timeout_ms = 1000 };
	xs_store_open(root, &e->store);
	xs_lease_open(root, &e->lease);
	e->view = xs_view_new(e->store, 0);
	xs_fetcher_new(&fc, 1, &e->fetcher);
	struct xs_source_env se = {
		.store = e->store,
		.lease = e->lease,
		.view = e->view,
		.fetcher = e->fetcher,
		.cache_dir = root,
		.counters = &e->count,
		.finish_view = finish_view,
	};
	struct xs_image_config ic = { .ref = ref, .arch = "arm64" };
	char vd[65];
	return xs_source_image_open(&se, &ic, &e->src, e->digest, vd, err, errsz);
}

static void close_env(struct env *e)
{
	if (e->src.ops)
		e->src.ops->free(e->src.impl);
	xs_fetcher_free(e->fetcher);
	xs_view_free(e->view);
	xs_lease_close(e->lease);
	xs_store_close(e->store);
}

static void *settle_thread(void *ud)
{
	struct env *e = ud;
	char err[256];
	return (void *)(intptr_t)e->src.ops->settle(e->src.impl, err, sizeof err);
}

int main(void)
{
	root = tl_root();
	snprintf(lay, sizeof lay, "%s/layout", root);
	snprintf(ref, sizeof ref, "oci:%s:empty", lay);
	char man[72];
	make_layout(man);

	struct env e;
	char err[512] = "";
	int q = open_env(&e, err, sizeof err);
	CHECK_INT(q, 0, "the image opens as a source: %s", err);
	if (q < 0)
		return tap_done();
	const struct xs_source_ops *ops = e.src.ops;
	CHECK_STR(ops->kind, "image", "its kind");
	CHECK_STR(e.digest, man, "the manifest's digest comes back");
	CHECK(strstr(ops->describe(e.src.impl), lay) != NULL, "it is described by its reference");
	CHECK_STR(ops->origin(e.src.impl, 0), ops->describe(e.src.impl), "package 0 comes from it");
	struct xs_buf st;
	xs_buf_init(&st, 1 << 16);
	CHECK(ops->status(e.src.impl, &st) == 0 && st.len == 0, "no source= lines for an image");
	xs_buf_free(&st);
	CHECK(!xs_fetcher_ready(e.fetcher, 0), "package 0 is not ready before settle");

	fail_finishes = 1;
	CHECK_INT(ops->settle(e.src.impl, err, sizeof err), -EIO, "a settle that fails");
	CHECK_STR(err, "finish 1 failed", "with the failure's message");
	CHECK(!xs_fetcher_ready(e.fetcher, 0), "package 0 is still not ready");
	CHECK_INT(ops->settle(e.src.impl, err, sizeof err), 0, "the failure is not remembered");
	CHECK_INT(finishes, 2, "the view was finished again");
	CHECK(xs_fetcher_ready(e.fetcher, 0), "package 0 is ready");
	CHECK_INT(ops->settle(e.src.impl, err, sizeof err), 0, "settled once and for all");
	CHECK_INT(ops->fetch(e.src.impl, 0, err, sizeof err), 0, "fetching package 0 is settling");
	CHECK_INT(finishes, 2, "neither finishes the view again");
	CHECK_INT(ops->fetch(e.src.impl, 1, err, sizeof err), -EINVAL, "an image has no package 1");
	CHECK_INT(e.count.in_flight, 0, "nothing in flight");
	CHECK_INT(e.count.fetch_failures, 0, "no layer failed");
	close_env(&e);

	/* concurrent first accesses share one settle */
	finishes = fail_finishes = 0;
	err[0] = 0;
	q = open_env(&e, err, sizeof err);
	CHECK_INT(q, 0, "the image opens again: %s", err);
	pthread_t th[6];
	int ok = 0;
	for (int i = 0; i < 6; i++)
		pthread_create(&th[i], NULL, settle_thread, &e);
	for (int i = 0; i < 6; i++) {
		void *r;
		pthread_join(th[i], &r);
		ok += (intptr_t)r == 0;
	}
	CHECK_INT(ok, 6, "6 concurrent settles succeed");
	CHECK_INT(finishes, 1, "and finish the view once");
	close_env(&e);
	return tap_done();
}
