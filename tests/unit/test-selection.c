/* test-selection.c - the view's package set: resolution over a Packages
 * index written into a real store (the archive's part, making the index
 * present, is a fake callback), the cached round trip, the candidate table,
 * the index kept in its compact form and read back from it,
 * and the hostile-stanza rules (one warning per index; an error naming the
 * package when the view needs it). */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/cachefiles.h"
#include "xsysroot/http.h"
#include "xsysroot/release.h"
#include "xsysroot/selection.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"
#include "xsysroot/viewcache.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHA_A "8e6b4ad0bd8b5f5a4c5a0a3a2b1f4fd9e2a6a0c3cd0b4c3c8f8e1e9d7b6a5f40"
#define STANZA(name, deps, file)                                                         \
	"Package: " name "\nVersion: 1.0\nArchitecture: arm64\n" deps "Filename: " file \
	"\nSize: 10\nSHA256: " SHA_A "\n\n"

static const char packages_text[] =
	STANZA("libc6", "Depends: libgcc-s1\nMulti-Arch: same\n", "pool/l/libc6.deb")
	STANZA("libc-bin", "Depends: libc6\n", "pool/l/libc-bin.deb")
	STANZA("libgcc-s1", "Pre-Depends: libc6\n", "pool/l/libgcc-s1.deb")
	STANZA("libstdc++6", "Depends: libc6, libgcc-s1\n", "pool/l/libstdc++6.deb")
	STANZA("hello", "Depends: libc6 (>= 1.0), libstdc++6\nMulti-Arch: foreign\n",
	       "pool/h/hello.deb")
	STANZA("evil", "", "../../evil.deb")
	STANZA("needs-evil", "Depends: evil\n", "pool/n/needs-evil.deb");

struct ctx {
	int fetches;
	int fail; /* the fake archive's answer */
	char log[2048];
};

static int fake_fetch(void *ud, size_t k, char *err, size_t errsz)
{
	struct ctx *c = ud;
	c->fetches++;
	if (k != 0 || c->fail)
		snprintf(err, errsz, "index %zu: unreachable", k);
	return k != 0 ? -EINVAL : c->fail;
}

static void log_cb(int level, const char *msg, void *ud)
{
	struct ctx *c = ud;
	size_t n = strlen(c->log);
	snprintf(c->log + n, sizeof c->log - n, "%d %s\n", level, msg);
}

static struct xs_store *store;
static struct xs_release_file file = { "main/binary-arm64/Packages", 0, "" };
static const struct xs_selection_index idx = { 0, "test:/archive", "stable", &file };

static int resolve_memo(struct ctx *c, const char *packages, struct xs_selection_memo *memo,
			struct xs_selection *out, char *err, size_t errsz)
{
	const struct xs_selection_config cfg = {
		.store = store,
		.arch = "arm64",
		.nsrcs = 1,
		.idx = &idx,
		.nidx = 1,
		.packages = packages,
		.describe = "the test archive",
		.memo = memo,
		.fetch_index = fake_fetch,
		.ud = c,
		.log = log_cb,
		.log_ud = c,
	};
	err[0] = 0;
	return xs_selection_resolve(&cfg, out, err, errsz);
}

static int resolve(struct ctx *c, const char *packages, struct xs_selection *out, char *err,
		   size_t errsz)
{
	return resolve_memo(c, packages, NULL, out, err, errsz);
}

/* The compact form of the index in the store (pkgidx.h). */
static int compact_path(char *out, size_t outsz)
{
	char name[96];
	int q = xs_cf_build(XS_CF_PACKAGES_IDX, file.sha256, name, sizeof name);
	return q < 0 ? q : xs_store_meta_path(store, name, out, outsz);
}

static const struct xs_selection_pkg *find(const struct xs_selection *s, const char *name,
					   size_t *at)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->pkgs[i].name, name)) {
			*at = i;
			return &s->pkgs[i];
		}
	return NULL;
}

