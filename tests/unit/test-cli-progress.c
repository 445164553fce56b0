/* test-cli-progress.c - the command line's progress line (src/cli/progress.c)
 * with stderr on a pseudo-terminal and on a pipe: the core's reports drawn
 * as one line redrawn in place ("LABEL: HAVE / TOTAL  PCT%  SPEED/s"), ended
 * with a newline; a retry erases it; a command's own lines share it; on a
 * pipe nothing but messages. */
#include "tap.h"
#include "progress.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

/* What the reader end fd holds now (at most outsz - 1 bytes). */
static size_t drain(int fd, char *out, size_t outsz)
{
	size_t len = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (len < outsz - 1 && poll(&p, 1, 200) > 0) {
		ssize_t n = read(fd, out + len, outsz - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = 0;
	return len;
}

static void report(const struct xs_progress *cb, enum xs_progress_state st, uint64_t now,
		   int64_t total)
{
	struct xs_progress_info pi = { st, "hello 2.10-3 arm64", now, total, 1000 };
	cb->report(&pi, cb->ud);
}

static void test_terminal(int saved)
{
	int mfd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	char name[128];
	int sfd = -1;
	if (mfd >= 0 && grantpt(mfd) == 0 && unlockpt(mfd) == 0 &&
	    ptsname_r(mfd, name, sizeof name) == 0)
		sfd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(sfd >= 0, "a pseudo-terminal for stderr");
	if (sfd < 0)
		return;
	/* raw: the terminal passes "\r" and "\n" as they are */
	struct termios t;
	CHECK(tcgetattr(sfd, &t) == 0 && (cfmakeraw(&t), tcsetattr(sfd, TCSANOW, &t) == 0),
	      "the pseudo-terminal is raw");
	char out[8192];
	struct cli_progress p;
	fflush(stderr);
	dup2(sfd, 2);
	const struct xs_progress *cb = cli_progress_init(&p);
	report(cb, XS_PROGRESS_UPDATE, 1000000, 2000000);
	report(cb, XS_PROGRESS_UPDATE, 1000000, 2000000);
	report(cb, XS_PROGRESS_DONE, 2000000, 2000000);
	dup2(saved, 2);
	size_t len = drain(mfd, out, sizeof out);
	CHECK(cb != NULL, "on a terminal: a callback for the core");
	const char *upd = "\rhello 2.10-3 arm64: 1.0 MB / 2.0 MB  50%  1.0 kB/s\033[K";
	CHECK(strstr(out, upd) != NULL,
	      "an update: label, sizes, percentage and speed, redrawn in place");
	CHECK(strstr(strstr(out, upd) + 1, upd) == NULL, "the same line is not drawn twice");
	CHECK(strstr(out, "\rhello 2.10-3 arm64: 2.0 MB / 2.0 MB  100%") != NULL,
	      "the end: the whole size");
	CHECK(len > 0 && !memchr(out, '\n', len), "the end keeps the line: nothing scrolls");
	dup2(sfd, 2);
	cli_progress_end(&p, "fetched %d files", 1);
	dup2(saved, 2);
	len = drain(mfd, out, sizeof out);
	CHECK(len > 0 && !strcmp(out, "\rfetched 1 files\033[K\n"),
	      "the command's summary replaces the line and ends it");

	dup2(sfd, 2);
	report(cb, XS_PROGRESS_UPDATE, 5000, -1);
	report(cb, XS_PROGRESS_RETRY, 5000, -1);
	cli_progress_draw(&p, "[%d/%d] %s", 1, 2, "libc6");
	cli_progress_say(&p, "a message");
	dup2(saved, 2);
	drain(mfd, out, sizeof out);
	CHECK(strstr(out, "\rhello 2.10-3 arm64: 5.0 kB  1.0 kB/s\033[K") != NULL,
	      "an unknown size: no total and no percentage");
	CHECK(strstr(out, "\r\033[K\r[1/2] libc6\033[K") != NULL,
	      "a retry erases the line; a command's line replaces it");
	CHECK(strstr(out, "\r\033[Kxsysroot: a message\n") != NULL,
	      "a message goes over the line, on a line of its own");
	/* a narrow terminal: the line is cut to its width less one, never wraps */
	struct winsize ws = { .ws_row = 24, .ws_col = 30 };
	dup2(sfd, 2);
	ioctl(sfd, TIOCSWINSZ, &ws);
	cli_progress_draw(&p, "%s", "0123456789012345678901234567890123456789");
	cli_progress_erase(&p);
	dup2(saved, 2);
	drain(mfd, out, sizeof out);
	CHECK(strstr(out, "\r01234567890123456789012345678\033[K") != NULL,
	      "a line is cut to the terminal's width less one");
	cli_progress_free(&p);
	close(sfd);
	close(mfd);
}

static void test_pipe(int saved)
{
	int pfd[2];
	bool have = pipe2(pfd, O_CLOEXEC | O_NONBLOCK) == 0;
	CHECK(have, "a pipe for stderr");
	if (!have)
		return;
	struct cli_progress p;
	fflush(stderr);
	dup2(pfd[1], 2);
	const struct xs_progress *cb = cli_progress_init(&p);
	cli_progress_draw(&p, "[1/2] libc6");
	cli_progress_erase(&p);
	cli_progress_say(&p, "a message");
	dup2(saved, 2);
	char out[512];
	drain(pfd[0], out, sizeof out);
	CHECK(cb == NULL, "on a pipe: no callback, so the core reports nothing");
	CHECK_STR(out, "xsysroot: a message\n", "on a pipe: the message alone, no progress");
	cli_progress_free(&p);
	close(pfd[0]);
	close(pfd[1]);
}

int main(void)
{
	int saved = dup(2);
	test_terminal(saved);
	test_pipe(saved);
	close(saved);
	return tap_done();
}
