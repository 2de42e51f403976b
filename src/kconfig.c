#include "kconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "k3s_keys.h"
#include "ynode.h"

/* "--audit-log-path=/x" -> "audit-log-path" (length in *len). */
static const char *kconfig_flag_name(const char *item, size_t *len)
{
	const char *s = item + strspn(item, "-");

	*len = strcspn(s, "=");
	return s;
}

static bool same_flag(const char *item, const char *flag)
{
	size_t l;
	const char *n = kconfig_flag_name(item, &l);

	return strlen(flag) == l && strncmp(n, flag, l) == 0;
}

static const char *flag_value(const char *item)
{
	const char *eq = strchr(item, '=');

	return eq ? eq + 1 : "";
}

/* ---- edits on the original bytes ---- */

struct edit {
	size_t start, end;
	char *text;
};

struct edits {
	struct edit *v;
	size_t n, cap;
	struct buf tail;        /* appended at the end of the file */
};

static int edit_add(struct edits *e, size_t start, size_t end, const char *text, size_t tlen)
{
	struct edit *x;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;

		x = realloc(e->v, cap * sizeof(*x));
		if (!x)
			return -ENOMEM;
		e->v = x;
		e->cap = cap;
	}
	x = &e->v[e->n];
	x->start = start;
	x->end = end;
	x->text = strndup(text, tlen);
	if (!x->text)
		return -ENOMEM;
	e->n++;
	return 0;
}

static int cmp_edit(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

static void edits_free(struct edits *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i].text);
	free(e->v);
	buf_free(&e->tail);
}

static size_t line_start(const char *t, size_t i)
{
	while (i > 0 && t[i - 1] != '\n')
		i--;
	return i;
}

static size_t line_end(const char *t, size_t len, size_t i)
{
	while (i < len && t[i] != '\n')
		i++;
	return i < len ? i + 1 : len;
}

/* ---- what we want ---- */

/* enable-admission-plugins: the user's plugins stay, ours are added, and
 * NodeRestriction is always there (replacing the flag drops K3s's default). */
static char *union_plugins(const char *user_value, const char *ours)
{
	struct buf b = BUF_INIT;
	const char *lists[2] = { ours, user_value };
	char *out;
	int pass, r = 0;

	for (pass = 0; pass < 2 && r == 0; pass++) {
		const char *p = lists[pass];

		while (p && *p && r == 0) {
			size_t l = strcspn(p, ",");
			char name[128];

			if (l > 0 && l < sizeof(name)) {
				const char *q = b.data;
				bool dup = false;

				memcpy(name, p, l);
				name[l] = '\0';
				while (q && *q) {
					size_t ql = strcspn(q, ",");

					if (ql == l && strncmp(q, name, l) == 0)
						dup = true;
					q += ql + (q[ql] == ',');
				}
				if (!dup)
					r = buf_printf(&b, "%s%s", b.len ? "," : "", name);
			}
			p += l + (p[l] == ',');
		}
	}
	out = r == 0 ? buf_steal(&b) : NULL;
	buf_free(&b);
	return out;
}

static char *arg_text(const struct cfg_arg *a, const char *user_item)
{
	char *s = NULL, *v;

	if (strcmp(a->flag, "enable-admission-plugins") == 0 && user_item) {
		v = union_plugins(flag_value(user_item), a->value);
		if (!v || asprintf(&s, "%s=%s", a->flag, v) < 0)
			s = NULL;
		free(v);
		return s;
	}
	return asprintf(&s, "%s=%s", a->flag, a->value) < 0 ? NULL : s;
}

static int quoted(struct buf *b, const char *s)
{
	return yaml_quote(b, s, strlen(s));
}

static int append_comment(struct buf *b, const char *controls)
{
	return controls ? buf_printf(b, "  # CIS %s", controls) : 0;
}

/* ---- merging ---- */

struct merger {
	const char *label;
	const char *text;
	size_t len;
	struct ynode *root;
	struct edits e;
	struct diags *d;
};

