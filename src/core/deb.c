/* deb.c - see include/xsysroot/deb.h.
 *
 * Two libarchive readers, stacked and streaming:
 *   outer: the .deb (format ar, no filter), read with pread() from offset 0
 *          or pulled from the caller's reader (xs_deb_unpack_from);
 *   inner: data.tar.*, whose read callback pulls the outer member's data
 *          block by block (archive_read_data_block on the outer reader).
 * Memory is bounded by libarchive's buffers, one copy buffer and the
 * manifest itself (bounded by max_entries and XS_MAX_PATH).
 *
 * Decompression filters are listed one by one (gzip, xz, lzma, zstd, bzip2
 * and none), as dpkg accepts them; archive_read_support_filter_all() would
 * also enable filters that run external programs.  The filter found in the
 * data must be the one the member's name announces, and only one.
 *
 * Names are bytes: GNU tar names come through unchanged; pax names (UTF-8 in
 * the archive) are converted by libarchive to the locale's charset, which
 * is the identity in the C and UTF-8 locales the tools run in.
 */
#include "xsysroot/deb.h"
#include "xsysroot/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IN_CHUNK (128 * 1024)
#define COPY_CHUNK (64 * 1024)
/* Non-file bytes allowed in the tar stream: per entry (header, pax or GNU
 * long-name records, padding) and once. */
#define TAR_OVERHEAD_PER_ENTRY (64 * 1024)
#define TAR_OVERHEAD_FIXED (1024 * 1024)
#define DEBIAN_BINARY_MAX 64
/* control.tar: the control file's size, a package name's length, and the
 * longest control file name kept */
#define CONTROL_MAX (1u << 20)
#define CONTROL_NAME_MAX 128

void xs_limits_default(struct xs_limits *l)
{
	l->max_total = 4ull << 30;
	l->max_file = 2ull << 30;
	l->max_entries = 1000000;
}

static void entry_clear(struct xs_entry *e)
{
	free(e->path);
	free(e->link);
	e->path = e->link = NULL;
}

void xs_manifest_free(struct xs_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		entry_clear(&m->e[i]);
	free(m->e);
	m->e = NULL;
	m->n = m->cap = 0;
}

/* ---- path -> index map (open addressing) ----------------------------- */

struct pathmap {
	size_t *slot; /* index + 1, 0 = empty */
	size_t cap;   /* power of two */
	size_t n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

static size_t *pathmap_find(struct pathmap *pm, const struct xs_manifest *m, const char *path)
{
	size_t mask = pm->cap - 1;
	for (size_t i = hash_str(path) & mask;; i = (i + 1) & mask) {
		if (!pm->slot[i] || strcmp(m->e[pm->slot[i] - 1].path, path) == 0)
			return &pm->slot[i];
	}
}

static void pathmap_grow(struct pathmap *pm, const struct xs_manifest *m)
{
	size_t ncap = pm->cap ? pm->cap * 2 : 1024;
	size_t *old = pm->slot, ocap = pm->cap;
	pm->slot = xs_xcalloc(ncap, sizeof *pm->slot);
	pm->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			*pathmap_find(pm, m, m->e[old[i] - 1].path) = old[i];
	free(old);
}

/* ---- the unpacking context --------------------------------------------- */

struct unpack {
	struct xs_store *s;
	const struct xs_limits *lim;
	struct xs_manifest *m;
	struct pathmap pm;
	char *err;
	size_t errsz;

	int fd;           /* the .deb, or -1: pulled from src */
	off_t off;        /* pread position */
	xs_deb_read_fn src;
	void *src_ud;
	int io_err;       /* negative errno of a failed read of the .deb */
	struct archive *outer, *inner;
	int inner_err;    /* negative errno to report for a failed outer read */
	struct xs_sha256 *hash; /* digest of what the inner reader reads, or NULL */

