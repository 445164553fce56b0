/* oci.c - see include/xsysroot/oci.h. */
#include "xsysroot/oci.h"
#include "xsysroot/arch.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_STR 1024	     /* media types, platform fields */
#define MAX_TOKEN (64u << 10) /* a bearer token */
#define JSON_DEPTH 16

const char xs_oci_accept[] =
	"application/vnd.oci.image.index.v1+json, "
	"application/vnd.oci.image.manifest.v1+json, "
	"application/vnd.docker.distribution.manifest.list.v2+json, "
	"application/vnd.docker.distribution.manifest.v2+json";

static const struct {
	const char *type;
	enum xs_oci_kind kind;
} media_types[] = {
	{ "application/vnd.oci.image.index.v1+json", XS_OCI_INDEX },
	{ "application/vnd.docker.distribution.manifest.list.v2+json", XS_OCI_INDEX },
	{ "application/vnd.oci.image.manifest.v1+json", XS_OCI_MANIFEST },
	{ "application/vnd.docker.distribution.manifest.v2+json", XS_OCI_MANIFEST },
	{ "application/vnd.oci.image.config.v1+json", XS_OCI_CONFIG },
	{ "application/vnd.docker.container.image.v1+json", XS_OCI_CONFIG },
	{ "application/vnd.oci.image.layer.v1.tar", XS_OCI_LAYER_TAR },
	{ "application/vnd.oci.image.layer.v1.tar+gzip", XS_OCI_LAYER_GZIP },
	{ "application/vnd.oci.image.layer.v1.tar+zstd", XS_OCI_LAYER_ZSTD },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar", XS_OCI_LAYER_TAR },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", XS_OCI_LAYER_GZIP },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", XS_OCI_LAYER_ZSTD },
	{ "application/vnd.docker.image.rootfs.diff.tar.gzip", XS_OCI_LAYER_GZIP },
	{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", XS_OCI_LAYER_GZIP },
};

enum xs_oci_kind xs_oci_media_kind(const char *mt)
{
	if (!mt)
		return XS_OCI_UNKNOWN;
	size_t n = strcspn(mt, "; \t");
	for (size_t i = 0; i < XS_ARRAY_SIZE(media_types); i++)
		if (strlen(media_types[i].type) == n && !strncasecmp(mt, media_types[i].type, n))
			return media_types[i].kind;
	return XS_OCI_UNKNOWN;
}

#define fail xs_bad_input

/* ---- JSON helpers ---------------------------------------------------- */

