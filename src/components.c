/* Emulated component command lines (see components.h and benchmarks/K3S-FACTS.md). */
#include "components.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "benchmark.h"
#include "fsutil.h"
#include "json.h"
#include "ynode.h"

#define FACTS_NAME "k3s-components"
#define KUBELET_FILE_MAX (4u << 20)

static const char *const comp_names[COMP_N] = {
	"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "etcd",
};

/* The option that holds each component's argument list (and its alias). */
static const char *const comp_lists[COMP_N][2] = {
	{ "kube-apiserver-arg", NULL },
	{ "kube-controller-manager-arg", "kube-controller-arg" },
	{ "kube-scheduler-arg", NULL },
	{ "kubelet-arg", NULL },
	{ "kube-proxy-arg", NULL },
	{ "etcd-arg", NULL },
};

const char *comp_name(enum comp_id id)
{
	return id < COMP_N ? comp_names[id] : "?";
}

const char *datastore_name(enum datastore ds)
{
	switch (ds) {
	case DS_ETCD: return "etcd";
	case DS_KINE: return "kine";
	case DS_EXTERNAL_ETCD: return "external-etcd";
	default: return "sqlite";
	}
}

/* ---- the facts file, parsed once ---- */

static struct ynode *facts;

/* benchmarks/k3s-components.yaml as parsed at build time (tools/ynode-gen.c, $(BUILD)/k3s_facts.c) */
extern const uint32_t k3s_facts_nodes[];
extern const size_t k3s_facts_n_nodes;
extern const char k3s_facts_pool[];

static int facts_load(struct diags *d)
{
	int r;

	if (facts)
		return 0;
	r = ynode_load("benchmarks/" FACTS_NAME ".yaml", k3s_facts_nodes, k3s_facts_n_nodes, k3s_facts_pool, &facts);
	if (r < 0)
		diags_add(d, FACTS_NAME ".yaml", 0, 0, "the built-in K3s component facts do not load: %s", strerror(-r));
	return r < 0 ? -EINVAL : 0;
}

const struct ynode *components_facts(struct diags *d)
{
	return facts_load(d) < 0 ? NULL : facts;
}

static const char *rec(const struct ynode *m, const char *key)
{
	const struct ynode *v = ynode_get(m, key);

	return v && v->kind == YN_SCALAR ? v->value : NULL;
}

static const struct ynode *section(const char *name)
{
	const struct ynode *s = ynode_get(facts, name);

	return s && s->kind == YN_SEQ ? s : NULL;
}

/* ---- versions ---- */

static void parse_version(const char *v, int *maj, int *min, int *pat)
{
	*maj = *min = *pat = 0;
	if (*v == 'v')
		v++;
	if (sscanf(v, "%d.%d.%d", maj, min, pat) < 2)
		*maj = *min = 0;
}

static int vcmp(const struct components *C, const char *v)
{
	int a, b, c;

	parse_version(v, &a, &b, &c);
	if (C->major != a)
		return C->major < a ? -1 : 1;
	if (C->minor != b)
		return C->minor < b ? -1 : 1;
	return C->patch < c ? -1 : C->patch > c;
}

static bool in_range(const struct components *C, const struct ynode *r)
{
	const char *since = rec(r, "since"), *before = rec(r, "before");

	if (since && vcmp(C, since) < 0)
		return false;
	if (before && vcmp(C, before) >= 0)
		return false;
	return true;
}

/* ---- placeholders and conditions ---- */

struct ctx {
	struct components *C;
	const struct keff *E;
	const char *root;
	struct buf tmp;
	struct diags *d;
};

