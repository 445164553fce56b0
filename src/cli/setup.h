/* setup.h - the one setup step of the commands that open a view (mount,
 * ldd, run, fetch) and of cache: the repository options, the configuration
 * files (xsysroot/config.h), the cache directory, the repository opened,
 * and one cleanup.
 *
 *	struct cli_setup s;
 *	cli_setup_init(&s);
 *	... getopt: cli_setup_option(&s, c, optarg) for the options it knows
 *	if (cli_setup_configure(&s, arch) < 0 || cli_setup_open(&s, 0) < 0)
 *		rc = EXIT_FAILURE;      (the message is on stderr)
 *	... s.repo
 *	cli_setup_free(&s);
 *
 * Each step says why it failed on stderr, once; the command exits with
 * EXIT_FAILURE for it (run: EXIT_SETUP). */
#ifndef XSYSROOT_CLI_SETUP_H
#define XSYSROOT_CLI_SETUP_H

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "command.h"
#include "output.h"
#include "progress.h"
#include "xs-build.h"
#include "xsysroot/config.h"
#include "xsysroot/lock.h"
#include "xsysroot/repo.h"

/* The codes of the long options that have no short form. */
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
	OPT_PROXY,
	OPT_CONFIG,
	OPT_OFFLINE,
	OPT_CACHE_MAX_SIZE,
	OPT_MAX_SIZE,
	OPT_JOBS,
	OPT_BINFMT_PREFIX,
	OPT_IMAGE,
	OPT_PLAIN_HTTP,
	OPT_CREDS,
	OPT_AUTH_FILE,
	OPT_LOCK,
	OPT_JSON,
	OPT_DRY_RUN,
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
	{ "proxy", required_argument, NULL, OPT_PROXY },                      \
	{ "config", required_argument, NULL, OPT_CONFIG },                    \
	{ "image", required_argument, NULL, OPT_IMAGE },                      \
	{ "plain-http", no_argument, NULL, OPT_PLAIN_HTTP },                  \
	{ "creds", required_argument, NULL, OPT_CREDS },                      \
	{ "auth-file", required_argument, NULL, OPT_AUTH_FILE },              \
	{ "lock", required_argument, NULL, OPT_LOCK }

/* The help of the repository options (XS_REPO_LONG_OPTIONS but the
 * testing option --apt-root), for a usage text. */
#define CLI_HELP_REPO_OPTIONS                                                                \
	"Repository options:\n"                                                              \
	"      --mirror URL          Debian archive base URL (the folder holding dists/\n"   \
	"                            and pool/); default: the host's apt sources.\n"         \
	"                            Repeatable, or a comma/blank-separated list: the\n"     \
	"                            mirrors of one archive, tried in order per file\n"      \
	"      --suite NAME          suite or codename; default: the host's codename\n"      \
	"      --components LIST     comma-separated components (default: main)\n"           \
	"      --packages LIST       comma-separated packages added to the view, with\n"     \
	"                            their dependencies (the base is libc6, libc-bin,\n"     \
	"                            libgcc-s1, libstdc++6)\n"                               \
	"      --lock FILE           a lock file: when FILE exists, the view is exactly\n"  \
	"                            its packages, each checked against its pinned\n"     \
	"                            SHA-256 (nothing resolved); else it is written\n"     \
	"                            after resolution (delete it to refresh it)\n"        \
	"      --keyring FILE        OpenPGP keyring for the InRelease signature\n"          \
	"                            (default: the source's Signed-By, else\n"               \
	"                            " XS_DEFAULT_KEYRING ")\n"                              \
	"      --cache-dir DIR       cache directory (default: /var/cache/xsysroot for\n"    \
	"                            root, else $XDG_CACHE_HOME/xsysroot or\n"               \
	"                            ~/.cache/xsysroot)\n"                                   \
	"      --allow-expired       accept an InRelease whose Valid-Until has passed\n"     \
	"      --proxy URL           HTTP proxy (default: http_proxy, https_proxy and\n"     \
	"                            no_proxy; an empty URL: no proxy at all)\n"             \
	"      --config FILE         read FILE instead of /etc/xsysroot.conf and\n"          \
	"                            ~/.config/xsysroot/config (also $XSYSROOT_CONFIG;\n"    \
	"                            empty: none); the command line wins over them\n"        \
	"      --image REF           a container image instead of a Debian archive:\n"       \
	"                            REGISTRY/REPO[:TAG][@sha256:DIGEST] (the OCI\n"         \
	"                            distribution API) or oci:DIR[:TAG][@DIGEST] (an\n"      \
	"                            OCI image layout); its linux/ARCH manifest; layers\n"   \
	"                            fetched at the first access, every one\n"               \
	"                            verified (digest, size, diff_id), whiteouts applied\n"  \
	"      --plain-http          reach the registry over http (default: https, and\n"    \
	"                            http for a loopback registry only)\n"                   \
	"      --creds USER:PASSWORD registry credentials (default: the registry's\n"        \
	"                            entry in the auth file, else anonymous)\n"              \
	"      --auth-file FILE      Docker config.json with registry credentials\n"         \
	"                            (default: $DOCKER_CONFIG/config.json, else\n"           \
	"                            ~/.docker/config.json)\n"

