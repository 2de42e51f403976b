/*
 * A YAML document as a tree of nodes that remember where they came from
 * (file, line, column, byte offsets), read with libyaml. The profile engine
 * merges these trees for `extends:` and reports errors at the right place;
 * the config merger uses the byte offsets to edit only what it owns.
 */
#ifndef K3H_YNODE_H
#define K3H_YNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "hidx.h"

enum ynode_kind { YN_SCALAR, YN_SEQ, YN_MAP };

struct ymark {
	size_t index;           /* byte offset */
	unsigned line;          /* 1-based */
	unsigned col;           /* 1-based */
};

struct ynode {
	enum ynode_kind kind;
	const char *file;       /* not owned: lives as long as the loader */
	struct ymark start, end;
	bool plain;             /* scalar written without quotes or block style */
	bool block;             /* scalar written as a | or > block: its end mark is past the line break */
	bool flow;              /* seq/map written in flow style */
	bool alias;             /* written as *alias; children keep the anchor's marks */
	char *anchor;           /* &name, if any; for an alias, the name it refers to */
	char *value;            /* scalar */
	size_t len;
	size_t n, cap;          /* children */
	struct ynode **items;   /* seq items, map values */
	struct ynode **keys;    /* map keys (scalars) */
	struct hidx idx;        /* big maps: key -> position, kept by ynode_append/_remove */
};

enum {
	YN_ALLOW_ALIAS = 1 << 0,   /* resolve *alias by copying the anchored node */
	YN_ALLOW_EMPTY = 1 << 1,   /* an empty stream gives NULL, not an error */
};

/*
 * At most this many nodes (keys, values, list items) in one document, about
 * 250,000 keys: a bound on memory (~150 MB) and time (~1 s) that a 16 MiB
 * config.yaml of short keys (1.7M of them) would pass sevenfold.
 */
#define YN_MAX_NODES 500000

/*
 * Parse one YAML document. Errors (syntax, more than one document, aliases
 * when not allowed, duplicate mapping keys, nesting too deep) are added to
 * d and -EINVAL returned; *out is set only on success.
 */
int ynode_parse(const char *file, const char *data, size_t len, unsigned flags,
		struct ynode **out, struct diags *d);

/*
 * Rebuild a tree that tools/ynode-gen.c wrote as C data at build time (what
 * ynode_parse gave then, without parsing now): n_nodes records of YN_REC
 * words in pre-order, a map's children as key, value pairs; each record
 * is flags (the kind | YN_REC_*), start index, line, col, end index, line,
 * col, value and anchor (offsets into pool, UINT32_MAX for none), value
 * length, number of children. The nodes' file is file. 0, -EINVAL for
 * records that do not add up, or -ENOMEM.
 */
#define YN_REC 11
enum { YN_REC_PLAIN = 1 << 2, YN_REC_BLOCK = 1 << 3, YN_REC_FLOW = 1 << 4 };
int ynode_load(const char *file, const uint32_t *nodes, size_t n_nodes, const char *pool,
	       struct ynode **out);

struct ynode *ynode_new(enum ynode_kind kind, const char *file);
struct ynode *ynode_scalar(const char *file, const char *value);
struct ynode *ynode_copy(const struct ynode *n);
int ynode_append(struct ynode *parent, struct ynode *key, struct ynode *val);
void ynode_free(struct ynode *n);

/*
 * Map lookup by key; NULL when absent or n is not a map. O(1) on maps grown
 * with ynode_append; replacing keys[i] or items[i] in place keeps the index
 * valid as long as the key's text stays the same.
 */
struct ynode *ynode_get(const struct ynode *map, const char *key);
/* Index of key in map, or -1. */
long ynode_find(const struct ynode *map, const char *key);
void ynode_remove(struct ynode *map, size_t i);

/* Free the file names that parsed nodes point at (ynode_parse keeps one copy each). */
void ynode_intern_free(void);

#endif
