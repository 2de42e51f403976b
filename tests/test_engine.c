/*
 * The engine under apply and rollback on a temporary root, with systemd
 * replaced through the restart gate's seam: a no-op writes nothing, the
 * role note comes once, apply then rollback returns the host, a missing
 * unit is refused before anything is written, drifted kernel values alone
 * make no generation, a plan knows when the host changed under it, the
 * engine prints nothing itself, and opt_in.file_modes plans mode-only
 * changes of K3s's files (tighten only, no links, the moved data-dir).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine.h"
#include "fsutil.h"
#include "sysctl.h"
#include "fakesd.h"

#define TMP_PREFIX "/tmp/k3h-engine-"
#define CONFIG "token: abc\n"

struct fx {
	char root[64];
	char profile[128];
	unsigned role_notes, events;
};

static void sink(void *ctx, const struct engine_event *ev)
{
	struct fx *f = ctx;

	f->events++;
	if (ev->kind == ENGINE_NOTE && strncmp(ev->text, "role auto:", 10) == 0)
		f->role_notes++;
	if (getenv("K3H_TEST_VERBOSE"))
		fprintf(stderr, "event %d: %s\n", (int)ev->kind, ev->text ? ev->text : "(end)");
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
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

static void at(const struct fx *f, const char *rel, char *out, size_t size)
{
	snprintf(out, size, "%s%s", f->root, rel);
}

static char *slurp(const struct fx *f, const char *rel)
{
	char *data = NULL;
	size_t len = 0;
	struct stat st;

	return root_read_file(f->root, rel, 1 << 20, &data, &len, &st) == 0 ? data : NULL;
}

static void put(const struct fx *f, const char *rel, const char *text)
{
	char path[512];

	at(f, rel, path, sizeof(path));
	*strrchr(path, '/') = '\0';
	mkdirs(path);
	at(f, rel, path, sizeof(path));
	write_file(path, text);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->root, TMP_PREFIX "XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	put(f, "/etc/rancher/k3s/config.yaml", CONFIG);
	snprintf(f->profile, sizeof(f->profile), "%s/p.yaml", f->root);
	write_file(f->profile, "extends: cis\nname: t\nrole: auto\nrestart: { job_timeout: 1s, settle: 0s, "
		   "health_command: [] }\n");
	fakesd_reset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	if (strncmp(f->root, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", f->root);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", f->root);
	}
	free(f);
	return 0;
}

static struct engine_opts opts(struct fx *f, bool live)
{
	struct engine_opts o;

	memset(&o, 0, sizeof(o));
	o.root = f->root;
	o.live = live;
	o.lock_timeout_ms = 1000;
	o.restart_ops = &fakesd_ops;
	o.sink.fn = sink;
	o.sink.ctx = f;
	return o;
}

static struct profile_doc *load(const struct fx *f)
{
	struct profile_doc *doc = NULL;
	struct diags d = { NULL, 0, 0 };

	assert_int_equal(profile_load(f->profile, &doc, &d), 0);
	diags_free(&d);
	return doc;
}

static enum engine_outcome apply(struct fx *f, bool live, struct engine_result *res)
{
	struct profile_doc *doc = load(f);
	struct engine_opts o = opts(f, live);

	engine_apply(doc->p, &o, res);
	profile_doc_free(doc);
	return res->outcome;
}

static size_t generations(const struct fx *f)
{
	struct generation *v = NULL;
	size_t n = 0;

	assert_int_equal(txn_history(f->root, &v, &n), 0);
	free(v);
	return n;
}

static bool exists(const struct fx *f, const char *rel)
{
	struct stat st;

	return root_stat(f->root, rel, &st) == 0;
}

static void test_engine_apply_then_noop(void **state)
{
	struct fx *f = *state;
	struct engine_result res;

	assert_int_equal(apply(f, false, &res), ENGINE_DONE);
	assert_string_equal(res.result, "ok");
	assert_string_equal(res.generation, "000001");
	/* offline: files only, K3s's restart is left pending */
	assert_false(res.restarted);
	assert_true(res.pending);
	engine_result_free(&res);
	assert_int_equal(apply(f, false, &res), ENGINE_NOTHING);
	assert_string_equal(res.generation, "");
	engine_result_free(&res);
	assert_int_equal(generations(f), 1);
}

