#!/usr/bin/env python3
"""Write benchmarks/k3s-cis-*.yaml from kube-bench style benchmark definitions.

usage: tools/bench-import.py KB_CFG SS_CFG OUTDIR

KB_CFG is a checkout's aquasecurity/kube-bench cfg/ directory, SS_CFG a
rancher/security-scan package/cfg/ directory. Neither is part of this
repository; the generated files are. Only the structured facts are taken
(IDs, titles, scored, type, test operators and values); audit scripts and
remediation text are not. The stable keys, the remedy class and the notes are
this project's own and live in the tables below.
"""

import os
import re
import sys

import yaml

# name, source tree, directory, title, k3s_min, k3s_max, source of the range
BENCHMARKS = [
    ("k3s-cis-1.6", "kb", "cis-1.6-k3s",
     "CIS Kubernetes Benchmark v1.6 for K3s (self-assessment guide)",
     "1.17", "1.21", "rancher/docs scripts/converters/headers/header-k3s.md"),
    ("k3s-cis-1.23", "kb", "k3s-cis-1.23",
     "CIS Kubernetes Benchmark v1.23 for K3s (self-assessment guide)",
     "1.22", "1.24", "k3s-io/docs docs/security/self-assessment-1.23.md"),
    ("k3s-cis-1.24", "kb", "k3s-cis-1.24",
     "CIS Kubernetes Benchmark v1.24 for K3s (self-assessment guide)",
     "1.24", "1.24", "k3s-io/docs docs/security/self-assessment-1.24.md"),
    ("k3s-cis-1.7", "kb", "k3s-cis-1.7",
     "CIS Kubernetes Benchmark v1.7.1 for K3s (self-assessment guide)",
     "1.25", "1.25", "k3s-io/docs docs/security/self-assessment-1.7.md"),
    ("k3s-cis-1.8", "kb", "k3s-cis-1.8",
     "CIS Kubernetes Benchmark v1.8 for K3s (self-assessment guide)",
     "1.26", "1.29", "k3s-io/docs docs/security/self-assessment-1.8.md"),
    ("k3s-cis-1.9", "kb", "k3s-cis-1.9",
     "CIS Kubernetes Benchmark v1.9 for K3s (self-assessment guide)",
     "1.27", "1.27", "k3s-io/docs docs/security/self-assessment-1.9.md"),
    ("k3s-cis-1.10", "ss", "k3s-cis-1.10",
     "CIS Kubernetes Benchmark v1.10 for K3s (self-assessment guide)",
     "1.28", "1.33", "k3s-io/docs docs/security/self-assessment-1.10.md"),
    ("k3s-cis-1.11", "ss", "k3s-cis-1.11",
     "CIS Kubernetes Benchmark v1.11 for K3s (self-assessment guide)",
     "1.29", "1.32", "k3s-io/docs docs/security/self-assessment-1.11.md"),
    ("k3s-cis-1.12", "ss", "k3s-cis-1.12",
     "CIS Kubernetes Benchmark v1.12 for K3s (self-assessment guide)",
     "1.32", "1.36", "k3s-io/docs docs/security/self-assessment-1.12.md"),
]

# Benchmarks with a K3s self-assessment but no kube-bench/security-scan
# definition: the base benchmark's controls (and their kube-bench tests), with
# the IDs, titles and Automated/Manual status the self-assessment lists, and
# its added controls. name, title, k3s_min, k3s_max, range source, base,
# changes {id: {title, assessment, value (first test item), new: (section,
# skip)}}, note for every control
DERIVED = [
    ("k3s-cis-2.0", "CIS Kubernetes Benchmark v2.0 for K3s (self-assessment guide)",
     "1.34", "1.37", "k3s-io/docs docs/security/self-assessment-2.0.md", "k3s-cis-1.12",
     {}, "2.0 lists the same IDs, titles and statuses as k3s-cis-1.12 (section 3 is not in its document)"),
    ("k3s-cis-2.1", "CIS Kubernetes Benchmark v2.1 for K3s (self-assessment guide)",
     "1.36", "1.37", "k3s-io/docs docs/security/self-assessment-2.1.md", "k3s-cis-1.12",
     {
         "1.1.9": {"assessment": "manual"},
         "1.1.10": {"assessment": "manual"},
         "1.1.11": {"assessment": "automated"},
         "1.1.13": {"title": "Ensure that the default administrative credential file permissions are set to 600"},
         "1.1.14": {"title": "Ensure that the default administrative credential file ownership is set to root:root"},
         "1.1.20": {"assessment": "manual"},
         "1.1.21": {"assessment": "manual"},
         "1.2.1": {"title": "Ensure that anonymous requests to the API server are restricted", "assessment": "manual"},
         "1.2.3": {"title": "Ensure that the DenyServiceExternalIPs is set"},
         "1.2.16": {"assessment": "automated"},
         "1.2.17": {"assessment": "automated"},
         "1.2.18": {"assessment": "automated"},
         "1.2.19": {"assessment": "automated"},
         "1.2.29": {"assessment": "manual"},
         "2.1": {"assessment": "automated"},
         "2.2": {"assessment": "automated"},
         "2.3": {"assessment": "automated"},
         "2.4": {"assessment": "automated"},
         "2.5": {"assessment": "automated"},
         "2.6": {"assessment": "automated"},
         "4.1.3": {"assessment": "manual"},
         "4.1.4": {"assessment": "manual"},
         "4.1.7": {"title": "Ensure that the certificate authorities file permissions are set to 644 or more restrictive",
                   "assessment": "manual", "value": "644"},
         "4.1.8": {"assessment": "manual"},
         "4.1.9": {"title": "If the kubelet config.yaml configuration file is being used validate permissions set to 600 or more restrictive"},
         "4.1.10": {"title": "If the kubelet config.yaml configuration file is being used validate file ownership is set to root:root"},
         "4.1.11": {"title": "Ensure that the kubelet drop-in configuration directory and files have restrictive permissions",
                    "assessment": "automated", "new": ("node", True)},
         "4.2.4": {"title": "Verify that if defined, readOnlyPort is set to 0", "assessment": "manual"},
         "4.2.7": {"assessment": "manual"},
         "4.2.9": {"assessment": "manual"},
         "4.2.11": {"assessment": "manual"},
         "4.3.1": {"assessment": "manual"},
         "5.1.14": {"title": "Ensure that access to the Kubelet API uses fine-grained subresources instead of nodes/proxy where possible",
                    "assessment": "manual", "new": ("policies", False)},
         "5.2.10": {"title": "Minimize the admission of Windows HostProcess Containers"},
         "5.2.13": {"title": "Minimize the admission of containers which have unmasked procmounts",
                    "assessment": "manual", "new": ("policies", False)},
         "5.3.1": {"title": "Ensure that the CNI in use supports Network Policies"},
         "5.3.2": {"title": "Ensure that all Namespaces have Network Policies defined"},
         "5.4.1": {"title": "Prefer using secrets as files over secrets as environment variables"},
         "5.6.2": {"title": "Ensure that the seccomp profile is set to docker/default in your pod definitions"},
         "5.6.3": {"title": "Apply Security Context to Your Pods and Containers"},
     }, None),
]

