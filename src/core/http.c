/* http.c - see include/xsysroot/http.h.
 *
 * The only file that includes <curl/curl.h>.  One xs_http owns a CURLSH
 * (DNS, connections, TLS sessions) and a small pool of easy handles; every
 * xs_http_get borrows one easy handle for the whole request (all attempts).
 *
 * A request is a loop of attempts.  Each attempt parses the response headers
 * itself (header callback) and decides, at the end of the headers of the
 * final response, what the body is:
 *   - the wanted body (200, or a 206 that continues exactly where the sink
 *     stands) -> fed to the sink, counted against max_bytes;
 *   - a redirect being followed -> ignored;
 *   - a 304 to an attempt that carried the caller's condition -> no body,
 *     the request is done (not_modified);
 *   - an error reply -> a bounded snippet is kept for the message.
 * After curl_easy_perform the attempt is classified as done, final error or
 * transient error; transient errors are retried after a backoff.
 */
#include "xsysroot/http.h"
#include "xsysroot/util.h"

#include "xs-build.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX 16		 /* idle easy handles kept per xs_http */
#define REASON_MAX 64		 /* bytes of a reason phrase kept */
#define SNIPPET_MAX 120		 /* bytes of an error body quoted in messages */
#define ERRBODY_MAX (64 * 1024)	 /* an error body longer than this is cut off */
#define BACKOFF_FIRST_MS 500	 /* first retry delay; doubles per attempt */
#define PROGRESS_INTERVAL_NS 100000000ull /* report at most 10 times a second */

#ifdef CURL_WRITEFUNC_ERROR
#define WRITE_ABORT CURL_WRITEFUNC_ERROR
#else
#define WRITE_ABORT 0
#endif

static _Atomic uint64_t total_body_bytes;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct xs_http {
	struct xs_http_opts o;
	char *proxy; /* owned copy of o.proxy, or NULL */
	char user_agent[64];
	CURLSH *share;
	/* One mutex per curl_lock_data, taken only by libcurl through
	 * share_lock/share_unlock; libcurl never holds two at once. */
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	/* Guards pool and npool.  Leaf lock: nothing else is taken or called
	 * into libcurl while it is held. */
	pthread_mutex_t pool_lock;
	CURL *pool[POOL_MAX];
	size_t npool;
};

void xs_http_opts_default(struct xs_http_opts *o)
{
	memset(o, 0, sizeof *o);
	o->connect_timeout_s = 15;
	o->low_speed_time_s = 30;
	o->low_speed_limit = 1;
	o->total_timeout_s = 300;
	o->retries = 3;
	o->max_backoff_s = 30;
	o->proxy = NULL;
	o->progress = NULL;
}

void xs_http_opts_inactivity(struct xs_http_opts *o, long timeout_s)
{
	o->total_timeout_s = 0;
	o->idle_timeout_s = timeout_s;
	o->low_speed_limit = XS_HTTP_MIN_SPEED;
}

static void share_lock(CURL *c, curl_lock_data d, curl_lock_access a, void *ud)
{
	(void)c;
	(void)a;
	struct xs_http *h = ud;
	if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&h->share_locks[d]);
}

static void share_unlock(CURL *c, curl_lock_data d, void *ud)
{
	(void)c;
	struct xs_http *h = ud;
	if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&h->share_locks[d]);
}

int xs_http_new(const struct xs_http_opts *o, struct xs_http **out)
{
	*out = NULL;
	struct xs_http_opts def;
	if (!o) {
		xs_http_opts_default(&def);
		o = &def;
	}
	if (o->connect_timeout_s < 0 || o->low_speed_time_s < 0 || o->low_speed_limit < 0 ||
	    o->total_timeout_s < 0 || o->idle_timeout_s < 0 || o->retries < 0 ||
	    o->max_backoff_s < 0)
		return -EINVAL;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return -EIO;

	struct xs_http *h = xs_xcalloc(1, sizeof *h);
	h->o = *o;
	h->proxy = o->proxy ? xs_strdup(o->proxy) : NULL;
	h->o.proxy = h->proxy;
	snprintf(h->user_agent, sizeof h->user_agent, "xsysroot/%s", XS_VERSION);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	pthread_mutex_init(&h->pool_lock, NULL);

	h->share = curl_share_init();
	if (!h->share) {
		xs_http_free(h);
		return -ENOMEM;
	}
	CURLSHcode s = CURLSHE_OK;
	if (s == CURLSHE_OK)
		s = curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
	if (s == CURLSHE_OK)
		s = curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	if (s == CURLSHE_OK)
		s = curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
	if (s == CURLSHE_OK)
		s = curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	if (s == CURLSHE_OK)
		s = curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	if (s == CURLSHE_OK)
		s = curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	if (s != CURLSHE_OK) {
		xs_http_free(h);
		return s == CURLSHE_NOMEM ? -ENOMEM : -EIO;
	}
	*out = h;
	return 0;
}

