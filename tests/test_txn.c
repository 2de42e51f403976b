/*
 * The transaction module on a temporary root: backups before replacement,
 * commit, restore, crash recovery from a left-over journal, history order,
 * the manifest read back, the lock timeout, retention, the number of
 * syncs staying flat as the number of files grows (DESIGN.md, durability),
 * and mode-only changes (GEN_MODE) undone by restore and by recovery.
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sysctl.h"
#include "txn.h"

#define TMP_PREFIX "/tmp/k3h-txn-"
#define OWNER 1234

struct fixture {
	char root[64];
	struct diags e;
};

/* ---- fixture: one mkdtemp root per test ---- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->root, TMP_PREFIX "XXXXXX");
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static void rm_tree(const char *dir)
{
	char cmd[128];

	/* only our own mkdtemp directory */
	if (strncmp(dir, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	char outside[80];

	diags_free(&f->e);
	snprintf(outside, sizeof(outside), "%s-outside", f->root);
	rm_tree(outside);
	rm_tree(f->root);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static void print_diags(const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);

		print_error("%s\n", s ? s : "(out of memory)");
		free(s);
	}
}

static bool diags_mention(const struct diags *d, const char *word)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->v[i].msg && strstr(d->v[i].msg, word))
			return true;
	return false;
}

static void at(const struct fixture *f, const char *rel, char *out, size_t size)
{
	int k = snprintf(out, size, "%s%s", f->root, rel);

	assert_true(k > 0 && (size_t)k < size);
}

