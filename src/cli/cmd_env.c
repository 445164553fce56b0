/* cmd_env.c - xsysroot env: build-tool settings for a mount. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "host.h"
#include "output.h"
#include "xsysroot/arch.h"
#include "xsysroot/binfmt.h"
#include "xsysroot/identity.h"
#include "xsysroot/util.h"

/* A meson string literal.  Meson doubles every backslash of a machine file
 * before parsing it, so escapes cannot be used: a plain string, or a
 * multi-line one (raw) for a string with a quote; meson_can_quote says
 * which strings can be written. */
static bool meson_can_quote(const char *s)
{
	size_t n = strlen(s);
	return !strchr(s, '\'') ||
	       (!strchr(s, '\\') && !strstr(s, "'''") && n && s[n - 1] != '\'');
}

static char *meson_quote(const char *s)
{
	const char *q = strchr(s, '\'') ? "'''" : "'";
	return fmt_str("%s%s%s", q, s, q);
}

/* A CMake quoted argument. */
static char *cmake_quote(const char *s)
{
	struct xs_buf b;
	xs_buf_init(&b, SIZE_MAX / 2);
	xs_buf_append(&b, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\' || *p == '$')
			xs_buf_append(&b, "\\", 1);
		xs_buf_append(&b, p, 1);
	}
	xs_buf_append(&b, "\"", 1);
	return xs_buf_steal(&b, NULL);
}

/* Whether directory dir lists name.  Listing, not looking up: in a view,
 * the lookup of a path it lacks under /usr/lib adds the archive's package
 * that ships it (README: "No host leaks"). */
static bool dir_lists(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d)))
		found = !strcmp(de->d_name, name);
	closedir(d);
	return found;
}

static void print_sh_var(const char *name, const char *value)
{
	char *q = sh_quote(value);
	printf("export %s=%s\n", name, q);
	free(q);
}

/* print_sh_var with the name made from fmt and its one argument
 * ("CC_%s", "x86_64_unknown_linux_gnu"). */
static void print_sh_var_of(const char *fmt, const char *arg, const char *value)
	__attribute__((format(printf, 1, 0)));
static void print_sh_var_of(const char *fmt, const char *arg, const char *value)
{
	char *name = fmt_str(fmt, arg);
	print_sh_var(name, value);
	free(name);
}

/* ---- binfmt_misc: whether ./prog runs directly ---- */

/* Whether one binfmt_misc entry (its text: "enabled", "interpreter X",
 * "offset N", "magic HEX", "mask HEX") takes the programs whose header
 * starts with hdr; its interpreter into interp. */
static bool handler_takes(const char *text, const unsigned char *hdr, size_t hdrlen,
			  char *interp, size_t interpsz)
{
	unsigned char magic[128], mask[128];
	size_t nmagic = 0, nmask = 0;
	unsigned off = 0;
	if (strncmp(text, "enabled", 7))
		return false;
	const char *p = strstr(text, "\ninterpreter ");
	if (p)
		snprintf(interp, interpsz, "%.*s", (int)strcspn(p + 13, "\n"), p + 13);
	if ((p = strstr(text, "\noffset ")))
		off = (unsigned)strtoul(p + 8, NULL, 10);
	const char *fields[2] = { strstr(text, "\nmagic "), strstr(text, "\nmask ") };
	unsigned char *outs[2] = { magic, mask };
	size_t *lens[2] = { &nmagic, &nmask };
	for (int f = 0; f < 2; f++) {
		const char *h = fields[f] ? fields[f] + (f ? 6 : 7) : NULL;
		for (; h && isxdigit((unsigned char)h[0]) && isxdigit((unsigned char)h[1]) &&
		       *lens[f] < sizeof magic; h += 2) {
			char byte[3] = { h[0], h[1], 0 };
			outs[f][(*lens[f])++] = (unsigned char)strtoul(byte, NULL, 16);
		}
	}
	if (!nmagic || off + nmagic > hdrlen) /* an extension handler, or past the header */
		return false;
	for (size_t i = 0; i < nmagic; i++) {
		unsigned char k = i < nmask ? mask[i] : 0xff;
		if ((hdr[off + i] & k) != (magic[i] & k))
			return false;
	}
	return true;
}

