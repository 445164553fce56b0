/* test-arch.c - the architecture table (include/xsysroot/arch.h): lookup by
 * Debian name and alias, table invariants, ELF identification against
 * <elf.h>, ld.so.cache flags against glibc's ldconfig definitions, the
 * names other tools use (OCI, meson, CMake, Rust), the e_flags rule and the
 * list that messages print. */
#include "tap.h"
#include "xsysroot/arch.h"
#include "xsysroot/util.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef EM_LOONGARCH
#define EM_LOONGARCH 258
#endif

/* glibc sysdeps/generic/ldconfig.h (not an installed header) */
#define FLAG_TYPE_MASK 0x00ff
#define FLAG_ELF_LIBC6 0x0003
#define FLAG_REQUIRED_MASK 0xff00
#define FLAG_X8664_LIB64 0x0300
#define FLAG_S390_LIB64 0x0400
#define FLAG_POWERPC_LIB64 0x0500
#define FLAG_MIPS64_LIBN64 0x0700
#define FLAG_ARM_LIBHF 0x0900
#define FLAG_AARCH64_LIB64 0x0a00
#define FLAG_ARM_LIBSF 0x0b00
#define FLAG_RISCV_FLOAT_ABI_DOUBLE 0x1000
#define FLAG_LARCH_FLOAT_ABI_DOUBLE 0x1200

struct expect {
	const char *deb, *triplet, *qemu, *ld_so;
	unsigned machine, elf_class, elf_data;
	uint32_t flags;
};

/* What ldconfig (elf/readelflib.c and the sysdeps readelflib.c files)
 * records for each architecture's libraries:
 *  - x86: sysdeps/x86/readelflib.c, FLAG_X8664_LIB64 for ELFCLASS64
 *    x86-64, plain FLAG_ELF_LIBC6 for i386;
 *  - arm: sysdeps/unix/sysv/linux/arm/readelflib.c, EABI5 objects marked
 *    EF_ARM_ABI_FLOAT_HARD -> FLAG_ARM_LIBHF, EF_ARM_ABI_FLOAT_SOFT (what
 *    binutils >= 2.24 sets for armel) -> FLAG_ARM_LIBSF; the ld.so of either
 *    also accepts an unmarked FLAG_ELF_LIBC6 (arm/dl-cache.h);
 *  - mips: legacy-NaN n64 -> FLAG_MIPS64_LIBN64 (Debian mips64el is not
 *    NaN2008, which would be FLAG_MIPS64_LIBN64_NAN2008 0x0e00);
 *  - riscv lp64d and loongarch lp64d: the *_FLOAT_ABI_DOUBLE flags. */
static const struct expect expected[] = {
	{ "amd64", "x86_64-linux-gnu", "x86_64", "/lib64/ld-linux-x86-64.so.2", EM_X86_64,
	  ELFCLASS64, ELFDATA2LSB, FLAG_ELF_LIBC6 | FLAG_X8664_LIB64 },
	{ "arm64", "aarch64-linux-gnu", "aarch64", "/lib/ld-linux-aarch64.so.1", EM_AARCH64,
	  ELFCLASS64, ELFDATA2LSB, FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64 },
	{ "armhf", "arm-linux-gnueabihf", "arm", "/lib/ld-linux-armhf.so.3", EM_ARM, ELFCLASS32,
	  ELFDATA2LSB, FLAG_ELF_LIBC6 | FLAG_ARM_LIBHF },
	{ "armel", "arm-linux-gnueabi", "arm", "/lib/ld-linux.so.3", EM_ARM, ELFCLASS32,
	  ELFDATA2LSB, FLAG_ELF_LIBC6 | FLAG_ARM_LIBSF },
	{ "i386", "i386-linux-gnu", "i386", "/lib/ld-linux.so.2", EM_386, ELFCLASS32, ELFDATA2LSB,
	  FLAG_ELF_LIBC6 },
	{ "ppc64el", "powerpc64le-linux-gnu", "ppc64le", "/lib64/ld64.so.2", EM_PPC64, ELFCLASS64,
	  ELFDATA2LSB, FLAG_ELF_LIBC6 | FLAG_POWERPC_LIB64 },
	{ "s390x", "s390x-linux-gnu", "s390x", "/lib/ld64.so.1", EM_S390, ELFCLASS64, ELFDATA2MSB,
	  FLAG_ELF_LIBC6 | FLAG_S390_LIB64 },
	{ "mips64el", "mips64el-linux-gnuabi64", "mips64el", "/lib64/ld.so.1", EM_MIPS, ELFCLASS64,
	  ELFDATA2LSB, FLAG_ELF_LIBC6 | FLAG_MIPS64_LIBN64 },
	{ "riscv64", "riscv64-linux-gnu", "riscv64", "/lib/ld-linux-riscv64-lp64d.so.1", EM_RISCV,
	  ELFCLASS64, ELFDATA2LSB, FLAG_ELF_LIBC6 | FLAG_RISCV_FLOAT_ABI_DOUBLE },
	{ "loong64", "loongarch64-linux-gnu", "loongarch64", "/lib64/ld-linux-loongarch-lp64d.so.1",
	  EM_LOONGARCH, ELFCLASS64, ELFDATA2LSB, FLAG_ELF_LIBC6 | FLAG_LARCH_FLOAT_ABI_DOUBLE },
};

