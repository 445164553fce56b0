/* decompress.c - see include/xsysroot/decompress.h.
 *
 * libarchive's raw format over an explicit list of decompression filters.
 * archive_read_support_filter_all() is deliberately not used: it also
 * enables uudecode, rpm and the lrzip/lzop/grzip filters, the latter run as
 * external programs, none of which an index file may use.  The "none"
 * filter is always present, so uncompressed data passes through.
 *
 * The input is read with pread() from offset 0, so the caller's file
 * position is neither used nor changed and one fd may be shared by threads.
 */
#include "xsysroot/decompress.h"

#include <archive.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define IN_CHUNK (128 * 1024)

struct src {
	int fd;
	off_t off;
	int err; /* negative errno of a failed read */
	char buf[IN_CHUNK];
};

static la_ssize_t src_read(struct archive *a, void *ud, const void **out)
{
	(void)a;
	struct src *s = ud;
	for (;;) {
		ssize_t n = pread(s->fd, s->buf, sizeof s->buf, s->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			s->err = -errno;
			archive_set_error(a, errno, "read failed");
			return -1;
		}
		s->off += n;
		*out = s->buf;
		return n;
	}
}

static int archive_err(struct archive *a, const struct src *s)
{
	if (s->err)
		return s->err;
	if (archive_errno(a) == ENOMEM)
		return -ENOMEM;
	return -EBADMSG;
}

int xs_decompress_fd(int fd, uint64_t max_out,
		     int (*cb)(const void *p, size_t n, void *ud), void *ud)
{
	struct archive *a = archive_read_new();
	if (!a)
		return -ENOMEM;
	struct src *s = malloc(sizeof *s);
	if (!s) {
		archive_read_free(a);
		return -ENOMEM;
	}
	s->fd = fd;
	s->off = 0;
	s->err = 0;

	int r = 0;
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_lz4(a);
	archive_read_support_format_raw(a);
	/* An empty input is no archive to libarchive: empty_data lets it
	 * through as an empty stream. */
	archive_read_support_format_empty(a);

	if (archive_read_open(a, s, NULL, src_read, NULL) != ARCHIVE_OK) {
		r = archive_err(a, s);
		goto out;
	}
	struct archive_entry *e;
	int h = archive_read_next_header(a, &e);
	if (h == ARCHIVE_EOF)
		goto out; /* empty input */
	if (h != ARCHIVE_OK && h != ARCHIVE_WARN) {
		r = archive_err(a, s);
		goto out;
	}
	uint64_t total = 0;
	for (;;) {
		const void *p;
		size_t n;
		la_int64_t off;
		int d = archive_read_data_block(a, &p, &n, &off);
		if (d == ARCHIVE_EOF)
			break;
		if (d != ARCHIVE_OK) {
			r = archive_err(a, s);
			goto out;
		}
		if (n == 0)
			continue;
		if (n > max_out || total > max_out - n) {
			r = -EFBIG;
			goto out;
		}
		total += n;
		r = cb(p, n, ud);
		if (r < 0)
			goto out;
		r = 0;
	}
out:
	archive_read_free(a);
	free(s);
	return r;
}

static int to_buf(const void *p, size_t n, void *ud)
{
	return xs_buf_append(ud, p, n);
}

int xs_decompress_to_buf(int fd, size_t max_out, struct xs_buf *out)
{
	xs_buf_init(out, max_out);
	int r = xs_decompress_fd(fd, max_out, to_buf, out);
	if (r == -E2BIG)
		r = -EFBIG;
	if (r == 0 && !out->data)
		r = xs_buf_append(out, "", 0);
	if (r < 0)
		xs_buf_free(out);
	return r;
}
