#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k3s_keys.h"
#include "kconfig.h"
#include "k3s_unit.h"
#include "keff.h"
#include "model.h"
#include "buf.h"
#include "fsutil.h"
#include "txn.h"

#define DEFAULT_CONFIG "/etc/rancher/k3s/config.yaml"

static const char *role_word(enum profile_role r)
{
	return r == ROLE_AGENT ? "agent" : "server";
}

/* The configuration as the user wrote it: without the tool's own drop-in. */
static int read_config(const char *root, const struct profile *p, struct keff *E, struct diags *d)
{
	const struct k3s_config *k = p ? p->k3s : NULL;

	return keff_read_root_except(E, root, k && k->path ? k->path : DEFAULT_CONFIG,
				     k ? k->dropin : NULL, d, NULL);
}

/* Whether the profile (as on a server) writes this setting or list entry. */
static bool managed(const struct k3s_model *m, const char *key, const char *item)
{
	size_t i, j;

	for (i = 0; !item && i < m->n_settings; i++)
		if (strcmp(m->settings[i].key, key) == 0)
			return true;
	for (i = 0; item && i < m->n_lists; i++) {
		if (strcmp(m->lists[i].name, key) != 0)
			continue;
		for (j = 0; j < m->lists[i].n; j++)
			if (keff_same_flag(item, m->lists[i].args[j].flag))
				return true;
	}
	return false;
}

/*
 * The first server-only option the user set (not one the profile writes),
 * into what/where; false when there is none.
 */
static bool user_server_option(const struct keff *E, const struct k3s_model *m, char *what,
			       size_t size)
{
	size_t i, j;

	for (i = 0; i < E->n; i++) {
		const struct keff_key *k = &E->keys[i];
		const struct k3s_key *kk = k3s_key_find(k->name);
		const struct ynode *at = k->last;

		if (!kk || (kk->roles & K3S_KEY_AGENT) || !k->n)
			continue;
		if (kk->list) {
			for (j = 0; j < k->n; j++)
				if (!managed(m, k->name, k->items[j].value))
					break;
			if (j == k->n)
				continue;
			at = k->items[j].node;
		} else if (managed(m, k->name, NULL)) {
			continue;
		}
		if (at)
			snprintf(what, size, "'%s' (%s:%u)", k->name, at->file, at->start.line);
		else
			snprintf(what, size, "'%s'", k->name);
		return true;
	}
	return false;
}

static int from_config(const char *root, const struct profile *p, struct host_role *out,
		       struct diags *d)
{
	struct keff E = KEFF_INIT;
	struct diags ignored = { NULL, 0, 0 };
	struct k3s_model m;
	const struct keff_key *srv;
	char what[320];
	int r = 0;

	memset(&m, 0, sizeof(m));
	(void)d;
	/* a configuration K3s cannot read is no evidence; the plan reports it */
	if (read_config(root, p, &E, &ignored) < 0)
		goto out;
	if (p && (r = k3s_model_build(p, ROLE_SERVER, &m)) < 0)
		goto out;
	if (user_server_option(&E, &m, what, sizeof(what))) {
		out->role = ROLE_SERVER;
		out->evidence = HOST_EV_CONFIG;
		snprintf(out->why, sizeof(out->why), "no K3s unit says; the configuration sets the "
			 "server-only option %s", what);
	} else if ((srv = keff_get(&E, "server")) && keff_value(&E, "server")) {
		out->role = ROLE_AGENT;
		out->evidence = HOST_EV_CONFIG;
		snprintf(out->why, sizeof(out->why), "no K3s unit says; the configuration names a "
			 "server to join (%s:%u) and sets no server-only option",
			 srv->last ? srv->last->file : "config.yaml", srv->last ? srv->last->start.line : 0);
	}
out:
	k3s_model_free(&m);
	keff_free(&E);
	diags_free(&ignored);
	return r;
}

int host_detect_role(const char *root, const struct profile *p, struct host_role *out,
		     struct diags *d)
{
	struct k3s_unit *u = NULL;
	const struct k3s_unit *by_cmd = NULL, *by_env = NULL, *by_name = NULL;
	size_t n = 0, i, j;
	bool disagree = false;
	int r;

