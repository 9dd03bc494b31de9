/*
 * sql/store_rate.c - the rating engine's reads and writes
 * (include/chargeback/rate.h, sql/migrations/007_rating.sql).
 *
 * Amounts cross the wire as text both ways: numeric's text into
 * cb_money_parse(), cb_money_format() into COPY.  Groups are summed in
 * numeric, so nothing is rounded on the way.
 */
#include "core/common.h"

#include "chargeback/rate.h"
#include "core/buf.h"
#include "core/calendar.h"
#include "sql/store_internal.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * The period's committed ActualCost lines at the statement grain.  The
 * customer's name and tenant id are not part of the grain (customer_id
 * stands for both; a name may be spelt differently from line to line):
 * the smallest value is used for the rules.
 */
static const char sql_groups[] =
	"SELECT l.billing_account_id, l.customer_id, min(d.customer_name),"
	" min(d.customer_tenant_id),"
	" d.subscription_id, d.service_family, d.meter_category, d.meter_id,"
	" d.meter_name, d.charge_type, d.publisher_type, d.pricing_model,"
	" d.reseller_name, d.reseller_mpn_id,"
	" coalesce(d.billing_currency, ''), l.date - date '1970-01-01',"
	" count(*), count(*) - count(l.payg_cost_in_billing_currency),"
	" coalesce(sum(l.quantity), 0),"
	" coalesce(sum(l.cost_in_billing_currency), 0),"
	" coalesce(sum(l.payg_cost_in_billing_currency), 0)"
	" FROM chargeback.cost_line l"
	" JOIN chargeback.cost_descriptor d ON d.customer_id = l.customer_id"
	"  AND d.period = l.period AND d.load_id = l.load_id"
	"  AND d.descriptor_id = l.descriptor_id"
	" JOIN chargeback.cost_load k ON k.load_id = l.load_id"
	" WHERE l.period = $1::date AND d.period = $1::date"
	"  AND k.metric = 'actual' AND k.state = 'committed'"
	" GROUP BY l.billing_account_id, l.customer_id, d.subscription_id,"
	"  d.service_family, d.meter_category, d.meter_id, d.meter_name,"
	"  d.charge_type, d.publisher_type, d.pricing_model, d.reseller_name,"
	"  d.reseller_mpn_id, coalesce(d.billing_currency, ''), l.date"
	" ORDER BY l.customer_id COLLATE \"C\","
	"  l.billing_account_id COLLATE \"C\","
	"  d.subscription_id COLLATE \"C\" NULLS FIRST,"
	"  d.service_family COLLATE \"C\" NULLS FIRST,"
	"  d.meter_category COLLATE \"C\" NULLS FIRST,"
	"  d.meter_id COLLATE \"C\" NULLS FIRST,"
	"  d.meter_name COLLATE \"C\" NULLS FIRST,"
	"  d.charge_type COLLATE \"C\" NULLS FIRST,"
	"  d.publisher_type COLLATE \"C\" NULLS FIRST,"
	"  d.pricing_model COLLATE \"C\" NULLS FIRST,"
	"  d.reseller_name COLLATE \"C\" NULLS FIRST,"
	"  d.reseller_mpn_id COLLATE \"C\" NULLS FIRST,"
	"  coalesce(d.billing_currency, '') COLLATE \"C\", l.date";

enum {
	G_ACCOUNT = 0,
	G_CUSTOMER,
	G_CUSTOMER_NAME,
	G_TENANT,
	G_SUBSCRIPTION,
	G_FAMILY,
	G_CATEGORY,
	G_METER_ID,
	G_METER_NAME,
	G_CHARGE_TYPE,
	G_PUBLISHER_TYPE,
	G_PRICING_MODEL,
	G_RESELLER,
	G_RESELLER_MPN,
	G_CURRENCY,
	G_DATE,
	G_ROWS,
	G_RETAIL_MISSING,
	G_QUANTITY,
	G_COST,
	G_RETAIL,
	G_COUNT
};

static const char sql_begin_run[] =
	"INSERT INTO chargeback.rating_run (period, metric, rules_hash)"
	" VALUES ($1::date, 'actual', $2) RETURNING run_id";

static const char sql_copy[] =
	"COPY chargeback.charge_line (billing_account_id, customer_id,"
	" period, run_id, line_no, subscription_id, service_family,"
	" meter_category, meter_id, meter_name, charge_type, publisher_type,"
	" pricing_model, reseller_name, date, billing_currency, quantity,"
	" cost, retail, base, markup, billed, rule_name, allocation_rule,"
	" source_customer_id, rules_hash)"
	" FROM STDIN";

/* Commits of one period take turns: a second waits for the first and
 * then replaces its lines (never two runs' lines at once). */
