/* native.c - run --strict --native-tools (native.h). */
#include "native.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/utsname.h>

#include "output.h"
#include "xsysroot/cachefiles.h"
#include "xsysroot/hybrid.h"
#include "xsysroot/hybridtools.h"
#include "xsysroot/selection.h"
#include "xsysroot/store.h"

/* The cross packages of the target view's toolchain packages into *names
 * (NULL-terminated, owned) and, comma-separated, into list: how many. */
static size_t cross_names(struct xs_repo *r, const char *triplet, char ***names,
			  struct xs_buf *list)
{
	size_t n = 0, cap = 0;
	*names = NULL;
	for (size_t i = 0; i < xs_repo_npkgs(r); i++) {
		struct xs_repo_pkg p;
		char cross[256];
		if (xs_repo_pkg(r, i, &p) < 0 ||
		    xs_hybrid_cross_name(p.name, triplet, cross, sizeof cross) != 1)
			continue;
		xs_grow(names, &cap, n + 2, sizeof **names);
		(*names)[n++] = xs_strdup(cross);
		(*names)[n] = NULL;
		xs_buf_printf(list, "%s%s", list->len ? "," : "", cross);
	}
	return n;
}

/* Package name of r's view into *out: true, or false when it has none. */
static bool view_pkg(struct xs_repo *r, const char *name, struct xs_repo_pkg *out)
{
	for (size_t i = 0; i < xs_repo_npkgs(r); i++)
		if (xs_repo_pkg(r, i, out) == 0 && !strcmp(out->name, name))
			return true;
	return false;
}

/* The version of package name in r's view, NULL when it has none. */
static const char *view_version(struct xs_repo *r, const char *name)
{
	struct xs_repo_pkg p;
	return view_pkg(r, name, &p) ? p.version : NULL;
}

/* foreign[i] for names[0, n) from the Multi-Arch the view carries (the
 * resolved view keeps it, view format 4): true, or false when the view
 * does not know one of them (a lock's view: the indexes are read). */
static bool view_foreign(struct xs_repo *r, const char *const *names, size_t n, bool *foreign)
{
	for (size_t i = 0; i < n; i++) {
		struct xs_repo_pkg p;
		if (!view_pkg(r, names[i], &p) || !p.multi_arch)
			return false;
		foreign[i] = !strcmp(p.multi_arch, "foreign");
	}
	return true;
}

/* The candidate tools (hybridtools.h) of the target's view whose Packages
 * stanza says Multi-Arch: foreign, comma-separated into out. */
static int scan_foreign(struct cli_setup *s, struct xs_buf *out)
{
	const char *names[32], *versions[32];
	bool foreign[32];
	size_t n = 0;
	for (size_t i = 0; xs_hybrid_tool_candidate(i) && n < 32; i++) {
		const char *v = view_version(s->repo, xs_hybrid_tool_candidate(i));
		if (v)
			names[n] = xs_hybrid_tool_candidate(i), versions[n++] = v;
	}
	struct xs_store *st = NULL;
	char err[1024] = "";
	bool known = view_foreign(s->repo, names, n, foreign);
	int q = n && !known ? xs_store_open(s->cfg.cache_dir, &st) : 0;
	if (q == 0 && n && !known)
		q = xs_hybrid_tools_foreign(xs_repo_archive(s->repo), st, s->arch->deb, names,
					    versions, n, foreign, err, sizeof err);
	xs_store_close(st);
	char *msg = fmt_str("--native-tools: the Multi-Arch of %zu tools from %s", n,
			    known ? "the view" : "the Packages indexes");
	log_cb(XS_LOG_INFO, msg, &s->log); /* run's log file */
	free(msg);
	if (q < 0) {
		say("--native-tools: cannot read the Multi-Arch of %s's tools (%s): they stay "
		    "emulated", s->arch->deb, err[0] ? err : strerror(-q));
		return q;
	}
	for (size_t i = 0; i < n; i++) {
		char note[512];
		if (foreign[i]) {
			xs_buf_printf(out, "%s%s", out->len ? "," : "", names[i]);
			continue;
		}
		xs_hybrid_tools_pick(names[i], versions[i], false, NULL, note, sizeof note);
		xs_logf(s->cfg.log, s->cfg.log_ud, XS_LOG_INFO, "--native-tools: %s", note);
	}
	return 0;
}

/* Does r's view carry the Multi-Arch of its packages (a resolved view
 * does, a lock's does not)? */
static bool view_knows_multi_arch(struct xs_repo *r)
{
	struct xs_repo_pkg p;
	return xs_repo_npkgs(r) && xs_repo_pkg(r, 0, &p) == 0 && p.multi_arch;
}

