/* test-viewcache.c - the resolved-view cache formats: each writer's output
 * read back to the same table (and the same bytes), truncated and corrupt
 * files refused, the candidate table's choice and binary search. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/packages.h"
#include "xsysroot/util.h"
#include "xsysroot/viewcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHA_A "8e6b4ad0bd8b5f5a4c5a0a3a2b1f4fd9e2a6a0c3cd0b4c3c8f8e1e9d7b6a5f40"
#define SHA_B "1111111111111111111111111111111111111111111111111111111111111111"

static size_t deps_libc[] = { 1 }, deps_hello[] = { 0, 1 };

static const struct xs_viewcache_pkg view[] = {
	{ "libc6", "2.36-9", "arm64", "pool/main/g/glibc/libc6_2.36-9_arm64.deb", SHA_A, 2322696,
	  0, deps_libc, 1, 12916, "same" },
	{ "libgcc-s1", "12.2.0-14", "arm64", "pool/main/g/gcc-12/libgcc-s1_12.2.0-14_arm64.deb",
	  SHA_B, 40000, 1, NULL, 0, 0, "" },
	{ "hello", "2.10-3", "arm64", "pool/main/h/hello/hello_2.10-3_arm64.deb", SHA_A, 52804, 0,
	  deps_hello, 2, 280, "foreign" },
};

static void write_view(struct xs_buf *b)
{
	xs_buf_init(b, XS_VIEWCACHE_MAX);
	xs_viewcache_write_header(b);
	for (size_t i = 0; i < XS_ARRAY_SIZE(view); i++)
		xs_viewcache_write_pkg(b, &view[i]);
}

static bool same_pkg(const struct xs_viewcache_pkg *a, const struct xs_viewcache_pkg *b)
{
	if (strcmp(a->name, b->name) || strcmp(a->version, b->version) ||
	    strcmp(a->arch, b->arch) || strcmp(a->filename, b->filename) ||
	    strcmp(a->sha256, b->sha256) || a->size != b->size || a->origin != b->origin ||
	    a->installed_size != b->installed_size || strcmp(a->multi_arch, b->multi_arch) ||
	    a->ndeps != b->ndeps)
		return false;
	for (size_t k = 0; k < a->ndeps; k++)
		if (a->deps[k] != b->deps[k])
			return false;
	return true;
}

static int parse_text(const char *text, size_t norigins)
{
	struct xs_viewcache vc;
	int q = xs_viewcache_parse(text, strlen(text), norigins, &vc);
	if (q == 0)
		xs_viewcache_free(&vc);
	else if (vc.n || vc.pkgs)
		q = -EFAULT; /* a refusal must leave the table empty */
	return q;
}

static void test_view_round_trip(void)
{
	struct xs_buf b;
	write_view(&b);
	CHECK(b.len > 0 && !memcmp(b.data, XS_VIEWCACHE_VERSION "\n", 16), "header first");
	CHECK(strstr(b.data, "\t-\n") != NULL, "no dependencies written as '-'");
	CHECK(strstr(b.data, "\t0,1\n") != NULL, "dependencies as a comma list");
	CHECK(strstr(b.data, "\tarm64\tsame\t0\t") && strstr(b.data, "\tarm64\t-\t1\t") &&
	      strstr(b.data, "\tarm64\tforeign\t0\t"),
	      "Multi-Arch after the architecture, '-' when none is given");
	struct xs_viewcache vc;
	CHECK_INT(xs_viewcache_parse(b.data, b.len, 2, &vc), 0, "the writer's output is read");
	CHECK_INT(vc.n, XS_ARRAY_SIZE(view), "every package back");
	bool same = vc.n == XS_ARRAY_SIZE(view);
	for (size_t i = 0; same && i < vc.n; i++)
		same = same_pkg(&vc.pkgs[i], &view[i]);
	CHECK(same, "the same table, in the same order");
	struct xs_buf b2;
	xs_buf_init(&b2, XS_VIEWCACHE_MAX);
	xs_viewcache_write_header(&b2);
	for (size_t i = 0; i < vc.n; i++)
		xs_viewcache_write_pkg(&b2, &vc.pkgs[i]);
	CHECK(b2.len == b.len && !memcmp(b.data, b2.data, b.len), "written again: the same bytes");
	xs_viewcache_free(&vc);
	CHECK_INT(xs_viewcache_parse(b.data, b.len, 1, &vc), -EBADMSG,
		  "an origin beyond the sources given is refused");
	xs_buf_free(&b2);
	xs_buf_free(&b);
}

