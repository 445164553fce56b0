/* selection.c - see include/xsysroot/selection.h */
#include "xsysroot/selection.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xsysroot/cachefiles.h"
#include "xsysroot/decompress.h"
#include "xsysroot/http.h"
#include "xsysroot/packages.h"
#include "xsysroot/pkgidx.h"
#include "xsysroot/resolve.h"
#include "xsysroot/viewcache.h"

#define MAX_PACKAGES_TEXT (1ull << 30)
#define MAX_COMPONENTS 16

#define FAIL XS_FAIL

static int add_pkg(struct xs_selection *s, size_t nsrcs, size_t *cap, const char *name,
		   const char *version, const char *arch, const char *filename, const char *sha256,
		   uint64_t size, int src)
{
	if (src < 0 || (size_t)src >= nsrcs || !xs_is_sha256_hex(sha256))
		return -EBADMSG;
	xs_grow(&s->pkgs, cap, s->n + 1, sizeof *s->pkgs);
	xs_selection_pkg_fill(&s->pkgs[s->n++], name, version, arch, filename, sha256, size, src);
	return 0;
}

void xs_selection_pkg_fill(struct xs_selection_pkg *p, const char *name, const char *version,
			   const char *arch, const char *filename, const char *sha256,
			   uint64_t size, int src)
{
	*p = (struct xs_selection_pkg){ xs_strdup(name), xs_strdup(version), xs_strdup(arch),
					xs_strdup(filename), xs_strdup(sha256), size, src,
					NULL, 0, 0, NULL };
}

void xs_selection_free(struct xs_selection *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct xs_selection_pkg *p = &s->pkgs[i];
		free(p->name), free(p->version), free(p->arch), free(p->filename), free(p->sha256);
		free(p->deps), free(p->multi_arch);
	}
	free(s->pkgs);
	s->pkgs = NULL;
	s->n = 0;
}

static int load_viewcache(const struct xs_selection_config *cfg, const char *name,
			  struct xs_selection *out)
{
	char *data = NULL;
	size_t len = 0;
	if (xs_store_meta_read(cfg->store, name, XS_VIEWCACHE_MAX, &data, &len) < 0)
		return -ENOENT;
	char path[XS_MAX_PATH]; /* its last use, which cache gc goes by */
	if (xs_store_meta_path(cfg->store, name, path, sizeof path) == 0)
		utimensat(AT_FDCWD, path, NULL, 0);
	struct xs_viewcache vc;
	int q = xs_viewcache_parse(data, len, cfg->nsrcs, &vc);
	free(data);
	if (q < 0)
		return -EBADMSG;
	size_t cap = 0;
	for (size_t i = 0; i < vc.n; i++) {
		struct xs_viewcache_pkg *v = &vc.pkgs[i];
		add_pkg(out, cfg->nsrcs, &cap, v->name, v->version, v->arch, v->filename, v->sha256,
			v->size, v->origin); /* checked by the parser: cannot fail */
		out->pkgs[out->n - 1].deps = v->deps;
		out->pkgs[out->n - 1].ndeps = v->ndeps;
		out->pkgs[out->n - 1].installed_size = v->installed_size;
		out->pkgs[out->n - 1].multi_arch = xs_strdup(v->multi_arch);
		v->deps = NULL;
	}
	xs_viewcache_free(&vc);
	return 0;
}

static int write_cands(const struct xs_selection_config *cfg, struct xs_pkgtab *t,
		       const char *name)
{
	char path[XS_MAX_PATH];
	xs_store_meta_path(cfg->store, name, path, sizeof path);
	if (access(path, F_OK) == 0)
		return 0;
	char tmp[XS_META_TMP_MAX];
	int fd = xs_store_meta_tmp(cfg->store, name, tmp, NULL, 0);
	if (fd < 0)
		return fd;
	/* streamed: the table (about 11 MB for bookworm) is never whole in memory */
	int q = xs_viewcache_cands_write_fd(t, cfg->arch, fd);
	if (q == 0)
		q = xs_store_meta_commit(cfg->store, fd, tmp, name);
	if (close(fd) < 0 && q == 0)
		q = -errno;
	if (q < 0)
		xs_store_meta_discard(cfg->store, tmp);
	return q;
}

/* One warning for the stanzas of index x (the table from n0 on) that
 * cannot be used: they make their packages unusable, not the index. */
