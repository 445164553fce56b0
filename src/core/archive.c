/* archive.c - see include/xsysroot/archive.h */
#include "xsysroot/archive.h"
#include "xsysroot/cachefiles.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xs-build.h"
#include "xsysroot/aptsrc.h"
#include "xsysroot/gpg.h"
#include "xsysroot/http.h"

#define MAX_INRELEASE (16u << 20)
#define MAX_INDEX_SIZE (512ull << 20)
/* as apt: a Release whose Date lies in the future is "not valid yet" */
#define DATE_SLACK 0
#define MAX_MIRRORS XS_ARCHIVE_MAX_MIRRORS
/* a mirror that failed on the network is tried after the others this long */
#define MIRROR_DEMOTE_NS (60ull * 1000000000ull)

/* One archive: its mirrors carry the same files, and each file fetched is
 * checked against the one Release verified (from whichever mirror). */
struct src {
	struct xs_archive_source pub; /* points into the fields below */
	char *uri; /* mirrors[0]: the source's name in messages and cache keys */
	char **mirrors; /* base URLs, without a trailing '/', in the order given */
	size_t nmirrors;
	uint64_t *demoted_until; /* per mirror, xs_now_ns() time; atomic */
	char *suite, *keyring;
	char **components;
	struct xs_release rel; /* written by its verify thread during open only */
};

struct xs_archive {
	const struct xs_arch *arch;
	char *gpgv, *proxy;
	bool allow_expired, offline;
	const struct xs_progress *progress;
	int fetch_timeout_s;
	int64_t now;
	xs_log_fn log;
	void *log_ud;
	struct xs_store *store; /* borrowed, set by xs_archive_open */
	const char *cache_dir;	/* the store's, for messages */
	struct xs_http *http_index, *http_deb;
	/* the same without retries, for a mirror that has another behind it */
	struct xs_http *http_index_once, *http_deb_once;
	struct src *srcs;
	size_t nsrcs;
	char *describe;
	uint64_t index_bytes, index_hits; /* atomic */
};

#define logf_(o, level, ...) xs_logf((o)->log, (o)->log_ud, level, __VA_ARGS__)

#define FAIL XS_FAIL

/* ---- sources ------------------------------------------------------------ */

/* uris: one base URL, or the mirrors of one archive (a blank- or
 * comma-separated list, at most MAX_MIRRORS). */
static void add_src(struct xs_archive *r, const char *uris, const char *suite,
		    char **components, const char *keyring)
{
	size_t cap = r->nsrcs;
	xs_grow(&r->srcs, &cap, r->nsrcs + 1, sizeof *r->srcs);
	struct src *s = &r->srcs[r->nsrcs++];
	memset(s, 0, sizeof *s);
	s->mirrors = xs_strv_split(uris);
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

static int select_sources(struct xs_archive *r, const struct xs_archive_config *cfg, char *err,
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
		char **ms = xs_strv_split(cfg->mirror);
		size_t nm = 0;
		while (ms[nm])
			nm++;
		xs_strv_free(ms);
		if (!nm || nm > MAX_MIRRORS)
			FAIL(-EINVAL, "the mirror list (--mirror, or the mirror key of the "
				      "configuration files) has %zu mirrors: give 1 to %d", nm,
			     MAX_MIRRORS);
		add_src(r, cfg->mirror, suite,
			xs_strv_split(cfg->components ? cfg->components : "main"),
			cfg->keyring ? cfg->keyring : defkr);
		return 0;
	}
	struct xs_sourcelist l = { 0 };
	int q = xs_aptsrc_load(&l, root);
	if (q < 0) {
		xs_sourcelist_free(&l);
		FAIL(q, "cannot read the apt sources under %s: %s", root, strerror(-q));
	}
	char **want = xs_strv_split(cfg->components ? cfg->components : "main");
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
			if (xs_strv_has(e->components, want[k]) || cfg->components)
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
			xs_strv_free(comps);
			continue;
		}
		add_src(r, e->uri, cfg->suite ? suite : e->suite, comps,
			cfg->keyring ? cfg->keyring : e->signed_by ? e->signed_by : defkr);
	}
	xs_strv_free(want);
	xs_sourcelist_free(&l);
	if (!r->nsrcs)
		FAIL(-ENOENT, "no Debian source for '%s' in %setc/apt/sources.list or "
			      "%setc/apt/sources.list.d/: pass --mirror URL (the folder that holds "
			      "dists/ and pool/) and --suite NAME",
		     codename, root, root);
	return 0;
}

/* ---- fetching into the store ------------------------------------------- */

/* Where a fetched file goes: the store (by transaction, its fsync deferred
 * for a .deb that lives only until it is unpacked), or nowhere but the tee,
 * its digest and size computed on the way (a .deb streamed into the
 * unpacker). */
