/* test-archive.c - xs_archive against a real signed repository made here
 * (gpg in a temporary GNUPGHOME: a Release listing a Packages file,
 * clearsigned into InRelease) and served by the in-process HTTP server of
 * httpd.c on 127.0.0.1.  Each URL prefix is a mirror:
 *   /good/     serves every file as published;
 *   /corrupt/  serves the genuine InRelease but every other file with one
 *              byte changed (same size, another SHA-256);
 *   /race/     serves the forged and the genuine InRelease in turn.
 * A "dead" mirror is a port nobody listens on (connection refused).
 * Covered: a good mirror, failover from a dead and from a corrupt mirror
 * (nothing corrupt stored), a forged signature, a rollback, Valid-Until,
 * the "Hit" short-cut, offline, and the signature bypass of a shared
 * temporary file (two verifications at once on one cache, a slow gpgv). */
#include "gpghome.h"
#include "httpd.h"
#include "tap.h"
#include "testlib.h"
#include "xsysroot/archive.h"
#include "xsysroot/http.h"
#include "xsysroot/util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GPGV "/usr/bin/gpgv"
#define SUITE "test"
#define PKGS_PATH "main/binary-arm64/Packages"
#define POOL_PATH "pool/main/f/foo/foo_1.0_arm64.deb"
/* Release dates: "old" < "new" < NOW; "expired" is valid until before NOW */
#define DATE_OLD "Mon, 01 Jan 2024 00:00:00 UTC"
#define DATE_NEW "Sat, 01 Jun 2024 00:00:00 UTC"
#define UNTIL_PAST "Tue, 01 Oct 2024 00:00:00 UTC"
#define NOW 1730000000 /* Sun, 27 Oct 2024 */

enum { IR_GOOD, IR_OLD, IR_EXPIRED, IR_FORGED, IR_N };
static const char *const ir_names[IR_N] = { "InRelease.good", "InRelease.old",
					    "InRelease.expired", "InRelease.forged" };

/* What the server serves (set before the server starts, or under HTTPD.mu) */
static struct {
	struct xs_buf ir[IR_N];
	struct xs_buf pkgs, pool;
	char pkgs_sha[65], pool_sha[65];
	int serve_ir; /* the InRelease /good/ and /corrupt/ serve */
	int race_n;   /* InRelease requests on /race/ */
	int cond_304; /* 304s answered on /cond/ */
	bool force_304; /* /cond/ answers 304 whatever was asked */
} F;

/* ---- set-up ----------------------------------------------------------------- */

static int write_text(const char *name, const char *text, mode_t mode)
{
	return xs_write_file_atomic(tpath(name), text, strlen(text), mode);
}

static int load(const char *name, struct xs_buf *b)
{
	return xs_read_file(tpath(name), 1 << 20, b);
}

/* A Release listing the Packages file (its real digest, or another) */
static int write_release(const char *name, const char *date, const char *until,
			 const char *sha)
{
	char text[2048];
	snprintf(text, sizeof text,
		 "Origin: Test\nLabel: Test\nSuite: %s\nCodename: %s\nDate: %s\n%s%s%s"
		 "Architectures: arm64\nComponents: main\nSHA256:\n %s %zu %s\n",
		 SUITE, SUITE, date, until ? "Valid-Until: " : "", until ? until : "",
		 until ? "\n" : "", sha, F.pkgs.len, PKGS_PATH);
	return write_text(name, text, 0644);
}

