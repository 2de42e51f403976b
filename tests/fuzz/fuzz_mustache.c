/*
 * The Mustache engine on arbitrary template bytes against a fixed context.
 * The input is split at '\x1e' (record separator): the first part is the
 * template, part i (1-based) is the partial named "i-1" ("0", "1", ...), and
 * the partial "self" is the template itself, so partials can nest, recurse
 * and double. Every render must end (the caps), and the output respects the
 * output cap; errors carry a position inside the template.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "escape.h"
#include "kv.h"
#include "mustache.h"

#define MAX_PARTS 64
#define OUT_CAP (1u << 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct parts {
	const char *s[MAX_PARTS];
	size_t len[MAX_PARTS];
	size_t n;
};

static struct kv *ctx;

static struct kv *make_ctx(void)
{
	static const char *const keys[] = { "vm.panic_on_oom", "vm.overcommit_memory",
					    "kernel.panic", "kernel.panic_on_oops",
					    "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes" };
	static const char *const vals[] = { "0", "1", "10", "1", "1000000", "25000000" };
	struct kv *c = kv_map(), *params = kv_list(), *ns = kv_list(), *m = kv_map();
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct kv *e = kv_map();

		r |= kv_map_str(e, "key", keys[i]);
		r |= kv_map_str(e, "value", vals[i]);
		r |= kv_list_add(params, e);
	}
	r |= kv_list_add(ns, kv_str("kube-system"));
	r |= kv_list_add(ns, kv_str("default"));
	r |= kv_list_add(ns, kv_str("it's \"quoted\"\n<&>"));
	r |= kv_map_str(m, "name", "inner");
	r |= kv_map_num(m, "n", 2.5);
	r |= kv_map_set(m, "m", kv_map());
	r |= kv_map_set(c, "parameters", params);
	r |= kv_map_set(c, "namespaces", ns);
	r |= kv_map_set(c, "map", m);
	r |= kv_map_str(c, "profile", "cis");
	r |= kv_map_str(c, "controls", "1.2.9, 5.3.2");
	r |= kv_map_str(c, "empty", "");
	r |= kv_map_str(c, "partial", "0");
	r |= kv_map_bool(c, "t", true);
	r |= kv_map_bool(c, "f", false);
	r |= kv_map_num(c, "num", 42);
	r |= kv_map_num(c, "neg", -0.125);
	r |= kv_map_set(c, "nil", kv_null());
	r |= kv_map_set(c, "nolist", kv_list());
	if (r)
		abort();
	return c;
}

static int partial(const char *name, const char **text, size_t *len, void *pctx)
{
	const struct parts *p = pctx;
	char *end;
	unsigned long i;

	if (strcmp(name, "self") == 0) {
		*text = p->s[0];
		*len = p->len[0];
		return 0;
	}
	if (!*name || *name < '0' || *name > '9')
		return -ENOENT;
	i = strtoul(name, &end, 10);
	if (*end || i + 1 >= p->n)
		return -ENOENT;
	*text = p->s[i + 1];
	*len = p->len[i + 1];
	return 0;
}

static void split(const char *s, size_t n, struct parts *p)
{
	size_t at = 0;

	p->n = 0;
	while (p->n < MAX_PARTS) {
		const char *rs = memchr(s + at, '\x1e', n - at);
		size_t e = rs ? (size_t)(rs - s) : n;

		p->s[p->n] = s + at;
		p->len[p->n++] = e - at;
		if (!rs)
			break;
		at = e + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mst_escape_fn escapes[] = { NULL, esc_yaml, esc_conf };
	struct mst_opts o;
	struct mst_error err;
	struct buf out = BUF_INIT;
	struct parts p;
	size_t k;
	int r;

	if (!ctx)
		ctx = make_ctx();
	split((const char *)data, size, &p);
	for (k = 0; k < sizeof(escapes) / sizeof(escapes[0]); k++) {
		memset(&o, 0, sizeof(o));
		o.escape = escapes[k];
		o.partial = partial;
		o.partial_ctx = &p;
		o.max_output = OUT_CAP;
		o.max_steps = 1UL << 16;
		r = mst_render(p.s[0], p.len[0], ctx, &o, &out, &err);
		if (r == 0 && out.len > OUT_CAP)
			abort();
		/* what failed is said, at a line of the template that failed */
		if (r < 0 && r != -ENOMEM && (!err.msg[0] || err.line == 0 || err.col == 0))
			abort();
		buf_reset(&out);
	}
	buf_free(&out);
	return 0;
}
