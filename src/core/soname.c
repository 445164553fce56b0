/* soname.c - see include/xsysroot/soname.h */
#include "xsysroot/soname.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* s[0..n) as a package name (lower case, '_' as '-') into out: false when
 * a character cannot be part of one or it does not fit. */
static bool pkg_part(const char *s, size_t n, char *out, size_t outsz)
{
	if (n + 1 > outsz)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (c == '_')
			c = '-';
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.'))
			return false;
		out[i] = c;
	}
	out[n] = 0;
	return true;
}

static size_t put(char out[XS_SONAME_MAX_GUESSES][XS_SONAME_PKG_MAX], size_t n, const char *a,
		  const char *sep, const char *b, const char *suffix)
{
	if (n >= XS_SONAME_MAX_GUESSES)
		return n;
	int k = snprintf(out[n], XS_SONAME_PKG_MAX, "%s%s%s%s", a, sep, b, suffix);
	return k > 0 && k < XS_SONAME_PKG_MAX ? n + 1 : n;
}

size_t xs_soname_packages(const char *soname, char out[XS_SONAME_MAX_GUESSES][XS_SONAME_PKG_MAX])
{
	if (strncmp(soname, "lib", 3) || strchr(soname, '/'))
		return 0;
	/* the first ".so" that ends the name or is followed by its version
	 * ("libx.socket.so.1": not the one of ".socket") */
	const char *so = strstr(soname + 3, ".so");
	while (so && so[3] != 0 && so[3] != '.')
		so = strstr(so + 1, ".so");
	if (!so || so == soname + 3)
		return 0;
	char base[XS_SONAME_PKG_MAX], ver[XS_SONAME_PKG_MAX];
	if (!pkg_part(soname, (size_t)(so - soname), base, sizeof base))
		return 0;
	const char *v = so[3] == '.' ? so + 4 : "";
	if (!pkg_part(v, strlen(v), ver, sizeof ver) || (so[3] == '.' && !*v))
		return 0;
	size_t n = 0;
	if (!*ver)
		return put(out, put(out, n, base, "", "", ""), base, "", "", "t64");
	bool digit = base[strlen(base) - 1] >= '0' && base[strlen(base) - 1] <= '9';
	n = put(out, n, base, digit ? "-" : "", ver, "");
	n = put(out, n, base, digit ? "-" : "", ver, "t64");
	n = put(out, n, base, digit ? "" : "-", ver, "");
	return put(out, n, base, digit ? "" : "-", ver, "t64");
}
