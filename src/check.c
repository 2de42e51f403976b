/* k3s-harden check: every control of a benchmark judged from the host (see check.h). */
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_ops.h"
#include "fsutil.h"
#include "hidx.h"
#include "host.h"
#include "json.h"
#include "k3s_files.h"
#include "k3s_version.h"
#include "model.h"
#include "sysctl.h"
#include "txn.h"
#include "ynode.h"

#define FILE_MAX (4u << 20)

const char *check_status_name(enum check_status s)
{
	static const char *const n[] = { "PASS", "FAIL", "WARN", "INFO" };

	return s < CHECK_NSTATUS ? n[s] : "?";
}

/* The one place that picks the benchmark when none is named (see check.h). */
const char *check_default_benchmark(const struct profile *p)
{
	if (p && p->env.bench)
		return p->env.bench->name;
	if (p && p->benchmark && strcmp(p->benchmark, "auto") != 0)
		return p->benchmark;
	return benchmark_newest_covering(p ? p->env.k3s_version : NULL, NULL);
}

static bool cites(char **v, unsigned n, const struct bench_control *c)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], c->key) || !strcmp(v[i], c->id))
			return true;
	return false;
}

/* The audit field (audit.max_age) that writes the flag control c tests, else "audit". */
static const char *audit_field(const struct bench_control *c)
{
	unsigned i;

	for (i = 0; i < c->test.n_items; i++)
		if (audit_field_for_flag(c->test.items[i].flag))
			return audit_field_for_flag(c->test.items[i].flag);
	return "audit";
}

const char *check_profile_setting(const struct profile *p, const struct bench_control *c)
{
	const char *v = p->env.k3s_version;
	unsigned i;

	if (p->pod_security && p->pod_security->enabled &&
	    cites(p->pod_security->controls, p->pod_security->controls_count, c))
		return "pod_security";
	if (p->pod_security_policy && p->pod_security_policy->enabled &&
	    cites(p->pod_security_policy->controls, p->pod_security_policy->controls_count, c))
		return "pod_security_policy";
	if (p->event_rate_limit && p->event_rate_limit->enabled &&
	    cites(p->event_rate_limit->controls, p->event_rate_limit->controls_count, c))
		return "event_rate_limit";
	if (p->audit && p->audit->enabled && cites(p->audit->controls, p->audit->controls_count, c))
		return audit_field(c);
	if (p->network_policies && p->network_policies->enabled &&
	    cites(p->network_policies->controls, p->network_policies->controls_count, c))
		return "network_policies";
	if (p->service_accounts && p->service_accounts->enabled &&
	    cites(p->service_accounts->controls, p->service_accounts->controls_count, c))
		return "service_accounts";
	if (p->kernel) {
		if (p->kernel->protect_kernel_defaults &&
		    cites(p->kernel->controls, p->kernel->controls_count, c))
			return "kernel.protect_kernel_defaults";
		for (i = 0; i < p->kernel->parameters_count; i++)
			if (cites(p->kernel->parameters[i].controls, p->kernel->parameters[i].controls_count, c))
				return "kernel.parameters";
	}
	if (p->k3s) {
		if (cites(p->k3s->admission_controls, p->k3s->admission_controls_count, c))
			return "k3s.admission_plugins";
		for (i = 0; i < p->k3s->settings_count; i++)
			if (k3s_version_in(v, p->k3s->settings[i].since, p->k3s->settings[i].before) &&
			    cites(p->k3s->settings[i].controls, p->k3s->settings[i].controls_count, c))
				return "k3s.settings";
		for (i = 0; i < p->k3s->args_count; i++)
			if (k3s_version_in(v, p->k3s->args[i].since, p->k3s->args[i].before) &&
			    cites(p->k3s->args[i].controls, p->k3s->args[i].controls_count, c))
				return "k3s.args";
	}
	if (p->opt_in) {
		const struct opt_in *o = p->opt_in;

		if (o->always_pull_images && !strcmp(c->key, "apiserver.admission_always_pull_images"))
			return "opt_in.always_pull_images";
		if (o->deny_service_external_ips && !strcmp(c->key, "apiserver.deny_service_external_ips"))
			return "opt_in.deny_service_external_ips";
		if (o->kubelet_tls_cipher_suites && !strcmp(c->key, "kubelet.tls_cipher_suites"))
			return "opt_in.kubelet_tls_cipher_suites";
		if (o->pod_max_pids && !strcmp(c->key, "kubelet.pod_max_pids"))
			return "opt_in.pod_max_pids";
		if (o->file_modes && c->remedy == REMEDY_HOST && k3s_mode_kept(c->key))
			return "opt_in.file_modes";
	}
	return NULL;
}

/* ---- context ---- */

struct ns {
	char *name;
	char **labels;          /* "k=v" */
	size_t n_labels;
	bool policy;            /* has a NetworkPolicy */
	bool sa_ok;             /* its default ServiceAccount mounts no token */
};

/* A namespaceSelector's matchLabels (a value NULL where it is not a string). */
struct nsel {
	unsigned line;
	char **keys, **values;
	size_t n;
};

/* What the judges need of a NetworkPolicy, or of a default ServiceAccount that mounts no token. */
struct pdoc {
	bool policy;            /* a NetworkPolicy, else such a ServiceAccount */
	unsigned file;          /* in ctx doc_files */
	char *name, *ns;        /* metadata name (or NULL), namespace ("default" when none) */
	bool dns_selected;      /* in kube-system, selects k8s-app=kube-dns pods ... */
	bool restricts;         /* ... restricts their ingress */
	unsigned dns;           /* ... lets everyone reach 53/TCP (bit 1), 53/UDP (bit 2) */
	struct nsel *sels;      /* the namespaceSelectors of its ingress rules, in order */
	size_t n_sels;
};

struct ctx {
	const struct check_opts *o;
	struct dirfds *dirs;    /* each directory of the root opened once for the whole check */
	struct check_report *R;
	struct components *C;
	struct ns *ns;
	size_t n_ns, cap_ns;
	struct hidx ns_idx;     /* ns by name */
	struct pdoc *docs;      /* objects of the manifests in the auto-deploy directory (and the cluster's) */
	size_t n_docs, cap_docs;
	char **doc_files;       /* the files they come from */
	size_t n_doc_files;
	bool manifests_read;
	struct buf ev, fix;
	enum check_status st;
};

/* The root's files through x->dirs; a root that does not exist (benchmarks' empty root) holds nothing. */
static int ck_read(struct ctx *x, const char *rel, size_t max, char **data, size_t *len, struct stat *st)
{
	return x->dirs ? dirfds_read_file(x->dirs, rel, max, data, len, st) : -ENOENT;
}

static int ck_stat(struct ctx *x, const char *rel, struct stat *st)
{
	return x->dirs ? dirfds_stat(x->dirs, rel, st) : -ENOENT;
}

static int ck_list(struct ctx *x, const char *rel, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	return x->dirs ? dirfds_list(x->dirs, rel, names, n) : 0;
}

static void evf(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void evf(struct ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->ev.len)
		buf_adds(&x->ev, "; ");
	va_start(ap, fmt);
	buf_vprintf(&x->ev, fmt, ap);
	va_end(ap);
}

static void fixf(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fixf(struct ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->fix.len)
		buf_adds(&x->fix, "; ");
	va_start(ap, fmt);
	buf_vprintf(&x->fix, fmt, ap);
	va_end(ap);
}

