/* cmd_run.c - xsysroot run: a foreign program under qemu-user, with no
 * set-up.  It finds a mount of the same view or makes a private one, adds
 * the packages of the libraries the program needs, runs it with
 * qemu-ARCH -L MOUNT (or, with --strict, with the view as / in private
 * namespaces and their own binfmt_misc handler for the programs it
 * starts), and passes the exit status back. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "command.h"
#include "host.h"
#include "native.h"
#include "output.h"
#include "sandbox.h"
#include "serve.h"
#include "setup.h"
#include "xsysroot/elf.h"
#include "xsysroot/identity.h"
#include "xsysroot/repo.h"
#include "xsysroot/selection.h"
#include "xsysroot/util.h"

enum { OPT_STRICT = 0x400, OPT_WRITABLE, OPT_NATIVE_TOOLS };

static const struct option run_opts[] = {
	XS_REPO_LONG_OPTIONS,
	{ "fetch-timeout", required_argument, NULL, OPT_FETCH_TIMEOUT },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "writable", required_argument, NULL, OPT_WRITABLE },
	{ "native-tools", no_argument, NULL, OPT_NATIVE_TOOLS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

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
	bool strict;
	const char *writable;	/* --writable DIR, absolute */
	char tmp[PATH_MAX];	/* private temporary directory, "" none */
	char mp[PATH_MAX];	/* the mount used */
	pid_t daemon;		/* our private mount's daemon, 0 none */
	char qemu[PATH_MAX];	/* qemu-user on the host */
	const char *prog;	/* as given */
	char prog_path[PATH_MAX]; /* host path, or the path in the view ("/usr/bin/x") */
	bool prog_host;
	/* a host script (#!): its interpreter (a path in the view) and the
	 * optional argument of its #! line; "" none */
	char interp[256], interp_arg[256];
	char writable_real[PATH_MAX]; /* what writable points at, made absolute */
	char *added;		      /* --packages with what PROGRAM needs (owned) */
	char *strict_pkgs;	      /* --packages with SANDBOX_PACKAGES (owned) */
	struct sandbox sandbox;	      /* --strict */
	bool native_tools;	      /* --native-tools */
	struct native_tools nt;
};

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
	native_tools_cleanup(&rs->nt);
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
	/* the first pass only guesses by Debian's library naming (soname.h);
	 * the second, on the view with the guessed packages, asks Contents
	 * for what is still missing (a guess that did not bring its library,
	 * a library no guess names and no guessed package brought); the
	 * sonames guessed, as ",NAME,NAME,", for the log */
	bool second;
	struct xs_buf guessed;
};

static void need_add(struct needs *nd, const char *label, const char *name,
		     const char *version, const char *how)
{
	char key[260];
	snprintf(key, sizeof key, ",%s,", name);
	char *have = fmt_str(",%s,", nd->pkgs.data ? nd->pkgs.data : "");
	bool dup = strstr(have, key) != NULL;
	free(have);
	if (!dup)
		xs_buf_printf(&nd->pkgs, "%s%s", nd->pkgs.len ? "," : "", name);
	char *msg = fmt_str("run: %s needs %s: adding %s %s to the view%s", nd->prog, label, name,
			    version, how);
	log_cb(XS_LOG_INFO, msg, nd->lg);
	free(msg);
}

/* Was label guessed by the first pass? */
static bool was_guessed(struct needs *nd, const char *label)
{
	char *key = fmt_str(",%s,", label);
	bool yes = nd->guessed.data && strstr(nd->guessed.data, key);
	free(key);
	return yes;
}

