/* The K3s version and what depends on it; see k3s_version.h. */
#include "k3s_version.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchmark.h"
#include "embedded.h"
#include "k3s_unit.h"
#include "keff.h"

extern char **environ;

#define VERSION_OUTPUT_MAX 4096

/*
 * Since (inclusive) and before (exclusive) per feature. Sources:
 * benchmarks/k3s-versions.md (the guide's tabs: PSP for <= 1.24, PSA from
 * 1.25, Traefik v1 for <= 1.20) and benchmarks/k3s-components.yaml
 * (bundled Traefik v1 before 1.21; config drop-ins since 1.21). The
 * namespace name label is Kubernetes' (NamespaceDefaultLabelName, 1.21).
 */
static const struct { const char *since, *before; } features[K3S_FEATURE_COUNT] = {
	[K3S_PSP] = { NULL, "1.25" },
	[K3S_PSA] = { "1.25", NULL },
	[K3S_TRAEFIK_V1] = { NULL, "1.21" },
	[K3S_NS_NAME_LABEL] = { "1.21", NULL },
	[K3S_CONFIG_DROPINS] = { "1.21", NULL },
};

/* kube-apiserver exits on a plugin it does not know (Kubernetes release notes). */
static const struct k3s_plugin_range plugin_ranges[] = {
	{ "PodSecurityPolicy", NULL, "1.25",
	  "PodSecurityPolicy objects already in the cluster stay until deleted "
	  "(kubectl delete podsecuritypolicies --all) and restrict no pod any more" },
	{ "PodSecurity", "1.22", NULL,
	  "no pod is checked against the Pod Security Standards on this version" },
	{ "DenyServiceExternalIPs", "1.21", NULL,
	  "Services may set externalIPs on this version" },
	{ "SecurityContextDeny", NULL, "1.30",
	  "pods' security contexts are no longer checked by it; Pod Security admission "
	  "(restricted) covers what it denied" },
};

const struct k3s_plugin_range *k3s_plugin_ranges(size_t *n)
{
	*n = sizeof(plugin_ranges) / sizeof(plugin_ranges[0]);
	return plugin_ranges;
}

/* major.minor[.patch] after an optional 'v', then nothing or '+'/'-' and a suffix. */
static bool parse(const char *s, unsigned long v[3], int *parts)
{
	const char *p = s;
	char *end;
	int i;

	if (!s)
		return false;
	if (*p == 'v')
		p++;
	for (i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*p))
			return false;
		v[i] = strtoul(p, &end, 10);
		if (end - p > 6)
			return false;
		p = end;
		if (*p != '.' || i == 2)
			break;
		p++;
	}
	if (i < 1)
		return false;
	*parts = i + 1;
	if (*p == '\0')
		return true;
	if (*p != '+' && *p != '-')
		return false;
	for (p++; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '+')
			return false;
	return p - s < 64;
}

bool k3s_version_valid(const char *s)
{
	unsigned long v[3];
	int n;

	return parse(s, v, &n) && v[0] == 1;
}

int k3s_version_minor(const char *s, char *out, size_t size)
{
	unsigned long v[3];
	int n;

	if (!parse(s, v, &n))
		return -EINVAL;
	n = snprintf(out, size, "%lu.%lu", v[0], v[1]);
	return n < 0 || (size_t)n >= size ? -EINVAL : 0;
}

bool k3s_version_in(const char *v, const char *since, const char *before)
{
	if (!v)
		return before == NULL;
	if (since && k3s_version_cmp(v, since) < 0)
		return false;
	if (before && k3s_version_cmp(v, before) >= 0)
		return false;
	return true;
}

bool k3s_has(const char *v, enum k3s_feature f)
{
	return k3s_version_in(v, features[f].since, features[f].before);
}

void k3s_feature_range(enum k3s_feature f, const char **since, const char **before)
{
	*since = features[f].since;
	*before = features[f].before;
}

