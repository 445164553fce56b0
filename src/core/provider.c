/* provider.c - see include/xsysroot/provider.h */
#include "xsysroot/provider.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct xs_provider {
	struct xs_provider_ops ops;
	void *ud;
	/* lock guards the fields below; taken alone */
	pthread_mutex_t lock;
	const char *cands; /* the candidate table's mapping, NULL: none (yet) */
	size_t cands_len;
	bool cands_tried;
};

/* Left out for size: trees only their own interpreters or tools read, and
 * debugging symbols. */
bool xs_provider_scope(const char *vpath)
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

int xs_provider_rev_key(const char *path, char *out, size_t outsz, void *ud)
{
	(void)ud;
	if (xs_view_present_path(path, out, outsz) < 0)
		return 0;
	return xs_provider_scope(out);
}

int xs_provider_open_rev(struct xs_contents *c, const char *rpath, bool *built,
			 struct xs_contents_rev_stats *st)
{
	*built = false;
	if (xs_contents_open_rev(c, rpath) == 0)
		return 0;
	memset(st, 0, sizeof *st);
	int q = xs_contents_build_rev(c, xs_provider_rev_key, NULL, rpath, st);
	if (q == 0)
		q = xs_contents_open_rev(c, rpath);
	*built = q == 0;
	return q;
}

struct xs_provider *xs_provider_new(const struct xs_provider_ops *ops, void *ud)
{
	struct xs_provider *p = xs_xcalloc(1, sizeof *p);
	p->ops = *ops;
	p->ud = ud;
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void xs_provider_free(struct xs_provider *p)
{
	if (!p)
		return;
	if (p->cands)
		munmap((void *)p->cands, p->cands_len);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Map the candidate table, once; lock held. */
static void map_cands(struct xs_provider *p)
{
	if (p->cands_tried)
		return;
	p->cands_tried = true;
	char path[XS_MAX_PATH];
	_cleanup_close_ int fd = -1;
	struct stat st;
	if (p->ops.table_path(p->ud, path, sizeof path) == 0 &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0 && fstat(fd, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size <= XS_VIEWCACHE_CANDS_MAX) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			p->cands = m;
			p->cands_len = (size_t)st.st_size;
		}
	}
}

int xs_provider_cands_find(struct xs_provider *p, const char *name,
			   struct xs_viewcache_line *out)
{
	pthread_mutex_lock(&p->lock);
	map_cands(p);
	pthread_mutex_unlock(&p->lock);
	/* the mapping is set once and never changes: read without the lock */
	return xs_viewcache_cands_find(p->cands, p->cands_len, name, out);
}

struct find_ctx {
	struct xs_provider *p;
	struct xs_contents *c;
	const char *path; /* as the view shows it */
	char pkg[256];
};

static int match_cb(const char *path, void *ud)
{
	struct find_ctx *x = ud;
	char v[XS_MAX_PATH + 8];
	if (xs_view_present_path(path, v, sizeof v) < 0)
		return 0;
	return !strcmp(v, x->path);
}

/* A candidate of the reverse index: confirmed when its Contents entry says
 * so exactly and it is not in the view (a view package that lists the path
 * but did not ship it is not offered). */
static int candidate_cb(const char *pkg, void *ud)
{
	struct find_ctx *x = ud;
	if (x->p->ops.in_view(x->p->ud, pkg))
		return 0;
	if (xs_contents_foreach(x->c, pkg, match_cb, x) != 1)
		return 0;
	snprintf(x->pkg, sizeof x->pkg, "%s", pkg);
	return 1;
}

int xs_provider_find(struct xs_provider *p, const char *path, char *name, size_t namesz,
		     char *version, size_t versz)
{
	if (namesz)
		name[0] = 0;
	if (versz)
		version[0] = 0;
	size_t n = strlen(path);
	if (!n || n > XS_MAX_PATH || path[0] == '/')
		return -EINVAL;
	if (!xs_provider_scope(path))
		return 0;
	struct find_ctx x = { .p = p, .path = path };
	bool found = false;
	/* every reverse index, the sources in order */
	for (size_t i = 0; !found && (x.c = p->ops.contents(p->ud, i)); i++)
		found = xs_contents_rev_find(x.c, x.path, false, candidate_cb, &x) == 1;
	if (!found)
		return 0;
	snprintf(name, namesz, "%s", x.pkg);
	struct xs_viewcache_line l;
	if (xs_provider_cands_find(p, x.pkg, &l) == 0)
		snprintf(version, versz, "%.*s", (int)l.len[1], l.f[1]);
	return 1;
}
