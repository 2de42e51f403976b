/*
 * Profiles per benchmark and per K3s version: for every built-in benchmark
 * profile, at both ends of its K3s range and for both roles, the rendered
 * files have the structure that K3s version reads (PSP or PSA, the guide's
 * >= 1.29 values, Traefik v1 or v2, a policy for every namespace); IDs
 * follow the benchmark in use; the components that run decide the allow
 * policies; preflight lists every reason K3s would not start.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "benchmark.h"
#include "embedded.h"
#include "k3s_version.h"
#include "preflight.h"
#include "render.h"
#include "yamldoc.h"

#define SUITES "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384," \
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256," \
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"
#define MANIFESTS "/var/lib/rancher/k3s/server/manifests/"

struct fixture {
	char dir[64];
	struct profile_doc *doc;
	struct artifacts arts;
	struct diags d, notes;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/k3h-version-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static void reset(struct fixture *f)
{
	artifacts_free(&f->arts);
	profile_doc_free(f->doc);
	f->doc = NULL;
	diags_free(&f->d);
	diags_free(&f->notes);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	reset(f);
	/* test cleanup of our own mkdtemp directory only */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", f->dir);
	if (strncmp(f->dir, "/tmp/k3h-version-", 17) == 0 && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f);
	ynode_intern_free();
	return 0;
}

static void print_diags(const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);

		print_error("%s\n", s);
		free(s);
	}
}

static bool diags_have(const struct diags *d, const char *text)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strstr(d->v[i].msg, text))
			return true;
	return false;
}

static void write_file(const char *dir, const char *rel, const char *text, mode_t mode)
{
	char path[512], *slash;
	FILE *fp;

	snprintf(path, sizeof(path), "%s%s", dir, rel);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(path, 0755);
		*slash = '/';
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Load NAME, fit it to version v with components c (NULL: all run), render for role. */
static void load_fit_render(struct fixture *f, const char *name, const char *v,
			    const struct k3s_components *c, enum profile_role role)
{
	struct render_opts o = { NULL, role };
	struct k3s_components all;
	struct plan_opts po;
	int r;

	reset(f);
	r = profile_load(name, &f->doc, &f->d);
	if (r < 0)
		print_diags(&f->d);
	assert_int_equal(r, 0);
	k3s_components_all(&all);
	r = k3s_env_apply(f->doc->p, v, c ? c : &all, &f->notes, &f->d);
	if (r < 0)
		print_diags(&f->d);
	assert_int_equal(r, 0);
	memset(&po, 0, sizeof(po));
	po.root = f->dir;
	po.role = role;
	r = preflight_check(f->doc->p, &po, &f->d);
	if (r < 0)
		print_diags(&f->d);
	assert_int_equal(r, 0);
	r = render_profile(f->doc->p, &o, &f->arts, &f->d);
	if (r < 0)
		print_diags(&f->d);
	assert_int_equal(r, 0);
}

static const struct artifact *find(const struct fixture *f, const char *path)
{
	size_t i;

	for (i = 0; i < f->arts.n; i++)
		if (strcmp(f->arts.v[i].path, path) == 0)
			return &f->arts.v[i];
	return NULL;
}

static const char *list_value(yaml_document_t *d, yaml_node_t *list, const char *flag)
{
	size_t n = strlen(flag), i;

	for (i = 0; list && i < ylen(list); i++) {
		char idx[24];
		const char *s;

		snprintf(idx, sizeof(idx), "%zu", i);
		s = yscalar(d, list, idx);
		if (s && strncmp(s, flag, n) == 0 && s[n] == '=')
			return s + n + 1;
	}
	return NULL;
}

/* The document of kind/name in a manifest stream, or -1. */
static long find_doc(struct ydocs *y, const char *kind, const char *name)
{
	size_t i;

	for (i = 0; i < y->n; i++) {
		yaml_node_t *r = ydoc_root(y, i);
		const char *k = r ? yscalar(&y->docs[i], r, "kind") : NULL;
		const char *n = r ? yscalar(&y->docs[i], r, "metadata.name") : NULL;

		if (k && n && strcmp(k, kind) == 0 && strcmp(n, name) == 0)
			return (long)i;
	}
	return -1;
}

/* The scalar under key in the mapping at path (keys with dots, as label names have). */
static const char *label_at(yaml_document_t *d, yaml_node_t *n, const char *path, const char *key)
{
	yaml_node_t *m = ypath(d, n, path);
	yaml_node_pair_t *p;

	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key), *v = yaml_document_get_node(d, p->value);

		if (k && v && k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return (const char *)v->data.scalar.value;
	}
	return NULL;
}

