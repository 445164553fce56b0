/* test-grow.c - growing a view: the scope rule, the candidate table lookup
 * (a table written by the viewcache writer), and provide over a real
 * Contents index with its reverse index, a real store and view; the
 * repo's part (the package table, adding) is a fake callback. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/contents.h"
#include "xsysroot/grow.h"
#include "xsysroot/packages.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"
#include "xsysroot/view.h"
#include "xsysroot/viewcache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHA_A "8e6b4ad0bd8b5f5a4c5a0a3a2b1f4fd9e2a6a0c3cd0b4c3c8f8e1e9d7b6a5f40"

static const char *root;
static char table[TL_ROOT_MAX + 8], damaged[TL_ROOT_MAX + 16];

static void test_scope(void)
{
	static const struct {
		const char *path;
		bool in;
	} cases[] = {
		{ "etc/zfoo.conf", true },
		{ "usr/lib/aarch64-linux-gnu/libz.so.1", true },
		{ "usr/libexec/helper", true },
		{ "usr/lib/python3/dist-packages/x.py", false },
		{ "usr/lib/debug/.build-id/ab/cd.debug", false },
		{ "usr/lib/gcc-cross/x", false },
		{ "usr/lib/modules/6.1/x.ko", false },
		{ "usr/bin/hello", false },
		{ "usr/share/doc/x", false },
		{ "etc", false },
		{ "usr/lib", false },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(cases); i++)
		CHECK(xs_grow_scope(cases[i].path) == cases[i].in, "%s: %s", cases[i].path,
		      cases[i].in ? "in scope" : "out of scope");
	char key[256];
	CHECK_INT(xs_grow_rev_key("usr/bin/hello", key, sizeof key, NULL), 0,
		  "a path out of scope is not indexed");
	CHECK(xs_grow_rev_key("etc/zfoo.conf", key, sizeof key, NULL) == 1 &&
		      !strcmp(key, "etc/zfoo.conf"),
	      "a path in scope is its own key");
}

/* ---- the fake repo -------------------------------------------------------- */

struct fake {
	struct xs_contents *c;
	const char *table;
	const char *in_view[4];
	char added[4][64];
	size_t nadded;
	bool full;
	char log[2048];
};

static int f_table(void *ud, char *out, size_t outsz)
{
	struct fake *f = ud;
	snprintf(out, outsz, "%s", f->table);
	return 0;
}

static struct xs_contents *f_contents(void *ud, size_t i)
{
	struct fake *f = ud;
	return i == 0 ? f->c : NULL;
}

static bool f_in_view(void *ud, const char *name)
{
	struct fake *f = ud;
	for (size_t i = 0; i < 4 && f->in_view[i]; i++)
		if (!strcmp(f->in_view[i], name))
			return true;
	for (size_t i = 0; i < f->nadded; i++) /* "name version origin size" */
		if (!strncmp(f->added[i], name, strlen(name)) && f->added[i][strlen(name)] == ' ')
			return true;
	return false;
}

static int f_add(void *ud, const struct xs_viewcache_cand *c, const char *vpath)
{
	struct fake *f = ud;
	(void)vpath;
	if (f->full || f->nadded == 4)
		return -ENOSPC;
	snprintf(f->added[f->nadded++], sizeof f->added[0], "%s %s %d %llu", c->name, c->version,
		 c->origin, (unsigned long long)c->size);
	return 1;
}

static void f_log(int level, const char *msg, void *ud)
{
	struct fake *f = ud;
	(void)level;
	size_t n = strlen(f->log);
	snprintf(f->log + n, sizeof f->log - n, "%s\n", msg);
}

static struct xs_grow *grow_of(struct fake *f)
{
	const struct xs_grow_config cfg = {
		.arch = "arm64",
		.max_added = 4,
		.log = f_log,
		.log_ud = f,
		.ops = { f_table, f_contents, f_in_view, f_add },
		.ud = f,
	};
	return xs_grow_new(&cfg);
}

