/* test-oci.c - the image documents, platform selection, references,
 * whiteouts and authentication documents (oci.h). */
#include "tap.h"
#include "xsysroot/oci.h"
#include "xsysroot/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char index_doc[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\","
	"\"manifests\":["
	"{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" D1 "\","
	"\"size\":500,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
	"{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" D2 "\","
	"\"size\":501,\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v5\"}},"
	"{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" D3 "\","
	"\"size\":502,\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1 "\","
	"\"size\":503,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"},"
	"\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}";

static const char manifest_doc[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1 "\",\"size\":10},"
	"\"layers\":["
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2 "\",\"size\":20},"
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D3 "\",\"size\":30},"
	"{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"" D1 "\",\"size\":0}]}";

static const char config_doc[] =
	"{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\",\"config\":{},"
	"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D2 "\",\"" D3 "\"]}}";

static void test_docs(void)
{
	CHECK_INT(xs_oci_doc_kind(index_doc, strlen(index_doc), NULL), XS_OCI_INDEX, "index kind");
	CHECK_INT(xs_oci_doc_kind(manifest_doc, strlen(manifest_doc), NULL), XS_OCI_MANIFEST,
		  "manifest kind");
	CHECK_INT(xs_oci_doc_kind("{\"manifests\":[]}", 16, NULL), XS_OCI_INDEX,
		  "kind from the shape");
	CHECK_INT(xs_oci_doc_kind("{}", 2, "application/vnd.oci.image.manifest.v1+json; x=y"),
		  XS_OCI_MANIFEST, "kind from the Content-Type");
	CHECK_INT(xs_oci_doc_kind("[1]", 3, NULL), XS_OCI_UNKNOWN, "an array is no document");

	struct xs_oci_index ix;
	char err[512] = "";
	CHECK_INT(xs_oci_parse_index(index_doc, strlen(index_doc), &ix, err, sizeof err), 0,
		  "index parses (%s)", err);
	CHECK_INT(ix.n, 4, "4 entries");
	CHECK(ix.m[2].size == 502 && !strcmp(ix.m[2].variant, "v7"), "entry fields");
	CHECK_STR(ix.m[3].ref_name, "v1", "ref.name annotation");
	size_t i = 99;
	CHECK(xs_oci_select(&ix, "armhf", &i, err, sizeof err) == 0 && i == 2, "armhf -> arm/v7");
	CHECK(xs_oci_select(&ix, "armel", &i, err, sizeof err) == 0 && i == 1, "armel -> arm/v5");
	CHECK(xs_oci_select(&ix, "arm64", &i, err, sizeof err) == 0 && i == 3,
	      "arm64 -> arm64 without a variant");
	CHECK(xs_oci_select(&ix, "amd64", &i, err, sizeof err) == 0 && i == 0, "amd64");
	CHECK_INT(xs_oci_select(&ix, "s390x", &i, err, sizeof err), -ENOENT, "no s390x");
	CHECK(strstr(err, "linux/s390x") && strstr(err, "linux/amd64, linux/arm/v5, linux/arm/v7, "
						  "linux/arm64"),
	      "the error lists the platforms: %s", err);
	xs_oci_index_free(&ix);

	struct xs_oci_manifest m;
	CHECK_INT(xs_oci_parse_manifest(manifest_doc, strlen(manifest_doc), &m, err, sizeof err), 0,
		  "manifest parses (%s)", err);
	CHECK(m.nlayers == 3 && m.config.size == 10 && !strcmp(m.layers[1].digest, D3),
	      "manifest fields");
	CHECK_INT(xs_oci_media_kind(m.layers[2].media_type), XS_OCI_LAYER_GZIP,
		  "Docker layer type is gzip");
	xs_oci_manifest_free(&m);

	struct xs_oci_config c;
	CHECK_INT(xs_oci_parse_config(config_doc, strlen(config_doc), &c, err, sizeof err), 0,
		  "config parses (%s)", err);
	CHECK(c.ndiff == 2 && !strcmp(c.diff_ids[1], &D3[7]) && !strcmp(c.arch, "arm64"),
	      "config fields");
	xs_oci_config_free(&c);

	static const char *const bad[] = {
		/* bad digests, sizes, schema, layer types, trailing garbage */
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"sha512:11\",\"size\":1},\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}",
		"{\"schemaVersion\":1,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"mediaType\":\"application/x-foo\","
		"\"digest\":\"" D1 "\",\"size\":1}]}",
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]} x",
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
		"\"size\":1},\"layers\":[]}",
	};
	for (size_t k = 0; k < XS_ARRAY_SIZE(bad); k++) {
		err[0] = 0;
		CHECK(xs_oci_parse_manifest(bad[k], strlen(bad[k]), &m, err, sizeof err) == -EBADMSG &&
		      m.layers == NULL && err[0], "bad manifest %zu refused: %s", k, err);
	}
	const char *badcfg = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:12\"]}}";
	CHECK_INT(xs_oci_parse_config(badcfg, strlen(badcfg), &c, err, sizeof err), -EBADMSG,
		  "a short diff_id is refused");
}

