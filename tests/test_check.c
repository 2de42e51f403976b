/*
 * check_run on small roots: the verdicts that need the files of a root
 * (manifests, psa.yaml) and the cluster read through a kubectl stand-in,
 * which prints what `k3s kubectl get namespaces,networkpolicies,
 * serviceaccounts -A -o json` would.
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

#include "check.h"
#include "k3s_version.h"

struct fx {
	char root[64];
	char path[256];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/k3h-check-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void put(struct fx *f, const char *rel, const char *text, mode_t mode)
{
	char cmd[512];
	FILE *fp;

	snprintf(f->path, sizeof(f->path), "%s%s", f->root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", f->path);
	assert_int_equal(system(cmd), 0);
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(f->path, mode), 0);
}

static const struct check_control *ctl(const struct check_report *R, const char *id)
{
	size_t i;

	for (i = 0; i < R->n; i++)
		if (!strcmp(R->v[i].c->id, id))
			return &R->v[i];
	fail_msg("no control %s", id);
	return NULL;
}

static const char *policy(const char *ns)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namespace: %s\n"
		 "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n", ns);
	return buf;
}

static void policies(struct fx *f)
{
	char text[4096] = "";

	strcat(text, policy("default"));
	strcat(text, policy("kube-public"));
	strcat(text, policy("kube-node-lease"));
	strcat(text, policy("kube-system"));
	/* CoreDNS reachable from everywhere on both protocols */
	strcat(text, "---\nkind: NetworkPolicy\nmetadata: {name: dns, namespace: kube-system}\nspec:\n"
	       "  podSelector: {matchLabels: {k8s-app: kube-dns}}\n  ingress:\n  - ports:\n    - {port: 53}\n"
	       "    - {port: 53, protocol: UDP}\n");
	put(f, "/var/lib/rancher/k3s/server/manifests/np.yaml", text, 0600);
}

/* Checked as check does for the built-in k3s-cis-1.9 at K3s 1.27: its
 * settings say which control a profile setting serves. */
static void run_check(struct fx *f, const char *kubectl, struct check_report *R)
{
	struct check_opts o = { f->root, "k3s-cis-1.9", true, kubectl != NULL, false, NULL, kubectl, NULL };
	struct diags d = { NULL, 0, 0 };
	struct profile_doc *doc = NULL;

	assert_int_equal(profile_load("k3s-cis-1.9", &doc, &d), 0);
	assert_int_equal(k3s_env_apply(doc->p, "1.27", NULL, &d, &d), 0);
	o.profile = doc->p;
	assert_int_equal(check_run(&o, R, &d), 0);
	profile_doc_free(doc);
	diags_free(&d);
}

static void test_netpol_all_namespaces(void **state)
{
	struct fx *f = *state;
	struct check_report R;

	policies(f);
	run_check(f, NULL, &R);
	assert_int_equal(ctl(&R, "5.3.2")->status, CHECK_PASS);
	assert_int_equal(R.refuse.n, 0);
	check_report_free(&R);
}

static void test_netpol_skip_file(void **state)
{
	struct fx *f = *state;
	struct check_report R;

	policies(f);
	put(f, "/var/lib/rancher/k3s/server/manifests/np.yaml.skip", "", 0600);
	put(f, "/var/lib/rancher/k3s/server/manifests/other.yaml", policy("default"), 0600);
	run_check(f, NULL, &R);
	/* np.yaml is skipped: three namespaces have no policy */
	assert_int_equal(ctl(&R, "5.3.2")->status, CHECK_FAIL);
	assert_non_null(strstr(ctl(&R, "5.3.2")->evidence, "kube-node-lease"));
	assert_null(strstr(ctl(&R, "5.3.2")->evidence, "default,"));
	check_report_free(&R);
}

