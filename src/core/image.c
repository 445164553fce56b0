/* image.c - see include/xsysroot/image.h.
 *
 * One function fetches a document or a blob, from the layout directory or
 * the registry (get_blob), into a sink; everything above it is the same for
 * both.  The registry side adds the authentication dance around
 * xs_http_get_req: a 401 with a challenge is answered once (a token, or
 * Basic credentials) and the request tried again.
 */
#include "xsysroot/image.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xsysroot/arch.h"
#include "xsysroot/cachefiles.h"
#include "xsysroot/http.h"
#include "xsysroot/identity.h"
#include "xsysroot/oci.h"
#include "xsysroot/util.h"

#define MAX_LAYER (8ull << 30)	   /* compressed bytes of one layer */
#define MAX_AUTH_FILE (1u << 20)
#define MAX_LAYER_MANIFEST (256u << 20)
#define MAX_PARALLEL 4		   /* layers fetched at once */
#define TOKEN_SLACK_S 10	   /* a token this close to its expiry is renewed */

struct xs_image {
	struct xs_store *store;
	struct xs_oci_ref ref;
	char *ref_text, *describe;
	char *base;	 /* registry: "SCHEME://HOST/v2/REPO/" */
	char platform[64];
	const struct xs_progress *progress;
	bool plain_http;
	int fetch_timeout_s;
	void (*log)(int, const char *, void *);
	void *log_ud;
	struct xs_http *http_doc, *http_blob;
	char *basic;	 /* base64 "user:password", or NULL */
	/* auth_lock guards token, token_expiry and use_basic */
	pthread_mutex_t auth_lock;
	bool use_basic; /* the registry asked for Basic: send it from the start */
	char *token;
	int64_t token_expiry;
	char digest[XS_OCI_DIGEST_LEN + 1]; /* of the manifest */
	struct xs_oci_manifest man;
	struct xs_oci_config conf;
};

#define logf_(o, level, ...) xs_logf((o)->log, (o)->log_ud, level, __VA_ARGS__)

#define FAIL XS_FAIL

static int64_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* ---- sinks ----------------------------------------------------------- */

static int sink_txn_write(const void *p, size_t n, void *ud)
{
	return xs_txn_write(ud, p, n);
}
static int sink_txn_reset(void *ud)
{
	return xs_txn_reset(ud);
}

/* ---- credentials ------------------------------------------------------ */

static char *base64(const char *s)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s);
	char *out = xs_xmalloc(4 * ((n + 2) / 3) + 1), *o = out;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*o = 0;
	return out;
}

static int load_creds(struct xs_image *im, const struct xs_image_config *cfg, char *err,
		      size_t errsz)
{
	if (cfg->creds) {
		if (!strchr(cfg->creds, ':'))
			FAIL(-EINVAL, "--creds: expected USER:PASSWORD");
		im->basic = base64(cfg->creds);
		return 0;
	}
	char path[4096];
	const char *dc = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	if (cfg->auth_file)
		snprintf(path, sizeof path, "%s", cfg->auth_file);
	else if (dc && *dc)
		snprintf(path, sizeof path, "%s/config.json", dc);
	else if (home && *home)
		snprintf(path, sizeof path, "%s/.docker/config.json", home);
	else
		return 0;
	struct xs_buf b;
	int q = xs_read_file(path, MAX_AUTH_FILE, &b);
	if (q == -ENOENT && !cfg->auth_file)
		return 0;
	if (q < 0)
		FAIL(q, "cannot read the registry credentials %s: %s", path, strerror(-q));
	q = xs_oci_docker_auth(b.data, b.len, im->ref.registry, &im->basic);
	xs_buf_free(&b);
	if (q == -EBADMSG)
		FAIL(q, "%s: not a Docker config.json", path);
	return 0;
}

/* ---- the registry -------------------------------------------------------- */

static bool loopback(const char *hostport)
{
	char host[256];
	if (hostport[0] == '[') {
		size_t n = strcspn(hostport + 1, "]");
		snprintf(host, sizeof host, "%.*s", (int)n, hostport + 1);
	} else {
		snprintf(host, sizeof host, "%.*s", (int)strcspn(hostport, ":/"), hostport);
	}
	return !strcmp(host, "localhost") || !strcmp(host, "::1") || !strncmp(host, "127.", 4);
}

static void url_escape(struct xs_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c))
			xs_buf_append(b, s, 1);
		else
			xs_buf_printf(b, "%%%02X", c);
	}
}