static bool version_before(const char *v, const char *limit)
{
	return k3s_version_cmp(v, limit) < 0;
}

static void check_config(struct fixture *f, const char *v, enum profile_role role)
{
	const struct artifact *a = find(f, "/etc/rancher/k3s/config.yaml");
	const struct bench_control *bc;
	yaml_node_t *r, *api, *kcm, *kubelet;
	yaml_document_t *d;
	struct ydocs y;
	const char *s;

	assert_non_null(a);
	assert_int_equal(ydocs_load(&y, a->data, a->len), 0);
	d = &y.docs[0];
	r = ydoc_root(&y, 0);
	assert_string_equal(yscalar(d, r, "protect-kernel-defaults"), "true");
	kubelet = ypath(d, r, "kubelet-arg");
	assert_string_equal(list_value(d, kubelet, "streaming-connection-idle-timeout"), "5m");
	if (version_before(v, "1.29"))
		assert_null(list_value(d, kubelet, "tls-cipher-suites"));
	else
		assert_string_equal(list_value(d, kubelet, "tls-cipher-suites"), SUITES);
	if (role == ROLE_AGENT) {
		assert_null(ypath(d, r, "kube-apiserver-arg"));
		assert_null(ypath(d, r, "kube-controller-manager-arg"));
		assert_null(ypath(d, r, "secrets-encryption"));
		ydocs_free(&y);
		return;
	}
	assert_string_equal(yscalar(d, r, "secrets-encryption"), "true");
	api = ypath(d, r, "kube-apiserver-arg");
	kcm = ypath(d, r, "kube-controller-manager-arg");
	s = list_value(d, api, "enable-admission-plugins");
	assert_non_null(s);
	assert_non_null(strstr(s, "NodeRestriction"));
	if (version_before(v, "1.25")) {
		assert_non_null(strstr(s, "PodSecurityPolicy"));
		assert_null(list_value(d, api, "admission-control-config-file"));
	} else {
		assert_null(strstr(s, "PodSecurityPolicy"));
		assert_string_equal(list_value(d, api, "admission-control-config-file"),
				    "/var/lib/rancher/k3s/server/psa.yaml");
	}
	if (version_before(v, "1.29")) {
		assert_string_equal(list_value(d, kcm, "terminated-pod-gc-threshold"), "10");
		assert_null(list_value(d, api, "service-account-extend-token-expiration"));
	} else {
		assert_string_equal(list_value(d, kcm, "terminated-pod-gc-threshold"), "100");
		assert_string_equal(list_value(d, api, "service-account-extend-token-expiration"), "false");
	}
	/* the comment cites the ID of the benchmark in use */
	bc = benchmark_by_key(f->doc->p->env.bench, "apiserver.audit_log_path");
	assert_non_null(bc);
	{
		char want[128];

		snprintf(want, sizeof(want), "audit.log  # CIS %s\n", bc->id);
		if (!strstr(a->data, want))
			print_error("no '%s' in:\n%s\n", want, a->data);
		assert_non_null(strstr(a->data, want));
	}
	ydocs_free(&y);
}

