/*
 * Mustache engine tests: every case of the official spec files in
 * mustache-spec/ runs as its own cmocka test, plus unit tests for errors,
 * limits and value formatting.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <yaml.h>

#include "buf.h"
#include "kv.h"
#include "mustache.h"

/* The required spec files, then optional ones this engine implements. */
static const char *const spec_files[] = {
	"comments", "delimiters", "interpolation", "inverted", "partials",
	"sections", "~dynamic-names",
};
#define N_FILES (sizeof(spec_files) / sizeof(spec_files[0]))

struct spec_case {
	char *name;
	struct kv *test;        /* borrowed from the file's tree */
};

/* ---- YAML to kv ---- */

static bool is_number(const char *s, size_t len)
{
	size_t i = 0, digits = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (!digits)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t ed = 0;

		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			ed++;
		if (!ed)
			return false;
	}
	return i == len;
}

static bool is_word(const char *s, size_t len, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == len && !memcmp(s, *words, len))
			return true;
	return false;
}

static struct kv *scalar_to_kv(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const trues[] = { "true", "True", "TRUE", NULL };
	static const char *const falses[] = { "false", "False", "FALSE", NULL };
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;

	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (is_word(s, len, nulls))
			return kv_null();
		if (is_word(s, len, trues))
			return kv_bool(true);
		if (is_word(s, len, falses))
			return kv_bool(false);
		if (is_number(s, len))
			return kv_num(strtod(s, NULL));
	}
	return kv_strn(s, len);
}

static struct kv *node_to_kv(yaml_document_t *doc, const yaml_node_t *n,
			     unsigned depth)
{
	struct kv *v = NULL;
	yaml_node_item_t *it;
	yaml_node_pair_t *pr;

	if (!n || depth > 100)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return scalar_to_kv(n);
	case YAML_SEQUENCE_NODE:
		v = kv_list();
		for (it = n->data.sequence.items.start;
		     v && it < n->data.sequence.items.top; it++) {
			struct kv *c = node_to_kv(doc,
					yaml_document_get_node(doc, *it),
					depth + 1);

			if (kv_list_add(v, c) < 0) {
				kv_free(v);
				v = NULL;
			}
		}
		return v;
	case YAML_MAPPING_NODE:
		v = kv_map();
		for (pr = n->data.mapping.pairs.start;
		     v && pr < n->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(doc, pr->key);
			struct kv *c;
			char *key;

			if (!k || k->type != YAML_SCALAR_NODE) {
				kv_free(v);
				return NULL;
			}
			key = strndup((const char *)k->data.scalar.value,
				      k->data.scalar.length);
			c = node_to_kv(doc, yaml_document_get_node(doc, pr->value),
				       depth + 1);
			if (!key || kv_map_set(v, key, c) < 0) {
				if (!key)
					kv_free(c);
				kv_free(v);
				v = NULL;
			}
			free(key);
		}
		return v;
	default:
		return NULL;
	}
}

static struct kv *load_yaml(const char *path)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct kv *v = NULL;
	FILE *f;

	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return NULL;
	}
	yaml_parser_set_input_file(&parser, f);
	if (yaml_parser_load(&parser, &doc)) {
		v = node_to_kv(&doc, yaml_document_get_root_node(&doc), 0);
		yaml_document_delete(&doc);
	} else {
		fprintf(stderr, "%s: %s at line %zu\n", path, parser.problem,
			parser.problem_mark.line + 1);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return v;
}

/* ---- helpers ---- */

static void print_escaped(const char *label, const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '\n': buf_adds(&b, "\\n\n"); break;
		case '\r': buf_adds(&b, "\\r"); break;
		case '\t': buf_adds(&b, "\\t"); break;
		default: buf_addc(&b, s[i]); break;
		}
	}
	print_message("%s:\n%s<EOF>\n", label, b.data ? b.data : "");
	buf_free(&b);
}

