/* What is on the host under --root. */
#ifndef K3H_HOST_H
#define K3H_HOST_H

#include "profile.h"

/*
 * Decide server or agent for role auto: a k3s-agent.service unit means an
 * agent, a k3s.service unit a server; without a unit, a config.yaml with
 * server-only options means a server, and one that names a `server:` to
 * join without them an agent. *why receives a static explanation.
 * Nothing to go by: server.
 */
enum profile_role host_detect_role(const char *root, const char **why);

#endif
