/* test-filelists.c - the view's file lists: Contents indexes built with
 * contents.h from a text, attached per source; a package's paths go into a
 * real view as pending (its own source first, then the others), and a
 * package no index lists is reported for fetching at mount (the fetch is a
 * fake callback). */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/contents.h"
#include "xsysroot/filelists.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"
#include "xsysroot/view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* source 0's index, and source 1's (a security archive's would list
 * fewer) */
static const char contents0[] =
	"usr/lib/aarch64-linux-gnu/libz.so.1        libs/zlib1g\n"
	"usr/lib/aarch64-linux-gnu/libz.so.1.2.13   libs/zlib1g\n"
	"usr/bin/hello                              devel/hello\n";
static const char contents1[] =
	"usr/lib/aarch64-linux-gnu/libfoo.so.1      libs/libfoo\n"
	"usr/bin/hello-other                        devel/hello\n";

static struct xs_contents *build(const char *text, const char *name)
{
	struct xs_contents *c = NULL;
	return tl_contents_open(text, tl_path("%s.idx", name), &c) == 0 ? c : NULL;
}

struct missing {
	size_t seen[8];
	size_t n;
	int answer;
};

static int on_missing(void *ud, size_t i, char *err, size_t errsz)
{
	struct missing *m = ud;
	if (m->n < XS_ARRAY_SIZE(m->seen))
		m->seen[m->n++] = i;
	if (m->answer < 0)
		snprintf(err, errsz, "package %zu: cannot fetch", i);
	return m->answer;
}

static int count_cb(const char *path, void *ud)
{
	(void)path;
	(*(size_t *)ud)++;
	return 0;
}

static bool pending_of(struct xs_view *v, const char *path, int pkg)
{
	struct xs_vattr a;
	return xs_view_resolve(v, path, &a) == 0 && a.pending && a.pkg == pkg;
}

static void test_lists(struct xs_filelists *fl, struct xs_store *store)
{
	CHECK_INT(xs_filelists_count(fl), 2, "two indexes");
	CHECK(xs_filelists_get(fl, 2) == NULL, "none past them");
	size_t n = 0;
	xs_filelists_foreach(fl, "hello", count_cb, &n);
	CHECK_INT(n, 2, "foreach: hello's paths of every index");

	struct xs_view *v = xs_view_new(store, 0);
	const struct xs_filelists_pkg pkgs[] = {
		{ "zlib1g", 0, false },	  /* listed by its own source */
		{ "libfoo", 0, false },	  /* only by the other source */
		{ "nolist", 1, false },	  /* by none: fetched at mount */
		{ "manifested", 0, true }, /* by none, but its paths come another way */
		{ "hello", 1, false },	  /* by both: its own source's only */
	};
	struct missing m = { .answer = 0 };
	char err[256] = "";
	CHECK_INT(xs_filelists_add_view(fl, v, pkgs, XS_ARRAY_SIZE(pkgs), on_missing, &m, err,
					sizeof err),
		  1, "one package is in no Contents index");
	CHECK(m.n == 1 && m.seen[0] == 2, "it is reported for fetching: nolist (%zu reported)",
	      m.n);
	CHECK(pending_of(v, "usr/lib/aarch64-linux-gnu/libz.so.1.2.13", 0),
	      "zlib1g's paths are pending");
	CHECK(pending_of(v, "usr/lib/aarch64-linux-gnu/libfoo.so.1", 1),
	      "libfoo's paths from the other source");
	CHECK(pending_of(v, "usr/bin/hello-other", 4), "hello's paths from its own source");
	struct xs_vattr a;
	CHECK_INT(xs_view_resolve(v, "usr/bin/hello", &a), -ENOENT,
		  "and not from the other source once its own lists it");
	xs_view_free(v);

	/* the fetch failing stops and is returned */
	v = xs_view_new(store, 0);
	const struct xs_filelists_pkg two[] = { { "nolist", 0, false }, { "nolist2", 0, false } };
	struct missing f = { .answer = -EIO };
	CHECK_INT(xs_filelists_add_view(fl, v, two, 2, on_missing, &f, err, sizeof err), -EIO,
		  "a failed fetch fails the view");
	CHECK(f.n == 1 && strstr(err, "package 0: cannot fetch"), "at the first: %s", err);
	CHECK_INT(xs_filelists_add_pkg(fl, v, "zlib1g", 7, 3), 2,
		  "a source out of range: every source looked at");
	xs_view_free(v);
}

