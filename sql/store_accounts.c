/*
 * sql/store_accounts.c - the billing accounts sync recorded, for the
 * commands that work on "every account" when the configuration names none
 * (cb_store_billing_accounts, include/chargeback/ingest.h).
 */
#include "core/common.h"
#include "chargeback/ingest.h"
#include "sql/store_internal.h"

#include <libpq-fe.h>

static const char sql_accounts[] =
	"SELECT id FROM chargeback.billing_account WHERE gone_at IS NULL"
	" ORDER BY id COLLATE \"C\"";

int
cb_store_billing_accounts(cb_store *store,
	int (*cb)(const char *id, void *payload), void *payload)
{
	PGresult *res;
	int error = 0;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(cb);
	res = PQexec(store->conn, sql_accounts);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state =
			res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

		error = cb__error_set(CB_EDB, CB_ERRCLASS_DB,
			"database: read billing accounts: %s",
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
