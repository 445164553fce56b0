/* fuse_ops.h - the FUSE side: the only code that includes <fuse_lowlevel.h>.
 * It decodes each request, asks the core (repo/view), and replies once. */
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
};

/* Mount, daemonize unless foreground, serve until unmounted or signalled.
 * Returns 0 after a clean unmount, or a negative errno (with err filled)
 * when the mount could not be made. */
int xs_fuse_serve(struct xs_repo *repo, const struct xs_mount_opts *o, char *err,
		  size_t errsz);
#endif
