/* k3s-harden history: backup generations, newest first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "cli.h"
#include "fsutil.h"
#include "json.h"
#include "txn.h"

static int no_options(void *ctx, int key, const char *arg)
{
	(void)ctx, (void)key, (void)arg;
	return 0;
}

static void json_str_or_null(struct buf *b, const char *s)
{
	if (s[0])
		json_str(b, s);
	else
		buf_adds(b, "null");
}

/* FAIL count of the check result stored with generation id, or -1 when none was stored. */
static long stored_fails(const char *root, const char *id)
{
	char path[128], *data = NULL, *p, *end;
	struct stat st;
	size_t len;
	long n = -1;

	snprintf(path, sizeof(path), "%s/backups/%s/%s", TXN_STATE_DIR, id, CHECK_EVIDENCE_FILE);
	if (root_read_file(root, path, 64u << 20, &data, &len, &st) < 0)
		return -1;
	/* the totals are the last object of the file check_evidence_store writes */
	p = strstr(data, "\"totals\":{");
	if (p && (p = strstr(p, "\"FAIL\":")))
		n = strtol(p + 7, &end, 10);
	free(data);
	return n;
}

/* Gaps in the ids are generations that retention pruned: say so once. */
static void note_pruned(struct cli *c, const struct generation *v, size_t n)
{
	unsigned long pruned = 0, lo = 0, hi = 0;
	unsigned keep = 0;
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		unsigned long a = strtoul(v[i].id, NULL, 10), b = strtoul(v[i + 1].id, NULL, 10);

		if (!keep && v[i].retention)
			keep = v[i].retention;
		if (a > b + 1) {
			pruned += a - b - 1;
			lo = lo && lo < b + 1 ? lo : b + 1;
			hi = hi > a - 1 ? hi : a - 1;
		}
	}
	if (!pruned)
		return;
	if (keep)
		cli_note(c, "%lu generation%s between %lu and %lu %s pruned (retention keeps the last %u "
			 "and the first)", pruned, pruned == 1 ? "" : "s", lo, hi, pruned == 1 ? "was" : "were", keep);
	else
		cli_note(c, "%lu generation%s between %lu and %lu %s pruned (retention keeps the last ones "
			 "and the first)", pruned, pruned == 1 ? "" : "s", lo, hi, pruned == 1 ? "was" : "were");
}

static int cmd_history(struct cli *c, int argc, char **argv)
{
	struct generation *v = NULL;
	struct engine_opts o;
	struct buf b = BUF_INIT;
	size_t n = 0, i;
	char **args;
	int na, rc, r;

	rc = cli_parse(c, &history_command, argc, argv, no_options, NULL, 0, 0, &args, &na);
	if (rc != EXIT_OK)
		return rc;
	o = cli_engine_opts(c, false, false, false);
	r = engine_recover(&o);
	if (r < 0)
		return cli_exit_error(r);
	r = txn_history(c->root, &v, &n);
	if (r < 0) {
		cli_error("cannot read the backups under %s%s: %s", strcmp(c->root, "/") ? c->root : "",
			  TXN_STATE_DIR, strerror(-r));
		return EXIT_USAGE;
	}
	if (c->output == OUTPUT_JSON)
		buf_adds(&b, "{\"generations\":[");
	else if (n)
		buf_printf(&b, "%-8s %-20s %-12s %-9s %-14s %-12s %5s %5s  %s\n", "ID", "TIME", "PROFILE",
			   "KIND", "K3S", "BENCHMARK", "FILES", "FAIL", "RESULT");
	for (i = 0; i < n; i++) {
		char when[32];
		time_t t = (time_t)v[i].time;
		struct tm tm;
		long fails = stored_fails(c->root, v[i].id);
		char fs[24];

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
		if (c->output == OUTPUT_JSON) {
			buf_adds(&b, i ? ",{\"id\":" : "{\"id\":");
			json_str(&b, v[i].id);
			buf_printf(&b, ",\"time\":\"%s\",\"profile\":", when);
			json_str(&b, v[i].profile);
			buf_adds(&b, ",\"kind\":");
			json_str(&b, v[i].kind);
			/* what its files were made for; null in generations from before the record */
			buf_adds(&b, ",\"k3s_version\":");
			json_str_or_null(&b, v[i].k3s_version);
			buf_adds(&b, ",\"benchmark\":");
			json_str_or_null(&b, v[i].benchmark);
			buf_printf(&b, ",\"files\":%zu,\"result\":", v[i].files);
			json_str(&b, v[i].state);
			buf_printf(&b, ",\"restart_pending\":%s", v[i].restart_pending ? "true" : "false");
			if (fails >= 0)
				buf_printf(&b, ",\"fail\":%ld}", fails);
			else
				buf_adds(&b, ",\"fail\":null}");
		} else {
			snprintf(fs, sizeof(fs), fails >= 0 ? "%ld" : "-", fails);
			buf_printf(&b, "%-8s %-20s %-12s %-9s %-14s %-12s %5zu %5s  %s%s\n", v[i].id, when,
				   v[i].profile, v[i].kind, v[i].k3s_version[0] ? v[i].k3s_version : "-",
				   v[i].benchmark[0] ? v[i].benchmark : "-", v[i].files, fs, v[i].state,
				   v[i].restart_pending ? ", K3s restart pending" : "");
		}
	}
	if (c->output == OUTPUT_JSON) {
		buf_adds(&b, "]");
		cli_json_end(&b);
	}
	else if (!n && c->verbose >= 0)
		cli_note(c, "no generations yet: nothing was applied under this root");
	if (c->output != OUTPUT_JSON && c->verbose >= 0)
		note_pruned(c, v, n);
	cli_json_print(&b);
	buf_free(&b);
	free(v);
	return EXIT_OK;
}

const struct cli_command history_command = {
	"history", cmd_history, "history",
	"backup generations: id, time, profile, K3s version, benchmark, files, result",
	"List the backup generations, newest first: id, time, profile, kind, the K3s\n"
	"version and benchmark its files were made for (a rollback: those of the files\n"
	"it put back; \"-\" when not known: an offline apply without --k3s-version, or\n"
	"a generation from before they were recorded), files, FAIL count of its\n"
	"stored check, and result (committed, rolled-back, interrupted; K3s restart\n"
	"pending). --output json: {\"generations\": [{\"id\", \"time\",\n"
	"\"profile\", \"kind\", \"k3s_version\", \"benchmark\", \"files\", \"result\",\n"
	"\"restart_pending\", \"fail\"}]} (null where not recorded).",
	NULL,
	"Exit codes: 0 success; 2 usage error or the state directory cannot be\n"
	"read; 4 an interrupted transaction could not be undone.\n",
};
