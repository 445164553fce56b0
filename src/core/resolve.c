/* resolve.c - see include/xsysroot/resolve.h
 *
 * One pass over the table builds a node per name (real or provided): the
 * name's candidate and, in table order, the candidates that Provide it.
 * Then a FIFO worklist walks Pre-Depends and Depends from the roots; a node
 * is selected (and queued) once, so cycles end by themselves.  Each node
 * remembers the node that pulled it in, which gives the chain for errors.
 *
 * Not handled (apt would): Conflicts/Breaks, Recommends, Multi-Arch other
 * than accepting ":any"/":native", several candidates of one name.  An
 * arch-qualified dependency on another architecture ("foo:amd64" when
 * resolving arm64) is never satisfied.
 */
#include "xsysroot/resolve.h"
#include "xsysroot/suggest.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NONE SIZE_MAX
#define CHAIN_MAX 32 /* names shown in an error chain */

struct provider {
	size_t node;			 /* the providing package's own node */
	const struct xs_dep_atom *atom;	 /* its Provides entry */
};

struct node {
	const char *name;
	size_t cand;		/* index in t->pkgs, NONE when only virtual */
	struct provider *prov;
	size_t n_prov, cap_prov;
	size_t parent;		/* node that pulled this one in, NONE for a root */
	bool selected;
};

struct ctx {
	struct xs_pkgtab *t;
	const char *arch;
	struct node *nodes;
	size_t n_nodes, cap_nodes;
	size_t *map;		/* node + 1, 0 = empty; open addressing */
	size_t map_cap;
	size_t *queue;
	size_t q_head, q_len, q_cap;
	char *err;
	size_t errsz;
};

static size_t lookup(const struct ctx *c, const char *name)
{
	if (!c->map_cap)
		return NONE;
	size_t mask = c->map_cap - 1;
	for (size_t b = (size_t)xs_hash_str(name) & mask;; b = (b + 1) & mask) {
		size_t v = c->map[b];
		if (!v)
			return NONE;
		if (strcmp(c->nodes[v - 1].name, name) == 0)
			return v - 1;
	}
}

static void map_put(struct ctx *c, size_t id)
{
	size_t mask = c->map_cap - 1;
	size_t b = (size_t)xs_hash_str(c->nodes[id].name) & mask;
	while (c->map[b])
		b = (b + 1) & mask;
	c->map[b] = id + 1;
}

static size_t get_node(struct ctx *c, const char *name)
{
	size_t id = lookup(c, name);
	if (id != NONE)
		return id;
	if ((c->n_nodes + 1) * 2 > c->map_cap) {
		size_t cap = c->map_cap ? c->map_cap * 2 : 1024;
		free(c->map);
		c->map = xs_xcalloc(cap, sizeof *c->map);
		c->map_cap = cap;
		for (size_t i = 0; i < c->n_nodes; i++)
			map_put(c, i);
	}
	xs_grow(&c->nodes, &c->cap_nodes, c->n_nodes + 1, sizeof *c->nodes);
	id = c->n_nodes++;
	c->nodes[id] = (struct node){ .name = name, .cand = NONE, .parent = NONE };
	map_put(c, id);
	return id;
}

static bool arch_ok(const struct ctx *c, const char *a)
{
	return strcmp(a, c->arch) == 0 || strcmp(a, "all") == 0;
}

static bool archq_ok(const struct ctx *c, const char *q)
{
	return !q || !strcmp(q, "any") || !strcmp(q, "native") || !strcmp(q, c->arch);
}

/* Room for every node build can make (a name or a Provides entry of each
 * package of the architecture), reserved at once: doubling would leave up
 * to half of a table of tens of thousands of nodes unused. */
