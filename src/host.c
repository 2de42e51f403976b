#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "k3s_keys.h"
#include "ynode.h"

static const char *const unit_dirs[] = {
	"/etc/systemd/system", "/usr/local/lib/systemd/system", "/lib/systemd/system",
	"/usr/lib/systemd/system",
};

static bool unit_exists(const char *root, const char *unit)
{
	size_t i;

	for (i = 0; i < sizeof(unit_dirs) / sizeof(unit_dirs[0]); i++) {
		struct stat st;
		int dfd;

		if (root_open_dir(root, unit_dirs[i], false, 0, &dfd) < 0)
			continue;
		if (fstatat(dfd, unit, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			close(dfd);
			return true;
		}
		close(dfd);
	}
	return false;
}

enum profile_role host_detect_role(const char *root_dir, const char **why)
{
	if (unit_exists(root_dir, "k3s-agent.service")) {
		*why = "found the unit k3s-agent.service";
		return ROLE_AGENT;
	}
	if (unit_exists(root_dir, "k3s.service")) {
		*why = "found the unit k3s.service";
		return ROLE_SERVER;
	}
	{
		struct diags d = { NULL, 0, 0 };
		struct ynode *root = NULL;
		struct stat st;
		char *data = NULL;
		size_t len = 0, i;
		bool server_only = false, joins = false;

		if (root_read_file(root_dir, "/etc/rancher/k3s/config.yaml", 1 << 20, &data, &len, &st) == 0 &&
		    ynode_parse("config.yaml", data, len, YN_ALLOW_ALIAS | YN_ALLOW_EMPTY, &root, &d) == 0 &&
		    root && root->kind == YN_MAP) {
			for (i = 0; i < root->n; i++) {
				const struct k3s_key *k;
				char name[128];

				snprintf(name, sizeof(name), "%.*s", (int)strcspn(root->keys[i]->value, "+"),
					 root->keys[i]->value);
				k = k3s_key_find(name);
				server_only |= k && k->roles == K3S_KEY_SERVER;
				joins |= strcmp(name, "server") == 0;
			}
		}
		ynode_free(root);
		diags_free(&d);
		free(data);
		if (server_only) {
			*why = "no K3s unit; config.yaml has server options";
			return ROLE_SERVER;
		}
		if (joins) {
			*why = "no K3s unit; config.yaml names a server to join and no server options";
			return ROLE_AGENT;
		}
	}
	*why = "no K3s unit or config found; assuming a server";
	return ROLE_SERVER;
}
