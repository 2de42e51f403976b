#include "mustache.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTIAL_DEPTH 64
/* Nested sections and partials together; bounds the C stack. */
#define MAX_DEPTH 512
/* Lists iterated inside lists multiply the work: n^depth. */
#define MAX_LIST_DEPTH 16
#define NONE SIZE_MAX

enum ntype {
	N_TEXT,
	N_ETAG,         /* {{name}} */
	N_UTAG,         /* {{{name}}}, {{&name}} */
	N_SECTION,
	N_INVERTED,
	N_PARTIAL,
	N_CLOSE,        /* the rest exist only while parsing */
	N_COMMENT,
	N_DELIM,
	N_GONE,         /* whitespace of a standalone line */
};

struct node {
	enum ntype type;
	bool bol;               /* first output of a source line */
	bool standalone;
	bool dynamic;           /* {{>*name}} */
	size_t off;             /* text start, or the tag's opening delimiter */
	size_t len;             /* text length, or whole tag length */
	size_t name;            /* tag name, offset into src */
	size_t name_len;
	size_t end;             /* sections: index after the last child */
	size_t ind;             /* standalone partial: the line's indentation */
	size_t ind_len;
};

struct tpl {
	const char *src;
	size_t len;
	const char *pname;      /* partial name; NULL for the main template */
	struct node *nodes;
	size_t n;
	size_t cap;
};

struct pent {
	char *name;
	size_t name_len;
	bool missing;
	struct tpl t;
};

/* Partials parsed so far, kept with a compiled template for its next renders. */
struct pcache {
	struct pent **v;
	size_t n;
	size_t cap;
};

struct mst_template {
	struct tpl t;
	struct pcache pc;
};

/* Context stack and partial indentation live on the C stack. */
struct ctx {
	const struct kv *v;
	const struct ctx *up;
};

struct ind {
	const char *s;
	size_t len;
	const struct ind *up;
};

struct rstate {
	const struct mst_opts *opts;
	mst_escape_fn esc;
	void *esc_ctx;
	struct buf *out;
	struct mst_error *err;
	bool failed;
	unsigned depth;
	unsigned pdepth;
	unsigned ldepth;        /* list sections being iterated */
	/* partials including each other twice double the work at every level,
	 * so depth limits alone do not bound it: cap the tags rendered too */
	unsigned long steps, max_steps;
	size_t out_max;         /* st->out->len may not pass this */
	const struct tpl *main;
	size_t main_off;        /* the outermost partial tag, for depth errors */
	const char *pchain[MAX_PARTIAL_DEPTH];
	struct pcache *pc;      /* the compiled template's partials */
};

static int render(struct rstate *st, const struct tpl *t, size_t from,
		  size_t to, const struct ctx *c, const struct ind *ind);

static int plen(size_t len)
{
	return len > 80 ? 80 : (int)len;
}

