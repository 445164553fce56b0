/* test-aptsrc.c - sources.list, .sources, os-release, in a temporary root */
#include "xsysroot/aptsrc.h"
#include "xsysroot/util.h"
#include "tap.h"
#include "testlib.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int list(struct xs_sourcelist *l, const char *s)
{
	return xs_aptsrc_parse_list(l, s, strlen(s), "test.list");
}

static int sources(struct xs_sourcelist *l, const char *s)
{
	return xs_aptsrc_parse_sources(l, s, strlen(s), "test.sources");
}

static void test_list(void)
{
	struct xs_sourcelist l = { 0 };
	const char *text =
		"# a comment\n"
		"\n"
		"deb http://mirror.example/debian/ bookworm main contrib non-free-firmware\n"
		"deb-src http://mirror.example/debian bookworm main\n"
		"  deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/x.gpg] https://h.example/repo/// "
		"stable  main # trailing comment\n"
		"deb [ arch=arm64 trusted=yes ] file:///srv/repo ./\n"
		"deb [arch+=riscv64 lang=none signed-by=/k#1.gpg] http://h.example/a sid main #c\n"
		"#deb http://disabled.example/ x main\n"
		"deb\thttp://tab.example/debian\tbookworm-security\tmain\r\n";
	int r = list(&l, text);
	CHECK_INT(r, 0, "parse a sources.list");
	CHECK_INT(l.n, 5, "five deb entries (deb-src and comments skipped)");
	if (l.n != 5) {
		xs_sourcelist_free(&l);
		return;
	}
	CHECK_STR(l.v[0].uri, "http://mirror.example/debian", "trailing slash removed");
	CHECK_STR(l.v[0].suite, "bookworm", "suite");
	CHECK_STR(l.v[0].components[0], "main", "component 1");
	CHECK_STR(l.v[0].components[2], "non-free-firmware", "component 3");
	CHECK(l.v[0].components[3] == NULL, "three components");
	CHECK(l.v[0].archs == NULL && l.v[0].signed_by == NULL, "no options");
	CHECK(l.v[0].enabled, "enabled");
	CHECK_STR(l.v[0].origin_file, "test.list:3", "origin names file and line");

	CHECK_STR(l.v[1].uri, "https://h.example/repo", "all trailing slashes removed");
	CHECK_STR(l.v[1].archs ? l.v[1].archs[0] : NULL, "amd64", "arch list 1");
	CHECK_STR(l.v[1].archs ? l.v[1].archs[1] : NULL, "arm64", "arch list 2");
	CHECK(l.v[1].archs && l.v[1].archs[2] == NULL, "two archs");
	CHECK_STR(l.v[1].signed_by, "/usr/share/keyrings/x.gpg", "signed-by");
	CHECK(l.v[1].components[1] == NULL, "comment after the components is dropped");

	CHECK_STR(l.v[2].uri, "file:///srv/repo", "file URI");
	CHECK_STR(l.v[2].suite, "./", "flat repository suite");
	CHECK(l.v[2].components[0] == NULL, "flat repository: no component");
	CHECK_STR(l.v[2].archs ? l.v[2].archs[0] : NULL, "arm64", "options with blanks inside []");

	CHECK_STR(l.v[3].uri, "http://h.example/a", "URI");
	CHECK_STR(l.v[3].signed_by, "/k#1.gpg", "'#' inside [] is not a comment");
	CHECK_STR(l.v[3].archs ? l.v[3].archs[0] : NULL, "riscv64", "arch+=");
	CHECK(l.v[3].components[1] == NULL, "'#' outside [] starts a comment");

	CHECK_STR(l.v[4].uri, "http://tab.example/debian", "tabs as separators");
	CHECK_STR(l.v[4].components[0], "main", "CRLF line");
	CHECK(l.v[4].components[1] == NULL, "one component");

	/* errors leave the list as it was */
	const char *bad[] = {
		"deb http://h/ bookworm\n",		  /* no component */
		"deb http://h/ ./ main\n",		  /* flat with a component */
		"deb http://h/\n",			  /* no suite */
		"deb\n",				  /* nothing */
		"rpm http://h/ x main\n",		  /* unknown type */
		"deb [arch=amd64 http://h/ x main\n",	  /* unclosed options */
		"deb [arch] http://h/ x main\n",	  /* option without '=' */
		"deb [arch=] http://h/ x main\n",	  /* empty value */
		"deb [=x] http://h/ x main\n",		  /* empty key */
		"deb [+=x] http://h/ x main\n",		  /* empty key with modifier */
		"deb nocolon x main\n",			  /* URI without a scheme */
		"deb http://h/a#b x main\n",		  /* '#' cuts the URI: no suite */
		"deb http://h/ x main\ndeb http://h/\n",  /* good line then a bad one */
		"deb http://h/ x ma\0in\n",		  /* NUL byte (length counts it) */
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(bad); i++) {
		size_t before = l.n;
		size_t len = strlen(bad[i]);
		if (i == XS_ARRAY_SIZE(bad) - 1)
			len = 22;
		r = xs_aptsrc_parse_list(&l, bad[i], len, "bad.list");
		CHECK(r == -EBADMSG && l.n == before, "refused, nothing added: '%.*s'",
		      (int)strcspn(bad[i], "\n"), bad[i]);
	}
	CHECK_INT(list(&l, ""), 0, "empty file");
	CHECK_INT(xs_aptsrc_parse_list(&l, NULL, 0, NULL), 0, "NULL text");
	CHECK_INT(list(&l, "deb-src http://h/ x main\n"), 0, "deb-src only");
	CHECK_INT(list(&l, "deb [arch=amd64] http://h/ x main\n"), 0, "options glued to brackets");
	CHECK_INT(l.n, 6, "one more entry");
	xs_sourcelist_free(&l);
	CHECK(l.v == NULL && l.n == 0, "free resets");

	/* a non-NUL-terminated buffer */
	char *p = malloc(20);
	memcpy(p, "deb http://h/ x main", 20);
	r = xs_aptsrc_parse_list(&l, p, 20, "f");
	CHECK(r == 0 && l.n == 1, "line without newline at the end of the buffer");
	xs_sourcelist_free(&l);
	free(p);

	/* limits */
	struct xs_buf b;
	xs_buf_init(&b, 1 << 24);
	for (int i = 0; i < 5000; i++)
		xs_buf_printf(&b, "deb http://h/%d x main\n", i);
	CHECK_INT(xs_aptsrc_parse_list(&l, b.data, b.len, "big"), -E2BIG, "too many entries");
	CHECK_INT(l.n, 0, "nothing kept");
	xs_buf_free(&b);
	xs_buf_init(&b, 1 << 24);
	xs_buf_printf(&b, "deb http://h/ x");
	for (int i = 0; i < 300; i++)
		xs_buf_printf(&b, " c%d", i);
	CHECK_INT(xs_aptsrc_parse_list(&l, b.data, b.len, "big"), -E2BIG, "too many components");
	xs_buf_free(&b);
	xs_sourcelist_free(&l);
}

