/*
 * What the commands print about a plan and about a transaction: the diff
 * (text, coloured on a terminal, or JSON) and apply's and rollback's result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchmark.h"
#include "cli.h"
#include "json.h"
#include "plan.h"
#include "sha256.h"
#include "udiff.h"

#define C_BOLD "\033[1m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_CYAN "\033[36m"
#define C_OFF "\033[m"

static bool use_color(const struct cli *c)
{
	if (c->color == COLOR_ALWAYS)
		return true;
	if (c->color == COLOR_NEVER)
		return false;
	{
		const char *nc = getenv("NO_COLOR");

		/* no-color.org: only a non-empty NO_COLOR turns colour off */
		return isatty(STDOUT_FILENO) && !(nc && *nc);
	}
}

static void put_colored(const struct buf *b, bool color)
{
	const char *p, *end;

	if (!b->len)
		return;
	p = b->data;
	end = b->data + b->len;
	if (!color) {
		fwrite(b->data, 1, b->len, stdout);
		return;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *col = NULL;

		if (!strncmp(p, "diff --git", 10) || !strncmp(p, "--- ", 4) || !strncmp(p, "+++ ", 4) ||
		    !strncmp(p, "new file", 8) || !strncmp(p, "deleted file", 12) ||
		    !strncmp(p, "old mode", 8) || !strncmp(p, "new mode", 8) || p[0] == '#')
			col = C_BOLD;
		else if (!strncmp(p, "@@", 2))
			col = C_CYAN;
		else if (p[0] == '-')
			col = C_RED;
		else if (p[0] == '+')
			col = C_GREEN;
		if (col)
			printf("%s%.*s%s\n", col, (int)l, p, C_OFF);
		else
			printf("%.*s\n", (int)l, p);
		p += l + 1;
	}
}

static int text_change(struct buf *b, const struct change *ch)
{
	char a[4200], bl[4200];
	bool changed;
	int r = 0;

	if (ch->kind == ART_DIR) {
		if (ch->action == ACT_CREATE)
			return buf_printf(b, "# create directory %s (mode %04o)\n", ch->path, (unsigned)ch->mode);
		return buf_printf(b, "# directory %s: mode %04o -> %04o, owner %u:%u -> %u:%u\n", ch->path,
				  (unsigned)ch->old_mode, (unsigned)ch->mode, (unsigned)ch->old_uid,
				  (unsigned)ch->old_gid, (unsigned)ch->uid, (unsigned)ch->gid);
	}
	if (ch->action == ACT_UPDATE && (ch->old_uid != ch->uid || ch->old_gid != ch->gid))
		r = buf_printf(b, "# owner %s: %u:%u -> %u:%u\n", ch->path, (unsigned)ch->old_uid,
			       (unsigned)ch->old_gid, (unsigned)ch->uid, (unsigned)ch->gid);
	if (r == 0)
		r = buf_printf(b, "diff --git a%s b%s\n", ch->path, ch->path);
	if (r == 0 && ch->action == ACT_CREATE)
		r = buf_printf(b, "new file mode 100%03o\n", (unsigned)ch->mode & 0777);
	if (r == 0 && ch->action == ACT_REMOVE)
		r = buf_printf(b, "deleted file mode 100%03o\n", (unsigned)ch->old_mode & 0777);
	if (r == 0 && ch->action == ACT_UPDATE && (ch->old_mode & 0777) != (ch->mode & 0777))
		r = buf_printf(b, "old mode 100%03o\nnew mode 100%03o\n", (unsigned)ch->old_mode & 0777,
			       (unsigned)ch->mode & 0777);
	if (r < 0 || !ch->content)
		return r;
	snprintf(a, sizeof(a), "%s%s", ch->action == ACT_CREATE ? "/dev/null" : "a",
		 ch->action == ACT_CREATE ? "" : ch->path);
	snprintf(bl, sizeof(bl), "%s%s", ch->action == ACT_REMOVE ? "/dev/null" : "b",
		 ch->action == ACT_REMOVE ? "" : ch->path);
	return udiff(ch->old_data ? ch->old_data : "", ch->old_len,
		     ch->new_data ? ch->new_data : "", ch->new_len, a, bl, 3, b, &changed);
}

static const char *const action_names[] = { "unchanged", "create", "update", "remove" };

static void hex_or_null(struct buf *b, const char *key, const char *data, size_t len)
{
	char hex[65];

	if (!data) {
		buf_printf(b, ",\"%s\":null", key);
		return;
	}
	sha256_hex(data, len, hex);
	buf_printf(b, ",\"%s\":\"%s\"", key, hex);
}

