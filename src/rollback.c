/*
 * Rollback planning: the plan that puts a generation's files back, read
 * from its backups. plan.c plans from the profile; this file alone reads
 * what a transaction stored.
 */
#include "rollback.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "k3s_version.h"
#include "keff.h"
#include "txn.h"

#define HOST_FILE_MAX (16 * 1024 * 1024)

int plan_rollback(const char *root, const char *id, struct plan *out, struct diags *errs)
{
	struct generation g;
	struct gen_entry *v = NULL;
	size_t n = 0, i;
	int r;

	memset(out, 0, sizeof(*out));
	r = txn_read_generation(root, id, &g, &v, &n);
	if (r < 0) {
		unsigned keep = 0;

		if (r == -ENOENT && txn_generation_pruned(root, id, &keep) == 1) {
			if (keep)
				diags_add(errs, "k3s-harden", 0, 0, "generation %lu was pruned (retention keeps "
					  "the last %u and the first); see k3s-harden history",
					  strtoul(id, NULL, 10), keep);
			else
				diags_add(errs, "k3s-harden", 0, 0, "generation %lu was pruned (retention keeps "
					  "the last ones and the first); see k3s-harden history",
					  strtoul(id, NULL, 10));
			return -EINVAL;
		}
		diags_add(errs, "k3s-harden", 0, 0, "cannot read generation '%s': %s", id,
			  r == -ENOENT ? "no such generation (see k3s-harden history)" : strerror(-r));
		return -EINVAL;
	}
	for (i = 0; i < n && r == 0; i++) {
		const struct gen_entry *e = &v[i];
		struct change *c;
		struct stat st;
		struct change *nv = realloc(out->v, (out->n + 1) * sizeof(*nv));

		if (!nv) {
			r = -ENOMEM;
			break;
		}
		out->v = nv;
		c = &nv[out->n];
		memset(c, 0, sizeof(*c));
		c->path = strdup(e->path);
		if (!c->path) {
			r = -ENOMEM;
			break;
		}
		out->n++;
		c->flags = e->flags;
		if (e->kind == GEN_MODE) {
			/* the old mode and owner back; a file gone since stays gone */
			c->kind = ART_MODE;
			r = root_stat(root, e->path, &st);
			if (r == -ENOENT || (r == 0 && !S_ISREG(st.st_mode))) {
				r = 0;
				continue;
			}
			if (r < 0)
				break;
			c->old_mode = st.st_mode & 07777;
			c->old_uid = st.st_uid;
			c->old_gid = st.st_gid;
			c->mode = e->mode;
			c->uid = e->uid;
			c->gid = e->gid;
			c->meta = c->mode != c->old_mode || c->uid != c->old_uid || c->gid != c->old_gid;
			c->action = c->meta ? ACT_UPDATE : ACT_UNCHANGED;
			continue;
		}
		if (e->kind != GEN_FILE) {
			c->kind = ART_DIR;
			r = root_stat(root, e->path, &st);
			if (r == -ENOENT && e->kind == GEN_DIR_REMOVED) {
				/* the generation removed it: make it again */
				r = 0;
				c->action = ACT_CREATE;
				c->mode = e->mode;
				c->uid = e->uid;
				c->gid = e->gid;
				continue;
			}
			if (r == -ENOENT) {
				r = 0;
				continue;               /* already gone */
			}
			if (r < 0)
				break;
			c->old_mode = st.st_mode & 07777;
			c->old_uid = st.st_uid;
			c->old_gid = st.st_gid;
			if (e->kind == GEN_DIR_MADE) {
				c->action = ACT_REMOVE;
			} else if (e->kind == GEN_DIR_REMOVED) {
				c->action = ACT_UNCHANGED;      /* it is there */
			} else {
				c->mode = e->mode;
				c->uid = e->uid;
				c->gid = e->gid;
				c->meta = c->mode != c->old_mode || c->uid != c->old_uid || c->gid != c->old_gid;
				c->action = c->meta ? ACT_UPDATE : ACT_UNCHANGED;
			}
			continue;
		}
		c->kind = ART_FILE;
		r = root_read_file(root, e->path, HOST_FILE_MAX, &c->old_data, &c->old_len, &st);
		if (r == -ENOENT) {
			r = 0;
			c->old_data = NULL;
		} else if (r < 0) {
			diags_add(errs, "k3s-harden", 0, 0, "'%s': %s", e->path, strerror(-r));
			break;
		} else {
			c->old_mode = st.st_mode & 07777;
			c->old_uid = st.st_uid;
			c->old_gid = st.st_gid;
		}
		if (!e->existed) {
			c->action = c->old_data ? ACT_REMOVE : ACT_UNCHANGED;
			c->content = c->old_data != NULL;
			continue;
		}
		r = txn_read_blob(root, id, e->blob, &c->new_data, &c->new_len);
		if (r < 0) {
			diags_add(errs, "k3s-harden", 0, 0, "generation %s: cannot read the backup of '%s': %s",
				  id, e->path, strerror(-r));
			break;
		}
		c->mode = e->mode;
		c->uid = e->uid;
		c->gid = e->gid;
		if (!c->old_data) {
			c->action = ACT_CREATE;
			c->content = true;
			continue;
		}
		c->content = c->old_len != c->new_len || memcmp(c->old_data, c->new_data, c->new_len) != 0;
		c->meta = c->mode != c->old_mode || c->uid != c->old_uid || c->gid != c->old_gid;
		c->action = c->content || c->meta ? ACT_UPDATE : ACT_UNCHANGED;
	}
	gen_entries_free(v, n);
	if (r < 0) {
		plan_free(out);
		return r == -ENOMEM ? r : -EINVAL;
	}
	return 0;
}

