/* httpd.c - see httpd.h */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 1024

struct httpd HTTPD;

static struct {
	int lfd;
	int wake[2]; /* write end closed to stop every thread */
	pthread_t acceptor;
	httpd_handler handler;
	pthread_t conns[MAX_CONNS]; /* under HTTPD.mu */
	int nconns;
} S;

bool httpd_stopping(int ms)
{
	struct pollfd p = { .fd = S.wake[0], .events = POLLIN };
	return poll(&p, 1, ms) > 0;
}

int httpd_send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

void httpd_reply_head(int fd, int code, const char *reason, const char *extra, long long clen,
		       bool close_conn)
{
	char h[1536];
	int n = snprintf(h, sizeof h, "HTTP/1.1 %d %s\r\n%s", code, reason, extra ? extra : "");
	if (clen >= 0)
		n += snprintf(h + n, sizeof h - (size_t)n, "Content-Length: %lld\r\n", clen);
	n += snprintf(h + n, sizeof h - (size_t)n, "Connection: %s\r\n\r\n",
		      close_conn ? "close" : "keep-alive");
	httpd_send_all(fd, h, (size_t)n);
}

void httpd_reply_text(int fd, int code, const char *reason, const char *extra, const char *body)
{
	httpd_reply_head(fd, code, reason, extra, (long long)strlen(body), false);
	httpd_send_all(fd, body, strlen(body));
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[8192];
	size_t len = 0;
	for (;;) {
		char *eoh = NULL;
		while (!(eoh = memmem(buf, len, "\r\n\r\n", 4))) {
			struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
					       { .fd = S.wake[0], .events = POLLIN } };
			if (len == sizeof buf || poll(p, 2, 10000) <= 0 || p[1].revents)
				goto out;
			ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
			if (n <= 0)
				goto out;
			len += (size_t)n;
		}
		*eoh = 0;
		char path[512] = "";
		sscanf(buf, "GET %511s", path);
		long long rf = -1, rt = -1;
		pthread_mutex_lock(&HTTPD.mu);
		HTTPD.requests++;
		HTTPD.saw_accept_encoding |= strcasestr(buf, "\r\nAccept-Encoding:") != NULL;
		const char *ua = strcasestr(buf, "\r\nUser-Agent: ");
		if (ua)
			snprintf(HTTPD.last_ua, sizeof HTTPD.last_ua, "%.*s",
				 (int)strcspn(ua + 14, "\r"), ua + 14);
		const char *au = strcasestr(buf, "\r\nAuthorization: ");
		snprintf(HTTPD.last_auth, sizeof HTTPD.last_auth, "%.*s",
			 au ? (int)strcspn(au + 17, "\r") : 0, au ? au + 17 : "");
		const char *ims = strcasestr(buf, "\r\nIf-Modified-Since: ");
		snprintf(HTTPD.last_ims, sizeof HTTPD.last_ims, "%.*s",
			 ims ? (int)strcspn(ims + 21, "\r") : 0, ims ? ims + 21 : "");
		const char *inm = strcasestr(buf, "\r\nIf-None-Match: ");
		snprintf(HTTPD.last_inm, sizeof HTTPD.last_inm, "%.*s",
			 inm ? (int)strcspn(inm + 17, "\r") : 0, inm ? inm + 17 : "");
		const char *rg = strcasestr(buf, "\r\nRange: bytes=");
		if (rg) {
			HTTPD.saw_range = true;
			rf = atoll(rg + 15);
			const char *dash = strchr(rg + 15, '-');
			if (dash && dash[1] >= '0' && dash[1] <= '9')
				rt = atoll(dash + 1);
		}
		pthread_mutex_unlock(&HTTPD.mu);
		size_t used = (size_t)(eoh + 4 - buf);
		bool keep = S.handler(fd, path, rf, rt);
		memmove(buf, buf + used, len - used);
		len -= used;
		if (!keep)
			break;
	}
out:
	close(fd);
	return NULL;
}

static void *accept_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p[2] = { { .fd = S.lfd, .events = POLLIN },
				       { .fd = S.wake[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(S.lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&HTTPD.mu);
		HTTPD.accepted++;
		if (S.nconns == MAX_CONNS ||
		    pthread_create(&S.conns[S.nconns], NULL, conn_main, (void *)(intptr_t)fd) != 0)
			close(fd);
		else
			S.nconns++;
		pthread_mutex_unlock(&HTTPD.mu);
	}
	return NULL;
}

int httpd_start(httpd_handler handler)
{
	S.handler = handler;
	pthread_mutex_init(&HTTPD.mu, NULL);
	if (pipe2(S.wake, O_CLOEXEC) < 0)
		return -1;
	S.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	if (S.lfd < 0 || bind(S.lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(S.lfd, 64) < 0 ||
	    getsockname(S.lfd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	HTTPD.port = ntohs(a.sin_port);
	return pthread_create(&S.acceptor, NULL, accept_main, NULL) == 0 ? 0 : -1;
}

void httpd_stop(void)
{
	close(S.wake[1]);
	pthread_join(S.acceptor, NULL);
	pthread_mutex_lock(&HTTPD.mu);
	int n = S.nconns;
	pthread_mutex_unlock(&HTTPD.mu);
	for (int i = 0; i < n; i++)
		pthread_join(S.conns[i], NULL);
	close(S.lfd);
	close(S.wake[0]);
	pthread_mutex_destroy(&HTTPD.mu);
}

