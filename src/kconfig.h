/*
 * The K3s configuration as K3s reads it: config.yaml, then config.yaml.d/
 * *.yaml and *.yml in lexical order, the last value of a key winning and
 * `key+:` appending. Two jobs:
 *  - merge the profile's settings into the user's config.yaml, changing only
 *    the bytes of the keys and list entries we manage (comments, order and
 *    quoting elsewhere stay as they were);
 *  - compute the effective configuration and refuse a result in which a
 *    later file silently overrides a hardening value.
 */
#ifndef K3H_KCONFIG_H
#define K3H_KCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "diag.h"
#include "model.h"

/*
 * Merge model m into the config text old[0..len) (label names it in
 * messages). When the file does not exist or holds nothing but comments
 * and blanks, fresh (the rendered config) is the result. Errors (invalid
 * YAML, not a mapping) go to d; what the merge does to the user's own
 * entries (an admission plugin taken out, a value raised) to w, which may
 * be NULL. Returns 0 or -EINVAL / -ENOMEM.
 */
int kconfig_merge(const char *label, const char *old, size_t len, bool exists,
		  const struct k3s_model *m, const char *fresh, size_t fresh_len,
		  struct buf *out, struct diags *d, struct diags *w);

/* One edit of a merge: old[start..end) became new_len bytes of out. */
struct kconfig_span {
	size_t start, end;
	size_t new_len;
};

/*
 * kconfig_merge that also reports its edits in order (for the merge's fuzz
 * target, which checks that every byte outside them is the user's). *spans
 * is set on success only; the caller frees it. A file with no mapping
 * (comments only) reports one insertion at its end.
 */
int kconfig_merge_spans(const char *label, const char *old, size_t len, bool exists,
			const struct k3s_model *m, const char *fresh, size_t fresh_len,
			struct buf *out, struct kconfig_span **spans, size_t *n_spans,
			struct diags *d, struct diags *w);

/*
 * Whether t[0, len) is exactly the comment k3s-harden marks its own lines
 * with: "# CIS " and control IDs joined by ", " ("# CIS 1.2.9, 1.2.14"),
 * nothing after. Our marked entries and settings that a later profile no
 * longer sets are removed by the merge; anything else stays the user's.
 */
bool kconfig_is_mark(const char *t, size_t len);

/* One configuration file, in the order K3s reads them. */
struct kconfig_file {
	const char *label;      /* path shown in messages */
	const char *data;
	size_t len;
	bool ours;              /* the file k3s-harden writes */
};

/*
 * Check that every value of m is what K3s ends up with after reading
 * files[0..n). Overrides are errors in d, unknown keys warnings in w.
 * Returns 0, or -EINVAL when d got an error.
 */
int kconfig_check_effective(const struct kconfig_file *files, size_t n,
			    const struct k3s_model *m, struct diags *d,
			    struct diags *w);

#endif
