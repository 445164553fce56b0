/* store.c - see include/xsysroot/store.h.
 *
 * Transactions are named temp files in tmp/ ("txn.XXXXXX"), each held under
 * an flock() for its whole life: xs_store_open purges only the temp files
 * nobody holds, so a second process opening the same cache does not destroy
 * the transactions of the first.  Commit renames the temp file into
 * objects/sha256/xx/rest with RENAME_NOREPLACE (an object that is already
 * present wins; the content is the same by construction).
 *
 * Quarantine: at most QUARANTINE_MAX files, named "<ns-timestamp>-<digest>"
 * so that the oldest sort first; older ones are deleted.  A failed
 * transaction is named by the digest it had, a damaged object
 * (xs_store_quarantine_object) by the digest it should have had.
 */
#include "xsysroot/cachefiles.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QUARANTINE_MAX 16
#define TXN_NAME_MAX 32

struct xs_store {
	char *dir;
	int dfd;      /* the cache directory */
	int objfd;    /* objects/sha256 */
	int tmpfd;    /* tmp */
	int quarfd;   /* quarantine */
	int metafd;   /* meta */
	/* Serialises insertion and trimming in quarantine/ (within a process;
	 * across processes the bound is best effort). */
	pthread_mutex_t quar_lock;
};

struct xs_txn {
	struct xs_store *s;
	int fd;
	char name[TXN_NAME_MAX];  /* in tmp/ */
	uint64_t size, max_size;
	struct xs_sha256 h;
	int err;                  /* sticky error of a failed write */
	bool defer_sync;          /* durability left to a later xs_store_sync */
};

