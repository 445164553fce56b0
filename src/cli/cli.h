/* cli.h - a foreign ELF file and what it needs from a view (ldd, run):
 * cli.c.  The other things the commands share have their own headers:
 * command.h (the command table, options, usage, exit statuses), setup.h
 * (the repository options and the setup step), output.h (logging and
 * messages), progress.h (the progress line), host.h (mounts, PATH) and
 * sandbox.h (run --strict). */
#ifndef XSYSROOT_CLI_H
#define XSYSROOT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "xsysroot/elf.h"
#include "xsysroot/lookup.h"
#include "xsysroot/repo.h"

/* A foreign ELF file and what it needs from a view (ldd, run). */
/* Read and parse file (its strings made printable): 0, or -1 after saying
 * why on stderr. */
int elf_load(const char *file, struct xs_elf *e);
/* Why e cannot run on a, or NULL. */
const char *elf_mismatch(const struct xs_elf *e, const struct xs_arch *a);
/* The view path of an absolute path, or false. */
bool view_path_of(const char *abs, char *out, size_t outsz);
/* The view has a file (not a directory) at vpath, looked up by the core in
 * mode (lookup.h; PEEK: the view as it stands): its attributes in va. */
bool view_has(struct xs_repo *r, enum xs_lookup_mode mode, const char *vpath,
	      struct xs_vattr *va);
/* One file the ELF needs: its interpreter, or a DT_NEEDED entry. */
struct elf_need {
	const char *label;  /* "interpreter PATH", or the DT_NEEDED name */
	const char *found;  /* the view path that has it, NULL when none does */
	int pkg;	    /* the package of found, -1 when generated */
	char *const *cands; /* not found: the view paths looked at, in order */
	size_t ncands;
	const char *why;    /* not found and nothing looked up: why not */
};
typedef void (*elf_need_fn)(struct xs_repo *r, const struct elf_need *n, void *ud);
/* Look up e's interpreter, then each DT_NEEDED in the loader's order
 * (DT_RPATH, DT_RUNPATH, the view's ld.so.conf order), in r's view; cb
 * once per entry.  For a musl program (interpreter ld-musl-ARCH.so.1),
 * libc.so and the other names musl's loader is itself are the interpreter
 * (Debian's package musl), not files of the search path. */
void elf_needs_foreach(struct xs_repo *r, const struct xs_elf *e, elf_need_fn cb, void *ud);

#endif
