/* httpd.h - a small HTTP/1.1 server for the unit tests, in this process on
 * 127.0.0.1 (an accept thread plus one thread per connection, keep-alive).
 * It parses each GET (path, Range) and hands it to the test's handler,
 * which answers with the helpers below and may misbehave at will.  One
 * server per process.  No network beyond loopback. */
#ifndef XS_TEST_HTTPD_H
#define XS_TEST_HTTPD_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Answer one request on fd: path is the request target ("/a/b?x=1"),
 * range_from/range_to the Range "bytes=FROM-[TO]" (-1: absent).  Return
 * false to close the connection. */
typedef bool (*httpd_handler)(int fd, const char *path, long long range_from,
			      long long range_to);

struct httpd {
	int port;	    /* after httpd_start */
	pthread_mutex_t mu; /* guards what follows; a handler may use it too */
	int accepted;	    /* connections */
	int requests;
	char last_ua[128];
	char last_auth[128]; /* Authorization of the last request, "" without */
	char last_ims[64];   /* its If-Modified-Since, "" without */
	char last_inm[256];  /* its If-None-Match, "" without */
	bool saw_accept_encoding;
	bool saw_range;
};
extern struct httpd HTTPD;

/* 0, or -1 when the server cannot start. */
int httpd_start(httpd_handler handler);
/* Stops every thread and closes every connection. */
void httpd_stop(void);
/* Wait up to ms milliseconds; true when the server is stopping. */
bool httpd_stopping(int ms);
int httpd_send_all(int fd, const void *p, size_t n);
/* The status line and headers (extra: more header lines, each ending in
 * CRLF); clen < 0 sends no Content-Length. */
void httpd_reply_head(int fd, int code, const char *reason, const char *extra, long long clen,
		      bool close_conn);
void httpd_reply_text(int fd, int code, const char *reason, const char *extra, const char *body);
#endif
