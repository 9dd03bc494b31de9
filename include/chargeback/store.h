/*
 * include/chargeback/store.h - the PostgreSQL store and its schema.
 *
 * A cb_store is one connection to the database that holds the partner
 * hierarchy, cost lines, rules and statements, all in the schema
 * "chargeback".  The schema is created and upgraded only by
 * cb_store_migrate(), from migrations compiled into the library
 * (sql/migrations/NNN_<name>.sql), so a binary always knows exactly the
 * schema it was built for and refuses a database that is newer.
 *
 * A cb_store is not thread-safe: use one per thread.
 */
#ifndef CHARGEBACK_STORE_H
#define CHARGEBACK_STORE_H

#include "chargeback/common.h"

CB_BEGIN_DECL

/** An open connection to the chargeback database. */
typedef struct cb_store cb_store;

/**
 * Connect to PostgreSQL.
 *
 * @param[out] out  receives the store; the caller owns it and releases it
 *                  with cb_store_close().  Untouched on failure.
 * @param dsn       a libpq connection string ("host=... dbname=...") or
 *                  URI ("postgresql://..."); NULL or "" uses libpq's
 *                  environment (PGHOST, PGDATABASE, ...).  Not kept.
 * @return 0, CB_EDB if the connection fails (the message says why and
 *         never contains a password from @p dsn), or CB_ENOMEM.
 */
CB_EXTERN(int) cb_store_open(cb_store **out, const char *dsn);

/** Disconnect and release the store.  Passing NULL is a no-op. */
CB_EXTERN(void) cb_store_close(cb_store *store);

/**
 * Bring the database schema up to date: apply every embedded migration
 * the database lacks, in version order, each in its own transaction under
 * an advisory lock (so concurrent migrators apply each one exactly once),
 * recording version, name, SHA-256 of the SQL and time applied in
 * chargeback.schema_migration.  Nothing is applied when the recorded
 * history disagrees with this binary.
 *
 * @param store    an open store.
 * @param[out] applied_out  if not NULL, receives how many migrations this
 *                  call applied (0 when already up to date), also when it
 *                  fails part-way.
 * @return 0; CB_EUNSUPPORTED if the database is at a version newer than
 *         the newest embedded migration; CB_ECONFLICT if an applied
 *         migration differs from the embedded one (edited after it was
 *         applied) or the recorded versions have a gap; CB_EDB on a
 *         database error (SQLSTATE in cb_error_last()), the failed
 *         migration rolled back.
 */
CB_EXTERN(int) cb_store_migrate(cb_store *store, int *applied_out);

/**
 * The schema version of the database and of this binary.  Changes
 * nothing, even on an empty database.
 *
 * @param store    an open store.
 * @param[out] db_version     if not NULL, receives the highest applied
 *                            migration (0 for an empty database).
 * @param[out] known_version  if not NULL, receives the newest migration
 *                            compiled into this library.
 * @return 0 or CB_EDB.
 */
CB_EXTERN(int)
cb_store_schema_version(cb_store *store, int *db_version, int *known_version);

/** Where a migration stands (cb_store_migration.state). */
typedef enum {
	CB_MIGRATION_PENDING = 0, /**< known to this binary, not applied */
	CB_MIGRATION_APPLIED = 1, /**< applied, identical to the embedded one */
	CB_MIGRATION_CHANGED = 2, /**< applied, but the embedded SQL differs */
	CB_MIGRATION_UNKNOWN = 3  /**< applied, newer than this binary */
} cb_migration_state;

/** One migration, as cb_store_migration_foreach() reports it. */
typedef struct {
	int version;            /**< the NNN of NNN_<name>.sql */
	const char *name;       /**< <name>; borrowed, valid during the call */
	int state;              /**< a cb_migration_state */
	const char *applied_at; /**< "YYYY-MM-DDTHH:MM:SSZ" (UTC), "" if
				     pending; borrowed, valid during the call */
} cb_store_migration;

/**
 * Called once per migration by cb_store_migration_foreach().  Return 0 to
 * continue; any other value stops the walk and is returned by it.
 */
typedef int (*cb_store_migration_cb)(
	const cb_store_migration *migration, void *payload);

/**
 * Report every migration, embedded or recorded in the database, in
 * version order (for `chargeback db status`).  Changes nothing.
 *
 * @param store    an open store.
 * @param cb        called for each migration.
 * @param payload   passed to @p cb.
 * @return 0, the non-zero value @p cb returned, or CB_EDB.
 */
CB_EXTERN(int)
cb_store_migration_foreach(
	cb_store *store, cb_store_migration_cb cb, void *payload);

CB_END_DECL

#endif
