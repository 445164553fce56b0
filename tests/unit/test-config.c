/* test-config.c - the configuration file parser: format, validation,
 * errors with file:line, merging of files and per-architecture sections. */
#include "xsysroot/config.h"
#include "xsysroot/util.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char err[1024];

static int parse(struct xs_config *c, const char *text, const char *file)
{
	err[0] = 0;
	return xs_config_parse(c, text, strlen(text), file, err, sizeof err);
}

static void test_format(void)
{
	struct xs_config c;
	xs_config_init(&c);
	const char *text = "# comment\n"
			   "; another\n"
			   "\n"
			   "  mirror =  http://one.example/debian, https://two.example/debian/  \r\n"
			   "suite=bookworm\n"
			   "quota = 20G\n"
			   "proxy =\n"
			   "fetch-timeout = 30\n"
			   "[arch riscv64]\n"
			   "mirror = http://ports.example/debian-ports\n"
			   "suite = sid\n"
			   "packages = hello, zlib1g-dev\n"
			   "[ arch  aarch64 ]\n"
			   "components = main contrib\n"
			   "[arch riscv64]\n"
			   "keyring = /usr/share/keyrings/ports.gpg";
	CHECK_INT(parse(&c, text, "a.conf"), 0, "a valid file parses (%s)", err);
	struct xs_settings s;
	xs_config_resolve(&c, NULL, &s);
	CHECK_STR(s.value[XS_CONF_MIRROR], "http://one.example/debian, https://two.example/debian/",
		  "global mirror list, blanks trimmed, CR dropped");
	CHECK_STR(s.origin[XS_CONF_MIRROR], "a.conf:4", "origin file:line");
	CHECK_STR(s.value[XS_CONF_PROXY], "", "an empty proxy is a value");
	CHECK_INT(s.quota, 20ull << 30, "quota in bytes");
	CHECK_INT(s.fetch_timeout_s, 30, "fetch-timeout");
	CHECK(s.value[XS_CONF_PACKAGES] == NULL, "packages only in an arch section");

	xs_config_resolve(&c, "riscv64", &s);
	CHECK_STR(s.value[XS_CONF_MIRROR], "http://ports.example/debian-ports", "arch section wins");
	CHECK_STR(s.value[XS_CONF_SUITE], "sid", "arch suite");
	CHECK_STR(s.value[XS_CONF_PACKAGES], "hello, zlib1g-dev", "arch packages");
	CHECK_STR(s.value[XS_CONF_KEYRING], "/usr/share/keyrings/ports.gpg",
		  "a repeated section header continues the section (last line without newline)");
	CHECK_INT(s.quota, 20ull << 30, "global values stay under an arch section");

	xs_config_resolve(&c, "arm64", &s);
	CHECK_STR(s.value[XS_CONF_COMPONENTS], "main contrib", "alias aarch64 is section arm64");
	CHECK_STR(s.value[XS_CONF_SUITE], "bookworm", "arm64 has the global suite");
	xs_config_resolve(&c, "aarch64", &s);
	CHECK_STR(s.value[XS_CONF_COMPONENTS], "main contrib", "resolved through an alias too");
	xs_config_resolve(&c, "armhf", &s);
	CHECK(s.value[XS_CONF_COMPONENTS] == NULL, "armhf: no components");
	xs_config_free(&c);
}

static void test_merge(void)
{
	struct xs_config c;
	xs_config_init(&c);
	CHECK_INT(parse(&c, "mirror = http://sys.example/d\nsuite = bookworm\n"
			    "[arch riscv64]\nmirror = http://ports.example/p\n",
			"/etc/xsysroot.conf"),
		  0, "system file");
	CHECK_INT(parse(&c, "mirror = http://user.example/d\n[arch riscv64]\nsuite = sid\n",
			"user"),
		  0, "user file");
	struct xs_settings s;
	xs_config_resolve(&c, "arm64", &s);
	CHECK_STR(s.value[XS_CONF_MIRROR], "http://user.example/d", "user file wins key by key");
	CHECK_STR(s.origin[XS_CONF_MIRROR], "user:1", "origin of the user's value");
	CHECK_STR(s.value[XS_CONF_SUITE], "bookworm", "system value kept where the user has none");
	xs_config_resolve(&c, "riscv64", &s);
	CHECK_STR(s.value[XS_CONF_MIRROR], "http://ports.example/p",
		  "a system arch section still wins over the user's global value");
	CHECK_STR(s.value[XS_CONF_SUITE], "sid", "user arch section");

	/* a failed parse leaves the merged config unchanged */
	CHECK(parse(&c, "suite = trixie\nbogus = 1\n", "bad") < 0, "error in a third file");
	xs_config_resolve(&c, "arm64", &s);
	CHECK_STR(s.value[XS_CONF_SUITE], "bookworm", "the failed file changed nothing");
	xs_config_free(&c);
}

