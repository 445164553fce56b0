/* filelists.c - see include/xsysroot/filelists.h */
#include "xsysroot/filelists.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xsysroot/cachefiles.h"
#include "xsysroot/provider.h"
#include "xsysroot/release.h"

#define MAX_CONTENTS_TEXT (4ull << 30)
/* a Contents index the mirrors served wrong is not fetched again for this long */
#define CONTENTS_RETRY_S 3600

#define FAIL XS_FAIL

/* The indexes opened for one source of the archive. */
struct src {
	struct xs_contents **contents;
	size_t ncontents, capcontents;
};

struct xs_filelists {
	struct xs_store *store;
	char *cache_dir;
	bool offline;
	xs_log_fn log;
	void *log_ud;
	struct xs_archive *archive; /* while opening */
	struct src *srcs;
	size_t nsrcs;
};

#define logf_(o, level, ...) xs_logf((o)->log, (o)->log_ud, level, __VA_ARGS__)

struct xs_filelists *xs_filelists_new(const struct xs_filelists_config *cfg)
{
	struct xs_filelists *fl = xs_xcalloc(1, sizeof *fl);
	fl->store = cfg->store;
	fl->cache_dir = xs_strdup(cfg->cache_dir ? cfg->cache_dir : "");
	fl->offline = cfg->offline;
	fl->log = cfg->log;
	fl->log_ud = cfg->log_ud;
	fl->nsrcs = cfg->nsrcs;
	fl->srcs = xs_xcalloc(fl->nsrcs ? fl->nsrcs : 1, sizeof *fl->srcs);
	return fl;
}

void xs_filelists_free(struct xs_filelists *fl)
{
	if (!fl)
		return;
	for (size_t i = 0; i < fl->nsrcs; i++) {
		struct src *s = &fl->srcs[i];
		for (size_t k = 0; k < s->ncontents; k++)
			xs_contents_close(s->contents[k]);
		free(s->contents);
	}
	free(fl->srcs);
	free(fl->cache_dir);
	free(fl);
}

void xs_filelists_attach(struct xs_filelists *fl, size_t src, struct xs_contents *c)
{
	struct src *s = &fl->srcs[src];
	xs_grow(&s->contents, &s->capcontents, s->ncontents + 1, sizeof *s->contents);
	s->contents[s->ncontents++] = c;
}

/* Attach (building it once) the reverse index of c; without one the view
 * finds no provider in it (provider.h), so a failure is logged, not
 * returned. */
static void open_rev(struct xs_filelists *fl, const struct xs_archive_source *a,
		     const struct xs_release_file *f, struct xs_contents *c)
{
	char name[96], rpath[XS_MAX_PATH];
	xs_cf_build(XS_CF_CONTENTS_REV, f->sha256, name, sizeof name);
	xs_store_meta_path(fl->store, name, rpath, sizeof rpath);
	struct xs_contents_rev_stats st = { 0 };
	bool built;
	uint64_t t0 = xs_now_ns();
	int q = xs_provider_open_rev(c, rpath, &built, &st);
	if (q < 0) {
		logf_(fl, XS_LOG_WARN, "%s/dists/%s/%s: cannot build its reverse index in %s: %s",
		      a->uri, a->suite, f->path, fl->cache_dir, strerror(-q));
		return;
	}
	if (!built)
		return;
	char sz[32];
	logf_(fl, XS_LOG_INFO, "indexed %s %s %s by path: %llu paths, %llu directories, %s in %.1f s",
	      a->uri, a->suite, f->path, (unsigned long long)st.keys, (unsigned long long)st.dirs,
	      xs_fmt_size(st.bytes, sz, sizeof sz), (xs_now_ns() - t0) / 1e9);
}

