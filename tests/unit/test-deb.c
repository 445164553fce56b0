/* test-deb.c - unpacking .debs into the store: packages built by dpkg-deb
 * and hostile archives crafted with libarchive's writer (traversal,
 * absolute names, bad hardlinks, devices, setuid, bombs, truncation,
 * malformed ar, garbage compression); the manifest text format. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/deb.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *root;    /* the test's temp dir */
static char storedir[128]; /* root/store */
static char sentinel[128]; /* root/sentinel: cwd while unpacking, must stay empty */
static struct xs_store *store;

/* ---- helpers ------------------------------------------------------------- */

struct blob {
	char *p;
	size_t n;
};

static const struct xs_entry *find(const struct xs_manifest *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->e[i].path, path) == 0)
			return &m->e[i];
	return NULL;
}

static bool object_is(const struct xs_entry *e, const char *text)
{
	if (!e)
		return false;
	char *t = tl_store_read(store, e->sha256);
	bool ok = t && strcmp(t, text) == 0 && e->size == strlen(text);
	free(t);
	return ok;
}

/* Unpack with cwd = sentinel, so that a stray relative write would land
 * there. */
static int unpack_blob(const struct blob *deb, const struct xs_limits *lim,
		       struct xs_manifest *m, char *err, size_t errsz)
{
	int fd = tl_memfd(deb->p, deb->n);
	int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (here < 0 || chdir(sentinel) < 0)
		abort();
	int r = xs_deb_unpack(store, fd, lim, m, err, errsz);
	if (fchdir(here) < 0)
		abort();
	close(here);
	close(fd);
	return r;
}

/* ---- crafted archives ---------------------------------------------------- */

enum { F_REG, F_DIR, F_SYM, F_HARD, F_CHR, F_FIFO, F_ZEROS };

struct fent {
	int kind;
	const char *path;
	unsigned mode;     /* permission bits incl. suid etc. */
	const char *data;  /* content, or link target */
	size_t zeros;      /* F_ZEROS: this many zero bytes */
};

static struct blob make_tar(const struct fent *f, size_t n, int filter, int format)
{
	struct archive *a = archive_write_new();
	struct blob b = { 0 };
	size_t cap = 64 << 10; /* enough for the uncompressed tar */
	for (size_t i = 0; i < n; i++)
		cap += 2048 + 2 * strlen(f[i].path) + (f[i].data ? strlen(f[i].data) : 0) +
		       f[i].zeros;
	b.p = xs_xmalloc(cap);
	archive_write_set_format(a, format);
	archive_write_add_filter(a, filter);
	archive_write_set_filter_option(a, NULL, "compression-level", "1");
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_memory(a, b.p, cap, &b.n) != ARCHIVE_OK)
		abort();
	char *zeros = NULL;
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_copy_pathname(e, f[i].path);
		archive_entry_set_mtime(e, 1700000000, 0);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		size_t size = 0;
		switch (f[i].kind) {
		case F_REG:
			archive_entry_set_filetype(e, AE_IFREG);
			size = strlen(f[i].data);
			break;
		case F_ZEROS:
			archive_entry_set_filetype(e, AE_IFREG);
			size = f[i].zeros;
			break;
		case F_DIR:
			archive_entry_set_filetype(e, AE_IFDIR);
			break;
		case F_SYM:
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_copy_symlink(e, f[i].data);
			break;
		case F_HARD:
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_copy_hardlink(e, f[i].data);
			break;
		case F_CHR:
			archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_rdevmajor(e, 1);
			archive_entry_set_rdevminor(e, 3);
			break;
		case F_FIFO:
			archive_entry_set_filetype(e, AE_IFIFO);
			break;
		}
		archive_entry_set_perm(e, f[i].mode ? f[i].mode : 0644);
		archive_entry_set_size(e, (la_int64_t)size);
		if (archive_write_header(a, e) < ARCHIVE_WARN) {
			fprintf(stderr, "# write_header %s: %s\n", f[i].path, archive_error_string(a));
			abort();
		}
		if (f[i].kind == F_REG) {
			archive_write_data(a, f[i].data, size);
		} else if (f[i].kind == F_ZEROS) {
			if (!zeros)
				zeros = xs_xcalloc(1, 1 << 20);
			for (size_t o = 0; o < size; o += 1 << 20)
				archive_write_data(a, zeros, size - o < (1 << 20) ? size - o : 1 << 20);
		}
		archive_entry_free(e);
	}
	free(zeros);
	if (archive_write_close(a) != ARCHIVE_OK)
		abort();
	archive_write_free(a);
	return b;
}

struct member {
	const char *name;
	const void *p;
	size_t n;
};

static struct blob make_ar(const struct member *mb, size_t n)
{
	struct archive *a = archive_write_new();
	struct blob b = { 0 };
	size_t cap = 1024;
	for (size_t i = 0; i < n; i++)
		cap += 128 + mb[i].n;
	b.p = xs_xmalloc(cap);
	archive_write_set_format_ar_svr4(a);
	archive_write_add_filter_none(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_memory(a, b.p, cap, &b.n) != ARCHIVE_OK)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_copy_pathname(e, mb[i].name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)mb[i].n);
		archive_entry_set_mtime(e, 1700000000, 0);
		if (archive_write_header(a, e) != ARCHIVE_OK)
			abort();
		archive_write_data(a, mb[i].p, mb[i].n);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	return b;
}

