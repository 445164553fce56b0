/* host.c - what the commands ask of the host; see host.h. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host.h"
#include "xs-build.h"
#include "xsysroot/util.h"

int run_fusermount(const char *mp, bool lazy)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (lazy)
			execl(XS_FUSERMOUNT, "fusermount3", "-u", "-z", "-q", "--", mp, (char *)NULL);
		else
			execl(XS_FUSERMOUNT, "fusermount3", "-u", "--", mp, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* A mount whose daemon is gone.  stat() can be answered from the kernel's
 * attribute cache; statfs always reaches the daemon, so it tells. */
bool mount_is_dead(const char *path)
{
	struct statvfs sv;
	return statvfs(path, &sv) < 0 && errno == ENOTCONN;
}

void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Undo the octal escapes of /proc/self/mountinfo (\040 ...) in place. */
static void mountinfo_unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p;) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
			p += 4;
		} else {
			*o++ = *p++;
		}
	}
	*o = 0;
}

int mountinfo_foreach(int (*cb)(const char *mp, const char *fstype, const char *source,
				void *ud),
		      void *ud)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	int q = 0;
	while (q == 0 && getline(&line, &cap, f) > 0) {
		/* id parent maj:min root MOUNTPOINT options [optional...] - TYPE SOURCE super */
		char *save = NULL, *fields[64];
		size_t n = 0;
		for (char *t = strtok_r(line, " \n", &save); t && n < XS_ARRAY_SIZE(fields);
		     t = strtok_r(NULL, " \n", &save))
			fields[n++] = t;
		size_t sep = 6;
		while (sep < n && strcmp(fields[sep], "-"))
			sep++;
		if (n < 5 || sep + 2 >= n)
			continue;
		mountinfo_unescape(fields[4]);
		mountinfo_unescape(fields[sep + 2]);
		q = cb(fields[4], fields[sep + 1], fields[sep + 2], ud);
	}
	free(line);
	fclose(f);
	return q;
}

struct source_ctx {
	const char *mp;
	char *fstype, *source;
	size_t ftsz, srcsz;
	bool found;
};

static int source_cb(const char *mp, const char *fstype, const char *source, void *ud)
{
	struct source_ctx *c = ud;
	if (!strcmp(mp, c->mp)) {
		/* keep reading: a later line is mounted over it */
		snprintf(c->fstype, c->ftsz, "%s", fstype);
		snprintf(c->source, c->srcsz, "%s", source);
		c->found = true;
	}
	return 0;
}

int mount_source(const char *mp, char *fstype, size_t ftsz, char *source, size_t srcsz)
{
	struct source_ctx c = { mp, fstype, source, ftsz, srcsz, false };
	int q = mountinfo_foreach(source_cb, &c);
	return q < 0 ? q : c.found ? 0 : -ENOENT;
}

bool path_lookup(const char *prog, char full[PATH_MAX])
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n && snprintf(full, PATH_MAX, "%.*s/%s", (int)n, p, prog) < PATH_MAX &&
		    access(full, X_OK) == 0)
			return true;
		p += n + (e ? 1 : 0);
	}
	return false;
}

/* The program name if it is in PATH, else NULL. */
const char *in_path(const char *prog)
{
	char full[PATH_MAX];
	return path_lookup(prog, full) ? prog : NULL;
}

/* sd_notify(3)'s READY=1, by hand: one datagram to the AF_UNIX socket named
 * in $NOTIFY_SOCKET (a leading '@' is an abstract name). */
void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = path ? strlen(path) : 0;
	if (n < 2 || n >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@'))
		return;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	char msg[64];
	int len = snprintf(msg, sizeof msg, "READY=1\nMAINPID=%ld", (long)getpid());
	(void)sendto(fd, msg, (size_t)len, MSG_NOSIGNAL, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

int fuse_usable(char *why, size_t whysz)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(why, whysz, "there is no /dev/fuse: load the module (modprobe "
					     "fuse) or, in a container, pass the device in "
					     "(docker run --device /dev/fuse)");
		else if (e == EACCES || e == EPERM)
			snprintf(why, whysz, "/dev/fuse cannot be opened by this user (%s): as root, "
					     "chmod 0666 /dev/fuse (Debian's default mode), or mount "
					     "as root", strerror(e));
		else
			snprintf(why, whysz, "cannot open /dev/fuse: %s", strerror(e));
		return -e;
	}
	close(fd);
	if (geteuid() != 0 && access(XS_FUSERMOUNT, X_OK) < 0) {
		snprintf(why, whysz, "%s is not installed, and a user needs it to mount "
				     "(Debian package fuse3)", XS_FUSERMOUNT);
		return -ENOENT;
	}
	return 0;
}