	memset(out, 0, sizeof(*out));
	out->role = ROLE_SERVER;
	snprintf(out->why, sizeof(out->why), "no K3s unit or configuration says; assuming a server");
	r = k3s_units_find(root, &u, &n);
	if (r < 0) {
		diags_add(d, "/etc/systemd/system", 0, 0, "cannot read the K3s units: %s", strerror(-r));
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		const char *c = u[i].command;

		if (c && (strcmp(c, "server") == 0 || strcmp(c, "agent") == 0)) {
			if (by_cmd && strcmp(by_cmd->command, c) != 0)
				disagree = true;
			if (!by_cmd)
				by_cmd = &u[i];
		}
	}
	if (by_cmd && !disagree) {
		out->role = strcmp(by_cmd->command, "agent") == 0 ? ROLE_AGENT : ROLE_SERVER;
		out->evidence = HOST_EV_UNIT;
		snprintf(out->unit, sizeof(out->unit), "%s", by_cmd->name);
		snprintf(out->why, sizeof(out->why), "the unit %s runs `k3s %s` (%s:%u)", by_cmd->name,
			 by_cmd->command, by_cmd->exec_path ? by_cmd->exec_path : by_cmd->path, by_cmd->line);
		goto out;
	}
	/* a unit whose ExecStart does not say (a wrapper script): its env file.
	 * The install script also writes K3S_URL for a server joining an HA
	 * cluster, into k3s.service.env: there it says nothing. */
	for (i = 0; i < n && !by_env; i++)
		for (j = 0; j < u[i].n_env_files && !by_env && strcmp(u[i].name, "k3s.service"); j++) {
			char *v = NULL;

			if (k3s_env_get(root, u[i].env_files[j], "K3S_URL", &v) == 0 && v && *v) {
				by_env = &u[i];
				out->role = ROLE_AGENT;
				out->evidence = HOST_EV_ENV;
				snprintf(out->unit, sizeof(out->unit), "%s", u[i].name);
				snprintf(out->why, sizeof(out->why), "the unit %s reads K3S_URL from %s "
					 "(the install script's agent setting)", u[i].name, u[i].env_files[j]);
			}
			free(v);
		}
	if (by_env)
		goto out;
	for (i = 0; i < n && !by_name; i++)
		if (strcmp(u[i].name, "k3s-agent.service") == 0 || strcmp(u[i].name, "k3s.service") == 0)
			by_name = &u[i];
	if (by_name && !disagree) {
		out->role = strcmp(by_name->name, "k3s-agent.service") == 0 ? ROLE_AGENT : ROLE_SERVER;
		out->evidence = HOST_EV_UNIT_NAME;
		snprintf(out->unit, sizeof(out->unit), "%s", by_name->name);
		snprintf(out->why, sizeof(out->why), "found the unit %s", by_name->name);
		goto out;
	}
	r = from_config(root, p, out, d);
	if (r == 0 && disagree)
		snprintf(out->why + strlen(out->why), sizeof(out->why) - strlen(out->why),
			 " (the K3s units disagree: one runs `k3s server`, another `k3s agent`)");
out:
	k3s_units_free(u, n);
	return r < 0 ? -EINVAL : 0;
}

int host_choose_role(const struct host_role *h, enum profile_role wanted, const char *wanted_from,
		     enum profile_role *role, char *why, size_t why_size, struct diags *d)
{
	if (wanted == ROLE_AUTO) {
		*role = h->role;
		snprintf(why, why_size, "%s", h->why);
		return 0;
	}
	if (h->evidence == HOST_EV_UNIT && h->role != wanted) {
		diags_add_field(d, "k3s-harden", 0, 0, "role", "%s says role %s, but this host is %s %s: %s; "
			  "use --role %s, or a profile for %ss (the default, cis, detects the role)",
			  wanted_from, role_word(wanted), h->role == ROLE_AGENT ? "an" : "a",
			  role_word(h->role), h->why, role_word(h->role), role_word(h->role));
		return -EINVAL;
	}
	*role = wanted;
	if (h->evidence == HOST_EV_NONE)
		snprintf(why, why_size, "%s; the host shows no role", wanted_from);
	else if (h->role == wanted)
		snprintf(why, why_size, "%s; the host agrees: %s", wanted_from, h->why);
	else
		snprintf(why, why_size, "%s, over the weaker evidence for %s: %s", wanted_from,
			 role_word(h->role), h->why);
	return 0;
}

int host_data_dir(const char *root, const struct profile *p, char **dir, struct diags *d)
{
	struct keff E = KEFF_INIT;
	struct diags ignored = { NULL, 0, 0 };
	const struct keff_key *k;
	const char *v = NULL;
	int r = 0;

	*dir = NULL;
	/* a configuration K3s cannot read: the plan reports it */
	if (read_config(root, p, &E, &ignored) < 0)
		goto out;
	/* d is data-dir's one-letter alias */
	k = keff_get(&E, "data-dir");
	if (!k || !k->n)
		k = keff_get(&E, "d");
	if (k && k->n)
		v = k->items[k->n - 1].value;
	if (!v || !*v)
		goto out;
	if (v[0] != '/') {
		const struct ynode *at = k->items[k->n - 1].node;

		diags_add_field(d, at ? at->file : DEFAULT_CONFIG, at ? at->start.line : 0,
				at ? at->start.col : 0, "data-dir", "data-dir '%s' is not an absolute path; k3s-harden cannot tell where K3s "
			  "reads its manifests", v);
		r = -EINVAL;
		goto out;
	}
	if (strcmp(v, HOST_DEFAULT_DATA_DIR) != 0 && strcmp(v, HOST_DEFAULT_DATA_DIR "/") != 0) {
		size_t l = strlen(v);

		while (l > 1 && v[l - 1] == '/')
			l--;
		*dir = strndup(v, l);
		if (!*dir)
			r = -ENOMEM;
	}
out:
	keff_free(&E);
	diags_free(&ignored);
	return r;
}