/* A .deb whose data.tar.gz holds f. */
static struct blob make_deb_fmt(const struct fent *f, size_t n, int format)
{
	struct fent ctl[] = { { F_REG, "./control", 0644, "Package: x\n", 0 } };
	struct blob c = make_tar(ctl, 1, ARCHIVE_FILTER_GZIP, ARCHIVE_FORMAT_TAR_GNUTAR);
	struct blob d = make_tar(f, n, ARCHIVE_FILTER_GZIP, format);
	struct member mb[] = {
		{ "debian-binary", "2.0\n", 4 },
		{ "control.tar.gz", c.p, c.n },
		{ "data.tar.gz", d.p, d.n },
	};
	struct blob deb = make_ar(mb, 3);
	free(c.p);
	free(d.p);
	return deb;
}

static struct blob make_deb(const struct fent *f, size_t n)
{
	return make_deb_fmt(f, n, ARCHIVE_FORMAT_TAR_GNUTAR);
}

/* Unpack the crafted archive f; expect result want. */
static int run(const struct fent *f, size_t n, const struct xs_limits *lim,
	       struct xs_manifest *m, char *err, size_t errsz)
{
	struct blob deb = make_deb(f, n);
	int r = unpack_blob(&deb, lim, m, err, errsz);
	free(deb.p);
	return r;
}

static void expect_fail(const struct fent *f, size_t n, const struct xs_limits *lim, int want,
			const char *in_err, const char *what)
{
	struct xs_manifest m;
	char err[512];
	int r = run(f, n, lim, &m, err, sizeof err);
	CHECK_INT(r, want, "%s", what);
	CHECK(m.n == 0 && m.e == NULL, "%s: manifest left empty", what);
	if (in_err)
		CHECK(strstr(err, in_err) != NULL, "%s: message names it ('%s')", what, err);
	xs_manifest_free(&m);
}

/* ---- dpkg-deb ------------------------------------------------------------ */

static int write_text(const char *dir, const char *rel, const char *text, mode_t mode)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	return tl_write_file(p, text, strlen(text), mode);
}

static struct blob read_blob(const char *path)
{
	struct xs_buf b;
	struct blob out = { 0 };
	if (xs_read_file(path, 64 << 20, &b) == 0)
		out.p = xs_buf_steal(&b, &out.n);
	return out;
}

