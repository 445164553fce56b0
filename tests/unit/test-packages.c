/* test-packages.c - Packages indexes, dependency fields, the name index */
#include "xsysroot/packages.h"
#include "xsysroot/util.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SHA_A "8e6b4ad0bd8b5f5a4c5a0a3a2b1f4fd9e2a6a0c3cd0b4c3c8f8e1e9d7b6a5f40"
#define SHA_B "1111111111111111111111111111111111111111111111111111111111111111"

static const char index_main[] =
	"Package: hello\n"
	"Version: 2.10-3\n"
	"Installed-Size: 281\n"
	"Maintainer: A Maintainer <maint@example.org>\n"
	"Architecture: arm64\n"
	"Depends: libc6 (>= 2.34)\n"
	"Description: example package based on GNU hello\n"
	"Homepage: https://www.gnu.org/software/hello/\n"
	"Description-md5: b7df6fe7ffb325083a3a60819a7df548\n"
	"Tag: devel::examples, role::program\n"
	"Section: devel\n"
	"Priority: optional\n"
	"Filename: pool/main/h/hello/hello_2.10-3_arm64.deb\n"
	"Size: 52804\n"
	"MD5sum: 0e1e6d5d1d8a6b1dd0d3d4a0a1d3b1cd\n"
	"SHA256: " SHA_A "\n"
	"\n"
	"Package: libc6\n"
	"Source: glibc (2.36-9+deb12u10)\n"
	"Version: 2.36-9+deb12u10\n"
	"Architecture: arm64\n"
	"Multi-Arch: same\n"
	"Depends: libgcc-s1\n"
	"Pre-Depends: \n"
	"Breaks: hurd (<< 1:0.9.git20220301-2), nscd (<< 2.36)\n"
	"Provides: libc6-dev-bin-compat (= 2.36), glibc-abi\n"
	"Section: libs\n"
	"Filename: pool/main/g/glibc/libc6_2.36-9+deb12u10_arm64.deb\n"
	"Size: 2322696\n"
	"SHA256: " SHA_B "\n"
	"\n"
	"Package: python3\n"
	"Version: 3.11.2-1+b1\n"
	"Architecture: arm64\n"
	"Multi-Arch: allowed\n"
	"Essential: no\n"
	"Pre-Depends: python3-minimal (= 3.11.2-1+b1)\n"
	"Depends: python3.11 (>= 3.11.2-1~),\n"
	" libpython3-stdlib (= 3.11.2-1+b1) | foo:any [amd64 !arm64] <!nocheck> <cross stage1>,\n"
	" python3-minimal:any\n"
	"Filename: pool/main/p/python3-defaults/python3_3.11.2-1+b1_arm64.deb\n"
	"Size: 26828\n"
	"SHA256: " SHA_A "\n"
	"\n"
	"Package: base-files\n"
	"Essential: yes\n"
	"Version: 12.4+deb12u8\n"
	"Architecture: arm64\n"
	"Filename: pool/main/b/base-files/base-files_12.4+deb12u8_arm64.deb\n"
	"Size: 70000\n"
	"SHA256: " SHA_A "\n";

static const char index_security[] =
	"Package: libc6\n"
	"Source: glibc\n"
	"Version: 2.36-9+deb12u11\n"
	"Architecture: arm64\n"
	"Filename: pool/updates/main/g/glibc/libc6_2.36-9+deb12u11_arm64.deb\n"
	"Size: 2322700\n"
	"SHA256: " SHA_B "\n";

struct collect {
	size_t idx[16];
	size_t n;
	int stop_after;
};

static int collect_cb(struct xs_pkg *p, size_t idx, void *ud)
{
	struct collect *c = ud;
	(void)p;
	if (c->n < 16)
		c->idx[c->n] = idx;
	c->n++;
	return c->stop_after && (int)c->n >= c->stop_after ? 42 : 0;
}

