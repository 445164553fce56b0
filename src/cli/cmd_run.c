/* cmd_run.c - xsysroot run: a foreign program under qemu-user, with no
 * set-up.  It finds a mount of the same view or makes a private one, adds
 * the packages of the libraries the program needs, runs it with
 * qemu-ARCH -L MOUNT (or, with --strict, with the view as / in private
 * namespaces and a binfmt_misc handler for the programs it starts), and
 * passes the exit status back. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "serve.h"
#include "xsysroot/elf.h"
#include "xsysroot/identity.h"
#include "xsysroot/repo.h"
#include "xsysroot/util.h"

extern char **environ;

enum { OPT_STRICT = 0x400, OPT_WRITABLE };

static const struct option run_opts[] = {
	XS_REPO_LONG_OPTIONS,
	{ "fetch-timeout", required_argument, NULL, OPT_FETCH_TIMEOUT },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "writable", required_argument, NULL, OPT_WRITABLE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Exit statuses of our own failures, as env(1) and the shells use them. */
enum { EXIT_SETUP = 125, EXIT_NOEXEC = 126 };

/* ---- signals: remembered, and forwarded to the program ----------------- */

static volatile sig_atomic_t got_signal;
static volatile pid_t forward_to;
static const int fwd_signals[] = { SIGINT, SIGTERM, SIGHUP };

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!got_signal)
		got_signal = sig;
	/* a signal another process sent goes on to the program; one the
	 * terminal sent (si_code > 0) reached its process group already */
	pid_t p = forward_to;
	if (p > 0 && si->si_code <= 0)
		kill(p, sig);
}

static void signals_catch(void)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < XS_ARRAY_SIZE(fwd_signals); i++)
		sigaction(fwd_signals[i], &sa, NULL);
}

static void signals_default(void)
{
	for (size_t i = 0; i < XS_ARRAY_SIZE(fwd_signals); i++)
		signal(fwd_signals[i], SIG_DFL);
}

/* ---- what run keeps to undo -------------------------------------------- */

