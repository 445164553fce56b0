/* test-elf.c - the ELF parser: files crafted byte by byte in all four
 * class/byte-order combinations, real files (the host's /bin/true checked
 * against readelf, and small libraries and programs linked here with clang
 * and lld for arm64, armhf, mips and ppc64), and hostile input: every
 * truncation, offsets and sizes past the end or wrapping around, huge
 * counts, overlapping tables, unterminated and overlong strings, and random
 * corruption. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/elf.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a writer for crafted files -------------------------------------- */

struct spec {
	int cls, data; /* 1/2, 1/2 */
	uint16_t type, machine;
	uint32_t flags;
	const char *interp;
	const char *needed[8];
	size_t nneeded;
	const char *soname, *rpath, *runpath;
};

struct layout {
	size_t len, phoff, phent, interp_off, dyn_off, dyn_ent, ndyn, str_off, str_sz;
	uint64_t base;
	int big, wide;
};

static void put(unsigned char *b, size_t off, size_t n, uint64_t v, int big)
{
	for (size_t i = 0; i < n; i++)
		b[off + (big ? n - 1 - i : i)] = (unsigned char)(v >> (8 * i));
}

/* phdr field offsets and sizes: type, offset, vaddr, filesz */
static void put_phdr(unsigned char *b, const struct layout *l, size_t i, uint32_t type,
		     uint64_t off, uint64_t vaddr, uint64_t filesz)
{
	size_t at = l->phoff + i * l->phent, w = l->wide ? 8 : 4;
	put(b, at, 4, type, l->big);
	if (l->wide) {
		put(b, at + 4, 4, 4, l->big); /* p_flags */
		put(b, at + 8, 8, off, l->big);
		put(b, at + 16, 8, vaddr, l->big);
		put(b, at + 24, 8, vaddr, l->big);
		put(b, at + 32, 8, filesz, l->big);
		put(b, at + 40, 8, filesz, l->big);
		put(b, at + 48, 8, 8, l->big);
	} else {
		put(b, at + 4, w, off, l->big);
		put(b, at + 8, w, vaddr, l->big);
		put(b, at + 12, w, vaddr, l->big);
		put(b, at + 16, w, filesz, l->big);
		put(b, at + 20, w, filesz, l->big);
		put(b, at + 24, 4, 4, l->big);
		put(b, at + 28, 4, 4, l->big);
	}
}

static void put_dyn(unsigned char *b, const struct layout *l, size_t i, uint64_t tag, uint64_t val)
{
	size_t half = l->wide ? 8 : 4, at = l->dyn_off + i * l->dyn_ent;
	put(b, at, half, tag, l->big);
	put(b, at + half, half, val, l->big);
}

/* Build the file of s into b (cap bytes); 3 program headers: PT_INTERP,
 * one PT_LOAD mapping the whole file at base, PT_DYNAMIC. */