static int open_contents(struct xs_filelists *fl, size_t src, const char *path, char *err,
			 size_t errsz)
{
	const struct xs_archive_source *a = xs_archive_source(fl->archive, src);
	const struct xs_release_file *f = xs_release_find(a->rel, path);
	if (!f)
		return 0; /* this source has none: handled by the fallbacks */
	char name[96], ipath[XS_MAX_PATH];
	xs_cf_build(XS_CF_CONTENTS_IDX, f->sha256, name, sizeof name);
	xs_store_meta_path(fl->store, name, ipath, sizeof ipath);
	struct xs_contents *c = NULL;
	if (xs_contents_open(ipath, &c) < 0) {
		int q = xs_archive_fetch_index(fl->archive, src, f, err, errsz);
		if (q < 0)
			return q;
		_cleanup_close_ int fd = xs_store_open_object(fl->store, f->sha256);
		/* gone: another process indexed it (the index is renamed into
		 * place before the raw file is removed) */
		if (fd == -ENOENT && xs_contents_open(ipath, &c) == 0)
			goto indexed;
		if (fd < 0)
			FAIL(fd, "cannot open the cached %s: %s", f->path, strerror(-fd));
		struct xs_contents_stats st = { 0 };
		uint64_t t0 = xs_now_ns();
		q = xs_contents_build(fd, MAX_CONTENTS_TEXT, ipath, &st);
		if (q < 0)
			FAIL(q, "%s/dists/%s/%s: cannot index: %s", a->uri, a->suite, f->path,
			     strerror(-q));
		logf_(fl, XS_LOG_INFO, "indexed %s %s %s: %llu paths of %llu packages in %.1f s", a->uri,
		      a->suite, f->path, (unsigned long long)st.paths, (unsigned long long)st.packages,
		      (xs_now_ns() - t0) / 1e9);
		/* the compact index replaces the raw file */
		char opath[XS_MAX_PATH];
		if (xs_store_object_path(fl->store, f->sha256, opath, sizeof opath) == 0)
			unlink(opath);
		q = xs_contents_open(ipath, &c);
		if (q < 0)
			FAIL(q, "cannot open %s: %s", ipath, strerror(-q));
	}
indexed:
	open_rev(fl, a, f, c);
	xs_filelists_attach(fl, src, c);
	return 0;
}

/* The reason, remembered for CONTENTS_RETRY_S in meta/ name, why the
 * mirrors served another file than the Release lists; NULL: none recent. */
static char *contents_refused(struct xs_filelists *fl, const char *name)
{
	char path[XS_MAX_PATH], *why = NULL;
	size_t len = 0;
	struct stat st;
	if (xs_store_meta_path(fl->store, name, path, sizeof path) < 0 || stat(path, &st) < 0 ||
	    st.st_mtime + CONTENTS_RETRY_S < time(NULL) || st.st_mtime > time(NULL) + 60 ||
	    xs_store_meta_read(fl->store, name, 1024, &why, &len) < 0)
		return NULL;
	return why;
}

/* A Contents index is only an accelerator: one the mirror garbles (its
 * size or digest differ from the Release's; not tried again for
 * CONTENTS_RETRY_S), or that cannot be read, is not used, with one warning;
 * the packages it would list are fetched at mount instead, or offline
 * applied from the manifests in the cache.  Only a failure of the cache
 * itself fails the mount. */
static int try_contents(struct xs_filelists *fl, size_t src, const char *path, char *err,
			size_t errsz)
{
	const struct xs_archive_source *a = xs_archive_source(fl->archive, src);
	const struct xs_release_file *f = xs_release_find(a->rel, path);
	char name[96] = "";
	if (f)
		xs_cf_build(XS_CF_CONTENTS_REFUSED, f->sha256, name, sizeof name);
	_cleanup_free_ char *why = f ? contents_refused(fl, name) : NULL;
	int q = 0;
	if (why)
		snprintf(err, errsz, "%s; not tried again for %d minutes", why, CONTENTS_RETRY_S / 60);
	else
		q = open_contents(fl, src, path, err, errsz);
	if (q == 0 && !why)
		return 0;
	if (q == -ENOSPC || q == -EDQUOT || q == -EROFS || q == -ENOMEM)
		return q;
	if ((q == -EBADMSG || q == -EFBIG) && !fl->offline)
		xs_store_meta_write(fl->store, name, err, strnlen(err, 1024));
	logf_(fl, XS_LOG_WARN, "%s %s %s not used (%s): the packages it lists are fetched at mount "
	      "instead", a->uri, a->suite, path, err);
	err[0] = 0;
	return 0;
}

