/* fuse_ops.h - the FUSE side: the only code that includes <fuse_lowlevel.h>.
 * It decodes each request, asks the core (lookup.h, view.h), and replies
 * once.  The commands serve a repository through serve.h. */
#ifndef XSYSROOT_FUSE_OPS_H
#define XSYSROOT_FUSE_OPS_H
#include <stdbool.h>
#include "xsysroot/repo.h"

struct xs_mount_opts {
	const char *mountpoint;
	const char *fuse_opts; /* extra -o options, may be NULL */
	bool foreground;
	bool debug;
	int max_threads;
	xs_log_fn log;
	void *log_ud;
	void (*ready)(void); /* called once mounted (and daemonized), may be NULL */
	/* called once mounted, before going into the background (stderr is
	 * still the caller's), may be NULL */
	void (*mounted)(void *ud);
	void *mounted_ud;
};

/* Mount, daemonize unless foreground, serve until unmounted or signalled.
 * Once mounted (and daemonized), o->ready is called and, when ready_fd is
 * not -1, one byte is written to ready_fd, which is then closed (on a
 * failure before that, it stays open: the caller's).  Returns
 * 0 after a clean unmount, or a negative errno (with err filled) when the
 * mount could not be made. */
int xs_fuse_serve(struct xs_repo *repo, const struct xs_mount_opts *o, int ready_fd, char *err,
		  size_t errsz);
#endif
