/*
 * Rendered artifacts: each YAML file has the structure Kubernetes and K3s
 * expect (nested fields, not just "it parses"), paths and modes follow the
 * guide, and template problems are reported with the template's name.
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

#include "buf.h"
#include "render.h"
#include "yamldoc.h"

struct fixture {
	char dir[64];
	struct profile_doc *doc;
	struct artifacts arts;
	struct diags d;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/k3h-render-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static void rm_tree(const char *dir)
{
	char cmd[128];

	/* test cleanup of our own mkdtemp directory only */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (strncmp(dir, "/tmp/k3h-render-", 16) == 0 && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	artifacts_free(&f->arts);
	profile_doc_free(f->doc);
	diags_free(&f->d);
	rm_tree(f->dir);
	free(f);
	ynode_intern_free();
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
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

static void load(struct fixture *f, const char *profile)
{
	int r = profile_load(profile, &f->doc, &f->d);

	if (r < 0)
		print_diags(&f->d);
	assert_int_equal(r, 0);
}

static int render(struct fixture *f, const char *templates)
{
	struct render_opts o = { templates, f->doc->p->role == ROLE_AGENT ? ROLE_AGENT : ROLE_SERVER };

	return render_profile(f->doc->p, &o, &f->arts, &f->d);
}

static void load_and_render(struct fixture *f, const char *profile)
{
	load(f, profile);
	if (render(f, NULL) < 0)
		print_diags(&f->d);
	assert_int_equal(f->d.n, 0);
}

static const struct artifact *find(const struct fixture *f, const char *path)
{
	size_t i;

	for (i = 0; i < f->arts.n; i++)
		if (strcmp(f->arts.v[i].path, path) == 0)
			return &f->arts.v[i];
	return NULL;
}

/* Write a profile file into the fixture's directory and return its path. */
static const char *profile_file(struct fixture *f, const char *name, const char *text)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	write_file(path, text);
	return path;
}

static void test_render_cis_artifacts(void **state)
{
	struct fixture *f = *state;
	static const struct { const char *path; mode_t mode; bool restart; enum art_kind kind; } want[] = {
		{ "/var/lib/rancher/k3s/server/psa.yaml", 0600, true, ART_FILE },
		{ "/var/lib/rancher/k3s/server/audit.yaml", 0600, true, ART_FILE },
		{ "/var/lib/rancher/k3s/server/logs", 0700, false, ART_DIR },
		{ "/etc/sysctl.d/90-kubelet.conf", 0644, false, ART_FILE },
		{ "/var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-kube-system.yaml", 0600, false, ART_FILE },
		{ "/var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-default.yaml", 0600, false, ART_FILE },
		{ "/var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-kube-public.yaml", 0600, false, ART_FILE },
		{ "/var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-kube-node-lease.yaml", 0600, false, ART_FILE },
		{ "/var/lib/rancher/k3s/server/manifests/k3s-harden-serviceaccounts.yaml", 0600, false, ART_FILE },
		{ "/etc/rancher/k3s/config.yaml", 0600, true, ART_FILE },
	};
	size_t i;

	load_and_render(f, "cis");
	assert_int_equal(f->arts.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct artifact *a = find(f, want[i].path);

		if (!a)
			print_error("missing %s\n", want[i].path);
		assert_non_null(a);
		assert_int_equal(a->mode, want[i].mode);
		assert_int_equal(a->needs_restart, want[i].restart);
		assert_int_equal(a->kind, want[i].kind);
	}
}

