/* elf.c - see include/xsysroot/elf.h.  Layouts from the System V gABI
 * (elf.h of glibc): Elf32/Elf64 Ehdr, Phdr, Shdr and Dyn. */
#include "xsysroot/elf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsysroot/util.h"

enum {
	PT_LOAD = 1,
	PT_DYNAMIC = 2,
	PT_INTERP = 3,
	PN_XNUM = 0xffff,
	DT_NULL = 0,
	DT_NEEDED = 1,
	DT_STRTAB = 5,
	DT_STRSZ = 10,
	DT_SONAME = 14,
	DT_RPATH = 15,
	DT_RUNPATH = 29,
};

struct rd {
	const unsigned char *d;
	size_t len;
	bool big, wide; /* MSB; ELFCLASS64 */
	char *err;
	size_t errsz;
};

#define BAD(...)                                                    \
	do {                                                        \
		if (x->err && x->errsz)                             \
			snprintf(x->err, x->errsz, __VA_ARGS__);    \
		return -EBADMSG;                                    \
	} while (0)

/* Callers have checked that off + n <= len. */
static uint64_t get(const struct rd *x, size_t off, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned b = x->d[off + (x->big ? i : n - 1 - i)];
		v = v << 8 | b;
	}
	return v;
}

/* A word of the class: 4 or 8 bytes. */
static uint64_t word(const struct rd *x, size_t off)
{
	return get(x, off, x->wide ? 8 : 4);
}

/* [off, off + n) lies within the bytes. */
static bool inside(const struct rd *x, uint64_t off, uint64_t n)
{
	return off <= x->len && n <= x->len - off;
}

struct phdr {
	uint32_t type;
	uint64_t offset, vaddr, filesz;
};

static void read_phdr(const struct rd *x, size_t at, struct phdr *p)
{
	p->type = (uint32_t)get(x, at, 4);
	if (x->wide) {
		p->offset = get(x, at + 8, 8);
		p->vaddr = get(x, at + 16, 8);
		p->filesz = get(x, at + 32, 8);
	} else {
		p->offset = get(x, at + 4, 4);
		p->vaddr = get(x, at + 8, 4);
		p->filesz = get(x, at + 16, 4);
	}
}

/* A copy of the NUL-terminated string at off in [tab, tab + tabsz). */
static int copy_str(const struct rd *x, uint64_t tab, uint64_t tabsz, uint64_t off,
		    const char *what, char **out)
{
	if (off >= tabsz)
		BAD("%s: offset %llu is past the end of its string table (%llu bytes)", what,
		    (unsigned long long)off, (unsigned long long)tabsz);
	uint64_t room = tabsz - off;
	size_t scan = room > XS_ELF_MAX_STRING + 1 ? XS_ELF_MAX_STRING + 1 : (size_t)room;
	const unsigned char *s = x->d + tab + off;
	const unsigned char *nul = memchr(s, 0, scan);
	if (!nul) {
		if (scan > XS_ELF_MAX_STRING)
			BAD("%s: longer than %d bytes", what, XS_ELF_MAX_STRING);
		BAD("%s: not NUL-terminated inside its string table", what);
	}
	*out = xs_strndup((const char *)s, (size_t)(nul - s));
	return 0;
}

/* The number of program headers: e_phnum, or with PN_XNUM the sh_info of
 * section header 0. */
static int phdr_count(const struct rd *x, uint64_t phnum, uint64_t *out)
{
	if (phnum != PN_XNUM) {
		*out = phnum;
		return 0;
	}
	uint64_t shoff = word(x, x->wide ? 40 : 32);
	uint64_t shentsize = get(x, x->wide ? 58 : 46, 2);
	size_t want = x->wide ? 64 : 40;
	if (shoff == 0 || shentsize != want || !inside(x, shoff, want))
		BAD("e_phnum is PN_XNUM but section header 0 is missing or past the end of the file");
	*out = get(x, (size_t)shoff + (x->wide ? 44 : 28), 4);
	return 0;
}

/* The file bytes [*off, *off + *avail) that address addr maps to, through
 * the PT_LOAD segments. */
