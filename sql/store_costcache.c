/*
 * sql/store_costcache.c - the cost loader's bounded descriptor cache.
 *
 * A partner's month repeats each descriptor once a day, so the cache must
 * remember a whole day's descriptors: tens or hundreds of thousands of
 * ~1 KB values, more than the load's memory budget.  So an entry keeps
 * no bytes, only a 128-bit digest of them (SipHash-2-4 under a random
 * key drawn per cache), the id and the currency slot: 32 bytes.  Two
 * different descriptors are taken for one only if their digests collide:
 * with a secret key and 128 bits, below 10^-24 for a load of ten million
 * descriptors, and no file can be crafted to do it without the key.
 *
 * The (billing_account_id, customer_id) fields every line starts with are
 * few (one per customer) and kept whole in a small arena of their own.
 * When either part is full, everything is forgotten and filling starts
 * again: memory is bounded whatever the file, and a descriptor forgotten
 * that way is just stored again under a new id.
 */
#include "core/common.h"
#include "sql/store_costs_internal.h"

#include <sys/random.h>

/* Smallest cache worth having; the test hook may go down to it. */
#define CACHE_MIN_BYTES 256

struct entry {
	uint64_t d0, d1; /* the digest */
	int64_t id;
	uint32_t prefix; /* index into prefixes */
	uint32_t currency;
};

struct prefix {
	uint64_t hash;
	uint32_t off, len; /* in the prefix arena */
};

struct cb_cost_cache {
	uint64_t k0, k1; /* SipHash key */
	struct entry *entries;
	size_t count, max_count;
	uint32_t *slots; /* entry index + 1; 0 = empty */
	size_t slot_mask;
	unsigned char *arena; /* prefix bytes */
	size_t arena_size, arena_used;
	struct prefix *prefixes;
	size_t nprefixes, max_prefixes;
	uint32_t *pslots; /* prefix index + 1 */
	size_t pslot_mask;
	size_t clears;
};

static size_t limit_override;

void
cb__cost_cache_limit(size_t bytes)
{
	limit_override = bytes;
}

/* ---- SipHash-2-4, 128-bit output (Aumasson and Bernstein) ---------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v0, v1, v2, v3)   \
	do {                       \
		v0 += v1;          \
		v1 = ROTL(v1, 13); \
		v1 ^= v0;          \
		v0 = ROTL(v0, 32); \
		v2 += v3;          \
		v3 = ROTL(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = ROTL(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = ROTL(v1, 17); \
		v1 ^= v2;          \
		v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t
load_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void
cb__siphash128(
	uint64_t out[2], uint64_t k0, uint64_t k1, const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d) ^ 0xee;
	uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
	uint64_t m, b = (uint64_t)n << 56;
	size_t left = n & 7;

	for (const unsigned char *end = p + (n - left); p < end; p += 8) {
		m = load_le64(p);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (size_t i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xee;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	out[0] = v0 ^ v1 ^ v2 ^ v3;
	v1 ^= 0xdd;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	out[1] = v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the cache ------------------------------------------------------ */

static size_t
pow2_at_least(size_t n)
{
	size_t p = 16;

	while (p < n)
		p *= 2;
	return p;
}

int
cb__cost_cache_new(struct cb_cost_cache **out, size_t bytes)
{
	struct cb_cost_cache *c;
	uint64_t key[2];

	if (bytes == 0)
		bytes = limit_override ? limit_override
				       : CB_COST_CACHE_DEFAULT_BYTES;
	if (bytes < CACHE_MIN_BYTES)
		bytes = CACHE_MIN_BYTES;
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		return cb__error_set(CB_EIO, CB_ERRCLASS_OS,
			"descriptor cache: no random key from the system");
	if ((c = cb__calloc(1, sizeof(*c))) == NULL)
		goto nomem;
	c->k0 = key[0];
	c->k1 = key[1];
	/* Entries take 32 bytes plus two slots at a load factor of 1/2;
	 * one sixteenth of the budget holds the prefixes. */
	c->max_count = (bytes - bytes / 16) / 48 + 1;
	c->slot_mask = pow2_at_least(2 * c->max_count) - 1;
	/* At least room for a few prefixes, whatever the test hook says. */
	c->arena_size = bytes / 16 < 4096 ? 4096 : bytes / 16;
	c->max_prefixes = c->arena_size / 64 + 1;
	c->pslot_mask = pow2_at_least(2 * c->max_prefixes) - 1;
	if ((c->entries = cb__calloc(c->max_count, sizeof(*c->entries))) ==
			NULL ||
		(c->slots = cb__calloc(c->slot_mask + 1, sizeof(*c->slots))) ==
			NULL ||
		(c->arena = cb__malloc(c->arena_size)) == NULL ||
		(c->prefixes = cb__calloc(
			 c->max_prefixes, sizeof(*c->prefixes))) == NULL ||
		(c->pslots = cb__calloc(
			 c->pslot_mask + 1, sizeof(*c->pslots))) == NULL)
		goto nomem;
	*out = c;
	return 0;
nomem:
	cb__cost_cache_free(c);
	return cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
		"descriptor cache: out of memory");
}

