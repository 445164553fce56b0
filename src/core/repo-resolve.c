/* repo-resolve.c - the packages of a Debian view, resolved from the
 * archive's Packages indexes and cached in meta/; see repo-internal.h */
#include "repo-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "xsysroot/cachefiles.h"
#include "xsysroot/decompress.h"
#include "xsysroot/packages.h"
#include "xsysroot/release.h"
#include "xsysroot/resolve.h"
#include "xsysroot/viewcache.h"

#define MAX_PACKAGES_TEXT (1ull << 30)

static int add_vpkg(struct xs_repo *r, size_t *cap, const char *name, const char *version,
		    const char *arch, const char *filename, const char *sha256, uint64_t size,
		    int src)
{
	if (src < 0 || (size_t)src >= r->nsrcs || !xs_is_sha256_hex(sha256))
		return -EBADMSG;
	xs_grow(&r->pkgs, cap, r->npkgs + 1, sizeof *r->pkgs);
	xs_repo_fill_pkg(&r->pkgs[r->npkgs++], name, version, arch, filename, sha256, size, src);
	return 0;
}

void xs_repo_fill_pkg(struct vpkg *p, const char *name, const char *version, const char *arch,
		      const char *filename, const char *sha256, uint64_t size, int src)
{
	memset(p, 0, sizeof *p);
	p->name = xs_strdup(name);
	p->version = xs_strdup(version);
	p->arch = xs_strdup(arch);
	p->filename = xs_strdup(filename);
	p->sha256 = xs_strdup(sha256);
	p->size = size;
	p->src = src;
}

static int load_viewcache(struct xs_repo *r, const char *name)
{
	char *data = NULL;
	size_t len = 0;
	if (xs_store_meta_read(r->store, name, XS_VIEWCACHE_MAX, &data, &len) < 0)
		return -ENOENT;
	struct xs_viewcache vc;
	int q = xs_viewcache_parse(data, len, r->nsrcs, &vc);
	free(data);
	if (q < 0)
		return -EBADMSG;
	size_t cap = 0;
	for (size_t i = 0; i < vc.n; i++) {
		struct xs_viewcache_pkg *v = &vc.pkgs[i];
		add_vpkg(r, &cap, v->name, v->version, v->arch, v->filename, v->sha256, v->size,
			 v->origin); /* checked by the parser: cannot fail */
		r->pkgs[r->npkgs - 1].deps = v->deps;
		r->pkgs[r->npkgs - 1].ndeps = v->ndeps;
		v->deps = NULL;
	}
	xs_viewcache_free(&vc);
	return 0;
}

static int write_cands(struct xs_repo *r, struct xs_pkgtab *t, const char *name)
{
	char path[XS_MAX_PATH];
	xs_store_meta_path(r->store, name, path, sizeof path);
	if (access(path, F_OK) == 0)
		return 0;
	struct xs_buf out;
	int q = xs_viewcache_cands_write(t, r->arch->deb, &out);
	if (q == 0)
		q = xs_store_meta_write(r->store, name, out.data ? out.data : "", out.len);
	xs_buf_free(&out);
	return q;
}

/* One warning for the stanzas of index f (the table from n0 on) that
 * cannot be used: they make their packages unusable, not the index. */
static void note_unusable(struct xs_repo *r, const struct xs_pkgtab *t, size_t n0,
			  const struct xs_archive_source *s, const struct xs_release_file *f)
{
	size_t n = 0, first = 0;
	for (size_t i = n0; i < t->n; i++)
		if (t->pkgs[i].unusable && !n++)
			first = i;
	if (n)
		logf_(r, XS_LOG_WARN, "%s/dists/%s/%s: %zu package%s unusable (%s: %s)", s->uri,
		      s->suite, f->path, n, n > 1 ? "s" : "", t->pkgs[first].name,
		      t->pkgs[first].unusable);
}

/* -EBADMSG naming the first selected package that is unusable and its
 * index (idx[k] gave the table from starts[k] to starts[k + 1]). */
