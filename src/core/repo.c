/* repo.c - see include/xsysroot/repo.h */
#include "xsysroot/repo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xsysroot/archive.h"
#include "xsysroot/cachefiles.h"
#include "xsysroot/cachemgr.h"
#include "xsysroot/contents.h"
#include "xsysroot/deb.h"
#include "xsysroot/fetcher.h"
#include "xsysroot/filelists.h"
#include "xsysroot/http.h"
#include "xsysroot/identity.h"
#include "xsysroot/image.h"
#include "xsysroot/ldcache.h"
#include "xsysroot/lock.h"
#include "xsysroot/provider.h"
#include "xsysroot/release.h"
#include "xsysroot/selection.h"
#include "xsysroot/soname.h"
#include "xsysroot/source.h"
#include "xsysroot/sysroot.h"
#include "xsysroot/util.h"
#include "xsysroot/viewcache.h"

#define MAX_PREFETCH 4 /* background fetches of dependencies at once */
#define MOUNT_FETCHES 6 /* .debs fetched at once at mount */

/* The repo's view of each source of the archive (r->srcs[i] is source i
 * of r->archive). */
struct src {
	const struct xs_archive_source *a; /* uri, suite, components, rel */
	bool moved_on; /* its lock's packages are older than its Contents (lock.h) */
};

struct vpkg {
	char *name, *version, *arch, *filename, *sha256;
	uint64_t size;
	int src;
	size_t *deps; /* view packages satisfying its Depends/Pre-Depends */
	size_t ndeps;
	uint64_t installed_size; /* KiB, 0: not known */
	char *multi_arch;	 /* "" none given, NULL: not known */
};

struct bind {
	char *host, *path; /* path: as the view shows it ("usr/local/lib") */
	struct timespec mtime;
	ino_t ino;
};

struct xs_repo {
	const struct xs_arch *arch;
	struct bind *binds;
	size_t nbinds;
	pthread_mutex_t refresh_lock; /* serialises xs_repo_refresh */
	char *cache_dir;
	int fetch_timeout_s;
	xs_log_fn log;
	void *log_ud;
	struct xs_store *store;
	struct xs_archive *archive; /* sources, mirrors, InRelease; NULL for an image */
	struct src *srcs;
	size_t nsrcs;
	struct xs_filelists *filelists; /* the Contents indexes; NULL for an image */
	bool contents_open; /* its indexes are opened (else only the .debs were used) */
	/* the view's packages: exactly the closure of what was declared, set
	 * at open, then constant (no lookup adds one) */
	struct vpkg *pkgs;
	size_t npkgs;
	char *declared;		/* the declared packages (--packages), comma list */
	struct xs_provider *provider; /* ldd's and run's query (provider.h) */
	char cands_name[96];	/* meta/ name of the candidate table, "" none */
	struct xs_view *view;
	/* where the packages come from: this archive (debian_ops, impl r) or
	 * an image; set at open, then constant */
	struct xs_pkg_source source;
	/* the packages' single flight and prefetch (key i: package i); made
	 * once pkgs has its final place, freed first (its prefetch threads
	 * use everything else) */
	struct xs_fetcher *fetcher;
	char view_digest[65]; /* of the view as opened (identity.h), set at open */
	bool private_view;    /* one run's private mount (xs_repo_set_private) */
	char *lock_path;      /* the lock file the packages are pinned by, or NULL */
	char *describe;
	/* statistics, updated atomically */
	struct xs_source_counters count;
	uint64_t evicted;
	bool offline;
	uint64_t quota;		  /* bytes, 0: none */
	bool ready;		  /* xs_repo_open has returned (the quota may run) */
	int64_t started;	  /* xs_repo_start's time (seconds since the epoch), 0: not yet */
	struct xs_lease *lease;	  /* what gc must leave alone while we live */
	/* err_lock guards the ring of recent errors; taken alone */
	pthread_mutex_t err_lock;
	struct {
		int64_t when;
		char msg[512];
	} errors[XS_REPO_MAX_ERRORS];
	size_t nerrors, error_head;
};

#define logf_(o, level, ...) xs_logf((o)->log, (o)->log_ud, level, __VA_ARGS__)

#define FAIL XS_FAIL

int xs_default_cache_dir(char *out, size_t outsz)
{
	if (geteuid() == 0) {
		int n = snprintf(out, outsz, "/var/cache/xsysroot");
		return n > 0 && (size_t)n < outsz ? 0 : -ENAMETOOLONG;
	}
	return xs_xdg_path("XDG_CACHE_HOME", ".cache", "xsysroot", out, outsz);
}

/* ---- the package set (selection.h) and file lists (filelists.h) ---------- */

/* Package s (its strings and deps taken over) into p. */
static void take_pkg(struct vpkg *p, struct xs_selection_pkg *s)
{
	*p = (struct vpkg){ s->name,	s->version, s->arch,	       s->filename,
			    s->sha256,	s->size,    s->src,	       s->deps,
			    s->ndeps,	s->installed_size, s->multi_arch };
	*s = (struct xs_selection_pkg){ 0 };
}

static void fill_vpkg(struct vpkg *p, const char *name, const char *version, const char *arch,
		      const char *filename, const char *sha256, uint64_t size, int src)
{
	struct xs_selection_pkg s;
	xs_selection_pkg_fill(&s, name, version, arch, filename, sha256, size, src);
	take_pkg(p, &s);
}

/* The resolved packages (selection.h), or a lock's (lock.h), into the
 * package table. */
