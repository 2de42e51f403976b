/*
 * The restart gate through its seam, without systemd: a fake table of the
 * systemd verbs and a fake clock judge good restarts, failed jobs, crash
 * loops, units that do not stay active, failing and missing health
 * commands; the health command's timeout holds when it closes its output.
 * Then the engine with the same fake: a restore whose restart fails too is
 * ENGINE_BROKEN (exit 4), one that comes back is ENGINE_RESTORED with the
 * files and live kernel values as they were.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine.h"
#include "fsutil.h"
#include "restart.h"
#include "fakesd.h"
#include "sysctl.h"

/* a string literal as argv wants it (-Wwrite-strings makes literals const) */
#define A(s) ((char *)(uintptr_t)(s))

static struct restart_policy policy(char *const *argv)
{
	struct restart_policy p;

	memset(&p, 0, sizeof(p));
	p.job_ms = 20000;
	p.settle_ms = 1000;
	p.health_ms = 2000;
	p.interval_ms = 500;
	p.job_text = "20s";
	p.health_text = "2s";
	p.health_argv = argv;
	return p;
}

static int gate(const struct restart_ops *ops, char *const *argv, char *why, size_t size)
{
	struct restart_policy p = policy(argv);

	why[0] = '\0';
	return restart_gate(ops, NULL, "k3s.service", &p, NULL, NULL, why, size);
}

/* ---- the gate ---- */

static void test_restart_good(void **state_)
{
	char why[512];

	(void)state_;
	fakesd_reset();
	assert_int_equal(gate(&fakesd_ops, NULL, why, sizeof(why)), 0);
	assert_int_equal(F.reloads, 1);
	assert_int_equal(F.restarts, 1);
	/* the unit was watched through the whole settle period */
	assert_true(F.states >= 5);
	assert_true(F.clock >= 1000);
}

static void test_restart_good_with_health(void **state_)
{
	char *const argv[] = { A("true"), NULL };
	char why[512];

	(void)state_;
	fakesd_reset();
	assert_int_equal(gate(&fakesd_ops, argv, why, sizeof(why)), 0);
}

static void test_restart_reload_fails(void **state_)
{
	char why[512];

	(void)state_;
	fakesd_reset();
	F.reload_r = -EACCES;
	assert_int_equal(gate(&fakesd_ops, NULL, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "daemon-reload failed"));
	assert_int_equal(F.restarts, 0);
}

static void test_restart_job_failed(void **state_)
{
	char why[512];

	(void)state_;
	fakesd_reset();
	F.job_result = "failed";
	assert_int_equal(gate(&fakesd_ops, NULL, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "k3s.service: job failed"));
	/* judged by the job, not by settling */
	assert_int_equal(F.states, 0);
}

static void test_restart_crash_loop(void **state_)
{
	char why[512];

	(void)state_;
	fakesd_reset();
	/* Restart=always: it went down and systemd started it again by itself */
	F.settle_restarts = 1;
	assert_int_equal(gate(&fakesd_ops, NULL, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "k3s.service: job -"));
	assert_int_equal(F.states, 1);
}

static void test_restart_not_active_after_settle(void **state_)
{
	char why[512];

	(void)state_;
	fakesd_reset();
	F.settle_active = "failed";
	assert_int_equal(gate(&fakesd_ops, NULL, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "state failed/"));
}

static void test_restart_health_fails(void **state_)
{
	char *const argv[] = { A("sh"), A("-c"), A("echo not ready; exit 1"), NULL };
	char why[512];

	(void)state_;
	fakesd_reset();
	assert_int_equal(gate(&fakesd_ops, argv, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "health command 'sh' did not pass within 2s: not ready"));
	/* tried again every interval until the timeout */
	assert_true(F.sleeps > 5);
}

static void test_restart_health_not_found(void **state_)
{
	char *const argv[] = { A("/nonexistent/k3s-health-check"), A("--ready"), NULL };
	struct restart_policy p = policy(argv);
	char why[512];
	unsigned before;

	(void)state_;
	fakesd_reset();
	p.health_ms = 3600000;
	before = 0;
	assert_int_equal(restart_gate(&fakesd_ops, NULL, "k3s.service", &p, NULL, NULL, why, sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, "health command '/nonexistent/k3s-health-check' cannot be run: "));
	/* at once: no retry until the hour is over */
	assert_int_equal(F.sleeps - before, (unsigned)(p.settle_ms / 200));
}