static void check_pod_security(struct fixture *f, const char *v)
{
	const struct artifact *psa = find(f, "/var/lib/rancher/k3s/server/psa.yaml");
	const struct artifact *psp = find(f, MANIFESTS "k3s-harden-psp.yaml");
	struct ydocs y;
	long i;

	if (!version_before(v, "1.25")) {
		yaml_document_t *d;
		yaml_node_t *r;

		assert_null(psp);
		assert_non_null(psa);
		assert_int_equal(ydocs_load(&y, psa->data, psa->len), 0);
		d = &y.docs[0];
		r = ydoc_root(&y, 0);
		assert_string_equal(yscalar(d, r, "kind"), "AdmissionConfiguration");
		assert_string_equal(yscalar(d, r, "plugins.0.name"), "PodSecurity");
		assert_string_equal(yscalar(d, r, "plugins.0.configuration.apiVersion"),
				    "pod-security.admission.config.k8s.io/v1");
		assert_string_equal(yscalar(d, r, "plugins.0.configuration.defaults.enforce"), "restricted");
		assert_string_equal(yscalar(d, r, "plugins.0.configuration.exemptions.namespaces.0"),
				    "kube-system");
		ydocs_free(&y);
		return;
	}
	/* <= 1.24: PSP and its RBAC, no PSA */
	assert_null(psa);
	assert_non_null(psp);
	assert_int_equal(ydocs_load(&y, psp->data, psp->len), 0);
	i = find_doc(&y, "PodSecurityPolicy", "restricted-psp");
	assert_true(i >= 0);
	assert_string_equal(yscalar(&y.docs[i], ydoc_root(&y, (size_t)i), "apiVersion"), "policy/v1beta1");
	assert_string_equal(yscalar(&y.docs[i], ydoc_root(&y, (size_t)i), "spec.privileged"), "false");
	assert_string_equal(yscalar(&y.docs[i], ydoc_root(&y, (size_t)i), "spec.allowPrivilegeEscalation"), "false");
	assert_string_equal(yscalar(&y.docs[i], ydoc_root(&y, (size_t)i), "spec.requiredDropCapabilities.0"), "ALL");
	assert_string_equal(yscalar(&y.docs[i], ydoc_root(&y, (size_t)i), "spec.runAsUser.rule"), "MustRunAsNonRoot");
	assert_string_equal(yscalar(&y.docs[i], ydoc_root(&y, (size_t)i), "spec.hostNetwork"), "false");
	assert_true(find_doc(&y, "PodSecurityPolicy", "system-unrestricted-psp") >= 0);
	assert_true(find_doc(&y, "ClusterRole", "psp:restricted-psp") >= 0);
	i = find_doc(&y, "ClusterRoleBinding", "default:restricted-psp");
	assert_true(i >= 0);
	assert_string_equal(yscalar(&y.docs[i], ydoc_root(&y, (size_t)i), "subjects.0.name"), "system:authenticated");
	assert_string_equal(yscalar(&y.docs[i], ydoc_root(&y, (size_t)i), "roleRef.name"), "psp:restricted-psp");
	i = find_doc(&y, "RoleBinding", "system-unrestricted-svc-acct-psp-rolebinding");
	assert_true(i >= 0);
	assert_string_equal(yscalar(&y.docs[i], ydoc_root(&y, (size_t)i), "metadata.namespace"), "kube-system");
	assert_string_equal(yscalar(&y.docs[i], ydoc_root(&y, (size_t)i), "subjects.0.name"), "system:serviceaccounts");
	ydocs_free(&y);
}

/* Names of the NetworkPolicies in a namespace's file, joined with ','. */
static void policy_names(const struct fixture *f, const char *ns, char *out, size_t size)
{
	const struct artifact *a;
	char path[256];
	struct ydocs y;
	size_t i;

	snprintf(path, sizeof(path), MANIFESTS "k3s-harden-netpol-%s.yaml", ns);
	a = find(f, path);
	if (!a)
		print_error("no network policy file for namespace %s\n", ns);
	assert_non_null(a);
	assert_int_equal(ydocs_load(&y, a->data, a->len), 0);
	out[0] = '\0';
	for (i = 0; i < y.n; i++) {
		yaml_node_t *r = ydoc_root(&y, i);

		assert_string_equal(yscalar(&y.docs[i], r, "kind"), "NetworkPolicy");
		assert_string_equal(yscalar(&y.docs[i], r, "metadata.namespace"), ns);
		assert_string_equal(yscalar(&y.docs[i], r, "spec.policyTypes.0"), "Ingress");
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "," : "",
			 yscalar(&y.docs[i], r, "metadata.name"));
	}
	ydocs_free(&y);
}

