/*
 * What the profile wants in the K3s configuration: top-level settings and
 * `flag=value` entries of list options, each with the CIS controls it
 * serves. Rendering writes it; the config merger (diff/apply) edits the
 * user's file with it.
 */
#ifndef K3H_MODEL_H
#define K3H_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "profile.h"

struct cfg_setting {
	char *key;
	char *value;
	bool raw;               /* a boolean or number, written unquoted */
	char *controls;         /* "1.2.27, 1.2.28" or NULL */
};

struct cfg_arg {
	char *flag;
	char *value;
	char *controls;
	bool at_least;          /* a number the benchmark wants at least (audit-log-maxage=30 or
				 * more): a user's larger one stays as written (cfg_arg_holds) */
	char *drop;             /* enable-admission-plugins: taken out of the user's value too, or NULL */
	char *drop_own;         /* enable-admission-plugins: the plugins k3s-harden adds by itself that
				 * this profile does not enable: taken out of our own entry (one
				 * marked "# CIS"), so a downgrade keeps no plugin without its
				 * configuration; the user's own entry keeps them */
};

struct cfg_list {
	char *name;             /* kube-apiserver-arg, ... */
	struct cfg_arg *args;
	size_t n;
};

struct k3s_model {
	struct cfg_setting *settings;
	size_t n_settings;
	struct cfg_list *lists;
	size_t n_lists;
	const struct profile *p;        /* for control labels, while building */
	char *k3s_version;              /* the version hardened for, or NULL: the newest */
	const char *admission_configures;  /* the plugins our admission-control-config-file
					    * configures ("PodSecurity,EventRateLimit"), or NULL */
};

/*
 * Admission plugins kube-apiserver refuses to start without their own
 * configuration in the admission-control-config-file: the plugin and what
 * that configuration holds. NULL for any other plugin.
 */
const char *cfg_plugin_needs_config(const char *plugin);

/* role is the resolved role (server or agent). */
int k3s_model_build(const struct profile *p, enum profile_role role, struct k3s_model *m);
void k3s_model_free(struct k3s_model *m);

/*
 * Whether value (what follows `flag=` in an entry) gives K3s what a asks
 * for: the same string, or for an at-least flag a whole number (decimal, no
 * leading zero: kube-apiserver reads 010 as octal) not below ours.
 * enable-admission-plugins, a set of plugins, is the merge's to compare.
 */
bool cfg_arg_holds(const struct cfg_arg *a, const char *value);
/* s as such a number: decimal digits, no sign, no leading zero, at most 18. */
bool cfg_number(const char *s, unsigned long long *out);

/* Path of the audit log file: log_dir + "/" + log_file (caller frees). */
char *audit_log_path(const struct audit *a);
/*
 * The field of the profile's audit section that kube-apiserver flag FLAG
 * (leading dashes allowed) is written from: "audit.max_age" for
 * audit-log-maxage; NULL for a flag audit does not write.
 */
const char *audit_field_for_flag(const char *flag);

#endif
