/* test-debstream.c - a .deb unpacked while it arrives (debstream.h): real
 * packages built by dpkg-deb (every compression dpkg writes), fed to the
 * sink in chunks of random sizes, give the very manifest xs_deb_unpack
 * gives from a file; a restart from byte 0 forgets the first attempt; a
 * truncated or garbled stream gives no manifest; bytes after data.tar and
 * an early failure never block the writer; freeing a stream mid-way stops
 * its thread. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/deb.h"
#include "xsysroot/debstream.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct xs_store *store;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A tree of files of random (incompressible) bytes and random sizes, a
 * few of them empty, with symlinks, a hardlink and directories: the
 * compressed data.tar spans many ring slots. */
static void make_tree(const char *tree)
{
	char p[512];
	snprintf(p, sizeof p, "%s/DEBIAN/control", tree);
	const char *ctl = "Package: xs-stream\nVersion: 1.0-1\nArchitecture: arm64\n"
			  "Maintainer: Test <test@example.org>\nDescription: fixture\n";
	tl_write_file(p, ctl, strlen(ctl), 0644);
	char *buf = xs_xmalloc(64 << 10);
	for (int i = 0; i < 80; i++) {
		size_t n = i % 17 == 0 ? 0 : next_rand() % (24 << 10);
		for (size_t k = 0; k < n; k++)
			buf[k] = (char)next_rand();
		snprintf(p, sizeof p, "%s/usr/lib/d%d/f%03d.bin", tree, i % 9, i);
		tl_write_file(p, buf, n, i % 5 ? 0644 : 0755);
	}
	free(buf);
	int dfd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd >= 0 && symlinkat("f001.bin", dfd, "usr/lib/d1/link") == 0 &&
		      linkat(dfd, "usr/lib/d2/f002.bin", dfd, "usr/lib/d2/hard", 0) == 0 &&
		      mkdirat(dfd, "usr/empty", 0755) == 0,
	      "fixture symlink, hardlink and empty directory");
	close(dfd);
}

static char *manifest_text(const struct xs_manifest *m)
{
	char *txt = NULL;
	size_t len;
	if (xs_manifest_serialize(m, &txt, &len) < 0)
		return NULL;
	return txt;
}

/* The manifest of the file path, xs_deb_unpack's, as text. */
static char *unpack_file(const struct xs_buf *deb)
{
	int fd = tl_memfd(deb->data, deb->len);
	struct xs_manifest m;
	char err[256] = "";
	int r = xs_deb_unpack(store, fd, NULL, &m, err, sizeof err);
	close(fd);
	CHECK_INT(r, 0, "the file path unpacks (%s)", err);
	char *txt = manifest_text(&m);
	xs_manifest_free(&m);
	return txt;
}

/* Write p[0..n) into sink in chunks of 1 to max bytes (random). */
static int feed(const struct xs_http_sink *k, const char *p, size_t n, size_t max)
{
	while (n) {
		size_t c = 1 + next_rand() % max;
		if (c > n)
			c = n;
		int r = k->write(p, c, k->ud);
		if (r < 0)
			return r;
		p += c;
		n -= c;
	}
	return 0;
}

/* Stream deb (after, when prefix, a first attempt of prefix bytes and a
 * reset) and give the manifest as text, or NULL with *rc its error. */
static char *stream(const char *p, size_t n, size_t max, size_t prefix, int *rc, char *err,
		    size_t errsz)
{
	struct xs_debstream *d = xs_debstream_new(store, NULL);
	struct xs_http_sink k = xs_debstream_sink(d);
	int r = 0;
	if (prefix) {
		r = feed(&k, p, prefix, max);
		if (r == 0)
			r = k.reset(k.ud);
	}
	if (r == 0)
		r = feed(&k, p, n, max);
	struct xs_manifest m;
	if (r == 0)
		r = xs_debstream_finish(d, &m, err, errsz);
	else
		memset(&m, 0, sizeof m);
	xs_debstream_free(d);
	*rc = r;
	char *txt = r == 0 ? manifest_text(&m) : NULL;
	CHECK(r == 0 || m.n == 0, "a failed stream leaves an empty manifest");
	xs_manifest_free(&m);
	return txt;
}

/* The .deb dpkg-deb builds of tree with -Zztype, in deb: 0, or -1 after a
 * skipped test point. */
static int build_deb(const char *tree, const char *ztype, struct xs_buf *deb)
{
	char out[256];
	snprintf(out, sizeof out, "%s/stream-%s.deb", tl_root(), ztype);
	int r = tl_dpkg_deb_build(tree, out, ztype);
	if (r == 0)
		r = xs_read_file(out, 64 << 20, deb);
	unlink(out);
	if (r < 0)
		CHECK(1, "dpkg-deb -Z%s # SKIP dpkg-deb failed (%d)", ztype, r);
	return r < 0 ? -1 : 0;
}

