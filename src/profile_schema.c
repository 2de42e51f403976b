/* libcyaml schema of a profile: the single description of its shape. */
#include <cyaml/cyaml.h>
#include <stddef.h>

#include "profile.h"
#include "profile_schema.h"

#define OPT CYAML_FLAG_OPTIONAL
#define STR_MAX 4096

static const cyaml_strval_t role_strings[] = {
	{ "server", ROLE_SERVER }, { "agent", ROLE_AGENT }, { "auto", ROLE_AUTO },
};
static const cyaml_strval_t psa_level_strings[] = {
	{ "privileged", PSA_PRIVILEGED }, { "baseline", PSA_BASELINE },
	{ "restricted", PSA_RESTRICTED },
};
static const cyaml_strval_t psa_api_strings[] = {
	{ "v1", PSA_API_V1 }, { "v1beta1", PSA_API_V1BETA1 },
};
static const cyaml_strval_t audit_level_strings[] = {
	{ "None", AUDIT_NONE }, { "Metadata", AUDIT_METADATA },
	{ "Request", AUDIT_REQUEST }, { "RequestResponse", AUDIT_REQUEST_RESPONSE },
};
static const cyaml_strval_t erl_type_strings[] = {
	{ "Server", ERL_SERVER }, { "Namespace", ERL_NAMESPACE },
	{ "User", ERL_USER }, { "SourceAndObject", ERL_SOURCE_AND_OBJECT },
};
static const cyaml_strval_t mode_strings[] = {
	{ "merge", CONFIG_MERGE }, { "dropin", CONFIG_DROPIN },
};

const char *profile_role_name(enum profile_role r) { return role_strings[r].str; }
const char *psa_level_name(enum psa_level l) { return psa_level_strings[l].str; }
const char *audit_level_name(enum audit_level l) { return audit_level_strings[l].str; }
const char *erl_type_name(enum erl_type t) { return erl_type_strings[t].str; }

static const cyaml_schema_value_t string_entry = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, STR_MAX),
};

#define STRINGS(key, st, member) \
	CYAML_FIELD_SEQUENCE(key, OPT | CYAML_FLAG_POINTER, st, member, \
			     &string_entry, 0, CYAML_UNLIMITED)
#define STRING(key, st, member) \
	CYAML_FIELD_STRING_PTR(key, OPT, st, member, 0, STR_MAX)
#define ENUM(key, st, member, tbl) \
	CYAML_FIELD_ENUM(key, OPT | CYAML_FLAG_STRICT, st, member, tbl, CYAML_ARRAY_LEN(tbl))