enum fetch_to { TO_STORE, TO_STORE_DEFERRED, TO_TEE };

/* The store's transaction (t NULL: only the digest h of got bytes, at
 * most max), and a tee (NULL: none) that sees the same bytes as they
 * arrive (an index parsed, a .deb unpacked while it downloads). */
struct txn_sink {
	struct xs_txn *t;
	struct xs_sha256 h;
	uint64_t got, max;
	const struct xs_http_sink *tee;
};
static int sink_txn_write(const void *p, size_t n, void *ud)
{
	struct txn_sink *k = ud;
	int q;
	if (k->t) {
		q = xs_txn_write(k->t, p, n);
	} else if (n > k->max - k->got) {
		q = -EFBIG; /* as the store's transaction refuses it */
	} else {
		q = xs_sha256_update(&k->h, p, n);
		k->got += n;
	}
	return q < 0 || !k->tee ? q : k->tee->write(p, n, k->tee->ud);
}
static int sink_txn_reset(void *ud)
{
	struct txn_sink *k = ud;
	int q = 0;
	if (k->t) {
		q = xs_txn_reset(k->t);
	} else {
		xs_sha256_free(&k->h);
		k->got = 0;
		q = xs_sha256_init(&k->h);
	}
	return q < 0 || !k->tee ? q : k->tee->reset(k->tee->ud);
}
static int sink_begin(struct xs_archive *r, enum fetch_to to, uint64_t size, struct txn_sink *k)
{
	if (to == TO_TEE) {
		k->max = size;
		return xs_sha256_init(&k->h);
	}
	int q = xs_txn_begin(r->store, size, &k->t);
	if (q == 0 && to == TO_STORE_DEFERRED)
		xs_txn_defer_sync(k->t);
	return q;
}
static uint64_t sink_size(const struct txn_sink *k)
{
	return k->t ? xs_txn_size(k->t) : k->got;
}
static void sink_abort(struct txn_sink *k)
{
	if (k->t)
		xs_txn_abort(k->t);
	xs_sha256_free(&k->h);
}
/* As xs_txn_commit: -EBADMSG on a mismatch, have the digest computed. */
static int sink_commit(struct txn_sink *k, const char *sha256, uint64_t size, char have[65])
{
	if (k->t)
		return xs_txn_commit(k->t, sha256, size, have);
	int q = xs_sha256_final(&k->h, have);
	return q < 0 ? q : k->got == size && !strcmp(have, sha256) ? 0 : -EBADMSG;
}
/* GET url into the store (or the tee alone), checking digest and size.
 * *remote tells whether a failure came from the mirror (the network, the
 * bytes) rather than from here (the cache). */
