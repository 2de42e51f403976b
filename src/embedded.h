/* Built-in profiles and templates, generated at build time by tools/embed.c. */
#ifndef K3H_EMBEDDED_H
#define K3H_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name;   /* profiles: "cis"; templates: "psa.yaml" */
	const char *data;   /* NUL-terminated */
	size_t len;
};

extern const struct embedded_file embedded_profiles[];
extern const struct embedded_file embedded_templates[];

const struct embedded_file *embedded_find(const struct embedded_file *set,
					  const char *name);

#endif
