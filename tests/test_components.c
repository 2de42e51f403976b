/*
 * The emulated component command lines: GetArgs's merge (replace, append,
 * prepend, optional leading --, sorted output), K3s's defaults by version
 * and datastore, options mapped to flags, and the kubelet's configuration
 * from K3s's drop-in, the user's drop-ins and the flags on top.
 */
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

#include "components.h"
#include "keff.h"
#include "ynode.h"

struct fx {
	char root[64];
	struct keff E;
	struct components C;
	char *texts[4];
	int n;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/k3h-comp-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	f->E = (struct keff)KEFF_INIT;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	int i;

	components_free(&f->C);
	keff_free(&f->E);
	for (i = 0; i < f->n; i++)
		free(f->texts[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void add(struct fx *f, const char *label, const char *yaml)
{
	struct diags d = { NULL, 0, 0 };

	f->texts[f->n] = strdup(yaml);
	assert_int_equal(keff_add(&f->E, label, f->texts[f->n], strlen(yaml), &d, NULL), 0);
	f->n++;
	diags_free(&d);
}

static void build(struct fx *f, const char *version, bool server)
{
	struct diags d = { NULL, 0, 0 };

	assert_int_equal(components_build(&f->C, &f->E, f->root, version, server, &d), 0);
	diags_free(&d);
}

static void test_defaults(void **state)
{
	struct fx *f = *state;

	build(f, "1.27", true);
	assert_true(f->C.line[COMP_APISERVER].runs);
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "anonymous-auth"), "false");
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "profiling"), "false");
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "enable-admission-plugins"), "NodeRestriction");
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "etcd-servers"), "unix://kine.sock");
	assert_null(comp_flag(&f->C, COMP_APISERVER, "etcd-certfile"));
	/* K3s >= 1.26.1 injects its six suites when the user gives none */
	assert_non_null(strstr(comp_flag(&f->C, COMP_APISERVER, "tls-cipher-suites"),
			       "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"));
	assert_string_equal(comp_flag(&f->C, COMP_CONTROLLER_MANAGER, "leader-elect"), "false");
	assert_false(f->C.line[COMP_ETCD].runs);
	assert_int_equal(f->C.ds, DS_SQLITE);
	/* sorted by flag name */
	for (size_t i = 1; i < f->C.line[COMP_APISERVER].n; i++)
		assert_true(strcmp(f->C.line[COMP_APISERVER].args[i - 1].name, f->C.line[COMP_APISERVER].args[i].name) <= 0);
}

static void test_version_ranges(void **state)
{
	struct fx *f = *state;

	build(f, "1.25", true);
	assert_null(comp_flag(&f->C, COMP_APISERVER, "tls-cipher-suites"));
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "service-account-signing-key-file"),
			    "/var/lib/rancher/k3s/server/tls/service.key");
	components_free(&f->C);
	build(f, "v1.28.5+k3s1", true);
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "service-account-signing-key-file"),
			    "/var/lib/rancher/k3s/server/tls/service.current.key");
	assert_null(comp_flag(&f->C, COMP_KUBELET, "config-dir"));
	assert_string_equal(comp_flag(&f->C, COMP_KUBELET, "anonymous-auth"), "false");
	components_free(&f->C);
	build(f, "1.33", true);
	/* the kubelet gets its settings from the drop-in, not flags */
	assert_null(comp_flag(&f->C, COMP_KUBELET, "anonymous-auth"));
	assert_string_equal(comp_flag(&f->C, COMP_KUBELET, "config-dir"), "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d");
	assert_string_equal(comp_setting(&f->C.kubelet, "authentication/anonymous/enabled")->value, "false");
}

static void test_merge(void **state)
{
	struct fx *f = *state;

	add(f, "config.yaml", "kube-apiserver-arg:\n  - --profiling=true\n  - enable-admission-plugins+=EventRateLimit\n"
	    "  - audit-log-maxage=30\n  - audit-log-maxage=7\n  - request-timeout-=1s\n  - tls-cipher-suites=A,B\n");
	build(f, "1.27", true);
	/* a leading -- is optional; plain replaces K3s's default */
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "profiling"), "true");
	assert_int_equal(comp_flag_count(&f->C, COMP_APISERVER, "profiling"), 1);
	/* += keeps K3s's default first; the slice flag sees both */
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "enable-admission-plugins"), "NodeRestriction,EventRateLimit");
	/* two plain entries: both emitted, the last wins */
	assert_int_equal(comp_flag_count(&f->C, COMP_APISERVER, "audit-log-maxage"), 2);
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "audit-log-maxage"), "7");
	/* the user's tls-cipher-suites: nothing injected */
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "tls-cipher-suites"), "A,B");
	assert_int_equal(f->C.refuse.n, 0);
}

