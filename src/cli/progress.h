/* progress.h - the progress line on stderr, when stderr is a terminal.
 *
 * The core reports the progress of its downloads (xsysroot/progress.h);
 * this draws them on one line, replaced in place ("\r" and erase to the
 * end of the line): "LABEL: HAVE / TOTAL  PCT%  SPEED/s", the label naming
 * the suite and the file, or the package.  A transfer that ends leaves its
 * last figures on the line until the next one replaces them; nothing
 * scrolls, and a line is never drawn twice in a row.  The command replaces
 * the line with its own summary at the end (cli_progress_end), or erases
 * it.  Commands draw their own lines ("[n/N] ...") through the same lock,
 * so that lines of concurrent threads do not mix.  Lines that are
 * replaced are cut to the terminal's width, so that one never wraps.  On a pipe or a file, or with
 * -q, nothing is drawn at all. */
#ifndef XSYSROOT_CLI_PROGRESS_H
#define XSYSROOT_CLI_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "xsysroot/progress.h"

struct cli_progress {
	struct xs_progress report; /* what the core reports to */
	pthread_mutex_t lock;	   /* serialises the line on stderr and what follows */
	bool tty;		   /* stderr is a terminal and no -q: draw */
	bool shown;		   /* the line holds text */
	char last[512];		   /* what the line shows */
	unsigned done;		   /* transfers ended */
	uint64_t bytes;		   /* their bytes */
};

/* Set p up for stderr as it is now: the callback to give the core when
 * stderr is a terminal, else NULL.  p must outlive every transfer it is
 * given to. */
const struct xs_progress *cli_progress_init(struct cli_progress *p);
void cli_progress_free(struct cli_progress *p);

/* The line replaced by the text (no newline), on a terminal only. */
void cli_progress_draw(struct cli_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The line erased, on a terminal only. */
void cli_progress_erase(struct cli_progress *p);
/* The line replaced by the text and a newline, on a terminal only: the
 * summary that ends a command's progress. */
void cli_progress_end(struct cli_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "xsysroot: MESSAGE" on a line of its own, over the progress line. */
void cli_progress_say(struct cli_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