static size_t craft(const struct spec *s, unsigned char *b, size_t cap, struct layout *l)
{
	memset(b, 0, cap);
	memset(l, 0, sizeof *l);
	l->wide = s->cls == 2;
	l->big = s->data == 2;
	l->base = l->wide ? 0x400000 : 0x10000;
	size_t eh = l->wide ? 64 : 52;
	l->phent = l->wide ? 56 : 32;
	l->dyn_ent = l->wide ? 16 : 8;
	l->phoff = eh;
	size_t nph = 3;
	l->interp_off = l->phoff + nph * l->phent;
	size_t ilen = s->interp ? strlen(s->interp) + 1 : 1;
	l->dyn_off = (l->interp_off + ilen + 7) & ~(size_t)7;
	/* strings: "\0" then each */
	char strtab[4096];
	size_t sl = 1, off_needed[8], off_soname = 0, off_rpath = 0, off_runpath = 0;
	strtab[0] = 0;
#define ADD(str, where)                                  \
	do {                                             \
		where = sl;                              \
		memcpy(strtab + sl, str, strlen(str) + 1); \
		sl += strlen(str) + 1;                   \
	} while (0)
	for (size_t i = 0; i < s->nneeded; i++)
		ADD(s->needed[i], off_needed[i]);
	if (s->soname)
		ADD(s->soname, off_soname);
	if (s->rpath)
		ADD(s->rpath, off_rpath);
	if (s->runpath)
		ADD(s->runpath, off_runpath);
#undef ADD
	l->ndyn = s->nneeded + !!s->soname + !!s->rpath + !!s->runpath + 3; /* STRTAB STRSZ NULL */
	l->str_off = l->dyn_off + l->ndyn * l->dyn_ent;
	l->str_sz = sl;
	l->len = l->str_off + sl;
	if (l->len > cap)
		abort();
	memcpy(b, "\177ELF", 4);
	b[4] = (unsigned char)s->cls;
	b[5] = (unsigned char)s->data;
	b[6] = 1;
	put(b, 16, 2, s->type, l->big);
	put(b, 18, 2, s->machine, l->big);
	put(b, 20, 4, 1, l->big);
	if (l->wide) {
		put(b, 24, 8, l->base + 0x1000, l->big);
		put(b, 32, 8, l->phoff, l->big);
		put(b, 48, 4, s->flags, l->big);
		put(b, 52, 2, 64, l->big);
		put(b, 54, 2, 56, l->big);
		put(b, 56, 2, nph, l->big);
		put(b, 58, 2, 64, l->big);
	} else {
		put(b, 24, 4, l->base + 0x1000, l->big);
		put(b, 28, 4, l->phoff, l->big);
		put(b, 36, 4, s->flags, l->big);
		put(b, 40, 2, 52, l->big);
		put(b, 42, 2, 32, l->big);
		put(b, 44, 2, nph, l->big);
		put(b, 46, 2, 40, l->big);
	}
	if (s->interp) {
		memcpy(b + l->interp_off, s->interp, ilen);
		put_phdr(b, l, 0, 3, l->interp_off, l->base + l->interp_off, ilen);
	} else {
		put_phdr(b, l, 0, 6 /* PT_PHDR */, l->phoff, l->base + l->phoff, nph * l->phent);
	}
	put_phdr(b, l, 1, 1, 0, l->base, l->len);
	put_phdr(b, l, 2, 2, l->dyn_off, l->base + l->dyn_off, l->ndyn * l->dyn_ent);
	size_t d = 0;
	for (size_t i = 0; i < s->nneeded; i++)
		put_dyn(b, l, d++, 1, off_needed[i]);
	if (s->soname)
		put_dyn(b, l, d++, 14, off_soname);
	if (s->rpath)
		put_dyn(b, l, d++, 15, off_rpath);
	if (s->runpath)
		put_dyn(b, l, d++, 29, off_runpath);
	put_dyn(b, l, d++, 5, l->base + l->str_off);
	put_dyn(b, l, d++, 10, sl);
	put_dyn(b, l, d++, 0, 0);
	memcpy(b + l->str_off, strtab, sl);
	return l->len;
}

static const struct spec base_spec = {
	2, 1, 3, 183, 0, "/lib/ld-linux-aarch64.so.1",
	{ "libz.so.1", "libc.so.6" }, 2, "libxs.so.1", "/opt/old", "/opt/xs:$ORIGIN/../lib",
};

static int parse(const void *b, size_t n, struct xs_elf *e)
{
	char err[512];
	return xs_elf_parse(b, n, e, err, sizeof err);
}

/* Parse and expect -EBADMSG with a reason; e is freed. */
static void bad(const unsigned char *b, size_t n, const char *what)
{
	struct xs_elf e;
	char err[512] = "";
	int q = xs_elf_parse(b, n, &e, err, sizeof err);
	CHECK(q == -EBADMSG && err[0] && !e.interp && !e.needed && !e.nneeded,
	      "%s: -EBADMSG (%s)", what, err);
	if (q != -EBADMSG)
		printf("#   got %d\n", q);
	xs_elf_free(&e);
}

