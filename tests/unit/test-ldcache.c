/* test-ldcache.c - glibc ld.so.cache writer: _dl_cache_libcmp order, the byte
 * layout (both byte orders), the host's `ldconfig -p -C` as an oracle for
 * every architecture, and the host's own ld.so (under qemu-x86_64 -L) finding
 * libraries through a cache we wrote. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/arch.h"
#include "xsysroot/ldcache.h"
#include "xsysroot/sysroot.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ldcache-read.h"

static int sign(int v) { return (v > 0) - (v < 0); }

/* ---- _dl_cache_libcmp ---------------------------------------------------- */

static void test_libcmp(void)
{
	/* Ascending by hand from the rules of _dl_cache_libcmp: digit runs
	 * compare as numbers, a digit sorts above any non-digit, other bytes
	 * compare as bytes, a prefix sorts first. */
	static const char *asc[] = {
		"lib.so",	 "libA.so",	  "libZ.so",	   "lib_x.so",	   "libc.so",
		"libc.so.6",	 "libc.so.6.1",	  "libc.so.10",	   "libcrypt.so.1", "libcrypt.so.2",
		"libc6.so",	 "libc7.so",	  "libc10.so",	   "libfoo.so",	   "libfoo.so.1",
		"libfoo.so.9",	 "libfoo.so.10",  "libfooa.so",	   "libfoo2.so",
	};
	size_t n = XS_ARRAY_SIZE(asc);
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int want = i < j ? -1 : i > j;
			if (sign(xs_ldcache_libcmp(asc[i], asc[j])) != want) {
				printf("# libcmp(%s, %s) = %d, want sign %d\n", asc[i], asc[j],
				       xs_ldcache_libcmp(asc[i], asc[j]), want);
				bad++;
			}
		}
	CHECK_INT(bad, 0, "libcmp agrees with the hand-sorted list (%zu names, all pairs)", n);
	CHECK(xs_ldcache_libcmp("libfoo.so.10", "libfoo.so.9") > 0, "libfoo.so.10 > libfoo.so.9");
	CHECK(xs_ldcache_libcmp("libc.so.6", "libcrypt.so.1") < 0, "libc.so.6 < libcrypt.so.1");
	CHECK(xs_ldcache_libcmp("libz3.so.4", "libzstd.so.1") > 0, "a digit sorts above a letter");
	CHECK(xs_ldcache_libcmp("libfoo.so.01", "libfoo.so.1") == 0, "leading zeros compare equal");
	CHECK(xs_ldcache_libcmp("libx.so.2.10", "libx.so.2.9") > 0, "numeric in a later run");
	CHECK(xs_ldcache_libcmp("", "") == 0 && xs_ldcache_libcmp("", "a") < 0 &&
		      xs_ldcache_libcmp("a", "") > 0,
	      "empty strings");
}

/* ---- layout, order, duplicates ------------------------------------------- */

static const struct xs_arch *arch(const char *name)
{
	const struct xs_arch *a = xs_arch_lookup(name);
	if (!a) {
		printf("Bail out! no arch %s\n", name);
		exit(1);
	}
	return a;
}

static void test_errors(void)
{
	struct xs_buf b;
	const struct xs_arch *a = arch("arm64");
	struct xs_ldcache_entry e1[] = { { "", "/lib/libx.so" } };
	struct xs_ldcache_entry e2[] = { { "libx.so", "lib/libx.so" } };
	struct xs_ldcache_entry e3[] = { { "libx.so", NULL } };
	struct xs_ldcache_entry e4[] = { { NULL, "/x" } };
	CHECK_INT(xs_ldcache_build(a, e1, 1, &b), -EINVAL, "empty key");
	CHECK(b.data == NULL && b.len == 0, "out initialised on error");
	CHECK_INT(xs_ldcache_build(a, e2, 1, &b), -EINVAL, "relative value");
	CHECK_INT(xs_ldcache_build(a, e3, 1, &b), -EINVAL, "NULL value");
	CHECK_INT(xs_ldcache_build(a, e4, 1, &b), -EINVAL, "NULL key");
	CHECK_INT(xs_ldcache_build(NULL, e2, 0, &b), -EINVAL, "NULL arch");

	struct parsed *p = calloc(1, sizeof *p);
	CHECK_INT(xs_ldcache_build(a, NULL, 0, &b), 0, "empty cache builds");
	parse(&b, 0, p);
	CHECK(p->ok && p->nlibs == 0 && b.len > 48, "empty cache is well formed (%zu bytes)", b.len);
	xs_buf_free(&b);
	free(p);
}

