/* k3s-harden apply: the plan carried out as one transaction (engine.c). */
#include <stdbool.h>
#include <string.h>

#include "cli.h"

enum { OPT_DRY_RUN = 256, OPT_NO_RESTART, OPT_LIVE };

struct apply_args {
	bool dry_run, no_restart, live;
};

static const struct cli_option options[] = {
	{ "dry-run", OPT_DRY_RUN, NULL, "only show what would change, as diff does" },
	{ "no-restart", OPT_NO_RESTART, NULL, "write the files, do not restart K3s (recorded as pending)" },
	{ "live", OPT_LIVE, NULL, "with --root: kernel values under ROOT/proc/sys and systemd too" },
	{ NULL, 0, NULL, NULL },
};

static int set(void *ctx, int key, const char *arg)
{
	struct apply_args *a = ctx;

	(void)arg;
	a->dry_run |= key == OPT_DRY_RUN;
	a->no_restart |= key == OPT_NO_RESTART;
	a->live |= key == OPT_LIVE;
	return 0;
}

static int cmd_apply(struct cli *c, int argc, char **argv)
{
	struct apply_args a = { false, false, false };
	struct profile_doc *doc = NULL;
	struct engine_result res;
	struct engine_opts o;
	char **args;
	int n, rc;

	rc = cli_parse(c, &apply_command, argc, argv, set, &a, 0, 0, &args, &n);
	if (rc != EXIT_OK)
		return rc;
	c->live = a.live;
	rc = cli_load_profile(c, NULL, &doc);
	if (rc != EXIT_OK)
		return rc;
	rc = cli_fit_profile(c, &doc);
	if (rc != EXIT_OK) {
		profile_doc_free(doc);
		return rc;
	}
	o = cli_engine_opts(c, a.live, a.no_restart, false);
	if (a.dry_run) {
		struct plan pl;
		int r = engine_plan(doc->p, &o, &pl);

		rc = r < 0 ? cli_exit_error(r) : cli_report_plan(c, &pl, doc->p);
		plan_free(&pl);
		profile_doc_free(doc);
		return rc;
	}
	engine_apply(doc->p, &o, &res);
	cli_report_result(c, &res, "apply", doc->p, a.no_restart, a.live);
	c->committed = res.outcome == ENGINE_DONE;
	rc = cli_exit_code(res.outcome);
	engine_result_free(&res);
	profile_doc_free(doc);
	return rc;
}

const struct cli_command apply_command = {
	"apply", cmd_apply, "apply [--dry-run] [--no-restart] [--live]",
	"the change as one transaction, with a K3s health gate; restored on failure",
	"Carry out the change as one transaction: backups, atomic writes, live kernel\n"
	"parameters, daemon-reload and a K3s restart judged by the health gate, and\n"
	"automatic restore of files, kernel values and K3s when anything fails.",
	options,
	"Exit codes: 0 done (or nothing to do); 2 usage or input error, nothing was\n"
	"changed; 3 failed and the host was restored; 4 failed and could not restore\n"
	"(the message says what is left); 5 done and committed, but the report could\n"
	"not be written to standard output.\n",
};
