/* output.c - what the commands say; see output.h. */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "xsysroot/util.h"

static int verbosity = CLI_NORMAL; /* -q/-v: written by the option parsing only */

void cli_set_verbosity(int level)
{
	verbosity = level < CLI_QUIET ? CLI_QUIET : level;
}

int cli_verbosity(void)
{
	return verbosity;
}

void log_cb(int level, const char *msg, void *ud)
{
	struct logger *lg = ud;
	if (level >= XS_LOG_DEBUG && !lg->debug)
		return;
	const char *lv = level <= XS_LOG_ERR ? "error" : level == XS_LOG_WARN ? "warning"
						   : level == XS_LOG_INFO ? "info"
									  : "debug";
	if (lg->fd >= 0) {
		char ts[64];
		time_t t = time(NULL);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		dprintf(lg->fd, "%s xsysroot[%ld] %s: %s: %s\n", ts, (long)getpid(),
			lg->mountpoint ? lg->mountpoint : "-", lv, msg);
	}
	/* on stderr: warnings and errors; information with -v or -d */
	if (lg->to_stderr && (level <= XS_LOG_WARN || lg->debug || verbosity >= CLI_VERBOSE))
		fprintf(stderr, "xsysroot: %s%s%s\n", level <= XS_LOG_WARN ? lv : "",
			level <= XS_LOG_WARN ? ": " : "", msg);
}

void warn_log(int level, const char *msg, void *ud)
{
	(void)ud;
	if (level <= XS_LOG_WARN)
		fprintf(stderr, "xsysroot: %s: %s\n", level <= XS_LOG_ERR ? "error" : "warning",
			msg);
	else if (level == XS_LOG_INFO && verbosity >= CLI_VERBOSE)
		fprintf(stderr, "xsysroot: %s\n", msg);
}

void vsay(const char *fmt, va_list ap)
{
	fputs("xsysroot: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

char *fmt_str(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

char *sh_quote(const char *s)
{
	struct xs_buf b;
	xs_buf_init(&b, SIZE_MAX / 2);
	bool plain = *s != 0;
	for (const char *p = s; *p && plain; p++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			       "_@%+=:,./-", *p) != NULL;
	if (plain) {
		xs_buf_printf(&b, "%s", s);
	} else {
		xs_buf_append(&b, "'", 1);
		for (const char *p = s; *p; p++)
			if (*p == '\'')
				xs_buf_append(&b, "'\\''", 4);
			else
				xs_buf_append(&b, p, 1);
		xs_buf_append(&b, "'", 1);
	}
	return xs_buf_steal(&b, NULL);
}

void json_print(struct json_object *doc)
{
	fputs(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_SPACED |
							  JSON_C_TO_STRING_NOSLASHESCAPE),
	      stdout);
	fputc('\n', stdout);
	json_object_put(doc);
}
