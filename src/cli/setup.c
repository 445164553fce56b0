/* setup.c - the one setup step of the commands that open a view; see
 * setup.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "output.h"
#include "setup.h"
#include "xsysroot/arch.h"
#include "xsysroot/util.h"

void cli_setup_init(struct cli_setup *s)
{
	memset(s, 0, sizeof *s);
	s->cfg.apt_root = "/";
	xs_config_init(&s->conf);
	cli_progress_init(&s->progress);
	s->log.fd = -1;
	xs_lock_init(&s->lock, NULL);
}

void cli_setup_free(struct cli_setup *s)
{
	xs_repo_free(s->repo); /* it may log: before the log is closed */
	s->repo = NULL;
	if (s->log.fd >= 0)
		close(s->log.fd);
	s->log.fd = -1;
	xs_config_free(&s->conf);
	free(s->mirrors);
	s->mirrors = NULL;
	cli_progress_free(&s->progress);
	xs_lock_free(&s->lock);
}

int cli_setup_option(struct cli_setup *s, int c, const char *arg)
{
	struct xs_repo_config *cfg = &s->cfg;
	switch (c) {
	case OPT_MIRROR: {
		/* repeatable: the list is tried in order */
		char *m = s->mirrors ? fmt_str("%s %s", s->mirrors, arg) : fmt_str("%s", arg);
		free(s->mirrors);
		cfg->mirror = s->mirrors = m;
		break;
	}
	case OPT_SUITE: cfg->suite = arg; break;
	case OPT_COMPONENTS: cfg->components = arg; break;
	case OPT_PACKAGES: cfg->packages = arg; break;
	case OPT_KEYRING: cfg->keyring = arg; break;
	case OPT_CACHE_DIR: snprintf(s->cache_dir, sizeof s->cache_dir, "%s", arg); break;
	case OPT_ALLOW_EXPIRED: cfg->allow_expired = true; break;
	case OPT_PROXY: cfg->proxy = arg; break;
	case OPT_CONFIG: s->config = arg; break;
	case OPT_OFFLINE: cfg->offline = true; break;
	case OPT_APT_ROOT: cfg->apt_root = arg; break;
	case OPT_FETCH_TIMEOUT:
		if (!fetch_timeout_option(arg, &cfg->fetch_timeout_s))
			return CLI_OPT_BAD;
		break;
	case OPT_IMAGE: cfg->image = arg; break;
	case OPT_PLAIN_HTTP: cfg->plain_http = true; break;
	case OPT_CREDS: cfg->creds = arg; break;
	case OPT_AUTH_FILE: cfg->auth_file = arg; break;
	case OPT_LOCK: s->lock_path = arg; break;
	default: return CLI_OPT_NOT_MINE;
	}
	return CLI_OPT_TAKEN;
}

int cli_setup_getopt(struct cli_setup *s, const struct cli_command *cmd, int argc, char **argv,
		     const char *shortopts, const struct option *longopts)
{
	for (;;) {
		int c = cli_getopt(cmd, argc, argv, shortopts, longopts);
		if (c == CLI_END) /* -q: no progress */
			s->progress.tty = s->progress.tty && cli_verbosity() >= CLI_NORMAL;
		if (c < 0)
			return c;
		int t = cli_setup_option(s, c, optarg);
		if (t == CLI_OPT_NOT_MINE)
			return c;
		if (t == CLI_OPT_BAD)
			return CLI_BAD;
	}
}

/* Read the configuration files into s->conf: 0, or -1 after saying why. */
static int read_config_files(struct cli_setup *s)
{
	char err[4096] = "", user[PATH_MAX];
	const char *named = s->config ? s->config : getenv("XSYSROOT_CONFIG");
	int q = 0;
	xs_config_free(&s->conf);
	xs_config_init(&s->conf);
	if (named && *named) {
		q = xs_config_load(&s->conf, named, true, err, sizeof err);
	} else if (!named) {
		q = xs_config_load(&s->conf, XS_CONFIG_SYSTEM_PATH, false, err, sizeof err);
		if (q == 0 && xs_config_user_path(user, sizeof user) == 0)
			q = xs_config_load(&s->conf, user, false, err, sizeof err);
	}
	if (q < 0) {
		say("%s", err);
		return -1;
	}
	return 0;
}

