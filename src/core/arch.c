/* arch.c - see include/xsysroot/arch.h.
 * ld.so.cache flags: FLAG_ELF_LIBC6 (0x0003) | the FLAG_* machine bits of
 * glibc's sysdeps/generic/ldconfig.h and elf/cache.c.  ARM e_flags: the
 * EABI5 float ABI bits of the ARM ELF ABI (binutils sets them, glibc's
 * ldconfig reads them).  The table's order is the order of xs_arch_names. */
#include "xsysroot/arch.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define EF_ARM_ABI_FLOAT_SOFT 0x200
#define EF_ARM_ABI_FLOAT_HARD 0x400

static const struct xs_arch arches[] = {
	{
		.deb = "arm64", .triplet = "aarch64-linux-gnu", .qemu = "aarch64",
		.ld_so = "/lib/ld-linux-aarch64.so.1",
		.elf_machine = 183, .elf_class = 2, .elf_data = 1, .ldcache_flags = 0x0a03,
		.aliases = "aarch64 armv8 arm64v8",
		.oci_arch = "arm64", .oci_variant = "v8", .oci_variant_loose = true,
		.meson_cpu_family = "aarch64", .meson_cpu = "aarch64", .cmake_processor = "aarch64",
		.rust = "aarch64-unknown-linux-gnu",
	},
	{
		.deb = "armhf", .triplet = "arm-linux-gnueabihf", .qemu = "arm",
		.ld_so = "/lib/ld-linux-armhf.so.3",
		.elf_machine = 40, .elf_class = 1, .elf_data = 1, .ldcache_flags = 0x0903,
		.aliases = "armv7 armv7l armv7hl arm32v7",
		.elf_flags_refused = EF_ARM_ABI_FLOAT_SOFT,
		.elf_flags_why = "soft-float ABI (armel), not hard-float",
		.oci_arch = "arm", .oci_variant = "v7",
		.meson_cpu_family = "arm", .meson_cpu = "armv7hl", .cmake_processor = "armv7l",
		.rust = "armv7-unknown-linux-gnueabihf",
	},
	{
		.deb = "armel", .triplet = "arm-linux-gnueabi", .qemu = "arm",
		.ld_so = "/lib/ld-linux.so.3",
		.elf_machine = 40, .elf_class = 1, .elf_data = 1, .ldcache_flags = 0x0b03,
		.aliases = "armv5 armv5tel arm32v5",
		.elf_flags_refused = EF_ARM_ABI_FLOAT_HARD,
		.elf_flags_why = "hard-float ABI (armhf), not soft-float",
		.oci_arch = "arm", .oci_variant = "v5",
		.meson_cpu_family = "arm", .meson_cpu = "armv5te", .cmake_processor = "armv5tel",
		.rust = "armv5te-unknown-linux-gnueabi",
	},
	{
		.deb = "i386", .triplet = "i386-linux-gnu", .qemu = "i386",
		.ld_so = "/lib/ld-linux.so.2",
		.elf_machine = 3, .elf_class = 1, .elf_data = 1, .ldcache_flags = 0x0003,
		.char_signed = true,
		.aliases = "i686 i586 x86 386",
		.oci_arch = "386", .oci_variant = NULL,
		.meson_cpu_family = "x86", .meson_cpu = "i686", .cmake_processor = "i686",
		.rust = "i686-unknown-linux-gnu",
	},
	{
		.deb = "amd64", .triplet = "x86_64-linux-gnu", .qemu = "x86_64",
		.ld_so = "/lib64/ld-linux-x86-64.so.2",
		.elf_machine = 62, .elf_class = 2, .elf_data = 1, .ldcache_flags = 0x0303,
		.char_signed = true,
		.aliases = "x86_64 x86-64 x64",
		.oci_arch = "amd64", .oci_variant = NULL,
		.meson_cpu_family = "x86_64", .meson_cpu = "x86_64", .cmake_processor = "x86_64",
		.rust = "x86_64-unknown-linux-gnu",
	},
	{
		.deb = "ppc64el", .triplet = "powerpc64le-linux-gnu", .qemu = "ppc64le",
		.ld_so = "/lib64/ld64.so.2",
		.elf_machine = 21, .elf_class = 2, .elf_data = 1, .ldcache_flags = 0x0503,
		.aliases = "ppc64le powerpc64le",
		.oci_arch = "ppc64le", .oci_variant = NULL,
		.meson_cpu_family = "ppc64", .meson_cpu = "ppc64le", .cmake_processor = "ppc64le",
		.rust = "powerpc64le-unknown-linux-gnu",
	},
	{
		.deb = "s390x", .triplet = "s390x-linux-gnu", .qemu = "s390x",
		.ld_so = "/lib/ld64.so.1",
		.elf_machine = 22, .elf_class = 2, .elf_data = 2, .ldcache_flags = 0x0403,
		.aliases = "",
		.oci_arch = "s390x", .oci_variant = NULL,
		.meson_cpu_family = "s390x", .meson_cpu = "s390x", .cmake_processor = "s390x",
		.rust = "s390x-unknown-linux-gnu",
	},
	{
		.deb = "mips64el", .triplet = "mips64el-linux-gnuabi64", .qemu = "mips64el",
		.ld_so = "/lib64/ld.so.1",
		.elf_machine = 8, .elf_class = 2, .elf_data = 1, .ldcache_flags = 0x0703,
		.char_signed = true,
		.aliases = "mips64le",
		.oci_arch = "mips64le", .oci_variant = NULL,
		.meson_cpu_family = "mips64", .meson_cpu = "mips64el", .cmake_processor = "mips64",
		.rust = "mips64el-unknown-linux-gnuabi64",
	},
	{
		.deb = "riscv64", .triplet = "riscv64-linux-gnu", .qemu = "riscv64",
		.ld_so = "/lib/ld-linux-riscv64-lp64d.so.1",
		.elf_machine = 243, .elf_class = 2, .elf_data = 1, .ldcache_flags = 0x1003,
		.aliases = "riscv",
		.oci_arch = "riscv64", .oci_variant = NULL,
		.meson_cpu_family = "riscv64", .meson_cpu = "riscv64", .cmake_processor = "riscv64",
		.rust = "riscv64gc-unknown-linux-gnu",
	},
	{
		.deb = "loong64", .triplet = "loongarch64-linux-gnu", .qemu = "loongarch64",
		.ld_so = "/lib64/ld-linux-loongarch-lp64d.so.1",
		.elf_machine = 258, .elf_class = 2, .elf_data = 1, .ldcache_flags = 0x1203,
		.char_signed = true,
		.aliases = "loongarch64",
		.oci_arch = "loong64", .oci_variant = NULL,
		.meson_cpu_family = "loongarch64", .meson_cpu = "loongarch64", .cmake_processor = "loongarch64",
		.rust = "loongarch64-unknown-linux-gnu",
	},
};

