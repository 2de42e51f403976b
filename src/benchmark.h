/*
 * The CIS benchmark tables (benchmarks/k3s-cis-*.yaml, embedded in the
 * binary; format in benchmarks/README.md): every control of a benchmark
 * version with its ID, stable key, title, where it is judged, whether a
 * host tool can remediate it, and kube-bench's test.
 */
#ifndef K3H_BENCHMARK_H
#define K3H_BENCHMARK_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

enum bench_remedy { REMEDY_HOST, REMEDY_CLUSTER, REMEDY_MANUAL, REMEDY_NA };
enum bench_role { BROLE_SERVER, BROLE_AGENT, BROLE_BOTH };

struct bench_item {
	char *flag;             /* "--audit-log-path", "mode", "owner", or NULL */
	char *path;             /* JSONPath into the test's config, or NULL */
	char *op;               /* set unset eq noteq gt gte lt lte has nothave valid_elements bitmask regex */
	char *value;            /* NULL for set/unset */
};

struct bench_test {
	char *component;        /* kube-apiserver, kubelet, ..., file, etcd, cluster, none */
	char *config;           /* optional */
	char *config_file;      /* optional */
	char *file;             /* optional (component file) */
	bool multiple;
	char *bin_op;           /* and | or */
	struct bench_item *items;
	unsigned n_items;
};

struct bench_control {
	char *id;               /* "1.2.16" */
	char *key;              /* "apiserver.audit_log_path" */
	char *title;
	char *section;          /* master etcd controlplane node policies */
	bool scored;
	char *type;             /* automated | manual */
	char *assessment;       /* automated | manual */
	bool skip;
	enum bench_role role;
	enum bench_remedy remedy;
	char *note;             /* optional */
	struct bench_test test;
};

struct benchmark {
	char *name;             /* k3s-cis-1.9 */
	char *title;
	char *k3s_min, *k3s_max;        /* K3s minors covered, "1.27" */
	char *source;
	struct bench_control *controls;
	unsigned n_controls;
};

/* Names of the built-in benchmarks, oldest first (static; *n set). */
const char *const *benchmark_names(size_t *n);

/*
 * A built-in benchmark by name: 0, -ENOENT (unknown name), or an error in d.
 * Each table is parsed once per process and shared by every caller: treat
 * it as read-only. benchmark_free releases a caller's use (the table stays).
 */
int benchmark_load(const char *name, struct benchmark **out, struct diags *d);
void benchmark_free(struct benchmark *b);

/*
 * Every control's ID and stable key of a built-in benchmark, in order,
 * without parsing the table (cheap: for checking a profile's keys against
 * every version). fn returning < 0 stops with -ENOMEM; -ENOENT: unknown.
 */
typedef int (*benchmark_key_fn)(void *ctx, const char *id, size_t id_len, const char *key,
				size_t key_len);
int benchmark_keys(const char *name, benchmark_key_fn fn, void *ctx);

/* The control with this stable key, or NULL. */
const struct bench_control *benchmark_by_key(const struct benchmark *b, const char *key);
/* The control with this ID, or NULL. */
const struct bench_control *benchmark_by_id(const struct benchmark *b, const char *id);

/*
 * Compare K3s versions "1.24", "v1.28.5+k3s1": <0, 0, >0 by major, minor
 * and (when both have one) patch. Unparsable versions compare as 0.
 */
int k3s_version_cmp(const char *a, const char *b);

/* Whether K3s version v (any form above) lies in the benchmark's minors. */
bool benchmark_covers(const struct benchmark *b, const char *v);

/*
 * The newest built-in benchmark that covers K3s version v (NULL: the newest)
 * and that keep (NULL: any) accepts, or NULL.
 */
const char *benchmark_newest_covering(const char *v, bool (*keep)(const char *name));

const char *bench_remedy_name(enum bench_remedy r);

#endif
