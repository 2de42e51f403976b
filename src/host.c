#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

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

enum profile_role host_detect_role(const char *root, const char **why)
{
	if (unit_exists(root, "k3s-agent.service")) {
		*why = "found the unit k3s-agent.service";
		return ROLE_AGENT;
	}
	if (unit_exists(root, "k3s.service")) {
		*why = "found the unit k3s.service";
		return ROLE_SERVER;
	}
	*why = "no K3s unit found; assuming a server";
	return ROLE_SERVER;
}