const struct xs_arch *xs_arch_table(size_t *n)
{
	*n = sizeof arches / sizeof arches[0];
	return arches;
}

static int alias_match(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		while (*p == ' ')
			p++;
		const char *s = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - s) == n && strncasecmp(s, name, n) == 0)
			return 1;
	}
	return 0;
}

const struct xs_arch *xs_arch_lookup(const char *name)
{
	size_t n;
	const struct xs_arch *t = xs_arch_table(&n);
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(t[i].deb, name) == 0)
			return &t[i];
	for (size_t i = 0; i < n; i++)
		if (alias_match(t[i].aliases, name))
			return &t[i];
	return NULL;
}

const char *xs_arch_names(char *out, size_t outsz)
{
	size_t n, len = 0;
	const struct xs_arch *t = xs_arch_table(&n);
	if (!outsz)
		return out;
	out[0] = 0;
	for (size_t i = 0; i < n && len < outsz; i++) {
		int w = snprintf(out + len, outsz - len, "%s%s", i ? ", " : "", t[i].deb);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	return out;
}

const char *xs_arch_elf_mismatch(const struct xs_arch *a, unsigned elf_class, unsigned elf_data,
				 unsigned machine, uint32_t flags)
{
	if (elf_class != a->elf_class)
		return "wrong ELF class";
	if (elf_data != a->elf_data)
		return "wrong byte order";
	if (machine != a->elf_machine)
		return "wrong machine";
	if (flags & a->elf_flags_refused)
		return a->elf_flags_why;
	return NULL;
}
