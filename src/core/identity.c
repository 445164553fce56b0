/* identity.c - see include/xsysroot/identity.h. */
#include "xsysroot/identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "xsysroot/util.h"

int xs_id_fsname(const char *arch, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, XS_ID_FSNAME_PREFIX "%s", arch);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

const char *xs_id_fsname_arch(const char *source)
{
	size_t n = strlen(XS_ID_FSNAME_PREFIX);
	return strncmp(source, XS_ID_FSNAME_PREFIX, n) ? NULL : source + n;
}

const char *xs_id_status_field(const char *text, const char *key, size_t *len)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			*len = n - kl - 1;
			return p + kl + 1;
		}
		p = e ? e + 1 : NULL;
	}
	return NULL;
}

int xs_id_read_status(const char *mp, char **out)
{
	for (int tries = 0; tries < 3; tries++) {
		ssize_t n = getxattr(mp, XS_ID_XATTR_STATUS, NULL, 0);
		if (n < 0)
			return -errno;
		if ((size_t)n > XS_ID_MAX_STATUS)
			return -E2BIG;
		char *buf = xs_xmalloc((size_t)n + 1);
		ssize_t m = getxattr(mp, XS_ID_XATTR_STATUS, buf, (size_t)n);
		if (m >= 0) {
			buf[m] = 0;
			*out = buf;
			return 0;
		}
		int e = errno;
		free(buf);
		if (e != ERANGE) /* ERANGE: grew between the calls, again */
			return -e;
	}
	return -ERANGE;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int xs_id_view_digest(const char *const *hex, size_t n, char out[65])
{
	for (size_t i = 0; i < n; i++)
		if (!xs_is_sha256_hex(hex[i]))
			return -EINVAL;
	const char **sorted = xs_xcalloc(n + 1, sizeof *sorted);
	if (n)
		memcpy(sorted, hex, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, cmp_str);
	struct xs_sha256 h;
	int q = xs_sha256_init(&h);
	for (size_t i = 0; q == 0 && i < n; i++) {
		if (i > 0 && !strcmp(sorted[i], sorted[i - 1]))
			continue;
		q = xs_sha256_update(&h, sorted[i], 64);
		if (q == 0)
			q = xs_sha256_update(&h, "\n", 1);
	}
	if (q == 0)
		q = xs_sha256_final(&h, out);
	xs_sha256_free(&h); /* after final: a no-op */
	free(sorted);
	return q;
}
