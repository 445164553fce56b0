/* contents.h - the archive's Contents-ARCH indexes, in a compact cached form.
 *
 * A Contents file maps paths to packages, one line each:
 *     usr/bin/hello                 devel/hello
 *     usr/lib/x/libfoo.so.1         libs/libfoo1,oldlibs/libfoo1-compat
 * (the path may contain blanks: the location is the last blank-separated
 * column; the package is the part after the last '/' of each comma-separated
 * location; an optional "FILE LOCATION" header line is skipped).
 *
 * xs_contents_build turns a (compressed) Contents file into the compact form:
 * a file of per-package path lists, each list a zstd frame, with a sorted
 * package-name index, so that the paths of one package are found by a binary
 * search and one small decompression.  Lines that are malformed or whose path
 * fails xs_path_normalize are skipped and counted.
 *
 * The reverse index (xs_contents_build_rev) answers "which packages ship
 * this path?" for the paths a caller's key function keeps (the view keeps
 * etc/, usr/lib/ and usr/libexec/ as it presents them).  It is built once
 * from an opened compact index and belongs to it (it names packages by
 * their position in it): sorted 64-bit hashes of the kept keys with a
 * package id each, plus one entry per directory that holds kept keys (with
 * one package that ships something below it).  A hit is only a candidate:
 * hashes collide, so callers confirm it with xs_contents_foreach.
 *
 * Thread safety: an opened index may be queried from many threads;
 * xs_contents_open_rev must be called before that.
 */
#ifndef XSYSROOT_CONTENTS_H
#define XSYSROOT_CONTENTS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xs_contents;

struct xs_contents_stats {
	uint64_t lines, skipped, packages, paths;
};

/* Read the Contents file in in_fd (any compression decompress.h knows),
 * write the compact form to out_path by transaction (temp + rename).
 * max_text bounds the decompressed size. */
int xs_contents_build(int in_fd, uint64_t max_text, const char *out_path,
		      struct xs_contents_stats *stats);
int xs_contents_open(const char *path, struct xs_contents **out);
void xs_contents_close(struct xs_contents *c);
/* Call cb with each path (normalised, relative) of package pkg; 0 when the
 * package has no entry (not an error), cb's non-zero return stops and is
 * returned. */
int xs_contents_foreach(struct xs_contents *c, const char *pkg,
			int (*cb)(const char *path, void *ud), void *ud);
bool xs_contents_has(struct xs_contents *c, const char *pkg);

struct xs_contents_rev_stats {
	uint64_t keys, dirs, bytes;
};
/* Write the reverse index of c to out_path by transaction.  key(path, out,
 * outsz, ud) maps each path of each package: 1 keeps it under the key
 * written to out (NUL-terminated), 0 leaves it out, negative fails. */
int xs_contents_build_rev(struct xs_contents *c,
			  int (*key)(const char *path, char *out, size_t outsz, void *ud),
			  void *ud, const char *out_path, struct xs_contents_rev_stats *stats);
/* Attach the reverse index at path to c (checked against c: -EBADMSG when
 * it was built from another index or is damaged). */
int xs_contents_open_rev(struct xs_contents *c, const char *path);
bool xs_contents_has_rev(struct xs_contents *c);
/* Candidate packages for a key: with dir false, those whose kept keys hash
 * like key; with dir true, one package per directory entry that hashes like
 * key.  cb(pkg, ud) is called at most XS_CONTENTS_REV_MAX_HITS times; its
 * non-zero return stops and is returned.  -ENOENT without a reverse index. */
#define XS_CONTENTS_REV_MAX_HITS 16
int xs_contents_rev_find(struct xs_contents *c, const char *key, bool dir,
			 int (*cb)(const char *pkg, void *ud), void *ud);
#endif