static void test_prepend(void **state)
{
	struct fx *f = *state;

	add(f, "config.yaml", "kube-controller-manager-arg:\n  - profiling-=true\n");
	build(f, "1.27", true);
	/* prepended before K3s's default: the default stays last and wins */
	assert_int_equal(comp_flag_count(&f->C, COMP_CONTROLLER_MANAGER, "profiling"), 2);
	assert_string_equal(comp_flag(&f->C, COMP_CONTROLLER_MANAGER, "profiling"), "false");
}

static void test_old_merge(void **state)
{
	struct fx *f = *state;

	add(f, "config.yaml", "kube-apiserver-arg:\n  - audit-log-maxage=30\n  - audit-log-maxage=7\n");
	build(f, "1.22", true);
	/* before 1.23 a map: one value, the last */
	assert_int_equal(comp_flag_count(&f->C, COMP_APISERVER, "audit-log-maxage"), 1);
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "audit-log-maxage"), "7");
}

static void test_options(void **state)
{
	struct fx *f = *state;

	add(f, "config.yaml", "secrets-encryption: true\nprotect-kernel-defaults: true\ndata-dir: /srv/k3s\n"
	    "disable-kube-proxy: true\n");
	build(f, "1.27", true);
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "encryption-provider-config"),
			    "/srv/k3s/server/cred/encryption-config.json");
	assert_string_equal(comp_flag(&f->C, COMP_KUBELET, "protect-kernel-defaults"), "true");
	assert_false(f->C.line[COMP_PROXY].runs);
	components_free(&f->C);
	build(f, "1.33", true);
	assert_string_equal(comp_setting(&f->C.kubelet, "protectKernelDefaults")->value, "true");
}

static void test_datastores(void **state)
{
	struct fx *f = *state;

	add(f, "config.yaml", "cluster-init: true\n");
	build(f, "1.27", true);
	assert_int_equal(f->C.ds, DS_ETCD);
	assert_true(f->C.line[COMP_ETCD].runs);
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "etcd-certfile"),
			    "/var/lib/rancher/k3s/server/tls/etcd/client.crt");
	assert_string_equal(comp_setting(&f->C.etcd, "client-transport-security/client-cert-auth")->value, "true");
	assert_null(comp_flag(&f->C, COMP_CONTROLLER_MANAGER, "leader-elect"));
	components_free(&f->C);
	add(f, "config.yaml.d/a.yaml", "datastore-endpoint: postgres://db/k3s\n");
	build(f, "1.27", true);
	assert_int_equal(f->C.ds, DS_KINE);
	components_free(&f->C);
	add(f, "config.yaml.d/b.yaml", "datastore-endpoint: https://etcd:2379\n");
	build(f, "1.27", true);
	assert_int_equal(f->C.ds, DS_EXTERNAL_ETCD);
	assert_string_equal(comp_flag(&f->C, COMP_APISERVER, "etcd-servers"), "https://etcd:2379");
}