/* scan_foreign's answer for s's view into *out (owned, NULL-terminated),
 * from the view itself, or, when it does not carry Multi-Arch, kept in
 * CACHEDIR/hybrid/foreign-VIEWDIGEST: reading the indexes takes a second
 * or two. */
static void foreign_tools(struct cli_setup *s, char ***out)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/" XS_CF_HYBRID "/foreign-%s", s->cfg.cache_dir,
		 xs_repo_view_digest(s->repo));
	struct xs_buf b;
	if (view_knows_multi_arch(s->repo)) {
		xs_buf_init(&b, 1 << 16);
		scan_foreign(s, &b);
	} else if (xs_read_file(path, 1 << 16, &b) < 0) {
		b.len = 0;
		*strrchr(path, '/') = 0;
		int q = xs_mkdir_p(path, 0755);
		path[strlen(path)] = '/';
		if (scan_foreign(s, &b) == 0 && q == 0)
			xs_write_file_atomic(path, b.data ? b.data : "", b.len, 0644);
	}
	xs_buf_printf(&b, "%s", ""); /* terminated */
	char **names = xs_strv_split(b.data);
	xs_buf_free(&b);
	size_t k = 0; /* only the candidates of this version */
	for (size_t i = 0; names && names[i]; i++) {
		bool known = false;
		for (size_t j = 0; xs_hybrid_tool_candidate(j); j++)
			known = known || !strcmp(names[i], xs_hybrid_tool_candidate(j));
		if (known)
			names[k++] = names[i];
		else
			free(names[i]);
	}
	if (names)
		names[k] = NULL;
	*out = names;
}

/* The tools of cands that run natively (the same version in native's
 * view) appended to *names; a note for each that does not. */
static void pick_tools(struct cli_setup *s, struct xs_repo *native, char *const *cands,
		       char ***names)
{
	size_t n = 0, cap = 0;
	while (*names && (*names)[n])
		n++;
	cap = n + 1;
	for (size_t i = 0; cands && cands[i]; i++) {
		char note[512];
		if (!xs_hybrid_tools_pick(cands[i], view_version(s->repo, cands[i]), true,
					  view_version(native, cands[i]), note, sizeof note)) {
			say("--native-tools: %s", note);
			continue;
		}
		xs_grow(names, &cap, n + 2, sizeof **names);
		(*names)[n++] = xs_strdup(cands[i]);
		(*names)[n] = NULL;
	}
}

static const struct xs_arch *build_arch(void)
{
	struct utsname u;
	return uname(&u) == 0 ? xs_arch_lookup(u.machine) : NULL;
}

/* The build architecture's view of list and either the tools of tools
 * or, when one is not NULL, that one alone. */
static int try_open(struct xs_repo_config *cfg, const char *list, char *const *tools,
		    const char *one, struct xs_repo **out, char *err, size_t errsz)
{
	struct xs_buf all;
	xs_buf_init(&all, 1 << 16);
	xs_buf_printf(&all, "%s", list);
	if (one)
		xs_buf_printf(&all, ",%s", one);
	for (size_t i = 0; !one && tools && tools[i]; i++)
		xs_buf_printf(&all, ",%s", tools[i]);
	cfg->packages = all.data;
	int q = xs_repo_open(cfg, out, err, errsz);
	xs_buf_free(&all);
	return q;
}

/* The tools whose build architecture's packages resolve, one by one; a
 * note for each of the others, which leave *tools (they stay emulated). */
static void drop_missing(struct xs_repo_config *cfg, const char *list, char **tools,
			 const char *arch)
{
	size_t k = 0;
	for (size_t i = 0; tools[i]; i++) {
		struct xs_repo *r = NULL;
		char err[4096];
		if (try_open(cfg, list, NULL, tools[i], &r, err, sizeof err) == 0) {
			tools[k++] = tools[i];
		} else {
			say("--native-tools: %s stays emulated: the archive's %s packages do not "
			    "resolve with it (%s)", tools[i], arch, err);
			free(tools[i]);
		}
		xs_repo_free(r);
	}
	tools[k] = NULL;
}

/* open_native's opens with cfg, for the target architecture t. */
static int open_native_with(struct xs_repo_config *cfg, const struct xs_arch *t,
			    const struct xs_arch *b, const char *list, char **tools,
			    struct xs_repo **out)
{
	char err[4096];
	if (tools && tools[0] && try_open(cfg, list, tools, NULL, out, err, sizeof err) == 0)
		return 0;
	if (tools && tools[0]) {
		drop_missing(cfg, list, tools, b->deb);
		if (tools[0] && try_open(cfg, list, tools, NULL, out, err, sizeof err) == 0)
			return 0;
		for (size_t i = 0; tools[i]; i++)
			free(tools[i]);
		tools[0] = NULL;
	}
	if (try_open(cfg, list, NULL, NULL, out, err, sizeof err) == 0)
		return 0;
	say("--native-tools: no native cross toolchain for %s in this archive "
	    "(looked for %s, %s packages): %s; without --native-tools the compilers run "
	    "emulated", t->deb, list, b->deb, err);
	return -1;
}

