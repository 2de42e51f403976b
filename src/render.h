/*
 * Turn a profile into the list of artifacts the CIS guide asks for: each a
 * file (or a directory) with its host path, bytes, mode and whether a change
 * to it needs a K3s restart. Every YAML artifact is parsed back before it
 * is returned.
 */
#ifndef K3H_RENDER_H
#define K3H_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "change.h"
#include "diag.h"
#include "profile.h"

struct k3s_model;

enum art_format { FMT_YAML, FMT_CONF, FMT_NONE };

struct artifact {
	char *path;             /* absolute host path, below --root */
	char *tmpl;             /* template name, NULL for directories */
	enum art_kind kind;
	enum art_format fmt;
	mode_t mode;
	bool needs_restart;     /* K3s reads it at start */
	char *data;
	size_t len;
};

struct artifacts {
	struct artifact *v;
	size_t n;
	size_t cap;
};

struct render_opts {
	const char *templates_dir;   /* overrides, or NULL */
	enum profile_role role;      /* resolved: server or agent */
};

/*
 * Render every artifact. Template errors (syntax, refused values, invalid
 * YAML) go to d as TEMPLATE:LINE:COL: message and -EINVAL is returned.
 */
int render_profile(const struct profile *p, const struct render_opts *o,
		   struct artifacts *out, struct diags *d);
/* The same with the K3s model the caller built for o->role (a plan builds one for render and merge). */
int render_profile_model(const struct profile *p, const struct render_opts *o,
			 const struct k3s_model *model, struct artifacts *out, struct diags *d);
void artifacts_free(struct artifacts *a);

#endif