static bool has_dep(const struct xs_selection_pkg *p, size_t dep)
{
	for (size_t i = 0; p && i < p->ndeps; i++)
		if (p->deps[i] == dep)
			return true;
	return false;
}

/* The view of hello: the base and hello, their dependency edges, the
 * file fields, and nothing unusable in it. */
static void check_hello(const struct xs_selection *s, const char *what)
{
	size_t ihello = 0, ilibc = 0, istd = 0;
	const struct xs_selection_pkg *h = find(s, "hello", &ihello);
	const struct xs_selection_pkg *l = find(s, "libc6", &ilibc);
	const struct xs_selection_pkg *x = find(s, "libstdc++6", &istd);
	CHECK_INT(s->n, 5, "%s: the base and hello", what);
	CHECK(h && l && x && !find(s, "evil", &(size_t){ 0 }), "%s: hello, libc6, libstdc++6, "
	      "no evil", what);
	if (!h || !l || !x)
		return;
	CHECK(!strcmp(h->version, "1.0") && !strcmp(h->arch, "arm64") &&
		      !strcmp(h->filename, "pool/h/hello.deb") && !strcmp(h->sha256, SHA_A) &&
		      h->size == 10 && h->src == 0,
	      "%s: hello's fields", what);
	CHECK(h->ndeps == 2 && has_dep(h, ilibc) && has_dep(h, istd), "%s: hello depends on libc6 "
	      "and libstdc++6 (%zu edges)", what, h->ndeps);
	CHECK(!has_dep(l, ilibc), "%s: no package depends on itself", what);
	CHECK(h->multi_arch && !strcmp(h->multi_arch, "foreign") && l->multi_arch &&
		      !strcmp(l->multi_arch, "same") && x->multi_arch && !x->multi_arch[0],
	      "%s: Multi-Arch foreign, same, and \"\" where the stanza gives none", what);
}

static void test_resolve(void)
{
	struct ctx c = { 0 };
	struct xs_selection s;
	char err[1024];
	CHECK_INT(resolve(&c, "hello", &s, err, sizeof err), 0, "resolved: %s", err);
	CHECK_INT(c.fetches, 1, "the index fetched once");
	check_hello(&s, "resolved");
	CHECK(!strncmp(s.cands_name, "cands-", 6), "the candidate table: %s", s.cands_name);
	char path[XS_MAX_PATH];
	CHECK(xs_store_meta_path(store, s.cands_name, path, sizeof path) == 0 &&
		      access(path, F_OK) == 0,
	      "the candidate table written");
	CHECK(strstr(c.log, "test:/archive/dists/stable/main/binary-arm64/Packages: 1 package "
			    "unusable (evil: unsafe Filename") != NULL,
	      "one warning for the index's unusable stanza: %s", c.log);
	char cands[96];
	snprintf(cands, sizeof cands, "%s", s.cands_name);
	xs_selection_free(&s);

	/* the round trip: the cached view, the index not fetched again */
	struct ctx c2 = { .fail = -EIO };
	CHECK_INT(resolve(&c2, "hello", &s, err, sizeof err), 0, "read back: %s", err);
	CHECK_INT(c2.fetches, 0, "the cached view needs no index");
	check_hello(&s, "read back");
	CHECK_STR(s.cands_name, cands, "the same candidate table");
	CHECK_STR(c2.log, "", "reading back warns of nothing");
	xs_selection_free(&s);

	/* the index kept in its compact form instead (pkgidx.h) */
	char cpath[XS_MAX_PATH];
	CHECK(compact_path(cpath, sizeof cpath) == 0 && access(cpath, F_OK) == 0,
	      "the index's compact form kept: %s", cpath);
	CHECK(!xs_store_has_object(store, file.sha256), "and the raw index no longer");

	/* other roots: another view, resolved again from the compact form */
	struct ctx c3 = { 0 };
	CHECK_INT(resolve(&c3, NULL, &s, err, sizeof err), 0, "the base alone: %s", err);
	CHECK_INT(c3.fetches, 0, "another key: the compact form read, the index not fetched");
	CHECK_INT(s.n, 4, "the base alone: 4 packages");
	CHECK_STR(s.cands_name, cands, "the candidate table does not depend on the roots");
	xs_selection_free(&s);
}