static int map_partial(const char *name, const char **text, size_t *len,
		       void *ctx)
{
	const struct kv *v = kv_map_get(ctx, name);

	if (!v || v->type != KV_STR)
		return -ENOENT;
	*text = v->str;
	*len = v->len;
	return 0;
}

/* ---- spec cases ---- */

static void run_spec_case(void **state)
{
	const struct spec_case *sc = *state;
	const struct kv *tmpl = kv_map_get(sc->test, "template");
	const struct kv *exp = kv_map_get(sc->test, "expected");
	const struct kv *data = kv_map_get(sc->test, "data");
	struct kv *partials = (struct kv *)kv_map_get(sc->test, "partials");
	struct mst_opts o = {
		.partial = partials ? map_partial : NULL,
		.partial_ctx = partials,
	};
	struct buf out = BUF_INIT;
	struct mst_error err;
	bool same;
	int r;

	assert_non_null(tmpl);
	assert_non_null(exp);
	assert_int_equal(tmpl->type, KV_STR);
	assert_int_equal(exp->type, KV_STR);
	r = mst_render(tmpl->str, tmpl->len, data, &o, &out, &err);
	if (r < 0) {
		print_escaped("template", tmpl->str, tmpl->len);
		print_message("error %d at %u:%u: %s\n", r, err.line, err.col,
			      err.msg);
		buf_free(&out);
		fail();
	}
	same = out.len == exp->len && (!out.len || !memcmp(out.data, exp->str, out.len));
	if (!same) {
		print_escaped("template", tmpl->str, tmpl->len);
		print_escaped("expected", exp->str, exp->len);
		print_escaped("got", out.data ? out.data : "", out.len);
	}
	buf_free(&out);
	assert_true(same);
	/* the same case through one compiled template, rendered twice: the
	 * second render reuses the parsed template and partials */
	{
		struct mst_template *mt = NULL;
		int k;

		assert_int_equal(mst_compile(tmpl->str, tmpl->len, &mt, &err), 0);
		for (k = 0; k < 2; k++) {
			struct buf o2 = BUF_INIT;

			assert_int_equal(mst_render_template(mt, data, &o, &o2, &err), 0);
			same = o2.len == exp->len && (!o2.len || !memcmp(o2.data, exp->str, o2.len));
			if (!same)
				print_escaped("compiled, got", o2.data ? o2.data : "", o2.len);
			buf_free(&o2);
			assert_true(same);
		}
		mst_template_free(mt);
	}
}

/* ---- unit tests ---- */

static int refuse_nl(struct buf *out, const char *s, size_t len, void *ctx)
{
	(void)ctx;
	if (memchr(s, '\n', len))
		return -EINVAL;
	return buf_add(out, s, len);
}

struct chain {
	const char *const *names;
	const char *const *texts;
	size_t n;
	int fail_with;
};

static int chain_partial(const char *name, const char **text, size_t *len,
			 void *ctx)
{
	const struct chain *c = ctx;
	size_t i;

	if (c->fail_with)
		return c->fail_with;
	for (i = 0; i < c->n; i++) {
		if (!strcmp(c->names[i], name)) {
			*text = c->texts[i];
			*len = strlen(c->texts[i]);
			return 0;
		}
	}
	return -ENOENT;
}

static int render(const char *tmpl, const struct kv *data,
		  const struct mst_opts *o, struct buf *out,
		  struct mst_error *err)
{
	buf_reset(out);
	return mst_render(tmpl, strlen(tmpl), data, o, out, err);
}

static void expect_out(const char *tmpl, const struct kv *data,
		       const struct mst_opts *o, const char *want)
{
	struct buf out = BUF_INIT;
	struct mst_error err;
	int r = render(tmpl, data, o, &out, &err);

	if (r < 0)
		print_message("%s: error %d %u:%u %s\n", tmpl, r, err.line,
			      err.col, err.msg);
	assert_int_equal(r, 0);
	assert_string_equal(out.data ? out.data : "", want);
	buf_free(&out);
}

