/*
 * The CIS benchmark tables (benchmarks/k3s-cis-*.yaml, format in
 * benchmarks/README.md; compiled into the binary as C tables by
 * tools/bench-gen.c): every control of a benchmark
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
	const char *flag;             /* "--audit-log-path", "mode", "owner", or NULL */
	const char *path;             /* JSONPath into the test's config, or NULL */
	const char *op;               /* set unset eq noteq gt gte lt lte has nothave valid_elements bitmask regex */
	const char *value;            /* NULL for set/unset */
};

struct bench_test {
	const char *component;        /* kube-apiserver, kubelet, ..., file, etcd, cluster, none */
	const char *config;           /* optional */
	const char *config_file;      /* optional */
	const char *file;             /* optional (component file) */
	bool multiple;
	const char *bin_op;           /* and | or */
	const struct bench_item *items;
	unsigned n_items;
};

struct bench_control {
	const char *id;               /* "1.2.16" */
	const char *key;              /* "apiserver.audit_log_path" */
	const char *title;
	const char *section;          /* master etcd controlplane node policies */
	bool scored;
	const char *type;             /* automated | manual */
	const char *assessment;       /* automated | manual */
	bool skip;
	enum bench_role role;
	enum bench_remedy remedy;
	const char *note;             /* optional */
	struct bench_test test;
};

struct benchmark {
	const char *name;             /* k3s-cis-1.9 */
	const char *title;
	const char *k3s_min, *k3s_max;        /* K3s minors covered, "1.27" */
	const char *source;
	const struct bench_control *controls;
	unsigned n_controls;
};

/* Names of the built-in benchmarks, oldest first (static; *n set). */
const char *const *benchmark_names(size_t *n);

/* A built-in benchmark by name, or NULL: static data, for the whole process. */
const struct benchmark *benchmark_find(const char *name);

/*
 * Every stable key of every built-in benchmark, once, sorted by strcmp, with
 * its ID in the newest benchmark that has it: "k3s-cis-1.24:4.2.6" (static;
 * *n set).
 */
struct bench_key {
	const char *key;
	const char *newest;
};
const struct bench_key *benchmark_all_keys(size_t *n);

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
