/* test-resolve.c - dependency closure on synthetic indexes */
#include "xsysroot/resolve.h"
#include "xsysroot/util.h"
#include "tap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SHA "8e6b4ad0bd8b5f5a4c5a0a3a2b1f4fd9e2a6a0c3cd0b4c3c8f8e1e9d7b6a5f40"

/* A stanza: name, version, arch, then "Field: value" lines. */
static void pkg(struct xs_buf *b, const char *name, const char *ver, const char *arch,
		const char *extra)
{
	xs_buf_printf(b,
		      "Package: %s\nVersion: %s\nArchitecture: %s\n%s"
		      "Filename: pool/main/%s_%s_%s.deb\nSize: 1000\nSHA256: " SHA "\n\n",
		      name, ver, arch, extra ? extra : "", name, ver, arch);
}

static void load(struct xs_pkgtab *t, struct xs_buf *b, int origin)
{
	char err[256] = "";
	int r = xs_packages_parse(t, b->data, b->len, origin, err, sizeof err);
	if (r < 0)
		printf("# fixture failed to parse: %s\n", err);
	xs_buf_free(b);
}

/* The resolved names joined by spaces, or "ERR <errno>: <message>". */
static char *resolve(struct xs_pkgtab *t, const char *arch, ...)
{
	const char *roots[16];
	size_t n = 0;
	va_list ap;
	va_start(ap, arch);
	const char *s;
	while ((s = va_arg(ap, const char *)) && n < 16)
		roots[n++] = s;
	va_end(ap);

	static char out[8192];
	char err[512] = "";
	size_t *idx = NULL, cnt = 0;
	int r = xs_resolve(t, arch, roots, n, &idx, &cnt, err, sizeof err);
	if (r < 0) {
		snprintf(out, sizeof out, "ERR %d: %s", -r, err);
		return out;
	}
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < cnt && o < sizeof out; i++)
		o += (size_t)snprintf(out + o, sizeof out - o, "%s%s=%s", i ? " " : "",
				      t->pkgs[idx[i]].name, t->pkgs[idx[i]].version);
	free(idx);
	return out;
}

static void base(struct xs_pkgtab *t)
{
	struct xs_buf b;
	xs_buf_init(&b, 1 << 20);
	pkg(&b, "hello", "2.10-3", "arm64", "Depends: libc6 (>= 2.34)\n");
	pkg(&b, "libc6", "2.36-9+deb12u10", "arm64", "Depends: libgcc-s1\n");
	pkg(&b, "libgcc-s1", "12.2.0-14", "arm64",
	    "Depends: gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)\n");
	pkg(&b, "gcc-12-base", "12.2.0-14", "arm64", NULL);
	/* other architectures: never candidates */
	pkg(&b, "hello", "9.9", "amd64", "Depends: nothing-here\n");
	pkg(&b, "libc6", "9.9", "amd64", NULL);
	/* python3 via a versioned Provides, and a virtual package */
	pkg(&b, "python3", "3.11.2-1+b1", "arm64",
	    "Pre-Depends: python3-minimal (= 3.11.2-1+b1)\n"
	    "Depends: python3.11 (>= 3.11.2-1~), media-types | mime-support\n");
	pkg(&b, "python3-minimal", "3.11.2-1+b1", "arm64", "Depends: dpkg (>= 1.13.20)\n");
	pkg(&b, "python3.11", "3.11.2-6", "arm64",
	    "Depends: python3.11-minimal (= 3.11.2-6), libpython3.11-stdlib (= 3.11.2-6)\n");
	pkg(&b, "python3.11-minimal", "3.11.2-6", "arm64", "Depends: libc6 (>= 2.36)\n");
	pkg(&b, "libpython3.11-stdlib", "3.11.2-6", "arm64", "Depends: libc6, python3.11-minimal\n");
	pkg(&b, "dpkg", "1.21.22", "arm64", "Pre-Depends: libc6 (>= 2.34), tar (>= 1.28-1)\n");
	pkg(&b, "tar", "1.34+dfsg-1.2", "arm64", "Pre-Depends: libc6 (>= 2.34)\n");
	pkg(&b, "mime-support", "3.66", "all", "Depends: media-types\n");
	pkg(&b, "media-types", "10.0.0", "all", NULL);
	pkg(&b, "exim4-daemon-light", "4.96-15", "arm64",
	    "Provides: mail-transport-agent\nDepends: libc6\n");
	pkg(&b, "postfix", "3.7.11-0", "arm64", "Provides: mail-transport-agent\n");
	pkg(&b, "mailutils", "1:3.15-4", "arm64", "Depends: default-mta | mail-transport-agent\n");
	pkg(&b, "bsd-mailx", "8.1.2-0", "arm64", "Depends: postfix | mail-transport-agent\n");
	pkg(&b, "mta-user", "1", "arm64", "Depends: mail-transport-agent\n");
	load(t, &b, 0);
}

