/* view.c - see include/xsysroot/view.h */
#include "xsysroot/view.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "xsysroot/util.h"

struct vnode {
	char *name;
	uint64_t parent;
	uint32_t mode; /* 0: pending */
	uint32_t uid, gid, nlink;
	uint64_t size, rdev;
	int64_t mtime;
	int pkg;
	uint64_t alias; /* hardlink: inode of the target, 0 none */
	char *link;	/* symlink target */
	char sha256[65];
	int fd;		/* content fd, -1 until first read (verified then); set by CAS */
	bool synthetic; /* made by the view: packages never replace it */
	bool volatile_; /* may change (host-backed, or depends on one): short timeouts */
	int hfd;	/* host-backed: O_PATH fd of the host object, else -1 */
	dev_t hdev;
	ino_t hino;
	uint64_t *kids; /* directories: child inodes sorted by name */
	size_t nkids, capkids;
};

#define OPEN_LOCKS 16
/* the target of a link that cannot be presented confined (too long or too
 * deep once resolved): a name that leads nowhere, and never above the root */
#define UNCONFINED_TARGET "xsysroot: target out of bounds"

struct xs_view {
	/* Lock order: lock, then nothing (the store has its own locks).
	 * Guards nodes, n, cap and every node's fields except fd. */
	pthread_rwlock_t lock;
	struct vnode **nodes; /* index ino - 1 */
	size_t n, cap;
	struct xs_store *store;
	int64_t mtime;
	uint64_t conflicts;
	bool has_binds; /* synthetic files follow host directories */
	/* Serialise the first open (and SHA-256 check) of a node's content,
	 * striped by node, so that concurrent first readers hash it once.
	 * Taken without lock held (the hash may take a while). */
	pthread_mutex_t open_lock[OPEN_LOCKS];
};

