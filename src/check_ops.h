/*
 * kube-bench's test operators (aquasecurity/kube-bench check/test.go, as
 * benchmarks/README.md records them), evaluated on one value: set unset eq
 * noteq gt gte lt lte has nothave valid_elements bitmask regex, and the
 * and/or that joins a control's items.
 */
#ifndef K3H_CHECK_OPS_H
#define K3H_CHECK_OPS_H

#include <stdbool.h>
#include <stddef.h>

/* Whether op is one of the operators above. */
bool check_op_known(const char *op);
/* Whether op compares against a value (every op except set and unset). */
bool check_op_takes_value(const char *op);

/*
 * Evaluate op on a flag or field that is present (value: its text, "true"
 * for a flag without one) or absent (present false, value ignored). want
 * is the item's value. A compare op on an absent value fails (kube-bench's
 * default `set: true`); an unknown op fails.
 */
bool check_op(const char *op, bool present, const char *value, const char *want);

/* Join item results: bin_op "or" passes when any does, anything else ("and") when all do. */
bool check_combine(const char *bin_op, const bool *res, size_t n);

#endif