void cli_json_files(struct buf *b, const struct plan *pl)
{
	size_t i;

	buf_adds(b, "\"files\":[");
	for (i = 0; i < pl->n; i++) {
		const struct change *ch = &pl->v[i];

		buf_adds(b, i ? ",{\"path\":" : "{\"path\":");
		json_str(b, ch->path);
		buf_printf(b, ",\"kind\":\"%s\",\"action\":\"%s\"",
			   ch->kind == ART_DIR ? "directory" : ch->kind == ART_MODE ? "mode" : "file",
			   action_names[ch->action]);
		if (ch->kind == ART_FILE) {
			hex_or_null(b, "old_sha256", ch->old_data, ch->old_len);
			hex_or_null(b, "new_sha256", ch->new_data, ch->new_len);
		}
		if (ch->action == ACT_REMOVE)
			buf_adds(b, ",\"mode\":null");
		else
			buf_printf(b, ",\"mode\":\"%04o\"", (unsigned)ch->mode);
		if (ch->action == ACT_CREATE)
			buf_adds(b, ",\"old_mode\":null");
		else
			buf_printf(b, ",\"old_mode\":\"%04o\"", (unsigned)ch->old_mode);
		buf_printf(b, ",\"needs_restart\":%s}", ch->flags & CHANGE_RESTART ? "true" : "false");
	}
	buf_adds(b, "]");
}

void cli_json_drift(struct buf *b, const struct plan *pl)
{
	size_t i;

	buf_adds(b, ",\"kernel\":[");
	for (i = 0; i < pl->n_drift; i++) {
		buf_adds(b, i ? ",{\"key\":" : "{\"key\":");
		json_str(b, pl->drift[i].key);
		buf_adds(b, ",\"live\":");
		if (pl->drift[i].live)
			json_str(b, pl->drift[i].live);
		else
			buf_adds(b, "null");
		buf_adds(b, ",\"want\":");
		json_str(b, pl->drift[i].want);
		buf_addc(b, '}');
	}
	buf_addc(b, ']');
}

struct plan_counts {
	size_t created, updated, removed;
	bool manifests_removed;
};

/* What a plan changes, counted once for diff and for apply/rollback. */
static struct plan_counts plan_count(const struct plan *pl)
{
	struct plan_counts n = { 0, 0, 0, false };
	size_t i;

	for (i = 0; i < pl->n; i++) {
		const struct change *ch = &pl->v[i];

		n.created += ch->action == ACT_CREATE;
		n.updated += ch->action == ACT_UPDATE;
		n.removed += ch->action == ACT_REMOVE;
		n.manifests_removed |= ch->action == ACT_REMOVE && (ch->flags & CHANGE_MANIFEST);
	}
	return n;
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static bool plan_restarts(const struct plan *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++)
		if (pl->v[i].action != ACT_UNCHANGED && (pl->v[i].flags & CHANGE_RESTART))
			return true;
	return false;
}

/* ,"benchmark":...,"k3s_version":... of the fitted profile (each when known). */
static void json_profile_env(struct buf *b, const struct profile *p)
{
	if (p->env.bench) {
		buf_adds(b, ",\"benchmark\":");
		json_str(b, p->env.bench->name);
	}
	if (p->env.k3s_version) {
		buf_adds(b, ",\"k3s_version\":");
		json_str(b, p->env.k3s_version);
	}
}

void cli_json_end(struct buf *b)
{
	buf_addc(b, ',');
	cli_json_diagnostics(b);
	buf_adds(b, "}\n");
}

int cli_report_plan(const struct cli *c, const struct plan *pl, const struct profile *p)
{
	const char *profile = p->name;
	struct buf b = BUF_INIT;
	struct plan_counts cnt = plan_count(pl);
	size_t i;
	int rc = plan_changes(pl) ? EXIT_CHANGES : EXIT_OK;

	if (c->output == OUTPUT_JSON) {
		buf_printf(&b, "{\"changed\":%s,\"role\":\"%s\",\"needs_restart\":%s,",
			   plan_changes(pl) ? "true" : "false", profile_role_name(pl->role),
			   plan_restarts(pl) ? "true" : "false");
		cli_json_files(&b, pl);
		cli_json_drift(&b, pl);
		buf_adds(&b, ",\"role_reason\":");
		json_str(&b, pl->role_reason);
		json_profile_env(&b, p);
		cli_json_end(&b);
		cli_json_print(&b);
		buf_free(&b);
		return rc;
	}
	for (i = 0; i < pl->n; i++) {
		const struct change *ch = &pl->v[i];

		if (ch->action == ACT_UNCHANGED)
			continue;
		if (text_change(&b, ch) < 0) {
			cli_error("out of memory");
			buf_free(&b);
			return EXIT_USAGE;
		}
	}
	for (i = 0; i < pl->n_drift; i++)
		buf_printf(&b, "# kernel parameter %s: live value %s, the profile sets %s\n",
			   pl->drift[i].key, pl->drift[i].live ? pl->drift[i].live : "(no such key)",
			   pl->drift[i].want);
	put_colored(&b, use_color(c));
	buf_free(&b);
	if (c->verbose >= 0 && plan_changes(pl)) {
		char drift[64] = "";

		if (pl->n_drift)
			snprintf(drift, sizeof(drift), "; %zu kernel %s to set live",
				 pl->n_drift, plural(pl->n_drift, "parameter", "parameters"));
		cli_note(c, "%zu to create, %zu to update, %zu to remove%s%s", cnt.created, cnt.updated,
			 cnt.removed, plan_restarts(pl) ? "; K3s would restart" : "", drift);
	}
	if (c->verbose >= 0 && cnt.manifests_removed)
		cli_note(c, "objects K3s created from removed manifests stay in the cluster "
			 "until deleted through the API");
	if (c->verbose >= 0 && !plan_changes(pl))
		cli_note(c, "nothing to change: the host matches profile %s", profile);
	return rc;
}

