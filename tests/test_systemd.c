/*
 * The sd-bus module against a real systemd: the private instance that
 * tests/systemd/test-sysd.sh starts (tests/systemd/harness.sh) with the K3s
 * stand-in as k3s.service. Without it (K3H_SD_BUS unset) every bus test is
 * reported SKIPPED, never passed.
 *
 *   K3H_SD_BUS         bus address of the Type=notify instance, or "private":
 *                      then DBUS_SYSTEM_BUS_ADDRESS is unset and sysd_open()
 *                      must find the manager's private socket (the test runs
 *                      inside the instance's namespaces)
 *   K3H_SD_ROOT        its stand-in root (K3S_ROOT); K3H_SD_UNITS its unit dir
 *   K3H_SD_BUS_ALWAYS, K3H_SD_ROOT_ALWAYS   the same for the Restart=always one
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "systemd.h"

#define UNIT "k3s.service"
#define BROKEN "/etc/rancher/k3s/config.yaml.d/90-broken.yaml"

struct fx {
	sd_bus *bus;
	const char *root;
	const char *units;
};

static struct fx fx_notify, fx_always;

static int open_fx(struct fx *f, const char *bus_env, const char *root_env, void **state)
{
	const char *addr = getenv(bus_env), *root = getenv(root_env);
	int r;

	*state = NULL;
	if (!addr || !*addr || !root || !*root)
		return 0; /* the test skips */
	if (strcmp(addr, "private") == 0)
		unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
	else
		setenv("DBUS_SYSTEM_BUS_ADDRESS", addr, 1);
	memset(f, 0, sizeof(*f));
	r = sysd_open(&f->bus);
	if (r < 0) {
		fprintf(stderr, "cannot connect to '%s': %s\n", addr, strerror(-r));
		return -1;
	}
	f->root = root;
	f->units = getenv("K3H_SD_UNITS");
	*state = f;
	return 0;
}

static int setup_notify(void **state)
{
	return open_fx(&fx_notify, "K3H_SD_BUS", "K3H_SD_ROOT", state);
}

static int setup_always(void **state)
{
	/* The private-socket run happens inside the notify instance only. */
	const char *a = getenv("K3H_SD_BUS");

	if (a && strcmp(a, "private") == 0) {
		*state = NULL;
		return 0;
	}
	return open_fx(&fx_always, "K3H_SD_BUS_ALWAYS", "K3H_SD_ROOT_ALWAYS", state);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f)
		sysd_close(f->bus);
	return 0;
}

static struct fx *need_bus(void **state)
{
	if (!*state)
		skip();
	return *state;
}

static void write_file(const char *root, const char *rel, const char *text)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	fp = fopen(path, "we");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) < 0, 0);
	assert_int_equal(fclose(fp), 0);
}

static void remove_file(const char *root, const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	assert_true(unlink(path) == 0 || errno == ENOENT);
}

/* A drop-in that replaces kube-apiserver-arg with an audit policy that does
 * not exist: K3s (and the stand-in) refuse to start. */
static void break_config(const char *root)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/etc/rancher/k3s/config.yaml.d", root);
	assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
	write_file(root, BROKEN,
		   "kube-apiserver-arg:\n"
		   "  - audit-policy-file=/var/lib/rancher/k3s/server/missing.yaml\n");
}