static json_object *parse_json(const char *data, size_t len)
{
	if (len > XS_OCI_MAX_DOC || len > INT32_MAX)
		return NULL;
	json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *o = json_tokener_parse_ex(tok, data, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (e != json_tokener_success || !o) {
		json_object_put(o);
		return NULL;
	}
	/* nothing but white space after the document */
	for (size_t i = used; i < len; i++)
		if (!strchr(" \t\r\n", data[i])) {
			json_object_put(o);
			return NULL;
		}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *member(json_object *o, const char *key, json_type type)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* A string member (bounded, no NUL inside), or NULL. */
static const char *str_member(json_object *o, const char *key, size_t max)
{
	json_object *v = member(o, key, json_type_string);
	if (!v)
		return NULL;
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (!s || n > max || strlen(s) != n)
		return NULL;
	return s;
}

static char *dup_member(json_object *o, const char *key)
{
	const char *s = str_member(o, key, MAX_STR);
	return s ? xs_strdup(s) : NULL;
}

const char *xs_oci_digest_hex(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) || strlen(d) != XS_OCI_DIGEST_LEN ||
	    !xs_is_sha256_hex(d + 7))
		return NULL;
	for (const char *p = d + 7; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			return NULL;
	return d + 7;
}

static void desc_free(struct xs_oci_desc *d)
{
	free(d->media_type);
	free(d->os);
	free(d->arch);
	free(d->variant);
	free(d->ref_name);
	memset(d, 0, sizeof *d);
}

static int parse_desc(json_object *o, struct xs_oci_desc *d, const char *what, char *err,
		      size_t errsz)
{
	memset(d, 0, sizeof *d);
	if (!json_object_is_type(o, json_type_object))
		return fail(err, errsz, "%s: not an object", what);
	const char *dg = str_member(o, "digest", XS_OCI_DIGEST_LEN);
	if (!xs_oci_digest_hex(dg))
		return fail(err, errsz, "%s: missing or unsupported digest '%.80s' (sha256 only)",
			    what, dg ? dg : "");
	json_object *sz = member(o, "size", json_type_int);
	int64_t size = sz ? json_object_get_int64(sz) : -1;
	if (size < 0)
		return fail(err, errsz, "%s: missing or negative size", what);
	snprintf(d->digest, sizeof d->digest, "%s", dg);
	d->size = (uint64_t)size;
	d->media_type = dup_member(o, "mediaType");
	json_object *pl = member(o, "platform", json_type_object);
	if (pl) {
		d->os = dup_member(pl, "os");
		d->arch = dup_member(pl, "architecture");
		d->variant = dup_member(pl, "variant");
	}
	json_object *an = member(o, "annotations", json_type_object);
	if (an)
		d->ref_name = dup_member(an, "org.opencontainers.image.ref.name");
	return 0;
}

enum xs_oci_kind xs_oci_doc_kind(const char *data, size_t len, const char *content_type)
{
	json_object *o = parse_json(data, len);
	if (!o)
		return XS_OCI_UNKNOWN;
	enum xs_oci_kind k = xs_oci_media_kind(str_member(o, "mediaType", MAX_STR));
	if (k == XS_OCI_UNKNOWN)
		k = xs_oci_media_kind(content_type);
	if (k == XS_OCI_UNKNOWN) {
		if (member(o, "manifests", json_type_array))
			k = XS_OCI_INDEX;
		else if (member(o, "layers", json_type_array))
			k = XS_OCI_MANIFEST;
	}
	json_object_put(o);
	return k;
}

/* parse_json, or NULL with the reason in err. */
static json_object *open_doc(const char *data, size_t len, const char *what, char *err,
			     size_t errsz)
{
	json_object *o = parse_json(data, len);
	if (!o)
		fail(err, errsz, "%s: not a JSON object of at most %u bytes", what, XS_OCI_MAX_DOC);
	return o;
}

static int check_schema(json_object *o, const char *what, char *err, size_t errsz)
{
	json_object *v = member(o, "schemaVersion", json_type_int);
	if (!v || json_object_get_int64(v) != 2)
		return fail(err, errsz, "%s: schemaVersion is not 2", what);
	return 0;
}

int xs_oci_parse_index(const char *data, size_t len, struct xs_oci_index *out, char *err,
		       size_t errsz)
{
	memset(out, 0, sizeof *out);
	json_object *o = open_doc(data, len, "index", err, errsz);
	if (!o)
		return -EBADMSG;
	int r = check_schema(o, "index", err, errsz);
	json_object *a = member(o, "manifests", json_type_array);
	size_t n = a ? json_object_array_length(a) : 0;
	if (r == 0 && !a)
		r = fail(err, errsz, "index: no manifests array");
	if (r == 0 && n > XS_OCI_MAX_ENTRIES)
		r = fail(err, errsz, "index: more than %d manifests", XS_OCI_MAX_ENTRIES);
	if (r == 0)
		out->m = xs_xcalloc(n + 1, sizeof *out->m);
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = parse_desc(json_object_array_get_idx(a, i), &out->m[i], "index entry", err,
			       errsz);
		if (r == 0)
			out->n++;
	}
	json_object_put(o);
	if (r < 0)
		xs_oci_index_free(out);
	return r;
}

