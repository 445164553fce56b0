/* test-http.c - xs_http_get against the small HTTP/1.1 server of httpd.c,
 * running in this process on 127.0.0.1.  Its handler here can misbehave on
 * request: error statuses, Retry-After, cut
 * connections (RST or FIN), ignored or lying Range replies, stalls,
 * redirects and redirect loops.  No network beyond loopback. */
#include "httpd.h"
#include "tap.h"
#include "xsysroot/http.h"
#include "xsysroot/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the server ---------------------------------------------------------- */

#define MAX_IDS 64

/* requests counted per id (for /flaky and /cut), under HTTPD.mu */
static struct {
	struct {
		char id[32];
		int count;
		long long range_from[8]; /* -1: no Range in that request */
	} ids[MAX_IDS];
	int nids;
} S;

static unsigned char pat(uint64_t i)
{
	return (unsigned char)((i * 131u + (i >> 9) * 7u + 17u) & 0xffu);
}

static int send_pattern(int fd, uint64_t from, uint64_t n)
{
	unsigned char buf[8192];
	while (n) {
		size_t k = n < sizeof buf ? (size_t)n : sizeof buf;
		for (size_t i = 0; i < k; i++)
			buf[i] = pat(from + i);
		if (httpd_send_all(fd, buf, k) < 0)
			return -1;
		from += k;
		n -= k;
	}
	return 0;
}

/* value of key in the query ("&key=value"), or def */
static long long qnum(const char *path, const char *key, long long def)
{
	const char *q = strchr(path, '?');
	size_t kl = strlen(key);
	while (q) {
		q++;
		if (strncmp(q, key, kl) == 0 && q[kl] == '=')
			return atoll(q + kl + 1);
		q = strchr(q, '&');
	}
	return def;
}

static void qstr(const char *path, const char *key, char *out, size_t outsz)
{
	const char *q = strchr(path, '?');
	size_t kl = strlen(key);
	out[0] = 0;
	while (q) {
		q++;
		if (strncmp(q, key, kl) == 0 && q[kl] == '=') {
			size_t n = strcspn(q + kl + 1, "&");
			snprintf(out, outsz, "%.*s", (int)n, q + kl + 1);
			return;
		}
		q = strchr(q, '&');
	}
}

/* Count a request for id; returns its 1-based number. */
static int note_id(const char *id, long long range_from)
{
	pthread_mutex_lock(&HTTPD.mu);
	int i;
	for (i = 0; i < S.nids; i++)
		if (!strcmp(S.ids[i].id, id))
			break;
	if (i == S.nids && S.nids < MAX_IDS)
		snprintf(S.ids[S.nids++].id, sizeof S.ids[0].id, "%s", id);
	int n = 0;
	if (i < MAX_IDS) {
		n = ++S.ids[i].count;
		if (n <= 8)
			S.ids[i].range_from[n - 1] = range_from;
	}
	pthread_mutex_unlock(&HTTPD.mu);
	return n;
}

static long long id_range(const char *id, int req)
{
	long long v = -2;
	pthread_mutex_lock(&HTTPD.mu);
	for (int i = 0; i < S.nids; i++)
		if (!strcmp(S.ids[i].id, id) && req >= 1 && req <= S.ids[i].count && req <= 8)
			v = S.ids[i].range_from[req - 1];
	pthread_mutex_unlock(&HTTPD.mu);
	return v;
}

static int id_count(const char *id)
{
	int n = 0;
	pthread_mutex_lock(&HTTPD.mu);
	for (int i = 0; i < S.nids; i++)
		if (!strcmp(S.ids[i].id, id))
			n = S.ids[i].count;
	pthread_mutex_unlock(&HTTPD.mu);
	return n;
}

/* Serve a body of size bytes, honouring "bytes=N-" / "bytes=N-M". */
static void serve_data(int fd, uint64_t size, long long range_from, long long range_to)
{
	if (range_from < 0) {
		httpd_reply_head(fd, 200, "OK", NULL, (long long)size, false);
		send_pattern(fd, 0, size);
		return;
	}
	if ((uint64_t)range_from >= size) {
		char e[64];
		snprintf(e, sizeof e, "Content-Range: bytes */%llu\r\n", (unsigned long long)size);
		httpd_reply_head(fd, 416, "Range Not Satisfiable", e, 0, false);
		return;
	}
	uint64_t end = range_to >= 0 && (uint64_t)range_to < size ? (uint64_t)range_to : size - 1;
	char e[128];
	snprintf(e, sizeof e, "Content-Range: bytes %lld-%llu/%llu\r\n", range_from,
		 (unsigned long long)end, (unsigned long long)size);
	httpd_reply_head(fd, 206, "Partial Content", e, (long long)(end - (uint64_t)range_from + 1), false);
	send_pattern(fd, (uint64_t)range_from, end - (uint64_t)range_from + 1);
}

static void cut(int fd, bool rst)
{
	/* Give the client time to read what was sent before the reset. */
	usleep(100000);
	if (rst) {
		struct linger l = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	} else {
		shutdown(fd, SHUT_WR);
	}
}