static int merge_setting(struct merger *M, const struct cfg_setting *s)
{
	struct ynode *v = ynode_get(M->root, s->key);
	struct buf b = BUF_INIT;
	int r;

	if (!v) {
		if (s->controls)
			r = buf_printf(&M->e.tail, "# CIS %s\n", s->controls);
		else
			r = 0;
		if (r == 0)
			r = buf_printf(&M->e.tail, "%s: ", s->key);
		if (r == 0)
			r = s->raw ? buf_adds(&M->e.tail, s->value) : quoted(&M->e.tail, s->value);
		return r ? r : buf_addc(&M->e.tail, '\n');
	}
	if (v->kind == YN_SCALAR && !v->alias && strcmp(v->value, s->value) == 0)
		return 0;
	if (v->kind != YN_SCALAR && !v->flow && !v->alias) {
		diags_add(M->d, M->label, v->start.line, v->start.col,
			  "%s: expected a single value, found %s", s->key,
			  v->kind == YN_MAP ? "a mapping" : "a list");
		return -EINVAL;
	}
	if (v->anchor && !v->alias)
		r = buf_printf(&b, "&%s ", v->anchor);
	else
		r = 0;
	if (r == 0)
		r = s->raw ? buf_adds(&b, s->value) : quoted(&b, s->value);
	if (r == 0)
		r = edit_add(&M->e, v->start.index, v->end.index, b.data, b.len);
	buf_free(&b);
	return r;
}

/* Index of the first item of seq for flag, from index from; -1 if none. */
static long find_item(const struct ynode *seq, const char *flag, size_t from)
{
	size_t i;

	for (i = from; i < seq->n; i++)
		if (seq->items[i]->kind == YN_SCALAR && same_flag(seq->items[i]->value, flag))
			return (long)i;
	return -1;
}

static int merge_block_list(struct merger *M, const struct cfg_list *l, struct ynode *seq)
{
	struct buf ins = BUF_INIT;
	size_t i, dash, indent, at;
	int r = 0;

	/* new entries go after the last one, indented like the first */
	dash = seq->items[0]->start.index;
	while (dash > 0 && M->text[dash] != '-')
		dash--;
	indent = dash - line_start(M->text, dash);
	at = line_end(M->text, M->len, seq->items[seq->n - 1]->end.index);
	for (i = 0; i < l->n && r == 0; i++) {
		const struct cfg_arg *a = &l->args[i];
		long k = find_item(seq, a->flag, 0);
		char *want;

		if (k < 0) {
			want = arg_text(a, NULL);
			if (!want)
				return -ENOMEM;
			r = buf_printf(&ins, "%*s- ", (int)indent, "");
			if (r == 0)
				r = quoted(&ins, want);
			if (r == 0)
				r = append_comment(&ins, a->controls);
			if (r == 0)
				r = buf_addc(&ins, '\n');
			free(want);
			continue;
		}
		want = arg_text(a, seq->items[k]->value);
		if (!want)
			return -ENOMEM;
		if (strcmp(seq->items[k]->value, want) != 0) {
			struct buf b = BUF_INIT;

			r = quoted(&b, want);
			if (r == 0)
				r = edit_add(&M->e, seq->items[k]->start.index, seq->items[k]->end.index,
					     b.data, b.len);
			buf_free(&b);
		}
		free(want);
		/* a later duplicate would win over ours: remove it */
		while (r == 0 && (k = find_item(seq, a->flag, (size_t)k + 1)) >= 0) {
			size_t s = line_start(M->text, seq->items[k]->start.index);
			size_t e = line_end(M->text, M->len, seq->items[k]->end.index);

			r = edit_add(&M->e, s, e, "", 0);
		}
	}
	if (r == 0 && ins.len) {
		/* a last item without a newline at end of file */
		if (at == M->len && M->len && M->text[M->len - 1] != '\n')
			r = edit_add(&M->e, at, at, "\n", 1);
		if (r == 0)
			r = edit_add(&M->e, at, at, ins.data, ins.len);
	}
	buf_free(&ins);
	return r;
}