/* An option's value, list entries comma-joined; NULL when unset or empty. */
static char *opt_joined(const struct keff *E, const char *name)
{
	const struct keff_key *k = keff_get(E, name);
	struct buf b = BUF_INIT;
	size_t i;

	if (!k)
		return NULL;
	for (i = 0; i < k->n; i++) {
		if (!k->items[i].value || !*k->items[i].value)
			continue;
		if (b.len)
			buf_addc(&b, ',');
		buf_adds(&b, k->items[i].value);
	}
	if (!b.len) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static char *placeholder(struct ctx *x, const char *name, size_t n)
{
	const struct ynode *ph = section("placeholders");
	const struct keff *E = x->E;
	char key[64], *v;
	size_t i;

	if (n >= sizeof(key))
		return NULL;
	memcpy(key, name, n);
	key[n] = '\0';
	if (!strcmp(key, "data-dir"))
		return strdup(x->C->data_dir);
	if (!strcmp(key, "server-dir"))
		return strdup(x->C->server_dir);
	if (!strcmp(key, "agent-dir"))
		return strdup(x->C->agent_dir);
	if (!strcmp(key, "apiserver-port")) {
		const char *h;

		if ((v = opt_joined(E, "apiserver-port")))
			return v;
		h = keff_value(E, "https-listen-port");
		if (h) {
			char num[24];

			snprintf(num, sizeof(num), "%ld", strtol(h, NULL, 10) + 1);
			return strdup(num);
		}
	}
	if (!strcmp(key, "advertise-port") && !keff_value(E, "advertise-port"))
		return opt_joined(E, "https-listen-port") ?: strdup("6443");
	if (!strcmp(key, "node-labels"))
		return opt_joined(E, "node-label") ?: strdup("");
	if (!strcmp(key, "node-taints"))
		return opt_joined(E, "node-taint") ?: strdup("");
	if (!strcmp(key, "listen-address") && (v = opt_joined(E, "bind-address")))
		return v;
	if (!strcmp(key, "runtime-socket") && (v = opt_joined(E, "container-runtime-endpoint")))
		return v;
	if (!strcmp(key, "etcd-address"))
		return opt_joined(E, "node-ip") ?: strdup("127.0.0.1");
	if (!strcmp(key, "resolv-conf") && !keff_value(E, "resolv-conf"))
		return strdup("/etc/resolv.conf");
	if (!strcmp(key, "node-name") && !keff_value(E, "node-name")) {
		struct utsname u;

		if (uname(&u) == 0) {
			for (i = 0; u.nodename[i]; i++)
				if (u.nodename[i] >= 'A' && u.nodename[i] <= 'Z')
					u.nodename[i] = (char)(u.nodename[i] - 'A' + 'a');
			return strdup(u.nodename);
		}
	}
	if ((v = opt_joined(E, key)))
		return v;
	for (i = 0; ph && i < ph->n; i++) {
		const char *nm = rec(ph->items[i], "name");

		if (nm && !strcmp(nm, key))
			return strdup(rec(ph->items[i], "default") ?: "");
	}
	return strdup("");
}

/* value with ${name} substituted; ${value} is val. */
static char *subst(struct ctx *x, const char *s, const char *val)
{
	struct buf b = BUF_INIT;

	while (*s) {
		const char *p = strstr(s, "${"), *e;

		if (!p || !(e = strchr(p, '}'))) {
			buf_adds(&b, s);
			break;
		}
		buf_add(&b, s, (size_t)(p - s));
		if (val && (size_t)(e - p - 2) == 5 && !strncmp(p + 2, "value", 5)) {
			buf_adds(&b, val);
		} else {
			char *v = placeholder(x, p + 2, (size_t)(e - p - 2));

			if (v)
				buf_adds(&b, v);
			free(v);
		}
		s = e + 1;
	}
	return b.data ? buf_steal(&b) : strdup("");
}

static bool listed(const struct keff *E, const char *opt, const char *name)
{
	const struct keff_key *k = keff_get(E, opt);
	size_t i, l = strlen(name);

	for (i = 0; k && i < k->n; i++) {
		const char *s = k->items[i].value;

		while (s && *s) {
			size_t m = strcspn(s, ",");
			const char *t = s;
			size_t tm = m;

			while (tm && *t == ' ')
				t++, tm--;
			while (tm && t[tm - 1] == ' ')
				tm--;
			if (tm == l && !strncmp(t, name, l))
				return true;
			s += m + (s[m] == ',');
		}
	}
	return false;
}

/* The user's list for a component: both spellings, in the order keff kept them. */
static const struct keff_key *user_list(const struct keff *E, enum comp_id id, const struct keff_key **alias)
{
	*alias = comp_lists[id][1] ? keff_get(E, comp_lists[id][1]) : NULL;
	return keff_get(E, comp_lists[id][0]);
}

/* ArgValue: an entry naming flag exactly (an optional leading "--"), with a non-empty value. */
static bool arg_given(const struct keff *E, enum comp_id id, const char *flag)
{
	const struct keff_key *k[2];
	size_t i, j;

	k[0] = user_list(E, id, &k[1]);
	for (j = 0; j < 2; j++)
		for (i = 0; k[j] && i < k[j]->n; i++) {
			const char *s = k[j]->items[i].value, *eq;

			if (!s)
				continue;
			if (!strncmp(s, "--", 2))
				s += 2;
			eq = strchr(s, '=');
			if (strlen(flag) == (eq ? (size_t)(eq - s) : strlen(s)) && !strncmp(s, flag, strlen(flag)))
				return !eq || eq[1];
		}
	return false;
}

static bool cond1(struct ctx *x, const char *c)
{
	const struct keff *E = x->E;
	struct components *C = x->C;

	if (*c == '!')
		return !cond1(x, c + 1);
	if (!strncmp(c, "datastore=", 10)) {
		c += 10;
		if (!strcmp(c, "etcd"))
			return C->ds == DS_ETCD;
		if (!strcmp(c, "sqlite"))
			return C->ds == DS_SQLITE;
		if (!strcmp(c, "kine"))
			return C->ds == DS_SQLITE || C->ds == DS_KINE;
		return C->ds == DS_EXTERNAL_ETCD;
	}
	if (!strcmp(c, "leader-elect-off"))
		return C->ds == DS_SQLITE;
	if (!strcmp(c, "ccm"))
		return keff_bool(E, "disable-cloud-controller") != 1;
	if (!strcmp(c, "servicelb"))
		return !listed(E, "disable", "servicelb");
	if (!strcmp(c, "egress-selector")) {
		const char *m = keff_value(E, "egress-selector-mode");

		return !m || strcmp(m, "disabled");
	}
	if (!strcmp(c, "node-taint"))
		return keff_value(E, "node-taint") != NULL;
	if (!strcmp(c, "advertise-address") || !strcmp(c, "node-ip") || !strcmp(c, "node-name")) {
		char *v = placeholder(x, c, strlen(c));
		bool r = v && *v;

		free(v);
		return r;
	}
	if (!strcmp(c, "v")) {
		const char *v = keff_value(E, "v");

		return v && strcmp(v, "0");
	}
	if (!strcmp(c, "vmodule"))
		return keff_value(E, "vmodule") != NULL;
	if (!strcmp(c, "image-credential-provider")) {
		struct stat st;

		return root_stat(x->root, "/var/lib/rancher/credentialprovider/bin", &st) == 0 &&
		       S_ISDIR(st.st_mode) &&
		       root_stat(x->root, "/var/lib/rancher/credentialprovider/config.yaml", &st) == 0;
	}
	if (!strncmp(c, "argunset:", 9)) {
		const char *f = strchr(c + 9, ':');
		size_t i;

		if (!f)
			return false;
		for (i = 0; i < COMP_N; i++)
			if (strlen(comp_names[i]) == (size_t)(f - c - 9) && !strncmp(c + 9, comp_names[i], (size_t)(f - c - 9)))
				return !arg_given(E, (enum comp_id)i, f + 1);
		return false;
	}
	/* detected at run time; this emulation assumes a plain host */
	if (!strcmp(c, "systemd-cgroup") || !strcmp(c, "no-cpu-controller") || !strcmp(c, "dual-stack-node-ip"))
		return false;
	/* a boolean option of the same name */
	return keff_bool(E, c) == 1;
}

static bool conds(struct ctx *x, const struct ynode *r)
{
	const struct ynode *w = ynode_get(r, "when");
	size_t i;

	for (i = 0; w && w->kind == YN_SEQ && i < w->n; i++)
		if (w->items[i]->kind == YN_SCALAR && !cond1(x, w->items[i]->value))
			return false;
	return true;
}

/* ---- argument maps ---- */

struct argv_entry {
	char *key;
	char **vals;
	size_t n;
	char *def;              /* K3s's default, while pending */
	bool pending;
};

struct argmap {
	struct argv_entry *v;
	size_t n, cap;
};

static struct argv_entry *am_get(struct argmap *m, const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strlen(m->v[i].key) == len && !strncmp(m->v[i].key, key, len))
			return &m->v[i];
	if (m->n == m->cap) {
		size_t nc = m->cap ? 2 * m->cap : 32;
		struct argv_entry *nv = realloc(m->v, nc * sizeof(*nv));

		if (!nv)
			return NULL;
		m->v = nv;
		m->cap = nc;
	}
	memset(&m->v[m->n], 0, sizeof(m->v[0]));
	m->v[m->n].key = strndup(key, len);
	if (!m->v[m->n].key)
		return NULL;
	return &m->v[m->n++];
}

