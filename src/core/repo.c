/* repo.c - see include/xsysroot/repo.h */
#include "xsysroot/repo.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "xs-build.h"
#include "xsysroot/aptsrc.h"
#include "xsysroot/cachemgr.h"
#include "xsysroot/contents.h"
#include "xsysroot/deb.h"
#include "xsysroot/decompress.h"
#include "xsysroot/gpg.h"
#include "xsysroot/http.h"
#include "xsysroot/image.h"
#include "xsysroot/ldcache.h"
#include "xsysroot/packages.h"
#include "xsysroot/release.h"
#include "xsysroot/resolve.h"
#include "xsysroot/util.h"

#define MAX_INRELEASE (16u << 20)
#define MAX_PACKAGES_TEXT (1ull << 30)
#define MAX_CONTENTS_TEXT (4ull << 30)
#define MAX_INDEX_SIZE (512ull << 20)
#define MAX_MANIFEST (256u << 20)
#define MAX_VIEWCACHE (64u << 20)
/* as apt: a Release whose Date lies in the future is "not valid yet" */
#define DATE_SLACK 0
#define VIEWCACHE_VERSION "xsysroot-view 2"
#define MAX_PREFETCH 4 /* background fetches of dependencies at once */
#define CANDS_VERSION "xsysroot-cands 1"
#define MAX_CANDS (256u << 20)
#define EXTRA_PKGS 1024 /* packages a running view may add (xs_repo_provide) */
#define MAX_MIRRORS 16
/* a mirror that failed on the network is tried after the others this long */
#define MIRROR_DEMOTE_NS (60ull * 1000000000ull)

/* One archive: its mirrors carry the same files, and each file fetched is
 * checked against the one Release verified (from whichever mirror). */
struct src {
	char *uri; /* mirrors[0]: the source's name in messages and cache keys */
	char **mirrors; /* base URLs, without a trailing '/', in the order given */
	size_t nmirrors;
	uint64_t *demoted_until; /* per mirror, xs_now_ns() time; atomic */
	char *suite, *keyring;
	char **components;
	struct xs_release rel;
	struct xs_contents **contents;
	size_t ncontents, capcontents;
};

enum { P_IDLE, P_FETCHING, P_READY };

