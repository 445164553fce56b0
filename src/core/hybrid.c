/* hybrid.c - the native cross tools' layer of a hybrid build root
 * (hybrid.h). */
#include "xsysroot/hybrid.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xsysroot/ldcache.h"
#include "xsysroot/sysroot.h"
#include "xsysroot/view.h"

#define FAIL(code, ...)                                   \
	do {                                              \
		snprintf(err, errsz, __VA_ARGS__);        \
		return (code);                            \
	} while (0)

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

int xs_hybrid_cross_name(const char *pkg, const char *triplet, char *out, size_t outsz)
{
	static const char *const compilers[] = { "gcc-", "cpp-", "g++-", "gfortran-" };
	char bin[128];
	snprintf(bin, sizeof bin, "binutils-%s", triplet);
	if (!strcmp(pkg, bin))
		return snprintf(out, outsz, "%s", pkg) < (int)outsz ? 1 : -ENAMETOOLONG;
	for (size_t i = 0; i < XS_ARRAY_SIZE(compilers); i++) {
		if (!has_prefix(pkg, compilers[i]))
			continue;
		const char *v = pkg + strlen(compilers[i]);
		size_t n = strspn(v, "0123456789");
		if (n == 0 || v[n])
			return 0;
		return snprintf(out, outsz, "%s-%s", pkg, triplet) < (int)outsz ? 1 : -ENAMETOOLONG;
	}
	return 0;
}

/* ---- the layer --------------------------------------------------------- */

struct walk {
	const struct xs_hybrid_layer *l;
	struct xs_view *v;
	const char *root; /* the layer being made */
	char *err;
	size_t errsz;
	uint64_t files, bytes;
};

struct dirent_list {
	char **names;
	size_t n, cap;
};

static int collect(const char *name, uint64_t ino, uint32_t mode, uint64_t next, void *ud)
{
	(void)ino, (void)mode, (void)next;
	struct dirent_list *dl = ud;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	xs_grow(&dl->names, &dl->cap, dl->n + 1, sizeof *dl->names);
	dl->names[dl->n++] = xs_strdup(name);
	return 0;
}

static bool is_tool(const struct walk *w, int pkg)
{
	struct xs_repo_pkg p;
	if (pkg < 0 || xs_repo_pkg(w->l->native, (size_t)pkg, &p) < 0)
		return false;
	return xs_strv_has(w->l->tools, p.name);
}

/* Whether path (a view path) belongs in the layer. */
static bool wanted(const struct walk *w, const char *path, int pkg)
{
	char lib[PATH_MAX];
	snprintf(lib, sizeof lib, "usr/lib/%s/", w->l->lib_triplet);
	if (!strcmp(path, "lib64") || has_prefix(path, "usr/lib64/") || has_prefix(path, lib))
		return true;
	return !has_prefix(path, "usr/share/") && !has_prefix(path, "etc/") &&
	       !has_prefix(path, "var/") && !(w->l->keep && xs_strv_has(w->l->keep, path)) &&
	       is_tool(w, pkg);
}

static int copy_fd(int in, int out, uint64_t size)
{
	loff_t off = 0;
	while ((uint64_t)off < size) {
		ssize_t k = copy_file_range(in, &off, out, NULL, size - (uint64_t)off, 0);
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO;
	}
	return 0;
}

static int put_file(struct walk *w, const char *path, uint64_t ino, const struct xs_vattr *a)
{
	char out[PATH_MAX * 2];
	snprintf(out, sizeof out, "%s/%s", w->root, path);
	char *slash = strrchr(out, '/');
	*slash = 0;
	int q = xs_mkdir_p(out, 0755);
	*slash = '/';
	if (q < 0)
		return q;
	if (S_ISLNK(a->mode)) {
		char target[PATH_MAX];
		ssize_t n = xs_view_readlink(w->v, ino, target, sizeof target - 1);
		if (n < 0)
			return (int)n;
		target[n] = 0;
		return symlink(target, out) < 0 ? -errno : 0;
	}
	if (!S_ISREG(a->mode))
		return 0;
	int in = xs_view_fd(w->v, ino);
	if (in < 0)
		return in;
	int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, a->mode & 0777);
	if (fd < 0)
		return -errno;
	q = copy_fd(in, fd, a->size);
	if (close(fd) < 0 && q == 0)
		q = -errno;
	w->files++, w->bytes += a->size;
	return q;
}

