/* cli.h - what the commands of the xsysroot program share: the option
 * codes of the repository options, logging, mount helpers and quoting.
 * Each command lives in its own src/cmd_*.c. */
#ifndef XSYSROOT_CLI_H
#define XSYSROOT_CLI_H

#include <getopt.h>
#include <stdio.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "xsysroot/repo.h"

enum {
	OPT_MIRROR = 256,
	OPT_SUITE,
	OPT_COMPONENTS,
	OPT_PACKAGES,
	OPT_KEYRING,
	OPT_CACHE_DIR,
	OPT_ALLOW_EXPIRED,
	OPT_FETCH_TIMEOUT,
	OPT_LOG_FILE,
	OPT_APT_ROOT,
	OPT_BIND,
	OPT_IMAGE,
	OPT_PLAIN_HTTP,
	OPT_CREDS,
	OPT_AUTH_FILE,
};


/* The long options of the repository options (mount, ldd and the commands
 * that open a view), for an option table. */
#define XS_REPO_LONG_OPTIONS                                                  \
	{ "mirror", required_argument, NULL, OPT_MIRROR },                    \
	{ "suite", required_argument, NULL, OPT_SUITE },                      \
	{ "components", required_argument, NULL, OPT_COMPONENTS },            \
	{ "packages", required_argument, NULL, OPT_PACKAGES },                \
	{ "keyring", required_argument, NULL, OPT_KEYRING },                  \
	{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },              \
	{ "allow-expired", no_argument, NULL, OPT_ALLOW_EXPIRED },            \
	{ "apt-root", required_argument, NULL, OPT_APT_ROOT },                \
	{ "image", required_argument, NULL, OPT_IMAGE },                      \
	{ "plain-http", no_argument, NULL, OPT_PLAIN_HTTP },                  \
	{ "creds", required_argument, NULL, OPT_CREDS },                      \
	{ "auth-file", required_argument, NULL, OPT_AUTH_FILE }

/* The usage text (main.c). */
void usage(FILE *f);

/* The daemon's log: a file, and stderr in the foreground. */
struct logger {
	int fd;
	bool to_stderr;
	bool debug;
	const char *mountpoint;
};
void log_cb(int level, const char *msg, void *ud);

/* fusermount3 -u [-z] MOUNTPOINT: 0 or -errno. */
int run_fusermount(const char *mp, bool lazy);
/* A mount whose daemon is gone (statfs gives ENOTCONN). */
bool mount_is_dead(const char *path);
/* The file system type and source of the topmost mount at mp (a real
 * path): 0, or -ENOENT when mp is no mount point. */
int mount_source(const char *mp, char *fstype, size_t ftsz, char *source, size_t srcsz);

void raise_nofile(void);
/* The repository options: true when c was one (and cfg was set). */
bool repo_option(int c, struct xs_repo_config *cfg, char cache_dir[PATH_MAX]);
/* The cache directory (given, or this user's default), created, as an
 * absolute path in abs; -1 after saying why on stderr. */
int open_cache_dir(char cache_dir[PATH_MAX], char abs[PATH_MAX]);

/* The program name if it is in PATH, else NULL. */
const char *in_path(const char *prog);
/* A fresh string, printf-style (aborts when out of memory). */
char *fmt_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* s quoted for sh when it needs it (a fresh string). */
char *sh_quote(const char *s);

int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_env(int argc, char **argv);
int cmd_ldd(int argc, char **argv);

#endif