struct vpkg {
	char *name, *version, *arch, *filename, *sha256;
	uint64_t size;
	int src;
	/* m guards state, gen and err; never held across the network */
	pthread_mutex_t m;
	pthread_cond_t cv;
	int state;
	unsigned gen;
	char err[1536];
	bool background; /* the attempt under way is a prefetch (guarded by m) */
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
	/* prefetch_lock guards prefetching (threads running); xs_repo_free
	 * waits on prefetch_cv until it is 0 */
	pthread_mutex_t prefetch_lock;
	pthread_cond_t prefetch_cv;
	int prefetching;
	bool closing;
	char *cache_dir, *gpgv;
	bool allow_expired;
	const struct xs_progress *progress;
	int fetch_timeout_s;
	int64_t now;
	xs_log_fn log;
	void *log_ud;
	struct xs_store *store;
	struct xs_http *http_index, *http_deb;
	/* the same without retries, for a mirror that has another behind it */
	struct xs_http *http_index_once, *http_deb_once;
	struct src *srcs;
	size_t nsrcs;
	/* pkgs never moves once the view is built (threads hold pointers into
	 * it): it has room for EXTRA_PKGS more; npkgs only grows, under
	 * add_lock, and is read atomically */
	struct vpkg *pkgs;
	size_t npkgs, cappkgs;
	pthread_mutex_t add_lock; /* serialises xs_repo_provide's additions */
	char cands_name[96];	  /* meta/ name of the candidate table, "" none */
	const char *cands;	  /* its mapping (under add_lock), NULL: not yet */
	size_t cands_len;
	bool cands_tried, full_warned;
	struct xs_view *view;
	/* a container image whose layers are not in the view yet (open_image):
	 * image_lock serialises xs_repo_settle and guards image; image_ready
	 * is read atomically (set once, under image_lock) */
	pthread_mutex_t image_lock;
	struct xs_image *image;
	bool is_image; /* set at open, then constant */
	bool image_ready;
	char *describe;
	/* statistics, updated atomically */
	uint64_t debs_fetched, deb_bytes, cache_hits, fetch_failures, in_flight, index_bytes;
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

static char **split_list(const char *s)
{
	size_t n = 0, cap = 0;
	char **v = NULL;
	const char *p = s ? s : "";
	while (*p) {
		while (*p == ',' || *p == ' ')
			p++;
		const char *b = p;
		while (*p && *p != ',' && *p != ' ')
			p++;
		if (p > b) {
			xs_grow(&v, &cap, n + 2, sizeof *v);
			v[n++] = xs_strndup(b, (size_t)(p - b));
		}
	}
	xs_grow(&v, &cap, n + 1, sizeof *v);
	v[n] = NULL;
	return v;
}

static void free_list(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static bool list_has(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

int xs_default_cache_dir(char *out, size_t outsz)
{
	if (geteuid() == 0) {
		int n = snprintf(out, outsz, "/var/cache/xsysroot");
		return n > 0 && (size_t)n < outsz ? 0 : -ENAMETOOLONG;
	}
	return xs_xdg_path("XDG_CACHE_HOME", ".cache", "xsysroot", out, outsz);
}

/* ---- sources ------------------------------------------------------------ */

/* uris: one base URL, or the mirrors of one archive (a blank- or
 * comma-separated list, at most MAX_MIRRORS). */
static void add_src(struct xs_repo *r, const char *uris, const char *suite,
		    char **components, const char *keyring)
{
	size_t cap = r->nsrcs;
	xs_grow(&r->srcs, &cap, r->nsrcs + 1, sizeof *r->srcs);
	struct src *s = &r->srcs[r->nsrcs++];
	memset(s, 0, sizeof *s);
	s->mirrors = split_list(uris);
	while (s->mirrors[s->nmirrors] && s->nmirrors < MAX_MIRRORS) {
		char *m = s->mirrors[s->nmirrors++];
		size_t ul = strlen(m);
		while (ul > 1 && m[ul - 1] == '/')
			m[--ul] = 0;
	}
	for (size_t i = s->nmirrors; s->mirrors[i]; i++) {
		free(s->mirrors[i]);
		s->mirrors[i] = NULL;
	}
	s->demoted_until = xs_xcalloc(s->nmirrors ? s->nmirrors : 1, sizeof *s->demoted_until);
	s->uri = xs_strdup(s->nmirrors ? s->mirrors[0] : "");
	s->suite = xs_strdup(suite);
	s->components = components;
	s->keyring = xs_strdup(keyring);
}

static int select_sources(struct xs_repo *r, const struct xs_repo_config *cfg, char *err,
			  size_t errsz)
{
	const char *root = cfg->apt_root ? cfg->apt_root : "/";
	char codename[128] = "";
	if (!cfg->suite || !cfg->mirror) {
		if (xs_osrelease_codename(root, codename, sizeof codename) < 0 && !cfg->suite)
			FAIL(-ENOENT, "cannot tell this system's release: no VERSION_CODENAME in "
				      "%setc/os-release; pass --suite NAME",
			     strcmp(root, "/") ? root : "/");
	}
	const char *suite = cfg->suite ? cfg->suite : codename;
	const char *defkr = XS_DEFAULT_KEYRING;
	if (cfg->mirror) {
		char **ms = split_list(cfg->mirror);
		size_t nm = 0;
		while (ms[nm])
			nm++;
		free_list(ms);
		if (!nm || nm > MAX_MIRRORS)
			FAIL(-EINVAL, "the mirror list (--mirror, or the mirror key of the "
				      "configuration files) has %zu mirrors: give 1 to %d", nm,
			     MAX_MIRRORS);
		add_src(r, cfg->mirror, suite, split_list(cfg->components ? cfg->components : "main"),
			cfg->keyring ? cfg->keyring : defkr);
		return 0;
	}
	struct xs_sourcelist l = { 0 };
	int q = xs_aptsrc_load(&l, root);
	if (q < 0) {
		xs_sourcelist_free(&l);
		FAIL(q, "cannot read the apt sources under %s: %s", root, strerror(-q));
	}
	char **want = split_list(cfg->components ? cfg->components : "main");
	for (size_t i = 0; i < l.n; i++) {
		struct xs_source *e = &l.v[i];
		if (!e->enabled || !xs_suite_belongs(e->suite, codename))
			continue;
		/* --suite alone: the host's mirror for the codename, the suite named */
		if (cfg->suite && strcmp(e->suite, codename))
			continue;
		size_t n = 0;
		char **comps = xs_xcalloc(1, sizeof *comps * (strlen(cfg->components ? cfg->components : "main") + 2));
		for (size_t k = 0; want[k]; k++)
			if (list_has(e->components, want[k]) || cfg->components)
				comps[n++] = xs_strdup(want[k]);
		if (!n) {
			free(comps);
			continue;
		}
		bool dup = false;
		for (size_t k = 0; k < r->nsrcs; k++)
			if (!strcmp(r->srcs[k].suite, cfg->suite ? suite : e->suite) &&
			    !strncmp(r->srcs[k].uri, e->uri, strlen(r->srcs[k].uri)))
				dup = true;
		if (dup) {
			free_list(comps);
			continue;
		}
		add_src(r, e->uri, cfg->suite ? suite : e->suite, comps,
			cfg->keyring ? cfg->keyring : e->signed_by ? e->signed_by : defkr);
	}
	free_list(want);
	xs_sourcelist_free(&l);
	if (!r->nsrcs)
		FAIL(-ENOENT, "no Debian source for '%s' in %setc/apt/sources.list or "
			      "%setc/apt/sources.list.d/: pass --mirror URL (the folder that holds "
			      "dists/ and pool/) and --suite NAME",
		     codename, root, root);
	return 0;
}

/* ---- fetching into the store ------------------------------------------- */

static int sink_txn_write(const void *p, size_t n, void *ud)
{
	return xs_txn_write(ud, p, n);
}
static int sink_txn_reset(void *ud)
{
	return xs_txn_reset(ud);
}
/* GET url into the store, checking digest and size.  *remote tells
 * whether a failure came from the mirror (the network, the bytes) rather
 * than from here (the cache). */
static int fetch_object(struct xs_repo *r, struct xs_http *h, const char *url,
			const char *sha256, uint64_t size, const char *label, bool defer_sync,
			uint64_t *bytes, bool *remote, char *err, size_t errsz)
{
	struct xs_txn *t;
	*remote = false;
	int q = xs_txn_begin(r->store, size, &t);
	if (q < 0)
		FAIL(q, "cannot store '%s' in %s: %s", label, r->cache_dir, strerror(-q));
	if (defer_sync)
		xs_txn_defer_sync(t); /* a .deb lives only until it is unpacked */
	struct xs_http_sink sink = { sink_txn_write, sink_txn_reset, t };
	struct xs_http_stats hs = { 0 };
	q = xs_http_get(h, url, size, &sink, label, &hs, err, errsz);
	if (bytes)
		*bytes = hs.bytes;
	if (q < 0) {
		uint64_t got = xs_txn_size(t);
		xs_txn_abort(t);
		*remote = q != -ENOSPC && q != -EDQUOT && q != -ENOMEM && q != -EROFS;
		if (q == -EFBIG)
			FAIL(q, "'%s' from %s: larger than the expected size %llu: refused at %llu bytes",
			     label, url, (unsigned long long)size, (unsigned long long)got + 1);
		if (q == -ENOSPC)
			FAIL(q, "'%s' from %s: no space left in %s", label, url, r->cache_dir);
		return q;
	}
	uint64_t got = xs_txn_size(t);
	char have[65] = "";
	q = xs_txn_commit(t, sha256, size, have);
	*remote = q == -EBADMSG;
	if (q == -EBADMSG) {
		if (got != size)
			FAIL(q, "'%s' from %s: size mismatch: expected %llu bytes, received %llu", label,
			     url, (unsigned long long)size, (unsigned long long)got);
		FAIL(q, "'%s' from %s: SHA256 mismatch: expected %s, received %s", label, url, sha256,
		     have);
	}
	if (q < 0)
		FAIL(q, "cannot store '%s' from %s in %s: %s", label, url, r->cache_dir, strerror(-q));
	return 0;
}

/* ---- mirrors -------------------------------------------------------------- */

/* The order in which to try s's mirrors: as given, except that those that
 * failed on the network lately come last.  Returns how many. */
static size_t mirror_order(const struct src *s, size_t ord[MAX_MIRRORS])
{
	uint64_t now = xs_now_ns();
	size_t n = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < s->nmirrors; i++) {
			uint64_t until = __atomic_load_n(&s->demoted_until[i], __ATOMIC_RELAXED);
			if ((until > now) == (pass == 1))
				ord[n++] = i;
		}
	return n;
}

/* A failure that says the mirror is unreachable or broken, not that it
 * lacks or garbles one file. */
static bool network_failure(int q)
{
	return q == -EIO || q == -ETIMEDOUT || q == -ECONNREFUSED || q == -ECONNRESET ||
	       q == -EHOSTUNREACH || q == -ENETUNREACH || q == -EACCES;
}

/* Remember how mirror m of s did: one that failed on the network is
 * tried after the others for a while; a success clears that. */
static void mirror_result(struct src *s, size_t m, int q)
{
	uint64_t until = q < 0 && network_failure(q) ? xs_now_ns() + MIRROR_DEMOTE_NS : 0;
	__atomic_store_n(&s->demoted_until[m], until, __ATOMIC_RELAXED);
}

/* Fetch one file of s into the store from its mirrors in turn, until one
 * serves bytes of the expected SHA256 and size.  rels are the paths (under
 * the mirror's base URL) to try on each mirror, in order: the next is tried
 * only when the previous is missing (404).  Any other failure (network,
 * 5xx, a digest or size mismatch) moves on to the next mirror, and is
 * logged with the mirror and the reason.  A failure of the cache itself
 * stops at once.  served receives the URL that gave the bytes. */
static int fetch_mirrors(struct xs_repo *r, struct src *s, bool deb, const char *const *rels,
			 size_t nrels, const char *sha256, uint64_t size, const char *label,
			 uint64_t *bytes, char *served, size_t servedsz, char *err, size_t errsz)
{
	size_t ord[MAX_MIRRORS], n = mirror_order(s, ord), failed = 0;
	struct xs_buf why;
	xs_buf_init(&why, errsz);
	int q = -ENOENT;
	*bytes = 0;
	for (size_t k = 0; k < n; k++) {
		size_t m = ord[k];
		bool last = k + 1 == n, remote = true;
		struct xs_http *h = deb ? (last ? r->http_deb : r->http_deb_once)
					: (last ? r->http_index : r->http_index_once);
		char ferr[1024] = "";
		for (size_t i = 0; i < nrels; i++) {
			_cleanup_free_ char *url = NULL;
			if (asprintf(&url, "%s/%s", s->mirrors[m], rels[i]) < 0) {
				xs_buf_free(&why);
				FAIL(-ENOMEM, "out of memory");
			}
			uint64_t got = 0;
			q = fetch_object(r, h, url, sha256, size, label, deb, &got, &remote, ferr,
					 sizeof ferr);
			*bytes += got;
			if (q == 0) {
				snprintf(served, servedsz, "%s", url);
				mirror_result(s, m, 0);
				if (failed)
					logf_(r, XS_LOG_INFO, "'%s' served by mirror %s after %zu failed: %s",
					      label, s->mirrors[m], failed, url);
				xs_buf_free(&why);
				return 0;
			}
			if (!remote || q != -ENOENT)
				break;
		}
		if (!remote) { /* the cache, not the mirror */
			snprintf(err, errsz, "%s", ferr);
			xs_buf_free(&why);
			return q;
		}
		failed++;
		mirror_result(s, m, q);
		xs_buf_printf(&why, "%s%s", why.len ? "; then " : "", ferr);
		if (!last)
			logf_(r, XS_LOG_WARN, "mirror %s failed for '%s': %s; trying mirror %s",
			      s->mirrors[m], label, ferr, s->mirrors[ord[k + 1]]);
	}
	snprintf(err, errsz, "%s%s", why.data ? why.data : "no mirror",
		 failed > 1 ? " (every mirror failed)" : "");
	xs_buf_free(&why);
	return q;
}

static char *src_desc(const struct src *s)
{
	struct xs_buf b;
	xs_buf_init(&b, 1 << 16);
	xs_buf_printf(&b, "%s %s", s->uri, s->suite);
	return xs_buf_steal(&b, NULL);
}

/* The meta/ name of per-source state. */
static void src_key(const struct src *s, const char *what, char *out, size_t outsz)
{
	char hex[65];
	struct xs_buf b;
	xs_buf_init(&b, 1 << 16);
	xs_buf_printf(&b, "%s\n%s", s->uri, s->suite);
	xs_sha256_buf(b.data, b.len, hex);
	xs_buf_free(&b);
	snprintf(out, outsz, "%s-%.16s", what, hex);
}

/* "<sha256 of the InRelease>:<sha256 of the keyring>" */
static int verified_key(const char *data, size_t len, const char *keyring, char out[160])
{
	char a[65], b[65];
	_cleanup_close_ int fd = open(keyring, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int q = xs_sha256_buf(data, len, a);
	if (q == 0)
		q = xs_sha256_fd(fd, b, NULL);
	if (q == 0)
		snprintf(out, 160, "%s:%s", a, b);
	return q;
}

/* The error for something --offline needs and the cache lacks. */
static int offline_missing(struct xs_repo *r, const struct src *s, const char *what, char *err,
			   size_t errsz)
{
	FAIL(-ENOENT, "no cached index for %s %s from %s (%s): run 'xsysroot fetch --mirror %s "
		      "--suite %s %s' first (--offline uses the cache only)",
	     s->suite, r->arch->deb, s->uri, what, s->uri, s->suite, r->arch->deb);
}

/* The InRelease of s: from the mirror, or offline the last one verified. */
static int get_inrelease(struct xs_repo *r, struct src *s, struct xs_http *h, const char *url,
			 const char *name, struct xs_buf *body, char *err, size_t errsz)
{
	if (r->offline) {
		char *data = NULL;
		size_t len = 0;
		if (xs_store_meta_read(r->store, name, MAX_INRELEASE, &data, &len) < 0)
			return offline_missing(r, s, "InRelease", err, errsz);
		int q = xs_buf_append(body, data, len);
		free(data);
		return q;
	}
	struct xs_http_sink sink = xs_http_sink_buf(body);
	struct xs_http_stats hs = { 0 };
	int q = xs_http_get(h, url, MAX_INRELEASE, &sink, "InRelease", &hs, err, errsz);
	__atomic_add_fetch(&r->index_bytes, hs.bytes, __ATOMIC_RELAXED);
	if (q == -ENOENT)
		FAIL(q, "%s: not found: the mirror has no signed InRelease for suite '%s' "
			"(check --mirror and --suite)", url, s->suite);
	return q;
}

/* The InRelease of s from mirror m, verified; *remote is false when a
 * failure was the cache's, not the mirror's. */
static int verify_release_at(struct xs_repo *r, struct src *s, size_t m, struct xs_http *h,
			     bool *remote, char *err, size_t errsz)
{
	_cleanup_free_ char *url = NULL;
	if (asprintf(&url, "%s/dists/%s/InRelease", s->mirrors[m], s->suite) < 0)
		FAIL(-ENOMEM, "out of memory");
	*remote = true;
	xs_release_free(&s->rel);
	memset(&s->rel, 0, sizeof s->rel);
	struct xs_buf body;
	xs_buf_init(&body, MAX_INRELEASE);
	char name[128], path[XS_MAX_PATH];
	src_key(s, "inrelease", name, sizeof name);
	int q = get_inrelease(r, s, h, url, name, &body, err, errsz);
	if (q < 0) {
		xs_buf_free(&body);
		return q;
	}
	char newname[160];
	snprintf(newname, sizeof newname, "%s.new", name);
	q = xs_store_meta_write(r->store, newname, body.data, body.len);
	if (q < 0) {
		xs_buf_free(&body);
		*remote = false;
		FAIL(q, "cannot write %s/meta/%s: %s", r->cache_dir, newname, strerror(-q));
	}
	xs_store_meta_path(r->store, newname, path, sizeof path);
	/* Like apt's "Hit": the very bytes already verified with the very same
	 * keyring need no second gpgv run (dates are checked below anyway). */
	char vname[160], vkey[160] = "";
	snprintf(vname, sizeof vname, "%s.verified", name);
	if (verified_key(body.data, body.len, s->keyring, vkey) < 0)
		vkey[0] = 0;
	char *seen = NULL;
	size_t seen_len = 0;
	bool hit = vkey[0] && xs_store_meta_read(r->store, vname, 256, &seen, &seen_len) == 0 &&
		   seen_len == strlen(vkey) && !memcmp(seen, vkey, seen_len);
	free(seen);
	if (!hit) {
		const char *keyrings[] = { s->keyring, NULL };
		struct xs_gpg_result gr;
		char gerr[1024] = "";
		q = xs_gpgv_verify(r->gpgv, keyrings, path, &gr, gerr, sizeof gerr);
		if (q < 0) {
			xs_buf_free(&body);
			unlink(path);
			xs_store_meta_path(r->store, vname, path, sizeof path);
			unlink(path);
			FAIL(q, "%s: signature refused: %s", url, gerr);
		}
	}
	char *text = NULL;
	size_t tlen = 0;
	char perr[512] = "";
	q = xs_clearsign_split(body.data, body.len, &text, &tlen, perr, sizeof perr);
	if (q < 0) {
		xs_buf_free(&body);
		unlink(path);
		FAIL(q, "%s: refused: %s", url, perr);
	}
	q = xs_release_parse(text, tlen, &s->rel, perr, sizeof perr);
	free(text);
	if (q < 0) {
		xs_buf_free(&body);
		unlink(path);
		FAIL(q, "%s: malformed Release: %s", url, perr);
	}
	q = xs_release_check_dates(&s->rel, r->now, DATE_SLACK, r->allow_expired, perr, sizeof perr);
	if (q < 0) {
		xs_buf_free(&body);
		unlink(path);
		FAIL(q, "%s: refused: %s%s", url, perr,
		     q == -EKEYEXPIRED ? " (--allow-expired overrides this)" : "");
	}
	if ((!s->rel.suite || strcmp(s->rel.suite, s->suite)) &&
	    (!s->rel.codename || strcmp(s->rel.codename, s->suite))) {
		xs_buf_free(&body);
		unlink(path);
		FAIL(-EKEYREJECTED, "%s: refused: it is for Suite '%s', Codename '%s', not '%s'", url,
		     s->rel.suite ? s->rel.suite : "", s->rel.codename ? s->rel.codename : "",
		     s->suite);
	}
	/* rollback: never accept a Release older than one verified before */
	char dname[160];
	snprintf(dname, sizeof dname, "%s.date", name);
	char *old = NULL;
	size_t olen = 0;
	if (xs_store_meta_read(r->store, dname, 64, &old, &olen) == 0) {
		long long prev = strtoll(old, NULL, 10);
		free(old);
		if (s->rel.date >= 0 && s->rel.date < prev) {
			xs_buf_free(&body);
			unlink(path);
			char a[64], b[64];
			time_t ta = (time_t)s->rel.date, tb = (time_t)prev;
			strftime(a, sizeof a, "%a, %d %b %Y %H:%M:%S UTC", gmtime(&ta));
			strftime(b, sizeof b, "%a, %d %b %Y %H:%M:%S UTC", gmtime(&tb));
			FAIL(-EKEYREJECTED, "%s: refused: its Date (%s) is older than the Release "
				"verified before (%s): a rollback", url, a, b);
		}
	}
	char db[32];
	int dn = snprintf(db, sizeof db, "%lld", (long long)s->rel.date);
	xs_store_meta_write(r->store, dname, db, (size_t)dn);
	char fin[XS_MAX_PATH];
	xs_store_meta_path(r->store, name, fin, sizeof fin);
	rename(path, fin);
	if (!hit && vkey[0])
		xs_store_meta_write(r->store, vname, vkey, strlen(vkey));
	xs_buf_free(&body);
	return 0;
}

/* The InRelease of s from the first of its mirrors that gives one passing
 * every check (signature, dates, suite, no rollback).  Only that one is
 * trusted: every index and package is then checked against its hashes,
 * whichever mirror serves it (as apt does with a mirror list). */
static int verify_release(struct xs_repo *r, struct src *s, char *err, size_t errsz)
{
	size_t ord[MAX_MIRRORS], n = mirror_order(s, ord);
	int q = -ENOENT;
	for (size_t k = 0; k < n; k++) {
		size_t m = ord[k];
		bool remote = true, last = k + 1 == n;
		q = verify_release_at(r, s, m, last ? r->http_index : r->http_index_once, &remote, err,
				      errsz);
		if (q == 0) {
			mirror_result(s, m, 0);
			if (s->nmirrors > 1)
				logf_(r, XS_LOG_INFO, "%s %s: InRelease from mirror %s", s->uri, s->suite,
				      s->mirrors[m]);
			break;
		}
		if (!remote)
			return q;
		mirror_result(s, m, q);
		if (last) {
			if (k) {
				size_t l = strlen(err);
				snprintf(err + l, errsz - l, " (and %zu mirror%s before it)", k,
					 k > 1 ? "s" : "");
			}
			return q;
		}
		logf_(r, XS_LOG_WARN, "mirror %s failed for the InRelease of %s: %s; trying mirror %s",
		      s->mirrors[m], s->suite, err, s->mirrors[ord[k + 1]]);
	}
	if (q < 0)
		return q;
	if (!list_has(s->rel.architectures, r->arch->deb)) {
		struct xs_buf al;
		xs_buf_init(&al, 4096);
		for (size_t i = 0; s->rel.architectures && s->rel.architectures[i]; i++)
			xs_buf_printf(&al, "%s%s", i ? " " : "", s->rel.architectures[i]);
		snprintf(err, errsz, "%s %s does not carry architecture %s (Architectures: %s)",
			 s->uri, s->suite, r->arch->deb, al.data ? al.data : "");
		xs_buf_free(&al);
		return -ENXIO;
	}
	return 0;
}

struct verify_job {
	struct xs_repo *r;
	struct src *s;
	pthread_t th;
	int q;
	char err[2048];
};

static void *verify_thread(void *ud)
{
	struct verify_job *j = ud;
	j->q = verify_release(j->r, j->s, j->err, sizeof j->err);
	return NULL;
}

/* Every source's InRelease at once: the network and gpgv overlap. */
static int verify_all(struct xs_repo *r, char *err, size_t errsz)
{
	struct verify_job *jobs = xs_xcalloc(r->nsrcs, sizeof *jobs);
	for (size_t i = 0; i < r->nsrcs; i++) {
		jobs[i] = (struct verify_job){ .r = r, .s = &r->srcs[i], .q = -EAGAIN };
		if (pthread_create(&jobs[i].th, NULL, verify_thread, &jobs[i]) != 0)
			verify_thread(&jobs[i]), jobs[i].th = 0;
	}
	int q = 0;
	for (size_t i = 0; i < r->nsrcs; i++) {
		if (jobs[i].th)
			pthread_join(jobs[i].th, NULL);
		if (jobs[i].q < 0 && q == 0) {
			q = jobs[i].q;
			snprintf(err, errsz, "%s", jobs[i].err);
		}
	}
	free(jobs);
	return q;
}

/* Make sure the index at Release path is in the store; *file gets its entry. */
static int fetch_index(struct xs_repo *r, struct src *s, const struct xs_release_file *f,
		       char *err, size_t errsz)
{
	if (xs_store_has_object(r->store, f->sha256)) {
		__atomic_add_fetch(&r->cache_hits, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (r->offline)
		return offline_missing(r, s, f->path, err, errsz);
	if (f->size > MAX_INDEX_SIZE)
		FAIL(-EFBIG, "%s/dists/%s/%s: %llu bytes is over the %llu-byte limit for an index",
		     s->uri, s->suite, f->path, (unsigned long long)f->size,
		     (unsigned long long)MAX_INDEX_SIZE);
	/* by hash when the Release says so, else (or when a mirror has no
	 * by-hash copy) the plain path, as apt does */
	char byhash[XS_MAX_PATH], plain[XS_MAX_PATH];
	const char *slash = strrchr(f->path, '/');
	int dl = slash ? (int)(slash - f->path) : 0;
	snprintf(byhash, sizeof byhash, "dists/%s/%.*s%sby-hash/SHA256/%s", s->suite, dl, f->path,
		 dl ? "/" : "", f->sha256);
	snprintf(plain, sizeof plain, "dists/%s/%s", s->suite, f->path);
	const char *rels[] = { byhash, plain };
	size_t off = s->rel.acquire_by_hash ? 0 : 1;
	uint64_t bytes = 0;
	char served[XS_MAX_PATH + 512];
	int q = fetch_mirrors(r, s, false, rels + off, 2 - off, f->sha256, f->size, f->path, &bytes,
			      served, sizeof served, err, errsz);
	__atomic_add_fetch(&r->index_bytes, bytes, __ATOMIC_RELAXED);
	if (q == 0 && s->nmirrors > 1)
		logf_(r, XS_LOG_INFO, "fetched %s from %s", f->path, served);
	return q;
}

static const struct xs_release_file *find_index(const struct src *s, const char *stem)
{
	static const char *const ext[] = { ".xz", ".gz", ".zst", ".bz2", "" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(ext); i++) {
		char p[512];
		snprintf(p, sizeof p, "%s%s", stem, ext[i]);
		const struct xs_release_file *f = xs_release_find(&s->rel, p);
		if (f)
			return f;
	}
	return NULL;
}

/* ---- resolution (cached) ------------------------------------------------- */

static void fill_vpkg(struct vpkg *p, const char *name, const char *version, const char *arch,
		      const char *filename, const char *sha256, uint64_t size, int src);

static int add_vpkg(struct xs_repo *r, size_t *cap, const char *name, const char *version,
		    const char *arch, const char *filename, const char *sha256, uint64_t size,
		    int src)
{
	if (src < 0 || (size_t)src >= r->nsrcs || !xs_is_sha256_hex(sha256))
		return -EBADMSG;
	xs_grow(&r->pkgs, cap, r->npkgs + 1, sizeof *r->pkgs);
	fill_vpkg(&r->pkgs[r->npkgs++], name, version, arch, filename, sha256, size, src);
	return 0;
}

static void fill_vpkg(struct vpkg *p, const char *name, const char *version, const char *arch,
		      const char *filename, const char *sha256, uint64_t size, int src)
{
	memset(p, 0, sizeof *p);
	p->name = xs_strdup(name);
	p->version = xs_strdup(version);
	p->arch = xs_strdup(arch);
	p->filename = xs_strdup(filename);
	p->sha256 = xs_strdup(sha256);
	p->size = size;
	p->src = src;
}

/* Give the package table its final place, with room for EXTRA_PKGS more,
 * before anything points into it. */
static void reserve_pkgs(struct xs_repo *r)
{
	r->cappkgs = r->npkgs + EXTRA_PKGS;
	r->pkgs = xs_xrealloc(r->pkgs, r->cappkgs * sizeof *r->pkgs);
	for (size_t i = 0; i < r->npkgs; i++) {
		pthread_mutex_init(&r->pkgs[i].m, NULL);
		pthread_cond_init(&r->pkgs[i].cv, NULL);
	}
}

/* "3,7,12" or "-" */
static void parse_deps(struct vpkg *p, const char *s)
{
	size_t cap = 0;
	for (const char *c = s; *c && *c != '-';) {
		char *end;
		unsigned long v = strtoul(c, &end, 10);
		if (end == c)
			break;
		xs_grow(&p->deps, &cap, p->ndeps + 1, sizeof *p->deps);
		p->deps[p->ndeps++] = v;
		c = *end == ',' ? end + 1 : end;
	}
}

/* The view packages (indexes into sel) that satisfy package i's
 * Depends and Pre-Depends, as "3,7,12" ("-" for none). */
static void dep_edges(struct xs_pkgtab *tab, const size_t *sel, size_t nsel, size_t i,
		      struct xs_buf *out)
{
	const struct xs_pkg *p = &tab->pkgs[sel[i]];
	const struct xs_dep *fields[] = { &p->pre_depends, &p->depends };
	size_t n = 0;
	for (size_t f = 0; f < 2; f++) {
		for (size_t g = 0; g < fields[f]->n; g++) {
			const struct xs_dep_alt *alt = &fields[f]->alts[g];
			size_t hit = SIZE_MAX;
			for (size_t a = 0; a < alt->n && hit == SIZE_MAX; a++) {
				const char *want = alt->atoms[a].name;
				for (size_t k = 0; k < nsel && hit == SIZE_MAX; k++) {
					const struct xs_pkg *c = &tab->pkgs[sel[k]];
					if (!strcmp(c->name, want))
						hit = k;
					for (size_t v = 0; v < c->provides.n && hit == SIZE_MAX; v++)
						if (c->provides.alts[v].n &&
						    !strcmp(c->provides.alts[v].atoms[0].name, want))
							hit = k;
				}
			}
			if (hit != SIZE_MAX && hit != i)
				xs_buf_printf(out, "%s%zu", n++ ? "," : "", hit);
		}
	}
	if (!n)
		xs_buf_printf(out, "-");
}

static int load_viewcache(struct xs_repo *r, const char *name)
{
	char *data = NULL;
	size_t len = 0;
	if (xs_store_meta_read(r->store, name, MAX_VIEWCACHE, &data, &len) < 0)
		return -ENOENT;
	size_t cap = 0;
	int q = 0;
	char *save = NULL, *line = strtok_r(data, "\n", &save);
	if (!line || strcmp(line, VIEWCACHE_VERSION))
		q = -EBADMSG;
	while (q == 0 && (line = strtok_r(NULL, "\n", &save))) {
		char *f[8];
		size_t n = 0;
		char *s2 = NULL;
		for (char *t = strtok_r(line, "\t", &s2); t && n < 8; t = strtok_r(NULL, "\t", &s2))
			f[n++] = t;
		if (n != 8) {
			q = -EBADMSG;
			break;
		}
		q = add_vpkg(r, &cap, f[0], f[1], f[2], f[6], f[5], strtoull(f[4], NULL, 10),
			     atoi(f[3]));
		if (q == 0)
			parse_deps(&r->pkgs[r->npkgs - 1], f[7]);
	}
	free(data);
	if (q < 0 || r->npkgs == 0) {
		for (size_t i = 0; i < r->npkgs; i++) {
			struct vpkg *p = &r->pkgs[i];
			free(p->name), free(p->version), free(p->arch), free(p->filename),
				free(p->sha256), free(p->deps);
		}
		free(r->pkgs);
		r->pkgs = NULL;
		r->npkgs = 0;
		return -EBADMSG;
	}
	return 0;
}

/* The candidate table: for every name, the stanza the resolver would pick
 * (highest version for the architecture or all, then the lowest origin),
 * one line each, "name TAB version TAB arch TAB origin TAB size TAB sha256 TAB
 * filename", sorted by name (bytewise) for a binary search. */
static int cmp_cand(const void *a, const void *b, void *ud)
{
	struct xs_pkgtab *t = ud;
	const struct xs_pkg *x = &t->pkgs[*(const size_t *)a], *y = &t->pkgs[*(const size_t *)b];
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	c = xs_version_cmp(y->version, x->version);
	if (c)
		return c;
	return (x->origin > y->origin) - (x->origin < y->origin);
}

static int write_cands(struct xs_repo *r, struct xs_pkgtab *t, const char *name)
{
	char path[XS_MAX_PATH];
	xs_store_meta_path(r->store, name, path, sizeof path);
	if (access(path, F_OK) == 0)
		return 0;
	size_t *ix = xs_xmalloc((t->n ? t->n : 1) * sizeof *ix), n = 0;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->pkgs[i].arch, r->arch->deb) || !strcmp(t->pkgs[i].arch, "all"))
			ix[n++] = i;
	qsort_r(ix, n, sizeof *ix, cmp_cand, t);
	struct xs_buf out;
	xs_buf_init(&out, MAX_CANDS);
	int q = 0;
	for (size_t k = 0; k < n && q == 0; k++) {
		const struct xs_pkg *p = &t->pkgs[ix[k]];
		if (k && !strcmp(p->name, t->pkgs[ix[k - 1]].name))
			continue;
		if (strpbrk(p->name, "\t\n") || strpbrk(p->version, "\t\n") ||
		    strpbrk(p->filename, "\t\n"))
			continue;
		q = xs_buf_printf(&out, "%s\t%s\t%s\t%d\t%llu\t%s\t%s\n", p->name, p->version,
				  p->arch, p->origin, (unsigned long long)p->size, p->sha256,
				  p->filename);
	}
	if (q == 0)
		q = xs_store_meta_write(r->store, name, out.data ? out.data : "", out.len);
	xs_buf_free(&out);
	free(ix);
	return q;
}

static int resolve_view(struct xs_repo *r, const char *packages, char *err, size_t errsz)
{
	/* the key: architecture, roots and every Packages digest */
	char **extra = split_list(packages);
	/* the runtime base; libc-bin completes glibc with the C.UTF-8 locale,
	 * which glibc programs would otherwise read from the host under -L */
	const char *base[] = { "libc6", "libc-bin", "libgcc-s1", "libstdc++6" };
	size_t nroots = 0;
	const char **roots = xs_xcalloc(XS_ARRAY_SIZE(base) + 1 + strlen(packages ? packages : ""),
					sizeof *roots);
	for (size_t i = 0; i < XS_ARRAY_SIZE(base); i++)
		roots[nroots++] = base[i];
	for (size_t i = 0; extra[i]; i++)
		roots[nroots++] = extra[i];
	struct xs_buf key;
	xs_buf_init(&key, 1 << 24);
	xs_buf_printf(&key, "%s\n%s\n", VIEWCACHE_VERSION, r->arch->deb);
	for (size_t i = 0; i < nroots; i++)
		xs_buf_printf(&key, "root %s\n", roots[i]);
	struct xs_buf ckey; /* the candidate table's: the same without roots */
	xs_buf_init(&ckey, 1 << 24);
	xs_buf_printf(&ckey, "%s\n%s\n", CANDS_VERSION, r->arch->deb);
	const struct xs_release_file **idx = xs_xcalloc(r->nsrcs * 16 + 1, sizeof *idx);
	int *idx_src = xs_xcalloc(r->nsrcs * 16 + 1, sizeof *idx_src);
	size_t nidx = 0;
	int q = 0;
	for (size_t s = 0; s < r->nsrcs; s++) {
		for (size_t c = 0; r->srcs[s].components[c] && c < 16; c++) {
			char stem[256];
			snprintf(stem, sizeof stem, "%s/binary-%s/Packages", r->srcs[s].components[c],
				 r->arch->deb);
			const struct xs_release_file *f = find_index(&r->srcs[s], stem);
			if (!f) {
				_cleanup_free_ char *d = src_desc(&r->srcs[s]);
				snprintf(err, errsz, "%s: Release lists no %s index (is component '%s' right?)",
					 d, stem, r->srcs[s].components[c]);
				q = -ENOENT;
				goto out;
			}
			xs_buf_printf(&key, "%zu %s %s\n", s, f->path, f->sha256);
			xs_buf_printf(&ckey, "%zu %s %s\n", s, f->path, f->sha256);
			idx_src[nidx] = (int)s;
			idx[nidx++] = f;
		}
	}
	char hex[65], name[96];
	xs_sha256_buf(key.data, key.len, hex);
	snprintf(name, sizeof name, "view-%.32s", hex);
	xs_sha256_buf(ckey.data, ckey.len, hex);
	snprintf(r->cands_name, sizeof r->cands_name, "cands-%.32s", hex);
	if (load_viewcache(r, name) == 0)
		goto out;

	struct xs_pkgtab tab;
	xs_pkgtab_init(&tab);
	for (size_t i = 0; i < nidx && q == 0; i++) {
		struct src *s = &r->srcs[idx_src[i]];
		q = fetch_index(r, s, idx[i], err, errsz);
		if (q < 0)
			break;
		_cleanup_close_ int fd = xs_store_open_object(r->store, idx[i]->sha256);
		if (fd < 0) {
			q = fd;
			snprintf(err, errsz, "cannot open the cached %s: %s", idx[i]->path, strerror(-q));
			break;
		}
		struct xs_buf text;
		q = xs_decompress_to_buf(fd, MAX_PACKAGES_TEXT, &text);
		if (q < 0) {
			snprintf(err, errsz, "%s/dists/%s/%s: cannot decompress: %s", s->uri, s->suite,
				 idx[i]->path, strerror(-q));
			break;
		}
		char perr[512] = "";
		q = xs_packages_parse(&tab, text.data, text.len, idx_src[i], perr, sizeof perr);
		xs_buf_free(&text);
		if (q < 0)
			snprintf(err, errsz, "%s/dists/%s/%s: %s", s->uri, s->suite, idx[i]->path, perr);
	}
	size_t *sel = NULL, nsel = 0;
	if (q == 0 && write_cands(r, &tab, r->cands_name) < 0)
		r->cands_name[0] = 0; /* not fatal: the view only cannot grow */
	if (q == 0) {
		char rerr[1024] = "";
		q = xs_resolve(&tab, r->arch->deb, roots, nroots, &sel, &nsel, rerr, sizeof rerr);
		if (q < 0)
			snprintf(err, errsz, "cannot resolve the view for %s from %s: %s", r->arch->deb,
				 r->describe, rerr);
	}
	if (q == 0) {
		struct xs_buf out;
		xs_buf_init(&out, MAX_VIEWCACHE);
		xs_buf_printf(&out, "%s\n", VIEWCACHE_VERSION);
		size_t cap = 0;
		for (size_t i = 0; i < nsel && q == 0; i++) {
			struct xs_pkg *p = &tab.pkgs[sel[i]];
			if (strpbrk(p->filename, "\t\n") || strpbrk(p->version, "\t\n")) {
				q = -EBADMSG;
				snprintf(err, errsz, "package %s: unusable Filename", p->name);
				break;
			}
			size_t mark = out.len;
			xs_buf_printf(&out, "%s\t%s\t%s\t%d\t%llu\t%s\t%s\t", p->name, p->version, p->arch,
				      p->origin, (unsigned long long)p->size, p->sha256, p->filename);
			size_t dmark = out.len;
			dep_edges(&tab, sel, nsel, i, &out);
			q = add_vpkg(r, &cap, p->name, p->version, p->arch, p->filename, p->sha256,
				     p->size, p->origin);
			if (q == 0)
				parse_deps(&r->pkgs[r->npkgs - 1], out.data + dmark);
			xs_buf_printf(&out, "\n");
			(void)mark;
		}
		if (q == 0)
			xs_store_meta_write(r->store, name, out.data, out.len);
		xs_buf_free(&out);
	}
	free(sel);
	xs_pkgtab_free(&tab);
out:
	xs_buf_free(&key);
	xs_buf_free(&ckey);
	free(idx);
	free(idx_src);
	free(roots);
	free_list(extra);
	return q;
}

/* ---- Contents ------------------------------------------------------------ */

/* The paths a running view may add a package for (xs_repo_provide), as the
 * view shows them: configuration and private data and libraries, the
 * directories a guest reads without the package being a dependency.  Left
 * out for size: trees only their own interpreters or tools read, and
 * debugging symbols. */
static bool provide_scope(const char *vpath)
{
	static const char *const in[] = { "etc/", "usr/lib/", "usr/libexec/" };
	static const char *const out[] = { "usr/lib/python3/", "usr/lib/debug/",
					   "usr/lib/gcc-cross/", "usr/lib/modules/" };
	bool ok = false;
	for (size_t i = 0; i < XS_ARRAY_SIZE(in); i++)
		ok = ok || !strncmp(vpath, in[i], strlen(in[i]));
	for (size_t i = 0; ok && i < XS_ARRAY_SIZE(out); i++)
		ok = strncmp(vpath, out[i], strlen(out[i])) != 0;
	return ok;
}

static int rev_key(const char *path, char *out, size_t outsz, void *ud)
{
	(void)ud;
	if (xs_view_present_path(path, out, outsz) < 0)
		return 0;
	return provide_scope(out);
}

/* Attach (building it once) the reverse index of c; without one the view
 * only cannot grow, so a failure is logged, not returned. */
static void open_rev(struct xs_repo *r, const struct src *s, const struct xs_release_file *f,
		     struct xs_contents *c)
{
	char name[96], rpath[XS_MAX_PATH];
	snprintf(name, sizeof name, "contents-%s.rev", f->sha256);
	xs_store_meta_path(r->store, name, rpath, sizeof rpath);
	if (xs_contents_open_rev(c, rpath) == 0)
		return;
	struct xs_contents_rev_stats st = { 0 };
	uint64_t t0 = xs_now_ns();
	int q = xs_contents_build_rev(c, rev_key, NULL, rpath, &st);
	if (q == 0)
		q = xs_contents_open_rev(c, rpath);
	if (q < 0) {
		logf_(r, XS_LOG_WARN, "%s/dists/%s/%s: cannot build its reverse index in %s: %s",
		      s->uri, s->suite, f->path, r->cache_dir, strerror(-q));
		return;
	}
	char sz[32];
	logf_(r, XS_LOG_INFO, "indexed %s %s %s by path: %llu paths, %llu directories, %s in %.1f s",
	      s->uri, s->suite, f->path, (unsigned long long)st.keys, (unsigned long long)st.dirs,
	      xs_fmt_size(st.bytes, sz, sizeof sz), (xs_now_ns() - t0) / 1e9);
}

static int open_contents(struct xs_repo *r, struct src *s, const char *path, char *err,
			 size_t errsz)
{
	const struct xs_release_file *f = xs_release_find(&s->rel, path);
	if (!f)
		return 0; /* this source has none: handled by the fallbacks */
	char name[96], ipath[XS_MAX_PATH];
	snprintf(name, sizeof name, "contents-%s.idx", f->sha256);
	xs_store_meta_path(r->store, name, ipath, sizeof ipath);
	struct xs_contents *c = NULL;
	if (xs_contents_open(ipath, &c) < 0) {
		int q = fetch_index(r, s, f, err, errsz);
		if (q < 0)
			return q;
		_cleanup_close_ int fd = xs_store_open_object(r->store, f->sha256);
		if (fd < 0)
			FAIL(fd, "cannot open the cached %s: %s", f->path, strerror(-fd));
		struct xs_contents_stats st = { 0 };
		uint64_t t0 = xs_now_ns();
		q = xs_contents_build(fd, MAX_CONTENTS_TEXT, ipath, &st);
		if (q < 0)
			FAIL(q, "%s/dists/%s/%s: cannot index: %s", s->uri, s->suite, f->path,
			     strerror(-q));
		logf_(r, XS_LOG_INFO, "indexed %s %s %s: %llu paths of %llu packages in %.1f s", s->uri,
		      s->suite, f->path, (unsigned long long)st.paths, (unsigned long long)st.packages,
		      (xs_now_ns() - t0) / 1e9);
		/* the compact index replaces the raw file */
		char opath[XS_MAX_PATH];
		if (xs_store_object_path(r->store, f->sha256, opath, sizeof opath) == 0)
			unlink(opath);
		q = xs_contents_open(ipath, &c);
		if (q < 0)
			FAIL(q, "cannot open %s: %s", ipath, strerror(-q));
	}
	open_rev(r, s, f, c);
	xs_grow(&s->contents, &s->capcontents, s->ncontents + 1, sizeof *s->contents);
	s->contents[s->ncontents++] = c;
	return 0;
}

struct add_ctx {
	struct xs_repo *r;
	int pkg;
	size_t n;
};

static int add_path_cb(const char *path, void *ud)
{
	struct add_ctx *a = ud;
	a->n++;
	return xs_view_add_pending(a->r->view, path, a->pkg);
}

static size_t add_from_src(struct xs_repo *r, struct src *s, int pkg)
{
	struct add_ctx a = { r, pkg, 0 };
	for (size_t k = 0; k < s->ncontents; k++)
		xs_contents_foreach(s->contents[k], r->pkgs[pkg].name, add_path_cb, &a);
	return a.n;
}

static bool manifest_cached(struct xs_repo *r, size_t i);

/* Put bytes into the store; sha256 receives their name. */
static int store_bytes(struct xs_repo *r, const void *p, size_t n, char sha256[65])
{
	struct xs_txn *t;
	int q = xs_txn_begin(r->store, n, &t);
	if (q < 0)
		return q;
	q = xs_txn_write(t, p, n);
	if (q < 0) {
		xs_txn_abort(t);
		return q;
	}
	return xs_txn_commit(t, NULL, n, sha256);
}

static int add_synthetic(struct xs_repo *r, const char *path, const void *p, size_t n,
			 char *err, size_t errsz)
{
	char sha[65];
	/* held until the lease names it: gc would see an unreferenced object */
	int hold = xs_cache_hold(r->cache_dir);
	int q = store_bytes(r, p, n, sha);
	if (q == 0)
		q = xs_lease_add(r->lease, "obj", sha);
	if (hold >= 0)
		close(hold);
	if (q == 0)
		q = xs_view_add_file(r->view, path, sha, n, 0644);
	if (q < 0)
		FAIL(q, "cannot add /%s to the view in %s: %s", path, r->cache_dir, strerror(-q));
	return 0;
}

struct ldc_ctx {
	const char *dir;
	struct xs_ldcache_entry *e;
	size_t n, cap;
};

static int ldc_add(const char *name, void *ud)
{
	struct ldc_ctx *c = ud;
	bool lib = !strncmp(name, "lib", 3) || !strncmp(name, "ld", 2);
	if (!lib || !strstr(name, ".so."))
		return 0; /* sonames carry a version; bare .so links are for the linker */
	xs_grow(&c->e, &c->cap, c->n + 1, sizeof *c->e);
	struct xs_buf v;
	xs_buf_init(&v, XS_MAX_PATH + 2);
	xs_buf_printf(&v, "/%s/%s", c->dir, name);
	c->e[c->n].key = xs_strdup(name);
	c->e[c->n].value = xs_buf_steal(&v, NULL);
	c->n++;
	return 0;
}

/* The loader configuration: one fixed order on every architecture, and the
 * cache that follows it, written natively for the target. */
static int add_loader_files(struct xs_repo *r, char *err, size_t errsz)
{
	const char *tr = r->arch->triplet;
	static const char conf[] = "# generated by xsysroot\ninclude /etc/ld.so.conf.d/*.conf\n";
	int q = add_synthetic(r, "etc/ld.so.conf", conf, sizeof conf - 1, err, errsz);
	struct xs_buf d;
	xs_buf_init(&d, 1 << 16);
	xs_buf_printf(&d, "# generated by xsysroot: the same order on every architecture\n"
			  "/usr/local/lib\n/usr/local/lib/%s\n/lib/%s\n/usr/lib/%s\n", tr, tr, tr);
	for (size_t i = 0; i < r->nbinds; i++)
		xs_buf_printf(&d, "# --bind %s\n/%s\n", r->binds[i].host, r->binds[i].path);
	if (q == 0)
		q = add_synthetic(r, "etc/ld.so.conf.d/00-xsysroot.conf", d.data, d.len, err, errsz);
	xs_buf_free(&d);
	if (q == 0)
		q = add_synthetic(r, "etc/ld.so.preload", "", 0, err, errsz);
	if (q < 0)
		return q;
	/* the directories as the view shows them (merged /usr) */
	size_t ndirs = 0;
	char **dirs = xs_xcalloc(r->nbinds + 4, sizeof *dirs);
	struct xs_buf b;
	xs_buf_init(&b, 1 << 12);
	xs_buf_printf(&b, "usr/local/lib");
	dirs[ndirs++] = xs_buf_steal(&b, NULL);
	xs_buf_printf(&b, "usr/local/lib/%s", tr);
	dirs[ndirs++] = xs_buf_steal(&b, NULL);
	xs_buf_printf(&b, "usr/lib/%s", tr);
	dirs[ndirs++] = xs_buf_steal(&b, NULL);
	for (size_t i = 0; i < r->nbinds; i++) {
		bool dup = false;
		for (size_t k = 0; k < ndirs; k++)
			dup = dup || !strcmp(dirs[k], r->binds[i].path);
		if (!dup)
			dirs[ndirs++] = xs_strdup(r->binds[i].path);
	}
	xs_buf_printf(&b, "usr/lib");
	dirs[ndirs++] = xs_buf_steal(&b, NULL);
	struct ldc_ctx c = { 0 };
	for (size_t i = 0; i < ndirs; i++) {
		c.dir = dirs[i];
		xs_view_list_leaves(r->view, dirs[i], ldc_add, &c);
		free(dirs[i]);
	}
	free(dirs);
	struct xs_buf cache;
	q = xs_ldcache_build(r->arch, c.e, c.n, &cache);
	for (size_t i = 0; i < c.n; i++) {
		free((char *)c.e[i].key);
		free((char *)c.e[i].value);
	}
	free(c.e);
	if (q < 0)
		FAIL(q, "cannot build ld.so.cache for %s: %s", r->arch->deb, strerror(-q));
	q = add_synthetic(r, "etc/ld.so.cache", cache.data, cache.len, err, errsz);
	logf_(r, XS_LOG_DEBUG, "ld.so.cache: %zu libraries, %zu bytes", c.n, cache.len);
	xs_buf_free(&cache);
	return q;
}

/* The dpkg database of the view: var/lib/dpkg/status with every package of
 * the view as installed (with the SHA-256 of its .deb, which tells a mount
 * of the same view), and info/PKG.list with the paths the Contents
 * indexes give for it, so that dpkg and apt in a writable chroot over the
 * view (xsysroot run --strict --writable) know what is there.  The empty
 * directories dpkg writes into come with them.  Packages added while the
 * view serves (xs_repo_provide) are not in it. */
struct list_ctx {
	struct xs_buf *b;
};

static int list_add_cb(const char *path, void *ud)
{
	struct list_ctx *c = ud;
	xs_buf_printf(c->b, "/%s\n", path);
	return 0;
}

static int add_dpkg_files(struct xs_repo *r, char *err, size_t errsz)
{
	static const char *const dirs[] = { "var/lib/dpkg/info", "var/lib/dpkg/updates",
					    "var/lib/dpkg/triggers", "var/lib/dpkg/alternatives" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(dirs); i++) {
		int q = xs_view_add_dir(r->view, dirs[i]);
		if (q < 0)
			FAIL(q, "cannot add /%s to the view: %s", dirs[i], strerror(-q));
	}
	struct xs_buf st, list;
	xs_buf_init(&st, (size_t)1 << 30);
	xs_buf_init(&list, (size_t)1 << 30);
	int q = 0;
	for (size_t i = 0; i < r->npkgs && q == 0; i++) {
		struct vpkg *p = &r->pkgs[i];
		xs_buf_printf(&st, "Package: %s\nStatus: install ok installed\n"
				   "Maintainer: generated by xsysroot\nArchitecture: %s\n"
				   "Version: %s\nX-Xsysroot-SHA256: %s\n"
				   "Description: %s %s in the xsysroot view\n\n",
			      p->name, p->arch, p->version, p->sha256, p->name, p->version);
		list.len = 0;
		struct list_ctx c = { &list };
		xs_buf_printf(&list, "/.\n");
		for (size_t s = 0; s < r->nsrcs; s++)
			for (size_t k = 0; k < r->srcs[s].ncontents; k++)
				xs_contents_foreach(r->srcs[s].contents[k], p->name, list_add_cb, &c);
		char path[XS_MAX_PATH];
		if (!strchr(p->name, '/') && p->name[0] != '.' &&
		    snprintf(path, sizeof path, "var/lib/dpkg/info/%s.list", p->name) <
			    (int)sizeof path)
			q = add_synthetic(r, path, list.data, list.len, err, errsz);
	}
	if (q == 0)
		q = add_synthetic(r, "var/lib/dpkg/status", st.data, st.len, err, errsz);
	xs_buf_free(&st);
	xs_buf_free(&list);
	return q;
}

/* etc/passwd and etc/group from base-passwd's masters, when base-passwd is
 * in the view and no package ships them (base-passwd's postinst writes
 * them on a real system).  Fetches base-passwd. */
static int add_account_files(struct xs_repo *r, char *err, size_t errsz)
{
	size_t i = 0;
	while (i < r->npkgs && strcmp(r->pkgs[i].name, "base-passwd"))
		i++;
	if (i == r->npkgs)
		return 0;
	static const char *const files[][2] = {
		{ "usr/share/base-passwd/passwd.master", "etc/passwd" },
		{ "usr/share/base-passwd/group.master", "etc/group" },
	};
	struct xs_vattr va;
	int q = 0;
	for (size_t k = 0; k < XS_ARRAY_SIZE(files) && q == 0; k++) {
		if (xs_view_resolve(r->view, files[k][1], &va) == 0)
			continue;
		q = xs_repo_fetch(r, i, err, errsz);
		if (q < 0)
			return q;
		q = xs_view_resolve(r->view, files[k][0], &va);
		if (q < 0 || va.pending || !S_ISREG(va.mode) || va.size > (1 << 20))
			FAIL(q < 0 ? q : -EBADMSG, "base-passwd %s has no usable /%s",
			     r->pkgs[i].version, files[k][0]);
		int fd = xs_view_fd(r->view, va.ino); /* the view's: not closed */
		if (fd < 0)
			FAIL(fd, "cannot open /%s of base-passwd %s: %s", files[k][0],
			     r->pkgs[i].version, strerror(-fd));
		char *buf = xs_xcalloc(1, (size_t)va.size + 1);
		ssize_t n = pread(fd, buf, (size_t)va.size, 0);
		if (n == (ssize_t)va.size)
			q = add_synthetic(r, files[k][1], buf, (size_t)n, err, errsz);
		else
			snprintf(err, errsz, "cannot read /%s of base-passwd %s", files[k][0],
				 r->pkgs[i].version), q = -EIO;
		free(buf);
	}
	return q;
}

static int finish_view(struct xs_repo *r, char *err, size_t errsz);

static int build_view(struct xs_repo *r, char *err, size_t errsz)
{
	for (size_t s = 0; s < r->nsrcs; s++) {
		struct src *src = &r->srcs[s];
		for (size_t c = 0; src->components[c]; c++) {
			char p1[256], p2[256];
			snprintf(p1, sizeof p1, "%s/Contents-%s.gz", src->components[c], r->arch->deb);
			snprintf(p2, sizeof p2, "%s/Contents-all.gz", src->components[c]);
			int q = open_contents(r, src, p1, err, errsz);
			if (q == 0)
				q = open_contents(r, src, p2, err, errsz);
			if (q < 0)
				return q;
		}
	}
	size_t eager = 0;
	for (size_t i = 0; i < r->npkgs; i++) {
		if (manifest_cached(r, i))
			continue; /* applied exactly, from the manifest */
		struct vpkg *p = &r->pkgs[i];
		/* the package's own source first, then any other (security
		 * archives publish empty Contents files) */
		size_t n = add_from_src(r, &r->srcs[p->src], (int)i);
		for (size_t s = 0; n == 0 && s < r->nsrcs; s++)
			if ((int)s != p->src)
				n = add_from_src(r, &r->srcs[s], (int)i);
		if (n)
			continue;
		eager++;
		logf_(r, XS_LOG_DEBUG, "%s %s is in no Contents index: fetching it now", p->name,
		      p->version);
		int q = xs_repo_fetch(r, i, err, errsz);
		if (q < 0 && r->offline) {
			/* its paths are unknown: the view lacks them until a fetch */
			logf_(r, XS_LOG_WARN, "%s", err);
			continue;
		}
		if (q < 0)
			return q;
	}
	return finish_view(r, err, errsz);
}

/* What every view gets once its packages (or image) are in: the merged-/usr
 * links, the --bind overlays and the loader files. */
static int finish_view(struct xs_repo *r, char *err, size_t errsz)
{
	xs_view_finish(r->view);
	for (size_t i = 0; i < r->nbinds; i++) {
		struct bind *b = &r->binds[i];
		struct stat st;
		int q = stat(b->host, &st) < 0 ? -errno : 0;
		if (q == 0)
			q = xs_view_add_bind(r->view, b->path, b->host);
		if (q < 0)
			FAIL(q, "--bind %s:/%s: %s", b->host, b->path, strerror(-q));
		b->mtime = st.st_mtim;
		b->ino = st.st_ino;
	}
	int q = add_loader_files(r, err, errsz);
	if (q == 0)
		q = add_dpkg_files(r, err, errsz);
	if (q == 0)
		q = add_account_files(r, err, errsz);
	return q;
}

/* ---- growing the view at run time ---------------------------------------- */

/* The candidate table line of package name into f[7] (pointers into the
 * mapping, not terminated: lengths in fl); 0, -ENOENT, -EBADMSG. */
static int cands_find(struct xs_repo *r, const char *name, const char *f[7], size_t fl[7])
{
	if (!r->cands_tried) {
		r->cands_tried = true;
		char path[XS_MAX_PATH];
		_cleanup_close_ int fd = -1;
		struct stat st;
		if (r->cands_name[0] &&
		    xs_store_meta_path(r->store, r->cands_name, path, sizeof path) == 0 &&
		    (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0 && fstat(fd, &st) == 0 &&
		    S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= MAX_CANDS) {
			void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
			if (m != MAP_FAILED) {
				r->cands = m;
				r->cands_len = (size_t)st.st_size;
			}
		}
	}
	const char *d = r->cands;
	size_t lo = 0, hi = r->cands_len, n = strlen(name);
	while (lo < hi) { /* lo and hi are line starts */
		size_t mid = lo + (hi - lo) / 2;
		while (mid > lo && d[mid - 1] != '\n')
			mid--;
		const char *e = memchr(d + mid, '\n', r->cands_len - mid);
		const char *tab = e ? memchr(d + mid, '\t', (size_t)(e - (d + mid))) : NULL;
		if (!tab)
			return -EBADMSG;
		size_t kl = (size_t)(tab - (d + mid));
		int c = memcmp(name, d + mid, n < kl ? n : kl);
		if (c == 0)
			c = (n > kl) - (n < kl);
		if (c < 0) {
			hi = mid;
			continue;
		}
		if (c > 0) {
			lo = (size_t)(e - d) + 1;
			continue;
		}
		const char *p = d + mid;
		for (int i = 0; i < 7; i++) {
			const char *q = i < 6 ? memchr(p, '\t', (size_t)(e - p)) : e;
			if (!q)
				return -EBADMSG;
			f[i] = p;
			fl[i] = (size_t)(q - p);
			p = q + 1;
		}
		return 0;
	}
	return -ENOENT;
}

static bool in_view(struct xs_repo *r, const char *name)
{
	size_t n = xs_repo_npkgs(r);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(r->pkgs[i].name, name))
			return true;
	return false;
}

struct provide_ctx {
	struct xs_repo *r;
	struct xs_contents *c;
	const char *path; /* as the view shows it */
	size_t len;
	bool dir;
	char pkg[256];
};

static int match_cb(const char *path, void *ud)
{
	struct provide_ctx *x = ud;
	char v[XS_MAX_PATH + 8];
	if (xs_view_present_path(path, v, sizeof v) < 0)
		return 0;
	if (x->dir)
		return !strncmp(v, x->path, x->len) && v[x->len] == '/';
	return !strcmp(v, x->path);
}

/* A candidate of the reverse index: confirmed when its Contents entry says
 * so exactly and it is not in the view yet (a view package that lists the
 * path but did not ship it is not asked again). */
static int candidate_cb(const char *pkg, void *ud)
{
	struct provide_ctx *x = ud;
	if (!x->dir && in_view(x->r, pkg))
		return 0;
	if (xs_contents_foreach(x->c, pkg, match_cb, x) != 1)
		return 0;
	snprintf(x->pkg, sizeof x->pkg, "%s", pkg);
	return 1;
}

/* Look the path up in every reverse index, the sources in order. */
static bool find_provider(struct xs_repo *r, struct provide_ctx *x)
{
	for (size_t s = 0; s < r->nsrcs; s++)
		for (size_t k = 0; k < r->srcs[s].ncontents; k++) {
			x->c = r->srcs[s].contents[k];
			if (xs_contents_rev_find(x->c, x->path, x->dir, candidate_cb, x) == 1)
				return true;
		}
	return false;
}

/* Add package name (its candidate) to the view; add_lock held.  1 added,
 * 0 not possible, negative errno. */
static int add_package(struct xs_repo *r, const char *name, const char *vpath)
{
	const char *f[7];
	size_t fl[7];
	int q = cands_find(r, name, f, fl);
	if (q < 0) {
		logf_(r, q == -ENOENT ? XS_LOG_DEBUG : XS_LOG_WARN,
		      "/%s is provided by %s, but %s: not added", vpath, name,
		      q == -ENOENT ? "the package table of this cache does not list it"
				   : "the package table of this cache is damaged");
		return 0;
	}
	char *v[7];
	for (int i = 0; i < 7; i++)
		v[i] = xs_strndup(f[i], fl[i]);
	char *end;
	unsigned long long size = strtoull(v[4], &end, 10);
	long src = strtol(v[3], NULL, 10);
	if (*end || end == v[4] || (strcmp(v[2], r->arch->deb) && strcmp(v[2], "all")) || !xs_is_sha256_hex(v[5]) ||
	    src < 0 || (size_t)src >= r->nsrcs) {
		q = -EBADMSG;
	} else if (r->npkgs >= r->cappkgs) {
		if (!r->full_warned)
			logf_(r, XS_LOG_WARN, "/%s is provided by %s, but the view has added %d "
			      "packages already: not added", vpath, name, EXTRA_PKGS);
		r->full_warned = true;
		q = 0;
	} else {
		size_t i = r->npkgs;
		struct vpkg *p = &r->pkgs[i];
		fill_vpkg(p, v[0], v[1], v[2], v[6], v[5], size, (int)src);
		pthread_mutex_init(&p->m, NULL);
		pthread_cond_init(&p->cv, NULL);
		xs_lease_add(r->lease, "pkg", p->sha256);
		__atomic_store_n(&r->npkgs, i + 1, __ATOMIC_RELEASE);
		/* its paths, as build_view adds them */
		size_t n = add_from_src(r, &r->srcs[p->src], (int)i);
		for (size_t s = 0; n == 0 && s < r->nsrcs; s++)
			if ((int)s != p->src)
				n = add_from_src(r, &r->srcs[s], (int)i);
		logf_(r, XS_LOG_INFO, "added %s %s to the view: it provides /%s", p->name,
		      p->version, vpath);
		q = 1;
	}
	if (q < 0)
		logf_(r, XS_LOG_WARN, "/%s is provided by %s, but its entry in the package table "
		      "of this cache is unusable: not added", vpath, name);
	for (int i = 0; i < 7; i++)
		free(v[i]);
	return q < 0 ? 0 : q;
}

int xs_repo_provide(struct xs_repo *r, uint64_t parent, const char *name)
{
	char dir[XS_MAX_PATH + 1], path[XS_MAX_PATH + 1];
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	int q = xs_view_path(r->view, parent, dir, sizeof dir);
	if (q < 0)
		return q == -EXDEV ? 0 : q; /* a --bind directory: the host's */
	int n = snprintf(path, sizeof path, "%s%s%s", dir, *dir ? "/" : "", name);
	if (n < 0 || (size_t)n >= sizeof path)
		return -ENAMETOOLONG;
	if (!provide_scope(path))
		return 0;
	struct provide_ctx x = { .r = r, .path = path, .len = (size_t)n };
	if (find_provider(r, &x)) {
		pthread_mutex_lock(&r->add_lock);
		/* another lookup may have added it meanwhile */
		q = in_view(r, x.pkg) ? 1 : add_package(r, x.pkg, path);
		pthread_mutex_unlock(&r->add_lock);
		return q;
	}
	/* a directory that packages of the archive ship paths below: shown
	 * (empty), so that the lookups of those paths come here next */
	x.dir = true;
	if (!find_provider(r, &x))
		return 0;
	q = xs_view_add_dir(r->view, path);
	if (q == 0)
		logf_(r, XS_LOG_DEBUG, "/%s: a directory of the archive (%s has paths below it)",
		      path, x.pkg);
	return q == 0 ? 1 : 0;
}

int xs_repo_find_provider(struct xs_repo *r, const char *path, char *name, size_t namesz,
			  char *version, size_t versz)
{
	if (namesz)
		name[0] = 0;
	if (versz)
		version[0] = 0;
	size_t n = strlen(path);
	if (!n || n > XS_MAX_PATH || path[0] == '/')
		return -EINVAL;
	if (!provide_scope(path))
		return 0;
	struct provide_ctx x = { .r = r, .path = path, .len = n };
	if (!find_provider(r, &x))
		return 0;
	snprintf(name, namesz, "%s", x.pkg);
	const char *f[7];
	size_t fl[7];
	pthread_mutex_lock(&r->add_lock); /* cands_find maps the table once */
	if (cands_find(r, x.pkg, f, fl) == 0)
		snprintf(version, versz, "%.*s", (int)fl[1], f[1]);
	pthread_mutex_unlock(&r->add_lock);
	return 1;
}

void xs_repo_start(struct xs_repo *r)
{
	pthread_mutex_lock(&r->prefetch_lock);
	r->closing = false;
	pthread_mutex_unlock(&r->prefetch_lock);
}

int xs_repo_refresh(struct xs_repo *r)
{
	if (!r->nbinds)
		return 0;
	pthread_mutex_lock(&r->refresh_lock);
	bool changed = false;
	for (size_t i = 0; i < r->nbinds; i++) {
		struct bind *b = &r->binds[i];
		struct stat st;
		if (stat(b->host, &st) < 0)
			continue;
		if (st.st_ino != b->ino || st.st_mtim.tv_sec != b->mtime.tv_sec ||
		    st.st_mtim.tv_nsec != b->mtime.tv_nsec) {
			b->ino = st.st_ino;
			b->mtime = st.st_mtim;
			changed = true;
		}
	}
	int q = 0;
	if (changed) {
		char err[1024] = "";
		q = add_loader_files(r, err, sizeof err);
		logf_(r, q < 0 ? XS_LOG_ERR : XS_LOG_DEBUG, "ld.so.cache regenerated for --bind: %s",
		      q < 0 ? err : "ok");
	}
	pthread_mutex_unlock(&r->refresh_lock);
	return q;
}

/* ---- packages ------------------------------------------------------------ */

static void manifest_name(const struct vpkg *p, char *out, size_t outsz)
{
	snprintf(out, outsz, "manifest-%s", p->sha256);
}

/* Apply a cached manifest when every object it names is present. */
static int apply_cached_manifest(struct xs_repo *r, size_t i)
{
	struct vpkg *p = &r->pkgs[i];
	char name[96];
	manifest_name(p, name, sizeof name);
	char *data = NULL;
	size_t len = 0;
	int q = xs_store_meta_read(r->store, name, MAX_MANIFEST, &data, &len);
	if (q < 0)
		return q;
	struct xs_manifest m = { 0 };
	q = xs_manifest_parse(data, len, &m);
	free(data);
	for (size_t k = 0; q == 0 && k < m.n; k++)
		if (m.e[k].type == XS_E_REG && !xs_store_has_object(r->store, m.e[k].sha256))
			q = -ENOENT;
	if (q == 0)
		q = xs_view_apply(r->view, (int)i, &m);
	xs_manifest_free(&m);
	return q;
}

static bool manifest_cached(struct xs_repo *r, size_t i)
{
	struct vpkg *p = &r->pkgs[i];
	if (apply_cached_manifest(r, i) < 0)
		return false;
	xs_cache_note_use(r->store, p->sha256, p->name, p->version, p->arch);
	p->state = P_READY;
	__atomic_add_fetch(&r->cache_hits, 1, __ATOMIC_RELAXED);
	return true;
}

static int do_fetch_held(struct xs_repo *r, size_t i, char *err, size_t errsz);

/* Under the cache's shared lock: gc waits until the objects are named by a
 * manifest. */
static int do_fetch(struct xs_repo *r, size_t i, char *err, size_t errsz)
{
	int hold = xs_cache_hold(r->cache_dir);
	int q = do_fetch_held(r, i, err, errsz);
	if (hold >= 0)
		close(hold);
	return q;
}

static int do_fetch_held(struct xs_repo *r, size_t i, char *err, size_t errsz)
{
	struct vpkg *p = &r->pkgs[i];
	if (apply_cached_manifest(r, i) == 0) {
		xs_cache_note_use(r->store, p->sha256, p->name, p->version, p->arch);
		__atomic_add_fetch(&r->cache_hits, 1, __ATOMIC_RELAXED);
		return 0;
	}
	struct src *s = &r->srcs[p->src];
	char label[512];
	snprintf(label, sizeof label, "%s %s %s", p->name, p->version, p->arch);
	if (r->offline && !xs_store_has_object(r->store, p->sha256))
		FAIL(-ENOENT, "'%s' is not in the cache %s and the mount is offline: run "
			      "'xsysroot fetch --packages %s ...' first", label, r->cache_dir, p->name);
	struct xs_buf url;
	xs_buf_init(&url, 1 << 16);
	xs_buf_printf(&url, "%s/%s", s->uri, p->filename);
	uint64_t t0 = xs_now_ns(), bytes = 0;
	char ferr[1024] = "";
	char served[XS_MAX_PATH + 512];
	const char *rels[] = { p->filename };
	int q = xs_store_has_object(r->store, p->sha256)
			? 0
			: fetch_mirrors(r, s, true, rels, 1, p->sha256, p->size, label, &bytes, served,
					sizeof served, ferr, sizeof ferr);
	if (q == 0 && bytes) { /* name the mirror that served it */
		url.len = 0;
		xs_buf_printf(&url, "%s", served);
	}
	__atomic_add_fetch(&r->deb_bytes, bytes, __ATOMIC_RELAXED);
	if (q < 0) {
		snprintf(err, errsz, "failed to fetch '%s': %s", label, ferr);
		xs_buf_free(&url);
		return q;
	}
	int fd = xs_store_open_object(r->store, p->sha256);
	if (fd < 0) {
		snprintf(err, errsz, "failed to open the fetched '%s' in %s: %s", label, r->cache_dir,
			 strerror(-fd));
		xs_buf_free(&url);
		return fd;
	}
	struct xs_limits lim;
	xs_limits_default(&lim);
	struct xs_manifest m = { 0 };
	char uerr[1024] = "";
	q = xs_deb_unpack(r->store, fd, &lim, &m, uerr, sizeof uerr);
	close(fd);
	if (q < 0) {
		snprintf(err, errsz, "failed to unpack '%s' from %s: %s", label, url.data, uerr);
		xs_manifest_free(&m);
		xs_buf_free(&url);
		return q;
	}
	char *data = NULL;
	size_t len = 0;
	char name[96];
	manifest_name(p, name, sizeof name);
	/* the package's objects reach the disk before the manifest names them */
	q = xs_store_sync(r->store);
	if (q == 0)
		q = xs_manifest_serialize(&m, &data, &len);
	if (q == 0)
		q = xs_store_meta_write(r->store, name, data, len);
	if (q == 0)
		xs_cache_note_use(r->store, p->sha256, p->name, p->version, p->arch);
	free(data);
	if (q < 0) {
		snprintf(err, errsz, "failed to record '%s' in %s: %s", label, r->cache_dir,
			 strerror(-q));
		xs_manifest_free(&m);
		xs_buf_free(&url);
		return q;
	}
	struct xs_view_stats before, after;
	xs_view_stats(r->view, &before);
	xs_view_apply(r->view, (int)i, &m);
	xs_view_stats(r->view, &after);
	if (after.conflicts > before.conflicts)
		logf_(r, XS_LOG_DEBUG, "%s: %llu of its paths are provided by another package of "
		      "the view (the first by name is kept)", label,
		      (unsigned long long)(after.conflicts - before.conflicts));
	/* the unpacked files and the manifest replace the .deb */
	char opath[XS_MAX_PATH];
	if (xs_store_object_path(r->store, p->sha256, opath, sizeof opath) == 0)
		unlink(opath);
	if (bytes) {
		char sz[32];
		__atomic_add_fetch(&r->debs_fetched, 1, __ATOMIC_RELAXED);
		logf_(r, XS_LOG_INFO, "fetched %s (%s, %zu files) from %s in %.2f s [bytes=%llu]",
		      label, xs_fmt_size(bytes, sz, sizeof sz), m.n, url.data,
		      (xs_now_ns() - t0) / 1e9, (unsigned long long)bytes);
	}
	xs_manifest_free(&m);
	xs_buf_free(&url);
	return 0;
}

struct prefetch_job {
	struct xs_repo *r;
	size_t i;
};

static int fetch_pkg(struct xs_repo *r, size_t i, bool background, char *err, size_t errsz);

static void *prefetch_thread(void *ud)
{
	struct prefetch_job *j = ud;
	struct xs_repo *r = j->r;
	char err[2048] = "";
	if (fetch_pkg(r, j->i, true, err, sizeof err) < 0)
		logf_(r, XS_LOG_DEBUG, "prefetch of %s failed: %s", r->pkgs[j->i].name, err);
	free(j);
	pthread_mutex_lock(&r->prefetch_lock);
	r->prefetching--;
	pthread_cond_broadcast(&r->prefetch_cv);
	pthread_mutex_unlock(&r->prefetch_lock);
	return NULL;
}

/* A program that needed package i will most likely load its dependencies
 * next: fetch them in the background, a few at a time, so that the
 * lookups that follow find them ready instead of fetching one by one. */
static void prefetch_deps(struct xs_repo *r, size_t i)
{
	struct vpkg *p = &r->pkgs[i];
	for (size_t k = 0; k < p->ndeps; k++) {
		size_t j = p->deps[k];
		/* libraries only (Debian names them lib*): they are what the
		 * program loads next; dpkg, *-base and data packages rarely are */
		if (j >= xs_repo_npkgs(r) || strncmp(r->pkgs[j].name, "lib", 3))
			continue;
		pthread_mutex_lock(&r->pkgs[j].m);
		bool idle = r->pkgs[j].state == P_IDLE;
		pthread_mutex_unlock(&r->pkgs[j].m);
		if (!idle)
			continue;
		pthread_mutex_lock(&r->prefetch_lock);
		bool go = !r->closing && r->prefetching < MAX_PREFETCH;
		if (go)
			r->prefetching++;
		pthread_mutex_unlock(&r->prefetch_lock);
		if (!go)
			return;
		struct prefetch_job *job = xs_xmalloc(sizeof *job);
		*job = (struct prefetch_job){ r, j };
		pthread_t th;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, prefetch_thread, job) != 0) {
			free(job);
			pthread_mutex_lock(&r->prefetch_lock);
			r->prefetching--;
			pthread_mutex_unlock(&r->prefetch_lock);
		}
		pthread_attr_destroy(&at);
	}
}

/* background: a prefetch.  An access that finds a prefetch of its package
 * under way waits for it, but does not take a failure of it as its own: the
 * prefetch may have started before the mirror healed, so the access tries
 * once more itself. */
static int fetch_pkg(struct xs_repo *r, size_t i, bool background, char *err, size_t errsz)
{
	if (i >= xs_repo_npkgs(r))
		FAIL(-EINVAL, "no package %zu in the view", i);
	struct vpkg *p = &r->pkgs[i];
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += r->fetch_timeout_s + 5;
	pthread_mutex_lock(&p->m);
	while (p->state == P_FETCHING) {
		unsigned gen = p->gen;
		bool joined_bg = p->background;
		while (p->state == P_FETCHING && p->gen == gen) {
			if (pthread_cond_timedwait(&p->cv, &p->m, &dl) == ETIMEDOUT) {
				pthread_mutex_unlock(&p->m);
				FAIL(-ETIMEDOUT, "gave up waiting for '%s %s' after %d s", p->name,
				     p->version, r->fetch_timeout_s);
			}
		}
		if (p->state == P_IDLE && joined_bg && !background)
			break; /* the prefetch failed: this access tries itself */
		int q = p->state == P_READY ? 0 : p->state == P_FETCHING ? -EAGAIN : -EIO;
		if (q == -EAGAIN)
			continue; /* another attempt began meanwhile: wait for it */
		if (q < 0)
			snprintf(err, errsz, "%s", p->err);
		pthread_mutex_unlock(&p->m);
		return q;
	}
	if (p->state == P_READY) {
		pthread_mutex_unlock(&p->m);
		return 0;
	}
	p->state = P_FETCHING;
	p->background = background;
	pthread_mutex_unlock(&p->m);

	__atomic_add_fetch(&r->in_flight, 1, __ATOMIC_RELAXED);
	char ferr[1536] = "";
	uint64_t fetched = __atomic_load_n(&r->debs_fetched, __ATOMIC_RELAXED);
	int q = do_fetch(r, i, ferr, sizeof ferr);
	__atomic_sub_fetch(&r->in_flight, 1, __ATOMIC_RELAXED);
	if (q < 0) {
		__atomic_add_fetch(&r->fetch_failures, 1, __ATOMIC_RELAXED);
		snprintf(err, errsz, "%s", ferr);
		if (!background)
			xs_repo_note_error(r, ferr);
	} else if (r->quota && __atomic_load_n(&r->ready, __ATOMIC_ACQUIRE) &&
		   __atomic_load_n(&r->debs_fetched, __ATOMIC_RELAXED) != fetched) {
		xs_repo_trim(r, false); /* skipped while other fetches run */
	}

	pthread_mutex_lock(&p->m);
	p->state = q == 0 ? P_READY : P_IDLE;
	snprintf(p->err, sizeof p->err, "%s", ferr);
	p->gen++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->m);
	if (q == 0)
		prefetch_deps(r, i);
	return q;
}

