/* fuse_ops.c - low-level FUSE operations over an xs_repo's view.
 *
 * A lookup that finds nothing asks the repo whether a package of the
 * archive provides the path (xs_repo_provide): if so the view has grown
 * and the lookup is answered from it.
 *
 * The view is immutable once a package is applied, so replies carry long
 * entry and attribute timeouts, and negative entries are cached the same
 * way.  Network happens only in lookup (a pending path: its package is
 * fetched, bounded by the repo's fetch timeout); read is a pread on a store
 * object, whose SHA-256 the view checks when it first opens it: a damaged
 * object fails the read with EIO (logged with the file's path), never serves
 * wrong bytes.  open/opendir reply ENOSYS so that the kernel stops sending
 * them (FUSE_CAP_NO_OPEN_SUPPORT / NO_OPENDIR_SUPPORT).
 *
 * Extended attributes, read-only, computed on demand (nothing is stored):
 *   user.xsysroot.status   on the root: xs_repo_status's "key=value" lines
 *                          (what `xsysroot status` prints);
 *   user.xsysroot.package  on every node a package provides: its name,
 *   user.xsysroot.version  and version (known before it is fetched);
 *   user.xsysroot.sha256   on every regular file whose content is known:
 *                          the SHA-256 of that content.  A pending file
 *                          (its package not fetched yet) has none, ENODATA:
 *                          getxattr never goes to the network.  In practice
 *                          every file a program can name was fetched by its
 *                          lookup.  Generated files (ld.so.cache ...) have a
 *                          digest but no package; --bind files have neither.
 * Any other name is ENODATA; a size-0 probe gets the size; a short buffer
 * ERANGE. */
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

#include "xsysroot/identity.h"
#include "xsysroot/util.h"

#define TIMEOUT 86400.0
#define VOLATILE_TIMEOUT 1.0 /* --bind directories and what follows them */
#define MAX_READ (1u << 20)