static void expect_err(const char *tmpl, const struct kv *data,
		       const struct mst_opts *o, int want_r, unsigned line,
		       unsigned col, const char *msg)
{
	struct buf out = BUF_INIT;
	struct mst_error err;
	int r = render(tmpl, data, o, &out, &err);

	buf_free(&out);
	if (r != want_r || err.line != line || err.col != col ||
	    strcmp(err.msg, msg))
		print_message("template '%s': got %d %u:%u '%s'\n", tmpl, r,
			      err.line, err.col, err.msg);
	assert_int_equal(r, want_r);
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.line, line);
	assert_int_equal(err.col, col);
}

static void test_refusal(void **state)
{
	struct mst_opts o = { .escape = refuse_nl };
	struct kv *d = kv_map();
	static const char *const names[] = { "p" };
	static const char *const texts[] = { "a\n {{x}}" };
	struct chain ch = { names, texts, 1, 0 };

	(void)state;
	assert_non_null(d);
	assert_int_equal(kv_map_str(d, "x", "a\nb"), 0);
	assert_int_equal(kv_map_str(d, "y", "ok"), 0);
	expect_err("line1 {{y}}\n  key: {{x}}\n", d, &o, -EINVAL, 2, 8,
		   "value for 'x' refused: invalid argument");
	/* Raw tags bypass the escape callback. */
	expect_out("{{{x}}}|{{&y}}|{{y}}", d, &o, "a\nb|ok|ok");
	o.partial = chain_partial;
	o.partial_ctx = &ch;
	expect_err("{{#y}}\n{{>p}}\n{{/y}}", d, &o, -EINVAL, 2, 2,
		   "in partial 'p': value for 'x' refused: invalid argument");
	kv_free(d);
}

