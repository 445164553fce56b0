/* gpg.c - see include/xsysroot/gpg.h.
 *
 * gpgv runs as a child process (posix_spawn, no shell) with a private empty
 * home directory, so neither the user's ~/.gnupg nor its trustedkeys are ever
 * consulted:
 *   gpgv --homedir TMP --status-fd 3 --weak-digest SHA1 --weak-digest RIPEMD160
 *        --keyring K1 [--keyring K2 ...] -- PATH
 * Its status lines (fd 3) decide; its exit status only confirms.  stderr is
 * kept (bounded) for messages when gpgv fails without a status line.
 */
#include "xsysroot/gpg.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATUS_MAX (256 * 1024) /* status output gpgv may produce */
#define STDERR_MAX (8 * 1024)	/* stderr kept for messages */
#define KEYRINGS_MAX 64
#define GPGV_TIMEOUT_MS (120 * 1000)
#define QUOTE_MAX 160 /* bytes of a status line quoted in a message */

extern char **environ;

static void msg(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void msg(char *err, size_t errsz, const char *fmt, ...)
{
	if (!err || !errsz)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

static const char *hash_name(int algo)
{
	switch (algo) {
	case 1: return "MD5";
	case 2: return "SHA1";
	case 3: return "RIPEMD160";
	case 8: return "SHA256";
	case 9: return "SHA384";
	case 10: return "SHA512";
	case 11: return "SHA224";
	default: return "unknown";
	}
}

static bool hash_weak(int algo)
{
	return algo >= 1 && algo <= 3;
}

/* ---- running gpgv ---------------------------------------------------------- */

struct run {
	struct xs_buf status;
	struct xs_buf errout;
	int wstatus;
	bool status_overflow;
	bool timed_out;
};

/* Move fd to a number >= 10 (close-on-exec), so that dup2 onto 0..3 in the
 * child never clobbers another source. */
static int high_fd(int fd)
{
	int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	int e = errno;
	close(fd);
	errno = e;
	return h;
}

static int drain(struct run *rn, pid_t pid, int sfd, int efd)
{
	uint64_t deadline = xs_now_ns() + (uint64_t)GPGV_TIMEOUT_MS * 1000000ull;
	char buf[4096];
	while (sfd >= 0 || efd >= 0) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = efd, .events = POLLIN } };
		uint64_t now = xs_now_ns();
		if (now >= deadline) {
			rn->timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		int n = poll(p, 2, (int)((deadline - now) / 1000000ull) + 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			kill(pid, SIGKILL);
			return e;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			ssize_t k = read(p[i].fd, buf, sizeof buf);
			if (k < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (k <= 0) {
				close(p[i].fd);
				if (i == 0)
					sfd = -1;
				else
					efd = -1;
				continue;
			}
			if (i == 0) {
				if (xs_buf_append(&rn->status, buf, (size_t)k) < 0) {
					rn->status_overflow = true;
					kill(pid, SIGKILL);
					close(sfd);
					sfd = -1;
				}
			} else {
				size_t room = rn->errout.max - rn->errout.len;
				xs_buf_append(&rn->errout, buf, (size_t)k < room ? (size_t)k : room);
			}
		}
	}
	if (sfd >= 0)
		close(sfd);
	if (efd >= 0)
		close(efd);
	return 0;
}

static int run_gpgv(const char *gpgv, char *const argv[], char *const envp[], struct run *rn,
		    char *err, size_t errsz)
{
	int sp[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int nullfd = -1, r = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	bool fa_ok = false, at_ok = false;
	char eb[128];

	if (pipe2(sp, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		r = -errno;
		msg(err, errsz, "cannot run %s: pipe: %s", gpgv, strerror_r(-r, eb, sizeof eb));
		goto out;
	}
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0) {
		r = -errno;
		msg(err, errsz, "cannot run %s: /dev/null: %s", gpgv, strerror_r(-r, eb, sizeof eb));
		goto out;
	}
	sp[1] = high_fd(sp[1]);
	ep[1] = high_fd(ep[1]);
	nullfd = high_fd(nullfd);
	if (sp[1] < 0 || ep[1] < 0 || nullfd < 0) {
		r = -EMFILE;
		msg(err, errsz, "cannot run %s: out of file descriptors", gpgv);
		goto out;
	}

	if ((r = posix_spawn_file_actions_init(&fa)) != 0) {
		r = -r;
		goto out;
	}
	fa_ok = true;
	if ((r = posix_spawnattr_init(&at)) != 0) {
		r = -r;
		goto out;
	}
	at_ok = true;
	r = posix_spawn_file_actions_adddup2(&fa, nullfd, 0);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, nullfd, 1);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, sp[1], 3);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	if (!r)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, 4);