static const cyaml_schema_field_t psa_defaults_fields[] = {
	ENUM("enforce", struct psa_defaults, enforce, psa_level_strings),
	STRING("enforce_version", struct psa_defaults, enforce_version),
	ENUM("audit", struct psa_defaults, audit, psa_level_strings),
	STRING("audit_version", struct psa_defaults, audit_version),
	ENUM("warn", struct psa_defaults, warn, psa_level_strings),
	STRING("warn_version", struct psa_defaults, warn_version),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t psa_exemptions_fields[] = {
	STRINGS("usernames", struct psa_exemptions, usernames),
	STRINGS("runtime_classes", struct psa_exemptions, runtime_classes),
	STRINGS("namespaces", struct psa_exemptions, namespaces),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t pod_security_fields[] = {
	CYAML_FIELD_BOOL("enabled", OPT, struct pod_security, enabled),
	ENUM("api_version", struct pod_security, api_version, psa_api_strings),
	STRING("path", struct pod_security, path),
	STRINGS("controls", struct pod_security, controls),
	CYAML_FIELD_MAPPING("defaults", OPT, struct pod_security, defaults, psa_defaults_fields),
	CYAML_FIELD_MAPPING("exemptions", OPT, struct pod_security, exemptions, psa_exemptions_fields),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t erl_limit_fields[] = {
	CYAML_FIELD_ENUM("type", CYAML_FLAG_STRICT, struct erl_limit, type,
			 erl_type_strings, CYAML_ARRAY_LEN(erl_type_strings)),
	CYAML_FIELD_UINT("qps", CYAML_FLAG_DEFAULT, struct erl_limit, qps),
	CYAML_FIELD_UINT("burst", CYAML_FLAG_DEFAULT, struct erl_limit, burst),
	CYAML_FIELD_UINT("cache_size", OPT, struct erl_limit, cache_size),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t erl_limit_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct erl_limit, erl_limit_fields),
};

static const cyaml_schema_field_t event_rate_limit_fields[] = {
	CYAML_FIELD_BOOL("enabled", OPT, struct event_rate_limit, enabled),
	STRINGS("controls", struct event_rate_limit, controls),
	CYAML_FIELD_SEQUENCE("limits", OPT | CYAML_FLAG_POINTER, struct event_rate_limit,
			     limits, &erl_limit_entry, 0, 16),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t audit_fields[] = {
	CYAML_FIELD_BOOL("enabled", OPT, struct audit, enabled),
	STRINGS("controls", struct audit, controls),
	STRING("policy_path", struct audit, policy_path),
	ENUM("level", struct audit, level, audit_level_strings),
	STRING("log_dir", struct audit, log_dir),
	STRING("log_file", struct audit, log_file),
	CYAML_FIELD_UINT("max_age", OPT, struct audit, max_age),
	CYAML_FIELD_UINT("max_backup", OPT, struct audit, max_backup),
	CYAML_FIELD_UINT("max_size", OPT, struct audit, max_size),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t sysctl_fields[] = {
	CYAML_FIELD_STRING_PTR("key", CYAML_FLAG_DEFAULT, struct sysctl_param, key, 1, 256),
	CYAML_FIELD_STRING_PTR("value", CYAML_FLAG_DEFAULT, struct sysctl_param, value, 0, STR_MAX),
	STRINGS("controls", struct sysctl_param, controls),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t sysctl_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sysctl_param, sysctl_fields),
};

static const cyaml_schema_field_t kernel_fields[] = {
	STRING("path", struct kernel, path),
	CYAML_FIELD_BOOL("protect_kernel_defaults", OPT, struct kernel, protect_kernel_defaults),
	STRINGS("controls", struct kernel, controls),
	CYAML_FIELD_SEQUENCE("parameters", OPT | CYAML_FLAG_POINTER, struct kernel,
			     parameters, &sysctl_entry, 0, CYAML_UNLIMITED),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t network_policies_fields[] = {
	CYAML_FIELD_BOOL("enabled", OPT, struct network_policies, enabled),
	STRINGS("controls", struct network_policies, controls),
	STRINGS("namespaces", struct network_policies, namespaces),
	CYAML_FIELD_BOOL("allow_dns", OPT, struct network_policies, allow_dns),
	CYAML_FIELD_BOOL("allow_metrics_server", OPT, struct network_policies, allow_metrics_server),
	CYAML_FIELD_BOOL("allow_traefik", OPT, struct network_policies, allow_traefik),
	CYAML_FIELD_BOOL("allow_svclb_traefik", OPT, struct network_policies, allow_svclb_traefik),
	STRING("manifest_prefix", struct network_policies, manifest_prefix),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t service_accounts_fields[] = {
	CYAML_FIELD_BOOL("enabled", OPT, struct service_accounts, enabled),
	STRINGS("controls", struct service_accounts, controls),
	STRINGS("namespaces", struct service_accounts, namespaces),
	STRING("manifest", struct service_accounts, manifest),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t setting_fields[] = {
	CYAML_FIELD_STRING_PTR("key", CYAML_FLAG_DEFAULT, struct k3s_setting, key, 1, 256),
	CYAML_FIELD_STRING_PTR("value", CYAML_FLAG_DEFAULT, struct k3s_setting, value, 0, STR_MAX),
	STRINGS("controls", struct k3s_setting, controls),
	STRING("since", struct k3s_setting, since),
	STRING("before", struct k3s_setting, before),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t setting_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct k3s_setting, setting_fields),
};

static const cyaml_schema_field_t arg_fields[] = {
	CYAML_FIELD_STRING_PTR("list", CYAML_FLAG_DEFAULT, struct k3s_arg, list, 1, 256),
	CYAML_FIELD_STRING_PTR("flag", CYAML_FLAG_DEFAULT, struct k3s_arg, flag, 1, 256),
	CYAML_FIELD_STRING_PTR("value", CYAML_FLAG_DEFAULT, struct k3s_arg, value, 0, STR_MAX),
	STRINGS("controls", struct k3s_arg, controls),
	STRING("since", struct k3s_arg, since),
	STRING("before", struct k3s_arg, before),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t arg_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct k3s_arg, arg_fields),
};

static const cyaml_schema_field_t k3s_fields[] = {
	ENUM("mode", struct k3s_config, mode, mode_strings),
	STRING("path", struct k3s_config, path),
	STRING("dropin", struct k3s_config, dropin),
	STRINGS("admission_plugins", struct k3s_config, admission_plugins),
	STRINGS("admission_controls", struct k3s_config, admission_controls),
	CYAML_FIELD_SEQUENCE("settings", OPT | CYAML_FLAG_POINTER, struct k3s_config,
			     settings, &setting_entry, 0, CYAML_UNLIMITED),
	CYAML_FIELD_SEQUENCE("args", OPT | CYAML_FLAG_POINTER, struct k3s_config,
			     args, &arg_entry, 0, CYAML_UNLIMITED),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t restart_fields[] = {
	STRING("job_timeout", struct restart_gate, job_timeout),
	STRING("settle", struct restart_gate, settle),
	STRINGS("health_command", struct restart_gate, health_command),
	STRING("health_timeout", struct restart_gate, health_timeout),
	STRING("health_interval", struct restart_gate, health_interval),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t k3s_range_fields[] = {
	STRING("min", struct k3s_range, min),
	STRING("max", struct k3s_range, max),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t psp_fields[] = {
	CYAML_FIELD_BOOL("enabled", OPT, struct pod_security_policy, enabled),
	STRINGS("controls", struct pod_security_policy, controls),
	STRING("manifest", struct pod_security_policy, manifest),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t opt_in_fields[] = {
	CYAML_FIELD_BOOL("always_pull_images", OPT, struct opt_in, always_pull_images),
	CYAML_FIELD_BOOL("deny_service_external_ips", OPT, struct opt_in, deny_service_external_ips),
	CYAML_FIELD_BOOL("kubelet_tls_cipher_suites", OPT, struct opt_in, kubelet_tls_cipher_suites),
	CYAML_FIELD_UINT("pod_max_pids", OPT, struct opt_in, pod_max_pids),
	CYAML_FIELD_BOOL("file_modes", OPT, struct opt_in, file_modes),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t profile_fields[] = {
	STRING("name", struct profile, name),
	STRING("description", struct profile, description),
	STRING("extends", struct profile, extends),
	ENUM("role", struct profile, role, role_strings),
	STRING("unit", struct profile, unit),
	STRING("manifests_dir", struct profile, manifests_dir),
	CYAML_FIELD_UINT("retention", OPT, struct profile, retention),
	CYAML_FIELD_MAPPING_PTR("pod_security", OPT, struct profile, pod_security, pod_security_fields),
	CYAML_FIELD_MAPPING_PTR("event_rate_limit", OPT, struct profile, event_rate_limit, event_rate_limit_fields),
	CYAML_FIELD_MAPPING_PTR("audit", OPT, struct profile, audit, audit_fields),
	CYAML_FIELD_MAPPING_PTR("kernel", OPT, struct profile, kernel, kernel_fields),
	CYAML_FIELD_MAPPING_PTR("network_policies", OPT, struct profile, network_policies, network_policies_fields),
	CYAML_FIELD_MAPPING_PTR("service_accounts", OPT, struct profile, service_accounts, service_accounts_fields),
	CYAML_FIELD_MAPPING_PTR("k3s", OPT, struct profile, k3s, k3s_fields),
	CYAML_FIELD_MAPPING_PTR("restart", OPT, struct profile, restart, restart_fields),
	STRING("benchmark", struct profile, benchmark),
	STRING("k3s_version", struct profile, k3s_version),
	CYAML_FIELD_MAPPING_PTR("k3s_versions", OPT, struct profile, k3s_versions, k3s_range_fields),
	CYAML_FIELD_MAPPING_PTR("pod_security_policy", OPT, struct profile, pod_security_policy, psp_fields),
	CYAML_FIELD_MAPPING_PTR("opt_in", OPT, struct profile, opt_in, opt_in_fields),
	CYAML_FIELD_END
};

const cyaml_schema_value_t profile_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct profile, profile_fields),
};