/* Rewrite the whole value as a flow list: for flow lists, scalars and aliases. */
static int merge_flow_list(struct merger *M, const struct cfg_list *l, struct ynode *v)
{
	struct buf b = BUF_INIT;
	bool *used;
	size_t i, n = v->kind == YN_SEQ ? v->n : (v->plain && v->len == 0 ? 0 : 1);
	int r = 0;

	used = calloc(l->n + 1, sizeof(*used));
	if (!used)
		return -ENOMEM;
	r = buf_addc(&b, '[');
	for (i = 0; i < n && r == 0; i++) {
		const struct ynode *it = v->kind == YN_SEQ ? v->items[i] : v;
		size_t j;
		char *want = NULL;

		if (it->kind != YN_SCALAR) {
			diags_add(M->d, M->label, it->start.line, it->start.col,
				  "%s: list entries must be strings like flag=value", l->name);
			r = -EINVAL;
			break;
		}
		for (j = 0; j < l->n; j++)
			if (same_flag(it->value, l->args[j].flag))
				break;
		if (j < l->n && used[j])
			continue;        /* a later duplicate of a managed flag */
		if (j < l->n) {
			used[j] = true;
			want = arg_text(&l->args[j], it->value);
			if (!want) {
				r = -ENOMEM;
				break;
			}
		}
		if (b.len > 1)
			r = buf_adds(&b, ", ");
		if (r == 0)
			r = yaml_quote_flow(&b, want ? want : it->value, strlen(want ? want : it->value));
		free(want);
	}
	for (i = 0; i < l->n && r == 0; i++) {
		char *want;

		if (used[i])
			continue;
		want = arg_text(&l->args[i], NULL);
		if (!want) {
			r = -ENOMEM;
			break;
		}
		if (b.len > 1)
			r = buf_adds(&b, ", ");
		if (r == 0)
			r = yaml_quote_flow(&b, want, strlen(want));
		free(want);
	}
	if (r == 0)
		r = buf_addc(&b, ']');
	if (r == 0) {
		size_t s = v->start.index, e = v->end.index;

		if (v->kind == YN_SCALAR && v->plain && v->len == 0)
			r = edit_add(&M->e, s, s, " ", 1);
		if (r == 0)
			r = edit_add(&M->e, s, e, b.data, b.len);
	}
	buf_free(&b);
	free(used);
	return r;
}

static int merge_list(struct merger *M, const struct cfg_list *l)
{
	struct ynode *v = ynode_get(M->root, l->name);
	size_t i;
	int r = 0;

	if (!v) {
		r = buf_printf(&M->e.tail, "%s:\n", l->name);
		for (i = 0; i < l->n && r == 0; i++) {
			char *want = arg_text(&l->args[i], NULL);

			if (!want)
				return -ENOMEM;
			r = buf_adds(&M->e.tail, "  - ");
			if (r == 0)
				r = quoted(&M->e.tail, want);
			if (r == 0)
				r = append_comment(&M->e.tail, l->args[i].controls);
			if (r == 0)
				r = buf_addc(&M->e.tail, '\n');
			free(want);
		}
		return r;
	}
	if (v->kind == YN_MAP) {
		diags_add(M->d, M->label, v->start.line, v->start.col,
			  "%s: expected a list of flag=value entries, found a mapping", l->name);
		return -EINVAL;
	}
	if (v->kind == YN_SEQ && !v->flow && !v->alias && v->n > 0) {
		for (i = 0; i < v->n; i++)
			if (v->items[i]->kind != YN_SCALAR) {
				diags_add(M->d, M->label, v->items[i]->start.line, v->items[i]->start.col,
					  "%s: list entries must be strings like flag=value", l->name);
				return -EINVAL;
			}
		return merge_block_list(M, l, v);
	}
	return merge_flow_list(M, l, v);
}

static int apply_edits(struct merger *M, struct buf *out)
{
	size_t pos = 0, i;
	int r = 0;

	if (M->e.n)
		qsort(M->e.v, M->e.n, sizeof(*M->e.v), cmp_edit);
	for (i = 0; i < M->e.n && r == 0; i++) {
		const struct edit *x = &M->e.v[i];

		if (x->start < pos)
			return -EINVAL;   /* overlapping edits: a bug, never write that */
		r = buf_add(out, M->text + pos, x->start - pos);
		if (r == 0)
			r = buf_adds(out, x->text);
		pos = x->end;
	}
	if (r == 0)
		r = buf_add(out, M->text + pos, M->len - pos);
	if (r == 0 && M->e.tail.len) {
		if (out->len && out->data[out->len - 1] != '\n')
			r = buf_addc(out, '\n');
		if (r == 0)
			r = buf_add(out, M->e.tail.data, M->e.tail.len);
	}
	return r;
}

int kconfig_merge(const char *label, const char *old, size_t len, bool exists,
		  const struct k3s_model *m, const char *fresh, size_t fresh_len,
		  struct buf *out, struct diags *d)
{
	struct merger M;
	size_t i;
	int r;

