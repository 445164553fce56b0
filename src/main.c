/* main.c - the xsysroot command line. */
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

#include "config.h"
#include "fuse_ops.h"
#include "xsysroot/elf.h"
#include "xsysroot/repo.h"
#include "xsysroot/util.h"

static const char usage_text[] =
	"Usage: xsysroot mount [OPTIONS] ARCH MOUNTPOINT\n"
	"       xsysroot umount MOUNTPOINT\n"
	"       xsysroot env [--format sh|meson|cmake|cargo] MOUNTPOINT\n"
	"       xsysroot ldd [REPOSITORY OPTIONS] ARCH FILE\n"
	"       xsysroot --help | --version\n"
	"\n"
	"Present a verified, lazily fetched Debian sysroot for ARCH at MOUNTPOINT.\n"
	"\n"
	"Mount options (the first seven are the repository options):\n"
	"      --mirror URL          Debian archive base URL (the folder holding dists/\n"
	"                            and pool/); default: the host's apt sources\n"
	"      --suite NAME          suite or codename; default: the host's codename\n"
	"      --components LIST     comma-separated components (default: main)\n"
	"      --packages LIST       comma-separated packages added to the view, with\n"
	"                            their dependencies (the base is libc6, libc-bin,\n"
	"                            libgcc-s1, libstdc++6)\n"
	"      --keyring FILE        OpenPGP keyring for the InRelease signature\n"
	"                            (default: the source's Signed-By, else\n"
	"                            " XS_DEFAULT_KEYRING ")\n"
	"      --cache-dir DIR       cache directory (default: /var/cache/xsysroot for\n"
	"                            root, else $XDG_CACHE_HOME/xsysroot or\n"
	"                            ~/.cache/xsysroot)\n"
	"      --allow-expired       accept an InRelease whose Valid-Until has passed\n"
	"      --fetch-timeout SECS  bound on one package download (default: 120)\n"
	"      --log-file FILE       daemon log (default: CACHEDIR/daemon.log)\n"
	"      --bind HOSTDIR:/PATH  overlay a host directory read-only at PATH\n"
	"                            (repeatable); its libraries join ld.so.cache\n"
	"  -f, --foreground          stay in the foreground\n"
	"  -d, --debug               debug messages (implies --foreground)\n"
	"  -o OPTIONS                extra FUSE mount options\n"
	"\n"
	"env prints the settings that cross-build against a mount (its architecture\n"
	"is read from the mount): clang and lld, pkg-config, and qemu-user to run\n"
	"the results.\n"
	"      --format FORMAT       sh (default): export lines, for eval \"$(...)\";\n"
	"                            meson: a cross file; cmake: a toolchain file;\n"
	"                            cargo: export lines for cargo and rustc\n"
	"\n"
	"ldd reads FILE's ELF headers without running it: class, machine and\n"
	"interpreter against ARCH, then each library it needs (DT_NEEDED), looked up\n"
	"in the view that mount would present with the same repository options, in\n"
	"the loader's order, with the package that provides it, or the package of the\n"
	"archive to add.  Only FILE's own needs are listed, not its libraries' (that\n"
	"would mean fetching them).  Exit status 0 when everything is found, 1 when\n"
	"something is missing or FILE is not for ARCH.\n"
	"\n"
	"ARCH is a Debian architecture (arm64, armhf, armel, i386, amd64, ppc64el,\n"
	"s390x, mips64el, riscv64, loong64) or an alias (aarch64, x86_64, ppc64le...).\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

/* ---- logging: the daemon's log file, and stderr in the foreground ---- */

struct logger {
	int fd;
	bool to_stderr;
	bool debug;
	const char *mountpoint;
};

static void log_cb(int level, const char *msg, void *ud)
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

static int run_fusermount(const char *mp, bool lazy)
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
static bool mount_is_dead(const char *path)
{
	struct statvfs sv;
	return statvfs(path, &sv) < 0 && errno == ENOTCONN;
}

static int cmd_umount(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "xsysroot: usage: xsysroot umount MOUNTPOINT\n");
		return 2;
	}
	char mp[PATH_MAX];
	if (!realpath(argv[1], mp)) {
		/* a dead daemon's mount point cannot be resolved: use it as given */
		snprintf(mp, sizeof mp, "%s", argv[1]);
	}
	bool stale = mount_is_dead(mp);
	if (run_fusermount(mp, stale) < 0) {
		fprintf(stderr, "xsysroot: cannot unmount %s\n", mp);
		return 1;
	}
	return 0;
}