char *host_moved_path(const char *path, const char *data_dir)
{
	const size_t dl = strlen(HOST_DEFAULT_DATA_DIR);
	char *s;

	if (!data_dir || strcmp(data_dir, HOST_DEFAULT_DATA_DIR) == 0 ||
	    strncmp(path, HOST_DEFAULT_DATA_DIR, dl) != 0 || (path[dl] != '/' && path[dl]))
		return strdup(path);
	return asprintf(&s, "%s%s", data_dir, path + dl) < 0 ? NULL : s;
}

/* The built-in defaults that follow data-dir (profiles/base.yaml). */
static const char *const defaults[] = {
	HOST_DEFAULT_DATA_DIR "/server/manifests",
	HOST_DEFAULT_DATA_DIR "/server/psa.yaml",
	HOST_DEFAULT_DATA_DIR "/server/audit.yaml",
	HOST_DEFAULT_DATA_DIR "/server/logs",
};

static int move(struct host_view *v, size_t i, char **path, const char *field, const char *data_dir,
		bool used, struct diags *w)
{
	const size_t dl = strlen(HOST_DEFAULT_DATA_DIR);

	if (!*path)
		return 0;
	if (strcmp(*path, defaults[i]) == 0) {
		if (asprintf(&v->owned[i], "%s%s", data_dir, *path + dl) < 0) {
			v->owned[i] = NULL;
			return -ENOMEM;
		}
		*path = v->owned[i];
	} else if (used && strncmp(*path, HOST_DEFAULT_DATA_DIR "/", dl + 1) == 0) {
		diags_add_field(w, "k3s-harden", 0, 0, field, "%s '%s' is under K3s's default data dir, but this "
			  "host's data-dir is %s; the profile's path is kept as set", field, *path,
			  data_dir);
	}
	return 0;
}

int host_view_init(struct host_view *v, const struct profile *p, const char *data_dir,
		   struct diags *w)
{
	int r = 0;

	memset(v, 0, sizeof(*v));
	v->p = *p;
	if (!data_dir)
		return 0;
	r = move(v, 0, &v->p.manifests_dir, "manifests_dir", data_dir,
		 (p->network_policies && p->network_policies->enabled) ||
		 (p->service_accounts && p->service_accounts->enabled), w);
	if (r == 0 && p->pod_security) {
		v->ps = *p->pod_security;
		v->p.pod_security = &v->ps;
		r = move(v, 1, &v->ps.path, "pod_security.path", data_dir,
			 v->ps.enabled || (p->event_rate_limit && p->event_rate_limit->enabled), w);
	}
	if (r == 0 && p->audit) {
		v->au = *p->audit;
		v->p.audit = &v->au;
		r = move(v, 2, &v->au.policy_path, "audit.policy_path", data_dir, v->au.enabled, w);
		if (r == 0)
			r = move(v, 3, &v->au.log_dir, "audit.log_dir", data_dir, v->au.enabled, w);
	}
	if (r < 0)
		host_view_free(v);
	return r;
}

void host_view_free(struct host_view *v)
{
	size_t i;

	for (i = 0; i < sizeof(v->owned) / sizeof(v->owned[0]); i++)
		free(v->owned[i]);
	memset(v->owned, 0, sizeof(v->owned));
}

/* ---- server files left on an agent ---- */

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && strcmp(s + a - b, tail) == 0;
}

static bool server_file(const struct profile *p, const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (p->pod_security && p->pod_security->path && strcmp(path, p->pod_security->path) == 0)
		return true;
	if (p->audit && p->audit->policy_path && strcmp(path, p->audit->policy_path) == 0)
		return true;
	if (strcmp(base, "psa.yaml") == 0 || strcmp(base, "audit.yaml") == 0)
		return ends_with(path, "/server/psa.yaml") || ends_with(path, "/server/audit.yaml");
	return strncmp(base, "k3s-harden-", 11) == 0 && ends_with(path, ".yaml") &&
	       strstr(path, "/server/manifests/") != NULL;
}

