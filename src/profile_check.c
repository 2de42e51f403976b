/*
 * The schema check: a walk of the merged tree against the libcyaml schema
 * that reports every problem with its position and field path. libcyaml
 * itself stops at the first one, without a usable position.
 */
#include "profile_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cyaml/cyaml.h>

#include "buf.h"
#include "profile_schema.h"
#include "validate.h"

struct drop {
	const struct ynode *map, *key;
};

struct chk {
	struct profile_ctx *c;
	char path[512];
	/* the innermost entry of an optional field around the node being checked:
	 * where a problem is, that entry is removed */
	const struct ynode *cur_map, *cur_key;
	size_t cur_path_len;
	struct drop *drops;
	size_t n_drops;
	bool stuck;             /* a problem with no optional entry around it */
	int oom;
};

static const char *kind_name(enum ynode_kind k)
{
	return k == YN_MAP ? "a mapping" : k == YN_SEQ ? "a list" : "a scalar";
}

static size_t path_push(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t path_push(struct chk *c, const char *fmt, ...)
{
	size_t old = strlen(c->path);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->path + old, sizeof(c->path) - old, fmt, ap);
	va_end(ap);
	return old;
}

static void mark_drop(struct chk *c)
{
	struct drop *v;
	char saved;

	if (!c->cur_key) {
		c->stuck = true;
		return;
	}
	if (c->n_drops && c->drops[c->n_drops - 1].key == c->cur_key)
		return;
	/* doubling at each power of two: 100k unknown keys must not copy the
	 * array 100k times (a sanitizer build moves every realloc) */
	if ((c->n_drops & (c->n_drops - 1)) == 0) {
		v = realloc(c->drops, (c->n_drops ? 2 * c->n_drops : 1) * sizeof(*v));
		if (!v) {
			c->oom = -ENOMEM;
			return;
		}
		c->drops = v;
	}
	c->drops[c->n_drops].map = c->cur_map;
	c->drops[c->n_drops++].key = c->cur_key;
	saved = c->path[c->cur_path_len];
	c->path[c->cur_path_len] = '\0';
	if (pctx_note_dropped(c->c, c->path) < 0)
		c->oom = -ENOMEM;
	c->path[c->cur_path_len] = saved;
}

static void problem(struct chk *c, const struct ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct chk *c, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = pctx_verr(c->c, n, NULL, c->path[0] ? c->path : NULL, fmt, ap);
	va_end(ap);
	if (k < 0) {
		c->oom = -ENOMEM;
		return;
	}
	mark_drop(c);
}

/* Optimal string alignment distance (edits, adjacent swaps count one). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[65][65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

/* The schema key at this level closest to a mistyped one, if one is close. */
static const cyaml_schema_field_t *closest_field(const cyaml_schema_value_t *s, const char *key)
{
	const cyaml_schema_field_t *f, *best = NULL;
	size_t bd = SIZE_MAX;

	for (f = s->mapping.fields; f->key; f++) {
		size_t d = edit_distance(key, f->key), l = strlen(f->key);

		if (l < strlen(key))
			l = strlen(key);
		if (d < bd && d <= 2 && 2 * d < l) {
			best = f;
			bd = d;
		}
	}
	return best;
}

static void unknown_key(struct chk *c, const struct ynode *n, const struct ynode *k,
			const cyaml_schema_value_t *s)
{
	bool plus = pctx_had_plus(c->c, k);
	const cyaml_schema_field_t *f = closest_field(s, k->value);
	const struct ynode *map = c->cur_map, *key = c->cur_key;
	size_t len = c->cur_path_len, old;

	/* an unknown key goes on its own, whatever optional entry is around it */
	old = path_push(c, "%s%s%s", c->path[0] ? "." : "", k->value, plus ? "+" : "");
	c->cur_map = n;
	c->cur_key = k;
	c->cur_path_len = strlen(c->path);
	if (f)
		problem(c, k, "%s: unknown key; did you mean '%s%s'?", c->path, f->key,
			plus && f->value.type == CYAML_SEQUENCE ? "+" : "");
	else
		problem(c, k, "%s: unknown key", c->path);
	c->path[old] = '\0';
	c->cur_map = map;
	c->cur_key = key;
	c->cur_path_len = len;
}

static void check_value(struct chk *c, const struct ynode *n, const cyaml_schema_value_t *s);

static void check_mapping(struct chk *c, const struct ynode *n, const cyaml_schema_value_t *s)
{
	const cyaml_schema_field_t *f;
	size_t i;

	for (i = 0; i < n->n; i++) {
		const struct ynode *k = n->keys[i], *map = c->cur_map, *key = c->cur_key;
		size_t old, len = c->cur_path_len;

		for (f = s->mapping.fields; f->key; f++)
			if (strcmp(f->key, k->value) == 0)
				break;
		if (!f->key) {
			unknown_key(c, n, k, s);
			continue;
		}
		old = path_push(c, "%s%s", c->path[0] ? "." : "", f->key);
		if (f->value.flags & CYAML_FLAG_OPTIONAL) {
			c->cur_map = n;
			c->cur_key = k;
			c->cur_path_len = strlen(c->path);
		}
		check_value(c, n->items[i], &f->value);
		c->path[old] = '\0';
		c->cur_map = map;
		c->cur_key = key;
		c->cur_path_len = len;
	}
	for (f = s->mapping.fields; f->key; f++)
		if (!(f->value.flags & CYAML_FLAG_OPTIONAL) && ynode_find(n, f->key) < 0)
			problem(c, n, "%s%s%s: missing required key", c->path,
				c->path[0] ? "." : "", f->key);
}