static void test_layout(const char *an, int big)
{
	const struct xs_arch *a = arch(an);
	struct xs_ldcache_entry e[] = {
		{ "libc.so.6", "/lib/x/libc.so.6" },
		{ "libm.so.6", "/lib/x/libm.so.6" },
		{ "libz.so.1", "/lib/x/libz.so.1" },
	};
	struct xs_buf b;
	struct parsed *p = calloc(1, sizeof *p);
	CHECK_INT(xs_ldcache_build(a, e, 3, &b), 0, "%s: build", an);
	parse(&b, big, p);
	CHECK(p->ok, "%s: structure valid in %s-endian order", an, big ? "big" : "little");
	CHECK_INT(p->endian, big ? 3 : 2, "%s: header endian flag", an);
	CHECK_INT(p->nlibs, 3, "%s: nlibs", an);
	/* no gaps: the string table holds exactly the six strings */
	CHECK_INT(p->len_strings, 3 * 10 + 3 * 17, "%s: len_strings", an);
	CHECK_INT(p->ext_off % 4, 0, "%s: extension aligned", an);
	CHECK(strncmp(p->generator, "xsysroot ", 9) == 0, "%s: generator '%s'", an, p->generator);
	int fl = 1;
	for (uint32_t i = 0; i < p->nlibs; i++)
		fl &= p->flags[i] == a->ldcache_flags;
	CHECK(fl, "%s: every entry has flags %#x", an, a->ldcache_flags);
	/* raw bytes: nlibs = 3 and the first entry's flags */
	const unsigned char *d = (const unsigned char *)b.data;
	uint32_t f = a->ldcache_flags;
	unsigned char want_n[4] = { 3, 0, 0, 0 }, want_f[4] = { f & 0xff, f >> 8 & 0xff, f >> 16 & 0xff, f >> 24 };
	if (big) {
		unsigned char t[4];
		for (int i = 0; i < 4; i++)
			t[i] = want_n[3 - i];
		memcpy(want_n, t, 4);
		for (int i = 0; i < 4; i++)
			t[i] = want_f[3 - i];
		memcpy(want_f, t, 4);
	}
	CHECK(memcmp(d + 20, want_n, 4) == 0 && memcmp(d + 48, want_f, 4) == 0,
	      "%s: raw bytes in %s-endian order", an, big ? "big" : "little");
	xs_buf_free(&b);
	free(p);
}

/* Same entries, big vs little: identical except every integer is swapped and
 * the endian flag is 3 instead of 2. */
static void test_byteswap(void)
{
	struct xs_arch le = *arch("s390x");
	const struct xs_arch *be = arch("s390x");
	le.elf_data = 1;
	struct xs_ldcache_entry e[] = {
		{ "libc.so.6", "/lib/s390x-linux-gnu/libc.so.6" },
		{ "libz.so.1", "/lib/s390x-linux-gnu/libz.so.1" },
	};
	struct xs_buf bl, bb;
	CHECK(xs_ldcache_build(&le, e, 2, &bl) == 0 && xs_ldcache_build(be, e, 2, &bb) == 0,
	      "s390x built both ways");
	int same = bl.len == bb.len;
	unsigned char *l = (unsigned char *)bl.data, *g = (unsigned char *)bb.data;
	if (same) {
		size_t ints[64], ni = 0;
		ints[ni++] = 20, ints[ni++] = 24, ints[ni++] = 32;
		for (size_t i = 0; i < 2; i++)
			for (size_t k = 0; k < 4; k++)
				ints[ni++] = 48 + 24 * i + 4 * k; /* hwcap: 0 */
		size_t x = get32(l + 32, 0);
		for (size_t k = 0; k < 6; k++)
			ints[ni++] = x + 4 * k;
		for (size_t k = 0; k < ni; k++) {
			size_t o = ints[k];
			for (int j = 0; j < 2; j++) {
				unsigned char t = l[o + j];
				l[o + j] = l[o + 3 - j];
				l[o + 3 - j] = t;
			}
		}
		CHECK(l[28] == 2 && g[28] == 3, "endian flags 2 (little) and 3 (big)");
		l[28] = 3;
	}
	CHECK(same && memcmp(l, g, bl.len) == 0, "big-endian file = little-endian file byte-swapped");
	xs_buf_free(&bl);
	xs_buf_free(&bb);
}

static void shuffle(size_t *v, size_t n, unsigned *seed)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rand_r(seed) % i, t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* Many names in random input order: stored in descending libcmp order, every
 * key found by ld.so's bisection, duplicates keep the first pair. */
