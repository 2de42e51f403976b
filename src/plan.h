/*
 * What apply would do: the rendered artifacts compared with the host under
 * --root, the K3s config merged into the user's file, stale files of ours
 * to remove, and the check that no later K3s config file overrides a
 * hardening value. diff prints it; apply carries it out.
 */
#ifndef K3H_PLAN_H
#define K3H_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "change.h"
#include "diag.h"
#include "profile.h"
#include "render.h"

/* A kernel parameter whose live value is not the one the sysctl file sets. */
struct sysctl_drift {
	char *key;
	char *live;                 /* NULL when the kernel has no such key */
	char *want;
};

struct plan {
	struct change *v;
	size_t n;
	enum profile_role role;
	char role_reason[640];      /* why that role (set by the engine) */
	struct sysctl_drift *drift; /* only when planned live */
	size_t n_drift;
};

struct plan_opts {
	const char *root;
	const char *templates_dir;
	enum profile_role role;     /* resolved */
	bool live;                  /* compare live kernel values too */
	const char *data_dir;       /* K3s's data-dir when moved, or NULL: the default */
};

/* Errors (exit 2) in errs, warnings in warns. */
int plan_build(const struct profile *p, const struct plan_opts *o, struct plan *out,
	       struct diags *errs, struct diags *warns);
void plan_free(struct plan *pl);
/* The change planned for path, or NULL. */
const struct change *plan_find(const struct plan *pl, const char *path);

struct keff;
/*
 * The K3s configuration (config_path, then its config.yaml.d drop-ins) as
 * K3s reads it, on the host now or, with after, once the plan is carried
 * out (the files it changes as it leaves them, a drop-in it creates
 * included), added to E. A file K3s could not read is an error (-errno).
 */
int plan_effective(const char *root, const char *config_path, const struct plan *pl, bool after,
		   struct keff *E);

/*
 * The value K3s ends up with for a top-level config key (plan_effective);
 * *value is NULL when no file sets it; free it.
 */
int plan_effective_value(const char *root, const char *config_path, const struct plan *pl,
			 bool after, const char *key, char **value);

/*
 * Whether every path of the plan is still as the plan read it (content,
 * mode, owner, existence): false when something changed it since.
 */
bool plan_still_current(const char *root, const struct plan *pl);

/* True when some change is not ACT_UNCHANGED, or a live kernel value drifted. */
bool plan_changes(const struct plan *pl);

#endif