static void test_render_psa_structure(void **state)
{
	struct fixture *f = *state;
	const struct artifact *a;
	struct ydocs y;
	yaml_document_t *d;
	yaml_node_t *r, *ns;

	load_and_render(f, "cis");
	a = find(f, "/var/lib/rancher/k3s/server/psa.yaml");
	assert_non_null(a);
	assert_int_equal(ydocs_load(&y, a->data, a->len), 0);
	assert_int_equal(y.n, 1);
	d = &y.docs[0];
	r = ydoc_root(&y, 0);
	assert_string_equal(yscalar(d, r, "apiVersion"), "apiserver.config.k8s.io/v1");
	assert_string_equal(yscalar(d, r, "kind"), "AdmissionConfiguration");
	assert_int_equal(ylen(ypath(d, r, "plugins")), 2);
	assert_string_equal(yscalar(d, r, "plugins.0.name"), "PodSecurity");
	assert_string_equal(yscalar(d, r, "plugins.0.configuration.apiVersion"),
			    "pod-security.admission.config.k8s.io/v1");
	assert_string_equal(yscalar(d, r, "plugins.0.configuration.kind"), "PodSecurityConfiguration");
	assert_string_equal(yscalar(d, r, "plugins.0.configuration.defaults.enforce"), "restricted");
	assert_string_equal(yscalar(d, r, "plugins.0.configuration.defaults.enforce-version"), "latest");
	assert_string_equal(yscalar(d, r, "plugins.0.configuration.defaults.audit"), "restricted");
	assert_string_equal(yscalar(d, r, "plugins.0.configuration.defaults.warn"), "restricted");
	assert_string_equal(yscalar(d, r, "plugins.0.configuration.defaults.warn-version"), "latest");
	assert_int_equal(ypath(d, r, "plugins.0.configuration.exemptions.usernames")->type, YAML_SEQUENCE_NODE);
	assert_int_equal(ylen(ypath(d, r, "plugins.0.configuration.exemptions.usernames")), 0);
	assert_int_equal(ylen(ypath(d, r, "plugins.0.configuration.exemptions.runtimeClasses")), 0);
	ns = ypath(d, r, "plugins.0.configuration.exemptions.namespaces");
	assert_int_equal(ylen(ns), 2);
	assert_string_equal(yscalar(d, ns, "0"), "kube-system");
	assert_string_equal(yscalar(d, ns, "1"), "compliance-operator-system");
	assert_string_equal(yscalar(d, r, "plugins.1.name"), "EventRateLimit");
	assert_string_equal(yscalar(d, r, "plugins.1.configuration.apiVersion"),
			    "eventratelimit.admission.k8s.io/v1alpha1");
	assert_string_equal(yscalar(d, r, "plugins.1.configuration.kind"), "Configuration");
	assert_string_equal(yscalar(d, r, "plugins.1.configuration.limits.0.type"), "Server");
	assert_string_equal(yscalar(d, r, "plugins.1.configuration.limits.0.qps"), "5000");
	assert_true(yplain(d, r, "plugins.1.configuration.limits.0.qps"));
	assert_string_equal(yscalar(d, r, "plugins.1.configuration.limits.0.burst"), "20000");
	ydocs_free(&y);
}

static void test_render_psa_v1beta1_and_tricky_values(void **state)
{
	struct fixture *f = *state;
	const struct artifact *a;
	struct ydocs y;
	yaml_node_t *r, *u;
	const char *p = profile_file(f, "beta.yaml",
		"extends: cis\n"
		"pod_security:\n"
		"  api_version: v1beta1\n"
		"  defaults: { enforce: baseline, enforce_version: v1.25 }\n"
		"  exemptions:\n"
		"    usernames: ['system:serviceaccount:ci:deploy #1', \"it's\", '*star', '&amp', '!bang',\n"
		"                \"a: b\", 'ünïcödé ✓', 'yes', '10']\n"
		"event_rate_limit: { enabled: false }\n");

	load_and_render(f, p);
	a = find(f, "/var/lib/rancher/k3s/server/psa.yaml");
	assert_non_null(a);
	assert_int_equal(ydocs_load(&y, a->data, a->len), 0);
	r = ydoc_root(&y, 0);
	assert_string_equal(yscalar(&y.docs[0], r, "plugins.0.configuration.apiVersion"),
			    "pod-security.admission.config.k8s.io/v1beta1");
	assert_string_equal(yscalar(&y.docs[0], r, "plugins.0.configuration.defaults.enforce"), "baseline");
	assert_string_equal(yscalar(&y.docs[0], r, "plugins.0.configuration.defaults.enforce-version"), "v1.25");
	assert_int_equal(ylen(ypath(&y.docs[0], r, "plugins")), 1);
	u = ypath(&y.docs[0], r, "plugins.0.configuration.exemptions.usernames");
	assert_int_equal(ylen(u), 9);
	assert_string_equal(yscalar(&y.docs[0], u, "0"), "system:serviceaccount:ci:deploy #1");
	assert_string_equal(yscalar(&y.docs[0], u, "1"), "it's");
	assert_string_equal(yscalar(&y.docs[0], u, "2"), "*star");
	assert_string_equal(yscalar(&y.docs[0], u, "3"), "&amp");
	assert_string_equal(yscalar(&y.docs[0], u, "4"), "!bang");
	assert_string_equal(yscalar(&y.docs[0], u, "5"), "a: b");
	assert_string_equal(yscalar(&y.docs[0], u, "6"), "ünïcödé ✓");
	assert_string_equal(yscalar(&y.docs[0], u, "7"), "yes");
	assert_false(yplain(&y.docs[0], u, "7"));
	assert_false(yplain(&y.docs[0], u, "8"));
	ydocs_free(&y);
}

