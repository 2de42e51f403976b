/*
 * Top-level keys K3s accepts in /etc/rancher/k3s/config.yaml (and the
 * config.yaml.d drop-ins): the urfave/cli (v1) flag names of `k3s server`
 * and `k3s agent`, long names and the one-letter aliases from "name,x".
 *
 * Read from k3s-io/k3s, urfave/cli v1 era, about v1.30.x/v1.31.0 (mid 2024).
 * The source index gave file texts without commit ids, so no exact tag is
 * known; the version is inferred from which flags are present:
 *   pkg/cli/cmds/server.go  ServerFlags: has etcd-s3-proxy,
 *     etcd-s3-config-secret, etcd-s3-insecure, etcd-s3-timeout,
 *     supervisor-metrics, embedded-registry; lacks
 *     secrets-encryption-provider and nonroot-devices
 *   pkg/cli/cmds/agent.go   NewAgentCommand flags and the shared *Flag vars
 *   pkg/cli/cmds/log.go     v, vmodule, log/l, alsologtostderr
 *   pkg/cli/cmds/config.go  config/c
 *   pkg/cli/cmds/root.go    debug, prefer-bundled-bin
 *   pkg/configfilearg/parser.go, defaultparser.go (commit f646604010af):
 *     how keys turn into flags
 * Hidden and deprecated flags are included, because K3s accepts them.
 *
 * list: a cli.StringSliceFlag. A YAML list on such a key becomes one flag
 * per item, and `key+:` appends to what earlier files set. Other flags keep
 * only the last value.
 *
 * Callers remove a trailing '+' before the lookup. Names are case
 * sensitive. The table must stay sorted in strcmp order for bsearch.
 */
#include "k3s_keys.h"

#include <stdlib.h>
#include <string.h>

#define SRV K3S_KEY_SERVER
#define AGT K3S_KEY_AGENT
#define BOTH (K3S_KEY_SERVER | K3S_KEY_AGENT)
#define ALIAS K3S_KEY_ALIAS

