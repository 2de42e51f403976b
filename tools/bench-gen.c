/*
 * Build-time generator: loads the CIS benchmark tables (benchmarks/k3s-cis-*.yaml,
 * format in benchmarks/README.md) with libcyaml and writes them as static
 * const C tables, with the index of every stable key to its ID in the newest
 * benchmark that has it, so the binary carries them ready to use and no
 * command parses a table (src/benchmark.c).
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

#include "benchmark.h"

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

/* A C string literal, or NULL; every byte outside plain ASCII (and '?', no trigraphs) as octal. */
static void cstr(FILE *out, const char *s)
{
	if (!s) {
		fputs("NULL", out);
		return;
	}
	putc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?')
			putc(c, out);
		else
			fprintf(out, "\\%03o", c);
	}
	putc('"', out);
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

static void emit_table(FILE *out, const struct benchmark *b, unsigned t)
{
	unsigned i, j;

	for (i = 0; i < b->n_controls; i++) {
		const struct bench_test *x = &b->controls[i].test;

		if (!x->n_items)
			continue;
		fprintf(out, "static const struct bench_item items_%u_%u[] = {\n", t, i);
		for (j = 0; j < x->n_items; j++) {
			fputs("\t{ ", out);
			cstr(out, x->items[j].flag);
			fputs(", ", out);
			cstr(out, x->items[j].path);
			fputs(", ", out);
			cstr(out, x->items[j].op);
			fputs(", ", out);
			cstr(out, x->items[j].value);
			fputs(" },\n", out);
		}
		fputs("};\n", out);
	}
	fprintf(out, "static const struct bench_control controls_%u[] = {\n", t);
	for (i = 0; i < b->n_controls; i++) {
		const struct bench_control *c = &b->controls[i];
		const struct bench_test *x = &c->test;

		fputs("\t{ .id = ", out);
		cstr(out, c->id);
		fputs(", .key = ", out);
		cstr(out, c->key);
		fputs(",\n\t  .title = ", out);
		cstr(out, c->title);
		fputs(",\n\t  .section = ", out);
		cstr(out, c->section);
		fprintf(out, ", .scored = %s, .type = ", c->scored ? "true" : "false");
		cstr(out, c->type);
		fputs(", .assessment = ", out);
		cstr(out, c->assessment);
		fprintf(out, ", .skip = %s, .role = %d, .remedy = %d,\n\t  .note = ", c->skip ? "true" : "false",
			(int)c->role, (int)c->remedy);
		cstr(out, c->note);
		fputs(",\n\t  .test = { .component = ", out);
		cstr(out, x->component);
		fputs(", .config = ", out);
		cstr(out, x->config);
		fputs(", .config_file = ", out);
		cstr(out, x->config_file);
		fputs(", .file = ", out);
		cstr(out, x->file);
		fprintf(out, ", .multiple = %s, .bin_op = ", x->multiple ? "true" : "false");
		cstr(out, x->bin_op);
		if (x->n_items)
			fprintf(out, ", .items = items_%u_%u, .n_items = %u } },\n", t, i, x->n_items);
		else
			fputs(", .items = NULL, .n_items = 0 } },\n", out);
	}
	fputs("};\n\n", out);
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
static int emit_keys(FILE *out, struct benchmark **b, unsigned n)
{
	struct key_ref *v;
	size_t k = 0, cap = 0, i, m = 0;
	unsigned t, c;

	for (t = 0; t < n; t++)
		cap += b[t]->n_controls;
	v = malloc(cap * sizeof(*v));
	if (!v)
		return -1;
	for (t = 0; t < n; t++)
		for (c = 0; c < b[t]->n_controls; c++)
			v[k++] = (struct key_ref){ b[t]->controls[c].key, t, c };
	qsort(v, k, sizeof(*v), cmp_ref);
	fputs("const struct bench_key benchmark_key_index[] = {\n", out);
	for (i = 0; i < k; i++) {
		char label[256];

		if (i && !strcmp(v[i - 1].key, v[i].key))
			continue;
		snprintf(label, sizeof(label), "%s:%s", b[v[i].table]->name,
			 b[v[i].table]->controls[v[i].control].id);
		fputs("\t{ ", out);
		cstr(out, v[i].key);
		fputs(", ", out);
		cstr(out, label);
		fputs(" },\n", out);
		m++;
	}
	fprintf(out, "};\nconst size_t benchmark_n_keys = %zu;\n", m);
	free(v);
	return 0;
}

int main(int argc, char **argv)
{
	struct benchmark **b;
	FILE *out;
	int i, n = argc - 2;

	if (argc < 3) {
		fprintf(stderr, "usage: bench-gen OUT.c TABLE.yaml...\n");
		return 2;
	}
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
	fputs("/* generated by tools/bench-gen.c from benchmarks/k3s-cis-*.yaml; do not edit */\n"
	      "#include \"benchmark_data.h\"\n\n", out);
	for (i = 0; i < n; i++)
		emit_table(out, b[i], (unsigned)i);
	fputs("const struct benchmark benchmark_tables[] = {\n", out);
	for (i = 0; i < n; i++) {
		fputs("\t{ ", out);
		cstr(out, b[i]->name);
		fputs(", ", out);
		cstr(out, b[i]->title);
		fputs(", ", out);
		cstr(out, b[i]->k3s_min);
		fputs(", ", out);
		cstr(out, b[i]->k3s_max);
		fputs(", ", out);
		cstr(out, b[i]->source);
		fprintf(out, ", controls_%d, %u },\n", i, b[i]->n_controls);
	}
	fputs("};\nconst char *const benchmark_table_names[] = {", out);
	for (i = 0; i < n; i++) {
		fputs(i ? ", " : " ", out);
		cstr(out, b[i]->name);
	}
	fprintf(out, " };\nconst size_t benchmark_n_tables = %d;\n\n", n);
	if (emit_keys(out, b, (unsigned)n) < 0 || fclose(out) != 0) {
		perror(argv[1]);
		remove(argv[1]);
		return 1;
	}
	return 0;
}
