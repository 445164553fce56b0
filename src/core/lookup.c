/* lookup.c - the lazy protocol of a view (lookup.h): settle, refresh,
 * fetch, around the view's own lookups. */
#include "xsysroot/lookup.h"
#include "xsysroot/identity.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define ROOT_INO 1 /* the view's root (view.h) */
#define ERR_MAX 2048

void xs_lookup_init(struct xs_lookup *lk, struct xs_view *v, const struct xs_lookup_ops *ops,
		    void *ud, enum xs_lookup_mode mode, xs_log_fn log, void *log_ud)
{
	*lk = (struct xs_lookup){
		.view = v, .ops = ops, .ud = ud, .mode = mode, .log = log, .log_ud = log_ud,
	};
}

/* ---- the messages -------------------------------------------------------- */

/* "/PATH" of name in directory dir, or of node dir itself when name is
 * NULL, for a message; what is known when the view cannot name it (a
 * --bind directory's node). */
static void where(const struct xs_lookup *lk, uint64_t dir, const char *name, char *out,
		  size_t outsz)
{
	char path[XS_MAX_PATH + 1];
	if (xs_view_path(lk->view, dir, path, sizeof path) < 0) {
		if (name)
			snprintf(out, outsz, "%s", name);
		else
			snprintf(out, outsz, "(inode %llu)", (unsigned long long)dir);
		return;
	}
	snprintf(out, outsz, "/%s%s%s", path, name && *path ? "/" : "", name ? name : "");
}

/* "NAME VERSION" of package pkg, or "" when there is none. */
static void pkg_label(const struct xs_lookup *lk, int pkg, char *out, size_t outsz)
{
	struct xs_repo_pkg p = { 0 };
	out[0] = 0;
	if (pkg >= 0 && lk->ops->pkg(lk->ud, pkg, &p) == 0 && p.name)
		snprintf(out, outsz, "%s %s", p.name, p.version ? p.version : "");
}

/* ---- the protocol -------------------------------------------------------- */

/* The view's tree, before anything of it is answered (FETCH mode). */
static int settle(const struct xs_lookup *lk)
{
	if (lk->mode == XS_LOOKUP_PEEK)
		return 0;
	char err[ERR_MAX] = "";
	int r = lk->ops->settle(lk->ud, err, sizeof err);
	if (r >= 0)
		return 0;
	if (!*err)
		snprintf(err, sizeof err, "cannot fill the view: %s", strerror(-r));
	xs_logf(lk->log, lk->log_ud, XS_LOG_ERR, "%s", err);
	lk->ops->note_error(lk->ud, err);
	return -EIO;
}

/* Make a pending node ready (FETCH mode): fetch its package, then look it
 * up again, as name in dir, or as node a->ino when name is NULL. */
static int make_ready(const struct xs_lookup *lk, uint64_t dir, const char *name,
		      struct xs_vattr *a)
{
	if (!a->pending || lk->mode == XS_LOOKUP_PEEK)
		return 0;
	int pkg = a->pkg;
	char err[ERR_MAX] = "", path[XS_MAX_PATH + 64];
	int r = lk->ops->fetch(lk->ud, pkg, err, sizeof err);
	if (r < 0) {
		where(lk, name ? dir : a->ino, name, path, sizeof path);
		xs_logf(lk->log, lk->log_ud, XS_LOG_ERR, "lookup of '%s': %s", path,
			*err ? err : strerror(-r));
		return -EIO;
	}
	r = name ? xs_view_lookup(lk->view, dir, name, a) : xs_view_getattr(lk->view, a->ino, a);
	if (r == 0 && a->pending) {
		/* Contents listed it but the package does not ship it */
		char label[600];
		where(lk, name ? dir : a->ino, name, path, sizeof path);
		pkg_label(lk, pkg, label, sizeof label);
		xs_logf(lk->log, lk->log_ud, XS_LOG_WARN, "'%s' is listed for %s but not in its .deb",
			path, *label ? label : "its package");
		return -ENOENT;
	}
	return r;
}

