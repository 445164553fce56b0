/* test-provider.c - which package of the archive ships a path: the scope
 * rule, the candidate table lookup (a table written by the viewcache
 * writer), and the query over a real Contents index with its reverse
 * index; the repo's part (the package table) is a fake callback. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/contents.h"
#include "xsysroot/packages.h"
#include "xsysroot/provider.h"
#include "xsysroot/util.h"
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
		CHECK(xs_provider_scope(cases[i].path) == cases[i].in, "%s: %s", cases[i].path,
		      cases[i].in ? "in scope" : "out of scope");
	char key[256];
	CHECK_INT(xs_provider_rev_key("usr/bin/hello", key, sizeof key, NULL), 0,
		  "a path out of scope is not indexed");
	CHECK(xs_provider_rev_key("etc/zfoo.conf", key, sizeof key, NULL) == 1 &&
		      !strcmp(key, "etc/zfoo.conf"),
	      "a path in scope is its own key");
}

/* ---- the fake repo -------------------------------------------------------- */

struct fake {
	struct xs_contents *c;
	const char *table;
	const char *in_view[4];
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
	return false;
}

static struct xs_provider *provider_of(struct fake *f)
{
	static const struct xs_provider_ops ops = { f_table, f_contents, f_in_view };
	return xs_provider_new(&ops, f);
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
	struct xs_contents *c = NULL;
	if (tl_contents_open(contents_text, idx, &c) < 0)
		return NULL;
	struct xs_contents_rev_stats rs;
	bool built;
	CHECK_INT(xs_provider_open_rev(c, rev, &built, &rs), 0, "reverse index opened");
	return c;
}

static void test_cands_lookup(struct fake *f)
{
	struct xs_provider *g = provider_of(f);
	struct xs_viewcache_line l;
	CHECK_INT(xs_provider_cands_find(g, "zlib1g", &l), 0, "zlib1g in the table");
	CHECK(l.len[1] == 8 && !memcmp(l.f[1], "1:1.2.13", 8), "with its version");
	CHECK_INT(xs_provider_cands_find(g, "zfoo", &l), 0, "an arch-all package in the table");
	CHECK_INT(xs_provider_cands_find(g, "hello", &l), -ENOENT, "a name the indexes lack");
	char name[64], version[64];
	CHECK_INT(xs_provider_find(g, "usr/lib/aarch64-linux-gnu/libz.so.1", name,
					sizeof name, version, sizeof version),
		  1, "the provider of libz.so.1");
	CHECK(!strcmp(name, "zlib1g") && !strcmp(version, "1:1.2.13"), "zlib1g 1:1.2.13");
	CHECK_INT(xs_provider_find(g, "usr/lib/absent/x.so", name, sizeof name, version,
					sizeof version),
		  1, "a provider the table lacks");
	CHECK(!strcmp(name, "notintable") && !*version, "named, without a version");
	CHECK_INT(xs_provider_find(g, "usr/bin/hello", name, sizeof name, version,
					sizeof version),
		  0, "out of scope: none");
	CHECK_INT(xs_provider_find(g, "usr/lib/gconv/gconv-modules", name, sizeof name,
					version, sizeof version),
		  0, "a package of the view is not offered again");
	CHECK_INT(xs_provider_find(g, "/etc/zfoo.conf", name, sizeof name, version,
					sizeof version),
		  -EINVAL, "an absolute path is refused");
	xs_provider_free(g);
}

/* A damaged candidate table: the provider is still named, without a
 * version. */
static void test_damaged(struct fake *f)
{
	f->table = damaged;
	struct xs_provider *p = provider_of(f);
	struct xs_viewcache_line l;
	CHECK(xs_provider_cands_find(p, "zfoo", &l) < 0, "a damaged table finds nothing");
	char name[64], version[64];
	CHECK_INT(xs_provider_find(p, "etc/zfoo.conf", name, sizeof name, version,
				   sizeof version),
		  1, "the provider of etc/zfoo.conf");
	CHECK(!strcmp(name, "zfoo") && !*version, "named, without a version");
	xs_provider_free(p);
	f->table = table;
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
	struct fake *f = xs_xcalloc(1, sizeof *f);
	f->c = open_contents();
	f->table = table;
	f->in_view[0] = "libc6";
	CHECK(f->c != NULL, "Contents index");
	if (f->c) {
		test_cands_lookup(f);
		test_damaged(f);
	}
	if (f->c)
		xs_contents_close(f->c);
	free(f);
	return tap_done();
}