static void test_order_lookup(void)
{
	enum { N = 600 };
	static char keys[N][32], vals[N][48];
	static struct xs_ldcache_entry e[N + N / 3];
	size_t perm[N];
	const char *stems[] = { "c", "crypt", "foo", "fooa", "foo2", "z", "z3", "m", "A", "_x", "c6" };
	for (size_t i = 0; i < N; i++) {
		snprintf(keys[i], sizeof keys[i], "lib%s.so.%zu%s", stems[i % XS_ARRAY_SIZE(stems)],
			 i / XS_ARRAY_SIZE(stems) % 23, i / 253 ? ".1" : "");
		snprintf(vals[i], sizeof vals[i], "/usr/lib/first/%zu", i);
		perm[i] = i;
	}
	/* the generator above repeats some keys; the earlier index wins */
	unsigned seed = 7;
	shuffle(perm, N, &seed);
	size_t n = 0;
	for (size_t i = 0; i < N; i++)
		e[n++] = (struct xs_ldcache_entry){ keys[perm[i]], vals[perm[i]] };
	for (size_t i = 0; i < N / 3; i++) /* later duplicates lose */
		e[n++] = (struct xs_ldcache_entry){ keys[perm[i]], "/usr/lib/later" };

	/* expected: for each distinct key, the value of its first occurrence */
	struct xs_buf b;
	struct parsed *p = calloc(1, sizeof *p);
	CHECK_INT(xs_ldcache_build(arch("arm64"), e, n, &b), 0, "build %zu entries", n);
	parse(&b, 0, p);
	CHECK(p->ok, "structure valid");
	size_t distinct = 0;
	int bad_order = 0, bad_lookup = 0;
	for (size_t i = 0; i < n; i++) {
		size_t first = i;
		for (size_t j = 0; j < i; j++)
			if (strcmp(e[j].key, e[i].key) == 0) {
				first = j;
				break;
			}
		if (first != i)
			continue;
		distinct++;
		const char *got = lookup(p, e[i].key);
		if (!got || strcmp(got, e[i].value) != 0) {
			if (bad_lookup++ < 3)
				printf("# lookup %s: got %s want %s\n", e[i].key, got ? got : "(none)",
				       e[i].value);
		}
	}
	for (uint32_t i = 1; i < p->nlibs; i++)
		if (!p->ok || xs_ldcache_libcmp(p->key[i - 1], p->key[i]) <= 0)
			bad_order++;
	CHECK_INT(p->nlibs, distinct, "one entry per distinct key");
	CHECK_INT(bad_order, 0, "strictly descending _dl_cache_libcmp order");
	CHECK_INT(bad_lookup, 0, "ld.so's bisection finds every key, with its first value");
	xs_buf_free(&b);

	/* keys equal under libcmp are one key for ld.so: the first stays */
	struct xs_ldcache_entry z[] = { { "libfoo.so.1", "/a/libfoo.so.1" },
					 { "libfoo.so.01", "/b/libfoo.so.01" } };
	CHECK_INT(xs_ldcache_build(arch("arm64"), z, 2, &b), 0, "build libcmp-equal keys");
	parse(&b, 0, p);
	CHECK(p->ok && p->nlibs == 1 && strcmp(p->value[0], "/a/libfoo.so.1") == 0,
	      "libfoo.so.01 after libfoo.so.1 is dropped");
	xs_buf_free(&b);
	free(p);
}

/* "*p1 - *p2" in _dl_cache_libcmp uses the target's plain char: signed on
 * x86, unsigned on arm64. */
static void test_char_signedness(void)
{
	struct xs_ldcache_entry e[] = { { "libz.so.1", "/z" }, { "lib\xe9.so.1", "/e" } };
	struct xs_buf b;
	struct parsed *p = calloc(1, sizeof *p);
	CHECK_INT(xs_ldcache_build(arch("arm64"), e, 2, &b), 0, "arm64 build");
	parse(&b, 0, p);
	CHECK(p->ok && strcmp(p->value[0], "/e") == 0, "arm64 (unsigned char): 0xe9 above 'z'");
	xs_buf_free(&b);
	CHECK_INT(xs_ldcache_build(arch("amd64"), e, 2, &b), 0, "amd64 build");
	parse(&b, 0, p);
	CHECK(p->ok && strcmp(p->value[0], "/z") == 0, "amd64 (signed char): 0xe9 below 'z'");
	xs_buf_free(&b);
	free(p);
}

/* ---- the host's ldconfig as oracle ---------------------------------------- */

static const char *tmpdir;

static const char *ldconfig_path(void)
{
	static const char *c[] = { "/sbin/ldconfig", "/usr/sbin/ldconfig" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(c); i++)
		if (access(c[i], X_OK) == 0)
			return c[i];
	return NULL;
}

static int write_file(const char *path, const struct xs_buf *b)
{
	return xs_write_file_atomic(path, b->data, b->len, 0644);
}

