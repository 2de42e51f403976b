/* The CIS benchmark tables, compiled in (tools/bench-gen.c, benchmark_data.h). */
#include "benchmark.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchmark_data.h"

static const char *str(uint32_t off)
{
	return off == BGEN_NONE ? NULL : benchmark_pool + off;
}

/* Every table's name and range (what picking one needs), once. */
static void make_heads(void)
{
	static bool done;
	size_t i;

	if (done)
		return;
	for (i = 0; i < benchmark_n_tables; i++) {
		const struct bgen_table *g = &benchmark_gen_tables[i];
		struct benchmark *b = &benchmark_rt_tables[i];

		b->name = benchmark_rt_names[i] = str(g->name);
		b->title = str(g->title);
		b->k3s_min = str(g->k3s_min);
		b->k3s_max = str(g->k3s_max);
		b->source = str(g->source);
		b->controls = NULL;
		b->n_controls = g->n_controls;
	}
	done = true;
}

/* Table i with its controls, made on first use. */
static const struct benchmark *make_table(size_t i)
{
	const struct bgen_table *g = &benchmark_gen_tables[i];
	struct benchmark *b = &benchmark_rt_tables[i];
	uint32_t j, k;

	make_heads();
	if (b->controls)
		return b;
	for (j = g->controls; j < g->controls + g->n_controls; j++) {
		const struct bgen_control *gc = &benchmark_gen_controls[j];
		struct bench_control *c = &benchmark_rt_controls[j];

		c->id = str(gc->id);
		c->key = str(gc->key);
		c->title = str(gc->title);
		c->section = str(gc->section);
		c->scored = gc->scored;
		c->type = str(gc->type);
		c->assessment = str(gc->assessment);
		c->skip = gc->skip;
		c->role = (enum bench_role)gc->role;
		c->remedy = (enum bench_remedy)gc->remedy;
		c->note = str(gc->note);
		c->test.component = str(gc->component);
		c->test.config = str(gc->config);
		c->test.config_file = str(gc->config_file);
		c->test.file = str(gc->file);
		c->test.multiple = gc->multiple;
		c->test.bin_op = str(gc->bin_op);
		c->test.items = gc->n_items ? &benchmark_rt_items[gc->items] : NULL;
		c->test.n_items = gc->n_items;
		for (k = gc->items; k < gc->items + gc->n_items; k++) {
			const struct bgen_item *gi = &benchmark_gen_items[k];
			struct bench_item *it = &benchmark_rt_items[k];

			it->flag = str(gi->flag);
			it->path = str(gi->path);
			it->op = str(gi->op);
			it->value = str(gi->value);
		}
	}
	b->controls = &benchmark_rt_controls[g->controls];
	return b;
}

/* Chronological, as the Makefile lists the tables (BENCH_TABLES). */
const char *const *benchmark_names(size_t *n)
{
	make_heads();
	*n = benchmark_n_tables;
	return benchmark_rt_names;
}

const struct benchmark *benchmark_find(const char *name)
{
	size_t i;

	make_heads();
	for (i = 0; i < benchmark_n_tables; i++)
		if (strcmp(benchmark_rt_tables[i].name, name) == 0)
			return make_table(i);
	return NULL;
}

const struct bench_key *benchmark_all_keys(size_t *n)
{
	static bool done;
	size_t i;

	if (!done) {
		for (i = 0; i < benchmark_n_keys; i++) {
			benchmark_rt_keys[i].key = str(benchmark_gen_keys[i].key);
			benchmark_rt_keys[i].newest = str(benchmark_gen_keys[i].newest);
		}
		done = true;
	}
	*n = benchmark_n_keys;
	return benchmark_rt_keys;
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

	make_heads();
	while (i-- > 0) {
		const struct benchmark *b = &benchmark_rt_tables[i];

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
