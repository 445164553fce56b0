/* cli.c - a foreign ELF file and what it needs from a view; see cli.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"
#include "xsysroot/arch.h"
#include "xsysroot/elf.h"
#include "xsysroot/sysroot.h"
#include "xsysroot/util.h"

/* ---- a foreign ELF file and what it needs from a view ------------------- */

int elf_load(const char *file, struct xs_elf *e)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "xsysroot: %s: %s\n", file,
			fd < 0 || errno ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t len = (size_t)st.st_size;
	void *map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "xsysroot: %s: %s\n", file, strerror(errno));
		return -1;
	}
	char err[4096] = "";
	int q = xs_elf_parse(map, len, e, err, sizeof err);
	if (map)
		munmap(map, len);
	if (q < 0) {
		fprintf(stderr, "xsysroot: %s: %s\n", file,
			q == -ENOEXEC ? "not an ELF file" : err[0] ? err : strerror(-q));
		return -1;
	}
	/* the file's strings go to a terminal: no control characters */
	char *strs[] = { e->interp, e->rpath, e->runpath, e->soname };
	for (size_t i = 0; i < XS_ARRAY_SIZE(strs) + e->nneeded; i++)
		for (char *p = i < XS_ARRAY_SIZE(strs) ? strs[i] : e->needed[i - XS_ARRAY_SIZE(strs)];
		     p && *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	return 0;
}

const char *elf_mismatch(const struct xs_elf *e, const struct xs_arch *a)
{
	return xs_arch_elf_mismatch(a, e->elf_class, e->elf_data, e->machine, e->flags);
}

bool view_path_of(const char *abs, char *out, size_t outsz)
{
	char norm[XS_MAX_PATH + 1];
	return abs[0] == '/' && xs_path_normalize(abs, norm, sizeof norm) == 0 &&
	       xs_view_present_path(norm, out, outsz) == 0;
}

bool view_has(struct xs_repo *r, enum xs_lookup_mode mode, const char *vpath,
	      struct xs_vattr *va)
{
	struct xs_lookup lk;
	xs_lookup_init_repo(&lk, r, mode, NULL, NULL);
	return xs_lookup_path(&lk, vpath, va) == 0 && !S_ISDIR(va->mode); /* pending: mode 0 */
}

/* Append the view form of each absolute directory of a DT_RUNPATH/DT_RPATH
 * list; entries with $ORIGIN or other tokens, and relative ones, name host
 * places and are left out. */
static void add_path_list(const char *list, char ***dirs, size_t *n, size_t *cap)
{
	char *copy = xs_strdup(list), *save = NULL;
	for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
		char v[XS_MAX_PATH + 8];
		if (strchr(t, '$') || !view_path_of(t, v, sizeof v))
			continue;
		xs_grow(dirs, cap, *n + 1, sizeof **dirs);
		(*dirs)[(*n)++] = xs_strdup(v);
	}
	free(copy);
}

/* One lookup of a path (already in view form) for cb. */
static void need_path(struct xs_repo *r, struct elf_need *n, char *vpath, elf_need_fn cb,
		      void *ud)
{
	struct xs_vattr va;
	if (view_has(r, XS_LOOKUP_PEEK, vpath, &va)) {
		n->found = vpath;
		n->pkg = va.pkg;
	} else {
		n->cands = &vpath;
		n->ncands = 1;
	}
	cb(r, n, ud);
}

/* musl's dynamic loader (/lib/ld-musl-ARCH.so.1) is its libc.so too:
 * Debian ships it in the package musl, and a musl program's DT_NEEDED
 * libc.so, like the names musl keeps for itself (libc, libpthread, librt,
 * libm, libdl, libutil, libxnet: "lib" NAME then '.' or the end), is the
 * loader itself, never a file looked up (glibc's libc.so, in libc6-dev, is
 * a linker script). */
static bool is_musl_loader(const char *interp)
{
	const char *b = strrchr(interp, '/');
	b = b ? b + 1 : interp;
	return !strncmp(b, "ld-musl-", 8) && strstr(b, ".so.");
}

static bool musl_builtin(const char *name)
{
	static const char *const own[] = { "c", "pthread", "rt", "m", "dl", "util", "xnet" };
	if (strncmp(name, "lib", 3))
		return false;
	for (size_t i = 0; i < XS_ARRAY_SIZE(own); i++) {
		size_t n = strlen(own[i]);
		if (!strncmp(name + 3, own[i], n) && (name[3 + n] == '.' || !name[3 + n]))
			return true;
	}
	return false;
}

