/* util.c - see include/xsysroot/util.h */
#include "xsysroot/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void xs_buf_init(struct xs_buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

static int buf_reserve(struct xs_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return -E2BIG;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

int xs_buf_append(struct xs_buf *b, const void *p, size_t n)
{
	int r = buf_reserve(b, n);
	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int xs_buf_printf(struct xs_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	int r = buf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void xs_buf_free(struct xs_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *xs_buf_steal(struct xs_buf *b, size_t *len)
{
	if (!b->data && xs_buf_append(b, "", 0) < 0)
		return NULL;
	char *d = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

int xs_read_fd(int fd, size_t max, struct xs_buf *out)
{
	xs_buf_init(out, max);
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			xs_buf_free(out);
			return e;
		}
		if (n == 0)
			break;
		int r = xs_buf_append(out, tmp, (size_t)n);
		if (r < 0) {
			xs_buf_free(out);
			return r;
		}
	}
	if (!out->data)
		return xs_buf_append(out, "", 0);
	return 0;
}

int xs_read_file(const char *path, size_t max, struct xs_buf *out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		xs_buf_init(out, max);
		return -errno;
	}
	return xs_read_fd(fd, max, out);
}

int xs_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int xs_write_file_atomic(const char *path, const void *p, size_t n, mode_t mode)
{
	size_t len = strlen(path);
	_cleanup_free_ char *tmp = xs_xmalloc(len + 32);
	static unsigned long seq;
	snprintf(tmp, len + 32, "%s.tmp.%ld.%lu", path, (long)getpid(),
		 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	int r = xs_write_all(fd, p, n);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int xs_mkdir_p(const char *path, mode_t mode)
{
	char buf[XS_MAX_PATH + 1];
	size_t n = strlen(path);
	if (n == 0 || n > XS_MAX_PATH)
		return -EINVAL;
	memcpy(buf, path, n + 1);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (stat(buf, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int rm_rf_at(int dfd, const char *name)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int q = rm_rf_at(dirfd(d), de->d_name);
		if (q < 0 && r == 0)
			r = q;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

int xs_rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

int xs_sha256_init(struct xs_sha256 *h)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		return -ENOMEM;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return -EIO;
	}
	h->ctx = c;
	return 0;
}

int xs_sha256_update(struct xs_sha256 *h, const void *p, size_t n)
{
	return EVP_DigestUpdate(h->ctx, p, n) == 1 ? 0 : -EIO;
}

int xs_sha256_final(struct xs_sha256 *h, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ok = EVP_DigestFinal_ex(h->ctx, md, &n) == 1 && n == 32;
	xs_sha256_free(h);
	if (!ok)
		return -EIO;
	static const char digits[] = "0123456789abcdef";
	for (unsigned i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = 0;
	return 0;
}

void xs_sha256_free(struct xs_sha256 *h)
{
	if (h->ctx)
		EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int xs_sha256_buf(const void *p, size_t n, char hex[65])
{
	struct xs_sha256 h;
	int r = xs_sha256_init(&h);
	if (r < 0)
		return r;
	r = xs_sha256_update(&h, p, n);
	if (r < 0) {
		xs_sha256_free(&h);
		return r;
	}
	return xs_sha256_final(&h, hex);
}

int xs_sha256_fd(int fd, char hex[65], uint64_t *size)
{
	struct xs_sha256 h;
	int r = xs_sha256_init(&h);
	if (r < 0)
		return r;
	char buf[1 << 16];
	uint64_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			xs_sha256_free(&h);
			return r;
		}
		if (n == 0)
			break;
		r = xs_sha256_update(&h, buf, (size_t)n);
		if (r < 0) {
			xs_sha256_free(&h);
			return r;
		}
		off += (uint64_t)n;
	}
	if (size)
		*size = off;
	return xs_sha256_final(&h, hex);
}

bool xs_is_sha256_hex(const char *s)
{
	size_t i;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == 0;
}

static int normalize(const char *in, char *out, size_t outsz, bool clamp)
{
	size_t o = 0;
	unsigned depth = 0;
	const char *p = in;
	if (outsz < 1)
		return -EINVAL;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		if (n == 1 && s[0] == '.')
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (depth == 0 && clamp)
				continue; /* ".." of the root is the root */
			if (depth == 0)
				return -EINVAL;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			depth--;
			continue;
		}
		if (++depth > XS_MAX_DEPTH)
			return -EINVAL;
		size_t need = o + (o ? 1 : 0) + n;
		if (need > XS_MAX_PATH || need + 1 > outsz)
			return -EINVAL;
		if (o)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = 0;
	return 0;
}

int xs_path_normalize(const char *in, char *out, size_t outsz)
{
	return normalize(in, out, outsz, false);
}

int xs_path_normalize_at_root(const char *in, char *out, size_t outsz)
{
	return normalize(in, out, outsz, true);
}

char *xs_strdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

char *xs_strndup(const char *s, size_t n)
{
	char *d = strndup(s, n);
	if (!d)
		abort();
	return d;
}

void *xs_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *xs_xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		abort();
	return p;
}

void *xs_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

void xs_grow(void *arr, size_t *cap, size_t want, size_t el)
{
	void **a = arr;
	if (want <= *cap)
		return;
	size_t c = *cap ? *cap : 8;
	while (c < want)
		c *= 2;
	*a = xs_xrealloc(*a, c * el);
	*cap = c;
}

char **xs_strv_split(const char *s)
{
	size_t n = 0, cap = 0;
	char **v = NULL;
	const char *p = s ? s : "";
	while (*p) {
		while (*p == ',' || *p == ' ')
			p++;
		const char *b = p;
		while (*p && *p != ',' && *p != ' ')
			p++;
		if (p > b) {
			xs_grow(&v, &cap, n + 2, sizeof *v);
			v[n++] = xs_strndup(b, (size_t)(p - b));
		}
	}
	xs_grow(&v, &cap, n + 1, sizeof *v);
	v[n] = NULL;
	return v;
}

void xs_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

bool xs_strv_has(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

int xs_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint64_t xs_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

int xs_parse_size(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	unsigned shift = 0;
	if ((*p == 'B' || *p == 'b') && !p[1]) {
		p++; /* bytes */
	} else if (*p) {
		switch (*p) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return -EINVAL;
		}
		p++;
		if ((*p == 'i' || *p == 'I') && (p[1] == 'B' || p[1] == 'b'))
			p += 2;
		else if (*p == 'B' || *p == 'b')
			p++;
	}
	if (*p)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

const char *xs_fmt_size(uint64_t b, char *out, size_t outsz)
{
	if (b < 1000)
		snprintf(out, outsz, "%llu B", (unsigned long long)b);
	else if (b < 1000000)
		snprintf(out, outsz, "%.1f kB", b / 1e3);
	else if (b < 1000000000ull)
		snprintf(out, outsz, "%.1f MB", b / 1e6);
	else
		snprintf(out, outsz, "%.2f GB", b / 1e9);
	return out;
}

uint64_t xs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int xs_xdg_path(const char *var, const char *home_sub, const char *leaf, char *out,
		size_t outsz)
{
	const char *x = getenv(var), *h = getenv("HOME");
	int n;
	if (x && *x == '/')
		n = snprintf(out, outsz, "%s/%s", x, leaf);
	else if (h && *h == '/')
		n = snprintf(out, outsz, "%s/%s/%s", h, home_sub, leaf);
	else
		return -ENOENT;
	return n > 0 && (size_t)n < outsz ? 0 : -ENAMETOOLONG;
}

void xs_vlogf(xs_log_fn fn, void *ud, int level, const char *fmt, va_list ap)
{
	if (!fn)
		return;
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);
	fn(level, msg, ud);
}

void xs_logf(xs_log_fn fn, void *ud, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	xs_vlogf(fn, ud, level, fmt, ap);
	va_end(ap);
}

int xs_bad_input(char *err, size_t errsz, const char *fmt, ...)
{
	if (err && errsz) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}
