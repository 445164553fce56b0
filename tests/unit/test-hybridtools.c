/* test-hybridtools.c - which tools run natively in a hybrid build root
 * (include/xsysroot/hybridtools.h): the candidates and the paths kept
 * emulated (rule b), and the decision for one tool from its Multi-Arch and
 * the versions of both architectures (rule a; a tool the build
 * architecture lacks stays emulated with a note, not an error). */
#include "tap.h"
#include "xsysroot/hybridtools.h"
#include "xsysroot/util.h"

#include <stdio.h>
#include <string.h>

static bool is_candidate(const char *name)
{
	for (size_t i = 0; xs_hybrid_tool_candidate(i); i++)
		if (!strcmp(xs_hybrid_tool_candidate(i), name))
			return true;
	return false;
}

static void table(void)
{
	static const char *const yes[] = { "dash", "sed", "grep", "coreutils", "gawk", "m4",
					   "findutils", "tar", "xz-utils" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(yes); i++)
		CHECK(is_candidate(yes[i]), "%s is a candidate", yes[i]);
	/* what they report depends on the machine they run on */
	static const char *const no[] = { "make", "bash", "perl", "perl-base", "dpkg", "dpkg-dev",
					  "gcc-12", "binutils", "debhelper" };
	for (size_t i = 0; i < XS_ARRAY_SIZE(no); i++)
		CHECK(!is_candidate(no[i]), "%s is no candidate", no[i]);
	char *const *keep = xs_hybrid_tools_keep();
	CHECK(xs_strv_has(keep, "usr/bin/uname"), "uname stays the target's");
	CHECK(xs_strv_has(keep, "usr/bin/arch"), "arch stays the target's");
	CHECK(xs_strv_has(keep, "usr/bin/stdbuf") &&
		      xs_strv_has(keep, "usr/libexec/coreutils/libstdbuf.so"),
	      "stdbuf and the library it preloads stay the target's");
	CHECK(!xs_strv_has(keep, "usr/bin/sed") && !xs_strv_has(keep, "usr/bin/ls"),
	      "sed and ls are not kept");
}

static void pick(void)
{
	char note[512];
	CHECK_INT(xs_hybrid_tools_pick("sed", "4.9-1", true, "4.9-1", note, sizeof note), 1,
		  "foreign, same version on both: native");
	CHECK_STR(note, "", "no note");
	CHECK_INT(xs_hybrid_tools_pick("sed", NULL, true, "4.9-1", note, sizeof note), 0,
		  "not in the target's view: nothing to run");
	CHECK_STR(note, "", "and nothing to say");
	CHECK_INT(xs_hybrid_tools_pick("gzip", "1.12-1", false, "1.12-1", note, sizeof note), 0,
		  "not Multi-Arch: foreign: emulated");
	CHECK(strstr(note, "gzip 1.12-1") && strstr(note, "Multi-Arch: foreign"),
	      "the note names the package and the field: %s", note);
	CHECK_INT(xs_hybrid_tools_pick("m4", "1.4.19-3", true, NULL, note, sizeof note), 0,
		  "missing from the build architecture's archive: emulated, no error");
	CHECK(strstr(note, "m4 1.4.19-3") && strstr(note, "no such package"),
	      "the note says so: %s", note);
	CHECK_INT(xs_hybrid_tools_pick("grep", "3.8-5", true, "3.8-6", note, sizeof note), 0,
		  "another version for the build architecture: emulated");
	CHECK(strstr(note, "3.8-6") && strstr(note, "grep 3.8-5"), "the note has both: %s",
	      note);
	char small[8];
	CHECK_INT(xs_hybrid_tools_pick("grep", "3.8-5", false, NULL, small, sizeof small), 0,
		  "a short note buffer is no overflow");
	CHECK(strlen(small) < sizeof small, "the note is cut");
}

int main(void)
{
	table();
	pick();
	return tap_done();
}