static void test_view_refused(void)
{
	struct xs_buf b;
	write_view(&b);
	size_t bad = 0, tried = 0;
	for (size_t n = 0; n < b.len; n++) {
		if (n && b.data[n - 1] == '\n')
			continue; /* cut at a line end: a smaller file, see the header */
		struct xs_viewcache vc;
		tried++;
		if (xs_viewcache_parse(b.data, n, 2, &vc) == -EBADMSG && !vc.n && !vc.pkgs)
			bad++;
		else if (vc.n)
			xs_viewcache_free(&vc);
	}
	CHECK(tried > 100 && bad == tried, "cut inside a line, at each of %zu places: refused",
	      tried);
	xs_buf_free(&b);

	static const char *const corrupt[] = {
		"",
		"xsysroot-view 1\n",
		XS_VIEWCACHE_VERSION "\n",
		XS_VIEWCACHE_VERSION "\n\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t-\t0\t5\t7\t" SHA_A "\tp.deb\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t-\t0\t5\t7\t" SHA_A "\tp.deb\t-\textra\n",
		XS_VIEWCACHE_VERSION "\na\t\tarm64\t-\t0\t5\t7\t" SHA_A "\tp.deb\t-\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t-\t0\t5x\t7\t" SHA_A "\tp.deb\t-\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t-\t-1\t5\t7\t" SHA_A "\tp.deb\t-\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t-\t0\t99999999999999999999\t7\t" SHA_A "\tp.deb\t-\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t-\t0\t5\t7\tnot-a-digest\tp.deb\t-\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t-\t0\t5\t7\t" SHA_A "\tp.deb\t1\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t-\t0\t5\t7\t" SHA_A "\tp.deb\t0,\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t-\t0\t5\t7k\t" SHA_A "\tp.deb\t-\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t-\t0\t5\t" SHA_A "\tp.deb\t-\n", /* format 2 */
		/* format 3: no Multi-Arch; its header, or the next one's */
		"xsysroot-view 3\na\t1\tarm64\t0\t5\t7\t" SHA_A "\tp.deb\t-\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t0\t5\t7\t" SHA_A "\tp.deb\t-\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t\t0\t5\t7\t" SHA_A "\tp.deb\t-\n",
		XS_VIEWCACHE_VERSION "\na\t1\tarm64\t-\t0\t5\t7\t" SHA_A "\tp.deb\t-\n\n",
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(corrupt); i++)
		CHECK_INT(parse_text(corrupt[i], 2), -EBADMSG, "corrupt file %zu refused", i);
	static const char nul[] = XS_VIEWCACHE_VERSION "\na\0b\t1\tarm64\t-\t0\t5\t7\t" SHA_A "\tp.deb\t-\n";
	struct xs_viewcache vc;
	CHECK_INT(xs_viewcache_parse(nul, sizeof nul - 1, 2, &vc), -EBADMSG,
		  "a NUL byte in a field is refused");
	CHECK_INT(parse_text(XS_VIEWCACHE_VERSION "\na\t1\tarm64\t-\t0\t5\t7\t" SHA_A "\tp.deb\t0\n", 2),
		  0, "a well-formed one-line file is read");

	struct xs_viewcache_pkg p = view[1];
	xs_buf_init(&b, 1 << 16);
	p.filename = "a\tb";
	CHECK_INT(xs_viewcache_write_pkg(&b, &p), -EBADMSG, "a TAB in a field is not written");
	p = view[1];
	p.sha256 = "abc";
	CHECK_INT(xs_viewcache_write_pkg(&b, &p), -EBADMSG, "a bad digest is not written");
	p = view[1];
	p.multi_arch = "-";
	CHECK_INT(xs_viewcache_write_pkg(&b, &p), -EBADMSG, "a Multi-Arch of '-' is not written");
	p.multi_arch = "for\teign";
	CHECK_INT(xs_viewcache_write_pkg(&b, &p), -EBADMSG, "a TAB in Multi-Arch is not written");
	CHECK_INT(b.len, 0, "nothing of a refused line is left");
	xs_buf_free(&b);
}