/* Answer a Bearer challenge: a token from its realm. */
static int fetch_token(struct xs_image *im, const char *challenge, char *err, size_t errsz)
{
	struct xs_oci_challenge ch;
	int q = xs_oci_parse_challenge(challenge, &ch);
	if (q < 0)
		FAIL(-EACCES, "%s: the registry asks for authentication that is not supported: '%.200s'",
		     im->ref_text, challenge);
	struct xs_buf url;
	xs_buf_init(&url, 16384);
	xs_buf_printf(&url, "%s%s", ch.realm, strchr(ch.realm, '?') ? "&" : "?");
	bool amp = false;
	if (ch.service) {
		xs_buf_printf(&url, "service=");
		url_escape(&url, ch.service);
		amp = true;
	}
	xs_buf_printf(&url, "%sscope=", amp ? "&" : "");
	if (ch.scope) {
		url_escape(&url, ch.scope);
	} else {
		struct xs_buf sc;
		xs_buf_init(&sc, 8192);
		xs_buf_printf(&sc, "repository:%s:pull", im->ref.repo);
		url_escape(&url, sc.data);
		xs_buf_free(&sc);
	}
	char auth[2048];
	const char *hdrs[2] = { NULL, NULL };
	if (im->basic && !strncasecmp(ch.realm, "http://", 7) && !im->plain_http &&
	    !loopback(ch.realm + 7)) {
		snprintf(err, errsz, "%s: the token server %s is plain http: credentials are not "
			 "sent there (--plain-http allows it)", im->ref_text, ch.realm);
		xs_buf_free(&url);
		xs_oci_challenge_free(&ch);
		return -EACCES;
	}
	if (im->basic) {
		snprintf(auth, sizeof auth, "Authorization: Basic %s", im->basic);
		hdrs[0] = auth;
	}
	struct xs_http_req req = { .headers = hdrs };
	struct xs_buf body;
	xs_buf_init(&body, 1 << 20);
	struct xs_http_sink sink = xs_http_sink_buf(&body);
	char herr[1024] = "";
	q = xs_http_get_req(im->http_doc, url.data, 1 << 20, &sink, "token", &req, NULL, herr,
			    sizeof herr);
	char *token = NULL;
	int64_t expires = 0;
	if (q == 0 && xs_oci_parse_token(body.data, body.len, &token, &expires) < 0)
		q = -EBADMSG;
	if (q < 0) {
		snprintf(err, errsz, "%s: cannot get a token from %s: %s", im->ref_text, ch.realm,
			 q == -EBADMSG ? "the reply holds no token" : herr);
	} else {
		pthread_mutex_lock(&im->auth_lock);
		free(im->token);
		im->token = token;
		im->token_expiry = now_s() + expires;
		pthread_mutex_unlock(&im->auth_lock);
		logf_(im, 7, "token from %s for %s, valid %lld s", ch.realm, im->ref.repo,
		      (long long)expires);
	}
	xs_buf_free(&body);
	xs_buf_free(&url);
	xs_oci_challenge_free(&ch);
	return q < 0 ? (q == -EBADMSG ? -EACCES : q) : 0;
}

/* GET path (below the repository's base) with the Accept header accept
 * (may be NULL), authenticating as the registry asks. */