# kube-bench's K3s 1.23-1.8 files are the permissive profiles; rancher/
# security-scan ships the hardened ones. A check that only the permissive
# profile skips is something a hardened host does, not "not applicable".
HARDENED = {
    "k3s-cis-1.23": "k3s-cis-1.23-hardened",
    "k3s-cis-1.24": "k3s-cis-1.24-hardened",
    "k3s-cis-1.7": "k3s-cis-1.7-hardened",
    "k3s-cis-1.8": "k3s-cis-1.8-hardened",
}

SOURCE_REPO = {
    "kb": "aquasecurity/kube-bench cfg/",
    "ss": "rancher/security-scan package/cfg/",
}

SECTIONS = ["master", "etcd", "controlplane", "node", "policies"]

# Stable keys. Each rule: (key, group prefixes, title regex). The group
# prefix keeps apart controls whose titles repeat across components
# (--profiling in 1.2, 1.3 and 1.4; --authorization-mode in 1.2 and 4.2).
RULES = [
    # 1.1 control plane files
    ("file.apiserver_pod_spec_mode", "1.1", r"API server pod specification file permissions"),
    ("file.apiserver_pod_spec_owner", "1.1", r"API server pod specification file ownership"),
    ("file.controller_manager_pod_spec_mode", "1.1", r"controller manager pod specification file permissions"),
    ("file.controller_manager_pod_spec_owner", "1.1", r"controller manager pod specification file ownership"),
    ("file.scheduler_pod_spec_mode", "1.1", r"scheduler pod specification file permissions"),
    ("file.scheduler_pod_spec_owner", "1.1", r"scheduler pod specification file ownership"),
    ("file.etcd_pod_spec_mode", "1.1", r"etcd pod specification file permissions"),
    ("file.etcd_pod_spec_owner", "1.1", r"etcd pod specification file ownership"),
    ("file.cni_mode", "1.1", r"Container Network Interface file permissions"),
    ("file.cni_owner", "1.1", r"Container Network Interface file ownership"),
    ("file.etcd_data_dir_mode", "1.1", r"etcd data directory permissions"),
    ("file.etcd_data_dir_owner", "1.1", r"etcd data directory ownership"),
    ("file.admin_kubeconfig_mode", "1.1", r"(admin\.conf|admin\.kubeconfig|default administrative credential) file permissions"),
    ("file.admin_kubeconfig_owner", "1.1", r"(admin\.conf|admin\.kubeconfig|default administrative credential) file ownership"),
    ("file.scheduler_kubeconfig_mode", "1.1", r"scheduler\.(conf|kubeconfig) file permissions"),
    ("file.scheduler_kubeconfig_owner", "1.1", r"scheduler\.(conf|kubeconfig) file ownership"),
    ("file.controller_manager_kubeconfig_mode", "1.1", r"(controller-manager\.conf|cloud-controller\.kubeconfig) file permissions"),
    ("file.controller_manager_kubeconfig_owner", "1.1", r"(controller-manager\.conf|\$controllermanagerkubeconfig) file ownership"),
    ("file.pki_owner", "1.1", r"PKI directory and file ownership"),
    ("file.pki_cert_mode", "1.1", r"PKI certificate file permissions"),
    ("file.pki_key_mode", "1.1", r"PKI key file permissions"),
    # 1.2 API server
    ("apiserver.anonymous_auth", "1.2", r"--anonymous-auth argument|anonymous requests to the API server"),
    ("apiserver.basic_auth_file", "1.2", r"--basic-auth-file"),
    ("apiserver.token_auth_file", "1.2", r"--token-auth-file"),
    ("apiserver.deny_service_external_ips", "1.2", r"DenyServiceExternalIPs"),
    ("apiserver.kubelet_https", "1.2", r"--kubelet-https"),
    ("apiserver.kubelet_client_cert", "1.2", r"--kubelet-client-certificate and --kubelet-client-key"),
    ("apiserver.kubelet_certificate_authority", "1.2", r"--kubelet-certificate-authority"),
    ("apiserver.authorization_mode_not_always_allow", "1.2", r"--authorization-mode argument is not set to AlwaysAllow"),
    ("apiserver.authorization_mode_node", "1.2", r"--authorization-mode argument includes Node"),
    ("apiserver.authorization_mode_rbac", "1.2", r"--authorization-mode argument includes RBAC"),
    ("apiserver.admission_event_rate_limit", "1.2", r"plugin EventRateLimit"),
    ("apiserver.admission_always_admit", "1.2", r"plugin AlwaysAdmit"),
    ("apiserver.admission_always_pull_images", "1.2", r"plugin AlwaysPullImages"),
    ("apiserver.admission_security_context_deny", "1.2", r"plugin SecurityContextDeny"),
    ("apiserver.admission_service_account", "1.2", r"plugin ServiceAccount"),
    ("apiserver.admission_namespace_lifecycle", "1.2", r"plugin NamespaceLifecycle"),
    ("apiserver.admission_pod_security_policy", "1.2", r"plugin PodSecurityPolicy is set$"),
    ("apiserver.admission_node_restriction", "1.2", r"plugin NodeRestriction"),
    ("apiserver.insecure_bind_address", "1.2", r"--insecure-bind-address"),
    ("apiserver.insecure_port", "1.2", r"--insecure-port"),
    ("apiserver.secure_port", "1.2", r"--secure-port"),
    ("apiserver.profiling", "1.2", r"--profiling"),
    ("apiserver.audit_log_path", "1.2", r"--audit-log-path"),
    ("apiserver.audit_log_maxage", "1.2", r"--audit-log-maxage"),
    ("apiserver.audit_log_maxbackup", "1.2", r"--audit-log-maxbackup"),
    ("apiserver.audit_log_maxsize", "1.2", r"--audit-log-maxsize"),
    ("apiserver.request_timeout", "1.2", r"--request-timeout"),
    ("apiserver.service_account_lookup", "1.2", r"--service-account-lookup"),
    ("apiserver.service_account_key_file", "1.2", r"--service-account-key-file"),
    ("apiserver.etcd_client_cert", "1.2", r"--etcd-certfile and --etcd-keyfile"),
    ("apiserver.tls_cert", "1.2", r"--tls-cert-file and --tls-private-key-file"),
    ("apiserver.client_ca_file", "1.2", r"--client-ca-file"),
    ("apiserver.etcd_cafile", "1.2", r"--etcd-cafile"),
    ("apiserver.encryption_provider_config", "1.2", r"--encryption-provider-config"),
    ("apiserver.encryption_providers", "1.2", r"encryption providers are appropriately configured"),
    ("apiserver.tls_cipher_suites", "1.2", r"Strong Cryptographic Ciphers"),
    ("apiserver.service_account_extend_token_expiration", "1.2", r"--service-account-extend-token-expiration"),
    # 1.3 controller manager
    ("controller_manager.terminated_pod_gc_threshold", "1.3", r"--terminated-pod-gc-threshold"),
    ("controller_manager.profiling", "1.3", r"--profiling"),
    ("controller_manager.use_service_account_credentials", "1.3", r"--use-service-account-credentials"),
    ("controller_manager.service_account_private_key_file", "1.3", r"--service-account-private-key-file"),
    ("controller_manager.root_ca_file", "1.3", r"--root-ca-file"),
    ("controller_manager.rotate_kubelet_server_certificate", "1.3", r"RotateKubeletServerCertificate"),
    ("controller_manager.bind_address", "1.3", r"--bind-address"),
    # 1.4 scheduler
    ("scheduler.profiling", "1.4", r"--profiling"),
    ("scheduler.bind_address", "1.4", r"--bind-address"),
    # 2 etcd
    ("etcd.client_cert", "2", r"--cert-file and --key-file"),
    ("etcd.client_cert_auth", "2", r"--client-cert-auth"),
    ("etcd.auto_tls", "2", r"--auto-tls"),
    ("etcd.peer_cert", "2", r"--peer-cert-file and --peer-key-file"),
    ("etcd.peer_client_cert_auth", "2", r"--peer-client-cert-auth"),
    ("etcd.peer_auto_tls", "2", r"--peer-auto-tls"),
    ("etcd.unique_ca", "2", r"unique Certificate Authority"),
    # 3 control plane configuration
    ("auth.client_cert_users", "3.1", r"Client certificate authentication"),
    ("auth.service_account_token_users", "3.1", r"Service account token authentication"),
    ("auth.bootstrap_token_users", "3.1", r"Bootstrap token authentication"),
    ("audit.policy_file", "3.2", r"minimal audit policy"),
    ("audit.policy_coverage", "3.2", r"audit policy covers key security concerns"),
    # 4.1 worker node files
    ("file.kubelet_service_mode", "4.1", r"kubelet service file permissions"),
    ("file.kubelet_service_owner", "4.1", r"kubelet service file ownership"),
    ("file.proxy_kubeconfig_mode", "4.1", r"proxy (kubeproxy\.)?kubeconfig file exists ensure permissions"),
    ("file.proxy_kubeconfig_owner", "4.1", r"proxy (kubeproxy\.)?kubeconfig file (exists ensure )?ownership"),
    ("file.kubelet_kubeconfig_mode", "4.1", r"--kubeconfig kubelet\.conf file permissions"),
    ("file.kubelet_kubeconfig_owner", "4.1", r"--kubeconfig kubelet\.conf file ownership"),
    ("file.kubelet_client_ca_mode", "4.1", r"certificate authorities file permissions"),
    ("file.kubelet_client_ca_owner", "4.1", r"certificate authorities file ownership"),
    ("file.kubelet_config_mode", "4.1", r"kubelet (--config|config\.yaml) configuration file (has permissions|is being used validate permissions)"),
    ("file.kubelet_config_owner", "4.1", r"kubelet (--config|config\.yaml) configuration file (ownership|is being used validate file ownership)"),
    ("file.kubelet_dropin_mode", "4.1", r"kubelet drop-in configuration directory"),
    # 4.2 kubelet
    ("kubelet.anonymous_auth", "4.2", r"anonymous-auth"),
    ("kubelet.authorization_mode", "4.2", r"--authorization-mode"),
    ("kubelet.client_ca_file", "4.2", r"--client-ca-file"),
    ("kubelet.read_only_port", "4.2", r"--read-only-port|readOnlyPort"),
    ("kubelet.streaming_connection_idle_timeout", "4.2", r"--streaming-connection-idle-timeout"),
    ("kubelet.protect_kernel_defaults", "4.2", r"--protect-kernel-defaults"),
    ("kubelet.make_iptables_util_chains", "4.2", r"--make-iptables-util-chains"),
    ("kubelet.hostname_override", "4.2", r"--hostname-override"),
    ("kubelet.event_qps", "4.2", r"--event-qps|eventRecordQPS"),
    ("kubelet.tls_cert", "4.2", r"--tls-cert-file and --tls-private-key-file"),
    ("kubelet.rotate_certificates", "4.2", r"--rotate-certificates"),
    ("kubelet.rotate_kubelet_server_certificate", "4.2", r"RotateKubeletServerCertificate"),
    ("kubelet.tls_cipher_suites", "4.2", r"Strong Cryptographic Ciphers"),
    ("kubelet.pod_max_pids", "4.2", r"limit is set on pod PIDs"),
    ("kubelet.seccomp_default", "4.2", r"--seccomp-default"),
    # 4.3 kube-proxy
    ("proxy.metrics_bind_address", "4.3", r"kube-proxy metrics service is bound to localhost"),
    # 5 policies
    ("policies.cluster_admin_usage", "5.1", r"cluster-admin role"),
    ("policies.secrets_access", "5.1", r"Minimize access to secrets"),
    ("policies.rbac_wildcards", "5.1", r"wildcard use in Roles"),
    ("policies.create_pods_access", "5.1", r"access to create pods"),
    ("policies.default_sa_automount", "5.1", r"default service accounts are not actively used"),
    ("policies.sa_token_mount", "5.1", r"Service Account Tokens are only mounted"),
    ("policies.system_masters", "5.1", r"system:masters"),
    ("policies.bind_impersonate_escalate", "5.1", r"Bind, Impersonate and Escalate"),
    ("policies.create_pv_access", "5.1", r"create persistent volumes"),
    ("policies.node_proxy_access", "5.1", r"proxy sub-resource of nodes"),
    ("policies.csr_approval_access", "5.1", r"approval sub-resource of certificatesigningrequests"),
    ("policies.webhook_config_access", "5.1", r"webhook configuration objects"),
    ("policies.sa_token_create_access", "5.1", r"service account token creation"),
    ("policies.kubelet_api_subresources", "5.1", r"fine-grained subresources instead of nodes/proxy"),
    ("policies.psa_restricted", "5.2", r"at least one active policy control mechanism"),
    ("policies.privileged_containers", "5.2", r"admission of privileged containers"),
    ("policies.host_pid", "5.2", r"host process ID namespace"),
    ("policies.host_ipc", "5.2", r"host IPC namespace"),
    ("policies.host_network", "5.2", r"host network namespace"),
    ("policies.allow_privilege_escalation", "5.2", r"allowPrivilegeEscalation"),
    ("policies.root_containers", "5.2", r"admission of root containers"),
    ("policies.net_raw", "5.2", r"NET_RAW"),
    ("policies.added_capabilities", "5.2", r"with added capabilities"),
    ("policies.capabilities_assigned", "5.2", r"with capabilities assigned"),
    ("policies.windows_hostprocess", "5.2", r"Windows HostProcess"),
    ("policies.hostpath_volumes", "5.2", r"HostPath volumes"),
    ("policies.host_ports", "5.2", r"use HostPorts"),
    ("policies.unmasked_procmount", "5.2", r"unmasked procmounts"),
    ("policies.cni_network_policy_support", "5.3", r"CNI in use supports Network ?Policies"),
    ("policies.network_policies", "5.3", r"all Namespaces have Network ?Policies defined"),
    ("policies.secrets_as_files", "5.4", r"(?i)secrets as files over secrets as environment"),
    ("policies.external_secret_storage", "5.4", r"external secret storage"),
    ("policies.image_provenance", "5.5", r"Image Provenance"),
    ("policies.namespace_boundaries", "5.", r"administrative boundaries between resources"),
    ("policies.seccomp_profile", "5.", r"seccomp profile is set"),
    ("policies.security_context", "5.", r"Apply Security ?Context to (Your|your) Pods"),
    ("policies.default_namespace", "5.", r"default namespace should not be used"),
]

