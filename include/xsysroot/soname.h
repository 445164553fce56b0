/* soname.h - the Debian package names a shared library's soname suggests.
 *
 * Debian Policy 8.1 names a shared library's run-time package after its
 * soname: "libfoo.so.3" is shipped by libfoo3, "libfoo-2.so.0" (a name
 * ending in a digit) by libfoo-2-0, "libfoo-1.2.so" (no version after .so)
 * by libfoo-1.2; lower case, '_' as '-' (libgcc_s.so.1: libgcc-s1).  The
 * 64-bit time_t transition (trixie) renamed many to NAME + "t64".  These
 * are guesses: the caller checks a guess against the archive's Packages
 * (the package exists) and, once fetched, that it really ships the file.
 *
 * What it does not do: look anything up, know the exceptions (libz.so.1 is
 * zlib1g's, libcrypto.so.3 libssl3's): those need Contents.
 *
 * Pure, thread safe, no allocation. */
#ifndef XSYSROOT_SONAME_H
#define XSYSROOT_SONAME_H
#include <stddef.h>

#define XS_SONAME_MAX_GUESSES 4
#define XS_SONAME_PKG_MAX 128 /* bytes of a guessed name, with its NUL */

/* The package names soname suggests, most likely first, into out; returns
 * how many (0 when soname is no library name: no "lib" prefix, no ".so",
 * a '/', a character a package name cannot hold, or too long). */
size_t xs_soname_packages(const char *soname, char out[XS_SONAME_MAX_GUESSES][XS_SONAME_PKG_MAX]);
#endif
