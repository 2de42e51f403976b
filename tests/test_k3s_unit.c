/*
 * K3s units as the install script writes them: ExecStart continued over
 * lines with quoted words, `server`/`agent` found after options, drop-ins
 * that reset ExecStart, masked units skipped, the env file read, and
 * k3s-NAME units counted only when they run K3s.
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

#include "k3s_unit.h"

static char root[64];

static void mkdirs(const char *rel)
{
	char p[512], *s;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static void put(const char *rel, const char *text)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/k3h-unit-XXXXXX");
	assert_non_null(mkdtemp(root));
	mkdirs("etc/systemd/system");
	mkdirs("usr/lib/systemd/system");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const struct k3s_unit *find(const struct k3s_unit *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static void test_k3s_unit_install_script_server(void **state)
{
	struct k3s_unit *v = NULL;
	size_t n = 0;
	const struct k3s_unit *u;

	(void)state;
	put("etc/systemd/system/k3s.service",
	    "[Unit]\nDescription=Lightweight Kubernetes\n\n[Service]\nType=notify\n"
	    "EnvironmentFile=-/etc/default/%N\nEnvironmentFile=-/etc/systemd/system/k3s.service.env\n"
	    "ExecStartPre=/bin/sh -xc '! /usr/bin/systemctl is-enabled --quiet nm-cloud-setup.service'\n"
	    "ExecStart=/usr/local/bin/k3s \\\n    server \\\n\t'--disable' \\\n\t'traefik' \\\n\n");
	assert_int_equal(k3s_units_find(root, &v, &n), 0);
	assert_int_equal(n, 1);
	u = find(v, n, "k3s.service");
	assert_non_null(u);
	assert_string_equal(u->path, "/etc/systemd/system/k3s.service");
	assert_string_equal(u->binary, "/usr/local/bin/k3s");
	assert_string_equal(u->command, "server");
	assert_int_equal(u->argc, 4);
	assert_string_equal(u->argv[2], "--disable");
	assert_string_equal(u->argv[3], "traefik");
	assert_int_equal(u->line, 9);
	assert_int_equal(u->n_env_files, 2);
	assert_string_equal(u->env_files[1], "/etc/systemd/system/k3s.service.env");
	k3s_units_free(v, n);
}

static void test_k3s_unit_agent_and_env(void **state)
{
	struct k3s_unit *v = NULL;
	size_t n = 0;
	const struct k3s_unit *u;
	char *val = NULL;

	(void)state;
	put("etc/systemd/system/k3s-agent.service",
	    "[Service]\nEnvironmentFile=-/etc/systemd/system/k3s-agent.service.env\n"
	    "ExecStart=/usr/local/bin/k3s --debug agent --node-label \"a=b c\"\n");
	put("etc/systemd/system/k3s-agent.service.env",
	    "# written by install.sh\nK3S_TOKEN='K10abc::server:x'\nK3S_URL=\"https://10.0.0.1:6443\"\n");
	assert_int_equal(k3s_units_find(root, &v, &n), 0);
	u = find(v, n, "k3s-agent.service");
	assert_non_null(u);
	assert_string_equal(u->command, "agent");
	assert_string_equal(u->argv[u->argc - 1], "a=b c");
	assert_int_equal(k3s_env_get(root, u->env_files[0], "K3S_URL", &val), 0);
	assert_string_equal(val, "https://10.0.0.1:6443");
	free(val);
	assert_int_equal(k3s_env_get(root, u->env_files[0], "K3S_NOPE", &val), -ENOENT);
	assert_null(val);
	assert_int_equal(k3s_env_get(root, "/etc/none.env", "K3S_URL", &val), -ENOENT);
	k3s_units_free(v, n);
}

static void test_k3s_unit_dropin_masked_other(void **state)
{
	struct k3s_unit *v = NULL;
	size_t n = 0;
	const struct k3s_unit *u;
	char p[512];

	(void)state;
	/* vendor unit, overridden by a drop-in that resets ExecStart */
	put("usr/lib/systemd/system/k3s.service", "[Service]\nExecStart=/usr/bin/k3s server\n");
	mkdirs("etc/systemd/system/k3s.service.d");
	put("etc/systemd/system/k3s.service.d/override.conf",
	    "[Service]\nExecStart=\nExecStart=-/opt/k3s/k3s agent --server https://s:6443\n");
	/* masked: no evidence */
	snprintf(p, sizeof(p), "%s/etc/systemd/system/k3s-agent.service", root);
	assert_int_equal(symlink("/dev/null", p), 0);
	/* a k3s-NAME unit that does not run K3s */
	put("etc/systemd/system/k3s-backup.service", "[Service]\nExecStart=/usr/bin/rsync -a /x /y\n");
	/* a k3s-NAME unit from INSTALL_K3S_NAME */
	put("etc/systemd/system/k3s-edge.service", "[Service]\nExecStart=/usr/local/bin/k3s server\n");
	assert_int_equal(k3s_units_find(root, &v, &n), 0);
	assert_int_equal(n, 2);
	u = find(v, n, "k3s.service");
	assert_non_null(u);
	assert_string_equal(u->path, "/usr/lib/systemd/system/k3s.service");
	assert_string_equal(u->binary, "/opt/k3s/k3s");
	assert_string_equal(u->command, "agent");
	/* where that ExecStart is: the drop-in's third line */
	assert_string_equal(u->exec_path, "/etc/systemd/system/k3s.service.d/override.conf");
	assert_int_equal(u->line, 3);
	assert_string_equal(find(v, n, "k3s-edge.service")->exec_path, "/etc/systemd/system/k3s-edge.service");
	assert_null(find(v, n, "k3s-agent.service"));
	assert_null(find(v, n, "k3s-backup.service"));
	assert_non_null(find(v, n, "k3s-edge.service"));
	k3s_units_free(v, n);
}

static void test_k3s_unit_none(void **state)
{
	struct k3s_unit *v = NULL;
	size_t n = 7;

	(void)state;
	assert_int_equal(k3s_units_find(root, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_k3s_unit_install_script_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_unit_agent_and_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_unit_dropin_masked_other, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_unit_none, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
