/*
 * tests/unit/sql/test_store.c - the store and the schema migrations,
 * against the real PostgreSQL named by CHARGEBACK_TEST_DSN.
 *
 * Every test gets a scratch database of its own (CREATE DATABASE with a
 * name unique to the process and test, dropped afterwards), so runs of the
 * dev and asan builds can share one server in parallel.  Without
 * CHARGEBACK_TEST_DSN the suite fails: a database test that skips proves
 * nothing.
 */
#include "core/common.h"
#include "core/buf.h"
#include "sql/store_internal.h"
#include "sql/store_migrations.h"
#include "tests/support/testsupport.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

/* Connected to CHARGEBACK_TEST_DSN's database; creates the scratch ones. */
static cb_store *admin;
static const char *base_dsn;
static unsigned scratch_seq;

struct fixture {
	char dbname[64]; /* the scratch database */
	char dsn[1024];  /* base_dsn pointed at it */
	cb_store *store; /* open on it */
};

#define ASSERT_OK(expr)                                                    \
	do {                                                               \
		int rc_ = (expr);                                          \
		if (rc_ != 0)                                              \
			fail_msg("%s: %s (%s)", #expr, cb_error_name(rc_), \
				cb_error_last()->message);                 \
	} while (0)

/* Holds query()'s answer until the next call. */
static cb_buf query_out = CB_BUF_INIT;

/* Run sql on store; returns the first value. */
static const char *
query(cb_store *store, const char *sql)
{
	ASSERT_OK(cb__store_exec(store, &query_out, "test", sql, 0, NULL));
	return query_out.ptr;
}

static void
exec1(cb_store *store, const char *sql, const char *param)
{
	ASSERT_OK(cb__store_exec(store, NULL, "test", sql, 1, &param));
}

static int
known_version(void)
{
	return cb__migrations[cb__migration_count - 1].version;
}

static int
fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char stmt[128];

	assert_non_null(f);
	snprintf(f->dbname, sizeof(f->dbname), "cb_test_store_%ld_%u",
		(long)getpid(), scratch_seq++);
	snprintf(f->dsn, sizeof(f->dsn), "%s dbname=%s", base_dsn, f->dbname);
	/* template0: never connected to, so never "being accessed by other
	 * users" when parallel runs create databases at once. */
	snprintf(stmt, sizeof(stmt), "CREATE DATABASE %s TEMPLATE template0",
		f->dbname);
	ASSERT_OK(cb__store_exec(admin, NULL, "test", stmt, 0, NULL));
	ASSERT_OK(cb_store_open(&f->store, f->dsn));
	*state = f;
	return 0;
}

static int
fixture_teardown(void **state)
{
	struct fixture *f = *state;
	char stmt[128];

	cb__alloc_fail_after(0);
	cb_store_close(f->store);
	snprintf(
		stmt, sizeof(stmt), "DROP DATABASE %s WITH (FORCE)", f->dbname);
	ASSERT_OK(cb__store_exec(admin, NULL, "test", stmt, 0, NULL));
	free(f);
	return 0;
}

struct listed {
	int count;
	int version[8];
	int state[8];
	char name[8][64];
	char applied_at[8][32];
	int stop_after; /* return 42 after this many calls; 0 never */
};

static int
list_cb(const cb_store_migration *m, void *payload)
{
	struct listed *l = payload;

	assert_true(l->count < 8);
	l->version[l->count] = m->version;
	l->state[l->count] = m->state;
	snprintf(l->name[l->count], sizeof(l->name[0]), "%s", m->name);
	snprintf(l->applied_at[l->count], sizeof(l->applied_at[0]), "%s",
		m->applied_at);
	l->count++;
	return l->count == l->stop_after ? 42 : 0;
}

/* "YYYY-MM-DDTHH:MM:SSZ" */
static void
assert_timestamp(const char *s)
{
	assert_int_equal(20, strlen(s));
	assert_int_equal('T', s[10]);
	assert_int_equal('Z', s[19]);
	assert_int_equal(0, strncmp("20", s, 2));
}

