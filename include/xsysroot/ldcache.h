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
 * keys.  flags are the architecture's (xs_arch.ldcache_flags) unless an
 * entry carries its own.
 *
 * One cache for two architectures (the hybrid build root): entries of
 * another architecture carry that architecture's flags.  ld.so's
 * search_cache (elf/dl-cache.c) finds the run of entries with the key it
 * looks for and takes the first whose flags pass _dl_cache_check_flags,
 * which accepts only its own architecture's value (x86-64: 0x0303,
 * aarch64: 0x0a03; sysdeps/unix/sysv/linux/ARCH/dl-cache.h), so each
 * loader skips the other's entries.  Equal keys are ordered by descending
 * flags, as ldconfig's compare() does (elf/cache.c), then input order.
 * Both loaders must read the same byte order (the header's endian flag):
 * the caller mixes only architectures of one byte order.  The order uses
 * arch's char signedness; a key with a byte above 0x7f may sort where a
 * loader of the other signedness does not look for it (Debian ships none).
 * Pure: bytes out, no I/O.  Thread safe.
 */
#ifndef XSYSROOT_LDCACHE_H
#define XSYSROOT_LDCACHE_H
#include <stddef.h>
#include <stdint.h>
#include "xsysroot/arch.h"
#include "xsysroot/util.h"

struct xs_ldcache_entry {
	const char *key;
	const char *value;
	uint32_t flags; /* 0: the architecture's */
};

/* Glibc's library-name ordering (elf/dl-cache.c _dl_cache_libcmp). */
int xs_ldcache_libcmp(const char *a, const char *b);

/* Build the cache into out (initialised here).  Duplicate keys of the same
 * flags keep only the first pair.  -EINVAL for an empty key or a value that is not absolute. */
int xs_ldcache_build(const struct xs_arch *arch, const struct xs_ldcache_entry *e, size_t n,
		     struct xs_buf *out);

/* The entries of a cache in the new format alone (as xs_ldcache_build
 * writes it) of len bytes at data, in arch's byte order: *e (malloc'ed
 * array, *n entries in file order, each with the flags it carries; key and
 * value point into data, which must outlive them).  Bounded and safe for
 * any bytes: -EBADMSG for anything malformed (a string outside the string
 * table, a count beyond the file), -EPROTO for the other byte order. */
int xs_ldcache_parse(const struct xs_arch *arch, const void *data, size_t len,
		     struct xs_ldcache_entry **e, size_t *n);
#endif