static void test_errors(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "suite = a\nfoo = bar\n", "f:2: unknown key 'foo'" },
		{ "mirror http://x\n", "f:1: expected KEY = VALUE" },
		{ "[arm64]\n", "f:1: [arm64]: the only sections are [arch NAME]" },
		{ "[arch sparc]\n", "f:1: [arch sparc]: unknown architecture" },
		{ "[arch arm64\n", "f:1: [arch arm64: a section header must end with ']'" },
		{ "\n\nsuite = a\nsuite = b\n", "f:4: 'suite' is given twice in this section (first at f:3)" },
		{ "mirror = ftp://x/debian\n", "f:1: mirror = ftp://x/debian: expected each mirror" },
		{ "mirror = \n", "f:1: mirror = : expected an empty list" },
		{ "mirror = http://\n", "f:1: mirror = http://: expected each mirror" },
		{ "quota = 12X\n", "f:1: quota = 12X: expected a size" },
		{ "quota = 99999999999999999999\n", "f:1: quota = 99999999999999999999: expected too large" },
		{ "quota = 99999999999T\n", "f:1: quota = 99999999999T: expected too large" },
		{ "fetch-timeout = 0\n", "f:1: fetch-timeout = 0: expected a number of seconds" },
		{ "fetch-timeout = 10s\n", "f:1: fetch-timeout = 10s: expected a number" },
		{ "cache-dir = relative/dir\n", "f:1: cache-dir = relative/dir: expected an absolute path" },
		{ "keyring =\n", "f:1: keyring = : expected an absolute path" },
		{ "packages = Hello\n", "f:1: packages = Hello: expected a list of Debian package names" },
		{ "suite = two words\n", "f:1: suite = two words: expected one name" },
		{ "proxy = http://a b\n", "f:1: proxy = http://a b: expected a URL without blanks" },
		{ "Mirror = http://x/d\n", "f:1: unknown key 'Mirror'" },
	};
	for (size_t i = 0; i < XS_ARRAY_SIZE(bad); i++) {
		struct xs_config c;
		xs_config_init(&c);
		int r = parse(&c, bad[i].text, "f");
		CHECK(r == -EINVAL && !strncmp(err, bad[i].want, strlen(bad[i].want)),
		      "error %zu: %s", i, bad[i].want);
		if (r != -EINVAL || strncmp(err, bad[i].want, strlen(bad[i].want)))
			printf("#   got %d '%s'\n", r, err);
		CHECK(c.n == 0, "error %zu leaves the config empty", i);
		xs_config_free(&c);
	}
	struct xs_config c;
	xs_config_init(&c);
	CHECK_INT(xs_config_parse(&c, "suite = a\0b\n", 12, "f", err, sizeof err), -EINVAL,
		  "a NUL byte is an error");
	struct xs_buf many;
	xs_buf_init(&many, 1 << 20);
	for (size_t i = 0; i < XS_CONFIG_MAX_LINE + 1; i++)
		xs_buf_append(&many, "x", 1);
	CHECK(xs_config_parse(&c, many.data, many.len, "f", err, sizeof err) == -EINVAL &&
		      strstr(err, "f:1: line longer"),
	      "a line too long is an error (%s)", err);
	xs_buf_free(&many);
	xs_config_free(&c);
}

static void test_keys(void)
{
	size_t n;
	const struct xs_config_key_info *k = xs_config_keys(&n);
	CHECK_INT(n, XS_CONF_NKEYS, "key table size");
	const char *want[] = { "mirror", "suite", "components", "packages", "keyring",
			       "cache-dir", "quota", "proxy", "fetch-timeout" };
	bool all = n == XS_ARRAY_SIZE(want);
	for (size_t i = 0; all && i < n; i++)
		all = !strcmp(k[i].name, want[i]) && k[i].arg && k[i].help;
	CHECK(all, "the key table names every key, with an argument and a help line");
}

static void test_paths(void)
{
	char p[4096];
	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	setenv("HOME", "/home/u", 1);
	CHECK(xs_config_user_path(p, sizeof p) == 0 && !strcmp(p, "/x/cfg/xsysroot/config"),
	      "XDG_CONFIG_HOME honoured (%s)", p);
	setenv("XDG_CONFIG_HOME", "relative", 1);
	CHECK(xs_config_user_path(p, sizeof p) == 0 && !strcmp(p, "/home/u/.config/xsysroot/config"),
	      "a relative XDG_CONFIG_HOME is ignored, as the spec says (%s)", p);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	CHECK_INT(xs_config_user_path(p, sizeof p), -ENOENT, "no HOME: no user file");

	struct xs_config c;
	xs_config_init(&c);
	CHECK_INT(xs_config_load(&c, "/nonexistent/xsysroot.conf", false, err, sizeof err), 0,
		  "a missing default file is fine");
	CHECK(xs_config_load(&c, "/nonexistent/xsysroot.conf", true, err, sizeof err) == -ENOENT &&
		      strstr(err, "/nonexistent/xsysroot.conf"),
	      "a missing named file is an error naming it");
	xs_config_free(&c);
}

int main(void)
{
	test_format();
	test_merge();
	test_errors();
	test_keys();
	test_paths();
	return tap_done();
}