	memset(&M, 0, sizeof(M));
	M.label = label;
	M.text = old;
	M.len = len;
	M.d = d;
	if (exists) {
		r = ynode_parse(label, old, len, YN_ALLOW_ALIAS | YN_ALLOW_EMPTY, &M.root, d);
		if (r < 0)
			return r;
	}
	if (!M.root) {
		/* nothing but comments and blanks: keep them, then ours */
		r = buf_add(out, old, len);
		if (r == 0 && len && old[len - 1] != '\n')
			r = buf_addc(out, '\n');
		return r ? r : buf_add(out, fresh, fresh_len);
	}
	if (M.root->kind != YN_MAP) {
		diags_add(d, label, M.root->start.line, M.root->start.col,
			  "the K3s configuration must be a mapping of options, found %s",
			  M.root->kind == YN_SEQ ? "a list" : "a single value");
		r = -EINVAL;
		goto out;
	}
	r = 0;
	for (i = 0; i < m->n_settings && r == 0; i++)
		r = merge_setting(&M, &m->settings[i]);
	for (i = 0; i < m->n_lists && r == 0; i++)
		r = merge_list(&M, &m->lists[i]);
	if (r == 0)
		r = apply_edits(&M, out);
out:
	edits_free(&M.e);
	ynode_free(M.root);
	return r;
}

/* ---- the effective configuration ---- */

struct eff_item {
	const struct ynode *node;   /* the scalar, for its position */
	const char *value;
};

struct eff_key {
	const char *name;
	const struct ynode *assigned;   /* key node of the last plain assignment */
	struct eff_item *items;
	size_t n, cap;
};

struct eff {
	struct eff_key *keys;
	size_t n, cap;
	struct hidx idx;        /* name -> position in keys */
	struct ynode **trees;
	size_t n_trees;
};

static const char *eff_key_at(const void *ctx, size_t pos, size_t *len)
{
	const struct eff *E = ctx;

	*len = strlen(E->keys[pos].name);
	return E->keys[pos].name;
}

static struct eff_key *eff_get(struct eff *E, const char *name, size_t len, bool create)
{
	struct eff_key *k;
	long at = hidx_find(&E->idx, name, len, eff_key_at, E);

	if (at >= 0)
		return &E->keys[at];
	if (!create)
		return NULL;
	if (E->n == E->cap) {
		size_t cap = E->cap ? E->cap * 2 : 32;

		k = realloc(E->keys, cap * sizeof(*k));
		if (!k)
			return NULL;
		E->keys = k;
		E->cap = cap;
	}
	k = &E->keys[E->n];
	memset(k, 0, sizeof(*k));
	k->name = strndup(name, len);
	if (!k->name)
		return NULL;
	if (hidx_add(&E->idx, E->n, eff_key_at, E) < 0) {
		free((char *)k->name);
		return NULL;
	}
	E->n++;
	return k;
}

static int eff_push(struct eff_key *k, const struct ynode *n)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 8;
		struct eff_item *v = realloc(k->items, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		k->items = v;
		k->cap = cap;
	}
	k->items[k->n].node = n;
	k->items[k->n].value = n->value;
	k->n++;
	return 0;
}

static int eff_file(struct eff *E, const struct kconfig_file *f, struct diags *d, struct diags *w)
{
	struct ynode *root = NULL, **trees;
	size_t i, j;
	int r;

	r = ynode_parse(f->label, f->data, f->len, YN_ALLOW_ALIAS | YN_ALLOW_EMPTY, &root, d);
	if (r < 0)
		return r;
	if (!root)
		return 0;
	trees = realloc(E->trees, (E->n_trees + 1) * sizeof(*trees));
	if (!trees) {
		ynode_free(root);
		return -ENOMEM;
	}
	E->trees = trees;
	E->trees[E->n_trees++] = root;
	if (root->kind != YN_MAP) {
		diags_add(d, f->label, root->start.line, root->start.col,
			  "a K3s configuration file must be a mapping of options");
		return -EINVAL;
	}
	for (i = 0; i < root->n; i++) {
		const struct ynode *key = root->keys[i], *v = root->items[i];
		size_t kl = key->len;
		bool plus = kl > 1 && key->value[kl - 1] == '+';
		struct eff_key *k;

		if (plus)
			kl--;
		k = eff_get(E, key->value, kl, true);
		if (!k)
			return -ENOMEM;
		if (!k3s_key_find(k->name))
			diags_add(w, f->label, key->start.line, key->start.col,
				  "unknown K3s option '%s' (K3s ignores it with only a warning)", k->name);
		if (!plus) {
			k->n = 0;
			k->assigned = key;
		}
		if (v->kind == YN_SCALAR) {
			if (!(v->plain && v->len == 0) && (r = eff_push(k, v)) < 0)
				return r;
		} else if (v->kind == YN_SEQ) {
			for (j = 0; j < v->n; j++)
				if (v->items[j]->kind == YN_SCALAR && (r = eff_push(k, v->items[j])) < 0)
					return r;
		}
	}
	return 0;
}

