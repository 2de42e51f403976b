#include "kconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "k3s_keys.h"
#include "k3s_version.h"
#include "keff.h"
#include "validate.h"
#include "ynode.h"

/* ---- line breaks, as YAML 1.1 reads them (libyaml, and K3s's parser) ---- */

/* Length of the line break at t[i], or 0. */
static size_t brk_len(const char *t, size_t len, size_t i)
{
	const unsigned char *u = (const unsigned char *)t;

	if (u[i] == '\r')
		return i + 1 < len && u[i + 1] == '\n' ? 2 : 1;
	if (u[i] == '\n')
		return 1;
	if (u[i] == 0xc2 && i + 1 < len && u[i + 1] == 0x85)
		return 2;
	if (u[i] == 0xe2 && i + 2 < len && u[i + 1] == 0x80 && (u[i + 2] == 0xa8 || u[i + 2] == 0xa9))
		return 3;
	return 0;
}

/* Whether t[i] starts a line. */
static bool at_line_start(const char *t, size_t i)
{
	const unsigned char *u = (const unsigned char *)t;

	if (i == 0 || u[i - 1] == '\n' || u[i - 1] == '\r')
		return true;
	if (i >= 2 && u[i - 2] == 0xc2 && u[i - 1] == 0x85)
		return true;
	return i >= 3 && u[i - 3] == 0xe2 && u[i - 2] == 0x80 && (u[i - 1] == 0xa8 || u[i - 1] == 0xa9);
}

static size_t line_start(const char *t, size_t i)
{
	while (!at_line_start(t, i))
		i--;
	return i;
}

/* Just past the line break that ends the line holding t[i]. */
static size_t line_end(const char *t, size_t len, size_t i)
{
	for (; i < len; i++) {
		size_t b = brk_len(t, len, i);

		if (b)
			return i + b;
	}
	return len;
}

/* Where the text of the line holding t[i] ends: at its line break. */
static size_t line_text_end(const char *t, size_t len, size_t i)
{
	while (i < len && !brk_len(t, len, i))
		i++;
	return i;
}

/* The file's own line break, for every line we add. */
static const char *detect_eol(const char *t, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (t[i] == '\r')
			return i + 1 < len && t[i + 1] == '\n' ? "\r\n" : "\r";
		else if (t[i] == '\n')
			return "\n";
	return "\n";
}

static bool same_meaning(const struct ynode *v, const struct cfg_setting *s)
{
	if (v->kind != YN_SCALAR)
		return false;
	if (strcmp(v->value, s->value) == 0)
		return true;
	if (s->raw && (strcmp(s->value, "true") == 0 || strcmp(s->value, "false") == 0))
		return keff_bool_meaning(v) == (strcmp(s->value, "true") == 0);
	return false;
}

/* ---- edits on the original bytes ---- */

struct edit {
	size_t start, end;
	size_t seq;             /* insertions at one place keep their order */
	char *text;
};

struct edits {
	struct edit *v;
	size_t n, cap;
};

static int cmp_edit(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void edits_free(struct edits *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i].text);
	free(e->v);
}

/* Whether [start, end) touches a range an edit already replaces. */
static bool edits_overlap(const struct edits *e, size_t start, size_t end)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (e->v[i].start < end && start < e->v[i].end)
			return true;
	return false;
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

