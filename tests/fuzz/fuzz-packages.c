/* fuzz-packages.c - xs_packages_parse, xs_pkgtab_foreach_name and
 * xs_dep_parse (packages.h).
 *
 * The input is parsed as a Packages index twice into one table (the second
 * time after the name index was built, so that it grows incrementally), and
 * as one Depends-like field.  Checks: nothing is appended on failure; every
 * stanza has the required fields with a hex digest and, unless it is marked
 * unusable, a relative Filename without ".."; each package is found by its
 * own name; a parsed dependency has names everywhere and a version exactly
 * when it has an operator. */
#include "fuzz.h"
#include "xsysroot/packages.h"

struct seen {
	size_t want;
	bool found;
};

static int find_cb(struct xs_pkg *p, size_t idx, void *ud)
{
	struct seen *s = ud;
	FZ_CHECK(p);
	if (idx == s->want)
		s->found = true;
	return 0;
}

static int stop_cb(struct xs_pkg *p, size_t idx, void *ud)
{
	(void)p;
	(void)idx;
	(void)ud;
	return 7;
}

static void check_dep(const struct xs_dep *d, bool provides)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct xs_dep_alt *alt = &d->alts[i];
		FZ_CHECK(alt->n > 0);
		if (provides)
			FZ_CHECK(alt->n == 1);
		for (size_t j = 0; j < alt->n; j++) {
			const struct xs_dep_atom *a = &alt->atoms[j];
			FZ_CHECK(a->name && a->name[0]);
			FZ_CHECK(a->op >= XS_OP_NONE && a->op <= XS_OP_GT);
			FZ_CHECK((a->op == XS_OP_NONE) == (a->version == NULL));
			if (provides)
				FZ_CHECK(a->op == XS_OP_NONE || a->op == XS_OP_EQ);
			if (a->version)
				FZ_CHECK(xs_version_cmp(a->version, a->version) == 0);
		}
	}
}

/* A ".." path component anywhere in s. */
static bool has_dotdot(const char *s)
{
	for (const char *p = s;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		if (!e)
			return false;
		p = e + 1;
	}
}

static void check_table(struct xs_pkgtab *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct xs_pkg *p = &t->pkgs[i];
		FZ_CHECK(p->name && p->version && p->arch && p->filename);
		FZ_CHECK(xs_is_sha256_hex(p->sha256));
		FZ_CHECK(p->unusable || (p->filename[0] != '/' && !has_dotdot(p->filename)));
		FZ_CHECK(xs_pkg_deps(p) == 0); /* checked when parsed */
		check_dep(&p->depends, false);
		check_dep(&p->pre_depends, false);
		check_dep(&p->provides, true);
		struct seen s = { i, false };
		FZ_CHECK(xs_pkgtab_foreach_name(t, p->name, find_cb, &s) == 0 && s.found);
		FZ_CHECK(xs_pkgtab_foreach_name(t, p->name, stop_cb, NULL) == 7);
	}
	FZ_CHECK(xs_pkgtab_foreach_name(t, "fuzz absent name", stop_cb, NULL) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct xs_pkgtab t;
	xs_pkgtab_init(&t);
	int r = xs_packages_parse(&t, (const char *)data, size, 1, err, sizeof err);
	FZ_CHECK(r <= 0);
	if (r < 0)
		FZ_CHECK(t.n == 0);
	size_t n1 = t.n;
	check_table(&t);
	r = xs_packages_parse(&t, (const char *)data, size, 2, err, sizeof err);
	FZ_CHECK(t.n == (r == 0 ? 2 * n1 : n1));
	for (size_t i = 0; i < t.n; i++)
		FZ_CHECK(t.pkgs[i].origin == (i < n1 ? 1 : 2));
	check_table(&t);
	xs_pkgtab_free(&t);

	struct xs_dep d;
	r = xs_dep_parse((const char *)data, size, &d);
	if (r == 0) {
		check_dep(&d, false);
		xs_dep_free(&d);
	} else {
		FZ_CHECK(r == -EBADMSG || r == -E2BIG); /* E2BIG: packages.c's DEP_MAX_* */
	}
	return 0;
}