static void check_scalar(struct chk *c, const struct ynode *n, const cyaml_schema_value_t *s)
{
	unsigned i;

	switch (s->type) {
	case CYAML_STRING:
		if (n->plain && n->len == 0)
			problem(c, n, "%s: expected a string, found nothing", c->path);
		else if (n->len < s->string.min || n->len > s->string.max)
			problem(c, n, "%s: expected %u to %u characters, found %zu",
				c->path, s->string.min, s->string.max, n->len);
		return;
	case CYAML_BOOL:
		if (!valid_bool_word(n->value))
			problem(c, n, "%s: expected true or false, found '%s'", c->path, n->value);
		return;
	case CYAML_UINT:
		if (!valid_uint_word(n->value) || strlen(n->value) > 10 ||
		    strtoull(n->value, NULL, 10) > UINT32_MAX)
			problem(c, n, "%s: expected a whole number from 0 to %u, found '%s'",
				c->path, UINT32_MAX, n->value);
		return;
	case CYAML_ENUM: {
		struct buf b = BUF_INIT;

		for (i = 0; i < s->enumeration.count; i++)
			if (strcmp(s->enumeration.strings[i].str, n->value) == 0)
				return;
		for (i = 0; i < s->enumeration.count; i++)
			buf_printf(&b, "%s%s", i ? "|" : "", s->enumeration.strings[i].str);
		problem(c, n, "%s: expected one of %s, found '%s'", c->path,
			b.data ? b.data : "", n->value);
		buf_free(&b);
		return;
	}
	default:
		problem(c, n, "%s: unsupported schema type", c->path);
	}
}

static void check_value(struct chk *c, const struct ynode *n, const cyaml_schema_value_t *s)
{
	const char *want = NULL;
	unsigned i;

	switch (s->type) {
	case CYAML_MAPPING:
		if (n->kind != YN_MAP) {
			want = "a mapping";
			break;
		}
		check_mapping(c, n, s);
		return;
	case CYAML_SEQUENCE:
		if (n->kind != YN_SEQ) {
			want = "a list";
			break;
		}
		if (n->n < s->sequence.min || n->n > s->sequence.max) {
			problem(c, n, "%s: expected %u to %u entries, found %zu", c->path,
				s->sequence.min, s->sequence.max, n->n);
			return;
		}
		for (i = 0; i < n->n; i++) {
			size_t old = path_push(c, "[%u]", i);

			check_value(c, n->items[i], s->sequence.entry);
			c->path[old] = '\0';
		}
		return;
	default:
		break;
	}
	if (want || n->kind != YN_SCALAR) {
		problem(c, n, "%s: expected %s, found %s", c->path,
			want ? want : "a scalar", kind_name(n->kind));
		return;
	}
	check_scalar(c, n, s);
}

static int cmp_drop(const void *a, const void *b)
{
	const struct drop *x = a, *y = b;
	uintptr_t xm = (uintptr_t)x->map, ym = (uintptr_t)y->map;
	uintptr_t xk = (uintptr_t)x->key, yk = (uintptr_t)y->key;

	if (xm != ym)
		return xm < ym ? -1 : 1;
	return (xk > yk) - (xk < yk);
}

static bool is_dropped(const struct chk *c, const struct ynode *map, const struct ynode *key)
{
	struct drop k = { map, key };

	return bsearch(&k, c->drops, c->n_drops, sizeof(k), cmp_drop) != NULL;
}

static void prune(const struct chk *c, struct ynode *n)
{
	size_t i, m = n->n;

	if (n->kind != YN_MAP) {
		for (i = 0; i < m; i++)
			prune(c, n->items[i]);
		return;
	}
	/* one pass: ynode_remove re-indexes the whole map per key (O(n^2)
	 * for a profile of 100k unknown keys); appending the kept pairs into
	 * the same arrays keeps the index as it goes */
	n->n = 0;
	hidx_clear(&n->idx);
	for (i = 0; i < m; i++) {
		struct ynode *k = n->keys[i], *v = n->items[i];

		if (is_dropped(c, n, k)) {
			ynode_free(k);
			ynode_free(v);
			continue;
		}
		prune(c, v);
		ynode_append(n, k, v);  /* never grows: fits where it was */
	}
}

int profile_check_schema(struct profile_ctx *pc, struct ynode *tree)
{
	struct chk c;
	int r = 0;

	memset(&c, 0, sizeof(c));
	c.c = pc;
	check_value(&c, tree, &profile_schema);
	if (c.oom)
		r = c.oom;
	else if (c.stuck)
		r = -EINVAL;
	else if (c.n_drops) {
		qsort(c.drops, c.n_drops, sizeof(*c.drops), cmp_drop);
		prune(&c, tree);
	}
	free(c.drops);
	return r;
}
