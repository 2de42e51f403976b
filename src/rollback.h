/* Rollback planning: what puts a generation's files back. */
#ifndef K3H_ROLLBACK_H
#define K3H_ROLLBACK_H

#include "diag.h"
#include "plan.h"
#include "txn.h"

/*
 * The plan that puts back generation id's files: each file as the
 * generation's backup holds it (or removed, when it did not exist), the
 * directories the generation created removed, directory modes restored.
 */
int plan_rollback(const char *root, const char *id, struct plan *out, struct diags *errs);

/* The generation a bare `rollback` undoes: the last committed apply. */
int rollback_pick_generation(const char *root, char *id, size_t size);

/*
 * What the files generation id puts back were made for: the newest
 * committed generation before id (those files are the ones id replaced),
 * copied to *made. made->id is "" when id is the first generation (the
 * files from before k3s-harden), when one between was pruned, or when
 * history cannot be read.
 */
void rollback_made_for(const char *root, const char *id, struct generation *made);

/*
 * Whether K3s version now (NULL: not known) would start with what plan pl
 * leaves in the K3s configuration (config_path and its drop-ins; the files
 * pl changes as it leaves them): an admission plugin now does not know,
 * enabled by an entry of a file pl writes, is an error in errs naming
 * FILE:LINE:COL, the plugin, what the files were made for (made, from
 * rollback_made_for) and what to do. With now NULL, only plugins the
 * newest K3s does not know are named, for a warning. The number of such
 * entries (0 when the configuration cannot be read: the restart gate
 * judges that).
 */
int rollback_check_plugins(const char *root, const char *config_path, const char *id,
			   const struct generation *made, const struct plan *pl, const char *now,
			   struct diags *errs);

/* "7" -> "000007"; anything else as given. */
void rollback_normalize_id(const char *arg, char *id, size_t size);

#endif
