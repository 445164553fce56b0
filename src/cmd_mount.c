/* cmd_mount.c - xsysroot mount and umount. */
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
#include "fuse_ops.h"
#include "xsysroot/repo.h"
#include "xsysroot/util.h"

int cmd_umount(int argc, char **argv)
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


static const struct option mount_opts[] = {
	XS_REPO_LONG_OPTIONS,
	{ "fetch-timeout", required_argument, NULL, OPT_FETCH_TIMEOUT },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "bind", required_argument, NULL, OPT_BIND },
	{ "foreground", no_argument, NULL, 'f' },
	{ "debug", no_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_mount(int argc, char **argv)
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
	if (cfg.image)
		snprintf(msg, sizeof msg, "%s view of the image %s ready in %.2f s (its layers come "
			 "at the first access)", xs_repo_arch(repo)->deb, xs_repo_describe(repo),
			 (xs_now_ns() - t0) / 1e9);
	else
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

