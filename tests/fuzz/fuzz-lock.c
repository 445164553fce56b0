/* fuzz-lock.c - xs_lock_parse, xs_lock_format, xs_lock_find (lock.h).
 *
 * Checks: a parsed lock holds only valid values (64-hex digests, sizes of
 * at most 2^63-1, packages sorted by name then architecture and each once,
 * every package's source in range, each Filename a clean relative path, a View-Digest matching them); its text
 * parses back to the same text (format is a fixed point); each package is
 * found by its name; a refusal is -EBADMSG or -E2BIG with a message. */
#include "fuzz.h"
#include "xsysroot/lock.h"

/* No component of path is "..", "." or empty. */
static int clean_path(const char *path)
{
	char *copy = xs_strdup(path), *save = NULL;
	int ok = path[0] != '/' && path[strlen(path) - 1] != '/' && !strstr(path, "//");
	for (char *c = strtok_r(copy, "/", &save); ok && c; c = strtok_r(NULL, "/", &save))
		ok = strcmp(c, "..") && strcmp(c, ".");
	free(copy);
	return ok;
}

static void check_lock(const struct xs_lock *l)
{
	FZ_CHECK(l->arch && l->arch[0] && xs_is_sha256_hex(l->view_digest));
	FZ_CHECK(l->nsrcs <= XS_LOCK_MAX_SOURCES && l->npkgs <= XS_LOCK_MAX_PKGS);
	for (size_t i = 0; i < l->nsrcs; i++)
		FZ_CHECK(xs_is_sha256_hex(l->srcs[i].inrelease_sha256) && l->srcs[i].date >= 0);
	for (size_t i = 0; i < l->npkgs; i++) {
		const struct xs_lock_pkg *p = &l->pkgs[i];
		FZ_CHECK(xs_is_sha256_hex(p->sha256) && p->size >= 1 && p->size <= INT64_MAX);
		FZ_CHECK(p->src < l->nsrcs && p->filename[0] && clean_path(p->filename));
		if (i > 0) {
			int c = strcmp(l->pkgs[i - 1].name, p->name);
			FZ_CHECK(c < 0 || (c == 0 && strcmp(l->pkgs[i - 1].arch, p->arch) < 0));
		}
		const struct xs_lock_pkg *f = xs_lock_find(l, p->name);
		FZ_CHECK(f && !strcmp(f->name, p->name));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_lock l;
	char err[512] = "";
	int q = xs_lock_parse((const char *)data, size, &l, err, sizeof err);
	if (q < 0) {
		FZ_CHECK((q == -EBADMSG || q == -E2BIG) && err[0]);
		xs_lock_free(&l);
		return 0;
	}
	check_lock(&l);
	struct xs_buf a, b;
	xs_buf_init(&a, XS_LOCK_MAX_BYTES);
	xs_buf_init(&b, XS_LOCK_MAX_BYTES);
	FZ_CHECK(xs_lock_format(&l, &a) == 0);
	struct xs_lock back;
	q = xs_lock_parse(a.data, a.len, &back, err, sizeof err);
	if (q != 0)
		fprintf(stderr, "formatted text refused: %s\n", err);
	FZ_CHECK(q == 0 && back.npkgs == l.npkgs && back.nsrcs == l.nsrcs);
	FZ_CHECK(!strcmp(back.view_digest, l.view_digest));
	FZ_CHECK(xs_lock_format(&back, &b) == 0);
	FZ_CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len));
	xs_lock_free(&back);
	xs_lock_free(&l);
	xs_buf_free(&a);
	xs_buf_free(&b);
	return 0;
}
