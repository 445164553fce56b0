/* test-contents.c - Contents parsing, the compact index, queries, bounds,
 * and a corrupted index file. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/contents.h"
#include "xsysroot/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *root;

static char *gzip(const char *p, size_t n, size_t *outn)
{
	struct archive *a = archive_write_new();
	size_t cap = n + 65536;
	char *out = xs_xmalloc(cap);
	archive_write_set_format_raw(a);
	archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open_memory(a, out, cap, outn);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "Contents");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_write_header(a, e);
	archive_write_data(a, p, n);
	archive_write_close(a);
	archive_entry_free(e);
	archive_write_free(a);
	return out;
}

static int build_text(const char *text, size_t n, bool gz, uint64_t max, const char *out,
		      struct xs_contents_stats *st)
{
	size_t zn = n;
	char *z = gz ? gzip(text, n, &zn) : NULL;
	int fd = tl_memfd(gz ? z : text, zn);
	int r = xs_contents_build(fd, max, out, st);
	close(fd);
	free(z);
	return r;
}

struct collect {
	struct xs_buf b;
	int stop_after;
	int calls;
};

static int collect_cb(const char *path, void *ud)
{
	struct collect *c = ud;
	c->calls++;
	xs_buf_append(&c->b, path, strlen(path));
	xs_buf_append(&c->b, "|", 1);
	return c->stop_after && c->calls >= c->stop_after ? 42 : 0;
}

/* All paths of pkg joined by '|', or NULL on error. */
static char *paths_of(struct xs_contents *c, const char *pkg)
{
	struct collect col = { 0 };
	xs_buf_init(&col.b, 64 << 20);
	xs_buf_append(&col.b, "", 0);
	int r = xs_contents_foreach(c, pkg, collect_cb, &col);
	if (r != 0) {
		xs_buf_free(&col.b);
		return NULL;
	}
	return xs_buf_steal(&col.b, NULL);
}

/* Overwrite path without fsync (many rewrites of one scratch file). */
static void put_file(const char *path, const void *p, size_t n)
{
	if (tl_write_file(path, p, n, 0644) < 0)
		abort();
}

static const char fixture[] =
	"FILE                                                    LOCATION\n"
	"bin/bash                                                shells/bash\n"
	"bin/rbash                                               shells/bash\n"
	"etc/bash.bashrc                                         shells/bash\n"
	"usr/lib/x/libfoo.so.1                                   libs/libfoo1,oldlibs/libfoo1-compat\n"
	"usr/share/doc/My Docs/read me.txt                       doc/docpkg\n"
	"usr/share/x\tdoc/tabbed\n"
	"./usr/share/dotted                                      non-free/libs/nfpkg\n"
	"/usr/share/absolute                                     doc/docpkg\n"
	"usr/share/twice                                         a/twice,b/twice\n"
	"usr/share/crlf                                          doc/docpkg\r\n"
	"\n"
	"   \n"
	"no-location-column\n"
	"../../etc/passwd                                        evil/evil\n"
	"usr/../../etc/shadow                                    evil/evil\n"
	"usr/bad-location                                        ,/,\n"
	"usr/share/last                                          doc/docpkg";