static const char contents_text[] =
	"etc/zfoo.conf                              admin/zfoo\n"
	"usr/lib/aarch64-linux-gnu/libz.so.1        libs/zlib1g\n"
	"usr/lib/aarch64-linux-gnu/libz.so.1.2.13   libs/zlib1g\n"
	"usr/bin/hello                              devel/hello\n"
	"usr/lib/gconv/gconv-modules                libs/libc6\n"
	"usr/lib/absent/x.so                        libs/notintable\n";

static const char packages_text[] =
	"Package: zlib1g\nVersion: 1:1.2.13\nArchitecture: arm64\n"
	"Filename: pool/z/zlib1g_1.2.13_arm64.deb\nSize: 80\nSHA256: " SHA_A "\n\n"
	"Package: zfoo\nVersion: 2\nArchitecture: all\n"
	"Filename: pool/z/zfoo_2_all.deb\nSize: 7\nSHA256: " SHA_A "\n\n"
	"Package: libc6\nVersion: 2.36-9\nArchitecture: arm64\n"
	"Filename: pool/g/libc6_2.36-9_arm64.deb\nSize: 9\nSHA256: " SHA_A "\n";

static int write_file(const char *path, const void *p, size_t n)
{
	return xs_write_file_atomic(path, p, n, 0644);
}

static struct xs_contents *open_contents(void)
{
	char idx[128], rev[128];
	snprintf(idx, sizeof idx, "%s/contents.idx", root);
	snprintf(rev, sizeof rev, "%s/contents.rev", root);
	int fd = tl_memfd(contents_text, strlen(contents_text));
	struct xs_contents_stats st;
	struct xs_contents *c = NULL;
	if (lseek(fd, 0, SEEK_SET) < 0 || xs_contents_build(fd, 1 << 20, idx, &st) < 0 ||
	    xs_contents_open(idx, &c) < 0)
		c = NULL;
	close(fd);
	if (!c)
		return NULL;
	struct xs_contents_rev_stats rs;
	bool built;
	CHECK_INT(xs_grow_open_rev(c, rev, &built, &rs), 0, "reverse index opened");
	return c;
}

static void test_cands_lookup(struct fake *f)
{
	struct xs_grow *g = grow_of(f);
	struct xs_viewcache_line l;
	CHECK_INT(xs_grow_cands_find(g, "zlib1g", &l), 0, "zlib1g in the table");
	CHECK(l.len[1] == 8 && !memcmp(l.f[1], "1:1.2.13", 8), "with its version");
	CHECK_INT(xs_grow_cands_find(g, "zfoo", &l), 0, "an arch-all package in the table");
	CHECK_INT(xs_grow_cands_find(g, "hello", &l), -ENOENT, "a name the indexes lack");
	char name[64], version[64];
	CHECK_INT(xs_grow_find_provider(g, "usr/lib/aarch64-linux-gnu/libz.so.1", name,
					sizeof name, version, sizeof version),
		  1, "the provider of libz.so.1");
	CHECK(!strcmp(name, "zlib1g") && !strcmp(version, "1:1.2.13"), "zlib1g 1:1.2.13");
	CHECK_INT(xs_grow_find_provider(g, "usr/lib/absent/x.so", name, sizeof name, version,
					sizeof version),
		  1, "a provider the table lacks");
	CHECK(!strcmp(name, "notintable") && !*version, "named, without a version");
	CHECK_INT(xs_grow_find_provider(g, "usr/bin/hello", name, sizeof name, version,
					sizeof version),
		  0, "out of scope: none");
	CHECK_INT(xs_grow_find_provider(g, "usr/lib/gconv/gconv-modules", name, sizeof name,
					version, sizeof version),
		  0, "a package of the view is not offered again");
	CHECK_INT(xs_grow_find_provider(g, "/etc/zfoo.conf", name, sizeof name, version,
					sizeof version),
		  -EINVAL, "an absolute path is refused");
	xs_grow_free(g);
}

static uint64_t ino_of(struct xs_view *v, const char *path)
{
	struct xs_vattr va;
	return xs_view_resolve(v, path, &va) == 0 ? va.ino : 0;
}