int xs_oci_parse_manifest(const char *data, size_t len, struct xs_oci_manifest *out,
			  char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	json_object *o = open_doc(data, len, "manifest", err, errsz);
	if (!o)
		return -EBADMSG;
	int r = check_schema(o, "manifest", err, errsz);
	json_object *c = member(o, "config", json_type_object);
	json_object *a = member(o, "layers", json_type_array);
	size_t n = a ? json_object_array_length(a) : 0;
	if (r == 0 && (!c || !a))
		r = fail(err, errsz, "manifest: no config or no layers");
	if (r == 0 && n > XS_OCI_MAX_ENTRIES)
		r = fail(err, errsz, "manifest: more than %d layers", XS_OCI_MAX_ENTRIES);
	if (r == 0)
		r = parse_desc(c, &out->config, "manifest config", err, errsz);
	if (r == 0 && xs_oci_media_kind(out->config.media_type) != XS_OCI_CONFIG)
		r = fail(err, errsz, "manifest: config media type '%.200s' is not an image config",
			 out->config.media_type ? out->config.media_type : "");
	if (r == 0)
		out->layers = xs_xcalloc(n + 1, sizeof *out->layers);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct xs_oci_desc *d = &out->layers[i];
		r = parse_desc(json_object_array_get_idx(a, i), d, "manifest layer", err, errsz);
		if (r < 0)
			break;
		out->nlayers++;
		enum xs_oci_kind k = xs_oci_media_kind(d->media_type);
		if (k != XS_OCI_LAYER_TAR && k != XS_OCI_LAYER_GZIP && k != XS_OCI_LAYER_ZSTD)
			r = fail(err, errsz, "manifest: layer %zu has the unsupported media type '%.200s'",
				 i + 1, d->media_type ? d->media_type : "");
	}
	json_object_put(o);
	if (r < 0)
		xs_oci_manifest_free(out);
	return r;
}

int xs_oci_parse_config(const char *data, size_t len, struct xs_oci_config *out, char *err,
			size_t errsz)
{
	memset(out, 0, sizeof *out);
	json_object *o = open_doc(data, len, "config", err, errsz);
	if (!o)
		return -EBADMSG;
	int r = 0;
	json_object *rootfs = member(o, "rootfs", json_type_object);
	json_object *a = member(rootfs, "diff_ids", json_type_array);
	const char *type = str_member(rootfs, "type", MAX_STR);
	size_t n = a ? json_object_array_length(a) : 0;
	if (!a || !type || strcmp(type, "layers"))
		r = fail(err, errsz, "config: no rootfs of type layers with diff_ids");
	if (r == 0 && n > XS_OCI_MAX_ENTRIES)
		r = fail(err, errsz, "config: more than %d diff_ids", XS_OCI_MAX_ENTRIES);
	if (r == 0) {
		out->os = dup_member(o, "os");
		out->arch = dup_member(o, "architecture");
		out->variant = dup_member(o, "variant");
		out->diff_ids = xs_xcalloc(n + 1, sizeof *out->diff_ids);
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
									  : NULL;
		const char *hex = xs_oci_digest_hex(s);
		if (!hex) {
			r = fail(err, errsz, "config: diff_id %zu is no sha256 digest", i + 1);
			break;
		}
		memcpy(out->diff_ids[i], hex, 65);
		out->ndiff++;
	}
	json_object_put(o);
	if (r < 0)
		xs_oci_config_free(out);
	return r;
}

void xs_oci_index_free(struct xs_oci_index *ix)
{
	for (size_t i = 0; i < ix->n; i++)
		desc_free(&ix->m[i]);
	free(ix->m);
	memset(ix, 0, sizeof *ix);
}

void xs_oci_manifest_free(struct xs_oci_manifest *m)
{
	desc_free(&m->config);
	for (size_t i = 0; i < m->nlayers; i++)
		desc_free(&m->layers[i]);
	free(m->layers);
	memset(m, 0, sizeof *m);
}

void xs_oci_config_free(struct xs_oci_config *c)
{
	free(c->os);
	free(c->arch);
	free(c->variant);
	free(c->diff_ids);
	memset(c, 0, sizeof *c);
}

/* ---- platforms ------------------------------------------------------- */

