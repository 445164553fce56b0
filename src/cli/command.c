/* command.c - what the commands of the table share: usage, option parsing
 * with one line per mistake, and "did you mean". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "output.h"
#include "xsysroot/arch.h"
#include "xsysroot/util.h"

#define SUGGEST_MAX_LEN 64 /* longer words get no suggestion */
#define SUGGEST_MAX 3	   /* names offered at most */

/* The architectures of the table (arch.h), words wrapped at 77 columns. */
void cli_arch_help(FILE *f)
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

/* The synopsis lines of cmd, the first after "Usage: ", the others under it. */
static void print_synopsis(const struct cli_command *cmd, FILE *f)
{
	const char *lead = "Usage: ";
	for (const char *p = cmd->synopsis; *p;) {
		size_t n = strcspn(p, "\n");
		fprintf(f, "%sxsysroot %.*s\n", lead, (int)n, p);
		lead = "       ";
		p += n + (p[n] == '\n');
	}
}

void cli_usage(const struct cli_command *cmd, FILE *f)
{
	print_synopsis(cmd, f);
	fprintf(f, "\n%s", cmd->help);
	fputs("\n" CLI_HELP_COMMON_OPTIONS, f);
	if (strstr(cmd->synopsis, "ARCH")) {
		fputc('\n', f);
		cli_arch_help(f);
	}
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	print_synopsis(cmd, stderr);
	return EXIT_USAGE;
}

/* ---- did you mean ------------------------------------------------------ */

/* The optimal string alignment distance of a and b (insertions, deletions,
 * substitutions and transpositions of adjacent characters cost one). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];
	if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* How far cand is from word as a typo: 0 when word begins it, else the
 * edit distance; SIZE_MAX when too far to suggest. */
static size_t typo_distance(const char *word, const char *cand)
{
	size_t lw = strlen(word);
	if (lw >= 2 && !strncmp(cand, word, lw))
		return 0;
	size_t d = edit_distance(word, cand);
	return d <= (lw < 4 ? 1u : 2u) && d < strlen(cand) ? d : SIZE_MAX;
}

void cli_did_you_mean(const char *word, const char *const *cands, size_t n, const char *prefix,
		      char *out, size_t outsz)
{
	size_t best = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		size_t d = typo_distance(word, cands[i]);
		if (d < best)
			best = d;
	}
	struct xs_buf b;
	xs_buf_init(&b, outsz ? outsz - 1 : 0);
	size_t shown = 0;
	for (size_t i = 0; best != SIZE_MAX && i < n && shown < SUGGEST_MAX; i++) {
		if (typo_distance(word, cands[i]) != best)
			continue;
		xs_buf_printf(&b, "%s'%s%s'", shown ? " or " : "", prefix, cands[i]);
		shown++;
	}
	if (outsz)
		snprintf(out, outsz, "%s", b.len ? b.data : "");
	xs_buf_free(&b);
}

/* ---- options ----------------------------------------------------------- */

/* The long options whose name begins with the n bytes of name: the exact
 * one alone when there is one; their number, the first in *first. */
static size_t long_matches(const struct option *longopts, const char *name, size_t n,
			   const struct option **first)
{
	size_t count = 0;
	*first = NULL;
	for (const struct option *o = longopts; o->name; o++) {
		if (strncmp(o->name, name, n))
			continue;
		if (strlen(o->name) == n) {
			*first = o;
			return 1;
		}
		if (!count++)
			*first = o;
	}
	return count;
}