static void run_need(struct xs_repo *r, const struct elf_need *n, void *ud)
{
	struct needs *nd = ud;
	if (n->found)
		return;
	char name[256], version[256];
	if (!nd->second) {
		if (!n->why && xs_repo_guess_provider(r, n->label, name, sizeof name, version,
						      sizeof version) == 1) {
			xs_buf_printf(&nd->guessed, "%s%s,", nd->guessed.len ? "" : ",", n->label);
			need_add(nd, n->label, name, version, " (Debian's name for that library)");
		}
		return;
	}
	if (was_guessed(nd, n->label)) {
		char *msg = fmt_str("run: the package named after %s does not ship it: asking "
				    "the Contents indexes", n->label);
		log_cb(XS_LOG_INFO, msg, nd->lg);
		free(msg);
	}
	for (size_t i = 0; !n->why && i < n->ncands; i++) {
		if (xs_repo_find_provider(r, n->cands[i], name, sizeof name, version,
					  sizeof version) != 1)
			continue;
		need_add(nd, n->label, name, version, "");
		return;
	}
	say("warning: %s needs %s: %s", nd->prog, n->label,
	    n->why ? n->why : "no package of the archive provides it");
}

/* The status text has KEY=want. */
static bool status_is(const char *text, const char *key, const char *want)
{
	size_t n = 0;
	const char *v = xs_id_status_field(text, key, &n);
	return v && n == strlen(want) && !strncmp(v, want, n);
}

/* The mount at mp presents the view of r, the same .debs laid out the same
 * way: its daemon's status says r's view digest and this build's view
 * format (identity.h).  Another run's private mount (status "private=1")
 * never is: its run removes it when its program ends, whoever else uses it. */
static bool same_view(const char *digest, const char *mp)
{
	char *text = NULL;
	if (strlen(digest) != 64 || xs_id_read_status(mp, &text) < 0)
		return false;
	char format[16];
	snprintf(format, sizeof format, "%d", XS_VIEW_FORMAT);
	bool same = status_is(text, XS_STATUS_VIEW_DIGEST, digest) &&
		    status_is(text, XS_STATUS_VIEW_FORMAT, format) &&
		    !status_is(text, XS_STATUS_PRIVATE, "1");
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
	if (strcmp(fstype, XS_ID_FSTYPE) || strcmp(source, f->source) ||
	    mount_is_dead(mp) || !same_view(f->digest, mp))
		return 0;
	snprintf(f->found, f->foundsz, "%s", mp);
	return 1;
}

/* In the private mount's daemon, before it serves. */
static void private_mount_setup(void *ud)
{
	struct cli_setup *s = ud;
	signals_default();
	/* the program has the terminal: the daemon neither logs nor draws the
	 * progress of what it fetches there (a line after the program's output) */
	s->log.to_stderr = false;
	s->progress.tty = false;
}

/* Serve r at rs->mp from a child process (serve.h); returns when the mount
 * is there.  0, or -1 after saying why. */