static void test_render_audit_and_sysctl(void **state)
{
	struct fixture *f = *state;
	const struct artifact *a;
	struct ydocs y;
	yaml_node_t *r;
	const char *lines[] = {
		"vm.panic_on_oom=0", "vm.overcommit_memory=1", "kernel.panic=10",
		"kernel.panic_on_oops=1", "kernel.keys.root_maxkeys=1000000",
		"kernel.keys.root_maxbytes=25000000",
	};
	char *text, *line, *save = NULL;
	size_t i = 0;

	load_and_render(f, "cis");
	a = find(f, "/var/lib/rancher/k3s/server/audit.yaml");
	assert_non_null(a);
	assert_int_equal(ydocs_load(&y, a->data, a->len), 0);
	r = ydoc_root(&y, 0);
	assert_string_equal(yscalar(&y.docs[0], r, "apiVersion"), "audit.k8s.io/v1");
	assert_string_equal(yscalar(&y.docs[0], r, "kind"), "Policy");
	assert_int_equal(ylen(ypath(&y.docs[0], r, "rules")), 1);
	assert_string_equal(yscalar(&y.docs[0], r, "rules.0.level"), "Metadata");
	ydocs_free(&y);

	a = find(f, "/etc/sysctl.d/90-kubelet.conf");
	assert_non_null(a);
	text = strdup(a->data);
	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		assert_true(i < 6);
		assert_string_equal(line, lines[i]);
		i++;
	}
	assert_int_equal(i, 6);
	free(text);
}

static void check_policy(yaml_document_t *d, yaml_node_t *r, const char *name, const char *ns)
{
	assert_string_equal(yscalar(d, r, "apiVersion"), "networking.k8s.io/v1");
	assert_string_equal(yscalar(d, r, "kind"), "NetworkPolicy");
	assert_string_equal(yscalar(d, r, "metadata.name"), name);
	assert_string_equal(yscalar(d, r, "metadata.namespace"), ns);
	assert_string_equal(yscalar(d, r, "spec.policyTypes.0"), "Ingress");
}

