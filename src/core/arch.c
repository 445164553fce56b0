/* arch.c - see include/xsysroot/arch.h.
 * ld.so.cache flags: FLAG_ELF_LIBC6 (0x0003) | the FLAG_* machine bits of
 * glibc's sysdeps/generic/ldconfig.h and elf/cache.c. */
#include "xsysroot/arch.h"

#include <string.h>
#include <strings.h>

static const struct xs_arch arches[] = {
	{ "amd64", "x86_64-linux-gnu", "x86_64", "/lib64/ld-linux-x86-64.so.2", 62, 2, 1, 0x0303, "x86_64 x86-64 x64" },
	{ "arm64", "aarch64-linux-gnu", "aarch64", "/lib/ld-linux-aarch64.so.1", 183, 2, 1, 0x0a03, "aarch64 armv8 arm64v8" },
	{ "armhf", "arm-linux-gnueabihf", "arm", "/lib/ld-linux-armhf.so.3", 40, 1, 1, 0x0903, "armv7 armv7l armv7hl arm32v7" },
	{ "armel", "arm-linux-gnueabi", "arm", "/lib/ld-linux.so.3", 40, 1, 1, 0x0b03, "armv5 armv5tel arm32v5" },
	{ "i386", "i386-linux-gnu", "i386", "/lib/ld-linux.so.2", 3, 1, 1, 0x0003, "i686 i586 x86 386" },
	{ "ppc64el", "powerpc64le-linux-gnu", "ppc64le", "/lib64/ld64.so.2", 21, 2, 1, 0x0503, "ppc64le powerpc64le" },
	{ "s390x", "s390x-linux-gnu", "s390x", "/lib/ld64.so.1", 22, 2, 2, 0x0403, "" },
	{ "mips64el", "mips64el-linux-gnuabi64", "mips64el", "/lib64/ld.so.1", 8, 2, 1, 0x0703, "mips64le" },
	{ "riscv64", "riscv64-linux-gnu", "riscv64", "/lib/ld-linux-riscv64-lp64d.so.1", 243, 2, 1, 0x1003, "riscv" },
	{ "loong64", "loongarch64-linux-gnu", "loongarch64", "/lib64/ld-linux-loongarch-lp64d.so.1", 258, 2, 1, 0x1203, "loongarch64" },
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