static void refusef(struct ctx *x, const char *file, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void refusef(struct ctx *x, const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	for (i = 0; i < x->R->refuse.n; i++)
		if (!strcmp(x->R->refuse.v[i].msg, b.data))
			goto out;
	diags_add(&x->R->refuse, file, line, col, "%s", b.data);
out:
	buf_free(&b);
}

/* Where the user set flag in the component's list, "FILE:LINE" (static), or NULL. */
static const char *where(struct ctx *x, enum comp_id id, const char *flag)
{
	static const char *const lists[COMP_N] = {
		"kube-apiserver-arg", "kube-controller-manager-arg", "kube-scheduler-arg", "kubelet-arg",
		"kube-proxy-arg", "etcd-arg",
	};
	static char buf[512];
	const struct keff_item *it = keff_flag(&x->R->E, lists[id], flag);
	char plus[128];

	if (!it) {
		snprintf(plus, sizeof(plus), "%s+", flag);
		it = keff_flag(&x->R->E, lists[id], plus);
	}
	if (!it && id == COMP_CONTROLLER_MANAGER)
		it = keff_flag(&x->R->E, "kube-controller-arg", flag);
	if (!it || !it->node)
		return NULL;
	snprintf(buf, sizeof(buf), "%s:%u", it->node->file, it->node->start.line);
	return buf;
}

static const char *list_of(enum comp_id id)
{
	static const char *const lists[COMP_N] = {
		"kube-apiserver-arg", "kube-controller-manager-arg", "kube-scheduler-arg", "kubelet-arg",
		"kube-proxy-arg", "etcd-arg",
	};
	return lists[id];
}

/* The component a control is about: by its key's prefix, else the test's. */
static enum comp_id control_comp(const struct bench_control *c)
{
	static const struct { const char *prefix; enum comp_id id; } m[] = {
		{ "apiserver.", COMP_APISERVER }, { "audit.", COMP_APISERVER },
		{ "controller_manager.", COMP_CONTROLLER_MANAGER }, { "scheduler.", COMP_SCHEDULER },
		{ "kubelet.", COMP_KUBELET }, { "proxy.", COMP_PROXY }, { "etcd.", COMP_ETCD },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (!strncmp(c->key, m[i].prefix, strlen(m[i].prefix)))
			return m[i].id;
	for (i = 0; i < COMP_N; i++)
		if (c->test.component && !strcmp(c->test.component, comp_name((enum comp_id)i)))
			return (enum comp_id)i;
	return COMP_N;
}

/* "{.a.b}" or "{range .a[:]}..." -> "a/b" (static), or NULL. */
static const char *jsonpath(const char *p)
{
	static char out[256];
	const char *s;
	size_t n = 0;

	if (!p || *p != '{' || !(s = strchr(p, '.')))
		return NULL;
	for (s++; *s && *s != '}' && *s != '[' && n + 1 < sizeof(out); s++)
		out[n++] = *s == '.' ? '/' : *s;
	out[n] = '\0';
	return n ? out : NULL;
}

/* The value an item reads, from the component's command line or its configuration. */
static bool item_value(struct ctx *x, enum comp_id id, const struct bench_item *it, const char **val,
		       const char **src)
{
	struct components *C = x->C;
	const char *flag = it->flag, *jp = jsonpath(it->path);
	const struct comp_setting *s = NULL;

	*val = NULL;
	*src = NULL;
	if (flag && !strncmp(flag, "--", 2)) {
		if ((*val = comp_flag(C, id, flag + 2))) {
			*src = "flag";
			return true;
		}
		if (id == COMP_KUBELET) {
			const char *field = comp_kubelet_field(flag + 2);

			if (field && (s = comp_setting(&C->kubelet, field))) {
				*val = s->value;
				*src = s->source;
				return true;
			}
		}
	}
	if (jp) {
		s = comp_setting(id == COMP_ETCD ? &C->etcd : &C->kubelet, jp);
		if (s && (id == COMP_KUBELET || id == COMP_ETCD)) {
			*val = s->value;
			*src = s->source;
			return true;
		}
	}
	return false;
}

/* want: the item's value with K3s's default data dir moved to the host's */
static void describe_item(struct buf *b, const struct bench_item *it, const char *name, const char *want)
{
	if (!strcmp(it->op, "set"))
		buf_printf(b, "%s set", name);
	else if (!strcmp(it->op, "unset"))
		buf_printf(b, "%s not set", name);
	else
		buf_printf(b, "%s %s %s", name, it->op, want ? want : "");
}

static void remedy_item(struct ctx *x, enum comp_id id, const struct bench_item *it, const char *name,
			const char *want)
{
	const char *w = where(x, id, name);
	const char *list = list_of(id);

	if (!strcmp(it->op, "unset") || !strcmp(it->op, "nothave") || !strcmp(it->op, "noteq"))
		fixf(x, "remove --%s%s%s from %s%s%s", name, strcmp(it->op, "unset") ? " " : "",
		     strcmp(it->op, "unset") ? want : "", list, w ? " at " : "", w ? w : "");
	else if (!strcmp(it->op, "set"))
		fixf(x, "set --%s in %s", name, list);
	else if (!strcmp(it->op, "eq"))
		fixf(x, "%s %s=%s in %s%s%s", w ? "change to" : "add", name, want, list,
		     w ? " at " : "", w ? w : "");
	else if (!strcmp(it->op, "has"))
		fixf(x, "include %s in --%s (%s%s%s)", want, name, list, w ? " at " : "", w ? w : "");
	else if (!strcmp(it->op, "valid_elements"))
		fixf(x, "use only %s in --%s (%s%s%s)", want, name, list, w ? " at " : "", w ? w : "");
	else
		fixf(x, "set %s to a value %s %s in %s%s%s", name, it->op, want, list, w ? " at " : "",
		     w ? w : "");
}

/* kube-bench's test on a component's command line and configuration. */
static bool judge_component(struct ctx *x, const struct bench_control *c, enum comp_id id)
{
	const struct bench_test *t = &c->test;
	bool res[32];
	size_t i, n = t->n_items < 32 ? t->n_items : 32;

	for (i = 0; i < n; i++) {
		const struct bench_item *it = &t->items[i];
		const char *val, *src, *name;
		bool present = item_value(x, id, it, &val, &src);
		struct buf d = BUF_INIT;
		/* the benchmark's paths assume the default data-dir; K3s's follow data-dir */
		char *want = it->value ? host_moved_path(it->value, x->C->data_dir) : NULL;

		if (it->value && !want) {
			res[i] = false;
			evf(x, "out of memory");
			continue;
		}
		name = it->flag ? (strncmp(it->flag, "--", 2) ? it->flag : it->flag + 2) : jsonpath(it->path);
		if (!name)
			name = "?";
		res[i] = check_op(it->op, present, val, want);
		describe_item(&d, it, name, want);
		if (present)
			evf(x, "%s %s=%s%s%s%s (want %s)", comp_name(id), name, val, src && strcmp(src, "flag") ? " from " : "",
			    src && strcmp(src, "flag") ? src : "", "", d.data);
		else
			evf(x, "%s: %s not set (want %s)", comp_name(id), name, d.data);
		if (!res[i])
			remedy_item(x, id, it, name, want);
		buf_free(&d);
		free(want);
	}
	if (check_combine(t->bin_op, res, n)) {
		buf_reset(&x->fix);
		return true;
	}
	return false;
}

/* ---- files ---- */

static void owner_name(const struct stat *st, char *out, size_t n)
{
	struct passwd *pw = getpwuid(st->st_uid);
	struct group *gr = getgrgid(st->st_gid);
	char u[32], g[32];

	snprintf(u, sizeof(u), "%u", (unsigned)st->st_uid);
	snprintf(g, sizeof(g), "%u", (unsigned)st->st_gid);
	snprintf(out, n, "%s:%s", pw ? pw->pw_name : u, gr ? gr->gr_name : g);
}

static bool judge_file(struct ctx *x, const struct bench_control *c)
{
	const struct bench_test *t = &c->test;
	char *pat = t->file ? host_moved_path(t->file, x->C->data_dir) : NULL;
	char **f = NULL;
	size_t nf = 0, i, j;
	bool ok = true, multi = t->multiple || strchr(t->file ? t->file : "", '*');
	bool chmod_ok = k3s_mode_kept(c->key);
	const char *set = x->R->profile ? check_profile_setting(x->R->profile, c) : NULL;
	struct stat st;

	if (!pat) {
		x->st = CHECK_WARN;
		evf(x, "the benchmark names no file");
		return false;
	}
	if (x->dirs && dirfds_expand(x->dirs, pat, t->multiple, &f, &nf) < 0)
		nf = 0;
	if (!nf) {
		char *base = strdup(pat), *star = base ? strchr(base, '*') : NULL;

		/* the directory a pattern looks in: absent means nothing to judge yet */
		if (star) {
			*star = '\0';
			if ((star = strrchr(base, '/')) != NULL && star != base)
				*star = '\0';
		}
		if (base && ck_stat(x, base, &st) < 0) {
			x->st = CHECK_WARN;
			evf(x, "%s does not exist yet (K3s creates it when it starts): judged once it exists", base);
			fixf(x, "run check again after K3s has started");
			ok = false;
		} else if (multi) {
			evf(x, "no files match %s", pat);
		}
		free(base);
	}
	for (i = 0; i < nf; i++) {
		bool res[8];
		size_t n = t->n_items < 8 ? t->n_items : 8;
		const char *base = strrchr(f[i], '/');

		if (ck_stat(x, f[i], &st) < 0)
			continue;
		for (j = 0; j < n; j++) {
			const struct bench_item *it = &t->items[j];
			char v[128];

			if (it->flag && !strcmp(it->flag, "mode")) {
				if (base && !strcmp(base + 1, "lock")) {
					res[j] = true;
					continue;
				}
				snprintf(v, sizeof(v), "%o", (unsigned)(st.st_mode & 07777));
			} else {
				owner_name(&st, v, sizeof(v));
			}
			res[j] = check_op(it->op, true, v, it->value);
			if (!res[j]) {
				evf(x, "%s is %s %s (want %s %s)", f[i], it->flag, v, it->op, it->value);
				if (strcmp(it->flag, "mode"))
					fixf(x, "chown %s %s", it->value, f[i]);
				else if (chmod_ok && set)
					fixf(x, "k3s-harden apply (%s tightens it to %s)", set, it->value);
				else if (chmod_ok)
					fixf(x, "chmod %s %s, or set opt_in.file_modes: true (on in the "
					     "k3s-cis-*-strict profiles) and apply", it->value, f[i]);
				else
					fixf(x, "chmod %s %s", it->value, f[i]);
			}
		}
		if (!check_combine(t->bin_op, res, n))
			ok = false;
	}
	if (ok && nf)
		evf(x, "%zu file%s checked under %s", nf, nf == 1 ? "" : "s", pat);
	names_free(f, nf);
	free(pat);
	return ok;
}

/* ---- files the components read ---- */

static int read_host_file(struct ctx *x, const char *path, char **data, size_t *len)
{
	struct stat st;

	return ck_read(x, path, FILE_MAX, data, len, &st);
}

/* Parse a YAML/JSON file under root; NULL when absent; a parse error goes to refuse with who. */
static struct ynode *parse_host_file(struct ctx *x, const char *path, const char *who, bool *missing)
{
	struct diags pd = { NULL, 0, 0 };
	struct ynode *t = NULL;
	char *data = NULL;
	size_t len;
	int r;

	*missing = false;
	r = read_host_file(x, path, &data, &len);
	if (r == -ENOENT) {
		*missing = true;
		return NULL;
	}
	if (r < 0) {
		refusef(x, path, 0, 0, "%s cannot read %s: %s", who, path, strerror(-r));
		return NULL;
	}
	if (ynode_parse(path, data, len, YN_ALLOW_EMPTY, &t, &pd) < 0 || !t || t->kind != YN_MAP) {
		refusef(x, path, pd.n ? pd.v[0].line : 0, pd.n ? pd.v[0].col : 0, "%s rejects %s: %s", who, path,
			pd.n ? pd.v[0].msg : "not a mapping");
		ynode_free(t);
		t = NULL;
	}
	diags_free(&pd);
	free(data);
	return t;
}

static const char *sval(const struct ynode *m, const char *k)
{
	const struct ynode *v = ynode_get(m, k);

	return v && v->kind == YN_SCALAR ? v->value : NULL;
}

/* The admission configuration the API server reads: the PodSecurity and EventRateLimit plugin configs. */
struct admission {
	bool flag, read;
	char *path;
	struct ynode *tree;
	const struct ynode *podsec;     /* PodSecurityConfiguration */
	const struct ynode *erl;
};

static void admission_load(struct ctx *x, struct admission *a)
{
	const char *p = comp_flag(x->C, COMP_APISERVER, "admission-control-config-file");
	const struct ynode *pl;
	bool missing;
	size_t i;

	memset(a, 0, sizeof(*a));
	if (!p)
		return;
	a->flag = true;
	a->path = strdup(p);
	if (!a->path)
		return;
	a->tree = parse_host_file(x, a->path, "kube-apiserver", &missing);
	if (missing)
		refusef(x, a->path, 0, 0, "kube-apiserver will not start: --admission-control-config-file names %s, "
			"which does not exist (write it, or run apply)", a->path);
	if (!a->tree)
		return;
	a->read = true;
	pl = ynode_get(a->tree, "plugins");
	for (i = 0; pl && pl->kind == YN_SEQ && i < pl->n; i++) {
		const char *nm = sval(pl->items[i], "name");
		const struct ynode *cf = ynode_get(pl->items[i], "configuration");

		if (nm && !strcmp(nm, "PodSecurity"))
			a->podsec = cf;
		else if (nm && !strcmp(nm, "EventRateLimit"))
			a->erl = cf ? cf : pl->items[i];
	}
}

static void admission_free(struct admission *a)
{
	ynode_free(a->tree);
	free(a->path);
}

/* Pod security: which PSA level a 5.2.x control needs. */
static int psa_needed(const char *key)
{
	static const char *const restricted[] = {
		"policies.psa_restricted", "policies.allow_privilege_escalation", "policies.root_containers",
		"policies.net_raw", "policies.capabilities_assigned", "policies.seccomp_profile",
	};
	size_t i;

	for (i = 0; i < sizeof(restricted) / sizeof(restricted[0]); i++)
		if (!strcmp(key, restricted[i]))
			return 2;
	return 1;
}

static int psa_level(const char *s)
{
	if (!s)
		return 0;
	if (!strcmp(s, "restricted"))
		return 2;
	if (!strcmp(s, "baseline"))
		return 1;
	return 0;
}

static bool judge_psa(struct ctx *x, const struct bench_control *c, const struct admission *a)
{
	static const char *const allowed_ns[] = { "kube-system", "cis-operator-system",
						  "compliance-operator-system" };
	const struct ynode *def, *ex, *l;
	int need = psa_needed(c->key), have;
	bool ok = true;
	size_t i, j;

	if (x->C->major == 1 && x->C->minor < 25) {
		const char *pl = comp_flag(x->C, COMP_APISERVER, "enable-admission-plugins");

		if (pl && strstr(pl, "PodSecurityPolicy")) {
			evf(x, "enable-admission-plugins=%s (PodSecurityPolicy on K3s %s)", pl, x->C->version);
			return true;
		}
		evf(x, "K3s %s has no PodSecurity admission and PodSecurityPolicy is not enabled", x->C->version);
		fixf(x, "enable PodSecurityPolicy with restricted policies (the guide's v1.24 tab)");
		return false;
	}
	if (!a->flag) {
		evf(x, "kube-apiserver has no --admission-control-config-file: PodSecurity admits everything (privileged)");
		fixf(x, "configure PodSecurity defaults (profile pod_security, written to psa.yaml by apply)");
		return false;
	}
	if (!a->read) {
		evf(x, "the admission configuration %s cannot be read", a->path);
		fixf(x, "write %s (apply does)", a->path);
		return false;
	}
	if (!a->podsec) {
		evf(x, "%s configures no PodSecurity plugin: the default level is privileged", a->path);
		fixf(x, "add the PodSecurity plugin with enforce: restricted to %s", a->path);
		return false;
	}
	def = ynode_get(a->podsec, "defaults");
	have = psa_level(def ? sval(def, "enforce") : NULL);
	evf(x, "%s: PodSecurity enforce=%s", a->path, def && sval(def, "enforce") ? sval(def, "enforce") : "privileged");
	if (have < need) {
		fixf(x, "set defaults.enforce: %s in %s (profile pod_security.defaults.enforce)",
		     need == 2 ? "restricted" : "baseline", a->path);
		ok = false;
	}
	ex = ynode_get(a->podsec, "exemptions");
	l = ex ? ynode_get(ex, "namespaces") : NULL;
	for (i = 0; l && l->kind == YN_SEQ && i < l->n; i++) {
		bool fine = false;

		if (l->items[i]->kind != YN_SCALAR)
			continue;
		for (j = 0; j < sizeof(allowed_ns) / sizeof(allowed_ns[0]); j++)
			fine |= !strcmp(l->items[i]->value, allowed_ns[j]);
		if (!fine) {
			evf(x, "namespace %s is exempt from PodSecurity (%s:%u)", l->items[i]->value, a->path,
			    l->items[i]->start.line);
			fixf(x, "remove %s from exemptions.namespaces", l->items[i]->value);
			ok = false;
		}
	}
	for (i = 0; ex && i < 2; i++) {
		const char *k = i ? "runtimeClasses" : "usernames";

		l = ynode_get(ex, k);
		if (l && l->kind == YN_SEQ && l->n) {
			evf(x, "exemptions.%s is not empty (%s:%u)", k, a->path, l->start.line);
			fixf(x, "empty exemptions.%s", k);
			ok = false;
		}
	}
	return ok;
}

/* Secrets encryption: the first provider of every resource. */
static bool judge_encryption(struct ctx *x, const struct bench_control *c)
{
	const char *p = comp_flag(x->C, COMP_APISERVER, "encryption-provider-config");
	const char *want = c->test.n_items ? c->test.items[0].value : "aescbc,kms,secretbox";
	const struct ynode *res;
	struct ynode *t;
	bool missing, ok = true;
	char *k3s_path = NULL;
	size_t i;

	if (!p) {
		evf(x, "kube-apiserver has no --encryption-provider-config: secrets are stored unencrypted");
		fixf(x, "set secrets-encryption: true (profile k3s.settings)");
		return false;
	}
	if (asprintf(&k3s_path, "%s/cred/encryption-config.json", x->C->server_dir) < 0)
		return false;
	t = parse_host_file(x, p, "kube-apiserver", &missing);
	if (missing) {
		bool k3s = !strcmp(p, k3s_path) && keff_bool(&x->R->E, "secrets-encryption") == 1;

		free(k3s_path);
		if (k3s) {
			evf(x, "%s does not exist yet: K3s writes it at first start with aescbc first, then identity", p);
			return true;
		}
		refusef(x, p, 0, 0, "kube-apiserver will not start: --encryption-provider-config names %s, which does not exist", p);
		evf(x, "%s does not exist", p);
		fixf(x, "write %s or use secrets-encryption: true", p);
		return false;
	}
	free(k3s_path);
	if (!t) {
		evf(x, "%s cannot be read", p);
		return false;
	}
	res = ynode_get(t, "resources");
	if (!res || res->kind != YN_SEQ || !res->n) {
		evf(x, "%s lists no resources", p);
		ok = false;
	}
	for (i = 0; res && res->kind == YN_SEQ && i < res->n; i++) {
		const struct ynode *pv = ynode_get(res->items[i], "providers"), *first;
		const char *name;

		if (!pv || pv->kind != YN_SEQ || !pv->n || pv->items[0]->kind != YN_MAP || !pv->items[0]->n) {
			evf(x, "%s: resources[%zu] has no providers", p, i);
			ok = false;
			continue;
		}
		first = pv->items[0];
		name = first->keys[0]->value;
		evf(x, "%s:%u: resources[%zu] first provider %s", p, first->start.line, i, name);
		if (!check_op("valid_elements", true, name, want)) {
			fixf(x, "put one of %s before %s in %s (identity first stores secrets in plain text)", want,
			     name, p);
			ok = false;
		}
	}
	ynode_free(t);
	return ok;
}

/* ---- manifests ---- */

static const char *ns_key_at(const void *ctx, size_t pos, size_t *len)
{
	const struct ctx *x = ctx;

	*len = strlen(x->ns[pos].name);
	return x->ns[pos].name;
}

/* The namespace called name; with add, a new one at the end when there is none. */
static struct ns *ns_get(struct ctx *x, const char *name, bool add)
{
	long at = hidx_find(&x->ns_idx, name, strlen(name), ns_key_at, x);
	struct ns *nv;

	if (at >= 0)
		return &x->ns[at];
	if (!add)
		return NULL;
	if (x->n_ns == x->cap_ns) {
		size_t cap = x->cap_ns ? 2 * x->cap_ns : 64;

		if (!(nv = realloc(x->ns, cap * sizeof(*nv))))
			return NULL;
		x->ns = nv;
		x->cap_ns = cap;
	}
	nv = &x->ns[x->n_ns];
	memset(nv, 0, sizeof(*nv));
	if (!(nv->name = strdup(name)) || hidx_add(&x->ns_idx, x->n_ns, ns_key_at, x) < 0) {
		free(nv->name);
		return NULL;
	}
	return &x->ns[x->n_ns++];
}

static void ns_label(struct ns *n, const char *k, const char *v)
{
	char **nl = realloc(n->labels, (n->n_labels + 1) * sizeof(*nl));

	if (!nl)
		return;
	n->labels = nl;
	if (asprintf(&nl[n->n_labels], "%s=%s", k, v) >= 0)
		n->n_labels++;
}

static bool ns_has(const struct ns *n, const char *k, const char *v)
{
	size_t i, kl = strlen(k);

	if (!strcmp(k, "kubernetes.io/metadata.name"))
		return !strcmp(v, n->name);
	for (i = 0; i < n->n_labels; i++)
		if (!strncmp(n->labels[i], k, kl) && n->labels[i][kl] == '=' && !strcmp(n->labels[i] + kl + 1, v))
			return true;
	return false;
}

/* A Namespace object: the namespace, with its labels. */
static void ns_from_doc(struct ctx *x, const struct ynode *md)
{
	const struct ynode *lb = ynode_get(md, "labels");
	struct ns *s = sval(md, "name") ? ns_get(x, sval(md, "name"), true) : NULL;
	size_t j;

	for (j = 0; s && lb && lb->kind == YN_MAP && j < lb->n; j++)
		if (lb->items[j]->kind == YN_SCALAR)
			ns_label(s, lb->keys[j]->value, lb->items[j]->value);
}

static const char *doc_ns(const struct ynode *d)
{
	const struct ynode *md = ynode_get(d, "metadata");
	const char *ns = md ? sval(md, "namespace") : NULL;

	return ns ? ns : "default";
}

/* Whether policy spec selects pods labelled k8s-app=kube-dns. */
static bool selects_dns(const struct ynode *spec)
{
	const struct ynode *ps = ynode_get(spec, "podSelector"), *ml;
	size_t i;

	if (!ps || ps->kind != YN_MAP || !ps->n)
		return true;
	ml = ynode_get(ps, "matchLabels");
	if (ynode_get(ps, "matchExpressions"))
		return false;
	for (i = 0; ml && ml->kind == YN_MAP && i < ml->n; i++)
		if (strcmp(ml->keys[i]->value, "k8s-app") || ml->items[i]->kind != YN_SCALAR ||
		    strcmp(ml->items[i]->value, "kube-dns"))
			return false;
	return true;
}

static bool restricts_ingress(const struct ynode *spec)
{
	const struct ynode *pt = ynode_get(spec, "policyTypes");
	size_t i;

	if (!pt)
		return true;    /* Ingress is implied */
	for (i = 0; pt->kind == YN_SEQ && i < pt->n; i++)
		if (pt->items[i]->kind == YN_SCALAR && !strcmp(pt->items[i]->value, "Ingress"))
			return true;
	return false;
}

/* Which of 53/TCP (bit 1) and 53/UDP (bit 2) a policy lets everyone reach. */
static unsigned dns_allowed(const struct ynode *spec)
{
	const struct ynode *in = ynode_get(spec, "ingress");
	unsigned got = 0;
	size_t i, j;

	for (i = 0; in && in->kind == YN_SEQ && i < in->n; i++) {
		const struct ynode *r = in->items[i], *from = ynode_get(r, "from"), *ports = ynode_get(r, "ports");

		if (from && from->kind == YN_SEQ && from->n)
			continue;       /* not from everywhere */
		if (!ports || ports->kind != YN_SEQ || !ports->n)
			return 3;
		for (j = 0; j < ports->n; j++) {
			const char *port = sval(ports->items[j], "port"), *proto = sval(ports->items[j], "protocol");

			if (port && strcmp(port, "53") && strcmp(port, "dns") && strcmp(port, "dns-tcp"))
				continue;
			got |= !proto || !strcmp(proto, "TCP") ? 1u : !strcmp(proto, "UDP") ? 2u : 0u;
		}
	}
	return got;
}

static void pdoc_free(struct pdoc *p)
{
	size_t i, j;

	free(p->name);
	free(p->ns);
	for (i = 0; i < p->n_sels; i++) {
		for (j = 0; j < p->sels[i].n; j++) {
			free(p->sels[i].keys[j]);
			free(p->sels[i].values[j]);
		}
		free(p->sels[i].keys);
		free(p->sels[i].values);
	}
	free(p->sels);
}

/* A namespaceSelector's matchLabels, copied. */
static int sel_add(struct pdoc *p, const struct ynode *ml)
{
	struct nsel *nv = realloc(p->sels, (p->n_sels + 1) * sizeof(*nv)), *s;
	size_t m;

	if (!nv)
		return -ENOMEM;
	p->sels = nv;
	s = &nv[p->n_sels++];
	s->line = ml->start.line;
	s->n = 0;
	s->keys = calloc(ml->n, sizeof(*s->keys));
	s->values = calloc(ml->n, sizeof(*s->values));
	if (!s->keys || !s->values)
		return -ENOMEM;
	for (m = 0; m < ml->n; m++) {
		bool scalar = ml->items[m]->kind == YN_SCALAR;

		s->keys[m] = strdup(ml->keys[m]->value);
		s->values[m] = scalar ? strdup(ml->items[m]->value) : NULL;
		s->n++;
		if (!s->keys[m] || (scalar && !s->values[m]))
			return -ENOMEM;
	}
	return 0;
}

/*
 * What the judges need of one object, kept instead of its tree (a first
 * apply at 10,000 namespaces checks 20,000 objects): a NetworkPolicy's
 * namespace, name, DNS facts and namespace selectors; a default
 * ServiceAccount that mounts no token. Namespace objects go straight into
 * x->ns; nothing else is kept.
 */
static void doc_add(struct ctx *x, const struct ynode *t, unsigned file)
{
	const char *kind = sval(t, "kind");
	const struct ynode *md = ynode_get(t, "metadata"), *spec = ynode_get(t, "spec"), *in;
	struct pdoc p, *nd;
	size_t j, k;

	if (!kind)
		return;
	memset(&p, 0, sizeof(p));
	p.file = file;
	if (!strcmp(kind, "NetworkPolicy") && spec) {
		p.policy = true;
		in = ynode_get(spec, "ingress");
		for (j = 0; in && in->kind == YN_SEQ && j < in->n; j++) {
			const struct ynode *from = ynode_get(in->items[j], "from");

			for (k = 0; from && from->kind == YN_SEQ && k < from->n; k++) {
				const struct ynode *nsel = ynode_get(from->items[k], "namespaceSelector");
				const struct ynode *ml = nsel ? ynode_get(nsel, "matchLabels") : NULL;

				if (ml && ml->kind == YN_MAP && ml->n && sel_add(&p, ml) < 0)
					goto fail;
			}
		}
		if (!strcmp(doc_ns(t), "kube-system") && selects_dns(spec)) {
			p.dns_selected = true;
			p.restricts = restricts_ingress(spec);
			p.dns = dns_allowed(spec);
		}
	} else if (!strcmp(kind, "ServiceAccount") && md && sval(md, "name") &&
		   !strcmp(sval(md, "name"), "default")) {
		const char *am = sval(t, "automountServiceAccountToken");

		if (!am || strcmp(am, "false"))
			return;         /* mounts a token: changes nothing */
	} else {
		return;
	}
	p.ns = strdup(doc_ns(t));
	if (md && sval(md, "name") && !(p.name = strdup(sval(md, "name"))))
		goto fail;
	if (!p.ns)
		goto fail;
	if (x->n_docs == x->cap_docs) {
		size_t cap = x->cap_docs ? 2 * x->cap_docs : 64;

		if (!(nd = realloc(x->docs, cap * sizeof(*nd))))
			goto fail;
		x->docs = nd;
		x->cap_docs = cap;
	}
	x->docs[x->n_docs++] = p;
	return;
fail:
	pdoc_free(&p);
}

/* The file name a document came from, kept once per file; its index, or -1. */
static long doc_file(struct ctx *x, const char *file)
{
	char **nf;

	if (x->n_doc_files && !strcmp(x->doc_files[x->n_doc_files - 1], file))
		return (long)x->n_doc_files - 1;
	if (!(nf = realloc(x->doc_files, (x->n_doc_files + 1) * sizeof(*nf))))
		return -1;
	x->doc_files = nf;
	if (!(nf[x->n_doc_files] = strdup(file)))
		return -1;
	return (long)x->n_doc_files++;
}

/* One object of a manifest or of the cluster: into x->ns or x->docs. */
static void object_add(struct ctx *x, const struct ynode *t, const char *file)
{
	const char *kind = sval(t, "kind");
	const struct ynode *md = ynode_get(t, "metadata");
	long f;

	if (kind && md && !strcmp(kind, "Namespace"))
		ns_from_doc(x, md);
	else if (kind && (!strcmp(kind, "NetworkPolicy") || !strcmp(kind, "ServiceAccount")) &&
		 (f = doc_file(x, file)) >= 0)
		doc_add(x, t, (unsigned)f);
}

/* The offset just past the line that starts at i. */
static size_t next_line(const char *data, size_t i, size_t len)
{
	const char *nl = memchr(data + i, '\n', len - i);

	return nl ? (size_t)(nl - data) + 1 : len;
}

static bool doc_marker(const char *data, size_t i, size_t len)
{
	return len - i >= 3 && !strncmp(data + i, "---", 3) &&
	       (len - i == 3 || data[i + 3] == '\n' || data[i + 3] == ' ' || data[i + 3] == '\r');
}

/* Split a multi-document file at "---" lines and take each document's objects, one tree at a time. */
static void parse_docs(struct ctx *x, const char *file, const char *data, size_t len)
{
	size_t start = 0;

	while (start < len) {
		size_t i, end = len;
		struct diags pd = { NULL, 0, 0 };
		struct ynode *t = NULL;

		if (doc_marker(data, start, len))
			start = next_line(data, start, len);
		for (i = start; i < len; i = next_line(data, i, len))
			if (doc_marker(data, i, len)) {
				end = i;
				break;
			}
		if (ynode_parse(file, data + start, end - start, YN_ALLOW_EMPTY, &t, &pd) < 0) {
			diags_add(&x->R->notes, file, pd.n ? pd.v[0].line : 0, 0,
				  "K3s cannot apply this manifest (%s)", pd.n ? pd.v[0].msg : "invalid YAML");
		} else if (t && t->kind == YN_MAP) {
			object_add(x, t, file);
		}
		ynode_free(t);
		diags_free(&pd);
		start = end;
	}
}

static void read_manifests(struct ctx *x)
{
	struct buf dir = BUF_INIT;
	char **names = NULL, **skips = NULL;
	size_t n = 0, n_skips = 0, i, j;

	if (x->manifests_read)
		return;
	x->manifests_read = true;
	buf_printf(&dir, "%s/manifests", x->C->server_dir);
	if (ck_list(x, dir.data, &names, &n) == 0) {
		/* the NAME.skip files, looked at for each manifest (few, or none) */
		for (i = 0; i < n; i++) {
			size_t l = strlen(names[i]);
			char **nv;

			if (l > 5 && !strcmp(names[i] + l - 5, ".skip") && (nv = realloc(skips, (n_skips + 1) * sizeof(*nv)))) {
				skips = nv;
				skips[n_skips++] = names[i];
			}
		}
		for (i = 0; i < n; i++) {
			size_t l = strlen(names[i]);
			bool skip = false;
			struct buf p = BUF_INIT;
			char *data = NULL;
			size_t len;

			if (!(l > 5 && !strcmp(names[i] + l - 5, ".yaml")) && !(l > 4 && !strcmp(names[i] + l - 4, ".yml")) &&
			    !(l > 5 && !strcmp(names[i] + l - 5, ".json")))
				continue;
			for (j = 0; j < n_skips; j++)       /* K3s skips NAME when NAME.skip exists */
				skip |= strlen(skips[j]) == l + 5 && !strncmp(skips[j], names[i], l);
			buf_printf(&p, "%s/%s", dir.data, names[i]);
			if (!skip && read_host_file(x, p.data, &data, &len) == 0)
				parse_docs(x, p.data, data, len);
			free(data);
			buf_free(&p);
		}
		free(skips);
		names_free(names, n);
	}
	buf_free(&dir);
}

/* Whether some namespace known so far has every label of s. */
static bool sel_matches(struct ctx *x, const struct nsel *s)
{
	size_t q, m;

	/* a name label matches one namespace at most: look that one up */
	for (m = 0; m < s->n; m++)
		if (s->values[m] && !strcmp(s->keys[m], "kubernetes.io/metadata.name")) {
			const struct ns *one = ns_get(x, s->values[m], false);
			bool all = one != NULL;

			for (q = 0; all && q < s->n; q++)
				all = s->values[q] && ns_has(one, s->keys[q], s->values[q]);
			return all;
		}
	for (q = 0; q < x->n_ns; q++) {
		bool all = true;

		for (m = 0; m < s->n; m++)
			all &= s->values[m] && ns_has(&x->ns[q], s->keys[m], s->values[m]);
		if (all)
			return true;
	}
	return false;
}

/* Whether name is in the effective disable: list (entries may hold comma-separated names). */
static bool listed_disable(struct ctx *x, const char *name)
{
	const struct keff_key *k = keff_get(&x->R->E, "disable");
	size_t i, l = strlen(name);

	for (i = 0; k && i < k->n; i++) {
		const char *s = k->items[i].value;

		while (s && *s) {
			size_t m = strcspn(s, ",");

			if (m == l && !strncmp(s, name, l))
				return true;
			s += m + (s[m] == ',');
		}
	}
	return false;
}

static bool judge_netpol(struct ctx *x)
{
	bool ok = true, dns_restricted = false;
	unsigned dns = 0;
	size_t i, j, count = 0;
	struct buf missing = BUF_INIT;

	read_manifests(x);
	for (i = 0; i < x->n_docs; i++) {
		const struct pdoc *p = &x->docs[i];
		struct ns *s;

		if (!p->policy)
			continue;
		count++;
		if ((s = ns_get(x, p->ns, true)))
			s->policy = true;
		if (p->dns_selected) {
			if (p->restricts)
				dns_restricted = true;
			dns |= p->dns;
		}
		for (j = 0; j < p->n_sels; j++) {
			const struct nsel *sel = &p->sels[j];

			if (!sel_matches(x, sel)) {
				evf(x, "%s:%u: policy %s/%s selects namespaces labelled %s=%s, which no namespace has",
				    x->doc_files[p->file], sel->line, p->ns, p->name ?: "?", sel->keys[0],
				    sel->values[0] ?: "?");
				fixf(x, "select the namespace by kubernetes.io/metadata.name or label it");
				ok = false;
			}
		}
	}
	for (i = 0; i < x->n_ns; i++)
		if (!x->ns[i].policy) {
			buf_printf(&missing, "%s%s", missing.len ? ", " : "", x->ns[i].name);
			ok = false;
		}
	if (missing.len) {
		evf(x, "no network policy in namespace%s %s", strchr(missing.data, ',') ? "s" : "", missing.data);
		fixf(x, "add a policy for each namespace (profile network_policies.namespaces)");
	}
	if (dns_restricted && !listed_disable(x, "coredns") && dns != 3) {
		evf(x, "kube-system restricts ingress to CoreDNS but allows only %s",
		    dns == 1 ? "53/TCP" : dns == 2 ? "53/UDP" : "neither 53/TCP nor 53/UDP");
		fixf(x, "allow 53/TCP and 53/UDP to k8s-app=kube-dns (profile network_policies.allow_dns)");
		ok = false;
	}
	if (ok)
		evf(x, "%zu network polic%s; every one of %zu namespaces has one%s", count, count == 1 ? "y" : "ies",
		    x->n_ns, dns_restricted ? "; DNS reachable on 53/TCP and 53/UDP" : "");
	if (ok && keff_bool(&x->R->E, "disable-network-policy") == 1) {
		x->st = CHECK_WARN;
		evf(x, "disable-network-policy: K3s's policy controller does not run, so the policies are enforced only by a CNI that does");
		ok = false;
	}
	buf_free(&missing);
	return ok;
}

static bool judge_default_sa(struct ctx *x)
{
	struct buf missing = BUF_INIT;
	bool ok;
	size_t i;

	read_manifests(x);
	for (i = 0; i < x->n_docs; i++) {       /* the default ServiceAccounts that mount no token */
		struct ns *s;

		if (!x->docs[i].policy && (s = ns_get(x, x->docs[i].ns, false)))
			s->sa_ok = true;
	}
	for (i = 0; i < x->n_ns; i++)
		if (!x->ns[i].sa_ok)
			buf_printf(&missing, "%s%s", missing.len ? ", " : "", x->ns[i].name);
	ok = !missing.len;
	if (ok) {
		evf(x, "the default ServiceAccount of all %zu namespaces mounts no token (manifests in %s/manifests)",
		    x->n_ns, x->C->server_dir);
	} else {
		evf(x, "the default ServiceAccount mounts a token in %s", missing.data);
		fixf(x, "set automountServiceAccountToken: false on them (profile service_accounts.namespaces)");
	}
	buf_free(&missing);
	return ok;
}

/* ---- kernel parameters (systemd-sysctl order) ---- */

/* What the kubelet checks with protect-kernel-defaults (setupKernelTunables). */
static const struct { const char *key, *value; } kubelet_sysctls[] = {
	{ "vm.overcommit_memory", "1" }, { "vm.panic_on_oom", "0" }, { "kernel.panic", "10" },
	{ "kernel.panic_on_oops", "1" }, { "kernel.keys.root_maxkeys", "1000000" },
	{ "kernel.keys.root_maxbytes", "25000000" },
};

struct sysval {
	char *value;
	char *file;
	unsigned line;
};

static bool sysctl_key_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !((*a == '.' || *a == '/') && (*b == '.' || *b == '/')))
			return false;
	return !*a && !*b;
}