# How a control is remediated, by key: host (a host tool fixes it by writing
# files or K3s configuration), cluster (needs the API), manual (a judgement
# or review by the operator). Keys not named here are host.
REMEDY = {}
for k in ["auth.client_cert_users", "auth.service_account_token_users",
          "auth.bootstrap_token_users", "audit.policy_coverage",
          "policies.cluster_admin_usage", "policies.secrets_access",
          "policies.rbac_wildcards", "policies.create_pods_access",
          "policies.sa_token_mount", "policies.system_masters",
          "policies.bind_impersonate_escalate", "policies.create_pv_access",
          "policies.node_proxy_access", "policies.csr_approval_access",
          "policies.webhook_config_access", "policies.sa_token_create_access",
          "policies.kubelet_api_subresources",
          "policies.cni_network_policy_support", "policies.secrets_as_files",
          "policies.external_secret_storage", "policies.image_provenance",
          "policies.namespace_boundaries", "policies.seccomp_profile",
          "policies.security_context", "policies.default_namespace"]:
    REMEDY[k] = "manual"

# One line, ours, for controls that do not apply to K3s.
NA_NOTE = {
    "file.apiserver_pod_spec_mode": "K3s runs the API server inside the k3s process: there is no pod spec file",
    "file.apiserver_pod_spec_owner": "K3s runs the API server inside the k3s process: there is no pod spec file",
    "file.controller_manager_pod_spec_mode": "K3s runs the controller manager inside the k3s process: there is no pod spec file",
    "file.controller_manager_pod_spec_owner": "K3s runs the controller manager inside the k3s process: there is no pod spec file",
    "file.scheduler_pod_spec_mode": "K3s runs the scheduler inside the k3s process: there is no pod spec file",
    "file.scheduler_pod_spec_owner": "K3s runs the scheduler inside the k3s process: there is no pod spec file",
    "file.etcd_pod_spec_mode": "K3s embeds etcd in the k3s process: there is no etcd pod spec file",
    "file.etcd_pod_spec_owner": "K3s embeds etcd in the k3s process: there is no etcd pod spec file",
    "file.etcd_data_dir_owner": "embedded etcd runs as root inside k3s: the data directory is root-owned, there is no etcd user",
    "file.cni_mode": "kube-bench skips it for this version (the default flannel CNI leaves no files in /var/lib/cni/networks)",
    "file.cni_owner": "kube-bench skips it for this version (the default flannel CNI leaves no files in /var/lib/cni/networks)",
    "file.kubelet_service_mode": "the kubelet runs inside the k3s process: there is no kubelet service file",
    "file.kubelet_service_owner": "the kubelet runs inside the k3s process: there is no kubelet service file",
    "file.kubelet_config_mode": "kube-bench skips it: K3s passes kubelet settings as arguments, not a --config file kube-bench reads",
    "file.kubelet_config_owner": "kube-bench skips it: K3s passes kubelet settings as arguments, not a --config file kube-bench reads",
    "kubelet.hostname_override": "K3s sets --hostname-override itself (from the node name); not applicable",
    "kubelet.rotate_certificates": "K3s issues and renews kubelet certificates itself; kube-bench skips the check",
    "kubelet.rotate_kubelet_server_certificate": "K3s issues and renews kubelet serving certificates itself; kube-bench skips the check",
    "kubelet.tls_cipher_suites": "kube-bench skips it for this version",
    "kubelet.protect_kernel_defaults": "kube-bench skips it for this version",
    "controller_manager.rotate_kubelet_server_certificate": "K3s issues kubelet serving certificates itself; kube-bench skips the check",
    "apiserver.kubelet_https": "the flag was removed from kube-apiserver; kube-bench skips the check",
    "apiserver.admission_security_context_deny": "kube-bench skips it: Pod Security is enforced by PSA/PSP instead",
    "file.kubelet_dropin_mode": "the K3s self-assessment calls it not applicable, although K3s runs the kubelet with --config-dir=/var/lib/rancher/k3s/agent/etc/kubelet.conf.d",
}