static void test_provide(struct fake *f, struct xs_store *store)
{
	struct xs_grow *g = grow_of(f);
	struct xs_view *v = xs_view_new(store, 0);
	xs_view_add_dir(v, "usr/lib/aarch64-linux-gnu");
	xs_view_add_dir(v, "etc");
	uint64_t libdir = ino_of(v, "usr/lib/aarch64-linux-gnu"), usrlib = ino_of(v, "usr/lib");
	CHECK_INT(xs_grow_provide(g, v, libdir, "libz.so.1"), 1, "libz.so.1 brings its package");
	CHECK_STR(f->added[0], "zlib1g 1:1.2.13 0 80", "zlib1g added, from the table");
	CHECK_INT(xs_grow_provide(g, v, libdir, "libz.so.1.2.13"), 0,
		  "a path of a package of the view is not asked again");
	CHECK_INT(f->nadded, 1, "not added twice");
	CHECK_INT(xs_grow_provide(g, v, libdir, "libnothing.so.1"), 0, "no provider");
	CHECK_INT(xs_grow_provide(g, v, libdir, "a/b"), 0, "a name with '/'");
	CHECK_INT(xs_grow_provide(g, v, usrlib, "absent"), 1, "a directory of the archive");
	struct xs_vattr va;
	CHECK(xs_view_resolve(v, "usr/lib/absent", &va) == 0 && S_ISDIR(va.mode),
	      "shown as a directory");
	CHECK_INT(xs_grow_provide(g, v, va.ino, "x.so"), 0, "a provider the table lacks");
	CHECK(strstr(f->log, "/usr/lib/absent/x.so is provided by notintable, but the package "
			     "table of this cache does not list it: not added") != NULL,
	      "said so");
	f->full = true;
	CHECK_INT(xs_grow_provide(g, v, ino_of(v, "etc"), "zfoo.conf"), 0, "no room: not added");
	CHECK_INT(xs_grow_provide(g, v, ino_of(v, "etc"), "zfoo.conf"), 0, "still no room");
	const char *full = "but the view has added 4 packages already: not added";
	const char *first = strstr(f->log, full);
	CHECK(first && !strstr(first + 1, full), "the full view is said once");
	f->full = false;
	xs_view_free(v);
	xs_grow_free(g);

	f->table = damaged;
	f->log[0] = 0;
	g = grow_of(f);
	v = xs_view_new(store, 0);
	xs_view_add_dir(v, "etc");
	CHECK_INT(xs_grow_provide(g, v, ino_of(v, "etc"), "zfoo.conf"), 0, "a damaged table");
	CHECK(strstr(f->log, "the package table of this cache is damaged") != NULL, "said so");
	xs_view_free(v);
	xs_grow_free(g);
}

int main(void)
{
	test_scope();
	root = tl_root();
	snprintf(table, sizeof table, "%s/cands", root);
	snprintf(damaged, sizeof damaged, "%s/damaged", root);
	struct xs_pkgtab t;
	xs_pkgtab_init(&t);
	char err[256];
	struct xs_buf b = { 0 };
	CHECK_INT(xs_packages_parse(&t, packages_text, strlen(packages_text), 0, err, sizeof err),
		  0, "Packages");
	CHECK_INT(xs_viewcache_cands_write(&t, "arm64", &b), 0, "candidate table");
	CHECK_INT(write_file(table, b.data, b.len), 0, "written");
	CHECK_INT(write_file(damaged, "zfoo 2 all\n", 11), 0, "a damaged one written");
	xs_buf_free(&b);
	xs_pkgtab_free(&t);
	struct xs_store *store = NULL;
	struct fake *f = xs_xcalloc(1, sizeof *f);
	f->c = open_contents();
	f->table = table;
	f->in_view[0] = "libc6";
	CHECK(f->c != NULL, "Contents index");
	CHECK_INT(xs_store_open(root, &store), 0, "store");
	if (f->c && store) {
		test_cands_lookup(f);
		test_provide(f, store);
	}
	if (f->c)
		xs_contents_close(f->c);
	free(f);
	if (store)
		xs_store_close(store);
	return tap_done();
}