void xs_http_free(struct xs_http *h)
{
	if (!h)
		return;
	/* Easy handles first: the share refuses to go while one uses it. */
	for (size_t i = 0; i < h->npool; i++)
		curl_easy_cleanup(h->pool[i]);
	h->npool = 0;
	if (h->share)
		curl_share_cleanup(h->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->share_locks[i]);
	pthread_mutex_destroy(&h->pool_lock);
	free(h->proxy);
	free(h);
}

uint64_t xs_http_total_bytes(void)
{
	return atomic_load(&total_body_bytes);
}

static CURL *pool_get(struct xs_http *h)
{
	CURL *c = NULL;
	pthread_mutex_lock(&h->pool_lock);
	if (h->npool)
		c = h->pool[--h->npool];
	pthread_mutex_unlock(&h->pool_lock);
	return c ? c : curl_easy_init();
}

static void pool_put(struct xs_http *h, CURL *c)
{
	/* curl_easy_reset() forgets the share without detaching from it, so
	 * detach first; the connections stay in the share's cache. */
	curl_easy_setopt(c, CURLOPT_SHARE, NULL);
	curl_easy_reset(c);
	pthread_mutex_lock(&h->pool_lock);
	if (h->npool < POOL_MAX) {
		h->pool[h->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->pool_lock);
	if (c)
		curl_easy_cleanup(c);
}

/* ---- one request --------------------------------------------------------- */

enum body_mode {
	BODY_PENDING, /* headers of the final response not complete yet */
	BODY_SINK,    /* the wanted body: feed the sink */
	BODY_IGNORE,  /* a redirect's body */
	BODY_ERROR,   /* an error reply: keep a snippet */
	BODY_NOT_MODIFIED, /* a 304 to this attempt's condition: no body */
};

struct xfer {
	struct xs_http *h;
	CURL *c;
	const char *url;
	const struct xs_http_sink *sink;
	struct xs_http_req *req;   /* request headers in, response headers out; may be NULL */
	struct curl_slist *hdrs;   /* req->headers as curl takes them */
	struct curl_slist *cond_hdrs; /* the same and the condition, NULL: none */
	uint64_t max_bytes;
	uint64_t pos;	   /* bytes the sink holds now */
	uint64_t received; /* bytes given to the sink over all attempts */
	int64_t full_len;  /* length of the whole body once known, else -1 */
	int resets;	   /* times the sink was restarted */

	/* per attempt */
	uint64_t range_from; /* "Range: bytes=N-" sent when > 0 */
	bool cond;	     /* cond_hdrs sent (never with a Range) */
	uint64_t attempt_bytes;
	uint64_t attempt_start_ns;
	uint64_t last_byte_ns; /* when the sink last took bytes (or the request began) */
	long stall_s;	       /* this attempt's CURLOPT_LOW_SPEED_TIME */
	long connect_ms;       /* this attempt's CURLOPT_CONNECTTIMEOUT_MS */
	int abort_err;	     /* our own final abort: negative errno */
	bool restart;	     /* retry from zero: the reply could not be appended */
	char cause[256];     /* why we aborted (abort_err or restart) */
	char curl_err[CURL_ERROR_SIZE];

	/* per response (reset at each status line) */
	bool in_headers;
	long status;
	char reason[REASON_MAX];
	int64_t content_length;
	bool have_cr;
	uint64_t cr_start, cr_end;
	int64_t cr_total; /* -1 for "*" */
	enum body_mode mode;
	char snippet[SNIPPET_MAX + 1];
	size_t snippet_len;
	size_t errbody_len;

	/* progress: reported through h->o.progress when set */
	bool progress;
	bool reported;	/* an update since the last retry */
	uint64_t last_report_ns;
	const char *label;
};

static void set_cause(struct xfer *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_cause(struct xfer *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->cause, sizeof x->cause, fmt, ap);
	va_end(ap);
}

static const char *errno_str(int e, char *buf, size_t n)
{
	return strerror_r(e, buf, n);
}

static int sink_restart(struct xfer *x, const char *why)
{
	if (!x->sink->reset) {
		set_cause(x, "%s and the download cannot restart", why);
		return -EIO;
	}
	int r = x->sink->reset(x->sink->ud);
	if (r < 0) {
		char eb[128];
		set_cause(x, "%s and restarting the download failed: %s", why,
			  errno_str(-r, eb, sizeof eb));
		return r;
	}
	x->pos = 0;
	x->resets++;
	return 0;
}

static bool range_reply_ok(const struct xfer *x)
{
	if (!x->have_cr || x->cr_start != x->range_from || x->cr_end < x->cr_start)
		return false;
	if (x->cr_total >= 0) {
		if (x->cr_end + 1 != (uint64_t)x->cr_total)
			return false;
		if (x->full_len >= 0 && x->cr_total != x->full_len)
			return false;
	}
	if (x->content_length >= 0 &&
	    (uint64_t)x->content_length != x->cr_end - x->cr_start + 1)
		return false;
	return true;
}

/* The headers of a final (non-1xx) response are complete: decide what its
 * body is.  A negative return aborts the transfer. */
static int decide(struct xfer *x)
{
	long s = x->status;
	if (s == 304 && x->cond) {
		x->mode = BODY_NOT_MODIFIED;
		return 0;
	}
	if (s >= 300 && s < 400) {
		x->mode = BODY_IGNORE;
		return 0;
	}
	if (s == 200) {
		if (x->pos > 0) {
			int r = sink_restart(x, x->range_from ? "server ignored the Range request"
							      : "server restarted the body");
			if (r < 0) {
				x->abort_err = r;
				return r;
			}
		}
		if (x->content_length >= 0) {
			x->full_len = x->content_length;
			if ((uint64_t)x->content_length > x->max_bytes) {
				set_cause(x, "body of %" PRId64 " bytes exceeds the limit of %" PRIu64 " bytes",
					  x->content_length, x->max_bytes);
				x->abort_err = -EFBIG;
				return -EFBIG;
			}
		}
		x->mode = BODY_SINK;
		return 0;
	}
	if ((s == 206 || s == 416) && x->range_from > 0) {
		if (s == 206 && range_reply_ok(x)) {
			if (x->cr_end + 1 > x->max_bytes) {
				set_cause(x, "body of %" PRIu64 " bytes exceeds the limit of %" PRIu64 " bytes",
					  x->cr_end + 1, x->max_bytes);
				x->abort_err = -EFBIG;
				return -EFBIG;
			}
			if (x->cr_total >= 0)
				x->full_len = x->cr_total;
			x->mode = BODY_SINK;
			return 0;
		}
		char why[160];
		if (s == 416)
			snprintf(why, sizeof why, "server refused resuming at byte %" PRIu64, x->range_from);
		else
			snprintf(why, sizeof why, "server resumed with a bad Content-Range for byte %" PRIu64,
				 x->range_from);
		int r = sink_restart(x, why);
		if (r < 0) {
			x->abort_err = r;
			return r;
		}
		set_cause(x, "%s", why);
		x->restart = true;
		return -EAGAIN;
	}
	if (s == 206) {
		set_cause(x, "unrequested partial reply (HTTP 206)");
		x->abort_err = -EIO;
		return -EIO;
	}
	x->mode = BODY_ERROR;
	return 0;
}

static bool parse_u64(const char *s, const char *end, uint64_t *out, const char **stop)
{
	uint64_t v = 0;
	const char *p = s;
	while (p < end && *p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		p++;
	}
	if (p == s)
		return false;
	*out = v;
	*stop = p;
	return true;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* "bytes N-M/T", or "bytes N-M/" and a star when the total is unknown */
static void parse_content_range(struct xfer *x, const char *p, const char *end)
{
	uint64_t a, b, t;
	const char *q;
	x->have_cr = false;
	if (end - p < 6 || strncasecmp(p, "bytes", 5) != 0)
		return;
	p = skip_ws(p + 5, end);
	if (!parse_u64(p, end, &a, &q) || q >= end || *q != '-')
		return;
	if (!parse_u64(q + 1, end, &b, &q) || q >= end || *q != '/')
		return;
	q++;
	if (q < end && *q == '*') {
		x->cr_total = -1;
		q++;
	} else {
		if (!parse_u64(q, end, &t, &q) || t > INT64_MAX)
			return;
		x->cr_total = (int64_t)t;
	}
	if (skip_ws(q, end) != end)
		return;
	x->cr_start = a;
	x->cr_end = b;
	x->have_cr = true;
}

static void new_response(struct xfer *x, const char *p, const char *end)
{
	x->in_headers = true;
	x->status = 0;
	x->reason[0] = 0;
	x->content_length = -1;
	x->have_cr = false;
	x->mode = BODY_PENDING;
	x->snippet_len = 0;
	x->snippet[0] = 0;
	x->errbody_len = 0;
	if (x->req) {
		x->req->content_type[0] = 0;
		x->req->www_authenticate[0] = 0;
		x->req->content_digest[0] = 0;
		x->req->last_modified = 0;
		x->req->etag[0] = 0;
	}
	/* HTTP/1.1 200 OK | HTTP/2 404 */
	while (p < end && *p != ' ')
		p++;
	p = skip_ws(p, end);
	uint64_t s;
	const char *q;
	if (!parse_u64(p, end, &s, &q) || s > 999)
		return;
	x->status = (long)s;
	q = skip_ws(q, end);
	size_t n = 0;
	while (q < end && n < sizeof x->reason - 1 && *q != '\r' && *q != '\n') {
		x->reason[n++] = isprint((unsigned char)*q) ? *q : '?';
		q++;
	}
	x->reason[n] = 0;
}

/* The response headers a caller of xs_http_get_req asked for (bounded;
 * longer values are dropped, not cut). */
static void keep_header(struct xs_http_req *r, const char *k, size_t klen, const char *v,
			const char *vend)
{
	static const struct {
		const char *name;
		size_t off, size;
	} kept[] = {
		{ "Content-Type", offsetof(struct xs_http_req, content_type),
		  sizeof r->content_type },
		{ "WWW-Authenticate", offsetof(struct xs_http_req, www_authenticate),
		  sizeof r->www_authenticate },
		{ "Docker-Content-Digest", offsetof(struct xs_http_req, content_digest),
		  sizeof r->content_digest },
	};
	size_t vl = (size_t)(vend - v);
	for (size_t i = 0; i < XS_ARRAY_SIZE(kept); i++) {
		if (strlen(kept[i].name) != klen || strncasecmp(k, kept[i].name, klen))
			continue;
		char *dst = (char *)r + kept[i].off;
		if (vl < kept[i].size && !memchr(v, 0, vl) && !dst[0]) {
			memcpy(dst, v, vl);
			dst[vl] = 0;
		}
	}
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems;
	const char *p = buf, *end = buf + n;
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (end - p >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		new_response(x, p, end);
		return n;
	}
	if (!x->in_headers) /* trailers */
		return n;
	if (end == p) {
		x->in_headers = false;
		if (x->status >= 100 && x->status < 200)
			return n; /* an interim reply; the real one follows */
		if (decide(x) < 0)
			return 0;
		return n;
	}
	const char *colon = memchr(p, ':', (size_t)(end - p));
	if (!colon)
		return n;
	size_t klen = (size_t)(colon - p);
	const char *v = skip_ws(colon + 1, end);
	const char *vend = end;
	while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
		vend--;
	if (klen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
		uint64_t cl;
		const char *q;
		if (parse_u64(v, vend, &cl, &q) && q == vend && cl <= INT64_MAX)
			x->content_length = (int64_t)cl;
	} else if (klen == 13 && strncasecmp(p, "Content-Range", 13) == 0) {
		parse_content_range(x, v, vend);
	} else if (x->req) {
		keep_header(x->req, p, klen, v, vend);
		xs_http_req_validator(x->req, p, klen, v, (size_t)(vend - v));
	}
	return n;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	if (x->mode == BODY_PENDING) {
		/* No end of headers seen (should not happen): decide now. */
		x->in_headers = false;
		if (decide(x) < 0)
			return WRITE_ABORT;
	}
	switch (x->mode) {
	case BODY_SINK: {
		if (n > x->max_bytes || x->pos > x->max_bytes - n) {
			set_cause(x, "body exceeds the limit of %" PRIu64 " bytes", x->max_bytes);
			x->abort_err = -EFBIG;
			return WRITE_ABORT;
		}
		int r = x->sink->write(buf, n, x->sink->ud);
		if (r < 0) {
			char eb[128];
			set_cause(x, "storing the body failed after %" PRIu64 " bytes: %s", x->pos,
				  errno_str(-r, eb, sizeof eb));
			x->abort_err = r;
			return WRITE_ABORT;
		}
		x->pos += n;
		x->received += n;
		x->attempt_bytes += n;
		x->last_byte_ns = xs_now_ns();
		atomic_fetch_add(&total_body_bytes, (uint64_t)n);
		return n;
	}
	case BODY_ERROR: {
		size_t room = SNIPPET_MAX - x->snippet_len;
		size_t k = n < room ? n : room;
		memcpy(x->snippet + x->snippet_len, buf, k);
		x->snippet_len += k;
		x->snippet[x->snippet_len] = 0;
		x->errbody_len += n;
		return x->errbody_len > ERRBODY_MAX ? WRITE_ABORT : n;
	}
	case BODY_IGNORE:
	case BODY_NOT_MODIFIED:
	case BODY_PENDING:
	default:
		return n;
	}
}

/* ---- progress ------------------------------------------------------------ */

static void report_progress(struct xfer *x, enum xs_progress_state state)
{
	uint64_t now = xs_now_ns();
	double secs = (double)(now - x->attempt_start_ns) / 1e9;
	struct xs_progress_info pi = {
		.state = state,
		.label = x->label,
		.now = x->pos,
		.total = x->full_len > 0 ? x->full_len : -1,
		.speed = secs > 0.05 ? (uint64_t)((double)x->attempt_bytes / secs) : 0,
	};
	const struct xs_progress *p = x->h->o.progress;
	p->report(&pi, p->ud);
	x->reported = state == XS_PROGRESS_UPDATE;
	x->last_report_ns = now;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	struct xfer *x = ud;
	if (x->mode != BODY_SINK)
		return 0;
	uint64_t now = xs_now_ns();
	if (x->reported && now - x->last_report_ns < PROGRESS_INTERVAL_NS)
		return 0;
	report_progress(x, XS_PROGRESS_UPDATE);
	return 0;
}

/* ---- messages ------------------------------------------------------------ */

/* The URL for messages: user:password replaced, control bytes escaped. */
static void url_for_message(const char *url, char *out, size_t outsz)
{
	const char *s = strstr(url, "://");
	const char *at = NULL;
	if (s) {
		s += 3;
		for (const char *p = s; *p && *p != '/' && *p != '?' && *p != '#'; p++)
			if (*p == '@')
				at = p;
	}
	size_t o = 0;
	for (const char *p = url; *p && o + 4 < outsz; p++) {
		if (at && p == s) {
			const char *r = "***";
			while (*r && o + 4 < outsz)
				out[o++] = *r++;
			p = at - 1;
			at = NULL;
			continue;
		}
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, outsz - o, "%%%02X", c);
			continue;
		}
		out[o++] = (char)c;
	}
	if (outsz)
		out[o < outsz ? o : outsz - 1] = 0;
}

