/* cachemgr.c - see include/xsysroot/cachemgr.h.
 *
 * Every operation starts from a scan: the objects on disk (with their disk
 * usage), the manifests and what they name, the cached InRelease files and
 * the index objects they list, and the live leases.  Objects are kept in an
 * open-addressing table keyed by digest, with the number of packages that
 * name each one (gc's eviction decrements it).
 */
#include "xsysroot/cachemgr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xsysroot/deb.h"
#include "xsysroot/pkgidx.h"
#include "xsysroot/release.h"
#include "xsysroot/cachefiles.h"
#include "xsysroot/util.h"

#define MAX_MANIFEST (256u << 20)
#define MAX_INRELEASE (16u << 20)
#define MAX_LEASE (64u << 20)
#define MAX_PKGINFO 4096

/* ---- the shared lock ------------------------------------------------------ */

static int lock_fd(const char *dir, int how)
{
	char path[XS_MAX_PATH];
	snprintf(path, sizeof path, "%s/" XS_CF_LOCK, dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	while (flock(fd, how) < 0) {
		if (errno == EINTR)
			continue;
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int xs_cache_hold(const char *dir)
{
	return lock_fd(dir, LOCK_SH);
}

/* ---- leases ----------------------------------------------------------------- */

struct xs_lease {
	pthread_mutex_t m;
	int fd;
	char *path;
};

int xs_lease_open(const char *dir, struct xs_lease **out)
{
	*out = NULL;
	char d[XS_MAX_PATH];
	snprintf(d, sizeof d, "%s/" XS_CF_LEASES, dir);
	int q = xs_mkdir_p(d, 0755);
	if (q < 0)
		return q;
	struct xs_lease *l = xs_xcalloc(1, sizeof *l);
	for (int tries = 0;; tries++) {
		unsigned char rnd[8];
		if (getentropy(rnd, sizeof rnd) < 0) {
			q = -errno;
			break;
		}
		char name[64], path[XS_MAX_PATH + 64];
		xs_cf_build_lease((long)getpid(), rnd, name, sizeof name);
		snprintf(path, sizeof path, "%s/%s", d, name);
		l->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
			     0644);
		if (l->fd < 0) {
			q = -errno;
			if (errno == EEXIST && tries < 100)
				continue;
			break;
		}
		/* gc deletes a lease it can lock: lock first, then check that
		 * the name still refers to this file */
		struct stat a, b;
		if (flock(l->fd, LOCK_EX) < 0 || fstat(l->fd, &a) < 0) {
			q = -errno;
			unlink(path);
			close(l->fd);
			break;
		}
		if (stat(path, &b) < 0 || a.st_ino != b.st_ino) {
			close(l->fd);
			continue;
		}
		pthread_mutex_init(&l->m, NULL);
		l->path = xs_strdup(path);
		*out = l;
		return 0;
	}
	free(l);
	return q;
}

int xs_lease_add(struct xs_lease *l, const char *kind, const char *sha256)
{
	if (!l)
		return 0;
	if (!xs_is_sha256_hex(sha256) || strlen(kind) > 8)
		return -EINVAL;
	char line[96];
	int n = snprintf(line, sizeof line, "%s %s\n", kind, sha256);
	pthread_mutex_lock(&l->m);
	int q = xs_write_all(l->fd, line, (size_t)n);
	pthread_mutex_unlock(&l->m);
	return q;
}

void xs_lease_close(struct xs_lease *l)
{
	if (!l)
		return;
	unlink(l->path);
	close(l->fd);
	pthread_mutex_destroy(&l->m);
	free(l->path);
	free(l);
}

/* ---- last use --------------------------------------------------------------- */

static void pkginfo_name(const char *sha, char *out, size_t outsz)
{
	xs_cf_build(XS_CF_PKGINFO, sha, out, outsz);
}

int xs_cache_note_use(struct xs_store *s, const char *deb_sha256, const char *name,
		      const char *version, const char *arch)
{
	if (!xs_is_sha256_hex(deb_sha256) || strpbrk(name, "\t\n") || strpbrk(version, "\t\n") ||
	    strpbrk(arch, "\t\n"))
		return -EINVAL;
	char mname[96], path[XS_MAX_PATH];
	pkginfo_name(deb_sha256, mname, sizeof mname);
	int q = xs_store_meta_path(s, mname, path, sizeof path);
	if (q < 0)
		return q;
	if (utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	struct xs_buf b;
	xs_buf_init(&b, MAX_PKGINFO);
	q = xs_buf_printf(&b, "%s\t%s\t%s\n", name, version, arch);
	if (q == 0)
		q = xs_store_meta_write(s, mname, b.data, b.len);
	xs_buf_free(&b);
	return q;
}

/* ---- the scan ----------------------------------------------------------------- */

struct obj {
	char sha[65];
	uint64_t du;
	uint32_t refs;	   /* packages that name it */
	size_t last_pkg;   /* the last package counted (no double counting) */
	int64_t mtime;	   /* an index's last use */
	bool on_disk;
	bool pinned;	   /* an index, or leased: never removed (but see gc_indexes) */
	bool index;	   /* a cached InRelease lists it */
	bool leased;	   /* a live process named it */
};

struct pkgrec {
	struct xs_cache_pkg p;
	char mname[160]; /* its manifest: manifest-SHA, or oci-layer-HEX-DIFFID */
	bool layer;	 /* a container image's layer (no meta/pkg- document) */
	size_t *objs; /* indexes into scan.objs, unique */
	size_t nobjs;
	uint64_t meta_du; /* manifest + pkg- document */
	bool evicted;
};

struct scan {
	struct xs_store *store;
	const char *dir;
	struct obj *objs;
	size_t nobjs, capobjs;
	size_t *slots; /* open addressing: index + 1, 0 empty */
	size_t nslots;
	struct pkgrec *pkgs;
	size_t npkgs, cappkgs;
	struct xs_cache_index *idx;
	size_t nidx, capidx;
	char **leased_pkgs;
	size_t nleased, capleased;
	uint64_t leases, leases_removed;
	bool collect; /* gc: remove the leases of dead processes */
	bool dry;     /* gc --dry-run: count, remove nothing */
};

static uint64_t du_of(const struct stat *st)
{
	return (uint64_t)st->st_blocks * 512u;
}

static size_t slot_of(const struct scan *sc, const char *sha)
{
	return (size_t)(xs_hash_str(sha) & (sc->nslots - 1));
}

static void rehash(struct scan *sc)
{
	free(sc->slots);
	sc->nslots = sc->nslots ? sc->nslots * 2 : 1024;
	sc->slots = xs_xcalloc(sc->nslots, sizeof *sc->slots);
	for (size_t i = 0; i < sc->nobjs; i++) {
		size_t s = slot_of(sc, sc->objs[i].sha);
		while (sc->slots[s])
			s = (s + 1) & (sc->nslots - 1);
		sc->slots[s] = i + 1;
	}
}

/* The object sha, added (absent, unreferenced) when create. SIZE_MAX: none. */
static size_t obj_find(struct scan *sc, const char *sha, bool create)
{
	if (sc->nslots) {
		for (size_t s = slot_of(sc, sha); sc->slots[s]; s = (s + 1) & (sc->nslots - 1))
			if (!strcmp(sc->objs[sc->slots[s] - 1].sha, sha))
				return sc->slots[s] - 1;
	}
	if (!create)
		return SIZE_MAX;
	if ((sc->nobjs + 1) * 2 > sc->nslots) {
		rehash(sc);
	}
	xs_grow(&sc->objs, &sc->capobjs, sc->nobjs + 1, sizeof *sc->objs);
	struct obj *o = &sc->objs[sc->nobjs];
	memset(o, 0, sizeof *o);
	memcpy(o->sha, sha, 65);
	o->last_pkg = SIZE_MAX;
	size_t s = slot_of(sc, sha);
	while (sc->slots[s])
		s = (s + 1) & (sc->nslots - 1);
	sc->slots[s] = ++sc->nobjs;
	return sc->nobjs - 1;
}

typedef int (*dir_cb)(int dfd, const char *name, void *ud);

/* Call cb for each entry of at/sub (not "." and ".."). */
static int each_entry(int at, const char *sub, dir_cb cb, void *ud)
{
	int fd = openat(at, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int q = 0;
	struct dirent *de;
	while (q == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		q = cb(dirfd(d), de->d_name, ud);
	}
	closedir(d);
	return q;
}

struct objdir_ctx {
	struct scan *sc;
	char prefix[3];
};

static int objfile_cb(int dfd, const char *name, void *ud)
{
	struct objdir_ctx *c = ud;
	char sha[65];
	struct stat st;
	if (strlen(name) != 62 || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	snprintf(sha, sizeof sha, "%s%s", c->prefix, name);
	if (!xs_is_sha256_hex(sha))
		return 0;
	size_t oi = obj_find(c->sc, sha, true);
	struct obj *o = &c->sc->objs[oi];
	o->on_disk = true;
	o->du = du_of(&st);
	o->mtime = (int64_t)st.st_mtime;
	return 0;
}

static int objdir_cb(int dfd, const char *name, void *ud)
{
	struct objdir_ctx c = { ud, "" };
	if (strlen(name) != 2)
		return 0;
	memcpy(c.prefix, name, 3);
	return each_entry(dfd, name, objfile_cb, &c);
}

static char *read_meta(struct scan *sc, const char *name, size_t max, size_t *len)
{
	char *data = NULL;
	if (xs_store_meta_read(sc->store, name, max, &data, len) < 0)
		return NULL;
	return data;
}

static uint64_t meta_du(struct scan *sc, const char *name)
{
	char path[XS_MAX_PATH];
	struct stat st;
	if (xs_store_meta_path(sc->store, name, path, sizeof path) < 0 || lstat(path, &st) < 0)
		return 0;
	return du_of(&st);
}

static int64_t meta_mtime(struct scan *sc, const char *name)
{
	char path[XS_MAX_PATH];
	struct stat st;
	if (xs_store_meta_path(sc->store, name, path, sizeof path) < 0 || lstat(path, &st) < 0)
		return 0;
	return (int64_t)st.st_mtime;
}

/* A record gc can evict: a package (meta/manifest-DEBSHA, described by
 * meta/pkg-DEBSHA), or with layer a container image's layer
 * (meta/oci-layer-BLOBHEX-DIFFID, listed as "oci-layer sha256:BLOB"). */
static void add_manifest(struct scan *sc, const char *deb_sha, const char *mname, bool layer)
{
	char iname[96];
	pkginfo_name(deb_sha, iname, sizeof iname);
	size_t len = 0;
	char *data = read_meta(sc, mname, MAX_MANIFEST, &len);
	if (!data)
		return;
	struct xs_manifest m = { 0 };
	int q = xs_manifest_parse(data, len, &m);
	free(data);
	xs_grow(&sc->pkgs, &sc->cappkgs, sc->npkgs + 1, sizeof *sc->pkgs);
	size_t pi = sc->npkgs++;
	struct pkgrec *r = &sc->pkgs[pi];
	memset(r, 0, sizeof *r);
	memcpy(r->p.deb_sha256, deb_sha, 64);
	snprintf(r->mname, sizeof r->mname, "%s", mname);
	r->layer = layer;
	char *info = layer ? NULL : read_meta(sc, iname, MAX_PKGINFO, &len);
	char *f[3] = { NULL, NULL, NULL };
	if (info) {
		char *save = NULL;
		for (size_t i = 0; i < 3; i++)
			f[i] = strtok_r(i ? NULL : info, "\t\n", &save);
	}
	bool named = f[0] && f[1] && f[2];
	if (layer) {
		char v[80];
		snprintf(v, sizeof v, "sha256:%.16s", deb_sha);
		r->p.name = xs_strdup("oci-layer");
		r->p.version = xs_strdup(v);
		r->p.arch = xs_strdup("-");
	} else {
		r->p.name = xs_strdup(named ? f[0] : "?");
		r->p.version = xs_strdup(named ? f[1] : "?");
		r->p.arch = xs_strdup(named ? f[2] : "?");
	}
	free(info);
	r->p.last_use = info ? meta_mtime(sc, iname) : meta_mtime(sc, mname);
	r->meta_du = meta_du(sc, mname) + (layer ? 0 : meta_du(sc, iname));
	r->p.bytes = r->meta_du;
	size_t cap = 0;
	for (size_t k = 0; q == 0 && k < m.n; k++) {
		const struct xs_entry *e = &m.e[k];
		if (e->type != XS_E_REG || !xs_is_sha256_hex(e->sha256))
			continue;
		r->p.files++;
		size_t oi = obj_find(sc, e->sha256, true);
		struct obj *o = &sc->objs[oi];
		if (o->last_pkg == pi)
			continue;
		o->last_pkg = pi;
		o->refs++;
		xs_grow(&r->objs, &cap, r->nobjs + 1, sizeof *r->objs);
		r->objs[r->nobjs++] = oi;
	}
	xs_manifest_free(&m);
}

static void add_index(struct scan *sc, const char *source, const char *path, const char *sha,
		      uint64_t bytes)
{
	xs_grow(&sc->idx, &sc->capidx, sc->nidx + 1, sizeof *sc->idx);
	struct xs_cache_index *x = &sc->idx[sc->nidx++];
	x->source = xs_strdup(source);
	x->path = xs_strdup(path);
	memcpy(x->sha256, sha, 65);
	x->bytes = bytes;
}

/* A cached InRelease: pin every index it lists and note those present. */
static void add_inrelease(struct scan *sc, const char *name)
{
	size_t len = 0;
	char *data = read_meta(sc, name, MAX_INRELEASE, &len);
	if (!data)
		return;
	char *text = NULL, err[256];
	size_t tlen = 0;
	struct xs_release rel = { 0 };
	int q = xs_clearsign_split(data, len, &text, &tlen, err, sizeof err);
	free(data);
	if (q == 0)
		q = xs_release_parse(text, tlen, &rel, err, sizeof err);
	free(text);
	if (q < 0)
		return;
	struct xs_buf src;
	xs_buf_init(&src, 4096);
	xs_buf_printf(&src, "%s %s", rel.origin ? rel.origin : "?", rel.suite ? rel.suite : "?");
	if (rel.codename && (!rel.suite || strcmp(rel.codename, rel.suite)))
		xs_buf_printf(&src, " (%s)", rel.codename);
	char insha[65];
	if (xs_sha256_buf(src.data, src.len, insha) == 0)
		add_index(sc, src.data, "InRelease", insha, meta_du(sc, name));
	for (size_t i = 0; i < rel.n_files; i++) {
		const struct xs_release_file *f = &rel.files[i];
		size_t oi = obj_find(sc, f->sha256, true);
		struct obj *o = &sc->objs[oi];
		o->pinned = o->index = true;
		if (o->on_disk)
			add_index(sc, src.data, f->path, f->sha256, o->du);
		char cname[96];
		xs_cf_build(XS_CF_CONTENTS_IDX, f->sha256, cname, sizeof cname);
		uint64_t cdu = meta_du(sc, cname);
		if (cdu) {
			xs_cf_build(XS_CF_CONTENTS_REV, f->sha256, cname, sizeof cname);
			add_index(sc, src.data, f->path, f->sha256, cdu + meta_du(sc, cname));
		}
		xs_cf_build(XS_CF_PACKAGES_IDX, f->sha256, cname, sizeof cname);
		uint64_t pdu = meta_du(sc, cname);
		if (pdu) /* a Packages index kept in its compact form (pkgidx.h) */
			add_index(sc, src.data, f->path, f->sha256, pdu);
	}
	xs_buf_free(&src);
	xs_release_free(&rel);
}

static int meta_cb(int dfd, const char *name, void *ud)
{
	(void)dfd;
	struct scan *sc = ud;
	struct xs_cf f;
	switch (xs_cf_parse(name, &f)) {
	case XS_CF_MANIFEST:
		add_manifest(sc, f.key, name, false);
		break;
	case XS_CF_LAYER:
		add_manifest(sc, f.key, name, true);
		break;
	case XS_CF_INRELEASE:
		add_inrelease(sc, name);
		break;
	default:
		break;
	}
	return 0;
}

static int lease_cb(int dfd, const char *name, void *ud)
{
	struct scan *sc = ud;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		/* nobody holds it: its process is gone */
		if (sc->collect && unlinkat(dfd, name, 0) == 0)
			sc->leases_removed++;
		close(fd);
		return 0;
	}
	sc->leases++;
	struct xs_buf b;
	if (xs_read_fd(fd, MAX_LEASE, &b) == 0) {
		char *save = NULL;
		for (char *line = strtok_r(b.data, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char *sp = strchr(line, ' ');
			if (!sp || !xs_is_sha256_hex(sp + 1))
				continue;
			*sp = 0;
			bool pkg = !strcmp(line, "pkg");
			if (!pkg && strcmp(line, "obj"))
				continue;
			/* an object, or a package's .deb between download and unpack */
			size_t oi = obj_find(sc, sp + 1, true);
			sc->objs[oi].pinned = sc->objs[oi].leased = true;
			if (pkg) {
				xs_grow(&sc->leased_pkgs, &sc->capleased, sc->nleased + 1,
					sizeof *sc->leased_pkgs);
				sc->leased_pkgs[sc->nleased++] = xs_strdup(sp + 1);
			}
		}
		xs_buf_free(&b);
	}
	close(fd);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_pkg(const void *a, const void *b)
{
	const struct pkgrec *x = a, *y = b;
	int c = strcmp(x->p.name, y->p.name);
	return c ? c : strcmp(x->p.version, y->p.version);
}

static void scan_free(struct scan *sc)
{
	for (size_t i = 0; i < sc->npkgs; i++) {
		free(sc->pkgs[i].p.name), free(sc->pkgs[i].p.version), free(sc->pkgs[i].p.arch);
		free(sc->pkgs[i].objs);
	}
	free(sc->pkgs);
	for (size_t i = 0; i < sc->nidx; i++)
		free(sc->idx[i].source), free(sc->idx[i].path);
	free(sc->idx);
	for (size_t i = 0; i < sc->nleased; i++)
		free(sc->leased_pkgs[i]);
	free(sc->leased_pkgs);
	free(sc->objs);
	free(sc->slots);
	if (sc->store)
		xs_store_close(sc->store);
	memset(sc, 0, sizeof *sc);
}

static int scan_run_(struct scan *sc, const char *dir, bool collect)
{
	memset(sc, 0, sizeof *sc);
	sc->dir = dir;
	sc->collect = collect;
	int q = xs_store_open(dir, &sc->store);
	if (q < 0)
		return q;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	q = each_entry(dfd, "objects/sha256", objdir_cb, sc);
	if (q == 0)
		q = each_entry(dfd, XS_CF_LEASES, lease_cb, sc);
	if (q == 0)
		q = each_entry(dfd, "meta", meta_cb, sc);
	if (q < 0)
		return q;
	if (sc->nleased)
		qsort(sc->leased_pkgs, sc->nleased, sizeof *sc->leased_pkgs, cmp_str);
	for (size_t i = 0; i < sc->npkgs; i++) {
		struct pkgrec *r = &sc->pkgs[i];
		const char *key = r->p.deb_sha256;
		r->p.leased = sc->nleased &&
			      bsearch(&key, sc->leased_pkgs, sc->nleased, sizeof *sc->leased_pkgs,
				      cmp_str) != NULL;
		for (size_t k = 0; k < r->nobjs; k++) {
			const struct obj *o = &sc->objs[r->objs[k]];
			if (o->on_disk)
				r->p.bytes += o->du;
			else
				r->p.missing++;
		}
	}
	return 0;
}

/* Scan dir into sc; on failure sc is freed already. */
static int scan_run(struct scan *sc, const char *dir, bool collect)
{
	int q = scan_run_(sc, dir, collect);
	if (q < 0)
		scan_free(sc);
	return q;
}

/* Disk usage of a whole tree (not following symlinks). */
static int du_cb(int dfd, const char *name, void *ud)
{
	uint64_t *sum = ud;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	*sum += du_of(&st);
	if (S_ISDIR(st.st_mode))
		each_entry(dfd, name, du_cb, sum);
	return 0;
}

static uint64_t dir_du(const char *dir)
{
	uint64_t sum = 0;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		each_entry(dfd, ".", du_cb, &sum);
	return sum;
}

/* ---- list ------------------------------------------------------------------- */

int xs_cache_list(const char *dir, struct xs_cache_info *out)
{
	memset(out, 0, sizeof *out);
	struct scan sc;
	int q = scan_run(&sc, dir, false);
	if (q < 0)
		return q;
	if (sc.npkgs)
		qsort(sc.pkgs, sc.npkgs, sizeof *sc.pkgs, cmp_pkg);
	out->pkgs = xs_xcalloc(sc.npkgs + 1, sizeof *out->pkgs);
	for (size_t i = 0; i < sc.npkgs; i++) {
		out->pkgs[i] = sc.pkgs[i].p;
		sc.pkgs[i].p.name = sc.pkgs[i].p.version = sc.pkgs[i].p.arch = NULL;
	}
	out->npkgs = sc.npkgs;
	out->idx = steal_pointer(&sc.idx);
	out->nidx = sc.nidx;
	sc.nidx = 0;
	for (size_t i = 0; i < sc.nobjs; i++) {
		const struct obj *o = &sc.objs[i];
		if (!o->on_disk)
			continue;
		out->objects++;
		out->object_bytes += o->du;
		if (!o->refs && !o->pinned) {
			out->unreferenced++;
			out->unreferenced_bytes += o->du;
		}
	}
	char qdir[XS_MAX_PATH];
	snprintf(qdir, sizeof qdir, "%s/quarantine", dir);
	out->quarantine_bytes = dir_du(qdir);
	uint64_t nq = 0;
	DIR *d = opendir(qdir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		nq += de->d_name[0] != '.';
	if (d)
		closedir(d);
	out->quarantined = nq;
	out->leases = sc.leases;
	out->total_bytes = dir_du(dir);
	scan_free(&sc);
	return 0;
}

void xs_cache_info_free(struct xs_cache_info *ci)
{
	for (size_t i = 0; i < ci->npkgs; i++)
		free(ci->pkgs[i].name), free(ci->pkgs[i].version), free(ci->pkgs[i].arch);
	free(ci->pkgs);
	for (size_t i = 0; i < ci->nidx; i++)
		free(ci->idx[i].source), free(ci->idx[i].path);
	free(ci->idx);
	memset(ci, 0, sizeof *ci);
}

/* ---- verify ----------------------------------------------------------------- */

static char *pkg_label(const struct xs_cache_pkg *p)
{
	struct xs_buf b;
	xs_buf_init(&b, 1 << 16);
	xs_buf_printf(&b, "%s %s %s", p->name, p->version, p->arch);
	if (!strcmp(p->name, "?"))
		xs_buf_printf(&b, " (manifest-%.16s)", p->deb_sha256);
	return xs_buf_steal(&b, NULL);
}

static void push_name(char ***v, uint64_t *n, char *s)
{
	size_t cap = *n + 1;
	*v = xs_xrealloc(*v, (cap + 1) * sizeof **v);
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

struct idx_ctx {
	const char *dir;
	int quar; /* quarantine/ */
	struct xs_cache_verify *out;
};

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* meta/NAME, when a compact index: checked as a resolution checks it before
 * use; a damaged one goes to quarantine/ under "TIME-NAME". */
static int compact_cb(int dfd, const char *name, void *ud)
{
	struct idx_ctx *c = ud;
	struct xs_cf f;
	struct stat st, now;
	char path[XS_MAX_PATH], why[256] = "";
	if (xs_cf_parse(name, &f) != XS_CF_PACKAGES_IDX || fstatat(dfd, name, &st, 0) < 0 ||
	    (size_t)snprintf(path, sizeof path, "%s/meta/%s", c->dir, name) >= sizeof path)
		return 0;
	struct xs_pkgtab t;
	struct xs_pkgidx_id got;
	xs_pkgtab_init(&t);
	int q = xs_pkgidx_load_path(path, NULL, &t, 0, &got, why, sizeof why);
	xs_pkgtab_free(&t);
	if (q == 0 && strcmp(got.index_sha256, f.key)) {
		q = -ESTALE;
		snprintf(why, sizeof why, "made from index %.16s…, its name says %.16s…",
			 got.index_sha256, f.key);
	}
	if (q == -ENOENT)
		return 0; /* removed meanwhile */
	if (q < 0 && q != -EBADMSG && q != -EPROTO && q != -ESTALE && q != -E2BIG)
		return q;
	c->out->indexes++;
	if (q == 0 || fstatat(dfd, name, &now, 0) < 0 || !same_file(&st, &now))
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char qname[160];
	snprintf(qname, sizeof qname, "%020llu-%s",
		 (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec,
		 name);
	if (renameat(dfd, name, c->quar, qname) < 0)
		unlinkat(dfd, name, 0); /* it must not stay where it would be read */
	struct xs_buf b;
	xs_buf_init(&b, 1 << 16);
	xs_buf_printf(&b, "%s: %s", name, why);
	push_name(&c->out->bad_index_names, &c->out->bad_indexes, xs_buf_steal(&b, NULL));
	return 0;
}

/* The compact indexes of dir's meta/. */
static int verify_compact(const char *dir, struct xs_cache_verify *out)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	_cleanup_close_ int quar = openat(dfd, "quarantine", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct idx_ctx c = { dir, quar, out };
	return each_entry(dfd, "meta", compact_cb, &c);
}

int xs_cache_verify(const char *dir, void (*progress)(uint64_t, uint64_t, void *), void *ud,
		    struct xs_cache_verify *out)
{
	memset(out, 0, sizeof *out);
	struct scan sc;
	int q = scan_run(&sc, dir, false);
	if (q < 0)
		return q;
	uint64_t total = 0, done = 0;
	for (size_t i = 0; i < sc.nobjs; i++)
		total += sc.objs[i].on_disk;
	for (size_t i = 0; i < sc.nobjs; i++) {
		struct obj *o = &sc.objs[i];
		if (!o->on_disk)
			continue;
		int fd = xs_store_open_object(sc.store, o->sha);
		if (fd < 0) {
			o->on_disk = false; /* removed meanwhile */
			continue;
		}
		char have[65];
		uint64_t size = 0;
		int r = xs_sha256_fd(fd, have, &size);
		out->objects++;
		out->bytes += size;
		if (r == 0 && strcmp(have, o->sha)) {
			xs_store_quarantine_object(sc.store, o->sha, fd);
			o->on_disk = false;
			push_name(&out->bad_names, &out->bad, xs_strdup(o->sha));
		}
		close(fd);
		if (progress)
			progress(++done, total, ud);
	}
	for (size_t i = 0; i < sc.npkgs; i++) {
		struct pkgrec *r = &sc.pkgs[i];
		uint64_t missing = 0;
		for (size_t k = 0; k < r->nobjs; k++)
			missing += !sc.objs[r->objs[k]].on_disk;
		if (!missing)
			continue;
		char *label = pkg_label(&r->p);
		struct xs_buf b;
		xs_buf_init(&b, 1 << 16);
		xs_buf_printf(&b, "%s (%llu of %llu files missing)", label,
			      (unsigned long long)missing, (unsigned long long)r->nobjs);
		free(label);
		push_name(&out->broken_names, &out->broken, xs_buf_steal(&b, NULL));
	}
	scan_free(&sc);
	q = verify_compact(dir, out);
	if (q < 0)
		xs_cache_verify_free(out);
	return q;
}

void xs_cache_verify_free(struct xs_cache_verify *v)
{
	for (size_t i = 0; v->bad_names && v->bad_names[i]; i++)
		free(v->bad_names[i]);
	for (size_t i = 0; v->broken_names && v->broken_names[i]; i++)
		free(v->broken_names[i]);
	for (size_t i = 0; v->bad_index_names && v->bad_index_names[i]; i++)
		free(v->bad_index_names[i]);
	free(v->bad_names);
	free(v->broken_names);
	free(v->bad_index_names);
	memset(v, 0, sizeof *v);
}

/* ---- gc --------------------------------------------------------------------- */

static uint64_t count_entries(const char *dir, const char *sub)
{
	char path[XS_MAX_PATH];
	snprintf(path, sizeof path, "%s/%s", dir, sub);
	DIR *d = opendir(path);
	uint64_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static int unlink_cb(int dfd, const char *name, void *ud)
{
	uint64_t *n = ud;
	if (unlinkat(dfd, name, 0) == 0)
		(*n)++;
	return 0;
}

static int count_cb(int dfd, const char *name, void *ud)
{
	(void)dfd, (void)name;
	(*(uint64_t *)ud)++;
	return 0;
}

/* A temp file of meta/ (".NAME.RANDOM" of xs_store_meta_write, "NAME.tmp.RANDOM"
 * of an index build) left by a killed process.  Writers hold the shared
 * lock, which gc holds exclusively; the age is a second guard. */
static int meta_tmp_cb(int dfd, const char *name, void *ud)
{
	uint64_t *n = ud;
	struct stat st;
	if (xs_cf_is_temp(name) &&
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    st.st_mtime < time(NULL) - 60 && unlinkat(dfd, name, 0) == 0)
		(*n)++;
	return 0;
}

static int cmp_lru(const void *a, const void *b)
{
	const struct pkgrec *x = *(struct pkgrec *const *)a, *y = *(struct pkgrec *const *)b;
	if (x->p.last_use != y->p.last_use)
		return x->p.last_use < y->p.last_use ? -1 : 1;
	return strcmp(x->p.deb_sha256, y->p.deb_sha256);
}

static uint64_t remove_object(struct scan *sc, struct obj *o, struct xs_cache_gc *out)
{
	char path[XS_MAX_PATH];
	if (!o->on_disk || o->pinned || o->refs ||
	    xs_store_object_path(sc->store, o->sha, path, sizeof path) < 0 ||
	    (!sc->dry && unlink(path) < 0))
		return 0;
	o->on_disk = false;
	out->objects_removed++;
	return o->du;
}

/* The lock of an evicted package or layer (meta/pkg-DEB.lock,
 * oci-layer-BLOB.lock), unless a process holds it (one that took the
 * cache's shared lock before gc: none, as gc holds it exclusively); one
 * waiting for it then locks the name made anew (xs_store_meta_lock). */
static void remove_lock(struct scan *sc, enum xs_cf_kind kind, const char *key)
{
	char lname[96], path[XS_MAX_PATH];
	if (xs_cf_build(kind, key, lname, sizeof lname) < 0 ||
	    xs_store_meta_path(sc->store, lname, path, sizeof path) < 0)
		return;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		unlink(path);
	close(fd);
}

/* Evict package r: its documents, then the objects nothing else names. */
static uint64_t evict(struct scan *sc, struct pkgrec *r, struct xs_cache_gc *out)
{
	char iname[96], path[XS_MAX_PATH];
	pkginfo_name(r->p.deb_sha256, iname, sizeof iname);
	/* the manifest first: without it, no mount uses what follows */
	if (xs_store_meta_path(sc->store, r->mname, path, sizeof path) < 0 ||
	    (!sc->dry && unlink(path) < 0))
		return 0;
	if (!sc->dry && !r->layer && xs_store_meta_path(sc->store, iname, path, sizeof path) == 0)
		unlink(path);
	if (!sc->dry)
		remove_lock(sc, r->layer ? XS_CF_LAYER_LOCK : XS_CF_PKG_LOCK, r->p.deb_sha256);
	uint64_t freed = r->meta_du;
	for (size_t k = 0; k < r->nobjs; k++) {
		struct obj *o = &sc->objs[r->objs[k]];
		if (o->refs)
			o->refs--;
		freed += remove_object(sc, o, out);
	}
	r->evicted = true;
	push_name(&out->evicted_names, &out->evicted, pkg_label(&r->p));
	return freed;
}

/* ---- gc of indexes and resolved views ----------------------------------- */

/* A meta/ document gc may drop: a Contents index, a resolved view, a
 * candidate table. */
struct doc {
	char name[160];
	int64_t mtime;
	uint64_t du;
	enum xs_cf_kind kind;
	char key[65];
};
struct docs {
	struct doc *v;
	size_t n, cap;
};

static int doc_cb(int dfd, const char *name, void *ud)
{
	struct docs *d = ud;
	struct xs_cf f;
	struct stat st;
	enum xs_cf_kind k = xs_cf_parse(name, &f);
	if ((k != XS_CF_CONTENTS_IDX && k != XS_CF_CONTENTS_REV && k != XS_CF_CONTENTS_REFUSED &&
	     k != XS_CF_VIEW && k != XS_CF_CANDS && k != XS_CF_PACKAGES_IDX) || strlen(name) >= sizeof d->v->name ||
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	xs_grow(&d->v, &d->cap, d->n + 1, sizeof *d->v);
	struct doc *x = &d->v[d->n++];
	snprintf(x->name, sizeof x->name, "%s", name);
	x->mtime = (int64_t)st.st_mtime;
	x->du = du_of(&st);
	x->kind = k;
	memcpy(x->key, f.key, sizeof x->key);
	return 0;
}

static int cmp_doc_new(const void *a, const void *b)
{
	const struct doc *x = a, *y = b;
	return x->mtime != y->mtime ? (x->mtime > y->mtime ? -1 : 1) : strcmp(x->name, y->name);
}

/* The label of index sha: "SOURCE PATH" of the first listing. */
static char *index_label(const struct scan *sc, const char *sha)
{
	for (size_t i = 0; i < sc->nidx; i++)
		if (!strcmp(sc->idx[i].sha256, sha)) {
			char *l = NULL;
			if (asprintf(&l, "%s %s", sc->idx[i].source, sc->idx[i].path) < 0)
				abort();
			return l;
		}
	return xs_strdup(sha);
}

/* Index objects (what a cached InRelease lists) not used since cutoff that
 * no live process leased: no longer pinned, so the object pass removes
 * them; each named in out. */
static void gc_index_objects(struct scan *sc, int64_t cutoff, struct xs_cache_gc *out)
{
	for (size_t i = 0; i < sc->nobjs; i++) {
		struct obj *o = &sc->objs[i];
		if (!o->index || o->leased || !o->on_disk || o->refs || o->mtime >= cutoff)
			continue;
		o->pinned = false;
		push_name(&out->index_names, &out->indexes_removed, index_label(sc, o->sha));
	}
}

/* Contents indexes, compact Packages indexes, views and candidate tables
 * not used since cutoff, and the views past the newest XS_CACHE_MAX_VIEWS. */
static uint64_t gc_docs(struct scan *sc, int dfd, int64_t cutoff, struct xs_cache_gc *out)
{
	uint64_t freed = 0;
	struct docs d = { 0 };
	each_entry(dfd, "meta", doc_cb, &d);
	if (d.n)
		qsort(d.v, d.n, sizeof *d.v, cmp_doc_new);
	size_t views = 0;
	for (size_t i = 0; i < d.n; i++) {
		const struct doc *x = &d.v[i];
		bool view = x->kind == XS_CF_VIEW, packages = x->kind == XS_CF_PACKAGES_IDX;
		bool contents = !view && !packages && x->kind != XS_CF_CANDS;
		views += view;
		if (x->mtime >= cutoff && !(view && views > XS_CACHE_MAX_VIEWS))
			continue;
		if (contents && sc->leases)
			continue; /* a live process may have it mapped, or open it later */
		char path[XS_MAX_PATH];
		if (xs_store_meta_path(sc->store, x->name, path, sizeof path) < 0 ||
		    (!sc->dry && unlink(path) < 0))
			continue;
		if (packages) /* read whole when a view resolves: nothing keeps it open */
			push_name(&out->index_names, &out->indexes_removed, index_label(sc, x->key));
		else if (view || x->kind == XS_CF_CANDS)
			out->views_removed++;
		else
			out->contents_removed++;
		freed += x->du;
	}
	free(d.v);
	return freed;
}

/* ---- gc of hybrid layers (run --native-tools, hybrid.h) ------------------ */

struct hybrid_gc {
	struct scan *sc;
	int64_t cutoff;
	uint64_t removed, freed;
};

/* A layer not used since cutoff, or one a dead process left half made
 * ("DIGEST.tmp-PID"), and the small files kept beside the layers (the
 * tools' Multi-Arch answers, "foreign-DIGEST") not written since cutoff:
 * removed while no live process holds a lease (a run may have a layer as
 * part of its root). */
static int hybrid_cb(int dfd, const char *name, void *ud)
{
	struct hybrid_gc *h = ud;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
		return 0;
	const char *tmp = S_ISDIR(st.st_mode) ? strstr(name, ".tmp-") : NULL;
	long pid = tmp ? strtol(tmp + 5, NULL, 10) : 0;
	bool stale = tmp ? pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH
			 : (int64_t)st.st_mtime < h->cutoff;
	if (!stale || h->sc->leases)
		return 0;
	uint64_t du = du_of(&st);
	if (S_ISDIR(st.st_mode))
		each_entry(dfd, name, du_cb, &du);
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/%s/%s", h->sc->dir, XS_CF_HYBRID, name) >=
	    sizeof path)
		return 0;
	if (!h->sc->dry && (S_ISDIR(st.st_mode) ? xs_rm_rf(path) : unlink(path) < 0 ? -errno : 0) < 0)
		return 0;
	h->removed += S_ISDIR(st.st_mode);
	h->freed += du;
	return 0;
}

static uint64_t gc_hybrid(struct scan *sc, int dfd, int64_t cutoff, struct xs_cache_gc *out)
{
	struct hybrid_gc h = { sc, cutoff, 0, 0 };
	each_entry(dfd, XS_CF_HYBRID, hybrid_cb, &h);
	out->hybrid_removed = h.removed;
	return h.freed;
}

/* The leftovers: tmp/ (opening the store purged it), quarantine/, meta/
 * temp files; counted only on a dry run. */
static void gc_leftovers(struct scan *sc, int dfd, struct xs_cache_gc *out)
{
	if (dfd < 0)
		return;
	if (sc->dry) {
		each_entry(dfd, "quarantine", count_cb, &out->quarantine_removed);
		return;
	}
	each_entry(dfd, "quarantine", unlink_cb, &out->quarantine_removed);
	each_entry(dfd, "meta", meta_tmp_cb, &out->tmp_removed);
}

/* Evict the least recently used packages until the cache (size now) fits
 * max_size; the size then. */
static uint64_t gc_evict(struct scan *sc, uint64_t max_size, uint64_t size,
			 struct xs_cache_gc *out)
{
	struct pkgrec **order = xs_xcalloc(sc->npkgs + 1, sizeof *order);
	size_t n = 0;
	for (size_t i = 0; i < sc->npkgs; i++)
		order[n++] = &sc->pkgs[i];
	qsort(order, n, sizeof *order, cmp_lru);
	for (size_t i = 0; i < n && size > max_size; i++) {
		if (order[i]->p.leased) {
			out->kept_leased++;
			continue;
		}
		uint64_t freed = evict(sc, order[i], out);
		size = freed < size ? size - freed : 0;
	}
	free(order);
	return size;
}

int xs_cache_gc_run(const char *dir, const struct xs_cache_gc_opts *o, struct xs_cache_gc *out)
{
	memset(out, 0, sizeof *out);
	_cleanup_close_ int lk = lock_fd(dir, LOCK_EX | (o->wait ? 0 : LOCK_NB));
	if (lk < 0)
		return lk;
	out->size_before = dir_du(dir);
	uint64_t tmp_before = count_entries(dir, "tmp");
	struct scan sc;
	int q = scan_run(&sc, dir, !o->dry_run); /* opening the store purges tmp/ */
	if (q < 0)
		return q;
	sc.dry = o->dry_run;
	uint64_t tmp_after = count_entries(dir, "tmp");
	out->tmp_removed = tmp_before > tmp_after ? tmp_before - tmp_after : 0;
	out->leases_removed = sc.leases_removed;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	gc_leftovers(&sc, dfd, out);
	int64_t now = o->now ? o->now : (int64_t)time(NULL);
	int64_t age = o->index_age > 0 ? o->index_age : XS_CACHE_INDEX_AGE;
	uint64_t would = 0; /* what a dry run would free */
	if (o->index_age >= 0) {
		gc_index_objects(&sc, now - age, out);
		if (dfd >= 0)
			would += gc_docs(&sc, dfd, now - age, out) + gc_hybrid(&sc, dfd, now - age, out);
	}
	for (size_t i = 0; i < sc.nobjs; i++)
		would += remove_object(&sc, &sc.objs[i], out);
	uint64_t size = !sc.dry ? dir_du(dir) : out->size_before > would ? out->size_before - would : 0;
	if (o->max_size != UINT64_MAX)
		size = gc_evict(&sc, o->max_size, size, out);
	out->size_after = sc.dry ? size : dir_du(dir);
	out->bytes_freed = out->size_before > out->size_after ? out->size_before - out->size_after : 0;
	scan_free(&sc);
	return 0;
}

int xs_cache_gc(const char *dir, uint64_t max_size, bool wait, struct xs_cache_gc *out)
{
	const struct xs_cache_gc_opts o = { .max_size = max_size, .wait = wait, .index_age = -1 };
	return xs_cache_gc_run(dir, &o, out);
}

void xs_cache_gc_free(struct xs_cache_gc *g)
{
	for (size_t i = 0; g->evicted_names && g->evicted_names[i]; i++)
		free(g->evicted_names[i]);
	free(g->evicted_names);
	for (size_t i = 0; g->index_names && g->index_names[i]; i++)
		free(g->index_names[i]);
	free(g->index_names);
	memset(g, 0, sizeof *g);
}
