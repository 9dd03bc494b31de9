/*
 * sql/store_costcache.c - the cost loader's bounded descriptor cache.
 *
 * Entries live one after the other in one arena of fixed size (no
 * allocation per entry); an open-addressing table of arena offsets, sized
 * for the arena's worst case of small entries, finds them by hash.  When
 * the arena or the table is full, both are reset in O(table) and filling
 * starts again: memory is bounded whatever the file, and a descriptor
 * forgotten that way is just stored again under a new id.
 */
#include "core/common.h"
#include "sql/store_costs_internal.h"

/* Smallest cache worth having; the test hook may go down to it. */
#define CACHE_MIN_BYTES 256

/* An entry in the arena, followed by key_len + prefix_len bytes,
 * padded to 8. */
struct entry {
	uint64_t hash;
	int64_t id;
	uint32_t key_len;
	uint32_t prefix_len;
	uint32_t currency;
	uint32_t pad;
};

struct cb_cost_cache {
	unsigned char *arena;
	size_t arena_size, arena_used;
	uint32_t *slots; /* arena offset / 8 + 1; 0 = empty */
	size_t slot_mask;
	size_t count, max_count, clears;
};

static size_t limit_override;

void
cb__cost_cache_limit(size_t bytes)
{
	limit_override = bytes;
}

int
cb__cost_cache_new(struct cb_cost_cache **out, size_t bytes)
{
	struct cb_cost_cache *c;
	size_t slots = 16;

	if (bytes == 0)
		bytes = limit_override ? limit_override
				       : CB_COST_CACHE_DEFAULT_BYTES;
	if (bytes < CACHE_MIN_BYTES)
		bytes = CACHE_MIN_BYTES;
	/* Offsets are stored /8 in 32 bits. */
	if (bytes > ((size_t)UINT32_MAX - 1) * 8)
		bytes = ((size_t)UINT32_MAX - 1) * 8;
	/* Descriptors are a few hundred bytes; plan for 128-byte ones at a
	 * load factor of 1/2, and clear when the table is that full. */
	while (slots < bytes / 64)
		slots *= 2;
	if ((c = cb__calloc(1, sizeof(*c))) == NULL ||
		(c->arena = cb__malloc(bytes)) == NULL ||
		(c->slots = cb__calloc(slots, sizeof(*c->slots))) == NULL) {
		cb__cost_cache_free(c);
		return cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
			"descriptor cache: out of memory");
	}
	c->arena_size = bytes;
	c->slot_mask = slots - 1;
	c->max_count = slots / 2;
	*out = c;
	return 0;
}

void
cb__cost_cache_free(struct cb_cost_cache *c)
{
	if (c == NULL)
		return;
	cb__free(c->arena);
	cb__free(c->slots);
	cb__free(c);
}

static struct entry *
entry_at(const struct cb_cost_cache *c, uint32_t slot)
{
	return (struct entry *)(void *)(c->arena + (size_t)(slot - 1) * 8);
}

bool
cb__cost_cache_find(struct cb_cost_cache *c, uint64_t hash,
	const unsigned char *key, size_t key_len, struct cb_cost_cached *out)
{
	size_t i = (size_t)hash & c->slot_mask;
	uint32_t s;

	while ((s = c->slots[i]) != 0) {
		const struct entry *e = entry_at(c, s);

		if (e->hash == hash && e->key_len == key_len &&
			memcmp(e + 1, key, key_len) == 0) {
			out->id = e->id;
			out->currency = e->currency;
			out->prefix_len = e->prefix_len;
			out->prefix = (const unsigned char *)(e + 1) + key_len;
			return true;
		}
		i = (i + 1) & c->slot_mask;
	}
	return false;
}

static void
cache_clear(struct cb_cost_cache *c)
{
	memset(c->slots, 0, (c->slot_mask + 1) * sizeof(*c->slots));
	c->arena_used = 0;
	c->count = 0;
	c->clears++;
}

int
cb__cost_cache_insert(struct cb_cost_cache *c, uint64_t hash,
	const unsigned char *key, size_t key_len, int64_t id,
	const unsigned char *prefix, size_t prefix_len, uint32_t currency)
{
	size_t need = sizeof(struct entry) + key_len + prefix_len, i;
	struct entry *e;

	need = (need + 7) & ~(size_t)7;
	if (need > c->arena_size)
		return 0; /* never fits: not remembered */
	if (c->arena_size - c->arena_used < need || c->count >= c->max_count)
		cache_clear(c);
	e = (struct entry *)(void *)(c->arena + c->arena_used);
	e->hash = hash;
	e->id = id;
	e->key_len = (uint32_t)key_len;
	e->prefix_len = (uint32_t)prefix_len;
	e->currency = currency;
	e->pad = 0;
	memcpy(e + 1, key, key_len);
	if (prefix_len)
		memcpy((unsigned char *)(e + 1) + key_len, prefix, prefix_len);
	i = (size_t)hash & c->slot_mask;
	while (c->slots[i] != 0)
		i = (i + 1) & c->slot_mask;
	c->slots[i] = (uint32_t)(c->arena_used / 8 + 1);
	c->arena_used += need;
	c->count++;
	return 0;
}

size_t
cb__cost_cache_count(const struct cb_cost_cache *c)
{
	return c->count;
}

size_t
cb__cost_cache_clears(const struct cb_cost_cache *c)
{
	return c->clears;
}