static void am_default(struct argmap *m, const char *key, char *value)
{
	struct argv_entry *e = am_get(m, key, strlen(key));

	if (!e) {
		free(value);
		return;
	}
	free(e->def);
	e->def = value;
	e->pending = true;
}

static int push(char ***v, size_t *n, size_t at, char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv || !s) {
		free(s);
		if (nv)
			*v = nv;
		return -ENOMEM;
	}
	*v = nv;
	memmove(nv + at + 1, nv + at, (*n - at) * sizeof(*nv));
	nv[at] = s;
	(*n)++;
	return 0;
}

/* One user entry, as GetArgs takes it; old: the map semantics of K3s < 1.23. */
static void am_user(struct argmap *m, const char *entry, bool old, struct components *C, enum comp_id id,
		    const struct keff_item *it)
{
	const char *s = entry, *eq, *val;
	size_t nlen, klen;
	struct argv_entry *e;
	char op = 0;

	if (!strncmp(s, "--", 2))
		s += 2;
	eq = strchr(s, '=');
	nlen = eq ? (size_t)(eq - s) : strlen(s);
	val = eq ? eq + 1 : "true";
	klen = nlen;
	if (!old) {
		while (klen && (s[klen - 1] == '+' || s[klen - 1] == '-'))
			klen--;
		if (klen < nlen)
			op = s[nlen - 1];
	}
	if (!klen) {
		const struct ynode *n = it ? it->node : NULL;

		diags_add(&C->refuse, n ? n->file : comp_lists[id][0], n ? n->start.line : 0, n ? n->start.col : 0,
			  "%s: the entry \"%s\" names no flag: K3s starts %s with \"--%.*s=%s\", which it rejects "
			  "(remove the entry, or write the list's entries below the key)",
			  comp_lists[id][0], entry, comp_names[id], (int)nlen, s, val);
		return;
	}
	e = am_get(m, s, klen);
	if (!e)
		return;
	if (old) {
		while (e->n)
			free(e->vals[--e->n]);
		push(&e->vals, &e->n, 0, strdup(val));
	} else if (op == '+') {
		if (e->pending && e->def)
			push(&e->vals, &e->n, 0, strdup(e->def));
		push(&e->vals, &e->n, e->n, strdup(val));
	} else if (op == '-') {
		size_t at = 0;

		push(&e->vals, &e->n, at++, strdup(val));
		if (e->pending && e->def)
			push(&e->vals, &e->n, at, strdup(e->def));
	} else {
		push(&e->vals, &e->n, e->n, strdup(val));
	}
	e->pending = false;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct argv_entry *)a)->key, ((const struct argv_entry *)b)->key);
}

