/*
 * The effective K3s configuration: what K3s ends up with after reading
 * config.yaml and then config.yaml.d/ *.yaml|*.yml in order (DESIGN.md facts
 * 9 and 16): keys apply in file order, a plain key replaces the value (a
 * whole list included), `key+:` appends, null and empty values are empty.
 * Every value keeps the node it came from, for FILE:LINE:COL messages.
 *
 * One builder for every reader of the configuration: the merge's
 * effective-value check, role and data-dir detection, and `check`.
 */
#ifndef K3H_KEFF_H
#define K3H_KEFF_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "hidx.h"
#include "ynode.h"

struct keff_item {
	const struct ynode *node;       /* the scalar, for its position */
	const char *value;
};

struct keff_key {
	const char *name;               /* without a trailing '+' */
	const struct ynode *assigned;   /* key node of the last plain assignment, or NULL */
	const struct ynode *last;       /* key node of the last occurrence, '+' or not */
	struct keff_item *items;        /* a scalar: one item; a list: its entries in order */
	size_t n, cap;
};

struct keff {
	struct keff_key *keys;          /* in order of first appearance */
	size_t n, cap;
	struct hidx idx;
	struct ynode **trees;           /* the parsed files, owning every node */
	size_t n_trees;
	char **data;                    /* file contents read by keff_read_root */
	size_t n_data;
};

#define KEFF_INIT { NULL, 0, 0, { NULL, 0, 0 }, NULL, 0, NULL, 0 }

/*
 * Apply one file (label names it in messages) on top of what E holds.
 * Invalid YAML or a non-mapping is an error in d (-EINVAL); options K3s
 * does not know are warnings in w (w may be NULL). data must outlive E.
 */
int keff_add(struct keff *E, const char *label, const char *data, size_t len,
	     struct diags *d, struct diags *w);

/*
 * Read config_path (below root; NULL: /etc/rancher/k3s/config.yaml) and its
 * drop-ins as K3s does and apply them in order. Missing files are skipped;
 * symlinked ones are followed inside root (root_read_file_resolved).
 * Unreadable files are errors in d naming the path.
 */
int keff_read_root(struct keff *E, const char *root, const char *config_path,
		   struct diags *d, struct diags *w);

/* keff_read_root without the drop-in named skip (a file name in config.yaml.d, or NULL). */
int keff_read_root_except(struct keff *E, const char *root, const char *config_path,
			  const char *skip, struct diags *d, struct diags *w);

/* The key, or NULL when no file sets it. */
const struct keff_key *keff_get(const struct keff *E, const char *name);

/* The last value of a scalar option (a list: its last entry), or NULL when unset or empty. */
const char *keff_value(const struct keff *E, const char *name);

/* A boolean option as K3s reads it: 1 true, 0 false, -1 unset or no boolean. */
int keff_bool(const struct keff *E, const char *name);

/* The last entry of list `list` that sets `flag` (`--flag=v` or `flag=v`), or NULL. */
const struct keff_item *keff_flag(const struct keff *E, const char *list, const char *flag);

/* Whether list entry item names flag exactly: a leading `--` is optional (`flag+=v` names `flag+`). */
bool keff_same_flag(const char *item, const char *flag);

/* The value of a list entry: what follows the first '=', or "". */
const char *keff_flag_value(const char *item);

/* Whether a comma-separated value (enable-admission-plugins=A,B) names
 * name; csv may be NULL. */
bool keff_csv_has(const char *csv, const char *name);

/* A plain YAML null: "", ~, null. */
bool keff_is_null(const struct ynode *n);

/* A scalar as a YAML 1.1 boolean read by Go's strconv.ParseBool: 1, 0 or -1. */
int keff_bool_meaning(const struct ynode *n);

void keff_free(struct keff *E);

#endif
