/* Reasons K3s would not start with what the profile writes; see preflight.h. */
#include "preflight.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keff.h"
#include "k3s_version.h"
#include "model.h"
#include "sysctl.h"

#define WHO "preflight"

/* The values the kubelet insists on with protect-kernel-defaults. */
static const char *const kubelet_kernel[] = {
	"vm.overcommit_memory", "vm.panic_on_oom", "kernel.panic", "kernel.panic_on_oops",
	"kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes",
};

static const char *shown(const char *v)
{
	return v ? v : "(the newest)";
}

static const struct cfg_arg *model_arg(const struct k3s_model *m, const char *list, const char *flag)
{
	size_t i, j;

	for (i = 0; i < m->n_lists; i++)
		for (j = 0; strcmp(m->lists[i].name, list) == 0 && j < m->lists[i].n; j++)
			if (strcmp(m->lists[i].args[j].flag, flag) == 0)
				return &m->lists[i].args[j];
	return NULL;
}

/* kube-apiserver refuses EventRateLimit without its configuration
 * (admission-control-config-file), which only event_rate_limit writes. */
static void check_erl(const struct profile *p, const struct k3s_model *m, struct diags *errs)
{
	const struct cfg_arg *a = model_arg(m, "kube-apiserver-arg", "enable-admission-plugins");

	if (!a || !keff_csv_has(a->value, "EventRateLimit") ||
	    model_arg(m, "kube-apiserver-arg", "admission-control-config-file"))
		return;
	diags_add(errs, WHO, 0, 0, "K3s %s: admission plugin EventRateLimit without its configuration "
		  "(admission-control-config-file): kube-apiserver would not start; turn "
		  "event_rate_limit on, or take EventRateLimit out of k3s.admission_plugins",
		  shown(p->env.k3s_version));
}

static void check_plugins(const struct profile *p, const struct k3s_model *m, struct diags *errs)
{
	const char *v = p->env.k3s_version;
	const struct cfg_arg *a = model_arg(m, "kube-apiserver-arg", "enable-admission-plugins");
	const struct k3s_plugin_range *plugin_versions;
	size_t i, n;

	if (!a)
		return;
	plugin_versions = k3s_plugin_ranges(&n);
	for (i = 0; i < n; i++) {
		if (!keff_csv_has(a->value, plugin_versions[i].plugin) ||
		    k3s_version_in(v, plugin_versions[i].since, plugin_versions[i].before))
			continue;
		if (plugin_versions[i].before)
			diags_add_field(errs, WHO, 0, 0, "k3s.admission_plugins", "K3s %s does not know admission plugin %s (removed "
				  "in %s): kube-apiserver would not start; use a profile for this K3s "
				  "version (k3s-harden profile list)", shown(v), plugin_versions[i].plugin,
				  plugin_versions[i].before);
		else
			diags_add_field(errs, WHO, 0, 0, "k3s.admission_plugins", "K3s %s does not know admission plugin %s (added in "
				  "%s): kube-apiserver would not start; turn it off in the profile",
				  shown(v), plugin_versions[i].plugin, plugin_versions[i].since);
	}
}

static void check_psa(const struct profile *p, struct diags *errs)
{
	const struct pod_security *ps = p->pod_security;
	const char *v = p->env.k3s_version;

	if (!ps || !ps->enabled)
		return;
	if (ps->api_version == PSA_API_V1 && !k3s_has(v, K3S_PSA))
		diags_add_field(errs, WHO, 0, 0, "pod_security.api_version", "K3s %s does not read PodSecurityConfiguration v1 (K3s >= 1.25): "
			  "kube-apiserver would not start; on K3s <= 1.24 use a PodSecurityPolicy profile "
			  "(k3s-cis-1.23, k3s-cis-1.24) or pod_security.api_version: v1beta1 (>= 1.23)", v);
	else if (ps->api_version == PSA_API_V1BETA1 && !k3s_version_in(v, "1.23", NULL))
		diags_add_field(errs, WHO, 0, 0, "pod_security.api_version", "K3s %s has no PodSecurityConfiguration v1beta1 (K3s >= 1.23): "
			  "kube-apiserver would not start; turn pod_security off", v);
	if (p->pod_security_policy && p->pod_security_policy->enabled && k3s_has(v, K3S_PSP))
		diags_add_field(errs, WHO, 0, 0, "pod_security_policy.enabled", "pod_security and pod_security_policy are both on for K3s %s: "
			  "the guide uses one of them (PSP up to 1.24, PSA from 1.25)", v);
}

static void check_dropins(const struct profile *p, struct diags *errs)
{
	const char *v = p->env.k3s_version;

	if (p->k3s && p->k3s->mode == CONFIG_DROPIN && !k3s_has(v, K3S_CONFIG_DROPINS))
		diags_add_field(errs, WHO, 0, 0, "k3s.mode", "K3s %s reads no config.yaml.d drop-ins (K3s >= 1.21): the "
			  "hardening would be ignored; set k3s.mode: merge", v);
}

/* With protect-kernel-defaults the kubelet exits when a value differs and cannot be set. */
static void check_kernel(const struct profile *p, const struct plan_opts *o, struct diags *errs)
{
	const struct kernel *k = p->kernel;
	unsigned i, j;

	if (!o->live || !k || !k->protect_kernel_defaults)
		return;
	for (i = 0; i < k->parameters_count; i++) {
		const struct sysctl_param *sp = &k->parameters[i];
		char *live = NULL, file[4096];
		bool checked = false;
		int g, c;

		for (j = 0; j < sizeof(kubelet_kernel) / sizeof(kubelet_kernel[0]); j++)
			checked |= strcmp(kubelet_kernel[j], sp->key) == 0;
		if (!checked)
			continue;
		g = sysctl_get(o->root, sp->key, &live);
		if (g == 0 && sysctl_equal(live, sp->value)) {
			free(live);
			continue;
		}
		snprintf(file, sizeof(file), "%s/proc/sys/%s", strcmp(o->root, "/") ? o->root : "", sp->key);
		for (j = (unsigned)(strlen(file) - strlen(sp->key)); file[j]; j++)
			if (file[j] == '.')
				file[j] = '/';
		c = sysctl_check(o->root, sp->key);
		if (g == -ENOENT || c == -ENOENT)
			diags_add_field(errs, WHO, 0, 0, "kernel.protect_kernel_defaults", "the kernel has no %s, which the kubelet checks with "
				  "protect-kernel-defaults: it would not start; turn protect_kernel_defaults "
				  "off", sp->key);
		else if (c == 0 && g == 0 && access(file, W_OK) < 0)
			diags_add_field(errs, WHO, 0, 0, "kernel.protect_kernel_defaults", "%s is %s and cannot be set here; the kubelet would "
				  "not start with protect-kernel-defaults: set it on the host (a container "
				  "cannot) or turn protect_kernel_defaults off", sp->key, live);
		/* a planted link or FIFO is the plan's to refuse, with its reason */
		free(live);
	}
}

int preflight_check(const struct profile *p, const struct plan_opts *o, struct diags *errs)
{
	struct k3s_model m;
	size_t before = errs->n;
	int r;

	if ((r = k3s_model_build(p, o->role, &m)) < 0)
		return r;
	if (o->role == ROLE_SERVER) {
		check_plugins(p, &m, errs);
		check_erl(p, &m, errs);
		check_psa(p, errs);
	}
	check_dropins(p, errs);
	check_kernel(p, o, errs);
	k3s_model_free(&m);
	return errs->n > before ? -EINVAL : 0;
}
