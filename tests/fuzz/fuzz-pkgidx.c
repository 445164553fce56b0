/* fuzz-pkgidx.c - the compact form of a Packages index (pkgidx.h).
 *
 * The input three ways: as a compact file (refused, or read with as many
 * packages as its footer says); as a compact file whose digest is made to
 * match (so that the sizes, the zstd frame and the Packages text behind the
 * digest are reached), with the same law; and as Packages text which, when
 * the parser accepts it, is written in the compact form and read back to
 * the same names, versions and digests (the round-trip law).  A refusal
 * leaves the table as it was. */
#include "fuzz.h"
#include "xsysroot/pkgidx.h"

static const char IDX[] = "2ddb1737692e8c45c53e8d57c0ce4cd21c78c5703b830c3226b1423566a06c00";

/* Read d[0, n) as a compact file; the table is refused or whole. */
static void load(const uint8_t *d, size_t n)
{
	struct xs_pkgtab t;
	xs_pkgtab_init(&t);
	char err[256];
	int q = xs_pkgidx_load(d, n, NULL, &t, 1, NULL, err, sizeof err);
	if (q < 0)
		FZ_CHECK(t.n == 0 && err[0]);
	else
		FZ_CHECK(n >= XS_PKGIDX_HEADER + XS_PKGIDX_FOOTER);
	xs_pkgtab_free(&t);
}

/* The input with its last 32 bytes set to the digest of the rest. */
static void load_resealed(const uint8_t *data, size_t size)
{
	if (size < XS_PKGIDX_HEADER + XS_PKGIDX_FOOTER)
		return;
	uint8_t *d = xs_xmalloc(size);
	memcpy(d, data, size);
	char hex[65];
	FZ_CHECK(xs_sha256_buf(d, size - 32, hex) == 0);
	for (size_t i = 0; i < 32; i++) {
		unsigned v;
		FZ_CHECK(sscanf(hex + 2 * i, "%2x", &v) == 1);
		d[size - 32 + i] = (uint8_t)v;
	}
	load(d, size);
	free(d);
}

static void round_trip(const uint8_t *data, size_t size)
{
	struct xs_pkgtab t, back;
	xs_pkgtab_init(&t);
	xs_pkgtab_init(&back);
	char err[256];
	if (xs_packages_parse(&t, (const char *)data, size, 2, err, sizeof err) < 0 || !t.n) {
		xs_pkgtab_free(&t);
		return;
	}
	struct xs_pkgidx_id id = { .index_size = size };
	memcpy(id.index_sha256, IDX, sizeof IDX);
	int fd = fz_memfd((const uint8_t *)"", 0);
	int q = xs_pkgidx_write_fd(t.pkgs, t.n, &id, fd);
	FZ_CHECK(q == 0 || q == -EBADMSG);
	off_t end = lseek(fd, 0, SEEK_END);
	if (q == 0) {
		uint8_t *d = xs_xmalloc((size_t)end + 1);
		FZ_CHECK(pread(fd, d, (size_t)end, 0) == end);
		FZ_CHECK(xs_pkgidx_load(d, (size_t)end, &id, &back, 2, NULL, err, sizeof err) == 0);
		FZ_CHECK(back.n == t.n);
		for (size_t i = 0; i < t.n; i++)
			FZ_CHECK(!strcmp(t.pkgs[i].name, back.pkgs[i].name) &&
				 !strcmp(t.pkgs[i].version, back.pkgs[i].version) &&
				 !strcmp(t.pkgs[i].sha256, back.pkgs[i].sha256) &&
				 t.pkgs[i].size == back.pkgs[i].size &&
				 !t.pkgs[i].unusable == !back.pkgs[i].unusable);
		free(d);
	}
	close(fd);
	xs_pkgtab_free(&back);
	xs_pkgtab_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	load(data, size);
	load_resealed(data, size);
	round_trip(data, size);
	return 0;
}
