/* k3s-harden apply: the plan carried out as one transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "fsutil.h"
#include "json.h"
#include "plan.h"
#include "sysctl.h"
#include "systemd.h"
#include "txn.h"

#define DEFAULT_LOCK_TIMEOUT_MS 30000

static unsigned lock_timeout_ms(void)
{
	const char *s = getenv("K3S_HARDEN_LOCK_TIMEOUT");
	char *end;
	double v;

	if (!s || !*s)
		return DEFAULT_LOCK_TIMEOUT_MS;
	v = strtod(s, &end);
	if (*end || v < 0 || v > 3600)
		return DEFAULT_LOCK_TIMEOUT_MS;
	return (unsigned)(v * 1000);
}

bool cli_live(const struct cli *c)
{
	return strcmp(c->root, "/") == 0 || c->live;
}

/* Live kernel values: remember the old ones so a failure can put them back. */
struct live_values {
	struct sysctl_kv *v;
	size_t n;
	char **old;
};

static void live_free(struct live_values *lv)
{
	size_t i;

	for (i = 0; lv->old && i < lv->n; i++)
		free(lv->old[i]);
	free(lv->old);
	sysctl_free(lv->v, lv->n);
	memset(lv, 0, sizeof(*lv));
}

/* Set one value and read it back: the kernel may keep another one. */
static int set_checked(const struct cli *c, const struct sysctl_kv *kv)
{
	char *now = NULL;
	int r = sysctl_set(c->root, kv->key, kv->value);

	if (r == 0)
		r = sysctl_get(c->root, kv->key, &now);
	if (r == 0 && !sysctl_equal(now, kv->value))
		r = -EINVAL;
	free(now);
	if (r < 0 && !kv->optional)
		cli_error("cannot set kernel parameter %s=%s: %s", kv->key, kv->value,
			  r == -EINVAL ? "the kernel kept another value" : strerror(-r));
	return kv->optional ? 0 : r;
}

/* Every value of the new sysctl file, remembering the old ones. */
static int live_set(const struct cli *c, const struct target *t, struct live_values *lv)
{
	size_t i;
	int r;

	if ((r = sysctl_parse(t->data, t->len, &lv->v, &lv->n)) < 0)
		return r;
	lv->old = calloc(lv->n + 1, sizeof(*lv->old));
	if (!lv->old)
		return -ENOMEM;
	for (i = 0; i < lv->n && r == 0; i++) {
		if (sysctl_get(c->root, lv->v[i].key, &lv->old[i]) < 0)
			lv->old[i] = NULL;
		r = set_checked(c, &lv->v[i]);
	}
	return r;
}

/* The values that drifted while the sysctl file stayed the same. */
static int live_set_drift(const struct cli *c, const struct plan *pl, struct live_values *lv)
{
	size_t i;
	int r = 0;

	lv->v = calloc(pl->n_drift + 1, sizeof(*lv->v));
	lv->old = calloc(pl->n_drift + 1, sizeof(*lv->old));
	if (!lv->v || !lv->old)
		return -ENOMEM;
	for (i = 0; i < pl->n_drift && r == 0; i++) {
		lv->v[i].key = strdup(pl->drift[i].key);
		lv->v[i].value = strdup(pl->drift[i].want);
		lv->old[i] = pl->drift[i].live ? strdup(pl->drift[i].live) : NULL;
		lv->n++;
		if (!lv->v[i].key || !lv->v[i].value)
			return -ENOMEM;
		r = set_checked(c, &lv->v[i]);
	}
	return r;
}

static void live_restore(const struct cli *c, const struct live_values *lv)
{
	size_t i;

	for (i = 0; lv->old && i < lv->n; i++)
		if (lv->old[i] && sysctl_set(c->root, lv->v[i].key, lv->old[i]) < 0)
			cli_error("could not put kernel parameter %s back to %s", lv->v[i].key, lv->old[i]);
}