static void test_fixture(bool gz)
{
	const char *how = gz ? "gzip" : "plain";
	char out[256];
	snprintf(out, sizeof out, "%s/Contents-%s.idx", root, how);
	struct xs_contents_stats st;
	CHECK_INT(build_text(fixture, strlen(fixture), gz, 1 << 20, out, &st), 0, "%s: build",
		  how);
	CHECK_INT(st.lines, 16, "%s: lines", how);
	CHECK_INT(st.skipped, 4, "%s: skipped lines", how);
	CHECK_INT(st.packages, 7, "%s: packages", how);
	CHECK_INT(st.paths, 12, "%s: paths", how);
	struct xs_contents *c;
	CHECK_INT(xs_contents_open(out, &c), 0, "%s: open", how);
	char *p;
	p = paths_of(c, "bash");
	CHECK_STR(p, "bin/bash|bin/rbash|etc/bash.bashrc|", "%s: bash", how);
	free(p);
	p = paths_of(c, "libfoo1");
	CHECK_STR(p, "usr/lib/x/libfoo.so.1|", "%s: first of two locations", how);
	free(p);
	p = paths_of(c, "libfoo1-compat");
	CHECK_STR(p, "usr/lib/x/libfoo.so.1|", "%s: second of two locations", how);
	free(p);
	p = paths_of(c, "docpkg");
	CHECK_STR(p,
		  "usr/share/doc/My Docs/read me.txt|usr/share/absolute|usr/share/crlf|"
		  "usr/share/last|",
		  "%s: blanks in paths, absolute path, CRLF, last line without newline", how);
	free(p);
	p = paths_of(c, "tabbed");
	CHECK_STR(p, "usr/share/x|", "%s: tab separator", how);
	free(p);
	p = paths_of(c, "nfpkg");
	CHECK_STR(p, "usr/share/dotted|", "%s: section/sub/pkg and ./ path", how);
	free(p);
	p = paths_of(c, "twice");
	CHECK_STR(p, "usr/share/twice|", "%s: a package twice on a line, one path", how);
	free(p);
	CHECK(!xs_contents_has(c, "evil"), "%s: paths escaping the root skipped", how);
	CHECK(xs_contents_has(c, "bash") && xs_contents_has(c, "docpkg"), "%s: has", how);
	CHECK(!xs_contents_has(c, "bas") && !xs_contents_has(c, "bashx") &&
		      !xs_contents_has(c, "") && !xs_contents_has(c, "zzz"),
	      "%s: has: near misses", how);
	CHECK(!xs_contents_has(c, "FILE") && !xs_contents_has(c, "LOCATION"),
	      "%s: header line not a package", how);
	p = paths_of(c, "nothere");
	CHECK_STR(p, "", "%s: unknown package: no paths, no error", how);
	free(p);
	struct collect col = { .stop_after = 2 };
	xs_buf_init(&col.b, 1 << 20);
	CHECK_INT(xs_contents_foreach(c, "bash", collect_cb, &col), 42,
		  "%s: callback's return stops", how);
	CHECK_INT(col.calls, 2, "%s: stopped after two", how);
	xs_buf_free(&col.b);
	xs_contents_close(c);
}

static void test_edges(void)
{
	char out[256];
	struct xs_contents_stats st;
	struct xs_contents *c;
	snprintf(out, sizeof out, "%s/empty.idx", root);
	CHECK_INT(build_text("", 0, false, 100, out, &st), 0, "empty input");
	CHECK(st.lines == 0 && st.packages == 0, "empty input: no lines");
	CHECK_INT(xs_contents_open(out, &c), 0, "empty index opens");
	CHECK(!xs_contents_has(c, "bash"), "empty index: no packages");
	xs_contents_close(c);

	snprintf(out, sizeof out, "%s/toolarge.idx", root);
	CHECK_INT(build_text(fixture, strlen(fixture), true, 100, out, &st), -EFBIG,
		  "max_text bounds the text");
	CHECK(access(out, F_OK) < 0, "nothing written on failure");
	CHECK_INT(tl_count_entries(root), 3, "no temp file left (only the earlier indexes)");

	snprintf(out, sizeof out, "%s/nodir/x.idx", root);
	CHECK_INT(build_text(fixture, strlen(fixture), false, 1 << 20, out, &st), -ENOENT,
		  "missing output directory");
	snprintf(out, sizeof out, "%s/absent.idx", root);
	CHECK_INT(xs_contents_open(out, &c), -ENOENT, "open: absent file");

	/* rebuild replaces the file in place */
	snprintf(out, sizeof out, "%s/empty.idx", root);
	CHECK_INT(build_text("usr/bin/a   admin/a\n", 20, false, 100, out, &st), 0, "rebuild");
	CHECK_INT(xs_contents_open(out, &c), 0, "open rebuilt");
	CHECK(xs_contents_has(c, "a"), "rebuilt index has the new package");
	xs_contents_close(c);

	/* an overlong line, split over decompression chunks, is skipped and
	 * the lines around it are kept */
	struct xs_buf t;
	xs_buf_init(&t, 64 << 20);
	for (int i = 0; i < 30000; i++)
		xs_buf_printf(&t, "usr/share/filler/f%05d   misc/filler\n", i);
	xs_buf_append(&t, "usr/share/", 10);
	for (int i = 0; i < 3000; i++)
		xs_buf_append(&t, "longlonglong", 12);
	xs_buf_printf(&t, "  misc/toolong\nusr/share/after   misc/after\n");
	char *huge_name = xs_xmalloc(400);
	memset(huge_name, 'n', 399);
	huge_name[399] = 0;
	xs_buf_printf(&t, "usr/share/hn   misc/%s\n", huge_name);
	free(huge_name);
	snprintf(out, sizeof out, "%s/long.idx", root);
	CHECK_INT(build_text(t.data, t.len, true, 64 << 20, out, &st), 0, "build with long line");
	CHECK_INT(st.lines, 30003, "long line counted");
	CHECK_INT(st.skipped, 2, "long line and over-long package name skipped");
	CHECK_INT(xs_contents_open(out, &c), 0, "open");
	CHECK(!xs_contents_has(c, "toolong"), "overlong line dropped");
	char *p = paths_of(c, "after");
	CHECK_STR(p, "usr/share/after|", "line after the long one kept");
	free(p);
	p = paths_of(c, "filler");
	CHECK(p && strlen(p) == 30000 * strlen("usr/share/filler/f00000|"),
	      "30000 paths of one package");
	free(p);
	xs_contents_close(c);
	xs_buf_free(&t);
}