static void test_crafted(void)
{
	static unsigned char b[8192];
	struct layout l;
	for (int cls = 1; cls <= 2; cls++) {
		for (int data = 1; data <= 2; data++) {
			struct spec s = base_spec;
			s.cls = cls;
			s.data = data;
			s.machine = (uint16_t)(cls == 2 ? (data == 2 ? 22 : 183) : (data == 2 ? 8 : 40));
			s.flags = 0x5000400;
			size_t n = craft(&s, b, sizeof b, &l);
			struct xs_elf e;
			int q = parse(b, n, &e);
			char what[32];
			snprintf(what, sizeof what, "ELF%d %s", cls == 2 ? 64 : 32,
				 data == 2 ? "MSB" : "LSB");
			CHECK_INT(q, 0, "%s: parses", what);
			CHECK(e.elf_class == cls && e.elf_data == data && e.machine == s.machine &&
				      e.type == 3 && e.flags == 0x5000400 && e.nphdrs == 3 && e.dynamic,
			      "%s: class, data, machine %u, type, flags", what, s.machine);
			CHECK_STR(e.interp, "/lib/ld-linux-aarch64.so.1", "%s: PT_INTERP", what);
			CHECK(e.nneeded == 2 && !strcmp(e.needed[0], "libz.so.1") &&
				      !strcmp(e.needed[1], "libc.so.6"),
			      "%s: DT_NEEDED in order", what);
			CHECK_STR(e.soname, "libxs.so.1", "%s: DT_SONAME", what);
			CHECK_STR(e.rpath, "/opt/old", "%s: DT_RPATH", what);
			CHECK_STR(e.runpath, "/opt/xs:$ORIGIN/../lib", "%s: DT_RUNPATH", what);
			CHECK_STR(xs_elf_type_name(&e), "pie executable", "%s: type name", what);
			xs_elf_free(&e);
			CHECK(e.interp == NULL && e.needed == NULL && e.nneeded == 0,
			      "%s: xs_elf_free empties", what);
		}
	}
	/* no interpreter, no strings: a shared object with nothing needed */
	struct spec s = base_spec;
	s.interp = NULL;
	s.nneeded = 0;
	s.soname = s.rpath = s.runpath = NULL;
	size_t n = craft(&s, b, sizeof b, &l);
	struct xs_elf e;
	CHECK(parse(b, n, &e) == 0 && !e.interp && !e.nneeded && !e.soname && e.dynamic,
	      "a shared object without strings parses");
	CHECK_STR(xs_elf_type_name(&e), "shared object", "ET_DYN without PT_INTERP is a shared object");
	xs_elf_free(&e);
	/* no program headers at all: a relocatable object */
	n = craft(&base_spec, b, sizeof b, &l);
	put(b, 56, 2, 0, 0);
	put(b, 16, 2, 1, 0);
	CHECK(parse(b, n, &e) == 0 && e.nphdrs == 0 && !e.interp && !e.dynamic,
	      "no program headers: identification only");
	CHECK_STR(xs_elf_type_name(&e), "relocatable", "ET_REL");
	xs_elf_free(&e);
	/* DT_NULL ends the table: what follows is not read */
	n = craft(&base_spec, b, sizeof b, &l);
	put_dyn(b, &l, 1, 0, 0); /* after the first NEEDED; STRTAB is lost too */
	CHECK(parse(b, n, &e) == -EBADMSG, "DT_NULL ends the dynamic table (STRTAB after it is not seen)");
	xs_elf_free(&e);
	/* a later DT_STRTAB wins, as in the loader */
	n = craft(&base_spec, b, sizeof b, &l);
	CHECK(parse(b, n, &e) == 0, "baseline");
	xs_elf_free(&e);

	/* not ELF, bad identification */
	CHECK_INT(parse("", 0, &e), -ENOEXEC, "empty input: -ENOEXEC");
	CHECK_INT(parse("\177ELG", 4, &e), -ENOEXEC, "wrong magic: -ENOEXEC");
	CHECK_INT(parse("#!/bin/sh\nexit 0\n", 17, &e), -ENOEXEC, "a script: -ENOEXEC");
	CHECK_INT(xs_elf_parse(NULL, 10, &e, NULL, 0), -EINVAL, "NULL data: -EINVAL");
	CHECK_INT(xs_elf_parse(b, n, NULL, NULL, 0), -EINVAL, "NULL out: -EINVAL");
	CHECK_INT(xs_elf_parse(b, n, &e, NULL, 0), 0, "a NULL error buffer is fine");
	xs_elf_free(&e);
	n = craft(&base_spec, b, sizeof b, &l);
	b[4] = 3;
	bad(b, n, "ELF class 3");
	n = craft(&base_spec, b, sizeof b, &l);
	b[5] = 0;
	bad(b, n, "data encoding 0");
}

