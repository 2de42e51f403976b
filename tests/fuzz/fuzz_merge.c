/*
 * The config merge keeps the user's file: for any input that it accepts,
 *  - every byte outside the edits it reports is the user's, in order;
 *  - every edit lies inside a managed key's lines (or is an insertion, or
 *    an alias that receives an anchor moved off a managed value, or takes
 *    the blanks out of the start of a blank or comment line, which a tab
 *    there under a list the merge writes indented needs);
 *  - the result parses, K3s reads every managed value as the profile
 *    wants it, every other option reads exactly as before, every user
 *    entry of a managed list is still there in order; the only other edits
 *    remove what carries our exact "# CIS <IDs>" mark (our entries of a list
 *    and our settings an earlier profile wrote);
 *  - merging the result again changes nothing.
 * A refusal is fine, except one that says the merge itself went wrong.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kconfig.h"
#include "render.h"
#include "ynode.h"

/* An edit that takes the blanks (and nothing else) a blank or comment line
 * starts with: a tab there below a list the merge writes indented would
 * not parse. */
static int blank_line(const char *t, size_t len, const struct kconfig_span *s)
{
	size_t i;

	if (s->new_len || (s->start > 0 && t[s->start - 1] != '\n' && t[s->start - 1] != '\r') ||
	    (s->end < len && t[s->end] != '\n' && t[s->end] != '\r' && t[s->end] != '#'))
		return 0;
	for (i = s->start; i < s->end; i++)
		if (t[i] != ' ' && t[i] != '\t')
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct k3s_model model;
static char *fresh;
static size_t fresh_len;

static void setup(void)
{
	struct render_opts ro = { NULL, ROLE_SERVER };
	struct artifacts arts = { NULL, 0, 0 };
	struct profile_doc *doc = NULL;
	struct diags d = { NULL, 0, 0 };
	size_t i;

	if (profile_load("cis", &doc, &d) < 0 || k3s_model_build(doc->p, ROLE_SERVER, &model) < 0 ||
	    render_profile(doc->p, &ro, &arts, &d) < 0)
		abort();
	for (i = 0; i < arts.n; i++)
		if (strstr(arts.v[i].path, "/etc/rancher/k3s/config.yaml")) {
			fresh = malloc(arts.v[i].len + 1);
			memcpy(fresh, arts.v[i].data, arts.v[i].len + 1);
			fresh_len = arts.v[i].len;
		}
	if (!fresh)
		abort();
	artifacts_free(&arts);
	profile_doc_free(doc);
	diags_free(&d);
}

static size_t name_len(const struct ynode *k)
{
	return k->len > 1 && k->value[k->len - 1] == '+' ? k->len - 1 : k->len;
}

static int managed(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < model.n_settings; i++)
		if (strlen(model.settings[i].key) == len && !memcmp(model.settings[i].key, name, len))
			return 1;
	for (i = 0; i < model.n_lists; i++)
		if (strlen(model.lists[i].name) == len && !memcmp(model.lists[i].name, name, len))
			return 2;
	return 0;
}

static const struct cfg_list *list_of(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < model.n_lists; i++)
		if (strlen(model.lists[i].name) == len && !memcmp(model.lists[i].name, name, len))
			return &model.lists[i];
	return NULL;
}

static int is_managed_flag(const struct cfg_list *l, const char *item)
{
	size_t i, n;
	const char *s = item + strspn(item, "-");

	n = strcspn(s, "=");
	for (i = 0; i < l->n; i++)
		if (strlen(l->args[i].flag) == n && !memcmp(l->args[i].flag, s, n))
			return 1;
	return 0;
}

static int nullish(const struct ynode *n)
{
	return n->kind == YN_SCALAR && n->plain &&
	       (!strcmp(n->value, "") || !strcmp(n->value, "~") || !strcmp(n->value, "null") ||
		!strcmp(n->value, "Null") || !strcmp(n->value, "NULL"));
}

