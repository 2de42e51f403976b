/*
 * Profile module tests: the built-in profiles load with the values they
 * declare, `extends:` merges as documented (maps deeply, lists replaced,
 * `key+:` appended, nested too), cycles are refused, diagnostics carry the
 * right file, line and column, every problem is reported at once in file
 * order, messages say what to do, and a dump reloads to the same dump.
 * The validators themselves are in test_validate.c. Every test gets its
 * own temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
#include "diag.h"
#include "profile.h"
#include "ynode.h"

struct fixture {
	char dir[64];
	struct diags d;
	struct profile_doc *doc;
};

/* ---- helpers ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/k3h-test-profile-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	profile_doc_free(f->doc);
	diags_free(&f->d);
	r = nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r;
}

static int group_setup(void **state)
{
	(void)state;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ynode_intern_free();
	return 0;
}

/* Write REL (may contain one level of directory) under the fixture's directory;
 * the full path goes to out (PATH_MAX-sized by the caller). */
static void put(const struct fixture *f, const char *rel, const char *text, char *out, size_t outsz)
{
	char path[512];
	const char *slash = strrchr(rel, '/');
	FILE *fp;

	if (slash) {
		snprintf(path, sizeof(path), "%s/%.*s", f->dir, (int)(slash - rel), rel);
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
	}
	snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	if (out)
		snprintf(out, outsz, "%s", path);
}

/* Load a file written by put(); expects success and prints diagnostics if not. */
static struct profile *load_ok(struct fixture *f, const char *path)
{
	int r = profile_load(path, &f->doc, &f->d);
	size_t i;

	for (i = 0; i < f->d.n; i++) {
		char *s = diag_format(&f->d.v[i]);

		fprintf(stderr, "unexpected diagnostic: %s\n", s ? s : "?");
		free(s);
	}
	assert_int_equal(r, 0);
	assert_int_equal(f->d.n, 0);
	assert_non_null(f->doc);
	assert_non_null(f->doc->p);
	return f->doc->p;
}

/* Load a file that must fail with n diagnostics; *out must stay untouched. */
static void load_bad(struct fixture *f, const char *path, size_t n)
{
	struct profile_doc *sentinel = (struct profile_doc *)(uintptr_t)0x1;
	struct profile_doc *doc = sentinel;
	int r = profile_load(path, &doc, &f->d);
	size_t i;

	if (f->d.n != n)
		for (i = 0; i < f->d.n; i++) {
			char *s = diag_format(&f->d.v[i]);

			fprintf(stderr, "diagnostic: %s\n", s ? s : "?");
			free(s);
		}
	assert_int_equal(r, -EINVAL);
	assert_true(doc == sentinel);
	assert_int_equal(f->d.n, n);
}

/* Some diagnostic is at file:line:col and its message starts with prefix. */
static void diag_is(const struct fixture *f, const char *file, unsigned line, unsigned col,
		    const char *prefix)
{
	size_t i;

	for (i = 0; i < f->d.n; i++) {
		const struct diag *g = &f->d.v[i];

		if (strcmp(g->file, file) == 0 && g->line == line && g->col == col &&
		    strncmp(g->msg, prefix, strlen(prefix)) == 0)
			return;
	}
	for (i = 0; i < f->d.n; i++) {
		char *s = diag_format(&f->d.v[i]);

		fprintf(stderr, "diagnostic: %s\n", s ? s : "?");
		free(s);
	}
	fail_msg("no diagnostic %s:%u:%u: %s...", file, line, col, prefix);
}

/* Some diagnostic's message contains sub. */
static void diag_has(const struct fixture *f, const char *sub)
{
	size_t i;

	for (i = 0; i < f->d.n; i++)
		if (strstr(f->d.v[i].msg, sub))
			return;
	fail_msg("no diagnostic contains '%s'", sub);
}

/* ---- built-in profiles ---- */

static void test_profile_builtin_base(void **state)
{
	struct fixture *f = *state;
	struct profile *p = load_ok(f, "base");

	assert_string_equal(p->name, "base");
	assert_null(p->extends);
	assert_int_equal(p->role, ROLE_SERVER);
	assert_null(p->unit);
	assert_string_equal(p->manifests_dir, "/var/lib/rancher/k3s/server/manifests");
	assert_int_equal(p->retention, 10);
	assert_non_null(p->pod_security);
	assert_false(p->pod_security->enabled);
	assert_int_equal(p->pod_security->api_version, PSA_API_V1);
	assert_int_equal(p->pod_security->exemptions.namespaces_count, 1);
	assert_string_equal(p->pod_security->exemptions.namespaces[0], "kube-system");
	assert_false(p->audit->enabled);
	assert_int_equal(p->audit->max_age, 30);
	assert_int_equal(p->kernel->parameters_count, 0);
	assert_false(p->kernel->protect_kernel_defaults);
	assert_int_equal(p->k3s->mode, CONFIG_MERGE);
	assert_int_equal(p->k3s->args_count, 0);
	assert_string_equal(p->k3s->dropin, "90-k3s-harden.yaml");
}