int cli_setup_configure(struct cli_setup *s, const char *arch)
{
	struct xs_repo_config *cfg = &s->cfg;
	cfg->arch = arch;
	if (arch && !(s->arch = xs_arch_lookup(arch))) {
		char names[256];
		say("unknown architecture '%s' (try %s)", arch, xs_arch_names(names, sizeof names));
		return -1;
	}
	if (read_config_files(s) < 0)
		return -1;
	struct xs_settings st;
	xs_config_resolve(&s->conf, cfg->arch, &st);
	const char **fields[] = {
		[XS_CONF_MIRROR] = &cfg->mirror,	 [XS_CONF_SUITE] = &cfg->suite,
		[XS_CONF_COMPONENTS] = &cfg->components, [XS_CONF_PACKAGES] = &cfg->packages,
		[XS_CONF_KEYRING] = &cfg->keyring,	 [XS_CONF_PROXY] = &cfg->proxy,
	};
	for (size_t k = 0; k < XS_ARRAY_SIZE(fields); k++)
		if (fields[k] && !*fields[k])
			*fields[k] = st.value[k];
	if (!s->cache_dir[0] && st.value[XS_CONF_CACHE_DIR])
		snprintf(s->cache_dir, sizeof s->cache_dir, "%s", st.value[XS_CONF_CACHE_DIR]);
	if (!cfg->fetch_timeout_s)
		cfg->fetch_timeout_s = st.fetch_timeout_s;
	s->quota = st.quota;
	if (!cfg->cache_max_size)
		cfg->cache_max_size = st.quota; /* --cache-max-size wins */
	return 0;
}

int cli_setup_cache_dir(struct cli_setup *s)
{
	if (s->cache_abs[0])
		return 0;
	if (!s->cache_dir[0] && xs_default_cache_dir(s->cache_dir, sizeof s->cache_dir) < 0) {
		say("no cache directory: set HOME or pass --cache-dir");
		return -1;
	}
	if (xs_mkdir_p(s->cache_dir, 0755) < 0 || !realpath(s->cache_dir, s->cache_abs)) {
		say("cannot create the cache directory %s: %s", s->cache_dir, strerror(errno));
		s->cache_abs[0] = 0;
		return -1;
	}
	s->cfg.cache_dir = s->cache_abs;
	return 0;
}

