/* test-image.c - xs_image over an OCI image layout written here (no
 * network): documents by tag and by digest, two gzip layers with a
 * whiteout, a layer served from the cache, and the refusals (a tampered
 * blob, a wrong diff_id, another platform). */
#include "tap.h"
#include "testlib.h"
#include "xsysroot/image.h"
#include "xsysroot/oci.h"
#include "xsysroot/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char lay[128];
static struct xs_store *store;

/* A tar (gzip when gz) of NAME=CONTENT pairs; *raw receives the digest of
 * the uncompressed tar. */
static struct xs_buf tar_of(const char *const *files, bool gz, char raw[65])
{
	struct xs_buf out[2];
	for (int k = 0; k < 2; k++) {
		struct archive *a = archive_write_new();
		size_t cap = 1 << 20, used = 0;
		char *mem = xs_xmalloc(cap);
		archive_write_set_format_pax_restricted(a);
		archive_write_add_filter(a, k && gz ? ARCHIVE_FILTER_GZIP : ARCHIVE_FILTER_NONE);
		archive_write_set_bytes_in_last_block(a, 1);
		archive_write_open_memory(a, mem, cap, &used);
		for (size_t i = 0; files[i]; i += 2) {
			struct archive_entry *e = archive_entry_new();
			archive_entry_copy_pathname(e, files[i]);
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_size(e, (la_int64_t)strlen(files[i + 1]));
			archive_write_header(a, e);
			archive_write_data(a, files[i + 1], strlen(files[i + 1]));
			archive_entry_free(e);
		}
		archive_write_close(a);
		archive_write_free(a);
		xs_buf_init(&out[k], cap);
		xs_buf_append(&out[k], mem, used);
		free(mem);
	}
	xs_sha256_buf(out[0].data, out[0].len, raw);
	xs_buf_free(&out[0]);
	return out[1];
}

/* Write a blob; desc receives its "sha256:HEX". */
static void blob(const void *p, size_t n, char desc[72])
{
	char hex[65], path[256];
	xs_sha256_buf(p, n, hex);
	snprintf(desc, 72, "sha256:%s", hex);
	snprintf(path, sizeof path, "%s/blobs/sha256/%s", lay, hex);
	xs_write_file_atomic(path, p, n, 0644);
}

static void doc(const char *text, char desc[72])
{
	blob(text, strlen(text), desc);
}

static char man_digest[72], cfg_digest[72];
static size_t man_size;

/* The layout: tag "good" (arm64), "bad" (a wrong diff_id for layer 2). */
static void make_layout(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/blobs/sha256", lay);
	xs_mkdir_p(path, 0755);
	const char *l1[] = { "etc/keep", "k\n", "etc/gone", "g\n", NULL };
	const char *l2[] = { "etc/.wh.gone", "", "etc/new", "n\n", NULL };
	char d1[65], d2[65], b1[72], b2[72];
	struct xs_buf t1 = tar_of(l1, true, d1), t2 = tar_of(l2, true, d2);
	blob(t1.data, t1.len, b1);
	blob(t2.data, t2.len, b2);
	char text[4096], bad[4096], badcfg[72], badman[72];
	snprintf(text, sizeof text, "{\"architecture\":\"arm64\",\"os\":\"linux\",\"rootfs\":"
		 "{\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\",\"sha256:%s\"]}}", d1, d2);
	doc(text, cfg_digest);
	size_t cfg_size = strlen(text);
	snprintf(bad, sizeof bad, "{\"architecture\":\"arm64\",\"os\":\"linux\",\"rootfs\":"
		 "{\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\",\"sha256:%s\"]}}", d1, d1);
	doc(bad, badcfg);
	const char *mt = "application/vnd.oci.image.layer.v1.tar+gzip";
	for (int k = 0; k < 2; k++) {
		snprintf(text, sizeof text,
			 "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
			 "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
			 "\"digest\":\"%s\",\"size\":%zu},\"layers\":["
			 "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},"
			 "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
			 k ? badcfg : cfg_digest, k ? strlen(bad) : cfg_size, mt, b1, t1.len, mt, b2,
			 t2.len);
		doc(text, k ? badman : man_digest);
		if (!k)
			man_size = strlen(text);
	}
	/* the bad manifest's size, from its file */
	struct xs_buf b;
	snprintf(path, sizeof path, "%s/blobs/sha256/%s", lay, badman + 7);
	xs_read_file(path, 1 << 20, &b);
	snprintf(text, sizeof text,
		 "{\"schemaVersion\":2,\"manifests\":["
		 "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\","
		 "\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"good\"}},"
		 "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\","
		 "\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"bad\"}}]}",
		 man_digest, man_size, badman, b.len);
	xs_buf_free(&b);
	snprintf(path, sizeof path, "%s/index.json", lay);
	xs_write_file_atomic(path, text, strlen(text), 0644);
	xs_buf_free(&t1);
	xs_buf_free(&t2);
}

