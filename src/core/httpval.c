/* httpval.c - the pure part of include/xsysroot/http.h: the syntax of the
 * validators of a conditional GET (an entity tag, an HTTP-date).  No curl,
 * no state. */
#include "xsysroot/http.h"
#include "xsysroot/release.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

bool xs_http_etag_ok(const char *s)
{
	size_t n = strnlen(s, XS_HTTP_ETAG_MAX);
	if (n >= XS_HTTP_ETAG_MAX)
		return false;
	if (n >= 2 && s[0] == 'W' && s[1] == '/')
		s += 2, n -= 2;
	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c != 0x21 && (c < 0x23 || c > 0x7e))
			return false;
	}
	return true;
}

void xs_http_date(int64_t t, char out[32])
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		tt = 0;
		gmtime_r(&tt, &tm);
	}
	snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
		 months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
}

void xs_http_req_validator(struct xs_http_req *r, const char *name, size_t nlen, const char *v,
			   size_t vlen)
{
	char val[XS_HTTP_ETAG_MAX];
	int64_t t;
	if (vlen >= sizeof val || memchr(v, 0, vlen))
		return;
	memcpy(val, v, vlen);
	val[vlen] = 0;
	if (nlen == 13 && strncasecmp(name, "Last-Modified", 13) == 0)
		r->last_modified = xs_parse_rfc2822(val, &t) == 0 && t > 0 ? t : 0;
	else if (nlen == 4 && strncasecmp(name, "ETag", 4) == 0 && xs_http_etag_ok(val))
		memcpy(r->etag, val, vlen + 1);
}
