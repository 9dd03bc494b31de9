/*
 * sql/store_invoice.c - the partner's invoices in the store, and the sums
 * of the cost lines that carry them (include/chargeback/reconcile.h,
 * sql/migrations/006_invoice.sql).
 *
 * Amounts cross the wire as text both ways: cb_money_format() into
 * numeric, numeric's text into cb_money_parse().  The sums are numeric
 * in SQL, so the figures reconcile compares are exact.
 */
#include "core/common.h"

#include "chargeback/reconcile.h"
#include "core/calendar.h"
#include "sql/store_internal.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

static const char sql_upsert[] =
	"INSERT INTO chargeback.invoice (billing_account_id, invoice_id,"
	" billing_profile_id, billing_profile_name, invoice_date, due_date,"
	" period_start, period_end, currency, billed_amount, sub_total,"
	" tax_amount, total_amount, amount_due, credit_amount, status,"
	" document_type, fetched_at)"
	" VALUES ($1, $2, $3, $4, $5::date, $6::date, $7::date, $8::date, $9,"
	" $10::numeric, $11::numeric, $12::numeric, $13::numeric,"
	" $14::numeric, $15::numeric, $16, $17, now())"
	" ON CONFLICT (billing_account_id, invoice_id) DO UPDATE SET"
	" billing_profile_id = EXCLUDED.billing_profile_id,"
	" billing_profile_name = EXCLUDED.billing_profile_name,"
	" invoice_date = EXCLUDED.invoice_date,"
	" due_date = EXCLUDED.due_date,"
	" period_start = EXCLUDED.period_start,"
	" period_end = EXCLUDED.period_end,"
	" currency = EXCLUDED.currency,"
	" billed_amount = EXCLUDED.billed_amount,"
	" sub_total = EXCLUDED.sub_total,"
	" tax_amount = EXCLUDED.tax_amount,"
	" total_amount = EXCLUDED.total_amount,"
	" amount_due = EXCLUDED.amount_due,"
	" credit_amount = EXCLUDED.credit_amount,"
	" status = EXCLUDED.status,"
	" document_type = EXCLUDED.document_type,"
	" fetched_at = EXCLUDED.fetched_at";

/*
 * The period's invoices with their lines.  s: per invoice, load and
 * currency, the committed ActualCost lines of the period carrying an
 * invoice of the period (one pass over the month's partition).  n: per
 * invoice, how many loads carry it and the latest one, whose lines are
 * the ones summed (loads of one period overlap: an account's month and
 * an invoice's own load hold the same lines).
 */
static const char sql_lines[] =
	"WITH inv AS ("
	" SELECT * FROM chargeback.invoice"
	" WHERE period_start >= $1::date"
	"  AND period_start < ($1::date + interval '1 month')),"
	" s AS ("
	" SELECT d.invoice_id, l.load_id,"
	"  coalesce(d.billing_currency, '') AS currency, count(*) AS rows,"
	"  coalesce(sum(l.cost_in_billing_currency), 0) AS cost"
	" FROM chargeback.cost_line l"
	" JOIN chargeback.cost_descriptor d ON d.customer_id = l.customer_id"
	"  AND d.period = l.period AND d.load_id = l.load_id"
	"  AND d.descriptor_id = l.descriptor_id"
	" JOIN chargeback.cost_load k ON k.load_id = l.load_id"
	" WHERE l.period = $1::date AND d.period = $1::date"
	"  AND k.metric = 'actual' AND k.state = 'committed'"
	"  AND d.invoice_id IN (SELECT invoice_id FROM inv)"
	" GROUP BY 1, 2, 3),"
	" n AS ("
	" SELECT invoice_id, count(DISTINCT load_id) AS loads,"
	"  max(load_id) AS load_id FROM s GROUP BY invoice_id)"
	" SELECT i.billing_account_id, i.invoice_id, i.billing_profile_id,"
	"  i.billing_profile_name, to_char(i.invoice_date, 'YYYY-MM-DD'),"
	"  to_char(i.due_date, 'YYYY-MM-DD'),"
	"  to_char(i.period_start, 'YYYY-MM-DD'),"
	"  to_char(i.period_end, 'YYYY-MM-DD'), i.currency, i.status,"
	"  i.document_type, i.billed_amount, i.sub_total, i.tax_amount,"
	"  i.total_amount, i.amount_due, i.credit_amount,"
	"  coalesce(n.loads, 0), k.scope,"
	"  coalesce((SELECT sum(s.rows) FROM s WHERE s.invoice_id ="
	"   i.invoice_id AND s.load_id = n.load_id"
	"   AND s.currency = i.currency), 0),"
	"  coalesce((SELECT sum(s.cost) FROM s WHERE s.invoice_id ="
	"   i.invoice_id AND s.load_id = n.load_id"
	"   AND s.currency = i.currency), 0),"
	"  coalesce((SELECT sum(s.rows) FROM s WHERE s.invoice_id ="
	"   i.invoice_id AND s.load_id = n.load_id"
	"   AND s.currency <> i.currency), 0)"
	" FROM inv i LEFT JOIN n ON n.invoice_id = i.invoice_id"
	" LEFT JOIN chargeback.cost_load k ON k.load_id = n.load_id"
	" ORDER BY i.billing_account_id COLLATE \"C\","
	"  i.billing_profile_id COLLATE \"C\", i.invoice_id COLLATE \"C\"";

