/* fuzz-oci.c - the image documents and authentication documents (oci.h).
 *
 * The first byte chooses the parser, the rest is the document.  Checks: a
 * failed parse leaves nothing allocated; what parses is bounded (entry
 * counts), every digest is "sha256:" + 64 lowercase hex digits, every
 * diff_id 64 hex digits; a selected index entry is a manifest for linux;
 * a parsed reference has a repository and a tag or a digest; a token holds
 * only printable bytes without spaces, a config.json auth only base64
 * (both go into a header); two layers applied never leave a whiteout entry
 * or a path twice. */
#include "fuzz.h"
#include "xsysroot/oci.h"

static void check_desc(const struct xs_oci_desc *d)
{
	FZ_CHECK(xs_oci_digest_hex(d->digest) != NULL);
}

/* Lines "K PATH": K is the manifest (l: below, u: the layer) and the type
 * (l/u: file, L/U: directory, s/S: symlink), PATH is normalised first. */
static void whiteouts(const char *doc, size_t len)
{
	struct xs_manifest fs = { 0 }, lower = { 0 }, layer = { 0 };
	char norm[XS_MAX_PATH + 1];
	for (const char *p = doc, *end = doc + len; p < end && fs.n + layer.n < 256;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[512];
		if (n >= 3 && n < sizeof line && p[1] == ' ') {
			memcpy(line, p + 2, n - 2);
			line[n - 2] = 0;
			char k = p[0];
			struct xs_manifest *m = strchr("lLs", k) ? &lower : &layer;
			bool ok = strlen(line) == n - 2 && k && strchr("lLsuUS", k) &&
				  xs_path_normalize(line, norm, sizeof norm) == 0 && norm[0];
			/* an unpacked layer has each path once (deb.h) */
			for (size_t i = 0; ok && i < m->n; i++)
				ok = strcmp(m->e[i].path, norm) != 0;
			if (ok) {
				xs_grow(&m->e, &m->cap, m->n + 1, sizeof *m->e);
				struct xs_entry *e = &m->e[m->n++];
				memset(e, 0, sizeof *e);
				e->path = xs_strdup(norm);
				e->type = strchr("LU", k) ? XS_E_DIR : strchr("sS", k) ? XS_E_SYMLINK
										 : XS_E_REG;
				e->mode = e->type == XS_E_DIR ? 040755 : e->type == XS_E_SYMLINK ? 0120777
												   : 0100644;
				if (e->type == XS_E_SYMLINK)
					e->link = xs_strdup("t");
				if (e->type == XS_E_REG)
					memset(e->sha256, 'a', 64);
			}
		}
		p += n + 1;
	}
	FZ_CHECK(xs_oci_apply_layer(&fs, &lower) == 0);
	FZ_CHECK(xs_oci_apply_layer(&fs, &layer) == 0);
	FZ_CHECK(layer.n == 0 && layer.e == NULL);
	xs_oci_finish(&fs);
	for (size_t i = 0; i < fs.n; i++) {
		const char *b = strrchr(fs.e[i].path, '/');
		FZ_CHECK(strncmp(b ? b + 1 : fs.e[i].path, ".wh.", 4) != 0);
		for (size_t j = i + 1; j < fs.n; j++)
			FZ_CHECK(strcmp(fs.e[i].path, fs.e[j].path) != 0);
	}
	xs_manifest_free(&fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *doc = (const char *)data + 1;
	size_t len = size - 1;
	char err[512];
	switch (data[0] % 9) {
	case 0: {
		struct xs_oci_index ix;
		if (xs_oci_parse_index(doc, len, &ix, err, sizeof err) < 0) {
			FZ_CHECK(ix.m == NULL && ix.n == 0);
			break;
		}
		FZ_CHECK(ix.n <= XS_OCI_MAX_ENTRIES);
		for (size_t i = 0; i < ix.n; i++)
			check_desc(&ix.m[i]);
		static const char *const arches[] = { "arm64", "armhf", "amd64", "i386" };
		size_t k;
		if (xs_oci_select(&ix, arches[size % 4], &k, err, sizeof err) == 0)
			FZ_CHECK(k < ix.n && !strcmp(ix.m[k].os, "linux") &&
				 xs_oci_media_kind(ix.m[k].media_type) == XS_OCI_MANIFEST);
		xs_oci_index_free(&ix);
		break;
	}
	case 1: {
		struct xs_oci_manifest m;
		if (xs_oci_parse_manifest(doc, len, &m, err, sizeof err) < 0) {
			FZ_CHECK(m.layers == NULL && m.nlayers == 0);
			break;
		}
		check_desc(&m.config);
		FZ_CHECK(m.nlayers <= XS_OCI_MAX_ENTRIES);
		for (size_t i = 0; i < m.nlayers; i++)
			check_desc(&m.layers[i]);
		xs_oci_manifest_free(&m);
		break;
	}
	case 2: {
		struct xs_oci_config c;
		if (xs_oci_parse_config(doc, len, &c, err, sizeof err) < 0) {
			FZ_CHECK(c.diff_ids == NULL && c.ndiff == 0);
			break;
		}
		for (size_t i = 0; i < c.ndiff; i++)
			FZ_CHECK(xs_is_sha256_hex(c.diff_ids[i]));
		xs_oci_config_free(&c);
		break;
	}
	case 3:
		xs_oci_doc_kind(doc, len, NULL);
		break;
	case 4: {
		char *s = fz_str(data + 1, len);
		struct xs_oci_challenge ch;
		if (xs_oci_parse_challenge(s, &ch) == 0) {
			FZ_CHECK(ch.realm && !strncasecmp(ch.realm, "http", 4));
			xs_oci_challenge_free(&ch);
		}
		free(s);
		break;
	}
	case 5: {
		char *tok;
		int64_t ex;
		if (xs_oci_parse_token(doc, len, &tok, &ex) == 0) {
			for (const char *p = tok; *p; p++)
				FZ_CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f);
			FZ_CHECK(ex > 0);
			free(tok);
		} else {
			FZ_CHECK(tok == NULL);
		}
		break;
	}
	case 6: {
		char *a;
		if (xs_oci_docker_auth(doc, len, "127.0.0.1:5000", &a) == 0) {
			FZ_CHECK(a[0] && !a[strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
						      "rstuvwxyz0123456789+/=")]);
			free(a);
		}
		break;
	}
	case 8:
		whiteouts(doc, len);
		break;
	default: {
		char *s = fz_str(data + 1, len);
		struct xs_oci_ref r;
		if (xs_oci_parse_ref(s, &r, err, sizeof err) == 0) {
			FZ_CHECK(r.repo && r.repo[0] && (r.tag || r.digest[0]));
			FZ_CHECK(r.layout || (r.registry && r.registry[0]));
			xs_oci_ref_free(&r);
		}
		free(s);
	}
	}
	return 0;
}
