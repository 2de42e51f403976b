/* The embedded CIS benchmark tables, loaded with libcyaml. */
#include "benchmark.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cyaml/cyaml.h>

#include "buf.h"
#include "cylog.h"
#include "embedded.h"

#define OPT CYAML_FLAG_OPTIONAL
#define STR_MAX 4096

/* Chronological: CIS named 1.23 and 1.24 after Kubernetes, between 1.6 and 1.7. */
static const char *const names[] = {
	"k3s-cis-1.6", "k3s-cis-1.23", "k3s-cis-1.24", "k3s-cis-1.7", "k3s-cis-1.8",
	"k3s-cis-1.9", "k3s-cis-1.10", "k3s-cis-1.11", "k3s-cis-1.12", "k3s-cis-2.0",
	"k3s-cis-2.1",
};

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

const char *const *benchmark_names(size_t *n)
{
	*n = sizeof(names) / sizeof(names[0]);
	return names;
}

/*
 * Each table is parsed once per process and shared: a command asks for them
 * many times (the profile's control keys against every version, the version
 * pick, check), and a parse costs ~3 ms. Readers never modify a table; the
 * cache lives until exit.
 */
static struct benchmark *cache[sizeof(names) / sizeof(names[0])];

static int parse(size_t idx, struct benchmark **out, struct diags *d)
{
	const struct embedded_file *f = embedded_find(embedded_benchmarks, names[idx]);
	struct buf log = BUF_INIT;
	cyaml_config_t cfg;
	cyaml_data_t *data = NULL;
	cyaml_err_t e;

	if (!f)
		return -ENOENT;
	cylog_config(&cfg, &log);
	e = cyaml_load_data((const uint8_t *)f->data, f->len, &cfg, &benchmark_schema, &data, NULL);
	if (e != CYAML_OK) {
		/* built-in data: a failure here is a build defect, said plainly */
		diags_add(d, names[idx], 0, 0, "built-in benchmark table does not load: %s%s%s",
			  cyaml_strerror(e), log.len ? ": " : "", log.len ? log.data : "");
		buf_free(&log);
		return e == CYAML_ERR_OOM ? -ENOMEM : -EINVAL;
	}
	buf_free(&log);
	*out = data;
	return 0;
}

int benchmark_load(const char *name, struct benchmark **out, struct diags *d)
{
	size_t i;
	int r;

	*out = NULL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i], name) != 0)
			continue;
		if (!cache[i] && (r = parse(i, &cache[i], d)) < 0)
			return r;
		*out = cache[i];
		return 0;
	}
	return -ENOENT;
}

void benchmark_free(struct benchmark *b)
{
	/* shared from the cache (benchmark_load): nothing to free per caller */
	(void)b;
}

/*
 * The generated tables write every control as `  - id: "ID"` followed by
 * `    key: KEY` (benchmarks/README.md: fixed field order), so the keys can
 * be read from the text without parsing the table; test_benchmark checks
 * that this gives exactly what the full parse gives.
 */
int benchmark_keys(const char *name, benchmark_key_fn fn, void *ctx)
{
	const struct embedded_file *f = NULL;
	const char *p, *end;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			f = embedded_find(embedded_benchmarks, name);
	if (!f)
		return -ENOENT;
	end = f->data + f->len;
	for (p = f->data; p < end; ) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *id, *q, *key;

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > 9 && memcmp(p, "  - id: \"", 9) == 0) {
			id = p + 9;
			q = memchr(id, '"', (size_t)(eol - id));
			key = eol + 1;
			if (q && key + 9 < end && memcmp(key, "    key: ", 9) == 0) {
				const char *kend = memchr(key, '\n', (size_t)(end - key));

				key += 9;
				if (!kend)
					kend = end;
				if (fn(ctx, id, (size_t)(q - id), key, (size_t)(kend - key)) < 0)
					return -ENOMEM;
			}
		}
		p = eol + 1;
	}
	return 0;
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
	size_t i = sizeof(names) / sizeof(names[0]);

	while (i-- > 0) {
		struct diags d = { NULL, 0, 0 };
		struct benchmark *b = NULL;
		bool ok = !keep || keep(names[i]);

		if (ok && v)
			ok = benchmark_load(names[i], &b, &d) == 0 && benchmark_covers(b, v);
		benchmark_free(b);
		diags_free(&d);
		if (ok)
			return names[i];
	}
	return NULL;
}

const char *bench_remedy_name(enum bench_remedy r)
{
	return remedy_strings[r].str;
}
