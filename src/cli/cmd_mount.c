/* cmd_mount.c - xsysroot mount and umount. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command.h"
#include "host.h"
#include "output.h"
#include "setup.h"
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

static int cmd_umount(const struct cli_command *self, int argc, char **argv)
{
	int c = cli_getopt_help(self, argc, argv);
	if (c != CLI_END)
		return cli_stop_status(c);
	if (argc - optind != 1)
		return cli_usage_error(self, "umount needs MOUNTPOINT, and nothing else");
	const char *mp_arg = argv[optind];
	char mp[PATH_MAX];
	if (!realpath(mp_arg, mp)) {
		/* a dead daemon's mount point cannot be resolved: use it as given */
		snprintf(mp, sizeof mp, "%s", mp_arg);
	}
	bool stale = mount_is_dead(mp);
	if (run_fusermount(mp, stale) < 0) {
		/* not mounted (a killed daemon's mount is gone with auto_unmount):
		 * what is left to undo is a --binfmt-prefix */
		if (!live_xsysroot_mount(mp) && binfmt_settle(mp, false) > 0)
			return 0;
		fprintf(stderr, "xsysroot: cannot unmount %s\n", mp);
		return EXIT_FAILURE;
	}
	binfmt_settle(mp, true);
	return EXIT_SUCCESS;
}

const struct cli_command cli_cmd_umount = {
	.name = "umount",
	.alias = "unmount",
	.run = cmd_umount,
	.synopsis = "umount MOUNTPOINT",
	.summary = "unmount an xsysroot mount (also one whose daemon died)",
	.help = "Unmount MOUNTPOINT (xsysroot unmount is the same).  A mount whose daemon\n"
		"died is cleared too, and a --binfmt-prefix link it left is restored.\n",
};


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

/* What mount is asked besides the repository options. */
struct mount_args {
	const char *mountpoint, *log_file, *fuse_opts;
	bool foreground, debug, binfmt;
	char mp[PATH_MAX]; /* the real mount point: it outlives the log */
};

/* What the one line that ends a mount says. */
struct mounted_line {
	struct cli_setup *s;
	const char *mp;
	uint64_t t0;
};

/* "mounted arm64 view (N packages) at MOUNTPOINT in S s": on a terminal, or
 * anywhere with -v; never with -q. */
static void say_mounted(void *ud)
{
	struct mounted_line *m = ud;
	struct xs_repo *r = m->s->repo;
	if (cli_verbosity() < CLI_VERBOSE && !m->s->progress.tty)
		return;
	char what[512];
	if (m->s->cfg.image)
		snprintf(what, sizeof what, "image %s", xs_repo_describe(r));
	else
		snprintf(what, sizeof what, "%zu packages", xs_repo_npkgs(r));
	fprintf(stderr, "mounted %s view (%s) at %s in %.1f s\n", xs_repo_arch(r)->deb, what,
		m->mp, (double)(xs_now_ns() - m->t0) / 1e9);
	fflush(stderr);
}

