/* fuzz.h - helpers shared by the libFuzzer targets (tests/fuzz/fuzz-*.c).
 *
 * Each target is one LLVMFuzzerTestOneInput over one parser of the core.
 * The input buffer libFuzzer passes is exactly 'size' bytes on the heap, so
 * ASan catches a parser that reads past it; targets never NUL-terminate it
 * in place.  FZ_CHECK states a property of the contract (include/xsysroot)
 * and aborts, which libFuzzer reports as a crash with the input saved.
 * Every target frees what it allocates: the runs use -detect_leaks=1.
 */
#ifndef XSYSROOT_FUZZ_H
#define XSYSROOT_FUZZ_H
#include "xsysroot/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The entry points libFuzzer calls (declared here: the build enforces
 * -Werror=missing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_CHECK(cond)                                                                 \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* A NUL-terminated copy of data[0..n) (it stops at an embedded NUL, as any
 * C string would). */
static inline char *fz_str(const uint8_t *data, size_t n)
{
	char *s = xs_xmalloc(n + 1);
	memcpy(s, data, n);
	s[n] = 0;
	return s;
}

/* A memfd holding data[0..n), position 0. */
static inline int fz_memfd(const uint8_t *data, size_t n)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0 || xs_write_all(fd, data, n) < 0) {
		perror("memfd");
		abort();
	}
	return fd;
}

/* A scratch directory made once per process (under $TMPDIR, else /tmp)
 * and removed at exit. */
static char fz_dir[256];

static void fz_dir_remove(void)
{
	if (fz_dir[0])
		xs_rm_rf(fz_dir);
}

static inline const char *fz_tmpdir(void)
{
	if (fz_dir[0])
		return fz_dir;
	const char *t = getenv("TMPDIR");
	snprintf(fz_dir, sizeof fz_dir, "%s/xs-fuzz-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(fz_dir)) {
		perror("mkdtemp");
		abort();
	}
	atexit(fz_dir_remove);
	return fz_dir;
}

/* Split data at the first byte c: [0, *n1) and [*n1 + 1, size) (the second
 * part is empty when c is absent). */
static inline void fz_split(const uint8_t *data, size_t size, uint8_t c, size_t *n1,
			    const uint8_t **rest, size_t *nrest)
{
	const uint8_t *p = size ? memchr(data, c, size) : NULL;
	*n1 = p ? (size_t)(p - data) : size;
	*rest = p ? p + 1 : data + size;
	*nrest = size - (size_t)(*rest - data);
}
#endif