/* Handle one request; false closes the connection. */
static bool handle(int fd, const char *path, long long rf, long long rt)
{
	char id[32], how[16], then[16];
	uint64_t size = (uint64_t)qnum(path, "size", 1000);

	if (!strncmp(path, "/data/", 6)) {
		serve_data(fd, strtoull(path + 6, NULL, 10), rf, rt);
		return true;
	}
	if (!strncmp(path, "/status/", 8)) {
		int code = atoi(path + 8);
		const char *reason = code == 404 ? "Not Found" : code == 410 ? "Gone"
				   : code == 403 ? "Forbidden" : code == 500 ? "Internal Server Error"
				   : "Whatever";
		httpd_reply_text(fd, code, reason, NULL, code == 403 ? "denied by policy\n" : "nothing here\n");
		return true;
	}
	if (!strncmp(path, "/flaky?", 7)) {
		qstr(path, "id", id, sizeof id);
		int n = note_id(id, rf);
		if (n <= qnum(path, "fail", 1)) {
			int code = (int)qnum(path, "code", 503);
			char extra[128] = "";
			long long ra = qnum(path, "ra", -1), rd = qnum(path, "radate", -1);
			if (ra >= 0)
				snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", ra);
			if (rd >= 0) {
				time_t t = time(NULL) + rd;
				struct tm tm;
				gmtime_r(&t, &tm);
				strftime(extra, sizeof extra, "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
			}
			httpd_reply_text(fd, code, code == 429 ? "Too Many Requests" : code == 500
				   ? "Internal Server Error" : "Service Unavailable", extra, "try later\n");
			return true;
		}
		serve_data(fd, size, rf, rt);
		return true;
	}
	if (!strncmp(path, "/cut?", 5)) {
		qstr(path, "id", id, sizeof id);
		qstr(path, "how", how, sizeof how);
		qstr(path, "then", then, sizeof then);
		uint64_t after = (uint64_t)qnum(path, "after", 100);
		int n = note_id(id, rf);
		bool rst = strcmp(how, "fin") != 0;
		if (n == 1 || !strcmp(then, "always")) {
			uint64_t from = rf > 0 ? (uint64_t)rf : 0;
			if (rf > 0) {
				char e[128];
				snprintf(e, sizeof e, "Content-Range: bytes %llu-%llu/%llu\r\n",
					 (unsigned long long)from, (unsigned long long)size - 1,
					 (unsigned long long)size);
				httpd_reply_head(fd, 206, "Partial Content", e, (long long)(size - from), true);
			} else {
				httpd_reply_head(fd, 200, "OK", NULL, (long long)size, true);
			}
			send_pattern(fd, from, after);
			cut(fd, rst);
			return false;
		}
		if (rf < 0 || !strcmp(then, "honor")) {
			serve_data(fd, size, rf, rt);
			return true;
		}
		if (!strcmp(then, "ignore")) {
			serve_data(fd, size, -1, -1);
			return true;
		}
		if (!strcmp(then, "416")) {
			httpd_reply_head(fd, 416, "Range Not Satisfiable", NULL, 0, false);
			return true;
		}
		char e[160];
		uint64_t from = (uint64_t)rf, last = size - 1, total = size;
		if (!strcmp(then, "liestart"))
			from = from - 1; /* one byte earlier than asked */
		else if (!strcmp(then, "lietotal"))
			last = size + 9, total = size + 10; /* consistent but a different length */
		else if (!strcmp(then, "short"))
			last = size - 2; /* stops one byte before the end */
		snprintf(e, sizeof e, "Content-Range: bytes %llu-%llu/%llu\r\n",
			 (unsigned long long)from, (unsigned long long)last, (unsigned long long)total);
		httpd_reply_head(fd, 206, "Partial Content", e, (long long)(last - from + 1), false);
		send_pattern(fd, from, last - from + 1);
		return true;
	}
	if (!strncmp(path, "/stall?", 7)) {
		httpd_reply_head(fd, 200, "OK", NULL, (long long)size, true);
		send_pattern(fd, 0, (uint64_t)qnum(path, "after", 10));
		httpd_stopping((int)qnum(path, "sleep", 10000));
		return false;
	}
	if (!strncmp(path, "/drip?", 6)) { /* slow but steady: chunk bytes every ms */
		uint64_t chunk = (uint64_t)qnum(path, "chunk", 100), sent = 0;
		int every = (int)qnum(path, "every", 100);
		httpd_reply_head(fd, 200, "OK", NULL, (long long)size, true);
		while (sent < size && !httpd_stopping(sent ? every : 0)) {
			uint64_t k = size - sent < chunk ? size - sent : chunk;
			if (send_pattern(fd, sent, k) < 0)
				break;
			sent += k;
		}
		return false;
	}
	if (!strncmp(path, "/nocl?", 6)) {
		httpd_reply_head(fd, 200, "OK", NULL, -1, true);
		send_pattern(fd, 0, size);
		return false;
	}
	if (!strncmp(path, "/redirect?to=", 13)) {
		char e[600];
		snprintf(e, sizeof e, "Location: %s\r\n", path + 13);
		httpd_reply_text(fd, 302, "Found", e, "moved\n");
		return true;
	}
	if (!strcmp(path, "/registry")) {
		httpd_reply_text(fd, 200, "OK", "Content-Type: application/vnd.oci.image.index.v1+json\r\n"
			   "Docker-Content-Digest: sha256:abc\r\n", "{}");
		return true;
	}
	if (!strcmp(path, "/challenge")) {
		httpd_reply_text(fd, 401, "Unauthorized", "WWW-Authenticate: Bearer realm=\"http://x/t\","
			   "service=\"s\"\r\n", "{\"errors\":[]}");
		return true;
	}
	if (!strcmp(path, "/cond") || !strcmp(path, "/cond304")) {
		/* a mirror's answer to a conditional GET: If-None-Match decides
		 * when sent; /cond304 answers 304 whatever was asked */
		pthread_mutex_lock(&HTTPD.mu);
		bool same = HTTPD.last_inm[0] ? !strcmp(HTTPD.last_inm, "\"v1\"")
					      : HTTPD.last_ims[0] != 0;
		pthread_mutex_unlock(&HTTPD.mu);
		const char *v = "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nETag: \"v1\"\r\n";
		if (same || path[5]) {
			httpd_reply_head(fd, 304, "Not Modified", v, -1, false);
			return true;
		}
		httpd_reply_head(fd, 200, "OK", v, (long long)size, false);
		send_pattern(fd, 0, size);
		return true;
	}
	if (!strcmp(path, "/loop")) {
		httpd_reply_text(fd, 302, "Found", "Location: /loop\r\n", "again\n");
		return true;
	}
	if (!strcmp(path, "/partial-unasked")) {
		httpd_reply_head(fd, 206, "Partial Content", "Content-Range: bytes 0-9/10\r\n", 10, false);
		send_pattern(fd, 0, 10);
		return true;
	}
	httpd_reply_text(fd, 404, "Not Found", NULL, "no route\n");
	return true;
}

/* ---- the client side ----------------------------------------------------- */

struct mem {
	struct xs_buf b;
	int resets;
	int writes;
	int fail_err; /* write fails with this once something was written */
};

static int mem_write(const void *p, size_t n, void *ud)
{
	struct mem *m = ud;
	if (m->fail_err && m->writes > 0)
		return m->fail_err;
	m->writes++;
	return xs_buf_append(&m->b, p, n);
}

static int mem_reset(void *ud)
{
	struct mem *m = ud;
	m->b.len = 0;
	m->resets++;
	return 0;
}

static bool body_ok(const struct mem *m, uint64_t size)
{
	if (m->b.len != size)
		return false;
	for (uint64_t i = 0; i < size; i++)
		if ((unsigned char)m->b.data[i] != pat(i))
			return false;
	return true;
}

static struct xs_http_opts base_opts(void)
{
	struct xs_http_opts o;
	xs_http_opts_default(&o);
	o.proxy = ""; /* never a proxy from the environment for loopback */
	o.connect_timeout_s = 5;
	o.low_speed_time_s = 5;
	o.total_timeout_s = 30;
	o.retries = 3;
	o.max_backoff_s = 0; /* retry at once unless a test measures backoff */
	return o;
}

struct res {
	int r;
	struct mem m;
	struct xs_http_stats st;
	char err[512];
	char url[256];
	double secs;
};

static void fetch(struct xs_http *h, const char *path, uint64_t max, bool can_reset, struct res *out)
{
	memset(out, 0, sizeof *out);
	xs_buf_init(&out->m.b, 64 << 20);
	snprintf(out->url, sizeof out->url, "http://127.0.0.1:%d%s", HTTPD.port, path);
	struct xs_http_sink sink = { mem_write, can_reset ? mem_reset : NULL, &out->m };
	uint64_t t0 = xs_now_ns();
	out->r = xs_http_get(h, out->url, max, &sink, NULL, &out->st, out->err, sizeof out->err);
	out->secs = (double)(xs_now_ns() - t0) / 1e9;
}

static void done(struct res *x)
{
	if (x->r != 0 || x->err[0])
		printf("# %s -> %d: %s\n", x->url, x->r, x->err);
	xs_buf_free(&x->m.b);
}

static struct xs_http *client(struct xs_http_opts o)
{
	struct xs_http *h = NULL;
	int r = xs_http_new(&o, &h);
	CHECK_INT(r, 0, "xs_http_new");
	return h;
}

struct par {
	struct xs_http *h;
	int ok;
};

static void *par_main(void *arg)
{
	struct par *p = arg;
	for (int i = 0; i < 5; i++) {
		struct res x;
		fetch(p->h, "/data/300000", UINT64_MAX, true, &x);
		if (x.r == 0 && body_ok(&x.m, 300000))
			p->ok++;
		xs_buf_free(&x.m.b);
	}
	return NULL;
}

static void last_auth(char *out, size_t outsz)
{
	pthread_mutex_lock(&HTTPD.mu);
	snprintf(out, outsz, "%s", HTTPD.last_auth);
	pthread_mutex_unlock(&HTTPD.mu);
}

/* xs_http_get_req: request headers out, response headers in, and no
 * Authorization to another host on a redirect. */
static void test_req(struct xs_http *h)
{
	const char *hdrs[] = { "Authorization: Bearer secret-token", "Accept: x/y", NULL };
	struct xs_http_req req = { .headers = hdrs };
	struct mem m = { 0 };
	char url[512], err[512], auth[128];
	struct xs_http_sink sink = { mem_write, mem_reset, &m };
	xs_buf_init(&m.b, 1 << 20);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/registry", HTTPD.port);
	int r = xs_http_get_req(h, url, 1 << 20, &sink, NULL, &req, NULL, err, sizeof err);
	last_auth(auth, sizeof auth);
	CHECK(r == 0 && req.status == 200, "get_req 200");
	CHECK_STR(auth, "Bearer secret-token", "the request header is sent");
	CHECK_STR(req.content_type, "application/vnd.oci.image.index.v1+json", "Content-Type kept");
	CHECK_STR(req.content_digest, "sha256:abc", "Docker-Content-Digest kept");
	m.b.len = 0;
	snprintf(url, sizeof url, "http://127.0.0.1:%d/challenge", HTTPD.port);
	r = xs_http_get_req(h, url, 1 << 20, &sink, NULL, &req, NULL, err, sizeof err);
	CHECK(r == -EACCES && req.status == 401 && m.b.len == 0, "401 -> -EACCES, status 401");
	CHECK_STR(req.www_authenticate, "Bearer realm=\"http://x/t\",service=\"s\"",
		  "WWW-Authenticate kept");
	/* a redirect on the same host keeps it, to another host drops it */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/redirect?to=/data/10", HTTPD.port);
	r = xs_http_get_req(h, url, 1 << 20, &sink, NULL, &req, NULL, err, sizeof err);
	last_auth(auth, sizeof auth);
	CHECK(r == 0 && !strcmp(auth, "Bearer secret-token"),
	      "Authorization follows a redirect on the same host (%s)", auth);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/redirect?to=http://localhost:%d/data/10",
		 HTTPD.port, HTTPD.port);
	r = xs_http_get_req(h, url, 1 << 20, &sink, NULL, &req, NULL, err, sizeof err);
	last_auth(auth, sizeof auth);
	CHECK(r == 0 && req.status == 200 && !auth[0],
	      "Authorization is not sent on to another host a redirect names (%s)", auth);
	xs_buf_free(&m.b);
}