static int make_repo(void)
{
	const char *pkgs = "Package: foo\nVersion: 1.0\nArchitecture: arm64\n"
			   "Filename: " POOL_PATH "\n\n";
	const char *pool = "not really a .deb, only bytes of a known digest\n";
	xs_buf_init(&F.pkgs, 1 << 20);
	xs_buf_init(&F.pool, 1 << 20);
	xs_buf_append(&F.pkgs, pkgs, strlen(pkgs));
	xs_buf_append(&F.pool, pool, strlen(pool));
	xs_sha256_buf(F.pkgs.data, F.pkgs.len, F.pkgs_sha);
	xs_sha256_buf(F.pool.data, F.pool.len, F.pool_sha);
	const char *other = "0000000000000000000000000000000000000000000000000000000000000000";
	if (tsh("gpg --batch --passphrase '' --quick-gen-key 'archive test <a@example.invalid>' "
	       "ed25519 sign never") < 0 ||
	    tsh("gpg --batch --passphrase '' --quick-gen-key 'forger <f@example.invalid>' "
	       "ed25519 sign never") < 0)
		return -1;
	if (tsh("gpg --export 'archive test' > k.gpg") < 0 ||
	    write_release("Release.good", DATE_NEW, NULL, F.pkgs_sha) < 0 ||
	    write_release("Release.old", DATE_OLD, NULL, F.pkgs_sha) < 0 ||
	    write_release("Release.expired", DATE_NEW, UNTIL_PAST, F.pkgs_sha) < 0 ||
	    write_release("Release.forged", DATE_NEW, NULL, other) < 0)
		return -1;
	static const char *const rel[IR_N] = { "Release.good", "Release.old", "Release.expired",
					       "Release.forged" };
	for (int i = 0; i < IR_N; i++) {
		const char *key = i == IR_FORGED ? "forger" : "archive test";
		if (tsh("gpg --batch --yes -u '%s' --digest-algo SHA256 --clearsign -o %s %s", key,
		       ir_names[i], rel[i]) < 0 ||
		    load(ir_names[i], &F.ir[i]) < 0)
			return -1;
	}
	return 0;
}

/* ---- the mirrors ------------------------------------------------------------ */

static void send_body(int fd, const struct xs_buf *b, bool corrupt)
{
	httpd_reply_head(fd, 200, "OK", NULL, (long long)b->len, false);
	if (!corrupt) {
		httpd_send_all(fd, b->data, b->len);
		return;
	}
	char *c = xs_xmalloc(b->len);
	memcpy(c, b->data, b->len);
	c[b->len / 2] ^= 0x20;
	httpd_send_all(fd, c, b->len);
	free(c);
}

/* InRelease v as a mirror serves it with validators ("irV" its ETag):
 * 304 to an If-None-Match naming it, or to anything when F.force_304. */
static void send_cond(int fd, int v)
{
	char tag[8], extra[160];
	snprintf(tag, sizeof tag, "\"ir%d\"", v);
	snprintf(extra, sizeof extra,
		 "Last-Modified: Sat, 01 Jun 2024 00:00:00 GMT\r\nETag: %s\r\n", tag);
	pthread_mutex_lock(&HTTPD.mu);
	bool same = F.force_304 || !strcmp(HTTPD.last_inm, tag);
	F.cond_304 += same;
	pthread_mutex_unlock(&HTTPD.mu);
	if (same) {
		httpd_reply_head(fd, 304, "Not Modified", extra, -1, false);
		return;
	}
	httpd_reply_head(fd, 200, "OK", extra, (long long)F.ir[v].len, false);
	httpd_send_all(fd, F.ir[v].data, F.ir[v].len);
}

static bool handle(int fd, const char *path, long long rf, long long rt)
{
	(void)rf, (void)rt;
	char mirror[16] = "";
	const char *rest = path + 1 + strcspn(path + 1, "/");
	snprintf(mirror, sizeof mirror, "%.*s", (int)(rest - path - 1), path + 1);
	bool corrupt = !strcmp(mirror, "corrupt");
	if (!strcmp(rest, "/dists/" SUITE "/InRelease")) {
		pthread_mutex_lock(&HTTPD.mu);
		int v = F.serve_ir;
		if (!strcmp(mirror, "race"))
			v = F.race_n++ % 2 ? IR_GOOD : IR_FORGED;
		pthread_mutex_unlock(&HTTPD.mu);
		if (!strcmp(mirror, "cond"))
			send_cond(fd, v);
		else
			send_body(fd, &F.ir[v], false);
	} else if (!strcmp(rest, "/dists/" SUITE "/" PKGS_PATH)) {
		send_body(fd, &F.pkgs, corrupt);
	} else if (!strcmp(rest, "/" POOL_PATH)) {
		send_body(fd, &F.pool, corrupt);
	} else {
		httpd_reply_text(fd, 404, "Not Found", NULL, "no such file\n");
	}
	return true;
}

static void serve_inrelease(int v)
{
	pthread_mutex_lock(&HTTPD.mu);
	F.serve_ir = v;
	pthread_mutex_unlock(&HTTPD.mu);
}

/* A port on 127.0.0.1 where nothing listens. */
static int dead_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	int port = -1;
	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

/* ---- opening an archive ------------------------------------------------------- */