static void check_network_policies(struct fixture *f, const char *v)
{
	static const char *const fresh[] = { "default", "kube-system", "kube-public", "kube-node-lease" };
	const struct artifact *a = find(f, MANIFESTS "k3s-harden-netpol-kube-system.yaml");
	char names[512];
	struct ydocs y;
	size_t i;
	long t;

	for (i = 0; i < sizeof(fresh) / sizeof(fresh[0]); i++) {
		policy_names(f, fresh[i], names, sizeof(names));
		assert_non_null(strstr(names, "intra-namespace"));
	}
	assert_non_null(a);
	assert_int_equal(ydocs_load(&y, a->data, a->len), 0);
	if (version_before(v, "1.21")) {
		t = find_doc(&y, "NetworkPolicy", "allow-all-traefik-v120-ingress");
		assert_true(t >= 0);
		assert_string_equal(yscalar(&y.docs[t], ydoc_root(&y, (size_t)t), "spec.podSelector.matchLabels.app"),
				    "traefik");
		assert_true(find_doc(&y, "NetworkPolicy", "allow-all-traefik-v121-ingress") < 0);
		/* no kubernetes.io/metadata.name label before 1.21: same-namespace pods */
		t = find_doc(&y, "NetworkPolicy", "intra-namespace");
		assert_non_null(ypath(&y.docs[t], ydoc_root(&y, (size_t)t), "spec.ingress.0.from.0.podSelector"));
	} else {
		t = find_doc(&y, "NetworkPolicy", "allow-all-traefik-v121-ingress");
		assert_true(t >= 0);
		assert_string_equal(label_at(&y.docs[t], ydoc_root(&y, (size_t)t), "spec.podSelector.matchLabels",
					     "app.kubernetes.io/name"), "traefik");
		assert_null(label_at(&y.docs[t], ydoc_root(&y, (size_t)t), "spec.podSelector.matchLabels", "app"));
		assert_true(find_doc(&y, "NetworkPolicy", "allow-all-traefik-v120-ingress") < 0);
		t = find_doc(&y, "NetworkPolicy", "intra-namespace");
		assert_string_equal(label_at(&y.docs[t], ydoc_root(&y, (size_t)t),
					     "spec.ingress.0.from.0.namespaceSelector.matchLabels",
					     "kubernetes.io/metadata.name"), "kube-system");
	}
	ydocs_free(&y);
}

static void test_k3s_version_every_profile_and_role(void **state)
{
	struct fixture *f = *state;
	const char *const *names;
	size_t n, i, checked = 0;
	int end, role;

	names = benchmark_names(&n);
	for (i = 0; i < n; i++) {
		if (!embedded_find(embedded_profiles, names[i]))
			continue;
		for (end = 0; end < 2; end++)
			for (role = 0; role < 2; role++) {
				char v[32];

				/* the profile's own range, read back from the loaded profile */
				load_fit_render(f, names[i], NULL, NULL, ROLE_SERVER);
				snprintf(v, sizeof(v), "%s", end ? f->doc->p->k3s_versions->max
							       : f->doc->p->k3s_versions->min);
				load_fit_render(f, names[i], v, NULL, role ? ROLE_AGENT : ROLE_SERVER);
				assert_string_equal(f->doc->p->env.bench->name, names[i]);
				check_config(f, v, role ? ROLE_AGENT : ROLE_SERVER);
				if (role) {
					/* an agent gets the kernel parameters and its config only */
					assert_int_equal(f->arts.n, 2);
					assert_non_null(find(f, "/etc/sysctl.d/90-kubelet.conf"));
				} else {
					check_pod_security(f, v);
					check_network_policies(f, v);
				}
				checked++;
			}
	}
	/* every benchmark with a profile, both ends, both roles */
	assert_true(checked >= 4 * 11);
}

static void test_k3s_version_disable_drops_those_allows(void **state)
{
	struct fixture *f = *state;
	struct k3s_components c;
	char all[512], less[512];
	struct diags d = { NULL, 0, 0 };

	load_fit_render(f, "k3s-cis-1.11", "1.30", NULL, ROLE_SERVER);
	policy_names(f, "kube-system", all, sizeof(all));
	write_file(f->dir, "/etc/rancher/k3s/config.yaml", "disable: [traefik, metrics-server]\n", 0600);
	assert_int_equal(k3s_components_read(f->dir, "/etc/rancher/k3s/config.yaml", &c, &d), 0);
	diags_free(&d);
	assert_false(c.traefik);
	assert_false(c.metrics_server);
	assert_true(c.coredns && c.servicelb && c.local_storage && c.network_policy);
	load_fit_render(f, "k3s-cis-1.11", "1.30", &c, ROLE_SERVER);
	policy_names(f, "kube-system", less, sizeof(less));
	assert_string_equal(all, "intra-namespace,default-network-dns-policy,allow-all-metrics-server,"
			    "allow-all-svclbtraefik-ingress,allow-all-traefik-v121-ingress");
	/* Traefik's service load balancer goes with Traefik */
	assert_string_equal(less, "intra-namespace,default-network-dns-policy");
	assert_true(diags_have(&f->notes, "metrics-server"));
	policy_names(f, "default", less, sizeof(less));
	assert_string_equal(less, "intra-namespace,default-network-dns-policy");
}

