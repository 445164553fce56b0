/* util.h - small shared helpers: cleanup attributes, bounded buffers,
 * files, SHA-256 (libcrypto), archive path normalisation.
 *
 * Contract: every function returns 0 (or a non-negative count) on success
 * and a negative errno on failure.  Nothing here logs.  Nothing here keeps
 * global state, so every function is thread safe on distinct arguments.
 */
#ifndef XSYSROOT_UTIL_H
#define XSYSROOT_UTIL_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define XS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Log levels (syslog's numbers) and the callback the core reports through;
 * xs_logf formats one message (up to 2 kB) for fn, nothing when fn is NULL. */
enum xs_log_level { XS_LOG_ERR = 3, XS_LOG_WARN = 4, XS_LOG_INFO = 6, XS_LOG_DEBUG = 7 };
typedef void (*xs_log_fn)(int level, const char *msg, void *ud);
void xs_logf(xs_log_fn fn, void *ud, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void xs_vlogf(xs_log_fn fn, void *ud, int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* A parser's refusal: fmt into err (when err and errsz), -EBADMSG. */
int xs_bad_input(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* In a function with char *err and size_t errsz: say why and return code. */
#define XS_FAIL(code, ...)                         \
	do {                                       \
		snprintf(err, errsz, __VA_ARGS__); \
		return (code);                     \
	} while (0)

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void xs_freep(void *p) { free(*(void **)p); }
static inline void xs_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_free_ _cleanup_(xs_freep)
#define _cleanup_close_ _cleanup_(xs_closep)

/* Take ownership of *pp and leave NULL behind. */
static inline void *xs_steal_ptr(void *pp)
{
	void **p = pp, *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))xs_steal_ptr(pp))

static inline int xs_steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

/* ---- little-endian integers of the cache's binary files ---------------- */
static inline void xs_put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void xs_put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t xs_get_le32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t xs_get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---- bounded growable buffer ------------------------------------------
 * Every buffer that holds data a mirror controls has a maximum; growing past
 * it fails with -E2BIG.  data is always NUL terminated (not counted in len).
 */
struct xs_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void xs_buf_init(struct xs_buf *b, size_t max);
int xs_buf_append(struct xs_buf *b, const void *p, size_t n);
int xs_buf_printf(struct xs_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xs_buf_free(struct xs_buf *b);
/* Hand the data to the caller (caller frees); the buffer is reset. */
char *xs_buf_steal(struct xs_buf *b, size_t *len);

/* ---- files -------------------------------------------------------------- */
/* Read at most max bytes of path (or fd) into out (initialised here).
 * -E2BIG if the file is larger. */
int xs_read_file(const char *path, size_t max, struct xs_buf *out);
int xs_read_fd(int fd, size_t max, struct xs_buf *out);
/* Write all of p to fd, restarting on EINTR and short writes. */
int xs_write_all(int fd, const void *p, size_t n);
/* Write a file by transaction: temp file in the same directory, fsync,
 * rename over path. */
int xs_write_file_atomic(const char *path, const void *p, size_t n, mode_t mode);
/* mkdir -p; existing directories are fine. */
int xs_mkdir_p(const char *path, mode_t mode);
/* Remove a directory tree (does not follow symlinks). */
int xs_rm_rf(const char *path);

/* ---- SHA-256 (libcrypto EVP) ------------------------------------------- */
struct xs_sha256 {
	void *ctx; /* EVP_MD_CTX */
};
int xs_sha256_init(struct xs_sha256 *h);
int xs_sha256_update(struct xs_sha256 *h, const void *p, size_t n);
/* Writes 64 lowercase hex digits and a NUL; frees the context. */
int xs_sha256_final(struct xs_sha256 *h, char hex[65]);
void xs_sha256_free(struct xs_sha256 *h);
int xs_sha256_buf(const void *p, size_t n, char hex[65]);
/* Digest of the whole of fd from offset 0; *size receives its length. */
int xs_sha256_fd(int fd, char hex[65], uint64_t *size);
/* True when s is 64 lowercase hex digits. */
bool xs_is_sha256_hex(const char *s);

/* ---- paths --------------------------------------------------------------- */
#define XS_MAX_PATH 4096 /* bytes in a normalised path */
#define XS_MAX_DEPTH 64  /* components in a normalised path */

/* Normalise a path taken from an archive or an index into the view's form:
 * no leading "/" or "./", no empty or "." components, no trailing "/".
 * The root is "".  ".." is resolved lexically and may never climb above
 * the root: such a path, and one longer than XS_MAX_PATH or deeper than
 * XS_MAX_DEPTH, gives -EINVAL.  out must hold XS_MAX_PATH + 1 bytes. */
int xs_path_normalize(const char *in, char *out, size_t outsz);
/* The same, except that ".." at the root stays at the root, as a chroot
 * resolves it ("a/../../b" is "b"). */
int xs_path_normalize_at_root(const char *in, char *out, size_t outsz);

/* Duplicate or abort: for small bookkeeping strings only. */
char *xs_strdup(const char *s);
char *xs_strndup(const char *s, size_t n);
void *xs_xmalloc(size_t n);
void *xs_xcalloc(size_t n, size_t m);
void *xs_xrealloc(void *p, size_t n);
/* Grow *arr (element size el) so that it holds at least want elements. */
void xs_grow(void *arr, size_t *cap, size_t want, size_t el);

/* A NULL-terminated vector of the words of s (separated by blanks or
 * commas; empty words dropped; s NULL: none); free with xs_strv_free. */
char **xs_strv_split(const char *s);
void xs_strv_free(char **v);
/* Whether the NULL-terminated vector v (may be NULL) holds s. */
bool xs_strv_has(char *const *v, const char *s);

/* The value of one hex digit (either case), or -1. */
int xs_hexval(char c);
/* A 64-bit hash of a NUL-terminated string (FNV-1a with a final mix), for
 * in-memory tables; not for anything a mirror could exploit to collide. */
uint64_t xs_hash_str(const char *s);

/* A per-user directory of the XDG base directory spec: "$VAR/leaf" when
 * the variable var holds an absolute path, else "$HOME/home_sub/leaf";
 * -ENOENT when neither is set. */
int xs_xdg_path(const char *var, const char *home_sub, const char *leaf, char *out,
		size_t outsz);

/* A size as a user writes it: decimal digits and an optional unit K, M, G
 * or T (powers of 1024, either case, optionally followed by "B" or "iB"), or
 * a bare "B":
 * "500M", "2G", "4096".  -EINVAL for anything else, -ERANGE past 2^64-1. */
int xs_parse_size(const char *s, uint64_t *out);

/* Human readable size ("2.3 MB"), into a caller buffer. */
const char *xs_fmt_size(uint64_t bytes, char *out, size_t outsz);

/* Monotonic clock in nanoseconds. */
uint64_t xs_now_ns(void);

#endif
