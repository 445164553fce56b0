/* testlib.c - helpers shared by the unit tests (see testlib.h). */
#include "testlib.h"
#include "xsysroot/contents.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char root[TL_ROOT_MAX];
static pid_t root_owner;

static void bail_out(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static void remove_root(void)
{
	if (root[0] && getpid() == root_owner)
		xs_rm_rf(root);
	root[0] = 0;
}

/* Only async-signal-safe calls (_Fork, not fork): rm -rf in a child, then
 * die of the signal as if it had not been caught. */
static void remove_root_on_signal(int sig)
{
	if (root[0] && getpid() == root_owner) {
		char *const argv[] = { "rm", "-rf", "--", root, NULL };
		char *const envp[] = { NULL };
		pid_t pid = _Fork();
		if (pid == 0) {
			execve("/bin/rm", argv, envp);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

const char *tl_root(void)
{
	if (root[0])
		return root;
	const char *tmp = getenv("TMPDIR");
	if (!tmp || tmp[0] != '/')
		tmp = P_tmpdir;
	int n = snprintf(root, sizeof root, "%s/xs-%s.XXXXXX", tmp, program_invocation_short_name);
	if (n < 0 || (size_t)n >= sizeof root) {
		root[0] = 0;
		errno = ENAMETOOLONG;
		bail_out("the temporary root under TMPDIR");
	}
	if (!mkdtemp(root)) {
		int e = errno;
		root[0] = 0;
		errno = e;
		bail_out("mkdtemp");
	}
	root_owner = getpid();
	atexit(remove_root);
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGABRT };
	for (size_t i = 0; i < XS_ARRAY_SIZE(sigs); i++)
		signal(sigs[i], remove_root_on_signal);
	return root;
}

const char *tl_path(const char *fmt, ...)
{
	static __thread char buf[8][PATH_MAX];
	static __thread unsigned next;
	char *p = buf[next++ % 8];
	int n = snprintf(p, PATH_MAX, "%s/", tl_root());
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p + n, PATH_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return p;
}

int tl_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

int tl_memfd(const void *p, size_t n)
{
	int fd = memfd_create("tl-fixture", MFD_CLOEXEC);
	if (fd < 0)
		bail_out("memfd_create");
	int r = xs_write_all(fd, p, n);
	if (r < 0) {
		errno = -r;
		bail_out("writing a memfd");
	}
	return fd;
}

int tl_write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		int r = xs_mkdir_p(dir, 0755);
		if (r < 0)
			return r;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	int r = xs_write_all(fd, p, n);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	close(fd);
	return r;
}

int tl_store_open(const char *rel, struct xs_store **out)
{
	return xs_store_open(rel && rel[0] ? tl_path("%s", rel) : tl_root(), out);
}

int tl_store_put(struct xs_store *s, const void *p, size_t n, char sha[65])
{
	return tl_store_put_expect(s, p, n, NULL, UINT64_MAX, sha);
}

int tl_store_put_expect(struct xs_store *s, const void *p, size_t n, const char *expect,
			uint64_t size, char sha[65])
{
	struct xs_txn *t;
	int r = xs_txn_begin(s, UINT64_MAX, &t);
	if (r < 0)
		return r;
	r = xs_txn_write(t, p, n);
	if (r < 0) {
		xs_txn_abort(t);
		return r;
	}
	return xs_txn_commit(t, expect, size, sha);
}

char *tl_store_read(struct xs_store *s, const char *sha)
{
	int fd = xs_store_open_object(s, sha);
	if (fd < 0)
		return NULL;
	struct xs_buf b;
	int r = xs_read_fd(fd, 64 << 20, &b);
	close(fd);
	return r < 0 ? NULL : xs_buf_steal(&b, NULL);
}

int tl_contents_open(const char *text, const char *idx_path, struct xs_contents **out)
{
	*out = NULL;
	int fd = tl_memfd(text, strlen(text));
	struct xs_contents_stats st;
	int q = lseek(fd, 0, SEEK_SET) < 0 ? -errno : 0;
	if (q == 0)
		q = xs_contents_build(fd, 1 << 20, idx_path, &st);
	if (q == 0)
		q = xs_contents_open(idx_path, out);
	close(fd);
	return q;
}

int tl_dpkg_deb_build(const char *tree, const char *out, const char *ztype)
{
	char zarg[32];
	snprintf(zarg, sizeof zarg, "-Z%s", ztype);
	char *argv[] = { "dpkg-deb", "--root-owner-group", zarg, "--build", (char *)tree,
			 (char *)out, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int r = posix_spawnp(&pid, "dpkg-deb", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -r;
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}
