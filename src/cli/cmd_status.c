/* cmd_status.c - xsysroot status [MOUNTPOINT]: the xsysroot mounts of
 * /proc/self/mountinfo (type fuse.xsysroot, source xsysroot:ARCH) and what
 * each daemon says in the user.xsysroot.status extended attribute of its
 * root (see fuse_ops.c): no socket, no file of its own. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>

#include "command.h"
#include "host.h"
#include "xsysroot/util.h"

#define STATUS_XATTR "user.xsysroot.status"
#define MAX_STATUS (1u << 20)

struct status_ctx {
	const char *only; /* a real path, or NULL: every mount */
	int shown, dead;
};

/* The value of key in the status text, or NULL (points into text). */
static const char *field(const char *text, const char *key, size_t *len)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			*len = n - kl - 1;
			return p + kl + 1;
		}
		p = e ? e + 1 : NULL;
	}
	return NULL;
}

static unsigned long long num(const char *text, const char *key)
{
	size_t n;
	const char *v = field(text, key, &n);
	return v ? strtoull(v, NULL, 10) : 0;
}

static void print_status(const char *text)
{
	char a[32], b[32], c[32];
	for (const char *p = text; (p = strstr(p, "source=")) != NULL; p++)
		if (p == text || p[-1] == '\n')
			printf("  source:      %.*s\n", (int)strcspn(p + 7, "\n"), p + 7);
	size_t n;
	const char *v = field(text, "cache_dir", &n);
	if (v)
		printf("  cache:       %.*s%s\n", (int)n, v,
		       num(text, "offline") ? " (offline: no network)" : "");
	printf("  packages:    %llu in the view, %llu fetched\n", num(text, "packages"),
	       num(text, "packages_fetched"));
	printf("  downloaded:  %s (%llu .debs: %s; indexes: %s)\n",
	       xs_fmt_size(num(text, "bytes_downloaded"), a, sizeof a), num(text, "debs_fetched"),
	       xs_fmt_size(num(text, "deb_bytes"), b, sizeof b),
	       xs_fmt_size(num(text, "index_bytes"), c, sizeof c));
	printf("  cache hits:  %llu\n", num(text, "cache_hits"));
	printf("  in flight:   %llu\n", num(text, "in_flight"));
	printf("  failures:    %llu\n", num(text, "fetch_failures"));
	if (num(text, "quota"))
		printf("  quota:       %s (%llu packages evicted)\n",
		       xs_fmt_size(num(text, "quota"), a, sizeof a), num(text, "evicted"));
	bool any = false;
	for (const char *p = text; (p = strstr(p, "error=")) != NULL; p++) {
		if (p != text && p[-1] != '\n')
			continue;
		char *end;
		time_t t = (time_t)strtoll(p + 6, &end, 10);
		char ts[32];
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		if (!any)
			printf("  recent errors:\n");
		any = true;
		printf("    %s %.*s\n", ts, (int)strcspn(end + (*end == ' '), "\n"),
		       end + (*end == ' '));
	}
}

/* The daemon's status text (malloc'ed), or NULL with errno set. */
static char *read_status(const char *mp)
{
	for (int tries = 0; tries < 3; tries++) {
		ssize_t n = getxattr(mp, STATUS_XATTR, NULL, 0);
		if (n < 0)
			return NULL;
		if ((size_t)n > MAX_STATUS) {
			errno = E2BIG;
			return NULL;
		}
		char *buf = xs_xmalloc((size_t)n + 1);
		ssize_t m = getxattr(mp, STATUS_XATTR, buf, (size_t)n);
		if (m >= 0) {
			buf[m] = 0;
			return buf;
		}
		free(buf);
		if (errno != ERANGE) /* grew between the calls: again */
			return NULL;
	}
	return NULL;
}

static int status_cb(const char *mp, const char *fstype, const char *source, void *ud)
{
	struct status_ctx *c = ud;
	if (strcmp(fstype, "fuse.xsysroot") || (c->only && strcmp(mp, c->only)))
		return 0;
	const char *arch = strncmp(source, "xsysroot:", 9) ? source : source + 9;
	c->shown++;
	if (c->shown > 1)
		printf("\n");
	if (mount_is_dead(mp)) {
		c->dead++;
		printf("%s: %s, dead (its daemon is gone: run xsysroot umount %s)\n", mp, arch, mp);
		return 0;
	}
	char *text = read_status(mp);
	if (!text) {
		printf("%s: %s, live, no status: %s\n", mp, arch,
		       errno == ENOTSUP || errno == ENODATA ? "its daemon does not report one (an older "
							      "xsysroot)"
							    : strerror(errno));
		return 0;
	}
	printf("%s: %s, live\n", mp, arch);
	print_status(text);
	free(text);
	return 0;
}

static int cmd_status(const struct cli_command *self, int argc, char **argv)
{
	int o = cli_getopt_help(self, argc, argv);
	if (o != CLI_END)
		return cli_stop_status(o);
	if (argc - optind > 1)
		return cli_usage_error(self, "status takes one MOUNTPOINT at most");
	char mp[PATH_MAX];
	struct status_ctx c = { 0 };
	if (argc - optind == 1) {
		const char *arg = argv[optind];
		if (!realpath(arg, mp)) /* a dead mount cannot be resolved */
			snprintf(mp, sizeof mp, "%s", arg);
		c.only = mp;
	}
	int q = mountinfo_foreach(status_cb, &c);
	if (q < 0) {
		fprintf(stderr, "xsysroot: cannot read /proc/self/mountinfo: %s\n", strerror(-q));
		return 1;
	}
	if (c.only && !c.shown) {
		fprintf(stderr, "xsysroot: %s is not an xsysroot mount\n", c.only);
		return 1;
	}
	if (!c.shown)
		printf("no xsysroot mounts\n");
	return c.dead ? 1 : 0;
}

const struct cli_command cli_cmd_status = {
	.name = "status",
	.run = cmd_status,
	.synopsis = "status [MOUNTPOINT]",
	.summary = "show the xsysroot mounts and their daemons' counters",
	.help =
	"List the xsysroot mounts (or MOUNTPOINT's) with their daemon's counters and\n"
	"recent errors, read from the user.xsysroot.status extended attribute of the\n"
	"mount's root; a mount whose daemon died is shown dead (exit 1).  Every file\n"
	"of a mount has the extended attributes user.xsysroot.package,\n"
	"user.xsysroot.version and user.xsysroot.sha256.\n",
};