static int registry_get(struct xs_image *im, struct xs_http *h, const char *path,
			const char *accept, uint64_t max, const struct xs_http_sink *sink,
			const char *label, struct xs_http_req *req, uint64_t *bytes, char *err,
			size_t errsz)
{
	struct xs_buf url;
	xs_buf_init(&url, 16384);
	xs_buf_printf(&url, "%s%s", im->base, path);
	int q = 0;
	bool answered = false, basic_tried = false;
	for (int round = 0; round < 3; round++) {
		char acc[512], auth[70000];
		const char *hdrs[3] = { NULL, NULL, NULL };
		size_t nh = 0;
		if (accept) {
			snprintf(acc, sizeof acc, "Accept: %s", accept);
			hdrs[nh++] = acc;
		}
		pthread_mutex_lock(&im->auth_lock);
		basic_tried = basic_tried || im->use_basic;
		bool have_token = im->token != NULL;
		if (have_token && now_s() + TOKEN_SLACK_S >= im->token_expiry && !answered) {
			/* expired: ask again without it, the challenge says where */
			free(im->token);
			im->token = NULL;
			have_token = false;
		}
		if (have_token)
			snprintf(auth, sizeof auth, "Authorization: Bearer %s", im->token);
		else if (basic_tried && im->basic)
			snprintf(auth, sizeof auth, "Authorization: Basic %s", im->basic);
		else
			auth[0] = 0;
		pthread_mutex_unlock(&im->auth_lock);
		if (auth[0])
			hdrs[nh++] = auth;
		req->headers = hdrs;
		struct xs_http_stats st = { 0 };
		char herr[1024] = "";
		q = xs_http_get_req(h, url.data, max, sink, label, req, &st, herr, sizeof herr);
		if (bytes)
			*bytes += st.bytes;
		if (q == 0)
			break;
		if (req->status == 401 && !answered && req->www_authenticate[0]) {
			answered = true;
			if (!strncasecmp(req->www_authenticate, "Basic", 5)) {
				if (!im->basic) {
					snprintf(err, errsz, "%s: %s asks for credentials: pass --creds "
						 "or log in (docker login) first", im->ref_text,
						 im->ref.registry);
					q = -EACCES;
					break;
				}
				basic_tried = true;
				pthread_mutex_lock(&im->auth_lock);
				im->use_basic = true;
				pthread_mutex_unlock(&im->auth_lock);
				continue;
			}
			char chal[sizeof req->www_authenticate];
			snprintf(chal, sizeof chal, "%s", req->www_authenticate);
			q = fetch_token(im, chal, err, errsz);
			if (q < 0) {
				xs_buf_free(&url);
				return q;
			}
			if (sink->reset)
				sink->reset(sink->ud);
			continue;
		}
		if (req->status == 401)
			snprintf(err, errsz, "%s: the registry refused the %s (expired or not "
				 "allowed): %s", im->ref_text,
				 have_token ? "token it issued" : "credentials", herr);
		else
			snprintf(err, errsz, "%s", herr);
		break;
	}
	xs_buf_free(&url);
	return q;
}

/* ---- documents and blobs ---------------------------------------------- */

/* A blob (or, with is_manifest, a manifest by tag or digest) into sink:
 * from the layout directory or the registry.  ctype receives the
 * Content-Type and digest the Docker-Content-Digest (registry only). */
static int get_blob(struct xs_image *im, bool is_manifest, const char *name, uint64_t max,
		    const struct xs_http_sink *sink, const char *label, char *ctype, size_t ctsz,
		    char *digest, size_t dgsz, uint64_t *bytes, char *err, size_t errsz)
{
	if (ctype)
		ctype[0] = 0;
	if (digest)
		digest[0] = 0;
	if (im->ref.layout) {
		const char *hex = xs_oci_digest_hex(name);
		if (!hex)
			FAIL(-EINVAL, "%s: '%s' is no digest", im->ref_text, name);
		struct xs_buf p;
		xs_buf_init(&p, 16384);
		xs_buf_printf(&p, "%s/blobs/sha256/%s", im->ref.repo, hex);
		int fd = open(p.data, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int e = -errno;
			snprintf(err, errsz, "%s: %s: %s", im->ref_text, p.data, strerror(errno));
			xs_buf_free(&p);
			return e;
		}
		char buf[65536];
		uint64_t total = 0;
		int q = 0;
		for (;;) {
			ssize_t n = read(fd, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				q = n < 0 ? -errno : 0;
				break;
			}
			total += (uint64_t)n;
			if (total > max) {
				q = -EFBIG;
				break;
			}
			q = sink->write(buf, (size_t)n, sink->ud);
			if (q < 0)
				break;
		}
		close(fd);
		if (bytes)
			*bytes += total;
		if (q < 0)
			snprintf(err, errsz, "%s: %s: %s", im->ref_text, p.data,
				 q == -EFBIG ? "larger than expected" : strerror(-q));
		xs_buf_free(&p);
		return q;
	}
	struct xs_buf path;
	xs_buf_init(&path, 16384);
	xs_buf_printf(&path, "%s/%s", is_manifest ? "manifests" : "blobs", name);
	struct xs_http_req req = { 0 };
	int q = registry_get(im, is_manifest ? im->http_doc : im->http_blob, path.data,
			     is_manifest ? xs_oci_accept : NULL, max, sink, label, &req, bytes, err,
			     errsz);
	xs_buf_free(&path);
	if (ctype)
		snprintf(ctype, ctsz, "%s", req.content_type);
	if (digest)
		snprintf(digest, dgsz, "%s", req.content_digest);
	return q;
}

/* A document (index, manifest, config) into out, checked against digest
 * (may be "" for a manifest by tag: then against what the registry says,
 * and *got receives the digest of the bytes). */
