/*
 * The built-in benchmark tables: every built-in benchmark is there with its
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
		const struct benchmark *b = benchmark_find(names[i]);
		unsigned j;

		assert_non_null(b);
		assert_string_equal(b->name, names[i]);
		assert_true(b->n_controls >= 120);
		for (j = 0; j < b->n_controls; j++) {
			const struct bench_control *c = &b->controls[j];

			assert_ptr_equal(benchmark_by_id(b, c->id), c);
			assert_ptr_equal(benchmark_by_key(b, c->key), c);
			assert_true(c->remedy != REMEDY_NA || c->note);
		}
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
		const struct benchmark *b = benchmark_find(audit_path[i].bench);
		const struct bench_control *c;

		assert_non_null(b);
		c = benchmark_by_key(b, "apiserver.audit_log_path");
		assert_non_null(c);
		assert_string_equal(c->id, audit_path[i].id);
		assert_string_equal(c->test.component, "kube-apiserver");
		assert_true(c->test.n_items >= 1);
		assert_string_equal(c->test.items[0].flag, "--audit-log-path");
		assert_string_equal(c->test.items[0].op, "set");
		assert_null(c->test.items[0].value);
	}
}

static void test_benchmark_unknown(void **state)
{
	(void)state;
	assert_null(benchmark_find("k3s-cis-9.9"));
	/* the components table lives beside the benchmarks but is none */
	assert_null(benchmark_find("k3s-components"));
}

static void test_benchmark_versions(void **state)
{
	const struct benchmark *b = benchmark_find("k3s-cis-1.8");

	(void)state;
	assert_true(k3s_version_cmp("1.24", "1.25") < 0);
	assert_true(k3s_version_cmp("v1.28.5+k3s1", "1.28") == 0);
	assert_true(k3s_version_cmp("v1.28.5+k3s1", "v1.28.10+k3s1") < 0);
	assert_true(k3s_version_cmp("1.100", "1.99") > 0);
	assert_true(k3s_version_cmp("2.0", "1.99") > 0);
	assert_int_equal(k3s_version_cmp("garbage", "1.2"), 0);
	assert_non_null(b);
	assert_string_equal(b->k3s_min, "1.26");
	assert_string_equal(b->k3s_max, "1.29");
	assert_true(benchmark_covers(b, "v1.26.0+k3s1"));
	assert_true(benchmark_covers(b, "1.29"));
	assert_true(benchmark_covers(b, "v1.29.15+k3s2"));
	assert_false(benchmark_covers(b, "v1.25.16+k3s4"));
	assert_false(benchmark_covers(b, "v1.30.1+k3s1"));
	assert_false(benchmark_covers(b, "x"));
	assert_string_equal(bench_remedy_name(REMEDY_NA), "na");
	assert_string_equal(bench_remedy_name(REMEDY_HOST), "host");
}

/*
 * The key index holds every key of every table once, sorted, each with its
 * ID in the newest table that has it.
 */
static void test_benchmark_all_keys(void **state)
{
	size_t n, nk, i, j, k;
	const char *const *names = benchmark_names(&n);
	const struct bench_key *all = benchmark_all_keys(&nk);

	(void)state;
	assert_true(nk >= 130);
	for (k = 1; k < nk; k++)
		assert_true(strcmp(all[k - 1].key, all[k].key) < 0);
	for (k = 0; k < nk; k++) {
		char want[128] = "";

		for (i = n; i-- > 0 && !want[0]; ) {
			const struct bench_control *c = benchmark_by_key(benchmark_find(names[i]), all[k].key);

			if (c)
				snprintf(want, sizeof(want), "%s:%s", names[i], c->id);
		}
		assert_string_equal(all[k].newest, want);
	}
	for (i = 0; i < n; i++) {
		const struct benchmark *b = benchmark_find(names[i]);

		for (j = 0; j < b->n_controls; j++) {
			const char *key = b->controls[j].key;
			bool found = false;

			for (k = 0; k < nk; k++)
				found |= strcmp(all[k].key, key) == 0;
			assert_true(found);
		}
	}
	/* README: protect-kernel-defaults is shown as k3s-cis-1.24:4.2.6 on 1.25 and later */
	for (k = 0; k < nk && strcmp(all[k].key, "kubelet.protect_kernel_defaults"); k++)
		;
	assert_true(k < nk);
	assert_string_equal(all[k].newest, "k3s-cis-1.24:4.2.6");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_benchmark_all_load),
		cmocka_unit_test(test_benchmark_moving_id),
		cmocka_unit_test(test_benchmark_unknown),
		cmocka_unit_test(test_benchmark_versions),
		cmocka_unit_test(test_benchmark_all_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
