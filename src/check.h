/*
 * k3s-harden check: judge every control of a CIS benchmark from what K3s
 * will run on this host: the effective configuration (keff.h), the emulated
 * component command lines (components.h) with kube-bench's test semantics
 * (check_ops.h), the files those name (psa.yaml, audit policy, encryption
 * configuration), file modes, kernel parameters and the manifests in the
 * auto-deploy directory. Nothing is written.
 */
#ifndef K3H_CHECK_H
#define K3H_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "benchmark.h"
#include "profile.h"
#include "buf.h"
#include "components.h"
#include "diag.h"
#include "keff.h"

enum check_status { CHECK_PASS, CHECK_FAIL, CHECK_WARN, CHECK_INFO, CHECK_NSTATUS };

struct check_control {
	const struct bench_control *c;
	enum check_status status;
	char *evidence;         /* what was found */
	char *remediation;      /* how to fix it (FAIL/WARN), or NULL */
	const char *setting;    /* the profile setting that serves it, or NULL */
};

struct check_report {
	const struct benchmark *bench;
	bool server;
	char *k3s_version;      /* known installed version, or NULL */
	struct components comps;
	struct keff E;
	struct check_control *v;
	size_t n;
	unsigned totals[CHECK_NSTATUS];
	struct diags refuse;    /* why K3s would not start with these files (exit 2) */
	struct diags notes;     /* warnings about the configuration (unknown options, ...) */
	char **no_policy;       /* namespaces without a network policy (with --cluster) */
	size_t n_no_policy;
	bool cluster;           /* namespaces were read from the cluster */
	const struct profile *profile;  /* check_opts.profile, borrowed */
};

struct check_opts {
	const char *root;
	const char *benchmark;  /* NULL: check_default_benchmark() */
	bool server;
	bool cluster;           /* ask the live cluster for its namespaces */
	bool live;              /* the root is the running host: live kernel values count */
	const char *k3s_version;        /* NULL: the newest the benchmark covers */
	const char *kubectl;    /* binary for --cluster; NULL: k3s from the usual places */
	const struct profile *profile;  /* whose settings serve which control; NULL: none named */
};

/*
 * The benchmark checked when none is named: the one the profile's IDs come
 * from (fitted to the K3s version), else the profile's `benchmark:`, else
 * the newest that covers its K3s version, else the newest. p may be NULL.
 */
const char *check_default_benchmark(const struct profile *p);

/*
 * Judge every control. 0 (also when K3s would refuse to start: see
 * R->refuse); -ENOENT for an unknown benchmark; -EINVAL with problems in d
 * when the benchmark, the facts or the configuration cannot be read at all.
 */
int check_run(const struct check_opts *o, struct check_report *R, struct diags *d);
void check_report_free(struct check_report *R);

const char *check_status_name(enum check_status s);

/*
 * The setting of profile p that serves control c (cited by its stable key
 * or its ID, in a section that is on, for p's K3s version), or NULL.
 */
const char *check_profile_setting(const struct profile *p, const struct bench_control *c);

/* The evidence file in each generation's directory. */
#define CHECK_EVIDENCE_FILE "evidence.json"

/*
 * The evidence of generation id under root, as JSON appended to b: the
 * effective configuration, the emulated component command lines and the
 * check result, as {"generation", "effective_config", "components",
 * "check"} (the engine stores it with the generation's commit, in
 * CHECK_EVIDENCE_FILE), judged for K3s k3s_version (NULL: p's). *fails
 * receives the FAIL count. 0 or -errno.
 */
int check_evidence_json(const char *root, const char *id, bool server, bool live, const struct profile *p,
			const char *k3s_version, unsigned *fails, struct buf *b, struct diags *d);

/* The result as the JSON contract (issue 12); generation < 0: none. */
void check_report_json(const struct check_report *R, long generation, struct buf *b);

#endif
