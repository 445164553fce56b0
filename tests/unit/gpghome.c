/* gpghome.c - see gpghome.h */
#include "gpghome.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "xsysroot/util.h"

static char T[256];	/* the temporary directory */
static char HOME_[300]; /* GNUPGHOME for gpg */

static void cleanup(void)
{
	if (!T[0])
		return;
	char cmd[1600];
	snprintf(cmd, sizeof cmd,
		 "GNUPGHOME='%s' gpgconf --kill all >/dev/null 2>&1; "
		 "GNUPGHOME='%s' gpgconf --remove-socketdir >/dev/null 2>&1",
		 HOME_, HOME_);
	if (system(cmd) != 0) {
		/* nothing more to do */
	}
	xs_rm_rf(T);
	T[0] = 0;
}

int gpghome_init(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(T, sizeof T, "%s/xs-test-%s-XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp", name);
	if (!mkdtemp(T)) {
		T[0] = 0;
		return -1;
	}
	atexit(cleanup);
	snprintf(HOME_, sizeof HOME_, "%s/gnupg", T);
	return mkdir(HOME_, 0700);
}

const char *gpghome_dir(void)
{
	return T;
}

const char *gpghome_gnupg(void)
{
	return HOME_;
}

const char *tpath(const char *name)
{
	static char buf[8][512];
	static int i;
	char *b = buf[i++ % 8];
	snprintf(b, sizeof buf[0], "%s/%s", T, name);
	return b;
}

int tsh(const char *fmt, ...)
{
	char inner[2048], cmd[3072];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(inner, sizeof inner, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "cd '%s' && export GNUPGHOME='%s' && ( %s ) >/dev/null 2>&1", T,
		 HOME_, inner);
	return system(cmd) == 0 ? 0 : -1;
}