static const char *errstr(int r, char *buf, size_t size)
{
	const char *e = strerror(-r);

	snprintf(buf, size, "%s", e);
	if (buf[0])
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

__attribute__((format(printf, 5, 6)))
static int fail(struct rstate *st, const struct tpl *t, size_t off, int r,
		const char *fmt, ...)
{
	struct mst_error *e = st->err;
	unsigned line = 1, col = 1;
	va_list ap;
	size_t i;
	int n = 0;

	if (st->failed)
		return r;
	st->failed = true;
	if (!e)
		return r;
	for (i = 0; i < off && i < t->len; i++) {
		if (t->src[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	e->line = line;
	e->col = col;
	if (t->pname)
		n = snprintf(e->msg, sizeof(e->msg), "in partial '%s': ",
			     t->pname);
	if (n < 0 || (size_t)n >= sizeof(e->msg))
		return r;
	va_start(ap, fmt);
	vsnprintf(e->msg + n, sizeof(e->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return r;
}

int mst_escape_html(struct buf *out, const char *s, size_t len, void *ctx)
{
	size_t i, run = 0;
	int r;

	(void)ctx;
	for (i = 0; i < len; i++) {
		const char *rep;

		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		r = buf_add(out, s + run, i - run);
		if (r < 0)
			return r;
		r = buf_adds(out, rep);
		if (r < 0)
			return r;
		run = i + 1;
	}
	return buf_add(out, s + run, len - run);
}

/* Integers print as integers, others in the shortest form that round-trips. */
static size_t fmt_num(double d, char *buf, size_t size)
{
	int n = 0, prec;

	if (d == 0)
		d = 0;          /* no "-0" */
	if (isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0 &&
	    size >= 24) {
		/* printf's float path is slow, and integers are common. */
		unsigned long long u = (unsigned long long)fabs(d);
		char tmp[24];
		size_t k = sizeof(tmp);

		do {
			tmp[--k] = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (d < 0)
			tmp[--k] = '-';
		n = (int)(sizeof(tmp) - k);
		memcpy(buf, tmp + k, (size_t)n);
		buf[n] = '\0';
	} else {
		for (prec = 15; prec <= 17; prec++) {
			n = snprintf(buf, size, "%.*g", prec, d);
			if (!isfinite(d) || strtod(buf, NULL) == d)
				break;
		}
	}
	if (n < 0)
		n = 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

static struct node *push(struct tpl *t)
{
	struct node *nd;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : t->len / 16 + 16;

		nd = realloc(t->nodes, cap * sizeof(*nd));
		if (!nd)
			return NULL;
		t->nodes = nd;
		t->cap = cap;
	}
	nd = &t->nodes[t->n++];
	memset(nd, 0, sizeof(*nd));
	return nd;
}

/* One text node per line, so standalone detection can work line by line. */
static int add_text(struct tpl *t, size_t a, size_t b)
{
	while (a < b) {
		const char *nl = memchr(t->src + a, '\n', b - a);
		size_t e = nl ? (size_t)(nl - t->src) + 1 : b;
		struct node *nd = push(t);

		if (!nd)
			return -ENOMEM;
		nd->type = N_TEXT;
		nd->off = a;
		nd->len = e - a;
		a = e;
	}
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

static bool has_space(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (is_space(s[i]))
			return true;
	return false;
}

static void trim(const char *s, size_t *a, size_t *b)
{
	while (*a < *b && is_space(s[*a]))
		(*a)++;
	while (*b > *a && is_space(s[*b - 1]))
		(*b)--;
}

/* Find ctag at or after pos, preceded by pre (if nonzero) at or after pos. */
static const char *find_close(const char *s, size_t len, size_t pos, char pre,
			      const char *ct, size_t ctl)
{
	size_t at = pos;

	while (at <= len) {
		const char *f = memmem(s + at, len - at, ct, ctl);

		if (!f)
			return NULL;
		if (!pre || ((size_t)(f - s) > pos && f[-1] == pre))
			return f;
		at = (size_t)(f - s) + 1;
	}
	return NULL;
}

static int set_delims(const char *s, size_t a, size_t b, const char **ot,
		      size_t *otl, const char **ct, size_t *ctl)
{
	size_t m;

	trim(s, &a, &b);
	m = a;
	while (m < b && !is_space(s[m]))
		m++;
	if (m == a || m == b)
		return -EINVAL;
	*ot = s + a;
	*otl = m - a;
	while (m < b && is_space(s[m]))
		m++;
	*ct = s + m;
	*ctl = b - m;
	if (has_space(*ct, *ctl) || memchr(*ot, '=', *otl) ||
	    memchr(*ct, '=', *ctl))
		return -EINVAL;
	return 0;
}

static int tokenize(struct rstate *st, struct tpl *t)
{
	const char *s = t->src, *ot = "{{", *ct = "}}";
	size_t otl = 2, ctl = 2, pos = 0;
	int r;

	while (pos < t->len) {
		const char *o = memmem(s + pos, t->len - pos, ot, otl);
		size_t start = o ? (size_t)(o - s) : t->len;
		size_t p, a, b;
		const char *f;
		enum ntype type = N_ETAG;
		struct node *nd;
		char pre = 0;

		r = add_text(t, pos, start);
		if (r < 0 || !o)
			return r;
		p = start + otl;
		while (p < t->len && is_space(s[p]))
			p++;
		switch (p < t->len ? s[p] : '\0') {
		case '{': type = N_UTAG; pre = '}'; break;
		case '&': type = N_UTAG; break;
		case '=': type = N_DELIM; pre = '='; break;
		case '!': type = N_COMMENT; break;
		case '#': type = N_SECTION; break;
		case '^': type = N_INVERTED; break;
		case '/': type = N_CLOSE; break;
		case '>': type = N_PARTIAL; break;
		case '<':
		case '$':
			return fail(st, t, start, -EINVAL,
				    "template inheritance is not supported");
		default: break;
		}
		if (type != N_ETAG)
			p++;
		f = find_close(s, t->len, p, pre, ct, ctl);
		if (!f) {
			if (type == N_DELIM)
				return fail(st, t, start, -EINVAL,
					    "bad set delimiter tag");
			return fail(st, t, start, -EINVAL, "unclosed tag");
		}
		a = p;
		b = (size_t)(f - s) - (pre ? 1 : 0);
		pos = (size_t)(f - s) + ctl;

		nd = push(t);
		if (!nd)
			return -ENOMEM;
		nd->type = type;
		nd->off = start;
		nd->len = pos - start;
		if (type == N_COMMENT)
			continue;
		if (type == N_DELIM) {
			if (set_delims(s, a, b, &ot, &otl, &ct, &ctl) < 0)
				return fail(st, t, start, -EINVAL,
					    "bad set delimiter tag");
			continue;
		}
		trim(s, &a, &b);
		if (type == N_PARTIAL && a < b && s[a] == '*') {
			nd->dynamic = true;
			a++;
			trim(s, &a, &b);
		}
		if (a == b)
			return fail(st, t, start, -EINVAL, "missing tag name");
		if (has_space(s + a, b - a))
			return fail(st, t, start, -EINVAL,
				    "whitespace in tag name '%.*s'",
				    plen(b - a), s + a);
		nd->name = a;
		nd->name_len = b - a;
	}
	return 0;
}

/* Length of a text node without its line ending; *nl says if it had one. */
static size_t text_body(const struct tpl *t, const struct node *nd, bool *nl)
{
	const char *s = t->src + nd->off;
	size_t len = nd->len;

	*nl = len && s[len - 1] == '\n';
	if (!*nl)
		return len;
	len--;
	if (len && s[len - 1] == '\r')
		len--;
	return len;
}

/*
 * A line holding only whitespace and tags that render nothing themselves
 * (sections, comments, delimiters, partials) is removed from the output.
 */
static void mark_standalone(struct tpl *t)
{
	size_t b = 0, e, i;

	while (b < t->n) {
		bool tags = false, ok = true, nl = false;
		bool lead = t->nodes[b].type == N_TEXT;

		for (e = b; e < t->n && !nl; e++) {
			const struct node *nd = &t->nodes[e];

			if (nd->type == N_TEXT) {
				size_t body = text_body(t, nd, &nl);

				if (!is_blank(t->src + nd->off, body))
					ok = false;
			} else if (nd->type == N_ETAG || nd->type == N_UTAG) {
				ok = false;
			} else {
				tags = true;
			}
		}
		if (ok && tags) {
			for (i = b; i < e; i++) {
				struct node *nd = &t->nodes[i];

				if (nd->type == N_TEXT) {
					nd->type = N_GONE;
					continue;
				}
				nd->standalone = true;
				if (nd->type == N_PARTIAL && lead) {
					nd->ind = t->nodes[b].off;
					nd->ind_len = t->nodes[b].len;
				}
			}
		}
		b = e;
	}
}

static bool ends_nl(const struct tpl *t, const struct node *nd)
{
	return nd->len && t->src[nd->off + nd->len - 1] == '\n';
}

/*
 * Drop parse-only nodes, merge adjacent text and link sections: a section's
 * children are the nodes between it and its 'end'.
 */
static int build(struct rstate *st, struct tpl *t)
{
	const char *s = t->src;
	size_t rd, w = 0, open = NONE;
	bool pending = true;

	for (rd = 0; rd < t->n; rd++) {
		struct node nd = t->nodes[rd];
		struct node *o, *prev;

		switch (nd.type) {
		case N_GONE:
			if (ends_nl(t, &nd))
				pending = true;
			continue;
		case N_COMMENT:
		case N_DELIM:
			continue;
		case N_CLOSE:
			if (open == NONE)
				return fail(st, t, nd.off, -EINVAL,
					    "unexpected closing tag '%.*s'",
					    plen(nd.name_len), s + nd.name);
			o = &t->nodes[open];
			if (o->name_len != nd.name_len ||
			    memcmp(s + o->name, s + nd.name, nd.name_len))
				return fail(st, t, nd.off, -EINVAL,
					    "closing tag '%.*s' does not match section '%.*s'",
					    plen(nd.name_len), s + nd.name,
					    plen(o->name_len), s + o->name);
			open = o->end;
			o->end = w;
			continue;
		case N_TEXT:
			prev = w ? &t->nodes[w - 1] : NULL;
			if (prev && prev->type == N_TEXT &&
			    prev->off + prev->len == nd.off) {
				prev->len += nd.len;
			} else {
				nd.bol = pending;
				t->nodes[w++] = nd;
			}
			pending = ends_nl(t, &nd);
			continue;
		default:
			break;
		}
		/* Standalone tags output nothing before the next line. */
		nd.bol = !nd.standalone && pending;
		if (!nd.standalone)
			pending = false;
		if (nd.type == N_SECTION || nd.type == N_INVERTED) {
			nd.end = open;
			open = w;
		}
		t->nodes[w++] = nd;
	}
	t->n = w;
	if (open != NONE)
		return fail(st, t, t->nodes[open].off, -EINVAL,
			    "unclosed section '%.*s'",
			    plen(t->nodes[open].name_len),
			    s + t->nodes[open].name);
	return 0;
}

static int parse(struct rstate *st, struct tpl *t)
{
	const char *nul = memchr(t->src, '\0', t->len);
	int r;

	/* C strings end there: names and values would be cut short */
	if (nul)
		return fail(st, t, (size_t)(nul - t->src), -EINVAL,
			    "NUL byte in template");
	r = tokenize(st, t);

	if (r < 0)
		return r;
	mark_standalone(t);
	return build(st, t);
}

static const struct kv *lookup(const struct ctx *c, const char *name,
			       size_t len)
{
	const struct kv *v = NULL;
	const char *dot;
	size_t part;

	if (len == 1 && name[0] == '.')
		return c ? c->v : NULL;
	dot = memchr(name, '.', len);
	part = dot ? (size_t)(dot - name) : len;
	if (!part)
		return NULL;
	for (; c; c = c->up) {
		if (c->v && c->v->type == KV_MAP) {
			v = kv_map_getn(c->v, name, part);
			if (v)
				break;
		}
	}
	/* Later parts resolve only against the value found so far. */
	while (v && dot) {
		name = dot + 1;
		len -= part + 1;
		dot = memchr(name, '.', len);
		part = dot ? (size_t)(dot - name) : len;
		if (!part)
			return NULL;
		v = kv_map_getn(v, name, part);
	}
	return v;
}

static bool truthy(const struct kv *v)
{
	if (!v)
		return false;
	switch (v->type) {
	case KV_NULL:
		return false;
	case KV_BOOL:
		return v->b;
	case KV_LIST:
		return v->len > 0;
	default:
		return true;
	}
}

static bool starts_nl(const char *s, size_t len)
{
	return len && (s[0] == '\n' || (s[0] == '\r' && len > 1 && s[1] == '\n'));
}

static int emit_indent(struct rstate *st, const struct ind *ind)
{
	int r;

	if (!ind)
		return 0;
	r = emit_indent(st, ind->up);
	if (r < 0)
		return r;
	return buf_add(st->out, ind->s, ind->len);
}

/* Indent each non-empty line of a standalone partial's own text. */
static int emit_text(struct rstate *st, const char *s, size_t len, bool bol,
		     const struct ind *ind)
{
	const char *nl;
	size_t p = 0, q;
	int r;

	if (!ind)
		return buf_add(st->out, s, len);
	if (bol && !starts_nl(s, len)) {
		r = emit_indent(st, ind);
		if (r < 0)
			return r;
	}
	while ((nl = memchr(s + p, '\n', len - p))) {
		q = (size_t)(nl - s) + 1;
		r = buf_add(st->out, s + p, q - p);
		if (r < 0)
			return r;
		p = q;
		if (p < len && !starts_nl(s + p, len - p)) {
			r = emit_indent(st, ind);
			if (r < 0)
				return r;
		}
	}
	return buf_add(st->out, s + p, len - p);
}

static int interpolate(struct rstate *st, const struct tpl *t,
		       const struct node *nd, const struct ctx *c)
{
	const struct kv *v = lookup(c, t->src + nd->name, nd->name_len);
	char num[40], eb[80];
	const char *s;
	size_t len, start;
	int r;

	if (!v)
		return 0;
	switch (v->type) {
	case KV_STR:
		s = v->str;
		len = v->len;
		break;
	case KV_NUM:
		len = fmt_num(v->num, num, sizeof(num));
		s = num;
		break;
	case KV_BOOL:
		s = v->b ? "true" : "false";
		len = strlen(s);
		break;
	default:
		return 0;
	}
	start = st->out->len;
	if (nd->type == N_UTAG)
		r = buf_add(st->out, s, len);
	else
		r = st->esc(st->out, s, len, st->esc_ctx);
	if (r < 0 && r != -ENOMEM)
		return fail(st, t, nd->off, r, "value for '%.*s' refused: %s",
			    plen(nd->name_len), t->src + nd->name,
			    errstr(r, eb, sizeof(eb)));
	if (r == 0 && st->opts && st->opts->site && st->out->len > start)
		st->opts->site(start, st->out->len, st->opts->site_ctx);
	return r;
}

static int section(struct rstate *st, const struct tpl *t, size_t i,
		   const struct ctx *c, const struct ind *ind)
{
	const struct node *nd = &t->nodes[i];
	const struct kv *v = lookup(c, t->src + nd->name, nd->name_len);
	struct ctx sub = { v, c };
	size_t k;
	int r = 0;

	if (nd->type == N_INVERTED)
		return truthy(v) ? 0 : render(st, t, i + 1, nd->end, c, ind);
	if (!truthy(v))
		return 0;
	if (v->type != KV_LIST)
		return render(st, t, i + 1, nd->end, &sub, ind);
	if (st->ldepth >= MAX_LIST_DEPTH)
		return fail(st, t, nd->off, -ELOOP,
			    "list sections nested too deeply (limit %d)",
			    MAX_LIST_DEPTH);
	st->ldepth++;
	for (k = 0; k < v->len && r >= 0; k++) {
		sub.v = v->items[k];
		r = render(st, t, i + 1, nd->end, &sub, ind);
	}
	st->ldepth--;
	return r;
}

static void pent_free(struct pent *pe)
{
	free(pe->t.nodes);
	free(pe->name);
	free(pe);
}

static int load_partial(struct rstate *st, const char *name, size_t len,
			struct pent **res)
{
	const struct mst_opts *o = st->opts;
	struct pcache *pc = st->pc;
	struct pent *pe, **cache;
	const char *text = NULL;
	size_t tlen = 0;
	int r;

	if (pc->n == pc->cap) {
		size_t cap = pc->cap ? pc->cap * 2 : 8;

		cache = realloc(pc->v, cap * sizeof(*cache));
		if (!cache)
			return -ENOMEM;
		pc->v = cache;
		pc->cap = cap;
	}
	pe = calloc(1, sizeof(*pe));
	if (!pe)
		return -ENOMEM;
	pe->name = strndup(name, len);
	if (!pe->name) {
		free(pe);
		return -ENOMEM;
	}
	pe->name_len = len;
	*res = pe;

	r = o && o->partial ? o->partial(pe->name, &text, &tlen,
					 o->partial_ctx) : -ENOENT;
	if (r == -ENOENT) {
		pe->missing = true;
		r = 0;
	} else if (r == 0) {
		pe->t.src = text ? text : "";
		pe->t.len = text ? tlen : 0;
		pe->t.pname = pe->name;
		r = parse(st, &pe->t);
	}
	/* only a partial that loaded and parsed is kept for the next render:
	 * a failed one fails again, with its message, every time it is used */
	if (r < 0) {
		*res = NULL;
		pent_free(pe);
		return r;
	}
	pc->v[pc->n++] = pe;
	return 0;
}

/* Name the chain from the main template, as far as the message holds. */
static int too_deep(struct rstate *st, const char *next)
{
	char chain[160];
	size_t n = 0, k;

	chain[0] = '\0';
	for (k = 0; k <= st->pdepth; k++) {
		const char *name = k < st->pdepth ? st->pchain[k] : next;
		size_t l = strlen(name);

		/* room for " \u2192 \u2026" after this name */
		if (n + 5 + l + 8 >= sizeof(chain))
			break;
		n += (size_t)snprintf(chain + n, sizeof(chain) - n, "%s%s",
				      k ? " \u2192 " : "", name);
	}
	snprintf(chain + n, sizeof(chain) - n, "%s\u2026", n ? " \u2192 " : "");
	return fail(st, st->main, st->main_off, -ELOOP,
		    "partials nested too deeply: %s", chain);
}

static int partial(struct rstate *st, const struct tpl *t,
		   const struct node *nd, const struct ctx *c,
		   const struct ind *ind)
{
	struct ind sub = { t->src + nd->ind, nd->ind_len, ind };
	const struct ind *use = NULL;
	struct pent *pe = NULL;
	const char *name;
	size_t len, k;
	char eb[80];
	int r;

	if (nd->dynamic) {
		const struct kv *v = lookup(c, t->src + nd->name, nd->name_len);

		if (!v || v->type != KV_STR)
			return 0;
		name = v->str;
		len = v->len;
	} else {
		name = t->src + nd->name;
		len = nd->name_len;
	}
	for (k = 0; k < st->pc->n; k++) {
		if (st->pc->v[k]->name_len == len &&
		    !memcmp(st->pc->v[k]->name, name, len)) {
			pe = st->pc->v[k];
			break;
		}
	}
	if (!pe) {
		r = load_partial(st, name, len, &pe);
		if (r == -ENOMEM || st->failed)
			return r;
		if (r < 0)
			return fail(st, t, nd->off, r,
				    "cannot load partial '%.*s': %s",
				    plen(len), name, errstr(r, eb, sizeof(eb)));
	}
	if (pe->missing)
		return 0;
	if (st->pdepth >= MAX_PARTIAL_DEPTH)
		return too_deep(st, pe->name);
	if (st->pdepth == 0)
		st->main_off = nd->off;
	st->pchain[st->pdepth] = pe->name;
	/* Only a standalone partial is indented, by its line and ours. */
	if (nd->standalone)
		use = nd->ind_len ? &sub : ind;
	st->pdepth++;
	r = render(st, &pe->t, 0, pe->t.n, c, use);
	st->pdepth--;
	return r;
}

static int render(struct rstate *st, const struct tpl *t, size_t from,
		  size_t to, const struct ctx *c, const struct ind *ind)
{
	size_t i = from;
	int r = 0;

	if (st->depth >= MAX_DEPTH)
		return fail(st, t, from ? t->nodes[from - 1].off : 0, -ELOOP,
			    "sections and partials nested too deeply");
	st->depth++;
	while (i < to && r >= 0) {
		const struct node *nd = &t->nodes[i];

		if (++st->steps > st->max_steps) {
			r = fail(st, t, nd->off, -E2BIG,
				 "template expands too far (more than %lu tags rendered)",
				 st->max_steps);
			break;
		}
		if (st->out->len > st->out_max) {
			r = fail(st, t, nd->off, -E2BIG,
				 "rendered output larger than %zu bytes", st->out_max);
			break;
		}

		if (ind && nd->bol && nd->type != N_TEXT) {
			r = emit_indent(st, ind);
			if (r < 0)
				break;
		}
		switch (nd->type) {
		case N_TEXT:
			r = emit_text(st, t->src + nd->off, nd->len, nd->bol,
				      ind);
			i++;
			break;
		case N_ETAG:
		case N_UTAG:
			r = interpolate(st, t, nd, c);
			i++;
			break;
		case N_SECTION:
		case N_INVERTED:
			r = section(st, t, i, c, ind);
			i = nd->end;
			break;
		case N_PARTIAL:
			r = partial(st, t, nd, c, ind);
			i++;
			break;
		default:
			i++;
			break;
		}
	}
	st->depth--;
	return r;
}

static void pcache_free(struct pcache *pc)
{
	size_t k;

	for (k = 0; k < pc->n; k++)
		pent_free(pc->v[k]);
	free(pc->v);
	memset(pc, 0, sizeof(*pc));
}

static void finish_err(const struct rstate *st, int r)
{
	char eb[80];

	if (r < 0 && st->err && !st->failed)
		snprintf(st->err->msg, sizeof(st->err->msg), "%s",
			 errstr(r, eb, sizeof(eb)));
}

int mst_compile(const char *tmpl, size_t len, struct mst_template **res,
		struct mst_error *err)
{
	struct mst_template *mt = calloc(1, sizeof(*mt));
	struct rstate st = { .err = err };
	int r;

	*res = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	if (!mt)
		return -ENOMEM;
	mt->t.src = tmpl ? tmpl : "";
	mt->t.len = tmpl ? len : 0;
	r = parse(&st, &mt->t);
	finish_err(&st, r);
	if (r < 0) {
		mst_template_free(mt);
		return r;
	}
	*res = mt;
	return 0;
}

void mst_template_free(struct mst_template *mt)
{
	if (!mt)
		return;
	pcache_free(&mt->pc);
	free(mt->t.nodes);
	free(mt);
}

int mst_render_template(struct mst_template *mt, const struct kv *data,
			const struct mst_opts *opts, struct buf *out,
			struct mst_error *err)
{
	struct rstate st = {
		.opts = opts,
		.esc = opts && opts->escape ? opts->escape : mst_escape_html,
		.esc_ctx = opts ? opts->escape_ctx : NULL,
		.out = out,
		.err = err,
	};
	struct ctx root = { data, NULL };
	size_t max = opts && opts->max_output ? opts->max_output : MST_MAX_OUTPUT;
	int r;

	if (err)
		memset(err, 0, sizeof(*err));
	st.main = &mt->t;
	st.pc = &mt->pc;
	st.max_steps = opts && opts->max_steps ? opts->max_steps : MST_MAX_STEPS;
	st.out_max = out->len + max;
	r = render(&st, &mt->t, 0, mt->t.n, &root, NULL);
	if (r == 0 && out->len > st.out_max)
		r = fail(&st, &mt->t, mt->t.len, -E2BIG,
			 "rendered output larger than %zu bytes", max);
	finish_err(&st, r);
	return r;
}

int mst_render(const char *tmpl, size_t len, const struct kv *data,
	       const struct mst_opts *opts, struct buf *out,
	       struct mst_error *err)
{
	struct mst_template *mt;
	int r = mst_compile(tmpl, len, &mt, err);

	if (r < 0)
		return r;
	r = mst_render_template(mt, data, opts, out, err);
	mst_template_free(mt);
	return r;
}