static const char *default_reason(long s)
{
	switch (s) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

static void status_cause(struct xfer *x)
{
	const char *reason = x->reason[0] ? x->reason : default_reason(x->status);
	char snip[SNIPPET_MAX + 8] = "";
	/* Quote a short plain-text error body (not HTML) when the status alone
	 * says little: proxies and CDNs explain refusals there. */
	if (x->status != 404 && x->status != 410 && x->snippet_len && x->snippet[0] != '<') {
		size_t o = 0;
		bool ok = true, space = false;
		for (size_t i = 0; i < x->snippet_len && ok; i++) {
			unsigned char c = (unsigned char)x->snippet[i];
			if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
				space = o > 0;
				continue;
			}
			if (c < 0x20 || c >= 0x7f) {
				ok = false;
				break;
			}
			if (space)
				snip[o++] = ' ';
			space = false;
			snip[o++] = (char)c;
		}
		snip[ok ? o : 0] = 0;
	}
	if (snip[0])
		set_cause(x, "HTTP %ld%s%s (\"%s%s\")", x->status, reason[0] ? " " : "", reason,
			  snip, x->errbody_len > x->snippet_len ? "..." : "");
	else
		set_cause(x, "HTTP %ld%s%s", x->status, reason[0] ? " " : "", reason);
}

