/*
 * sql/store_statement.c - reads a period's committed rating run for the
 * statements (include/chargeback/statement.h, allocation/statement.c).
 *
 * Amounts arrive as numeric's text into cb_money_parse(): nothing is
 * rounded here.
 */
#include "core/common.h"

#include "chargeback/statement.h"
#include "core/alloc.h"
#include "core/calendar.h"
#include "sql/store_internal.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

/* The month's open until the 8th day after its end (statement.h). */
static const char sql_run[] =
	"SELECT run_id, rules_hash,"
	" now() < period + interval '1 month' + interval '8 days'"
	" FROM chargeback.rating_run WHERE period = $1::date"
	" AND metric = 'actual' AND state = 'committed'";

static const char sql_lines[] =
	"SELECT l.billing_account_id, l.customer_id, c.display_name,"
	" l.billing_currency, l.subscription_id, l.service_family,"
	" l.meter_category, l.meter_id, l.meter_name, l.charge_type,"
	" l.date - date '1970-01-01', l.quantity, l.billed"
	" FROM chargeback.charge_line l"
	" LEFT JOIN chargeback.customer c"
	"  ON c.billing_account_id = l.billing_account_id"
	"  AND c.customer_id = l.customer_id"
	" WHERE l.period = $1::date AND l.run_id = $2::bigint"
	"  AND l.customer_id <> '' AND ($3::text IS NULL OR l.customer_id = $3)"
	" ORDER BY l.customer_id COLLATE \"C\","
	"  l.billing_currency COLLATE \"C\", l.line_no";

enum {
	S_ACCOUNT,
	S_CUSTOMER,
	S_NAME,
	S_CURRENCY,
	S_SUBSCRIPTION,
	S_FAMILY,
	S_CATEGORY,
	S_METER_ID,
	S_METER_NAME,
	S_CHARGE_TYPE,
	S_DATE,
	S_QUANTITY,
	S_BILLED,
	S_COUNT
};

static int
db_error(PGconn *conn, PGresult *res, const char *what)
{
	return cb__store_error(conn, res, "statement", what);
}

static const char *
opt(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int
num(cb_money *out, const PGresult *res, int row, int col)
{
	const char *s = PQgetvalue(res, row, col);
	int error = cb_money_parse(out, s, strlen(s));

	if (error < 0)
		return cb__error_set(error, CB_ERRCLASS_DB,
			"statement: a charge line's amount: %s",
			cb_error_last()->message);
	return 0;
}

/* Rows [first, end) of one customer and currency. */
static int
emit(const PGresult *res, int first, int end, const char *hash,
	bool provisional, cb_statement_line *lines, cb_statement_group_cb cb,
	void *payload)
{
	cb_statement_head head;
	int error;

	for (int i = first; i < end; i++) {
		cb_statement_line *l = &lines[i - first];

		memset(l, 0, sizeof(*l));
		l->subscription_id = opt(res, i, S_SUBSCRIPTION);
		l->service_family = opt(res, i, S_FAMILY);
		l->meter_category = opt(res, i, S_CATEGORY);
		l->meter_id = opt(res, i, S_METER_ID);
		l->meter_name = opt(res, i, S_METER_NAME);
		l->charge_type = opt(res, i, S_CHARGE_TYPE);
		l->has_date = !PQgetisnull(res, i, S_DATE);
		if (l->has_date)
			l->date = (int32_t)strtol(
				PQgetvalue(res, i, S_DATE), NULL, 10);
		if ((error = num(&l->quantity, res, i, S_QUANTITY)) < 0 ||
			(error = num(&l->billed, res, i, S_BILLED)) < 0)
			return error;
	}
	head.billing_account_id = PQgetvalue(res, first, S_ACCOUNT);
	head.customer_id = PQgetvalue(res, first, S_CUSTOMER);
	head.customer_name = opt(res, first, S_NAME);
	head.currency = PQgetvalue(res, first, S_CURRENCY);
	head.rules_hash = hash;
	head.provisional = provisional;
	return cb(&head, lines, (size_t)(end - first), payload);
}

int
cb_store_statement_groups(cb_store *store, const char *period,
	const char *customer, cb_statement_group_cb cb, void *payload)
{
	PGresult *run = NULL, *res = NULL;
	cb_statement_line *lines = NULL;
	char day[11], hash[72];
	const char *params[3];
	bool provisional;
	int y, m, n, error = 0;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(cb);
	if (period == NULL || !cb__month_parse(period, &y, &m))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"statement: period '%.16s' is not YYYY-MM",
			period ? period : "");
	snprintf(day, sizeof(day), "%04d-%02d-01", y, m);
	params[0] = day;
	run = PQexecParams(
		store->conn, sql_run, 1, NULL, params, NULL, NULL, 0);
	if (run == NULL || PQresultStatus(run) != PGRES_TUPLES_OK)
		return db_error(store->conn, run, "reading the rating run");
	if (PQntuples(run) != 1) {
		PQclear(run);
		return cb__error_set(CB_ENOTFOUND, CB_ERRCLASS_INVALID,
			"statement: %s has no committed rating run (run "
			"'chargeback rate --period %s' first)",
			period, period);
	}
	snprintf(hash, sizeof(hash), "%s", PQgetvalue(run, 0, 1));
	provisional = PQgetvalue(run, 0, 2)[0] == 't';
	params[1] = PQgetvalue(run, 0, 0);
	params[2] = customer;
	res = PQexecParams(
		store->conn, sql_lines, 3, NULL, params, NULL, NULL, 0);
	PQclear(run);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		return db_error(store->conn, res, "reading the charge lines");
	n = PQntuples(res);
	if (PQnfields(res) != S_COUNT) {
		PQclear(res);
		return cb__error_set(CB_EDB, CB_ERRCLASS_DB,
			"statement: reading the charge lines: unexpected "
			"columns");
	}
	if (n == 0 && customer) {
		PQclear(res);
		return cb__error_set(CB_ENOTFOUND, CB_ERRCLASS_INVALID,
			"statement: customer '%.128s' has no charge lines in "
			"the %s rating run",
			customer, period);
	}
	if (n > 0 && (lines = cb__calloc((size_t)n, sizeof(*lines))) == NULL) {
		PQclear(res);
		return CB_ENOMEM;
	}
	for (int first = 0, i = 1; first < n && error == 0; i++) {
		if (i < n &&
			strcmp(PQgetvalue(res, i, S_CUSTOMER),
				PQgetvalue(res, first, S_CUSTOMER)) == 0 &&
			strcmp(PQgetvalue(res, i, S_CURRENCY),
				PQgetvalue(res, first, S_CURRENCY)) == 0)
			continue;
		error = emit(
			res, first, i, hash, provisional, lines, cb, payload);
		first = i;
	}
	cb__free(lines);
	PQclear(res);
	return error;
}
