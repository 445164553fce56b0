/* version.h - Debian version ordering, as dpkg compares them
 * (epoch:upstream-revision, '~' sorts before everything, letters before
 * non-letters).  Pure; thread safe. */
#ifndef XSYSROOT_VERSION_H
#define XSYSROOT_VERSION_H
#include <stdbool.h>

enum xs_relop { XS_OP_NONE = 0, XS_OP_LT, XS_OP_LE, XS_OP_EQ, XS_OP_GE, XS_OP_GT };

/* <0, 0, >0 like strcmp. */
int xs_version_cmp(const char *a, const char *b);
/* True when version have satisfies "op want"; XS_OP_NONE is always true. */
bool xs_version_satisfies(const char *have, enum xs_relop op, const char *want);
/* Parse "<<", "<=", "=", ">=", ">>" (and the obsolete "<" = "<=", ">" = ">=").
 * Returns the operator and the number of bytes consumed in *used, or -1. */
int xs_relop_parse(const char *s, int *used);
const char *xs_relop_str(enum xs_relop op);
#endif