int xs_repo_fetch(struct xs_repo *r, size_t i, char *err, size_t errsz)
{
	return fetch_pkg(r, i, false, err, errsz);
}

/* ---- a container image as the source ------------------------------------ */

/* The view of an image: at open, its documents are fetched and verified
 * and the view is left empty; its layers (the tree of an image is not known
 * before they are read) come at the first xs_repo_settle, merged with their
 * whiteouts into one package. */
static int open_image(struct xs_repo *r, const struct xs_repo_config *cfg, char *err,
		      size_t errsz)
{
	struct xs_image_config ic = {
		.ref = cfg->image,
		.arch = r->arch->deb,
		.plain_http = cfg->plain_http,
		.creds = cfg->creds,
		.auth_file = cfg->auth_file,
		.fetch_timeout_s = r->fetch_timeout_s,
		.progress = cfg->progress,
		.log = cfg->log,
		.log_ud = cfg->log_ud,
	};
	struct xs_image *im = NULL;
	int q = xs_image_open(r->store, &ic, &im, err, errsz);
	if (q < 0)
		return q;
	r->describe = xs_strdup(xs_image_describe(im));
	size_t cap = 0;
	xs_grow(&r->pkgs, &cap, 1, sizeof *r->pkgs);
	fill_vpkg(&r->pkgs[0], cfg->image, xs_image_digest(im), r->arch->deb, "",
		  strchr(xs_image_digest(im), ':') + 1, 0, 0);
	r->npkgs = 1;
	reserve_pkgs(r);
	r->view = xs_view_new(r->store, 0);
	r->image = im;
	r->is_image = true;
	return 0;
}

