/* test-pkgidx.c - the compact form of a Packages index: the fixture
 * repository's real arm64 Packages (data/fixture-arm64.Packages, copied
 * from what tests/fixtures/mkrepo.py builds) and a few made-up stanzas
 * (continuation lines, a hostile Filename, Provides with an arch and a
 * version) written and read back give the table the parser gives; a file
 * cut anywhere, a flipped bit anywhere, another version, another index and
 * trailing bytes are refused, and a refusal leaves the table as it was. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/pkgidx.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char made_up[] =
	"Package: multi\nVersion: 1:2.0-1\nArchitecture: arm64\nMulti-Arch: same\n"
	"Filename: pool/m/multi_2.0-1_arm64.deb\nSize: 42\n"
	"SHA256: 8E6B4AD0BD8B5F5A4C5A0A3A2B1F4FD9E2A6A0C3CD0B4C3C8F8E1E9D7B6A5F40\n"
	"Depends: libc6 (>= 2.36),\n libfoo1 | libbar1 [arm64] <!nocheck>\n"
	"Pre-Depends: dpkg (>= 1.19)\nProvides: virt:any, other (= 1.0), x:arm64 (= 2)\n"
	"Essential: yes\nSource: multisrc (1.9)\nSection: libs\nInstalled-Size: 77\n"
	"Description: dropped\n more\n\n"
	"Package: evil\nVersion: 1\nArchitecture: all\nFilename: ../../etc/passwd\nSize: 1\n"
	"SHA256: 8e6b4ad0bd8b5f5a4c5a0a3a2b1f4fd9e2a6a0c3cd0b4c3c8f8e1e9d7b6a5f41\n\n";

static const char *IDX = "2ddb1737692e8c45c53e8d57c0ce4cd21c78c5703b830c3226b1423566a06c00";
static const char *REL = "d579da03f72dcc36d579da03f72dcc36d579da03f72dcc36d579da03f72dcc36";

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_dep(const struct xs_dep *a, const struct xs_dep *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (a->alts[i].n != b->alts[i].n)
			return false;
		for (size_t k = 0; k < a->alts[i].n; k++) {
			const struct xs_dep_atom *x = &a->alts[i].atoms[k], *y = &b->alts[i].atoms[k];
			if (strcmp(x->name, y->name) || !same_str(x->archq, y->archq) ||
			    x->op != y->op || !same_str(x->version, y->version))
				return false;
		}
	}
	return true;
}

/* NULL, or the first field in which p and q differ */
static const char *differs(struct xs_pkg *p, struct xs_pkg *q)
{
	if (strcmp(p->name, q->name) || strcmp(p->version, q->version) ||
	    strcmp(p->arch, q->arch) || strcmp(p->filename, q->filename))
		return "name, version, arch or filename";
	if (!same_str(p->multi_arch, q->multi_arch) || !same_str(p->source, q->source) ||
	    !same_str(p->section, q->section))
		return "multi-arch, source or section";
	if (strcmp(p->sha256, q->sha256) || p->size != q->size ||
	    p->installed_size != q->installed_size || p->essential != q->essential ||
	    p->origin != q->origin)
		return "sha256, sizes, essential or origin";
	if (!same_str(p->depends_text, q->depends_text) ||
	    !same_str(p->pre_depends_text, q->pre_depends_text) || !same_str(p->unusable, q->unusable))
		return "dependency texts or unusable";
	if (xs_pkg_deps(p) < 0 || xs_pkg_deps(q) < 0 || !same_dep(&p->depends, &q->depends) ||
	    !same_dep(&p->pre_depends, &q->pre_depends) || !same_dep(&p->provides, &q->provides))
		return "parsed dependencies or provides";
	return NULL;
}

static void id_of(struct xs_pkgidx_id *id, const char *idx, uint64_t size, const char *rel)
{
	memset(id, 0, sizeof *id);
	snprintf(id->index_sha256, sizeof id->index_sha256, "%s", idx);
	id->index_size = size;
	snprintf(id->inrelease_sha256, sizeof id->inrelease_sha256, "%s", rel);
}

/* The compact form of t, as bytes. */
static char *compact(const struct xs_pkgtab *t, const struct xs_pkgidx_id *id, size_t *len)
{
	int fd = tl_memfd("", 0);
	CHECK_INT(xs_pkgidx_write_fd(t->pkgs, t->n, id, fd), 0, "written (%zu packages)", t->n);
	off_t end = lseek(fd, 0, SEEK_END);
	char *d = xs_xmalloc((size_t)end + 1);
	CHECK(pread(fd, d, (size_t)end, 0) == end, "read back");
	close(fd);
	*len = (size_t)end;
	return d;
}

static struct xs_pkgtab parsed(const char *text, size_t n, int origin)
{
	struct xs_pkgtab t;
	char err[256] = "";
	xs_pkgtab_init(&t);
	CHECK_INT(xs_packages_parse(&t, text, n, origin, err, sizeof err), 0, "parsed: %s", err);
	return t;
}

static void round_trip(const char *what, const char *text, size_t n)
{
	struct xs_pkgtab t = parsed(text, n, 3), back;
	struct xs_pkgidx_id id, got;
	id_of(&id, IDX, 8689464, REL);
	size_t len;
	char *d = compact(&t, &id, &len), err[256] = "";
	xs_pkgtab_init(&back);
	CHECK_INT(xs_pkgidx_load(d, len, &id, &back, 3, &got, err, sizeof err), 0,
		  "%s: read back (%s)", what, err);
	CHECK_INT(back.n, t.n, "%s: as many packages", what);
	const char *diff = NULL;
	size_t at = 0;
	for (size_t i = 0; !diff && i < t.n && i < back.n; i++)
		if ((diff = differs(&t.pkgs[i], &back.pkgs[i])))
			at = i;
	CHECK(!diff, "%s: every package the same (first difference: %s of %s)", what,
	      diff ? diff : "-", diff ? t.pkgs[at].name : "-");
	CHECK(!strcmp(got.index_sha256, IDX) && got.index_size == 8689464 &&
		      !strcmp(got.inrelease_sha256, REL),
	      "%s: the file says which index and InRelease it came from", what);
	CHECK(len < n || n < 4096, "%s: smaller than the text (%zu < %zu)", what, len, n);
	xs_pkgtab_free(&back);
	xs_pkgtab_free(&t);
	free(d);
}