static int resolve_view(struct xs_repo *r, const struct xs_repo_config *cfg, char *err,
			size_t errsz)
{
	struct xs_selection sel;
	int q = cfg->lock ? xs_lock_select(cfg->lock, cfg->lock_path, r->archive, r->log,
					   r->log_ud, &sel, err, errsz)
			  : xs_selection_open(r->archive, r->store, r->arch->deb, cfg->packages,
					      cfg->memo, r->log, r->log_ud, &sel, err, errsz);
	if (q == 0) {
		snprintf(r->cands_name, sizeof r->cands_name, "%s", sel.cands_name);
		r->pkgs = xs_xcalloc(sel.n ? sel.n : 1, sizeof *r->pkgs);
		for (size_t i = 0; i < sel.n; i++)
			take_pkg(&r->pkgs[i], &sel.pkgs[i]);
		r->npkgs = sel.n;
	}
	for (size_t i = 0; cfg->lock && i < r->nsrcs; i++)
		r->srcs[i].moved_on = xs_lock_moved_on(cfg->lock, r->srcs[i].a);
	xs_selection_free(&sel);
	return q;
}

static bool manifest_cached(struct xs_repo *r, size_t i)
{
	return r->source.ops->cached && r->source.ops->cached(r->source.impl, i);
}

/* Where the generated files of the view go; binds (room for r->nbinds)
 * receives the --bind directories, NULL: none needed. */
static void sysroot_of(struct xs_repo *r, struct xs_sysroot *s, struct xs_sysroot_bind *binds)
{
	for (size_t i = 0; binds && i < r->nbinds; i++)
		binds[i] = (struct xs_sysroot_bind){ r->binds[i].host, r->binds[i].path };
	*s = (struct xs_sysroot){ .arch = r->arch, .store = r->store, .view = r->view,
				  .lease = r->lease, .cache_dir = r->cache_dir, .binds = binds,
				  .nbinds = binds ? r->nbinds : 0, .log = r->log,
				  .log_ud = r->log_ud };
}

static int add_loader_files(struct xs_repo *r, char *err, size_t errsz)
{
	struct xs_sysroot s;
	struct xs_sysroot_bind *binds = xs_xcalloc(r->nbinds + 1, sizeof *binds);
	sysroot_of(r, &s, binds);
	int q = xs_sysroot_add_loader_files(&s, err, errsz);
	free(binds);
	return q;
}

static int cmp_entry_path(const void *a, const void *b)
{
	return strcmp(((const struct xs_entry *)a)->path, ((const struct xs_entry *)b)->path);
}

/* The paths of package i's cached manifest, sorted, but directories (as
 * Contents lists them) and the kept control files. */
static void manifest_paths(struct xs_repo *r, size_t i, int (*cb)(const char *, void *),
			   void *cbud)
{
	char name[96], *data = NULL;
	size_t len = 0;
	struct xs_manifest m = { 0 };
	if (xs_cf_build(XS_CF_MANIFEST, r->pkgs[i].sha256, name, sizeof name) < 0 ||
	    xs_store_meta_read(r->store, name, 256u << 20, &data, &len) < 0 ||
	    xs_manifest_parse(data, len, &m) < 0) {
		free(data);
		return;
	}
	free(data);
	if (m.n)
		qsort(m.e, m.n, sizeof *m.e, cmp_entry_path);
	size_t ctl = strlen(XS_DEB_CONTROL_DIR);
	for (size_t k = 0; k < m.n; k++) /* dpkg lists data.tar's paths, not its own files */
		if (m.e[k].type != XS_E_DIR && strncmp(m.e[k].path, XS_DEB_CONTROL_DIR, ctl))
			cb(m.e[k].path, cbud);
	xs_manifest_free(&m);
}

/* A lock's package of a source that moved on (lock.h): fetched at open,
 * its paths from its manifest, not from Contents. */
static bool moved_on(const struct xs_repo *r, size_t i)
{
	return r->lock_path && r->srcs[r->pkgs[i].src].moved_on;
}

struct paths_ctx {
	int (*cb)(const char *path, void *cbud);
	void *cbud;
	size_t n;
};

static int count_path(const char *path, void *ud)
{
	struct paths_ctx *c = ud;
	c->n++;
	return c->cb(path, c->cbud);
}

/* The paths of package pkg that the Contents indexes give, else (none lists
 * it, none was opened, or it is moved_on) its manifest's. */
static void pkg_paths(void *ud, const char *pkg, int (*cb)(const char *path, void *cbud),
		      void *cbud)
{
	struct xs_repo *r = ud;
	size_t i = 0;
	while (i < r->npkgs && strcmp(r->pkgs[i].name, pkg))
		i++;
	struct paths_ctx c = { cb, cbud, 0 };
	if (r->filelists && r->contents_open && !(i < r->npkgs && moved_on(r, i)))
		xs_filelists_foreach(r->filelists, pkg, count_path, &c);
	if (!c.n && i < r->npkgs && r->store)
		manifest_paths(r, i, cb, cbud);
}

static int add_dpkg_files(struct xs_repo *r, char *err, size_t errsz)
{
	struct xs_sysroot s;
	sysroot_of(r, &s, NULL);
	struct xs_sysroot_pkg *pkgs = xs_xcalloc(r->npkgs + 1, sizeof *pkgs);
	for (size_t i = 0; i < r->npkgs; i++)
		pkgs[i] = (struct xs_sysroot_pkg){ r->pkgs[i].name, r->pkgs[i].version,
						   r->pkgs[i].arch, r->pkgs[i].sha256 };
	int q = xs_sysroot_add_dpkg_files(&s, pkgs, r->npkgs, pkg_paths, r, err, errsz);
	free(pkgs);
	return q;
}

struct passwd_ctx {
	struct xs_repo *r;
	size_t i;
};

static int fetch_passwd(void *ud, char *err, size_t errsz)
{
	struct passwd_ctx *c = ud;
	return xs_repo_fetch(c->r, c->i, err, errsz);
}

/* etc/passwd and etc/group from base-passwd, when it is in the view.
 * Fetches base-passwd. */
