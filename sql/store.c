/*
 * sql/store.c - the connection to PostgreSQL and the schema migrations.
 *
 * The one thing to know: the schema only ever moves forward, one embedded
 * migration per transaction, and the database's recorded history must be
 * a prefix of this binary's list (same versions, same names, same SHA-256).
 * Anything else -- a newer database, an edited migration, a gap -- stops
 * before a single statement is run, because guessing at someone else's
 * schema is how billing data gets damaged.
 *
 * Every statement goes through PQexecParams with constant SQL, except the
 * migration bodies: they are constant text compiled into the library
 * (sql/store_migrations.h) with several statements each, which only the
 * simple-query PQexec accepts.  libpq's notices would go to stderr by
 * default; they are routed to the log instead, since the library never
 * prints.
 */
#include "core/common.h"
#include "sql/store_internal.h"
#include "sql/store_migrations.h"
#include "core/buf.h"
#include "core/log.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include <libpq-fe.h>

/*
 * Key of the transaction-level advisory lock held while the schema changes
 * ("cbmigrat" in ASCII): concurrent migrators queue on it, and it is
 * released by COMMIT/ROLLBACK or when a killed session ends, so it can
 * never be left behind.
 */
static const char sql_lock[] =
	"SELECT pg_advisory_xact_lock(7161406656947052916)";
static const char sql_try_lock[] =
	"SELECT pg_try_advisory_xact_lock(7161406656947052916)";

static const char sql_history_exists[] =
	"SELECT to_regclass('chargeback.schema_migration') IS NOT NULL";

/* The schema and its version table are created here, not by a migration:
 * the version table must exist before migration 1 can be recorded. */
static const char sql_create_schema[] =
	"CREATE SCHEMA IF NOT EXISTS chargeback";

static const char sql_create_history[] =
	"CREATE TABLE IF NOT EXISTS chargeback.schema_migration ("
	" version integer NOT NULL PRIMARY KEY CHECK (version > 0),"
	" name text NOT NULL,"
	" checksum text NOT NULL,"
	" chargeback_version text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now())";

static const char sql_history[] =
	"SELECT version, name, checksum,"
	" to_char(applied_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	" FROM chargeback.schema_migration ORDER BY version";

static const char sql_max_version[] =
	"SELECT coalesce(max(version), 0) FROM chargeback.schema_migration";

static const char sql_record[] =
	"INSERT INTO chargeback.schema_migration"
	" (version, name, checksum, chargeback_version)"
	" VALUES ($1, $2, $3, $4)";

/* Columns of sql_history. */
enum { HISTORY_VERSION, HISTORY_NAME, HISTORY_CHECKSUM, HISTORY_APPLIED_AT };

/* Digits of a checksum shown in messages: enough to tell two apart. */
#define CHECKSUM_SHOWN 12

#define REDACTED "[redacted]"

void
cb__store_first_line(char *out, size_t outlen, const char *in)
{
	size_t n;

	if (in == NULL)
		in = "";
	n = strcspn(in, "\r\n");
	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
		n--;
	if (n > outlen - 1)
		n = outlen - 1;
	memcpy(out, in, n);
	out[n] = '\0';
}

/* Server notices: a WARNING is worth the user's attention, the rest
 * (NOTICE "... already exists, skipping") only when debugging. */
static void
store_notice(void *arg, const PGresult *res)
{
	const char *severity =
		PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	char line[CB_ERROR_MESSAGE_MAX];

	CB_UNUSED(arg);
	cb__store_first_line(line, sizeof(line),
		primary ? primary : PQresultErrorMessage(res));
	cb__log(severity && strcmp(severity, "WARNING") == 0 ? CB_LOG_WARN
							     : CB_LOG_DEBUG,
		"store", "server: %s", line);
}