/* A generated Contents of many packages checked against what was put in. */
static void test_generated(void)
{
	enum { NPKG = 300, NLINES = 40000 };
	struct xs_buf t, *want = xs_xcalloc(NPKG, sizeof *want);
	xs_buf_init(&t, 64 << 20);
	for (int i = 0; i < NPKG; i++) {
		xs_buf_init(&want[i], 16 << 20);
		xs_buf_append(&want[i], "", 0);
	}
	unsigned seed = 12345;
	for (int i = 0; i < NLINES; i++) {
		seed = seed * 1103515245u + 12345u;
		int a = (int)(seed >> 8) % NPKG, b = (int)(seed >> 20) % NPKG;
		char path[128];
		snprintf(path, sizeof path, "usr/share/d%03d/sub%d/file-%06d", i / 400, i % 7, i);
		if (i % 5 == 0 && a != b) {
			xs_buf_printf(&t, "%s\tsec/p%03d,sec/sub/p%03d\n", path, a, b);
			xs_buf_printf(&want[b], "%s|", path);
		} else {
			xs_buf_printf(&t, "%s                 sec/p%03d\n", path, a);
		}
		xs_buf_printf(&want[a], "%s|", path);
	}
	char out[256];
	snprintf(out, sizeof out, "%s/gen.idx", root);
	struct xs_contents_stats st;
	CHECK_INT(build_text(t.data, t.len, true, 64 << 20, out, &st), 0, "generated: build");
	CHECK_INT(st.lines, NLINES, "generated: lines");
	struct xs_contents *c;
	CHECK_INT(xs_contents_open(out, &c), 0, "generated: open");
	int bad = 0, present = 0;
	for (int i = 0; i < NPKG; i++) {
		char name[16];
		snprintf(name, sizeof name, "p%03d", i);
		char *p = paths_of(c, name);
		if (!p || strcmp(p, want[i].data) != 0)
			bad++;
		present += xs_contents_has(c, name);
		free(p);
		xs_buf_free(&want[i]);
	}
	CHECK_INT(bad, 0, "generated: every package's paths, in order");
	CHECK_INT(present, (long long)st.packages, "generated: package count");
	xs_contents_close(c);
	free(want);
	xs_buf_free(&t);
}

struct qthread {
	struct xs_contents *c;
	int bad;
};

static void *query_main(void *arg)
{
	struct qthread *q = arg;
	for (int i = 0; i < 2000; i++) {
		char *p = paths_of(q->c, i % 2 ? "bash" : "docpkg");
		if (!p || strncmp(p, i % 2 ? "bin/bash|" : "usr/share/doc/", 9) != 0)
			q->bad++;
		free(p);
	}
	return NULL;
}

