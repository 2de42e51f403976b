/*
 * Before anything is written: every reason K3s would not start with the
 * files a plan writes, found at once (as RKE2's cis profile checks at
 * start). The engine's plan step refuses the change when there is one.
 */
#ifndef K3H_PREFLIGHT_H
#define K3H_PREFLIGHT_H

#include "diag.h"
#include "plan.h"
#include "profile.h"

/*
 * Each problem is an error in errs (what is wrong, what to do); -EINVAL
 * when there is any, 0 when K3s can start, -ENOMEM.
 */
int preflight_check(const struct profile *p, const struct plan_opts *o, struct diags *errs);

#endif
