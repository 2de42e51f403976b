/* The Kubernetes objects a manifest file declares (kind, namespace, name). */
#ifndef K3H_MANIFEST_H
#define K3H_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

struct k8s_object {
	char *kind;
	char *ns;               /* NULL for cluster-scoped objects */
	char *name;
};

int manifest_objects(const char *data, size_t len, struct k8s_object **v, size_t *n);
bool manifest_declares(const char *data, size_t len, const struct k8s_object *o);
void manifest_objects_free(struct k8s_object *v, size_t n);

#endif
