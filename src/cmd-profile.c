/* k3s-harden profile list|show|validate */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "embedded.h"
#include "json.h"
#include "k3s_version.h"
#include "ynode.h"

static int show_picked(const struct cli *c, const char *name, struct profile_doc **doc)
{
	const char *v = c->k3s_version ? c->k3s_version : (*doc)->p->k3s_version;
	struct profile_doc *picked = NULL;
	const char *base;

	if (!k3s_version_valid(v)) {
		cli_error("'%s' is not a K3s version (like 1.30 or v1.30.4+k3s1)", v);
		return EXIT_USAGE;
	}
	if (strcmp(name, "cis") != 0 || strcmp((*doc)->p->name, "cis") != 0)
		return cli_pick_cis_base(c, name, v, doc);
	if (k3s_pick_profile(v, &base) < 0) {
		cli_error("no built-in profile covers K3s %s (k3s-harden profile list shows "
			  "each profile's K3s versions)", v);
		return EXIT_USAGE;
	}
	if (cli_load_profile(c, base, &picked) != EXIT_OK)
		return EXIT_USAGE;
	cli_note(c, "profile cis: %s, the newest benchmark that covers K3s %s", base, v);
	profile_doc_free(*doc);
	*doc = picked;
	return EXIT_OK;
}

static int profile_list(struct cli *c)
{
	const struct embedded_file *f;
	struct buf b = BUF_INIT;
	int rc = EXIT_OK;

	for (f = embedded_profiles; f->name; f++) {
		struct profile_doc *doc = NULL;

		if (cli_load_profile(c, f->name, &doc) != EXIT_OK) {
			rc = EXIT_USAGE;
			continue;
		}
		if (c->output == OUTPUT_JSON) {
			buf_adds(&b, b.len ? ",{\"name\":" : "[{\"name\":");
			json_str(&b, f->name);
			buf_adds(&b, ",\"description\":");
			json_str(&b, doc->p->description ? doc->p->description : "");
			buf_adds(&b, ",\"role\":");
			json_str(&b, profile_role_name(doc->p->role));
			buf_addc(&b, '}');
		} else {
			printf("%-12s %s\n", f->name, doc->p->description ? doc->p->description : "");
		}
		profile_doc_free(doc);
	}
	if (c->output == OUTPUT_JSON && rc == EXIT_OK) {
		buf_adds(&b, b.len ? "]\n" : "[]\n");
		cli_json_print(&b);
	}
	buf_free(&b);
	return rc;
}

/* The resolved profile (extends applied, so without extends:) as JSON. */
static int show_json(const struct profile_doc *doc)
{
	struct ynode *copy = profile_resolved_tree(doc);
	struct buf b = BUF_INIT;
	int r;

	if (!copy)
		return -ENOMEM;
	r = json_ynode(&b, copy);
	if (r == 0)
		r = buf_addc(&b, '\n');
	if (r == 0)
		cli_json_print(&b);
	buf_free(&b);
	ynode_free(copy);
	return r;
}

/* {"file", "valid", "result", "exit_code", "diagnostics"}: the one document, valid or not. */
static void validate_json(const char *file, int rc)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "{\"file\":");
	json_str(&b, file);
	buf_printf(&b, ",\"valid\":%s,\"result\":\"%s\",\"exit_code\":%d,",
		   rc == EXIT_OK ? "true" : "false", rc == EXIT_OK ? "ok" : "failed", rc);
	cli_json_diagnostics(&b);
	buf_adds(&b, "}\n");
	cli_json_print(&b);
	buf_free(&b);
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
	/* with a K3s version (--k3s-version, the profile's k3s_version:), cis and
	 * a profile that extends it show the benchmark profile picked for it */
	if (rc == EXIT_OK && strcmp(verb, "show") == 0 &&
	    (c->k3s_version || doc->p->k3s_version))
		rc = show_picked(c, n == 2 ? args[1] : c->profile, &doc);
	if (strcmp(verb, "validate") == 0 && c->output == OUTPUT_JSON)
		validate_json(args[1], rc);
	if (rc != EXIT_OK) {
		profile_doc_free(doc);
		return rc;
	}
	if (strcmp(verb, "validate") == 0) {
		if (c->verbose >= 0 && c->output != OUTPUT_JSON)
			printf("%s: ok (profile %s, role %s)\n", args[1], doc->p->name,
			       profile_role_name(doc->p->role));
	} else if (c->output == OUTPUT_JSON) {
		if (show_json(doc) < 0) {
			cli_error("out of memory");
			rc = EXIT_USAGE;
		}
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
	"resolved profile (extends applied) as YAML, or JSON with --output json;\n"
	"with a K3s version (--k3s-version, or the profile's k3s_version:), cis\n"
	"and a profile that extends it show the benchmark profile picked for it;\n"
	"validate: check a profile file, errors as FILE:LINE:COL: message (JSON:\n"
	"{\"file\", \"valid\", \"diagnostics\"}).",
	NULL,
	"Exit codes: 0 success; 2 usage or input error (the profile is not valid).\n",
};
