/*
 * Inside the profile module: the state one profile_load() shares between its
 * stages, and the stages themselves. Not for other modules; they use
 * profile.h.
 *
 *   profile_read.c      read a file or built-in, resolve `extends:` by merging trees
 *   profile_check.c     walk the merged tree against the libcyaml schema
 *   profile_cyaml.c     load the checked tree into struct profile with libcyaml
 *   profile_validate.c  meaning checks on the typed profile
 *   profile.c           the entry points, running the stages in that order
 */
#ifndef K3H_PROFILE_INT_H
#define K3H_PROFILE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "profile.h"
#include "ynode.h"

/* Where a key was written `key+:`; the merged tree keeps only `key`. */
struct plus_key {
	const char *file;
	unsigned line, col;
};

struct profile_ctx {
	struct diags *d;
	int err;                        /* -EINVAL once any problem was reported */
	struct plus_key *plus;
	size_t n_plus;
	/* Subtrees the schema check removed so that libcyaml can still load the
	 * rest; problems the meaning checks find under them are not reported. */
	char **dropped;
	size_t n_dropped;
	/* files in the order they were merged, a parent before its child: the
	 * order their problems are reported in */
	const char **files;
	size_t n_files;
	/* `extends: cis`: how to pick its base, and what was read for it */
	const struct profile_load_opts *opts;
	const char *cis_base;
	char *cis_version;
	bool cis_picked;
};

/* Report a problem at node n (or, without a node, at file without a position). */
void pctx_err(struct profile_ctx *c, const struct ynode *n, const char *file,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* With the field it is about (for JSON); pctx_verr from a va_list: 0 or -ENOMEM. */
void pctx_field_err(struct profile_ctx *c, const struct ynode *n, const char *field,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int pctx_verr(struct profile_ctx *c, const struct ynode *n, const char *file, const char *field,
	      const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
int pctx_note_plus(struct profile_ctx *c, const struct ynode *key);
bool pctx_had_plus(const struct profile_ctx *c, const struct ynode *key);
int pctx_note_dropped(struct profile_ctx *c, const char *path);
int pctx_note_file(struct profile_ctx *c, const char *file);
/* path is a dropped subtree or lies under one. */
bool pctx_is_dropped(const struct profile_ctx *c, const char *path);
void pctx_free(struct profile_ctx *c);

/*
 * Read NAME (built-in) or a file, resolve extends, merge. Problems that leave
 * a usable tree (a duplicate key, '+' on a non-list) are reported and the
 * tree is still returned; c->err tells.
 */
int profile_read(struct profile_ctx *c, const char *name_or_path, struct ynode **out);

/*
 * Check tree against the schema, reporting every problem. Where a problem
 * is, the smallest optional subtree around it is removed from tree (and
 * noted as dropped), so the rest can be loaded and checked for meaning.
 * Returns -ENOMEM, or -EINVAL when the tree could not be made loadable.
 */
int profile_check_schema(struct profile_ctx *c, struct ynode *tree);

int profile_cyaml_load(struct profile_ctx *c, const struct ynode *tree, struct profile **out);
void profile_cyaml_free(struct profile *p);

/* Meaning checks; positions come from tree. */
void profile_validate(struct profile_ctx *c, const struct ynode *tree, const struct profile *p);

#endif
