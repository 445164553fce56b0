/* test-soname.c - Debian's package names for a soname (Policy 8.1), and
 * what is no library name. */
#include "tap.h"
#include "xsysroot/soname.h"
#include "xsysroot/util.h"

#include <string.h>

static void expect(const char *soname, const char *first, const char *second)
{
	char out[XS_SONAME_MAX_GUESSES][XS_SONAME_PKG_MAX];
	size_t n = xs_soname_packages(soname, out);
	CHECK(n >= 2 && !strcmp(out[0], first) && !strcmp(out[1], second),
	      "%s: %s, then %s (got %zu: %s %s)", soname, first, second, n, n ? out[0] : "",
	      n > 1 ? out[1] : "");
}

static void none(const char *soname)
{
	char out[XS_SONAME_MAX_GUESSES][XS_SONAME_PKG_MAX];
	CHECK_INT(xs_soname_packages(soname, out), 0, "'%s' is no library name", soname);
}

int main(void)
{
	expect("libssl.so.3", "libssl3", "libssl3t64");
	expect("libstdc++.so.6", "libstdc++6", "libstdc++6t64");
	expect("libgcc_s.so.1", "libgcc-s1", "libgcc-s1t64");
	expect("libgtk-3.so.0", "libgtk-3-0", "libgtk-3-0t64");
	expect("libpython3.11.so.1.0", "libpython3.11-1.0", "libpython3.11-1.0t64");
	expect("libfoo-1.2.so", "libfoo-1.2", "libfoo-1.2t64");
	expect("libX11.so.6", "libx11-6", "libx11-6t64");
	expect("libx.socket.so.1", "libx.socket1", "libx.socket1t64");
	char out[XS_SONAME_MAX_GUESSES][XS_SONAME_PKG_MAX];
	size_t n = xs_soname_packages("libssl.so.3", out);
	CHECK(n == 4 && !strcmp(out[2], "libssl-3"), "the other form comes after (%s)",
	      n > 2 ? out[2] : "");
	none("");
	none("libc");
	none("lib.so.6");
	none("foo.so.1");
	none("libfoo.so.");
	none("usr/lib/libfoo.so.1");
	none("libfoo.so.1 x");
	none("libfoo.sox");
	char longname[300];
	memset(longname, 'a', sizeof longname);
	memcpy(longname, "lib", 3);
	strcpy(longname + 250, ".so.1");
	none(longname);
	return tap_done();
}
