/*
 * tests/unit/core/test_http_retry.c - Retry-After parsing, the throttling
 * headers, backoff with jitter and request ids: the retry arithmetic,
 * checked exactly and without a network.
 */
#include "core/common.h"
#include "core/http.h"

#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* Sun, 06 Nov 1994 08:49:30 GMT */
#define NOW_MS (INT64_C(784111770) * 1000)

static void
parses(const char *value, long want)
{
	long got = -7;

	if (cb__http_retry_after_parse(&got, value, NOW_MS) != 0)
		fail_msg("'%s' did not parse", value);
	if (got != want)
		fail_msg("'%s': got %ld ms, want %ld", value, got, want);
}

static void
rejects(const char *value)
{
	long got = -7;

	if (cb__http_retry_after_parse(&got, value, NOW_MS) != CB_EPARSE)
		fail_msg("'%s' parsed as %ld", value, got);
	assert_int_equal(-7, got);
}

static void
test_http_retry_after_delta_seconds(void **state)
{
	(void)state;
	parses("0", 0);
	parses("1", 1000);
	parses("120", 120000);
	parses(" 12 ", 12000);
	parses("1.5", 1500);
	parses("0.25", 250);
	parses("2.0004", 2000);
	parses("99999999999999999999", CB_HTTP_RETRY_AFTER_MAX_MS);
	parses("86401", CB_HTTP_RETRY_AFTER_MAX_MS);
	rejects("");
	rejects(" ");
	rejects("-1");
	rejects("+1");
	rejects("1x");
	rejects("1.");
	rejects(".5");
	rejects("1 2");
	rejects("soon");
}

static void
test_http_retry_after_http_dates(void **state)
{
	(void)state;
	/* the three forms of RFC 9110 5.6.7, all 7 s after NOW_MS */
	parses("Sun, 06 Nov 1994 08:49:37 GMT", 7000);
	parses("Sunday, 06-Nov-94 08:49:37 GMT", 7000);
	parses("Sun Nov  6 08:49:37 1994", 7000);
	parses("Sun Nov 06 08:49:37 1994", 7000);
	parses("sun, 06 nov 1994 08:49:37 gmt", 7000);
	parses("Sun, 06 Nov 1994 09:49:30 GMT", 3600000);
	/* in the past, or now: no wait */
	parses("Sun, 06 Nov 1994 08:49:30 GMT", 0);
	parses("Sat, 05 Nov 1994 08:49:37 GMT", 0);
	/* far future: capped */
	parses("Fri, 31 Dec 2100 23:59:59 GMT", CB_HTTP_RETRY_AFTER_MAX_MS);
	rejects("Sun, 06 Nov 1994 08:49:37 UTC");
	rejects("Sun, 06 Nov 1994 08:49:37");
	rejects("Sun, 06 Nov 1994 08:49 GMT");
	rejects("Sun, 32 Nov 1994 08:49:37 GMT");
	rejects("Sun, 00 Nov 1994 08:49:37 GMT");
	rejects("Sun, 06 Foo 1994 08:49:37 GMT");
	rejects("Sun, 06 Nov 1994 24:49:37 GMT");
	rejects("Sun, 06 Nov 1994 08:60:37 GMT");
	rejects("Sun, 06 Nov 94 08:49:37 GMT");
	rejects("Sun, 06-Nov-1994 08:49:37 GMT");
	rejects("Sun, 06 Nov 1994 08:49:37 GMT x");
	rejects("Sun Nov  6 08:49:37 94");
	rejects("2024-01-01T00:00:00Z");
}

static cb_http_response
response_with(const cb_http_header *h, size_t n)
{
	cb_http_response r = CB_HTTP_RESPONSE_INIT;

	r.headers = (cb_http_header *)(uintptr_t)h;
	r.header_count = n;
	return r;
}

