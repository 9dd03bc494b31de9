/*
 * tests/unit/allocation/test_rate.c - the rating engine
 * (allocation/rate.c, sql/store_rate.c) on a real PostgreSQL
 * (CHARGEBACK_TEST_DSN), one scratch database per test:
 *
 * a period's lines are grouped at the statement grain, priced exactly
 * and written with the run's totals per currency; a re-rate replaces the
 * previous run's lines; an even allocation splits exactly before the
 * parts are marked up; out of memory at any point writes nothing and
 * leaves the result untouched; bad arguments, an empty period and
 * allocation this version does not apply are refused with their
 * messages.  The data-driven
 * cases (every rule kind, currencies, shuffled input) are in
 * tests/integration/rate.sh with tests/data/rating/.
 */
#include "core/common.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/calendar.h"
#include "sql/store_internal.h"
#include "tests/support/testsupport.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/scratchdb.h"

static int
fixture_setup(void **state)
{
	*state = cb_scratch_db_create("rate");
	return 0;
}

static int
fixture_teardown(void **state)
{
	cb_scratch_db_drop(*state);
	return 0;
}

static cb_money
money(const char *s)
{
	cb_money m;

	ASSERT_OK(cb_money_parse(&m, s, strlen(s)));
	return m;
}

static void
assert_money(const char *want, cb_money v)
{
	char s[CB_MONEY_STR_MAX];

	ASSERT_OK(cb_money_format(s, sizeof(s), v));
	assert_string_equal(want, s);
}

static void
text(cb_cost_row *r, int field, const char *s)
{
	r->text[field].ptr = s;
	r->text[field].len = strlen(s);
}

static void
row(cb_cost_row *r, const char *customer, const char *family,
	const char *currency, int day, const char *qty, const char *cost,
	uint64_t line)
{
	memset(r, 0, sizeof(*r));
	text(r, CB_COST_BILLING_ACCOUNT_ID, "ba1");
	text(r, CB_COST_CUSTOMER_TENANT_ID, customer);
	text(r, CB_COST_SERVICE_FAMILY, family);
	text(r, CB_COST_SUBSCRIPTION_ID, "s1");
	text(r, CB_COST_METER_NAME, "meter");
	text(r, CB_COST_CHARGE_TYPE, "Usage");
	text(r, CB_COST_BILLING_CURRENCY, currency);
	r->date = cb__days_from_civil(2026, 10, day);
	r->amounts[CB_COST_QUANTITY] = money(qty);
	r->amount_present[CB_COST_QUANTITY] = true;
	r->amounts[CB_COST_COST_BILLING] = money(cost);
	r->amount_present[CB_COST_COST_BILLING] = true;
	r->amounts[CB_COST_PAYG_COST_BILLING] = money(cost);
	r->amount_present[CB_COST_PAYG_COST_BILLING] = true;
	r->line = line;
}

static void
load(cb_store *store, const cb_cost_row *rows, size_t n)
{
	cb_cost_load_key key = { "files", "2026-10", CB_COST_ACTUAL, "test" };
	cb_cost_load *l = NULL;

	ASSERT_OK(cb_store_cost_load_begin(&l, store, &key));
	for (size_t i = 0; i < n; i++)
		ASSERT_OK(cb_store_cost_load_row(l, &rows[i]));
	ASSERT_OK(cb_store_cost_load_commit(l, NULL));
}

static const char rules_text[] =
	"markup = (\n"
	"  { name = \"compute\"; priority = 1; customers = { all = true; };\n"
	"    match = { service_family = \"Compute\"; }; base = \"cost\";\n"
	"    percent = 33.333333333333333333; },\n"
	"  { name = \"rest\"; priority = 2; customers = { all = true; };\n"
	"    base = \"cost\"; per_unit = \"0.5\"; } );\n";

static const char lines_sql[] =
	"SELECT string_agg(concat_ws('|', customer_id, service_family, date,"
	" billing_currency, quantity, cost, markup, billed, rule_name), ';'"
	" ORDER BY customer_id, line_no) FROM chargeback.charge_line";