static void test_syntax_errors(void **state)
{
	static const struct {
		const char *tmpl;
		unsigned line, col;
		const char *msg;
	} cases[] = {
		{ "abc\n  {{#a}}\nfoo\n", 2, 3, "unclosed section 'a'" },
		{ "{{#a}}{{#b}}{{/b}}", 1, 1, "unclosed section 'a'" },
		{ "{{#a}}{{/b}}", 1, 7,
		  "closing tag 'b' does not match section 'a'" },
		{ "x{{/a}}", 1, 2, "unexpected closing tag 'a'" },
		{ "ab\n\tcd {{x", 2, 5, "unclosed tag" },
		{ "{{{x}}", 1, 1, "unclosed tag" },
		{ "{{=<% %>}}", 1, 1, "bad set delimiter tag" },
		{ "{{= a =}}", 1, 1, "bad set delimiter tag" },
		{ "{{=a b c=}}", 1, 1, "bad set delimiter tag" },
		{ "{{=a= b=}}", 1, 1, "bad set delimiter tag" },
		{ "{{}}", 1, 1, "missing tag name" },
		{ "{{# }}", 1, 1, "missing tag name" },
		{ "x {{a b}}", 1, 3, "whitespace in tag name 'a b'" },
		{ "{{<p}}{{/p}}", 1, 1, "template inheritance is not supported" },
		{ "{{=<% %>=}}\n<%#a%>\n<%/b%>", 3, 1,
		  "closing tag 'b' does not match section 'a'" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_err(cases[i].tmpl, NULL, NULL, -EINVAL, cases[i].line,
			   cases[i].col, cases[i].msg);
}

static void test_partial_errors(void **state)
{
	static const char *const names[] = { "bad", "self" };
	static const char *const texts[] = { "ok\n{{#x}}", "{{>self}}" };
	struct chain ch = { names, texts, 2, 0 };
	struct mst_opts o = { .partial = chain_partial, .partial_ctx = &ch };

	(void)state;
	expect_err("{{>bad}}", NULL, &o, -EINVAL, 2, 1,
		   "in partial 'bad': unclosed section 'x'");
	expect_err("{{>self}}", NULL, &o, -ELOOP, 1, 1,
		   "partials nested too deeply: self \u2192 self \u2192 self \u2192 self \u2192 "
		   "self \u2192 self \u2192 self \u2192 self \u2192 self \u2192 self \u2192 "
		   "self \u2192 self \u2192 self \u2192 self \u2192 self \u2192 self \u2192 self \u2192 \u2026");
	expect_out("[{{>missing}}]", NULL, &o, "[]");
	expect_out("[{{>bad}}]", NULL, NULL, "[]");
	ch.fail_with = -EIO;
	expect_err("x\n {{>bad}}", NULL, &o, -EIO, 2, 2,
		   "cannot load partial 'bad': input/output error");
}

static void chain_depth(unsigned n, int want)
{
	char *names[80], *texts[80];
	struct chain ch = { (const char *const *)names,
			    (const char *const *)texts, n, 0 };
	struct mst_opts o = { .partial = chain_partial, .partial_ctx = &ch };
	struct buf out = BUF_INIT;
	struct mst_error err;
	unsigned i;

	assert_true(n <= 80);
	for (i = 0; i < n; i++) {
		assert_true(asprintf(&names[i], "p%u", i) > 0);
		if (i + 1 < n)
			assert_true(asprintf(&texts[i], "{{>p%u}}", i + 1) > 0);
		else
			texts[i] = strdup("end");
		assert_non_null(texts[i]);
	}
	assert_int_equal(render("{{>p0}}", NULL, &o, &out, &err), want);
	if (!want)
		assert_string_equal(out.data, "end");
	buf_free(&out);
	for (i = 0; i < n; i++) {
		free(names[i]);
		free(texts[i]);
	}
}

static void test_partial_depth(void **state)
{
	(void)state;
	chain_depth(64, 0);
	chain_depth(65, -ELOOP);
}

/* A tag name holding a NUL byte: refused before any lookup reads past a key. */
static void test_nul_byte(void **state)
{
	static const char t[] = "a\n{{#l}}{{key\0}}={{v}}{{/l}}";
	struct kv *d = kv_map(), *l = kv_list(), *e = kv_map();
	struct buf out = BUF_INIT;
	struct mst_error err;

	(void)state;
	assert_int_equal(kv_map_str(e, "key", "k"), 0);
	assert_int_equal(kv_list_add(l, e), 0);
	assert_int_equal(kv_map_set(d, "l", l), 0);
	assert_null(kv_map_getn(e, "key\0", 4));
	assert_non_null(kv_map_getn(e, "keyx", 3));
	assert_int_equal(mst_render(t, sizeof(t) - 1, d, NULL, &out, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.msg, "NUL byte in template");
	buf_free(&out);
	kv_free(d);
}

static void test_self_partial(void **state)
{
	static const char *const names[] = { "header" };
	static const char *const texts[] = { "{{>header}}" };
	struct chain ch = { names, texts, 1, 0 };
	struct mst_opts o = { .partial = chain_partial, .partial_ctx = &ch };
	struct buf out = BUF_INIT;
	struct mst_error err;

	(void)state;
	assert_int_equal(render("x\n {{>header}}", NULL, &o, &out, &err), -ELOOP);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 2);
	assert_non_null(strstr(err.msg, "partials nested too deeply: header \u2192 header \u2192 "));
	assert_non_null(strstr(err.msg, "\u2026"));
	buf_free(&out);
}

/* Exponential expansion stops at the output cap or the work cap. */
static void test_expansion_caps(void **state)
{
	static const char *const names[] = { "a", "b", "c", "d", "e" };
	static const char *const texts[] = { "{{>b}}{{>b}}", "{{>c}}{{>c}}", "{{>d}}{{>d}}",
					     "{{>e}}{{>e}}", "0123456789" };
	struct chain ch = { names, texts, 5, 0 };
	struct mst_opts o = { .partial = chain_partial, .partial_ctx = &ch, .max_output = 100 };
	struct kv *d = kv_map(), *l = kv_list();
	struct buf t = BUF_INIT, out = BUF_INIT;
	struct mst_error err;
	int i;

	(void)state;
	assert_int_equal(render("{{>a}}", NULL, &o, &out, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "larger than 100 bytes"));
	o.max_output = 160;
	expect_out("{{>a}}", NULL, &o, "0123456789012345678901234567890123456789"
		   "0123456789012345678901234567890123456789"
		   "0123456789012345678901234567890123456789"
		   "0123456789012345678901234567890123456789");
	/* 8^12 empty iterations: no output, still bounded */
	for (i = 0; i < 8; i++)
		assert_int_equal(kv_list_add(l, kv_bool(true)), 0);
	assert_int_equal(kv_map_set(d, "l", l), 0);
	for (i = 0; i < 12; i++)
		assert_int_equal(buf_adds(&t, "{{#l}}"), 0);
	for (i = 0; i < 12; i++)
		assert_int_equal(buf_adds(&t, "{{/l}}"), 0);
	assert_int_equal(render(t.data, d, NULL, &out, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "template expands too far"));
	/* lists in lists beyond 16 levels are refused outright */
	buf_reset(&t);
	for (i = 0; i < 17; i++)
		assert_int_equal(buf_adds(&t, "{{#l}}"), 0);
	for (i = 0; i < 17; i++)
		assert_int_equal(buf_adds(&t, "{{/l}}"), 0);
	assert_int_equal(render(t.data, d, NULL, &out, &err), -ELOOP);
	assert_string_equal(err.msg, "list sections nested too deeply (limit 16)");
	buf_free(&t);
	buf_free(&out);
	kv_free(d);
}

static void test_section_depth(void **state)
{
	struct kv *d = kv_map();
	struct buf t = BUF_INIT, out = BUF_INIT;
	struct mst_error err;
	int i;

	(void)state;
	assert_int_equal(kv_map_bool(d, "a", true), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf_adds(&t, "{{#a}}"), 0);
	assert_int_equal(buf_adds(&t, "x"), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf_adds(&t, "{{/a}}"), 0);
	expect_out(t.data, d, NULL, "x");

	buf_reset(&t);
	for (i = 0; i < 5000; i++)
		assert_int_equal(buf_adds(&t, "{{#a}}"), 0);
	for (i = 0; i < 5000; i++)
		assert_int_equal(buf_adds(&t, "{{/a}}"), 0);
	assert_int_equal(render(t.data, d, NULL, &out, &err), -ELOOP);
	assert_string_equal(err.msg, "sections and partials nested too deeply");

	/* Deep nesting that never renders costs nothing. */
	expect_out(t.data, NULL, NULL, "");

	buf_reset(&t);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_adds(&t, "{{^a}}"), 0);
	assert_int_equal(render(t.data, NULL, NULL, &out, &err), -EINVAL);
	assert_string_equal(err.msg, "unclosed section 'a'");
	assert_int_equal(err.col, 6 * 99999 + 1);

	buf_free(&t);
	buf_free(&out);
	kv_free(d);
}

static void test_values(void **state)
{
	static const struct {
		double v;
		const char *s;
	} nums[] = {
		{ 85, "85" }, { 1.210, "1.21" }, { 0.1, "0.1" }, { -3, "-3" },
		{ -0.0, "0" }, { 1e20, "1e+20" }, { 1.0 / 3, "0.3333333333333333" },
		{ 123456789012.0, "123456789012" }, { 2.5e-7, "2.5e-07" },
		{ 0.1 + 0.2, "0.30000000000000004" }, { 1e300 * 1e300, "inf" },
	};
	struct kv *d = kv_map();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		assert_int_equal(kv_map_num(d, "n", nums[i].v), 0);
		expect_out("{{n}}", d, NULL, nums[i].s);
	}
	assert_int_equal(kv_map_bool(d, "t", true), 0);
	assert_int_equal(kv_map_bool(d, "f", false), 0);
	assert_int_equal(kv_map_set(d, "z", kv_null()), 0);
	assert_int_equal(kv_map_str(d, "e", ""), 0);
	assert_int_equal(kv_map_num(d, "zero", 0), 0);
	assert_int_equal(kv_map_set(d, "l", kv_list()), 0);
	assert_int_equal(kv_map_set(d, "m", kv_map()), 0);
	assert_int_equal(kv_map_str(d, "h", "&<>\"'"), 0);
	expect_out("{{t}} {{f}} [{{z}}] [{{l}}] [{{m}}] [{{nope}}]", d, NULL,
		   "true false [] [] [] []");
	/* Only false, null, missing and empty lists are falsey. */
	expect_out("{{#e}}e{{/e}}{{#zero}}0{{/zero}}{{#m}}m{{/m}}"
		   "{{^l}}l{{/l}}{{^z}}z{{/z}}{{^f}}f{{/f}}{{^nope}}n{{/nope}}",
		   d, NULL, "e0mlzfn");
	expect_out("{{h}}|{{{h}}}", d, NULL, "&amp;&lt;&gt;&quot;&#39;|&<>\"'");
	expect_out("", d, NULL, "");
	expect_out("a{{x}}b{{#x}}c{{/x}}", NULL, NULL, "ab");
	kv_free(d);
}