static const char *const merged[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32", "libo32" };
static const char *const hidden[] = { "proc", "sys", "dev", "run", "tmp" };

static bool first_is(const char *path, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(path, name, n) && (path[n] == '/' || path[n] == 0);
}

int xs_view_present_path(const char *path, char *out, size_t outsz)
{
	for (size_t i = 0; i < XS_ARRAY_SIZE(hidden); i++)
		if (first_is(path, hidden[i]))
			return -ENOENT;
	for (size_t i = 0; i < XS_ARRAY_SIZE(merged); i++) {
		if (first_is(path, merged[i])) {
			int n = snprintf(out, outsz, "usr/%s", path);
			return n > 0 && (size_t)n < outsz ? 0 : -ENAMETOOLONG;
		}
	}
	int n = snprintf(out, outsz, "%s", path);
	return n >= 0 && (size_t)n < outsz ? 0 : -ENAMETOOLONG;
}

/* Split a normalised path in place into at most XS_MAX_DEPTH components. */
static size_t split_path(char *p, char **comp)
{
	size_t n = 0;
	while (*p && n < XS_MAX_DEPTH) {
		comp[n++] = p;
		char *slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = 0;
		p = slash + 1;
	}
	return n;
}

int xs_view_relative_target(const char *link_path, const char *target, char *out,
			    size_t outsz)
{
	char norm[XS_MAX_PATH + 1], t[XS_MAX_PATH + 1], l[XS_MAX_PATH + 1];
	int r = xs_path_normalize(target, norm, sizeof norm);
	if (r < 0)
		return r;
	if (xs_view_present_path(norm, t, sizeof t) < 0)
		snprintf(t, sizeof t, "%s", norm); /* a hidden directory: keep the name */
	snprintf(l, sizeof l, "%s", link_path);
	char *tc[XS_MAX_DEPTH], *lc[XS_MAX_DEPTH];
	size_t nt = split_path(t, tc), nl = split_path(l, lc);
	size_t nd = nl ? nl - 1 : 0; /* components of the link's directory */
	size_t c = 0;
	while (c < nd && c < nt && !strcmp(lc[c], tc[c]))
		c++;
	size_t o = 0;
	out[0] = 0;
	for (size_t k = c; k < nd; k++) {
		if (o + 4 > outsz)
			return -ENAMETOOLONG;
		memcpy(out + o, k + 1 < nd || c < nt ? "../" : "..", 3);
		o += k + 1 < nd || c < nt ? 3 : 2;
	}
	for (size_t k = c; k < nt; k++) {
		size_t n = strlen(tc[k]);
		if (o + n + 2 > outsz)
			return -ENAMETOOLONG;
		memcpy(out + o, tc[k], n);
		o += n;
		if (k + 1 < nt)
			out[o++] = '/';
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = 0;
	return 0;
}

/* Whether a relative target stays below the root from a directory of
 * depth components by the letter of it: its ".." all lead (a ".." after a
 * name could leave through a symlink on the way), and there are at most
 * depth of them. */
static bool target_confined(const char *target, size_t depth)
{
	size_t up = 0;
	bool named = false;
	for (const char *p = target; *p;) {
		size_t n = strcspn(p, "/");
		bool dotdot = n == 2 && p[0] == '.' && p[1] == '.';
		if (dotdot && (named || ++up > depth))
			return false;
		if (n && !dotdot && !(n == 1 && p[0] == '.'))
			named = true;
		p += n + (p[n] == '/');
	}
	return true;
}

int xs_view_clamp_target(const char *link_path, const char *target, char *out, size_t outsz)
{
	char l[XS_MAX_PATH + 1];
	size_t depth = 0;
	snprintf(l, sizeof l, "%s", link_path);
	char *slash = strrchr(l, '/');
	if (slash)
		*slash = 0;
	else
		l[0] = 0; /* a link at the top: its directory is the root */
	for (char *p = l; *p; p++)
		depth += *p == '/';
	depth += l[0] != 0;
	char at[XS_MAX_PATH + 1];
	if (target[0] == '/') /* "/.." is "/" as well */
		return xs_path_normalize_at_root(target, at, sizeof at) < 0
			       ? -ENAMETOOLONG
			       : xs_view_relative_target(link_path, at, out, outsz);
	if (target_confined(target, depth)) {
		int n = snprintf(out, outsz, "%s", target);
		return n >= 0 && (size_t)n < outsz ? 0 : -ENAMETOOLONG;
	}
	struct xs_buf b;
	xs_buf_init(&b, 2 * XS_MAX_PATH + 2);
	int r = xs_buf_printf(&b, "%s/%s", l, target);
	if (r == 0)
		r = xs_path_normalize_at_root(b.data, at, sizeof at);
	xs_buf_free(&b);
	if (r < 0)
		return -ENAMETOOLONG;
	return xs_view_relative_target(link_path, at, out, outsz);
}

static struct vnode *node_get(struct xs_view *v, uint64_t ino)
{
	if (ino == 0 || ino > v->n)
		return NULL;
	return v->nodes[ino - 1];
}

static uint64_t node_new(struct xs_view *v, uint64_t parent, const char *name,
			 size_t name_len, uint32_t mode, int pkg)
{
	struct vnode *nd = xs_xcalloc(1, sizeof *nd);
	nd->name = xs_strndup(name, name_len);
	nd->parent = parent;
	nd->mode = mode;
	nd->nlink = S_ISDIR(mode) ? 2 : 1;
	nd->mtime = v->mtime;
	nd->pkg = pkg;
	nd->fd = -1;
	nd->hfd = -1;
	xs_grow(&v->nodes, &v->cap, v->n + 1, sizeof *v->nodes);
	v->nodes[v->n++] = nd;
	return v->n;
}

struct xs_view *xs_view_new(struct xs_store *store, int64_t default_mtime)
{
	struct xs_view *v = xs_xcalloc(1, sizeof *v);
	pthread_rwlock_init(&v->lock, NULL);
	for (size_t i = 0; i < OPEN_LOCKS; i++)
		pthread_mutex_init(&v->open_lock[i], NULL);
	v->store = store;
	v->mtime = default_mtime;
	node_new(v, 1, "", 0, S_IFDIR | 0755, -1);
	return v;
}

void xs_view_free(struct xs_view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		struct vnode *nd = v->nodes[i];
		if (nd->fd >= 0)
			close(nd->fd);
		if (nd->hfd >= 0)
			close(nd->hfd);
		free(nd->name);
		free(nd->link);
		free(nd->kids);
		free(nd);
	}
	free(v->nodes);
	for (size_t i = 0; i < OPEN_LOCKS; i++)
		pthread_mutex_destroy(&v->open_lock[i]);
	pthread_rwlock_destroy(&v->lock);
	free(v);
}

/* Binary search a directory's children; returns the index of name or the
 * insertion point with *found false. */
static size_t kid_find(struct xs_view *v, struct vnode *dir, const char *name,
		       size_t len, bool *found)
{
	size_t lo = 0, hi = dir->nkids;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *kn = v->nodes[dir->kids[mid] - 1]->name;
		int c = strncmp(kn, name, len);
		if (c == 0)
			c = kn[len] ? 1 : 0;
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static uint64_t kid_insert(struct xs_view *v, uint64_t dir_ino, size_t pos,
			   const char *name, size_t len, uint32_t mode, int pkg)
{
	uint64_t ino = node_new(v, dir_ino, name, len, mode, pkg);
	struct vnode *dir = v->nodes[dir_ino - 1];
	xs_grow(&dir->kids, &dir->capkids, dir->nkids + 1, sizeof *dir->kids);
	memmove(dir->kids + pos + 1, dir->kids + pos, (dir->nkids - pos) * sizeof *dir->kids);
	dir->kids[pos] = ino;
	dir->nkids++;
	if (S_ISDIR(mode))
		dir->nlink++;
	return ino;
}

static void kid_remove(struct vnode *d, size_t pos)
{
	memmove(d->kids + pos, d->kids + pos + 1, (d->nkids - pos - 1) * sizeof *d->kids);
	d->nkids--;
}

/* Walk to the directory holding the last component of path, creating
 * implied directories.  Returns the directory inode and sets *base and *blen to
 * the last component; 0 when a component is not a directory (a conflict). */
static uint64_t walk_parent(struct xs_view *v, const char *path, const char **base,
			    size_t *blen)
{
	uint64_t dir = 1;
	const char *p = path;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash) {
			*base = p;
			*blen = strlen(p);
			return dir;
		}
		size_t len = (size_t)(slash - p);
		struct vnode *d = v->nodes[dir - 1];
		bool found;
		size_t pos = kid_find(v, d, p, len, &found);
		uint64_t next;
		if (found) {
			next = d->kids[pos];
			struct vnode *k = v->nodes[next - 1];
			if ((k->mode && !S_ISDIR(k->mode)) || k->hfd >= 0)
				return 0; /* not a directory, or a host directory */
			if (!k->mode) {
				/* a pending leaf turns out to hold children: a directory */
				k->mode = S_IFDIR | 0755;
				k->nlink = 2;
				k->pkg = -1;
				d->nlink++;
			}
		} else {
			next = kid_insert(v, dir, pos, p, len, S_IFDIR | 0755, -1);
		}
		dir = next;
		p = slash + 1;
	}
}

