/* test-cachemgr.c - listing, verifying and trimming a cache: packages made
 * of real store objects and manifests, last use from the pkg- documents,
 * leases of live processes, the shared lock. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/cachemgr.h"
#include "xsysroot/deb.h"
#include "xsysroot/pkgidx.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *root;

/* A package "name" whose files hold the given texts (NULL-terminated); its
 * .deb digest is made from the name.  Last use: when (seconds). */
static void add_pkg(struct xs_store *s, const char *name, const char *const *texts, time_t when,
		    char deb[65])
{
	xs_sha256_buf(name, strlen(name), deb);
	struct xs_manifest m = { 0 };
	size_t n = 0;
	while (texts[n])
		n++;
	m.e = xs_xcalloc(n, sizeof *m.e);
	for (size_t i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof path, "usr/share/%s/f%zu", name, i);
		m.e[i].path = xs_strdup(path);
		m.e[i].type = XS_E_REG;
		m.e[i].mode = 0100644;
		m.e[i].size = strlen(texts[i]);
		tl_store_put(s, texts[i], strlen(texts[i]), m.e[i].sha256);
	}
	m.n = m.cap = n;
	char *data;
	size_t len;
	xs_manifest_serialize(&m, &data, &len);
	char mname[96];
	snprintf(mname, sizeof mname, "manifest-%s", deb);
	xs_store_meta_write(s, mname, data, len);
	free(data);
	xs_manifest_free(&m);
	xs_cache_note_use(s, deb, name, "1.0-1", "arm64");
	char path[256];
	snprintf(path, sizeof path, "%s/meta/pkg-%s", root, deb);
	struct timespec ts[2] = { { when, 0 }, { when, 0 } };
	utimensat(AT_FDCWD, path, ts, 0);
}

static bool obj_exists(const char *sha)
{
	char path[256];
	snprintf(path, sizeof path, "%s/objects/sha256/%.2s/%s", root, sha, sha + 2);
	return access(path, F_OK) == 0;
}

static struct xs_cache_pkg *find(struct xs_cache_info *ci, const char *name)
{
	for (size_t i = 0; i < ci->npkgs; i++)
		if (!strcmp(ci->pkgs[i].name, name))
			return &ci->pkgs[i];
	return NULL;
}

static bool named(char **v, const char *prefix)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strncmp(v[i], prefix, strlen(prefix)))
			return true;
	return false;
}

/* Set the last use (mtime) of CACHE/sub/name. */
static void age(const char *sub, const char *name, time_t when)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s/%s", root, sub, name);
	struct timespec ts[2] = { { when, 0 }, { when, 0 } };
	utimensat(AT_FDCWD, path, ts, 0);
}

static bool meta_exists(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/meta/%s", root, name);
	return access(path, F_OK) == 0;
}

/* gc of indexes: a cached InRelease lists three Packages objects, one
 * used lately, one not for 30 days, one as old but leased by a live
 * process; Contents indexes and views age the same way; --dry-run names
 * the same and removes nothing. */