/* Every way of damaging d is refused, and t keeps its one package. */
static void refused(const char *d, size_t len, const struct xs_pkgidx_id *id)
{
	struct xs_pkgtab t = parsed(made_up, sizeof made_up - 1, 0);
	size_t n0 = t.n, cuts = 0, cut_ok = 0, flips = 0, flip_ok = 0;
	char *x = xs_xmalloc(len + 16), err[256];
	for (size_t at = 0; at < len; at += at < 256 ? 1 : 61) { /* cut at at */
		cuts++;
		err[0] = 0;
		cut_ok += xs_pkgidx_load(d, at, NULL, &t, 0, NULL, err, sizeof err) < 0 && err[0];
	}
	CHECK(cuts == cut_ok, "cut at %zu places: every one refused with a reason (%zu)", cuts,
	      cut_ok);
	for (size_t at = 0; at < len; at += at < 256 ? 1 : 53) { /* one bit of byte at */
		memcpy(x, d, len);
		x[at] ^= (char)(1u << (at % 8));
		flips++;
		flip_ok += xs_pkgidx_load(x, len, NULL, &t, 0, NULL, err, sizeof err) < 0;
	}
	CHECK(flips == flip_ok, "a bit flipped at %zu places: every one refused (%zu)", flips,
	      flip_ok);
	memcpy(x, d, len);
	memcpy(x + len, "\n\n", 2);
	CHECK(xs_pkgidx_load(x, len + 2, NULL, &t, 0, NULL, err, sizeof err) < 0,
	      "trailing bytes refused");
	x[8] = 2; /* the version */
	CHECK_INT(xs_pkgidx_load(x, len, NULL, &t, 0, NULL, err, sizeof err), -EPROTO,
		  "another format version refused: %s", err);
	CHECK(strstr(err, "version 2"), "the error says the version: %s", err);
	struct xs_pkgidx_id other = *id;
	other.index_sha256[0] = other.index_sha256[0] == 'a' ? 'b' : 'a';
	CHECK_INT(xs_pkgidx_load(d, len, &other, &t, 0, NULL, err, sizeof err), -ESTALE,
		  "a file of another index refused: %s", err);
	other = *id;
	other.index_size++;
	CHECK_INT(xs_pkgidx_load(d, len, &other, &t, 0, NULL, err, sizeof err), -ESTALE,
		  "a file of an index of another size refused");
	CHECK_INT(t.n, n0, "a refused file adds nothing to the table");
	CHECK_INT(xs_pkgidx_load(d, len, id, &t, 0, NULL, err, sizeof err), 0,
		  "the undamaged file is read (appended to the table)");
	xs_pkgtab_free(&t);
	free(x);
}

static void test_fixture(void)
{
	struct xs_buf b;
	CHECK_INT(xs_read_file("data/fixture-arm64.Packages", 16 << 20, &b), 0,
		  "the fixture's Packages");
	round_trip("fixture", b.data, b.len);
	round_trip("made up", made_up, sizeof made_up - 1);
	struct xs_pkgtab t = parsed(b.data, b.len, 0);
	struct xs_pkgidx_id id;
	id_of(&id, IDX, 35644, "");
	size_t len;
	char *d = compact(&t, &id, &len);
	refused(d, len, &id);
	const char *path = tl_path("packages.idx");
	tl_write_file(path, d, len, 0644);
	struct xs_pkgtab u;
	xs_pkgtab_init(&u);
	char err[256];
	struct xs_pkgidx_id got;
	err[0] = 0;
	CHECK_INT(xs_pkgidx_load_path(path, &id, &u, 0, &got, err, sizeof err), 0,
		  "read from its file: %s", err);
	CHECK(u.n == t.n && !got.inrelease_sha256[0], "all of it, InRelease unknown");
	CHECK_INT(xs_pkgidx_load_path(tl_path("absent.idx"), &id, &u, 0, NULL, err, sizeof err),
		  -ENOENT, "an absent file is -ENOENT");
	tl_write_file(path, d, len / 2, 0644);
	CHECK_INT(xs_pkgidx_load_path(path, &id, &u, 0, NULL, err, sizeof err), -EBADMSG,
		  "a file cut in half is refused: %s", err);
	xs_pkgtab_free(&u);
	xs_pkgtab_free(&t);
	free(d);
	xs_buf_free(&b);
}

static void test_unwritable(void)
{
	struct xs_pkgtab t = parsed(made_up, sizeof made_up - 1, 0);
	struct xs_pkgidx_id id;
	id_of(&id, "not hex", 1, "");
	int fd = tl_memfd("", 0);
	CHECK_INT(xs_pkgidx_write_fd(t.pkgs, t.n, &id, fd), -EINVAL, "a bad index digest");
	id_of(&id, IDX, 1, "");
	t.pkgs[0].section[0] = '\n'; /* a value the parser could not read back */
	CHECK_INT(xs_pkgidx_write_fd(t.pkgs, t.n, &id, fd), -EBADMSG,
		  "a value that would not read back is not written");
	close(fd);
	xs_pkgtab_free(&t);
}

int main(void)
{
	test_fixture();
	test_unwritable();
	return tap_done();
}