/* Columns of sql_lines. */
enum {
	COL_ACCOUNT = 0,
	COL_INVOICE,
	COL_PROFILE,
	COL_PROFILE_NAME,
	COL_INVOICE_DATE,
	COL_DUE_DATE,
	COL_PERIOD_START,
	COL_PERIOD_END,
	COL_CURRENCY,
	COL_STATUS,
	COL_DOCUMENT_TYPE,
	COL_BILLED,
	COL_SUB_TOTAL,
	COL_TAX,
	COL_TOTAL,
	COL_DUE,
	COL_CREDIT,
	COL_LOADS,
	COL_SCOPE,
	COL_ROWS,
	COL_SUM,
	COL_FOREIGN,
	COL_COUNT
};

static int
db_error(PGconn *conn, PGresult *res, const char *what)
{
	return cb__store_error(conn, res, "invoices", what);
}

static int
exec(PGconn *conn, PGresult **out, const char *what, const char *sql,
	int nparams, const char *const *params)
{
	PGresult *res =
		PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return db_error(conn, res, what);
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Writing */

static int
check_invoice(const cb_invoice *inv)
{
	if (inv->billing_account_id == NULL || !inv->billing_account_id[0] ||
		inv->invoice_id == NULL || !inv->invoice_id[0] ||
		inv->currency == NULL || inv->period_start == NULL)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"invoices: an invoice needs a billing account, an id, "
			"a currency and a period start");
	return 0;
}

static int
upsert(PGconn *conn, const cb_invoice *inv)
{
	char amounts[6][CB_MONEY_STR_MAX];
	const cb_money *m[6] = { &inv->billed_amount, &inv->sub_total,
		&inv->tax_amount, &inv->total_amount, &inv->amount_due,
		&inv->credit_amount };
	const char *params[17];
	char what[160];

	for (size_t i = 0; i < 6; i++)
		cb_money_format(amounts[i], sizeof(amounts[i]), *m[i]);
	params[0] = inv->billing_account_id;
	params[1] = inv->invoice_id;
	params[2] = inv->billing_profile_id;
	params[3] = inv->billing_profile_name;
	params[4] = inv->invoice_date;
	params[5] = inv->due_date;
	params[6] = inv->period_start;
	params[7] = inv->period_end;
	params[8] = inv->currency;
	for (size_t i = 0; i < 6; i++)
		params[9 + i] = amounts[i];
	params[15] = inv->status;
	params[16] = inv->document_type;
	snprintf(what, sizeof(what), "storing invoice %.64s of %.64s",
		inv->invoice_id, inv->billing_account_id);
	return exec(conn, NULL, what, sql_upsert, 17, params);
}