struct run {
	struct xs_store *store;
	struct xs_archive *a;
	int q;
	char err[2048];
	pthread_mutex_t log_mu;
	struct xs_buf log;
};

static void log_cb(int level, const char *msg, void *ud)
{
	(void)level;
	struct run *r = ud;
	pthread_mutex_lock(&r->log_mu);
	xs_buf_printf(&r->log, "%s\n", msg);
	pthread_mutex_unlock(&r->log_mu);
}

struct opts {
	const char *mirrors; /* "good", "dead corrupt"... */
	const char *cache;   /* a directory name under T */
	const char *gpgv;    /* NULL: the real gpgv */
	bool offline, allow_expired;
	int64_t now;	     /* 0: NOW */
};

/* Open (new + open) an archive of the mirrors named in o->mirrors. */
static void run_open(struct run *r, const struct opts *o)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->log_mu, NULL);
	xs_buf_init(&r->log, 1 << 20);
	char mirrors[1024] = "", word[32];
	for (const char *p = o->mirrors; sscanf(p, "%31s", word) == 1;
	     p = strstr(p, word) + strlen(word)) {
		size_t l = strlen(mirrors);
		if (!strcmp(word, "dead"))
			snprintf(mirrors + l, sizeof mirrors - l, "%shttp://127.0.0.1:%d/dead",
				 l ? " " : "", dead_port());
		else
			snprintf(mirrors + l, sizeof mirrors - l, "%shttp://127.0.0.1:%d/%s",
				 l ? " " : "", HTTPD.port, word);
	}
	char kr[512];
	snprintf(kr, sizeof kr, "%s", tpath("k.gpg"));
	struct xs_archive_config cfg = {
		.arch = xs_arch_lookup("arm64"),
		.mirror = mirrors,
		.suite = SUITE,
		.keyring = kr,
		.gpgv = o->gpgv ? o->gpgv : GPGV,
		.proxy = "",
		.offline = o->offline,
		.allow_expired = o->allow_expired,
		.now = o->now ? o->now : NOW,
		.log = log_cb,
		.log_ud = r,
	};
	r->q = xs_store_open(tpath(o->cache), &r->store);
	if (r->q < 0) {
		snprintf(r->err, sizeof r->err, "cannot open the store: %s", strerror(-r->q));
		return;
	}
	r->q = xs_archive_new(&cfg, &r->a, r->err, sizeof r->err);
	if (r->q == 0)
		r->q = xs_archive_open(r->a, r->store, r->err, sizeof r->err);
	if (r->q < 0)
		printf("# %s via %s -> %d: %s\n", o->cache, o->mirrors, r->q, r->err);
}

static void run_close(struct run *r)
{
	xs_archive_free(r->a);
	if (r->store)
		xs_store_close(r->store);
	xs_buf_free(&r->log);
	pthread_mutex_destroy(&r->log_mu);
}

static bool logged(struct run *r, const char *what)
{
	return r->log.data && strstr(r->log.data, what);
}

/* Entries of CACHE/meta whose name starts with prefix. */
static int meta_count(const char *cache, const char *prefix)
{
	char d[600];
	snprintf(d, sizeof d, "%s/meta", tpath(cache));
	DIR *dir = opendir(d);
	int n = 0;
	for (struct dirent *e; dir && (e = readdir(dir));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		     !strncmp(e->d_name, prefix, strlen(prefix));
	if (dir)
		closedir(dir);
	return n;
}

/* Whether CACHE/meta has a file named prefix... (no suffix) of exactly n
 * bytes p. */
static bool meta_has(const char *cache, const char *prefix, const void *p, size_t n)
{
	char d[600];
	snprintf(d, sizeof d, "%s/meta", tpath(cache));
	DIR *dir = opendir(d);
	bool found = false;
	for (struct dirent *e; dir && !found && (e = readdir(dir));) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) ||
		    strchr(e->d_name + strlen(prefix), '.'))
			continue;
		char f[900];
		snprintf(f, sizeof f, "%s/%s", d, e->d_name);
		FILE *fp = fopen(f, "rb");
		char *buf = malloc(n + 1);
		size_t got = fp && buf ? fread(buf, 1, n + 1, fp) : 0;
		found = got == n && !memcmp(buf, p, n);
		free(buf);
		if (fp)
			fclose(fp);
	}
	if (dir)
		closedir(dir);
	return found;
}