static void test_dpkg_deb(void)
{
	char tree[256], lp[512], target[512];
	snprintf(tree, sizeof tree, "%s/tree", root);
	write_text(tree, "DEBIAN/control",
		   "Package: xs-fixture\nVersion: 1.0-1\nArchitecture: arm64\n"
		   "Maintainer: Test <test@example.org>\nDescription: fixture\n",
		   0644);
	write_text(tree, "DEBIAN/shlibs", "libfoo 1 xs-fixture (>= 1.0)\n", 0644);
	write_text(tree, "DEBIAN/postinst", "#!/bin/sh\nexit 0\n", 0755);
	write_text(tree, "DEBIAN/triggers", "activate-noawait ldconfig\n", 0644);
	write_text(tree, "DEBIAN/md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/share/x\n", 0644);
	write_text(tree, "usr/bin/hello", "#!/bin/sh\necho hello\n", 04755);
	write_text(tree, "usr/share/doc/xs-fixture/copyright", "free\n", 0644);
	write_text(tree, "usr/share/doc/xs-fixture/empty", "", 0644);
	write_text(tree, "usr/lib/x/libfoo.so.1.0", "ELF-ish\n", 0644);
	snprintf(lp, sizeof lp, "%s/usr/lib/x/libfoo.so.1", tree);
	CHECK_INT(symlink("libfoo.so.1.0", lp), 0, "fixture symlink");
	snprintf(lp, sizeof lp, "%s/usr/bin/hello-hard", tree);
	snprintf(target, sizeof target, "%s/usr/bin/hello", tree);
	CHECK_INT(link(target, lp), 0, "fixture hardlink");
	snprintf(lp, sizeof lp, "%s/usr/share/empty-dir", tree);
	mkdir(lp, 0755);
	snprintf(lp, sizeof lp, "%s/usr/share/sgid-dir", tree);
	mkdir(lp, 0755);
	chmod(lp, 02775);

	static const char *types[] = { "xz", "gzip", "zstd", "none" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(types); i++) {
		char out[256];
		snprintf(out, sizeof out, "%s/fixture-%s.deb", root, types[i]);
		int r = tl_dpkg_deb_build(tree, out, types[i]);
		if (r < 0) {
			CHECK(1, "dpkg-deb -Z%s # SKIP dpkg-deb failed (%d)", types[i], r);
			continue;
		}
		struct blob deb = read_blob(out);
		unlink(out);
		struct xs_manifest m;
		char err[256] = "";
		r = unpack_blob(&deb, NULL, &m, err, sizeof err);
		CHECK_INT(r, 0, "dpkg-deb -Z%s: unpacks (%s)", types[i], err);
		const struct xs_entry *e = find(&m, "");
		CHECK(e && e->type == XS_E_DIR, "%s: root directory recorded", types[i]);
		e = find(&m, "usr/bin/hello");
		CHECK(e && e->type == XS_E_REG && e->mode == (S_IFREG | 0755),
		      "%s: regular file, setuid cleared", types[i]);
		CHECK(e && e->uid == 0 && e->gid == 0, "%s: root owned", types[i]);
		CHECK(object_is(e, "#!/bin/sh\necho hello\n"), "%s: content in the store", types[i]);
		const struct xs_entry *h = find(&m, "usr/bin/hello-hard");
		/* tar records the second name it meets as the link */
		const struct xs_entry *reg = e, *hl = h;
		if (h && h->type == XS_E_REG) {
			reg = h;
			hl = e;
		}
		CHECK(hl && reg && hl->type == XS_E_HARDLINK && strcmp(hl->link, reg->path) == 0 &&
			      strcmp(hl->sha256, reg->sha256) == 0 && hl->size == reg->size,
		      "%s: hardlink names its target and shares the digest", types[i]);
		e = find(&m, "usr/lib/x/libfoo.so.1");
		CHECK(e && e->type == XS_E_SYMLINK && strcmp(e->link, "libfoo.so.1.0") == 0 &&
			      e->mode == (S_IFLNK | 0777),
		      "%s: symlink target verbatim", types[i]);
		e = find(&m, "usr/share/doc/xs-fixture/empty");
		CHECK(object_is(e, ""), "%s: empty file", types[i]);
		e = find(&m, "usr/share/empty-dir");
		CHECK(e && e->type == XS_E_DIR && e->mode == (S_IFDIR | 0755), "%s: directory",
		      types[i]);
		e = find(&m, "usr/share/sgid-dir");
		CHECK(e && e->mode == (S_IFDIR | 0775), "%s: setgid cleared on directory",
		      types[i]);
		CHECK(find(&m, "DEBIAN/control") == NULL && find(&m, "control") == NULL &&
			      find(&m, "var/lib/dpkg/info/xs-fixture.control") == NULL,
		      "%s: control itself not in the manifest", types[i]);
		e = find(&m, "var/lib/dpkg/info/xs-fixture.shlibs");
		CHECK(object_is(e, "libfoo 1 xs-fixture (>= 1.0)\n"),
		      "%s: shlibs kept as dpkg keeps it", types[i]);
		e = find(&m, "var/lib/dpkg/info/xs-fixture.postinst");
		CHECK(object_is(e, "#!/bin/sh\nexit 0\n") && e->mode == (S_IFREG | 0755),
		      "%s: the maintainer script, executable", types[i]);
		CHECK(find(&m, "var/lib/dpkg/info/xs-fixture.triggers") &&
			      find(&m, "var/lib/dpkg/info/xs-fixture.md5sums"),
		      "%s: triggers and md5sums kept", types[i]);
		/* manifest round trip on a real package */
		char *txt;
		size_t len;
		struct xs_manifest m2;
		CHECK_INT(xs_manifest_serialize(&m, &txt, &len), 0, "%s: serialise", types[i]);
		CHECK_INT(xs_manifest_parse(txt, len, &m2), 0, "%s: parse", types[i]);
		CHECK_INT(m2.format, 2, "%s: format 2 (control files kept)", types[i]);
		CHECK_INT(m2.n, m.n, "%s: same entry count", types[i]);
		free(txt);
		xs_manifest_free(&m2);

		/* a truncated copy of the same package */
		struct blob half = { deb.p, deb.n / 2 };
		r = unpack_blob(&half, NULL, &m2, err, sizeof err);
		CHECK_INT(r, -EBADMSG, "%s: truncated .deb", types[i]);
		CHECK(m2.n == 0, "%s: truncated: empty manifest", types[i]);
		xs_manifest_free(&m2);
		xs_manifest_free(&m);
		free(deb.p);
	}
	xs_rm_rf(tree);
}

/* ---- crafted: accepted --------------------------------------------------- */

