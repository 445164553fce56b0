/* fuzz-manifest.c - xs_manifest_parse and xs_manifest_serialize (deb.h).
 *
 * Checks: a failed parse leaves an empty manifest; every parsed entry has
 * a normalised path, a type, no setuid/setgid/sticky bit, a digest and a
 * link exactly where its type has them; serialize accepts what parse gave
 * and parse(serialize(m)) is m again, with the same text on a second
 * round. */
#include "fuzz.h"
#include "xsysroot/deb.h"

#include <sys/stat.h>

static void check_entries(const struct xs_manifest *m)
{
	char norm[XS_MAX_PATH + 1];
	for (size_t i = 0; i < m->n; i++) {
		const struct xs_entry *e = &m->e[i];
		FZ_CHECK(e->type >= XS_E_DIR && e->type <= XS_E_OTHER && e->path);
		FZ_CHECK(xs_path_normalize(e->path, norm, sizeof norm) == 0 &&
			 strcmp(norm, e->path) == 0);
		FZ_CHECK(!(e->mode & (S_ISUID | S_ISGID | S_ISVTX)));
		bool sha = e->type == XS_E_REG || e->type == XS_E_HARDLINK;
		bool link = e->type == XS_E_SYMLINK || e->type == XS_E_HARDLINK;
		FZ_CHECK(!sha || xs_is_sha256_hex(e->sha256));
		FZ_CHECK(link == (e->link != NULL));
	}
}

static bool same(const struct xs_manifest *a, const struct xs_manifest *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct xs_entry *x = &a->e[i], *y = &b->e[i];
		bool sha = x->type == XS_E_REG || x->type == XS_E_HARDLINK;
		if (x->type != y->type || x->mode != y->mode || x->uid != y->uid ||
		    x->gid != y->gid || x->mtime != y->mtime || x->size != y->size ||
		    x->rdev != y->rdev || strcmp(x->path, y->path) ||
		    (sha && strcmp(x->sha256, y->sha256)) || !x->link != !y->link ||
		    (x->link && strcmp(x->link, y->link)))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_manifest m, m2, m3;
	int r = xs_manifest_parse((const char *)data, size, &m);
	if (r < 0) {
		FZ_CHECK(r == -EBADMSG && m.n == 0 && m.e == NULL);
		return 0;
	}
	FZ_CHECK(r == 0);
	check_entries(&m);

	char *text, *text2;
	size_t len, len2;
	FZ_CHECK(xs_manifest_serialize(&m, &text, &len) == 0);
	FZ_CHECK(xs_manifest_parse(text, len, &m2) == 0);
	FZ_CHECK(same(&m, &m2));
	FZ_CHECK(xs_manifest_serialize(&m2, &text2, &len2) == 0);
	FZ_CHECK(len == len2 && memcmp(text, text2, len) == 0);
	FZ_CHECK(xs_manifest_parse(text2, len2, &m3) == 0 && same(&m, &m3));
	free(text);
	free(text2);
	xs_manifest_free(&m);
	xs_manifest_free(&m2);
	xs_manifest_free(&m3);
	return 0;
}
