/* sandbox.c - run --strict: the program in private namespaces with the
 * view as /; see sandbox.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "command.h"
#include "output.h"
#include "sandbox.h"
#include "xsysroot/binfmt.h"
#include "xsysroot/util.h"

extern char **environ;

/* The interpreter to register: Debian's -binfmt-P name of the static qemu
 * (it then keeps the program's argv[0]), else the static qemu itself. */
static void binfmt_interp(const struct sandbox *sb, char *interp, size_t sz, const char **flags)
{
	snprintf(interp, sz, "/usr/libexec/qemu-binfmt/%s-binfmt-P", sb->arch->qemu);
	char real[PATH_MAX];
	if (realpath(interp, real) && !strcmp(real, sb->qemu)) {
		*flags = "POF";
		return;
	}
	snprintf(interp, sz, "%s", sb->qemu);
	*flags = "OF";
}

/* The register line of the handler xsysroot-QEMU_ARCH (its name and
 * interpreter in name and interp): 0 or -errno. */
static int handler_line(const struct sandbox *sb, char name[64], char interp[PATH_MAX],
			char *line, size_t linesz)
{
	const char *flags;
	snprintf(name, 64, "xsysroot-%s", sb->arch->qemu);
	binfmt_interp(sb, interp, PATH_MAX, &flags);
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

/* An enabled handler of the host for the architecture's ELF machine with
 * the F flag (it serves inside any root). */
static bool binfmt_host_has_f(const struct sandbox *sb)
{
	static const char dir[] = "/proc/sys/fs/binfmt_misc";
	/* the magic as binfmt_misc prints it: "magic 7f454c46..." */
	unsigned char magic[XS_BINFMT_MAGIC_LEN], mask[XS_BINFMT_MAGIC_LEN];
	xs_binfmt_magic(sb->arch, magic, mask);
	char want[41];
	for (size_t i = 0; i < sizeof magic; i++)
		snprintf(want + 2 * i, 3, "%02x", magic[i]);
	DIR *d = opendir(dir);
	struct dirent *de;
	bool found = false;
	while (d && !found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "status") ||
		    !strcmp(de->d_name, "register"))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		char l[512];
		bool en = false, fl = false, mg = false;
		while (fgets(l, sizeof l, f)) {
			en = en || !strcmp(l, "enabled\n");
			fl = fl || (!strncmp(l, "flags: ", 7) && strchr(l + 7, 'F'));
			/* the identification bytes and the machine (e_type is masked) */
			mg = mg || (!strncmp(l, "magic ", 6) && strlen(l + 6) >= 40 &&
				    !strncmp(l + 6, want, 14) && !strncmp(l + 6 + 36, want + 36, 4));
		}
		fclose(f);
		found = en && fl && mg;
	}
	if (d)
		closedir(d);
	return found;
}

/* Kernels before 6.7, and root with --writable (no user namespace): a
 * machine-wide handler named xsysroot-QEMU, only when
 * no enabled handler with the F flag serves the machine; removed at the
 * end. */
static int binfmt_global_register(struct sandbox *sb)
{
	if (binfmt_host_has_f(sb))
		return 0;
	if (geteuid() != 0) {
		say("--strict needs a binfmt_misc handler with the F flag for %s programs: "
		    "this kernel (before 6.7) has one table for the machine; register one as "
		    "root (Debian: qemu-user-static) or run as root", sb->arch->deb);
		return -1;
	}
	char name[64], interp[PATH_MAX], line[PATH_MAX + 256];
	int q = handler_line(sb, name, interp, line, sizeof line);
	if (q < 0) {
		say("cannot register the binfmt_misc handler %s: %s", name, strerror(-q));
		return -1;
	}
	q = write_file("/proc/sys/fs/binfmt_misc/register", line);
	if (q < 0) {
		say("cannot register the binfmt_misc handler %s: %s (is binfmt_misc mounted? "
		    "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc)", name, strerror(-q));
		return -1;
	}
	snprintf(sb->binfmt, sizeof sb->binfmt, "%s", name);
	return 0;
}

void sandbox_cleanup(struct sandbox *sb)
{
	if (!sb->binfmt[0])
		return;
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/fs/binfmt_misc/%s", sb->binfmt);
	write_file(path, "-1");
	sb->binfmt[0] = 0;
}

