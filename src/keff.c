#include "keff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "k3s_files.h"
#include "k3s_keys.h"

/* Host config files are small; this bounds a hostile one. */
#define KEFF_FILE_MAX (16u << 20)

bool keff_same_flag(const char *item, const char *flag)
{
	const char *s = item + strspn(item, "-");
	size_t l = strcspn(s, "=");

	return strlen(flag) == l && strncmp(s, flag, l) == 0;
}

const char *keff_flag_value(const char *item)
{
	const char *eq = strchr(item, '=');

	return eq ? eq + 1 : "";
}

bool keff_csv_has(const char *csv, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = csv; p && *p; p += strcspn(p, ","), p += *p == ',')
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

bool keff_is_null(const struct ynode *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t i;

	if (n->kind != YN_SCALAR || !n->plain)
		return false;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(n->value, nulls[i]) == 0)
			return true;
	return false;
}

/*
 * A plain YAML 1.1 boolean (yes, on, ...) is resolved by the YAML parser;
 * any string then goes through Go's strconv.ParseBool.
 */
int keff_bool_meaning(const struct ynode *n)
{
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
					   "true", "True", "TRUE", "1", "t", "T" };
	static const char *const no[] = { "n", "N", "no", "No", "NO", "off", "Off", "OFF",
					  "false", "False", "FALSE", "0", "f", "F" };
	size_t i, from = n->plain ? 0 : 8;

	if (n->kind != YN_SCALAR)
		return -1;
	for (i = from; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(n->value, yes[i]) == 0)
			return 1;
		if (strcmp(n->value, no[i]) == 0)
			return 0;
	}
	return -1;
}

static const char *key_at(const void *ctx, size_t pos, size_t *len)
{
	const struct keff *E = ctx;

	*len = strlen(E->keys[pos].name);
	return E->keys[pos].name;
}

static struct keff_key *lookup(const struct keff *E, const char *name, size_t len)
{
	long at = hidx_find(&E->idx, name, len, key_at, E);

	return at >= 0 ? &E->keys[at] : NULL;
}

static struct keff_key *get_or_add(struct keff *E, const char *name, size_t len)
{
	struct keff_key *k = lookup(E, name, len);

	if (k)
		return k;
	if (E->n == E->cap) {
		size_t cap = E->cap ? E->cap * 2 : 32;

		k = realloc(E->keys, cap * sizeof(*k));
		if (!k)
			return NULL;
		E->keys = k;
		E->cap = cap;
	}
	k = &E->keys[E->n];
	memset(k, 0, sizeof(*k));
	k->name = strndup(name, len);
	if (!k->name)
		return NULL;
	if (hidx_add(&E->idx, E->n, key_at, E) < 0) {
		free((char *)k->name);
		return NULL;
	}
	E->n++;
	return k;
}

static int push(struct keff_key *k, const struct ynode *n)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 8;
		struct keff_item *v = realloc(k->items, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		k->items = v;
		k->cap = cap;
	}
	k->items[k->n].node = n;
	k->items[k->n].value = n->value;
	k->n++;
	return 0;
}

int keff_add(struct keff *E, const char *label, const char *data, size_t len,
	     struct diags *d, struct diags *w)
{
	struct ynode *root = NULL, **trees;
	size_t i, j;
	int r;

	r = ynode_parse(label, data, len, YN_ALLOW_ALIAS | YN_ALLOW_EMPTY, &root, d);
	if (r < 0)
		return r;
	if (!root)
		return 0;
	trees = realloc(E->trees, (E->n_trees + 1) * sizeof(*trees));
	if (!trees) {
		ynode_free(root);
		return -ENOMEM;
	}
	E->trees = trees;
	E->trees[E->n_trees++] = root;
	if (root->kind != YN_MAP) {
		diags_add(d, label, root->start.line, root->start.col,
			  "a K3s configuration file must be a mapping of options");
		return -EINVAL;
	}
	for (i = 0; i < root->n; i++) {
		const struct ynode *key = root->keys[i], *v = root->items[i];
		size_t kl = key->len;
		bool plus = kl > 1 && key->value[kl - 1] == '+';
		struct keff_key *k;

		if (plus)
			kl--;
		k = get_or_add(E, key->value, kl);
		if (!k)
			return -ENOMEM;
		if (w && !k3s_key_find(k->name))
			diags_add(w, label, key->start.line, key->start.col,
				  "unknown K3s option '%s' (K3s ignores it with only a warning)", k->name);
		if (!plus) {
			k->n = 0;
			k->assigned = key;
		}
		k->last = key;
		if (v->kind == YN_SCALAR) {
			if (!keff_is_null(v) && (r = push(k, v)) < 0)
				return r;
		} else if (v->kind == YN_SEQ) {
			for (j = 0; j < v->n; j++)
				if (v->items[j]->kind == YN_SCALAR && !keff_is_null(v->items[j]) &&
				    (r = push(k, v->items[j])) < 0)
					return r;
		}
	}
	return 0;
}

