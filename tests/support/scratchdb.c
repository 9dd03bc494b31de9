/*
 * tests/support/scratchdb.c - a database per test (scratchdb.h).
 */
#include "core/common.h"
#include "sql/store_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/scratchdb.h"

static cb_store *admin;
static const char *base_dsn;
static unsigned seq;
static cb_buf query_out = CB_BUF_INIT;

int
cb_scratch_admin_open(const char *test)
{
	base_dsn = getenv("CHARGEBACK_TEST_DSN");
	if (base_dsn == NULL || *base_dsn == '\0') {
		fprintf(stderr,
			"%s: CHARGEBACK_TEST_DSN is not set (scripts/pg-local "
			"start; export CHARGEBACK_TEST_DSN=\"$(scripts/pg-local "
			"dsn)\")\n",
			test);
		return -1;
	}
	if (cb_store_open(&admin, base_dsn) != 0) {
		fprintf(stderr, "%s: %s\n", test, cb_error_last()->message);
		return -1;
	}
	return 0;
}

void
cb_scratch_admin_close(void)
{
	cb_store_close(admin);
	admin = NULL;
	cb_buf_dispose(&query_out);
}

struct cb_scratch_db *
cb_scratch_db_create(const char *prefix)
{
	struct cb_scratch_db *db = calloc(1, sizeof(*db));
	char stmt[128];

	assert_non_null(db);
	snprintf(db->dbname, sizeof(db->dbname), "cb_test_%s_%ld_%u", prefix,
		(long)getpid(), seq++);
	snprintf(
		db->dsn, sizeof(db->dsn), "%s dbname=%s", base_dsn, db->dbname);
	snprintf(stmt, sizeof(stmt), "CREATE DATABASE %s TEMPLATE template0",
		db->dbname);
	ASSERT_OK(cb__store_exec(admin, NULL, "test", stmt, 0, NULL));
	ASSERT_OK(cb_store_open(&db->store, db->dsn));
	ASSERT_OK(cb_store_migrate(db->store, NULL));
	return db;
}

void
cb_scratch_db_drop(struct cb_scratch_db *db)
{
	char stmt[128];

	if (db == NULL)
		return;
	cb_store_close(db->store);
	snprintf(stmt, sizeof(stmt), "DROP DATABASE %s WITH (FORCE)",
		db->dbname);
	ASSERT_OK(cb__store_exec(admin, NULL, "test", stmt, 0, NULL));
	free(db);
}

const char *
cb_scratch_query(cb_store *store, const char *sql)
{
	ASSERT_OK(cb__store_exec(store, &query_out, "test", sql, 0, NULL));
	return query_out.ptr;
}
