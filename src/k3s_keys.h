#ifndef K3H_K3S_KEYS_H
#define K3H_K3S_KEYS_H
#include <stdbool.h>
/* roles: which of `k3s server` / `k3s agent` take the option; ALIAS: a hidden
 * second name of another option (profiles use the first name); KEEP: once
 * on, taking it away loses data (secrets-encryption: secrets stored
 * encrypted are unreadable without it, k3s-io/k3s issue 7195), so k3s-harden
 * never removes it on its own */
enum { K3S_KEY_SERVER = 1, K3S_KEY_AGENT = 2, K3S_KEY_ALIAS = 4, K3S_KEY_KEEP = 8 };
struct k3s_key { const char *name; unsigned roles; bool list; };
/* NULL when K3s does not know the key (it only warns on such keys). */
const struct k3s_key *k3s_key_find(const char *name);
/* Whether the option is K3S_KEY_KEEP: a setting of ours that goes stays, named. */
bool k3s_key_keep(const char *name);
/* Whether an agent (`k3s agent`) takes the option: the one answer to "server only?". */
bool k3s_key_agent(const char *name);
/*
 * Whether name is a component's argument list (kube-apiserver-arg,
 * kubelet-arg, ...): a list option named *-arg, not an alias. With agent
 * set (may be NULL), whether an agent takes it. The one table behind
 * "which lists does a profile write" and "which of them on an agent".
 */
bool k3s_key_arg_list(const char *name, bool *agent);
#endif