static void note_unusable(const struct xs_selection_config *cfg, const struct xs_pkgtab *t,
			  size_t n0, const struct xs_selection_index *x)
{
	size_t n = 0, first = 0;
	for (size_t i = n0; i < t->n; i++)
		if (t->pkgs[i].unusable && !n++)
			first = i;
	if (n)
		xs_logf(cfg->log, cfg->log_ud, XS_LOG_WARN, "%s/dists/%s/%s: %zu package%s unusable (%s: %s)",
			x->uri, x->suite, x->file->path, n, n > 1 ? "s" : "", t->pkgs[first].name,
			t->pkgs[first].unusable);
}

/* -EBADMSG naming the first selected package that is unusable and its
 * index (index k gave the table from starts[k] to starts[k + 1]). */
static int check_usable(const struct xs_selection_config *cfg, const struct xs_pkgtab *t,
			const size_t *sel, size_t nsel, const size_t *starts, char *err,
			size_t errsz)
{
	for (size_t i = 0; i < nsel; i++) {
		const struct xs_pkg *p = &t->pkgs[sel[i]];
		if (!p->unusable)
			continue;
		size_t k = 0;
		while (k + 1 < cfg->nidx && starts[k + 1] <= sel[i])
			k++;
		const struct xs_selection_index *x = &cfg->idx[k];
		FAIL(-EBADMSG, "package %s %s of %s/dists/%s/%s is unusable (%s): the view for %s "
			       "needs it", p->name, p->version, x->uri, x->suite, x->file->path,
		     p->unusable, cfg->arch);
	}
	return 0;
}

/* ---- reading the indexes: a job each, in parallel ------------------------ */

/* One index into a table of its own: parsed as it downloads (the tee) or
 * as it is read from the store. */
struct job {
	const struct xs_selection_config *cfg;
	size_t k;
	struct xs_pkgtab tab;
	struct xs_packages_stream *ps;
	struct xs_decompress_push *push;
	int failed; /* the tee's decompressor or parser failed: it stopped */
	int q;
	char err[1024];
	char perr[512];
	char warn[XS_MAX_PATH + 512]; /* for the log, from the calling thread */
	bool keep; /* the table came from the index: keep its compact form */
};

static int feed_parser(const void *p, size_t n, void *ud)
{
	struct job *j = ud;
	return xs_packages_stream_feed(j->ps, p, n, j->perr, sizeof j->perr);
}

/* Forget whatever the job made of its bytes so far. */
static void job_drop(struct job *j)
{
	xs_decompress_push_abort(j->push);
	j->push = NULL;
	xs_packages_stream_free(j->ps);
	j->ps = NULL;
	xs_pkgtab_free(&j->tab);
	xs_pkgtab_init(&j->tab);
	j->failed = 0;
	j->perr[0] = 0;
}

static int job_begin(struct job *j)
{
	job_drop(j);
	return xs_packages_stream_new(&j->tab, (int)j->cfg->idx[j->k].src, &j->ps);
}

static int tee_reset(void *ud)
{
	struct job *j = ud;
	int q = job_begin(j);
	return q < 0 ? q : xs_decompress_push_start(MAX_PACKAGES_TEXT, feed_parser, j, &j->push);
}

/* What the index's text makes is kept apart until the archive says the
 * bytes were the Release's: a parse failure only stops the tee, the
 * download goes on (a mirror's garbage then fails on its digest, a
 * genuine index on its parse, reported after) */
static int tee_write(const void *p, size_t n, void *ud)
{
	struct job *j = ud;
	if (!j->failed)
		j->failed = j->push ? xs_decompress_push_write(j->push, p, n) : -EINVAL;
	return 0;
}

/* The index as the store holds it through the parser. */
static int job_read_stored(struct job *j)
{
	const struct xs_selection_index *x = &j->cfg->idx[j->k];
	_cleanup_close_ int fd = xs_store_open_object(j->cfg->store, x->file->sha256);
	if (fd < 0) {
		snprintf(j->err, sizeof j->err, "cannot open the cached %s: %s", x->file->path,
			 strerror(-fd));
		return fd;
	}
	int q = job_begin(j);
	return q < 0 ? q : xs_decompress_fd(fd, MAX_PACKAGES_TEXT, feed_parser, j);
}

/* ---- the compact form (pkgidx.h) kept instead of the index -------------- */