static void
test_store_migrates_from_empty(void **state)
{
	struct fixture *f = *state;
	struct listed l = { 0 };
	int db = -1, known = -1, applied = -1;

	ASSERT_OK(cb_store_schema_version(f->store, &db, &known));
	assert_int_equal(0, db);
	assert_int_equal(known_version(), known);
	assert_int_equal((int)cb__migration_count, known);

	ASSERT_OK(cb_store_migration_foreach(f->store, list_cb, &l));
	assert_int_equal((int)cb__migration_count, l.count);
	for (int i = 0; i < l.count; i++) {
		assert_int_equal(i + 1, l.version[i]);
		assert_int_equal(CB_MIGRATION_PENDING, l.state[i]);
		assert_string_equal(cb__migrations[i].name, l.name[i]);
		assert_string_equal("", l.applied_at[i]);
	}

	ASSERT_OK(cb_store_migrate(f->store, &applied));
	assert_int_equal((int)cb__migration_count, applied);
	ASSERT_OK(cb_store_schema_version(f->store, &db, NULL));
	assert_int_equal(known_version(), db);

	memset(&l, 0, sizeof(l));
	ASSERT_OK(cb_store_migration_foreach(f->store, list_cb, &l));
	assert_int_equal((int)cb__migration_count, l.count);
	for (int i = 0; i < l.count; i++) {
		assert_int_equal(i + 1, l.version[i]);
		assert_int_equal(CB_MIGRATION_APPLIED, l.state[i]);
		assert_timestamp(l.applied_at[i]);
	}

	/* What was recorded, exactly. */
	assert_string_equal("1|partner_hierarchy|true|true",
		query(f->store,
			"SELECT string_agg(version || '|' || name || '|' ||"
			" (length(checksum) = 64)::text || '|' ||"
			" (applied_at <= now())::text, ',' ORDER BY version)"
			" FROM chargeback.schema_migration WHERE version = 1"));
	assert_string_equal(cb_version(),
		query(f->store,
			"SELECT chargeback_version"
			" FROM chargeback.schema_migration WHERE version = 1"));
}

static void
test_store_second_migrate_applies_nothing(void **state)
{
	struct fixture *f = *state;
	int applied = -1;

	ASSERT_OK(cb_store_migrate(f->store, &applied));
	assert_int_equal((int)cb__migration_count, applied);
	ASSERT_OK(cb_store_migrate(f->store, &applied));
	assert_int_equal(0, applied);
	ASSERT_OK(cb_store_migrate(f->store, NULL));
	assert_int_equal((int)cb__migration_count,
		atoi(query(f->store,
			"SELECT count(*) FROM chargeback.schema_migration")));
}

static void
test_store_refuses_newer_database(void **state)
{
	struct fixture *f = *state;
	struct listed l = { 0 };
	char expect[256];
	int applied = -1, db = -1, known = -1;

	ASSERT_OK(cb_store_migrate(f->store, NULL));
	exec1(f->store,
		"INSERT INTO chargeback.schema_migration"
		" (version, name, checksum, chargeback_version)"
		" VALUES (8, $1, 'x', '9.9.9')",
		"from_the_future");

	assert_int_equal(CB_EUNSUPPORTED, cb_store_migrate(f->store, &applied));
	assert_int_equal(0, applied);
	snprintf(expect, sizeof(expect),
		"database schema is at version 8, newer than this chargeback "
		"(knows %d): upgrade chargeback",
		known_version());
	assert_string_equal(expect, cb_error_last()->message);
	assert_int_equal(CB_ERRCLASS_DB, cb_error_last()->klass);
	assert_string_equal("", cb_error_last()->sqlstate);

	ASSERT_OK(cb_store_schema_version(f->store, &db, &known));
	assert_int_equal(8, db);
	assert_int_equal(known_version(), known);

	ASSERT_OK(cb_store_migration_foreach(f->store, list_cb, &l));
	assert_int_equal((int)cb__migration_count + 1, l.count);
	assert_int_equal(8, l.version[l.count - 1]);
	assert_int_equal(CB_MIGRATION_UNKNOWN, l.state[l.count - 1]);
	assert_string_equal("from_the_future", l.name[l.count - 1]);
	assert_timestamp(l.applied_at[l.count - 1]);
}

