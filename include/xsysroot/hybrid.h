/* hybrid.h - the hybrid build root: the build machine's own cross tools in a
 * foreign view (run --strict --native-tools).
 *
 * Debian ships, in the same suite and archive, cross toolchains built for
 * the build architecture (amd64): gcc-12-aarch64-linux-gnu,
 * cpp-12-aarch64-linux-gnu, binutils-aarch64-linux-gnu..., configured for
 * the multiarch layout with "/" as their sysroot.  Their command names are
 * the target's own (/usr/bin/aarch64-linux-gnu-gcc-12, which gcc-12, gcc
 * and cc lead to; /usr/bin/aarch64-linux-gnu-as, which as leads to), so a
 * layer of their files over the target's view makes the target's compiler
 * paths run natively, while every target program stays emulated.
 *
 * This module:
 *  - names the cross package of a target toolchain package
 *    (xs_hybrid_cross_name, pure);
 *  - makes the layer from the build architecture's view (a repository of
 *    its own, opened by the caller from the same sources, so every package
 *    is verified as any other): the files of the tool packages (not their
 *    usr/share), the build architecture's libraries (usr/lib/TRIPLET/ and
 *    usr/lib64/, the x86-64 loader) and the top-level lib64 link, copied
 *    into a directory (xs_hybrid_make_layer);
 *  - links the cross compiler's own directory to the target's libgcc,
 *    crt*.o, compiler and C++ headers (xs_hybrid_link_target), so the cross
 *    driver compiles and links with the target's files, not those of the
 *    *-cross packages (which are not taken at all);
 *  - writes one ld.so.cache for both architectures over the view's
 *    (xs_hybrid_ldcache): the view's entries, tagged with the target's
 *    flags, and the layer's libraries with the build architecture's, so
 *    that each loader finds its own through the cache (ldcache.h) and the
 *    x86-64 loader does not probe its default directories;
 *  - holds the target's toolchain packages that the layer shadows in a
 *    dpkg status over the view's (xs_hybrid_dpkg_status), so that apt
 *    inside a writable root does not upgrade or reinstall them (their
 *    target files would land in the overlay's upper directory and hide
 *    the native tools) without being told to change held packages.
 *
 * What it does not do: the dpkg status does not list the native packages
 * (their files shadow the target's, apt still sees the target's gcc and
 * binutils, held); other tools (make, sed, the shell) stay emulated.
 *
 * Errors are 0 or negative errno with a message in err.  No global state;
 * one caller per layer directory at a time (a layer is built under a
 * temporary name and renamed into place, so a complete one is never
 * rebuilt).  The core never logs here but through cfg->log.
 */
#ifndef XSYSROOT_HYBRID_H
#define XSYSROOT_HYBRID_H
#include <stddef.h>

#include "xsysroot/arch.h"
#include "xsysroot/repo.h"
#include "xsysroot/util.h"

/* The cross package (built for the build architecture) that runs target
 * toolchain package pkg natively: gcc-N, cpp-N, g++-N and gfortran-N give
 * NAME-N-TRIPLET, binutils-TRIPLET gives itself.  triplet is the GNU
 * triplet of Debian's cross packages ("aarch64-linux-gnu").  1 and the
 * name in out; 0 when pkg is no toolchain package; -ENAMETOOLONG. */
int xs_hybrid_cross_name(const char *pkg, const char *triplet, char *out, size_t outsz);

struct xs_hybrid_layer {
	struct xs_repo *native;	  /* the build architecture's view with the tools */
	char *const *tools;	  /* the tool packages' names, NULL-terminated */
	const char *lib_triplet;  /* the build architecture's: "x86_64-linux-gnu" */
	const char *dir;	  /* the layer: made when absent */
	xs_log_fn log;
	void *log_ud;
};

/* The layer in l->dir, from l->native's view: its packages fetched (and
 * verified) as needed.  0 (also when l->dir is complete already), or a
 * negative errno with err naming the path and package. */
int xs_hybrid_make_layer(const struct xs_hybrid_layer *l, char *err, size_t errsz);

/* In links (made), for each directory usr/lib/gcc-cross/TRIPLET/N of layer:
 * a symlink usr/lib/gcc-cross/TRIPLET/N/NAME -> ../../../gcc/TRIPLET/N/NAME
 * for each NAME of root's usr/lib/gcc/TRIPLET/N (the target's libgcc,
 * crt*.o, include/) that layer does not have; and where the cross g++
 * looks for the C++ headers, usr/TRIPLET/include/c++/N/NAME ->
 * ../../../../include/c++/N/NAME for each NAME of root's
 * usr/include/c++/N, with usr/TRIPLET/include/c++/N/TRIPLET ->
 * ../../../../include/TRIPLET/c++/N.  0 (nothing to link is no error), or
 * a negative errno with err. */
int xs_hybrid_link_target(const char *layer, const char *root, const char *links,
			  const char *triplet, char *err, size_t errsz);

/* links/etc/ld.so.cache (made, replacing any): the entries of root's
 * etc/ld.so.cache (the view's, for target) and the libraries of layer's
 * loader directories for build (values as "/" shows them, flags
 * build->ldcache_flags), one cache in target's format.  *nbuild (may be
 * NULL) gets the number of the build architecture's entries.  0 with
 * nothing written when the two architectures differ in byte order (no
 * loader reads a cache of the other order); a negative errno with err
 * naming the file. */
int xs_hybrid_ldcache(const struct xs_arch *target, const struct xs_arch *build,
		      const char *root, const char *layer, const char *links, size_t *nbuild,
		      char *err, size_t errsz);

/* links/var/lib/dpkg/status (made, replacing any): root's
 * var/lib/dpkg/status with each stanza of a package that
 * xs_hybrid_cross_name(PACKAGE, triplet) names (the toolchain packages
 * the layer replaces) marked held: "Status: install ok installed" becomes
 * "Status: hold ok installed" (its Package line must come before its
 * Status line, as the view writes them).  *held (may be NULL) gets their
 * number.  0, or a negative errno with err naming the file. */
int xs_hybrid_dpkg_status(const char *root, const char *links, const char *triplet,
			  size_t *held, char *err, size_t errsz);
#endif