static void
test_rate_exact_and_replaced(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_cost_row rows[5];
	cb_rules *rules = NULL;
	cb_rate_result res = CB_RATE_RESULT_INIT;
	int64_t first;

	row(&rows[0], "c2", "Storage", "USD", 2, "4", "1", 2);
	row(&rows[1], "c1", "Compute", "EUR", 1, "1", "0.03", 3);
	row(&rows[2], "c1", "Compute", "EUR", 1, "2", "0.07", 4);
	row(&rows[3], "c1", "Storage", "EUR", 3, "10", "2", 5);
	row(&rows[4], "c2", "Compute", "USD", 2, "1", "-3", 6);
	load(f->store, rows, 5);
	ASSERT_OK(cb_rules_load_string(&rules, rules_text, "r.cfg"));

	ASSERT_OK(cb_rate_run_rules(f->store, rules, "2026-10", &res));
	assert_true(res.run_id > 0);
	assert_string_equal(cb_rules_hash(rules), res.rules_hash);
	assert_int_equal(4, res.lines);
	assert_int_equal(0, res.unmatched);
	assert_int_equal(2, res.currency_count);
	assert_string_equal("EUR", res.currencies[0].currency);
	assert_int_equal(2, res.currencies[0].lines);
	assert_int_equal(3, res.currencies[0].rows);
	assert_money("2.1", res.currencies[0].cost);
	/* 0.1 x 1/3 at the 18th place, plus 10 x 0.5 */
	assert_money("5.033333333333333333", res.currencies[0].markup);
	assert_money("7.133333333333333333", res.currencies[0].billed);
	assert_string_equal("USD", res.currencies[1].currency);
	assert_money("-2", res.currencies[1].cost);
	assert_money("1", res.currencies[1].markup);
	assert_money("-1", res.currencies[1].billed);
	assert_string_equal(
		"c1|Compute|2026-10-01|EUR|3|0.1|0.033333333333333333|"
		"0.133333333333333333|compute;"
		"c1|Storage|2026-10-03|EUR|10|2|5|7|rest;"
		"c2|Compute|2026-10-02|USD|1|-3|-1|-4|compute;"
		"c2|Storage|2026-10-02|USD|4|1|2|3|rest",
		cb_scratch_query(f->store, lines_sql));
	first = res.run_id;
	cb_rate_result_dispose(&res);
	assert_null(res.currencies);

	/* Again: the same lines under a new run; the first superseded. */
	ASSERT_OK(cb_rate_run_rules(f->store, rules, "2026-10", &res));
	assert_true(res.run_id > first);
	assert_string_equal(
		"c1|Compute|2026-10-01|EUR|3|0.1|0.033333333333333333|"
		"0.133333333333333333|compute;"
		"c1|Storage|2026-10-03|EUR|10|2|5|7|rest;"
		"c2|Compute|2026-10-02|USD|1|-3|-1|-4|compute;"
		"c2|Storage|2026-10-02|USD|4|1|2|3|rest",
		cb_scratch_query(f->store, lines_sql));
	assert_string_equal("superseded,committed",
		cb_scratch_query(f->store,
			"SELECT string_agg(state, ',' ORDER BY run_id)"
			" FROM chargeback.rating_run"));
	cb_rate_result_dispose(&res);

	/* Out of memory at any point: CB_ENOMEM, the result untouched,
	 * the committed lines those of the last good run. */
	{
		unsigned long n;
		int rc = CB_ENOMEM;
		char want[32];

		snprintf(want, sizeof(want), "%lld", (long long)first + 1);
		for (n = 1; rc == CB_ENOMEM && n < 400; n++) {
			cb__alloc_fail_after(n);
			rc = cb_rate_run_rules(
				f->store, rules, "2026-10", &res);
			cb__alloc_fail_after(0);
			if (rc == CB_ENOMEM) {
				assert_int_equal(0, res.run_id);
				assert_null(res.currencies);
				assert_string_equal(want,
					cb_scratch_query(f->store,
						"SELECT string_agg(DISTINCT "
						"run_id::text, ',') FROM "
						"chargeback.charge_line"));
			}
		}
		ASSERT_OK(rc);
		assert_true(n > 10);
		assert_int_equal(4, res.lines);
		cb_rate_result_dispose(&res);
		assert_string_equal(
			"0", cb_scratch_query(f->store,
				     "SELECT count(*) FROM "
				     "chargeback.rating_run WHERE state = "
				     "'running'"));
	}
	cb_rules_free(rules);
}

/* Allocation, then markup: c1's Storage split evenly over c1, c2, c3
 * (cost 1 -> 0.333333333333333334 + 0.333333333333333333 x 2), the
 * parts marked up by 10 %; c1's Compute, in proportion to c2's own cost
 * (none), to the unallocated bucket at cost; out of memory anywhere
 * writes nothing. */
