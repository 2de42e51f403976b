/* k3s-harden diff: what apply would change, as a patch -p1 accepts it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void json_plan(const struct plan *pl, struct buf *b)
{
	size_t i;
	bool restart = false;

	for (i = 0; i < pl->n; i++)
		restart |= pl->v[i].action != ACT_UNCHANGED && pl->v[i].needs_restart;
	buf_printf(b, "{\"changed\":%s,\"role\":\"%s\",\"needs_restart\":%s,",
		   plan_changes(pl) ? "true" : "false", profile_role_name(pl->role),
		   restart ? "true" : "false");
	cli_json_files(b, pl);
	cli_json_drift(b, pl);
	buf_adds(b, "}\n");
}

int cli_build_plan(const struct cli *c, struct profile_doc *doc, struct plan *pl)
{
	struct diags errs = { NULL, 0, 0 }, warns = { NULL, 0, 0 };
	struct plan_opts po;
	int r;

	memset(&po, 0, sizeof(po));
	po.root = c->root;
	po.templates_dir = c->templates;
	po.role = cli_resolve_role(c, doc->p);
	po.live = cli_live(c);
	r = plan_build(doc->p, &po, pl, &errs, &warns);
	cli_print_diags(&errs);
	cli_print_warnings(c, &warns);

	if (r < 0 && errs.n == 0)
		cli_error("cannot plan the change: %s", strerror(-r));
	diags_free(&errs);
	diags_free(&warns);
	return r < 0 ? EXIT_USAGE : EXIT_OK;
}

int cmd_diff(struct cli *c)
{
	struct profile_doc *doc = NULL;
	struct plan pl;
	struct buf b = BUF_INIT;
	size_t i, created = 0, updated = 0, removed = 0;
	bool restart = false, manifests_removed = false;
	int rc;

	rc = cli_load_profile(c, NULL, &doc);
	if (rc != EXIT_OK)
		return rc;
	/* a transaction left half done is undone before we look */
	rc = cli_recover_if_needed(c);
	if (rc != EXIT_OK)
		goto out_doc;
	rc = cli_build_plan(c, doc, &pl);
	if (rc != EXIT_OK)
		goto out_doc;
	if (c->output == OUTPUT_JSON) {
		json_plan(&pl, &b);
		fwrite(b.data, 1, b.len, stdout);
	} else {
		for (i = 0; i < pl.n; i++) {
			const struct change *ch = &pl.v[i];

			if (ch->action == ACT_UNCHANGED)
				continue;
			created += ch->action == ACT_CREATE;
			updated += ch->action == ACT_UPDATE;
			removed += ch->action == ACT_REMOVE;
			restart |= ch->needs_restart;
			manifests_removed |= ch->action == ACT_REMOVE && ch->manifest;
			if (text_change(&b, ch) < 0) {
				cli_error("out of memory");
				rc = EXIT_USAGE;
				goto out;
			}
		}
		for (i = 0; i < pl.n_drift; i++)
			buf_printf(&b, "# kernel parameter %s: live value %s, the profile sets %s\n",
				   pl.drift[i].key, pl.drift[i].live ? pl.drift[i].live : "(no such key)",
				   pl.drift[i].want);
		put_colored(&b, use_color(c));
		if (c->verbose >= 0 && plan_changes(&pl)) {
			char drift[64] = "";

			if (pl.n_drift)
				snprintf(drift, sizeof(drift), "; %zu kernel parameter%s to set live",
					 pl.n_drift, pl.n_drift == 1 ? "" : "s");
			cli_note(c, "%zu to create, %zu to update, %zu to remove%s%s", created, updated,
				 removed, restart ? "; K3s would restart" : "", drift);
		}
		if (c->verbose >= 0 && manifests_removed)
			cli_note(c, "objects K3s created from removed manifests stay in the cluster "
				 "until deleted through the API");
		if (c->verbose >= 0 && !plan_changes(&pl))
			cli_note(c, "nothing to change: the host matches profile %s", doc->p->name);
	}
	rc = plan_changes(&pl) ? EXIT_CHANGES : EXIT_OK;
out:
	buf_free(&b);
	plan_free(&pl);
out_doc:
	profile_doc_free(doc);
	return rc;
}