static void test_partial_indent(void **state)
{
	static const char *const names[] = { "p", "q" };
	static const char *const texts[] = { "a\n\n{{#t}}\n  {{>q}}\n{{/t}}b {{v}}\n",
					     "q1\nq2\n" };
	struct chain ch = { names, texts, 2, 0 };
	struct mst_opts o = { .partial = chain_partial, .partial_ctx = &ch };
	struct kv *d = kv_map();

	(void)state;
	assert_int_equal(kv_map_bool(d, "t", true), 0);
	assert_int_equal(kv_map_str(d, "v", "x\ny"), 0);
	/* Blank lines get no trailing indentation; values are not indented. */
	expect_out("-\n  {{>p}}\n-\n", d, &o,
		   "-\n  a\n\n    q1\n    q2\n  b x\ny\n-\n");
	expect_out("- {{>q}}-", d, &o, "- q1\nq2\n-");
	kv_free(d);
}

static void test_perf(void **state)
{
	struct kv *d = kv_map(), *l = kv_list();
	struct buf t = BUF_INIT, out = BUF_INIT;
	struct mst_error err;
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		struct kv *m = kv_map();

		assert_int_equal(kv_map_num(m, "n", i), 0);
		assert_int_equal(kv_map_str(m, "s", "value <x>"), 0);
		assert_int_equal(kv_list_add(l, m), 0);
	}
	assert_int_equal(kv_map_set(d, "items", l), 0);
	assert_int_equal(kv_map_str(d, "title", "hello"), 0);
	while (t.len < 2048)
		assert_int_equal(buf_adds(&t,
			"# {{title}} section\n{{#items}}\n  - n: {{n}}\n"
			"    s: {{s}}\n{{/items}}\n{{^missing}}none{{/missing}}\n"), 0);
	for (i = 0; i < 10000; i++) {
		buf_reset(&out);
		assert_int_equal(mst_render(t.data, t.len, d, NULL, &out, &err), 0);
	}
	buf_free(&t);
	buf_free(&out);
	kv_free(d);
}