static int check_usable(struct xs_repo *r, const struct xs_pkgtab *t, const size_t *sel,
			size_t nsel, const struct xs_release_file *const *idx, const int *idx_src,
			const size_t *starts, size_t nidx, char *err, size_t errsz)
{
	for (size_t i = 0; i < nsel; i++) {
		const struct xs_pkg *p = &t->pkgs[sel[i]];
		if (!p->unusable)
			continue;
		size_t k = 0;
		while (k + 1 < nidx && starts[k + 1] <= sel[i])
			k++;
		const struct xs_archive_source *s = r->srcs[idx_src[k]].a;
		FAIL(-EBADMSG, "package %s %s of %s/dists/%s/%s is unusable (%s): the view for %s "
			       "needs it", p->name, p->version, s->uri, s->suite, idx[k]->path,
		     p->unusable, r->arch->deb);
	}
	return 0;
}

int xs_repo_resolve_view(struct xs_repo *r, const char *packages, char *err, size_t errsz)
{
	/* the key: architecture, roots and every Packages digest */
	char **extra = xs_strv_split(packages);
	/* the runtime base; libc-bin completes glibc with the C.UTF-8 locale,
	 * which glibc programs would otherwise read from the host under -L */
	const char *base[] = { "libc6", "libc-bin", "libgcc-s1", "libstdc++6" };
	size_t nroots = 0;
	const char **roots = xs_xcalloc(XS_ARRAY_SIZE(base) + 1 + strlen(packages ? packages : ""),
					sizeof *roots);
	for (size_t i = 0; i < XS_ARRAY_SIZE(base); i++)
		roots[nroots++] = base[i];
	for (size_t i = 0; extra[i]; i++)
		roots[nroots++] = extra[i];
	struct xs_buf key;
	xs_buf_init(&key, 1 << 24);
	xs_buf_printf(&key, "%s\n%s\n", XS_VIEWCACHE_VERSION, r->arch->deb);
	for (size_t i = 0; i < nroots; i++)
		xs_buf_printf(&key, "root %s\n", roots[i]);
	struct xs_buf ckey; /* the candidate table's: the same without roots */
	xs_buf_init(&ckey, 1 << 24);
	xs_buf_printf(&ckey, "%s\n%s\n", XS_VIEWCACHE_CANDS_VERSION, r->arch->deb);
	const struct xs_release_file **idx = xs_xcalloc(r->nsrcs * 16 + 1, sizeof *idx);
	int *idx_src = xs_xcalloc(r->nsrcs * 16 + 1, sizeof *idx_src);
	size_t *starts = xs_xcalloc(r->nsrcs * 16 + 1, sizeof *starts);
	size_t nidx = 0;
	int q = 0;
	char missing[1024] = "";
	for (size_t s = 0; s < r->nsrcs; s++) {
		const struct xs_archive_source *as = r->srcs[s].a;
		for (size_t c = 0; !as->skipped && as->components[c] && c < 16; c++) {
			char stem[256];
			snprintf(stem, sizeof stem, "%s/binary-%s/Packages", as->components[c],
				 r->arch->deb);
			const struct xs_release_file *f = xs_archive_find_index(r->archive, s, stem);
			if (!f) {
				/* skipped, as apt skips it; an error if nothing is left */
				if (missing[0])
					logf_(r, XS_LOG_WARN, "%s: skipped", missing);
				snprintf(missing, sizeof missing,
					 "%s %s: Release lists no %s index (is component '%s' right?)",
					 as->uri, as->suite, stem, as->components[c]);
				continue;
			}
			xs_buf_printf(&key, "%zu %s %s\n", s, f->path, f->sha256);
			xs_buf_printf(&ckey, "%zu %s %s\n", s, f->path, f->sha256);
			idx_src[nidx] = (int)s;
			idx[nidx++] = f;
		}
	}
	if (!nidx) {
		snprintf(err, errsz, "%s", missing[0] ? missing : "no source carries the view");
		q = -ENOENT;
		goto out;
	}
	if (missing[0])
		logf_(r, XS_LOG_WARN, "%s: skipped", missing);
	char hex[65], name[96];
	xs_sha256_buf(key.data, key.len, hex);
	xs_cf_build(XS_CF_VIEW, hex, name, sizeof name);
	xs_sha256_buf(ckey.data, ckey.len, hex);
	xs_cf_build(XS_CF_CANDS, hex, r->cands_name, sizeof r->cands_name);
	if (load_viewcache(r, name) == 0)
		goto out;

	struct xs_pkgtab tab;
	xs_pkgtab_init(&tab);
	for (size_t i = 0; i < nidx && q == 0; i++) {
		const struct xs_archive_source *s = r->srcs[idx_src[i]].a;
		q = xs_archive_fetch_index(r->archive, (size_t)idx_src[i], idx[i], err, errsz);
		if (q < 0)
			break;
		_cleanup_close_ int fd = xs_store_open_object(r->store, idx[i]->sha256);
		if (fd < 0) {
			q = fd;
			snprintf(err, errsz, "cannot open the cached %s: %s", idx[i]->path, strerror(-q));
			break;
		}
		struct xs_buf text;
		q = xs_decompress_to_buf(fd, MAX_PACKAGES_TEXT, &text);
		if (q < 0) {
			snprintf(err, errsz, "%s/dists/%s/%s: cannot decompress: %s", s->uri, s->suite,
				 idx[i]->path, strerror(-q));
			break;
		}
		char perr[512] = "";
		starts[i] = tab.n;
		q = xs_packages_parse(&tab, text.data, text.len, idx_src[i], perr, sizeof perr);
		xs_buf_free(&text);
		if (q < 0)
			snprintf(err, errsz, "%s/dists/%s/%s: %s", s->uri, s->suite, idx[i]->path, perr);
		else
			note_unusable(r, &tab, starts[i], s, idx[i]);
	}
	starts[nidx] = tab.n;
	size_t *sel = NULL, nsel = 0;
	if (q == 0 && write_cands(r, &tab, r->cands_name) < 0)
		r->cands_name[0] = 0; /* not fatal: the view only cannot grow */
	if (q == 0) {
		char rerr[1024] = "";
		q = xs_resolve(&tab, r->arch->deb, roots, nroots, &sel, &nsel, rerr, sizeof rerr);
		if (q < 0)
			snprintf(err, errsz, "cannot resolve the view for %s from %s: %s", r->arch->deb,
				 r->describe, rerr);
	}
	if (q == 0)
		q = check_usable(r, &tab, sel, nsel, idx, idx_src, starts, nidx, err, errsz);
	if (q == 0) {
		struct xs_buf out;
		xs_buf_init(&out, XS_VIEWCACHE_MAX);
		xs_viewcache_write_header(&out);
		size_t cap = 0;
		int w = 0; /* the cache is written whole or not at all */
		for (size_t i = 0; i < nsel && q == 0; i++) {
			struct xs_pkg *p = &tab.pkgs[sel[i]];
			q = add_vpkg(r, &cap, p->name, p->version, p->arch, p->filename, p->sha256,
				     p->size, p->origin);
			if (q < 0)
				break;
			struct vpkg *v = &r->pkgs[r->npkgs - 1];
			xs_resolve_deps(&tab, sel, nsel, i, &v->deps, &v->ndeps);
			const struct xs_viewcache_pkg line = { p->name, p->version, p->arch,
							       p->filename, p->sha256, p->size,
							       p->origin, v->deps, v->ndeps };
			if (w == 0 && !strpbrk(p->filename, "\t\n") && !strpbrk(p->version, "\t\n"))
				w = xs_viewcache_write_pkg(&out, &line);
			else
				w = w ? w : -EBADMSG;
			if (w == -EBADMSG) {
				q = -EBADMSG;
				snprintf(err, errsz, "package %s: unusable Filename", p->name);
			}
		}
		if (q == 0 && w == 0)
			xs_store_meta_write(r->store, name, out.data, out.len);
		xs_buf_free(&out);
	}
	free(sel);
	xs_pkgtab_free(&tab);
out:
	xs_buf_free(&key);
	xs_buf_free(&ckey);
	free(idx);
	free(idx_src);
	free(starts);
	free(roots);
	xs_strv_free(extra);
	return q;
}

/* ---- Contents ------------------------------------------------------------ */
