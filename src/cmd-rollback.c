/* k3s-harden rollback [GENERATION]: put back the files from before a generation (engine.c). */
#include <stdbool.h>

#include "cli.h"

enum { OPT_FORCE = 256, OPT_NO_RESTART, OPT_LIVE };

struct rollback_args {
	bool force, no_restart, live;
};

static const struct cli_option options[] = {
	{ "force", OPT_FORCE, NULL, "roll back even when that turns secrets-encryption off" },
	{ "no-restart", OPT_NO_RESTART, NULL, "put the files back, do not restart K3s (recorded as pending)" },
	{ "live", OPT_LIVE, NULL, "with --root: kernel values under ROOT/proc/sys and systemd too" },
	{ NULL, 0, NULL, NULL },
};

static int set(void *ctx, int key, const char *arg)
{
	struct rollback_args *a = ctx;

	(void)arg;
	a->force |= key == OPT_FORCE;
	a->no_restart |= key == OPT_NO_RESTART;
	a->live |= key == OPT_LIVE;
	return 0;
}

static int cmd_rollback(struct cli *c, int argc, char **argv)
{
	struct rollback_args a = { false, false, false };
	struct profile_doc *doc = NULL;
	struct engine_result res;
	struct engine_opts o;
	char **args;
	int n, rc;

	rc = cli_parse(c, &rollback_command, argc, argv, set, &a, 0, 1, &args, &n);
	if (rc != EXIT_OK)
		return rc;
	/* the profile says where the K3s config lives and how to restart K3s */
	rc = cli_load_profile(c, NULL, &doc);
	if (rc != EXIT_OK)
		return rc;
	o = cli_engine_opts(c, a.live, a.no_restart, a.force);
	engine_rollback(doc->p, n ? args[0] : NULL, &o, &res);
	cli_report_result(c, &res, "rollback", doc->p, a.no_restart, a.live);
	c->committed = res.outcome == ENGINE_DONE;
	rc = cli_exit_code(res.outcome);
	engine_result_free(&res);
	profile_doc_free(doc);
	return rc;
}

const struct cli_command rollback_command = {
	"rollback", cmd_rollback, "rollback [GENERATION] [--force] [--no-restart] [--live]",
	"put back the files from before generation N (default: the last apply)",
	"Rolling back generation N puts back the files from before N: the files that\n"
	"generation N's apply replaced (default N: the last committed apply). The\n"
	"rollback is a transaction and a generation of its own; K3s is then reloaded\n"
	"and restarted as apply does.",
	options,
	"Exit codes: 0 done (or nothing to do); 2 usage or input error (no such\n"
	"generation, secrets-encryption would go off without --force), nothing was\n"
	"changed; 3 failed and the host was restored; 4 failed and could not restore\n"
	"(the message says what is left); 5 done and committed, but the report could\n"
	"not be written to standard output.\n",
};
