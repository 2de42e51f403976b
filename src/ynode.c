#include "ynode.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "hidx.h"

#define YN_MAX_DEPTH 64
#define YN_MAX_ALIAS_NODES 100000
/* Smaller maps are scanned: cheaper than hashing. */
#define YN_INDEX_MIN 8

/* File names, each kept once for the nodes to point at; hashed: check parses 10,000 manifests. */
static char **interned;
static size_t n_interned, cap_interned;
static struct hidx interned_idx;

static const char *interned_at(const void *ctx, size_t pos, size_t *len)
{
	(void)ctx;
	*len = strlen(interned[pos]);
	return interned[pos];
}

static const char *ynode_intern(const char *file)
{
	long at = hidx_find(&interned_idx, file, strlen(file), interned_at, NULL);
	char **v, *s;

	if (at >= 0)
		return interned[at];
	if (n_interned == cap_interned) {
		size_t cap = cap_interned ? 2 * cap_interned : 16;

		if (!(v = realloc(interned, cap * sizeof(*v))))
			return NULL;
		interned = v;
		cap_interned = cap;
	}
	if (!(s = strdup(file)))
		return NULL;
	interned[n_interned] = s;
	if (hidx_add(&interned_idx, n_interned, interned_at, NULL) < 0) {
		free(s);
		return NULL;
	}
	return interned[n_interned++];
}

void ynode_intern_free(void)
{
	size_t i;

	for (i = 0; i < n_interned; i++)
		free(interned[i]);
	free(interned);
	hidx_free(&interned_idx);
	interned = NULL;
	n_interned = cap_interned = 0;
}

struct ynode *ynode_new(enum ynode_kind kind, const char *file)
{
	struct ynode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->file = file;
	n->plain = true;
	return n;
}

static int load_node(const char *file, const uint32_t **w, const uint32_t *end, const char *pool,
		     struct ynode **out)
{
	const uint32_t *r = *w;
	struct ynode *n;
	uint32_t i;
	int e;

	if (end - r < YN_REC || (r[0] & 3) > YN_MAP)
		return -EINVAL;
	*w = r + YN_REC;
	if (!(n = ynode_new((enum ynode_kind)(r[0] & 3), file)))
		return -ENOMEM;
	n->plain = r[0] & YN_REC_PLAIN;
	n->block = r[0] & YN_REC_BLOCK;
	n->flow = r[0] & YN_REC_FLOW;
	n->start = (struct ymark){ r[1], r[2], r[3] };
	n->end = (struct ymark){ r[4], r[5], r[6] };
	e = 0;
	if (r[7] != UINT32_MAX) {
		n->len = r[9];
		if ((n->value = malloc(n->len + 1))) {
			memcpy(n->value, pool + r[7], n->len);
			n->value[n->len] = '\0';
		} else {
			e = -ENOMEM;
		}
	}
	if (e == 0 && r[8] != UINT32_MAX && !(n->anchor = strdup(pool + r[8])))
		e = -ENOMEM;
	for (i = 0; e == 0 && i < r[10]; i++) {
		struct ynode *k = NULL, *v = NULL;

		if ((n->kind != YN_MAP || (e = load_node(file, w, end, pool, &k)) == 0) &&
		    (e = load_node(file, w, end, pool, &v)) == 0 && (e = ynode_append(n, k, v)) == 0)
			continue;
		ynode_free(k);
		ynode_free(v);
	}
	if (e < 0) {
		ynode_free(n);
		return e;
	}
	*out = n;
	return 0;
}

int ynode_load(const char *file, const uint32_t *nodes, size_t n_nodes, const char *pool,
	       struct ynode **out)
{
	const uint32_t *w = nodes, *end = nodes + n_nodes * YN_REC;
	struct ynode *t = NULL;
	const char *f = ynode_intern(file);
	int r;

	if (!f)
		return -ENOMEM;
	r = load_node(f, &w, end, pool, &t);
	if (r == 0 && w != end) {
		ynode_free(t);
		r = -EINVAL;
	}
	if (r == 0)
		*out = t;
	return r;
}

struct ynode *ynode_scalar(const char *file, const char *value)
{
	struct ynode *n = ynode_new(YN_SCALAR, file);

	if (!n)
		return NULL;
	n->len = strlen(value);
	n->value = strdup(value);
	if (!n->value) {
		free(n);
		return NULL;
	}
	return n;
}

void ynode_free(struct ynode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++) {
		ynode_free(n->items[i]);
		if (n->keys)
			ynode_free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->value);
	free(n->anchor);
	hidx_free(&n->idx);
	free(n);
}

static const char *key_at(const void *ctx, size_t pos, size_t *len)
{
	const struct ynode *map = ctx, *k = map->keys[pos];

	if (!k || k->kind != YN_SCALAR || !k->value)
		return NULL;
	*len = strlen(k->value);
	return k->value;
}