static void test_refs(void)
{
	struct xs_oci_ref r;
	char err[256];
	CHECK(xs_oci_parse_ref("debian:bookworm", &r, err, sizeof err) == 0 &&
	      !strcmp(r.registry, "registry-1.docker.io") && !strcmp(r.repo, "library/debian") &&
	      !strcmp(r.tag, "bookworm") && !r.layout, "Docker Hub short name");
	xs_oci_ref_free(&r);
	CHECK(xs_oci_parse_ref("127.0.0.1:5000/xs/hello@" D1, &r, err, sizeof err) == 0 &&
	      !strcmp(r.registry, "127.0.0.1:5000") && !strcmp(r.repo, "xs/hello") && !r.tag &&
	      !strcmp(r.digest, D1), "registry with port, by digest");
	xs_oci_ref_free(&r);
	CHECK(xs_oci_parse_ref("localhost/a/b", &r, err, sizeof err) == 0 &&
	      !strcmp(r.registry, "localhost") && !strcmp(r.tag, "latest"), "localhost, latest");
	xs_oci_ref_free(&r);
	CHECK(xs_oci_parse_ref("oci:/tmp/x:y/lay:v1", &r, err, sizeof err) == 0 && r.layout &&
	      !strcmp(r.repo, "/tmp/x:y/lay") && !strcmp(r.tag, "v1"), "oci: layout with a tag");
	xs_oci_ref_free(&r);
	CHECK(xs_oci_parse_ref("oci:/a/lay@" D2, &r, err, sizeof err) == 0 && r.layout &&
	      !strcmp(r.repo, "/a/lay") && !r.tag && !strcmp(r.digest, D2), "oci: layout by digest");
	xs_oci_ref_free(&r);
	CHECK(xs_oci_parse_ref("oci:lay:t@" D2, &r, err, sizeof err) == 0 && !strcmp(r.repo, "lay") &&
	      !strcmp(r.tag, "t") && !strcmp(r.digest, D2), "oci: layout with a tag and a digest");
	xs_oci_ref_free(&r);
	CHECK_INT(xs_oci_parse_ref("oci:lay@sha256:12", &r, err, sizeof err), -EBADMSG,
		  "oci: layout with a bad digest");
	CHECK_INT(xs_oci_parse_ref("oci::t", &r, err, sizeof err), -EBADMSG, "oci: without a DIR");
	CHECK(xs_oci_parse_ref("oci:lay", &r, err, sizeof err) == 0 && !strcmp(r.repo, "lay") &&
	      !strcmp(r.tag, "latest"), "oci: layout, latest");
	xs_oci_ref_free(&r);
	static const char *const bad[] = { "", "Upper/Case", "host/a//b", "host/a:", "a b",
					   "host/x@sha256:12", "host/../x" };
	for (size_t k = 0; k < XS_ARRAY_SIZE(bad); k++)
		CHECK_INT(xs_oci_parse_ref(bad[k], &r, err, sizeof err), -EBADMSG,
			  "bad reference '%s' refused", bad[k]);
}

static void add(struct xs_manifest *m, int type, const char *path, const char *data)
{
	xs_grow(&m->e, &m->cap, m->n + 1, sizeof *m->e);
	struct xs_entry *e = &m->e[m->n++];
	memset(e, 0, sizeof *e);
	e->type = type;
	e->path = xs_strdup(path);
	e->mode = type == XS_E_DIR ? S_IFDIR | 0755 : type == XS_E_SYMLINK ? S_IFLNK | 0777
										: S_IFREG | 0644;
	if (type == XS_E_REG || type == XS_E_HARDLINK)
		xs_sha256_buf(data, strlen(data), e->sha256);
	if (type == XS_E_SYMLINK || type == XS_E_HARDLINK)
		e->link = xs_strdup(type == XS_E_HARDLINK ? "a/hard" : data);
}

static const struct xs_entry *get(const struct xs_manifest *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].path, path))
			return &m->e[i];
	return NULL;
}