static void test_parse(void)
{
	struct xs_pkgtab t;
	char err[256] = "";
	xs_pkgtab_init(&t);
	int r = xs_packages_parse(&t, index_main, strlen(index_main), 0, err, sizeof err);
	CHECK_INT(r, 0, "parse the main index: %s", err);
	CHECK_INT(t.n, 4, "four packages");

	const struct xs_pkg *h = &t.pkgs[0];
	CHECK_INT(xs_pkg_deps(&t.pkgs[0]), 0, "%s: the dependencies parse", t.pkgs[0].name);
	CHECK_STR(h->name, "hello", "name");
	CHECK_STR(h->version, "2.10-3", "version");
	CHECK_STR(h->arch, "arm64", "arch");
	CHECK_STR(h->filename, "pool/main/h/hello/hello_2.10-3_arm64.deb", "filename");
	CHECK_STR(h->sha256, SHA_A, "sha256");
	CHECK_STR(h->section, "devel", "section");
	CHECK(h->size == 52804, "size");
	CHECK(h->installed_size == 281, "installed size");
	CHECK(h->multi_arch == NULL && h->source == NULL, "absent optional fields are NULL");
	CHECK(!h->essential, "not essential");
	CHECK_INT(h->origin, 0, "origin");
	CHECK_INT(h->depends.n, 1, "one dependency");
	CHECK_STR(h->depends.alts[0].atoms[0].name, "libc6", "dependency name");
	CHECK_INT(h->depends.alts[0].atoms[0].op, XS_OP_GE, "dependency op");
	CHECK_STR(h->depends.alts[0].atoms[0].version, "2.34", "dependency version");
	CHECK_INT(h->pre_depends.n, 0, "no pre-depends");

	const struct xs_pkg *c = &t.pkgs[1];
	CHECK_INT(xs_pkg_deps(&t.pkgs[1]), 0, "%s: the dependencies parse", t.pkgs[1].name);
	CHECK_STR(c->source, "glibc", "source name without its version");
	CHECK_STR(c->multi_arch, "same", "multi-arch");
	CHECK_INT(c->pre_depends.n, 0, "empty Pre-Depends field");
	CHECK_INT(c->provides.n, 2, "two provides");
	CHECK_STR(c->provides.alts[0].atoms[0].name, "libc6-dev-bin-compat", "provides name");
	CHECK_INT(c->provides.alts[0].atoms[0].op, XS_OP_EQ, "versioned provides");
	CHECK_STR(c->provides.alts[0].atoms[0].version, "2.36", "provides version");
	CHECK_INT(c->provides.alts[1].atoms[0].op, XS_OP_NONE, "unversioned provides");

	const struct xs_pkg *py = &t.pkgs[2];
	CHECK_INT(xs_pkg_deps(&t.pkgs[2]), 0, "%s: the dependencies parse", t.pkgs[2].name);
	CHECK_INT(py->depends.n, 3, "multi-line Depends: three entries");
	CHECK_INT(py->depends.alts[1].n, 2, "alternatives");
	CHECK_STR(py->depends.alts[1].atoms[1].name, "foo", "second alternative");
	CHECK_STR(py->depends.alts[1].atoms[1].archq, "any", "arch qualifier");
	CHECK_STR(py->depends.alts[2].atoms[0].archq, "any", "qualifier on the last entry");
	CHECK_INT(py->pre_depends.alts[0].atoms[0].op, XS_OP_EQ, "pre-depends op");
	CHECK(!py->essential, "Essential: no");
	CHECK(t.pkgs[3].essential, "Essential: yes");

	r = xs_packages_parse(&t, index_security, strlen(index_security), 1, err, sizeof err);
	CHECK_INT(r, 0, "append a second index: %s", err);
	CHECK_INT(t.n, 5, "five packages");
	CHECK_INT(t.pkgs[4].origin, 1, "second origin");

	struct collect col = { 0 };
	r = xs_pkgtab_foreach_name(&t, "libc6", collect_cb, &col);
	CHECK_INT(r, 0, "foreach libc6");
	CHECK_INT(col.n, 2, "libc6 twice");
	CHECK(col.idx[0] == 1 && col.idx[1] == 4, "in table order");
	col = (struct collect){ .stop_after = 1 };
	CHECK_INT(xs_pkgtab_foreach_name(&t, "libc6", collect_cb, &col), 42,
		  "callback's non-zero value stops the walk");
	CHECK_INT(col.n, 1, "stopped after one");
	col = (struct collect){ 0 };
	CHECK_INT(xs_pkgtab_foreach_name(&t, "nonexistent", collect_cb, &col), 0, "absent name");
	CHECK_INT(col.n, 0, "no callback for an absent name");
	col = (struct collect){ 0 };
	xs_pkgtab_foreach_name(&t, "base-files", collect_cb, &col);
	CHECK(col.n == 1 && col.idx[0] == 3, "base-files found");

	/* the index is extended after more appends */
	r = xs_packages_parse(&t, index_security, strlen(index_security), 2, err, sizeof err);
	CHECK_INT(r, 0, "third index");
	col = (struct collect){ 0 };
	xs_pkgtab_foreach_name(&t, "libc6", collect_cb, &col);
	CHECK(col.n == 3 && col.idx[2] == 5, "index updated incrementally");

	/* failure appends nothing */
	size_t before = t.n;
	char bad[1024];
	snprintf(bad, sizeof bad, "%s\nPackage: broken\nVersion: 1\n", index_security);
	r = xs_packages_parse(&t, bad, strlen(bad), 3, err, sizeof err);
	CHECK_INT(r, -EBADMSG, "second stanza lacks fields");
	CHECK_INT(t.n, before, "nothing appended on failure");
	CHECK(strstr(err, "line 9") && strstr(err, "broken") && strstr(err, "Architecture"),
	      "error names line, package and field: %s", err);
	col = (struct collect){ 0 };
	xs_pkgtab_foreach_name(&t, "libc6", collect_cb, &col);
	CHECK_INT(col.n, 3, "index still consistent after a failed parse");

	xs_pkgtab_free(&t);
	CHECK(t.pkgs == NULL && t.n == 0 && t.hidx == NULL, "free resets");
	col = (struct collect){ 0 };
	CHECK_INT(xs_pkgtab_foreach_name(&t, "libc6", collect_cb, &col), 0,
		  "foreach on an empty table");
	xs_pkgtab_free(&t);
}