int k3s_version_parse_output(const char *text, char **out)
{
	const char *p = strstr(text, "k3s version ");
	size_t n;
	char *v;

	if (!p)
		return -EINVAL;
	p += strlen("k3s version ");
	n = strcspn(p, " \t\r\n");
	v = strndup(p, n);
	if (!v)
		return -ENOMEM;
	if (!k3s_version_valid(v)) {
		free(v);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* `k3s` in PATH, as execvp would find it, but without running anything. */
static int path_search(char *out, size_t size)
{
	const char *path = getenv("PATH"), *p, *e;

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *e ? e + 1 : e) {
		struct stat st;
		int n;

		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		if (e == p || *p != '/')
			continue;
		n = snprintf(out, size, "%.*s/k3s", (int)(e - p), p);
		if (n < 0 || (size_t)n >= size)
			continue;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run {bin, "--version"} with stdout to a pipe; its output in buf. */
static int run_version(const char *bin, unsigned timeout_ms, char *buf, size_t size, char *why,
		       size_t why_size)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)bin, (char *)"--version", NULL };
	long long deadline = now_ms() + timeout_ms;
	size_t len = 0;
	int fds[2], status = 0, r;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	r = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (r != 0) {
		close(fds[0]);
		snprintf(why, why_size, "cannot run '%s --version': %s", bin, strerror(r));
		return -r;
	}
	for (;;) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		long long left = deadline - now_ms();
		ssize_t k;

		if (left <= 0) {
			kill(pid, SIGKILL);
			snprintf(why, why_size, "'%s --version' did not finish in %u ms", bin, timeout_ms);
			r = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (!pfd.revents)
			continue;
		k = read(fds[0], buf + len, size - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
		if (len == size - 1)
			break;
	}
	buf[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		snprintf(why, why_size, "'%s --version' failed", bin);
		r = -EIO;
	}
	return r;
}

int k3s_version_detect(const char *root, unsigned timeout_ms, char **out, char *why, size_t why_size)
{
	struct k3s_unit *units = NULL;
	char bin[4096], buf[VERSION_OUTPUT_MAX];
	size_t n = 0, i;
	int r;

	bin[0] = '\0';
	if (k3s_units_find(root, &units, &n) == 0) {
		for (i = 0; i < n && !bin[0]; i++)
			if (units[i].binary && units[i].binary[0] == '/')
				snprintf(bin, sizeof(bin), "%s%s", strcmp(root, "/") ? root : "",
					 units[i].binary);
		k3s_units_free(units, n);
	}
	if (!bin[0]) {
		if (strcmp(root, "/") != 0) {
			snprintf(why, why_size, "no K3s unit with an ExecStart under '%s'", root);
			return -ENOENT;
		}
		if (path_search(bin, sizeof(bin)) < 0) {
			snprintf(why, why_size, "no K3s unit and no 'k3s' in PATH");
			return -ENOENT;
		}
	}
	/* run as root: only a regular file no one but its owner (root or us) may change */
	{
		struct stat st;

		if (stat(bin, &st) < 0) {
			snprintf(why, why_size, "'%s': %s", bin, strerror(errno));
			return -errno;
		}
		if (!S_ISREG(st.st_mode) || (st.st_mode & 022) || (st.st_uid != 0 && st.st_uid != geteuid())) {
			snprintf(why, why_size, "refusing to run '%s': not a regular file owned by root "
				 "and writable only by its owner", bin);
			return -EPERM;
		}
	}
	r = run_version(bin, timeout_ms, buf, sizeof(buf), why, why_size);
	if (r < 0)
		return r;
	r = k3s_version_parse_output(buf, out);
	if (r == -EINVAL)
		snprintf(why, why_size, "'%s --version' printed no K3s version", bin);
	return r;
}

void k3s_components_all(struct k3s_components *c)
{
	memset(c, 0, sizeof(*c));
	c->coredns = c->metrics_server = c->traefik = c->servicelb = c->local_storage = true;
	c->helm_controller = c->network_policy = true;
}

/* One `disable:` entry (K3s splits them on commas too). */
static void disable_one(struct k3s_components *c, const char *s, size_t n)
{
	static const struct { const char *name; size_t off; } names[] = {
		{ "coredns", offsetof(struct k3s_components, coredns) },
		{ "metrics-server", offsetof(struct k3s_components, metrics_server) },
		{ "traefik", offsetof(struct k3s_components, traefik) },
		{ "servicelb", offsetof(struct k3s_components, servicelb) },
		{ "local-storage", offsetof(struct k3s_components, local_storage) },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n && strncmp(names[i].name, s, n) == 0)
			*(bool *)((char *)c + names[i].off) = false;
}

static void disable_list(struct k3s_components *c, const struct keff_key *k)
{
	size_t i;

	for (i = 0; k && i < k->n; i++) {
		const char *s = k->items[i].value;

		while (s && *s) {
			size_t n = strcspn(s, ",");

			while (n && isspace((unsigned char)*s)) {
				s++;
				n--;
			}
			disable_one(c, s, n);
			s += n;
			if (*s == ',')
				s++;
		}
	}
}

int k3s_components_read(const char *root, const char *config_path, struct k3s_components *c,
			struct diags *d)
{
	struct keff E = KEFF_INIT;
	int r;

	k3s_components_all(c);
	r = keff_read_root(&E, root, config_path, d, NULL);
	if (r == 0) {
		disable_list(c, keff_get(&E, "disable"));
		disable_list(c, keff_get(&E, "no-deploy"));     /* the old name, K3s < 1.25 */
		if (keff_bool(&E, "disable-network-policy") == 1) {
			const struct keff_key *k = keff_get(&E, "disable-network-policy");
			const struct ynode *at = k && k->n ? k->items[k->n - 1].node : NULL;

			c->network_policy = false;
			if (at && at->file) {
				snprintf(c->netpol_file, sizeof(c->netpol_file), "%s", at->file);
				c->netpol_line = k->last ? k->last->start.line : at->start.line;
				c->netpol_col = k->last ? k->last->start.col : at->start.col;
			}
		}
		if (keff_bool(&E, "disable-helm-controller") == 1)
			c->helm_controller = false;
	}
	keff_free(&E);
	return r;
}

static bool has_profile(const char *name)
{
	return embedded_find(embedded_profiles, name) != NULL;
}

int k3s_pick_profile(const char *v, const char **name)
{
	*name = benchmark_newest_covering(v, has_profile);
	return *name ? 0 : -ENOENT;
}

static int pick_bench(const char *v, char *name, size_t size)
{
	const char *b = benchmark_newest_covering(v, NULL);

	if (!b)
		return -ENOENT;
	snprintf(name, size, "%s", b);
	return 0;
}

static void drop_allow(struct profile *p, bool *allow, bool runs, const char *what,
		       const char *why, struct diags *notes)
{
	if (!*allow || runs)
		return;
	*allow = false;
	diags_add(notes, p->name, 0, 0, "no allow policy for %s: %s", what, why);
}

static void fit_components(struct profile *p, const struct k3s_components *c, struct diags *notes)
{
	struct network_policies *np = p->network_policies;

	if (!np || !np->enabled)
		return;
	drop_allow(p, &np->allow_dns, c->coredns, "CoreDNS", "disabled (disable: coredns)", notes);
	drop_allow(p, &np->allow_metrics_server, c->metrics_server, "metrics-server",
		   "disabled (disable: metrics-server)", notes);
	drop_allow(p, &np->allow_traefik, c->traefik, "Traefik", "disabled (disable: traefik)", notes);
	drop_allow(p, &np->allow_traefik, c->helm_controller, "Traefik",
		   "the helm controller that deploys it is disabled (disable-helm-controller)", notes);
	drop_allow(p, &np->allow_svclb_traefik, c->servicelb, "the Traefik service load balancer",
		   "disabled (disable: servicelb)", notes);
	drop_allow(p, &np->allow_svclb_traefik, c->traefik && c->helm_controller,
		   "the Traefik service load balancer", "Traefik does not run", notes);
	if (!c->network_policy)
		diags_add_field(notes, c->netpol_file[0] ? c->netpol_file : p->name, c->netpol_line,
				c->netpol_col, "disable-network-policy", "warning: disable-network-policy "
				"is set: the network policies are written but nothing enforces them unless "
				"the CNI does");
}

int k3s_env_apply(struct profile *p, const char *v, const struct k3s_components *c,
		  struct diags *notes, struct diags *errs)
{
	const struct k3s_range *kr = p->k3s_versions;
	char minor[32], bname[64];

	free(p->env.k3s_version);
	p->env.k3s_version = NULL;
	p->env.bench = NULL;
	if (v && !k3s_version_valid(v)) {
		diags_add(errs, "k3s-harden", 0, 0, "'%s' is not a K3s version (like 1.30 or v1.30.4+k3s1)", v);
		return -EINVAL;
	}
	if (v && kr && kr->min && kr->max && k3s_version_minor(v, minor, sizeof(minor)) == 0 &&
	    (k3s_version_cmp(minor, kr->min) < 0 || k3s_version_cmp(minor, kr->max) > 0)) {
		diags_add(errs, "k3s-harden", 0, 0, "K3s %s is outside the versions profile '%s' "
			  "supports (%s to %s); use a profile for it (the default, cis, picks one) "
			  "or pin the version with --k3s-version", v, p->name, kr->min, kr->max);
		return -EINVAL;
	}
	if (!v && kr && kr->max) {
		v = kr->max;
		diags_add(notes, p->name, 0, 0, "K3s version unknown: hardening for K3s %s, the newest "
			  "profile '%s' supports; pin it with --k3s-version or the profile key k3s_version", v, p->name);
	}
	if (v && !(p->env.k3s_version = strdup(v)))
		return -ENOMEM;
	if (p->benchmark && strcmp(p->benchmark, "auto") == 0) {
		if (pick_bench(v, bname, sizeof(bname)) < 0) {
			diags_add(errs, "k3s-harden", 0, 0, "no CIS benchmark covers K3s %s", v);
			return -EINVAL;
		}
	} else {
		snprintf(bname, sizeof(bname), "%s", p->benchmark ? p->benchmark : "");
	}
	if (bname[0] && !(p->env.bench = benchmark_find(bname))) {
		diags_add(errs, p->name, 0, 0, "cannot load benchmark '%s': no such benchmark", bname);
		return -EINVAL;
	}
	if (c)
		fit_components(p, c, notes);
	return 0;
}

/* A stable key: lower-case section, a dot, a name; no benchmark prefix. */
static bool is_control_key(const char *s)
{
	return islower((unsigned char)s[0]) && strchr(s, '.') && !strchr(s, ':');
}

/* Edit distance for did-you-mean (keys are short: at most 63 characters). */
static size_t key_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, row[64], prev, tmp;

	if (la > 63 || lb > 63)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t v = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < v)
				v = row[j] + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			tmp = row[j];
			row[j] = v;
			prev = tmp;
		}
	}
	return row[lb];
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct bench_key *)a)->key, ((const struct bench_key *)b)->key);
}

