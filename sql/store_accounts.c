/*
 * sql/store_accounts.c - the billing accounts and profiles sync recorded,
 * for the commands that work on "every account" when the configuration
 * names none, and for ingest's fallback from an account's report to its
 * profiles' (include/chargeback/ingest.h).
 */
#include "core/common.h"
#include "chargeback/ingest.h"
#include "sql/store_internal.h"

#include <libpq-fe.h>

static const char sql_accounts[] =
	"SELECT id FROM chargeback.billing_account WHERE gone_at IS NULL"
	" ORDER BY id COLLATE \"C\"";

static const char sql_profiles[] =
	"SELECT id FROM chargeback.billing_profile"
	" WHERE billing_account_id = $1 AND gone_at IS NULL"
	" ORDER BY id COLLATE \"C\"";

/* Run a one-column query and hand each value to cb. */
static int
store_ids(cb_store *store, const char *what, const char *sql, int nparams,
	const char *const *params, int (*cb)(const char *id, void *payload),
	void *payload)
{
	PGresult *res;
	int error = 0;

	res = PQexecParams(
		store->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state =
			res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

		error = cb__error_set(CB_EDB, CB_ERRCLASS_DB,
			"database: read %s: %s", what,
			PQerrorMessage(store->conn));
		if (state)
			cb__error_set_sqlstate(state);
		PQclear(res);
		return error;
	}
	for (int r = 0; r < PQntuples(res) && error == 0; r++)
		error = cb(PQgetvalue(res, r, 0), payload);
	PQclear(res);
	return error;
}

int
cb_store_billing_accounts(cb_store *store,
	int (*cb)(const char *id, void *payload), void *payload)
{
	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(cb);
	return store_ids(
		store, "billing accounts", sql_accounts, 0, NULL, cb, payload);
}

int
cb_store_billing_profiles(cb_store *store, const char *billing_account_id,
	int (*cb)(const char *id, void *payload), void *payload)
{
	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(billing_account_id);
	CB_ASSERT_ARG(cb);
	return store_ids(store, "billing profiles", sql_profiles, 1,
		&billing_account_id, cb, payload);
}
