/* sandbox.h - run --strict: the program in new user, pid and mount
 * namespaces, with the view as / under a tmpfs layer of mount points and,
 * with --writable, a writable overlay; a fresh /proc of its pid namespace
 * (its /proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus, /proc/fs
 * read-only), /sys read-only, a /dev of its own with only the host's null,
 * zero, full, random, urandom, tty and pts, and the host's /tmp, the
 * current directory and $HOME bound in; the programs it starts emulated
 * through a handler with the F flag in the user namespace's own
 * binfmt_misc (Linux 6.7 and later; before, --strict is refused: no handler
 * is ever registered for the whole machine).
 *
 * Root in the user namespace is the caller, one id (host root for root:
 * files of host root stay writable in the overlay, no other host id exists
 * inside).  As root, every mount is made before the user namespace, so the
 * namespace cannot undo it (the read-only ones stay read-only).
 *
 * One sandbox per run, used by one thread.  What the protection does not
 * cover is in the README (run --strict). */
#ifndef XSYSROOT_CLI_SANDBOX_H
#define XSYSROOT_CLI_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

#include "xsysroot/arch.h"

/* The PATH of the program under --strict, Debian's standard one (the
 * host's is not passed: its directories are not the view's); a bare
 * program name is looked up in these directories of the view. */
#define SANDBOX_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* The packages the view of --strict always declares: a shell and the
 * basic tools, so that /bin/sh -c '...' works without naming them. */
#define SANDBOX_PACKAGES "dash,coreutils"

struct sandbox {
	const struct xs_arch *arch;
	const char *dir;      /* private directory with the empty dirs skel/ and root/ */
	const char *view;     /* the mount of the view: the lower layer of / */
	const char *writable; /* --writable DIR (absolute) with upper/ and work/, or NULL */
	const char *qemu;     /* the static qemu-user of arch, on the host */
	const char *prog;     /* the program: a path in the view, or a host file */
	bool prog_host;	      /* prog is a host file, bound in at its path */
	bool native;	      /* the host runs arch's programs: no handler at all */
	const char *const *layers; /* directories over the view (top first), or NULL */
	void (*child_setup)(void); /* in the program's process before exec, or NULL */
};

/* Linux 6.7 gave each user namespace its own binfmt_misc. */
bool kernel_has_userns_binfmt(void);

/* Whether --strict can run sb's programs here: 0, or -1 after saying why
 * (a kernel before 6.7 for a foreign architecture). */
int sandbox_prepare(struct sandbox *sb);
/* Fork the sandbox's init (pid 1 of its namespace), which runs the
 * program (args[0] its argv[0]) and exits with its status: its pid, or -1
 * after saying why.  A failure in the child after the fork is said there
 * and exits with EXIT_SETUP (EXIT_NOEXEC, EXIT_NOTFOUND: the exec). */
pid_t sandbox_start(struct sandbox *sb, char **args);
#endif
