/*
 * tests/unit/tenants/test_costfeed.c - the calendar arithmetic the cost
 * feed checks every row's day with: a period's first and last day, and a
 * day's text in messages.
 */
#include "core/common.h"

#include "core/calendar.h"
#include "tenants/costfeed.h"

#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void
expect_period(const char *period, const char *first, const char *last)
{
	int32_t a = 0, b = 0;
	char text[CB_DAY_TEXT_MAX];

	assert_int_equal(cb__period_days(period, &a, &b), 0);
	cb__day_text(text, a);
	assert_string_equal(text, first);
	cb__day_text(text, b);
	assert_string_equal(text, last);
}

static void
test_period_spans_its_month(void **state)
{
	int32_t a = 0, b = 0;

	(void)state;
	assert_int_equal(cb__period_days("1970-01", &a, &b), 0);
	assert_int_equal(a, 0);
	assert_int_equal(b, 30);
	assert_int_equal(cb__period_days("2026-10", &a, &b), 0);
	assert_int_equal(
		a, 20727); /* SELECT '2026-10-01'::date - '1970-01-01' */
	expect_period("2026-10", "2026-10-01", "2026-10-31");
	expect_period("2026-12", "2026-12-01", "2026-12-31");
	expect_period("2024-02", "2024-02-01", "2024-02-29");
	expect_period("2100-02", "2100-02-01", "2100-02-28");
	expect_period("2000-02", "2000-02-01", "2000-02-29");
	expect_period("2026-04", "2026-04-01", "2026-04-30");
}

static void
test_period_refuses_what_is_not_a_month(void **state)
{
	static const char *const bad[] = { "2026-13", "2026-00", "2026-1",
		"2026/10", "26-10", "2026-10-01", "", "1969-12", "2026-1a",
		"+026-10", "2026- 1" };
	int32_t a, b;

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(bad); i++) {
		char want[64];

		assert_int_equal(cb__period_days(bad[i], &a, &b), CB_EINVAL);
		snprintf(want, sizeof(want),
			"period '%s' is not a month YYYY-MM", bad[i]);
		assert_string_equal(cb_error_last()->message, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_period_spans_its_month),
		cmocka_unit_test(test_period_refuses_what_is_not_a_month),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
