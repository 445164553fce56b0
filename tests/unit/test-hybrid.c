/* test-hybrid.c - the hybrid build root (include/xsysroot/hybrid.h): the
 * cross package names of target toolchain packages, and the links from the
 * cross compiler's directory to the target's libgcc (a layer and a target
 * root made in a temporary directory). */
#include "tap.h"
#include "xsysroot/hybrid.h"
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

static void links(void)
{
	char tmpl[] = "/tmp/test-hybrid-XXXXXX", err[512];
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

int main(void)
{
	names();
	links();
	return tap_done();
}