/* Say what is wrong with the long option arg ("--NAME[=VALUE]"). */
static void bad_long(const struct cli_command *cmd, const char *arg, bool missing,
		     const struct option *longopts)
{
	const char *name = arg + 2;
	size_t n = strcspn(name, "=");
	const struct option *o;
	size_t count = long_matches(longopts, name, n, &o);
	if (missing && count == 1) {
		fprintf(stderr, "xsysroot: option '--%s' of %s needs a value\n", o->name, cmd->name);
		return;
	}
	if (count == 1 && name[n] == '=' && o->has_arg == no_argument) {
		fprintf(stderr, "xsysroot: option '--%s' of %s takes no value\n", o->name,
			cmd->name);
		return;
	}
	const char *names[64];
	size_t k = 0;
	for (const struct option *p = longopts; p->name && k < XS_ARRAY_SIZE(names); p++)
		names[k++] = p->name;
	char word[SUGGEST_MAX_LEN + 1], hint[256] = "";
	snprintf(word, sizeof word, "%.*s", (int)(n < sizeof word - 1 ? n : sizeof word - 1), name);
	if (count > 1) {
		struct xs_buf b;
		xs_buf_init(&b, sizeof hint - 1);
		for (size_t i = 0, shown = 0; i < k; i++)
			if (!strncmp(names[i], name, n))
				xs_buf_printf(&b, "%s'--%s'", shown++ ? ", " : "", names[i]);
		fprintf(stderr, "xsysroot: option '--%s' of %s is ambiguous: %s\n", word, cmd->name,
			b.len ? b.data : "");
		xs_buf_free(&b);
		return;
	}
	cli_did_you_mean(word, names, k, "--", hint, sizeof hint);
	if (hint[0])
		fprintf(stderr, "xsysroot: unknown option '--%.*s' for %s; did you mean %s?\n",
			(int)n, name, cmd->name, hint);
	else
		fprintf(stderr, "xsysroot: unknown option '--%.*s' for %s (see xsysroot %s --help)\n",
			(int)n, name, cmd->name, cmd->name);
}

int cli_stop_status(int c)
{
	return c == CLI_HELP ? EXIT_SUCCESS : EXIT_USAGE;
}

int cli_getopt_help(const struct cli_command *cmd, int argc, char **argv)
{
	static const struct option help_only[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 0; /* getopt starts afresh */
	return cli_getopt(cmd, argc, argv, "h", help_only);
}

/* longopts with --quiet and --verbose added, into all (room for n). */
static const struct option *with_common(const struct option *longopts, struct option *all,
					size_t n)
{
	static const struct option common[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
	};
	size_t k = 0;
	while (longopts[k].name && k + XS_ARRAY_SIZE(common) + 1 < n) {
		all[k] = longopts[k];
		k++;
	}
	for (size_t i = 0; i < XS_ARRAY_SIZE(common); i++)
		all[k++] = common[i];
	all[k] = (struct option){ NULL, 0, NULL, 0 };
	return all;
}

int cli_getopt(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	char so[64];
	struct option all[96];
	/* ':' tells a missing value apart; -q and -v are every command's */
	snprintf(so, sizeof so, ":%sqv", shortopts);
	longopts = with_common(longopts, all, XS_ARRAY_SIZE(all));
	opterr = 0;
	int c;
	do {
		optopt = 0;
		c = getopt_long(argc, argv, so, longopts, NULL);
		if (c == 'q')
			cli_set_verbosity(CLI_QUIET);
		else if (c == 'v')
			cli_set_verbosity(cli_verbosity() + 1);
	} while (c == 'q' || c == 'v');
	if (c == 'h') {
		cli_usage(cmd, stdout);
		return CLI_HELP;
	}
	if (c != '?' && c != ':')
		return c;
	/* A long option was wrong when optopt is 0 (unknown, ambiguous) or the
	 * value of a long option (a needless value), or for a missing value
	 * when the element starts with "--"; getopt then stepped over it.  A
	 * short one is optopt, in an element getopt may still be inside. */
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	bool is_long = c == ':' || optopt == 0 || optopt >= 256 || strchr(shortopts, optopt);
	if (is_long && !strncmp(arg, "--", 2) && arg[2])
		bad_long(cmd, arg, c == ':', longopts);
	else if (c == ':')
		fprintf(stderr, "xsysroot: option '-%c' of %s needs a value\n", optopt, cmd->name);
	else
		fprintf(stderr, "xsysroot: unknown option '-%c' for %s (see xsysroot %s --help)\n",
			optopt, cmd->name, cmd->name);
	return CLI_BAD;
}