static void test_sources(void)
{
	struct xs_sourcelist l = { 0 };
	const char *text =
		"# Debian\n"
		"Types: deb deb-src\n"
		"URIs: http://mirror.example/debian/ http://mirror2.example/debian\n"
		"Suites: bookworm bookworm-updates\n"
		"Components: main contrib\n"
		"Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
		"Architectures: arm64 amd64\n"
		"\n"
		"Types: deb-src\n"
		"URIs: http://src.example/\n"
		"Suites: bookworm\n"
		"Components: main\n"
		"\n"
		"Types: deb\n"
		"URIs: http://off.example/\n"
		"Suites: bookworm\n"
		"Components: main\n"
		"Enabled: no\n"
		"\n"
		"Types: deb\n"
		"URIs: https://inline.example/repo\n"
		"Suites: ./\n"
		"Enabled: yes\n"
		"Signed-By:\n"
		" -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
		" .\n"
		" mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPEpC6ZKNL3wYyd/Jx2Szd0n\n"
		" =x4iv\n"
		" -----END PGP PUBLIC KEY BLOCK-----\n";
	int r = sources(&l, text);
	CHECK_INT(r, 0, "parse .sources");
	CHECK_INT(l.n, 5, "2 URIs x 2 Suites + 1 inline-key entry");
	if (l.n != 5) {
		xs_sourcelist_free(&l);
		return;
	}
	CHECK_STR(l.v[0].uri, "http://mirror.example/debian", "URI 1, trailing slash removed");
	CHECK_STR(l.v[0].suite, "bookworm", "suite 1");
	CHECK_STR(l.v[1].uri, "http://mirror.example/debian", "URI 1 again");
	CHECK_STR(l.v[1].suite, "bookworm-updates", "suite 2");
	CHECK_STR(l.v[2].uri, "http://mirror2.example/debian", "URI 2");
	CHECK_STR(l.v[3].suite, "bookworm-updates", "URI 2, suite 2");
	CHECK_STR(l.v[3].components[1], "contrib", "components copied");
	CHECK_STR(l.v[3].signed_by, "/usr/share/keyrings/debian-archive-keyring.gpg", "Signed-By");
	CHECK_STR(l.v[3].archs ? l.v[3].archs[0] : NULL, "arm64", "Architectures");
	CHECK(l.v[3].archs && l.v[3].archs[2] == NULL, "two archs");
	CHECK_STR(l.v[0].origin_file, "test.sources:2", "origin names the stanza line");
	CHECK_STR(l.v[4].uri, "https://inline.example/repo", "inline-key stanza kept");
	CHECK(l.v[4].signed_by == NULL, "inline key gives a NULL signed_by");
	CHECK(l.v[4].components[0] == NULL, "flat suite, no components");
	CHECK(l.v[4].archs == NULL, "no Architectures");

	const char *bad[] = {
		"URIs: http://h/\nSuites: x\nComponents: main\n",		/* no Types */
		"Types: deb\nSuites: x\nComponents: main\n",			/* no URIs */
		"Types: deb\nURIs: http://h/\nComponents: main\n",		/* no Suites */
		"Types: deb\nURIs: http://h/\nSuites: x\n",			/* no Components */
		"Types: deb\nURIs: http://h/\nSuites: ./\nComponents: main\n",	/* flat + comps */
		"Types: rpm\nURIs: http://h/\nSuites: x\nComponents: main\n",	/* unknown type */
		"Types: deb\nURIs: nocolon\nSuites: x\nComponents: main\n",	/* bad URI */
		"Types:\nURIs: http://h/\nSuites: x\nComponents: main\n",	/* empty Types */
		"Types: deb\nURIs: http://h/\nSuites: x\nComponents: main\n\nbroken line\n",
		" orphan continuation\n",
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(bad); i++) {
		size_t before = l.n;
		r = sources(&l, bad[i]);
		CHECK(r == -EBADMSG && l.n == before, "refused, nothing added (case %zu)", i);
	}
	CHECK_INT(sources(&l, "# only comments\n\n"), 0, "comments only");
	CHECK_INT(sources(&l, "Types: deb\nURIs: http://h/\nSuites: x\nComponents: main\nEnabled: false\n"),
		  0, "Enabled: false");
	CHECK_INT(sources(&l, "Types: deb\nEnabled: no\n"), 0,
		  "a disabled stanza needs nothing but Types");
	CHECK_INT(sources(&l, "Types: rpm\nEnabled: no\n"), -EBADMSG,
		  "a disabled stanza still needs known Types");
	CHECK_INT(l.n, 5, "disabled stanzas not listed");
	xs_sourcelist_free(&l);
}