static void test_engine_role_note_once(void **state)
{
	struct fx *f = *state;
	struct engine_result res;

	assert_int_equal(apply(f, false, &res), ENGINE_DONE);
	assert_int_equal(f->role_notes, 1);
	engine_result_free(&res);
}

static void test_engine_rollback_returns_the_host(void **state)
{
	struct fx *f = *state;
	struct engine_result res;
	struct profile_doc *doc;
	struct engine_opts o;
	char *cfg;

	assert_int_equal(apply(f, false, &res), ENGINE_DONE);
	engine_result_free(&res);
	assert_true(exists(f, "/var/lib/rancher/k3s/server/psa.yaml"));
	doc = load(f);
	o = opts(f, false);
	/* cis turns secrets-encryption on: going back turns it off, only with force */
	assert_int_equal(engine_rollback(doc->p, NULL, &o, &res), -EPERM);
	assert_int_equal(res.outcome, ENGINE_REFUSED);
	engine_result_free(&res);
	assert_int_equal(generations(f), 1);
	o.force = true;
	assert_int_equal(engine_rollback(doc->p, NULL, &o, &res), 0);
	assert_int_equal(res.outcome, ENGINE_DONE);
	assert_string_equal(res.target, "000001");
	assert_string_equal(res.generation, "000002");
	engine_result_free(&res);
	cfg = slurp(f, "/etc/rancher/k3s/config.yaml");
	assert_non_null(cfg);
	assert_string_equal(cfg, CONFIG);
	free(cfg);
	assert_false(exists(f, "/var/lib/rancher/k3s/server/psa.yaml"));
	/* the same generation again: its files are in place */
	assert_int_equal(engine_rollback(doc->p, "1", &o, &res), 0);
	assert_int_equal(res.outcome, ENGINE_NOTHING);
	engine_result_free(&res);
	assert_int_equal(engine_rollback(doc->p, "999", &o, &res), -EINVAL);
	assert_int_equal(res.outcome, ENGINE_REFUSED);
	engine_result_free(&res);
	profile_doc_free(doc);
}

static void live_root(struct fx *f)
{
	put(f, "/proc/sys/vm/panic_on_oom", "1\n");
	put(f, "/proc/sys/vm/overcommit_memory", "0\n");
	put(f, "/proc/sys/kernel/panic", "0\n");
	put(f, "/proc/sys/kernel/panic_on_oops", "0\n");
	put(f, "/proc/sys/kernel/keys/root_maxkeys", "200\n");
	put(f, "/proc/sys/kernel/keys/root_maxbytes", "20000\n");
}

static void test_engine_missing_unit_refused(void **state)
{
	struct fx *f = *state;
	struct engine_result res;

	live_root(f);
	F.unit_missing = true;
	assert_int_equal(apply(f, true, &res), ENGINE_REFUSED);
	engine_result_free(&res);
	/* before anything was written: no state directory, no new file */
	assert_false(exists(f, "/var/lib/k3s-harden"));
	assert_false(exists(f, "/etc/sysctl.d/90-kubelet.conf"));
}

static void test_engine_live_restart_and_drift(void **state)
{
	struct fx *f = *state;
	struct engine_result res;
	char *v = NULL;

	live_root(f);
	assert_int_equal(apply(f, true, &res), ENGINE_DONE);
	assert_true(res.restarted);
	assert_false(res.pending);
	engine_result_free(&res);
	assert_int_equal(sysctl_get(f->root, "kernel.panic", &v), 0);
	assert_string_equal(v, "10");
	free(v);
	/* a value drifts while the files stay hardened: set live, no generation */
	put(f, "/proc/sys/kernel/panic", "0\n");
	assert_int_equal(apply(f, true, &res), ENGINE_DONE);
	assert_true(res.kernel_only);
	assert_int_equal(res.plan.n_drift, 1);
	engine_result_free(&res);
	assert_int_equal(generations(f), 1);
	assert_int_equal(sysctl_get(f->root, "kernel.panic", &v), 0);
	assert_string_equal(v, "10");
	free(v);
}

/* Each generation records the role its files were for; rollback's evidence
 * uses it, not a guess from the unit's name (an agent's unit need not say
 * "agent"); a generation from before the role was recorded still guesses. */