static void test_crafted_ok(void)
{
	struct xs_manifest m;
	char err[512];
	const struct fent f[] = {
		{ F_DIR, "./", 0755, NULL, 0 },
		{ F_DIR, "./usr/", 0755, NULL, 0 },
		{ F_REG, "./usr/a", 04755, "first", 0 },
		{ F_REG, "usr//b", 02644, "bee", 0 },
		{ F_HARD, "./usr/a-link", 0, "./usr/a", 0 },
		{ F_SYM, "./lib", 0777, "/etc", 0 },
		{ F_REG, "./lib/passwd", 0644, "not really", 0 },
		{ F_SYM, "./usr/abs", 0777, "/usr/lib/../../etc/shadow", 0 },
		{ F_CHR, "./dev/null", 0666, NULL, 0 },
		{ F_FIFO, "./run/fifo", 01644, NULL, 0 },
		{ F_DIR, "./tmp", 01777, NULL, 0 },
		{ F_REG, "./usr/dup", 0644, "one", 0 },
		{ F_REG, "./usr/dup", 0600, "two", 0 },
		{ F_DIR, "./usr/was-dir", 0755, NULL, 0 },
		{ F_REG, "./usr/was-dir", 0644, "now a file", 0 },
		{ F_REG, "./usr/we\tird\nname\\\x01\xff", 0644, "odd", 0 },
		{ F_SYM, "./usr/odd-link", 0777, "tab\there\nnl \\ \xfe", 0 },
		{ F_REG, "./usr/x/./z", 0644, "z", 0 },
	};
	int r = run(f, XS_ARRAY_SIZE(f), NULL, &m, err, sizeof err);
	CHECK_INT(r, 0, "crafted archive unpacks (%s)", err);
	const struct xs_entry *e;
	e = find(&m, "");
	CHECK(e && e->type == XS_E_DIR, "root entry is \"\"");
	e = find(&m, "usr/a");
	CHECK(e && e->mode == (S_IFREG | 0755) && object_is(e, "first"), "setuid stripped");
	e = find(&m, "usr/b");
	CHECK(e && e->mode == (S_IFREG | 0644) && object_is(e, "bee"),
	      "doubled slash normalised, setgid stripped");
	e = find(&m, "usr/a-link");
	CHECK(e && e->type == XS_E_HARDLINK && strcmp(e->link, "usr/a") == 0 &&
		      strcmp(e->sha256, find(&m, "usr/a")->sha256) == 0 && e->size == 5,
	      "hardlink normalised and resolved");
	e = find(&m, "lib");
	CHECK(e && e->type == XS_E_SYMLINK && strcmp(e->link, "/etc") == 0,
	      "absolute symlink target kept verbatim");
	e = find(&m, "lib/passwd");
	CHECK(e && e->type == XS_E_REG && object_is(e, "not really"),
	      "a file under a symlink is recorded as its own path (the view resolves)");
	e = find(&m, "usr/abs");
	CHECK(e && strcmp(e->link, "/usr/lib/../../etc/shadow") == 0, "symlink with .. verbatim");
	e = find(&m, "dev/null");
	CHECK(e && e->type == XS_E_OTHER && e->mode == (S_IFCHR | 0666) &&
		      e->rdev == makedev(1, 3),
	      "character device kept as metadata");
	e = find(&m, "run/fifo");
	CHECK(e && e->type == XS_E_OTHER && e->mode == (S_IFIFO | 0644),
	      "fifo kept as metadata, sticky stripped");
	e = find(&m, "tmp");
	CHECK(e && e->mode == (S_IFDIR | 0777), "sticky stripped from directory");
	e = find(&m, "usr/dup");
	CHECK(e && e->mode == (S_IFREG | 0600) && object_is(e, "two"), "later duplicate wins");
	size_t dups = 0;
	for (size_t i = 0; i < m.n; i++)
		dups += strcmp(m.e[i].path, "usr/dup") == 0;
	CHECK_INT(dups, 1, "duplicate path listed once");
	e = find(&m, "usr/was-dir");
	CHECK(e && e->type == XS_E_REG && object_is(e, "now a file"), "file replaces directory");
	e = find(&m, "usr/we\tird\nname\\\x01\xff");
	CHECK(e && object_is(e, "odd"), "name with control and non-UTF-8 bytes");
	e = find(&m, "usr/x/z");
	CHECK(e && object_is(e, "z"), "inner . resolved");
	CHECK_INT(tl_count_entries(sentinel), 0, "nothing written in the working directory");
	CHECK(access("/etc/passwd", F_OK) == 0, "sanity");

	/* manifest text round trip, byte exact */
	char *txt = NULL;
	size_t len = 0;
	struct xs_manifest m2;
	CHECK_INT(xs_manifest_serialize(&m, &txt, &len), 0, "serialise");
	CHECK(txt && strlen(txt) == len, "text has no NUL");
	CHECK(txt && strncmp(txt, "xsysroot-manifest 2\n", 20) == 0, "version header");
	CHECK_INT(xs_manifest_parse(txt, len, &m2), 0, "parse");
	bool same = m2.n == m.n;
	for (size_t i = 0; same && i < m.n; i++) {
		const struct xs_entry *a = &m.e[i], *b = &m2.e[i];
		same = strcmp(a->path, b->path) == 0 && a->type == b->type && a->mode == b->mode &&
		       a->uid == b->uid && a->gid == b->gid && a->mtime == b->mtime &&
		       a->size == b->size && a->rdev == b->rdev &&
		       ((!a->link && !b->link) || (a->link && b->link && !strcmp(a->link, b->link))) &&
		       ((a->type != XS_E_REG && a->type != XS_E_HARDLINK) ||
			!strcmp(a->sha256, b->sha256));
	}
	CHECK(same, "every field round-trips, odd bytes included");
	char *txt2 = NULL;
	size_t len2 = 0;
	xs_manifest_serialize(&m2, &txt2, &len2);
	CHECK(len == len2 && txt2 && memcmp(txt, txt2, len) == 0, "serialisation is stable");
	CHECK(memchr(txt, '\xff', len) == NULL && memchr(txt, '\x01', len) == NULL,
	      "text is plain ASCII");
	free(txt);
	free(txt2);
	xs_manifest_free(&m2);
	xs_manifest_free(&m);

	/* pax and ustar writers */
	const struct fent g[] = {
		{ F_DIR, "./usr", 0755, NULL, 0 },
		{ F_REG, "./usr/file", 0644, "pax", 0 },
		{ F_SYM, "./usr/link", 0777, "file", 0 },
	};
	int formats[] = { ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FORMAT_TAR_USTAR };
	for (size_t i = 0; i < XS_ARRAY_SIZE(formats); i++) {
		struct blob deb = make_deb_fmt(g, XS_ARRAY_SIZE(g), formats[i]);
		r = unpack_blob(&deb, NULL, &m, err, sizeof err);
		CHECK_INT(r, 0, "tar format %d (%s)", formats[i], err);
		CHECK(object_is(find(&m, "usr/file"), "pax") && find(&m, "usr/link"),
		      "tar format %d: entries", formats[i]);
		xs_manifest_free(&m);
		free(deb.p);
	}

	/* a large file is streamed and stored whole */
	const struct fent big[] = { { F_ZEROS, "./big", 0644, NULL, 12 << 20 } };
	r = run(big, 1, NULL, &m, err, sizeof err);
	CHECK_INT(r, 0, "12 MiB file");
	e = find(&m, "big");
	char sha[65];
	char *z = xs_xcalloc(1, 12 << 20);
	xs_sha256_buf(z, 12 << 20, sha);
	free(z);
	CHECK(e && e->size == (12u << 20) && strcmp(e->sha256, sha) == 0 &&
		      xs_store_has_object(store, sha),
	      "large file digest");
	xs_manifest_free(&m);
}

