/* k3s-harden benchmarks [NAME]: the benchmark versions, or one's controls and what covers each. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchmark.h"
#include "check.h"
#include "cli.h"
#include "embedded.h"
#include "json.h"
#include "k3s_version.h"

/* A root with nothing in it: what K3s does on its own. */
#define EMPTY_ROOT "/nonexistent/k3s-harden-empty-root"

static int no_options(void *ctx, int key, const char *arg)
{
	(void)ctx, (void)key, (void)arg;
	return 0;
}

static int list(const struct cli *c)
{
	struct buf b = BUF_INIT;
	size_t n, i;
	const char *const *names = benchmark_names(&n);

	if (c->output == OUTPUT_JSON)
		buf_adds(&b, "{\"benchmarks\":[");
	else
		buf_printf(&b, "%-13s %-11s %8s  %s\n", "NAME", "K3S", "CONTROLS", "TITLE");
	for (i = 0; i < n; i++) {
		const struct benchmark *bm = benchmark_find(names[i]);
		char range[32];

		if (!strcmp(bm->k3s_min, bm->k3s_max))
			snprintf(range, sizeof(range), "%s", bm->k3s_min);
		else
			snprintf(range, sizeof(range), "%s-%s", bm->k3s_min, bm->k3s_max);
		if (c->output == OUTPUT_JSON) {
			buf_adds(&b, i ? ",{\"name\":" : "{\"name\":");
			json_str(&b, bm->name);
			buf_adds(&b, ",\"title\":");
			json_str(&b, bm->title);
			buf_adds(&b, ",\"k3s_min\":");
			json_str(&b, bm->k3s_min);
			buf_adds(&b, ",\"k3s_max\":");
			json_str(&b, bm->k3s_max);
			buf_printf(&b, ",\"controls\":%u}", bm->n_controls);
		} else {
			buf_printf(&b, "%-13s %-11s %8u  %s\n", bm->name, range, bm->n_controls, bm->title);
		}
	}
	if (c->output == OUTPUT_JSON) {
		buf_adds(&b, "]");
		cli_json_end(&b);
		cli_json_print(&b);
	} else {
		fwrite(b.data, 1, b.len, stdout);
	}
	buf_free(&b);
	return EXIT_OK;
}

/*
 * The built-in profile of benchmark NAME (profiles/NAME.yaml), fitted to the
 * newest K3s it covers (the benchmark's): its settings say what covers each
 * control. *doc stays NULL when there is no built-in profile of that name.
 */
static int bench_profile(const char *name, struct profile_doc **doc)
{
	struct diags notes = { NULL, 0, 0 }, d = { NULL, 0, 0 };
	const struct k3s_range *v;
	int r;

	*doc = NULL;
	if (!embedded_find(embedded_profiles, name))
		return 0;
	r = profile_load(name, doc, &d);
	v = r == 0 ? (*doc)->p->k3s_versions : NULL;
	if (r == 0 && (r = k3s_env_apply((*doc)->p, v ? v->max : NULL, NULL, &notes, &d)) < 0) {
		profile_doc_free(*doc);
		*doc = NULL;
	}
	cli_print_diags(&d);
	if (r < 0 && !d.n)
		cli_error("cannot load the built-in profile '%s': %s", name, strerror(-r));
	diags_free(&notes);
	diags_free(&d);
	return r;
}