static int add_account_files(struct xs_repo *r, char *err, size_t errsz)
{
	size_t i = 0;
	while (i < r->npkgs && strcmp(r->pkgs[i].name, "base-passwd"))
		i++;
	if (i == r->npkgs)
		return 0;
	struct xs_sysroot s;
	sysroot_of(r, &s, NULL);
	struct passwd_ctx c = { r, i };
	return xs_sysroot_add_account_files(&s, r->pkgs[i].version, fetch_passwd, &c, err,
					    errsz);
}

static int finish_view(struct xs_repo *r, char *err, size_t errsz);

/* Packages of the view to fetch at mount (every key below npkgs). */
struct fetch_list {
	struct xs_repo *r;
	size_t *keys;
	size_t n;
};

/* A package no Contents index lists: fetched at mount, with the others. */
static int add_unlisted(void *ud, size_t i, char *err, size_t errsz)
{
	(void)err, (void)errsz;
	struct fetch_list *l = ud;
	logf_(l->r, XS_LOG_DEBUG, "%s %s is in no Contents index: fetching it at mount",
	      l->r->pkgs[i].name, l->r->pkgs[i].version);
	l->keys[l->n++] = i;
	return 0;
}

/* Offline, a package that cannot be fetched leaves its paths unknown: the
 * view lacks them until a fetch (one warning each). */
static void fetch_failed(void *ud, size_t i, int q, const char *err)
{
	(void)i, (void)q;
	struct xs_repo *r = ud;
	logf_(r, XS_LOG_WARN, "%s", err);
}

/* Fetch the listed packages now, MOUNT_FETCHES at once (the tree must be
 * complete before the mount answers). */
static int fetch_at_mount(struct xs_repo *r, const struct fetch_list *l, char *err,
			  size_t errsz)
{
	const struct xs_fetcher_batch b = { .keys = l->keys, .n = l->n, .width = MOUNT_FETCHES,
					    .keep_going = r->offline,
					    .failed = r->offline ? fetch_failed : NULL, .ud = r };
	uint64_t t0 = xs_now_ns();
	int q = xs_fetcher_fetch_batch(r->fetcher, &b, NULL, err, errsz);
	if (l->n)
		logf_(r, XS_LOG_DEBUG, "%zu packages fetched at mount (%d at once) in %.3f s", l->n,
		      MOUNT_FETCHES, (xs_now_ns() - t0) / 1e9);
	return r->offline ? 0 : q;
}

/* XSYSROOT_CONTENTS (a tuning knob, man page): "always" uses Contents
 * whenever one is usable, "never" fetches the .debs, else by cost. */
static int contents_force(void)
{
	const char *e = getenv("XSYSROOT_CONTENTS");
	return !e ? 0 : !strcmp(e, "always") ? 1 : !strcmp(e, "never") ? -1 : 0;
}

/* The file lists from the Contents indexes; the packages none lists and no
 * cached manifest gave (cached[i]) go to l. */
static int view_from_contents(struct xs_repo *r, const bool *cached, struct fetch_list *l,
			      char *err, size_t errsz)
{
	int q = xs_filelists_open_archive(r->filelists, r->archive, r->arch->deb, err, errsz);
	if (q < 0)
		return q;
	r->contents_open = true;
	struct xs_filelists_pkg *pkgs = xs_xcalloc(r->npkgs + 1, sizeof *pkgs);
	/* a cached manifest is applied exactly; a moved_on package is fetched:
	 * the Contents describe other versions */
	l->n = 0;
	for (size_t i = 0; i < r->npkgs; i++) {
		pkgs[i] = (struct xs_filelists_pkg){ r->pkgs[i].name, r->pkgs[i].src,
						     cached[i] || moved_on(r, i) };
		if (!cached[i] && moved_on(r, i))
			l->keys[l->n++] = i;
	}
	q = xs_filelists_add_view(r->filelists, r->view, pkgs, r->npkgs, add_unlisted, l, err,
				  errsz);
	free(pkgs);
	return q;
}

/* Contents is an accelerator chosen by cost (filelists.h): the view's
 * packages not in the cache either are fetched now, in parallel, or their
 * paths come from the Contents indexes and each is fetched on first use. */
static int build_view(struct xs_repo *r, char *err, size_t errsz)
{
	const struct xs_filelists_config fc = { .store = r->store, .cache_dir = r->cache_dir,
						.offline = r->offline, .nsrcs = r->nsrcs,
						.log = r->log, .log_ud = r->log_ud };
	r->filelists = xs_filelists_new(&fc);
	bool *cached = xs_xcalloc(r->npkgs + 1, sizeof *cached);
	struct fetch_list l = { r, xs_xcalloc(r->npkgs + 1, sizeof *l.keys), 0 };
	uint64_t deb_bytes = 0;
	for (size_t i = 0; i < r->npkgs; i++) {
		cached[i] = manifest_cached(r, i);
		if (!cached[i]) {
			l.keys[l.n++] = i;
			deb_bytes += r->pkgs[i].size;
		}
	}
	struct xs_filelists_cost cost;
	xs_filelists_cost(r->filelists, r->archive, r->arch->deb, &cost);
	char why[512];
	enum xs_filelists_way w = xs_filelists_choose(&cost, deb_bytes, contents_force(), why,
						      sizeof why);
	logf_(r, XS_LOG_DEBUG, "file lists of %zu packages (%zu not cached): %s", r->npkgs, l.n,
	      why);
	int q = w == XS_FILELISTS_CONTENTS ? view_from_contents(r, cached, &l, err, errsz) : 0;
	if (q >= 0)
		q = fetch_at_mount(r, &l, err, errsz);
	free(cached);
	free(l.keys);
	return q < 0 ? q : finish_view(r, err, errsz);
}

/* What every view gets once its packages (or image) are in: the merged-/usr
 * links, the --bind overlays and the loader files. */