void cli_print_result(const struct cli *c, const struct plan *pl, const char *verb,
			 const char *gen, const char *result, bool restarted, bool pending)
{
	size_t i, created = 0, updated = 0, removed = 0;
	struct buf b = BUF_INIT;

	if (c->output == OUTPUT_JSON) {
		buf_printf(&b, "{\"changed\":%s,\"restarted\":%s,\"restart_pending\":%s,\"generation\":",
			   plan_changes(pl) && strcmp(result, "ok") == 0 ? "true" : "false",
			   restarted ? "true" : "false", pending ? "true" : "false");
		if (gen && *gen)
			json_str(&b, gen);
		else
			buf_adds(&b, "null");
		buf_adds(&b, ",\"result\":");
		json_str(&b, result);
		buf_addc(&b, ',');
		cli_json_files(&b, pl);
		cli_json_drift(&b, pl);
		buf_adds(&b, "}\n");
		fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
		return;
	}
	if (c->verbose < 0 || strcmp(result, "ok") != 0)
		return;
	for (i = 0; i < pl->n; i++) {
		const struct change *ch = &pl->v[i];
		static const char *const words[] = { "unchanged", "created", "updated", "removed" };

		if (ch->action == ACT_UNCHANGED)
			continue;
		created += ch->action == ACT_CREATE;
		updated += ch->action == ACT_UPDATE;
		removed += ch->action == ACT_REMOVE;
		if (c->verbose > 0)
			printf("%-9s %s%s\n", words[ch->action], ch->path, ch->kind == ART_DIR ? "/" : "");
	}
	printf("%s generation %s: %zu created, %zu updated, %zu removed%s\n", verb, gen, created,
	       updated, removed, restarted ? "; K3s restarted" : pending ? "; K3s restart pending" : "");
}

/* Clear "restart pending" on generations the restart just took care of. */
static void clear_pending(const struct cli *c)
{
	struct generation *v = NULL;
	size_t n = 0, i;

	if (txn_history(c->root, &v, &n) < 0)
		return;
	for (i = 0; i < n; i++)
		if (v[i].restart_pending)
			txn_set_restart_pending(c->root, v[i].id, false);
	free(v);
}