static char tmp[TL_ROOT_MAX + 16];

static void put(const char *rel, const char *content)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	tl_write_file(path, content, strlen(content), 0644);
}

static void test_load(void)
{
	struct xs_sourcelist l = { 0 };
	snprintf(tmp, sizeof tmp, "%s", tl_path("load"));
	CHECK_INT(mkdir(tmp, 0755), 0, "a directory for the root");
	CHECK_INT(xs_aptsrc_load(&l, tmp), 0, "empty root: nothing, no error");
	CHECK_INT(l.n, 0, "no sources");

	put("etc/apt/sources.list", "deb http://main.example/debian bookworm main\n");
	put("etc/apt/sources.list.d/zz.list", "deb http://zz.example/ bookworm main\n");
	put("etc/apt/sources.list.d/aa.sources",
	    "Types: deb\nURIs: http://aa.example/\nSuites: bookworm\nComponents: main\n");
	put("etc/apt/sources.list.d/mm.list", "deb http://mm.example/ bookworm main\n");
	put("etc/apt/sources.list.d/off.list.disabled", "deb http://off.example/ x main\n");
	put("etc/apt/sources.list.d/off.list.save", "this is not parsed\n");
	put("etc/apt/sources.list.d/.hidden.list", "this is not parsed\n");
	put("etc/apt/sources.list.d/bad~name.list", "this is not parsed\n");
	put("etc/apt/sources.list.d/dir.list/x", "a directory named .list is skipped\n");
	int r = xs_aptsrc_load(&l, tmp);
	CHECK_INT(r, 0, "load");
	CHECK_INT(l.n, 4, "main list plus three parts");
	if (l.n == 4) {
		CHECK_STR(l.v[0].uri, "http://main.example/debian", "sources.list first");
		CHECK_STR(l.v[1].uri, "http://aa.example", "then parts sorted by name: aa");
		CHECK_STR(l.v[2].uri, "http://mm.example", "mm");
		CHECK_STR(l.v[3].uri, "http://zz.example", "zz");
		CHECK(strstr(l.v[1].origin_file, "/etc/apt/sources.list.d/aa.sources:1") != NULL,
		      "origin is the file path: %s", l.v[1].origin_file);
	}
	xs_sourcelist_free(&l);

	/* root with a trailing slash */
	char root2[300];
	snprintf(root2, sizeof root2, "%s/", tmp);
	CHECK_INT(xs_aptsrc_load(&l, root2), 0, "root with a trailing slash");
	CHECK(l.n == 4 && strstr(l.v[0].origin_file, "//etc") == NULL, "no double slash");
	xs_sourcelist_free(&l);

	/* a broken part fails the load and keeps nothing */
	put("etc/apt/sources.list.d/nn.list", "deb broken\n");
	CHECK_INT(xs_aptsrc_load(&l, tmp), -EBADMSG, "a broken part fails the load");
	CHECK_INT(l.n, 0, "nothing kept");
	xs_sourcelist_free(&l);

	/* os-release */
	char cn[64];
	CHECK_INT(xs_osrelease_codename(tmp, cn, sizeof cn), -ENOENT, "no os-release");
	put("usr/lib/os-release",
	    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
	    "VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n");
	CHECK_INT(xs_osrelease_codename(tmp, cn, sizeof cn), 0, "usr/lib/os-release fallback");
	CHECK_STR(cn, "bookworm", "unquoted VERSION_CODENAME");
	put("etc/os-release", "ID=debian\nVERSION_CODENAME=\"trixie\"\n");
	CHECK_INT(xs_osrelease_codename(tmp, cn, sizeof cn), 0, "etc/os-release first");
	CHECK_STR(cn, "trixie", "quoted VERSION_CODENAME");
	put("etc/os-release", "VERSION_CODENAME='sid'\n");
	CHECK_INT(xs_osrelease_codename(tmp, cn, sizeof cn), 0, "single quotes");
	CHECK_STR(cn, "sid", "single-quoted value");
	put("etc/os-release", "NAME=Debian\nVERSION=\"11 (Bullseye)\"\n");
	CHECK_INT(xs_osrelease_codename(tmp, cn, sizeof cn), 0, "VERSION fallback");
	CHECK_STR(cn, "bullseye", "codename from VERSION, lowercased");
	put("etc/os-release", "VERSION_CODENAME=\nVERSION=\"10 (buster)\"\n");
	CHECK_INT(xs_osrelease_codename(tmp, cn, sizeof cn), 0, "empty VERSION_CODENAME");
	CHECK_STR(cn, "buster", "falls back to VERSION");
	put("etc/os-release", "  VERSION_CODENAME=\"bookworm\"  \n");
	CHECK_INT(xs_osrelease_codename(tmp, cn, sizeof cn), 0, "blanks around");
	CHECK_STR(cn, "bookworm", "trimmed");
	put("etc/os-release", "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\n");
	CHECK_INT(xs_osrelease_codename(tmp, cn, sizeof cn), -ENODATA, "no codename at all");
	put("etc/os-release", "VERSION_CODENAME=\"../etc\"\n");
	CHECK_INT(xs_osrelease_codename(tmp, cn, sizeof cn), -ENODATA, "unsafe codename refused");
	put("etc/os-release", "VERSION_CODENAME=bookworm\n");
	char tiny[4];
	CHECK_INT(xs_osrelease_codename(tmp, tiny, sizeof tiny), -ERANGE, "output too small");

	CHECK_INT(xs_rm_rf(tmp), 0, "temporary root removed");
}

static void test_suites(void)
{
	CHECK(xs_suite_belongs("bookworm", "bookworm"), "the codename itself");
	CHECK(xs_suite_belongs("bookworm-security", "bookworm"), "security");
	CHECK(xs_suite_belongs("bookworm-updates", "bookworm"), "updates");
	CHECK(xs_suite_belongs("bookworm-proposed-updates", "bookworm"), "proposed-updates");
	CHECK(xs_suite_belongs("buster/updates", "buster"), "old security layout");
	CHECK(!xs_suite_belongs("bookworm-backports", "bookworm"), "backports excluded");
	CHECK(!xs_suite_belongs("bookworm-backports-sloppy", "bookworm"), "sloppy excluded");
	CHECK(!xs_suite_belongs("bookwormx", "bookworm"), "prefix only");
	CHECK(!xs_suite_belongs("trixie", "bookworm"), "another release");
	CHECK(!xs_suite_belongs("book", "bookworm"), "shorter");
	CHECK(!xs_suite_belongs("bookworm", ""), "empty codename");
	CHECK(!xs_suite_belongs(NULL, "bookworm"), "NULL suite");
}

int main(void)
{
	test_list();
	test_sources();
	test_load();
	test_suites();
	return tap_done();
}