/* Run argv, capture stdout+stderr; returns the exit status or -1. */
static int run(char *const argv[], struct xs_buf *out)
{
	int fds[2];
	xs_buf_init(out, 1 << 20);
	if (pipe(fds) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		/* the guest inherits the environment: the valgrind setup's
		 * LD_LIBRARY_PATH (debug libraries) and preload would send its
		 * loader searching directories */
		unsetenv("LD_PRELOAD");
		unsetenv("LD_LIBRARY_PATH");
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	char buf[4096];
	ssize_t k;
	while ((k = read(fds[0], buf, sizeof buf)) > 0)
		xs_buf_append(out, buf, (size_t)k);
	close(fds[0]);
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The flag values ld.so accepts for each architecture: _dl_cache_check_flags
 * in sysdeps/unix/sysv/linux/<arch>/dl-cache.h (arm: the ABI's value or plain
 * FLAG_ELF_LIBC6; i386: generic, 1 or 3; mips64el: n64 legacy NaN). */
static int flags_accepted(const char *deb, uint32_t f)
{
	static const struct {
		const char *deb;
		uint32_t f[2];
	} t[] = {
		{ "amd64", { 0x0303 } },	  { "arm64", { 0x0a03 } },
		{ "armhf", { 0x0903, 0x0003 } },  { "armel", { 0x0b03, 0x0003 } },
		{ "i386", { 0x0003, 0x0001 } },	  { "ppc64el", { 0x0503 } },
		{ "s390x", { 0x0403 } },	  { "mips64el", { 0x0703 } },
		{ "riscv64", { 0x1003 } },	  { "loong64", { 0x1203 } },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(t); i++)
		if (strcmp(t[i].deb, deb) == 0)
			return f == t[i].f[0] || (t[i].f[1] && f == t[i].f[1]);
	return 0;
}

/* elf/cache.c print_entry: "libc6" + the FLAG_REQUIRED_MASK name; an
 * ldconfig older than the name prints the number (2.36: loongarch ",4608"). */
static const char *flag_name(uint32_t f, int alt)
{
	static const struct {
		uint32_t f;
		const char *name[2];
	} t[] = {
		{ 0x0003, { "libc6" } },
		{ 0x0303, { "libc6,x86-64" } },
		{ 0x0a03, { "libc6,AArch64" } },
		{ 0x0903, { "libc6,hard-float" } },
		{ 0x0b03, { "libc6,soft-float" } },
		{ 0x0503, { "libc6,64bit" } },
		{ 0x0403, { "libc6,64bit" } },
		{ 0x0703, { "libc6,64bit" } },
		{ 0x1003, { "libc6,double-float" } },
		{ 0x1203, { "libc6,double-float", "libc6,4608" } },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(t); i++)
		if (t[i].f == f)
			return t[i].name[alt];
	return NULL;
}

static void test_oracle(void)
{
	const char *ldc = ldconfig_path();
	size_t n;
	const struct xs_arch *t = xs_arch_table(&n);
	if (!ldc) {
		printf("ok %d # SKIP no ldconfig on the host\n", ++tap_n);
		return;
	}
	int host_big = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
	for (size_t i = 0; i < n; i++) {
		const struct xs_arch *a = &t[i];
		const char *tr = a->triplet;
		char v[9][128];
		/* input order = priority order */
		const char *k[9] = { "libc.so.6", "libm.so.6", "libz.so.1", "libfoo.so.9",
				     "libfoo.so.10", "libcrypt.so.1", "libz.so.1", "libc.so.6",
				     "libfoo.so.010" };
		const char *dir[9] = { "/lib", "/lib", "/lib", "/usr/lib", "/usr/lib", "/lib",
				       "/usr/local/lib", "/usr/local/lib", "/opt/lib" };
		struct xs_ldcache_entry e[9];
		for (int j = 0; j < 9; j++) {
			if (j < 6)
				snprintf(v[j], sizeof v[j], "%s/%s/%s", dir[j], tr, k[j]);
			else
				snprintf(v[j], sizeof v[j], "%s/%s", dir[j], k[j]);
			e[j] = (struct xs_ldcache_entry){ k[j], v[j] };
		}
		/* descending _dl_cache_libcmp, worked out by hand */
		static const int want_order[6] = { 2, 1, 4, 3, 5, 0 };

		char path[128];
		snprintf(path, sizeof path, "%s/%s.cache", tmpdir, a->deb);
		struct xs_buf b, out, want;
		int r = xs_ldcache_build(a, e, 9, &b);
		CHECK_INT(r, 0, "%s: build", a->deb);
		if (r < 0)
			continue;
		int big = a->elf_data == 2;
		if (big != host_big) {
			/* glibc's ldconfig refuses a cache of the other byte order
			 * (check_new_cache): proof of the header flag.  Print the
			 * same-order twin instead. */
			write_file(path, &b);
			char *argv[] = { (char *)ldc, "-p", "-C", path, NULL };
			int st = run(argv, &out);
			CHECK(st != 0 && strstr(out.data ? out.data : "", "wrong endianness"),
			      "%s: host ldconfig rejects the %s-endian cache: %s", a->deb,
			      big ? "big" : "little", out.data ? strtok(out.data, "\n") : "");
			xs_buf_free(&out);
			xs_buf_free(&b);
			struct xs_arch twin = *a;
			twin.elf_data = host_big ? 2 : 1;
			CHECK_INT(xs_ldcache_build(&twin, e, 9, &b), 0, "%s: host-order twin", a->deb);
		}
		write_file(path, &b);
		xs_buf_free(&b);

		CHECK(flags_accepted(a->deb, a->ldcache_flags),
		      "%s: flags %#x are what ld.so's _dl_cache_check_flags accepts", a->deb,
		      a->ldcache_flags);
		char *argv[] = { (char *)ldc, "-p", "-C", path, NULL };
		int st = run(argv, &out);
		CHECK_INT(st, 0, "%s: ldconfig -p -C exits 0", a->deb);
		int match = 0;
		const char *matched = NULL;
		for (int alt = 0; alt < 2 && !match; alt++) {
			const char *fn = flag_name(a->ldcache_flags, alt);
			if (!fn)
				continue;
			xs_buf_init(&want, 1 << 16);
			xs_buf_printf(&want, "6 libs found in cache `%s'\n", path);
			for (int j = 0; j < 6; j++) {
				int w = want_order[j];
				xs_buf_printf(&want, "\t%s (%s) => %s\n", k[w], fn, v[w]);
			}
			xs_buf_printf(&want, "Cache generated by: xsysroot ");
			match = out.data && strncmp(out.data, want.data, want.len) == 0;
			if (match)
				matched = fn;
			xs_buf_free(&want);
		}
		if (!match)
			printf("#   got (want flags %s, entries z m foo.10 foo.9 crypt c):\n%s\n",
			       flag_name(a->ldcache_flags, 0), out.data ? out.data : "");
		CHECK(match, "%s: ldconfig -p prints the 6 entries in order, flags (%s), generator",
		      a->deb, matched ? matched : flag_name(a->ldcache_flags, 0));
		if (a == xs_arch_lookup("arm64"))
			CHECK(out.data && strstr(out.data, "\tlibc.so.6 (libc6,AArch64) => "
							   "/lib/aarch64-linux-gnu/libc.so.6\n"),
			      "arm64: the literal libc.so.6 line");
		xs_buf_free(&out);
	}
}

/* ---- the host's own ld.so under qemu-x86_64 -L (offline end to end) ------- */

static int copy_file(const char *from, const char *to)
{
	struct xs_buf b;
	int r = xs_read_file(from, 64 << 20, &b);
	if (r < 0)
		return r;
	char d[256];
	snprintf(d, sizeof d, "%s", to);
	*strrchr(d, '/') = 0;
	r = xs_mkdir_p(d, 0755);
	if (r == 0)
		r = xs_write_file_atomic(to, b.data, b.len, 0755);
	xs_buf_free(&b);
	return r;
}

static void test_real_ldso(void)
{
	const char *qemu = "/usr/bin/qemu-x86_64";
	const char *ld = "/lib64/ld-linux-x86-64.so.2", *libc = "/lib/x86_64-linux-gnu/libc.so.6";
	const char *libdl = "/lib/x86_64-linux-gnu/libdl.so.2", *prog = "/usr/bin/true";
#ifndef __x86_64__
	if (1) {
		printf("ok %d # SKIP needs an amd64 host\n", ++tap_n);
		return;
	}
#endif
	if (access(qemu, X_OK) || access(ld, R_OK) || access(libc, R_OK) ||
	    access(libdl, R_OK) || access(prog, R_OK)) {
		printf("ok %d # SKIP needs an amd64 host with qemu-x86_64, libc6\n", ++tap_n);
		return;
	}
	char root[128], p[256];
	snprintf(root, sizeof root, "%s/root", tmpdir);
	/* the libraries live where only the cache says: nothing under the
	 * default directories of the prefix */
	snprintf(p, sizeof p, "%s%s", root, ld);
	int r = copy_file(ld, p);
	snprintf(p, sizeof p, "%s/xs-cache-test/libc-copy.so.6", root);
	r = r ?: copy_file(libc, p);
	snprintf(p, sizeof p, "%s/xs-cache-test/dl-copy.so", root);
	r = r ?: copy_file(libdl, p);
	snprintf(p, sizeof p, "%s/usr/bin/true", root);
	r = r ?: copy_file(prog, p);
	CHECK_INT(r, 0, "prefix assembled");

	/* libc.so.6 plus neighbours, and a non-ASCII key whose place depends
	 * on x86's signed char */
	static char names[26][32];
	struct xs_ldcache_entry e[28];
	size_t n = 0;
	for (int i = 0; i < 25; i++) {
		snprintf(names[i], sizeof names[i], "libxs%c.so.1", 'a' + i);
		e[n++] = (struct xs_ldcache_entry){ names[i], "/xs-cache-test/missing.so" };
	}
	e[n++] = (struct xs_ldcache_entry){ "libc.so.6", "/xs-cache-test/libc-copy.so.6" };
	e[n++] = (struct xs_ldcache_entry){ "libxs\xe9.so.1", "/xs-cache-test/dl-copy.so" };
	struct xs_buf b, out;
	CHECK_INT(xs_ldcache_build(arch("amd64"), e, n, &b), 0, "amd64 cache built");
	snprintf(p, sizeof p, "%s/etc", root);
	xs_mkdir_p(p, 0755);
	snprintf(p, sizeof p, "%s/etc/ld.so.cache", root);
	write_file(p, &b);
	xs_buf_free(&b);

	snprintf(p, sizeof p, "%s/usr/bin/true", root);
	char *argv[] = { (char *)qemu, "-L", root, "-E", "LD_DEBUG=libs", p, NULL };
	int st = run(argv, &out);
	const char *o = out.data ? out.data : "";
	const char *s = strstr(o, "search cache=/etc/ld.so.cache");
	CHECK(st == 0 && s && strstr(s, "trying file=/xs-cache-test/libc-copy.so.6"),
	      "ld.so found libc.so.6 through the cache (exit %d)", st);
	if (!(st == 0 && s))
		printf("# %s\n", o);
	xs_buf_free(&out);

	char *argv2[] = { (char *)qemu, "-L", root, "-E", "LD_DEBUG=libs",
			  "-E", "LD_PRELOAD=libxs\xe9.so.1", p, NULL };
	st = run(argv2, &out);
	o = out.data ? out.data : "";
	CHECK(st == 0 && strstr(o, "trying file=/xs-cache-test/dl-copy.so") &&
		      !strstr(o, "cannot be preloaded"),
	      "ld.so found the non-ASCII key (signed-char order) (exit %d)", st);
	if (st != 0)
		printf("# %s\n", o);
	xs_buf_free(&out);

	/* one cache for two architectures: the aarch64 entry of libc.so.6
	 * sorts first (flags 0x0a03 > 0x0303) and names a file that is not
	 * there; the x86-64 loader must skip it for its own */
	struct xs_ldcache_entry d[] = {
		{ "libc.so.6", "/xs-cache-test/aarch64-libc.so.6", 0x0a03 },
		{ "libxsa.so.1", "/xs-cache-test/missing.so", 0x0a03 },
		{ "libc.so.6", "/xs-cache-test/libc-copy.so.6", 0x0303 },
	};
	CHECK_INT(xs_ldcache_build(arch("arm64"), d, 3, &b), 0, "two-architecture cache built");
	snprintf(p, sizeof p, "%s/etc/ld.so.cache", root);
	write_file(p, &b);
	xs_buf_free(&b);
	snprintf(p, sizeof p, "%s/usr/bin/true", root);
	st = run(argv, &out);
	o = out.data ? out.data : "";
	s = strstr(o, "search cache=/etc/ld.so.cache");
	bool own = st == 0 && s && strstr(s, "trying file=/xs-cache-test/libc-copy.so.6") &&
		   !strstr(o, "aarch64-libc") && !strstr(o, "search path=");
	CHECK(own, "x86-64 ld.so takes its own entry of a two-architecture cache, skipping the "
		   "aarch64 one, and searches no directory (exit %d)", st);
	if (!own)
		printf("# %s\n", o);
	xs_buf_free(&out);
}

/* Entries of two architectures with one key: both kept, each with its
 * flags, larger flags first (ldconfig's order), and the host's ldconfig
 * prints them as such; xs_ldcache_parse reads them back. */
static void test_two_arches(void)
{
	struct xs_ldcache_entry e[] = {
		{ "libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6", 0 },
		{ "libz.so.1", "/usr/lib/aarch64-linux-gnu/libz.so.1", 0 },
		{ "libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x0303 },
		{ "libbfd-2.40-arm64.so", "/usr/lib/x86_64-linux-gnu/libbfd-2.40-arm64.so", 0x0303 },
		{ "libc.so.6", "/usr/lib/x86_64-linux-gnu/later/libc.so.6", 0x0303 },
		{ "libz.so.1", "/usr/lib/aarch64-linux-gnu/later/libz.so.1", 0x0a03 },
	};
	struct xs_buf b, out;
	CHECK_INT(xs_ldcache_build(arch("arm64"), e, XS_ARRAY_SIZE(e), &b), 0,
		  "arm64 + amd64 cache built");
	struct xs_ldcache_entry *r = NULL;
	size_t n = 0;
	CHECK_INT(xs_ldcache_parse(arch("arm64"), b.data, b.len, &r, &n), 0, "parsed back");
	static const char *want[][2] = {
		{ "libz.so.1", "/usr/lib/aarch64-linux-gnu/libz.so.1" },
		{ "libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6" },
		{ "libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6" },
		{ "libbfd-2.40-arm64.so", "/usr/lib/x86_64-linux-gnu/libbfd-2.40-arm64.so" },
	};
	static const uint32_t wflags[] = { 0x0a03, 0x0a03, 0x0303, 0x0303 };
	int same = n == XS_ARRAY_SIZE(want);
	for (size_t i = 0; same && i < n; i++)
		same = !strcmp(r[i].key, want[i][0]) && !strcmp(r[i].value, want[i][1]) &&
		       r[i].flags == wflags[i];
	CHECK(same, "4 entries: one per key and architecture, the first of each pair kept, "
		    "larger flags first");
	free(r);
	CHECK_INT(xs_ldcache_parse(arch("s390x"), b.data, b.len, &r, &n), -EPROTO,
		  "parse: the other byte order refused");
	CHECK_INT(xs_ldcache_parse(arch("arm64"), b.data, 60, &r, &n), -EBADMSG,
		  "parse: a truncated cache refused");
	const char *ldc = ldconfig_path();
	char path[256];
	snprintf(path, sizeof path, "%s/two.cache", tmpdir);
	write_file(path, &b);
	xs_buf_free(&b);
	if (!ldc) {
		printf("ok %d # SKIP no ldconfig on the host\n", ++tap_n);
		return;
	}
	char *argv[] = { (char *)ldc, "-p", "-C", path, NULL };
	int st = run(argv, &out);
	struct xs_buf w;
	xs_buf_init(&w, 1 << 16);
	xs_buf_printf(&w, "4 libs found in cache `%s'\n", path);
	for (size_t i = 0; i < 4; i++)
		xs_buf_printf(&w, "\t%s (%s) => %s\n", want[i][0],
			      flag_name(wflags[i], 0), want[i][1]);
	CHECK(st == 0 && out.data && !strncmp(out.data, w.data, w.len),
	      "ldconfig -p -C prints both architectures' entries with their flags");
	if (!(st == 0 && out.data && !strncmp(out.data, w.data, w.len)))
		printf("# got:\n%s\n# want:\n%s\n", out.data ? out.data : "", w.data);
	xs_buf_free(&w);
	xs_buf_free(&out);
}

/* ---- which names are libraries: ldconfig's search_dir -------------------- */

static const char *const one_dir[] = {
	"libbfd-2.40-arm64.so",			/* its SONAME is its name: an entry */
	"libfoo.so.1.2.3",			/* its SONAME is libfoo.so.1: none */
	"libfoo.so.1",	      "libfoo.so",	/* the linker's link: keyed by its name */
	"libc-2.31.so",	      "libc.so.6",	/* glibc before 2.34: the real files */
	"ld-2.31.so",	      "ld-linux-x86-64.so.2",
	"libbfd.so",				/* -> libbfd-2.40-arm64.so: none */
	"libctf-nobfd.so",    "libctf.so",	/* both the linker's links */
	"libctf.so.0",	      "crt1.o",		"libfoo.a", "libfoo.la",
	"libx.so.1.#prelink#", "ld.so.1",	"ldconfig", "libc.so", /* a script */
	"libbz2.so.1",	      "libbz2.so.1.0",	"libbz2.so.1.0.4", /* SONAME libbz2.so.1.0 */
};

static int names_list(void *ud, const char *dir, int (*cb)(const char *name, void *cbud),
		      void *cbud)
{
	(void)ud;
	(void)dir;
	for (size_t i = 0; i < XS_ARRAY_SIZE(one_dir); i++)
		cb(one_dir[i], cbud);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* From names alone (a lazy view's directory): the keys ldconfig would give
 * these files as Debian ships them. */
static void test_names(void)
{
	char *dirs[] = { "usr/lib/x86_64-linux-gnu", NULL };
	struct xs_sysroot_ldlist l = { 0 };
	xs_sysroot_ldlist_add(&l, dirs, 0, names_list, NULL);
	const char **k = calloc(l.n + 1, sizeof *k);
	for (size_t i = 0; i < l.n; i++)
		k[i] = l.e[i].key;
	qsort(k, l.n, sizeof *k, cmp_str);
	struct xs_buf got;
	xs_buf_init(&got, 1 << 16);
	for (size_t i = 0; i < l.n; i++)
		xs_buf_printf(&got, "%s%s", i ? " " : "", k[i]);
	CHECK_STR(got.data, "ld-linux-x86-64.so.2 ld.so.1 libbfd-2.40-arm64.so libbz2.so.1 "
			    "libbz2.so.1.0 libc.so.6 "
			    "libctf-nobfd.so libctf.so libctf.so.0 libfoo.so libfoo.so.1",
		  "names alone: unversioned sonames and the linker's links in, real files "
		  "beside their soname, objects, archives and prelink temporaries out");
	int values = l.n > 0;
	for (size_t i = 0; i < l.n; i++)
		values = values && !strncmp(l.e[i].value, "/usr/lib/x86_64-linux-gnu/", 26) &&
			 !strcmp(l.e[i].value + 26, l.e[i].key);
	CHECK(values, "each value is /DIR/KEY, as ldconfig writes it");
	xs_buf_free(&got);
	free(k);
	xs_sysroot_ldlist_free(&l);
}

static int copy_host(const char *from, const char *dir, const char *name)
{
	struct xs_buf b;
	char to[512];
	snprintf(to, sizeof to, "%s/%s", dir, name);
	int q = xs_read_file(from, 64u << 20, &b);
	if (q == 0)
		q = write_file(to, &b);
	xs_buf_free(&b);
	return q;
}

/* The entries of a cache as "KEY FLAGS VALUE" lines, in file order. */
static void entries_text(const void *data, size_t len, struct xs_buf *out)
{
	struct xs_ldcache_entry *e = NULL;
	size_t n = 0;
	xs_buf_init(out, 1 << 16);
	if (xs_ldcache_parse(arch("amd64"), data, len, &e, &n) < 0)
		xs_buf_printf(out, "(unreadable)");
	for (size_t i = 0; i < n; i++)
		xs_buf_printf(out, "%s %#x %s\n", e[i].key, e[i].flags, e[i].value);
	free(e);
}

/* Real x86-64 libraries of the host in one directory, read by the host's
 * ldconfig (-r ROOT -X: no links made) and by the host-tree lister: the
 * same entries in the same order.  libz.so.1.2.13 (its SONAME is libz.so.1)
 * and libz-1.2.so (a copy, glibc's old naming) give none of their own;
 * libmemusage.so and libbfd-2.40-arm64.so (SONAME = name) do; the link
 * libz.so does, libbfd.so does not; a linker script and a dangling link
 * give none. */
static void test_oracle_names(void)
{
	static const char *host = "/usr/lib/x86_64-linux-gnu";
	static const char *need[] = { "libz.so.1.2.13", "libmemusage.so", "libbfd-2.40-arm64.so" };
	const char *ldc = ldconfig_path();
	char root[256], lib[300], path[600];
	for (size_t i = 0; i < XS_ARRAY_SIZE(need); i++) {
		snprintf(path, sizeof path, "%s/%s", host, need[i]);
#if !defined(__x86_64__)
		path[0] = 0;
#endif
		if (!ldc || !path[0] || access(path, R_OK)) {
			printf("ok %d # SKIP needs ldconfig and %s on an amd64 host\n", ++tap_n, path);
			return;
		}
	}
	snprintf(root, sizeof root, "%s/names-root", tmpdir);
	snprintf(lib, sizeof lib, "%s/lib", root);
	xs_mkdir_p(lib, 0755);
	snprintf(path, sizeof path, "%s/etc", root);
	xs_mkdir_p(path, 0755);
	snprintf(path, sizeof path, "%s/etc/ld.so.conf", root);
	int q = xs_write_file_atomic(path, "", 0, 0644);
	for (size_t i = 0; q == 0 && i < XS_ARRAY_SIZE(need); i++) {
		snprintf(path, sizeof path, "%s/%s", host, need[i]);
		q = copy_host(path, lib, need[i]);
	}
	snprintf(path, sizeof path, "%s/libz.so.1.2.13", host);
	if (q == 0)
		q = copy_host(path, lib, "libz-1.2.so");
	static const char *links[][2] = { { "libz.so.1.2.13", "libz.so.1" },
					  { "libz.so.1", "libz.so" },
					  { "libbfd-2.40-arm64.so", "libbfd.so" },
					  { "libmissing.so.3.1", "libmissing.so.3" } };
	for (size_t i = 0; q == 0 && i < XS_ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof path, "%s/%s", lib, links[i][1]);
		q = symlink(links[i][0], path) < 0 ? -errno : 0;
	}
	snprintf(path, sizeof path, "%s/libzz.so", lib);
	if (q == 0)
		q = xs_write_file_atomic(path, "INPUT(libz.so.1)\n", 17, 0644);
	CHECK_INT(q, 0, "a root of host libraries, links and a linker script");

	char *argv[] = { (char *)ldc, "-X", "-r", root, "-C", "/out.cache", NULL };
	struct xs_buf out, theirs, ours, want, got;
	int st = run(argv, &out);
	CHECK(st == 0, "ldconfig -X -r ROOT -C /out.cache exits 0 (%s)", out.data ? out.data : "");
	xs_buf_free(&out);
	snprintf(path, sizeof path, "%s/out.cache", root);
	if (xs_read_file(path, 1 << 20, &theirs) < 0)
		xs_buf_init(&theirs, 0);
	entries_text(theirs.data, theirs.len, &want);

	char *dirs[] = { "lib", NULL };
	struct xs_sysroot_ldlist l = { 0 };
	xs_sysroot_ldlist_add(&l, dirs, 0, xs_sysroot_list_host, root);
	CHECK_INT(xs_ldcache_build(arch("amd64"), l.e, l.n, &ours), 0, "our cache of the root");
	xs_sysroot_ldlist_free(&l);
	entries_text(ours.data, ours.len, &got);
	CHECK(want.len > 0 && !strcmp(got.data, want.data),
	      "the same entries as ldconfig's, in its order");
	if (!want.len || strcmp(got.data, want.data))
		printf("# ldconfig:\n%s# ours:\n%s", want.data, got.data);
	CHECK(strstr(got.data, "libbfd-2.40-arm64.so 0x303 /lib/libbfd-2.40-arm64.so\n") != NULL,
	      "the unversioned soname is an entry");
	xs_buf_free(&theirs);
	xs_buf_free(&ours);
	xs_buf_free(&want);
	xs_buf_free(&got);
}

int main(void)
{
	tmpdir = tl_root();
	test_libcmp();
	test_errors();
	test_layout("arm64", 0);
	test_layout("s390x", 1);
	test_byteswap();
	test_order_lookup();
	test_char_signedness();
	test_oracle();
	test_real_ldso();
	test_two_arches();
	test_names();
	test_oracle_names();
	return tap_done();
}