static void
test_store_detects_changed_migration(void **state)
{
	struct fixture *f = *state;
	struct listed l = { 0 };
	char expect[512];
	int applied = -1;

	ASSERT_OK(cb_store_migrate(f->store, NULL));
	exec1(f->store,
		"UPDATE chargeback.schema_migration SET checksum = $1"
		" WHERE version = 1",
		"0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef");

	assert_int_equal(CB_ECONFLICT, cb_store_migrate(f->store, &applied));
	assert_int_equal(0, applied);
	snprintf(expect, sizeof(expect),
		"migration 001_partner_hierarchy was changed after it was "
		"applied (checksum 0123456789ab in the database, %.12s in this "
		"chargeback): restore it and put the change in a new migration",
		cb__migrations[0].checksum);
	assert_string_equal(expect, cb_error_last()->message);

	ASSERT_OK(cb_store_migration_foreach(f->store, list_cb, &l));
	assert_int_equal(CB_MIGRATION_CHANGED, l.state[0]);
	assert_string_equal("partner_hierarchy", l.name[0]);

	/* A renamed migration is a different migration. */
	exec1(f->store,
		"UPDATE chargeback.schema_migration SET checksum = $1,"
		" name = 'tenants' WHERE version = 1",
		cb__migrations[0].checksum);
	assert_int_equal(CB_ECONFLICT, cb_store_migrate(f->store, &applied));
	assert_string_equal("migration 1 is 'tenants' in the database but "
			    "'partner_hierarchy' in this chargeback",
		cb_error_last()->message);
	memset(&l, 0, sizeof(l));
	ASSERT_OK(cb_store_migration_foreach(f->store, list_cb, &l));
	assert_int_equal(CB_MIGRATION_CHANGED, l.state[0]);
}

static void
test_store_failed_migration_rolls_back_with_sqlstate(void **state)
{
	struct fixture *f = *state;
	int applied = -1, db = -1;

	/* Someone else's table in the way of the last CREATE TABLE. */
	query(f->store, "CREATE SCHEMA chargeback");
	query(f->store, "CREATE TABLE chargeback.subscription (x int)");

	assert_int_equal(CB_EDB, cb_store_migrate(f->store, &applied));
	assert_int_equal(0, applied);
	assert_string_equal("database: migration 001_partner_hierarchy: "
			    "relation \"subscription\" already exists",
		cb_error_last()->message);
	assert_string_equal("42P07", cb_error_last()->sqlstate);
	assert_int_equal(CB_ERRCLASS_DB, cb_error_last()->klass);

	/* Nothing of migration 1 survived, nor its version row. */
	assert_string_equal(
		"t", query(f->store,
			     "SELECT to_regclass('chargeback.billing_account')"
			     " IS NULL"));
	ASSERT_OK(cb_store_schema_version(f->store, &db, NULL));
	assert_int_equal(0, db);

	/* Fixed, it goes through; the connection is still usable. */
	query(f->store, "DROP TABLE chargeback.subscription");
	ASSERT_OK(cb_store_migrate(f->store, &applied));
	assert_int_equal((int)cb__migration_count, applied);
}

static void
test_store_statement_error_carries_sqlstate(void **state)
{
	struct fixture *f = *state;
	cb_buf out = CB_BUF_INIT;

	assert_int_equal(CB_EDB, cb__store_exec(f->store, &out, "dividing",
					 "SELECT 1/0", 0, NULL));
	assert_string_equal("database: dividing: division by zero",
		cb_error_last()->message);
	assert_string_equal("22012", cb_error_last()->sqlstate);
	assert_null(out.ptr);

	/* Parameters are bound, never spliced into the text. */
	{
		const char *p = "1; DROP TABLE x";

		assert_int_equal(
			CB_EDB, cb__store_exec(f->store, &out, "casting",
					"SELECT $1::int", 1, &p));
		assert_string_equal("database: casting: invalid input syntax "
				    "for type integer: \"1; DROP TABLE x\"",
			cb_error_last()->message);
		assert_string_equal("22P02", cb_error_last()->sqlstate);
		p = "it's";
		ASSERT_OK(cb__store_exec(
			f->store, &out, "echo", "SELECT $1", 1, &p));
		assert_string_equal("it's", out.ptr);
	}
	cb_buf_dispose(&out);
}

