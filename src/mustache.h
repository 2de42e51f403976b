/*
 * Mustache template engine (spec: comments, delimiters, interpolation,
 * inverted, partials, sections). Escaping of {{name}} is chosen by the
 * caller, so one engine serves HTML (the spec), YAML and sysctl output.
 */
#ifndef K3H_MUSTACHE_H
#define K3H_MUSTACHE_H

#include <stddef.h>

#include "buf.h"
#include "kv.h"

/*
 * Append the escaped form of s[0..len) to out. Return 0, or a negative errno
 * to refuse the value (for example -EINVAL for a newline in a sysctl value);
 * the render then fails and reports the tag's position.
 */
typedef int (*mst_escape_fn)(struct buf *out, const char *s, size_t len,
			     void *ctx);

/*
 * Look up partial NAME. Set *text and *len to its source and return 0, or
 * return -ENOENT (the spec renders a missing partial as empty).
 */
typedef int (*mst_partial_fn)(const char *name, const char **text,
			      size_t *len, void *ctx);

/*
 * Told after each {{name}} or {{{name}}} that added bytes: they are
 * out->data[start..end). A caller can tell values from template text by it.
 */
typedef void (*mst_site_fn)(size_t start, size_t end, void *ctx);

struct mst_opts {
	mst_escape_fn escape;      /* NULL: HTML escaping as the spec says */
	void *escape_ctx;
	mst_partial_fn partial;    /* NULL: no partials */
	void *partial_ctx;
	size_t max_output;         /* bytes one render may add; 0: MST_MAX_OUTPUT */
	unsigned long max_steps;   /* tags one render may visit; 0: MST_MAX_STEPS */
	mst_site_fn site;          /* NULL: not told */
	void *site_ctx;
};

/*
 * Hostile templates can expand exponentially (partials including the next
 * one twice, lists nested in lists): a render stops with -E2BIG past this
 * much output or 2^25 rendered tags, and with -ELOOP past 16 nested list
 * sections, 64 nested partials or 512 nested sections.
 */
#define MST_MAX_OUTPUT (16u * 1024 * 1024)
#define MST_MAX_STEPS (1UL << 25)

struct mst_error {
	unsigned line;             /* 1-based position in the template */
	unsigned col;
	char msg[200];
};

/* HTML escaping (& < > " and '), the spec's default. */
int mst_escape_html(struct buf *out, const char *s, size_t len, void *ctx);

/*
 * Render template tmpl[0..len) against data into out (appended).
 * Returns 0, or a negative errno with *err filled (syntax error, refused
 * value, unclosed section, ...). out may hold partial output on failure.
 */
int mst_render(const char *tmpl, size_t len, const struct kv *data,
	       const struct mst_opts *opts, struct buf *out,
	       struct mst_error *err);

/*
 * A template parsed once and rendered many times (one per namespace).
 * mst_compile parses tmpl[0..len), which must stay alive and unchanged while
 * the template is used; syntax errors are reported as by mst_render.
 * mst_render_template renders it as mst_render would; the partials it loads
 * are parsed once and kept for the template's next renders, so the partial
 * callback must give the same text for a name for the template's lifetime
 * (a partial that fails to load or parse is not kept: it fails again).
 * mst_render is mst_compile + mst_render_template + mst_template_free.
 */
struct mst_template;

int mst_compile(const char *tmpl, size_t len, struct mst_template **t,
		struct mst_error *err);
int mst_render_template(struct mst_template *t, const struct kv *data,
			const struct mst_opts *opts, struct buf *out,
			struct mst_error *err);
void mst_template_free(struct mst_template *t);

#endif
