/* Rollback planning: what puts a generation's files back. */
#ifndef K3H_ROLLBACK_H
#define K3H_ROLLBACK_H

#include "diag.h"
#include "plan.h"

/*
 * The plan that puts back generation id's files: each file as the
 * generation's backup holds it (or removed, when it did not exist), the
 * directories the generation created removed, directory modes restored.
 */
int plan_rollback(const char *root, const char *id, struct plan *out, struct diags *errs);

/* The generation a bare `rollback` undoes: the last committed apply. */
int rollback_pick_generation(const char *root, char *id, size_t size);

/* "7" -> "000007"; anything else as given. */
void rollback_normalize_id(const char *arg, char *id, size_t size);

#endif