static void
test_store_open_error_hides_password(void **state)
{
	cb_store *s = NULL;

	(void)state;
	assert_int_equal(CB_EDB,
		cb_store_open(&s, "host=/nonexistent password=hunter2"));
	assert_null(s);
	assert_string_equal("database: connection to server on socket "
			    "\"/nonexistent/.s.PGSQL.5432\" failed: No such "
			    "file or directory",
		cb_error_last()->message);
	assert_int_equal(CB_ERRCLASS_DB, cb_error_last()->klass);

	/* libpq echoes the value; the password is taken out of it. */
	assert_int_equal(CB_EDB,
		cb_store_open(&s,
			"host=/nonexistent sslmode=hunter2 password=hunter2"));
	assert_string_equal("database: invalid sslmode value: \"[redacted]\"",
		cb_error_last()->message);

	/* Unparseable strings: quoted fragments other than keywords go. */
	assert_int_equal(CB_EDB, cb_store_open(&s, "hunter2 password=x"));
	assert_string_equal("database: invalid connection string: missing "
			    "\"=\" after \"[redacted]\" in connection info "
			    "string",
		cb_error_last()->message);
	assert_int_equal(CB_EDB, cb_store_open(&s, "host=/x password hunter2"));
	assert_string_equal("database: invalid connection string: missing "
			    "\"=\" after \"password\" in connection info "
			    "string",
		cb_error_last()->message);
	assert_int_equal(
		CB_EDB, cb_store_open(&s, "postgresql://u:hunter2@[::1/db"));
	assert_string_equal("database: invalid connection string: end of "
			    "string reached when looking for matching \"]\" "
			    "in IPv6 host address in URI: \"[redacted]\"",
		cb_error_last()->message);
	assert_null(strstr(cb_error_last()->message, "hunter2"));
	assert_null(s);
}

/* Point libpq's environment at what the admin connection reached. */
static void
set_pg_environment(const char *dbname)
{
	static const char *const vars[][2] = {
		{ "PGHOST",
			"SELECT CASE WHEN inet_server_addr() IS NULL THEN"
			" split_part(current_setting('unix_socket_directories'),"
			" ',', 1) ELSE host(inet_server_addr()) END" },
		{ "PGPORT", "SELECT current_setting('port')" },
		{ "PGUSER", "SELECT current_user" },
	};

	for (size_t i = 0; i < CB_ARRAY_SIZE(vars); i++)
		setenv(vars[i][0], query(admin, vars[i][1]), 1);
	setenv("PGDATABASE", dbname, 1);
}

static void
test_store_open_uses_libpq_environment(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = { "PGHOST", "PGPORT", "PGUSER",
		"PGDATABASE" };
	char *saved[CB_ARRAY_SIZE(names)];
	cb_store *s = NULL;

	for (size_t i = 0; i < CB_ARRAY_SIZE(names); i++)
		saved[i] = getenv(names[i]) ? strdup(getenv(names[i])) : NULL;
	set_pg_environment(f->dbname);

	/* NULL and "" both mean: whatever libpq's environment says. */
	ASSERT_OK(cb_store_open(&s, NULL));
	assert_string_equal(f->dbname, query(s, "SELECT current_database()"));
	assert_string_equal("chargeback",
		query(s, "SELECT current_setting('application_name')"));
	cb_store_close(s);
	ASSERT_OK(cb_store_open(&s, ""));
	assert_string_equal(f->dbname, query(s, "SELECT current_database()"));
	cb_store_close(s);
	/* A DSN naming only a database takes the rest from there. */
	ASSERT_OK(cb_store_open(&s, "dbname=postgres"));
	assert_string_equal("postgres", query(s, "SELECT current_database()"));
	cb_store_close(s);

	for (size_t i = 0; i < CB_ARRAY_SIZE(names); i++) {
		if (saved[i])
			setenv(names[i], saved[i], 1);
		else
			unsetenv(names[i]);
		free(saved[i]);
	}
}

/* Every unique index (primary keys and unique constraints included) of a
 * table with a customer_id column, that does not include customer_id. */
static const char sql_keys_without_customer[] =
	"SELECT count(*) FROM pg_index i"
	" JOIN pg_class t ON t.oid = i.indrelid"
	" JOIN pg_namespace n ON n.oid = t.relnamespace"
	" JOIN pg_attribute a ON a.attrelid = t.oid"
	"  AND a.attname = 'customer_id' AND NOT a.attisdropped"
	" WHERE n.nspname = 'chargeback' AND i.indisunique"
	"  AND NOT a.attnum = ANY (i.indkey::int2[])";

