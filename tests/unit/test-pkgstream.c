/* test-pkgstream.c - a Packages index parsed while it arrives: a real .xz
 * (made by xz(1)) pushed in chunks of many sizes through the decompressing
 * thread into the streaming parser gives the table the whole-text parser
 * gives; tampered, truncated and trailing input is refused; a parse error
 * names the same line; a stream's failure leaves nothing in the table. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/decompress.h"
#include "xsysroot/packages.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPKG 3000

/* NPKG stanzas; stanza bad (if < NPKG) lacks its SHA256 */
static char *make_text(size_t bad, size_t *len)
{
	struct xs_buf b;
	xs_buf_init(&b, 64 << 20);
	for (size_t i = 0; i < NPKG; i++)
		xs_buf_printf(&b, "Package: pkg%zu\nVersion: 1.%zu-1\nArchitecture: arm64\n"
			      "Depends: libc6 (>= 2.36), pkg%zu | other\nFilename: pool/p/pkg%zu.deb\n"
			      "Size: %zu\n%s\n", i, i, i / 2, i, 1000 + i,
			      i == bad ? "" : "SHA256: 8e6b4ad0bd8b5f5a4c5a0a3a2b1f4fd9e2a6a0c3cd0b4c3c8f8e1e9d7b6a5f40\n");
	*len = b.len;
	return b.data;
}

/* text compressed by xz(1) */
static char *xz(const char *text, size_t len, size_t *zlen)
{
	const char *in = tl_path("pkgs.txt");
	tl_write_file(in, text, len, 0644);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "xz -T1 -c '%s' > '%s.xz'", in, in);
	if (system(cmd) != 0)
		return NULL;
	snprintf(cmd, sizeof cmd, "%s.xz", in);
	FILE *f = fopen(cmd, "rb");
	struct xs_buf b;
	xs_buf_init(&b, 64 << 20);
	char chunk[65536];
	size_t n;
	while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		xs_buf_append(&b, chunk, n);
	if (f)
		fclose(f);
	*zlen = b.len;
	return b.data;
}

struct run {
	struct xs_packages_stream *ps;
	char perr[512];
};

static int feed(const void *p, size_t n, void *ud)
{
	struct run *r = ud;
	return xs_packages_stream_feed(r->ps, p, n, r->perr, sizeof r->perr);
}

/* z[0, n) pushed in chunks of varying sizes into t: the push's result,
 * then the parser's end. */
static int push(const char *z, size_t n, struct xs_pkgtab *t, char *perr, size_t perrsz)
{
	struct run r = { 0 };
	xs_packages_stream_new(t, 7, &r.ps);
	struct xs_decompress_push *d;
	int q = xs_decompress_push_start(1 << 30, feed, &r, &d);
	static const size_t sizes[] = { 1, 7, 4096, 100, 16384, 3, 65536 };
	for (size_t off = 0, k = 0; q == 0 && off < n; k++) {
		size_t c = sizes[k % XS_ARRAY_SIZE(sizes)];
		c = c < n - off ? c : n - off;
		q = xs_decompress_push_write(d, z + off, c);
		off += c;
	}
	int f = xs_decompress_push_finish(d);
	q = q < 0 ? q : f;
	if (q == 0)
		q = xs_packages_stream_end(r.ps, r.perr, sizeof r.perr);
	snprintf(perr, perrsz, "%s", r.perr);
	xs_packages_stream_free(r.ps);
	return q;
}

static bool same(const struct xs_pkgtab *a, const struct xs_pkgtab *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct xs_pkg *x = &a->pkgs[i], *y = &b->pkgs[i];
		if (strcmp(x->name, y->name) || strcmp(x->version, y->version) ||
		    strcmp(x->filename, y->filename) || x->size != y->size ||
		    strcmp(x->sha256, y->sha256) || x->depends.n != y->depends.n ||
		    x->origin != 7)
			return false;
	}
	return true;
}

int main(void)
{
	tl_root();
	size_t len, zlen;
	char *text = make_text(NPKG, &len);
	char *z = xz(text, len, &zlen);
	if (!z || !zlen) {
		CHECK(1, "# SKIP xz(1) is not installed");
		return tap_done();
	}
	struct xs_pkgtab ref, t;
	xs_pkgtab_init(&ref);
	CHECK_INT(xs_packages_parse(&ref, text, len, 7, NULL, 0), 0, "the whole text parses");
	xs_pkgtab_init(&t);
	char perr[512];
	CHECK_INT(push(z, zlen, &t, perr, sizeof perr), 0, "the .xz pushed in chunks parses");
	CHECK(same(&ref, &t), "the same %d packages, in order, as the whole-text parse", NPKG);
	size_t n0 = t.n;

	/* a byte flipped in the middle: xz's check refuses it */
	char *bad = xs_xmalloc(zlen);
	memcpy(bad, z, zlen);
	bad[zlen / 2] ^= 0x55;
	CHECK_INT(push(bad, zlen, &t, perr, sizeof perr), -EBADMSG, "tampered .xz refused");
	CHECK_INT(push(z, zlen / 2, &t, perr, sizeof perr), -EBADMSG, "truncated .xz refused");
	memcpy(bad, z, zlen);
	char *tail = xs_xmalloc(zlen + 4);
	memcpy(tail, z, zlen);
	memcpy(tail + zlen, "junk", 4);
	CHECK_INT(push(tail, zlen + 4, &t, perr, sizeof perr), -EBADMSG,
		  "bytes after the .xz stream refused");

	/* a parse error: the same message (line) as the whole parse, and the
	 * stream's stanzas leave the table */
	size_t blen, bzlen;
	char *btext = make_text(NPKG - 10, &blen);
	char *bz = xz(btext, blen, &bzlen);
	char want[512] = "";
	struct xs_pkgtab tmp;
	xs_pkgtab_init(&tmp);
	CHECK_INT(xs_packages_parse(&tmp, btext, blen, 7, want, sizeof want), -EBADMSG,
		  "whole parse of a bad stanza fails");
	xs_pkgtab_free(&tmp);
	size_t before = t.n;
	CHECK_INT(push(bz, bzlen, &t, perr, sizeof perr), -EBADMSG, "streamed parse fails");
	CHECK(!strcmp(perr, want), "same message: '%s' vs '%s'", perr, want);
	CHECK_INT(t.n, before, "the failed stream's stanzas left the table");
	CHECK(t.n == n0 && same(&ref, &t), "what was there before is untouched");

	/* one stanza larger than the bound */
	struct xs_pkgtab big;
	xs_pkgtab_init(&big);
	struct xs_packages_stream *ps;
	xs_packages_stream_new(&big, 0, &ps);
	char *huge = xs_xmalloc(1 << 20);
	memset(huge, 'a', 1 << 20);
	memcpy(huge, "Package: x\nDescription: ", 24);
	int q = 0;
	for (int i = 0; i < 5 && q == 0; i++)
		q = xs_packages_stream_feed(ps, huge, 1 << 20, perr, sizeof perr);
	CHECK_INT(q, -E2BIG, "a stanza over %u bytes is refused", XS_PACKAGES_STANZA_MAX);
	CHECK_INT(xs_packages_stream_end(ps, perr, sizeof perr), -E2BIG, "and stays refused");
	xs_packages_stream_free(ps);
	xs_pkgtab_free(&big);

	xs_pkgtab_free(&t);
	xs_pkgtab_free(&ref);
	free(text), free(z), free(bad), free(tail), free(btext), free(bz), free(huge);
	return tap_done();
}
