/* test-hybrid.c - the hybrid build root (include/xsysroot/hybrid.h): the
 * cross package names of target toolchain packages, and the links from the
 * cross compiler's directory to the target's libgcc (a layer and a target
 * root made in a temporary directory); the two architectures' ld.so.cache
 * and the dpkg status with the replaced toolchain packages held. */
#include "tap.h"
#include "xsysroot/hybrid.h"
#include "xsysroot/ldcache.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void names(void)
{
	char out[64];
	static const struct {
		const char *pkg, *triplet, *want;
	} ok[] = {
		{ "gcc-12", "aarch64-linux-gnu", "gcc-12-aarch64-linux-gnu" },
		{ "cpp-12", "aarch64-linux-gnu", "cpp-12-aarch64-linux-gnu" },
		{ "g++-14", "arm-linux-gnueabihf", "g++-14-arm-linux-gnueabihf" },
		{ "gfortran-12", "s390x-linux-gnu", "gfortran-12-s390x-linux-gnu" },
		{ "binutils-aarch64-linux-gnu", "aarch64-linux-gnu", "binutils-aarch64-linux-gnu" },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(ok); i++) {
		CHECK_INT(xs_hybrid_cross_name(ok[i].pkg, ok[i].triplet, out, sizeof out), 1,
			  "%s is a toolchain package", ok[i].pkg);
		CHECK_STR(out, ok[i].want, "%s's cross package", ok[i].pkg);
	}
	static const char *const no[] = { "gcc", "gcc-12-base", "libgcc-12-dev", "cpp",
					  "binutils", "binutils-arm-linux-gnueabihf", "gcc-",
					  "g++-12x", "hello" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(no); i++)
		CHECK_INT(xs_hybrid_cross_name(no[i], "aarch64-linux-gnu", out, sizeof out), 0,
			  "%s is no toolchain package (for aarch64-linux-gnu)", no[i]);
	CHECK_INT(xs_hybrid_cross_name("gcc-12", "aarch64-linux-gnu", out, 10), -ENAMETOOLONG,
		  "a name that does not fit");
}

static void touch(const char *dir, const char *name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	CHECK_INT(xs_write_file_atomic(p, "x", 1, 0644), 0, "made %s", p);
}

/* A file that starts as ELF does (the library lister reads no further). */
static void touch_elf(const char *dir, const char *name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	CHECK_INT(xs_write_file_atomic(p, "\177ELF", 4, 0644), 0, "made %s", p);
}

