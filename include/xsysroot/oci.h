/* oci.h - the documents of a container image (OCI image spec and Docker's
 * v2 schema 2), pure: bytes in, tables out, no network, no file system.
 *
 *  - image references: "REGISTRY/REPO[:TAG][@sha256:HEX]" and
 *    "oci:DIR[:TAG]" (an OCI image layout on disk);
 *  - an index (OCI image index, Docker manifest list), a manifest and an
 *    image config, parsed with json-c and checked: media types known,
 *    digests "sha256:" + 64 lowercase hex digits (the store's algorithm;
 *    others are refused), sizes present and bounded;
 *  - platform selection: a Debian architecture as the OCI platform it runs
 *    (the arch table's oci_arch/oci_variant, arch.h)
 *    (arm64 -> linux/arm64/v8, armhf -> linux/arm/v7, armel -> linux/arm/v5,
 *    i386 -> linux/386, ppc64el -> linux/ppc64le, mips64el ->
 *    linux/mips64le, the others by the same name);
 *  - whiteouts: a layer's manifest applied over the file system of the
 *    layers below, as the OCI image spec says (".wh.NAME" removes NAME
 *    below, ".wh..wh..opq" empties its directory below, an entry replaces
 *    the one below, a directory's contents survive a directory above it);
 *  - the registry's authentication documents: a WWW-Authenticate Bearer
 *    challenge, a token reply, and the "auths" of a Docker config.json.
 * Every parser bounds what it accepts (document size, entry counts, string
 * lengths) and returns -EBADMSG for anything malformed, with a reason in
 * err when err is given.  Thread safe (no shared state).
 */
#ifndef XSYSROOT_OCI_H
#define XSYSROOT_OCI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsysroot/deb.h"

#define XS_OCI_MAX_DOC (4u << 20)    /* bytes of an index, manifest or config */
#define XS_OCI_MAX_ENTRIES 1024      /* manifests of an index, layers of a manifest */
#define XS_OCI_DIGEST_LEN (7 + 64)   /* "sha256:" + hex */

enum xs_oci_kind {
	XS_OCI_UNKNOWN = 0,
	XS_OCI_INDEX,	 /* OCI image index or Docker manifest list */
	XS_OCI_MANIFEST, /* OCI or Docker image manifest */
	XS_OCI_CONFIG,
	XS_OCI_LAYER_TAR,
	XS_OCI_LAYER_GZIP,
	XS_OCI_LAYER_ZSTD,
};
/* The kind of a media type (parameters after ';' ignored). */
enum xs_oci_kind xs_oci_media_kind(const char *media_type);
/* The Accept header value for manifests and indexes of both families. */
extern const char xs_oci_accept[];

struct xs_oci_desc {
	char *media_type;
	char digest[XS_OCI_DIGEST_LEN + 1];
	uint64_t size;
	char *os, *arch, *variant; /* an index entry's platform, else NULL */
	char *ref_name; /* annotation org.opencontainers.image.ref.name, else NULL */
};

struct xs_oci_index {
	struct xs_oci_desc *m;
	size_t n;
};

struct xs_oci_manifest {
	struct xs_oci_desc config;
	struct xs_oci_desc *layers;
	size_t nlayers;
};

struct xs_oci_config {
	char *os, *arch, *variant;
	char (*diff_ids)[65]; /* hex, in layer order */
	size_t ndiff;
};

/* Which document data is: its mediaType field, else content_type (a
 * registry's Content-Type, may be NULL), else its shape ("manifests" or
 * "layers").  XS_OCI_UNKNOWN when it is no JSON object. */
enum xs_oci_kind xs_oci_doc_kind(const char *data, size_t len, const char *content_type);
int xs_oci_parse_index(const char *data, size_t len, struct xs_oci_index *out, char *err,
		       size_t errsz);
int xs_oci_parse_manifest(const char *data, size_t len, struct xs_oci_manifest *out,
			  char *err, size_t errsz);
int xs_oci_parse_config(const char *data, size_t len, struct xs_oci_config *out, char *err,
			size_t errsz);
void xs_oci_index_free(struct xs_oci_index *ix);
void xs_oci_manifest_free(struct xs_oci_manifest *m);
void xs_oci_config_free(struct xs_oci_config *c);

/* "sha256:HEX" -> HEX (a pointer into digest), NULL when malformed. */
const char *xs_oci_digest_hex(const char *digest);

/* The OCI platform of a Debian architecture: 0, or -ENOENT when it has none. */
int xs_oci_platform(const char *deb_arch, const char **arch, const char **variant);
/* The entry of ix for linux/deb_arch: 0 and *out; -ENOENT with the
 * platforms the index offers in err.  An entry without a variant matches
 * any variant; an exact variant wins. */
int xs_oci_select(const struct xs_oci_index *ix, const char *deb_arch, size_t *out, char *err,
		  size_t errsz);

struct xs_oci_ref {
	bool layout;	 /* oci:DIR[:TAG] */
	char *registry;	 /* "host[:port]" (Docker Hub: registry-1.docker.io) */
	char *repo;	 /* "library/debian"; for a layout: DIR */
	char *tag;	 /* NULL when only a digest was given */
	char digest[XS_OCI_DIGEST_LEN + 1]; /* "" when none */
};
/* Parse an image reference.  A name without a registry part (no '.' or ':'
 * before the first '/', and not "localhost") is on Docker Hub, with
 * "library/" before a one-component name; the tag defaults to "latest"
 * when no digest is given. */
int xs_oci_parse_ref(const char *ref, struct xs_oci_ref *out, char *err, size_t errsz);
void xs_oci_ref_free(struct xs_oci_ref *r);

/* Apply layer (a layer's manifest, xs_tar_unpack) over fs (the layers
 * below, merged): whiteouts remove, entries replace, whiteout files
 * themselves never reach fs.  Bounded by the sizes of both manifests.  A
 * hardlink whose target a later layer removed or replaced keeps its
 * content: call xs_oci_finish once after the last layer. */
int xs_oci_apply_layer(struct xs_manifest *fs, struct xs_manifest *layer);
/* Turn hardlinks whose target is no longer that regular file into regular
 * files of their own (they carry the content's digest). */
void xs_oci_finish(struct xs_manifest *fs);

/* A WWW-Authenticate challenge "Bearer realm=...,service=...,scope=...":
 * 0 and the fields (fresh strings; service/scope may be NULL); -ENOENT for
 * another scheme; -EBADMSG when malformed. */
struct xs_oci_challenge {
	char *realm, *service, *scope;
};
int xs_oci_parse_challenge(const char *value, struct xs_oci_challenge *out);
void xs_oci_challenge_free(struct xs_oci_challenge *c);
/* A token server's reply: {"token": ...} or {"access_token": ...}, with
 * "expires_in" (seconds, default 60). */
int xs_oci_parse_token(const char *data, size_t len, char **token, int64_t *expires_in);
/* The base64 "auth" of registry in a Docker config.json ("auths"), as a
 * fresh string: 0; -ENOENT when it has none. */
int xs_oci_docker_auth(const char *data, size_t len, const char *registry, char **auth);
#endif
