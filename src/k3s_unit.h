/*
 * The K3s systemd units on the host under root: which exist, what their
 * ExecStart runs (binary, `server` or `agent`, its options) and the
 * environment files they read (the install script writes K3S_URL, K3S_TOKEN
 * there). The evidence for the role (DESIGN.md fact 17) and the binary to
 * ask for the K3s version.
 */
#ifndef K3H_K3S_UNIT_H
#define K3H_K3S_UNIT_H

#include <stddef.h>

struct k3s_unit {
	char *name;             /* k3s.service, k3s-agent.service, k3s-NAME.service */
	char *path;             /* the unit file below root, e.g. /etc/systemd/system/k3s.service */
	char **argv;            /* ExecStart split as systemd splits it (prefixes - @ : + ! stripped) */
	size_t argc;
	const char *binary;     /* argv[0], or NULL without ExecStart */
	const char *command;    /* the first word after the binary not starting with '-': "server", "agent", or NULL */
	char **env_files;       /* EnvironmentFile= paths, a leading '-' stripped */
	size_t n_env_files;
	unsigned line;          /* line of ExecStart= in exec_path, or 0 */
	char *exec_path;        /* the file that set ExecStart=: the unit or a drop-in, or NULL */
};

/*
 * The K3s units under root, from systemd's unit directories in precedence
 * order (/etc/systemd/system first; a name found twice counts once):
 * k3s.service, k3s-agent.service and the k3s-*.service the install script
 * writes for INSTALL_K3S_NAME. Units that are symlinks to /dev/null
 * (masked) are skipped. 0 with *n = 0 when there is none; -errno on a
 * read error.
 */
int k3s_units_find(const char *root, struct k3s_unit **units, size_t *n);
void k3s_units_free(struct k3s_unit *units, size_t n);

/*
 * The value of key in an environment file (KEY=VALUE lines, # comments,
 * optional quotes) below root: 0 with *value (caller frees), -ENOENT when
 * the file or key is missing, -errno on error.
 */
int k3s_env_get(const char *root, const char *path, const char *key, char **value);

#endif
