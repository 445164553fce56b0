/* host.h - what the commands ask of the host: its mount table,
 * fusermount3, the programs of PATH, the open-file limit and the service
 * manager. */
#ifndef XSYSROOT_CLI_HOST_H
#define XSYSROOT_CLI_HOST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* fusermount3 -u [-z] MOUNTPOINT: 0 or -errno. */
int run_fusermount(const char *mp, bool lazy);
/* Whether this user can make a FUSE mount: /dev/fuse opens read-write,
 * and fusermount3 is there for a user other than root.  0, or -errno with
 * what is wrong and how to fix it in why. */
int fuse_usable(char *why, size_t whysz);
/* A mount whose daemon is gone (statfs gives ENOTCONN). */
bool mount_is_dead(const char *path);
/* The file system type and source of the topmost mount at mp (a real
 * path): 0, or -ENOENT when mp is no mount point. */
int mount_source(const char *mp, char *fstype, size_t ftsz, char *source, size_t srcsz);
/* cb for each line of /proc/self/mountinfo, in order, until it returns
 * non-zero (which is returned); 0 at the end, or -errno. */
int mountinfo_foreach(int (*cb)(const char *mp, const char *fstype, const char *source,
				void *ud),
		      void *ud);

/* The full path of a program of PATH in full: false when it is in none. */
bool path_lookup(const char *prog, char full[PATH_MAX]);
/* The program name if it is in PATH, else NULL. */
const char *in_path(const char *prog);

/* The soft limit of open files raised to the hard one. */
void raise_nofile(void);

/* Tell a service manager that the mount is ready (sd_notify's READY=1 to
 * $NOTIFY_SOCKET, without libsystemd); nothing when that is not set. */
void notify_ready(void);

#endif