static void test_threads(void)
{
	char out[256];
	snprintf(out, sizeof out, "%s/Contents-plain.idx", root);
	struct xs_contents *c;
	CHECK_INT(xs_contents_open(out, &c), 0, "open for threads");
	pthread_t th[4];
	struct qthread q[4];
	for (int i = 0; i < 4; i++) {
		q[i] = (struct qthread){ .c = c };
		pthread_create(&th[i], NULL, query_main, &q[i]);
	}
	int bad = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		bad += q[i].bad;
	}
	CHECK_INT(bad, 0, "concurrent queries");
	xs_contents_close(c);
}

/* Every single-byte change and every truncation of an index either fails
 * to open with -EBADMSG or gives the original answers or -EBADMSG. */
static void test_corrupt(void)
{
	char good[256], bad[256];
	snprintf(good, sizeof good, "%s/Contents-plain.idx", root);
	snprintf(bad, sizeof bad, "%s/bad.idx", root);
	struct xs_buf orig;
	CHECK_INT(xs_read_file(good, 1 << 20, &orig), 0, "read index");
	static const char *pkgs[] = { "bash", "docpkg", "libfoo1", "twice", "nfpkg" };
	char *want[XS_ARRAY_SIZE(pkgs)];
	struct xs_contents *c;
	xs_contents_open(good, &c);
	for (size_t k = 0; k < XS_ARRAY_SIZE(pkgs); k++)
		want[k] = paths_of(c, pkgs[k]);
	xs_contents_close(c);

	int wrong = 0, refused = 0, trials = 0;
	char *copy = xs_xmalloc(orig.len);
	for (size_t i = 0; i < orig.len; i++) {
		for (int flip = 0; flip < 2; flip++) {
			memcpy(copy, orig.data, orig.len);
			copy[i] ^= flip ? 0x80 : 0x01;
			put_file(bad, copy, orig.len);
			trials++;
			int r = xs_contents_open(bad, &c);
			if (r < 0) {
				wrong += r != -EBADMSG;
				refused++;
				continue;
			}
			for (size_t k = 0; k < XS_ARRAY_SIZE(pkgs); k++) {
				struct collect col = { 0 };
				xs_buf_init(&col.b, 1 << 20);
				xs_buf_append(&col.b, "", 0);
				r = xs_contents_foreach(c, pkgs[k], collect_cb, &col);
				/* a changed name may hide a package: fine too */
				if (r == 0 && strcmp(col.b.data, want[k]) != 0 && col.calls > 0)
					wrong++;
				else if (r != 0 && r != -EBADMSG)
					wrong++;
				xs_buf_free(&col.b);
			}
			xs_contents_close(c);
		}
	}
	CHECK_INT(wrong, 0, "%d byte flips: refused (%d at open) or harmless", trials, refused);
	int trunc_ok = 0;
	for (size_t n = 0; n < orig.len; n++) {
		put_file(bad, orig.data, n);
		if (xs_contents_open(bad, &c) == -EBADMSG)
			trunc_ok++;
		else
			xs_contents_close(c);
	}
	CHECK_INT(trunc_ok, (long long)orig.len, "every truncation refused at open");
	put_file(bad, "not an index at all", 19);
	CHECK_INT(xs_contents_open(bad, &c), -EBADMSG, "garbage refused");
	free(copy);
	for (size_t k = 0; k < XS_ARRAY_SIZE(pkgs); k++)
		free(want[k]);
	xs_buf_free(&orig);
	unlink(bad);
}

/* ---- reverse index ------------------------------------------------------ */

static const char rev_text[] =
	"etc/ssl/openssl.cnf                                     utils/openssl\n"
	"lib/aarch64-linux-gnu/libz.so.1                         libs/zlib1g\n"
	"usr/lib/ssl/openssl.cnf                                 utils/openssl\n"
	"usr/lib/ssl/misc/CA.pl                                  utils/openssl\n"
	"usr/lib/x/libfoo.so.1                                   libs/libfoo1,oldlibs/libfoo1-compat\n"
	"usr/lib/python3/dist-packages/m.py                      python/python3-m\n"
	"usr/share/doc/openssl/README                            utils/openssl\n";

