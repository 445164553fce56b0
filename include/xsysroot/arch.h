/* arch.h - the one table of architectures: every name an architecture has.
 *
 * One entry per Debian architecture holds what each tool calls it (Debian,
 * GNU triplet, qemu-user, OCI platform, meson, CMake, Rust), how its ELF
 * programs identify themselves (class, byte order, e_machine, and the
 * e_flags bits that mark the other ABI of the same machine), its PT_INTERP
 * and the glibc ld.so.cache flags of its libraries.  Every part of the
 * program that needs such a name reads it here; messages that list the
 * architectures format the list from the table (xs_arch_names).
 *
 * Pure constant data; thread safe; nothing to free. */
#ifndef XSYSROOT_ARCH_H
#define XSYSROOT_ARCH_H
#include <stdbool.h>
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
	bool char_signed;	/* plain char is signed in the C ABI (ldconfig's
				 * name order depends on it) */
	const char *aliases;	/* space-separated other names: "aarch64 armv8" */
	/* e_flags bits a program of this architecture never has (they mark
	 * the other ABI of the same e_machine: armhf refuses
	 * EF_ARM_ABI_FLOAT_SOFT), 0 for none, and what such a program is */
	uint32_t elf_flags_refused;
	const char *elf_flags_why; /* "soft-float ABI (armel), not hard-float" */
	/* OCI image platform linux/ARCH[/VARIANT]: "arm64", "v8" (NULL: none) */
	const char *oci_arch, *oci_variant;
	/* images of this platform often omit or vary the variant (arm64 images
	 * rarely say v8): a manifest or config without it, or with another,
	 * is still this platform */
	bool oci_variant_loose;
	const char *meson_cpu_family, *meson_cpu; /* meson machine file */
	const char *cmake_processor;	/* CMAKE_SYSTEM_PROCESSOR (uname -m) */
	const char *rust;		/* Rust target triple */
};

/* Debian name or alias (case-insensitive); NULL when unknown. */
const struct xs_arch *xs_arch_lookup(const char *name);
const struct xs_arch *xs_arch_table(size_t *n);

/* The Debian names of the table, in table order, as "arm64, armhf, ..."
 * into out (always NUL-terminated when outsz > 0): for messages such as
 * "unknown architecture 'X' (try LIST)".  Returns out. */
const char *xs_arch_names(char *out, size_t outsz);

/* Why an ELF file with these identification fields is no program for a:
 * "wrong ELF class", "wrong byte order", "wrong machine", or the table's
 * elf_flags_why; NULL when it is one. */
const char *xs_arch_elf_mismatch(const struct xs_arch *a, unsigned elf_class, unsigned elf_data,
				 unsigned machine, uint32_t flags);
#endif
