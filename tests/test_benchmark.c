/*
 * The embedded benchmark tables: every built-in benchmark loads with its
 * controls, keys and IDs resolve, an ID that moves between versions is
 * found under its stable key, and K3s versions compare and fall into a
 * benchmark's range as the tables say.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "benchmark.h"

static void test_benchmark_all_load(void **state)
{
	size_t n, i;
	const char *const *names = benchmark_names(&n);

	(void)state;
	assert_int_equal(n, 11);
	for (i = 0; i < n; i++) {
		struct diags d = { NULL, 0, 0 };
		struct benchmark *b = NULL;
		unsigned j;

		assert_int_equal(benchmark_load(names[i], &b, &d), 0);
		assert_string_equal(b->name, names[i]);
		assert_true(b->n_controls >= 120);
		for (j = 0; j < b->n_controls; j++) {
			const struct bench_control *c = &b->controls[j];

			assert_ptr_equal(benchmark_by_id(b, c->id), c);
			assert_ptr_equal(benchmark_by_key(b, c->key), c);
			assert_true(c->remedy != REMEDY_NA || c->note);
		}
		benchmark_free(b);
		diags_free(&d);
	}
}

static void test_benchmark_moving_id(void **state)
{
	static const struct { const char *bench, *id; } audit_path[] = {
		{ "k3s-cis-1.7", "1.2.18" }, { "k3s-cis-1.8", "1.2.17" }, { "k3s-cis-1.9", "1.2.16" },
		{ "k3s-cis-1.12", "1.2.16" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(audit_path) / sizeof(audit_path[0]); i++) {
		struct diags d = { NULL, 0, 0 };
		struct benchmark *b = NULL;
		const struct bench_control *c;

		assert_int_equal(benchmark_load(audit_path[i].bench, &b, &d), 0);
		c = benchmark_by_key(b, "apiserver.audit_log_path");
		assert_non_null(c);
		assert_string_equal(c->id, audit_path[i].id);
		assert_string_equal(c->test.component, "kube-apiserver");
		assert_true(c->test.n_items >= 1);
		assert_string_equal(c->test.items[0].flag, "--audit-log-path");
		assert_string_equal(c->test.items[0].op, "set");
		assert_null(c->test.items[0].value);
		benchmark_free(b);
	}
}

static void test_benchmark_unknown(void **state)
{
	struct diags d = { NULL, 0, 0 };
	struct benchmark *b = NULL;

	(void)state;
	assert_int_equal(benchmark_load("k3s-cis-9.9", &b, &d), -ENOENT);
	/* the components table is embedded beside the benchmarks but is none */
	assert_int_equal(benchmark_load("k3s-components", &b, &d), -ENOENT);
	assert_null(b);
	assert_int_equal(d.n, 0);
}

static void test_benchmark_versions(void **state)
{
	struct diags d = { NULL, 0, 0 };
	struct benchmark *b = NULL;

	(void)state;
	assert_true(k3s_version_cmp("1.24", "1.25") < 0);
	assert_true(k3s_version_cmp("v1.28.5+k3s1", "1.28") == 0);
	assert_true(k3s_version_cmp("v1.28.5+k3s1", "v1.28.10+k3s1") < 0);
	assert_true(k3s_version_cmp("1.100", "1.99") > 0);
	assert_true(k3s_version_cmp("2.0", "1.99") > 0);
	assert_int_equal(k3s_version_cmp("garbage", "1.2"), 0);
	assert_int_equal(benchmark_load("k3s-cis-1.8", &b, &d), 0);
	assert_string_equal(b->k3s_min, "1.26");
	assert_string_equal(b->k3s_max, "1.29");
	assert_true(benchmark_covers(b, "v1.26.0+k3s1"));
	assert_true(benchmark_covers(b, "1.29"));
	assert_true(benchmark_covers(b, "v1.29.15+k3s2"));
	assert_false(benchmark_covers(b, "v1.25.16+k3s4"));
	assert_false(benchmark_covers(b, "v1.30.1+k3s1"));
	assert_false(benchmark_covers(b, "x"));
	assert_string_equal(bench_remedy_name(REMEDY_NA), "na");
	benchmark_free(b);
}

struct seen {
	const struct benchmark *b;
	unsigned n;
	bool same;
};

static int collect(void *ctx, const char *id, size_t id_len, const char *key, size_t key_len)
{
	struct seen *s = ctx;
	const struct bench_control *c = s->n < s->b->n_controls ? &s->b->controls[s->n] : NULL;

	s->same &= c && strlen(c->id) == id_len && !strncmp(c->id, id, id_len) &&
		   strlen(c->key) == key_len && !strncmp(c->key, key, key_len);
	s->n++;
	return 0;
}

/* The cheap key scan gives exactly the IDs and keys of the full parse, in order. */
static void test_benchmark_keys_scan(void **state)
{
	size_t n, i;
	const char *const *names = benchmark_names(&n);

	(void)state;
	for (i = 0; i < n; i++) {
		struct diags d = { NULL, 0, 0 };
		struct benchmark *b = NULL;
		struct seen s;

		assert_int_equal(benchmark_load(names[i], &b, &d), 0);
		s.b = b;
		s.n = 0;
		s.same = true;
		assert_int_equal(benchmark_keys(names[i], collect, &s), 0);
		assert_true(s.same);
		assert_int_equal(s.n, b->n_controls);
		benchmark_free(b);
	}
	assert_int_equal(benchmark_keys("k3s-components", collect, NULL), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_benchmark_all_load),
		cmocka_unit_test(test_benchmark_moving_id),
		cmocka_unit_test(test_benchmark_unknown),
		cmocka_unit_test(test_benchmark_versions),
		cmocka_unit_test(test_benchmark_keys_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
