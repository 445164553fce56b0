/* serve.c - serve a repository's view, here or from a child (serve.h). */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xsysroot/util.h"

#define READY_WAIT_MS (60 * 1000)
#define READY_POLL_MS 10

/* The child: serve in the foreground, tell the parent through ready_fd
 * once mounted; never returns. */
__attribute__((noreturn)) static void serve_in_child(struct xs_repo *repo,
						     const struct xs_mount_opts *o,
						     const struct xs_serve_child *child,
						     pid_t parent, int ready_fd)
{
	setpgid(0, 0);
	/* if the parent is killed outright, the daemon goes too (and
	 * auto_unmount takes the mount away) */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	if (child->setup)
		child->setup(child->ud);
	struct xs_mount_opts mo = *o;
	mo.foreground = true;
	char err[4096] = "";
	int q = xs_fuse_serve(repo, &mo, ready_fd, err, sizeof err);
	if (q < 0)
		xs_logf(o->log, o->log_ud, XS_LOG_ERR, "%s", err);
	_exit(q < 0 ? 1 : 0);
}

/* The parent: wait for the child's byte on ready_fd (the mount is up),
 * its end (it could not mount), the bound, or *cancel. */
static int wait_ready(const struct xs_mount_opts *o, struct xs_serve_child *child, int ready_fd,
		      char *err, size_t errsz)
{
	for (int waited = 0; waited < READY_WAIT_MS; waited += READY_POLL_MS) {
		if (child->cancel && *child->cancel)
			return -EINTR;
		struct pollfd p = { .fd = ready_fd, .events = POLLIN };
		if (poll(&p, 1, READY_POLL_MS) <= 0)
			continue; /* nothing yet, or a signal */
		char c;
		ssize_t n;
		do
			n = read(ready_fd, &c, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			return 0;
		/* no byte: the child ended without mounting */
		int st;
		waitpid(child->pid, &st, 0);
		child->pid = 0;
		snprintf(err, errsz, "the private mount at %s failed", o->mountpoint);
		return -EIO;
	}
	if (child->cancel && *child->cancel)
		return -EINTR;
	snprintf(err, errsz, "the private mount at %s did not come up in %d s", o->mountpoint,
		 READY_WAIT_MS / 1000);
	return -ETIMEDOUT;
}

int xs_serve(struct xs_repo *repo, const struct xs_mount_opts *o, struct xs_serve_child *child,
	     char *err, size_t errsz)
{
	if (!child)
		return xs_fuse_serve(repo, o, -1, err, errsz);
	child->pid = 0;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		int e = errno;
		snprintf(err, errsz, "cannot make a pipe: %s", strerror(e));
		return -e;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		snprintf(err, errsz, "cannot fork: %s", strerror(e));
		close(fds[0]);
		close(fds[1]);
		return -e;
	}
	if (pid == 0) {
		close(fds[0]);
		serve_in_child(repo, o, child, parent, fds[1]);
	}
	close(fds[1]);
	child->pid = pid;
	int q = wait_ready(o, child, fds[0], err, errsz);
	close(fds[0]);
	return q;
}