/* The view's way: lib/ shown under usr/lib/, only etc/ and usr/lib/ kept,
 * usr/lib/python3/ left out. */
static int test_key(const char *path, char *out, size_t outsz, void *ud)
{
	(*(int *)ud)++;
	int n = snprintf(out, outsz, "%s%s", strncmp(path, "lib/", 4) ? "" : "usr/", path);
	if (n < 0 || (size_t)n >= outsz)
		return -ENAMETOOLONG;
	return (!strncmp(out, "etc/", 4) || !strncmp(out, "usr/lib/", 8)) &&
	       strncmp(out, "usr/lib/python3/", 16);
}

static int none_key(const char *path, char *out, size_t outsz, void *ud)
{
	(void)path, (void)out, (void)outsz;
	(*(int *)ud)++;
	return 0;
}

static int fail_key(const char *path, char *out, size_t outsz, void *ud)
{
	(void)path, (void)out, (void)outsz, (void)ud;
	return -EIO;
}

static int rev_collect(const char *pkg, void *ud)
{
	struct xs_buf *b = ud;
	xs_buf_printf(b, "%s%s", b->len ? "," : "", pkg);
	return 0;
}

/* Candidates for key, sorted by the index (package names), joined by ','. */
static char *rev_of(struct xs_contents *c, const char *key, bool dir)
{
	struct xs_buf b;
	xs_buf_init(&b, 1 << 20);
	xs_buf_append(&b, "", 0);
	int r = xs_contents_rev_find(c, key, dir, rev_collect, &b);
	if (r != 0) {
		xs_buf_free(&b);
		return xs_strdup("(error)");
	}
	return xs_buf_steal(&b, NULL);
}

static void rev_is(struct xs_contents *c, const char *key, bool dir, const char *want,
		   const char *desc)
{
	char *s = rev_of(c, key, dir);
	CHECK_STR(s, want, "%s", desc);
	free(s);
}

