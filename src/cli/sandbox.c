/* sandbox.c - run --strict: the program in private namespaces with the
 * view as /; see sandbox.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "command.h"
#include "output.h"
#include "sandbox.h"
#include "xsysroot/binfmt.h"
#include "xsysroot/util.h"

extern char **environ;

/* Where the host's static qemu is bound in the root, as root: under
 * Debian's -binfmt-P name (it then keeps the program's argv[0]).  The
 * handler is registered after pivot_root there, and with the F flag the
 * kernel opens it then. */
static void qemu_in_root(const struct sandbox *sb, char *path, size_t sz)
{
	snprintf(path, sz, "/usr/libexec/qemu-binfmt/%s-binfmt-P", sb->arch->qemu);
}

/* The interpreter to register: Debian's -binfmt-P name of the static qemu
 * (bound there as root; else when it is the static qemu), else the static
 * qemu itself. */
static void binfmt_interp(const struct sandbox *sb, bool as_root, char *interp, size_t sz,
			  const char **flags)
{
	qemu_in_root(sb, interp, sz);
	char real[PATH_MAX];
	if (as_root || (realpath(interp, real) && !strcmp(real, sb->qemu))) {
		*flags = "POF";
		return;
	}
	snprintf(interp, sz, "%s", sb->qemu);
	*flags = "OF";
}

/* The register line of the handler xsysroot-QEMU_ARCH (its name and
 * interpreter in name and interp): 0 or -errno. */
static int handler_line(const struct sandbox *sb, bool as_root, char name[64],
			char interp[PATH_MAX], char *line, size_t linesz)
{
	const char *flags;
	snprintf(name, 64, "xsysroot-%s", sb->arch->qemu);
	binfmt_interp(sb, as_root, interp, PATH_MAX, &flags);
	return xs_binfmt_register_line(sb->arch, name, interp, flags, line, linesz);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int q = n == (ssize_t)strlen(s) ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
	return q;
}

bool kernel_has_userns_binfmt(void)
{
	struct utsname u;
	int maj = 0, min = 0;
	return uname(&u) == 0 && sscanf(u.release, "%d.%d", &maj, &min) == 2 &&
	       (maj > 6 || (maj == 6 && min >= 7));
}

int sandbox_prepare(struct sandbox *sb)
{
	if (sb->native || kernel_has_userns_binfmt())
		return 0;
	struct utsname u;
	say("--strict needs Linux 6.7 or later, where each user namespace has its own "
	    "binfmt_misc (this kernel is %s): xsysroot registers no handler for the whole "
	    "machine; run without --strict (qemu-user -L) or on a newer kernel",
	    uname(&u) == 0 ? u.release : "older");
	return -1;
}

static int mkdir_in(const char *base, const char *path, bool file)
{
	char *p = fmt_str("%s%s", base, path);
	int q = 0;
	if (file) {
		char *slash = strrchr(p, '/');
		*slash = 0;
		q = xs_mkdir_p(p, 0755);
		*slash = '/';
		int fd = q == 0 ? open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : -1;
		if (fd >= 0)
			close(fd);
		else if (q == 0)
			q = -errno;
	} else {
		q = xs_mkdir_p(p, 0755);
	}
	free(p);
	return q;
}

/* An overlayfs option value: ',' ':' and '\' escaped. */
static char *ovl_escape(const char *s)
{
	struct xs_buf b;
	xs_buf_init(&b, SIZE_MAX / 2);
	for (const char *p = s; *p; p++) {
		if (*p == ',' || *p == ':' || *p == '\\')
			xs_buf_append(&b, "\\", 1);
		xs_buf_append(&b, p, 1);
	}
	xs_buf_append(&b, "", 1);
	return xs_buf_steal(&b, NULL);
}

#define CHILD_FAIL(...)                                                        \
	do {                                                                   \
		say(__VA_ARGS__);                                              \
		_exit(EXIT_SETUP);                                             \
	} while (0)

static void bind_at(const char *root, const char *from, const char *at, unsigned long flags)
{
	char *to = fmt_str("%s%s", root, at);
	if (mount(from, to, NULL, MS_BIND | flags, NULL) < 0)
		CHILD_FAIL("--strict: cannot bind %s: %s", from, strerror(errno));
	free(to);
}

