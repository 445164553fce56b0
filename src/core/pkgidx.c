/* pkgidx.c - see include/xsysroot/pkgidx.h
 *
 * The writer emits each package as a stanza into a small buffer, which
 * goes through one zstd stream into a 64 KiB output buffer flushed to fd;
 * the digest runs over every byte written.  The reader checks magic,
 * version, sizes and the digest over the whole mapping first, then streams
 * the frame through the Packages parser (packages.h) into a table of its
 * own, moved into the caller's only when everything matched.
 */
#include "xsysroot/pkgidx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "xsysroot/util.h"

#define MAGIC "XSPKGIDX"
/* Measured on bookworm main arm64 (62,666 stanzas, 27 MB of kept text),
 * the writer alone on a loaded 2-core machine: level 1 with a 256 KiB
 * window, 6.13 MB in 0.11 s; level 3, 6.04 MB in 0.21 s; level 6, 5.5 MB
 * and twice that; negative levels over 8 MB.  The default window (2 MiB)
 * costs memory and buys nothing here. */
#define ZLEVEL 1
#define ZWINDOW 18
#define CHUNK (64u << 10)

static int hex_to_raw(const char *hex, unsigned char raw[32])
{
	if (!xs_is_sha256_hex(hex))
		return -EINVAL;
	for (int i = 0; i < 32; i++)
		raw[i] = (unsigned char)(xs_hexval(hex[2 * i]) << 4 | xs_hexval(hex[2 * i + 1]));
	return 0;
}

