/* main.c - the xsysroot command line: usage and dispatch. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "xs-build.h"
#include "xsysroot/arch.h"

static const char usage_text[] =
	"Usage: xsysroot mount [OPTIONS] ARCH MOUNTPOINT\n"
	"       xsysroot umount MOUNTPOINT\n"
	"       xsysroot env [--format sh|meson|cmake|cargo] MOUNTPOINT\n"
	"       xsysroot ldd [REPOSITORY OPTIONS] [--offline] ARCH FILE\n"
	"       xsysroot run ARCH [RUN OPTIONS] -- PROGRAM [ARGS...]\n"
	"       xsysroot status [MOUNTPOINT]\n"
	"       xsysroot fetch [REPOSITORY OPTIONS] [--jobs N] ARCH\n"
	"       xsysroot cache list|verify|gc [--max-size SIZE] [--cache-dir DIR] [--config FILE]\n"
	"       xsysroot [xsysroot#]ARCH MOUNTPOINT [-o OPTIONS]   (mount helper, fstab)\n"
	"       xsysroot --help | --help-config | --version\n"
	"\n"
	"Present a verified, lazily fetched Debian sysroot for ARCH at MOUNTPOINT.\n"
	"\n"
	"Mount options (the first nine are the repository options):\n"
	"      --mirror URL          Debian archive base URL (the folder holding dists/\n"
	"                            and pool/); default: the host's apt sources.\n"
	"                            Repeatable, or a comma/blank-separated list: the\n"
	"                            mirrors of one archive, tried in order per file\n"
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
	"      --proxy URL           HTTP proxy (default: http_proxy, https_proxy and\n"
	"                            no_proxy; an empty URL: no proxy at all)\n"
	"      --config FILE         read FILE instead of /etc/xsysroot.conf and\n"
	"                            ~/.config/xsysroot/config (also $XSYSROOT_CONFIG;\n"
	"                            empty: none); the command line wins over them\n"
	"      --fetch-timeout SECS  a package download fails after this long\n"
	"                            without data (default: 120)\n"
	"      --log-file FILE       daemon log (default: CACHEDIR/daemon.log)\n"
	"      --bind HOSTDIR:/PATH  overlay a host directory read-only at PATH\n"
	"                            (repeatable); its libraries join ld.so.cache\n"
	"      --offline             no network: only what the cache holds (the last\n"
	"                            verified InRelease, indexes and packages, see\n"
	"                            fetch); a file whose package is not cached\n"
	"                            fails with EIO (also for ldd)\n"
	"      --cache-max-size SIZE evict least recently used packages no live mount\n"
	"                            uses when the cache grows past SIZE (K, M, G, T)\n"
	"      --binfmt-prefix       point /etc/qemu-binfmt/QEMU_ARCH, qemu's default\n"
	"                            prefix under binfmt_misc, at the mount until it\n"
	"                            is unmounted (root only)\n"
	"      --image REF           a container image instead of a Debian archive:\n"
	"                            REGISTRY/REPO[:TAG][@sha256:DIGEST] (the OCI\n"
	"                            distribution API) or oci:DIR[:TAG][@DIGEST] (an\n"
	"                            OCI image layout); its linux/ARCH manifest; layers\n"
	"                            fetched at the first access, every one\n"
	"                            verified (digest, size, diff_id), whiteouts applied\n"
	"      --plain-http          reach the registry over http (default: https, and\n"
	"                            http for a loopback registry only)\n"
	"      --creds USER:PASSWORD registry credentials (default: the registry's\n"
	"                            entry in the auth file, else anonymous)\n"
	"      --auth-file FILE      Docker config.json with registry credentials\n"
	"                            (default: $DOCKER_CONFIG/config.json, else\n"
	"                            ~/.docker/config.json)\n"
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
	"run runs a foreign PROGRAM (a host file for ARCH, or a path or name in the\n"
	"view) under qemu-user with nothing set up: it adds the packages of the\n"
	"libraries PROGRAM needs to the view, uses a mount of the same view or\n"
	"makes a private one (removed afterwards), and exits with PROGRAM's status.\n"
	"Run options: the repository options, --fetch-timeout, --log-file, and\n"
	"      --strict              the view as / in private namespaces (host /proc,\n"
	"                            /dev, /sys, /tmp, the current directory and\n"
	"                            $HOME bound in); the programs it starts are\n"
	"                            emulated too (a binfmt_misc handler)\n"
	"      --writable DIR        with --strict: / is writable, the changes go to\n"
	"                            DIR/upper (an overlay; DIR/work is its work dir)\n"
	"\n"
	"status lists the xsysroot mounts (or MOUNTPOINT's) with their daemon's\n"
	"counters and recent errors, read from the user.xsysroot.status extended\n"
	"attribute of the mount's root; a mount whose daemon died is shown dead.\n"
	"Every file of a mount has the extended attributes user.xsysroot.package,\n"
	"user.xsysroot.version and user.xsysroot.sha256.\n"
	"\n"
	"fetch resolves the view mount would present and fetches and unpacks every\n"
	"package of it into the cache, for a later mount --offline.\n"
	"      --jobs N              packages fetched at once (default: 4)\n"
	"\n"
	"cache list shows the cached packages and indexes; cache verify re-hashes\n"
	"every object and moves bad ones to quarantine (exit 1 if any); cache gc\n"
	"removes unreferenced objects, leftovers and quarantine, and evicts least\n"
	"recently used packages that no live mount uses down to --max-size.\n"
	"      --max-size SIZE       bound for cache gc (K, M, G, T suffixes; default:\n"
	"                            the quota of the configuration files)\n"
	"\n"
	"The mount helper form is what mount(8) runs for an fstab line such as\n"
	"  arm64 /sysroot/arm64 fuse.xsysroot noauto,suite=bookworm,packages=hello:zlib1g 0 0\n"
	"or for mount -t fuse.xsysroot ARCH MOUNTPOINT -o OPTIONS: each mount option\n"
	"above is NAME=VALUE in OPTIONS (':' separates the items of a list, since\n"
	"',' separates options), mount's own options (noauto, user, _netdev,\n"
	"nofail, x-systemd.*) are ignored, and the rest are FUSE mount options.\n"
	"\n";

/* The architectures of the table (arch.h), words wrapped at 77 columns. */
static void print_arches(FILE *f)
{
	char names[256], text[512];
	snprintf(text, sizeof text,
		 "ARCH is a Debian architecture (%s) or an alias (aarch64, x86_64, ppc64le...).",
		 xs_arch_names(names, sizeof names));
	size_t col = 0;
	for (char *w = text, *sp; *w; w = sp + (*sp == ' ')) {
		sp = strchrnul(w, ' ');
		size_t n = (size_t)(sp - w);
		if (col && col + 1 + n > 77) {
			fputc('\n', f);
			col = 0;
		}
		fprintf(f, "%s%.*s", col ? " " : "", (int)n, w);
		col += (col ? 1 : 0) + n;
	}
	fputc('\n', f);
}

void usage(FILE *f)
{
	fputs(usage_text, f);
	print_arches(f);
}

int main(int argc, char **argv)
{
	/* /sbin/mount.fuse.xsysroot, a link to this program, run by mount(8) */
	const char *base = strrchr(argv[0], '/');
	if (!strncmp(base ? base + 1 : argv[0], "mount.", 6))
		return cmd_mount_helper(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--help-config")) {
		config_help(stdout);
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
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "fetch"))
		return cmd_fetch(argc - 1, argv + 1);
	if (!strcmp(cmd, "cache"))
		return cmd_cache(argc - 1, argv + 1);
	/* mount.fuse3 runs `xsysroot ARCH MOUNTPOINT -o OPTIONS` */
	if (argc >= 3 && mount_helper_form(cmd))
		return cmd_mount_helper(argc, argv);
	fprintf(stderr, "xsysroot: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}