/* the platforms are the arch table's (arch.h) */
static const struct xs_arch *platform_of(const char *deb_arch)
{
	const struct xs_arch *a = xs_arch_lookup(deb_arch);
	return a && !strcmp(a->deb, deb_arch) && a->oci_arch ? a : NULL;
}

int xs_oci_platform(const char *deb_arch, const char **arch, const char **variant)
{
	const struct xs_arch *a = platform_of(deb_arch);
	if (!a)
		return -ENOENT;
	*arch = a->oci_arch;
	*variant = a->oci_variant;
	return 0;
}

int xs_oci_select(const struct xs_oci_index *ix, const char *deb_arch, size_t *out, char *err,
		  size_t errsz)
{
	const struct xs_arch *pa = platform_of(deb_arch);
	if (!pa) {
		if (err && errsz)
			snprintf(err, errsz, "no OCI platform for the architecture '%s'", deb_arch);
		return -ENOENT;
	}
	const char *arch = pa->oci_arch, *variant = pa->oci_variant;
	size_t best = SIZE_MAX;
	for (size_t i = 0; i < ix->n; i++) {
		const struct xs_oci_desc *d = &ix->m[i];
		if (xs_oci_media_kind(d->media_type) != XS_OCI_MANIFEST || !d->os || !d->arch ||
		    strcmp(d->os, "linux") || strcmp(d->arch, arch))
			continue;
		bool exact = variant && d->variant && !strcmp(variant, d->variant);
		if (exact) {
			best = i;
			break;
		}
		/* arm64 images rarely say v8; arm without a variant is ambiguous */
		if (!d->variant && best == SIZE_MAX && (!variant || pa->oci_variant_loose))
			best = i;
	}
	if (best != SIZE_MAX) {
		*out = best;
		return 0;
	}
	if (err && errsz) {
		struct xs_buf b;
		xs_buf_init(&b, errsz);
		xs_buf_printf(&b, "no manifest for linux/%s%s%s; the image offers:", arch,
			      variant ? "/" : "", variant ? variant : "");
		size_t shown = 0;
		for (size_t i = 0; i < ix->n && shown < 32; i++) {
			const struct xs_oci_desc *d = &ix->m[i];
			if (xs_oci_media_kind(d->media_type) != XS_OCI_MANIFEST)
				continue;
			xs_buf_printf(&b, "%s %.40s/%.40s%s%.40s", shown ? "," : "",
				      d->os ? d->os : "?", d->arch ? d->arch : "?",
				      d->variant ? "/" : "", d->variant ? d->variant : "");
			shown++;
		}
		if (!shown)
			xs_buf_printf(&b, " nothing");
		snprintf(err, errsz, "%s", b.data ? b.data : "no matching platform");
		xs_buf_free(&b);
	}
	return -ENOENT;
}

/* ---- references ------------------------------------------------------ */

static bool ref_chars_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || strchr("\"\\?#%", *s))
			return false;
	return true;
}