enum {
	OPT_MIRROR = 256,
	OPT_SUITE,
	OPT_COMPONENTS,
	OPT_PACKAGES,
	OPT_KEYRING,
	OPT_CACHE_DIR,
	OPT_ALLOW_EXPIRED,
	OPT_FETCH_TIMEOUT,
	OPT_LOG_FILE,
	OPT_APT_ROOT,
	OPT_BIND,
};

static const struct option mount_opts[] = {
	{ "mirror", required_argument, NULL, OPT_MIRROR },
	{ "suite", required_argument, NULL, OPT_SUITE },
	{ "components", required_argument, NULL, OPT_COMPONENTS },
	{ "packages", required_argument, NULL, OPT_PACKAGES },
	{ "keyring", required_argument, NULL, OPT_KEYRING },
	{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
	{ "allow-expired", no_argument, NULL, OPT_ALLOW_EXPIRED },
	{ "fetch-timeout", required_argument, NULL, OPT_FETCH_TIMEOUT },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "apt-root", required_argument, NULL, OPT_APT_ROOT },
	{ "bind", required_argument, NULL, OPT_BIND },
	{ "foreground", no_argument, NULL, 'f' },
	{ "debug", no_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The repository options that mount and ldd share: true when c was one. */
static bool repo_option(int c, struct xs_repo_config *cfg, char cache_dir[PATH_MAX])
{
	switch (c) {
	case OPT_MIRROR: cfg->mirror = optarg; return true;
	case OPT_SUITE: cfg->suite = optarg; return true;
	case OPT_COMPONENTS: cfg->components = optarg; return true;
	case OPT_PACKAGES: cfg->packages = optarg; return true;
	case OPT_KEYRING: cfg->keyring = optarg; return true;
	case OPT_CACHE_DIR: snprintf(cache_dir, PATH_MAX, "%s", optarg); return true;
	case OPT_ALLOW_EXPIRED: cfg->allow_expired = true; return true;
	default: return false;
	}
}

/* The cache directory (given, or this user's default), created, as an
 * absolute path in abs; -1 after saying why on stderr. */
static int open_cache_dir(char cache_dir[PATH_MAX], char abs[PATH_MAX])
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

static int cmd_mount(int argc, char **argv)
{
	struct xs_repo_config cfg = { 0 };
	const char *log_file = NULL, *fuse_opts = NULL;
	bool foreground = false, debug = false;
	char cache_dir[PATH_MAX] = "";
	cfg.apt_root = "/";
	const char **binds = xs_xcalloc((size_t)argc + 1, sizeof *binds);
	size_t nbinds = 0;
	cfg.binds = binds;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "fdo:h", mount_opts, NULL)) != -1) {
		switch (c) {
		case OPT_FETCH_TIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v <= 0 || v > 86400) {
				fprintf(stderr, "xsysroot: --fetch-timeout: '%s' is not a number of "
						"seconds (1-86400)\n", optarg);
				return 2;
			}
			cfg.fetch_timeout_s = (int)v;
			break;
		}
		case OPT_LOG_FILE: log_file = optarg; break;
		case OPT_APT_ROOT: cfg.apt_root = optarg; break;
		case OPT_BIND: binds[nbinds++] = optarg; break;
		case 'f': foreground = true; break;
		case 'd': debug = foreground = true; break;
		case 'o': fuse_opts = optarg; break;
		case 'h': usage(stdout); return 0;
		default:
			if (!repo_option(c, &cfg, cache_dir)) {
				usage(stderr);
				return 2;
			}
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "xsysroot: mount needs ARCH and MOUNTPOINT\n");
		usage(stderr);
		return 2;
	}
	cfg.arch = argv[optind];
	const char *mp_arg = argv[optind + 1];
	char mp[PATH_MAX];
	struct stat st;
	if (mount_is_dead(mp_arg)) {
		/* a daemon died and left its mount behind: clear it */
		run_fusermount(mp_arg, true);
	}
	if (!realpath(mp_arg, mp) || stat(mp, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "xsysroot: mount point %s: %s\n", mp_arg,
			errno ? strerror(errno) : "not a directory");
		return 1;
	}
	char cd_abs[PATH_MAX];
	if (open_cache_dir(cache_dir, cd_abs) < 0)
		return 1;
	cfg.cache_dir = cd_abs;
	char log_path[PATH_MAX + 32];
	if (log_file)
		snprintf(log_path, sizeof log_path, "%s", log_file);
	else
		snprintf(log_path, sizeof log_path, "%s/daemon.log", cd_abs);
	struct logger lg = { -1, true, debug, mp };
	lg.fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (lg.fd < 0) {
		fprintf(stderr, "xsysroot: cannot open the log file %s: %s\n", log_path,
			strerror(errno));
		return 1;
	}
	cfg.log = log_cb;
	cfg.log_ud = &lg;
	cfg.progress = isatty(2);
	raise_nofile();

	struct xs_repo *repo = NULL;
	char err[4096] = "";
	uint64_t t0 = xs_now_ns();
	int r = xs_repo_open(&cfg, &repo, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "xsysroot: %s\n", err);
		log_cb(XS_LOG_ERR, err, &(struct logger){ lg.fd, false, false, mp });
		close(lg.fd);
		return 1;
	}
	struct xs_repo_stats rs;
	xs_repo_stats(repo, &rs);
	char sz[32];
	char msg[1024];
	snprintf(msg, sizeof msg, "%s view of %zu packages from %s ready in %.2f s (%s of indexes fetched)",
		 xs_repo_arch(repo)->deb, xs_repo_npkgs(repo), xs_repo_describe(repo),
		 (xs_now_ns() - t0) / 1e9, xs_fmt_size(rs.index_bytes, sz, sizeof sz));
	log_cb(XS_LOG_INFO, msg, &(struct logger){ lg.fd, debug, debug, mp });

	struct xs_mount_opts mo = {
		.mountpoint = mp,
		.fuse_opts = fuse_opts,
		.foreground = foreground,
		.debug = debug,
		.max_threads = 64,
		.log = log_cb,
		.log_ud = &lg,
	};
	/* in the background, messages go to the log file only */
	lg.to_stderr = foreground;
	r = xs_fuse_serve(repo, &mo, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "xsysroot: %s\n", err);
		log_cb(XS_LOG_ERR, err, &lg);
	}
	xs_repo_free(repo);
	close(lg.fd);
	return r < 0 ? 1 : 0;
}