static void test_real(const char *tree, const char *ztype)
{
	char err[256] = "";
	struct xs_buf deb;
	if (build_deb(tree, ztype, &deb) < 0)
		return;
	int r;
	printf("# -Z%s: %zu bytes\n", ztype, deb.len);
	char *ref = unpack_file(&deb);
	static const size_t chunk[] = { 64, 4096, 100000, XS_DEBSTREAM_RING * 3 };
	for (size_t i = 0; ref && i < XS_ARRAY_SIZE(chunk); i++) {
		char *got = stream(deb.data, deb.len, chunk[i], 0, &r, err, sizeof err);
		CHECK(r == 0 && got && !strcmp(got, ref),
		      "%s: chunks of 1 to %zu bytes: the same manifest as from a file (%d %s)", ztype,
		      chunk[i], r, err);
		free(got);
	}
	/* a first attempt broken off, then a restart from byte 0 */
	size_t cut = deb.len / 3;
	char *got = stream(deb.data, deb.len, 50000, cut, &r, err, sizeof err);
	CHECK(r == 0 && got && !strcmp(got, ref), "%s: restarted after %zu bytes: the same manifest",
	      ztype, cut);
	free(got);
	/* truncated: what finish is never asked for in use, and still refuses */
	got = stream(deb.data, deb.len / 2, 30000, 0, &r, err, sizeof err);
	CHECK(r < 0 && !got, "%s: truncated: no manifest (%d %s)", ztype, r, err);
	free(got);
	/* bytes after data.tar (the unpacker is done before the body ends)
	 * are taken without blocking */
	struct xs_buf more;
	xs_buf_init(&more, SIZE_MAX / 2);
	xs_buf_append(&more, deb.data, deb.len);
	for (int k = 0; k < 2 * XS_DEBSTREAM_RING; k++)
		xs_buf_append(&more, "\n", 1);
	got = stream(more.data, more.len, 70000, 0, &r, err, sizeof err);
	CHECK(r == 0 && got && !strcmp(got, ref), "%s: %d bytes after the archive: ignored", ztype,
	      2 * XS_DEBSTREAM_RING);
	free(got);
	xs_buf_free(&more);
	free(ref);
	xs_buf_free(&deb);
}

static void test_garbled(const char *tree)
{
	char err[256] = "";
	struct xs_buf deb;
	if (build_deb(tree, "xz", &deb) < 0)
		return;
	int r;
	/* xz's checks catch a flipped byte in data.tar.xz; in an uncompressed
	 * member only the digest of the whole would (the caller's) */
	deb.data[deb.len - deb.len / 4] ^= 0x40;
	char *got = stream(deb.data, deb.len, 20000, 0, &r, err, sizeof err);
	CHECK(r < 0 && !got, "a flipped byte in data.tar.xz: no manifest (%d %s)", r, err);
	free(got);
	memcpy(deb.data, "!<arch>X", 8);
	got = stream(deb.data, deb.len, 20000, 0, &r, err, sizeof err);
	CHECK(r == -EBADMSG && !got, "not an ar archive: no manifest (%s)", err);
	free(got);
	got = stream(deb.data, 0, 1, 0, &r, err, sizeof err);
	CHECK(r == -EBADMSG && !got, "no byte at all: no manifest (%s)", err);
	free(got);
	/* the unpacker fails early: the rest of the body never blocks */
	got = stream(deb.data, deb.len, 3 * XS_DEBSTREAM_RING, 0, &r, err, sizeof err);
	CHECK(r == -EBADMSG, "a failed unpacking takes the rest of the body");
	free(got);
	xs_buf_free(&deb);
}

/* A stream freed while its thread waits for bytes, or never started. */
static void test_abandoned(const char *tree)
{
	struct xs_buf deb;
	if (build_deb(tree, "gzip", &deb) < 0)
		return;
	struct xs_debstream *d = xs_debstream_new(store, NULL);
	struct xs_http_sink k = xs_debstream_sink(d);
	CHECK_INT(feed(&k, deb.data, deb.len / 2, 9000), 0, "half a .deb written");
	xs_debstream_free(d);
	CHECK(1, "freed mid-way: the thread stopped");
	xs_debstream_free(xs_debstream_new(store, NULL));
	CHECK(1, "freed before any byte");
	xs_buf_free(&deb);
}

int main(void)
{
	if (tl_store_open("store", &store) < 0) {
		perror("store");
		return 1;
	}
	const char *tree = tl_path("tree");
	char treebuf[256];
	snprintf(treebuf, sizeof treebuf, "%s", tree);
	make_tree(treebuf);
	static const char *types[] = { "xz", "gzip", "zstd", "none" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(types); i++)
		test_real(treebuf, types[i]);
	test_garbled(treebuf);
	test_abandoned(treebuf);
	xs_store_close(store);
	return tap_done();
}
