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
 * Thread safety: an opened index may be queried from many threads.
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
#endif