static int show(const struct cli *c, const char *name)
{
	struct check_opts o = { EMPTY_ROOT, name, true, false, false, NULL, NULL, NULL };
	struct profile_doc *doc = NULL, *strict = NULL;
	char *strict_name = NULL;
	struct check_report R;
	struct diags d = { NULL, 0, 0 };
	struct buf b = BUF_INIT;
	unsigned cnt[4] = { 0, 0, 0, 0 };
	size_t i;
	int r;

	if (bench_profile(name, &doc) < 0)
		return EXIT_USAGE;
	/* the opt-in settings for the Manual controls: on in NAME-strict */
	if (doc && (asprintf(&strict_name, "%s-strict", name) < 0 || bench_profile(strict_name, &strict) < 0)) {
		free(strict_name);
		profile_doc_free(doc);
		return EXIT_USAGE;
	}
	/* judged on an empty root: what K3s covers by default */
	o.profile = doc ? doc->p : NULL;
	r = check_run(&o, &R, &d);
	if (r < 0) {
		cli_print_diags(&d);
		if (r == -ENOENT)
			cli_error("unknown benchmark '%s' (see k3s-harden benchmarks)", name);
		diags_free(&d);
		check_report_free(&R);
		profile_doc_free(doc);
		profile_doc_free(strict);
		free(strict_name);
		return EXIT_USAGE;
	}
	diags_free(&d);
	if (c->output == OUTPUT_JSON) {
		buf_adds(&b, "{\"name\":");
		json_str(&b, R.bench->name);
		buf_adds(&b, ",\"title\":");
		json_str(&b, R.bench->title);
		buf_adds(&b, ",\"k3s_min\":");
		json_str(&b, R.bench->k3s_min);
		buf_adds(&b, ",\"k3s_max\":");
		json_str(&b, R.bench->k3s_max);
		buf_adds(&b, ",\"controls\":[");
	} else {
		buf_printf(&b, "%s: %s (K3s %s-%s, %u controls)\n%-8s %-9s %-32s %s\n", R.bench->name, R.bench->title,
			   R.bench->k3s_min, R.bench->k3s_max, R.bench->n_controls, "ID", "COVERAGE", "SETTING",
			   "TITLE");
	}
	for (i = 0; i < R.n; i++) {
		const struct bench_control *bc = R.v[i].c;
		const char *cov, *by, *opt = NULL;

		if (bc->remedy == REMEDY_NA)
			cov = "n/a", by = NULL, cnt[2]++;
		else if (R.v[i].setting)
			cov = "covered", by = R.v[i].setting, cnt[0]++;
		else if (bc->remedy == REMEDY_HOST && R.v[i].status == CHECK_PASS)
			cov = "covered", by = "K3s default", cnt[0]++;
		else if (strict && (opt = check_profile_setting(strict->p, bc)))
			cov = "opt-in", by = opt, cnt[3]++;
		else
			cov = "manual", by = NULL, cnt[1]++;
		if (c->output == OUTPUT_JSON) {
			buf_adds(&b, i ? ",{\"id\":" : "{\"id\":");
			json_str(&b, bc->id);
			buf_adds(&b, ",\"key\":");
			json_str(&b, bc->key);
			buf_adds(&b, ",\"title\":");
			json_str(&b, bc->title);
			buf_printf(&b, ",\"coverage\":\"%s\",\"setting\":", cov);
			if (R.v[i].setting)
				json_str(&b, R.v[i].setting);
			else
				buf_adds(&b, "null");
			buf_adds(&b, ",\"opt_in\":");
			if (opt) {
				buf_adds(&b, "{\"setting\":");
				json_str(&b, opt);
				buf_adds(&b, ",\"profile\":");
				json_str(&b, strict_name);
				buf_addc(&b, '}');
			} else {
				buf_adds(&b, "null");
			}
			buf_printf(&b, ",\"k3s_default\":%s,\"remedy\":\"%s\",\"scored\":%s}",
				   by && !R.v[i].setting && !opt ? "true" : "false", bench_remedy_name(bc->remedy),
				   bc->scored ? "true" : "false");
		} else {
			buf_printf(&b, "%-8s %-9s %-32s %s\n", bc->id, cov, by ? by : "-", bc->title);
		}
	}
	if (c->output == OUTPUT_JSON) {
		buf_printf(&b, "],\"totals\":{\"covered\":%u,\"opt-in\":%u,\"manual\":%u,\"n/a\":%u}", cnt[0],
			   cnt[3], cnt[1], cnt[2]);
		cli_json_end(&b);
		cli_json_print(&b);
	} else {
		buf_printf(&b, "\n%u covered, %u opt-in, %u manual, %u not applicable to K3s\n", cnt[0], cnt[3], cnt[1],
			   cnt[2]);
		if (cnt[3])
			buf_printf(&b, "opt-in: off in %s, on in %s (or set the setting in a profile)\n", name,
				   strict_name);
		fwrite(b.data, 1, b.len, stdout);
	}
	buf_free(&b);
	check_report_free(&R);
	profile_doc_free(doc);
	profile_doc_free(strict);
	free(strict_name);
	return EXIT_OK;
}

static int cmd_benchmarks(struct cli *c, int argc, char **argv)
{
	char **args;
	int n, rc;

	rc = cli_parse(c, &benchmarks_command, argc, argv, no_options, NULL, 0, 1, &args, &n);
	if (rc != EXIT_OK)
		return rc;
	rc = n ? show(c, args[0]) : list(c);
	return fflush(stdout) == 0 && !ferror(stdout) ? rc : EXIT_USAGE;
}

const struct cli_command benchmarks_command = {
	"benchmarks", cmd_benchmarks, "benchmarks [NAME]",
	"benchmark versions; for one, its controls and what covers each",
	"Without NAME, list the built-in CIS benchmark versions: name, K3s range,\n"
	"number of controls, title. With NAME, list its controls and what covers\n"
	"each in the built-in profile NAME (at the newest K3s the benchmark\n"
	"covers): covered (by a setting of that profile, or by K3s's own\n"
	"default), opt-in (a setting off in NAME and on in NAME-strict), manual\n"
	"(the operator's judgement), or n/a (not applicable to K3s).",
	NULL,
	"Exit codes: 0 listed; 2 unknown benchmark or usage error.\n",
};