static void test_index_gc(struct xs_store *s)
{
	char a[65], b[65], c[65];
	tl_store_put(s, "Package: old\n", 13, a);
	tl_store_put(s, "Package: new\n", 13, b);
	tl_store_put(s, "Package: leased\n", 16, c);
	char rel[2048];
	snprintf(rel, sizeof rel,
		 "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
		 "Origin: Test\nSuite: stable\nCodename: t\nArchitectures: arm64 riscv64\n"
		 "Components: main\nSHA256:\n %s 13 main/binary-riscv64/Packages.xz\n"
		 " %s 13 main/binary-arm64/Packages.xz\n %s 16 main/binary-arm64/Packages.gz\n"
		 "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n", a, b, c);
	CHECK_INT(xs_store_meta_write(s, "inrelease-00112233445566aa", rel, strlen(rel)), 0,
		  "an InRelease cached");
	time_t now = time(NULL), old = now - 30 * 86400;
	char name[128];
	snprintf(name, sizeof name, "%.2s/%s", a, a + 2);
	age("objects/sha256", name, old);
	snprintf(name, sizeof name, "%.2s/%s", c, c + 2);
	age("objects/sha256", name, old);
	char cidx_old[128], cidx_new[128];
	snprintf(cidx_old, sizeof cidx_old, "contents-%s.idx", a);
	snprintf(cidx_new, sizeof cidx_new, "contents-%s.idx", b);
	xs_store_meta_write(s, cidx_old, "x", 1);
	xs_store_meta_write(s, cidx_new, "x", 1);
	age("meta", cidx_old, old);
	const char *view_old = "view-0123456789abcdef0123456789abcdef";
	const char *view_new = "view-fedcba9876543210fedcba9876543210";
	xs_store_meta_write(s, view_old, "v", 1);
	xs_store_meta_write(s, view_new, "v", 1);
	age("meta", view_old, old);
	struct xs_lease *l;
	CHECK_INT(xs_lease_open(root, &l), 0, "a live process's lease");
	xs_lease_add(l, "obj", c);

	struct xs_cache_gc g;
	struct xs_cache_gc_opts o = { .max_size = UINT64_MAX, .wait = true, .dry_run = true };
	CHECK_INT(xs_cache_gc_run(root, &o, &g), 0, "gc --dry-run");
	CHECK_INT(g.indexes_removed, 1, "dry run: one index would go");
	CHECK(named(g.index_names, "Test stable (t) main/binary-riscv64/Packages.xz"),
	      "dry run: named by source and path");
	CHECK(g.contents_removed == 0 && g.views_removed == 1, "dry run: one view would go, no "
	      "Contents index while a process is live");
	CHECK(obj_exists(a) && meta_exists(cidx_old) && meta_exists(view_old),
	      "dry run: nothing removed");
	CHECK(g.size_after < g.size_before, "dry run: the size it would leave");
	xs_cache_gc_free(&g);

	o.dry_run = false;
	CHECK_INT(xs_cache_gc_run(root, &o, &g), 0, "gc");
	CHECK_INT(g.indexes_removed, 1, "one index removed");
	CHECK(!obj_exists(a), "the index unused for 30 days is gone");
	CHECK(obj_exists(b), "the index used lately stays");
	CHECK(obj_exists(c), "the old index a live process leased stays");
	CHECK(meta_exists(cidx_old) && meta_exists(cidx_new), "Contents indexes stay while a "
	      "process is live (it may map them)");
	CHECK(!meta_exists(view_old) && meta_exists(view_new), "only the old view goes");
	CHECK(meta_exists("inrelease-00112233445566aa"), "the InRelease stays");
	xs_cache_gc_free(&g);

	/* xs_cache_gc (what a quota runs) keeps every index */
	snprintf(name, sizeof name, "%.2s/%s", b, b + 2);
	age("objects/sha256", name, old);
	CHECK_INT(xs_cache_gc(root, UINT64_MAX, true, &g), 0, "gc keeping indexes");
	CHECK(obj_exists(b) && g.indexes_removed == 0, "xs_cache_gc leaves indexes alone");
	xs_cache_gc_free(&g);
	xs_lease_close(l);
	CHECK_INT(xs_cache_gc_run(root, &o, &g), 0, "gc with no live process");
	CHECK(!meta_exists(cidx_old) && meta_exists(cidx_new), "the old Contents index goes");
	CHECK(!obj_exists(c) && !obj_exists(b), "and the old indexes no lease keeps");
	xs_cache_gc_free(&g);
}

/* cache verify and the compact Packages indexes (pkgidx.h): a whole one
 * counted, one named by another index than it was made from and one with a
 * flipped bit each named and moved to quarantine/. */