static void
test_store_schema_is_as_designed(void **state)
{
	struct fixture *f = *state;

	ASSERT_OK(cb_store_migrate(f->store, NULL));

	/* Rules that hold for every migration, now and later. */
	assert_string_equal("0", query(f->store, sql_keys_without_customer));
	/* customer_id always travels with billing_account_id, as text. */
	assert_string_equal(
		"0", query(f->store,
			     "SELECT count(*) FROM information_schema.columns c"
			     " WHERE c.table_schema = 'chargeback'"
			     "  AND c.column_name = 'customer_id'"
			     "  AND (c.data_type <> 'text' OR NOT EXISTS ("
			     "   SELECT 1 FROM information_schema.columns b"
			     "   WHERE b.table_schema = c.table_schema"
			     "    AND b.table_name = c.table_name"
			     "    AND b.column_name = 'billing_account_id'))"));
	/* A foreign key to a customer-owned table carries customer_id. */
	assert_string_equal("0",
		query(f->store,
			"SELECT count(*) FROM pg_constraint c"
			" JOIN pg_namespace n ON n.oid = c.connamespace"
			" JOIN pg_attribute a ON a.attrelid = c.confrelid"
			"  AND a.attname = 'customer_id'"
			" WHERE n.nspname = 'chargeback' AND c.contype = 'f'"
			"  AND NOT a.attnum = ANY (c.confkey)"));

	/* Migration 1's tables and keys, exactly. */
	assert_string_equal(
		"billing_account PRIMARY KEY (id)\n"
		"billing_profile FOREIGN KEY (billing_account_id) REFERENCES "
		"chargeback.billing_account(id)\n"
		"billing_profile PRIMARY KEY (billing_account_id, id)\n"
		"customer FOREIGN KEY (billing_account_id) REFERENCES "
		"chargeback.billing_account(id)\n"
		"customer FOREIGN KEY (billing_account_id, "
		"billing_profile_id) REFERENCES "
		"chargeback.billing_profile(billing_account_id, id)\n"
		"customer PRIMARY KEY (billing_account_id, customer_id)\n"
		"schema_migration PRIMARY KEY (version)\n"
		"subscription FOREIGN KEY (billing_account_id, "
		"billing_profile_id) REFERENCES "
		"chargeback.billing_profile(billing_account_id, id)\n"
		"subscription FOREIGN KEY (billing_account_id, customer_id) "
		"REFERENCES chargeback.customer(billing_account_id, "
		"customer_id)\n"
		"subscription PRIMARY KEY (billing_account_id, customer_id, "
		"subscription_id)",
		query(f->store,
			"SELECT string_agg(t.relname || ' ' ||"
			" pg_get_constraintdef(c.oid), E'\\n'"
			" ORDER BY t.relname, pg_get_constraintdef(c.oid))"
			" FROM pg_constraint c"
			" JOIN pg_class t ON t.oid = c.conrelid"
			" JOIN pg_namespace n ON n.oid = t.relnamespace"
			" WHERE n.nspname = 'chargeback'"
			"  AND c.contype IN ('p', 'u', 'f')"
			"  AND t.relname IN ('billing_account',"
			"   'billing_profile', 'customer', 'subscription',"
			"   'schema_migration')"));
	assert_string_equal("subscription_by_subscription_id",
		query(f->store,
			"SELECT string_agg(indexname, ',' ORDER BY indexname)"
			" FROM pg_indexes WHERE schemaname = 'chargeback'"
			"  AND indexname NOT LIKE '%_pkey'"
			"  AND tablename IN ('billing_account',"
			"   'billing_profile', 'customer', 'subscription')"));
	assert_string_equal("billing_account_id,customer_id,customer_id,"
			    "first_seen,gone_at,last_seen,subscription_id",
		query(f->store,
			"SELECT string_agg(column_name, ',' ORDER BY"
			" column_name) FROM information_schema.columns"
			" WHERE table_schema = 'chargeback' AND column_name"
			" IN ('billing_account_id', 'customer_id',"
			" 'subscription_id', 'first_seen', 'last_seen',"
			" 'gone_at') AND table_name IN ('customer',"
			" 'subscription') AND (table_name = 'subscription'"
			" OR column_name = 'customer_id')"));

	/* The rows behave as designed. */
	query(f->store,
		"INSERT INTO chargeback.billing_account (id) VALUES ('ba1')");
	query(f->store,
		"INSERT INTO chargeback.billing_profile"
		" (billing_account_id, id, currency) VALUES ('ba1', 'bp1',"
		" 'EUR')");
	query(f->store, "INSERT INTO chargeback.customer (billing_account_id,"
			" customer_id, billing_profile_id, tenant_id)"
			" VALUES ('ba1', 'c1', 'bp1',"
			" '0b7e0a3c-7d0e-4a43-9d2e-1f1b2c3d4e5f')");
	query(f->store,
		"INSERT INTO chargeback.subscription (billing_account_id,"
		" customer_id, subscription_id) VALUES ('ba1', 'c1',"
		" '6b96d3f2-9008-4a9d-912f-f87744185aa3')");
	/* The same customer name in another account is another tenant. */
	query(f->store,
		"INSERT INTO chargeback.billing_account (id) VALUES ('ba2')");
	query(f->store, "INSERT INTO chargeback.customer (billing_account_id,"
			" customer_id) VALUES ('ba2', 'c1')");
	assert_string_equal("{}",
		query(f->store, "SELECT tags::text FROM chargeback.customer"
				" WHERE billing_account_id = 'ba2'"));

	struct {
		const char *sql, *sqlstate;
	} refused[] = {
		/* GUIDs are lower case, so one subscription is one row. */
		{ "INSERT INTO chargeback.subscription (billing_account_id,"
		  " customer_id, subscription_id) VALUES ('ba1', 'c1',"
		  " 'CD0BBD7A-461A-4D9A-9C59-EAE51A0D5D12')",
			"23514" },
		{ "INSERT INTO chargeback.subscription (billing_account_id,"
		  " customer_id, subscription_id) VALUES ('ba1', 'c9',"
		  " 'cd0bbd7a-461a-4d9a-9c59-eae51a0d5d12')",
			"23503" },
		{ "INSERT INTO chargeback.customer (billing_account_id,"
		  " customer_id) VALUES ('ba1', 'c1')",
			"23505" },
		{ "INSERT INTO chargeback.customer (billing_account_id,"
		  " customer_id) VALUES ('nope', 'c2')",
			"23503" },
		{ "INSERT INTO chargeback.customer (billing_account_id,"
		  " customer_id, billing_profile_id) VALUES ('ba2', 'c2',"
		  " 'bp1')",
			"23503" },
		{ "INSERT INTO chargeback.customer (billing_account_id,"
		  " customer_id) VALUES ('ba1', '')",
			"23514" },
		{ "INSERT INTO chargeback.billing_profile"
		  " (billing_account_id, id, currency) VALUES ('ba1', 'bp2',"
		  " 'eur')",
			"23514" },
		{ "UPDATE chargeback.customer SET gone_at = last_seen -"
		  " interval '1 day'",
			"23514" },
		{ "UPDATE chargeback.customer SET tags = '[]'", "23514" },
		{ "DELETE FROM chargeback.billing_account WHERE id = 'ba1'",
			"23503" },
	};
	for (size_t i = 0; i < CB_ARRAY_SIZE(refused); i++) {
		if (cb__store_exec(f->store, NULL, "test", refused[i].sql, 0,
			    NULL) != CB_EDB)
			fail_msg("accepted: %s", refused[i].sql);
		assert_string_equal(
			refused[i].sqlstate, cb_error_last()->sqlstate);
	}
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (fp == NULL)
		fail_msg("cannot open %s", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(n, fread(buf, 1, (size_t)n, fp));
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void
test_store_embedded_migrations_match_files(void **state)
{
	struct fixture *f = *state;
	cb_buf out = CB_BUF_INIT;

	assert_true(cb__migration_count >= 1);
	for (size_t i = 0; i < cb__migration_count; i++) {
		const struct cb__migration *m = &cb__migrations[i];
		char path[1024];
		size_t len;
		char *text;

		assert_int_equal((int)i + 1, m->version);
		snprintf(path, sizeof(path), "%s/sql/migrations/%03d_%s.sql",
			cb_test_source_dir(), m->version, m->name);
		text = read_file(path, &len);
		assert_int_equal(len, m->sql_len);
		assert_int_equal(len, strlen(m->sql));
		assert_memory_equal(text, m->sql, len);
		free(text);

		/* The build's SHA-256, checked by a second implementation. */
		ASSERT_OK(cb__store_exec(f->store, &out, "test",
			"SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')",
			1, &m->sql));
		assert_string_equal(m->checksum, out.ptr);
	}
	cb_buf_dispose(&out);
}

struct racer {
	cb_store *store; /* migrate_run only */
	const char *dsn;
	int error;
	int applied;
	pthread_barrier_t *start;
};

static void *
racer_run(void *arg)
{
	struct racer *r = arg;
	cb_store *s = NULL;

	r->error = cb_store_open(&s, r->dsn);
	pthread_barrier_wait(r->start);
	if (r->error == 0)
		r->error = cb_store_migrate(s, &r->applied);
	cb_store_close(s);
	return NULL;
}

static void
test_store_concurrent_migrators_apply_each_once(void **state)
{
	struct fixture *f = *state;
	enum { RACERS = 4 };
	struct racer r[RACERS];
	pthread_t t[RACERS];
	pthread_barrier_t start;
	int total = 0;

	for (int round = 0; round < 3; round++) {
		pthread_barrier_init(&start, NULL, RACERS);
		for (int i = 0; i < RACERS; i++) {
			r[i] = (struct racer){ NULL, f->dsn, -1, -1, &start };
			assert_int_equal(0,
				pthread_create(&t[i], NULL, racer_run, &r[i]));
		}
		total = 0;
		for (int i = 0; i < RACERS; i++) {
			pthread_join(t[i], NULL);
			assert_int_equal(0, r[i].error);
			total += r[i].applied;
		}
		pthread_barrier_destroy(&start);
		assert_int_equal((int)cb__migration_count, total);
		query(f->store, "DROP SCHEMA chargeback CASCADE");
	}
}

static atomic_int waiting_logged;

static void
wait_log_cb(int level, const char *line, void *payload)
{
	(void)payload;
	if (level == CB_LOG_INFO &&
		strcmp(line, "store: waiting for another migration of this "
			     "database to finish") == 0)
		atomic_store(&waiting_logged, 1);
}

static void *
migrate_run(void *arg)
{
	struct racer *r = arg;

	r->error = cb_store_migrate(r->store, &r->applied);
	return NULL;
}

static void
test_store_migrate_waits_for_the_lock_and_says_so(void **state)
{
	struct fixture *f = *state;
	struct racer r = { .error = -1, .applied = -1 };
	cb_store *holder = NULL;
	pthread_t t;

	/* Advisory locks are per database: hold the migration lock on the
	 * scratch database from a second connection. */
	ASSERT_OK(cb_store_open(&holder, f->dsn));
	query(holder, "BEGIN");
	query(holder, "SELECT pg_advisory_xact_lock(7161406656947052916)");

	atomic_store(&waiting_logged, 0);
	cb_log_set_level(CB_LOG_INFO);
	cb_log_set_callback(wait_log_cb, NULL);
	r.store = f->store;
	assert_int_equal(0, pthread_create(&t, NULL, migrate_run, &r));
	for (int i = 0; i < 1000 && !atomic_load(&waiting_logged); i++)
		usleep(10000);
	assert_true(atomic_load(&waiting_logged));
	assert_int_equal(-1, r.error); /* still waiting */
	query(holder, "COMMIT");
	pthread_join(t, NULL);
	cb_log_set_callback(NULL, NULL);
	cb_log_set_level(CB_LOG_WARN);

	assert_int_equal(0, r.error);
	assert_int_equal((int)cb__migration_count, r.applied);
	cb_store_close(holder);
}

static void
test_store_foreach_stops_when_told(void **state)
{
	struct fixture *f = *state;
	struct listed l = { .stop_after = 1 };

	ASSERT_OK(cb_store_migrate(f->store, NULL));
	exec1(f->store,
		"INSERT INTO chargeback.schema_migration"
		" (version, name, checksum, chargeback_version)"
		" VALUES (9, $1, 'x', '9.9.9')",
		"later");
	assert_int_equal(42, cb_store_migration_foreach(f->store, list_cb, &l));
	assert_int_equal(1, l.count);
}

static void
test_store_reading_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct listed l = { 0 };
	int db = -1;

	ASSERT_OK(cb_store_schema_version(f->store, &db, NULL));
	ASSERT_OK(cb_store_migration_foreach(f->store, list_cb, &l));
	assert_int_equal(0, db);
	assert_string_equal(
		"0", query(f->store, "SELECT count(*) FROM pg_namespace"
				     " WHERE nspname = 'chargeback'"));
}

static void
test_store_lost_connection_is_an_error(void **state)
{
	struct fixture *f = *state;
	const char *pid = NULL;
	cb_buf b = CB_BUF_INIT;
	int applied = -1;

	ASSERT_OK(cb__store_exec(
		f->store, &b, "test", "SELECT pg_backend_pid()", 0, NULL));
	pid = b.ptr;
	ASSERT_OK(cb__store_exec(admin, NULL, "test",
		"SELECT pg_terminate_backend($1::int, 10000)", 1, &pid));
	cb_buf_dispose(&b);
	assert_int_equal(CB_EDB, cb_store_migrate(f->store, &applied));
	assert_int_equal(0, applied);
	assert_int_equal(0, strncmp("database: looking for schema_migration: ",
				    cb_error_last()->message, 40));
	assert_int_equal(CB_EDB, cb_store_schema_version(f->store, NULL, NULL));
}

static void
test_store_open_survives_oom(void **state)
{
	struct fixture *f = *state;
	cb_store *s = NULL;
	unsigned long n;
	int error;

	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb_store_open(&s, f->dsn);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_null(s);
	}
	cb__alloc_fail_after(0);
	assert_true(n > 1);
	assert_string_equal(f->dbname, query(s, "SELECT current_database()"));
	cb_store_close(s);
}