static void test_hostile(void)
{
	static unsigned char b[8192], c[8192];
	struct layout l;
	struct xs_elf e;
	size_t n = craft(&base_spec, b, sizeof b, &l);

	/* every truncation */
	int crashes_or_odd = 0, errors = 0;
	for (size_t k = 0; k < n; k++) {
		unsigned char *copy = malloc(k ? k : 1); /* exact size: ASan sees overreads */
		memcpy(copy, b, k);
		int q = parse(copy, k, &e);
		if (q != 0 && q != -EBADMSG && q != -ENOEXEC)
			crashes_or_odd++;
		if (q < 0)
			errors++;
		else if (e.nneeded != 2 || !e.interp)
			crashes_or_odd++; /* a success must be complete */
		xs_elf_free(&e);
		free(copy);
	}
	CHECK(crashes_or_odd == 0 && errors == (int)n,
	      "each of the %zu truncations is -EBADMSG or -ENOEXEC (%d errors)", n, errors);

	/* program headers */
	memcpy(c, b, n);
	put(c, 32, 8, n + 8, 0);
	bad(c, n, "e_phoff past the end");
	memcpy(c, b, n);
	put(c, 32, 8, UINT64_MAX - 16, 0);
	bad(c, n, "e_phoff near 2^64");
	memcpy(c, b, n);
	put(c, 56, 2, 0xfffe, 0);
	bad(c, n, "e_phnum 65534 in a small file");
	memcpy(c, b, n);
	put(c, 56, 2, 0xffff, 0);
	bad(c, n, "e_phnum PN_XNUM without section headers");
	memcpy(c, b, n);
	put(c, 56, 2, 0xffff, 0);
	put(c, 40, 8, n - 64, 0); /* "section header 0" inside the file: its sh_info */
	put(c, n - 64 + 44, 4, 0xffffffffu, 0);
	bad(c, n, "e_phnum PN_XNUM, sh_info 2^32-1");
	memcpy(c, b, n);
	put(c, 56, 2, 0xffff, 0);
	put(c, 40, 8, UINT64_MAX - 8, 0);
	bad(c, n, "e_phnum PN_XNUM, e_shoff near 2^64");
	memcpy(c, b, n);
	put(c, 56, 2, 0xffff, 0);
	put(c, 40, 8, 16, 0);
	put(c, 16 + 44, 4, 3, 0); /* section 0 overlapping the ELF header says 3 */
	CHECK(parse(c, n, &e) == 0 && e.nphdrs == 3 && e.nneeded == 2,
	      "PN_XNUM: the count from section header 0 (overlapping the ELF header)");
	xs_elf_free(&e);
	memcpy(c, b, n);
	put(c, 54, 2, 32, 0);
	bad(c, n, "e_phentsize 32 in a 64-bit file");
	memcpy(c, b, n);
	put(c, 54, 2, 0, 0);
	bad(c, n, "e_phentsize 0");
	memcpy(c, b, n);
	put(c, 32, 8, 0, 0); /* the table overlaps the ELF header: garbage types, no crash */
	int q = parse(c, n, &e);
	CHECK(q == 0 || q == -EBADMSG, "program headers overlapping the ELF header: no crash (%d)", q);
	xs_elf_free(&e);

	/* PT_INTERP */
	memcpy(c, b, n);
	put_phdr(c, &l, 0, 3, n, 0, 1);
	bad(c, n, "PT_INTERP offset at the end");
	memcpy(c, b, n);
	put_phdr(c, &l, 0, 3, UINT64_MAX - 4, 0, 16);
	bad(c, n, "PT_INTERP offset + size wraps around");
	memcpy(c, b, n);
	put_phdr(c, &l, 0, 3, l.interp_off, 0, UINT64_MAX);
	bad(c, n, "PT_INTERP size 2^64-1");
	memcpy(c, b, n);
	put_phdr(c, &l, 0, 3, l.interp_off, 0, 5);
	bad(c, n, "PT_INTERP not NUL-terminated inside its segment");
	memcpy(c, b, n);
	put_phdr(c, &l, 0, 3, l.interp_off, 0, 0);
	bad(c, n, "PT_INTERP of size 0");
	memcpy(c, b, n);
	put_phdr(c, &l, 0, 3, n - 1, 0, 1); /* the last byte: the strtab's final NUL */
	CHECK(parse(c, n, &e) == 0 && e.interp && !strcmp(e.interp, ""),
	      "PT_INTERP overlapping the string table's last NUL: an empty string");
	xs_elf_free(&e);

	/* PT_DYNAMIC */
	memcpy(c, b, n);
	put_phdr(c, &l, 2, 2, n - 8, 0, 16);
	bad(c, n, "PT_DYNAMIC past the end");
	memcpy(c, b, n);
	put_phdr(c, &l, 2, 2, UINT64_MAX - 8, 0, 16);
	bad(c, n, "PT_DYNAMIC offset + size wraps around");
	memcpy(c, b, n);
	put_phdr(c, &l, 2, 2, l.dyn_off, 0, 7); /* less than one entry: nothing in it */
	CHECK(parse(c, n, &e) == 0 && e.dynamic && e.nneeded == 0,
	      "PT_DYNAMIC smaller than one entry: no entries");
	xs_elf_free(&e);
	memcpy(c, b, n);
	put_phdr(c, &l, 2, 2, 0, 0, n); /* the whole file read as the dynamic table */
	q = parse(c, n, &e);
	CHECK(q == 0 || q == -EBADMSG, "PT_DYNAMIC overlapping everything: no crash (%d)", q);
	xs_elf_free(&e);

	/* the string table */
	memcpy(c, b, n);
	put_dyn(c, &l, l.ndyn - 3, 5, 0x10);
	bad(c, n, "DT_STRTAB in no PT_LOAD");
	memcpy(c, b, n);
	put_dyn(c, &l, l.ndyn - 3, 5, UINT64_MAX);
	bad(c, n, "DT_STRTAB 2^64-1");
	memcpy(c, b, n);
	put_dyn(c, &l, l.ndyn - 2, 10, l.str_sz + 1);
	bad(c, n, "DT_STRSZ past the end of the file");
	memcpy(c, b, n);
	put_dyn(c, &l, l.ndyn - 2, 10, UINT64_MAX);
	bad(c, n, "DT_STRSZ 2^64-1");
	memcpy(c, b, n);
	put_dyn(c, &l, 0, 1, l.str_sz);
	bad(c, n, "DT_NEEDED offset at DT_STRSZ");
	memcpy(c, b, n);
	put_dyn(c, &l, 0, 1, UINT64_MAX);
	bad(c, n, "DT_NEEDED offset 2^64-1");
	memcpy(c, b, n);
	put_dyn(c, &l, l.ndyn - 2, 10, l.str_sz - 1); /* the last string loses its NUL */
	bad(c, n, "the last string not terminated inside DT_STRSZ");
	memcpy(c, b, n);
	c[n - 1] = 'x'; /* ... or inside the file */
	bad(c, n, "the last string not terminated inside the file");
	memcpy(c, b, n);
	put_phdr(c, &l, 1, 1, 0, l.base, n - 3); /* the segment ends before the strings do */
	put_dyn(c, &l, l.ndyn - 2, 10, 0); /* DT_SONAME etc. still there; STRSZ = 0 */
	bad(c, n, "DT_STRSZ 0");
	memcpy(c, b, n);
	put_phdr(c, &l, 1, 1, 0, l.base, n - 3);
	bad(c, n, "DT_STRSZ past the end of the PT_LOAD that maps DT_STRTAB");
	memcpy(c, b, n);
	put_phdr(c, &l, 1, 1, n + 100, l.base, 0x10000);
	bad(c, n, "the PT_LOAD of DT_STRTAB past the end of the file");
	memcpy(c, b, n);
	put_phdr(c, &l, 1, 1, 0, UINT64_MAX - 0x100, UINT64_MAX);
	bad(c, n, "a PT_LOAD whose vaddr + filesz wraps around");
	memcpy(c, b, n);
	put_dyn(c, &l, l.ndyn - 3, 6, 0); /* no DT_STRTAB */
	bad(c, n, "strings without DT_STRTAB");
	memcpy(c, b, n);
	put_dyn(c, &l, l.ndyn - 3, 5, l.base + l.dyn_off); /* strings inside the dynamic table */
	q = parse(c, n, &e);
	CHECK(q == 0 || q == -EBADMSG, "DT_STRTAB overlapping the dynamic table: no crash (%d)", q);
	xs_elf_free(&e);

	/* an overlong string */
	{
		static unsigned char big[16384];
		char *lng = malloc(XS_ELF_MAX_STRING + 2);
		memset(lng, 'a', XS_ELF_MAX_STRING + 1);
		lng[XS_ELF_MAX_STRING + 1] = 0;
		struct layout l2;
		size_t m = craft(&base_spec, big, sizeof big, &l2);
		/* append a string of XS_ELF_MAX_STRING + 1 bytes and point DT_RUNPATH at it */
		size_t at = m;
		memcpy(big + at, lng, XS_ELF_MAX_STRING + 2);
		size_t total = at + XS_ELF_MAX_STRING + 2;
		put_phdr(big, &l2, 1, 1, 0, l2.base, total);
		put_dyn(big, &l2, l2.ndyn - 2, 10, total - l2.str_off);
		put_dyn(big, &l2, 4, 29, at - l2.str_off);
		bad(big, total, "a string of XS_ELF_MAX_STRING + 1 bytes");
		put_dyn(big, &l2, 4, 29, at + 1 - l2.str_off);
		CHECK(parse(big, total, &e) == 0 && e.runpath &&
			      strlen(e.runpath) == XS_ELF_MAX_STRING,
		      "a string of exactly XS_ELF_MAX_STRING bytes is accepted");
		xs_elf_free(&e);
		free(lng);
	}

	/* huge counts of DT_NEEDED */
	{
		size_t cnt = XS_ELF_MAX_NEEDED + 1, dsz = 16;
		size_t len = 64 + 3 * 56 + (cnt + 3) * dsz + 16;
		unsigned char *h = calloc(1, len);
		memcpy(h, b, 64);
		struct layout l3 = l;
		l3.dyn_off = 64 + 3 * 56;
		l3.ndyn = cnt + 3;
		l3.str_off = l3.dyn_off + l3.ndyn * dsz;
		memcpy(h + l3.str_off, "\0libn.so\0", 9);
		put_phdr(h, &l3, 0, 6, 64, 0, 3 * 56);
		put_phdr(h, &l3, 1, 1, 0, l3.base, len);
		put_phdr(h, &l3, 2, 2, l3.dyn_off, 0, l3.ndyn * dsz);
		for (size_t i = 0; i < cnt; i++)
			put_dyn(h, &l3, i, 1, 1);
		put_dyn(h, &l3, cnt, 5, l3.base + l3.str_off);
		put_dyn(h, &l3, cnt + 1, 10, 9);
		put_dyn(h, &l3, cnt + 2, 0, 0);
		bad(h, len, "XS_ELF_MAX_NEEDED + 1 DT_NEEDED entries");
		put_dyn(h, &l3, 0, 0x6ffffff0, 0); /* one fewer: at the limit */
		CHECK(parse(h, len, &e) == 0 && e.nneeded == XS_ELF_MAX_NEEDED &&
			      !strcmp(e.needed[XS_ELF_MAX_NEEDED - 1], "libn.so"),
		      "XS_ELF_MAX_NEEDED DT_NEEDED entries are accepted");
		xs_elf_free(&e);
		free(h);
	}

	/* random corruption of every file kind: no crash, consistent results */
	unsigned seed = 12345;
	int odd = 0;
	for (int round = 0; round < 40000; round++) {
		struct spec s = base_spec;
		s.cls = 1 + (round & 1);
		s.data = 1 + ((round >> 1) & 1);
		size_t m = craft(&s, c, sizeof c, &l);
		int flips = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 8;
		for (int f = 0; f < flips; f++) {
			seed = seed * 1103515245 + 12345;
			size_t at = (seed >> 8) % m;
			seed = seed * 1103515245 + 12345;
			c[at] = (unsigned char)(seed >> 16);
		}
		seed = seed * 1103515245 + 12345;
		size_t len = (seed >> 8) % 4 == 0 ? (seed >> 12) % (m + 1) : m;
		unsigned char *copy = malloc(len ? len : 1);
		memcpy(copy, c, len);
		q = parse(copy, len, &e);
		if (q != 0 && q != -EBADMSG && q != -ENOEXEC)
			odd++;
		for (size_t i = 0; q == 0 && i < e.nneeded; i++)
			if (!e.needed[i] || strlen(e.needed[i]) > XS_ELF_MAX_STRING)
				odd++;
		xs_elf_free(&e);
		free(copy);
	}
	CHECK(odd == 0, "40000 randomly corrupted files: no crash, only 0/-EBADMSG/-ENOEXEC");
}

