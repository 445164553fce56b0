/* command.h - the command table of the xsysroot program (main.c), in the
 * manner of git.c's commands[]: each command is one descriptor, defined in
 * its own cmd_*.c next to its code and its usage text.
 *
 * Exit statuses, one policy for every command: 0 success, 1 failure (the
 * message says what failed), 2 usage error (an unknown command or option, a
 * missing or extra argument, a bad option value).  run passes the program's
 * status on, and says its own failures with 125, 126 and 127 as env(1) and
 * the shells do. */
#ifndef XSYSROOT_CLI_COMMAND_H
#define XSYSROOT_CLI_COMMAND_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

enum {
	/* EXIT_SUCCESS (0) and EXIT_FAILURE (1) come from <stdlib.h> */
	EXIT_USAGE = 2,
	EXIT_SETUP = 125,    /* run: run itself failed */
	EXIT_NOEXEC = 126,   /* run: the program or qemu could not be started */
	EXIT_NOTFOUND = 127, /* run: the program is not there */
};

struct cli_command {
	const char *name;
	const char *alias; /* another name it answers to, or NULL */
	/* argv[0] is the command's name; returns the exit status */
	int (*run)(const struct cli_command *self, int argc, char **argv);
	/* the synopsis after "xsysroot " (lines separated by '\n'), the one
	 * line of xsysroot --help, and the rest of its usage text */
	const char *synopsis;
	const char *summary;
	const char *help;
};

/* The commands, in the order xsysroot --help lists them (cmd_*.c). */
extern const struct cli_command cli_cmd_mount, cli_cmd_umount, cli_cmd_env, cli_cmd_ldd,
	cli_cmd_run, cli_cmd_status, cli_cmd_fetch, cli_cmd_cache;

/* The mount helper form, which has no command name (cmd_fstab.c): whether a
 * first argument is its source ([TYPE#]ARCH), and the helper itself (argv
 * as mount(8) or mount.fuse3 passes it). */
extern const char cli_mount_helper_synopsis[];
bool mount_helper_form(const char *source);
int cmd_mount_helper(int argc, char **argv);
/* The long options of mount (cmd_mount.c), which the mount helper form maps
 * its -o options to. */
extern const struct option mount_opts[];

/* The usage of cmd: the synopsis, its help and, when the synopsis names
 * ARCH, the architectures. */
void cli_usage(const struct cli_command *cmd, FILE *f);
/* The paragraph on ARCH that ends the usage of the commands taking one. */
void cli_arch_help(FILE *f);

/* The options every command takes (cli_getopt parses them itself, and
 * cli_usage ends every usage with this text). */
#define CLI_HELP_COMMON_OPTIONS                                                              \
	"Common options:\n"                                                                  \
	"  -q, --quiet               only warnings and errors on stderr: no progress,\n"    \
	"                            no final line\n"                                        \
	"  -v, --verbose             also the information messages (the indexes read,\n"   \
	"                            what is added to a view), on a terminal or not\n"      \
	"  -h, --help                this text\n"

/* What cli_getopt returns besides an option's value. */
enum {
	CLI_END = -1,  /* no more options: optind is the first operand */
	CLI_HELP = -2, /* -h or --help: cmd's usage is on stdout (exit 0) */
	CLI_BAD = -3,  /* an unknown option, or a missing or needless value:
			* one line said so on stderr (exit 2) */
};
/* getopt_long over argv (argv[0] the command's name), -q/--quiet and
 * -v/--verbose taken (cli_set_verbosity), with one line per mistake,
 * naming the option and a close match ("did you mean").  longopts
 * holds { "help", no_argument, NULL, 'h' } and shortopts "h".  Set optind
 * to 0 before the first call: getopt then forgets any earlier argv (a
 * cluster of short options it stopped in). */
int cli_getopt(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);
/* The exit status of a parse that stopped at CLI_HELP (0) or CLI_BAD (2). */
int cli_stop_status(int c);
/* For a command whose only option is --help: the options of argv parsed
 * from its start, CLI_END (optind is the first operand), CLI_HELP or
 * CLI_BAD. */
int cli_getopt_help(const struct cli_command *cmd, int argc, char **argv);
/* A usage error of cmd: "xsysroot: MESSAGE" and cmd's synopsis on stderr;
 * returns EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The names among cands[0..n) closest to word by edit distance (adjacent
 * transpositions counting one), when close enough to be a likely typo:
 * written as "'a'" or "'a' or 'b'" into out (empty: none).  prefix is put
 * before each name ("--" for long options). */
void cli_did_you_mean(const char *word, const char *const *cands, size_t n, const char *prefix,
		      char *out, size_t outsz);

#endif
