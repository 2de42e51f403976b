#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "k3s_keys.h"
#include "keff.h"
#include "k3s_version.h"

/* The controls as the benchmark in use numbers them; "" when it has none of them. */
static char *join_controls(const struct k3s_model *m, char **ids, unsigned n)
{
	struct buf b = BUF_INIT;
	unsigned i;

	if (n == 0)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *label = m->p ? profile_control_label(m->p, ids[i]) : ids[i];

		if (label && buf_printf(&b, "%s%s", b.len ? ", " : "", label) < 0) {
			buf_free(&b);
			return NULL;
		}
	}
	return b.data ? buf_steal(&b) : NULL;
}

static bool raw_value(const char *v)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
		return true;
	if (!*v || strlen(v) > 15)
		return false;
	return strspn(v, "0123456789") == strlen(v) && (v[0] != '0' || v[1] == '\0');
}

static int add_setting(struct k3s_model *m, const char *key, const char *value,
		       char **ids, unsigned n_ids)
{
	struct cfg_setting *v = realloc(m->settings, (m->n_settings + 1) * sizeof(*v));
	struct cfg_setting *s;

	if (!v)
		return -ENOMEM;
	m->settings = v;
	s = &v[m->n_settings];
	memset(s, 0, sizeof(*s));
	s->key = strdup(key);
	s->value = strdup(value);
	s->raw = raw_value(value);
	s->controls = join_controls(m, ids, n_ids);
	m->n_settings++;
	return s->key && s->value ? 0 : -ENOMEM;
}

static struct cfg_list *get_list(struct k3s_model *m, const char *name)
{
	struct cfg_list *v;
	size_t i;

	for (i = 0; i < m->n_lists; i++)
		if (strcmp(m->lists[i].name, name) == 0)
			return &m->lists[i];
	v = realloc(m->lists, (m->n_lists + 1) * sizeof(*v));
	if (!v)
		return NULL;
	m->lists = v;
	memset(&v[m->n_lists], 0, sizeof(*v));
	v[m->n_lists].name = strdup(name);
	if (!v[m->n_lists].name)
		return NULL;
	return &v[m->n_lists++];
}

static int add_arg(struct k3s_model *m, const char *list, const char *flag,
		   const char *value, char **ids, unsigned n_ids)
{
	struct cfg_list *l = get_list(m, list);
	struct cfg_arg *v, *a;

	if (!l)
		return -ENOMEM;
	v = realloc(l->args, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->args = v;
	a = &v[l->n++];
	memset(a, 0, sizeof(*a));
	a->flag = strdup(flag);
	a->value = strdup(value);
	a->controls = join_controls(m, ids, n_ids);
	return a->flag && a->value ? 0 : -ENOMEM;
}

/*
 * What the audit section writes (apiserver_args below), flag by flag.
 * at_least: the benchmark asks for the number "or as appropriate" and
 * tests it with `gte` (CIS 1.2.17-1.2.19, benchmarks/k3s-cis-*.yaml), so
 * an operator's larger value is kept, not lowered to the profile's.
 */
static const struct { const char *flag, *field; bool at_least; } audit_flags[] = {
	{ "audit-log-path", "audit.log_dir", false },
	{ "audit-policy-file", "audit.level", false },
	{ "audit-log-maxage", "audit.max_age", true },
	{ "audit-log-maxbackup", "audit.max_backup", true },
	{ "audit-log-maxsize", "audit.max_size", true },
};

static bool at_least_flag(const char *flag)
{
	size_t i;

	for (i = 0; i < sizeof(audit_flags) / sizeof(audit_flags[0]); i++)
		if (!strcmp(audit_flags[i].flag, flag))
			return audit_flags[i].at_least;
	return false;
}

bool cfg_number(const char *s, unsigned long long *out)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 18 || s[n] != '\0' || (s[0] == '0' && n > 1))
		return false;
	*out = strtoull(s, NULL, 10);
	return true;
}

bool cfg_arg_holds(const struct cfg_arg *a, const char *value)
{
	unsigned long long have, want;

	if (!a->at_least)
		return strcmp(value, a->value) == 0;
	return cfg_number(value, &have) && cfg_number(a->value, &want) && have >= want;
}

const char *audit_field_for_flag(const char *flag)
{
	size_t i;

	if (!flag)
		return NULL;
	flag += strspn(flag, "-");
	for (i = 0; i < sizeof(audit_flags) / sizeof(audit_flags[0]); i++)
		if (!strcmp(audit_flags[i].flag, flag))
			return audit_flags[i].field;
	return NULL;
}

