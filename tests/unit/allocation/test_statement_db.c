/*
 * tests/unit/allocation/test_statement_db.c - cb_statement_build() on a
 * real PostgreSQL (CHARGEBACK_TEST_DSN), charge lines written directly:
 * the CSV bytes of a statement with a tie and a refund, the callback's
 * stop code returned, and out of memory at every allocation reported as
 * CB_ENOMEM with nothing handed out, then the same bytes.
 */
#include "core/common.h"

#include "chargeback/statement.h"
#include "core/alloc.h"
#include "core/buf.h"
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

struct got {
	char text[4096];
	unsigned calls;
	int stop;
};

static int
collect(const char *customer, const char *currency, const char *data,
	size_t len, void *payload)
{
	struct got *g = payload;
	size_t used = strlen(g->text);

	snprintf(g->text + used, sizeof(g->text) - used, "[%s %s]\n%.*s",
		customer, currency, (int)len, data);
	g->calls++;
	return g->stop;
}

#define H64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CTX "c1,,2026-10,false,USD," H64

static const char want[] =
	"[c1 USD]\n"
	"record,partner,customer_id,customer_name,period,provisional,"
	"currency,rules_hash,subscription_id,service_family,meter_category,"
	"meter_id,meter_name,charge_type,date,quantity,amount\n"
	"line,ba1," CTX ",s1,Compute,,,,Usage,2026-10-01,1,0.34\n"
	"line,ba1," CTX ",s1,Compute,,,,Usage,2026-10-02,1,0.33\n"
	"line,ba1," CTX ",s2,Compute,,,,Usage,2026-10-03,1,0.33\n"
	"line,ba1," CTX ",s2,Storage,,,,Refund,,-1,-0.50\n"
	"subscription,ba1," CTX ",s1,,,,,,,,0.67\n"
	"subscription,ba1," CTX ",s2,,,,,,,,-0.17\n"
	"service_family,ba1," CTX ",,Compute,,,,,,,1.00\n"
	"service_family,ba1," CTX ",,Storage,,,,,,,-0.50\n"
	"total,ba1," CTX ",,,,,,,,,0.50\n";

static void
test_statement_build_and_out_of_memory(void **state)
{
	struct cb_scratch_db *db = cb_scratch_db_create("statement");
	cb_store *store = db->store;
	struct got g;
	int rc = CB_ENOMEM;

	(void)state;
	ASSERT_OK(cb__store_exec(store, NULL, "test",
		"INSERT INTO chargeback.rating_run (period, metric, rules_hash,"
		" state, lines, finished_at) VALUES ('2026-10-01', 'actual',"
		" repeat('a', 64), 'committed', 5, now())",
		0, NULL));
	ASSERT_OK(cb__store_exec(store, NULL, "test",
		"INSERT INTO chargeback.charge_line (billing_account_id,"
		" customer_id, period, run_id, line_no, subscription_id,"
		" service_family, charge_type, date, billing_currency, quantity,"
		" cost, base, markup, billed, rules_hash)"
		" SELECT 'ba1', c, '2026-10-01', 1, n, s, f, t, d::date, 'USD',"
		"  q, b, b, 0, b, repeat('a', 64) FROM (VALUES"
		"  ('', 1, NULL, NULL, 'Rounding', NULL, 0, 0.01),"
		"  ('c1', 2, 's1', 'Compute', 'Usage', '2026-10-01', 1, 0.333333),"
		"  ('c1', 3, 's1', 'Compute', 'Usage', '2026-10-02', 1, 0.333333),"
		"  ('c1', 4, 's2', 'Compute', 'Usage', '2026-10-03', 1, 0.333333),"
		"  ('c1', 5, 's2', 'Storage', 'Refund', NULL, -1, -0.495))"
		"  v(c, n, s, f, t, d, q, b)",
		0, NULL));

	/* 0.999999 - 0.495 = 0.504999 -> 0.50: the charges 1.00 (a tie,
	 * to the earlier line), the refund -0.50; the partner line
	 * (customer "") has no statement. */
	memset(&g, 0, sizeof(g));
	ASSERT_OK(cb_statement_build(
		store, "2026-10", NULL, CB_STATEMENT_CSV, collect, &g));
	assert_string_equal(want, g.text);
	assert_int_equal(1, g.calls);

	memset(&g, 0, sizeof(g));
	g.stop = 7;
	assert_int_equal(7, cb_statement_build(store, "2026-10", "c1",
				    CB_STATEMENT_JSON, collect, &g));

	for (unsigned long n = 1; rc == CB_ENOMEM && n < 100; n++) {
		memset(&g, 0, sizeof(g));
		cb__alloc_fail_after(n);
		rc = cb_statement_build(
			store, "2026-10", NULL, CB_STATEMENT_CSV, collect, &g);
		cb__alloc_fail_after(0);
		if (rc == CB_ENOMEM)
			assert_int_equal(0, g.calls);
	}
	ASSERT_OK(rc);
	assert_string_equal(want, g.text);

	assert_int_equal(CB_EINVAL, cb_statement_build(store, "2026-13", NULL,
					    CB_STATEMENT_CSV, collect, &g));
	assert_string_equal("statement: period '2026-13' is not YYYY-MM",
		cb_error_last()->message);

	cb_scratch_db_drop(db);
}

static int
group_setup(void **state)
{
	(void)state;
	return cb_scratch_admin_open("test_statement_db");
}

static int
group_teardown(void **state)
{
	(void)state;
	cb_scratch_admin_close();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statement_build_and_out_of_memory),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
