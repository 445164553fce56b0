/* hybridtools.c - the tools besides the compilers that run natively in a
 * hybrid build root (hybridtools.h). */
#include "xsysroot/hybridtools.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "xsysroot/archive.h"
#include "xsysroot/cachefiles.h"
#include "xsysroot/decompress.h"
#include "xsysroot/packages.h"
#include "xsysroot/pkgidx.h"
#include "xsysroot/release.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"

#define MAX_PACKAGES_TEXT (1ull << 30)

/* Rule (b): tools whose output does not depend on the machine they run on
 * (dash, sed, grep, gawk, m4, findutils, tar, xz, gzip, diffutils, and
 * coreutils but for the paths of keep[]). */
static const char *const candidates[] = {
	"dash", "sed", "grep", "coreutils", "gawk", "m4", "findutils",
	"tar", "xz-utils", "gzip", "diffutils",
};

/* uname and arch report the machine; stdbuf preloads its library into
 * whatever program it runs, which may be an emulated one */
static char *const keep[] = {
	"usr/bin/uname", "usr/bin/arch", "usr/bin/stdbuf",
	"usr/libexec/coreutils/libstdbuf.so", NULL,
};

const char *xs_hybrid_tool_candidate(size_t i)
{
	return i < XS_ARRAY_SIZE(candidates) ? candidates[i] : NULL;
}

char *const *xs_hybrid_tools_keep(void)
{
	return keep;
}

int xs_hybrid_tools_pick(const char *name, const char *target_version, bool foreign,
			 const char *native_version, char *note, size_t notesz)
{
	note[0] = 0;
	if (!target_version)
		return 0;
	if (!foreign) {
		snprintf(note, notesz, "%s %s stays emulated: its Packages stanza does not say "
			 "Multi-Arch: foreign", name, target_version);
		return 0;
	}
	if (!native_version) {
		snprintf(note, notesz, "%s %s stays emulated: the build architecture has no "
			 "such package in this archive", name, target_version);
		return 0;
	}
	if (strcmp(native_version, target_version)) {
		snprintf(note, notesz, "%s %s stays emulated: the build architecture's is "
			 "version %s", name, target_version, native_version);
		return 0;
	}
	return 1;
}

struct scan {
	const char *const *names, *const *versions;
	size_t n;
	bool *foreign;
};

static int check_one(struct xs_pkg *p, size_t idx, void *ud)
{
	(void)idx;
	const char *version = ud;
	return !strcmp(p->version, version) && p->multi_arch &&
	       !strcmp(p->multi_arch, "foreign");
}

static int feed(const void *p, size_t n, void *ud)
{
	char perr[256];
	return xs_packages_stream_feed(ud, p, n, perr, sizeof perr);
}

/* The cached index f as the selection keeps it, its compact form
 * (pkgidx.h), into tab: 0, -ENOENT when there is none, or another
 * negative errno with err set. */
static int load_compact(struct xs_store *store, const struct xs_release_file *f,
			struct xs_pkgtab *tab, char *err, size_t errsz)
{
	char name[96], path[XS_MAX_PATH], why[256] = "";
	struct xs_pkgidx_id id = { .index_size = f->size };
	snprintf(id.index_sha256, sizeof id.index_sha256, "%s", f->sha256);
	int q = xs_cf_build(XS_CF_PACKAGES_IDX, f->sha256, name, sizeof name);
	if (q == 0)
		q = xs_store_meta_path(store, name, path, sizeof path);
	if (q == 0)
		q = xs_pkgidx_load_path(path, &id, tab, 0, NULL, why, sizeof why);
	if (q < 0 && q != -ENOENT)
		snprintf(err, errsz, "%s: %s", path, why);
	return q;
}

/* The cached index f as a raw object (kept by an older xsysroot) into tab. */
static int load_raw(struct xs_store *store, const struct xs_release_file *f,
		    struct xs_pkgtab *tab, char *err, size_t errsz)
{
	int fd = xs_store_open_object(store, f->sha256);
	if (fd < 0) {
		snprintf(err, errsz, "%s: not in the cache (%s)", f->path, strerror(-fd));
		return fd;
	}
	struct xs_packages_stream *ps = NULL;
	int q = xs_packages_stream_new(tab, 0, &ps);
	if (q == 0)
		q = xs_decompress_fd(fd, MAX_PACKAGES_TEXT, feed, ps);
	close(fd);
	char perr[512] = "";
	if (q == 0)
		q = xs_packages_stream_end(ps, perr, sizeof perr);
	xs_packages_stream_free(ps);
	if (q < 0)
		snprintf(err, errsz, "%s: %s", f->path, perr[0] ? perr : strerror(-q));
	return q;
}

/* One cached index read, and the candidates looked up in it. */
static int scan_index(struct xs_store *store, const struct xs_release_file *f,
		      const struct scan *sc, char *err, size_t errsz)
{
	struct xs_pkgtab tab;
	xs_pkgtab_init(&tab);
	int q = load_compact(store, f, &tab, err, errsz);
	if (q == -ENOENT)
		q = load_raw(store, f, &tab, err, errsz);
	for (size_t i = 0; q == 0 && i < sc->n; i++)
		if (!sc->foreign[i] && xs_pkgtab_foreach_name(&tab, sc->names[i], check_one,
							      (void *)sc->versions[i]) > 0)
			sc->foreign[i] = true;
	xs_pkgtab_free(&tab);
	return q;
}

int xs_hybrid_tools_foreign(const struct xs_archive *a, struct xs_store *store,
			    const char *arch, const char *const *names,
			    const char *const *versions, size_t n, bool *foreign, char *err,
			    size_t errsz)
{
	const struct scan sc = { names, versions, n, foreign };
	for (size_t i = 0; i < n; i++)
		foreign[i] = false;
	err[0] = 0;
	for (size_t s = 0; s < xs_archive_nsources(a); s++) {
		const struct xs_archive_source *as = xs_archive_source(a, s);
		for (size_t c = 0; !as->skipped && as->components[c]; c++) {
			char stem[256];
			snprintf(stem, sizeof stem, "%s/binary-%s/Packages", as->components[c],
				 arch);
			const struct xs_release_file *f = xs_archive_find_index(a, s, stem);
			int q = f ? scan_index(store, f, &sc, err, errsz) : 0;
			if (q < 0)
				return q;
		}
	}
	return 0;
}
