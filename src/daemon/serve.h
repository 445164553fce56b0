/* serve.h - serve a repository's view on a mount point: the one path that
 * both `xsysroot mount` and `xsysroot run`'s private mount take.
 *
 * In this process (child NULL): mount, go into the background unless
 * o->foreground, serve until unmounted or signalled (mount).
 *
 * From a child process (child not NULL): fork; the child puts itself in
 * its own process group (so that the terminal's ^C reaches the program
 * the caller runs, not the daemon), asks for SIGTERM when its parent dies
 * (auto_unmount then takes the mount away), calls child->setup, and serves
 * in the foreground; xs_serve returns once the mount is there (run).  A
 * child that cannot mount logs why through o->log and exits with status 1.
 *
 * Not thread safe (it forks); call it from the main thread.
 */
#ifndef XSYSROOT_SERVE_H
#define XSYSROOT_SERVE_H
#include <signal.h>
#include <sys/types.h>

#include "fuse_ops.h"
#include "xsysroot/repo.h"

struct xs_serve_child {
	void (*setup)(void *ud); /* in the child, before it serves; may be NULL */
	void *ud;
	/* the wait for the mount ends (-EINTR, err empty) as soon as *cancel
	 * is non-zero (a signal handler sets it); may be NULL */
	volatile sig_atomic_t *cancel;
	pid_t pid; /* out: the child that serves, 0 when none is left */
};

/* Serve repo as o says, here or (child) from a child process.  Here: 0
 * after a clean unmount, or a negative errno with err filled.  Child: 0
 * once the mount is up; a negative errno with err filled (the fork failed,
 * the child ended without mounting, or the mount did not come up in 60 s)
 * or -EINTR (cancelled).  child->pid is set whenever a child is still
 * running, also on a failure: the caller unmounts and reaps it. */
int xs_serve(struct xs_repo *repo, const struct xs_mount_opts *o, struct xs_serve_child *child,
	     char *err, size_t errsz);
#endif