/* PATH under root bound over itself read-only (with the flags it has). */
static void read_only(const char *root, const char *path, unsigned long keep)
{
	char *at = fmt_str("%s%s", root, path);
	if (access(at, F_OK) == 0 &&
	    (mount(at, at, NULL, MS_BIND, NULL) < 0 ||
	     mount(NULL, at, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0))
		CHILD_FAIL("--strict: cannot make %s read-only: %s", path, strerror(errno));
	free(at);
}

/* A fresh /proc of the sandbox's pid namespace, its knobs of the machine
 * (/proc/sys, /proc/sysrq-trigger...) read-only. */
static void mount_proc(const char *root)
{
	static const char *const ro[] = { "/proc/sys", "/proc/sysrq-trigger", "/proc/irq",
					  "/proc/bus", "/proc/fs" };
	const unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char *at = fmt_str("%s/proc", root);
	if (mount("proc", at, "proc", fl, NULL) < 0)
		CHILD_FAIL("--strict: cannot mount a /proc for the sandbox: %s", strerror(errno));
	free(at);
	for (size_t i = 0; i < XS_ARRAY_SIZE(ro); i++)
		read_only(root, ro[i], fl);
}

/* /sys read-only: a fresh sysfs as root (none of the host's mounts under
 * it), else the host's bound. */
static void mount_sys(const char *root, bool as_root)
{
	const unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char *at = fmt_str("%s/sys", root);
	if (as_root ? mount("sysfs", at, "sysfs", fl | MS_RDONLY, NULL) < 0
		    : mount("/sys", at, NULL, MS_BIND | MS_REC, NULL) < 0 ||
			      mount(NULL, at, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | fl, NULL) < 0)
		CHILD_FAIL("--strict: cannot mount /sys read-only: %s", strerror(errno));
	free(at);
}

/* /dev: a tmpfs with the host's null, zero, full, random, urandom, tty and
 * pts bound in, its own shm, and the usual links. */
static void mount_dev(const char *root)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = { { "fd", "/proc/self/fd" },
						{ "stdin", "/proc/self/fd/0" },
						{ "stdout", "/proc/self/fd/1" },
						{ "stderr", "/proc/self/fd/2" },
						{ "ptmx", "pts/ptmx" } };
	char *dev = fmt_str("%s/dev", root);
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") < 0)
		CHILD_FAIL("--strict: cannot mount a tmpfs on /dev: %s", strerror(errno));
	for (size_t i = 0; i < XS_ARRAY_SIZE(nodes); i++) {
		char *host = fmt_str("/dev/%s", nodes[i]), *at = fmt_str("/dev/%s", nodes[i]);
		int q = access(host, F_OK) == 0 ? mkdir_in(root, at, true) : 1;
		if (q < 0)
			CHILD_FAIL("--strict: cannot make %s: %s", at, strerror(-q));
		if (q == 0)
			bind_at(root, host, at, 0);
		free(host), free(at);
	}
	for (size_t i = 0; i < XS_ARRAY_SIZE(links); i++) {
		char *at = fmt_str("%s/%s", dev, links[i][0]);
		if (symlink(links[i][1], at) < 0)
			CHILD_FAIL("--strict: cannot make %s: %s", at, strerror(errno));
		free(at);
	}
	if (mkdir_in(root, "/dev/pts", false) < 0 || mkdir_in(root, "/dev/shm", false) < 0)
		CHILD_FAIL("--strict: cannot make /dev/pts, /dev/shm: %s", strerror(errno));
	if (access("/dev/pts/ptmx", F_OK) == 0)
		bind_at(root, "/dev/pts", "/dev/pts", MS_REC);
	char *shm = fmt_str("%s/shm", dev);
	if (mount("tmpfs", shm, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		CHILD_FAIL("--strict: cannot mount a tmpfs on /dev/shm: %s", strerror(errno));
	free(shm), free(dev);
}

/* The overlay's upper lower layers: skel, then sb->layers, escaped and
 * joined with ':' (allocated). */
static char *lower_layers(struct sandbox *sb, const char *skel)
{
	char *all = ovl_escape(skel);
	for (size_t i = 0; sb->layers && sb->layers[i]; i++) {
		char *e = ovl_escape(sb->layers[i]), *j = fmt_str("%s:%s", all, e);
		free(e), free(all);
		all = j;
	}
	return all;
}

/* The host's /etc/resolv.conf, read-only: the namespace shares the host's
 * network, so its resolver is the host's.  The view brings the rest of what
 * names need (a generated /etc/hosts with localhost, nsswitch.conf:
 * sysroot.h).  Its mount point goes into the layer over the view (skel),
 * the bind onto the root once it is mounted (root != NULL). */
static void strict_resolv_conf(const char *skel, const char *root)
{
	static const char conf[] = "/etc/resolv.conf";
	struct stat st;
	if (stat(conf, &st) < 0 || !S_ISREG(st.st_mode))
		return; /* none on the host: the namespace has none either */
	if (!root) {
		int q = mkdir_in(skel, conf, true);
		if (q < 0)
			CHILD_FAIL("--strict: cannot make a mount point for %s: %s", conf,
				   strerror(-q));
		return;
	}
	bind_at(root, conf, conf, 0);
	read_only(root, conf, MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

/* The root in sb->dir/root: the overlay of the mount-point layer and the
 * view (writable with --writable), /proc, /dev, /sys, and /tmp, the current
 * directory, $HOME and a host program bound in.  As root this runs before
 * the user namespace, so that the namespace cannot undo any of it. */
static void strict_mounts(struct sandbox *sb, const char *root, const char *cwd,
			  const char *home, bool as_root)
{
	char skel[PATH_MAX + 8];
	snprintf(skel, sizeof skel, "%s/skel", sb->dir);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		CHILD_FAIL("--strict: cannot make the mounts private: %s", strerror(errno));
	if (mount("tmpfs", skel, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		CHILD_FAIL("--strict: cannot mount a tmpfs on %s: %s", skel, strerror(errno));
	/* mount points, in a layer over the view */
	static const char *const sys[] = { "/proc", "/dev", "/sys", "/tmp" };
	const char *binds[XS_ARRAY_SIZE(sys) + 3];
	size_t nb = 0;
	for (size_t i = 0; i < XS_ARRAY_SIZE(sys); i++)
		binds[nb++] = sys[i];
	binds[nb++] = cwd;
	if (home)
		binds[nb++] = home;
	if (sb->prog_host)
		binds[nb++] = sb->prog;
	for (size_t i = 0; i < nb; i++) {
		int q = mkdir_in(skel, binds[i], sb->prog_host && binds[i] == sb->prog);
		if (q < 0)
			CHILD_FAIL("--strict: cannot make a mount point for %s: %s", binds[i],
				   strerror(-q));
	}
	strict_resolv_conf(skel, NULL);
	char qemu[PATH_MAX];
	qemu_in_root(sb, qemu, sizeof qemu);
	bool bind_qemu = as_root && !sb->native;
	int qq = bind_qemu ? mkdir_in(skel, qemu, true) : 0;
	if (qq < 0)
		CHILD_FAIL("--strict: cannot make a mount point for %s: %s", qemu, strerror(-qq));
	char *lsk = lower_layers(sb, skel), *lmp = ovl_escape(sb->view), *opts;
	if (sb->writable) {
		char *up = fmt_str("%s/upper", sb->writable), *wk = fmt_str("%s/work", sb->writable);
		char *eup = ovl_escape(up), *ewk = ovl_escape(wk);
		/* root mounts it outside the user namespace: the overlay can
		 * rename directories of the view (redirect_dir), which dpkg does */
		opts = fmt_str("lowerdir=%s:%s,upperdir=%s,workdir=%s%s", lsk, lmp, eup, ewk,
			       as_root ? ",redirect_dir=on" : "");
		free(up), free(wk), free(eup), free(ewk);
	} else {
		opts = fmt_str("lowerdir=%s:%s", lsk, lmp);
	}
	if (mount("overlay", root, "overlay", sb->writable ? 0 : MS_RDONLY, opts) < 0)
		CHILD_FAIL("--strict: cannot mount the overlay (%s) on %s: %s", opts, root,
			   strerror(errno));
	free(lsk), free(lmp), free(opts);
	for (size_t i = 3; i < nb; i++)
		bind_at(root, binds[i], binds[i], MS_REC);
	if (bind_qemu) {
		bind_at(root, sb->qemu, qemu, 0);
		read_only(root, qemu, MS_NOSUID | MS_NODEV);
	}
	mount_proc(root);
	mount_dev(root);
	mount_sys(root, as_root);
	strict_resolv_conf(skel, root);
}

/* In the user namespace: its own binfmt_misc, with the handler. */
static void namespace_binfmt(struct sandbox *sb, const char *root, bool as_root)
{
	char *bm = fmt_str("%s/proc/sys/fs/binfmt_misc", root);
	char *reg = fmt_str("%s/register", bm);
	char interp[PATH_MAX], line[PATH_MAX + 256], name[64];
	if (mount("binfmt_misc", bm, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		CHILD_FAIL("--strict: cannot mount binfmt_misc in the namespace: %s",
			   strerror(errno));
	int q = handler_line(sb, as_root, name, interp, line, sizeof line);
	if (q == 0)
		q = write_file(reg, line);
	if (q < 0)
		CHILD_FAIL("--strict: cannot register %s in the namespace's binfmt_misc: %s",
			   interp, strerror(-q));
	free(bm), free(reg);
}

/* The sandbox's init (pid 1) forwards these to the program (a signal for
 * which pid 1 has no handler would be dropped). */
static const int init_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
static volatile pid_t init_child;

static void init_forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	/* one the terminal sent (si_code > 0) reached the program already */
	if (init_child > 0 && si->si_code <= 0)
		kill(init_child, sig);
}

/* The program's environment: the host's, but for PATH (SANDBOX_PATH). */
static void strict_environment(void)
{
	if (setenv("PATH", SANDBOX_PATH, 1) < 0)
		CHILD_FAIL("--strict: cannot set PATH: %s", strerror(errno));
}

/* pid 1 of the sandbox: start the program, reap what is orphaned, and
 * leave with the program's status (128 + N for a signal N); leaving ends
 * every process left in the namespace.  Never returns. */
static void sandbox_init(struct sandbox *sb, char **args)
{
	struct sigaction sa = { .sa_sigaction = init_forward, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < XS_ARRAY_SIZE(init_signals); i++)
		sigaction(init_signals[i], &sa, NULL);
	pid_t pid = fork();
	if (pid < 0)
		CHILD_FAIL("--strict: cannot fork: %s", strerror(errno));
	if (pid == 0) {
		for (size_t i = 0; i < XS_ARRAY_SIZE(init_signals); i++)
			signal(init_signals[i], SIG_DFL);
		if (sb->child_setup)
			sb->child_setup();
		strict_environment();
		execve(sb->prog, args, environ);
		int e = errno;
		say("cannot run %s in the %s view: %s", sb->prog, sb->arch->deb, strerror(e));
		_exit(e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
	}
	init_child = pid;
	for (;;) {
		int st;
		pid_t w = waitpid(-1, &st, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			_exit(EXIT_SETUP);
		if (w == pid)
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
}

/* root becomes /, and the current directory cwd in it */
static void enter_root(const char *root, const char *cwd)
{
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0)
		CHILD_FAIL("--strict: cannot make %s the root: %s", root, strerror(errno));
	if (chdir(cwd) < 0)
		CHILD_FAIL("--strict: cannot enter %s: %s", cwd, strerror(errno));
}

/* In the child, pid 1 of a new pid namespace: the mounts (as root before
 * the user namespace, else in it), the binfmt handler, pivot_root, and the
 * program.  p1 tells the parent the user namespace is there; p2 answers
 * when its ids are mapped.  Never returns. */
static void strict_child(struct sandbox *sb, char **args, const char *cwd, const char *home,
			 bool as_root, int p1, int p2)
{
	char root[PATH_MAX + 8];
	snprintf(root, sizeof root, "%s/root", sb->dir);
	if (as_root) {
		/* all of it before the user namespace, where the mounts are
		 * locked (pivot_root too is refused there) */
		strict_mounts(sb, root, cwd, home, true);
		enter_root(root, cwd);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			CHILD_FAIL("--strict: cannot make a user namespace: %s (xsysroot runs no "
				   "confined program without one: allow user namespaces, e.g. "
				   "sysctl user.max_user_namespaces)", strerror(errno));
	}
	char c = 'u';
	if (write(p1, &c, 1) != 1 || read(p2, &c, 1) != 1 || c != 'm')
		_exit(EXIT_SETUP); /* the parent said why */
	close(p1), close(p2);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		CHILD_FAIL("--strict: cannot become root in the namespace: %s", strerror(errno));
	if (!as_root)
		strict_mounts(sb, root, cwd, home, false);
	if (!sb->native)
		namespace_binfmt(sb, as_root ? "" : root, as_root);
	if (!as_root)
		enter_root(root, cwd);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	sandbox_init(sb, args);
}

static int write_map(pid_t pid, const char *file, const char *map)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	return write_file(path, map);
}

/* The child's user namespace maps root to this user.  For root: root to
 * root and 1-65535 to themselves (files of host root stay writable in the
 * overlay; dpkg and apt use _apt, nobody and other system ids); no higher
 * host id exists in it.  For a user: one id. */
static int map_ids(pid_t pid, uid_t uid, gid_t gid)
{
	char m[64];
	if (uid == 0) {
		int q = write_map(pid, "uid_map", "0 0 65536");
		return q < 0 ? q : write_map(pid, "gid_map", "0 0 65536");
	}
	snprintf(m, sizeof m, "0 %u 1", (unsigned)uid);
	int q = write_map(pid, "uid_map", m);
	if (q == 0)
		q = write_map(pid, "setgroups", "deny");
	snprintf(m, sizeof m, "0 %u 1", (unsigned)gid);
	if (q == 0)
		q = write_map(pid, "gid_map", m);
	return q;
}

/* Fork the program's init in new pid and mount namespaces (and, but for
 * root, a user namespace; root makes it after the mounts). */
pid_t sandbox_start(struct sandbox *sb, char **args)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd)) {
		say("--strict: cannot tell the current directory: %s", strerror(errno));
		return -1;
	}
	const char *home = getenv("HOME");
	char home_real[PATH_MAX];
	if (home && (home[0] != '/' || !realpath(home, home_real)))
		home = NULL;
	else if (home)
		home = home_real;
	int p1[2], p2[2];
	if (pipe2(p1, O_CLOEXEC) < 0 || pipe2(p2, O_CLOEXEC) < 0) {
		say("cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	uid_t uid = geteuid();
	gid_t gid = getegid();
	bool as_root = uid == 0;
	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | (as_root ? 0 : CLONE_NEWUSER);
	/* fork into the new namespaces: no stack of its own, as fork */
	pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		say("--strict: cannot make %s namespaces: %s", as_root ? "pid and mount" :
		    "user, pid and mount", strerror(errno));
		if (!as_root)
			say("xsysroot runs no confined program without a user namespace: allow "
			    "them (sysctl kernel.unprivileged_userns_clone=1, "
			    "user.max_user_namespaces) or run without --strict");
		close(p1[0]), close(p1[1]), close(p2[0]), close(p2[1]);
		return -1;
	}
	if (pid == 0) {
		close(p1[0]);
		close(p2[1]);
		/* run killed (SIGKILL): the sandbox and all in it go too */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			_exit(EXIT_SETUP);
		strict_child(sb, args, cwd, home, as_root, p1[1], p2[0]);
	}
	close(p1[1]);
	close(p2[0]);
	char c = 0;
	if (read(p1[0], &c, 1) == 1 && c == 'u') {
		int q = map_ids(pid, uid, gid);
		if (q < 0)
			say("--strict: cannot map the user ids of the namespace: %s", strerror(-q));
		c = q == 0 ? 'm' : 'x';
		if (write(p2[1], &c, 1) != 1)
			say("--strict: the sandbox left early");
	}
	close(p1[0]);
	close(p2[1]);
	return pid; /* on failure the child exits with EXIT_SETUP */
}