# kube-bench looks somewhere other than the control says, for one version.
QUIRK_NOTE = {
    ("k3s-cis-1.23", "1.1.18"): "kube-bench stats /var/lib/rancher/k3s/server/tls here, not the controller kubeconfig",
    ("k3s-cis-1.24", "1.1.18"): "kube-bench stats /var/lib/rancher/k3s/server/tls here, not the controller kubeconfig",
    ("k3s-cis-1.23", "4.1.7"): "kube-bench stats the server's server-ca.crt, not the agent's client-ca.crt",
    ("k3s-cis-1.23", "4.1.8"): "kube-bench stats the server's client-ca.crt, not the agent's client-ca.crt",
}

# Notes on controls that do apply, where the data alone would mislead.
NOTE = {
    "apiserver.admission_event_rate_limit": "needs an EventRateLimit configuration inside the admission-control-config-file (psa.yaml) with non-empty limits",
    "apiserver.admission_node_restriction": "enable-admission-plugins replaces K3s's default list: any value must keep NodeRestriction",
    "apiserver.encryption_provider_config": "K3s sets it from secrets-encryption: true",
    "apiserver.encryption_providers": "K3s writes the provider file from secrets-encryption: true; identity first is a fail",
    "apiserver.audit_log_path": "the log directory must exist (0700) before K3s starts",
    "kubelet.protect_kernel_defaults": "K3s top-level protect-kernel-defaults; the kernel values must be set before the restart",
    "policies.unmasked_procmount": "PSA restricted (and baseline) rejects procMount: Unmasked",
    "policies.psa_restricted": "PSA restricted via admission-control-config-file (psa.yaml) on K3s >= 1.25, PodSecurityPolicy on <= 1.24",
    "policies.network_policies": "one policy per namespace as manifests in the auto-deploy directory, DNS allowed",
    "policies.default_sa_automount": "default ServiceAccounts with automountServiceAccountToken: false as a manifest in the auto-deploy directory",
    "audit.policy_file": "audit.yaml passed as audit-policy-file",
    "etcd.client_cert": "K3s writes the etcd config itself; passes by default with embedded etcd, not applicable to kine/sqlite",
    "etcd.client_cert_auth": "K3s writes the etcd config itself; passes by default with embedded etcd",
    "etcd.auto_tls": "K3s writes the etcd config itself; passes by default with embedded etcd",
    "etcd.peer_cert": "K3s writes the etcd config itself; passes by default with embedded etcd",
    "etcd.peer_client_cert_auth": "K3s writes the etcd config itself; passes by default with embedded etcd",
    "etcd.peer_auto_tls": "K3s writes the etcd config itself; passes by default with embedded etcd",
    "etcd.unique_ca": "K3s writes the etcd config itself; passes by default with embedded etcd",
}

