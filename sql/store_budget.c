/*
 * sql/store_budget.c - the store's part of `chargeback budget`: the
 * customers budgets are planned for, and the record of every change ARM
 * confirmed (chargeback.budget_change, sql/migrations/004_budget.sql).
 */
#include "core/common.h"
#include "sql/store_internal.h"
#include "chargeback/budget.h"

#include <string.h>

#include <libpq-fe.h>

static const char sql_customers[] =
	"SELECT billing_account_id, customer_id,"
	" coalesce(display_name, ''), coalesce(reseller_id, '')"
	" FROM chargeback.customer WHERE gone_at IS NULL"
	" ORDER BY billing_account_id, customer_id";

static const char sql_record[] =
	"INSERT INTO chargeback.budget_change (billing_account_id,"
	" customer_id, budget_name, action, old_amount, new_amount, etag,"
	" config_hash) VALUES ($1, $2, $3, $4, $5::numeric, $6::numeric, $7,"
	" $8)";

static const char *const action_names[] = { "unchanged", "create", "update",
	"delete" };

/* The server's first line and SQLSTATE, as the other store files do. */
static int
budget_db_error(cb_store *store, const PGresult *res, const char *what)
{
	const char *msg = res ? PQresultErrorMessage(res) : "";
	const char *state =
		res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	size_t n;

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(store->conn);
	n = strcspn(msg, "\n");
	while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '\r'))
		n--;
	cb__error_set(CB_EDB, CB_ERRCLASS_DB, "database: %s: %.*s", what,
		(int)n, msg);
	if (state != NULL)
		cb__error_set_sqlstate(state);
	return CB_EDB;
}

int
cb_store_budget_customers(
	cb_store *store, cb_budget_customer_cb cb, void *payload)
{
	PGresult *res;
	int rc = 0;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(cb);
	res = PQexecParams(
		store->conn, sql_customers, 0, NULL, NULL, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = budget_db_error(store, res, "reading customers");
		PQclear(res);
		return rc;
	}
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		cb_budget_customer c = {
			.billing_account_id = PQgetvalue(res, i, 0),
			.customer_id = PQgetvalue(res, i, 1),
			.display_name = PQgetvalue(res, i, 2),
			.reseller_id = PQgetvalue(res, i, 3),
		};

		rc = cb(&c, payload);
	}
	PQclear(res);
	return rc;
}

int
cb_store_budget_record(cb_store *store, const cb_budget_change *change)
{
	const char *params[8];

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(change);
	CB_ASSERT_ARG(change->action >= CB_BUDGET_CREATE &&
		      change->action <= CB_BUDGET_DELETE);
	params[0] = change->billing_account_id;
	params[1] = change->customer_id;
	params[2] = change->budget_name;
	params[3] = action_names[change->action];
	params[4] = change->old_amount;
	params[5] = change->new_amount;
	params[6] = change->etag;
	params[7] = change->config_hash;
	return cb__store_exec(store, NULL, "recording a budget change",
		sql_record, 8, params);
}
