/* gpghome.c - see gpghome.h */
#include "gpghome.h"
#include "testlib.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char HOME_[TL_ROOT_MAX + 8]; /* GNUPGHOME for gpg */

/* Stop the agent before testlib removes the directory (atexit handlers run
 * last registered first). */
static void cleanup(void)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd,
		 "GNUPGHOME='%s' gpgconf --kill all >/dev/null 2>&1; "
		 "GNUPGHOME='%s' gpgconf --remove-socketdir >/dev/null 2>&1",
		 HOME_, HOME_);
	if (system(cmd) != 0) {
		/* nothing more to do */
	}
}

int gpghome_init(void)
{
	snprintf(HOME_, sizeof HOME_, "%s/gnupg", tl_root());
	atexit(cleanup);
	return mkdir(HOME_, 0700);
}

const char *gpghome_dir(void)
{
	return tl_root();
}

const char *gpghome_gnupg(void)
{
	return HOME_;
}

const char *tpath(const char *name)
{
	return tl_path("%s", name);
}

int tsh(const char *fmt, ...)
{
	char inner[2048], cmd[3072];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(inner, sizeof inner, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "cd '%s' && export GNUPGHOME='%s' && ( %s ) >/dev/null 2>&1",
		 tl_root(), HOME_, inner);
	return system(cmd) == 0 ? 0 : -1;
}