/* The value systemd-sysctl leaves for each of the kubelet's keys: files by name across the directories, first directory wins a name, then /etc/sysctl.conf. */
static void sysctl_boot(struct ctx *x, struct sysval *out)
{
	static const char *const dirs[] = { "/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d",
					    "/usr/lib/sysctl.d", "/lib/sysctl.d" };
	char **all = NULL;
	size_t n_all = 0, i, j, k;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char **names = NULL;
		size_t n = 0;

		if (ck_list(x, dirs[i], &names, &n) < 0)
			continue;
		for (j = 0; j < n; j++) {
			size_t l = strlen(names[j]);
			bool dup = false;
			char **na;

			if (l < 6 || strcmp(names[j] + l - 5, ".conf"))
				continue;
			for (k = 0; k < n_all && !dup; k++)
				dup = !strcmp(strrchr(all[k], '/') + 1, names[j]);
			if (dup || !(na = realloc(all, (n_all + 1) * sizeof(*na))))
				continue;
			all = na;
			if (asprintf(&all[n_all], "%s/%s", dirs[i], names[j]) >= 0)
				n_all++;
		}
		names_free(names, n);
	}
	/* sort by file name */
	for (i = 1; i < n_all; i++)
		for (j = i; j > 0 && strcmp(strrchr(all[j - 1], '/'), strrchr(all[j], '/')) > 0; j--) {
			char *t = all[j];

			all[j] = all[j - 1];
			all[j - 1] = t;
		}
	{
		char **na = realloc(all, (n_all + 1) * sizeof(*na));

		if (na) {
			all = na;
			if ((all[n_all] = strdup("/etc/sysctl.conf")))
				n_all++;
		}
	}
	for (i = 0; i < n_all; i++) {
		char *data = NULL;
		size_t len;

		if (read_host_file(x, all[i], &data, &len) == 0) {
			/* line by line, for the line numbers */
			char *line = data, *nl;
			unsigned ln = 0;

			for (; line && *line; line = nl ? nl + 1 : NULL) {
				struct sysctl_kv *kv = NULL;
				size_t nkv = 0;

				nl = strchr(line, '\n');
				ln++;
				if (sysctl_parse(line, nl ? (size_t)(nl - line) : strlen(line), &kv, &nkv) == 0) {
					for (j = 0; j < nkv; j++)
						for (k = 0; k < sizeof(kubelet_sysctls) / sizeof(kubelet_sysctls[0]); k++)
							if (sysctl_key_eq(kv[j].key, kubelet_sysctls[k].key)) {
								free(out[k].value);
								free(out[k].file);
								out[k].value = strdup(kv[j].value);
								out[k].file = strdup(all[i]);
								out[k].line = ln;
							}
					sysctl_free(kv, nkv);
				}
			}
		}
		free(data);
		free(all[i]);
	}
	free(all);
}

