#include "yemit.h"

#include <string.h>

#include "escape.h"

static int emit_scalar(struct buf *out, const struct ynode *n)
{
	/* A scalar read plain is written plain again, so 5000 stays a number. */
	if (n->plain && !memchr(n->value, '\n', n->len))
		return buf_add(out, n->value, n->len);
	return yaml_quote(out, n->value, n->len);
}

static int indent(struct buf *out, unsigned k)
{
	int r = 0;

	while (k-- && r == 0)
		r = buf_addc(out, ' ');
	return r;
}

static int emit_node(struct buf *out, const struct ynode *n, unsigned ind, int inline_first);

/* Value after "key:" or "- ": scalars and empty collections stay on the line. */
static int emit_value(struct buf *out, const struct ynode *v, unsigned ind, int seq_item)
{
	int r;

	if (v->kind == YN_SCALAR) {
		if (v->plain && v->len == 0)
			return buf_addc(out, '\n');
		if ((r = buf_addc(out, ' ')) < 0 || (r = emit_scalar(out, v)) < 0)
			return r;
		return buf_addc(out, '\n');
	}
	if (v->n == 0)
		return buf_adds(out, v->kind == YN_MAP ? " {}\n" : " []\n");
	if (seq_item && v->kind == YN_MAP) {
		if ((r = buf_addc(out, ' ')) < 0)
			return r;
		return emit_node(out, v, ind, 1);
	}
	if ((r = buf_addc(out, '\n')) < 0)
		return r;
	return emit_node(out, v, ind, 0);
}

static int emit_node(struct buf *out, const struct ynode *n, unsigned ind, int inline_first)
{
	size_t i;
	int r;

	for (i = 0; i < n->n; i++) {
		if (!(inline_first && i == 0) && (r = indent(out, ind)) < 0)
			return r;
		if (n->kind == YN_MAP) {
			if ((r = emit_scalar(out, n->keys[i])) < 0 || (r = buf_addc(out, ':')) < 0)
				return r;
			r = emit_value(out, n->items[i],
				       n->items[i]->kind == YN_SEQ ? ind : ind + 2, 0);
		} else {
			if ((r = buf_addc(out, '-')) < 0)
				return r;
			r = emit_value(out, n->items[i], ind + 2, 1);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int yemit(struct buf *out, const struct ynode *n)
{
	int r;

	if (n->kind == YN_SCALAR) {
		if ((r = emit_scalar(out, n)) < 0)
			return r;
		return buf_addc(out, '\n');
	}
	if (n->n == 0)
		return buf_adds(out, n->kind == YN_MAP ? "{}\n" : "[]\n");
	return emit_node(out, n, 0, 0);
}
