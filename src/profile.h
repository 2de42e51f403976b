/*
 * Hardening profiles: YAML read with libyaml into a position-keeping tree,
 * `extends:` resolved by merging trees (maps deeply, lists replaced unless
 * the child writes `key+:`), checked against the libcyaml schema, loaded
 * into the typed structs below with libcyaml, and validated for meaning.
 * Every problem of every stage is reported, each with FILE:LINE:COL, in
 * file order. The stages are in profile_*.c (see profile_int.h).
 */
#ifndef K3H_PROFILE_H
#define K3H_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "diag.h"
#include "validate.h"
#include "ynode.h"

enum profile_role { ROLE_SERVER, ROLE_AGENT, ROLE_AUTO };
enum psa_level { PSA_PRIVILEGED, PSA_BASELINE, PSA_RESTRICTED };
enum psa_api { PSA_API_V1, PSA_API_V1BETA1 };
enum audit_level { AUDIT_NONE, AUDIT_METADATA, AUDIT_REQUEST, AUDIT_REQUEST_RESPONSE };
enum erl_type { ERL_SERVER, ERL_NAMESPACE, ERL_USER, ERL_SOURCE_AND_OBJECT };
enum config_mode { CONFIG_MERGE, CONFIG_DROPIN };

struct psa_defaults {
	enum psa_level enforce, audit, warn;
	char *enforce_version, *audit_version, *warn_version;
};

struct psa_exemptions {
	char **usernames;
	unsigned usernames_count;
	char **runtime_classes;
	unsigned runtime_classes_count;
	char **namespaces;
	unsigned namespaces_count;
};

struct pod_security {
	bool enabled;
	enum psa_api api_version;
	char *path;
	char **controls;
	unsigned controls_count;
	struct psa_defaults defaults;
	struct psa_exemptions exemptions;
};

struct erl_limit {
	enum erl_type type;
	uint32_t qps;
	uint32_t burst;
	uint32_t cache_size;
};

struct event_rate_limit {
	bool enabled;
	char **controls;
	unsigned controls_count;
	struct erl_limit *limits;
	unsigned limits_count;
};

struct audit {
	bool enabled;
	char **controls;
	unsigned controls_count;
	char *policy_path;
	enum audit_level level;
	char *log_dir;
	char *log_file;
	uint32_t max_age;
	uint32_t max_backup;
	uint32_t max_size;
};

struct sysctl_param {
	char *key;
	char *value;
	char **controls;
	unsigned controls_count;
};

struct kernel {
	char *path;
	bool protect_kernel_defaults;
	char **controls;                /* of protect-kernel-defaults */
	unsigned controls_count;
	struct sysctl_param *parameters;
	unsigned parameters_count;
};

struct network_policies {
	bool enabled;
	char **controls;
	unsigned controls_count;
	char **namespaces;
	unsigned namespaces_count;
	bool allow_dns;
	bool allow_metrics_server;
	bool allow_traefik;
	bool allow_svclb_traefik;
	char *manifest_prefix;
};

struct service_accounts {
	bool enabled;
	char **controls;
	unsigned controls_count;
	char **namespaces;
	unsigned namespaces_count;
	char *manifest;
};

/* A top-level key of the K3s config.yaml that the profile owns. */
struct k3s_setting {
	char *key;
	char *value;
	char **controls;
	unsigned controls_count;
	char *since;            /* K3s versions it applies to: since (inclusive) */
	char *before;           /* and before (exclusive); NULL: unbounded */
};

/* One `--flag=value` entry of a K3s list argument (kube-apiserver-arg, ...). */
struct k3s_arg {
	char *list;
	char *flag;
	char *value;
	char **controls;
	unsigned controls_count;
	char *since;            /* as in k3s_setting */
	char *before;
};

struct k3s_config {
	enum config_mode mode;
	char *path;
	char *dropin;
	char **admission_plugins;
	unsigned admission_plugins_count;
	char **admission_controls;
	unsigned admission_controls_count;
	struct k3s_setting *settings;
	unsigned settings_count;
	struct k3s_arg *args;
	unsigned args_count;
};

/* How a K3s restart is judged (DESIGN.md fact 13). Durations as in Go. */
struct restart_gate {
	char *job_timeout;              /* the restart job must finish in this */
	char *settle;                   /* then the unit must stay active this long */
	char **health_command;          /* then this must exit 0 (argv, no shell) */
	unsigned health_command_count;
	char *health_timeout;
	char *health_interval;
};

/* K3s minors a profile supports, "1.25" .. "1.28" (inclusive). */
struct k3s_range {
	char *min;
	char *max;
};

/* PodSecurityPolicy for K3s <= 1.24, as the guide's v1.24 tab. */
struct pod_security_policy {
	bool enabled;
	char **controls;
	unsigned controls_count;
	char *manifest;                 /* file name in manifests_dir */
};