static int line_add(struct comp_line *l, const char *name, const char *value)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 32;
		struct comp_arg *na = realloc(l->args, nc * sizeof(*na));

		if (!na)
			return -ENOMEM;
		l->args = na;
		l->cap = nc;
	}
	l->args[l->n].name = strdup(name);
	l->args[l->n].value = strdup(value);
	if (!l->args[l->n].name || !l->args[l->n].value) {
		free(l->args[l->n].name);
		free(l->args[l->n].value);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

static void am_emit(struct argmap *m, struct comp_line *l)
{
	size_t i, j;

	if (m->n)
		qsort(m->v, m->n, sizeof(m->v[0]), cmp_entry);
	for (i = 0; i < m->n; i++) {
		struct argv_entry *e = &m->v[i];

		if (e->pending && e->def)
			line_add(l, e->key, e->def);
		for (j = 0; j < e->n; j++)
			line_add(l, e->key, e->vals[j]);
	}
}

static void am_free(struct argmap *m)
{
	size_t i, j;

	for (i = 0; i < m->n; i++) {
		for (j = 0; j < m->v[i].n; j++)
			free(m->v[i].vals[j]);
		free(m->v[i].vals);
		free(m->v[i].key);
		free(m->v[i].def);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* ---- settings ---- */

static void set_put(struct comp_settings *s, const char *path, const char *value, const char *source)
{
	size_t i, l = strlen(path);

	/* a value replaces the path and everything below it */
	for (i = 0; i < s->n;) {
		if (!strncmp(s->v[i].path, path, l) && (s->v[i].path[l] == '\0' || s->v[i].path[l] == '/')) {
			free(s->v[i].path);
			free(s->v[i].value);
			free(s->v[i].source);
			s->v[i] = s->v[--s->n];
		} else {
			i++;
		}
	}
	if (!value)
		return;
	if (s->n == s->cap) {
		size_t nc = s->cap ? 2 * s->cap : 64;
		struct comp_setting *nv = realloc(s->v, nc * sizeof(*nv));

		if (!nv)
			return;
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n].path = strdup(path);
	s->v[s->n].value = strdup(value);
	s->v[s->n].source = strdup(source);
	if (!s->v[s->n].path || !s->v[s->n].value || !s->v[s->n].source) {
		free(s->v[s->n].path);
		free(s->v[s->n].value);
		free(s->v[s->n].source);
		return;
	}
	s->n++;
}

static void set_free(struct comp_settings *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].value);
		free(s->v[i].source);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

const struct comp_setting *comp_setting(const struct comp_settings *s, const char *path)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].path, path))
			return &s->v[i];
	return NULL;
}

/* A YAML/JSON node merged into s at prefix as a JSON merge patch: maps merge, lists and scalars replace, null deletes. */
static void set_patch(struct comp_settings *s, const char *prefix, const struct ynode *n, const char *source)
{
	struct buf b = BUF_INIT;
	size_t i;

	if (n->kind == YN_MAP) {
		for (i = 0; i < n->n; i++) {
			buf_reset(&b);
			if (*prefix)
				buf_printf(&b, "%s/", prefix);
			buf_adds(&b, n->keys[i]->value);
			set_patch(s, b.data, n->items[i], source);
		}
	} else if (n->kind == YN_SEQ) {
		for (i = 0; i < n->n; i++) {
			if (n->items[i]->kind != YN_SCALAR)
				continue;
			if (b.len)
				buf_addc(&b, ',');
			buf_adds(&b, n->items[i]->value);
		}
		set_put(s, prefix, b.data ? b.data : "", source);
	} else if (keff_is_null(n)) {
		set_put(s, prefix, NULL, source);
	} else {
		set_put(s, prefix, n->value, source);
	}
	buf_free(&b);
}

