/* Escaping per output format: YAML scalars round-trip, sysctl values refuse breaks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "escape.h"
#include "ynode.h"

/* Write "key: <quoted>" and read it back with libyaml: the value must match. */
static void roundtrip(const char *value, size_t len)
{
	struct buf doc = BUF_INIT;
	struct diags d = { NULL, 0, 0 };
	struct ynode *n = NULL, *v;

	assert_int_equal(buf_adds(&doc, "key: "), 0);
	assert_int_equal(yaml_quote(&doc, value, len), 0);
	assert_int_equal(buf_adds(&doc, "\nother: x\n"), 0);
	if (ynode_parse("t", doc.data, doc.len, 0, &n, &d) < 0) {
		print_error("does not parse: %s\n", doc.data);
		fail();
	}
	v = ynode_get(n, "key");
	assert_non_null(v);
	assert_int_equal(v->kind, YN_SCALAR);
	/* a plain scalar must not be one YAML would read as a bool/null/number */
	if (v->plain)
		assert_true(yaml_plain_safe(value, len));
	if (v->len != len || memcmp(v->value, value, len) != 0) {
		print_error("%s: got '%s'\n", doc.data, v->value);
		fail();
	}
	ynode_free(n);
	diags_free(&d);
	buf_free(&doc);
}

static void test_escape_yaml_roundtrip(void **state)
{
	static const char *const cases[] = {
		"kube-system", "a: b", "a:b", "# not a comment", "x #y", "'single'", "\"double\"",
		"*alias", "&anchor", "!tag", "%directive", "@at", "`tick", "{flow}", "[flow]",
		"- dash", "-", "?", "? q", "|", ">", "line1\nline2", "trailing\n", "\ttab",
		"  leading", "trailing  ", "ünïcödé ✓", "日本語", "emoji 😀", "true", "false",
		"yes", "No", "on", "OFF", "null", "~", "", "0", "10", "1.25", "0x1f", "1e3",
		".inf", "-.5", "+1", "1_000", "5m", "300s", "back\\slash", "nul-free \x01 ctl",
		"del\x7f", "\xc2\x85nel", "ls\xe2\x80\xa8sep", "bom\xef\xbb\xbf", "a,b", "a=b",
		"/var/lib/rancher/k3s/server/psa.yaml", "audit-log-path=/x/y", "k: v # c",
		"multi\n\nblank", "\r\n", "quote's", "mixed '\" both",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		roundtrip(cases[i], strlen(cases[i]));
}

static void test_escape_yaml_plain_when_safe(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(yaml_quote(&b, "kube-system", 11), 0);
	assert_string_equal(b.data, "kube-system");
	buf_reset(&b);
	assert_int_equal(yaml_quote(&b, "yes", 3), 0);
	assert_string_equal(b.data, "'yes'");
	buf_reset(&b);
	assert_int_equal(yaml_quote(&b, "a\nb", 3), 0);
	assert_string_equal(b.data, "\"a\\nb\"");
	buf_free(&b);
}

static void test_escape_yaml_invalid_utf8(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(yaml_quote(&b, "bad\xff", 4), -EILSEQ);
	assert_int_equal(yaml_quote(&b, "\xc0\x80", 2), -EILSEQ);      /* overlong NUL */
	assert_int_equal(yaml_quote(&b, "\xed\xa0\x80", 3), -EILSEQ);  /* surrogate */
	assert_int_equal(yaml_quote(&b, "cut\xe2\x82", 5), -EILSEQ);
	buf_free(&b);
}

static void test_escape_conf_refuses_breaks(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(esc_conf(&b, "1000000", 7, NULL), 0);
	assert_string_equal(b.data, "1000000");
	assert_int_equal(esc_conf(&b, "4096 87380", 10, NULL), 0);
	assert_int_equal(esc_conf(&b, "1\nkernel.panic=0", 16, NULL), -EINVAL);
	assert_int_equal(esc_conf(&b, "1\r", 2, NULL), -EINVAL);
	assert_int_equal(esc_conf(&b, "a\tb", 3, NULL), -EINVAL);
	assert_int_equal(esc_conf(&b, " 1", 2, NULL), -EINVAL);
	assert_int_equal(esc_conf(&b, "\x1b[31m", 5, NULL), -EINVAL);
	buf_free(&b);
}

static int teardown_all(void **state)
{
	(void)state;
	ynode_intern_free();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_yaml_roundtrip),
		cmocka_unit_test(test_escape_yaml_plain_when_safe),
		cmocka_unit_test(test_escape_yaml_invalid_utf8),
		cmocka_unit_test(test_escape_conf_refuses_breaks),
	};

	return cmocka_run_group_tests_name("escape", tests, NULL, teardown_all);
}