/* counts the partial lookups, so a test can see the parsed partial reused */
struct counted {
	struct chain ch;
	unsigned calls;
};

static int counted_partial(const char *name, const char **text, size_t *len, void *ctx)
{
	struct counted *c = ctx;

	c->calls++;
	return chain_partial(name, text, len, &c->ch);
}

/*
 * A compiled template gives what mst_render gives, for every data set in
 * turn, with static, dynamic and indented partials; each partial is looked
 * up once for all renders; a partial that fails is not kept.
 */
static void test_compiled_cache(void **state)
{
	static const char *const names[] = { "p", "q", "bad" };
	static const char *const texts[] = { "p:{{v}}\n{{#l}}  {{>q}}\n{{/l}}", "q[{{.}}]\n", "{{#x}}" };
	static const char tmpl[] = "a {{v}}\n  {{>p}}\n{{>*dyn}}|{{^v}}none{{/v}}\n";
	struct counted cc = { { names, texts, 3, 0 }, 0 };
	struct mst_opts o = { .partial = counted_partial, .partial_ctx = &cc };
	struct mst_template *mt = NULL;
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct mst_error err;
	unsigned calls;
	int i;

	(void)state;
	assert_int_equal(mst_compile(tmpl, sizeof(tmpl) - 1, &mt, &err), 0);
	for (i = 0; i < 6; i++) {
		struct kv *d = kv_map(), *l = kv_list();
		int k;

		if (i % 3)
			assert_int_equal(kv_map_str(d, "v", i == 1 ? "<one>" : "two"), 0);
		for (k = 0; k < i; k++)
			assert_int_equal(kv_list_add(l, kv_strf("item%d", k)), 0);
		assert_int_equal(kv_map_set(d, "l", l), 0);
		assert_int_equal(kv_map_str(d, "dyn", i % 2 ? "q" : "p"), 0);
		buf_reset(&a);
		buf_reset(&b);
		assert_int_equal(mst_render(tmpl, sizeof(tmpl) - 1, d, &o, &a, &err), 0);
		calls = cc.calls;
		assert_int_equal(mst_render_template(mt, d, &o, &b, &err), 0);
		/* p and q were parsed by the first renders of mt that used them */
		if (i > 1)
			assert_int_equal(cc.calls, calls);
		assert_non_null(a.data);
		assert_non_null(b.data);
		assert_string_equal(b.data, a.data);
		kv_free(d);
	}
	/* one sample spelled out, so the two paths are not just equal but right */
	assert_string_equal(b.data, "a two\n  p:two\n  q[item0]\n  q[item1]\n  q[item2]\n"
			    "  q[item3]\n  q[item4]\nq[]\n|\n");
	mst_template_free(mt);

	/* a failing partial fails every render, with its message */
	assert_int_equal(mst_compile("x{{>bad}}", 9, &mt, &err), 0);
	for (i = 0; i < 2; i++) {
		buf_reset(&a);
		assert_int_equal(mst_render_template(mt, NULL, &o, &a, &err), -EINVAL);
		assert_string_equal(err.msg, "in partial 'bad': unclosed section 'x'");
	}
	mst_template_free(mt);
	/* syntax errors come from mst_compile, as from mst_render */
	assert_int_equal(mst_compile("{{#a}}", 6, &mt, &err), -EINVAL);
	assert_null(mt);
	assert_string_equal(err.msg, "unclosed section 'a'");
	buf_free(&a);
	buf_free(&b);
}

