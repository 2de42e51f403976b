#include "kv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct kv *kv_new(enum kv_type t)
{
	struct kv *v = calloc(1, sizeof(*v));

	if (v)
		v->type = t;
	return v;
}

struct kv *kv_null(void) { return kv_new(KV_NULL); }
struct kv *kv_list(void) { return kv_new(KV_LIST); }
struct kv *kv_map(void) { return kv_new(KV_MAP); }

struct kv *kv_bool(bool b)
{
	struct kv *v = kv_new(KV_BOOL);

	if (v)
		v->b = b;
	return v;
}

struct kv *kv_num(double n)
{
	struct kv *v = kv_new(KV_NUM);

	if (v)
		v->num = n;
	return v;
}

struct kv *kv_strn(const char *s, size_t len)
{
	struct kv *v = kv_new(KV_STR);

	if (!v)
		return NULL;
	v->str = malloc(len + 1);
	if (!v->str) {
		free(v);
		return NULL;
	}
	if (len)
		memcpy(v->str, s, len);
	v->str[len] = '\0';
	v->len = len;
	return v;
}

struct kv *kv_str(const char *s)
{
	return kv_strn(s, strlen(s));
}

struct kv *kv_strf(const char *fmt, ...)
{
	struct kv *v;
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	v = kv_new(KV_STR);
	if (!v) {
		free(s);
		return NULL;
	}
	v->str = s;
	v->len = (size_t)n;
	return v;
}

static int kv_grow(struct kv *v)
{
	size_t cap;
	struct kv **items;
	char **keys;

	if (v->len < v->cap)
		return 0;
	cap = v->cap ? v->cap * 2 : 8;
	items = realloc(v->items, cap * sizeof(*items));
	if (!items)
		return -ENOMEM;
	v->items = items;
	if (v->type == KV_MAP) {
		keys = realloc(v->keys, cap * sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		v->keys = keys;
	}
	v->cap = cap;
	return 0;
}

int kv_list_add(struct kv *list, struct kv *item)
{
	if (!item)
		return -ENOMEM;
	if (kv_grow(list) < 0) {
		kv_free(item);
		return -ENOMEM;
	}
	list->items[list->len++] = item;
	return 0;
}

int kv_map_set(struct kv *map, const char *key, struct kv *val)
{
	char *k;
	size_t i;

	if (!val)
		return -ENOMEM;
	for (i = 0; i < map->len; i++) {
		if (strcmp(map->keys[i], key) == 0) {
			kv_free(map->items[i]);
			map->items[i] = val;
			return 0;
		}
	}
	k = strdup(key);
	if (!k || kv_grow(map) < 0) {
		free(k);
		kv_free(val);
		return -ENOMEM;
	}
	map->keys[map->len] = k;
	map->items[map->len++] = val;
	return 0;
}

int kv_map_str(struct kv *map, const char *key, const char *s)
{
	return kv_map_set(map, key, kv_str(s));
}

int kv_map_bool(struct kv *map, const char *key, bool b)
{
	return kv_map_set(map, key, kv_bool(b));
}

int kv_map_num(struct kv *map, const char *key, double n)
{
	return kv_map_set(map, key, kv_num(n));
}

const struct kv *kv_map_getn(const struct kv *map, const char *key, size_t len)
{
	size_t i;

	if (!map || map->type != KV_MAP)
		return NULL;
	/* key may hold a NUL before len: strncmp would stop there and the
	 * keys[i][len] test read past a shorter key */
	for (i = 0; i < map->len; i++)
		if (strnlen(map->keys[i], len + 1) == len && memcmp(map->keys[i], key, len) == 0)
			return map->items[i];
	return NULL;
}

const struct kv *kv_map_get(const struct kv *map, const char *key)
{
	return kv_map_getn(map, key, strlen(key));
}

void kv_free(struct kv *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->len && v->items; i++) {
		kv_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}