static void test_verify_compact(void)
{
	static const char text[] = "Package: hello\nVersion: 1.0-1\nArchitecture: arm64\n"
				   "Filename: pool/main/h/hello/hello_1.0-1_arm64.deb\nSize: 10\n"
				   "SHA256: 0000000000000000000000000000000000000000000000000000000000000000\n";
	struct xs_pkgtab t;
	char err[256], good[512], stale[512], a[65], b[65];
	xs_pkgtab_init(&t);
	CHECK_INT(xs_packages_parse(&t, text, sizeof text - 1, 0, err, sizeof err), 0,
		  "a one-package index parsed");
	memset(a, 'a', 64), memset(b, 'b', 64);
	a[64] = b[64] = 0;
	struct xs_pkgidx_id id = { .index_size = sizeof text - 1 };
	memcpy(id.index_sha256, a, 65);
	snprintf(good, sizeof good, "%s/meta/packages-%s.idx", root, a);
	snprintf(stale, sizeof stale, "%s/meta/packages-%s.idx", root, b);
	int fd = open(good, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && xs_pkgidx_write_fd(t.pkgs, t.n, &id, fd) == 0, "a compact index written");
	close(fd);
	xs_pkgtab_free(&t);
	struct xs_cache_verify v;
	CHECK_INT(xs_cache_verify(root, NULL, NULL, &v), 0, "verify");
	CHECK(v.indexes == 1 && v.bad_indexes == 0, "the whole compact index counted, not bad");
	xs_cache_verify_free(&v);

	CHECK_INT(link(good, stale), 0, "the same file under another index's name");
	CHECK_INT(xs_cache_verify(root, NULL, NULL, &v), 0, "verify");
	CHECK(v.indexes == 2 && v.bad_indexes == 1 && named(v.bad_index_names, stale + strlen(root) + 6),
	      "the one named by another index is bad and named (%s)",
	      v.bad_index_names ? v.bad_index_names[0] : "none");
	CHECK(access(stale, F_OK) < 0 && access(good, F_OK) == 0, "only it leaves meta/");
	xs_cache_verify_free(&v);

	fd = open(good, O_RDWR);
	unsigned char c = 0;
	CHECK(fd >= 0 && pread(fd, &c, 1, 140) == 1, "a byte of the frame read");
	c ^= 0x04;
	CHECK(pwrite(fd, &c, 1, 140) == 1, "a bit flipped");
	close(fd);
	CHECK_INT(xs_cache_verify(root, NULL, NULL, &v), 0, "verify");
	CHECK(v.indexes == 1 && v.bad_indexes == 1 && named(v.bad_index_names, good + strlen(root) + 6),
	      "the damaged one is bad and named");
	char q[600], want[128];
	snprintf(q, sizeof q, "%s/quarantine", root);
	snprintf(want, sizeof want, "-packages-%s.idx", a);
	DIR *d = opendir(q);
	struct dirent *de;
	bool moved = false;
	while (d && (de = readdir(d)))
		moved = moved || (strlen(de->d_name) > strlen(want) &&
				  !strcmp(de->d_name + strlen(de->d_name) - strlen(want), want));
	if (d)
		closedir(d);
	CHECK(access(good, F_OK) < 0 && moved, "it is moved to quarantine/");
	xs_cache_verify_free(&v);
}