static void test_profile_builtin_cis(void **state)
{
	struct fixture *f = *state;
	struct profile *p = load_ok(f, "cis");
	static const char *const keys[] = {
		"vm.panic_on_oom", "vm.overcommit_memory", "kernel.panic",
		"kernel.panic_on_oops", "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes",
	};
	unsigned i;

	assert_string_equal(p->name, "cis");
	assert_int_equal(p->role, ROLE_AUTO);          /* detected, as the k3s-cis-* profiles */
	assert_null(p->unit);
	assert_string_equal(profile_unit(p, ROLE_SERVER), "k3s.service");
	/* from base, through the implicit extends */
	assert_int_equal(p->retention, 10);
	assert_string_equal(p->manifests_dir, "/var/lib/rancher/k3s/server/manifests");

	assert_true(p->pod_security->enabled);
	assert_int_equal(p->pod_security->api_version, PSA_API_V1);
	assert_string_equal(p->pod_security->path, "/var/lib/rancher/k3s/server/psa.yaml");
	assert_int_equal(p->pod_security->controls_count, 14);
	assert_int_equal(p->pod_security->defaults.enforce, PSA_RESTRICTED);
	assert_string_equal(p->pod_security->defaults.enforce_version, "latest");
	assert_int_equal(p->pod_security->exemptions.namespaces_count, 2);
	assert_string_equal(p->pod_security->exemptions.namespaces[0], "kube-system");
	assert_string_equal(p->pod_security->exemptions.namespaces[1], "compliance-operator-system");
	assert_int_equal(p->pod_security->exemptions.usernames_count, 0);

	assert_true(p->event_rate_limit->enabled);
	assert_int_equal(p->event_rate_limit->limits_count, 1);
	assert_int_equal(p->event_rate_limit->limits[0].type, ERL_SERVER);
	assert_int_equal(p->event_rate_limit->limits[0].qps, 5000);
	assert_int_equal(p->event_rate_limit->limits[0].burst, 20000);

	assert_true(p->audit->enabled);
	assert_int_equal(p->audit->level, AUDIT_METADATA);
	assert_int_equal(p->audit->max_age, 30);
	assert_int_equal(p->audit->max_backup, 10);
	assert_int_equal(p->audit->max_size, 100);
	assert_string_equal(p->audit->policy_path, "/var/lib/rancher/k3s/server/audit.yaml");
	assert_string_equal(p->audit->log_dir, "/var/lib/rancher/k3s/server/logs");
	assert_string_equal(p->audit->log_file, "audit.log");
	assert_int_equal(p->audit->controls_count, 5);

	assert_true(p->kernel->protect_kernel_defaults);
	assert_string_equal(p->kernel->path, "/etc/sysctl.d/90-kubelet.conf");
	assert_int_equal(p->kernel->parameters_count, 6);
	for (i = 0; i < 6; i++)
		assert_string_equal(p->kernel->parameters[i].key, keys[i]);
	assert_string_equal(p->kernel->parameters[5].value, "25000000");
	assert_int_equal(p->kernel->parameters[0].controls_count, 1);
	assert_string_equal(p->kernel->parameters[0].controls[0], "kubelet.protect_kernel_defaults");

	assert_true(p->network_policies->enabled);
	assert_int_equal(p->network_policies->namespaces_count, 4);      /* kube-node-lease too */
	assert_string_equal(p->network_policies->manifest_prefix, "k3s-harden-netpol");
	assert_true(p->service_accounts->enabled);
	assert_int_equal(p->service_accounts->namespaces_count, 4);
	assert_string_equal(p->service_accounts->manifest, "k3s-harden-serviceaccounts.yaml");

	assert_int_equal(p->k3s->mode, CONFIG_MERGE);
	assert_string_equal(p->k3s->path, "/etc/rancher/k3s/config.yaml");
	assert_int_equal(p->k3s->admission_plugins_count, 2);
	assert_string_equal(p->k3s->admission_plugins[0], "NodeRestriction");
	assert_int_equal(p->k3s->settings_count, 1);
	assert_string_equal(p->k3s->settings[0].key, "secrets-encryption");
	/* terminated-pod-gc-threshold twice (before and since 1.29), three >= 1.29 values,
	 * kube-apiserver tls-cipher-suites before 1.26.1 */
	assert_int_equal(p->k3s->args_count, 10);
	assert_string_equal(p->k3s->args[0].list, "kube-apiserver-arg");
	assert_string_equal(p->k3s->args[0].flag, "request-timeout");
	assert_string_equal(p->k3s->args[0].value, "300s");
	assert_string_equal(p->k3s->args[6].flag, "streaming-connection-idle-timeout");
	assert_string_equal(p->k3s->args[6].value, "5m");
	assert_string_equal(p->k3s->args[4].since, "1.29");
	assert_string_equal(p->k3s->args[3].before, "1.29");
}