static int get_doc(struct xs_image *im, bool is_manifest, const char *name, const char *digest,
		   int64_t size, struct xs_buf *out, char *ctype, size_t ctsz,
		   char got[XS_OCI_DIGEST_LEN + 1], const char *what, char *err, size_t errsz)
{
	xs_buf_init(out, XS_OCI_MAX_DOC);
	struct xs_http_sink sink = xs_http_sink_buf(out);
	char claimed[96] = "";
	uint64_t max = size >= 0 ? (uint64_t)size : XS_OCI_MAX_DOC;
	if (max > XS_OCI_MAX_DOC)
		FAIL(-EFBIG, "%s: the %s %s is larger than %u bytes", im->ref_text, what, name,
		     XS_OCI_MAX_DOC);
	int q = get_blob(im, is_manifest, name, max, &sink, what, ctype, ctsz, claimed,
			 sizeof claimed, NULL, err, errsz);
	if (q < 0) {
		if (q == -EFBIG && size >= 0)
			FAIL(-EBADMSG, "%s: the %s %s is larger than its size %lld", im->ref_text,
			     what, name, (long long)size);
		xs_buf_free(out);
		return q;
	}
	char hex[65];
	xs_sha256_buf(out->data ? out->data : "", out->len, hex);
	snprintf(got, XS_OCI_DIGEST_LEN + 1, "sha256:%s", hex);
	const char *want = digest && *digest ? digest : claimed[0] ? claimed : NULL;
	if (want && strcmp(want, got)) {
		xs_buf_free(out);
		FAIL(-EBADMSG, "%s: digest mismatch for the %s %s: expected %s, received %s",
		     im->ref_text, what, name, want, got);
	}
	if (size >= 0 && out->len != (uint64_t)size) {
		xs_buf_free(out);
		FAIL(-EBADMSG, "%s: size mismatch for the %s %s: expected %lld bytes, received %zu",
		     im->ref_text, what, name, (long long)size, out->len);
	}
	return 0;
}

/* The layout's index.json entry for the tag (or digest). */
static int layout_entry(struct xs_image *im, struct xs_oci_desc *out, char *err, size_t errsz)
{
	struct xs_buf p, b;
	xs_buf_init(&p, 16384);
	xs_buf_printf(&p, "%s/index.json", im->ref.repo);
	int q = xs_read_file(p.data, XS_OCI_MAX_DOC, &b);
	if (q < 0) {
		snprintf(err, errsz, "%s: cannot read %s: %s", im->ref_text, p.data, strerror(-q));
		xs_buf_free(&p);
		return q;
	}
	struct xs_oci_index ix;
	char perr[512] = "";
	q = xs_oci_parse_index(b.data, b.len, &ix, perr, sizeof perr);
	xs_buf_free(&b);
	if (q < 0) {
		snprintf(err, errsz, "%s: %s: %s", im->ref_text, p.data, perr);
		xs_buf_free(&p);
		return q;
	}
	q = -ENOENT;
	for (size_t i = 0; i < ix.n && q < 0; i++) {
		const struct xs_oci_desc *d = &ix.m[i];
		bool match = im->ref.digest[0] ? !strcmp(d->digest, im->ref.digest)
					       : d->ref_name && !strcmp(d->ref_name, im->ref.tag);
		if (match) {
			*out = *d;
			memset(&ix.m[i], 0, sizeof ix.m[i]);
			q = 0;
		}
	}
	if (q < 0)
		snprintf(err, errsz, "%s: %s names no image '%s'", im->ref_text, p.data,
			 im->ref.digest[0] ? im->ref.digest : im->ref.tag);
	xs_oci_index_free(&ix);
	xs_buf_free(&p);
	return q;
}

