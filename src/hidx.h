/*
 * A hash index over an array the caller owns: it maps a key to the position
 * of the first element with that key, so lookups and duplicate checks in big
 * mappings cost O(1) instead of a scan. The index stores positions only; the
 * caller's key_at callback gives the key at a position.
 */
#ifndef K3H_HIDX_H
#define K3H_HIDX_H

#include <stddef.h>
#include <stdint.h>

typedef const char *(*hidx_key_fn)(const void *ctx, size_t pos, size_t *len);

struct hidx {
	size_t *slot;           /* position + 1; 0 is empty */
	size_t cap;             /* a power of two, or 0 */
	size_t n;               /* positions indexed */
};

uint64_t hidx_hash(const char *key, size_t len);
/* The same hash with a fixed seed: the same on every run and byte order
 * (txn's journal checksums), for telling cut-short writes, not forgeries. */
uint64_t hidx_hash_seeded(const void *data, size_t len, uint64_t seed);

/* Position of key, or -1. */
long hidx_find(const struct hidx *h, const char *key, size_t len, hidx_key_fn key_at,
	       const void *ctx);

/* Index pos; a key already present keeps its first position. 0 or -ENOMEM. */
int hidx_add(struct hidx *h, size_t pos, hidx_key_fn key_at, const void *ctx);

void hidx_clear(struct hidx *h);
void hidx_free(struct hidx *h);

#endif
