/* cmd_status.c - xsysroot status [--json] [MOUNTPOINT]: the xsysroot mounts
 * of /proc/self/mountinfo (type fuse.xsysroot, source xsysroot:ARCH) and
 * what each daemon says in the user.xsysroot.status extended attribute of
 * its root (see fuse_ops.c): no socket, no file of its own.  --json writes
 * the same as one JSON document (man/xsysroot.1, JSON OUTPUT). */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "command.h"
#include "host.h"
#include "output.h"
#include "xsysroot/deb822.h"
#include "xsysroot/identity.h"
#include "xsysroot/util.h"

#define MAX_DPKG_STATUS (64u << 20) /* bound on the view's var/lib/dpkg/status */

struct status_ctx {
	const char *only; /* a real path, or NULL: every mount */
	int shown, dead;
	struct json_object *mounts; /* --json: the array being filled, else NULL */
};

static unsigned long long num(const char *text, const char *key)
{
	size_t n;
	const char *v = xs_id_status_field(text, key, &n);
	return v ? strtoull(v, NULL, 10) : 0;
}

/* Each value of key (a key that may repeat) in text: cb(value, length). */
static void each_value(const char *text, const char *key,
		       void (*cb)(const char *v, size_t n, void *ud), void *ud)
{
	size_t kl = strlen(key);
	for (const char *p = text; (p = strstr(p, key)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[kl] == '=')
			cb(p + kl + 1, strcspn(p + kl + 1, "\n"), ud);
}

static void print_source(const char *v, size_t n, void *ud)
{
	(void)ud;
	printf("  source:      %.*s\n", (int)n, v);
}

/* "error=EPOCH MESSAGE": the time and the message. */
static time_t error_parts(const char *v, size_t n, const char **msg, size_t *mlen)
{
	char *end;
	time_t t = (time_t)strtoll(v, &end, 10);
	if (end > v + n)
		end = (char *)v + n;
	*msg = end + (end < v + n && *end == ' ');
	*mlen = n - (size_t)(*msg - v);
	return t;
}

static const char *fmt_utc(time_t t, char *out, size_t outsz)
{
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	return out;
}

static void print_error(const char *v, size_t n, void *ud)
{
	bool *any = ud;
	const char *msg;
	size_t mlen;
	char ts[32];
	time_t t = error_parts(v, n, &msg, &mlen);
	if (!*any)
		printf("  recent errors:\n");
	*any = true;
	printf("    %s %.*s\n", fmt_utc(t, ts, sizeof ts), (int)mlen, msg);
}

static void print_status(const char *text)
{
	char a[32], b[32], c[32];
	each_value(text, XS_STATUS_SOURCE, print_source, NULL);
	size_t n;
	const char *v = xs_id_status_field(text, XS_STATUS_CACHE_DIR, &n);
	if (v)
		printf("  cache:       %.*s%s\n", (int)n, v,
		       num(text, XS_STATUS_OFFLINE) ? " (offline: no network)" : "");
	if (num(text, XS_STATUS_PID))
		printf("  daemon:      pid %llu, up %llu s\n", num(text, XS_STATUS_PID),
		       (unsigned long long)(time(NULL) - (time_t)num(text, XS_STATUS_STARTED)));
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
	each_value(text, XS_STATUS_ERROR, print_error, &any);
}

/* ---- --json ------------------------------------------------------------ */

static struct json_object *jstr_n(const char *v, size_t n)
{
	return json_object_new_string_len(v, (int)n);
}

static struct json_object *jfield(const char *text, const char *key)
{
	size_t n;
	const char *v = xs_id_status_field(text, key, &n);
	return v ? jstr_n(v, n) : NULL;
}

static void json_source(const char *v, size_t n, void *ud)
{
	/* "URI SUITE": a Debian source; one word: an image */
	const char *sp = memchr(v, ' ', n);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "uri", jstr_n(v, sp ? (size_t)(sp - v) : n));
	json_object_object_add(o, "suite", sp ? jstr_n(sp + 1, n - (size_t)(sp + 1 - v)) : NULL);
	json_object_array_add(ud, o);
}

static void json_error(const char *v, size_t n, void *ud)
{
	const char *msg;
	size_t mlen;
	char ts[32];
	time_t t = error_parts(v, n, &msg, &mlen);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "time", json_object_new_int64((int64_t)t));
	json_object_object_add(o, "time_utc", json_object_new_string(fmt_utc(t, ts, sizeof ts)));
	json_object_object_add(o, "message", jstr_n(msg, mlen));
	json_object_array_add(ud, o);
}

