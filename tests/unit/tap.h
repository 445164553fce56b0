/* tap.h - a minimal TAP producer for the unit tests (meson's protocol: 'tap').
 * Each CHECK is one test point; a failing point prints the expression, file and
 * line.  tap_done() prints the plan and returns the exit status. */
#ifndef XS_TAP_H
#define XS_TAP_H
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

/* Line-buffered: a child forked by a test (whose exit may flush stdio, as
 * under valgrind) holds no test points to print a second time. */
__attribute__((constructor)) static void tap_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* A test point's description on one line: a newline or TAB in it (a
 * description quoting a file's text) is written as \n or \t. */
__attribute__((format(printf, 1, 2))) static void tap_desc(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	for (const char *c = buf; *c; c++)
		if (*c == '\n' || *c == '\t')
			printf("\\%c", *c == '\n' ? 'n' : 't');
		else
			putchar(*c);
	putchar('\n');
}

#define CHECK(cond, ...)                                                         \
	do {                                                                     \
		int ok_ = !!(cond);                                              \
		tap_n++;                                                         \
		if (!ok_)                                                        \
			tap_failed++;                                            \
		printf("%s %d - ", ok_ ? "ok" : "not ok", tap_n);                \
		tap_desc(__VA_ARGS__);                                           \
		if (!ok_)                                                        \
			printf("#   failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
	} while (0)

#define CHECK_INT(a, b, ...)                                                    \
	do {                                                                    \
		long long a_ = (long long)(a), b_ = (long long)(b);             \
		CHECK(a_ == b_, __VA_ARGS__);                                   \
		if (a_ != b_)                                                   \
			printf("#   got %lld, want %lld\n", a_, b_);         \
	} while (0)

#define CHECK_STR(a, b, ...)                                                    \
	do {                                                                    \
		const char *a_ = (a), *b_ = (b);                                \
		int eq_ = a_ && b_ && strcmp(a_, b_) == 0;                      \
		CHECK(eq_, __VA_ARGS__);                                        \
		if (!eq_)                                                       \
			printf("#   got '%s', want '%s'\n", a_ ? a_ : "(null)", \
			       b_ ? b_ : "(null)");                             \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
#endif