static const char index0[] =
	"Package: zlib1g\nVersion: 1:1.2.13\nArchitecture: arm64\n"
	"Filename: pool/z/zlib1g_1.2.13_arm64.deb\nSize: 80\nSHA256: " SHA_A "\n\n"
	"Package: hello\nVersion: 2.10-3\nArchitecture: arm64\n"
	"Filename: pool/h/hello_2.10-3_arm64.deb\nSize: 52804\nSHA256: " SHA_A "\n\n"
	"Package: hello\nVersion: 2.10-2\nArchitecture: arm64\n"
	"Filename: pool/h/hello_2.10-2_arm64.deb\nSize: 50000\nSHA256: " SHA_B "\n\n"
	"Package: amd64-only\nVersion: 1\nArchitecture: amd64\n"
	"Filename: pool/a/amd64-only_1_amd64.deb\nSize: 1\nSHA256: " SHA_B "\n\n"
	"Package: docs\nVersion: 3\nArchitecture: all\n"
	"Filename: pool/d/docs_3_all.deb\nSize: 3\nSHA256: " SHA_B "\n";
static const char index1[] =
	"Package: hello\nVersion: 2.10-3\nArchitecture: arm64\n"
	"Filename: pool/h/hello_2.10-3_arm64.deb.other\nSize: 52804\nSHA256: " SHA_B "\n\n"
	"Package: base-passwd\nVersion: 3.6.1\nArchitecture: arm64\n"
	"Filename: pool/b/base-passwd_3.6.1_arm64.deb\nSize: 55000\nSHA256: " SHA_B "\n\n"
	/* a hostile stanza: unusable, so never a candidate (nor its older version) */
	"Package: evil\nVersion: 2\nArchitecture: arm64\n"
	"Filename: ../../etc/passwd\nSize: 5\nSHA256: " SHA_B "\n\n"
	"Package: evil\nVersion: 1\nArchitecture: arm64\n"
	"Filename: pool/e/evil_1_arm64.deb\nSize: 5\nSHA256: " SHA_B "\n";

static int find_decode(const struct xs_buf *b, const char *name, struct xs_viewcache_cand *c)
{
	struct xs_viewcache_line l;
	int q = xs_viewcache_cands_find(b->data, b->len, name, &l);
	return q < 0 ? q : xs_viewcache_cand_decode(&l, c);
}