int xs_view_path(struct xs_view *v, uint64_t ino, char *out, size_t outsz)
{
	if (!outsz)
		return -ENAMETOOLONG;
	int r = 0;
	size_t o = outsz - 1; /* built backwards from the end */
	out[o] = 0;
	pthread_rwlock_rdlock(&v->lock);
	struct vnode *k = node_get(v, ino);
	if (!k)
		r = -ESTALE;
	for (size_t depth = 0; r == 0 && ino != 1; depth++) {
		if (k->hfd >= 0) {
			r = -EXDEV;
			break;
		}
		size_t n = strlen(k->name);
		if (n + 1 > o || depth > XS_MAX_DEPTH) {
			r = -ENAMETOOLONG;
			break;
		}
		if (o < outsz - 1)
			out[--o] = '/';
		o -= n;
		memcpy(out + o, k->name, n);
		ino = k->parent;
		k = node_get(v, ino);
		if (!k)
			r = -ESTALE;
	}
	pthread_rwlock_unlock(&v->lock);
	if (r == 0)
		memmove(out, out + o, outsz - o);
	return r;
}

/* Where the last component of path goes: its directory (implied ones are
 * created) and the slot in it.  False when a component on the way is not a
 * directory, or path is the root. */
struct slot {
	uint64_t dir;
	struct vnode *d;
	const char *base;
	size_t blen, pos;
	bool found;
};

static bool locate(struct xs_view *v, const char *path, struct slot *sl)
{
	sl->dir = walk_parent(v, path, &sl->base, &sl->blen);
	if (!sl->dir || !sl->blen)
		return false;
	sl->d = v->nodes[sl->dir - 1];
	sl->pos = kid_find(v, sl->d, sl->base, sl->blen, &sl->found);
	return true;
}

int xs_view_add_dir(struct xs_view *v, const char *path)
{
	if (!*path)
		return -EINVAL;
	pthread_rwlock_wrlock(&v->lock);
	int r = 0;
	struct slot sl;
	uint64_t ino = 0;
	if (!locate(v, path, &sl))
		r = -ENOTDIR;
	else if (!sl.found) /* if added meanwhile, whatever it is, it stays */
		ino = kid_insert(v, sl.dir, sl.pos, sl.base, sl.blen, S_IFDIR | 0755, -1);
	else
		ino = sl.d->kids[sl.pos];
	/* later packages fill it: a name absent from it is short-lived */
	if (ino && S_ISDIR(v->nodes[ino - 1]->mode))
		v->nodes[ino - 1]->volatile_ = true;
	pthread_rwlock_unlock(&v->lock);
	return r;
}