/* Whether the store holds the object of that digest with exactly b's bytes. */
static bool stored(struct xs_store *s, const char *sha, const struct xs_buf *b)
{
	int fd = xs_store_open_object(s, sha);
	if (fd < 0)
		return false;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	return n == (ssize_t)b->len && !memcmp(buf, b->data, b->len);
}

static int fetch_pkgs(struct run *r)
{
	const struct xs_release_file *f = xs_archive_find_index(r->a, 0, PKGS_PATH);
	if (!f)
		return -ENOENT;
	r->err[0] = 0;
	return xs_archive_fetch_index(r->a, 0, f, r->err, sizeof r->err);
}

/* The index through a tee collecting what it sees into b. */
static int fetch_pkgs_tee(struct run *r, struct xs_buf *b, bool *teed)
{
	const struct xs_release_file *f = xs_archive_find_index(r->a, 0, PKGS_PATH);
	if (!f)
		return -ENOENT;
	r->err[0] = 0;
	xs_buf_init(b, 1 << 20);
	const struct xs_http_sink tee = xs_http_sink_buf(b);
	return xs_archive_fetch_index_tee(r->a, 0, f, &tee, teed, r->err, sizeof r->err);
}

static int fetch_pool(struct run *r, struct xs_archive_fetched *got)
{
	r->err[0] = 0;
	return xs_archive_fetch_pool(r->a, 0, POOL_PATH, F.pool.len, F.pool_sha, "foo 1.0 arm64",
				     got, r->err, sizeof r->err);
}

/* The pool file through a tee collecting what it sees into b, not stored. */
static int fetch_pool_tee(struct run *r, struct xs_buf *b, struct xs_archive_fetched *got)
{
	r->err[0] = 0;
	xs_buf_init(b, 1 << 20);
	const struct xs_http_sink tee = xs_http_sink_buf(b);
	return xs_archive_fetch_pool_tee(r->a, 0, POOL_PATH, F.pool.len, F.pool_sha,
					 "foo 1.0 arm64", &tee, got, r->err, sizeof r->err);
}

/* ---- the tests -------------------------------------------------------------- */

static void test_good(void)
{
	struct run r;
	serve_inrelease(IR_GOOD);
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-good" });
	CHECK_INT(r.q, 0, "a good mirror: the InRelease is verified");
	if (r.q < 0) {
		run_close(&r);
		return;
	}
	CHECK_INT(xs_archive_nsources(r.a), 1, "one source");
	const struct xs_archive_source *s = xs_archive_source(r.a, 0);
	CHECK(s && !strcmp(s->suite, SUITE) && s->nmirrors == 1 && s->rel->date > 0 &&
	      s->rel->n_files == 1, "the source and its Release");
	CHECK(strstr(xs_archive_describe(r.a), "/good " SUITE) != NULL, "describe: %s",
	      xs_archive_describe(r.a));
	CHECK(xs_archive_find_index(r.a, 0, "main/binary-amd64/Packages") == NULL,
	      "no index for a stem the Release does not list");
	CHECK_INT(fetch_pkgs(&r), 0, "the Packages index is fetched");
	CHECK(stored(r.store, F.pkgs_sha, &F.pkgs), "and stored, byte-exact");
	struct xs_archive_fetched got;
	CHECK_INT(fetch_pool(&r, &got), 0, "a pool file is fetched");
	CHECK(stored(r.store, F.pool_sha, &F.pool) && got.bytes == F.pool.len &&
	      strstr(got.url, "/good/" POOL_PATH), "stored, from %s", got.url);
	CHECK_INT(fetch_pool(&r, &got), 0, "again: from the store");
	CHECK_INT(got.bytes, 0, "without a download");
	struct xs_archive_stats st;
	xs_archive_stats(r.a, &st);
	CHECK(st.index_bytes == F.ir[IR_GOOD].len + F.pkgs.len, "index bytes counted (%llu)",
	      (unsigned long long)st.index_bytes);
	CHECK_INT(fetch_pkgs(&r), 0, "the index again");
	xs_archive_stats(r.a, &st);
	CHECK_INT(st.index_hits, 1, "is a hit");
	CHECK_INT(meta_count("c-good", "inrelease-") , 4,
		  "the InRelease, its .date, .verified and .lock are in meta/");
	CHECK_INT(meta_count("c-good", "."), 0, "no temporary file is left in meta/");
	run_close(&r);

	/* the same bytes again need no gpgv: one that refuses all is not run */
	CHECK(write_text("gpgv-refuses", "#!/bin/sh\nexit 2\n", 0755) == 0, "a refusing gpgv");
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-good",
				     .gpgv = tpath("gpgv-refuses") });
	CHECK_INT(r.q, 0, "the Hit: verified bytes are not checked twice");
	run_close(&r);
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-good-2",
				     .gpgv = tpath("gpgv-refuses") });
	CHECK(r.q < 0 && strstr(r.err, "signature refused"), "a new cache runs gpgv");
	run_close(&r);

	/* offline: the last verified InRelease, the cached index, no network */
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-good", .offline = true });
	CHECK_INT(r.q, 0, "offline: the last verified InRelease of the cache");
	if (r.q == 0) {
		CHECK_INT(fetch_pkgs(&r), 0, "offline: the cached index");
		CHECK_INT(fetch_pool(&r, NULL), 0, "offline: the cached pool file");
	}
	run_close(&r);
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-none", .offline = true });
	CHECK(r.q == -ENOENT && strstr(r.err, "no cached index for " SUITE " arm64") &&
	      strstr(r.err, "--offline uses the cache only"), "offline without a cache: %s", r.err);
	run_close(&r);
}

