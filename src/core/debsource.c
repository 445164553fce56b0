/* debsource.c - a Debian archive as the source of a view; see
 * include/xsysroot/source.h */
#include "xsysroot/source.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "xsysroot/cachefiles.h"
#include "xsysroot/deb.h"
#include "xsysroot/debstream.h"
#include "xsysroot/identity.h"

#define MAX_MANIFEST (256u << 20)

struct debian_source {
	struct xs_debian_env env; /* constant */
};

#define logf_(o, level, ...) xs_logf((o)->env.base.log, (o)->env.base.log_ud, level, __VA_ARGS__)

#define FAIL XS_FAIL

static void manifest_name(const struct xs_deb_pkg *p, char *out, size_t outsz)
{
	xs_cf_build(XS_CF_MANIFEST, p->sha256, out, outsz);
}

/* Apply a cached manifest when every object it names is present; one
 * written before the control files were kept (format 1) only when stale
 * is allowed (offline, or the package cannot be fetched again). */
static int apply_cached_manifest(struct debian_source *d, size_t i, const struct xs_deb_pkg *p,
				 bool stale)
{
	struct xs_store *store = d->env.base.store;
	char name[96];
	manifest_name(p, name, sizeof name);
	char *data = NULL;
	size_t len = 0;
	int q = xs_store_meta_read(store, name, MAX_MANIFEST, &data, &len);
	if (q < 0)
		return q;
	struct xs_manifest m = { 0 };
	q = xs_manifest_parse(data, len, &m);
	free(data);
	if (q == 0 && m.format < 2 && !stale)
		q = -ESTALE; /* without the control files: fetched and unpacked again */
	for (size_t k = 0; q == 0 && k < m.n; k++)
		if (m.e[k].type == XS_E_REG && !xs_store_has_object(store, m.e[k].sha256))
			q = -ENOENT;
	if (q == 0)
		q = xs_view_apply(d->env.base.view, (int)i, &m);
	xs_manifest_free(&m);
	return q;
}

/* Unpack the .deb of p that the store holds whole (left there by an older
 * version, or by a process that died before its manifest): m filled. */
static int unpack_stored(struct debian_source *d, const struct xs_deb_pkg *p, const char *label,
			 const char *url, struct xs_manifest *m, char *err, size_t errsz)
{
	struct xs_store *store = d->env.base.store;
	int fd = xs_store_open_object(store, p->sha256);
	if (fd < 0) {
		snprintf(err, errsz, "failed to open the fetched '%s' in %s: %s", label,
			 d->env.base.cache_dir, strerror(-fd));
		return fd;
	}
	char uerr[1024] = "";
	int q = xs_deb_unpack(store, fd, NULL, m, uerr, sizeof uerr);
	close(fd);
	if (q < 0)
		snprintf(err, errsz, "failed to unpack '%s' from %s: %s", label, url, uerr);
	return q;
}

/* The unpacker's limits for p's stream.  Its bytes are unpacked before its
 * digest is checked, so what a hostile mirror can make us write is bounded
 * by what Packages (verified) says the package installs: its files' bytes
 * are at most Installed-Size KiB as dpkg-gencontrol counts it (each file
 * rounded up), doubled for a hand-set value, plus room for the control
 * files.  A genuine package past that is refused as too large once its
 * digest matched; unknown (a lock's package): the defaults. */
#define STREAM_SLACK (16u << 20)
static void stream_limits(const struct xs_deb_pkg *p, struct xs_limits *lim)
{
	xs_limits_default(lim);
	if (p->installed_size && p->installed_size < (lim->max_total - STREAM_SLACK) / 2048)
		lim->max_total = p->installed_size * 2048 + STREAM_SLACK;
}

/* Download the .deb of p into the unpacker (debstream.h): m filled only
 * once the whole .deb matched its size and SHA-256; got says how many
 * bytes came from which mirror. */