static void reserve_nodes(struct ctx *c)
{
	const struct xs_pkgtab *t = c->t;
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		if (arch_ok(c, t->pkgs[i].arch))
			n += 1 + t->pkgs[i].provides.n;
	if (n > c->cap_nodes) {
		c->nodes = xs_xrealloc(c->nodes, n * sizeof *c->nodes);
		c->cap_nodes = n;
	}
}

static void build(struct ctx *c)
{
	struct xs_pkgtab *t = c->t;
	reserve_nodes(c);
	for (size_t i = 0; i < t->n; i++) {
		const struct xs_pkg *p = &t->pkgs[i];
		if (!arch_ok(c, p->arch))
			continue;
		size_t id = get_node(c, p->name); /* may move c->nodes */
		struct node *n = &c->nodes[id];
		if (n->cand == NONE) {
			n->cand = i;
			continue;
		}
		const struct xs_pkg *q = &t->pkgs[n->cand];
		int v = xs_version_cmp(p->version, q->version);
		if (v > 0 || (v == 0 && p->origin < q->origin))
			n->cand = i;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct xs_pkg *p = &t->pkgs[i];
		if (!arch_ok(c, p->arch))
			continue;
		size_t self = lookup(c, p->name);
		if (c->nodes[self].cand != i)
			continue;
		for (size_t k = 0; k < p->provides.n; k++) {
			const struct xs_dep_atom *a = &p->provides.alts[k].atoms[0];
			size_t id = get_node(c, a->name); /* may move c->nodes */
			struct node *vn = &c->nodes[id];
			if (!vn->cap_prov) { /* most names have one provider: 16 bytes, not 128 */
				vn->prov = xs_xmalloc(sizeof *vn->prov);
				vn->cap_prov = 1;
			}
			xs_grow(&vn->prov, &vn->cap_prov, vn->n_prov + 1, sizeof *vn->prov);
			vn->prov[vn->n_prov++] = (struct provider){ self, a };
		}
	}
}

static void select_node(struct ctx *c, size_t id, size_t parent)
{
	struct node *n = &c->nodes[id];
	if (n->selected)
		return;
	n->selected = true;
	n->parent = parent;
	xs_grow(&c->queue, &c->q_cap, c->q_len + 1, sizeof *c->queue);
	c->queue[c->q_len++] = id;
}

static bool cand_ok(const struct ctx *c, const struct node *n, const struct xs_dep_atom *a)
{
	return n->cand != NONE &&
	       xs_version_satisfies(c->t->pkgs[n->cand].version, a->op, a->version);
}

static bool prov_ok(const struct provider *pv, const struct xs_dep_atom *a)
{
	if (a->op == XS_OP_NONE)
		return true;
	return pv->atom->op == XS_OP_EQ && pv->atom->version &&
	       xs_version_satisfies(pv->atom->version, a->op, a->version);
}

__attribute__((format(printf, 4, 5)))
static void append(char *buf, size_t sz, size_t *o, const char *fmt, ...)
{
	if (*o + 1 >= sz)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(buf + *o, sz - *o, fmt, ap);
	va_end(ap);
	if (k > 0)
		*o = *o + (size_t)k < sz ? *o + (size_t)k : sz - 1;
}

static int fail_chain(struct ctx *c, size_t from, const struct xs_dep_alt *alt)
{
	if (!c->err || !c->errsz)
		return -ENOENT;
	size_t chain[CHAIN_MAX], n = 0;
	bool cut = false;
	for (size_t id = from; id != NONE; id = c->nodes[id].parent) {
		if (n == CHAIN_MAX) {
			cut = true;
			break;
		}
		chain[n++] = id;
	}
	char *buf = c->err;
	size_t sz = c->errsz, o = 0;
	buf[0] = 0;
	if (cut)
		append(buf, sz, &o, "... -> ");
	for (size_t i = n; i-- > 0;)
		append(buf, sz, &o, "%s -> ", c->nodes[chain[i]].name);
	for (size_t i = 0; i < alt->n; i++) {
		const struct xs_dep_atom *a = &alt->atoms[i];
		append(buf, sz, &o, "%s%s%s%s", i ? " | " : "", a->name, a->archq ? ":" : "",
		       a->archq ? a->archq : "");
		if (a->op != XS_OP_NONE)
			append(buf, sz, &o, " (%s %s)", xs_relop_str(a->op), a->version);
	}
	const struct xs_dep_atom *a = &alt->atoms[0];
	size_t id = lookup(c, a->name);
	if (alt->n == 1 && id != NONE && c->nodes[id].cand != NONE)
		append(buf, sz, &o, ": no candidate satisfies it (%s %s is available)", a->name,
		       c->t->pkgs[c->nodes[id].cand].version);
	else
		append(buf, sz, &o, ": no candidate satisfies it");
	return -ENOENT;
}

