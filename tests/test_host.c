/*
 * What the host under a temporary root says: the role (unit ExecStart, its
 * env file, the unit name, then the configuration without the profile's
 * own writes), the choice against --role / role:, K3s's data-dir and the
 * profile paths that follow it; reading symlinked files inside the root.
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

#include "fsutil.h"
#include "host.h"
#include "profile.h"

struct fixture {
	char root[64];
	struct profile_doc *cis;
	struct diags d;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct diags d = { NULL, 0, 0 };

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/k3h-host-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	assert_int_equal(profile_load("cis", &f->cis, &d), 0);
	diags_free(&d);
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	profile_doc_free(f->cis);
	diags_free(&f->d);
	free(f);
	return 0;
}

/* ROOT/rel with its parents */
static void put(struct fixture *f, const char *rel, const char *text)
{
	char path[512], *s;
	FILE *fp;

	snprintf(path, sizeof(path), "%s%s", f->root, rel);
	for (s = path + strlen(f->root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void config(struct fixture *f, const char *text)
{
	put(f, "/etc/rancher/k3s/config.yaml", text);
}

static struct host_role detect(struct fixture *f)
{
	struct host_role h;

	assert_int_equal(host_detect_role(f->root, f->cis->p, &h, &f->d), 0);
	return h;
}

static void test_host_unit_execstart_first(void **state)
{
	struct fixture *f = *state;
	struct host_role h;

	/* an HA join looks like an agent in config.yaml; the unit says server */
	config(f, "server: https://10.0.0.1:6443\ntoken: t\n");
	put(f, "/etc/systemd/system/k3s.service", "[Service]\nExecStart=/usr/local/bin/k3s \\\n    server\n");
	h = detect(f);
	assert_int_equal(h.role, ROLE_SERVER);
	assert_int_equal(h.evidence, HOST_EV_UNIT);
	assert_non_null(strstr(h.why, "k3s.service runs `k3s server`"));
}

static void test_host_unit_agent(void **state)
{
	struct fixture *f = *state;
	struct host_role h;

	config(f, "tls-san: [x]\n");     /* weaker than the unit */
	put(f, "/etc/systemd/system/k3s-agent.service", "[Service]\nExecStart=/usr/local/bin/k3s agent\n");
	h = detect(f);
	assert_int_equal(h.role, ROLE_AGENT);
	assert_int_equal(h.evidence, HOST_EV_UNIT);
	assert_string_equal(h.unit, "k3s-agent.service");
}

/* INSTALL_K3S_NAME=worker: the unit apply restarts is the host's own */
static void test_host_named_unit(void **state)
{
	struct fixture *f = *state;
	struct host_role h;

	put(f, "/etc/systemd/system/k3s-worker.service", "[Service]\nExecStart=/usr/local/bin/k3s agent\n");
	h = detect(f);
	assert_int_equal(h.role, ROLE_AGENT);
	assert_string_equal(h.unit, "k3s-worker.service");
	/* no unit: no name, the profile's default applies */
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/etc/systemd/system/k3s-worker.service", f->root);
		assert_int_equal(remove(path), 0);
	}
	h = detect(f);
	assert_string_equal(h.unit, "");
}

static void test_host_env_file(void **state)
{
	struct fixture *f = *state;
	struct host_role h;

	put(f, "/etc/systemd/system/k3s-agent.service",
	    "[Service]\nEnvironmentFile=-/etc/systemd/system/k3s-agent.service.env\nExecStart=/opt/run.sh\n");
	put(f, "/etc/systemd/system/k3s-agent.service.env", "K3S_URL=https://s:6443\n");
	h = detect(f);
	assert_int_equal(h.role, ROLE_AGENT);
	assert_int_equal(h.evidence, HOST_EV_ENV);
}

static void test_host_env_of_server_unit_says_nothing(void **state)
{
	struct fixture *f = *state;
	struct host_role h;

	/* the install script writes K3S_URL for a joining server too */
	put(f, "/etc/systemd/system/k3s.service",
	    "[Service]\nEnvironmentFile=/etc/systemd/system/k3s.service.env\nExecStart=/opt/run.sh\n");
	put(f, "/etc/systemd/system/k3s.service.env", "K3S_URL=https://s:6443\n");
	h = detect(f);
	assert_int_equal(h.role, ROLE_SERVER);
	assert_int_equal(h.evidence, HOST_EV_UNIT_NAME);
}

static void test_host_config_join_is_agent(void **state)
{
	struct fixture *f = *state;
	struct host_role h;

	config(f, "server: https://10.0.0.1:6443\ntoken: t\nnode-label: [a=b]\n");
	h = detect(f);
	assert_int_equal(h.role, ROLE_AGENT);
	assert_int_equal(h.evidence, HOST_EV_CONFIG);
}

static void test_host_config_ha_join_is_server(void **state)
{
	struct fixture *f = *state;
	const char *const opts[] = {
		"tls-san: [k3s.example.com]\n", "cluster-init: true\n", "disable: [traefik]\n",
		"datastore-endpoint: mysql://x\n", "etcd-s3: true\n",
		"kube-apiserver-arg: [oidc-issuer-url=https://id]\n",
	};
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct host_role h;

		snprintf(text, sizeof(text), "server: https://10.0.0.1:6443\n%s", opts[i]);
		config(f, text);
		h = detect(f);
		assert_int_equal(h.role, ROLE_SERVER);
		assert_int_equal(h.evidence, HOST_EV_CONFIG);
	}
}

static void test_host_own_writes_are_no_evidence(void **state)
{
	struct fixture *f = *state;
	struct host_role h;

	/* what cis writes on a server: its settings, its list entries, its drop-in */
	config(f, "server: https://s:6443\ntoken: t\nsecrets-encryption: true\n"
		  "kube-apiserver-arg:\n  - request-timeout=300s\n  - --enable-admission-plugins=NodeRestriction\n"
		  "kube-controller-manager-arg: [terminated-pod-gc-threshold=10]\n");
	put(f, "/etc/rancher/k3s/config.yaml.d/90-k3s-harden.yaml", "cluster-init: true\ntls-san: [x]\n");
	h = detect(f);
	assert_int_equal(h.role, ROLE_AGENT);
	/* one entry of the user's own in the same list is evidence */
	config(f, "server: https://s:6443\nkube-apiserver-arg:\n  - request-timeout=300s\n  - oidc-client-id=k8s\n");
	h = detect(f);
	assert_int_equal(h.role, ROLE_SERVER);
	assert_non_null(strstr(h.why, "'kube-apiserver-arg'"));
}

static void test_host_nothing_is_server(void **state)
{
	struct fixture *f = *state;
	struct host_role h = detect(f);

	assert_int_equal(h.role, ROLE_SERVER);
	assert_int_equal(h.evidence, HOST_EV_NONE);
	/* unreadable YAML is no evidence; the plan reports it */
	config(f, "- a\n- b\n");
	h = detect(f);
	assert_int_equal(h.evidence, HOST_EV_NONE);
}

static void test_host_choose(void **state)
{
	struct fixture *f = *state;
	struct host_role unit = { ROLE_AGENT, HOST_EV_UNIT, "the unit k3s-agent.service runs `k3s agent`", "" };
	struct host_role weak = { ROLE_AGENT, HOST_EV_CONFIG, "the configuration names a server", "" };
	enum profile_role r = ROLE_AUTO;
	char why[256];

	assert_int_equal(host_choose_role(&unit, ROLE_AUTO, "profile cis", &r, why, sizeof(why), &f->d), 0);
	assert_int_equal(r, ROLE_AGENT);
	assert_int_equal(host_choose_role(&unit, ROLE_AGENT, "profile cis-agent", &r, why, sizeof(why), &f->d), 0);
	assert_int_equal(f->d.n, 0);
	r = ROLE_AUTO;
	assert_int_equal(host_choose_role(&unit, ROLE_SERVER, "--role server", &r, why, sizeof(why), &f->d),
			 -EINVAL);
	assert_int_equal(r, ROLE_AUTO);
	assert_int_equal(f->d.n, 1);
	assert_non_null(strstr(f->d.v[0].msg, "--role server says role server, but this host is an agent"));
	assert_non_null(strstr(f->d.v[0].msg, "use --role agent"));
	assert_non_null(f->d.v[0].field);
	assert_string_equal(f->d.v[0].field, "role");
	assert_int_equal(host_choose_role(&weak, ROLE_SERVER, "--role server", &r, why, sizeof(why), &f->d), 0);
	assert_int_equal(r, ROLE_SERVER);
	assert_non_null(strstr(why, "over the weaker evidence for agent"));
}

static void test_host_data_dir(void **state)
{
	struct fixture *f = *state;
	char *dir = NULL;

	assert_int_equal(host_data_dir(f->root, f->cis->p, &dir, &f->d), 0);
	assert_null(dir);
	config(f, "data-dir: /var/lib/rancher/k3s/\n");
	assert_int_equal(host_data_dir(f->root, f->cis->p, &dir, &f->d), 0);
	assert_null(dir);
	config(f, "data-dir: /home/rancher/k3s//\n");
	assert_int_equal(host_data_dir(f->root, f->cis->p, &dir, &f->d), 0);
	assert_string_equal(dir, "/home/rancher/k3s");
	free(dir);
	put(f, "/etc/rancher/k3s/config.yaml.d/50-dir.yaml", "d: /srv/k3s\n");
	config(f, "token: t\n");
	assert_int_equal(host_data_dir(f->root, f->cis->p, &dir, &f->d), 0);
	assert_string_equal(dir, "/srv/k3s");
	free(dir);
	config(f, "data-dir: k3s\n");
	assert_int_equal(host_data_dir(f->root, f->cis->p, &dir, &f->d), -EINVAL);
	assert_null(dir);
	assert_int_equal(f->d.v[0].line, 1);
	assert_non_null(f->d.v[0].field);
	assert_string_equal(f->d.v[0].field, "data-dir");
}

/* Server files are named only when a generation created them: none here. */
static void test_host_leftovers_need_a_generation(void **state)
{
	struct fixture *f = *state;

	put(f, "/var/lib/rancher/k3s/server/psa.yaml", "# mine\n");
	put(f, "/var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-default.yaml", "# mine\n");
	config(f, "secrets-encryption: true\n");
	assert_int_equal(host_server_leftovers(f->root, f->cis->p, &f->d), 0);
	assert_int_equal(f->d.n, 0);
}

static void test_host_view(void **state)
{
	struct fixture *f = *state;
	struct diags w = { NULL, 0, 0 };
	struct host_view v;
	char *keep;

	assert_int_equal(host_view_init(&v, f->cis->p, "/data/k3s", &w), 0);
	assert_string_equal(v.p.manifests_dir, "/data/k3s/server/manifests");
	assert_string_equal(v.p.pod_security->path, "/data/k3s/server/psa.yaml");
	assert_string_equal(v.p.audit->policy_path, "/data/k3s/server/audit.yaml");
	assert_string_equal(v.p.audit->log_dir, "/data/k3s/server/logs");
	/* the profile itself is untouched */
	assert_string_equal(f->cis->p->manifests_dir, "/var/lib/rancher/k3s/server/manifests");
	assert_int_equal(w.n, 0);
	host_view_free(&v);
	/* an explicit path stays, with a warning when under the default data dir */
	keep = f->cis->p->pod_security->path;
	f->cis->p->pod_security->path = (char *)"/var/lib/rancher/k3s/server/site-psa.yaml";
	assert_int_equal(host_view_init(&v, f->cis->p, "/data/k3s", &w), 0);
	assert_string_equal(v.p.pod_security->path, "/var/lib/rancher/k3s/server/site-psa.yaml");
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.v[0].msg, "pod_security.path"));
	host_view_free(&v);
	f->cis->p->pod_security->path = keep;
	diags_free(&w);
	/* without a data-dir the view is the profile */
	assert_int_equal(host_view_init(&v, f->cis->p, NULL, &w), 0);
	assert_ptr_equal(v.p.manifests_dir, f->cis->p->manifests_dir);
	host_view_free(&v);
}