int xs_repo_settle(struct xs_repo *r, char *err, size_t errsz)
{
	if (!r->is_image || __atomic_load_n(&r->image_ready, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&r->image_lock);
	int q = 0;
	if (r->image_ready)
		goto out;
	struct vpkg *p = &r->pkgs[0];
	pthread_mutex_lock(&p->m);
	p->state = P_FETCHING;
	pthread_mutex_unlock(&p->m);
	__atomic_add_fetch(&r->in_flight, 1, __ATOMIC_RELAXED);
	uint64_t t0 = xs_now_ns(), bytes = 0;
	size_t fetched = 0, n = xs_image_nlayers(r->image);
	struct xs_manifest fs;
	/* under the cache's shared lock until the lease names every object of
	 * the tree: gc would see objects nothing references yet */
	int hold = xs_cache_hold(r->cache_dir);
	q = xs_image_layers(r->image, &fs, &fetched, &bytes, err, errsz);
	for (size_t i = 0; q == 0 && i < n; i++)
		q = xs_lease_add(r->lease, "pkg", xs_image_layer_hex(r->image, i));
	for (size_t i = 0; q == 0 && i < fs.n; i++)
		if (fs.e[i].type == XS_E_REG)
			q = xs_lease_add(r->lease, "obj", fs.e[i].sha256);
	if (hold >= 0)
		close(hold);
	if (q < 0 && !*err)
		snprintf(err, errsz, "cannot lease the objects of %s in %s: %s", r->describe,
			 r->cache_dir, strerror(-q));
	__atomic_sub_fetch(&r->in_flight, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&r->debs_fetched, fetched, __ATOMIC_RELAXED);
	__atomic_add_fetch(&r->deb_bytes, bytes, __ATOMIC_RELAXED);
	if (q == 0) {
		__atomic_add_fetch(&r->cache_hits, n - fetched, __ATOMIC_RELAXED);
		xs_view_apply(r->view, 0, &fs);
		logf_(r, XS_LOG_INFO, "%zu layers of %s in the view (%zu fetched, %llu bytes, %zu "
		      "paths) in %.2f s", n, r->describe, fetched, (unsigned long long)bytes, fs.n,
		      (xs_now_ns() - t0) / 1e9);
		xs_manifest_free(&fs);
		q = finish_view(r, err, errsz);
	} else {
		__atomic_add_fetch(&r->fetch_failures, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_lock(&p->m);
	p->state = q == 0 ? P_READY : P_IDLE;
	snprintf(p->err, sizeof p->err, "%s", q == 0 ? "" : err);
	pthread_mutex_unlock(&p->m);
	if (q == 0) {
		xs_image_free(r->image); /* its work is done */
		r->image = NULL;
		__atomic_store_n(&r->image_ready, true, __ATOMIC_RELEASE);
	}
out:
	pthread_mutex_unlock(&r->image_lock);
	return q;
}

/* ---- open / free ------------------------------------------------------- */

static int parse_binds(struct xs_repo *r, const char *const *binds, char *err, size_t errsz)
{
	size_t n = 0;
	while (binds && binds[n])
		n++;
	r->binds = xs_xcalloc(n + 1, sizeof *r->binds);
	for (size_t i = 0; i < n; i++) {
		const char *colon = strrchr(binds[i], ':');
		if (!colon || colon == binds[i] || colon[1] != '/')
			FAIL(-EINVAL, "--bind %s: expected HOSTDIR:/PATH", binds[i]);
		char norm[XS_MAX_PATH + 1], view[XS_MAX_PATH + 8], host[XS_MAX_PATH + 1];
		if (xs_path_normalize(colon + 1, norm, sizeof norm) < 0 || !norm[0] ||
		    xs_view_present_path(norm, view, sizeof view) < 0)
			FAIL(-EINVAL, "--bind %s: '%s' is not a path the view can show", binds[i],
			     colon + 1);
		snprintf(host, sizeof host, "%.*s", (int)(colon - binds[i]), binds[i]);
		char *real = realpath(host, NULL);
		struct stat st;
		if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(real);
			FAIL(-ENOTDIR, "--bind %s: %s is not a directory", binds[i], host);
		}
		r->binds[r->nbinds].host = real;
		r->binds[r->nbinds].path = xs_strdup(view);
		r->nbinds++;
	}
	return 0;
}

/* The cache: its store, and this process's lease in it (what gc keeps). */
static int open_store(struct xs_repo *r, char *err, size_t errsz)
{
	int q = xs_mkdir_p(r->cache_dir, 0755);
	if (q == 0)
		q = xs_store_open(r->cache_dir, &r->store);
	if (q == 0)
		q = xs_lease_open(r->cache_dir, &r->lease);
	if (q < 0)
		snprintf(err, errsz, "cannot use the cache directory %s: %s", r->cache_dir,
			 strerror(-q));
	return q;
}

static int open_image_repo(struct xs_repo *r, const struct xs_repo_config *cfg, char *err,
			   size_t errsz)
{
	int q = open_store(r, err, errsz);
	return q < 0 ? q : open_image(r, cfg, err, errsz);
}

int xs_repo_open(const struct xs_repo_config *cfg, struct xs_repo **out, char *err,
		 size_t errsz)
{
	const struct xs_arch *arch = xs_arch_lookup(cfg->arch);
	if (!arch)
		FAIL(-EINVAL, "unknown architecture '%s' (try arm64, armhf, armel, i386, amd64, "
			      "ppc64el, s390x, mips64el, riscv64, loong64)", cfg->arch);
	struct xs_repo *r = xs_xcalloc(1, sizeof *r);
	r->arch = arch;
	r->cache_dir = xs_strdup(cfg->cache_dir);
	r->gpgv = xs_strdup(cfg->gpgv ? cfg->gpgv : XS_GPGV);
	r->allow_expired = cfg->allow_expired;
	r->progress = cfg->progress;
	r->fetch_timeout_s = cfg->fetch_timeout_s > 0 ? cfg->fetch_timeout_s : 120;
	r->now = cfg->now ? cfg->now : (int64_t)time(NULL);
	r->log = cfg->log;
	r->log_ud = cfg->log_ud;
	r->offline = cfg->offline;
	r->quota = cfg->cache_max_size;
	pthread_mutex_init(&r->err_lock, NULL);
	pthread_mutex_init(&r->refresh_lock, NULL);
	pthread_mutex_init(&r->prefetch_lock, NULL);
	pthread_mutex_init(&r->add_lock, NULL);
	pthread_mutex_init(&r->image_lock, NULL);
	r->closing = true; /* no background work until xs_repo_start */
	pthread_cond_init(&r->prefetch_cv, NULL);
	int hold = -1;
	int q = parse_binds(r, cfg->binds, err, errsz);
	if (q == 0 && cfg->image) {
		q = open_image_repo(r, cfg, err, errsz);
		if (q < 0)
			goto fail;
		*out = r;
		return 0;
	}
	if (q == 0)
		q = select_sources(r, cfg, err, errsz);
	if (q < 0)
		goto fail;
	struct xs_buf d;
	xs_buf_init(&d, 1 << 16);
	for (size_t i = 0; i < r->nsrcs; i++) {
		for (size_t m = 0; m < r->srcs[i].nmirrors; m++)
			xs_buf_printf(&d, "%s%s", m ? "|" : i ? ", " : "", r->srcs[i].mirrors[m]);
		xs_buf_printf(&d, " %s", r->srcs[i].suite);
	}
	r->describe = xs_buf_steal(&d, NULL);

	q = open_store(r, err, errsz);
	if (q < 0)
		goto fail;
	/* the whole open under the shared lock: gc does not run meanwhile, and
	 * finds every package of the view leased afterwards */
	hold = xs_cache_hold(r->cache_dir);
	struct xs_http_opts ho;
	xs_http_opts_default(&ho);
	ho.progress = cfg->progress;
	ho.proxy = cfg->proxy;
	ho.total_timeout_s = 0; /* indexes: bounded by the stall detector */
	q = xs_http_new(&ho, &r->http_index);
	ho.retries = 0;
	if (q == 0)
		q = xs_http_new(&ho, &r->http_index_once);
	ho.total_timeout_s = r->fetch_timeout_s;
	if (q == 0)
		q = xs_http_new(&ho, &r->http_deb_once);
	xs_http_opts_default(&ho);
	ho.progress = cfg->progress;
	ho.proxy = cfg->proxy;
	ho.total_timeout_s = r->fetch_timeout_s;
	if (q == 0)
		q = xs_http_new(&ho, &r->http_deb);
	if (q < 0) {
		snprintf(err, errsz, "cannot start the HTTP client: %s", strerror(-q));
		goto fail;
	}
	uint64_t t0 = xs_now_ns();
	q = verify_all(r, err, errsz);
	if (q < 0)
		goto fail;
	logf_(r, XS_LOG_DEBUG, "InRelease of %zu sources verified in %.3f s", r->nsrcs,
	      (xs_now_ns() - t0) / 1e9);
	t0 = xs_now_ns();
	q = resolve_view(r, cfg->packages, err, errsz);
	if (q < 0)
		goto fail;
	reserve_pkgs(r);
	for (size_t i = 0; i < r->npkgs; i++)
		xs_lease_add(r->lease, "pkg", r->pkgs[i].sha256);
	logf_(r, XS_LOG_DEBUG, "%zu packages resolved in %.3f s", r->npkgs, (xs_now_ns() - t0) / 1e9);
	t0 = xs_now_ns();
	int64_t mtime = 0;
	for (size_t i = 0; i < r->nsrcs; i++)
		if (r->srcs[i].rel.date > mtime)
			mtime = r->srcs[i].rel.date;
	r->view = xs_view_new(r->store, mtime);
	q = build_view(r, err, errsz);
	if (q < 0)
		goto fail;
	struct xs_view_stats vs;
	xs_view_stats(r->view, &vs);
	logf_(r, XS_LOG_DEBUG,
	      "view of %llu nodes (%llu pending) built in %.3f s; %llu path conflicts between "
	      "packages, resolved in package-name order",
	      (unsigned long long)vs.nodes, (unsigned long long)vs.pending, (xs_now_ns() - t0) / 1e9,
	      (unsigned long long)vs.conflicts);
	if (hold >= 0)
		close(hold);
	__atomic_store_n(&r->ready, true, __ATOMIC_RELEASE);
	*out = r;
	return 0;
fail:
	if (hold >= 0)
		close(hold);
	xs_repo_free(r);
	return q;
}

void xs_repo_free(struct xs_repo *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->prefetch_lock);
	r->closing = true;
	while (r->prefetching > 0)
		pthread_cond_wait(&r->prefetch_cv, &r->prefetch_lock);
	pthread_mutex_unlock(&r->prefetch_lock);
	for (size_t i = 0; i < r->nsrcs; i++) {
		struct src *s = &r->srcs[i];
		free(s->uri), free(s->suite), free(s->keyring), free(s->demoted_until);
		free_list(s->mirrors);
		free_list(s->components);
		xs_release_free(&s->rel);
		for (size_t k = 0; k < s->ncontents; k++)
			xs_contents_close(s->contents[k]);
		free(s->contents);
	}
	free(r->srcs);
	for (size_t i = 0; i < r->npkgs; i++) {
		struct vpkg *p = &r->pkgs[i];
		free(p->name), free(p->version), free(p->arch), free(p->filename), free(p->sha256);
		free(p->deps);
		if (r->cappkgs) {
			pthread_mutex_destroy(&p->m);
			pthread_cond_destroy(&p->cv);
		}
	}
	free(r->pkgs);
	if (r->cands)
		munmap((void *)r->cands, r->cands_len);
	pthread_mutex_destroy(&r->add_lock);
	xs_image_free(r->image);
	pthread_mutex_destroy(&r->image_lock);
	for (size_t i = 0; i < r->nbinds; i++)
		free(r->binds[i].host), free(r->binds[i].path);
	free(r->binds);
	pthread_mutex_destroy(&r->refresh_lock);
	pthread_mutex_destroy(&r->prefetch_lock);
	pthread_cond_destroy(&r->prefetch_cv);
	xs_view_free(r->view);
	xs_http_free(r->http_index);
	xs_http_free(r->http_deb);
	xs_http_free(r->http_index_once);
	xs_http_free(r->http_deb_once);
	if (r->store)
		xs_store_close(r->store);
	xs_lease_close(r->lease);
	pthread_mutex_destroy(&r->err_lock);
	free(r->cache_dir);
	free(r->gpgv);
	free(r->describe);
	free(r);
}

const struct xs_arch *xs_repo_arch(struct xs_repo *r)
{
	return r->arch;
}
struct xs_view *xs_repo_view(struct xs_repo *r)
{
	return r->view;
}
size_t xs_repo_npkgs(struct xs_repo *r)
{
	return __atomic_load_n(&r->npkgs, __ATOMIC_ACQUIRE);
}
const char *xs_repo_describe(struct xs_repo *r)
{
	return r->describe;
}

int xs_repo_pkg(struct xs_repo *r, size_t i, struct xs_repo_pkg *out)
{
	if (i >= xs_repo_npkgs(r))
		return -ENOENT;
	struct vpkg *p = &r->pkgs[i];
	out->name = p->name;
	out->version = p->version;
	out->arch = p->arch;
	out->filename = p->filename;
	out->sha256 = p->sha256;
	out->size = p->size;
	out->mirror = r->nsrcs ? r->srcs[p->src].uri : r->describe;
	pthread_mutex_lock(&p->m);
	out->fetched = p->state == P_READY;
	pthread_mutex_unlock(&p->m);
	return 0;
}

void xs_repo_stats(struct xs_repo *r, struct xs_repo_stats *st)
{
	st->debs_fetched = __atomic_load_n(&r->debs_fetched, __ATOMIC_RELAXED);
	st->deb_bytes = __atomic_load_n(&r->deb_bytes, __ATOMIC_RELAXED);
	st->cache_hits = __atomic_load_n(&r->cache_hits, __ATOMIC_RELAXED);
	st->fetch_failures = __atomic_load_n(&r->fetch_failures, __ATOMIC_RELAXED);
	st->in_flight = __atomic_load_n(&r->in_flight, __ATOMIC_RELAXED);
	st->index_bytes = __atomic_load_n(&r->index_bytes, __ATOMIC_RELAXED);
	st->evicted = __atomic_load_n(&r->evicted, __ATOMIC_RELAXED);
	st->pkgs_ready = 0;
	size_t n = xs_repo_npkgs(r);
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&r->pkgs[i].m);
		st->pkgs_ready += r->pkgs[i].state == P_READY;
		pthread_mutex_unlock(&r->pkgs[i].m);
	}
}