static long long real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_restart_health_timeout_closed_output(void **state_)
{
	/* it closes stdout and stderr, then hangs: the timeout still holds */
	char *const argv[] = { A("sh"), A("-c"), A("exec >/dev/null 2>&1; sleep 30 & sleep 30"), NULL };
	struct buf out = BUF_INIT;
	long long t0 = real_ms();

	(void)state_;
	assert_int_equal(restart_run_health(argv, 300, &out), -ETIMEDOUT);
	/* a generous bound: far below the command's 30 s */
	assert_true(real_ms() - t0 < 15000);
	buf_free(&out);
}

static void test_restart_health_timeout_through_gate(void **state_)
{
	char *const argv[] = { A("sh"), A("-c"), A("exec >/dev/null 2>&1; sleep 30"), NULL };
	struct restart_ops ops = fakesd_ops;
	struct restart_policy p = policy(argv);
	char why[512];
	long long t0 = real_ms();

	(void)state_;
	fakesd_reset();
	/* the real clock: the health timeout is a real one */
	ops.now_ms = restart_systemd_ops.now_ms;
	ops.sleep_ms = restart_systemd_ops.sleep_ms;
	p.settle_ms = 0;
	p.health_ms = 400;
	p.interval_ms = 100;
	p.health_text = "400ms";
	assert_int_equal(restart_gate(&ops, NULL, "k3s.service", &p, NULL, NULL, why, sizeof(why)),
			 -ETIMEDOUT);
	assert_non_null(strstr(why, "did not pass within 400ms"));
	assert_true(real_ms() - t0 < 15000);
}

static void test_restart_health_output_kept(void **state_)
{
	char *const argv[] = { A("sh"), A("-c"), A("echo ok; exit 0"), NULL };
	struct buf out = BUF_INIT;

	(void)state_;
	assert_int_equal(restart_run_health(argv, 10000, &out), 0);
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.data, "ok\n", 3);
	buf_free(&out);
}

/* ---- the engine through the seam ---- */

#define TMP_PREFIX "/tmp/k3h-restart-"

struct eng {
	char root[64];
	char profile[128];
};