/* The binfmt_misc handler that runs a's programs on this host: 1 with its
 * name and interpreter, 0 when none does, -1 when binfmt_misc is not
 * mounted. */
static int binfmt_handler_for(const struct xs_arch *a, char *name, size_t namesz, char *interp,
			      size_t interpsz)
{
	static const char dir[] = "/proc/sys/fs/binfmt_misc";
	unsigned char hdr[XS_BINFMT_MAGIC_LEN], mask[XS_BINFMT_MAGIC_LEN];
	xs_binfmt_magic(a, hdr, mask); /* a program's header: the magic itself */
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int found = 0;
	struct dirent *de;
	bool mounted = false;
	while (!found && (de = readdir(d))) {
		if (!strcmp(de->d_name, "status") || !strcmp(de->d_name, "register"))
			mounted = true;
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "status") ||
		    !strcmp(de->d_name, "register"))
			continue;
		char path[sizeof dir + 256], text[4096];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "re");
		size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
		if (f)
			fclose(f);
		text[n] = 0;
		if (handler_takes(text, hdr, sizeof hdr, interp, interpsz)) {
			snprintf(name, namesz, "%s", de->d_name);
			found = 1;
		}
	}
	closedir(d);
	return found ? 1 : mounted ? 0 : -1;
}

/* The comment lines of the sh format on running what is built. */
static void print_run_comment(const struct xs_arch *a, const char *qmp)
{
	char name[256] = "", interp[PATH_MAX] = "";
	int h = binfmt_handler_for(a, name, sizeof name, interp, sizeof interp);
	printf("# run the results with `xsysroot run %s -- ./prog` or `qemu-%s -L %s ./prog`,\n"
	       "# which always work;", a->deb, a->qemu, qmp);
	if (h > 0)
		printf(" ./prog works too here: the binfmt_misc handler %s (%s)\n"
		       "# runs %s programs, with QEMU_LD_PREFIX below\n", name, interp, a->deb);
	else if (h == 0)
		printf(" ./prog alone does not run here: no binfmt_misc handler runs\n"
		       "# %s programs (Debian's qemu-user-static or qemu-user-binfmt adds one)\n",
		       a->deb);
	else
		printf(" ./prog alone does not run here: binfmt_misc is not mounted\n"
		       "# (/proc/sys/fs/binfmt_misc), so no handler runs %s programs\n", a->deb);
}

/* ---- --format go ---- */

/* cgo for a: GOARCH is the OCI platform's architecture name (the same
 * names: arm64, arm, 386, ppc64le, mips64le...), GOARM its variant for arm
 * (armhf v7, armel v5).  cgo takes CC and CXX as words (quotes allowed) and
 * ignores LDFLAGS: the linker flags go in CGO_LDFLAGS. */
static void print_go(const struct xs_arch *a, const char *mp, const char *pc_libdir)
{
	char *qmp = sh_quote(mp);
	char *cc = fmt_str("clang --target=%s --sysroot=%s", a->triplet, qmp);
	char *cxx = fmt_str("clang++ --target=%s --sysroot=%s", a->triplet, qmp);
	char *exec = fmt_str("qemu-%s -L %s", a->qemu, mp);
	printf("# xsysroot env --format go: cgo for %s against %s\n"
	       "# eval \"$(xsysroot env --format go %s)\"; then: go build, or\n"
	       "# go test -exec 'xsysroot run %s --' (or -exec \"$XSYSROOT_GO_EXEC\")\n",
	       a->deb, mp, qmp, a->deb);
	print_sh_var("GOOS", "linux");
	print_sh_var("GOARCH", a->oci_arch);
	if (!strcmp(a->oci_arch, "arm") && a->oci_variant && a->oci_variant[0] == 'v')
		print_sh_var("GOARM", a->oci_variant + 1);
	else
		printf("unset GOARM\n");
	print_sh_var("CGO_ENABLED", "1");
	print_sh_var("CC", cc);
	print_sh_var("CXX", cxx);
	print_sh_var("CGO_CFLAGS", "-O2 -g");
	print_sh_var("CGO_CXXFLAGS", "-O2 -g");
	print_sh_var("CGO_LDFLAGS", "-O2 -g -fuse-ld=lld");
	print_sh_var("PKG_CONFIG_SYSROOT_DIR", mp);
	print_sh_var("PKG_CONFIG_LIBDIR", pc_libdir);
	printf("unset PKG_CONFIG_PATH\n");
	print_sh_var("QEMU_LD_PREFIX", mp);
	print_sh_var("XSYSROOT_GO_EXEC", exec);
	free(qmp), free(cc), free(cxx), free(exec);
}

