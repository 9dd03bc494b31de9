/*
 * tests/unit/core/test_ratelimit.c - the client-side token bucket: starts,
 * waits named to the millisecond, refill, the server's remaining-header
 * taking over the estimate, 429s, option checks.  Time is driven by hand.
 */
#include "core/common.h"
#include "core/ratelimit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static cb_ratelimit *
make(unsigned burst, unsigned refill, unsigned margin)
{
	cb_ratelimit_options o = { .header = "x-remaining",
		.ops = CB_RATELIMIT_READS,
		.burst = burst,
		.refill = refill,
		.margin = margin };
	cb_ratelimit *rl = NULL;

	assert_int_equal(0, cb__ratelimit_new(&rl, &o));
	return rl;
}

static void
test_ratelimit_starts_full_and_keeps_the_margin(void **state)
{
	cb_ratelimit *rl = make(10, 5, 2);
	cb_ratelimit_stats st;

	(void)state;
	/* 10 tokens, 2 kept: 8 start at once. */
	for (int i = 0; i < 8; i++)
		assert_int_equal(0, cb__ratelimit_acquire(rl, 1000));
	/* The 9th needs 3 in hand, has 2: one token at 5/s is 200 ms. */
	assert_int_equal(200, cb__ratelimit_acquire(rl, 1000));
	/* Asking again is the same wait, shorter as time passes, and one
	 * paced wait in all. */
	assert_int_equal(200, cb__ratelimit_acquire(rl, 1000));
	assert_int_equal(1, cb__ratelimit_acquire(rl, 1199));
	assert_int_equal(0, cb__ratelimit_acquire(rl, 1200));
	cb__ratelimit_stats(rl, &st);
	assert_int_equal(9, st.started);
	assert_int_equal(1, st.paced);
	assert_int_equal(200, st.paced_ms);
	assert_int_equal(-1, st.remaining);
	/* Then one every 200 ms: the refill rate. */
	assert_int_equal(200, cb__ratelimit_acquire(rl, 1200));
	assert_int_equal(0, cb__ratelimit_acquire(rl, 1400));
	cb__ratelimit_free(rl);
}

static void
test_ratelimit_refill_stops_at_the_bucket_size(void **state)
{
	cb_ratelimit *rl = make(4, 2, 1);

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(0, cb__ratelimit_acquire(rl, 0));
	assert_int_equal(500, cb__ratelimit_acquire(rl, 0));
	/* An hour later the bucket is full again, not overflowing: three
	 * starts, then a wait. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(0, cb__ratelimit_acquire(rl, 3600000));
	assert_int_equal(500, cb__ratelimit_acquire(rl, 3600000));
	/* A clock read earlier than the last (another thread) refills
	 * nothing and breaks nothing. */
	assert_int_equal(500, cb__ratelimit_acquire(rl, 3599000));
	cb__ratelimit_free(rl);
}

static void
test_ratelimit_follows_the_servers_count(void **state)
{
	cb_ratelimit *rl = make(250, 25, 10);
	cb_ratelimit_stats st;

	(void)state;
	/* Another client of the principal used the bucket: the server
	 * says 12 left after our first request, so with nothing else in
	 * flight we may start 2 more before keeping 10 in hand. */
	assert_int_equal(0, cb__ratelimit_acquire(rl, 0));
	cb__ratelimit_observe(rl, "12", 200, 0);
	assert_int_equal(0, cb__ratelimit_acquire(rl, 0));
	assert_int_equal(0, cb__ratelimit_acquire(rl, 0));
	assert_int_equal(40, cb__ratelimit_acquire(rl, 0));
	cb__ratelimit_stats(rl, &st);
	assert_int_equal(12, st.remaining);
	assert_int_equal(1, st.answered);
	/* An answer while another of ours is still in flight: it may not
	 * have been counted yet, so 20 left means 19 for us. */
	cb__ratelimit_observe(rl, "20", 200, 0);
	for (int i = 0; i < 9; i++)
		assert_int_equal(0, cb__ratelimit_acquire(rl, 0));
	assert_int_equal(40, cb__ratelimit_acquire(rl, 0));
	/* The server may also say there is more than we thought. */
	cb__ratelimit_observe(rl, "249", 200, 0);
	assert_int_equal(0, cb__ratelimit_acquire(rl, 0));
	/* Junk is ignored; a count past the bucket is capped. */
	cb__ratelimit_observe(rl, "-3", 200, 0);
	cb__ratelimit_observe(rl, "12x", 200, 0);
	cb__ratelimit_observe(rl, "100000", 200, 0);
	cb__ratelimit_stats(rl, &st);
	assert_int_equal(250, st.remaining);
	cb__ratelimit_free(rl);
}