static void test_engine_generation_records_role(void **state)
{
	struct fx *f = *state;
	struct engine_result res;
	struct profile_doc *doc;
	struct engine_opts o;
	struct generation g;
	struct gen_entry *e = NULL;
	size_t n = 0;
	char *ev;

	write_file(f->profile, "extends: cis\nname: t\nrole: auto\nunit: k3s-node.service\n"
		   "restart: { job_timeout: 1s, settle: 0s, health_command: [] }\n");
	live_root(f);
	doc = load(f);
	o = opts(f, true);
	o.role = "agent";
	engine_apply(doc->p, &o, &res);
	assert_int_equal(res.outcome, ENGINE_DONE);
	assert_true(res.restarted);
	engine_result_free(&res);
	assert_int_equal(txn_read_generation(f->root, "000001", &g, &e, &n), 0);
	gen_entries_free(e, n);
	assert_string_equal(g.unit, "k3s-node.service");
	assert_string_equal(g.role, "agent");
	/* rollback without --role: the generation says agent, its unit's name does not */
	o.role = NULL;
	assert_int_equal(engine_rollback(doc->p, NULL, &o, &res), 0);
	assert_int_equal(res.outcome, ENGINE_DONE);
	engine_result_free(&res);
	assert_int_equal(txn_read_generation(f->root, "000002", &g, &e, &n), 0);
	gen_entries_free(e, n);
	assert_string_equal(g.role, "agent");
	ev = slurp(f, TXN_STATE_DIR "/backups/000002/evidence.json");
	assert_non_null(ev);
	assert_non_null(strstr(ev, "\"role\":\"agent\""));
	free(ev);
	profile_doc_free(doc);
}

/* A manifest without a role line (an older k3s-harden) reads as "". */
static void test_engine_old_generation_without_role(void **state)
{
	struct fx *f = *state;
	struct generation g;
	struct gen_entry *e = NULL;
	size_t n = 0;

	put(f, TXN_STATE_DIR "/backups/000004/manifest",
	    "k3s-harden-generation 1\nid 000004\ntime 1700000000\nprofile cis\nkind apply\n"
	    "unit k3s-agent.service\nretention 10\n");
	put(f, TXN_STATE_DIR "/backups/000004/state", "committed");
	assert_int_equal(txn_read_generation(f->root, "000004", &g, &e, &n), 0);
	gen_entries_free(e, n);
	assert_string_equal(g.role, "");
	assert_string_equal(g.unit, "k3s-agent.service");
}

static void test_engine_plan_knows_the_host_changed(void **state)
{
	struct fx *f = *state;
	struct profile_doc *doc = load(f);
	struct engine_opts o = opts(f, false);
	struct plan pl;

	assert_int_equal(engine_plan(doc->p, &o, &pl), 0);
	assert_true(plan_still_current(f->root, &pl));
	put(f, "/etc/rancher/k3s/config.yaml", "token: other\n");
	assert_false(plan_still_current(f->root, &pl));
	plan_free(&pl);
	assert_int_equal(engine_plan(doc->p, &o, &pl), 0);
	put(f, "/etc/sysctl.d/90-kubelet.conf", "kernel.panic = 1\n");
	assert_false(plan_still_current(f->root, &pl));
	plan_free(&pl);
	profile_doc_free(doc);
}

/* ---- opt_in.file_modes: what the plan tightens ---- */

static void put_mode(const struct fx *f, const char *rel, mode_t mode)
{
	char path[512];

	put(f, rel, "PEM\n");
	at(f, rel, path, sizeof(path));
	assert_int_equal(chmod(path, mode), 0);
}

static const struct change *mode_change(const struct plan *pl, const char *path)
{
	size_t i;

	for (i = 0; i < pl->n; i++)
		if (pl->v[i].kind == ART_MODE && !strcmp(pl->v[i].path, path))
			return &pl->v[i];
	return NULL;
}

static size_t mode_changes(const struct plan *pl)
{
	size_t i, k = 0;

	for (i = 0; i < pl->n; i++)
		k += pl->v[i].kind == ART_MODE;
	return k;
}

static void plan_with(struct fx *f, const char *extra, struct plan *pl)
{
	struct profile_doc *doc;
	struct engine_opts o = opts(f, false);
	char text[512];

	snprintf(text, sizeof(text), "extends: k3s-cis-1.9\nname: t\nrole: server\n%s", extra);
	write_file(f->profile, text);
	doc = load(f);
	assert_int_equal(engine_plan(doc->p, &o, pl), 0);
	profile_doc_free(doc);
}

