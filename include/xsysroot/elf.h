/* elf.h - what an ELF file says about how it is loaded: identification
 * (class, byte order, machine, type, flags), the interpreter (PT_INTERP) and
 * the dynamic section's DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH.
 *
 * Pure: bytes in, struct out; no I/O.  Both byte orders, 32 and 64 bits.
 * Hostile input is expected: every offset, size and count is checked against
 * the bytes given (with overflow checks), every string must be NUL-terminated
 * inside its table and at most XS_ELF_MAX_STRING bytes long, and at most
 * XS_ELF_MAX_NEEDED DT_NEEDED entries are accepted.  The dynamic section's
 * string table (DT_STRTAB, an address) is found through the PT_LOAD segment
 * that maps it, as the loader finds it.  Thread safe.
 */
#ifndef XSYSROOT_ELF_H
#define XSYSROOT_ELF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XS_ELF_MAX_NEEDED 4096
#define XS_ELF_MAX_STRING 4096 /* bytes in one string, NUL excluded */
#define XS_ELF_MAX_PHDRS 65536

enum {
	XS_ELF_CLASS32 = 1,
	XS_ELF_CLASS64 = 2,
	XS_ELF_DATA_LSB = 1,
	XS_ELF_DATA_MSB = 2,
	XS_ELF_ET_REL = 1,
	XS_ELF_ET_EXEC = 2,
	XS_ELF_ET_DYN = 3,
	XS_ELF_ET_CORE = 4,
};

struct xs_elf {
	uint8_t elf_class;  /* XS_ELF_CLASS32 or XS_ELF_CLASS64 */
	uint8_t elf_data;   /* XS_ELF_DATA_LSB or XS_ELF_DATA_MSB */
	uint8_t osabi;      /* e_ident[EI_OSABI] */
	uint16_t type;      /* e_type */
	uint16_t machine;   /* e_machine */
	uint32_t flags;     /* e_flags (ARM float ABI, MIPS ABI...) */
	size_t nphdrs;
	bool dynamic;       /* has a PT_DYNAMIC segment */
	char *interp;       /* PT_INTERP, NULL when none */
	char *soname;       /* DT_SONAME, NULL when none */
	char *rpath;        /* DT_RPATH, NULL when none */
	char *runpath;      /* DT_RUNPATH, NULL when none */
	char **needed;      /* DT_NEEDED in file order */
	size_t nneeded;
};

/* Parse len bytes.  0 and *out (free it with xs_elf_free); -ENOEXEC when
 * the bytes are not ELF (no magic); -EBADMSG when they are, but malformed
 * or beyond the limits above (err gets the reason); -EINVAL for NULL
 * arguments.  On error *out is left empty (safe to free). */
int xs_elf_parse(const void *data, size_t len, struct xs_elf *out, char *err, size_t errsz);
void xs_elf_free(struct xs_elf *e);

/* A short name of e_machine ("AArch64", "x86-64"...), NULL when unknown. */
const char *xs_elf_machine_name(uint16_t machine);
/* "executable", "pie executable", "shared object", "relocatable", "core"
 * or "unknown type". */
const char *xs_elf_type_name(const struct xs_elf *e);
#endif
