/*
 * standin-check ROOT: the start-up checks of the K3s stand-in.
 *
 * It does what K3s and the kubelet do before they report ready, on the tree
 * under ROOT (never the real /): merge config.yaml and config.yaml.d/ the way
 * k3s-io/k3s pkg/configfilearg/parser.go does, check that the files named by
 * kube-apiserver-arg exist and parse, that the audit log directory exists, and
 * with protect-kernel-defaults that the six kernel values under
 * ROOT/proc/sys match (kubernetes pkg/kubelet/cm/container_manager_linux.go).
 * Exit 0 when K3s would start, 1 with the reasons on stderr when not, 2 on
 * usage errors.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define MAX_VALUES 256

struct key {
	char *name;
	bool is_list;
	size_t n;
	char *v[MAX_VALUES];
};

struct config {
	struct key *keys;
	size_t n, cap;
};

static const char *root;
static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("k3s-standin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static char *rooted(const char *path)
{
	size_t a = strlen(root), b = strlen(path);
	char *p = malloc(a + b + 2);

	if (!p) {
		perror("k3s-standin");
		exit(2);
	}
	memcpy(p, root, a);
	if (path[0] != '/')
		p[a++] = '/';
	memcpy(p + a, path, b + 1);
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		perror("k3s-standin");
		exit(2);
	}
	return d;
}

static struct key *find_key(struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->keys[i].name, name) == 0)
			return &c->keys[i];
	return NULL;
}

static struct key *add_key(struct config *c, const char *name)
{
	struct key *k = find_key(c, name);

	if (k) {
		size_t i;

		for (i = 0; i < k->n; i++)
			free(k->v[i]);
		k->n = 0;
		return k;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct key *nk = realloc(c->keys, cap * sizeof(*nk));

		if (!nk) {
			perror("k3s-standin");
			exit(2);
		}
		c->keys = nk;
		c->cap = cap;
	}
	k = &c->keys[c->n++];
	memset(k, 0, sizeof(*k));
	k->name = xstrdup(name);
	return k;
}

static int push_value(struct key *k, const char *v, const char *file)
{
	if (k->n == MAX_VALUES) {
		fail("%s: too many values for '%s'", file, k->name);
		return -1;
	}
	k->v[k->n++] = xstrdup(v);
	return 0;
}

/* A YAML file must parse and its first document be a mapping (or empty). */
static int load_yaml(const char *path, yaml_document_t *doc, bool *empty)
{
	yaml_parser_t parser;
	FILE *f = fopen(path, "rbe");
	int ok;

	if (!f)
		return -errno;
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	ok = yaml_parser_load(&parser, doc);
	if (!ok) {
		fail("%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
		     parser.problem_mark.column + 1,
		     parser.problem ? parser.problem : "cannot parse");
		yaml_parser_delete(&parser);
		fclose(f);
		return -EINVAL;
	}
	*empty = yaml_document_get_root_node(doc) == NULL;
	yaml_parser_delete(&parser);
	fclose(f);
	return 0;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static void merge_file(struct config *c, const char *path, bool must_exist)
{
	yaml_document_t doc;
	yaml_node_t *top;
	yaml_node_pair_t *p;
	bool empty;
	int r = load_yaml(path, &doc, &empty);

	if (r == -ENOENT && !must_exist)
		return;
	if (r < 0) {
		if (r != -EINVAL)
			fail("cannot read '%s': %s", path, strerror(-r));
		return;
	}
	if (empty) {
		yaml_document_delete(&doc);
		return;
	}
	top = yaml_document_get_root_node(&doc);
	if (top->type != YAML_MAPPING_NODE) {
		fail("%s: top level is not a mapping", path);
		goto out;
	}
	for (p = top->data.mapping.pairs.start; p < top->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(&doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(&doc, p->value);
		const char *name = scalar(kn);
		char base[256];
		size_t len;
		bool append;
		struct key *k;
		yaml_node_item_t *it;

		if (!name || !vn) {
			fail("%s:%zu: key is not a string", path,
			     kn ? kn->start_mark.line + 1 : 0);
			continue;
		}
		len = strlen(name);
		append = len > 1 && name[len - 1] == '+';
		if (append)
			len--;
		if (len >= sizeof(base)) {
			fail("%s: key too long", path);
			continue;
		}
		memcpy(base, name, len);
		base[len] = '\0';
		/* The same key twice in one file is a mistake we want to see. */
		{
			yaml_node_pair_t *q;

			for (q = top->data.mapping.pairs.start; q < p; q++)
				if (scalar(yaml_document_get_node(&doc, q->key)) &&
				    strcmp(scalar(yaml_document_get_node(&doc, q->key)), name) == 0)
					fail("%s:%zu: duplicate key '%s'", path,
					     kn->start_mark.line + 1, name);
		}
		if (append) {
			k = find_key(c, base);
			if (!k) {
				k = add_key(c, base);
				k->is_list = true;
			}
		} else {
			k = add_key(c, base);
			k->is_list = false;
		}
		switch (vn->type) {
		case YAML_SCALAR_NODE:
			if (push_value(k, scalar(vn), path) < 0)
				goto out;
			break;
		case YAML_SEQUENCE_NODE:
			k->is_list = true;
			for (it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++) {
				const char *s = scalar(yaml_document_get_node(&doc, *it));

				if (!s) {
					fail("%s:%zu: '%s': list items must be strings", path,
					     vn->start_mark.line + 1, base);
					continue;
				}
				if (push_value(k, s, path) < 0)
					goto out;
			}
			break;
		default:
			fail("%s:%zu: '%s': a mapping is not a valid flag value", path,
			     vn->start_mark.line + 1, base);
			break;
		}
	}
out:
	yaml_document_delete(&doc);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

static void load_config(struct config *c)
{
	char *file = rooted("/etc/rancher/k3s/config.yaml");
	char *dir = rooted("/etc/rancher/k3s/config.yaml.d");
	char *names[512];
	size_t n = 0, i;
	DIR *d;
	struct dirent *de;

	merge_file(c, file, false);
	free(file);
	d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			fail("cannot open '%s': %s", dir, strerror(errno));
		free(dir);
		return;
	}
	while ((de = readdir(d)) && n < sizeof(names) / sizeof(names[0]))
		if (has_suffix(de->d_name, ".yaml") || has_suffix(de->d_name, ".yml"))
			names[n++] = xstrdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *path = malloc(len);

		if (!path) {
			perror("k3s-standin");
			exit(2);
		}
		snprintf(path, len, "%s/%s", dir, names[i]);
		merge_file(c, path, true);
		free(path);
		free(names[i]);
	}
	free(dir);
}

/* Value of "name=value" in the list under key, the last one wins. */
static const char *arg_value(struct config *c, const char *key, const char *name)
{
	struct key *k = find_key(c, key);
	size_t len = strlen(name), i;
	const char *v = NULL;

	if (!k)
		return NULL;
	for (i = 0; i < k->n; i++)
		if (strncmp(k->v[i], name, len) == 0 && k->v[i][len] == '=')
			v = k->v[i] + len + 1;
	return v;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const t[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *const f[] = { "0", "f", "F", "false", "FALSE", "False" };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(s, t[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(s, f[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static void check_yaml_file(const char *flag, const char *path)
{
	yaml_document_t doc;
	char *p;
	struct stat st;
	bool empty;
	int r;

	if (path[0] != '/') {
		fail("%s=%s: not an absolute path", flag, path);
		return;
	}
	p = rooted(path);
	if (stat(p, &st) < 0) {
		fail("%s: cannot stat '%s': %s", flag, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail("%s: '%s' is not a regular file", flag, path);
		goto out;
	}
	r = load_yaml(p, &doc, &empty);
	if (r == 0) {
		if (empty || yaml_document_get_root_node(&doc)->type != YAML_MAPPING_NODE)
			fail("%s: '%s' is not a YAML mapping", flag, path);
		yaml_document_delete(&doc);
	} else if (r != -EINVAL) {
		fail("%s: cannot read '%s': %s", flag, path, strerror(-r));
	}
out:
	free(p);
}

static void check_log_dir(const char *path)
{
	char *p, *slash;
	struct stat st;

	if (strcmp(path, "-") == 0)
		return;
	if (path[0] != '/') {
		fail("audit-log-path=%s: not an absolute path", path);
		return;
	}
	p = rooted(path);
	slash = strrchr(p, '/');
	*slash = '\0';
	if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
		fail("audit-log-path: directory of '%s' does not exist", path);
	free(p);
}

static void check_kernel(void)
{
	static const struct {
		const char *key, *want;
	} kv[] = {
		{ "vm/overcommit_memory", "1" },
		{ "vm/panic_on_oom", "0" },
		{ "kernel/panic", "10" },
		{ "kernel/panic_on_oops", "1" },
		{ "kernel/keys/root_maxkeys", "1000000" },
		{ "kernel/keys/root_maxbytes", "25000000" },
	};
	size_t i;

	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		char rel[64], buf[64];
		char *p;
		FILE *f;
		size_t n;

		snprintf(rel, sizeof(rel), "/proc/sys/%s", kv[i].key);
		p = rooted(rel);
		f = fopen(p, "re");
		free(p);
		if (!f) {
			fail("failed to read kernel flag %s: %s", kv[i].key, strerror(errno));
			continue;
		}
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
			buf[--n] = '\0';
		if (strcmp(buf, kv[i].want) != 0)
			fail("invalid kernel flag: %s, expected value: %s, actual value: %s",
			     kv[i].key, kv[i].want, buf);
	}
}

/* kube-apiserver refuses to start with a plugin it does not know. */
static void check_plugins(const char *list)
{
	static const char *const known[] = {
		"AlwaysAdmit", "AlwaysDeny", "AlwaysPullImages", "CertificateApproval",
		"CertificateSigning", "CertificateSubjectRestriction", "ClusterTrustBundleAttest",
		"DefaultIngressClass", "DefaultStorageClass", "DefaultTolerationSeconds",
		"DenyServiceExternalIPs", "EventRateLimit", "ExtendedResourceToleration",
		"ImagePolicyWebhook", "LimitPodHardAntiAffinityTopology", "LimitRanger",
		"MutatingAdmissionWebhook", "NamespaceAutoProvision", "NamespaceExists",
		"NamespaceLifecycle", "NodeRestriction", "OwnerReferencesPermissionEnforcement",
		"PersistentVolumeClaimResize", "PodNodeSelector", "PodSecurity",
		"PodTolerationRestriction", "Priority", "ResourceQuota", "RuntimeClass",
		"ServiceAccount", "StorageObjectInUseProtection", "TaintNodesByCondition",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook",
	};
	const char *p = list;

	while (*p) {
		size_t l = strcspn(p, ","), i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strlen(known[i]) == l && strncmp(known[i], p, l) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			fail("enable-admission-plugins plugin \"%.*s\" is unknown", (int)l, p);
		p += l + (p[l] == ',');
	}
}

int main(int argc, char **argv)
{
	struct config c = { NULL, 0, 0 };
	struct key *k;
	const char *v;
	bool protect = false;
	size_t i, j;

	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: standin-check /ABSOLUTE/ROOT\n");
		return 2;
	}
	root = argv[1];
	load_config(&c);

	v = arg_value(&c, "kube-apiserver-arg", "admission-control-config-file");
	if (v)
		check_yaml_file("admission-control-config-file", v);
	v = arg_value(&c, "kube-apiserver-arg", "audit-policy-file");
	if (v)
		check_yaml_file("audit-policy-file", v);
	v = arg_value(&c, "kube-apiserver-arg", "audit-log-path");
	if (v)
		check_log_dir(v);
	v = arg_value(&c, "kube-apiserver-arg", "enable-admission-plugins");
	if (v)
		check_plugins(v);

	k = find_key(&c, "protect-kernel-defaults");
	if (k && (k->is_list || k->n != 1 || !parse_bool(k->v[0], &protect)))
		fail("protect-kernel-defaults: not a boolean");
	v = arg_value(&c, "kubelet-arg", "protect-kernel-defaults");
	if (v && !parse_bool(v, &protect))
		fail("kubelet-arg protect-kernel-defaults=%s: not a boolean", v);
	if (protect)
		check_kernel();

	for (i = 0; i < c.n; i++) {
		for (j = 0; j < c.keys[i].n; j++)
			free(c.keys[i].v[j]);
		free(c.keys[i].name);
	}
	free(c.keys);
	return failures ? 1 : 0;
}