/* ---- attempts ------------------------------------------------------------ */

enum verdict { V_DONE, V_FAIL, V_RETRY };

/* Classify a finished attempt; x->cause describes a failure. */
static enum verdict classify(struct xfer *x, CURLcode rc, uint64_t deadline_ns, int *err)
{
	char eb[128];
	*err = 0;
	if (x->abort_err < 0) {
		*err = x->abort_err;
		return V_FAIL;
	}
	if (x->restart) {
		*err = -EIO;
		return V_RETRY;
	}
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && x->mode == BODY_ERROR)) {
		long s = x->status;
		if (rc == CURLE_OK && (x->mode == BODY_SINK || x->mode == BODY_NOT_MODIFIED))
			return V_DONE;
		status_cause(x);
		if (s == 404 || s == 410) {
			*err = -ENOENT;
			return V_FAIL;
		}
		if (s == 429 || (s >= 500 && s < 600)) {
			*err = -EIO;
			return V_RETRY;
		}
		if (s >= 400 && s < 500) {
			*err = -EACCES;
			return V_FAIL;
		}
		if (s == 304)
			set_cause(x, "HTTP 304 Not Modified to a request that was not conditional");
		else if (s >= 300 && s < 400)
			set_cause(x, "HTTP %ld%s%s not followed", s, x->reason[0] ? " " : "", x->reason);
		*err = -EIO;
		return V_FAIL;
	}

	long oserr = 0;
	curl_easy_getinfo(x->c, CURLINFO_OS_ERRNO, &oserr);
	const char *detail = x->curl_err[0] ? x->curl_err : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT: {
		curl_off_t conn_us = 0;
		curl_easy_getinfo(x->c, CURLINFO_CONNECT_TIME_T, &conn_us);
		*err = -ETIMEDOUT;
		if (strstr(x->curl_err, "too slow")) {
			set_cause(x, "stalled: less than %ld B/s for %ld s after %" PRIu64 " bytes",
				  x->h->o.low_speed_limit, x->stall_s, x->pos);
			return V_RETRY;
		}
		if (deadline_ns && xs_now_ns() + 50000000ull >= deadline_ns) {
			set_cause(x, "timed out: no complete reply within %ld s after %" PRIu64 " bytes",
				  x->h->o.total_timeout_s, x->pos);
			return V_FAIL;
		}
		if (conn_us == 0)
			set_cause(x, "connect timed out after %.1f s", x->connect_ms / 1000.0);
		else
			set_cause(x, "timed out after %" PRIu64 " bytes: %s", x->pos, detail);
		return V_RETRY;
	}
	case CURLE_COULDNT_CONNECT:
		*err = -EIO;
		if (oserr == ECONNREFUSED)
			set_cause(x, "connection refused");
		else if (oserr)
			set_cause(x, "cannot connect: %s", errno_str((int)oserr, eb, sizeof eb));
		else
			set_cause(x, "cannot connect: %s", detail);
		return V_RETRY;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		*err = -EIO;
		set_cause(x, "%s", detail);
		return V_RETRY;
	case CURLE_RECV_ERROR:
		*err = -EIO;
		if (oserr == ECONNRESET || strstr(x->curl_err, "reset"))
			set_cause(x, "connection reset after %" PRIu64 " bytes", x->pos);
		else
			set_cause(x, "receive failed after %" PRIu64 " bytes: %s", x->pos, detail);
		return V_RETRY;
	case CURLE_PARTIAL_FILE:
		*err = -EIO;
		if (x->full_len >= 0)
			set_cause(x, "connection closed after %" PRIu64 " of %" PRId64 " bytes", x->pos,
				  x->full_len);
		else
			set_cause(x, "connection closed after %" PRIu64 " bytes", x->pos);
		return V_RETRY;
	case CURLE_GOT_NOTHING:
		*err = -EIO;
		set_cause(x, "empty reply from server");
		return V_RETRY;
	case CURLE_SEND_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		*err = -EIO;
		set_cause(x, "%s", detail);
		return V_RETRY;
	case CURLE_TOO_MANY_REDIRECTS:
		*err = -EIO;
		set_cause(x, "too many redirects");
		return V_FAIL;
	case CURLE_UNSUPPORTED_PROTOCOL:
		*err = -EIO;
		set_cause(x, "redirected to a protocol other than http or https: %s", detail);
		return V_FAIL;
	case CURLE_URL_MALFORMAT:
		*err = -EINVAL;
		set_cause(x, "%s", detail);
		return V_FAIL;
	case CURLE_OUT_OF_MEMORY:
		*err = -ENOMEM;
		set_cause(x, "out of memory");
		return V_FAIL;
	default:
		*err = -EIO;
		set_cause(x, "%s", detail);
		return V_FAIL;
	}
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t backoff_ns(const struct xfer *x, int attempt)
{
	uint64_t cap_s = (uint64_t)x->h->o.max_backoff_s;
	if (x->status == 429 || x->status == 503) {
		curl_off_t ra = -1;
		if (curl_easy_getinfo(x->c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			return ((uint64_t)ra < cap_s ? (uint64_t)ra : cap_s) * 1000000000ull;
	}
	int shift = attempt - 1 < 20 ? attempt - 1 : 20;
	uint64_t ms = (uint64_t)BACKOFF_FIRST_MS << shift;
	if (ms > cap_s * 1000)
		ms = cap_s * 1000;
	return ms * 1000000ull;
}

/* The deadline of the request now: the total one, or sooner the idle one
 * (idle_timeout_s after the last body byte); 0 for none. */
static uint64_t request_deadline(const struct xfer *x, uint64_t total_deadline)
{
	long idle_s = x->h->o.idle_timeout_s;
	if (idle_s <= 0)
		return total_deadline;
	uint64_t idle = x->last_byte_ns + (uint64_t)idle_s * 1000000000ull;
	return total_deadline && total_deadline < idle ? total_deadline : idle;
}

/* A new attempt needs time to connect and deliver a byte: with less than
 * this left before the idle deadline (half the idle timeout, at most 2 s)
 * the request fails now rather than retry into a certain timeout.  This
 * also makes "no data for N s" one attempt however the stall detector's
 * window (counted from the attempt's start) and the last byte line up. */
static uint64_t idle_retry_window(const struct xfer *x)
{
	long idle_s = x->h->o.idle_timeout_s;
	uint64_t w = idle_s > 0 ? (uint64_t)idle_s * 500000000ull : 0;
	return w < 2000000000ull ? w : 2000000000ull;
}

/* The connect timeout and stall time of the next attempt: as configured,
 * capped at the idle timeout and at what is left before deadline. */
static void attempt_limits(struct xfer *x, uint64_t deadline)
{
	const struct xs_http_opts *o = &x->h->o;
	x->stall_s = o->low_speed_time_s;
	if (o->idle_timeout_s > 0 && (x->stall_s == 0 || o->idle_timeout_s < x->stall_s))
		x->stall_s = o->idle_timeout_s;
	x->connect_ms = o->connect_timeout_s * 1000;
	if (deadline) {
		uint64_t now = xs_now_ns();
		uint64_t left = deadline > now ? (deadline - now) / 1000000ull : 1;
		if (x->connect_ms == 0 || left < (uint64_t)x->connect_ms)
			x->connect_ms = left > 0 ? (long)left : 1;
	}
	curl_easy_setopt(x->c, CURLOPT_LOW_SPEED_TIME, x->stall_s);
	curl_easy_setopt(x->c, CURLOPT_CONNECTTIMEOUT_MS, x->connect_ms);
}

static int setup_handle(struct xfer *x)
{
	struct xs_http *h = x->h;
	CURL *c = x->c;
	CURLcode e = CURLE_OK;
#define SET(opt, val)                                  \
	do {                                           \
		if (e == CURLE_OK)                     \
			e = curl_easy_setopt(c, opt, val); \
	} while (0)
	SET(CURLOPT_SHARE, h->share);
	SET(CURLOPT_URL, x->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, h->o.connect_timeout_s);
	SET(CURLOPT_LOW_SPEED_LIMIT, h->o.low_speed_limit);
	SET(CURLOPT_LOW_SPEED_TIME, h->o.low_speed_time_s);
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, 5L);
	/* request headers (Authorization among them) go to the first host only:
	 * libcurl drops a custom Authorization on a redirect to another host,
	 * port or scheme unless told otherwise, and it is not told */
	SET(CURLOPT_UNRESTRICTED_AUTH, 0L);
	if (x->hdrs)
		SET(CURLOPT_HTTPHEADER, x->hdrs);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FAILONERROR, 0L);
	SET(CURLOPT_USERAGENT, h->user_agent);
	/* The raw bytes are verified: no Accept-Encoding, no decoding. */
	SET(CURLOPT_HTTP_CONTENT_DECODING, 0L);
	SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	if (h->proxy)
		SET(CURLOPT_PROXY, h->proxy);
	SET(CURLOPT_ERRORBUFFER, x->curl_err);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	if (x->progress) {
		SET(CURLOPT_XFERINFOFUNCTION, on_progress);
		SET(CURLOPT_XFERINFODATA, x);
		SET(CURLOPT_NOPROGRESS, 0L);
	}
#undef SET
	if (e == CURLE_OUT_OF_MEMORY)
		return -ENOMEM;
	return e == CURLE_OK ? 0 : -EIO;
}