static int satisfy(struct ctx *c, size_t from, const struct xs_dep_alt *alt)
{
	/* an alternative that the selection already satisfies */
	for (size_t i = 0; i < alt->n; i++) {
		const struct xs_dep_atom *a = &alt->atoms[i];
		size_t id = archq_ok(c, a->archq) ? lookup(c, a->name) : NONE;
		if (id == NONE)
			continue;
		const struct node *n = &c->nodes[id];
		if (n->selected && cand_ok(c, n, a))
			return 0;
		for (size_t k = 0; k < n->n_prov; k++)
			if (c->nodes[n->prov[k].node].selected && prov_ok(&n->prov[k], a))
				return 0;
	}
	/* else the first alternative that can be satisfied */
	for (size_t i = 0; i < alt->n; i++) {
		const struct xs_dep_atom *a = &alt->atoms[i];
		size_t id = archq_ok(c, a->archq) ? lookup(c, a->name) : NONE;
		if (id == NONE)
			continue;
		const struct node *n = &c->nodes[id];
		if (cand_ok(c, n, a)) {
			select_node(c, id, from);
			return 0;
		}
		for (size_t k = 0; k < n->n_prov; k++)
			if (prov_ok(&n->prov[k], a)) {
				select_node(c, n->prov[k].node, from);
				return 0;
			}
	}
	return fail_chain(c, from, alt);
}

/* "NAME: no such package for ARCH; did you mean X?" appended to the error,
 * after the ones before ("; " between them). */
static void unknown_root(struct ctx *c, const char *name, size_t *o)
{
	if (!c->err || !c->errsz)
		return;
	struct xs_suggest sg;
	xs_suggest_init(&sg, name);
	for (size_t i = 0; i < c->n_nodes; i++)
		xs_suggest_offer(&sg, c->nodes[i].name);
	const char *best = xs_suggest_best(&sg);
	append(c->err, c->errsz, o, "%s%s: no such package for %s%s%s%s", *o ? "; " : "", name,
	       c->arch, best ? "; did you mean " : "", best ? best : "", best ? "?" : "");
}

/* Every root that names no package, each said in the error: -ENOENT when
 * there is one. */
static int check_roots(struct ctx *c, const char *const *roots, size_t n_roots)
{
	size_t o = 0, bad = 0;
	for (size_t i = 0; i < n_roots; i++) {
		if (lookup(c, roots[i]) != NONE)
			continue;
		bool again = false;
		for (size_t k = 0; k < i && !again; k++)
			again = !strcmp(roots[k], roots[i]);
		if (!again)
			unknown_root(c, roots[i], &o);
		bad++;
	}
	return bad ? -ENOENT : 0;
}

static int select_root(struct ctx *c, const char *name)
{
	size_t id = lookup(c, name);
	if (id == NONE)
		return -ENOENT; /* check_roots said it */
	struct node *n = &c->nodes[id];
	if (n->cand != NONE) {
		select_node(c, id, NONE);
		return 0;
	}
	for (size_t k = 0; k < n->n_prov; k++)
		if (c->nodes[n->prov[k].node].selected)
			return 0;
	/* n_prov > 0: a node exists only for a candidate or a Provides entry */
	select_node(c, n->prov[0].node, NONE);
	return 0;
}