int xs_oci_parse_ref(const char *ref, struct xs_oci_ref *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	if (!ref || !*ref || strlen(ref) > XS_MAX_PATH)
		return fail(err, errsz, "empty or over-long image reference");
	if (!strncmp(ref, "oci:", 4)) {
		/* oci:DIR[:TAG][@DIGEST]: after the last '/', '@' starts the
		 * digest and the last ':' before it the tag */
		const char *dir = ref + 4;
		const char *slash = strrchr(dir, '/');
		const char *at = strchr(slash ? slash : dir, '@');
		const char *end = at ? at : dir + strlen(dir);
		const char *colon = NULL;
		for (const char *p = slash ? slash : dir; p < end; p++)
			if (*p == ':')
				colon = p;
		const char *dend = colon ? colon : end;
		if (dend == dir || (at && !xs_oci_digest_hex(at + 1)) || (colon && colon + 1 == end))
			return fail(err, errsz, "'%s': expected oci:DIR[:TAG][@sha256:DIGEST]", ref);
		out->layout = true;
		out->repo = xs_strndup(dir, (size_t)(dend - dir));
		if (at)
			snprintf(out->digest, sizeof out->digest, "%s", at + 1);
		if (colon)
			out->tag = xs_strndup(colon + 1, (size_t)(end - colon - 1));
		if (!out->tag && !out->digest[0])
			out->tag = xs_strdup("latest");
		return 0;
	}
	if (!ref_chars_ok(ref))
		return fail(err, errsz, "'%.200s': not an image reference", ref);
	char *s = xs_strdup(ref);
	char *at = strchr(s, '@');
	if (at) {
		*at = 0;
		if (!xs_oci_digest_hex(at + 1)) {
			free(s);
			return fail(err, errsz, "'%s': bad digest (expected sha256:64 hex digits)", ref);
		}
		snprintf(out->digest, sizeof out->digest, "%s", at + 1);
	}
	char *slash = strchr(s, '/');
	char *name = s;
	if (slash && (memchr(s, '.', (size_t)(slash - s)) || memchr(s, ':', (size_t)(slash - s)) ||
		      (slash - s == 9 && !strncmp(s, "localhost", 9)))) {
		out->registry = xs_strndup(s, (size_t)(slash - s));
		name = slash + 1;
	} else {
		out->registry = xs_strdup("registry-1.docker.io");
	}
	char *lslash = strrchr(name, '/');
	char *colon = strrchr(lslash ? lslash : name, ':');
	if (colon) {
		*colon = 0;
		out->tag = xs_strdup(colon + 1);
	}
	bool bad = !*name || !out->registry[0] || (out->tag && !out->tag[0]) ||
		   name[strlen(name) - 1] == '/' || strstr(name, "//") || strstr(name, "..");
	for (const char *p = name; !bad && *p; p++)
		bad = !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("._-/", *p));
	if (!bad && !strcmp(out->registry, "registry-1.docker.io") && !strchr(name, '/')) {
		struct xs_buf b;
		xs_buf_init(&b, XS_MAX_PATH);
		xs_buf_printf(&b, "library/%s", name);
		out->repo = xs_buf_steal(&b, NULL);
	} else if (!bad) {
		out->repo = xs_strdup(name);
	}
	free(s);
	if (bad) {
		xs_oci_ref_free(out);
		return fail(err, errsz, "'%.200s': not an image reference (REGISTRY/REPO:TAG)", ref);
	}
	if (!out->tag && !out->digest[0])
		out->tag = xs_strdup("latest");
	return 0;
}

void xs_oci_ref_free(struct xs_oci_ref *r)
{
	free(r->registry);
	free(r->repo);
	free(r->tag);
	memset(r, 0, sizeof *r);
}

/* ---- whiteouts ------------------------------------------------------- */

#define WH ".wh."
#define WH_OPQ ".wh..wh..opq"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool in_set(char **set, size_t n, const char *s)
{
	return n && bsearch(&s, set, n, sizeof *set, cmp_str) != NULL;
}

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* The parent directory of p ("" at the top) into out. */
static void parent_of(const char *p, char *out)
{
	const char *s = strrchr(p, '/');
	size_t n = s ? (size_t)(s - p) : 0;
	memcpy(out, p, n);
	out[n] = 0;
}