/* ---- real files ------------------------------------------------------ */

static int run(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int parse_file(const char *path, struct xs_elf *e, char *err, size_t errsz)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	static unsigned char buf[64 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	unsigned char *copy = malloc(n ? n : 1);
	memcpy(copy, buf, n);
	int q = xs_elf_parse(copy, n, e, err, errsz);
	free(copy);
	return q;
}

/* NEEDED names of path according to readelf, space-separated. */
static void readelf_needed(const char *path, char *out, size_t outsz)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "readelf -dW '%s' 2>/dev/null | sed -n 's/.*(NEEDED).*\\[\\(.*\\)\\]/\\1/p' | "
		 "tr '\\n' ' '",
		 path);
	out[0] = 0;
	FILE *p = popen(cmd, "r");
	if (!p)
		return;
	size_t n = fread(out, 1, outsz - 1, p);
	out[n] = 0;
	pclose(p);
}

static void test_host_true(void)
{
	const char *path = "/bin/true";
	struct xs_elf e;
	char err[512];
	int q = parse_file(path, &e, err, sizeof err);
	CHECK_INT(q, 0, "%s parses%s%s", path, q ? ": " : "", q ? err : "");
	if (q < 0)
		return;
	CHECK(e.elf_class == 2 && e.elf_data == 1 && e.machine == 62,
	      "%s: ELF64 LSB x86-64 (machine %u)", path, e.machine);
	CHECK_STR(e.interp, "/lib64/ld-linux-x86-64.so.2", "%s: the x86-64 interpreter", path);
	CHECK_STR(xs_elf_machine_name(e.machine), "x86-64", "machine name x86-64");
	char want[4096] = "", got[4096] = "";
	readelf_needed(path, want, sizeof want);
	for (size_t i = 0; i < e.nneeded; i++) {
		strcat(got, e.needed[i]);
		strcat(got, " ");
	}
	if (!want[0])
		printf("ok %d - # SKIP readelf is not available\n", ++tap_n);
	else
		CHECK_STR(got, want, "%s: DT_NEEDED as readelf lists them", path);
	xs_elf_free(&e);
}

