/* cmd_cache.c - xsysroot cache list|verify|gc: the cache directory seen
 * from outside any mount (cachemgr.h does the work). */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "output.h"
#include "setup.h"
#include "xsysroot/cachefiles.h"
#include "xsysroot/cachemgr.h"
#include "xsysroot/decompress.h"
#include "xsysroot/pkgidx.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"

static const struct option cache_opts[] = {
	{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *fmt_time(int64_t t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	strftime(out, outsz, "%Y-%m-%d %H:%M", gmtime(&tt));
	return out;
}

/* What an index row serves, from its source ("Origin Suite (Codename)")
 * and path: the suite (and the codename when another name), the
 * component, the architecture ("all" for Architecture: all packages;
 * empty for the InRelease and the indexes of every architecture). */
struct index_scope {
	char origin[128], suite[128], codename[128], component[64], arch[64];
};

static void index_scope(const struct xs_cache_index *x, struct index_scope *sc)
{
	memset(sc, 0, sizeof *sc);
	char src[512];
	snprintf(src, sizeof src, "%s", x->source);
	size_t n = strlen(src);
	char *open = n && src[n - 1] == ')' ? strrchr(src, '(') : NULL;
	if (open && open > src && open[-1] == ' ') {
		snprintf(sc->codename, sizeof sc->codename, "%.*s", (int)(src + n - 1 - open - 1),
			 open + 1);
		open[-1] = 0;
	}
	char *sp = strrchr(src, ' ');
	snprintf(sc->suite, sizeof sc->suite, "%s", sp ? sp + 1 : src);
	snprintf(sc->origin, sizeof sc->origin, "%.*s", sp ? (int)(sp - src) : 0, src);
	const char *slash = strchr(x->path, '/');
	if (slash)
		snprintf(sc->component, sizeof sc->component, "%.*s", (int)(slash - x->path),
			 x->path);
	/* binary-ARCH/, Contents-ARCH, Contents-udeb-ARCH */
	const char *a = strstr(x->path, "binary-");
	size_t alen = 0;
	if (a) {
		a += 7;
		alen = strcspn(a, "/");
	} else if ((a = strstr(x->path, "Contents-")) != NULL) {
		a += 9;
		if (!strncmp(a, "udeb-", 5))
			a += 5;
		alen = strcspn(a, ".");
	}
	if (alen)
		snprintf(sc->arch, sizeof sc->arch, "%.*s", (int)alen, a);
}

/* The suite and architecture of an index row, for grouping: "SUITE ARCH". */
static void index_group(const struct xs_cache_index *x, char *out, size_t outsz)
{
	struct index_scope sc;
	index_scope(x, &sc);
	snprintf(out, outsz, "%s%s%s%s (%s), %s", sc.suite, *sc.codename ? " (" : "", sc.codename,
		 *sc.codename ? ")" : "", sc.origin, *sc.arch ? sc.arch : "every architecture");
}

/* Whether the index row i is shown: it has bytes, and its digest is its
 * own.  Rows sharing one digest are the same file under several names
 * (the empty Contents of the components and architectures a mirror has
 * nothing for): one object, counted once in a line of their own. */
static bool index_shown(const struct xs_cache_info *ci, size_t i)
{
	if (!ci->idx[i].bytes)
		return false;
	for (size_t k = 0; k < ci->nidx; k++)
		if (k != i && !strcmp(ci->idx[k].sha256, ci->idx[i].sha256))
			return false;
	return true;
}

/* The index rows, grouped by suite and architecture in their first
 * order; rows of no bytes left out, rows of a shared digest counted. */
static void print_indexes(const struct xs_cache_info *ci)
{
	char a[32], g[512], h[512];
	size_t shown = 0, same = 0;
	uint64_t bytes = 0, same_bytes = 0;
	bool *done = xs_xcalloc(ci->nidx + 1, sizeof *done);
	for (size_t i = 0; i < ci->nidx; i++) {
		done[i] = !index_shown(ci, i);
		shown += !done[i];
		bytes += done[i] ? 0 : ci->idx[i].bytes;
		if (done[i] && ci->idx[i].bytes) {
			bool first = true; /* an object counted once */
			for (size_t k = 0; k < i && first; k++)
				first = strcmp(ci->idx[k].sha256, ci->idx[i].sha256) != 0;
			same++;
			same_bytes += first ? ci->idx[i].bytes : 0;
		}
	}
	printf("Indexes (%zu, %s):\n", shown, xs_fmt_size(bytes, a, sizeof a));
	for (size_t i = 0; i < ci->nidx; i++) {
		if (done[i])
			continue;
		index_group(&ci->idx[i], g, sizeof g);
		printf("  %s:\n", g);
		for (size_t k = i; k < ci->nidx; k++) {
			if (done[k])
				continue;
			index_group(&ci->idx[k], h, sizeof h);
			if (strcmp(g, h))
				continue;
			done[k] = true;
			printf("    %-44s %10s\n", ci->idx[k].path,
			       xs_fmt_size(ci->idx[k].bytes, a, sizeof a));
		}
	}
	if (same)
		printf("  and %zu indexes that are copies of one another (empty ones): %s\n", same,
		       xs_fmt_size(same_bytes, a, sizeof a));
	free(done);
}

static void print_cache(const char *dir, const struct xs_cache_info *ci)
{
	char a[32], b[32], ts[32];
	printf("Packages (%zu):\n", ci->npkgs);
	printf("  %-32s %-24s %-8s %10s  %-16s %s\n", "NAME", "VERSION", "ARCH", "SIZE",
	       "LAST USE (UTC)", "");
	for (size_t i = 0; i < ci->npkgs; i++) {
		const struct xs_cache_pkg *p = &ci->pkgs[i];
		char note[64] = "";
		if (p->missing)
			snprintf(note, sizeof note, "%llu files missing", (unsigned long long)p->missing);
		else if (p->leased)
			snprintf(note, sizeof note, "in use");
		printf("  %-32s %-24s %-8s %10s  %-16s %s\n", p->name, p->version, p->arch,
		       xs_fmt_size(p->bytes, a, sizeof a), fmt_time(p->last_use, ts, sizeof ts), note);
	}
	print_indexes(ci);
	printf("Objects: %llu (%s)", (unsigned long long)ci->objects,
	       xs_fmt_size(ci->object_bytes, a, sizeof a));
	if (ci->unreferenced)
		printf(", %llu unreferenced (%s)", (unsigned long long)ci->unreferenced,
		       xs_fmt_size(ci->unreferenced_bytes, b, sizeof b));
	printf("\n");
	if (ci->quarantined)
		printf("Quarantine: %llu files (%s)\n", (unsigned long long)ci->quarantined,
		       xs_fmt_size(ci->quarantine_bytes, a, sizeof a));
	if (ci->leases)
		printf("Live processes using the cache: %llu\n", (unsigned long long)ci->leases);
	printf("Total: %s in %s\n", xs_fmt_size(ci->total_bytes, a, sizeof a), dir);
}

/* ---- cache list --json ------------------------------------------------- */

static struct json_object *jstr(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static struct json_object *jnum(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static struct json_object *json_pkg(const struct xs_cache_pkg *p)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "version", json_object_new_string(p->version));
	json_object_object_add(o, "arch", json_object_new_string(p->arch));
	json_object_object_add(o, "bytes", jnum(p->bytes));
	json_object_object_add(o, "files", jnum(p->files));
	json_object_object_add(o, "missing_files", jnum(p->missing));
	json_object_object_add(o, "last_use", json_object_new_int64(p->last_use));
	json_object_object_add(o, "in_use", json_object_new_boolean(p->leased));
	json_object_object_add(o, "deb_sha256", json_object_new_string(p->deb_sha256));
	return o;
}

static struct json_object *json_index(const struct xs_cache_index *x)
{
	struct index_scope sc;
	index_scope(x, &sc);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "origin", jstr(sc.origin));
	json_object_object_add(o, "suite", json_object_new_string(sc.suite));
	json_object_object_add(o, "codename", jstr(sc.codename));
	json_object_object_add(o, "component", jstr(sc.component));
	json_object_object_add(o, "arch", jstr(sc.arch));
	json_object_object_add(o, "path", json_object_new_string(x->path));
	json_object_object_add(o, "sha256", json_object_new_string(x->sha256));
	json_object_object_add(o, "bytes", jnum(x->bytes));
	json_object_object_add(o, "last_use", NULL); /* the cache keeps none for indexes */
	return o;
}

static void json_cache(const char *dir, const struct xs_cache_info *ci)
{
	struct json_object *doc = json_object_new_object(), *pk = json_object_new_array(),
			   *ix = json_object_new_array(), *ob = json_object_new_object();
	json_object_object_add(doc, "schema_version", json_object_new_int(CLI_JSON_SCHEMA));
	json_object_object_add(doc, "cache_dir", json_object_new_string(dir));
	for (size_t i = 0; i < ci->npkgs; i++)
		json_object_array_add(pk, json_pkg(&ci->pkgs[i]));
	json_object_object_add(doc, "packages", pk);
	for (size_t i = 0; i < ci->nidx; i++)
		json_object_array_add(ix, json_index(&ci->idx[i]));
	json_object_object_add(doc, "indexes", ix);
	json_object_object_add(ob, "count", jnum(ci->objects));
	json_object_object_add(ob, "bytes", jnum(ci->object_bytes));
	json_object_object_add(ob, "unreferenced", jnum(ci->unreferenced));
	json_object_object_add(ob, "unreferenced_bytes", jnum(ci->unreferenced_bytes));
	json_object_object_add(doc, "objects", ob);
	ob = json_object_new_object();
	json_object_object_add(ob, "files", jnum(ci->quarantined));
	json_object_object_add(ob, "bytes", jnum(ci->quarantine_bytes));
	json_object_object_add(doc, "quarantine", ob);
	json_object_object_add(doc, "live_processes", jnum(ci->leases));
	json_object_object_add(doc, "total_bytes", jnum(ci->total_bytes));
	json_print(doc);
}

static int cache_list(const char *dir, bool json)
{
	struct xs_cache_info ci;
	int q = xs_cache_list(dir, &ci);
	if (q < 0) {
		fprintf(stderr, "xsysroot: cannot read the cache %s: %s\n", dir, strerror(-q));
		return 1;
	}
	if (json)
		json_cache(dir, &ci);
	else
		print_cache(dir, &ci);
	xs_cache_info_free(&ci);
	return 0;
}

/* ---- cache names: the package names of the cached indexes -------------- */

#define NAMES_MAX_INDEX (1ull << 30) /* decompressed bytes of one Packages index */
#define NAMES_MAX_FILE (64u << 20)   /* bytes of the kept list */
#define NAMES_FILE "completion-names" /* in the cache directory: the kept list */

/* Lines of a Packages index as they are decompressed: the name of each
 * "Package: NAME" line into names. */
struct names_scan {
	char line[256]; /* the start of the current line, when it may be one */
	size_t len;
	bool skip;	/* the current line is too long to matter */
	char **names;
	size_t n, cap;
};

static void names_line(struct names_scan *ns)
{
	ns->line[ns->len] = 0;
	if (!ns->skip && !strncmp(ns->line, "Package: ", 9) && ns->line[9]) {
		xs_grow(&ns->names, &ns->cap, ns->n + 1, sizeof *ns->names);
		ns->names[ns->n++] = xs_strdup(ns->line + 9);
	}
	ns->len = 0;
	ns->skip = false;
}

static int names_chunk(const void *p, size_t n, void *ud)
{
	struct names_scan *ns = ud;
	for (const char *c = p, *end = c + n; c < end; c++) {
		if (*c == '\n')
			names_line(ns);
		else if (ns->len + 1 < sizeof ns->line)
			ns->line[ns->len++] = *c;
		else
			ns->skip = true;
	}
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_packages_index(const struct xs_cache_index *x)
{
	const char *base = strrchr(x->path, '/');
	return strstr(x->path, "binary-") && base && !strncmp(base, "/Packages", 9);
}

/* The names of index x kept in its compact form (pkgidx.h), if it is. */
static void names_compact(const char *dir, const struct xs_cache_index *x, struct xs_store *st,
			  struct names_scan *ns)
{
	char name[96], path[PATH_MAX], why[256];
	if (xs_cf_build(XS_CF_PACKAGES_IDX, x->sha256, name, sizeof name) < 0 ||
	    xs_store_meta_path(st, name, path, sizeof path) < 0)
		return;
	struct xs_pkgtab t;
	xs_pkgtab_init(&t);
	int q = xs_pkgidx_load_path(path, NULL, &t, 0, NULL, why, sizeof why);
	if (q < 0 && q != -ENOENT)
		say("warning: %s: cannot read the index %s in %s: %s: %s", x->source, x->path, dir,
		    path, why);
	for (size_t i = 0; i < t.n; i++) {
		xs_grow(&ns->names, &ns->cap, ns->n + 1, sizeof *ns->names);
		ns->names[ns->n++] = xs_strdup(t.pkgs[i].name);
	}
	xs_pkgtab_free(&t);
}

/* The names of the Packages indexes ci lists, sorted, once each, a line
 * each, into out. */
static void names_of(const char *dir, const struct xs_cache_info *ci, struct xs_store *st,
		     struct xs_buf *out)
{
	struct names_scan ns = { 0 };
	for (size_t i = 0; i < ci->nidx; i++) {
		if (!is_packages_index(&ci->idx[i]))
			continue;
		int fd = xs_store_open_object(st, ci->idx[i].sha256);
		if (fd < 0) {
			names_compact(dir, &ci->idx[i], st, &ns);
			continue;
		}
		if (xs_decompress_fd(fd, NAMES_MAX_INDEX, names_chunk, &ns) < 0)
			say("warning: %s: cannot read the index %s in %s", ci->idx[i].source,
			    ci->idx[i].path, dir);
		names_line(&ns);
		close(fd);
	}
	qsort(ns.names, ns.n, sizeof *ns.names, cmp_name);
	for (size_t i = 0; i < ns.n; i++)
		if (!i || strcmp(ns.names[i], ns.names[i - 1]))
			xs_buf_printf(out, "%s\n", ns.names[i]);
	for (size_t i = 0; i < ns.n; i++)
		free(ns.names[i]);
	free(ns.names);
}

/* The key of the names of ci: the SHA-256 of its Packages indexes'
 * digests, sorted. */
static void names_key(const struct xs_cache_info *ci, char key[65])
{
	char **d = xs_xcalloc(ci->nidx + 1, sizeof *d);
	size_t n = 0;
	for (size_t i = 0; i < ci->nidx; i++)
		if (is_packages_index(&ci->idx[i]))
			d[n++] = (char *)ci->idx[i].sha256;
	qsort(d, n, sizeof *d, cmp_name);
	struct xs_buf b;
	xs_buf_init(&b, SIZE_MAX / 2);
	for (size_t i = 0; i < n; i++)
		xs_buf_printf(&b, "%s\n", d[i]);
	xs_sha256_buf(b.data ? b.data : "", b.len, key);
	xs_buf_free(&b);
	free(d);
}

/* Every package name of the Packages indexes the cache holds, sorted, once
 * each, on stdout.  Nothing is downloaded: for shell completion.  The list
 * is kept in CACHEDIR/completion-names under the key of the indexes it
 * came from, so that the next call reads it instead of decompressing them
 * again (a Debian release's arm64 index: 2.4 s, then 0.3 s). */
static int cache_names(const char *dir)
{
	struct xs_cache_info ci;
	struct xs_store *st = NULL;
	int q = xs_cache_list(dir, &ci);
	if (q == 0 && (q = xs_store_open(dir, &st)) < 0)
		xs_cache_info_free(&ci);
	if (q < 0) {
		fprintf(stderr, "xsysroot: cannot read the cache %s: %s\n", dir, strerror(-q));
		return 1;
	}
	char key[65], path[PATH_MAX + 32];
	names_key(&ci, key);
	snprintf(path, sizeof path, "%s/" NAMES_FILE, dir);
	struct xs_buf kept, made;
	size_t kl = strlen(key);
	if (xs_read_file(path, NAMES_MAX_FILE, &kept) == 0 && kept.len > kl &&
	    !memcmp(kept.data, key, kl) && kept.data[kl] == '\n') {
		fwrite(kept.data + kl + 1, 1, kept.len - kl - 1, stdout);
	} else {
		xs_buf_init(&made, NAMES_MAX_FILE);
		xs_buf_printf(&made, "%s\n", key);
		names_of(dir, &ci, st, &made);
		fwrite(made.data + kl + 1, 1, made.len - kl - 1, stdout);
		(void)xs_write_file_atomic(path, made.data, made.len, 0644); /* a cache: best effort */
		xs_buf_free(&made);
	}
	xs_buf_free(&kept);
	xs_store_close(st);
	xs_cache_info_free(&ci);
	return 0;
}

static void verify_progress(uint64_t done, uint64_t total, void *ud)
{
	if (done % 256 == 0 || done == total)
		cli_progress_draw(ud, "verifying %llu/%llu", (unsigned long long)done,
				  (unsigned long long)total);
}

static int cache_verify(const char *dir, struct cli_progress *line)
{
	struct xs_cache_verify v;
	int q = xs_cache_verify(dir, line->tty ? verify_progress : NULL, line, &v);
	cli_progress_erase(line);
	if (q < 0) {
		fprintf(stderr, "xsysroot: cannot verify the cache %s: %s\n", dir, strerror(-q));
		return 1;
	}
	char a[32];
	for (size_t i = 0; v.bad_names && v.bad_names[i]; i++)
		printf("bad object %s: its content does not match its name: moved to %s/quarantine/\n",
		       v.bad_names[i], dir);
	for (size_t i = 0; v.broken_names && v.broken_names[i]; i++)
		printf("incomplete package %s: a mount fetches it again\n", v.broken_names[i]);
	for (size_t i = 0; v.bad_index_names && v.bad_index_names[i]; i++)
		printf("bad compact index %s/meta/%s: moved to %s/quarantine/ (rebuilt from the "
		       "mirror's index at its next use)\n",
		       dir, v.bad_index_names[i], dir);
	printf("%llu objects (%s) and %llu compact indexes verified in %s: %llu bad, "
	       "%llu packages incomplete, %llu bad compact indexes\n",
	       (unsigned long long)v.objects, xs_fmt_size(v.bytes, a, sizeof a),
	       (unsigned long long)v.indexes, dir, (unsigned long long)v.bad,
	       (unsigned long long)v.broken, (unsigned long long)v.bad_indexes);
	int rc = v.bad || v.broken || v.bad_indexes ? 1 : 0;
	xs_cache_verify_free(&v);
	return rc;
}

static int cache_gc(const char *dir, uint64_t max_size, bool dry)
{
	struct xs_cache_gc g;
	struct xs_cache_gc_opts o = { .max_size = max_size, .dry_run = dry };
	int q = xs_cache_gc_run(dir, &o, &g);
	if (q == -EWOULDBLOCK) {
		fprintf(stderr, "xsysroot: a process is adding to %s: waiting for it\n", dir);
		o.wait = true;
		q = xs_cache_gc_run(dir, &o, &g);
	}
	if (q < 0) {
		fprintf(stderr, "xsysroot: cannot collect the cache %s: %s\n", dir, strerror(-q));
		return 1;
	}
	char a[32], b[32], c[32];
	const char *verb = dry ? "would remove" : "removed";
	for (size_t i = 0; g.index_names && g.index_names[i]; i++)
		printf("%s index %s\n", verb, g.index_names[i]);
	for (size_t i = 0; g.evicted_names && g.evicted_names[i]; i++)
		printf("%s %s\n", dry ? "would evict" : "evicted", g.evicted_names[i]);
	printf("%s %llu unused indexes, %llu Contents indexes, %llu resolved views, %llu "
	       "native-tools layers; ", verb,
	       (unsigned long long)g.indexes_removed, (unsigned long long)g.contents_removed,
	       (unsigned long long)g.views_removed, (unsigned long long)g.hybrid_removed);
	printf("%s %llu unreferenced objects, %llu temporary files, %llu quarantined "
	       "files, %llu stale leases; evicted %llu packages; %s freed: %s -> %s%s\n", verb,
	       (unsigned long long)g.objects_removed, (unsigned long long)g.tmp_removed,
	       (unsigned long long)g.quarantine_removed, (unsigned long long)g.leases_removed,
	       (unsigned long long)g.evicted, xs_fmt_size(g.bytes_freed, a, sizeof a),
	       xs_fmt_size(g.size_before, b, sizeof b), xs_fmt_size(g.size_after, c, sizeof c),
	       dry ? " (dry run: nothing removed)" : "");
	int rc = 0;
	if (max_size != UINT64_MAX && g.size_after > max_size && g.kept_leased) {
		fprintf(stderr, "xsysroot: %s still holds %s, over %s: %llu packages over the bound "
			"are in use by live mounts or commands\n", dir,
			xs_fmt_size(g.size_after, a, sizeof a), xs_fmt_size(max_size, b, sizeof b),
			(unsigned long long)g.kept_leased);
		rc = 1;
	} else if (max_size != UINT64_MAX && g.size_after > max_size) {
		printf("%s holds %s, over %s: what is left is indexes and metadata, which gc keeps\n",
		       dir, xs_fmt_size(g.size_after, a, sizeof a), xs_fmt_size(max_size, b, sizeof b));
	}
	xs_cache_gc_free(&g);
	return rc;
}

static const char *const cache_actions[] = { "list", "verify", "gc", "names" };

static int cache_with(const struct cli_command *self, struct cli_setup *s, const char *what,
		      uint64_t max_size, bool json, bool dry)
{
	bool known = false;
	for (size_t i = 0; i < XS_ARRAY_SIZE(cache_actions); i++)
		known = known || !strcmp(what, cache_actions[i]);
	if (!known) {
		char hint[128];
		cli_did_you_mean(what, cache_actions, XS_ARRAY_SIZE(cache_actions), "", hint,
				 sizeof hint);
		if (hint[0])
			return cli_usage_error(self, "unknown cache action '%s'; did you mean %s?",
					       what, hint);
		return cli_usage_error(self, "unknown cache action '%s'", what);
	}
	if ((max_size != UINT64_MAX || dry) && strcmp(what, "gc")) {
		fprintf(stderr, "xsysroot: %s is for cache gc\n", dry ? "--dry-run" : "--max-size");
		return EXIT_USAGE;
	}
	if (json && strcmp(what, "list")) {
		fprintf(stderr, "xsysroot: --json is for cache list\n");
		return EXIT_USAGE;
	}
	if (cli_setup_configure(s, NULL) < 0 || cli_setup_cache_dir(s) < 0)
		return EXIT_FAILURE;
	if (!strcmp(what, "gc") && max_size == UINT64_MAX && s->quota)
		max_size = s->quota; /* the configuration's quota */
	if (!strcmp(what, "list"))
		return cache_list(s->cache_abs, json);
	if (!strcmp(what, "names"))
		return cache_names(s->cache_abs);
	if (!strcmp(what, "verify"))
		return cache_verify(s->cache_abs, &s->progress);
	return cache_gc(s->cache_abs, max_size, dry);
}

static int cmd_cache(const struct cli_command *self, int argc, char **argv)
{
	uint64_t max_size = UINT64_MAX;
	bool json = false;
	bool dry = false;
	/* --cache-dir and --config; the files give the cache dir and the quota */
	struct cli_setup s;
	cli_setup_init(&s);
	int rc = EXIT_USAGE;
	optind = 0; /* getopt starts afresh */
	int c;
	while ((c = cli_setup_getopt(&s, self, argc, argv, "h", cache_opts)) > 0) {
		switch (c) {
		case OPT_MAX_SIZE:
			if (!size_option("--max-size", optarg, &max_size))
				goto out;
			break;
		case OPT_JSON: json = true; break;
		case OPT_DRY_RUN:
			dry = true;
			break;
		default: goto out;
		}
	}
	/* no action: list */
	if (c != CLI_END)
		rc = cli_stop_status(c);
	else if (argc - optind > 1)
		rc = cli_usage_error(self, "cache takes one of list, verify, gc");
	else
		rc = cache_with(self, &s, optind < argc ? argv[optind] : "list", max_size, json, dry);
out:
	cli_setup_free(&s);
	return rc;
}

const struct cli_command cli_cmd_cache = {
	.name = "cache",
	.run = cmd_cache,
	.synopsis = "cache list|verify|gc|names [--json] [--max-size SIZE] [--dry-run] "
		    "[--cache-dir DIR] [--config FILE]",
	.summary = "list, verify or collect the cache directory",
	.help =
	"cache list (the default) shows the cached packages, then the indexes\n"
	"grouped by suite and architecture; cache verify re-hashes every object\n"
	"and checks every compact index, and moves bad ones to quarantine (exit 1\n"
	"if any); cache gc removes unreferenced objects, leftovers and\n"
	"quarantine, the indexes, Contents indexes and resolved views not used\n"
	"for 14 days that no live mount uses, and evicts least recently used\n"
	"packages that no live mount uses down to --max-size; cache names prints\n"
	"the package names of the cached indexes, one a line, for shell\n"
	"completion (nothing is downloaded).\n"
	"\n"
	"Options:\n"
	"      --json                cache list as one JSON document on stdout (the\n"
	"                            schema is in xsysroot(1), JSON OUTPUT)\n"
	"      --max-size SIZE       bound for cache gc (K, M, G, T suffixes; default:\n"
	"                            the quota of the configuration files)\n"
	"      --dry-run             cache gc: say what would be removed, remove\n"
	"                            nothing\n"
	"      --cache-dir DIR       cache directory (default: /var/cache/xsysroot for\n"
	"                            root, else $XDG_CACHE_HOME/xsysroot or\n"
	"                            ~/.cache/xsysroot)\n"
	"      --config FILE         read FILE instead of /etc/xsysroot.conf and\n"
	"                            ~/.config/xsysroot/config (also $XSYSROOT_CONFIG;\n"
	"                            empty: none)\n",
};