/* ---- crafted: refused ---------------------------------------------------- */

static void test_hostile(void)
{
	struct xs_limits lim;
	xs_limits_default(&lim);
	CHECK(lim.max_total == 4ull << 30 && lim.max_file == 2ull << 30 &&
		      lim.max_entries == 1000000,
	      "default limits");

	const struct fent trav[] = { { F_REG, "./../../etc/x", 0644, "x", 0 } };
	expect_fail(trav, 1, NULL, -EINVAL, "../../etc/x", "traversal ./../../etc/x");
	const struct fent trav2[] = { { F_REG, "a/../../b", 0644, "x", 0 } };
	expect_fail(trav2, 1, NULL, -EINVAL, "a/../../b", "traversal a/../../b");
	const struct fent trav3[] = { { F_REG, "usr/../etc/x", 0644, "x", 0 } };
	expect_fail(trav3, 1, NULL, -EINVAL, "usr/../etc/x", ".. anywhere");
	const struct fent abs[] = { { F_REG, "/abs", 0644, "x", 0 } };
	expect_fail(abs, 1, NULL, -EINVAL, "/abs", "absolute name");

	char *longname = xs_xmalloc(5001);
	memset(longname, 'a', 5000);
	longname[5000] = 0;
	for (int i = 100; i < 5000; i += 100)
		longname[i] = '/';
	const struct fent lng[] = { { F_REG, longname, 0644, "x", 0 } };
	expect_fail(lng, 1, NULL, -EINVAL, "unsafe path", "name longer than 4096");
	char *deep = xs_xmalloc(400);
	deep[0] = 0;
	for (int i = 0; i < 100; i++)
		strcat(deep, "d/");
	strcat(deep, "f");
	const struct fent dp[] = { { F_REG, deep, 0644, "x", 0 } };
	expect_fail(dp, 1, NULL, -EINVAL, "unsafe path", "path deeper than 64");
	free(longname);
	free(deep);

	const struct fent hl_missing[] = { { F_HARD, "./x", 0, "./nothere", 0 } };
	expect_fail(hl_missing, 1, NULL, -EINVAL, "./x", "hardlink to a missing file");
	const struct fent hl_out[] = { { F_REG, "./a", 0644, "a", 0 },
				       { F_HARD, "./x", 0, "../a", 0 } };
	expect_fail(hl_out, 2, NULL, -EINVAL, "./x", "hardlink outside");
	const struct fent hl_abs[] = { { F_REG, "./etc/passwd", 0644, "a", 0 },
				       { F_HARD, "./x", 0, "/etc/passwd", 0 } };
	expect_fail(hl_abs, 2, NULL, -EINVAL, "./x", "hardlink to an absolute path");
	const struct fent hl_sym[] = { { F_SYM, "./s", 0777, "/etc/shadow", 0 },
				       { F_HARD, "./x", 0, "./s", 0 } };
	expect_fail(hl_sym, 2, NULL, -EINVAL, "./x", "hardlink to a symlink");
	const struct fent hl_dir[] = { { F_DIR, "./d", 0755, NULL, 0 },
				       { F_HARD, "./x", 0, "./d", 0 } };
	expect_fail(hl_dir, 2, NULL, -EINVAL, "./x", "hardlink to a directory");
	const struct fent hl_later[] = { { F_HARD, "./x", 0, "./a", 0 },
					 { F_REG, "./a", 0644, "a", 0 } };
	expect_fail(hl_later, 2, NULL, -EINVAL, "./x", "hardlink to a later file");
	const struct fent hl_self[] = { { F_REG, "./a", 0644, "a", 0 },
					{ F_HARD, "./a", 0, "./a", 0 } };
	expect_fail(hl_self, 2, NULL, -EINVAL, "./a", "hardlink to itself");
	const struct fent sym_root[] = { { F_SYM, ".", 0777, "/etc", 0 } };
	expect_fail(sym_root, 1, NULL, -EINVAL, NULL, "symlink as the root");
	const struct fent chr_root[] = { { F_CHR, ".", 0666, NULL, 0 } };
	expect_fail(chr_root, 1, NULL, -EINVAL, NULL, "device as the root");
	const struct fent hl_root[] = { { F_REG, "./a", 0644, "a", 0 },
					{ F_HARD, "./", 0, "./a", 0 } };
	expect_fail(hl_root, 2, NULL, -EINVAL, "root", "hardlink as the root");

	/* limits */
	struct fent many[50];
	char names[50][16];
	for (int i = 0; i < 50; i++) {
		snprintf(names[i], sizeof names[i], "./f%d", i);
		many[i] = (struct fent){ F_REG, names[i], 0644, "x", 0 };
	}
	struct xs_limits small = lim;
	small.max_entries = 10;
	expect_fail(many, 50, &small, -E2BIG, "entries", "more entries than allowed");
	small = lim;
	small.max_entries = 51; /* control.tar's ./control counts too */
	struct xs_manifest m;
	char err[256];
	CHECK_INT(run(many, 50, &small, &m, err, sizeof err), 0, "exactly max_entries");
	CHECK_INT(m.n, 50, "50 entries");
	xs_manifest_free(&m);

	const struct fent bomb[] = { { F_ZEROS, "./bomb", 0644, NULL, 8 << 20 } };
	small = lim;
	small.max_total = 1 << 20;
	expect_fail(bomb, 1, &small, -EFBIG, "bytes unpacked", "bomb over max_total");
	small = lim;
	small.max_file = 1 << 20;
	expect_fail(bomb, 1, &small, -EFBIG, "bomb", "file over max_file");
	const struct fent two[] = { { F_ZEROS, "./a", 0644, NULL, 600 << 10 },
				    { F_ZEROS, "./b", 0644, NULL, 600 << 10 } };
	small = lim;
	small.max_total = 1 << 20;
	expect_fail(two, 2, &small, -EFBIG, "bytes unpacked", "files together over max_total");

	CHECK_INT(tl_count_entries(sentinel), 0, "nothing written in the working directory");
	char tmp[256];
	snprintf(tmp, sizeof tmp, "%s/tmp", storedir);
	CHECK_INT(tl_count_entries(tmp), 0, "no transaction left behind");
}

