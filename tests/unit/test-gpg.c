/* test-gpg.c - xs_gpgv_verify with the real gpgv against keys made here by
 * gpg in a temporary GNUPGHOME, plus a few fake "gpgv" scripts for the
 * decisions real gpgv cannot be made to reach on demand.  Everything lives
 * in one temporary directory, removed at exit together with the gpg-agent
 * that key generation starts. */
#include "gpghome.h"
#include "tap.h"
#include "testlib.h"
#include "xsysroot/gpg.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GPGV "/usr/bin/gpgv"
#define DEBIAN_KEYRING "/usr/share/keyrings/debian-archive-keyring.gpg"

static void fingerprint_of(const char *who, char *out, size_t outsz)
{
	char cmd[600], line[512];
	out[0] = 0;
	snprintf(cmd, sizeof cmd, "GNUPGHOME='%s' gpg --with-colons --list-keys '%s' 2>/dev/null",
		 gpghome_gnupg(), who);
	FILE *p = popen(cmd, "r");
	if (!p)
		return;
	while (fgets(line, sizeof line, p)) {
		if (!out[0] && !strncmp(line, "fpr:", 4)) {
			char *f = line;
			for (int i = 0; i < 9 && f; i++)
				f = strchr(f + 1, ':');
			if (f)
				snprintf(out, outsz, "%.*s", (int)strcspn(f + 1, ":\n"), f + 1);
		}
	}
	pclose(p);
}

static int verify(const char *gpgv, const char *k1, const char *k2, const char *file,
		  struct xs_gpg_result *res, char *err, size_t errsz)
{
	const char *ks[] = { k1, k2, NULL };
	int r = xs_gpgv_verify(gpgv, ks, file, res, err, errsz);
	if (r != 0)
		printf("# %s -> %d: %s\n", file, r, err);
	return r;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	if (xs_write_file_atomic(path, text, strlen(text), mode) < 0)
		printf("# cannot write %s\n", path);
}

