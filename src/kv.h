/*
 * A small dynamic value tree (null, bool, number, string, list, map): the
 * data a Mustache template is rendered against. Maps keep insertion order.
 * Constructors return NULL on allocation failure; the *_add/_set functions
 * take ownership of the child and free it on failure.
 */
#ifndef K3H_KV_H
#define K3H_KV_H

#include <stdbool.h>
#include <stddef.h>

enum kv_type { KV_NULL, KV_BOOL, KV_NUM, KV_STR, KV_LIST, KV_MAP };

struct kv {
	enum kv_type type;
	bool b;
	double num;
	char *str;              /* KV_STR: NUL-terminated, len bytes */
	size_t len;             /* KV_STR: length; KV_LIST/KV_MAP: items */
	size_t cap;
	struct kv **items;      /* KV_LIST, KV_MAP values */
	char **keys;            /* KV_MAP keys */
};

struct kv *kv_null(void);
struct kv *kv_bool(bool b);
struct kv *kv_num(double n);
struct kv *kv_str(const char *s);
struct kv *kv_strn(const char *s, size_t len);
struct kv *kv_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct kv *kv_list(void);
struct kv *kv_map(void);

int kv_list_add(struct kv *list, struct kv *item);
/* Replaces an existing key. */
int kv_map_set(struct kv *map, const char *key, struct kv *val);
/* Convenience setters: 0 or -ENOMEM. */
int kv_map_str(struct kv *map, const char *key, const char *s);
int kv_map_bool(struct kv *map, const char *key, bool b);
int kv_map_num(struct kv *map, const char *key, double n);

const struct kv *kv_map_get(const struct kv *map, const char *key);
const struct kv *kv_map_getn(const struct kv *map, const char *key, size_t len);

void kv_free(struct kv *v);

#endif