void xs_repo_note_error(struct xs_repo *r, const char *msg)
{
	pthread_mutex_lock(&r->err_lock);
	size_t k = (r->error_head + r->nerrors) % XS_REPO_MAX_ERRORS;
	if (r->nerrors == XS_REPO_MAX_ERRORS)
		r->error_head = (r->error_head + 1) % XS_REPO_MAX_ERRORS;
	else
		r->nerrors++;
	r->errors[k].when = (int64_t)time(NULL);
	snprintf(r->errors[k].msg, sizeof r->errors[k].msg, "%s", msg);
	for (char *c = r->errors[k].msg; *c; c++)
		if (*c == '\n')
			*c = ' ';
	pthread_mutex_unlock(&r->err_lock);
}

int xs_repo_status(struct xs_repo *r, struct xs_buf *out)
{
	struct xs_repo_stats st;
	xs_repo_stats(r, &st);
	int q = xs_buf_printf(out, "arch=%s\n", r->arch->deb);
	for (size_t i = 0; q == 0 && i < r->nsrcs; i++)
		q = xs_buf_printf(out, "source=%s %s\n", r->srcs[i].uri, r->srcs[i].suite);
	if (q == 0)
		q = xs_buf_printf(out,
				  "cache_dir=%s\noffline=%d\npackages=%zu\npackages_fetched=%llu\n"
				  "debs_fetched=%llu\nbytes_downloaded=%llu\ndeb_bytes=%llu\n"
				  "index_bytes=%llu\ncache_hits=%llu\nfetch_failures=%llu\n"
				  "in_flight=%llu\nevicted=%llu\nquota=%llu\n",
				  r->cache_dir, r->offline, xs_repo_npkgs(r),
				  (unsigned long long)st.pkgs_ready, (unsigned long long)st.debs_fetched,
				  (unsigned long long)(st.deb_bytes + st.index_bytes),
				  (unsigned long long)st.deb_bytes, (unsigned long long)st.index_bytes,
				  (unsigned long long)st.cache_hits, (unsigned long long)st.fetch_failures,
				  (unsigned long long)st.in_flight, (unsigned long long)st.evicted,
				  (unsigned long long)r->quota);
	pthread_mutex_lock(&r->err_lock);
	for (size_t i = 0; q == 0 && i < r->nerrors; i++) {
		size_t k = (r->error_head + i) % XS_REPO_MAX_ERRORS;
		q = xs_buf_printf(out, "error=%lld %s\n", (long long)r->errors[k].when,
				  r->errors[k].msg);
	}
	pthread_mutex_unlock(&r->err_lock);
	return q;
}