int xs_lookup_entry(const struct xs_lookup *lk, uint64_t parent, const char *name,
		    struct xs_vattr *out)
{
	memset(out, 0, sizeof *out);
	int r = settle(lk);
	if (r < 0)
		return r;
	bool fetch = lk->mode == XS_LOOKUP_FETCH;
	if (fetch && !strcmp(name, "ld.so.cache"))
		lk->ops->refresh(lk->ud); /* it follows the --bind directories */
	r = xs_view_lookup(lk->view, parent, name, out);
	if (r == 0)
		r = make_ready(lk, parent, name, out);
	return r;
}

int xs_lookup_getattr(const struct xs_lookup *lk, uint64_t ino, struct xs_vattr *out)
{
	int r = xs_view_getattr(lk->view, ino, out);
	return r < 0 ? r : make_ready(lk, ino, NULL, out);
}

int xs_lookup_readdir(const struct xs_lookup *lk, uint64_t ino, uint64_t off,
		      int (*cb)(const char *name, uint64_t ino, uint32_t mode,
				uint64_t next_off, void *ud),
		      void *ud)
{
	int r = settle(lk);
	return r < 0 ? r : xs_view_readdir(lk->view, ino, off, cb, ud);
}

int xs_lookup_path(const struct xs_lookup *lk, const char *path, struct xs_vattr *out)
{
	char norm[XS_MAX_PATH + 1];
	int r = xs_path_normalize(path, norm, sizeof norm);
	if (r < 0)
		return r;
	if (!*norm)
		return xs_lookup_getattr(lk, ROOT_INO, out);
	uint64_t dir = ROOT_INO;
	for (char *p = norm;;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = 0;
		r = xs_lookup_entry(lk, dir, p, out);
		if (r < 0 || !slash)
			return r;
		dir = out->ino;
		p = slash + 1;
	}
}

/* ---- extended attributes ------------------------------------------------- */

static const char *const xattr_keys[] = { XS_ID_KEY_STATUS, XS_ID_KEY_PACKAGE, XS_ID_KEY_VERSION,
					   XS_ID_KEY_SHA256 };

int xs_lookup_getxattr(const struct xs_lookup *lk, uint64_t ino, const char *name,
		       struct xs_buf *out)
{
	if (strncmp(name, XS_ID_XATTR_PREFIX, strlen(XS_ID_XATTR_PREFIX)))
		return -ENODATA;
	const char *key = name + strlen(XS_ID_XATTR_PREFIX);
	if (!strcmp(key, XS_ID_KEY_STATUS))
		return ino == ROOT_INO ? lk->ops->status(lk->ud, out) : -ENODATA;
	if (!strcmp(key, XS_ID_KEY_SHA256)) {
		char sha[65];
		int r = xs_view_digest(lk->view, ino, sha);
		return r < 0 ? -ENODATA : xs_buf_append(out, sha, 64);
	}
	bool want_pkg = !strcmp(key, XS_ID_KEY_PACKAGE);
	if (!want_pkg && strcmp(key, XS_ID_KEY_VERSION))
		return -ENODATA;
	struct xs_vattr a;
	struct xs_repo_pkg p = { 0 };
	char sha[65];
	if (xs_view_getattr(lk->view, ino, &a) < 0)
		return -ENODATA;
	if (a.pkg < 0) /* made by the view: a digest (a --bind file has none) */
		return want_pkg && S_ISREG(a.mode) && xs_view_digest(lk->view, ino, sha) == 0
			       ? xs_buf_append(out, XS_ID_GENERATED, strlen(XS_ID_GENERATED))
			       : -ENODATA;
	if (lk->ops->pkg(lk->ud, a.pkg, &p) < 0)
		return -ENODATA;
	const char *v = want_pkg ? p.name : p.version;
	return v ? xs_buf_append(out, v, strlen(v)) : -ENODATA;
}

