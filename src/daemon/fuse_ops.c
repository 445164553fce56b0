/* fuse_ops.c - low-level FUSE operations over an xs_repo's view.
 *
 * Each op decodes its request, makes one core call (lookup.h, which holds
 * the lazy protocol: settle, fetch; or view.h), converts the
 * result and replies exactly once.
 *
 * The view is immutable once a package is applied, so replies carry long
 * entry and attribute timeouts, and negative entries are cached the same
 * way (short ones for --bind directories and what follows them).  Network
 * happens only in lookup/getattr (lookup.h); read is a pread on the store
 * fd that xs_lookup_fd gives.  open/opendir reply ENOSYS so that the
 * kernel stops sending them (FUSE_CAP_NO_OPEN_SUPPORT /
 * NO_OPENDIR_SUPPORT).  Extended attributes are lookup.h's; a size-0
 * probe gets the size, a short buffer ERANGE. */
#define FUSE_USE_VERSION 314
#include "fuse_ops.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "xsysroot/lookup.h"
#include "xsysroot/identity.h"
#include "xsysroot/util.h"

#define TIMEOUT 86400.0
#define VOLATILE_TIMEOUT 1.0 /* --bind directories and what follows them */
#define MAX_READ (1u << 20)

struct fs {
	struct xs_repo *repo;
	struct xs_view *view;
	struct xs_lookup lk; /* FETCH mode over repo */
	const struct xs_mount_opts *o;
};

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void fs_log(struct fs *fs, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fs_log(struct fs *fs, int level, const char *fmt, ...)
{
	if (level >= XS_LOG_DEBUG && !fs->o->debug)
		return;
	va_list ap;
	va_start(ap, fmt);
	xs_vlogf(fs->o->log, fs->o->log_ud, level, fmt, ap);
	va_end(ap);
}

static double timeout_of(const struct xs_vattr *a)
{
	return a->volatile_ ? VOLATILE_TIMEOUT : TIMEOUT;
}

static void to_stat(const struct xs_vattr *a, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_rdev = (dev_t)a->rdev;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = a->mtime;
}

/* The entry of a lookup's answer: found, or a negative entry (ino 0) that
 * the kernel caches. */
static void to_entry(const struct xs_vattr *a, bool found, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof *e);
	e->entry_timeout = e->attr_timeout = timeout_of(a);
	if (!found)
		return;
	e->ino = a->ino;
	e->generation = 1;
	to_stat(a, &e->attr);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct xs_vattr a;
	struct fuse_entry_param e;
	int r = xs_lookup_entry(&fs_of(req)->lk, parent, name, &a);
	if (r < 0 && r != -ENOENT) {
		fuse_reply_err(req, -r);
		return;
	}
	to_entry(&a, r == 0, &e);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct xs_vattr a;
	struct stat st;
	int r = xs_lookup_getattr(&fs_of(req)->lk, ino, &a);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	to_stat(&a, &st);
	fuse_reply_attr(req, &st, timeout_of(&a));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[XS_MAX_PATH + 1];
	ssize_t r = xs_view_readlink(fs_of(req)->view, ino, buf, sizeof buf);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_readlink(req, buf);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	/* ENOSYS: the kernel stops sending OPEN (no-open support) */
	fuse_reply_err(req, ENOSYS);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)fi;
	int fd = xs_lookup_fd(&fs_of(req)->lk, ino);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	if (size > MAX_READ)
		size = MAX_READ;
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ssize_t n;
	do
		n = pread(fd, buf, size, off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, ENOSYS);
}

struct dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size, len;
};

static int add_dirent(const char *name, uint64_t ino, uint32_t mode, uint64_t next, void *ud)
{
	struct dirbuf *d = ud;
	struct stat st = { 0 };
	st.st_ino = ino;
	st.st_mode = mode;
	size_t need = fuse_add_direntry(d->req, NULL, 0, name, NULL, 0);
	if (d->len + need > d->size)
		return 1;
	fuse_add_direntry(d->req, d->buf + d->len, d->size - d->len, name, &st, (off_t)next);
	d->len += need;
	return 0;
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	struct dirbuf d = { req, malloc(size ? size : 1), size, 0 };
	if (!d.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int r = xs_lookup_readdir(&fs_of(req)->lk, ino, (uint64_t)off, add_dirent, &d);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, d.buf, d.len);
	free(d.buf);
}