static void test_basic(void)
{
	struct xs_pkgtab t;
	xs_pkgtab_init(&t);
	base(&t);
	CHECK_INT(t.n, 20, "fixture parsed");

	CHECK_STR(resolve(&t, "arm64", "hello", NULL),
		  "gcc-12-base=12.2.0-14 hello=2.10-3 libc6=2.36-9+deb12u10 libgcc-s1=12.2.0-14",
		  "hello closure (with the libc6 <-> libgcc-s1 cycle), sorted");
	CHECK_STR(resolve(&t, "arm64", "libgcc-s1", "libc6", "libgcc-s1", NULL),
		  "gcc-12-base=12.2.0-14 libc6=2.36-9+deb12u10 libgcc-s1=12.2.0-14",
		  "duplicate roots, each name once");
	CHECK_STR(resolve(&t, "amd64", "libc6", NULL), "libc6=9.9", "another architecture");
	CHECK_STR(resolve(&t, "arm64", "media-types", NULL), "media-types=10.0.0", "arch all");
	CHECK_STR(resolve(&t, "arm64", "python3", NULL),
		  "dpkg=1.21.22 gcc-12-base=12.2.0-14 libc6=2.36-9+deb12u10 libgcc-s1=12.2.0-14 "
		  "libpython3.11-stdlib=3.11.2-6 media-types=10.0.0 python3=3.11.2-1+b1 "
		  "python3-minimal=3.11.2-1+b1 python3.11=3.11.2-6 python3.11-minimal=3.11.2-6 "
		  "tar=1.34+dfsg-1.2",
		  "python3: first alternative (media-types), not mime-support");
	CHECK_STR(resolve(&t, "arm64", "mime-support", "python3", NULL),
		  "dpkg=1.21.22 gcc-12-base=12.2.0-14 libc6=2.36-9+deb12u10 libgcc-s1=12.2.0-14 "
		  "libpython3.11-stdlib=3.11.2-6 media-types=10.0.0 mime-support=3.66 "
		  "python3=3.11.2-1+b1 python3-minimal=3.11.2-1+b1 python3.11=3.11.2-6 "
		  "python3.11-minimal=3.11.2-6 tar=1.34+dfsg-1.2",
		  "both alternatives when both are roots");
	CHECK_STR(resolve(&t, "arm64", NULL), "", "no roots, empty result");
	xs_pkgtab_free(&t);
}

static void test_virtual(void)
{
	struct xs_pkgtab t;
	xs_pkgtab_init(&t);
	base(&t);
	CHECK_STR(resolve(&t, "arm64", "mailutils", NULL),
		  "exim4-daemon-light=4.96-15 gcc-12-base=12.2.0-14 libc6=2.36-9+deb12u10 "
		  "libgcc-s1=12.2.0-14 mailutils=1:3.15-4",
		  "virtual alternative: first provider in table order");
	CHECK_STR(resolve(&t, "arm64", "postfix", "mailutils", NULL),
		  "mailutils=1:3.15-4 postfix=3.7.11-0",
		  "a provider already selected is preferred");
	CHECK_STR(resolve(&t, "arm64", "bsd-mailx", "mta-user", NULL),
		  "bsd-mailx=8.1.2-0 mta-user=1 postfix=3.7.11-0",
		  "a virtual dependency satisfied by what the selection already has");
	CHECK_STR(resolve(&t, "arm64", "mail-transport-agent", NULL),
		  "exim4-daemon-light=4.96-15 gcc-12-base=12.2.0-14 libc6=2.36-9+deb12u10 "
		  "libgcc-s1=12.2.0-14",
		  "a virtual root resolves via a provider");
	CHECK_STR(resolve(&t, "arm64", "postfix", "mail-transport-agent", NULL),
		  "postfix=3.7.11-0", "a virtual root already provided by a root");
	xs_pkgtab_free(&t);
}