int xs_oci_apply_layer(struct xs_manifest *fs, struct xs_manifest *layer)
{
	size_t nl = layer->n;
	/* the sets, sorted: removed paths, opaque directories, the layer's
	 * directories and its other entries */
	char **gone = xs_xcalloc(nl + 1, sizeof *gone), **opaque = xs_xcalloc(nl + 1, sizeof *opaque);
	char **dirs = xs_xcalloc(nl + 1, sizeof *dirs), **files = xs_xcalloc(nl + 1, sizeof *files);
	size_t ngone = 0, nopaque = 0, ndirs = 0, nfiles = 0;
	char *buf = xs_xmalloc(XS_MAX_PATH + 2);
	for (size_t i = 0; i < nl; i++) {
		struct xs_entry *e = &layer->e[i];
		const char *b = base_of(e->path);
		if (!strncmp(b, WH, strlen(WH))) {
			parent_of(e->path, buf);
			if (!strcmp(b, WH_OPQ)) {
				opaque[nopaque++] = xs_strdup(buf);
			} else if (strncmp(b, WH WH, 2 * strlen(WH)) && b[strlen(WH)]) {
				size_t pl = strlen(buf);
				snprintf(buf + pl, XS_MAX_PATH + 2 - pl, "%s%s", pl ? "/" : "",
					 b + strlen(WH));
				gone[ngone++] = xs_strdup(buf);
			}
			continue;
		}
		if (e->type == XS_E_DIR)
			dirs[ndirs++] = e->path;
		else
			files[nfiles++] = e->path;
	}
	qsort(gone, ngone, sizeof *gone, cmp_str);
	qsort(opaque, nopaque, sizeof *opaque, cmp_str);
	qsort(dirs, ndirs, sizeof *dirs, cmp_str);
	qsort(files, nfiles, sizeof *files, cmp_str);

	/* keep the entries below that nothing of this layer removes */
	size_t k = 0;
	for (size_t i = 0; i < fs->n; i++) {
		struct xs_entry *e = &fs->e[i];
		/* the entry itself: removed, replaced by a non-directory, or a
		 * directory whose metadata the layer's directory replaces */
		bool drop = in_set(gone, ngone, e->path) || in_set(files, nfiles, e->path) ||
			    in_set(dirs, ndirs, e->path);
		/* and its ancestors: removed, opaque, or no directory any more */
		snprintf(buf, XS_MAX_PATH + 1, "%s", e->path);
		for (char *s = strrchr(buf, '/'); !drop && buf[0];) {
			if (s)
				*s = 0;
			else
				buf[0] = 0;
			drop = in_set(opaque, nopaque, buf) ||
			       (buf[0] && (in_set(gone, ngone, buf) || in_set(files, nfiles, buf)));
			s = strrchr(buf, '/');
		}
		if (drop) {
			free(e->path);
			free(e->link);
		} else {
			fs->e[k++] = *e;
		}
	}
	fs->n = k;
	/* then the layer's own entries, in their order */
	for (size_t i = 0; i < nl; i++) {
		struct xs_entry *e = &layer->e[i];
		if (!strncmp(base_of(e->path), WH, strlen(WH))) {
			free(e->path);
			free(e->link);
			continue;
		}
		xs_grow(&fs->e, &fs->cap, fs->n + 1, sizeof *fs->e);
		fs->e[fs->n++] = *e;
	}
	free(layer->e);
	memset(layer, 0, sizeof *layer);
	for (size_t i = 0; i < ngone; i++)
		free(gone[i]);
	for (size_t i = 0; i < nopaque; i++)
		free(opaque[i]);
	free(gone);
	free(opaque);
	free(dirs);
	free(files);
	free(buf);
	return 0;
}

static int cmp_entry_path(const void *a, const void *b)
{
	const struct xs_entry *x = *(const struct xs_entry *const *)a;
	const struct xs_entry *y = *(const struct xs_entry *const *)b;
	return strcmp(x->path, y->path);
}

void xs_oci_finish(struct xs_manifest *fs)
{
	struct xs_entry **byp = xs_xcalloc(fs->n + 1, sizeof *byp);
	for (size_t i = 0; i < fs->n; i++)
		byp[i] = &fs->e[i];
	qsort(byp, fs->n, sizeof *byp, cmp_entry_path);
	for (size_t i = 0; i < fs->n; i++) {
		struct xs_entry *e = &fs->e[i];
		if (e->type != XS_E_HARDLINK)
			continue;
		struct xs_entry key = { .path = e->link }, *kp = &key;
		struct xs_entry **t = fs->n ? bsearch(&kp, byp, fs->n, sizeof *byp, cmp_entry_path)
					    : NULL;
		if (t && (*t)->type == XS_E_REG && !strcmp((*t)->sha256, e->sha256))
			continue;
		e->type = XS_E_REG;
		free(e->link);
		e->link = NULL;
	}
	free(byp);
}

