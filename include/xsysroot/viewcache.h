/* viewcache.h - the resolved-view cache: two text formats, each with one
 * writer and one reader, pure over bytes (no I/O: the repo stores the bytes
 * under meta/ with xs_store_meta_write, which writes a temp file with a
 * unique name and renames it, so readers sharing the cache never see half a
 * file).
 *
 * The view ("view-<key>"): the packages a resolution chose, in view order.
 *   line 1:  XS_VIEWCACHE_VERSION
 *   then one line per package, 10 fields separated by TAB, ended by '\n':
 *   name version arch multiarch origin size isize sha256 filename deps
 *   multiarch: the stanza's Multi-Arch ("same", "foreign", "allowed"...),
 *   "-" when it gives none (format 4: --native-tools reads it from the
 *   view instead of the index); origin: the index of the source (decimal,
 *   below norigins); size: the
 *   .deb's bytes (decimal); isize: its Installed-Size in KiB (decimal, 0:
 *   not given); sha256: 64 lower-case hex digits; deps: the view
 *   packages (line numbers from 0, decimal, below the package count)
 *   satisfying its Depends/Pre-Depends, as "3,7,12", or "-" for none.
 * The version is also in the file's name (selection.h's key): a file of an
 * older format is never looked up, and one that is read anyway (a copied
 * cache) fails the header check and is rebuilt, never taken for a view
 * whose packages say no Multi-Arch.
 *
 * The candidate table ("cands-<key>"): for every package name of the
 * indexes, the version of the stanza the resolver would pick for the
 * architecture (highest version for the architecture or "all", then the
 * lowest origin; unusable stanzas left out), one line each, 2 fields
 * separated by TAB, ended by '\n':
 *   name version
 * sorted by name (bytewise, unique) for a binary search; no header line.
 * Its readers (ldd, run, the soname guess: provider.h) name a package and
 * its version and nothing more, so nothing more is kept (format 1 also
 * kept arch, origin, size, sha256 and filename: 10.9 MB for bookworm's
 * arm64 main with its updates and security, against 1.9 MB).  Stanzas
 * whose name or version hold a TAB or newline are left out.
 *
 * What a reader refuses (-EBADMSG, nothing returned): a wrong header, a
 * line with another field count, an empty field or a NUL byte, a number that is not
 * plain decimal or out of range, a digest that is not SHA-256 hex, a
 * dependency out of range, a file that does not end with '\n' (so a file
 * cut inside a line), an empty view.  A file cut exactly at a line end
 * cannot be told from a smaller one: the rename above is what keeps it
 * whole.  The readers never read outside the bytes given and need no NUL.
 *
 * Thread safety: none needed (no global state); a table is owned by its
 * caller.
 */
#ifndef XSYSROOT_VIEWCACHE_H
#define XSYSROOT_VIEWCACHE_H
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/packages.h"
#include "xsysroot/util.h"

#define XS_VIEWCACHE_VERSION "xsysroot-view 4"
#define XS_VIEWCACHE_CANDS_VERSION "xsysroot-cands 2" /* in the table's key only */
#define XS_VIEWCACHE_MAX (64u << 20) /* bytes of a view file */
#define XS_VIEWCACHE_CANDS_MAX (256u << 20) /* bytes of a candidate table */

/* One package of the view.  In a table from xs_viewcache_parse the strings
 * point into the table's own copy of the text and deps is owned by it. */
struct xs_viewcache_pkg {
	const char *name, *version, *arch, *filename, *sha256;
	uint64_t size;
	int origin;
	size_t *deps;
	size_t ndeps;
	uint64_t installed_size; /* KiB, 0: not given */
	const char *multi_arch;	 /* "" (or NULL when writing): not given */
};

struct xs_viewcache {
	struct xs_viewcache_pkg *pkgs;
	size_t n;
	char *text; /* private */
};

/* The header line, into out (initialised by the caller, its limit
 * XS_VIEWCACHE_MAX). */
int xs_viewcache_write_header(struct xs_buf *out);
/* One package line.  -EBADMSG when a field is empty or holds a TAB or
 * newline (multi_arch may be empty: "-" is written; it may not be "-"),
 * the digest is not SHA-256 hex or origin is negative (nothing is written
 * then); -E2BIG past the buffer's limit. */
int xs_viewcache_write_pkg(struct xs_buf *out, const struct xs_viewcache_pkg *p);
/* Parse a whole view file; origins must be below norigins.  0 and *out
 * (free it with xs_viewcache_free), or -EBADMSG with *out empty. */
int xs_viewcache_parse(const char *data, size_t len, size_t norigins, struct xs_viewcache *out);
void xs_viewcache_free(struct xs_viewcache *vc);

/* The candidate table of the stanzas of t for Debian architecture arch,
 * into out (initialised here, limit XS_VIEWCACHE_CANDS_MAX). */
int xs_viewcache_cands_write(const struct xs_pkgtab *t, const char *arch, struct xs_buf *out);
/* The same table written to fd as it is made, in chunks of 64 KiB, so that
 * it is never whole in memory: 0, or negative errno (-E2BIG past
 * XS_VIEWCACHE_CANDS_MAX); on an error fd holds a prefix, to be discarded. */
int xs_viewcache_cands_write_fd(const struct xs_pkgtab *t, const char *arch, int fd);

/* One line of a candidate table, as spans of the caller's bytes (not
 * terminated): name, version. */
#define XS_VIEWCACHE_CAND_FIELDS 2
struct xs_viewcache_line {
	const char *f[XS_VIEWCACHE_CAND_FIELDS];
	size_t len[XS_VIEWCACHE_CAND_FIELDS];
};
/* Binary search of the table d[0..len) for name: 0 and *out, -ENOENT, or
 * -EBADMSG when the lines met are malformed.  An empty table is -ENOENT. */
int xs_viewcache_cands_find(const char *d, size_t len, const char *name,
			    struct xs_viewcache_line *out);

/* A candidate line's values, checked: owned strings (xs_viewcache_cand_free). */
struct xs_viewcache_cand {
	char *name, *version;
};
/* 0, or -EBADMSG for an empty field or one holding a TAB, newline or NUL
 * byte (*out is then empty). */
int xs_viewcache_cand_decode(const struct xs_viewcache_line *l, struct xs_viewcache_cand *out);
void xs_viewcache_cand_free(struct xs_viewcache_cand *c);
#endif
