/*
 * tests/unit/sql/test_store_costs.c - loading cost lines into the store
 * and reporting them (sql/store_costs.c, migration 005), against the real
 * PostgreSQL named by CHARGEBACK_TEST_DSN.
 *
 * Each test gets a scratch database (as tests/unit/sql/test_store.c).
 * Rows are built here as cb_cost_row values, so these tests need no CSV.
 * test_costs_load_rate times a synthetic load: 20,000 rows by default,
 * CB_COST_BENCH_ROWS=1000000 for the figure in the report.
 */
#include "core/common.h"
#include "core/buf.h"
#include "sql/store_internal.h"
#include "sql/store_costs_internal.h"
#include "tests/support/testsupport.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/scratchdb.h"

#define ASSERT_FAILS(code, expr)                                         \
	do {                                                             \
		int rc_ = (expr);                                        \
		if (rc_ != (code))                                       \
			fail_msg("%s: %s, expected %s (%s)", #expr,      \
				cb_error_name(rc_), cb_error_name(code), \
				cb_error_last()->message);               \
	} while (0)

static int
fixture_setup(void **state)
{
	*state = cb_scratch_db_create("costs");
	return 0;
}

static int
fixture_teardown(void **state)
{
	cb__cost_cache_limit(0);
	cb_scratch_db_drop(*state);
	return 0;
}

/* ---- building rows -------------------------------------------------- */

static int32_t
day(int y, int m, int d)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return (int32_t)(timegm(&tm) / 86400);
}

static void
text(cb_cost_row *r, int field, const char *s)
{
	r->text[field].ptr = s;
	r->text[field].len = s ? strlen(s) : 0;
}

static void
amount(cb_cost_row *r, int field, const char *s)
{
	if (s == NULL) {
		r->amount_present[field] = false;
		return;
	}
	ASSERT_OK(cb_money_parse(&r->amounts[field], s, strlen(s)));
	r->amount_present[field] = true;
}

static void
json(cb_cost_text *t, const char *s)
{
	t->ptr = s;
	t->len = s ? strlen(s) : 0;
}

/* A typical partner line of 2026-10 in EUR. */
static void
base_row(cb_cost_row *r)
{
	memset(r, 0, sizeof(*r));
	text(r, CB_COST_INVOICE_ID, "G012345678");
	text(r, CB_COST_BILLING_ACCOUNT_ID, "ba1");
	text(r, CB_COST_BILLING_ACCOUNT_NAME, "Contoso Partner");
	text(r, CB_COST_CUSTOMER_TENANT_ID,
		"0B7E0A3C-7D0E-4A43-9D2E-1F1B2C3D4E5F");
	text(r, CB_COST_CUSTOMER_NAME, "Fabrikam");
	text(r, CB_COST_SERVICE_FAMILY, "Compute");
	text(r, CB_COST_METER_CATEGORY, "Virtual Machines");
	text(r, CB_COST_SUBSCRIPTION_ID,
		"6b96d3f2-9008-4a9d-912f-f87744185aa3");
	text(r, CB_COST_SUBSCRIPTION_NAME, "Production");
	text(r, CB_COST_RESOURCE_ID, "/subscriptions/6b96/rg/vm1");
	text(r, CB_COST_CHARGE_TYPE, "Usage");
	text(r, CB_COST_BILLING_CURRENCY, "EUR");
	text(r, CB_COST_PRICING_CURRENCY, "USD");
	json(&r->tags, "{\"env\": \"prod\"}");
	json(&r->additional_info, "{\"ServiceType\":\"Standard_D2s_v3\"}");
	json(&r->extra, "{\"CustomerTenantDomainName\":\"fabrikam.com\"}");
	r->date = day(2026, 10, 5);
	r->dates[CB_COST_BILLING_PERIOD_START] = day(2026, 10, 1);
	r->date_present[CB_COST_BILLING_PERIOD_START] = true;
	r->dates[CB_COST_BILLING_PERIOD_END] = day(2026, 10, 31);
	r->date_present[CB_COST_BILLING_PERIOD_END] = true;
	r->credit_eligible = 1;
	r->pec_applied = -1;
	amount(r, CB_COST_QUANTITY, "24");
	amount(r, CB_COST_COST_BILLING, "2.304");
	amount(r, CB_COST_PAYG_COST_BILLING, "2.5");
	r->part = 0;
	r->line = 2;
}

static const cb_cost_load_key key_files = { "files", "2026-10", CB_COST_ACTUAL,
	"file usage.csv" };

static void
assert_money(const char *want, cb_money v)
{
	char s[CB_MONEY_STR_MAX];

	ASSERT_OK(cb_money_format(s, sizeof(s), v));
	assert_string_equal(want, s);
}

/* Load rows under key; returns the totals (dispose them). */
static void
load_rows(cb_store *store, const cb_cost_load_key *key, const cb_cost_row *rows,
	size_t n, cb_cost_totals *out)
{
	cb_cost_load *load = NULL;

	ASSERT_OK(cb_store_cost_load_begin(&load, store, key));
	for (size_t i = 0; i < n; i++)
		ASSERT_OK(cb_store_cost_load_row(load, &rows[i]));
	ASSERT_OK(cb_store_cost_load_commit(load, out));
}

/* The groups of cb_store_costs as "key|label|currency|rows|cost|payg"
 * lines. */
static int
collect(const cb_costs_group *g, void *payload)
{
	cb_buf *b = payload;
	char cost[CB_MONEY_STR_MAX], payg[CB_MONEY_STR_MAX];

	cb_money_format(cost, sizeof(cost), g->cost);
	cb_money_format(payg, sizeof(payg), g->payg_cost);
	ASSERT_OK(cb__buf_printf(b, "%s|%s|%s|%llu|%s|%s\n",
		g->key ? g->key : "(null)", g->label ? g->label : "(null)",
		g->currency, (unsigned long long)g->rows, cost, payg));
	return 0;
}

