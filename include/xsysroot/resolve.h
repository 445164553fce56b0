/* resolve.h - dependency closure for one architecture, following apt's rules
 * for a single-architecture system:
 *  - candidates: for each name, the highest version among stanzas whose
 *    Architecture is the target or "all" (ties: the lowest origin wins);
 *  - Depends and Pre-Depends are followed (Recommends/Suggests are not);
 *  - an alternative list is satisfied by the first alternative whose
 *    candidate (or a provider through Provides) satisfies it, preferring an
 *    alternative that the selection already satisfies;
 *  - versioned constraints use dpkg ordering; a versioned dependency is
 *    satisfied through Provides only by a versioned Provides (=);
 *  - ":any" and ":native" qualifiers are accepted.
 * A dependency that nothing satisfies is -ENOENT, and err names the chain
 * that led to it ("python3 -> python3.11 -> libfoo (>= 2): no candidate").
 * Roots that name no package are all named in err, before any dependency
 * is followed, each with the closest name of the table when one is close
 * (suggest.h): "zlib1-dev: no such package for arm64; did you mean
 * zlib1g-dev?; libfoo: no such package for arm64".
 * Pure; thread safe on distinct tables.
 */
#ifndef XSYSROOT_RESOLVE_H
#define XSYSROOT_RESOLVE_H
#include <stddef.h>
#include "xsysroot/packages.h"

/* roots: package names (or names provided by some package).  On success
 * *out is a malloc'ed array of indexes into t->pkgs, sorted by name, each
 * name once. */
int xs_resolve(struct xs_pkgtab *t, const char *arch, const char *const *roots,
	       size_t n_roots, size_t **out, size_t *n_out, char *err, size_t errsz);
/* The packages of the selection sel (nsel indexes into t) that satisfy
 * the Depends and Pre-Depends of sel[i] (by name or first Provides), as
 * indexes into sel, appended to *deps (grown with xs_grow; *ndeps counts). */
void xs_resolve_deps(struct xs_pkgtab *t, const size_t *sel, size_t nsel, size_t i,
		     size_t **deps, size_t *ndeps);
#endif