static void test_host_read_resolved_stays_in_root(void **state)
{
	struct fixture *f = *state;
	char link[512], *data = NULL;
	struct stat st;
	size_t len = 0;

	put(f, "/etc/secret.yaml", "inside: 1\n");
	put(f, "/etc/rancher/k3s/config.yaml.d/.keep", "");
	snprintf(link, sizeof(link), "%s/etc/rancher/k3s/config.yaml.d/10-a.yaml", f->root);
	assert_int_equal(symlink("../../../../../../../../etc/secret.yaml", link), 0);
	assert_int_equal(root_read_file_resolved(f->root, "/etc/rancher/k3s/config.yaml.d/10-a.yaml",
						 1024, &data, &len, &st), 0);
	assert_string_equal(data, "inside: 1\n");
	free(data);
	snprintf(link, sizeof(link), "%s/etc/rancher/k3s/config.yaml.d/20-b.yaml", f->root);
	assert_int_equal(symlink("/etc/secret.yaml", link), 0);
	data = NULL;
	assert_int_equal(root_read_file_resolved(f->root, "/etc/rancher/k3s/config.yaml.d/20-b.yaml",
						 1024, &data, &len, &st), 0);
	assert_string_equal(data, "inside: 1\n");
	free(data);
	/* a link to a directory or a device is not a file to read */
	snprintf(link, sizeof(link), "%s/etc/rancher/k3s/config.yaml.d/30-c.yaml", f->root);
	assert_int_equal(symlink("/etc", link), 0);
	assert_int_equal(root_read_file_resolved(f->root, "/etc/rancher/k3s/config.yaml.d/30-c.yaml",
						 1024, &data, &len, &st), -EISDIR);
	/* the plain reader still refuses the link */
	assert_int_equal(root_read_file(f->root, "/etc/rancher/k3s/config.yaml.d/10-a.yaml", 1024,
					&data, &len, &st), -ELOOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_unit_execstart_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_unit_agent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_named_unit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_env_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_env_of_server_unit_says_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_config_join_is_agent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_config_ha_join_is_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_own_writes_are_no_evidence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_nothing_is_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_choose, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_data_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_read_resolved_stays_in_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_leftovers_need_a_generation, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