struct spans {
	size_t v[8][2];
	size_t n;
};

static void span_cb(size_t start, size_t end, void *ctx)
{
	struct spans *s = ctx;

	if (s->n < 8) {
		s->v[s->n][0] = start;
		s->v[s->n][1] = end;
	}
	s->n++;
}

static int render_keep(const char *t, const struct kv *d, const struct mst_opts *o,
		       struct buf *out, struct mst_error *err)
{
	return mst_render(t, strlen(t), d, o, out, err);
}

/* The site hook names the bytes each value added, escaped or not; empty values are not told. */
static void test_site_hook(void **state)
{
	struct spans sp = { { { 0 } }, 0 };
	struct mst_opts o = { .site = span_cb, .site_ctx = &sp };
	struct kv *d = kv_map();
	struct buf out = BUF_INIT;
	struct mst_error err;

	(void)state;
	assert_int_equal(kv_map_str(d, "x", "<"), 0);
	assert_int_equal(kv_map_str(d, "y", "b&"), 0);
	assert_int_equal(kv_map_str(d, "e", ""), 0);
	assert_int_equal(kv_map_num(d, "n", 42), 0);
	assert_int_equal(buf_adds(&out, ">>"), 0);
	assert_int_equal(render_keep("a{{x}}b{{{y}}}{{e}}{{missing}}c{{n}}", d, &o, &out, &err), 0);
	assert_string_equal(out.data, ">>a&lt;bb&c42");
	assert_int_equal(sp.n, 3);
	assert_int_equal(sp.v[0][0], 3);
	assert_int_equal(sp.v[0][1], 7);
	assert_int_equal(sp.v[1][0], 8);
	assert_int_equal(sp.v[1][1], 10);
	assert_int_equal(sp.v[2][0], 11);
	assert_int_equal(sp.v[2][1], 13);
	buf_free(&out);
	kv_free(d);
}

