/*
 * YAML node trees: lookups in big mappings (the hash index) give the same
 * answers as a scan, stay right after removals and in-place replacement,
 * duplicate keys are found in big mappings, and a document with more nodes
 * than the documented cap is refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "ynode.h"

static int teardown(void **state)
{
	(void)state;
	ynode_intern_free();
	return 0;
}

static struct ynode *parse_ok(const char *text, size_t len)
{
	struct diags d = { NULL, 0, 0 };
	struct ynode *n = NULL;
	int r = ynode_parse("t.yaml", text, len, 0, &n, &d);

	if (r < 0 && d.n)
		print_error("%s:%u:%u: %s\n", d.v[0].file, d.v[0].line, d.v[0].col, d.v[0].msg);
	assert_int_equal(r, 0);
	diags_free(&d);
	return n;
}

static void test_ynode_big_map_lookup(void **state)
{
	struct buf b = BUF_INIT;
	struct ynode *m;
	char key[32];
	long i;

	(void)state;
	for (i = 0; i < 5000; i++)
		assert_int_equal(buf_printf(&b, "k%ld: v%ld\n", i, i), 0);
	m = parse_ok(b.data, b.len);
	assert_int_equal(m->n, 5000);
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%ld", i);
		assert_int_equal(ynode_find(m, key), i);
		snprintf(key, sizeof(key), "v%ld", i);
		assert_null(ynode_get(m, key));
	}
	assert_int_equal(ynode_find(m, "k5000"), -1);
	assert_int_equal(ynode_find(m, ""), -1);
	assert_int_equal(ynode_find(m, "k1 "), -1);
	assert_string_equal(ynode_get(m, "k4999")->value, "v4999");

	/* removal moves positions: lookups follow */
	ynode_remove(m, 0);
	assert_int_equal(ynode_find(m, "k0"), -1);
	assert_int_equal(ynode_find(m, "k1"), 0);
	assert_int_equal(ynode_find(m, "k4999"), 4998);

	/* replacing a value in place keeps the key findable */
	ynode_free(m->items[10]);
	m->items[10] = ynode_scalar("t.yaml", "new");
	assert_string_equal(ynode_get(m, "k11")->value, "new");

	/* appends after a copy are indexed too */
	{
		struct ynode *c = ynode_copy(m);

		assert_non_null(c);
		assert_int_equal(ynode_append(c, ynode_scalar("t.yaml", "extra"),
					      ynode_scalar("t.yaml", "e")), 0);
		assert_int_equal(ynode_find(c, "extra"), 4999);
		assert_int_equal(ynode_find(c, "k2"), 1);
		/* a second key of the same name: the first one is found */
		assert_int_equal(ynode_append(c, ynode_scalar("t.yaml", "k2"),
					      ynode_scalar("t.yaml", "dup")), 0);
		assert_int_equal(ynode_find(c, "k2"), 1);
		ynode_free(c);
	}
	ynode_free(m);
	buf_free(&b);
}

static void test_ynode_big_map_duplicate(void **state)
{
	struct diags d = { NULL, 0, 0 };
	struct buf b = BUF_INIT;
	struct ynode *m = NULL;
	long i;

	(void)state;
	assert_int_equal(buf_adds(&b, "top:\n"), 0);
	for (i = 0; i < 3000; i++)
		assert_int_equal(buf_printf(&b, "  k%ld: %ld\n", i, i), 0);
	assert_int_equal(buf_adds(&b, "  k1234: again\n"), 0);
	assert_int_equal(ynode_parse("t.yaml", b.data, b.len, 0, &m, &d), -EINVAL);
	assert_null(m);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 3002);
	assert_string_equal(d.v[0].msg, "top.k1234: duplicate key (also set on line 1236)");
	diags_free(&d);
	buf_free(&b);
}

static void test_ynode_node_cap(void **state)
{
	struct diags d = { NULL, 0, 0 };
	struct buf b = BUF_INIT;
	struct ynode *m = NULL;
	long i;

	(void)state;
	/* the root map and two nodes a key: exactly at the cap parses */
	for (i = 0; i < (YN_MAX_NODES - 1) / 2; i++)
		assert_int_equal(buf_printf(&b, "%lx:\n", i), 0);
	m = parse_ok(b.data, b.len);
	assert_int_equal(m->n, (YN_MAX_NODES - 1) / 2);
	ynode_free(m);
	m = NULL;
	/* one key more is over */
	assert_int_equal(buf_adds(&b, "last:\n"), 0);
	assert_int_equal(ynode_parse("t.yaml", b.data, b.len, 0, &m, &d), -EINVAL);
	assert_null(m);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "more than 500000 YAML nodes"));
	diags_free(&d);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ynode_big_map_lookup, teardown),
		cmocka_unit_test_teardown(test_ynode_big_map_duplicate, teardown),
		cmocka_unit_test_teardown(test_ynode_node_cap, teardown),
	};

	return cmocka_run_group_tests_name("ynode", tests, NULL, NULL);
}