/* Replace every occurrence of secret in s (size bytes) with REDACTED. */
static void
store_redact(char *s, size_t size, const char *secret)
{
	char out[CB_ERROR_MESSAGE_MAX];
	size_t o = 0, slen = strlen(secret);
	const char *p = s;

	if (slen == 0)
		return;
	while (*p && o < sizeof(out) - 1) {
		if (strncmp(p, secret, slen) == 0) {
			size_t n = strlen(REDACTED);

			if (n > sizeof(out) - 1 - o)
				n = sizeof(out) - 1 - o;
			memcpy(out + o, REDACTED, n);
			o += n;
			p += slen;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	cb__store_first_line(s, size, out);
}

static bool
store_is_keyword(const PQconninfoOption *keywords, const char *s, size_t n)
{
	for (const PQconninfoOption *k = keywords; k && k->keyword; k++)
		if (strlen(k->keyword) == n && strncmp(k->keyword, s, n) == 0)
			return true;
	return false;
}

/*
 * A connection string libpq could not parse may be echoed, password and
 * all, between quote marks ('end of string reached ... in URI:
 * "postgresql://u:secret@[::1"').  Keep quoted connection keywords and
 * single characters (they say what is wrong: 'missing "=" after "host"')
 * and redact every other quoted fragment.
 */
static void
store_redact_quoted(char *s, size_t size)
{
	PQconninfoOption *keywords = PQconndefaults();
	char out[CB_ERROR_MESSAGE_MAX];
	size_t o = 0;
	const char *p = s;

	while (*p && o < sizeof(out) - 1) {
		const char *end;
		size_t n;

		if (*p != '"' || (end = strchr(p + 1, '"')) == NULL) {
			out[o++] = *p++;
			continue;
		}
		n = (size_t)(end - p - 1);
		if (n > 1 && !store_is_keyword(keywords, p + 1, n)) {
			p = REDACTED;
			n = strlen(REDACTED);
		} else {
			p++;
		}
		if (o + n + 2 < sizeof(out)) {
			out[o++] = '"';
			memcpy(out + o, p, n);
			o += n;
			out[o++] = '"';
		}
		p = end + 1;
	}
	out[o] = '\0';
	PQconninfoFree(keywords);
	cb__store_first_line(s, size, out);
}

/* libpq's rule for "dbname is really a connection string". */
static bool
store_dsn_is_conninfo(const char *dsn)
{
	return strncmp(dsn, "postgresql://", 13) == 0 ||
	       strncmp(dsn, "postgres://", 11) == 0 || strchr(dsn, '=') != NULL;
}

/* Record why a connection failed, with no secret in the message. */
static int
store_connect_error(PGconn *conn, const char *dsn)
{
	char msg[CB_ERROR_MESSAGE_MAX];
	PQconninfoOption *opts;
	char *parse_error = NULL;
	bool bad_dsn = false;

	cb__store_first_line(msg, sizeof(msg),
		conn ? PQerrorMessage(conn) : "out of memory");
	if (conn && (opts = PQconninfo(conn)) != NULL) {
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (o->val &&
				(strcmp(o->keyword, "password") == 0 ||
					strcmp(o->keyword, "sslpassword") == 0))
				store_redact(msg, sizeof(msg), o->val);
		PQconninfoFree(opts);
	}
	if (dsn && store_dsn_is_conninfo(dsn)) {
		opts = PQconninfoParse(dsn, &parse_error);
		bad_dsn = opts == NULL;
		PQconninfoFree(opts);
		PQfreemem(parse_error);
	}
	if (bad_dsn) {
		store_redact_quoted(msg, sizeof(msg));
		return cb__error_set(CB_EDB, CB_ERRCLASS_DB,
			"database: invalid connection string: %s", msg);
	}
	return cb__error_set(CB_EDB, CB_ERRCLASS_DB, "database: %s", msg);
}

int
cb_store_open(cb_store **out, const char *dsn)
{
	const char *keys[3], *values[3];
	cb_store *store = NULL;
	PGconn *conn = NULL;
	int n = 0, error;

	CB_ASSERT_ARG(out);

	/* Allocate first: failing here must not cost a connection. */
	if ((store = cb__calloc(1, sizeof(*store))) == NULL)
		return CB_ENOMEM;

	/* expand_dbname: a dbname holding a connection string or URI is
	 * expanded, and its keywords override the ones before it. */
	keys[n] = "fallback_application_name";
	values[n++] = "chargeback";
	if (dsn && *dsn) {
		keys[n] = "dbname";
		values[n++] = dsn;
	}
	keys[n] = values[n] = NULL;
	conn = PQconnectdbParams(keys, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		error = store_connect_error(conn, dsn);
		goto done;
	}
	PQsetNoticeReceiver(conn, store_notice, NULL);
	cb__log(CB_LOG_DEBUG, "store", "connected to database '%s' as '%s'",
		PQdb(conn), PQuser(conn));

	store->conn = conn;
	conn = NULL;
	*out = store;
	store = NULL;
	error = 0;
done:
	if (conn)
		PQfinish(conn);
	cb__free(store);
	return error;
}

void
cb_store_close(cb_store *store)
{
	if (store == NULL)
		return;
	if (store->conn)
		PQfinish(store->conn);
	cb__free(store);
}

/* Record the error a failed statement left: the server's primary message
 * (no "ERROR:" prefix, no detail lines) and its SQLSTATE. */
static int
store_result_error(cb_store *store, const PGresult *res, const char *what)
{
	const char *primary = NULL, *sqlstate = NULL;
	char line[CB_ERROR_MESSAGE_MAX];

	if (res) {
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (primary == NULL && *PQresultErrorMessage(res))
			primary = PQresultErrorMessage(res);
		if (primary == NULL)
			primary = PQresStatus(PQresultStatus(res));
	}
	if (primary == NULL)
		primary = PQerrorMessage(store->conn);
	cb__store_first_line(line, sizeof(line), primary);
	cb__error_set(CB_EDB, CB_ERRCLASS_DB, "database: %s: %s", what, line);
	if (sqlstate)
		cb__error_set_sqlstate(sqlstate);
	return CB_EDB;
}

/* Run one constant statement; on success *out (if given) owns the result. */
static int
store_query(cb_store *store, PGresult **out, const char *what, const char *sql,
	int nparams, const char *const *params)
{
	PGresult *res;
	int error = 0;

	res = PQexecParams(
		store->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	switch (res ? PQresultStatus(res) : PGRES_FATAL_ERROR) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		break;
	default:
		error = store_result_error(store, res, what);
		break;
	}
	if (error == 0 && out) {
		*out = res;
		res = NULL;
	}
	PQclear(res);
	return error;
}

static int
store_command(cb_store *store, const char *what, const char *sql)
{
	return store_query(store, NULL, what, sql, 0, NULL);
}

/* Abandon the open transaction, keeping the error that caused it. */
static void
store_rollback(cb_store *store)
{
	PQclear(PQexecParams(
		store->conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0));
}

int
cb__store_exec(cb_store *store, cb_buf *out, const char *what, const char *sql,
	int nparams, const char *const *params)
{
	PGresult *res = NULL;
	int error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(what);
	CB_ASSERT_ARG(sql);
	CB_ASSERT_ARG(nparams >= 0);
	if ((error = store_query(store, &res, what, sql, nparams, params)) < 0)
		return error;
	if (out) {
		cb__buf_clear(out);
		if (PQntuples(res) > 0 && PQnfields(res) > 0)
			error = cb__buf_puts(out, PQgetvalue(res, 0, 0));
		else
			error = cb__buf_puts(out, "");
	}
	PQclear(res);
	return error;
}

static int
store_history_exists(cb_store *store, bool *exists)
{
	PGresult *res = NULL;
	int error;

	if ((error = store_query(store, &res, "looking for schema_migration",
		     sql_history_exists, 0, NULL)) < 0)
		return error;
	*exists =
		PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return 0;
}

/* An integer column; the schema guarantees it, so junk is a bug. */
static int
store_int(const PGresult *res, int row, int col)
{
	const char *s = PQgetvalue(res, row, col);
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < INT_MIN || v > INT_MAX)
		return -1;
	return (int)v;
}

static int
store_known_version(void)
{
	return cb__migrations[cb__migration_count - 1].version;
}

/*
 * Check the recorded history (sql_history rows) against the embedded list
 * and set *db_version to the newest applied version.  The history must be
 * exactly migrations 1..n of this binary, unchanged.
 */
static int
store_check_history(const PGresult *res, int *db_version)
{
	int rows = PQntuples(res), known = store_known_version(), newest;

	*db_version = 0;
	if (rows == 0)
		return 0;
	newest = store_int(res, rows - 1, HISTORY_VERSION);
	if (newest > known)
		return cb__error_set(CB_EUNSUPPORTED, CB_ERRCLASS_DB,
			"database schema is at version %d, newer than this "
			"chargeback (knows %d): upgrade chargeback",
			newest, known);
	for (int i = 0; i < rows; i++) {
		const struct cb__migration *m = &cb__migrations[i];
		const char *name = PQgetvalue(res, i, HISTORY_NAME);
		const char *sum = PQgetvalue(res, i, HISTORY_CHECKSUM);

		if (store_int(res, i, HISTORY_VERSION) != m->version)
			return cb__error_set(CB_ECONFLICT, CB_ERRCLASS_DB,
				"database schema history has a gap: version "
				"%d is not recorded but version %d is",
				m->version, store_int(res, i, HISTORY_VERSION));
		if (strcmp(name, m->name) != 0)
			return cb__error_set(CB_ECONFLICT, CB_ERRCLASS_DB,
				"migration %d is '%s' in the database but "
				"'%s' in this chargeback",
				m->version, name, m->name);
		if (strcmp(sum, m->checksum) != 0)
			return cb__error_set(CB_ECONFLICT, CB_ERRCLASS_DB,
				"migration %03d_%s was changed after it was "
				"applied (checksum %.*s in the database, %.*s "
				"in this chargeback): restore it and put the "
				"change in a new migration",
				m->version, m->name, CHECKSUM_SHOWN, sum,
				CHECKSUM_SHOWN, m->checksum);
	}
	*db_version = newest;
	return 0;
}

/* Take the migration lock for this transaction, saying so if another
 * migrator holds it: a long migration elsewhere must not look like a hang. */
static int
store_lock(cb_store *store)
{
	PGresult *res = NULL;
	bool taken;
	int error;

	if ((error = store_query(store, &res, "taking the migration lock",
		     sql_try_lock, 0, NULL)) < 0)
		return error;
	taken = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (taken)
		return 0;
	cb__log(CB_LOG_INFO, "store",
		"waiting for another migration of this database to finish");
	return store_command(store, "taking the migration lock", sql_lock);
}

/* Create the schema and its version table once, under the lock, so two
 * first-time migrators cannot collide on CREATE ... IF NOT EXISTS. */
static int
store_bootstrap(cb_store *store)
{
	bool exists;
	int error;

	if ((error = store_history_exists(store, &exists)) < 0 || exists)
		return error;
	if ((error = store_command(store, "starting a transaction", "BEGIN")) <
		0)
		return error;
	if ((error = store_lock(store)) < 0 ||
		(error = store_command(store, "creating schema chargeback",
			 sql_create_schema)) < 0 ||
		(error = store_command(store,
			 "creating chargeback.schema_migration",
			 sql_create_history)) < 0 ||
		(error = store_command(store, "committing", "COMMIT")) < 0) {
		store_rollback(store);
		return error;
	}
	return 0;
}

/* Multi-statement constant text: see the file comment on PQexec. */
static int
store_run_script(cb_store *store, const struct cb__migration *m)
{
	char what[128];
	PGresult *res;
	int error = 0;

	snprintf(what, sizeof(what), "migration %03d_%s", m->version, m->name);
	res = PQexec(store->conn, m->sql);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		error = store_result_error(store, res, what);
	PQclear(res);
	return error;
}

static long
store_elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000 +
	       (now.tv_nsec - start->tv_nsec) / 1000000;
}

