/* http.h - HTTP(S) GET over libcurl (http.c; its pure part, the syntax of
 * validators, is httpval.c).  The only module that includes
 * <curl/curl.h>; CURLcode and HTTP statuses become negative errno here:
 *   404, 410            -> -ENOENT
 *   other 4xx           -> -EACCES
 *   5xx, 429 (retries exhausted), connection refused/reset -> -EIO
 *   timeouts, a stalled transfer (below low_speed_limit for low_speed_time)
 *                       -> -ETIMEDOUT
 *   body larger than max_bytes -> -EFBIG
 *   the sink's own negative errno is passed through (-ENOSPC, -EFBIG, ...)
 *   too many redirects, a redirect to another protocol, any other
 *   unexpected reply -> -EIO;  a URL that is not http(s) -> -EINVAL
 * and err receives a one-line message naming the URL and what happened.
 *
 * Retries: transient failures (connect/reset/timeout, 5xx, 429) are retried
 * up to opts.retries times with exponential backoff (honouring Retry-After,
 * capped at opts.max_backoff_s).  When a transfer broke after some bytes, the
 * next attempt asks for "Range: bytes=N-"; only a 206 whose Content-Range
 * starts at exactly N (and whose total, if given, matches) is appended;
 * anything else (200, a lying Content-Range) makes the sink restart from zero
 * through reset().  Redirects are followed (at most 5, http/https only).
 *
 * Progress: reported through opts.progress (progress.h), never drawn here.
 *
 * Thread safety: one xs_http may be used from many threads at once; each
 * call uses its own easy handle (connections and DNS are shared).
 */
#ifndef XSYSROOT_HTTP_H
#define XSYSROOT_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/progress.h"
#include "xsysroot/util.h"

struct xs_http_opts {
	long connect_timeout_s;	/* default 15 */
	long low_speed_time_s;	/* default 30: stalled below low_speed_limit this long */
	long low_speed_limit;	/* bytes/s, default 1 */
	long total_timeout_s;	/* whole request including retries, default 300; 0 = none */
	/* 0 (default) = none.  Otherwise the request ends with -ETIMEDOUT once
	 * no body byte has reached the sink for this long, across attempts and
	 * the pauses between them: each byte restarts the clock, so a slow but
	 * steady transfer runs as long as it needs (apt's Timeout).  Each
	 * attempt's connect timeout and stall time are capped at it; libcurl
	 * averages the speed over the last few seconds, so a transfer that
	 * stops dead after a fast start is detected up to about 5 s later. */
	long idle_timeout_s;
	int retries;		/* default 3 */
	long max_backoff_s;	/* default 30 */
	const char *proxy;	/* NULL: libcurl's usual http_proxy variables */
	/* progress of each transfer (progress.h), NULL: none; it outlives
	 * the xs_http */
	const struct xs_progress *progress;
};
void xs_http_opts_default(struct xs_http_opts *o);
/* Bound a download as apt bounds one (its Timeout, with libcurl's low-speed
 * options as apt's https method set them): no bound on the whole; it fails
 * when no body byte arrived for timeout_s (idle_timeout_s); an attempt that
 * runs below XS_HTTP_MIN_SPEED bytes/s for timeout_s ends as stalled (and
 * the next attempt, if any, resumes with Range); connecting takes at most
 * timeout_s or connect_timeout_s, whichever is less. */
#define XS_HTTP_MIN_SPEED 10
void xs_http_opts_inactivity(struct xs_http_opts *o, long timeout_s);

struct xs_http;
int xs_http_new(const struct xs_http_opts *o, struct xs_http **out);
void xs_http_free(struct xs_http *h);

struct xs_http_sink {
	/* receives body bytes in order; a negative return aborts the transfer */
	int (*write)(const void *p, size_t n, void *ud);
	/* forget every byte written so far; NULL means the sink cannot restart,
	 * so a broken transfer fails instead of restarting */
	int (*reset)(void *ud);
	void *ud;
};
/* A sink that collects the body in b (bounded by b's limit); a restart
 * empties it. */
