/* progress.c - the progress line on stderr; see progress.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"
#include "xsysroot/util.h"

#define ERASE "\033[K" /* erase to the end of the line */

/* The core's report of one download, drawn. */
static void draw_report(const struct xs_progress_info *pi, void *ud)
{
	struct cli_progress *p = ud;
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
	fprintf(stderr, "\r%s" ERASE "%s", line, pi->state == XS_PROGRESS_DONE ? "\n" : "");
	fflush(stderr);
	pthread_mutex_unlock(&p->lock);
}

const struct xs_progress *cli_progress_init(struct cli_progress *p)
{
	pthread_mutex_init(&p->lock, NULL);
	p->tty = isatty(STDERR_FILENO) == 1;
	p->report = (struct xs_progress){ draw_report, p };
	return p->tty ? &p->report : NULL;
}

void cli_progress_free(struct cli_progress *p)
{
	pthread_mutex_destroy(&p->lock);
}

void cli_progress_draw(struct cli_progress *p, const char *fmt, ...)
{
	if (!p->tty)
		return;
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&p->lock);
	fputs("\r" ERASE, stderr);
	vfprintf(stderr, fmt, ap);
	fflush(stderr);
	pthread_mutex_unlock(&p->lock);
	va_end(ap);
}

void cli_progress_erase(struct cli_progress *p)
{
	if (!p->tty)
		return;
	pthread_mutex_lock(&p->lock);
	fputs("\r" ERASE, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&p->lock);
}

void cli_progress_say(struct cli_progress *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&p->lock);
	fprintf(stderr, "%sxsysroot: ", p->tty ? "\r" ERASE : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&p->lock);
	va_end(ap);
}