#endif
	/* A daemon's threads may block or ignore signals; gpgv gets defaults. */
	sigset_t none, def;
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGHUP);
	if (!r)
		r = posix_spawnattr_setsigmask(&at, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(&at, &def);
	if (!r)
		r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (r) {
		r = -r;
		msg(err, errsz, "cannot run %s: %s", gpgv, strerror_r(-r, eb, sizeof eb));
		goto out;
	}

	pid_t pid;
	r = posix_spawn(&pid, gpgv, &fa, &at, argv, envp);
	if (r) {
		r = -r;
		msg(err, errsz, "cannot run %s: %s", gpgv, strerror_r(-r, eb, sizeof eb));
		if (r == -EACCES || r == -ENOTDIR || r == -ENOEXEC || r == -ELOOP)
			r = -ENOENT;
		else if (r != -ENOMEM && r != -EAGAIN)
			r = -EIO;
		goto out;
	}
	close(sp[1]);
	close(ep[1]);
	close(nullfd);
	sp[1] = ep[1] = nullfd = -1;

	r = drain(rn, pid, sp[0], ep[0]);
	sp[0] = ep[0] = -1; /* closed by drain */
	while (waitpid(pid, &rn->wstatus, 0) < 0) {
		if (errno != EINTR) {
			if (r == 0)
				r = -errno;
			break;
		}
	}
	if (r < 0)
		msg(err, errsz, "running %s failed: %s", gpgv, strerror_r(-r, eb, sizeof eb));
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (at_ok)
		posix_spawnattr_destroy(&at);
	for (int i = 0; i < 2; i++) {
		if (sp[i] >= 0)
			close(sp[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	if (nullfd >= 0)
		close(nullfd);
	return r;
}

/* ---- deciding --------------------------------------------------------------- */

enum bad_kind { B_NONE, B_ERRSIG, B_NOPUB, B_EXP, B_WEAK, B_BAD };

struct verdict {
	int goodsig, validsig;
	bool nodata;
	enum bad_kind bad;
	char bad_line[QUOTE_MAX + 1]; /* the decisive line, without "[GNUPG:] " */
	char keyid[41];		      /* of the decisive bad signature */
	int bad_hash;
	char fpr[64];
	int hash_algo;
};

static void copy_clean(char *dst, size_t dstsz, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < dstsz; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[o] = 0;
}

/* i-th space-separated field (0 = keyword) of line[0..n) */
static bool field(const char *line, size_t n, int i, const char **f, size_t *flen)
{
	const char *p = line, *end = line + n;
	for (int k = 0;; k++) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			return false;
		const char *s = p;
		while (p < end && *p != ' ')
			p++;
		if (k == i) {
			*f = s;
			*flen = (size_t)(p - s);
			return true;
		}
	}
}

static int field_int(const char *line, size_t n, int i)
{
	const char *f;
	size_t fl;
	if (!field(line, n, i, &f, &fl) || fl == 0 || fl > 6)
		return -1;
	int v = 0;
	for (size_t k = 0; k < fl; k++) {
		if (f[k] < '0' || f[k] > '9')
			return -1;
		v = v * 10 + (f[k] - '0');
	}
	return v;
}

static void note_bad(struct verdict *v, enum bad_kind kind, const char *line, size_t n, int hash)
{
	if (kind <= v->bad)
		return;
	v->bad = kind;
	v->bad_hash = hash;
	copy_clean(v->bad_line, sizeof v->bad_line, line, n);
	const char *f;
	size_t fl;
	if (field(line, n, 1, &f, &fl))
		copy_clean(v->keyid, sizeof v->keyid, f, fl);
	else
		v->keyid[0] = 0;
}

static bool is_kw(const char *line, size_t n, const char *kw)
{
	size_t k = strlen(kw);
	return n >= k && memcmp(line, kw, k) == 0 && (n == k || line[k] == ' ');
}

static void parse_status(const char *s, size_t len, struct verdict *v)
{
	static const char prefix[] = "[GNUPG:] ";
	const size_t plen = sizeof prefix - 1;
	const char *end = s + len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		const char *line = s;
		s = nl ? nl + 1 : end;
		size_t n = (size_t)(le - line);
		if (n && line[n - 1] == '\r')
			n--;
		if (n < plen || memcmp(line, prefix, plen) != 0)
			continue;
		line += plen;
		n -= plen;
		if (is_kw(line, n, "GOODSIG")) {
			v->goodsig++;
		} else if (is_kw(line, n, "VALIDSIG")) {
			/* VALIDSIG fpr date ts expire ver reserved pkalgo hashalgo class [primary] */
			int hash = field_int(line, n, 8);
			const char *f;
			size_t fl;
			if (hash_weak(hash)) {
				note_bad(v, B_WEAK, line, n, hash);
				continue;
			}
			if (hash <= 0)
				continue; /* malformed: not counted as valid */
			v->validsig++;
			if (v->validsig == 1 && field(line, n, 1, &f, &fl)) {
				v->hash_algo = hash;
				if (fl < sizeof v->fpr)
					copy_clean(v->fpr, sizeof v->fpr, f, fl);
			}
		} else if (is_kw(line, n, "BADSIG")) {
			note_bad(v, B_BAD, line, n, 0);
		} else if (is_kw(line, n, "EXPSIG") || is_kw(line, n, "EXPKEYSIG") ||
			   is_kw(line, n, "REVKEYSIG")) {
			note_bad(v, B_EXP, line, n, 0);
		} else if (is_kw(line, n, "NO_PUBKEY")) {
			note_bad(v, B_NOPUB, line, n, 0);
		} else if (is_kw(line, n, "ERRSIG")) {
			/* ERRSIG keyid pkalgo hashalgo class time rc [fpr] */
			int hash = field_int(line, n, 3);
			note_bad(v, hash_weak(hash) ? B_WEAK : B_ERRSIG, line, n, hash);
		} else if (is_kw(line, n, "NODATA")) {
			v->nodata = true;
		}
	}
}

static void keyring_list(const char *const *keyrings, char *out, size_t outsz)
{
	size_t n = 0, o = 0;
	while (keyrings[n])
		n++;
	o += (size_t)snprintf(out, outsz, "%s ", n == 1 ? "keyring" : "keyrings");
	for (size_t i = 0; i < n && o < outsz; i++)
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? ", " : "", keyrings[i]);
}