char *audit_log_path(const struct audit *a)
{
	char *s;

	return asprintf(&s, "%s/%s", a->log_dir, a->log_file) < 0 ? NULL : s;
}

/* The controls of a section that a derived flag serves, by kube-bench's IDs. */
static const struct { const char *flag; const char *ids[5]; } flag_controls[] = {
	{ "audit-log-path", { "1.2.16", "apiserver.audit_log_path" } },
	{ "audit-log-maxage", { "1.2.17", "apiserver.audit_log_maxage" } },
	{ "audit-log-maxbackup", { "1.2.18", "apiserver.audit_log_maxbackup" } },
	{ "audit-log-maxsize", { "1.2.19", "apiserver.audit_log_maxsize" } },
	{ "audit-policy-file", { "3.2.1", "audit.policy_file" } },
	{ "admission-control-config-file", { "5.2.1", "1.2.9", "policies.psa_restricted",
					      "apiserver.admission_event_rate_limit" } },
};

/* The section's IDs this flag serves; all of them when the table knows none. */
static unsigned pick_controls(const char *flag, char **ids, unsigned n, char **out)
{
	unsigned i, j, k, got = 0;

	for (i = 0; i < sizeof(flag_controls) / sizeof(flag_controls[0]); i++) {
		if (strcmp(flag_controls[i].flag, flag) != 0)
			continue;
		for (j = 0; j < n; j++)
			for (k = 0; k < 5 && flag_controls[i].ids[k]; k++)
				if (strcmp(ids[j], flag_controls[i].ids[k]) == 0)
					out[got++] = ids[j];
	}
	if (got)
		return got;
	for (j = 0; j < n; j++)
		out[j] = ids[j];
	return n;
}

static int add_derived(struct k3s_model *m, const char *flag, const char *value, char **ids,
		       unsigned n_ids)
{
	char **pick = calloc(n_ids + 1, sizeof(*pick));
	unsigned n;
	int r;

	if (!pick)
		return -ENOMEM;
	n = pick_controls(flag, ids, n_ids, pick);
	r = add_arg(m, "kube-apiserver-arg", flag, value, pick, n);
	free(pick);
	if (r == 0) {
		struct cfg_list *l = get_list(m, "kube-apiserver-arg");

		l->args[l->n - 1].at_least = at_least_flag(flag);
	}
	return r;
}

static int add_num_arg(struct k3s_model *m, const char *flag, uint32_t n, char **ids, unsigned n_ids)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", n);
	return add_derived(m, flag, v, ids, n_ids);
}

/*
 * Admission plugins that follow from other settings: PodSecurityPolicy for
 * the PSP section (K3s <= 1.24), and the opt-in Manual controls. With b
 * NULL: whether there is any. Each is appended once.
 */
static int version_plugins(const struct profile *p, struct buf *b)
{
	const struct k3s_config *k = p->k3s;
	const char *want[3];
	unsigned n = 0, i, j;
	int r = 0;

	if (p->pod_security_policy && p->pod_security_policy->enabled &&
	    k3s_has(p->env.k3s_version, K3S_PSP))
		want[n++] = "PodSecurityPolicy";
	if (p->opt_in && p->opt_in->always_pull_images)
		want[n++] = "AlwaysPullImages";
	if (p->opt_in && p->opt_in->deny_service_external_ips)
		want[n++] = "DenyServiceExternalIPs";
	if (!b)
		return n > 0;
	for (i = 0; i < n; i++) {
		for (j = 0; k && j < k->admission_plugins_count; j++)
			if (strcmp(k->admission_plugins[j], want[i]) == 0)
				break;
		if (!k || j == k->admission_plugins_count)
			r |= buf_printf(b, "%s%s", b->len ? "," : "", want[i]);
	}
	return r;
}

/* kube-apiserver: EventRateLimit without limits, ImagePolicyWebhook without its webhook, stop it. */
static const struct { const char *plugin, *config; } config_plugins[] = {
	{ "EventRateLimit", "its limits" },
	{ "ImagePolicyWebhook", "its webhook (imagePolicy)" },
};

const char *cfg_plugin_needs_config(const char *plugin)
{
	size_t i;

	for (i = 0; i < sizeof(config_plugins) / sizeof(config_plugins[0]); i++)
		if (!strcmp(config_plugins[i].plugin, plugin))
			return config_plugins[i].config;
	return NULL;
}

