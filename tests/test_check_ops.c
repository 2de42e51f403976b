/*
 * kube-bench's test operators, one test each, with the cases kube-bench's
 * own semantics decide: an absent value fails every compare, booleans
 * compare without case, numbers compare as integers, bitmask passes when
 * the mode has no bit outside the mask.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "check_ops.h"

static void test_set(void **state)
{
	(void)state;
	assert_true(check_op("set", true, "x", NULL));
	assert_true(check_op("set", true, "", NULL));
	assert_false(check_op("set", false, NULL, NULL));
}

static void test_unset(void **state)
{
	(void)state;
	assert_true(check_op("unset", false, NULL, NULL));
	assert_false(check_op("unset", true, "false", NULL));
}

static void test_eq(void **state)
{
	(void)state;
	assert_true(check_op("eq", true, "false", "false"));
	assert_true(check_op("eq", true, "FALSE", "false"));
	assert_true(check_op("eq", true, "root:root", "root:root"));
	assert_false(check_op("eq", true, "Root:root", "root:root"));
	assert_false(check_op("eq", true, "true", "false"));
	assert_false(check_op("eq", false, NULL, "false"));
	/* a flag given without a value reads as true */
	assert_true(check_op("eq", true, NULL, "true"));
}

static void test_noteq(void **state)
{
	(void)state;
	assert_true(check_op("noteq", true, "true", "false"));
	assert_false(check_op("noteq", true, "False", "false"));
	assert_true(check_op("noteq", true, "5m", "0"));
	assert_false(check_op("noteq", false, NULL, "0"));
}

static void test_gt(void **state)
{
	(void)state;
	assert_true(check_op("gt", true, "31", "30"));
	assert_false(check_op("gt", true, "30", "30"));
	assert_false(check_op("gt", true, "30d", "10"));
	assert_false(check_op("gt", false, NULL, "0"));
}

static void test_gte(void **state)
{
	(void)state;
	assert_true(check_op("gte", true, "30", "30"));
	assert_true(check_op("gte", true, "100", "30"));
	assert_false(check_op("gte", true, "7", "30"));
	assert_false(check_op("gte", true, "", "30"));
	assert_false(check_op("gte", true, "1e3", "30"));
	assert_true(check_op("gte", true, "-0", "0"));
	assert_false(check_op("gte", false, NULL, "30"));
}

static void test_lt(void **state)
{
	(void)state;
	assert_true(check_op("lt", true, "-1", "0"));
	assert_false(check_op("lt", true, "0", "0"));
	assert_false(check_op("lt", true, "abc", "10"));
}

static void test_lte(void **state)
{
	(void)state;
	assert_true(check_op("lte", true, "10", "10"));
	assert_false(check_op("lte", true, "11", "10"));
	assert_false(check_op("lte", false, NULL, "10"));
}

static void test_has(void **state)
{
	(void)state;
	assert_true(check_op("has", true, "NodeRestriction,EventRateLimit", "EventRateLimit"));
	assert_false(check_op("has", true, "NodeRestriction", "EventRateLimit"));
	/* kube-bench's has is a substring test */
	assert_true(check_op("has", true, "127.0.0.1:10249", "127.0.0.1"));
	assert_false(check_op("has", false, NULL, "Node"));
}

static void test_nothave(void **state)
{
	(void)state;
	assert_true(check_op("nothave", true, "Node,RBAC", "AlwaysAllow"));
	assert_false(check_op("nothave", true, "Node,AlwaysAllow", "AlwaysAllow"));
	/* absent: a compare op fails; the benchmark joins it with `unset` by `or` */
	assert_false(check_op("nothave", false, NULL, "AlwaysAllow"));
}

static void test_valid_elements(void **state)
{
	const char *ok = "aescbc,kms,secretbox";

	(void)state;
	assert_true(check_op("valid_elements", true, "aescbc", ok));
	assert_true(check_op("valid_elements", true, "secretbox,aescbc,", ok));
	assert_true(check_op("valid_elements", true, " kms , aescbc", ok));
	assert_false(check_op("valid_elements", true, "identity", ok));
	assert_false(check_op("valid_elements", true, "aescbc,identity", ok));
	assert_false(check_op("valid_elements", true, "aes", ok));
	assert_false(check_op("valid_elements", true, "", ok));
	assert_false(check_op("valid_elements", true, "aescbc,,kms", ok));
	assert_false(check_op("valid_elements", false, NULL, ok));
}

static void test_bitmask(void **state)
{
	(void)state;
	assert_true(check_op("bitmask", true, "600", "600"));
	assert_true(check_op("bitmask", true, "400", "600"));
	assert_true(check_op("bitmask", true, "0", "600"));
	assert_true(check_op("bitmask", true, "700", "700"));
	assert_false(check_op("bitmask", true, "644", "600"));
	assert_false(check_op("bitmask", true, "755", "700"));
	assert_true(check_op("bitmask", true, "644", "644"));
	assert_false(check_op("bitmask", true, "800", "600"));
	assert_false(check_op("bitmask", false, NULL, "600"));
}

static void test_regex(void **state)
{
	(void)state;
	assert_true(check_op("regex", true, "5m0s", "^[0-9]+m"));
	assert_false(check_op("regex", true, "0", "^[1-9]"));
	assert_false(check_op("regex", true, "x", "("));   /* invalid expression */
	assert_false(check_op("regex", false, NULL, "."));
}

static void test_unknown(void **state)
{
	(void)state;
	assert_false(check_op_known("noteqx"));
	assert_false(check_op("noteqx", true, "0", "0"));
	assert_false(check_op(NULL, true, "0", "0"));
	assert_true(check_op_takes_value("gte"));
	assert_false(check_op_takes_value("unset"));
}

static void test_and_or(void **state)
{
	bool tt[] = { true, true }, tf[] = { true, false }, ff[] = { false, false };

	(void)state;
	assert_true(check_combine("and", tt, 2));
	assert_false(check_combine("and", tf, 2));
	assert_true(check_combine("or", tf, 2));
	assert_false(check_combine("or", ff, 2));
	assert_true(check_combine(NULL, tt, 2));
	assert_true(check_combine("and", NULL, 0));
	assert_false(check_combine("or", NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),     cmocka_unit_test(test_unset),
		cmocka_unit_test(test_eq),      cmocka_unit_test(test_noteq),
		cmocka_unit_test(test_gt),      cmocka_unit_test(test_gte),
		cmocka_unit_test(test_lt),      cmocka_unit_test(test_lte),
		cmocka_unit_test(test_has),     cmocka_unit_test(test_nothave),
		cmocka_unit_test(test_valid_elements), cmocka_unit_test(test_bitmask),
		cmocka_unit_test(test_regex),   cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_and_or),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