static void test_errors(void)
{
	struct ctx c = { 0 };
	struct xs_selection s;
	char err[1024];
	CHECK_INT(resolve(&c, "needs-evil", &s, err, sizeof err), -EBADMSG,
		  "a view that needs an unusable package");
	CHECK(strstr(err, "package evil 1.0 of test:/archive/dists/stable/"
			  "main/binary-arm64/Packages is unusable (unsafe Filename") &&
		      strstr(err, "the view for arm64 needs it"),
	      "the error names the package and its index: %s", err);
	xs_selection_free(&s);

	CHECK_INT(resolve(&c, "no-such-package", &s, err, sizeof err) < 0, 1,
		  "an unknown root fails");
	CHECK(strstr(err, "cannot resolve the view for arm64 from the test archive: ") != NULL,
	      "the error says where: %s", err);
	xs_selection_free(&s);

	char cpath[XS_MAX_PATH];
	CHECK(compact_path(cpath, sizeof cpath) == 0 && unlink(cpath) == 0,
	      "the compact form removed: the index must be fetched");
	struct ctx cf = { .fail = -EIO };
	CHECK_INT(resolve(&cf, "libc6 x-new-root", &s, err, sizeof err), -EIO,
		  "an index that cannot be fetched fails the resolution");
	CHECK(strstr(err, "unreachable") != NULL, "with the archive's message: %s", err);
	CHECK_INT(s.n, 0, "and no packages");
	xs_selection_free(&s);
}

/* ---- parsed while it downloads (the tee) ---------------------------------- */

static const char tee_text[] =
	STANZA("libc6", "", "pool/l/libc6.deb")
	STANZA("libc-bin", "", "pool/l/libc-bin.deb")
	STANZA("libgcc-s1", "", "pool/l/libgcc-s1.deb")
	STANZA("libstdc++6", "", "pool/l/libstdc++6.deb")
	STANZA("tee-only", "Depends: libc6\n", "pool/t/tee-only.deb");
static struct xs_release_file tee_file = { "main/binary-arm64/Packages", 0, "" };
static const struct xs_selection_index tee_idx = { 0, "test:/archive", "stable", &tee_file };

struct tee_ctx {
	int mismatch; /* the archive's verdict: the digest did not match */
	int resets;
};

/* A mirror that first sends garbage, then (after a reset, as on a failover)
 * the index in odd chunks; the store never holds it. */
static int fake_fetch_tee(void *ud, size_t k, const struct xs_http_sink *tee, bool *teed,
			  char *err, size_t errsz)
{
	struct tee_ctx *c = ud;
	(void)k;
	*teed = false;
	int q = tee->reset(tee->ud);
	c->resets++;
	q = q < 0 ? q : tee->write("Package: half\nVersion", 21, tee->ud);
	q = q < 0 ? q : tee->reset(tee->ud);
	c->resets++;
	for (size_t off = 0, n = strlen(tee_text); q == 0 && off < n; off += 7)
		q = tee->write(tee_text + off, n - off < 7 ? n - off : 7, tee->ud);
	if (q == 0 && c->mismatch) {
		snprintf(err, errsz, "'Packages' from test:/archive: SHA256 mismatch");
		return -EBADMSG;
	}
	*teed = q == 0;
	return q;
}

static int no_fetch(void *ud, size_t k, char *err, size_t errsz)
{
	(void)ud, (void)k;
	snprintf(err, errsz, "not the tee");
	return -EINVAL;
}