/* The help of options that some of those commands share. */
#define CLI_HELP_FETCH_TIMEOUT                                                               \
	"      --fetch-timeout SECS  a package download fails after this long\n"              \
	"                            without data (default: 120)\n"
#define CLI_HELP_LOG_FILE                                                                    \
	"      --log-file FILE       daemon log (default: CACHEDIR/daemon.log)\n"
#define CLI_HELP_OFFLINE                                                                     \
	"      --offline             no network: only what the cache holds (the last\n"      \
	"                            verified InRelease, indexes and packages, see\n"        \
	"                            fetch); a file whose package is not cached\n"           \
	"                            fails with EIO (also for ldd)\n"

struct cli_setup {
	struct xs_repo_config cfg;  /* what is opened; its strings point into argv,
				     * conf and mirrors */
	const struct xs_arch *arch; /* cfg.arch's entry, once configured */
	char cache_dir[PATH_MAX];   /* --cache-dir or the files'; "": the default */
	char cache_abs[PATH_MAX];   /* the cache directory made: cfg.cache_dir */
	const char *config;	    /* --config FILE, NULL: $XSYSROOT_CONFIG or the defaults */
	char *mirrors;		    /* the --mirror values, space-separated (owned) */
	struct xs_config conf;	    /* the files read (owned) */
	uint64_t quota;		    /* bytes, from the files; 0: none */
	struct cli_progress progress;
	struct logger log;	   /* cli_setup_log's; fd -1 none (owned) */
	char log_path[PATH_MAX + 32];
	const char *lock_path;	   /* --lock FILE, NULL: none */
	struct xs_lock lock;	   /* FILE read, when it existed (owned) */
	bool lock_new;		   /* FILE did not exist: this command writes it */
	struct xs_repo *repo; /* cli_setup_open's (owned) */
	char err[4096];	      /* why the last step failed, when it was the core */
};

void cli_setup_init(struct cli_setup *s);
/* Release what s holds: the repository, then the log file. */
void cli_setup_free(struct cli_setup *s);

/* What cli_setup_option made of an option. */
enum { CLI_OPT_NOT_MINE, CLI_OPT_TAKEN, CLI_OPT_BAD };
/* A repository option (or --fetch-timeout, --offline) with its value arg:
 * CLI_OPT_TAKEN, CLI_OPT_NOT_MINE when c is none, or CLI_OPT_BAD after
 * saying why the value is wrong. */
int cli_setup_option(struct cli_setup *s, int c, const char *arg);

/* cli_getopt (command.h) with the repository options taken into s: the
 * next option for the command itself, CLI_END, CLI_HELP, or CLI_BAD (also
 * after a bad value of a repository option). */
int cli_setup_getopt(struct cli_setup *s, const struct cli_command *cmd, int argc, char **argv,
		     const char *shortopts, const struct option *longopts);

/* The architecture arch (NULL for none: cache) and the configuration files
 * (--config FILE, else $XSYSROOT_CONFIG, else /etc/xsysroot.conf then the
 * user's file), which fill, for arch, what the command line left unset.
 * 0, or -1 after saying why. */
int cli_setup_configure(struct cli_setup *s, const char *arch);
/* The cache directory (given, configured, or this user's default) made,
 * and cfg.cache_dir set to its absolute path: 0, or -1 after saying why.
 * Once made, again does nothing. */
int cli_setup_cache_dir(struct cli_setup *s);

/* The daemon's log file (log_file, NULL: CACHEDIR/daemon.log, with the
 * cache directory made) opened for appending into s->log.fd, the other
 * fields of s->log left to the caller: 0, or -1 after saying why. */
int cli_setup_log(struct cli_setup *s, const char *log_file);

/* What cli_setup_open does besides opening. */
enum { CLI_SETUP_SETTLE = 1 }; /* wait for the view (xs_repo_settle) */
/* Open the repository into s->repo (again: the one before is freed), with
 * the cache directory made, progress on a terminal, the log (cfg.log, else
 * warn_log) and the open-file limit raised.  0, or -1 after saying why on
 * stderr (the message also in s->err). */
int cli_setup_open(struct cli_setup *s, int flags);

/* xsysroot --help-config: the keys of the configuration files. */
void config_help(FILE *f);
/* --fetch-timeout SECS into *out; false after saying why on stderr. */
bool fetch_timeout_option(const char *arg, int *out);
/* A size option's value (xs_parse_size): true, or false after saying why
 * on stderr. */
bool size_option(const char *opt, const char *arg, uint64_t *out);

#endif
