/* k3s-harden history: backup generations, newest first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "json.h"
#include "txn.h"

int cmd_history(struct cli *c)
{
	struct generation *v = NULL;
	struct buf b = BUF_INIT;
	size_t n = 0, i;
	int rc, r;

	rc = cli_recover_if_needed(c);
	if (rc != EXIT_OK)
		return rc;
	r = txn_history(c->root, &v, &n);
	if (r < 0) {
		cli_error("cannot read the backups under %s%s: %s", strcmp(c->root, "/") ? c->root : "",
			  TXN_STATE_DIR, strerror(-r));
		return EXIT_USAGE;
	}
	if (c->output == OUTPUT_JSON)
		buf_adds(&b, "{\"generations\":[");
	else if (n)
		buf_printf(&b, "%-8s %-20s %-12s %-9s %5s  %s\n", "ID", "TIME", "PROFILE", "KIND",
			   "FILES", "RESULT");
	for (i = 0; i < n; i++) {
		char when[32];
		time_t t = (time_t)v[i].time;
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
		if (c->output == OUTPUT_JSON) {
			buf_adds(&b, i ? ",{\"id\":" : "{\"id\":");
			json_str(&b, v[i].id);
			buf_printf(&b, ",\"time\":\"%s\",\"profile\":", when);
			json_str(&b, v[i].profile);
			buf_adds(&b, ",\"kind\":");
			json_str(&b, v[i].kind);
			buf_printf(&b, ",\"files\":%zu,\"result\":", v[i].files);
			json_str(&b, v[i].state);
			buf_printf(&b, ",\"restart_pending\":%s}", v[i].restart_pending ? "true" : "false");
		} else {
			buf_printf(&b, "%-8s %-20s %-12s %-9s %5zu  %s%s\n", v[i].id, when, v[i].profile,
				   v[i].kind, v[i].files, v[i].state,
				   v[i].restart_pending ? ", K3s restart pending" : "");
		}
	}
	if (c->output == OUTPUT_JSON)
		buf_adds(&b, "]}\n");
	else if (!n && c->verbose >= 0)
		cli_note(c, "no generations yet: nothing was applied under this root");
	if (b.len)
		fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
	free(v);
	return EXIT_OK;
}