/* The plugins the model turns on from a profile section, not from k3s.admission_plugins. */
static const char *const derived[] = {
	"EventRateLimit", "PodSecurityPolicy", "AlwaysPullImages", "DenyServiceExternalIPs",
};

/*
 * Plugins the K3s version does not know come out of the user's value as
 * well: an upgrade to 1.25 must not keep the PodSecurityPolicy of 1.24.
 */
static int drop_plugins(struct k3s_model *m, const struct profile *p)
{
	struct cfg_list *l = get_list(m, "kube-apiserver-arg");
	const struct k3s_plugin_range *pr;
	struct cfg_arg *a;
	struct buf b = BUF_INIT;
	size_t n, i;
	int r = 0;

	if (!l || l->n == 0)
		return l ? 0 : -ENOMEM;
	a = &l->args[l->n - 1];
	pr = k3s_plugin_ranges(&n);
	for (i = 0; i < n && r == 0; i++)
		if (!k3s_version_in(p->env.k3s_version, pr[i].since, pr[i].before))
			r = buf_printf(&b, "%s%s", b.len ? "," : "", pr[i].plugin);
	if (r < 0) {
		buf_free(&b);
		return -ENOMEM;
	}
	a->drop = b.data ? buf_steal(&b) : NULL;
	for (i = 0; i < sizeof(derived) / sizeof(derived[0]) && r == 0; i++)
		if (!keff_csv_has(a->value, derived[i]))
			r = buf_printf(&b, "%s%s", b.len ? "," : "", derived[i]);
	if (r < 0) {
		buf_free(&b);
		return -ENOMEM;
	}
	a->drop_own = b.data ? buf_steal(&b) : NULL;
	return 0;
}

/* The guide's six kubelet suites (hardening guide, all tabs of guide@035acb0). */
static const char kubelet_suites[] =
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,"
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305";

static bool has_arg(const struct k3s_model *m, const char *list, const char *flag)
{
	size_t i, j;

	for (i = 0; i < m->n_lists; i++)
		for (j = 0; strcmp(m->lists[i].name, list) == 0 && j < m->lists[i].n; j++)
			if (strcmp(m->lists[i].args[j].flag, flag) == 0)
				return true;
	return false;
}

/* The kubelet settings of the opt-in Manual controls (both roles). */
static int opt_in_args(struct k3s_model *m, const struct profile *p)
{
	const struct opt_in *o = p->opt_in;
	char v[16];
	int r = 0;

	if (!o)
		return 0;
	if (o->kubelet_tls_cipher_suites && !has_arg(m, "kubelet-arg", "tls-cipher-suites")) {
		char *key = (char *)"kubelet.tls_cipher_suites";

		r = add_arg(m, "kubelet-arg", "tls-cipher-suites", kubelet_suites, &key, 1);
	}
	if (r == 0 && o->pod_max_pids && !has_arg(m, "kubelet-arg", "pod-max-pids")) {
		char *key = (char *)"kubelet.pod_max_pids";

		snprintf(v, sizeof(v), "%u", o->pod_max_pids);
		r = add_arg(m, "kubelet-arg", "pod-max-pids", v, &key, 1);
	}
	return r;
}