static int open_docs(struct xs_image *im, const char *arch, char *err, size_t errsz)
{
	/* the top document: by tag or digest */
	struct xs_oci_desc top = { 0 };
	char name[512];
	int64_t size = -1;
	int q;
	if (im->ref.layout && im->ref.digest[0]) {
		/* any document of the layout, by digest (checked as read) */
		snprintf(name, sizeof name, "%s", im->ref.digest);
	} else if (im->ref.layout) {
		q = layout_entry(im, &top, err, errsz);
		if (q < 0)
			return q;
		snprintf(name, sizeof name, "%s", top.digest);
		size = (int64_t)top.size;
	} else {
		snprintf(name, sizeof name, "%s", im->ref.digest[0] ? im->ref.digest : im->ref.tag);
	}
	struct xs_buf doc;
	char ctype[256], got[XS_OCI_DIGEST_LEN + 1];
	q = get_doc(im, true, name, top.digest[0] ? top.digest : im->ref.digest, size, &doc, ctype,
		    sizeof ctype, got, "manifest", err, errsz);
	enum xs_oci_kind kind = XS_OCI_UNKNOWN;
	if (q == 0)
		kind = xs_oci_doc_kind(doc.data, doc.len, top.media_type ? top.media_type : ctype);
	free(top.media_type), free(top.os), free(top.arch), free(top.variant), free(top.ref_name);
	if (q < 0)
		return q;
	char perr[1024] = "";
	if (kind == XS_OCI_INDEX) {
		struct xs_oci_index ix;
		q = xs_oci_parse_index(doc.data, doc.len, &ix, perr, sizeof perr);
		xs_buf_free(&doc);
		if (q < 0)
			FAIL(q, "%s: %s", im->ref_text, perr);
		size_t i;
		q = xs_oci_select(&ix, arch, &i, perr, sizeof perr);
		if (q < 0) {
			xs_oci_index_free(&ix);
			FAIL(q, "%s: %s", im->ref_text, perr);
		}
		char dg[XS_OCI_DIGEST_LEN + 1];
		snprintf(dg, sizeof dg, "%s", ix.m[i].digest);
		size = (int64_t)ix.m[i].size;
		snprintf(im->platform, sizeof im->platform, "linux/%s%s%s", ix.m[i].arch,
			 ix.m[i].variant ? "/" : "", ix.m[i].variant ? ix.m[i].variant : "");
		xs_oci_index_free(&ix);
		q = get_doc(im, true, dg, dg, size, &doc, ctype, sizeof ctype, got, "manifest", err,
			    errsz);
		if (q < 0)
			return q;
		kind = xs_oci_doc_kind(doc.data, doc.len, ctype);
	}
	if (kind != XS_OCI_MANIFEST) {
		xs_buf_free(&doc);
		FAIL(-EBADMSG, "%s: %s is neither an image index nor an image manifest", im->ref_text,
		     name);
	}
	snprintf(im->digest, sizeof im->digest, "%s", got);
	q = xs_oci_parse_manifest(doc.data, doc.len, &im->man, perr, sizeof perr);
	xs_buf_free(&doc);
	if (q < 0)
		FAIL(q, "%s: %s: %s", im->ref_text, im->digest, perr);
	q = get_doc(im, false, im->man.config.digest, im->man.config.digest,
		    (int64_t)im->man.config.size, &doc, NULL, 0, got, "config", err, errsz);
	if (q < 0)
		return q;
	q = xs_oci_parse_config(doc.data, doc.len, &im->conf, perr, sizeof perr);
	xs_buf_free(&doc);
	if (q < 0)
		FAIL(q, "%s: %s: %s", im->ref_text, im->man.config.digest, perr);
	/* the config says what the image is for, index or not */
	const char *parch, *pvar;
	xs_oci_platform(arch, &parch, &pvar);
	if (!im->conf.os || strcmp(im->conf.os, "linux") || !im->conf.arch ||
	    strcmp(im->conf.arch, parch))
		FAIL(-ENOENT, "%s: the image is for %s/%s, not linux/%s (%s)", im->ref_text,
		     im->conf.os ? im->conf.os : "?", im->conf.arch ? im->conf.arch : "?", parch, arch);
	if (pvar && im->conf.variant && strcmp(im->conf.variant, pvar) &&
	    !xs_arch_lookup(arch)->oci_variant_loose)
		FAIL(-ENOENT, "%s: the image is for linux/%s/%s, not linux/%s/%s (%s)", im->ref_text,
		     parch, im->conf.variant, parch, pvar, arch);
	if (!im->platform[0])
		snprintf(im->platform, sizeof im->platform, "linux/%s%s%s", im->conf.arch,
			 im->conf.variant ? "/" : "", im->conf.variant ? im->conf.variant : "");
	if (im->conf.ndiff != im->man.nlayers)
		FAIL(-EBADMSG, "%s: the manifest has %zu layers, the config %zu diff_ids",
		     im->ref_text, im->man.nlayers, im->conf.ndiff);
	return 0;
}

