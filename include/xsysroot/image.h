/* image.h - a container image as the source of a view: fetched from a
 * registry (the OCI distribution API) or read from an OCI image layout on
 * disk, verified, and unpacked into the store.
 *
 * xs_image_open fetches only the documents: the index (when the tag names
 * one), the manifest of the platform of the architecture, and the config.
 * Every document and blob is checked against the digest and size that
 * names it (a manifest fetched by tag against the Docker-Content-Digest the
 * registry sends, when it sends one); nothing is trusted by tag alone
 * except which manifest the tag names now.
 *
 * xs_image_layers (called at the first access of the view, see
 * xs_repo_settle) fetches the layers (a few at once), each into the store
 * by transaction (SHA-256 and size checked), unpacks it with xs_tar_unpack
 * (the .deb rules: normalised paths, limits, no suid bits), checks the
 * digest of the uncompressed tar against the config's diff_id, records the
 * layer's manifest under meta/oci-layer-BLOBHEX-DIFFIDHEX and drops the
 * compressed blob.  A layer whose manifest (for that blob and that
 * diff_id) and objects are in the cache is never fetched again.  The layers are then applied in order with their whiteouts
 * (xs_oci_apply_layer) into one manifest.
 *
 * Registry access: https, or http for a loopback registry (127.0.0.0/8,
 * ::1, localhost) or with plain_http.  A 401 with a Bearer challenge gets
 * a token from the realm (anonymously, or with the credentials), which is
 * reused until it expires and fetched again then, or once when the
 * registry refuses it; a Basic challenge gets the credentials.  The
 * credentials: creds ("USER:PASSWORD"), else the registry's entry in
 * auth_file (Docker's config.json; default $DOCKER_CONFIG/config.json or
 * ~/.docker/config.json).  Authorization goes to the registry's and the
 * realm's host only, never on to a host a redirect names (http.h).
 *
 * Thread safety: one image is used by one thread at a time (the layers'
 * own threads are internal).
 */
#ifndef XSYSROOT_IMAGE_H
#define XSYSROOT_IMAGE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/deb.h"
#include "xsysroot/progress.h"
#include "xsysroot/store.h"

struct xs_image_config {
	const char *ref;       /* REGISTRY/REPO[:TAG][@sha256:HEX] or oci:DIR[:TAG] */
	const char *arch;      /* Debian architecture name */
	bool plain_http;       /* http:// even for a registry that is not loopback */
	const char *creds;     /* "USER:PASSWORD", may be NULL */
	const char *auth_file; /* Docker config.json, NULL: the default */
	int fetch_timeout_s;   /* a layer download fails after this long without data */
	const struct xs_progress *progress; /* of the downloads, NULL: none */
	void (*log)(int level, const char *msg, void *ud); /* may be NULL */
	void *log_ud;
};

struct xs_image;

int xs_image_open(struct xs_store *s, const struct xs_image_config *cfg, struct xs_image **out,
		  char *err, size_t errsz);
void xs_image_free(struct xs_image *im);
/* "REF (linux/ARCH[/VARIANT], sha256:MANIFEST)", for messages. */
const char *xs_image_describe(const struct xs_image *im);
/* The manifest's digest "sha256:HEX". */
const char *xs_image_digest(const struct xs_image *im);
size_t xs_image_nlayers(const struct xs_image *im);
/* The hex SHA-256 of layer i's blob: its cache record is
 * meta/oci-layer-HEX-DIFFID, which cache list and gc know as a package. */
const char *xs_image_layer_hex(const struct xs_image *im, size_t i);
/* The image's view digest (identity.h: over its layer blobs) into out:
 * 0, or negative errno. */
int xs_image_view_digest(const struct xs_image *im, char out[65]);
/* The image's file system: every layer fetched (or found in the cache),
 * verified, unpacked and applied in order into fs (initialised here).
 * fetched/bytes (may be NULL) receive how many layers were downloaded and
 * their bytes. */
int xs_image_layers(struct xs_image *im, struct xs_manifest *fs, size_t *fetched,
		    uint64_t *bytes, char *err, size_t errsz);
#endif