static void test_engine_plan_modes(void **state)
{
	struct fx *f = *state;
	const struct change *c;
	struct plan pl;
	char path[512], target[512];

	put_mode(f, "/var/lib/rancher/k3s/server/tls/a.crt", 0644);
	put_mode(f, "/var/lib/rancher/k3s/server/tls/b.key", 0640);
	put_mode(f, "/var/lib/rancher/k3s/server/tls/c.crt", 0400);
	put_mode(f, "/var/lib/rancher/k3s/server/tls/etcd/d.crt", 0644);
	put_mode(f, "/var/lib/rancher/k3s/server/cred/admin.kubeconfig", 0604);
	put_mode(f, "/outside.crt", 0644);
	at(f, "/var/lib/rancher/k3s/server/tls/l.crt", path, sizeof(path));
	at(f, "/outside.crt", target, sizeof(target));
	assert_int_equal(symlink(target, path), 0);

	/* off by default: the K3s files are not in the plan */
	plan_with(f, "", &pl);
	assert_int_equal(mode_changes(&pl), 0);
	plan_free(&pl);

	plan_with(f, "opt_in: { file_modes: true }\n", &pl);
	c = mode_change(&pl, "/var/lib/rancher/k3s/server/tls/a.crt");
	assert_non_null(c);
	assert_int_equal(c->action, ACT_UPDATE);
	assert_int_equal(c->old_mode, 0644);
	assert_int_equal(c->mode, 0600);
	assert_false(c->content);
	assert_null(c->old_data);       /* never read: it may be a key */
	assert_null(c->new_data);
	assert_false(c->flags & CHANGE_RESTART);
	c = mode_change(&pl, "/var/lib/rancher/k3s/server/tls/b.key");
	assert_non_null(c);
	assert_int_equal(c->mode, 0600);        /* 0640 & 0600 */
	c = mode_change(&pl, "/var/lib/rancher/k3s/server/cred/admin.kubeconfig");
	assert_non_null(c);
	assert_int_equal(c->mode, 0600);
	/* already tighter, not in k3s-cis-1.9's tls/ *.crt, a symbolic link */
	assert_null(mode_change(&pl, "/var/lib/rancher/k3s/server/tls/c.crt"));
	assert_null(mode_change(&pl, "/var/lib/rancher/k3s/server/tls/etcd/d.crt"));
	assert_null(mode_change(&pl, "/var/lib/rancher/k3s/server/tls/l.crt"));
	assert_int_equal(mode_changes(&pl), 3);
	/* someone chmods it after the plan: the plan knows */
	assert_true(plan_still_current(f->root, &pl));
	at(f, "/var/lib/rancher/k3s/server/tls/a.crt", path, sizeof(path));
	assert_int_equal(chmod(path, 0640), 0);
	assert_false(plan_still_current(f->root, &pl));
	plan_free(&pl);

	/* a moved data-dir: K3s's files are there, the default dir is not K3s's */
	put(f, "/etc/rancher/k3s/config.yaml", CONFIG "data-dir: /srv/k3s\n");
	put_mode(f, "/srv/k3s/server/tls/e.key", 0644);
	plan_with(f, "opt_in: { file_modes: true }\n", &pl);
	assert_non_null(mode_change(&pl, "/srv/k3s/server/tls/e.key"));
	assert_int_equal(mode_changes(&pl), 1);
	plan_free(&pl);
}

static void test_engine_prints_nothing(void **state)
{
	struct fx *f = *state;
	struct engine_result res;
	char path[512];
	int saved_out, saved_err, fd;
	struct stat st;

	at(f, "/captured", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	live_root(f);
	F.unit_missing = true;
	apply(f, true, &res);          /* refused, with an error event */
	engine_result_free(&res);
	fakesd_reset();
	apply(f, true, &res);          /* done, with notes */
	engine_result_free(&res);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	close(fd);
	assert_int_equal(stat(path, &st), 0);
	if (!getenv("K3H_TEST_VERBOSE"))
		assert_int_equal(st.st_size, 0);
	assert_true(f->events > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_engine_apply_then_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_role_note_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_rollback_returns_the_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_missing_unit_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_live_restart_and_drift, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_generation_records_role, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_old_generation_without_role, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_plan_knows_the_host_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_prints_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_plan_modes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