static bool url_scheme_ok(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static const char *label_of(const char *url)
{
	const char *q = url + strcspn(url, "?#");
	const char *s = q;
	while (s > url && s[-1] != '/')
		s--;
	return s < q ? s : url;
}

static bool slist_add(struct curl_slist **l, const char *hv)
{
	struct curl_slist *n = curl_slist_append(*l, hv);
	if (n)
		*l = n;
	return n != NULL;
}

/* req's headers as curl takes them: x->hdrs, and when req has a condition
 * x->cond_hdrs, the same and the condition (the caller frees both).
 * -EINVAL for an If-None-Match that is no entity tag. */
static int req_headers(struct xfer *x, struct xs_http_req *req)
{
	char ims[64], inm[XS_HTTP_ETAG_MAX + 16], date[32];
	req->status = 0;
	req->not_modified = false;
	if (req->if_none_match && !xs_http_etag_ok(req->if_none_match))
		return -EINVAL;
	xs_http_date(req->if_modified_since, date);
	snprintf(ims, sizeof ims, "If-Modified-Since: %s", date);
	snprintf(inm, sizeof inm, "If-None-Match: %s", req->if_none_match ? req->if_none_match : "");
	bool ok = true, cond = req->if_modified_since > 0 || req->if_none_match;
	for (int c = 0; c <= (int)cond; c++) {
		struct curl_slist **l = c ? &x->cond_hdrs : &x->hdrs;
		for (size_t i = 0; ok && req->headers && req->headers[i]; i++)
			ok = slist_add(l, req->headers[i]);
		if (ok && c && req->if_modified_since > 0)
			ok = slist_add(l, ims);
		if (ok && c && req->if_none_match)
			ok = slist_add(l, inm);
	}
	return ok ? 0 : -ENOMEM;
}

int xs_http_get(struct xs_http *h, const char *url, uint64_t max_bytes,
		const struct xs_http_sink *sink, const char *label,
		struct xs_http_stats *stats, char *err, size_t errsz)
{
	return xs_http_get_req(h, url, max_bytes, sink, label, NULL, stats, err, errsz);
}

int xs_http_get_req(struct xs_http *h, const char *url, uint64_t max_bytes,
		    const struct xs_http_sink *sink, const char *label, struct xs_http_req *req,
		    struct xs_http_stats *stats, char *err, size_t errsz)
{
	char ubuf[1024];
	if (err && errsz)
		err[0] = 0;
	if (stats)
		memset(stats, 0, sizeof *stats);
	if (!h || !url || !sink || !sink->write)
		return -EINVAL;
	url_for_message(url, ubuf, sizeof ubuf);
	if (!url_scheme_ok(url)) {
		if (err && errsz)
			snprintf(err, errsz, "GET %s: only http and https URLs are supported", ubuf);
		return -EINVAL;
	}

	int r = 0;
	struct xfer x = {
		.h = h,
		.url = url,
		.sink = sink,
		.max_bytes = max_bytes,
		.full_len = -1,
		.content_length = -1,
		.req = req,
	};
	r = req ? req_headers(&x, req) : 0;
	if (r < 0) {
		if (r == -EINVAL && err && errsz)
			snprintf(err, errsz, "GET %s: not an entity tag for If-None-Match", ubuf);
		curl_slist_free_all(x.hdrs);
		curl_slist_free_all(x.cond_hdrs);
		return r;
	}
	char label_buf[80];
	if (h->o.progress && h->o.progress->report) {
		x.progress = true;
		if (!label) {
			const char *l = label_of(url);
			snprintf(label_buf, sizeof label_buf, "%.*s", (int)strcspn(l, "?#"), l);
			label = label_buf;
		}
		x.label = label;
	}
	x.c = pool_get(h);
	if (!x.c) {
		if (err && errsz)
			snprintf(err, errsz, "GET %s: cannot create a transfer handle", ubuf);
		curl_slist_free_all(x.hdrs);
		curl_slist_free_all(x.cond_hdrs);
		return -ENOMEM;
	}
	r = setup_handle(&x);
	if (r < 0) {
		if (err && errsz)
			snprintf(err, errsz, "GET %s: cannot set up the transfer", ubuf);
		pool_put(h, x.c);
		curl_slist_free_all(x.hdrs);
		curl_slist_free_all(x.cond_hdrs);
		return r;
	}

	uint64_t start = xs_now_ns();
	uint64_t total_deadline = h->o.total_timeout_s > 0
					  ? start + (uint64_t)h->o.total_timeout_s * 1000000000ull
					  : 0;
	uint64_t deadline = total_deadline;
	x.last_byte_ns = start;
	int attempt = 0;
	long last_status = 0;
	bool deadline_hit = false;
	for (;;) {
		attempt++;
		deadline = request_deadline(&x, total_deadline);
		x.range_from = x.pos;
		x.attempt_bytes = 0;
		x.attempt_start_ns = xs_now_ns();
		x.abort_err = 0;
		x.restart = false;
		x.cause[0] = 0;
		x.curl_err[0] = 0;
		x.in_headers = false;
		x.status = 0;
		x.mode = BODY_PENDING;

		char range[32];
		snprintf(range, sizeof range, "%" PRIu64 "-", x.range_from);
		curl_easy_setopt(x.c, CURLOPT_RANGE, x.range_from ? range : NULL);
		x.cond = x.cond_hdrs && x.range_from == 0;
		curl_easy_setopt(x.c, CURLOPT_HTTPHEADER, x.cond ? x.cond_hdrs : x.hdrs);
		long timeout_ms = 0; /* the idle deadline is the stall detector's */
		if (total_deadline) {
			uint64_t now = xs_now_ns();
			uint64_t left = total_deadline > now ? (total_deadline - now) / 1000000ull : 0;
			timeout_ms = left > 0 ? (long)(left < LONG_MAX ? left : LONG_MAX) : 1;
		}
		curl_easy_setopt(x.c, CURLOPT_TIMEOUT_MS, timeout_ms);
		attempt_limits(&x, deadline);

		CURLcode rc = curl_easy_perform(x.c);
		if (x.status)
			last_status = x.status;
		enum verdict v = classify(&x, rc, total_deadline, &r);
		if (v == V_DONE) {
			r = 0;
			break;
		}
		if (v == V_FAIL || attempt > h->o.retries)
			break;
		uint64_t wait = backoff_ns(&x, attempt);
		deadline = request_deadline(&x, total_deadline);
		uint64_t window = deadline != total_deadline ? idle_retry_window(&x) : 0;
		if (deadline && xs_now_ns() + wait + window >= deadline) {
			deadline_hit = true;
			break;
		}
		if (x.reported)
			report_progress(&x, XS_PROGRESS_RETRY);
		sleep_ns(wait);
	}
	if (x.reported)
		report_progress(&x, XS_PROGRESS_DONE);

	if (r < 0 && err && errsz) {
		char tail[80] = "", why[48] = "";
		if (deadline_hit && deadline == total_deadline)
			snprintf(why, sizeof why, ", time limit reached");
		else if (deadline_hit)
			snprintf(why, sizeof why, ", no data for %ld s", h->o.idle_timeout_s);
		if (attempt > 1 || deadline_hit)
			snprintf(tail, sizeof tail, " (%d attempts%s)", attempt, why);
		snprintf(err, errsz, "GET %s: %s%s", ubuf, x.cause[0] ? x.cause : "failed", tail);
	}
	if (stats) {
		stats->status = last_status;
		stats->bytes = x.received;
		stats->attempts = attempt;
	}
	if (req) {
		req->status = last_status;
		req->not_modified = r == 0 && x.mode == BODY_NOT_MODIFIED;
	}
	pool_put(h, x.c);
	curl_slist_free_all(x.hdrs);
	curl_slist_free_all(x.cond_hdrs);
	return r;
}

static int sink_buf_write(const void *p, size_t n, void *ud)
{
	return xs_buf_append(ud, p, n);
}

static int sink_buf_reset(void *ud)
{
	((struct xs_buf *)ud)->len = 0;
	return 0;
}

struct xs_http_sink xs_http_sink_buf(struct xs_buf *b)
{
	return (struct xs_http_sink){ sink_buf_write, sink_buf_reset, b };
}
