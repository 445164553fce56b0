/* main.c - the xsysroot command line: the command table and dispatch.
 * Each command owns its usage and its code (cmd_*.c); this file lists
 * them, prints the summary of xsysroot --help from them, and runs one. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "output.h"
#include "setup.h"
#include "xs-build.h"
#include "xsysroot/util.h"

static const struct cli_command *const commands[] = {
	&cli_cmd_mount, &cli_cmd_umount, &cli_cmd_env,	 &cli_cmd_ldd,
	&cli_cmd_run,	&cli_cmd_status, &cli_cmd_fetch, &cli_cmd_cache,
};

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < XS_ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i]->name) ||
		    (commands[i]->alias && !strcmp(name, commands[i]->alias)))
			return commands[i];
	return NULL;
}

/* xsysroot --help: every synopsis, then a line per command. */
static void summary(FILE *f)
{
	const char *lead = "Usage: ";
	for (size_t i = 0; i < XS_ARRAY_SIZE(commands); i++) {
		for (const char *p = commands[i]->synopsis; *p;) {
			size_t n = strcspn(p, "\n");
			fprintf(f, "%sxsysroot %.*s\n", lead, (int)n, p);
			lead = "       ";
			p += n + (p[n] == '\n');
		}
	}
	fprintf(f, "       xsysroot %s\n", cli_mount_helper_synopsis);
	fprintf(f, "       xsysroot --help | --help-config | --version\n"
		   "\n"
		   "Present a verified, lazily fetched Debian sysroot for ARCH at MOUNTPOINT.\n"
		   "\n"
		   "Commands:\n");
	for (size_t i = 0; i < XS_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\n"
		   "xsysroot COMMAND --help (or -h) shows the options of COMMAND;\n"
		   "xsysroot --help-config the keys of the configuration files.\n"
		   "\n");
	cli_arch_help(f);
}

/* An unknown first argument: one line, with the closest commands (or
 * options of the program itself). */
static int unknown_command(const char *cmd)
{
	if (cmd[0] == '-') {
		static const char *const opts[] = { "help", "help-config", "version" };
		char hint[256];
		cli_did_you_mean(cmd + strspn(cmd, "-"), opts, XS_ARRAY_SIZE(opts), "--", hint,
				 sizeof hint);
		if (hint[0])
			fprintf(stderr, "xsysroot: unknown option '%s'; did you mean %s?\n", cmd,
				hint);
		else
			fprintf(stderr, "xsysroot: unknown option '%s' (see xsysroot --help)\n", cmd);
		return EXIT_USAGE;
	}
	const char *names[2 * XS_ARRAY_SIZE(commands)];
	size_t n = 0;
	for (size_t i = 0; i < XS_ARRAY_SIZE(commands); i++) {
		names[n++] = commands[i]->name;
		if (commands[i]->alias)
			names[n++] = commands[i]->alias;
	}
	char hint[256];
	cli_did_you_mean(cmd, names, n, "", hint, sizeof hint);
	if (hint[0])
		fprintf(stderr, "xsysroot: unknown command '%s'; did you mean %s?\n", cmd, hint);
	else
		fprintf(stderr, "xsysroot: unknown command '%s' (see xsysroot --help)\n", cmd);
	return EXIT_USAGE;
}

/* -q/--quiet or -v/--verbose before the command name: taken as after it
 * (cli_getopt); true when arg is one. */
static bool verbosity_option(const char *arg)
{
	if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) {
		cli_set_verbosity(CLI_QUIET);
		return true;
	}
	if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
		cli_set_verbosity(cli_verbosity() + 1);
		return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	/* Two malloc arenas, not glibc's 8 per core: the indexes are read and the
	 * .debs unpacked by several threads at once, and each thread's arena kept
	 * what it freed.  An empty-cache `run arm64 -- ./hello` peaked at 58.5 or
	 * 66.3 MB from run to run with the default, at 57.0-57.8 MB with two, in
	 * the same time (README, cold start). */
	mallopt(M_ARENA_MAX, 2);
	/* /sbin/mount.fuse.xsysroot, a link to this program, run by mount(8) */
	const char *base = strrchr(argv[0], '/');
	if (!strncmp(base ? base + 1 : argv[0], "mount.", 6))
		return cmd_mount_helper(argc, argv);
	while (argc >= 2 && verbosity_option(argv[1]))
		argc--, argv++;
	if (argc < 2) {
		summary(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		/* xsysroot help COMMAND: that command's usage */
		const struct cli_command *c = argc > 2 ? find_command(argv[2]) : NULL;
		if (argc > 2 && !c)
			return unknown_command(argv[2]);
		if (c)
			cli_usage(c, stdout);
		else
			summary(stdout);
		return EXIT_SUCCESS;
	}
	if (!strcmp(cmd, "--help-config")) {
		config_help(stdout);
		return EXIT_SUCCESS;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("xsysroot %s\n", XS_VERSION);
		return EXIT_SUCCESS;
	}
	const struct cli_command *c = find_command(cmd);
	if (c)
		return c->run(c, argc - 1, argv + 1);
	/* mount.fuse3 runs `xsysroot ARCH MOUNTPOINT -o OPTIONS` */
	if (argc >= 3 && mount_helper_form(cmd))
		return cmd_mount_helper(argc, argv);
	return unknown_command(cmd);
}