struct xs_http_sink xs_http_sink_buf(struct xs_buf *b);

struct xs_http_stats {
	long status;	   /* last HTTP status */
	uint64_t bytes;	   /* body bytes received over all attempts */
	int attempts;
};

/* GET url into sink.  At most max_bytes body bytes are accepted (UINT64_MAX:
 * no limit).  label (may be NULL: the URL's file name) names the object in
 * the progress reports ("libc6 2.36-9 arm64").  stats may be NULL. */
int xs_http_get(struct xs_http *h, const char *url, uint64_t max_bytes,
		const struct xs_http_sink *sink, const char *label,
		struct xs_http_stats *stats, char *err, size_t errsz);

/* Request headers in, response headers out (the final response, after
 * redirects).  headers: "Name: value" strings, NULL-terminated, may be
 * NULL; they go to the URL's host only: an Authorization header is never
 * sent on to another host, port or scheme a redirect names.  A response
 * header longer than its field is left out.
 *
 * A conditional GET (RFC 9110 13.1, as apt asks for an index it holds):
 * if_modified_since > 0 sends "If-Modified-Since: <that time as an
 * HTTP-date>", if_none_match "If-None-Match: <it>" (an entity tag that
 * xs_http_etag_ok accepts, else the call is -EINVAL).  They go only with
 * an attempt that asks for the whole body: never with a Range (a transfer
 * resumed after a broken 200 asks for the rest unconditionally, as apt).
 * A 304 to such an attempt is a success with not_modified set and nothing
 * given to the sink (bytes 0); a 304 to a request without a condition is
 * -EIO ("not conditional").  The caller owns the meaning of a 304: it
 * only says the server still has what the validators describe. */
#define XS_HTTP_ETAG_MAX 192
struct xs_http_req {
	const char *const *headers;
	int64_t if_modified_since;   /* seconds since the epoch, 0: none */
	const char *if_none_match;   /* NULL: none */
	long status;		     /* last HTTP status (401 with www_authenticate: a challenge) */
	bool not_modified;	     /* a 304 answered the condition: the sink got nothing */
	char content_type[256];
	char www_authenticate[2048];
	char content_digest[96];     /* Docker-Content-Digest */
	int64_t last_modified;	     /* Last-Modified, seconds since the epoch; 0: none or unreadable */
	char etag[XS_HTTP_ETAG_MAX]; /* ETag when xs_http_etag_ok accepts it, else "" */
};
/* Whether s is one entity tag as RFC 9110 8.8.3 spells it: an optional
 * "W/", then '"', characters 0x21 and 0x23-0x7e, '"'; shorter than
 * XS_HTTP_ETAG_MAX.  Anything else (spaces, control bytes, lists, "*")
 * is never stored nor sent.  Pure. */
bool xs_http_etag_ok(const char *s);
/* Keep the response header name: value (not NUL-terminated) in r when it
 * is a validator: Last-Modified as an HTTP-date (IMF-fixdate, read by
 * release.h's date reader; another form is left out) and an ETag that
 * xs_http_etag_ok accepts.  Pure. */
void xs_http_req_validator(struct xs_http_req *r, const char *name, size_t nlen, const char *v,
			   size_t vlen);
/* The IMF-fixdate of t ("Sun, 06 Nov 1994 08:49:37 GMT", C locale
 * names whatever the process locale) into out.  Pure. */
void xs_http_date(int64_t t, char out[32]);
/* xs_http_get with request headers and kept response headers (req may be
 * NULL).  A 401 is -EACCES, as for xs_http_get, with req->status 401. */
int xs_http_get_req(struct xs_http *h, const char *url, uint64_t max_bytes,
		    const struct xs_http_sink *sink, const char *label, struct xs_http_req *req,
		    struct xs_http_stats *stats, char *err, size_t errsz);

/* Global byte counter of this process (for status and tests). */
uint64_t xs_http_total_bytes(void);
#endif