int main(void)
{
	root = tl_root();
	struct xs_store *s;
	CHECK_INT(tl_store_open(NULL, &s), 0, "store opened");
	/* big payloads so that disk usage differs clearly between packages */
	char *big = xs_xmalloc(64 * 1024 + 1);
	memset(big, 'a', 64 * 1024);
	big[64 * 1024] = 0;
	char *big2 = xs_strdup(big);
	big2[0] = 'b';
	char *big3 = xs_strdup(big);
	big3[0] = 'c';
	const char *old_files[] = { big, "shared\n", NULL };
	const char *mid_files[] = { big2, "shared\n", NULL };
	const char *new_files[] = { big3, "new only\n", NULL };
	char d_old[65], d_mid[65], d_new[65], stray[65], shared[65];
	add_pkg(s, "oldpkg", old_files, 1000000000, d_old);
	add_pkg(s, "midpkg", mid_files, 1100000000, d_mid);
	add_pkg(s, "newpkg", new_files, 1200000000, d_new);
	tl_store_put(s, "nobody names me\n", strlen("nobody names me\n"), stray);
	xs_sha256_buf("shared\n", 7, shared);

	struct xs_cache_info ci;
	CHECK_INT(xs_cache_list(root, &ci), 0, "list");
	CHECK_INT(ci.npkgs, 3, "three packages listed");
	struct xs_cache_pkg *p = find(&ci, "oldpkg");
	CHECK(p && !strcmp(p->version, "1.0-1") && !strcmp(p->arch, "arm64"), "name, version, arch");
	CHECK(p && p->last_use == 1000000000, "last use from the pkg- document");
	CHECK(p && p->files == 2 && p->missing == 0 && p->bytes >= 64 * 1024, "files and size");
	CHECK(ci.npkgs == 3 && !strcmp(ci.pkgs[0].name, "midpkg"), "sorted by name");
	CHECK_INT(ci.unreferenced, 1, "the stray object is unreferenced");
	CHECK_INT(ci.objects, 6, "objects on disk (shared counted once)");
	CHECK(ci.total_bytes >= ci.object_bytes && ci.object_bytes > 3 * 64 * 1024, "sizes");
	xs_cache_info_free(&ci);

	/* note_use on an existing document moves its mtime, nothing else */
	CHECK_INT(xs_cache_note_use(s, d_mid, "midpkg", "1.0-1", "arm64"), 0, "note use");
	CHECK_INT(xs_cache_list(root, &ci), 0, "list again");
	p = find(&ci, "midpkg");
	CHECK(p && p->last_use > 1500000000, "last use updated");
	xs_cache_info_free(&ci);
	char path[256];
	snprintf(path, sizeof path, "%s/meta/pkg-%s", root, d_mid);
	struct timespec ts[2] = { { 1100000000, 0 }, { 1100000000, 0 } };
	utimensat(AT_FDCWD, path, ts, 0);

	/* verify: flip a byte of oldpkg's big object */
	char big_sha[65];
	xs_sha256_buf(big, strlen(big), big_sha);
	char opath[256];
	snprintf(opath, sizeof opath, "%s/objects/sha256/%.2s/%s", root, big_sha, big_sha + 2);
	chmod(opath, 0644);
	int fd = open(opath, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, "z", 1, 100) == 1, "object damaged");
	close(fd);
	struct xs_cache_verify v;
	CHECK_INT(xs_cache_verify(root, NULL, NULL, &v), 0, "verify");
	CHECK_INT(v.objects, 6, "every object checked");
	CHECK_INT(v.bad, 1, "one bad object");
	CHECK(v.bad_names && v.bad_names[0] && !strcmp(v.bad_names[0], big_sha), "named by digest");
	CHECK(!obj_exists(big_sha), "moved out of objects/");
	CHECK_INT(v.broken, 1, "one manifest names a missing object");
	CHECK(named(v.broken_names, "oldpkg 1.0-1 arm64"), "the package is named");
	xs_cache_verify_free(&v);
	CHECK_INT(xs_cache_verify(root, NULL, NULL, &v), 0, "verify again");
	CHECK(v.bad == 0 && v.broken == 1, "no bad object left; the manifest stays broken");
	xs_cache_verify_free(&v);

	/* a meta/ temp file a killed writer left, an hour old, and a fresh one */
	char tpath[256];
	snprintf(tpath, sizeof tpath, "%s/meta/.manifest-x.123456", root);
	close(open(tpath, O_WRONLY | O_CREAT, 0644));
	struct timespec old_ts[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
	utimensat(AT_FDCWD, tpath, old_ts, 0);
	char fresh[256];
	snprintf(fresh, sizeof fresh, "%s/meta/contents-x.idx.tmp.abcdef", root);
	close(open(fresh, O_WRONLY | O_CREAT, 0644));

	/* gc without a bound: the stray object and quarantine go */
	struct xs_cache_gc g;
	CHECK_INT(xs_cache_gc(root, UINT64_MAX, true, &g), 0, "gc");
	CHECK_INT(g.objects_removed, 1, "one unreferenced object removed");
	CHECK(!obj_exists(stray), "the stray object is gone");
	CHECK(g.quarantine_removed >= 1, "quarantine emptied");
	CHECK_INT(g.evicted, 0, "nothing evicted without a bound");
	CHECK(access(tpath, F_OK) < 0 && access(fresh, F_OK) == 0,
	      "an old meta/ temp file removed, a fresh one kept");
	CHECK_INT(g.tmp_removed, 1, "counted as a temporary file");
	unlink(fresh);
	xs_cache_gc_free(&g);

	/* a live lease protects midpkg; a bound evicts the oldest first */
	struct xs_lease *l;
	CHECK_INT(xs_lease_open(root, &l), 0, "lease opened");
	CHECK_INT(xs_lease_add(l, "pkg", d_mid), 0, "lease lists midpkg");
	CHECK_INT(xs_lease_add(l, "obj", "nothex"), -EINVAL, "a bad digest is refused");
	/* the exclusive lock waits for the shared one */
	int hold = xs_cache_hold(root);
	CHECK(hold >= 0, "shared lock taken");
	pid_t pid = fork();
	if (pid == 0) {
		struct xs_cache_gc g2;
		_exit(xs_cache_gc(root, UINT64_MAX, false, &g2) == -EWOULDBLOCK ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "gc without waiting: -EWOULDBLOCK under a hold");
	close(hold);
	CHECK_INT(xs_cache_gc(root, 1, true, &g), 0, "gc to 1 byte");
	CHECK(named(g.evicted_names, "oldpkg") && named(g.evicted_names, "newpkg"),
	      "unleased packages evicted");
	CHECK(!named(g.evicted_names, "midpkg"), "the leased package stays");
	CHECK_INT(g.kept_leased, 1, "reported as kept");
	CHECK(obj_exists(shared), "an object the leased package names stays");
	char big2_sha[65];
	xs_sha256_buf(big2, strlen(big2), big2_sha);
	CHECK(obj_exists(big2_sha), "the leased package's objects stay");
	xs_cache_gc_free(&g);

	/* LRU order: a fresh cache with a bound between the sizes */
	xs_lease_close(l);
	CHECK_INT(xs_cache_list(root, &ci), 0, "list after eviction");
	CHECK_INT(ci.npkgs, 1, "one package left");
	CHECK_INT(ci.leases, 0, "the closed lease is gone");
	xs_cache_info_free(&ci);
	add_pkg(s, "oldpkg", old_files, 1000000000, d_old);
	add_pkg(s, "newpkg", new_files, 1200000000, d_new);
	CHECK_INT(xs_cache_list(root, &ci), 0, "list");
	uint64_t total = ci.total_bytes;
	xs_cache_info_free(&ci);
	CHECK_INT(xs_cache_gc(root, total - 1024, true, &g), 0, "gc just under the size");
	CHECK_INT(g.evicted, 1, "one package evicted");
	CHECK(named(g.evicted_names, "oldpkg"), "the least recently used one");
	CHECK(g.size_after <= total - 1024, "under the bound");
	xs_cache_gc_free(&g);

	/* a lease whose process is gone is removed */
	pid = fork();
	if (pid == 0) {
		struct xs_lease *l2;
		xs_lease_open(root, &l2);
		xs_lease_add(l2, "pkg", d_new);
		_exit(0); /* without closing: a crash */
	}
	waitpid(pid, &st, 0);
	CHECK_INT(xs_cache_gc(root, 1, true, &g), 0, "gc after a crashed process");
	CHECK_INT(g.leases_removed, 1, "its lease removed");
	CHECK(named(g.evicted_names, "newpkg"), "its package no longer protected");
	xs_cache_gc_free(&g);

	test_index_gc(s);
	test_verify_compact();
	xs_store_close(s);
	free(big), free(big2), free(big3);
	return tap_done();
}
