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
	uint64_t size;		 /* Size: bytes of the .deb */
	uint64_t installed_size; /* Installed-Size, in KiB */
	bool essential;
	struct xs_dep depends, pre_depends;
	struct xs_dep provides; /* every alt has exactly one atom; op is NONE or EQ */
	int origin;		/* caller's tag: which index the stanza came from */
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
/* Every index of a package with this name, in table order: calls cb for each;
 * stops and returns cb's value when it is non-zero. */
int xs_pkgtab_foreach_name(struct xs_pkgtab *t, const char *name,
			   int (*cb)(struct xs_pkg *p, size_t idx, void *ud), void *ud);
#endif