/* Parse one stanza built from fragments; returns the error. */
static int one(const char *extra, const char *filename, const char *sha, char *err)
{
	char buf[2048];
	snprintf(buf, sizeof buf,
		 "Package: p\nVersion: 1.0\nArchitecture: all\nFilename: %s\nSize: 10\n"
		 "SHA256: %s\n%s",
		 filename, sha, extra);
	struct xs_pkgtab t;
	xs_pkgtab_init(&t);
	err[0] = 0; /* a successful parse leaves err untouched */
	int r = xs_packages_parse(&t, buf, strlen(buf), 0, err, 256);
	xs_pkgtab_free(&t);
	return r;
}

static void test_bad_stanzas(void)
{
	char err[256];
	const char *fn = "pool/main/p/p/p_1.0_all.deb";
	CHECK_INT(one("", fn, SHA_A, err), 0, "baseline is valid: %s", err);
	CHECK_INT(one("", fn, "8E6B4AD0BD8B5F5A4C5A0A3A2B1F4FD9E2A6A0C3CD0B4C3C8F8E1E9D7B6A5F40", err),
		  0, "uppercase SHA256 accepted");
	/* a hostile Filename makes its package unusable, not the index */
	static const struct {
		const char *filename, *desc;
		bool usable;
	} fns[] = {
		{ "/etc/passwd", "absolute Filename", false },
		{ "pool/../../etc/x.deb", ".. in Filename", false },
		{ "..", "Filename is ..", false },
		{ "pool/x/..", "Filename ends in ..", false },
		{ "pool/x y.deb", "space in Filename", false },
		{ "pool/a..b/x.deb", "'..' inside a name is fine", true },
		{ "extra/x.deb", "a directory other than pool/ is fine (apt takes it)", true },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(fns); i++) {
		char buf[2048];
		snprintf(buf, sizeof buf,
			 "Package: ok\nVersion: 1\nArchitecture: all\nFilename: pool/o/ok.deb\n"
			 "Size: 1\nSHA256: " SHA_A "\n\nPackage: p\nVersion: 1.0\nArchitecture: all\n"
			 "Filename: %s\nSize: 10\nSHA256: " SHA_A "\n",
			 fns[i].filename);
		struct xs_pkgtab t;
		xs_pkgtab_init(&t);
		int r = xs_packages_parse(&t, buf, strlen(buf), 0, err, sizeof err);
		CHECK(r == 0 && t.n == 2 && !t.pkgs[0].unusable, "%s: the index parses (%d)",
		      fns[i].desc, r);
		if (t.n == 2 && fns[i].usable)
			CHECK(!t.pkgs[1].unusable, "%s: usable", fns[i].desc);
		else if (t.n == 2)
			CHECK(t.pkgs[1].unusable && strstr(t.pkgs[1].unusable, "Filename") &&
				      !strcmp(t.pkgs[1].name, "p"),
			      "%s: package p is unusable: %s", fns[i].desc,
			      t.pkgs[1].unusable ? t.pkgs[1].unusable : "(null)");
		xs_pkgtab_free(&t);
	}
	CHECK_INT(one("", fn, "abc", err), -EBADMSG, "short SHA256");
	CHECK_INT(one("", fn, SHA_A "0", err), -EBADMSG, "long SHA256");
	CHECK_INT(one("", fn, "zz6b4ad0bd8b5f5a4c5a0a3a2b1f4fd9e2a6a0c3cd0b4c3c8f8e1e9d7b6a5f40", err),
		  -EBADMSG, "non-hex SHA256");
	CHECK_INT(one("Installed-Size: lots\n", fn, SHA_A, err), -EBADMSG, "bad Installed-Size");
	CHECK_INT(one("Depends: a (>= \n", fn, SHA_A, err), -EBADMSG, "bad Depends");
	CHECK(strstr(err, "Depends") != NULL, "reason: %s", err);
	CHECK_INT(one("Provides: a | b\n", fn, SHA_A, err), -EBADMSG, "Provides with alternatives");
	CHECK_INT(one("Provides: a (>= 1)\n", fn, SHA_A, err), -EBADMSG, "Provides with >=");
	CHECK_INT(one("Source: (x)\n", fn, SHA_A, err), -EBADMSG, "bad Source");
	CHECK_INT(one("Package: q\n", fn, SHA_A, err), -EBADMSG, "duplicate Package field");

	const char *missing[] = { "Version", "Architecture", "Filename", "Size", "SHA256" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(missing); i++) {
		char buf[512];
		snprintf(buf, sizeof buf,
			 "Package: p\nVersion: 1\nArchitecture: all\nFilename: a.deb\nSize: 1\n"
			 "SHA256: " SHA_A "\n");
		char *f = strstr(buf, missing[i]);
		f[0] = 'X'; /* rename the field */
		struct xs_pkgtab t;
		xs_pkgtab_init(&t);
		int r = xs_packages_parse(&t, buf, strlen(buf), 0, err, sizeof err);
		CHECK(r == -EBADMSG && strstr(err, missing[i]) && t.n == 0,
		      "missing %s is refused: %s", missing[i], err);
		xs_pkgtab_free(&t);
	}
	struct xs_pkgtab t;
	xs_pkgtab_init(&t);
	CHECK_INT(xs_packages_parse(&t, "Version: 1\n", 11, 0, err, sizeof err), -EBADMSG,
		  "stanza without Package");
	CHECK_INT(xs_packages_parse(&t, "Package: a b\nVersion: 1\n", 24, 0, err, sizeof err),
		  -EBADMSG, "bad package name");
	CHECK_INT(xs_packages_parse(&t, "Package: x\nnot a field\n", 23, 0, err, sizeof err),
		  -EBADMSG, "malformed control data");
	CHECK_INT(xs_packages_parse(&t, "", 0, 0, err, sizeof err), 0, "empty index");
	CHECK_INT(xs_packages_parse(&t, NULL, 0, 0, NULL, 0), 0, "NULL index, NULL err");
	CHECK_INT(t.n, 0, "nothing appended");
	xs_pkgtab_free(&t);
}

