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
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#include "cli.h"
#include "xs-build.h"
#include "xsysroot/arch.h"
#include "xsysroot/elf.h"
#include "xsysroot/sysroot.h"
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

void warn_log(int level, const char *msg, void *ud)
{
	(void)ud;
	if (level <= XS_LOG_WARN)
		fprintf(stderr, "xsysroot: %s: %s\n", level <= XS_LOG_ERR ? "error" : "warning",
			msg);
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
bool repo_option(int c, struct repo_opts *o)
{
	struct xs_repo_config *cfg = o->cfg;
	switch (c) {
	case OPT_MIRROR: {
		/* repeatable: the list is tried in order */
		char *m = o->mirrors ? fmt_str("%s %s", o->mirrors, optarg) : fmt_str("%s", optarg);
		free(o->mirrors);
		cfg->mirror = o->mirrors = m;
		return true;
	}
	case OPT_SUITE: cfg->suite = optarg; return true;
	case OPT_COMPONENTS: cfg->components = optarg; return true;
	case OPT_PACKAGES: cfg->packages = optarg; return true;
	case OPT_KEYRING: cfg->keyring = optarg; return true;
	case OPT_CACHE_DIR: snprintf(o->cache_dir, PATH_MAX, "%s", optarg); return true;
	case OPT_ALLOW_EXPIRED: cfg->allow_expired = true; return true;
	case OPT_PROXY: cfg->proxy = optarg; return true;
	case OPT_CONFIG: o->config = optarg; return true;
	case OPT_OFFLINE: cfg->offline = true; return true;
	case OPT_APT_ROOT: cfg->apt_root = optarg; return true;
	case OPT_FETCH_TIMEOUT:
		if (!fetch_timeout_option(optarg, &cfg->fetch_timeout_s))
			exit(2);
		return true;
	case OPT_IMAGE: cfg->image = optarg; return true;
	case OPT_PLAIN_HTTP: cfg->plain_http = true; return true;
	case OPT_CREDS: cfg->creds = optarg; return true;
	case OPT_AUTH_FILE: cfg->auth_file = optarg; return true;
	default: return false;
	}
}

int repo_configure(struct repo_opts *o)
{
	struct xs_repo_config *cfg = o->cfg;
	char err[4096] = "", user[PATH_MAX];
	const char *named = o->config ? o->config : getenv("XSYSROOT_CONFIG");
	int q = 0;
	xs_config_init(&o->conf);
	if (named && *named) {
		q = xs_config_load(&o->conf, named, true, err, sizeof err);
	} else if (!named) {
		q = xs_config_load(&o->conf, XS_CONFIG_SYSTEM_PATH, false, err, sizeof err);
		if (q == 0 && xs_config_user_path(user, sizeof user) == 0)
			q = xs_config_load(&o->conf, user, false, err, sizeof err);
	}
	if (q < 0) {
		fprintf(stderr, "xsysroot: %s\n", err);
		return -1;
	}
	struct xs_settings s;
	xs_config_resolve(&o->conf, cfg->arch, &s);
	const char **fields[] = {
		[XS_CONF_MIRROR] = &cfg->mirror,	 [XS_CONF_SUITE] = &cfg->suite,
		[XS_CONF_COMPONENTS] = &cfg->components, [XS_CONF_PACKAGES] = &cfg->packages,
		[XS_CONF_KEYRING] = &cfg->keyring,	 [XS_CONF_PROXY] = &cfg->proxy,
	};
	for (size_t k = 0; k < XS_ARRAY_SIZE(fields); k++)
		if (fields[k] && !*fields[k])
			*fields[k] = s.value[k];
	if (!o->cache_dir[0] && s.value[XS_CONF_CACHE_DIR])
		snprintf(o->cache_dir, PATH_MAX, "%s", s.value[XS_CONF_CACHE_DIR]);
	if (!cfg->fetch_timeout_s)
		cfg->fetch_timeout_s = s.fetch_timeout_s;
	o->quota = s.quota;
	if (!cfg->cache_max_size)
		cfg->cache_max_size = s.quota; /* --cache-max-size wins */
	return 0;
}

void repo_opts_free(struct repo_opts *o)
{
	xs_config_free(&o->conf);
	free(o->mirrors);
	o->mirrors = NULL;
}

void config_help(FILE *f)
{
	size_t n;
	const struct xs_config_key_info *k = xs_config_keys(&n);
	fprintf(f, "Keys of %s and $XDG_CONFIG_HOME/xsysroot/config (global, or in a\n"
		   "section [arch NAME]; see xsysroot.conf(5)):\n", XS_CONFIG_SYSTEM_PATH);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-14s %-7s %s\n", k[i].name, k[i].arg, k[i].help);
}

bool size_option(const char *opt, const char *arg, uint64_t *out)
{
	if (xs_parse_size(arg, out) == 0)
		return true;
	fprintf(stderr, "xsysroot: %s: '%s' is not a size (a number of bytes with an optional "
			"K, M, G or T suffix)\n", opt, arg);
	return false;
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

bool fetch_timeout_option(const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*end || v <= 0 || v > 86400) {
		fprintf(stderr, "xsysroot: --fetch-timeout: '%s' is not a number of seconds "
				"(1-86400)\n", arg);
		return false;
	}
	*out = (int)v;
	return true;
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

/* ---- a foreign ELF file and what it needs from a view ------------------- */

int elf_load(const char *file, struct xs_elf *e)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "xsysroot: %s: %s\n", file,
			fd < 0 || errno ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t len = (size_t)st.st_size;
	void *map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "xsysroot: %s: %s\n", file, strerror(errno));
		return -1;
	}
	char err[4096] = "";
	int q = xs_elf_parse(map, len, e, err, sizeof err);
	if (map)
		munmap(map, len);
	if (q < 0) {
		fprintf(stderr, "xsysroot: %s: %s\n", file,
			q == -ENOEXEC ? "not an ELF file" : err[0] ? err : strerror(-q));
		return -1;
	}
	/* the file's strings go to a terminal: no control characters */
	char *strs[] = { e->interp, e->rpath, e->runpath, e->soname };
	for (size_t i = 0; i < XS_ARRAY_SIZE(strs) + e->nneeded; i++)
		for (char *p = i < XS_ARRAY_SIZE(strs) ? strs[i] : e->needed[i - XS_ARRAY_SIZE(strs)];
		     p && *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	return 0;
}

