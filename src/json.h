/* Minimal JSON writing for --output json. */
#ifndef K3H_JSON_H
#define K3H_JSON_H

#include "buf.h"

/* Append s as a JSON string literal (with quotes). */
int json_str(struct buf *out, const char *s);

struct ynode;

/*
 * Append a YAML tree as JSON: mappings as objects, sequences as arrays; a
 * plain scalar true/false is a boolean, null/~/empty null, an integer a
 * number; everything else (and every quoted scalar) a string.
 */
int json_ynode(struct buf *out, const struct ynode *n);

#endif
