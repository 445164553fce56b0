/* main.c - the xsysroot command line: usage and dispatch. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"

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
	"ARCH is a Debian architecture (arm64, armhf, armel, i386, amd64, ppc64el,\n"
	"s390x, mips64el, riscv64, loong64) or an alias (aarch64, x86_64, ppc64le...).\n";

void usage(FILE *f)
{
	fputs(usage_text, f);
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

