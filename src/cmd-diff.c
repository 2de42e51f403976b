/* k3s-harden diff: what apply would change, as a patch -p1 accepts it. */
#include <stdbool.h>

#include "cli.h"

enum { OPT_LIVE = 256 };

static const struct cli_option options[] = {
	{ "live", OPT_LIVE, NULL, "with --root: compare the kernel values under ROOT/proc/sys too" },
	{ NULL, 0, NULL, NULL },
};

static int set(void *ctx, int key, const char *arg)
{
	(void)arg;
	*(bool *)ctx |= key == OPT_LIVE;
	return 0;
}

static int cmd_diff(struct cli *c, int argc, char **argv)
{
	struct profile_doc *doc = NULL;
	struct engine_opts o;
	struct plan pl;
	bool live = false;
	char **args;
	int n, rc, r;

	rc = cli_parse(c, &diff_command, argc, argv, set, &live, 0, 0, &args, &n);
	if (rc != EXIT_OK)
		return rc;
	c->live = live;
	rc = cli_load_profile(c, NULL, &doc);
	if (rc != EXIT_OK)
		return rc;
	rc = cli_fit_profile(c, &doc);
	if (rc != EXIT_OK) {
		profile_doc_free(doc);
		return rc;
	}
	o = cli_engine_opts(c, live, false, false);
	/* a transaction left half done is undone before we look */
	r = engine_plan(doc->p, &o, &pl);
	rc = r < 0 ? cli_exit_error(r) : cli_report_plan(c, &pl, doc->p);
	plan_free(&pl);
	profile_doc_free(doc);
	return rc;
}

const struct cli_command diff_command = {
	"diff", cmd_diff, "diff [--live]",
	"what apply would change, as a patch -p1 accepts it",
	"Show what apply would change, as a unified diff that patch -p1 accepts:\n"
	"created, updated and removed files, mode and owner changes, and (live)\n"
	"kernel values that differ from the profile.",
	options,
	"Exit codes: 0 nothing would change; 1 something would change; 2 usage or\n"
	"input error; 4 an interrupted transaction could not be undone.\n",
};