static void
test_ratelimit_429_empties_the_bucket(void **state)
{
	cb_ratelimit *rl = make(250, 25, 10);
	cb_ratelimit_stats st;

	(void)state;
	assert_int_equal(0, cb__ratelimit_acquire(rl, 0));
	cb__ratelimit_observe(rl, NULL, 429, 0);
	/* 11 tokens at 25/s: 440 ms. */
	assert_int_equal(440, cb__ratelimit_acquire(rl, 0));
	cb__ratelimit_stats(rl, &st);
	assert_int_equal(1, st.throttled);
	/* A transport failure (no answer) changes nothing but the count. */
	cb__ratelimit_observe(rl, NULL, 0, 0);
	assert_int_equal(440, cb__ratelimit_acquire(rl, 0));
	cb__ratelimit_free(rl);
}

static void
test_ratelimit_applies_to_its_kind(void **state)
{
	cb_ratelimit_options o = { .header = "h",
		.ops = CB_RATELIMIT_WRITES | CB_RATELIMIT_DELETES,
		.burst = 10,
		.refill = 1 };
	cb_ratelimit *reads = make(10, 1, 0), *writes = NULL;

	(void)state;
	assert_int_equal(0, cb__ratelimit_new(&writes, &o));
	assert_true(cb__ratelimit_applies(reads, "GET"));
	assert_true(cb__ratelimit_applies(reads, "head"));
	assert_true(cb__ratelimit_applies(reads, NULL));
	assert_false(cb__ratelimit_applies(reads, "PUT"));
	assert_false(cb__ratelimit_applies(reads, "DELETE"));
	assert_true(cb__ratelimit_applies(writes, "PUT"));
	assert_true(cb__ratelimit_applies(writes, "POST"));
	assert_true(cb__ratelimit_applies(writes, "DELETE"));
	assert_false(cb__ratelimit_applies(writes, "GET"));
	assert_false(cb__ratelimit_applies(NULL, "GET"));
	assert_string_equal("h", cb__ratelimit_header(writes));
	/* A NULL limiter lets everything through. */
	assert_int_equal(0, cb__ratelimit_acquire(NULL, 0));
	cb__ratelimit_observe(NULL, "1", 200, 0);
	cb__ratelimit_free(reads);
	cb__ratelimit_free(writes);
	cb__ratelimit_free(NULL);
}

static void
test_ratelimit_refuses_bad_options(void **state)
{
	const cb_ratelimit_options bad[] = {
		{ .header = NULL, .ops = 1, .burst = 10, .refill = 1 },
		{ .header = "", .ops = 1, .burst = 10, .refill = 1 },
		{ .header = "h", .ops = 0, .burst = 10, .refill = 1 },
		{ .header = "h", .ops = 1, .burst = 0, .refill = 1 },
		{ .header = "h", .ops = 1, .burst = 10, .refill = 0 },
		{ .header = "h",
			.ops = 1,
			.burst = 10,
			.refill = 1,
			.margin = 10 },
		{ .header = "h",
			.ops = 1,
			.burst = CB_RATELIMIT_MAX + 1,
			.refill = 1 },
	};
	cb_ratelimit *rl = NULL;

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(bad); i++) {
		assert_int_equal(CB_EINVAL, cb__ratelimit_new(&rl, &bad[i]));
		assert_null(rl);
	}
	assert_string_equal("ratelimit: need a header, operations, 1 <= "
			    "burst, refill <= 1000000 and margin < burst",
		cb_error_last()->message);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_ratelimit_starts_full_and_keeps_the_margin),
		cmocka_unit_test(
			test_ratelimit_refill_stops_at_the_bucket_size),
		cmocka_unit_test(test_ratelimit_follows_the_servers_count),
		cmocka_unit_test(test_ratelimit_429_empties_the_bucket),
		cmocka_unit_test(test_ratelimit_applies_to_its_kind),
		cmocka_unit_test(test_ratelimit_refuses_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