static void test_render_network_policies(void **state)
{
	struct fixture *f = *state;
	const struct artifact *a;
	struct ydocs y;
	yaml_document_t *d;
	yaml_node_t *r;

	load_and_render(f, "cis");
	a = find(f, "/var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-kube-system.yaml");
	assert_non_null(a);
	assert_int_equal(ydocs_load(&y, a->data, a->len), 0);
	assert_int_equal(y.n, 5);
	d = &y.docs[0];
	r = ydoc_root(&y, 0);
	check_policy(d, r, "intra-namespace", "kube-system");
	assert_int_equal(ylen(ypath(d, r, "spec.podSelector")), 0);
	assert_int_equal(ypath(d, r, "spec.podSelector")->type, YAML_MAPPING_NODE);
	/* Kubernetes sets kubernetes.io/metadata.name on every namespace; the
	 * guide's old `name:` label matches nothing and breaks DNS. */
	assert_string_equal(yscalar(d, r, "spec|ingress|0|from|0|namespaceSelector|matchLabels|kubernetes.io/metadata.name"),
			    "kube-system");
	assert_int_equal(ylen(ypath(d, r, "spec.ingress.0.from.0.namespaceSelector.matchLabels")), 1);

	d = &y.docs[1];
	r = ydoc_root(&y, 1);
	check_policy(d, r, "default-network-dns-policy", "kube-system");
	assert_string_equal(yscalar(d, r, "spec.podSelector.matchLabels.k8s-app"), "kube-dns");
	assert_string_equal(yscalar(d, r, "spec.ingress.0.ports.0.port"), "53");
	assert_true(yplain(d, r, "spec.ingress.0.ports.0.port"));
	assert_string_equal(yscalar(d, r, "spec.ingress.0.ports.0.protocol"), "TCP");
	assert_string_equal(yscalar(d, r, "spec.ingress.0.ports.1.port"), "53");
	assert_string_equal(yscalar(d, r, "spec.ingress.0.ports.1.protocol"), "UDP");

	d = &y.docs[2];
	r = ydoc_root(&y, 2);
	check_policy(d, r, "allow-all-metrics-server", "kube-system");
	assert_string_equal(yscalar(d, r, "spec.podSelector.matchLabels.k8s-app"), "metrics-server");
	assert_int_equal(ylen(ypath(d, r, "spec.ingress")), 1);
	assert_int_equal(ylen(ypath(d, r, "spec.ingress.0")), 0);

	d = &y.docs[3];
	r = ydoc_root(&y, 3);
	check_policy(d, r, "allow-all-svclbtraefik-ingress", "kube-system");
	assert_string_equal(yscalar(d, r, "spec|podSelector|matchLabels|svccontroller.k3s.cattle.io/svcname"), "traefik");

	d = &y.docs[4];
	r = ydoc_root(&y, 4);
	check_policy(d, r, "allow-all-traefik-v121-ingress", "kube-system");
	assert_string_equal(yscalar(d, r, "spec|podSelector|matchLabels|app.kubernetes.io/name"), "traefik");
	ydocs_free(&y);

	/* other namespaces get their own intra-namespace and DNS policies only */
	a = find(f, "/var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-default.yaml");
	assert_non_null(a);
	assert_int_equal(ydocs_load(&y, a->data, a->len), 0);
	assert_int_equal(y.n, 2);
	check_policy(&y.docs[0], ydoc_root(&y, 0), "intra-namespace", "default");
	assert_string_equal(yscalar(&y.docs[0], ydoc_root(&y, 0),
				    "spec|ingress|0|from|0|namespaceSelector|matchLabels|kubernetes.io/metadata.name"),
			    "default");
	check_policy(&y.docs[1], ydoc_root(&y, 1), "default-network-dns-policy", "default");
	ydocs_free(&y);
}

static void test_render_service_accounts(void **state)
{
	struct fixture *f = *state;
	const char *ns[] = { "default", "kube-public", "kube-node-lease", "kube-system" };
	const struct artifact *a;
	struct ydocs y;
	size_t i;

	load_and_render(f, "cis");
	a = find(f, "/var/lib/rancher/k3s/server/manifests/k3s-harden-serviceaccounts.yaml");
	assert_non_null(a);
	assert_int_equal(ydocs_load(&y, a->data, a->len), 0);
	assert_int_equal(y.n, 4);
	for (i = 0; i < 4; i++) {
		yaml_document_t *d = &y.docs[i];
		yaml_node_t *r = ydoc_root(&y, i);

		assert_string_equal(yscalar(d, r, "apiVersion"), "v1");
		assert_string_equal(yscalar(d, r, "kind"), "ServiceAccount");
		assert_string_equal(yscalar(d, r, "metadata.name"), "default");
		assert_string_equal(yscalar(d, r, "metadata.namespace"), ns[i]);
		assert_string_equal(yscalar(d, r, "automountServiceAccountToken"), "false");
		assert_true(yplain(d, r, "automountServiceAccountToken"));
	}
	ydocs_free(&y);
}

static int list_has(yaml_document_t *d, yaml_node_t *list, const char *want)
{
	size_t i;
	char idx[24];

	for (i = 0; i < ylen(list); i++) {
		const char *s;

		snprintf(idx, sizeof(idx), "%zu", i);
		s = yscalar(d, list, idx);
		if (s && strcmp(s, want) == 0)
			return 1;
	}
	return 0;
}