/* The build architecture's view of the tools, opened from s's sources:
 * the cross packages of list and the packages of tools, those the archive
 * lacks left out of tools with a note (0); -1 after saying why when not
 * even list is there. */
static int open_native(struct cli_setup *s, const struct xs_arch *b, const char *list,
		       char **tools, struct xs_repo **out)
{
	struct xs_repo_config cfg = s->cfg;
	cfg.arch = b->deb;
	cfg.binds = NULL;
	/* the build architecture's indexes read once for all the opens below */
	cfg.memo = xs_selection_memo_new();
	int q = open_native_with(&cfg, s->arch, b, list, tools, out);
	xs_selection_memo_free(cfg.memo);
	return q;
}

static int make_layer(struct cli_setup *s, struct xs_repo *native, char *const *tools,
		      const struct xs_arch *b, struct native_tools *nt)
{
	snprintf(nt->layer, sizeof nt->layer, "%s/" XS_CF_HYBRID "/%s", s->cfg.cache_dir,
		 xs_repo_view_digest(native));
	char err[4096];
	struct xs_hybrid_layer l = { .native = native, .tools = tools,
				     .keep = xs_hybrid_tools_keep(),
				     .lib_triplet = b->triplet, .dir = nt->layer,
				     .log = s->cfg.log, .log_ud = s->cfg.log_ud };
	int q = xs_mkdir_p(nt->layer, 0755);
	if (q == 0)
		rmdir(nt->layer); /* its parent made; the layer is made whole */
	q = xs_hybrid_make_layer(&l, err, sizeof err);
	if (q < 0)
		say("--native-tools: the native tools of %s: %s", b->deb, err);
	return q < 0 ? -1 : 0;
}

int native_tools_prepare(struct cli_setup *s, const char *mount, const char *tmp,
			 struct native_tools *nt)
{
	const struct xs_arch *b = build_arch();
	if (!b) {
		say("--native-tools: the build machine's architecture is not one xsysroot knows");
		return -1;
	}
	if (s->cfg.image) {
		say("--native-tools needs a Debian archive, not --image");
		return -1;
	}
	if (b == s->arch) {
		say("--native-tools: %s programs run natively here already", b->deb);
		return -1;
	}
	char **tools, **cands = NULL;
	struct xs_buf list;
	xs_buf_init(&list, 1 << 16);
	int rc = -1;
	if (cross_names(s->repo, s->arch->triplet, &tools, &list) == 0) {
		say("--native-tools: the view of %s has no compiler package (gcc-N, cpp-N, "
		    "g++-N or binutils-%s): add one with --packages", s->arch->deb,
		    s->arch->triplet);
		goto out;
	}
	foreign_tools(s, &cands);
	struct xs_repo *native = NULL;
	int q = open_native(s, b, list.data, cands, &native);
	if (q < 0)
		goto out;
	pick_tools(s, native, cands, &tools);
	q = make_layer(s, native, tools, b, nt);
	xs_repo_free(native);
	if (q < 0)
		goto out;
	char err[1024];
	snprintf(nt->links, sizeof nt->links, "%s/native-links", tmp);
	if (xs_hybrid_link_target(nt->layer, mount, nt->links, s->arch->triplet, err,
				  sizeof err) < 0 ||
	    xs_mkdir_p(nt->links, 0755) < 0) {
		say("--native-tools: %s", err);
		goto out;
	}
	size_t nb = 0;
	if (xs_hybrid_ldcache(s->arch, b, mount, nt->layer, nt->links, &nb, err, sizeof err) < 0) {
		say("--native-tools: %s", err);
		goto out;
	}
	size_t nh = 0;
	if (xs_hybrid_dpkg_status(mount, nt->links, s->arch->triplet, &nh, err, sizeof err) < 0) {
		say("--native-tools: %s", err);
		goto out;
	}
	xs_logf(s->cfg.log, s->cfg.log_ud, XS_LOG_DEBUG,
		"--native-tools: ld.so.cache with %zu %s libraries, %zu packages held", nb, b->deb,
		nh);
	nt->layers[0] = nt->links;
	nt->layers[1] = nt->layer;
	nt->layers[2] = NULL;
	rc = 0;
out:
	xs_strv_free(tools);
	xs_strv_free(cands);
	xs_buf_free(&list);
	return rc;
}

void native_tools_cleanup(struct native_tools *nt)
{
	if (nt->links[0])
		xs_rm_rf(nt->links);
	nt->links[0] = 0;
}
