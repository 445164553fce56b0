/* release.h - the Release / InRelease files of a Debian archive.
 *
 * Pure: bytes in, tables out.  Signature checking itself is in gpg.h (it runs
 * gpgv); this module splits the clearsigned InRelease and parses the text.
 */
#ifndef XSYSROOT_RELEASE_H
#define XSYSROOT_RELEASE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XS_RELEASE_MAX_FILES 100000

struct xs_release_file {
	char *path;	/* e.g. "main/binary-arm64/Packages.xz" */
	uint64_t size;
	char sha256[65];
};

struct xs_release {
	char *origin, *label, *suite, *codename, *version;
	int64_t date;		/* seconds since the epoch, or -1 when absent */
	int64_t valid_until;	/* -1 when absent */
	bool acquire_by_hash;
	bool not_automatic;
	bool but_automatic_upgrades;
	char **architectures;	/* NULL-terminated */
	char **components;	/* NULL-terminated */
	struct xs_release_file *files; /* from the SHA256 field only */
	size_t n_files;
};

/* Split an InRelease (RFC 4880 cleartext signature) strictly, as apt does:
 * the data must be exactly one "-----BEGIN PGP SIGNED MESSAGE-----" block,
 * its armor headers ("Hash: ..."), a blank line, the dash-escaped text, and one
 * "-----BEGIN PGP SIGNATURE-----" ... "-----END PGP SIGNATURE-----" block.
 * Any non-blank text before, between or after them, a second signed message,
 * or an unknown armor header is -EBADMSG.  *text receives the un-dash-escaped
 * signed text (malloc'ed, NUL-terminated, with the final line's newline as in
 * the signed data).  err gets a short reason. */
int xs_clearsign_split(const char *data, size_t len, char **text, size_t *text_len,
		       char *err, size_t errsz);

/* Parse Release text.  Unknown fields are ignored; a malformed SHA256 line
 * (not "<64 hex> <size> <path>"), a bad date, or more than
 * XS_RELEASE_MAX_FILES files is -EBADMSG with a reason in err. */
int xs_release_parse(const char *text, size_t len, struct xs_release *out,
		     char *err, size_t errsz);
void xs_release_free(struct xs_release *r);
const struct xs_release_file *xs_release_find(const struct xs_release *r,
					      const char *path);

/* Parse an RFC 2822 date as used in Release files
 * ("Sat, 21 Nov 2026 00:53:02 UTC", also "+0000"/"GMT"/"Z" and numeric
 * offsets).  -EINVAL when malformed. */
int xs_parse_rfc2822(const char *s, int64_t *out);

/* apt's date checks: Date more than 'slack' seconds in the future is refused
 * (-EKEYREJECTED); Valid-Until in the past is refused (-EKEYEXPIRED) unless
 * allow_expired.  err gets a message naming both times in RFC 2822 form. */
int xs_release_check_dates(const struct xs_release *r, int64_t now, int64_t slack,
			   bool allow_expired, char *err, size_t errsz);

/* The HTTP validators of a verified InRelease, kept beside it in the cache
 * (cachefiles.h: inrelease-SRC.http) so that the next fetch of it can be a
 * conditional GET (http.h).  They name the SHA-256 of the very bytes they
 * were served with: they apply to those bytes only, never to a cached
 * copy that differs (corrupt, or replaced since).  A 304 they earn says
 * nothing about trust: the bytes go through every check again.
 * Text form, one field a line: "SHA256\nLAST_MODIFIED\nETAG\n" (64
 * lowercase hex digits; decimal seconds since the epoch, 0 for none; the
 * ETag as the server spelt it, or "" for none).  At least one validator. */
#define XS_RELEASE_ETAG_MAX 192 /* as XS_HTTP_ETAG_MAX */
struct xs_release_validators {
	char sha256[65];
	int64_t last_modified;		 /* 0: none */
	char etag[XS_RELEASE_ETAG_MAX]; /* "": none */
};
/* The text form into out (at most XS_RELEASE_VALIDATORS_MAX bytes and a
 * NUL).  -EINVAL when v holds no validator, a bad SHA-256 or a bad ETag. */
#define XS_RELEASE_VALIDATORS_MAX 300
int xs_release_validators_format(const struct xs_release_validators *v, char *out,
				 size_t outsz);
/* Read the text form strictly (anything else, e.g. a truncated or garbled
 * file, is -EBADMSG: the caller then asks unconditionally). */
int xs_release_validators_parse(const char *data, size_t len,
				struct xs_release_validators *out);
#endif