static void restore_good(struct fx *f)
{
	struct sysd_unit_state st;

	remove_file(f->root, BROKEN);
	remove_file(f->root, "/standin-delay");
	assert_int_equal(sysd_daemon_reload(f->bus), 0);
	assert_int_equal(sysd_restart(f->bus, UNIT, 10000, &st), 0);
	assert_true(sysd_restart_ok(&st));
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void test_systemd_restart_ok_rules(void **state)
{
	struct sysd_unit_state st;

	(void)state;
	memset(&st, 0, sizeof(st));
	strcpy(st.job_result, "done");
	strcpy(st.result, "success");
	strcpy(st.active, "active");
	strcpy(st.sub, "running");
	assert_true(sysd_restart_ok(&st));
	/* Restart=always after a failed start: not active yet, and not ok. */
	strcpy(st.job_result, "failed");
	strcpy(st.result, "exit-code");
	strcpy(st.active, "activating");
	strcpy(st.sub, "auto-restart");
	assert_false(sysd_restart_ok(&st));
	/* Active again by the time we look, but our job failed. */
	strcpy(st.active, "active");
	strcpy(st.sub, "running");
	strcpy(st.result, "success");
	assert_false(sysd_restart_ok(&st));
	strcpy(st.job_result, "done");
	strcpy(st.result, "exit-code");
	assert_false(sysd_restart_ok(&st));
	assert_false(sysd_restart_ok(NULL));
}

static void test_systemd_open_honours_address(void **state)
{
	struct fx *f = need_bus(state);
	const char *a = getenv("K3H_SD_BUS");

	/* Through the bus daemon when an address is given, direct otherwise. */
	if (strcmp(a, "private") == 0)
		assert_int_equal(sd_bus_is_bus_client(f->bus), 0);
	else
		assert_int_equal(sd_bus_is_bus_client(f->bus), 1);
}

static void test_systemd_unit_exists(void **state)
{
	struct fx *f = need_bus(state);
	bool e = false;

	assert_int_equal(sysd_unit_exists(f->bus, UNIT, &e), 0);
	assert_true(e);
	assert_int_equal(sysd_unit_exists(f->bus, "dbus.socket", &e), 0);
	assert_true(e);
	e = true;
	assert_int_equal(sysd_unit_exists(f->bus, "k3h-no-such-unit.service", &e), 0);
	assert_false(e);
	assert_int_equal(sysd_unit_exists(f->bus, "k3s", &e), -EINVAL);
}

static int need_reload(sd_bus *bus)
{
	int v = -1;

	assert_int_equal(sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1",
						     "/org/freedesktop/systemd1/unit/k3s_2eservice",
						     "org.freedesktop.systemd1.Unit", "NeedDaemonReload",
						     NULL, 'b', &v), 0);
	return v;
}

static void test_systemd_daemon_reload(void **state)
{
	struct fx *f = need_bus(state);
	char path[4096];
	FILE *fp;
	bool e = true;

	assert_int_equal(sysd_daemon_reload(f->bus), 0);
	if (!f->units)
		return;
	/* An edited unit file needs a reload; once Reload has answered, it
	 * has been reloaded. */
	assert_int_equal(need_reload(f->bus), 0);
	snprintf(path, sizeof(path), "%s/k3s.service", f->units);
	fp = fopen(path, "ae");
	assert_non_null(fp);
	fputs("# edited by test_systemd_daemon_reload\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(need_reload(f->bus), 1);
	assert_int_equal(sysd_daemon_reload(f->bus), 0);
	assert_int_equal(need_reload(f->bus), 0);
	/* A unit file that appears is found (systemd retries not-found
	 * units when the unit directories change). */
	snprintf(path, sizeof(path), "%s/k3h-probe.service", f->units);
	assert_int_equal(sysd_unit_exists(f->bus, "k3h-probe.service", &e), 0);
	assert_false(e);
	write_file("", path, "[Service]\nExecStart=/bin/true\n");
	assert_int_equal(sysd_daemon_reload(f->bus), 0);
	assert_int_equal(sysd_unit_exists(f->bus, "k3h-probe.service", &e), 0);
	assert_true(e);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(sysd_daemon_reload(f->bus), 0);
}

static void test_systemd_restart_good(void **state)
{
	struct fx *f = need_bus(state);
	struct sysd_unit_state st;
	double t[50];
	struct timespec t0;
	size_t i, n = sizeof(t) / sizeof(t[0]);

	remove_file(f->root, BROKEN);
	assert_int_equal(sysd_restart(f->bus, UNIT, 10000, &st), 0);
	assert_string_equal(st.job_result, "done");
	assert_string_equal(st.active, "active");
	assert_string_equal(st.sub, "running");
	assert_string_equal(st.result, "success");
	assert_true(sysd_restart_ok(&st));

	/* What apply pays: Reload + RestartUnit + wait for the job. */
	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(sysd_daemon_reload(f->bus), 0);
		assert_int_equal(sysd_restart(f->bus, UNIT, 10000, &st), 0);
		t[i] = ms_since(&t0);
		assert_true(sysd_restart_ok(&st));
	}
	qsort(t, n, sizeof(t[0]), cmp_double);
	print_message("# Reload + RestartUnit + JobRemoved: median %.1f ms, max %.1f ms (%zu runs)\n",
		      t[n / 2], t[n - 1], n);
}

static void test_systemd_restart_broken(void **state)
{
	struct fx *f = need_bus(state);
	struct sysd_unit_state st;

	break_config(f->root);
	assert_int_equal(sysd_daemon_reload(f->bus), 0);
	assert_int_equal(sysd_restart(f->bus, UNIT, 10000, &st), 0);
	assert_string_equal(st.job_result, "failed");
	assert_string_equal(st.active, "failed");
	assert_string_equal(st.result, "exit-code");
	assert_int_equal(st.exec_main_status, 1);
	assert_false(sysd_restart_ok(&st));
	restore_good(f);
}

