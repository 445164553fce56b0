/* decompress.h - streaming decompression of index files (gzip, xz, zstd,
 * bzip2, lz4 or none), detected from the data, through libarchive's raw
 * format.  The only module apart from deb.c that reads compressed data.
 * Every call bounds the decompressed output.  Thread safe.
 *
 * Corrupt input is detected as far as the format allows: xz, bzip2 and lz4
 * check their own checksums (zstd when the frame carries one), but
 * libarchive 3.6 does not check gzip's CRC-32 and length, so a damaged gzip
 * stream that still inflates goes unnoticed.  Integrity is the caller's
 * SHA-256 of the compressed data (Release for indexes, Packages for .debs).
 */
#ifndef XSYSROOT_DECOMPRESS_H
#define XSYSROOT_DECOMPRESS_H
#include <stddef.h>
#include <stdint.h>
#include "xsysroot/util.h"

/* Feed decompressed bytes of fd (read from offset 0) to cb in chunks; stops
 * with -EFBIG past max_out bytes, -EBADMSG on corrupt input, or cb's negative
 * return. */
int xs_decompress_fd(int fd, uint64_t max_out,
		     int (*cb)(const void *p, size_t n, void *ud), void *ud);
/* Push mode, for bytes as they arrive (a download): a thread of its own
 * decompresses what xs_decompress_push_write hands it and calls cb (from
 * that thread) with the output, bounded by max_out as above.
 * push_write blocks until the thread has taken the bytes (a copy: p may be
 * reused on return), and returns 0, or the stream's error (-EBADMSG,
 * -EFBIG, cb's negative return) once it has failed, after which every
 * write fails the same way.  push_finish says the input is whole, waits
 * for the thread and frees d: 0, the stream's error, or -EBADMSG when the
 * compressed stream ended before the input did (trailing bytes) or the
 * input ended inside it.  push_abort (NULL allowed) ends and frees d
 * without a result.  One writer thread per d; cb runs on d's thread only,
 * never after finish or abort has returned. */
struct xs_decompress_push;
int xs_decompress_push_start(uint64_t max_out, int (*cb)(const void *p, size_t n, void *ud),
			     void *ud, struct xs_decompress_push **out);
int xs_decompress_push_write(struct xs_decompress_push *d, const void *p, size_t n);
int xs_decompress_push_finish(struct xs_decompress_push *d);
void xs_decompress_push_abort(struct xs_decompress_push *d);
/* Decompress all of fd into out (initialised here, bounded by max_out). */
int xs_decompress_to_buf(int fd, size_t max_out, struct xs_buf *out);
#endif
