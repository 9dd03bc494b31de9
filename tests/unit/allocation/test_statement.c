/*
 * tests/unit/allocation/test_statement.c - cb_statement_apportion(): a
 * rounded statement total over exact lines by largest remainder, ties to
 * the earlier line, refunds apportioned apart from charges.
 */
#include "core/common.h"

#include "chargeback/statement.h"
#include "core/alloc.h"
#include "tests/support/testsupport.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#define MAXN 8

static cb_money
m(const char *s)
{
	cb_money v;

	assert_int_equal(cb_money_parse(&v, s, strlen(s)), 0);
	return v;
}

/* Apportion @p total over @p weights (NULL-terminated) at @p places and
 * compare the parts' text with @p want (NULL-terminated). */
static void
check(const char *total, const char *const *weights, unsigned places,
	const char *const *want)
{
	cb_money w[MAXN], parts[MAXN], sum = CB_MONEY_ZERO;
	char text[CB_MONEY_STR_MAX];
	size_t n = 0;

	while (weights[n])
		w[n] = m(weights[n]), n++;
	assert_int_equal(
		cb_statement_apportion(parts, m(total), w, n, places), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(cb_money_format_fixed(
					 text, sizeof(text), parts[i], places),
			0);
		assert_string_equal(text, want[i]);
		assert_int_equal(cb_money_add(&sum, sum, parts[i]), 0);
	}
	assert_int_equal(cb_money_cmp(sum, m(total)), 0);
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void
test_apportion_ties_to_the_earlier_line(void **state)
{
	(void)state;
	check("1", L("0.333333", "0.333333", "0.333333"), 2,
		L("0.34", "0.33", "0.33"));
	check("2", L("0.666666", "0.666666", "0.666666"), 2,
		L("0.67", "0.67", "0.66"));
	/* The largest remainder wins over the earlier line. */
	check("1365", L("1357.4", "7.7"), 0, L("1357", "8"));
	check("0.01", L("0.002", "0.003", "0.002"), 2,
		L("0.00", "0.01", "0.00"));
}

static void
test_apportion_refunds(void **state)
{
	(void)state;
	/* Only refunds: the mirror image, ties to the earlier line. */
	check("-1", L("-0.333333", "-0.333333", "-0.333333"), 2,
		L("-0.34", "-0.33", "-0.33"));
	/* A charge and its refund (case refund: 110 - 33.33). */
	check("76.67", L("110", "-33.33"), 2, L("110.00", "-33.33"));
	/* Charges 0.01 (0.005 + 0.005), refund share 0 (0.004). */
	check("0.01", L("0.005", "-0.004", "0.005"), 2,
		L("0.01", "0.00", "0.00"));
	/* Charges 1.01 (1.006), refunds -0.01 (-0.004): total 1.00. */
	check("1", L("0.503", "-0.002", "0.503", "-0.002"), 2,
		L("0.51", "-0.01", "0.50", "0.00"));
	/* Zero lines get zero, whatever their place. */
	check("1", L("0", "0.5", "0"), 0, L("0", "1", "0"));
	check("0", L("0", "0"), 2, L("0.00", "0.00"));
	check("0", L("-0.001", "0.001"), 2, L("0.00", "0.00"));
}

static void
test_apportion_refusals(void **state)
{
	cb_money w[2] = { m("1"), m("-1") }, parts[2];

	(void)state;
	assert_int_equal(
		cb_statement_apportion(parts, m("0.005"), w, 2, 2), CB_EINVAL);
	assert_string_equal(cb_error_last()->message,
		"statement: apportioning: the total is not a multiple of the "
		"unit");
	assert_int_equal(
		cb_statement_apportion(parts, m("0"), w, 2, 19), CB_EINVAL);
	/* Tn = 2 - 1 > 0: a refund cannot carry a positive amount. */
	assert_int_equal(
		cb_statement_apportion(parts, m("2"), w, 2, 0), CB_EINVAL);
	assert_string_equal(cb_error_last()->message,
		"statement: apportioning: the refunds' share of the total is "
		"positive");
	w[0] = m("0");
	w[1] = m("0");
	assert_int_equal(
		cb_statement_apportion(parts, m("1"), w, 2, 0), CB_EINVAL);
	assert_string_equal(cb_error_last()->message,
		"statement: apportioning: a non-zero total over lines of no "
		"weight");
	assert_int_equal(cb_statement_apportion(parts, m("0"), w, 0, 2), 0);
}

static void
test_apportion_out_of_memory(void **state)
{
	cb_money w[2] = { m("1"), m("-0.4") }, parts[2];

	(void)state;
	for (unsigned long k = 1; k <= 2; k++) {
		cb__alloc_fail_after(k);
		assert_int_equal(
			cb_statement_apportion(parts, m("0.6"), w, 2, 1),
			CB_ENOMEM);
		cb__alloc_fail_after(0);
	}
	assert_int_equal(cb_statement_apportion(parts, m("0.6"), w, 2, 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apportion_ties_to_the_earlier_line),
		cmocka_unit_test(test_apportion_refunds),
		cmocka_unit_test(test_apportion_refusals),
		cmocka_unit_test(test_apportion_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
