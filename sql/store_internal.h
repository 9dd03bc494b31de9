/*
 * sql/store_internal.h - what the sql/store*.c files share.
 *
 * Only sql/store*.c may include <libpq-fe.h> (STYLE.md 6.1), so the
 * connection is declared through libpq's struct tag: callers elsewhere in
 * the library (and tests) see an opaque pointer and use the helpers below.
 */
#ifndef CB_SQL_STORE_INTERNAL_H
#define CB_SQL_STORE_INTERNAL_H

#include "chargeback/store.h"
#include "chargeback/buf.h"

struct pg_conn;   /* libpq's PGconn */
struct pg_result; /* libpq's PGresult */

struct cb_store {
	struct pg_conn *conn; /* owned; open for the store's lifetime */
};

/*
 * Run one statement with text parameters $1..$nparams (PQexecParams; no
 * SQL is ever built from data).  If out is not NULL it receives the first
 * column of the first row as text ("" when there is no row or it is NULL).
 * what names the operation in an error message ("database: <what>: ...").
 * Returns 0, or CB_EDB with the server's message and SQLSTATE.
 */
int cb__store_exec(cb_store *store, cb_buf *out, const char *what,
	const char *sql, int nparams, const char *const *params);

/*
 * Record the error of a failed statement as CB_EDB: "database: <area>:
 * <what>: <the server's first line>", with its SQLSTATE; res may be NULL
 * (the connection's message is used) and is cleared.  Returns CB_EDB.
 */
int cb__store_error(struct pg_conn *conn, struct pg_result *res,
	const char *area, const char *what);

/* The first line of in, without trailing blanks, cut to outlen - 1
 * bytes: libpq ends messages with a newline and adds hint lines we do
 * not want.  in NULL reads as "". */
void cb__store_first_line(char *out, size_t outlen, const char *in);

#endif
