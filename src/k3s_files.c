#include "k3s_files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsutil.h"

bool k3s_dropin_name(const char *name)
{
	size_t nl = strlen(name);

	return (nl > 5 && strcasecmp(name + nl - 5, ".yaml") == 0) ||
	       (nl > 4 && strcasecmp(name + nl - 4, ".yml") == 0);
}

static int add(char ***v, size_t *n, const char *dir, const char *name)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
	char *s;

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (dir ? asprintf(&s, "%s/%s", dir, name) < 0 : !(s = strdup(name)))
		return -ENOMEM;
	nv[(*n)++] = s;
	return 0;
}

int k3s_config_files(const char *root, const char *config_path, const char *extra,
		     char ***paths, size_t *n)
{
	char **names = NULL, **v = NULL, *dir = NULL;
	size_t nn = 0, k = 0, i;
	bool extra_done = !extra;
	int r;

	if (asprintf(&dir, "%s.d", config_path) < 0)
		return -ENOMEM;
	r = root_list_dir(root, dir, &names, &nn);
	if (r == 0)
		r = add(&v, &k, NULL, config_path);
	/* root_list_dir sorts with strcmp: K3s's byte order */
	for (i = 0; i < nn && r == 0; i++) {
		if (!extra_done && strcmp(extra, names[i]) <= 0) {
			extra_done = true;
			if (strcmp(extra, names[i]) != 0)
				r = add(&v, &k, dir, extra);
		}
		if (r == 0 && k3s_dropin_name(names[i]))
			r = add(&v, &k, dir, names[i]);
	}
	if (r == 0 && !extra_done)
		r = add(&v, &k, dir, extra);
	names_free(names, nn);
	free(dir);
	if (r < 0) {
		names_free(v, k);
		return r;
	}
	*paths = v;
	*n = k;
	return 0;
}

/* Mode controls whose files K3s leaves alone once written (K3S-FACTS.md). */
static const char *const mode_kept[] = {
	"file.admin_kubeconfig_mode",           /* server/cred: written when the cert is made */
	"file.scheduler_kubeconfig_mode",
	"file.controller_manager_kubeconfig_mode",
	"file.pki_cert_mode",                   /* server/tls: made when missing or renewed */
	"file.pki_key_mode",
	"file.kubelet_kubeconfig_mode",         /* agent: rewritten in place at each start */
	"file.proxy_kubeconfig_mode",
	"file.kubelet_client_ca_mode",
};

bool k3s_mode_kept(const char *key)
{
	size_t i;

	for (i = 0; key && i < sizeof(mode_kept) / sizeof(mode_kept[0]); i++)
		if (!strcmp(key, mode_kept[i]))
			return true;
	return false;
}