static void test_failover(void)
{
	struct run r;
	serve_inrelease(IR_GOOD);
	run_open(&r, &(struct opts){ .mirrors = "dead good", .cache = "c-dead" });
	CHECK_INT(r.q, 0, "mirror 1 refuses connections: the InRelease from mirror 2");
	if (r.q == 0) {
		CHECK(logged(&r, "failed for the InRelease of " SUITE) &&
		      logged(&r, "/good"), "the failover is logged");
		CHECK_INT(fetch_pkgs(&r), 0, "the index from mirror 2");
		struct xs_archive_fetched got;
		CHECK(fetch_pool(&r, &got) == 0 && strstr(got.url, "/good/"),
		      "the pool file from mirror 2 (%s)", got.url);
		CHECK(stored(r.store, F.pool_sha, &F.pool), "stored");
	}
	run_close(&r);

	run_open(&r, &(struct opts){ .mirrors = "corrupt good", .cache = "c-corrupt" });
	CHECK_INT(r.q, 0, "mirror 1 serves corrupt files but the genuine InRelease");
	if (r.q == 0) {
		CHECK_INT(fetch_pkgs(&r), 0, "the index: mirror 1 corrupt, mirror 2 good");
		CHECK(logged(&r, "SHA256 mismatch") && logged(&r, "/corrupt/dists/") &&
		      logged(&r, "trying mirror"), "the mismatch is logged with the mirror");
		CHECK(stored(r.store, F.pkgs_sha, &F.pkgs), "the good index is stored");
		struct xs_buf b;
		bool teed = true;
		CHECK_INT(fetch_pkgs_tee(&r, &b, &teed), 0, "through a tee: a hit");
		CHECK(!teed && b.len == 0, "a hit goes to the store, not to the tee");
		xs_buf_free(&b);
		struct xs_archive_fetched got;
		CHECK(fetch_pool(&r, &got) == 0 && strstr(got.url, "/good/") &&
		      got.bytes == 2 * F.pool.len, "the pool file from mirror 2 (%s)", got.url);
		CHECK(stored(r.store, F.pool_sha, &F.pool), "the good pool file is stored");
		CHECK_INT(meta_count("c-corrupt", "."), 0, "no temporary file is left");
	}
	char objs[800], line[1024];
	/* (the corrupt bytes are kept aside in quarantine/, never served) */
	snprintf(objs, sizeof objs, "find '%s/objects' -type f | xargs -r sha256sum | "
		 "grep -v -e '^%s ' -e '^%s '", tpath("c-corrupt"), F.pkgs_sha, F.pool_sha);
	FILE *p = popen(objs, "r");
	int others = 0;
	while (p && fgets(line, sizeof line, p))
		others++, printf("# %s", line);
	CHECK(p && pclose(p) != -1 && others == 0, "nothing but the good objects is in the store");
	run_close(&r);

	/* the tee sees what the mirrors send, restarted for each: the good
	 * bytes once mirror 2 served them, and teed says so */
	run_open(&r, &(struct opts){ .mirrors = "corrupt good", .cache = "c-corrupt-tee" });
	if (r.q == 0) {
		struct xs_buf b;
		bool teed = false;
		CHECK_INT(fetch_pkgs_tee(&r, &b, &teed), 0, "tee: mirror 1 corrupt, mirror 2 good");
		CHECK(teed && b.len == F.pkgs.len && !memcmp(b.data, F.pkgs.data, b.len),
		      "the tee saw the good bytes alone, and teed is set");
		xs_buf_free(&b);
	}
	run_close(&r);
	run_open(&r, &(struct opts){ .mirrors = "corrupt", .cache = "c-corrupt-tee-only" });
	if (r.q == 0) {
		struct xs_buf b;
		bool teed = true;
		CHECK_INT(fetch_pkgs_tee(&r, &b, &teed), -EBADMSG, "tee: one corrupt mirror refused");
		CHECK(!teed, "teed is not set: what the tee saw is not the Release's");
		xs_buf_free(&b);
	}
	run_close(&r);

	/* a pool file through a tee alone (a .deb streamed into the
	 * unpacker): the good bytes, restarted for mirror 2; never stored */
	run_open(&r, &(struct opts){ .mirrors = "corrupt good", .cache = "c-pool-tee" });
	if (r.q == 0) {
		struct xs_buf b;
		struct xs_archive_fetched got;
		CHECK_INT(fetch_pool_tee(&r, &b, &got), 0, "pool tee: mirror 1 corrupt, mirror 2 good");
		CHECK(b.len == F.pool.len && !memcmp(b.data, F.pool.data, b.len) &&
		      got.bytes == 2 * F.pool.len && strstr(got.url, "/good/" POOL_PATH),
		      "the tee saw the good bytes alone, from %s", got.url);
		CHECK(logged(&r, "SHA256 mismatch") && logged(&r, "/corrupt/" POOL_PATH),
		      "the mismatch is logged with the mirror");
		CHECK(!xs_store_has_object(r.store, F.pool_sha), "the pool file is not stored");
		xs_buf_free(&b);
	}
	run_close(&r);
	CHECK_INT(tl_count_entries(tpath("c-pool-tee/quarantine")) > 0, 0,
		  "nothing in quarantine/: the corrupt bytes were never written");
	run_open(&r, &(struct opts){ .mirrors = "corrupt", .cache = "c-pool-tee-only" });
	if (r.q == 0) {
		struct xs_buf b;
		CHECK(fetch_pool_tee(&r, &b, NULL) == -EBADMSG && strstr(r.err, "SHA256 mismatch") &&
		      strstr(r.err, "foo 1.0 arm64") && strstr(r.err, "/corrupt/" POOL_PATH),
		      "pool tee: one corrupt mirror refused (%s)", r.err);
		xs_buf_free(&b);
	}
	run_close(&r);

	run_open(&r, &(struct opts){ .mirrors = "corrupt", .cache = "c-corrupt-only" });
	if (r.q == 0) {
		CHECK(fetch_pkgs(&r) == -EBADMSG && strstr(r.err, "SHA256 mismatch"),
		      "one corrupt mirror alone: refused (%s)", r.err);
		CHECK(!xs_store_has_object(r.store, F.pkgs_sha), "and nothing is stored");
	}
	run_close(&r);
}