static const char *deb_of(const char *name)
{
	const struct xs_arch *a = xs_arch_lookup(name);
	return a ? a->deb : "(null)";
}

static void test_lookup(void)
{
	size_t n;
	const struct xs_arch *t = xs_arch_table(&n);
	for (size_t i = 0; i < n; i++)
		CHECK(xs_arch_lookup(t[i].deb) == &t[i], "lookup(%s) gives its table entry", t[i].deb);

	static const char *const alias[][2] = {
		{ "aarch64", "arm64" },	   { "armv8", "arm64" },	{ "arm64v8", "arm64" },
		{ "x86_64", "amd64" },	   { "x86-64", "amd64" },	{ "x64", "amd64" },
		{ "ppc64le", "ppc64el" },  { "powerpc64le", "ppc64el" }, { "armv7", "armhf" },
		{ "armv7l", "armhf" },	   { "armv7hl", "armhf" },	{ "arm32v7", "armhf" },
		{ "armv5tel", "armel" },   { "armv5", "armel" },	{ "i686", "i386" },
		{ "i586", "i386" },	   { "mips64le", "mips64el" },	{ "loongarch64", "loong64" },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(alias); i++)
		CHECK_STR(deb_of(alias[i][0]), alias[i][1], "alias %s", alias[i][0]);

	static const char *const folded[][2] = {
		{ "ARM64", "arm64" },	{ "Amd64", "amd64" },	  { "AArch64", "arm64" },
		{ "X86_64", "amd64" },	{ "PPC64LE", "ppc64el" }, { "ArmV7L", "armhf" },
		{ "S390X", "s390x" },	{ "RISCV64", "riscv64" }, { "LoongArch64", "loong64" },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(folded); i++)
		CHECK_STR(deb_of(folded[i][0]), folded[i][1], "case-insensitive %s", folded[i][0]);

	static const char *const unknown[] = {
		"",	     "sparc64", "arm",	    "aarch",   "aarch64 ", " aarch64",
		"armv",	     "x86_6",	"amd64x",   "arm64v",  "aarch64 armv8", "mips",
		"powerpc",   "ia64",	"hurd-i386", "s390",	"i386 ",   "armv7 armv7l",
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(unknown); i++)
		CHECK(xs_arch_lookup(unknown[i]) == NULL, "unknown '%s' -> NULL", unknown[i]);
}

