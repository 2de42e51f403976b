/* k3s-harden rollback [GENERATION]: put back the files a generation replaced. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "manifest.h"
#include "plan.h"
#include "systemd.h"
#include "txn.h"

/* The generation a bare `rollback` undoes: the last committed apply, so
 * its backups put back the host as it was before that apply. */
static int pick_generation(const struct cli *c, char *id, size_t size)
{
	struct generation *v = NULL;
	size_t n = 0, i;
	int r = txn_history(c->root, &v, &n);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (i = 0; i < n; i++)
		if (strcmp(v[i].state, "committed") == 0 && strcmp(v[i].kind, "apply") == 0) {
			snprintf(id, size, "%s", v[i].id);
			r = 0;
			break;
		}
	free(v);
	return r;
}

static void normalize_id(const char *arg, char *id, size_t size)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*arg && !*end && strlen(arg) <= 9)
		snprintf(id, size, "%06lu", v);
	else
		snprintf(id, size, "%s", arg);
}

/* The effective secrets-encryption value, now and after the plan. */
static bool encryption_on(const struct cli *c, const char *config, const struct plan *pl, bool after)
{
	char *value = NULL;
	bool on = plan_effective_value(c->root, config, pl, after, "secrets-encryption", &value) == 0 &&
		  value && strcmp(value, "true") == 0;

	free(value);
	return on;
}

static void note_manifest_objects(const struct cli *c, const struct plan *pl)
{
	size_t i;
	bool header = false;

	for (i = 0; i < pl->n; i++) {
		const struct change *ch = &pl->v[i];
		struct k8s_object *objs = NULL;
		size_t n = 0, k;

		if (!ch->manifest || ch->action == ACT_UNCHANGED || !ch->old_data)
			continue;
		if (manifest_objects(ch->old_data, ch->old_len, &objs, &n) < 0)
			continue;
		for (k = 0; k < n; k++) {
			/* an object the restored file still declares is not left behind */
			if (ch->new_data && manifest_declares(ch->new_data, ch->new_len, &objs[k]))
				continue;
			/* the default ServiceAccounts belong to Kubernetes: only our patch stays */
			if (strcmp(objs[k].kind, "ServiceAccount") == 0 && strcmp(objs[k].name, "default") == 0) {
				if (c->verbose >= 0)
					fprintf(stderr, "k3s-harden: ServiceAccount %s/default keeps "
						"automountServiceAccountToken: false until patched back (kubectl patch)\n",
						objs[k].ns ? objs[k].ns : "");
				continue;
			}
			if (!header && c->verbose >= 0) {
				cli_note(c, "K3s does not delete objects when their manifest goes away; these stay "
					 "in the cluster until you delete them (kubectl delete ...):");
				header = true;
			}
			if (c->verbose >= 0)
				fprintf(stderr, "  %s %s%s%s (from %s)\n", objs[k].kind,
					objs[k].ns ? objs[k].ns : "", objs[k].ns ? "/" : "", objs[k].name, ch->path);
		}
		manifest_objects_free(objs, n);
	}
}

int cmd_rollback(struct cli *c)
{
	struct diags e = { NULL, 0, 0 };
	struct txn *t = NULL;
	struct plan pl;
	struct profile_doc *doc = NULL;
	struct restart_ctx rx;
	char id[32], config[4096] = "/etc/rancher/k3s/config.yaml", unit[128] = "";
	int rc, r;

	memset(&pl, 0, sizeof(pl));
	memset(&rx, 0, sizeof(rx));
	/* the profile says where the K3s config lives and how to restart K3s */
	rc = cli_load_profile(c, NULL, &doc);
	if (rc != EXIT_OK)
		return rc;
	if (doc->p->k3s && doc->p->k3s->path)
		snprintf(config, sizeof(config), "%s", doc->p->k3s->path);
	rc = cli_open_txn(c, "-", "rollback", 0, &t);
	if (rc != EXIT_OK)
		goto out;
	if (c->argc == 1) {
		normalize_id(c->argv[0], id, sizeof(id));
	} else if (pick_generation(c, id, sizeof(id)) < 0) {
		cli_error("nothing to roll back: no committed generation under %s%s",
			  strcmp(c->root, "/") ? c->root : "", TXN_STATE_DIR);
		rc = EXIT_USAGE;
		goto out;
	}
	r = plan_rollback(c->root, id, &pl, &e);
	cli_print_diags(&e);
	if (r < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (!plan_changes(&pl)) {
		if (c->output == OUTPUT_JSON)
			cli_print_result(c, &pl, "rollback", NULL, "ok", false, false);
		else
			cli_note(c, "nothing to do: the files of generation %s are already in place", id);
		rc = EXIT_OK;
		goto out;
	}
	if (encryption_on(c, config, &pl, false) && !encryption_on(c, config, &pl, true) && !c->force) {
		cli_error("rollback to generation %s would turn secrets-encryption off. Secrets written "
			  "since it was turned on are stored encrypted, and K3s without the encryption "
			  "config cannot read them back (k3s-io/k3s issue 7195); decrypt them first "
			  "(k3s secrets-encrypt disable, then rotate), or pass --force if you know "
			  "there are none", id);
		rc = EXIT_USAGE;
		goto out;
	}
	{
		struct generation g;
		struct gen_entry *v = NULL;
		size_t n = 0;

		/* restart the unit the generation's apply restarted */
		if (txn_read_generation(c->root, id, &g, &v, &n) == 0 && g.unit[0] && strcmp(g.unit, "-"))
			snprintf(unit, sizeof(unit), "%s", g.unit);
		gen_entries_free(v, n);
	}
	rc = cli_prepare_restart(c, &pl, doc->p, cli_resolve_role(c, doc->p), unit[0] ? unit : NULL, &rx);
	if (rc != EXIT_OK)
		goto out;
	note_manifest_objects(c, &pl);
	{
		struct generation g;
		struct gen_entry *v = NULL;
		size_t n = 0;

		if (txn_read_generation(c->root, id, &g, &v, &n) == 0)
			txn_set_profile(t, g.profile);
		gen_entries_free(v, n);
	}
	rc = cli_run_plan(c, &pl, "rollback", t, &rx);
out:
	if (rx.bus)
		sysd_close(rx.bus);
	profile_doc_free(doc);
	diags_free(&e);
	plan_free(&pl);
	txn_close(t);
	return rc;
}
