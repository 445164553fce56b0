/* grow.c - see include/xsysroot/grow.h */
#include "xsysroot/grow.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct xs_grow {
	struct xs_grow_config cfg;
	/* lock serialises additions and guards the fields below; taken alone */
	pthread_mutex_t lock;
	const char *cands; /* the candidate table's mapping, NULL: none (yet) */
	size_t cands_len;
	bool cands_tried, full_warned;
};

#define logf_(g, level, ...) xs_logf((g)->cfg.log, (g)->cfg.log_ud, level, __VA_ARGS__)

/* Left out for size: trees only their own interpreters or tools read, and
 * debugging symbols. */
bool xs_grow_scope(const char *vpath)
{
	static const char *const in[] = { "etc/", "usr/lib/", "usr/libexec/" };
	static const char *const out[] = { "usr/lib/python3/", "usr/lib/debug/",
					   "usr/lib/gcc-cross/", "usr/lib/modules/" };
	bool ok = false;
	for (size_t i = 0; i < XS_ARRAY_SIZE(in); i++)
		ok = ok || !strncmp(vpath, in[i], strlen(in[i]));
	for (size_t i = 0; ok && i < XS_ARRAY_SIZE(out); i++)
		ok = strncmp(vpath, out[i], strlen(out[i])) != 0;
	return ok;
}

int xs_grow_rev_key(const char *path, char *out, size_t outsz, void *ud)
{
	(void)ud;
	if (xs_view_present_path(path, out, outsz) < 0)
		return 0;
	return xs_grow_scope(out);
}

int xs_grow_open_rev(struct xs_contents *c, const char *rpath, bool *built,
		     struct xs_contents_rev_stats *st)
{
	*built = false;
	if (xs_contents_open_rev(c, rpath) == 0)
		return 0;
	memset(st, 0, sizeof *st);
	int q = xs_contents_build_rev(c, xs_grow_rev_key, NULL, rpath, st);
	if (q == 0)
		q = xs_contents_open_rev(c, rpath);
	*built = q == 0;
	return q;
}

struct xs_grow *xs_grow_new(const struct xs_grow_config *cfg)
{
	struct xs_grow *g = xs_xcalloc(1, sizeof *g);
	g->cfg = *cfg;
	pthread_mutex_init(&g->lock, NULL);
	return g;
}

void xs_grow_free(struct xs_grow *g)
{
	if (!g)
		return;
	if (g->cands)
		munmap((void *)g->cands, g->cands_len);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* Map the candidate table, once; lock held. */
static void map_cands(struct xs_grow *g)
{
	if (g->cands_tried)
		return;
	g->cands_tried = true;
	char path[XS_MAX_PATH];
	_cleanup_close_ int fd = -1;
	struct stat st;
	if (g->cfg.ops.table_path(g->cfg.ud, path, sizeof path) == 0 &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0 && fstat(fd, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size <= XS_VIEWCACHE_CANDS_MAX) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			g->cands = m;
			g->cands_len = (size_t)st.st_size;
		}
	}
}

/* The candidate table line of package name; lock held. */
static int cands_find(struct xs_grow *g, const char *name, struct xs_viewcache_line *l)
{
	map_cands(g);
	return xs_viewcache_cands_find(g->cands, g->cands_len, name, l);
}

int xs_grow_cands_find(struct xs_grow *g, const char *name, struct xs_viewcache_line *out)
{
	pthread_mutex_lock(&g->lock);
	int q = cands_find(g, name, out);
	pthread_mutex_unlock(&g->lock);
	return q;
}

struct provide_ctx {
	struct xs_grow *g;
	struct xs_contents *c;
	const char *path; /* as the view shows it */
	size_t len;
	bool dir;
	char pkg[256];
};

static int match_cb(const char *path, void *ud)
{
	struct provide_ctx *x = ud;
	char v[XS_MAX_PATH + 8];
	if (xs_view_present_path(path, v, sizeof v) < 0)
		return 0;
	if (x->dir)
		return !strncmp(v, x->path, x->len) && v[x->len] == '/';
	return !strcmp(v, x->path);
}

/* A candidate of the reverse index: confirmed when its Contents entry says
 * so exactly and it is not in the view yet (a view package that lists the
 * path but did not ship it is not asked again). */
static int candidate_cb(const char *pkg, void *ud)
{
	struct provide_ctx *x = ud;
	if (!x->dir && x->g->cfg.ops.in_view(x->g->cfg.ud, pkg))
		return 0;
	if (xs_contents_foreach(x->c, pkg, match_cb, x) != 1)
		return 0;
	snprintf(x->pkg, sizeof x->pkg, "%s", pkg);
	return 1;
}

