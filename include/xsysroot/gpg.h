/* gpg.h - OpenPGP signature checks by running gpgv (never in-process crypto).
 *
 * gpgv runs with --status-fd and its status lines decide, as in apt:
 *  - exactly the signed data of the file is checked, with the given keyrings;
 *  - the result is good only with a GOODSIG and a VALIDSIG and no BADSIG,
 *    ERRSIG, EXPSIG, EXPKEYSIG, REVKEYSIG or NO_PUBKEY line;
 *  - signatures made with a weak digest (MD5, SHA1, RIPEMD160) are refused;
 *  - a missing or unreadable keyring is an error naming it.
 * Errors: -EKEYREJECTED (bad or weak signature, unknown key), -ENOENT (gpgv
 * or keyring missing), -EIO (gpgv failed otherwise); err gets a message
 * quoting the decisive status line.
 * Thread safety: reentrant (one child process per call).
 */
#ifndef XSYSROOT_GPG_H
#define XSYSROOT_GPG_H
#include <stddef.h>

struct xs_gpg_result {
	char fingerprint[64]; /* of the signing key, from VALIDSIG */
	int hash_algo;	       /* OpenPGP hash algorithm id (8 = SHA256) */
};

/* Verify the clearsigned file at path. keyrings: NULL-terminated list. */
int xs_gpgv_verify(const char *gpgv, const char *const *keyrings, const char *path,
		   struct xs_gpg_result *res, char *err, size_t errsz);
#endif
