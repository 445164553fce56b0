/* test-contents.c - Contents parsing, the compact index, queries, bounds,
 * and a corrupted index file. */
#include "tap.h"
#include "xsysroot/contents.h"
#include "xsysroot/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static int memfd_with(const void *p, size_t n)
{
	int fd = memfd_create("contents", MFD_CLOEXEC);
	if (fd < 0 || xs_write_all(fd, p, n) < 0)
		abort();
	return fd;
}

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
	int fd = memfd_with(gz ? z : text, zn);
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

static int count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Overwrite path without fsync (many rewrites of one scratch file). */
static void put_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || xs_write_all(fd, p, n) < 0)
		abort();
	close(fd);
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
	CHECK_INT(count_dir(root), 3, "no temp file left (only the earlier indexes)");

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

int main(void)
{
	snprintf(root, sizeof root, "/tmp/xs-test-contents.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_fixture(false);
	test_fixture(true);
	test_edges();
	test_generated();
	test_threads();
	test_corrupt();
	xs_rm_rf(root);
	return tap_done();
}
