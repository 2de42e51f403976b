#include "yamldoc.h"

#include <stdlib.h>
#include <string.h>

int ydocs_load(struct ydocs *y, const char *data, size_t len)
{
	yaml_parser_t p;
	int r = 0;

	memset(y, 0, sizeof(*y));
	if (!yaml_parser_initialize(&p))
		return -1;
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	while (y->n < MAX_DOCS) {
		yaml_document_t *d = &y->docs[y->n];

		if (!yaml_parser_load(&p, d)) {
			r = -1;
			break;
		}
		if (!yaml_document_get_root_node(d)) {
			yaml_document_delete(d);
			break;
		}
		y->n++;
	}
	yaml_parser_delete(&p);
	return r;
}

void ydocs_free(struct ydocs *y)
{
	size_t i;

	for (i = 0; i < y->n; i++)
		yaml_document_delete(&y->docs[i]);
	y->n = 0;
}

yaml_node_t *ydoc_root(struct ydocs *y, size_t i)
{
	return i < y->n ? yaml_document_get_root_node(&y->docs[i]) : NULL;
}

static yaml_node_t *child(yaml_document_t *d, yaml_node_t *n, const char *key, size_t klen)
{
	if (n->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *p;

		for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(d, p->key);

			if (k->type == YAML_SCALAR_NODE && k->data.scalar.length == klen &&
			    memcmp(k->data.scalar.value, key, klen) == 0)
				return yaml_document_get_node(d, p->value);
		}
		return NULL;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		size_t i = (size_t)strtoul(key, NULL, 10);
		yaml_node_item_t *it = n->data.sequence.items.start + i;

		if (it < n->data.sequence.items.top)
			return yaml_document_get_node(d, *it);
	}
	return NULL;
}

yaml_node_t *ypath(yaml_document_t *d, yaml_node_t *n, const char *path)
{
	const char *p = path;

	/* keys may hold dots (kubernetes.io/metadata.name): a '|' separates instead when present */
	char sep = strchr(path, '|') ? '|' : '.';

	while (n && *p) {
		const char *e = strchr(p, sep);
		size_t l = e ? (size_t)(e - p) : strlen(p);

		n = child(d, n, p, l);
		p += l;
		if (*p == sep)
			p++;
	}
	return n;
}

const char *yscalar(yaml_document_t *d, yaml_node_t *n, const char *path)
{
	yaml_node_t *s = ypath(d, n, path);

	return s && s->type == YAML_SCALAR_NODE ? (const char *)s->data.scalar.value : NULL;
}

int yplain(yaml_document_t *d, yaml_node_t *n, const char *path)
{
	yaml_node_t *s = ypath(d, n, path);

	return s && s->type == YAML_SCALAR_NODE && s->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

size_t ylen(yaml_node_t *n)
{
	if (!n)
		return 0;
	if (n->type == YAML_SEQUENCE_NODE)
		return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (n->type == YAML_MAPPING_NODE)
		return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	return 0;
}