	uint64_t total;   /* file bytes so far */
	uint64_t entries;
	bool control;	  /* reading control.tar: control_entry, not one_entry */
	struct xs_manifest ctl; /* control.tar's kept files, paths their names */
	char pkg[CONTROL_NAME_MAX + 1]; /* its Package field */
	char inbuf[IN_CHUNK];
	char copy[COPY_CHUNK];
	char path[XS_MAX_PATH + 1];
	char target[XS_MAX_PATH + 1];
};

static int fail(struct unpack *u, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct unpack *u, int r, const char *fmt, ...)
{
	if (u->err && u->errsz && !u->err[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(u->err, u->errsz, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* A printable, bounded rendering of an archive name for messages. */
static const char *show(const char *s, char *out, size_t outsz)
{
	size_t o = 0;
	for (; s && *s && o + 5 < outsz; s++) {
		unsigned char c = (unsigned char)*s;
		if (o > 120) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '\\')
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = 0;
	return out;
}

static la_ssize_t deb_read(struct archive *a, void *ud, const void **out)
{
	struct unpack *u = ud;
	if (u->fd < 0) {
		ssize_t n = u->src(u->src_ud, out);
		if (n < 0) {
			u->io_err = (int)n;
			archive_set_error(a, (int)-n, "read failed");
			return -1;
		}
		return n;
	}
	for (;;) {
		ssize_t n = pread(u->fd, u->inbuf, sizeof u->inbuf, u->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			u->io_err = -errno;
			archive_set_error(a, errno, "read failed");
			return -1;
		}
		u->off += n;
		*out = u->inbuf;
		return n;
	}
}

/* Inner reader's source: the current member of the outer reader. */
static la_ssize_t member_read(struct archive *a, void *ud, const void **out)
{
	struct unpack *u = ud;
	for (;;) {
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(u->outer, out, &n, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK) {
			archive_set_error(a, EIO, "%s", archive_error_string(u->outer)
							       ? archive_error_string(u->outer)
							       : "truncated .deb");
			return -1;
		}
		if (n && u->hash && xs_sha256_update(u->hash, *out, n) < 0) {
			archive_set_error(a, ENOMEM, "cannot compute the digest");
			return -1;
		}
		if (n)
			return (la_ssize_t)n;
	}
}

static int outer_err(struct unpack *u, const char *what)
{
	if (u->io_err)
		return fail(u, u->io_err, "%s: read error", what);
	if (archive_errno(u->outer) == ENOMEM)
		return fail(u, -ENOMEM, "%s: out of memory", what);
	const char *s = archive_error_string(u->outer);
	return fail(u, -EBADMSG, "%s: %s", what, s ? s : "malformed archive");
}

static int inner_err(struct unpack *u, const char *member)
{
	if (u->io_err)
		return fail(u, u->io_err, "%s: read error", member);
	if (archive_errno(u->inner) == ENOMEM)
		return fail(u, -ENOMEM, "%s: out of memory", member);
	const char *s = archive_error_string(u->inner);
	return fail(u, -EBADMSG, "%s: %s", member, s ? s : "malformed archive");
}

/* Reject absolute names and any ".." component, then normalise. */
static int safe_path(const char *in, char *out)
{
	if (!in || in[0] == '/')
		return -EINVAL;
	for (const char *p = in; *p;) {
		const char *s = p;
		while (*p && *p != '/')
			p++;
		if (p - s == 2 && s[0] == '.' && s[1] == '.')
			return -EINVAL;
		while (*p == '/')
			p++;
	}
	return xs_path_normalize(in, out, XS_MAX_PATH + 1);
}

static const char *entry_name(struct archive_entry *ae)
{
	const char *p = archive_entry_pathname(ae);
	return p ? p : archive_entry_pathname_utf8(ae);
}

/* Add e (whose path and link are owned by the manifest from now on); a
 * duplicate path replaces the earlier entry in place. */
static void manifest_put(struct unpack *u, struct xs_entry *e)
{
	struct xs_manifest *m = u->m;
	if ((u->pm.n + 1) * 2 > u->pm.cap)
		pathmap_grow(&u->pm, m);
	size_t *slot = pathmap_find(&u->pm, m, e->path);
	if (*slot) {
		struct xs_entry *old = &m->e[*slot - 1];
		entry_clear(old);
		*old = *e;
		return;
	}
	xs_grow(&m->e, &m->cap, m->n + 1, sizeof *m->e);
	m->e[m->n++] = *e;
	*slot = m->n;
	u->pm.n++;
}

/* Read the data of a non-regular entry (normally none) so that its bytes
 * count against the total. */
static int drain(struct unpack *u, const char *member)
{
	for (;;) {
		la_ssize_t n = archive_read_data(u->inner, u->copy, sizeof u->copy);
		if (n == 0)
			return 0;
		if (n < 0)
			return inner_err(u, member);
		if ((uint64_t)n > u->lim->max_total - u->total)
			return fail(u, -EFBIG, "%s: more than %llu bytes unpacked", member,
				    (unsigned long long)u->lim->max_total);
		u->total += (uint64_t)n;
	}
}

static int read_regular(struct unpack *u, const char *member, struct archive_entry *ae,
			struct xs_entry *e)
{
	const struct xs_limits *l = u->lim;
	char shown[160];
	if (archive_entry_size_is_set(ae)) {
		int64_t sz = archive_entry_size(ae);
		if (sz < 0)
			return fail(u, -EBADMSG, "%s: negative size for '%s'", member,
				    show(e->path, shown, sizeof shown));
		if ((uint64_t)sz > l->max_file)
			return fail(u, -EFBIG, "%s: '%s' is larger than %llu bytes", member,
				    show(e->path, shown, sizeof shown),
				    (unsigned long long)l->max_file);
		if ((uint64_t)sz > l->max_total - u->total)
			return fail(u, -EFBIG, "%s: more than %llu bytes unpacked", member,
				    (unsigned long long)l->max_total);
	}
	uint64_t room = l->max_total - u->total;
	struct xs_txn *t;
	int r = xs_txn_begin(u->s, room < l->max_file ? room : l->max_file, &t);
	if (r < 0)
		return fail(u, r, "%s: cannot start a store transaction: %s", member, strerror(-r));
	xs_txn_defer_sync(t); /* the caller syncs once per package (deb.h) */
	uint64_t size = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(u->inner, u->copy, sizeof u->copy);
		if (n == 0)
			break;
		if (n < 0) {
			xs_txn_abort(t);
			return inner_err(u, member);
		}
		if ((uint64_t)n > l->max_file - size) {
			xs_txn_abort(t);
			return fail(u, -EFBIG, "%s: '%s' is larger than %llu bytes", member,
				    show(e->path, shown, sizeof shown),
				    (unsigned long long)l->max_file);
		}
		if ((uint64_t)n > l->max_total - u->total) {
			xs_txn_abort(t);
			return fail(u, -EFBIG, "%s: more than %llu bytes unpacked", member,
				    (unsigned long long)l->max_total);
		}
		r = xs_txn_write(t, u->copy, (size_t)n);
		if (r < 0) {
			xs_txn_abort(t);
			return fail(u, r, "%s: cannot store '%s': %s", member,
				    show(e->path, shown, sizeof shown), strerror(-r));
		}
		size += (uint64_t)n;
		u->total += (uint64_t)n;
	}
	r = xs_txn_commit(t, NULL, UINT64_MAX, e->sha256);
	if (r < 0)
		return fail(u, r, "%s: cannot store '%s': %s", member,
			    show(e->path, shown, sizeof shown), strerror(-r));
	e->size = size;
	return 0;
}

static int one_entry(struct unpack *u, const char *member, struct archive_entry *ae)
{
	char shown[160];
	const char *name = entry_name(ae);
	if (!name)
		return fail(u, -EINVAL, "%s: entry without a name", member);
	if (safe_path(name, u->path) < 0)
		return fail(u, -EINVAL, "%s: unsafe path '%s'", member,
			    show(name, shown, sizeof shown));

	struct xs_entry e;
	memset(&e, 0, sizeof e);
	int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);
	if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
		return fail(u, -EINVAL, "%s: owner of '%s' out of range", member,
			    show(name, shown, sizeof shown));
	e.uid = (uint32_t)uid;
	e.gid = (uint32_t)gid;
	e.mtime = (int64_t)archive_entry_mtime(ae);
	uint32_t perm = (uint32_t)archive_entry_perm(ae) & 0777; /* no suid/sgid/sticky */

	const char *hl = archive_entry_hardlink(ae);
	mode_t ft = archive_entry_filetype(ae);
	int r;
	if (!u->path[0] && (hl || ft != AE_IFDIR))
		return fail(u, -EINVAL, "%s: '%s' would replace the root directory", member,
			    show(name, shown, sizeof shown));
	if (hl) {
		if (safe_path(hl, u->target) < 0)
			return fail(u, -EINVAL, "%s: hardlink '%s' to unsafe path", member,
				    show(name, shown, sizeof shown));
		size_t *slot = u->pm.cap ? pathmap_find(&u->pm, u->m, u->target) : NULL;
		const struct xs_entry *t = slot && *slot ? &u->m->e[*slot - 1] : NULL;
		if (!t || t->type != XS_E_REG || strcmp(u->target, u->path) == 0)
			return fail(u, -EINVAL,
				    "%s: hardlink '%s' does not name an earlier regular file",
				    member, show(name, shown, sizeof shown));
		r = drain(u, member);
		if (r < 0)
			return r;
		e.type = XS_E_HARDLINK;
		e.mode = t->mode;
		e.uid = t->uid;
		e.gid = t->gid;
		e.mtime = t->mtime;
		e.size = t->size;
		memcpy(e.sha256, t->sha256, sizeof e.sha256);
		e.link = xs_strdup(u->target);
	} else if (ft == AE_IFREG) {
		e.type = XS_E_REG;
		e.mode = S_IFREG | perm;
		e.path = u->path; /* for messages; replaced below */
		r = read_regular(u, member, ae, &e);
		if (r < 0)
			return r;
	} else if (ft == AE_IFDIR) {
		r = drain(u, member);
		if (r < 0)
			return r;
		e.type = XS_E_DIR;
		e.mode = S_IFDIR | perm;
	} else if (ft == AE_IFLNK) {
		const char *target = archive_entry_symlink(ae);
		if (!target)
			target = archive_entry_symlink_utf8(ae);
		if (!target || !target[0] || strlen(target) > XS_MAX_PATH)
			return fail(u, -EINVAL, "%s: bad symlink '%s'", member,
				    show(name, shown, sizeof shown));
		r = drain(u, member);
		if (r < 0)
			return r;
		e.type = XS_E_SYMLINK;
		e.mode = S_IFLNK | 0777;
		e.link = xs_strdup(target);
	} else if (ft == AE_IFCHR || ft == AE_IFBLK || ft == AE_IFIFO || ft == AE_IFSOCK) {
		r = drain(u, member);
		if (r < 0)
			return r;
		e.type = XS_E_OTHER;
		e.mode = (uint32_t)ft | perm;
		if (ft == AE_IFCHR || ft == AE_IFBLK)
			e.rdev = (uint64_t)archive_entry_rdev(ae);
	} else {
		return fail(u, -EINVAL, "%s: '%s' has an unsupported type", member,
			    show(name, shown, sizeof shown));
	}
	e.path = xs_strdup(u->path);
	manifest_put(u, &e);
	return 0;
}

static const struct {
	const char *suffix;
	int filter;
} data_members[] = {
	{ "", ARCHIVE_FILTER_NONE },	   { ".gz", ARCHIVE_FILTER_GZIP },
	{ ".xz", ARCHIVE_FILTER_XZ },	   { ".zst", ARCHIVE_FILTER_ZSTD },
	{ ".bz2", ARCHIVE_FILTER_BZIP2 }, { ".lzma", ARCHIVE_FILTER_LZMA },
};

/* The filter of member name "PREFIX.tar[.EXT]", or -1. */
static int tar_filter(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(name, prefix, n) != 0)
		return -1;
	for (size_t i = 0; i < XS_ARRAY_SIZE(data_members); i++)
		if (!strcmp(name + n, data_members[i].suffix))
			return data_members[i].filter;
	return -1;
}

static int data_filter(const char *name)
{
	return tar_filter(name, "data.tar");
}

static int read_entries(struct unpack *u, const char *member);
static int control_entry(struct unpack *u, const char *member, struct archive_entry *ae);

static int unpack_data(struct unpack *u, const char *member, int filter)
{
	u->inner = archive_read_new();
	if (!u->inner)
		return fail(u, -ENOMEM, "out of memory");
	archive_read_support_filter_gzip(u->inner);
	archive_read_support_filter_xz(u->inner);
	archive_read_support_filter_lzma(u->inner);
	archive_read_support_filter_zstd(u->inner);
	archive_read_support_filter_bzip2(u->inner);
	archive_read_support_format_tar(u->inner);
	if (archive_read_open(u->inner, u, NULL, member_read, NULL) != ARCHIVE_OK)
		return inner_err(u, member);
	/* the filters: the one named, then the pseudo-filter of the client */
	int want = filter == ARCHIVE_FILTER_NONE ? 1 : 2;
	if (archive_filter_count(u->inner) != want || archive_filter_code(u->inner, 0) != filter)
		return fail(u, -EBADMSG, "%s: compression does not match the member name",
			    member);
	return read_entries(u, member);
}

/* Every entry of the tar stream u->inner into the manifest. */
static int read_entries(struct unpack *u, const char *member)
{
	const struct xs_limits *l = u->lim;
	for (;;) {
		struct archive_entry *ae;
		int r = archive_read_next_header(u->inner, &ae);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) /* RETRY too: a damaged header */
			return inner_err(u, member);
		if (++u->entries > l->max_entries)
			return fail(u, -E2BIG, "%s: more than %llu entries", member,
				    (unsigned long long)l->max_entries);
		/* bytes of the tar stream that were not file data */
		uint64_t stream = (uint64_t)archive_filter_bytes(u->inner, 0);
		if (stream > u->total + TAR_OVERHEAD_FIXED + u->entries * TAR_OVERHEAD_PER_ENTRY)
			return fail(u, -EFBIG, "%s: too much data outside of files", member);
		r = u->control ? control_entry(u, member, ae) : one_entry(u, member, ae);
		if (r < 0)
			return r;
	}
}

/* ---- control.tar: the files dpkg keeps in its database ------------------
 *
 * dpkg keeps every file of control.tar whose name has no '.' in
 * /var/lib/dpkg/info/PKG.NAME, but control itself (it goes to the status)
 * and a file named list (dpkg's own); so do we, as regular files of the
 * manifest at that path (maintainer scripts keep their mode).  PKG is the
 * Package field of control; until it is read the kept files wait in
 * u->ctl under their bare names (a control.tar without control keeps
 * none).  Its members count against the limits like data.tar's. */

static bool pkg_name_ok(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '+' ||
		      *s == '-' || *s == '.'))
			return false;
	return true;
}