void
cb__cost_cache_free(struct cb_cost_cache *c)
{
	if (c == NULL)
		return;
	cb__free(c->entries);
	cb__free(c->slots);
	cb__free(c->arena);
	cb__free(c->prefixes);
	cb__free(c->pslots);
	cb__free(c);
}

bool
cb__cost_cache_find(struct cb_cost_cache *c, const unsigned char *key,
	size_t key_len, struct cb_cost_cached *out)
{
	uint64_t d[2];
	size_t i;
	uint32_t s;

	cb__siphash128(d, c->k0, c->k1, key, key_len);
	for (i = (size_t)d[0] & c->slot_mask; (s = c->slots[i]) != 0;
		i = (i + 1) & c->slot_mask) {
		const struct entry *e = &c->entries[s - 1];
		const struct prefix *pf;

		if (e->d0 != d[0] || e->d1 != d[1])
			continue;
		pf = &c->prefixes[e->prefix];
		out->id = e->id;
		out->currency = e->currency;
		out->prefix_len = pf->len;
		out->prefix = c->arena + pf->off;
		return true;
	}
	return false;
}

static void
cache_clear(struct cb_cost_cache *c)
{
	memset(c->slots, 0, (c->slot_mask + 1) * sizeof(*c->slots));
	memset(c->pslots, 0, (c->pslot_mask + 1) * sizeof(*c->pslots));
	c->count = 0;
	c->nprefixes = 0;
	c->arena_used = 0;
	c->clears++;
}

/* The index of prefix bytes in the prefix table, added if new; -1 when
 * the table or its arena is full. */
static long
prefix_index(struct cb_cost_cache *c, const unsigned char *p, size_t n)
{
	uint64_t d[2];
	size_t i;
	uint32_t s;
	struct prefix *pf;

	cb__siphash128(d, c->k0, c->k1, p, n);
	for (i = (size_t)d[0] & c->pslot_mask; (s = c->pslots[i]) != 0;
		i = (i + 1) & c->pslot_mask) {
		pf = &c->prefixes[s - 1];
		if (pf->hash == d[0] && pf->len == n &&
			memcmp(c->arena + pf->off, p, n) == 0)
			return (long)(s - 1);
	}
	if (c->nprefixes >= c->max_prefixes ||
		c->arena_size - c->arena_used < n)
		return -1;
	pf = &c->prefixes[c->nprefixes];
	pf->hash = d[0];
	pf->off = (uint32_t)c->arena_used;
	pf->len = (uint32_t)n;
	if (n)
		memcpy(c->arena + c->arena_used, p, n);
	c->arena_used += n;
	c->pslots[i] = (uint32_t)++c->nprefixes;
	return (long)(c->nprefixes - 1);
}

int
cb__cost_cache_insert(struct cb_cost_cache *c, const unsigned char *key,
	size_t key_len, int64_t id, const unsigned char *prefix,
	size_t prefix_len, uint32_t currency)
{
	uint64_t d[2];
	long pf;
	size_t i;
	struct entry *e;

	if (prefix_len > c->arena_size)
		return 0; /* never fits: not remembered */
	if (c->count >= c->max_count)
		cache_clear(c);
	if ((pf = prefix_index(c, prefix, prefix_len)) < 0) {
		cache_clear(c);
		pf = prefix_index(c, prefix, prefix_len);
	}
	cb__siphash128(d, c->k0, c->k1, key, key_len);
	e = &c->entries[c->count];
	e->d0 = d[0];
	e->d1 = d[1];
	e->id = id;
	e->prefix = (uint32_t)pf;
	e->currency = currency;
	for (i = (size_t)d[0] & c->slot_mask; c->slots[i] != 0;
		i = (i + 1) & c->slot_mask)
		;
	c->slots[i] = (uint32_t)++c->count;
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