struct target {
	const char *triple;
	int cls, data;
	uint16_t machine;
	const char *interp;
};

/* Link a library and a program for each target with clang and lld, and
 * compare with what they were linked with. */
static void test_linked(void)
{
	static const struct target t[] = {
		{ "aarch64-linux-gnu", 2, 1, 183, "/lib/ld-linux-aarch64.so.1" },
		{ "arm-linux-gnueabihf", 1, 1, 40, "/lib/ld-linux-armhf.so.3" },
		{ "mips-linux-gnu", 1, 2, 8, "/lib/ld.so.1" },
		{ "powerpc64-linux-gnu", 2, 2, 21, "/lib64/ld64.so.1" },
	};
	const char *dir = tl_root();
	char cmd[4096], path[512];
	snprintf(cmd, sizeof cmd,
		 "cd %s && printf 'int dep(void){return 1;}\\n' > dep.c && "
		 "printf 'int dep(void);\\nint lib(void){return dep();}\\n' > lib.c && "
		 "printf 'int lib(void);\\nvoid _start(void){lib();for(;;);}\\n' > prog.c",
		 dir);
	run(cmd);
	bool have = run("command -v clang >/dev/null && command -v ld.lld >/dev/null") == 0;
	for (size_t i = 0; i < XS_ARRAY_SIZE(t); i++) {
		const char *cc = "clang -fuse-ld=lld -nostdlib -fPIC -O1";
		snprintf(cmd, sizeof cmd,
			 "cd %s && %s --target=%s -shared -Wl,-soname,libdep.so.2 dep.c -o libdep.so "
			 "2>/dev/null && "
			 "%s --target=%s -shared -Wl,-soname,libxs.so.1 -Wl,--enable-new-dtags "
			 "-Wl,-rpath,/opt/xs/lib lib.c libdep.so -o libxs.so 2>/dev/null && "
			 "%s --target=%s -Wl,--dynamic-linker=%s prog.c libxs.so -o prog "
			 "2>/dev/null",
			 dir, cc, t[i].triple, cc, t[i].triple, cc, t[i].triple, t[i].interp);
		if (!have || run(cmd) != 0) {
			printf("ok %d - # SKIP %s: cannot link with clang and lld here\n", ++tap_n,
			       t[i].triple);
			continue;
		}
		struct xs_elf e;
		char err[512] = "";
		snprintf(path, sizeof path, "%s/libxs.so", dir);
		int q = parse_file(path, &e, err, sizeof err);
		CHECK(q == 0 && e.elf_class == t[i].cls && e.elf_data == t[i].data &&
			      e.machine == t[i].machine && !e.interp && e.type == 3,
		      "%s: libxs.so is ELF%d %s machine %u, no interpreter (%s)", t[i].triple,
		      t[i].cls == 2 ? 64 : 32, t[i].data == 2 ? "MSB" : "LSB", t[i].machine, err);
		CHECK(q == 0 && e.soname && !strcmp(e.soname, "libxs.so.1") && e.runpath &&
			      !strcmp(e.runpath, "/opt/xs/lib") && !e.rpath && e.nneeded == 1 &&
			      !strcmp(e.needed[0], "libdep.so.2"),
		      "%s: libxs.so: DT_SONAME libxs.so.1, DT_RUNPATH /opt/xs/lib, DT_NEEDED "
		      "libdep.so.2", t[i].triple);
		xs_elf_free(&e);
		snprintf(path, sizeof path, "%s/prog", dir);
		q = parse_file(path, &e, err, sizeof err);
		CHECK(q == 0 && e.interp && !strcmp(e.interp, t[i].interp) && e.nneeded == 1 &&
			      !strcmp(e.needed[0], "libxs.so.1") && e.machine == t[i].machine,
		      "%s: prog: PT_INTERP %s, DT_NEEDED libxs.so.1 (%s)", t[i].triple,
		      t[i].interp, err);
		xs_elf_free(&e);
	}
}

int main(void)
{
	test_crafted();
	test_hostile();
	test_host_true();
	test_linked();
	CHECK_STR(xs_elf_machine_name(183), "AArch64", "machine name AArch64");
	CHECK(xs_elf_machine_name(9999) == NULL, "an unknown machine has no name");
	return tap_done();
}