static void rm_tree(const char *dir)
{
	char cmd[160];

	if (strncmp(dir, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void mkdirs(const char *path)
{
	char b[512];
	size_t i;

	snprintf(b, sizeof(b), "%s", path);
	for (i = 1; b[i]; i++)
		if (b[i] == '/') {
			b[i] = '\0';
			mkdir(b, 0755);
			b[i] = '/';
		}
	mkdir(b, 0755);
}

static void sink(void *ctx, const struct engine_event *ev)
{
	(void)ctx;
	if (ev->kind != ENGINE_PROGRESS && getenv("K3H_TEST_VERBOSE"))
		fprintf(stderr, "event %d: %s\n", (int)ev->kind, ev->text);
}

static struct engine_opts eng_opts(const struct eng *e, bool live)
{
	struct engine_opts o;

	memset(&o, 0, sizeof(o));
	o.root = e->root;
	o.live = live;
	o.lock_timeout_ms = 1000;
	o.restart_ops = &fakesd_ops;
	o.sink.fn = sink;
	return o;
}

static char kfile[64][256];
static size_t n_kfile;

/* A root with config.yaml and every kernel value of the profile at "0" under proc/sys. */
static int eng_setup(void **state_)
{
	struct eng *e = calloc(1, sizeof(*e));
	struct profile_doc *doc = NULL;
	struct diags d = { NULL, 0, 0 };
	struct engine_opts o;
	struct plan pl;
	char path[512];
	size_t i;

	if (!e)
		return -1;
	strcpy(e->root, TMP_PREFIX "XXXXXX");
	if (!mkdtemp(e->root))
		return -1;
	snprintf(path, sizeof(path), "%s/etc/rancher/k3s", e->root);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/etc/rancher/k3s/config.yaml", e->root);
	write_file(path, "token: abc\n");
	snprintf(e->profile, sizeof(e->profile), "%s/p.yaml", e->root);
	write_file(e->profile, "extends: cis\nname: fast\nrestart: { job_timeout: 1s, settle: 0s, "
		   "health_command: [] }\n");
	if (profile_load(e->profile, &doc, &d) < 0)
		return -1;
	o = eng_opts(e, false);
	if (engine_plan(doc->p, &o, &pl) < 0)
		return -1;
	n_kfile = 0;
	for (i = 0; i < pl.n; i++) {
		struct sysctl_kv *kv = NULL;
		size_t n = 0, k;

		if (!(pl.v[i].flags & CHANGE_SYSCTL) || sysctl_parse(pl.v[i].new_data, pl.v[i].new_len, &kv, &n) < 0)
			continue;
		for (k = 0; k < n && n_kfile < 64; k++) {
			char *s;

			snprintf(kfile[n_kfile], sizeof(kfile[0]), "%s/proc/sys/%s", e->root, kv[k].key);
			for (s = kfile[n_kfile] + strlen(e->root) + 10; *s; s++)
				if (*s == '.')
					*s = '/';
			snprintf(path, sizeof(path), "%s", kfile[n_kfile]);
			*strrchr(path, '/') = '\0';
			mkdirs(path);
			write_file(kfile[n_kfile], "0\n");
			n_kfile++;
		}
		sysctl_free(kv, n);
	}
	plan_free(&pl);
	profile_doc_free(doc);
	diags_free(&d);
	*state_ = e;
	return n_kfile ? 0 : -1;
}

static int eng_teardown(void **state_)
{
	struct eng *e = *state_;

	rm_tree(e->root);
	free(e);
	return 0;
}

static char *slurp(const char *path)
{
	char *data = NULL;
	size_t len = 0;
	struct stat st;

	assert_int_equal(root_read_file("/", path, 1 << 20, &data, &len, &st), 0);
	return data;
}

static bool kernel_all(const char *want)
{
	size_t i;
	bool all = true;

	for (i = 0; i < n_kfile; i++) {
		char *v = slurp(kfile[i]);

		v[strcspn(v, "\n")] = '\0';
		all &= sysctl_equal(v, want);
		free(v);
	}
	return all;
}

static void run_apply(struct eng *e, struct engine_result *res)
{
	struct profile_doc *doc = NULL;
	struct diags d = { NULL, 0, 0 };
	struct engine_opts o = eng_opts(e, true);

	assert_int_equal(profile_load(e->profile, &doc, &d), 0);
	engine_apply(doc->p, &o, res);
	profile_doc_free(doc);
	diags_free(&d);
}

static void test_restart_engine_good(void **state_)
{
	struct eng *e = *state_;
	struct engine_result res;

	fakesd_reset();
	run_apply(e, &res);
	assert_int_equal(res.outcome, ENGINE_DONE);
	assert_true(res.restarted);
	assert_false(res.pending);
	assert_int_equal(F.restarts, 1);
	/* kernel values went live: kernel.panic is 10, not the 0 we planted */
	assert_false(kernel_all("0"));
	engine_result_free(&res);
}

static void test_restart_engine_restored(void **state_)
{
	struct eng *e = *state_;
	struct engine_result res;
	char path[512], *cfg;

	fakesd_reset();
	F.fail_first_job = "failed";
	run_apply(e, &res);
	assert_int_equal(res.outcome, ENGINE_RESTORED);
	assert_string_equal(res.result, "rolled-back");
	assert_int_equal(F.restarts, 2);
	snprintf(path, sizeof(path), "%s/etc/rancher/k3s/config.yaml", e->root);
	cfg = slurp(path);
	assert_string_equal(cfg, "token: abc\n");
	free(cfg);
	/* the kernel values recorded in the journal are back too */
	assert_true(kernel_all("0"));
	engine_result_free(&res);
}

static void test_restart_engine_restore_fails(void **state_)
{
	struct eng *e = *state_;
	struct engine_result res;
	char path[512], *cfg;

	fakesd_reset();
	F.job_result = "failed";
	run_apply(e, &res);
	/* the files are back, but K3s does not come back with them: exit 4 */
	assert_int_equal(res.outcome, ENGINE_BROKEN);
	assert_string_equal(res.result, "broken");
	assert_int_equal(F.restarts, 2);
	snprintf(path, sizeof(path), "%s/etc/rancher/k3s/config.yaml", e->root);
	cfg = slurp(path);
	assert_string_equal(cfg, "token: abc\n");
	free(cfg);
	engine_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_good),
		cmocka_unit_test(test_restart_good_with_health),
		cmocka_unit_test(test_restart_reload_fails),
		cmocka_unit_test(test_restart_job_failed),
		cmocka_unit_test(test_restart_crash_loop),
		cmocka_unit_test(test_restart_not_active_after_settle),
		cmocka_unit_test(test_restart_health_fails),
		cmocka_unit_test(test_restart_health_not_found),
		cmocka_unit_test(test_restart_health_timeout_closed_output),
		cmocka_unit_test(test_restart_health_timeout_through_gate),
		cmocka_unit_test(test_restart_health_output_kept),
		cmocka_unit_test_setup_teardown(test_restart_engine_good, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_restart_engine_restored, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_restart_engine_restore_fails, eng_setup, eng_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
