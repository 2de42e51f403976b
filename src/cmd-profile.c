/* k3s-harden profile list|show|validate */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "embedded.h"
#include "json.h"

static int profile_list(struct cli *c)
{
	const struct embedded_file *f;
	int rc = EXIT_OK;

	for (f = embedded_profiles; f->name; f++) {
		struct profile_doc *doc = NULL;

		if (cli_load_profile(c, f->name, &doc) != EXIT_OK) {
			rc = EXIT_USAGE;
			continue;
		}
		if (c->output == OUTPUT_JSON) {
			struct buf b = BUF_INIT;

			buf_adds(&b, f == embedded_profiles ? "[{\"name\":" : ",{\"name\":");
			json_str(&b, f->name);
			buf_adds(&b, ",\"description\":");
			json_str(&b, doc->p->description ? doc->p->description : "");
			buf_addc(&b, '}');
			fwrite(b.data, 1, b.len, stdout);
			buf_free(&b);
		} else
			printf("%-12s %s\n", f->name, doc->p->description ? doc->p->description : "");
		profile_doc_free(doc);
	}
	if (c->output == OUTPUT_JSON)
		printf("]\n");
	return rc;
}

static int no_options(void *ctx, int key, const char *arg)
{
	(void)ctx, (void)key, (void)arg;
	return 0;
}

static int cmd_profile(struct cli *c, int argc, char **argv)
{
	const char *verb;
	struct profile_doc *doc = NULL;
	struct buf b = BUF_INIT;
	char **args;
	int n, rc;

	rc = cli_parse(c, &profile_command, argc, argv, no_options, NULL, 1, 2, &args, &n);
	if (rc != EXIT_OK)
		return rc;
	verb = args[0];
	if (strcmp(verb, "list") == 0) {
		if (n != 1) {
			cli_error("profile list: takes no argument");
			return EXIT_USAGE;
		}
		return profile_list(c);
	}
	if (strcmp(verb, "show") != 0 && strcmp(verb, "validate") != 0) {
		cli_error("profile: unknown verb '%s' (list, show, validate)", verb);
		return EXIT_USAGE;
	}
	if (strcmp(verb, "validate") == 0 && n != 2) {
		cli_error("profile validate: name the profile file");
		return EXIT_USAGE;
	}
	rc = cli_load_profile(c, n == 2 ? args[1] : NULL, &doc);
	if (rc != EXIT_OK)
		return rc;
	if (strcmp(verb, "validate") == 0) {
		if (c->verbose >= 0)
			printf("%s: ok (profile %s, role %s)\n", args[1], doc->p->name,
			       profile_role_name(doc->p->role));
	} else if (profile_dump(doc, &b) < 0) {
		cli_error("out of memory");
		rc = EXIT_USAGE;
	} else {
		fwrite(b.data, 1, b.len, stdout);
	}
	buf_free(&b);
	profile_doc_free(doc);
	return rc;
}

const struct cli_command profile_command = {
	"profile", cmd_profile, "profile list | show [NAME|FILE] | validate FILE",
	"built-in profiles; the resolved profile as YAML; check a profile file",
	"list: the built-in profiles with a one-line description; show: the fully\n"
	"resolved profile (extends applied) as YAML; validate: check a profile file,\n"
	"errors as FILE:LINE:COL: message.",
	NULL,
	"Exit codes: 0 success; 2 usage or input error (the profile is not valid).\n",
};
