/* Built-in profiles, templates and benchmark tables, generated at build time by tools/embed.c. */
#ifndef K3H_EMBEDDED_H
#define K3H_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name;   /* profiles: "cis"; templates: "psa.yaml"; benchmarks: "k3s-cis-1.9" */
	const char *data;   /* NUL-terminated */
	size_t len;
};

extern const struct embedded_file embedded_profiles[];
extern const struct embedded_file embedded_templates[];
/* benchmarks/k3s-cis-*.yaml and k3s-components.yaml, names without .yaml */
extern const struct embedded_file embedded_benchmarks[];

const struct embedded_file *embedded_find(const struct embedded_file *set,
					  const char *name);

#endif
