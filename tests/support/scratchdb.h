/*
 * tests/support/scratchdb.h - a fresh, migrated PostgreSQL database per
 * test, on the server of $CHARGEBACK_TEST_DSN (scripts/pg-local), dropped
 * after it: the store tests run against a real database, never a mock,
 * and in parallel with each other.
 *
 * Include after <cmocka.h>: failures are cmocka failures.
 */
#ifndef CB_TESTS_SCRATCHDB_H
#define CB_TESTS_SCRATCHDB_H

#include <chargeback/chargeback.h>

struct cb_scratch_db {
	char dbname[64];
	char dsn[1024];
	cb_store *store; /* open on dbname, schema migrated */
};

/* Fail the test with the call and the library's message unless it
 * returns 0. */
#define ASSERT_OK(expr)                                                    \
	do {                                                               \
		int rc_ = (expr);                                          \
		if (rc_ != 0)                                              \
			fail_msg("%s: %s (%s)", #expr, cb_error_name(rc_), \
				cb_error_last()->message);                 \
	} while (0)

/* Group setup: connect to $CHARGEBACK_TEST_DSN.  -1, with a message
 * naming test and how to start a server, when it is unset or down. */
int cb_scratch_admin_open(const char *test);

/* Group teardown. */
void cb_scratch_admin_close(void);

/* A new database cb_test_<prefix>_<pid>_<n>, migrated, with a store open
 * on it; the test fails on any error. */
struct cb_scratch_db *cb_scratch_db_create(const char *prefix);

/* Close and drop it.  NULL is a no-op. */
void cb_scratch_db_drop(struct cb_scratch_db *db);

/* The first column of the first row of sql on store, as text ("" for
 * none); valid until the next call. */
const char *cb_scratch_query(cb_store *store, const char *sql);

#endif