static void test_versions_and_origins(void)
{
	struct xs_pkgtab t;
	struct xs_buf b;
	xs_pkgtab_init(&t);
	xs_buf_init(&b, 1 << 20);
	pkg(&b, "libc6", "2.36-9+deb12u4", "arm64", NULL);
	pkg(&b, "app", "1.0", "arm64", "Depends: libc6 (>= 2.36-9+deb12u10)\n");
	pkg(&b, "tie", "1.0", "all", "Depends: libc6\n");
	pkg(&b, "old", "1.0", "arm64", "Depends: libc6 (<< 2.36)\n");
	load(&t, &b, 1);
	xs_buf_init(&b, 1 << 20);
	pkg(&b, "libc6", "2.36-9+deb12u10", "arm64", NULL); /* security origin */
	pkg(&b, "tie", "1.0", "all", "Depends: nothing-at-all\n");
	load(&t, &b, 2);
	xs_buf_init(&b, 1 << 20);
	pkg(&b, "tie", "1.0", "all", "Depends: libc6 (>= 3)\n"); /* lower origin, same version */
	pkg(&b, "libc6", "2.36-9+deb12u5", "arm64", NULL);
	load(&t, &b, 0);

	CHECK_STR(resolve(&t, "arm64", "app", NULL), "app=1.0 libc6=2.36-9+deb12u10",
		  "the highest version across origins (deb12u10 > deb12u4, numeric)");
	char *s = resolve(&t, "arm64", "tie", NULL);
	CHECK(strncmp(s, "ERR 2: tie -> libc6 (>= 3): no candidate", 40) == 0,
	      "equal versions: the lowest origin's stanza wins: %s", s);
	s = resolve(&t, "arm64", "old", NULL);
	CHECK_STR(s,
		  "ERR 2: old -> libc6 (<< 2.36): no candidate satisfies it "
		  "(libc6 2.36-9+deb12u10 is available)",
		  "only the candidate counts, not older versions");
	xs_pkgtab_free(&t);
}

static void test_provides_versions(void)
{
	struct xs_pkgtab t;
	struct xs_buf b;
	xs_pkgtab_init(&t);
	xs_buf_init(&b, 1 << 20);
	pkg(&b, "provider-eq", "5", "arm64", "Provides: virt (= 2.0)\n");
	pkg(&b, "provider-plain", "5", "arm64", "Provides: plain\n");
	pkg(&b, "want-ge", "1", "arm64", "Depends: virt (>= 1.5)\n");
	pkg(&b, "want-gt", "1", "arm64", "Depends: virt (>> 2.0)\n");
	pkg(&b, "want-plain-versioned", "1", "arm64", "Depends: plain (>= 1)\n");
	pkg(&b, "want-plain", "1", "arm64", "Depends: plain\n");
	pkg(&b, "real", "1.0", "arm64", "Provides: real2 (= 3.0)\n");
	pkg(&b, "want-real", "1", "arm64", "Depends: real (>= 2.0)\n");
	pkg(&b, "qual", "1", "arm64", "Depends: real:any, real:native, real:arm64\n");
	pkg(&b, "foreign", "1", "arm64", "Depends: real:amd64\n");
	load(&t, &b, 0);

	CHECK_STR(resolve(&t, "arm64", "want-ge", NULL), "provider-eq=5 want-ge=1",
		  "versioned dependency satisfied by a versioned Provides");
	CHECK(strncmp(resolve(&t, "arm64", "want-gt", NULL), "ERR 2: want-gt -> virt (>> 2.0)", 31) == 0,
	      "versioned Provides that does not satisfy");
	CHECK(strncmp(resolve(&t, "arm64", "want-plain-versioned", NULL), "ERR 2:", 6) == 0,
	      "an unversioned Provides does not satisfy a versioned dependency");
	CHECK_STR(resolve(&t, "arm64", "want-plain", NULL), "provider-plain=5 want-plain=1",
		  "an unversioned Provides satisfies an unversioned dependency");
	CHECK_STR(resolve(&t, "arm64", "want-real", NULL),
		  "ERR 2: want-real -> real (>= 2.0): no candidate satisfies it (real 1.0 is available)",
		  "a real package's version must satisfy");
	CHECK_STR(resolve(&t, "arm64", "qual", NULL), "qual=1 real=1.0",
		  ":any, :native and the target arch qualifiers");
	CHECK(strncmp(resolve(&t, "arm64", "foreign", NULL), "ERR 2: foreign -> real:amd64", 28) == 0,
	      "a foreign-arch qualifier is not satisfied");
	xs_pkgtab_free(&t);
}