static void test_invariants(void)
{
	size_t n = 0;
	const struct xs_arch *t = xs_arch_table(&n);
	CHECK(t != NULL && n >= XS_ARRAY_SIZE(expected), "table has %zu entries", n);
	for (size_t i = 0; i < n; i++) {
		const struct xs_arch *a = &t[i];
		CHECK(a->deb && *a->deb, "entry %zu has a Debian name", i);
		CHECK(a->triplet && strstr(a->triplet, "-linux-gnu"), "%s: triplet '%s'", a->deb,
		      a->triplet ? a->triplet : "");
		CHECK(a->qemu && *a->qemu, "%s: qemu name", a->deb);
		CHECK(a->ld_so && strncmp(a->ld_so, "/lib", 4) == 0 && strstr(a->ld_so, ".so."),
		      "%s: ld.so '%s' is an absolute /lib path", a->deb, a->ld_so ? a->ld_so : "");
		CHECK(a->aliases != NULL, "%s: aliases not NULL", a->deb);
		CHECK(a->elf_class == ELFCLASS32 || a->elf_class == ELFCLASS64, "%s: elf_class %u",
		      a->deb, a->elf_class);
		CHECK(a->elf_data == ELFDATA2LSB || a->elf_data == ELFDATA2MSB, "%s: elf_data %u",
		      a->deb, a->elf_data);
		CHECK(a->elf_machine != EM_NONE, "%s: elf_machine set", a->deb);
		CHECK_INT(a->ldcache_flags & FLAG_TYPE_MASK, FLAG_ELF_LIBC6, "%s: FLAG_ELF_LIBC6",
			  a->deb);
		CHECK_INT(a->ldcache_flags & ~(uint32_t)(FLAG_TYPE_MASK | FLAG_REQUIRED_MASK), 0,
			  "%s: no bits outside ldconfig's masks", a->deb);
		CHECK_INT(a->elf_data, strcmp(a->deb, "s390x") == 0 ? ELFDATA2MSB : ELFDATA2LSB,
			  "%s: byte order", a->deb);
		size_t dup = 0;
		for (size_t j = 0; j < n; j++)
			dup += j != i && strcasecmp(a->deb, t[j].deb) == 0;
		CHECK_INT(dup, 0, "%s: Debian name unique in the table", a->deb);
	}

	/* every alias is unique across the table and no alias is a Debian name;
	 * aliases are single words separated by single spaces */
	for (size_t i = 0; i < n; i++) {
		const char *al = t[i].aliases;
		CHECK(al[0] != ' ' && (!*al || al[strlen(al) - 1] != ' ') && !strstr(al, "  "),
		      "%s: alias list well formed ('%s')", t[i].deb, al);
		char *copy = xs_strdup(al), *save = NULL;
		for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			const struct xs_arch *hit = xs_arch_lookup(w);
			CHECK(hit == &t[i], "alias '%s' resolves to %s (got %s)", w, t[i].deb,
			      hit ? hit->deb : "(null)");
			size_t clash = 0;
			for (size_t j = 0; j < n; j++)
				clash += strcasecmp(w, t[j].deb) == 0;
			CHECK_INT(clash, 0, "alias '%s' of %s is no Debian name", w, t[i].deb);
		}
		free(copy);
	}
}

static void test_values(void)
{
	for (size_t i = 0; i < XS_ARRAY_SIZE(expected); i++) {
		const struct expect *e = &expected[i];
		const struct xs_arch *a = xs_arch_lookup(e->deb);
		CHECK(a != NULL, "%s present", e->deb);
		if (!a)
			continue;
		CHECK_STR(a->deb, e->deb, "%s: Debian name", e->deb);
		CHECK_STR(a->triplet, e->triplet, "%s: multiarch triplet", e->deb);
		CHECK_STR(a->qemu, e->qemu, "%s: qemu-user name", e->deb);
		CHECK_STR(a->ld_so, e->ld_so, "%s: PT_INTERP", e->deb);
		CHECK_INT(a->elf_machine, e->machine, "%s: e_machine", e->deb);
		CHECK_INT(a->elf_class, e->elf_class, "%s: EI_CLASS", e->deb);
		CHECK_INT(a->elf_data, e->elf_data, "%s: EI_DATA", e->deb);
		CHECK_INT(a->ldcache_flags, e->flags, "%s: ld.so.cache flags 0x%04x", e->deb,
			  (unsigned)e->flags);
	}
	/* plain char: signed on x86, mips and loongarch (their psABIs), unsigned
	 * on arm, aarch64, powerpc, s390 and riscv */
	static const char *const signed_char[] = { "amd64", "i386", "mips64el", "loong64" };
	size_t n, nsigned = 0;
	const struct xs_arch *t = xs_arch_table(&n);
	for (size_t i = 0; i < n; i++) {
		bool want = false;
		for (size_t j = 0; j < XS_ARRAY_SIZE(signed_char); j++)
			want |= !strcmp(t[i].deb, signed_char[j]);
		nsigned += want;
		CHECK_INT(t[i].char_signed, want, "%s: char is %s", t[i].deb,
			  want ? "signed" : "unsigned");
	}
	CHECK_INT(nsigned, XS_ARRAY_SIZE(signed_char), "every signed-char architecture is in the table");
	/* the few numbers spelled out, in case elf.h and the table agree on a typo */
	CHECK_INT(xs_arch_lookup("arm64")->elf_machine, 183, "EM_AARCH64 is 183");
	CHECK_INT(xs_arch_lookup("amd64")->elf_machine, 62, "EM_X86_64 is 62");
	CHECK_INT(xs_arch_lookup("riscv64")->elf_machine, 243, "EM_RISCV is 243");
	CHECK_INT(xs_arch_lookup("loong64")->elf_machine, 258, "EM_LOONGARCH is 258");
	CHECK_INT(xs_arch_lookup("armel")->ldcache_flags, 0x0b03, "armel: libc6,soft-float");
	CHECK_INT(xs_arch_lookup("i386")->ldcache_flags, 0x0003, "i386: plain libc6");
}

