/* cli.c - what the commands of the xsysroot program share. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#include "cli.h"
#include "config.h"
#include "xsysroot/util.h"

/* ---- logging: the daemon's log file, and stderr in the foreground ---- */

void log_cb(int level, const char *msg, void *ud)
{
	struct logger *lg = ud;
	if (level >= XS_LOG_DEBUG && !lg->debug)
		return;
	const char *lv = level <= XS_LOG_ERR ? "error" : level == XS_LOG_WARN ? "warning"
						   : level == XS_LOG_INFO ? "info"
									  : "debug";
	if (lg->fd >= 0) {
		char ts[64];
		time_t t = time(NULL);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		dprintf(lg->fd, "%s xsysroot[%ld] %s: %s: %s\n", ts, (long)getpid(),
			lg->mountpoint ? lg->mountpoint : "-", lv, msg);
	}
	if (lg->to_stderr)
		fprintf(stderr, "xsysroot: %s%s%s\n", level <= XS_LOG_WARN ? lv : "",
			level <= XS_LOG_WARN ? ": " : "", msg);
}

/* ---- helpers ---------------------------------------------------------- */

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

/* The repository options that mount and ldd share: true when c was one. */
bool repo_option(int c, struct xs_repo_config *cfg, char cache_dir[PATH_MAX])
{
	switch (c) {
	case OPT_MIRROR: cfg->mirror = optarg; return true;
	case OPT_SUITE: cfg->suite = optarg; return true;
	case OPT_COMPONENTS: cfg->components = optarg; return true;
	case OPT_PACKAGES: cfg->packages = optarg; return true;
	case OPT_KEYRING: cfg->keyring = optarg; return true;
	case OPT_CACHE_DIR: snprintf(cache_dir, PATH_MAX, "%s", optarg); return true;
	case OPT_ALLOW_EXPIRED: cfg->allow_expired = true; return true;
	case OPT_IMAGE: cfg->image = optarg; return true;
	case OPT_PLAIN_HTTP: cfg->plain_http = true; return true;
	case OPT_CREDS: cfg->creds = optarg; return true;
	case OPT_AUTH_FILE: cfg->auth_file = optarg; return true;
	default: return false;
	}
}

/* The cache directory (given, or this user's default), created, as an
 * absolute path in abs; -1 after saying why on stderr. */
int open_cache_dir(char cache_dir[PATH_MAX], char abs[PATH_MAX])
{
	if (!cache_dir[0] && xs_default_cache_dir(cache_dir, PATH_MAX) < 0) {
		fprintf(stderr, "xsysroot: no cache directory: set HOME or pass --cache-dir\n");
		return -1;
	}
	if (xs_mkdir_p(cache_dir, 0755) < 0 || !realpath(cache_dir, abs)) {
		fprintf(stderr, "xsysroot: cannot create the cache directory %s: %s\n", cache_dir,
			strerror(errno));
		return -1;
	}
	return 0;
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

/* The file system type and source of the topmost mount at mp (a real
 * path): 0, or -ENOENT when mp is no mount point. */
int mount_source(const char *mp, char *fstype, size_t ftsz, char *source, size_t srcsz)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	int q = -ENOENT;
	while (getline(&line, &cap, f) > 0) {
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
		if (strcmp(fields[4], mp))
			continue;
		mountinfo_unescape(fields[sep + 2]);
		snprintf(fstype, ftsz, "%s", fields[sep + 1]);
		snprintf(source, srcsz, "%s", fields[sep + 2]);
		q = 0; /* keep reading: a later line is mounted over it */
	}
	free(line);
	fclose(f);
	return q;
}

/* The program name if it is in PATH, else NULL. */
const char *in_path(const char *prog)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char full[PATH_MAX];
		if (n && snprintf(full, sizeof full, "%.*s/%s", (int)n, p, prog) < (int)sizeof full &&
		    access(full, X_OK) == 0)
			return prog;
		p += n + (e ? 1 : 0);
	}
	return NULL;
}

/* s quoted for sh when it needs it (a fresh string). */
char *sh_quote(const char *s)
{
	struct xs_buf b;
	xs_buf_init(&b, SIZE_MAX / 2);
	bool plain = *s != 0;
	for (const char *p = s; *p && plain; p++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			       "_@%+=:,./-", *p) != NULL;
	if (plain) {
		xs_buf_printf(&b, "%s", s);
	} else {
		xs_buf_append(&b, "'", 1);
		for (const char *p = s; *p; p++)
			if (*p == '\'')
				xs_buf_append(&b, "'\\''", 4);
			else
				xs_buf_append(&b, p, 1);
		xs_buf_append(&b, "'", 1);
	}
	return xs_buf_steal(&b, NULL);
}

char *fmt_str(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