int xs_repo_trim(struct xs_repo *r, bool wait)
{
	if (!r->quota)
		return 0;
	struct xs_cache_gc g;
	int q = xs_cache_gc(r->cache_dir, r->quota, wait, &g);
	if (q == -EWOULDBLOCK)
		return 0; /* a fetch is adding to the cache: the next trim will do */
	if (q < 0) {
		logf_(r, XS_LOG_WARN, "cannot apply the cache quota to %s: %s", r->cache_dir,
		      strerror(-q));
		return q;
	}
	__atomic_add_fetch(&r->evicted, g.evicted, __ATOMIC_RELAXED);
	for (size_t i = 0; g.evicted_names && g.evicted_names[i]; i++)
		logf_(r, XS_LOG_INFO, "quota: evicted %s from %s", g.evicted_names[i], r->cache_dir);
	char a[32], b[32], c[32];
	if (g.size_after > r->quota)
		logf_(r, XS_LOG_WARN, "quota: %s holds %s, over the quota of %s: %llu packages "
		      "over it are in use by live mounts", r->cache_dir,
		      xs_fmt_size(g.size_after, a, sizeof a), xs_fmt_size(r->quota, b, sizeof b),
		      (unsigned long long)g.kept_leased);
	else if (g.bytes_freed)
		logf_(r, XS_LOG_DEBUG, "quota: freed %s in %s", xs_fmt_size(g.bytes_freed, c, sizeof c),
		      r->cache_dir);
	xs_cache_gc_free(&g);
	return 0;
}