int xs_view_add_pending(struct xs_view *v, const char *ppath, int pkg)
{
	char path[XS_MAX_PATH + 8];
	if (!*ppath || xs_view_present_path(ppath, path, sizeof path) < 0)
		return 0;
	for (size_t i = 0; i < XS_ARRAY_SIZE(merged); i++)
		if (!strcmp(ppath, merged[i]))
			return 0; /* a package's own /lib symlink: the view has its own */
	pthread_rwlock_wrlock(&v->lock);
	const char *base;
	size_t blen;
	int r = 0;
	uint64_t dir = walk_parent(v, path, &base, &blen);
	if (!dir) {
		v->conflicts++;
		goto out;
	}
	bool found;
	struct vnode *d = v->nodes[dir - 1];
	size_t pos = kid_find(v, d, base, blen, &found);
	if (found) {
		struct vnode *k = v->nodes[d->kids[pos] - 1];
		if (k->synthetic)
			goto out;
		if (k->pkg >= 0 && k->pkg != pkg && !S_ISDIR(k->mode)) {
			v->conflicts++;
			if (pkg < k->pkg && k->mode == 0)
				k->pkg = pkg;
		}
		goto out;
	}
	kid_insert(v, dir, pos, base, blen, 0, pkg);
out:
	pthread_rwlock_unlock(&v->lock);
	return r;
}

static void set_attrs(struct vnode *k, const struct xs_entry *e, int pkg, const char *vpath)
{
	k->mode = e->mode;
	k->uid = e->uid;
	k->gid = e->gid;
	k->mtime = e->mtime;
	k->size = e->type == XS_E_REG ? e->size : 0;
	k->rdev = e->rdev;
	k->pkg = pkg;
	if (e->type == XS_E_REG)
		memcpy(k->sha256, e->sha256, sizeof k->sha256);
	free(k->link);
	k->link = NULL;
	if (e->type == XS_E_SYMLINK) {
		char rel[XS_MAX_PATH + 1];
		if (xs_view_clamp_target(vpath, e->link, rel, sizeof rel) == 0)
			k->link = xs_strdup(rel);
		else /* too long or deep to present confined: a link to nowhere */
			k->link = xs_strdup(UNCONFINED_TARGET);
		k->size = strlen(k->link);
	}
}

static int apply_entry(struct xs_view *v, int pkg, const struct xs_entry *e)
{
	char vpath[XS_MAX_PATH + 8];
	if (!*e->path || xs_view_present_path(e->path, vpath, sizeof vpath) < 0)
		return 0; /* the root keeps its own attributes; hidden directories */
	if (e->type != XS_E_DIR)
		for (size_t i = 0; i < XS_ARRAY_SIZE(merged); i++)
			if (!strcmp(e->path, merged[i]))
				return 0; /* the view's own merged-/usr symlink */
	const char *base;
	size_t blen;
	uint64_t dir = walk_parent(v, vpath, &base, &blen);
	if (!dir) {
		v->conflicts++;
		return 0;
	}
	struct vnode *d = v->nodes[dir - 1];
	bool found;
	size_t pos = kid_find(v, d, base, blen, &found);
	uint64_t ino;
	if (found) {
		ino = d->kids[pos];
		struct vnode *k = v->nodes[ino - 1];
		if (k->synthetic) {
			v->conflicts++;
			return 0;
		}
		if (S_ISDIR(k->mode)) {
			if (e->type != XS_E_DIR) {
				v->conflicts++;
				return 0;
			}
			/* a directory shipped by packages: the lowest one's attributes */
			if (k->pkg < 0 || pkg <= k->pkg) {
				k->mode = S_IFDIR | (e->mode & 07777);
				k->uid = e->uid;
				k->gid = e->gid;
				k->mtime = e->mtime;
				k->pkg = pkg;
			}
			return 0;
		}
		if (k->mode && k->pkg != pkg) {
			v->conflicts++; /* already ready from another package */
			return 0;
		}
		if (k->pkg != pkg && k->pkg >= 0 && k->pkg < pkg) {
			v->conflicts++; /* a lower package owns it; it will fill it */
			return 0;
		}
		if (e->type == XS_E_DIR) {
			if (k->nkids == 0) {
				k->mode = S_IFDIR | (e->mode & 07777);
				k->uid = e->uid;
				k->gid = e->gid;
				k->mtime = e->mtime;
				k->nlink = 2;
				k->pkg = pkg;
				d->nlink++;
			}
			return 0;
		}
	} else {
		ino = kid_insert(v, dir, pos, base, blen,
				 e->type == XS_E_DIR ? (S_IFDIR | (e->mode & 07777)) : 0, pkg);
		if (e->type == XS_E_DIR) {
			struct vnode *k = v->nodes[ino - 1];
			k->uid = e->uid;
			k->gid = e->gid;
			k->mtime = e->mtime;
			return 0;
		}
	}
	struct vnode *k = v->nodes[ino - 1];
	if (e->type == XS_E_HARDLINK) {
		bool f2;
		const char *tb;
		size_t tl;
		char tpath[XS_MAX_PATH + 8];
		if (xs_view_present_path(e->link, tpath, sizeof tpath) < 0) {
			v->conflicts++;
			return 0;
		}
		uint64_t tdir = walk_parent(v, tpath, &tb, &tl);
		struct vnode *td = tdir ? v->nodes[tdir - 1] : NULL;
		size_t tpos = td ? kid_find(v, td, tb, tl, &f2) : 0;
		if (!td || !f2) {
			v->conflicts++;
			return 0;
		}
		uint64_t target = td->kids[tpos];
		struct vnode *t = v->nodes[target - 1];
		while (t->alias) {
			target = t->alias;
			t = v->nodes[target - 1];
		}
		if (!S_ISREG(t->mode)) {
			v->conflicts++;
			return 0;
		}
		if (k->alias != target) /* not again when applied again */
			t->nlink++;
		k->alias = target;
		k->mode = t->mode;
		k->pkg = pkg;
		return 0;
	}
	set_attrs(k, e, pkg, vpath);
	return 0;
}