static const struct k3s_key k3s_keys[] = {
	{ "advertise-address", SRV, false },
	{ "advertise-port", SRV, false },
	{ "agent-token", SRV, false },
	{ "agent-token-file", SRV, false },
	{ "airgap-extra-registry", BOTH, true },
	{ "alsologtostderr", BOTH, false },
	{ "bind-address", BOTH, false },
	{ "c", BOTH, false },
	{ "cluster-cidr", SRV, true },
	{ "cluster-dns", SRV, true },
	{ "cluster-domain", SRV, false },
	{ "cluster-init", SRV, false },
	{ "cluster-reset", SRV, false },
	{ "cluster-reset-restore-path", SRV, false },
	{ "config", BOTH, false },
	{ "container-runtime-endpoint", BOTH, false },
	{ "d", BOTH, false },
	{ "data-dir", BOTH, false },
	{ "datastore-cafile", SRV, false },
	{ "datastore-certfile", SRV, false },
	{ "datastore-endpoint", SRV, false },
	{ "datastore-keyfile", SRV, false },
	{ "debug", BOTH, false },
	{ "default-local-storage-path", SRV, false },
	{ "default-runtime", BOTH, false },
	{ "disable", SRV, true },
	{ "disable-agent", SRV, false },
	{ "disable-apiserver", SRV, false },
	{ "disable-apiserver-lb", AGT, false },
	{ "disable-cloud-controller", SRV, false },
	{ "disable-controller-manager", SRV, false },
	{ "disable-default-registry-endpoint", BOTH, false },
	{ "disable-etcd", SRV, false },
	{ "disable-helm-controller", SRV, false },
	{ "disable-kube-proxy", SRV, false },
	{ "disable-network-policy", SRV, false },
	{ "disable-scheduler", SRV, false },
	{ "docker", BOTH, false },
	{ "egress-selector-mode", SRV, false },
	{ "embedded-registry", SRV, false },
	{ "enable-pprof", BOTH, false },
	{ "etcd-arg", SRV, true },
	{ "etcd-disable-snapshots", SRV, false },
	{ "etcd-expose-metrics", SRV, false },
	{ "etcd-s3", SRV, false },
	{ "etcd-s3-access-key", SRV, false },
	{ "etcd-s3-bucket", SRV, false },
	{ "etcd-s3-config-secret", SRV, false },
	{ "etcd-s3-endpoint", SRV, false },
	{ "etcd-s3-endpoint-ca", SRV, false },
	{ "etcd-s3-folder", SRV, false },
	{ "etcd-s3-insecure", SRV, false },
	{ "etcd-s3-proxy", SRV, false },
	{ "etcd-s3-region", SRV, false },
	{ "etcd-s3-secret-key", SRV, false },
	{ "etcd-s3-skip-ssl-verify", SRV, false },
	{ "etcd-s3-timeout", SRV, false },
	{ "etcd-snapshot-compress", SRV, false },
	{ "etcd-snapshot-dir", SRV, false },
	{ "etcd-snapshot-name", SRV, false },
	{ "etcd-snapshot-retention", SRV, false },
	{ "etcd-snapshot-schedule-cron", SRV, false },
	{ "flannel-backend", SRV, false },
	{ "flannel-cni-conf", BOTH, false },
	{ "flannel-conf", BOTH, false },
	{ "flannel-external-ip", SRV, false },
	{ "flannel-iface", BOTH, false },
	{ "flannel-ipv6-masq", SRV, false },
	{ "helm-job-image", SRV, false },
	{ "https-listen-port", SRV, false },
	{ "i", BOTH, true },
	{ "image-credential-provider-bin-dir", BOTH, false },
	{ "image-credential-provider-config", BOTH, false },
	{ "image-service-endpoint", BOTH, false },
	{ "kine-tls", SRV, false },
	{ "kube-apiserver-arg", SRV, true },
	{ "kube-cloud-controller-arg", SRV | ALIAS, true },
	{ "kube-cloud-controller-manager-arg", SRV, true },
	{ "kube-controller-arg", SRV | ALIAS, true },
	{ "kube-controller-manager-arg", SRV, true },
	{ "kube-proxy-arg", BOTH, true },
	{ "kube-scheduler-arg", SRV, true },
	{ "kubelet-arg", BOTH, true },
	{ "l", BOTH, false },
	{ "lb-server-port", BOTH, false },
	{ "log", BOTH, false },
	{ "node-external-dns", BOTH, true },
	{ "node-external-ip", BOTH, true },
	{ "node-internal-dns", BOTH, true },
	{ "node-ip", BOTH, true },
	{ "node-label", BOTH, true },
	{ "node-name", BOTH, false },
	{ "node-taint", BOTH, true },
	{ "o", SRV, false },
	{ "pause-image", BOTH, false },
	{ "prefer-bundled-bin", BOTH, false },
	{ "private-registry", BOTH, false },
	{ "protect-kernel-defaults", BOTH, false },
	{ "resolv-conf", BOTH, false },
	{ "rootless", BOTH, false },
	{ "s", BOTH, false },
	{ "secrets-encryption", SRV | K3S_KEY_KEEP, false },
	{ "selinux", BOTH, false },
	{ "server", BOTH, false },
	{ "service-cidr", SRV, true },
	{ "service-node-port-range", SRV, false },
	{ "servicelb-namespace", SRV, false },
	{ "snapshotter", BOTH, false },
	{ "supervisor-metrics", SRV, false },
	{ "system-default-registry", SRV, false },
	{ "t", BOTH, false },
	{ "tls-san", SRV, true },
	{ "tls-san-security", SRV, false },
	{ "token", BOTH, false },
	{ "token-file", BOTH, false },
	{ "v", BOTH, false },
	{ "vmodule", BOTH, false },
	{ "vpn-auth", BOTH, false },
	{ "vpn-auth-file", BOTH, false },
	{ "with-node-id", BOTH, false },
	{ "write-kubeconfig", SRV, false },
	{ "write-kubeconfig-group", SRV, false },
	{ "write-kubeconfig-mode", SRV, false },
};

#undef SRV
#undef AGT
#undef BOTH
#undef ALIAS

static int k3s_key_cmp(const void *key, const void *elem)
{
	const struct k3s_key *k = elem;

	return strcmp(key, k->name);
}

const struct k3s_key *k3s_key_find(const char *name)
{
	if (!name)
		return NULL;
	return bsearch(name, k3s_keys, sizeof(k3s_keys) / sizeof(k3s_keys[0]),
		       sizeof(k3s_keys[0]), k3s_key_cmp);
}

bool k3s_key_agent(const char *name)
{
	const struct k3s_key *k = k3s_key_find(name);

	return k && (k->roles & K3S_KEY_AGENT);
}

bool k3s_key_keep(const char *name)
{
	const struct k3s_key *k = k3s_key_find(name);

	return k && (k->roles & K3S_KEY_KEEP);
}

bool k3s_key_arg_list(const char *name, bool *agent)
{
	const struct k3s_key *k = k3s_key_find(name);
	size_t n = name ? strlen(name) : 0;

	if (!k || !k->list || (k->roles & K3S_KEY_ALIAS) || n < 5 || strcmp(name + n - 4, "-arg") != 0)
		return false;
	if (agent)
		*agent = (k->roles & K3S_KEY_AGENT) != 0;
	return true;
}