int xs_lookup_listxattr(const struct xs_lookup *lk, uint64_t ino, struct xs_buf *out)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < XS_ARRAY_SIZE(xattr_keys); i++) {
		char name[64];
		struct xs_buf v;
		xs_buf_init(&v, 1 << 20);
		snprintf(name, sizeof name, XS_ID_XATTR_PREFIX "%s", xattr_keys[i]);
		if (xs_lookup_getxattr(lk, ino, name, &v) == 0)
			r = xs_buf_append(out, name, strlen(name) + 1);
		xs_buf_free(&v);
	}
	return r;
}

/* ---- content --------------------------------------------------------------- */

/* Say why the content of ino cannot be read, naming its path and package. */
static void read_error(const struct xs_lookup *lk, uint64_t ino, int err)
{
	char path[XS_MAX_PATH + 64], name[600] = "", label[608] = "";
	where(lk, ino, NULL, path, sizeof path);
	struct xs_vattr a;
	if (xs_view_getattr(lk->view, ino, &a) == 0)
		pkg_label(lk, a.pkg, name, sizeof name);
	if (*name)
		snprintf(label, sizeof label, " (%s)", name);
	char note[sizeof path + sizeof label + 64];
	snprintf(note, sizeof note, "read of '%s'%s: %s", path, label,
		 err == -EBADMSG ? "cached content damaged (quarantined)" : strerror(-err));
	lk->ops->note_error(lk->ud, note);
	if (err == -EBADMSG)
		xs_logf(lk->log, lk->log_ud, XS_LOG_ERR, "read of '%s'%s: its cached content does "
			"not match its SHA-256: moved to quarantine/ (the read fails with EIO; the "
			"next mount fetches the package again)", path, label);
	else if (err == -ENOENT)
		xs_logf(lk->log, lk->log_ud, XS_LOG_ERR, "read of '%s'%s: its cached content is "
			"missing (the read fails with EIO; the next mount fetches the package "
			"again)", path, label);
	else
		xs_logf(lk->log, lk->log_ud, XS_LOG_ERR, "read of '%s'%s: %s", path, label,
			strerror(-err));
}

int xs_lookup_fd(const struct xs_lookup *lk, uint64_t ino)
{
	int fd = xs_view_fd(lk->view, ino);
	if (fd >= 0 || fd == -EISDIR)
		return fd;
	read_error(lk, ino, fd);
	return fd == -ENOENT || fd == -EBADMSG ? -EIO : fd;
}

/* ---- the repository's side ------------------------------------------------ */

static int repo_settle(void *ud, char *err, size_t errsz)
{
	return xs_repo_settle(ud, err, errsz);
}

static int repo_refresh(void *ud)
{
	return xs_repo_refresh(ud);
}

static int repo_fetch(void *ud, int pkg, char *err, size_t errsz)
{
	if (pkg < 0) {
		snprintf(err, errsz, "no package %d in the view", pkg);
		return -EINVAL;
	}
	return xs_repo_fetch(ud, (size_t)pkg, err, errsz);
}

static int repo_pkg(void *ud, int pkg, struct xs_repo_pkg *out)
{
	return pkg < 0 ? -ENOENT : xs_repo_pkg(ud, (size_t)pkg, out);
}

static void repo_note_error(void *ud, const char *msg)
{
	xs_repo_note_error(ud, msg);
}

static int repo_status(void *ud, struct xs_buf *out)
{
	return xs_repo_status(ud, out);
}

static const struct xs_lookup_ops repo_ops = {
	.settle = repo_settle,
	.refresh = repo_refresh,
	.fetch = repo_fetch,
	.pkg = repo_pkg,
	.note_error = repo_note_error,
	.status = repo_status,
};

void xs_lookup_init_repo(struct xs_lookup *lk, struct xs_repo *r, enum xs_lookup_mode mode,
			 xs_log_fn log, void *log_ud)
{
	xs_lookup_init(lk, xs_repo_view(r), &repo_ops, r, mode, log, log_ud);
}