static int decide(const struct verdict *v, const struct run *rn, const char *gpgv,
		  const char *const *keyrings, const char *path, struct xs_gpg_result *res,
		  char *err, size_t errsz)
{
	char where[512];
	/* apt's rule: one good, valid signature with a strong digest by a key of
	 * the keyrings is enough; signatures by unknown or expired keys beside it
	 * are ignored (gpgv then exits 2), a BADSIG never is. */
	bool exited_ok = WIFEXITED(rn->wstatus) &&
			 (WEXITSTATUS(rn->wstatus) == 0 || WEXITSTATUS(rn->wstatus) == 2);
	if (v->bad != B_BAD && v->goodsig > 0 && v->validsig > 0 && exited_ok &&
	    !rn->status_overflow && !rn->timed_out) {
		if (res) {
			snprintf(res->fingerprint, sizeof res->fingerprint, "%s", v->fpr);
			res->hash_algo = v->hash_algo;
		}
		return 0;
	}
	switch (v->bad) {
	case B_BAD:
		msg(err, errsz, "signature check failed for %s: %s", path, v->bad_line);
		return -EKEYREJECTED;
	case B_WEAK:
		msg(err, errsz, "signature check failed for %s: signature by 0x%s uses the weak digest "
			       "algorithm %s (%s)", path, v->keyid, hash_name(v->bad_hash), v->bad_line);
		return -EKEYREJECTED;
	case B_EXP: {
		const char *what = !strncmp(v->bad_line, "REVKEYSIG", 9) ? "key has been revoked"
				 : !strncmp(v->bad_line, "EXPKEYSIG", 9) ? "key has expired"
				 : "signature has expired";
		msg(err, errsz, "signature check failed for %s: %s (%s)", path, what, v->bad_line);
		return -EKEYREJECTED;
	}
	case B_NOPUB:
		keyring_list(keyrings, where, sizeof where);
		msg(err, errsz, "signature check failed for %s: no public key for signature by 0x%s: "
			       "not in %s (%s)", path, v->keyid, where, v->bad_line);
		return -EKEYREJECTED;
	case B_ERRSIG:
		msg(err, errsz, "signature check failed for %s: cannot check signature by 0x%s (%s)",
		    path, v->keyid, v->bad_line);
		return -EKEYREJECTED;
	case B_NONE:
		break;
	}
	if (rn->status_overflow) {
		msg(err, errsz, "signature check failed for %s: %s wrote more than %d bytes of status",
		    path, gpgv, STATUS_MAX);
		return -EIO;
	}
	if (rn->timed_out) {
		msg(err, errsz, "signature check failed for %s: %s did not finish within %d s", path,
		    gpgv, GPGV_TIMEOUT_MS / 1000);
		return -EIO;
	}
	if (v->goodsig == 0 && v->validsig == 0) {
		if (v->nodata || (WIFEXITED(rn->wstatus) && WEXITSTATUS(rn->wstatus) == 2 &&
				  rn->errout.len && strstr(rn->errout.data, "no signature found"))) {
			msg(err, errsz, "signature check failed for %s: no OpenPGP signature found (NODATA)",
			    path);
			return -EKEYREJECTED;
		}
	}
	bool exited0 = WIFEXITED(rn->wstatus) && WEXITSTATUS(rn->wstatus) == 0;
	if (v->goodsig > 0 && v->validsig > 0 && exited0) {
		if (res) {
			snprintf(res->fingerprint, sizeof res->fingerprint, "%s", v->fpr);
			res->hash_algo = v->hash_algo;
		}
		return 0;
	}
	if (v->goodsig > 0 || v->validsig > 0) {
		msg(err, errsz, "signature check failed for %s: %s without %s", path,
		    v->goodsig ? "GOODSIG" : "VALIDSIG", v->goodsig ? "VALIDSIG" : "GOODSIG");
		if (exited0)
			return -EKEYREJECTED;
	}
	/* gpgv failed without telling why on its status fd: quote its stderr. */
	char first[QUOTE_MAX + 1] = "";
	if (rn->errout.len) {
		const char *e = rn->errout.data;
		size_t n = strcspn(e, "\n");
		copy_clean(first, sizeof first, e, n);
	}
	if (WIFEXITED(rn->wstatus))
		msg(err, errsz, "signature check failed for %s: %s exited with status %d%s%s", path,
		    gpgv, WEXITSTATUS(rn->wstatus), first[0] ? ": " : "", first);
	else
		msg(err, errsz, "signature check failed for %s: %s killed by signal %d", path, gpgv,
		    WIFSIGNALED(rn->wstatus) ? WTERMSIG(rn->wstatus) : 0);
	return -EIO;
}

