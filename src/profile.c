/*
 * The profile entry points: read and resolve extends (profile_read.c), check
 * against the schema (profile_check.c), load into structs (profile_cyaml.c),
 * check for meaning (profile_validate.c), then report the problems of all
 * stages together in file order.
 */
#include "profile_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "yemit.h"

int pctx_verr(struct profile_ctx *c, const struct ynode *n, const char *file, const char *field,
	      const char *fmt, va_list ap)
{
	int k = diags_vadd(c->d, n ? n->file : file, n ? n->start.line : 0, n ? n->start.col : 0,
			   field, fmt, ap);

	if (k == 0) {
		char *p;

		/* a value with a newline must not split the message */
		for (p = c->d->v[c->d->n - 1].msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	c->err = -EINVAL;
	return k;
}

void pctx_field_err(struct profile_ctx *c, const struct ynode *n, const char *field,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pctx_verr(c, n, NULL, field, fmt, ap);
	va_end(ap);
}

void pctx_err(struct profile_ctx *c, const struct ynode *n, const char *file,
	      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pctx_verr(c, n, file, NULL, fmt, ap);
	va_end(ap);
}

int pctx_note_plus(struct profile_ctx *c, const struct ynode *key)
{
	struct plus_key *v = realloc(c->plus, (c->n_plus + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->plus = v;
	v[c->n_plus].file = key->file;
	v[c->n_plus].line = key->start.line;
	v[c->n_plus++].col = key->start.col;
	return 0;
}

bool pctx_had_plus(const struct profile_ctx *c, const struct ynode *key)
{
	size_t i;

	for (i = 0; i < c->n_plus; i++)
		if (c->plus[i].file == key->file && c->plus[i].line == key->start.line &&
		    c->plus[i].col == key->start.col)
			return true;
	return false;
}

int pctx_note_dropped(struct profile_ctx *c, const char *path)
{
	char **v = c->dropped;

	/* doubling at each power of two: one realloc per key would be quadratic */
	if ((c->n_dropped & (c->n_dropped - 1)) == 0) {
		v = realloc(c->dropped, (c->n_dropped ? 2 * c->n_dropped : 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->dropped = v;
	}
	if (!(v[c->n_dropped] = strdup(path)))
		return -ENOMEM;
	c->n_dropped++;
	return 0;
}

int pctx_note_file(struct profile_ctx *c, const char *file)
{
	const char **v = realloc(c->files, (c->n_files + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->files = v;
	v[c->n_files++] = file;
	return 0;
}

bool pctx_is_dropped(const struct profile_ctx *c, const char *path)
{
	size_t i;

	for (i = 0; i < c->n_dropped; i++) {
		size_t n = strlen(c->dropped[i]);

		if (strncmp(path, c->dropped[i], n) == 0 &&
		    (path[n] == '\0' || path[n] == '.' || path[n] == '['))
			return true;
	}
	return false;
}

void pctx_free(struct profile_ctx *c)
{
	size_t i;

	for (i = 0; i < c->n_dropped; i++)
		free(c->dropped[i]);
	free(c->dropped);
	free(c->plus);
	free(c->files);
	free(c->cis_version);
	c->cis_version = NULL;
	c->dropped = NULL;
	c->plus = NULL;
	c->files = NULL;
	c->n_dropped = c->n_plus = c->n_files = 0;
}

struct ordered {
	struct diag d;
	size_t file_rank, seq;
};

static int cmp_ordered(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;

	if (x->file_rank != y->file_rank)
		return x->file_rank < y->file_rank ? -1 : 1;
	if (x->d.line != y->d.line)
		return x->d.line < y->d.line ? -1 : 1;
	if (x->d.col != y->d.col)
		return x->d.col < y->d.col ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/*
 * Diagnostics from index first on: by line, then column, within each file;
 * files in the order they were merged (a parent before the child that
 * extends it), then any other in the order its first problem was found.
 */
static void order_diags(const struct profile_ctx *c, struct diags *d, size_t first)
{
	size_t n = d->n - first, i, j;
	struct ordered *o;

	if (n < 2 || !(o = calloc(n, sizeof(*o))))
		return;
	for (i = 0; i < n; i++) {
		o[i].d = d->v[first + i];
		o[i].seq = i;
		o[i].file_rank = c->n_files + i;
		for (j = 0; j < c->n_files; j++)
			if (strcmp(c->files[j], o[i].d.file) == 0)
				break;
		if (j < c->n_files) {
			o[i].file_rank = j;
			continue;
		}
		for (j = 0; j < i; j++)
			if (strcmp(o[j].d.file, o[i].d.file) == 0) {
				o[i].file_rank = o[j].file_rank;
				break;
			}
	}
	qsort(o, n, sizeof(*o), cmp_ordered);
	for (i = 0; i < n; i++)
		d->v[first + i] = o[i].d;
	free(o);
}

static bool from_builtin(const struct ynode *n)
{
	return n->file && strncmp(n->file, "builtin:", 8) == 0;
}

static bool scalar_is(const struct ynode *n, const char *v)
{
	return n && n->kind == YN_SCALAR && n->value && strcasecmp(n->value, v) == 0;
}

/* The first key or value under n that one of the user's files wrote, and its path. */
static const struct ynode *first_user_node(const struct ynode *n, struct buf *path)
{
	const struct ynode *u;
	size_t i, len = path->len;

	for (i = 0; i < n->n; i++) {
		if (n->kind == YN_MAP) {
			buf_printf(path, ".%s", n->keys[i]->value);
			if (!from_builtin(n->keys[i]))
				return n->keys[i];
		}
		if (n->items[i]->kind == YN_SCALAR ? !from_builtin(n->items[i])
						   : (u = first_user_node(n->items[i], path)) != NULL)
			return n->items[i]->kind == YN_SCALAR ? n->items[i] : u;
		path->len = len;
		if (path->data)
			path->data[len] = '\0';
	}
	return NULL;
}

/* "k3s-cis-1.24 for K3s 1.24.17+k3s1 (the newest benchmark that covers it)" */
static char *picked_words(const struct profile_ctx *c)
{
	char *s;

	if (c->cis_version ? asprintf(&s, "%s for K3s %s (the newest benchmark that covers it)", c->cis_base,
				     c->cis_version) < 0
			   : asprintf(&s, "%s (the newest benchmark: the K3s version is unknown)", c->cis_base) < 0)
		return NULL;
	return s;
}

/*
 * `extends: cis` read a benchmark profile for the K3s version: a section it
 * turns off (pod_security on K3s <= 1.24, which uses pod_security_policy)
 * that the user's files set keys under would silently do nothing, and
 * turning one on beside the other of the PSA/PSP pair stops kube-apiserver.
 * Both are errors at the user's key that name the picked base. The merged
 * tree says what the base set wherever the user did not (its nodes come
 * from "builtin:" files); the base is read again only for a section whose
 * `enabled` the user set.
 */
static int check_cis_base(struct profile_ctx *c, const struct ynode *tree)
{
	static const char *const pair[][2] = {
		{ "pod_security", "pod_security_policy" },
		{ "pod_security_policy", "pod_security" },
	};
	struct diags ignored = { NULL, 0, 0 };
	struct profile_ctx bc;
	struct ynode *base = NULL;
	char *picked = picked_words(c);
	size_t i, j;
	int r = picked ? 0 : -ENOMEM;

	memset(&bc, 0, sizeof(bc));
	bc.d = &ignored;
	for (i = 0; r == 0 && tree->kind == YN_MAP && i < tree->n; i++) {
		const char *sec = tree->keys[i]->value, *other = NULL;
		const struct ynode *ms = tree->items[i], *me = ynode_get(ms, "enabled"), *bs, *u;
		struct buf path = BUF_INIT;

		if (ms->kind != YN_MAP || !me)
			continue;
		for (j = 0; j < sizeof(pair) / sizeof(pair[0]); j++)
			if (strcmp(sec, pair[j][0]) == 0)
				other = pair[j][1];
		if (from_builtin(me)) {
			/* the base's own value: keys of the user's under a section it turns off */
			if (!scalar_is(me, "false"))
				continue;
			buf_adds(&path, sec);
			u = first_user_node(ms, &path);
			if (u && path.data)
				pctx_field_err(c, u, path.data, "%s: has no effect: extends: cis picked %s, which "
					       "turns %s off%s%s%s; drop the key, or extend %s directly and set "
					       "%s.enabled: true", path.data, picked, sec,
					       other ? " and uses " : "", other ? other : "", other ? " instead" : "",
					       c->cis_base, sec);
			if (!path.data)
				r = -ENOMEM;
			buf_free(&path);
			continue;
		}
		/* the user's own choice, unless it runs both of a pair the base runs one of */
		if (!other || !scalar_is(me, "true"))
			continue;
		if (!base && (r = profile_read(&bc, c->cis_base, &base)) < 0)
			break;
		bs = ynode_get(base, sec);
		if (!bs || bs->kind != YN_MAP || !scalar_is(ynode_get(bs, "enabled"), "false"))
			continue;
		{
			const struct ynode *bo = ynode_get(base, other), *mo = ynode_get(tree, other);

			if (!bo || !scalar_is(ynode_get(bo, "enabled"), "true") || !mo || mo->kind != YN_MAP ||
			    !scalar_is(ynode_get(mo, "enabled"), "true"))
				continue;
		}
		buf_printf(&path, "%s.enabled", sec);
		if (!path.data) {
			r = -ENOMEM;
			break;
		}
		pctx_field_err(c, me, path.data, "%s: extends: cis picked %s, which uses %s; "
			       "K3s runs one of the two: also set %s.enabled: false, or extend %s "
			       "directly", path.data, picked, other, other, c->cis_base);
		buf_free(&path);
	}
	free(picked);
	ynode_free(base);
	diags_free(&ignored);
	pctx_free(&bc);
	return r == -ENOMEM ? r : 0;
}

int profile_load(const char *name_or_path, struct profile_doc **out, struct diags *d)
{
	return profile_load_with(name_or_path, NULL, out, d);
}

int profile_load_with(const char *name_or_path, const struct profile_load_opts *opts,
		      struct profile_doc **out, struct diags *d)
{
	struct profile_ctx c;
	struct profile_doc *doc;
	struct ynode *tree = NULL;
	struct profile *p = NULL;
	size_t first = d->n;
	bool fitted = false;
	int r;

	memset(&c, 0, sizeof(c));
	c.d = d;
	c.opts = opts;
	if ((r = profile_read(&c, name_or_path, &tree)) < 0)
		goto out;
	if ((r = profile_check_schema(&c, tree)) < 0)
		goto out;
	if ((r = profile_cyaml_load(&c, tree, &p)) < 0)
		goto out;
	profile_validate(&c, tree, p);
	if (c.err) {
		r = -EINVAL;
		goto out;
	}
	/* from here on, every problem names the picked base itself */
	fitted = true;
	if (c.cis_picked && (r = check_cis_base(&c, tree)) < 0)
		goto out;
	if (c.err) {
		r = -EINVAL;
		goto out;
	}
	if (!(doc = calloc(1, sizeof(*doc)))) {
		r = -ENOMEM;
		goto out;
	}
	doc->p = p;
	doc->tree = tree;
	doc->cis_base = c.cis_base;
	doc->cis_picked = c.cis_picked;
	doc->cis_version = c.cis_version;
	c.cis_version = NULL;
	p = NULL;
	tree = NULL;
	*out = doc;
out:
	order_diags(&c, d, first);
	/* problems found against a picked base: say which */
	if (r < 0 && c.cis_picked && !fitted && d->n > first && c.n_files) {
		char *picked = picked_words(&c);

		diags_add(d, c.files[c.n_files - 1], 0, 0, "extends: cis picked %s: the problems above are "
			  "against it; to pick another, extend it by name", picked ? picked : c.cis_base);
		free(picked);
	}
	profile_cyaml_free(p);
	ynode_free(tree);
	pctx_free(&c);
	return r < 0 && r != -ENOMEM ? -EINVAL : r;
}

void profile_doc_free(struct profile_doc *doc)
{
	if (!doc)
		return;
	profile_cyaml_free(doc->p);
	ynode_free(doc->tree);
	free(doc->cis_version);
	free(doc);
}

struct ynode *profile_resolved_tree(const struct profile_doc *doc)
{
	struct ynode *copy = ynode_copy(doc->tree);
	long at;

	if (!copy)
		return NULL;
	/* resolved: what it extended is already merged in */
	at = ynode_find(copy, "extends");
	if (at >= 0)
		ynode_remove(copy, (size_t)at);
	return copy;
}

int profile_dump(const struct profile_doc *doc, struct buf *out)
{
	struct ynode *copy = profile_resolved_tree(doc);
	int r;

	if (!copy)
		return -ENOMEM;
	r = yemit(out, copy);
	ynode_free(copy);
	return r;
}

const char *profile_unit(const struct profile *p, enum profile_role role)
{
	if (p->unit)
		return p->unit;
	return role == ROLE_AGENT ? "k3s-agent.service" : "k3s.service";
}