/* The attributes of name in parent, its package fetched when pending. */
static int settled(struct walk *w, uint64_t parent, const char *name, struct xs_vattr *a)
{
	int q = xs_view_lookup(w->v, parent, name, a);
	if (q < 0 || !a->pending)
		return q;
	char why[1024] = "";
	q = xs_repo_fetch(w->l->native, (size_t)a->pkg, why, sizeof why);
	if (q < 0) {
		snprintf(w->err, w->errsz, "%s", why);
		return q;
	}
	return xs_view_lookup(w->v, parent, name, a);
}

static int walk_dir(struct walk *w, uint64_t ino, const char *path);

static int walk_entry(struct walk *w, uint64_t dir, const char *path, const char *name)
{
	char sub[PATH_MAX];
	if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "/" : "", name) >=
	    sizeof sub)
		return -ENAMETOOLONG;
	struct xs_vattr a;
	int q = xs_view_lookup(w->v, dir, name, &a);
	if (q < 0)
		return q == -ENOENT ? 0 : q;
	if (!a.pending && S_ISDIR(a.mode))
		return has_prefix(sub, "usr/share") ? 0 : walk_dir(w, a.ino, sub);
	if (!wanted(w, sub, a.pkg))
		return 0;
	q = settled(w, dir, name, &a);
	if (q == 0 && S_ISDIR(a.mode))
		return walk_dir(w, a.ino, sub);
	if (q == 0)
		q = put_file(w, sub, a.ino, &a);
	if (q < 0 && !w->err[0])
		snprintf(w->err, w->errsz, "/%s: %s", sub, strerror(-q));
	return q;
}

static int walk_dir(struct walk *w, uint64_t ino, const char *path)
{
	struct dirent_list dl = { 0 };
	int q = xs_view_readdir(w->v, ino, 0, collect, &dl);
	for (size_t i = 0; q == 0 && i < dl.n; i++)
		q = walk_entry(w, ino, path, dl.names[i]);
	for (size_t i = 0; i < dl.n; i++)
		free(dl.names[i]);
	free(dl.names);
	return q;
}