STATUS_RE = re.compile(r"\s*\((Automated|Manual|Scored|Not Scored)\)\s*$")
NA_RE = re.compile(r"\s*\(Not Applicable\)\s*$")

RUN_RE = re.compile(r"Running (kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy)")
BIN_COMPONENT = {
    "$apiserverbin": "kube-apiserver",
    "$controllermanagerbin": "kube-controller-manager",
    "$schedulerbin": "kube-scheduler",
    "$kubeletbin": "kubelet",
    "$proxybin": "kube-proxy",
}
CONF_COMPONENT = {
    "$kubeletconf": "kubelet",
    "$proxyconf": "kube-proxy",
    "$etcdconf": "etcd",
}

# The component whose command line a key's test should read; kube-bench
# sometimes reads another one, and the control then says so in its note.
EXPECT_COMPONENT = {
    "apiserver": "kube-apiserver",
    "controller_manager": "kube-controller-manager",
    "scheduler": "kube-scheduler",
    "kubelet": "kubelet",
    "proxy": "kube-proxy",
    "etcd": "etcd",
}

# kube-bench's audit variables, resolved to the K3s paths its K3s
# configurations name (config.yaml of each benchmark directory).
K3S_VARS = {
    "$proxykubeconfig": "/var/lib/rancher/k3s/agent/kubeproxy.kubeconfig",
    "$kubeletkubeconfig": "/var/lib/rancher/k3s/agent/kubelet.kubeconfig",
    "$kubeletcafile": "/var/lib/rancher/k3s/agent/client-ca.crt",
    "$schedulerkubeconfig": "/var/lib/rancher/k3s/server/cred/scheduler.kubeconfig",
    "$controllermanagerkubeconfig": "/var/lib/rancher/k3s/server/cred/controller.kubeconfig",
    "$etcddatadir": "/var/lib/rancher/k3s/server/db/etcd",
    "$etcdconf": "/var/lib/rancher/k3s/server/db/etcd/config",
}