/*
 * One transaction: lock, re-read the history (another migrator may have
 * moved it while we waited), then apply and record the next migration.
 * *finished is set when there was nothing left to apply.
 */
static int
store_migrate_next(cb_store *store, bool *finished)
{
	const struct cb__migration *m;
	char version[16];
	const char *params[4];
	struct timespec start;
	PGresult *res = NULL;
	int db_version, error;

	*finished = false;
	if ((error = store_command(store, "starting a transaction", "BEGIN")) <
		0)
		return error;
	if ((error = store_lock(store)) < 0 ||
		(error = store_query(store, &res,
			 "reading chargeback.schema_migration", sql_history, 0,
			 NULL)) < 0 ||
		(error = store_check_history(res, &db_version)) < 0)
		goto rollback;
	if (db_version == store_known_version()) {
		*finished = true;
		error = store_command(store, "committing", "COMMIT");
		goto done;
	}

	m = &cb__migrations[db_version];
	clock_gettime(CLOCK_MONOTONIC, &start);
	snprintf(version, sizeof(version), "%d", m->version);
	params[0] = version;
	params[1] = m->name;
	params[2] = m->checksum;
	params[3] = cb_version();
	if ((error = store_run_script(store, m)) < 0 ||
		(error = store_query(store, NULL,
			 "recording the schema version", sql_record, 4,
			 params)) < 0)
		goto rollback;
	if ((error = store_command(store, "committing", "COMMIT")) < 0)
		goto done;
	cb__log(CB_LOG_INFO, "store", "applied migration %03d_%s in %ld ms",
		m->version, m->name, store_elapsed_ms(&start));
	goto done;
rollback:
	store_rollback(store);
done:
	PQclear(res);
	return error;
}