int xs_image_open(struct xs_store *s, const struct xs_image_config *cfg, struct xs_image **out,
		  char *err, size_t errsz)
{
	*out = NULL;
	const char *a, *v;
	if (xs_oci_platform(cfg->arch, &a, &v) < 0)
		FAIL(-EINVAL, "no container platform for the architecture '%s'", cfg->arch);
	struct xs_image *im = xs_xcalloc(1, sizeof *im);
	pthread_mutex_init(&im->auth_lock, NULL);
	im->store = s;
	im->ref_text = xs_strdup(cfg->ref);
	im->progress = cfg->progress;
	im->plain_http = cfg->plain_http;
	im->fetch_timeout_s = cfg->fetch_timeout_s > 0 ? cfg->fetch_timeout_s : 120;
	im->log = cfg->log;
	im->log_ud = cfg->log_ud;
	int q = xs_oci_parse_ref(cfg->ref, &im->ref, err, errsz);
	if (q < 0)
		goto fail;
	if (im->ref.layout) {
		/* the layers are read later, by the daemon, from another cwd */
		char *abs = realpath(im->ref.repo, NULL);
		if (!abs) {
			q = -errno;
			snprintf(err, errsz, "%s: %s: %s", cfg->ref, im->ref.repo, strerror(errno));
			goto fail;
		}
		free(im->ref.repo);
		im->ref.repo = abs;
	} else {
		struct xs_buf b;
		xs_buf_init(&b, 16384);
		xs_buf_printf(&b, "%s://%s/v2/%s/",
			      cfg->plain_http || loopback(im->ref.registry) ? "http" : "https",
			      im->ref.registry, im->ref.repo);
		im->base = xs_buf_steal(&b, NULL);
		q = load_creds(im, cfg, err, errsz);
		struct xs_http_opts ho;
		xs_http_opts_default(&ho);
		ho.progress = cfg->progress;
		if (q == 0)
			q = xs_http_new(&ho, &im->http_doc);
		xs_http_opts_inactivity(&ho, im->fetch_timeout_s);
		if (q == 0)
			q = xs_http_new(&ho, &im->http_blob);
		if (q < 0 && !err[0])
			snprintf(err, errsz, "cannot start the HTTP client: %s", strerror(-q));
		if (q < 0)
			goto fail;
	}
	q = open_docs(im, cfg->arch, err, errsz);
	if (q < 0)
		goto fail;
	struct xs_buf d;
	xs_buf_init(&d, 16384);
	xs_buf_printf(&d, "%s (%s, %s)", cfg->ref, im->platform, im->digest);
	im->describe = xs_buf_steal(&d, NULL);
	*out = im;
	return 0;
fail:
	xs_image_free(im);
	return q;
}

void xs_image_free(struct xs_image *im)
{
	if (!im)
		return;
	xs_oci_ref_free(&im->ref);
	xs_oci_manifest_free(&im->man);
	xs_oci_config_free(&im->conf);
	xs_http_free(im->http_doc);
	xs_http_free(im->http_blob);
	pthread_mutex_destroy(&im->auth_lock);
	free(im->ref_text);
	free(im->describe);
	free(im->base);
	free(im->basic);
	free(im->token);
	free(im);
}

const char *xs_image_describe(const struct xs_image *im)
{
	return im->describe;
}
const char *xs_image_digest(const struct xs_image *im)
{
	return im->digest;
}
size_t xs_image_nlayers(const struct xs_image *im)
{
	return im->man.nlayers;
}
const char *xs_image_layer_hex(const struct xs_image *im, size_t i)
{
	return xs_oci_digest_hex(im->man.layers[i].digest);
}

/* ---- layers ------------------------------------------------------------- */

/* A cached layer says "this blob unpacks to a tar of this diff_id": both
 * name it, so that an image whose config expects another diff_id of the
 * same blob never takes it from the cache unchecked. */
static void layer_meta_name(const struct xs_image *im, size_t i, char *out, size_t outsz)
{
	xs_cf_build_layer(xs_oci_digest_hex(im->man.layers[i].digest), im->conf.diff_ids[i], out,
			  outsz);
}

/* The layer's manifest from the cache, when every object it names is there. */
static int cached_layer(struct xs_image *im, size_t i, struct xs_manifest *m)
{
	char name[160];
	layer_meta_name(im, i, name, sizeof name);
	char *data = NULL;
	size_t len = 0;
	int q = xs_store_meta_read(im->store, name, MAX_LAYER_MANIFEST, &data, &len);
	if (q < 0)
		return q;
	/* its last use, for the cache's least-recently-used order */
	char path[XS_MAX_PATH];
	if (xs_store_meta_path(im->store, name, path, sizeof path) == 0)
		utimensat(AT_FDCWD, path, NULL, 0);
	q = xs_manifest_parse(data, len, m);
	free(data);
	for (size_t k = 0; q == 0 && k < m->n; k++)
		if (m->e[k].type == XS_E_REG && !xs_store_has_object(im->store, m->e[k].sha256))
			q = -ENOENT;
	if (q < 0)
		xs_manifest_free(m);
	return q;
}

