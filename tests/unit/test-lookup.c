/* test-lookup.c - the lazy protocol of a view (include/xsysroot/lookup.h),
 * over a real view and store, with the repository's side as fake
 * operations that count their calls: a pending file is fetched once, then
 * answered; a name the view lacks is ENOENT, before and after other
 * lookups, and adds nothing (the exact view); a failed fetch or settle is
 * EIO and one recorded error; PEEK mode never settles or fetches;
 * "ld.so.cache" refreshes; extended attributes; damaged content. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/deb.h"
#include "xsysroot/lookup.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"
#include "xsysroot/view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPKG 4
#define MIRROR "http://127.0.0.1:9/debian"

static struct xs_store *store;

/* ---- the fake repository ------------------------------------------------ */

struct fake {
	struct xs_view *view;
	struct xs_manifest pkgs[NPKG]; /* what fetching package i applies */
	int settle_r, fetch_r;
	int settles, refreshes, fetches[NPKG];
	int nerrors;
	char last_error[1024];
	int nlogs;
	char last_log[2048];
	int last_level;
};

static const char *const pkg_names[NPKG] = { "libfoo1", "zlib1g", "libbar2", "tzdata" };

static int fake_settle(void *ud, char *err, size_t errsz)
{
	struct fake *f = ud;
	f->settles++;
	if (f->settle_r < 0)
		snprintf(err, errsz, "failed to fetch a layer of 127.0.0.1:5000/xs/hello: HTTP 503");
	return f->settle_r;
}

static int fake_refresh(void *ud)
{
	((struct fake *)ud)->refreshes++;
	return 0;
}

static void fake_note_error(void *ud, const char *msg)
{
	struct fake *f = ud;
	f->nerrors++;
	snprintf(f->last_error, sizeof f->last_error, "%s", msg);
}

/* As xs_repo_fetch: applies the package, or records its own failure. */
static int fake_fetch(void *ud, int pkg, char *err, size_t errsz)
{
	struct fake *f = ud;
	if (pkg < 0 || pkg >= NPKG)
		return -EINVAL;
	f->fetches[pkg]++;
	if (f->fetch_r < 0) {
		snprintf(err, errsz, "failed to fetch '%s 1.0-1 arm64': " MIRROR "/pool/%s.deb: "
			 "HTTP 404", pkg_names[pkg], pkg_names[pkg]);
		fake_note_error(f, err);
		return f->fetch_r;
	}
	return xs_view_apply(f->view, pkg, &f->pkgs[pkg]);
}

static int fake_pkg(void *ud, int pkg, struct xs_repo_pkg *out)
{
	(void)ud;
	if (pkg < 0 || pkg >= NPKG)
		return -ENOENT;
	memset(out, 0, sizeof *out);
	out->name = pkg_names[pkg];
	out->version = "1.0-1";
	out->arch = "arm64";
	out->mirror = MIRROR;
	return 0;
}

static int fake_status(void *ud, struct xs_buf *out)
{
	(void)ud;
	return xs_buf_printf(out, "arch=arm64\npackages=%d\n", NPKG);
}

static const struct xs_lookup_ops fake_ops = {
	.settle = fake_settle,
	.refresh = fake_refresh,
	.fetch = fake_fetch,
	.pkg = fake_pkg,
	.note_error = fake_note_error,
	.status = fake_status,
};

static void fake_log(int level, const char *msg, void *ud)
{
	struct fake *f = ud;
	f->nlogs++;
	f->last_level = level;
	snprintf(f->last_log, sizeof f->last_log, "%s", msg);
}

/* A regular file of package pkg, its content in the store. */
static void ship(struct fake *f, int pkg, const char *path, const char *content)
{
	struct xs_manifest *m = &f->pkgs[pkg];
	xs_grow(&m->e, &m->cap, m->n + 1, sizeof *m->e);
	struct xs_entry *e = &m->e[m->n++];
	memset(e, 0, sizeof *e);
	e->path = xs_strdup(path);
	e->type = XS_E_REG;
	e->mode = S_IFREG | 0644;
	e->size = strlen(content);
	e->mtime = 1700000000;
	if (tl_store_put(store, content, e->size, e->sha256) < 0)
		CHECK(0, "store object for %s", path);
}