/* Look the path up in every reverse index, the sources in order. */
static bool find_provider(struct xs_grow *g, struct provide_ctx *x)
{
	for (size_t i = 0; (x->c = g->cfg.ops.contents(g->cfg.ud, i)); i++)
		if (xs_contents_rev_find(x->c, x->path, x->dir, candidate_cb, x) == 1)
			return true;
	return false;
}

/* Add package name (its candidate) to the view; lock held.  1 added, 0 not
 * possible. */
static int add_package(struct xs_grow *g, const char *name, const char *vpath)
{
	struct xs_viewcache_line l;
	int q = cands_find(g, name, &l);
	if (q < 0) {
		logf_(g, q == -ENOENT ? XS_LOG_DEBUG : XS_LOG_WARN,
		      "/%s is provided by %s, but %s: not added", vpath, name,
		      q == -ENOENT ? "the package table of this cache does not list it"
				   : "the package table of this cache is damaged");
		return 0;
	}
	struct xs_viewcache_cand c;
	q = xs_viewcache_cand_decode(&l, &c);
	if (q == 0 && strcmp(c.arch, g->cfg.arch) && strcmp(c.arch, "all"))
		q = -EBADMSG;
	if (q == 0)
		q = g->cfg.ops.add(g->cfg.ud, &c, vpath);
	if (q == -ENOSPC) {
		if (!g->full_warned)
			logf_(g, XS_LOG_WARN, "/%s is provided by %s, but the view has added %d "
			      "packages already: not added", vpath, name, g->cfg.max_added);
		g->full_warned = true;
		q = 0;
	}
	if (q < 0)
		logf_(g, XS_LOG_WARN, "/%s is provided by %s, but its entry in the package table "
		      "of this cache is unusable: not added", vpath, name);
	xs_viewcache_cand_free(&c);
	return q < 0 ? 0 : q;
}

int xs_grow_provide(struct xs_grow *g, struct xs_view *v, uint64_t parent, const char *name)
{
	char dir[XS_MAX_PATH + 1], path[XS_MAX_PATH + 1];
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	int q = xs_view_path(v, parent, dir, sizeof dir);
	if (q < 0)
		return q == -EXDEV ? 0 : q; /* a --bind directory: the host's */
	int n = snprintf(path, sizeof path, "%s%s%s", dir, *dir ? "/" : "", name);
	if (n < 0 || (size_t)n >= sizeof path)
		return -ENAMETOOLONG;
	if (!xs_grow_scope(path))
		return 0;
	struct provide_ctx x = { .g = g, .path = path, .len = (size_t)n };
	if (find_provider(g, &x)) {
		pthread_mutex_lock(&g->lock);
		/* another lookup may have added it meanwhile */
		q = g->cfg.ops.in_view(g->cfg.ud, x.pkg) ? 1 : add_package(g, x.pkg, path);
		pthread_mutex_unlock(&g->lock);
		return q;
	}
	/* a directory that packages of the archive ship paths below: shown
	 * (empty), so that the lookups of those paths come here next */
	x.dir = true;
	if (!find_provider(g, &x))
		return 0;
	q = xs_view_add_dir(v, path);
	if (q == 0)
		logf_(g, XS_LOG_DEBUG, "/%s: a directory of the archive (%s has paths below it)",
		      path, x.pkg);
	return q == 0 ? 1 : 0;
}

int xs_grow_find_provider(struct xs_grow *g, const char *path, char *name, size_t namesz,
			  char *version, size_t versz)
{
	if (namesz)
		name[0] = 0;
	if (versz)
		version[0] = 0;
	size_t n = strlen(path);
	if (!n || n > XS_MAX_PATH || path[0] == '/')
		return -EINVAL;
	if (!xs_grow_scope(path))
		return 0;
	struct provide_ctx x = { .g = g, .path = path, .len = n };
	if (!find_provider(g, &x))
		return 0;
	snprintf(name, namesz, "%s", x.pkg);
	struct xs_viewcache_line l;
	pthread_mutex_lock(&g->lock); /* cands_find maps the table once */
	if (cands_find(g, x.pkg, &l) == 0)
		snprintf(version, versz, "%.*s", (int)l.len[1], l.f[1]);
	pthread_mutex_unlock(&g->lock);
	return 1;
}
