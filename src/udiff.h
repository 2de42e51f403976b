/* Unified diffs of two in-memory texts, formatted like `diff -u`. */
#ifndef K3H_UDIFF_H
#define K3H_UDIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Append to out a unified diff of a -> b with `context` lines of context,
 * formatted exactly as `diff -u` prints hunks: "@@ -l,s +l,s @@" (",s"
 * left out when s is 1; an empty range gives the line before it and ",0"),
 * " "/"-"/"+" prefixed lines, and "\ No newline at end of file" after a
 * line that lacks '\n'. label_a/label_b go on the "--- " and "+++ " lines
 * verbatim (e.g. "a/etc/x" or "/dev/null"; no timestamps); a label holding
 * '\n' is refused with -EINVAL.
 *
 * The edit script is minimal (Myers' O(ND) algorithm, linear space). Only
 * when a part of the input needs more than several thousand edits does a
 * cost cap take over, as in GNU diff; the result is then still a valid,
 * possibly longer, diff. Where several minimal scripts exist, runs of
 * changes are slid the way GNU diff slides them.
 *
 * When a and b are equal nothing is appended and *changed is false.
 * a/b may be NULL when their length is 0. Returns 0 or -errno (-ENOMEM,
 * -EINVAL); on failure out keeps its old length and *changed is untouched. */
int udiff(const char *a, size_t alen, const char *b, size_t blen,
	  const char *label_a, const char *label_b, unsigned context,
	  struct buf *out, bool *changed);

struct udiff_stats {
	size_t added;   /* '+' lines */
	size_t removed; /* '-' lines */
	size_t hunks;   /* hunks udiff() prints with 3 lines of context */
};

/* Count what udiff() would print for a -> b. Returns 0 or -errno; *st is
 * written only on success. */
int udiff_stats(const char *a, size_t alen, const char *b, size_t blen,
		struct udiff_stats *st);

#endif
