/* testlib.h - helpers shared by the unit tests (linked into every one):
 * a temporary root, counting a directory's entries, memfds, and a store in
 * the temporary root with fixture blobs.
 *
 * Not a test framework: test points are tap.h's CHECKs; these helpers print
 * no test points.  A helper that cannot do its job where the test could not
 * go on (the root, a memfd) prints "Bail out!" and exits 1; the others
 * return an error the test checks.  tl_root is made from one thread before
 * any other thread uses it; the other helpers may be called from any thread
 * (the store helpers as the store allows). */
#ifndef XS_TESTLIB_H
#define XS_TESTLIB_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct xs_store;

/* The longest temporary root: tests build paths below it in fixed buffers. */
#define TL_ROOT_MAX 96

/* The test's temporary root, $TMPDIR/xs-PROGRAM.XXXXXX (P_tmpdir when TMPDIR
 * is unset or relative), made on the first call; later calls return the
 * same path.  It is removed when the process that made it ends: by exit()
 * or a return from main (whether the test passed or not), or by SIGINT,
 * SIGTERM, SIGHUP or SIGABRT (a timeout, an abort_on_error sanitizer
 * report).  A forked child that exits leaves it alone.  A test may remove
 * it itself (to check xs_rm_rf).  A TMPDIR set after the first call does
 * not move it (test-gpg points TMPDIR into it).  Bails out when the path
 * would be TL_ROOT_MAX bytes or more. */
const char *tl_root(void);

/* root/REL (printf format), in one of 8 buffers of the calling thread used
 * in turn: valid until that thread's 8th next call. */
const char *tl_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The number of entries of dir other than "." and "..", dot files included;
 * -1 when dir cannot be opened. */
int tl_count_entries(const char *dir);

/* A memfd (close-on-exec) holding the n bytes at p; its file offset is at
 * the end (readers pread or seek).  Bails out on failure. */
int tl_memfd(const void *p, size_t n);

/* Write n bytes to path, replacing it (no fsync, no temp file: for scratch
 * files rewritten many times), then chmod it to mode; missing parent
 * directories are made.  0 or -errno. */
int tl_write_file(const char *path, const void *p, size_t n, mode_t mode);

/* Open a store at root/rel (rel "" or NULL: the root itself).  0 or -errno. */
int tl_store_open(const char *rel, struct xs_store **out);

/* Put the n bytes at p into s as an object; sha (may be NULL) receives its
 * digest.  0 or -errno. */
int tl_store_put(struct xs_store *s, const void *p, size_t n, char sha[65]);
/* The same, committed with xs_txn_commit's checks: expect (may be NULL) the
 * digest, size the size (UINT64_MAX: any).  0 or xs_txn_commit's error. */
int tl_store_put_expect(struct xs_store *s, const void *p, size_t n, const char *expect,
			uint64_t size, char sha[65]);

/* The content of object sha as a NUL-terminated string (malloc'd; at most
 * 64 MiB), or NULL when it is absent or unreadable. */
char *tl_store_read(struct xs_store *s, const char *sha);

struct xs_contents;
/* The Contents index of text (at most 1 MiB), built with contents.h into
 * idx_path and opened: 0 or -errno. */
int tl_contents_open(const char *text, const char *idx_path, struct xs_contents **out);

/* dpkg-deb --root-owner-group -ZZTYPE --build TREE OUT (stdout to
 * /dev/null): 0, or -errno when it cannot run or fails. */
int tl_dpkg_deb_build(const char *tree, const char *out, const char *ztype);
#endif
