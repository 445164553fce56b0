/* test-testlib.c - the unit tests' own helpers (testlib.h): the temporary
 * root is made under TMPDIR and removed when its process ends, passing,
 * failing, aborting or killed, but not when a forked child exits; the file,
 * count, memfd and store helpers do what they say.  The root cases run this
 * program again (argv[0] MODE) with TMPDIR set. */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HELLO_SHA "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* The child side: make the root, print it, then end as MODE says. */
static int child(const char *mode)
{
	const char *root = tl_root();
	printf("%s\n", root);
	fflush(stdout);
	if (!strcmp(mode, "fail"))
		return 1;
	if (!strcmp(mode, "abort")) {
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
		abort();
	}
	if (!strcmp(mode, "term"))
		raise(SIGTERM);
	if (!strcmp(mode, "fork")) {
		pid_t pid = fork();
		if (pid == 0)
			exit(0); /* runs the atexit handlers: must leave the root */
		waitpid(pid, NULL, 0);
		printf("%s\n", exists(root) ? "kept" : "gone");
	}
	return 0;
}

/* Run argv0 MODE with TMPDIR=tmpdir; its output in out.  The wait status. */
static int run_child(const char *argv0, const char *mode, const char *tmpdir, char *out,
		     size_t outsz)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		setenv("TMPDIR", tmpdir, 1);
		execl(argv0, argv0, mode, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t k;
	while (n + 1 < outsz && (k = read(p[0], out + n, outsz - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = 0;
	close(p[0]);
	int st = -1;
	waitpid(pid, &st, 0);
	return st;
}

static void test_root(const char *argv0)
{
	const char *base = tl_root();
	char prefix[TL_ROOT_MAX + 32], out[512];
	snprintf(prefix, sizeof prefix, "%s/xs-test-testlib.", base);
	CHECK(strncmp(base, "/", 1) == 0 && exists(base), "the root exists: %s", base);
	CHECK_STR(tl_root(), base, "a second call returns the same root");

	static const struct {
		const char *mode;
		int sig, code;
	} cases[] = {
		{ "pass", 0, 0 }, { "fail", 0, 1 }, { "abort", SIGABRT, 0 }, { "term", SIGTERM, 0 },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(cases); i++) {
		int st = run_child(argv0, cases[i].mode, base, out, sizeof out);
		*strchrnul(out, '\n') = 0;
		CHECK(!strncmp(out, prefix, strlen(prefix)), "%s: the root is under TMPDIR (%s)",
		      cases[i].mode, out);
		if (cases[i].sig)
			CHECK(WIFSIGNALED(st) && WTERMSIG(st) == cases[i].sig,
			      "%s: the child died of its signal (status %#x)", cases[i].mode, st);
		else
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == cases[i].code,
			      "%s: the child exited %d (status %#x)", cases[i].mode, cases[i].code, st);
		CHECK(out[0] && !exists(out), "%s: its root is removed", cases[i].mode);
	}
	int st = run_child(argv0, "fork", base, out, sizeof out);
	CHECK(st == 0 && strstr(out, "\nkept\n"), "a forked child's exit leaves the root");
	*strchrnul(out, '\n') = 0;
	CHECK(out[0] && !exists(out), "fork: the root is removed when its maker exits");
	CHECK_INT(tl_count_entries(base), 0, "nothing left in TMPDIR by the children");

	st = run_child(argv0, "pass", "relative/dir", out, sizeof out);
	*strchrnul(out, '\n') = 0;
	snprintf(prefix, sizeof prefix, "%s/xs-test-testlib.", P_tmpdir);
	CHECK(st == 0 && !strncmp(out, prefix, strlen(prefix)),
	      "a relative TMPDIR: the root is under %s (%s)", P_tmpdir, out);
}

static void test_files(void)
{
	char want[TL_ROOT_MAX + 8];
	snprintf(want, sizeof want, "%s/a/b", tl_root());
	CHECK_STR(tl_path("a/%s", "b"), want, "tl_path: root/REL, printf-style");
	const char *p = tl_path("d1/d2/f");
	CHECK_INT(tl_write_file(p, "abc", 3, 0600), 0, "tl_write_file makes the parents");
	struct stat st;
	CHECK(stat(p, &st) == 0 && st.st_size == 3 && (st.st_mode & 07777) == 0600,
	      "the file has the bytes and the mode");
	CHECK_INT(tl_write_file(p, "x", 1, 0644), 0, "rewrite");
	CHECK(stat(p, &st) == 0 && st.st_size == 1 && (st.st_mode & 07777) == 0644,
	      "rewritten: truncated, new mode");
	CHECK_INT(tl_write_file(tl_path("d1/d2/f/g"), "x", 1, 0644), -ENOTDIR,
		  "a file in the way: -ENOTDIR");
	CHECK_INT(tl_write_file(tl_path("d1/d2/.hidden"), "", 0, 0644), 0, "a dot file");
	CHECK_INT(tl_count_entries(tl_path("d1/d2")), 2, "tl_count_entries counts dot files");
	CHECK_INT(tl_count_entries(tl_path("nonexistent")), -1, "a missing directory: -1");

	int fd = tl_memfd("hello", 5);
	char buf[8] = "";
	CHECK(fd >= 0 && pread(fd, buf, sizeof buf, 0) == 5 && !memcmp(buf, "hello", 5),
	      "tl_memfd holds the bytes");
	CHECK(lseek(fd, 0, SEEK_CUR) == 5, "its offset is at the end");
	close(fd);
}

static void test_store(void)
{
	struct xs_store *s;
	CHECK_INT(tl_store_open("store", &s), 0, "tl_store_open");
	if (!s)
		return;
	CHECK_STR(xs_store_dir(s), tl_path("store"), "the store is at root/store");
	char sha[65] = "";
	CHECK_INT(tl_store_put(s, "hello", 5, sha), 0, "tl_store_put");
	CHECK_STR(sha, HELLO_SHA, "its digest");
	char *t = tl_store_read(s, HELLO_SHA);
	CHECK_STR(t, "hello", "tl_store_read reads it back");
	free(t);
	CHECK(tl_store_read(s, "0000000000000000000000000000000000000000000000000000000000000000") ==
		      NULL, "an absent object: NULL");
	CHECK_INT(tl_store_put_expect(s, "hellO", 5, HELLO_SHA, 5, NULL), -EBADMSG,
		  "tl_store_put_expect: a digest mismatch");
	CHECK_INT(tl_store_put_expect(s, "hello", 5, HELLO_SHA, 5, NULL), 0,
		  "tl_store_put_expect: a match");
	xs_store_close(s);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return child(argv[1]);
	test_root(argv[0]);
	test_files();
	test_store();
	return tap_done();
}