static void
test_store_exec_survives_oom(void **state)
{
	struct fixture *f = *state;
	cb_buf out = CB_BUF_INIT;
	unsigned long n;
	int error;

	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__store_exec(
			f->store, &out, "test", "SELECT 'abc'", 0, NULL);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
	}
	cb__alloc_fail_after(0);
	assert_true(n > 1);
	assert_string_equal("abc", out.ptr);
	cb_buf_dispose(&out);

	/* Migrating and listing use no allocator of ours at all. */
	cb__alloc_fail_after(1);
	ASSERT_OK(cb_store_migrate(f->store, NULL));
	ASSERT_OK(cb_store_schema_version(f->store, NULL, NULL));
	{
		struct listed l = { 0 };

		ASSERT_OK(cb_store_migration_foreach(f->store, list_cb, &l));
	}
	cb__alloc_fail_after(0);
}

static void
test_store_rejects_bad_arguments(void **state)
{
	struct fixture *f = *state;
	int applied = -1;

	assert_int_equal(CB_EINVAL, cb_store_open(NULL, "x"));
	assert_string_equal("cb_store_open: invalid argument: out",
		cb_error_last()->message);
	assert_int_equal(CB_EINVAL, cb_store_migrate(NULL, &applied));
	assert_int_equal(0, applied);
	assert_int_equal(CB_EINVAL, cb_store_schema_version(NULL, NULL, NULL));
	assert_int_equal(
		CB_EINVAL, cb_store_migration_foreach(f->store, NULL, NULL));
	assert_string_equal("cb_store_migration_foreach: invalid argument: cb",
		cb_error_last()->message);
	cb_store_close(NULL);
}