int
cb_store_migrate(cb_store *store, int *applied_out)
{
	int applied = 0, error;
	bool finished = false;

	if (applied_out)
		*applied_out = 0;
	CB_ASSERT_ARG(store);

	if ((error = store_bootstrap(store)) < 0)
		goto done;
	while ((error = store_migrate_next(store, &finished)) == 0 && !finished)
		applied++;
done:
	if (applied_out)
		*applied_out = applied;
	return error;
}

int
cb_store_schema_version(cb_store *store, int *db_version, int *known_version)
{
	PGresult *res = NULL;
	bool exists;
	int error, v = 0;

	CB_ASSERT_ARG(store);
	if ((error = store_history_exists(store, &exists)) < 0)
		return error;
	if (exists) {
		if ((error = store_query(store, &res,
			     "reading chargeback.schema_migration",
			     sql_max_version, 0, NULL)) < 0)
			return error;
		v = store_int(res, 0, 0);
		PQclear(res);
	}
	if (db_version)
		*db_version = v;
	if (known_version)
		*known_version = store_known_version();
	return 0;
}

/* Is history row r the embedded migration m, unchanged? */
static bool
store_row_matches(const PGresult *res, int r, const struct cb__migration *m)
{
	return strcmp(PQgetvalue(res, r, HISTORY_NAME), m->name) == 0 &&
	       strcmp(PQgetvalue(res, r, HISTORY_CHECKSUM), m->checksum) == 0;
}