/* Append the view form of the directories musl's loader (interp,
 * ld-musl-ARCH.so.1) searches: Debian's /etc/ld-musl-ARCH.path (its
 * ARCH-linux-musl directories), then musl's default /lib:/usr/local/lib:/usr/lib. */
static void musl_search_dirs(const char *interp, char ***dirs, size_t *n, size_t *cap)
{
	const char *b = strrchr(interp, '/');
	b = b ? b + 9 : interp + 8; /* past "ld-musl-" */
	int alen = (int)strcspn(b, ".");
	char *list = fmt_str("/lib/%.*s-linux-musl:/usr/lib/%.*s-linux-musl:"
			     "/usr/local/lib/%.*s-linux-musl:/lib:/usr/local/lib:/usr/lib",
			     alen, b, alen, b, alen, b);
	add_path_list(list, dirs, n, cap);
	free(list);
}

/* The interpreter's need (its view path into v, "" when it has none). */
static void need_interp(struct xs_repo *r, const struct xs_elf *e, char *v, size_t vsz,
			elf_need_fn cb, void *ud)
{
	char label[XS_MAX_PATH + 32];
	v[0] = 0;
	if (!e->interp)
		return;
	snprintf(label, sizeof label, "interpreter %s", e->interp);
	struct elf_need n = { .label = label, .pkg = -1 };
	if (!view_path_of(e->interp, v, vsz)) {
		v[0] = 0;
		n.why = "not an absolute path in the sysroot";
		cb(r, &n, ud);
	} else {
		char cand[XS_MAX_PATH + 8];
		snprintf(cand, sizeof cand, "%s", v);
		need_path(r, &n, cand, cb, ud);
	}
}

void elf_needs_foreach(struct xs_repo *r, const struct xs_elf *e, elf_need_fn cb, void *ud)
{
	const struct xs_arch *a = xs_repo_arch(r);
	char interp_v[XS_MAX_PATH + 8];
	need_interp(r, e, interp_v, sizeof interp_v, cb, ud);
	bool musl = interp_v[0] && is_musl_loader(e->interp);
	/* the search order: DT_RPATH (without DT_RUNPATH), DT_RUNPATH, then the
	 * view's ld.so.conf / ld.so.cache order */
	char **dirs = NULL;
	size_t ndirs = 0, capdirs = 0;
	if (e->rpath && !e->runpath)
		add_path_list(e->rpath, &dirs, &ndirs, &capdirs);
	if (e->runpath)
		add_path_list(e->runpath, &dirs, &ndirs, &capdirs);
	if (musl) {
		musl_search_dirs(e->interp, &dirs, &ndirs, &capdirs);
	} else {
		char **std_dirs = xs_sysroot_search_dirs(a->triplet, NULL, 0, NULL);
		for (size_t i = 0; std_dirs[i]; i++) {
			xs_grow(&dirs, &capdirs, ndirs + 1, sizeof *dirs);
			dirs[ndirs++] = std_dirs[i];
		}
		free(std_dirs); /* its strings now belong to dirs */
	}
	for (size_t i = 0; i < e->nneeded; i++) {
		const char *name = e->needed[i];
		struct elf_need n = { .label = name, .pkg = -1 };
		if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
			n.why = "not a library name";
			cb(r, &n, ud);
			continue;
		}
		if (musl && musl_builtin(name)) {
			/* the musl loader itself: its package (musl) */
			char v[XS_MAX_PATH + 8];
			snprintf(v, sizeof v, "%s", interp_v);
			need_path(r, &n, v, cb, ud);
			continue;
		}
		if (strchr(name, '/')) {
			/* a path: used as it is */
			char v[XS_MAX_PATH + 8];
			if (!view_path_of(name, v, sizeof v)) {
				n.why = "a relative path: looked up from the current directory at "
					"run time";
				cb(r, &n, ud);
			} else {
				need_path(r, &n, v, cb, ud);
			}
			continue;
		}
		char **cands = xs_xcalloc(ndirs, sizeof *cands);
		size_t k;
		struct xs_vattr va;
		for (k = 0; k < ndirs && !n.found; k++) {
			cands[k] = fmt_str("%s%s%s", dirs[k], *dirs[k] ? "/" : "", name);
			if (view_has(r, XS_LOOKUP_PEEK, cands[k], &va)) {
				n.found = cands[k];
				n.pkg = va.pkg;
			}
		}
		n.cands = cands;
		n.ncands = k;
		cb(r, &n, ud);
		for (k = 0; k < ndirs; k++)
			free(cands[k]);
		free(cands);
	}
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);
}