static int dep(const char *s, struct xs_dep *d)
{
	return xs_dep_parse(s, strlen(s), d);
}

static void test_deps(void)
{
	struct xs_dep d;
	CHECK_INT(dep("name:any (>= 1.0) | other", &d), 0, "qualified alternative");
	CHECK(d.n == 1 && d.alts[0].n == 2, "one entry of two alternatives");
	CHECK_STR(d.alts[0].atoms[0].name, "name", "name");
	CHECK_STR(d.alts[0].atoms[0].archq, "any", "qualifier");
	CHECK_STR(d.alts[0].atoms[0].version, "1.0", "version");
	CHECK_STR(d.alts[0].atoms[1].name, "other", "other");
	CHECK(d.alts[0].atoms[1].archq == NULL && d.alts[0].atoms[1].version == NULL &&
		      d.alts[0].atoms[1].op == XS_OP_NONE,
	      "unversioned");
	xs_dep_free(&d);

	CHECK_INT(dep("a (>= 1) | b:any, c [amd64] <!nocheck>", &d), 0, "header example");
	CHECK(d.n == 2 && d.alts[1].n == 1, "restrictions dropped");
	CHECK_STR(d.alts[1].atoms[0].name, "c", "c");
	xs_dep_free(&d);

	CHECK_INT(dep("  a(<<2)|b  ,c(=1:2.0-1~x)  ,\n d ( >>  3 ) [!i386 arm64]  <a> <b c>  ", &d),
		  0, "whitespace variants");
	CHECK(d.n == 3, "three entries");
	CHECK_INT(d.alts[0].atoms[0].op, XS_OP_LT, "<<");
	CHECK_STR(d.alts[0].atoms[0].version, "2", "version glued to the operator");
	CHECK_STR(d.alts[1].atoms[0].version, "1:2.0-1~x", "version with epoch and tilde");
	CHECK_INT(d.alts[2].atoms[0].op, XS_OP_GT, ">>");
	CHECK_STR(d.alts[2].atoms[0].version, "3", "version between blanks");
	xs_dep_free(&d);

	CHECK_INT(dep("a (< 1), b (> 2), c (<= 3)", &d), 0, "obsolete operators");
	CHECK(d.alts[0].atoms[0].op == XS_OP_LE && d.alts[1].atoms[0].op == XS_OP_GE &&
		      d.alts[2].atoms[0].op == XS_OP_LE,
	      "< is <=, > is >=");
	xs_dep_free(&d);

	CHECK_INT(dep("", &d), 0, "empty field");
	CHECK_INT(d.n, 0, "no entries");
	CHECK_INT(dep(" \n ", &d), 0, "blank field");
	CHECK_INT(xs_dep_parse(NULL, 0, &d), 0, "NULL field");

	const char *bad[] = {
		"a,", ",a", "a,,b", "a, , b", "a|", "|a", "a||b", "a (>= 1", "a (1.0)", "a (>=)",
		"a (>= 1 2)", "a (!= 1)", "a [amd64", "a <nocheck", "a b", "a:", "a:(x)",
		"(>= 1)", "a (>= 1) (>= 2)", "a [x] (>= 1)", "a [x [y]]", "a <x <y>>", "a@b",
		"a (>= 1(2)", "a )", "a:any:any",
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(bad); i++) {
		int r = dep(bad[i], &d);
		CHECK_INT(r, -EBADMSG, "refused: '%s'", bad[i]);
		if (r == 0)
			xs_dep_free(&d);
		else
			CHECK(d.alts == NULL && d.n == 0, "nothing left after failure");
	}

	/* bounded input: a field that is not NUL terminated */
	char *p = malloc(9);
	memcpy(p, "a (>= 1)", 8);
	p[8] = '!';
	CHECK_INT(xs_dep_parse(p, 8, &d), 0, "exact-length field");
	CHECK_STR(d.n ? d.alts[0].atoms[0].version : NULL, "1", "version at the end");
	xs_dep_free(&d);
	CHECK_INT(xs_dep_parse(p, 7, &d), -EBADMSG, "cut before ')'");
	CHECK_INT(xs_dep_parse(p, 3, &d), -EBADMSG, "cut after '('");
	CHECK_INT(xs_dep_parse(p, 4, &d), -EBADMSG, "cut after '>'");
	free(p);
	p = malloc(3);
	memcpy(p, "a (", 3);
	CHECK_INT(xs_dep_parse(p, 3, &d), -EBADMSG, "open paren at the end");
	memcpy(p, "a (<", 3);
	free(p);
	p = malloc(4);
	memcpy(p, "a (<", 4);
	CHECK_INT(xs_dep_parse(p, 4, &d), -EBADMSG, "operator at the very end");
	free(p);

	/* limits */
	struct xs_buf b;
	xs_buf_init(&b, 1u << 24);
	for (int i = 0; i < 5000; i++)
		xs_buf_printf(&b, "%sp%d", i ? ", " : "", i);
	CHECK_INT(xs_dep_parse(b.data, b.len, &d), -E2BIG, "5000 entries");
	xs_buf_free(&b);
	xs_buf_init(&b, 1u << 24);
	for (int i = 0; i < 300; i++)
		xs_buf_printf(&b, "%sp%d", i ? " | " : "", i);
	CHECK_INT(xs_dep_parse(b.data, b.len, &d), -E2BIG, "300 alternatives");
	xs_buf_free(&b);
}

