/* main.c - the xsysroot command line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fuse_ops.h"
#include "xsysroot/repo.h"
#include "xsysroot/util.h"

static const char usage_text[] =
	"Usage: xsysroot mount [OPTIONS] ARCH MOUNTPOINT\n"
	"       xsysroot umount MOUNTPOINT\n"
	"       xsysroot --help | --version\n"
	"\n"
	"Present a verified, lazily fetched Debian sysroot for ARCH at MOUNTPOINT.\n"
	"\n"
	"Mount options:\n"
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
	struct stat st;
	bool stale = stat(mp, &st) < 0 && errno == ENOTCONN;
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
		case OPT_MIRROR: cfg.mirror = optarg; break;
		case OPT_SUITE: cfg.suite = optarg; break;
		case OPT_COMPONENTS: cfg.components = optarg; break;
		case OPT_PACKAGES: cfg.packages = optarg; break;
		case OPT_KEYRING: cfg.keyring = optarg; break;
		case OPT_CACHE_DIR: snprintf(cache_dir, sizeof cache_dir, "%s", optarg); break;
		case OPT_ALLOW_EXPIRED: cfg.allow_expired = true; break;
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
		default: usage(stderr); return 2;
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
	if (stat(mp_arg, &st) < 0 && errno == ENOTCONN) {
		/* a daemon died and left its mount behind: clear it */
		run_fusermount(mp_arg, true);
	}
	if (!realpath(mp_arg, mp) || stat(mp, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "xsysroot: mount point %s: %s\n", mp_arg,
			errno ? strerror(errno) : "not a directory");
		return 1;
	}
	if (!cache_dir[0] && xs_default_cache_dir(cache_dir, sizeof cache_dir) < 0) {
		fprintf(stderr, "xsysroot: no cache directory: set HOME or pass --cache-dir\n");
		return 1;
	}
	char cd_abs[PATH_MAX];
	if (xs_mkdir_p(cache_dir, 0755) < 0 || !realpath(cache_dir, cd_abs)) {
		fprintf(stderr, "xsysroot: cannot create the cache directory %s: %s\n", cache_dir,
			strerror(errno));
		return 1;
	}
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
	fprintf(stderr, "xsysroot: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