static void json_list(const char *v, size_t n, void *ud)
{
	for (size_t i = 0; i < n;) {
		size_t k = strcspn(v + i, ", \n");
		if (k > n - i)
			k = n - i;
		if (k)
			json_object_array_add(ud, jstr_n(v + i, k));
		i += k + 1;
	}
}

/* The packages of the view, from its var/lib/dpkg/status: [{name,
 * version}], or NULL when it cannot be read. */
static struct json_object *view_packages(const char *mp)
{
	char path[PATH_MAX + 32];
	struct xs_buf b;
	xs_buf_init(&b, MAX_DPKG_STATUS);
	snprintf(path, sizeof path, "%s/var/lib/dpkg/status", mp);
	if (xs_read_file(path, MAX_DPKG_STATUS, &b) < 0) {
		xs_buf_free(&b);
		return NULL;
	}
	struct json_object *a = json_object_new_array();
	struct xs_deb822 it;
	const struct xs_stanza *st;
	xs_deb822_init(&it, b.data ? b.data : "", b.len);
	while (xs_deb822_next(&it, &st) == 1) {
		const struct xs_field *name = xs_stanza_get(st, "Package");
		const struct xs_field *ver = xs_stanza_get(st, "Version");
		if (!name)
			continue;
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "name", jstr_n(name->value, name->value_len));
		json_object_object_add(o, "version", ver ? jstr_n(ver->value, ver->value_len) : NULL);
		json_object_array_add(a, o);
	}
	xs_deb822_free(&it);
	xs_buf_free(&b);
	return a;
}

static void json_counters(struct json_object *m, const char *text)
{
	static const char *const keys[] = {
		XS_STATUS_PACKAGES,	 XS_STATUS_PACKAGES_FETCHED, XS_STATUS_DEBS_FETCHED,
		XS_STATUS_BYTES_DOWNLOADED, XS_STATUS_DEB_BYTES,	    XS_STATUS_INDEX_BYTES,
		XS_STATUS_CACHE_HITS,	 XS_STATUS_IN_FLIGHT,	    XS_STATUS_FETCH_FAILURES,
		XS_STATUS_EVICTED,	 XS_STATUS_QUOTA,
	};
	struct json_object *c = json_object_new_object();
	for (size_t i = 0; i < XS_ARRAY_SIZE(keys); i++)
		json_object_object_add(c, keys[i], json_object_new_int64((int64_t)num(text, keys[i])));
	json_object_object_add(m, "counters", c);
}

/* One mount as JSON: state "live", "dead" or "unknown" (live, no status:
 * reason says why). */
static struct json_object *json_mount(const char *mp, const char *arch, const char *state,
				      const char *text, const char *reason)
{
	struct json_object *m = json_object_new_object();
	json_object_object_add(m, "mountpoint", json_object_new_string(mp));
	json_object_object_add(m, "arch", json_object_new_string(arch));
	json_object_object_add(m, "state", json_object_new_string(state));
	json_object_object_add(m, "reason", reason ? json_object_new_string(reason) : NULL);
	if (!text)
		return m;
	struct json_object *srcs = json_object_new_array(), *errs = json_object_new_array();
	each_value(text, XS_STATUS_SOURCE, json_source, srcs);
	json_object_object_add(m, "sources", srcs);
	json_object_object_add(m, "cache_dir", jfield(text, XS_STATUS_CACHE_DIR));
	json_object_object_add(m, "offline", json_object_new_boolean(num(text, XS_STATUS_OFFLINE)));
	json_object_object_add(m, "view_digest", jfield(text, XS_STATUS_VIEW_DIGEST));
	size_t fl;
	json_object_object_add(m, "view_format",
			       xs_id_status_field(text, XS_STATUS_VIEW_FORMAT, &fl)
				       ? json_object_new_int64((int64_t)num(text, XS_STATUS_VIEW_FORMAT))
				       : NULL);
	json_object_object_add(m, "private", json_object_new_boolean(num(text, XS_STATUS_PRIVATE)));
	/* an archive's view: the declared packages and the base (comma lists) */
	static const char *const lists[][2] = { { XS_STATUS_DECLARED, "declared_packages" },
						{ XS_STATUS_BASE, "base_packages" } };
	for (size_t i = 0; i < XS_ARRAY_SIZE(lists); i++) {
		struct json_object *l = NULL;
		if (xs_id_status_field(text, lists[i][0], &(size_t){ 0 })) {
			l = json_object_new_array();
			each_value(text, lists[i][0], json_list, l);
		}
		json_object_object_add(m, lists[i][1], l);
	}
	json_object_object_add(m, "packages", view_packages(mp));
	json_counters(m, text);
	unsigned long long pid = num(text, XS_STATUS_PID), started = num(text, XS_STATUS_STARTED);
	json_object_object_add(m, "daemon_pid", pid ? json_object_new_int64((int64_t)pid) : NULL);
	json_object_object_add(m, "started", started ? json_object_new_int64((int64_t)started) : NULL);
	json_object_object_add(m, "uptime_s",
			       started ? json_object_new_int64((int64_t)time(NULL) - (int64_t)started)
				       : NULL);
	each_value(text, XS_STATUS_ERROR, json_error, errs);
	json_object_object_add(m, "recent_errors", errs);
	return m;
}