static int finish_view(struct xs_repo *r, char *err, size_t errsz)
{
	xs_view_finish(r->view);
	for (size_t i = 0; i < r->nbinds; i++) {
		struct bind *b = &r->binds[i];
		struct stat st;
		int q = stat(b->host, &st) < 0 ? -errno : 0;
		if (q == 0)
			q = xs_view_add_bind(r->view, b->path, b->host);
		if (q < 0)
			FAIL(q, "--bind %s:/%s: %s", b->host, b->path, strerror(-q));
		b->mtime = st.st_mtim;
		b->ino = st.st_ino;
	}
	int q = add_loader_files(r, err, errsz);
	if (q == 0)
		q = add_dpkg_files(r, err, errsz);
	if (q == 0)
		q = add_account_files(r, err, errsz);
	if (q == 0) { /* the alternatives' links the postinst scripts make */
		struct xs_sysroot s;
		sysroot_of(r, &s, NULL);
		q = xs_sysroot_add_alternatives(&s, NULL, err, errsz);
	}
	if (q == 0) { /* last: what no package of the view ships */
		struct xs_sysroot s;
		sysroot_of(r, &s, NULL);
		q = xs_sysroot_add_host_files(&s, NULL, err, errsz);
	}
	return q;
}

/* The declared packages as a comma list, each once, in the order given. */
static char *declared_of(const char *packages)
{
	char **v = xs_strv_split(packages);
	struct xs_buf b;
	xs_buf_init(&b, 1 << 20);
	for (size_t i = 0; v[i]; i++) {
		char *was = v[i];
		v[i] = NULL; /* only the earlier ones are looked at */
		if (!xs_strv_has(v, was))
			xs_buf_printf(&b, "%s%s", b.len ? "," : "", was);
		v[i] = was;
	}
	xs_strv_free(v);
	char *out = xs_strdup(b.data ? b.data : "");
	xs_buf_free(&b);
	return out;
}

/* ---- which package of the archive ships a path (provider.h) ------------ */

static int cands_path(void *ud, char *out, size_t outsz)
{
	struct xs_repo *r = ud;
	if (!r->cands_name[0] || !r->store)
		return -ENOENT;
	return xs_store_meta_path(r->store, r->cands_name, out, outsz);
}

static struct xs_contents *contents_of(void *ud, size_t i)
{
	struct xs_repo *r = ud;
	return r->filelists ? xs_filelists_get(r->filelists, i) : NULL;
}

static bool in_view(void *ud, const char *name)
{
	struct xs_repo *r = ud;
	for (size_t i = 0; i < r->npkgs; i++)
		if (!strcmp(r->pkgs[i].name, name))
			return true;
	return false;
}

int xs_repo_guess_provider(struct xs_repo *r, const char *soname, char *name, size_t namesz,
			   char *version, size_t versz)
{
	char guess[XS_SONAME_MAX_GUESSES][XS_SONAME_PKG_MAX];
	size_t n = xs_soname_packages(soname, guess);
	for (size_t k = 0; k < n; k++) {
		struct xs_viewcache_line l;
		int q = xs_provider_cands_find(r->provider, guess[k], &l);
		if (q == -ENOENT)
			continue;
		if (q < 0)
			return q;
		snprintf(name, namesz, "%s", guess[k]);
		snprintf(version, versz, "%.*s", (int)l.len[1], l.f[1]);
		return 1;
	}
	return 0;
}

int xs_repo_find_provider(struct xs_repo *r, const char *path, char *name, size_t namesz,
			  char *version, size_t versz)
{
	if (r->filelists && r->archive && !r->contents_open) {
		char err[1024] = "";
		r->contents_open = true;
		logf_(r, XS_LOG_DEBUG, "opening the Contents indexes to find who ships /%s", path);
		if (xs_filelists_open_archive(r->filelists, r->archive, r->arch->deb, err,
					      sizeof err) < 0)
			logf_(r, XS_LOG_WARN, "%s", err);
	}
	return xs_provider_find(r->provider, path, name, namesz, version, versz);
}

void xs_repo_start(struct xs_repo *r)
{
	r->started = (int64_t)time(NULL);
	xs_fetcher_start(r->fetcher);
}

int xs_repo_refresh(struct xs_repo *r)
{
	if (!r->nbinds)
		return 0;
	pthread_mutex_lock(&r->refresh_lock);
	bool changed = false;
	for (size_t i = 0; i < r->nbinds; i++) {
		struct bind *b = &r->binds[i];
		struct stat st;
		if (stat(b->host, &st) < 0)
			continue;
		if (st.st_ino != b->ino || st.st_mtim.tv_sec != b->mtime.tv_sec ||
		    st.st_mtim.tv_nsec != b->mtime.tv_nsec) {
			b->ino = st.st_ino;
			b->mtime = st.st_mtim;
			changed = true;
		}
	}
	int q = 0;
	if (changed) {
		char err[1024] = "";
		q = add_loader_files(r, err, sizeof err);
		logf_(r, q < 0 ? XS_LOG_ERR : XS_LOG_DEBUG, "ld.so.cache regenerated for --bind: %s",
		      q < 0 ? err : "ok");
	}
	pthread_mutex_unlock(&r->refresh_lock);
	return q;
}

/* ---- packages ------------------------------------------------------------ */

/* A program that needed package i will most likely load its dependencies
 * next: fetch them in the background, a few at a time, so that the
 * lookups that follow find them ready instead of fetching one by one. */
static void prefetch_deps(struct xs_repo *r, size_t i)
{
	struct vpkg *p = &r->pkgs[i];
	for (size_t k = 0; k < p->ndeps; k++) {
		size_t j = p->deps[k];
		/* libraries only (Debian names them lib*): they are what the
		 * program loads next; dpkg, *-base and data packages rarely are */
		if (j >= xs_repo_npkgs(r) || strncmp(r->pkgs[j].name, "lib", 3))
			continue;
		if (xs_fetcher_prefetch(r->fetcher, j) == -EBUSY)
			return;
	}
}

