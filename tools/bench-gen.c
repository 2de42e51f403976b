/*
 * Build-time generator: loads the CIS benchmark tables (benchmarks/k3s-cis-*.yaml,
 * format in benchmarks/README.md) with libcyaml and writes them as const C
 * tables (benchmark_data.h), with the index of every stable key to its ID in
 * the newest benchmark that has it, so no command parses a table
 * (src/benchmark.c).
 *
 * usage: bench-gen OUT.c TABLE.yaml...   (tables oldest first)
 *
 * A table that does not load, or whose name is not its file name, or that
 * repeats an ID or a key, fails the build.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cyaml/cyaml.h>

#include "benchmark_data.h"

#define OPT CYAML_FLAG_OPTIONAL
#define STR_MAX 4096
#define FILE_MAX (4 << 20)

static const cyaml_strval_t role_strings[] = {
	{ "server", BROLE_SERVER }, { "agent", BROLE_AGENT }, { "both", BROLE_BOTH },
};
static const cyaml_strval_t remedy_strings[] = {
	{ "host", REMEDY_HOST }, { "cluster", REMEDY_CLUSTER }, { "manual", REMEDY_MANUAL },
	{ "na", REMEDY_NA },
};

#define STRING(key, flags, st, member) CYAML_FIELD_STRING_PTR(key, flags, st, member, 0, STR_MAX)

static const cyaml_schema_field_t item_fields[] = {
	STRING("flag", OPT, struct bench_item, flag),
	STRING("path", OPT, struct bench_item, path),
	STRING("op", CYAML_FLAG_DEFAULT, struct bench_item, op),
	STRING("value", OPT, struct bench_item, value),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t item_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct bench_item, item_fields),
};

static const cyaml_schema_field_t test_fields[] = {
	STRING("component", CYAML_FLAG_DEFAULT, struct bench_test, component),
	STRING("config", OPT, struct bench_test, config),
	STRING("config_file", OPT, struct bench_test, config_file),
	STRING("file", OPT, struct bench_test, file),
	CYAML_FIELD_BOOL("multiple", OPT, struct bench_test, multiple),
	STRING("bin_op", CYAML_FLAG_DEFAULT, struct bench_test, bin_op),
	CYAML_FIELD_SEQUENCE_COUNT("items", CYAML_FLAG_POINTER, struct bench_test, items, n_items,
				   &item_entry, 0, CYAML_UNLIMITED),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t control_fields[] = {
	STRING("id", CYAML_FLAG_DEFAULT, struct bench_control, id),
	STRING("key", CYAML_FLAG_DEFAULT, struct bench_control, key),
	STRING("title", CYAML_FLAG_DEFAULT, struct bench_control, title),
	STRING("section", CYAML_FLAG_DEFAULT, struct bench_control, section),
	CYAML_FIELD_BOOL("scored", CYAML_FLAG_DEFAULT, struct bench_control, scored),
	STRING("type", CYAML_FLAG_DEFAULT, struct bench_control, type),
	STRING("assessment", CYAML_FLAG_DEFAULT, struct bench_control, assessment),
	CYAML_FIELD_BOOL("skip", CYAML_FLAG_DEFAULT, struct bench_control, skip),
	CYAML_FIELD_ENUM("role", CYAML_FLAG_STRICT, struct bench_control, role, role_strings,
			 CYAML_ARRAY_LEN(role_strings)),
	CYAML_FIELD_ENUM("remedy", CYAML_FLAG_STRICT, struct bench_control, remedy, remedy_strings,
			 CYAML_ARRAY_LEN(remedy_strings)),
	STRING("note", OPT, struct bench_control, note),
	CYAML_FIELD_MAPPING("test", CYAML_FLAG_DEFAULT, struct bench_control, test, test_fields),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t control_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct bench_control, control_fields),
};

static const cyaml_schema_field_t benchmark_fields[] = {
	STRING("name", CYAML_FLAG_DEFAULT, struct benchmark, name),
	STRING("title", CYAML_FLAG_DEFAULT, struct benchmark, title),
	STRING("k3s_min", CYAML_FLAG_DEFAULT, struct benchmark, k3s_min),
	STRING("k3s_max", CYAML_FLAG_DEFAULT, struct benchmark, k3s_max),
	STRING("source", CYAML_FLAG_DEFAULT, struct benchmark, source),
	CYAML_FIELD_IGNORE("k3s_range_source", OPT),
	CYAML_FIELD_SEQUENCE_COUNT("controls", CYAML_FLAG_POINTER, struct benchmark, controls,
				   n_controls, &control_entry, 1, CYAML_UNLIMITED),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t benchmark_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct benchmark, benchmark_fields),
};

static void log_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
	__attribute__((format(printf, 3, 0)));

static void log_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	(void)ctx;
	if (level >= CYAML_LOG_ERROR)
		vfprintf(stderr, fmt, args);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;

	if (!f) {
		perror(path);
		return NULL;
	}
	data = malloc(FILE_MAX + 1);
	if (!data) {
		fclose(f);
		return NULL;
	}
	*len = fread(data, 1, FILE_MAX + 1, f);
	fclose(f);
	if (*len > FILE_MAX) {
		fprintf(stderr, "%s: larger than %d bytes\n", path, FILE_MAX);
		free(data);
		return NULL;
	}
	return data;
}

static struct benchmark *load(const char *path)
{
	cyaml_config_t cfg;
	cyaml_data_t *data = NULL;
	cyaml_err_t e;
	size_t len, bl;
	char *text = read_file(path, &len);
	const char *base = strrchr(path, '/');
	struct benchmark *b;
	unsigned i, j;

	if (!text)
		return NULL;
	memset(&cfg, 0, sizeof(cfg));
	cfg.log_fn = log_fn;
	cfg.mem_fn = cyaml_mem;
	cfg.log_level = CYAML_LOG_ERROR;
	cfg.flags = CYAML_CFG_NO_ALIAS;
	e = cyaml_load_data((const uint8_t *)text, len, &cfg, &benchmark_schema, &data, NULL);
	free(text);
	if (e != CYAML_OK) {
		fprintf(stderr, "%s: does not load: %s\n", path, cyaml_strerror(e));
		return NULL;
	}
	b = data;
	base = base ? base + 1 : path;
	bl = strlen(base);
	if (bl > 5 && strcmp(base + bl - 5, ".yaml") == 0)
		bl -= 5;
	if (strlen(b->name) != bl || strncmp(b->name, base, bl) != 0) {
		fprintf(stderr, "%s: name '%s' is not the file name\n", path, b->name);
		return NULL;
	}
	for (i = 0; i < b->n_controls; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(b->controls[i].id, b->controls[j].id) ||
			    !strcmp(b->controls[i].key, b->controls[j].key)) {
				fprintf(stderr, "%s: controls %s and %s repeat an ID or a key\n", path,
					b->controls[j].id, b->controls[i].id);
				return NULL;
			}
	return b;
}

/*
 * Every string once, in one pool; a table refers to it by offset, so the
 * generated data holds no pointers and the binary has nothing to relocate
 * at start (benchmark.c makes the structs of a table when it is first used).
 */