static int fetch_layer(struct xs_image *im, size_t i, struct xs_manifest *m, uint64_t *bytes,
		       char *err, size_t errsz)
{
	const struct xs_oci_desc *d = &im->man.layers[i];
	const char *hex = xs_oci_digest_hex(d->digest);
	char label[128];
	snprintf(label, sizeof label, "layer %zu/%zu", i + 1, im->man.nlayers);
	if (d->size > MAX_LAYER)
		FAIL(-EFBIG, "%s: %s (%s) is larger than %llu bytes", im->ref_text, label, d->digest,
		     (unsigned long long)MAX_LAYER);
	if (!xs_store_has_object(im->store, hex)) {
		struct xs_txn *t;
		int q = xs_txn_begin(im->store, d->size, &t);
		if (q < 0)
			FAIL(q, "cannot store %s of %s: %s", label, im->ref_text, strerror(-q));
		xs_txn_defer_sync(t); /* a layer blob lives only until it is unpacked */
		struct xs_http_sink sink = { sink_txn_write, sink_txn_reset, t };
		q = get_blob(im, false, d->digest, d->size, &sink, label, NULL, 0, NULL, 0, bytes,
			     err, errsz);
		if (q < 0) {
			uint64_t got = xs_txn_size(t);
			xs_txn_abort(t);
			if (q == -EFBIG)
				FAIL(-EBADMSG, "%s: %s (%s): larger than its size %llu: refused at %llu "
				     "bytes", im->ref_text, label, d->digest,
				     (unsigned long long)d->size, (unsigned long long)got + 1);
			return q;
		}
		uint64_t got = xs_txn_size(t);
		char have[65] = "";
		q = xs_txn_commit(t, hex, d->size, have);
		if (q == -EBADMSG && got != d->size)
			FAIL(q, "%s: %s (%s): size mismatch: expected %llu bytes, received %llu",
			     im->ref_text, label, d->digest, (unsigned long long)d->size,
			     (unsigned long long)got);
		if (q == -EBADMSG)
			FAIL(q, "%s: %s: digest mismatch: expected %s, received sha256:%s",
			     im->ref_text, label, d->digest, have);
		if (q < 0)
			FAIL(q, "cannot store %s of %s: %s", label, im->ref_text, strerror(-q));
	}
	int fd = xs_store_open_object(im->store, hex);
	if (fd < 0)
		FAIL(fd, "cannot open %s of %s in the cache: %s", label, im->ref_text,
		     strerror(-fd));
	enum xs_oci_kind k = xs_oci_media_kind(d->media_type);
	enum xs_tar_compression comp = k == XS_OCI_LAYER_GZIP   ? XS_TAR_GZIP
				       : k == XS_OCI_LAYER_ZSTD ? XS_TAR_ZSTD
								: XS_TAR_NONE;
	char diff_id[65], uerr[1024] = "";
	int q = xs_tar_unpack(im->store, fd, comp, NULL, m, diff_id, uerr, sizeof uerr);
	close(fd);
	char opath[4200];
	if (q == 0 && strcmp(diff_id, im->conf.diff_ids[i])) {
		xs_manifest_free(m);
		q = -EBADMSG;
		snprintf(uerr, sizeof uerr, "diff_id mismatch: the config says sha256:%s, the "
			 "uncompressed layer is sha256:%s", im->conf.diff_ids[i], diff_id);
	}
	if (q < 0) {
		/* a blob that verifies but does not unpack as its config says is
		 * useless: do not keep it */
		if (xs_store_object_path(im->store, hex, opath, sizeof opath) == 0)
			unlink(opath);
		FAIL(q, "%s: %s (%s): %s", im->ref_text, label, d->digest, uerr);
	}
	char *data = NULL, name[160];
	size_t len = 0;
	layer_meta_name(im, i, name, sizeof name);
	q = xs_store_sync(im->store);
	if (q == 0)
		q = xs_manifest_serialize(m, &data, &len);
	if (q == 0)
		q = xs_store_meta_write(im->store, name, data, len);
	free(data);
	if (q < 0) {
		xs_manifest_free(m);
		FAIL(q, "cannot record %s of %s in the cache: %s", label, im->ref_text,
		     strerror(-q));
	}
	if (xs_store_object_path(im->store, hex, opath, sizeof opath) == 0)
		unlink(opath);
	return 0;
}