static void links(void)
{
	char tmpl[] = "/tmp/test-hybrid-XXXXXX", err[512] = "";
	char *base = mkdtemp(tmpl);
	CHECK(base != NULL, "a temporary directory");
	char layer[256], root[256], out[256], cross[PATH_MAX], target[PATH_MAX];
	snprintf(layer, sizeof layer, "%s/layer", base);
	snprintf(root, sizeof root, "%s/root", base);
	snprintf(out, sizeof out, "%s/links", base);
	snprintf(cross, sizeof cross, "%s/usr/lib/gcc-cross/aarch64-linux-gnu/12", layer);
	snprintf(target, sizeof target, "%s/usr/lib/gcc/aarch64-linux-gnu/12", root);
	xs_mkdir_p(cross, 0755);
	xs_mkdir_p(target, 0755);
	touch(cross, "cc1");
	touch(cross, "libgomp.spec");
	touch(target, "cc1");
	touch(target, "libgomp.spec");
	touch(target, "libgcc.a");
	touch(target, "crtbegin.o");
	char inc[PATH_MAX + 16];
	snprintf(inc, sizeof inc, "%s/include", target);
	xs_mkdir_p(inc, 0755);
	char cxx[PATH_MAX];
	snprintf(cxx, sizeof cxx, "%s/usr/include/c++/12", root);
	xs_mkdir_p(cxx, 0755);
	touch(cxx, "iostream");
	CHECK_INT(xs_hybrid_link_target(layer, root, out, "aarch64-linux-gnu", err, sizeof err), 0,
		  "links made (%s)", err);
	char p[PATH_MAX * 2], buf[PATH_MAX];
	static const char *const linked[] = { "libgcc.a", "crtbegin.o", "include" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(linked); i++) {
		snprintf(p, sizeof p, "%s/usr/lib/gcc-cross/aarch64-linux-gnu/12/%s", out, linked[i]);
		ssize_t n = readlink(p, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = 0;
		char want[256];
		snprintf(want, sizeof want, "../../../gcc/aarch64-linux-gnu/12/%s", linked[i]);
		CHECK_STR(buf, want, "%s links to the target's", linked[i]);
	}
	static const char *const cxx_links[][2] = {
		{ "iostream", "../../../../include/c++/12/iostream" },
		{ "aarch64-linux-gnu", "../../../../include/aarch64-linux-gnu/c++/12" },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(cxx_links); i++) {
		snprintf(p, sizeof p, "%s/usr/aarch64-linux-gnu/include/c++/12/%s", out,
			 cxx_links[i][0]);
		ssize_t n = readlink(p, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = 0;
		CHECK_STR(buf, cxx_links[i][1], "the cross g++'s c++/12/%s", cxx_links[i][0]);
	}
	struct stat st;
	snprintf(p, sizeof p, "%s/usr/lib/gcc-cross/aarch64-linux-gnu/12/cc1", out);
	CHECK(lstat(p, &st) < 0, "cc1 stays the cross compiler's (no link)");
	snprintf(p, sizeof p, "%s/usr/lib/gcc-cross/aarch64-linux-gnu/12/libgomp.spec", out);
	CHECK(lstat(p, &st) < 0, "libgomp.spec stays the cross compiler's");
	xs_rm_rf(base);
}

static const char status[] =
	"Package: gcc-12\nStatus: install ok installed\nArchitecture: arm64\n\n"
	"Package: libc6\nStatus: install ok installed\nArchitecture: arm64\n\n"
	"Package: binutils-aarch64-linux-gnu\nStatus: install ok installed\n\n"
	"Package: gcc\nStatus: install ok installed\n";

/* The view's cache and status in root, the layer's libraries: what the
 * links layer gets. */
static void cache_and_status(void)
{
	char tmpl[] = "/tmp/test-hybrid-XXXXXX", err[512] = "", p[PATH_MAX], lib[512];
	char *base = mkdtemp(tmpl);
	CHECK(base != NULL, "a temporary directory");
	char root[256], layer[256], links[256];
	snprintf(root, sizeof root, "%s/root", base);
	snprintf(layer, sizeof layer, "%s/layer", base);
	snprintf(links, sizeof links, "%s/links", base);
	const struct xs_arch *arm64 = xs_arch_lookup("arm64"), *amd64 = xs_arch_lookup("amd64");
	struct xs_ldcache_entry view[] = {
		{ "libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6", 0 },
		{ "libz.so.1", "/usr/lib/aarch64-linux-gnu/libz.so.1", 0 },
	};
	struct xs_buf b;
	CHECK_INT(xs_ldcache_build(arm64, view, 2, &b), 0, "the view's cache");
	snprintf(p, sizeof p, "%s/etc", root);
	xs_mkdir_p(p, 0755);
	snprintf(p, sizeof p, "%s/etc/ld.so.cache", root);
	xs_write_file_atomic(p, b.data, b.len, 0644);
	xs_buf_free(&b);
	snprintf(lib, sizeof lib, "%s/usr/lib/x86_64-linux-gnu", layer);
	xs_mkdir_p(lib, 0755);
	touch_elf(lib, "libc.so.6");
	touch_elf(lib, "libbfd-2.40-arm64.so");
	touch_elf(lib, "libfoo.so.1");
	touch(lib, "libscript.so"); /* not ELF: no entry */
	snprintf(p, sizeof p, "%s/libfoo.so", lib);
	CHECK_INT(symlink("libfoo.so.1", p), 0, "a linker's link");
	size_t nb = 0;
	CHECK_INT(xs_hybrid_ldcache(arm64, amd64, root, layer, links, &nb, err, sizeof err), 0,
		  "the two architectures' cache written (%s)", err);
	CHECK_INT(nb, 4, "four amd64 entries: libc.so.6, libbfd-2.40-arm64.so, libfoo.so.1 and "
		  "the link libfoo.so (ldconfig keys it by its name)");
	snprintf(p, sizeof p, "%s/etc/ld.so.cache", links);
	struct xs_ldcache_entry *e = NULL;
	size_t n = 0;
	int ok = xs_read_file(p, 1 << 20, &b) == 0 &&
		 xs_ldcache_parse(arm64, b.data, b.len, &e, &n) == 0 && n == 6;
	static const char *const want[][2] = {
		{ "libz.so.1", "/usr/lib/aarch64-linux-gnu/libz.so.1" },
		{ "libfoo.so.1", "/usr/lib/x86_64-linux-gnu/libfoo.so.1" },
		{ "libfoo.so", "/usr/lib/x86_64-linux-gnu/libfoo.so" },
		{ "libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6" },
		{ "libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6" },
		{ "libbfd-2.40-arm64.so", "/usr/lib/x86_64-linux-gnu/libbfd-2.40-arm64.so" },
	};
	for (size_t i = 0; ok && i < n; i++)
		ok = !strcmp(e[i].key, want[i][0]) && !strcmp(e[i].value, want[i][1]) &&
		     e[i].flags == (strstr(want[i][1], "x86_64") ? 0x0303u : 0x0a03u);
	CHECK(ok, "its entries: the view's with aarch64 flags, the layer's with x86-64 ones, "
		  "in ld.so's order");
	free(e);
	xs_buf_free(&b);
	CHECK_INT(xs_hybrid_ldcache(xs_arch_lookup("s390x"), amd64, root, layer, base, &nb, err,
				    sizeof err),
		  0, "s390x and amd64: no common byte order, nothing written");
	snprintf(p, sizeof p, "%s/etc/ld.so.cache", base);
	struct stat st;
	CHECK(stat(p, &st) < 0, "no cache for s390x");

	snprintf(p, sizeof p, "%s/var/lib/dpkg", root);
	xs_mkdir_p(p, 0755);
	snprintf(p, sizeof p, "%s/var/lib/dpkg/status", root);
	xs_write_file_atomic(p, status, sizeof status - 1, 0644);
	size_t held = 0;
	CHECK_INT(xs_hybrid_dpkg_status(root, links, "aarch64-linux-gnu", &held, err, sizeof err),
		  0, "the status written (%s)", err);
	CHECK_INT(held, 2, "two packages held");
	snprintf(p, sizeof p, "%s/var/lib/dpkg/status", links);
	xs_buf_init(&b, 0);
	xs_read_file(p, 1 << 20, &b);
	CHECK_STR(b.data ? b.data : "",
		  "Package: gcc-12\nStatus: hold ok installed\nArchitecture: arm64\n\n"
		  "Package: libc6\nStatus: install ok installed\nArchitecture: arm64\n\n"
		  "Package: binutils-aarch64-linux-gnu\nStatus: hold ok installed\n\n"
		  "Package: gcc\nStatus: install ok installed\n",
		  "gcc-12 and binutils-aarch64-linux-gnu held, the rest as it was");
	xs_buf_free(&b);
	xs_rm_rf(base);
}

int main(void)
{
	names();
	links();
	cache_and_status();
	return tap_done();
}