static int map_addr(const struct rd *x, size_t phoff, size_t phent, uint64_t nph, uint64_t addr,
		    uint64_t *off, uint64_t *avail)
{
	for (uint64_t i = 0; i < nph; i++) {
		struct phdr p;
		read_phdr(x, phoff + (size_t)i * phent, &p);
		if (p.type != PT_LOAD || addr < p.vaddr || addr - p.vaddr >= p.filesz)
			continue;
		uint64_t delta = addr - p.vaddr;
		if (p.offset > x->len || delta > x->len - p.offset)
			BAD("DT_STRTAB 0x%llx maps to past the end of the file",
			    (unsigned long long)addr);
		*off = p.offset + delta;
		uint64_t left = p.filesz - delta, file_left = x->len - *off;
		*avail = left < file_left ? left : file_left;
		return 0;
	}
	BAD("DT_STRTAB 0x%llx is in no PT_LOAD segment", (unsigned long long)addr);
}

static int parse_dynamic(const struct rd *x, struct xs_elf *e, const struct phdr *dyn,
			 size_t phoff, size_t phent, uint64_t nph)
{
	if (!inside(x, dyn->offset, dyn->filesz))
		BAD("PT_DYNAMIC [%llu, +%llu) is past the end of the file (%zu bytes)",
		    (unsigned long long)dyn->offset, (unsigned long long)dyn->filesz, x->len);
	size_t dsz = x->wide ? 16 : 8, half = dsz / 2;
	uint64_t n = dyn->filesz / dsz;
	uint64_t strtab = 0, strsz = 0, soname = 0, rpath = 0, runpath = 0, nneeded = 0;
	bool has_strtab = false, has_strsz = false, has_soname = false, has_rpath = false,
	     has_runpath = false;
	uint64_t end = n; /* entries before DT_NULL */
	for (uint64_t i = 0; i < n; i++) {
		size_t at = (size_t)dyn->offset + (size_t)i * dsz;
		uint64_t tag = get(x, at, half), val = get(x, at + half, half);
		if (tag == DT_NULL) {
			end = i;
			break;
		}
		switch (tag) {
		case DT_NEEDED:
			if (++nneeded > XS_ELF_MAX_NEEDED)
				BAD("more than %d DT_NEEDED entries", XS_ELF_MAX_NEEDED);
			break;
		/* the last one counts, as in the loader (elf_get_dynamic_info) */
		case DT_STRTAB: strtab = val, has_strtab = true; break;
		case DT_STRSZ: strsz = val, has_strsz = true; break;
		case DT_SONAME: soname = val, has_soname = true; break;
		case DT_RPATH: rpath = val, has_rpath = true; break;
		case DT_RUNPATH: runpath = val, has_runpath = true; break;
		default: break;
		}
	}
	if (!nneeded && !has_soname && !has_rpath && !has_runpath)
		return 0;
	if (!has_strtab)
		BAD("the dynamic section names strings but has no DT_STRTAB");
	uint64_t toff, avail;
	int q = map_addr(x, phoff, phent, nph, strtab, &toff, &avail);
	if (q < 0)
		return q;
	if (has_strsz) {
		if (strsz > avail)
			BAD("DT_STRSZ %llu runs past its segment or the end of the file (%llu bytes "
			    "left)", (unsigned long long)strsz, (unsigned long long)avail);
		avail = strsz;
	}
	if (has_soname && (q = copy_str(x, toff, avail, soname, "DT_SONAME", &e->soname)) < 0)
		return q;
	if (has_rpath && (q = copy_str(x, toff, avail, rpath, "DT_RPATH", &e->rpath)) < 0)
		return q;
	if (has_runpath && (q = copy_str(x, toff, avail, runpath, "DT_RUNPATH", &e->runpath)) < 0)
		return q;
	if (!nneeded)
		return 0;
	e->needed = xs_xcalloc((size_t)nneeded, sizeof *e->needed);
	for (uint64_t i = 0; i < end; i++) {
		size_t at = (size_t)dyn->offset + (size_t)i * dsz;
		if (get(x, at, half) != DT_NEEDED)
			continue;
		char what[48];
		snprintf(what, sizeof what, "DT_NEEDED #%zu", e->nneeded + 1);
		q = copy_str(x, toff, avail, get(x, at + half, half), what, &e->needed[e->nneeded]);
		if (q < 0)
			return q;
		e->nneeded++;
	}
	return 0;
}