static void test_rev(void)
{
	char idx[256], rev[256], other[256];
	snprintf(idx, sizeof idx, "%s/rev.idx", root);
	snprintf(rev, sizeof rev, "%s/rev.rev", root);
	snprintf(other, sizeof other, "%s/Contents-plain.idx", root);
	CHECK_INT(build_text(rev_text, strlen(rev_text), true, 1 << 20, idx, NULL), 0,
		  "rev: compact index built");
	struct xs_contents *c = NULL;
	CHECK_INT(xs_contents_open(idx, &c), 0, "rev: compact index opens");
	if (!c)
		return;
	CHECK(!xs_contents_has_rev(c), "rev: none attached at first");
	CHECK_INT(xs_contents_rev_find(c, "etc/ssl/openssl.cnf", false, rev_collect, NULL),
		  -ENOENT, "rev: a query without a reverse index is -ENOENT");
	int calls = 0;
	struct xs_contents_rev_stats st = { 0 };
	CHECK_INT(xs_contents_build_rev(c, test_key, &calls, rev, &st), 0, "rev: built");
	CHECK_INT(calls, 8, "rev: the key function saw every path of every package");
	CHECK_INT(st.keys, 6, "rev: 6 kept keys (usr/share and usr/lib/python3 left out)");
	CHECK(st.dirs >= 5, "rev: directories counted (%llu)", (unsigned long long)st.dirs);
	CHECK_INT(st.bytes, 64 + 12 * (st.keys + st.dirs), "rev: 12 bytes an entry after the header");
	CHECK_INT(xs_contents_open_rev(c, rev), 0, "rev: opens");
	CHECK(xs_contents_has_rev(c), "rev: attached");

	char *s;
	rev_is(c, "usr/lib/ssl/openssl.cnf", false, "openssl", "rev: file -> package");
	rev_is(c, "etc/ssl/openssl.cnf", false, "openssl", "rev: etc/ file -> package");
	rev_is(c, "usr/lib/aarch64-linux-gnu/libz.so.1", false, "zlib1g", "rev: lib/ shipped, found by its usr/lib/ key");
	rev_is(c, "lib/aarch64-linux-gnu/libz.so.1", false, "", "rev: not by the path as shipped (keys are what the key function made)");
	rev_is(c, "usr/lib/x/libfoo.so.1", false, "libfoo1,libfoo1-compat", "rev: every package that ships it, in name order");
	rev_is(c, "usr/lib/python3/dist-packages/m.py", false, "", "rev: a path left out is not found");
	rev_is(c, "usr/share/doc/openssl/README", false, "", "rev: usr/share left out");
	rev_is(c, "usr/lib/ssl/absent", false, "", "rev: an unknown path");
	rev_is(c, "usr/lib/ssl", false, "", "rev: a directory is no file");
	rev_is(c, "usr/lib/ssl", true, "openssl", "rev: directory -> a package");
	rev_is(c, "usr/lib/ssl/misc", true, "openssl", "rev: nested directory");
	s = rev_of(c, "usr/lib", true);
	CHECK(strchr(s, ',') == NULL && *s, "rev: a directory that many ship: one package (%s)", s);
	free(s);
	rev_is(c, "usr/lib/ssl/openssl.cnf", true, "", "rev: a file is no directory");
	rev_is(c, "usr/lib/python3", true, "", "rev: no directory entry for what was left out");
	CHECK_INT(xs_contents_rev_find(c, "usr/lib/x/libfoo.so.1", false, collect_cb,
				       &(struct collect){ .stop_after = 1 }), 42,
		  "rev: the callback's non-zero return stops and is returned");

	/* a reverse index of another compact index, or a damaged one, is refused */
	struct xs_contents *o = NULL;
	CHECK_INT(xs_contents_open(other, &o), 0, "rev: another index opens");
	if (o) {
		CHECK_INT(xs_contents_open_rev(o, rev), -EBADMSG, "rev: refused by another index");
		CHECK(!xs_contents_has_rev(o), "rev: nothing attached after a refusal");
		xs_contents_close(o);
	}
	struct xs_buf data;
	CHECK_INT(xs_read_file(rev, 1 << 20, &data), 0, "rev: read back");
	char bad[256];
	snprintf(bad, sizeof bad, "%s/bad.rev", root);
	put_file(bad, data.data, data.len - 4);
	CHECK_INT(xs_contents_open_rev(c, bad), -EBADMSG, "rev: truncated: refused");
	put_file(bad, data.data, data.len);
	memcpy(data.data, "XSCONTNT", 8);
	put_file(bad, data.data, data.len);
	CHECK_INT(xs_contents_open_rev(c, bad), -EBADMSG, "rev: bad magic: refused");
	xs_buf_free(&data);
	CHECK_INT(xs_contents_open_rev(c, "/nonexistent/x.rev"), -ENOENT, "rev: absent: -ENOENT");
	CHECK(xs_contents_has_rev(c), "rev: the good one stays attached after failed opens");
	rev_is(c, "usr/lib/ssl/openssl.cnf", false, "openssl", "rev: and still answers");
	unlink(bad);

	/* an empty selection: a valid, empty reverse index */
	struct xs_contents_rev_stats st2;
	int none_calls = 0;
	snprintf(bad, sizeof bad, "%s/empty.rev", root);
	CHECK_INT(xs_contents_build_rev(c, none_key, &none_calls, bad, &st2), 0,
		  "rev: a selection of nothing builds");
	CHECK_INT(st2.keys + st2.dirs, 0, "rev: and is empty");
	CHECK_INT(xs_contents_open_rev(c, bad), 0, "rev: an empty one opens");
	rev_is(c, "usr/lib/ssl/openssl.cnf", false, "", "rev: and finds nothing");
	CHECK_INT(xs_contents_build_rev(c, fail_key, NULL, bad, &st2), -EIO,
		  "rev: the key function's error fails the build");
	unlink(bad);
	xs_contents_close(c);
}

int main(void)
{
	root = tl_root();
	test_fixture(false);
	test_fixture(true);
	test_edges();
	test_generated();
	test_threads();
	test_corrupt();
	test_rev();
	return tap_done();
}