/* The text being described (old or new), for the marks. */
static const char *txt;
static size_t txt_len;

static int eol_at(size_t i)
{
	return txt[i] == '\n' || txt[i] == '\r';
}

/* Whether txt[i..] up to its line's end is exactly "# CIS " and IDs like
 * 1.2.3 or k3s-cis-1.24:4.2.6 joined by ", " (written apart from the merge's). */
static int mark_at(size_t i)
{
	size_t e = i;
	const char *p, *end;

	while (e < txt_len && !eol_at(e))
		e++;
	if (e - i < 7 || memcmp(txt + i, "# CIS ", 6))
		return 0;
	for (p = txt + i + 6, end = txt + e;;) {
		const char *q = p, *c;
		int digits = 0;

		while (q < end && *q != ',')
			q++;
		c = memchr(p, ':', (size_t)(q - p));
		if (c) {
			if (c == p)
				return 0;
			for (; p < c; p++)
				if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
					return 0;
			p++;
		}
		for (; p < q; p++)
			if (*p >= '0' && *p <= '9')
				digits = 1;
			else if (*p == '.' && digits)
				digits = 0;
			else
				return 0;
		if (!digits)
			return 0;
		if (q == end)
			return 1;
		if (end - q < 3 || q[1] != ' ')
			return 0;
		p = q + 2;
	}
}