static void test_k3s_version_components_from_dropins(void **state)
{
	struct fixture *f = *state;
	struct k3s_components c;
	struct diags d = { NULL, 0, 0 };

	write_file(f->dir, "/etc/rancher/k3s/config.yaml", "disable: coredns\n", 0600);
	write_file(f->dir, "/etc/rancher/k3s/config.yaml.d/50-more.yaml",
		   "disable+: [\"servicelb,local-storage\"]\ndisable-network-policy: true\n"
		   "disable-helm-controller: true\n", 0600);
	assert_int_equal(k3s_components_read(f->dir, "/etc/rancher/k3s/config.yaml", &c, &d), 0);
	diags_free(&d);
	assert_false(c.coredns);
	assert_false(c.servicelb);
	assert_false(c.local_storage);
	assert_true(c.traefik && c.metrics_server);
	assert_false(c.network_policy);
	assert_false(c.helm_controller);
	load_fit_render(f, "k3s-cis-1.10", "1.28", &c, ROLE_SERVER);
	/* no CoreDNS: no DNS allow; helm controller off: no Traefik */
	{
		char names[512];

		policy_names(f, "kube-system", names, sizeof(names));
		assert_string_equal(names, "intra-namespace,allow-all-metrics-server");
	}
	assert_true(diags_have(&f->notes, "nothing enforces them"));
}

static void test_k3s_version_outside_range(void **state)
{
	struct fixture *f = *state;
	struct k3s_components c;

	k3s_components_all(&c);
	assert_int_equal(profile_load("k3s-cis-1.9", &f->doc, &f->d), 0);
	assert_int_equal(k3s_env_apply(f->doc->p, "v1.30.4+k3s1", &c, &f->notes, &f->d), -EINVAL);
	assert_true(diags_have(&f->d, "1.27 to 1.27"));
	assert_int_equal(k3s_env_apply(f->doc->p, "one-thirty", &c, &f->notes, &f->d), -EINVAL);
	/* unknown: the newest the profile supports, with a note saying how to pin */
	diags_free(&f->d);
	assert_int_equal(k3s_env_apply(f->doc->p, NULL, &c, &f->notes, &f->d), 0);
	assert_string_equal(f->doc->p->env.k3s_version, "1.27");
	assert_true(diags_have(&f->notes, "--k3s-version"));
}

static void test_k3s_version_pick(void **state)
{
	const char *name;

	(void)state;
	/* benchmarks/k3s-versions.md: newest covering benchmark per minor */
	assert_int_equal(k3s_pick_profile("1.20", &name), 0);
	assert_string_equal(name, "k3s-cis-1.6");
	assert_int_equal(k3s_pick_profile("v1.23.17+k3s1", &name), 0);
	assert_string_equal(name, "k3s-cis-1.23");
	assert_int_equal(k3s_pick_profile("1.24", &name), 0);
	assert_string_equal(name, "k3s-cis-1.24");
	assert_int_equal(k3s_pick_profile("1.25", &name), 0);
	assert_string_equal(name, "k3s-cis-1.7");
	assert_int_equal(k3s_pick_profile("1.27", &name), 0);
	assert_string_equal(name, "k3s-cis-1.9");
	assert_int_equal(k3s_pick_profile("1.30", &name), 0);
	assert_string_equal(name, "k3s-cis-1.11");
	assert_int_equal(k3s_pick_profile("1.33", &name), 0);
	assert_string_equal(name, "k3s-cis-1.12");
	assert_int_equal(k3s_pick_profile("1.16", &name), -ENOENT);
	assert_int_equal(k3s_pick_profile("1.99", &name), -ENOENT);
}