int
cb_store_migration_foreach(
	cb_store *store, cb_store_migration_cb cb, void *payload)
{
	PGresult *res = NULL;
	bool exists;
	int rows = 0, i = 0, r = 0, error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(cb);
	if ((error = store_history_exists(store, &exists)) < 0)
		return error;
	if (exists) {
		if ((error = store_query(store, &res,
			     "reading chargeback.schema_migration", sql_history,
			     0, NULL)) < 0)
			return error;
		rows = PQntuples(res);
	}

	/* Merge the embedded list and the recorded rows, both by version. */
	while (i < (int)cb__migration_count || r < rows) {
		int ev = i < (int)cb__migration_count
				 ? cb__migrations[i].version
				 : INT_MAX;
		int rv =
			r < rows ? store_int(res, r, HISTORY_VERSION) : INT_MAX;
		cb_store_migration m = { 0 };

		if (ev < rv) {
			m.version = ev;
			m.name = cb__migrations[i++].name;
			m.state = CB_MIGRATION_PENDING;
			m.applied_at = "";
		} else {
			m.version = rv;
			m.applied_at = PQgetvalue(res, r, HISTORY_APPLIED_AT);
			if (rv < ev) {
				m.name = PQgetvalue(res, r, HISTORY_NAME);
				m.state = CB_MIGRATION_UNKNOWN;
			} else {
				const struct cb__migration *e =
					&cb__migrations[i++];

				m.name = e->name;
				m.state = store_row_matches(res, r, e)
						  ? CB_MIGRATION_APPLIED
						  : CB_MIGRATION_CHANGED;
			}
			r++;
		}
		if ((error = cb(&m, payload)) != 0)
			break;
	}
	PQclear(res);
	return error;
}

/* Shared by the sql/store_*.c files (store_internal.h). */
int
cb__store_error(PGconn *conn, PGresult *res, const char *area, const char *what)
{
	const char *primary = NULL, *sqlstate = NULL;
	char line[CB_ERROR_MESSAGE_MAX];

	if (res) {
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	}
	if (primary == NULL)
		primary = conn ? PQerrorMessage(conn) : "no connection";
	cb__store_first_line(line, sizeof(line), primary);
	cb__error_set(CB_EDB, CB_ERRCLASS_DB, "database: %s: %s: %s", area,
		what, line);
	if (sqlstate)
		cb__error_set_sqlstate(sqlstate);
	PQclear(res);
	return CB_EDB;
}
