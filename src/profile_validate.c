/* Meaning checks on a loaded profile: what the schema cannot say. */
#include "profile_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "k3s_keys.h"
#include "validate.h"
#include "benchmark.h"
#include "k3s_version.h"

struct vctx {
	struct profile_ctx *c;
	const struct ynode *tree;
};

/* The node at a dotted path like "audit.log_dir" or "kernel.parameters.3.key";
 * the deepest existing node when the path does not exist. */
static const struct ynode *node_at(const struct vctx *v, const char *path)
{
	const struct ynode *n = v->tree;
	char buf[256], *part, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part && n; part = strtok_r(NULL, ".", &save)) {
		const struct ynode *next = NULL;

		if (n->kind == YN_MAP) {
			next = ynode_get(n, part);
		} else if (n->kind == YN_SEQ && isdigit((unsigned char)part[0])) {
			unsigned long i = strtoul(part, NULL, 10);

			if (i < n->n)
				next = n->items[i];
		}
		if (!next)
			break;
		n = next;
	}
	return n;
}

static void verr(struct vctx *v, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void verr(struct vctx *v, const char *path, const char *fmt, ...)
{
	char shown[256], *msg = NULL, *o;
	const char *p;
	va_list ap;
	int k;

	/* internal paths use ".3." for list items; show them as "[3]" */
	for (p = path, o = shown; *p && o < shown + sizeof(shown) - 8; p++) {
		if (*p == '.' && isdigit((unsigned char)p[1])) {
			*o++ = '[';
			for (p++; isdigit((unsigned char)*p); p++)
				*o++ = *p;
			*o++ = ']';
			p--;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	/* what the schema check removed is reported already */
	if (pctx_is_dropped(v->c, shown))
		return;
	va_start(ap, fmt);
	k = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (k >= 0)
		pctx_field_err(v->c, node_at(v, path), shown, "%s: %s", shown, msg);
	free(msg);
}

static void v_controls(struct vctx *v, const char *base, char **ids, unsigned n)
{
	char path[256];
	unsigned i;

	for (i = 0; i < n; i++) {
		char near[80];

		if (valid_control_id(ids[i]))
			continue;
		snprintf(path, sizeof(path), "%s.controls.%u", base, i);
		if (islower((unsigned char)ids[i][0]) && strchr(ids[i], '.')) {
			if (k3s_control_check(ids[i], near, sizeof(near)) == 0)
				continue;
			if (near[0])
				verr(v, path, "'%s' is not a control key of any benchmark; did you mean '%s'?",
				     ids[i], near);
			else
				verr(v, path, "'%s' is not a control key of any benchmark (see benchmarks/KEYS.md)",
				     ids[i]);
			continue;
		}
		verr(v, path, "'%s' is not a CIS control ID (like 1.2.16) or a control key (like "
		     "apiserver.audit_log_path)", ids[i]);
	}
}

static void v_path(struct vctx *v, const char *path, const char *value)
{
	if (!value)
		verr(v, path, "missing");
	else if (!valid_abs_path(value))
		verr(v, path, "'%s' is not a clean absolute path (no '.', '..', '//' or trailing '/')", value);
}

static int cmp_index_by_name(const void *a, const void *b, void *names)
{
	char **v = names;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(v[x], v[y]);

	return c ? c : (x > y) - (x < y);
}

static void v_names(struct vctx *v, const char *base, char **names, unsigned n,
		    bool (*ok)(const char *), const char *what)
{
	char path[256];
	size_t *order;
	unsigned i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s.%u", base, i);
		if (!ok(names[i]))
			verr(v, path, "'%s' is not %s", names[i], what);
	}
	/* duplicates by sorting, so 10,000 namespaces stay cheap */
	order = malloc((n + 1) * sizeof(*order));
	if (!order)
		return;
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_index_by_name, names);
	for (i = 1; i < n; i++) {
		if (strcmp(names[order[i]], names[order[i - 1]]) != 0)
			continue;
		snprintf(path, sizeof(path), "%s.%zu", base, order[i]);
		verr(v, path, "'%s' is listed twice", names[order[i]]);
	}
	free(order);
}

static bool ok_username(const char *s)
{
	return *s && valid_one_line(s);
}

static bool ok_psa_version(const char *s)
{
	return strcmp(s, "latest") == 0 ||
	       (strncmp(s, "v1.", 3) == 0 && valid_uint_word(s + 3) && strlen(s) < 8);
}

static void v_pod_security(struct vctx *v, const struct profile *p)
{
	const struct pod_security *ps = p->pod_security;
	const struct psa_defaults *d;

	if (!ps)
		return;
	v_path(v, "pod_security.path", ps->path);
	v_controls(v, "pod_security", ps->controls, ps->controls_count);
	d = &ps->defaults;
	if (d->enforce_version && !ok_psa_version(d->enforce_version))
		verr(v, "pod_security.defaults.enforce_version", "'%s' is not 'latest' or v1.N", d->enforce_version);
	if (d->audit_version && !ok_psa_version(d->audit_version))
		verr(v, "pod_security.defaults.audit_version", "'%s' is not 'latest' or v1.N", d->audit_version);
	if (d->warn_version && !ok_psa_version(d->warn_version))
		verr(v, "pod_security.defaults.warn_version", "'%s' is not 'latest' or v1.N", d->warn_version);
	v_names(v, "pod_security.exemptions.namespaces", ps->exemptions.namespaces,
		ps->exemptions.namespaces_count, valid_dns1123_label, "a namespace name (DNS-1123 label)");
	v_names(v, "pod_security.exemptions.runtime_classes", ps->exemptions.runtime_classes,
		ps->exemptions.runtime_classes_count, valid_dns1123_subdomain,
		"a RuntimeClass name (DNS-1123 subdomain)");
	v_names(v, "pod_security.exemptions.usernames", ps->exemptions.usernames,
		ps->exemptions.usernames_count, ok_username, "a user name");
}

static void v_event_rate_limit(struct vctx *v, const struct profile *p)
{
	const struct event_rate_limit *e = p->event_rate_limit;
	char path[128];
	unsigned i, j;

	if (!e)
		return;
	v_controls(v, "event_rate_limit", e->controls, e->controls_count);
	if (e->enabled && e->limits_count == 0)
		verr(v, "event_rate_limit.limits", "EventRateLimit needs at least one limit");
	for (i = 0; i < e->limits_count; i++) {
		snprintf(path, sizeof(path), "event_rate_limit.limits.%u.qps", i);
		if (e->limits[i].qps == 0)
			verr(v, path, "must be at least 1");
		snprintf(path, sizeof(path), "event_rate_limit.limits.%u.burst", i);
		if (e->limits[i].burst == 0)
			verr(v, path, "must be at least 1");
		for (j = 0; j < i; j++) {
			if (e->limits[j].type != e->limits[i].type)
				continue;
			snprintf(path, sizeof(path), "event_rate_limit.limits.%u.type", i);
			verr(v, path, "a limit of type %s is already set", erl_type_name(e->limits[i].type));
		}
	}
}

static void v_audit(struct vctx *v, const struct profile *p)
{
	const struct audit *a = p->audit;

	if (!a)
		return;
	v_controls(v, "audit", a->controls, a->controls_count);
	v_path(v, "audit.policy_path", a->policy_path);
	v_path(v, "audit.log_dir", a->log_dir);
	if (!a->log_file || !valid_file_name(a->log_file))
		verr(v, "audit.log_file", "'%s' is not a file name", a->log_file ? a->log_file : "");
	if (a->enabled) {
		if (a->max_age < 1 || a->max_age > 3650)
			verr(v, "audit.max_age", "%u days is outside 1 to 3650", a->max_age);
		if (a->max_backup < 1 || a->max_backup > 1000)
			verr(v, "audit.max_backup", "%u files is outside 1 to 1000", a->max_backup);
		if (a->max_size < 1 || a->max_size > 102400)
			verr(v, "audit.max_size", "%u MB is outside 1 to 102400", a->max_size);
	}
}

/* The values the kubelet insists on with protect-kernel-defaults. */
static const struct { const char *key, *value; } kubelet_kernel[] = {
	{ "vm.overcommit_memory", "1" },
	{ "vm.panic_on_oom", "0" },
	{ "kernel.panic", "10" },
	{ "kernel.panic_on_oops", "1" },
	{ "kernel.keys.root_maxkeys", "1000000" },
	{ "kernel.keys.root_maxbytes", "25000000" },
};

static void v_kernel(struct vctx *v, const struct profile *p)
{
	const struct kernel *k = p->kernel;
	unsigned missing[sizeof(kubelet_kernel) / sizeof(kubelet_kernel[0])];
	unsigned i, j, n_missing = 0;
	struct buf list = BUF_INIT;
	char path[128];

	if (!k)
		return;
	v_path(v, "kernel.path", k->path);
	v_controls(v, "kernel", k->controls, k->controls_count);
	for (i = 0; i < k->parameters_count; i++) {
		const struct sysctl_param *sp = &k->parameters[i];

		snprintf(path, sizeof(path), "kernel.parameters.%u", i);
		v_controls(v, path, sp->controls, sp->controls_count);
		snprintf(path, sizeof(path), "kernel.parameters.%u.key", i);
		if (!valid_sysctl_key(sp->key))
			verr(v, path, "'%s' is not a sysctl key (a-z, 0-9, '_' and '.', no '..' or '/')", sp->key);
		for (j = 0; j < i; j++)
			if (strcmp(k->parameters[j].key, sp->key) == 0)
				verr(v, path, "'%s' is set twice", sp->key);
		snprintf(path, sizeof(path), "kernel.parameters.%u.value", i);
		if (!*sp->value || !valid_one_line(sp->value) || sp->value[0] == ' ' ||
		    sp->value[strlen(sp->value) - 1] == ' ')
			verr(v, path, "a sysctl value must be one line without control characters "
			     "or surrounding spaces");
	}
	if (!k->protect_kernel_defaults)
		return;
	for (i = 0; i < sizeof(kubelet_kernel) / sizeof(kubelet_kernel[0]); i++) {
		for (j = 0; j < k->parameters_count; j++)
			if (strcmp(k->parameters[j].key, kubelet_kernel[i].key) == 0)
				break;
		if (j == k->parameters_count) {
			missing[n_missing++] = i;
		} else if (strcmp(k->parameters[j].value, kubelet_kernel[i].value) != 0) {
			snprintf(path, sizeof(path), "kernel.parameters.%u.value", j);
			verr(v, path, "protect_kernel_defaults needs %s=%s, not %s",
			     kubelet_kernel[i].key, kubelet_kernel[i].value, k->parameters[j].value);
		}
	}
	/* one line for all that are missing: a replaced list lacks them together */
	for (i = 0; i < n_missing; i++)
		buf_printf(&list, "%s%s=%s", i == 0 ? "" : i + 1 == n_missing ? " and " : ", ",
			   kubelet_kernel[missing[i]].key, kubelet_kernel[missing[i]].value);
	if (n_missing)
		verr(v, "kernel.parameters", "protect_kernel_defaults needs %s, or the kubelet "
		     "will not start", list.data ? list.data : "");
	buf_free(&list);
}

static bool ok_prefix(const char *s)
{
	return valid_dns1123_label(s);
}

static void v_network_policies(struct vctx *v, const struct profile *p)
{
	const struct network_policies *np = p->network_policies;

	if (!np)
		return;
	v_controls(v, "network_policies", np->controls, np->controls_count);
	v_names(v, "network_policies.namespaces", np->namespaces, np->namespaces_count,
		valid_dns1123_label, "a namespace name (DNS-1123 label)");
	if (np->enabled && np->namespaces_count == 0)
		verr(v, "network_policies.namespaces", "no namespace to protect");
	if (!np->manifest_prefix || !ok_prefix(np->manifest_prefix))
		verr(v, "network_policies.manifest_prefix", "'%s' is not a DNS-1123 label",
		     np->manifest_prefix ? np->manifest_prefix : "");
}

static bool ok_manifest_name(const char *s)
{
	size_t n = strlen(s);

	return valid_file_name(s) && n > 5 && strcmp(s + n - 5, ".yaml") == 0;
}

static void v_service_accounts(struct vctx *v, const struct profile *p)
{
	const struct service_accounts *sa = p->service_accounts;

	if (!sa)
		return;
	v_controls(v, "service_accounts", sa->controls, sa->controls_count);
	v_names(v, "service_accounts.namespaces", sa->namespaces, sa->namespaces_count,
		valid_dns1123_label, "a namespace name (DNS-1123 label)");
	if (!sa->manifest || !ok_manifest_name(sa->manifest))
		verr(v, "service_accounts.manifest", "'%s' is not a file name ending in .yaml",
		     sa->manifest ? sa->manifest : "");
}

enum arg_scope { ARGS_NONE, ARGS_SERVER, ARGS_AGENT };

/* Which K3s list options take `flag=value` entries, and whether an agent runs
 * them: the one place this module decides what an agent takes. */
/* from the one table of K3s options (k3s_keys.c) */
static enum arg_scope arg_list_scope(const char *list)
{
	bool agent = false;

	if (!k3s_key_arg_list(list, &agent))
		return ARGS_NONE;
	return agent ? ARGS_AGENT : ARGS_SERVER;
}

enum flag_type { FT_ANY, FT_BOOL, FT_UINT, FT_DURATION, FT_OWNED };

/* Flags whose values we can check, and flags other profile sections own. */
static const struct { const char *flag; enum flag_type type; const char *owner; } known_flags[] = {
	{ "request-timeout", FT_DURATION, NULL },
	{ "streaming-connection-idle-timeout", FT_DURATION, NULL },
	{ "min-request-timeout", FT_UINT, NULL },
	{ "service-account-lookup", FT_BOOL, NULL },
	{ "use-service-account-credentials", FT_BOOL, NULL },
	{ "make-iptables-util-chains", FT_BOOL, NULL },
	{ "profiling", FT_BOOL, NULL },
	{ "anonymous-auth", FT_BOOL, NULL },
	{ "rotate-certificates", FT_BOOL, NULL },
	{ "terminated-pod-gc-threshold", FT_UINT, NULL },
	{ "event-qps", FT_UINT, NULL },
	{ "pod-max-pids", FT_UINT, NULL },
	{ "audit-log-path", FT_OWNED, "audit.log_dir and audit.log_file" },
	{ "audit-policy-file", FT_OWNED, "audit.policy_path" },
	{ "audit-log-maxage", FT_OWNED, "audit.max_age" },
	{ "audit-log-maxbackup", FT_OWNED, "audit.max_backup" },
	{ "audit-log-maxsize", FT_OWNED, "audit.max_size" },
	{ "admission-control-config-file", FT_OWNED, "pod_security.path" },
	{ "enable-admission-plugins", FT_OWNED, "k3s.admission_plugins" },
	{ "protect-kernel-defaults", FT_OWNED, "kernel.protect_kernel_defaults" },
};

/* Whether [s1, b1) and [s2, b2) share a K3s version (NULL: unbounded). */
static bool ranges_overlap(const char *s1, const char *b1, const char *s2, const char *b2)
{
	if (b1 && s2 && k3s_version_cmp(b1, s2) <= 0)
		return false;
	if (b2 && s1 && k3s_version_cmp(b2, s1) <= 0)
		return false;
	return true;
}

static void v_since_before(struct vctx *v, const char *base, unsigned i, const char *since,
			   const char *before)
{
	char path[128];

	snprintf(path, sizeof(path), "%s.%u.since", base, i);
	if (since && !k3s_version_valid(since))
		verr(v, path, "'%s' is not a K3s version (like 1.29)", since);
	snprintf(path, sizeof(path), "%s.%u.before", base, i);
	if (before && !k3s_version_valid(before))
		verr(v, path, "'%s' is not a K3s version (like 1.29)", before);
	else if (since && before && k3s_version_valid(since) && k3s_version_cmp(since, before) >= 0)
		verr(v, path, "%s is not after since (%s): no K3s version is left", before, since);
}

/* The benchmark and K3s version keys. */
static void v_versions(struct vctx *v, const struct profile *p)
{
	const char *const *names;
	size_t n, i;

	if (p->benchmark && strcmp(p->benchmark, "auto") != 0) {
		names = benchmark_names(&n);
		for (i = 0; i < n && strcmp(names[i], p->benchmark) != 0; i++)
			;
		if (i == n)
			verr(v, "benchmark", "'%s' is not a benchmark (auto, or one of "
			     "k3s-harden benchmarks: k3s-cis-1.6 ... k3s-cis-2.1)", p->benchmark);
	}
	if (p->k3s_version && !k3s_version_valid(p->k3s_version))
		verr(v, "k3s_version", "'%s' is not a K3s version (like 1.30 or v1.30.4+k3s1)",
		     p->k3s_version);
	if (p->k3s_versions) {
		const struct k3s_range *r = p->k3s_versions;

		if (!r->min || !k3s_version_valid(r->min))
			verr(v, "k3s_versions.min", "'%s' is not a K3s version (like 1.25)", r->min ? r->min : "");
		if (!r->max || !k3s_version_valid(r->max))
			verr(v, "k3s_versions.max", "'%s' is not a K3s version (like 1.28)", r->max ? r->max : "");
		else if (r->min && k3s_version_valid(r->min) && k3s_version_cmp(r->min, r->max) > 0)
			verr(v, "k3s_versions.max", "%s is before min (%s)", r->max, r->min);
		/* a base extends: cis picked for --k3s-version, which wins over the pin */
		bool picked_for_cli = v->c->cis_picked && v->c->opts && v->c->opts->k3s_version;

		if (p->k3s_version && k3s_version_valid(p->k3s_version) && r->min && r->max &&
		    !picked_for_cli && !k3s_version_in(p->k3s_version, r->min, NULL))
			verr(v, "k3s_version", "K3s %s is before this profile's k3s_versions.min (%s)",
			     p->k3s_version, r->min);
	}
	if (p->pod_security_policy) {
		const struct pod_security_policy *psp = p->pod_security_policy;

		v_controls(v, "pod_security_policy", psp->controls, psp->controls_count);
		if (!psp->manifest || !ok_manifest_name(psp->manifest))
			verr(v, "pod_security_policy.manifest", "'%s' is not a file name ending in .yaml",
			     psp->manifest ? psp->manifest : "");
	}
}

static void v_arg(struct vctx *v, const struct profile *p, unsigned i)
{
	const struct k3s_arg *a = &p->k3s->args[i];
	enum arg_scope scope;
	char path[128];
	unsigned j;

	snprintf(path, sizeof(path), "k3s.args.%u", i);
	v_controls(v, path, a->controls, a->controls_count);
	snprintf(path, sizeof(path), "k3s.args.%u.list", i);
	scope = arg_list_scope(a->list);
	if (scope == ARGS_NONE)
		verr(v, path, "'%s' is not a K3s argument list (kube-apiserver-arg, kubelet-arg, ...)", a->list);
	else if (p->role == ROLE_AGENT && scope != ARGS_AGENT)
		verr(v, path, "'%s' is for servers; an agent runs only the kubelet and kube-proxy", a->list);
	snprintf(path, sizeof(path), "k3s.args.%u.flag", i);
	if (a->flag[0] == '-') {
		verr(v, path, "write the flag without leading dashes ('%s')", a->flag + strspn(a->flag, "-"));
		return;
	}
	if (!valid_flag_name(a->flag)) {
		verr(v, path, "'%s' is not a flag name (a-z, 0-9 and '-')", a->flag);
		return;
	}
	for (j = 0; j < i; j++)
		if (strcmp(p->k3s->args[j].list, a->list) == 0 && strcmp(p->k3s->args[j].flag, a->flag) == 0 &&
		    ranges_overlap(p->k3s->args[j].since, p->k3s->args[j].before, a->since, a->before))
			verr(v, path, "%s %s is set twice for the same K3s versions", a->list, a->flag);
	v_since_before(v, "k3s.args", i, a->since, a->before);
	snprintf(path, sizeof(path), "k3s.args.%u.value", i);
	if (!valid_one_line(a->value)) {
		verr(v, path, "newlines and control characters are not allowed");
		return;
	}
	for (j = 0; j < sizeof(known_flags) / sizeof(known_flags[0]); j++) {
		if (strcmp(known_flags[j].flag, a->flag) != 0)
			continue;
		switch (known_flags[j].type) {
		case FT_OWNED:
			snprintf(path, sizeof(path), "k3s.args.%u.flag", i);
			verr(v, path, "%s is set from %s; set it there", a->flag, known_flags[j].owner);
			break;
		case FT_BOOL:
			if (!valid_bool_word(a->value))
				verr(v, path, "%s takes true or false, not '%s'", a->flag, a->value);
			break;
		case FT_UINT:
			if (!valid_uint_word(a->value) || strlen(a->value) > 9)
				verr(v, path, "%s takes a whole number, not '%s'", a->flag, a->value);
			break;
		case FT_DURATION:
			if (!valid_duration(a->value))
				verr(v, path, "%s takes a duration such as 5m or 300s, not '%s'", a->flag, a->value);
			else if (strcmp(a->flag, "streaming-connection-idle-timeout") == 0 &&
				 strspn(a->value, "0.nsuµmh") == strlen(a->value))
				verr(v, path, "0 disables the idle timeout (CIS 4.2.5)");
			break;
		case FT_ANY:
			break;
		}
	}
}

static void v_k3s(struct vctx *v, const struct profile *p)
{
	const struct k3s_config *k = p->k3s;
	char path[128];
	unsigned i, j;

	if (!k)
		return;
	v_path(v, "k3s.path", k->path);
	if (!k->dropin || !ok_manifest_name(k->dropin))
		verr(v, "k3s.dropin", "'%s' is not a file name ending in .yaml", k->dropin ? k->dropin : "");
	v_controls(v, "k3s.admission", k->admission_controls, k->admission_controls_count);
	for (i = 0; i < k->admission_plugins_count; i++) {
		const char *s = k->admission_plugins[i];

		snprintf(path, sizeof(path), "k3s.admission_plugins.%u", i);
		if (!*s || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != strlen(s))
			verr(v, path, "'%s' is not an admission plugin name", s);
		else if (strcmp(s, "AlwaysAdmit") == 0)
			verr(v, path, "AlwaysAdmit admits every request (CIS 1.2.10)");
		for (j = 0; j < i; j++)
			if (strcmp(k->admission_plugins[j], s) == 0)
				verr(v, path, "'%s' is listed twice", s);
	}
	for (i = 0; i < k->settings_count; i++) {
		const struct k3s_setting *s = &k->settings[i];

		snprintf(path, sizeof(path), "k3s.settings.%u", i);
		v_controls(v, path, s->controls, s->controls_count);
		v_since_before(v, "k3s.settings", i, s->since, s->before);
		snprintf(path, sizeof(path), "k3s.settings.%u.key", i);
		if (!valid_flag_name(s->key)) {
			verr(v, path, "'%s' is not a K3s option name", s->key);
			continue;
		}
		if (arg_list_scope(s->key) != ARGS_NONE)
			verr(v, path, "%s is a list; put its flags under k3s.args", s->key);
		else if (p->role == ROLE_AGENT && k3s_key_find(s->key) && !k3s_key_agent(s->key))
			verr(v, path, "%s is for servers; `k3s agent` does not take it", s->key);
		if (strcmp(s->key, "protect-kernel-defaults") == 0)
			verr(v, path, "protect-kernel-defaults is set from kernel.protect_kernel_defaults; set it there");
		for (j = 0; j < i; j++)
			if (strcmp(k->settings[j].key, s->key) == 0)
				verr(v, path, "'%s' is set twice", s->key);
		snprintf(path, sizeof(path), "k3s.settings.%u.value", i);
		if (!valid_one_line(s->value))
			verr(v, path, "newlines and control characters are not allowed");
	}
	for (i = 0; i < k->args_count; i++)
		v_arg(v, p, i);
}

static void v_top(struct vctx *v, const struct profile *p)
{
	size_t n;

	/* dots for the benchmark versions in k3s-cis-1.10 */
	if (!p->name || !valid_dns1123_subdomain(p->name) || strlen(p->name) > 63)
		verr(v, "name", "'%s' is not a profile name (a-z, 0-9, '-' and '.')", p->name ? p->name : "");
	n = p->unit ? strlen(p->unit) : 0;
	if (p->unit && (n < 9 || strcmp(p->unit + n - 8, ".service") != 0 ||
			strspn(p->unit, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.@\\") != n))
		verr(v, "unit", "'%s' is not a systemd service name", p->unit);
	v_path(v, "manifests_dir", p->manifests_dir);
	if (p->retention < 1 || p->retention > 1000)
		verr(v, "retention", "%u generations is outside 1 to 1000", p->retention);
	if (p->role == ROLE_AGENT) {
		static const char *const server_only[] = {
			"pod_security", "event_rate_limit", "audit", "network_policies", "service_accounts",
		};
		const bool on[] = {
			p->pod_security && p->pod_security->enabled,
			p->event_rate_limit && p->event_rate_limit->enabled,
			p->audit && p->audit->enabled,
			p->network_policies && p->network_policies->enabled,
			p->service_accounts && p->service_accounts->enabled,
		};
		char path[64];
		size_t i;

		for (i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
			const struct ynode *at;

			if (!on[i])
				continue;
			snprintf(path, sizeof(path), "%s.enabled", server_only[i]);
			at = node_at(v, path);
			/* a built-in parent's line is no help: point at role: agent */
			if (at && strncmp(at->file, "builtin:", 8) == 0)
				pctx_err(v->c, node_at(v, "role"), NULL, "%s: %s belongs on servers; "
				     "an agent profile sets %s: {enabled: false}", path, server_only[i],
				     server_only[i]);
			else
				verr(v, path, "%s belongs on servers; set enabled: false for an agent",
				     server_only[i]);
		}
	}
}

static void v_restart(struct vctx *v, const struct profile *p)
{
	const struct restart_gate *g = p->restart;
	static const char *const keys[] = { "job_timeout", "settle", "health_timeout", "health_interval" };
	const char *vals[4];
	char path[64];
	size_t i;

	if (!g)
		return;
	vals[0] = g->job_timeout;
	vals[1] = g->settle;
	vals[2] = g->health_timeout;
	vals[3] = g->health_interval;
	for (i = 0; i < 4; i++) {
		long long ms;

		snprintf(path, sizeof(path), "restart.%s", keys[i]);
		if (!vals[i]) {
			verr(v, path, "missing");
			continue;
		}
		ms = valid_duration_ms(vals[i]);
		if (ms < 0)
			verr(v, path, "'%s' is not a duration such as 30s or 5m", vals[i]);
		else if (ms > 3600000LL)
			verr(v, path, "%s is longer than an hour", vals[i]);
		else if (ms == 0 && i != 1)
			verr(v, path, "must be longer than 0");
	}
	for (i = 0; i < g->health_command_count; i++) {
		snprintf(path, sizeof(path), "restart.health_command.%zu", i);
		if (!*g->health_command[i] || !valid_one_line(g->health_command[i]))
			verr(v, path, "an argument must be non-empty, without control characters");
	}
}

void profile_validate(struct profile_ctx *c, const struct ynode *tree, const struct profile *p)
{
	struct vctx vv = { c, tree }, *v = &vv;

	v_restart(v, p);
	v_top(v, p);
	v_pod_security(v, p);
	v_event_rate_limit(v, p);
	v_audit(v, p);
	v_kernel(v, p);
	v_network_policies(v, p);
	v_service_accounts(v, p);
	v_k3s(v, p);
	v_versions(v, p);
}
