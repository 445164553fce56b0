/* arch.h - the one table of architectures: Debian name, aliases, GNU triplet,
 * qemu-user name, ELF identification and glibc ld.so.cache flags.
 * Pure constant data; thread safe. */
#ifndef XSYSROOT_ARCH_H
#define XSYSROOT_ARCH_H
#include <stddef.h>
#include <stdint.h>

struct xs_arch {
	const char *deb;	/* Debian architecture: "arm64" */
	const char *triplet;	/* multiarch triplet: "aarch64-linux-gnu" */
	const char *qemu;	/* qemu-user suffix: "aarch64" (qemu-aarch64) */
	const char *ld_so;	/* PT_INTERP: "/lib/ld-linux-aarch64.so.1" */
	uint16_t elf_machine;	/* e_machine: 183 */
	uint8_t elf_class;	/* 1 = ELFCLASS32, 2 = ELFCLASS64 */
	uint8_t elf_data;	/* 1 = little endian, 2 = big endian */
	uint32_t ldcache_flags;	/* FLAG_ELF_LIBC6 | arch bits, dl-cache.h */
	const char *aliases;	/* space-separated other names: "aarch64 armv8" */
};

/* Debian name or alias (case-insensitive); NULL when unknown. */
const struct xs_arch *xs_arch_lookup(const char *name);
const struct xs_arch *xs_arch_table(size_t *n);
#endif