static void test_refusals(void)
{
	struct run r;
	serve_inrelease(IR_FORGED);
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-forged" });
	CHECK(r.q == -EKEYREJECTED && strstr(r.err, "/good/dists/" SUITE "/InRelease: signature "
						      "refused"), "a forged signature is refused");
	run_close(&r);
	CHECK_INT(meta_count("c-forged", "inrelease-"), 0, "nothing is installed");
	CHECK_INT(meta_count("c-forged", "."), 0, "no temporary file is left");

	serve_inrelease(IR_GOOD);
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-roll" });
	CHECK_INT(r.q, 0, "the Release of June");
	run_close(&r);
	serve_inrelease(IR_OLD);
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-roll" });
	char june[65];
	xs_sha256_buf(F.ir[IR_GOOD].data, F.ir[IR_GOOD].len, june);
	CHECK(r.q == 0 && !strcmp(xs_archive_source(r.a, 0)->inrelease_sha256, june),
	      "then the one of January (a mirror behind): June's is kept, as apt keeps it (%d %s)",
	      r.q, r.err);
	CHECK(logged(&r, "is older than the Release verified before") &&
	      logged(&r, "the newer one is kept"), "and a warning says so");
	run_close(&r);
	CHECK(meta_has("c-roll", "inrelease-", F.ir[IR_GOOD].data, F.ir[IR_GOOD].len),
	      "June's InRelease stays installed");
	/* the kept one is checked again: June's with a Valid-Until now past */
	serve_inrelease(IR_EXPIRED);
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-roll-exp",
				     .now = NOW - 100 * 86400 });
	CHECK_INT(r.q, 0, "an InRelease of June valid until October, in July");
	run_close(&r);
	serve_inrelease(IR_OLD);
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-roll-exp" });
	CHECK(r.q == -EKEYEXPIRED && strstr(r.err, "the mirror served an older InRelease"),
	      "then January's in late October: the kept one has expired, refused (%s)", r.err);
	run_close(&r);
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-roll-2" });
	CHECK_INT(r.q, 0, "the one of January on a new cache is fine");
	run_close(&r);

	serve_inrelease(IR_EXPIRED);
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-exp" });
	CHECK(r.q == -EKEYEXPIRED && strstr(r.err, "(--allow-expired overrides this)"),
	      "Valid-Until past: refused");
	run_close(&r);
	run_open(&r, &(struct opts){ .mirrors = "good", .cache = "c-exp", .allow_expired = true });
	CHECK_INT(r.q, 0, "unless allow-expired");
	run_close(&r);
	serve_inrelease(IR_GOOD);
}