static int unpack_streamed(struct debian_source *d, const struct xs_deb_pkg *p, const char *label,
			   struct xs_archive_fetched *got, struct xs_manifest *m, char *err,
			   size_t errsz)
{
	struct xs_limits lim;
	stream_limits(p, &lim);
	struct xs_debstream *ds = xs_debstream_new(d->env.base.store, &lim);
	struct xs_http_sink tee = xs_debstream_sink(ds);
	char ferr[1024] = "";
	int q = xs_archive_fetch_pool_tee(d->env.archive, p->src, p->filename, p->size, p->sha256,
					  label, &tee, got, ferr, sizeof ferr);
	__atomic_add_fetch(&d->env.base.counters->deb_bytes, got->bytes, __ATOMIC_RELAXED);
	if (q < 0) {
		snprintf(err, errsz, "failed to fetch '%s': %s", label, ferr);
		xs_debstream_free(ds);
		return q;
	}
	q = xs_debstream_finish(ds, m, ferr, sizeof ferr);
	xs_debstream_free(ds);
	if (q < 0)
		snprintf(err, errsz, "failed to unpack '%s' from %s: %s", label, got->url, ferr);
	return q;
}

/* Record the manifest m of p, once its objects are on the disk. */
static int record(struct debian_source *d, const struct xs_deb_pkg *p, const char *label,
		  const struct xs_manifest *m, char *err, size_t errsz)
{
	struct xs_store *store = d->env.base.store;
	char *data = NULL;
	size_t len = 0;
	char name[96];
	manifest_name(p, name, sizeof name);
	/* the package's objects reach the disk before the manifest names them */
	int q = xs_store_sync(store);
	if (q == 0)
		q = xs_manifest_serialize(m, &data, &len);
	if (q == 0)
		q = xs_store_meta_write(store, name, data, len);
	if (q == 0)
		xs_cache_note_use(store, p->sha256, p->name, p->version, p->arch);
	free(data);
	if (q < 0)
		snprintf(err, errsz, "failed to record '%s' in %s: %s", label,
			 d->env.base.cache_dir, strerror(-q));
	return q;
}

/* Package i applied from its cached manifest, counted: 0, or negative errno
 * when the cache does not hold it whole. */
static int cache_hit(struct debian_source *d, size_t i, const struct xs_deb_pkg *p)
{
	int q = apply_cached_manifest(d, i, p, d->env.offline);
	if (q < 0)
		return q;
	xs_cache_note_use(d->env.base.store, p->sha256, p->name, p->version, p->arch);
	__atomic_add_fetch(&d->env.base.counters->cache_hits, 1, __ATOMIC_RELAXED);
	return 0;
}

static bool debian_cached(void *impl, size_t i)
{
	struct debian_source *d = impl;
	struct xs_deb_pkg p;
	d->env.pkg(d->env.base.ud, i, &p);
	if (cache_hit(d, i, &p) < 0)
		return false;
	xs_fetcher_set_ready(d->env.base.fetcher, i);
	return true;
}

/* Download, unpack, record and apply p, under its package lock. */
static int fetch_locked(struct debian_source *d, size_t i, const struct xs_deb_pkg *p,
			const char *label, char *err, size_t errsz)
{
	struct xs_source_counters *c = d->env.base.counters;
	uint64_t t0 = xs_now_ns();
	struct xs_archive_fetched got = { 0 };
	struct xs_manifest m = { 0 };
	bool stored = xs_store_has_object(d->env.base.store, p->sha256);
	int q;
	if (stored) {
		snprintf(got.url, sizeof got.url, "%s/%s",
			 xs_archive_source(d->env.archive, p->src)->uri, p->filename);
		q = unpack_stored(d, p, label, got.url, &m, err, errsz);
	} else {
		q = unpack_streamed(d, p, label, &got, &m, err, errsz);
	}
	if (q == 0)
		q = record(d, p, label, &m, err, errsz);
	if (q < 0) {
		xs_manifest_free(&m);
		return q;
	}
	struct xs_view_stats before, after;
	xs_view_stats(d->env.base.view, &before);
	xs_view_apply(d->env.base.view, (int)i, &m);
	xs_view_stats(d->env.base.view, &after);
	if (after.conflicts > before.conflicts)
		logf_(d, XS_LOG_DEBUG, "%s: %llu of its paths are provided by another package of "
		      "the view (the first by name is kept)", label,
		      (unsigned long long)(after.conflicts - before.conflicts));
	/* the unpacked files and the manifest replace a stored .deb: removed
	 * under the package lock, by which every process reaches the .deb,
	 * and only once the manifest is written (a process that finds it no
	 * longer looks for the .deb; one that opened it keeps reading its fd) */
	char opath[XS_MAX_PATH];
	if (stored && xs_store_object_path(d->env.base.store, p->sha256, opath, sizeof opath) == 0)
		unlink(opath);
	if (got.bytes) {
		char sz[32];
		__atomic_add_fetch(&c->debs_fetched, 1, __ATOMIC_RELAXED);
		logf_(d, XS_LOG_INFO, "fetched %s (%s, %zu files) from %s in %.2f s [bytes=%llu]",
		      label, xs_fmt_size(got.bytes, sz, sizeof sz), m.n, got.url,
		      (xs_now_ns() - t0) / 1e9, (unsigned long long)got.bytes);
	}
	xs_manifest_free(&m);
	return 0;
}