/* The plugins of list that are not in drop, comma-separated (caller frees). */
static char *plugins_without(const char *list, const char *drop)
{
	struct buf b = BUF_INIT;
	const char *p = list;
	int r = buf_adds(&b, "");

	while (*p && r == 0) {
		size_t l = strcspn(p, ","), dl;
		const char *q = drop;
		bool hit = false;

		while (*q && !hit) {
			dl = strcspn(q, ",");
			hit = dl == l && strncmp(p, q, l) == 0;
			q += dl + (q[dl] == ',');
		}
		if (!hit && l)
			r = buf_printf(&b, "%s%.*s", b.len ? "," : "", (int)l, p);
		p += l + (p[l] == ',');
	}
	if (r < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* own: user_item is our entry (marked "# CIS"): the plugins we added by
 * ourselves and no longer enable go as well (a->drop_own). */
static char *arg_text(const struct cfg_arg *a, const char *user_item, bool own)
{
	char *s = NULL, *v;

	if (strcmp(a->flag, "enable-admission-plugins") == 0 && user_item) {
		char *kept = a->drop ? plugins_without(keff_flag_value(user_item), a->drop) : NULL;

		if (own && a->drop_own) {
			char *k2 = plugins_without(kept ? kept : keff_flag_value(user_item), a->drop_own);

			free(kept);
			if (!k2)
				return NULL;
			kept = k2;
		}
		v = union_plugins(kept ? kept : keff_flag_value(user_item), a->value);
		free(kept);
		if (!v || asprintf(&s, "%s=%s", a->flag, v) < 0)
			s = NULL;
		free(v);
		return s;
	}
	return asprintf(&s, "%s=%s", a->flag, a->value) < 0 ? NULL : s;
}

/*
 * Whether a user's entry says what we want but for K3s's optional leading
 * "--" ("--audit-log-maxage=30", as the guide writes it): it then stays as
 * written (K3s strips the dashes).
 */
static bool same_spelled_apart(const char *have, const char *want)
{
	return strncmp(have, "--", 2) == 0 && strcmp(have + 2, want) == 0;
}

static int append_comment(struct buf *b, const char *controls)
{
	return controls ? buf_printf(b, "  # CIS %s", controls) : 0;
}

/*
 * Whether t[0, len) is exactly the mark append_comment writes: "# CIS " and
 * control IDs (1.2.9, k3s-cis-1.24:4.2.6) joined by ", ", nothing after. A
 * user's comment that only starts like it ("# CIS 1.2.9 - ours, keep",
 * "# CIS benchmark") is not the mark: what carries it, k3s-harden may remove.
 */
bool kconfig_is_mark(const char *t, size_t len)
{
	size_t i = 6;

	if (len <= 6 || memcmp(t, "# CIS ", 6) != 0)
		return false;
	for (;;) {
		char id[64];
		size_t l = 0;

		while (i + l < len && t[i + l] != ',')
			l++;
		if (l == 0 || l >= sizeof(id) || memchr(t + i, '\0', l))
			return false;
		memcpy(id, t + i, l);
		id[l] = '\0';
		if (!valid_control_id(id))
			return false;
		i += l;
		if (i == len)
			return true;
		if (len - i < 3 || t[i + 1] != ' ')
			return false;
		i += 2;
	}
}

/* ---- merging ---- */

struct merger {
	const char *label;
	const char *text;
	size_t len;
	struct ynode *root;
	const char *eol;
	bool flow;              /* the root is a {flow} mapping: everything we add is flow */
	size_t indent;          /* column of the root's keys */
	struct edits e;
	size_t seq;
	struct buf tail;        /* new keys, added where the root mapping ends */
	const struct ynode **released;   /* anchored nodes we change or remove */
	size_t n_released;
	const struct ynode **stale;      /* our own entries (marked # CIS) of flags the profile no longer sets */
	size_t n_stale;
	const struct ynode **gone;       /* keys removed whole: our settings and lists the profile no longer sets */
	size_t n_gone;
	const struct k3s_model *m;
	struct diags *d;
	struct diags *w;                 /* what the merge does to the user's own entries; may be NULL */
};

/* Add an edit; every '\n' in text becomes the file's own line break. */
static int edit_add(struct merger *M, size_t start, size_t end, const char *text, size_t tlen)
{
	struct edits *e = &M->e;
	struct buf b = BUF_INIT;
	struct edit *x;
	size_t i;
	int r = 0;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;

		x = realloc(e->v, cap * sizeof(*x));
		if (!x)
			return -ENOMEM;
		e->v = x;
		e->cap = cap;
	}
	for (i = 0; i < tlen && r == 0; i++)
		r = text[i] == '\n' ? buf_adds(&b, M->eol) : buf_addc(&b, text[i]);
	if (r == 0 && !b.data)
		r = buf_adds(&b, "");
	if (r < 0) {
		buf_free(&b);
		return r;
	}
	x = &e->v[e->n++];
	x->start = start;
	x->end = end;
	x->seq = M->seq++;
	x->text = buf_steal(&b);
	return x->text ? 0 : -ENOMEM;
}

static int edit_addb(struct merger *M, size_t start, size_t end, const struct buf *b)
{
	return edit_add(M, start, end, b->data ? b->data : "", b->len);
}

/* The quotes a scalar was written with ('"' or '\''), 0 for none. */
static char node_style(const struct merger *M, const struct ynode *n)
{
	char c = n && n->end.index > n->start.index ? M->text[n->start.index] : 0;

	return c == '"' || c == '\'' ? c : 0;
}

/* An entry of the user's written anew (like: the entry as it was): in its quotes. */
static int write_entry(struct merger *M, struct buf *b, const char *s, const struct ynode *like)
{
	return yaml_quote_as(b, s, strlen(s), M->flow, node_style(M, like));
}

/* A value written where it stands: quoted for a block or a flow context. */
static int write_value(struct merger *M, struct buf *b, const char *s, bool raw)
{
	if (raw)
		return buf_adds(b, s);
	return M->flow ? yaml_quote_flow(b, s, strlen(s)) : yaml_quote(b, s, strlen(s));
}

/* An anchored node we change: whoever aliases it must keep the old value. */
static int release_anchor(struct merger *M, const struct ynode *n)
{
	const struct ynode **v;

	if (!n->anchor || n->alias)
		return 0;
	for (size_t i = 0; i < M->n_released; i++)
		if (M->released[i] == n)
			return 0;
	v = realloc(M->released, (M->n_released + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	M->released = v;
	M->released[M->n_released++] = n;
	return 0;
}

/* Where the anchor of `anchored` is defined again (its aliases end there). */
static void find_redefinition(const struct ynode *n, const struct ynode *anchored, size_t *limit)
{
	size_t i;

	if (n->alias)
		return;
	if (n != anchored && n->anchor && strcmp(n->anchor, anchored->anchor) == 0 &&
	    n->start.index > anchored->start.index && n->start.index < *limit)
		*limit = n->start.index;
	for (i = 0; i < n->n; i++) {
		if (n->keys)
			find_redefinition(n->keys[i], anchored, limit);
		find_redefinition(n->items[i], anchored, limit);
	}
}

static void find_alias(const struct ynode *n, const struct ynode *anchored, size_t limit,
		       const struct edits *e, const struct ynode **best)
{
	size_t i;

	if (n->alias && strcmp(n->anchor, anchored->anchor) == 0 &&
	    n->start.index >= anchored->end.index && n->start.index < limit &&
	    !edits_overlap(e, n->start.index, n->end.index) &&
	    (!*best || n->start.index < (*best)->start.index)) {
		*best = n;
		return;
	}
	if (n->alias)
		return;
	for (i = 0; i < n->n; i++) {
		if (n->keys)
			find_alias(n->keys[i], anchored, limit, e, best);
		find_alias(n->items[i], anchored, limit, e, best);
	}
}

/* The anchor a changed value may keep: one nobody refers to. */
static const char *kept_anchor(const struct merger *M, const struct ynode *v)
{
	const struct ynode *alias = NULL;
	struct edits none = { NULL, 0, 0 };
	size_t limit = M->len + 1;

	if (!v->anchor || v->alias)
		return NULL;
	find_redefinition(M->root, v, &limit);
	find_alias(M->root, v, limit, &none, &alias);
	return alias ? NULL : v->anchor;
}

/*
 * The first alias of each anchored node we changed gets the node's old
 * text, anchor included, so it and every later alias keep their value.
 * A block collection cannot move into an alias's place: refuse it.
 */
static int move_anchors(struct merger *M)
{
	size_t i;
	int r = 0;

	for (i = 0; i < M->n_released && r == 0; i++) {
		const struct ynode *n = M->released[i], *alias = NULL;
		size_t limit = M->len + 1;

		find_redefinition(M->root, n, &limit);
		find_alias(M->root, n, limit, &M->e, &alias);
		if (!alias)
			continue;
		if (n->block || (n->kind != YN_SCALAR && !n->flow) ||
		    line_end(M->text, M->len, n->start.index) < n->end.index) {
			diags_add(M->d, M->label, n->start.line, n->start.col,
				  "the value anchored as &%s is reused by *%s on line %u, and k3s-harden "
				  "must change it here; write the value out at one of the two places",
				  n->anchor, alias->anchor, alias->start.line);
			return -EINVAL;
		}
		r = edit_add(M, alias->start.index, alias->end.index, M->text + n->start.index,
			     n->end.index - n->start.index);
	}
	return r;
}

/* Whether a block scalar ends the file without a line break: a break
 * added after it would become part of its value. */
static bool block_at_eof(const struct ynode *n, size_t len)
{
	size_t i;

	if (n->kind == YN_SCALAR)
		return n->block && n->end.index == len;
	for (i = 0; i < n->n; i++)
		if (block_at_eof(n->items[i], len))
			return true;
	return false;
}

/* Where the line of node n ends; a block scalar's end mark is already there. */
static size_t node_line_end(const struct merger *M, const struct ynode *n)
{
	if (n->end.index > n->start.index && at_line_start(M->text, n->end.index))
		return n->end.index;
	return line_end(M->text, M->len, n->end.index);
}

/*
 * The node whose text ends value v: for a block list or mapping its last
 * item's, all the way down (libyaml ends a block collection at the next
 * token, past the comments after its last item, which are not its own but
 * the next key's: they stay when the value is rewritten).
 */
static const struct ynode *last_leaf(const struct ynode *v)
{
	while ((v->kind == YN_SEQ || v->kind == YN_MAP) && !v->flow && !v->alias && v->n > 0)
		v = v->items[v->n - 1];
	return v;
}

static size_t content_end(const struct ynode *v)
{
	return last_leaf(v)->end.index;
}

/* Where a value for key can be written: just past its colon, or just past
 * the key when it has none (a flow `{key}`); *colon says which. */
static size_t after_colon(const struct merger *M, const struct ynode *key, bool *colon)
{
	size_t k = key->end.index;

	for (;;) {
		while (k < M->len && strchr(" \t\r\n", M->text[k]))
			k++;
		if (k >= M->len || M->text[k] != '#')
			break;
		k = line_end(M->text, M->len, k);
	}
	*colon = k < M->len && M->text[k] == ':';
	return *colon ? k + 1 : key->end.index;
}

/* Replace node v (the value of key, when it has one) with the single value
 * in b. An empty value is written after its key's colon (a flow `{key}`
 * gets one); a block scalar keeps the line break its range ends in. */
static int replace_node(struct merger *M, const struct ynode *key, const struct ynode *v,
			const struct buf *b)
{
	size_t from = v->start.index, to = v->end.index;
	struct buf t = BUF_INIT;
	int r = 0;

	if (from == to && key) {
		bool colon;

		from = to = after_colon(M, key, &colon);
		r = buf_adds(&t, colon ? " " : ": ");
	}
	if (r == 0)
		r = buf_add(&t, b->data ? b->data : "", b->len);
	if (r == 0 && to > from && at_line_start(M->text, to))
		r = buf_addc(&t, '\n');
	if (r == 0)
		r = edit_addb(M, from, to, &t);
	buf_free(&t);
	return r;
}

static int tail_setting(struct merger *M, const struct cfg_setting *s)
{
	struct buf *t = &M->tail;
	int r = 0;

	if (M->flow) {
		r = buf_printf(t, "%s%s: ", t->len ? ", " : "", s->key);
		return r ? r : write_value(M, t, s->value, s->raw);
	}
	if (s->controls)
		r = buf_printf(t, "# CIS %s\n", s->controls);
	if (r == 0)
		r = buf_printf(t, "%s: ", s->key);
	if (r == 0)
		r = write_value(M, t, s->value, s->raw);
	return r ? r : buf_addc(t, '\n');
}

static size_t prev_line(const char *t, size_t ls);

/*
 * Our mark of root key i, as tail_setting writes it: the comment alone on
 * the line above, at the key's column, exactly "# CIS <IDs>" (not inside
 * the value before it). [*from, *to) is the comment.
 */
static bool mark_above_key(const struct merger *M, size_t i, size_t *from, size_t *to)
{
	const struct ynode *k = M->root->keys[i];
	size_t ls = line_start(M->text, k->start.index), pl = prev_line(M->text, ls), q;

	if (M->flow || pl == ls || (i > 0 && pl < content_end(M->root->items[i - 1])))
		return false;
	for (q = pl; q < pl + (k->start.index - ls) && M->text[q] == ' '; q++)
		;
	if (q != pl + (k->start.index - ls))
		return false;
	*from = q;
	*to = line_text_end(M->text, M->len, q);
	return kconfig_is_mark(M->text + q, *to - q);
}

/* The mark above a setting of ours names the controls cited now (an
 * upgrade to another benchmark numbers them differently). */
static int refresh_setting_mark(struct merger *M, size_t i, const struct cfg_setting *s)
{
	struct buf c = BUF_INIT;
	size_t from, to;
	int r;

	if (!s->controls || !mark_above_key(M, i, &from, &to))
		return 0;
	r = buf_printf(&c, "# CIS %s", s->controls);
	if (r == 0 && (c.len != to - from || memcmp(c.data, M->text + from, c.len) != 0))
		r = edit_addb(M, from, to, &c);
	buf_free(&c);
	return r;
}

static int merge_setting(struct merger *M, const struct cfg_setting *s)
{
	long i = ynode_find(M->root, s->key);
	struct ynode *v = i < 0 ? NULL : M->root->items[i];
	struct buf b = BUF_INIT;
	int r;

	if (!v)
		return tail_setting(M, s);
	r = refresh_setting_mark(M, (size_t)i, s);
	if (r < 0 || same_meaning(v, s))
		return r;
	if (v->kind != YN_SCALAR && !v->flow && !v->alias) {
		diags_add_field(M->d, M->label, v->start.line, v->start.col, s->key,
			  "%s: expected a single value, found %s", s->key,
			  v->kind == YN_MAP ? "a mapping" : "a list");
		return -EINVAL;
	}
	if (kept_anchor(M, v))
		r = buf_printf(&b, "&%s ", v->anchor);
	else
		r = release_anchor(M, v);
	if (r == 0)
		r = write_value(M, &b, s->value, s->raw);
	if (r == 0)
		r = replace_node(M, M->root->keys[i], v, &b);
	buf_free(&b);
	return r;
}

/* One entry of a managed list as K3s sees it, in file order. */
struct entry {
	const struct ynode *node;
	size_t occ;
	long arg;               /* the managed flag it sets, or -1 */
	bool dup;               /* removed: a later entry for a flag we manage, or a
				 * disable list that held nothing but our plugins */
	char *text;             /* a user entry rewritten: a disable list without our plugins */
	bool own;               /* a block-list item with our "# CIS" comment: we wrote it */
};

/* One `name:` or `name+:` key that K3s still reads (after the last plain one). */
struct occ {
	const struct ynode *key, *val;
	bool rewrite;           /* not a block list we can edit in place */
	size_t first, n;        /* its entries */
	size_t kept;            /* entries that stay */
};

struct list_merge {
	const struct cfg_list *l;
	struct occ *occ;
	size_t n_occ;
	struct entry *ent;
	size_t n_ent;
	char **want;            /* per managed flag: what we write, NULL while unseen */
	bool *seen;
};

static void list_merge_free(struct list_merge *L)
{
	size_t i;

	for (i = 0; L->want && i < L->l->n; i++)
		free(L->want[i]);
	for (i = 0; i < L->n_ent; i++)
		free(L->ent[i].text);
	free(L->want);
	free(L->seen);
	free(L->occ);
	free(L->ent);
}

static int push_entry(struct list_merge *L, const struct ynode *n, size_t occ, size_t *cap)
{
	struct entry *e;
	size_t j;

	if (L->n_ent == *cap) {
		size_t c = *cap ? *cap * 2 : 16;

		e = realloc(L->ent, c * sizeof(*e));
		if (!e)
			return -ENOMEM;
		L->ent = e;
		*cap = c;
	}
	e = &L->ent[L->n_ent++];
	e->node = n;
	e->occ = occ;
	e->arg = -1;
	e->dup = false;
	e->text = NULL;
	e->own = false;
	for (j = 0; j < L->l->n; j++)
		if (keff_same_flag(n->value, L->l->args[j].flag)) {
			e->arg = (long)j;
			break;
		}
	return 0;
}

/* The keys of this list that K3s reads, and their entries. */
/* Whether an enable/disable-admission-plugins entry holds the guide's
 * placeholder `...` (or `\u2026`) where a plugin belongs. */
static bool plugin_placeholder(const char *v)
{
	const char *p;

	if (!keff_same_flag(v, "enable-admission-plugins") && !keff_same_flag(v, "disable-admission-plugins"))
		return false;
	for (p = keff_flag_value(v); *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ','))
		if (strncmp(p, "...", 3) == 0 || strncmp(p, "\xe2\x80\xa6", 3) == 0)
			return true;
	return false;
}

static void placeholder_error(struct diags *d, const char *file, const struct ynode *n, const char *v)
{
	diags_add_field(d, file, n->start.line, n->start.col, "kube-apiserver-arg",
			"kube-apiserver-arg: '...' in '%.*s' is the guide's placeholder, not an "
			"admission plugin: name the plugins", (int)strcspn(v, "="), v);
}

/* The entries of list L in the user's file, in order; a placeholder of the
 * guide's is refused here, at the user's line (not the merged file's). */
static int collect_list(struct merger *M, struct list_merge *L)
{
	size_t nl = strlen(L->l->name), i, j, from = 0, cap = 0;
	int r = 0;

	L->occ = calloc(M->root->n + 1, sizeof(*L->occ));
	if (!L->occ)
		return -ENOMEM;
	for (i = 0; i < M->root->n; i++) {
		const struct ynode *k = M->root->keys[i];

		if (strncmp(k->value, L->l->name, nl) != 0 ||
		    (k->len != nl && !(k->len == nl + 1 && k->value[nl] == '+')))
			continue;
		if (k->len == nl)
			from = L->n_occ;       /* a plain key replaces what came before */
		L->occ[L->n_occ].key = k;
		L->occ[L->n_occ++].val = M->root->items[i];
	}
	memmove(L->occ, L->occ + from, (L->n_occ - from) * sizeof(*L->occ));
	L->n_occ -= from;
	for (i = 0; i < L->n_occ && r == 0; i++) {
		struct occ *o = &L->occ[i];
		const struct ynode *v = o->val;

		if (v->kind == YN_MAP) {
			diags_add_field(M->d, M->label, v->start.line, v->start.col, o->key->value,
				  "%s: expected a list of flag=value entries, found a mapping",
				  o->key->value);
			return -EINVAL;
		}
		o->rewrite = M->flow || v->kind != YN_SEQ || v->flow || v->alias || v->n == 0;
		o->first = L->n_ent;
		if (v->kind == YN_SCALAR) {
			if (!keff_is_null(v))
				r = push_entry(L, v, i, &cap);
			if (r == 0 && strcmp(L->l->name, "kube-apiserver-arg") == 0 && plugin_placeholder(v->value)) {
				placeholder_error(M->d, M->label, v, v->value);
				return -EINVAL;
			}
		} else {
			for (j = 0; j < v->n && r == 0; j++) {
				if (v->items[j]->kind != YN_SCALAR) {
					diags_add_field(M->d, M->label, v->items[j]->start.line,
						  v->items[j]->start.col, o->key->value,
						  "%s: list entries must be strings like flag=value",
						  o->key->value);
					return -EINVAL;
				}
				if (!keff_is_null(v->items[j]))
					r = push_entry(L, v->items[j], i, &cap);
				if (r == 0 && strcmp(L->l->name, "kube-apiserver-arg") == 0 &&
				    plugin_placeholder(v->items[j]->value)) {
					placeholder_error(M->d, M->label, v->items[j], v->items[j]->value);
					return -EINVAL;
				}
			}
		}
		o->n = L->n_ent - o->first;
	}
	return r;
}

/* A warning about the user's entry n (the merge changes it). */
static void warn_entry(struct merger *M, const struct list_merge *L, const struct ynode *n,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void warn_entry(struct merger *M, const struct list_merge *L, const struct ynode *n,
		       const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int r;

	if (!M->w)
		return;
	va_start(ap, fmt);
	r = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (r == 0)
		diags_add_field(M->w, M->label, n->start.line, n->start.col, L->l->name, "%s: %s",
				L->l->name, b.data);
	buf_free(&b);
}

/* The user's enable-admission-plugins entry e loses the plugins the K3s
 * version does not know (cfg_arg.drop): say which, why and what follows. */
static void warn_dropped_plugins(struct merger *M, const struct list_merge *L, const struct entry *e)
{
	const struct cfg_arg *a = &L->l->args[e->arg];
	const char *v = M->m ? M->m->k3s_version : NULL;
	const struct k3s_plugin_range *pr;
	size_t n, i;

	if (e->own || !a->drop || strcmp(a->flag, "enable-admission-plugins") != 0)
		return;
	pr = k3s_plugin_ranges(&n);
	for (i = 0; i < n; i++) {
		if (!keff_csv_has(keff_flag_value(e->node->value), pr[i].plugin) ||
		    !keff_csv_has(a->drop, pr[i].plugin))
			continue;
		warn_entry(M, L, e->node, "admission plugin %s taken out of your '%.*s': K3s %s does "
			   "not know it (%s in %s) and kube-apiserver would not start with it; %s",
			   pr[i].plugin, (int)strcspn(e->node->value, "="), e->node->value,
			   v ? v : "(the newest)", pr[i].before ? "removed" : "added",
			   pr[i].before ? pr[i].before : pr[i].since, pr[i].effect);
	}
}

/* The user's disable-admission-plugins entry e loses the plugins we enable
 * (gone: all of them, the entry goes). */
static void warn_disabled(struct merger *M, const struct list_merge *L, const struct entry *e,
			  const char *enable, bool gone)
{
	const char *p;

	for (p = keff_flag_value(e->node->value); *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		int l = (int)strcspn(p, ",");
		char name[128];

		if (l == 0 || l >= (int)sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", l, p);
		if (keff_csv_has(enable, name))
			warn_entry(M, L, e->node, "admission plugin %s taken out of your '%.*s'%s: the "
				   "profile enables it, and kube-apiserver does not start with a plugin "
				   "both enabled and disabled", name, (int)strcspn(e->node->value, "="),
				   e->node->value, gone ? " (the entry goes, nothing is left in it)" : "");
	}
}

/* The entry of e's flag that K3s reads: the last one (later ones go in
 * the merge, and the first carries the result). */
static const struct entry *last_of(const struct list_merge *L, const struct entry *e)
{
	size_t i;

	for (i = L->n_ent; i-- > 0;)
		if (L->ent[i].arg == e->arg)
			return &L->ent[i];
	return e;
}

/* A user's entry of an at-least flag (audit-log-maxage=90 where the
 * profile says 30) that gives what we ask: it stays as written. With
 * several entries of the flag, the last one decides (K3s passes it). */
static bool at_least_kept(const struct list_merge *L, const struct entry *e)
{
	const struct cfg_arg *a = &L->l->args[e->arg];
	const struct entry *x = last_of(L, e);

	/* the first entry ours: it stays ours, with our value */
	return a->at_least && !e->own && !x->own && cfg_arg_holds(a, keff_flag_value(x->node->value));
}

/* A user's entry of an at-least flag below ours (or no number): raised. */
static void warn_raised(struct merger *M, const struct list_merge *L, const struct entry *e)
{
	const struct cfg_arg *a = &L->l->args[e->arg];
	const struct entry *x = last_of(L, e);
	unsigned long long n;

	if (!a->at_least || e->own || x->own || at_least_kept(L, e))
		return;
	warn_entry(M, L, x->node, "'%s' raised to %s=%s: the profile asks for at least %s%s%s%s "
		   "and this is %s; a plain decimal number of yours not below it stays as written",
		   x->node->value, a->flag, a->value, a->value, a->controls ? " (CIS " : "",
		   a->controls ? a->controls : "", a->controls ? ")" : "",
		   cfg_number(keff_flag_value(x->node->value), &n) ? "less" : "not a plain decimal number");
}

/* A user's value of a flag the profile sets (not an at-least one, not the
 * plugin list, which keeps the user's plugins) that K3s would pass and that
 * the merge replaces: said, at the entry K3s takes it from. */
static void warn_replaced(struct merger *M, const struct list_merge *L, const struct entry *e)
{
	const struct cfg_arg *a = &L->l->args[e->arg];
	const struct entry *x = last_of(L, e);

	if (a->at_least || e->own || x->own || strcmp(a->flag, "enable-admission-plugins") == 0 ||
	    strcmp(keff_flag_value(x->node->value), a->value) == 0)
		return;
	warn_entry(M, L, x->node, "'%s' becomes %s=%s%s%s%s: the profile sets this flag",
		   x->node->value, a->flag, a->value, a->controls ? " (CIS " : "",
		   a->controls ? a->controls : "", a->controls ? ")" : "");
}

/* Decide, per entry, what stays: the first entry of each managed flag
 * carries our value, later ones would override it and go. */
static int plan_list(struct merger *M, struct list_merge *L)
{
	const char *enable = NULL;
	size_t i;

	L->want = calloc(L->l->n + 1, sizeof(*L->want));
	L->seen = calloc(L->l->n + 1, sizeof(*L->seen));
	if (!L->want || !L->seen)
		return -ENOMEM;
	for (i = 0; i < L->n_ent; i++) {
		struct entry *e = &L->ent[i];

		if (e->arg >= 0 && L->seen[e->arg]) {
			e->dup = true;
			continue;
		}
		if (e->arg >= 0) {
			L->seen[e->arg] = true;
			L->want[e->arg] = at_least_kept(L, e) ? strdup(last_of(L, e)->node->value)
				: arg_text(&L->l->args[e->arg], e->node->value, e->own);
			if (!L->want[e->arg])
				return -ENOMEM;
			if (same_spelled_apart(e->node->value, L->want[e->arg])) {
				free(L->want[e->arg]);
				if (!(L->want[e->arg] = strdup(e->node->value)))
					return -ENOMEM;
			}
			warn_dropped_plugins(M, L, e);
			warn_raised(M, L, e);
			warn_replaced(M, L, e);
		} else if (e->own) {
			/* ours from an earlier profile (another K3s version): it goes,
			 * as the admission configuration it named may be gone */
			const struct ynode **v = realloc(M->stale, (M->n_stale + 1) * sizeof(*v));

			if (!v)
				return -ENOMEM;
			M->stale = v;
			M->stale[M->n_stale++] = e->node;
			e->dup = true;
			continue;
		}
		L->occ[e->occ].kept++;
	}
	for (i = 0; i < L->l->n; i++)
		if (!L->seen[i] && !(L->want[i] = arg_text(&L->l->args[i], NULL, false)))
			return -ENOMEM;
	/* kube-apiserver refuses a plugin both enabled and disabled: the user's
	 * disable list keeps everything but the plugins we enable */
	for (i = 0; i < L->l->n; i++)
		if (strcmp(L->l->args[i].flag, "enable-admission-plugins") == 0)
			enable = keff_flag_value(L->want[i]);
	for (i = 0; enable && i < L->n_ent; i++) {
		struct entry *e = &L->ent[i];
		char *rest;

		if (e->arg >= 0 || e->dup || !keff_same_flag(e->node->value, "disable-admission-plugins"))
			continue;
		rest = plugins_without(keff_flag_value(e->node->value), enable);
		if (!rest)
			return -ENOMEM;
		if (strcmp(rest, keff_flag_value(e->node->value)) == 0) {
			free(rest);
			continue;
		}
		if (!*rest) {
			e->dup = true;
			L->occ[e->occ].kept--;
		} else if (asprintf(&e->text, "disable-admission-plugins=%s", rest) < 0) {
			e->text = NULL;
			free(rest);
			return -ENOMEM;
		}
		if (!e->own)
			warn_disabled(M, L, e, enable, !*rest);
		free(rest);
	}
	/* a block list whose every entry goes would be left empty: rewrite it */
	for (i = 0; i < L->n_occ; i++)
		if (L->occ[i].kept == 0 && i + 1 < L->n_occ)
			L->occ[i].rewrite = true;
	return 0;
}

/* One block-list line: "- value  # CIS ids"; like: the user's entry it
 * rewrites (its quotes are kept), or NULL. */
static int block_item(struct merger *M, struct buf *b, size_t indent, const char *value,
		      const char *controls, const struct ynode *like)
{
	int r = buf_printf(b, "%*s- ", (int)indent, "");

	if (r == 0)
		r = like ? write_entry(M, b, value, like) : write_value(M, b, value, false);
	if (r == 0)
		r = append_comment(b, controls);
	return r ? r : buf_addc(b, '\n');
}

/* The new entries (flags the file did not set) for the last occurrence. */
static int new_items(struct merger *M, const struct list_merge *L, struct buf *b, size_t indent,
		     bool *first)
{
	size_t j;
	int r = 0;

	for (j = 0; j < L->l->n && r == 0; j++) {
		if (L->seen[j])
			continue;
		if (M->flow) {
			r = buf_adds(b, *first ? "" : ", ");
			if (r == 0)
				r = write_value(M, b, L->want[j], false);
			*first = false;
		} else {
			r = block_item(M, b, indent, L->want[j], L->l->args[j].controls, NULL);
		}
	}
	return r;
}

/* Whether a user's entry we rewrite may carry our mark: only if, read as
 * ours next time, it would stay as it is (a plugin of the user's that we
 * drop from our own entries keeps it the user's). */
static bool markable(const struct list_merge *L, const struct entry *e)
{
	char *mine;
	bool same;

	if (!e->own && L->l->args[e->arg].at_least) {
		/* a kept number of the user's stays theirs (read as ours next time, it
		 * would be rewritten to our spelling) */
		mine = arg_text(&L->l->args[e->arg], NULL, false);
		same = mine && strcmp(mine, L->want[e->arg]) == 0;
		free(mine);
		return same;
	}
	if (e->own || !L->l->args[e->arg].drop_own)
		return true;
	mine = arg_text(&L->l->args[e->arg], e->node->value, true);
	same = mine && strcmp(mine, L->want[e->arg]) == 0;
	free(mine);
	return same;
}

/*
 * libyaml reads a tab on a blank line below an indented block list as
 * indentation, and refuses the file, where the same line below a
 * `key: value` was fine. The blank and comment lines right after the list
 * we write at `at` lose the blanks they start with where a tab is among
 * them (one edit each: nothing else of the user's changes).
 */
static int untab_lines(struct merger *M, size_t at)
{
	const char *t = M->text;
	size_t p, q, e;
	int r = 0;

	for (p = at; p < M->len && r == 0; p = e + brk_len(t, M->len, e)) {
		bool tab = false;

		for (q = p; q < M->len && (t[q] == ' ' || t[q] == '\t'); q++)
			tab = tab || t[q] == '\t';
		if (q < M->len && t[q] != '#' && !brk_len(t, M->len, q))
			break;
		e = line_text_end(t, M->len, q);
		if (tab)
			r = edit_add(M, p, q, "", 0);
		if (e == M->len)
			break;
	}
	return r;
}

/* Write occurrence o anew: a block list under its key (a flow list in a
 * flow mapping), its surviving entries first. */
static int rewrite_occ(struct merger *M, const struct list_merge *L, size_t oi)
{
	const struct occ *o = &L->occ[oi];
	const struct ynode *v = o->val;
	size_t indent = o->key->start.col - 1 + 2, i, at, vend;
	struct buf b = BUF_INIT, items = BUF_INIT;
	bool first = true, last = oi + 1 == L->n_occ, emptied, whole;
	const char *anchor = kept_anchor(M, v);
	int r = anchor ? 0 : release_anchor(M, v);

	for (i = o->first; i < o->first + o->n && r == 0; i++) {
		const struct entry *e = &L->ent[i];
		const char *val = e->arg >= 0 ? L->want[e->arg] : e->text ? e->text : e->node->value;

		if (e->dup)
			continue;
		r = release_anchor(M, e->node);
		if (r == 0 && M->flow) {
			r = buf_adds(&items, first ? "" : ", ");
			if (r == 0)
				r = write_entry(M, &items, val, e->node);
		} else if (r == 0) {
			r = block_item(M, &items, indent, val, e->arg >= 0 && markable(L, e) ?
				       L->l->args[e->arg].controls : NULL, e->node);
		}
		first = false;
	}
	if (r == 0 && last)
		r = new_items(M, L, &items, indent, &first);
	if (r < 0)
		goto out;
	if (M->flow) {
		r = buf_printf(&b, "%s%s%s[%s]", anchor ? "&" : "", anchor ? anchor : "",
			       anchor ? " " : "", items.data ? items.data : "");
		if (r == 0)
			r = replace_node(M, o->key, v, &b);
		goto out;
	}
	/* the value goes; the key's line (and its comment) stays; items follow it,
	 * or an empty [] goes right after the colon */
	emptied = items.len == 0;
	if (emptied) {
		bool colon;
		size_t spot = after_colon(M, o->key, &colon);

		r = buf_printf(&items, "%s%s%s%s[]", colon ? " " : ": ", anchor ? "&" : "",
			       anchor ? anchor : "", anchor ? " " : "");
		if (r == 0)
			r = edit_addb(M, spot, spot, &items);
		buf_reset(&items);
		anchor = NULL;
	}
	vend = last_leaf(v) != v ? node_line_end(M, last_leaf(v)) : v->end.index;
	at = node_line_end(M, v) == v->end.index ? vend : node_line_end(M, v);
	if (vend > v->start.index) {
		size_t from = v->start.index, k = vend;

		while (at != vend && k < M->len && (M->text[k] == ' ' || M->text[k] == '\t'))
			k++;
		/* the blanks around it go too; a comment after it keeps one space before
		 * it (a tab there would not parse where a value may start) */
		if (!anchor)
			while (from > 0 && (M->text[from - 1] == ' ' || M->text[from - 1] == '\t'))
				from--;
		/* a block list now `[]` after its key: its lines go, no blank one stays */
		whole = emptied && at == vend && at_line_start(M->text, from);
		if (anchor)
			r = buf_printf(&b, "&%s", anchor);
		if (r == 0 && at != vend && k < M->len && !brk_len(M->text, M->len, k))
			r = buf_addc(&b, ' ');
		if (r == 0 && at == vend && !whole)
			r = buf_addc(&b, '\n');
		if (r == 0)
			r = edit_addb(M, from, k, &b);
	}
	if (r == 0 && items.len && at == M->len && !at_line_start(M->text, at))
		r = edit_add(M, at, at, "\n", 1);
	if (r == 0 && items.len)
		r = edit_addb(M, at, at, &items);
	if (r == 0 && items.len)
		r = untab_lines(M, at);
out:
	buf_free(&b);
	buf_free(&items);
	return r;
}

/*
 * Whether n, an item of occurrence o, is one we wrote: a block-list item
 * whose line carries our "# CIS " comment after it. [*from, *to) is that
 * comment, up to the line break.
 */
static bool own_item(const struct merger *M, const struct occ *o, const struct ynode *n,
		     size_t *from, size_t *to)
{
	size_t eol, i;
	const char *c;

	if (M->flow || o->val->kind != YN_SEQ || o->val->flow || o->val->alias ||
	    n->end.index <= n->start.index)
		return false;
	/* a plain or quoted scalar on one line, then blanks and the comment
	 * (a block scalar's end is on a later line, maybe before our comment) */
	if (n->end.line != n->start.line || strchr("|>", M->text[n->start.index]))
		return false;
	eol = line_text_end(M->text, M->len, n->end.index);
	for (i = n->end.index; i < eol && (M->text[i] == ' ' || M->text[i] == '\t'); i++)
		;
	if (i == n->end.index || !kconfig_is_mark(M->text + i, eol - i))
		return false;
	c = M->text + i;
	i = eol;
	if (from)
		*from = (size_t)(c - M->text);
	if (to)
		*to = i;
	return true;
}

/* Our own entry's "# CIS ..." comment names the controls the profile cites
 * now (another benchmark numbers them differently); a user's comment stays. */
static int refresh_comment(struct merger *M, const struct occ *o, const struct ynode *n,
			   const char *controls)
{
	struct buf c = BUF_INIT;
	size_t from, to;
	int r;

	if (!controls || !own_item(M, o, n, &from, &to))
		return 0;
	r = buf_printf(&c, "# CIS %s", controls);
	if (r == 0 && (c.len != to - from || memcmp(c.data, M->text + from, c.len) != 0))
		r = edit_addb(M, from, to, &c);
	buf_free(&c);
	return r;
}

/*
 * The dash of a block sequence's first item: before the item on its line,
 * or, when the item starts a line of its own, opening the nearest line
 * above it that is neither blank nor only a comment ("- # note" then the
 * value: the '-' that ends the note is not it). The sequence's own mark
 * (which may sit at an anchor) when neither is found.
 */
static size_t item_dash(const struct merger *M, const struct ynode *v)
{
	const char *t = M->text;
	size_t p = v->items[0]->start.index, ls, q;

	while (p > 0 && (t[p - 1] == ' ' || t[p - 1] == '\t'))
		p--;
	if (p > 0 && t[p - 1] == '-')
		return p - 1;
	for (ls = p; ls > 0 && ls == line_start(t, ls);) {
		ls = line_start(t, ls - 1);
		for (q = ls; t[q] == ' ' || t[q] == '\t'; q++)
			;
		if (t[q] == '\n' || t[q] == '\r' || t[q] == '#')
			continue;
		if (t[q] == '-' && strchr(" \t\r\n", t[q + 1]))
			return q;
		break;
	}
	return v->start.index;
}

/* Edit a block list in place: our entries' values, later duplicates'
 * lines, and new entries after its last item, indented like its first. */
static int edit_occ(struct merger *M, const struct list_merge *L, size_t oi)
{
	const struct occ *o = &L->occ[oi];
	const struct ynode *v = o->val;
	size_t i, dash, at;
	struct buf b = BUF_INIT;
	bool first = true;
	int r = 0;

	bool changes = false;

	for (i = 0; oi + 1 == L->n_occ && i < L->l->n; i++)
		changes = changes || !L->seen[i];
	for (i = o->first; i < o->first + o->n; i++)
		changes = changes || L->ent[i].dup || L->ent[i].text ||
			  (L->ent[i].arg >= 0 && strcmp(L->ent[i].node->value, L->want[L->ent[i].arg]) != 0);
	if (changes)
		r = release_anchor(M, v);   /* an alias of this list would change with it */
	for (i = o->first; i < o->first + o->n && r == 0; i++) {
		const struct entry *e = &L->ent[i];

		if (e->dup) {
			r = release_anchor(M, e->node);
			if (r == 0)
				r = edit_add(M, line_start(M->text, e->node->start.index),
					     node_line_end(M, e->node), "", 0);
		} else if (e->text || (e->arg >= 0 && strcmp(e->node->value, L->want[e->arg]) != 0)) {
			buf_reset(&b);
			r = release_anchor(M, e->node);
			if (r == 0)
				r = write_entry(M, &b, e->text ? e->text : L->want[e->arg], e->node);
			if (r == 0)
				r = replace_node(M, NULL, e->node, &b);
		}
		if (r == 0 && !e->dup && e->arg >= 0)
			r = refresh_comment(M, o, e->node, L->l->args[e->arg].controls);
	}
	if (r < 0 || oi + 1 != L->n_occ)
		goto out;
	dash = item_dash(M, v);
	buf_reset(&b);
	r = new_items(M, L, &b, dash - line_start(M->text, dash), &first);
	at = node_line_end(M, v->items[v->n - 1]);
	if (at == M->len && !at_line_start(M->text, at) && block_at_eof(M->root, M->len))
		at = line_start(M->text, dash);   /* before the first entry instead */
	if (r == 0 && b.len && at == M->len && !at_line_start(M->text, at))
		r = edit_add(M, at, at, "\n", 1);
	if (r == 0 && b.len)
		r = edit_addb(M, at, at, &b);
out:
	buf_free(&b);
	return r;
}

static int tail_list(struct merger *M, const struct cfg_list *l)
{
	struct buf *t = &M->tail;
	size_t i;
	int r;

	if (M->flow) {
		r = buf_printf(t, "%s%s: [", t->len ? ", " : "", l->name);
		for (i = 0; i < l->n && r == 0; i++) {
			char *want = arg_text(&l->args[i], NULL, false);

			if (!want)
				return -ENOMEM;
			r = buf_adds(t, i ? ", " : "");
			if (r == 0)
				r = write_value(M, t, want, false);
			free(want);
		}
		return r ? r : buf_addc(t, ']');
	}
	r = buf_printf(t, "%s:\n", l->name);
	for (i = 0; i < l->n && r == 0; i++) {
		char *want = arg_text(&l->args[i], NULL, false);

		if (!want)
			return -ENOMEM;
		r = block_item(M, t, 2, want, l->args[i].controls, NULL);
		free(want);
	}
	return r;
}

/*
 * The admission configuration and the audit policy are whole files: an
 * entry naming the user's own (a line without our "# CIS" comment) would be
 * swapped for ours, and whatever the user's file configures (another
 * admission plugin's settings, their audit rules) silently dropped.
 */
static int keep_own_configs(struct merger *M, const struct list_merge *L)
{
	static const char *const files[] = { "admission-control-config-file", "audit-policy-file" };
	size_t i, f;
	int r = 0;

	for (i = 0; i < L->n_ent; i++) {
		const struct entry *e = &L->ent[i];
		const struct cfg_arg *a = e->arg >= 0 ? &L->l->args[e->arg] : NULL;

		if (!a || e->dup || strcmp(keff_flag_value(e->node->value), a->value) == 0)
			continue;
		for (f = 0; f < sizeof(files) / sizeof(files[0]); f++)
			if (strcmp(a->flag, files[f]) == 0)
				break;
		if (f == sizeof(files) / sizeof(files[0]))
			continue;
		if (e->own)
			continue;
		diags_add_field(M->d, M->label, e->node->start.line, e->node->start.col, L->l->name,
			  "%s: '%s' names your own %s; k3s-harden writes its own to '%s' and would drop "
			  "what yours configures: merge yours into the profile's settings and remove "
			  "this entry, or use that path in the profile (%s) only if k3s-harden may "
			  "overwrite it", L->l->name, e->node->value,
			  f == 0 ? "admission configuration" : "audit policy", a->value,
			  f == 0 ? "pod_security.path" : "audit.policy_path");
		r = -EINVAL;
	}
	return r;
}

static int merge_list(struct merger *M, const struct cfg_list *l)
{
	struct list_merge L;
	size_t i;
	int r;

	memset(&L, 0, sizeof(L));
	L.l = l;
	r = collect_list(M, &L);
	if (r == 0 && L.n_occ == 0) {
		list_merge_free(&L);
		return tail_list(M, l);
	}
	for (i = 0; r == 0 && i < L.n_ent; i++)
		L.ent[i].own = own_item(M, &L.occ[L.ent[i].occ], L.ent[i].node, NULL, NULL);
	if (r == 0)
		r = plan_list(M, &L);
	if (r == 0)
		r = keep_own_configs(M, &L);
	for (i = 0; i < L.n_occ && r == 0; i++)
		r = L.occ[i].rewrite ? rewrite_occ(M, &L, i) : edit_occ(M, &L, i);
	list_merge_free(&L);
	return r;
}

/* ---- what an earlier profile wrote and this one does not ---- */

static const struct cfg_setting *managed_setting(const struct k3s_model *m, const char *name,
						 size_t len);
static const struct cfg_list *managed_list(const struct k3s_model *m, const char *name, size_t len);

/* A key's option name, without the `+` of `name+:`. */
static size_t key_name_len(const struct ynode *k)
{
	return k->len > 1 && k->value[k->len - 1] == '+' ? k->len - 1 : k->len;
}

static bool same_name(const struct ynode *a, const struct ynode *b)
{
	size_t l = key_name_len(a);

	return l == key_name_len(b) && memcmp(a->value, b->value, l) == 0;
}

static bool only_blanks(const char *t, size_t from, size_t to)
{
	for (; from < to; from++)
		if (t[from] != ' ' && t[from] != '\t')
			return false;
	return true;
}

static int note_gone(struct merger *M, const struct ynode *key)
{
	const struct ynode **v = realloc(M->gone, (M->n_gone + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	M->gone = v;
	M->gone[M->n_gone++] = key;
	return 0;
}

/* Where the line before the one starting at ls starts, or ls when there is none. */
static size_t prev_line(const char *t, size_t ls)
{
	size_t k;

	for (k = 3; k > 0; k--)
		if (ls >= k && brk_len(t, ls, ls - k) == k)
			return line_start(t, ls - k);
	return ls;
}

/* Whether the line before the one starting at ls is, after blanks, our mark. */
static bool mark_above(const struct merger *M, size_t ls)
{
	size_t pl = prev_line(M->text, ls), p = pl;

	if (pl == ls)
		return false;
	while (p < ls && (M->text[p] == ' ' || M->text[p] == '\t'))
		p++;
	return kconfig_is_mark(M->text + p, line_text_end(M->text, M->len, p) - p);
}

/* The key "name:" alone on its line (blanks before and after, no comment). */
static bool bare_key_line(const struct merger *M, const struct ynode *k)
{
	size_t ls = line_start(M->text, k->start.index), p = k->end.index;

	if (k->anchor || !only_blanks(M->text, ls, k->start.index) || p >= M->len || M->text[p] != ':')
		return false;
	return only_blanks(M->text, p + 1, line_text_end(M->text, M->len, p));
}

/*
 * Root key i as a setting we wrote and this profile does not set: one
 * `key: value` line, marked as tail_setting and the template mark it (our
 * comment alone on the line above, at the key's column) or with our mark
 * after the value. Anything else about it (a second key of the name, an
 * anchor, a tag, a value over several lines) makes it the user's.
 * [*from, *to) are its lines, the mark's included.
 */
static bool stale_setting(const struct merger *M, const struct k3s_model *m, size_t i,
			  size_t *from, size_t *to)
{
	const struct ynode *k = M->root->keys[i], *v = M->root->items[i];
	size_t ls = line_start(M->text, k->start.index), p, e, j, mf, mt;

	/* a setting whose removal loses data stays (host_server_leftovers names it) */
	if (M->flow || k->alias || k->anchor || v->kind != YN_SCALAR || v->block || v->alias ||
	    v->anchor || key_name_len(k) != k->len || k3s_key_arg_list(k->value, NULL) ||
	    k3s_key_keep(k->value) ||
	    managed_setting(m, k->value, k->len) || managed_list(m, k->value, k->len))
		return false;
	for (j = 0; j < M->root->n; j++)
		if (j != i && same_name(M->root->keys[j], k))
			return false;
	if (!only_blanks(M->text, ls, k->start.index) || k->end.index >= M->len ||
	    M->text[k->end.index] != ':' || v->end.index <= v->start.index ||
	    v->start.line != k->start.line || v->end.line != k->start.line ||
	    !only_blanks(M->text, k->end.index + 1, v->start.index) || v->start.index == k->end.index + 1)
		return false;
	e = line_text_end(M->text, M->len, v->end.index);
	for (p = v->end.index; p < e && (M->text[p] == ' ' || M->text[p] == '\t'); p++)
		;
	*to = line_end(M->text, M->len, v->end.index);
	*from = ls;
	if (p < e && (p == v->end.index || !kconfig_is_mark(M->text + p, e - p)))
		return false;
	if (mark_above_key(M, i, &mf, &mt))
		*from = prev_line(M->text, ls);
	/* marked after its value, above it, or both; a mark left right above
	 * what we remove would mark the key after it */
	return (p < e || *from < ls) && !mark_above(M, *from);
}

/* Whether every value of the option is a list of single values (what
 * collect_list takes); anything else is the user's and left alone. */
static bool plain_list(const struct merger *M, const struct ynode *k)
{
	size_t i, j;

	for (i = 0; i < M->root->n; i++) {
		const struct ynode *v = M->root->items[i];

		if (!same_name(M->root->keys[i], k))
			continue;
		if (v->kind == YN_MAP)
			return false;
		for (j = 0; v->kind == YN_SEQ && j < v->n; j++)
			if (v->items[j]->kind != YN_SCALAR)
				return false;
	}
	return true;
}

/*
 * Occurrence o, all of whose entries are ours, can go whole: its key alone
 * on its line, nothing between its items but blanks, and no earlier key of
 * the name that a plain key would stop overriding. Returns the end of its
 * lines, or 0.
 */
static size_t whole_occ_end(const struct merger *M, const struct occ *o)
{
	const struct ynode *v = o->val;
	size_t pos, j, t;

	if (v->kind != YN_SEQ || v->anchor || !bare_key_line(M, o->key) ||
	    mark_above(M, line_start(M->text, o->key->start.index)))
		return 0;
	for (j = 0; j < M->root->n && M->root->keys[j] != o->key; j++)
		if (o->key->len == key_name_len(o->key) && same_name(M->root->keys[j], o->key))
			return 0;
	pos = line_end(M->text, M->len, o->key->end.index);
	for (j = 0; j < v->n; j++) {
		size_t ls = line_start(M->text, v->items[j]->start.index);

		if (!own_item(M, o, v->items[j], NULL, NULL) || ls < pos)
			return 0;
		for (t = pos; t < ls; t++)
			if (!strchr(" \t\r\n", M->text[t]))
				return 0;
		pos = node_line_end(M, v->items[j]);
	}
	return pos;
}

/*
 * Our entries in an argument list this profile writes nothing into go;
 * the user's stay as they are. A list left with none of its entries goes
 * whole where it can, else it becomes `name: []`.
 */
static int drop_stale_list(struct merger *M, const struct cfg_list *l)
{
	struct list_merge L;
	size_t i, j;
	bool any = false;
	int r;

	memset(&L, 0, sizeof(L));
	L.l = l;
	r = collect_list(M, &L);
	for (i = 0; r == 0 && i < L.n_ent; i++) {
		L.ent[i].own = own_item(M, &L.occ[L.ent[i].occ], L.ent[i].node, NULL, NULL);
		any = any || L.ent[i].own;
	}
	if (r == 0 && any)
		r = plan_list(M, &L);
	for (i = 0; r == 0 && any && i < L.n_occ; i++) {
		struct occ *o = &L.occ[i];
		bool mine = false;
		size_t end;

		for (j = o->first; j < o->first + o->n; j++)
			mine = mine || L.ent[j].own;
		if (!mine)
			continue;
		if (o->kept) {
			r = edit_occ(M, &L, i);
		} else if ((end = whole_occ_end(M, o)) != 0) {
			for (j = 0; j < o->val->n && r == 0; j++)
				r = release_anchor(M, o->val->items[j]);
			if (r == 0)
				r = edit_add(M, line_start(M->text, o->key->start.index), end, "", 0);
			if (r == 0)
				r = note_gone(M, o->key);
		} else {
			r = rewrite_occ(M, &L, i);
		}
	}
	list_merge_free(&L);
	return r;
}

/*
 * What an earlier profile (another K3s version, benchmark or role) wrote
 * and this one no longer sets: our marked entries of the argument lists it
 * writes nothing into, and our marked settings. The user's lines stay.
 */
static int drop_stale(struct merger *M, const struct k3s_model *m)
{
	size_t i, j, from, to;
	int r = 0;

	if (m->n_settings + m->n_lists == 0)
		return 0;       /* nothing of ours would be left to hold the mapping */
	for (i = 0; i < M->root->n && r == 0; i++) {
		const struct ynode *k = M->root->keys[i];
		size_t nl = key_name_len(k);
		struct cfg_list l = { NULL, NULL, 0 };

		for (j = 0; j < i && !same_name(M->root->keys[j], k); j++)
			;
		if (j < i || managed_list(m, k->value, nl) || !plain_list(M, k))
			continue;
		l.name = strndup(k->value, nl);
		if (!l.name)
			return -ENOMEM;
		if (k3s_key_arg_list(l.name, NULL))
			r = drop_stale_list(M, &l);
		free(l.name);
	}
	for (i = 0; i < M->root->n && r == 0; i++)
		if (stale_setting(M, m, i, &from, &to)) {
			r = edit_add(M, from, to, "", 0);
			if (r == 0)
				r = note_gone(M, M->root->keys[i]);
		}
	return r;
}

/* Position at, moved to the start of an edit that replaces it (the lines of
 * a stale setting removed there). */
static size_t before_edits(const struct merger *M, size_t at)
{
	size_t i;

	for (i = 0; i < M->e.n; i++)
		if (M->e.v[i].start < at && at < M->e.v[i].end)
			at = M->e.v[i].start;
	return at;
}

/* New keys go where the root mapping ends, indented like its keys (inside
 * the braces of a flow mapping), not after a `...` or at column 0. */
static int place_tail(struct merger *M)
{
	struct buf b = BUF_INIT;
	size_t at = M->root->end.index, i;
	int r = 0;

	if (!M->tail.len)
		return 0;
	if (M->flow) {
		size_t p;

		while (at > 0 && M->text[at - 1] != '}')
			at--;
		if (at == 0)
			return -EINVAL;
		at--;
		p = at;
		while (p > 0 && strchr(" \t\r\n", M->text[p - 1]))
			p--;
		if (p > 0 && M->text[p - 1] != '{' && M->text[p - 1] != ',')
			r = buf_adds(&b, ", ");
		if (r == 0)
			r = buf_add(&b, M->tail.data, M->tail.len);
		if (r == 0)
			r = edit_addb(M, at, at, &b);
		buf_free(&b);
		return r;
	}
	if (!at_line_start(M->text, at)) {
		if (at < M->len)
			at = line_end(M->text, M->len, at);
		else if (block_at_eof(M->root, M->len))
			at = before_edits(M, line_start(M->text, M->root->keys[0]->start.index));   /* before the first key */
		if (at < 3 && M->len >= 3 && memcmp(M->text, "\xef\xbb\xbf", 3) == 0)
			at = 3;
		else
			r = buf_addc(&b, '\n');
	}
	for (i = 0; i < M->tail.len && r == 0; i++) {
		if (M->indent && (i == 0 || M->tail.data[i - 1] == '\n'))
			r = buf_printf(&b, "%*s", (int)M->indent, "");
		if (r == 0)
			r = buf_addc(&b, M->tail.data[i]);
	}
	if (r == 0)
		r = edit_addb(M, at, at, &b);
	buf_free(&b);
	return r;
}

static int apply_edits(struct merger *M, struct buf *out, struct kconfig_span *spans)
{
	size_t pos = 0, i;
	int r = 0;

	if (M->e.n)
		qsort(M->e.v, M->e.n, sizeof(*M->e.v), cmp_edit);
	for (i = 0; i < M->e.n && r == 0; i++) {
		const struct edit *x = &M->e.v[i];

		if (x->start < pos) {
			diags_add(M->d, M->label, 1, 1, "cannot merge into this file safely: two "
				  "edits overlap (a k3s-harden bug); nothing was written");
			return -EINVAL;
		}
		r = buf_add(out, M->text + pos, x->start - pos);
		if (r == 0)
			r = buf_adds(out, x->text);
		if (spans) {
			spans[i].start = x->start;
			spans[i].end = x->end;
			spans[i].new_len = strlen(x->text);
		}
		pos = x->end;
	}
	return r ? r : buf_add(out, M->text + pos, M->len - pos);
}

/* ---- checking our own result ---- */

/*
 * One file as K3s reads it: per option, the values it ends up with (a
 * plain key replaces, `key+:` appends, null is nothing). Sorted by name.
 */
struct vopt {
	const char *name;
	size_t nlen;
	size_t pos;             /* key order, to keep file order within a name */
	const struct ynode *key, *val;
};

static int cmp_name(const struct vopt *x, const struct vopt *y)
{
	size_t l = x->nlen < y->nlen ? x->nlen : y->nlen;
	int c = memcmp(x->name, y->name, l);

	if (c)
		return c;
	return x->nlen < y->nlen ? -1 : x->nlen > y->nlen;
}

static int cmp_vopt(const void *a, const void *b)
{
	const struct vopt *x = a, *y = b;
	int c = cmp_name(x, y);

	return c ? c : x->pos < y->pos ? -1 : x->pos > y->pos;
}

static struct vopt *view_build(const struct ynode *root)
{
	struct vopt *v = calloc(root->n + 1, sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < root->n; i++) {
		const struct ynode *k = root->keys[i];

		v[i].name = k->value;
		v[i].nlen = k->len > 1 && k->value[k->len - 1] == '+' ? k->len - 1 : k->len;
		v[i].pos = i;
		v[i].key = k;
		v[i].val = root->items[i];
	}
	qsort(v, root->n, sizeof(*v), cmp_vopt);
	return v;
}

static bool is_stale(const struct merger *M, const struct ynode *n);
static bool is_gone(const struct merger *M, const struct ynode *key);

/* M (the old file's merger, or NULL): our stale entries are left out. */
static int canon(const struct merger *M, const struct ynode *n, bool strings, struct buf *b)
{
	size_t i;
	int r = 0;

	if (n->kind == YN_SCALAR) {
		if (keff_is_null(n))
			return 0;
		return buf_printf(b, "%s%zu:%s;", strings ? "" : n->plain ? "p" : "q", n->len, n->value);
	}
	r = buf_addc(b, n->kind == YN_MAP ? '{' : '[');
	for (i = 0; i < n->n && r == 0; i++) {
		if (!n->keys && M && is_stale(M, n->items[i]))
			continue;
		if (n->keys)
			r = canon(M, n->keys[i], false, b);
		if (r == 0)
			r = canon(M, n->items[i], strings && !n->keys, b);
	}
	return r ? r : buf_addc(b, n->kind == YN_MAP ? '}' : ']');
}

/* Serialise what an option ends up with, from entries [from, to) of a view;
 * with M, as the old file would read without what the merge removes of ours. */
static int view_value(const struct merger *M, const struct vopt *v, size_t from, size_t to,
		      struct buf *b)
{
	size_t i, start = from;
	int r = 0;

	for (i = from; i < to; i++)
		if (v[i].key->len == v[i].nlen && !(M && is_gone(M, v[i].key)))
			start = i;
	for (i = start; i < to && r == 0; i++)
		if (!(M && is_gone(M, v[i].key)))
			r = canon(M, v[i].val, false, b);
	return r;
}

/* The entries of a managed list that K3s ends up with, in order. */
static size_t list_entries(const struct vopt *v, size_t from, size_t to,
			   const struct ynode ***out)
{
	size_t i, j, start = from, n = 0, cap = 0;
	const struct ynode **e = NULL, **x;

	for (i = from; i < to; i++)
		if (v[i].key->len == v[i].nlen)
			start = i;
	for (i = start; i < to; i++) {
		const struct ynode *val = v[i].val;
		size_t cnt = val->kind == YN_SEQ ? val->n : 1;

		for (j = 0; j < cnt; j++) {
			const struct ynode *it = val->kind == YN_SEQ ? val->items[j] : val;

			if (keff_is_null(it))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				x = realloc(e, cap * sizeof(*x));
				if (!x) {
					free(e);
					*out = NULL;
					return (size_t)-1;
				}
				e = x;
			}
			e[n++] = it;
		}
	}
	*out = e;
	return n;
}

static long managed_arg(const struct cfg_list *l, const struct ynode *it)
{
	size_t j;

	for (j = 0; it->kind == YN_SCALAR && j < l->n; j++)
		if (keff_same_flag(it->value, l->args[j].flag))
			return (long)j;
	return -1;
}

static bool plugins_cover(const char *have, const char *want);

/* A managed list: the user's other entries, in order, and ours, last. */
/* A user entry as it must read after the merge: a disable list loses the
 * plugins we enable (NULL when nothing is left), everything else is as is. */
static char *user_entry(const struct ynode *it, const char *enable)
{
	char *rest, *s = NULL;

	if (!enable || !keff_same_flag(it->value, "disable-admission-plugins"))
		return strdup(it->value);
	rest = plugins_without(keff_flag_value(it->value), enable);
	if (rest && *rest && strcmp(rest, keff_flag_value(it->value)) == 0)
		s = strdup(it->value);
	else if (rest && *rest && asprintf(&s, "disable-admission-plugins=%s", rest) < 0)
		s = NULL;
	free(rest);
	return s;
}

static bool is_stale(const struct merger *M, const struct ynode *n)
{
	size_t i;

	for (i = 0; i < M->n_stale; i++)
		if (M->stale[i] == n)
			return true;
	return false;
}

static bool is_gone(const struct merger *M, const struct ynode *key)
{
	size_t i;

	for (i = 0; i < M->n_gone; i++)
		if (M->gone[i] == key)
			return true;
	return false;
}

/* Whether every key of view run [from, to) goes whole. */
static bool run_gone(const struct merger *M, const struct vopt *v, size_t from, size_t to)
{
	for (; from < to; from++)
		if (!is_gone(M, v[from].key))
			return false;
	return true;
}

/* A managed list: the user's other entries, in order, and ours, last. */

static bool list_holds(const struct merger *M, const struct cfg_list *l, const struct vopt *ov,
		       size_t of, size_t ot, const struct vopt *nv, size_t nf, size_t nt,
		       const char **why)
{
	const struct ynode **o = NULL, **n = NULL;
	size_t on = ov ? list_entries(ov, of, ot, &o) : 0;
	size_t nn = list_entries(nv, nf, nt, &n), i, j, k;
	bool ok = on != (size_t)-1 && nn != (size_t)-1;
	const char *enable = NULL;

	for (j = 0; ok && j < nn; j++)
		if (n[j]->kind != YN_SCALAR)
			ok = false;
		else if (keff_same_flag(n[j]->value, "enable-admission-plugins") && managed_arg(l, n[j]) >= 0)
			enable = keff_flag_value(n[j]->value);
	*why = "the option's other entries";
	for (i = 0, j = 0; ok; i++, j++) {
		char *want = NULL;

		while (i < on && (managed_arg(l, o[i]) >= 0 || is_stale(M, o[i]) ||
				  !(want = user_entry(o[i], enable))))
			i++;
		while (j < nn && managed_arg(l, n[j]) >= 0)
			j++;
		if (i == on || j == nn) {
			ok = i == on && j == nn;
			free(want);
			break;
		}
		ok = strcmp(want, n[j]->value) == 0;
		free(want);
	}
	for (k = 0; ok && k < l->n; k++) {
		const struct cfg_arg *a = &l->args[k];
		const struct ynode *last = NULL;

		for (j = 0; j < nn; j++)
			if (managed_arg(l, n[j]) == (long)k)
				last = n[j];
		*why = a->flag;
		ok = last && (strcmp(a->flag, "enable-admission-plugins") == 0
			      ? plugins_cover(keff_flag_value(last->value), a->value)
			      : cfg_arg_holds(a, keff_flag_value(last->value)));
	}
	free(o);
	free(n);
	return ok;
}

static const struct cfg_setting *managed_setting(const struct k3s_model *m, const char *name,
						 size_t len)
{
	size_t i;

	for (i = 0; i < m->n_settings; i++)
		if (strlen(m->settings[i].key) == len && strncmp(m->settings[i].key, name, len) == 0)
			return &m->settings[i];
	return NULL;
}

static const struct cfg_list *managed_list(const struct k3s_model *m, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < m->n_lists; i++)
		if (strlen(m->lists[i].name) == len && strncmp(m->lists[i].name, name, len) == 0)
			return &m->lists[i];
	return NULL;
}

/* End of the run of entries in v that share v[i]'s name. */
static size_t run_end(const struct vopt *v, size_t n, size_t i)
{
	size_t j = i + 1;

	while (j < n && cmp_name(&v[j], &v[i]) == 0)
		j++;
	return j;
}

/*
 * The merge edits bytes; this checks meaning. Every option the profile
 * does not manage must read exactly as before, every managed list must
 * keep the user's other entries in order, and every managed value must be
 * what the profile asks for. Anything else is refused before a byte is
 * written: a wrong merge must never reach the host.
 */
static int verify_merge(const struct merger *M, const struct buf *out, const struct k3s_model *m)
{
	struct ynode *nroot = NULL;
	struct vopt *ov = NULL, *nv = NULL;
	struct diags scratch = { NULL, 0, 0 };
	struct buf a = BUF_INIT, b = BUF_INIT;
	const char *what = NULL, *why = "its value";
	size_t i, j, on, nn;
	int r;

	r = ynode_parse(M->label, out->data, out->len, YN_ALLOW_ALIAS, &nroot, &scratch);
	if (r < 0 || nroot->kind != YN_MAP) {
		what = "the file";
		why = scratch.n ? scratch.v[0].msg : "its structure";
		goto out;
	}
	on = M->root->n;
	nn = nroot->n;
	ov = view_build(M->root);
	nv = view_build(nroot);
	if (!ov || !nv) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0, j = 0; (i < on || j < nn) && !what;) {
		size_t ie = i < on ? run_end(ov, on, i) : on, je = j < nn ? run_end(nv, nn, j) : nn;
		int c = i == on ? 1 : j == nn ? -1 : cmp_name(&ov[i], &nv[j]);
		const struct vopt *cur = c <= 0 ? &ov[i] : &nv[j];
		why = "its value";
		const struct cfg_setting *s = managed_setting(m, cur->name, cur->nlen);
		const struct cfg_list *l = managed_list(m, cur->name, cur->nlen);

		if (s) {
			if (c < 0 || !same_meaning(nv[je - 1].val, s))
				what = s->key;
		} else if (l) {
			if (c < 0 || !list_holds(M, l, c == 0 ? ov : NULL, i, ie, nv, j, je, &why))
				what = l->name;
		} else if (c < 0 && run_gone(M, ov, i, ie)) {
			;       /* ours, from an earlier profile */
		} else if (c != 0) {
			what = cur->key->value;
			why = c < 0 ? "it would be gone" : "it would be added";
		} else {
			buf_reset(&a);
			buf_reset(&b);
			r = view_value(M, ov, i, ie, &a);
			if (r == 0)
				r = view_value(NULL, nv, j, je, &b);
			if (r < 0)
				goto out;
			if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
				what = cur->key->value;
		}
		if (c <= 0)
			i = ie;
		if (c >= 0)
			j = je;
	}
out:
	if (what) {
		diags_add_field(M->d, M->label, 1, 1, strcmp(what, "the file") ? what : NULL,
			  "cannot merge into this file safely: the result would change '%s' (%s); "
			  "nothing was written; this is a k3s-harden bug, please report it with the "
			  "file, and use `k3s: {mode: dropin}` meanwhile", what, why);
		r = -EINVAL;
	}
	buf_free(&a);
	buf_free(&b);
	free(ov);
	free(nv);
	ynode_free(nroot);
	diags_free(&scratch);
	return r;
}

int kconfig_merge(const char *label, const char *old, size_t len, bool exists,
		  const struct k3s_model *m, const char *fresh, size_t fresh_len,
		  struct buf *out, struct diags *d, struct diags *w)
{
	return kconfig_merge_spans(label, old, len, exists, m, fresh, fresh_len, out, NULL, NULL, d, w);
}

int kconfig_merge_spans(const char *label, const char *old, size_t len, bool exists,
			const struct k3s_model *m, const char *fresh, size_t fresh_len,
			struct buf *out, struct kconfig_span **spans, size_t *n_spans,
			struct diags *d, struct diags *w)
{
	struct kconfig_span *sp = NULL;
	struct merger M;
	size_t i, out0 = out->len;
	int r;

	memset(&M, 0, sizeof(M));
	M.label = label;
	M.text = old;
	M.len = len;
	M.d = d;
	M.w = w;
	M.m = m;
	M.eol = detect_eol(old, len);
	if (exists) {
		r = ynode_parse(label, old, len, YN_ALLOW_ALIAS | YN_ALLOW_EMPTY, &M.root, d);
		if (r < 0)
			return r;
	}
	if (!M.root) {
		/* nothing but comments and blanks: keep them, then ours */
		r = buf_add(out, old, len);
		if (r == 0 && len && !at_line_start(old, len))
			r = buf_adds(out, M.eol);
		for (i = 0; i < fresh_len && r == 0; i++)
			r = fresh[i] == '\n' ? buf_adds(out, M.eol) : buf_addc(out, fresh[i]);
		if (r == 0 && spans) {
			if (!(sp = calloc(1, sizeof(*sp))))
				return -ENOMEM;
			sp->start = sp->end = len;
			sp->new_len = out->len - out0 - len;
			*spans = sp;
			*n_spans = 1;
		}
		return r;
	}
	if (M.root->kind != YN_MAP) {
		diags_add(d, label, M.root->start.line, M.root->start.col,
			  "the K3s configuration must be a mapping of options, found %s",
			  M.root->kind == YN_SEQ ? "a list" : "a single value");
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < M.root->n; i++) {
		const struct ynode *k = M.root->keys[i];
		size_t at = k->start.index;

		while (at > 0 && (old[at - 1] == ' ' || old[at - 1] == '\t'))
			at--;
		if (k->len == 0 || (at > 0 && old[at - 1] == '?')) {
			diags_add_field(d, label, k->start.line, k->start.col, k->len ? k->value : NULL,
				  "%s: K3s options are written `name: value`; an empty or explicit (`? `) "
				  "key is not an option", k->len ? k->value : "(empty key)");
			r = -EINVAL;
			goto out;
		}
	}
	M.flow = M.root->flow;
	M.indent = M.root->n ? M.root->keys[0]->start.col - 1 : 0;
	r = 0;
	for (i = 0; i < m->n_settings && r == 0; i++)
		r = merge_setting(&M, &m->settings[i]);
	for (i = 0; i < m->n_lists && r == 0; i++)
		r = merge_list(&M, &m->lists[i]);
	if (r == 0 && !M.flow)
		r = drop_stale(&M, m);
	if (r == 0)
		r = place_tail(&M);
	if (r == 0)
		r = move_anchors(&M);
	if (r == 0 && spans && !(sp = calloc(M.e.n + 1, sizeof(*sp))))
		r = -ENOMEM;
	if (r == 0)
		r = apply_edits(&M, out, sp);
	if (r == 0)
		r = verify_merge(&M, out, m);
	if (r == 0 && spans) {
		*spans = sp;
		*n_spans = M.e.n;
		sp = NULL;
	}
out:
	free(sp);
	edits_free(&M.e);
	buf_free(&M.tail);
	free(M.released);
	free(M.stale);
	free(M.gone);
	ynode_free(M.root);
	return r;
}

/* ---- the effective configuration ---- */

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
	/* every message starts with the K3s option: "kubelet-arg: ..." */
	char field[128];

	snprintf(field, sizeof(field), "%.*s", (int)strcspn(what, ":"), what);
	diags_add_field(d, at->file, at->start.line, at->start.col, field,
		  "%s%s%s%s", what, controls ? " (CIS " : "", controls ? controls : "",
		  controls ? ")" : "");
}

/*
 * A plugin that needs its own configuration (EventRateLimit,
 * ImagePolicyWebhook) in the enable-admission-plugins K3s ends up with
 * (a user's entry the merge keeps, or one in a later file), while no
 * admission-control-config-file is set or only ours, which does not
 * configure it: kube-apiserver would not start. A configuration file of
 * the user's is theirs to fill. Servers only (an agent takes no
 * kube-apiserver-arg, and has no such list in m).
 */
static void check_plugin_configs(const struct keff_key *k, const struct k3s_model *m, struct diags *d)
{
	const struct cfg_list *l = managed_list(m, "kube-apiserver-arg", strlen("kube-apiserver-arg"));
	const struct keff_item *en = NULL, *cfg = NULL;
	const char *ours = NULL, *p;
	size_t i;

	if (!l || !k)
		return;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->args[i].flag, "admission-control-config-file") == 0)
			ours = l->args[i].value;
	for (i = 0; i < k->n; i++) {
		if (keff_same_flag(k->items[i].value, "enable-admission-plugins"))
			en = &k->items[i];
		else if (keff_same_flag(k->items[i].value, "admission-control-config-file"))
			cfg = &k->items[i];
	}
	/* ours missing from the result is an override, reported as one */
	if (!en || (cfg && (!ours || strcmp(keff_flag_value(cfg->value), ours) != 0)) || (!cfg && ours))
		return;
	for (p = keff_flag_value(en->value); *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		char name[128];
		const char *what;

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, ","), p);
		what = cfg_plugin_needs_config(name);
		if (!what || (cfg && keff_csv_has(m->admission_configures, name)))
			continue;
		if (cfg)
			diags_add_field(d, en->node->file, en->node->start.line, en->node->start.col,
					"kube-apiserver-arg", "kube-apiserver-arg: '%s' enables %s, which needs "
					"%s in the admission configuration, and k3s-harden's %s has none: "
					"kube-apiserver would not start; take %s out of this entry%s", en->value,
					name, what, ours, name, strcmp(name, "EventRateLimit") == 0 ?
					", or turn event_rate_limit on in the profile" : "");
		else
			diags_add_field(d, en->node->file, en->node->start.line, en->node->start.col,
					"kube-apiserver-arg", "kube-apiserver-arg: '%s' enables %s, which needs "
					"%s in an admission-control-config-file, and none is set (the profile "
					"writes none with pod_security and event_rate_limit off): kube-apiserver "
					"would not start; take %s out of this entry%s", en->value, name, what,
					name, strcmp(name, "EventRateLimit") == 0 ?
					", or turn event_rate_limit on in the profile" : "");
	}
}