struct racer {
	struct run r;
	struct opts o;
	pthread_t th;
};

static void *race_main(void *ud)
{
	struct racer *x = ud;
	run_open(&x->r, &x->o);
	return NULL;
}

/* Two verifications at once on one cache, one given the forged InRelease
 * and one the genuine, with a gpgv slow enough that both have written their
 * bytes before either is checked: the forged one is refused every time
 * (with one shared temporary file, gpgv would check the genuine bytes for
 * both and the forged Release be trusted). */
static void test_race(void)
{
	CHECK(write_text("gpgv-slow", "#!/bin/sh\nsleep 0.4\nexec " GPGV " \"$@\"\n", 0755) == 0,
	      "a slow gpgv");
	int trusted_forged = 0, refused = 0, genuine = 0;
	for (int round = 0; round < 3; round++) {
		char cache[32];
		snprintf(cache, sizeof cache, "c-race-%d", round);
		struct racer x[2];
		for (int i = 0; i < 2; i++) {
			x[i].o = (struct opts){ .mirrors = "race", .cache = cache, .gpgv = tpath("gpgv-slow") };
			pthread_create(&x[i].th, NULL, race_main, &x[i]);
		}
		for (int i = 0; i < 2; i++) {
			pthread_join(x[i].th, NULL);
			struct run *r = &x[i].r;
			if (r->q == 0) {
				const struct xs_release_file *f = xs_archive_find_index(r->a, 0, PKGS_PATH);
				if (f && !strcmp(f->sha256, F.pkgs_sha))
					genuine++;
				else
					trusted_forged++;
			} else if (r->q == -EKEYREJECTED && strstr(r->err, "signature refused")) {
				refused++;
			}
			run_close(r);
		}
	}
	CHECK_INT(trusted_forged, 0, "a forged InRelease is never trusted");
	CHECK_INT(refused, 3, "it is refused in every round");
	CHECK_INT(genuine, 3, "and the genuine one accepted");
}

static int cond_304s(void)
{
	pthread_mutex_lock(&HTTPD.mu);
	int n = F.cond_304;
	pthread_mutex_unlock(&HTTPD.mu);
	return n;
}

/* Flip a byte of the signed text of CACHE's one cached InRelease. */
static int corrupt_cached(const char *cache)
{
	char d[600], p[900];
	snprintf(d, sizeof d, "%s/meta", tpath(cache));
	DIR *dir = opendir(d);
	int q = -ENOENT;
	for (struct dirent *e; dir && (e = readdir(dir));) {
		if (strncmp(e->d_name, "inrelease-", 10) || strchr(e->d_name, '.'))
			continue;
		struct xs_buf b;
		snprintf(p, sizeof p, "%s/%s", d, e->d_name);
		q = xs_read_file(p, 1 << 20, &b);
		char *at = q == 0 ? memmem(b.data, b.len, "Label: Test", 11) : NULL;
		if (at)
			at[7] ^= 0x20;
		q = at ? xs_write_file_atomic(p, b.data, b.len, 0644) : -EINVAL;
		xs_buf_free(&b);
	}
	if (dir)
		closedir(dir);
	return q;
}