static void test_k3s_version_ids_follow_benchmark(void **state)
{
	struct fixture *f = *state;
	static const struct { const char *profile, *v, *id; } want[] = {
		/* the audit log path moves: DESIGN.md fact 19 */
		{ "k3s-cis-1.7", "1.25", "1.2.18" },
		{ "k3s-cis-1.8", "1.26", "1.2.17" },
		{ "k3s-cis-1.9", "1.27", "1.2.16" },
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		load_fit_render(f, want[i].profile, want[i].v, NULL, ROLE_SERVER);
		assert_string_equal(profile_control_label(f->doc->p, "apiserver.audit_log_path"), want[i].id);
		/* plain IDs are shown as written */
		assert_string_equal(profile_control_label(f->doc->p, "1.2.99"), "1.2.99");
	}
	/* a key the benchmark does not have: the ID in the newest benchmark that has it */
	load_fit_render(f, "k3s-cis-1.11", "1.30", NULL, ROLE_SERVER);
	assert_string_equal(profile_control_label(f->doc->p, "kubelet.protect_kernel_defaults"),
			    "k3s-cis-1.24:4.2.6");
	assert_string_equal(profile_control_label(f->doc->p, "apiserver.insecure_port"), "k3s-cis-1.6:1.2.19");
}

static void test_k3s_version_unknown_key_did_you_mean(void **state)
{
	struct fixture *f = *state;
	char path[128];
	char *s;

	snprintf(path, sizeof(path), "%s/typo.yaml", f->dir);
	write_file(f->dir, "/typo.yaml", "extends: base\naudit:\n  controls: [apiserver.audit_log_pth, 1.2.16]\n", 0644);
	assert_int_equal(profile_load(path, &f->doc, &f->d), -EINVAL);
	assert_int_equal(f->d.n, 1);
	s = diag_format(&f->d.v[0]);
	assert_non_null(strstr(s, "typo.yaml:3:14: "));
	assert_non_null(strstr(s, "did you mean 'apiserver.audit_log_path'?"));
	free(s);
}

static void test_k3s_version_preflight_lists_every_reason(void **state)
{
	struct fixture *f = *state;
	struct k3s_components c;
	struct plan_opts po;
	char path[128];

	snprintf(path, sizeof(path), "%s/p.yaml", f->dir);
	write_file(f->dir, "/p.yaml",
		   "extends: base\n"
		   "pod_security: { enabled: true }\n"
		   "pod_security_policy: { enabled: true }\n"
		   "k3s:\n"
		   "  mode: dropin\n"
		   "  admission_plugins: [NodeRestriction, DenyServiceExternalIPs]\n", 0644);
	assert_int_equal(profile_load(path, &f->doc, &f->d), 0);
	k3s_components_all(&c);
	memset(&po, 0, sizeof(po));
	po.root = f->dir;
	po.role = ROLE_SERVER;
	/* 1.20: PSA v1 unknown, DenyServiceExternalIPs unknown, no drop-ins */
	assert_int_equal(k3s_env_apply(f->doc->p, "1.20", &c, &f->notes, &f->d), 0);
	assert_int_equal(preflight_check(f->doc->p, &po, &f->d), -EINVAL);
	assert_true(diags_have(&f->d, "PodSecurityConfiguration v1"));
	assert_true(diags_have(&f->d, "DenyServiceExternalIPs"));
	assert_true(diags_have(&f->d, "config.yaml.d"));
	assert_true(diags_have(&f->d, "both on"));
	diags_free(&f->d);
	/* 1.25: the PSP plugin that the psp section brings is gone */
	assert_int_equal(k3s_env_apply(f->doc->p, "1.25", &c, &f->notes, &f->d), 0);
	assert_int_equal(preflight_check(f->doc->p, &po, &f->d), 0);
	profile_doc_free(f->doc);
	f->doc = NULL;
	write_file(f->dir, "/p.yaml", "extends: base\nk3s:\n  admission_plugins: [PodSecurityPolicy]\n", 0644);
	assert_int_equal(profile_load(path, &f->doc, &f->d), 0);
	assert_int_equal(k3s_env_apply(f->doc->p, "1.25", &c, &f->notes, &f->d), 0);
	assert_int_equal(preflight_check(f->doc->p, &po, &f->d), -EINVAL);
	assert_true(diags_have(&f->d, "does not know admission plugin PodSecurityPolicy"));
}

