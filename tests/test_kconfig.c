/*
 * Merging the K3s configuration: only our keys and list entries change,
 * every other byte stays; the effective configuration across config.yaml
 * and config.yaml.d is checked for overrides.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "k3s_version.h"
#include "kconfig.h"
#include "render.h"

struct fx {
	struct profile_doc *doc;
	struct k3s_model m;
	char *fresh;
	size_t fresh_len;
	struct diags d, w;
	struct buf out;
};

static int setup_profile_role(void **state, const char *name, enum profile_role role)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct render_opts ro = { NULL, role };
	struct artifacts arts = { NULL, 0, 0 };
	size_t i;

	if (!f || profile_load(name, &f->doc, &f->d) < 0)
		return -1;
	/* the guide's 1.25 - 1.28 values, IDs of k3s-cis-1.9 (these tests are about the merge) */
	if (k3s_env_apply(f->doc->p, "1.27", NULL, &f->d, &f->d) < 0)
		return -1;
	if (k3s_model_build(f->doc->p, role, &f->m) < 0)
		return -1;
	if (render_profile(f->doc->p, &ro, &arts, &f->d) < 0)
		return -1;
	for (i = 0; i < arts.n; i++)
		if (strstr(arts.v[i].path, "/etc/rancher/k3s/config.yaml")) {
			f->fresh = strdup(arts.v[i].data);
			f->fresh_len = arts.v[i].len;
		}
	artifacts_free(&arts);
	*state = f;
	return f->fresh ? 0 : -1;
}

static int setup_profile(void **state, const char *name)
{
	return setup_profile_role(state, name, ROLE_SERVER);
}

static int setup(void **state)
{
	return setup_profile(state, "cis");
}

static int setup_agent(void **state)
{
	return setup_profile_role(state, "cis", ROLE_AGENT);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	k3s_model_free(&f->m);
	profile_doc_free(f->doc);
	free(f->fresh);
	diags_free(&f->d);
	diags_free(&f->w);
	buf_free(&f->out);
	free(f);
	ynode_intern_free();
	return 0;
}

static void show_diags(const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);

		print_error("%s\n", s);
		free(s);
	}
}

static const char *merge(struct fx *f, const char *old, bool exists)
{
	int r;

	buf_reset(&f->out);
	r = kconfig_merge("config.yaml", old, strlen(old), exists, &f->m, f->fresh,
			  f->fresh_len, &f->out, &f->d, &f->w);
	if (r < 0)
		show_diags(&f->d);
	assert_int_equal(r, 0);
	return f->out.data;
}

/* The merged text is what K3s needs and merging it again changes nothing. */
static void assert_effective_and_stable(struct fx *f, const char *merged)
{
	struct kconfig_file file = { "config.yaml", merged, strlen(merged), true };
	char *copy = strdup(merged);

	if (kconfig_check_effective(&file, 1, &f->m, &f->d, &f->w) < 0) {
		show_diags(&f->d);
		fail();
	}
	assert_string_equal(merge(f, copy, true), copy);
	free(copy);
}

static void test_kconfig_missing_file_is_fresh(void **state)
{
	struct fx *f = *state;

	assert_string_equal(merge(f, "", false), f->fresh);
	assert_string_equal(merge(f, "", true), f->fresh);
}

static void test_kconfig_comments_only_kept(void **state)
{
	struct fx *f = *state;
	const char *out = merge(f, "# my notes\n# more", true);

	assert_true(strncmp(out, "# my notes\n# more\n", 18) == 0);
	assert_string_equal(out + 18, f->fresh);
}

static const char user_config[] =
	"# K3s server, managed by hand\n"
	"token: \"K10secret::server:abc\"   # the cluster token\n"
	"tls-san:\n"
	"  - k3s.example.com   # load balancer\n"
	"  - 10.0.0.5\n"
	"node-label: ['zone=a', \"rack=7\"]\n"
	"secrets-encryption: false\n"
	"\n"
	"kube-apiserver-arg:\n"
	"    - 'audit-log-path=/tmp/audit.log'   # old location\n"
	"    - \"--default-not-ready-toleration-seconds=30\"\n"
	"    - enable-admission-plugins=AlwaysPullImages\n"
	"    - audit-log-maxage=5\n"
	"write-kubeconfig-mode: \"0600\"\n"
	"kubelet-arg:\n"
	"- max-pods=250\n"
	"- make-iptables-util-chains=false\n";

static const char user_expected[] =
	"# K3s server, managed by hand\n"
	"token: \"K10secret::server:abc\"   # the cluster token\n"
	"tls-san:\n"
	"  - k3s.example.com   # load balancer\n"
	"  - 10.0.0.5\n"
	"node-label: ['zone=a', \"rack=7\"]\n"
	"secrets-encryption: true\n"
	"\n"
	"kube-apiserver-arg:\n"
	"    - 'audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log'   # old location\n"
	"    - \"--default-not-ready-toleration-seconds=30\"\n"
	"    - enable-admission-plugins=NodeRestriction,EventRateLimit,AlwaysPullImages\n"
	"    - audit-log-maxage=30\n"
	"    - admission-control-config-file=/var/lib/rancher/k3s/server/psa.yaml  # CIS 5.2.1, 1.2.9\n"
	"    - audit-policy-file=/var/lib/rancher/k3s/server/audit.yaml  # CIS 3.2.1\n"
	"    - audit-log-maxbackup=10  # CIS 1.2.18\n"
	"    - audit-log-maxsize=100  # CIS 1.2.19\n"
	"    - request-timeout=300s  # CIS 1.2.20\n"
	"    - service-account-lookup=true  # CIS 1.2.21\n"
	"write-kubeconfig-mode: \"0600\"\n"
	"kubelet-arg:\n"
	"- max-pods=250\n"
	"- make-iptables-util-chains=true\n"
	"- streaming-connection-idle-timeout=5m  # CIS 4.2.5\n"
	"# CIS k3s-cis-1.24:4.2.6\n"
	"protect-kernel-defaults: true\n"
	"kube-controller-manager-arg:\n"
	"  - terminated-pod-gc-threshold=10  # CIS 1.3.1\n"
	"  - use-service-account-credentials=true  # CIS 1.3.3\n";

static void test_kconfig_user_keys_untouched(void **state)
{
	struct fx *f = *state;
	const char *out = merge(f, user_config, true);

	if (strcmp(out, user_expected) != 0)
		print_error("got:\n%s", out);
	assert_string_equal(out, user_expected);
	assert_effective_and_stable(f, out);
}

static void test_kconfig_duplicate_flags_removed(void **state)
{
	struct fx *f = *state;
	const char *out = merge(f,
		"kube-apiserver-arg:\n"
		"  - request-timeout=300s\n"
		"  - profiling=false\n"
		"  - request-timeout=60s\n"
		"  - --request-timeout=1s\n", true);

	assert_non_null(strstr(out, "  - request-timeout=300s\n  - profiling=false\n  - enable-admission"));
	assert_null(strstr(out, "60s"));
	assert_null(strstr(out, "=1s"));
	assert_effective_and_stable(f, out);
}

static void test_kconfig_flow_and_scalar_lists(void **state)
{
	struct fx *f = *state;
	const char *out = merge(f,
		"kube-apiserver-arg: [profiling=false, 'audit-log-maxage=1']   # flow\n"
		"kubelet-arg: max-pods=100\n"
		"kube-controller-manager-arg:\n", true);

	/* rewritten lists become block lists under the key, its comment kept */
	assert_non_null(strstr(out, "kube-apiserver-arg: # flow\n  - profiling=false\n"
				    "  - 'audit-log-maxage=30'  # CIS 1.2.17\n"
				    "  - enable-admission-plugins=NodeRestriction,EventRateLimit  # CIS"));
	assert_non_null(strstr(out, "kubelet-arg:\n  - max-pods=100\n"
				    "  - streaming-connection-idle-timeout=5m  # CIS 4.2.5\n"
				    "  - make-iptables-util-chains=true  # CIS 4.2.6\n"));
	assert_non_null(strstr(out, "kube-controller-manager-arg:\n"
				    "  - terminated-pod-gc-threshold=10  # CIS 1.3.1\n"));
	assert_effective_and_stable(f, out);
}

