#include "diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int diags_vadd(struct diags *d, const char *file, unsigned line, unsigned col, const char *field,
	       const char *fmt, va_list ap)
{
	struct diag *v, *e;
	int n;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;

		v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	e = &d->v[d->n];
	memset(e, 0, sizeof(*e));
	e->file = strdup(file ? file : "<input>");
	e->field = field ? strdup(field) : NULL;
	n = vasprintf(&e->msg, fmt, ap);
	if (!e->file || n < 0 || (field && !e->field)) {
		free(e->file);
		free(e->field);
		if (n >= 0)
			free(e->msg);
		return -ENOMEM;
	}
	e->line = line;
	e->col = col;
	d->n++;
	return 0;
}

int diags_add(struct diags *d, const char *file, unsigned line, unsigned col,
	      const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = diags_vadd(d, file, line, col, NULL, fmt, ap);
	va_end(ap);
	return r;
}

int diags_add_field(struct diags *d, const char *file, unsigned line, unsigned col, const char *field,
		    const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = diags_vadd(d, file, line, col, field, fmt, ap);
	va_end(ap);
	return r;
}

char *diag_format(const struct diag *d)
{
	char *s;
	int n;

	if (d->line)
		n = asprintf(&s, "%s:%u:%u: %s", d->file, d->line, d->col, d->msg);
	else
		n = asprintf(&s, "%s: %s", d->file, d->msg);
	return n < 0 ? NULL : s;
}

void diags_free(struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].field);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}
