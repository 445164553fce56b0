/* progress.c - the progress line on stderr; see progress.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "progress.h"
#include "xsysroot/util.h"

#define ERASE "\033[K" /* erase to the end of the line */

/* The terminal's width less one (a line as wide as the terminal wraps on
 * some), at least 20; 79 when unknown. */
static size_t line_width(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
		return 79;
	return ws.ws_col > 21 ? (size_t)ws.ws_col - 1 : 20;
}

/* Replace the line with text (cut to the width), unless it shows it
 * already; with p->lock held. */
static void put_line(struct cli_progress *p, const char *text, bool newline)
{
	char line[sizeof p->last];
	snprintf(line, sizeof line, "%s", text);
	size_t w = line_width();
	if (!newline && strlen(line) > w) /* a line that stays is whole */
		line[w] = 0;
	if (!newline && p->shown && !strcmp(line, p->last))
		return;
	fprintf(stderr, "\r%s" ERASE "%s", line, newline ? "\n" : "");
	fflush(stderr);
	snprintf(p->last, sizeof p->last, "%s", newline ? "" : line);
	p->shown = !newline && *line;
}

/* The core's report of one download, drawn. */
static void draw_report(const struct xs_progress_info *pi, void *ud)
{
	struct cli_progress *p = ud;
	if (!p->tty)
		return; /* a copy in a daemon that no longer draws */
	char have[32], total[32], speed[32], line[256];
	if (pi->state == XS_PROGRESS_RETRY) {
		cli_progress_erase(p);
		return;
	}
	xs_fmt_size(pi->now, have, sizeof have);
	xs_fmt_size(pi->speed, speed, sizeof speed);
	if (pi->total > 0) {
		int pct = (int)((double)pi->now * 100.0 / (double)pi->total);
		xs_fmt_size((uint64_t)pi->total, total, sizeof total);
		snprintf(line, sizeof line, "%s: %s / %s  %d%%  %s/s", pi->label, have, total, pct,
			 speed);
	} else {
		snprintf(line, sizeof line, "%s: %s  %s/s", pi->label, have, speed);
	}
	pthread_mutex_lock(&p->lock);
	if (pi->state == XS_PROGRESS_DONE) {
		p->done++;
		p->bytes += pi->now;
	}
	put_line(p, line, false);
	pthread_mutex_unlock(&p->lock);
}

const struct xs_progress *cli_progress_init(struct cli_progress *p)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
	p->tty = isatty(STDERR_FILENO) == 1;
	p->report = (struct xs_progress){ draw_report, p };
	return p->tty ? &p->report : NULL;
}

void cli_progress_free(struct cli_progress *p)
{
	pthread_mutex_destroy(&p->lock);
}

/* The line replaced by fmt's text, ended with a newline or not. */
__attribute__((format(printf, 3, 0))) static void vput(struct cli_progress *p, bool newline, const char *fmt, va_list ap)
{
	if (!p->tty)
		return;
	char line[sizeof p->last];
	vsnprintf(line, sizeof line, fmt, ap);
	pthread_mutex_lock(&p->lock);
	put_line(p, line, newline);
	pthread_mutex_unlock(&p->lock);
}

void cli_progress_draw(struct cli_progress *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vput(p, false, fmt, ap);
	va_end(ap);
}

void cli_progress_erase(struct cli_progress *p)
{
	if (!p->tty)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->shown) {
		fputs("\r" ERASE, stderr);
		fflush(stderr);
	}
	p->shown = false;
	p->last[0] = 0;
	pthread_mutex_unlock(&p->lock);
}

void cli_progress_end(struct cli_progress *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vput(p, true, fmt, ap);
	va_end(ap);
}

void cli_progress_say(struct cli_progress *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&p->lock);
	fprintf(stderr, "%sxsysroot: ", p->tty && p->shown ? "\r" ERASE : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	p->shown = false;
	p->last[0] = 0;
	pthread_mutex_unlock(&p->lock);
	va_end(ap);
}