struct run {
	const struct xs_arch *arch;
	bool strict, progress;
	const char *writable;	/* --writable DIR, absolute */
	char tmp[PATH_MAX];	/* private temporary directory, "" none */
	char mp[PATH_MAX];	/* the mount used */
	pid_t daemon;		/* our private mount's daemon, 0 none */
	char binfmt[64];	/* global binfmt_misc entry we registered, "" none */
	char qemu[PATH_MAX];	/* qemu-user on the host */
	const char *prog;	/* as given */
	char prog_path[PATH_MAX]; /* host path, or the path in the view ("/usr/bin/x") */
	bool prog_host;
	/* a host script (#!): its interpreter (a path in the view) and the
	 * optional argument of its #! line; "" none */
	char interp[256], interp_arg[256];
	/* --strict in a user namespace (with its own binfmt_misc on Linux 6.7+);
	 * false for root with --writable: only there can the overlay rename
	 * directories of the view (redirect_dir), which dpkg does */
	bool userns;
	/* the host runs the architecture's programs itself (amd64 on amd64):
	 * no binfmt_misc handler, which would catch the host's own programs */
	bool native;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("xsysroot: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void run_log(int level, const char *msg, void *ud)
{
	(void)ud;
	if (level <= XS_LOG_WARN)
		say("%s: %s", level <= XS_LOG_ERR ? "error" : "warning", msg);
}

static void rm_tree_dirs(const char *base)
{
	static const char *const sub[] = { "view", "skel", "root" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(sub); i++) {
		char p[PATH_MAX + 8];
		snprintf(p, sizeof p, "%s/%s", base, sub[i]);
		rmdir(p);
	}
	rmdir(base);
}

static void binfmt_global_unregister(struct run *rs);

/* Unmount and remove what run made; safe to call twice. */
static void run_cleanup(struct run *rs)
{
	if (rs->daemon > 0) {
		if (run_fusermount(rs->mp, false) < 0)
			run_fusermount(rs->mp, true);
		/* the daemon leaves when its mount is gone; give it a few seconds */
		int st;
		for (int i = 0; i < 500 && waitpid(rs->daemon, &st, WNOHANG) == 0; i++)
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
		if (waitpid(rs->daemon, &st, WNOHANG) == 0) {
			kill(rs->daemon, SIGKILL);
			waitpid(rs->daemon, &st, 0);
		}
		rs->daemon = 0;
	}
	binfmt_global_unregister(rs);
	if (rs->tmp[0]) {
		rm_tree_dirs(rs->tmp);
		rs->tmp[0] = 0;
	}
}

/* ---- the view: packages the program needs, a mount that has them ------- */

struct needs {
	const char *prog;
	struct xs_buf pkgs; /* comma list of packages to add */
	struct logger *lg;
};

static void run_need(struct xs_repo *r, const struct elf_need *n, void *ud)
{
	struct needs *nd = ud;
	if (n->found)
		return;
	char name[256], version[256];
	for (size_t i = 0; !n->why && i < n->ncands; i++) {
		if (xs_repo_find_provider(r, n->cands[i], name, sizeof name, version,
					  sizeof version) != 1)
			continue;
		char key[260];
		snprintf(key, sizeof key, ",%s,", name);
		char *have = fmt_str(",%s,", nd->pkgs.data ? nd->pkgs.data : "");
		bool dup = strstr(have, key) != NULL;
		free(have);
		if (!dup)
			xs_buf_printf(&nd->pkgs, "%s%s", nd->pkgs.len ? "," : "", name);
		char *msg = fmt_str("run: %s needs %s: adding %s %s to the view", nd->prog,
				    n->label, name, version);
		log_cb(XS_LOG_INFO, msg, nd->lg);
		free(msg);
		return;
	}
	say("warning: %s needs %s: %s", nd->prog, n->label,
	    n->why ? n->why : "no package of the archive provides it");
}

/* The mount at mp presents the view of r, the same .debs: its daemon's
 * status says r's view digest (identity.h). */
static bool same_view(const char *digest, const char *mp)
{
	char *text = NULL;
	if (strlen(digest) != 64 || xs_id_read_status(mp, &text) < 0)
		return false;
	size_t n = 0;
	const char *v = xs_id_status_field(text, XS_STATUS_VIEW_DIGEST, &n);
	bool same = v && n == strlen(digest) && !strncmp(v, digest, n);
	free(text);
	return same;
}

struct find_mount {
	const char *digest; /* r's view digest */
	char source[64];
	char *found;
	size_t foundsz;
};

static int find_mount_cb(const char *mp, const char *fstype, const char *source, void *ud)
{
	struct find_mount *f = ud;
	if (strcmp(fstype, XS_ID_FSTYPE) || strcmp(source, f->source) || mount_is_dead(mp) ||
	    !same_view(f->digest, mp))
		return 0;
	snprintf(f->found, f->foundsz, "%s", mp);
	return 1;
}

/* In the private mount's daemon, before it serves. */
static void private_mount_setup(void *ud)
{
	signals_default();
	((struct logger *)ud)->to_stderr = false; /* the program has the terminal */
}

/* Serve r at rs->mp from a child process (serve.h); returns when the mount
 * is there.  0, or -1 after saying why. */
static int start_private_mount(struct run *rs, struct xs_repo *r, struct logger *lg)
{
	struct xs_mount_opts mo = {
		.mountpoint = rs->mp,
		.foreground = true,
		.max_threads = 64,
		.log = log_cb,
		.log_ud = lg,
	};
	struct xs_serve_child child = { private_mount_setup, lg, &got_signal, 0 };
	char err[4096] = "";
	int q = xs_serve(r, &mo, &child, err, sizeof err);
	rs->daemon = child.pid;
	if (q < 0 && *err)
		say("%s", err);
	return q < 0 ? -1 : 0;
}

/* ---- the program ------------------------------------------------------- */

/* A host file that is an ELF program for a (its first bytes say so). */
static bool host_elf_for(const char *path, const struct xs_arch *a)
{
	unsigned char h[20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, h, sizeof h);
	close(fd);
	if (n != (ssize_t)sizeof h || memcmp(h, "\x7f" "ELF", 4) || h[4] != a->elf_class ||
	    h[5] != a->elf_data)
		return false;
	unsigned m = a->elf_data == XS_ELF_DATA_LSB ? (unsigned)h[18] | (unsigned)h[19] << 8
						      : (unsigned)h[18] << 8 | (unsigned)h[19];
	return m == a->elf_machine;
}

/* A host script: its #! line's interpreter (which must be in the view)
 * and argument into rs; 1, 0 when path is no script, -1 after saying why. */
static int host_script(struct run *rs, struct xs_repo *r, const char *path)
{
	char line[256 + 256 + 8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n < 2 || line[0] != '#' || line[1] != '!')
		return 0;
	line[n] = 0;
	char *end = strchr(line, '\n');
	if (!end) {
		say("%s: its #! line is too long", path);
		return -1;
	}
	*end = 0;
	/* as the kernel splits it: the interpreter, then one argument */
	char *p = line + 2;
	p += strspn(p, " \t");
	size_t il = strcspn(p, " \t");
	char *arg = p + il;
	arg += strspn(arg, " \t");
	for (char *e = arg + strlen(arg); e > arg && (e[-1] == ' ' || e[-1] == '\t');)
		*--e = 0;
	p[il] = 0;
	struct xs_vattr va;
	char v[XS_MAX_PATH + 8];
	if (p[0] != '/' || !view_path_of(p, v, sizeof v) || !view_has(r, XS_LOOKUP_PEEK, v, &va)) {
		say("%s: its interpreter %s is not in the %s view (add its package with "
		    "--packages)", path, p, rs->arch->deb);
		return -1;
	}
	snprintf(rs->interp, sizeof rs->interp, "%s", p);
	snprintf(rs->interp_arg, sizeof rs->interp_arg, "%s", arg);
	return 1;
}

/* Where PROGRAM is: a host ELF file for the architecture or a host script
 * whose interpreter the view has, else a path in the view (a bare name is
 * looked up in the view's usr/bin, usr/sbin). */
static int locate_program(struct run *rs, struct xs_repo *r)
{
	const char *prog = rs->prog;
	int script = strchr(prog, '/') ? host_script(rs, r, prog) : 0;
	if (script < 0)
		return -1;
	if (script || (strchr(prog, '/') && host_elf_for(prog, rs->arch))) {
		if (!realpath(prog, rs->prog_path)) {
			say("%s: %s", prog, strerror(errno));
			return -1;
		}
		rs->prog_host = true;
		return 0;
	}
	static const char *const dirs[] = { "/usr/local/bin/", "/usr/bin/", "/usr/sbin/" };
	struct xs_vattr va;
	char v[XS_MAX_PATH + 8];
	for (size_t i = 0; i < XS_ARRAY_SIZE(dirs); i++) {
		if (prog[0] == '/')
			snprintf(rs->prog_path, sizeof rs->prog_path, "%s", prog);
		else if (!strchr(prog, '/'))
			snprintf(rs->prog_path, sizeof rs->prog_path, "%s%s", dirs[i], prog);
		else
			break;
		if (view_path_of(rs->prog_path, v, sizeof v) && view_has(r, XS_LOOKUP_PEEK, v, &va))
			return 0;
	}
	if (strchr(prog, '/') && access(prog, F_OK) == 0)
		say("%s is not a program for %s, and the %s view has no %s", prog, rs->arch->deb,
		    rs->arch->deb, prog);
	else
		say("%s is not in the %s view of %s (add the package that ships it with "
		    "--packages)", prog, rs->arch->deb, xs_repo_describe(r));
	return -1;
}

/* qemu-user for the architecture: the static build first (it runs inside
 * a sysroot, and is what a binfmt_misc handler with the F flag needs). */
static int find_qemu(struct run *rs)
{
	char name[64];
	snprintf(name, sizeof name, "qemu-%s-static", rs->arch->qemu);
	if (path_lookup(name, rs->qemu))
		return 0;
	if (!rs->strict) {
		snprintf(name, sizeof name, "qemu-%s", rs->arch->qemu);
		if (path_lookup(name, rs->qemu))
			return 0;
	}
	say("%s is not installed (Debian package qemu-user-static%s)", name,
	    rs->strict ? "" : " or qemu-user");
	return -1;
}

/* ---- --strict: the view as / ------------------------------------------- */

/* The binfmt_misc magic and mask of the architecture's programs: ELF
 * executables and shared objects of its class, byte order and machine. */
static void binfmt_magic(const struct xs_arch *a, unsigned char magic[20], unsigned char mask[20])
{
	static const unsigned char ident[7] = { 0x7f, 'E', 'L', 'F' };
	memset(magic, 0, 20);
	memcpy(magic, ident, 4);
	magic[4] = a->elf_class;
	magic[5] = a->elf_data;
	magic[6] = 1; /* EV_CURRENT */
	memset(mask, 0xff, 20);
	mask[7] = 0; /* any OS ABI */
	bool le = a->elf_data == XS_ELF_DATA_LSB;
	magic[le ? 16 : 17] = 2; /* ET_EXEC, and ET_DYN through the mask */
	mask[le ? 16 : 17] = 0xfe;
	magic[le ? 18 : 19] = (unsigned char)(a->elf_machine & 0xff);
	magic[le ? 19 : 18] = (unsigned char)(a->elf_machine >> 8);
}

/* The registration line of handler name for the architecture. */
static void binfmt_line(const struct run *rs, const char *name, const char *interp,
			const char *flags, char *out, size_t outsz)
{
	unsigned char magic[20], mask[20];
	binfmt_magic(rs->arch, magic, mask);
	struct xs_buf b;
	xs_buf_init(&b, outsz);
	xs_buf_printf(&b, ":%s:M::", name);
	for (size_t i = 0; i < sizeof magic; i++)
		xs_buf_printf(&b, "\\x%02x", magic[i]);
	xs_buf_printf(&b, ":");
	for (size_t i = 0; i < sizeof mask; i++)
		xs_buf_printf(&b, "\\x%02x", mask[i]);
	xs_buf_printf(&b, ":%s:%s", interp, flags);
	snprintf(out, outsz, "%s", b.data ? b.data : "");
	xs_buf_free(&b);
}

/* The interpreter to register: Debian's -binfmt-P name of the static qemu
 * (it then keeps the program's argv[0]), else the static qemu itself. */
static void binfmt_interp(const struct run *rs, char *interp, size_t sz, const char **flags)
{
	snprintf(interp, sz, "/usr/libexec/qemu-binfmt/%s-binfmt-P", rs->arch->qemu);
	char real[PATH_MAX];
	if (realpath(interp, real) && !strcmp(real, rs->qemu)) {
		*flags = "POF";
		return;
	}
	snprintf(interp, sz, "%s", rs->qemu);
	*flags = "OF";
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

/* Linux 6.7 gave each user namespace its own binfmt_misc. */
static bool kernel_has_userns_binfmt(void)
{
	struct utsname u;
	int maj = 0, min = 0;
	return uname(&u) == 0 && sscanf(u.release, "%d.%d", &maj, &min) == 2 &&
	       (maj > 6 || (maj == 6 && min >= 7));
}

/* An enabled handler of the host for the architecture's ELF machine with
 * the F flag (it serves inside any root). */
static bool binfmt_host_has_f(const struct run *rs)
{
	static const char dir[] = "/proc/sys/fs/binfmt_misc";
	/* the magic as binfmt_misc prints it: "magic 7f454c46..." */
	unsigned char magic[20], mask[20];
	binfmt_magic(rs->arch, magic, mask);
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
static int binfmt_global_register(struct run *rs)
{
	if (binfmt_host_has_f(rs))
		return 0;
	if (geteuid() != 0) {
		say("--strict needs a binfmt_misc handler with the F flag for %s programs: "
		    "this kernel (before 6.7) has one table for the machine; register one as "
		    "root (Debian: qemu-user-static) or run as root", rs->arch->deb);
		return -1;
	}
	char name[64], interp[PATH_MAX], line[PATH_MAX + 256];
	const char *flags;
	snprintf(name, sizeof name, "xsysroot-%s", rs->arch->qemu);
	binfmt_interp(rs, interp, sizeof interp, &flags);
	binfmt_line(rs, name, interp, flags, line, sizeof line);
	int q = write_file("/proc/sys/fs/binfmt_misc/register", line);
	if (q < 0) {
		say("cannot register the binfmt_misc handler %s: %s (is binfmt_misc mounted? "
		    "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc)", name, strerror(-q));
		return -1;
	}
	snprintf(rs->binfmt, sizeof rs->binfmt, "%s", name);
	return 0;
}

static void binfmt_global_unregister(struct run *rs)
{
	if (!rs->binfmt[0])
		return;
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/fs/binfmt_misc/%s", rs->binfmt);
	write_file(path, "-1");
	rs->binfmt[0] = 0;
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
static void strict_child(struct run *rs, char **args, const char *cwd, const char *home)
{
	char skel[PATH_MAX + 8], root[PATH_MAX + 8];
	snprintf(skel, sizeof skel, "%s/skel", rs->tmp);
	snprintf(root, sizeof root, "%s/root", rs->tmp);
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
	if (rs->prog_host)
		binds[nb++] = rs->prog_path;
	for (size_t i = 0; i < nb; i++) {
		int q = mkdir_in(skel, binds[i], rs->prog_host && binds[i] == rs->prog_path);
		if (q < 0)
			CHILD_FAIL("--strict: cannot make a mount point for %s: %s", binds[i],
				   strerror(-q));
	}
	char *lsk = ovl_escape(skel), *lmp = ovl_escape(rs->mp), *opts;
	if (rs->writable) {
		char *up = fmt_str("%s/upper", rs->writable), *wk = fmt_str("%s/work", rs->writable);
		char *eup = ovl_escape(up), *ewk = ovl_escape(wk);
		opts = fmt_str("lowerdir=%s:%s,upperdir=%s,workdir=%s%s", lsk, lmp, eup, ewk,
			       rs->userns ? "" : ",redirect_dir=on");
		free(up), free(wk), free(eup), free(ewk);
	} else {
		opts = fmt_str("lowerdir=%s:%s", lsk, lmp);
	}
	if (mount("overlay", root, "overlay", rs->writable ? 0 : MS_RDONLY, opts) < 0)
		CHILD_FAIL("--strict: cannot mount the overlay (%s) on %s: %s", opts, root,
			   strerror(errno));
	free(lsk), free(lmp), free(opts);
	for (size_t i = 0; i < nb; i++) {
		char *to = fmt_str("%s%s", root, binds[i]);
		if (mount(binds[i], to, NULL, MS_BIND | MS_REC, NULL) < 0)
			CHILD_FAIL("--strict: cannot bind %s: %s", binds[i], strerror(errno));
		free(to);
	}
	if (rs->userns && !rs->native && kernel_has_userns_binfmt()) {
		/* this namespace's own binfmt_misc: it lives as long as the mount */
		char *bm = fmt_str("%s/proc/sys/fs/binfmt_misc", root);
		char *reg = fmt_str("%s/register", bm);
		char interp[PATH_MAX], line[PATH_MAX + 256], name[64];
		const char *flags;
		snprintf(name, sizeof name, "xsysroot-%s", rs->arch->qemu);
		binfmt_interp(rs, interp, sizeof interp, &flags);
		binfmt_line(rs, name, interp, flags, line, sizeof line);
		if (mount("binfmt_misc", bm, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) < 0)
			CHILD_FAIL("--strict: cannot mount binfmt_misc in the namespace: %s",
				   strerror(errno));
		int q = write_file(reg, line);
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
	signals_default();
	execve(rs->prog_path, args, environ);
	int e = errno;
	say("cannot run %s in the %s view: %s", rs->prog_path, rs->arch->deb, strerror(e));
	_exit(e == ENOENT ? 127 : EXIT_NOEXEC);
}

static int write_map(pid_t pid, const char *file, const char *map)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	return write_file(path, map);
}

/* Fork the program in new user and mount namespaces: root in them is this
 * user (all of the ids when we are root). */
static pid_t start_strict(struct run *rs, char **args)
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
	if (pid == 0 && !rs->userns) {
		if (unshare(CLONE_NEWNS) < 0)
			CHILD_FAIL("--strict: cannot make a mount namespace: %s", strerror(errno));
		strict_child(rs, args, cwd, home);
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
		strict_child(rs, args, cwd, home);
	}
	close(p1[1]);
	close(p2[0]);
	if (!rs->userns) {
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

/* ---- the command ------------------------------------------------------- */

static int wait_program(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return EXIT_SETUP;
	forward_to = 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return EXIT_SETUP;
}

static pid_t start_qemu(struct run *rs, char **args)
{
	/* qemu -L MOUNT -0 ARGV0 FILE ARGS..., or for a script
	 * qemu -L MOUNT -0 INTERP MOUNT/INTERP [ARG] SCRIPT ARGS... */
	size_t n = 0;
	while (args[n])
		n++;
	char **av = xs_xcalloc(n + 9, sizeof *av);
	size_t k = 0;
	const char *vfile = rs->interp[0] ? rs->interp : rs->prog_host ? NULL : rs->prog_path;
	char *file = vfile ? fmt_str("%s%s", rs->mp, vfile) : xs_strdup(rs->prog_path);
	av[k++] = rs->qemu;
	av[k++] = "-L";
	av[k++] = rs->mp;
	av[k++] = "-0";
	av[k++] = rs->interp[0] ? rs->interp : args[0];
	av[k++] = file;
	if (rs->interp_arg[0])
		av[k++] = rs->interp_arg;
	if (rs->interp[0])
		av[k++] = rs->prog_path;
	for (size_t i = 1; i < n; i++)
		av[k++] = args[i];
	pid_t pid = fork();
	if (pid == 0) {
		signals_default();
		execv(rs->qemu, av);
		say("cannot run %s: %s", rs->qemu, strerror(errno));
		_exit(EXIT_NOEXEC);
	}
	if (pid < 0)
		say("cannot fork: %s", strerror(errno));
	free(file);
	free(av);
	return pid;
}

int cmd_run(int argc, char **argv)
{
	struct xs_repo_config cfg = { 0 };
	char cache_dir[PATH_MAX] = "";
	const char *log_file = NULL;
	struct run rs = { 0 };
	cfg.apt_root = "/";
	_cleanup_(repo_opts_free) struct repo_opts ro = { .cfg = &cfg, .cache_dir = cache_dir };
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", run_opts, NULL)) != -1) {
		switch (c) {
		case OPT_LOG_FILE: log_file = optarg; break;
		case OPT_STRICT: rs.strict = true; break;
		case OPT_WRITABLE: rs.writable = optarg; break;
		case 'h': usage(stdout); return 0;
		default:
			if (!repo_option(c, &ro)) {
				usage(stderr);
				return 2;
			}
		}
	}
	if (argc - optind < 2) {
		say("run needs ARCH and PROGRAM");
		usage(stderr);
		return 2;
	}
	if (rs.writable && !rs.strict) {
		say("--writable needs --strict (the writable layer is the program's /)");
		return 2;
	}
	cfg.arch = argv[optind];
	rs.prog = argv[optind + 1];
	char **args = argv + optind + 1;
	rs.arch = xs_arch_lookup(cfg.arch);
	if (!rs.arch) {
		char names[256];
		say("unknown architecture '%s' (try %s)", cfg.arch, xs_arch_names(names, sizeof names));
		return 2;
	}
	if (repo_configure(&ro) < 0)
		return 2;
	char wr[PATH_MAX];
	if (rs.writable) {
		char *up = fmt_str("%s/upper", rs.writable), *wk = fmt_str("%s/work", rs.writable);
		int q = xs_mkdir_p(up, 0755);
		if (q == 0)
			q = xs_mkdir_p(wk, 0755);
		free(up), free(wk);
		if (q < 0 || !realpath(rs.writable, wr)) {
			say("--writable %s: %s", rs.writable, strerror(q < 0 ? -q : errno));
			return EXIT_SETUP;
		}
		rs.writable = wr;
	}
	if (find_qemu(&rs) < 0)
		return EXIT_SETUP;
	rs.progress = isatty(2);
	signals_catch();

	/* the view with the packages the program needs */
	char cd_abs[PATH_MAX];
	if (open_cache_dir(cache_dir, cd_abs) < 0)
		return EXIT_SETUP;
	cfg.cache_dir = cd_abs;
	/* the log: what run adds to the view, and the private mount's daemon */
	char log_path[PATH_MAX + 32];
	if (log_file)
		snprintf(log_path, sizeof log_path, "%s", log_file);
	else
		snprintf(log_path, sizeof log_path, "%s/daemon.log", cd_abs);
	struct logger lg = { -1, rs.progress, false, NULL };
	lg.fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (lg.fd < 0) {
		say("cannot open the log file %s: %s", log_path, strerror(errno));
		return EXIT_SETUP;
	}
	cfg.log = run_log;
	cfg.progress = rs.progress;
	raise_nofile();
	char err[4096] = "";
	struct xs_repo *r = NULL;
	char *added = NULL; /* cfg.packages with what PROGRAM needs */
	int status = EXIT_SETUP;
	int q = xs_repo_open(&cfg, &r, err, sizeof err);
	if (q < 0) {
		say("%s", err);
		goto out;
	}
	if (locate_program(&rs, r) < 0)
		goto out;
	if (rs.prog_host && !rs.interp[0]) {
		struct xs_elf e;
		if (elf_load(rs.prog_path, &e) < 0)
			goto out;
		struct needs nd = { .prog = rs.prog, .lg = &lg };
		xs_buf_init(&nd.pkgs, 1 << 20);
		elf_needs_foreach(r, &e, run_need, &nd);
		xs_elf_free(&e);
		if (nd.pkgs.len) {
			char *pk = added = fmt_str("%s%s%s", cfg.packages ? cfg.packages : "",
					   cfg.packages ? "," : "", nd.pkgs.data);
			cfg.packages = pk; /* lives until the end of the command */
			xs_repo_free(r);
			r = NULL;
			q = xs_repo_open(&cfg, &r, err, sizeof err);
			if (q < 0) {
				say("%s", err);
				xs_buf_free(&nd.pkgs);
				goto out;
			}
		}
		xs_buf_free(&nd.pkgs);
	}
	if (got_signal)
		goto out;

	/* a mount of this view, or a private one */
	struct find_mount fm = { xs_repo_view_digest(r), "", rs.mp, sizeof rs.mp };
	xs_id_fsname(rs.arch->deb, fm.source, sizeof fm.source);
	if (mountinfo_foreach(find_mount_cb, &fm) <= 0 || rs.strict) {
		const char *td = getenv("TMPDIR");
		snprintf(rs.tmp, sizeof rs.tmp, "%s/xsysroot-run-XXXXXX", td && *td ? td : "/tmp");
		char real[PATH_MAX];
		if (!mkdtemp(rs.tmp)) {
			say("cannot make a temporary directory %s: %s", rs.tmp, strerror(errno));
			rs.tmp[0] = 0;
			goto out;
		}
		if (realpath(rs.tmp, real))
			snprintf(rs.tmp, sizeof rs.tmp, "%s", real);
		static const char *const sub[] = { "view", "skel", "root" };
		for (size_t i = 0; i < XS_ARRAY_SIZE(sub); i++) {
			char p[PATH_MAX + 8];
			snprintf(p, sizeof p, "%s/%s", rs.tmp, sub[i]);
			if (mkdir(p, 0700) < 0) {
				say("cannot make %s: %s", p, strerror(errno));
				goto out;
			}
		}
	}
	if (!rs.mp[0]) {
		snprintf(rs.mp, sizeof rs.mp, "%s/view", rs.tmp);
		lg.mountpoint = rs.mp;
		q = start_private_mount(&rs, r, &lg);
		if (q < 0) {
			if (!got_signal)
				say("see %s", log_path);
			goto out;
		}
	}
	/* the daemon serves from its own copy; ours is not needed any more */
	xs_repo_free(r);
	r = NULL;
	if (got_signal)
		goto out;

	pid_t pid;
	if (rs.strict) {
		rs.userns = !(geteuid() == 0 && rs.writable);
		rs.native = host_elf_for("/proc/self/exe", rs.arch);
		if (!rs.native && (!rs.userns || !kernel_has_userns_binfmt()) &&
		    binfmt_global_register(&rs) < 0)
			goto out;
		pid = start_strict(&rs, args);
	} else {
		pid = start_qemu(&rs, args);
	}
	if (pid < 0)
		goto out;
	forward_to = pid;
	if (got_signal)
		kill(pid, got_signal);
	status = wait_program(pid);
out:
	xs_repo_free(r);
	free(added);
	run_cleanup(&rs);
	close(lg.fd);
	if (got_signal && status == EXIT_SETUP)
		status = 128 + got_signal;
	return status;
}
