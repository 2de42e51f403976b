#ifndef K3H_K3S_KEYS_H
#define K3H_K3S_KEYS_H
#include <stdbool.h>
enum { K3S_KEY_SERVER = 1, K3S_KEY_AGENT = 2 };
struct k3s_key { const char *name; unsigned roles; bool list; };
/* NULL when K3s does not know the key (it only warns on such keys). */
const struct k3s_key *k3s_key_find(const char *name);
/* Whether an agent (`k3s agent`) takes the option: the one answer to "server only?". */
bool k3s_key_agent(const char *name);
#endif