static void test_systemd_restart_missing_unit(void **state)
{
	struct fx *f = need_bus(state);
	struct sysd_unit_state st;
	int r;

	memset(&st, 'x', sizeof(st));
	r = sysd_restart(f->bus, "k3h-no-such-unit.service", 5000, &st);
	assert_true(r < 0);
	assert_int_equal(st.active[0], 'x'); /* untouched on failure */
}

static void test_systemd_restart_timeout(void **state)
{
	struct fx *f = need_bus(state);
	struct sysd_unit_state st;
	struct timespec t0;
	double waited;
	int i;

	write_file(f->root, "/standin-delay", "2\n");
	memset(&st, 'x', sizeof(st));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(sysd_restart(f->bus, UNIT, 300, &st), -ETIMEDOUT);
	waited = ms_since(&t0);
	assert_true(waited >= 290 && waited < 1500);
	assert_int_equal(st.active[0], 'x');
	remove_file(f->root, "/standin-delay");
	/* The job goes on in systemd and ends well once the stand-in is ready. */
	for (i = 0; i < 100; i++) {
		assert_int_equal(sysd_unit_state(f->bus, UNIT, &st), 0);
		if (strcmp(st.active, "active") == 0)
			break;
		assert_string_equal(st.active, "activating");
		usleep(50000);
	}
	assert_string_equal(st.active, "active");
	assert_string_equal(st.job_result, "");
}

static void test_systemd_state_not_a_service(void **state)
{
	struct fx *f = need_bus(state);
	struct sysd_unit_state st;

	assert_int_equal(sysd_unit_state(f->bus, "dbus.socket", &st), 0);
	assert_string_equal(st.active, "active");
	assert_string_equal(st.result, "");
	assert_int_equal(sysd_unit_state(f->bus, "k3s", &st), -EINVAL);
}

static void test_systemd_restart_always_crash_loop(void **state)
{
	struct fx *f = need_bus(state);
	struct sysd_unit_state st, later;
	int i;

	remove_file(f->root, BROKEN);
	assert_int_equal(sysd_restart(f->bus, UNIT, 10000, &st), 0);
	assert_true(sysd_restart_ok(&st));

	break_config(f->root);
	assert_int_equal(sysd_daemon_reload(f->bus), 0);
	assert_int_equal(sysd_restart(f->bus, UNIT, 10000, &st), 0);
	/* DESIGN.md fact 13: the job failed, the unit waits to restart. */
	assert_string_equal(st.job_result, "failed");
	assert_string_equal(st.result, "exit-code");
	assert_string_not_equal(st.active, "active");
	assert_string_equal(st.active, "activating");
	assert_string_equal(st.sub, "auto-restart");
	assert_false(sysd_restart_ok(&st));

	/* And it keeps failing on its own (RestartSec=1s). */
	for (i = 0; i < 60; i++) {
		assert_int_equal(sysd_unit_state(f->bus, UNIT, &later), 0);
		if (later.n_restarts >= st.n_restarts + 2)
			break;
		usleep(50000);
	}
	assert_true(later.n_restarts >= st.n_restarts + 2);
	assert_string_not_equal(later.active, "active");
	/* Result is not checked here: during each new attempt it reads
	 * "success" again (activating/start). Only our job's result is
	 * reliable, which is why sysd_restart_ok() starts with it. */

	restore_good(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_systemd_restart_ok_rules),
		cmocka_unit_test_setup_teardown(test_systemd_open_honours_address, setup_notify, teardown),
		cmocka_unit_test_setup_teardown(test_systemd_unit_exists, setup_notify, teardown),
		cmocka_unit_test_setup_teardown(test_systemd_daemon_reload, setup_notify, teardown),
		cmocka_unit_test_setup_teardown(test_systemd_restart_good, setup_notify, teardown),
		cmocka_unit_test_setup_teardown(test_systemd_restart_broken, setup_notify, teardown),
		cmocka_unit_test_setup_teardown(test_systemd_restart_missing_unit, setup_notify, teardown),
		cmocka_unit_test_setup_teardown(test_systemd_restart_timeout, setup_notify, teardown),
		cmocka_unit_test_setup_teardown(test_systemd_state_not_a_service, setup_notify, teardown),
		cmocka_unit_test_setup_teardown(test_systemd_restart_always_crash_loop, setup_always,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
