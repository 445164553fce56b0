/* hybridtools.h - which of the view's tools besides the compilers run
 * natively in a hybrid build root (run --strict --native-tools).
 *
 * The rule: a tool package of the target's view runs natively (its amd64
 * package of the same name, version and suite, from the same archive, in
 * the native layer) only when
 *  (a) the view's package is Multi-Arch: foreign in its Packages stanza
 *      (Debian's own statement that it serves other architectures as
 *      well), and
 *  (b) its output cannot depend on the architecture it runs on.
 * (b) is this module's table: the candidates, and within them the paths
 * kept emulated (the target's file stays at that path): coreutils' uname
 * and arch, which ask the kernel for the machine, and stdbuf with the
 * library it preloads into the program it runs.  Left out by (b): make
 * (MAKE_HOST), bash (MACHTYPE, HOSTTYPE), perl (%Config, XS modules),
 * dpkg (its architecture is compiled in); make, perl, gzip and diffutils
 * fail (a) in Debian 12 as well.
 *
 * What it does not do: open views or make the layer (hybrid.h,
 * src/cli/native.c).  Pure but for xs_hybrid_tools_foreign, which reads
 * the target's Packages indexes from the store: only for a view that does
 * not carry its packages' Multi-Arch (a lock's; a resolved view does,
 * repo.h's struct xs_repo_pkg).  No global state; no logging (the caller
 * says the notes).
 */
#ifndef XSYSROOT_HYBRIDTOOLS_H
#define XSYSROOT_HYBRIDTOOLS_H
#include <stdbool.h>
#include <stddef.h>

struct xs_archive;
struct xs_store;

/* The i-th candidate tool package, NULL past the last. */
const char *xs_hybrid_tool_candidate(size_t i);

/* The view paths ("usr/bin/uname") that stay the target's even when their
 * package runs natively; NULL-terminated, static. */
char *const *xs_hybrid_tools_keep(void);

/* For each names[i] at versions[i] (n of them), whether the stanza of the
 * target architecture's Packages indexes of archive a (as cached in store:
 * the ones the view was resolved from) says Multi-Arch: foreign: foreign[i]
 * set.  0, or a negative errno with err naming the index (an index not in
 * the store is -ENOENT: the caller keeps the tools emulated). */
int xs_hybrid_tools_foreign(const struct xs_archive *a, struct xs_store *store,
			    const char *arch, const char *const *names,
			    const char *const *versions, size_t n, bool *foreign, char *err,
			    size_t errsz);

/* The decision for one candidate: target_version its version in the
 * target's view (NULL: not in the view), foreign from
 * xs_hybrid_tools_foreign, native_version its version in the build
 * architecture's view (NULL: the archive has no such package there).
 * 1 to run it natively; 0 to keep it emulated, with why in note (empty
 * when the view does not have it). */
int xs_hybrid_tools_pick(const char *name, const char *target_version, bool foreign,
			 const char *native_version, char *note, size_t notesz);
#endif
