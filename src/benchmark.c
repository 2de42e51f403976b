/* The CIS benchmark tables, compiled in (tools/bench-gen.c, benchmark_data.h). */
#include "benchmark.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchmark_data.h"

/* Chronological, as the Makefile lists the tables (BENCH_TABLES). */
const char *const *benchmark_names(size_t *n)
{
	*n = benchmark_n_tables;
	return benchmark_table_names;
}

const struct benchmark *benchmark_find(const char *name)
{
	size_t i;

	for (i = 0; i < benchmark_n_tables; i++)
		if (strcmp(benchmark_tables[i].name, name) == 0)
			return &benchmark_tables[i];
	return NULL;
}

const struct bench_key *benchmark_all_keys(size_t *n)
{
	*n = benchmark_n_keys;
	return benchmark_key_index;
}

const struct bench_control *benchmark_by_key(const struct benchmark *b, const char *key)
{
	unsigned i;

	for (i = 0; i < b->n_controls; i++)
		if (strcmp(b->controls[i].key, key) == 0)
			return &b->controls[i];
	return NULL;
}

const struct bench_control *benchmark_by_id(const struct benchmark *b, const char *id)
{
	unsigned i;

	for (i = 0; i < b->n_controls; i++)
		if (strcmp(b->controls[i].id, id) == 0)
			return &b->controls[i];
	return NULL;
}

/* "v1.28.5+k3s1" -> 1, 28, 5 (patch -1 when absent); false when unparsable. */
static bool parse_version(const char *v, long part[3])
{
	int i;

	part[2] = -1;
	if (*v == 'v' || *v == 'V')
		v++;
	for (i = 0; i < 3; i++) {
		char *end;

		if (*v < '0' || *v > '9')
			return i >= 2;
		part[i] = strtol(v, &end, 10);
		v = end;
		if (*v != '.')
			return i >= 1;
		v++;
	}
	return true;
}

int k3s_version_cmp(const char *a, const char *b)
{
	long x[3], y[3];
	int i;

	if (!parse_version(a, x) || !parse_version(b, y))
		return 0;
	for (i = 0; i < 3; i++) {
		if (i == 2 && (x[2] < 0 || y[2] < 0))
			return 0;
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}

bool benchmark_covers(const struct benchmark *b, const char *v)
{
	long x[3];
	char minor[32];

	if (!parse_version(v, x))
		return false;
	snprintf(minor, sizeof(minor), "%ld.%ld", x[0], x[1]);
	return k3s_version_cmp(minor, b->k3s_min) >= 0 && k3s_version_cmp(minor, b->k3s_max) <= 0;
}

const char *benchmark_newest_covering(const char *v, bool (*keep)(const char *name))
{
	size_t i = benchmark_n_tables;

	while (i-- > 0) {
		const struct benchmark *b = &benchmark_tables[i];

		if ((!keep || keep(b->name)) && (!v || benchmark_covers(b, v)))
			return b->name;
	}
	return NULL;
}

const char *bench_remedy_name(enum bench_remedy r)
{
	static const char *const names[] = { "host", "cluster", "manual", "na" };

	return names[r];
}