def strip_title(text):
    t = text.strip()
    na = False
    t = STATUS_RE.sub("", t)
    if NA_RE.search(t):
        na = True
        t = NA_RE.sub("", t)
    t = STATUS_RE.sub("", t)
    # kube-bench 1.7 glued a note onto one title
    t = re.sub(r"\s*-\s*NoteThis recommendation is obsolete.*$", "", t)
    return t, na


def key_for(cid, title):
    for key, prefix, rx in RULES:
        if (cid + ".").startswith(prefix.rstrip(".") + "."):
            if re.search(rx, title):
                return key
    return None


def scalar(v):
    return str(v)


def resolve_path(audit, varmap):
    for var, path in sorted(varmap.items(), key=lambda x: -len(x[0])):
        if var in audit:
            return path
    m = re.search(r"(/var/lib/[^ ;'\"|]+|/etc/[^ ;'\"|]+)", audit)
    if m:
        return m.group(1)
    return None


def convert_items(items, stat_kind):
    out = []
    for it in items or []:
        o = {}
        flag = it.get("flag")
        comp = it.get("compare")
        if stat_kind == "owner":
            # kube-bench matches the stat %U:%G output; a bare flag means
            # "this owner string is present".
            o["flag"] = "owner"
            o["op"] = "eq"
            o["value"] = scalar(comp["value"]) if comp else scalar(flag)
            out.append(o)
            continue
        if stat_kind == "mode":
            o["flag"] = "mode"
            if comp:
                o["op"] = comp["op"]
                o["value"] = scalar(comp["value"])
            else:
                o["op"] = "set"
            out.append(o)
            continue
        if flag is not None:
            o["flag"] = scalar(flag)
        if it.get("path") is not None:
            o["path"] = scalar(it["path"])
        if comp:
            # kube-bench k3s-cis-1.9 4.2.5 spells it noteqx, which kube-bench
            # never matches; the benchmark means noteq
            o["op"] = "noteq" if comp["op"] == "noteqx" else comp["op"]
            if "value" in comp and comp["value"] is not None:
                o["value"] = scalar(comp["value"])
            # kube-bench: set defaults to true; set: false with a compare
            # ignores the compare and means "absent"
            if "set" in it and not truth(it["set"]):
                o = {k: v for k, v in o.items() if k in ("flag", "path")}
                o["op"] = "unset"
        else:
            s = truth(it.get("set", "true"))
            o["op"] = "set" if s else "unset"
        out.append(o)
    return out


