/*
 * The K3s version a host runs and what depends on it: which K3s releases
 * have a feature (PodSecurityPolicy, PSA, Traefik v1, ...), asking the
 * installed K3s (`k3s --version`, run without a shell), and fitting a
 * loaded profile to the version and the host's K3s configuration (the
 * benchmark whose IDs it shows, the bundled components that run).
 */
#ifndef K3H_K3S_VERSION_H
#define K3H_K3S_VERSION_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "profile.h"

/* A K3s version as accepted on the command line: 1.30, v1.30.4, v1.30.4+k3s1. */
bool k3s_version_valid(const char *s);

/* "1.30" from any accepted form (out holds at least 32 bytes); -EINVAL. */
int k3s_version_minor(const char *s, char *out, size_t size);

/*
 * Whether version v lies in [since, before) (either NULL: unbounded). An
 * unknown version (NULL) counts as newer than everything: it is in a range
 * without `before`.
 */
bool k3s_version_in(const char *v, const char *since, const char *before);

/* Facts of K3s releases (a table in k3s_version.c, sources in benchmarks/). */
enum k3s_feature {
	K3S_PSP,                /* PodSecurityPolicy admission: before 1.25 */
	K3S_PSA,                /* Pod Security Admission configuration v1: 1.25 on */
	K3S_TRAEFIK_V1,         /* bundled Traefik v1, pods app=traefik: before 1.21 */
	K3S_NS_NAME_LABEL,      /* namespaces labelled kubernetes.io/metadata.name: 1.21 on */
	K3S_CONFIG_DROPINS,     /* config.yaml.d and key+: 1.21 on */
	K3S_FEATURE_COUNT
};
bool k3s_has(const char *v, enum k3s_feature f);
/* The range of a feature, for messages ("1.25", NULL = unbounded). */
void k3s_feature_range(enum k3s_feature f, const char **since, const char **before);

/* Admission plugins that exist only in some Kubernetes releases; effect:
 * what follows on the cluster when the plugin is taken out of an
 * operator's list because the K3s version does not know it. */
struct k3s_plugin_range {
	const char *plugin, *since, *before;
	const char *effect;
};
const struct k3s_plugin_range *k3s_plugin_ranges(size_t *n);

/*
 * The version `k3s --version` prints ("k3s version v1.30.4+k3s1 (98262b5d)")
 * as "v1.30.4+k3s1": 0 with *out (caller frees), -EINVAL when none.
 */
int k3s_version_parse_output(const char *text, char **out);

/*
 * Ask the installed K3s: the binary of the K3s unit's ExecStart (under
 * root), else `k3s` searched in PATH, run with argv {binary, "--version"},
 * no shell, stdout through a pipe, killed after timeout_ms. 0 with *out;
 * -errno with why filled (a sentence) when it cannot tell.
 */
int k3s_version_detect(const char *root, unsigned timeout_ms, char **out, char *why, size_t why_size);

/* What the host's effective K3s configuration turns off (DESIGN.md fact 21). */
struct k3s_components {
	bool coredns, metrics_server, traefik, servicelb, local_storage;
	bool helm_controller;           /* deploys the Traefik chart */
	bool network_policy;            /* the embedded network policy controller */
	/* where disable-network-policy turned it off ("" when not known) */
	char netpol_file[256];
	unsigned netpol_line, netpol_col;
};

/* Every bundled component on: what a fresh K3s runs. */
void k3s_components_all(struct k3s_components *c);

/*
 * The components the configuration under root (config_path and its
 * drop-ins) leaves running. Problems reading it are errors in d.
 */
int k3s_components_read(const char *root, const char *config_path, struct k3s_components *c,
			struct diags *d);

/*
 * Fit p to version v (NULL: unknown) and the components that run: set
 * p->env (version, the benchmark of p->benchmark, or for "auto" the newest
 * covering v), drop network policy allows for what does not run. Notes and
 * warnings go to notes; errors (a version outside p->k3s_versions, an
 * unknown benchmark) to errs, with -EINVAL.
 */
int k3s_env_apply(struct profile *p, const char *v, const struct k3s_components *c,
		  struct diags *notes, struct diags *errs);

/*
 * For the built-in selector profile (benchmark: auto): the newest built-in
 * benchmark profile whose k3s_versions cover v (NULL: the newest of all).
 * 0 with *name (static), -ENOENT when none covers v.
 */
int k3s_pick_profile(const char *v, const char **name);

/*
 * A control cited in a profile: an ID (1.2.16, k3s-cis-1.24:4.2.6) passes;
 * a stable key must be one of some benchmark: 0, or -ENOENT with the
 * closest key in suggest ("" when none is close).
 */
int k3s_control_check(const char *control, char *suggest, size_t size);

#endif