static const struct option env_opts[] = {
	{ "format", required_argument, NULL, 'F' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int cmd_env(const struct cli_command *self, int argc, char **argv)
{
	const char *format = "sh";
	optind = 0; /* getopt starts afresh */
	int c;
	while ((c = cli_getopt(self, argc, argv, "h", env_opts)) != CLI_END) {
		switch (c) {
		case 'F': format = optarg; break;
		case CLI_HELP: return EXIT_SUCCESS;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(self, "env needs MOUNTPOINT");
	if (strcmp(format, "sh") && strcmp(format, "meson") && strcmp(format, "cmake") &&
	    strcmp(format, "cargo") && strcmp(format, "go")) {
		fprintf(stderr, "xsysroot: --format: '%s' is none of sh, meson, cmake, cargo, go\n",
			format);
		return EXIT_USAGE;
	}
	const char *mp_arg = argv[optind];
	char mp[PATH_MAX];
	if (mount_is_dead(mp_arg)) {
		fprintf(stderr, "xsysroot: %s: the daemon of this mount is gone (xsysroot umount "
				"it and mount again)\n", mp_arg);
		return 1;
	}
	if (!realpath(mp_arg, mp)) {
		fprintf(stderr, "xsysroot: %s: %s\n", mp_arg, strerror(errno));
		return 1;
	}
	char fstype[256] = "", source[PATH_MAX] = "";
	int q = mount_source(mp, fstype, sizeof fstype, source, sizeof source);
	if (q == -ENOENT) {
		fprintf(stderr, "xsysroot: %s is not an xsysroot mount (not a mount point)\n", mp);
		return 1;
	}
	if (q < 0) {
		fprintf(stderr, "xsysroot: cannot read /proc/self/mountinfo: %s\n", strerror(-q));
		return 1;
	}
	const char *arch = xs_id_fsname_arch(source);
	if (strcmp(fstype, XS_ID_FSTYPE) || !arch) {
		fprintf(stderr, "xsysroot: %s is not an xsysroot mount (it is a %s mount of %s)\n",
			mp, fstype, source);
		return 1;
	}
	const struct xs_arch *a = xs_arch_lookup(arch);
	if (!a) {
		fprintf(stderr, "xsysroot: %s: unknown architecture '%s' in the mount source %s\n",
			mp, arch, source);
		return 1;
	}
	for (const char *p = mp; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch == 0x7f || (!strcmp(format, "cmake") && ch == ';') ||
		    (!strcmp(format, "cargo") && ch == ' ')) {
			fprintf(stderr, "xsysroot: the mount point %s cannot be written in the %s "
					"format (it holds a %s): mount it elsewhere\n", mp, format,
				ch == ';' ? "';'" : ch == ' ' ? "space" : "control character");
			return 1;
		}
	}
	if (!strcmp(format, "meson") && !meson_can_quote(mp)) {
		fprintf(stderr, "xsysroot: the mount point %s cannot be written in the meson format "
				"(a quote with a backslash, three quotes or a final quote): mount it "
				"elsewhere\n", mp);
		return 1;
	}
	const char *tr = a->triplet;
	char *qemu = fmt_str("qemu-%s", a->qemu);
	char *pc_dir1 = fmt_str("%s/usr/lib/%s/pkgconfig", mp, tr);
	char *pc_dir2 = fmt_str("%s/usr/share/pkgconfig", mp);
	char *pc_libdir = fmt_str("%s:%s", pc_dir1, pc_dir2);
	const char *ar = in_path("llvm-ar"), *strip = in_path("llvm-strip");
	if (!strcmp(format, "sh")) {
		char *qmp = sh_quote(mp);
		char *cc = fmt_str("clang --target=%s --sysroot=%s", tr, qmp);
		char *cxx = fmt_str("clang++ --target=%s --sysroot=%s", tr, qmp);
		printf("# xsysroot env: cross-building for %s against %s\n"
		       "# eval \"$(xsysroot env %s)\"; then: $CC prog.c $LDFLAGS -o prog\n",
		       a->deb, mp, qmp);
		print_run_comment(a, qmp);
		print_sh_var("QEMU_LD_PREFIX", mp);
		print_sh_var("PKG_CONFIG_SYSROOT_DIR", mp);
		print_sh_var("PKG_CONFIG_LIBDIR", pc_libdir);
		printf("unset PKG_CONFIG_PATH\n");
		print_sh_var("CC", cc);
		print_sh_var("CXX", cxx);
		print_sh_var("LDFLAGS", "-fuse-ld=lld");
		if (ar)
			print_sh_var("AR", ar);
		if (strip)
			print_sh_var("STRIP", strip);
		free(qmp), free(cc), free(cxx);
	} else if (!strcmp(format, "go")) {
		print_go(a, mp, pc_libdir);
	} else if (!strcmp(format, "meson")) {
		char *m = meson_quote(mp), *d1 = meson_quote(pc_dir1), *d2 = meson_quote(pc_dir2);
		char *sr = fmt_str("--sysroot=%s", mp);
		char *qsr = meson_quote(sr);
		printf("# xsysroot env --format meson: a cross file for %s against %s\n", a->deb, mp);
		printf("[binaries]\n");
		printf("c = ['clang', '--target=%s', %s]\n", tr, qsr);
		printf("cpp = ['clang++', '--target=%s', %s]\n", tr, qsr);
		printf("c_ld = 'lld'\ncpp_ld = 'lld'\n");
		if (ar)
			printf("ar = '%s'\n", ar);
		if (strip)
			printf("strip = '%s'\n", strip);
		printf("pkgconfig = 'pkg-config'\n");
		printf("exe_wrapper = ['%s', '-L', %s]\n\n", qemu, m);
		printf("[properties]\nsys_root = %s\npkg_config_libdir = [%s, %s]\n\n", m, d1, d2);
		printf("[host_machine]\nsystem = 'linux'\ncpu_family = '%s'\ncpu = '%s'\n"
		       "endian = '%s'\n",
		       a->meson_cpu_family, a->meson_cpu, a->elf_data == 2 ? "big" : "little");
		free(m), free(d1), free(d2), free(sr), free(qsr);
	} else if (!strcmp(format, "cmake")) {
		char *m = cmake_quote(mp), *pl = cmake_quote(pc_libdir);
		char *emu_raw = fmt_str("%s;-L;%s", qemu, mp);
		char *emu = cmake_quote(emu_raw);
		printf("# xsysroot env --format cmake: a toolchain file for %s against %s\n", a->deb,
		       mp);
		printf("set(CMAKE_SYSTEM_NAME Linux)\n");
		printf("set(CMAKE_SYSTEM_PROCESSOR %s)\n", a->cmake_processor);
		printf("set(CMAKE_SYSROOT %s)\n", m);
		printf("set(CMAKE_C_COMPILER clang)\nset(CMAKE_C_COMPILER_TARGET %s)\n", tr);
		printf("set(CMAKE_CXX_COMPILER clang++)\nset(CMAKE_CXX_COMPILER_TARGET %s)\n", tr);
		printf("set(CMAKE_EXE_LINKER_FLAGS_INIT -fuse-ld=lld)\n");
		printf("set(CMAKE_SHARED_LINKER_FLAGS_INIT -fuse-ld=lld)\n");
		printf("set(CMAKE_MODULE_LINKER_FLAGS_INIT -fuse-ld=lld)\n");
		printf("set(CMAKE_CROSSCOMPILING_EMULATOR %s)\n", emu);
		printf("set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)\n");
		printf("set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)\n");
		printf("set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)\n");
		printf("set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)\n");
		printf("set(ENV{PKG_CONFIG_SYSROOT_DIR} %s)\n", m);
		printf("set(ENV{PKG_CONFIG_LIBDIR} %s)\n", pl);
		printf("unset(ENV{PKG_CONFIG_PATH})\n");
		free(m), free(pl), free(emu_raw), free(emu);
	} else {
		/* cargo splits RUNNER and RUSTFLAGS on whitespace: no quoting inside */
		char up[128], low[128];
		size_t i;
		for (i = 0; a->rust[i] && i + 1 < sizeof up; i++) {
			char ch = a->rust[i] == '-' ? '_' : a->rust[i];
			up[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
			low[i] = ch;
		}
		up[i] = low[i] = 0;
		char *runner = fmt_str("%s -L %s", qemu, mp);
		/* A view with the target's Rust standard library (Debian's
		 * libstd-rust-dev for the architecture) serves as rustc's sysroot
		 * for the target: rustc looks in SYSROOT/lib/rustlib/TARGET/lib. */
		char *usr_lib = fmt_str("%s/usr/lib", mp);
		char *rustlib = fmt_str("%s/usr/lib/rustlib", mp);
		char *rustlib_t = fmt_str("%s/usr/lib/rustlib/%s", mp, a->rust);
		bool std_in_view = dir_lists(usr_lib, "rustlib") && dir_lists(rustlib, a->rust) &&
				   dir_lists(rustlib_t, "lib");
		free(usr_lib), free(rustlib_t);
		char *flags = fmt_str("-C link-arg=--target=%s -C link-arg=--sysroot=%s "
				      "-C link-arg=-fuse-ld=lld%s%s%s", tr, mp,
				      std_in_view ? " --sysroot=" : "", std_in_view ? mp : "",
				      std_in_view ? "/usr" : "");
		free(rustlib);
		char *qmp = sh_quote(mp);
		char *cc = fmt_str("clang --target=%s --sysroot=%s", tr, qmp);
		printf("# xsysroot env --format cargo: cargo and rustc for %s against %s\n"
		       "# eval \"$(xsysroot env --format cargo %s)\"; then: cargo build; cargo run\n",
		       a->deb, mp, qmp);
		print_sh_var("CARGO_BUILD_TARGET", a->rust);
		print_sh_var_of("CARGO_TARGET_%s_LINKER", up, "clang");
		print_sh_var_of("CARGO_TARGET_%s_RUSTFLAGS", up, flags);
		print_sh_var_of("CARGO_TARGET_%s_RUNNER", up, runner);
		/* for build scripts: the cc and pkg-config crates */
		print_sh_var_of("CC_%s", low, cc);
		if (ar)
			print_sh_var_of("AR_%s", low, ar);
		print_sh_var_of("PKG_CONFIG_SYSROOT_DIR_%s", low, mp);
		print_sh_var_of("PKG_CONFIG_LIBDIR_%s", low, pc_libdir);
		free(runner), free(flags), free(qmp), free(cc);
	}
	free(qemu), free(pc_dir1), free(pc_dir2), free(pc_libdir);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

const struct cli_command cli_cmd_env = {
	.name = "env",
	.run = cmd_env,
	.synopsis = "env [--format sh|meson|cmake|cargo|go] MOUNTPOINT",
	.summary = "print the settings that cross-build against a mount",
	.help =
	"Print the settings that cross-build against a mount (its architecture is\n"
	"read from the mount): clang and lld, pkg-config, and qemu-user to run the\n"
	"results.\n"
	"\n"
	"Options:\n"
	"      --format FORMAT       sh (default): export lines, for eval \"$(...)\";\n"
	"                            meson: a cross file; cmake: a toolchain file;\n"
	"                            cargo: export lines for cargo and rustc;\n"
	"                            go: export lines for cgo (GOARCH, GOARM,\n"
	"                            CGO_ENABLED, CC, CXX, CGO_CFLAGS, CGO_LDFLAGS)\n"
	"\n"
	"The sh format says in a comment whether a binfmt_misc handler of the host\n"
	"runs the architecture's programs (./prog); xsysroot run ARCH -- ./prog and\n"
	"qemu-ARCH -L MOUNTPOINT ./prog always work.\n",
};