static int fetch_object(struct xs_archive *r, struct xs_http *h, const char *url,
			const char *sha256, uint64_t size, const char *label, enum fetch_to to,
			const struct xs_http_sink *tee, uint64_t *bytes, bool *remote, char *err,
			size_t errsz)
{
	struct txn_sink k = { .tee = tee };
	*remote = false;
	int q = sink_begin(r, to, size, &k);
	if (q < 0)
		FAIL(q, "cannot store '%s' in %s: %s", label, r->cache_dir, strerror(-q));
	struct xs_http_sink sink = { sink_txn_write, sink_txn_reset, &k };
	struct xs_http_stats hs = { 0 };
	q = tee ? tee->reset(tee->ud) : 0; /* each attempt starts the tee afresh */
	if (q == 0)
		q = xs_http_get(h, url, size, &sink, label, &hs, err, errsz);
	if (bytes)
		*bytes = hs.bytes;
	if (q < 0) {
		uint64_t got = sink_size(&k);
		sink_abort(&k);
		*remote = q != -ENOSPC && q != -EDQUOT && q != -ENOMEM && q != -EROFS;
		if (q == -EFBIG && got == 0) {
			/* refused on its announced length, before any byte */
			char why[512];
			const char *c = strstr(err, url); /* "GET URL: body of N bytes ..." */
			snprintf(why, sizeof why, "%s",
				 c && c[strlen(url)] == ':' ? c + strlen(url) + 2 : err);
			FAIL(q, "'%s' from %s: larger than the expected size: the Release lists %llu "
				"bytes, the mirror announces more (%s): refused before downloading",
			     label, url, (unsigned long long)size, why);
		}
		if (q == -EFBIG)
			FAIL(q, "'%s' from %s: larger than the expected size %llu: refused at %llu bytes",
			     label, url, (unsigned long long)size, (unsigned long long)got + 1);
		if (q == -ENOSPC)
			FAIL(q, "'%s' from %s: no space left in %s", label, url, r->cache_dir);
		return q;
	}
	uint64_t got = sink_size(&k);
	char have[65] = "";
	q = sink_commit(&k, sha256, size, have);
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
static int fetch_mirrors(struct xs_archive *r, struct src *s, enum fetch_to to, const char *const *rels,
			 size_t nrels, const char *sha256, uint64_t size, const char *label,
			 const struct xs_http_sink *tee, uint64_t *bytes, char *served, size_t servedsz, char *err, size_t errsz)
{
	size_t ord[MAX_MIRRORS], n = mirror_order(s, ord), failed = 0;
	bool deb = to != TO_STORE;
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
			q = fetch_object(r, h, url, sha256, size, label, to, tee, &got, &remote,
					 ferr, sizeof ferr);
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

/* ---- InRelease ------------------------------------------------------------ */

/* The meta/ name of per-source state. */
static void src_key(const struct src *s, char *out, size_t outsz)
{
	xs_cf_build_inrelease(s->uri, s->suite, out, outsz);
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
static int offline_missing(struct xs_archive *r, const struct src *s, const char *what,
			   char *err, size_t errsz)
{
	FAIL(-ENOENT, "no cached index for %s %s from %s (%s): run 'xsysroot fetch --mirror %s "
		      "--suite %s %s' first (--offline uses the cache only)",
	     s->suite, r->arch->deb, s->uri, what, s->uri, s->suite, r->arch->deb);
}

/* One verification of one InRelease: the bytes (body) live in memory and
 * in a private file of meta/ (tmp, open as fd) that no other process knows;
 * gpgv reads that file, the parser the same buffer, and the file becomes
 * the source's InRelease only when every check passed. */
struct inrel {
	const char *url;
	char name[128];		  /* meta/ name of the installed InRelease */
	struct xs_buf body;
	int fd;
	char tmp[XS_META_TMP_MAX], path[XS_MAX_PATH];
	char vkey[160];		  /* verified_key of body, "" unknown */
	bool hit;		  /* these bytes were verified before */
	/* the conditional GET: the cached copy it asks about (cond: the
	 * copy matches its validators and was verified with this keyring) */
	bool cond, not_modified;  /* not_modified: body is that copy (a 304) */
	bool kept;		  /* body is the installed one (the mirror's was older) */
	struct xs_buf cached;
	struct xs_release_validators val; /* sent when cond; from a 200 after */
};

/* Whether the cache holds a verified InRelease of s that the conditional
 * GET may ask about: the bytes, validators naming their SHA-256, and the
 * record of a gpgv success over them with this keyring.  Anything missing
 * or not matching (a corrupt copy) and the request is unconditional. */
static void inrel_cond_prepare(struct xs_archive *r, const struct src *s, struct inrel *v)
{
	char hname[160], vname[160], sha[65], vkey[160];
	char *data = NULL, *seen = NULL;
	size_t len = 0, seen_len = 0;
	xs_cf_sibling(v->name, XS_CF_INRELEASE_HTTP, hname, sizeof hname);
	xs_cf_sibling(v->name, XS_CF_INRELEASE_VERIFIED, vname, sizeof vname);
	bool ok = xs_store_meta_read(r->store, hname, XS_RELEASE_VALIDATORS_MAX + 1, &data,
				     &len) == 0 &&
		  xs_release_validators_parse(data, len, &v->val) == 0;
	free(data);
	data = NULL;
	ok = ok && xs_store_meta_read(r->store, v->name, MAX_INRELEASE, &data, &len) == 0 &&
	     xs_sha256_buf(data, len, sha) == 0 && !strcmp(sha, v->val.sha256) &&
	     verified_key(data, len, s->keyring, vkey) == 0 &&
	     xs_store_meta_read(r->store, vname, 256, &seen, &seen_len) == 0 &&
	     seen_len == strlen(vkey) && !memcmp(seen, vkey, seen_len) &&
	     xs_buf_append(&v->cached, data, len) == 0;
	free(data);
	free(seen);
	v->cond = ok;
}

/* The installed InRelease of s (the last one verified) appended to v's
 * body: 0, or negative errno (nothing appended). */
static int inrel_read_installed(struct xs_archive *r, struct inrel *v)
{
	char *data = NULL;
	size_t len = 0;
	int q = xs_store_meta_read(r->store, v->name, MAX_INRELEASE, &data, &len);
	if (q == 0)
		q = xs_buf_append(&v->body, data, len);
	free(data);
	return q;
}

/* The InRelease of s into v->body: from the mirror (a 304 to the
 * conditional GET gives the cached copy again, to be checked as any), or
 * offline the last one verified. */
static int get_inrelease(struct xs_archive *r, struct src *s, struct xs_http *h,
			 struct inrel *v, char *err, size_t errsz)
{
	if (r->offline)
		return inrel_read_installed(r, v) < 0 ? offline_missing(r, s, "InRelease", err, errsz)
						      : 0;
	inrel_cond_prepare(r, s, v);
	struct xs_http_sink sink = xs_http_sink_buf(&v->body);
	struct xs_http_stats hs = { 0 };
	struct xs_http_req req = {
		.if_modified_since = v->cond ? v->val.last_modified : 0,
		.if_none_match = v->cond && v->val.etag[0] ? v->val.etag : NULL,
	};
	char label[XS_MAX_PATH];
	snprintf(label, sizeof label, "%s InRelease", s->suite); /* what progress shows */
	int q = xs_http_get_req(h, v->url, MAX_INRELEASE, &sink, label, &req, &hs, err, errsz);
	__atomic_add_fetch(&r->index_bytes, hs.bytes, __ATOMIC_RELAXED);
	if (q == -ENOENT)
		FAIL(q, "%s: not found: the mirror has no signed InRelease for suite '%s' "
			"(check --mirror and --suite)", v->url, s->suite);
	if (q < 0 && hs.status == 304)
		FAIL(q, "%s: refused: the mirror answered 304 Not Modified, but no verified copy "
			"was asked about (none in %s/meta, or it does not match what it was "
			"served with)", v->url, r->cache_dir);
	if (q < 0)
		return q;
	if (req.not_modified) {
		v->not_modified = true;
		return xs_buf_append(&v->body, v->cached.data, v->cached.len);
	}
	memset(&v->val, 0, sizeof v->val); /* what this 200 was served with */
	v->val.last_modified = req.last_modified;
	snprintf(v->val.etag, sizeof v->val.etag, "%s", req.etag);
	return 0;
}

/* Write body to a new private file (a failure is the cache's). */
static int inrel_stage(struct xs_archive *r, struct inrel *v, char *err, size_t errsz)
{
	v->fd = xs_store_meta_tmp(r->store, v->name, v->tmp, v->path, sizeof v->path);
	if (v->fd < 0)
		FAIL(v->fd, "cannot write in %s/meta: %s", r->cache_dir, strerror(-v->fd));
	int q = xs_write_all(v->fd, v->body.data, v->body.len);
	if (q < 0)
		FAIL(q, "cannot write in %s/meta: %s", r->cache_dir, strerror(-q));
	return 0;
}

static void inrel_free(struct xs_archive *r, struct inrel *v)
{
	if (v->fd >= 0) {
		close(v->fd);
		xs_store_meta_discard(r->store, v->tmp);
	}
	xs_buf_free(&v->body);
	xs_buf_free(&v->cached);
}

/* Like apt's "Hit": the very bytes already verified with the very same
 * keyring need no second gpgv run (dates are checked anyway). */
static void inrel_check_hit(struct xs_archive *r, const struct src *s, struct inrel *v)
{
	char vname[160];
	xs_cf_sibling(v->name, XS_CF_INRELEASE_VERIFIED, vname, sizeof vname);
	if (verified_key(v->body.data, v->body.len, s->keyring, v->vkey) < 0)
		v->vkey[0] = 0;
	char *seen = NULL;
	size_t seen_len = 0;
	v->hit = v->vkey[0] && xs_store_meta_read(r->store, vname, 256, &seen, &seen_len) == 0 &&
		 seen_len == strlen(v->vkey) && !memcmp(seen, v->vkey, seen_len);
	free(seen);
}

/* gpgv over the private file, unless a hit. */
static int inrel_gpgv(struct xs_archive *r, const struct src *s, struct inrel *v, char *err,
		      size_t errsz)
{
	if (v->hit)
		return 0;
	const char *keyrings[] = { s->keyring, NULL };
	struct xs_gpg_result gr;
	char gerr[1024] = "";
	int q = xs_gpgv_verify(r->gpgv, keyrings, v->path, &gr, gerr, sizeof gerr);
	if (q < 0) {
		char vname[160], vpath[XS_MAX_PATH];
		xs_cf_sibling(v->name, XS_CF_INRELEASE_VERIFIED, vname, sizeof vname);
		if (xs_store_meta_path(r->store, vname, vpath, sizeof vpath) == 0)
			unlink(vpath);
		FAIL(q, "%s: signature refused: %s", v->url, gerr);
	}
	return 0;
}

/* Parse and check the bytes in memory into s->rel. */
static int inrel_parse(struct xs_archive *r, struct src *s, const struct inrel *v, char *err,
		       size_t errsz)
{
	char *text = NULL;
	size_t tlen = 0;
	char perr[512] = "";
	int q = xs_clearsign_split(v->body.data, v->body.len, &text, &tlen, perr, sizeof perr);
	if (q < 0)
		FAIL(q, "%s: refused: %s", v->url, perr);
	q = xs_release_parse(text, tlen, &s->rel, perr, sizeof perr);
	free(text);
	if (q < 0)
		FAIL(q, "%s: malformed Release: %s", v->url, perr);
	q = xs_release_check_dates(&s->rel, r->now, DATE_SLACK, r->allow_expired, perr, sizeof perr);
	if (q < 0)
		FAIL(q, "%s: refused: %s%s", v->url, perr,
		     q == -EKEYEXPIRED ? " (--allow-expired overrides this)" : "");
	if ((!s->rel.suite || strcmp(s->rel.suite, s->suite)) &&
	    (!s->rel.codename || strcmp(s->rel.codename, s->suite)))
		FAIL(-EKEYREJECTED, "%s: refused: it is for Suite '%s', Codename '%s', not '%s'",
		     v->url, s->rel.suite ? s->rel.suite : "", s->rel.codename ? s->rel.codename : "",
		     s->suite);
	return 0;
}

/* The validators the new InRelease was served with, for the next fetch
 * (none: the file goes; a failure only costs that fetch its condition). */
static void inrel_keep_validators(struct xs_archive *r, const struct src *s, struct inrel *v)
{
	char hname[160], text[XS_RELEASE_VALIDATORS_MAX + 1];
	xs_cf_sibling(v->name, XS_CF_INRELEASE_HTTP, hname, sizeof hname);
	snprintf(v->val.sha256, sizeof v->val.sha256, "%s", s->pub.inrelease_sha256);
	if (xs_release_validators_format(&v->val, text, sizeof text) == 0) {
		xs_store_meta_write(r->store, hname, text, strlen(text));
	} else {
		char hpath[XS_MAX_PATH];
		if (xs_store_meta_path(r->store, hname, hpath, sizeof hpath) == 0)
			unlink(hpath);
	}
}

/* Under the source's lock: refuse a rollback (a Date older than the
 * Release verified before), else record the Date and install the file.
 * *remote is false when a failure was the cache's. */
static int inrel_install_locked(struct xs_archive *r, const struct src *s, struct inrel *v,
				bool *remote, char *err, size_t errsz)
{
	char dname[160];
	xs_cf_sibling(v->name, XS_CF_INRELEASE_DATE, dname, sizeof dname);
	char *old = NULL;
	size_t olen = 0;
	if (xs_store_meta_read(r->store, dname, 64, &old, &olen) == 0) {
		long long prev = strtoll(old, NULL, 10);
		free(old);
		if (s->rel.date >= 0 && s->rel.date < prev) {
			char a[64], b[64];
			time_t ta = (time_t)s->rel.date, tb = (time_t)prev;
			strftime(a, sizeof a, "%a, %d %b %Y %H:%M:%S UTC", gmtime(&ta));
			strftime(b, sizeof b, "%a, %d %b %Y %H:%M:%S UTC", gmtime(&tb));
			/* the caller keeps the newer one (verify_release_at) */
			FAIL(-ESTALE, "%s: its Date (%s) is older than the Release verified before "
				"(%s)", v->url, a, b);
		}
	}
	*remote = false;
	char db[32];
	int dn = snprintf(db, sizeof db, "%lld", (long long)s->rel.date);
	int q = xs_store_meta_write(r->store, dname, db, (size_t)dn);
	if (q == 0)
		q = xs_store_meta_commit(r->store, v->fd, v->tmp, v->name);
	if (q < 0)
		FAIL(q, "cannot write %s/meta/%s: %s", r->cache_dir, v->name, strerror(-q));
	close(v->fd);
	v->fd = -1; /* installed */
	if (!v->hit && v->vkey[0]) {
		char vname[160];
		xs_cf_sibling(v->name, XS_CF_INRELEASE_VERIFIED, vname, sizeof vname);
		xs_store_meta_write(r->store, vname, v->vkey, strlen(v->vkey));
	}
	if (!v->not_modified && !v->kept && !r->offline)
		inrel_keep_validators(r, s, v);
	return 0;
}

static int inrel_install(struct xs_archive *r, const struct src *s, struct inrel *v,
			 bool *remote, char *err, size_t errsz)
{
	char lname[160];
	xs_cf_sibling(v->name, XS_CF_INRELEASE_LOCK, lname, sizeof lname);
	int lock = xs_store_meta_lock(r->store, lname);
	if (lock < 0) {
		*remote = false;
		FAIL(lock, "cannot lock %s/meta/%s: %s", r->cache_dir, lname, strerror(-lock));
	}
	int q = inrel_install_locked(r, s, v, remote, err, errsz);
	close(lock);
	return q;
}

/* The installed InRelease of s as v's body, for a second pass when the
 * mirror served an older one (kept: the bytes verified before). */
static int inrel_take_installed(struct xs_archive *r, struct inrel *v, char *err, size_t errsz)
{
	v->kept = true;
	int q = inrel_read_installed(r, v);
	if (q < 0)
		FAIL(q, "cannot read %s/meta/%s: %s", r->cache_dir, v->name, strerror(-q));
	return 0;
}

/* One pass over the InRelease of s at url: fetched (or, kept, the
 * installed one), staged, checked, installed; -ESTALE when the mirror's
 * is older than the installed one. */
static int verify_release_pass(struct xs_archive *r, struct src *s, struct xs_http *h,
			       const char *url, bool kept, bool *remote, char *err,
			       size_t errsz)
{
	*remote = true;
	xs_release_free(&s->rel);
	memset(&s->rel, 0, sizeof s->rel);
	struct inrel v = { .url = url, .fd = -1 };
	xs_buf_init(&v.body, MAX_INRELEASE);
	xs_buf_init(&v.cached, MAX_INRELEASE);
	src_key(s, v.name, sizeof v.name);
	int q = kept ? inrel_take_installed(r, &v, err, errsz) : get_inrelease(r, s, h, &v, err, errsz);
	if (q == 0) {
		q = inrel_stage(r, &v, err, errsz);
		*remote = q == 0;
	}
	if (q == 0) {
		inrel_check_hit(r, s, &v);
		q = inrel_gpgv(r, s, &v, err, errsz);
	}
	if (q == 0)
		q = inrel_parse(r, s, &v, err, errsz);
	if (q == 0 && xs_sha256_buf(v.body.data, v.body.len, s->pub.inrelease_sha256) < 0)
		s->pub.inrelease_sha256[0] = 0;
	if (q == 0)
		q = inrel_install(r, s, &v, remote, err, errsz);
	if (q < 0 && q != -ESTALE && *remote && (v.not_modified || v.kept)) {
		size_t l = strlen(err);
		snprintf(err + l, errsz - l, " (%s: these are the bytes verified before, kept in "
			 "%s/meta/%s)", v.kept ? "the mirror served an older InRelease" :
			 "the mirror answered 304 Not Modified", r->cache_dir, v.name);
	}
	if (q < 0)
		s->pub.inrelease_sha256[0] = 0;
	inrel_free(r, &v);
	return q;
}

/* The InRelease of s from mirror m, verified; *remote is false when a
 * failure was the cache's, not the mirror's.  A mirror behind the one
 * verified before (a mirror being updated, a stale node, another process
 * on this cache that got the newer one first) does not roll the view back:
 * as apt does, the newer InRelease is kept and checked again (its dates
 * included); an older one is never used. */
static int verify_release_at(struct xs_archive *r, struct src *s, size_t m, struct xs_http *h,
			     bool *remote, char *err, size_t errsz)
{
	_cleanup_free_ char *url = NULL;
	if (asprintf(&url, "%s/dists/%s/InRelease", s->mirrors[m], s->suite) < 0)
		FAIL(-ENOMEM, "out of memory");
	int q = verify_release_pass(r, s, h, url, false, remote, err, errsz);
	/* a newer one may be installed between the passes: a few more */
	for (int pass = 0; q == -ESTALE && pass < 3; pass++) {
		logf_(r, XS_LOG_WARN, "%s; the newer one is kept (as apt keeps it)", err);
		q = verify_release_pass(r, s, h, url, true, remote, err, errsz);
	}
	if (q == -ESTALE) {
		size_t l = strlen(err);
		snprintf(err + l, errsz - l, ": refused, a rollback");
		q = -EKEYREJECTED;
	}
	return q;
}

/* The InRelease of s from the first of its mirrors that gives one passing
 * every check (signature, dates, suite, no rollback).  Only that one is
 * trusted: every index and package is then checked against its hashes,
 * whichever mirror serves it (as apt does with a mirror list). */
static int verify_release(struct xs_archive *r, struct src *s, char *err, size_t errsz)
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
	if (!xs_strv_has(s->rel.architectures, r->arch->deb)) {
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
	struct xs_archive *r;
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
static int verify_all(struct xs_archive *r, char *err, size_t errsz)
{
	struct verify_job *jobs = xs_xcalloc(r->nsrcs, sizeof *jobs);
	for (size_t i = 0; i < r->nsrcs; i++) {
		jobs[i] = (struct verify_job){ .r = r, .s = &r->srcs[i], .q = -EAGAIN };
		if (pthread_create(&jobs[i].th, NULL, verify_thread, &jobs[i]) != 0)
			verify_thread(&jobs[i]), jobs[i].th = 0;
	}
	int q = 0, lacking = 0;
	size_t carry = 0;
	for (size_t i = 0; i < r->nsrcs; i++) {
		if (jobs[i].th)
			pthread_join(jobs[i].th, NULL);
		carry += jobs[i].q == 0;
		if (jobs[i].q == -ENXIO && lacking == 0) {
			lacking = -ENXIO;
			snprintf(err, errsz, "%s", jobs[i].err);
		}
		if (jobs[i].q < 0 && jobs[i].q != -ENXIO && q == 0) {
			q = jobs[i].q;
			snprintf(err, errsz, "%s", jobs[i].err);
		}
	}
	/* a source without the architecture is skipped, as apt skips it,
	 * unless no source has it */
	for (size_t i = 0; q == 0 && carry && i < r->nsrcs; i++) {
		if (jobs[i].q != -ENXIO)
			continue;
		r->srcs[i].pub.skipped = true;
		logf_(r, XS_LOG_WARN, "%s: skipped for %s", jobs[i].err, r->arch->deb);
	}
	if (q == 0 && !carry)
		q = lacking;
	free(jobs);
	return q;
}

/* ---- indexes and pool files ---------------------------------------------- */

int xs_archive_fetch_index(struct xs_archive *r, size_t i, const struct xs_release_file *f,
			   char *err, size_t errsz)
{
	return xs_archive_fetch_index_tee(r, i, f, NULL, NULL, err, errsz);
}

int xs_archive_fetch_index_tee(struct xs_archive *r, size_t i, const struct xs_release_file *f,
			       const struct xs_http_sink *tee, bool *teed, char *err, size_t errsz)
{
	struct src *s = &r->srcs[i];
	if (teed)
		*teed = false;
	if (xs_store_has_object(r->store, f->sha256)) {
		/* its last use, which cache gc goes by (cachemgr.h) */
		char path[XS_MAX_PATH];
		if (xs_store_object_path(r->store, f->sha256, path, sizeof path) == 0)
			utimensat(AT_FDCWD, path, NULL, 0);
		__atomic_add_fetch(&r->index_hits, 1, __ATOMIC_RELAXED);
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
	char label[XS_MAX_PATH + 64];
	snprintf(label, sizeof label, "%s %s", s->suite, f->path); /* the suite and the file */
	int q = fetch_mirrors(r, s, TO_STORE, rels + off, 2 - off, f->sha256, f->size, label, tee,
			      &bytes, served, sizeof served, err, errsz);
	if (teed)
		*teed = q == 0 && tee;
	__atomic_add_fetch(&r->index_bytes, bytes, __ATOMIC_RELAXED);
	if (q == 0 && s->nmirrors > 1)
		logf_(r, XS_LOG_INFO, "fetched %s from %s", f->path, served);
	return q;
}

const struct xs_release_file *xs_archive_find_index(const struct xs_archive *r, size_t i,
						    const char *stem)
{
	static const char *const ext[] = { ".xz", ".gz", ".zst", ".bz2", "" };
	for (size_t k = 0; k < XS_ARRAY_SIZE(ext); k++) {
		char p[512];
		snprintf(p, sizeof p, "%s%s", stem, ext[k]);
		const struct xs_release_file *f = xs_release_find(&r->srcs[i].rel, p);
		if (f)
			return f;
	}
	return NULL;
}

/* The pool file at path of source i, to the store, or (tee given) only
 * through the tee. */
static int fetch_pool(struct xs_archive *r, size_t i, const char *path, uint64_t size,
		      const char *sha256, const char *label, const struct xs_http_sink *tee,
		      struct xs_archive_fetched *got, char *err, size_t errsz)
{
	struct src *s = &r->srcs[i];
	struct xs_archive_fetched tmp;
	if (!got)
		got = &tmp;
	got->bytes = 0;
	snprintf(got->url, sizeof got->url, "%s/%s", s->uri, path);
	if (!tee && xs_store_has_object(r->store, sha256))
		return 0;
	if (r->offline)
		FAIL(-ENOENT, "'%s' is not in the cache %s (offline)", label, r->cache_dir);
	const char *rels[] = { path };
	return fetch_mirrors(r, s, tee ? TO_TEE : TO_STORE_DEFERRED, rels, 1, sha256, size, label,
			     tee, &got->bytes, got->url, sizeof got->url, err, errsz);
}

int xs_archive_fetch_pool(struct xs_archive *r, size_t i, const char *path, uint64_t size,
			  const char *sha256, const char *label, struct xs_archive_fetched *got,
			  char *err, size_t errsz)
{
	return fetch_pool(r, i, path, size, sha256, label, NULL, got, err, errsz);
}

int xs_archive_fetch_pool_tee(struct xs_archive *r, size_t i, const char *path, uint64_t size,
			      const char *sha256, const char *label,
			      const struct xs_http_sink *tee, struct xs_archive_fetched *got,
			      char *err, size_t errsz)
{
	return fetch_pool(r, i, path, size, sha256, label, tee, got, err, errsz);
}

/* ---- life ----------------------------------------------------------------- */

static void describe(struct xs_archive *a)
{
	struct xs_buf d;
	xs_buf_init(&d, 1 << 16);
	for (size_t i = 0; i < a->nsrcs; i++) {
		for (size_t m = 0; m < a->srcs[i].nmirrors; m++)
			xs_buf_printf(&d, "%s%s", m ? "|" : i ? ", " : "", a->srcs[i].mirrors[m]);
		xs_buf_printf(&d, " %s", a->srcs[i].suite);
	}
	a->describe = xs_buf_steal(&d, NULL);
}

int xs_archive_new(const struct xs_archive_config *cfg, struct xs_archive **out, char *err,
		   size_t errsz)
{
	*out = NULL;
	struct xs_archive *a = xs_xcalloc(1, sizeof *a);
	a->arch = cfg->arch;
	a->gpgv = xs_strdup(cfg->gpgv ? cfg->gpgv : XS_GPGV);
	a->proxy = cfg->proxy ? xs_strdup(cfg->proxy) : NULL;
	a->allow_expired = cfg->allow_expired;
	a->offline = cfg->offline;
	a->progress = cfg->progress;
	a->fetch_timeout_s = cfg->fetch_timeout_s > 0 ? cfg->fetch_timeout_s : 120;
	a->now = cfg->now ? cfg->now : (int64_t)time(NULL);
	a->log = cfg->log;
	a->log_ud = cfg->log_ud;
	int q = select_sources(a, cfg, err, errsz);
	if (q < 0) {
		xs_archive_free(a);
		return q;
	}
	for (size_t i = 0; i < a->nsrcs; i++) {
		struct src *s = &a->srcs[i];
		s->pub = (struct xs_archive_source){ s->uri, s->suite, s->components, s->mirrors,
						     s->nmirrors, &s->rel };
	}
	describe(a);
	*out = a;
	return 0;
}

/* The clients: for indexes (bounded by the stall detector) and pool files
 * (bounded by the fetch timeout as apt bounds them, see
 * xs_http_opts_inactivity), each with and without retries. */
static int start_http(struct xs_archive *a)
{
	struct xs_http_opts ho;
	xs_http_opts_default(&ho);
	ho.progress = a->progress;
	ho.proxy = a->proxy;
	ho.total_timeout_s = 0;
	int q = xs_http_new(&ho, &a->http_index);
	ho.retries = 0;
	if (q == 0)
		q = xs_http_new(&ho, &a->http_index_once);
	xs_http_opts_inactivity(&ho, a->fetch_timeout_s);
	if (q == 0)
		q = xs_http_new(&ho, &a->http_deb_once);
	struct xs_http_opts dflt;
	xs_http_opts_default(&dflt);
	ho.retries = dflt.retries;
	if (q == 0)
		q = xs_http_new(&ho, &a->http_deb);
	return q;
}

int xs_archive_open(struct xs_archive *a, struct xs_store *store, char *err, size_t errsz)
{
	a->store = store;
	a->cache_dir = xs_store_dir(store);
	int q = start_http(a);
	if (q < 0)
		FAIL(q, "cannot start the HTTP client: %s", strerror(-q));
	return verify_all(a, err, errsz);
}

void xs_archive_free(struct xs_archive *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nsrcs; i++) {
		struct src *s = &a->srcs[i];
		free(s->uri), free(s->suite), free(s->keyring), free(s->demoted_until);
		xs_strv_free(s->mirrors);
		xs_strv_free(s->components);
		xs_release_free(&s->rel);
	}
	free(a->srcs);
	xs_http_free(a->http_index);
	xs_http_free(a->http_deb);
	xs_http_free(a->http_index_once);
	xs_http_free(a->http_deb_once);
	free(a->gpgv);
	free(a->proxy);
	free(a->describe);
	free(a);
}

size_t xs_archive_nsources(const struct xs_archive *a)
{
	return a->nsrcs;
}

const struct xs_archive_source *xs_archive_source(const struct xs_archive *a, size_t i)
{
	return i < a->nsrcs ? &a->srcs[i].pub : NULL;
}

const char *xs_archive_describe(const struct xs_archive *a)
{
	return a->describe;
}

void xs_archive_stats(struct xs_archive *a, struct xs_archive_stats *st)
{
	st->index_bytes = __atomic_load_n(&a->index_bytes, __ATOMIC_RELAXED);
	st->index_hits = __atomic_load_n(&a->index_hits, __ATOMIC_RELAXED);
}