/* The Package field of control's text (n bytes) into u->pkg. */
static int control_package(struct unpack *u, const char *text, size_t n)
{
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - text) - i : n - i;
		if (len > 8 && !strncasecmp(text + i, "Package:", 8)) {
			const char *v = text + i + 8;
			size_t vl = len - 8;
			while (vl && (*v == ' ' || *v == '\t'))
				v++, vl--;
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r'))
				vl--;
			if (vl == 0 || vl > CONTROL_NAME_MAX)
				break;
			memcpy(u->pkg, v, vl);
			u->pkg[vl] = 0;
			return pkg_name_ok(u->pkg) ? 0 : fail(u, -EBADMSG, "control: bad Package");
		}
		i += len + 1;
	}
	return fail(u, -EBADMSG, "control: no Package field");
}

static int read_control_file(struct unpack *u, const char *member)
{
	char *text = xs_xcalloc(1, CONTROL_MAX);
	size_t n = 0;
	for (;;) {
		la_ssize_t k = archive_read_data(u->inner, text + n, CONTROL_MAX - n);
		if (k < 0) {
			free(text);
			return inner_err(u, member);
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n == CONTROL_MAX) {
			free(text);
			return fail(u, -EFBIG, "%s: control is larger than %u bytes", member,
				    CONTROL_MAX);
		}
	}
	u->total += n;
	int r = control_package(u, text, n);
	free(text);
	return r;
}

