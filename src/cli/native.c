/* native.c - run --strict --native-tools (native.h). */
#include "native.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "output.h"
#include "xsysroot/cachefiles.h"
#include "xsysroot/hybrid.h"

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

static const struct xs_arch *build_arch(void)
{
	struct utsname u;
	return uname(&u) == 0 ? xs_arch_lookup(u.machine) : NULL;
}

/* The build architecture's view of the tools, opened from s's sources. */
static int open_native(struct cli_setup *s, const struct xs_arch *b, const char *list,
		       struct xs_repo **out)
{
	struct xs_repo_config cfg = s->cfg;
	cfg.arch = b->deb;
	cfg.packages = list;
	cfg.binds = NULL;
	char err[4096];
	if (xs_repo_open(&cfg, out, err, sizeof err) == 0)
		return 0;
	say("--native-tools: no native cross toolchain for %s in this archive "
	    "(looked for %s, %s packages): %s; without --native-tools the compilers run "
	    "emulated", s->arch->deb, list, b->deb, err);
	return -1;
}

static int make_layer(struct cli_setup *s, struct xs_repo *native, char **tools,
		      const struct xs_arch *b, struct native_tools *nt)
{
	snprintf(nt->layer, sizeof nt->layer, "%s/" XS_CF_HYBRID "/%s", s->cfg.cache_dir,
		 xs_repo_view_digest(native));
	char err[4096];
	struct xs_hybrid_layer l = { .native = native, .tools = tools,
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
	char **tools;
	struct xs_buf list;
	xs_buf_init(&list, 1 << 16);
	int rc = -1;
	if (cross_names(s->repo, s->arch->triplet, &tools, &list) == 0) {
		say("--native-tools: the view of %s has no compiler package (gcc-N, cpp-N, "
		    "g++-N or binutils-%s): add one with --packages", s->arch->deb,
		    s->arch->triplet);
		goto out;
	}
	struct xs_repo *native = NULL;
	if (open_native(s, b, list.data, &native) < 0)
		goto out;
	int q = make_layer(s, native, tools, b, nt);
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
	xs_buf_free(&list);
	return rc;
}

void native_tools_cleanup(struct native_tools *nt)
{
	if (nt->links[0])
		xs_rm_rf(nt->links);
	nt->links[0] = 0;
}
