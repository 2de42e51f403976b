/*
 * The command lines K3s will start its Kubernetes components with, emulated
 * from benchmarks/k3s-components.yaml (K3s's own default arguments per
 * version and datastore, top-level options mapped to component flags, the
 * kubelet config drop-ins) and the effective configuration (keff.h), merged
 * as pkg/util/args.go GetArgs does: `name=value` replaces K3s's default,
 * `name+=value` appends to it, `name-=value` prepends, a leading `--` is
 * optional, and the result is sorted by flag name.
 */
#ifndef K3H_COMPONENTS_H
#define K3H_COMPONENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "diag.h"
#include "keff.h"

enum comp_id { COMP_APISERVER, COMP_CONTROLLER_MANAGER, COMP_SCHEDULER, COMP_KUBELET,
	       COMP_PROXY, COMP_ETCD, COMP_N };

enum datastore { DS_SQLITE, DS_ETCD, DS_KINE, DS_EXTERNAL_ETCD };

struct comp_arg {
	char *name;             /* without "--" */
	char *value;
};

/* A flat settings map: "authentication/anonymous/enabled" -> "false"; lists comma-joined. */
struct comp_setting {
	char *path;
	char *value;
	char *source;           /* the file (or "flag --x", "K3s default") that set it */
};

struct comp_settings {
	struct comp_setting *v;
	size_t n, cap;
};

struct comp_line {
	const char *name;       /* "kube-apiserver", ... */
	bool runs;              /* started on this node with this configuration */
	const char *why_not;    /* static: why it does not run */
	struct comp_arg *args;  /* sorted by name; a name repeats for each value */
	size_t n, cap;
};

struct components {
	char version[32];       /* the K3s version emulated, "1.27" */
	int major, minor, patch;
	bool server;
	enum datastore ds;
	char *data_dir, *server_dir, *agent_dir;
	char *datastore_endpoint;
	struct comp_line line[COMP_N];
	struct comp_settings kubelet;   /* KubeletConfiguration as the kubelet ends up with it */
	struct comp_settings etcd;      /* the embedded etcd config file */
	struct diags refuse;            /* reasons K3s (or a component) would not start */
};

/*
 * Build the command lines for K3s version (any form k3s_version_cmp takes)
 * on a server or agent, from E and the files under root (kubelet drop-ins,
 * etcd data). 0, or -EINVAL with the reason in d when the component facts
 * cannot be read. Reasons K3s would refuse to start go to C->refuse.
 */
int components_build(struct components *C, const struct keff *E, const char *root,
		     const char *version, bool server, struct diags *d);
void components_free(struct components *C);

const char *comp_name(enum comp_id id);
const char *datastore_name(enum datastore ds);

/*
 * The value the component sees for flag: the last occurrence, or for flags
 * that accumulate (enable-admission-plugins, tls-cipher-suites, ...) every
 * occurrence comma-joined. NULL when the flag is not on the command line.
 * The returned string lives until the next call or components_free.
 */
const char *comp_flag(struct components *C, enum comp_id id, const char *flag);
/* How many times flag occurs on the command line. */
size_t comp_flag_count(const struct components *C, enum comp_id id, const char *flag);

/* A setting by "a/b/c" path, or NULL. */
const struct comp_setting *comp_setting(const struct comp_settings *s, const char *path);
/* The KubeletConfiguration field a kubelet flag sets ("anonymous-auth" -> "authentication/anonymous/enabled"), or NULL. */
const char *comp_kubelet_field(const char *flag);

/* Append the command lines and settings as a JSON object to b. */
void components_json(const struct components *C, struct buf *b);

/* The facts file as a tree, parsed once per process (the components' own copy), or NULL with d. */
const struct ynode *components_facts(struct diags *d);

#endif
