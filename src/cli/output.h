/* output.h - what the commands say: the daemon's log, warnings and errors
 * on stderr, and strings made for output. */
#ifndef XSYSROOT_CLI_OUTPUT_H
#define XSYSROOT_CLI_OUTPUT_H

#include <stdarg.h>
#include <stdbool.h>

/* The daemon's log: a file, and stderr in the foreground. */
struct logger {
	int fd;
	bool to_stderr;
	bool debug;
	const char *mountpoint;
};
/* An xs_log_fn writing to the logger ud. */
void log_cb(int level, const char *msg, void *ud);
/* Warnings and errors to stderr, and information with -v, nothing else
 * (commands that are not a daemon). */
void warn_log(int level, const char *msg, void *ud);

/* How much the commands say on stderr, set once by -q/-v (cli_getopt):
 * QUIET only warnings and errors; NORMAL also progress and a final line on
 * a terminal; VERBOSE also the core's information messages, on a terminal
 * or not.  The one process-wide setting of the command line: the option
 * parsing writes it, before any thread starts. */
enum { CLI_QUIET = 0, CLI_NORMAL = 1, CLI_VERBOSE = 2 };
void cli_set_verbosity(int level);
int cli_verbosity(void);

/* --json (status, cache list, ldd): the version of the documents' schema
 * (man/xsysroot.1, JSON OUTPUT), raised when a field changes meaning or
 * goes; a new field does not raise it. */
#define CLI_JSON_SCHEMA 1
struct json_object;
/* doc on stdout (indented, a newline after it), then released. */
void json_print(struct json_object *doc);

/* "xsysroot: MESSAGE" on stderr. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vsay(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* A fresh string, printf-style (aborts when out of memory). */
char *fmt_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* s quoted for sh when it needs it (a fresh string). */
char *sh_quote(const char *s);

#endif