int
cb_store_invoices_write(cb_store *store, const cb_invoice *invoices, size_t n)
{
	int error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(invoices || n == 0);
	for (size_t i = 0; i < n; i++)
		if ((error = check_invoice(&invoices[i])) < 0)
			return error;
	if ((error = exec(store->conn, NULL, "begin", "BEGIN", 0, NULL)) < 0)
		return error;
	for (size_t i = 0; error == 0 && i < n; i++)
		error = upsert(store->conn, &invoices[i]);
	if (error == 0)
		error = exec(store->conn, NULL, "commit", "COMMIT", 0, NULL);
	if (error < 0)
		PQclear(PQexec(store->conn, "ROLLBACK"));
	return error;
}

/* ------------------------------------------------------------------ */
/* Reading with the lines' sums */

static char *
text_or_null(PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

static int
money_col(cb_money *out, PGresult *res, int r, int c)
{
	const char *v = PQgetvalue(res, r, c);

	return cb_money_parse(out, v, strlen(v));
}

static int
row_invoice(cb_reconcile_invoice *ri, PGresult *res, int r)
{
	cb_invoice *inv = &ri->invoice;
	int error;

	memset(ri, 0, sizeof(*ri));
	inv->billing_account_id = PQgetvalue(res, r, COL_ACCOUNT);
	inv->invoice_id = PQgetvalue(res, r, COL_INVOICE);
	inv->billing_profile_id = text_or_null(res, r, COL_PROFILE);
	inv->billing_profile_name = text_or_null(res, r, COL_PROFILE_NAME);
	inv->invoice_date = text_or_null(res, r, COL_INVOICE_DATE);
	inv->due_date = text_or_null(res, r, COL_DUE_DATE);
	inv->period_start = text_or_null(res, r, COL_PERIOD_START);
	inv->period_end = text_or_null(res, r, COL_PERIOD_END);
	inv->currency = PQgetvalue(res, r, COL_CURRENCY);
	inv->status = text_or_null(res, r, COL_STATUS);
	inv->document_type = text_or_null(res, r, COL_DOCUMENT_TYPE);
	if ((error = money_col(&inv->billed_amount, res, r, COL_BILLED)) < 0 ||
		(error = money_col(&inv->sub_total, res, r, COL_SUB_TOTAL)) <
			0 ||
		(error = money_col(&inv->tax_amount, res, r, COL_TAX)) < 0 ||
		(error = money_col(&inv->total_amount, res, r, COL_TOTAL)) <
			0 ||
		(error = money_col(&inv->amount_due, res, r, COL_DUE)) < 0 ||
		(error = money_col(&inv->credit_amount, res, r, COL_CREDIT)) <
			0 ||
		(error = money_col(&ri->lines_sum, res, r, COL_SUM)) < 0)
		return error;
	ri->loads = (uint32_t)strtoul(PQgetvalue(res, r, COL_LOADS), NULL, 10);
	ri->scope = text_or_null(res, r, COL_SCOPE);
	ri->rows = strtoull(PQgetvalue(res, r, COL_ROWS), NULL, 10);
	ri->foreign_rows = strtoull(PQgetvalue(res, r, COL_FOREIGN), NULL, 10);
	return 0;
}

int
cb_store_invoice_lines(cb_store *store, const char *period,
	int (*cb)(const cb_reconcile_invoice *inv, void *payload),
	void *payload)
{
	char first[24];
	const char *params[1] = { first };
	PGresult *res = NULL;
	int year, month, error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(cb);
	if (period == NULL || !cb__month_parse(period, &year, &month))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"invoices: period '%.16s' is not YYYY-MM",
			period ? period : "");
	snprintf(first, sizeof(first), "%04d-%02d-01", year, month);
	if ((error = exec(store->conn, &res, "reading the period's invoices",
		     sql_lines, 1, params)) < 0)
		return error;
	for (int r = 0; error == 0 && r < PQntuples(res); r++) {
		cb_reconcile_invoice ri;

		if ((error = row_invoice(&ri, res, r)) == 0)
			error = cb(&ri, payload);
	}
	PQclear(res);
	return error;
}