static void
test_rate_allocation(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_cost_row rows[2];
	cb_rules *rules = NULL;
	cb_rate_result res = CB_RATE_RESULT_INIT;
	const char *want = "|Compute|2026-10-01|EUR|1|2|0|2|prop|c1;"
			   "c1|Storage|2026-10-01|EUR|0.333333333333333334|"
			   "0.333333333333333334|0.033333333333333333|"
			   "0.366666666666666667|ten|split|c1;"
			   "c2|Storage|2026-10-01|EUR|0.333333333333333333|"
			   "0.333333333333333333|0.033333333333333333|"
			   "0.366666666666666666|ten|split|c1;"
			   "c3|Storage|2026-10-01|EUR|0.333333333333333333|"
			   "0.333333333333333333|0.033333333333333333|"
			   "0.366666666666666666|ten|split|c1";
	const char *sql =
		"SELECT string_agg(concat_ws('|', customer_id, service_family,"
		" date, billing_currency, quantity, cost, markup, billed,"
		" rule_name, allocation_rule, source_customer_id), ';'"
		" ORDER BY customer_id, line_no) FROM chargeback.charge_line";
	unsigned long n;
	int rc = CB_ENOMEM;

	row(&rows[0], "c1", "Compute", "EUR", 1, "1", "2", 2);
	row(&rows[1], "c1", "Storage", "EUR", 1, "1", "1", 3);
	load(f->store, rows, 2);
	ASSERT_OK(cb_rules_load_string(&rules,
		"allocation = ( { name = \"split\"; priority = 1;\n"
		"  source = { service_family = \"Storage\"; };\n"
		"  method = \"even\"; targets = ( { customer = \"c1\"; },\n"
		"  { customer = \"c2\"; }, { customer = \"c3\"; } ); },\n"
		"  { name = \"prop\"; priority = 2;\n"
		"  source = { service_family = \"Compute\"; };\n"
		"  method = \"proportional\";\n"
		"  targets = ( { customer = \"c2\"; } ); } );\n"
		"markup = ( { name = \"ten\"; priority = 1;\n"
		"  customers = { all = true; }; base = \"cost\";\n"
		"  percent = 10; } );\n",
		"s.cfg"));
	ASSERT_OK(cb_rate_run_rules(f->store, rules, "2026-10", &res));
	assert_int_equal(4, res.lines);
	assert_int_equal(1, res.currency_count);
	assert_int_equal(2, res.currencies[0].rows);
	assert_money("3", res.currencies[0].cost);
	/* each part's markup rounded at the 18th place */
	assert_money("0.099999999999999999", res.currencies[0].markup);
	assert_money("3.099999999999999999", res.currencies[0].billed);
	assert_string_equal(want, cb_scratch_query(f->store, sql));
	cb_rate_result_dispose(&res);

	ASSERT_OK(cb__store_exec(f->store, NULL, "test",
		"DELETE FROM chargeback.charge_line", 0, NULL));
	for (n = 1; rc == CB_ENOMEM && n < 400; n++) {
		cb__alloc_fail_after(n);
		rc = cb_rate_run_rules(f->store, rules, "2026-10", &res);
		cb__alloc_fail_after(0);
		if (rc == CB_ENOMEM) {
			assert_null(res.currencies);
			assert_string_equal(
				"0", cb_scratch_query(f->store,
					     "SELECT count(*) FROM "
					     "chargeback.charge_line"));
		}
	}
	ASSERT_OK(rc);
	assert_true(n > 10);
	assert_string_equal(want, cb_scratch_query(f->store, sql));
	cb_rate_result_dispose(&res);
	cb_rules_free(rules);
}

static void
test_rate_refusals(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_rules *rules = NULL, *alloc = NULL;
	cb_rate_result res = CB_RATE_RESULT_INIT;

	ASSERT_OK(cb_rules_load_string(&rules, rules_text, "r.cfg"));
	assert_int_equal(CB_ENOTFOUND,
		cb_rate_run_rules(f->store, rules, "2026-10", &res));
	assert_string_equal("rating: no ActualCost lines of 2026-10 are "
			    "loaded: run 'chargeback ingest --period "
			    "2026-10'",
		cb_error_last()->message);
	assert_int_equal(
		CB_EINVAL, cb_rate_run_rules(f->store, rules, "2026-1", &res));
	assert_string_equal("rating: period '2026-1' is not YYYY-MM",
		cb_error_last()->message);
	assert_int_equal(
		CB_EINVAL, cb_rate_run_rules(f->store, rules, NULL, &res));
	assert_int_equal(
		CB_EINVAL, cb_rate_run_rules(f->store, NULL, "2026-10", &res));

	ASSERT_OK(cb_rules_load_string(&alloc,
		"allocation = ( { name = \"a\"; priority = 1;\n"
		"  source = { customer = \"c1\"; subscription = \"s\"; };\n"
		"  method = \"percent\";\n"
		"  targets = ( { cost_centre = \"rd\"; percent = 100;\n"
		"    resource_group = \"rg\"; } ); } );\n"
		"markup = ();\n",
		"a.cfg"));
	assert_int_equal(CB_ECONFIG,
		cb_rate_run_rules(f->store, alloc, "2026-10", &res));
	assert_string_equal("a.cfg:1: allocation rule 'a': not applied yet: "
			    "cost centre targets",
		cb_error_last()->message);
	assert_int_equal(0, res.run_id);
	assert_string_equal(
		"0", cb_scratch_query(f->store,
			     "SELECT count(*) FROM chargeback.rating_run"));
	cb_rules_free(alloc);
	cb_rules_free(rules);
}

static int
group_setup(void **state)
{
	(void)state;
	return cb_scratch_admin_open("test_rate");
}

static int
group_teardown(void **state)
{
	(void)state;
	cb_scratch_admin_close();
	return 0;
}

#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rate_exact_and_replaced),
		T(test_rate_allocation),
		T(test_rate_refusals),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
