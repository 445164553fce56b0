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

#include "command.h"
#include "setup.h"
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
	struct cli_progress *line; /* the progress line, on a terminal */
	pthread_mutex_t m;	   /* guards next, done, failed and cached */
	size_t next, n, done, failed, cached;
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
			cli_progress_say(f->line, "%s", err);
		}
		cli_progress_draw(f->line, "[%zu/%zu] %s %s", f->done, f->n, p.name, p.version);
		pthread_mutex_unlock(&f->m);
	}
}

static int fetch_with(struct cli_setup *s, long jobs);

static int cmd_fetch(const struct cli_command *self, int argc, char **argv)
{
	struct cli_setup s;
	cli_setup_init(&s);
	long jobs = 4;
	int rc = EXIT_USAGE;
	optind = 0; /* getopt starts afresh */
	int c;
	while ((c = cli_setup_getopt(&s, self, argc, argv, "h", fetch_opts)) > 0) {
		char *end;
		switch (c) {
		case OPT_JOBS:
			jobs = strtol(optarg, &end, 10);
			if (*end || jobs < 1 || jobs > MAX_JOBS) {
				fprintf(stderr, "xsysroot: --jobs: '%s' is not a number from 1 to %d\n",
					optarg, MAX_JOBS);
				goto out;
			}
			break;
		default: goto out;
		}
	}
	if (c != CLI_END)
		rc = cli_stop_status(c);
	else if (argc - optind != 1)
		rc = cli_usage_error(self, "fetch needs ARCH");
	else if (cli_setup_configure(&s, argv[optind]) < 0)
		rc = EXIT_FAILURE;
	else
		rc = fetch_with(&s, jobs);
out:
	cli_setup_free(&s);
	return rc;
}

/* fetch, with s configured */
static int fetch_with(struct cli_setup *s, long jobs)
{
	uint64_t t0 = xs_now_ns();
	if (cli_setup_open(s, 0) < 0)
		return EXIT_FAILURE;
	struct fetch_run f = { .r = s->repo, .line = &s->progress };
	const char *cd_abs = s->cache_abs;
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
	cli_progress_erase(f.line);
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
	return f.failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

const struct cli_command cli_cmd_fetch = {
	.name = "fetch",
	.run = cmd_fetch,
	.synopsis = "fetch [REPOSITORY OPTIONS] [--jobs N] ARCH",
	.summary = "fetch every package of a view into the cache, for --offline",
	.help =
	"Resolve the view mount would present and fetch and unpack every package\n"
	"of it into the cache, for a later mount --offline.\n"
	"\n"
	CLI_HELP_REPO_OPTIONS
	"\n"
	"fetch options:\n"
	CLI_HELP_FETCH_TIMEOUT
	"      --jobs N              packages fetched at once (default: 4)\n",
};