static void test_malformed(void)
{
	struct xs_manifest m;
	char err[256];
	const struct fent ok[] = { { F_REG, "./a", 0644, "a", 0 } };
	struct blob data = make_tar(ok, 1, ARCHIVE_FILTER_GZIP, ARCHIVE_FORMAT_TAR_GNUTAR);
	struct blob plain = make_tar(ok, 1, ARCHIVE_FILTER_NONE, ARCHIVE_FORMAT_TAR_GNUTAR);
	struct blob deb;
	int r;

#define TRY(members, want, what)                                                     \
	do {                                                                         \
		deb = make_ar(members, XS_ARRAY_SIZE(members));                      \
		r = unpack_blob(&deb, NULL, &m, err, sizeof err);                    \
		CHECK_INT(r, want, "%s (%s)", what, err);                            \
		CHECK(m.n == 0 || r == 0, "%s: manifest", what);                     \
		xs_manifest_free(&m);                                                \
		free(deb.p);                                                         \
	} while (0)

	const struct member good[] = { { "debian-binary", "2.0\n", 4 },
				       { "control.tar.gz", data.p, data.n },
				       { "data.tar.gz", data.p, data.n } };
	TRY(good, 0, "well-formed");
	const struct member good_plain[] = { { "debian-binary", "2.0\n", 4 },
					     { "data.tar", plain.p, plain.n } };
	TRY(good_plain, 0, "uncompressed data.tar");
	const struct member v3[] = { { "debian-binary", "3.0\n", 4 },
				     { "data.tar.gz", data.p, data.n } };
	TRY(v3, -EBADMSG, "debian-binary 3.0");
	const struct member vjunk[] = { { "debian-binary", "2.0", 3 },
					{ "data.tar.gz", data.p, data.n } };
	TRY(vjunk, -EBADMSG, "debian-binary without newline");
	const struct member nobin[] = { { "data.tar.gz", data.p, data.n } };
	TRY(nobin, -EBADMSG, "no debian-binary");
	const struct member nodata[] = { { "debian-binary", "2.0\n", 4 },
					 { "control.tar.gz", data.p, data.n } };
	TRY(nodata, -EBADMSG, "no data.tar");
	const struct member mismatch[] = { { "debian-binary", "2.0\n", 4 },
					   { "data.tar.xz", data.p, data.n } };
	TRY(mismatch, -EBADMSG, "data.tar.xz holding gzip");
	const struct member plainname[] = { { "debian-binary", "2.0\n", 4 },
					    { "data.tar", data.p, data.n } };
	TRY(plainname, -EBADMSG, "data.tar holding gzip");
	static const unsigned char xzjunk[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00, 0x00, 0x04,
						0xe6, 0xd6, 0xb4, 0x46, 0x02, 0x00, 0x21, 0x01,
						'g', 'a', 'r', 'b', 'a', 'g', 'e', '!' };
	const struct member badxz[] = { { "debian-binary", "2.0\n", 4 },
					{ "data.tar.xz", xzjunk, sizeof xzjunk } };
	TRY(badxz, -EBADMSG, "garbage xz");
	const struct member nottar[] = { { "debian-binary", "2.0\n", 4 },
					 { "data.tar", "this is not a tar archive at all", 32 } };
	TRY(nottar, -EBADMSG, "data.tar that is not tar");
	/* the gzip stream cut short inside the member */
	const struct member cut[] = { { "debian-binary", "2.0\n", 4 },
				      { "data.tar.gz", data.p, data.n / 2 } };
	TRY(cut, -EBADMSG, "truncated data.tar.gz");

	struct blob raw[] = {
		{ "", 0 },
		{ "!<arch>\n", 8 },
		{ "!<arch>\ndebian-binary   garbage header that is not ar at all\n", 61 },
		{ "PK\x03\x04 not an ar archive", 22 },
	};
	const char *raw_what[] = { "empty file", "ar magic only", "malformed ar header",
				   "not an ar archive" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(raw); i++) {
		r = unpack_blob(&raw[i], NULL, &m, err, sizeof err);
		CHECK_INT(r, -EBADMSG, "%s (%s)", raw_what[i], err);
		xs_manifest_free(&m);
	}
	free(data.p);
	free(plain.p);
	CHECK_INT(tl_count_entries(sentinel), 0, "nothing written in the working directory");
#undef TRY
}