static void test_profile_builtin_cis_agent(void **state)
{
	struct fixture *f = *state;
	struct profile *p = load_ok(f, "cis-agent");

	assert_string_equal(p->name, "cis-agent");
	assert_string_equal(p->extends, "cis");
	assert_int_equal(p->role, ROLE_AGENT);
	assert_null(p->unit);
	assert_string_equal(profile_unit(p, p->role), "k3s-agent.service");
	/* `pod_security: { enabled: false }` merges into cis's mapping */
	assert_false(p->pod_security->enabled);
	assert_int_equal(p->pod_security->exemptions.namespaces_count, 2);
	assert_int_equal(p->pod_security->controls_count, 14);
	assert_false(p->event_rate_limit->enabled);
	assert_int_equal(p->event_rate_limit->limits_count, 1);
	assert_false(p->audit->enabled);
	assert_int_equal(p->audit->max_age, 30);
	assert_false(p->network_policies->enabled);
	assert_false(p->service_accounts->enabled);
	/* kernel is inherited whole */
	assert_true(p->kernel->protect_kernel_defaults);
	assert_int_equal(p->kernel->parameters_count, 6);
	/* lists written in the child replace the parent's */
	assert_int_equal(p->k3s->admission_plugins_count, 0);
	assert_int_equal(p->k3s->settings_count, 0);
	assert_int_equal(p->k3s->args_count, 3);
	assert_string_equal(p->k3s->args[0].list, "kubelet-arg");
	assert_string_equal(p->k3s->args[1].flag, "make-iptables-util-chains");
}

static void test_profile_builtin_names(void **state)
{
	(void)state;
	assert_string_equal(profile_role_name(ROLE_AGENT), "agent");
	assert_string_equal(psa_level_name(PSA_BASELINE), "baseline");
	assert_string_equal(audit_level_name(AUDIT_REQUEST_RESPONSE), "RequestResponse");
	assert_string_equal(erl_type_name(ERL_SOURCE_AND_OBJECT), "SourceAndObject");
}

static void test_profile_unknown_builtin(void **state)
{
	struct fixture *f = *state;

	load_bad(f, "no-such-profile", 1);
	assert_string_equal(f->d.v[0].file, "no-such-profile");
	assert_int_equal(f->d.v[0].line, 0);
	assert_non_null(strstr(f->d.v[0].msg, "unknown profile 'no-such-profile'"));
}

static void test_profile_dump(void **state)
{
	struct fixture *f = *state;
	struct buf b = BUF_INIT;

	load_ok(f, "cis-agent");
	assert_int_equal(profile_dump(f->doc, &b), 0);
	assert_non_null(b.data);
	assert_non_null(strstr(b.data, "role: agent"));
	assert_non_null(strstr(b.data, "streaming-connection-idle-timeout"));
	assert_null(strstr(b.data, "kube-apiserver-arg"));
	buf_free(&b);
}

/* ---- extends ---- */

static void test_profile_extends_scalar_override(void **state)
{
	struct fixture *f = *state;
	char path[512];
	struct profile *p;

	put(f, "child.yaml", "extends: cis\nretention: 3\naudit:\n  max_age: 90\n", path, sizeof(path));
	p = load_ok(f, path);
	assert_int_equal(p->retention, 3);
	assert_int_equal(p->audit->max_age, 90);
	/* siblings in the same mapping stay the parent's */
	assert_int_equal(p->audit->max_backup, 10);
	assert_true(p->audit->enabled);
	assert_string_equal(profile_unit(p, p->role), "k3s.service");
	/* a profile without a name is named after its file */
	assert_string_equal(p->name, "child");
}