/* The fetcher's work: package i from the source, counted; after a
 * download, the quota (skipped while other fetches run). */
static int fetch_work(void *ud, size_t i, char *err, size_t errsz)
{
	struct xs_repo *r = ud;
	__atomic_add_fetch(&r->count.in_flight, 1, __ATOMIC_RELAXED);
	uint64_t fetched = __atomic_load_n(&r->count.debs_fetched, __ATOMIC_RELAXED);
	int q = r->source.ops->fetch(r->source.impl, i, err, errsz);
	__atomic_sub_fetch(&r->count.in_flight, 1, __ATOMIC_RELAXED);
	if (q < 0)
		__atomic_add_fetch(&r->count.fetch_failures, 1, __ATOMIC_RELAXED);
	else if (r->quota && __atomic_load_n(&r->ready, __ATOMIC_ACQUIRE) &&
		 __atomic_load_n(&r->count.debs_fetched, __ATOMIC_RELAXED) != fetched)
		xs_repo_trim(r, false);
	return q;
}

/* Every fetch's outcome: an access's failure goes to the status (a
 * prefetch's only to the debug log); a fetched package's dependencies
 * follow in the background. */
static void fetch_done(void *ud, size_t i, int q, bool background, const char *err)
{
	struct xs_repo *r = ud;
	if (q < 0 && !background)
		xs_repo_note_error(r, err);
	else if (q < 0)
		logf_(r, XS_LOG_DEBUG, "prefetch of %s failed: %s", r->pkgs[i].name, err);
	else
		prefetch_deps(r, i);
}

/* A waiter's measure of progress: the bytes this process has received
 * (the run's own stall detector fires first, see xs_http_opts_inactivity). */
static uint64_t fetch_progress(void *ud, size_t i)
{
	(void)ud, (void)i;
	return xs_http_total_bytes();
}

/* Once pkgs has its final place: the single flight over its packages. */
static int open_fetcher(struct xs_repo *r, char *err, size_t errsz)
{
	int s = r->fetch_timeout_s;
	struct xs_fetcher_config fc = {
		.work = fetch_work,
		.done = fetch_done,
		.progress = fetch_progress,
		.ud = r,
		/* a wait outlives the fetch's inactivity bound by a little, and
		 * goes on while downloads progress */
		.timeout_ms = s < INT_MAX / 1000 - 5 ? (s + 5) * 1000 : INT_MAX,
		.max_prefetch = MAX_PREFETCH,
	};
	int q = xs_fetcher_new(&fc, r->npkgs, &r->fetcher);
	if (q < 0)
		snprintf(err, errsz, "cannot track %zu packages: %s", r->npkgs, strerror(-q));
	return q;
}

/* An access that finds a prefetch of its package under way waits for it,
 * but does not take a failure of it as its own: the prefetch may have
 * started before the mirror healed, so the access tries once more itself
 * (fetcher.h). */
int xs_repo_fetch(struct xs_repo *r, size_t i, char *err, size_t errsz)
{
	if (i >= xs_repo_npkgs(r))
		FAIL(-EINVAL, "no package %zu in the view", i);
	int q = xs_fetcher_fetch(r->fetcher, i, err, errsz);
	if (q == -ETIMEDOUT && errsz && !err[0])
		snprintf(err, errsz, "gave up waiting for '%s %s': no data for %d s",
			 r->pkgs[i].name, r->pkgs[i].version, r->fetch_timeout_s + 5);
	size_t l = q < 0 && r->lock_path ? strnlen(err, errsz) : errsz;
	if (l + 1 < errsz)
		snprintf(err + l, errsz - l, " (pinned by the lock file %s)", r->lock_path);
	return q;
}

/* ---- the sources ----------------------------------------------------------- */

static void debian_pkg(void *ud, size_t i, struct xs_deb_pkg *out)
{
	const struct vpkg *p = &((struct xs_repo *)ud)->pkgs[i];
	*out = (struct xs_deb_pkg){ p->name,   p->version, p->arch,	    p->filename,
				    p->sha256, p->size,	   (size_t)p->src, p->installed_size };
}

static int finish_view_cb(void *ud, char *err, size_t errsz)
{
	return finish_view(ud, err, errsz);
}

/* What a source uses of r, once the store, fetcher and view exist. */
static struct xs_source_env source_env(struct xs_repo *r)
{
	return (struct xs_source_env){
		.store = r->store,
		.lease = r->lease,
		.view = r->view,
		.fetcher = r->fetcher,
		.cache_dir = r->cache_dir,
		.counters = &r->count,
		.finish_view = finish_view_cb,
		.ud = r,
		.log = r->log,
		.log_ud = r->log_ud,
	};
}

/* This archive as the source. */
static void open_debian(struct xs_repo *r)
{
	struct xs_debian_env env = {
		.base = source_env(r),
		.archive = r->archive,
		.offline = r->offline,
		.pkg = debian_pkg,
	};
	xs_source_debian_open(&env, &r->source);
}

/* A container image: its documents are fetched now, the view is empty
 * until xs_repo_settle; the whole image is package 0. */
static int open_image(struct xs_repo *r, const struct xs_repo_config *cfg, char *err,
		      size_t errsz)
{
	struct xs_image_config ic = {
		.ref = cfg->image,
		.arch = r->arch->deb,
		.plain_http = cfg->plain_http,
		.creds = cfg->creds,
		.auth_file = cfg->auth_file,
		.fetch_timeout_s = r->fetch_timeout_s,
		.progress = cfg->progress,
		.log = cfg->log,
		.log_ud = cfg->log_ud,
	};
	r->npkgs = 1;
	r->pkgs = xs_xcalloc(1, sizeof *r->pkgs);
	r->view = xs_view_new(r->store, 0);
	int q = open_fetcher(r, err, errsz);
	if (q < 0)
		return q;
	struct xs_source_env env = source_env(r);
	char digest[80];
	q = xs_source_image_open(&env, &ic, &r->source, digest, r->view_digest, err, errsz);
	if (q < 0)
		return q;
	fill_vpkg(&r->pkgs[0], cfg->image, digest, r->arch->deb, "", strchr(digest, ':') + 1, 0,
		  0);
	return 0;
}