static void test_cluster_namespaces(void **state)
{
	struct fx *f = *state;
	struct check_report R;
	char kubectl[256];

	policies(f);
	snprintf(kubectl, sizeof(kubectl), "%s/kubectl", f->root);
	put(f, "/kubectl",
	    "#!/bin/sh\n"
	    "[ \"$# $1 $2 $3 $4 $5 $6\" = '6 kubectl get namespaces,networkpolicies,serviceaccounts -A -o json' ] || exit 3\n"
	    "cat <<'J'\n"
	    "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n"
	    " {\"kind\": \"Namespace\", \"metadata\": {\"name\": \"team-a\", \"labels\": {\"team\": \"a\"}}},\n"
	    " {\"kind\": \"Namespace\", \"metadata\": {\"name\": \"team-b\"}},\n"
	    " {\"kind\": \"NetworkPolicy\", \"metadata\": {\"name\": \"x\", \"namespace\": \"team-b\"},\n"
	    "  \"spec\": {\"podSelector\": {}, \"ingress\": [{\"from\": [{\"namespaceSelector\": {\"matchLabels\": {\"team\": \"a\"}}}]}]}}\n"
	    "]}\nJ\n", 0700);
	/* kubectl is run with the path as the binary and argv[0] "k3s" */
	strcpy(kubectl, f->path);
	run_check(f, kubectl, &R);
	assert_true(R.cluster);
	assert_int_equal(R.n_no_policy, 1);
	assert_string_equal(R.no_policy[0], "team-a");
	assert_int_equal(ctl(&R, "5.3.2")->status, CHECK_FAIL);
	/* team-a's label satisfies team-b's selector: only the missing policy is named */
	assert_non_null(strstr(ctl(&R, "5.3.2")->evidence, "no network policy in namespace team-a"));
	assert_null(strstr(ctl(&R, "5.3.2")->evidence, "which no namespace has"));
	/* the default ServiceAccount of team-a mounts a token */
	assert_int_equal(ctl(&R, "5.1.5")->status, CHECK_FAIL);
	check_report_free(&R);
}

static void test_kubectl_fails(void **state)
{
	struct fx *f = *state;
	struct check_opts o = { f->root, "k3s-cis-1.9", true, true, false, NULL, NULL, NULL };
	struct check_report R;
	struct diags d = { NULL, 0, 0 };

	put(f, "/kubectl", "#!/bin/sh\necho 'connection refused' >&2\nexit 1\n", 0700);
	o.kubectl = f->path;
	assert_true(check_run(&o, &R, &d) < 0);
	assert_true(d.n > 0);
	assert_non_null(strstr(d.v[0].msg, "failed"));
	diags_free(&d);
	check_report_free(&R);
}

static void test_psa_levels(void **state)
{
	struct fx *f = *state;
	struct check_report R;

	put(f, "/etc/rancher/k3s/config.yaml",
	    "kube-apiserver-arg:\n  - admission-control-config-file=/etc/psa.yaml\n", 0600);
	put(f, "/etc/psa.yaml",
	    "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n"
	    "  configuration:\n    defaults: {enforce: baseline}\n    exemptions: {namespaces: [kube-system]}\n", 0600);
	run_check(f, NULL, &R);
	assert_int_equal(ctl(&R, "5.2.2")->status, CHECK_PASS);        /* privileged: baseline covers it */
	assert_int_equal(ctl(&R, "5.2.1")->status, CHECK_FAIL);        /* restricted needed */
	assert_int_equal(ctl(&R, "5.2.7")->status, CHECK_FAIL);        /* root containers: restricted */
	assert_string_equal(ctl(&R, "5.2.1")->setting, "pod_security");
	check_report_free(&R);
}

static void test_agent_role(void **state)
{
	struct fx *f = *state;
	struct check_opts o = { f->root, "k3s-cis-1.9", false, false, false, NULL, NULL, NULL };
	struct check_report R;
	struct diags d = { NULL, 0, 0 };

	assert_int_equal(check_run(&o, &R, &d), 0);
	assert_int_equal(ctl(&R, "1.2.1")->status, CHECK_INFO);
	assert_int_equal(ctl(&R, "4.2.1")->status, CHECK_PASS);
	assert_int_equal(R.totals[CHECK_PASS] + R.totals[CHECK_FAIL] + R.totals[CHECK_WARN] + R.totals[CHECK_INFO],
			 R.n);
	diags_free(&d);
	check_report_free(&R);
}

static void test_unknown_benchmark(void **state)
{
	struct fx *f = *state;
	struct check_opts o = { f->root, "k3s-cis-0.0", true, false, false, NULL, NULL, NULL };
	struct check_report R;
	struct diags d = { NULL, 0, 0 };

	assert_int_equal(check_run(&o, &R, &d), -ENOENT);
	diags_free(&d);
	check_report_free(&R);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_netpol_all_namespaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netpol_skip_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_namespaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kubectl_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_psa_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_role, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_benchmark, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