/* A stable key of any benchmark, with its ID in the newest that has it (benchmark.h). */
static const struct bench_key *key_find(const char *key)
{
	struct bench_key probe = { key, NULL };
	const struct bench_key *all;
	size_t n;

	all = benchmark_all_keys(&n);
	return bsearch(&probe, all, n, sizeof(*all), cmp_key);
}

const char *profile_control_label(const struct profile *p, const char *control)
{
	const struct bench_control *bc;
	const struct bench_key *e;

	if (!is_control_key(control) || !p->env.bench)
		return control;
	bc = benchmark_by_key(p->env.bench, control);
	if (bc)
		return bc->id;
	e = key_find(control);
	return e ? e->newest : NULL;
}

int k3s_control_check(const char *control, char *suggest, size_t size)
{
	const struct bench_key *all;
	size_t i, n, best = SIZE_MAX;

	if (!is_control_key(control))
		return 0;
	if (size)
		suggest[0] = '\0';
	if (key_find(control))
		return 0;
	all = benchmark_all_keys(&n);
	for (i = 0; i < n && size; i++) {
		size_t dist = key_distance(control, all[i].key);

		if (dist < best && dist <= 4) {
			best = dist;
			snprintf(suggest, size, "%s", all[i].key);
		}
	}
	return -ENOENT;
}