/* ---- env: build-tool settings for a mount ---------------------------- */

/* What the arch table does not say: the names build tools use. */
struct tool_names {
	const char *deb;
	const char *meson_cpu_family, *meson_cpu;
	const char *cmake_processor; /* uname -m */
	const char *rust;	     /* Rust target triple */
};

static const struct tool_names tool_names[] = {
	{ "amd64", "x86_64", "x86_64", "x86_64", "x86_64-unknown-linux-gnu" },
	{ "arm64", "aarch64", "aarch64", "aarch64", "aarch64-unknown-linux-gnu" },
	{ "armhf", "arm", "armv7hl", "armv7l", "armv7-unknown-linux-gnueabihf" },
	{ "armel", "arm", "armv5te", "armv5tel", "armv5te-unknown-linux-gnueabi" },
	{ "i386", "x86", "i686", "i686", "i686-unknown-linux-gnu" },
	{ "ppc64el", "ppc64", "ppc64le", "ppc64le", "powerpc64le-unknown-linux-gnu" },
	{ "s390x", "s390x", "s390x", "s390x", "s390x-unknown-linux-gnu" },
	{ "mips64el", "mips64", "mips64el", "mips64", "mips64el-unknown-linux-gnuabi64" },
	{ "riscv64", "riscv64", "riscv64", "riscv64", "riscv64gc-unknown-linux-gnu" },
	{ "loong64", "loongarch64", "loongarch64", "loongarch64", "loongarch64-unknown-linux-gnu" },
};