/* The view of the tests: libfoo1 (0) ships usr/lib/libfoo.so.1 and
 * etc/ld.so.cache; libbar2 (2), a package of the archive outside the view,
 * ships usr/lib/libbar.so.2 (not in the view); zlib1g (1) lists
 * usr/lib/libz.so.1 in Contents but does not ship it. */
static void fake_init(struct fake *f, struct xs_lookup *lk, enum xs_lookup_mode mode)
{
	memset(f, 0, sizeof *f);
	f->view = xs_view_new(store, 1000);
	ship(f, 0, "usr/lib/libfoo.so.1", "foo");
	ship(f, 0, "etc/ld.so.cache", "cache");
	ship(f, 1, "usr/lib/libz.so.1.3", "z");
	ship(f, 2, "usr/lib/libbar.so.2", "bar!");
	xs_view_add_pending(f->view, "usr/lib/libfoo.so.1", 0);
	xs_view_add_pending(f->view, "etc/ld.so.cache", 0);
	xs_view_add_pending(f->view, "usr/lib/libz.so.1", 1);
	xs_lookup_init(lk, f->view, &fake_ops, f, mode, fake_log, f);
}

static void fake_free(struct fake *f)
{
	for (int i = 0; i < NPKG; i++)
		xs_manifest_free(&f->pkgs[i]);
	xs_view_free(f->view);
}

static int fetches(const struct fake *f)
{
	int n = 0;
	for (int i = 0; i < NPKG; i++)
		n += f->fetches[i];
	return n;
}

static uint64_t dir_ino(struct xs_view *v, const char *path)
{
	struct xs_vattr a;
	return xs_view_resolve(v, path, &a) == 0 && S_ISDIR(a.mode) ? a.ino : 0;
}

static int count_entry(const char *name, uint64_t ino, uint32_t mode, uint64_t next, void *ud)
{
	(void)name, (void)ino, (void)mode, (void)next;
	++*(int *)ud;
	return 0;
}