/* A one-line node followed on its line by blanks and our mark. */
static int trailing_mark(const struct ynode *n)
{
	size_t i = n->end.index;

	if (n->start.line != n->end.line || i >= txt_len || (txt[i] != ' ' && txt[i] != '\t'))
		return 0;
	while (i < txt_len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	return mark_at(i);
}

/* Our mark alone on the line before key k (blanks before it allowed). */
static int mark_above(const struct ynode *k)
{
	size_t i = k->start.index;

	while (i > 0 && !eol_at(i - 1))
		i--;
	if (i == 0)
		return 0;
	i--;
	if (i > 0 && txt[i] == '\n' && txt[i - 1] == '\r')
		i--;
	while (i > 0 && !eol_at(i - 1))
		i--;
	while (i < txt_len && txt[i] == ' ')
		i++;
	return mark_at(i);
}

/* An option the profile does not manage that holds our marked lines. */
static int marked_value(const struct ynode *k, const struct ynode *v)
{
	size_t j;

	if (v->kind == YN_SCALAR)
		return !v->block && (trailing_mark(v) || mark_above(k));
	for (j = 0; v->kind == YN_SEQ && !v->flow && j < v->n; j++)
		if (v->items[j]->kind == YN_SCALAR && !v->items[j]->block && trailing_mark(v->items[j]))
			return 1;
	return 0;
}

/* Append a description of node n to b (values only, style for scalars);
 * with skip_marked, the marked items of a block list are left out. */
static void describe(struct buf *b, const struct ynode *n, int style, int skip_marked)
{
	size_t i;

	if (n->kind == YN_SCALAR) {
		if (!nullish(n))
			buf_printf(b, "%c%zu:%s,", style ? (n->plain ? 'p' : 'q') : 's', n->len, n->value);
		return;
	}
	buf_addc(b, n->kind == YN_MAP ? '{' : '[');
	for (i = 0; i < n->n; i++) {
		if (n->keys)
			describe(b, n->keys[i], 1, 0);
		if (!(skip_marked && n->kind == YN_SEQ && !n->flow && n->items[i]->kind == YN_SCALAR &&
		      !n->items[i]->block && trailing_mark(n->items[i])))
			describe(b, n->items[i], style, 0);
	}
	buf_addc(b, '}');
}

/* What K3s reads for option name: the last plain key and every key+ after it. */
static void option(struct buf *b, const struct ynode *root, const char *name, size_t len,
		   const struct cfg_list *l)
{
	size_t i, j, from = 0;

	for (i = 0; i < root->n; i++)
		if (name_len(root->keys[i]) == len && !memcmp(root->keys[i]->value, name, len) &&
		    root->keys[i]->len == len)
			from = i;
	for (i = from; i < root->n; i++) {
		const struct ynode *v = root->items[i];

		if (name_len(root->keys[i]) != len || memcmp(root->keys[i]->value, name, len))
			continue;
		if (!l) {
			/* what carries our mark may go: it is left out on both sides */
			struct buf one = BUF_INIT;

			describe(&one, v, 1, 1);
			/* a list left empty may go whole */
			if (one.len && !(v->kind == YN_SEQ && one.len == 2))
				buf_add(b, one.data, one.len);
			buf_free(&one);
			continue;
		}
		for (j = 0; j < (v->kind == YN_SEQ ? v->n : 1); j++) {
			const struct ynode *it = v->kind == YN_SEQ ? v->items[j] : v;

			/* our marked entries of flags no longer set may go */
			if (v->kind == YN_SEQ && !v->flow && it->kind == YN_SCALAR && !it->block &&
			    trailing_mark(it))
				continue;
			if (it->kind == YN_SCALAR && !nullish(it) && !is_managed_flag(l, it->value))
				buf_printf(b, "%zu:%s,", it->len, it->value);
		}
	}
}

/* Whether the option named like key k is, in root (text t), one setting
 * marked as ours: the merge may remove it whole. */
static int our_setting(const struct ynode *root, const char *t, size_t len, const struct ynode *k)
{
	size_t i, n = 0, l = name_len(k);
	int marked = 0;

	txt = t;
	txt_len = len;
	for (i = 0; i < root->n; i++)
		if (name_len(root->keys[i]) == l && !memcmp(root->keys[i]->value, k->value, l)) {
			n++;
			marked = root->items[i]->kind == YN_SCALAR && marked_value(root->keys[i], root->items[i]);
		}
	return n == 1 && marked;
}

static void same_options(const struct ynode *a, const char *at, size_t alen, const struct ynode *b,
			 const char *bt, size_t blen)
{
	size_t i, pass;

	for (pass = 0; pass < 2; pass++) {
		const struct ynode *x = pass ? b : a;

		for (i = 0; i < x->n; i++) {
			size_t len = name_len(x->keys[i]);
			int m = managed(x->keys[i]->value, len);
			struct buf p = BUF_INIT, q = BUF_INIT;

			if (m == 1)
				continue;
			txt = at;
			txt_len = alen;
			option(&p, a, x->keys[i]->value, len, m == 2 ? list_of(x->keys[i]->value, len) : NULL);
			txt = bt;
			txt_len = blen;
			option(&q, b, x->keys[i]->value, len, m == 2 ? list_of(x->keys[i]->value, len) : NULL);
			if ((p.len != q.len || (p.len && memcmp(p.data, q.data, p.len))) &&
			    !(q.len == 0 && our_setting(a, at, alen, x->keys[i])))
				abort();
			buf_free(&p);
			buf_free(&q);
		}
	}
}

/* [start, end) of every managed key, from its line to the end of its value. */
static int in_managed(const struct ynode *root, const char *t, size_t len, size_t s, size_t e)
{
	size_t i;

	for (i = 0; i < root->n; i++) {
		const struct ynode *k = root->keys[i], *v = root->items[i];
		size_t from = k->start.index, to = v->end.index;

		if (!managed(k->value, name_len(k)) && !marked_value(k, v))
			continue;
		while (from > 0 && t[from - 1] != '\n' && t[from - 1] != '\r')
			from--;
		if (from > 0) {
			/* the mark on the line above goes with what it marks (for
			 * a managed key, only an exact mark: it is refreshed) */
			size_t above = from - 1, end, text;

			if (above > 0 && t[above] == '\n' && t[above - 1] == '\r')
				above--;
			end = above;
			while (above > 0 && t[above - 1] != '\n' && t[above - 1] != '\r')
				above--;
			for (text = above; text < end && t[text] == ' '; text++)
				;
			if (!managed(k->value, name_len(k)))
				from = above;
			else if (kconfig_is_mark(t + text, end - text))
				from = text;
		}
		while (to < len && t[to] != '\n' && t[to] != '\r')
			to++;
		while (to < len && (t[to] == '\n' || t[to] == '\r'))
			to++;
		if (i + 1 < root->n && to > root->keys[i + 1]->start.index)
			to = root->keys[i + 1]->start.index;
		/* a later key's lines begin after this one's value */
		if (s >= from && e <= to)
			return 1;
	}
	return 0;
}

static int in_alias(const struct ynode *n, size_t s, size_t e)
{
	size_t i;

	if (n->alias)
		return n->start.index == s && n->end.index == e;
	for (i = 0; i < n->n; i++)
		if ((n->keys && in_alias(n->keys[i], s, e)) || in_alias(n->items[i], s, e))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct buf out = BUF_INIT, again = BUF_INIT;
	struct diags d = { NULL, 0, 0 }, w = { NULL, 0, 0 };
	struct kconfig_span *sp = NULL;
	struct ynode *old = NULL, *neu = NULL;
	size_t n = 0, i, pos = 0, opos = 0;
	int r;

	if (!fresh)
		setup();
	if (size > 65536)
		return 0;
	r = kconfig_merge_spans("config.yaml", in, size, true, &model, fresh, fresh_len, &out, &sp,
				&n, &d, &w);
	if (r < 0) {
		for (i = 0; i < d.n; i++)
			if (strncmp(d.v[i].msg, "cannot merge into this file safely", 34) == 0)
				abort();
		goto out;
	}
	/* bytes outside the edits are the user's */
	for (i = 0; i < n; i++) {
		if (sp[i].start < pos || sp[i].end < sp[i].start || sp[i].end > size)
			abort();
		if (memcmp(in + pos, out.data + opos, sp[i].start - pos))
			abort();
		opos += sp[i].start - pos + sp[i].new_len;
		pos = sp[i].end;
	}
	if (out.len - opos != size - pos || memcmp(in + pos, out.data + opos, size - pos))
		abort();
	if (ynode_parse("old", in, size, YN_ALLOW_ALIAS | YN_ALLOW_EMPTY, &old, &d) < 0)
		abort();
	if (ynode_parse("new", out.data, out.len, YN_ALLOW_ALIAS, &neu, &d) < 0 || neu->kind != YN_MAP)
		abort();
	if (old) {
		txt = in;
		txt_len = size;
		for (i = 0; i < n; i++)
			if (sp[i].end > sp[i].start && !in_managed(old, in, size, sp[i].start, sp[i].end) &&
			    !in_alias(old, sp[i].start, sp[i].end) && !blank_line(in, size, &sp[i]))
				abort();
		same_options(old, in, size, neu, out.data, out.len);
	}
	{
		struct kconfig_file f = { "config.yaml", out.data, out.len, true };
		size_t e0 = d.n;

		/* the merged file gives K3s what the profile asks; the one thing it
		 * may refuse is a plugin of the input's that needs a configuration
		 * ours does not hold (ImagePolicyWebhook) */
		if (kconfig_check_effective(&f, 1, &model, &d, &w) < 0)
			for (i = e0; i < d.n; i++)
				if (!strstr(d.v[i].msg, "' enables ImagePolicyWebhook, which needs "))
					abort();
	}
	if (kconfig_merge("config.yaml", out.data, out.len, true, &model, fresh, fresh_len, &again, &d, &w) < 0 ||
	    again.len != out.len || memcmp(again.data, out.data, out.len))
		abort();
out:
	ynode_free(old);
	ynode_free(neu);
	free(sp);
	buf_free(&out);
	buf_free(&again);
	diags_free(&d);
	diags_free(&w);
	return 0;
}