def convert_test(c, varmap, section):
    audit = re.sub(r"\s+", " ", c.get("audit") or "")
    audit_config = re.sub(r"\s+", " ", c.get("audit_config") or "")
    tests = c.get("tests") or {}
    t = {}
    stat_kind = None
    m = RUN_RE.findall(audit)
    if "stat -c" in audit:
        t["component"] = "file"
        stat_kind = "owner" if "%U:%G" in audit else "mode"
    elif "$etcdconf" in audit or "$etcdconf" in audit_config:
        t["component"] = "etcd"
    elif m:
        t["component"] = m[0]
    elif "kubectl" in audit:
        t["component"] = "cluster"
    else:
        comp = None
        for var, name in BIN_COMPONENT.items():
            if var in audit:
                comp = name
        if comp is None and "$etcdconf" in audit:
            comp = "etcd"
        if comp is None and "ps -fC containerd" in audit:
            # K3s runs every component in one process; kube-bench reads the
            # containerd process line instead
            comp = "kubelet" if section == "node" else "kube-apiserver"
        if comp is None and audit_config:
            for var, name in CONF_COMPONENT.items():
                if var in audit_config:
                    comp = name
        if comp is None and "encryption-config" in audit:
            comp = "file"
        t["component"] = comp or "none"
    for var, name in CONF_COMPONENT.items():
        if var in audit_config or (t["component"] == "etcd" and var == "$etcdconf" and var in audit):
            t["config"] = name
            if var in K3S_VARS:
                t["config_file"] = K3S_VARS[var]
    if "encryption-provider-config" in audit and "providers" in audit:
        # the first provider in the file kube-apiserver names
        t["config"] = "encryption-provider"
        t["config_file"] = "/var/lib/rancher/k3s/server/cred/encryption-config.json"
    if t["component"] == "file" and c.get("type") != "skip":
        fm = re.search(r"find (/[^\s|]+)([^|]*)", audit)
        if fm:
            nm = re.search(r"(?<!! )-name '([^']+)'", fm.group(2))
            # find recurses: "**" is any depth
            path = fm.group(1).rstrip("/") + "/**" + ("/" + nm.group(1) if nm else "")
        else:
            path = resolve_path(audit, varmap)
        if path:
            t["file"] = path
        if truth(c.get("use_multiple_values")) or fm:
            t["multiple"] = True
    t["bin_op"] = tests.get("bin_op", "and")
    t["items"] = convert_items(tests.get("test_items"), stat_kind)
    if not t["items"]:
        # nothing to evaluate: no component to read either
        t = {"component": "none", "bin_op": "and", "items": []}
    return t


def role_for(section):
    return "both" if section == "node" else "server"


def load(path):
    # BaseLoader keeps every scalar a string: kube-bench's values such as
    # `no` and `0600` must not turn into booleans or octal numbers
    with open(path) as f:
        return yaml.load(f, Loader=yaml.BaseLoader)


def truth(v):
    return str(v).lower() == "true"


def build(name, tree, ddir, title, kmin, kmax, rsource, roots):
    base = os.path.join(roots[tree], ddir)
    varmap = dict(K3S_VARS)
    hardened_skips = None
    if name in HARDENED:
        hardened_skips = set()
        for section in SECTIONS:
            hdoc = load(os.path.join(roots["ss"], HARDENED[name], section + ".yaml"))
            for g in hdoc.get("groups") or []:
                for c in g.get("checks") or []:
                    if c.get("type") == "skip":
                        hardened_skips.add(str(c["id"]))
    controls = []
    unmapped = []
    for section in SECTIONS:
        doc = load(os.path.join(base, section + ".yaml"))
        for g in doc.get("groups") or []:
            for c in g.get("checks") or []:
                cid = str(c["id"])
                t, na_title = strip_title(c["text"])
                key = key_for(cid, t)
                if key is None:
                    unmapped.append((cid, t))
                    key = "unmapped." + cid
                kb_type = c.get("type")
                status = STATUS_RE.search(c["text"].strip())
                ctl = {
                    "id": cid,
                    "key": key,
                    "title": t,
                    "section": section,
                    "scored": truth(c.get("scored", "false")),
                    "type": "manual" if kb_type == "manual" else "automated",
                    "assessment": (status.group(1).lower() if status and status.group(1) in ("Automated", "Manual") else ("automated" if truth(c.get("scored")) else "manual")),
                    "skip": kb_type == "skip" or na_title,
                    "role": role_for(section),
                }
                if ctl["skip"] and hardened_skips is not None and cid not in hardened_skips:
                    ctl["remedy"] = REMEDY.get(key, "host")
                    ctl["note"] = ("skipped by kube-bench's permissive %s only; rancher/security-scan %s checks it"
                                   % (name, HARDENED[name]))
                elif ctl["skip"]:
                    ctl["remedy"] = "na"
                    ctl["note"] = NA_NOTE.get(key, "kube-bench skips it for this version")
                else:
                    ctl["remedy"] = REMEDY.get(key, "host")
                    if key in NOTE:
                        ctl["note"] = NOTE[key]
                ctl["test"] = convert_test(c, varmap, section)
                extra = []
                want = EXPECT_COMPONENT.get(key.split(".")[0])
                got = ctl["test"]["component"]
                if want and got not in (want, "none", "file", "cluster"):
                    extra.append("kube-bench reads this from the %s command line, not the %s one" % (got, want))
                if key == "etcd.unique_ca" and "apiserver" in (c.get("audit") or ""):
                    extra.append("kube-bench compares the etcd trusted CA file with the kube-apiserver's")
                if any(it.get("op") == "noteq" and it.get("value") == "0" and "streaming" in it.get("flag", "")
                       for it in ctl["test"]["items"]) and "noteqx" in str(c.get("tests")):
                    extra.append("kube-bench's file says op noteqx (never matches), read as noteq")
                if (name, cid) in QUIRK_NOTE:
                    extra.append(QUIRK_NOTE[(name, cid)])
                if extra:
                    ctl["note"] = "; ".join(([ctl["note"]] if "note" in ctl else []) + extra)
                controls.append(ctl)
    return {
        "name": name,
        "title": title,
        "k3s_min": kmin,
        "k3s_max": kmax,
        "source": SOURCE_REPO[tree] + ddir,
        "k3s_range_source": rsource,
        "controls": controls,
    }, unmapped


