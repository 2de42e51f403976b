#include "hidx.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Keys come from files other people wrote: a per-process seed keeps them
 * from choosing collisions. */
static uint64_t seed;
static bool seeded;

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

uint64_t hidx_hash_seeded(const void *data, size_t len, uint64_t s)
{
	const unsigned char *p = data;
	uint64_t h = s ^ (len * 0x9e3779b97f4a7c15ULL), w;
	size_t i = 0;
	unsigned k;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = mix(h ^ le64toh(w)) + 0x9e3779b97f4a7c15ULL;
	}
	for (w = 0, k = 0; i < len; i++, k += 8)
		w |= (uint64_t)p[i] << k;
	return mix(h ^ w ^ ((uint64_t)(len % 8) << 59));
}

uint64_t hidx_hash(const char *key, size_t len)
{
	if (!seeded) {
		if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
			seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&seed;
		seeded = true;
	}
	return hidx_hash_seeded(key, len, seed);
}

static bool same(const char *a, size_t al, const char *b, size_t bl)
{
	return a && al == bl && memcmp(a, b, al) == 0;
}

long hidx_find(const struct hidx *h, const char *key, size_t len, hidx_key_fn key_at,
	       const void *ctx)
{
	size_t m, i;

	if (!h->cap)
		return -1;
	m = h->cap - 1;
	for (i = (size_t)hidx_hash(key, len) & m; h->slot[i]; i = (i + 1) & m) {
		size_t kl = 0;
		const char *k = key_at(ctx, h->slot[i] - 1, &kl);

		if (same(k, kl, key, len))
			return (long)(h->slot[i] - 1);
	}
	return -1;
}

/* Insert without growing; false when an equal key is there already. */
static bool put(struct hidx *h, size_t pos, const char *key, size_t len, hidx_key_fn key_at,
		const void *ctx)
{
	size_t m = h->cap - 1, i;

	for (i = (size_t)hidx_hash(key, len) & m; h->slot[i]; i = (i + 1) & m) {
		size_t kl = 0;
		const char *k = key_at(ctx, h->slot[i] - 1, &kl);

		if (same(k, kl, key, len))
			return false;
	}
	h->slot[i] = pos + 1;
	return true;
}

static int grow(struct hidx *h, hidx_key_fn key_at, const void *ctx)
{
	size_t cap = h->cap ? h->cap * 2 : 16, i, *old = h->slot, old_cap = h->cap;

	h->slot = calloc(cap, sizeof(*h->slot));
	if (!h->slot) {
		h->slot = old;
		return -ENOMEM;
	}
	h->cap = cap;
	for (i = 0; i < old_cap; i++) {
		size_t kl = 0;
		const char *k;

		if (!old[i])
			continue;
		k = key_at(ctx, old[i] - 1, &kl);
		put(h, old[i] - 1, k, kl, key_at, ctx);
	}
	free(old);
	return 0;
}

int hidx_add(struct hidx *h, size_t pos, hidx_key_fn key_at, const void *ctx)
{
	size_t len = 0;
	const char *key = key_at(ctx, pos, &len);

	/* keep the load at most one half */
	if ((h->n + 1) * 2 > h->cap && grow(h, key_at, ctx) < 0)
		return -ENOMEM;
	h->n++;
	if (key)
		put(h, pos, key, len, key_at, ctx);
	return 0;
}

void hidx_clear(struct hidx *h)
{
	if (h->slot)
		memset(h->slot, 0, h->cap * sizeof(*h->slot));
	h->n = 0;
}

void hidx_free(struct hidx *h)
{
	free(h->slot);
	memset(h, 0, sizeof(*h));
}
