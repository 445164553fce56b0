/* test-cli-command.c - what the commands of the table share (src/cli/
 * command.c): "did you mean" by edit distance, and option parsing that says
 * one line per mistake, naming the option, whatever getopt_long was in the
 * middle of (a long option, a short one alone or in a cluster). */
#include "tap.h"
#include "command.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int run_stub(const struct cli_command *self, int argc, char **argv)
{
	(void)self, (void)argc, (void)argv;
	return 0;
}

static const struct cli_command frob = {
	.name = "frob",
	.run = run_stub,
	.synopsis = "frob [OPTIONS] ARCH DIR",
	.summary = "a command for the test",
	.help = "Options:\n  -f, --foreground\n      --mirror URL\n",
};

static const struct option frob_opts[] = {
	{ "mirror", required_argument, NULL, 256 },
	{ "cache-dir", required_argument, NULL, 257 },
	{ "cache-max-size", required_argument, NULL, 258 },
	{ "allow-expired", no_argument, NULL, 259 },
	{ "foreground", no_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void suggest(const char *word, const char *want, const char *what)
{
	static const char *const cmds[] = { "mount", "umount", "unmount", "env", "ldd",
					    "run",   "status", "fetch",	  "cache" };
	char out[256];
	cli_did_you_mean(word, cmds, sizeof cmds / sizeof *cmds, "", out, sizeof out);
	CHECK_STR(out, want, "%s", what);
}

/* The options of argv parsed with frob_opts: the values cli_getopt
 * returned (the last one CLI_END, CLI_HELP or CLI_BAD) and what it said on
 * stderr. */
static int parse(char **argv, int *codes, size_t ncodes, char *said, size_t saidsz)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	fflush(stderr);
	int saved = dup(2);
	dup2(pfd[1], 2);
	optind = 0; /* getopt starts afresh */
	size_t n = 0;
	int c;
	do {
		c = cli_getopt(&frob, argc, argv, "fh", frob_opts);
		if (n < ncodes)
			codes[n++] = c;
	} while (c >= 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t got = read(pfd[0], said, saidsz - 1);
	said[got > 0 ? got : 0] = 0;
	close(pfd[0]);
	close(pfd[1]);
	return (int)n;
}

#define ARGV(...) ((char *[]){ "frob", __VA_ARGS__, NULL })

static void test_options(void)
{
	int codes[8];
	char said[512];
	int n = parse(ARGV("--mirror", "x", "-f", "arm64", "dir"), codes, 8, said, sizeof said);
	CHECK(n == 3 && codes[0] == 256 && codes[1] == 'f' && codes[2] == CLI_END && !said[0],
	      "good options: their values, then the end, nothing said");
	CHECK_INT(optind, 4, "the operands follow the options");

	n = parse(ARGV("--mirorr", "x"), codes, 8, said, sizeof said);
	CHECK(n == 1 && codes[0] == CLI_BAD, "a mistyped long option is a mistake");
	CHECK_STR(said, "xsysroot: unknown option '--mirorr' for frob; did you mean '--mirror'?\n",
		  "one line naming it, with the close one");
	/* each mistake: its one line */
	static const struct {
		char *argv[4];
		const char *said, *what;
	} mistakes[] = {
		{ { "frob", "--zzzzzz=1" },
		  "xsysroot: unknown option '--zzzzzz' for frob (see xsysroot frob --help)\n",
		  "nothing close: no guess, and the value is left out" },
		{ { "frob", "--cache", "x" },
		  "xsysroot: option '--cache' of frob is ambiguous: '--cache-dir', "
		  "'--cache-max-size'\n",
		  "an ambiguous abbreviation: the candidates" },
		{ { "frob", "--allow-expired=yes" },
		  "xsysroot: option '--allow-expired' of frob takes no value\n", "a value for a flag" },
		{ { "frob", "--foreground=yes" },
		  "xsysroot: option '--foreground' of frob takes no value\n",
		  "a value for a flag that has a short form too" },
		{ { "frob", "arm64", "--mirror" },
		  "xsysroot: option '--mirror' of frob needs a value\n",
		  "a long option without its value" },
		{ { "frob", "-z" },
		  "xsysroot: unknown option '-z' for frob (see xsysroot frob --help)\n",
		  "an unknown short option" },
		{ { "frob", "-fz" },
		  "xsysroot: unknown option '-z' for frob (see xsysroot frob --help)\n",
		  "an unknown option at the end of a cluster" },
	};
	for (size_t i = 0; i < sizeof mistakes / sizeof *mistakes; i++) {
		char *av[4];
		memcpy(av, mistakes[i].argv, sizeof av);
		n = parse(av, codes, 8, said, sizeof said);
		CHECK(n >= 1 && codes[n - 1] == CLI_BAD, "%s: a mistake", mistakes[i].what);
		CHECK_STR(said, mistakes[i].said, "%s: one line", mistakes[i].what);
	}
	n = parse(ARGV("--foreground", "-zf"), codes, 8, said, sizeof said);
	CHECK(n == 2 && codes[0] == 'f' && codes[1] == CLI_BAD,
	      "a cluster after a long option: the long one, then the mistake");
	CHECK_STR(said, "xsysroot: unknown option '-z' for frob (see xsysroot frob --help)\n",
		  "the short option of the cluster is named, not the long one before it");

	/* --help: the usage of the command alone, on stdout */
	fflush(stdout);
	int pfd[2];
	CHECK(pipe2(pfd, O_CLOEXEC | O_NONBLOCK) == 0, "a pipe for stdout");
	int saved = dup(1);
	dup2(pfd[1], 1);
	optind = 0; /* getopt starts afresh */
	int c = cli_getopt(&frob, 3, ARGV("arm64", "--help"), "fh", frob_opts);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	char out[1024];
	ssize_t got = read(pfd[0], out, sizeof out - 1);
	out[got > 0 ? got : 0] = 0;
	close(pfd[0]);
	close(pfd[1]);
	CHECK_INT(c, CLI_HELP, "--help after an operand is help");
	CHECK(!strncmp(out, "Usage: xsysroot frob [OPTIONS] ARCH DIR\n\nOptions:\n", 49) &&
	      strstr(out, "ARCH is a Debian architecture (") != NULL,
	      "the usage: synopsis, help, and the architectures for a command taking ARCH");
}

int main(void)
{
	suggest("mout", "'mount'", "mout: mount");
	suggest("umont", "'umount'", "umont: umount alone (mount is two edits away)");
	suggest("cahce", "'cache'", "a transposition is one edit");
	suggest("fet", "'fetch'", "the beginning of a name");
	suggest("stats", "'status'", "one letter missing");
	suggest("zzzz", "", "nothing close: no guess");
	suggest("xy", "", "a short word far from everything: no guess");
	suggest("rn", "'run'", "run, one edit away");
	test_options();
	return tap_done();
}
