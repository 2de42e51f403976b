#include "render.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "embedded.h"
#include "escape.h"
#include "fsutil.h"
#include "k3s_version.h"
#include "kv.h"
#include "model.h"
#include "mustache.h"

#define TEMPLATE_MAX_SIZE (256 * 1024)

struct tmpl {
	char *name;
	char *label;            /* for messages: DIR/NAME.mustache or builtin:NAME */
	char *text;             /* owned when read from the override directory */
	const char *data;
	size_t len;
	struct mst_template *mt;        /* parsed on first use, for every namespace */
};

/* A rendered YAML output already checked, reduced to its shape (yaml_shape). */
struct shape {
	char *data;
	size_t len;
	uint64_t hash;
};

/* Where the values landed in the output being rendered. */
struct sites {
	size_t (*v)[2];
	size_t n;
	size_t cap;
	bool nomem;
};

struct renderer {
	const struct profile *p;
	const struct render_opts *o;
	const struct k3s_model *model;  /* the caller's, or NULL */
	struct diags *d;
	struct artifacts *out;
	struct tmpl **cache;    /* entries stay put while partials are added */
	size_t n_cache;
	int dirfd;              /* templates_dir, or -1 */
	int err;
	struct shape *shapes;   /* valid YAML outputs of this run, as shapes */
	size_t n_shapes;
	struct sites sites;
};

static int load_template(struct renderer *R, const char *name, const struct tmpl **out)
{
	const struct embedded_file *bf;
	struct tmpl t, **v, *e;
	char file[256];
	size_t i;
	int r = 0;

	for (i = 0; i < R->n_cache; i++)
		if (strcmp(R->cache[i]->name, name) == 0) {
			*out = R->cache[i];
			return 0;
		}
	memset(&t, 0, sizeof(t));
	if (strchr(name, '/') || name[0] == '.' || strlen(name) > 200)
		return -ENOENT;
	snprintf(file, sizeof(file), "%s.mustache", name);
	if (R->dirfd >= 0) {
		struct stat st;
		int fd = open_regular_at(R->dirfd, file, O_RDONLY, &st);

		if (fd >= 0) {
			r = read_fd_all(fd, TEMPLATE_MAX_SIZE, &t.text, &t.len, &st);
			close(fd);
		} else {
			r = fd;
		}
		if (r < 0 && r != -ENOENT) {
			diags_add(R->d, R->o->templates_dir, 0, 0, "cannot read template '%s': %s",
				  file, strerror(-r));
			R->err = -EINVAL;
			return r;
		}
		if (r == 0) {
			t.data = t.text;
			r = asprintf(&t.label, "%s/%s", R->o->templates_dir, file);
		}
	}
	if (!t.data) {
		bf = embedded_find(embedded_templates, name);
		if (!bf)
			return -ENOENT;
		t.data = bf->data;
		t.len = bf->len;
		r = asprintf(&t.label, "templates/%s", file);
	}
	t.name = strdup(name);
	e = malloc(sizeof(*e));
	v = realloc(R->cache, (R->n_cache + 1) * sizeof(*v));
	if (v)
		R->cache = v;
	if (r < 0 || !t.name || !v || !e) {
		free(t.name);
		free(t.label);
		free(t.text);
		free(e);
		return -ENOMEM;
	}
	*e = t;
	R->cache[R->n_cache++] = e;
	*out = e;
	return 0;
}

/* Whether text includes partial name ({{>name}}, {{> name }}). */
static bool names_partial(const char *text, size_t len, const char *name)
{
	const char *p = text, *end = text + len;
	size_t nl = strlen(name);

	while (p < end && (p = memmem(p, (size_t)(end - p), "{{>", 3))) {
		p += 3;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) >= nl + 2 && memcmp(p, name, nl) == 0) {
			const char *q = p + nl;

			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			if (end - q >= 2 && q[0] == '}' && q[1] == '}')
				return true;
		}
	}
	return false;
}

