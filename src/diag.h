/*
 * Diagnostics collected while reading user input (profiles, templates), so a
 * command can report every problem at once as FILE:LINE:COL: message.
 */
#ifndef K3H_DIAG_H
#define K3H_DIAG_H

#include <stddef.h>

struct diag {
	char *file;
	unsigned line;          /* 1-based; 0 = no position */
	unsigned col;
	char *msg;
};

struct diags {
	struct diag *v;
	size_t n;
	size_t cap;
};

int diags_add(struct diags *d, const char *file, unsigned line, unsigned col,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* "FILE:LINE:COL: msg" (or "FILE: msg" without a position) into a new string. */
char *diag_format(const struct diag *d);
void diags_free(struct diags *d);

#endif
