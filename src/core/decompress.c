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
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define IN_CHUNK (128 * 1024)

struct xs_decompress_push;

struct src {
	int fd;
	off_t off;
	int err; /* negative errno of a failed read */
	struct xs_decompress_push *push; /* non-NULL: bytes come from the writer */
	char buf[IN_CHUNK];
};

/* The hand-over between the writer (xs_decompress_push_write) and the
 * thread that decompresses: one slot, filled by the writer, emptied by the
 * reader; lock guards every field below it. */
struct xs_decompress_push {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const char *p; /* the writer's bytes not yet taken (the writer waits) */
	size_t n;
	bool eof;      /* the writer is done */
	bool done;     /* the reader is done; result holds its return */
	int result;
	/* the reader's side, set before the thread starts */
	uint64_t max_out;
	int (*cb)(const void *p, size_t n, void *ud);
	void *ud;
	pthread_t thread;
};

/* The reader's next bytes from the writer into s->buf: their number, 0 at
 * the writer's end. */
static size_t push_take(struct xs_decompress_push *d, char *buf, size_t cap)
{
	pthread_mutex_lock(&d->lock);
	while (!d->n && !d->eof)
		pthread_cond_wait(&d->cond, &d->lock);
	size_t n = d->n < cap ? d->n : cap;
	if (n) { /* at the writer's end p may be NULL */
		memcpy(buf, d->p, n);
		d->p += n;
		d->n -= n;
	}
	if (!d->n)
		pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return n;
}

static la_ssize_t src_read(struct archive *a, void *ud, const void **out)
{
	(void)a;
	struct src *s = ud;
	if (s->push) {
		*out = s->buf;
		return (la_ssize_t)push_take(s->push, s->buf, sizeof s->buf);
	}
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

static int decompress(int fd, struct xs_decompress_push *push, uint64_t max_out,
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
	s->push = push;

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

int xs_decompress_fd(int fd, uint64_t max_out,
		     int (*cb)(const void *p, size_t n, void *ud), void *ud)
{
	return decompress(fd, NULL, max_out, cb, ud);
}

/* ---- push: the writer hands bytes to a decompressing thread -------------- */

static void *push_main(void *ud)
{
	struct xs_decompress_push *d = ud;
	int r = decompress(-1, d, d->max_out, d->cb, d->ud);
	/* the stream ended: whatever the writer still gives is trailing data */
	char tail[512];
	while (r == 0 && push_take(d, tail, sizeof tail))
		r = -EBADMSG;
	pthread_mutex_lock(&d->lock);
	d->done = true;
	d->result = r;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int xs_decompress_push_start(uint64_t max_out, int (*cb)(const void *p, size_t n, void *ud),
			     void *ud, struct xs_decompress_push **out)
{
	struct xs_decompress_push *d = calloc(1, sizeof *d);
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->max_out = max_out;
	d->cb = cb;
	d->ud = ud;
	int e = pthread_create(&d->thread, NULL, push_main, d);
	if (e) {
		pthread_cond_destroy(&d->cond);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return -e;
	}
	*out = d;
	return 0;
}

int xs_decompress_push_write(struct xs_decompress_push *d, const void *p, size_t n)
{
	pthread_mutex_lock(&d->lock);
	d->p = p;
	d->n = n;
	pthread_cond_broadcast(&d->cond);
	while (d->n && !d->done)
		pthread_cond_wait(&d->cond, &d->lock);
	int r = d->done ? (d->result < 0 ? d->result : -EBADMSG) : 0;
	d->n = 0;
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* Tell the reader the writer is done, wait for it, free d: its result. */
static int push_end(struct xs_decompress_push *d)
{
	pthread_mutex_lock(&d->lock);
	d->eof = true;
	d->n = 0;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	int r = d->result;
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return r;
}

int xs_decompress_push_finish(struct xs_decompress_push *d)
{
	return push_end(d);
}

void xs_decompress_push_abort(struct xs_decompress_push *d)
{
	if (d)
		push_end(d);
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
