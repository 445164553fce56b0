/* fuzz-contents.c - the Contents index (contents.h): xs_contents_build
 * from a memfd, then open, query, build and query the reverse index.
 *
 * An input that starts with the compact file's magic "XSCONTNT" is instead
 * written as a compact index as it is, to fuzz the checks of open and the
 * queries on a damaged file.  The scratch files live in a directory made
 * once.  Checks for a built index: a package named in the text (the last
 * column's names after their last '/') that the index has yields paths
 * that are normalised and non-empty; each path kept by the reverse
 * index's key function is found there under its package (unless more than
 * XS_CONTENTS_REV_MAX_HITS packages share it), and its directory too. */
#include "fuzz.h"
#include "xsysroot/contents.h"

#include <fcntl.h>

#define MAX_TEXT (4u << 20)
#define MAX_NAMES 64
#define MAX_CHECKED_PATHS 256

static char idx_path[512], rev_path[512], raw_path[512];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = fz_tmpdir();
	snprintf(idx_path, sizeof idx_path, "%s/index", dir);
	snprintf(rev_path, sizeof rev_path, "%s/rev", dir);
	snprintf(raw_path, sizeof raw_path, "%s/raw", dir);
	return 0;
}

/* The key function of the reverse index: keeps etc/ and usr/lib/ as is,
 * fails on a path containing "FAIL" (to see the error path). */
static int key_fn(const char *path, char *out, size_t outsz, void *ud)
{
	(void)ud;
	if (strstr(path, "FAIL/"))
		return -EIO;
	if (strncmp(path, "etc/", 4) && strncmp(path, "usr/lib/", 8))
		return 0;
	size_t n = strlen(path);
	FZ_CHECK(n < outsz);
	memcpy(out, path, n + 1);
	return 1;
}

struct collect {
	char **paths;
	size_t n;
};

static int collect_cb(const char *path, void *ud)
{
	struct collect *c = ud;
	char norm[XS_MAX_PATH + 1];
	FZ_CHECK(path[0]);
	FZ_CHECK(xs_path_normalize(path, norm, sizeof norm) == 0 && strcmp(norm, path) == 0);
	if (c && c->n < MAX_CHECKED_PATHS)
		c->paths[c->n++] = xs_strdup(path);
	return 0;
}

static int any_cb(const char *path, void *ud)
{
	(void)path;
	(void)ud;
	return 0;
}

static int stop_cb(const char *s, void *ud)
{
	(void)s;
	(void)ud;
	return 5;
}

struct hit {
	const char *want;
	bool found;
	int calls;
};

static int hit_cb(const char *pkg, void *ud)
{
	struct hit *h = ud;
	FZ_CHECK(pkg[0]);
	h->calls++;
	if (strcmp(pkg, h->want) == 0)
		h->found = true;
	return 0;
}

/* Package names of the location column of each line (at most MAX_NAMES). */
static size_t names_in(const uint8_t *data, size_t size, char **names)
{
	size_t k = 0;
	const char *p = (const char *)data, *end = p + size;
	while (p < end && k < MAX_NAMES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *ls = e;
		while (ls > p && ls[-1] != ' ' && ls[-1] != '\t')
			ls--;
		for (const char *q = ls; q < e && k < MAX_NAMES;) {
			const char *c = memchr(q, ',', (size_t)(e - q));
			if (!c)
				c = e;
			const char *name = q;
			for (const char *s = q; s < c; s++)
				if (*s == '/')
					name = s + 1;
			size_t n = (size_t)(c - name);
			while (n && (name[n - 1] == '\r' || name[n - 1] == ' '))
				n--;
			if (n && n < 256 && !memchr(name, 0, n))
				names[k++] = xs_strndup(name, n);
			q = c + 1;
		}
		p = nl ? nl + 1 : end;
	}
	return k;
}