static void test_render_k3s_config(void **state)
{
	struct fixture *f = *state;
	static const char *const api[] = {
		"enable-admission-plugins=NodeRestriction,EventRateLimit",
		"admission-control-config-file=/var/lib/rancher/k3s/server/psa.yaml",
		"audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log",
		"audit-policy-file=/var/lib/rancher/k3s/server/audit.yaml",
		"audit-log-maxage=30", "audit-log-maxbackup=10", "audit-log-maxsize=100",
		"request-timeout=300s", "service-account-lookup=true",
		/* the version is unknown: the newest, so the guide's >= 1.29 values */
		"service-account-extend-token-expiration=false",
	};
	const struct artifact *a;
	struct ydocs y;
	yaml_document_t *d;
	yaml_node_t *r, *l;
	size_t i;

	load_and_render(f, "cis");
	a = find(f, "/etc/rancher/k3s/config.yaml");
	assert_non_null(a);
	assert_int_equal(ydocs_load(&y, a->data, a->len), 0);
	d = &y.docs[0];
	r = ydoc_root(&y, 0);
	assert_string_equal(yscalar(d, r, "protect-kernel-defaults"), "true");
	assert_true(yplain(d, r, "protect-kernel-defaults"));
	assert_string_equal(yscalar(d, r, "secrets-encryption"), "true");
	assert_true(yplain(d, r, "secrets-encryption"));
	l = ypath(d, r, "kube-apiserver-arg");
	assert_int_equal(ylen(l), sizeof(api) / sizeof(api[0]));
	for (i = 0; i < sizeof(api) / sizeof(api[0]); i++)
		assert_true(list_has(d, l, api[i]));
	l = ypath(d, r, "kube-controller-manager-arg");
	assert_true(list_has(d, l, "terminated-pod-gc-threshold=100"));
	assert_true(list_has(d, l, "use-service-account-credentials=true"));
	l = ypath(d, r, "kubelet-arg");
	assert_true(list_has(d, l, "streaming-connection-idle-timeout=5m"));
	assert_true(list_has(d, l, "make-iptables-util-chains=true"));
	ydocs_free(&y);
}

static void test_render_agent_only_node_files(void **state)
{
	struct fixture *f = *state;
	const struct artifact *a;
	struct ydocs y;
	yaml_node_t *r;

	load_and_render(f, "cis-agent");
	assert_int_equal(f->arts.n, 2);
	assert_non_null(find(f, "/etc/sysctl.d/90-kubelet.conf"));
	a = find(f, "/etc/rancher/k3s/config.yaml");
	assert_non_null(a);
	assert_int_equal(ydocs_load(&y, a->data, a->len), 0);
	r = ydoc_root(&y, 0);
	assert_string_equal(yscalar(&y.docs[0], r, "protect-kernel-defaults"), "true");
	assert_null(ypath(&y.docs[0], r, "kube-apiserver-arg"));
	assert_null(ypath(&y.docs[0], r, "secrets-encryption"));
	/* streaming-connection-idle-timeout, make-iptables-util-chains, tls-cipher-suites (>= 1.29) */
	assert_int_equal(ylen(ypath(&y.docs[0], r, "kubelet-arg")), 3);
	ydocs_free(&y);
}

static void test_render_dropin_appends(void **state)
{
	struct fixture *f = *state;
	const struct artifact *a;
	struct ydocs y;
	yaml_node_t *r;
	const char *p = profile_file(f, "dropin.yaml", "extends: cis\nk3s: { mode: dropin }\n");

	load_and_render(f, p);
	assert_null(find(f, "/etc/rancher/k3s/config.yaml"));
	a = find(f, "/etc/rancher/k3s/config.yaml.d/90-k3s-harden.yaml");
	assert_non_null(a);
	assert_int_equal(ydocs_load(&y, a->data, a->len), 0);
	r = ydoc_root(&y, 0);
	/* a drop-in must append with key+: or it would wipe the user's lists */
	assert_non_null(ypath(&y.docs[0], r, "kube-apiserver-arg+"));
	assert_non_null(ypath(&y.docs[0], r, "kubelet-arg+"));
	assert_null(ypath(&y.docs[0], r, "kube-apiserver-arg"));
	assert_string_equal(yscalar(&y.docs[0], r, "protect-kernel-defaults"), "true");
	ydocs_free(&y);
}

