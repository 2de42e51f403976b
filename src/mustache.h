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

struct mst_opts {
	mst_escape_fn escape;      /* NULL: HTML escaping as the spec says */
	void *escape_ctx;
	mst_partial_fn partial;    /* NULL: no partials */
	void *partial_ctx;
	size_t max_output;         /* bytes one render may add; 0: MST_MAX_OUTPUT */
	unsigned long max_steps;   /* tags one render may visit; 0: MST_MAX_STEPS */
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

#endif