static void query(struct xs_contents *c, char **names, size_t nn, bool built)
{
	static const char *const fixed[] = { "", "a", "hello", "libc6", "zzzz" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(fixed); i++) {
		bool has = xs_contents_has(c, fixed[i]);
		int r = xs_contents_foreach(c, fixed[i], built ? collect_cb : any_cb, NULL);
		FZ_CHECK(built || has ? r <= 0 : r == 0);
		if (built)
			FZ_CHECK(r == 0);
	}
	for (size_t i = 0; i < nn; i++) {
		if (!xs_contents_has(c, names[i]))
			continue;
		int r = xs_contents_foreach(c, names[i], built ? collect_cb : any_cb, NULL);
		FZ_CHECK(built ? r == 0 : r <= 0);
		r = xs_contents_foreach(c, names[i], stop_cb, NULL);
		FZ_CHECK(built ? r == 5 || r == 0 : r == 5 || r <= 0);
	}
}

/* Build and open the reverse index of c, and look up every kept path of
 * the first names. */
static void reverse(struct xs_contents *c, char **names, size_t nn, bool built)
{
	struct xs_contents_rev_stats rs;
	int r = xs_contents_build_rev(c, key_fn, NULL, rev_path, &rs);
	if (r < 0) {
		FZ_CHECK(!built || r == -EIO);
		FZ_CHECK(xs_contents_rev_find(c, "etc", true, hit_cb, NULL) == -ENOENT);
		return;
	}
	r = xs_contents_open_rev(c, rev_path);
	FZ_CHECK(r == 0 && xs_contents_has_rev(c));
	struct hit none = { "", false, 0 };
	FZ_CHECK(xs_contents_rev_find(c, "etc", true, hit_cb, &none) <= 0);
	FZ_CHECK(none.calls <= XS_CONTENTS_REV_MAX_HITS);
	if (!built)
		return;
	for (size_t i = 0; i < nn; i++) {
		char *buf[MAX_CHECKED_PATHS];
		struct collect col = { buf, 0 };
		FZ_CHECK(xs_contents_foreach(c, names[i], collect_cb, &col) == 0);
		for (size_t j = 0; j < col.n; j++) {
			char k[XS_MAX_PATH + 1];
			if (key_fn(col.paths[j], k, sizeof k, NULL) == 1) {
				struct hit h = { names[i], false, 0 };
				FZ_CHECK(xs_contents_rev_find(c, k, false, hit_cb, &h) == 0);
				FZ_CHECK(h.calls <= XS_CONTENTS_REV_MAX_HITS);
				FZ_CHECK(h.found || h.calls == XS_CONTENTS_REV_MAX_HITS);
				char *slash = strrchr(k, '/');
				if (slash) {
					*slash = 0;
					struct hit d = { "", false, 0 };
					FZ_CHECK(xs_contents_rev_find(c, k, true, hit_cb, &d) == 0);
					FZ_CHECK(d.calls >= 1 && d.calls <= XS_CONTENTS_REV_MAX_HITS);
				}
			}
			free(col.paths[j]);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *names[MAX_NAMES];
	struct xs_contents *c = NULL;
	bool built = !(size >= 8 && memcmp(data, "XSCONTNT", 8) == 0);
	size_t nn = 0;
	int r;

	if (built) {
		int fd = fz_memfd(data, size);
		struct xs_contents_stats st;
		r = xs_contents_build(fd, MAX_TEXT, idx_path, &st);
		close(fd);
		if (r < 0) {
			FZ_CHECK(r == -EFBIG || r == -EBADMSG);
			return 0;
		}
		FZ_CHECK(st.skipped <= st.lines && st.paths <= st.lines * st.packages);
		FZ_CHECK(xs_contents_open(idx_path, &c) == 0);
		nn = names_in(data, size, names);
	} else {
		int fd = open(raw_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		FZ_CHECK(fd >= 0 && xs_write_all(fd, data, size) == 0 && close(fd) == 0);
		if (xs_contents_open(raw_path, &c) < 0)
			return 0;
	}
	query(c, names, nn, built);
	reverse(c, names, nn, built);
	xs_contents_close(c);
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	return 0;
}