int cli_run_plan(struct cli *c, const struct plan *pl, const char *kind, struct txn *t,
		 const struct restart_ctx *rx)
{
	struct diags e = { NULL, 0, 0 };
	struct live_values lv;
	struct target *v = NULL;
	size_t n = 0, i;
	bool restart = false, pending = false, restarted = false, tried = false;
	char why[1024] = "";
	int r, rc = EXIT_OK;

	memset(&lv, 0, sizeof(lv));
	if (plan_targets(pl, &v, &n) < 0) {
		cli_error("out of memory");
		return EXIT_USAGE;
	}
	if (n == 0) {
		/* only live kernel values drifted: no file changes, no generation */
		r = live_set_drift(c, pl, &lv);
		if (r < 0) {
			live_restore(c, &lv);
			cli_error("%s failed; the kernel parameters it had set are back to their "
				  "previous values", kind);
			cli_print_result(c, pl, kind, NULL, "rolled-back", false, false);
			rc = EXIT_RESTORED;
		} else if (c->output == OUTPUT_JSON) {
			cli_print_result(c, pl, kind, NULL, "ok", false, false);
		} else if (c->verbose >= 0) {
			printf("set %zu kernel parameter%s live; no file changed\n", pl->n_drift,
			       pl->n_drift == 1 ? "" : "s");
		}
		goto out;
	}
	for (i = 0; i < n; i++)
		restart |= v[i].needs_restart;
	txn_set_unit(t, rx && rx->unit ? rx->unit : NULL);
	r = txn_prepare(t, v, n, &e);
	if (r < 0) {
		cli_print_diags(&e);
		cli_error("%s failed before changing anything (%s); the host is as it was",
			  kind, strerror(-r));
		cli_print_result(c, pl, kind, NULL, "failed", false, false);
		rc = EXIT_RESTORED;
		goto out;
	}
	r = txn_write(t, &e);
	/* kernel values go live before anything restarts with protect-kernel-defaults */
	for (i = 0; r == 0 && i < n; i++)
		if (v[i].sysctl && !v[i].remove && cli_live(c))
			break;
	if (r == 0 && i < n)
		r = live_set(c, &v[i], &lv);
	else if (r == 0 && pl->n_drift)
		r = live_set_drift(c, pl, &lv);
	if (r == 0 && restart && rx && rx->bus) {
		tried = true;
		r = cli_restart_gate(c, rx->bus, rx->unit, rx->gate, why, sizeof(why));
		if (r < 0) {
			cli_error("%s did not come back healthy with the new files: %s", rx->unit, why);
			cli_unit_log(c, rx->unit);
		}
		restarted = r == 0;
	}
	if (r == 0) {
		pending = restart && !restarted;
		r = txn_commit(t, pending, &e);
	}
	if (r < 0) {
		struct diags re = { NULL, 0, 0 };
		int rr;

		cli_print_diags(&e);
		live_restore(c, &lv);
		rr = txn_restore(t, &re);
		if (rr < 0) {
			cli_print_diags(&re);
			cli_error("%s failed (%s) and generation %s could not be restored completely; "
				  "finish the steps above by hand, then run 'k3s-harden history'",
				  kind, why[0] ? "K3s is not healthy" : strerror(-r), txn_generation(t));
			rc = EXIT_BROKEN;
		} else if (tried) {
			char why2[1024] = "";

			/* the old files are back: K3s must come back with them too */
			rr = cli_restart_gate(c, rx->bus, rx->unit, rx->gate, why2, sizeof(why2));
			if (rr < 0) {
				cli_unit_log(c, rx->unit);
				cli_error("%s failed, the previous files were restored from generation %s, "
					  "but %s did not come back with them either: %s. Check it with "
					  "'journalctl -u %s' and 'systemctl status %s'; the backups stay in "
					  "%s/backups/%s", kind, txn_generation(t), rx->unit, why2, rx->unit,
					  rx->unit, TXN_STATE_DIR, txn_generation(t));
				rc = EXIT_BROKEN;
			} else {
				cli_error("%s failed (%s); the previous files are back from generation %s "
					  "and %s is active again with them", kind,
					  why[0] ? why : strerror(-r), txn_generation(t), rx->unit);
				rc = EXIT_RESTORED;
			}
		} else {
			cli_error("%s failed (%s); every file was restored from generation %s",
				  kind, strerror(-r), txn_generation(t));
			rc = EXIT_RESTORED;
		}
		diags_free(&re);
		cli_print_result(c, pl, kind, txn_generation(t), rc == EXIT_BROKEN ? "broken" : "rolled-back",
				 false, false);
		goto out;
	}
	if (restarted)
		clear_pending(c);
	cli_print_result(c, pl, strcmp(kind, "apply") == 0 ? "applied" : "rolled back with",
			 txn_generation(t), "ok", restarted, pending);
	if (c->verbose > 0)
		cli_note(c, "%u files backed up, %u fsync/syncfs calls", txn_stats(t)->files,
			 txn_stats(t)->syncs);
	if (pending && c->verbose >= 0 && c->output != OUTPUT_JSON)
		cli_note(c, "K3s reads the changed files at start: restart it to use them%s",
			 c->no_restart ? " (--no-restart)" :
			 cli_live(c) ? "" : " (offline --root: no systemd calls)");
out:
	live_free(&lv);
	diags_free(&e);
	targets_free(v, n);
	return rc;
}

/* Whether the plan needs a restart we will do, and the bus for it. */
int cli_prepare_restart(const struct cli *c, const struct plan *pl, const struct profile *p,
			enum profile_role role, const char *unit, struct restart_ctx *rx)
{
	size_t i;
	bool needed = false;