static void test_whiteouts(void)
{
	struct xs_manifest fs = { 0 }, l = { 0 };
	add(&fs, XS_E_DIR, "a", NULL);
	add(&fs, XS_E_REG, "a/x", "x");
	add(&fs, XS_E_REG, "a/hard", "h");
	add(&fs, XS_E_HARDLINK, "a/hard2", "h");
	add(&fs, XS_E_DIR, "opq", NULL);
	add(&fs, XS_E_REG, "opq/old", "o");
	add(&fs, XS_E_DIR, "opq/sub", NULL);
	add(&fs, XS_E_REG, "opq/sub/deep", "d");
	add(&fs, XS_E_DIR, "gone", NULL);
	add(&fs, XS_E_REG, "gone/f", "f");
	add(&fs, XS_E_REG, "gonex", "neighbour");
	add(&fs, XS_E_DIR, "tofile", NULL);
	add(&fs, XS_E_REG, "tofile/in", "i");
	add(&fs, XS_E_REG, "keep", "k");

	add(&l, XS_E_REG, "a/.wh.hard", "");
	add(&l, XS_E_REG, "opq/.wh..wh..opq", "");
	add(&l, XS_E_REG, "opq/new", "n");
	add(&l, XS_E_REG, ".wh.gone", "");
	add(&l, XS_E_SYMLINK, "tofile", "elsewhere");
	add(&l, XS_E_REG, "a/x", "x2");
	add(&l, XS_E_REG, ".wh..wh.plnk", "");
	CHECK_INT(xs_oci_apply_layer(&fs, &l), 0, "layer applied");
	xs_oci_finish(&fs);
	CHECK(!get(&fs, "a/hard"), "a whiteout removes a file");
	const struct xs_entry *h2 = get(&fs, "a/hard2");
	CHECK(h2 && h2->type == XS_E_REG && !h2->link,
	      "a hardlink whose target went keeps its content as a file");
	CHECK(get(&fs, "opq") && !get(&fs, "opq/old") && !get(&fs, "opq/sub") &&
	      !get(&fs, "opq/sub/deep") && get(&fs, "opq/new"),
	      "an opaque whiteout empties the directory below, the layer's entries stay");
	CHECK(!get(&fs, "gone") && !get(&fs, "gone/f") && get(&fs, "gonex"),
	      "a whiteout removes a directory and its contents, not a neighbour by prefix");
	const struct xs_entry *t = get(&fs, "tofile");
	CHECK(t && t->type == XS_E_SYMLINK && !get(&fs, "tofile/in"),
	      "a non-directory replacing a directory removes what was below it");
	char want[65];
	xs_sha256_buf("x2", 2, want);
	CHECK(get(&fs, "a/x") && !strcmp(get(&fs, "a/x")->sha256, want) && get(&fs, "a"),
	      "an upper file replaces a lower one; the directory stays");
	bool wh = false;
	for (size_t i = 0; i < fs.n; i++)
		wh = wh || strstr(fs.e[i].path, ".wh.");
	CHECK(!wh && get(&fs, "keep"), "no whiteout entry reaches the file system");
	xs_manifest_free(&fs);
}

static void test_auth(void)
{
	struct xs_oci_challenge c;
	CHECK(xs_oci_parse_challenge("Bearer realm=\"https://auth.example/token\",service="
				     "\"registry.example\",scope=\"repository:a/b:pull\"", &c) == 0 &&
	      !strcmp(c.realm, "https://auth.example/token") && !strcmp(c.service, "registry.example") &&
	      !strcmp(c.scope, "repository:a/b:pull"), "Bearer challenge");
	xs_oci_challenge_free(&c);
	CHECK_INT(xs_oci_parse_challenge("Basic realm=\"x\"", &c), -ENOENT, "Basic is no Bearer");
	CHECK_INT(xs_oci_parse_challenge("Bearer realm=\"unterminated", &c), -EBADMSG,
		  "unterminated quote");
	CHECK_INT(xs_oci_parse_challenge("Bearer service=\"x\"", &c), -EBADMSG, "no realm");
	CHECK_INT(xs_oci_parse_challenge("Bearer realm=\"file:///etc/passwd\"", &c), -EBADMSG,
		  "a realm that is no http(s) URL");

	char *tok;
	int64_t ex;
	const char *t1 = "{\"token\":\"abc.def\",\"expires_in\":300}";
	CHECK(xs_oci_parse_token(t1, strlen(t1), &tok, &ex) == 0 && !strcmp(tok, "abc.def") &&
	      ex == 300, "token with expiry");
	free(tok);
	const char *t2 = "{\"access_token\":\"zz\"}";
	CHECK(xs_oci_parse_token(t2, strlen(t2), &tok, &ex) == 0 && !strcmp(tok, "zz") && ex == 60,
	      "access_token, default expiry 60 s");
	free(tok);
	const char *t3 = "{\"token\":\"a\\nb\"}";
	CHECK_INT(xs_oci_parse_token(t3, strlen(t3), &tok, &ex), -EBADMSG,
		  "a token with a line break is refused (header injection)");

	const char *cfg = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1Yg==\"},"
			  "\"127.0.0.1:5000\":{\"auth\":\"eHM6c2VjcmV0\"}}}";
	char *a;
	CHECK(xs_oci_docker_auth(cfg, strlen(cfg), "127.0.0.1:5000", &a) == 0 &&
	      !strcmp(a, "eHM6c2VjcmV0"), "config.json entry by host:port");
	free(a);
	CHECK(xs_oci_docker_auth(cfg, strlen(cfg), "registry-1.docker.io", &a) == 0 &&
	      !strcmp(a, "aHViOmh1Yg=="), "Docker Hub's entry");
	free(a);
	CHECK_INT(xs_oci_docker_auth(cfg, strlen(cfg), "127.0.0.1:5001", &a), -ENOENT,
		  "no entry for another port");
	const char *evil = "{\"auths\":{\"h\":{\"auth\":\"eHM6\\r\\nX-Evil: 1\"}}}";
	CHECK_INT(xs_oci_docker_auth(evil, strlen(evil), "h", &a), -ENOENT,
		  "an auth that is no base64 is ignored (header injection)");
}

int main(void)
{
	test_docs();
	test_refs();
	test_whiteouts();
	test_auth();
	return tap_done();
}