int xs_repo_settle(struct xs_repo *r, char *err, size_t errsz)
{
	return r->source.ops->settle(r->source.impl, err, errsz);
}

/* ---- open / free ------------------------------------------------------- */

static int parse_binds(struct xs_repo *r, const char *const *binds, char *err, size_t errsz)
{
	size_t n = 0;
	while (binds && binds[n])
		n++;
	r->binds = xs_xcalloc(n + 1, sizeof *r->binds);
	for (size_t i = 0; i < n; i++) {
		const char *colon = strrchr(binds[i], ':');
		if (!colon || colon == binds[i] || colon[1] != '/')
			FAIL(-EINVAL, "--bind %s: expected HOSTDIR:/PATH", binds[i]);
		char norm[XS_MAX_PATH + 1], view[XS_MAX_PATH + 8], host[XS_MAX_PATH + 1];
		if (xs_path_normalize(colon + 1, norm, sizeof norm) < 0 || !norm[0] ||
		    xs_view_present_path(norm, view, sizeof view) < 0)
			FAIL(-EINVAL, "--bind %s: '%s' is not a path the view can show", binds[i],
			     colon + 1);
		snprintf(host, sizeof host, "%.*s", (int)(colon - binds[i]), binds[i]);
		char *real = realpath(host, NULL);
		struct stat st;
		if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(real);
			FAIL(-ENOTDIR, "--bind %s: %s is not a directory", binds[i], host);
		}
		r->binds[r->nbinds].host = real;
		r->binds[r->nbinds].path = xs_strdup(view);
		r->nbinds++;
	}
	return 0;
}

/* The cache: its store, and this process's lease in it (what gc keeps). */
static int open_store(struct xs_repo *r, char *err, size_t errsz)
{
	int q = xs_mkdir_p(r->cache_dir, 0755);
	if (q == 0)
		q = xs_store_open(r->cache_dir, &r->store);
	if (q == 0)
		q = xs_lease_open(r->cache_dir, &r->lease);
	if (q < 0)
		snprintf(err, errsz, "cannot use the cache directory %s: %s", r->cache_dir,
			 strerror(-q));
	return q;
}

static int open_image_repo(struct xs_repo *r, const struct xs_repo_config *cfg, char *err,
			   size_t errsz)
{
	int q = open_store(r, err, errsz);
	return q < 0 ? q : open_image(r, cfg, err, errsz);
}

/* The sources (no network yet), and the repo's own state for each. */
static int new_archive(struct xs_repo *r, const struct xs_repo_config *cfg, char *err,
		       size_t errsz)
{
	struct xs_archive_config ac = {
		.arch = r->arch,
		.mirror = cfg->mirror,
		.suite = cfg->suite,
		.components = cfg->components,
		.keyring = cfg->keyring,
		.apt_root = cfg->apt_root,
		.gpgv = cfg->gpgv,
		.proxy = cfg->proxy,
		.allow_expired = cfg->allow_expired,
		.offline = cfg->offline,
		.progress = cfg->progress,
		.fetch_timeout_s = r->fetch_timeout_s,
		.now = cfg->now,
		.log = cfg->log,
		.log_ud = cfg->log_ud,
	};
	int q = xs_archive_new(&ac, &r->archive, err, errsz);
	if (q < 0)
		return q;
	r->nsrcs = xs_archive_nsources(r->archive);
	r->srcs = xs_xcalloc(r->nsrcs ? r->nsrcs : 1, sizeof *r->srcs);
	for (size_t i = 0; i < r->nsrcs; i++) {
		r->srcs[i].a = xs_archive_source(r->archive, i);
	}
	r->describe = xs_strdup(xs_archive_describe(r->archive));
	return 0;
}

/* The view digest of the packages of the view now (at open: as opened). */
static void pkgs_view_digest(struct xs_repo *r, char out[65])
{
	size_t n = xs_repo_npkgs(r);
	const char **hex = xs_xcalloc(n + 1, sizeof *hex);
	for (size_t i = 0; i < n; i++)
		hex[i] = r->pkgs[i].sha256;
	if (xs_id_view_digest(hex, n, out) < 0)
		out[0] = 0; /* no digest: no mount is the same view */
	free(hex);
}

