/* repo-internal.h - the repo's state, shared by the files that make the
 * repo (repo.c: the composition; repo-resolve.c: resolving the view's
 * packages).  Not a public header: nothing outside these files includes it.
 * Locking and lifetime are written next to each field. */
#ifndef XSYSROOT_REPO_INTERNAL_H
#define XSYSROOT_REPO_INTERNAL_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "xsysroot/archive.h"
#include "xsysroot/cachemgr.h"
#include "xsysroot/contents.h"
#include "xsysroot/fetcher.h"
#include "xsysroot/grow.h"
#include "xsysroot/repo.h"
#include "xsysroot/source.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"
#include "xsysroot/view.h"

#define EXTRA_PKGS 1024 /* packages a running view may add (xs_repo_provide) */

/* The repo's own state per source of the archive (r->srcs[i] is source i
 * of r->archive): the Contents indexes opened for it. */
struct src {
	const struct xs_archive_source *a; /* uri, suite, components, rel */
	size_t idx;			   /* its number in the archive */
	struct xs_contents **contents;
	size_t ncontents, capcontents;
};

struct vpkg {
	char *name, *version, *arch, *filename, *sha256;
	uint64_t size;
	int src;
	size_t *deps; /* view packages satisfying its Depends/Pre-Depends */
	size_t ndeps;
};

struct bind {
	char *host, *path; /* path: as the view shows it ("usr/local/lib") */
	struct timespec mtime;
	ino_t ino;
};

struct xs_repo {
	const struct xs_arch *arch;
	struct bind *binds;
	size_t nbinds;
	pthread_mutex_t refresh_lock; /* serialises xs_repo_refresh */
	char *cache_dir;
	int fetch_timeout_s;
	xs_log_fn log;
	void *log_ud;
	struct xs_store *store;
	struct xs_archive *archive; /* sources, mirrors, InRelease; NULL for an image */
	struct src *srcs;
	size_t nsrcs;
	/* pkgs never moves once the view is built (threads hold pointers into
	 * it): it has room for EXTRA_PKGS more; npkgs only grows, under
	 * the grow lock (grow.h), and is read atomically */
	struct vpkg *pkgs;
	size_t npkgs, cappkgs;
	struct xs_grow *grow;	/* serialises xs_repo_provide's additions */
	char cands_name[96];	/* meta/ name of the candidate table, "" none */
	struct xs_view *view;
	/* where the packages come from: this archive (debsource.c) or
	 * an image; set at open, then constant */
	struct xs_pkg_source source;
	/* the packages' single flight and prefetch (key i: package i); made
	 * once pkgs has its final place, freed first (its prefetch threads
	 * use everything else); grown before npkgs */
	struct xs_fetcher *fetcher;
	char view_digest[65]; /* of the view as opened (identity.h), set at open */
	char *describe;
	/* statistics, updated atomically */
	struct xs_source_counters count;
	uint64_t evicted;
	bool offline;
	uint64_t quota;		  /* bytes, 0: none */
	bool ready;		  /* xs_repo_open has returned (the quota may run) */
	struct xs_lease *lease;	  /* what gc must leave alone while we live */
	/* err_lock guards the ring of recent errors; taken alone */
	pthread_mutex_t err_lock;
	struct {
		int64_t when;
		char msg[512];
	} errors[XS_REPO_MAX_ERRORS];
	size_t nerrors, error_head;
};

#define logf_(o, level, ...) xs_logf((o)->log, (o)->log_ud, level, __VA_ARGS__)

#define FAIL XS_FAIL

/* Fill p (its strings copied). */
void xs_repo_fill_pkg(struct vpkg *p, const char *name, const char *version, const char *arch,
		      const char *filename, const char *sha256, uint64_t size, int src);
/* Resolve the packages of the view (the runtime base, the defaults and
 * packages, a comma-separated list) from the archive's Packages indexes,
 * or from the resolved-view cache (meta/view-KEY) when it has them, into
 * r->pkgs; r->cands_name names the candidate table.  0, or negative errno
 * with a message. */
int xs_repo_resolve_view(struct xs_repo *r, const char *packages, char *err, size_t errsz);
#endif