static void test_profile_extends_map_deep(void **state)
{
	struct fixture *f = *state;
	char path[512];
	struct profile *p;

	put(f, "deep.yaml",
	    "name: deep\n"
	    "extends: cis\n"
	    "pod_security:\n"
	    "  defaults:\n"
	    "    warn: baseline\n"
	    "    warn_version: v1.30\n", path, sizeof(path));
	p = load_ok(f, path);
	assert_string_equal(p->name, "deep");
	assert_int_equal(p->pod_security->defaults.warn, PSA_BASELINE);
	assert_string_equal(p->pod_security->defaults.warn_version, "v1.30");
	assert_int_equal(p->pod_security->defaults.enforce, PSA_RESTRICTED);
	assert_string_equal(p->pod_security->defaults.enforce_version, "latest");
	assert_true(p->pod_security->enabled);
	assert_int_equal(p->pod_security->exemptions.namespaces_count, 2);
	assert_string_equal(p->pod_security->path, "/var/lib/rancher/k3s/server/psa.yaml");
}

static void test_profile_extends_list_replaced(void **state)
{
	struct fixture *f = *state;
	char path[512];
	struct profile *p;

	put(f, "replace.yaml",
	    "extends: cis\n"
	    "pod_security:\n"
	    "  exemptions:\n"
	    "    namespaces: [monitoring]\n"
	    "k3s:\n"
	    "  args:\n"
	    "    - { list: kubelet-arg, flag: event-qps, value: \"5\" }\n", path, sizeof(path));
	p = load_ok(f, path);
	assert_int_equal(p->pod_security->exemptions.namespaces_count, 1);
	assert_string_equal(p->pod_security->exemptions.namespaces[0], "monitoring");
	assert_int_equal(p->k3s->args_count, 1);
	assert_string_equal(p->k3s->args[0].flag, "event-qps");
	/* other lists of the section are untouched */
	assert_int_equal(p->k3s->settings_count, 1);
	assert_int_equal(p->k3s->admission_plugins_count, 2);
}

static void test_profile_extends_list_append(void **state)
{
	struct fixture *f = *state;
	char path[512];
	struct profile *p;

	put(f, "append.yaml",
	    "extends: cis\n"
	    "pod_security:\n"
	    "  exemptions:\n"
	    "    namespaces+: [monitoring, logging]\n"
	    "k3s:\n"
	    "  args+:\n"
	    "    - { list: kubelet-arg, flag: event-qps, value: \"5\" }\n", path, sizeof(path));
	p = load_ok(f, path);
	assert_int_equal(p->pod_security->exemptions.namespaces_count, 4);
	assert_string_equal(p->pod_security->exemptions.namespaces[0], "kube-system");
	assert_string_equal(p->pod_security->exemptions.namespaces[1], "compliance-operator-system");
	assert_string_equal(p->pod_security->exemptions.namespaces[2], "monitoring");
	assert_string_equal(p->pod_security->exemptions.namespaces[3], "logging");
	assert_int_equal(p->k3s->args_count, 11);
	assert_string_equal(p->k3s->args[0].flag, "request-timeout");
	assert_string_equal(p->k3s->args[10].flag, "event-qps");
}

/* `+` through two levels of files, and `key+:` inside a new list entry. */
static void test_profile_extends_nested_append(void **state)
{
	struct fixture *f = *state;
	char path[512];
	struct profile *p;

	put(f, "parents/mid.yaml",
	    "extends: cis\n"
	    "kernel:\n"
	    "  parameters+:\n"
	    "    - { key: vm.swappiness, value: \"10\" }\n", NULL, 0);
	put(f, "leaf.yaml",
	    "extends: parents/mid.yaml\n"
	    "kernel:\n"
	    "  parameters+:\n"
	    "    - key: net.ipv4.ip_forward\n"
	    "      value: \"1\"\n"
	    "      controls+: [\"4.2.1\"]\n", path, sizeof(path));
	p = load_ok(f, path);
	assert_int_equal(p->kernel->parameters_count, 8);
	assert_string_equal(p->kernel->parameters[0].key, "vm.panic_on_oom");
	assert_string_equal(p->kernel->parameters[6].key, "vm.swappiness");
	assert_string_equal(p->kernel->parameters[7].key, "net.ipv4.ip_forward");
	assert_int_equal(p->kernel->parameters[7].controls_count, 1);
	assert_string_equal(p->kernel->parameters[7].controls[0], "4.2.1");
	assert_true(p->kernel->protect_kernel_defaults);
}

static void test_profile_extends_relative_chain(void **state)
{
	struct fixture *f = *state;
	char path[512];
	struct profile *p;

	/* q.yaml is found next to p.yaml, not next to the child */
	put(f, "parents/q.yaml", "extends: cis\nretention: 7\nunit: q.service\n", NULL, 0);
	put(f, "parents/p.yaml", "extends: q.yaml\nretention: 8\n", NULL, 0);
	put(f, "c.yaml", "extends: parents/p.yaml\nname: c\n", path, sizeof(path));
	p = load_ok(f, path);
	assert_string_equal(p->name, "c");
	assert_int_equal(p->retention, 8);
	assert_string_equal(p->unit, "q.service");
	assert_int_equal(p->k3s->args_count, 10);
}

