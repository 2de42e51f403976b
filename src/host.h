/* What is on the host under --root. */
#ifndef K3H_HOST_H
#define K3H_HOST_H

#include "profile.h"

/*
 * Decide server or agent for role auto: a k3s-agent.service unit means an
 * agent, a k3s.service unit a server. *why receives a static explanation.
 * Neither: server.
 */
enum profile_role host_detect_role(const char *root, const char **why);

#endif
