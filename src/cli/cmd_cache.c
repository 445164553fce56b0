/* cmd_cache.c - xsysroot cache list|verify|gc: the cache directory seen
 * from outside any mount (cachemgr.h does the work). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "setup.h"
#include "xsysroot/cachemgr.h"
#include "xsysroot/util.h"

static const struct option cache_opts[] = {
	{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
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

static int cache_list(const char *dir)
{
	struct xs_cache_info ci;
	int q = xs_cache_list(dir, &ci);
	if (q < 0) {
		fprintf(stderr, "xsysroot: cannot read the cache %s: %s\n", dir, strerror(-q));
		return 1;
	}
	char a[32], b[32], ts[32];
	printf("Packages (%zu):\n", ci.npkgs);
	printf("  %-32s %-24s %-8s %10s  %-16s %s\n", "NAME", "VERSION", "ARCH", "SIZE",
	       "LAST USE (UTC)", "");
	for (size_t i = 0; i < ci.npkgs; i++) {
		const struct xs_cache_pkg *p = &ci.pkgs[i];
		char note[64] = "";
		if (p->missing)
			snprintf(note, sizeof note, "%llu files missing", (unsigned long long)p->missing);
		else if (p->leased)
			snprintf(note, sizeof note, "in use");
		printf("  %-32s %-24s %-8s %10s  %-16s %s\n", p->name, p->version, p->arch,
		       xs_fmt_size(p->bytes, a, sizeof a), fmt_time(p->last_use, ts, sizeof ts), note);
	}
	printf("Indexes (%zu):\n", ci.nidx);
	for (size_t i = 0; i < ci.nidx; i++)
		printf("  %-40s %-40s %10s\n", ci.idx[i].source, ci.idx[i].path,
		       xs_fmt_size(ci.idx[i].bytes, a, sizeof a));
	printf("Objects: %llu (%s), %llu unreferenced (%s)\n", (unsigned long long)ci.objects,
	       xs_fmt_size(ci.object_bytes, a, sizeof a), (unsigned long long)ci.unreferenced,
	       xs_fmt_size(ci.unreferenced_bytes, b, sizeof b));
	printf("Quarantine: %llu files (%s)\n", (unsigned long long)ci.quarantined,
	       xs_fmt_size(ci.quarantine_bytes, a, sizeof a));
	printf("Live processes using the cache: %llu\n", (unsigned long long)ci.leases);
	printf("Total: %s in %s\n", xs_fmt_size(ci.total_bytes, a, sizeof a), dir);
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
	printf("%llu objects (%s) verified in %s: %llu bad, %llu packages incomplete\n",
	       (unsigned long long)v.objects, xs_fmt_size(v.bytes, a, sizeof a), dir,
	       (unsigned long long)v.bad, (unsigned long long)v.broken);
	int rc = v.bad || v.broken ? 1 : 0;
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
	printf("%s %llu unused indexes, %llu Contents indexes, %llu resolved views; ", verb,
	       (unsigned long long)g.indexes_removed, (unsigned long long)g.contents_removed,
	       (unsigned long long)g.views_removed);
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

static const char *const cache_actions[] = { "list", "verify", "gc" };

static int cache_with(const struct cli_command *self, struct cli_setup *s, const char *what,
		      uint64_t max_size, bool dry)
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
	if (cli_setup_configure(s, NULL) < 0 || cli_setup_cache_dir(s) < 0)
		return EXIT_FAILURE;
	if (!strcmp(what, "gc") && max_size == UINT64_MAX && s->quota)
		max_size = s->quota; /* the configuration's quota */
	if (!strcmp(what, "list"))
		return cache_list(s->cache_abs);
	if (!strcmp(what, "verify"))
		return cache_verify(s->cache_abs, &s->progress);
	return cache_gc(s->cache_abs, max_size, dry);
}

static int cmd_cache(const struct cli_command *self, int argc, char **argv)
{
	uint64_t max_size = UINT64_MAX;
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
		case OPT_DRY_RUN:
			dry = true;
			break;
		default: goto out;
		}
	}
	if (c != CLI_END)
		rc = cli_stop_status(c);
	else if (argc - optind != 1)
		rc = cli_usage_error(self, "cache needs one of list, verify, gc");
	else
		rc = cache_with(self, &s, argv[optind], max_size, dry);
out:
	cli_setup_free(&s);
	return rc;
}

const struct cli_command cli_cmd_cache = {
	.name = "cache",
	.run = cmd_cache,
	.synopsis = "cache list|verify|gc [--max-size SIZE] [--dry-run] [--cache-dir DIR] "
		    "[--config FILE]",
	.summary = "list, verify or collect the cache directory",
	.help =
	"cache list shows the cached packages and indexes; cache verify re-hashes\n"
	"every object and moves bad ones to quarantine (exit 1 if any); cache gc\n"
	"removes unreferenced objects, leftovers and quarantine, the indexes,\n"
	"Contents indexes and resolved views not used for 14 days that no live\n"
	"mount uses, and evicts least recently used packages that no live mount\n"
	"uses down to --max-size.\n"
	"\n"
	"Options:\n"
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
