/*
 * What is on the host under --root that decides how a profile applies: the
 * node's role (DESIGN.md fact 17) and K3s's data-dir (fact 15).
 */
#ifndef K3H_HOST_H
#define K3H_HOST_H

#include <stdbool.h>

#include "diag.h"
#include "profile.h"

/* How strong the evidence for a role is, weakest first. */
enum host_evidence {
	HOST_EV_NONE,           /* nothing to go by: server */
	HOST_EV_CONFIG,         /* the effective configuration's options */
	HOST_EV_UNIT_NAME,      /* only a unit's name (k3s-agent.service) */
	HOST_EV_ENV,            /* the install script's environment file (K3S_URL) */
	HOST_EV_UNIT,           /* a unit's ExecStart runs `k3s server` or `k3s agent` */
};

struct host_role {
	enum profile_role role;         /* ROLE_SERVER or ROLE_AGENT */
	enum host_evidence evidence;
	char why[512];                  /* "the unit k3s-agent.service runs `k3s agent` (...)" */
	char unit[128];                 /* the unit that said it (evidence from a unit), or "" */
};

/*
 * The role the host shows, strongest evidence first: the K3s unit that
 * exists and the command its ExecStart runs; else K3S_URL in the unit's
 * environment file (the install script's, e.g. k3s-agent.service.env);
 * else the unit's name; else the effective configuration: a server-only
 * option means a server (a joining HA server has tls-san, cluster-init,
 * disable, datastore-endpoint, etcd-* ...), `server:` without one an agent.
 * What the profile p itself writes (its settings, its list entries, its
 * drop-in file) is never evidence, so a second run decides as the first.
 * Unreadable configuration is an error in d (-EINVAL).
 */
int host_detect_role(const char *root, const struct profile *p, struct host_role *out,
		     struct diags *d);

/*
 * The role to harden: wanted (from --role or the profile's role:; ROLE_AUTO:
 * the detected one). A wanted role that contradicts a unit's ExecStart is an
 * error in d naming both and the way out (-EINVAL). *why says why the
 * role was chosen.
 */
int host_choose_role(const struct host_role *h, enum profile_role wanted, const char *wanted_from,
		     enum profile_role *role, char *why, size_t why_size, struct diags *d);

/*
 * On a host a unit shows to be an agent: the server files a k3s-harden run
 * left (an older version, or a run for a server): every psa.yaml,
 * audit.yaml and k3s-harden-* manifest (and the profile's pod_security.path
 * and audit.policy_path) that a generation under TXN_STATE_DIR/backups
 * created and that is still there, and a secrets-encryption line in a K3s
 * config file a generation wrote. One warning in w each, naming the
 * generation and how to remove it. Nothing is changed: an agent does not
 * read these files, and a file the tool did not create is never named.
 */
int host_server_leftovers(const char *root, const struct profile *p, struct diags *w);

/* K3s's default data-dir (for root; rootless K3s uses ~/.rancher/k3s). */
#define HOST_DEFAULT_DATA_DIR "/var/lib/rancher/k3s"

/*
 * PATH with K3s's default data dir moved to data_dir (NULL or the default:
 * unchanged), as a new string; a path elsewhere is copied as is. NULL when
 * out of memory.
 */
char *host_moved_path(const char *path, const char *data_dir);

/*
 * The effective data-dir (`data-dir:` or `d:` in config.yaml and its
 * drop-ins, the last one winning) into *dir (caller frees), or NULL when
 * unset or the default. A relative one is an error in d.
 */
int host_data_dir(const char *root, const struct profile *p, char **dir, struct diags *d);

/*
 * A view of p whose paths below the default data dir follow data_dir:
 * manifests_dir, pod_security.path, audit.policy_path and audit.log_dir
 * that are the built-in defaults (/var/lib/rancher/k3s/server/...) move to
 * the same place under data_dir. A path the profile sets to anything else
 * stays as set; one still under the default data dir gets a warning in w.
 * The view shares everything else with p (p must outlive it).
 */
struct host_view {
	struct profile p;
	struct pod_security ps;
	struct audit au;
	char *owned[4];
};
int host_view_init(struct host_view *v, const struct profile *p, const char *data_dir,
		   struct diags *w);
void host_view_free(struct host_view *v);

#endif