int xs_view_add_file(struct xs_view *v, const char *path, const char *sha256, uint64_t size,
		     uint32_t mode)
{
	pthread_rwlock_wrlock(&v->lock);
	int r = 0;
	struct slot sl;
	if (!locate(v, path, &sl)) {
		r = -ENOTDIR;
		goto out;
	}
	struct vnode *d = sl.d;
	size_t pos = sl.pos;
	if (sl.found) {
		struct vnode *old = v->nodes[d->kids[pos] - 1];
		if (S_ISDIR(old->mode)) {
			r = -EISDIR;
			goto out;
		}
		if (old->synthetic && !strcmp(old->sha256, sha256))
			goto out; /* unchanged */
		/* a new inode, so that readers of the old content keep their fd */
		kid_remove(d, pos);
	}
	uint64_t ino = kid_insert(v, sl.dir, pos, sl.base, sl.blen, 0, -1);
	struct vnode *k = v->nodes[ino - 1];
	k->volatile_ = v->has_binds;
	k->mtime = time(NULL);
	k->synthetic = true;
	k->mode = S_IFREG | (mode & 0777);
	k->uid = k->gid = 0;
	k->size = size;
	k->pkg = -1;
	k->alias = 0;
	memcpy(k->sha256, sha256, 65);
	free(k->link);
	k->link = NULL;
out:
	pthread_rwlock_unlock(&v->lock);
	return r;
}

int xs_view_add_symlink(struct xs_view *v, const char *path, const char *target)
{
	char rel[XS_MAX_PATH + 1];
	int r = xs_view_clamp_target(path, target, rel, sizeof rel);
	if (r < 0)
		return r;
	pthread_rwlock_wrlock(&v->lock);
	struct slot sl;
	if (!locate(v, path, &sl)) {
		r = -ENOTDIR;
		goto out;
	}
	if (sl.found) {
		struct vnode *old = v->nodes[sl.d->kids[sl.pos] - 1];
		if (S_ISDIR(old->mode)) {
			r = -EISDIR;
			goto out;
		}
		kid_remove(sl.d, sl.pos);
	}
	uint64_t ino = kid_insert(v, sl.dir, sl.pos, sl.base, sl.blen, S_IFLNK | 0777, -1);
	struct vnode *k = v->nodes[ino - 1];
	k->mtime = time(NULL);
	k->synthetic = true;
	k->link = xs_strdup(rel);
	k->size = strlen(rel);
out:
	pthread_rwlock_unlock(&v->lock);
	return r;
}

int xs_view_finish(struct xs_view *v)
{
	pthread_rwlock_wrlock(&v->lock);
	struct vnode *root = v->nodes[0];
	bool found;
	size_t upos = kid_find(v, root, "usr", 3, &found);
	struct vnode *usr = found ? v->nodes[root->kids[upos] - 1] : NULL;
	for (size_t i = 0; usr && S_ISDIR(usr->mode) && i < XS_ARRAY_SIZE(merged); i++) {
		const char *name = merged[i];
		size_t n = strlen(name);
		kid_find(v, usr, name, n, &found);
		if (!found && i >= 3)
			continue; /* lib64 & co only where the architecture has them */
		size_t pos = kid_find(v, root, name, n, &found);
		if (found)
			continue;
		uint64_t ino = kid_insert(v, 1, pos, name, n, S_IFLNK | 0777, -1);
		struct vnode *k = v->nodes[ino - 1];
		char target[32];
		snprintf(target, sizeof target, "usr/%s", name);
		k->link = xs_strdup(target);
		k->size = strlen(target);
		k->synthetic = true;
	}
	pthread_rwlock_unlock(&v->lock);
	return 0;
}