/* Bring the index up to date with keys[0..n); on failure drop it and scan. */
static void index_update(struct ynode *map)
{
	size_t i;

	if (map->kind != YN_MAP || map->n < YN_INDEX_MIN)
		return;
	if (map->idx.n > map->n)
		hidx_clear(&map->idx);
	for (i = map->idx.n; i < map->n; i++)
		if (hidx_add(&map->idx, i, key_at, map) < 0) {
			hidx_free(&map->idx);
			return;
		}
}

int ynode_append(struct ynode *p, struct ynode *key, struct ynode *val)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		struct ynode **items = realloc(p->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		p->items = items;
		if (p->kind == YN_MAP) {
			struct ynode **keys = realloc(p->keys, cap * sizeof(*keys));

			if (!keys)
				return -ENOMEM;
			p->keys = keys;
		}
		p->cap = cap;
	}
	if (p->kind == YN_MAP)
		p->keys[p->n] = key;
	p->items[p->n++] = val;
	index_update(p);
	return 0;
}

struct ynode *ynode_copy(const struct ynode *n)
{
	struct ynode *c;
	size_t i;

	c = ynode_new(n->kind, n->file);
	if (!c)
		return NULL;
	c->start = n->start;
	c->end = n->end;
	c->plain = n->plain;
	c->block = n->block;
	c->flow = n->flow;
	if (n->value) {
		c->value = malloc(n->len + 1);
		if (!c->value)
			goto fail;
		memcpy(c->value, n->value, n->len + 1);
		c->len = n->len;
	}
	for (i = 0; i < n->n; i++) {
		struct ynode *k = NULL, *v;

		if (n->kind == YN_MAP && !(k = ynode_copy(n->keys[i])))
			goto fail;
		v = ynode_copy(n->items[i]);
		if (!v || ynode_append(c, k, v) < 0) {
			ynode_free(k);
			ynode_free(v);
			goto fail;
		}
	}
	return c;
fail:
	ynode_free(c);
	return NULL;
}

long ynode_find(const struct ynode *map, const char *key)
{
	size_t i;

	if (!map || map->kind != YN_MAP)
		return -1;
	if (map->n >= YN_INDEX_MIN && map->idx.n == map->n)
		return hidx_find(&map->idx, key, strlen(key), key_at, map);
	for (i = 0; i < map->n; i++)
		if (map->keys[i]->kind == YN_SCALAR &&
		    strcmp(map->keys[i]->value, key) == 0)
			return (long)i;
	return -1;
}

struct ynode *ynode_get(const struct ynode *map, const char *key)
{
	long i = ynode_find(map, key);

	return i < 0 ? NULL : map->items[i];
}

void ynode_remove(struct ynode *map, size_t i)
{
	ynode_free(map->keys[i]);
	ynode_free(map->items[i]);
	memmove(&map->keys[i], &map->keys[i + 1], (map->n - i - 1) * sizeof(*map->keys));
	memmove(&map->items[i], &map->items[i + 1], (map->n - i - 1) * sizeof(*map->items));
	map->n--;
	/* positions moved: index again */
	hidx_clear(&map->idx);
	index_update(map);
}

struct parser {
	yaml_parser_t yp;
	const char *file;
	const unsigned char *data;
	size_t len;
	size_t base;            /* bytes before character 0: a UTF-8 byte order mark */
	size_t ci, bi;          /* a character index and its byte offset, moved as marks come */
	unsigned flags;
	struct diags *d;
	struct ynode **anchors;   /* anchored nodes, for aliases */
	size_t n_anchors;
	size_t alias_nodes;
	size_t nodes;
	char path[512];         /* dotted path of the node being read, for messages */
	int err;
};

/* Length of the UTF-8 sequence that starts with byte c (1 for a stray byte). */
static size_t utf8_len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return c < 0xf0 ? 3 : 1;
	return c >= 0xc0 ? 2 : 1;
}

/*
 * libyaml's marks count characters, not bytes; everything that slices the
 * input needs bytes. Marks arrive nearly in order, so a cursor that walks
 * from the last one costs little.
 */
static struct ymark mark_of(struct parser *p, yaml_mark_t m)
{
	struct ymark r = { 0, (unsigned)m.line + 1, (unsigned)m.column + 1 };

	/* ASCII, the common case: a character is a byte */
	while (p->ci < m.index && p->bi < p->len && p->data[p->bi] < 0x80) {
		p->bi++;
		p->ci++;
	}
	while (p->ci < m.index && p->bi < p->len) {
		size_t l = utf8_len(p->data[p->bi]);

		p->bi += l <= p->len - p->bi ? l : p->len - p->bi;
		p->ci++;
	}
	while (p->ci > m.index && p->bi > p->base) {
		p->bi--;
		while (p->bi > p->base && (p->data[p->bi] & 0xc0) == 0x80)
			p->bi--;
		p->ci--;
	}
	r.index = p->bi;
	return r;
}

