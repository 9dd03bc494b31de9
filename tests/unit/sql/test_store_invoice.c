/*
 * tests/unit/sql/test_store_invoice.c - invoices in the store and their
 * tie-out (sql/store_invoice.c, cb_reconcile_run without fetching), on a
 * real PostgreSQL (CHARGEBACK_TEST_DSN), one scratch database per test:
 *
 * invoices are stored exactly and replaced when written again; a bad
 * invoice, or one the database refuses, writes nothing of its batch;
 * each invoice of the period is tied out against the committed ActualCost
 * lines carrying it -- the latest of overlapping loads only, amortized
 * lines and other periods never, lines in another currency never added
 * but counted -- matched, mismatched (by the exact difference at the
 * minor unit) or without lines.
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/scratchdb.h"

static int
fixture_setup(void **state)
{
	*state = cb_scratch_db_create("invoice");
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

/* cb_invoice's strings are char * (owned when the library hands one
 * out); the test's are literals it never frees or changes. */
static char *
lit(const char *s)
{
	union {
		const char *c;
		char *m;
	} u = { s };

	return u.m;
}

/* An invoice of account ba1 for 2026-10 (strings borrowed). */
static cb_invoice
invoice(const char *id, const char *profile, const char *currency,
	const char *billed)
{
	cb_invoice inv;

	memset(&inv, 0, sizeof(inv));
	inv.billing_account_id = lit("ba1");
	inv.invoice_id = lit(id);
	inv.billing_profile_id = lit(profile);
	inv.currency = lit(currency);
	inv.period_start = lit("2026-10-01");
	inv.period_end = lit("2026-10-31");
	inv.invoice_date = lit("2026-11-05");
	inv.status = lit("Due");
	inv.document_type = lit("Invoice");
	inv.billed_amount = money(billed);
	inv.sub_total = inv.billed_amount;
	inv.total_amount = inv.billed_amount;
	inv.amount_due = inv.billed_amount;
	return inv;
}

/* ---- storing ---------------------------------------------------------- */

static void
test_invoices_stored_exactly_and_replaced(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_invoice v[2] = {
		invoice("G1", "P1", "USD",
			"12345678901234567.123456789012345678"),
		invoice("G2", NULL, "JPY", "103948"),
	};

	v[1].status = NULL;
	v[1].due_date = NULL;
	ASSERT_OK(cb_store_invoices_write(f->store, v, 2));
	assert_string_equal("G1|P1|USD|12345678901234567.123456789012345678|"
			    "2026-10-01|2026-10-31|2026-11-05|Due|Invoice\n"
			    "G2||JPY|103948|2026-10-01|2026-10-31|2026-11-05|"
			    "|Invoice",
		cb_scratch_query(f->store,
			"SELECT string_agg(concat_ws('|', invoice_id,"
			" coalesce(billing_profile_id, ''), currency,"
			" billed_amount, period_start, period_end,"
			" invoice_date, coalesce(status, ''), document_type),"
			" E'\\n' ORDER BY invoice_id) FROM chargeback.invoice"));

	/* Paid since: the same key is replaced, not added. */
	v[0].status = lit("Paid");
	v[0].amount_due = CB_MONEY_ZERO;
	ASSERT_OK(cb_store_invoices_write(f->store, v, 1));
	assert_string_equal("2|Paid|0",
		cb_scratch_query(f->store,
			"SELECT (SELECT count(*) FROM chargeback.invoice)"
			" || '|' || status || '|' || amount_due"
			" FROM chargeback.invoice WHERE invoice_id = 'G1'"));
	ASSERT_OK(cb_store_invoices_write(f->store, NULL, 0));
}