struct layer_job {
	struct xs_image *im;
	struct xs_manifest *ms;
	int *rc;
	char (*errs)[1536];
	uint64_t bytes;
	size_t next, fetched; /* guarded by lock */
	pthread_mutex_t lock;
};

/* meta/oci-layer-BLOB.lock of layer i, locked: its fd, or negative errno
 * with a message. */
static int lock_layer(struct xs_image *im, size_t i, char *err, size_t errsz)
{
	char name[96];
	int q = xs_cf_build(XS_CF_LAYER_LOCK, xs_oci_digest_hex(im->man.layers[i].digest), name,
			    sizeof name);
	if (q == 0)
		q = xs_store_meta_lock(im->store, name);
	if (q < 0)
		snprintf(err, errsz, "cannot lock %s/meta/%s for %s: %s", xs_store_dir(im->store), name,
			 im->ref_text, strerror(-q));
	return q;
}

static void *layer_worker(void *ud)
{
	struct layer_job *j = ud;
	for (;;) {
		pthread_mutex_lock(&j->lock);
		size_t i = j->next++;
		pthread_mutex_unlock(&j->lock);
		if (i >= j->im->man.nlayers)
			return NULL;
		if (cached_layer(j->im, i, &j->ms[i]) == 0)
			continue;
		/* one process at a time fetches and unpacks a layer (and removes
		 * its blob); one that waited finds it cached */
		int lock = lock_layer(j->im, i, j->errs[i], sizeof j->errs[i]);
		if (lock >= 0 && cached_layer(j->im, i, &j->ms[i]) == 0) {
			close(lock);
			continue;
		}
		uint64_t b = 0;
		j->rc[i] = lock < 0 ? lock
				    : fetch_layer(j->im, i, &j->ms[i], &b, j->errs[i], sizeof j->errs[i]);
		if (lock >= 0)
			close(lock);
		pthread_mutex_lock(&j->lock);
		j->bytes += b;
		j->fetched++;
		pthread_mutex_unlock(&j->lock);
		if (j->rc[i] == 0)
			logf_(j->im, 6, "%s layer %zu/%zu of %s (%s) [bytes=%llu]",
			      j->im->ref.layout ? "unpacked" : "fetched", i + 1,
			      j->im->man.nlayers, j->im->ref_text, j->im->man.layers[i].digest,
			      (unsigned long long)b);
	}
}

int xs_image_layers(struct xs_image *im, struct xs_manifest *fs, size_t *fetched,
		    uint64_t *bytes, char *err, size_t errsz)
{
	memset(fs, 0, sizeof *fs);
	size_t n = im->man.nlayers;
	struct layer_job j = { .im = im };
	j.ms = xs_xcalloc(n + 1, sizeof *j.ms);
	j.rc = xs_xcalloc(n + 1, sizeof *j.rc);
	j.errs = xs_xcalloc(n + 1, sizeof *j.errs);
	pthread_mutex_init(&j.lock, NULL);
	size_t nth = n < MAX_PARALLEL ? n : MAX_PARALLEL;
	pthread_t th[MAX_PARALLEL];
	size_t started = 0;
	for (; started + 1 < nth; started++)
		if (pthread_create(&th[started], NULL, layer_worker, &j) != 0)
			break;
	layer_worker(&j); /* this thread works too */
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j.lock);
	int q = 0;
	for (size_t i = 0; i < n; i++) {
		if (q == 0 && j.rc[i] < 0) {
			q = j.rc[i];
			snprintf(err, errsz, "%s", j.errs[i]);
		}
		if (q == 0)
			xs_oci_apply_layer(fs, &j.ms[i]);
		xs_manifest_free(&j.ms[i]);
	}
	if (q == 0)
		xs_oci_finish(fs);
	else
		xs_manifest_free(fs);
	if (fetched)
		*fetched = j.fetched;
	if (bytes)
		*bytes = j.bytes;
	free(j.ms);
	free(j.rc);
	free(j.errs);
	return q;
}

int xs_image_view_digest(const struct xs_image *im, char out[65])
{
	size_t n = im->man.nlayers;
	const char **hex = xs_xcalloc(n + 1, sizeof *hex);
	for (size_t i = 0; i < n; i++)
		hex[i] = xs_image_layer_hex(im, i);
	int q = xs_id_view_digest(hex, n, out);
	free(hex);
	return q;
}