struct sorted {
	const char *name;
	size_t idx;
};

static int cmp_sorted(const void *a, const void *b)
{
	return strcmp(((const struct sorted *)a)->name, ((const struct sorted *)b)->name);
}

int xs_resolve(struct xs_pkgtab *t, const char *arch, const char *const *roots,
	       size_t n_roots, size_t **out, size_t *n_out, char *err, size_t errsz)
{
	struct ctx c = { .t = t, .arch = arch, .err = err, .errsz = errsz };
	int r = 0;

	*out = NULL;
	*n_out = 0;
	if (err && errsz)
		err[0] = 0;
	if (!arch || (n_roots && !roots))
		return -EINVAL;
	build(&c);

	r = check_roots(&c, roots, n_roots);
	for (size_t i = 0; i < n_roots && r == 0; i++)
		r = select_root(&c, roots[i]);
	while (r == 0 && c.q_head < c.q_len) {
		size_t id = c.queue[c.q_head++];
		struct xs_pkg *p = &t->pkgs[c.nodes[id].cand];
		r = xs_pkg_deps(p);
		const struct xs_dep *lists[2] = { &p->pre_depends, &p->depends };
		for (size_t l = 0; l < 2 && r == 0; l++)
			for (size_t k = 0; k < lists[l]->n && r == 0; k++)
				r = satisfy(&c, id, &lists[l]->alts[k]);
	}

	if (r == 0) {
		struct sorted *s = xs_xmalloc((c.q_len ? c.q_len : 1) * sizeof *s);
		for (size_t i = 0; i < c.q_len; i++) {
			size_t idx = c.nodes[c.queue[i]].cand;
			s[i] = (struct sorted){ t->pkgs[idx].name, idx };
		}
		qsort(s, c.q_len, sizeof *s, cmp_sorted);
		size_t *v = xs_xmalloc((c.q_len ? c.q_len : 1) * sizeof *v);
		for (size_t i = 0; i < c.q_len; i++)
			v[i] = s[i].idx;
		free(s);
		*out = v;
		*n_out = c.q_len;
	}

	for (size_t i = 0; i < c.n_nodes; i++)
		free(c.nodes[i].prov);
	free(c.nodes);
	free(c.map);
	free(c.queue);
	return r;
}

void xs_resolve_deps(struct xs_pkgtab *tab, const size_t *sel, size_t nsel, size_t i,
		     size_t **deps, size_t *ndeps)
{
	struct xs_pkg *p = &tab->pkgs[sel[i]];
	xs_pkg_deps(p); /* parsed already by xs_resolve; on failure: no edges */
	const struct xs_dep *fields[] = { &p->pre_depends, &p->depends };
	size_t cap = 0;
	for (size_t f = 0; f < 2; f++) {
		for (size_t g = 0; g < fields[f]->n; g++) {
			const struct xs_dep_alt *alt = &fields[f]->alts[g];
			size_t hit = SIZE_MAX;
			for (size_t a = 0; a < alt->n && hit == SIZE_MAX; a++) {
				const char *want = alt->atoms[a].name;
				for (size_t k = 0; k < nsel && hit == SIZE_MAX; k++) {
					const struct xs_pkg *c = &tab->pkgs[sel[k]];
					if (!strcmp(c->name, want))
						hit = k;
					for (size_t v = 0; v < c->provides.n && hit == SIZE_MAX; v++)
						if (c->provides.alts[v].n &&
						    !strcmp(c->provides.alts[v].atoms[0].name, want))
							hit = k;
				}
			}
			if (hit != SIZE_MAX && hit != i) {
				xs_grow(deps, &cap, *ndeps + 1, sizeof **deps);
				(*deps)[(*ndeps)++] = hit;
			}
		}
	}
}
