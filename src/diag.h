/*
 * Diagnostics collected while reading user input (profiles, templates), so a
 * command can report every problem at once as FILE:LINE:COL: message.
 */
#ifndef K3H_DIAG_H
#define K3H_DIAG_H

#include <stdarg.h>
#include <stddef.h>

struct diag {
	char *file;
	unsigned line;          /* 1-based; 0 = no position */
	unsigned col;
	char *field;            /* the profile field it is about ("audit.max_age"), or NULL */
	char *msg;
};

struct diags {
	struct diag *v;
	size_t n;
	size_t cap;
};

int diags_add(struct diags *d, const char *file, unsigned line, unsigned col,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* diags_add for a diagnostic about a named field or key (a profile field
 * "audit.max_age", a K3s option "kube-apiserver-arg", "role", "data-dir"):
 * the field goes into --output json's diagnostics. */
int diags_add_field(struct diags *d, const char *file, unsigned line, unsigned col, const char *field,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The one home of "format a message and add it": field may be NULL. */
int diags_vadd(struct diags *d, const char *file, unsigned line, unsigned col, const char *field,
	       const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
/* "FILE:LINE:COL: msg" (or "FILE: msg" without a position) into a new string. */
char *diag_format(const struct diag *d);
void diags_free(struct diags *d);

#endif