int xs_view_list_leaves(struct xs_view *v, const char *path,
			int (*cb)(const char *name, void *ud), void *ud)
{
	struct xs_vattr a;
	int r = xs_view_resolve(v, path, &a);
	if (r < 0)
		return r;
	if (!S_ISDIR(a.mode))
		return -ENOTDIR;
	pthread_rwlock_rdlock(&v->lock);
	struct vnode *d = v->nodes[a.ino - 1];
	if (d->hfd >= 0) {
		int fd = openat(d->hfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
		if (!dir) {
			r = -errno;
			if (fd >= 0)
				close(fd);
		}
		struct dirent *de;
		while (dir && r == 0 && (de = readdir(dir)))
			if (de->d_type != DT_DIR)
				r = cb(de->d_name, ud);
		if (dir)
			closedir(dir);
		pthread_rwlock_unlock(&v->lock);
		return r;
	}
	for (size_t i = 0; i < d->nkids && r == 0; i++) {
		struct vnode *k = v->nodes[d->kids[i] - 1];
		if (!S_ISDIR(k->mode))
			r = cb(k->name, ud);
	}
	pthread_rwlock_unlock(&v->lock);
	return r;
}

int xs_view_apply(struct xs_view *v, int pkg, const struct xs_manifest *m)
{
	pthread_rwlock_wrlock(&v->lock);
	/* regular files, dirs and symlinks first, hardlinks after their targets */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < m->n; i++)
			if ((m->e[i].type == XS_E_HARDLINK) == (pass == 1))
				apply_entry(v, pkg, &m->e[i]);
	pthread_rwlock_unlock(&v->lock);
	return 0;
}

static void fill_attr(struct xs_view *v, uint64_t ino, struct xs_vattr *out)
{
	struct vnode *k = v->nodes[ino - 1];
	uint64_t real = ino;
	while (k->alias) {
		real = k->alias;
		k = v->nodes[real - 1];
	}
	out->ino = real;
	out->mode = k->mode;
	out->uid = k->uid;
	out->gid = k->gid;
	out->nlink = k->nlink;
	out->size = k->size;
	out->rdev = k->rdev;
	out->mtime = k->mtime;
	out->pkg = k->pkg;
	out->pending = k->mode == 0;
	out->volatile_ = k->volatile_;
}

/* ---- host directories (--bind) ---------------------------------------- */

static void host_attrs(struct vnode *k, const struct stat *st)
{
	k->mode = st->st_mode & ~(uint32_t)(S_ISUID | S_ISGID | S_ISVTX);
	k->uid = st->st_uid;
	k->gid = st->st_gid;
	k->size = (uint64_t)st->st_size;
	k->mtime = st->st_mtime;
	k->nlink = (uint32_t)st->st_nlink;
	k->rdev = st->st_rdev;
	k->hdev = st->st_dev;
	k->hino = st->st_ino;
}

/* Look name up in the host directory parent (write lock held): the node is
 * made or refreshed from the host, or dropped when the host lost it. */