int xs_repo_open(const struct xs_repo_config *cfg, struct xs_repo **out, char *err,
		 size_t errsz)
{
	const struct xs_arch *arch = xs_arch_lookup(cfg->arch);
	char names[256];
	if (!arch)
		FAIL(-EINVAL, "unknown architecture '%s' (try %s)", cfg->arch,
		     xs_arch_names(names, sizeof names));
	struct xs_repo *r = xs_xcalloc(1, sizeof *r);
	r->arch = arch;
	r->cache_dir = xs_strdup(cfg->cache_dir);
	r->fetch_timeout_s = cfg->fetch_timeout_s > 0 ? cfg->fetch_timeout_s : 120;
	r->log = cfg->log;
	r->log_ud = cfg->log_ud;
	r->offline = cfg->offline;
	r->quota = cfg->cache_max_size;
	r->lock_path = cfg->lock && cfg->lock_path ? xs_strdup(cfg->lock_path) : NULL;
	pthread_mutex_init(&r->err_lock, NULL);
	pthread_mutex_init(&r->refresh_lock, NULL);
	static const struct xs_provider_ops provider_ops = { cands_path, contents_of, in_view };
	r->provider = xs_provider_new(&provider_ops, r);
	r->declared = declared_of(cfg->packages);
	int hold = -1;
	int q = parse_binds(r, cfg->binds, err, errsz);
	if (q == 0 && cfg->image) {
		q = open_image_repo(r, cfg, err, errsz);
		if (q < 0)
			goto fail;
		*out = r;
		return 0;
	}
	if (q == 0)
		q = new_archive(r, cfg, err, errsz);
	if (q < 0)
		goto fail;

	q = open_store(r, err, errsz);
	if (q < 0)
		goto fail;
	/* the whole open under the shared lock: gc does not run meanwhile, and
	 * finds every package of the view leased afterwards */
	hold = xs_cache_hold(r->cache_dir);
	uint64_t t0 = xs_now_ns();
	q = xs_archive_open(r->archive, r->store, err, errsz);
	if (q < 0)
		goto fail;
	logf_(r, XS_LOG_DEBUG, "InRelease of %zu sources verified in %.3f s", r->nsrcs,
	      (xs_now_ns() - t0) / 1e9);
	t0 = xs_now_ns();
	q = resolve_view(r, cfg, err, errsz);
	if (q < 0)
		goto fail;
	q = open_fetcher(r, err, errsz);
	if (q < 0)
		goto fail;
	for (size_t i = 0; i < r->npkgs; i++)
		xs_lease_add(r->lease, "pkg", r->pkgs[i].sha256);
	pkgs_view_digest(r, r->view_digest);
	logf_(r, XS_LOG_DEBUG, "%zu packages resolved in %.3f s", r->npkgs, (xs_now_ns() - t0) / 1e9);
	t0 = xs_now_ns();
	int64_t mtime = 0;
	for (size_t i = 0; i < r->nsrcs; i++)
		if (r->srcs[i].a->rel->date > mtime)
			mtime = r->srcs[i].a->rel->date;
	r->view = xs_view_new(r->store, mtime);
	open_debian(r);
	q = build_view(r, err, errsz);
	if (q < 0)
		goto fail;
	struct xs_view_stats vs;
	xs_view_stats(r->view, &vs);
	logf_(r, XS_LOG_DEBUG,
	      "view of %llu nodes (%llu pending) built in %.3f s; %llu path conflicts between "
	      "packages, resolved in package-name order",
	      (unsigned long long)vs.nodes, (unsigned long long)vs.pending, (xs_now_ns() - t0) / 1e9,
	      (unsigned long long)vs.conflicts);
	if (hold >= 0)
		close(hold);
	__atomic_store_n(&r->ready, true, __ATOMIC_RELEASE);
	*out = r;
	return 0;
fail:
	if (hold >= 0)
		close(hold);
	xs_repo_free(r);
	return q;
}

void xs_repo_free(struct xs_repo *r)
{
	if (!r)
		return;
	xs_fetcher_free(r->fetcher); /* waits for the prefetches */
	xs_filelists_free(r->filelists);
	free(r->srcs);
	for (size_t i = 0; i < r->npkgs; i++) {
		struct vpkg *p = &r->pkgs[i];
		free(p->name), free(p->version), free(p->arch), free(p->filename), free(p->sha256);
		free(p->deps), free(p->multi_arch);
	}
	free(r->pkgs);
	xs_provider_free(r->provider);
	free(r->declared);
	if (r->source.ops)
		r->source.ops->free(r->source.impl);
	for (size_t i = 0; i < r->nbinds; i++)
		free(r->binds[i].host), free(r->binds[i].path);
	free(r->binds);
	pthread_mutex_destroy(&r->refresh_lock);
	xs_view_free(r->view);
	xs_archive_free(r->archive);
	if (r->store)
		xs_store_close(r->store);
	xs_lease_close(r->lease);
	pthread_mutex_destroy(&r->err_lock);
	free(r->cache_dir);
	free(r->describe);
	free(r->lock_path);
	free(r);
}

const struct xs_arch *xs_repo_arch(struct xs_repo *r)
{
	return r->arch;
}
const struct xs_archive *xs_repo_archive(struct xs_repo *r)
{
	return r->archive;
}
struct xs_view *xs_repo_view(struct xs_repo *r)
{
	return r->view;
}
size_t xs_repo_npkgs(struct xs_repo *r)
{
	return __atomic_load_n(&r->npkgs, __ATOMIC_ACQUIRE);
}
const char *xs_repo_describe(struct xs_repo *r)
{
	return r->source.ops->describe(r->source.impl);
}

int xs_repo_pkg(struct xs_repo *r, size_t i, struct xs_repo_pkg *out)
{
	if (i >= xs_repo_npkgs(r))
		return -ENOENT;
	struct vpkg *p = &r->pkgs[i];
	out->name = p->name;
	out->version = p->version;
	out->arch = p->arch;
	out->filename = p->filename;
	out->sha256 = p->sha256;
	out->size = p->size;
	out->mirror = r->source.ops->origin(r->source.impl, i);
	out->fetched = xs_fetcher_ready(r->fetcher, i);
	out->src = (size_t)p->src;
	out->multi_arch = p->multi_arch;
	return 0;
}

void xs_repo_stats(struct xs_repo *r, struct xs_repo_stats *st)
{
	st->debs_fetched = __atomic_load_n(&r->count.debs_fetched, __ATOMIC_RELAXED);
	st->deb_bytes = __atomic_load_n(&r->count.deb_bytes, __ATOMIC_RELAXED);
	st->cache_hits = __atomic_load_n(&r->count.cache_hits, __ATOMIC_RELAXED);
	st->fetch_failures = __atomic_load_n(&r->count.fetch_failures, __ATOMIC_RELAXED);
	st->in_flight = __atomic_load_n(&r->count.in_flight, __ATOMIC_RELAXED);
	struct xs_archive_stats as = { 0 };
	if (r->archive)
		xs_archive_stats(r->archive, &as);
	st->index_bytes = as.index_bytes;
	st->cache_hits += as.index_hits;
	st->evicted = __atomic_load_n(&r->evicted, __ATOMIC_RELAXED);
	st->pkgs_ready = xs_fetcher_nready(r->fetcher);
}