static void test_profile_extends_cycle_self(void **state)
{
	struct fixture *f = *state;
	char path[512];

	put(f, "self.yaml", "role: server\nextends: self.yaml\n", path, sizeof(path));
	load_bad(f, path, 1);
	diag_is(f, path, 2, 10, "extends: cycle");
}

static void test_profile_extends_cycle_ab(void **state)
{
	struct fixture *f = *state;
	char a[512], b[512];

	put(f, "b.yaml", "# b\nextends: a.yaml\n", b, sizeof(b));
	put(f, "a.yaml", "extends: b.yaml\n", a, sizeof(a));
	load_bad(f, a, 1);
	/* the child's directory is prefixed to the parent's relative path */
	diag_is(f, b, 2, 10, "extends: cycle");
	assert_non_null(strstr(f->d.v[0].msg, "a.yaml"));
}

static void test_profile_extends_missing(void **state)
{
	struct fixture *f = *state;
	char path[512];

	put(f, "orphan.yaml", "# no parent\nextends: gone.yaml\n", path, sizeof(path));
	load_bad(f, path, 1);
	assert_string_equal(f->d.v[0].file, path);
	assert_int_equal(f->d.v[0].line, 2);
	assert_int_equal(f->d.v[0].col, 10);
	diag_has(f, "gone.yaml");
}

/* ---- diagnostics ---- */

static void test_profile_diag_validation_positions(void **state)
{
	struct fixture *f = *state;
	char path[512];

	put(f, "three.yaml",
	    "extends: cis\n"
	    "audit:\n"
	    "  max_age: 0\n"
	    "kernel:\n"
	    "  parameters+:\n"
	    "    - { key: net/ipv4/ip_forward, value: \"1\" }\n"
	    "network_policies:\n"
	    "  namespaces: [default, Bad_NS]\n", path, sizeof(path));
	load_bad(f, path, 3);
	diag_is(f, path, 3, 12, "audit.max_age: ");
	diag_is(f, path, 6, 14, "kernel.parameters[6].key: ");
	diag_is(f, path, 8, 25, "network_policies.namespaces[1]: ");
}

static void test_profile_diag_schema_positions(void **state)
{
	struct fixture *f = *state;
	char path[512];

	put(f, "schema.yaml",
	    "role: agnet\n"
	    "audit:\n"
	    "  maxage: 3\n"
	    "  enabled: yes\n", path, sizeof(path));
	load_bad(f, path, 3);
	diag_is(f, path, 1, 7, "role: expected one of server|agent|auto");
	diag_is(f, path, 3, 3, "audit.maxage: unknown key");
	diag_is(f, path, 4, 12, "audit.enabled: expected true or false");
}

static void test_profile_diag_in_parent(void **state)
{
	struct fixture *f = *state;
	char child[512], parent[512];

	put(f, "parent.yaml", "extends: cis\nretention: 0\n", parent, sizeof(parent));
	put(f, "kid.yaml", "extends: parent.yaml\nnetwork_policies: { namespaces: [x_y] }\n",
	    child, sizeof(child));
	load_bad(f, child, 2);
	diag_is(f, parent, 2, 12, "retention: ");
	diag_is(f, child, 2, 34, "network_policies.namespaces[0]: ");
}

static void test_profile_diag_yaml(void **state)
{
	struct fixture *f = *state;
	char path[512];

	put(f, "dup.yaml", "role: server\nrole: agent\n", path, sizeof(path));
	load_bad(f, path, 1);
	assert_int_equal(f->d.v[0].line, 2);
	assert_int_equal(f->d.v[0].col, 1);
	diag_has(f, "duplicate key");
	diags_free(&f->d);

	put(f, "alias.yaml", "x: &a [1]\nnetwork_policies: { namespaces: *a }\n", path, sizeof(path));
	load_bad(f, path, 1);
	diag_is(f, path, 2, 33, "aliases (*a) are not allowed");
	diags_free(&f->d);

	put(f, "list.yaml", "# a list\n- role: server\n", path, sizeof(path));
	load_bad(f, path, 1);
	diag_is(f, path, 2, 1, "a profile is a mapping");
	diags_free(&f->d);

	put(f, "empty.yaml", "", path, sizeof(path));
	load_bad(f, path, 1);
	diag_is(f, path, 1, 1, "empty document");
	diags_free(&f->d);

	put(f, "plus.yaml", "audit+: [1]\n", path, sizeof(path));
	load_bad(f, path, 1);
	diag_is(f, path, 1, 1, "audit: '+' appends to a list");
}

