/*
 * sql/store_policy.c - the store side of customer policies: the customers
 * a policy run works on, and the record of every change it made
 * (sql/migrations/003_policy.sql).
 *
 * A change is recorded by one statement (a data-modifying CTE inserting
 * the history row and upserting the customer's current value), so it is
 * one transaction: recorded whole or not at all.
 */
#include "core/common.h"
#include "chargeback/policy.h"
#include "sql/store_internal.h"
#include "core/buf.h"

#include <stdio.h>

#include <libpq-fe.h>

static const char sql_customers[] =
	"SELECT c.billing_account_id, c.customer_id,"
	" coalesce(c.display_name, ''), c.reseller_id, c.reseller_name,"
	" p.view_charges,"
	" to_char(p.observed_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	" FROM chargeback.customer c"
	" LEFT JOIN chargeback.customer_policy p"
	" USING (billing_account_id, customer_id)"
	" WHERE c.gone_at IS NULL"
	" AND ($1::text[] IS NULL OR c.billing_account_id = ANY ($1::text[]))"
	" ORDER BY c.billing_account_id COLLATE \"C\","
	" coalesce(c.display_name, '') COLLATE \"C\","
	" c.customer_id COLLATE \"C\"";

enum { COL_BA, COL_ID, COL_NAME, COL_RID, COL_RNAME, COL_VC, COL_AT };

static const char sql_record[] =
	"WITH h AS (INSERT INTO chargeback.policy_change"
	" (billing_account_id, customer_id, old_view_charges,"
	" new_view_charges, config_hash, source, request_id)"
	" VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''))"
	" RETURNING billing_account_id, customer_id, new_view_charges,"
	" changed_at)"
	" INSERT INTO chargeback.customer_policy"
	" (billing_account_id, customer_id, view_charges, observed_at,"
	" first_seen, last_seen)"
	" SELECT billing_account_id, customer_id, new_view_charges, changed_at,"
	" changed_at, changed_at"
	" FROM h ON CONFLICT (billing_account_id, customer_id) DO UPDATE"
	" SET view_charges = EXCLUDED.view_charges,"
	" observed_at = EXCLUDED.observed_at,"
	" last_seen = greatest(customer_policy.last_seen, EXCLUDED.last_seen),"
	" gone_at = NULL";

static const char sql_confirm[] =
	"INSERT INTO chargeback.customer_policy"
	" (billing_account_id, customer_id, view_charges)"
	" VALUES ($1, $2, $3)"
	" ON CONFLICT (billing_account_id, customer_id) DO UPDATE"
	" SET view_charges = EXCLUDED.view_charges, observed_at = now(),"
	" last_seen = greatest(customer_policy.last_seen, now()),"
	" gone_at = NULL";

/* The configuration's billing accounts as a text[] literal, or NULL for
 * all.  Names are [A-Za-z0-9:_-] (config.c checks), so quoting each is
 * enough. */
static int
store_account_array(cb_buf *out, const cb_config *cfg, bool *any)
{
	size_t n = cfg ? cb_config_billing_account_count(cfg) : 0;
	int error = 0;

	*any = n > 0;
	if (n == 0)
		return 0;
	error = cb__buf_puts(out, "{");
	for (size_t i = 0; i < n && error == 0; i++)
		error = cb__buf_printf(out, "%s\"%s\"", i ? "," : "",
			cb_config_billing_account(cfg, i));
	if (error == 0)
		error = cb__buf_puts(out, "}");
	return error;
}

static int
store_policy_value(const char *text)
{
	if (text == NULL)
		return CB_VIEW_CHARGES_NONE;
	return strcmp(text, "Allowed") == 0 ? CB_VIEW_CHARGES_ALLOWED
					    : CB_VIEW_CHARGES_NOTALLOWED;
}

static const char *
store_nullable(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

int
cb_store_customer_foreach(cb_store *store, const cb_config *cfg,
	cb_store_customer_cb cb, void *payload)
{
	cb_buf accounts = CB_BUF_INIT;
	PGresult *res = NULL;
	const char *params[1];
	bool any;
	int error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(cb);
	if ((error = store_account_array(&accounts, cfg, &any)) < 0)
		goto done;
	params[0] = any ? accounts.ptr : NULL;
	res = PQexecParams(
		store->conn, sql_customers, 1, NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state =
			res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		const char *msg =
			res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			    : NULL;

		error = cb__error_set(CB_EDB, CB_ERRCLASS_DB,
			"database: read customers: %s",
			msg ? msg : PQerrorMessage(store->conn));
		if (state)
			cb__error_set_sqlstate(state);
		goto done;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		cb_store_customer c = {
			.billing_account_id = PQgetvalue(res, r, COL_BA),
			.customer_id = PQgetvalue(res, r, COL_ID),
			.display_name = PQgetvalue(res, r, COL_NAME),
			.reseller_id = store_nullable(res, r, COL_RID),
			.reseller_name = store_nullable(res, r, COL_RNAME),
			.view_charges = store_policy_value(
				store_nullable(res, r, COL_VC)),
			.observed_at = store_nullable(res, r, COL_AT),
		};

		if ((error = cb(&c, payload)) != 0)
			goto done;
	}
	error = 0;
done:
	PQclear(res);
	cb_buf_dispose(&accounts);
	return error;
}

int
cb_store_policy_record(cb_store *store, const cb_policy_change *change)
{
	const char *params[7];

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(change);
	CB_ASSERT_ARG(change->billing_account_id && change->customer_id);
	CB_ASSERT_ARG(change->old_value && change->config_hash);
	CB_ASSERT_ARG(change->source);
	CB_ASSERT_ARG(change->new_value == CB_VIEW_CHARGES_ALLOWED ||
		      change->new_value == CB_VIEW_CHARGES_NOTALLOWED);
	params[0] = change->billing_account_id;
	params[1] = change->customer_id;
	params[2] = change->old_value;
	params[3] = cb_view_charges_name(change->new_value);
	params[4] = change->config_hash;
	params[5] = change->source;
	params[6] = change->request_id ? change->request_id : "";
	return cb__store_exec(
		store, NULL, "record policy change", sql_record, 7, params);
}

int
cb_store_policy_confirm(cb_store *store, const char *billing_account_id,
	const char *customer_id, int view_charges)
{
	const char *params[3];

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(billing_account_id && customer_id);
	CB_ASSERT_ARG(view_charges == CB_VIEW_CHARGES_ALLOWED ||
		      view_charges == CB_VIEW_CHARGES_NOTALLOWED);
	params[0] = billing_account_id;
	params[1] = customer_id;
	params[2] = cb_view_charges_name(view_charges);
	return cb__store_exec(
		store, NULL, "confirm policy", sql_confirm, 3, params);
}