/* ---- main ---- */

static int load_suite(const char *file, struct kv **root,
		      struct spec_case **cases, size_t *n, size_t *cap)
{
	const struct kv *tests;
	char path[256];
	size_t i, count = 0;

	snprintf(path, sizeof(path), "mustache-spec/%s.yml", file);
	*root = load_yaml(path);
	if (!*root) {
		fprintf(stderr, "cannot load %s\n", path);
		return -1;
	}
	tests = kv_map_get(*root, "tests");
	if (!tests || tests->type != KV_LIST || !tests->len) {
		fprintf(stderr, "%s: no test cases\n", path);
		return -1;
	}
	for (i = 0; i < tests->len; i++) {
		struct kv *tc = tests->items[i];
		const struct kv *name = kv_map_get(tc, "name");

		if (!name || name->type != KV_STR) {
			fprintf(stderr, "%s: case %zu has no name\n", path, i);
			return -1;
		}
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			struct spec_case *p = realloc(*cases, nc * sizeof(*p));

			if (!p)
				return -1;
			*cases = p;
			*cap = nc;
		}
		if (asprintf(&(*cases)[*n].name, "%s: %s", file, name->str) < 0)
			return -1;
		(*cases)[*n].test = tc;
		(*n)++;
		count++;
	}
	printf("%s: %zu cases\n", file, count);
	return 0;
}

int main(void)
{
	static const struct CMUnitTest unit[] = {
		cmocka_unit_test(test_refusal),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_partial_errors),
		cmocka_unit_test(test_partial_depth),
		cmocka_unit_test(test_section_depth),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_self_partial),
		cmocka_unit_test(test_expansion_caps),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_partial_indent),
		cmocka_unit_test(test_perf),
		cmocka_unit_test(test_compiled_cache),
		cmocka_unit_test(test_site_hook),
	};
	struct kv *roots[N_FILES] = { NULL };
	struct spec_case *cases = NULL;
	struct CMUnitTest *tests = NULL;
	size_t i, n = 0, cap = 0;
	int failed = 1;

	for (i = 0; i < N_FILES; i++)
		if (load_suite(spec_files[i], &roots[i], &cases, &n, &cap) < 0)
			goto out;
	tests = calloc(n, sizeof(*tests));
	if (!tests)
		goto out;
	for (i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = run_spec_case;
		tests[i].initial_state = &cases[i];
	}
	failed = _cmocka_run_group_tests("mustache spec", tests, n, NULL, NULL);
	failed += cmocka_run_group_tests_name("mustache unit", unit, NULL, NULL);
out:
	for (i = 0; i < n; i++)
		free(cases[i].name);
	free(cases);
	free(tests);
	for (i = 0; i < N_FILES; i++)
		kv_free(roots[i]);
	return failed ? 1 : 0;
}
