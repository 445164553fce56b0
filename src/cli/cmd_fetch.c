/* cmd_fetch.c - xsysroot fetch: warm the cache for later offline use.
 *
 * Opens the view exactly as mount does (same repository options, so the
 * same InRelease, indexes and resolved view end up in the cache), then
 * fetches and unpacks every package of it, a few at a time.  Progress on
 * stderr when it is a terminal; a summary line on stdout. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "xsysroot/cachemgr.h"
#include "xsysroot/repo.h"
#include "xsysroot/util.h"

#define MAX_JOBS 32

static const struct option fetch_opts[] = {
	XS_REPO_LONG_OPTIONS,
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "fetch-timeout", required_argument, NULL, OPT_FETCH_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct fetch_run {
	struct xs_repo *r;
	pthread_mutex_t m; /* guards next, done, failed, cached and the progress line */
	size_t next, n, done, failed, cached;
	bool tty;
};

static void *fetch_worker(void *ud)
{
	struct fetch_run *f = ud;
	for (;;) {
		pthread_mutex_lock(&f->m);
		size_t i = f->next < f->n ? f->next++ : SIZE_MAX;
		pthread_mutex_unlock(&f->m);
		if (i == SIZE_MAX)
			return NULL;
		struct xs_repo_pkg p = { 0 };
		xs_repo_pkg(f->r, i, &p);
		bool was = p.fetched;
		char err[2048] = "";
		int q = xs_repo_fetch(f->r, i, err, sizeof err);
		pthread_mutex_lock(&f->m);
		f->done++;
		f->cached += q == 0 && was;
		if (q < 0) {
			f->failed++;
			fprintf(stderr, "%sxsysroot: %s\n", f->tty ? "\r\033[K" : "", err);
		}
		if (f->tty)
			fprintf(stderr, "\r\033[K[%zu/%zu] %s %s", f->done, f->n, p.name, p.version);
		pthread_mutex_unlock(&f->m);
	}
}

static int fetch_with(int argc, char **argv, struct repo_opts *ro);

int cmd_fetch(int argc, char **argv)
{
	struct xs_repo_config cfg = { 0 };
	char cache_dir[PATH_MAX] = "";
	cfg.apt_root = "/";
	struct repo_opts ro = { .cfg = &cfg, .cache_dir = cache_dir };
	int rc = fetch_with(argc, argv, &ro);
	repo_opts_free(&ro);
	return rc;
}

static int fetch_with(int argc, char **argv, struct repo_opts *ro)
{
	struct xs_repo_config *cfgp = ro->cfg;
	long jobs = 4;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", fetch_opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case OPT_JOBS:
			jobs = strtol(optarg, &end, 10);
			if (*end || jobs < 1 || jobs > MAX_JOBS) {
				fprintf(stderr, "xsysroot: --jobs: '%s' is not a number from 1 to %d\n",
					optarg, MAX_JOBS);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default:
			if (!repo_option(c, ro)) {
				usage(stderr);
				return 2;
			}
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "xsysroot: fetch needs ARCH\n");
		usage(stderr);
		return 2;
	}
	cfgp->arch = argv[optind];
	if (repo_configure(ro) < 0)
		return 1;
	char cd_abs[PATH_MAX];
	if (open_cache_dir(ro->cache_dir, cd_abs) < 0)
		return 1;
	cfgp->cache_dir = cd_abs;
	cfgp->log = warn_log;
	struct fetch_run f = { .tty = isatty(2) == 1 };
	cfgp->progress = f.tty;
	raise_nofile();
	uint64_t t0 = xs_now_ns();
	char err[4096] = "";
	int q = xs_repo_open(cfgp, &f.r, err, sizeof err);
	if (q < 0) {
		fprintf(stderr, "xsysroot: %s\n", err);
		return 1;
	}
	f.n = xs_repo_npkgs(f.r);
	pthread_mutex_init(&f.m, NULL);
	pthread_t th[MAX_JOBS];
	size_t nth = 0;
	for (long i = 0; i < jobs && (size_t)i < f.n; i++)
		if (pthread_create(&th[nth], NULL, fetch_worker, &f) == 0)
			nth++;
	if (!nth)
		fetch_worker(&f);
	for (size_t i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (f.tty)
		fprintf(stderr, "\r\033[K");
	pthread_mutex_destroy(&f.m);
	struct xs_repo_stats st;
	xs_repo_stats(f.r, &st);
	struct xs_cache_info ci;
	char a[32], b[32];
	bool sized = xs_cache_list(cd_abs, &ci) == 0;
	printf("%s view of %zu packages from %s: %zu fetched (%s downloaded), %zu already "
	       "cached, %zu failed in %.1f s; %s holds %s\n",
	       xs_repo_arch(f.r)->deb, f.n, xs_repo_describe(f.r), f.n - f.cached - f.failed,
	       xs_fmt_size(st.deb_bytes + st.index_bytes, a, sizeof a), f.cached, f.failed,
	       (xs_now_ns() - t0) / 1e9, cd_abs,
	       sized ? xs_fmt_size(ci.total_bytes, b, sizeof b) : "?");
	if (sized)
		xs_cache_info_free(&ci);
	xs_repo_free(f.r);
	return f.failed ? 1 : 0;
}