/* The conditional GET of the InRelease: the validators are kept, a 304
 * reuses the copy verified before and still checks its dates, a corrupt
 * copy is not asked about, and a 304 nobody asked for is refused. */
static void test_conditional(void)
{
	struct run r;
	struct xs_archive_stats st;
	serve_inrelease(IR_EXPIRED); /* valid until 2024-10-01 */
	run_open(&r, &(struct opts){ .mirrors = "cond", .cache = "c-cond", .now = 1725000000 });
	CHECK(r.q == 0 && cond_304s() == 0, "cond: a first open gets the InRelease whole");
	CHECK_INT(meta_count("c-cond", "inrelease-"), 5, "... and keeps its validators beside it");
	run_close(&r);
	run_open(&r, &(struct opts){ .mirrors = "cond", .cache = "c-cond", .now = 1725000000 });
	xs_archive_stats(r.a, &st);
	CHECK(r.q == 0 && cond_304s() == 1 && st.index_bytes == 0,
	      "a second open: 304, the copy verified before, no bytes (%llu)",
	      (unsigned long long)st.index_bytes);
	run_close(&r);
	run_open(&r, &(struct opts){ .mirrors = "cond", .cache = "c-cond" });
	CHECK(r.q == -EKEYEXPIRED && cond_304s() == 2 && strstr(r.err, "Valid-Until") &&
	      strstr(r.err, "304 Not Modified") && strstr(r.err, "/cond/dists/"),
	      "a 304 when the cached copy has expired is refused: %s", r.err);
	run_close(&r);

	serve_inrelease(IR_GOOD);
	run_open(&r, &(struct opts){ .mirrors = "cond", .cache = "c-cond" });
	CHECK(r.q == 0 && cond_304s() == 2, "another InRelease on the mirror: 200, verified");
	run_close(&r);
	CHECK_INT(corrupt_cached("c-cond"), 0, "the cached InRelease is corrupted");
	pthread_mutex_lock(&HTTPD.mu);
	F.force_304 = true;
	pthread_mutex_unlock(&HTTPD.mu);
	run_open(&r, &(struct opts){ .mirrors = "cond", .cache = "c-cond" });
	pthread_mutex_lock(&HTTPD.mu);
	bool asked = HTTPD.last_inm[0] || HTTPD.last_ims[0];
	F.force_304 = false;
	pthread_mutex_unlock(&HTTPD.mu);
	CHECK(r.q < 0 && !asked && cond_304s() == 3 && strstr(r.err, "no verified copy") &&
	      strstr(r.err, "/cond/dists/"),
	      "a corrupt copy is not asked about, and a 304 then is refused: %s", r.err);
	run_close(&r);
	run_open(&r, &(struct opts){ .mirrors = "cond", .cache = "c-cond" });
	CHECK(r.q == 0 && cond_304s() == 3, "a 200 replaces the corrupt copy (gpgv checks it)");
	run_close(&r);
	run_open(&r, &(struct opts){ .mirrors = "cond", .cache = "c-cond" });
	CHECK(r.q == 0 && cond_304s() == 4, "and is asked about next time (304)");
	run_close(&r);
}

int main(void)
{
	if (gpghome_init() < 0) {
		printf("Bail out! cannot make a GNUPGHOME\n");
		return 1;
	}
	if (access(GPGV, X_OK) != 0 || system("command -v gpg >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP gpg or gpgv not installed\n");
		return 0;
	}
	if (make_repo() < 0) {
		printf("Bail out! cannot make the signed repository\n");
		return 1;
	}
	if (httpd_start(handle) < 0) {
		printf("Bail out! cannot start the test server\n");
		return 1;
	}
	test_good();
	test_failover();
	test_refusals();
	test_race();
	test_conditional();
	httpd_stop();
	for (int i = 0; i < IR_N; i++)
		xs_buf_free(&F.ir[i]);
	xs_buf_free(&F.pkgs);
	xs_buf_free(&F.pool);
	return tap_done();
}
