/* cmd_status.c - xsysroot status [MOUNTPOINT]: the xsysroot mounts of
 * /proc/self/mountinfo (type fuse.xsysroot, source xsysroot:ARCH) and what
 * each daemon says in the user.xsysroot.status extended attribute of its
 * root (see fuse_ops.c): no socket, no file of its own. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "command.h"
#include "host.h"
#include "xsysroot/identity.h"
#include "xsysroot/util.h"

struct status_ctx {
	const char *only; /* a real path, or NULL: every mount */
	int shown, dead;
};

static unsigned long long num(const char *text, const char *key)
{
	size_t n;
	const char *v = xs_id_status_field(text, key, &n);
	return v ? strtoull(v, NULL, 10) : 0;
}

static void print_status(const char *text)
{
	char a[32], b[32], c[32];
	const char *src = XS_STATUS_SOURCE "=", *er = XS_STATUS_ERROR "=";
	for (const char *p = text; (p = strstr(p, src)) != NULL; p++)
		if (p == text || p[-1] == '\n')
			printf("  source:      %.*s\n", (int)strcspn(p + strlen(src), "\n"),
			       p + strlen(src));
	size_t n;
	const char *v = xs_id_status_field(text, XS_STATUS_CACHE_DIR, &n);
	if (v)
		printf("  cache:       %.*s%s\n", (int)n, v,
		       num(text, XS_STATUS_OFFLINE) ? " (offline: no network)" : "");
	printf("  packages:    %llu in the view, %llu fetched\n", num(text, XS_STATUS_PACKAGES),
	       num(text, XS_STATUS_PACKAGES_FETCHED));
	size_t nb;
	const char *base = xs_id_status_field(text, XS_STATUS_BASE, &nb);
	v = xs_id_status_field(text, XS_STATUS_DECLARED, &n);
	if (v) /* an archive's view: exactly the closure of these */
		printf("  declared:    %.*s (base: %.*s)\n", n ? (int)n : 6, n ? v : "(none)",
		       base ? (int)nb : 0, base ? base : "");
	printf("  downloaded:  %s (%llu .debs: %s; indexes: %s)\n",
	       xs_fmt_size(num(text, XS_STATUS_BYTES_DOWNLOADED), a, sizeof a),
	       num(text, XS_STATUS_DEBS_FETCHED),
	       xs_fmt_size(num(text, XS_STATUS_DEB_BYTES), b, sizeof b),
	       xs_fmt_size(num(text, XS_STATUS_INDEX_BYTES), c, sizeof c));
	printf("  cache hits:  %llu\n", num(text, XS_STATUS_CACHE_HITS));
	printf("  in flight:   %llu\n", num(text, XS_STATUS_IN_FLIGHT));
	printf("  failures:    %llu\n", num(text, XS_STATUS_FETCH_FAILURES));
	if (num(text, XS_STATUS_QUOTA))
		printf("  quota:       %s (%llu packages evicted)\n",
		       xs_fmt_size(num(text, XS_STATUS_QUOTA), a, sizeof a),
		       num(text, XS_STATUS_EVICTED));
	bool any = false;
	for (const char *p = text; (p = strstr(p, er)) != NULL; p++) {
		if (p != text && p[-1] != '\n')
			continue;
		char *end;
		time_t t = (time_t)strtoll(p + strlen(er), &end, 10);
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
	char *text = NULL;
	int q = xs_id_read_status(mp, &text);
	if (q < 0)
		errno = -q;
	return q < 0 ? NULL : text;
}

static int status_cb(const char *mp, const char *fstype, const char *source, void *ud)
{
	struct status_ctx *c = ud;
	if (strcmp(fstype, XS_ID_FSTYPE) || (c->only && strcmp(mp, c->only)))
		return 0;
	const char *arch = xs_id_fsname_arch(source) ? xs_id_fsname_arch(source) : source;
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
