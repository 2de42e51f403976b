#include "manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static const char *scalar_at(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		yaml_node_t *v = yaml_document_get_node(d, p->value);

		if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
			return v && v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
	}
	return NULL;
}

static yaml_node_t *map_at(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

int manifest_objects(const char *data, size_t len, struct k8s_object **out, size_t *n)
{
	yaml_parser_t p;
	struct k8s_object *v = NULL;
	size_t k = 0;
	int r = 0;

	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	for (;;) {
		yaml_document_t d;
		yaml_node_t *root, *meta;
		const char *kind, *name, *ns;

		if (!yaml_parser_load(&p, &d)) {
			r = -EINVAL;
			break;
		}
		root = yaml_document_get_root_node(&d);
		if (!root) {
			yaml_document_delete(&d);
			break;
		}
		meta = map_at(&d, root, "metadata");
		kind = scalar_at(&d, root, "kind");
		name = scalar_at(&d, meta, "name");
		ns = scalar_at(&d, meta, "namespace");
		if (kind && name) {
			struct k8s_object *nv = realloc(v, (k + 1) * sizeof(*v));

			if (!nv) {
				yaml_document_delete(&d);
				r = -ENOMEM;
				break;
			}
			v = nv;
			v[k].kind = strdup(kind);
			v[k].name = strdup(name);
			v[k].ns = ns ? strdup(ns) : NULL;
			k++;
		}
		yaml_document_delete(&d);
	}
	yaml_parser_delete(&p);
	if (r < 0) {
		manifest_objects_free(v, k);
		return r;
	}
	*out = v;
	*n = k;
	return 0;
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool manifest_declares(const char *data, size_t len, const struct k8s_object *o)
{
	struct k8s_object *v = NULL;
	size_t n = 0, i;
	bool found = false;

	if (manifest_objects(data, len, &v, &n) < 0)
		return false;
	for (i = 0; i < n && !found; i++)
		found = same(v[i].kind, o->kind) && same(v[i].ns, o->ns) && same(v[i].name, o->name);
	manifest_objects_free(v, n);
	return found;
}

void manifest_objects_free(struct k8s_object *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].kind);
		free(v[i].ns);
		free(v[i].name);
	}
	free(v);
}