static int control_entry(struct unpack *u, const char *member, struct archive_entry *ae)
{
	const char *name = entry_name(ae);
	if (!name || safe_path(name, u->path) < 0 || archive_entry_hardlink(ae))
		return drain(u, member);
	bool reg = archive_entry_filetype(ae) == AE_IFREG;
	if (reg && !strcmp(u->path, "control"))
		return read_control_file(u, member);
	if (!reg || !u->path[0] || strchr(u->path, '/') || strchr(u->path, '.') ||
	    !strcmp(u->path, "list") || strlen(u->path) > CONTROL_NAME_MAX)
		return drain(u, member);
	struct xs_entry e = { .type = XS_E_REG, .path = u->path };
	e.mode = S_IFREG | ((uint32_t)archive_entry_perm(ae) & 0777);
	e.mtime = (int64_t)archive_entry_mtime(ae);
	int r = read_regular(u, member, ae, &e);
	if (r < 0)
		return r;
	e.path = xs_strdup(u->path);
	xs_grow(&u->ctl.e, &u->ctl.cap, u->ctl.n + 1, sizeof *u->ctl.e);
	u->ctl.e[u->ctl.n++] = e;
	return 0;
}

/* control.tar's kept files into the manifest, at XS_DEB_CONTROL_DIR PKG.NAME. */
static int unpack_control(struct unpack *u, const char *member, int filter)
{
	u->control = true;
	int r = unpack_data(u, member, filter);
	u->control = false;
	archive_read_free(u->inner);
	u->inner = NULL;
	for (size_t i = 0; i < u->ctl.n; i++) {
		struct xs_entry e = u->ctl.e[i];
		if (r == 0 && u->pkg[0]) { /* without control: nothing is kept */
			struct xs_buf p;
			xs_buf_init(&p, XS_MAX_PATH);
			r = xs_buf_printf(&p, XS_DEB_CONTROL_DIR "%s.%s", u->pkg, e.path);
			free(e.path);
			e.path = xs_buf_steal(&p, NULL);
			if (r == 0) {
				manifest_put(u, &e);
				continue;
			}
			r = fail(u, r, "%s: name too long", member);
		}
		entry_clear(&e);
	}
	free(u->ctl.e); /* every entry moved to the manifest or cleared */
	u->ctl = (struct xs_manifest){ 0 };
	return r;
}