static void test_profile_kernel_defaults(void **state)
{
	struct fixture *f = *state;
	char path[512];

	put(f, "kern.yaml",
	    "kernel:\n"
	    "  protect_kernel_defaults: true\n"
	    "  parameters:\n"
	    "    - { key: vm.overcommit_memory, value: \"0\" }\n", path, sizeof(path));
	/* one mismatch; the five missing in one line, not five alike */
	load_bad(f, path, 2);
	diag_is(f, path, 4, 43, "kernel.parameters[0].value: protect_kernel_defaults needs vm.overcommit_memory=1");
	diag_is(f, path, 4, 5, "kernel.parameters: protect_kernel_defaults needs vm.panic_on_oom=0, "
		"kernel.panic=10, kernel.panic_on_oops=1, kernel.keys.root_maxkeys=1000000 and "
		"kernel.keys.root_maxbytes=25000000, or the kubelet will not start");
}

/* ---- every problem at once, in order ---- */

/* The diagnostics are exactly these lines and columns, in this order. */
static void diags_in_order(const struct fixture *f, const unsigned (*pos)[2], size_t n)
{
	size_t i;

	assert_int_equal(f->d.n, n);
	for (i = 0; i < n; i++) {
		if (f->d.v[i].line == pos[i][0] && f->d.v[i].col == pos[i][1])
			continue;
		for (i = 0; i < f->d.n; i++) {
			char *t = diag_format(&f->d.v[i]);

			fprintf(stderr, "diagnostic: %s\n", t ? t : "?");
			free(t);
		}
		fail_msg("diagnostic %zu is not at %u:%u", i, pos[i][0], pos[i][1]);
	}
}

static void test_profile_all_at_once(void **state)
{
	static const unsigned want[][2] = { { 3, 10 }, { 4, 12 }, { 5, 12 }, { 7, 11 } };
	struct fixture *f = *state;
	char path[512];

	/* issue 9 item 8: the enum error used to hide the other three */
	put(f, "p.yaml",
	    "extends: cis\n"
	    "audit:\n"
	    "  level: request\n"
	    "  max_age: 0\n"
	    "retention: 0\n"
	    "restart:\n"
	    "  settle: 5 minutes\n", path, sizeof(path));
	load_bad(f, path, 4);
	diags_in_order(f, want, 4);
	diag_is(f, path, 3, 10, "audit.level: expected one of None|Metadata|Request|RequestResponse");
	diag_is(f, path, 4, 12, "audit.max_age: 0 days is outside 1 to 3650");
	diag_is(f, path, 5, 12, "retention: 0 generations is outside 1 to 1000");
	diag_is(f, path, 7, 11, "restart.settle: '5 minutes' is not a duration");
}

static void test_profile_unknown_key_hides_nothing(void **state)
{
	static const unsigned want[][2] = { { 2, 1 }, { 3, 12 }, { 5, 3 }, { 6, 12 }, { 8, 16 } };
	struct fixture *f = *state;
	char path[512];

	put(f, "u.yaml",
	    "extends: cis\n"
	    "retension: 3\n"
	    "retention: 0\n"
	    "audit:\n"
	    "  maxage: 3\n"
	    "  max_age: 0\n"
	    "network_policies:\n"
	    "  namespaces: [X]\n", path, sizeof(path));
	load_bad(f, path, 5);
	diags_in_order(f, want, 5);
	diag_is(f, path, 2, 1, "retension: unknown key; did you mean 'retention'?");
	diag_is(f, path, 5, 3, "audit.maxage: unknown key; did you mean 'max_age'?");
}

/* A problem in a list entry drops the list for the meaning checks, so it
 * brings no follow-on noise, and the rest is still checked. */
static void test_profile_schema_error_no_noise(void **state)
{
	struct fixture *f = *state;
	char path[512];

	put(f, "n.yaml",
	    "extends: cis\n"
	    "kernel:\n"
	    "  parameters:\n"
	    "    - { value: \"1\" }\n"
	    "retention: ten\n"
	    "restart:\n"
	    "  settle: [1]\n"
	    "  job_timeout: forever\n", path, sizeof(path));
	/* not: "protect_kernel_defaults needs ...", "retention: 0 generations",
	 * "restart.settle: missing" */
	load_bad(f, path, 4);
	diag_is(f, path, 4, 7, "kernel.parameters[0].key: missing required key");
	diag_is(f, path, 5, 12, "retention: expected a whole number");
	diag_is(f, path, 7, 11, "restart.settle: expected a scalar, found a list");
	diag_is(f, path, 8, 16, "restart.job_timeout: 'forever' is not a duration");
}