/*
 * Every file in the --templates directory must override a built-in template
 * or be a partial one of the templates includes: a misnamed one would be
 * silently ignored. Hidden files are skipped.
 */
static int check_templates_dir(struct renderer *R)
{
	struct dirent *de;
	struct buf names = BUF_INIT;
	char **files = NULL, **texts = NULL;
	size_t *lens = NULL, n = 0, i, j;
	DIR *dir;
	int fd = dup(R->dirfd), r = 0;

	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		diags_add(R->d, R->o->templates_dir, 0, 0, "cannot read template directory: %s",
			  strerror(errno));
		return -EINVAL;
	}
	while (r == 0 && (de = readdir(dir))) {
		char **nf, **nt;
		size_t *nlens;

		if (de->d_name[0] == '.')
			continue;
		nf = realloc(files, (n + 1) * sizeof(*files));
		nt = realloc(texts, (n + 1) * sizeof(*texts));
		nlens = realloc(lens, (n + 1) * sizeof(*lens));
		files = nf ? nf : files;
		texts = nt ? nt : texts;
		lens = nlens ? nlens : lens;
		if (!nf || !nt || !nlens || !(files[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		texts[n] = NULL;
		lens[n] = 0;
		{
			struct stat st;
			int tfd = open_regular_at(R->dirfd, de->d_name, O_RDONLY, &st);

			if (tfd >= 0) {
				if (read_fd_all(tfd, TEMPLATE_MAX_SIZE, &texts[n], &lens[n], &st) < 0)
					texts[n] = NULL;
				close(tfd);
			}
		}
		n++;
	}
	closedir(dir);
	for (i = 0; embedded_templates[i].name; i++)
		buf_printf(&names, "%s%s.mustache", i ? ", " : "", embedded_templates[i].name);
	for (i = 0; i < n && r != -ENOMEM; i++) {
		size_t l = strlen(files[i]);
		char base[256];
		bool used = false;

		snprintf(base, sizeof(base), "%.*s", l > 9 ? (int)(l - 9) : 0, files[i]);
		if (l <= 9 || strcmp(files[i] + l - 9, ".mustache") != 0)
			base[0] = '\0';
		if (base[0] && embedded_find(embedded_templates, base))
			continue;
		for (j = 0; base[0] && !used && j < n; j++)
			used = j != i && texts[j] && names_partial(texts[j], lens[j], base);
		for (j = 0; base[0] && !used && embedded_templates[j].name; j++)
			used = names_partial(embedded_templates[j].data, embedded_templates[j].len, base);
		if (used)
			continue;
		diags_add(R->d, R->o->templates_dir, 0, 0, "no such template: '%s'; the templates are "
			  "%s (or a partial one of them includes)", files[i], names.data ? names.data : "");
		r = -EINVAL;
	}
	for (i = 0; i < n; i++) {
		free(files[i]);
		free(texts[i]);
	}
	free(files);
	free(texts);
	free(lens);
	buf_free(&names);
	return r < 0 ? -EINVAL : 0;
}

static int partial_cb(const char *name, const char **text, size_t *len, void *ctx)
{
	const struct tmpl *t;
	int r = load_template(ctx, name, &t);

	if (r < 0)
		return r;
	*text = t->data;
	*len = t->len;
	return 0;
}

/* Parse data as a YAML stream; on error fill line/col (1-based) and msg. */
static int yaml_check(const char *data, size_t len, unsigned *line, unsigned *col,
		      char *msg, size_t msg_size)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	int r = 0;

	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)data, len);
	for (;;) {
		if (!yaml_parser_parse(&yp, &ev)) {
			*line = (unsigned)yp.problem_mark.line + 1;
			*col = (unsigned)yp.problem_mark.column + 1;
			snprintf(msg, msg_size, "%s%s%s", yp.problem ? yp.problem : "syntax error",
				 yp.context ? " " : "", yp.context ? yp.context : "");
			r = -EINVAL;
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	return r;
}

static void site_cb(size_t start, size_t end, void *ctx)
{
	struct sites *s = ctx;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		size_t (*v)[2] = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			s->nomem = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n][0] = start;
	s->v[s->n][1] = end;
	s->n++;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * The YAML check of rendered output is there for template bugs: literal text
 * or a section that makes invalid YAML. Parsing every namespace's manifest
 * with libyaml was most of a no-op apply, and the manifests differ only in
 * the values. So the check is memoized by shape: a copy of the output in
 * which each letter or digit of an inserted value ({{x}} or {{{x}}}) whose
 * site passes the test below reads as NUL (which no output holds: templates
 * with NUL are refused, values are C strings). Two outputs of one shape are
 * byte for byte the same except for letters and digits swapped for other
 * letters and digits, same length, at such sites. Why that cannot change
 * whether libyaml accepts them: a site passes when every byte of its value
 * is a letter, digit or one of . _ / - (those four, kept as they are, still
 * place document markers, flow separators and sequence entries the same), it
 * follows a space, tab, newline or the start of the output, and its line
 * does not start with '%'. After whitespace, outside a directive line, the
 * scanner is at the start of a token, in a plain or quoted scalar, a comment
 * or a block scalar's text; in each a letter or digit is just a character
 * of a scalar or comment (only directive names and versions, the character
 * after '\' in a double-quoted scalar (and its hex digits), block scalar
 * indicators, anchors and tags give letters or digits a meaning; each is
 * entered by '%', '\', '|', '>', '&', '*' or '!' with no whitespace between
 * it and the letter, and none of those can be in a passing site or right
 * before one). Positions, lengths and thus indentation and the 1024-character
 * limit of a simple key are the same. Any other value (one with a space, a
 * colon or a quote, or right after a non-blank) stays in the shape as it is,
 * so it must match exactly. The first output of each shape is parsed in full.
 */
static int yaml_shape(const struct buf *out, const struct sites *s, struct shape *sh)
{
	const char *d = out->data ? out->data : "";
	size_t i, k, scan = 0, ls = 0;  /* sites come in output order: one pass finds their lines */
	uint64_t h = 1469598103934665603ULL;

	sh->data = malloc(out->len + 1);
	if (!sh->data)
		return -ENOMEM;
	memcpy(sh->data, d, out->len);
	sh->len = out->len;
	for (k = 0; k < s->n; k++) {
		size_t a = s->v[k][0], b = s->v[k][1];
		bool ok = a == 0 || d[a - 1] == ' ' || d[a - 1] == '\t' || d[a - 1] == '\n';

		for (i = a; ok && i < b; i++)
			ok = is_alnum(d[i]) || d[i] == '.' || d[i] == '_' || d[i] == '/' ||
			     d[i] == '-';
		for (; scan < a; scan++)
			if (d[scan] == '\n')
				ls = scan + 1;
		if (!ok || d[ls] == '%')
			continue;
		for (i = a; i < b; i++)
			if (is_alnum(d[i]))
				sh->data[i] = '\0';
	}
	for (i = 0; i < sh->len; i++)
		h = (h ^ (unsigned char)sh->data[i]) * 1099511628211ULL;
	sh->hash = h;
	return 0;
}

static bool shape_known(const struct renderer *R, const struct shape *sh)
{
	size_t i;

	for (i = 0; i < R->n_shapes; i++)
		if (R->shapes[i].hash == sh->hash && R->shapes[i].len == sh->len &&
		    memcmp(R->shapes[i].data, sh->data, sh->len) == 0)
			return true;
	return false;
}

/*
 * Keep sh (taken) as checked. Past MAX_SHAPES (namespace names of 63 lengths,
 * kube-system's own policies) or out of memory it is dropped: that only costs
 * checking the next output of its shape in full.
 */
#define MAX_SHAPES 256

static void shape_keep(struct renderer *R, struct shape *sh)
{
	struct shape *v = R->n_shapes < MAX_SHAPES
		? realloc(R->shapes, (R->n_shapes + 1) * sizeof(*v)) : NULL;

	if (!v) {
		free(sh->data);
		return;
	}
	R->shapes = v;
	R->shapes[R->n_shapes++] = *sh;
	sh->data = NULL;
}

static int add_artifact(struct renderer *R, const char *path, const char *tmpl_name,
			enum art_format fmt, mode_t mode, bool restart, struct buf *data)
{
	struct artifact *a;

	if (R->out->n == R->out->cap) {
		size_t cap = R->out->cap ? R->out->cap * 2 : 16;
		struct artifact *v = realloc(R->out->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		R->out->v = v;
		R->out->cap = cap;
	}
	a = &R->out->v[R->out->n];
	memset(a, 0, sizeof(*a));
	a->path = strdup(path);
	a->tmpl = tmpl_name ? strdup(tmpl_name) : NULL;
	if (!a->path || (tmpl_name && !a->tmpl)) {
		free(a->path);
		free(a->tmpl);
		return -ENOMEM;
	}
	a->kind = data ? ART_FILE : ART_DIR;
	a->fmt = fmt;
	a->mode = mode;
	a->needs_restart = restart;
	if (data) {
		a->len = data->len;
		a->data = buf_steal(data);
		if (!a->data) {
			free(a->path);
			free(a->tmpl);
			return -ENOMEM;
		}
	}
	R->out->n++;
	return 0;
}

/* Render template NAME with ctx into an artifact at PATH. Consumes ctx. */
static int emit(struct renderer *R, const char *name, struct kv *ctx, const char *path,
		enum art_format fmt, mode_t mode, bool restart)
{
	struct mst_opts mo = {
		.escape = fmt == FMT_YAML ? esc_yaml : esc_conf,
		.partial = partial_cb,
		.partial_ctx = R,
		.site = fmt == FMT_YAML ? site_cb : NULL,
		.site_ctx = &R->sites,
	};
	struct shape sh = { NULL, 0, 0 };
	struct mst_error me;
	struct buf out = BUF_INIT;
	const struct tmpl *t;
	int r;

	if (!ctx)
		return -ENOMEM;
	if ((r = kv_map_str(ctx, "profile", R->p->name)) < 0)
		goto out;
	r = load_template(R, name, &t);
	if (r == -ENOENT) {
		diags_add(R->d, R->o->templates_dir ? R->o->templates_dir : "templates", 0, 0,
			  "no template '%s.mustache'", name);
		R->err = r = -EINVAL;
		goto out;
	}
	if (r < 0)
		goto out;
	memset(&me, 0, sizeof(me));
	if (!t->mt) {
		r = mst_compile(t->data, t->len, &((struct tmpl *)t)->mt, &me);
		if (r == -ENOMEM)
			goto out;
	}
	R->sites.n = 0;
	R->sites.nomem = false;
	if (t->mt)
		r = mst_render_template(t->mt, ctx, &mo, &out, &me);
	if (r < 0) {
		if (r != -ENOMEM) {
			diags_add(R->d, t->label, me.line, me.col, "%s", me.msg);
			R->err = r = -EINVAL;
		}
		goto out;
	}
	if (fmt == FMT_YAML) {
		unsigned line = 0, col = 0;
		char msg[200];

		if (R->sites.nomem) {
			r = -ENOMEM;
			goto out;
		}
		if ((r = yaml_shape(&out, &R->sites, &sh)) < 0)
			goto out;
		if (!shape_known(R, &sh)) {
			if (yaml_check(out.data ? out.data : "", out.len, &line, &col, msg,
				       sizeof(msg)) < 0) {
				diags_add(R->d, t->label, 0, 0,
					  "rendered invalid YAML for %s: line %u, column %u: %s",
					  path, line, col, msg);
				R->err = r = -EINVAL;
				goto out;
			}
			shape_keep(R, &sh);
		}
	}
	r = add_artifact(R, path, name, fmt, mode, restart, &out);
out:
	free(sh.data);
	buf_free(&out);
	kv_free(ctx);
	return r;
}

static struct kv *str_list(char **v, unsigned n)
{
	struct kv *l = kv_list();
	unsigned i;

	for (i = 0; l && i < n; i++)
		if (kv_list_add(l, kv_str(v[i])) < 0) {
			kv_free(l);
			return NULL;
		}
	return l;
}

/* The controls as the benchmark in use numbers them (profile_control_label), into b. */
static int control_labels(struct renderer *R, char **ids, unsigned n, struct buf *b)
{
	unsigned i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		const char *label = profile_control_label(R->p, ids[i]);

		if (label)
			r = buf_printf(b, "%s%s", b->len ? ", " : "", label);
	}
	return r;
}

/* "controls": the labels, or false for none. */
static int put_controls(struct kv *ctx, const struct buf *b)
{
	return b->data ? kv_map_str(ctx, "controls", b->data) : kv_map_bool(ctx, "controls", false);
}

static int set_controls(struct renderer *R, struct kv *ctx, char **ids, unsigned n)
{
	struct buf b = BUF_INIT;
	int r = control_labels(R, ids, n, &b);

	if (r == 0)
		r = put_controls(ctx, &b);
	buf_free(&b);
	return r;
}

static int join_path(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int render_psa(struct renderer *R)
{
	const struct pod_security *ps = R->p->pod_security;
	const struct event_rate_limit *e = R->p->event_rate_limit;
	bool psa_on = ps && ps->enabled, erl_on = e && e->enabled;
	struct kv *ctx, *limits;
	unsigned i;
	int r = 0;

	if (!psa_on && !erl_on)
		return 0;
	ctx = kv_map();
	if (!ctx)
		return -ENOMEM;
	r |= kv_map_bool(ctx, "pod_security", psa_on);
	r |= kv_map_str(ctx, "api_version", ps->api_version == PSA_API_V1BETA1
			? "pod-security.admission.config.k8s.io/v1beta1"
			: "pod-security.admission.config.k8s.io/v1");
	r |= kv_map_str(ctx, "enforce", psa_level_name(ps->defaults.enforce));
	r |= kv_map_str(ctx, "enforce_version", ps->defaults.enforce_version ? ps->defaults.enforce_version : "latest");
	r |= kv_map_str(ctx, "audit", psa_level_name(ps->defaults.audit));
	r |= kv_map_str(ctx, "audit_version", ps->defaults.audit_version ? ps->defaults.audit_version : "latest");
	r |= kv_map_str(ctx, "warn", psa_level_name(ps->defaults.warn));
	r |= kv_map_str(ctx, "warn_version", ps->defaults.warn_version ? ps->defaults.warn_version : "latest");
	r |= kv_map_set(ctx, "usernames", str_list(ps->exemptions.usernames, ps->exemptions.usernames_count));
	r |= kv_map_set(ctx, "runtime_classes", str_list(ps->exemptions.runtime_classes, ps->exemptions.runtime_classes_count));
	r |= kv_map_set(ctx, "namespaces", str_list(ps->exemptions.namespaces, ps->exemptions.namespaces_count));
	r |= kv_map_bool(ctx, "event_rate_limit", erl_on);
	limits = kv_list();
	for (i = 0; limits && erl_on && i < e->limits_count; i++) {
		struct kv *l = kv_map();

		if (!l)
			break;
		r |= kv_map_str(l, "type", erl_type_name(e->limits[i].type));
		r |= kv_map_num(l, "qps", e->limits[i].qps);
		r |= kv_map_num(l, "burst", e->limits[i].burst);
		if (e->limits[i].cache_size)
			r |= kv_map_num(l, "cache_size", e->limits[i].cache_size);
		else
			r |= kv_map_bool(l, "cache_size", false);
		r |= kv_list_add(limits, l);
	}
	r |= kv_map_set(ctx, "limits", limits);
	{
		/* cite both sections' controls in the one file */
		char **ids = NULL;
		unsigned n = 0, k;

		ids = calloc((psa_on ? ps->controls_count : 0) + (erl_on ? e->controls_count : 0) + 1,
			     sizeof(*ids));
		if (!ids) {
			kv_free(ctx);
			return -ENOMEM;
		}
		for (k = 0; psa_on && k < ps->controls_count; k++)
			ids[n++] = ps->controls[k];
		for (k = 0; erl_on && k < e->controls_count; k++)
			ids[n++] = e->controls[k];
		r |= set_controls(R, ctx, ids, n);
		free(ids);
	}
	if (r) {
		kv_free(ctx);
		return -ENOMEM;
	}
	return emit(R, "psa.yaml", ctx, ps->path, FMT_YAML, 0600, true);
}

static int render_audit(struct renderer *R)
{
	const struct audit *a = R->p->audit;
	struct kv *ctx;
	int r = 0;

	if (!a || !a->enabled)
		return 0;
	ctx = kv_map();
	if (!ctx)
		return -ENOMEM;
	r |= kv_map_str(ctx, "level", audit_level_name(a->level));
	r |= set_controls(R, ctx, a->controls, a->controls_count);
	if (r) {
		kv_free(ctx);
		return -ENOMEM;
	}
	if ((r = emit(R, "audit.yaml", ctx, a->policy_path, FMT_YAML, 0600, true)) < 0)
		return r;
	/* K3s's API server does not start when the log directory is missing. */
	return add_artifact(R, a->log_dir, NULL, FMT_NONE, 0700, false, NULL);
}

static int render_sysctl(struct renderer *R)
{
	const struct kernel *k = R->p->kernel;
	struct kv *ctx, *list;
	unsigned i;
	int r = 0;

	if (!k || k->parameters_count == 0)
		return 0;
	ctx = kv_map();
	list = kv_list();
	if (!ctx || !list) {
		kv_free(ctx);
		kv_free(list);
		return -ENOMEM;
	}
	for (i = 0; i < k->parameters_count; i++) {
		struct kv *e = kv_map();

		if (!e) {
			r = -ENOMEM;
			break;
		}
		r |= kv_map_str(e, "key", k->parameters[i].key);
		r |= kv_map_str(e, "value", k->parameters[i].value);
		r |= kv_list_add(list, e);
	}
	r |= kv_map_set(ctx, "parameters", list);
	r |= set_controls(R, ctx, k->controls, k->controls_count);
	if (r) {
		kv_free(ctx);
		return -ENOMEM;
	}
	return emit(R, "sysctl.conf", ctx, k->path, FMT_CONF, 0644, false);
}

/* What the network policies select depends on the K3s version. */
static int netpol_version(struct renderer *R, struct kv *ctx)
{
	const char *v = R->p->env.k3s_version;
	int r = 0;

	/* Traefik v1 (K3s <= 1.20) pods are app=traefik, v2 app.kubernetes.io/name=traefik */
	r |= kv_map_bool(ctx, "traefik_v1", k3s_has(v, K3S_TRAEFIK_V1));
	/* before Kubernetes 1.21 no namespace carries kubernetes.io/metadata.name */
	r |= kv_map_bool(ctx, "ns_name_label", k3s_has(v, K3S_NS_NAME_LABEL));
	return r;
}

/* PodSecurityPolicy and its RBAC (K3s <= 1.24), as the guide's v1.24 tab. */
static int render_psp(struct renderer *R)
{
	const struct pod_security_policy *psp = R->p->pod_security_policy;
	char path[4096];
	struct kv *ctx;
	int r = 0;

	if (!psp || !psp->enabled || !k3s_has(R->p->env.k3s_version, K3S_PSP) || !psp->manifest)
		return 0;
	ctx = kv_map();
	if (!ctx)
		return -ENOMEM;
	r |= set_controls(R, ctx, psp->controls, psp->controls_count);
	if (r == 0)
		r = join_path(path, sizeof(path), R->p->manifests_dir, psp->manifest);
	if (r) {
		kv_free(ctx);
		return r < 0 ? r : -ENOMEM;
	}
	return emit(R, "psp.yaml", ctx, path, FMT_YAML, 0600, false);
}

static int render_netpol(struct renderer *R)
{
	const struct network_policies *np = R->p->network_policies;
	char path[4096], file[300];
	struct buf controls = BUF_INIT;
	unsigned i;
	int r = 0;

	if (!np || !np->enabled)
		return 0;
	/* the same labels for every namespace: look them up once */
	if (control_labels(R, np->controls, np->controls_count, &controls) < 0) {
		buf_free(&controls);
		return -ENOMEM;
	}
	for (i = 0; i < np->namespaces_count && r == 0; i++) {
		const char *ns = np->namespaces[i];
		struct kv *ctx = kv_map();

		if (!ctx)
			return -ENOMEM;
		r |= kv_map_str(ctx, "namespace", ns);
		r |= kv_map_bool(ctx, "kube_system", strcmp(ns, "kube-system") == 0);
		r |= kv_map_bool(ctx, "allow_dns", np->allow_dns);
		r |= kv_map_bool(ctx, "allow_metrics_server", np->allow_metrics_server);
		r |= kv_map_bool(ctx, "allow_traefik", np->allow_traefik);
		r |= kv_map_bool(ctx, "allow_svclb_traefik", np->allow_svclb_traefik);
		r |= netpol_version(R, ctx);
		r |= put_controls(ctx, &controls);
		snprintf(file, sizeof(file), "%s-%s.yaml", np->manifest_prefix, ns);
		if (r == 0)
			r = join_path(path, sizeof(path), R->p->manifests_dir, file);
		if (r) {
			kv_free(ctx);
			buf_free(&controls);
			return r < 0 ? r : -ENOMEM;
		}
		r = emit(R, "networkpolicy.yaml", ctx, path, FMT_YAML, 0600, false);
	}
	buf_free(&controls);
	return r;
}

static int render_service_accounts(struct renderer *R)
{
	const struct service_accounts *sa = R->p->service_accounts;
	char path[4096];
	struct kv *ctx;
	int r = 0;

	if (!sa || !sa->enabled || sa->namespaces_count == 0)
		return 0;
	ctx = kv_map();
	if (!ctx)
		return -ENOMEM;
	r |= kv_map_set(ctx, "namespaces", str_list(sa->namespaces, sa->namespaces_count));
	r |= set_controls(R, ctx, sa->controls, sa->controls_count);
	if (r == 0)
		r = join_path(path, sizeof(path), R->p->manifests_dir, sa->manifest);
	if (r) {
		kv_free(ctx);
		return r < 0 ? r : -ENOMEM;
	}
	return emit(R, "serviceaccounts.yaml", ctx, path, FMT_YAML, 0600, false);
}

static int render_config(struct renderer *R)
{
	const struct k3s_config *k = R->p->k3s;
	bool dropin = k->mode == CONFIG_DROPIN;
	struct k3s_model m;
	struct kv *ctx, *settings, *lists;
	char path[4096];
	size_t i, j;
	int r;

	/* the caller's model (a plan builds one for render and merge), or our own */
	if (R->model)
		m = *R->model;
	else if ((r = k3s_model_build(R->p, R->o->role, &m)) < 0)
		return r;
	ctx = kv_map();
	settings = kv_list();
	lists = kv_list();
	r = ctx && settings && lists ? 0 : -ENOMEM;
	for (i = 0; r == 0 && i < m.n_settings; i++) {
		struct kv *s = kv_map();

		if (!s) {
			r = -ENOMEM;
			break;
		}
		r |= kv_map_str(s, "key", m.settings[i].key);
		r |= kv_map_str(s, "value", m.settings[i].value);
		r |= kv_map_bool(s, "raw", m.settings[i].raw);
		r |= m.settings[i].controls ? kv_map_str(s, "controls", m.settings[i].controls)
					    : kv_map_bool(s, "controls", false);
		r |= kv_list_add(settings, s);
	}
	for (i = 0; r == 0 && i < m.n_lists; i++) {
		struct kv *l = kv_map(), *args = kv_list();

		if (!l || !args) {
			kv_free(l);
			kv_free(args);
			r = -ENOMEM;
			break;
		}
		for (j = 0; r == 0 && j < m.lists[i].n; j++) {
			const struct cfg_arg *a = &m.lists[i].args[j];
			struct kv *e = kv_map();

			if (!e) {
				r = -ENOMEM;
				break;
			}
			r |= kv_map_set(e, "arg", kv_strf("%s=%s", a->flag, a->value));
			r |= a->controls ? kv_map_str(e, "controls", a->controls)
					 : kv_map_bool(e, "controls", false);
			r |= kv_list_add(args, e);
		}
		r |= kv_map_str(l, "name", m.lists[i].name);
		r |= kv_map_set(l, "args", args);
		r |= kv_list_add(lists, l);
	}
	if (r == 0) {
		r |= kv_map_set(ctx, "settings", settings);
		settings = NULL;
		r |= kv_map_set(ctx, "lists", lists);
		lists = NULL;
		r |= kv_map_bool(ctx, "dropin", dropin);
		r |= kv_map_bool(ctx, "controls", false);
	}
	if (!R->model)
		k3s_model_free(&m);
	kv_free(settings);
	kv_free(lists);
	if (r) {
		kv_free(ctx);
		return -ENOMEM;
	}
	if (dropin) {
		snprintf(path, sizeof(path), "%s.d/%s", k->path, k->dropin);
	} else {
		snprintf(path, sizeof(path), "%s", k->path);
	}
	return emit(R, "config.yaml", ctx, path, FMT_YAML, 0600, true);
}

int render_profile(const struct profile *p, const struct render_opts *o,
		   struct artifacts *out, struct diags *d)
{
	return render_profile_model(p, o, NULL, out, d);
}

int render_profile_model(const struct profile *p, const struct render_opts *o,
			 const struct k3s_model *model, struct artifacts *out, struct diags *d)
{
	struct renderer R;
	size_t i;
	int r;

	memset(&R, 0, sizeof(R));
	R.p = p;
	R.o = o;
	R.model = model;
	R.d = d;
	R.out = out;
	R.dirfd = -1;
	if (o->templates_dir) {
		R.dirfd = open(o->templates_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (R.dirfd < 0) {
			diags_add(d, o->templates_dir, 0, 0, "cannot open template directory: %s",
				  strerror(errno));
			return -EINVAL;
		}
		if (check_templates_dir(&R) < 0) {
			close(R.dirfd);
			return -EINVAL;
		}
	}
	r = render_sysctl(&R);
	if (r == 0 && o->role == ROLE_SERVER) {
		r = render_psa(&R);
		if (r == 0)
			r = render_psp(&R);
		if (r == 0)
			r = render_audit(&R);
		if (r == 0)
			r = render_netpol(&R);
		if (r == 0)
			r = render_service_accounts(&R);
	}
	if (r == 0 && p->k3s)
		r = render_config(&R);
	for (i = 0; i < R.n_cache; i++) {
		free(R.cache[i]->name);
		free(R.cache[i]->label);
		free(R.cache[i]->text);
		mst_template_free(R.cache[i]->mt);
		free(R.cache[i]);
	}
	free(R.cache);
	for (i = 0; i < R.n_shapes; i++)
		free(R.shapes[i].data);
	free(R.shapes);
	free(R.sites.v);
	if (R.dirfd >= 0)
		close(R.dirfd);
	if (r < 0) {
		artifacts_free(out);
		return R.err ? R.err : r;
	}
	return 0;
}

void artifacts_free(struct artifacts *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->v[i].path);
		free(a->v[i].tmpl);
		free(a->v[i].data);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}