struct fs {
	struct xs_repo *repo;
	struct xs_view *view;
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

/* Make a pending node ready: fetch its package (bounded). */
static int make_ready(struct fs *fs, struct xs_vattr *a, uint64_t parent, const char *name)
{
	if (!a->pending)
		return 0;
	char err[2048] = "";
	struct xs_repo_pkg p = { 0 };
	xs_repo_pkg(fs->repo, (size_t)a->pkg, &p);
	int r = xs_repo_fetch(fs->repo, (size_t)a->pkg, err, sizeof err);
	if (r < 0) {
		fs_log(fs, XS_LOG_ERR, "lookup of '%s': %s", name, err);
		return -EIO;
	}
	r = parent ? xs_view_lookup(fs->view, parent, name, a) : xs_view_getattr(fs->view, a->ino, a);
	if (r == 0 && a->pending) {
		/* Contents listed it but the package does not ship it */
		fs_log(fs, XS_LOG_WARN, "'%s' is listed for %s %s but not in its .deb", name,
		       p.name, p.version);
		return -ENOENT;
	}
	return r;
}

/* An image view's layers, before anything of the tree is answered. */
static int settle(struct fs *fs)
{
	char err[2048] = "";
	int r = xs_repo_settle(fs->repo, err, sizeof err);
	if (r < 0) {
		fs_log(fs, XS_LOG_ERR, "%s", err);
		return -EIO;
	}
	return 0;
}

static int do_lookup(struct fs *fs, fuse_ino_t parent, const char *name,
		     struct fuse_entry_param *e)
{
	struct xs_vattr a = { 0 };
	memset(e, 0, sizeof *e);
	int q = settle(fs);
	if (q < 0)
		return q;
	if (!strcmp(name, "ld.so.cache"))
		xs_repo_refresh(fs->repo); /* it follows the --bind directories */
	int r = xs_view_lookup(fs->view, parent, name, &a);
	if (r == -ENOENT && xs_repo_provide(fs->repo, parent, name) > 0)
		r = xs_view_lookup(fs->view, parent, name, &a); /* the archive had it */
	if (r == 0)
		r = make_ready(fs, &a, parent, name);
	e->entry_timeout = e->attr_timeout = a.volatile_ ? VOLATILE_TIMEOUT : TIMEOUT;
	if (r == -ENOENT)
		return 0; /* a negative entry, cached by the kernel: ino 0 */
	if (r < 0)
		return r;
	e->ino = a.ino;
	e->generation = 1;
	to_stat(&a, &e->attr);
	return 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int r = do_lookup(fs_of(req), parent, name, &e);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct fs *fs = fs_of(req);
	struct xs_vattr a;
	/* no settle(): every inode but the root's came from a lookup, and the
	 * root's attributes need no layer (a stat of the mount point stays
	 * cheap) */
	int r = xs_view_getattr(fs->view, ino, &a);
	if (r == 0)
		r = make_ready(fs, &a, 0, "(inode)");
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	struct stat st;
	to_stat(&a, &st);
	fuse_reply_attr(req, &st, a.volatile_ ? VOLATILE_TIMEOUT : TIMEOUT);
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

/* Log why the content of ino cannot be read, naming its path and package. */
static void log_read_error(struct fs *fs, fuse_ino_t ino, int err)
{
	char path[XS_MAX_PATH + 1];
	if (xs_view_path(fs->view, ino, path, sizeof path) < 0)
		snprintf(path, sizeof path, "(inode %lu)", (unsigned long)ino);
	char pkg[512] = "";
	struct xs_vattr a;
	struct xs_repo_pkg p = { 0 };
	if (xs_view_getattr(fs->view, ino, &a) == 0 && a.pkg >= 0 &&
	    xs_repo_pkg(fs->repo, (size_t)a.pkg, &p) == 0 && p.name)
		snprintf(pkg, sizeof pkg, " (%s %s)", p.name, p.version ? p.version : "");
	char note[XS_MAX_PATH + 600];
	snprintf(note, sizeof note, "read of '/%s'%s: %s", path, pkg,
		 err == -EBADMSG ? "cached content damaged (quarantined)" : strerror(-err));
	xs_repo_note_error(fs->repo, note);
	if (err == -EBADMSG)
		fs_log(fs, XS_LOG_ERR, "read of '/%s'%s: its cached content does not match its "
		       "SHA-256: moved to quarantine/ (the read fails with EIO; the next mount "
		       "fetches the package again)", path, pkg);
	else if (err == -ENOENT)
		fs_log(fs, XS_LOG_ERR, "read of '/%s'%s: its cached content is missing (the read "
		       "fails with EIO; the next mount fetches the package again)", path, pkg);
	else
		fs_log(fs, XS_LOG_ERR, "read of '/%s'%s: %s", path, pkg, strerror(-err));
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)fi;
	struct fs *fs = fs_of(req);
	int fd = xs_view_fd(fs->view, ino);
	if (fd < 0) {
		if (fd != -EISDIR)
			log_read_error(fs, ino, fd);
		fuse_reply_err(req, fd == -ENOENT || fd == -EBADMSG ? EIO : -fd);
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
	int r = settle(fs_of(req));
	if (r == 0)
		r = xs_view_readdir(fs_of(req)->view, ino, (uint64_t)off, add_dirent, &d);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, d.buf, d.len);
	free(d.buf);
}

/* The value of extended attribute name of ino into b: 0, or -ENODATA. */
static int do_getxattr(struct fs *fs, fuse_ino_t ino, const char *name, struct xs_buf *b)
{
	if (strncmp(name, XS_ID_XATTR_PREFIX, strlen(XS_ID_XATTR_PREFIX)))
		return -ENODATA;
	const char *key = name + strlen(XS_ID_XATTR_PREFIX);
	if (!strcmp(key, XS_ID_KEY_STATUS))
		return ino == FUSE_ROOT_ID ? xs_repo_status(fs->repo, b) : -ENODATA;
	if (!strcmp(key, XS_ID_KEY_SHA256)) {
		char sha[65];
		int r = xs_view_digest(fs->view, ino, sha);
		return r < 0 ? -ENODATA : xs_buf_append(b, sha, 64);
	}
	bool want_pkg = !strcmp(key, XS_ID_KEY_PACKAGE);
	if (!want_pkg && strcmp(key, XS_ID_KEY_VERSION))
		return -ENODATA;
	struct xs_vattr a;
	struct xs_repo_pkg p = { 0 };
	if (xs_view_getattr(fs->view, ino, &a) < 0 || a.pkg < 0 ||
	    xs_repo_pkg(fs->repo, (size_t)a.pkg, &p) < 0)
		return -ENODATA;
	const char *v = want_pkg ? p.name : p.version;
	return xs_buf_append(b, v, strlen(v));
}

/* The names of ino's extended attributes, each NUL-terminated, into b. */
static int do_listxattr(struct fs *fs, fuse_ino_t ino, struct xs_buf *b)
{
	static const char *const keys[] = { XS_ID_KEY_STATUS, XS_ID_KEY_PACKAGE, XS_ID_KEY_VERSION,
					    XS_ID_KEY_SHA256 };
	int r = 0;
	for (size_t i = 0; r == 0 && i < XS_ARRAY_SIZE(keys); i++) {
		char name[64];
		struct xs_buf v;
		xs_buf_init(&v, 1 << 20);
		snprintf(name, sizeof name, XS_ID_XATTR_PREFIX "%s", keys[i]);
		if (do_getxattr(fs, ino, name, &v) == 0)
			r = xs_buf_append(b, name, strlen(name) + 1);
		xs_buf_free(&v);
	}
	return r;
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
	int r = do_getxattr(fs_of(req), ino, name, &b);
	reply_xattr(req, r, &b, size);
	xs_buf_free(&b);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct xs_buf b;
	xs_buf_init(&b, 1 << 16);
	int r = do_listxattr(fs_of(req), ino, &b);
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

int xs_fuse_serve(struct xs_repo *repo, const struct xs_mount_opts *o, char *err,
		  size_t errsz)
{
	struct fs fs = { repo, xs_repo_view(repo), o };
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
	if (fuse_daemonize(o->foreground) != 0) {
		snprintf(err, errsz, "cannot go into the background");
		goto out_unmount;
	}
	if (o->ready)
		o->ready();
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