int xs_hybrid_make_layer(const struct xs_hybrid_layer *l, char *err, size_t errsz)
{
	struct stat st;
	if (stat(l->dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		utimensat(AT_FDCWD, l->dir, NULL, 0); /* its last use, which cache gc goes by */
		return 0;
	}
	char tmp[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", l->dir, (long)getpid()) >= sizeof tmp)
		FAIL(-ENAMETOOLONG, "%s: name too long", l->dir);
	xs_rm_rf(tmp);
	int q = xs_mkdir_p(tmp, 0755);
	if (q < 0)
		FAIL(q, "cannot make %s: %s", tmp, strerror(-q));
	err[0] = 0;
	struct walk w = { .l = l, .v = xs_repo_view(l->native), .root = tmp, .err = err,
			  .errsz = errsz };
	q = walk_dir(&w, 1, "");
	if (q == 0 && rename(tmp, l->dir) < 0 && errno != ENOTEMPTY && errno != EEXIST)
		q = -errno, snprintf(err, errsz, "cannot rename %s: %s", tmp, strerror(errno));
	if (q < 0 || stat(tmp, &st) == 0)
		xs_rm_rf(tmp);
	if (q == 0)
		xs_logf(l->log, l->log_ud, XS_LOG_INFO, "native tools layer %s: %llu files, %llu bytes",
			l->dir, (unsigned long long)w.files, (unsigned long long)w.bytes);
	return q;
}

/* ---- the target's libgcc under the cross compiler's directory ---------- */

static int link_version(const char *cross, const char *target, const char *links_dir,
			const char *rel, char *err, size_t errsz)
{
	DIR *d = opendir(target);
	if (!d)
		return 0; /* the target has no gcc of that version: nothing to link */
	int q = xs_mkdir_p(links_dir, 0755);
	struct dirent *e;
	while (q == 0 && (e = readdir(d))) {
		char have[PATH_MAX], at[PATH_MAX], to[PATH_MAX];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(have, sizeof have, "%s/%s", cross, e->d_name) >= sizeof have ||
		    (size_t)snprintf(at, sizeof at, "%s/%s", links_dir, e->d_name) >= sizeof at ||
		    (size_t)snprintf(to, sizeof to, "%s/%s", rel, e->d_name) >= sizeof to) {
			q = -ENAMETOOLONG;
			snprintf(err, errsz, "%s/%s: name too long", target, e->d_name);
			break;
		}
		if (lstat(have, &st) == 0)
			continue; /* the cross package's own (cc1, collect2, specs) */
		if (symlink(to, at) < 0)
			q = -errno, snprintf(err, errsz, "cannot link %s: %s", at, strerror(errno));
	}
	closedir(d);
	if (q < 0 && !err[0])
		snprintf(err, errsz, "cannot make %s: %s", links_dir, strerror(-q));
	return q;
}

/* The target's C++ headers of gcc N where the cross compiler looks for them:
 * usr/TRIPLET/include/c++/N/NAME -> usr/include/c++/N/NAME, and its
 * TRIPLET -> usr/include/TRIPLET/c++/N (the multiarch part). */
static int link_cxx(const char *root, const char *links, const char *triplet, const char *n,
		    char *err, size_t errsz)
{
	char t[PATH_MAX], l[PATH_MAX], rel[PATH_MAX], at[PATH_MAX], to[PATH_MAX];
	if ((size_t)snprintf(t, sizeof t, "%s/usr/include/c++/%s", root, n) >= sizeof t ||
	    (size_t)snprintf(l, sizeof l, "%s/usr/%s/include/c++/%s", links, triplet, n) >=
		    sizeof l ||
	    (size_t)snprintf(rel, sizeof rel, "../../../../include/c++/%s", n) >= sizeof rel ||
	    (size_t)snprintf(at, sizeof at, "%s/%s", l, triplet) >= sizeof at ||
	    (size_t)snprintf(to, sizeof to, "../../../../include/%s/c++/%s", triplet, n) >=
		    sizeof to)
		FAIL(-ENAMETOOLONG, "%s: name too long", links);
	struct stat st;
	if (stat(t, &st) < 0)
		return 0; /* no C++ headers in the view */
	int q = link_version(l, t, l, rel, err, errsz);
	if (q == 0 && lstat(at, &st) < 0 && symlink(to, at) < 0)
		FAIL(-errno, "cannot link %s: %s", at, strerror(errno));
	return q;
}

int xs_hybrid_link_target(const char *layer, const char *root, const char *links,
			  const char *triplet, char *err, size_t errsz)
{
	char cross[PATH_MAX];
	err[0] = 0;
	if ((size_t)snprintf(cross, sizeof cross, "%s/usr/lib/gcc-cross/%s", layer, triplet) >=
	    sizeof cross)
		FAIL(-ENAMETOOLONG, "%s: name too long", layer);
	DIR *d = opendir(cross);
	if (!d)
		return 0;
	struct dirent *e;
	int q = 0;
	while (q == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !isdigit((unsigned char)e->d_name[0]))
			continue;
		char c[PATH_MAX], t[PATH_MAX], l[PATH_MAX], rel[PATH_MAX];
		if ((size_t)snprintf(c, sizeof c, "%s/%s", cross, e->d_name) >= sizeof c ||
		    (size_t)snprintf(t, sizeof t, "%s/usr/lib/gcc/%s/%s", root, triplet,
				     e->d_name) >= sizeof t ||
		    (size_t)snprintf(l, sizeof l, "%s/usr/lib/gcc-cross/%s/%s", links, triplet,
				     e->d_name) >= sizeof l ||
		    (size_t)snprintf(rel, sizeof rel, "../../../gcc/%s/%s", triplet, e->d_name) >=
			    sizeof rel) {
			q = -ENAMETOOLONG;
			snprintf(err, errsz, "%s/%s: name too long", cross, e->d_name);
			break;
		}
		q = link_version(c, t, l, rel, err, errsz);
		if (q == 0)
			q = link_cxx(root, links, triplet, e->d_name, err, errsz);
	}
	closedir(d);
	return q;
}

/* ---- one ld.so.cache for both architectures ----------------------------- */

/* b into links/rel (its directory made). */
static int put_links_file(const char *links, const char *rel, const struct xs_buf *b,
			  char *err, size_t errsz)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", links, rel) >= sizeof path)
		FAIL(-ENAMETOOLONG, "%s/%s: name too long", links, rel);
	*strrchr(path, '/') = 0;
	int q = xs_mkdir_p(path, 0755);
	path[strlen(path)] = '/';
	if (q == 0)
		q = xs_write_file_atomic(path, b->data, b->len, 0644);
	if (q < 0)
		FAIL(q, "cannot write %s: %s", path, strerror(-q));
	return 0;
}