static int read_debian_binary(struct unpack *u)
{
	char buf[DEBIAN_BINARY_MAX + 1];
	size_t n = 0;
	for (;;) {
		la_ssize_t k = archive_read_data(u->outer, buf + n, sizeof buf - n);
		if (k < 0)
			return outer_err(u, "debian-binary");
		if (k == 0)
			break;
		n += (size_t)k;
		if (n == sizeof buf)
			return fail(u, -EBADMSG, "debian-binary: too long");
	}
	buf[n] = 0;
	/* "2.<digits>\n", as dpkg writes and reads it */
	if (n < 4 || buf[0] != '2' || buf[1] != '.')
		return fail(u, -EBADMSG, "debian-binary: unsupported format version");
	size_t i = 2;
	while (i < n && buf[i] >= '0' && buf[i] <= '9')
		i++;
	if (i == 2 || i >= n || buf[i] != '\n')
		return fail(u, -EBADMSG, "debian-binary: unsupported format version");
	return 0;
}

/* A fresh unpacking context (lim NULL: the defaults, kept in deflim). */
static struct unpack *unpack_new(struct xs_store *s, int fd, const struct xs_limits *lim,
				 struct xs_limits *deflim, struct xs_manifest *out, char *err,
				 size_t errsz)
{
	memset(out, 0, sizeof *out);
	if (err && errsz)
		err[0] = 0;
	if (!lim) {
		xs_limits_default(deflim);
		lim = deflim;
	}
	struct unpack *u = xs_xcalloc(1, sizeof *u);
	u->s = s;
	u->lim = lim;
	u->m = out;
	u->err = err;
	u->errsz = errsz;
	u->fd = fd;
	return u;
}

static int unpack_free(struct unpack *u, int r)
{
	if (u->inner)
		archive_read_free(u->inner);
	if (u->outer)
		archive_read_free(u->outer);
	free(u->pm.slot);
	xs_manifest_free(&u->ctl);
	if (r < 0)
		xs_manifest_free(u->m);
	free(u);
	return r;
}