int cli_setup_log(struct cli_setup *s, const char *log_file)
{
	if (!log_file && cli_setup_cache_dir(s) < 0)
		return -1;
	if (log_file)
		snprintf(s->log_path, sizeof s->log_path, "%s", log_file);
	else
		snprintf(s->log_path, sizeof s->log_path, "%s/daemon.log", s->cache_abs);
	s->log.fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (s->log.fd < 0) {
		say("cannot open the log file %s: %s", s->log_path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The names of cfg.packages (--packages, the files', and what run adds)
 * the lock does not pin, into out ("" none). */
static void lock_uncovered(struct cli_setup *s, struct xs_buf *out)
{
	char **names = xs_strv_split(s->cfg.packages ? s->cfg.packages : "");
	for (size_t i = 0; names && names[i]; i++) {
		char *name = names[i];
		name[strcspn(name, ":=<>(")] = 0;
		if (*name && !xs_lock_find(&s->lock, name))
			xs_buf_printf(out, "%s%s", out->len ? ", " : "", name);
	}
	xs_strv_free(names);
}

/* --lock FILE that exists: read into s->lock, cfg.lock set; a FILE that
 * does not exist leaves cfg.lock NULL (written after the open). */
static int lock_read(struct cli_setup *s)
{
	char *err = s->err;
	size_t errsz = sizeof s->err;
	s->cfg.lock = NULL;
	xs_lock_free(&s->lock);
	if (s->cfg.image)
		XS_FAIL(-EINVAL, "--lock and --image: a container image has no lock file");
	if (s->lock_new) /* written by this command: written again (run adds packages) */
		return 0;
	int q = xs_lock_read(s->lock_path, &s->lock, err, errsz);
	if (q == -ENOENT) {
		err[0] = 0;
		s->lock_new = true;
		return 0;
	}
	if (q < 0)
		return q;
	if (s->arch && strcmp(s->lock.arch, s->arch->deb))
		XS_FAIL(-EINVAL, "the lock file %s is for %s, not %s", s->lock_path, s->lock.arch,
			s->arch->deb);
	struct xs_buf miss;
	xs_buf_init(&miss, 1 << 16);
	lock_uncovered(s, &miss);
	if (miss.len)
		snprintf(s->err, sizeof s->err, "packages %s: not in the lock file %s (it pins "
			 "%zu packages); to refresh the lock, delete it and run again",
			 miss.data, s->lock_path, s->lock.npkgs);
	xs_buf_free(&miss);
	if (s->err[0])
		return -EINVAL;
	s->cfg.lock = &s->lock;
	s->cfg.lock_path = s->lock_path;
	return 0;
}

/* --lock FILE that did not exist: written from the view just opened. */
static int lock_write(struct cli_setup *s)
{
	struct xs_lock l;
	int q = xs_lock_of_repo(s->repo, &l, s->err, sizeof s->err);
	if (q == 0)
		q = xs_lock_write(s->lock_path, &l, s->err, sizeof s->err);
	if (q < 0 && !strstr(s->err, s->lock_path)) {
		char why[sizeof s->err];
		snprintf(why, sizeof why, "%s", s->err);
		snprintf(s->err, sizeof s->err, "the lock file %s: %.3000s", s->lock_path, why);
	}
	xs_lock_free(&l);
	return q;
}

int cli_setup_open(struct cli_setup *s, int flags)
{
	struct xs_repo_config *cfg = &s->cfg;
	s->err[0] = 0;
	if (cli_setup_cache_dir(s) < 0)
		return -1;
	if (!cfg->log)
		cfg->log = warn_log;
	cfg->progress = s->progress.tty ? &s->progress.report : NULL;
	raise_nofile();
	xs_repo_free(s->repo);
	s->repo = NULL;
	int q = s->lock_path ? lock_read(s) : 0;
	if (q == 0)
		q = xs_repo_open(cfg, &s->repo, s->err, sizeof s->err);
	if (q == 0 && s->lock_path && !cfg->lock)
		q = lock_write(s);
	if (q == 0 && (flags & CLI_SETUP_SETTLE))
		q = xs_repo_settle(s->repo, s->err, sizeof s->err);
	cli_progress_erase(&s->progress); /* the command says what came of it */
	if (q < 0) {
		xs_repo_free(s->repo);
		s->repo = NULL;
		say("%s", s->err);
		return -1;
	}
	return 0;
}

void config_help(FILE *f)
{
	size_t n;
	const struct xs_config_key_info *k = xs_config_keys(&n);
	fprintf(f, "Keys of %s and $XDG_CONFIG_HOME/xsysroot/config (global, or in a\n"
		   "section [arch NAME]; see xsysroot.conf(5)):\n", XS_CONFIG_SYSTEM_PATH);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-14s %-7s %s\n", k[i].name, k[i].arg, k[i].help);
}

bool fetch_timeout_option(const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*end || v <= 0 || v > 86400) {
		say("--fetch-timeout: '%s' is not a number of seconds (1-86400)", arg);
		return false;
	}
	*out = (int)v;
	return true;
}

bool size_option(const char *opt, const char *arg, uint64_t *out)
{
	if (xs_parse_size(arg, out) == 0)
		return true;
	say("%s: '%s' is not a size (a number of bytes with an optional K, M, G or T suffix)",
	    opt, arg);
	return false;
}
