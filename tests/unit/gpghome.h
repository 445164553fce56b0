/* gpghome.h - a scratch directory for the unit tests that make keys and
 * clearsigned files with gpg: a temporary directory (under $TMPDIR) with a
 * private GNUPGHOME in it, both removed at exit together with the gpg-agent
 * that key generation starts.  One per process. */
#ifndef XS_TEST_GPGHOME_H
#define XS_TEST_GPGHOME_H

/* Make the directory ("xs-test-NAME-XXXXXX") and its GNUPGHOME: 0, or -1
 * with errno. */
int gpghome_init(const char *name);
/* The directory, and its GNUPGHOME. */
const char *gpghome_dir(void);
const char *gpghome_gnupg(void);
/* name in the directory (one of 8 rotating buffers). */
const char *tpath(const char *name);
/* Run a shell command in the directory with GNUPGHOME set, its output
 * discarded: 0 when it succeeded, else -1. */
int tsh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