/* Reply once to a getxattr/listxattr: the size for a probe, ERANGE when
 * the caller's buffer is too small, else the bytes. */
static void reply_xattr(fuse_req_t req, int r, const struct xs_buf *b, size_t size)
{
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (size == 0)
		fuse_reply_xattr(req, b->len);
	else if (b->len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, b->data ? b->data : "", b->len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct xs_buf b;
	xs_buf_init(&b, 1 << 20);
	int r = xs_lookup_getxattr(&fs_of(req)->lk, ino, name, &b);
	reply_xattr(req, r, &b, size);
	xs_buf_free(&b);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct xs_buf b;
	xs_buf_init(&b, 1 << 16);
	int r = xs_lookup_listxattr(&fs_of(req)->lk, ino, &b);
	reply_xattr(req, r, &b, size);
	xs_buf_free(&b);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct xs_view_stats vs;
	xs_view_stats(fs_of(req)->view, &vs);
	struct statvfs st = { 0 };
	st.f_bsize = 4096;
	st.f_frsize = 4096;
	st.f_files = vs.nodes;
	st.f_namemax = 255;
	st.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
	fuse_reply_statfs(req, &st);
}

static void op_init(void *ud, struct fuse_conn_info *conn)
{
	struct fs *fs = ud;
	xs_repo_start(fs->repo); /* in the daemon, after the fork */
	/* read-only and immutable: let the kernel cache everything */
	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want |= FUSE_CAP_EXPORT_SUPPORT;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want &= ~(unsigned)FUSE_CAP_SPLICE_WRITE;
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.open = op_open,
	.read = op_read,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.statfs = op_statfs,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
};

int xs_fuse_serve(struct xs_repo *repo, const struct xs_mount_opts *o, int ready_fd, char *err,
		  size_t errsz)
{
	struct fs fs = { .repo = repo, .view = xs_repo_view(repo), .o = o };
	xs_lookup_init_repo(&fs.lk, repo, XS_LOOKUP_FETCH, o->log, o->log_ud);
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	char opts[4096];
	snprintf(opts, sizeof opts,
		 "ro,nosuid,nodev,default_permissions,auto_unmount,fsname=" XS_ID_FSNAME_PREFIX
		 "%s,subtype=" XS_ID_SUBTYPE "%s%s%s",
		 xs_repo_arch(repo)->deb, geteuid() == 0 ? ",allow_other" : "",
		 o->fuse_opts ? "," : "", o->fuse_opts ? o->fuse_opts : "");
	int r = -EINVAL;
	if (fuse_opt_add_arg(&args, "xsysroot") || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, opts) || (o->debug && fuse_opt_add_arg(&args, "-d"))) {
		snprintf(err, errsz, "out of memory");
		fuse_opt_free_args(&args);
		return -ENOMEM;
	}
	struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, &fs);
	if (!se) {
		snprintf(err, errsz, "cannot start a FUSE session with options '%s'", opts);
		goto out_args;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		snprintf(err, errsz, "cannot install signal handlers");
		goto out_session;
	}
	if (fuse_session_mount(se, o->mountpoint) != 0) {
		snprintf(err, errsz, "cannot mount on %s (see the message above)", o->mountpoint);
		goto out_signals;
	}
	if (o->mounted)
		o->mounted(o->mounted_ud);
	if (fuse_daemonize(o->foreground) != 0) {
		snprintf(err, errsz, "cannot go into the background");
		goto out_unmount;
	}
	if (o->ready)
		o->ready();
	if (ready_fd >= 0) {
		xs_write_all(ready_fd, "", 1);
		close(ready_fd);
	}
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(cfg, (unsigned)(o->max_threads > 0 ? o->max_threads : 64));
	fuse_loop_cfg_set_idle_threads(cfg, 8);
	fs_log(&fs, XS_LOG_INFO, "serving %s on %s", xs_repo_describe(repo), o->mountpoint);
	r = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	if (r != 0) {
		snprintf(err, errsz, "the FUSE session on %s ended with an error: %s", o->mountpoint,
			 strerror(r < 0 ? -r : r));
		r = r < 0 ? r : -r;
	}
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_args:
	fuse_opt_free_args(&args);
	return r;
}
