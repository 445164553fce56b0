/* cmd_mount.c - xsysroot mount and umount. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
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
#include "xs-build.h"
#include "serve.h"
#include "xsysroot/arch.h"
#include "xsysroot/binfmt.h"
#include "xsysroot/repo.h"
#include "xsysroot/identity.h"
#include "xsysroot/util.h"

/* ---- --binfmt-prefix: XS_BINFMT_DIR/QEMU_ARCH -> the mount point ---- */

/* A mount point that an xsysroot daemon still serves. */
static bool live_xsysroot_mount(const char *mp)
{
	char fstype[256], source[PATH_MAX];
	return *mp && mount_source(mp, fstype, sizeof fstype, source, sizeof source) == 0 &&
	       !strcmp(fstype, XS_ID_FSTYPE) && !mount_is_dead(mp);
}

/* Point the prefix of qemu_arch at mp; a prefix that a mount which is gone
 * left pointed is restored first.  -1 after saying why on stderr. */
static int binfmt_point(struct xs_binfmt *b, const char *qemu_arch, const char *mp)
{
	char err[PATH_MAX * 2 + 256], holder[PATH_MAX];
	int r = xs_binfmt_point(b, XS_BINFMT_DIR, qemu_arch, mp, err, sizeof err);
	if (r == -EBUSY && xs_binfmt_holder(XS_BINFMT_DIR, qemu_arch, holder, sizeof holder) == 0) {
		if (live_xsysroot_mount(holder)) {
			fprintf(stderr, "xsysroot: --binfmt-prefix: %s/%s already points at the "
					"xsysroot mount %s: unmount it first\n", XS_BINFMT_DIR,
				qemu_arch, holder);
			return -1;
		}
		/* left by a daemon that was killed */
		r = xs_binfmt_recover(XS_BINFMT_DIR, qemu_arch, err, sizeof err);
		if (r == 0)
			r = xs_binfmt_point(b, XS_BINFMT_DIR, qemu_arch, mp, err, sizeof err);
	}
	if (r < 0) {
		fprintf(stderr, "xsysroot: --binfmt-prefix: %s\n", err);
		return -1;
	}
	return 0;
}

/* After an unmount: the daemon restores the prefixes it pointed at mp as it
 * ends; wait a little for it (wait), and restore them here when it does not
 * (it was killed, or hangs).  Returns how many were restored here. */
static int binfmt_settle(const char *mp, bool wait)
{
	size_t n;
	const struct xs_arch *t = xs_arch_table(&n);
	int restored = 0;
	for (size_t i = 0; i < n; i++) {
		char holder[PATH_MAX], err[PATH_MAX * 2 + 256];
		for (int tries = wait ? 250 : 1; tries > 0; tries--) {
			if (xs_binfmt_holder(XS_BINFMT_DIR, t[i].qemu, holder, sizeof holder) < 0 ||
			    strcmp(holder, mp))
				break;
			if (tries > 1) {
				usleep(20 * 1000);
				continue;
			}
			if (xs_binfmt_recover(XS_BINFMT_DIR, t[i].qemu, err, sizeof err) < 0) {
				fprintf(stderr, "xsysroot: cannot restore %s/%s: %s\n", XS_BINFMT_DIR,
					t[i].qemu, err);
			} else {
				fprintf(stderr, "xsysroot: restored %s/%s, which the daemon of %s "
						"left pointing at it\n", XS_BINFMT_DIR, t[i].qemu, mp);
				restored++;
			}
		}
	}
	return restored;
}

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
		/* not mounted (a killed daemon's mount is gone with auto_unmount):
		 * what is left to undo is a --binfmt-prefix */
		if (!live_xsysroot_mount(mp) && binfmt_settle(mp, false) > 0)
			return 0;
		fprintf(stderr, "xsysroot: cannot unmount %s\n", mp);
		return 1;
	}
	binfmt_settle(mp, true);
	return 0;
}