/*
 * Admission plugins as kube-apiserver will see them: a placeholder `...`
 * copied from the guide is no plugin, and a plugin that is both enabled
 * and disabled stops kube-apiserver.
 */
static void check_plugins(const struct keff *E, const struct k3s_model *m, struct diags *d)
{
	const struct keff_key *k = keff_get(E, "kube-apiserver-arg");
	const struct keff_item *disable = NULL;
	const char *enable = NULL;
	size_t i, j;

	for (i = 0; i < m->n_lists; i++)
		for (j = 0; strcmp(m->lists[i].name, "kube-apiserver-arg") == 0 && j < m->lists[i].n; j++)
			if (strcmp(m->lists[i].args[j].flag, "enable-admission-plugins") == 0)
				enable = m->lists[i].args[j].value;
	for (i = 0; k && i < k->n; i++) {
		const char *v = k->items[i].value;

		if (!keff_same_flag(v, "enable-admission-plugins") && !keff_same_flag(v, "disable-admission-plugins"))
			continue;
		if (keff_same_flag(v, "disable-admission-plugins"))
			disable = &k->items[i];
		if (plugin_placeholder(v))
			placeholder_error(d, k->items[i].node->file, k->items[i].node, v);
	}
	check_plugin_configs(k, m, d);
	if (disable && enable) {
		char *left = plugins_without(keff_flag_value(disable->value), enable);

		if (left && strcmp(left, keff_flag_value(disable->value)) != 0)
			diags_add_field(d, disable->node->file, disable->node->start.line,
				  disable->node->start.col, "kube-apiserver-arg",
				  "kube-apiserver-arg: '%s' disables a plugin k3s-harden enables (%s); "
				  "kube-apiserver does not start with a plugin both enabled and disabled: "
				  "remove it from this list", disable->value, enable);
		free(left);
	}
}

