/* k3s-harden rollback [GENERATION]: put back the files from before a generation (engine.c). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "k3s_version.h"
#include "rollback.h"

enum { OPT_FORCE = 256, OPT_NO_RESTART, OPT_LIVE, OPT_IGNORE_VERSION };

struct rollback_args {
	bool force, no_restart, live, ignore_version;
};

static const struct cli_option options[] = {
	{ "force", OPT_FORCE, NULL, "roll back even when that turns secrets-encryption off" },
	{ "no-restart", OPT_NO_RESTART, NULL, "put the files back, do not restart K3s (recorded as pending)" },
	{ "live", OPT_LIVE, NULL, "with --root: kernel values under ROOT/proc/sys and systemd too" },
	{ "ignore-k3s-version", OPT_IGNORE_VERSION, NULL, "roll back even when the files enable an "
	  "admission plugin this K3s version does not know" },
	{ NULL, 0, NULL, NULL },
};

static int set(void *ctx, int key, const char *arg)
{
	struct rollback_args *a = ctx;

	(void)arg;
	a->force |= key == OPT_FORCE;
	a->no_restart |= key == OPT_NO_RESTART;
	a->live |= key == OPT_LIVE;
	a->ignore_version |= key == OPT_IGNORE_VERSION;
	return 0;
}

/*
 * The stored check of the rollback judges the files it puts back as apply
 * judges its own: for the built-in cis, with the benchmark profile for the
 * K3s they go back to (version), else for the one they were made for. The
 * profile's unit and K3s config path are the same in all of them.
 */
static void fit_for_evidence(const struct cli *c, const char *version, const char *id_arg,
			     struct profile_doc **doc)
{
	struct generation made;
	struct cli q = *c;
	const char *judge = version, *name;
	char id[16] = "";

	if (strcmp(c->profile, "cis") != 0)
		return;
	if (!judge) {
		if (id_arg)
			rollback_normalize_id(id_arg, id, sizeof(id));
		else if (rollback_pick_generation(c->root, id, sizeof(id)) < 0)
			id[0] = '\0';
		if (id[0]) {
			rollback_made_for(c->root, id, &made);
			judge = made.k3s_version[0] ? made.k3s_version : NULL;
		}
		if (judge && !k3s_version_valid(judge))
			judge = NULL;
	}
	if (!judge || k3s_pick_profile(judge, &name) < 0)
		return;
	q.k3s_version = judge;
	if (q.verbose <= 0)
		q.verbose = -1;         /* which profile judged it: with -v only */
	(void)cli_fit_profile(&q, doc);
}

static int cmd_rollback(struct cli *c, int argc, char **argv)
{
	struct rollback_args a = { false, false, false, false };
	struct profile_doc *doc = NULL;
	struct engine_result res;
	struct engine_opts o;
	char **args, *version = NULL;
	int n, rc;

	rc = cli_parse(c, &rollback_command, argc, argv, set, &a, 0, 1, &args, &n);
	if (rc != EXIT_OK)
		return rc;
	/* the profile says where the K3s config lives and how to restart K3s */
	rc = cli_load_profile(c, NULL, &doc);
	if (rc != EXIT_OK)
		return rc;
	c->live = a.live;
	/* the K3s the files go back to: they must not name what it does not know */
	rc = cli_k3s_version(c, doc->p, &version);
	if (rc != EXIT_OK) {
		profile_doc_free(doc);
		return rc;
	}
	fit_for_evidence(c, version, n ? args[0] : NULL, &doc);
	o = cli_engine_opts(c, a.live, a.no_restart, a.force);
	o.k3s_version = version;
	o.ignore_k3s_version = a.ignore_version;
	engine_rollback(doc->p, n ? args[0] : NULL, &o, &res);
	cli_report_result(c, &res, "rollback", doc->p, a.no_restart, a.live);
	c->committed = res.outcome == ENGINE_DONE;
	rc = cli_exit_code(res.outcome);
	engine_result_free(&res);
	profile_doc_free(doc);
	free(version);
	return rc;
}

const struct cli_command rollback_command = {
	"rollback", cmd_rollback,
	"rollback [GENERATION] [--force] [--ignore-k3s-version] [--no-restart] [--live] [--k3s-version V]",
	"put back the files from before generation N (default: the last apply)",
	"Rolling back generation N puts back the files from before N: the files that\n"
	"generation N's apply replaced (default N: the last committed apply), which\n"
	"the generation before N made (k3s-harden history shows the K3s version and\n"
	"benchmark each generation's files were made for). The rollback is a\n"
	"transaction and a generation of its own; K3s is then reloaded and restarted\n"
	"as apply does.\n"
	"\n"
	"Before anything is written, the K3s configuration as the rollback leaves it\n"
	"is checked against the K3s version now (--k3s-version, else the profile's\n"
	"k3s_version, else k3s --version on a live host): an admission plugin that\n"
	"version does not know (PodSecurityPolicy on K3s >= 1.25, after an upgrade)\n"
	"stops kube-apiserver, so the rollback is refused, naming the FILE:LINE:COL\n"
	"of the entry, the plugin and the K3s version the files were made for;\n"
	"--ignore-k3s-version puts them back anyway. When the version is not known\n"
	"(an offline --root without --k3s-version) it is a warning.",
	options,
	"Exit codes: 0 done (or nothing to do); 2 usage or input error (no such\n"
	"generation, secrets-encryption would go off without --force, the files name\n"
	"an admission plugin the K3s version does not know without\n"
	"--ignore-k3s-version), nothing was changed; 3 failed and the host was\n"
	"restored; 4 failed and could not restore (the message says what is left); 5\n"
	"done and committed, but the report could not be written to standard output.\n",
};