int sandbox_prepare(struct sandbox *sb)
{
	if (sb->native || (sb->userns && kernel_has_userns_binfmt()))
		return 0;
	return binfmt_global_register(sb);
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

/* In the child, in its new user and mount namespaces: the root, the binds,
 * the binfmt handler, pivot_root, and the program.  Never returns. */
static void strict_child(struct sandbox *sb, char **args, const char *cwd, const char *home)
{
	char skel[PATH_MAX + 8], root[PATH_MAX + 8];
	snprintf(skel, sizeof skel, "%s/skel", sb->dir);
	snprintf(root, sizeof root, "%s/root", sb->dir);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		CHILD_FAIL("--strict: cannot make the mounts private: %s", strerror(errno));
	if (mount("tmpfs", skel, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		CHILD_FAIL("--strict: cannot mount a tmpfs on %s: %s", skel, strerror(errno));
	/* mount points for the binds, in a layer over the view */
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
	char *lsk = ovl_escape(skel), *lmp = ovl_escape(sb->view), *opts;
	if (sb->writable) {
		char *up = fmt_str("%s/upper", sb->writable), *wk = fmt_str("%s/work", sb->writable);
		char *eup = ovl_escape(up), *ewk = ovl_escape(wk);
		opts = fmt_str("lowerdir=%s:%s,upperdir=%s,workdir=%s%s", lsk, lmp, eup, ewk,
			       sb->userns ? "" : ",redirect_dir=on");
		free(up), free(wk), free(eup), free(ewk);
	} else {
		opts = fmt_str("lowerdir=%s:%s", lsk, lmp);
	}
	if (mount("overlay", root, "overlay", sb->writable ? 0 : MS_RDONLY, opts) < 0)
		CHILD_FAIL("--strict: cannot mount the overlay (%s) on %s: %s", opts, root,
			   strerror(errno));
	free(lsk), free(lmp), free(opts);
	for (size_t i = 0; i < nb; i++) {
		char *to = fmt_str("%s%s", root, binds[i]);
		if (mount(binds[i], to, NULL, MS_BIND | MS_REC, NULL) < 0)
			CHILD_FAIL("--strict: cannot bind %s: %s", binds[i], strerror(errno));
		free(to);
	}
	if (sb->userns && !sb->native && kernel_has_userns_binfmt()) {
		/* this namespace's own binfmt_misc: it lives as long as the mount */
		char *bm = fmt_str("%s/proc/sys/fs/binfmt_misc", root);
		char *reg = fmt_str("%s/register", bm);
		char interp[PATH_MAX], line[PATH_MAX + 256], name[64];
		if (mount("binfmt_misc", bm, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) < 0)
			CHILD_FAIL("--strict: cannot mount binfmt_misc in the namespace: %s",
				   strerror(errno));
		int q = handler_line(sb, name, interp, line, sizeof line);
		if (q == 0)
			q = write_file(reg, line);
		if (q < 0)
			CHILD_FAIL("--strict: cannot register %s in the namespace's binfmt_misc: %s",
				   interp, strerror(-q));
		free(bm), free(reg);
	}
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0)
		CHILD_FAIL("--strict: cannot make %s the root: %s", root, strerror(errno));
	if (chdir(cwd) < 0)
		CHILD_FAIL("--strict: cannot enter %s: %s", cwd, strerror(errno));
	syscall(SYS_close_range, 3U, ~0U, 0U);
	if (sb->child_setup)
		sb->child_setup();
	execve(sb->prog, args, environ);
	int e = errno;
	say("cannot run %s in the %s view: %s", sb->prog, sb->arch->deb, strerror(e));
	_exit(e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

static int write_map(pid_t pid, const char *file, const char *map)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	return write_file(path, map);
}

/* Fork the program in new user and mount namespaces: root in them is this
 * user (all of the ids when we are root). */
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
	pid_t pid = fork();
	if (pid < 0) {
		say("cannot fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0 && !sb->userns) {
		if (unshare(CLONE_NEWNS) < 0)
			CHILD_FAIL("--strict: cannot make a mount namespace: %s", strerror(errno));
		strict_child(sb, args, cwd, home);
	}
	if (pid == 0) {
		close(p1[0]);
		close(p2[1]);
		char c = unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 'u' : 'e';
		int e = errno;
		if (write(p1[1], &c, 1) != 1 || c != 'u')
			CHILD_FAIL("--strict: cannot make user and mount namespaces: %s", strerror(e));
		if (read(p2[0], &c, 1) != 1 || c != 'm')
			_exit(EXIT_SETUP); /* the parent said why */
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			CHILD_FAIL("--strict: cannot become root in the namespace: %s",
				   strerror(errno));
		strict_child(sb, args, cwd, home);
	}
	close(p1[1]);
	close(p2[0]);
	if (!sb->userns) {
		close(p1[0]);
		close(p2[1]);
		return pid;
	}
	char c = 0;
	int q = read(p1[0], &c, 1) == 1 && c == 'u' ? 0 : -1;
	if (q == 0) {
		char m[64];
		if (uid == 0) {
			q = write_map(pid, "uid_map", "0 0 4294967295");
			if (q == 0)
				q = write_map(pid, "gid_map", "0 0 4294967295");
		} else {
			snprintf(m, sizeof m, "0 %u 1", (unsigned)uid);
			q = write_map(pid, "uid_map", m);
			if (q == 0)
				q = write_map(pid, "setgroups", "deny");
			snprintf(m, sizeof m, "0 %u 1", (unsigned)gid);
			if (q == 0)
				q = write_map(pid, "gid_map", m);
		}
		if (q < 0)
			say("--strict: cannot map the user ids of the namespace: %s", strerror(-q));
		c = q == 0 ? 'm' : 'x';
		if (write(p2[1], &c, 1) != 1)
			q = -1;
	}
	close(p1[0]);
	close(p2[1]);
	return pid; /* on failure the child exits with EXIT_SETUP */
}
