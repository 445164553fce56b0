/* test-version.c - dpkg version ordering and relation operators */
#include "xsysroot/version.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

/* a < b, checked both ways */
static const char *const lt[][2] = {
	{ "1.0~rc1", "1.0" },
	{ "1.0~rc1", "1.0~rc2" },
	{ "1.0~~", "1.0~" },
	{ "1.0~~a", "1.0~" },
	{ "1.0~", "1.0" },
	{ "1.0", "1.0a" },
	{ "1.0", "1.0.1" },
	{ "1.0", "1.0+b1" },
	{ "1.0a", "1.0+" },   /* letters before non-letters */
	{ "1.0a", "1.0." },
	{ "1.0+", "1.0." },   /* then by character code */
	{ "2.0", "1:0.1" },
	{ "1:0.1", "2:0.0" },
	{ "9:1.0", "10:0.1" },
	{ "2.36-9+deb12u4", "2.36-9+deb12u10" },
	{ "1.0-1", "1.0-1ubuntu1" },
	{ "1.0-1", "1.0-2" },
	{ "1.0-9", "1.0-10" },
	{ "1.2", "1.10" },
	{ "1.09", "1.10" },
	{ "0.9", "1.0" },
	{ "1.0", "1.0-1" },
	{ "1.0-0", "1.0-0.1" },
	{ "12.2.0-14", "12.2.0-14+deb12u1" },
	{ "3.11.2-1", "3.11.2-1+b1" },
	{ "7.88.1-10+deb12u5", "7.88.1-10+deb12u12" },
	{ "1.2.3", "1.2.3-1" },
	{ "a", "b" },
	{ "A", "a" },
	{ "Z", "a" },
	{ "1.0~beta", "1.0~rc" },
	{ "1.0-1~bpo12+1", "1.0-1" },
	{ "2.36-9+deb12u4", "2.37" },
	{ "1:1.0-1", "1:1.0-2" },
	{ "00000000000000000000000000000001", "2" },
	{ "99999999999999999999999999999998", "99999999999999999999999999999999" },
	{ "1.0-a-1", "1.0-a-2" }, /* the revision is after the last hyphen */
	{ "", "0.1" },
	{ "1:", "1:0.1" },
};

/* a == b */
static const char *const eq[][2] = {
	{ "1.0", "1.0" },
	{ "1.0", "1.0-0" },
	{ "1.0", "0:1.0" },
	{ "0:1.0-0", "1.0" },
	{ "1.00", "1.0" },
	{ "1.0-01", "1.0-1" },
	{ "001:2", "1:2" },
	{ "0000000000000000000000000007", "7" },
	{ "", "" },
	{ "1.0-", "1.0" },
	{ "", "0" },
};

static void test_pairs(void)
{
	for (size_t i = 0; i < sizeof lt / sizeof lt[0]; i++) {
		CHECK(xs_version_cmp(lt[i][0], lt[i][1]) < 0, "'%s' < '%s'", lt[i][0], lt[i][1]);
		CHECK(xs_version_cmp(lt[i][1], lt[i][0]) > 0, "'%s' > '%s'", lt[i][1], lt[i][0]);
	}
	for (size_t i = 0; i < sizeof eq / sizeof eq[0]; i++) {
		CHECK(xs_version_cmp(eq[i][0], eq[i][1]) == 0, "'%s' == '%s'", eq[i][0], eq[i][1]);
		CHECK(xs_version_cmp(eq[i][1], eq[i][0]) == 0, "'%s' == '%s' (swapped)", eq[i][1],
		      eq[i][0]);
	}
	CHECK(xs_version_cmp(NULL, "") == 0, "NULL compares as the empty version");
	CHECK(xs_version_cmp(NULL, "1") < 0, "NULL is below 1");
}

static void test_order_is_total(void)
{
	/* a sorted list: every pair must compare in list order (transitivity) */
	const char *sorted[] = { "~~", "~", "~a", "", "0a", "0.1~", "0.1", "1.0~rc1",
				 "1.0", "1.0-0.1", "1.0-1~bpo1", "1.0-1", "1.0-1a", "1.0-1+b1",
				 "1.0a", "1.0+dfsg", "1.0.1", "1.1", "1.10", "2", "1:0",
				 "1:0.5", "2:0" };
	size_t n = sizeof sorted / sizeof sorted[0];
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int want = (i > j) - (i < j);
			if (sign(xs_version_cmp(sorted[i], sorted[j])) != want) {
				printf("# order broken: '%s' vs '%s'\n", sorted[i], sorted[j]);
				bad++;
			}
		}
	CHECK_INT(bad, 0, "a sorted list of %zu versions is consistently ordered", n);
}