/* ---- authentication documents ---------------------------------------- */

/* Bearer realm="https://auth.example/token",service="x",scope="repository:a:pull" */
int xs_oci_parse_challenge(const char *v, struct xs_oci_challenge *out)
{
	memset(out, 0, sizeof *out);
	if (!v || strlen(v) > 4096)
		return -EBADMSG;
	while (*v == ' ')
		v++;
	if (strncasecmp(v, "Bearer", 6) || (v[6] != ' ' && v[6] != '\t'))
		return -ENOENT;
	const char *p = v + 6;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *k = p;
		while (*p && *p != '=' && *p != ' ')
			p++;
		size_t kl = (size_t)(p - k);
		if (*p != '=')
			goto bad;
		p++;
		char val[4097];
		size_t n = 0;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				val[n++] = *p++;
			}
			if (*p != '"')
				goto bad;
			p++;
		} else {
			while (*p && *p != ',' && *p != ' ')
				val[n++] = *p++;
		}
		val[n] = 0;
		char **dst = kl == 5 && !strncasecmp(k, "realm", 5)	  ? &out->realm
			     : kl == 7 && !strncasecmp(k, "service", 7) ? &out->service
			     : kl == 5 && !strncasecmp(k, "scope", 5)	  ? &out->scope
									  : NULL;
		if (dst) {
			free(*dst);
			*dst = xs_strdup(val);
		}
	}
	if (!out->realm || strncasecmp(out->realm, "http", 4))
		goto bad;
	return 0;
bad:
	xs_oci_challenge_free(out);
	return -EBADMSG;
}

void xs_oci_challenge_free(struct xs_oci_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof *c);
}

int xs_oci_parse_token(const char *data, size_t len, char **token, int64_t *expires_in)
{
	*token = NULL;
	*expires_in = 60;
	json_object *o = parse_json(data, len);
	if (!o)
		return -EBADMSG;
	const char *t = str_member(o, "token", MAX_TOKEN);
	if (!t || !*t)
		t = str_member(o, "access_token", MAX_TOKEN);
	json_object *e = member(o, "expires_in", json_type_int);
	int64_t ex = e ? json_object_get_int64(e) : 60;
	int r = -EBADMSG;
	bool printable = t && *t;
	for (const char *p = t; printable && *p; p++)
		printable = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f;
	if (printable) {
		*token = xs_strdup(t);
		*expires_in = ex > 0 && ex < 86400 * 365 ? ex : 60;
		r = 0;
	}
	json_object_put(o);
	return r;
}

int xs_oci_docker_auth(const char *data, size_t len, const char *registry, char **auth)
{
	*auth = NULL;
	json_object *o = parse_json(data, len);
	if (!o)
		return -EBADMSG;
	json_object *auths = member(o, "auths", json_type_object);
	int r = -ENOENT;
	if (!auths) {
		json_object_put(o);
		return r;
	}
	/* keys are "host", "https://host" or "https://host/v1/" */
	json_object_object_foreach(auths, key, val)
	{
		const char *h = key;
		if (!strncmp(h, "https://", 8))
			h += 8;
		else if (!strncmp(h, "http://", 7))
			h += 7;
		size_t hl = strcspn(h, "/");
		bool hub = !strcmp(registry, "registry-1.docker.io") && hl == 15 &&
			   !strncmp(h, "index.docker.io", 15);
		if (!hub && (strlen(registry) != hl || strncmp(h, registry, hl)))
			continue;
		const char *a = str_member(val, "auth", MAX_TOKEN);
		/* base64 only: it goes into a header */
		if (a && *a && a[strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789+/=")] == 0) {
			*auth = xs_strdup(a);
			r = 0;
			break;
		}
	}
	json_object_put(o);
	return r;
}