void xs_repo_note_error(struct xs_repo *r, const char *msg)
{
	pthread_mutex_lock(&r->err_lock);
	size_t k = (r->error_head + r->nerrors) % XS_REPO_MAX_ERRORS;
	if (r->nerrors == XS_REPO_MAX_ERRORS)
		r->error_head = (r->error_head + 1) % XS_REPO_MAX_ERRORS;
	else
		r->nerrors++;
	r->errors[k].when = (int64_t)time(NULL);
	snprintf(r->errors[k].msg, sizeof r->errors[k].msg, "%s", msg);
	for (char *c = r->errors[k].msg; *c; c++)
		if (*c == '\n')
			*c = ' ';
	pthread_mutex_unlock(&r->err_lock);
}

const char *xs_repo_view_digest(struct xs_repo *r)
{
	return r->view_digest;
}

/* The status lines that say why each package is in the view. */
static int declared_status(struct xs_repo *r, struct xs_buf *out)
{
	int q = xs_buf_printf(out, XS_STATUS_DECLARED "=%s\n" XS_STATUS_BASE "=", r->declared);
	for (size_t i = 0; q == 0 && xs_selection_base(i); i++)
		q = xs_buf_printf(out, "%s%s", i ? "," : "", xs_selection_base(i));
	return q == 0 ? xs_buf_printf(out, "\n") : q;
}

void xs_repo_set_private(struct xs_repo *r)
{
	r->private_view = true;
}

int xs_repo_status(struct xs_repo *r, struct xs_buf *out)
{
	struct xs_repo_stats st;
	xs_repo_stats(r, &st);
	int q = xs_buf_printf(out, XS_STATUS_ARCH "=%s\n", r->arch->deb);
	if (q == 0)
		q = r->source.ops->status(r->source.impl, out);
	if (q == 0)
		q = xs_buf_printf(out,
				  XS_STATUS_VIEW_DIGEST "=%s\n" XS_STATUS_VIEW_FORMAT "=%d\n"
				  XS_STATUS_CACHE_DIR "=%s\n"
				  XS_STATUS_OFFLINE "=%d\n" XS_STATUS_PACKAGES "=%zu\n"
				  XS_STATUS_PACKAGES_FETCHED "=%llu\n" XS_STATUS_DEBS_FETCHED "=%llu\n"
				  XS_STATUS_BYTES_DOWNLOADED "=%llu\n" XS_STATUS_DEB_BYTES "=%llu\n"
				  XS_STATUS_INDEX_BYTES "=%llu\n" XS_STATUS_CACHE_HITS "=%llu\n"
				  XS_STATUS_FETCH_FAILURES "=%llu\n" XS_STATUS_IN_FLIGHT "=%llu\n"
				  XS_STATUS_EVICTED "=%llu\n" XS_STATUS_QUOTA "=%llu\n"
				  XS_STATUS_PRIVATE "=%d\n",
				  r->view_digest, XS_VIEW_FORMAT, r->cache_dir, r->offline, xs_repo_npkgs(r),
				  (unsigned long long)st.pkgs_ready, (unsigned long long)st.debs_fetched,
				  (unsigned long long)(st.deb_bytes + st.index_bytes),
				  (unsigned long long)st.deb_bytes, (unsigned long long)st.index_bytes,
				  (unsigned long long)st.cache_hits, (unsigned long long)st.fetch_failures,
				  (unsigned long long)st.in_flight, (unsigned long long)st.evicted,
				  (unsigned long long)r->quota, r->private_view);
	if (q == 0 && r->archive)
		q = declared_status(r, out);
	if (q == 0 && r->started) /* the process that serves: the daemon */
		q = xs_buf_printf(out, XS_STATUS_PID "=%ld\n" XS_STATUS_STARTED "=%lld\n",
				  (long)getpid(), (long long)r->started);
	pthread_mutex_lock(&r->err_lock);
	for (size_t i = 0; q == 0 && i < r->nerrors; i++) {
		size_t k = (r->error_head + i) % XS_REPO_MAX_ERRORS;
		q = xs_buf_printf(out, XS_STATUS_ERROR "=%lld %s\n", (long long)r->errors[k].when,
				  r->errors[k].msg);
	}
	pthread_mutex_unlock(&r->err_lock);
	return q;
}

int xs_repo_trim(struct xs_repo *r, bool wait)
{
	if (!r->quota)
		return 0;
	struct xs_cache_gc g;
	int q = xs_cache_gc(r->cache_dir, r->quota, wait, &g);
	if (q == -EWOULDBLOCK)
		return 0; /* a fetch is adding to the cache: the next trim will do */
	if (q < 0) {
		logf_(r, XS_LOG_WARN, "cannot apply the cache quota to %s: %s", r->cache_dir,
		      strerror(-q));
		return q;
	}
	__atomic_add_fetch(&r->evicted, g.evicted, __ATOMIC_RELAXED);
	for (size_t i = 0; g.evicted_names && g.evicted_names[i]; i++)
		logf_(r, XS_LOG_INFO, "quota: evicted %s from %s", g.evicted_names[i], r->cache_dir);
	char a[32], b[32], c[32];
	if (g.size_after > r->quota)
		logf_(r, XS_LOG_WARN, "quota: %s holds %s, over the quota of %s: %llu packages "
		      "over it are in use by live mounts", r->cache_dir,
		      xs_fmt_size(g.size_after, a, sizeof a), xs_fmt_size(r->quota, b, sizeof b),
		      (unsigned long long)g.kept_leased);
	else if (g.bytes_freed)
		logf_(r, XS_LOG_DEBUG, "quota: freed %s in %s", xs_fmt_size(g.bytes_freed, c, sizeof c),
		      r->cache_dir);
	xs_cache_gc_free(&g);
	return 0;
}