static size_t count_nodes(const struct ynode *n)
{
	size_t i, c = 1;

	for (i = 0; i < n->n; i++)
		c += count_nodes(n->items[i]) + (n->keys ? 1 : 0);
	return c;
}

static int perr(struct parser *p, struct ymark m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, struct ymark m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diags_vadd(p->d, p->file, m.line, m.col, NULL, fmt, ap);
	va_end(ap);
	p->err = -EINVAL;
	return -EINVAL;
}

/*
 * The problem lies in its line's indentation and that holds a tab: libyaml
 * then says "found character that cannot start any token" or speaks of a
 * plain scalar, which names the scanner's state, not the mistake.
 */
static bool tab_in_indent(const yaml_parser_t *yp)
{
	const unsigned char *s = yp->input.string.start, *e = yp->input.string.end;
	size_t line = 0, run = 0;
	bool tab = false;

	if (!s)
		return false;
	for (; s < e && line < yp->problem_mark.line; s++)
		if (*s == '\n' || (*s == '\r' && (s + 1 == e || s[1] != '\n')))
			line++;
	for (; s < e && (*s == ' ' || *s == '\t'); s++, run++)
		tab |= *s == '\t';
	return tab && yp->problem_mark.column <= run;
}

static int next_event(struct parser *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&p->yp, ev)) {
		struct ymark m = mark_of(p, p->yp.problem_mark);
		const char *problem = p->yp.problem ? p->yp.problem : "syntax error";

		if (tab_in_indent(&p->yp))
			diags_add(p->d, p->file, m.line, m.col, "invalid YAML: tabs are not "
				  "allowed in YAML indentation; indent with spaces");
		else if (p->yp.context)
			diags_add(p->d, p->file, m.line, m.col, "invalid YAML: %s %s",
				  problem, p->yp.context);
		else
			diags_add(p->d, p->file, m.line, m.col, "invalid YAML: %s", problem);
		p->err = -EINVAL;
		return -EINVAL;
	}
	return 0;
}

static int remember_anchor(struct parser *p, struct ynode *n, const yaml_char_t *anchor)
{
	struct ynode **v;

	if (!anchor)
		return 0;
	n->anchor = strdup((const char *)anchor);
	v = realloc(p->anchors, (p->n_anchors + 1) * sizeof(*v));
	if (!n->anchor || !v) {
		if (v)
			p->anchors = v;
		return -ENOMEM;
	}
	p->anchors = v;
	p->anchors[p->n_anchors++] = n;
	return 0;
}

static int parse_node(struct parser *p, yaml_event_t *ev, unsigned depth,
		      struct ynode **out);

static int parse_children(struct parser *p, struct ynode *n, unsigned depth)
{
	yaml_event_type_t end = n->kind == YN_MAP ? YAML_MAPPING_END_EVENT
						  : YAML_SEQUENCE_END_EVENT;
	yaml_event_t ev;
	int r;

	size_t plen = strlen(p->path);

	for (;;) {
		struct ynode *k = NULL, *v = NULL;
		long at;

		p->path[plen] = '\0';
		if ((r = next_event(p, &ev)) < 0)
			return r;
		if (ev.type == end) {
			n->end = mark_of(p, ev.end_mark);
			yaml_event_delete(&ev);
			return 0;
		}
		r = parse_node(p, &ev, depth + 1, n->kind == YN_MAP ? &k : &v);
		yaml_event_delete(&ev);
		if (r < 0)
			return r;
		if (n->kind == YN_MAP) {
			if (k->kind != YN_SCALAR) {
				r = perr(p, k->start, "mapping keys must be scalars");
				ynode_free(k);
				return r;
			}
			snprintf(p->path + plen, sizeof(p->path) - plen, "%s%s", plen ? "." : "", k->value);
			if ((at = ynode_find(n, k->value)) >= 0) {
				r = perr(p, k->start, "%s: duplicate key (also set on line %u)", p->path,
					 n->keys[at]->start.line);
				ynode_free(k);
				return r;
			}
			if ((r = next_event(p, &ev)) < 0) {
				ynode_free(k);
				return r;
			}
			r = parse_node(p, &ev, depth + 1, &v);
			yaml_event_delete(&ev);
			if (r < 0) {
				ynode_free(k);
				return r;
			}
		}
		if ((r = ynode_append(n, k, v)) < 0) {
			ynode_free(k);
			ynode_free(v);
			return r;
		}
	}
}

static int parse_node(struct parser *p, yaml_event_t *ev, unsigned depth,
		      struct ynode **out)
{
	struct ynode *n = NULL;
	size_t i;
	int r;