int rollback_pick_generation(const char *root, char *id, size_t size)
{
	struct generation *v = NULL;
	size_t n = 0, i;
	int r = txn_history(root, &v, &n);

	if (r < 0)
		return r;
	r = -ENOENT;
	/* its backups put the host back as it was before that apply */
	for (i = 0; i < n; i++)
		if (strcmp(v[i].state, "committed") == 0 && strcmp(v[i].kind, "apply") == 0) {
			snprintf(id, size, "%s", v[i].id);
			r = 0;
			break;
		}
	free(v);
	return r;
}

void rollback_made_for(const char *root, const char *id, struct generation *made)
{
	struct generation *v = NULL;
	size_t n = 0, i;

	memset(made, 0, sizeof(*made));
	if (txn_history(root, &v, &n) < 0)
		return;
	for (i = 0; i < n && strcmp(v[i].id, id); i++)
		;
	/* newest first: the ones before id follow it, with no gap in the ids */
	for (i++; i < n; i++) {
		if (strtoul(v[i].id, NULL, 10) + 1 != strtoul(v[i - 1].id, NULL, 10))
			break;          /* pruned: what was written between is not known */
		if (strcmp(v[i].state, "committed") == 0) {
			*made = v[i];
			break;
		}
	}
	free(v);
}

/* "1.25" -> "1.24": the last minor before it. */
static void minor_before(const char *v, char *out, size_t size)
{
	unsigned long major = 0, minor = 0;
	char *end;

	major = strtoul(v, &end, 10);
	if (*end == '.')
		minor = strtoul(end + 1, NULL, 10);
	if (minor > 0)
		snprintf(out, size, "%lu.%lu", major, minor - 1);
	else
		snprintf(out, size, "< %s", v);
}

/* What the files were made for, as a clause. */
static void made_text(const struct generation *made, char *out, size_t size)
{
	if (made->id[0] && made->k3s_version[0])
		snprintf(out, size, "these files were made for K3s %s (generation %s%s%s)", made->k3s_version,
			 made->id, made->benchmark[0] ? ", " : "", made->benchmark);
	else if (made->id[0])
		snprintf(out, size, "these files were made by generation %s, which did not record its K3s "
			 "version", made->id);
	else
		snprintf(out, size, "no generation before it records what these files were made for (the "
			 "files from before k3s-harden, or one pruned since)");
}

int rollback_check_plugins(const char *root, const char *config_path, const char *id,
			   const struct generation *made, const struct plan *pl, const char *now,
			   struct diags *errs)
{
	struct keff E = KEFF_INIT;
	const struct k3s_plugin_range *pr;
	const struct keff_item *it;
	const struct change *c;
	char madet[512];
	size_t i, npr;
	int hits = 0;

	/* the configuration as the plan leaves it; one K3s cannot read is not
	 * this check's to judge: the rollback puts back what was there, and the
	 * restart gate sees it */
	if (plan_effective(root, config_path, pl, true, &E) < 0)
		goto out;
	it = keff_flag(&E, "kube-apiserver-arg", "enable-admission-plugins");
	/* only an entry the rollback writes: one already on the host is not its doing */
	if (!it || !it->node || !(c = plan_find(pl, it->node->file)) || c->action == ACT_UNCHANGED)
		goto out;
	made_text(made, madet, sizeof(madet));
	pr = k3s_plugin_ranges(&npr);
	for (i = 0; i < npr; i++) {
		const char *v = keff_flag_value(it->value);
		char edge[32];

		if (!keff_csv_has(v, pr[i].plugin) || k3s_version_in(now, pr[i].since, pr[i].before))
			continue;
		hits++;
		if (!now)
			diags_add_field(errs, it->node->file, it->node->start.line, it->node->start.col,
					"kube-apiserver-arg", "rolling back generation %s puts back admission "
					"plugin %s, which K3s >= %s does not know; %s; the K3s version here is not "
					"known: pass --k3s-version V to check the files against it", id,
					pr[i].plugin, pr[i].before, madet);
		else if (pr[i].before) {
			minor_before(pr[i].before, edge, sizeof(edge));
			diags_add_field(errs, it->node->file, it->node->start.line, it->node->start.col,
					"kube-apiserver-arg", "rolling back generation %s puts back admission "
					"plugin %s, which K3s %s does not know (removed in %s): kube-apiserver "
					"would not start; %s, K3s now is %s. Downgrade K3s to <= %s first, or roll "
					"back a generation whose files were made for K3s >= %s (k3s-harden "
					"history), or pass --ignore-k3s-version to put them back anyway", id, pr[i].plugin, now,
					pr[i].before, madet, now, edge, pr[i].before);
		} else {
			minor_before(pr[i].since, edge, sizeof(edge));
			diags_add_field(errs, it->node->file, it->node->start.line, it->node->start.col,
					"kube-apiserver-arg", "rolling back generation %s puts back admission "
					"plugin %s, which K3s %s does not know (added in %s): kube-apiserver "
					"would not start; %s, K3s now is %s. Upgrade K3s to >= %s first, or roll "
					"back a generation whose files were made for K3s <= %s (k3s-harden "
					"history), or pass --ignore-k3s-version to put them back anyway", id, pr[i].plugin, now,
					pr[i].since, madet, now, pr[i].since, edge);
		}
	}
out:
	keff_free(&E);
	return hits;
}

void rollback_normalize_id(const char *arg, char *id, size_t size)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*arg && !*end && strlen(arg) <= 9)
		snprintf(id, size, "%06lu", v);
	else
		snprintf(id, size, "%s", arg);
}