/* The Manual controls the guide leaves to the operator: each off unless set. */
struct opt_in {
	bool always_pull_images;        /* apiserver.admission_always_pull_images */
	bool deny_service_external_ips; /* apiserver.deny_service_external_ips */
	bool kubelet_tls_cipher_suites; /* kubelet.tls_cipher_suites */
	uint32_t pod_max_pids;          /* kubelet.pod_max_pids; 0: not set */
	bool file_modes;                /* tighten the file.*_mode files K3s keeps (k3s_mode_kept) */
};

struct benchmark;

/*
 * What the tool found out about the K3s it hardens, set after loading
 * (k3s_version.h k3s_env_apply), not read from the profile file.
 */
struct profile_env {
	char *k3s_version;              /* the version hardened for, or NULL: unknown */
	const struct benchmark *bench;  /* the benchmark whose IDs are shown, or NULL */
};

struct profile {
	char *name;
	char *description;
	char *extends;
	enum profile_role role;
	char *unit;
	char *manifests_dir;
	uint32_t retention;
	struct pod_security *pod_security;
	struct event_rate_limit *event_rate_limit;
	struct audit *audit;
	struct kernel *kernel;
	struct network_policies *network_policies;
	struct service_accounts *service_accounts;
	struct k3s_config *k3s;
	struct restart_gate *restart;
	char *benchmark;                /* k3s-cis-1.9, or "auto" (cis: the newest that covers the version) */
	char *k3s_version;              /* pin the K3s version (offline roots, image builds) */
	struct k3s_range *k3s_versions;
	struct pod_security_policy *pod_security_policy;
	struct opt_in *opt_in;
	struct profile_env env;         /* not in the schema */
};

/* A loaded profile together with the merged tree it came from. */
struct profile_doc {
	struct profile *p;
	struct ynode *tree;     /* merged, every node knows its origin */
	/* `extends: cis` somewhere in its chain: the built-in read for it, the
	 * benchmark profile picked for cis_version (NULL with opts.newest), or
	 * "cis" when none was picked; NULL when nothing extends cis */
	const char *cis_base;
	char *cis_version;
	bool cis_picked;
};

/*
 * How `extends: cis` is resolved. With pick set and a K3s version known
 * (k3s_version, else the k3s_version: key of the files that extend cis,
 * the outermost one winning), the built-in pick names for it is read in
 * place of cis, as the cis default itself is (k3s_version.h
 * k3s_pick_profile). A key of the user's files under a section the picked
 * base turns off is then an error at the key that names the base.
 */
struct profile_load_opts {
	const char *k3s_version;
	bool newest;            /* no version known: pick as pick(NULL) does (the newest) */
	int (*pick)(const char *v, const char **name);
};

/*
 * Load NAME (a built-in profile) or a file path, resolve extends, check and
 * validate. On error, problems are added to d and -EINVAL is returned (or
 * -errno for I/O); *out is set only on success. profile_load_with takes
 * opts (NULL: profile_load, `extends: cis` reads cis).
 */
int profile_load(const char *name_or_path, struct profile_doc **out, struct diags *d);
int profile_load_with(const char *name_or_path, const struct profile_load_opts *opts,
		      struct profile_doc **out, struct diags *d);
void profile_doc_free(struct profile_doc *doc);

/* Emit the resolved profile as YAML (for `profile show`). */
int profile_dump(const struct profile_doc *doc, struct buf *out);

/* A copy of the resolved profile's tree without `extends:` (caller frees), or NULL. */
struct ynode *profile_resolved_tree(const struct profile_doc *doc);

const char *profile_role_name(enum profile_role r);
const char *psa_level_name(enum psa_level l);
const char *audit_level_name(enum audit_level l);
const char *erl_type_name(enum erl_type t);

/* The old names of validators now in validate.h, for code that uses them. */
static inline bool is_dns1123_label(const char *s) { return valid_dns1123_label(s); }
static inline bool is_sysctl_key(const char *s) { return valid_sysctl_key(s); }
static inline bool is_abs_path(const char *s) { return valid_abs_path(s); }
static inline bool is_duration(const char *s) { return valid_duration(s); }
static inline bool is_control_id(const char *s) { return valid_control_id(s); }
static inline long long duration_ms(const char *s) { return valid_duration_ms(s); }
/* The unit to restart: the profile's, else k3s.service or k3s-agent.service. */
const char *profile_unit(const struct profile *p, enum profile_role role);

/*
 * The text shown for a control cited in a profile: a stable key
 * (apiserver.audit_log_path) as the ID of the benchmark in use (1.2.16), or
 * NULL when that benchmark has no such control; IDs as written.
 */
const char *profile_control_label(const struct profile *p, const char *control);

#endif
