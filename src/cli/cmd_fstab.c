/* cmd_fstab.c - the mount helper form, what mount(8) runs for an fstab line
 * or for `mount -t fuse.xsysroot ARCH MOUNTPOINT -o OPTIONS`:
 *
 *   xsysroot [TYPE#]ARCH MOUNTPOINT [-o OPTIONS] [-t TYPE] [-s] [-f] [-n] [-v]
 *
 * fuse3's mount.fuse3 runs `/bin/sh -c "xsysroot ARCH MOUNTPOINT -o OPTIONS"`
 * (xsysroot found in PATH), adding dev and suid unless nodev and nosuid were
 * given.  util-linux runs /sbin/mount.fuse.xsysroot, when that exists, with
 * the same arguments plus -s, -f, -n and -v.  Either way this turns the
 * arguments into a `xsysroot mount` command line:
 *   - a long option of mount given as NAME=VALUE (or NAME alone when it takes
 *     no value) becomes --NAME VALUE; in the lists (packages, components)
 *     ':' separates names, since ',' separates the options;
 *   - mount(8)'s own options (noauto, user, _netdev, nofail, x-*...) are
 *     dropped, and so are rw, dev and suid: the view is always ro, nosuid,
 *     nodev;
 *   - nonempty (FUSE 2's option) is --force;
 *   - a FUSE mount option (fuse_option) goes to -o; anything else is
 *     refused, named, here rather than by FUSE ("unknown option").
 * The daemon goes into the background once the mount is made, as mount(8)
 * expects of a helper. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "output.h"
#include "xsysroot/arch.h"
#include "xsysroot/util.h"

/* Options that only mean something to mount(8), fstab or systemd, or that
 * would undo the view's ro,nosuid,nodev. */
static bool ignored(const char *o)
{
	static const char *const names[] = {
		"", "defaults", "auto", "noauto", "user", "users", "nouser", "owner",
		"group", "_netdev", "nofail", "rw", "dev", "suid",
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(names); i++)
		if (!strcmp(o, names[i]))
			return true;
	return !strncmp(o, "x-", 2) || !strncmp(o, "comment=", 8) || !strncmp(o, "user=", 5);
}

/* The mount options that libfuse 3 (fuse_session_new, fuse_session_mount)
 * or the kernel take for a FUSE mount, NAME or NAME=: what else an fstab
 * line may pass through as a FUSE option. */
static bool fuse_option(const char *o)
{
	static const char *const names[] = {
		"allow_other", "allow_root", "auto_unmount", "default_permissions", "blkdev",
		"ro", "nosuid", "nodev", "noexec", "exec", "async", "sync", "dirsync",
		"atime", "noatime", "relatime", "norelatime", "strictatime", "nostrictatime",
		"lazytime", "nolazytime", "fsname=", "subtype=", "max_read=", "blksize=",
		"context=", "fscontext=", "defcontext=", "rootcontext=",
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(names); i++) {
		size_t n = strlen(names[i]);
		if (names[i][n - 1] == '=' ? !strncmp(o, names[i], n) : !strcmp(o, names[i]))
			return true;
	}
	return false;
}

/* The long option of mount called name (those that make sense in fstab). */
static const struct option *mount_option(const char *name, size_t n)
{
	for (const struct option *o = mount_opts; o->name; o++)
		if (strlen(o->name) == n && !strncmp(o->name, name, n) &&
		    strcmp(o->name, "help") && strcmp(o->name, "foreground") &&
		    strcmp(o->name, "debug"))
			return o;
	return NULL;
}

const char cli_mount_helper_synopsis[] =
	"[xsysroot#]ARCH MOUNTPOINT [-o OPTIONS]   (mount helper, fstab)";

bool mount_helper_form(const char *source)
{
	return strchr(source, '#') || xs_arch_lookup(source);
}

/* Append the options of one -o argument to av (mount options) and fuse
 * (FUSE options); -1 after saying why. */
static int map_options(char *opts, const char **av, size_t *ac, struct xs_buf *fuse,
		       char **owned, size_t *nowned)
{
	char *save = NULL;
	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (ignored(o))
			continue;
		char *eq = strchr(o, '=');
		const struct option *mo = mount_option(o, eq ? (size_t)(eq - o) : strlen(o));
		if (!mo && !strcmp(o, "nonempty")) {
			av[(*ac)++] = "--force"; /* FUSE 2's name for it */
			continue;
		}
		if (!mo && !fuse_option(o)) {
			say("mount option '%s' is unknown to xsysroot: it is none of xsysroot "
			    "mount's options (suite=, packages=, mirror=... as in xsysroot mount "
			    "--help), of mount(8)'s, or of FUSE's", o);
			return -1;
		}
		if (!mo) {
			xs_buf_printf(fuse, "%s%s", fuse->len ? "," : "", o);
			continue;
		}
		if ((mo->has_arg == required_argument) != (eq != NULL)) {
			fprintf(stderr, "xsysroot: mount option '%s' %s\n", o,
				eq ? "takes no value" : "needs a value (NAME=VALUE)");
			return -1;
		}
		av[(*ac)++] = owned[(*nowned)++] = fmt_str("--%s", mo->name);
		if (eq) {
			char *v = eq + 1;
			if (!strcmp(mo->name, "packages") || !strcmp(mo->name, "components"))
				for (char *p = v; *p; p++)
					if (*p == ':')
						*p = ',';
			av[(*ac)++] = v;
		}
	}
	return 0;
}

int cmd_mount_helper(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "xsysroot: usage: xsysroot [TYPE#]ARCH MOUNTPOINT [-o OPTIONS]\n");
		return EXIT_USAGE;
	}
	const char *arch = strrchr(argv[1], '#');
	arch = arch ? arch + 1 : argv[1];
	/* at most two words per option, plus mount, -o, ARCH, MOUNTPOINT */
	size_t cap = 8;
	for (int i = 3; i < argc; i++)
		cap += 2 * strlen(argv[i]) + 2;
	const char **av = xs_xcalloc(cap, sizeof *av);
	char **owned = xs_xcalloc(cap, sizeof *owned);
	size_t ac = 0, nowned = 0;
	struct xs_buf fuse;
	xs_buf_init(&fuse, 1 << 16);
	bool fake = false;
	int r = EXIT_USAGE;
	av[ac++] = "mount";
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-o") && i + 1 < argc) {
			char *opts = owned[nowned++] = xs_strdup(argv[++i]);
			if (map_options(opts, av, &ac, &fuse, owned, &nowned) < 0)
				goto out;
		} else if (!strcmp(a, "-t") && i + 1 < argc) {
			i++; /* fuse.xsysroot: how we got here */
		} else if (!strcmp(a, "-f")) {
			fake = true; /* mount -f: do everything but the mount */
		} else if (!strcmp(a, "-s") || !strcmp(a, "-n") || !strcmp(a, "-v")) {
			continue; /* sloppy, no mtab, verbose: nothing to do here */
		} else {
			fprintf(stderr, "xsysroot: mount helper: unsupported argument '%s'\n", a);
			goto out;
		}
	}
	if (fuse.len) {
		av[ac++] = "-o";
		av[ac++] = fuse.data;
	}
	av[ac++] = "--";
	av[ac++] = arch;
	av[ac++] = argv[2];
	av[ac] = NULL;
	r = fake ? EXIT_SUCCESS : cli_cmd_mount.run(&cli_cmd_mount, (int)ac, (char **)av);
out:
	while (nowned)
		free(owned[--nowned]);
	free(owned);
	free(av);
	xs_buf_free(&fuse);
	return r;
}
