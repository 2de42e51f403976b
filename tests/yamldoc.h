/* Test helper: read a YAML stream with libyaml's document API and walk it. */
#ifndef K3H_TEST_YAMLDOC_H
#define K3H_TEST_YAMLDOC_H

#include <stddef.h>
#include <yaml.h>

#define MAX_DOCS 64

struct ydocs {
	yaml_document_t docs[MAX_DOCS];
	size_t n;
};

/* 0 on success; every document of the stream is loaded. */
int ydocs_load(struct ydocs *y, const char *data, size_t len);
void ydocs_free(struct ydocs *y);
yaml_node_t *ydoc_root(struct ydocs *y, size_t i);
/*
 * Walk a path like "plugins.0.configuration.defaults.enforce" (numbers index
 * lists); NULL when absent.
 */
yaml_node_t *ypath(yaml_document_t *d, yaml_node_t *n, const char *path);
/* Scalar at path, or NULL. */
const char *yscalar(yaml_document_t *d, yaml_node_t *n, const char *path);
/* 1 if the scalar at path was written plain (an int/bool to Kubernetes). */
int yplain(yaml_document_t *d, yaml_node_t *n, const char *path);
size_t ylen(yaml_node_t *n);

#endif