static int start_private_mount(struct run *rs, struct xs_repo *r, struct cli_setup *s)
{
	struct logger *lg = &s->log;
	struct xs_mount_opts mo = {
		.mountpoint = rs->mp,
		.foreground = true,
		.max_threads = 64,
		.log = log_cb,
		.log_ud = lg,
	};
	struct xs_serve_child child = { private_mount_setup, s, &got_signal, 0 };
	xs_repo_set_private(r); /* status "private=1": no other run reuses it */
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

/* PROGRAM in the view: an absolute path as it is, a bare name in the
 * directories of the standard Debian PATH (SANDBOX_PATH, what --strict
 * gives the program), in order, into rs->prog_path: 0, or -ENOENT. */
static int view_lookup_program(struct run *rs, struct xs_repo *r)
{
	const char *prog = rs->prog, *dirs = SANDBOX_PATH;
	struct xs_vattr va;
	char v[XS_MAX_PATH + 8];
	if (prog[0] != '/' && strchr(prog, '/'))
		return -ENOENT;
	while (*dirs) {
		size_t n = strcspn(dirs, ":");
		if (prog[0] == '/')
			snprintf(rs->prog_path, sizeof rs->prog_path, "%s", prog);
		else
			snprintf(rs->prog_path, sizeof rs->prog_path, "%.*s/%s", (int)n, dirs, prog);
		if (view_path_of(rs->prog_path, v, sizeof v) && view_has(r, XS_LOOKUP_PEEK, v, &va))
			return 0;
		if (prog[0] == '/')
			break;
		dirs += n + (dirs[n] == ':');
	}
	return -ENOENT;
}

/* Where PROGRAM is: a host ELF file for the architecture or a host script
 * whose interpreter the view has, else a path in the view (a bare name is
 * looked up in the view's PATH: view_lookup_program). */
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
	if (view_lookup_program(rs, r) == 0)
		return 0;
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

/* --writable DIR: DIR/upper and DIR/work made, rs->writable absolute; 0,
 * or -1 after saying why. */
static int prepare_writable(struct run *rs)
{
	char *up = fmt_str("%s/upper", rs->writable), *wk = fmt_str("%s/work", rs->writable);
	int q = xs_mkdir_p(up, 0755);
	if (q == 0)
		q = xs_mkdir_p(wk, 0755);
	free(up), free(wk);
	if (q < 0 || !realpath(rs->writable, rs->writable_real)) {
		say("--writable %s: %s", rs->writable, strerror(q < 0 ? -q : errno));
		return -1;
	}
	rs->writable = rs->writable_real;
	return 0;
}

/* The opens of the view are over: the indexes kept between them freed
 * (tens of MB, not to be held while the program runs), and how often
 * they were read said in the log. */
static void memo_done(struct cli_setup *s)
{
	unsigned reads, reuses;
	xs_selection_memo_counts(s->cfg.memo, &reads, &reuses);
	if (reads + reuses) {
		char *msg = fmt_str("run: the Packages indexes read %u time%s for %u resolution%s",
				    reads, reads == 1 ? "" : "s", reads + reuses,
				    reads + reuses == 1 ? "" : "s");
		log_cb(XS_LOG_INFO, msg, &s->log);
		free(msg);
	}
	xs_selection_memo_free(s->cfg.memo);
	s->cfg.memo = NULL;
}

/* The view opened again (at most twice) with the packages of the libraries
 * the host program e needs: 0, or -1 after saying why. */
static int open_needed(struct cli_setup *s, struct run *rs, const struct xs_elf *e)
{
	struct xs_repo_config *cfg = &s->cfg;
	const char *given = cfg->packages;
	struct needs nd = { .prog = rs->prog, .lg = &s->log };
	xs_buf_init(&nd.pkgs, 1 << 20);
	xs_buf_init(&nd.guessed, 1 << 20);
	int q = 0;
	/* guesses first; then Contents for what the view still lacks */
	for (int pass = 0; pass < 2 && q == 0; pass++) {
		size_t before = nd.pkgs.len;
		nd.second = pass == 1;
		elf_needs_foreach(s->repo, e, run_need, &nd);
		if (nd.pkgs.len == before)
			continue;
		free(rs->added);
		rs->added = fmt_str("%s%s%s", given ? given : "", given ? "," : "", nd.pkgs.data);
		cfg->packages = rs->added; /* lives until the end of the command */
		q = cli_setup_open(s, 0);
	}
	xs_buf_free(&nd.pkgs);
	xs_buf_free(&nd.guessed);
	return q;
}

/* The view with the packages of the libraries PROGRAM needs, in s->repo:
 * 0, or -1 after saying why. */
static int open_view_needed(struct cli_setup *s, struct run *rs)
{
	if (cli_setup_open(s, 0) < 0 || locate_program(rs, s->repo) < 0)
		return -1;
	if (!rs->prog_host || rs->interp[0])
		return 0;
	struct xs_elf e;
	if (elf_load(rs->prog_path, &e) < 0)
		return -1;
	int q = open_needed(s, rs, &e);
	xs_elf_free(&e);
	return q;
}

/* Whether soname is one the base packages (libc6, libgcc-s1, libstdc++6)
 * ship on every architecture: glibc's libraries and loaders, libgcc_s,
 * libstdc++. */
static bool base_soname(const char *soname)
{
	static const char *const base[] = {
		"libc.so.", "libm.so.", "libpthread.so.", "libdl.so.", "librt.so.",
		"libresolv.so.", "libutil.so.", "libanl.so.", "libBrokenLocale.so.",
		"libmvec.so.", "libthread_db.so.", "libnss_", "libc_malloc_debug.so.",
		"libgcc_s.so.", "libstdc++.so.", "ld-linux", "ld64.so.", "ld.so.",
	};
	for (size_t i = 0; i < sizeof base / sizeof *base; i++)
		if (!strncmp(soname, base[i], strlen(base[i])))
			return true;
	return false;
}

/* Whether the view may be opened again for the libraries of the program:
 * a host ELF program that needs a library the base does not give. */
static bool may_open_again(const struct run *rs)
{
	if (!strchr(rs->prog, '/') || !host_elf_for(rs->prog, rs->arch))
		return false;
	struct xs_elf e;
	if (elf_load(rs->prog, &e) < 0)
		return false;
	bool more = false;
	for (size_t i = 0; i < e.nneeded && !more; i++)
		more = !base_soname(e.needed[i]);
	xs_elf_free(&e);
	return more;
}

/* open_view_needed; when the view may be opened again, the Packages
 * indexes parsed by the first open kept for the opens after it
 * (selection.h's memo).  Not otherwise: the parsed indexes held while the
 * first open fetches its .debs would raise the peak memory of a run that
 * needs only the base (an empty-cache hello: 57 MB, 65-71 with them). */
static int open_view(struct cli_setup *s, struct run *rs)
{
	s->cfg.memo = may_open_again(rs) ? xs_selection_memo_new() : NULL;
	int q = open_view_needed(s, rs);
	memo_done(s);
	return q;
}

/* FUSE usable for a private mount: 0, or -1 after saying why and how to
 * fix it. */
static int private_mount_possible(void)
{
	char why[PATH_MAX + 256];
	if (fuse_usable(why, sizeof why) == 0)
		return 0;
	say("cannot make a private mount of the view: %s", why);
	return -1;
}

static int arch_mount_cb(const char *mp, const char *fstype, const char *source, void *ud)
{
	return !strcmp(fstype, XS_ID_FSTYPE) && !strcmp(source, ud) && !mount_is_dead(mp);
}

/* Before anything is fetched: without a live mount of the architecture to
 * use, run needs a private one, so FUSE must be usable.  0, or -1 after
 * saying why. */
static int mount_possible(const struct run *rs)
{
	char source[64];
	xs_id_fsname(rs->arch->deb, source, sizeof source);
	return mountinfo_foreach(arch_mount_cb, source) > 0 ? 0 : private_mount_possible();
}

/* A mount of s->repo's view in rs->mp: one that is there, or a private one
 * (always with --strict, which needs rs->tmp).  0, or -1 after saying why. */
static int use_mount(struct cli_setup *s, struct run *rs)
{
	struct find_mount fm = { xs_repo_view_digest(s->repo), "", rs->mp, sizeof rs->mp };
	xs_id_fsname(rs->arch->deb, fm.source, sizeof fm.source);
	/* XSYSROOT_RUN_REUSE=0 (man page): always a private mount */
	const char *reuse = getenv("XSYSROOT_RUN_REUSE");
	bool may_reuse = !reuse || strcmp(reuse, "0");
	if (!may_reuse || mountinfo_foreach(find_mount_cb, &fm) <= 0 || rs->strict) {
		const char *td = getenv("TMPDIR");
		snprintf(rs->tmp, sizeof rs->tmp, "%s/xsysroot-run-XXXXXX", td && *td ? td : "/tmp");
		char real[PATH_MAX];
		if (!mkdtemp(rs->tmp)) {
			say("cannot make a temporary directory %s: %s", rs->tmp, strerror(errno));
			rs->tmp[0] = 0;
			return -1;
		}
		if (realpath(rs->tmp, real))
			snprintf(rs->tmp, sizeof rs->tmp, "%s", real);
		static const char *const sub[] = { "view", "skel", "root" };
		for (size_t i = 0; i < XS_ARRAY_SIZE(sub); i++) {
			char p[PATH_MAX + 8];
			snprintf(p, sizeof p, "%s/%s", rs->tmp, sub[i]);
			if (mkdir(p, 0700) < 0) {
				say("cannot make %s: %s", p, strerror(errno));
				return -1;
			}
		}
	}
	if (!rs->mp[0]) {
		if (private_mount_possible() < 0)
			return -1;
		snprintf(rs->mp, sizeof rs->mp, "%s/view", rs->tmp);
		s->log.mountpoint = rs->mp;
		int q = start_private_mount(rs, s->repo, s);
		if (q < 0) {
			if (!got_signal)
				say("see %s", s->log_path);
			return -1;
		}
	}
	return 0;
}

/* PROGRAM with the view as / in private namespaces. */
static pid_t start_sandbox(struct run *rs, char **args)
{
	struct sandbox *sb = &rs->sandbox;
	*sb = (struct sandbox){
		.arch = rs->arch,
		.dir = rs->tmp,
		.view = rs->mp,
		.writable = rs->writable,
		.qemu = rs->qemu,
		.prog = rs->prog_path,
		.prog_host = rs->prog_host,
		/* the host runs the architecture's programs itself (amd64 on
		 * amd64): no handler, which would catch the host's own programs */
		.native = host_elf_for("/proc/self/exe", rs->arch),
		.child_setup = signals_default,
		.layers = rs->native_tools ? rs->nt.layers : NULL,
	};
	if (sandbox_prepare(sb) < 0)
		return -1;
	return sandbox_start(sb, args);
}

/* --strict: the view declares SANDBOX_PACKAGES besides --packages (those
 * it does not name already). */
static void strict_packages(struct cli_setup *s, struct run *rs)
{
	const char *given = s->cfg.packages ? s->cfg.packages : "";
	char *have = fmt_str(",%s,", given), *want = xs_strdup(SANDBOX_PACKAGES), *save = NULL;
	struct xs_buf b;
	xs_buf_init(&b, 1 << 20);
	xs_buf_printf(&b, "%s", given);
	for (char *p = strtok_r(want, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *key = fmt_str(",%s,", p);
		if (!strstr(have, key))
			xs_buf_printf(&b, "%s%s", b.len ? "," : "", p);
		free(key);
	}
	rs->strict_pkgs = xs_buf_steal(&b, NULL);
	s->cfg.packages = rs->strict_pkgs; /* lives until the end of the command */
	free(have), free(want);
}

/* run, with s configured: the exit status */
static int run_with(struct cli_setup *s, struct run *rs, const char *log_file, char **args)
{
	rs->arch = s->arch;
	if (rs->strict)
		strict_packages(s, rs);
	if ((rs->writable && prepare_writable(rs) < 0) || find_qemu(rs) < 0 ||
	    mount_possible(rs) < 0)
		return EXIT_SETUP;
	signals_catch();
	/* the log: what run adds to the view, and the private mount's daemon */
	if (cli_setup_cache_dir(s) < 0 || cli_setup_log(s, log_file) < 0)
		return EXIT_SETUP;
	s->log.to_stderr = s->progress.tty;
	int status = EXIT_SETUP;
	if (open_view(s, rs) < 0 || got_signal || use_mount(s, rs) < 0 ||
	    (rs->native_tools && native_tools_prepare(s, rs->mp, rs->tmp, &rs->nt) < 0))
		goto out;
	/* the daemon serves from its own copy; ours is not needed any more */
	xs_repo_free(s->repo);
	s->repo = NULL;
	if (got_signal)
		goto out;
	pid_t pid = rs->strict ? start_sandbox(rs, args) : start_qemu(rs, args);
	if (pid < 0)
		goto out;
	forward_to = pid;
	if (got_signal)
		kill(pid, got_signal);
	status = wait_program(pid);
out:
	run_cleanup(rs);
	if (got_signal && status == EXIT_SETUP)
		status = 128 + got_signal;
	return status;
}

static int cmd_run(const struct cli_command *self, int argc, char **argv)
{
	struct cli_setup s;
	struct run rs = { 0 };
	const char *log_file = NULL;
	cli_setup_init(&s);
	int rc = EXIT_USAGE;
	optind = 0; /* getopt starts afresh */
	int c;
	while ((c = cli_setup_getopt(&s, self, argc, argv, "h", run_opts)) > 0) {
		switch (c) {
		case OPT_LOG_FILE: log_file = optarg; break;
		case OPT_STRICT: rs.strict = true; break;
		case OPT_WRITABLE: rs.writable = optarg; break;
		case OPT_NATIVE_TOOLS: rs.native_tools = true; break;
		default: goto out;
		}
	}
	if (c != CLI_END) {
		rc = cli_stop_status(c);
		goto out;
	}
	if (argc - optind < 2) {
		rc = cli_usage_error(self, "run needs ARCH and PROGRAM");
		goto out;
	}
	if (rs.writable && !rs.strict) {
		say("--writable needs --strict (the writable layer is the program's /)");
		goto out;
	}
	if (rs.native_tools && !rs.strict) {
		say("--native-tools needs --strict (the native tools are a layer of /)");
		goto out;
	}
	rs.prog = argv[optind + 1];
	rc = EXIT_SETUP;
	if (cli_setup_configure(&s, argv[optind]) == 0)
		rc = run_with(&s, &rs, log_file, argv + optind + 1);
out:
	cli_setup_free(&s);
	free(rs.added);
	free(rs.strict_pkgs);
	return rc;
}

const struct cli_command cli_cmd_run = {
	.name = "run",
	.run = cmd_run,
	.synopsis = "run ARCH [RUN OPTIONS] -- PROGRAM [ARGS...]",
	.summary = "run a foreign program under qemu-user, with no set-up",
	.help =
	"Run a foreign PROGRAM (a host file for ARCH, or a path or name in the view)\n"
	"under qemu-user with nothing set up: add the packages of the libraries\n"
	"PROGRAM needs to the view, use a mount of the same view or make a private\n"
	"one (removed afterwards), and exit with PROGRAM's status; run's own\n"
	"failures exit with 125 (126: qemu or PROGRAM could not be started; 127:\n"
	"with --strict, PROGRAM is not in the view).\n"
	"\n"
	CLI_HELP_REPO_OPTIONS
	"\n"
	"Run options:\n"
	CLI_HELP_FETCH_TIMEOUT
	CLI_HELP_LOG_FILE
	"      --strict              the view as / in private user, pid and mount\n"
	"                            namespaces (the host's /tmp, the current\n"
	"                            directory and $HOME bound in; its own /proc,\n"
	"                            /dev, /sys); the programs it starts are\n"
	"                            emulated too (the namespace's binfmt_misc,\n"
	"                            Linux 6.7+); PATH is Debian's standard PATH,\n"
	"                            not the host's, and the view always has a\n"
	"                            shell and coreutils (dash, coreutils)\n"
	"      --writable DIR        with --strict: / is writable, the changes go to\n"
	"                            DIR/upper (an overlay; DIR/work is its work dir)\n"
	"      --native-tools        with --strict: the view's compilers (gcc-N, cpp-N,\n"
	"                            g++-N, binutils) run as the build machine's cross\n"
	"                            compilers of the same archive (gcc-N-TRIPLET...),\n"
	"                            natively; target programs stay emulated\n",
};