static int host_lookup(struct xs_view *v, uint64_t parent, const char *name, uint64_t *ino)
{
	struct vnode *d = v->nodes[parent - 1];
	size_t len = strlen(name);
	bool found;
	size_t pos = kid_find(v, d, name, len, &found);
	struct stat st;
	if (fstatat(d->hfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		if (found)
			kid_remove(d, pos);
		return -e;
	}
	if (found) {
		struct vnode *k = v->nodes[d->kids[pos] - 1];
		if (k->hdev == st.st_dev && k->hino == st.st_ino &&
		    (k->mode & S_IFMT) == (st.st_mode & S_IFMT)) {
			host_attrs(k, &st);
			*ino = d->kids[pos];
			return 0;
		}
		kid_remove(d, pos); /* replaced on the host: a new inode here */
	}
	int fd = openat(d->hfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char target[XS_MAX_PATH + 1];
	ssize_t tl = S_ISLNK(st.st_mode) ? readlinkat(fd, "", target, sizeof target - 1) : 0;
	if (tl < 0) {
		close(fd);
		return -errno;
	}
	*ino = kid_insert(v, parent, pos, name, len, 0, -1);
	struct vnode *k = v->nodes[*ino - 1];
	k->hfd = fd;
	k->volatile_ = true;
	k->synthetic = true;
	host_attrs(k, &st);
	if (S_ISLNK(st.st_mode)) {
		target[tl] = 0;
		k->link = xs_strdup(target);
	}
	return 0;
}

int xs_view_add_bind(struct xs_view *v, const char *path, const char *hostdir)
{
	int fd = open(hostdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	pthread_rwlock_wrlock(&v->lock);
	int r = 0;
	struct slot sl;
	if (!locate(v, path, &sl)) {
		r = -ENOTDIR;
		close(fd);
		goto out;
	}
	bool was_dir = false;
	if (sl.found) { /* what packages ship there is hidden by the bind */
		was_dir = S_ISDIR(v->nodes[sl.d->kids[sl.pos] - 1]->mode);
		kid_remove(sl.d, sl.pos);
	}
	if (!was_dir)
		sl.d->nlink++; /* a directory more in the parent */
	uint64_t ino = kid_insert(v, sl.dir, sl.pos, sl.base, sl.blen, 0, -1);
	struct vnode *k = v->nodes[ino - 1];
	k->hfd = fd;
	k->synthetic = k->volatile_ = true;
	host_attrs(k, &st);
	v->has_binds = true;
out:
	pthread_rwlock_unlock(&v->lock);
	return r;
}

int xs_view_lookup(struct xs_view *v, uint64_t parent, const char *name,
		   struct xs_vattr *out)
{
	int r = -ENOENT;
	pthread_rwlock_rdlock(&v->lock);
	struct vnode *d = node_get(v, parent);
	if (!d) {
		r = -ESTALE;
	} else if (!S_ISDIR(d->mode)) {
		r = -ENOTDIR;
	} else if (d->hfd >= 0) {
		pthread_rwlock_unlock(&v->lock);
		pthread_rwlock_wrlock(&v->lock);
		uint64_t ino = 0;
		r = host_lookup(v, parent, name, &ino);
		if (r == 0)
			fill_attr(v, ino, out);
		out->volatile_ = true; /* a negative answer is short-lived too */
	} else {
		bool found;
		size_t pos = kid_find(v, d, name, strlen(name), &found);
		if (found) {
			fill_attr(v, d->kids[pos], out);
			r = 0;
		} else {
			out->volatile_ = d->volatile_; /* xs_view_add_dir's */
		}
	}
	pthread_rwlock_unlock(&v->lock);
	return r;
}

int xs_view_getattr(struct xs_view *v, uint64_t ino, struct xs_vattr *out)
{
	int r = -ESTALE;
	pthread_rwlock_wrlock(&v->lock);
	struct vnode *k = node_get(v, ino);
	if (k) {
		struct stat st;
		if (k->hfd >= 0 && fstat(k->hfd, &st) == 0)
			host_attrs(k, &st);
		fill_attr(v, ino, out);
		r = 0;
	}
	pthread_rwlock_unlock(&v->lock);
	return r;
}

int xs_view_resolve(struct xs_view *v, const char *path, struct xs_vattr *out)
{
	char norm[XS_MAX_PATH + 1];
	int r = xs_path_normalize(path, norm, sizeof norm);
	if (r < 0)
		return r;
	uint64_t ino = 1;
	char *p = norm;
	while (*p) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = 0;
		struct xs_vattr a;
		r = xs_view_lookup(v, ino, p, &a);
		if (r < 0)
			return r;
		ino = a.ino;
		if (!slash)
			break;
		p = slash + 1;
	}
	return xs_view_getattr(v, ino, out);
}

ssize_t xs_view_readlink(struct xs_view *v, uint64_t ino, char *buf, size_t size)
{
	ssize_t r = -EINVAL;
	pthread_rwlock_rdlock(&v->lock);
	struct vnode *k = node_get(v, ino);
	if (!k) {
		r = -ESTALE;
	} else if (k->link && S_ISLNK(k->mode) && size > 0) {
		size_t n = strlen(k->link);
		if (n >= size)
			n = size - 1;
		memcpy(buf, k->link, n);
		buf[n] = 0;
		r = (ssize_t)n;
	}
	pthread_rwlock_unlock(&v->lock);
	return r;
}

/* A host directory's entries, read from the host each time. */
static int host_readdir(struct vnode *d, uint64_t ino, uint64_t off,
			int (*cb)(const char *name, uint64_t ino, uint32_t mode,
				  uint64_t next_off, void *ud),
			void *ud)
{
	int fd = openat(d->hfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	/* "." and ".." first, then the host's entries in its order */
	bool stop = (off == 0 && cb(".", ino, S_IFDIR, 1, ud)) ||
		    (off <= 1 && cb("..", d->parent, S_IFDIR, 2, ud));
	uint64_t pos = 2;
	struct dirent *de;
	while (!stop && (de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (pos++ < off)
			continue;
		uint32_t mode = de->d_type == DT_UNKNOWN ? 0 : (uint32_t)DTTOIF(de->d_type);
		stop = cb(de->d_name, de->d_ino, mode, pos, ud);
	}
	closedir(dir);
	return 0;
}

int xs_view_readdir(struct xs_view *v, uint64_t ino, uint64_t off,
		    int (*cb)(const char *name, uint64_t ino, uint32_t mode,
			      uint64_t next_off, void *ud),
		    void *ud)
{
	int r = 0;
	pthread_rwlock_rdlock(&v->lock);
	struct vnode *d = node_get(v, ino);
	if (!d) {
		r = -ESTALE;
		goto out;
	}
	if (!S_ISDIR(d->mode)) {
		r = -ENOTDIR;
		goto out;
	}
	if (d->hfd >= 0) {
		r = host_readdir(d, ino, off, cb, ud);
		goto out;
	}
	for (uint64_t i = off; i < d->nkids + 2; i++) {
		const char *name;
		uint64_t kino;
		uint32_t mode;
		if (i == 0) {
			name = ".", kino = ino, mode = d->mode;
		} else if (i == 1) {
			name = "..", kino = d->parent, mode = S_IFDIR;
		} else {
			kino = d->kids[i - 2];
			struct vnode *k = v->nodes[kino - 1];
			name = k->name;
			while (k->alias) {
				kino = k->alias;
				k = v->nodes[kino - 1];
			}
			mode = k->mode;
		}
		if (cb(name, kino, mode, i + 1, ud))
			break;
	}
out:
	pthread_rwlock_unlock(&v->lock);
	return r;
}

/* Open store object sha256 and check that its bytes still have that
 * digest: -EBADMSG (and the object moved to quarantine) when not. */
static int open_verified(struct xs_view *v, const char *sha256)
{
	int fd = xs_store_open_object(v->store, sha256);
	if (fd < 0)
		return fd;
	char have[65];
	int r = xs_sha256_fd(fd, have, NULL);
	if (r == 0 && strcmp(have, sha256) != 0) {
		xs_store_quarantine_object(v->store, sha256, fd);
		r = -EBADMSG;
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static void set_fd(struct vnode *k, int *fd)
{
	int expect = -1;
	if (!__atomic_compare_exchange_n(&k->fd, &expect, *fd, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		close(*fd);
		*fd = expect;
	}
}

int xs_view_fd(struct xs_view *v, uint64_t ino)
{
	int r;
	bool verify = false;
	char sha256[65];
	pthread_rwlock_rdlock(&v->lock);
	struct vnode *k = node_get(v, ino);
	while (k && k->alias)
		k = node_get(v, k->alias);
	if (!k) {
		r = -ESTALE;
	} else if (!S_ISREG(k->mode)) {
		r = S_ISDIR(k->mode) ? -EISDIR : -EINVAL;
	} else if ((r = __atomic_load_n(&k->fd, __ATOMIC_ACQUIRE)) < 0) {
		if (k->hfd >= 0) {
			char proc[64];
			snprintf(proc, sizeof proc, "/proc/self/fd/%d", k->hfd);
			r = open(proc, O_RDONLY | O_CLOEXEC);
			if (r < 0)
				r = -errno;
			else
				set_fd(k, &r);
		} else {
			memcpy(sha256, k->sha256, sizeof sha256);
			verify = true;
		}
	}
	pthread_rwlock_unlock(&v->lock);
	if (!verify)
		return r;
	/* Hash outside the view lock (nodes are never freed, so k stays valid;
	 * a ready node's content does not change). */
	pthread_mutex_t *m = &v->open_lock[((uintptr_t)k / sizeof *k) % OPEN_LOCKS];
	pthread_mutex_lock(m);
	r = __atomic_load_n(&k->fd, __ATOMIC_ACQUIRE);
	if (r < 0) {
		r = open_verified(v, sha256);
		if (r >= 0)
			set_fd(k, &r);
	}
	pthread_mutex_unlock(m);
	return r;
}

int xs_view_digest(struct xs_view *v, uint64_t ino, char out[65])
{
	pthread_rwlock_rdlock(&v->lock);
	struct vnode *k = node_get(v, ino);
	while (k && k->alias)
		k = node_get(v, k->alias);
	int r = !k ? -ENOENT
		   : S_ISREG(k->mode) && k->hfd < 0 && xs_is_sha256_hex(k->sha256) ? 0 : -ENODATA;
	if (r == 0)
		memcpy(out, k->sha256, 65);
	pthread_rwlock_unlock(&v->lock);
	return r;
}

void xs_view_stats(struct xs_view *v, struct xs_view_stats *st)
{
	pthread_rwlock_rdlock(&v->lock);
	st->nodes = v->n;
	st->pending = 0;
	for (size_t i = 0; i < v->n; i++)
		if (v->nodes[i]->mode == 0)
			st->pending++;
	st->conflicts = v->conflicts;
	pthread_rwlock_unlock(&v->lock);
}
