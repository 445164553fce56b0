/* gpghome.h - a scratch directory for the unit tests that make keys and
 * clearsigned files with gpg: testlib's temporary root (under $TMPDIR) with
 * a private GNUPGHOME in it, both removed at exit together with the
 * gpg-agent that key generation starts.  One per process. */
#ifndef XS_TEST_GPGHOME_H
#define XS_TEST_GPGHOME_H

/* Make the GNUPGHOME in tl_root(): 0, or -1 with errno. */
int gpghome_init(void);
/* The directory, and its GNUPGHOME. */
const char *gpghome_dir(void);
const char *gpghome_gnupg(void);
/* name in the directory (tl_path: one of 8 buffers of the calling thread). */
const char *tpath(const char *name);
/* Run a shell command in the directory with GNUPGHOME set, its output
 * discarded: 0 when it succeeded, else -1. */
int tsh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