static const struct tool_names *tool_names_of(const struct xs_arch *a)
{
	for (size_t i = 0; i < XS_ARRAY_SIZE(tool_names); i++)
		if (!strcmp(tool_names[i].deb, a->deb))
			return &tool_names[i];
	return NULL;
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
static int mount_source(const char *mp, char *fstype, size_t ftsz, char *source, size_t srcsz)
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
static const char *in_path(const char *prog)
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

static char *fmt_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* s quoted for sh when it needs it (a fresh string). */
static char *sh_quote(const char *s)
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

/* A meson string literal.  Meson doubles every backslash of a machine file
 * before parsing it, so escapes cannot be used: a plain string, or a
 * multi-line one (raw) for a string with a quote; meson_can_quote says
 * which strings can be written. */
static bool meson_can_quote(const char *s)
{
	size_t n = strlen(s);
	return !strchr(s, '\'') ||
	       (!strchr(s, '\\') && !strstr(s, "'''") && n && s[n - 1] != '\'');
}

static char *meson_quote(const char *s)
{
	const char *q = strchr(s, '\'') ? "'''" : "'";
	return fmt_str("%s%s%s", q, s, q);
}

/* A CMake quoted argument. */
static char *cmake_quote(const char *s)
{
	struct xs_buf b;
	xs_buf_init(&b, SIZE_MAX / 2);
	xs_buf_append(&b, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\' || *p == '$')
			xs_buf_append(&b, "\\", 1);
		xs_buf_append(&b, p, 1);
	}
	xs_buf_append(&b, "\"", 1);
	return xs_buf_steal(&b, NULL);
}

static char *fmt_str(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

static void print_sh_var(const char *name, const char *value)
{
	char *q = sh_quote(value);
	printf("export %s=%s\n", name, q);
	free(q);
}

static const struct option env_opts[] = {
	{ "format", required_argument, NULL, 'F' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int cmd_env(int argc, char **argv)
{
	const char *format = "sh";
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", env_opts, NULL)) != -1) {
		switch (c) {
		case 'F': format = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "xsysroot: env needs MOUNTPOINT\n");
		usage(stderr);
		return 2;
	}
	if (strcmp(format, "sh") && strcmp(format, "meson") && strcmp(format, "cmake") &&
	    strcmp(format, "cargo")) {
		fprintf(stderr, "xsysroot: --format: '%s' is none of sh, meson, cmake, cargo\n",
			format);
		return 2;
	}
	const char *mp_arg = argv[optind];
	char mp[PATH_MAX];
	if (mount_is_dead(mp_arg)) {
		fprintf(stderr, "xsysroot: %s: the daemon of this mount is gone (xsysroot umount "
				"it and mount again)\n", mp_arg);
		return 1;
	}
	if (!realpath(mp_arg, mp)) {
		fprintf(stderr, "xsysroot: %s: %s\n", mp_arg, strerror(errno));
		return 1;
	}
	char fstype[256] = "", source[PATH_MAX] = "";
	int q = mount_source(mp, fstype, sizeof fstype, source, sizeof source);
	if (q == -ENOENT) {
		fprintf(stderr, "xsysroot: %s is not an xsysroot mount (not a mount point)\n", mp);
		return 1;
	}
	if (q < 0) {
		fprintf(stderr, "xsysroot: cannot read /proc/self/mountinfo: %s\n", strerror(-q));
		return 1;
	}
	if (strcmp(fstype, "fuse.xsysroot") || strncmp(source, "xsysroot:", 9)) {
		fprintf(stderr, "xsysroot: %s is not an xsysroot mount (it is a %s mount of %s)\n",
			mp, fstype, source);
		return 1;
	}
	const struct xs_arch *a = xs_arch_lookup(source + 9);
	const struct tool_names *tn = a ? tool_names_of(a) : NULL;
	if (!tn) {
		fprintf(stderr, "xsysroot: %s: unknown architecture '%s' in the mount source %s\n",
			mp, source + 9, source);
		return 1;
	}
	for (const char *p = mp; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch == 0x7f || (!strcmp(format, "cmake") && ch == ';') ||
		    (!strcmp(format, "cargo") && ch == ' ')) {
			fprintf(stderr, "xsysroot: the mount point %s cannot be written in the %s "
					"format (it holds a %s): mount it elsewhere\n", mp, format,
				ch == ';' ? "';'" : ch == ' ' ? "space" : "control character");
			return 1;
		}
	}
	if (!strcmp(format, "meson") && !meson_can_quote(mp)) {
		fprintf(stderr, "xsysroot: the mount point %s cannot be written in the meson format "
				"(a quote with a backslash, three quotes or a final quote): mount it "
				"elsewhere\n", mp);
		return 1;
	}
	const char *tr = a->triplet;
	char *qemu = fmt_str("qemu-%s", a->qemu);
	char *pc_dir1 = fmt_str("%s/usr/lib/%s/pkgconfig", mp, tr);
	char *pc_dir2 = fmt_str("%s/usr/share/pkgconfig", mp);
	char *pc_libdir = fmt_str("%s:%s", pc_dir1, pc_dir2);
	const char *ar = in_path("llvm-ar"), *strip = in_path("llvm-strip");
	if (!strcmp(format, "sh")) {
		char *qmp = sh_quote(mp);
		char *cc = fmt_str("clang --target=%s --sysroot=%s", tr, qmp);
		char *cxx = fmt_str("clang++ --target=%s --sysroot=%s", tr, qmp);
		printf("# xsysroot env: cross-building for %s against %s\n"
		       "# eval \"$(xsysroot env %s)\"; then: $CC prog.c $LDFLAGS -o prog; ./prog\n",
		       a->deb, mp, qmp);
		print_sh_var("QEMU_LD_PREFIX", mp);
		print_sh_var("PKG_CONFIG_SYSROOT_DIR", mp);
		print_sh_var("PKG_CONFIG_LIBDIR", pc_libdir);
		printf("unset PKG_CONFIG_PATH\n");
		print_sh_var("CC", cc);
		print_sh_var("CXX", cxx);
		print_sh_var("LDFLAGS", "-fuse-ld=lld");
		if (ar)
			print_sh_var("AR", ar);
		if (strip)
			print_sh_var("STRIP", strip);
		free(qmp), free(cc), free(cxx);
	} else if (!strcmp(format, "meson")) {
		char *m = meson_quote(mp), *d1 = meson_quote(pc_dir1), *d2 = meson_quote(pc_dir2);
		char *sr = fmt_str("--sysroot=%s", mp);
		char *qsr = meson_quote(sr);
		printf("# xsysroot env --format meson: a cross file for %s against %s\n", a->deb, mp);
		printf("[binaries]\n");
		printf("c = ['clang', '--target=%s', %s]\n", tr, qsr);
		printf("cpp = ['clang++', '--target=%s', %s]\n", tr, qsr);
		printf("c_ld = 'lld'\ncpp_ld = 'lld'\n");
		if (ar)
			printf("ar = '%s'\n", ar);
		if (strip)
			printf("strip = '%s'\n", strip);
		printf("pkgconfig = 'pkg-config'\n");
		printf("exe_wrapper = ['%s', '-L', %s]\n\n", qemu, m);
		printf("[properties]\nsys_root = %s\npkg_config_libdir = [%s, %s]\n\n", m, d1, d2);
		printf("[host_machine]\nsystem = 'linux'\ncpu_family = '%s'\ncpu = '%s'\n"
		       "endian = '%s'\n",
		       tn->meson_cpu_family, tn->meson_cpu, a->elf_data == 2 ? "big" : "little");
		free(m), free(d1), free(d2), free(sr), free(qsr);
	} else if (!strcmp(format, "cmake")) {
		char *m = cmake_quote(mp), *pl = cmake_quote(pc_libdir);
		char *emu_raw = fmt_str("%s;-L;%s", qemu, mp);
		char *emu = cmake_quote(emu_raw);
		printf("# xsysroot env --format cmake: a toolchain file for %s against %s\n", a->deb,
		       mp);
		printf("set(CMAKE_SYSTEM_NAME Linux)\n");
		printf("set(CMAKE_SYSTEM_PROCESSOR %s)\n", tn->cmake_processor);
		printf("set(CMAKE_SYSROOT %s)\n", m);
		printf("set(CMAKE_C_COMPILER clang)\nset(CMAKE_C_COMPILER_TARGET %s)\n", tr);
		printf("set(CMAKE_CXX_COMPILER clang++)\nset(CMAKE_CXX_COMPILER_TARGET %s)\n", tr);
		printf("set(CMAKE_EXE_LINKER_FLAGS_INIT -fuse-ld=lld)\n");
		printf("set(CMAKE_SHARED_LINKER_FLAGS_INIT -fuse-ld=lld)\n");
		printf("set(CMAKE_MODULE_LINKER_FLAGS_INIT -fuse-ld=lld)\n");
		printf("set(CMAKE_CROSSCOMPILING_EMULATOR %s)\n", emu);
		printf("set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)\n");
		printf("set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)\n");
		printf("set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)\n");
		printf("set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)\n");
		printf("set(ENV{PKG_CONFIG_SYSROOT_DIR} %s)\n", m);
		printf("set(ENV{PKG_CONFIG_LIBDIR} %s)\n", pl);
		printf("unset(ENV{PKG_CONFIG_PATH})\n");
		free(m), free(pl), free(emu_raw), free(emu);
	} else {
		/* cargo splits RUNNER and RUSTFLAGS on whitespace: no quoting inside */
		char up[128], low[128];
		size_t i;
		for (i = 0; tn->rust[i] && i + 1 < sizeof up; i++) {
			char ch = tn->rust[i] == '-' ? '_' : tn->rust[i];
			up[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
			low[i] = ch;
		}
		up[i] = low[i] = 0;
		char *runner = fmt_str("%s -L %s", qemu, mp);
		char *flags = fmt_str("-C link-arg=--target=%s -C link-arg=--sysroot=%s "
				      "-C link-arg=-fuse-ld=lld", tr, mp);
		char *qmp = sh_quote(mp);
		char *cc = fmt_str("clang --target=%s --sysroot=%s", tr, qmp);
		char *name;
		printf("# xsysroot env --format cargo: cargo and rustc for %s against %s\n"
		       "# eval \"$(xsysroot env --format cargo %s)\"; then: cargo build; cargo run\n",
		       a->deb, mp, qmp);
		print_sh_var("CARGO_BUILD_TARGET", tn->rust);
		name = fmt_str("CARGO_TARGET_%s_LINKER", up);
		print_sh_var(name, "clang");
		free(name);
		name = fmt_str("CARGO_TARGET_%s_RUSTFLAGS", up);
		print_sh_var(name, flags);
		free(name);
		name = fmt_str("CARGO_TARGET_%s_RUNNER", up);
		print_sh_var(name, runner);
		free(name);
		/* for build scripts: the cc and pkg-config crates */
		name = fmt_str("CC_%s", low);
		print_sh_var(name, cc);
		free(name);
		if (ar) {
			name = fmt_str("AR_%s", low);
			print_sh_var(name, ar);
			free(name);
		}
		name = fmt_str("PKG_CONFIG_SYSROOT_DIR_%s", low);
		print_sh_var(name, mp);
		free(name);
		name = fmt_str("PKG_CONFIG_LIBDIR_%s", low);
		print_sh_var(name, pc_libdir);
		free(name);
		free(runner), free(flags), free(qmp), free(cc);
	}
	free(qemu), free(pc_dir1), free(pc_dir2), free(pc_libdir);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

/* ---- ldd: the libraries a foreign program needs, from the view ------- */

static const struct option ldd_opts[] = {
	{ "mirror", required_argument, NULL, OPT_MIRROR },
	{ "suite", required_argument, NULL, OPT_SUITE },
	{ "components", required_argument, NULL, OPT_COMPONENTS },
	{ "packages", required_argument, NULL, OPT_PACKAGES },
	{ "keyring", required_argument, NULL, OPT_KEYRING },
	{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
	{ "allow-expired", no_argument, NULL, OPT_ALLOW_EXPIRED },
	{ "apt-root", required_argument, NULL, OPT_APT_ROOT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void ldd_log(int level, const char *msg, void *ud)
{
	(void)ud;
	if (level <= XS_LOG_WARN)
		fprintf(stderr, "xsysroot: %s: %s\n", level <= XS_LOG_ERR ? "error" : "warning",
			msg);
}

static void elf_describe(const struct xs_elf *e, char *out, size_t outsz)
{
	const char *m = xs_elf_machine_name(e->machine);
	char mbuf[32];
	if (!m) {
		snprintf(mbuf, sizeof mbuf, "machine %u", e->machine);
		m = mbuf;
	}
	snprintf(out, outsz, "ELF %s-bit %s %s, %s", e->elf_class == XS_ELF_CLASS64 ? "64" : "32",
		 e->elf_data == XS_ELF_DATA_MSB ? "MSB" : "LSB", xs_elf_type_name(e), m);
}

/* Why e cannot run on a, or NULL. */
static const char *elf_mismatch(const struct xs_elf *e, const struct xs_arch *a)
{
	if (e->elf_class != a->elf_class)
		return "wrong ELF class";
	if (e->elf_data != a->elf_data)
		return "wrong byte order";
	if (e->machine != a->elf_machine)
		return "wrong machine";
	if (e->machine == 40 && !strcmp(a->deb, "armhf") && (e->flags & 0x200))
		return "soft-float ABI (armel), not hard-float";
	if (e->machine == 40 && !strcmp(a->deb, "armel") && (e->flags & 0x400))
		return "hard-float ABI (armhf), not soft-float";
	return NULL;
}

/* Print " => /PATH (PKG VERSION)" for a view path that exists; false when
 * it does not (or is a directory). */
static bool ldd_show(struct xs_repo *r, const char *label, const char *vpath)
{
	struct xs_vattr va;
	if (xs_view_resolve(xs_repo_view(r), vpath, &va) < 0 ||
	    (!va.pending && S_ISDIR(va.mode)))
		return false;
	struct xs_repo_pkg p;
	if (va.pkg >= 0 && xs_repo_pkg(r, (size_t)va.pkg, &p) == 0)
		printf("\t%s => /%s (%s %s)\n", label, vpath, p.name, p.version);
	else
		printf("\t%s => /%s (generated by xsysroot)\n", label, vpath);
	return true;
}

/* The view path of an absolute path, or false. */
static bool view_path_of(const char *abs, char *out, size_t outsz)
{
	char norm[XS_MAX_PATH + 1];
	return abs[0] == '/' && xs_path_normalize(abs, norm, sizeof norm) == 0 &&
	       xs_view_present_path(norm, out, outsz) == 0;
}

/* The archive package that ships one of the paths, printed; false when
 * none does. */
static bool ldd_suggest(struct xs_repo *r, const char *label, char *const *vpaths, size_t n)
{
	char name[256], version[256];
	for (size_t i = 0; i < n; i++) {
		if (xs_repo_find_provider(r, vpaths[i], name, sizeof name, version,
					  sizeof version) != 1)
			continue;
		printf("\t%s => not in the view; provided by %s%s%s (/%s): add --packages %s\n",
		       label, name, *version ? " " : "", version, vpaths[i], name);
		return true;
	}
	printf("\t%s => not found\n", label);
	return false;
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

static int cmd_ldd(int argc, char **argv)
{
	struct xs_repo_config cfg = { 0 };
	char cache_dir[PATH_MAX] = "";
	cfg.apt_root = "/";
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", ldd_opts, NULL)) != -1) {
		switch (c) {
		case OPT_APT_ROOT: cfg.apt_root = optarg; break;
		case 'h': usage(stdout); return 0;
		default:
			if (!repo_option(c, &cfg, cache_dir)) {
				usage(stderr);
				return 2;
			}
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "xsysroot: ldd needs ARCH and FILE\n");
		usage(stderr);
		return 2;
	}
	cfg.arch = argv[optind];
	const char *file = argv[optind + 1];
	const struct xs_arch *a = xs_arch_lookup(cfg.arch);
	if (!a) {
		fprintf(stderr, "xsysroot: unknown architecture '%s' (try arm64, armhf, armel, "
				"i386, amd64, ppc64el, s390x, mips64el, riscv64, loong64)\n", cfg.arch);
		return 1;
	}

	/* the file, read-only and mapped */
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "xsysroot: %s: %s\n", file,
			fd < 0 || errno ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return 1;
	}
	size_t len = (size_t)st.st_size;
	void *map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "xsysroot: %s: %s\n", file, strerror(errno));
		return 1;
	}
	struct xs_elf e;
	char err[4096] = "";
	int q = xs_elf_parse(map, len, &e, err, sizeof err);
	if (map)
		munmap(map, len);
	if (q < 0) {
		fprintf(stderr, "xsysroot: %s: %s\n", file,
			q == -ENOEXEC ? "not an ELF file" : err[0] ? err : strerror(-q));
		return 1;
	}
	/* the file's strings go to a terminal: no control characters */
	char *strs[] = { e.interp, e.rpath, e.runpath, e.soname };
	for (size_t i = 0; i < XS_ARRAY_SIZE(strs) + e.nneeded; i++)
		for (char *p = i < XS_ARRAY_SIZE(strs) ? strs[i] : e.needed[i - XS_ARRAY_SIZE(strs)];
		     p && *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	char desc[256], want[256];
	elf_describe(&e, desc, sizeof desc);
	snprintf(want, sizeof want, "ELF %s-bit %s, %s", a->elf_class == 2 ? "64" : "32",
		 a->elf_data == 2 ? "MSB" : "LSB",
		 xs_elf_machine_name(a->elf_machine) ? xs_elf_machine_name(a->elf_machine) : "?");
	const char *why = elf_mismatch(&e, a);
	if (why) {
		printf("%s: %s: does not match %s (%s): %s\n", file, desc, a->deb, want, why);
		if (e.interp)
			printf("\tinterpreter %s (not looked up)\n", e.interp);
		for (size_t i = 0; i < e.nneeded; i++)
			printf("\t%s (not looked up)\n", e.needed[i]);
		fprintf(stderr, "xsysroot: %s is not a program for %s (%s)\n", file, a->deb, why);
		xs_elf_free(&e);
		return 1;
	}
	printf("%s: %s: matches %s\n", file, desc, a->deb);
	if (!e.interp && !e.nneeded) {
		printf("\t%s\n", e.dynamic ? "no interpreter and no libraries needed"
					   : "statically linked");
		xs_elf_free(&e);
		return 0;
	}

	/* the view, as mount builds it */
	char cd_abs[PATH_MAX];
	if (open_cache_dir(cache_dir, cd_abs) < 0) {
		xs_elf_free(&e);
		return 1;
	}
	cfg.cache_dir = cd_abs;
	cfg.log = ldd_log;
	cfg.progress = isatty(2);
	raise_nofile();
	struct xs_repo *r = NULL;
	q = xs_repo_open(&cfg, &r, err, sizeof err);
	if (q < 0) {
		fprintf(stderr, "xsysroot: %s\n", err);
		xs_elf_free(&e);
		return 1;
	}
	size_t missing = 0, total = 0;
	if (e.interp) {
		char label[XS_MAX_PATH + 32], v[XS_MAX_PATH + 8];
		snprintf(label, sizeof label, "interpreter %s", e.interp);
		total++;
		if (!view_path_of(e.interp, v, sizeof v)) {
			printf("\t%s => not found (not an absolute path in the sysroot)\n", label);
			missing++;
		} else if (!ldd_show(r, label, v)) {
			char *vp[] = { v };
			ldd_suggest(r, label, vp, 1);
			missing++;
		}
	}
	if (e.rpath)
		printf("\tDT_RPATH %s%s\n", e.rpath, e.runpath ? " (ignored: DT_RUNPATH is set)" : "");
	if (e.runpath)
		printf("\tDT_RUNPATH %s\n", e.runpath);
	/* the search order: DT_RPATH (without DT_RUNPATH), DT_RUNPATH, then the
	 * view's ld.so.conf / ld.so.cache order */
	char **dirs = NULL;
	size_t ndirs = 0, capdirs = 0;
	if (e.rpath && !e.runpath)
		add_path_list(e.rpath, &dirs, &ndirs, &capdirs);
	if (e.runpath)
		add_path_list(e.runpath, &dirs, &ndirs, &capdirs);
	const char *std_dirs[] = { "usr/local/lib", "usr/local/lib/%s", "usr/lib/%s", "usr/lib" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(std_dirs); i++) {
		xs_grow(&dirs, &capdirs, ndirs + 1, sizeof *dirs);
		dirs[ndirs++] = fmt_str(std_dirs[i], a->triplet);
	}
	for (size_t i = 0; i < e.nneeded; i++) {
		const char *name = e.needed[i];
		total++;
		if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
			printf("\t'%s' => not found (not a library name)\n", name);
			missing++;
			continue;
		}
		if (strchr(name, '/')) {
			/* a path: used as it is */
			char v[XS_MAX_PATH + 8];
			if (!view_path_of(name, v, sizeof v)) {
				printf("\t%s => not found (a relative path: looked up from the "
				       "current directory at run time)\n", name);
				missing++;
			} else if (!ldd_show(r, name, v)) {
				char *vp[] = { v };
				ldd_suggest(r, name, vp, 1);
				missing++;
			}
			continue;
		}
		char **cands = xs_xcalloc(ndirs, sizeof *cands);
		bool found = false;
		for (size_t k = 0; k < ndirs && !found; k++) {
			cands[k] = fmt_str("%s%s%s", dirs[k], *dirs[k] ? "/" : "", name);
			found = ldd_show(r, name, cands[k]);
		}
		if (!found) {
			ldd_suggest(r, name, cands, ndirs);
			missing++;
		}
		for (size_t k = 0; k < ndirs; k++)
			free(cands[k]);
		free(cands);
	}
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);
	if (missing)
		fprintf(stderr, "xsysroot: %s: %zu of %zu needed files are not in the %s view\n",
			file, missing, total, a->deb);
	xs_repo_free(r);
	xs_elf_free(&e);
	return missing ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("xsysroot %s\n", XS_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "mount"))
		return cmd_mount(argc - 1, argv + 1);
	if (!strcmp(cmd, "umount") || !strcmp(cmd, "unmount"))
		return cmd_umount(argc - 1, argv + 1);
	if (!strcmp(cmd, "env"))
		return cmd_env(argc - 1, argv + 1);
	if (!strcmp(cmd, "ldd"))
		return cmd_ldd(argc - 1, argv + 1);
	fprintf(stderr, "xsysroot: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