static const char sql_lock[] =
	"SELECT pg_advisory_xact_lock(hashtext('chargeback.rate ' || $1))";

static const char sql_delete_old[] =
	"DELETE FROM chargeback.charge_line WHERE period = $1::date"
	" AND run_id <> $2::bigint";

static const char sql_supersede[] =
	"UPDATE chargeback.rating_run SET state = 'superseded'"
	" WHERE period = $1::date AND metric = 'actual'"
	" AND state = 'committed' AND run_id <> $2::bigint";

static const char sql_commit_run[] =
	"UPDATE chargeback.rating_run SET state = 'committed', lines = $2,"
	" finished_at = clock_timestamp() WHERE run_id = $1::bigint";

static const char sql_fail_run[] =
	"UPDATE chargeback.rating_run SET state = 'failed'"
	" WHERE run_id = $1::bigint AND state = 'running'";

/*
 * The invariants again, in numeric, on what was written (background
 * A.5): per currency, the run's lines cost what the stored ActualCost
 * lines cost, and billed - markup = cost.  Counts the currencies that
 * fail.
 */
static const char sql_check[] =
	"WITH c AS (SELECT billing_currency AS cur, sum(cost) AS cost,"
	"  sum(billed) - sum(markup) AS net"
	"  FROM chargeback.charge_line WHERE period = $1::date"
	"  AND run_id = $2::bigint GROUP BY 1),"
	" s AS (SELECT coalesce(d.billing_currency, '') AS cur,"
	"  coalesce(sum(l.cost_in_billing_currency), 0) AS cost"
	"  FROM chargeback.cost_line l"
	"  JOIN chargeback.cost_descriptor d ON d.customer_id = l.customer_id"
	"   AND d.period = l.period AND d.load_id = l.load_id"
	"   AND d.descriptor_id = l.descriptor_id"
	"  JOIN chargeback.cost_load k ON k.load_id = l.load_id"
	"  WHERE l.period = $1::date AND d.period = $1::date"
	"   AND k.metric = 'actual' AND k.state = 'committed' GROUP BY 1)"
	" SELECT count(*) FROM c FULL JOIN s USING (cur)"
	" WHERE c.cost IS DISTINCT FROM s.cost OR c.net IS DISTINCT FROM c.cost";

/* COPY data is sent in chunks of about this size (a round of the
 * socket's buffer; the line being added may pass it). */
#define RATE_COPY_CHUNK ((size_t)1 << 16)

static int
db_error(PGconn *conn, PGresult *res, const char *what)
{
	return cb__store_error(conn, res, "rating", what);
}

/* "YYYY-MM" -> "YYYY-MM-01" in out[11]. */
static int
period_day(char out[11], const char *period)
{
	int y, m;

	if (period == NULL || !cb__month_parse(period, &y, &m))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"rating: period '%.16s' is not YYYY-MM",
			period ? period : "");
	snprintf(out, 11, "%04d-%02d-01", y, m);
	return 0;
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
			"rating: a sum of the stored lines: %s",
			cb_error_last()->message);
	return 0;
}