static void test_many(void)
{
	/* many packages, many sharing one name: index must stay correct and fast */
	struct xs_buf b;
	xs_buf_init(&b, 1u << 28);
	const unsigned N = 60000;
	for (unsigned i = 0; i < N; i++)
		xs_buf_printf(&b,
			      "Package: %s%u\nVersion: 1.%u\nArchitecture: arm64\n"
			      "Depends: libc6 (>= 2.34), libfoo%u | libbar\n"
			      "Filename: pool/main/x/x%u.deb\nSize: %u\nSHA256: %s\n\n",
			      i % 3 ? "pkg" : "same", i % 3 ? i : 0, i, i, i, i, SHA_A);
	struct xs_pkgtab t;
	char err[256] = "";
	xs_pkgtab_init(&t);
	uint64_t t0 = xs_now_ns();
	int r = xs_packages_parse(&t, b.data, b.len, 0, err, sizeof err);
	CHECK_INT(r, 0, "parse %u stanzas: %s", N, err);
	CHECK_INT(t.n, N, "all stanzas");
	struct collect col = { 0 };
	xs_pkgtab_foreach_name(&t, "same0", collect_cb, &col);
	CHECK_INT(col.n, N / 3, "one name shared by %u packages", N / 3);
	unsigned found = 0;
	for (unsigned i = 1; i < N; i += 3) {
		char name[32];
		snprintf(name, sizeof name, "pkg%u", i);
		col = (struct collect){ 0 };
		xs_pkgtab_foreach_name(&t, name, collect_cb, &col);
		found += col.n == 1 && col.idx[0] == i;
	}
	CHECK_INT(found, N / 3, "every unique name found at its index");
	uint64_t ms = (xs_now_ns() - t0) / 1000000;
	printf("# %u stanzas parsed and indexed in %llu ms\n", N, (unsigned long long)ms);
	CHECK(ms < 20000, "not pathologically slow (%llu ms)", (unsigned long long)ms);
	xs_pkgtab_free(&t);
	xs_buf_free(&b);
}

int main(void)
{
	test_parse();
	test_bad_stanzas();
	test_deps();
	test_many();
	return tap_done();
}
