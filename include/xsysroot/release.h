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
#endif