#define MAX_LDCACHE (64u << 20)

int xs_hybrid_ldcache(const struct xs_arch *target, const struct xs_arch *build,
		      const char *root, const char *layer, const char *links, size_t *nbuild,
		      char *err, size_t errsz)
{
	char path[PATH_MAX];
	if (nbuild)
		*nbuild = 0;
	if (target->elf_data != build->elf_data)
		return 0;
	snprintf(path, sizeof path, "%s/etc/ld.so.cache", root);
	struct xs_buf view, out;
	int q = xs_read_file(path, MAX_LDCACHE, &view);
	if (q < 0)
		FAIL(q, "cannot read %s: %s", path, strerror(-q));
	struct xs_ldcache_entry *te = NULL;
	size_t tn = 0;
	q = xs_ldcache_parse(target, view.data, view.len, &te, &tn);
	if (q < 0) {
		xs_buf_free(&view);
		FAIL(q, "%s: not an ld.so.cache of %s: %s", path, target->deb, strerror(-q));
	}
	struct xs_sysroot_ldlist l = { 0 };
	for (size_t i = 0; i < tn; i++) { /* the view's first: its order stays */
		xs_grow(&l.e, &l.cap, l.n + 1, sizeof *l.e);
		l.e[l.n++] = (struct xs_ldcache_entry){ xs_strdup(te[i].key),
							 xs_strdup(te[i].value), te[i].flags };
	}
	free(te);
	xs_buf_free(&view);
	char **dirs = xs_sysroot_search_dirs(build->triplet, NULL, 0, NULL);
	xs_sysroot_ldlist_add(&l, dirs, build->ldcache_flags, xs_sysroot_list_host,
			      (void *)layer);
	xs_sysroot_dirs_free(dirs);
	if (nbuild)
		*nbuild = l.n - tn;
	q = xs_ldcache_build(target, l.e, l.n, &out);
	xs_sysroot_ldlist_free(&l);
	if (q < 0)
		FAIL(q, "cannot build the ld.so.cache of %s and %s: %s", target->deb, build->deb,
		     strerror(-q));
	q = put_links_file(links, "etc/ld.so.cache", &out, err, errsz);
	xs_buf_free(&out);
	return q;
}

/* ---- the dpkg status: the shadowed packages held ------------------------ */

#define MAX_STATUS (256u << 20)

int xs_hybrid_dpkg_status(const char *root, const char *links, const char *triplet,
			  size_t *held, char *err, size_t errsz)
{
	static const char installed[] = "Status: install ok installed";
	char path[PATH_MAX], cross[256];
	struct xs_buf in, out;
	size_t n = 0;
	snprintf(path, sizeof path, "%s/var/lib/dpkg/status", root);
	int q = xs_read_file(path, MAX_STATUS, &in);
	if (q < 0)
		FAIL(q, "cannot read %s: %s", path, strerror(-q));
	xs_buf_init(&out, MAX_STATUS + (1u << 20));
	bool tool = false;
	for (size_t i = 0; q == 0 && i < in.len;) {
		const char *l = in.data + i, *nl = memchr(l, '\n', in.len - i);
		size_t len = nl ? (size_t)(nl - l) : in.len - i;
		if (len == 0)
			tool = false; /* the stanza ends */
		else if (len > 9 && !strncmp(l, "Package: ", 9) && len - 9 < sizeof cross) {
			char name[256];
			memcpy(name, l + 9, len - 9);
			name[len - 9] = 0;
			tool = xs_hybrid_cross_name(name, triplet, cross, sizeof cross) == 1;
		}
		bool hold = tool && len == sizeof installed - 1 && !memcmp(l, installed, len);
		q = hold ? xs_buf_printf(&out, "Status: hold ok installed")
			 : xs_buf_append(&out, l, len);
		if (q == 0 && nl)
			q = xs_buf_append(&out, "\n", 1);
		n += hold;
		i += len + 1;
	}
	xs_buf_free(&in);
	if (q == 0)
		q = put_links_file(links, "var/lib/dpkg/status", &out, err, errsz);
	else
		snprintf(err, errsz, "cannot hold the native tools' packages: %s", strerror(-q));
	xs_buf_free(&out);
	if (q < 0)
		return q;
	if (held)
		*held = n;
	return 0;
}