const char *comp_kubelet_field(const char *flag)
{
	const struct ynode *kf;
	size_t i;

	if (!facts)
		return NULL;
	kf = section("kubelet_fields");
	for (i = 0; kf && i < kf->n; i++) {
		const char *f = rec(kf->items[i], "flag");

		if (f && !strcmp(f, flag))
			return rec(kf->items[i], "field");
	}
	return NULL;
}

/* ---- kubelet config files ---- */

struct kfile {
	char *order;            /* the name it sorts by in the drop-in directory */
	char *path;             /* below root */
};

static int kfile_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kfile *)a)->order, ((const struct kfile *)b)->order);
}

static void kfiles_add(struct kfile **v, size_t *n, const char *order, const char *path)
{
	struct kfile *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return;
	*v = nv;
	nv[*n].order = strdup(order);
	nv[*n].path = strdup(path);
	if (!nv[*n].order || !nv[*n].path) {
		free(nv[*n].order);
		free(nv[*n].path);
		return;
	}
	(*n)++;
}

/* *.conf files of dir (below root), sorted, one level of subdirectories as the kubelet walks them. */
static void kfiles_dir(struct ctx *x, const char *dir, const char *order_prefix, struct kfile **v, size_t *n)
{
	char **names = NULL;
	size_t nn = 0, i;
	struct buf p = BUF_INIT, o = BUF_INIT;

	if (root_list_dir(x->root, dir, &names, &nn) < 0)
		return;
	for (i = 0; i < nn; i++) {
		struct stat st;
		size_t l = strlen(names[i]);

		buf_reset(&p);
		buf_reset(&o);
		buf_printf(&p, "%s/%s", dir, names[i]);
		buf_printf(&o, "%s%s", order_prefix, names[i]);
		if (root_stat(x->root, p.data, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			buf_addc(&o, '/');
			kfiles_dir(x, p.data, o.data, v, n);
		} else if (S_ISREG(st.st_mode) && l > 5 && !strcmp(names[i] + l - 5, ".conf")) {
			kfiles_add(v, n, o.data, p.data);
		}
	}
	names_free(names, nn);
	buf_free(&p);
	buf_free(&o);
}

static void kubelet_file(struct ctx *x, const char *path, bool required)
{
	char *data = NULL;
	size_t len;
	struct stat st;
	struct ynode *t = NULL;
	struct diags pd = { 0 };
	int r;

	r = root_read_file(x->root, path, KUBELET_FILE_MAX, &data, &len, &st);
	if (r < 0) {
		if (r != -ENOENT || required)
			diags_add(&x->C->refuse, path, 0, 0, "the kubelet cannot read its config file: %s",
				  strerror(-r));
		return;
	}
	if (ynode_parse(path, data, len, YN_ALLOW_EMPTY, &t, &pd) < 0 || (t && t->kind != YN_MAP)) {
		diags_add(&x->C->refuse, path, pd.n ? pd.v[0].line : 0, pd.n ? pd.v[0].col : 0,
			  "the kubelet rejects this config file (%s): fix or remove it",
			  pd.n ? pd.v[0].msg : "not a mapping");
	} else if (t) {
		set_patch(&x->C->kubelet, "", t, path);
	}
	ynode_free(t);
	diags_free(&pd);
	free(data);
}

/* ---- the build ---- */

static enum datastore pick_datastore(struct ctx *x)
{
	const char *ep = keff_value(x->E, "datastore-endpoint");
	struct buf p = BUF_INIT;
	struct stat st;
	bool wal;

	buf_printf(&p, "%s/db/etcd/member/wal", x->C->server_dir);
	wal = root_stat(x->root, p.data, &st) == 0;
	buf_free(&p);
	if (ep && (!strncmp(ep, "http://", 7) || !strncmp(ep, "https://", 8)))
		return DS_EXTERNAL_ETCD;
	if (ep && strncmp(ep, "sqlite://", 9))
		return DS_KINE;
	if (wal || (!ep && (keff_bool(x->E, "cluster-init") == 1 ||
			    (keff_value(x->E, "token") && keff_value(x->E, "server")))))
		return DS_ETCD;
	return DS_SQLITE;
}

static void runs(struct ctx *x)
{
	struct components *C = x->C;
	const struct keff *E = x->E;
	size_t i;

	for (i = 0; i < COMP_N; i++) {
		C->line[i].name = comp_names[i];
		C->line[i].runs = true;
	}
	if (!C->server) {
		for (i = COMP_APISERVER; i <= COMP_SCHEDULER; i++)
			C->line[i].runs = false, C->line[i].why_not = "an agent runs no control plane";
		C->line[COMP_ETCD].runs = false, C->line[COMP_ETCD].why_not = "an agent runs no etcd";
	} else {
		if (keff_bool(E, "disable-apiserver") == 1)
			C->line[COMP_APISERVER].runs = false, C->line[COMP_APISERVER].why_not = "disable-apiserver";
		if (keff_bool(E, "disable-controller-manager") == 1)
			C->line[COMP_CONTROLLER_MANAGER].runs = false,
			C->line[COMP_CONTROLLER_MANAGER].why_not = "disable-controller-manager";
		if (keff_bool(E, "disable-scheduler") == 1)
			C->line[COMP_SCHEDULER].runs = false, C->line[COMP_SCHEDULER].why_not = "disable-scheduler";
		if (C->ds != DS_ETCD)
			C->line[COMP_ETCD].runs = false,
			C->line[COMP_ETCD].why_not = "the datastore is not the embedded etcd";
		else if (keff_bool(E, "disable-etcd") == 1)
			C->line[COMP_ETCD].runs = false, C->line[COMP_ETCD].why_not = "disable-etcd";
		if (keff_bool(E, "disable-agent") == 1) {
			C->line[COMP_KUBELET].runs = C->line[COMP_PROXY].runs = false;
			C->line[COMP_KUBELET].why_not = C->line[COMP_PROXY].why_not = "disable-agent";
		}
	}
	if (keff_bool(E, "disable-kube-proxy") == 1 && C->line[COMP_PROXY].runs)
		C->line[COMP_PROXY].runs = false, C->line[COMP_PROXY].why_not = "disable-kube-proxy";
}

static enum comp_id comp_of(const char *name)
{
	size_t i;

	for (i = 0; name && i < COMP_N; i++)
		if (!strcmp(name, comp_names[i]))
			return (enum comp_id)i;
	return COMP_N;
}

static bool role_ok(const struct components *C, const struct ynode *r)
{
	const char *role = rec(r, "role");

	return !role || !strcmp(role, "both") || !strcmp(role, C->server ? "server" : "agent");
}

static void build_component(struct ctx *x, enum comp_id id, struct argmap *m)
{
	const struct ynode *defs = section("defaults"), *opts = section("options");
	struct components *C = x->C;
	const struct keff_key *k[2];
	struct buf inj = BUF_INIT;
	char **injected = NULL;
	size_t ninj = 0, i, j;
	bool old = vcmp(C, "1.23") < 0;

	for (i = 0; defs && i < defs->n; i++) {
		const struct ynode *r = defs->items[i];
		const char *kind = rec(r, "kind"), *name = rec(r, "name"), *val = rec(r, "value");

		if (comp_of(rec(r, "component")) != id || !kind || !name || !val || !in_range(C, r) || !conds(x, r))
			continue;
		if (!strcmp(kind, "flag")) {
			/* the cadvisor flag only when the socket path names containerd */
			char *v = subst(x, val, NULL);

			if (!strcmp(name, "containerd") && !strstr(v, "containerd")) {
				free(v);
				continue;
			}
			am_default(m, name, v);
		} else if (!strcmp(kind, "injected-arg")) {
			char *v = subst(x, val, NULL);

			buf_reset(&inj);
			buf_printf(&inj, "%s=%s", name, v ? v : "");
			free(v);
			push(&injected, &ninj, ninj, strdup(inj.data));
		} else if (!strcmp(kind, "kubelet-config")) {
			char *v = subst(x, val, NULL);

			set_put(&C->kubelet, name, v, "K3s default (00-k3s-defaults.conf)");
			free(v);
		} else if (!strcmp(kind, "etcd-config")) {
			char *v = subst(x, val, NULL);

			set_put(&C->etcd, name, v, "K3s default");
			free(v);
		}
	}
	for (i = 0; opts && i < opts->n; i++) {
		const struct ynode *r = opts->items[i];
		const char *opt = rec(r, "option"), *kind = rec(r, "kind"), *name = rec(r, "name");
		const char *val = rec(r, "value"), *type = rec(r, "type");
		char *ov, *v;

		if (comp_of(rec(r, "component")) != id || !opt || !kind || !name || !val || !in_range(C, r) ||
		    !role_ok(C, r) || strstr(val, "}+1"))
			continue;
		if (type && !strcmp(type, "bool")) {
			int b = keff_bool(x->E, opt);

			if (b == -1 || (b == 0 && !strstr(val, "${value}")))
				continue;
			ov = strdup(b ? "true" : "false");
		} else if (!(ov = opt_joined(x->E, opt))) {
			continue;
		}
		v = subst(x, val, ov);
		free(ov);
		if (!strcmp(kind, "flag"))
			am_default(m, name, v);
		else if (!strcmp(kind, "kubelet-config"))
			set_put(&C->kubelet, name, v, opt), free(v);
		else if (!strcmp(kind, "etcd-config"))
			set_put(&C->etcd, name, v, opt), free(v);
		else
			free(v);
	}
	k[0] = user_list(x->E, id, &k[1]);
	if (id == COMP_ETCD) {
		/* etcd-arg merges into the etcd config file */
		for (j = 0; j < 2; j++)
			for (i = 0; k[j] && i < k[j]->n; i++) {
				const char *s = k[j]->items[i].value, *eq;
				char *nm;

				if (!s || !*s)
					continue;
				if (!strncmp(s, "--", 2))
					s += 2;
				eq = strchr(s, '=');
				nm = strndup(s, eq ? (size_t)(eq - s) : strlen(s));
				if (nm) {
					for (char *c = nm; *c; c++)
						if (*c == '.')
							*c = '/';
					set_put(&C->etcd, nm, eq ? eq + 1 : "true", comp_lists[id][0]);
				}
				free(nm);
			}
	} else {
		for (j = 0; j < 2; j++)
			for (i = 0; k[j] && i < k[j]->n; i++)
				if (k[j]->items[i].value)
					am_user(m, k[j]->items[i].value, old, C, id, &k[j]->items[i]);
		for (i = 0; i < ninj; i++)
			am_user(m, injected[i], old, C, id, NULL);
		am_emit(m, &C->line[id]);
	}
	for (i = 0; i < ninj; i++)
		free(injected[i]);
	free(injected);
	buf_free(&inj);
}

static void build_kubelet_config(struct ctx *x)
{
	struct components *C = x->C;
	struct comp_line *l = &C->line[COMP_KUBELET];
	struct kfile *files = NULL;
	size_t nf = 0, i;
	struct buf dir = BUF_INIT;
	const char *cfg = NULL, *cdir = NULL;
	bool k3s_dir = vcmp(C, "1.32") >= 0;

	for (i = 0; i < l->n; i++) {
		if (!strcmp(l->args[i].name, "config"))
			cfg = l->args[i].value;
		else if (!strcmp(l->args[i].name, "config-dir"))
			cdir = l->args[i].value;
	}
	if (k3s_dir) {
		/* K3s >= 1.32 copies config= to 10-cli-config.conf and config-dir= to 20-cli-config-dir */
		buf_printf(&dir, "%s/etc/kubelet.conf.d", C->agent_dir);
		kfiles_dir(x, dir.data, "", &files, &nf);
		for (i = 0; i < nf;) {
			if (!strcmp(files[i].order, "00-k3s-defaults.conf")) {
				/* rewritten by K3s at every start: the emulated one counts */
				free(files[i].order);
				free(files[i].path);
				files[i] = files[--nf];
			} else {
				i++;
			}
		}
		for (i = 0; i < C->line[COMP_KUBELET].n; i++) {
			struct comp_arg *a = &C->line[COMP_KUBELET].args[i];

			if (!strcmp(a->name, "config") && strcmp(a->value, dir.data))
				kfiles_add(&files, &nf, "10-cli-config.conf", a->value);
			else if (!strcmp(a->name, "config-dir") && strcmp(a->value, dir.data))
				kfiles_dir(x, a->value, "20-cli-config-dir/", &files, &nf);
		}
		if (nf)
			qsort(files, nf, sizeof(files[0]), kfile_cmp);
		for (i = 0; i < nf; i++)
			kubelet_file(x, files[i].path, false);
	} else {
		if (cfg)
			kubelet_file(x, cfg, true);
		if (cdir) {
			kfiles_dir(x, cdir, "", &files, &nf);
			if (nf)
				qsort(files, nf, sizeof(files[0]), kfile_cmp);
			for (i = 0; i < nf; i++)
				kubelet_file(x, files[i].path, false);
		}
	}
	for (i = 0; i < nf; i++) {
		free(files[i].order);
		free(files[i].path);
	}
	free(files);
	buf_free(&dir);
	/* flags win over every config file */
	for (i = 0; i < l->n; i++) {
		const char *field = comp_kubelet_field(l->args[i].name);
		struct buf src = BUF_INIT;

		if (!field)
			continue;
		buf_printf(&src, "flag --%s", l->args[i].name);
		if (!strcmp(l->args[i].name, "feature-gates")) {
			/* a map: A=true,B=false */
			const char *s = l->args[i].value;

			while (*s) {
				size_t n = strcspn(s, ","), e = strcspn(s, "=");
				struct buf p = BUF_INIT;

				if (e < n) {
					char *v = strndup(s + e + 1, n - e - 1);

					buf_printf(&p, "featureGates/%.*s", (int)e, s);
					if (v)
						set_put(&C->kubelet, p.data, v, src.data);
					free(v);
				}
				buf_free(&p);
				s += n + (s[n] == ',');
			}
		} else {
			set_put(&C->kubelet, field, l->args[i].value, src.data);
		}
		buf_free(&src);
	}
}

int components_build(struct components *C, const struct keff *E, const char *root,
		     const char *version, bool server, struct diags *d)
{
	struct ctx x = { C, E, root, BUF_INIT, d };
	const char *dd;
	size_t i;

	memset(C, 0, sizeof(*C));
	if (facts_load(d) < 0)
		return -EINVAL;
	snprintf(C->version, sizeof(C->version), "%s", version);
	parse_version(version, &C->major, &C->minor, &C->patch);
	C->server = server;
	dd = keff_value(E, "data-dir");
	C->data_dir = strdup(dd ? dd : "/var/lib/rancher/k3s");
	if (!C->data_dir || asprintf(&C->server_dir, "%s/server", C->data_dir) < 0 ||
	    asprintf(&C->agent_dir, "%s/agent", C->data_dir) < 0)
		return -ENOMEM;
	C->datastore_endpoint = opt_joined(E, "datastore-endpoint");
	C->ds = pick_datastore(&x);
	runs(&x);
	for (i = 0; i < COMP_N; i++) {
		struct argmap m = { 0 };

		if (!C->line[i].runs)
			continue;
		build_component(&x, (enum comp_id)i, &m);
		am_free(&m);
	}
	if (C->line[COMP_KUBELET].runs)
		build_kubelet_config(&x);
	buf_free(&x.tmp);
	return 0;
}

void components_free(struct components *C)
{
	size_t i, j;

	for (i = 0; i < COMP_N; i++) {
		for (j = 0; j < C->line[i].n; j++) {
			free(C->line[i].args[j].name);
			free(C->line[i].args[j].value);
		}
		free(C->line[i].args);
	}
	set_free(&C->kubelet);
	set_free(&C->etcd);
	diags_free(&C->refuse);
	free(C->data_dir);
	free(C->server_dir);
	free(C->agent_dir);
	free(C->datastore_endpoint);
	memset(C, 0, sizeof(*C));
}

/* Whether the component accumulates repeated occurrences of flag. */
static bool accumulates(enum comp_id id, const char *flag)
{
	const struct ynode *rf = section("repeated_flags");
	size_t i;

	for (i = 0; rf && i < rf->n; i++) {
		const char *c = rec(rf->items[i], "component"), *f = rec(rf->items[i], "flag");

		if (c && f && !strcmp(c, comp_names[id]) && !strcmp(f, flag))
			return true;
	}
	return false;
}

static char *flag_buf;

const char *comp_flag(struct components *C, enum comp_id id, const char *flag)
{
	const struct comp_line *l = &C->line[id];
	struct buf b = BUF_INIT;
	const char *last = NULL;
	bool acc = accumulates(id, flag);
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->args[i].name, flag))
			continue;
		if (acc && last)
			buf_addc(&b, ',');
		if (acc)
			buf_adds(&b, l->args[i].value);
		last = l->args[i].value;
	}
	if (!last)
		return NULL;
	free(flag_buf);
	flag_buf = acc ? buf_steal(&b) : strdup(last);
	buf_free(&b);
	return flag_buf;
}