static void raw_to_hex(const unsigned char raw[32], char hex[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- writing --------------------------------------------------------------- */

struct writer {
	int fd;
	ZSTD_CCtx *cc;
	struct xs_sha256 h;
	unsigned char out[CHUNK];
	uint64_t text, payload;
};

static int put_raw(struct writer *w, const void *p, size_t n)
{
	int q = xs_sha256_update(&w->h, p, n);
	return q < 0 ? q : xs_write_all(w->fd, p, n);
}

/* text through the compressor; end: finish the frame */
static int compress(struct writer *w, const char *text, size_t n, bool end)
{
	ZSTD_inBuffer in = { text, n, 0 };
	w->text += n;
	for (;;) {
		ZSTD_outBuffer o = { w->out, sizeof w->out, 0 };
		size_t left = ZSTD_compressStream2(w->cc, &o, &in, end ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(left))
			return -EIO;
		int q = o.pos ? put_raw(w, w->out, o.pos) : 0;
		if (q < 0)
			return q;
		w->payload += o.pos;
		if (end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

/* A value the parser reads back as it is: no NUL (a C string), every
 * newline a continuation, not at the end. */
static bool writable(const char *v)
{
	size_t n = strlen(v);
	if (!n || v[n - 1] == '\n' || v[0] == ' ' || v[0] == '\t')
		return false;
	for (const char *c = v; (c = strchr(c, '\n')); c++)
		if (c[1] != ' ' && c[1] != '\t')
			return false;
	return true;
}

/* Appends without printf: a table of 60,000 stanzas is written on the
 * way to a mount, and vfprintf was most of the writer's time. */
static int put(struct xs_buf *b, const char *s)
{
	return xs_buf_append(b, s, strlen(s));
}

static int put_line(struct xs_buf *b, const char *name, const char *v)
{
	int q = put(b, name);
	if (q == 0)
		q = xs_buf_append(b, ": ", 2);
	if (q == 0)
		q = put(b, v);
	return q == 0 ? xs_buf_append(b, "\n", 1) : q;
}

static int field(struct xs_buf *b, const char *name, const char *v)
{
	if (!v)
		return 0;
	return writable(v) ? put_line(b, name, v) : -EBADMSG;
}

static int number(struct xs_buf *b, const char *name, uint64_t v)
{
	char d[24], *e = d + sizeof d - 1;
	*e = 0;
	do
		*--e = (char)('0' + v % 10);
	while (v /= 10);
	return put_line(b, name, e);
}

static int provides(struct xs_buf *b, const struct xs_dep *d)
{
	int q = d->n ? put(b, "Provides: ") : 0;
	for (size_t i = 0; q == 0 && i < d->n; i++) {
		const struct xs_dep_atom *a = &d->alts[i].atoms[0];
		q = i ? put(b, ", ") : 0;
		if (q == 0)
			q = put(b, a->name);
		if (q == 0 && a->archq && (q = put(b, ":")) == 0)
			q = put(b, a->archq);
		if (q == 0 && a->version && (q = put(b, " (= ")) == 0 && (q = put(b, a->version)) == 0)
			q = put(b, ")");
	}
	return q == 0 && d->n ? put(b, "\n") : q;
}

/* The text fields of a package, in the order written (the parser takes
 * them in any order). */
static const struct {
	const char *name;
	size_t off;
} text_fields[] = {
	{ "Package", offsetof(struct xs_pkg, name) },
	{ "Version", offsetof(struct xs_pkg, version) },
	{ "Architecture", offsetof(struct xs_pkg, arch) },
	{ "Multi-Arch", offsetof(struct xs_pkg, multi_arch) },
	{ "Filename", offsetof(struct xs_pkg, filename) },
	{ "Source", offsetof(struct xs_pkg, source) },
	{ "Section", offsetof(struct xs_pkg, section) },
	{ "Depends", offsetof(struct xs_pkg, depends_text) },
	{ "Pre-Depends", offsetof(struct xs_pkg, pre_depends_text) },
};

static int stanza(struct xs_buf *b, const struct xs_pkg *p)
{
	int q = 0;
	for (size_t i = 0; q == 0 && i < XS_ARRAY_SIZE(text_fields); i++)
		q = field(b, text_fields[i].name,
			  *(const char *const *)((const char *)p + text_fields[i].off));
	if (q == 0)
		q = number(b, "Size", p->size);
	if (q == 0)
		q = put_line(b, "SHA256", p->sha256);
	if (q == 0 && p->installed_size)
		q = number(b, "Installed-Size", p->installed_size);
	if (q == 0 && p->essential)
		q = put(b, "Essential: yes\n");
	if (q == 0)
		q = provides(b, &p->provides);
	return q == 0 ? put(b, "\n") : q;
}

static int write_body(struct writer *w, const struct xs_pkg *pkgs, size_t n)
{
	struct xs_buf b;
	xs_buf_init(&b, XS_PACKAGES_STANZA_MAX);
	int q = 0;
	for (size_t i = 0; i < n && q == 0; i++) {
		q = stanza(&b, &pkgs[i]);
		if (q == 0 && (b.len >= CHUNK || i + 1 == n)) {
			q = w->text + b.len > XS_PKGIDX_TEXT_MAX ? -E2BIG
								 : compress(w, b.data, b.len, false);
			b.len = 0;
		}
	}
	xs_buf_free(&b);
	return q < 0 ? q : compress(w, "", 0, true);
}

int xs_pkgidx_write_fd(const struct xs_pkg *pkgs, size_t n, const struct xs_pkgidx_id *id,
		       int fd)
{
	unsigned char hdr[XS_PKGIDX_HEADER] = { 0 };
	memcpy(hdr, MAGIC, 8);
	xs_put_le32(hdr + 8, XS_PKGIDX_VERSION);
	xs_put_le32(hdr + 12, XS_PKGIDX_HEADER);
	if (hex_to_raw(id->index_sha256, hdr + 16) < 0 ||
	    (id->inrelease_sha256[0] && hex_to_raw(id->inrelease_sha256, hdr + 56) < 0))
		return -EINVAL;
	xs_put_le64(hdr + 48, id->index_size);
	struct writer *w = xs_xcalloc(1, sizeof *w);
	w->fd = fd;
	w->cc = ZSTD_createCCtx();
	int q = w->cc ? xs_sha256_init(&w->h) : -ENOMEM;
	if (q == 0) {
		ZSTD_CCtx_setParameter(w->cc, ZSTD_c_compressionLevel, ZLEVEL);
		ZSTD_CCtx_setParameter(w->cc, ZSTD_c_windowLog, ZWINDOW);
		ZSTD_CCtx_setParameter(w->cc, ZSTD_c_checksumFlag, 1);
		q = put_raw(w, hdr, sizeof hdr);
		if (q == 0)
			q = write_body(w, pkgs, n);
		unsigned char foot[XS_PKGIDX_FOOTER];
		xs_put_le64(foot, n);
		xs_put_le64(foot + 8, w->text);
		xs_put_le64(foot + 16, w->payload);
		char hex[65];
		if (q == 0)
			q = put_raw(w, foot, 24);
		if (q == 0)
			q = xs_sha256_final(&w->h, hex);
		else
			xs_sha256_free(&w->h);
		if (q == 0)
			q = hex_to_raw(hex, foot + 24);
		if (q == 0)
			q = xs_write_all(fd, foot + 24, 32);
	}
	ZSTD_freeCCtx(w->cc);
	free(w);
	return q;
}

/* ---- reading --------------------------------------------------------------- */

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errsz, int q, const char *fmt, ...)
{
	if (err && errsz) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return q;
}

/* The header, footer and digest of d[0, len): 0 and the counts, or why not. */
static int check_frame(const unsigned char *d, size_t len, struct xs_pkgidx_id *id,
		       uint64_t *npkgs, uint64_t *text, char *err, size_t errsz)
{
	const size_t fixed = XS_PKGIDX_HEADER + XS_PKGIDX_FOOTER;
	if (len < 12 || memcmp(d, MAGIC, 8))
		return fail(err, errsz, -EBADMSG, "not a compact Packages index");
	if (xs_get_le32(d + 8) != XS_PKGIDX_VERSION)
		return fail(err, errsz, -EPROTO, "format version %u, not %u", xs_get_le32(d + 8),
			    XS_PKGIDX_VERSION);
	if (len < fixed || len > XS_PKGIDX_MAX)
		return fail(err, errsz, -EBADMSG, "%zu bytes: truncated or oversized", len);
	char want[65], got[65];
	raw_to_hex(d + len - 32, want);
	int q = xs_sha256_buf(d, len - 32, got);
	if (q < 0)
		return fail(err, errsz, q, "cannot hash: %s", strerror(-q));
	if (strcmp(want, got))
		return fail(err, errsz, -EBADMSG, "digest mismatch: truncated or damaged");
	const unsigned char *foot = d + len - XS_PKGIDX_FOOTER;
	*npkgs = xs_get_le64(foot);
	*text = xs_get_le64(foot + 8);
	if (xs_get_le32(d + 12) != XS_PKGIDX_HEADER || !all_zero(d + 88, XS_PKGIDX_HEADER - 88) ||
	    xs_get_le64(foot + 16) != len - fixed || *npkgs > XS_PACKAGES_MAX ||
	    *text > XS_PKGIDX_TEXT_MAX)
		return fail(err, errsz, -EBADMSG, "inconsistent header or footer");
	raw_to_hex(d + 16, id->index_sha256);
	id->index_size = xs_get_le64(d + 48);
	if (all_zero(d + 56, 32))
		id->inrelease_sha256[0] = 0;
	else
		raw_to_hex(d + 56, id->inrelease_sha256);
	return 0;
}

/* The payload through the parser into s; 0 when it is exactly one frame of
 * exactly text bytes. */
static int inflate(const unsigned char *p, size_t n, uint64_t text,
		   struct xs_packages_stream *s, char *err, size_t errsz)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	unsigned char *out = xs_xmalloc(CHUNK);
	ZSTD_inBuffer in = { p, n, 0 };
	uint64_t got = 0;
	size_t left = 1;
	int q = dc ? 0 : -ENOMEM;
	while (q == 0 && left) {
		ZSTD_outBuffer o = { out, CHUNK, 0 };
		left = ZSTD_decompressStream(dc, &o, &in);
		if (ZSTD_isError(left) || (left && in.pos == in.size && o.pos < o.size)) {
			q = fail(err, errsz, -EBADMSG, "payload does not decompress");
			break;
		}
		got += o.pos;
		if (got > text)
			q = fail(err, errsz, -EBADMSG, "payload longer than its header says");
		else if (o.pos)
			q = xs_packages_stream_feed(s, out, o.pos, err, errsz);
	}
	if (q == 0 && (in.pos != in.size || got != text))
		q = fail(err, errsz, -EBADMSG, "payload of another length than its header says");
	free(out);
	ZSTD_freeDCtx(dc);
	return q;
}

int xs_pkgidx_load(const void *data, size_t len, const struct xs_pkgidx_id *expect,
		   struct xs_pkgtab *t, int origin, struct xs_pkgidx_id *got, char *err,
		   size_t errsz)
{
	const unsigned char *d = data;
	struct xs_pkgidx_id id;
	uint64_t npkgs = 0, text = 0;
	int q = check_frame(d, len, &id, &npkgs, &text, err, errsz);
	if (q < 0)
		return q;
	if (expect && (strcmp(expect->index_sha256, id.index_sha256) ||
		       expect->index_size != id.index_size))
		return fail(err, errsz, -ESTALE, "made from index %.16s…, not %.16s…",
			    id.index_sha256, expect->index_sha256);
	struct xs_pkgtab mine;
	xs_pkgtab_init(&mine);
	struct xs_packages_stream *s = NULL;
	q = xs_packages_stream_new(&mine, origin, &s);
	if (q == 0)
		q = inflate(d + XS_PKGIDX_HEADER, len - XS_PKGIDX_HEADER - XS_PKGIDX_FOOTER, text, s,
			    err, errsz);
	if (q == 0)
		q = xs_packages_stream_end(s, err, errsz);
	xs_packages_stream_free(s);
	if (q == 0 && mine.n != npkgs)
		q = fail(err, errsz, -EBADMSG, "%zu packages, its footer says %llu", mine.n,
			 (unsigned long long)npkgs);
	if (q == 0 && mine.n > XS_PACKAGES_MAX - t->n)
		q = fail(err, errsz, -E2BIG, "more than %u packages", (unsigned)XS_PACKAGES_MAX);
	if (q < 0) {
		xs_pkgtab_free(&mine);
		return q;
	}
	xs_pkgtab_move(t, &mine);
	if (got)
		*got = id;
	return 0;
}

int xs_pkgidx_load_path(const char *path, const struct xs_pkgidx_id *expect,
			struct xs_pkgtab *t, int origin, struct xs_pkgidx_id *got, char *err,
			size_t errsz)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail(err, errsz, -errno, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size < 1 || (uint64_t)st.st_size > XS_PKGIDX_MAX)
		return fail(err, errsz, -EBADMSG, "%lld bytes: truncated or oversized",
			    (long long)st.st_size);
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return fail(err, errsz, -errno, "cannot map: %s", strerror(errno));
	int q = xs_pkgidx_load(m, (size_t)st.st_size, expect, t, origin, got, err, errsz);
	munmap(m, (size_t)st.st_size);
	return q;
}