static int
group_setup(void **state)
{
	(void)state;
	base_dsn = getenv("CHARGEBACK_TEST_DSN");
	if (base_dsn == NULL || *base_dsn == '\0') {
		fprintf(stderr,
			"test_store: CHARGEBACK_TEST_DSN is not set; run "
			"scripts/test, or: scripts/pg-local start; eval "
			"\"$(scripts/pg-local env)\"; export "
			"CHARGEBACK_TEST_DSN=$CHARGEBACK_DSN\n");
		return -1;
	}
	if (strstr(base_dsn, "://") != NULL) {
		fprintf(stderr, "test_store: CHARGEBACK_TEST_DSN must be "
				"keyword=value, not a URI\n");
		return -1;
	}
	if (cb_store_open(&admin, base_dsn) != 0) {
		fprintf(stderr, "test_store: %s\n", cb_error_last()->message);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	cb_store_close(admin);
	cb_buf_dispose(&query_out);
	return 0;
}

#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_store_migrates_from_empty),
		T(test_store_second_migrate_applies_nothing),
		T(test_store_refuses_newer_database),
		T(test_store_detects_changed_migration),
		T(test_store_failed_migration_rolls_back_with_sqlstate),
		T(test_store_statement_error_carries_sqlstate),
		T(test_store_open_error_hides_password),
		T(test_store_open_uses_libpq_environment),
		T(test_store_schema_is_as_designed),
		T(test_store_embedded_migrations_match_files),
		T(test_store_concurrent_migrators_apply_each_once),
		T(test_store_migrate_waits_for_the_lock_and_says_so),
		T(test_store_foreach_stops_when_told),
		T(test_store_reading_changes_nothing),
		T(test_store_lost_connection_is_an_error),
		T(test_store_open_survives_oom),
		T(test_store_exec_survives_oom),
		T(test_store_rejects_bad_arguments),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