static void mkdirs(const struct fixture *f, const char *rel, mode_t mode)
{
	char path[512], *p;

	at(f, rel, path, sizeof(path));
	for (p = path + strlen(f->root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	assert_true(mkdir(path, mode) == 0 || errno == EEXIST);
	assert_int_equal(chmod(path, mode), 0);
}

static void put(const struct fixture *f, const char *rel, const char *text, mode_t mode,
		uid_t uid, gid_t gid)
{
	char path[512];
	FILE *fp;

	at(f, rel, path, sizeof(path));
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
	assert_int_equal(chown(path, uid, gid), 0);
}

/* The file's content (NULL when it does not exist); st filled when it does. */
static char *slurp(const struct fixture *f, const char *rel, struct stat *st)
{
	char path[512], *buf;
	FILE *fp;
	long n;

	at(f, rel, path, sizeof(path));
	if (lstat(path, st) < 0)
		return NULL;
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

static void assert_file(const struct fixture *f, const char *rel, const char *text, mode_t mode,
			uid_t uid, gid_t gid)
{
	struct stat st;
	char *data = slurp(f, rel, &st);

	if (!data)
		fail_msg("'%s' does not exist", rel);
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(data, text);
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	free(data);
}

static bool exists(const struct fixture *f, const char *rel)
{
	char path[512];
	struct stat st;

	at(f, rel, path, sizeof(path));
	return lstat(path, &st) == 0;
}

static void assert_dir(const struct fixture *f, const char *rel, mode_t mode, uid_t uid)
{
	char path[512];
	struct stat st;

	at(f, rel, path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, uid);
}

/* Temp files of ours (".NAME.k3s-harden.tmp") anywhere below rel. */
static int count_temps(const struct fixture *f, const char *rel)
{
	char cmd[600], path[512];
	FILE *p;
	int n = 0, c;

	at(f, rel, path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "find '%s' -name '.*.k3s-harden.tmp' 2>/dev/null", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((c = fgetc(p)) != EOF)
		n += c == '\n';
	pclose(p);
	return n;
}

static struct change file_target(const char *path, const char *text, mode_t mode)
{
	struct change t;

	memset(&t, 0, sizeof(t));
	t.path = (char *)(uintptr_t)path;
	t.kind = ART_FILE;
	t.action = ACT_UPDATE;
	t.new_data = (char *)(uintptr_t)text;
	t.new_len = strlen(text);
	t.mode = mode;
	return t;
}

static struct change dir_target(const char *path, mode_t mode)
{
	struct change t;

	memset(&t, 0, sizeof(t));
	t.path = (char *)(uintptr_t)path;
	t.kind = ART_DIR;
	t.action = ACT_UPDATE;
	t.mode = mode;
	return t;
}

static struct change remove_target(const char *path)
{
	struct change t;

	memset(&t, 0, sizeof(t));
	t.path = (char *)(uintptr_t)path;
	t.kind = ART_FILE;
	t.action = ACT_REMOVE;
	return t;
}

static struct txn *open_txn(struct fixture *f, const char *profile, unsigned retention,
			    bool *recovered)
{
	struct txn_opts o = { f->root, profile, "apply", 1000, retention };
	struct txn *t = NULL;
	bool rec = false;
	int r = txn_open(&o, &t, &rec, &f->e);

	if (r < 0)
		print_diags(&f->e);
	assert_int_equal(r, 0);
	assert_non_null(t);
	if (recovered)
		*recovered = rec;
	return t;
}

static void prepare_write(struct fixture *f, struct txn *t, const struct change *v, size_t n)
{
	int r = txn_prepare(t, v, n, &f->e);

	if (r < 0)
		print_diags(&f->e);
	assert_int_equal(r, 0);
	r = txn_write(t, &f->e);
	if (r < 0)
		print_diags(&f->e);
	assert_int_equal(r, 0);
}

/* One whole transaction; the generation id into id. */
static void run_txn(struct fixture *f, const char *profile, unsigned retention,
		    const struct change *v, size_t n, char *id, size_t size)
{
	struct txn *t = open_txn(f, profile, retention, NULL);

	prepare_write(f, t, v, n);
	assert_int_equal(txn_commit(t, false, &f->e), 0);
	if (id)
		snprintf(id, size, "%s", txn_generation(t));
	txn_close(t);
}

static char *gen_state(const struct fixture *f, const char *id)
{
	char rel[128];
	struct stat st;

	snprintf(rel, sizeof(rel), "%s/backups/%s/state", TXN_STATE_DIR, id);
	return slurp(f, rel, &st);
}

/*
 * A host with a user's config (owned by someone else, group-readable), an
 * existing directory whose mode the transaction tightens, and nothing yet
 * where new files go.
 */
static void populate(struct fixture *f)
{
	if (geteuid() != 0)
		skip();         /* owners other than ours need root */
	mkdirs(f, "/etc/app", 0755);
	put(f, "/etc/app/config.yaml", "token: s3cr3t\n", 0640, OWNER, OWNER);
	put(f, "/etc/app/old.conf", "# Generated by k3s-harden\nold\n", 0644, 0, 0);
	mkdirs(f, "/srv/state", 0750);
	{
		char p[512];

		at(f, "/srv/state", p, sizeof(p));
		assert_int_equal(chown(p, OWNER, OWNER), 0);
	}
}

/* The targets that harden the populated host. */
static size_t hardening(struct change *v)
{
	size_t n = 0;

	v[n++] = file_target("/etc/app/config.yaml", "token: s3cr3t\nsecrets-encryption: true\n", 0600);
	v[n++] = file_target("/etc/app/new.d/90-kubelet.conf", "vm.panic_on_oom=0\n", 0644);
	v[n] = file_target("/var/lib/app/server/psa.yaml", "kind: AdmissionConfiguration\n", 0600);
	v[n++].flags |= CHANGE_RESTART;
	v[n++] = dir_target("/var/lib/app/server/logs", 0700);
	v[n++] = dir_target("/srv/state", 0700);
	v[n++] = remove_target("/etc/app/old.conf");
	return n;
}

static void assert_hardened(const struct fixture *f)
{
	assert_file(f, "/etc/app/config.yaml", "token: s3cr3t\nsecrets-encryption: true\n", 0600, 0, 0);
	assert_file(f, "/etc/app/new.d/90-kubelet.conf", "vm.panic_on_oom=0\n", 0644, 0, 0);
	assert_file(f, "/var/lib/app/server/psa.yaml", "kind: AdmissionConfiguration\n", 0600, 0, 0);
	assert_dir(f, "/var/lib/app/server/logs", 0700, 0);
	assert_dir(f, "/srv/state", 0700, 0);
	assert_false(exists(f, "/etc/app/old.conf"));
}

static void assert_pristine(const struct fixture *f)
{
	char p[512];
	struct stat st;

	assert_file(f, "/etc/app/config.yaml", "token: s3cr3t\n", 0640, OWNER, OWNER);
	assert_file(f, "/etc/app/old.conf", "# Generated by k3s-harden\nold\n", 0644, 0, 0);
	assert_false(exists(f, "/etc/app/new.d"));
	assert_false(exists(f, "/var/lib/app"));
	assert_dir(f, "/srv/state", 0750, OWNER);
	at(f, "/srv/state", p, sizeof(p));
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_gid, OWNER);
	assert_int_equal(count_temps(f, "/etc"), 0);
	assert_int_equal(count_temps(f, "/srv"), 0);
}

/* ---- tests ---- */

static void test_txn_prepare_write_commit(void **state)
{
	struct fixture *f = *state;
	struct change v[8];
	size_t n;
	struct txn *t;
	struct generation g;
	struct gen_entry *e = NULL;
	size_t ne = 0, i;
	char id[16], *s, *blob = NULL;
	size_t bl = 0;
	bool recovered = true;

	populate(f);
	n = hardening(v);
	t = open_txn(f, "cis", 10, &recovered);
	assert_false(recovered);
	assert_dir(f, TXN_STATE_DIR, 0700, 0);
	assert_dir(f, TXN_STATE_DIR "/backups", 0700, 0);
	assert_int_equal(txn_prepare(t, v, n, &f->e), 0);
	snprintf(id, sizeof(id), "%s", txn_generation(t));
	assert_string_equal(id, "000001");
	/* phase 2 done: journal and generation exist, the host is untouched */
	assert_true(exists(f, TXN_STATE_DIR "/journal"));
	assert_pristine(f);
	assert_dir(f, TXN_STATE_DIR "/backups/000001", 0700, 0);
	assert_int_equal(txn_write(t, &f->e), 0);
	assert_hardened(f);
	assert_true(exists(f, TXN_STATE_DIR "/journal"));
	assert_int_equal(txn_commit(t, true, &f->e), 0);
	assert_false(exists(f, TXN_STATE_DIR "/journal"));
	assert_true(txn_stats(t)->syncs > 0);
	txn_close(t);
	assert_hardened(f);
	assert_int_equal(count_temps(f, "/"), 0);
	s = gen_state(f, id);
	assert_non_null(s);
	assert_string_equal(s, "committed restart-pending");
	free(s);

	/* every backup: the old bytes, 0600, root-owned */
	assert_int_equal(txn_read_generation(f->root, id, &g, &e, &ne), 0);
	for (i = 0; i < ne; i++) {
		char rel[128];
		struct stat st;

		if (!e[i].blob)
			continue;
		snprintf(rel, sizeof(rel), "%s/backups/%s/%s", TXN_STATE_DIR, id, e[i].blob);
		s = slurp(f, rel, &st);
		assert_non_null(s);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_int_equal(st.st_uid, 0);
		assert_int_equal(st.st_gid, 0);
		free(s);
		if (strcmp(e[i].path, "/etc/app/config.yaml") == 0) {
			assert_int_equal(txn_read_blob(f->root, id, e[i].blob, &blob, &bl), 0);
			assert_string_equal(blob, "token: s3cr3t\n");
			assert_int_equal(bl, strlen("token: s3cr3t\n"));
			free(blob);
			blob = NULL;
		}
	}
	gen_entries_free(e, ne);
}

static void test_txn_restore_after_write(void **state)
{
	struct fixture *f = *state;
	struct change v[8];
	size_t n;
	struct txn *t;
	char id[16], *s;

	populate(f);
	n = hardening(v);
	t = open_txn(f, "cis", 10, NULL);
	prepare_write(f, t, v, n);
	assert_hardened(f);
	snprintf(id, sizeof(id), "%s", txn_generation(t));
	assert_int_equal(txn_restore(t, &f->e), 0);
	assert_int_equal(f->e.n, 0);
	assert_false(exists(f, TXN_STATE_DIR "/journal"));
	/* a second restore has nothing left to do */
	assert_int_equal(txn_restore(t, &f->e), 0);
	txn_close(t);
	assert_pristine(f);
	s = gen_state(f, id);
	assert_non_null(s);
	assert_string_equal(s, "rolled-back");
	free(s);
}

static void test_txn_restore_before_write(void **state)
{
	struct fixture *f = *state;
	struct change v[8];
	size_t n;
	struct txn *t;

	struct stat before, after;
	char *data;

	populate(f);
	n = hardening(v);
	data = slurp(f, "/etc/app/config.yaml", &before);
	free(data);
	t = open_txn(f, "cis", 10, NULL);
	assert_int_equal(txn_prepare(t, v, n, &f->e), 0);
	assert_int_equal(txn_restore(t, &f->e), 0);
	txn_close(t);
	assert_pristine(f);
	assert_false(exists(f, TXN_STATE_DIR "/journal"));
	/*
	 * Nothing was replaced, so nothing needs writing back: a restore that
	 * rewrites untouched files needs free space and fails on a full disk.
	 */
	data = slurp(f, "/etc/app/config.yaml", &after);
	free(data);
	if (before.st_ino != after.st_ino)
		fail_msg("restore rewrote /etc/app/config.yaml although the transaction never replaced it");
}

static void test_txn_recover_journal(void **state)
{
	struct fixture *f = *state;
	struct change v[8];
	size_t n;
	struct txn *t;
	char id[16], *s;
	bool recovered = false;
	struct generation *h = NULL;
	size_t nh = 0;

	populate(f);
	n = hardening(v);
	t = open_txn(f, "cis", 10, NULL);
	prepare_write(f, t, v, n);
	snprintf(id, sizeof(id), "%s", txn_generation(t));
	/* a temp file beside a target, as a crash during phase 3 leaves it */
	put(f, "/etc/app/.config.yaml.k3s-harden.tmp", "half", 0600, 0, 0);
	txn_close(t);   /* no commit, no restore: as if the process died */
	assert_true(exists(f, TXN_STATE_DIR "/journal"));
	assert_hardened(f);

	t = open_txn(f, "cis", 10, &recovered);
	assert_true(recovered);
	assert_string_equal(txn_generation(t), id);
	assert_false(exists(f, TXN_STATE_DIR "/journal"));
	assert_pristine(f);
	txn_close(t);
	s = gen_state(f, id);
	assert_non_null(s);
	assert_string_equal(s, "interrupted");
	free(s);

	/* once undone, a later open finds nothing to do */
	t = open_txn(f, "cis", 10, &recovered);
	assert_false(recovered);
	/* and the next transaction gets a new id */
	prepare_write(f, t, v, n);
	assert_string_not_equal(txn_generation(t), id);
	assert_int_equal(txn_commit(t, false, &f->e), 0);
	txn_close(t);
	assert_hardened(f);
	assert_int_equal(txn_history(f->root, &h, &nh), 0);
	assert_int_equal(nh, 2);
	assert_string_equal(h[0].state, "committed");
	assert_string_equal(h[1].state, "interrupted");
	free(h);
}

static void test_txn_recover_prepared_only(void **state)
{
	struct fixture *f = *state;
	struct change v[8];
	size_t n;
	struct txn *t;
	bool recovered = false;

	populate(f);
	n = hardening(v);
	t = open_txn(f, "cis", 10, NULL);
	assert_int_equal(txn_prepare(t, v, n, &f->e), 0);
	txn_close(t);   /* died between phase 2 and 3 */
	t = open_txn(f, "cis", 10, &recovered);
	assert_true(recovered);
	assert_false(exists(f, TXN_STATE_DIR "/journal"));
	txn_close(t);
	assert_pristine(f);
}

static void test_txn_history_order(void **state)
{
	struct fixture *f = *state;
	struct generation *h = NULL;
	size_t nh = 99, i;
	char ids[4][16];
	const char *texts[] = { "one\n", "two\n", "three\n", "four\n" };
	const char *profiles[] = { "cis", "cis-agent", "my profile", "base" };

	/* no state directory yet: empty, not an error */
	assert_int_equal(txn_history(f->root, &h, &nh), 0);
	assert_int_equal(nh, 0);
	free(h);
	h = NULL;
	for (i = 0; i < 4; i++) {
		struct change v = file_target("/etc/h.conf", texts[i], 0600);

		run_txn(f, profiles[i], 10, &v, 1, ids[i], sizeof(ids[i]));
	}
	assert_int_equal(txn_history(f->root, &h, &nh), 0);
	assert_int_equal(nh, 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(h[i].id, ids[3 - i]);
		assert_string_equal(h[i].kind, "apply");
		assert_string_equal(h[i].state, "committed");
		assert_int_equal(h[i].files, 1);
		assert_true(h[i].time > 0 && h[i].time <= (long long)time(NULL));
		if (i + 1 < 4)
			assert_true(strcmp(h[i].id, h[i + 1].id) > 0);
	}
	assert_string_equal(h[0].profile, "base");
	assert_string_equal(h[1].profile, "my_profile");   /* one word in the manifest */
	assert_string_equal(h[3].profile, "cis");
	free(h);
}

static void test_txn_manifest_round_trip(void **state)
{
	struct fixture *f = *state;
	struct change v[10];
	size_t n, ne = 0, i;
	struct generation g;
	struct gen_entry *e = NULL;
	char id[16];
	bool seen_cfg = false, seen_new = false, seen_made = false, seen_mode = false,
	     seen_removed = false, seen_space = false, seen_flags = false;

	populate(f);
	put(f, "/etc/app/my app.conf", "spaced\n", 0604, OWNER, 0);
	n = hardening(v);
	v[n++] = file_target("/etc/app/my app.conf", "spaced, hardened\n", 0600);
	v[n] = file_target("/etc/sysctl.d/90-kubelet.conf", "kernel.panic=10\n", 0644);
	v[n].flags |= CHANGE_SYSCTL;
	v[n++].flags |= CHANGE_RESTART;
	v[n] = file_target("/var/lib/app/server/manifests/np.yaml", "kind: NetworkPolicy\n", 0600);
	v[n++].flags |= CHANGE_MANIFEST;
	run_txn(f, "cis", 10, v, n, id, sizeof(id));

	assert_int_equal(txn_read_generation(f->root, id, &g, &e, &ne), 0);
	assert_string_equal(g.id, id);
	assert_string_equal(g.profile, "cis");
	assert_string_equal(g.kind, "apply");
	assert_string_equal(g.state, "committed");
	assert_false(g.restart_pending);
	for (i = 0; i < ne; i++) {
		const struct gen_entry *x = &e[i];

		if (strcmp(x->path, "/etc/app/config.yaml") == 0) {
			seen_cfg = true;
			assert_int_equal(x->kind, GEN_FILE);
			assert_true(x->existed);
			assert_int_equal(x->mode, 0640);
			assert_int_equal(x->uid, OWNER);
			assert_int_equal(x->gid, OWNER);
			assert_non_null(x->blob);
		} else if (strcmp(x->path, "/etc/app/new.d/90-kubelet.conf") == 0) {
			seen_new = true;
			assert_int_equal(x->kind, GEN_FILE);
			assert_false(x->existed);
			assert_null(x->blob);
		} else if (strcmp(x->path, "/var/lib/app/server/logs") == 0) {
			seen_made = true;
			assert_int_equal(x->kind, GEN_DIR_MADE);
			assert_int_equal(x->mode, 0700);
		} else if (strcmp(x->path, "/srv/state") == 0) {
			seen_mode = true;
			assert_int_equal(x->kind, GEN_DIR_META);
			assert_int_equal(x->mode, 0750);
			assert_int_equal(x->uid, OWNER);
		} else if (strcmp(x->path, "/etc/app/old.conf") == 0) {
			seen_removed = true;
			assert_int_equal(x->kind, GEN_FILE);
			assert_true(x->existed);
			assert_int_equal(x->mode, 0644);
			assert_non_null(x->blob);
		} else if (strcmp(x->path, "/etc/app/my app.conf") == 0) {
			char *data = NULL;
			size_t len = 0;

			seen_space = true;
			assert_int_equal(x->mode, 0604);
			assert_int_equal(txn_read_blob(f->root, id, x->blob, &data, &len), 0);
			assert_string_equal(data, "spaced\n");
			free(data);
		} else if (strcmp(x->path, "/etc/sysctl.d/90-kubelet.conf") == 0) {
			seen_flags = true;
			assert_int_equal(x->flags, CHANGE_SYSCTL | CHANGE_RESTART);
		} else if (strcmp(x->path, "/var/lib/app/server/manifests/np.yaml") == 0) {
			assert_int_equal(x->flags, CHANGE_MANIFEST);
		}
	}
	assert_true(seen_cfg && seen_new && seen_made && seen_mode && seen_removed && seen_space &&
		    seen_flags);
	gen_entries_free(e, ne);
	/* a name that is not a generation is refused, not followed */
	e = NULL;
	ne = 0;
	assert_true(txn_read_generation(f->root, "../../etc", &g, &e, &ne) < 0);
	assert_true(txn_read_generation(f->root, "999999", &g, &e, &ne) < 0);
	assert_int_equal(txn_set_restart_pending(f->root, id, true), 0);
	assert_int_equal(txn_read_generation(f->root, id, &g, &e, &ne), 0);
	assert_true(g.restart_pending);
	assert_string_equal(g.state, "committed");
	gen_entries_free(e, ne);
	e = NULL;
	ne = 0;
	assert_int_equal(txn_set_restart_pending(f->root, id, false), 0);
	assert_int_equal(txn_read_generation(f->root, id, &g, &e, &ne), 0);
	assert_false(g.restart_pending);
	gen_entries_free(e, ne);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_txn_lock_timeout(void **state)
{
	struct fixture *f = *state;
	struct txn_opts o = { f->root, "cis", "apply", 200, 10 };
	struct txn *t1 = open_txn(f, "cis", 10, NULL), *t2 = NULL;
	bool rec = false;
	long long t0, dt;
	int r;

	/* flock belongs to the open file description: a second open conflicts */
	t0 = now_ms();
	r = txn_open(&o, &t2, &rec, &f->e);
	dt = now_ms() - t0;
	assert_int_equal(r, -EWOULDBLOCK);
	assert_null(t2);
	assert_true(dt >= 150);
	assert_true(dt < 5000);
	assert_true(diags_mention(&f->e, "lock"));
	diags_free(&f->e);

	o.lock_timeout_ms = 0;
	t0 = now_ms();
	assert_int_equal(txn_open(&o, &t2, &rec, &f->e), -EWOULDBLOCK);
	assert_true(now_ms() - t0 < 1000);
	diags_free(&f->e);

	txn_close(t1);
	o.lock_timeout_ms = 200;
	assert_int_equal(txn_open(&o, &t2, &rec, &f->e), 0);
	assert_non_null(t2);
	txn_close(t2);
}

static void test_txn_retention(void **state)
{
	struct fixture *f = *state;
	struct generation *h = NULL;
	size_t nh = 0, i;
	char id[16], rel[128], text[32];

	for (i = 0; i < 5; i++) {
		struct change v;

		snprintf(text, sizeof(text), "v%zu\n", i);
		v = file_target("/etc/r.conf", text, 0600);
		run_txn(f, "cis", 2, &v, 1, id, sizeof(id));
		assert_int_equal(txn_history(f->root, &h, &nh), 0);
		/* the last two, and the first: the host before the tool ever ran */
		assert_int_equal(nh, i < 3 ? i + 1 : 3);
		/* the newest is what a rollback needs: always kept */
		assert_string_equal(h[0].id, id);
		assert_string_equal(h[nh - 1].id, "000001");
		assert_int_equal(h[0].retention, 2);
		free(h);
		h = NULL;
	}
	assert_string_equal(id, "000005");
	snprintf(rel, sizeof(rel), "%s/backups/000004", TXN_STATE_DIR);
	assert_true(exists(f, rel));
	snprintf(rel, sizeof(rel), "%s/backups/000003", TXN_STATE_DIR);
	assert_false(exists(f, rel));
	/* the newest generation still restores its predecessor's bytes */
	{
		struct generation g;
		struct gen_entry *e = NULL;
		size_t ne = 0;
		char *data = NULL;
		size_t len = 0;

		assert_int_equal(txn_read_generation(f->root, id, &g, &e, &ne), 0);
		assert_int_equal(ne, 1);
		assert_non_null(e[0].blob);
		assert_int_equal(txn_read_blob(f->root, id, e[0].blob, &data, &len), 0);
		assert_string_equal(data, "v3\n");
		free(data);
		gen_entries_free(e, ne);
	}
	/* a pruned generation is known as pruned, one that never was is not */
	{
		unsigned keep = 0;

		assert_int_equal(txn_generation_pruned(f->root, "000003", &keep), 1);
		assert_int_equal(keep, 2);
		assert_int_equal(txn_generation_pruned(f->root, "000001", &keep), 0);
		assert_int_equal(txn_generation_pruned(f->root, "000009", &keep), 0);
	}
	/* retention 1 keeps the newest, and the first */
	{
		struct change v = file_target("/etc/r.conf", "last\n", 0600);

		run_txn(f, "cis", 1, &v, 1, id, sizeof(id));
	}
	assert_int_equal(txn_history(f->root, &h, &nh), 0);
	assert_int_equal(nh, 2);
	assert_string_equal(h[0].id, id);
	assert_string_equal(h[1].id, "000001");
	free(h);
	/* and the first still holds the bytes from before the first run */
	{
		struct generation g;
		struct gen_entry *e = NULL;
		size_t ne = 0;

		size_t k, files = 0;

		assert_int_equal(txn_read_generation(f->root, "000001", &g, &e, &ne), 0);
		for (k = 0; k < ne; k++)
			if (e[k].kind == GEN_FILE) {
				assert_string_equal(e[k].path, "/etc/r.conf");
				assert_false(e[k].existed);     /* it did not exist before */
				files++;
			}
		assert_int_equal(files, 1);
		gen_entries_free(e, ne);
	}
}

static void test_txn_refuses_symlink(void **state)
{
	struct fixture *f = *state;
	char outside[128], link[512], parent[512];
	struct change v[2];
	struct txn *t;
	struct stat st;
	int r;

	populate(f);
	snprintf(outside, sizeof(outside), "%s-outside", f->root);
	assert_int_equal(mkdir(outside, 0755), 0);
	at(f, "/etc/app/link.conf", link, sizeof(link));
	assert_int_equal(symlink(outside, link), 0);
	v[0] = file_target("/etc/app/link.conf", "nope\n", 0600);
	t = open_txn(f, "cis", 10, NULL);
	r = txn_prepare(t, v, 1, &f->e);
	assert_true(r < 0);
	assert_true(f->e.n > 0);
	assert_false(exists(f, TXN_STATE_DIR "/journal"));
	assert_false(exists(f, TXN_STATE_DIR "/backups/000001"));
	assert_false(exists(f, TXN_STATE_DIR "/backups/000001.tmp"));
	txn_close(t);
	diags_free(&f->e);

	/* a symlink planted at a parent of the state directory */
	{
		char moved[512];

		at(f, "/var/lib", parent, sizeof(parent));
		at(f, "/var/lib.old", moved, sizeof(moved));
		assert_int_equal(rename(parent, moved), 0);
		assert_int_equal(symlink(outside, parent), 0);
	}
	t = NULL;
	{
		struct txn_opts o = { f->root, "cis", "apply", 100, 10 };
		bool rec;

		/* the state directory lies below the link: refused */
		r = txn_open(&o, &t, &rec, &f->e);
		assert_true(r < 0);
		assert_null(t);
	}
	/* nothing was written outside the root */
	assert_int_equal(rmdir(outside), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

/* Syncs follow the phases, not the number of files. */
static void test_txn_syncs_per_phase(void **state)
{
	struct fixture *f = *state;
	struct change few[2], many[40];
	char names[40][64], texts[40][32];
	unsigned s_few, s_many;
	size_t i;
	struct txn *t;

	for (i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "/etc/many/f%02zu.conf", i);
		snprintf(texts[i], sizeof(texts[i]), "value %zu\n", i);
		many[i] = file_target(names[i], texts[i], 0644);
	}
	mkdirs(f, "/etc/many", 0755);
	mkdirs(f, "/etc/few", 0755);
	for (i = 0; i < 40; i++)
		put(f, names[i], "old\n", 0644, 0, 0);
	put(f, "/etc/few/a.conf", "old\n", 0644, 0, 0);
	put(f, "/etc/few/b.conf", "old\n", 0644, 0, 0);
	few[0] = file_target("/etc/few/a.conf", "a\n", 0644);
	few[1] = file_target("/etc/few/b.conf", "b\n", 0644);

	t = open_txn(f, "cis", 10, NULL);
	prepare_write(f, t, few, 2);
	assert_int_equal(txn_commit(t, false, &f->e), 0);
	s_few = txn_stats(t)->syncs;
	txn_close(t);
	t = open_txn(f, "cis", 10, NULL);
	prepare_write(f, t, many, 40);
	assert_int_equal(txn_commit(t, false, &f->e), 0);
	s_many = txn_stats(t)->syncs;
	assert_int_equal(txn_stats(t)->files, 40);
	txn_close(t);
	assert_true(s_few > 0);
	if (s_many > s_few + 2)
		fail_msg("%u syncs for 40 files against %u for 2: durability should follow phases",
			 s_many, s_few);
}

static int group_teardown(void **state)
{
	(void)state;
	return 0;
}

/* Kernel values recorded before they are set come back with the files after a crash. */
static void test_txn_recover_kernel_values(void **state)
{
	struct fixture *f = *state;
	struct change v[8];
	size_t n;
	struct txn *t;
	bool recovered = false;
	char *keys[] = { (char *)(uintptr_t)"kernel.panic", (char *)(uintptr_t)"net.core.somaxconn",
			 (char *)(uintptr_t)"vm.nokey" };
	char *old[] = { (char *)(uintptr_t)"0", (char *)(uintptr_t)"4096\t87380 100%", NULL };
	char *now = NULL;
	char *data, *j;
	struct stat st;

	populate(f);
	mkdirs(f, "/proc/sys/kernel", 0755);
	mkdirs(f, "/proc/sys/net/core", 0755);
	put(f, "/proc/sys/kernel/panic", "0\n", 0644, 0, 0);
	put(f, "/proc/sys/net/core/somaxconn", "4096\t87380 100%\n", 0644, 0, 0);
	n = hardening(v);
	t = open_txn(f, "cis", 10, NULL);
	prepare_write(f, t, v, n);
	assert_int_equal(txn_record_kernel(t, keys, old, 3, &f->e), 0);
	/* the journal holds them, blanks and all, before any is set */
	data = slurp(f, TXN_STATE_DIR "/journal", &st);
	assert_non_null(data);
	assert_non_null(strstr(data, "kernel kernel.panic 0\n"));
	assert_non_null(j = strstr(data, "kernel net.core.somaxconn "));
	j += strlen("kernel net.core.somaxconn ");
	/* one word: no blank before the end of its line */
	assert_true(strcspn(j, " \n") == strcspn(j, "\n"));
	assert_null(strstr(data, "vm.nokey"));
	free(data);
	assert_int_equal(sysctl_set(f->root, "kernel.panic", "10"), 0);
	assert_int_equal(sysctl_set(f->root, "net.core.somaxconn", "1"), 0);
	txn_close(t);   /* killed after setting them */

	t = open_txn(f, "cis", 10, &recovered);
	assert_true(recovered);
	assert_pristine(f);
	assert_int_equal(sysctl_get(f->root, "kernel.panic", &now), 0);
	assert_string_equal(now, "0");
	free(now);
	assert_int_equal(sysctl_get(f->root, "net.core.somaxconn", &now), 0);
	assert_true(sysctl_equal(now, "4096\t87380 100%"));
	free(now);
	txn_close(t);
}

/* txn_restore puts recorded kernel values back too. */
static void test_txn_restore_kernel_values(void **state)
{
	struct fixture *f = *state;
	struct change v[8];
	size_t n;
	struct txn *t;
	char *keys[] = { (char *)(uintptr_t)"kernel.panic" };
	char *old[] = { (char *)(uintptr_t)"0" };
	char *now = NULL;

	populate(f);
	mkdirs(f, "/proc/sys/kernel", 0755);
	put(f, "/proc/sys/kernel/panic", "0\n", 0644, 0, 0);
	n = hardening(v);
	t = open_txn(f, "cis", 10, NULL);
	prepare_write(f, t, v, n);
	assert_int_equal(txn_record_kernel(t, keys, old, 1, &f->e), 0);
	assert_int_equal(sysctl_set(f->root, "kernel.panic", "10"), 0);
	assert_int_equal(txn_restore(t, &f->e), 0);
	txn_close(t);
	assert_pristine(f);
	assert_int_equal(sysctl_get(f->root, "kernel.panic", &now), 0);
	assert_string_equal(now, "0");
	free(now);
}

/* A generation written by an earlier version (letters and flags on disk) reads the same. */
static void test_txn_reads_old_generation(void **state)
{
	struct fixture *f = *state;
	struct generation g;
	struct gen_entry *e = NULL;
	size_t ne = 0;

	mkdirs(f, TXN_STATE_DIR "/backups/000007", 0700);
	put(f, TXN_STATE_DIR "/backups/000007/manifest",
	    "k3s-harden-generation 1\nid 000007\ntime 1700000000\nprofile cis\nkind apply\nunit -\n"
	    "M 0 0755 0 0 - - /var/lib/rancher\n"
	    "D 1 0750 5 6 - - /srv/state\n"
	    "R 1 0700 0 0 - m /var/lib/rancher/k3s/server/manifests\n"
	    "F 1 0640 5 6 f0 rs /etc/sysctl.d/90-kubelet.conf\n"
	    "F 0 0000 0 0 - m /var/lib/rancher/k3s/server/manifests/np.yaml\n", 0600, 0, 0);
	put(f, TXN_STATE_DIR "/backups/000007/state", "committed", 0600, 0, 0);
	assert_int_equal(txn_read_generation(f->root, "000007", &g, &e, &ne), 0);
	assert_int_equal(ne, 5);
	assert_int_equal(g.files, 2);
	assert_int_equal(e[0].kind, GEN_DIR_MADE);
	assert_int_equal(e[1].kind, GEN_DIR_META);
	assert_int_equal(e[1].mode, 0750);
	assert_int_equal(e[2].kind, GEN_DIR_REMOVED);
	assert_int_equal(e[2].flags, CHANGE_MANIFEST);
	assert_int_equal(e[3].kind, GEN_FILE);
	assert_int_equal(e[3].flags, CHANGE_RESTART | CHANGE_SYSCTL);
	assert_string_equal(e[3].blob, "f0");
	assert_false(e[4].existed);
	assert_string_equal(gen_kind_name(e[2].kind), "dir-removed");
	gen_entries_free(e, ne);
}

/* The role, K3s version and benchmark a generation's files were for: written, read back; absent in old ones. */
static void test_txn_manifest_k3s_fields(void **state)
{
	struct fixture *f = *state;
	struct change v = file_target("/etc/k.conf", "one\n", 0600);
	struct generation g, *h = NULL;
	struct gen_entry *e = NULL;
	struct txn *t;
	size_t ne = 0, nh = 0;

	t = open_txn(f, "k3s-cis-1.24", 10, NULL);
	txn_set_role(t, "agent");
	txn_set_k3s(t, "v1.24.17+k3s1", "k3s-cis-1.24");
	prepare_write(f, t, &v, 1);
	assert_int_equal(txn_commit(t, false, &f->e), 0);
	assert_int_equal(txn_read_generation(f->root, txn_generation(t), &g, &e, &ne), 0);
	assert_string_equal(g.role, "agent");
	assert_string_equal(g.k3s_version, "v1.24.17+k3s1");
	assert_string_equal(g.benchmark, "k3s-cis-1.24");
	assert_string_equal(g.profile, "k3s-cis-1.24");
	assert_true(ne >= 1);
	assert_string_equal(e[ne - 1].path, "/etc/k.conf");
	gen_entries_free(e, ne);
	txn_close(t);
	/* not known: no lines, empty fields; one word each */
	v = file_target("/etc/k.conf", "two\n", 0600);
	t = open_txn(f, "cis", 10, NULL);
	txn_set_k3s(t, NULL, "my bench");
	prepare_write(f, t, &v, 1);
	assert_int_equal(txn_commit(t, false, &f->e), 0);
	e = NULL;
	ne = 0;
	assert_int_equal(txn_read_generation(f->root, txn_generation(t), &g, &e, &ne), 0);
	assert_string_equal(g.k3s_version, "");
	assert_string_equal(g.benchmark, "my_bench");
	assert_string_equal(g.role, "");
	gen_entries_free(e, ne);
	txn_close(t);
	/* a manifest from before the fields still reads, and history lists it */
	mkdirs(f, TXN_STATE_DIR "/backups/000009", 0700);
	put(f, TXN_STATE_DIR "/backups/000009/manifest",
	    "k3s-harden-generation 1\nid 000009\ntime 1700000000\nprofile cis\nkind apply\nunit -\n"
	    "F 0 0000 0 0 - - /etc/old.conf\n", 0600, 0, 0);
	put(f, TXN_STATE_DIR "/backups/000009/state", "committed", 0600, 0, 0);
	e = NULL;
	ne = 0;
	assert_int_equal(txn_read_generation(f->root, "000009", &g, &e, &ne), 0);
	assert_string_equal(g.k3s_version, "");
	assert_string_equal(g.benchmark, "");
	assert_int_equal(ne, 1);
	gen_entries_free(e, ne);
	assert_int_equal(txn_history(f->root, &h, &nh), 0);
	assert_int_equal(nh, 3);
	assert_string_equal(h[0].id, "000009");
	assert_string_equal(h[0].k3s_version, "");
	assert_string_equal(h[2].k3s_version, "v1.24.17+k3s1");
	free(h);
}

/* ---- mode-only changes (ART_MODE, opt_in.file_modes) ---- */

static struct change mode_target(const char *path, mode_t old, mode_t mode, uid_t uid, gid_t gid)
{
	struct change t;

	memset(&t, 0, sizeof(t));
	t.path = (char *)(uintptr_t)path;
	t.kind = ART_MODE;
	t.action = ACT_UPDATE;
	t.meta = true;
	t.old_mode = old;
	t.old_uid = uid;
	t.old_gid = gid;
	t.mode = mode;
	t.uid = uid;
	t.gid = gid;
	return t;
}

static void populate_tls(const struct fixture *f)
{
	mkdirs(f, "/k3s/server/tls", 0755);
	put(f, "/k3s/server/tls/server-ca.crt", "CERT\n", 0644, 0, 0);
	put(f, "/k3s/server/tls/server-ca.key", "KEY\n", 0644, OWNER, OWNER);
}

static void assert_mode(const struct fixture *f, const char *rel, mode_t mode, uid_t uid)
{
	struct stat st;
	char *data = slurp(f, rel, &st);

	assert_non_null(data);
	free(data);
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, uid);
}

static void test_txn_mode_change(void **state)
{
	struct fixture *f = *state;
	struct change v[3];
	struct txn *t;
	struct generation g;
	struct gen_entry *e = NULL;
	size_t ne = 0, i, blobs = 0;
	char id[16];

	populate_tls(f);
	v[0] = mode_target("/k3s/server/tls/server-ca.crt", 0644, 0600, 0, 0);
	v[1] = mode_target("/k3s/server/tls/server-ca.key", 0644, 0600, OWNER, OWNER);
	/* gone since the plan: skipped, not created */
	v[2] = mode_target("/k3s/server/tls/gone.key", 0644, 0600, 0, 0);
	t = open_txn(f, "strict", 10, NULL);
	prepare_write(f, t, v, 3);
	snprintf(id, sizeof(id), "%s", txn_generation(t));
	assert_int_equal(txn_commit(t, false, &f->e), 0);
	txn_close(t);
	assert_mode(f, "/k3s/server/tls/server-ca.crt", 0600, 0);
	assert_mode(f, "/k3s/server/tls/server-ca.key", 0600, OWNER);      /* the owner is kept */
	assert_false(exists(f, "/k3s/server/tls/gone.key"));
	/* the generation holds the old mode and owner, and no copy of the key */
	assert_int_equal(txn_read_generation(f->root, id, &g, &e, &ne), 0);
	assert_int_equal(ne, 2);
	for (i = 0; i < ne; i++) {
		assert_int_equal(e[i].kind, GEN_MODE);
		assert_string_equal(gen_kind_name(e[i].kind), "mode");
		assert_int_equal(e[i].mode, 0644);
		assert_null(e[i].blob);
		blobs += e[i].blob != NULL;
	}
	assert_int_equal(e[1].uid, OWNER);
	assert_int_equal(g.files, 0);
	assert_int_equal(blobs, 0);
	gen_entries_free(e, ne);
}

static void test_txn_mode_restore_and_recover(void **state)
{
	struct fixture *f = *state;
	struct change v[2];
	struct txn *t;
	bool recovered = false;

	populate_tls(f);
	v[0] = mode_target("/k3s/server/tls/server-ca.crt", 0644, 0600, 0, 0);
	v[1] = mode_target("/k3s/server/tls/server-ca.key", 0644, 0600, OWNER, OWNER);
	/* a failure after the chmods: txn_restore puts the old modes back */
	t = open_txn(f, "strict", 10, NULL);
	prepare_write(f, t, v, 2);
	assert_mode(f, "/k3s/server/tls/server-ca.key", 0600, OWNER);
	assert_int_equal(txn_restore(t, &f->e), 0);
	txn_close(t);
	assert_mode(f, "/k3s/server/tls/server-ca.crt", 0644, 0);
	assert_mode(f, "/k3s/server/tls/server-ca.key", 0644, OWNER);
	/* a crash after the chmods: the next open undoes them from the journal */
	t = open_txn(f, "strict", 10, NULL);
	prepare_write(f, t, v, 2);
	txn_close(t);
	assert_mode(f, "/k3s/server/tls/server-ca.crt", 0600, 0);
	t = open_txn(f, "strict", 10, &recovered);
	assert_true(recovered);
	txn_close(t);
	assert_mode(f, "/k3s/server/tls/server-ca.crt", 0644, 0);
	assert_mode(f, "/k3s/server/tls/server-ca.key", 0644, OWNER);
}

static void test_txn_mode_refuses_symlink(void **state)
{
	struct fixture *f = *state;
	struct change v[1];
	struct txn *t;
	char target[512], link[512];

	populate_tls(f);
	at(f, "/k3s/server/tls/server-ca.crt", target, sizeof(target));
	at(f, "/k3s/server/tls/link.crt", link, sizeof(link));
	assert_int_equal(symlink(target, link), 0);
	v[0] = mode_target("/k3s/server/tls/link.crt", 0644, 0600, 0, 0);
	t = open_txn(f, "strict", 10, NULL);
	assert_true(txn_prepare(t, v, 1, &f->e) < 0);
	txn_close(t);
	assert_mode(f, "/k3s/server/tls/server-ca.crt", 0644, 0);
}

/* The journal as text, and put back as given. */
static char *journal_of(struct fixture *f)
{
	struct stat st;
	char *j = slurp(f, TXN_STATE_DIR "/journal", &st);

	assert_non_null(j);
	return j;
}

/* A journal version 1 (no sums, no end line), as an earlier k3s-harden wrote it: still undone. */
static void test_txn_recover_v1_journal(void **state)
{
	struct fixture *f = *state;
	struct change v[8];
	size_t n;
	struct txn *t;
	char id[16], text[128], *s, *now = NULL;
	bool recovered = false;

	populate(f);
	mkdirs(f, "/proc/sys/kernel", 0755);
	put(f, "/proc/sys/kernel/panic", "0\n", 0644, 0, 0);
	n = hardening(v);
	t = open_txn(f, "cis", 10, NULL);
	prepare_write(f, t, v, n);
	snprintf(id, sizeof(id), "%s", txn_generation(t));
	s = journal_of(f);
	assert_true(strncmp(s, "k3s-harden-journal 2\n", 21) == 0);
	free(s);
	snprintf(text, sizeof(text), "k3s-harden-journal 1\nid %s\nkernel kernel.panic 0\n", id);
	put(f, TXN_STATE_DIR "/journal", text, 0600, 0, 0);
	assert_int_equal(sysctl_set(f->root, "kernel.panic", "10"), 0);
	txn_close(t);   /* killed */

	t = open_txn(f, "cis", 10, &recovered);
	assert_true(recovered);
	txn_close(t);
	assert_false(exists(f, TXN_STATE_DIR "/journal"));
	assert_pristine(f);
	assert_int_equal(sysctl_get(f->root, "kernel.panic", &now), 0);
	assert_string_equal(now, "0");
	free(now);
	s = gen_state(f, id);
	assert_non_null(s);
	assert_string_equal(s, "interrupted");
	free(s);
}

/*
 * A crash before the prepare's one sync: the journal cut short (no end
 * line), or a generation that does not match the journal's sums. Nothing
 * was touched: both are dropped, nothing is "undone".
 */
static void test_txn_recover_unsynced_prepare(void **state)
{
	struct fixture *f = *state;
	struct change v[8];
	size_t n, nh = 0;
	struct txn *t;
	char id[16], rel[128], *j, *end;
	bool recovered = true;
	struct generation *h = NULL;
	int round;

	populate(f);
	n = hardening(v);
	for (round = 0; round < 3; round++) {
		t = open_txn(f, "cis", 10, NULL);
		assert_int_equal(txn_prepare(t, v, n, &f->e), 0);
		snprintf(id, sizeof(id), "%s", txn_generation(t));
		j = journal_of(f);
		if (round == 0) {
			/* the end line lost */
			end = strstr(j, "\nend ");
			assert_non_null(end);
			end[1] = '\0';
			put(f, TXN_STATE_DIR "/journal", j, 0600, 0, 0);
		} else if (round == 1) {
			/* a backup that never reached the disk (config.yaml's, the first) */
			assert_non_null(strstr(j, "\nblob f0 "));
			snprintf(rel, sizeof(rel), "%s/backups/%s/f0", TXN_STATE_DIR, id);
			put(f, rel, "", 0600, 0, 0);
		} else {
			/* the manifest cut short */
			assert_non_null(strstr(j, "\nmanifest "));
			snprintf(rel, sizeof(rel), "%s/backups/%s/manifest", TXN_STATE_DIR, id);
			put(f, rel, "k3s-harden-generation 1\n", 0600, 0, 0);
		}
		free(j);
		txn_close(t);
		t = open_txn(f, "cis", 10, &recovered);
		assert_false(recovered);
		txn_close(t);
		assert_false(exists(f, TXN_STATE_DIR "/journal"));
		snprintf(rel, sizeof(rel), "%s/backups/%s", TXN_STATE_DIR, id);
		assert_false(exists(f, rel));
		assert_pristine(f);
	}
	assert_int_equal(txn_history(f->root, &h, &nh), 0);
	assert_int_equal(nh, 0);
	free(h);
}

/* Killed after the commit record, before the journal was removed: the commit is finished, not undone. */
static void test_txn_recover_after_record(void **state)
{
	struct fixture *f = *state;
	struct change v[8];
	size_t n;
	struct txn *t;
	char id[16], rel[160], *s;
	bool recovered = true;
	struct stat st;

	populate(f);
	n = hardening(v);
	t = open_txn(f, "cis", 10, NULL);
	prepare_write(f, t, v, n);
	snprintf(id, sizeof(id), "%s", txn_generation(t));
	snprintf(rel, sizeof(rel), "%s/backups/%s/state", TXN_STATE_DIR, id);
	put(f, rel, "committed", 0600, 0, 0);
	/* the evidence temp, not renamed yet */
	snprintf(rel, sizeof(rel), "%s/backups/%s/.evidence.json.k3s-harden-99-c", TXN_STATE_DIR, id);
	put(f, rel, "{}\n", 0600, 0, 0);
	txn_close(t);
	assert_true(exists(f, TXN_STATE_DIR "/journal"));

	t = open_txn(f, "cis", 10, &recovered);
	assert_false(recovered);
	txn_close(t);
	assert_false(exists(f, TXN_STATE_DIR "/journal"));
	assert_hardened(f);
	s = gen_state(f, id);
	assert_non_null(s);
	assert_string_equal(s, "committed");
	free(s);
	assert_false(exists(f, rel));
	snprintf(rel, sizeof(rel), "%s/backups/%s/evidence.json", TXN_STATE_DIR, id);
	s = slurp(f, rel, &st);
	assert_non_null(s);
	assert_string_equal(s, "{}\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_txn_prepare_write_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_restore_after_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_restore_before_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_recover_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_recover_prepared_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_history_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_manifest_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_manifest_k3s_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_lock_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_refuses_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_syncs_per_phase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_recover_kernel_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_restore_kernel_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_reads_old_generation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_mode_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_mode_restore_and_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_mode_refuses_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_recover_v1_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_recover_unsynced_prepare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_recover_after_record, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
