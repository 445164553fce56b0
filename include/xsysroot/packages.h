/* packages.h - Packages indexes and dependency fields.
 *
 * Pure: bytes in, a table out.  The table owns copies of every string.
 * Thread safety: none; build it in one thread, then read it from many.
 */
#ifndef XSYSROOT_PACKAGES_H
#define XSYSROOT_PACKAGES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xsysroot/version.h"

#define XS_PACKAGES_MAX (1u << 21) /* stanzas in one table */

struct xs_dep_atom {
	char *name;
	char *archq;   /* "any", "native", an arch, or NULL */
	int op;        /* enum xs_relop */
	char *version; /* NULL when op == XS_OP_NONE */
};
struct xs_dep_alt {	/* a | b | c */
	struct xs_dep_atom *atoms;
	size_t n;
};
struct xs_dep {		/* x, y, z */
	struct xs_dep_alt *alts;
	size_t n;
};

/* Parse a Depends-like field ("a (>= 1) | b:any, c [amd64] <!nocheck>").
 * Architecture restrictions "[...]" and build profiles "<...>" are accepted
 * and dropped.  -EBADMSG when malformed. */
int xs_dep_parse(const char *s, size_t len, struct xs_dep *out);
void xs_dep_free(struct xs_dep *d);

struct xs_pkg {
	char *name, *version, *arch, *multi_arch, *filename, *source, *section;
	char sha256[65];
	bool essential;
	bool deps_parsed; /* here, beside sha256: no padding (a table holds tens of thousands) */
	int origin;		/* caller's tag: which index the stanza came from */
	uint64_t size;		 /* Size: bytes of the .deb */
	uint64_t installed_size; /* Installed-Size, in KiB */
	/* empty until xs_pkg_deps parsed them from the texts below */
	struct xs_dep depends, pre_depends;
	struct xs_dep provides; /* every alt has exactly one atom; op is NONE or EQ */
	/* the Depends and Pre-Depends fields as the index gives them (NULL:
	 * absent), checked by the parser: a table keeps tens of thousands of
	 * packages and a resolution reads the dependencies of a few dozen */
	const char *depends_text, *pre_depends_text;
	/* NULL, or why the package cannot be fetched: its Filename is not a
	 * relative path inside the mirror ("unsafe Filename 'x'"); filename is
	 * then never to be used as a path */
	char *unusable;
};

struct xs_pkgtab {
	struct xs_pkg *pkgs;
	size_t n, cap;
	/* private: name hash index, built lazily by xs_pkgtab_find */
	size_t *hidx;
	size_t hcap;
	size_t hbuilt;
};

void xs_pkgtab_init(struct xs_pkgtab *t);
void xs_pkgtab_free(struct xs_pkgtab *t);
/* Append every stanza of a Packages index.  A stanza without Package,
 * Version, Architecture, Filename, Size or SHA256, or with a bad SHA256, is
 * -EBADMSG with the line and the package named in err.  Nothing is appended
 * on failure.  A stanza whose Filename is hostile (absolute, with a ".."
 * component, or not one printable word) is appended with
 * unusable set: one package is unusable, not the index. */
int xs_packages_parse(struct xs_pkgtab *t, const char *data, size_t len, int origin,
		      char *err, size_t errsz);
/* Move every package of src to the end of dst (in order); src is freed. */
void xs_pkgtab_move(struct xs_pkgtab *dst, struct xs_pkgtab *src);

/* A Packages index parsed as its text arrives (a download being
 * decompressed): each feed parses the stanzas it completes and keeps the
 * rest (at most XS_PACKAGES_STANZA_MAX bytes, -E2BIG past that); end
 * parses the last one.  The stanzas are kept in the stream's own table
 * and appended to t (as xs_packages_parse appends them, line numbers
 * counted over the whole index) only by a successful end: a stream freed
 * without it, or that failed, leaves t as it was, and after an error
 * every later call returns that error.  Whether the index is the one the
 * Release lists is the caller's check: call end only once its SHA-256 and
 * size matched.  Free the stream after end (or instead of it). */
#define XS_PACKAGES_STANZA_MAX (4u << 20)
struct xs_packages_stream;
int xs_packages_stream_new(struct xs_pkgtab *t, int origin, struct xs_packages_stream **out);
int xs_packages_stream_feed(struct xs_packages_stream *s, const void *p, size_t n, char *err,
			    size_t errsz);
int xs_packages_stream_end(struct xs_packages_stream *s, char *err, size_t errsz);
void xs_packages_stream_free(struct xs_packages_stream *s);

/* Parse p's Depends and Pre-Depends into depends and pre_depends, once
 * (they were checked when the index was parsed).  0, -ENOMEM or -EBADMSG.
 * It changes p: not to be called from two threads on one table. */
int xs_pkg_deps(struct xs_pkg *p);

/* Every index of a package with this name, in table order: calls cb for each;
 * stops and returns cb's value when it is non-zero. */
int xs_pkgtab_foreach_name(struct xs_pkgtab *t, const char *name,
			   int (*cb)(struct xs_pkg *p, size_t idx, void *ud), void *ud);
#endif