static void test_render_keeps_node_restriction(void **state)
{
	struct fixture *f = *state;
	const struct artifact *a;
	const char *p = profile_file(f, "plugins.yaml",
		"extends: cis\nk3s: { admission_plugins: [EventRateLimit, AlwaysPullImages] }\n");

	load_and_render(f, p);
	a = find(f, "/etc/rancher/k3s/config.yaml");
	assert_non_null(a);
	assert_non_null(strstr(a->data,
		"enable-admission-plugins=NodeRestriction,EventRateLimit,AlwaysPullImages"));
}

static void test_render_template_override_by_name(void **state)
{
	struct fixture *f = *state;
	char tdir[128], path[160];
	const struct artifact *a;

	snprintf(tdir, sizeof(tdir), "%s/templates", f->dir);
	assert_int_equal(mkdir(tdir, 0755), 0);
	snprintf(path, sizeof(path), "%s/audit.yaml.mustache", tdir);
	write_file(path, "{{> header}}\napiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"
			 "- level: RequestResponse\n  resources:\n  - group: \"\"\n    resources: [secrets]\n"
			 "- level: {{level}}\n");
	load(f, "cis");
	assert_int_equal(render(f, tdir), 0);
	a = find(f, "/var/lib/rancher/k3s/server/audit.yaml");
	assert_non_null(a);
	assert_non_null(strstr(a->data, "level: RequestResponse"));
	assert_non_null(strstr(a->data, "# Generated by k3s-harden"));
	/* other templates still come from the built-in set */
	assert_non_null(find(f, "/var/lib/rancher/k3s/server/psa.yaml"));
}