static void test_agent(void **state)
{
	struct fx *f = *state;

	build(f, "1.27", false);
	assert_false(f->C.line[COMP_APISERVER].runs);
	assert_true(f->C.line[COMP_KUBELET].runs);
	assert_true(f->C.line[COMP_PROXY].runs);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_kubelet_dropins(void **state)
{
	struct fx *f = *state;
	char p[256];
	const struct comp_setting *s;

	snprintf(p, sizeof(p), "mkdir -p '%s/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/sub'", f->root);
	assert_int_equal(system(p), 0);
	snprintf(p, sizeof(p), "%s/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/50-a.conf", f->root);
	write_file(p, "authentication:\n  anonymous:\n    enabled: true\nreadOnlyPort: 10255\n");
	snprintf(p, sizeof(p), "%s/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/60-b.conf", f->root);
	write_file(p, "{\"readOnlyPort\": 0, \"tlsCipherSuites\": [\"X\", \"Y\"]}\n");
	snprintf(p, sizeof(p), "%s/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/00-k3s-defaults.conf", f->root);
	write_file(p, "authentication:\n  webhook:\n    enabled: false\n");
	snprintf(p, sizeof(p), "%s/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/notconf.yaml", f->root);
	write_file(p, "readOnlyPort: 1\n");
	add(f, "config.yaml", "kubelet-arg:\n  - streaming-connection-idle-timeout=5m\n");
	build(f, "1.33", false);
	s = comp_setting(&f->C.kubelet, "authentication/anonymous/enabled");
	assert_non_null(s);
	assert_string_equal(s->value, "true");
	assert_non_null(strstr(s->source, "50-a.conf"));
	/* a later file wins; lists are joined */
	assert_string_equal(comp_setting(&f->C.kubelet, "readOnlyPort")->value, "0");
	assert_string_equal(comp_setting(&f->C.kubelet, "tlsCipherSuites")->value, "X,Y");
	/* K3s rewrites its own drop-in at start: the file on disk does not count */
	assert_string_equal(comp_setting(&f->C.kubelet, "authentication/webhook/enabled")->value, "true");
	/* flags win over every file */
	assert_string_equal(comp_setting(&f->C.kubelet, "streamingConnectionIdleTimeout")->value, "5m");
	components_free(&f->C);
	/* K3s 1.27 passes no --config-dir: the directory is not read */
	build(f, "1.27", false);
	s = comp_setting(&f->C.kubelet, "authentication/anonymous/enabled");
	assert_non_null(s);
	assert_string_equal(s->value, "false");
	assert_string_equal(s->source, "flag --anonymous-auth");
	assert_null(comp_setting(&f->C.kubelet, "tlsCipherSuites"));
	assert_string_equal(comp_flag(&f->C, COMP_KUBELET, "anonymous-auth"), "false");
}

static void test_bad_dropin(void **state)
{
	struct fx *f = *state;
	char p[256];

	snprintf(p, sizeof(p), "mkdir -p '%s/var/lib/rancher/k3s/agent/etc/kubelet.conf.d'", f->root);
	assert_int_equal(system(p), 0);
	snprintf(p, sizeof(p), "%s/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/50-a.conf", f->root);
	write_file(p, "authentication: [\n");
	build(f, "1.34", true);
	assert_int_equal(f->C.refuse.n, 1);
	assert_non_null(strstr(f->C.refuse.v[0].msg, "kubelet rejects"));
}

static void test_empty_entry(void **state)
{
	struct fx *f = *state;

	add(f, "config.yaml", "kube-apiserver-arg:\n  - \"\"\n");
	build(f, "1.27", true);
	assert_int_equal(f->C.refuse.n, 1);
	assert_int_equal(f->C.refuse.v[0].line, 2);
}

/* Two trees alike but for their file names. */
static void same_tree(const struct ynode *a, const struct ynode *b)
{
	size_t i;

	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->start.index, b->start.index);
	assert_int_equal(a->start.line, b->start.line);
	assert_int_equal(a->start.col, b->start.col);
	assert_int_equal(a->end.index, b->end.index);
	assert_int_equal(a->end.line, b->end.line);
	assert_int_equal(a->end.col, b->end.col);
	assert_int_equal(a->plain, b->plain);
	assert_int_equal(a->block, b->block);
	assert_int_equal(a->flow, b->flow);
	assert_int_equal(!a->anchor, !b->anchor);
	if (a->anchor)
		assert_string_equal(a->anchor, b->anchor);
	assert_int_equal(!a->value, !b->value);
	if (a->value) {
		assert_int_equal(a->len, b->len);
		assert_memory_equal(a->value, b->value, a->len + 1);
	}
	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		if (a->kind == YN_MAP)
			same_tree(a->keys[i], b->keys[i]);
		same_tree(a->items[i], b->items[i]);
	}
}

/* The facts compiled in (tools/ynode-gen.c) are the tree ynode_parse gives of the file. */
static void test_facts_compiled(void **state)
{
	struct diags d = { NULL, 0, 0 };
	const struct ynode *built = components_facts(&d);
	struct ynode *parsed = NULL;
	char *data = NULL;
	size_t len = 0, n;
	FILE *f = fopen("../benchmarks/k3s-components.yaml", "rb");

	(void)state;
	assert_non_null(built);
	assert_non_null(f);
	data = malloc(1 << 20);
	assert_non_null(data);
	while ((n = fread(data + len, 1, (1 << 20) - len, f)) > 0)
		len += n;
	fclose(f);
	assert_int_equal(ynode_parse("k3s-components.yaml", data, len, 0, &parsed, &d), 0);
	assert_string_equal(built->file, "benchmarks/k3s-components.yaml");
	same_tree(built, parsed);
	assert_non_null(ynode_get(built, "namespaces"));
	ynode_free(parsed);
	free(data);
	diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_facts_compiled),
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_datastores, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kubelet_dropins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_dropin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_entry, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
