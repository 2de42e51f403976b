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

void rollback_normalize_id(const char *arg, char *id, size_t size)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*arg && !*end && strlen(arg) <= 9)
		snprintf(id, size, "%06lu", v);
	else
		snprintf(id, size, "%s", arg);
}