int keff_read_root(struct keff *E, const char *root, const char *config_path,
		   struct diags *d, struct diags *w)
{
	return keff_read_root_except(E, root, config_path, NULL, d, w);
}

int keff_read_root_except(struct keff *E, const char *root, const char *config_path,
			  const char *skip, struct diags *d, struct diags *w)
{
	char **paths = NULL;
	size_t n = 0, i;
	size_t dl = strlen(config_path ? config_path : "/etc/rancher/k3s/config.yaml") + 3;
	int r;

	r = k3s_config_files(root, config_path ? config_path : "/etc/rancher/k3s/config.yaml",
			     NULL, &paths, &n);
	if (r < 0) {
		diags_add(d, config_path ? config_path : "/etc/rancher/k3s/config.yaml", 0, 0,
			  "cannot list the K3s configuration files: %s", strerror(-r));
		return -EINVAL;
	}
	for (i = 0; i < n && r >= 0; i++) {
		struct stat st;
		char *data = NULL, **v;
		size_t len = 0;

		/* config.yaml.d/SKIP */
		if (skip && i > 0 && strlen(paths[i]) > dl && strcmp(paths[i] + dl, skip) == 0)
			continue;
		r = root_read_file_resolved(root, paths[i], KEFF_FILE_MAX, &data, &len, &st);
		if (r == -ENOENT || r == -EISDIR) {
			r = 0;
			continue;
		}
		if (r < 0) {
			diags_add(d, paths[i], 0, 0, "cannot read: %s", strerror(-r));
			r = -EINVAL;
			break;
		}
		v = realloc(E->data, (E->n_data + 1) * sizeof(*v));
		if (!v) {
			free(data);
			r = -ENOMEM;
			break;
		}
		E->data = v;
		E->data[E->n_data++] = data;
		r = keff_add(E, paths[i], data, len, d, w);
	}
	names_free(paths, n);
	return r < 0 ? r : 0;
}

const struct keff_key *keff_get(const struct keff *E, const char *name)
{
	return lookup(E, name, strlen(name));
}

const char *keff_value(const struct keff *E, const char *name)
{
	const struct keff_key *k = keff_get(E, name);

	return k && k->n ? k->items[k->n - 1].value : NULL;
}

int keff_bool(const struct keff *E, const char *name)
{
	const struct keff_key *k = keff_get(E, name);

	return k && k->n ? keff_bool_meaning(k->items[k->n - 1].node) : -1;
}

const struct keff_item *keff_flag(const struct keff *E, const char *list, const char *flag)
{
	const struct keff_key *k = keff_get(E, list);
	const struct keff_item *last = NULL;
	size_t i;

	for (i = 0; k && i < k->n; i++)
		if (keff_same_flag(k->items[i].value, flag))
			last = &k->items[i];
	return last;
}

void keff_free(struct keff *E)
{
	size_t i;

	for (i = 0; i < E->n; i++) {
		free((char *)E->keys[i].name);
		free(E->keys[i].items);
	}
	for (i = 0; i < E->n_trees; i++)
		ynode_free(E->trees[i]);
	for (i = 0; i < E->n_data; i++)
		free(E->data[i]);
	free(E->keys);
	free(E->trees);
	free(E->data);
	hidx_free(&E->idx);
	memset(E, 0, sizeof(*E));
}
