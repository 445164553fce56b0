/* gpg.h - OpenPGP signature checks by running gpgv (never in-process crypto).
 *
 * gpgv runs with --status-fd and its status lines decide, as in apt:
 *  - exactly the signed data of the file is checked, with the given keyrings;
 *  - the result is good when at least one signature has a GOODSIG and a
 *    VALIDSIG with a strong digest, and no signature has a BADSIG; other
 *    signatures by unknown, expired or revoked keys beside a good one are
 *    ignored (Debian signs with several keys; a keyring may hold only one);
 *  - without a good signature, the most severe problem is reported: BADSIG,
 *    a weak digest (MD5, SHA1, RIPEMD160), an expired or revoked key, an
 *    unknown key (NO_PUBKEY), ERRSIG;
 *  - a missing or unreadable keyring is an error naming it.
 * Errors: -EKEYREJECTED (bad or weak signature, unknown, expired or revoked
 * key, no signature at all), -ENOENT (gpgv or keyring missing; also the
 * file itself), -EINVAL (no keyring given: gpg's default keyring is never
 * used), -EIO (gpgv failed otherwise); err gets a message quoting the
 * decisive status line.
 * Thread safety: reentrant (one child process per call).
 */
#ifndef XSYSROOT_GPG_H
#define XSYSROOT_GPG_H
#include <stddef.h>

struct xs_gpg_result {
	char fingerprint[64]; /* of the signing key, from the first VALIDSIG */
	int hash_algo;	       /* OpenPGP hash algorithm id (8 = SHA256) */
};

/* Verify the clearsigned file at path. keyrings: NULL-terminated list. */
int xs_gpgv_verify(const char *gpgv, const char *const *keyrings, const char *path,
		   struct xs_gpg_result *res, char *err, size_t errsz);
#endif