size_t comp_flag_count(const struct components *C, enum comp_id id, const char *flag)
{
	size_t i, n = 0;

	for (i = 0; i < C->line[id].n; i++)
		n += !strcmp(C->line[id].args[i].name, flag);
	return n;
}

static void settings_json(const struct comp_settings *s, struct buf *b)
{
	size_t i;

	buf_addc(b, '{');
	for (i = 0; i < s->n; i++) {
		if (i)
			buf_addc(b, ',');
		json_str(b, s->v[i].path);
		buf_addc(b, ':');
		json_str(b, s->v[i].value);
	}
	buf_addc(b, '}');
}

void components_json(const struct components *C, struct buf *b)
{
	size_t i, j, n = 0;

	buf_adds(b, "{\"k3s_version\":");
	json_str(b, C->version);
	buf_printf(b, ",\"role\":\"%s\",\"datastore\":\"%s\",\"data_dir\":", C->server ? "server" : "agent",
		   datastore_name(C->ds));
	json_str(b, C->data_dir);
	buf_adds(b, ",\"components\":{");
	for (i = 0; i < COMP_N; i++) {
		if (!C->line[i].runs)
			continue;
		buf_adds(b, n++ ? "," : "");
		json_str(b, comp_names[i]);
		buf_adds(b, ":[");
		for (j = 0; j < C->line[i].n; j++) {
			struct buf a = BUF_INIT;

			buf_printf(&a, "--%s=%s", C->line[i].args[j].name, C->line[i].args[j].value);
			if (j)
				buf_addc(b, ',');
			json_str(b, a.data);
			buf_free(&a);
		}
		buf_addc(b, ']');
	}
	buf_adds(b, "},\"kubelet_config\":");
	settings_json(&C->kubelet, b);
	buf_adds(b, ",\"etcd_config\":");
	settings_json(&C->etcd, b);
	buf_addc(b, '}');
}