static const char *
report(cb_store *store, const char *period, cb_cost_metric metric,
	cb_costs_by by)
{
	static cb_buf out = CB_BUF_INIT;

	cb__buf_clear(&out);
	ASSERT_OK(cb__buf_puts(&out, ""));
	ASSERT_OK(cb_store_costs(store, period, metric, by, collect, &out));
	return out.ptr;
}

/* ---- tests ---------------------------------------------------------- */

static void
test_costs_load_stores_exact_values(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_cost_totals t = CB_COST_TOTALS_INIT;
	cb_cost_row rows[4];

	base_row(&rows[0]);
	amount(&rows[0], CB_COST_COST_BILLING, "3.6E-05");
	base_row(&rows[1]);
	rows[1].line = 3;
	amount(&rows[1], CB_COST_COST_BILLING, "0.123456789012345678");
	amount(&rows[1], CB_COST_PAYG_COST_BILLING, NULL);
	base_row(&rows[2]);
	rows[2].line = 4;
	rows[2].date = day(2026, 10, 31);
	text(&rows[2], CB_COST_CHARGE_TYPE, "Refund");
	amount(&rows[2], CB_COST_COST_BILLING, "-12.5");
	amount(&rows[2], CB_COST_PAYG_COST_BILLING, "-13");
	base_row(&rows[3]);
	rows[3].part = 1;
	rows[3].line = 2;
	rows[3].date = day(2026, 10, 1);
	amount(&rows[3], CB_COST_COST_BILLING, "1e3");
	amount(&rows[3], CB_COST_QUANTITY, "0");
	amount(&rows[3], CB_COST_UNIT_PRICE,
		"170141183460469231731.687303715884105727");
	amount(&rows[3], CB_COST_PAYG_PRICE,
		"-170141183460469231731.687303715884105728");
	amount(&rows[3], CB_COST_EXCHANGE_RATE, "0.000000000000000001");

	load_rows(f->store, &key_files, rows, 4, &t);
	assert_true(t.load_id > 0);
	assert_int_equal(4, t.rows);
	assert_int_equal(2, t.descriptors); /* the refund differs */
	assert_int_equal(1, t.currency_count);
	assert_string_equal("EUR", t.currencies[0].currency);
	assert_int_equal(4, t.currencies[0].rows);
	assert_money("987.623492789012345678", t.currencies[0].cost);
	assert_money("-8", t.currencies[0].payg_cost);

	/* Stored text, exactly as written (no padding to 18 places). */
	assert_string_equal("0.000036,0.123456789012345678,-12.5,1000",
		cb_scratch_query(f->store,
			"SELECT string_agg(cost_in_billing_currency::text, ','"
			" ORDER BY part, line) FROM chargeback.cost_line"));
	assert_string_equal("2.5,NULL,-13,2.5",
		cb_scratch_query(f->store,
			"SELECT string_agg(coalesce("
			"payg_cost_in_billing_currency::text, 'NULL'), ','"
			" ORDER BY part, line) FROM chargeback.cost_line"));
	assert_string_equal("0|170141183460469231731.687303715884105727|"
			    "-170141183460469231731.687303715884105728|"
			    "0.000000000000000001|24",
		cb_scratch_query(f->store,
			"SELECT quantity || '|' || unit_price || '|' ||"
			" payg_price || '|' || exchange_rate_pricing_to_billing"
			" || '|' || (SELECT quantity FROM chargeback.cost_line"
			" WHERE part = 0 AND line = 2)"
			" FROM chargeback.cost_line WHERE part = 1"));
	/* The whole line back through the view. */
	assert_string_equal(
		"files|actual|ba1|fabrikam-tenant|2026-10-01|2026-10-05|"
		"G012345678|Contoso Partner|Fabrikam|Compute|Usage|EUR|USD|"
		"2026-10-01|2026-10-31|t|NULL|{\"env\": \"prod\"}|"
		"{\"ServiceType\": \"Standard_D2s_v3\"}|"
		"{\"CustomerTenantDomainName\": \"fabrikam.com\"}|NULL",
		cb_scratch_query(f->store,
			"SELECT concat_ws('|', scope, metric, billing_account_id,"
			" CASE WHEN customer_id = '0b7e0a3c-7d0e-4a43-9d2e-"
			"1f1b2c3d4e5f' THEN 'fabrikam-tenant' END, period, date,"
			" invoice_id, billing_account_name, customer_name,"
			" service_family, charge_type, billing_currency,"
			" pricing_currency, billing_period_start,"
			" billing_period_end, credit_eligible,"
			" coalesce(pec_applied::text, 'NULL'), tags,"
			" additional_info, extra, coalesce(previous_invoice_id,"
			" 'NULL')) FROM chargeback.cost_line_full"
			" WHERE part = 0 AND line = 2"));
	/* The load's record. */
	assert_string_equal(
		"committed|4|2|file usage.csv|{\"EUR\": {\"cost\": "
		"\"987.623492789012345678\", \"rows\": 4, \"paygCost\": "
		"\"-8\"}}",
		cb_scratch_query(f->store,
			"SELECT concat_ws('|', state, rows, descriptors, source,"
			" totals) FROM chargeback.cost_load"));
	/* Leaves under month partitions, staging CHECK in place. */
	assert_string_equal("cost_descriptor_l1,cost_line_l1",
		cb_scratch_query(f->store,
			"SELECT string_agg(c.relname, ',' ORDER BY c.relname)"
			" FROM pg_inherits i JOIN pg_class c ON c.oid ="
			" i.inhrelid JOIN pg_class p ON p.oid = i.inhparent"
			" WHERE p.relname IN ('cost_line_y2026m10',"
			" 'cost_descriptor_y2026m10')"));
	cb_cost_totals_dispose(&t);
	assert_null(t.currencies);
	assert_int_equal(0, t.rows);
	cb_cost_totals_dispose(NULL);
}

