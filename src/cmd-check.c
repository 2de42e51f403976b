/* k3s-harden check: compliance per CIS control, from the host as K3s will run it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "fsutil.h"
#include "host.h"
#include "json.h"
#include "k3s_version.h"
#include "keff.h"
#include "txn.h"
#include "ynode.h"

enum { OPT_BENCHMARK = 256, OPT_CLUSTER, OPT_GENERATION };

static const struct cli_option options[] = {
	{ "benchmark", OPT_BENCHMARK, "NAME", "benchmark version (default: the one the profile targets)" },
	{ "cluster", OPT_CLUSTER, NULL, "on a live host, also read the cluster's namespaces (k3s kubectl)" },
	{ "generation", OPT_GENERATION, "N", "print the result stored with generation N (judged for "
	  "the K3s version it records)" },
	{ NULL, 0, NULL, NULL },
};

struct args {
	const char *benchmark, *generation;
	bool cluster;
};

static int set(void *ctx, int key, const char *arg)
{
	struct args *a = ctx;

	switch (key) {
	case OPT_BENCHMARK: a->benchmark = arg; break;
	case OPT_CLUSTER: a->cluster = true; break;
	case OPT_GENERATION: a->generation = arg; break;
	default: break;
	}
	return 0;
}

static bool want_color(const struct cli *c)
{
	if (c->color == COLOR_ALWAYS)
		return true;
	if (c->color == COLOR_NEVER || getenv("NO_COLOR"))
		return false;
	return isatty(STDOUT_FILENO);
}

static const char *status_color(const char *st)
{
	if (!strcmp(st, "PASS"))
		return "\033[32m";
	if (!strcmp(st, "FAIL"))
		return "\033[31m";
	if (!strcmp(st, "WARN"))
		return "\033[33m";
	return "\033[36m";
}

/* One control as the text and JUnit writers need it (from a live result or a stored one). */
struct row {
	const char *id, *title, *status, *evidence, *remediation, *setting;
};

static void xml(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '&': buf_adds(b, "&amp;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&apos;"); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				buf_addc(b, '?');
			else
				buf_addc(b, *s);
		}
	}
}