/* A conditional GET: the condition is sent, a 304 is a success with
 * nothing for the sink, a 304 nobody asked for is an error, a resumed
 * transfer asks for the rest without the condition, and the validators of
 * the reply are kept (an ETag of another form is not). */
static void cond_get(struct xs_http *h, const char *path, struct xs_http_req *req, struct res *x)
{
	char url[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", HTTPD.port, path);
	memset(x, 0, sizeof *x);
	snprintf(x->url, sizeof x->url, "%s", url);
	xs_buf_init(&x->m.b, 1 << 20);
	struct xs_http_sink sink = { mem_write, mem_reset, &x->m };
	x->r = xs_http_get_req(h, url, 1 << 20, &sink, NULL, req, &x->st, x->err, sizeof x->err);
}

static void test_conditional(struct xs_http *h)
{
	struct res x;
	char ims[64], inm[256];
	struct xs_http_req req = { 0 };
	cond_get(h, "/cond", &req, &x);
	CHECK(x.r == 0 && req.status == 200 && !req.not_modified && body_ok(&x.m, 1000),
	      "unconditional: 200 with the body");
	CHECK(req.last_modified == 784111777 && !strcmp(req.etag, "\"v1\""),
	      "Last-Modified and ETag kept (%lld, %s)", (long long)req.last_modified, req.etag);
	done(&x);

	req = (struct xs_http_req){ .if_modified_since = 784111777, .if_none_match = "\"v1\"" };
	cond_get(h, "/cond", &req, &x);
	pthread_mutex_lock(&HTTPD.mu);
	snprintf(ims, sizeof ims, "%s", HTTPD.last_ims);
	snprintf(inm, sizeof inm, "%s", HTTPD.last_inm);
	pthread_mutex_unlock(&HTTPD.mu);
	CHECK_STR(ims, "Sun, 06 Nov 1994 08:49:37 GMT", "If-Modified-Since is an IMF-fixdate");
	CHECK_STR(inm, "\"v1\"", "If-None-Match is the ETag");
	CHECK(x.r == 0 && req.status == 304 && req.not_modified && x.m.writes == 0 &&
	      x.st.bytes == 0 && x.st.attempts == 1,
	      "304 to the condition: success, nothing to the sink (r %d, status %ld)", x.r, req.status);
	done(&x);

	req = (struct xs_http_req){ .if_none_match = "\"v0\"" };
	cond_get(h, "/cond", &req, &x);
	CHECK(x.r == 0 && req.status == 200 && !req.not_modified && body_ok(&x.m, 1000),
	      "another ETag: 200 with the body");
	done(&x);

	req = (struct xs_http_req){ 0 };
	cond_get(h, "/cond304", &req, &x);
	CHECK(x.r == -EIO && !req.not_modified && strstr(x.err, "not conditional") &&
	      strstr(x.err, "/cond304"), "a 304 nobody asked for is -EIO (%s)", x.err);
	done(&x);

	req = (struct xs_http_req){ .if_none_match = "\"a b\"" };
	cond_get(h, "/cond", &req, &x);
	CHECK_INT(x.r, -EINVAL, "an If-None-Match that is no entity tag is refused");
	done(&x);

	/* broken after 100 bytes: the Range attempt carries no condition */
	req = (struct xs_http_req){ .if_modified_since = 784111777 };
	cond_get(h, "/cut?id=cond&size=5000&after=100&then=honor", &req, &x);
	pthread_mutex_lock(&HTTPD.mu);
	snprintf(ims, sizeof ims, "%s", HTTPD.last_ims);
	pthread_mutex_unlock(&HTTPD.mu);
	CHECK(x.r == 0 && body_ok(&x.m, 5000) && x.st.attempts == 2 && !ims[0],
	      "a resumed transfer asks for the rest without the condition (r %d, %zu bytes, "
	      "%d attempts, '%s')", x.r, x.m.b.len, x.st.attempts, ims);
	CHECK(id_range("cond", 2) == 100, "... with Range");
	done(&x);
}

static void test_validators(void)
{
	char d[32];
	xs_http_date(0, d);
	CHECK_STR(d, "Thu, 01 Jan 1970 00:00:00 GMT", "HTTP-date of the epoch");
	xs_http_date(1796000000, d);
	CHECK_STR(d, "Mon, 30 Nov 2026 00:53:20 GMT", "HTTP-date of 2026");
	const char *good[] = { "\"\"", "\"abc\"", "W/\"x-1\"", "\"!#~\"" };
	const char *bad[] = { "", "abc", "\"a b\"", "\"a\"b\"", "W/abc", "*", "\"a\", \"b\"",
			      "\"a\r\nX: y\"", "w/\"a\"", "\"" };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		CHECK(xs_http_etag_ok(good[i]), "entity tag %s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(!xs_http_etag_ok(bad[i]), "not an entity tag: %s", bad[i]);
	char longtag[XS_HTTP_ETAG_MAX + 2];
	memset(longtag, 'a', sizeof longtag);
	longtag[0] = '"';
	longtag[XS_HTTP_ETAG_MAX - 1] = '"';
	longtag[XS_HTTP_ETAG_MAX] = 0;
	CHECK(!xs_http_etag_ok(longtag), "an entity tag of XS_HTTP_ETAG_MAX characters is too long");
	longtag[XS_HTTP_ETAG_MAX - 2] = '"';
	longtag[XS_HTTP_ETAG_MAX - 1] = 0;
	CHECK(xs_http_etag_ok(longtag), "one character less fits");

	struct xs_http_req r = { 0 };
	const char *lm = "Sun, 06 Nov 1994 08:49:37 GMT", *tag = "W/\"1-2\"";
	xs_http_req_validator(&r, "last-modified", 13, lm, strlen(lm));
	xs_http_req_validator(&r, "ETag", 4, tag, strlen(tag));
	CHECK(r.last_modified == 784111777 && !strcmp(r.etag, tag), "validators of a reply kept");
	r = (struct xs_http_req){ .last_modified = 5 };
	xs_http_req_validator(&r, "Last-Modified", 13, "yesterday", 9);
	xs_http_req_validator(&r, "ETag", 4, "\"a b\"", 5);
	xs_http_req_validator(&r, "ETag-X", 6, "\"a\"", 3);
	xs_http_req_validator(&r, "ETag", 4, "\"a\0b\"", 5);
	CHECK(r.last_modified == 0 && !r.etag[0], "an unreadable date or a bad ETag is left out");
}

/* ---- progress ------------------------------------------------------------ */

/* What a transfer reported, and whether the reports kept the contract of
 * progress.h (a retry and the end only after an update, nothing after the
 * end, the label and total of the object). */
struct prog_log {
	int updates, retries, dones;
	bool after_done, unannounced;
	enum xs_progress_state last;
	char label[64];
	uint64_t now;
	int64_t total;
};

static void record_progress(const struct xs_progress_info *pi, void *ud)
{
	struct prog_log *l = ud;
	if (l->dones)
		l->after_done = true;
	if (pi->state != XS_PROGRESS_UPDATE && (!l->updates || l->last != XS_PROGRESS_UPDATE))
		l->unannounced = true;
	l->updates += pi->state == XS_PROGRESS_UPDATE;
	l->retries += pi->state == XS_PROGRESS_RETRY;
	l->dones += pi->state == XS_PROGRESS_DONE;
	l->last = pi->state;
	snprintf(l->label, sizeof l->label, "%s", pi->label);
	l->now = pi->now;
	l->total = pi->total;
}

static void test_progress(void)
{
	struct prog_log log = { 0 };
	struct xs_progress cb = { record_progress, &log };
	struct xs_http_opts o = base_opts();
	o.progress = &cb;
	struct xs_http *hp = client(o);
	struct mem m = { 0 };
	struct xs_http_sink sink = { mem_write, mem_reset, &m };
	char url[160], err[512];

	xs_buf_init(&m.b, 4 << 20);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/data/2000000", HTTPD.port);
	int r = xs_http_get(hp, url, UINT64_MAX, &sink, "hello 2.10-3 arm64", NULL, err, sizeof err);
	CHECK(r == 0 && body_ok(&m, 2000000), "GET with a progress callback");
	CHECK(log.updates >= 1 && log.dones == 1 && log.last == XS_PROGRESS_DONE,
	      "updates, then one end (%d updates, %d ends)", log.updates, log.dones);
	CHECK_STR(log.label, "hello 2.10-3 arm64", "the reports carry the label");
	CHECK(log.now == 2000000 && log.total == 2000000,
	      "the end reports every byte and the size (%llu of %lld)",
	      (unsigned long long)log.now, (long long)log.total);
	CHECK(!log.retries && !log.after_done && !log.unannounced, "nothing out of order");
	xs_buf_free(&m.b);

	/* a broken transfer: what was shown is stale while it waits */
	memset(&log, 0, sizeof log);
	xs_buf_init(&m.b, 4 << 20);
	snprintf(url, sizeof url,
		 "http://127.0.0.1:%d/cut?id=p1&size=2000000&after=1000000&how=rst&then=honor",
		 HTTPD.port);
	r = xs_http_get(hp, url, UINT64_MAX, &sink, NULL, NULL, err, sizeof err);
	CHECK(r == 0 && body_ok(&m, 2000000), "a broken GET resumes with a progress callback");
	CHECK_STR(log.label, "cut", "no label given: the URL's file name");
	CHECK(log.retries == 1 && log.dones == 1 && !log.after_done && !log.unannounced,
	      "one retry between updates, then one end (%d retries, %d ends)", log.retries,
	      log.dones);
	CHECK(log.now == 2000000 && log.total == 2000000, "the end counts the resumed bytes too");
	xs_buf_free(&m.b);

	/* no body, no report */
	memset(&log, 0, sizeof log);
	xs_buf_init(&m.b, 1 << 20);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/status/404", HTTPD.port);
	r = xs_http_get(hp, url, UINT64_MAX, &sink, "missing", NULL, err, sizeof err);
	CHECK(r == -ENOENT && !log.updates && !log.retries && !log.dones,
	      "an error reply reports nothing");
	xs_buf_free(&m.b);
	xs_http_free(hp);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (httpd_start(handle) < 0) {
		printf("Bail out! cannot start the test server\n");
		return 1;
	}
	struct res x;
	struct xs_http *h = client(base_opts());
	if (!h) {
		httpd_stop();
		return tap_done();
	}

	/* plain GET */
	uint64_t before = xs_http_total_bytes();
	fetch(h, "/data/100000", UINT64_MAX, true, &x);
	CHECK_INT(x.r, 0, "GET 200 succeeds");
	CHECK(body_ok(&x.m, 100000), "body is byte-exact");
	CHECK_INT(x.st.status, 200, "stats.status");
	CHECK_INT(x.st.attempts, 1, "one attempt");
	CHECK_INT(x.st.bytes, 100000, "stats.bytes");
	CHECK_INT(xs_http_total_bytes() - before, 100000, "global byte counter");
	CHECK_STR(x.err, "", "no error message on success");
	pthread_mutex_lock(&HTTPD.mu);
	CHECK(!strncmp(HTTPD.last_ua, "xsysroot/", 9), "User-Agent is xsysroot/<version> (%s)", HTTPD.last_ua);
	CHECK(!HTTPD.saw_accept_encoding, "no Accept-Encoding sent");
	CHECK(!HTTPD.saw_range, "no Range on a first attempt");
	int acc0 = HTTPD.accepted;
	pthread_mutex_unlock(&HTTPD.mu);
	done(&x);

	/* connections are kept and shared between calls */
	fetch(h, "/data/1000", UINT64_MAX, true, &x);
	CHECK(x.r == 0 && body_ok(&x.m, 1000), "second GET");
	done(&x);
	fetch(h, "/data/0", UINT64_MAX, true, &x);
	CHECK(x.r == 0 && x.m.b.len == 0, "empty body");
	done(&x);
	pthread_mutex_lock(&HTTPD.mu);
	CHECK_INT(HTTPD.accepted - acc0, 0, "later GETs reuse the kept connection");
	pthread_mutex_unlock(&HTTPD.mu);

	/* statuses */
	fetch(h, "/status/404", UINT64_MAX, true, &x);
	CHECK_INT(x.r, -ENOENT, "404 -> -ENOENT");
	CHECK_INT(x.st.attempts, 1, "404 is not retried");
	CHECK_INT(x.st.status, 404, "stats.status 404");
	CHECK_INT(x.m.b.len, 0, "an error body never reaches the sink");
	char want[400];
	snprintf(want, sizeof want, "GET %s: HTTP 404 Not Found", x.url);
	CHECK_STR(x.err, want, "404 message");
	done(&x);
	fetch(h, "/status/410", UINT64_MAX, true, &x);
	CHECK_INT(x.r, -ENOENT, "410 -> -ENOENT");
	done(&x);
	fetch(h, "/status/403", UINT64_MAX, true, &x);
	CHECK_INT(x.r, -EACCES, "403 -> -EACCES");
	CHECK(strstr(x.err, x.url) && strstr(x.err, "HTTP 403 Forbidden") &&
	      strstr(x.err, "denied by policy"), "403 message quotes the reply: %s", x.err);
	done(&x);
	fetch(h, "/partial-unasked", UINT64_MAX, true, &x);
	CHECK_INT(x.r, -EIO, "206 without a Range request -> -EIO");
	CHECK_INT(x.m.b.len, 0, "unasked 206 body not stored");
	done(&x);

	/* retries */
	fetch(h, "/flaky?id=a&fail=1&code=503&size=5000", UINT64_MAX, true, &x);
	CHECK_INT(x.r, 0, "503 then 200 succeeds");
	CHECK_INT(x.st.attempts, 2, "503 then 200: two attempts");
	CHECK(body_ok(&x.m, 5000), "503 then 200: body exact");
	done(&x);
	fetch(h, "/flaky?id=b&fail=99&code=503", UINT64_MAX, true, &x);
	CHECK_INT(x.r, -EIO, "503 for ever -> -EIO");
	CHECK_INT(x.st.attempts, 4, "retries=3 makes four attempts");
	CHECK(strstr(x.err, x.url) && strstr(x.err, "HTTP 503 Service Unavailable") &&
	      strstr(x.err, "(4 attempts)"), "503 message: %s", x.err);
	CHECK_INT(id_count("b"), 4, "server saw four requests");
	done(&x);
	{
		struct xs_http_opts o = base_opts();
		o.retries = 0;
		struct xs_http *h0 = client(o);
		fetch(h0, "/flaky?id=c&fail=1&code=500", UINT64_MAX, true, &x);
		CHECK_INT(x.r, -EIO, "500 with retries=0 -> -EIO");
		CHECK_INT(x.st.attempts, 1, "retries=0: one attempt");
		done(&x);
		xs_http_free(h0);
	}
	{
		struct xs_http_opts o = base_opts();
		o.max_backoff_s = 30;
		struct xs_http *hb = client(o);
		fetch(hb, "/flaky?id=d&fail=2&code=503&size=10", UINT64_MAX, true, &x);
		CHECK(x.r == 0 && x.st.attempts == 3, "two 503s then 200");
		CHECK(x.secs >= 1.4 && x.secs < 4, "exponential backoff 0.5 s + 1 s (%.2f s)", x.secs);
		done(&x);
		fetch(hb, "/flaky?id=e&fail=1&code=429&ra=1&size=10", UINT64_MAX, true, &x);
		CHECK(x.r == 0 && x.st.attempts == 2, "429 then 200");
		CHECK(x.secs >= 0.95 && x.secs < 3, "Retry-After: 1 honoured (%.2f s)", x.secs);
		done(&x);
		xs_http_free(hb);

		o.max_backoff_s = 1;
		hb = client(o);
		fetch(hb, "/flaky?id=f&fail=1&code=429&radate=100&size=10", UINT64_MAX, true, &x);
		CHECK(x.r == 0 && x.st.attempts == 2, "429 with an HTTP-date Retry-After");
		CHECK(x.secs >= 0.9 && x.secs < 3, "Retry-After date capped at max_backoff_s (%.2f s)",
		      x.secs);
		done(&x);
		fetch(hb, "/flaky?id=g&fail=9&code=429", UINT64_MAX, true, &x);
		CHECK_INT(x.r, -EIO, "429 for ever -> -EIO");
		done(&x);
		xs_http_free(hb);
	}

	/* broken transfers and resume */
	fetch(h, "/cut?id=r1&size=200000&after=50000&how=rst&then=honor", UINT64_MAX, true, &x);
	CHECK_INT(x.r, 0, "reset then resume succeeds");
	CHECK(body_ok(&x.m, 200000), "resumed body is byte-exact");
	CHECK_INT(x.st.attempts, 2, "reset: two attempts");
	CHECK_INT(x.m.resets, 0, "resume needs no sink reset");
	CHECK_INT(x.st.bytes, 200000, "resume fetches each byte once");
	CHECK(id_range("r1", 2) > 0 && id_range("r1", 2) <= 50000,
	      "second request asks Range from where the body stopped (%lld)", id_range("r1", 2));
	done(&x);
	fetch(h, "/cut?id=r2&size=200000&after=65536&how=fin&then=honor", UINT64_MAX, true, &x);
	CHECK(x.r == 0 && body_ok(&x.m, 200000), "early close then resume");
	CHECK_INT(id_range("r2", 1), -1, "first request without Range");
	CHECK_INT(id_range("r2", 2), 65536, "Range: bytes=65536-");
	done(&x);
	fetch(h, "/cut?id=r3&size=100000&after=30000&how=fin&then=ignore", UINT64_MAX, true, &x);
	CHECK_INT(x.r, 0, "Range ignored (200) -> restart from zero");
	CHECK(body_ok(&x.m, 100000), "restarted body is byte-exact");
	CHECK_INT(x.m.resets, 1, "sink reset once");
	CHECK_INT(x.st.attempts, 2, "ignored Range: two attempts");
	CHECK_INT(x.st.bytes, 130000, "stats.bytes counts both attempts");
	done(&x);
	fetch(h, "/cut?id=r4&size=100000&after=30000&how=fin&then=ignore", UINT64_MAX, false, &x);
	CHECK_INT(x.r, -EIO, "Range ignored and sink cannot reset -> -EIO");
	CHECK(strstr(x.err, x.url) && strstr(x.err, "cannot restart"), "message: %s", x.err);
	done(&x);
	fetch(h, "/cut?id=r5&size=100000&after=30000&how=fin&then=liestart", UINT64_MAX, true, &x);
	CHECK_INT(x.r, 0, "lying Content-Range start -> full refetch");
	CHECK(body_ok(&x.m, 100000), "body exact after a lying Content-Range");
	CHECK_INT(x.m.resets, 1, "lying start: sink reset once");
	CHECK_INT(x.st.attempts, 3, "lying start: three attempts");
	CHECK_INT(id_range("r5", 3), -1, "third request asks for the whole body");
	done(&x);
	fetch(h, "/cut?id=r6&size=100000&after=30000&how=fin&then=lietotal", UINT64_MAX, true, &x);
	CHECK(x.r == 0 && body_ok(&x.m, 100000) && x.m.resets == 1 && x.st.attempts == 3,
	      "Content-Range total differing from Content-Length -> full refetch");
	done(&x);
	fetch(h, "/cut?id=r7&size=100000&after=30000&how=fin&then=short", UINT64_MAX, true, &x);
	CHECK(x.r == 0 && body_ok(&x.m, 100000) && x.m.resets == 1,
	      "206 ending before the total -> full refetch");
	done(&x);
	fetch(h, "/cut?id=r8&size=100000&after=30000&how=fin&then=416", UINT64_MAX, true, &x);
	CHECK(x.r == 0 && body_ok(&x.m, 100000) && x.m.resets == 1 && x.st.attempts == 3,
	      "416 to a resume -> full refetch");
	done(&x);
	{
		struct xs_http_opts o = base_opts();
		o.retries = 2;
		struct xs_http *h2 = client(o);
		fetch(h2, "/cut?id=r9&size=100000&after=20000&how=rst&then=always", UINT64_MAX, true, &x);
		CHECK_INT(x.r, -EIO, "reset on every attempt -> -EIO");
		CHECK_INT(x.st.attempts, 3, "reset for ever: three attempts");
		CHECK(strstr(x.err, x.url) && strstr(x.err, "connection reset after") &&
		      strstr(x.err, "(3 attempts)"), "message: %s", x.err);
		CHECK(x.m.b.len > 0 && x.m.b.len <= 60000, "each attempt appended its part");
		done(&x);
		fetch(h2, "/cut?id=r10&size=100000&after=20000&how=fin&then=always", UINT64_MAX, true, &x);
		CHECK_INT(x.r, -EIO, "closed early on every attempt -> -EIO");
		char w2[100];
		snprintf(w2, sizeof w2, "connection closed after 60000 of 100000 bytes (3 attempts)");
		CHECK(strstr(x.err, w2) != NULL, "message: %s", x.err);
		CHECK(x.m.b.len == 60000 && body_ok(&x.m, 60000), "resumed parts are contiguous");
		done(&x);
		xs_http_free(h2);
	}

	/* size limits */
	fetch(h, "/data/100000", 50000, true, &x);
	CHECK_INT(x.r, -EFBIG, "Content-Length over max_bytes -> -EFBIG");
	CHECK_INT(x.m.b.len, 0, "refused before any byte is stored");
	CHECK_INT(x.st.attempts, 1, "-EFBIG is not retried");
	CHECK(strstr(x.err, x.url) != NULL, "message names the URL: %s", x.err);
	done(&x);
	fetch(h, "/nocl?size=100000", 50000, true, &x);
	CHECK_INT(x.r, -EFBIG, "no Content-Length, body over max_bytes -> -EFBIG");
	CHECK(x.m.b.len <= 50000, "never more than max_bytes stored (%zu)", x.m.b.len);
	done(&x);
	fetch(h, "/data/1000", 1000, true, &x);
	CHECK(x.r == 0 && body_ok(&x.m, 1000), "body of exactly max_bytes is fine");
	done(&x);
	fetch(h, "/nocl?size=1000", 1000, true, &x);
	CHECK(x.r == 0 && body_ok(&x.m, 1000), "close-delimited body of exactly max_bytes");
	done(&x);

	/* a sink error passes through */
	{
		memset(&x, 0, sizeof x);
		xs_buf_init(&x.m.b, 1 << 20);
		x.m.fail_err = -ENOSPC;
		snprintf(x.url, sizeof x.url, "http://127.0.0.1:%d/data/500000", HTTPD.port);
		struct xs_http_sink sink = { mem_write, mem_reset, &x.m };
		x.r = xs_http_get(h, x.url, UINT64_MAX, &sink, "test", &x.st, x.err, sizeof x.err);
		CHECK_INT(x.r, -ENOSPC, "sink's -ENOSPC is passed through");
		CHECK_INT(x.st.attempts, 1, "sink errors are not retried");
		done(&x);
	}

	/* stalls and deadlines */
	{
		struct xs_http_opts o = base_opts();
		o.low_speed_time_s = 1;
		/* libcurl averages the speed over a few seconds: a limit well above
		 * what the stalled server sent makes the test quick. */
		o.low_speed_limit = 100;
		o.retries = 0;
		struct xs_http *hs = client(o);
		fetch(hs, "/stall?size=1000&after=10&sleep=8000", UINT64_MAX, true, &x);
		CHECK_INT(x.r, -ETIMEDOUT, "stalled transfer -> -ETIMEDOUT");
		CHECK(strstr(x.err, x.url) && strstr(x.err, "stalled: less than 100 B/s for 1 s"),
		      "message: %s", x.err);
		CHECK(x.secs < 4, "stall detected quickly (%.2f s)", x.secs);
		done(&x);
		xs_http_free(hs);

		o = base_opts();
		o.low_speed_time_s = 0;
		o.total_timeout_s = 1;
		hs = client(o);
		fetch(hs, "/stall?size=1000&after=10&sleep=8000", UINT64_MAX, true, &x);
		CHECK_INT(x.r, -ETIMEDOUT, "total_timeout_s -> -ETIMEDOUT");
		CHECK(x.secs >= 0.9 && x.secs < 3, "deadline kept (%.2f s)", x.secs);
		CHECK(strstr(x.err, "timed out") != NULL, "message: %s", x.err);
		done(&x);
		xs_http_free(hs);
	}

	/* an inactivity bound (xs_http_opts_inactivity): a slow but steady body
	 * outlives it, a stall does not, and is not retried */
	{
		struct xs_http_opts o = base_opts();
		xs_http_opts_inactivity(&o, 1);
		struct xs_http *hs = client(o);
		fetch(hs, "/drip?size=2400&chunk=200&every=200", UINT64_MAX, true, &x);
		CHECK(x.r == 0 && body_ok(&x.m, 2400), "a steady body for %.2f s > the 1 s bound "
		      "arrives", x.secs);
		CHECK(x.secs >= 2 && x.st.attempts == 1, "in one attempt (%d)", x.st.attempts);
		done(&x);
		fetch(hs, "/stall?size=1000&after=10&sleep=8000", UINT64_MAX, true, &x);
		CHECK_INT(x.r, -ETIMEDOUT, "a stall under the inactivity bound -> -ETIMEDOUT");
		CHECK(x.secs >= 0.9 && x.secs < 4, "after about the bound (%.2f s)", x.secs);
		CHECK(x.st.attempts == 1 && strstr(x.err, "no data for 1 s"),
		      "no retry without data: %d attempts: %s", x.st.attempts, x.err);
		done(&x);
		xs_http_free(hs);
	}

	/* redirects */
	fetch(h, "/redirect?to=/data/5000", UINT64_MAX, true, &x);
	CHECK(x.r == 0 && body_ok(&x.m, 5000), "302 followed, body of the target only");
	CHECK_INT(x.st.status, 200, "final status after a redirect");
	done(&x);
	fetch(h, "/loop", UINT64_MAX, true, &x);
	CHECK_INT(x.r, -EIO, "redirect loop -> -EIO");
	CHECK(strstr(x.err, "too many redirects") != NULL, "message: %s", x.err);
	CHECK_INT(x.m.b.len, 0, "redirect bodies never reach the sink");
	done(&x);
	{
		char p[128];
		snprintf(p, sizeof p, "/redirect?to=ftp://127.0.0.1:%d/x", HTTPD.port);
		fetch(h, p, UINT64_MAX, true, &x);
		CHECK_INT(x.r, -EIO, "redirect to ftp refused");
		CHECK(strstr(x.err, "protocol") != NULL, "message: %s", x.err);
		done(&x);
		snprintf(p, sizeof p, "/redirect?to=file:///etc/passwd");
		fetch(h, p, UINT64_MAX, true, &x);
		CHECK(x.r < 0 && x.m.b.len == 0, "redirect to file:// refused");
		done(&x);
	}

	/* connection refused, bad URLs */
	{
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t al = sizeof a;
		bind(s, (struct sockaddr *)&a, sizeof a);
		getsockname(s, (struct sockaddr *)&a, &al);
		close(s); /* nobody listens there now */
		struct xs_http_opts o = base_opts();
		o.retries = 1;
		struct xs_http *hr = client(o);
		struct mem m = { 0 };
		xs_buf_init(&m.b, 1024);
		struct xs_http_sink sink = { mem_write, mem_reset, &m };
		struct xs_http_stats st;
		char url[128], err[512];
		snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(a.sin_port));
		int r = xs_http_get(hr, url, 100, &sink, NULL, &st, err, sizeof err);
		CHECK_INT(r, -EIO, "connection refused -> -EIO");
		CHECK_INT(st.attempts, 2, "connection refused is retried");
		CHECK(strstr(err, url) && strstr(err, "connection refused"), "message: %s", err);
		r = xs_http_get(hr, "ftp://127.0.0.1/x", 100, &sink, NULL, &st, err, sizeof err);
		CHECK_INT(r, -EINVAL, "ftp:// URL -> -EINVAL");
		r = xs_http_get(hr, "http://user:secret@127.0.0.1:1/x", 100, &sink, NULL, &st, err, sizeof err);
		CHECK(r < 0 && !strstr(err, "secret"), "credentials are not echoed: %s", err);
		xs_buf_free(&m.b);
		xs_http_free(hr);
	}

	/* progress: reported through the callback (the command line draws it) */
	test_progress();

	/* many threads on one xs_http */
	{
		struct par p[8];
		pthread_t t[8];
		for (int i = 0; i < 8; i++) {
			p[i].h = h;
			p[i].ok = 0;
			pthread_create(&t[i], NULL, par_main, &p[i]);
		}
		int ok = 0;
		for (int i = 0; i < 8; i++) {
			pthread_join(t[i], NULL);
			ok += p[i].ok;
		}
		CHECK_INT(ok, 40, "40 concurrent GETs on one xs_http are all byte-exact");
	}
	test_req(h);
	test_validators();
	test_conditional(h);

	xs_http_free(h);
	httpd_stop();
	return tap_done();
}