/* The way chosen by cost: a small view fetches its .debs, a big one or a
 * cached index uses Contents, none usable always the .debs, the knob wins
 * where it can; the reason names both figures. */
static void test_choose(void)
{
	char why[512];
	struct xs_filelists_cost c = { .download = 45000000, .usable = 2 };
	CHECK_INT(xs_filelists_choose(&c, 3500000, 0, why, sizeof why), XS_FILELISTS_DEBS,
		  "3.5 MB of .debs against 45 MB of Contents: the .debs");
	CHECK(strstr(why, "3500000 B") && strstr(why, "45000000 B") && strstr(why, "smaller"),
	      "the reason gives both figures: %s", why);
	CHECK_INT(xs_filelists_choose(&c, 60000000, 0, why, sizeof why), XS_FILELISTS_CONTENTS,
		  "60 MB of .debs against 45 MB of Contents: Contents");
	CHECK_INT(xs_filelists_choose(&c, 45000000, 0, NULL, 0), XS_FILELISTS_CONTENTS,
		  "a tie: Contents");
	c = (struct xs_filelists_cost){ .download = 0, .usable = 2, .cached = 2 };
	CHECK_INT(xs_filelists_choose(&c, 1000, 0, why, sizeof why), XS_FILELISTS_CONTENTS,
		  "cached indexes: Contents (%s)", why);
	CHECK_INT(xs_filelists_choose(&c, 0, 0, NULL, 0), XS_FILELISTS_CONTENTS,
		  "cached indexes and cached .debs: Contents, as before");
	CHECK_INT(xs_filelists_choose(&c, 1000, -1, why, sizeof why), XS_FILELISTS_DEBS,
		  "forced .debs (%s)", why);
	c = (struct xs_filelists_cost){ .download = 45000000, .usable = 2 };
	CHECK_INT(xs_filelists_choose(&c, 1000, 1, NULL, 0), XS_FILELISTS_CONTENTS,
		  "forced Contents");
	c = (struct xs_filelists_cost){ 0 };
	CHECK_INT(xs_filelists_choose(&c, 90000000, 1, why, sizeof why), XS_FILELISTS_DEBS,
		  "no usable Contents: the .debs even when Contents is forced (%s)", why);
}

int main(void)
{
	tl_root();
	test_choose();
	struct xs_store *store = NULL;
	CHECK_INT(tl_store_open("store", &store), 0, "store");
	struct xs_contents *c0 = build(contents0, "c0"), *c1 = build(contents1, "c1");
	CHECK(c0 && c1, "Contents indexes built");
	if (store && c0 && c1) {
		const struct xs_filelists_config cfg = { .store = store, .nsrcs = 2 };
		struct xs_filelists *fl = xs_filelists_new(&cfg);
		CHECK_INT(xs_filelists_count(fl), 0, "none at first");
		xs_filelists_attach(fl, 0, c0);
		xs_filelists_attach(fl, 1, c1);
		c0 = c1 = NULL;
		CHECK(xs_filelists_get(fl, 1) != NULL, "attached in source order");
		test_lists(fl, store);
		xs_filelists_free(fl);
	}
	if (c0)
		xs_contents_close(c0);
	if (c1)
		xs_contents_close(c1);
	if (store)
		xs_store_close(store);
	return tap_done();
}