int xs_tar_unpack(struct xs_store *s, int fd, enum xs_tar_compression comp,
		  const struct xs_limits *lim, struct xs_manifest *out, char diff_id[65],
		  char *err, size_t errsz)
{
	struct xs_limits deflim;
	struct unpack *u = unpack_new(s, fd, lim, &deflim, out, err, errsz);
	struct xs_sha256 hash;
	int r = xs_sha256_init(&hash);
	if (r < 0)
		return unpack_free(u, fail(u, r, "cannot compute the digest"));
	u->hash = &hash;
	int filter = comp == XS_TAR_GZIP ? ARCHIVE_FILTER_GZIP
		     : comp == XS_TAR_ZSTD ? ARCHIVE_FILTER_ZSTD
					   : ARCHIVE_FILTER_NONE;
	u->outer = archive_read_new();
	if (!u->outer) {
		r = fail(u, -ENOMEM, "out of memory");
		goto out;
	}
	archive_read_support_format_raw(u->outer);
	archive_read_support_filter_gzip(u->outer);
	archive_read_support_filter_zstd(u->outer);
	struct archive_entry *ae;
	if (archive_read_open(u->outer, u, NULL, deb_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(u->outer, &ae) != ARCHIVE_OK) {
		r = outer_err(u, "layer");
		goto out;
	}
	int want = filter == ARCHIVE_FILTER_NONE ? 1 : 2;
	if (archive_filter_count(u->outer) != want || archive_filter_code(u->outer, 0) != filter) {
		r = fail(u, -EBADMSG, "layer: compression does not match the media type");
		goto out;
	}
	u->inner = archive_read_new();
	if (!u->inner) {
		r = fail(u, -ENOMEM, "out of memory");
		goto out;
	}
	archive_read_support_format_tar(u->inner);
	if (archive_read_open(u->inner, u, NULL, member_read, NULL) != ARCHIVE_OK) {
		r = inner_err(u, "layer");
		goto out;
	}
	r = read_entries(u, "layer");
	if (r < 0)
		goto out;
	/* the diff_id covers the whole stream, the end-of-archive blocks and
	 * whatever padding follows them included */
	const void *p;
	for (uint64_t tail = 0;;) {
		la_ssize_t n = member_read(u->inner, u, &p);
		if (n == 0)
			break;
		if (n < 0) {
			r = outer_err(u, "layer");
			goto out;
		}
		tail += (uint64_t)n;
		if (tail > TAR_OVERHEAD_FIXED) {
			r = fail(u, -EFBIG, "layer: too much data after the end of the archive");
			goto out;
		}
	}
	r = xs_sha256_final(&hash, diff_id);
out:
	xs_sha256_free(&hash);
	return unpack_free(u, r);
}

/* The .deb behind u's reader, whole, into u's manifest. */
static int unpack_deb(struct unpack *u)
{
	int r;
	u->outer = archive_read_new();
	if (!u->outer) {
		r = fail(u, -ENOMEM, "out of memory");
		goto out;
	}
	archive_read_support_format_ar(u->outer);
	if (archive_read_open(u->outer, u, NULL, deb_read, NULL) != ARCHIVE_OK) {
		r = outer_err(u, ".deb");
		goto out;
	}
	bool first = true, done = false;
	while (!done) {
		struct archive_entry *ae;
		int h = archive_read_next_header(u->outer, &ae);
		if (h == ARCHIVE_EOF)
			break;
		if (h != ARCHIVE_OK && h != ARCHIVE_WARN) {
			r = outer_err(u, ".deb");
			goto out;
		}
		const char *name = archive_entry_pathname(ae);
		if (!name)
			name = "";
		if (first) {
			first = false;
			if (strcmp(name, "debian-binary") != 0) {
				r = fail(u, -EBADMSG, ".deb: first member is not debian-binary");
				goto out;
			}
			r = read_debian_binary(u);
			if (r < 0)
				goto out;
			continue;
		}
		int cf = tar_filter(name, "control.tar");
		if (cf >= 0 && !u->pkg[0]) {
			r = unpack_control(u, name, cf);
			if (r < 0)
				goto out;
			continue;
		}
		int filter = data_filter(name);
		if (filter < 0)
			continue; /* "_*" members */
		char member[32];
		snprintf(member, sizeof member, "%s", name);
		r = unpack_data(u, member, filter);
		if (r < 0)
			goto out;
		done = true;
	}
	if (first) {
		r = fail(u, -EBADMSG, ".deb: not a Debian package");
		goto out;
	}
	if (!done) {
		r = fail(u, -EBADMSG, ".deb: no data.tar member");
		goto out;
	}
	r = 0;
out:
	return unpack_free(u, r);
}

int xs_deb_unpack(struct xs_store *s, int deb_fd, const struct xs_limits *lim,
		  struct xs_manifest *out, char *err, size_t errsz)
{
	struct xs_limits deflim;
	return unpack_deb(unpack_new(s, deb_fd, lim, &deflim, out, err, errsz));
}

int xs_deb_unpack_from(struct xs_store *s, xs_deb_read_fn src, void *ud,
		       const struct xs_limits *lim, struct xs_manifest *out, char *err,
		       size_t errsz)
{
	struct xs_limits deflim;
	struct unpack *u = unpack_new(s, -1, lim, &deflim, out, err, errsz);
	u->src = src;
	u->src_ud = ud;
	return unpack_deb(u);
}

/* ---- manifest text format -------------------------------------------------
 *
 *   xsysroot-manifest 2
 *   <T>\t<mode>\t<uid>\t<gid>\t<mtime>\t<size>\t<sha256>\t<rdev>\t<path>\t<link>
 *   ...
 *   end <count>
 *
 * T is d (directory), f (regular), l (symlink), h (hardlink), o (other);
 * mode in octal, the rest in decimal; sha256 empty unless f or h; link
 * empty unless l or h.  path and link are escaped: bytes 0x21-0x7e other
 * than '\' stand for themselves, every other byte is \xHH.  The final line
 * makes a truncated file detectable.  Version 1 is the same text, written
 * before control.tar's files were kept: parsed, with format 1.
 */

#define MANIFEST_MAGIC "xsysroot-manifest 2"
#define MANIFEST_MAGIC_1 "xsysroot-manifest 1"

static const char type_chars[] = " dflho";

static int put_escaped(struct xs_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[256];
	size_t o = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (o + 4 > sizeof tmp) {
			int r = xs_buf_append(b, tmp, o);
			if (r < 0)
				return r;
			o = 0;
		}
		if (c > 0x20 && c < 0x7f && c != '\\') {
			tmp[o++] = (char)c;
		} else {
			tmp[o++] = '\\';
			tmp[o++] = 'x';
			tmp[o++] = hex[c >> 4];
			tmp[o++] = hex[c & 15];
		}
	}
	return xs_buf_append(b, tmp, o);
}