FIELD_ORDER = ["id", "key", "title", "section", "scored", "type", "assessment",
               "skip", "role", "remedy", "note", "test"]
TEST_ORDER = ["component", "config", "config_file", "file", "multiple", "bin_op", "items"]
ITEM_ORDER = ["flag", "path", "op", "value"]


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emit(doc):
    out = []
    out.append("# Generated by tools/bench-import.py from " + doc["source"] + ";")
    out.append("# keys, remedy and notes are k3s-harden's own. Format: benchmarks/README.md")
    out.append("name: " + doc["name"])
    out.append("title: " + q(doc["title"]))
    out.append("k3s_min: " + q(doc["k3s_min"]))
    out.append("k3s_max: " + q(doc["k3s_max"]))
    out.append("source: " + q(doc["source"]))
    out.append("k3s_range_source: " + q(doc["k3s_range_source"]))
    out.append("controls:")
    for c in doc["controls"]:
        first = True
        for f in FIELD_ORDER:
            if f not in c:
                continue
            v = c[f]
            lead = "  - " if first else "    "
            first = False
            if f == "test":
                out.append(lead + "test:")
                for tf in TEST_ORDER:
                    if tf not in v:
                        continue
                    tv = v[tf]
                    if tf == "items":
                        if not tv:
                            out.append("      items: []")
                            continue
                        out.append("      items:")
                        for it in tv:
                            ifirst = True
                            for itf in ITEM_ORDER:
                                if itf not in it:
                                    continue
                                il = "        - " if ifirst else "          "
                                ifirst = False
                                iv = it[itf]
                                out.append(il + itf + ": " + (("true" if iv else "false") if isinstance(iv, bool) else q(iv)))
                    elif isinstance(tv, bool):
                        out.append("      " + tf + ": " + ("true" if tv else "false"))
                    else:
                        out.append("      " + tf + ": " + (q(tv) if tf in ("file", "config_file") else tv))
            elif isinstance(v, bool):
                out.append(lead + f + ": " + ("true" if v else "false"))
            elif f in ("id", "title", "note"):
                out.append(lead + f + ": " + q(v))
            else:
                out.append(lead + f + ": " + v)
    return "\n".join(out) + "\n"


def idkey(cid):
    return [int(x) for x in cid.split(".")]


def derive(d, built):
    name, title, kmin, kmax, rsource, base, changes, note = d
    import copy
    doc = copy.deepcopy(built[base])
    by_id = {c["id"]: c for c in doc["controls"]}
    unmapped = []
    for cid, ch in changes.items():
        if "new" in ch:
            section, skip = ch["new"]
            key = key_for(cid, ch["title"])
            if key is None:
                unmapped.append((cid, ch["title"]))
                key = "unmapped." + cid
            c = {"id": cid, "key": key, "title": ch["title"], "section": section,
                 "scored": False, "type": "manual" if not skip else "automated",
                 "assessment": ch["assessment"], "skip": skip, "role": role_for(section)}
            if skip:
                c["remedy"] = "na"
                c["note"] = NA_NOTE.get(key, "the K3s self-assessment marks it not applicable")
            else:
                c["remedy"] = REMEDY.get(key, "host")
                if key in NOTE:
                    c["note"] = NOTE[key]
            c["test"] = {"component": "none", "bin_op": "and", "items": []}
            by_id[cid] = c
            continue
        c = by_id[cid]
        if "title" in ch:
            c["title"] = ch["title"]
            if key_for(cid, ch["title"]) != c["key"]:
                unmapped.append((cid, ch["title"] + " (key changes)"))
        if "assessment" in ch:
            c["assessment"] = ch["assessment"]
        if "value" in ch:
            c["test"]["items"][0]["value"] = ch["value"]
    if note:
        for c in by_id.values():
            if c["section"] == "controlplane":
                c["note"] = "; ".join(([c["note"]] if "note" in c else []) +
                                      ["not listed in the 2.0 self-assessment; carried from k3s-cis-1.12"])
    doc["controls"] = sorted(by_id.values(), key=lambda c: (SECTIONS.index(c["section"]) if False else 0, idkey(c["id"])))
    doc.update({"name": name, "title": title, "k3s_min": kmin, "k3s_max": kmax,
                "k3s_range_source": rsource,
                "source": rsource + " (controls); tests from " + built[base]["source"]})
    return doc, unmapped


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    roots = {"kb": sys.argv[1], "ss": sys.argv[2]}
    outdir = sys.argv[3]
    bad = 0
    built = {}
    for b in BENCHMARKS:
        doc, unmapped = build(*b, roots)
        built[b[0]] = doc
        for cid, t in unmapped:
            sys.stderr.write("%s: %s: no key for '%s'\n" % (b[0], cid, t))
            bad += 1
        with open(os.path.join(outdir, b[0] + ".yaml"), "w") as f:
            f.write(emit(doc))
    for d in DERIVED:
        doc, unmapped = derive(d, built)
        for cid, t in unmapped:
            sys.stderr.write("%s: %s: no key for '%s'\n" % (d[0], cid, t))
            bad += 1
        with open(os.path.join(outdir, d[0] + ".yaml"), "w") as f:
            f.write(emit(doc))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
