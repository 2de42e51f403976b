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

#include "diag.h"
#include "profile.h"
#include "render.h"

enum change_action { ACT_UNCHANGED, ACT_CREATE, ACT_UPDATE, ACT_REMOVE };

struct change {
	char *path;                 /* host path (below --root) */
	enum art_kind kind;
	enum change_action action;
	bool content;               /* bytes differ */
	bool meta;                  /* mode or owner differ */
	bool needs_restart;
	bool sysctl;                /* the kernel parameter file */
	bool manifest;              /* in K3s's auto-deploy directory */
	char *old_data;             /* NULL when it does not exist */
	size_t old_len;
	mode_t old_mode;
	uid_t old_uid;
	gid_t old_gid;
	char *new_data;             /* NULL for removals and directories */
	size_t new_len;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

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
	struct sysctl_drift *drift; /* only when planned live */
	size_t n_drift;
};

struct plan_opts {
	const char *root;
	const char *templates_dir;
	enum profile_role role;     /* resolved */
	bool live;                  /* compare live kernel values too */
};

/* Errors (exit 2) in errs, warnings in warns. */
int plan_build(const struct profile *p, const struct plan_opts *o, struct plan *out,
	       struct diags *errs, struct diags *warns);
void plan_free(struct plan *pl);
/*
 * The plan that puts back generation id's files: each file as the
 * generation's backup holds it (or removed, when it did not exist), the
 * directories the generation created removed, directory modes restored.
 */
int plan_rollback(const char *root, const char *id, struct plan *out, struct diags *errs);

struct target;
/* The transaction's targets for every change that is not ACT_UNCHANGED. */
int plan_targets(const struct plan *pl, struct target **v, size_t *n);
void targets_free(struct target *v, size_t n);

/*
 * The value K3s ends up with for a top-level config key (the last one in
 * config.yaml, then the config.yaml.d drop-ins), on the host now or, with after,
 * once the plan is carried out. *value is NULL when no file sets it; free it.
 */
int plan_effective_value(const char *root, const char *config_path, const struct plan *pl,
			 bool after, const char *key, char **value);

/* True when some change is not ACT_UNCHANGED, or a live kernel value drifted. */
bool plan_changes(const struct plan *pl);

#endif