static void test_k3s_version_preflight_kernel(void **state)
{
	struct fixture *f = *state;
	struct k3s_components c;
	struct plan_opts po;

	/* a fake /proc/sys: one key missing, one read-only (mode 0444 as root is still writable, so skip it) */
	write_file(f->dir, "/proc/sys/vm/overcommit_memory", "1\n", 0644);
	write_file(f->dir, "/proc/sys/vm/panic_on_oom", "0\n", 0644);
	write_file(f->dir, "/proc/sys/kernel/panic", "0\n", 0644);
	write_file(f->dir, "/proc/sys/kernel/panic_on_oops", "1\n", 0644);
	write_file(f->dir, "/proc/sys/kernel/keys/root_maxkeys", "1000000\n", 0644);
	assert_int_equal(profile_load("k3s-cis-1.11", &f->doc, &f->d), 0);
	k3s_components_all(&c);
	assert_int_equal(k3s_env_apply(f->doc->p, "1.30", &c, &f->notes, &f->d), 0);
	memset(&po, 0, sizeof(po));
	po.root = f->dir;
	po.role = ROLE_AGENT;
	po.live = true;
	assert_int_equal(preflight_check(f->doc->p, &po, &f->d), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_true(diags_have(&f->d, "the kernel has no kernel.keys.root_maxbytes"));
	/* offline, nothing is asked of the kernel */
	diags_free(&f->d);
	po.live = false;
	assert_int_equal(preflight_check(f->doc->p, &po, &f->d), 0);
}

static void test_k3s_version_parse(void **state)
{
	char minor[32], *v = NULL;

	(void)state;
	assert_true(k3s_version_valid("1.30"));
	assert_true(k3s_version_valid("v1.30.4+k3s1"));
	assert_true(k3s_version_valid("v1.24.17-rc1+k3s1"));
	assert_false(k3s_version_valid("1"));
	assert_false(k3s_version_valid("2.30"));
	assert_false(k3s_version_valid("v1.30 "));
	assert_false(k3s_version_valid("1.30;rm"));
	assert_false(k3s_version_valid(""));
	assert_int_equal(k3s_version_minor("v1.30.4+k3s1", minor, sizeof(minor)), 0);
	assert_string_equal(minor, "1.30");
	assert_true(k3s_version_in("1.29", "1.29", NULL));
	assert_false(k3s_version_in("1.28.9", "1.29", NULL));
	assert_true(k3s_version_in("v1.24.17+k3s1", NULL, "1.25"));
	assert_false(k3s_version_in(NULL, NULL, "1.25"));
	assert_true(k3s_version_in(NULL, "1.29", NULL));
	assert_int_equal(k3s_version_parse_output("k3s version v1.30.4+k3s1 (98262b5d)\ngo version go1.22.5\n", &v), 0);
	assert_string_equal(v, "v1.30.4+k3s1");
	free(v);
	assert_int_equal(k3s_version_parse_output("Usage: k3s\n", &v), -EINVAL);
}

static void test_k3s_version_detect(void **state)
{
	struct fixture *f = *state;
	char *v = NULL, why[256];

	/* nothing installed under the root */
	assert_int_equal(k3s_version_detect(f->dir, 2000, &v, why, sizeof(why)), -ENOENT);
	write_file(f->dir, "/etc/systemd/system/k3s.service",
		   "[Service]\nType=notify\nExecStart=/usr/local/bin/k3s server\n", 0644);
	write_file(f->dir, "/usr/local/bin/k3s",
		   "#!/bin/sh\n[ \"$1\" = --version ] || exit 3\n"
		   "echo 'k3s version v1.24.17+k3s1 (026bb0ec)'\necho 'go version go1.20.10'\n", 0755);
	assert_int_equal(k3s_version_detect(f->dir, 5000, &v, why, sizeof(why)), 0);
	assert_string_equal(v, "v1.24.17+k3s1");
	free(v);
	v = NULL;
	/* a binary anyone may change is not run */
	write_file(f->dir, "/usr/local/bin/k3s", "#!/bin/sh\necho 'k3s version v1.30.1+k3s1 (x)'\n", 0777);
	assert_int_equal(k3s_version_detect(f->dir, 2000, &v, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "refusing to run"));
	/* a K3s that hangs is given up on */
	write_file(f->dir, "/usr/local/bin/k3s", "#!/bin/sh\nexec sleep 10\n", 0755);
	assert_int_equal(k3s_version_detect(f->dir, 200, &v, why, sizeof(why)), -ETIMEDOUT);
	assert_non_null(strstr(why, "did not finish"));
	assert_null(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_k3s_version_every_profile_and_role, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_version_disable_drops_those_allows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_version_components_from_dropins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_version_outside_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_version_pick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_version_ids_follow_benchmark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_version_unknown_key_did_you_mean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_version_preflight_lists_every_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_version_preflight_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_version_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_version_detect, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
