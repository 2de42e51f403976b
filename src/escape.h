/*
 * Output-format escaping for template values. Each function matches
 * mst_escape_fn, so it can be handed to the Mustache engine.
 */
#ifndef K3H_ESCAPE_H
#define K3H_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * Append s as one YAML scalar that a YAML 1.1 or 1.2 parser reads back as
 * exactly this string: plain when that is unambiguous, else single-quoted,
 * else double-quoted with escapes. -EILSEQ for invalid UTF-8.
 */
int yaml_quote(struct buf *out, const char *s, size_t len);
/* The same for an entry of a flow list [a, b], where ',' ends a plain scalar. */
int yaml_quote_flow(struct buf *out, const char *s, size_t len);
/*
 * yaml_quote (flow: yaml_quote_flow) in a given style, to keep the one an
 * entry was written in: style '"' double-quoted, '\'' single-quoted (double
 * where single quotes cannot hold s), anything else as yaml_quote chooses.
 */
int yaml_quote_as(struct buf *out, const char *s, size_t len, bool flow, char style);
int esc_yaml(struct buf *out, const char *s, size_t len, void *ctx);

/* sysctl.d values: refuse (-EINVAL) control characters and newlines. */
int esc_conf(struct buf *out, const char *s, size_t len, void *ctx);

/* True when s can be written as a plain YAML scalar and read back as a string. */
bool yaml_plain_safe(const char *s, size_t len);

#endif