static void index_id(const struct xs_selection_index *x, struct xs_pkgidx_id *id)
{
	memset(id, 0, sizeof *id);
	snprintf(id->index_sha256, sizeof id->index_sha256, "%s", x->file->sha256);
	id->index_size = x->file->size;
	if (x->inrelease_sha256 && xs_is_sha256_hex(x->inrelease_sha256))
		snprintf(id->inrelease_sha256, sizeof id->inrelease_sha256, "%s",
			 x->inrelease_sha256);
}

/* meta/ name (and path) of index x's compact form */
static int compact_name(const struct xs_selection_config *cfg, const struct xs_selection_index *x,
			char name[96], char *path, size_t pathsz)
{
	int q = cfg->store ? xs_cf_build(XS_CF_PACKAGES_IDX, x->file->sha256, name, 96) : -ENOENT;
	return q < 0 ? q : xs_store_meta_path(cfg->store, name, path, pathsz);
}

/* The index's compact form into the job's table: 1, or 0 when there is
 * none or it was refused (then it is rebuilt from the index, and the
 * warning names it). */
static int job_read_compact(struct job *j)
{
	const struct xs_selection_index *x = &j->cfg->idx[j->k];
	char name[96], path[XS_MAX_PATH], why[256];
	if (compact_name(j->cfg, x, name, path, sizeof path) < 0)
		return 0;
	job_drop(j);
	struct xs_pkgidx_id id;
	index_id(x, &id);
	int q = xs_pkgidx_load_path(path, &id, &j->tab, (int)x->src, NULL, why, sizeof why);
	if (q == 0) {
		utimensat(AT_FDCWD, path, NULL, 0); /* its last use, which cache gc goes by */
		return 1;
	}
	if (q != -ENOENT)
		snprintf(j->warn, sizeof j->warn, "%s/dists/%s/%s: the cached %s is refused (%s): "
			 "rebuilt from the index", x->uri, x->suite, x->file->path, path, why);
	job_drop(j);
	return 0;
}

/* Index k (pkgs[0, n), the whole index, verified) kept in its compact
 * form; the raw index then leaves the store.  Not fatal: the view is
 * resolved either way, and the next resolution fetches the index again. */
static void keep_compact(const struct xs_selection_config *cfg, size_t k,
			 const struct xs_pkg *pkgs, size_t n)
{
	const struct xs_selection_index *x = &cfg->idx[k];
	char name[96], path[XS_MAX_PATH], tmp[XS_META_TMP_MAX];
	if (compact_name(cfg, x, name, path, sizeof path) < 0)
		return;
	int fd = xs_store_meta_tmp(cfg->store, name, tmp, NULL, 0);
	if (fd < 0)
		return;
	struct xs_pkgidx_id id;
	index_id(x, &id);
	int q = xs_pkgidx_write_fd(pkgs, n, &id, fd);
	if (q == 0)
		q = xs_store_meta_commit(cfg->store, fd, tmp, name);
	if (close(fd) < 0 && q == 0)
		q = -errno;
	if (q < 0) {
		xs_store_meta_discard(cfg->store, tmp);
		return;
	}
	/* after the rename: whoever finds the index gone finds this */
	if (xs_store_object_path(cfg->store, x->file->sha256, path, sizeof path) == 0)
		unlink(path);
}

/* The compact forms of the indexes read from the mirror or the store,
 * written by a thread of their own while the view is resolved. */
struct keeper {
	const struct xs_selection_config *cfg;
	const struct xs_pkgtab *tab;
	const size_t *starts;
	const bool *keep;
	pthread_t th;
	bool running;
};

static void *keeper_run(void *ud)
{
	struct keeper *kp = ud;
	for (size_t k = 0; k < kp->cfg->nidx; k++)
		if (kp->keep[k])
			keep_compact(kp->cfg, k, kp->tab->pkgs + kp->starts[k],
				     kp->starts[k + 1] - kp->starts[k]);
	return NULL;
}

static void keeper_start(struct keeper *kp)
{
	kp->running = pthread_create(&kp->th, NULL, keeper_run, kp) == 0;
	if (!kp->running)
		keeper_run(kp);
}

static void keeper_join(struct keeper *kp)
{
	if (kp->running)
		pthread_join(kp->th, NULL);
	kp->running = false;
}