/* A K3s config file: config.yaml, a drop-in, or the profile's path. */
static bool config_file(const struct profile *p, const char *path)
{
	const struct k3s_config *k = p->k3s;

	if (k && ((k->path && strcmp(path, k->path) == 0) || (k->dropin && strcmp(path, k->dropin) == 0)))
		return true;
	return strcmp(path, DEFAULT_CONFIG) == 0 || strstr(path, "/config.yaml.d/") != NULL;
}

/* The line of a top-level `secrets-encryption:` key in data, or 0 (marked
 * ours or not: the merge never removes it, K3S_KEY_KEEP). */
static unsigned secrets_line(const char *data, size_t len)
{
	static const char key[] = "secrets-encryption";
	size_t i = 0;
	unsigned line = 1;

	while (i < len) {
		size_t e = i;

		while (e < len && data[e] != '\n')
			e++;
		if (e - i > sizeof(key) && memcmp(data + i, key, sizeof(key) - 1) == 0 &&
		    (data[i + sizeof(key) - 1] == ':' ||
		     (data[i + sizeof(key) - 1] == '+' && data[i + sizeof(key)] == ':')))
			return line;
		i = e + 1;
		line++;
	}
	return 0;
}

static bool seen(char **v, size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], path) == 0)
			return true;
	return false;
}

/* Whether the generation's backup of the file (its state before) had the key. */
static bool had_secrets(const char *root, const char *id, const struct gen_entry *e)
{
	char *data = NULL;
	size_t len = 0;
	bool had;

	if (!e->existed || !e->blob)
		return false;
	if (txn_read_blob(root, id, e->blob, &data, &len) < 0)
		return true;    /* cannot tell: it may be the user's */
	had = secrets_line(data, len) != 0;
	free(data);
	return had;
}

int host_server_leftovers(const char *root, const struct profile *p, struct diags *w)
{
	struct generation *gens = NULL;
	char **done = NULL;
	size_t ng = 0, nd = 0, i, j;
	const char *shown = strcmp(root, "/") ? root : "";

	/* no generations (or none readable): nothing the tool wrote */
	if (txn_history(root, &gens, &ng) < 0)
		return 0;
	/* oldest first: the generation that created a file */
	for (i = ng; i-- > 0;) {
		struct generation g;
		struct gen_entry *v = NULL;
		struct buf files = BUF_INIT, rm = BUF_INIT;
		size_t n = 0, count = 0;

		if (txn_read_generation(root, gens[i].id, &g, &v, &n) < 0)
			continue;
		for (j = 0; j < n; j++) {
			const char *path = v[j].path;
			char *data = NULL, **nv;
			size_t len = 0;
			struct stat st;
			unsigned line;

			if (v[j].kind != GEN_FILE || !path || seen(done, nd, path))
				continue;
			if (server_file(p, path) && !v[j].existed && root_stat(root, path, &st) == 0) {
				buf_printf(&files, "%s%s", count ? ", " : "", path);
				buf_printf(&rm, " %s%s", shown, path);
				count++;
			} else if (config_file(p, path) &&
				   root_read_file(root, path, 16u << 20, &data, &len, &st) == 0 &&
				   (line = secrets_line(data, len)) != 0 && !had_secrets(root, gens[i].id, &v[j])) {
				diags_add_field(w, path, line, 1, "secrets-encryption", "secrets-encryption is "
						"server-only and this host is an agent: k3s-harden generation %s "
						"(profile %s) added it for a server; k3s-harden keeps it: remove the "
						"line if this host is an agent (agents ignore it), not on a server, "
						"where secrets stored encrypted would become unreadable "
						"(k3s-io/k3s issue 7195)", gens[i].id, g.profile);
			} else {
				free(data);
				continue;
			}
			free(data);
			nv = realloc(done, (nd + 1) * sizeof(*done));
			if (!nv || !(nv[nd] = strdup(path))) {
				done = nv ? nv : done;
				break;
			}
			done = nv;
			nd++;
		}
		if (count)
			diags_add(w, "k3s-harden", 0, 0, "this host is an agent, but k3s-harden generation %s "
				  "(profile %s) created %zu server file%s that K3s agents do not read: %s; "
				  "k3s-harden leaves them alone: remove them (rm%s), or undo that "
				  "generation with `k3s-harden rollback %s`", gens[i].id, g.profile, count,
				  count == 1 ? "" : "s", files.data ? files.data : "", rm.data ? rm.data : "",
				  gens[i].id);
		buf_free(&files);
		buf_free(&rm);
		gen_entries_free(v, n);
	}
	for (i = 0; i < nd; i++)
		free(done[i]);
	free(done);
	free(gens);
	return 0;
}