/* Cross-check with the host's /etc/ld.so.cache (glibc >= 2.32 new format:
 * "glibc-ld.so.cache1.1", nlibs, entries of {int32 flags, uint32 key,
 * uint32 value, uint32 osversion, uint64 hwcap}; strings relative to the
 * header).  Finds the flags of libc.so.6 in the given multiarch directory. */
static int host_flags(const char *data, size_t len, const char *dir)
{
	static const char magic[] = "glibc-ld.so.cache1.1";
	const char *h = memmem(data, len, magic, sizeof magic - 1);
	if (!h || (size_t)(h - data) + 48 > len)
		return -1;
	size_t base = (size_t)(h - data);
	uint32_t nlibs;
	memcpy(&nlibs, h + 20, 4);
	if (nlibs > (len - base - 48) / 24)
		return -1;
	for (uint32_t i = 0; i < nlibs; i++) {
		int32_t flags;
		uint32_t key, value;
		memcpy(&flags, h + 48 + 24 * (size_t)i, 4);
		memcpy(&key, h + 48 + 24 * (size_t)i + 4, 4);
		memcpy(&value, h + 48 + 24 * (size_t)i + 8, 4);
		if (base + key >= len || base + value >= len)
			continue;
		const char *k = h + key, *v = h + value;
		if (!memchr(k, 0, len - base - key) || !memchr(v, 0, len - base - value))
			continue;
		if (strcmp(k, "libc.so.6") == 0 && strstr(v, dir))
			return flags;
	}
	return -1;
}

static void test_host_cache(void)
{
	struct xs_buf b;
	if (xs_read_file("/etc/ld.so.cache", 64 << 20, &b) < 0) {
		CHECK(1, "# SKIP no readable /etc/ld.so.cache");
		return;
	}
	static const struct {
		const char *deb, *dir;
	} host[] = {
		{ "amd64", "/x86_64-linux-gnu/" }, { "i386", "/i386-linux-gnu/" },
		{ "i386", "/lib32/" },		   { "arm64", "/aarch64-linux-gnu/" },
		{ "armhf", "/arm-linux-gnueabihf/" }, { "ppc64el", "/powerpc64le-linux-gnu/" },
		{ "s390x", "/s390x-linux-gnu/" },	  { "riscv64", "/riscv64-linux-gnu/" },
	};
	int seen = 0;
	for (size_t i = 0; i < XS_ARRAY_SIZE(host); i++) {
		int f = host_flags(b.data, b.len, host[i].dir);
		if (f < 0)
			continue;
		seen++;
		CHECK_INT(f, xs_arch_lookup(host[i].deb)->ldcache_flags,
			  "host ld.so.cache: libc.so.6 in %s has the %s flags", host[i].dir,
			  host[i].deb);
	}
	if (!seen)
		CHECK(1, "# SKIP no known libc.so.6 in the host's ld.so.cache");
	xs_buf_free(&b);
}

/* The names other tools use, as those tools spell them: OCI platforms
 * (image-spec's GOARCH values and variants), meson's cpu_family reference
 * table, uname -m for CMAKE_SYSTEM_PROCESSOR, rustc --print target-list. */
struct tools {
	const char *deb, *oci_arch, *oci_variant, *meson_family, *meson_cpu, *cmake, *rust;
	bool loose;
};