static const struct xs_entry *get(const struct xs_manifest *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].path, path))
			return &m->e[i];
	return NULL;
}

static int open_ref(const char *tag, const char *arch, struct xs_image **im, char *err,
		    size_t errsz)
{
	char ref[256];
	snprintf(ref, sizeof ref, "oci:%s%s%s", lay, tag[0] == '@' ? "" : ":", tag);
	struct xs_image_config c = { .ref = ref, .arch = arch };
	return xs_image_open(store, &c, im, err, errsz);
}

int main(void)
{
	snprintf(lay, sizeof lay, "%s", tl_path("layout"));
	if (tl_store_open("store", &store) < 0)
		return 1;
	make_layout();

	struct xs_image *im = NULL;
	char err[1024] = "";
	CHECK_INT(open_ref("good", "arm64", &im, err, sizeof err), 0, "open by tag (%s)", err);
	if (!im)
		return tap_done();
	CHECK_STR(xs_image_digest(im), man_digest, "the manifest's digest");
	CHECK_INT(xs_image_nlayers(im), 2, "two layers");
	struct xs_manifest fs;
	size_t fetched = 99;
	uint64_t bytes = 0;
	CHECK_INT(xs_image_layers(im, &fs, &fetched, &bytes, err, sizeof err), 0,
		  "layers (%s)", err);
	CHECK(fetched == 2 && bytes > 0, "both read (%zu, %llu bytes)", fetched,
	      (unsigned long long)bytes);
	CHECK(get(&fs, "etc/keep") && get(&fs, "etc/new") && !get(&fs, "etc/gone") &&
	      !get(&fs, "etc/.wh.gone"), "whiteout applied, no whiteout entry");
	xs_manifest_free(&fs);
	xs_image_free(im);

	char by[80];
	snprintf(by, sizeof by, "@%s", man_digest);
	CHECK_INT(open_ref(by, "arm64", &im, err, sizeof err), 0, "open by digest (%s)", err);
	CHECK(xs_image_layers(im, &fs, &fetched, &bytes, err, sizeof err) == 0 && fetched == 0,
	      "a second time, every layer comes from the cache (%zu read)", fetched);
	xs_manifest_free(&fs);
	xs_image_free(im);

	CHECK_INT(open_ref("good", "armhf", &im, err, sizeof err), -ENOENT, "not for armhf");
	CHECK(strstr(err, "linux/arm64") != NULL, "the error names the image's platform: %s", err);
	CHECK_INT(open_ref("nosuch", "arm64", &im, err, sizeof err), -ENOENT, "unknown tag: %s",
		  err);

	CHECK_INT(open_ref("bad", "arm64", &im, err, sizeof err), 0, "open the bad image");
	if (im) {
		CHECK(xs_image_layers(im, &fs, NULL, NULL, err, sizeof err) == -EBADMSG &&
		      strstr(err, "diff_id mismatch") && strstr(err, "layer 2/2"),
		      "a wrong diff_id is refused even with the layer in the cache under its own: %s", err);
		xs_image_free(im);
	}

	/* tamper with the config blob: the digest check refuses it */
	char path[256];
	snprintf(path, sizeof path, "%s/blobs/sha256/%s", lay, cfg_digest + 7);
	struct xs_buf b;
	xs_read_file(path, 1 << 20, &b);
	b.data[b.len - 3] ^= 1;
	xs_write_file_atomic(path, b.data, b.len, 0644);
	xs_buf_free(&b);
	CHECK(open_ref("good", "arm64", &im, err, sizeof err) == -EBADMSG &&
	      strstr(err, "digest mismatch for the config"), "a tampered config is refused: %s",
	      err);

	xs_store_close(store);
	return tap_done();
}