static int resolve_tee(struct tee_ctx *c, struct xs_selection *out, char *err, size_t errsz)
{
	const struct xs_selection_config cfg = {
		.store = store, .arch = "arm64", .nsrcs = 1, .idx = &tee_idx, .nidx = 1,
		.packages = "tee-only", .describe = "the test archive",
		.fetch_index = no_fetch, .fetch_index_tee = fake_fetch_tee, .ud = c,
	};
	err[0] = 0;
	return xs_selection_resolve(&cfg, out, err, errsz);
}

static void test_tee(void)
{
	tee_file.size = strlen(tee_text);
	xs_sha256_buf(tee_text, strlen(tee_text), tee_file.sha256);
	struct xs_selection s;
	char err[1024];
	int views = tl_count_entries(tl_path("store/meta"));
	struct tee_ctx bad = { 1, 0 };
	CHECK_INT(resolve_tee(&bad, &s, err, sizeof err), -EBADMSG,
		  "an index whose digest did not match is not used");
	CHECK(strstr(err, "SHA256 mismatch") != NULL, "the archive's message: %s", err);
	CHECK_INT(s.n, 0, "no packages");
	CHECK_INT(tl_count_entries(tl_path("store/meta")), views, "nothing written to meta/");
	xs_selection_free(&s);

	struct tee_ctx good = { 0, 0 };
	CHECK_INT(resolve_tee(&good, &s, err, sizeof err), 0, "parsed from the tee: %s", err);
	size_t at;
	CHECK(s.n == 5 && find(&s, "tee-only", &at), "the view from the downloaded bytes, after "
	      "a restart dropped the garbage before it");
	CHECK(!xs_store_has_object(store, tee_file.sha256), "the store never had the index");
	xs_selection_free(&s);
}

/* The one view file in meta/ into path (after clear_views and one
 * resolution): 0, or -ENOENT. */
static int view_file(char *path, size_t pathsz)
{
	DIR *d = opendir(tl_path("store/meta"));
	struct dirent *e;
	int q = -ENOENT;
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "view-", 5) && !strchr(e->d_name, '.')) {
			snprintf(path, pathsz, "%s/%s", tl_path("store/meta"), e->d_name);
			q = 0;
		}
	if (d)
		closedir(d);
	return q;
}

/* Every cached view removed from meta/. */
static void clear_views(void)
{
	char path[XS_MAX_PATH];
	while (view_file(path, sizeof path) == 0)
		unlink(path);
}

/* The memo: the second resolution of a process over the same indexes
 * reads none; a failed read leaves it empty. */
