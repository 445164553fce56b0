/* progress.h - how the core reports the progress of a transfer.
 *
 * The core never draws on a terminal.  A transfer (http.h) reports its
 * progress through a callback, as libcurl's CURLOPT_XFERINFOFUNCTION does:
 * bytes so far, the total when known, and a label naming the object
 * ("libc6 2.36-9 arm64").  Whoever set the callback (the command line)
 * decides whether and how to show it.
 *
 * What is reported, for one transfer:
 *   - XS_PROGRESS_UPDATE, at most ten times a second while body bytes
 *     arrive;
 *   - XS_PROGRESS_RETRY, before the wait for another attempt, when an
 *     update was reported since the last RETRY (what was shown is stale);
 *   - XS_PROGRESS_DONE, once at the end, when an update was reported since
 *     the last RETRY, with the final counts (also when the transfer failed).
 * A transfer that reports no update reports nothing else either.
 *
 * Threads: the callback is called from the thread doing the transfer, and
 * concurrent transfers call it at the same time; it serialises what it
 * shares itself.  It must not block for long, and must not call back into
 * the transfer.  The info and its label are valid during the call only.
 */
#ifndef XSYSROOT_PROGRESS_H
#define XSYSROOT_PROGRESS_H
#include <stdint.h>

enum xs_progress_state {
	XS_PROGRESS_UPDATE,
	XS_PROGRESS_RETRY,
	XS_PROGRESS_DONE,
};

struct xs_progress_info {
	enum xs_progress_state state;
	const char *label; /* the object (never NULL) */
	uint64_t now;	   /* body bytes of the object so far */
	int64_t total;	   /* its size, -1 when unknown */
	uint64_t speed;	   /* bytes per second of the current attempt */
};

/* A progress callback and its argument.  A configuration holds a pointer
 * to one (NULL: no progress reported); it must outlive every transfer of
 * the object it was given to. */
struct xs_progress {
	void (*report)(const struct xs_progress_info *info, void *ud);
	void *ud;
};
#endif