static void
test_bad_invoice_writes_nothing(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_invoice v[2] = {
		invoice("G1", "P1", "USD", "1"),
		invoice("G2", "P1", "USD", "2"),
	};

	v[1].currency = NULL;
	assert_int_equal(CB_EINVAL, cb_store_invoices_write(f->store, v, 2));
	assert_string_equal("invoices: an invoice needs a billing account, an "
			    "id, a currency and a period start",
		cb_error_last()->message);
	/* The database refuses the second: the first is rolled back. */
	v[1].currency = lit("usd");
	assert_int_equal(CB_EDB, cb_store_invoices_write(f->store, v, 2));
	assert_string_equal("23514", cb_error_last()->sqlstate);
	assert_string_equal("database: invoices: storing invoice G2 of ba1: "
			    "new row for relation \"invoice\" violates check "
			    "constraint \"invoice_currency_check\"",
		cb_error_last()->message);
	assert_string_equal(
		"0", cb_scratch_query(f->store,
			     "SELECT count(*) FROM chargeback.invoice"));
	/* The connection is usable afterwards. */
	ASSERT_OK(cb_store_invoices_write(f->store, v, 1));
}

/* ---- tying out -------------------------------------------------------- */

static void
row(cb_cost_row *r, const char *invoice_id, const char *currency,
	const char *cost, uint64_t line)
{
	memset(r, 0, sizeof(*r));
	r->text[CB_COST_INVOICE_ID].ptr = invoice_id;
	r->text[CB_COST_INVOICE_ID].len = strlen(invoice_id);
	r->text[CB_COST_BILLING_ACCOUNT_ID].ptr = "ba1";
	r->text[CB_COST_BILLING_ACCOUNT_ID].len = 3;
	r->text[CB_COST_BILLING_CURRENCY].ptr = currency;
	r->text[CB_COST_BILLING_CURRENCY].len = strlen(currency);
	r->date = cb__days_from_civil(2026, 10, 1 + (int)(line % 28));
	r->amounts[CB_COST_COST_BILLING] = money(cost);
	r->amount_present[CB_COST_COST_BILLING] = true;
	r->line = line;
}

static void
load(cb_store *store, const char *scope, const char *period,
	cb_cost_metric metric, const cb_cost_row *rows, size_t n)
{
	cb_cost_load_key key = { scope, period, metric, "test" };
	cb_cost_load *l = NULL;

	ASSERT_OK(cb_store_cost_load_begin(&l, store, &key));
	for (size_t i = 0; i < n; i++)
		ASSERT_OK(cb_store_cost_load_row(l, &rows[i]));
	ASSERT_OK(cb_store_cost_load_commit(l, NULL));
}