/* With protect-kernel-defaults the kubelet exits when a value differs: a reason K3s will not run. Returns whether all are right. */
static bool judge_sysctls(struct ctx *x, struct buf *ev)
{
	struct sysval v[sizeof(kubelet_sysctls) / sizeof(kubelet_sysctls[0])];
	const struct comp_setting *pk = comp_setting(&x->C->kubelet, "protectKernelDefaults");
	const char *flag = comp_flag(x->C, COMP_KUBELET, "protect-kernel-defaults");
	bool on = (flag && !strcasecmp(flag, "true")) || (pk && !strcasecmp(pk->value, "true"));
	bool ok = true;
	size_t i;

	if (!on || !x->C->line[COMP_KUBELET].runs)
		return true;
	memset(v, 0, sizeof(v));
	sysctl_boot(x, v);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *want = kubelet_sysctls[i].value;

		if (v[i].value && !sysctl_equal(v[i].value, want)) {
			refusef(x, v[i].file, v[i].line, 0, "the kubelet (protect-kernel-defaults) will refuse to start: "
				"%s sets %s=%s, it needs %s (a later sysctl file overrides k3s-harden's)",
				v[i].file, kubelet_sysctls[i].key, v[i].value, want);
			buf_printf(ev, "%s%s:%u sets %s=%s", ev->len ? "; " : "", v[i].file, v[i].line,
				   kubelet_sysctls[i].key, v[i].value);
			ok = false;
		} else if (!v[i].value && !x->o->live) {
			refusef(x, NULL, 0, 0, "the kubelet (protect-kernel-defaults) will refuse to start after a reboot: "
				"no sysctl file sets %s=%s", kubelet_sysctls[i].key, want);
			buf_printf(ev, "%sno sysctl file sets %s", ev->len ? "; " : "", kubelet_sysctls[i].key);
			ok = false;
		}
		if (x->o->live) {
			char *live = NULL;

			if (sysctl_get(x->o->root, kubelet_sysctls[i].key, &live) == 0 && !sysctl_equal(live, want)) {
				refusef(x, NULL, 0, 0, "the kubelet (protect-kernel-defaults) will refuse to start: the running "
					"kernel has %s=%s, it needs %s", kubelet_sysctls[i].key, live, want);
				buf_printf(ev, "%slive %s=%s", ev->len ? "; " : "", kubelet_sysctls[i].key, live);
				ok = false;
			}
			free(live);
		}
		free(v[i].value);
		free(v[i].file);
	}
	return ok;
}