static void eff_free(struct eff *E)
{
	size_t i;

	for (i = 0; i < E->n; i++) {
		free((char *)E->keys[i].name);
		free(E->keys[i].items);
	}
	for (i = 0; i < E->n_trees; i++)
		ynode_free(E->trees[i]);
	free(E->keys);
	free(E->trees);
	hidx_free(&E->idx);
}

static bool plugins_cover(const char *have, const char *want)
{
	const char *p = want;

	while (*p) {
		size_t l = strcspn(p, ",");
		const char *q = have;
		bool found = false;

		while (*q) {
			size_t ql = strcspn(q, ",");

			if (ql == l && strncmp(p, q, l) == 0)
				found = true;
			q += ql + (q[ql] == ',');
		}
		if (!found)
			return false;
		p += l + (p[l] == ',');
	}
	return true;
}

static void report_override(struct diags *d, const struct ynode *at, const char *what,
			    const char *controls)
{
	diags_add(d, at->file, at->start.line, at->start.col,
		  "%s%s%s%s", what, controls ? " (CIS " : "", controls ? controls : "",
		  controls ? ")" : "");
}

int kconfig_check_effective(const struct kconfig_file *files, size_t n,
			    const struct k3s_model *m, struct diags *d,
			    struct diags *w)
{
	struct eff E;
	size_t i, j, errs = d->n;
	int r = 0;

	memset(&E, 0, sizeof(E));
	for (i = 0; i < n && r == 0; i++)
		r = eff_file(&E, &files[i], d, w);
	if (r < 0)
		goto out;
	for (i = 0; i < m->n_settings; i++) {
		const struct cfg_setting *s = &m->settings[i];
		const struct eff_key *k = eff_get(&E, s->key, strlen(s->key), false);
		char msg[512];

		if (!k || k->n == 0) {
			if (k && k->assigned) {
				snprintf(msg, sizeof(msg), "%s: this empties k3s-harden's %s: %s",
					 s->key, s->key, s->value);
				report_override(d, k->assigned, msg, s->controls);
			}
			continue;
		}
		if (strcmp(k->items[k->n - 1].value, s->value) != 0) {
			snprintf(msg, sizeof(msg), "%s: '%s' here overrides k3s-harden's '%s'",
				 s->key, k->items[k->n - 1].value, s->value);
			report_override(d, k->items[k->n - 1].node, msg, s->controls);
		}
	}
	for (i = 0; i < m->n_lists; i++) {
		const struct cfg_list *l = &m->lists[i];
		const struct eff_key *k = eff_get(&E, l->name, strlen(l->name), false);

		for (j = 0; j < l->n; j++) {
			const struct cfg_arg *a = &l->args[j];
			const struct eff_item *last = NULL;
			char msg[512];
			size_t x;

			for (x = 0; k && x < k->n; x++)
				if (same_flag(k->items[x].value, a->flag))
					last = &k->items[x];
			if (!last) {
				if (k && k->assigned) {
					snprintf(msg, sizeof(msg), "%s: this replaces the whole list and drops "
						 "k3s-harden's %s=%s; write '%s+:' to append",
						 l->name, a->flag, a->value, l->name);
					report_override(d, k->assigned, msg, a->controls);
				}
				continue;
			}
			if (strcmp(a->flag, "enable-admission-plugins") == 0
			    ? !plugins_cover(flag_value(last->value), a->value)
			    : strcmp(flag_value(last->value), a->value) != 0) {
				snprintf(msg, sizeof(msg), "%s: '%s' here overrides k3s-harden's %s=%s",
					 l->name, last->value, a->flag, a->value);
				report_override(d, last->node, msg, a->controls);
			}
		}
	}
	r = d->n > errs ? -EINVAL : 0;
out:
	eff_free(&E);
	return r;
}