static void test_render_template_syntax_error(void **state)
{
	struct fixture *f = *state;
	char tdir[128], path[160];

	snprintf(tdir, sizeof(tdir), "%s/templates", f->dir);
	assert_int_equal(mkdir(tdir, 0755), 0);
	snprintf(path, sizeof(path), "%s/psa.yaml.mustache", tdir);
	write_file(path, "apiVersion: v1\n{{#pod_security}}\nkind: x\n");
	load(f, "cis");
	assert_int_equal(render(f, tdir), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_non_null(strstr(f->d.v[0].file, "psa.yaml.mustache"));
	assert_int_equal(f->d.v[0].line, 2);
	assert_non_null(strstr(f->d.v[0].msg, "pod_security"));
	assert_int_equal(f->arts.n, 0);
}

static void test_render_invalid_yaml_names_template_and_line(void **state)
{
	struct fixture *f = *state;
	char tdir[128], path[160];

	snprintf(tdir, sizeof(tdir), "%s/templates", f->dir);
	assert_int_equal(mkdir(tdir, 0755), 0);
	snprintf(path, sizeof(path), "%s/audit.yaml.mustache", tdir);
	write_file(path, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: [Metadata\n");
	load(f, "cis");
	assert_int_equal(render(f, tdir), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_non_null(strstr(f->d.v[0].file, "audit.yaml.mustache"));
	assert_non_null(strstr(f->d.v[0].msg, "invalid YAML"));
	assert_non_null(strstr(f->d.v[0].msg, "line 5"));
}

static void test_render_conf_refuses_newline(void **state)
{
	struct fixture *f = *state;
	char tdir[128], path[160];

	/* a template that puts an unvalidated value into the sysctl file */
	snprintf(tdir, sizeof(tdir), "%s/templates", f->dir);
	assert_int_equal(mkdir(tdir, 0755), 0);
	snprintf(path, sizeof(path), "%s/sysctl.conf.mustache", tdir);
	write_file(path, "# x\n{{#parameters}}\n{{key}}={{value}}\n{{/parameters}}\n# {{description}}\n");
	snprintf(path, sizeof(path), "%s/p.yaml", f->dir);
	write_file(path, "extends: cis\n");
	load(f, path);
	free(f->doc->p->description);
	f->doc->p->description = NULL;
	assert_int_equal(render(f, tdir), 0);
	artifacts_free(&f->arts);
	/* now the same template with a value holding a newline */
	free(f->doc->p->kernel->parameters[0].value);
	f->doc->p->kernel->parameters[0].value = strdup("0\nkernel.panic=0");
	assert_int_equal(render(f, tdir), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_int_equal(f->d.v[0].line, 3);
	assert_non_null(strstr(f->d.v[0].msg, "value"));
}

static void write_bytes(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void tmpl_dir(struct fixture *f, char *tdir, size_t size)
{
	snprintf(tdir, size, "%s/templates", f->dir);
	assert_int_equal(mkdir(tdir, 0755), 0);
}

static void tmpl_file(const char *tdir, const char *name, const char *text)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/%s.mustache", tdir, name);
	write_file(path, text);
}

/* The template cache grows while a partial loads: the error still names the template. */
static void test_render_self_including_partial(void **state)
{
	struct fixture *f = *state;
	char tdir[128];

	tmpl_dir(f, tdir, sizeof(tdir));
	tmpl_file(tdir, "header", "{{>header}}\n");
	load(f, "cis");
	assert_int_equal(render(f, tdir), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_non_null(strstr(f->d.v[0].file, "templates/"));
	assert_non_null(strstr(f->d.v[0].msg,
		"partials nested too deeply: header \u2192 header \u2192 header"));
	assert_non_null(strstr(f->d.v[0].msg, "\u2026"));
	assert_int_equal(f->arts.n, 0);
}

static void test_render_partial_then_invalid_yaml(void **state)
{
	struct fixture *f = *state;
	char tdir[128], want[200];

	tmpl_dir(f, tdir, sizeof(tdir));
	tmpl_file(tdir, "psa.yaml", "{{>extra}}\nkey: [unclosed\n");
	tmpl_file(tdir, "extra", "# extra\n");
	load(f, "cis");
	assert_int_equal(render(f, tdir), -EINVAL);
	assert_int_equal(f->d.n, 1);
	snprintf(want, sizeof(want), "%s/psa.yaml.mustache", tdir);
	assert_string_equal(f->d.v[0].file, want);
	assert_non_null(strstr(f->d.v[0].msg, "invalid YAML"));
}

static void test_render_nul_in_template(void **state)
{
	static const char text[] = "# x\n{{#parameters}}{{key\0}}={{value}}\n{{/parameters}}";
	struct fixture *f = *state;
	char tdir[128], path[200];

	tmpl_dir(f, tdir, sizeof(tdir));
	snprintf(path, sizeof(path), "%s/sysctl.conf.mustache", tdir);
	write_bytes(path, text, sizeof(text) - 1);
	load(f, "cis");
	assert_int_equal(render(f, tdir), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_string_equal(f->d.v[0].file, path);
	assert_int_equal(f->d.v[0].line, 2);
	assert_non_null(strstr(f->d.v[0].msg, "NUL byte"));
}

/* 30 partials each including the next twice: 2^30 expansions, refused early. */
static void test_render_partials_doubling(void **state)
{
	struct fixture *f = *state;
	char tdir[128], name[16], text[64];
	int i;

	tmpl_dir(f, tdir, sizeof(tdir));
	for (i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		snprintf(text, sizeof(text), "{{>p%d}}{{>p%d}}", i + 1, i + 1);
		tmpl_file(tdir, name, text);
	}
	tmpl_file(tdir, "p30", "kernel.panic = 10\n");
	tmpl_file(tdir, "sysctl.conf", "{{>p0}}\n");
	load(f, "cis");
	assert_int_equal(render(f, tdir), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_non_null(strstr(f->d.v[0].file, "sysctl.conf.mustache"));
	assert_non_null(strstr(f->d.v[0].msg, "larger than"));
	assert_int_equal(f->arts.n, 0);
}

/* The same without output: the work is capped, not only the bytes. */
static void test_render_nested_sections(void **state)
{
	struct fixture *f = *state;
	struct buf t = BUF_INIT;
	char tdir[128];
	int i;

	tmpl_dir(f, tdir, sizeof(tdir));
	for (i = 0; i < 40; i++)
		assert_int_equal(buf_adds(&t, "{{#parameters}}"), 0);
	for (i = 0; i < 40; i++)
		assert_int_equal(buf_adds(&t, "{{/parameters}}"), 0);
	tmpl_file(tdir, "sysctl.conf", t.data);
	buf_free(&t);
	load(f, "cis");
	assert_int_equal(render(f, tdir), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_non_null(strstr(f->d.v[0].file, "sysctl.conf.mustache"));
	assert_non_null(strstr(f->d.v[0].msg, "nested too deeply"));
}

/* A network-policy template override and a profile naming namespaces ns[0..n). */
static int render_netpol_with(struct fixture *f, const char *tmpl, const char *const *ns, size_t n)
{
	struct buf b = BUF_INIT;
	char tdir[128];
	size_t i;
	int r;

	tmpl_dir(f, tdir, sizeof(tdir));
	tmpl_file(tdir, "networkpolicy.yaml", tmpl);
	assert_int_equal(buf_adds(&b, "name: t\nextends: cis\nnetwork_policies:\n  namespaces:\n"), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_printf(&b, "  - %s\n", ns[i]), 0);
	load(f, profile_file(f, "p.yaml", b.data));
	buf_free(&b);
	r = render(f, tdir);
	if (r < 0)
		print_diags(&f->d);
	return r;
}

static const struct artifact *netpol(const struct fixture *f, const char *ns)
{
	char path[200];

	snprintf(path, sizeof(path), "/var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-%s.yaml", ns);
	return find(f, path);
}

/*
 * The YAML check is memoized by the output's shape: outputs that differ
 * only in letters and digits of values after whitespace share one parse.
 * Each namespace still gets its own bytes.
 */
static void test_render_yaml_check_shared_shape(void **state)
{
	static const char *const ns[] = { "ns-a1", "ns-b2", "zz-9q", "default" };
	struct fixture *f = *state;
	const struct artifact *a;
	size_t i;

	assert_int_equal(render_netpol_with(f, "# {{{namespace}}}\nkind: NetworkPolicy\n"
					    "metadata:\n  namespace: {{namespace}}\n", ns, 4), 0);
	for (i = 0; i < 4; i++) {
		char want[200];

		a = netpol(f, ns[i]);
		assert_non_null(a);
		snprintf(want, sizeof(want), "# %s\nkind: NetworkPolicy\nmetadata:\n  namespace: %s\n",
			 ns[i], ns[i]);
		assert_int_equal(a->len, strlen(want));
		assert_memory_equal(a->data, want, a->len);
	}
}

/*
 * Where a letter's meaning depends on what precedes it (after '\' in a
 * double-quoted scalar, a block scalar's indentation indicator), a value of
 * the same length that passed before does not vouch for the next one: the
 * second namespace's output is parsed and refused.
 */
static void test_render_yaml_check_value_in_context(void **state)
{
	static const char *const esc[] = { "n", "k" };   /* "\n" is an escape, "\k" is not */
	static const char *const ind[] = { "2", "0" };   /* '|2' indents by 2, '|0' is refused */
	struct fixture *f = *state;

	assert_int_equal(render_netpol_with(f, "kind: NetworkPolicy\na: \"\\{{{namespace}}}\"\n", esc, 2),
			 -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_non_null(strstr(f->d.v[0].msg, "invalid YAML"));
	assert_non_null(strstr(f->d.v[0].msg, "netpol-k.yaml"));
	artifacts_free(&f->arts);
	profile_doc_free(f->doc);
	f->doc = NULL;
	diags_free(&f->d);
	rm_tree(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);

	assert_int_equal(render_netpol_with(f, "kind: NetworkPolicy\na: |{{{namespace}}}\n  text\n", ind, 2),
			 -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_non_null(strstr(f->d.v[0].msg, "invalid YAML"));
	assert_non_null(strstr(f->d.v[0].msg, "netpol-0.yaml"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_render_cis_artifacts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_psa_structure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_psa_v1beta1_and_tricky_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_audit_and_sysctl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_network_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_service_accounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_k3s_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_agent_only_node_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_dropin_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_keeps_node_restriction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_template_override_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_template_syntax_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_invalid_yaml_names_template_and_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_conf_refuses_newline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_self_including_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_partial_then_invalid_yaml, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_nul_in_template, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_partials_doubling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_nested_sections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_yaml_check_shared_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_yaml_check_value_in_context, setup, teardown),
	};

	return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}