int xs_manifest_serialize(const struct xs_manifest *m, char **data, size_t *len)
{
	*data = NULL;
	struct xs_buf b;
	xs_buf_init(&b, SIZE_MAX / 2);
	int r = xs_buf_printf(&b, MANIFEST_MAGIC "\n");
	for (size_t i = 0; r == 0 && i < m->n; i++) {
		const struct xs_entry *e = &m->e[i];
		if (e->type < XS_E_DIR || e->type > XS_E_OTHER || !e->path) {
			r = -EINVAL;
			break;
		}
		bool has_sha = e->type == XS_E_REG || e->type == XS_E_HARDLINK;
		bool has_link = e->type == XS_E_SYMLINK || e->type == XS_E_HARDLINK;
		if ((has_sha && !xs_is_sha256_hex(e->sha256)) || (has_link && !e->link)) {
			r = -EINVAL;
			break;
		}
		r = xs_buf_printf(&b, "%c\t%o\t%u\t%u\t%lld\t%llu\t%s\t%llu\t", type_chars[e->type],
				  e->mode, e->uid, e->gid, (long long)e->mtime,
				  (unsigned long long)e->size, has_sha ? e->sha256 : "",
				  (unsigned long long)e->rdev);
		if (r == 0)
			r = put_escaped(&b, e->path);
		if (r == 0)
			r = xs_buf_append(&b, "\t", 1);
		if (r == 0 && has_link)
			r = put_escaped(&b, e->link);
		if (r == 0)
			r = xs_buf_append(&b, "\n", 1);
	}
	if (r == 0)
		r = xs_buf_printf(&b, "end %zu\n", m->n);
	if (r < 0) {
		xs_buf_free(&b);
		return r;
	}
	*data = xs_buf_steal(&b, len);
	return *data ? 0 : -ENOMEM;
}

static int parse_u64(const char *s, size_t n, int base, uint64_t max, uint64_t *out)
{
	if (n == 0 || n > 22)
		return -EBADMSG;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (d >= (unsigned)base)
			return -EBADMSG;
		if (v > (UINT64_MAX - d) / (uint64_t)base)
			return -EBADMSG;
		v = v * (uint64_t)base + d;
	}
	if (v > max)
		return -EBADMSG;
	*out = v;
	return 0;
}

/* Unescape into a fresh string of at most XS_MAX_PATH bytes. */
static int unescape(const char *s, size_t n, char **out)
{
	char buf[XS_MAX_PATH + 1];
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (o >= XS_MAX_PATH)
			return -EBADMSG;
		if (c == '\\') {
			if (n - i < 4 || s[i + 1] != 'x')
				return -EBADMSG;
			int hi = xs_hexval(s[i + 2]), lo = xs_hexval(s[i + 3]);
			if (hi < 0 || lo < 0)
				return -EBADMSG;
			c = (unsigned char)(hi << 4 | lo);
			if (c == 0)
				return -EBADMSG;
			i += 3;
		} else if (c <= 0x20 || c >= 0x7f) {
			return -EBADMSG;
		}
		buf[o++] = (char)c;
	}
	buf[o] = 0;
	*out = xs_strndup(buf, o);
	return 0;
}

