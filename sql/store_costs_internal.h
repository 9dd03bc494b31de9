/*
 * sql/store_costs_internal.h - what the cost loader's files share:
 * PostgreSQL's binary COPY encoding (sql/store_costcopy.c) and the
 * bounded descriptor cache (sql/store_costcache.c), both used by
 * sql/store_costs.c.
 */
#ifndef CB_SQL_STORE_COSTS_INTERNAL_H
#define CB_SQL_STORE_COSTS_INTERNAL_H

#include "chargeback/costs.h"

/* ---- binary COPY (sql/store_costcopy.c) ----------------------------- */

/*
 * A growable byte buffer for COPY data: cb_buf without the terminator and
 * with the capacity checks done once per row, not per field.  Writers
 * below assume room was reserved with copybuf_reserve().
 */
struct copybuf {
	unsigned char *ptr;
	size_t len, cap;
};

/* Make room for n more bytes; CB_ENOMEM (message set) on failure. */
int cb__copybuf_reserve(struct copybuf *b, size_t n);
void cb__copybuf_dispose(struct copybuf *b);

/* The 19-byte file header of COPY ... (FORMAT binary), and the trailer. */
#define CB_COPY_HEADER_LEN 19
extern const unsigned char cb__copy_header[CB_COPY_HEADER_LEN];
#define CB_COPY_TRAILER_LEN 2

/* Most bytes cb__copy_numeric() writes: length, 4 header words and at
 * most 11 base-10000 digits (6 integer, 5 fraction). */
#define CB_COPY_NUMERIC_MAX (4 + 8 + 2 * 11)

/* PostgreSQL's date 0 (2000-01-01) in days since 1970-01-01. */
#define CB_COPY_PG_EPOCH_DAYS 10957

static inline unsigned char *
cb__copy_u16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return p + 2;
}

static inline unsigned char *
cb__copy_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return p + 4;
}

static inline unsigned char *
cb__copy_u64(unsigned char *p, uint64_t v)
{
	p = cb__copy_u32(p, (uint32_t)(v >> 32));
	return cb__copy_u32(p, (uint32_t)v);
}

/* A NULL field. */
static inline unsigned char *
cb__copy_null(unsigned char *p)
{
	return cb__copy_u32(p, UINT32_MAX);
}

/* A text field of n bytes (n < 2^31, checked by the caller). */
static inline unsigned char *
cb__copy_text(unsigned char *p, const char *s, size_t n)
{
	p = cb__copy_u32(p, (uint32_t)n);
	if (n)
		memcpy(p, s, n);
	return p + n;
}

/* A jsonb field: version byte 1, then the JSON text. */
static inline unsigned char *
cb__copy_jsonb(unsigned char *p, const char *s, size_t n)
{
	p = cb__copy_u32(p, (uint32_t)(n + 1));
	*p++ = 1;
	if (n)
		memcpy(p, s, n);
	return p + n;
}

/* A date field from days since 1970-01-01. */
static inline unsigned char *
cb__copy_date(unsigned char *p, int32_t days)
{
	p = cb__copy_u32(p, 4);
	return cb__copy_u32(p, (uint32_t)(days - CB_COPY_PG_EPOCH_DAYS));
}

static inline unsigned char *
cb__copy_int4(unsigned char *p, int32_t v)
{
	p = cb__copy_u32(p, 4);
	return cb__copy_u32(p, (uint32_t)v);
}

static inline unsigned char *
cb__copy_int8(unsigned char *p, int64_t v)
{
	p = cb__copy_u32(p, 8);
	return cb__copy_u64(p, (uint64_t)v);
}

static inline unsigned char *
cb__copy_bool(unsigned char *p, bool v)
{
	p = cb__copy_u32(p, 1);
	*p++ = v ? 1 : 0;
	return p;
}

/*
 * A numeric field holding @p v exactly, in PostgreSQL's wire form
 * (base-10000 digits, weight, sign, display scale), with the display
 * scale the value needs and no more: 2.304 is sent with dscale 3, so the
 * server shows "2.304", not "2.304000000000000000".  Writes at most
 * CB_COPY_NUMERIC_MAX bytes; returns the end.
 */
unsigned char *cb__copy_numeric(unsigned char *p, cb_money v);

/* ---- descriptor cache (sql/store_costcache.c) ----------------------- */

/*
 * Maps the encoded bytes of a descriptor, by a keyed 128-bit digest of
 * them (see store_costcache.c for why a digest is enough), to what the
 * loader decided for it: its id, the encoded (billing_account_id,
 * customer_id) fields every line of it starts with, and its currency's
 * slot in the totals.  Bounded by bytes: when an insert does not fit,
 * everything is forgotten and the insert starts afresh (a later repeat of
 * a forgotten descriptor gets a new id: more descriptor rows, never a
 * wrong line).
 */
struct cb_cost_cache;

struct cb_cost_cached {
	int64_t id;
	uint32_t currency;           /* index into the load's totals */
	uint32_t prefix_len;         /* bytes at prefix */
	const unsigned char *prefix; /* borrowed until the next insert */
};

/* Default bound: the memory budget of the whole load is 64 MB (issue 5);
 * the rest of a load takes about 15 MB. */
#define CB_COST_CACHE_DEFAULT_BYTES ((size_t)32 << 20)

/* A cache of about @p bytes (0: the default or the test override). */
int cb__cost_cache_new(struct cb_cost_cache **out, size_t bytes);
void cb__cost_cache_free(struct cb_cost_cache *c);

/* Look @p key up; true and *out filled when present. */
bool cb__cost_cache_find(struct cb_cost_cache *c, const unsigned char *key,
	size_t key_len, struct cb_cost_cached *out);

/*
 * Remember @p key -> (@p id, @p prefix, @p currency), clearing the cache
 * first when it is full.  A key too large to ever fit is not kept (the
 * next repeat is simply new).  Returns 0 or CB_ENOMEM.
 */
int cb__cost_cache_insert(struct cb_cost_cache *c, const unsigned char *key,
	size_t key_len, int64_t id, const unsigned char *prefix,
	size_t prefix_len, uint32_t currency);

/* Entries held now, and how many times the cache was cleared. */
size_t cb__cost_cache_count(const struct cb_cost_cache *c);
size_t cb__cost_cache_clears(const struct cb_cost_cache *c);

/* SipHash-2-4 of n bytes under the key (k0, k1), 128-bit output as two
 * little-endian words (the reference's byte order). */
void cb__siphash128(
	uint64_t out[2], uint64_t k0, uint64_t k1, const void *data, size_t n);

/* Test hook: caches created from now on hold about @p bytes (0: the
 * default).  Not thread-safe; tests only. */
void cb__cost_cache_limit(size_t bytes);

#endif