static void
test_http_retry_after_longest_header_wins(void **state)
{
	const cb_http_header h[] = {
		{ "Date", "Sun, 06 Nov 1994 08:49:30 GMT" },
		{ "Retry-After", "1" },
		{ "x-ms-ratelimit-remaining-subscription-reads", "11999" },
		{ "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after",
			"3" },
		{ "X-MS-RATELIMIT-MICROSOFT.CONSUMPTION-RETRY-AFTER", "2" },
		{ "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after",
			"garbage" },
	};
	const cb_http_header dated[] = {
		{ "retry-after", "Sun, 06 Nov 1994 08:49:40 GMT" },
		{ "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after",
			"4" },
	};
	const cb_http_header none[] = {
		{ "Retry-After", "later" },
		{ "x-ms-ratelimit-retry-after", "9" },
		{ "x-ms-ratelimit-remaining-tenant-reads", "5" },
	};
	cb_http_response r;

	(void)state;
	r = response_with(h, CB_ARRAY_SIZE(h));
	assert_int_equal(3000, cb__http_response_retry_after_ms(&r, NOW_MS));
	r = response_with(h, 2);
	assert_int_equal(1000, cb__http_response_retry_after_ms(&r, NOW_MS));
	r = response_with(dated, CB_ARRAY_SIZE(dated));
	assert_int_equal(10000, cb__http_response_retry_after_ms(&r, NOW_MS));
	r = response_with(none, CB_ARRAY_SIZE(none));
	assert_int_equal(-1, cb__http_response_retry_after_ms(&r, NOW_MS));
	r = response_with(NULL, 0);
	assert_int_equal(-1, cb__http_response_retry_after_ms(&r, NOW_MS));
	assert_int_equal(-1, cb__http_response_retry_after_ms(NULL, NOW_MS));
	assert_int_equal(CB_EPARSE, cb__http_retry_after_parse(NULL, "1", 0));
}

static void
test_http_backoff_is_capped_full_jitter(void **state)
{
	uint64_t rng = 42, again = 42;
	long lo = 100000, hi = -1;

	(void)state;
	/* caps 100, 200, 400, 800, then 1000 for good */
	for (unsigned attempt = 1; attempt <= 8; attempt++) {
		long cap = attempt >= 5 ? 1000 : 100L << (attempt - 1);

		for (int i = 0; i < 200; i++) {
			long w = cb__http_backoff_ms(attempt, 100, 1000, &rng);

			assert_in_range(w, 0, cap);
			assert_int_equal(w, cb__http_backoff_ms(attempt, 100,
						    1000, &again));
			if (attempt == 8) {
				lo = w < lo ? w : lo;
				hi = w > hi ? w : hi;
			}
		}
	}
	/* full jitter spreads over the whole range */
	assert_true(lo < 100);
	assert_true(hi > 900);
	assert_int_equal(0, cb__http_backoff_ms(3, 0, 1000, &rng));
	assert_int_equal(0, cb__http_backoff_ms(1, 500, 0, &rng));
	/* no overflow however many attempts */
	assert_in_range(
		cb__http_backoff_ms(4000000000u, 500, 30000, &rng), 0, 30000);
	assert_in_range(
		cb__http_backoff_ms(80, 1L << 40, 1L << 50, &rng), 0, 1L << 50);
}

static void
test_http_uuid4_shape_and_uniqueness(void **state)
{
	char a[37], b[37];
	regex_t re;

	(void)state;
	assert_int_equal(0,
		regcomp(&re,
			"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
			"[0-9a-f]{12}$",
			REG_EXTENDED | REG_NOSUB));
	for (int i = 0; i < 100; i++) {
		assert_int_equal(0, cb__http_uuid4(a));
		assert_int_equal(0, cb__http_uuid4(b));
		assert_int_equal(0, regexec(&re, a, 0, NULL, 0));
		assert_int_equal(0, regexec(&re, b, 0, NULL, 0));
		assert_string_not_equal(a, b);
	}
	regfree(&re);
	assert_int_not_equal(0, cb__http_random_seed());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_retry_after_delta_seconds),
		cmocka_unit_test(test_http_retry_after_http_dates),
		cmocka_unit_test(test_http_retry_after_longest_header_wins),
		cmocka_unit_test(test_http_backoff_is_capped_full_jitter),
		cmocka_unit_test(test_http_uuid4_shape_and_uniqueness),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
