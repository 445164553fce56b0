/* pkgidx.h - the compact form of a verified Packages index, kept in the
 * cache instead of the raw compressed file.
 *
 * It keeps only what the readers of a Packages table use (packages.h's
 * struct xs_pkg: resolution, the view cache, the candidate table, lock
 * files, status and the generated dpkg status): the fields Package,
 * Version, Architecture, Multi-Arch, Filename, Size, SHA256, Source,
 * Section, Installed-Size, Essential, Depends, Pre-Depends and Provides of
 * every stanza, re-emitted from the parsed table as Packages text and
 * compressed with zstd.  Reading it back goes through the same parser as
 * the index itself (packages.h), so a compact file is held to every rule
 * the index was (and a stanza unusable there is unusable here).  For
 * bookworm main arm64: 8.7 MB of Packages.xz become 6.1 MB.
 *
 * Layout (integers little-endian):
 *   header, 128 bytes:
 *     0   "XSPKGIDX"                 magic
 *     8   u32 version                XS_PKGIDX_VERSION
 *     12  u32 header bytes           128
 *     16  u8[32] index SHA-256       the index file as its Release lists it
 *     48  u64 index size
 *     56  u8[32] InRelease SHA-256   the InRelease it was verified by (0: unknown)
 *     88  40 bytes of zeros
 *   payload: one zstd frame (with its checksum) of the Packages text
 *   footer, 56 bytes:
 *     u64 packages, u64 text bytes, u64 payload bytes,
 *     u8[32] SHA-256 of every byte before these 32
 *
 * A reader refuses (nothing appended, err says why): a file shorter than
 * header and footer or over XS_PKGIDX_MAX, another magic, another version
 * (-EPROTO), a digest that does not match (a truncated or damaged file:
 * -EBADMSG), sizes that do not add up, a frame that does not decompress to
 * exactly the text bytes, text the Packages parser refuses, a package
 * count that differs, or (-ESTALE) another index than the caller expects.
 * The whole file is checked before any of it is used.
 *
 * Writing: the caller writes to a temp file and renames it into place
 * (store.h's meta documents), so readers sharing the cache see a whole
 * file or none; two writers of one index write the same bytes.
 *
 * Pure apart from the fd given to the writer; no global state; thread safe
 * on distinct tables.  Memory: the writer holds one stanza and 64 KiB
 * buffers; the reader works on the caller's bytes (a mapping) and holds the
 * parsed table.
 */
#ifndef XSYSROOT_PKGIDX_H
#define XSYSROOT_PKGIDX_H
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/packages.h"

#define XS_PKGIDX_VERSION 1u
#define XS_PKGIDX_MAX (256u << 20)	  /* bytes of a compact file */
#define XS_PKGIDX_TEXT_MAX (1ull << 30) /* bytes of its Packages text */
#define XS_PKGIDX_HEADER 128u
#define XS_PKGIDX_FOOTER 56u

/* Where a compact file came from. */
struct xs_pkgidx_id {
	char index_sha256[65];	   /* lowercase hex */
	uint64_t index_size;
	char inrelease_sha256[65]; /* lowercase hex, or "" unknown */
};

/* The compact form of pkgs[0, n) (the packages of one index, a table's
 * range), written to fd from where it stands; it reads only what the index
 * gave (not the dependencies xs_pkg_deps parses), so another thread may
 * resolve over the same table meanwhile.  0, -EBADMSG when a value cannot be written back as the parser
 * reads it (nothing is to be kept then), -EINVAL for a bad id, or a
 * negative errno of the write; on an error fd holds a prefix to discard. */
int xs_pkgidx_write_fd(const struct xs_pkg *pkgs, size_t n, const struct xs_pkgidx_id *id,
		       int fd);

/* Check the compact file data[0, len) and append its packages to t, each
 * with origin.  expect NULL accepts any index; got (may be NULL) receives
 * the id the file records.  0, or a negative errno (above) with err set
 * and t unchanged. */
int xs_pkgidx_load(const void *data, size_t len, const struct xs_pkgidx_id *expect,
		   struct xs_pkgtab *t, int origin, struct xs_pkgidx_id *got, char *err,
		   size_t errsz);

/* The same for the file at path (mapped for the time of the call):
 * -ENOENT when it is absent. */
int xs_pkgidx_load_path(const char *path, const struct xs_pkgidx_id *expect,
			struct xs_pkgtab *t, int origin, struct xs_pkgidx_id *got, char *err,
			size_t errsz);
#endif