int
cb_store_rate_groups(cb_store *store, const char *period, cb_charge_group_cb cb,
	void *payload)
{
	PGresult *res = NULL;
	char day[11];
	const char *params[1] = { day };
	int error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(cb);
	if ((error = period_day(day, period)) < 0)
		return error;
	res = PQexecParams(
		store->conn, sql_groups, 1, NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		return db_error(store->conn, res, "reading the period's lines");
	if (PQnfields(res) != G_COUNT) {
		PQclear(res);
		return cb__error_set(CB_EDB, CB_ERRCLASS_DB,
			"rating: reading the period's lines: unexpected "
			"columns");
	}
	error = 0;
	for (int i = 0, n = PQntuples(res); i < n && error == 0; i++) {
		cb_charge_group g;

		memset(&g, 0, sizeof(g));
		g.billing_account_id = PQgetvalue(res, i, G_ACCOUNT);
		g.customer_id = PQgetvalue(res, i, G_CUSTOMER);
		g.customer_name = opt(res, i, G_CUSTOMER_NAME);
		g.customer_tenant_id = opt(res, i, G_TENANT);
		g.subscription_id = opt(res, i, G_SUBSCRIPTION);
		g.service_family = opt(res, i, G_FAMILY);
		g.meter_category = opt(res, i, G_CATEGORY);
		g.meter_id = opt(res, i, G_METER_ID);
		g.meter_name = opt(res, i, G_METER_NAME);
		g.charge_type = opt(res, i, G_CHARGE_TYPE);
		g.publisher_type = opt(res, i, G_PUBLISHER_TYPE);
		g.pricing_model = opt(res, i, G_PRICING_MODEL);
		g.reseller_name = opt(res, i, G_RESELLER);
		g.reseller_mpn_id = opt(res, i, G_RESELLER_MPN);
		g.billing_currency = PQgetvalue(res, i, G_CURRENCY);
		g.has_date = true;
		g.date = (int32_t)strtol(PQgetvalue(res, i, G_DATE), NULL, 10);
		g.rows = strtoull(PQgetvalue(res, i, G_ROWS), NULL, 10);
		g.retail_missing = strtoull(
			PQgetvalue(res, i, G_RETAIL_MISSING), NULL, 10);
		if ((error = num(&g.quantity, res, i, G_QUANTITY)) < 0 ||
			(error = num(&g.cost, res, i, G_COST)) < 0 ||
			(error = num(&g.retail, res, i, G_RETAIL)) < 0)
			break;
		error = cb(&g, payload);
	}
	PQclear(res);
	return error;
}

int
cb_store_rate_begin(
	cb_store *store, const cb_rate_run_key *key, int64_t *run_id)
{
	PGresult *res;
	char day[11];
	const char *params[2];
	int error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(key);
	CB_ASSERT_ARG(key->rules_hash);
	CB_ASSERT_ARG(run_id);
	if ((error = period_day(day, key->period)) < 0)
		return error;
	params[0] = day;
	params[1] = key->rules_hash;
	/* No allocation of ours after the row is inserted: a run recorded
	 * is a run the caller knows of (and marks failed if need be). */
	res = PQexecParams(
		store->conn, sql_begin_run, 2, NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
		PQntuples(res) != 1)
		return db_error(store->conn, res, "recording the run");
	*run_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

void
cb_store_rate_fail(cb_store *store, int64_t run_id)
{
	char id[24];
	const char *params[1] = { id };
	PGresult *res;

	if (store == NULL)
		return;
	snprintf(id, sizeof(id), "%lld", (long long)run_id);
	/* Best effort: the error that made the run fail is the one to
	 * report, so this one's outcome is not recorded. */
	res = PQexecParams(
		store->conn, sql_fail_run, 1, NULL, params, NULL, NULL, 0);
	PQclear(res);
}

/* One COPY text field: \N for NULL, else the text with backslash, tab,
 * newline and carriage return escaped. */
static int
copy_text(cb_buf *b, const char *s, char sep)
{
	int error = 0;

	if (s == NULL)
		error = cb__buf_put(b, "\\N", 2);
	for (; s && *s && error == 0; s++) {
		switch (*s) {
		case '\\':
			error = cb__buf_put(b, "\\\\", 2);
			break;
		case '\t':
			error = cb__buf_put(b, "\\t", 2);
			break;
		case '\n':
			error = cb__buf_put(b, "\\n", 2);
			break;
		case '\r':
			error = cb__buf_put(b, "\\r", 2);
			break;
		default:
			error = cb__buf_putc(b, *s);
		}
	}
	return error ? error : cb__buf_putc(b, sep);
}

static int
copy_money(cb_buf *b, cb_money v, char sep)
{
	char s[CB_MONEY_STR_MAX];

	cb_money_format(s, sizeof(s), v);
	return copy_text(b, s, sep);
}

static int
copy_line(cb_buf *b, const char *day, const char *run, uint64_t no,
	const cb_charge_group *l, const char *hash)
{
	char num_text[24], date[CB_DAY_TEXT_MAX];
	int error;

	snprintf(num_text, sizeof(num_text), "%llu", (unsigned long long)no);
	if (l->has_date)
		cb__day_text(date, l->date);
	if ((error = copy_text(b, l->billing_account_id, '\t')) < 0 ||
		(error = copy_text(b, l->customer_id, '\t')) < 0 ||
		(error = copy_text(b, day, '\t')) < 0 ||
		(error = copy_text(b, run, '\t')) < 0 ||
		(error = copy_text(b, num_text, '\t')) < 0 ||
		(error = copy_text(b, l->subscription_id, '\t')) < 0 ||
		(error = copy_text(b, l->service_family, '\t')) < 0 ||
		(error = copy_text(b, l->meter_category, '\t')) < 0 ||
		(error = copy_text(b, l->meter_id, '\t')) < 0 ||
		(error = copy_text(b, l->meter_name, '\t')) < 0 ||
		(error = copy_text(b, l->charge_type, '\t')) < 0 ||
		(error = copy_text(b, l->publisher_type, '\t')) < 0 ||
		(error = copy_text(b, l->pricing_model, '\t')) < 0 ||
		(error = copy_text(b, l->reseller_name, '\t')) < 0 ||
		(error = copy_text(b, l->has_date ? date : NULL, '\t')) < 0 ||
		(error = copy_text(b, l->billing_currency, '\t')) < 0 ||
		(error = copy_money(b, l->quantity, '\t')) < 0 ||
		(error = copy_money(b, l->cost, '\t')) < 0)
		return error;
	if (l->retail_missing == l->rows)
		error = copy_text(b, NULL, '\t');
	else
		error = copy_money(b, l->retail, '\t');
	if (error < 0 || (error = copy_money(b, l->base, '\t')) < 0 ||
		(error = copy_money(b, l->markup, '\t')) < 0 ||
		(error = copy_money(b, l->billed, '\t')) < 0 ||
		(error = copy_text(b, l->rule_name, '\t')) < 0 ||
		(error = copy_text(b, l->allocation_rule, '\t')) < 0 ||
		(error = copy_text(b, l->source_customer_id, '\t')) < 0 ||
		(error = copy_text(b, hash, '\n')) < 0)
		return error;
	return 0;
}

static int
copy_send(PGconn *conn, cb_buf *b)
{
	if (b->size == 0)
		return 0;
	if (PQputCopyData(conn, b->ptr, (int)b->size) != 1)
		return db_error(conn, NULL, "sending charge lines");
	cb__buf_clear(b);
	return 0;
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

int
cb_store_rate_commit(cb_store *store, const cb_rate_run_key *key,
	int64_t run_id, const cb_charge_group *lines, size_t n)
{
	PGconn *conn;
	PGresult *res = NULL;
	cb_buf b = CB_BUF_INIT;
	char day[11], run[24], count[24];
	const char *params[2];
	bool in_txn = false, in_copy = false;
	int error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(key);
	CB_ASSERT_ARG(key->rules_hash);
	CB_ASSERT_ARG(lines || n == 0);
	if ((error = period_day(day, key->period)) < 0)
		return error;
	conn = store->conn;
	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	snprintf(count, sizeof(count), "%zu", n);
	if ((error = exec(conn, NULL, "begin", "BEGIN", 0, NULL)) < 0)
		goto done;
	in_txn = true;
	params[0] = day;
	if ((error = exec(conn, NULL,
		     "waiting for another rating of the "
		     "period",
		     sql_lock, 1, params)) < 0)
		goto done;
	res = PQexec(conn, sql_copy);
	if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
		error = db_error(conn, res, "starting to copy charge lines");
		res = NULL;
		goto done;
	}
	PQclear(res);
	res = NULL;
	in_copy = true;
	for (size_t i = 0; i < n; i++) {
		if ((error = copy_line(&b, day, run, i + 1, &lines[i],
			     key->rules_hash)) < 0)
			goto done;
		if (b.size >= RATE_COPY_CHUNK &&
			(error = copy_send(conn, &b)) < 0)
			goto done;
	}
	if ((error = copy_send(conn, &b)) < 0)
		goto done;
	in_copy = false;
	if (PQputCopyEnd(conn, NULL) != 1) {
		error = db_error(conn, NULL, "ending the copy");
		goto done;
	}
	res = PQgetResult(conn);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		error = db_error(conn, res, "copying charge lines");
		res = NULL;
		goto done;
	}
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	params[0] = day;
	params[1] = run;
	if ((error = exec(conn, &res, "checking the invariants", sql_check, 2,
		     params)) < 0)
		goto done;
	if (strcmp(PQgetvalue(res, 0, 0), "0") != 0) {
		error = cb__error_set(CB_EUNBALANCED, CB_ERRCLASS_DB,
			"rating %s: the written charge lines do not add up "
			"to the stored cost in %s currenc%s",
			key->period, PQgetvalue(res, 0, 0),
			strcmp(PQgetvalue(res, 0, 0), "1") == 0 ? "y" : "ies");
		goto done;
	}
	PQclear(res);
	res = NULL;
	if ((error = exec(conn, NULL, "deleting the previous run's lines",
		     sql_delete_old, 2, params)) < 0 ||
		(error = exec(conn, NULL, "superseding the previous run",
			 sql_supersede, 2, params)) < 0)
		goto done;
	params[0] = run;
	params[1] = count;
	if ((error = exec(conn, NULL, "committing the run", sql_commit_run, 2,
		     params)) < 0 ||
		(error = exec(conn, NULL, "commit", "COMMIT", 0, NULL)) < 0)
		goto done;
	in_txn = false;
done:
	PQclear(res);
	if (in_copy) {
		PQputCopyEnd(conn, "rating aborted");
		while ((res = PQgetResult(conn)) != NULL)
			PQclear(res);
	}
	if (in_txn)
		PQclear(PQexec(conn, "ROLLBACK"));
	cb_buf_dispose(&b);
	return error;
}
