/*
 * tests/unit/sql/test_costcache.c - the cost loader's descriptor cache:
 * SipHash-2-4-128 against the reference vectors, finding what was
 * inserted, and staying bounded (cleared when full, never wrong).
 */
#include "core/common.h"

#include "sql/store_costs_internal.h"

#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void
hex128(char out[33], const uint64_t d[2])
{
	for (int w = 0; w < 2; w++)
		for (int b = 0; b < 8; b++)
			snprintf(out + w * 16 + b * 2, 3, "%02x",
				(unsigned)((d[w] >> (8 * b)) & 0xff));
}

/* The reference implementation's vectors_sip128: key 00..0f, messages
 * 00, 00 01, ... of length n. */
static void
test_siphash128_matches_the_reference(void **state)
{
	unsigned char msg[64];
	uint64_t d[2];
	char hex[33];
	/* key bytes 00..0f, little-endian words */
	const uint64_t k0 = UINT64_C(0x0706050403020100);
	const uint64_t k1 = UINT64_C(0x0f0e0d0c0b0a0908);

	(void)state;
	for (int i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	cb__siphash128(d, k0, k1, msg, 0);
	hex128(hex, d);
	assert_string_equal(hex, "a3817f04ba25a8e66df67214c7550293");
	cb__siphash128(d, k0, k1, msg, 1);
	hex128(hex, d);
	assert_string_equal(hex, "da87c1d86b99af44347659119b22fc45");
}

static void
test_cache_finds_what_it_holds(void **state)
{
	struct cb_cost_cache *c = NULL;
	struct cb_cost_cached got;
	const unsigned char a[] = "descriptor a", b[] = "descriptor b";
	const unsigned char pa[] = "prefix-1", pb[] = "prefix-22";

	(void)state;
	assert_int_equal(cb__cost_cache_new(&c, 1 << 20), 0);
	assert_false(cb__cost_cache_find(c, a, sizeof(a), &got));
	assert_int_equal(
		cb__cost_cache_insert(c, a, sizeof(a), 7, pa, sizeof(pa), 2),
		0);
	assert_int_equal(
		cb__cost_cache_insert(c, b, sizeof(b), 8, pb, sizeof(pb), 0),
		0);
	assert_true(cb__cost_cache_find(c, a, sizeof(a), &got));
	assert_int_equal(got.id, 7);
	assert_int_equal(got.currency, 2);
	assert_int_equal(got.prefix_len, sizeof(pa));
	assert_memory_equal(got.prefix, pa, sizeof(pa));
	assert_true(cb__cost_cache_find(c, b, sizeof(b), &got));
	assert_int_equal(got.id, 8);
	assert_memory_equal(got.prefix, pb, sizeof(pb));
	/* One byte less is another descriptor. */
	assert_false(cb__cost_cache_find(c, a, sizeof(a) - 1, &got));
	assert_int_equal(cb__cost_cache_count(c), 2);
	cb__cost_cache_free(c);
}

/* Far more descriptors than fit: every find answers either nothing or
 * exactly what was inserted for that key, and the cache is cleared. */
static void
test_cache_stays_bounded_and_right(void **state)
{
	struct cb_cost_cache *c = NULL;
	struct cb_cost_cached got;
	char key[32], prefix[16];
	size_t found = 0;

	(void)state;
	assert_int_equal(cb__cost_cache_new(&c, 4096), 0);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 2000; i++) {
			int n = snprintf(key, sizeof(key), "descriptor %d", i);
			int m = snprintf(
				prefix, sizeof(prefix), "cust %d", i % 7);

			if (cb__cost_cache_find(
				    c, (unsigned char *)key, (size_t)n, &got)) {
				assert_int_equal(got.id, i);
				assert_int_equal(
					got.currency, (uint32_t)(i % 3));
				assert_int_equal(got.prefix_len, (uint32_t)m);
				assert_memory_equal(
					got.prefix, prefix, (size_t)m);
				found++;
				continue;
			}
			assert_int_equal(
				cb__cost_cache_insert(c, (unsigned char *)key,
					(size_t)n, i, (unsigned char *)prefix,
					(size_t)m, (uint32_t)(i % 3)),
				0);
		}
	assert_true(cb__cost_cache_clears(c) > 0);
	assert_true(cb__cost_cache_count(c) <= 4096 / 32);
	/* A cycle longer than the cache never hits (the point of a big
	 * one). */
	assert_int_equal(found, 0);
	cb__cost_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash128_matches_the_reference),
		cmocka_unit_test(test_cache_finds_what_it_holds),
		cmocka_unit_test(test_cache_stays_bounded_and_right),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
