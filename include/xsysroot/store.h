/* store.h - the content-addressed cache.
 *
 * Layout under the cache directory:
 *   objects/sha256/<2 hex>/<62 hex>  immutable files, named by their SHA-256
 *   meta/<name>                      small documents written atomically
 *                                    (manifests, parsed indexes, state)
 *   tmp/                             transactions in progress; purged at open
 *   quarantine/                      data that failed verification (a
 *                                    download, or a published object whose
 *                                    bytes no longer match its name), kept
 *                                    for inspection, never served
 *
 * The cache changes only by transaction: bytes stream into a temp file in
 * tmp/ while the SHA-256 and the size are computed; commit checks them
 * against the expected values and renames into objects/.  A killed process
 * leaves at most a temp file, which the next open purges.  Nothing is ever
 * written outside the cache directory.
 *
 * Thread safety: a store may be used from many threads; a transaction
 * belongs to one thread.
 */
#ifndef XSYSROOT_STORE_H
#define XSYSROOT_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xs_store;
struct xs_txn;

int xs_store_open(const char *cachedir, struct xs_store **out);
void xs_store_close(struct xs_store *s);
const char *xs_store_dir(const struct xs_store *s);

/* Start a transaction that refuses to grow past max_size bytes (-EFBIG from
 * write once exceeded: a mirror that sends Size+1 bytes is stopped there). */
int xs_txn_begin(struct xs_store *s, uint64_t max_size, struct xs_txn **out);
int xs_txn_write(struct xs_txn *t, const void *p, size_t n);
uint64_t xs_txn_size(const struct xs_txn *t);
/* Restart from zero bytes (after a failed, non-resumable transfer). */
int xs_txn_reset(struct xs_txn *t);
/* Check and publish.  expect_sha256 NULL: any digest; expect_size
 * UINT64_MAX: any size.  On a mismatch the data goes to quarantine/ and the
 * result is -EBADMSG; out_sha256 (may be NULL) receives the digest that was
 * computed either way.  The transaction is freed in every case. */
int xs_txn_commit(struct xs_txn *t, const char *expect_sha256, uint64_t expect_size,
		  char out_sha256[65]);
void xs_txn_abort(struct xs_txn *t);
/* Commit without an fsync of its own: many objects written together (the
 * files of one package) are made durable by one xs_store_sync, which the
 * caller must call before it records anything that refers to them.  An
 * object a crash left short is replaced by the next commit of that digest. */
void xs_txn_defer_sync(struct xs_txn *t);
int xs_store_sync(struct xs_store *s);
/* Open a published object read-only; -ENOENT when absent. */
int xs_store_open_object(struct xs_store *s, const char *sha256);
bool xs_store_has_object(struct xs_store *s, const char *sha256);
/* A published object whose content turned out not to match its name (disk
 * damage, a hand edit): move it from objects/ to quarantine/, so that it is
 * never served again and is absent for whatever checks the presence of its
 * objects (a package's cached manifest: the package is fetched again).  fd
 * is the object as the caller opened it: nothing is moved when the name
 * meanwhile refers to another file (a good copy that replaced it).  0 when
 * it is gone from objects/, else negative errno. */
int xs_store_quarantine_object(struct xs_store *s, const char *sha256, int fd);
/* Path of an object (whether present or not) into out. */
int xs_store_object_path(struct xs_store *s, const char *sha256, char *out, size_t outsz);

/* Small documents under meta/: written by transaction (temp + rename).
 * name is a flat file name: not empty, no '/', not starting with '.'
 * (-EINVAL otherwise). */
int xs_store_meta_write(struct xs_store *s, const char *name, const void *p, size_t n);
/* Read; -ENOENT when absent, -E2BIG when larger than max. */
int xs_store_meta_read(struct xs_store *s, const char *name, size_t max, char **data,
		       size_t *len);
int xs_store_meta_path(struct xs_store *s, const char *name, char *out, size_t outsz);

/* The steps of xs_store_meta_write, for a writer that must use the file
 * before it is installed.  xs_store_meta_tmp creates a private temporary
 * file for name in meta/ (O_EXCL, mode 0644) under a random name that no
 * other process knows (".NAME.RANDOM": gc removes one left over); returns
 * its descriptor (read-write) or negative errno; tmp receives that name and,
 * unless path is NULL, path its full path.  xs_store_meta_commit makes it
 * durable and renames it to name atomically (fd stays open: the caller
 * closes it); xs_store_meta_discard removes it after a failure. */
#define XS_META_TMP_MAX 256
int xs_store_meta_tmp(struct xs_store *s, const char *name, char tmp[XS_META_TMP_MAX],
		      char *path, size_t pathsz);
int xs_store_meta_commit(struct xs_store *s, int fd, const char *tmp, const char *name);
void xs_store_meta_discard(struct xs_store *s, const char *tmp);
/* An exclusive flock on meta/NAME (created when absent), to serialise a
 * read-compare-write of meta documents between processes sharing the
 * cache: the descriptor to close (which unlocks), or negative errno.
 * Blocks until the lock is granted; a lock file removed meanwhile (by one
 * holding it) is not taken: the lock is then taken on the new one. */
int xs_store_meta_lock(struct xs_store *s, const char *name);
#endif