static bool from_ours(const struct kconfig_file *files, size_t n, const struct ynode *node)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (files[i].ours && node->file && strcmp(node->file, files[i].label) == 0)
			return true;
	return false;
}

/*
 * An at-least value of the user's (audit-log-maxage=90) in a file K3s
 * reads before ours (dropin mode: config.yaml, then our drop-in), which
 * ours, smaller, overrides: allowed, but said.
 */
static void warn_lowered(const struct kconfig_file *files, size_t n, const struct keff_key *k,
			 const struct keff_item *last, const struct cfg_arg *a, const char *list,
			 struct diags *w)
{
	const struct keff_item *mine = NULL;
	const char *field = audit_field_for_flag(a->flag);
	size_t x;

	if (!w || !from_ours(files, n, last->node))
		return;
	for (x = 0; &k->items[x] != last; x++)
		if (keff_same_flag(k->items[x].value, a->flag) && !from_ours(files, n, k->items[x].node))
			mine = &k->items[x];
	if (!mine || !cfg_arg_holds(a, keff_flag_value(mine->value)) ||
	    strcmp(keff_flag_value(mine->value), a->value) == 0)
		return;
	diags_add_field(w, mine->node->file, mine->node->start.line, mine->node->start.col, list,
			"%s: your '%s' is overridden by k3s-harden's %s=%s in '%s', which K3s reads "
			"later: to keep yours, set %s to it in the profile, or use k3s.mode: merge "
			"(which keeps a value not below the profile's)", list, mine->value, a->flag,
			a->value, last->node->file, field ? field : "the value");
}