static void job_run(struct job *j)
{
	const struct xs_selection_config *cfg = j->cfg;
	const struct xs_selection_index *x = &cfg->idx[j->k];
	if (job_read_compact(j)) {
		j->q = 0;
		return;
	}
	j->keep = true;
	bool teed = false;
	const struct xs_http_sink tee = { tee_write, tee_reset, j };
	int q = cfg->fetch_index_tee
			? cfg->fetch_index_tee(cfg->ud, j->k, &tee, &teed, j->err, sizeof j->err)
			: cfg->fetch_index(cfg->ud, j->k, j->err, sizeof j->err);
	if (q == 0 && teed && j->push) {
		q = j->failed ? j->failed : xs_decompress_push_finish(j->push);
		j->push = NULL;
	} else if (q == 0) {
		q = job_read_stored(j);
		if (q == -ENOENT && job_read_compact(j)) { /* another process kept it compact */
			j->err[0] = 0;
			j->keep = false;
			j->q = 0;
			return;
		}
	} else {
		job_drop(j);
		j->q = q;
		return;
	}
	if (q == 0)
		q = xs_packages_stream_end(j->ps, j->perr, sizeof j->perr);
	if (q < 0 && j->perr[0])
		snprintf(j->err, sizeof j->err, "%s/dists/%s/%s: %s", x->uri, x->suite,
			 x->file->path, j->perr);
	else if (q < 0 && !j->err[0])
		snprintf(j->err, sizeof j->err, "%s/dists/%s/%s: cannot decompress: %s", x->uri,
			 x->suite, x->file->path, strerror(-q));
	xs_packages_stream_free(j->ps);
	j->ps = NULL;
	if (q < 0)
		job_drop(j);
	j->q = q;
}

struct jobs {
	struct job *v;
	size_t n, next; /* next: the next job to take (atomic) */
};

static void *jobs_worker(void *ud)
{
	struct jobs *js = ud;
	for (;;) {
		size_t k = __atomic_fetch_add(&js->next, 1, __ATOMIC_RELAXED);
		if (k >= js->n)
			return NULL;
		job_run(&js->v[k]);
	}
}

/* Every index fetched, decompressed and parsed (or its compact form read)
 * into tab (index k from starts[k] on, keep[k] when it came from the
 * index), XS_SELECTION_PARALLEL at once. */