/* ---- the mounts -------------------------------------------------------- */

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
	if (c->shown > 1 && !c->mounts)
		printf("\n");
	if (mount_is_dead(mp)) {
		c->dead++;
		if (c->mounts)
			json_object_array_add(c->mounts,
					      json_mount(mp, arch, "dead", NULL, "its daemon is gone"));
		else
			printf("%s: %s, dead (its daemon is gone: run xsysroot umount %s)\n", mp,
			       arch, mp);
		return 0;
	}
	char *text = read_status(mp);
	if (!text) {
		const char *why = errno == ENOTSUP || errno == ENODATA
					  ? "its daemon does not report one (an older xsysroot)"
					  : strerror(errno);
		if (c->mounts)
			json_object_array_add(c->mounts, json_mount(mp, arch, "unknown", NULL, why));
		else
			printf("%s: %s, live, no status: %s\n", mp, arch, why);
		return 0;
	}
	if (c->mounts) {
		json_object_array_add(c->mounts, json_mount(mp, arch, "live", text, NULL));
	} else {
		printf("%s: %s, live\n", mp, arch);
		print_status(text);
	}
	free(text);
	return 0;
}

static const struct option status_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int cmd_status(const struct cli_command *self, int argc, char **argv)
{
	struct status_ctx c = { 0 };
	int o;
	optind = 0; /* getopt starts afresh */
	while ((o = cli_getopt(self, argc, argv, "h", status_opts)) == 'j')
		if (!c.mounts)
			c.mounts = json_object_new_array();
	if (o != CLI_END) {
		json_object_put(c.mounts);
		return cli_stop_status(o);
	}
	if (argc - optind > 1) {
		json_object_put(c.mounts);
		return cli_usage_error(self, "status takes one MOUNTPOINT at most");
	}
	char mp[PATH_MAX];
	if (argc - optind == 1) {
		const char *arg = argv[optind];
		if (!realpath(arg, mp)) /* a dead mount cannot be resolved */
			snprintf(mp, sizeof mp, "%s", arg);
		c.only = mp;
	}
	int q = mountinfo_foreach(status_cb, &c);
	if (q < 0) {
		fprintf(stderr, "xsysroot: cannot read /proc/self/mountinfo: %s\n", strerror(-q));
		json_object_put(c.mounts);
		return 1;
	}
	if (c.only && !c.shown) {
		fprintf(stderr, "xsysroot: %s is not an xsysroot mount\n", c.only);
		json_object_put(c.mounts);
		return 1;
	}
	if (c.mounts) {
		struct json_object *doc = json_object_new_object();
		json_object_object_add(doc, "schema_version", json_object_new_int(CLI_JSON_SCHEMA));
		json_object_object_add(doc, "mounts", c.mounts);
		json_print(doc);
	} else if (!c.shown) {
		printf("no xsysroot mounts\n");
	}
	return c.dead ? 1 : 0;
}

const struct cli_command cli_cmd_status = {
	.name = "status",
	.run = cmd_status,
	.synopsis = "status [--json] [MOUNTPOINT]",
	.summary = "show the xsysroot mounts and their daemons' counters",
	.help =
	"List the xsysroot mounts (or MOUNTPOINT's) with their daemon's counters and\n"
	"recent errors, read from the user.xsysroot.status extended attribute of the\n"
	"mount's root; a mount whose daemon died is shown dead (exit 1).  Every file\n"
	"of a mount has the extended attributes user.xsysroot.package,\n"
	"user.xsysroot.version and user.xsysroot.sha256.\n"
	"\n"
	"Options:\n"
	"      --json                one JSON document on stdout (the schema is in\n"
	"                            xsysroot(1), JSON OUTPUT)\n",
};