static int parse_line(const char *l, size_t n, struct xs_entry *e)
{
	const char *f[10];
	size_t fl[10];
	size_t k = 0;
	const char *p = l, *end = l + n;
	while (k < 10) {
		const char *t = memchr(p, '\t', (size_t)(end - p));
		if (!t)
			t = end;
		f[k] = p;
		fl[k] = (size_t)(t - p);
		k++;
		if (t == end)
			break;
		p = t + 1;
	}
	if (k != 10 || f[9] + fl[9] != end)
		return -EBADMSG;
	if (fl[0] != 1)
		return -EBADMSG;
	const char *tc = strchr(type_chars + 1, f[0][0]);
	if (!tc || !f[0][0])
		return -EBADMSG;
	e->type = (int)(tc - type_chars);

	uint64_t mode, uid, gid, size, rdev, mt;
	if (parse_u64(f[1], fl[1], 8, 0177777, &mode) < 0 ||
	    parse_u64(f[2], fl[2], 10, UINT32_MAX, &uid) < 0 ||
	    parse_u64(f[3], fl[3], 10, UINT32_MAX, &gid) < 0 ||
	    parse_u64(f[5], fl[5], 10, UINT64_MAX, &size) < 0 ||
	    parse_u64(f[7], fl[7], 10, UINT64_MAX, &rdev) < 0)
		return -EBADMSG;
	bool neg = fl[4] > 0 && f[4][0] == '-';
	if (parse_u64(f[4] + neg, fl[4] - neg, 10, neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX,
		      &mt) < 0)
		return -EBADMSG;
	e->mtime = neg ? (int64_t)(0 - mt) : (int64_t)mt;
	if (mode & (S_ISUID | S_ISGID | S_ISVTX))
		return -EBADMSG;
	uint32_t ft = (uint32_t)mode & S_IFMT;
	switch (e->type) {
	case XS_E_DIR:
		if (ft != S_IFDIR)
			return -EBADMSG;
		break;
	case XS_E_REG:
	case XS_E_HARDLINK:
		if (ft != S_IFREG)
			return -EBADMSG;
		break;
	case XS_E_SYMLINK:
		if (ft != S_IFLNK)
			return -EBADMSG;
		break;
	default:
		if (ft != S_IFCHR && ft != S_IFBLK && ft != S_IFIFO && ft != S_IFSOCK)
			return -EBADMSG;
	}
	if (e->type != XS_E_OTHER && rdev)
		return -EBADMSG;
	e->mode = (uint32_t)mode;
	e->uid = (uint32_t)uid;
	e->gid = (uint32_t)gid;
	e->size = size;
	e->rdev = rdev;

	bool has_sha = e->type == XS_E_REG || e->type == XS_E_HARDLINK;
	bool has_link = e->type == XS_E_SYMLINK || e->type == XS_E_HARDLINK;
	if (has_sha) {
		if (fl[6] != 64)
			return -EBADMSG;
		memcpy(e->sha256, f[6], 64);
		e->sha256[64] = 0;
		if (!xs_is_sha256_hex(e->sha256))
			return -EBADMSG;
	} else if (fl[6] != 0 || size != 0) {
		return -EBADMSG;
	}
	if (unescape(f[8], fl[8], &e->path) < 0)
		return -EBADMSG;
	char norm[XS_MAX_PATH + 1];
	if (xs_path_normalize(e->path, norm, sizeof norm) < 0 || strcmp(norm, e->path) != 0 ||
	    (!e->path[0] && e->type != XS_E_DIR))
		return -EBADMSG;
	if (has_link) {
		if (fl[9] == 0 || unescape(f[9], fl[9], &e->link) < 0)
			return -EBADMSG;
		if (e->type == XS_E_HARDLINK &&
		    (xs_path_normalize(e->link, norm, sizeof norm) < 0 ||
		     strcmp(norm, e->link) != 0 || !e->link[0]))
			return -EBADMSG;
	} else if (fl[9] != 0) {
		return -EBADMSG;
	}
	return 0;
}

int xs_manifest_parse(const char *data, size_t len, struct xs_manifest *out)
{
	memset(out, 0, sizeof *out);
	const char *p = data, *end = data + len;
	const char *nl = memchr(p, '\n', len);
	size_t ml = sizeof MANIFEST_MAGIC - 1;
	if (!nl || (size_t)(nl - p) != ml)
		return -EBADMSG;
	if (memcmp(p, MANIFEST_MAGIC, ml) == 0)
		out->format = 2;
	else if (memcmp(p, MANIFEST_MAGIC_1, ml) == 0)
		out->format = 1;
	else
		return -EBADMSG;
	p = nl + 1;
	for (;;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			goto bad; /* no end line */
		size_t n = (size_t)(nl - p);
		if (n > 4 && memcmp(p, "end ", 4) == 0) {
			uint64_t count;
			if (parse_u64(p + 4, n - 4, 10, UINT64_MAX, &count) < 0 || count != out->n ||
			    nl + 1 != end)
				goto bad;
			return 0;
		}
		struct xs_entry e;
		memset(&e, 0, sizeof e);
		if (parse_line(p, n, &e) < 0) {
			entry_clear(&e);
			goto bad;
		}
		xs_grow(&out->e, &out->cap, out->n + 1, sizeof *out->e);
		out->e[out->n++] = e;
		p = nl + 1;
	}
bad:
	xs_manifest_free(out);
	return -EBADMSG;
}