static void test_hostile(void)
{
	/* odd input: must return a consistent answer without crashing */
	const char *odd[] = { ":", "::", "-", "--", ":-", "1:", "a:b:c-d-e", "~:~-~",
			      "\xff\xfe", "1.0-", "-1", "9999999999999999999999:1" };
	int bad = 0;
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		if (xs_version_cmp(odd[i], odd[i]) != 0)
			bad++;
		for (size_t j = 0; j < sizeof odd / sizeof odd[0]; j++)
			if (sign(xs_version_cmp(odd[i], odd[j])) !=
			    -sign(xs_version_cmp(odd[j], odd[i])))
				bad++;
	}
	CHECK_INT(bad, 0, "odd versions compare antisymmetrically");
	char *big = malloc(100001);
	memset(big, '9', 100000);
	big[100000] = 0;
	CHECK(xs_version_cmp(big, "1") > 0, "100000-digit number");
	CHECK(xs_version_cmp("9999999999999999999999:1", "2:1") > 0, "epoch beyond int range");
	free(big);
}

static void test_relops(void)
{
	int used = -1;
	CHECK_INT(xs_relop_parse("<<", &used), XS_OP_LT, "<<");
	CHECK_INT(used, 2, "<< uses two bytes");
	CHECK_INT(xs_relop_parse("<= 1", &used), XS_OP_LE, "<=");
	CHECK_INT(used, 2, "<= uses two bytes");
	CHECK_INT(xs_relop_parse("= 1", &used), XS_OP_EQ, "=");
	CHECK_INT(used, 1, "= uses one byte");
	CHECK_INT(xs_relop_parse(">=1", &used), XS_OP_GE, ">=");
	CHECK_INT(xs_relop_parse(">>", &used), XS_OP_GT, ">>");
	CHECK_INT(xs_relop_parse("< 1", &used), XS_OP_LE, "obsolete < is <=");
	CHECK_INT(used, 1, "< uses one byte");
	CHECK_INT(xs_relop_parse(">", &used), XS_OP_GE, "obsolete > is >=");
	CHECK_INT(xs_relop_parse("!=", &used), -1, "!= is not an operator");
	CHECK_INT(xs_relop_parse("", &used), -1, "empty");
	CHECK_INT(xs_relop_parse(NULL, &used), -1, "NULL");
	CHECK_STR(xs_relop_str(XS_OP_LT), "<<", "str <<");
	CHECK_STR(xs_relop_str(XS_OP_LE), "<=", "str <=");
	CHECK_STR(xs_relop_str(XS_OP_EQ), "=", "str =");
	CHECK_STR(xs_relop_str(XS_OP_GE), ">=", "str >=");
	CHECK_STR(xs_relop_str(XS_OP_GT), ">>", "str >>");
	CHECK_STR(xs_relop_str(XS_OP_NONE), "", "str none");

	CHECK(xs_version_satisfies("2.36-9", XS_OP_GE, "2.34"), "2.36-9 >= 2.34");
	CHECK(!xs_version_satisfies("2.33", XS_OP_GE, "2.34"), "2.33 not >= 2.34");
	CHECK(xs_version_satisfies("12.2.0-14", XS_OP_EQ, "12.2.0-14"), "= exact");
	CHECK(!xs_version_satisfies("12.2.0-14+b1", XS_OP_EQ, "12.2.0-14"), "= not binNMU");
	CHECK(xs_version_satisfies("1.0", XS_OP_EQ, "1.0-0"), "= with an implied revision");
	CHECK(xs_version_satisfies("1.0", XS_OP_LT, "1.1"), "<<");
	CHECK(!xs_version_satisfies("1.1", XS_OP_LT, "1.1"), "<< is strict");
	CHECK(xs_version_satisfies("1.1", XS_OP_LE, "1.1"), "<= allows equal");
	CHECK(xs_version_satisfies("1.2", XS_OP_GT, "1.1"), ">>");
	CHECK(!xs_version_satisfies("1.1", XS_OP_GT, "1.1"), ">> is strict");
	CHECK(xs_version_satisfies("1.0~rc1", XS_OP_LT, "1.0"), "~ below release");
	CHECK(xs_version_satisfies(NULL, XS_OP_NONE, NULL), "no operator is always true");
	CHECK(!xs_version_satisfies(NULL, XS_OP_GE, "1"), "no version, versioned constraint");
	CHECK(!xs_version_satisfies("1", (enum xs_relop)99, "1"), "unknown operator");
}

int main(void)
{
	test_pairs();
	test_order_is_total();
	test_hostile();
	test_relops();
	return tap_done();
}