static int read_indexes(const struct xs_selection_config *cfg, struct xs_pkgtab *tab,
			size_t *starts, bool *keep, char *err, size_t errsz)
{
	struct jobs js = { xs_xcalloc(cfg->nidx + 1, sizeof *js.v), cfg->nidx, 0 };
	for (size_t k = 0; k < cfg->nidx; k++) {
		js.v[k].cfg = cfg;
		js.v[k].k = k;
		xs_pkgtab_init(&js.v[k].tab);
	}
	pthread_t th[XS_SELECTION_PARALLEL];
	size_t nth = 0;
	while (nth + 1 < XS_SELECTION_PARALLEL && nth + 1 < cfg->nidx &&
	       pthread_create(&th[nth], NULL, jobs_worker, &js) == 0)
		nth++;
	jobs_worker(&js);
	for (size_t i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	int q = 0;
	for (size_t k = 0; k < cfg->nidx; k++) {
		struct job *j = &js.v[k];
		if (q == 0 && j->q < 0) {
			q = j->q;
			snprintf(err, errsz, "%s", j->err);
		}
		if (j->warn[0])
			xs_logf(cfg->log, cfg->log_ud, XS_LOG_WARN, "%s", j->warn);
		starts[k] = tab->n;
		keep[k] = j->keep && j->q == 0;
		xs_pkgtab_move(tab, &j->tab);
		if (q == 0)
			note_unusable(cfg, tab, starts[k], &cfg->idx[k]);
	}
	starts[cfg->nidx] = tab->n;
	free(js.v);
	return q;
}

/* p's Multi-Arch as the view keeps it: "" when the stanza gives none, or
 * a value the view cache cannot hold (a TAB: no Debian value has one). */
static const char *multi_arch_of(const struct xs_pkg *p)
{
	return p->multi_arch && !strpbrk(p->multi_arch, "\t\n") ? p->multi_arch : "";
}

/* The selected packages into out, and the view cache written (whole or
 * not at all) under meta/ name. */
static int take_selected(const struct xs_selection_config *cfg, struct xs_pkgtab *tab,
			 const size_t *sel, size_t nsel, const char *name,
			 struct xs_selection *out, char *err, size_t errsz)
{
	struct xs_buf buf;
	xs_buf_init(&buf, XS_VIEWCACHE_MAX);
	xs_viewcache_write_header(&buf);
	size_t cap = 0;
	int q = 0, w = 0;
	for (size_t i = 0; i < nsel && q == 0; i++) {
		struct xs_pkg *p = &tab->pkgs[sel[i]];
		q = add_pkg(out, cfg->nsrcs, &cap, p->name, p->version, p->arch, p->filename,
			    p->sha256, p->size, p->origin);
		if (q < 0)
			break;
		struct xs_selection_pkg *v = &out->pkgs[out->n - 1];
		v->installed_size = p->installed_size;
		v->multi_arch = xs_strdup(multi_arch_of(p));
		xs_resolve_deps(tab, sel, nsel, i, &v->deps, &v->ndeps);
		const struct xs_viewcache_pkg line = { p->name,	   p->version, p->arch,
						       p->filename, p->sha256,  p->size,
						       p->origin,   v->deps,	   v->ndeps,
						       p->installed_size, v->multi_arch };
		if (w == 0 && !strpbrk(p->filename, "\t\n") && !strpbrk(p->version, "\t\n"))
			w = xs_viewcache_write_pkg(&buf, &line);
		else
			w = w ? w : -EBADMSG;
		if (w == -EBADMSG) {
			q = -EBADMSG;
			snprintf(err, errsz, "package %s: unusable Filename", p->name);
		}
	}
	if (q == 0 && w == 0)
		xs_store_meta_write(cfg->store, name, buf.data, buf.len);
	xs_buf_free(&buf);
	return q;
}

/* The roots: the runtime base and the requested packages (extra owns
 * their strings); *nroots set. */
/* the runtime base; libc-bin completes glibc with the C.UTF-8 locale,
 * which glibc programs would otherwise read from the host under -L */
static const char *const base[] = { "libc6", "libc-bin", "libgcc-s1", "libstdc++6" };

const char *xs_selection_base(size_t i)
{
	return i < XS_ARRAY_SIZE(base) ? base[i] : NULL;
}

static const char **make_roots(const char *packages, char **extra, size_t *nroots)
{
	const char **roots = xs_xcalloc(XS_ARRAY_SIZE(base) + 1 + strlen(packages ? packages : ""),
					sizeof *roots);
	size_t n = 0;
	for (size_t i = 0; i < XS_ARRAY_SIZE(base); i++)
		roots[n++] = base[i];
	for (size_t i = 0; extra[i]; i++)
		roots[n++] = extra[i];
	*nroots = n;
	return roots;
}

/* ---- the tables kept for the next resolution (the memo) ------------------ */

struct xs_selection_memo {
	char key[96];	/* the candidate table's name: its indexes; "" empty */
	struct xs_pkgtab tab;
	size_t *starts; /* index k's packages from starts[k] on (nidx + 1) */
	size_t nidx;
	unsigned reads, reuses;
};

struct xs_selection_memo *xs_selection_memo_new(void)
{
	struct xs_selection_memo *m = xs_xcalloc(1, sizeof *m);
	xs_pkgtab_init(&m->tab);
	return m;
}

/* m empty again, its table's memory handed back to the system */
static void memo_clear(struct xs_selection_memo *m)
{
	bool held = m->tab.n > 0;
	xs_pkgtab_free(&m->tab);
	xs_pkgtab_init(&m->tab);
	free(m->starts);
	m->starts = NULL;
	m->nidx = 0;
	m->key[0] = 0;
	if (held)
		malloc_trim(0);
}

void xs_selection_memo_free(struct xs_selection_memo *m)
{
	if (!m)
		return;
	memo_clear(m);
	free(m);
}

void xs_selection_memo_counts(const struct xs_selection_memo *m, unsigned *reads,
			      unsigned *reuses)
{
	*reads = m ? m->reads : 0;
	*reuses = m ? m->reuses : 0;
}

/* The tables of cfg's indexes (their candidate table's name ckey): the
 * memo's when it holds them (*keep all false: nothing to write), else
 * read into the memo's table (or into own without a memo).  *tab and
 * *starts point into the memo or own. */
static int get_tables(const struct xs_selection_config *cfg, const char *ckey,
		      struct xs_pkgtab *own, struct xs_pkgtab **tab, size_t **starts, bool *keep,
		      char *err, size_t errsz)
{
	struct xs_selection_memo *m = cfg->memo;
	if (m && m->key[0] && !strcmp(m->key, ckey) && m->nidx == cfg->nidx) {
		m->reuses++;
		*tab = &m->tab;
		*starts = m->starts;
		xs_logf(cfg->log, cfg->log_ud, XS_LOG_DEBUG, "the %zu Packages indexes parsed by an "
			"earlier open of this process reused (%zu stanzas)", cfg->nidx, m->tab.n);
		return 0;
	}
	if (m) {
		memo_clear(m);
		m->starts = xs_xcalloc(cfg->nidx + 1, sizeof *m->starts);
		m->nidx = cfg->nidx;
	}
	*tab = m ? &m->tab : own;
	*starts = m ? m->starts : xs_xcalloc(cfg->nidx + 1, sizeof **starts);
	uint64_t t0 = xs_now_ns();
	int q = read_indexes(cfg, *tab, *starts, keep, err, errsz);
	if (q < 0 && m) {
		memo_clear(m); /* starts too: the caller's pointer goes */
		*tab = own;
		*starts = xs_xcalloc(cfg->nidx + 1, sizeof **starts);
		return q;
	}
	if (m) {
		m->reads++;
		snprintf(m->key, sizeof m->key, "%s", ckey);
	}
	xs_logf(cfg->log, cfg->log_ud, XS_LOG_DEBUG, "%zu Packages indexes read in %.3f s "
		"(%zu stanzas)", cfg->nidx, (xs_now_ns() - t0) / 1e9, (*tab)->n);
	return q;
}

/* The view of roots resolved over the tables of cfg's indexes. */
static int resolve_tables(const struct xs_selection_config *cfg, const char *const *roots,
			  size_t nroots, const char *name, struct xs_selection *out, char *err,
			  size_t errsz)
{
	struct xs_pkgtab own, *tab;
	xs_pkgtab_init(&own);
	size_t *starts = NULL;
	bool *keep = xs_xcalloc(cfg->nidx + 1, sizeof *keep);
	int q = get_tables(cfg, out->cands_name, &own, &tab, &starts, keep, err, errsz);
	struct keeper kp = { cfg, tab, starts, keep, 0, false };
	if (q == 0)
		keeper_start(&kp);
	size_t *sel = NULL, nsel = 0;
	if (q == 0 && write_cands(cfg, tab, out->cands_name) < 0)
		out->cands_name[0] = 0; /* not fatal: ldd and run name no version */
	if (q == 0) {
		char rerr[1024] = "";
		q = xs_resolve(tab, cfg->arch, roots, nroots, &sel, &nsel, rerr,
			       sizeof rerr);
		if (q < 0)
			snprintf(err, errsz, "cannot resolve the view for %s from %s: %s", cfg->arch,
				 cfg->describe, rerr);
	}
	if (q == 0)
		q = check_usable(cfg, tab, sel, nsel, starts, err, errsz);
	if (q == 0)
		q = take_selected(cfg, tab, sel, nsel, name, out, err, errsz);
	keeper_join(&kp);
	free(sel);
	free(keep);
	if (tab == &own) {
		free(starts);
		xs_pkgtab_free(&own);
		/* the table (tens of MB, much of it in the parser threads'
		 * arenas) is free but resident: give it back before the .debs
		 * are fetched */
		malloc_trim(0);
	}
	return q;
}

int xs_selection_resolve(const struct xs_selection_config *cfg, struct xs_selection *out,
			 char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	char **extra = xs_strv_split(cfg->packages);
	size_t nroots = 0;
	const char **roots = make_roots(cfg->packages, extra, &nroots);
	/* the key: architecture, roots and every Packages digest */
	struct xs_buf key;
	xs_buf_init(&key, 1 << 24);
	xs_buf_printf(&key, "%s\n%s\n", XS_VIEWCACHE_VERSION, cfg->arch);
	for (size_t i = 0; i < nroots; i++)
		xs_buf_printf(&key, "root %s\n", roots[i]);
	struct xs_buf ckey; /* the candidate table's: the same without roots */
	xs_buf_init(&ckey, 1 << 24);
	xs_buf_printf(&ckey, "%s\n%s\n", XS_VIEWCACHE_CANDS_VERSION, cfg->arch);
	for (size_t i = 0; i < cfg->nidx; i++) {
		const struct xs_selection_index *x = &cfg->idx[i];
		xs_buf_printf(&key, "%zu %s %s\n", x->src, x->file->path, x->file->sha256);
		xs_buf_printf(&ckey, "%zu %s %s\n", x->src, x->file->path, x->file->sha256);
	}
	char hex[65], name[96];
	xs_sha256_buf(key.data, key.len, hex);
	xs_cf_build(XS_CF_VIEW, hex, name, sizeof name);
	xs_sha256_buf(ckey.data, ckey.len, hex);
	xs_cf_build(XS_CF_CANDS, hex, out->cands_name, sizeof out->cands_name);
	xs_buf_free(&key);
	xs_buf_free(&ckey);
	int q = 0;
	if (load_viewcache(cfg, name, out) != 0)
		q = resolve_tables(cfg, roots, nroots, name, out, err, errsz);
	free(roots);
	xs_strv_free(extra);
	return q;
}

/* The Packages indexes of the archive's sources for arch, into idx (room
 * for nsrcs * MAX_COMPONENTS); their number, or -ENOENT. */
static int find_indexes(struct xs_archive *a, const char *arch, xs_log_fn log, void *log_ud,
			struct xs_selection_index *idx, char *err, size_t errsz)
{
	size_t nidx = 0, nsrcs = xs_archive_nsources(a);
	char missing[1024] = "";
	for (size_t s = 0; s < nsrcs; s++) {
		const struct xs_archive_source *as = xs_archive_source(a, s);
		for (size_t c = 0; !as->skipped && as->components[c] && c < MAX_COMPONENTS; c++) {
			char stem[256];
			snprintf(stem, sizeof stem, "%s/binary-%s/Packages", as->components[c], arch);
			const struct xs_release_file *f = xs_archive_find_index(a, s, stem);
			if (!f) {
				/* skipped, as apt skips it; an error if nothing is left */
				if (missing[0])
					xs_logf(log, log_ud, XS_LOG_WARN, "%s: skipped", missing);
				snprintf(missing, sizeof missing,
					 "%s %s: Release lists no %s index (is component '%s' right?)",
					 as->uri, as->suite, stem, as->components[c]);
				continue;
			}
			idx[nidx++] = (struct xs_selection_index){ s, as->uri, as->suite, f,
								   as->inrelease_sha256 };
		}
	}
	if (!nidx)
		FAIL(-ENOENT, "%s", missing[0] ? missing : "no source carries the view");
	if (missing[0])
		xs_logf(log, log_ud, XS_LOG_WARN, "%s: skipped", missing);
	return (int)nidx;
}

struct archive_ud {
	struct xs_archive *a;
	const struct xs_selection_index *idx;
};

static int fetch_from_archive(void *ud, size_t k, char *err, size_t errsz)
{
	struct archive_ud *u = ud;
	return xs_archive_fetch_index(u->a, u->idx[k].src, u->idx[k].file, err, errsz);
}

static int fetch_from_archive_tee(void *ud, size_t k, const struct xs_http_sink *tee,
				  bool *teed, char *err, size_t errsz)
{
	struct archive_ud *u = ud;
	return xs_archive_fetch_index_tee(u->a, u->idx[k].src, u->idx[k].file, tee, teed, err,
					  errsz);
}

int xs_selection_open(struct xs_archive *a, struct xs_store *store, const char *arch,
		      const char *packages, struct xs_selection_memo *memo, xs_log_fn log,
		      void *log_ud, struct xs_selection *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	size_t nsrcs = xs_archive_nsources(a);
	struct xs_selection_index *idx = xs_xcalloc(nsrcs * MAX_COMPONENTS + 1, sizeof *idx);
	int n = find_indexes(a, arch, log, log_ud, idx, err, errsz);
	int q = n < 0 ? n : 0;
	if (q == 0) {
		struct archive_ud u = { a, idx };
		const struct xs_selection_config cfg = {
			.store = store,
			.arch = arch,
			.nsrcs = nsrcs,
			.idx = idx,
			.nidx = (size_t)n,
			.packages = packages,
			.describe = xs_archive_describe(a),
			.memo = memo,
			.fetch_index = fetch_from_archive,
			.fetch_index_tee = fetch_from_archive_tee,
			.ud = &u,
			.log = log,
			.log_ud = log_ud,
		};
		q = xs_selection_resolve(&cfg, out, err, errsz);
	}
	free(idx);
	return q;
}