static void test_errors(void)
{
	struct xs_pkgtab t;
	struct xs_buf b;
	xs_pkgtab_init(&t);
	xs_buf_init(&b, 1 << 20);
	pkg(&b, "python3", "3.11", "arm64", "Depends: python3.11\n");
	pkg(&b, "python3.11", "3.11.2", "arm64", "Depends: libc6, libfoo (>= 2) | libbar\n");
	pkg(&b, "libfoo", "1.0", "arm64", NULL);
	pkg(&b, "libc6", "2.36", "arm64", NULL);
	pkg(&b, "amd64-only", "1", "amd64", NULL);
	load(&t, &b, 0);
	CHECK_STR(resolve(&t, "arm64", "python3", NULL),
		  "ERR 2: python3 -> python3.11 -> libfoo (>= 2) | libbar: no candidate satisfies it",
		  "error names the chain");
	CHECK_STR(resolve(&t, "arm64", "nope", NULL), "ERR 2: nope: no such package for arm64",
		  "unknown root");
	CHECK_STR(resolve(&t, "arm64", "amd64-only", NULL),
		  "ERR 2: amd64-only: no such package for arm64", "root of another architecture");
	CHECK_STR(resolve(&t, "arm64", "libfo", "python3", "pyhton3", "zzz-none", NULL),
		  "ERR 2: libfo: no such package for arm64; did you mean libfoo?; pyhton3: no such "
		  "package for arm64; did you mean python3?; zzz-none: no such package for arm64",
		  "every unknown root named, with a close match where there is one");

	size_t *out = (size_t *)1, n = 7;
	const char *roots[] = { "python3" };
	CHECK_INT(xs_resolve(&t, "arm64", roots, 1, &out, &n, NULL, 0), -ENOENT,
		  "NULL err buffer");
	CHECK(out == NULL && n == 0, "outputs reset on failure");
	char small[8];
	CHECK_INT(xs_resolve(&t, "arm64", roots, 1, &out, &n, small, sizeof small), -ENOENT,
		  "tiny err buffer");
	CHECK_STR(small, "python3", "message truncated safely");
	CHECK_INT(xs_resolve(&t, NULL, roots, 1, &out, &n, NULL, 0), -EINVAL, "NULL arch");
	xs_pkgtab_free(&t);

	/* a long chain: the message stays bounded */
	xs_pkgtab_init(&t);
	xs_buf_init(&b, 1 << 22);
	for (int i = 0; i < 200; i++) {
		char name[16], dep[64];
		snprintf(name, sizeof name, "p%d", i);
		snprintf(dep, sizeof dep, "Depends: p%d\n", i + 1);
		pkg(&b, name, "1", "arm64", dep);
	}
	load(&t, &b, 0);
	char *s = resolve(&t, "arm64", "p0", NULL);
	CHECK(strncmp(s, "ERR 2: ... -> p168 -> ", 22) == 0 &&
		      strstr(s, "p199 -> p200: no candidate satisfies it"),
	      "long chain is shortened: %.60s", s);
	xs_pkgtab_free(&t);

	/* empty table */
	xs_pkgtab_init(&t);
	CHECK(strncmp(resolve(&t, "arm64", "x", NULL), "ERR 2:", 6) == 0, "empty table");
	xs_pkgtab_free(&t);
}

static void test_big(void)
{
	/* a wide, deep graph with cycles: everything reachable once */
	struct xs_pkgtab t;
	struct xs_buf b;
	xs_pkgtab_init(&t);
	xs_buf_init(&b, 1 << 26);
	const int N = 20000;
	for (int i = 0; i < N; i++) {
		char name[16], dep[128];
		snprintf(name, sizeof name, "n%d", i);
		snprintf(dep, sizeof dep, "Depends: n%d, n%d | v%d\nProvides: v%d\n", (i + 1) % N,
			 (i * 7) % N, i, i);
		pkg(&b, name, "1", i % 2 ? "arm64" : "all", dep);
	}
	load(&t, &b, 0);
	const char *roots[] = { "n0" };
	size_t *out = NULL, n = 0;
	char err[256] = "";
	uint64_t t0 = xs_now_ns();
	int r = xs_resolve(&t, "arm64", roots, 1, &out, &n, err, sizeof err);
	uint64_t ms = (xs_now_ns() - t0) / 1000000;
	CHECK_INT(r, 0, "big cyclic graph: %s", err);
	CHECK_INT(n, N, "every node once");
	int sorted = 1;
	for (size_t i = 1; i < n; i++)
		if (strcmp(t.pkgs[out[i - 1]].name, t.pkgs[out[i]].name) >= 0)
			sorted = 0;
	CHECK(sorted, "sorted by name, no duplicates");
	printf("# %d packages resolved in %llu ms\n", N, (unsigned long long)ms);
	free(out);
	xs_pkgtab_free(&t);
}

int main(void)
{
	test_basic();
	test_virtual();
	test_versions_and_origins();
	test_provides_versions();
	test_errors();
	test_big();
	return tap_done();
}