/* ---- entry point ------------------------------------------------------------ */

static int check_readable_file(const char *p, int *err_out)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*err_out = errno;
		return -1;
	}
	struct stat st;
	int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	*err_out = ok ? 0 : EISDIR;
	close(fd);
	return ok ? 0 : -1;
}

int xs_gpgv_verify(const char *gpgv, const char *const *keyrings, const char *path,
		   struct xs_gpg_result *res, char *err, size_t errsz)
{
	char eb[128];
	int e;
	if (err && errsz)
		err[0] = 0;
	if (res)
		memset(res, 0, sizeof *res);
	if (!gpgv || !path || !keyrings) {
		msg(err, errsz, "signature check: missing argument");
		return -EINVAL;
	}
	size_t nk = 0;
	while (keyrings[nk])
		nk++;
	if (nk == 0) {
		msg(err, errsz, "signature check for %s: no keyring given", path);
		return -EINVAL;
	}
	if (nk > KEYRINGS_MAX) {
		msg(err, errsz, "signature check for %s: more than %d keyrings", path, KEYRINGS_MAX);
		return -E2BIG;
	}
	if (access(gpgv, X_OK) < 0) {
		msg(err, errsz, "cannot run %s: %s", gpgv, strerror_r(errno, eb, sizeof eb));
		return -ENOENT;
	}
	for (size_t i = 0; i < nk; i++) {
		if (check_readable_file(keyrings[i], &e) < 0) {
			msg(err, errsz, "keyring %s: %s", keyrings[i],
			    e == EISDIR ? "not a regular file" : strerror_r(e, eb, sizeof eb));
			return -ENOENT;
		}
	}
	if (check_readable_file(path, &e) < 0) {
		msg(err, errsz, "cannot read %s: %s", path,
		    e == EISDIR ? "not a regular file" : strerror_r(e, eb, sizeof eb));
		return e == EISDIR ? -EISDIR : -e;
	}