static void real_inrelease(void)
{
	glob_t g;
	int gr = glob("/var/lib/apt/lists/*_InRelease", 0, NULL, &g);
	if (gr != 0 || access(DEBIAN_KEYRING, R_OK) != 0) {
		printf("ok %d - a real Debian InRelease verifies # SKIP no apt InRelease or %s here\n",
		       ++tap_n, DEBIAN_KEYRING);
		if (gr == 0)
			globfree(&g);
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct xs_gpg_result res;
		char err[1024];
		const char *ks[] = { DEBIAN_KEYRING, NULL };
		int r = xs_gpgv_verify(GPGV, ks, g.gl_pathv[i], &res, err, sizeof err);
		if (r)
			printf("# %s\n", err);
		CHECK(r == 0 && strlen(res.fingerprint) == 40 && res.hash_algo == 8,
		      "real InRelease verifies: %s (%s)", g.gl_pathv[i], res.fingerprint);
	}
	globfree(&g);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (gpghome_init() < 0) {
		printf("Bail out! a GNUPGHOME: %s\n", strerror(errno));
		return 1;
	}
	mkdir(tpath("tmp"), 0700);
	/* xs_gpgv_verify makes its private home under TMPDIR: watch it there */
	setenv("TMPDIR", tpath("tmp"), 1);

	if (access(GPGV, X_OK) != 0 || tsh("command -v gpg") != 0) {
		printf("1..0 # SKIP gpg or gpgv not installed\n");
		return 0;
	}

	/* keys and signed files */
	int ok = tsh("gpg --batch --passphrase '' --quick-gen-key 'xsysroot test <t@example.invalid>' "
		    "ed25519 sign never") == 0 &&
		 tsh("gpg --batch --passphrase '' --quick-gen-key 'other <o@example.invalid>' "
		    "ed25519 sign never") == 0 &&
		 tsh("gpg --batch --passphrase '' --faked-system-time 20200101T000000! "
		    "--quick-gen-key 'expired <e@example.invalid>' ed25519 sign 1d") == 0 &&
		 tsh("gpg --batch --passphrase '' --quick-gen-key 'revoked <r@example.invalid>' "
		    "ed25519 sign never") == 0;
	CHECK(ok, "test keys generated");
	char fpr[128], fpr_other[128], fpr_rev[128];
	fingerprint_of("xsysroot test", fpr, sizeof fpr);
	fingerprint_of("other", fpr_other, sizeof fpr_other);
	fingerprint_of("revoked", fpr_rev, sizeof fpr_rev);
	CHECK(strlen(fpr) == 40 && strlen(fpr_other) == 40, "fingerprints known (%s)", fpr);

	write_file(tpath("Release"), "Origin: xsysroot test\nSuite: unstable\nCodename: sid\n", 0644);
	ok = tsh("gpg --export 'xsysroot test' > k.gpg") == 0 &&
	     tsh("gpg --export other > other.gpg") == 0 &&
	     tsh("gpg --export expired > expired.gpg") == 0 &&
	     tsh("gpg --batch --yes -u 'xsysroot test' --digest-algo SHA256 --clearsign "
		"-o InRelease Release") == 0 &&
	     tsh("gpg --batch --yes -u 'xsysroot test' --digest-algo SHA512 --clearsign "
		"-o InRelease.sha512 Release") == 0 &&
	     tsh("gpg --batch --yes -u other --clearsign -o InRelease.other Release") == 0 &&
	     tsh("gpg --batch --yes -u 'xsysroot test' -u other --clearsign -o InRelease.two "
		"Release") == 0 &&
	     tsh("gpg --batch --yes -u 'xsysroot test' --digest-algo SHA1 --clearsign "
		"-o InRelease.sha1 Release") == 0 &&
	     tsh("gpg --batch --yes --faked-system-time 20200101T120000! -u expired "
		"--clearsign -o InRelease.expired Release") == 0 &&
	     tsh("gpg --batch --yes -u revoked --clearsign -o InRelease.revoked Release") == 0 &&
	     tsh("sed 's/^:-----BEGIN/-----BEGIN/' gnupg/openpgp-revocs.d/%s.rev > rev.asc && "
		"gpg --batch --import rev.asc && gpg --export revoked > revoked.gpg", fpr_rev) == 0 &&
	     tsh("sed 's/^Suite: unstable/Suite: stable/' InRelease > InRelease.tampered") == 0;
	CHECK(ok, "signed test files made");

	struct xs_gpg_result res;
	char err[1024];
	int r;

	/* good signatures */
	r = verify(GPGV, tpath("k.gpg"), NULL, tpath("InRelease"), &res, err, sizeof err);
	CHECK_INT(r, 0, "good signature verifies");
	CHECK_STR(res.fingerprint, fpr, "fingerprint from VALIDSIG");
	CHECK_INT(res.hash_algo, 8, "hash algorithm SHA256");
	CHECK_STR(err, "", "no message on success");
	r = verify(GPGV, tpath("k.gpg"), NULL, tpath("InRelease.sha512"), &res, err, sizeof err);
	CHECK(r == 0 && res.hash_algo == 10, "SHA512 signature verifies (algo %d)", res.hash_algo);
	r = verify(GPGV, tpath("other.gpg"), tpath("k.gpg"), tpath("InRelease"), &res, err, sizeof err);
	CHECK(r == 0 && !strcmp(res.fingerprint, fpr), "key found in the second keyring");
	r = verify(GPGV, tpath("k.gpg"), tpath("other.gpg"), tpath("InRelease.two"), &res, err,
		   sizeof err);
	CHECK(r == 0 && !strcmp(res.fingerprint, fpr), "two signatures, both keys known");
	if (chdir(gpghome_dir()) == 0) {
		r = verify(GPGV, "k.gpg", NULL, "InRelease", &res, err, sizeof err);
		CHECK_INT(r, 0, "relative keyring name is a file, not a name in gpg's home");
		if (chdir("/") != 0)
			printf("# chdir /\n");
	}

	/* refused signatures */
	r = verify(GPGV, tpath("k.gpg"), NULL, tpath("InRelease.tampered"), &res, err, sizeof err);
	CHECK_INT(r, -EKEYREJECTED, "tampered text -> -EKEYREJECTED");
	CHECK(strstr(err, "signature check failed for ") && strstr(err, tpath("InRelease.tampered")) &&
	      strstr(err, ": BADSIG ") && strstr(err, "xsysroot test"), "BADSIG message: %s", err);
	CHECK_STR(res.fingerprint, "", "no fingerprint on failure");

	r = verify(GPGV, tpath("k.gpg"), NULL, tpath("InRelease.other"), &res, err, sizeof err);
	CHECK_INT(r, -EKEYREJECTED, "unknown key -> -EKEYREJECTED");
	char keyid[20];
	snprintf(keyid, sizeof keyid, "0x%.16s", fpr_other + 24);
	CHECK(strstr(err, "no public key for signature by ") && strstr(err, keyid) &&
	      strstr(err, tpath("k.gpg")), "NO_PUBKEY message names key and keyring: %s", err);

	r = verify(GPGV, tpath("k.gpg"), NULL, tpath("InRelease.two"), &res, err, sizeof err);
	CHECK_INT(r, 0, "one good and one unknown signature -> accepted, as apt does");
	r = verify(GPGV, tpath("other.gpg"), NULL, tpath("InRelease.two"), &res, err, sizeof err);
	CHECK_INT(r, 0, "the same file with only the other key's keyring -> accepted");

	r = verify(GPGV, tpath("k.gpg"), NULL, tpath("InRelease.sha1"), &res, err, sizeof err);
	CHECK_INT(r, -EKEYREJECTED, "SHA1 signature -> -EKEYREJECTED");
	CHECK(strstr(err, "weak digest algorithm SHA1") != NULL, "weak digest message: %s", err);

	r = verify(GPGV, tpath("expired.gpg"), NULL, tpath("InRelease.expired"), &res, err, sizeof err);
	CHECK_INT(r, -EKEYREJECTED, "expired key -> -EKEYREJECTED");
	CHECK(strstr(err, "EXPKEYSIG") && strstr(err, "expired"), "message: %s", err);

	r = verify(GPGV, tpath("revoked.gpg"), NULL, tpath("InRelease.revoked"), &res, err, sizeof err);
	CHECK_INT(r, -EKEYREJECTED, "revoked key -> -EKEYREJECTED");
	CHECK(strstr(err, "REVKEYSIG") && strstr(err, "revoked"), "message: %s", err);

	r = verify(GPGV, tpath("k.gpg"), NULL, tpath("Release"), &res, err, sizeof err);
	CHECK_INT(r, -EKEYREJECTED, "unsigned file -> -EKEYREJECTED");
	CHECK(strstr(err, "no OpenPGP signature") && strstr(err, tpath("Release")), "message: %s", err);

	/* missing pieces, found before gpgv runs */
	r = verify(GPGV, tpath("k.gpg"), tpath("nope.gpg"), tpath("InRelease"), &res, err, sizeof err);
	CHECK_INT(r, -ENOENT, "missing keyring -> -ENOENT");
	CHECK(strstr(err, tpath("nope.gpg")) != NULL, "message names the keyring: %s", err);
	r = verify(GPGV, tpath("tmp"), NULL, tpath("InRelease"), &res, err, sizeof err);
	CHECK_INT(r, -ENOENT, "directory as keyring -> -ENOENT");
	r = verify(tpath("no-gpgv"), tpath("k.gpg"), NULL, tpath("InRelease"), &res, err, sizeof err);
	CHECK_INT(r, -ENOENT, "missing gpgv -> -ENOENT");
	CHECK(strstr(err, tpath("no-gpgv")) != NULL, "message names gpgv: %s", err);
	r = verify(GPGV, tpath("k.gpg"), NULL, tpath("missing-InRelease"), &res, err, sizeof err);
	CHECK_INT(r, -ENOENT, "missing file -> -ENOENT");
	{
		const char *none[] = { NULL };
		r = xs_gpgv_verify(GPGV, none, tpath("InRelease"), &res, err, sizeof err);
		CHECK_INT(r, -EINVAL, "no keyring at all -> -EINVAL (never gpg's default keyring)");
	}

	/* fake gpgv programs for the remaining decisions */
	write_file(tpath("fake-weak"),
		   "#!/bin/sh\n"
		   "echo '[GNUPG:] GOODSIG 09C394C6F37D510F x' >&3\n"
		   "echo '[GNUPG:] VALIDSIG AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 2026-01-01 1 0 4 0 22 2 01' >&3\n",
		   0755);
	r = verify(tpath("fake-weak"), tpath("k.gpg"), NULL, tpath("InRelease"), &res, err, sizeof err);
	CHECK_INT(r, -EKEYREJECTED, "VALIDSIG with SHA1 -> -EKEYREJECTED");
	CHECK(strstr(err, "weak digest algorithm SHA1") != NULL, "message: %s", err);

	write_file(tpath("fake-goodonly"), "#!/bin/sh\necho '[GNUPG:] GOODSIG 09C394C6F37D510F x' >&3\n",
		   0755);
	r = verify(tpath("fake-goodonly"), tpath("k.gpg"), NULL, tpath("InRelease"), &res, err,
		   sizeof err);
	CHECK_INT(r, -EKEYREJECTED, "GOODSIG without VALIDSIG -> refused");

	write_file(tpath("fake-exit1"),
		   "#!/bin/sh\n"
		   "echo '[GNUPG:] GOODSIG 09C394C6F37D510F x' >&3\n"
		   "echo '[GNUPG:] VALIDSIG AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 2026-01-01 1 0 4 0 22 8 01' >&3\n"
		   "echo 'fake: something went wrong' >&2\nexit 1\n",
		   0755);
	r = verify(tpath("fake-exit1"), tpath("k.gpg"), NULL, tpath("InRelease"), &res, err, sizeof err);
	CHECK(r < 0, "good status lines but a failing exit status -> refused (%d)", r);

	write_file(tpath("fake-crash"), "#!/bin/sh\necho 'fake: broken keyring' >&2\nexit 2\n", 0755);
	r = verify(tpath("fake-crash"), tpath("k.gpg"), NULL, tpath("InRelease"), &res, err, sizeof err);
	CHECK_INT(r, -EIO, "gpgv failing without status -> -EIO");
	CHECK(strstr(err, "exited with status 2: fake: broken keyring") != NULL, "message: %s", err);

	write_file(tpath("fake-flood"), "#!/bin/sh\nexec yes '[GNUPG:] NEWSIG' >&3\n", 0755);
	r = verify(tpath("fake-flood"), tpath("k.gpg"), NULL, tpath("InRelease"), &res, err, sizeof err);
	CHECK_INT(r, -EIO, "endless status output is cut off -> -EIO");

	write_file(tpath("fake-args"),
		   "#!/bin/sh\n"
		   "printf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args\"\n"
		   "echo \"GNUPGHOME=$GNUPGHOME HOME=$HOME\" > \"$(dirname \"$0\")/env\"\n"
		   "ls -A \"$GNUPGHOME\" | wc -l >> \"$(dirname \"$0\")/env\"\n"
		   "[ -e /proc/self/fd/4 ] && echo fd4-open >> \"$(dirname \"$0\")/env\"\n"
		   "echo '[GNUPG:] GOODSIG 09C394C6F37D510F x' >&3\n"
		   "echo '[GNUPG:] VALIDSIG BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB 2026-01-01 1 0 4 0 22 10 01' >&3\n",
		   0755);
	/* a descriptor without close-on-exec, as another thread might hold */
	int leak = open("/dev/null", O_RDONLY);
	if (leak >= 0 && leak != 4) {
		dup2(leak, 4);
		close(leak);
	}
	r = verify(tpath("fake-args"), tpath("k.gpg"), tpath("other.gpg"), tpath("InRelease"), &res,
		   err, sizeof err);
	close(4);
	CHECK(r == 0 && !strcmp(res.fingerprint, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB") &&
	      res.hash_algo == 10, "GOODSIG + VALIDSIG from the status fd decide");
	{
		struct xs_buf a, e;
		xs_read_file(tpath("args"), 1 << 16, &a);
		xs_read_file(tpath("env"), 1 << 16, &e);
		char want[1024];
		snprintf(want, sizeof want, "--status-fd\n3\n");
		CHECK(a.data && strstr(a.data, want), "--status-fd 3 passed");
		snprintf(want, sizeof want, "--keyring\n%s\n--keyring\n%s\n--\n%s\n", tpath("k.gpg"),
			 tpath("other.gpg"), tpath("InRelease"));
		CHECK(a.data && strstr(a.data, want), "keyrings, then --, then the file");
		snprintf(want, sizeof want, "--homedir\n%s/xsysroot-gpgv-", tpath("tmp"));
		CHECK(a.data && strstr(a.data, want), "private --homedir under TMPDIR");
		snprintf(want, sizeof want, "GNUPGHOME=%s/xsysroot-gpgv-", tpath("tmp"));
		CHECK(e.data && strstr(e.data, want), "GNUPGHOME is the private home");
		CHECK(e.data && strstr(e.data, "\n0\n"), "the private home is empty");
		CHECK(e.data && !strstr(e.data, "fd4-open"), "no other descriptors leak into gpgv");
		xs_buf_free(&a);
		xs_buf_free(&e);
	}

	CHECK_INT(tl_count_entries(tpath("tmp")), 0, "every private gpgv home was removed");

	real_inrelease();
	return tap_done();
}
