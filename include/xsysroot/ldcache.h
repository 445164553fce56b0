/* ldcache.h - write glibc's /etc/ld.so.cache for a foreign architecture.
 *
 * The host's ldconfig cannot build a cache for a foreign root (it rejects the
 * libraries), so the view writes its own, in glibc's current format only
 * ("glibc-ld.so.cache1.1": header, entries {flags, key, value, osversion,
 * hwcap}, string table, and the extension section with the generator
 * string), in the target's byte order.
 *
 * Input: (key, value) pairs in priority order (the ld.so.conf directory
 * order: an earlier pair wins over a later one with the same key).  key is
 * the library's soname as ld.so looks it up ("libc.so.6"); value is the
 * absolute path inside the sysroot.  Entries are sorted the way ld.so's
 * binary search expects (glibc's _dl_cache_libcmp order), stable for equal
 * keys.  flags are the architecture's (xs_arch.ldcache_flags).
 * Pure: bytes out, no I/O.  Thread safe.
 */
#ifndef XSYSROOT_LDCACHE_H
#define XSYSROOT_LDCACHE_H
#include <stddef.h>
#include "xsysroot/arch.h"
#include "xsysroot/util.h"

struct xs_ldcache_entry {
	const char *key;
	const char *value;
};

/* Glibc's library-name ordering (elf/dl-cache.c _dl_cache_libcmp). */
int xs_ldcache_libcmp(const char *a, const char *b);

/* Build the cache into out (initialised here).  Duplicate keys keep only the
 * first pair.  -EINVAL for an empty key or a value that is not absolute. */
int xs_ldcache_build(const struct xs_arch *arch, const struct xs_ldcache_entry *e, size_t n,
		     struct xs_buf *out);
#endif