	if (depth > YN_MAX_DEPTH)
		return perr(p, mark_of(p, ev->start_mark), "nesting deeper than 64 levels");
	if (++p->nodes > YN_MAX_NODES)
		return perr(p, mark_of(p, ev->start_mark),
			    "more than %d YAML nodes (keys, values and list items) in one document",
			    YN_MAX_NODES);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = ynode_new(YN_SCALAR, p->file);
		if (!n)
			return -ENOMEM;
		n->len = ev->data.scalar.length;
		n->value = malloc(n->len + 1);
		if (!n->value) {
			ynode_free(n);
			return -ENOMEM;
		}
		memcpy(n->value, ev->data.scalar.value, n->len);
		n->value[n->len] = '\0';
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->block = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
			   ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
		if (memchr(n->value, '\0', n->len)) {
			n->start = mark_of(p, ev->start_mark);
			r = perr(p, n->start, "NUL byte in a scalar");
			ynode_free(n);
			return r;
		}
		r = remember_anchor(p, n, ev->data.scalar.anchor);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n = ynode_new(ev->type == YAML_MAPPING_START_EVENT ? YN_MAP : YN_SEQ, p->file);
		if (!n)
			return -ENOMEM;
		n->plain = false;
		n->flow = ev->type == YAML_MAPPING_START_EVENT
			? ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
			: ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
		n->start = mark_of(p, ev->start_mark);
		r = remember_anchor(p, n, ev->type == YAML_MAPPING_START_EVENT
				    ? ev->data.mapping_start.anchor
				    : ev->data.sequence_start.anchor);
		if (r == 0)
			r = parse_children(p, n, depth);
		if (r < 0) {
			ynode_free(n);
			return r;
		}
		*out = n;
		return 0;
	case YAML_ALIAS_EVENT:
		if (!(p->flags & YN_ALLOW_ALIAS))
			return perr(p, mark_of(p, ev->start_mark),
				    "aliases (*%s) are not allowed here",
				    (const char *)ev->data.alias.anchor);
		for (i = p->n_anchors; i-- > 0;)
			if (strcmp(p->anchors[i]->anchor, (const char *)ev->data.alias.anchor) == 0)
				break;
		if (i == (size_t)-1)
			return perr(p, mark_of(p, ev->start_mark), "unknown alias *%s",
				    (const char *)ev->data.alias.anchor);
		p->alias_nodes += count_nodes(p->anchors[i]);
		if (p->alias_nodes > YN_MAX_ALIAS_NODES)
			return perr(p, mark_of(p, ev->start_mark),
				    "aliases expand to too many nodes");
		n = ynode_copy(p->anchors[i]);
		if (!n)
			return -ENOMEM;
		n->alias = true;
		n->anchor = strdup(p->anchors[i]->anchor);
		r = n->anchor ? 0 : -ENOMEM;
		break;
	default:
		return perr(p, mark_of(p, ev->start_mark), "unexpected YAML event");
	}
	if (r < 0) {
		ynode_free(n);
		return r;
	}
	n->start = mark_of(p, ev->start_mark);
	n->end = mark_of(p, ev->end_mark);
	*out = n;
	return 0;
}

int ynode_parse(const char *file, const char *data, size_t len, unsigned flags,
		struct ynode **out, struct diags *d)
{
	struct parser p;
	struct ynode *root = NULL;
	yaml_event_t ev;
	int r, docs = 0;

	memset(&p, 0, sizeof(p));
	p.file = ynode_intern(file);
	if (!p.file)
		return -ENOMEM;
	p.flags = flags;
	p.d = d;
	p.data = (const unsigned char *)data;
	p.len = len;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		p.base = p.bi = 3;
	if (len >= 2 && (memcmp(data, "\xff\xfe", 2) == 0 || memcmp(data, "\xfe\xff", 2) == 0)) {
		diags_add(d, p.file, 1, 1, "the file is UTF-16; K3s configuration and profiles are read as UTF-8");
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&p.yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&p.yp, (const unsigned char *)data, len);
	for (;;) {
		if ((r = next_event(&p, &ev)) < 0)
			goto out;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
			r = perr(&p, mark_of(&p, ev.start_mark),
				 "more than one YAML document");
			yaml_event_delete(&ev);
			goto out;
		}
		if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_ALIAS_EVENT) {
			r = parse_node(&p, &ev, 0, &root);
			yaml_event_delete(&ev);
			if (r < 0)
				goto out;
			continue;
		}
		yaml_event_delete(&ev);
	}
	if (!root && !(flags & YN_ALLOW_EMPTY)) {
		r = perr(&p, mark_of(&p, p.yp.mark), "empty document");
		goto out;
	}
	*out = root;
	root = NULL;
	r = 0;
out:
	ynode_free(root);
	free(p.anchors);
	yaml_parser_delete(&p.yp);
	return r;
}