/* ---- the live cluster ---- */

/* Everything a pipe gives until EOF, at most max bytes (NUL-terminated). */
static int read_pipe(int fd, size_t max, char **out, size_t *len)
{
	struct buf b = BUF_INIT;
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			buf_free(&b);
			return -errno;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max || buf_add(&b, chunk, (size_t)n) < 0) {
			buf_free(&b);
			return -EFBIG;
		}
	}
	*len = b.len;
	*out = b.data ? buf_steal(&b) : strdup("");
	return *out ? 0 : -ENOMEM;
}

static int run_kubectl(struct ctx *x, char **out, size_t *len, struct diags *d)
{
	static const char *const bins[] = { "/usr/local/bin/k3s", "/usr/bin/k3s", "/bin/k3s" };
	const char *bin = x->o->kubectl;
	char *const envp[] = { (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			       (char *)"LC_ALL=C", NULL };
	int p[2], status = 0, r;
	size_t i;
	pid_t pid;

	for (i = 0; !bin && i < sizeof(bins) / sizeof(bins[0]); i++)
		if (access(bins[i], X_OK) == 0)
			bin = bins[i];
	if (!bin) {
		diags_add(d, "--cluster", 0, 0, "no k3s binary in /usr/local/bin, /usr/bin or /bin");
		return -ENOENT;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		char *const argv[] = { (char *)"k3s", (char *)"kubectl", (char *)"get",
				       (char *)"namespaces,networkpolicies,serviceaccounts", (char *)"-A",
				       (char *)"-o", (char *)"json", NULL };
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		execve(bin, argv, envp);
		_exit(127);
	}
	close(p[1]);
	r = read_pipe(p[0], 64u << 20, out, len);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return r;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		diags_add(d, bin, 0, 0, "k3s kubectl get namespaces,networkpolicies,serviceaccounts failed (exit %d)",
			  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -EIO;
	}
	return 0;
}

static int read_cluster(struct ctx *x, struct diags *d)
{
	struct diags pd = { NULL, 0, 0 };
	struct ynode *t = NULL;
	const struct ynode *items;
	char *data = NULL;
	size_t len = 0, i;
	int r = run_kubectl(x, &data, &len, d);

	if (r < 0) {
		free(data);
		return r;
	}
	if (ynode_parse("kubectl output", data, len, 0, &t, &pd) < 0) {
		diags_add(d, "kubectl output", 0, 0, "not JSON: %s", pd.n ? pd.v[0].msg : "?");
		diags_free(&pd);
		free(data);
		return -EINVAL;
	}
	items = ynode_get(t, "items");
	for (i = 0; items && items->kind == YN_SEQ && i < items->n; i++) {
		const char *kind = sval(items->items[i], "kind");
		const struct ynode *md = ynode_get(items->items[i], "metadata");

		if (kind && md && sval(md, "name"))
			object_add(x, items->items[i], "cluster");
	}
	x->R->cluster = true;
	ynode_free(t);
	free(data);
	return 0;
}

/* ---- one control ---- */

static bool etcd_related(const struct bench_control *c)
{
	return !strncmp(c->key, "etcd.", 5) || !strncmp(c->key, "file.etcd_", 10) ||
	       !strcmp(c->key, "apiserver.etcd_client_cert") || !strcmp(c->key, "apiserver.etcd_cafile");
}

/* 5.2.x of every benchmark: what pod admission (PSA, or PSP on K3s <= 1.24) decides. */
static bool pod_security_control(const struct bench_control *c)
{
	return !strncmp(c->key, "policies.", 9) && !strncmp(c->id, "5.2.", 4);
}

static void judge(struct ctx *x, const struct bench_control *c, struct check_control *out,
		  struct admission *adm)
{
	enum comp_id id = control_comp(c);
	const char *comp = c->test.component ? c->test.component : "none";
	bool pass = false, judged = true;
	struct components *C = x->C;

	x->st = CHECK_NSTATUS;
	buf_reset(&x->ev);
	buf_reset(&x->fix);
	out->c = c;
	out->setting = x->R->profile ? check_profile_setting(x->R->profile, c) : NULL;
	if (c->role == BROLE_SERVER && !C->server) {
		x->st = CHECK_INFO;
		evf(x, "a control of the server: not judged on an agent");
	} else if (c->remedy == REMEDY_NA) {
		x->st = CHECK_INFO;
		evf(x, "not applicable to K3s: %s", c->note ? c->note : "see the benchmark");
	} else if (etcd_related(c) && C->ds != DS_ETCD) {
		if (C->ds == DS_KINE && (!strcmp(c->key, "apiserver.etcd_client_cert") ||
					 !strcmp(c->key, "apiserver.etcd_cafile"))) {
			/* K3s hands datastore-* to kine, which talks to the database over the network */
			bool cert = keff_value(&x->R->E, "datastore-certfile") && keff_value(&x->R->E, "datastore-keyfile");
			bool ca = keff_value(&x->R->E, "datastore-cafile") != NULL;

			pass = !strcmp(c->key, "apiserver.etcd_cafile") ? ca : cert;
			evf(x, "datastore %s through kine: %s", C->datastore_endpoint ? C->datastore_endpoint : "?",
			    pass ? "TLS client files set" : "no TLS client authentication to the database");
			if (!pass)
				fixf(x, "set %s for the datastore connection",
				     !strcmp(c->key, "apiserver.etcd_cafile") ? "datastore-cafile" :
				     "datastore-certfile and datastore-keyfile");
		} else {
			x->st = CHECK_INFO;
			evf(x, "not applicable: the datastore is %s, not the embedded etcd", datastore_name(C->ds));
		}
	} else if (id < COMP_N && id != COMP_ETCD && !C->line[id].runs && strcmp(comp, "file")) {
		x->st = CHECK_INFO;
		evf(x, "%s does not run on this node (%s)", comp_name(id), C->line[id].why_not ? C->line[id].why_not : "");
	} else if (!strcmp(c->key, "apiserver.encryption_providers")) {
		pass = judge_encryption(x, c);
	} else if (!strcmp(c->key, "policies.network_policies")) {
		pass = judge_netpol(x);
	} else if (!strcmp(c->key, "policies.default_sa_automount")) {
		pass = judge_default_sa(x);
	} else if (pod_security_control(c)) {
		pass = judge_psa(x, c, adm);
	} else if (c->remedy == REMEDY_MANUAL || !strcmp(comp, "none") || !strcmp(comp, "cluster")) {
		x->st = CHECK_WARN;
		evf(x, "a manual control: %s", c->note ? c->note : "review it; no host file decides it");
		fixf(x, "review by hand (the benchmark's remediation)");
	} else if (!strcmp(comp, "file")) {
		pass = judge_file(x, c);
	} else if (id < COMP_N) {
		pass = judge_component(x, c, id);
		if (!strcmp(c->key, "apiserver.audit_log_path") && pass) {
			const char *p = comp_flag(C, COMP_APISERVER, "audit-log-path");
			char *dir = p && *p == '/' ? strdup(p) : NULL, *sl;
			struct stat st;

			if (dir && (sl = strrchr(dir, '/')) && sl != dir) {
				*sl = '\0';
				if (ck_stat(x, dir, &st) < 0) {
					evf(x, "the audit log directory %s does not exist", dir);
					fixf(x, "create %s with mode 0700 (apply does)", dir);
					pass = false;
				} else if (!S_ISDIR(st.st_mode) || (st.st_mode & 077)) {
					evf(x, "the audit log directory %s has mode %o (want 700)", dir,
					    (unsigned)(st.st_mode & 07777));
					fixf(x, "chmod 700 %s (apply does)", dir);
					pass = false;
				} else {
					evf(x, "the audit log directory %s has mode 700", dir);
				}
			}
			free(dir);
		}
		if (!strcmp(c->key, "kubelet.protect_kernel_defaults") && pass) {
			struct buf e = BUF_INIT;

			if (!judge_sysctls(x, &e)) {
				evf(x, "%s", e.data);
				fixf(x, "keep the kubelet's kernel values in the last sysctl file (apply writes 90-kubelet.conf)");
				pass = false;
			}
			buf_free(&e);
		}
	} else {
		judged = false;
		x->st = CHECK_WARN;
		evf(x, "no test k3s-harden can run for component %s", comp);
	}
	if (x->st == CHECK_NSTATUS && judged) {
		if (pass)
			x->st = CHECK_PASS;
		else if (c->assessment && !strcmp(c->assessment, "manual") && !out->setting)
			x->st = CHECK_WARN;     /* a Manual control no profile setting serves */
		else
			x->st = CHECK_FAIL;
	}
	out->status = x->st;
	out->evidence = strdup(x->ev.data ? x->ev.data : "");
	out->remediation = x->st == CHECK_FAIL || x->st == CHECK_WARN ?
			   (x->fix.len ? strdup(x->fix.data) : NULL) : NULL;
	if (out->remediation && out->setting && x->st == CHECK_FAIL && !strstr(out->remediation, "(profile")) {
		char *s;

		if (asprintf(&s, "%s (profile setting %s: apply fixes it)", out->remediation, out->setting) >= 0) {
			free(out->remediation);
			out->remediation = s;
		}
	}
}

/* Reasons outside any control that K3s or its components would not start. */
static void preflight(struct ctx *x, struct admission *adm)
{
	struct components *C = x->C;
	const char *v = x->o->k3s_version ? x->o->k3s_version : x->R->bench->k3s_max;
	const struct keff_item *it = keff_flag(&x->R->E, "kube-apiserver-arg", "enable-admission-plugins");
	const struct ynode *at = it ? it->node : NULL;
	const struct k3s_plugin_range *pr;
	const char *p, *file = at ? at->file : NULL;
	unsigned line = at ? at->start.line : 0, col = at ? at->start.col : 0;
	size_t i, n;
	bool missing;

	if (!C->line[COMP_APISERVER].runs)
		return;
	p = comp_flag(C, COMP_APISERVER, "enable-admission-plugins");
	if (p && strstr(p, "EventRateLimit") && adm->read && !adm->erl)
		refusef(x, adm->path, 0, 0, "kube-apiserver will not start: EventRateLimit is enabled but %s has no "
			"configuration for it", adm->path);
	if (p && strstr(p, "EventRateLimit") && !adm->flag)
		refusef(x, file, line, col, "kube-apiserver will not start: EventRateLimit is enabled without "
			"--admission-control-config-file");
	/* a plugin the version does not know (PodSecurityPolicy on 1.25 and later) */
	pr = k3s_plugin_ranges(&n);
	for (i = 0; p && v && i < n; i++)
		if (keff_csv_has(p, pr[i].plugin) && !k3s_version_in(v, pr[i].since, pr[i].before))
			refusef(x, file, line, col, "kube-apiserver will not start: K3s %s does not know admission "
				"plugin %s (%s %s)", v, pr[i].plugin, pr[i].before ? "removed in" : "added in",
				pr[i].before ? pr[i].before : pr[i].since);
	p = comp_flag(C, COMP_APISERVER, "audit-policy-file");
	if (p) {
		struct ynode *t = parse_host_file(x, p, "kube-apiserver", &missing);

		if (missing)
			refusef(x, p, 0, 0, "kube-apiserver will not start: --audit-policy-file names %s, which does not exist", p);
		ynode_free(t);
	}
}

int check_run(const struct check_opts *o, struct check_report *R, struct diags *d)
{
	struct ctx x;
	struct admission adm;
	const char *name = o->benchmark ? o->benchmark : check_default_benchmark(NULL);
	const struct ynode *fresh;
	const char *version;
	struct diags kd = { NULL, 0, 0 };
	size_t i;
	int r;

	memset(R, 0, sizeof(*R));
	memset(&x, 0, sizeof(x));
	R->E = (struct keff)KEFF_INIT;
	R->server = o->server;
	R->profile = o->profile;
	if (!(R->bench = benchmark_find(name)))
		return -ENOENT;
	if (o->k3s_version)
		R->k3s_version = strdup(o->k3s_version);
	version = o->k3s_version ? o->k3s_version : R->bench->k3s_max;
	r = keff_read_root(&R->E, o->root, NULL, &kd, &R->notes);
	if (r < 0) {
		/* K3s would not start: report why and judge nothing */
		for (i = 0; i < kd.n; i++)
			diags_add(&R->refuse, kd.v[i].file, kd.v[i].line, kd.v[i].col,
				  "K3s will not start: %s", kd.v[i].msg);
		if (!kd.n)
			diags_add(&R->refuse, "config.yaml", 0, 0, "K3s will not start: %s", strerror(-r));
		diags_free(&kd);
		return 0;
	}
	diags_free(&kd);
	r = components_build(&R->comps, &R->E, o->root, version, o->server, d);
	if (r < 0)
		return r;
	for (i = 0; i < R->comps.refuse.n; i++)
		diags_add(&R->refuse, R->comps.refuse.v[i].file, R->comps.refuse.v[i].line, R->comps.refuse.v[i].col,
			  "%s", R->comps.refuse.v[i].msg);
	x.o = o;
	x.R = R;
	x.C = &R->comps;
	if ((r = dirfds_new(o->root, &x.dirs)) < 0 && r != -ENOENT)
		return r;
	/* the namespaces of a fresh cluster, then the cluster's own */
	{
		struct diags fd = { NULL, 0, 0 };

		fresh = ynode_get(components_facts(&fd), "namespaces");
		for (i = 0; fresh && fresh->kind == YN_SEQ && i < fresh->n; i++)
			if (sval(fresh->items[i], "name"))
				ns_get(&x, sval(fresh->items[i], "name"), true);
		diags_free(&fd);
	}
	if (o->cluster && (r = read_cluster(&x, d)) < 0)
		goto out;
	r = 0;
	admission_load(&x, &adm);
	preflight(&x, &adm);
	{
		struct buf e = BUF_INIT;

		judge_sysctls(&x, &e);
		buf_free(&e);
	}
	R->v = calloc(R->bench->n_controls, sizeof(*R->v));
	if (!R->v) {
		r = -ENOMEM;
		admission_free(&adm);
		goto out;
	}
	for (i = 0; i < R->bench->n_controls; i++) {
		judge(&x, &R->bench->controls[i], &R->v[i], &adm);
		R->totals[R->v[i].status]++;
		R->n++;
	}
	for (i = 0; i < x.n_ns; i++)
		if (!x.ns[i].policy) {
			char **nv = realloc(R->no_policy, (R->n_no_policy + 1) * sizeof(*nv));

			if (nv && (nv[R->n_no_policy] = strdup(x.ns[i].name))) {
				R->no_policy = nv;
				R->n_no_policy++;
			} else if (nv) {
				R->no_policy = nv;
			}
		}
	admission_free(&adm);
out:
	dirfds_free(x.dirs);
	for (i = 0; i < x.n_ns; i++) {
		size_t j;

		for (j = 0; j < x.ns[i].n_labels; j++)
			free(x.ns[i].labels[j]);
		free(x.ns[i].labels);
		free(x.ns[i].name);
	}
	free(x.ns);
	hidx_free(&x.ns_idx);
	for (i = 0; i < x.n_docs; i++)
		pdoc_free(&x.docs[i]);
	free(x.docs);
	for (i = 0; i < x.n_doc_files; i++)
		free(x.doc_files[i]);
	free(x.doc_files);
	buf_free(&x.ev);
	buf_free(&x.fix);
	return r;
}

void check_report_free(struct check_report *R)
{
	size_t i;

	for (i = 0; i < R->n; i++) {
		free(R->v[i].evidence);
		free(R->v[i].remediation);
	}
	free(R->v);
	for (i = 0; i < R->n_no_policy; i++)
		free(R->no_policy[i]);
	free(R->no_policy);
	components_free(&R->comps);
	keff_free(&R->E);
	diags_free(&R->refuse);
	diags_free(&R->notes);
	free(R->k3s_version);
	memset(R, 0, sizeof(*R));
}

void check_report_json(const struct check_report *R, long generation, struct buf *b)
{
	size_t i;

	buf_adds(b, "{\"benchmark\":");
	json_str(b, R->bench ? R->bench->name : "");
	buf_printf(b, ",\"role\":\"%s\",\"k3s_version\":", R->server ? "server" : "agent");
	if (R->k3s_version)
		json_str(b, R->k3s_version);
	else
		buf_adds(b, "null");
	if (generation >= 0)
		buf_printf(b, ",\"generation\":%ld", generation);
	buf_adds(b, ",\"emulated_k3s_version\":");
	json_str(b, R->comps.version);
	buf_adds(b, ",\"refuses_to_start\":[");
	for (i = 0; i < R->refuse.n; i++) {
		char *m = diag_format(&R->refuse.v[i]);

		if (i)
			buf_addc(b, ',');
		json_str(b, m ? m : R->refuse.v[i].msg);
		free(m);
	}
	buf_adds(b, "],\"controls\":[");
	for (i = 0; i < R->n; i++) {
		const struct check_control *c = &R->v[i];

		buf_adds(b, i ? ",{\"id\":" : "{\"id\":");
		json_str(b, c->c->id);
		buf_adds(b, ",\"key\":");
		json_str(b, c->c->key);
		buf_adds(b, ",\"title\":");
		json_str(b, c->c->title);
		buf_printf(b, ",\"status\":\"%s\",\"scored\":%s,\"evidence\":", check_status_name(c->status),
			   c->c->scored ? "true" : "false");
		json_str(b, c->evidence ? c->evidence : "");
		buf_adds(b, ",\"remediation\":");
		if (c->remediation)
			json_str(b, c->remediation);
		else
			buf_adds(b, "null");
		buf_adds(b, ",\"setting\":");
		if (c->setting)
			json_str(b, c->setting);
		else
			buf_adds(b, "null");
		buf_addc(b, '}');
	}
	buf_printf(b, "],\"totals\":{\"PASS\":%u,\"FAIL\":%u,\"WARN\":%u,\"INFO\":%u}",
		   R->totals[CHECK_PASS], R->totals[CHECK_FAIL], R->totals[CHECK_WARN], R->totals[CHECK_INFO]);
	if (R->cluster) {
		buf_adds(b, ",\"namespaces_without_policy\":[");
		for (i = 0; i < R->n_no_policy; i++) {
			if (i)
				buf_addc(b, ',');
			json_str(b, R->no_policy[i]);
		}
		buf_addc(b, ']');
	}
	buf_addc(b, '}');
}

static void keff_json(const struct keff *E, struct buf *b)
{
	size_t i, j;

	buf_addc(b, '{');
	for (i = 0; i < E->n; i++) {
		const struct keff_key *k = &E->keys[i];

		if (i)
			buf_addc(b, ',');
		json_str(b, k->name);
		buf_adds(b, ":[");
		for (j = 0; j < k->n; j++) {
			if (j)
				buf_addc(b, ',');
			json_str(b, k->items[j].value ? k->items[j].value : "");
		}
		buf_addc(b, ']');
	}
	buf_addc(b, '}');
}

int check_evidence_json(const char *root, const char *id, bool server, bool live, const struct profile *p,
			const char *k3s_version, unsigned *fails, struct buf *b, struct diags *d)
{
	struct check_opts o = { root, NULL, server, false, live, NULL, NULL, p };
	struct check_report R;
	long gen = strtol(id, NULL, 10);
	int r;

	*fails = 0;
	o.k3s_version = k3s_version ? k3s_version : p ? p->env.k3s_version : NULL;
	/* a profile that picks the benchmark by version (cis): the one for this version */
	if (k3s_version && (!p || !p->benchmark || !strcmp(p->benchmark, "auto")) &&
	    benchmark_newest_covering(k3s_version, NULL))
		o.benchmark = benchmark_newest_covering(k3s_version, NULL);
	else
		o.benchmark = check_default_benchmark(p);
	r = check_run(&o, &R, d);
	if (r < 0) {
		check_report_free(&R);
		return r;
	}
	*fails = R.totals[CHECK_FAIL];
	buf_printf(b, "{\"generation\":%ld,\"effective_config\":", gen);
	keff_json(&R.E, b);
	buf_adds(b, ",\"components\":");
	if (R.comps.data_dir)
		components_json(&R.comps, b);
	else
		buf_adds(b, "null");    /* K3s would not start: none were made */
	buf_adds(b, ",\"check\":");
	check_report_json(&R, gen, b);
	r = buf_adds(b, "}\n") < 0 || !b->data ? -ENOMEM : 0;
	check_report_free(&R);
	return r;
}