const struct option mount_opts[] = {
	XS_REPO_LONG_OPTIONS,
	{ "fetch-timeout", required_argument, NULL, OPT_FETCH_TIMEOUT },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "bind", required_argument, NULL, OPT_BIND },
	{ "offline", no_argument, NULL, OPT_OFFLINE },
	{ "cache-max-size", required_argument, NULL, OPT_CACHE_MAX_SIZE },
	{ "binfmt-prefix", no_argument, NULL, OPT_BINFMT_PREFIX },
	{ "foreground", no_argument, NULL, 'f' },
	{ "debug", no_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* mount, once the repository options are collected in ro */
static int mount_with(struct repo_opts *ro, const char *mp_arg, const char *log_file,
		      const char *fuse_opts, bool foreground, bool debug, bool binfmt)
{
	struct xs_repo_config *cfgp = ro->cfg;
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
	if (repo_configure(ro) < 0)
		return 1;
	char cd_abs[PATH_MAX];
	if (open_cache_dir(ro->cache_dir, cd_abs) < 0)
		return 1;
	cfgp->cache_dir = cd_abs;
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
	cfgp->log = log_cb;
	cfgp->log_ud = &lg;
	cfgp->progress = isatty(2);
	raise_nofile();
	/* Up to 64 FUSE workers come and go; glibc would give each its own
	 * malloc arena (8 per core), whose freed memory stays in the RSS. */
	mallopt(M_ARENA_MAX, 4);

	struct xs_repo *repo = NULL;
	char err[4096] = "";
	uint64_t t0 = xs_now_ns();
	int r = xs_repo_open(cfgp, &repo, err, sizeof err);
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
	if (cfgp->image)
		snprintf(msg, sizeof msg, "%s view of the image %s ready in %.2f s (its layers come "
			 "at the first access)", xs_repo_arch(repo)->deb, xs_repo_describe(repo),
			 (xs_now_ns() - t0) / 1e9);
	else
		snprintf(msg, sizeof msg, "%s view of %zu packages from %s ready in %.2f s (%s of indexes fetched)",
			 xs_repo_arch(repo)->deb, xs_repo_npkgs(repo), xs_repo_describe(repo),
			 (xs_now_ns() - t0) / 1e9, xs_fmt_size(rs.index_bytes, sz, sizeof sz));
	log_cb(XS_LOG_INFO, msg, &(struct logger){ lg.fd, debug, debug, mp });
	xs_repo_trim(repo, false);

	struct xs_mount_opts mo = {
		.mountpoint = mp,
		.fuse_opts = fuse_opts,
		.foreground = foreground,
		.debug = debug,
		.max_threads = 64,
		.log = log_cb,
		.log_ud = &lg,
		.ready = notify_ready,
	};
	struct xs_binfmt bf = { 0 };
	if (binfmt) {
		if (binfmt_point(&bf, xs_repo_arch(repo)->qemu, mp) < 0) {
			xs_repo_free(repo);
			close(lg.fd);
			return 1;
		}
		char *m = fmt_str("%s now points at %s", bf.link, mp);
		log_cb(XS_LOG_INFO, m, &(struct logger){ lg.fd, debug, debug, mp });
		free(m);
	}
	/* in the background, messages go to the log file only */
	lg.to_stderr = foreground;
	r = xs_serve(repo, &mo, NULL, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "xsysroot: %s\n", err);
		log_cb(XS_LOG_ERR, err, &lg);
	}
	/* unmounted (xsysroot umount, fusermount3 -u, a signal) or failed */
	if (bf.active) {
		if (xs_binfmt_restore(&bf, err, sizeof err) < 0) {
			log_cb(XS_LOG_ERR, err, &lg);
		} else {
			char *m = fmt_str("%s restored", bf.link);
			log_cb(XS_LOG_INFO, m, &lg);
			free(m);
		}
	}
	xs_repo_free(repo);
	close(lg.fd);
	return r < 0 ? 1 : 0;
}

int cmd_mount(int argc, char **argv)
{
	struct xs_repo_config cfg = { 0 };
	const char *log_file = NULL, *fuse_opts = NULL;
	bool foreground = false, debug = false, binfmt = false;
	char cache_dir[PATH_MAX] = "";
	cfg.apt_root = "/";
	const char **binds = xs_xcalloc((size_t)argc + 1, sizeof *binds);
	size_t nbinds = 0;
	cfg.binds = binds;
	struct repo_opts ro = { .cfg = &cfg, .cache_dir = cache_dir };
	int rc = 2;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "fdo:h", mount_opts, NULL)) != -1) {
		switch (c) {
		case OPT_LOG_FILE: log_file = optarg; break;
		case OPT_BIND: binds[nbinds++] = optarg; break;
		case OPT_BINFMT_PREFIX: binfmt = true; break;
		case OPT_CACHE_MAX_SIZE:
			if (!size_option("--cache-max-size", optarg, &cfg.cache_max_size))
				goto out;
			break;
		case 'f': foreground = true; break;
		case 'd': debug = foreground = true; break;
		case 'o': fuse_opts = optarg; break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			if (!repo_option(c, &ro)) {
				usage(stderr);
				goto out;
			}
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "xsysroot: mount needs ARCH and MOUNTPOINT\n");
		usage(stderr);
		goto out;
	}
	cfg.arch = argv[optind];
	if (binfmt && geteuid() != 0) {
		fprintf(stderr, "xsysroot: --binfmt-prefix needs root: it points %s/QEMU_ARCH, "
				"which the qemu binfmt_misc handlers of the whole machine read, "
				"at the mount\n", XS_BINFMT_DIR);
		rc = 1;
		goto out;
	}
	rc = mount_with(&ro, argv[optind + 1], log_file, fuse_opts, foreground, debug, binfmt);
out:
	repo_opts_free(&ro);
	free(binds);
	return rc;
}