static void print_json_result(const struct engine_result *res, const struct profile *p)
{
	const struct plan *pl = &res->plan;
	struct buf b = BUF_INIT;
	bool ok = strcmp(res->result, "ok") == 0;

	buf_printf(&b, "{\"changed\":%s,\"restarted\":%s,\"restart_pending\":%s,\"generation\":",
		   plan_changes(pl) && ok && res->outcome == ENGINE_DONE ? "true" : "false",
		   res->restarted ? "true" : "false", res->pending ? "true" : "false");
	if (res->generation[0])
		json_str(&b, res->generation);
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"result\":");
	json_str(&b, res->result);
	buf_addc(&b, ',');
	cli_json_files(&b, pl);
	cli_json_drift(&b, pl);
	if (pl->role_reason[0]) {
		buf_printf(&b, ",\"role\":\"%s\",\"role_reason\":", profile_role_name(pl->role));
		json_str(&b, pl->role_reason);
	}
	json_profile_env(&b, p);
	/* a failure says what went wrong, as exit 2 does; a success its warnings */
	if (!ok)
		buf_printf(&b, ",\"exit_code\":%d", cli_exit_code(res->outcome));
	cli_json_end(&b);
	cli_json_print(&b);
	buf_free(&b);
}

void cli_report_result(const struct cli *c, const struct engine_result *res, const char *verb,
		       const struct profile *p, bool no_restart, bool live)
{
	const char *profile = p->name;
	static const char *const words[] = { "unchanged", "created", "updated", "removed" };
	const struct plan *pl = &res->plan;
	struct plan_counts cnt = plan_count(pl);
	size_t i;

	if (res->outcome == ENGINE_REFUSED)
		return;
	if (c->output == OUTPUT_JSON) {
		print_json_result(res, p);
		return;
	}
	if (res->outcome == ENGINE_NOTHING) {
		if (strcmp(verb, "rollback") == 0)
			cli_note(c, "nothing to do: the files from before generation %s are already in place",
				 res->target);
		else
			cli_note(c, "nothing to do: the host already matches profile %s", profile);
		return;
	}
	if (c->verbose < 0 || res->outcome != ENGINE_DONE)
		return;
	if (res->kernel_only) {
		printf("set %zu kernel %s live; no file changed\n", pl->n_drift,
		       plural(pl->n_drift, "parameter", "parameters"));
		return;
	}
	for (i = 0; i < pl->n; i++) {
		const struct change *ch = &pl->v[i];

		if (ch->action == ACT_UNCHANGED)
			continue;
		if (c->verbose > 0 && ch->kind == ART_MODE)
			printf("%-9s %s %04o -> %04o\n", "mode", ch->path, (unsigned)ch->old_mode,
			       (unsigned)ch->mode);
		else if (c->verbose > 0)
			printf("%-9s %s%s\n", words[ch->action], ch->path, ch->kind == ART_DIR ? "/" : "");
	}
	if (strcmp(verb, "apply") == 0)
		printf("applied generation %s", res->generation);
	else
		printf("rolled back generation %s (the files from before %s are back) as generation %s",
		       res->target, res->target, res->generation);
	printf(": %zu created, %zu updated, %zu removed%s\n", cnt.created, cnt.updated, cnt.removed, res->restarted ? "; K3s restarted" : res->pending ? "; K3s restart pending" : "");
	if (c->verbose > 0)
		cli_note(c, "%u %s backed up, %u fsync/syncfs %s", res->stats.files,
			 plural(res->stats.files, "file", "files"), res->stats.syncs,
			 plural(res->stats.syncs, "call", "calls"));
	if (res->pending)
		cli_note(c, "K3s reads the changed files at start: restart it to use them%s",
			 no_restart ? " (--no-restart)" : engine_live(c->root, live) ? "" : " (offline --root: no systemd calls)");
}