static int apiserver_args(struct k3s_model *m, const struct profile *p)
{
	const struct k3s_config *k = p->k3s;
	const struct audit *a = p->audit;
	bool psa = p->pod_security && p->pod_security->enabled;
	bool erl = p->event_rate_limit && p->event_rate_limit->enabled;
	struct buf plugins = BUF_INIT;
	unsigned i;
	int r = 0;

	/* enable-admission-plugins replaces K3s's default list, which holds
	 * NodeRestriction (CIS 1.2.14): always keep it. EventRateLimit needs
	 * to be on for its configuration to matter. */
	if ((k && k->admission_plugins_count) || erl || version_plugins(p, NULL)) {
		bool has_nr = false, has_erl = false;

		for (i = 0; k && i < k->admission_plugins_count; i++) {
			has_nr |= strcmp(k->admission_plugins[i], "NodeRestriction") == 0;
			has_erl |= strcmp(k->admission_plugins[i], "EventRateLimit") == 0;
		}
		if (!has_nr)
			r |= buf_adds(&plugins, "NodeRestriction");
		for (i = 0; k && i < k->admission_plugins_count; i++)
			r |= buf_printf(&plugins, "%s%s", plugins.len ? "," : "", k->admission_plugins[i]);
		if (erl && !has_erl)
			r |= buf_printf(&plugins, ",EventRateLimit");
		r |= version_plugins(p, &plugins);
		if (r == 0)
			r = add_arg(m, "kube-apiserver-arg", "enable-admission-plugins", plugins.data,
				    k ? k->admission_controls : NULL, k ? k->admission_controls_count : 0);
		if (r == 0)
			r = drop_plugins(m, p);
		buf_free(&plugins);
		if (r < 0)
			return -ENOMEM;
	}
	if (psa || erl) {
		unsigned n = 0, i2;
		char **ids = calloc((psa ? p->pod_security->controls_count : 0) +
				    (erl ? p->event_rate_limit->controls_count : 0) + 1, sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		for (i2 = 0; psa && i2 < p->pod_security->controls_count; i2++)
			ids[n++] = p->pod_security->controls[i2];
		for (i2 = 0; erl && i2 < p->event_rate_limit->controls_count; i2++)
			ids[n++] = p->event_rate_limit->controls[i2];
		r = add_derived(m, "admission-control-config-file", p->pod_security->path, ids, n);
		free(ids);
		m->admission_configures = psa && erl ? "PodSecurity,EventRateLimit"
					  : psa ? "PodSecurity" : "EventRateLimit";
		if (r < 0)
			return r;
	}
	if (a && a->enabled) {
		char *log = audit_log_path(a);

		if (!log)
			return -ENOMEM;
		r = add_derived(m, "audit-log-path", log, a->controls, a->controls_count);
		free(log);
		if (r == 0)
			r = add_derived(m, "audit-policy-file", a->policy_path, a->controls, a->controls_count);
		if (r == 0)
			r = add_num_arg(m, "audit-log-maxage", a->max_age, a->controls, a->controls_count);
		if (r == 0)
			r = add_num_arg(m, "audit-log-maxbackup", a->max_backup, a->controls, a->controls_count);
		if (r == 0)
			r = add_num_arg(m, "audit-log-maxsize", a->max_size, a->controls, a->controls_count);
	}
	return r;
}

int k3s_model_build(const struct profile *p, enum profile_role role, struct k3s_model *m)
{
	const struct k3s_config *k = p->k3s;
	unsigned i;
	int r = 0;

	memset(m, 0, sizeof(*m));
	m->p = p;
	if (p->env.k3s_version && !(m->k3s_version = strdup(p->env.k3s_version)))
		return -ENOMEM;
	if (p->kernel && p->kernel->protect_kernel_defaults)
		r = add_setting(m, "protect-kernel-defaults", "true", p->kernel->controls,
				p->kernel->controls_count);
	/* an agent gets only what `k3s agent` takes (k3s_keys.c): no
	 * secrets-encryption, no kube-apiserver-arg, no other server list */
	for (i = 0; r == 0 && k && i < k->settings_count; i++) {
		if (role == ROLE_AGENT && !k3s_key_agent(k->settings[i].key))
			continue;
		if (!k3s_version_in(p->env.k3s_version, k->settings[i].since, k->settings[i].before))
			continue;
		r = add_setting(m, k->settings[i].key, k->settings[i].value,
				k->settings[i].controls, k->settings[i].controls_count);
	}
	if (r == 0 && role == ROLE_SERVER)
		r = apiserver_args(m, p);
	for (i = 0; r == 0 && k && i < k->args_count; i++) {
		const struct k3s_arg *a = &k->args[i];

		if (role == ROLE_AGENT && !k3s_key_agent(a->list))
			continue;
		if (!k3s_version_in(p->env.k3s_version, a->since, a->before))
			continue;
		r = add_arg(m, a->list, a->flag, a->value, a->controls, a->controls_count);
	}
	if (r == 0)
		r = opt_in_args(m, p);
	if (r < 0)
		k3s_model_free(m);
	return r;
}

void k3s_model_free(struct k3s_model *m)
{
	size_t i, j;

	for (i = 0; i < m->n_settings; i++) {
		free(m->settings[i].key);
		free(m->settings[i].value);
		free(m->settings[i].controls);
	}
	for (i = 0; i < m->n_lists; i++) {
		for (j = 0; j < m->lists[i].n; j++) {
			free(m->lists[i].args[j].flag);
			free(m->lists[i].args[j].value);
			free(m->lists[i].args[j].controls);
			free(m->lists[i].args[j].drop);
			free(m->lists[i].args[j].drop_own);
		}
		free(m->lists[i].args);
		free(m->lists[i].name);
	}
	free(m->settings);
	free(m->lists);
	free(m->k3s_version);
	memset(m, 0, sizeof(*m));
}