/* Many values through the numeric encoding: the stored text is
 * cb_money_format's, digit for digit. */
static void
test_costs_numeric_round_trip(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_cost_load *load = NULL;
	cb_buf want = CB_BUF_INIT;
	cb_cost_row r;
	uint64_t x = 88172645463325252ULL;
	const size_t n = 3000;

	base_row(&r);
	ASSERT_OK(cb_store_cost_load_begin(&load, f->store, &key_files));
	for (size_t i = 0; i < n; i++) {
		char s[CB_MONEY_STR_MAX];
		cb_money v;

		/* xorshift64: magnitudes from 10^-18 up to 10^20. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v.lo = x;
		v.hi = (int64_t)(x >> (i % 64)) >> (i % 7 == 0 ? 0 : 30);
		if (i % 3 == 0)
			v.hi = 0;
		if (i % 5 == 0)
			v.lo = x % 1000000000;
		if (i % 11 == 0) {
			v.lo = (x % 100) * 1000000000000000000ULL % 0xffffffff;
			v.hi = 0;
		}
		if (i % 2)
			ASSERT_OK(cb_money_neg(&v, v));
		r.amounts[CB_COST_QUANTITY] = v;
		r.line = i + 2;
		ASSERT_OK(cb_store_cost_load_row(load, &r));
		ASSERT_OK(cb_money_format(s, sizeof(s), v));
		ASSERT_OK(cb__buf_printf(&want, "%s%s", i ? "," : "", s));
	}
	ASSERT_OK(cb_store_cost_load_commit(load, NULL));
	assert_string_equal(want.ptr,
		cb_scratch_query(f->store,
			"SELECT string_agg(quantity::text, ',' ORDER BY line)"
			" FROM chargeback.cost_line"));
	cb_buf_dispose(&want);
}

static void
test_costs_reload_replaces(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_cost_totals t = CB_COST_TOTALS_INIT;
	cb_cost_load_key other = key_files;
	cb_cost_row rows[3];
	char sql[256];

	for (int i = 0; i < 3; i++) {
		base_row(&rows[i]);
		rows[i].line = (uint64_t)i + 2;
	}
	load_rows(f->store, &key_files, rows, 3, &t);
	assert_int_equal(1, t.load_id);
	other.scope = "/providers/Microsoft.Billing/billingAccounts/ba2";
	load_rows(f->store, &other, rows, 1, &t);
	assert_int_equal(2, t.load_id);

	/* A re-priced month: two lines, other amounts. */
	amount(&rows[0], CB_COST_COST_BILLING, "10.01");
	amount(&rows[1], CB_COST_COST_BILLING, "-0.01");
	load_rows(f->store, &key_files, rows, 2, &t);
	assert_int_equal(3, t.load_id);
	assert_int_equal(2, t.rows);
	assert_money("10", t.currencies[0].cost);
	assert_money("5", t.currencies[0].payg_cost);

	assert_string_equal("1 superseded,2 committed,3 committed",
		cb_scratch_query(f->store,
			"SELECT string_agg(load_id || ' ' || state, ','"
			" ORDER BY load_id) FROM chargeback.cost_load"));
	assert_string_equal("2:1,3:2",
		cb_scratch_query(f->store,
			"SELECT string_agg(load_id || ':' || n, ',' ORDER BY"
			" load_id) FROM (SELECT load_id, count(*) n FROM"
			" chargeback.cost_line GROUP BY 1) s"));
	snprintf(sql, sizeof(sql),
		"SELECT count(*) FROM pg_class WHERE relname IN"
		" ('cost_line_l1', 'cost_descriptor_l1')");
	assert_string_equal("0", cb_scratch_query(f->store, sql));
	/* Both scopes together: 2.304 + 10.01 - 0.01. */
	assert_string_equal("(null)|(null)|EUR|3|12.304|7.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL, CB_COSTS_BY_NONE));
	/* Replaying the same load changes nothing but the load id. */
	load_rows(f->store, &key_files, rows, 2, &t);
	assert_string_equal("(null)|(null)|EUR|3|12.304|7.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL, CB_COSTS_BY_NONE));
	assert_string_equal(
		"1", cb_scratch_query(f->store,
			     "SELECT count(*) FROM chargeback.cost_load WHERE"
			     " scope = 'files' AND state = 'committed'"));
	/* A month that turned out empty replaces it with nothing. */
	load_rows(f->store, &key_files, rows, 0, &t);
	assert_int_equal(5, t.load_id);
	assert_int_equal(0, t.rows);
	assert_int_equal(0, t.currency_count);
	assert_null(t.currencies);
	assert_string_equal("(null)|(null)|EUR|1|2.304|2.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL, CB_COSTS_BY_NONE));
	assert_string_equal("5 committed 0 {}",
		cb_scratch_query(f->store,
			"SELECT concat_ws(' ', load_id, state, rows, totals)"
			" FROM chargeback.cost_load WHERE load_id = 5"));
	cb_cost_totals_dispose(&t);
}

static void
test_costs_second_load_of_a_key_is_refused(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_cost_load *first = NULL, *second = NULL, *other = NULL;
	cb_cost_load_key amortized = key_files;
	cb_cost_row r;

	base_row(&r);
	ASSERT_OK(cb_store_cost_load_begin(&first, f->store, &key_files));
	ASSERT_OK(cb_store_cost_load_row(first, &r));
	ASSERT_FAILS(CB_ELOCKED,
		cb_store_cost_load_begin(&second, f->store, &key_files));
	assert_null(second);
	assert_string_equal("a load of files 2026-10 actual is already running",
		cb_error_last()->message);
	/* Another key is not held up. */
	amortized.metric = CB_COST_AMORTIZED;
	ASSERT_OK(cb_store_cost_load_begin(&other, f->store, &amortized));
	ASSERT_OK(cb_store_cost_load_row(other, &r));
	ASSERT_OK(cb_store_cost_load_commit(other, NULL));
	ASSERT_OK(cb_store_cost_load_commit(first, NULL));
	/* Released: the key can be loaded again. */
	ASSERT_OK(cb_store_cost_load_begin(&second, f->store, &key_files));
	cb_store_cost_load_abort(second);
	assert_string_equal("(null)|(null)|EUR|1|2.304|2.5\n",
		report(f->store, "2026-10", CB_COST_AMORTIZED,
			CB_COSTS_BY_NONE));
}

static void
test_costs_abort_keeps_the_previous_load(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_cost_load *load = NULL;
	cb_cost_row r;

	base_row(&r);
	load_rows(f->store, &key_files, &r, 1, NULL);
	ASSERT_OK(cb_store_cost_load_begin(&load, f->store, &key_files));
	amount(&r, CB_COST_COST_BILLING, "99");
	for (int i = 0; i < 5000; i++) {
		r.line = (uint64_t)i + 2;
		ASSERT_OK(cb_store_cost_load_row(load, &r));
	}
	cb_store_cost_load_abort(load);
	cb_store_cost_load_abort(NULL);
	assert_string_equal("(null)|(null)|EUR|1|2.304|2.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL, CB_COSTS_BY_NONE));
	assert_string_equal("1 committed,2 failed",
		cb_scratch_query(f->store,
			"SELECT string_agg(load_id || ' ' || state, ','"
			" ORDER BY load_id) FROM chargeback.cost_load"));
	assert_string_equal(
		"0", cb_scratch_query(f->store,
			     "SELECT count(*) FROM pg_class WHERE relname"
			     " LIKE 'cost_%_l2'"));
}

/* begin, retrying while a dead loader's backend has not yet noticed. */
static void
begin_after_kill(cb_store *store, cb_cost_load **load)
{
	for (int i = 0; i < 100; i++) {
		int rc = cb_store_cost_load_begin(load, store, &key_files);

		if (rc == 0)
			return;
		assert_int_equal(CB_ELOCKED, rc);
		usleep(50000);
	}
	fail_msg("the killed loader's lock was never released");
}

static void
test_costs_killed_loads_are_cleaned_up(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_cost_load *load = NULL;
	cb_cost_row r;
	int status;
	pid_t pid;

	base_row(&r);
	load_rows(f->store, &key_files, &r, 1, NULL);

	/* A loader killed mid-COPY: its process is gone. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		cb_cost_load *l = NULL;

		if (cb_store_cost_load_begin(&l, f->store, &key_files) != 0)
			_exit(1);
		for (int i = 0; i < 20000; i++) {
			r.line = (uint64_t)i + 2;
			if (cb_store_cost_load_row(l, &r) != 0)
				_exit(2);
		}
		_exit(0); /* no commit, no abort, no cleanup */
	}
	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_true(WIFEXITED(status));
	assert_int_equal(0, WEXITSTATUS(status));

	/* A loader killed after committing its staging tables, before the
	 * swap: a 'loading' row and two unattached tables. */
	cb_scratch_query(f->store,
		"INSERT INTO chargeback.cost_load (scope, period, metric)"
		" VALUES ('files', '2026-10-01', 'actual')");
	cb_scratch_query(f->store, "CREATE TABLE chargeback.cost_line_l3"
				   " (LIKE chargeback.cost_line)");
	cb_scratch_query(f->store, "CREATE TABLE chargeback.cost_descriptor_l3"
				   " (LIKE chargeback.cost_descriptor)");
	cb_scratch_query(f->store,
		"INSERT INTO chargeback.cost_line_l3 (billing_account_id,"
		" customer_id, period, load_id, part, line,"
		" descriptor_id, date) VALUES ('', '', '2026-10-01', 3,"
		" 0, 2, 1, '2026-10-02')");
	/* Nothing of either is visible. */
	assert_string_equal("(null)|(null)|EUR|1|2.304|2.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL, CB_COSTS_BY_NONE));

	begin_after_kill(f->store, &load);
	assert_string_equal("1 committed,2 failed,3 failed,4 loading",
		cb_scratch_query(f->store,
			"SELECT string_agg(load_id || ' ' || state, ','"
			" ORDER BY load_id) FROM chargeback.cost_load"));
	assert_string_equal("",
		cb_scratch_query(f->store,
			"SELECT string_agg(relname, ',') FROM pg_class WHERE"
			" relname ~ '^cost_(line|descriptor)_l[23]$'"));
	amount(&r, CB_COST_COST_BILLING, "7");
	ASSERT_OK(cb_store_cost_load_row(load, &r));
	ASSERT_OK(cb_store_cost_load_commit(load, NULL));
	assert_string_equal("(null)|(null)|EUR|1|7|2.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL, CB_COSTS_BY_NONE));
}

static void
test_costs_descriptors_are_stored_once(void **state)
{
	struct cb_scratch_db *f = *state;
	static const char *const meters[] = { "Compute", "Storage",
		"Networking", "Databases", "AI", "Security", "Analytics" };
	cb_cost_totals t = CB_COST_TOTALS_INIT;
	cb_cost_row r;
	char want[64];

	base_row(&r);
	for (int pass = 0; pass < 2; pass++) {
		cb_cost_load *load = NULL;

		/* Runs of 10 rows share a descriptor.  Second pass: a
		 * cache that holds 6 descriptors of the 7, cleared again
		 * and again: each run is stored once more (100 in all). */
		cb__cost_cache_limit(pass ? 256 : 0);
		ASSERT_OK(
			cb_store_cost_load_begin(&load, f->store, &key_files));
		for (int i = 0; i < 1000; i++) {
			text(&r, CB_COST_SERVICE_FAMILY, meters[i / 10 % 7]);
			r.date = day(2026, 10, 1 + i % 31);
			r.line = (uint64_t)i + 2;
			ASSERT_OK(cb_store_cost_load_row(load, &r));
		}
		ASSERT_OK(cb_store_cost_load_commit(load, &t));
		assert_int_equal(1000, t.rows);
		if (pass == 0)
			assert_int_equal(7, t.descriptors);
		else
			assert_int_equal(100, t.descriptors);
		snprintf(want, sizeof(want), "%llu",
			(unsigned long long)t.descriptors);
		assert_string_equal(
			want, cb_scratch_query(f->store,
				      "SELECT count(*) FROM"
				      " chargeback.cost_descriptor"));
		assert_string_equal(
			"1000", cb_scratch_query(f->store,
					"SELECT count(*) FROM"
					" chargeback.cost_line_full"));
		assert_string_equal(
			"AI|140,Analytics|140,Compute|150,Databases|140,"
			"Networking|140,Security|140,Storage|150",
			cb_scratch_query(f->store,
				"SELECT string_agg(service_family || '|' || n,"
				" ',' ORDER BY service_family) FROM (SELECT"
				" service_family, count(*) n FROM"
				" chargeback.cost_line_full GROUP BY 1) s"));
		assert_money("2304", t.currencies[0].cost);
	}
	cb_cost_totals_dispose(&t);
}

static void
test_costs_report_groups(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_cost_row rows[5];

	for (int i = 0; i < 5; i++) {
		base_row(&rows[i]);
		rows[i].line = (uint64_t)i + 2;
	}
	/* Another customer, subscription, service and currency. */
	text(&rows[1], CB_COST_CUSTOMER_TENANT_ID, "aaaa-bbbb");
	text(&rows[1], CB_COST_CUSTOMER_NAME, "Adatum");
	text(&rows[1], CB_COST_SUBSCRIPTION_ID, "sub-2");
	text(&rows[1], CB_COST_SUBSCRIPTION_NAME, "Dev");
	text(&rows[1], CB_COST_SERVICE_FAMILY, "Storage");
	text(&rows[1], CB_COST_METER_CATEGORY, "Storage");
	rows[1].date = day(2026, 10, 6);
	amount(&rows[1], CB_COST_COST_BILLING, "0.000000000000000001");
	rows[2].date = day(2026, 10, 6);
	text(&rows[3], CB_COST_BILLING_CURRENCY, "USD");
	amount(&rows[3], CB_COST_COST_BILLING, "-1.75");
	/* A partner-level line: no customer, no subscription. */
	text(&rows[4], CB_COST_CUSTOMER_TENANT_ID, NULL);
	text(&rows[4], CB_COST_CUSTOMER_NAME, NULL);
	text(&rows[4], CB_COST_SUBSCRIPTION_ID, NULL);
	text(&rows[4], CB_COST_SUBSCRIPTION_NAME, NULL);
	text(&rows[4], CB_COST_SERVICE_FAMILY, NULL);
	amount(&rows[4], CB_COST_COST_BILLING, "0.01");
	amount(&rows[4], CB_COST_PAYG_COST_BILLING, NULL);
	load_rows(f->store, &key_files, rows, 5, NULL);

	assert_string_equal("(null)|(null)|EUR|4|4.618000000000000001|7.5\n"
			    "(null)|(null)|USD|1|-1.75|2.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL, CB_COSTS_BY_NONE));
	assert_string_equal("|(null)|EUR|1|0.01|0\n"
			    "0b7e0a3c-7d0e-4a43-9d2e-1f1b2c3d4e5f|Fabrikam|EUR|"
			    "2|4.608|5\n"
			    "0b7e0a3c-7d0e-4a43-9d2e-1f1b2c3d4e5f|Fabrikam|USD|"
			    "1|-1.75|2.5\n"
			    "aaaa-bbbb|Adatum|EUR|1|0.000000000000000001|2.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL,
			CB_COSTS_BY_CUSTOMER));
	assert_string_equal(
		"|(null)|EUR|1|0.01|0\n"
		"6b96d3f2-9008-4a9d-912f-f87744185aa3|Production|EUR|2|4.608|"
		"5\n"
		"6b96d3f2-9008-4a9d-912f-f87744185aa3|Production|USD|1|-1.75|"
		"2.5\n"
		"sub-2|Dev|EUR|1|0.000000000000000001|2.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL,
			CB_COSTS_BY_SUBSCRIPTION));
	assert_string_equal("|(null)|EUR|1|0.01|0\n"
			    "Compute|(null)|EUR|2|4.608|5\n"
			    "Compute|(null)|USD|1|-1.75|2.5\n"
			    "Storage|(null)|EUR|1|0.000000000000000001|2.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL,
			CB_COSTS_BY_SERVICE_FAMILY));
	assert_string_equal("Storage|(null)|EUR|1|0.000000000000000001|2.5\n"
			    "Virtual Machines|(null)|EUR|3|4.618|5\n"
			    "Virtual Machines|(null)|USD|1|-1.75|2.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL,
			CB_COSTS_BY_METER_CATEGORY));
	assert_string_equal("2026-10-05|(null)|EUR|2|2.314|2.5\n"
			    "2026-10-05|(null)|USD|1|-1.75|2.5\n"
			    "2026-10-06|(null)|EUR|2|2.304000000000000001|5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL, CB_COSTS_BY_DAY));
	/* Nothing else was loaded. */
	assert_string_equal("", report(f->store, "2026-10", CB_COST_AMORTIZED,
					CB_COSTS_BY_CUSTOMER));
	assert_string_equal("",
		report(f->store, "2026-09", CB_COST_ACTUAL, CB_COSTS_BY_NONE));
	ASSERT_FAILS(
		CB_EINVAL, cb_store_costs(f->store, "2026-9", CB_COST_ACTUAL,
				   CB_COSTS_BY_NONE, collect, NULL));
	assert_string_equal("costs: period '2026-9' is not YYYY-MM",
		cb_error_last()->message);
	ASSERT_FAILS(
		CB_EINVAL, cb_store_costs(f->store, "2026-10", CB_COST_ACTUAL,
				   (cb_costs_by)9, collect, NULL));
}

static void
test_costs_lines_belong_to_customers(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_cost_row rows[5];

	/* What sync knows: Fabrikam is ARM customer 'cust-fab' of ba1; a
	 * gone customer with the same tenant does not win. */
	cb_scratch_query(f->store,
		"INSERT INTO chargeback.billing_account (id) VALUES"
		" ('ba1'), ('ba2')");
	cb_scratch_query(f->store,
		"INSERT INTO chargeback.customer (billing_account_id,"
		" customer_id, display_name, tenant_id, last_seen, gone_at)"
		" VALUES ('ba1', 'cust-fab', 'Fabrikam Inc.',"
		" '0b7e0a3c-7d0e-4a43-9d2e-1f1b2c3d4e5f', now(), NULL),"
		" ('ba1', 'cust-old', 'Fabrikam (old)',"
		" '0b7e0a3c-7d0e-4a43-9d2e-1f1b2c3d4e5f', now() + interval"
		" '1 day', now() + interval '2 days')");
	for (int i = 0; i < 5; i++) {
		base_row(&rows[i]);
		rows[i].line = (uint64_t)i + 2;
	}
	/* Same tenant in an account sync does not link it to. */
	text(&rows[1], CB_COST_BILLING_ACCOUNT_ID, "ba2");
	/* A tenant sync has not seen. */
	text(&rows[2], CB_COST_CUSTOMER_TENANT_ID, "NEW-Tenant");
	/* Partner-level lines. */
	text(&rows[3], CB_COST_CUSTOMER_TENANT_ID, NULL);
	text(&rows[4], CB_COST_CUSTOMER_TENANT_ID, "");
	text(&rows[4], CB_COST_BILLING_ACCOUNT_ID, NULL);
	text(&rows[0], CB_COST_CUSTOMER_NAME, NULL);
	load_rows(f->store, &key_files, rows, 5, NULL);

	assert_string_equal("2:ba1:cust-fab,"
			    "3:ba2:0b7e0a3c-7d0e-4a43-9d2e-1f1b2c3d4e5f,"
			    "4:ba1:new-tenant,5:ba1:,6::",
		cb_scratch_query(f->store,
			"SELECT string_agg(line || ':' || billing_account_id"
			" || ':' || customer_id, ',' ORDER BY line)"
			" FROM chargeback.cost_line"));
	/* The descriptor keeps the tenant as the file wrote it. */
	assert_string_equal("NEW-Tenant",
		cb_scratch_query(f->store,
			"SELECT customer_tenant_id FROM"
			" chargeback.cost_line_full WHERE line = 4"));
	/* Labels: the file's name, else sync's display name. */
	assert_string_equal(
		"|Fabrikam|EUR|2|4.608|5\n"
		"0b7e0a3c-7d0e-4a43-9d2e-1f1b2c3d4e5f|Fabrikam|EUR|1|2.304|"
		"2.5\n"
		"cust-fab|Fabrikam Inc.|EUR|1|2.304|2.5\n"
		"new-tenant|Fabrikam|EUR|1|2.304|2.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL,
			CB_COSTS_BY_CUSTOMER));
}

static void
test_costs_bad_input_changes_nothing(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_cost_load *load = NULL;
	cb_cost_load_key k = key_files;
	cb_cost_row r;
	static const struct {
		const char *scope, *period, *message;
	} bad[] = {
		{ "files", "2026-13",
			"cost load: period '2026-13' is not YYYY-MM" },
		{ "files", "2026-1",
			"cost load: period '2026-1' is not YYYY-MM" },
		{ "files", "2026/10",
			"cost load: period '2026/10' is not YYYY-MM" },
		{ "files", NULL, "cost load: period '' is not YYYY-MM" },
		{ "", "2026-10", "cost load: the scope is empty" },
		{ NULL, "2026-10", "cost load: the scope is empty" },
	};

	for (size_t i = 0; i < CB_ARRAY_SIZE(bad); i++) {
		k.scope = bad[i].scope;
		k.period = bad[i].period;
		ASSERT_FAILS(CB_EINVAL,
			cb_store_cost_load_begin(&load, f->store, &k));
		assert_string_equal(bad[i].message, cb_error_last()->message);
	}
	k = key_files;
	k.metric = (cb_cost_metric)7;
	ASSERT_FAILS(CB_EINVAL, cb_store_cost_load_begin(&load, f->store, &k));
	ASSERT_FAILS(CB_EINVAL,
		cb_store_cost_load_begin(NULL, f->store, &key_files));
	ASSERT_FAILS(
		CB_EINVAL, cb_store_cost_load_begin(&load, NULL, &key_files));
	assert_null(load);
	assert_string_equal(
		"0", cb_scratch_query(f->store,
			     "SELECT count(*) FROM chargeback.cost_load"));

	base_row(&r);
	load_rows(f->store, &key_files, &r, 1, NULL);

	/* A line of the next month. */
	ASSERT_OK(cb_store_cost_load_begin(&load, f->store, &key_files));
	ASSERT_OK(cb_store_cost_load_row(load, &r));
	r.part = 2;
	r.line = 17;
	r.date = day(2026, 11, 1);
	ASSERT_FAILS(CB_EPARSE, cb_store_cost_load_row(load, &r));
	assert_string_equal(
		"part 2 line 17: date 2026-11-01 is outside the period 2026-10",
		cb_error_last()->message);
	r.date = day(2026, 9, 30);
	ASSERT_FAILS(CB_EINVAL, cb_store_cost_load_row(load, &r));
	ASSERT_FAILS(CB_EINVAL, cb_store_cost_load_commit(load, NULL));
	/* The day before the period. */
	ASSERT_OK(cb_store_cost_load_begin(&load, f->store, &key_files));
	base_row(&r);
	r.date = day(2026, 9, 30);
	ASSERT_FAILS(CB_EPARSE, cb_store_cost_load_row(load, &r));
	assert_string_equal(
		"part 0 line 2: date 2026-09-30 is outside the period 2026-10",
		cb_error_last()->message);
	cb_store_cost_load_abort(load);
	ASSERT_OK(cb_store_cost_load_begin(&load, f->store, &key_files));
	base_row(&r);
	text(&r, CB_COST_BILLING_CURRENCY, "EURO-DOLLAR");
	ASSERT_FAILS(CB_EPARSE, cb_store_cost_load_row(load, &r));
	assert_string_equal("part 0 line 2: billing currency 'EURO-DOLLAR' is "
			    "longer than 7 bytes",
		cb_error_last()->message);
	cb_store_cost_load_abort(load);
	/* Invalid JSON reaches the server: the load fails, with SQLSTATE,
	 * and nothing changes. */
	ASSERT_OK(cb_store_cost_load_begin(&load, f->store, &key_files));
	base_row(&r);
	json(&r.tags, "{not json");
	ASSERT_OK(cb_store_cost_load_row(load, &r));
	ASSERT_FAILS(CB_EDB, cb_store_cost_load_commit(load, NULL));
	assert_string_equal("22P02", cb_error_last()->sqlstate);
	/* An amount sum out of range. */
	ASSERT_OK(cb_store_cost_load_begin(&load, f->store, &key_files));
	base_row(&r);
	amount(&r, CB_COST_COST_BILLING,
		"170141183460469231731.687303715884105727");
	ASSERT_OK(cb_store_cost_load_row(load, &r));
	ASSERT_FAILS(CB_EOVERFLOW, cb_store_cost_load_row(load, &r));
	assert_string_equal("part 0 line 2: the load's sum in 'EUR' is out of "
			    "range",
		cb_error_last()->message);
	cb_store_cost_load_abort(load);

	assert_string_equal("(null)|(null)|EUR|1|2.304|2.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL, CB_COSTS_BY_NONE));
	assert_string_equal("1 committed,2 failed,3 failed,4 failed,5 failed,"
			    "6 failed",
		cb_scratch_query(f->store,
			"SELECT string_agg(load_id || ' ' || state, ','"
			" ORDER BY load_id) FROM chargeback.cost_load"));
	assert_string_equal("cost_descriptor_l1,cost_line_l1",
		cb_scratch_query(f->store,
			"SELECT string_agg(relname, ',' ORDER BY relname) FROM"
			" pg_class WHERE relname ~ '^cost_(line|descriptor)_l'"
			" AND relkind = 'r'"));
}

/* Every allocation of a load fails in turn: each failure is CB_ENOMEM,
 * stores nothing, leaks nothing; the next load cleans up after it. */
static void
test_costs_load_survives_oom(void **state)
{
	struct cb_scratch_db *f = *state;
	cb_cost_row rows[3];
	unsigned long n;
	int error;

	for (int i = 0; i < 3; i++) {
		base_row(&rows[i]);
		rows[i].line = (uint64_t)i + 2;
	}
	text(&rows[1], CB_COST_BILLING_CURRENCY, "USD");
	text(&rows[2], CB_COST_METER_CATEGORY, "Storage");
	for (n = 1;; n++) {
		cb_cost_totals t = CB_COST_TOTALS_INIT;
		cb_cost_load *load = NULL;

		cb__alloc_fail_after(n);
		error = cb_store_cost_load_begin(&load, f->store, &key_files);
		for (int i = 0; error == 0 && i < 3; i++)
			if ((error = cb_store_cost_load_row(load, &rows[i])) <
				0)
				cb_store_cost_load_abort(load);
		if (error == 0)
			error = cb_store_cost_load_commit(load, &t);
		cb__alloc_fail_after(0);
		if (error == 0) {
			assert_int_equal(3, t.rows);
			assert_int_equal(2, t.currency_count);
			cb_cost_totals_dispose(&t);
			break;
		}
		assert_int_equal(CB_ENOMEM, error);
		assert_string_equal(
			"", report(f->store, "2026-10", CB_COST_ACTUAL,
				    CB_COSTS_BY_NONE));
	}
	assert_true(n > 5);
	assert_string_equal("(null)|(null)|EUR|2|4.608|5\n"
			    "(null)|(null)|USD|1|2.304|2.5\n",
		report(f->store, "2026-10", CB_COST_ACTUAL, CB_COSTS_BY_NONE));
	assert_string_equal(
		"0", cb_scratch_query(f->store,
			     "SELECT count(*) FROM chargeback.cost_load"
			     " WHERE state NOT IN ('failed', 'committed')"));
	/* Only the committed load's two leaves: no staging left over. */
	assert_string_equal("2 attached",
		cb_scratch_query(f->store,
			"SELECT count(*) || CASE WHEN bool_and("
			" c.relispartition) THEN ' attached' END FROM pg_class c"
			" JOIN pg_namespace s ON s.oid = c.relnamespace WHERE"
			" s.nspname = 'chargeback' AND c.relkind = 'r' AND"
			" c.relname ~ '^cost_(line|descriptor)_l'"));
}

/* The figure of the report: a synthetic month at the rate of a real
 * partner's (30 days per resource, ~900 bytes of descriptor text). */
static void
test_costs_load_rate(void **state)
{
	struct cb_scratch_db *f = *state;
	const char *env = getenv("CB_COST_BENCH_ROWS");
	size_t n = env ? strtoul(env, NULL, 10) : 20000;
	cb_cost_totals t = CB_COST_TOTALS_INIT;
	cb_cost_load *load = NULL;
	char resource[160], info[256], tags[128], qty[32], cost[32];
	struct timespec t0, t1;
	cb_cost_row r;
	double secs;

	base_row(&r);
	text(&r, CB_COST_METER_ID, "0ecf1a3d-7d0e-4a43-9d2e-1f1b2c3d4e5f");
	text(&r, CB_COST_METER_NAME, "D2s v3");
	text(&r, CB_COST_METER_SUBCATEGORY, "Dsv3 Series");
	text(&r, CB_COST_METER_REGION, "EU West");
	text(&r, CB_COST_PRODUCT_NAME,
		"Virtual Machines Dsv3 Series - D2s v3 - EU West");
	text(&r, CB_COST_PRODUCT_ORDER_NAME, "Azure plan");
	text(&r, CB_COST_PARTNER_NAME, "Contoso Partner Ltd");
	text(&r, CB_COST_PARTNER_TENANT_ID,
		"a1a9c77e-1111-2222-3333-444455556666");
	text(&r, CB_COST_BILLING_PROFILE_ID, "AB12-CD34-EF5-GH67");
	text(&r, CB_COST_BILLING_PROFILE_NAME, "Contoso Partner EUR");
	text(&r, CB_COST_RESOURCE_LOCATION, "westeurope");
	text(&r, CB_COST_CONSUMED_SERVICE, "Microsoft.Compute");
	text(&r, CB_COST_UNIT_OF_MEASURE, "1 Hour");
	text(&r, CB_COST_PUBLISHER_TYPE, "Microsoft");
	text(&r, CB_COST_PRICING_MODEL, "OnDemand");
	text(&r, CB_COST_FREQUENCY, "UsageBased");
	text(&r, CB_COST_RESOURCE_GROUP, "rg-production-weu");
	amount(&r, CB_COST_EFFECTIVE_PRICE, "0.096");
	amount(&r, CB_COST_UNIT_PRICE, "0.096");
	amount(&r, CB_COST_PAYG_PRICE, "0.104");
	amount(&r, CB_COST_EXCHANGE_RATE, "0.9215");
	amount(&r, CB_COST_COST_PRICING, "2.304");
	amount(&r, CB_COST_COST_USD, "2.304");
	amount(&r, CB_COST_PAYG_COST_USD, "2.496");
	amount(&r, CB_COST_PEC_RATE, "0");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_OK(cb_store_cost_load_begin(&load, f->store, &key_files));
	for (size_t i = 0; i < n; i++) {
		size_t res = i / 30;

		snprintf(resource, sizeof(resource),
			"/subscriptions/6b96d3f2-9008-4a9d-912f-f87744185aa3/"
			"resourceGroups/rg-production-weu/providers/"
			"Microsoft.Compute/virtualMachines/vm-%zu",
			res);
		snprintf(info, sizeof(info),
			"{\"ServiceType\":\"Standard_D2s_v3\",\"VCPUs\":2,"
			"\"ImageType\":\"Windows Server BYOL\",\"VMName\":"
			"\"vm-%zu\"}",
			res);
		snprintf(tags, sizeof(tags),
			"{\"env\":\"prod\",\"costCenter\":\"cc-%zu\"}",
			res % 50);
		snprintf(qty, sizeof(qty), "%zu.%zu", 1 + i % 24, i % 1000);
		snprintf(cost, sizeof(cost), "%zu.%06zu", i % 97, i % 999983);
		text(&r, CB_COST_RESOURCE_ID, resource);
		json(&r.additional_info, info);
		json(&r.tags, tags);
		amount(&r, CB_COST_QUANTITY, qty);
		amount(&r, CB_COST_COST_BILLING, cost);
		amount(&r, CB_COST_PAYG_COST_BILLING, cost);
		r.date = day(2026, 10, 1 + (int)(i % 30));
		r.line = i + 2;
		ASSERT_OK(cb_store_cost_load_row(load, &r));
	}
	ASSERT_OK(cb_store_cost_load_commit(load, &t));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(n, t.rows);
	assert_int_equal((n + 29) / 30, t.descriptors);
	print_message("cost load: %zu rows, %llu descriptors in %.2f s: "
		      "%.0f rows/s\n",
		n, (unsigned long long)t.descriptors, secs, (double)n / secs);
	cb_cost_totals_dispose(&t);
}

static int
group_setup(void **state)
{
	(void)state;
	return cb_scratch_admin_open("test_store_costs");
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
		T(test_costs_load_stores_exact_values),
		T(test_costs_numeric_round_trip),
		T(test_costs_reload_replaces),
		T(test_costs_second_load_of_a_key_is_refused),
		T(test_costs_abort_keeps_the_previous_load),
		T(test_costs_killed_loads_are_cleaned_up),
		T(test_costs_descriptors_are_stored_once),
		T(test_costs_report_groups),
		T(test_costs_lines_belong_to_customers),
		T(test_costs_bad_input_changes_nothing),
		T(test_costs_load_survives_oom),
		T(test_costs_load_rate),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