static void print_text(const struct cli *c, const char *bench, const char *role, const char *version,
		       const struct row *v, size_t n, long gen)
{
	bool color = want_color(c);
	unsigned t[4] = { 0, 0, 0, 0 };
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		if (color)
			buf_printf(&b, "%s %s%s\033[0m %s\n", v[i].id, status_color(v[i].status), v[i].status, v[i].title);
		else
			buf_printf(&b, "%s %s %s\n", v[i].id, v[i].status, v[i].title);
		t[!strcmp(v[i].status, "PASS") ? 0 : !strcmp(v[i].status, "FAIL") ? 1 :
		  !strcmp(v[i].status, "WARN") ? 2 : 3]++;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].status, "FAIL") && strcmp(v[i].status, "WARN"))
			continue;
		if (color)
			buf_printf(&b, "\n%s%s\033[0m %s\n", status_color(v[i].status), v[i].status, v[i].id);
		else
			buf_printf(&b, "\n%s %s\n", v[i].status, v[i].id);
		buf_printf(&b, "  %s\n", v[i].title);
		if (v[i].evidence && *v[i].evidence)
			buf_printf(&b, "  found: %s\n", v[i].evidence);
		if (v[i].remediation)
			buf_printf(&b, "  fix:   %s\n", v[i].remediation);
	}
	buf_printf(&b, "\n%u PASS, %u FAIL, %u WARN, %u INFO (%s, %s, K3s %s", t[0], t[1], t[2], t[3], bench, role,
		   version);
	if (gen >= 0)
		buf_printf(&b, ", generation %06ld", gen);
	buf_adds(&b, ")\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

static void print_junit(const char *bench, const struct row *v, size_t n)
{
	unsigned fail = 0, skip = 0;
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		fail += !strcmp(v[i].status, "FAIL");
		skip += !strcmp(v[i].status, "WARN");
	}
	buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"k3s-harden check\">\n");
	buf_adds(&b, "<testsuite name=\"");
	xml(&b, bench);
	buf_printf(&b, "\" tests=\"%zu\" failures=\"%u\" skipped=\"%u\" errors=\"0\">\n", n, fail, skip);
	for (i = 0; i < n; i++) {
		buf_adds(&b, "  <testcase classname=\"");
		xml(&b, bench);
		buf_adds(&b, "\" name=\"");
		xml(&b, v[i].id);
		buf_adds(&b, " ");
		xml(&b, v[i].title);
		buf_adds(&b, "\"");
		if (!strcmp(v[i].status, "FAIL") || !strcmp(v[i].status, "WARN")) {
			bool f = !strcmp(v[i].status, "FAIL");

			buf_adds(&b, f ? ">\n    <failure message=\"" : ">\n    <skipped message=\"");
			xml(&b, v[i].evidence);
			buf_adds(&b, "\">");
			xml(&b, v[i].remediation);
			buf_adds(&b, f ? "</failure>\n  </testcase>\n" : "</skipped>\n  </testcase>\n");
		} else {
			buf_adds(&b, "/>\n");
		}
	}
	buf_adds(&b, "</testsuite>\n</testsuites>\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

static void print_refuse(const struct diags *d)
{
	size_t i;

	if (!d->n)
		return;
	cli_error("K3s would not start with these files:");
	for (i = 0; i < d->n; i++) {
		char *m = diag_format(&d->v[i]);

		fprintf(stderr, "  %s\n", m ? m : d->v[i].msg);
		free(m);
	}
}

/* The K3s version a stored result was judged for: as known then, else the one emulated. */
static const char *judged_version(const struct ynode *res)
{
	const struct ynode *kv = ynode_get(res, "k3s_version"), *ev = ynode_get(res, "emulated_k3s_version");

	if (kv && kv->kind == YN_SCALAR && !keff_is_null(kv))
		return kv->value;
	return ev && ev->kind == YN_SCALAR ? ev->value : "?";
}

/*
 * A stored result is judged for the K3s version of its generation (apply:
 * the version it hardened for; rollback: the K3s the files went back to,
 * else the one they were made for); --k3s-version does not judge it again.
 */
static void note_other_version(const struct cli *c, const struct ynode *res, long g)
{
	struct diags w = { NULL, 0, 0 };
	const char *judged = judged_version(res);
	char a[32], b[32];

	if (!c->k3s_version || k3s_version_minor(c->k3s_version, a, sizeof(a)) < 0 ||
	    k3s_version_minor(judged, b, sizeof(b)) < 0 || strcmp(a, b) == 0)
		return;
	diags_add(&w, "k3s-harden", 0, 0, "the result stored with generation %06ld was judged for K3s %s, "
		  "not %s (--k3s-version): k3s-harden check without --generation judges the files on "
		  "the host for %s", g, judged, c->k3s_version, c->k3s_version);
	cli_print_warnings(c, &w);
	diags_free(&w);
}

/* check --generation N: the result stored with that generation. */
static int stored(struct cli *c, const char *gen)
{
	struct diags pd = { NULL, 0, 0 };
	struct ynode *t = NULL;
	const struct ynode *res, *ctl, *rf;
	char path[128], *data = NULL, *end;
	struct row *v = NULL;
	struct stat st;
	size_t len, i, n = 0;
	long g = strtol(gen, &end, 10);
	int r, rc = EXIT_OK;

	if (!*gen || *end || g < 0 || g > 999999) {
		cli_error("--generation takes a generation number (see history), not '%s'", gen);
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/backups/%06ld/%s", TXN_STATE_DIR, g, CHECK_EVIDENCE_FILE);
	r = root_read_file(c->root, path, 64u << 20, &data, &len, &st);
	if (r < 0) {
		cli_error("generation %06ld has no stored check result (%s%s: %s)", g, strcmp(c->root, "/") ? c->root : "",
			  path, strerror(-r));
		return EXIT_USAGE;
	}
	if (ynode_parse(path, data, len, 0, &t, &pd) < 0 || !(res = ynode_get(t, "check")) ||
	    !(ctl = ynode_get(res, "controls")) || ctl->kind != YN_SEQ) {
		cli_print_diags(&pd);
		cli_error("%s: not a stored check result", path);
		rc = EXIT_USAGE;
		goto out;
	}
	if (c->output == OUTPUT_JSON) {
		/* the result as it was stored, byte for byte */
		printf("%.*s\n", (int)(res->end.index - res->start.index), data + res->start.index);
	} else {
		v = calloc(ctl->n ? ctl->n : 1, sizeof(*v));
		for (i = 0; v && i < ctl->n; i++) {
			const struct ynode *e = ctl->items[i], *x;

#define S(k) ((x = ynode_get(e, k)) && x->kind == YN_SCALAR && !keff_is_null(x) ? x->value : NULL)
			v[n].id = S("id");
			v[n].title = S("title");
			v[n].status = S("status");
			v[n].evidence = S("evidence");
			v[n].remediation = S("remediation");
			v[n].setting = S("setting");
#undef S
			if (v[n].id && v[n].title && v[n].status)
				n++;
		}
		{
			const struct ynode *bn = ynode_get(res, "benchmark"), *rl = ynode_get(res, "role");
			const char *bench = bn && bn->kind == YN_SCALAR ? bn->value : "?";

			if (c->output == OUTPUT_JUNIT)
				print_junit(bench, v, n);
			else
				print_text(c, bench, rl && rl->kind == YN_SCALAR ? rl->value : "?",
					   judged_version(res), v, n, g);
		}
	}
	note_other_version(c, res, g);
	if (rc == EXIT_OK) {
		unsigned fails = 0;

		for (i = 0; i < ctl->n; i++) {
			const struct ynode *s = ynode_get(ctl->items[i], "status");

			fails += s && s->kind == YN_SCALAR && !strcmp(s->value, "FAIL");
		}
		rf = ynode_get(res, "refuses_to_start");
		rc = rf && rf->kind == YN_SEQ && rf->n ? EXIT_USAGE : fails ? EXIT_CHANGES : EXIT_OK;
	}
out:
	free(v);
	ynode_free(t);
	diags_free(&pd);
	free(data);
	return rc;
}

/* Judge, then print the report as the output format asks; the exit code. */
static int check_print(const struct cli *c, const struct check_opts *op)
{
	struct check_opts o = *op;
	struct check_report R;
	struct diags d = { NULL, 0, 0 };
	struct buf b = BUF_INIT;
	struct row *v;
	size_t i;
	int rc, r;

	if (o.cluster && !o.live) {
		cli_error("--cluster asks the running cluster: it needs the live host (--root /)");
		return EXIT_USAGE;
	}
	r = check_run(&o, &R, &d);
	if (r < 0) {
		cli_print_diags(&d);
		if (r == -ENOENT) {
			size_t nn;
			const char *const *names = benchmark_names(&nn);
			struct buf l = BUF_INIT;

			for (i = 0; i < nn; i++)
				buf_printf(&l, "%s%s", i ? ", " : "", names[i]);
			cli_error("unknown benchmark '%s' (known: %s)", o.benchmark, l.data ? l.data : "");
			buf_free(&l);
		} else if (!d.n) {
			cli_error("check failed: %s", strerror(-r));
		}
		diags_free(&d);
		check_report_free(&R);
		return EXIT_USAGE;
	}
	diags_free(&d);
	cli_print_warnings(c, &R.notes);
	print_refuse(&R.refuse);
	if (c->output == OUTPUT_JSON) {
		check_report_json(&R, -1, &b);
		if (b.len && b.data[b.len - 1] == '}') {
			b.len--;
			cli_json_end(&b);
		}
		cli_json_print(&b);
	} else {
		v = calloc(R.n ? R.n : 1, sizeof(*v));
		for (i = 0; v && i < R.n; i++) {
			v[i].id = R.v[i].c->id;
			v[i].title = R.v[i].c->title;
			v[i].status = check_status_name(R.v[i].status);
			v[i].evidence = R.v[i].evidence;
			v[i].remediation = R.v[i].remediation;
			v[i].setting = R.v[i].setting;
		}
		if (c->output == OUTPUT_JUNIT)
			print_junit(R.bench ? R.bench->name : o.benchmark, v, R.n);
		else if (R.n)
			print_text(c, R.bench->name, o.server ? "server" : "agent", R.comps.version, v, R.n, -1);
		free(v);
	}
	if (R.cluster && R.n_no_policy && c->verbose >= 0) {
		struct buf l = BUF_INIT;

		for (i = 0; i < R.n_no_policy; i++)
			buf_printf(&l, "%s%s", i ? ", " : "", R.no_policy[i]);
		cli_note(c, "namespaces in the cluster without a network policy: %s", l.data);
		buf_free(&l);
	}
	rc = R.refuse.n ? EXIT_USAGE : R.totals[CHECK_FAIL] ? EXIT_CHANGES : EXIT_OK;
	buf_free(&b);
	check_report_free(&R);
	return fflush(stdout) == 0 && !ferror(stdout) ? rc : EXIT_USAGE;
}

static int cmd_check(struct cli *c, int argc, char **argv)
{
	struct args a = { NULL, NULL, false };
	struct profile_doc *doc = NULL;
	struct check_opts o;
	char **args;
	int n, rc;

	rc = cli_parse(c, &check_command, argc, argv, set, &a, 0, 0, &args, &n);
	if (rc != EXIT_OK)
		return rc;
	if (a.generation)
		return stored(c, a.generation);
	memset(&o, 0, sizeof(o));
	o.root = c->root;
	o.cluster = a.cluster;
	o.live = engine_live(c->root, false);
	{
		enum profile_role role;

		rc = cli_load_profile(c, NULL, &doc);
		/* the version (--k3s-version, the profile's, k3s --version) and, for
		 * cis, the benchmark profile that covers it */
		if (rc == EXIT_OK)
			rc = cli_fit_profile(c, &doc);
		if (rc != EXIT_OK) {
			profile_doc_free(doc);
			return rc;
		}
		/* the global --role wins over the profile and the host's evidence */
		rc = cli_resolve_role(c, doc->p, &role);
		if (rc != EXIT_OK) {
			profile_doc_free(doc);
			return rc;
		}
		o.server = role != ROLE_AGENT;
	}
	o.k3s_version = doc->p->env.k3s_version;
	o.benchmark = a.benchmark ? a.benchmark : check_default_benchmark(doc->p);
	o.profile = doc->p;
	rc = check_print(c, &o);
	profile_doc_free(doc);
	return rc;
}

const struct cli_command check_command = {
	"check", cmd_check,
	"check [--benchmark NAME] [--role server|agent] [--cluster] [--generation N] [--k3s-version V]",
	"compliance per CIS control, from what K3s will run on this host",
	"Judge every control of a CIS benchmark from what K3s will run: the\n"
	"effective configuration (config.yaml and config.yaml.d), the component\n"
	"command lines K3s builds from it, the files they name (psa.yaml, the\n"
	"audit policy, the encryption configuration), file modes, kernel\n"
	"parameters and the manifests in the auto-deploy directory. One line per\n"
	"control (ID STATUS title), then what was found and how to fix each FAIL\n"
	"and WARN, then totals. PASS: the test holds; FAIL: it does not; WARN: a\n"
	"Manual control the host cannot decide; INFO: not applicable to K3s or to\n"
	"this role. --output json|junit for machines. Nothing is written.",
	options,
	"Exit codes: 0 no control FAILs; 1 at least one FAILs; 2 usage error, or K3s\n"
	"would refuse to start with these files (the message says why).\n",
};