static int parse(const struct rd *x, struct xs_elf *out)
{
	const unsigned char *d = x->d;
	size_t ehsize = x->wide ? 64 : 52;
	if (x->len < ehsize)
		BAD("truncated ELF header (%zu of %zu bytes)", x->len, ehsize);
	out->elf_class = d[4];
	out->elf_data = d[5];
	out->osabi = d[7];
	out->type = (uint16_t)get(x, 16, 2);
	out->machine = (uint16_t)get(x, 18, 2);
	out->flags = (uint32_t)get(x, x->wide ? 48 : 36, 4);
	uint64_t phoff = word(x, x->wide ? 32 : 28);
	uint64_t phent = get(x, x->wide ? 54 : 42, 2);
	uint64_t nph;
	int q = phdr_count(x, get(x, x->wide ? 56 : 44, 2), &nph);
	if (q < 0)
		return q;
	if (nph == 0)
		return 0; /* no program headers: nothing is loaded (a relocatable object) */
	size_t want = x->wide ? 56 : 32;
	if (phent != want)
		BAD("e_phentsize is %llu, not %zu", (unsigned long long)phent, want);
	if (nph > XS_ELF_MAX_PHDRS || phoff > x->len || nph > (x->len - phoff) / want)
		BAD("%llu program headers at offset %llu run past the end of the file (%zu bytes)",
		    (unsigned long long)nph, (unsigned long long)phoff, x->len);
	out->nphdrs = (size_t)nph;
	struct phdr dyn = { 0 };
	for (uint64_t i = 0; i < nph; i++) {
		struct phdr p;
		read_phdr(x, (size_t)phoff + (size_t)i * want, &p);
		if (p.type == PT_INTERP && !out->interp) {
			if (!inside(x, p.offset, p.filesz))
				BAD("PT_INTERP [%llu, +%llu) is past the end of the file (%zu bytes)",
				    (unsigned long long)p.offset, (unsigned long long)p.filesz, x->len);
			q = copy_str(x, p.offset, p.filesz, 0, "PT_INTERP", &out->interp);
			if (q < 0)
				return q;
		} else if (p.type == PT_DYNAMIC && !out->dynamic) {
			out->dynamic = true;
			dyn = p;
		}
	}
	if (out->dynamic)
		return parse_dynamic(x, out, &dyn, (size_t)phoff, want, nph);
	return 0;
}

int xs_elf_parse(const void *data, size_t len, struct xs_elf *out, char *err, size_t errsz)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	if (err && errsz)
		err[0] = 0;
	if (!data && len)
		return -EINVAL;
	const unsigned char *d = data;
	if (len < 16 || memcmp(d, "\177ELF", 4) != 0) {
		if (err && errsz)
			snprintf(err, errsz, "not an ELF file");
		return -ENOEXEC;
	}
	struct rd r = { d, len, d[5] == XS_ELF_DATA_MSB, d[4] == XS_ELF_CLASS64, err, errsz },
		  *x = &r;
	if (d[4] != XS_ELF_CLASS32 && d[4] != XS_ELF_CLASS64)
		BAD("unknown ELF class %u", d[4]);
	if (d[5] != XS_ELF_DATA_LSB && d[5] != XS_ELF_DATA_MSB)
		BAD("unknown ELF data encoding %u", d[5]);
	int q = parse(x, out);
	if (q < 0)
		xs_elf_free(out);
	return q;
}

void xs_elf_free(struct xs_elf *e)
{
	if (!e)
		return;
	free(e->interp);
	free(e->soname);
	free(e->rpath);
	free(e->runpath);
	for (size_t i = 0; i < e->nneeded; i++)
		free(e->needed[i]);
	free(e->needed);
	memset(e, 0, sizeof *e);
}

const char *xs_elf_machine_name(uint16_t machine)
{
	static const struct {
		uint16_t m;
		const char *name;
	} t[] = {
		{ 2, "SPARC" },	       { 3, "Intel 80386" }, { 8, "MIPS" },
		{ 18, "SPARC32+" },    { 20, "PowerPC" },     { 21, "PowerPC64" },
		{ 22, "IBM S/390" },   { 40, "ARM" },	      { 42, "SuperH" },
		{ 43, "SPARC V9" },    { 50, "IA-64" },	      { 62, "x86-64" },
		{ 183, "AArch64" },    { 243, "RISC-V" },     { 258, "LoongArch" },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(t); i++)
		if (t[i].m == machine)
			return t[i].name;
	return NULL;
}

const char *xs_elf_type_name(const struct xs_elf *e)
{
	switch (e->type) {
	case XS_ELF_ET_REL: return "relocatable";
	case XS_ELF_ET_EXEC: return "executable";
	case XS_ELF_ET_DYN: return e->interp ? "pie executable" : "shared object";
	case XS_ELF_ET_CORE: return "core file";
	default: return "unknown type";
	}
}