int xs_filelists_open_archive(struct xs_filelists *fl, struct xs_archive *a, const char *arch,
			      char *err, size_t errsz)
{
	fl->archive = a;
	int q = 0;
	for (size_t s = 0; s < fl->nsrcs && q == 0; s++) {
		const struct xs_archive_source *as = xs_archive_source(a, s);
		for (size_t c = 0; !as->skipped && as->components[c] && q == 0; c++) {
			char p1[256], p2[256];
			snprintf(p1, sizeof p1, "%s/Contents-%s.gz", as->components[c], arch);
			snprintf(p2, sizeof p2, "%s/Contents-all.gz", as->components[c]);
			q = try_contents(fl, s, p1, err, errsz);
			if (q == 0)
				q = try_contents(fl, s, p2, err, errsz);
		}
	}
	fl->archive = NULL;
	return q;
}

size_t xs_filelists_count(const struct xs_filelists *fl)
{
	size_t n = 0;
	for (size_t s = 0; s < fl->nsrcs; s++)
		n += fl->srcs[s].ncontents;
	return n;
}

struct xs_contents *xs_filelists_get(const struct xs_filelists *fl, size_t i)
{
	for (size_t s = 0; s < fl->nsrcs; s++) {
		if (i < fl->srcs[s].ncontents)
			return fl->srcs[s].contents[i];
		i -= fl->srcs[s].ncontents;
	}
	return NULL;
}

void xs_filelists_foreach(const struct xs_filelists *fl, const char *name,
			  int (*cb)(const char *path, void *ud), void *ud)
{
	for (size_t s = 0; s < fl->nsrcs; s++)
		for (size_t k = 0; k < fl->srcs[s].ncontents; k++)
			xs_contents_foreach(fl->srcs[s].contents[k], name, cb, ud);
}

struct add_ctx {
	struct xs_view *v;
	int pkg;
	size_t n;
};

static int add_path_cb(const char *path, void *ud)
{
	struct add_ctx *a = ud;
	a->n++;
	return xs_view_add_pending(a->v, path, a->pkg);
}

static size_t add_from_src(const struct src *s, struct xs_view *v, const char *name, int pkg)
{
	struct add_ctx a = { v, pkg, 0 };
	for (size_t k = 0; k < s->ncontents; k++)
		xs_contents_foreach(s->contents[k], name, add_path_cb, &a);
	return a.n;
}

size_t xs_filelists_add_pkg(const struct xs_filelists *fl, struct xs_view *v, const char *name,
			    int src, int pkg)
{
	size_t n = 0;
	if (src >= 0 && (size_t)src < fl->nsrcs)
		n = add_from_src(&fl->srcs[src], v, name, pkg);
	for (size_t s = 0; n == 0 && s < fl->nsrcs; s++)
		if ((int)s != src)
			n = add_from_src(&fl->srcs[s], v, name, pkg);
	return n;
}

int xs_filelists_add_view(const struct xs_filelists *fl, struct xs_view *v,
			  const struct xs_filelists_pkg *pkgs, size_t n,
			  int (*missing)(void *ud, size_t i, char *err, size_t errsz), void *ud,
			  char *err, size_t errsz)
{
	int nmissing = 0;
	for (size_t i = 0; i < n; i++) {
		if (pkgs[i].skip ||
		    xs_filelists_add_pkg(fl, v, pkgs[i].name, pkgs[i].src, (int)i) > 0)
			continue;
		nmissing++;
		int q = missing(ud, i, err, errsz);
		if (q < 0)
			return q;
	}
	return nmissing;
}