/* ---- manifest parser ----------------------------------------------------- */

static void test_parse_garbage(void)
{
	struct xs_manifest m;
	static const char *bad[] = {
		"",
		"xsysroot-manifest 1\n",                                        /* no end */
		"xsysroot-manifest 3\nend 0\n",                                 /* version */
		"xsysroot-manifest 1\nend 1\n",                                 /* count */
		"xsysroot-manifest 1\nend 0\nextra\n",                          /* trailing */
		"xsysroot-manifest 1\nend 0",                                   /* no newline */
		"xsysroot-manifest 1\nd\t40755\t0\t0\t0\t0\t\t0\tusr\nend 1\n", /* 9 fields */
		"xsysroot-manifest 1\nd\t40755\t0\t0\t0\t0\t\t0\tusr\t\t\nend 1\n",
		"xsysroot-manifest 1\nx\t40755\t0\t0\t0\t0\t\t0\tusr\t\nend 1\n", /* type */
		"xsysroot-manifest 1\nd\t100644\t0\t0\t0\t0\t\t0\tusr\t\nend 1\n", /* mode/type */
		"xsysroot-manifest 1\nd\t44755\t0\t0\t0\t0\t\t0\tusr\t\nend 1\n",  /* setgid */
		"xsysroot-manifest 1\nd\t40758\t0\t0\t0\t0\t\t0\tusr\t\nend 1\n",  /* octal */
		"xsysroot-manifest 1\nd\t40755\t4294967296\t0\t0\t0\t\t0\tusr\t\nend 1\n",
		"xsysroot-manifest 1\nd\t40755\t0\t0\t99999999999999999999\t0\t\t0\tusr\t\nend 1\n",
		"xsysroot-manifest 1\nd\t40755\t0\t0\t0\t0\t\t0\t../x\t\nend 1\n", /* .. */
		"xsysroot-manifest 1\nd\t40755\t0\t0\t0\t0\t\t0\t/x\t\nend 1\n",   /* absolute */
		"xsysroot-manifest 1\nd\t40755\t0\t0\t0\t0\t\t0\ta//b\t\nend 1\n", /* unnormalised */
		"xsysroot-manifest 1\nd\t40755\t0\t0\t0\t0\t\t0\ta b\t\nend 1\n",  /* raw blank */
		"xsysroot-manifest 1\nd\t40755\t0\t0\t0\t0\t\t0\ta\\x0\t\nend 1\n", /* short esc */
		"xsysroot-manifest 1\nd\t40755\t0\t0\t0\t0\t\t0\ta\\x00\t\nend 1\n", /* NUL */
		"xsysroot-manifest 1\nd\t40755\t0\t0\t0\t0\t\t0\ta\\n\t\nend 1\n",  /* \n escape */
		"xsysroot-manifest 1\nf\t100644\t0\t0\t0\t1\t\t0\ta\t\nend 1\n",   /* no digest */
		"xsysroot-manifest 1\nf\t100644\t0\t0\t0\t1\tABCD\t0\ta\t\nend 1\n",
		"xsysroot-manifest 1\nl\t120777\t0\t0\t0\t0\t\t0\ta\t\nend 1\n",   /* no target */
		"xsysroot-manifest 1\nd\t40755\t0\t0\t0\t0\t\t0\ta\tlink\nend 1\n", /* dir link */
		"xsysroot-manifest 1\nf\t100644\t0\t0\t0\t0\t"
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\t0\t\t\nend 1\n",
		"xsysroot-manifest 1\nh\t100644\t0\t0\t0\t0\t"
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\t0\tb\t../a\nend 1\n",
		"xsysroot-manifest 1\nd\t40755\t0\t0\t0\t0\t\t7\ta\t\nend 1\n",   /* rdev on dir */
		"xsysroot-manifest 1\no\t100644\t0\t0\t0\t0\t\t0\ta\t\nend 1\n",  /* other: reg */
		"xsysroot-manifest 1\nd\t40755\t0\t0\t-\t0\t\t0\ta\t\nend 1\n",    /* mtime */
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(bad); i++) {
		int r = xs_manifest_parse(bad[i], strlen(bad[i]), &m);
		CHECK_INT(r, -EBADMSG, "garbage %zu refused", i);
		CHECK(m.n == 0 && m.e == NULL, "garbage %zu: nothing returned", i);
	}
	const char *good = "xsysroot-manifest 1\n"
			   "d\t40755\t0\t0\t-5\t0\t\t0\t\t\n"
			   "o\t20644\t0\t0\t0\t0\t\t259\tdev/x\t\n"
			   "l\t120777\t1\t2\t3\t0\t\t0\ta\\x20b\t\\x5c\\x09\n"
			   "end 3\n";
	CHECK_INT(xs_manifest_parse(good, strlen(good), &m), 0, "valid text parses");
	CHECK(m.n == 3 && m.format == 1 && m.e[0].mtime == -5 && m.e[1].rdev == 259 &&
		      strcmp(m.e[2].path, "a b") == 0 && strcmp(m.e[2].link, "\\\t") == 0 &&
		      m.e[2].uid == 1 && m.e[2].gid == 2,
	      "valid text: fields");
	xs_manifest_free(&m);

	/* every truncation of a valid text is refused */
	struct xs_manifest src = { 0 };
	xs_grow(&src.e, &src.cap, 2, sizeof *src.e);
	src.e[0] = (struct xs_entry){ .path = xs_strdup("usr"), .type = XS_E_DIR,
				      .mode = S_IFDIR | 0755 };
	src.e[1] = (struct xs_entry){ .path = xs_strdup("usr/f"), .type = XS_E_REG,
				      .mode = S_IFREG | 0644, .size = 0 };
	strcpy(src.e[1].sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	src.n = 2;
	char *txt;
	size_t len;
	CHECK_INT(xs_manifest_serialize(&src, &txt, &len), 0, "serialise small");
	int refused = 0;
	for (size_t cut = 0; cut < len; cut++) {
		if (xs_manifest_parse(txt, cut, &m) == -EBADMSG)
			refused++;
		xs_manifest_free(&m);
	}
	CHECK_INT(refused, (long long)len, "every truncation refused");
	free(txt);
	xs_manifest_free(&src);
}

/* ---- container image layers (xs_tar_unpack) ------------------------------ */

static int tar_unpack(const struct blob *b, enum xs_tar_compression comp, struct xs_manifest *m,
		      char diff_id[65], char *err, size_t errsz)
{
	int fd = tl_memfd(b->p, b->n);
	int r = xs_tar_unpack(store, fd, comp, NULL, m, diff_id, err, errsz);
	close(fd);
	return r;
}

static void test_layers(void)
{
	const struct fent f[] = {
		{ F_DIR, "etc", 0755, NULL, 0 },
		{ F_REG, "etc/.wh.gone", 0644, "", 0 },
		{ F_REG, "usr/bin/tool", 04755, "#!/bin/sh\n", 0 },
		{ F_HARD, "usr/bin/tool2", 0, "usr/bin/tool", 0 },
	};
	struct blob raw = make_tar(f, XS_ARRAY_SIZE(f), ARCHIVE_FILTER_NONE, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	char want[65];
	xs_sha256_buf(raw.p, raw.n, want);
	static const struct {
		int filter;
		enum xs_tar_compression comp;
		const char *name;
	} kinds[] = {
		{ ARCHIVE_FILTER_NONE, XS_TAR_NONE, "tar" },
		{ ARCHIVE_FILTER_GZIP, XS_TAR_GZIP, "tar+gzip" },
		{ ARCHIVE_FILTER_ZSTD, XS_TAR_ZSTD, "tar+zstd" },
	};
	for (size_t k = 0; k < XS_ARRAY_SIZE(kinds); k++) {
		struct blob b = make_tar(f, XS_ARRAY_SIZE(f), kinds[k].filter,
					 ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
		struct xs_manifest m;
		char diff[65] = "", err[256] = "";
		int r = tar_unpack(&b, kinds[k].comp, &m, diff, err, sizeof err);
		CHECK_INT(r, 0, "layer %s unpacks (%s)", kinds[k].name, err);
		CHECK_STR(diff, want, "layer %s: diff_id is the SHA-256 of the uncompressed tar",
			  kinds[k].name);
		const struct xs_entry *t = find(&m, "usr/bin/tool");
		CHECK(t && t->mode == (S_IFREG | 0755), "layer %s: setuid cleared", kinds[k].name);
		CHECK(find(&m, "etc/.wh.gone") && m.n == 4,
		      "layer %s: whiteouts are recorded as entries", kinds[k].name);
		xs_manifest_free(&m);
		/* the wrong compression for the media type */
		r = tar_unpack(&b, kinds[(k + 1) % 3].comp, &m, diff, err, sizeof err);
		CHECK(r == -EBADMSG && m.n == 0, "layer %s announced as %s is refused: %s",
		      kinds[k].name, kinds[(k + 1) % 3].name, err);
		free(b.p);
	}
	const struct fent evil[] = { { F_REG, "../etc/passwd", 0644, "x", 0 } };
	struct blob b = make_tar(evil, 1, ARCHIVE_FILTER_GZIP, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	struct xs_manifest m;
	char diff[65], err[256] = "";
	CHECK_INT(tar_unpack(&b, XS_TAR_GZIP, &m, diff, err, sizeof err), -EINVAL,
		  "a layer with '..' is refused: %s", err);
	free(b.p);
	free(raw.p);
}

int main(void)
{
	root = tl_root();
	snprintf(storedir, sizeof storedir, "%s/store", root);
	snprintf(sentinel, sizeof sentinel, "%s/sentinel", root);
	mkdir(sentinel, 0755);
	if (tl_store_open("store", &store) < 0) {
		perror("store");
		return 1;
	}
	test_dpkg_deb();
	test_crafted_ok();
	test_hostile();
	test_malformed();
	test_parse_garbage();
	test_layers();
	xs_store_close(store);
	/* only the store and the sentinel were created in root */
	CHECK_INT(tl_count_entries(root), 2, "only store/ and sentinel/ in the test dir");
	return tap_done();
}