static void test_cands(void)
{
	struct xs_pkgtab t;
	xs_pkgtab_init(&t);
	char err[256];
	CHECK_INT(xs_packages_parse(&t, index0, strlen(index0), 0, err, sizeof err), 0, "index 0");
	CHECK_INT(xs_packages_parse(&t, index1, strlen(index1), 1, err, sizeof err), 0, "index 1");
	struct xs_buf b;
	CHECK_INT(xs_viewcache_cands_write(&t, "arm64", &b), 0, "candidate table written");
	CHECK(b.len > 12 && !memcmp(b.data, "base-passwd\t", 12), "sorted by name: base-passwd first");
	static const char whole[] = "base-passwd\t3.6.1\ndocs\t3\nhello\t2.10-3\nzlib1g\t1:1.2.13\n";
	CHECK(b.len == strlen(whole) && !memcmp(b.data, whole, b.len),
	      "name and version, nothing more, one line per name: %.*s", (int)b.len, b.data);
	struct xs_viewcache_cand c;
	CHECK_INT(find_decode(&b, "hello", &c), 0, "hello found");
	CHECK(c.version && !strcmp(c.version, "2.10-3") && !strcmp(c.name, "hello"),
	      "the highest version");
	xs_viewcache_cand_free(&c);
	static const char *const names[] = { "base-passwd", "docs", "zlib1g" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(names); i++) {
		int q = find_decode(&b, names[i], &c);
		CHECK(q == 0 && !strcmp(c.name, names[i]), "%s found", names[i]);
		xs_viewcache_cand_free(&c);
	}
	CHECK_INT(find_decode(&b, "base-passwd", &c), 0, "base-passwd");
	CHECK(!strcmp(c.version, "3.6.1"), "base-passwd from origin 1");
	xs_viewcache_cand_free(&c);
	CHECK_INT(find_decode(&b, "amd64-only", &c), -ENOENT, "another architecture is left out");
	CHECK_INT(find_decode(&b, "evil", &c), -ENOENT, "an unusable package is left out");
	CHECK_INT(find_decode(&b, "hell", &c), -ENOENT, "a prefix is not a name");
	CHECK_INT(find_decode(&b, "zz", &c), -ENOENT, "past the last name");
	struct xs_viewcache_line l;
	CHECK_INT(xs_viewcache_cands_find(NULL, 0, "hello", &l), -ENOENT, "an empty table");
	size_t cut = b.len - 1; /* the last line loses its newline: zlib1g */
	CHECK_INT(xs_viewcache_cands_find(b.data, cut, "zlib1g", &l), -EBADMSG,
		  "a cut last line is damaged");
	static const char no_tab[] = "hello 2.10\n";
	CHECK_INT(xs_viewcache_cands_find(no_tab, strlen(no_tab), "hello", &l), -EBADMSG,
		  "a line without fields is damaged");
	static const char no_version[] = "a\t\n";
	CHECK_INT(xs_viewcache_cands_find(no_version, strlen(no_version), "a", &l), 0,
		  "the line is found");
	CHECK_INT(xs_viewcache_cand_decode(&l, &c), -EBADMSG, "its empty version is unusable");
	static const char extra[] = "a\t1\tarm64\n";
	CHECK_INT(xs_viewcache_cands_find(extra, strlen(extra), "a", &l), 0, "a format 1 line");
	CHECK_INT(xs_viewcache_cand_decode(&l, &c), -EBADMSG, "is not read as a version");
	CHECK(c.name == NULL, "nothing returned");
	xs_buf_free(&b);
	xs_pkgtab_free(&t);
}

/* The table streamed to a file in chunks is the table made in memory,
 * byte for byte, for one bigger than a chunk (64 KiB). */
static void test_cands_fd(void)
{
	struct xs_buf idx;
	xs_buf_init(&idx, 1 << 24);
	for (int i = 15000; i > 0; i--) /* written in reverse: the table sorts them */
		xs_buf_printf(&idx,
			      "Package: pkg%05d\nVersion: 1.%d\nArchitecture: %s\n"
			      "Filename: pool/main/p/pkg%05d/pkg%05d_1.%d_arm64.deb\nSize: %d\n"
			      "SHA256: " SHA_A "\n\n",
			      i, i, i % 7 ? "arm64" : "all", i, i, i, 1000 + i);
	struct xs_pkgtab t;
	xs_pkgtab_init(&t);
	char err[256];
	CHECK_INT(xs_packages_parse(&t, idx.data, idx.len, 0, err, sizeof err), 0, "big index");
	struct xs_buf b;
	CHECK_INT(xs_viewcache_cands_write(&t, "arm64", &b), 0, "table in memory");
	CHECK(b.len > 3 * 65536, "bigger than three chunks (%zu bytes)", b.len);
	int fd = tl_memfd("", 0);
	CHECK_INT(xs_viewcache_cands_write_fd(&t, "arm64", fd), 0, "table streamed");
	off_t end = lseek(fd, 0, SEEK_CUR);
	char *got = xs_xmalloc(b.len + 1);
	ssize_t n = pread(fd, got, b.len + 1, 0);
	CHECK(end == (off_t)b.len && n == (ssize_t)b.len && !memcmp(got, b.data, b.len),
	      "the streamed table is the same bytes (%zd of %zu)", n, b.len);
	struct xs_viewcache_line l;
	CHECK_INT(xs_viewcache_cands_find(got, (size_t)n, "pkg02999", &l), 0, "a name is found in it");
	free(got);
	close(fd);
	xs_buf_free(&b);
	xs_buf_free(&idx);
	xs_pkgtab_free(&t);
}

int main(void)
{
	test_view_round_trip();
	test_view_refused();
	test_cands();
	test_cands_fd();
	return tap_done();
}