/* One process at a time fetches a package: it holds meta/pkg-DEB.lock
 * from the download to the manifest (and the removal of the .deb); one
 * that waited for the lock finds the manifest complete and uses it. */
static int fetch_held(struct debian_source *d, size_t i, char *err, size_t errsz)
{
	struct xs_deb_pkg pk;
	d->env.pkg(d->env.base.ud, i, &pk);
	const struct xs_deb_pkg *p = &pk;
	if (cache_hit(d, i, p) == 0)
		return 0;
	const char *cache_dir = d->env.base.cache_dir;
	char label[512];
	snprintf(label, sizeof label, "%s %s %s", p->name, p->version, p->arch);
	if (d->env.offline && !xs_store_has_object(d->env.base.store, p->sha256))
		FAIL(-ENOENT, "'%s' is not in the cache %s and the mount is offline: run "
			      "'xsysroot fetch --packages %s ...' first", label, cache_dir, p->name);
	char lname[96];
	int lock = xs_cf_build(XS_CF_PKG_LOCK, p->sha256, lname, sizeof lname);
	if (lock == 0)
		lock = xs_store_meta_lock(d->env.base.store, lname);
	if (lock < 0)
		FAIL(lock, "cannot lock %s/meta/%s for '%s': %s", cache_dir, lname, label,
		     strerror(-lock));
	int q = cache_hit(d, i, p) == 0 ? 0 : fetch_locked(d, i, p, label, err, errsz);
	if (q < 0 && apply_cached_manifest(d, i, p, true) == 0) {
		logf_(d, XS_LOG_DEBUG, "%s: %s; its cached files kept (without its control files)",
		      label, err);
		q = 0;
	}
	close(lock);
	return q;
}

/* Under the cache's shared lock: gc waits until the objects are named by a
 * manifest. */
static int debian_fetch(void *impl, size_t i, char *err, size_t errsz)
{
	struct debian_source *d = impl;
	int hold = xs_cache_hold(d->env.base.cache_dir);
	int q = fetch_held(d, i, err, errsz);
	if (hold >= 0)
		close(hold);
	return q;
}

/* The view is complete at open (Contents, or the .debs fetched then). */
static int debian_settle(void *impl, char *err, size_t errsz)
{
	(void)impl, (void)err, (void)errsz;
	return 0;
}

static const char *debian_describe(void *impl)
{
	return xs_archive_describe(((struct debian_source *)impl)->env.archive);
}

static const char *debian_origin(void *impl, size_t i)
{
	struct debian_source *d = impl;
	struct xs_deb_pkg p;
	d->env.pkg(d->env.base.ud, i, &p);
	return xs_archive_source(d->env.archive, p.src)->uri;
}

static int debian_status(void *impl, struct xs_buf *out)
{
	struct debian_source *d = impl;
	int q = 0;
	for (size_t i = 0; q == 0 && i < xs_archive_nsources(d->env.archive); i++) {
		const struct xs_archive_source *a = xs_archive_source(d->env.archive, i);
		q = xs_buf_printf(out, XS_STATUS_SOURCE "=%s %s\n", a->uri, a->suite);
	}
	return q;
}

static void debian_free(void *impl)
{
	free(impl);
}

static const struct xs_source_ops debian_ops = {
	.kind = "debian",
	.settle = debian_settle,
	.fetch = debian_fetch,
	.describe = debian_describe,
	.origin = debian_origin,
	.status = debian_status,
	.free = debian_free,
	.cached = debian_cached,
};

void xs_source_debian_open(const struct xs_debian_env *env, struct xs_pkg_source *out)
{
	struct debian_source *d = xs_xcalloc(1, sizeof *d);
	d->env = *env;
	*out = (struct xs_pkg_source){ &debian_ops, d };
}