	/* A private, empty home: the user's ~/.gnupg is never read. */
	const char *tmpdir = getenv("TMPDIR");
	if (!tmpdir || tmpdir[0] != '/')
		tmpdir = "/tmp";
	char home[XS_MAX_PATH];
	if ((size_t)snprintf(home, sizeof home, "%s/xsysroot-gpgv-XXXXXX", tmpdir) >= sizeof home) {
		msg(err, errsz, "TMPDIR too long");
		return -ENAMETOOLONG;
	}
	if (!mkdtemp(home)) {
		int r = -errno;
		msg(err, errsz, "cannot create a temporary directory in %s: %s", tmpdir,
		    strerror_r(-r, eb, sizeof eb));
		return r;
	}

	/* argv: gpgv + 9 fixed + 2 per keyring + "--" + path + NULL */
	size_t argc_max = 13 + 2 * nk;
	_cleanup_free_ char **argv = xs_xcalloc(argc_max, sizeof *argv);
	_cleanup_free_ char **rel = xs_xcalloc(nk + 1, sizeof *rel);
	size_t a = 0;
	argv[a++] = (char *)gpgv;
	argv[a++] = (char *)"--homedir";
	argv[a++] = home;
	argv[a++] = (char *)"--status-fd";
	argv[a++] = (char *)"3";
	argv[a++] = (char *)"--weak-digest";
	argv[a++] = (char *)"SHA1";
	argv[a++] = (char *)"--weak-digest";
	argv[a++] = (char *)"RIPEMD160";
	for (size_t i = 0; i < nk; i++) {
		argv[a++] = (char *)"--keyring";
		/* gpgv looks a name without a slash up in its home directory */
		if (!strchr(keyrings[i], '/')) {
			size_t l = strlen(keyrings[i]);
			rel[i] = xs_xmalloc(l + 3);
			memcpy(rel[i], "./", 2);
			memcpy(rel[i] + 2, keyrings[i], l + 1);
			argv[a++] = rel[i];
		} else {
			argv[a++] = (char *)keyrings[i];
		}
	}
	argv[a++] = (char *)"--";
	argv[a++] = (char *)path;
	argv[a] = NULL;

	char envhome[XS_MAX_PATH + 16];
	snprintf(envhome, sizeof envhome, "GNUPGHOME=%s", home);
	char *envp[] = { (char *)"LC_ALL=C", (char *)"LANG=C", envhome, NULL };

	struct run rn = { .wstatus = 0 };
	xs_buf_init(&rn.status, STATUS_MAX);
	xs_buf_init(&rn.errout, STDERR_MAX);
	int r = run_gpgv(gpgv, argv, envp, &rn, err, errsz);
	xs_rm_rf(home);
	if (r == 0) {
		struct verdict v = { .bad = B_NONE };
		parse_status(rn.status.data ? rn.status.data : "", rn.status.len, &v);
		if (rn.errout.data == NULL)
			xs_buf_append(&rn.errout, "", 0);
		r = decide(&v, &rn, gpgv, keyrings, path, res, err, errsz);
	}
	for (size_t i = 0; i < nk; i++)
		free(rel[i]);
	xs_buf_free(&rn.status);
	xs_buf_free(&rn.errout);
	return r;
}