static void
test_tie_out(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_invoice v[5] = {
		invoice("G1", "P1", "EUR", "2.31"),
		invoice("G2", "P1", "EUR", "5.01"),
		invoice("G3", "P2", "EUR", "7.5"),
		invoice("G4", "P2", "EUR", "1"),
		invoice("G9", "P1", "EUR", "9"), /* another month */
	};
	cb_cost_row month[6], own[2], amortized[1];
	cb_reconcile_options opts = CB_RECONCILE_OPTIONS_INIT;
	cb_reconcile_result res = CB_RECONCILE_RESULT_INIT;
	cb_config *cfg = NULL;
	cb_buf got = CB_BUF_INIT;

	v[4].period_start = lit("2026-09-01");
	v[4].period_end = lit("2026-09-30");
	ASSERT_OK(cb_store_invoices_write(f->store, v, 5));

	/* The month at account scope: G1's usage and rounding adjustment
	 * and a line in USD; G2 a residue of 0.004 and a cent short; G4
	 * only a line in another currency. */
	row(&month[0], "G1", "EUR", "2.304", 2);
	row(&month[1], "G1", "EUR", "0.006", 3);
	row(&month[2], "G1", "USD", "1", 4);
	row(&month[3], "G2", "EUR", "4.004", 5);
	row(&month[4], "G2", "EUR", "1", 6);
	row(&month[5], "G4", "USD", "1", 7);
	load(f->store, "/billingAccounts/ba1", "2026-10", CB_COST_ACTUAL, month,
		6);
	/* G1's own load, later: its lines, without the USD one. */
	row(&own[0], "G1", "EUR", "2.304", 2);
	row(&own[1], "G1", "EUR", "0.006", 3);
	load(f->store, "/billingAccounts/ba1/billingProfiles/P1 invoice G1",
		"2026-10", CB_COST_ACTUAL, own, 2);
	/* AmortizedCost never counts. */
	row(&amortized[0], "G2", "EUR", "0.006", 2);
	load(f->store, "/billingAccounts/ba1", "2026-10", CB_COST_AMORTIZED,
		amortized, 1);

	ASSERT_OK(cb_config_load_string(&cfg, "", "empty.cfg"));
	opts.period = "2026-10";
	opts.no_fetch = true;
	ASSERT_OK(cb_reconcile_run(f->store, cfg, &opts, &res));
	for (size_t i = 0; i < res.count; i++) {
		const cb_reconcile_invoice *ri = &res.invoices[i];
		char sum[CB_MONEY_STR_MAX], diff[CB_MONEY_STR_MAX];

		cb_money_format(sum, sizeof(sum), ri->lines_sum);
		cb_money_format(diff, sizeof(diff), ri->difference);
		ASSERT_OK(cb__buf_printf(&got,
			"%s %s %s rows=%llu sum=%s diff=%s foreign=%llu "
			"loads=%u scope=%s: %s\n",
			ri->invoice.billing_profile_id, ri->invoice.invoice_id,
			ri->invoice.currency, (unsigned long long)ri->rows, sum,
			diff, (unsigned long long)ri->foreign_rows, ri->loads,
			ri->scope ? ri->scope : "-",
			cb_reconcile_status_name(ri->status)));
	}
	assert_string_equal(
		"P1 G1 EUR rows=2 sum=2.31 diff=0 foreign=0 loads=2 "
		"scope=/billingAccounts/ba1/billingProfiles/P1 invoice G1: "
		"matched\n"
		"P1 G2 EUR rows=2 sum=5.004 diff=-0.01 foreign=0 loads=1 "
		"scope=/billingAccounts/ba1: mismatched\n"
		"P2 G3 EUR rows=0 sum=0 diff=-7.5 foreign=0 loads=0 scope=-: "
		"no cost lines loaded\n"
		"P2 G4 EUR rows=0 sum=0 diff=-1 foreign=1 loads=1 "
		"scope=/billingAccounts/ba1: mismatched\n",
		got.ptr);
	assert_int_equal(4, res.count);
	assert_int_equal(1, res.matched);
	assert_int_equal(2, res.mismatched);
	assert_int_equal(1, res.no_lines);
	assert_int_equal(0, res.accounts);
	assert_money("2.31", res.invoices[0].invoice.billed_amount);
	assert_string_equal("2026-11-05", res.invoices[0].invoice.invoice_date);

	/* The month before: only G9, no lines. */
	cb_reconcile_result_dispose(&res);
	assert_null(res.invoices);
	opts.period = "2026-09";
	ASSERT_OK(cb_reconcile_run(f->store, cfg, &opts, &res));
	assert_int_equal(1, res.count);
	assert_string_equal("G9", res.invoices[0].invoice.invoice_id);
	assert_int_equal(CB_RECONCILE_NO_LINES, res.invoices[0].status);
	cb_reconcile_result_dispose(&res);

	/* Out of memory at any point: CB_ENOMEM and an empty result. */
	opts.period = "2026-10";
	{
		unsigned long n;
		int rc = CB_ENOMEM;

		for (n = 1; rc == CB_ENOMEM && n < 200; n++) {
			cb__alloc_fail_after(n);
			rc = cb_reconcile_run(f->store, cfg, &opts, &res);
			cb__alloc_fail_after(0);
			if (rc == CB_ENOMEM) {
				assert_int_equal(0, res.count);
				assert_null(res.invoices);
			}
		}
		ASSERT_OK(rc);
		assert_true(n > 4);
		assert_int_equal(4, res.count);
		cb_reconcile_result_dispose(&res);
	}

	opts.period = "2026-9";
	assert_int_equal(
		CB_EINVAL, cb_reconcile_run(f->store, cfg, &opts, &res));
	assert_string_equal("reconcile: period '2026-9' is not YYYY-MM",
		cb_error_last()->message);
	cb_config_free(cfg);
	cb_buf_dispose(&got);
}

static int
group_setup(void **state)
{
	(void)state;
	return cb_scratch_admin_open("test_store_invoice");
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
		T(test_invoices_stored_exactly_and_replaced),
		T(test_bad_invoice_writes_nothing),
		T(test_tie_out),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