static int open_subdir(int dfd, const char *name)
{
	if (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Remove the temp files of tmp/ that no live transaction holds. */
static void purge_tmp(struct xs_store *s)
{
	int tmpfd = s->tmpfd;
	int fd = dup(tmpfd);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	rewinddir(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int f = openat(tmpfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (f < 0) {
			/* a symlink, a directory or something stranger: not ours */
			if (errno == ELOOP || errno == ENXIO)
				unlinkat(tmpfd, de->d_name, 0);
			continue;
		}
		struct stat st;
		if (fstat(f, &st) == 0 && S_ISDIR(st.st_mode)) {
			close(f);
			char *path = xs_xmalloc(strlen(s->dir) + strlen(de->d_name) + 8);
			sprintf(path, "%s/tmp/%s", s->dir, de->d_name);
			xs_rm_rf(path);
			free(path);
			continue;
		}
		if (flock(f, LOCK_EX | LOCK_NB) == 0)
			unlinkat(tmpfd, de->d_name, 0);
		close(f);
	}
	closedir(d);
}

int xs_store_open(const char *cachedir, struct xs_store **out)
{
	*out = NULL;
	int r = xs_mkdir_p(cachedir, 0755);
	if (r < 0)
		return r;
	struct xs_store *s = xs_xcalloc(1, sizeof *s);
	s->dfd = s->objfd = s->tmpfd = s->quarfd = s->metafd = -1;
	s->dir = xs_strdup(cachedir);
	pthread_mutex_init(&s->quar_lock, NULL);
	s->dfd = open(cachedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dfd < 0) {
		r = -errno;
		goto fail;
	}
	int objs = open_subdir(s->dfd, "objects");
	if (objs < 0) {
		r = objs;
		goto fail;
	}
	s->objfd = open_subdir(objs, "sha256");
	close(objs);
	if (s->objfd < 0) {
		r = s->objfd;
		goto fail;
	}
	if ((s->tmpfd = open_subdir(s->dfd, "tmp")) < 0) {
		r = s->tmpfd;
		goto fail;
	}
	if ((s->quarfd = open_subdir(s->dfd, "quarantine")) < 0) {
		r = s->quarfd;
		goto fail;
	}
	if ((s->metafd = open_subdir(s->dfd, "meta")) < 0) {
		r = s->metafd;
		goto fail;
	}
	purge_tmp(s);
	*out = s;
	return 0;
fail:
	xs_store_close(s);
	return r;
}

void xs_store_close(struct xs_store *s)
{
	if (!s)
		return;
	int *fds[] = { &s->dfd, &s->objfd, &s->tmpfd, &s->quarfd, &s->metafd };
	for (size_t i = 0; i < XS_ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	pthread_mutex_destroy(&s->quar_lock);
	free(s->dir);
	free(s);
}

const char *xs_store_dir(const struct xs_store *s)
{
	return s->dir;
}

/* ---- transactions ------------------------------------------------------ */

int xs_txn_begin(struct xs_store *s, uint64_t max_size, struct xs_txn **out)
{
	*out = NULL;
	struct xs_txn *t = xs_xcalloc(1, sizeof *t);
	t->s = s;
	t->fd = -1;
	t->max_size = max_size;
	int r;
	for (int tries = 0;; tries++) {
		/* a random name created with O_EXCL, relative to tmp/ */
		unsigned char rnd[6];
		static const char set[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
		if (getentropy(rnd, sizeof rnd) < 0) {
			r = -errno;
			goto fail;
		}
		memcpy(t->name, "txn.", 4);
		for (size_t i = 0; i < sizeof rnd; i++)
			t->name[4 + i] = set[rnd[i] % (sizeof set - 1)];
		t->name[4 + sizeof rnd] = 0;
		t->fd = openat(s->tmpfd, t->name,
			       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (t->fd < 0) {
			if (errno == EEXIST && tries < 100)
				continue;
			r = -errno;
			goto fail;
		}
		if (flock(t->fd, LOCK_EX) < 0) {
			r = -errno;
			unlinkat(s->tmpfd, t->name, 0);
			goto fail;
		}
		/* A concurrent purge may have removed the name between the
		 * create and the lock: then start again. */
		struct stat st;
		if (fstat(t->fd, &st) < 0) {
			r = -errno;
			unlinkat(s->tmpfd, t->name, 0);
			goto fail;
		}
		if (st.st_nlink > 0)
			break;
		close(t->fd);
		t->fd = -1;
		if (tries >= 100) {
			r = -EAGAIN;
			goto fail;
		}
	}
	r = xs_sha256_init(&t->h);
	if (r < 0) {
		unlinkat(s->tmpfd, t->name, 0);
		goto fail;
	}
	*out = t;
	return 0;
fail:
	if (t->fd >= 0)
		close(t->fd);
	free(t);
	return r;
}

int xs_txn_write(struct xs_txn *t, const void *p, size_t n)
{
	if (t->err)
		return t->err;
	if (n > t->max_size || t->size > t->max_size - n) {
		t->err = -EFBIG;
		return t->err;
	}
	int r = xs_write_all(t->fd, p, n);
	if (r < 0) {
		/* Give the space back at once (ENOSPC); the transaction can
		 * only be reset or abandoned now. */
		(void)ftruncate(t->fd, 0);
		t->err = r;
		return r;
	}
	xs_sha256_update(&t->h, p, n);
	t->size += n;
	return 0;
}

uint64_t xs_txn_size(const struct xs_txn *t)
{
	return t->size;
}

int xs_txn_reset(struct xs_txn *t)
{
	if (ftruncate(t->fd, 0) < 0 || lseek(t->fd, 0, SEEK_SET) < 0)
		return -errno;
	xs_sha256_free(&t->h);
	int r = xs_sha256_init(&t->h);
	if (r < 0) {
		t->err = r;
		return r;
	}
	t->size = 0;
	t->err = 0;
	return 0;
}

static void txn_free(struct xs_txn *t, bool unlink_temp)
{
	if (unlink_temp)
		unlinkat(t->s->tmpfd, t->name, 0);
	if (t->fd >= 0)
		close(t->fd);
	xs_sha256_free(&t->h);
	free(t);
}

void xs_txn_abort(struct xs_txn *t)
{
	if (t)
		txn_free(t, true);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keep at most QUARANTINE_MAX entries: delete the oldest by name. */
static void quarantine_trim(int qfd)
{
	int fd = dup(qfd);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	rewinddir(d);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		/* a hostile amount of entries cannot appear here: we add one
		 * at a time and trim each time; still, stop at a bound */
		if (n >= 4096)
			break;
		xs_grow(&names, &cap, n + 1, sizeof *names);
		names[n++] = xs_strdup(de->d_name);
	}
	closedir(d);
	if (n > QUARANTINE_MAX) {
		qsort(names, n, sizeof *names, cmp_names);
		for (size_t i = 0; i < n - QUARANTINE_MAX; i++)
			unlinkat(qfd, names[i], 0);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Move dirfd/name into quarantine/ under a name made from digest (deleted
 * when the rename fails: it must not stay where it would be served). */
static int quarantine_move(struct xs_store *s, int dirfd, const char *name, const char *digest)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char qname[128];
	int r = 0;
	pthread_mutex_lock(&s->quar_lock);
	snprintf(qname, sizeof qname, "%020llu-%s",
		 (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec,
		 digest);
	if (renameat(dirfd, name, s->quarfd, qname) < 0) {
		r = -errno;
		if (unlinkat(dirfd, name, 0) == 0)
			r = 0;
	}
	quarantine_trim(s->quarfd);
	pthread_mutex_unlock(&s->quar_lock);
	return r;
}

static void quarantine(struct xs_txn *t, const char *digest)
{
	(void)fchmod(t->fd, 0444);
	quarantine_move(t->s, t->s->tmpfd, t->name, digest);
}

static int object_rel(const char *sha256, char out[67])
{
	if (!xs_is_sha256_hex(sha256))
		return -EINVAL;
	out[0] = sha256[0];
	out[1] = sha256[1];
	out[2] = '/';
	memcpy(out + 3, sha256 + 2, 62);
	out[65] = 0;
	return 0;
}

/* Does the published object at rel (under objects/sha256) still hold the
 * bytes its name promises?  Checked only when a second copy arrives, so a
 * damaged object is replaced instead of kept. */
static bool object_intact(struct xs_store *s, const char *rel, const char *digest)
{
	int fd = openat(s->objfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	char have[65];
	int r = xs_sha256_fd(fd, have, NULL);
	close(fd);
	return r == 0 && strcmp(have, digest) == 0;
}

int xs_txn_commit(struct xs_txn *t, const char *expect_sha256, uint64_t expect_size,
		  char out_sha256[65])
{
	char digest[65];
	int r;
	if (t->err) {
		r = t->err;
		txn_free(t, true);
		return r;
	}
	if (expect_sha256 && !xs_is_sha256_hex(expect_sha256)) {
		txn_free(t, true);
		return -EINVAL;
	}
	r = xs_sha256_final(&t->h, digest);
	if (r < 0) {
		txn_free(t, true);
		return r;
	}
	if (out_sha256)
		memcpy(out_sha256, digest, 65);
	if ((expect_sha256 && strcmp(expect_sha256, digest) != 0) ||
	    (expect_size != UINT64_MAX && expect_size != t->size)) {
		quarantine(t, digest);
		txn_free(t, false);
		return -EBADMSG;
	}

	char rel[67];
	object_rel(digest, rel);
	struct stat st;
	bool replace = false;
	if (fstatat(t->s->objfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size == t->size && object_intact(t->s, rel, digest)) {
			/* Already published: the temp file is redundant. */
			txn_free(t, true);
			return 0;
		}
		/* an object a crash left short or unwritten: this copy replaces it */
		replace = true;
	}
	if (fchmod(t->fd, 0444) < 0 || (!t->defer_sync && fsync(t->fd) < 0)) {
		r = -errno;
		txn_free(t, true);
		return r;
	}
	rel[2] = 0;
	if (mkdirat(t->s->objfd, rel, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		txn_free(t, true);
		return r;
	}
	rel[2] = '/';
	r = replace ? renameat(t->s->tmpfd, t->name, t->s->objfd, rel)
		    : renameat2(t->s->tmpfd, t->name, t->s->objfd, rel, RENAME_NOREPLACE);
	if (r < 0 && !replace && (errno == EINVAL || errno == ENOSYS))
		r = renameat(t->s->tmpfd, t->name, t->s->objfd, rel);
	if (r < 0) {
		r = errno == EEXIST ? 0 : -errno;
		txn_free(t, true);
		return r;
	}
	txn_free(t, false);
	return 0;
}

void xs_txn_defer_sync(struct xs_txn *t)
{
	t->defer_sync = true;
}

int xs_store_sync(struct xs_store *s)
{
	return syncfs(s->dfd) < 0 ? -errno : 0;
}

/* ---- objects ----------------------------------------------------------- */

int xs_store_open_object(struct xs_store *s, const char *sha256)
{
	char rel[67];
	int r = object_rel(sha256, rel);
	if (r < 0)
		return r;
	int fd = openat(s->objfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int xs_store_quarantine_object(struct xs_store *s, const char *sha256, int fd)
{
	char rel[67];
	int r = object_rel(sha256, rel);
	if (r < 0)
		return r;
	struct stat a, b;
	if (fstat(fd, &a) < 0)
		return -errno;
	if (fstatat(s->objfd, rel, &b, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno; /* already gone */
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return 0; /* replaced meanwhile (by a good copy): keep that one */
	return quarantine_move(s, s->objfd, rel, sha256);
}

bool xs_store_has_object(struct xs_store *s, const char *sha256)
{
	char rel[67];
	struct stat st;
	if (object_rel(sha256, rel) < 0)
		return false;
	return fstatat(s->objfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int xs_store_object_path(struct xs_store *s, const char *sha256, char *out, size_t outsz)
{
	char rel[67];
	int r = object_rel(sha256, rel);
	if (r < 0)
		return r;
	int n = snprintf(out, outsz, "%s/objects/sha256/%s", s->dir, rel);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

/* ---- meta ---------------------------------------------------------------- */

/* A flat name: no '/', not starting with '.' (temp files and "..") */
static int meta_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 200 || name[0] == '.' || strchr(name, '/'))
		return -EINVAL;
	return 0;
}

int xs_store_meta_tmp(struct xs_store *s, const char *name, char tmp[XS_META_TMP_MAX],
		      char *path, size_t pathsz)
{
	int r = meta_name_ok(name);
	if (r < 0)
		return r;
	int fd = -1;
	for (int tries = 0; fd < 0; tries++) {
		unsigned char rnd[6];
		if (getentropy(rnd, sizeof rnd) < 0)
			return -errno;
		xs_cf_build_temp(name, rnd, tmp, XS_META_TMP_MAX);
		fd = openat(s->metafd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 && (errno != EEXIST || tries >= 100))
			return -errno;
	}
	if (path) {
		int n = snprintf(path, pathsz, "%s/meta/%s", s->dir, tmp);
		if (n < 0 || (size_t)n >= pathsz) {
			close(fd);
			unlinkat(s->metafd, tmp, 0);
			return -ENAMETOOLONG;
		}
	}
	return fd;
}

int xs_store_meta_commit(struct xs_store *s, int fd, const char *tmp, const char *name)
{
	int r = meta_name_ok(name);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(s->metafd, tmp, s->metafd, name) < 0)
		r = -errno;
	return r;
}

void xs_store_meta_discard(struct xs_store *s, const char *tmp)
{
	if (tmp[0] == '.' && !strchr(tmp, '/'))
		unlinkat(s->metafd, tmp, 0);
}

int xs_store_meta_lock(struct xs_store *s, const char *name)
{
	int r = meta_name_ok(name);
	if (r < 0)
		return r;
	for (;;) {
		int fd = openat(s->metafd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		struct stat st;
		while ((r = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
			;
		if (r == 0 && fstat(fd, &st) < 0)
			r = -1;
		if (r < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		if (st.st_nlink > 0)
			return fd;
		close(fd); /* removed (gc) while we waited: lock the new one */
	}
}

int xs_store_meta_write(struct xs_store *s, const char *name, const void *p, size_t n)
{
	char tmp[XS_META_TMP_MAX];
	int fd = xs_store_meta_tmp(s, name, tmp, NULL, 0);
	if (fd < 0)
		return fd;
	int r = xs_write_all(fd, p, n);
	if (r == 0)
		r = xs_store_meta_commit(s, fd, tmp, name);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		xs_store_meta_discard(s, tmp);
	return r;
}

int xs_store_meta_read(struct xs_store *s, const char *name, size_t max, char **data,
		       size_t *len)
{
	*data = NULL;
	if (len)
		*len = 0;
	int r = meta_name_ok(name);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = openat(s->metafd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -E2BIG;
	struct xs_buf b;
	r = xs_read_fd(fd, max, &b);
	if (r < 0)
		return r;
	*data = xs_buf_steal(&b, len);
	return *data ? 0 : -ENOMEM;
}

int xs_store_meta_path(struct xs_store *s, const char *name, char *out, size_t outsz)
{
	int r = meta_name_ok(name);
	if (r < 0)
		return r;
	int n = snprintf(out, outsz, "%s/meta/%s", s->dir, name);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}