static const struct tools tools[] = {
	{ "amd64", "amd64", NULL, "x86_64", "x86_64", "x86_64", "x86_64-unknown-linux-gnu", false },
	{ "arm64", "arm64", "v8", "aarch64", "aarch64", "aarch64", "aarch64-unknown-linux-gnu", true },
	{ "armhf", "arm", "v7", "arm", "armv7hl", "armv7l", "armv7-unknown-linux-gnueabihf", false },
	{ "armel", "arm", "v5", "arm", "armv5te", "armv5tel", "armv5te-unknown-linux-gnueabi", false },
	{ "i386", "386", NULL, "x86", "i686", "i686", "i686-unknown-linux-gnu", false },
	{ "ppc64el", "ppc64le", NULL, "ppc64", "ppc64le", "ppc64le", "powerpc64le-unknown-linux-gnu",
	  false },
	{ "s390x", "s390x", NULL, "s390x", "s390x", "s390x", "s390x-unknown-linux-gnu", false },
	{ "mips64el", "mips64le", NULL, "mips64", "mips64el", "mips64",
	  "mips64el-unknown-linux-gnuabi64", false },
	{ "riscv64", "riscv64", NULL, "riscv64", "riscv64", "riscv64", "riscv64gc-unknown-linux-gnu",
	  false },
	{ "loong64", "loong64", NULL, "loongarch64", "loongarch64", "loongarch64",
	  "loongarch64-unknown-linux-gnu", false },
};

static const char *or_null(const char *s)
{
	return s ? s : "(null)";
}

static void test_tool_names(void)
{
	size_t n;
	xs_arch_table(&n);
	CHECK_INT(n, XS_ARRAY_SIZE(tools), "every entry has its tool names below");
	for (size_t i = 0; i < XS_ARRAY_SIZE(tools); i++) {
		const struct tools *e = &tools[i];
		const struct xs_arch *a = xs_arch_lookup(e->deb);
		if (!a) {
			CHECK(0, "%s present", e->deb);
			continue;
		}
		CHECK_STR(or_null(a->oci_arch), e->oci_arch, "%s: OCI architecture", e->deb);
		CHECK_STR(or_null(a->oci_variant), or_null(e->oci_variant), "%s: OCI variant", e->deb);
		CHECK_INT(a->oci_variant_loose, e->loose, "%s: OCI variant loose", e->deb);
		CHECK_STR(or_null(a->meson_cpu_family), e->meson_family, "%s: meson cpu_family",
			  e->deb);
		CHECK_STR(or_null(a->meson_cpu), e->meson_cpu, "%s: meson cpu", e->deb);
		CHECK_STR(or_null(a->cmake_processor), e->cmake, "%s: CMAKE_SYSTEM_PROCESSOR", e->deb);
		CHECK_STR(or_null(a->rust), e->rust, "%s: Rust target", e->deb);
		/* the Rust triple names the same machine as the GNU one */
		CHECK(strstr(a->rust, "-linux-gnu") != NULL, "%s: Rust target is linux-gnu", e->deb);
	}
}

/* Every entry has every field; the OCI platform (architecture, variant)
 * names one entry, so that an image's platform maps back to one Debian
 * architecture. */
static void test_complete(void)
{
	size_t n;
	const struct xs_arch *t = xs_arch_table(&n);
	for (size_t i = 0; i < n; i++) {
		const struct xs_arch *a = &t[i];
		CHECK(a->oci_arch && *a->oci_arch, "%s: OCI architecture set", a->deb);
		CHECK(a->meson_cpu_family && *a->meson_cpu_family && a->meson_cpu && *a->meson_cpu,
		      "%s: meson names set", a->deb);
		CHECK(a->cmake_processor && *a->cmake_processor, "%s: CMake name set", a->deb);
		CHECK(a->rust && *a->rust, "%s: Rust target set", a->deb);
		CHECK((a->elf_flags_refused != 0) == (a->elf_flags_why != NULL),
		      "%s: refused e_flags come with their reason", a->deb);
		size_t same = 0;
		for (size_t j = 0; j < n; j++)
			same += !strcmp(t[j].oci_arch, a->oci_arch) &&
				!strcmp(or_null(t[j].oci_variant), or_null(a->oci_variant));
		CHECK_INT(same, 1, "%s: OCI platform %s/%s is one entry's", a->deb, a->oci_arch,
			  or_null(a->oci_variant));
		/* two entries of one e_machine, class and byte order are told
		 * apart by their refused e_flags */
		for (size_t j = 0; j < n; j++)
			if (j != i && t[j].elf_machine == a->elf_machine &&
			    t[j].elf_class == a->elf_class && t[j].elf_data == a->elf_data)
				CHECK(a->elf_flags_refused && t[j].elf_flags_refused &&
				      a->elf_flags_refused != t[j].elf_flags_refused,
				      "%s and %s: told apart by e_flags", a->deb, t[j].deb);
	}
}

