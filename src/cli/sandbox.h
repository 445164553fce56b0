/* sandbox.h - run --strict: the program in new user and mount namespaces
 * (a mount namespace alone for root with --writable), with the view as /
 * under a tmpfs layer of mount points and, with --writable, a writable
 * overlay; the host's /proc, /dev, /sys, /tmp, the current directory and
 * $HOME bound in; the programs it starts emulated through a binfmt_misc
 * handler with the F flag (the namespace's own on Linux 6.7 and later, else
 * one of the host, registered for the run when none serves the machine).
 *
 * One sandbox per run, used by one thread; sandbox_cleanup undoes what
 * sandbox_prepare did. */
#ifndef XSYSROOT_CLI_SANDBOX_H
#define XSYSROOT_CLI_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

#include "xsysroot/arch.h"

struct sandbox {
	const struct xs_arch *arch;
	const char *dir;      /* private directory with the empty dirs skel/ and root/ */
	const char *view;     /* the mount of the view: the lower layer of / */
	const char *writable; /* --writable DIR (absolute) with upper/ and work/, or NULL */
	const char *qemu;     /* the static qemu-user of arch, on the host */
	const char *prog;     /* the program: a path in the view, or a host file */
	bool prog_host;	      /* prog is a host file, bound in at its path */
	bool userns;	      /* new user namespace (false: root, mount namespace only) */
	bool native;	      /* the host runs arch's programs: no handler at all */
	void (*child_setup)(void); /* in the program's process before exec, or NULL */
	char binfmt[64];      /* the host's handler sandbox_prepare registered, "" none */
};

/* Linux 6.7 gave each user namespace its own binfmt_misc. */
bool kernel_has_userns_binfmt(void);

/* What must be there before the start: a handler of the host's binfmt_misc
 * for arch when the namespace cannot have its own and no enabled handler
 * with the F flag serves the machine (root only).  0, or -1 after saying
 * why. */
int sandbox_prepare(struct sandbox *sb);
/* Fork the program (args[0] its argv[0]) in the sandbox: its pid, or -1
 * after saying why.  A failure in the child after the fork is said there
 * and exits with EXIT_SETUP (EXIT_NOEXEC, EXIT_NOTFOUND: the exec). */
pid_t sandbox_start(struct sandbox *sb, char **args);
/* Remove the handler sandbox_prepare registered, if any; again: nothing. */
void sandbox_cleanup(struct sandbox *sb);

#endif
