/* fuzz-deb.c - xs_deb_unpack (deb.h) of arbitrary bytes as a .deb, into a
 * store in a scratch directory made once (emptied every few thousand runs).
 *
 * Small limits keep each run fast whatever the compression ratio.  Checks
 * on success: limits
 * hold; paths are normalised and unique; only a directory is the root; no
 * setuid/setgid/sticky bit; every regular file's object is in the store
 * with its size; the manifest serialises and parses back.  On failure:
 * an empty manifest and a reason. */
#include "fuzz.h"
#include "xsysroot/deb.h"
#include "xsysroot/store.h"

#include <sys/stat.h>

#define RESET_EVERY 2048

static struct xs_store *store;
static char storedir[512];
static unsigned runs;

static const struct xs_limits lim = {
	.max_total = 1u << 20,
	.max_file = 256u << 10,
	.max_entries = 256,
};

static void store_close(void)
{
	xs_store_close(store);
	store = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = fz_tmpdir();
	snprintf(storedir, sizeof storedir, "%s/store", dir);
	if (xs_store_open(storedir, &store) < 0) {
		perror("fuzz-deb: setup");
		abort();
	}
	atexit(store_close); /* registered after fz_tmpdir's: runs first */
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_manifest(const struct xs_manifest *m)
{
	char norm[XS_MAX_PATH + 1];
	uint64_t total = 0;
	FZ_CHECK(m->n <= lim.max_entries);
	char **paths = xs_xcalloc(m->n ? m->n : 1, sizeof *paths);
	for (size_t i = 0; i < m->n; i++) {
		const struct xs_entry *e = &m->e[i];
		FZ_CHECK(e->path && e->type >= XS_E_DIR && e->type <= XS_E_OTHER);
		FZ_CHECK(xs_path_normalize(e->path, norm, sizeof norm) == 0 &&
			 strcmp(norm, e->path) == 0);
		FZ_CHECK(e->path[0] || e->type == XS_E_DIR);
		FZ_CHECK(!(e->mode & (S_ISUID | S_ISGID | S_ISVTX)));
		paths[i] = e->path;
		switch (e->type) {
		case XS_E_REG: {
			FZ_CHECK(xs_is_sha256_hex(e->sha256) && S_ISREG(e->mode));
			FZ_CHECK(e->size <= lim.max_file);
			total += e->size;
			int fd = xs_store_open_object(store, e->sha256);
			FZ_CHECK(fd >= 0);
			char hex[65];
			uint64_t sz;
			FZ_CHECK(xs_sha256_fd(fd, hex, &sz) == 0);
			FZ_CHECK(sz == e->size && strcmp(hex, e->sha256) == 0);
			close(fd);
			break;
		}
		case XS_E_HARDLINK:
			FZ_CHECK(xs_is_sha256_hex(e->sha256) && e->link && e->link[0]);
			FZ_CHECK(xs_path_normalize(e->link, norm, sizeof norm) == 0 &&
				 strcmp(norm, e->link) == 0 && strcmp(e->link, e->path) != 0);
			FZ_CHECK(xs_store_has_object(store, e->sha256));
			break;
		case XS_E_SYMLINK:
			FZ_CHECK(e->link && e->link[0] && strlen(e->link) <= XS_MAX_PATH);
			FZ_CHECK(S_ISLNK(e->mode));
			break;
		case XS_E_DIR:
			FZ_CHECK(S_ISDIR(e->mode) && !e->link);
			break;
		default:
			FZ_CHECK(!e->link && (S_ISCHR(e->mode) || S_ISBLK(e->mode) ||
					      S_ISFIFO(e->mode) || S_ISSOCK(e->mode)));
		}
	}
	FZ_CHECK(total <= lim.max_total);
	qsort(paths, m->n, sizeof *paths, cmp_str);
	for (size_t i = 1; i < m->n; i++)
		FZ_CHECK(strcmp(paths[i - 1], paths[i]) != 0);
	free(paths);

	char *text;
	size_t len;
	struct xs_manifest back;
	FZ_CHECK(xs_manifest_serialize(m, &text, &len) == 0);
	FZ_CHECK(xs_manifest_parse(text, len, &back) == 0 && back.n == m->n);
	xs_manifest_free(&back);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (++runs % RESET_EVERY == 0) { /* bound the scratch space */
		xs_store_close(store);
		FZ_CHECK(xs_rm_rf(storedir) == 0);
		FZ_CHECK(xs_store_open(storedir, &store) == 0);
	}
	int fd = fz_memfd(data, size);
	struct xs_manifest m;
	char err[512];
	int r = xs_deb_unpack(store, fd, &lim, &m, err, sizeof err);
	close(fd);
	if (r == 0) {
		check_manifest(&m);
		FZ_CHECK(xs_store_sync(store) == 0);
	} else {
		FZ_CHECK(r < 0 && m.n == 0 && m.e == NULL && err[0]);
	}
	xs_manifest_free(&m);
	return 0;
}