/* *ud (a name) set to NULL when name is it. */
static int has_entry(const char *name, uint64_t ino, uint32_t mode, uint64_t next, void *ud)
{
	(void)ino, (void)mode, (void)next;
	const char **want = ud;
	if (*want && !strcmp(name, *want))
		*want = NULL;
	return 0;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_pending_fetched_once(void)
{
	struct fake f;
	struct xs_lookup lk;
	fake_init(&f, &lk, XS_LOOKUP_FETCH);
	uint64_t lib = dir_ino(f.view, "usr/lib");
	struct xs_vattr a;
	CHECK_INT(xs_lookup_entry(&lk, lib, "libfoo.so.1", &a), 0, "pending file: found");
	CHECK(!a.pending && S_ISREG(a.mode) && a.size == 3, "answered ready: a 3-byte file");
	CHECK_INT(f.fetches[0], 1, "its package fetched once");
	CHECK_INT(f.settles, 1, "settled before the lookup");
	CHECK_INT(xs_lookup_entry(&lk, lib, "libfoo.so.1", &a), 0, "looked up again");
	CHECK_INT(f.fetches[0], 1, "ready: no second fetch");
	CHECK_INT(xs_lookup_getattr(&lk, a.ino, &a), 0, "getattr of the ready file");
	CHECK_INT(fetches(&f), 1, "getattr of a ready file fetches nothing");
	CHECK_INT(f.nerrors, 0, "no error recorded");

	/* getattr of a pending inode (one the kernel got from an earlier
	 * answer) fetches its package first */
	struct xs_vattr p;
	CHECK_INT(xs_view_resolve(f.view, "usr/lib/libz.so.1", &p), 0, "pending libz.so.1");
	CHECK_INT(xs_lookup_getattr(&lk, p.ino, &a), -ENOENT,
		  "getattr of a path its package does not ship: ENOENT");
	CHECK_INT(f.fetches[1], 1, "after one fetch of that package");
	CHECK(f.last_level == XS_LOG_WARN && strstr(f.last_log, "/usr/lib/libz.so.1") &&
	      strstr(f.last_log, "zlib1g 1.0-1"), "a warning names the path and the package: %s",
	      f.last_log);
	CHECK_INT(f.nerrors, 0, "not an error of the mount");
	fake_free(&f);
}

/* The exact view: a name the view lacks is ENOENT even when a package of
 * the archive ships it, and stays so after other lookups and fetches. */
static void test_exact(void)
{
	struct fake f;
	struct xs_lookup lk;
	fake_init(&f, &lk, XS_LOOKUP_FETCH);
	uint64_t lib = dir_ino(f.view, "usr/lib");
	struct xs_vattr a;
	CHECK_INT(xs_lookup_entry(&lk, lib, "libbar.so.2", &a), -ENOENT,
		  "a name the view lacks but the archive ships: ENOENT");
	CHECK(!a.volatile_, "a negative answer of the packages' tree is not volatile");
	CHECK_INT(xs_lookup_entry(&lk, 1, "opt", &a), -ENOENT, "a directory the view lacks");
	CHECK_INT(fetches(&f), 0, "nothing fetched for them");
	CHECK_INT(xs_lookup_entry(&lk, lib, "libfoo.so.1", &a), 0, "another lookup, fetching");
	CHECK_INT(f.fetches[0], 1, "its package fetched");
	CHECK_INT(xs_lookup_entry(&lk, lib, "libbar.so.2", &a), -ENOENT, "the first name again");
	CHECK_INT(xs_lookup_entry(&lk, 1, "opt", &a), -ENOENT, "the directory again");
	CHECK_INT(f.fetches[2], 0, "the archive's package was never fetched");
	const char *want = "libbar.so.2";
	CHECK_INT(xs_lookup_readdir(&lk, lib, 0, has_entry, &want), 0, "readdir of usr/lib");
	CHECK(want != NULL, "does not list libbar.so.2 either");
	CHECK_INT(xs_lookup_entry(&lk, 987654, "x", &a), -ESTALE, "an unknown parent: ESTALE");
	fake_free(&f);
}

static void test_fetch_fails(void)
{
	struct fake f;
	struct xs_lookup lk;
	fake_init(&f, &lk, XS_LOOKUP_FETCH);
	uint64_t lib = dir_ino(f.view, "usr/lib");
	struct xs_vattr a;
	f.fetch_r = -ECONNREFUSED;
	CHECK_INT(xs_lookup_entry(&lk, lib, "libfoo.so.1", &a), -EIO, "a failed fetch: EIO");
	CHECK_INT(f.fetches[0], 1, "one fetch tried");
	CHECK_INT(f.nerrors, 1, "one error recorded for the status (by the fetch, not again)");
	CHECK(strstr(f.last_error, "libfoo1 1.0-1") && strstr(f.last_error, MIRROR),
	      "it names the package, its version and the mirror: %s", f.last_error);
	CHECK(f.last_level == XS_LOG_ERR && strstr(f.last_log, "/usr/lib/libfoo.so.1") &&
	      strstr(f.last_log, "libfoo1 1.0-1") && strstr(f.last_log, "HTTP 404"),
	      "the log names the path, the package and the cause: %s", f.last_log);
	CHECK_INT(xs_lookup_path(&lk, "usr/lib/libfoo.so.1", &a), -EIO, "by path: EIO too");
	CHECK_INT(f.fetches[0], 2, "a failure is not remembered: tried again");
	CHECK_INT(xs_view_resolve(f.view, "usr/lib/libfoo.so.1", &a), 0, "still in the view");
	CHECK_INT(xs_lookup_getattr(&lk, a.ino, &a), -EIO, "getattr of it: EIO");
	f.fetch_r = 0;
	CHECK_INT(xs_lookup_entry(&lk, lib, "libfoo.so.1", &a), 0, "the mirror healed: found");
	CHECK(!a.pending && a.size == 3, "and ready");
	CHECK_INT(f.nerrors, 3, "no error recorded for the success");
	fake_free(&f);
}

static void test_settle(void)
{
	struct fake f;
	struct xs_lookup lk;
	fake_init(&f, &lk, XS_LOOKUP_FETCH);
	uint64_t lib = dir_ino(f.view, "usr/lib");
	struct xs_vattr a;
	f.settle_r = -EHOSTUNREACH;
	CHECK_INT(xs_lookup_entry(&lk, lib, "libfoo.so.1", &a), -EIO, "settle failed: EIO");
	CHECK_INT(fetches(&f), 0, "nothing fetched after a failed settle");
	CHECK_INT(f.nerrors, 1, "the failure recorded");
	CHECK(strstr(f.last_error, "127.0.0.1:5000/xs/hello") && strstr(f.last_error, "503"),
	      "with its message: %s", f.last_error);
	CHECK(f.last_level == XS_LOG_ERR && strstr(f.last_log, "HTTP 503"), "and logged: %s",
	      f.last_log);
	int n = 0;
	CHECK_INT(xs_lookup_readdir(&lk, 1, 0, count_entry, &n), -EIO, "readdir after it: EIO");
	CHECK_INT(n, 0, "and no entry");
	CHECK_INT(f.settles, 2, "each call settles again");
	CHECK_INT(xs_lookup_getattr(&lk, 1, &a), 0, "the root's attributes need no settle");
	CHECK_INT(f.settles, 2, "getattr did not settle");
	f.settle_r = 0;
	CHECK_INT(xs_lookup_entry(&lk, lib, "libfoo.so.1", &a), 0, "settled: found");
	CHECK_INT(f.settles, 3, "after settling");
	fake_free(&f);
}

static void test_peek(void)
{
	struct fake f;
	struct xs_lookup lk;
	fake_init(&f, &lk, XS_LOOKUP_PEEK);
	f.settle_r = -EIO; /* a peek does not settle: this must not matter */
	uint64_t lib = dir_ino(f.view, "usr/lib"), etc = dir_ino(f.view, "etc");
	struct xs_vattr a;
	CHECK_INT(xs_lookup_entry(&lk, lib, "libfoo.so.1", &a), 0, "peek: the pending file");
	CHECK(a.pending && a.mode == 0 && a.pkg == 0, "answered pending, with its package");
	CHECK_INT(xs_lookup_getattr(&lk, a.ino, &a), 0, "peek: getattr");
	CHECK(a.pending, "still pending");
	CHECK_INT(xs_lookup_path(&lk, "/usr/lib/libfoo.so.1", &a), 0, "peek by path");
	CHECK(a.pending && a.pkg == 0, "pending by path too");
	CHECK_INT(xs_lookup_entry(&lk, lib, "libbar.so.2", &a), -ENOENT,
		  "peek: a name the view lacks is ENOENT");
	CHECK_INT(xs_lookup_entry(&lk, etc, "ld.so.cache", &a), 0, "peek: ld.so.cache");
	CHECK_INT(fetches(&f), 0, "peek never fetches");
	CHECK_INT(f.settles, 0, "peek never settles");
	CHECK_INT(f.refreshes, 0, "peek never refreshes");
	int n = 0;
	CHECK_INT(xs_lookup_readdir(&lk, 1, 0, count_entry, &n), 0, "peek: readdir, not settled");
	CHECK_INT(n, 4, "., .., etc, usr");
	fake_free(&f);
}

static void test_refresh(void)
{
	struct fake f;
	struct xs_lookup lk;
	fake_init(&f, &lk, XS_LOOKUP_FETCH);
	uint64_t lib = dir_ino(f.view, "usr/lib"), etc = dir_ino(f.view, "etc");
	struct xs_vattr a;
	CHECK_INT(xs_lookup_entry(&lk, lib, "libfoo.so.1", &a), 0, "another name");
	CHECK_INT(f.refreshes, 0, "does not refresh");
	CHECK_INT(xs_lookup_entry(&lk, etc, "ld.so.cache", &a), 0, "ld.so.cache");
	CHECK_INT(f.refreshes, 1, "refreshed the derived files first");
	CHECK_INT(xs_lookup_entry(&lk, etc, "ld.so.cache", &a), 0, "ld.so.cache again");
	CHECK_INT(f.refreshes, 2, "refreshed each time (it is cheap when nothing changed)");
	fake_free(&f);
}

static void test_path(void)
{
	struct fake f;
	struct xs_lookup lk;
	fake_init(&f, &lk, XS_LOOKUP_FETCH);
	struct xs_vattr a;
	CHECK_INT(xs_lookup_path(&lk, "usr//lib/./libfoo.so.1", &a), 0, "a path, normalised");
	CHECK(!a.pending && a.size == 3, "the file, fetched");
	CHECK_INT(xs_lookup_path(&lk, "", &a), 0, "the root");
	CHECK_INT(a.ino, 1, "inode 1");
	CHECK_INT(xs_lookup_path(&lk, "usr/lib/libfoo.so.1/x", &a), -ENOTDIR,
		  "below a file: ENOTDIR");
	CHECK_INT(xs_lookup_path(&lk, "../etc", &a), -EINVAL, "above the root: EINVAL");
	CHECK_INT(xs_lookup_path(&lk, "usr/lib/libbar.so.2", &a), -ENOENT,
		  "a path of a package outside the view");
	CHECK_INT(xs_lookup_path(&lk, "opt/none", &a), -ENOENT, "a missing directory");
	fake_free(&f);
}

static void test_xattr(void)
{
	struct fake f;
	struct xs_lookup lk;
	fake_init(&f, &lk, XS_LOOKUP_FETCH);
	struct xs_vattr pend, ready;
	xs_view_resolve(f.view, "usr/lib/libz.so.1", &pend);
	CHECK_INT(xs_lookup_path(&lk, "usr/lib/libfoo.so.1", &ready), 0, "a ready file");
	struct xs_buf b;
	xs_buf_init(&b, 1 << 16);
	CHECK_INT(xs_lookup_getxattr(&lk, pend.ino, "user.xsysroot.package", &b), 0,
		  "package of a pending file");
	CHECK_STR(b.data, "zlib1g", "its name");
	b.len = 0;
	CHECK_INT(xs_lookup_getxattr(&lk, pend.ino, "user.xsysroot.version", &b), 0, "version");
	CHECK_STR(b.data, "1.0-1", "its version");
	b.len = 0;
	CHECK_INT(xs_lookup_getxattr(&lk, pend.ino, "user.xsysroot.sha256", &b), -ENODATA,
		  "a pending file has no digest");
	CHECK_INT(f.fetches[1], 0, "and xattrs never fetch");
	CHECK_INT(xs_lookup_getxattr(&lk, ready.ino, "user.xsysroot.sha256", &b), 0,
		  "digest of a ready file");
	CHECK_STR(b.data, f.pkgs[0].e[0].sha256, "its content's SHA-256");
	b.len = 0;
	CHECK_INT(xs_lookup_getxattr(&lk, 1, "user.xsysroot.status", &b), 0, "status on the root");
	CHECK(b.data && strstr(b.data, "arch=arm64\n"), "the status lines");
	CHECK_INT(xs_lookup_getxattr(&lk, ready.ino, "user.xsysroot.status", &b), -ENODATA,
		  "no status below the root");
	CHECK_INT(xs_lookup_getxattr(&lk, 1, "user.xsysroot.package", &b), -ENODATA,
		  "the root has no package");
	CHECK_INT(xs_lookup_getxattr(&lk, ready.ino, "user.other", &b), -ENODATA, "another name");
	CHECK_INT(xs_lookup_getxattr(&lk, ready.ino, "user.xsysroot.", &b), -ENODATA, "no key");
	b.len = 0;
	CHECK_INT(xs_lookup_listxattr(&lk, ready.ino, &b), 0, "list of a ready file");
	const char want[] = "user.xsysroot.package\0user.xsysroot.version\0user.xsysroot.sha256";
	CHECK(b.len == sizeof want && !memcmp(b.data, want, sizeof want),
	      "package, version, sha256");
	b.len = 0;
	CHECK_INT(xs_lookup_listxattr(&lk, 1, &b), 0, "list of the root");
	CHECK(b.len == sizeof "user.xsysroot.status" && !strcmp(b.data, "user.xsysroot.status"),
	      "status only");
	/* a file the view generates (sysroot.h): package "generated", no version */
	char sha[65];
	struct xs_vattr gen;
	tl_store_put(store, "127.0.0.1 localhost\n", 20, sha);
	xs_view_add_file(f.view, "etc/hosts", sha, 20, 0644);
	b.len = 0;
	CHECK(xs_lookup_path(&lk, "etc/hosts", &gen) == 0 &&
		      xs_lookup_getxattr(&lk, gen.ino, "user.xsysroot.package", &b) == 0 &&
		      b.len == 9 && !memcmp(b.data, "generated", 9),
	      "a generated file: package 'generated'");
	b.len = 0;
	CHECK_INT(xs_lookup_getxattr(&lk, gen.ino, "user.xsysroot.version", &b), -ENODATA,
		  "and no version");
	CHECK_INT(xs_lookup_getxattr(&lk, gen.ino, "user.xsysroot.sha256", &b), 0, "its digest");
	CHECK(b.len == 64 && !memcmp(b.data, sha, 64), "the SHA-256 of its bytes");
	xs_buf_free(&b);
	fake_free(&f);
}

static void test_content(void)
{
	struct fake f;
	struct xs_lookup lk;
	fake_init(&f, &lk, XS_LOOKUP_FETCH);
	struct xs_vattr a;
	CHECK_INT(xs_lookup_path(&lk, "usr/lib/libfoo.so.1", &a), 0, "a ready file");
	int fd = xs_lookup_fd(&lk, a.ino);
	char buf[8] = "";
	CHECK(fd >= 0 && pread(fd, buf, sizeof buf, 0) == 3 && !memcmp(buf, "foo", 3),
	      "its content");
	CHECK_INT(xs_lookup_fd(&lk, 1), -EISDIR, "a directory: EISDIR");
	CHECK_INT(f.nerrors, 0, "not an error");

	/* a generated file whose object is missing, one whose object is damaged */
	char sha[65], path[XS_MAX_PATH];
	xs_sha256_buf("gone", 4, sha);
	CHECK_INT(xs_view_add_file(f.view, "etc/gone.conf", sha, 4, 0644), 0, "a file");
	CHECK_INT(xs_lookup_path(&lk, "etc/gone.conf", &a), 0, "looked up");
	CHECK_INT(xs_lookup_fd(&lk, a.ino), -EIO, "its content is missing: EIO");
	CHECK(f.nerrors == 1 && strstr(f.last_error, "/etc/gone.conf"),
	      "recorded with its path: %s", f.last_error);
	xs_sha256_buf("good", 4, sha);
	xs_store_object_path(store, sha, path, sizeof path);
	*strrchr(path, '/') = 0;
	xs_mkdir_p(path, 0755);
	xs_store_object_path(store, sha, path, sizeof path);
	CHECK_INT(xs_write_file_atomic(path, "bad!", 4, 0444), 0, "a damaged object");
	CHECK_INT(xs_view_add_pending(f.view, "usr/lib/libdamaged.so", 3), 0, "of package 3");
	struct xs_manifest *m = &f.pkgs[3];
	ship(&f, 3, "usr/lib/libdamaged.so", "x");
	memcpy(m->e[0].sha256, sha, sizeof sha);
	m->e[0].size = 4;
	CHECK_INT(xs_lookup_path(&lk, "usr/lib/libdamaged.so", &a), 0, "fetched");
	CHECK_INT(xs_lookup_fd(&lk, a.ino), -EIO, "damaged content: EIO");
	CHECK(f.nerrors == 2 && strstr(f.last_error, "/usr/lib/libdamaged.so' (tzdata 1.0-1)") &&
	      strstr(f.last_error, "damaged"), "recorded with its path and package: %s",
	      f.last_error);
	CHECK(f.last_level == XS_LOG_ERR && strstr(f.last_log, "quarantine"), "and logged: %s",
	      f.last_log);
	CHECK(access(path, F_OK) < 0, "the damaged object left objects/");
	fake_free(&f);
}

int main(void)
{
	int r = tl_store_open("cache", &store);
	CHECK_INT(r, 0, "store opened");
	if (r == 0) {
		test_pending_fetched_once();
		test_exact();
		test_fetch_fails();
		test_settle();
		test_peek();
		test_refresh();
		test_path();
		test_xattr();
		test_content();
		xs_store_close(store);
	}
	return tap_done();
}