static void test_elf_mismatch(void)
{
	const struct xs_arch *hf = xs_arch_lookup("armhf"), *el = xs_arch_lookup("armel"),
			     *a64 = xs_arch_lookup("arm64");
	/* EF_ARM_EABI_VER5 | EF_ARM_ABI_FLOAT_HARD / _SOFT (<elf.h>) */
	uint32_t hard = 0x05000000 | 0x400, soft = 0x05000000 | 0x200, plain = 0x05000000;
	CHECK(xs_arch_elf_mismatch(hf, ELFCLASS32, ELFDATA2LSB, EM_ARM, hard) == NULL,
	      "armhf accepts a hard-float program");
	CHECK(xs_arch_elf_mismatch(hf, ELFCLASS32, ELFDATA2LSB, EM_ARM, plain) == NULL,
	      "armhf accepts an unmarked program");
	CHECK_STR(or_null(xs_arch_elf_mismatch(hf, ELFCLASS32, ELFDATA2LSB, EM_ARM, soft)),
		  "soft-float ABI (armel), not hard-float", "armhf refuses a soft-float program");
	CHECK(xs_arch_elf_mismatch(el, ELFCLASS32, ELFDATA2LSB, EM_ARM, soft) == NULL,
	      "armel accepts a soft-float program");
	CHECK_STR(or_null(xs_arch_elf_mismatch(el, ELFCLASS32, ELFDATA2LSB, EM_ARM, hard)),
		  "hard-float ABI (armhf), not soft-float", "armel refuses a hard-float program");
	CHECK_STR(or_null(xs_arch_elf_mismatch(a64, ELFCLASS32, ELFDATA2LSB, EM_AARCH64, 0)),
		  "wrong ELF class", "class first");
	CHECK_STR(or_null(xs_arch_elf_mismatch(a64, ELFCLASS64, ELFDATA2MSB, EM_AARCH64, 0)),
		  "wrong byte order", "then byte order");
	CHECK_STR(or_null(xs_arch_elf_mismatch(a64, ELFCLASS64, ELFDATA2LSB, EM_X86_64, 0)),
		  "wrong machine", "then machine");
	CHECK(xs_arch_elf_mismatch(a64, ELFCLASS64, ELFDATA2LSB, EM_AARCH64, 0xffffffff) == NULL,
	      "arm64 refuses no e_flags");
}

static void test_names(void)
{
	char buf[256];
	CHECK_STR(xs_arch_names(buf, sizeof buf),
		  "arm64, armhf, armel, i386, amd64, ppc64el, s390x, mips64el, riscv64, loong64",
		  "the list for messages, in table order");
	size_t n;
	const struct xs_arch *t = xs_arch_table(&n);
	/* every word of the list looks up to its entry, in table order */
	char *save = NULL;
	size_t i = 0;
	for (char *w = strtok_r(buf, ", ", &save); w; w = strtok_r(NULL, ", ", &save), i++)
		CHECK(i < n && xs_arch_lookup(w) == &t[i], "list word %zu '%s' is entry %zu", i, w, i);
	CHECK_INT(i, n, "the list names every entry");
	char small[12];
	xs_arch_names(small, sizeof small);
	CHECK_STR(small, "arm64, armh", "a short buffer truncates, NUL-terminated");
	char none[1] = { 'x' };
	xs_arch_names(none, 1);
	CHECK_INT(none[0], 0, "a one-byte buffer gets the NUL");
}

int main(void)
{
	test_lookup();
	test_invariants();
	test_values();
	test_tool_names();
	test_complete();
	test_elf_mismatch();
	test_names();
	test_host_cache();
	return tap_done();
}