static void test_memo(void)
{
	struct xs_selection_memo *m = xs_selection_memo_new();
	struct ctx c = { 0 };
	struct xs_selection s;
	char err[1024], cpath[XS_MAX_PATH], away[XS_MAX_PATH + 8];
	unsigned reads = 9, reuses = 9;
	CHECK(compact_path(cpath, sizeof cpath) == 0, "the compact form's path");
	snprintf(away, sizeof away, "%s", tl_path("compact-away")); /* under the test's root */

	/* no index to read (test_errors removed it): the memo stays empty */
	clear_views();
	c.fail = -EIO;
	CHECK(resolve_memo(&c, "hello", m, &s, err, sizeof err) < 0, "no index: fails");
	xs_selection_free(&s);
	xs_selection_memo_counts(m, &reads, &reuses);
	CHECK(reads == 0 && reuses == 0, "a failed read is not kept (%u, %u)", reads, reuses);
	c.fail = 0;
	CHECK_INT(tl_store_put(store, packages_text, strlen(packages_text), file.sha256), 0,
		  "the Packages index in the store again");

	CHECK_INT(resolve_memo(&c, "hello", m, &s, err, sizeof err), 0, "first: %s", err);
	check_hello(&s, "first resolution with a memo");
	xs_selection_free(&s);
	xs_selection_memo_counts(m, &reads, &reuses);
	CHECK(reads == 1 && reuses == 0, "the indexes read once (%u, %u)", reads, reuses);

	/* neither index nor compact form left: only the memo can answer */
	clear_views();
	rename(cpath, away);
	c.fail = -EIO;
	c.fetches = 0;
	c.log[0] = 0;
	CHECK_INT(resolve_memo(&c, NULL, m, &s, err, sizeof err), 0, "other roots: %s", err);
	CHECK_INT(s.n, 4, "the base alone, from the memo");
	CHECK_INT(c.fetches, 0, "no index fetched");
	CHECK(!strstr(c.log, "unusable"), "the index's warnings are not said again: %s", c.log);
	xs_selection_free(&s);
	CHECK_INT(resolve_memo(&c, "hello", m, &s, err, sizeof err), 0, "hello again: %s", err);
	check_hello(&s, "resolved over the memo");
	xs_selection_free(&s);
	xs_selection_memo_counts(m, &reads, &reuses);
	CHECK(reads == 1 && reuses == 2, "read once, reused twice (%u, %u)", reads, reuses);
	CHECK_INT(resolve_memo(&c, "hello", m, &s, err, sizeof err), 0, "cached: %s", err);
	xs_selection_free(&s);
	xs_selection_memo_counts(m, &reads, &reuses);
	CHECK(reads == 1 && reuses == 2, "a cached view does not touch the memo");
	rename(away, cpath);
	xs_selection_memo_free(m);
	xs_selection_memo_free(NULL);
}

/* A view file of format 3 (no Multi-Arch) where this one's is looked for
 * (a copied cache): rebuilt from the index, never read as packages that
 * say no Multi-Arch. */
static void test_old_format(void)
{
	struct ctx c = { 0 };
	struct xs_selection s;
	char err[1024], path[XS_MAX_PATH];
	clear_views();
	CHECK_INT(resolve(&c, "hello", &s, err, sizeof err), 0, "resolved: %s", err);
	xs_selection_free(&s);
	CHECK_INT(view_file(path, sizeof path), 0, "its view file");
	static const char *const old[] = {
		"xsysroot-view 3\nhello\t1.0\tarm64\t0\t10\t0\t" SHA_A "\tpool/h/hello.deb\t-\n",
		XS_VIEWCACHE_VERSION "\nhello\t1.0\tarm64\t0\t10\t0\t" SHA_A "\tpool/h/hello.deb\t-\n",
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(old); i++) {
		tl_write_file(path, old[i], strlen(old[i]), 0644);
		c.fetches = 0;
		CHECK_INT(resolve(&c, "hello", &s, err, sizeof err), 0, "old file %zu: %s", i, err);
		check_hello(&s, i ? "format 3 lines under format 4's header" : "format 3");
		xs_selection_free(&s);
		struct xs_buf b;
		int q = xs_read_file(path, 1 << 20, &b);
		q = q < 0 ? q : xs_buf_printf(&b, "%s", ""); /* terminated */
		CHECK(q == 0 && !strncmp(b.data, XS_VIEWCACHE_VERSION "\n",
					 strlen(XS_VIEWCACHE_VERSION) + 1) &&
			      strstr(b.data, "\tforeign\t"),
		      "old file %zu rewritten in this format, with Multi-Arch", i);
		if (q == 0)
			xs_buf_free(&b);
	}
}

int main(void)
{
	tl_root();
	CHECK_INT(tl_store_open("store", &store), 0, "store");
	if (!store)
		return tap_done();
	file.size = strlen(packages_text);
	CHECK_INT(tl_store_put(store, packages_text, strlen(packages_text), file.sha256), 0,
		  "the Packages index in the store");
	test_resolve();
	test_errors();
	test_memo();
	test_old_format();
	test_tee();
	xs_store_close(store);
	return tap_done();
}