struct pool {
	struct buf_s {
		char *data;
		size_t len, cap;
	} text;
	uint32_t *slot;         /* offset + 1; 0 empty */
	size_t cap;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static uint32_t pool_add(struct pool *p, const char *s)
{
	size_t i, l;

	if (!s)
		return BGEN_NONE;
	for (i = fnv(s) & (p->cap - 1); p->slot[i]; i = (i + 1) & (p->cap - 1))
		if (!strcmp(p->text.data + p->slot[i] - 1, s))
			return p->slot[i] - 1;
	l = strlen(s) + 1;
	if (p->text.len + l > p->text.cap) {
		p->text.cap = (p->text.len + l) * 2;
		if (!(p->text.data = realloc(p->text.data, p->text.cap))) {
			fprintf(stderr, "bench-gen: out of memory\n");
			exit(1);
		}
	}
	memcpy(p->text.data + p->text.len, s, l);
	p->slot[i] = (uint32_t)p->text.len + 1;
	p->text.len += l;
	return p->slot[i] - 1;
}

static void emit_table(FILE *out, struct pool *P, const struct benchmark *b, unsigned *n_items)
{
	unsigned i;

	for (i = 0; i < b->n_controls; i++) {
		const struct bench_control *c = &b->controls[i];
		const struct bench_test *x = &c->test;

		fprintf(out, "\t{ %u, %u, %u, %u, %u, %u, %u, %u, %u, %u, %u, %u, %u, %u, %d, %d, %d, %d, %d },\n",
			pool_add(P, c->id), pool_add(P, c->key), pool_add(P, c->title), pool_add(P, c->section),
			pool_add(P, c->type), pool_add(P, c->assessment), pool_add(P, c->note),
			pool_add(P, x->component), pool_add(P, x->config), pool_add(P, x->config_file),
			pool_add(P, x->file), pool_add(P, x->bin_op), *n_items, x->n_items, c->scored, c->skip,
			(int)c->role, (int)c->remedy, x->multiple);
		*n_items += x->n_items;
	}
}

static void emit_items(FILE *out, struct pool *P, const struct benchmark *b)
{
	unsigned i, j;

	for (i = 0; i < b->n_controls; i++)
		for (j = 0; j < b->controls[i].test.n_items; j++) {
			const struct bench_item *it = &b->controls[i].test.items[j];

			fprintf(out, "\t{ %u, %u, %u, %u },\n", pool_add(P, it->flag), pool_add(P, it->path),
				pool_add(P, it->op), pool_add(P, it->value));
		}
}

struct key_ref {
	const char *key;
	unsigned table, control;
};

static int cmp_ref(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	/* of equal keys the newest table's first */
	return c ? c : (x->table < y->table) - (x->table > y->table);
}

/* Every key once, sorted by strcmp, with "NEWEST-BENCHMARK:ID". */
static size_t emit_keys(FILE *out, struct pool *P, struct benchmark **b, unsigned n)
{
	struct key_ref *v;
	size_t k = 0, cap = 0, i, m = 0;
	unsigned t, c;

	for (t = 0; t < n; t++)
		cap += b[t]->n_controls;
	v = malloc(cap * sizeof(*v));
	if (!v) {
		fprintf(stderr, "bench-gen: out of memory\n");
		exit(1);
	}
	for (t = 0; t < n; t++)
		for (c = 0; c < b[t]->n_controls; c++)
			v[k++] = (struct key_ref){ b[t]->controls[c].key, t, c };
	qsort(v, k, sizeof(*v), cmp_ref);
	fputs("const struct bgen_key benchmark_gen_keys[] = {\n", out);
	for (i = 0; i < k; i++) {
		char label[256];

		if (i && !strcmp(v[i - 1].key, v[i].key))
			continue;
		snprintf(label, sizeof(label), "%s:%s", b[v[i].table]->name,
			 b[v[i].table]->controls[v[i].control].id);
		fprintf(out, "\t{ %u, %u },\n", pool_add(P, v[i].key), pool_add(P, label));
		m++;
	}
	fputs("};\n", out);
	free(v);
	return m;
}

/* The pool as string literals; every byte outside plain ASCII (and '?': no trigraphs) in octal. */
static void emit_pool(FILE *out, const struct pool *P)
{
	size_t i;

	fputs("const char benchmark_pool[] =", out);
	for (i = 0; i < P->text.len; i++) {
		unsigned char c = (unsigned char)P->text.data[i];

		if (i % 64 == 0)
			fputs(i ? "\"\n\t\"" : "\n\t\"", out);
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?')
			putc(c, out);
		else
			fprintf(out, "\\%03o", c);
	}
	fputs("\";\n", out);
}

int main(int argc, char **argv)
{
	struct benchmark **b;
	struct pool P;
	FILE *out;
	int i, n = argc - 2;
	unsigned n_controls = 0, n_items = 0;
	size_t n_keys;

	if (argc < 3) {
		fprintf(stderr, "usage: bench-gen OUT.c TABLE.yaml...\n");
		return 2;
	}
	memset(&P, 0, sizeof(P));
	b = calloc((size_t)n, sizeof(*b));
	if (!b)
		return 1;
	for (i = 0; i < n; i++)
		if (!(b[i] = load(argv[i + 2])))
			return 1;
	out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	P.cap = 1 << 16;
	if (!(P.slot = calloc(P.cap, sizeof(*P.slot))))
		return 1;
	fputs("/* generated by tools/bench-gen.c from benchmarks/k3s-cis-*.yaml; do not edit */\n"
	      "#include \"benchmark_data.h\"\n\n", out);
	fputs("const struct bgen_table benchmark_gen_tables[] = {\n", out);
	for (i = 0; i < n; i++) {
		fprintf(out, "\t{ %u, %u, %u, %u, %u, %u, %u },\n", pool_add(&P, b[i]->name),
			pool_add(&P, b[i]->title), pool_add(&P, b[i]->k3s_min), pool_add(&P, b[i]->k3s_max),
			pool_add(&P, b[i]->source), n_controls, b[i]->n_controls);
		n_controls += b[i]->n_controls;
	}
	fputs("};\nconst struct bgen_control benchmark_gen_controls[] = {\n", out);
	for (i = 0; i < n; i++)
		emit_table(out, &P, b[i], &n_items);
	fputs("};\nconst struct bgen_item benchmark_gen_items[] = {\n", out);
	for (i = 0; i < n; i++)
		emit_items(out, &P, b[i]);
	fputs("};\n", out);
	n_keys = emit_keys(out, &P, b, (unsigned)n);
	emit_pool(out, &P);
	fprintf(out, "\n/* the tables as benchmark.h structs, made at first use (benchmark.c) */\n"
		"const size_t benchmark_n_tables = %d, benchmark_n_keys = %zu;\n"
		"struct benchmark benchmark_rt_tables[%d];\n"
		"const char *benchmark_rt_names[%d];\n"
		"struct bench_control benchmark_rt_controls[%u];\n"
		"struct bench_item benchmark_rt_items[%u];\n"
		"struct bench_key benchmark_rt_keys[%zu];\n",
		n, n_keys, n, n, n_controls, n_items ? n_items : 1, n_keys);
	if (fclose(out) != 0) {
		perror(argv[1]);
		remove(argv[1]);
		return 1;
	}
	return 0;
}
