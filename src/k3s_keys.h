#ifndef K3H_K3S_KEYS_H
#define K3H_K3S_KEYS_H
#include <stdbool.h>
/* roles: which of `k3s server` / `k3s agent` take the option; ALIAS: a hidden
 * second name of another option (profiles use the first name) */
enum { K3S_KEY_SERVER = 1, K3S_KEY_AGENT = 2, K3S_KEY_ALIAS = 4 };
struct k3s_key { const char *name; unsigned roles; bool list; };
/* NULL when K3s does not know the key (it only warns on such keys). */
const struct k3s_key *k3s_key_find(const char *name);
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