static void test_kconfig_not_a_mapping(void **state)
{
	struct fx *f = *state;

	buf_reset(&f->out);
	assert_int_equal(kconfig_merge("config.yaml", "- a\n- b\n", 8, true, &f->m, f->fresh,
				       f->fresh_len, &f->out, &f->d, &f->w), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_int_equal(f->d.v[0].line, 1);
	assert_non_null(strstr(f->d.v[0].msg, "must be a mapping"));
	assert_int_equal(kconfig_merge("config.yaml", "key: [unclosed\n", 15, true, &f->m, f->fresh,
				       f->fresh_len, &f->out, &f->d, &f->w), -EINVAL);
	assert_int_equal(kconfig_merge("config.yaml", "kube-apiserver-arg: {a: b}\n", 27, true, &f->m,
				       f->fresh, f->fresh_len, &f->out, &f->d, &f->w), -EINVAL);
}

static void test_kconfig_anchors(void **state)
{
	struct fx *f = *state;
	const char *out = merge(f,
		"common: &args\n"
		"  - profiling=false\n"
		"secrets-encryption: &se false\n"
		"kube-apiserver-arg: *args\n"
		"other: *se\n"
		"more: *se\n", true);

	/* the alias becomes an explicit list; the anchor and its users stay */
	assert_non_null(strstr(out, "common: &args\n  - profiling=false\n"));
	assert_non_null(strstr(out, "kube-apiserver-arg:\n  - profiling=false\n  - enable-admission-plugins="));
	/* our value is ours alone: the anchor moves to its first user */
	assert_non_null(strstr(out, "secrets-encryption: true\n"));
	assert_non_null(strstr(out, "other: &se false\nmore: *se\n"));
	assert_effective_and_stable(f, out);
}

static void test_kconfig_anchored_block_list_refused(void **state)
{
	struct fx *f = *state;
	const char *in = "kubelet-arg: &a\n  - max-pods=10\nkube-proxy-arg: *a\n";

	buf_reset(&f->out);
	assert_int_equal(kconfig_merge("config.yaml", in, strlen(in), true, &f->m, f->fresh,
				       f->fresh_len, &f->out, &f->d, &f->w), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_int_equal(f->d.v[0].line, 1);
	assert_non_null(strstr(f->d.v[0].msg, "anchored as &a is reused by *a on line 3"));
}

/* Byte offsets, not characters: text before a managed key in any script. */
static void test_kconfig_multibyte_text(void **state)
{
	static const char *const heads[] = {
		"# 클러스터 설정 — 운영팀 관리\n", "# 本番クラスタ\n", "# Cluster Zürich\n",
		"\xef\xbb\xbf# mit BOM: Grüße\n", "node-label: [\"zone=東京\"]\n",
		"\"ключ\": значение\n",
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		char in[512];
		const char *out;

		snprintf(in, sizeof(in), "%stoken: K10abc::server:xyz\ntls-san: [\"k3s.예제.internal\"]\n"
			 "secrets-encryption: false\nkube-apiserver-arg:\n  - request-timeout=300s\n"
			 "  - oidc-issuer-url=https://예제.internal\n  - request-timeout=300s\n", heads[i]);
		out = merge(f, in, true);
		assert_true(strncmp(out, heads[i], strlen(heads[i])) == 0);
		assert_non_null(strstr(out, "\ntoken: K10abc::server:xyz\ntls-san: [\"k3s.예제.internal\"]\n"
					    "secrets-encryption: true\nkube-apiserver-arg:\n"
					    "  - request-timeout=300s\n  - oidc-issuer-url=https://예제.internal\n"
					    "  - enable-admission-plugins="));
		assert_effective_and_stable(f, out);
	}
}

static void test_kconfig_empty_and_null_values(void **state)
{
	struct fx *f = *state;
	const char *out;

	out = merge(f, "secrets-encryption:\ntoken: x\n", true);
	assert_true(strncmp(out, "secrets-encryption: true\ntoken: x\n", 34) == 0);
	assert_effective_and_stable(f, out);
	out = merge(f, "protect-kernel-defaults:   # ours\ntoken: x\n", true);
	assert_true(strncmp(out, "protect-kernel-defaults: true   # ours\ntoken: x\n", 48) == 0);
	assert_effective_and_stable(f, out);
	/* null, ~ and [] lists are empty lists, never an argument "~" */
	out = merge(f, "kubelet-arg: ~\nkube-controller-manager-arg: []\nkube-apiserver-arg: null\n", true);
	assert_null(strstr(out, "'~'"));
	assert_null(strstr(out, "null"));
	assert_non_null(strstr(out, "kubelet-arg:\n  - streaming-connection-idle-timeout=5m"));
	assert_non_null(strstr(out, "kube-controller-manager-arg:\n  - terminated-pod-gc-threshold=10"));
	assert_effective_and_stable(f, out);
}

static void test_kconfig_block_scalars(void **state)
{
	struct fx *f = *state;
	const char *out;

	out = merge(f, "secrets-encryption: |\n  false\ntoken: x\n", true);
	assert_true(strncmp(out, "secrets-encryption: true\ntoken: x\n", 34) == 0);
	assert_effective_and_stable(f, out);
	out = merge(f, "kubelet-arg:\n  - max-pods=10\n  - |\n    node-status-max-images=5\ntoken: x\n", true);
	assert_non_null(strstr(out, "  - |\n    node-status-max-images=5\n"
				    "  - streaming-connection-idle-timeout=5m  # CIS 4.2.5\n"));
	assert_non_null(strstr(out, "make-iptables-util-chains=true  # CIS 4.2.6\ntoken: x\n"));
	assert_effective_and_stable(f, out);
}

/* The dash is found behind an entry that itself starts with dashes. */
static void test_kconfig_dashed_entries_indent(void **state)
{
	struct fx *f = *state;
	const char *out = merge(f, "kubelet-arg:\n    - --max-pods=200\n", true);

	assert_true(strncmp(out, "kubelet-arg:\n    - --max-pods=200\n"
			    "    - streaming-connection-idle-timeout=5m  # CIS 4.2.5\n", 89) == 0);
	assert_effective_and_stable(f, out);
}

/* The first item's value on the line after its dash, with a comment that
 * ends in '-' between them: new entries take the dash's indentation, not
 * the comment's last character's (a fuzz finding, once refused as a bug). */
static void test_kconfig_item_after_dash_comment(void **state)
{
	struct fx *f = *state;
	const char *out = merge(f, "kubelet-arg:\n  - # note-\n    --max-pods=200\n"
				"kube-apiserver-arg:\n- # etc/rancher-\n\n  # more\n  request-timeout=60s", true);

	assert_non_null(strstr(out, "kubelet-arg:\n  - # note-\n    --max-pods=200\n"
			       "  - streaming-connection-idle-timeout=5m  # CIS 4.2.5\n"));
	assert_non_null(strstr(out, "\n- audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log  # CIS 1.2.16\n"));
	assert_effective_and_stable(f, out);
}

/* A setting marked on the line above, after a list of ours that goes: the
 * mark is the setting's, not the list's (libyaml ends the list at the next
 * key), so it goes in the first merge, not in the second (a fuzz finding). */
static void test_kconfig_mark_after_removed_list(void **state)
{
	struct fx *f = *state;
	const char *out = merge(f, "kube-scheduler-arg:\n- f # CIS 1\n# CIS 1\nt: b\nmine: 1\n", true);

	assert_null(strstr(out, "kube-scheduler-arg"));
	assert_null(strstr(out, "t: b"));
	assert_true(strncmp(out, "mine: 1\n", 8) == 0);
	assert_effective_and_stable(f, out);
	/* a list of ours emptied to [] keeps the user's comment after it */
	out = merge(f, "kube-scheduler-arg:  # mine\n  - profiling=false  # CIS 1.4.1\n"
		    "# my note about token\ntoken: abc\n", true);
	assert_true(strncmp(out, "kube-scheduler-arg: []  # mine\n# my note about token\ntoken: abc\n", 64) == 0);
	assert_effective_and_stable(f, out);
}

/* A scalar made a block list above a blank or comment line with a tab in
 * its indentation (libyaml would refuse the list): that line loses its
 * blanks, nothing else changes (a fuzz finding, once refused as a bug). */
static void test_kconfig_tab_below_rewritten_list(void **state)
{
	struct fx *f = *state;
	const char *out = merge(f, "kubelet-arg: max-pods=10\n \t\n# note\ntoken: x\n", true);

	assert_true(strncmp(out, "kubelet-arg:\n  - max-pods=10\n  - ", 33) == 0);
	assert_non_null(strstr(out, "  # CIS 4.2.6\n\n# note\ntoken: x\n"));
	assert_null(strchr(out, '\t'));
	assert_effective_and_stable(f, out);
	out = merge(f, "kubelet-arg: max-pods=10\n \t", true);
	assert_null(strchr(out, '\t'));
	assert_effective_and_stable(f, out);
	/* without a tab the blank lines stay as they are */
	out = merge(f, "kubelet-arg: max-pods=10\n  \ntoken: x\n", true);
	assert_non_null(strstr(out, "  # CIS 4.2.6\n  \ntoken: x\n"));
	assert_effective_and_stable(f, out);
}

/* The guide's spelling, "--flag=value" in quotes, is K3s's flag=value: an
 * entry that says what we want stays as written (trial finding: every
 * guide line showed as changed) */
static void test_kconfig_dashed_same_value_kept(void **state)
{
	struct fx *f = *state;
	const char *out = merge(f, "kube-apiserver-arg:\n  - \"--audit-log-maxage=30\"\n"
				"  - --request-timeout=300s\n  - \"--audit-log-maxsize=50\"\n", true);

	assert_true(strncmp(out, "kube-apiserver-arg:\n  - \"--audit-log-maxage=30\"\n"
			    "  - --request-timeout=300s\n", 63) == 0);
	/* a different value is still ours to set */
	assert_non_null(strstr(out, "  - \"audit-log-maxsize=100\"\n"));
	assert_effective_and_stable(f, out);
}

static void test_kconfig_where_new_keys_go(void **state)
{
	struct fx *f = *state;
	const char *out;

	out = merge(f, "token: x\n# the end\n...\n", true);
	assert_true(strncmp(out, "token: x\n# the end\n# CIS", 24) == 0);
	assert_non_null(strstr(out, "  - make-iptables-util-chains=true  # CIS 4.2.6\n...\n"));
	assert_effective_and_stable(f, out);
	out = merge(f, "  token: x\n  tls-san: [a]\n", true);
	assert_non_null(strstr(out, "  tls-san: [a]\n  # CIS"));
	assert_non_null(strstr(out, "\n  kubelet-arg:\n    - streaming-connection-idle-timeout=5m"));
	assert_effective_and_stable(f, out);
	out = merge(f, "{token: x, tls-san: [a]}\n", true);
	assert_true(strncmp(out, "{token: x, tls-san: [a], protect-kernel-defaults: true, ", 56) == 0);
	assert_non_null(strstr(out, "kubelet-arg: [streaming-connection-idle-timeout=5m, "
				    "make-iptables-util-chains=true]}\n"));
	assert_effective_and_stable(f, out);
}

static void test_kconfig_line_breaks_kept(void **state)
{
	struct fx *f = *state;
	const char *out;

	out = merge(f, "token: x\r\nkubelet-arg:\r\n  - max-pods=10\r\n", true);
	assert_null(strstr(out, "\n\n"));
	assert_null(strstr(out, "\r\r"));
	assert_true(strncmp(out, "token: x\r\nkubelet-arg:\r\n  - max-pods=10\r\n"
			    "  - streaming-connection-idle-timeout=5m  # CIS 4.2.5\r\n", 96) == 0);
	for (const char *p = strchr(out, '\n'); p; p = strchr(p + 1, '\n'))
		assert_int_equal(p[-1], '\r');
	assert_effective_and_stable(f, out);
	out = merge(f, "token: x\rkubelet-arg:\r  - max-pods=10\r", true);
	assert_null(strchr(out, '\n'));
	assert_true(strncmp(out, "token: x\rkubelet-arg:\r  - max-pods=10\r"
			    "  - streaming-connection-idle-timeout=5m  # CIS 4.2.5\r", 92) == 0);
	assert_effective_and_stable(f, out);
}

static void test_kconfig_plus_keys(void **state)
{
	struct fx *f = *state;
	const char *out;

	/* the user's own `key+:` receives our entries: no plain key after it */
	out = merge(f, "kube-apiserver-arg+:\n  - oidc-client-id=k8s\n", true);
	assert_non_null(strstr(out, "kube-apiserver-arg+:\n  - oidc-client-id=k8s\n"
				    "  - enable-admission-plugins="));
	assert_null(strstr(out, "\nkube-apiserver-arg:"));
	assert_effective_and_stable(f, out);
	/* plain, then +: both are read; a duplicate in the later one goes */
	out = merge(f, "kube-apiserver-arg:\n- audit-log-maxage=1\nkube-apiserver-arg+: [audit-log-maxage=2, b=1]\n",
		    true);
	assert_non_null(strstr(out, "kube-apiserver-arg:\n- audit-log-maxage=30\n"));
	assert_non_null(strstr(out, "kube-apiserver-arg+:\n  - b=1\n  - enable-admission-plugins="));
	assert_null(strstr(out, "maxage=2"));
	assert_effective_and_stable(f, out);
	/* a plain key after +: replaces it; the + list is left as it is */
	out = merge(f, "kube-apiserver-arg+:\n- x=1\nkube-apiserver-arg:\n- y=2\n", true);
	assert_non_null(strstr(out, "kube-apiserver-arg+:\n- x=1\nkube-apiserver-arg:\n- y=2\n- enable-admission"));
	assert_effective_and_stable(f, out);
}

static void test_kconfig_meaning_not_spelling(void **state)
{
	struct fx *f = *state;
	const char *in = "protect-kernel-defaults: yes\nsecrets-encryption: On\n";
	const char *out = merge(f, in, true);

	assert_true(strncmp(out, in, strlen(in)) == 0);
	assert_effective_and_stable(f, out);
	/* a quoted "yes" is a string: K3s's flag parser refuses it */
	out = merge(f, "protect-kernel-defaults: \"yes\"\n", true);
	assert_true(strncmp(out, "protect-kernel-defaults: true\n", 30) == 0);
}

static void test_kconfig_no_trailing_newline(void **state)
{
	struct fx *f = *state;
	const char *out = merge(f, "kubelet-arg:\n  - max-pods=10", true);

	assert_non_null(strstr(out, "kubelet-arg:\n  - max-pods=10\n  - streaming-connection-idle-timeout=5m"));
	assert_effective_and_stable(f, out);
}

static void check_fails(struct fx *f, const struct kconfig_file *files, size_t n,
			const char *file, unsigned line, const char *what)
{
	size_t i;

	assert_int_equal(kconfig_check_effective(files, n, &f->m, &f->d, &f->w), -EINVAL);
	for (i = 0; i < f->d.n; i++)
		if (strcmp(f->d.v[i].file, file) == 0 && f->d.v[i].line == line &&
		    strstr(f->d.v[i].msg, what))
			return;
	show_diags(&f->d);
	fail();
}

static void test_kconfig_disable_admission_plugins(void **state)
{
	struct fx *f = *state;
	const char *out;
	const char *in;

	/* our plugins leave the user's disable list, the rest of it stays */
	out = merge(f, "kube-apiserver-arg:\n  - disable-admission-plugins=NodeRestriction,ServiceAccount\n", true);
	assert_non_null(strstr(out, "  - disable-admission-plugins=ServiceAccount\n"));
	assert_effective_and_stable(f, out);
	/* a list of nothing but ours goes */
	out = merge(f, "kube-apiserver-arg:\n  - a=1\n  - --disable-admission-plugins=EventRateLimit\n", true);
	assert_null(strstr(out, "disable-admission-plugins"));
	assert_non_null(strstr(out, "kube-apiserver-arg:\n  - a=1\n  - enable-admission-plugins="));
	assert_effective_and_stable(f, out);
	/* a later drop-in that disables ours is refused, naming its place */
	in = "kube-apiserver-arg+:\n  - disable-admission-plugins=NodeRestriction\n";
	{
		struct kconfig_file files[2] = {
			{ "config.yaml", NULL, 0, true },
			{ "config.yaml.d/50-site.yaml", in, strlen(in), false },
		};

		out = merge(f, "token: x\n", true);
		files[0].data = out;
		files[0].len = strlen(out);
		check_fails(f, files, 2, "config.yaml.d/50-site.yaml", 2, "both enabled and disabled");
	}
}

/* Our own entries (marked "# CIS"): a plugin k3s-harden added and this
 * profile does not enable goes, the user's own plugins stay, the comment
 * names this profile's controls, and an entry for a flag the profile no
 * longer sets goes; a user's entry (no mark) keeps everything. */
static void test_kconfig_own_entries_follow_profile(void **state)
{
	struct fx *f = *state;
	const char *out;

	out = merge(f, "kube-apiserver-arg:\n"
		    "  - enable-admission-plugins=NodeRestriction,MyPlugin,AlwaysPullImages,EventRateLimit  # CIS 9.9.9\n"
		    "  - audit-log-maxage=30  # CIS 0.0.1\n"
		    "  - old-flag=1  # CIS 1.2.99\n"
		    "  - kept-flag=2  # my note\n", true);
	assert_non_null(strstr(out, "  - enable-admission-plugins=NodeRestriction,EventRateLimit,MyPlugin  # CIS 1."));
	assert_null(strstr(out, "AlwaysPullImages"));
	assert_null(strstr(out, "9.9.9"));
	assert_non_null(strstr(out, "  - audit-log-maxage=30  # CIS 1."));
	assert_null(strstr(out, "0.0.1"));
	assert_null(strstr(out, "old-flag"));
	assert_non_null(strstr(out, "  - kept-flag=2  # my note\n"));
	assert_effective_and_stable(f, out);
	/* the user's own entry keeps the plugins the profile does not enable */
	out = merge(f, "kube-apiserver-arg:\n  - enable-admission-plugins=NodeRestriction,AlwaysPullImages  # mine\n", true);
	assert_non_null(strstr(out, "  - enable-admission-plugins=NodeRestriction,EventRateLimit,AlwaysPullImages  # mine\n"));
	assert_effective_and_stable(f, out);
	/* a block scalar item is not ours, whatever line follows it */
	out = merge(f, "kube-apiserver-arg:\n  - |\n  - a=1  # CIS 1.2.3\n", true);
	assert_non_null(strstr(out, "  - |\n"));
	assert_effective_and_stable(f, out);
}

/* What an earlier profile wrote and this one does not set goes: our marked
 * entries of lists it writes nothing into, our marked settings; the user's
 * lines, and comments that only look like our mark, stay byte for byte. */
/* On an agent our server-only lines go but secrets-encryption: turning it
 * off on a host that is in fact a server would make the secrets stored
 * encrypted unreadable (host_server_leftovers names it instead). */
static void test_kconfig_stale_secrets_encryption_stays(void **state)
{
	struct fx *f = *state;
	const char *out = merge(f, "server: https://s:6443\n"
				"# CIS 1.2.27, 1.2.28\nsecrets-encryption: true\n"
				"kube-apiserver-arg:\n  - request-timeout=300s  # CIS 1.2.20\n", true);

	assert_true(strncmp(out, "server: https://s:6443\n# CIS 1.2.27, 1.2.28\nsecrets-encryption: true\n", 69) == 0);
	assert_null(strstr(out, "kube-apiserver-arg"));
	assert_effective_and_stable(f, out);
}

static void test_kconfig_stale_entries_go(void **state)
{
	struct fx *f = *state;
	const char *out;

	out = merge(f, "# CIS 1.1.9\n"
		    "write-kubeconfig-mode: \"0600\"\n"
		    "node-label:\n  - a=b  # CIS 1.2.3\n"
		    "kube-scheduler-arg:\n"
		    "  - profiling=false  # CIS 1.4.1\n"
		    "  - bind-address=127.0.0.1\n"
		    "  - v=2  # CIS 1.4.2 - I keep this\n"
		    "kube-proxy-arg:\n  - metrics-bind-address=127.0.0.1  # CIS k3s-cis-1.24:4.2.99\n"
		    "etcd-arg:\n  - quota-backend-bytes=1  # CIS 2.1\n  - foo=1  # cis 1.2\n"
		    "token: abc  # CIS 1.2.3, 1.2.4\n"
		    "keep1: 1  # CIS\n"
		    "keep2: 2  # CIS 1.2.3,1.2.4\n"
		    "keep3: 3  # CIS 1.2.3 \n"
		    "# CIS benchmark, section 1\n"
		    "keep4: 4\n"
		    "  # CIS 1.2.3\n"
		    "keep5: 5\n", true);
	assert_null(strstr(out, "write-kubeconfig-mode"));
	assert_null(strstr(out, "1.1.9"));
	assert_non_null(strstr(out, "node-label:\n  - a=b  # CIS 1.2.3\n"));
	assert_non_null(strstr(out, "kube-scheduler-arg:\n  - bind-address=127.0.0.1\n"
				    "  - v=2  # CIS 1.4.2 - I keep this\n"));
	assert_null(strstr(out, "profiling"));
	assert_null(strstr(out, "kube-proxy-arg"));
	assert_non_null(strstr(out, "etcd-arg:\n  - foo=1  # cis 1.2\n"));
	assert_null(strstr(out, "quota-backend-bytes"));
	assert_null(strstr(out, "token"));
	assert_non_null(strstr(out, "keep1: 1  # CIS\nkeep2: 2  # CIS 1.2.3,1.2.4\nkeep3: 3  # CIS 1.2.3 \n"
				    "# CIS benchmark, section 1\nkeep4: 4\n  # CIS 1.2.3\nkeep5: 5\n"));
	assert_effective_and_stable(f, out);

	/* a list left with none of its entries: whole where nothing else is on
	 * its lines, `[]` where its key line carries the user's comment */
	out = merge(f, "kube-scheduler-arg+:\n  - profiling=false  # CIS 1.4.1\n\n"
		    "  - bind-address=1  # CIS 1.4.2\n", true);
	assert_null(strstr(out, "kube-scheduler-arg"));
	assert_effective_and_stable(f, out);
	out = merge(f, "kube-scheduler-arg:  # mine\n  - profiling=false  # CIS 1.4.1\n", true);
	assert_non_null(strstr(out, "kube-scheduler-arg: []  # mine\n"));
	assert_null(strstr(out, "profiling"));
	assert_effective_and_stable(f, out);
	/* a mark left right above what goes would mark the next key: it goes
	 * with it, or what it marks stays */
	out = merge(f, "# CIS 1.0.9\nfoo: abc  # CIS 1.2.3\nkeep: 1\n", true);
	assert_true(strncmp(out, "keep: 1\n", 8) == 0);
	assert_effective_and_stable(f, out);
	out = merge(f, "# CIS 1.1\n# CIS 1.2\nfoo: 1\nbar: 2\n", true);
	assert_true(strncmp(out, "# CIS 1.1\n# CIS 1.2\nfoo: 1\nbar: 2\n", 30) == 0);
	assert_effective_and_stable(f, out);
	out = merge(f, "# CIS 1.0\nkube-proxy-arg:\n  - a=1  # CIS 1.2\nkeep: 1\n", true);
	assert_true(strncmp(out, "# CIS 1.0\nkube-proxy-arg: []\nkeep: 1\n", 36) == 0);
	assert_effective_and_stable(f, out);
	/* new keys go before the first key when a block scalar ends the file:
	 * before our stale setting there, not inside its removed lines */
	out = merge(f, "# CIS 1.1.9\nfoo: \"0600\"\nbar: |\n  text", true);
	assert_null(strstr(out, "foo"));
	assert_non_null(strstr(out, "bar: |\n  text"));
	assert_effective_and_stable(f, out);
	/* a flow list carries no mark: the user's */
	out = merge(f, "kube-scheduler-arg: [profiling=false]  # CIS 1.4.1\n", true);
	assert_non_null(strstr(out, "kube-scheduler-arg: [profiling=false]  # CIS 1.4.1\n"));
	/* a plain key that overrides an earlier one stays, emptied: else the
	 * earlier list would come back */
	out = merge(f, "kube-scheduler-arg+: [a=1]\nkube-scheduler-arg:\n  - profiling=false  # CIS 1.4.1\n", true);
	assert_non_null(strstr(out, "kube-scheduler-arg+: [a=1]\nkube-scheduler-arg: []\n"));
	assert_effective_and_stable(f, out);
	/* a setting the profile sets keeps its line; its mark names the
	 * controls cited now (another benchmark's IDs after an upgrade) */
	out = merge(f, "# CIS 4.2.6\nprotect-kernel-defaults: true\n", true);
	assert_true(strncmp(out, "# CIS k3s-cis-1.24:4.2.6\nprotect-kernel-defaults: true\n", 53) == 0);
	assert_effective_and_stable(f, out);
	/* a comment that only looks like a mark is the user's */
	out = merge(f, "# CIS 4.2.6 (mine)\nprotect-kernel-defaults: true\n", true);
	assert_true(strncmp(out, "# CIS 4.2.6 (mine)\nprotect-kernel-defaults: true\n", 47) == 0);
	/* our mark in a managed list must be exact too */
	out = merge(f, "kube-apiserver-arg:\n  - old-flag=1  # CIS 1.2.99 (mine)\n  - gone-flag=1  # CIS 1.2.98\n", true);
	assert_non_null(strstr(out, "  - old-flag=1  # CIS 1.2.99 (mine)\n"));
	assert_null(strstr(out, "gone-flag"));
	assert_effective_and_stable(f, out);
}

/* A server turned agent: the server's own lists and settings go, the
 * user's entries in them stay. */
static void test_kconfig_server_to_agent(void **state)
{
	struct fx *f = *state;
	struct render_opts ro = { NULL, ROLE_AGENT };
	struct artifacts arts = { NULL, 0, 0 };
	struct k3s_model agent;
	struct buf in = BUF_INIT;
	char *fresh = NULL, *se, *mark;
	size_t i, fresh_len = 0;

	assert_int_equal(k3s_model_build(f->doc->p, ROLE_AGENT, &agent), 0);
	assert_int_equal(render_profile(f->doc->p, &ro, &arts, &f->d), 0);
	for (i = 0; i < arts.n; i++)
		if (strstr(arts.v[i].path, "/etc/rancher/k3s/config.yaml")) {
			fresh = strdup(arts.v[i].data);
			fresh_len = arts.v[i].len;
		}
	assert_non_null(fresh);
	assert_int_equal(buf_printf(&in, "%skube-controller-manager-arg+:\n  - bind-address=127.0.0.1\n",
				    merge(f, "", false)), 0);
	buf_reset(&f->out);
	assert_int_equal(kconfig_merge("config.yaml", in.data, in.len, true, &agent, fresh, fresh_len,
				       &f->out, &f->d, &f->w), 0);
	/* secrets-encryption stays, with its mark (K3S_KEY_KEEP) */
	se = strstr(f->out.data, "\nsecrets-encryption: true\n");
	assert_non_null(se);
	mark = se;
	while (mark > f->out.data && mark[-1] != '\n')
		mark--;
	assert_true(strncmp(mark, "# CIS ", 6) == 0);
	memmove(mark, se + strlen("\nsecrets-encryption: true\n"),
		strlen(se + strlen("\nsecrets-encryption: true\n")) + 1);
	assert_null(strstr(f->out.data, "secrets-encryption"));
	assert_null(strstr(f->out.data, "kube-apiserver-arg"));
	assert_null(strstr(f->out.data, "\nkube-controller-manager-arg:"));
	assert_non_null(strstr(f->out.data, "kube-controller-manager-arg+:\n  - bind-address=127.0.0.1\n"));
	assert_non_null(strstr(f->out.data, "protect-kernel-defaults: true\n"));
	assert_non_null(strstr(f->out.data, "kubelet-arg:\n"));
	/* what the agent writes is the agent's fresh file, plus the user's list */
	buf_reset(&in);
	assert_int_equal(buf_printf(&in, "%skube-controller-manager-arg+:\n  - bind-address=127.0.0.1\n", fresh), 0);
	assert_string_equal(f->out.data, in.data);
	buf_free(&in);
	free(fresh);
	artifacts_free(&arts);
	k3s_model_free(&agent);
}

static void test_kconfig_guide_placeholder(void **state)
{
	struct fx *f = *state;
	const char *in = "kube-apiserver-arg:\n  - enable-admission-plugins=NodeRestriction,...\n";
	struct kconfig_file file = { "config.yaml", in, strlen(in), true };

	check_fails(f, &file, 1, "config.yaml", 2, "the guide's placeholder");
	/* the merge refuses it too, at the user's line and column (a scalar
	 * made a list would otherwise be reported at the merged file's line) */
	for (size_t i = 0; i < 2; i++) {
		const char *old = i ? "token: x\nkube-apiserver-arg: enable-admission-plugins=...\n" :
				  "token: x\nkube-apiserver-arg:\n  - enable-admission-plugins=A,...\n";

		buf_reset(&f->out);
		diags_free(&f->d);
		assert_int_equal(kconfig_merge("config.yaml", old, strlen(old), true, &f->m, f->fresh,
					       f->fresh_len, &f->out, &f->d, &f->w), -EINVAL);
		assert_int_equal(f->d.n, 1);
		assert_int_equal(f->d.v[0].line, i ? 2 : 3);
		assert_int_equal(f->d.v[0].col, i ? 21 : 5);
		assert_non_null(strstr(f->d.v[0].msg, "the guide's placeholder"));
	}
}

static void test_kconfig_own_admission_config_refused(void **state)
{
	struct fx *f = *state;
	const char *in = "kube-apiserver-arg:\n"
			 "  - admission-control-config-file=/etc/rancher/k3s/admission.yaml   # PSA + ImagePolicyWebhook\n";

	buf_reset(&f->out);
	assert_int_equal(kconfig_merge("config.yaml", in, strlen(in), true, &f->m, f->fresh,
				       f->fresh_len, &f->out, &f->d, &f->w), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_int_equal(f->d.v[0].line, 2);
	assert_non_null(strstr(f->d.v[0].msg, "names your own admission configuration"));
	/* our own line (it carries our comment) may move to another path */
	in = "kube-apiserver-arg:\n  - audit-policy-file=/old/audit.yaml  # CIS 3.2.1\n";
	assert_non_null(strstr(merge(f, in, true), "audit-policy-file=/var/lib/rancher/k3s/server/audit.yaml"));
}

static void test_kconfig_later_dropin_overrides(void **state)
{
	struct fx *f = *state;
	struct kconfig_file files[2] = {
		{ "config.yaml", f->fresh, f->fresh_len, true },
		{ "config.yaml.d/99-x.yaml", "kube-apiserver-arg:\n  - profiling=false\n", 40, false },
	};

	check_fails(f, files, 2, "config.yaml.d/99-x.yaml", 1, "write 'kube-apiserver-arg+:' to append");
	diags_free(&f->d);
	files[1].data = "kube-apiserver-arg+:\n  - audit-log-maxage=1\nprotect-kernel-defaults: false\n";
	files[1].len = strlen(files[1].data);
	check_fails(f, files, 2, "config.yaml.d/99-x.yaml", 2, "overrides k3s-harden's audit-log-maxage=30");
	check_fails(f, files, 2, "config.yaml.d/99-x.yaml", 3, "protect-kernel-defaults: 'false' here overrides");
	diags_free(&f->d);
	/* appending something else is fine, and unknown keys only warn */
	files[1].data = "kube-apiserver-arg+:\n  - profiling=false\nnot-a-k3s-option: 1\n";
	files[1].len = strlen(files[1].data);
	assert_int_equal(kconfig_check_effective(files, 2, &f->m, &f->d, &f->w), 0);
	assert_int_equal(f->w.n, 1);
	assert_non_null(strstr(f->w.v[0].msg, "not-a-k3s-option"));
	assert_int_equal(f->w.v[0].line, 3);
}

/* Thousands of keys across files: each is found again in a later file (eff_get's index). */
static void test_kconfig_many_keys(void **state)
{
	struct fx *f = *state;
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct kconfig_file files[2];
	int i;

	assert_int_equal(buf_add(&a, f->fresh, f->fresh_len), 0);
	for (i = 0; i < 5000; i++) {
		assert_int_equal(buf_printf(&a, "user-opt-%d: %d\n", i, i), 0);
		assert_int_equal(buf_printf(&b, "user-opt-%d: again\n", 4999 - i), 0);
	}
	assert_int_equal(buf_adds(&b, "protect-kernel-defaults: false\n"), 0);
	files[0] = (struct kconfig_file){ "config.yaml", a.data, a.len, true };
	files[1] = (struct kconfig_file){ "config.yaml.d/99-x.yaml", b.data, b.len, false };
	check_fails(f, files, 2, "config.yaml.d/99-x.yaml", 5001, "protect-kernel-defaults: 'false' here overrides");
	/* one warning per unknown key and file */
	assert_int_equal(f->w.n, 10000);
	buf_free(&a);
	buf_free(&b);
}

static void test_kconfig_dropin_mode_appends(void **state)
{
	struct fx *f = *state;
	struct profile_doc *doc = NULL;
	struct render_opts ro = { NULL, ROLE_SERVER };
	struct artifacts arts = { NULL, 0, 0 };
	const char *user = "kube-apiserver-arg:\n  - audit-log-path=/x\n  - profiling=false\nkubelet-arg: [max-pods=5]\n";
	const char *dropin = NULL;
	size_t i;
	FILE *fp = fopen("/tmp/k3h-kconfig-dropin.yaml", "w");

	assert_non_null(fp);
	fputs("extends: cis\nk3s: { mode: dropin }\n", fp);
	fclose(fp);
	assert_int_equal(profile_load("/tmp/k3h-kconfig-dropin.yaml", &doc, &f->d), 0);
	unlink("/tmp/k3h-kconfig-dropin.yaml");
	assert_int_equal(k3s_env_apply(doc->p, "1.27", NULL, &f->d, &f->d), 0);   /* as setup's */
	assert_int_equal(render_profile(doc->p, &ro, &arts, &f->d), 0);
	for (i = 0; i < arts.n; i++)
		if (strstr(arts.v[i].path, "config.yaml.d/90-k3s-harden.yaml"))
			dropin = arts.v[i].data;
	assert_non_null(dropin);
	{
		struct kconfig_file files[3] = {
			{ "config.yaml", user, strlen(user), false },
			{ "config.yaml.d/90-k3s-harden.yaml", dropin, strlen(dropin), true },
			{ "config.yaml.d/95-ok.yml", "kubelet-arg+: [max-pods=10]\n", 28, false },
		};

		/* with key+: the user's own flags survive and ours win */
		assert_int_equal(kconfig_check_effective(files, 3, &f->m, &f->d, &f->w), 0);
	}
	artifacts_free(&arts);
	profile_doc_free(doc);
}

/* A warning in w at line:col whose text holds all of want[] (NULL-ended). */
static void assert_warning(const struct diags *w, unsigned line, unsigned col, const char *const *want)
{
	size_t i, j;

	for (i = 0; i < w->n; i++) {
		if (w->v[i].line != line || w->v[i].col != col)
			continue;
		for (j = 0; want[j] && strstr(w->v[i].msg, want[j]); j++)
			;
		if (!want[j])
			return;
	}
	show_diags(w);
	fail_msg("no warning at %u:%u with '%s'", line, col, want[0]);
}

/* A user's value of a flag the profile sets that the merge replaces is
 * said, at the entry K3s takes it from; one that already agrees is not. */
static void test_kconfig_replaced_values_said(void **state)
{
	struct fx *f = *state;
	const char *out;

	diags_free(&f->w);
	/* (the fixture is K3s 1.27: the profile's threshold is 10 there) */
	out = merge(f, "kube-controller-manager-arg:\n  - terminated-pod-gc-threshold=5  # mine\n"
		    "kubelet-arg:\n  - streaming-connection-idle-timeout=5m\n  - streaming-connection-idle-timeout=4h\n", true);
	assert_non_null(strstr(out, "  - terminated-pod-gc-threshold=10  # mine\n"));
	assert_warning(&f->w, 2, 5, (const char *const[]){ "'terminated-pod-gc-threshold=5' becomes "
		       "terminated-pod-gc-threshold=10", "the profile sets this flag", NULL });
	/* the last entry is what K3s passes: the warning is there */
	assert_warning(&f->w, 5, 5, (const char *const[]){ "'streaming-connection-idle-timeout=4h' becomes "
		       "streaming-connection-idle-timeout=5m (CIS 4.2.5)", NULL });
	assert_int_equal(f->w.n, 2);
	diags_free(&f->w);
	assert_effective_and_stable(f, out);
	assert_int_equal(f->w.n, 0);
}

static void test_kconfig_dropped_plugins_said(void **state)
{
	struct fx *f = *state;
	const char *out;

	/* K3s 1.27 (the fixture) has no PodSecurityPolicy: it leaves the user's
	 * entry, with a warning that names the entry, the plugin, why and what follows */
	out = merge(f, "kube-apiserver-arg:\n"
		       "  - enable-admission-plugins=NodeRestriction,PodSecurityPolicy,AlwaysPullImages\n"
		       "  - disable-admission-plugins=EventRateLimit,DefaultStorageClass\n", true);
	assert_non_null(strstr(out, "  - enable-admission-plugins=NodeRestriction,EventRateLimit,AlwaysPullImages\n"));
	assert_non_null(strstr(out, "  - disable-admission-plugins=DefaultStorageClass\n"));
	assert_int_equal(f->w.n, 2);
	assert_warning(&f->w, 2, 5, (const char *const[]){ "kube-apiserver-arg: admission plugin "
		       "PodSecurityPolicy taken out of your 'enable-admission-plugins'", "K3s 1.27 does not "
		       "know it (removed in 1.25)", "objects already in the cluster stay until deleted", NULL });
	assert_string_equal(f->w.v[0].field, "kube-apiserver-arg");
	assert_warning(&f->w, 3, 5, (const char *const[]){ "admission plugin EventRateLimit taken out "
		       "of your 'disable-admission-plugins'", "the profile enables it", NULL });
	/* a disable list of nothing but our plugins goes, and says so */
	diags_free(&f->w);
	merge(f, "kube-apiserver-arg:\n  - a=1\n  - --disable-admission-plugins=EventRateLimit\n", true);
	assert_int_equal(f->w.n, 1);
	assert_warning(&f->w, 3, 5, (const char *const[]){ "EventRateLimit taken out", "the entry goes", NULL });
	/* the merged file says nothing more: the plugins are gone */
	diags_free(&f->w);
	merge(f, "kube-apiserver-arg:\n  - enable-admission-plugins=NodeRestriction,PodSecurityPolicy\n", true);
	assert_int_equal(f->w.n, 1);
	{
		char *again = strdup(f->out.data);

		assert_non_null(again);
		diags_free(&f->w);
		assert_string_equal(merge(f, again, true), again);
		assert_int_equal(f->w.n, 0);
		free(again);
	}
}

static void test_kconfig_at_least_flags(void **state)
{
	struct fx *f = *state;
	const char *in = "kube-apiserver-arg:\n"
			 "  - audit-log-maxage=90\n"
			 "  - --audit-log-maxbackup=10\n"
			 "  - audit-log-maxsize=20\n";
	struct kconfig_file file;
	char *again;
	const char *out;

	/* 90 >= 30 and 10 >= 10 stay as written (no mark: still the user's); 20 < 100 is raised */
	out = merge(f, in, true);
	assert_non_null(strstr(out, "kube-apiserver-arg:\n  - audit-log-maxage=90\n  - --audit-log-maxbackup=10\n"
				"  - audit-log-maxsize=100\n"));
	assert_null(strstr(out, "audit-log-maxage=30"));
	assert_int_equal(f->w.n, 1);
	assert_warning(&f->w, 4, 5, (const char *const[]){ "kube-apiserver-arg: 'audit-log-maxsize=20' "
		       "raised to audit-log-maxsize=100", "at least 100 (CIS 1.2.19)", NULL });
	/* the effective check and a second merge agree: nothing more to do */
	file = (struct kconfig_file){ "config.yaml", out, strlen(out), true };
	assert_int_equal(kconfig_check_effective(&file, 1, &f->m, &f->d, &f->w), 0);
	again = strdup(out);
	assert_non_null(again);
	diags_free(&f->w);
	assert_string_equal(merge(f, again, true), again);
	assert_int_equal(f->w.n, 0);
	free(again);
	/* no number, a leading zero (octal to kube-apiserver), a sign: raised, with a warning */
	out = merge(f, "kube-apiserver-arg:\n  - audit-log-maxage=forever\n  - audit-log-maxbackup=012\n"
		       "  - audit-log-maxsize=+200\n", true);
	assert_non_null(strstr(out, "  - audit-log-maxage=30\n  - audit-log-maxbackup=10\n  - audit-log-maxsize=100\n"));
	assert_warning(&f->w, 2, 5, (const char *const[]){ "'audit-log-maxage=forever' raised to "
		       "audit-log-maxage=30", "not a plain decimal number", NULL });
	assert_warning(&f->w, 3, 5, (const char *const[]){ "'audit-log-maxbackup=012'", NULL });
	assert_warning(&f->w, 4, 5, (const char *const[]){ "'audit-log-maxsize=+200'", NULL });
	/* K3s passes the last entry of a flag: a user's 90 after a 20 stays 90 */
	diags_free(&f->w);
	out = merge(f, "kube-apiserver-arg:\n  - audit-log-maxage=20\n  - x=1\n  - audit-log-maxage=90\n", true);
	assert_non_null(strstr(out, "kube-apiserver-arg:\n  - audit-log-maxage=90\n  - x=1\n  - "));
	assert_null(strstr(out, "audit-log-maxage=20"));
	assert_null(strstr(out, "audit-log-maxage=30"));
	assert_int_equal(f->w.n, 0);
	assert_effective_and_stable(f, out);
	out = merge(f, "kube-apiserver-arg:\n  - audit-log-maxage=90\n  - audit-log-maxage=7\n", true);
	assert_non_null(strstr(out, "kube-apiserver-arg:\n  - audit-log-maxage=30\n  - "));
	assert_warning(&f->w, 3, 5, (const char *const[]){ "'audit-log-maxage=7' raised to audit-log-maxage=30", NULL });
	/* ours first: it keeps our value (and stays ours), the later entry goes */
	out = merge(f, "kube-apiserver-arg:\n  - audit-log-maxage=30  # CIS 1.2.17\n  - audit-log-maxage=90\n", true);
	assert_non_null(strstr(out, "kube-apiserver-arg:\n  - audit-log-maxage=30  # CIS 1.2.17\n  - "));
	assert_null(strstr(out, "=90"));
	assert_effective_and_stable(f, out);
	/* our own entry (marked) follows the profile, down as well */
	diags_free(&f->w);
	out = merge(f, "kube-apiserver-arg:\n  - audit-log-maxage=90  # CIS 1.2.17\n", true);
	assert_non_null(strstr(out, "  - audit-log-maxage=30  # CIS 1.2.17\n"));
	assert_int_equal(f->w.n, 0);
	/* a flow list written anew as a block list: the kept number is not marked ours */
	out = merge(f, "kube-apiserver-arg: [audit-log-maxage=90]\n", true);
	assert_non_null(strstr(out, "\n  - audit-log-maxage=90\n"));
	/* a later drop-in's larger value is no override; a smaller one is */
	{
		const char *d1 = "kube-apiserver-arg+:\n  - audit-log-maxage=365\n";
		const char *d2 = "kube-apiserver-arg+:\n  - audit-log-maxage=7\n";
		const char *d90 = "kube-apiserver-arg:\n  - audit-log-maxage=90\n";
		struct kconfig_file files[2];

		again = strdup(merge(f, "", false));
		assert_non_null(again);
		files[0] = (struct kconfig_file){ "config.yaml", again, strlen(again), true };
		files[1] = (struct kconfig_file){ "config.yaml.d/50-mine.yaml", d1, strlen(d1), false };
		assert_int_equal(kconfig_check_effective(files, 2, &f->m, &f->d, &f->w), 0);
		files[1] = (struct kconfig_file){ "config.yaml.d/50-mine.yaml", d2, strlen(d2), false };
		check_fails(f, files, 2, "config.yaml.d/50-mine.yaml", 2, "overrides k3s-harden's audit-log-maxage=30");
		/* dropin mode: ours, read later, lowers the user's 90: allowed, with a warning */
		diags_free(&f->d);
		diags_free(&f->w);
		{
			/* our drop-in appends (key+:), as dropin mode writes it */
			char *p = strstr(again, "kube-apiserver-arg:\n");
			struct buf plus = BUF_INIT;

			assert_non_null(p);
			assert_int_equal(buf_printf(&plus, "%.*skube-apiserver-arg+:\n%s", (int)(p - again), again,
						    p + strlen("kube-apiserver-arg:\n")), 0);
			free(again);
			again = buf_steal(&plus);
		}
		files[0] = (struct kconfig_file){ "config.yaml", d90, strlen(d90), false };
		files[1] = (struct kconfig_file){ "config.yaml.d/90-k3s-harden.yaml", again, strlen(again), true };
		assert_int_equal(kconfig_check_effective(files, 2, &f->m, &f->d, &f->w), 0);
		assert_int_equal(f->w.n, 1);
		assert_string_equal(f->w.v[0].file, "config.yaml");
		assert_warning(&f->w, 2, 5, (const char *const[]){ "your 'audit-log-maxage=90' is overridden by "
			       "k3s-harden's audit-log-maxage=30 in 'config.yaml.d/90-k3s-harden.yaml'",
			       "set audit.max_age to it in the profile", NULL });
		free(again);
	}
}

static void test_kconfig_quotes_kept(void **state)
{
	struct fx *f = *state;
	const char *out;

	/* a user's entry written anew keeps its quotes: double, single, none */
	out = merge(f, "kube-apiserver-arg:\n"
		       "  - \"enable-admission-plugins=NodeRestriction,PodSecurityPolicy\"\n"
		       "  - 'disable-admission-plugins=EventRateLimit,DefaultStorageClass'\n"
		       "  - \"audit-log-maxage=20\"\n"
		       "  - request-timeout=60s\n", true);
	assert_non_null(strstr(out, "kube-apiserver-arg:\n"
				"  - \"enable-admission-plugins=NodeRestriction,EventRateLimit\"\n"
				"  - 'disable-admission-plugins=DefaultStorageClass'\n"
				"  - \"audit-log-maxage=30\"\n"
				"  - request-timeout=300s\n"));
	/* a flow list written as a block list: each entry in its own quotes */
	out = merge(f, "kube-apiserver-arg: [\"audit-log-maxage=90\", 'a=1', b=2]\n", true);
	assert_non_null(strstr(out, "kube-apiserver-arg:\n  - \"audit-log-maxage=90\"\n  - 'a=1'\n  - b=2\n"));
	/* a single-quoted scalar option */
	out = merge(f, "kube-apiserver-arg: 'audit-log-maxage=7'\n", true);
	assert_non_null(strstr(out, "kube-apiserver-arg:\n  - 'audit-log-maxage=30'  # CIS 1.2.17\n"));
}

/* A server model of a profile that extends cis with extra (YAML text), at K3s 1.27. */
static void model_of(struct fx *f, const char *extra, struct profile_doc **doc, struct k3s_model *m)
{
	char path[] = "/tmp/k3h-kconfig-XXXXXX";
	int fd = mkstemp(path);
	FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;

	assert_non_null(fp);
	fprintf(fp, "name: t\ndescription: t\nextends: cis\n%s", extra);
	fclose(fp);
	if (profile_load(path, doc, &f->d) < 0)
		show_diags(&f->d);
	unlink(path);
	assert_non_null(*doc);
	assert_int_equal(k3s_env_apply((*doc)->p, "1.27", NULL, &f->d, &f->d), 0);
	assert_int_equal(k3s_model_build((*doc)->p, ROLE_SERVER, m), 0);
}

static void test_kconfig_plugins_need_config(void **state)
{
	struct fx *f = *state;
	const char *user = "kube-apiserver-arg:\n  - enable-admission-plugins=NodeRestriction,EventRateLimit,ImagePolicyWebhook\n";
	const char *erl_only = "kube-apiserver-arg:\n  - enable-admission-plugins=EventRateLimit\n";
	struct profile_doc *doc = NULL;
	struct k3s_model m;
	struct buf out = BUF_INIT;
	struct kconfig_file file;
	size_t i, n = 0;

	/* pod_security on, event_rate_limit off: our psa.yaml configures only PodSecurity */
	model_of(f, "event_rate_limit: { enabled: false }\n", &doc, &m);
	assert_int_equal(kconfig_merge("config.yaml", user, strlen(user), true, &m, "", 0, &out, &f->d, &f->w), 0);
	assert_non_null(strstr(out.data, "EventRateLimit,ImagePolicyWebhook"));   /* the merge keeps them */
	file = (struct kconfig_file){ "config.yaml", out.data, out.len, true };
	assert_int_equal(kconfig_check_effective(&file, 1, &m, &f->d, &f->w), -EINVAL);
	for (i = 0; i < f->d.n; i++)
		if (f->d.v[i].line == 2 && f->d.v[i].col == 5 &&
		    strstr(f->d.v[i].msg, "k3s-harden's /var/lib/rancher/k3s/server/psa.yaml has none"))
			n++;
	assert_int_equal(n, 2);   /* both reasons at once */
	assert_non_null(strstr(f->d.v[0].msg, "enables EventRateLimit, which needs its limits"));
	assert_non_null(strstr(f->d.v[1].msg, "enables ImagePolicyWebhook"));
	diags_free(&f->d);
	k3s_model_free(&m);
	profile_doc_free(doc);
	/* neither on: no admission-control-config-file at all */
	doc = NULL;
	model_of(f, "pod_security: { enabled: false }\nevent_rate_limit: { enabled: false }\n"
		    "k3s: { admission_plugins: [NodeRestriction] }\n", &doc, &m);
	buf_reset(&out);
	assert_int_equal(kconfig_merge("config.yaml", erl_only, strlen(erl_only), true, &m, "", 0, &out, &f->d, &f->w), 0);
	file = (struct kconfig_file){ "config.yaml", out.data, out.len, true };
	assert_int_equal(kconfig_check_effective(&file, 1, &m, &f->d, &f->w), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_int_equal(f->d.v[0].line, 2);
	assert_non_null(strstr(f->d.v[0].msg, "enables EventRateLimit, which needs its limits in an "
			       "admission-control-config-file, and none is set"));
	diags_free(&f->d);
	/* an admission configuration of the user's is theirs to fill */
	{
		const char *own = "kube-apiserver-arg:\n  - enable-admission-plugins=EventRateLimit\n"
				  "  - admission-control-config-file=/etc/rancher/k3s/admission.yaml\n";

		buf_reset(&out);
		assert_int_equal(kconfig_merge("config.yaml", own, strlen(own), true, &m, "", 0, &out, &f->d, &f->w), 0);
		assert_non_null(strstr(out.data, "admission-control-config-file=/etc/rancher/k3s/admission.yaml"));
		file = (struct kconfig_file){ "config.yaml", out.data, out.len, true };
		if (kconfig_check_effective(&file, 1, &m, &f->d, &f->w) < 0)
			show_diags(&f->d);
		assert_int_equal(f->d.n, 0);
	}
	k3s_model_free(&m);
	profile_doc_free(doc);
	/* the default (event_rate_limit on): the user's EventRateLimit is configured */
	file = (struct kconfig_file){ "config.yaml", merge(f, erl_only, true), f->out.len, true };
	assert_int_equal(kconfig_check_effective(&file, 1, &f->m, &f->d, &f->w), 0);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kconfig_missing_file_is_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_comments_only_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_user_keys_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_duplicate_flags_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_flow_and_scalar_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_not_a_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_anchors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_anchored_block_list_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_multibyte_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_empty_and_null_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_block_scalars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_dashed_entries_indent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_item_after_dash_comment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_mark_after_removed_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_tab_below_rewritten_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_dashed_same_value_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_where_new_keys_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_line_breaks_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_plus_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_meaning_not_spelling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_disable_admission_plugins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_guide_placeholder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_own_entries_follow_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_own_admission_config_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_stale_entries_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_stale_secrets_encryption_stays, setup_agent, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_server_to_agent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_no_trailing_newline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_later_dropin_overrides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_many_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_dropin_mode_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_dropped_plugins_said, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_at_least_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_replaced_values_said, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_quotes_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kconfig_plugins_need_config, setup, teardown),
	};

	return cmocka_run_group_tests_name("kconfig", tests, NULL, NULL);
}