	memset(rx, 0, sizeof(*rx));
	for (i = 0; i < pl->n; i++)
		needed |= pl->v[i].action != ACT_UNCHANGED && pl->v[i].needs_restart;
	if (!needed || !cli_live(c) || c->no_restart || !p->restart)
		return EXIT_OK;
	rx->unit = unit ? unit : profile_unit(p, role);
	rx->gate = p->restart;
	return cli_open_unit(c, rx->unit, &rx->bus);
}

/* Lock and recover, printing what was undone. */
int cli_open_txn(const struct cli *c, const char *profile, const char *kind, unsigned retention,
		 struct txn **t)
{
	struct diags e = { NULL, 0, 0 };
	struct txn_opts o = { c->root, profile, kind, lock_timeout_ms(), retention };
	bool recovered = false;
	int r;

	r = txn_open(&o, t, &recovered, &e);
	cli_print_diags(&e);
	diags_free(&e);
	if (r < 0)
		return r == -EIO ? EXIT_BROKEN : EXIT_USAGE;
	if (recovered)
		cli_note(c, "an interrupted transaction (generation %s) was undone first: "
			 "its files are as they were before it; if K3s was restarted while it ran, "
			 "restart K3s again so it reads them", txn_generation(*t));
	return EXIT_OK;
}

static bool journal_left(const struct cli *c)
{
	struct stat st;

	return root_stat(c->root, TXN_STATE_DIR "/journal", &st) == 0;
}

int cli_recover_if_needed(const struct cli *c)
{
	struct txn *t = NULL;
	int rc;

	if (!journal_left(c))
		return EXIT_OK;
	rc = cli_open_txn(c, "-", "recover", 0, &t);
	txn_close(t);
	return rc;
}

static void nothing_to_do(const struct cli *c, const struct plan *pl, const char *profile)
{
	if (c->output == OUTPUT_JSON)
		cli_print_result(c, pl, "apply", NULL, "ok", false, false);
	else
		cli_note(c, "nothing to do: the host already matches profile %s", profile);
}

int cmd_apply(struct cli *c)
{
	struct profile_doc *doc = NULL;
	struct restart_ctx rx;
	struct plan pl;
	struct txn *t = NULL;
	int rc;

	memset(&rx, 0, sizeof(rx));
	if (c->dry_run)
		return cmd_diff(c);
	rc = cli_load_profile(c, NULL, &doc);
	if (rc != EXIT_OK)
		return rc;
	memset(&pl, 0, sizeof(pl));
	/* a no-op touches nothing: plan before taking the lock, unless a
	 * journal says an earlier run was interrupted */
	if (!journal_left(c)) {
		rc = cli_build_plan(c, doc, &pl);
		if (rc != EXIT_OK)
			goto out;
		if (!plan_changes(&pl)) {
			nothing_to_do(c, &pl, doc->p->name);
			goto out;
		}
		/* a missing unit is an error before anything is written */
		rc = cli_prepare_restart(c, &pl, doc->p, pl.role, NULL, &rx);
		if (rc != EXIT_OK)
			goto out;
		plan_free(&pl);
	}
	rc = cli_open_txn(c, doc->p->name, "apply", doc->p->retention, &t);
	if (rc != EXIT_OK)
		goto out;
	rc = cli_build_plan(c, doc, &pl);
	if (rc != EXIT_OK)
		goto out;
	if (!plan_changes(&pl)) {
		nothing_to_do(c, &pl, doc->p->name);
		goto out;
	}
	if (!rx.bus) {
		rc = cli_prepare_restart(c, &pl, doc->p, pl.role, NULL, &rx);
		if (rc != EXIT_OK)
			goto out;
	}
	rc = cli_run_plan(c, &pl, "apply", t, &rx);
out:
	if (rx.bus)
		sysd_close(rx.bus);
	txn_close(t);
	plan_free(&pl);
	profile_doc_free(doc);
	return rc;
}