/* Files in the order they are merged: the parent's problems first. */
static void test_profile_order_parent_first(void **state)
{
	struct fixture *f = *state;
	char child[512], parent[512];

	put(f, "par.yaml", "extends: cis\n\n\nretention: 0\n", parent, sizeof(parent));
	put(f, "kid.yaml", "retention: 0\nextends: par.yaml\n", child, sizeof(child));
	load_bad(f, child, 1);
	diags_free(&f->d);
	put(f, "kid.yaml", "audit: { level: x }\nextends: par.yaml\n", child, sizeof(child));
	load_bad(f, child, 2);
	assert_string_equal(f->d.v[0].file, parent);
	assert_string_equal(f->d.v[1].file, child);
}

/* ---- messages an operator can act on ---- */

static void test_profile_did_you_mean(void **state)
{
	struct fixture *f = *state;
	char path[512];

	put(f, "t.yaml",
	    "extends: cis\n"
	    "pod_security:\n"
	    "  exemptions:\n"
	    "    namespace+: [longhorn-system]\n"
	    "  enalbed: true\n"
	    "zzz: 1\n", path, sizeof(path));
	load_bad(f, path, 3);
	diag_is(f, path, 4, 5, "pod_security.exemptions.namespace+: unknown key; did you mean 'namespaces+'?");
	/* a swap of two letters is one edit */
	diag_is(f, path, 5, 3, "pod_security.enalbed: unknown key; did you mean 'enabled'?");
	/* nothing close: no guess */
	diag_is(f, path, 6, 1, "zzz: unknown key");
	assert_null(strstr(f->d.v[2].msg, "did you mean"));
}

static void test_profile_tab_indent(void **state)
{
	struct fixture *f = *state;
	char path[512];

	put(f, "tab.yaml", "audit:\n\tenabled: true\n", path, sizeof(path));
	load_bad(f, path, 1);
	diag_is(f, path, 2, 1, "invalid YAML: tabs are not allowed in YAML indentation");
	diags_free(&f->d);
	put(f, "tab2.yaml", "audit:\n  enabled: true\n \tmax_age: 3\n", path, sizeof(path));
	load_bad(f, path, 1);
	diag_has(f, "tabs are not allowed in YAML indentation");
}

static void test_profile_extends_missing_clean(void **state)
{
	struct fixture *f = *state;
	char path[512], want[600];

	put(f, "dot.yaml", "extends: ././/gone.yaml\n", path, sizeof(path));
	load_bad(f, path, 1);
	snprintf(want, sizeof(want), "extends: cannot open profile '%s/gone.yaml': ", f->dir);
	diag_is(f, path, 1, 10, want);
}

/* `-p site` with site.yaml beside it: refused, with the way to name the file. */
static void test_profile_name_beside_file(void **state)
{
	struct fixture *f = *state;
	struct profile_doc *doc = NULL;
	char cwd[4096];
	int r;

	put(f, "site.yaml", "extends: cis\n", NULL, 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	r = profile_load("site", &doc, &f->d);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(r, -EINVAL);
	assert_null(doc);
	assert_int_equal(f->d.n, 1);
	diag_has(f, "unknown profile 'site' (built-in: ");
	diag_has(f, "; to use the file, write './site.yaml'");
}

/* ---- profile show reloads to the same dump ---- */

static void test_profile_dump_reloads(void **state)
{
	static const char *const names[] = { "base", "cis", "cis-agent" };
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct buf one = BUF_INIT, two = BUF_INIT;
		struct profile_doc *doc = NULL;
		char rel[64], path[512];

		assert_int_equal(profile_load(names[i], &doc, &f->d), 0);
		assert_int_equal(profile_dump(doc, &one), 0);
		profile_doc_free(doc);
		doc = NULL;
		/* under another file name, so the name comes from the dump */
		snprintf(rel, sizeof(rel), "shown-%zu.yaml", i);
		put(f, rel, one.data, path, sizeof(path));
		assert_int_equal(profile_load(path, &doc, &f->d), 0);
		assert_int_equal(f->d.n, 0);
		assert_int_equal(profile_dump(doc, &two), 0);
		assert_string_equal(one.data, two.data);
		profile_doc_free(doc);
		buf_free(&one);
		buf_free(&two);
	}
}

/* ---- extends: cis picks its base for the K3s version ---- */

static char picked_for[32];

/* a stub of k3s_pick_profile: 1.24 is PodSecurityPolicy, the rest PSA */
static int pick_stub(const char *v, const char **name)
{
	snprintf(picked_for, sizeof(picked_for), "%s", v ? v : "");
	*name = v && strcmp(v, "1.24") == 0 ? "k3s-cis-1.24" : "k3s-cis-1.11";
	return 0;
}