/* mount, once the options are collected in s and a */
static int mount_with(struct cli_setup *s, struct mount_args *a)
{
	struct xs_repo_config *cfgp = &s->cfg;
	const char *mp_arg = a->mountpoint, *fuse_opts = a->fuse_opts;
	bool foreground = a->foreground, debug = a->debug;
	char *mp = a->mp;
	struct stat st;
	if (mount_is_dead(mp_arg)) {
		/* a daemon died and left its mount behind: clear it */
		run_fusermount(mp_arg, true);
	}
	if (!realpath(mp_arg, mp) || stat(mp, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "xsysroot: mount point %s: %s\n", mp_arg,
			errno ? strerror(errno) : "not a directory");
		return EXIT_FAILURE;
	}
	if (cli_setup_configure(s, cfgp->arch) < 0 || cli_setup_cache_dir(s) < 0 ||
	    cli_setup_log(s, a->log_file) < 0)
		return EXIT_FAILURE;
	struct logger lg = { s->log.fd, true, debug, mp };
	s->log = lg;
	cfgp->log = log_cb;
	cfgp->log_ud = &s->log;
	/* Up to 64 FUSE workers come and go; glibc would give each its own
	 * malloc arena (8 per core), whose freed memory stays in the RSS. */
	mallopt(M_ARENA_MAX, 4);

	char err[4096] = "";
	uint64_t t0 = xs_now_ns();
	if (cli_setup_open(s, 0) < 0) {
		log_cb(XS_LOG_ERR, s->err, &(struct logger){ lg.fd, false, false, mp });
		return EXIT_FAILURE;
	}
	struct xs_repo *repo = s->repo;
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
		.log_ud = &s->log,
		.ready = notify_ready,
		.mounted = say_mounted,
		.mounted_ud = &(struct mounted_line){ s, mp, t0 },
	};
	struct xs_binfmt bf = { 0 };
	if (a->binfmt) {
		if (binfmt_point(&bf, xs_repo_arch(repo)->qemu, mp) < 0)
			return EXIT_FAILURE;
		char *m = fmt_str("%s now points at %s", bf.link, mp);
		log_cb(XS_LOG_INFO, m, &(struct logger){ lg.fd, debug, debug, mp });
		free(m);
	}
	/* in the background, messages go to the log file only */
	s->log.to_stderr = foreground;
	int r = xs_serve(repo, &mo, NULL, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "xsysroot: %s\n", err);
		log_cb(XS_LOG_ERR, err, &s->log);
	}
	/* unmounted (xsysroot umount, fusermount3 -u, a signal) or failed */
	if (bf.active) {
		if (xs_binfmt_restore(&bf, err, sizeof err) < 0) {
			log_cb(XS_LOG_ERR, err, &s->log);
		} else {
			char *m = fmt_str("%s restored", bf.link);
			log_cb(XS_LOG_INFO, m, &s->log);
			free(m);
		}
	}
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int cmd_mount(const struct cli_command *self, int argc, char **argv)
{
	struct cli_setup s;
	struct mount_args a = { 0 };
	cli_setup_init(&s);
	const char **binds = xs_xcalloc((size_t)argc + 1, sizeof *binds);
	size_t nbinds = 0;
	s.cfg.binds = binds;
	int rc = EXIT_USAGE;
	optind = 0; /* getopt starts afresh */
	int c;
	while ((c = cli_setup_getopt(&s, self, argc, argv, "fdo:h", mount_opts)) > 0) {
		switch (c) {
		case OPT_LOG_FILE: a.log_file = optarg; break;
		case OPT_BIND: binds[nbinds++] = optarg; break;
		case OPT_BINFMT_PREFIX: a.binfmt = true; break;
		case OPT_CACHE_MAX_SIZE:
			if (!size_option("--cache-max-size", optarg, &s.cfg.cache_max_size))
				goto out;
			break;
		case 'f': a.foreground = true; break;
		case 'd': a.debug = a.foreground = true; break;
		case 'o': a.fuse_opts = optarg; break;
		default: goto out;
		}
	}
	if (c != CLI_END) {
		rc = cli_stop_status(c);
		goto out;
	}
	if (argc - optind != 2) {
		rc = cli_usage_error(self, "mount needs ARCH and MOUNTPOINT");
		goto out;
	}
	s.cfg.arch = argv[optind];
	a.mountpoint = argv[optind + 1];
	if (a.binfmt && geteuid() != 0) {
		fprintf(stderr, "xsysroot: --binfmt-prefix needs root: it points %s/QEMU_ARCH, "
				"which the qemu binfmt_misc handlers of the whole machine read, "
				"at the mount\n", XS_BINFMT_DIR);
		rc = EXIT_FAILURE;
		goto out;
	}
	rc = mount_with(&s, &a);
out:
	cli_setup_free(&s);
	free(binds);
	return rc;
}

const struct cli_command cli_cmd_mount = {
	.name = "mount",
	.run = cmd_mount,
	.synopsis = "mount [OPTIONS] ARCH MOUNTPOINT",
	.summary = "present the view of ARCH at MOUNTPOINT (a FUSE daemon)",
	.help =
	"Present a verified, lazily fetched Debian sysroot for ARCH at MOUNTPOINT:\n"
	"the files of a set of packages (or of a container image), fetched at the\n"
	"first access.  mount returns once the mount answers; the daemon stays in\n"
	"the background.\n"
	"\n"
	CLI_HELP_REPO_OPTIONS
	"\n"
	"Mount options:\n"
	CLI_HELP_FETCH_TIMEOUT
	CLI_HELP_LOG_FILE
	"      --bind HOSTDIR:/PATH  overlay a host directory read-only at PATH\n"
	"                            (repeatable); its libraries join ld.so.cache\n"
	CLI_HELP_OFFLINE
	"      --cache-max-size SIZE evict least recently used packages no live mount\n"
	"                            uses when the cache grows past SIZE (K, M, G, T)\n"
	"      --binfmt-prefix       point /etc/qemu-binfmt/QEMU_ARCH, qemu's default\n"
	"                            prefix under binfmt_misc, at the mount until it\n"
	"                            is unmounted (root only)\n"
	"  -f, --foreground          stay in the foreground\n"
	"  -d, --debug               debug messages (implies --foreground)\n"
	"  -o OPTIONS                extra FUSE mount options\n"
	"\n"
	"The mount helper form is what mount(8) runs for an fstab line such as\n"
	"  arm64 /sysroot/arm64 fuse.xsysroot noauto,suite=bookworm,packages=hello:zlib1g 0 0\n"
	"or for mount -t fuse.xsysroot ARCH MOUNTPOINT -o OPTIONS:\n"
	"  xsysroot [xsysroot#]ARCH MOUNTPOINT [-o OPTIONS]\n"
	"Each mount option above is NAME=VALUE in OPTIONS (':' separates the items\n"
	"of a list, since ',' separates options), mount's own options (noauto,\n"
	"user, _netdev, nofail, x-systemd.*) are ignored, and the rest are FUSE\n"
	"mount options.\n",
};