const char *elf_mismatch(const struct xs_elf *e, const struct xs_arch *a)
{
	return xs_arch_elf_mismatch(a, e->elf_class, e->elf_data, e->machine, e->flags);
}

bool view_path_of(const char *abs, char *out, size_t outsz)
{
	char norm[XS_MAX_PATH + 1];
	return abs[0] == '/' && xs_path_normalize(abs, norm, sizeof norm) == 0 &&
	       xs_view_present_path(norm, out, outsz) == 0;
}

bool view_has(struct xs_repo *r, enum xs_lookup_mode mode, const char *vpath,
	      struct xs_vattr *va)
{
	struct xs_lookup lk;
	xs_lookup_init_repo(&lk, r, mode, NULL, NULL);
	return xs_lookup_path(&lk, vpath, va) == 0 && !S_ISDIR(va->mode); /* pending: mode 0 */
}

/* Append the view form of each absolute directory of a DT_RUNPATH/DT_RPATH
 * list; entries with $ORIGIN or other tokens, and relative ones, name host
 * places and are left out. */
static void add_path_list(const char *list, char ***dirs, size_t *n, size_t *cap)
{
	char *copy = xs_strdup(list), *save = NULL;
	for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
		char v[XS_MAX_PATH + 8];
		if (strchr(t, '$') || !view_path_of(t, v, sizeof v))
			continue;
		xs_grow(dirs, cap, *n + 1, sizeof **dirs);
		(*dirs)[(*n)++] = xs_strdup(v);
	}
	free(copy);
}

/* One lookup of a path (already in view form) for cb. */
static void need_path(struct xs_repo *r, struct elf_need *n, char *vpath, elf_need_fn cb,
		      void *ud)
{
	struct xs_vattr va;
	if (view_has(r, XS_LOOKUP_PEEK, vpath, &va)) {
		n->found = vpath;
		n->pkg = va.pkg;
	} else {
		n->cands = &vpath;
		n->ncands = 1;
	}
	cb(r, n, ud);
}

void elf_needs_foreach(struct xs_repo *r, const struct xs_elf *e, elf_need_fn cb, void *ud)
{
	const struct xs_arch *a = xs_repo_arch(r);
	if (e->interp) {
		char label[XS_MAX_PATH + 32], v[XS_MAX_PATH + 8];
		snprintf(label, sizeof label, "interpreter %s", e->interp);
		struct elf_need n = { .label = label, .pkg = -1 };
		if (!view_path_of(e->interp, v, sizeof v)) {
			n.why = "not an absolute path in the sysroot";
			cb(r, &n, ud);
		} else {
			need_path(r, &n, v, cb, ud);
		}
	}
	/* the search order: DT_RPATH (without DT_RUNPATH), DT_RUNPATH, then the
	 * view's ld.so.conf / ld.so.cache order */
	char **dirs = NULL;
	size_t ndirs = 0, capdirs = 0;
	if (e->rpath && !e->runpath)
		add_path_list(e->rpath, &dirs, &ndirs, &capdirs);
	if (e->runpath)
		add_path_list(e->runpath, &dirs, &ndirs, &capdirs);
	char **std_dirs = xs_sysroot_search_dirs(a->triplet, NULL, 0, NULL);
	for (size_t i = 0; std_dirs[i]; i++) {
		xs_grow(&dirs, &capdirs, ndirs + 1, sizeof *dirs);
		dirs[ndirs++] = std_dirs[i];
	}
	free(std_dirs); /* its strings now belong to dirs */
	for (size_t i = 0; i < e->nneeded; i++) {
		const char *name = e->needed[i];
		struct elf_need n = { .label = name, .pkg = -1 };
		if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
			n.why = "not a library name";
			cb(r, &n, ud);
			continue;
		}
		if (strchr(name, '/')) {
			/* a path: used as it is */
			char v[XS_MAX_PATH + 8];
			if (!view_path_of(name, v, sizeof v)) {
				n.why = "a relative path: looked up from the current directory at "
					"run time";
				cb(r, &n, ud);
			} else {
				need_path(r, &n, v, cb, ud);
			}
			continue;
		}
		char **cands = xs_xcalloc(ndirs, sizeof *cands);
		size_t k;
		struct xs_vattr va;
		for (k = 0; k < ndirs && !n.found; k++) {
			cands[k] = fmt_str("%s%s%s", dirs[k], *dirs[k] ? "/" : "", name);
			if (view_has(r, XS_LOOKUP_PEEK, cands[k], &va)) {
				n.found = cands[k];
				n.pkg = va.pkg;
			}
		}
		n.cands = cands;
		n.ncands = k;
		cb(r, &n, ud);
		for (k = 0; k < ndirs; k++)
			free(cands[k]);
		free(cands);
	}
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);
}