static void test_profile_extends_cis_picks(void **state)
{
	struct fixture *f = *state;
	struct profile_load_opts o = { "1.24", false, pick_stub };
	char path[512];

	put(f, "ninety.yaml", "extends: cis\naudit:\n  max_age: 90\n", path, sizeof(path));
	assert_int_equal(profile_load_with(path, &o, &f->doc, &f->d), 0);
	assert_int_equal(f->d.n, 0);
	assert_string_equal(f->doc->cis_base, "k3s-cis-1.24");
	assert_string_equal(f->doc->cis_version, "1.24");
	assert_string_equal(f->doc->p->benchmark, "k3s-cis-1.24");
	assert_false(f->doc->p->pod_security->enabled);
	assert_true(f->doc->p->pod_security_policy->enabled);
	assert_int_equal(f->doc->p->audit->max_age, 90);
	profile_doc_free(f->doc);
	f->doc = NULL;
	/* without a version nothing is picked; cis is read, and the doc says so */
	assert_int_equal(profile_load(path, &f->doc, &f->d), 0);
	assert_string_equal(f->doc->cis_base, "cis");
	assert_false(f->doc->cis_picked);
	assert_string_equal(f->doc->p->benchmark, "auto");
}

static void test_profile_extends_cis_own_version(void **state)
{
	struct fixture *f = *state;
	struct profile_load_opts o = { NULL, false, pick_stub };
	char path[512];

	/* the outermost file's k3s_version picks, as it wins the merge */
	put(f, "mid.yaml", "extends: cis\nk3s_version: \"1.30\"\n", NULL, 0);
	put(f, "top.yaml", "extends: ./mid.yaml\nk3s_version: \"1.24\"\n", path, sizeof(path));
	picked_for[0] = '\0';
	if (profile_load_with(path, &o, &f->doc, &f->d) < 0 && f->d.n)
		fail_msg("%s", f->d.v[0].msg);
	assert_int_equal(f->d.n, 0);
	assert_string_equal(picked_for, "1.24");
	assert_string_equal(f->doc->cis_base, "k3s-cis-1.24");
}

static void test_profile_extends_cis_key_off_in_base(void **state)
{
	struct fixture *f = *state;
	struct profile_load_opts o = { "1.24", false, pick_stub };
	struct profile_doc *doc = NULL;
	char path[512];

	put(f, "psa.yaml", "extends: cis\npod_security:\n  defaults:\n    enforce: baseline\n", path,
	    sizeof(path));
	assert_int_equal(profile_load_with(path, &o, &doc, &f->d), -EINVAL);
	assert_null(doc);
	assert_int_equal(f->d.n, 1);
	assert_int_equal(f->d.v[0].line, 4);
	assert_int_equal(f->d.v[0].col, 5);
	assert_string_equal(f->d.v[0].field, "pod_security.defaults.enforce");
	diag_has(f, "extends: cis picked k3s-cis-1.24 for K3s 1.24");
	diags_free(&f->d);
	/* the same key where the picked base has PSA on */
	o.k3s_version = "1.30";
	assert_int_equal(profile_load_with(path, &o, &f->doc, &f->d), 0);
	assert_string_equal(f->doc->cis_base, "k3s-cis-1.11");
}

/* The old validator names still work for code that uses them. */
static void test_profile_validator_old_names(void **state)
{
	(void)state;
	assert_true(is_dns1123_label("kube-system"));
	assert_false(is_sysctl_key("net/ipv4"));
	assert_true(is_abs_path("/etc/x"));
	assert_true(is_duration("5m"));
	assert_true(is_control_id("1.2.16"));
	assert_int_equal(duration_ms("1m"), 60000);
}

#define T(name) cmocka_unit_test_setup_teardown(test_profile_##name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(builtin_base),
		T(builtin_cis),
		T(builtin_cis_agent),
		T(builtin_names),
		T(unknown_builtin),
		T(dump),
		T(extends_scalar_override),
		T(extends_map_deep),
		T(extends_list_replaced),
		T(extends_list_append),
		T(extends_nested_append),
		T(extends_relative_chain),
		T(extends_cycle_self),
		T(extends_cycle_ab),
		T(extends_missing),
		T(diag_validation_positions),
		T(diag_schema_positions),
		T(diag_in_parent),
		T(diag_yaml),
		T(kernel_defaults),
		T(all_at_once),
		T(unknown_key_hides_nothing),
		T(schema_error_no_noise),
		T(order_parent_first),
		T(did_you_mean),
		T(tab_indent),
		T(extends_missing_clean),
		T(name_beside_file),
		T(dump_reloads),
		T(extends_cis_picks),
		T(extends_cis_own_version),
		T(extends_cis_key_off_in_base),
		T(validator_old_names),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