int kconfig_check_effective(const struct kconfig_file *files, size_t n,
			    const struct k3s_model *m, struct diags *d,
			    struct diags *w)
{
	struct keff E = KEFF_INIT;
	size_t i, j, errs = d->n;
	int r = 0;

	for (i = 0; i < n && r == 0; i++)
		r = keff_add(&E, files[i].label, files[i].data, files[i].len, d, w);
	if (r < 0)
		goto out;
	check_plugins(&E, m, d);
	for (i = 0; i < m->n_settings; i++) {
		const struct cfg_setting *s = &m->settings[i];
		const struct keff_key *k = keff_get(&E, s->key);
		char msg[512];

		if (!k || k->n == 0) {
			if (k && k->assigned) {
				snprintf(msg, sizeof(msg), "%s: this empties k3s-harden's %s: %s",
					 s->key, s->key, s->value);
				report_override(d, k->assigned, msg, s->controls);
			}
			continue;
		}
		if (!same_meaning(k->items[k->n - 1].node, s)) {
			snprintf(msg, sizeof(msg), "%s: '%s' here overrides k3s-harden's '%s'",
				 s->key, k->items[k->n - 1].value, s->value);
			report_override(d, k->items[k->n - 1].node, msg, s->controls);
		}
	}
	for (i = 0; i < m->n_lists; i++) {
		const struct cfg_list *l = &m->lists[i];
		const struct keff_key *k = keff_get(&E, l->name);

		for (j = 0; j < l->n; j++) {
			const struct cfg_arg *a = &l->args[j];
			const struct keff_item *last = NULL;
			char msg[512];
			size_t x;

			for (x = 0; k && x < k->n; x++)
				if (keff_same_flag(k->items[x].value, a->flag))
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
			    ? !plugins_cover(keff_flag_value(last->value), a->value)
			    : !cfg_arg_holds(a, keff_flag_value(last->value))) {
				snprintf(msg, sizeof(msg), "%s: '%s' here overrides k3s-harden's %s=%s",
					 l->name, last->value, a->flag, a->value);
				report_override(d, last->node, msg, a->controls);
			} else if (a->at_least) {
				warn_lowered(files, n, k, last, a, l->name, w);
			}
		}
	}
	r = d->n > errs ? -EINVAL : 0;
out:
	keff_free(&E);
	return r;
}
