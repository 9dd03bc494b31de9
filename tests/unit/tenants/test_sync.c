/*
 * tests/unit/tenants/test_sync.c - `chargeback sync` as a library call:
 * an in-process armsim on one side, the real PostgreSQL of
 * CHARGEBACK_TEST_DSN (a scratch database per test) on the other.
 *
 * A complete snapshot equals armsim's partner (counts and exact rows); a
 * second sync changes nothing; a policy or budget changed in Azure shows
 * as changed with its columns; a customer removed from the partner is
 * gone with its subscriptions, policy and budgets; the rate limiter keeps
 * a walk under a tight throttle free of 429s; a failure part-way commits
 * nothing; a second sync is refused while one runs; the request count
 * follows the formula in tenants/walk.c; the customers' calls start as
 * the first customers page arrives, the snapshot in ARM's order; a list
 * page failing names the account; a token too short-lived to be used
 * from a completion callback makes the walk go in rounds.
 */
#include "core/common.h"

#include "core/buf.h"
#include "sql/store_internal.h"
#include "tests/unit/emulator/fixture.h"

#include <stdlib.h>
#include <unistd.h>

#define SECRET "sync-test-secret"

#define ASSERT_OK(expr)                                                    \
	do {                                                               \
		int rc_ = (expr);                                          \
		if (rc_ != 0)                                              \
			fail_msg("%s: %s (%s)", #expr, cb_error_name(rc_), \
				cb_error_last()->message);                 \
	} while (0)

static const char *base_dsn;
static cb_store *admin;
static unsigned seq;

struct fx {
	char db[64];
	char dsn[1024];
	cb_store *store;
	char dir[128]; /* temp dir for partner files */
};

static cb_buf qbuf = CB_BUF_INIT;

/* The first value of sql on store. */
static const char *
query(cb_store *store, const char *sql)
{
	ASSERT_OK(cb__store_exec(store, &qbuf, "test", sql, 0, NULL));
	return qbuf.ptr;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char stmt[160];

	snprintf(f->db, sizeof(f->db), "cb_test_sync_%ld_%u", (long)getpid(),
		seq++);
	snprintf(f->dsn, sizeof(f->dsn), "%s dbname=%s", base_dsn, f->db);
	snprintf(stmt, sizeof(stmt), "CREATE DATABASE %s TEMPLATE template0",
		f->db);
	ASSERT_OK(cb__store_exec(admin, NULL, "test", stmt, 0, NULL));
	ASSERT_OK(cb_store_open(&f->store, f->dsn));
	ASSERT_OK(cb_store_migrate(f->store, NULL));
	snprintf(f->dir, sizeof(f->dir), "/tmp/cb_test_sync_%ld_XXXXXX",
		(long)getpid());
	assert_non_null(mkdtemp(f->dir));
	setenv("CB_TEST_SYNC_SECRET", SECRET, 1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char stmt[160];

	cb_store_close(f->store);
	snprintf(stmt, sizeof(stmt), "DROP DATABASE %s WITH (FORCE)", f->db);
	ASSERT_OK(cb__store_exec(admin, NULL, "test", stmt, 0, NULL));
	snprintf(stmt, sizeof(stmt), "rm -rf '%s'", f->dir);
	if (system(stmt) != 0)
		return -1;
	free(f);
	return 0;
}

/* A configuration pointing at s; extra is more configuration text. */
static cb_config *
config_for(as_server *s, const char *extra)
{
	char base[128], text[2048];
	const char *tenant, *client;
	cb_config *cfg = NULL;

	as_server_base(s, base, sizeof(base));
	as_entra_ids(s, &tenant, &client);
	snprintf(text, sizeof(text),
		"azure = { tenant_id = \"%s\"; client_id = \"%s\";\n"
		"  client_secret_env = \"CB_TEST_SYNC_SECRET\";\n"
		"  authority_host = \"%s\"; management_endpoint = \"%s\"; };\n"
		"%s",
		tenant, client, base, base, extra ? extra : "");
	ASSERT_OK(cb_config_load_string(&cfg, text, "test.cfg"));
	return cfg;
}

static as_server *
start(unsigned customers, const char *partner_file, const char *throttle)
{
	as_options o;

	as_test_options(&o, customers);
	o.client_secret = SECRET;
	o.partner_file = partner_file;
	o.throttle = throttle;
	/* Both partner files of a test share one tenant and application. */
	o.tenant_id = "11111111-2222-4333-8444-555555555555";
	o.client_id = "22222222-2222-4333-8444-555555555555";
	return as_test_start(&o);
}

static size_t
customer_subscriptions(const as_partner *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nsubscriptions; i++)
		n += p->subscriptions[i].customer != AS_NO_CUSTOMER;
	return n;
}

/* PUT a budget named name with amount at customer c. */
static void
put_budget(as_server *s, const as_customer *c, const char *name,
	const char *amount)
{
	char path[1024], body[1024];

	snprintf(path, sizeof(path),
		"/providers/Microsoft.Billing/billingAccounts/%s/customers/%s/"
		"providers/Microsoft.Consumption/budgets/%s"
		"?api-version=2024-08-01",
		s->partner->accounts[c->account].name, c->id, name);
	snprintf(body, sizeof(body),
		"{\"properties\":{\"category\":\"Cost\",\"amount\":%s,"
		"\"timeGrain\":\"Monthly\",\"timePeriod\":{\"startDate\":"
		"\"2026-10-01T00:00:00Z\",\"endDate\":\"2027-09-30T00:00:00Z\"},"
		"\"notifications\":{\"Actual_GreaterThan_80_Percent\":{"
		"\"enabled\":true,\"operator\":\"GreaterThan\",\"threshold\":80,"
		"\"contactEmails\":[\"ops@contoso.example\"]}}}}",
		amount);
	cb_test_reply r;
	as_test_call(s, &r, "PUT", path, NULL, body);
	if (r.status != 200 && r.status != 201)
		fail_msg("PUT budget: %ld %s", r.status, r.body);
	cb_test_reply_free(&r);
}

static void
put_policy(as_server *s, const as_customer *c, const char *value)
{
	char path[1024], body[128];

	snprintf(path, sizeof(path),
		"/providers/Microsoft.Billing/billingAccounts/%s/customers/%s/"
		"policies/default?api-version=2020-05-01",
		s->partner->accounts[c->account].name, c->id);
	snprintf(body, sizeof(body),
		"{\"properties\":{\"viewCharges\":\"%s\"}}", value);
	as_test_expect(s, "PUT", path, NULL, body, 200, NULL);
}

static size_t
total_changes(const cb_sync_result *r, int action)
{
	size_t n = 0;

	for (int k = 0; k < CB_SYNC_KINDS; k++)
		n += r->changed[action][k];
	return n;
}

static void
test_sync_snapshot_equals_the_partner(void **state)
{
	struct fx *f = *state;
	as_server *s = start(12, NULL, NULL);
	const as_partner *p = s->partner;
	const as_customer *c0 = &p->customers[0], *indirect = NULL;
	cb_config *cfg = config_for(s, NULL);
	cb_sync_result r = CB_SYNC_RESULT_INIT;
	char sql[1024], want[1024];

	(void)state;
	put_budget(s, c0, "cb-monthly", "1234.56");
	put_budget(s, c0, "Hand-Made", "100");
	ASSERT_OK(cb_sync_run(f->store, cfg, NULL, NULL, NULL, &r));

	/* Counts: everything armsim has, once. */
	assert_int_equal(2, r.count[CB_SYNC_BILLING_ACCOUNT]);
	assert_int_equal(p->nprofiles, r.count[CB_SYNC_BILLING_PROFILE]);
	assert_int_equal(12, r.count[CB_SYNC_CUSTOMER]);
	assert_int_equal(
		customer_subscriptions(p), r.count[CB_SYNC_SUBSCRIPTION]);
	assert_int_equal(24, r.count[CB_SYNC_SUBSCRIPTION]);
	assert_int_equal(12, r.count[CB_SYNC_POLICY]);
	assert_int_equal(2, r.count[CB_SYNC_BUDGET]);
	for (int k = 0; k < CB_SYNC_KINDS; k++)
		assert_int_equal(r.count[k], r.changed[CB_SYNC_NEW][k]);
	assert_int_equal(0, total_changes(&r, CB_SYNC_CHANGED));
	assert_int_equal(0, total_changes(&r, CB_SYNC_GONE));
	assert_int_equal(0, r.throttled);
	assert_true(r.run_id > 0);
	/* 1 account list + 2 profile lists + customers + subscriptions of
	 * the MPA account + 2 per customer. */
	assert_int_equal(1 + 2 + 2 + 2 * 12, r.requests);
	cb_sync_result_dispose(&r);

	/* The same in the database, no duplicates. */
	assert_string_equal("2|12|24|12|2",
		query(f->store,
			"SELECT (SELECT count(*) FROM chargeback.billing_account)"
			" || '|' || (SELECT count(*) FROM chargeback.customer)"
			" || '|' || (SELECT count(DISTINCT subscription_id) FROM"
			" chargeback.subscription) || '|' || (SELECT count(*)"
			" FROM chargeback.customer_policy) || '|' || (SELECT "
			"count(*) FROM chargeback.customer_budget)"));

	/* A few exact rows. */
	snprintf(sql, sizeof(sql),
		"SELECT concat_ws('|', display_name, tenant_id, "
		"billing_profile_id, coalesce(reseller_id, '-'), status, "
		"gone_at IS NULL) FROM chargeback.customer WHERE customer_id = "
		"'%s'",
		c0->id);
	snprintf(want, sizeof(want), "%s|%s|%s|%s|Active|t", c0->display,
		c0->id, p->profiles[c0->profile].name,
		c0->indirect ? c0->reseller_mpn : "-");
	assert_string_equal(want, query(f->store, sql));
	for (size_t i = 0; i < p->ncustomers && !indirect; i++)
		if (p->customers[i].indirect)
			indirect = &p->customers[i];
	assert_non_null(indirect);
	snprintf(sql, sizeof(sql),
		"SELECT concat_ws('|', reseller_id, reseller_name) FROM "
		"chargeback.customer WHERE customer_id = '%s'",
		indirect->id);
	snprintf(want, sizeof(want), "%s|%s", indirect->reseller_mpn,
		indirect->reseller_name);
	assert_string_equal(want, query(f->store, sql));
	snprintf(sql, sizeof(sql),
		"SELECT concat_ws('|', customer_id, display_name, sku_id, "
		"status) FROM chargeback.subscription WHERE subscription_id = "
		"'%s'",
		p->subscriptions[0].id);
	snprintf(want, sizeof(want), "%s|%s|%s|Active",
		p->customers[p->subscriptions[0].customer].id,
		p->subscriptions[0].display, p->subscriptions[0].sku_id);
	assert_string_equal(want, query(f->store, sql));
	assert_string_equal("NotAllowed",
		query(f->store,
			"SELECT string_agg(DISTINCT view_charges, ',') FROM "
			"chargeback.customer_policy"));
	assert_string_equal(
		"Hand-Made|100|Monthly|f;cb-monthly|1234.56|Monthly|t",
		query(f->store,
			"SELECT string_agg(concat_ws('|', name, amount, "
			"time_grain, managed), ';' ORDER BY name COLLATE \"C\") "
			"FROM chargeback.customer_budget"));
	assert_string_equal("ops@contoso.example",
		query(f->store,
			"SELECT notifications #>> "
			"'{Actual_GreaterThan_80_Percent,contactEmails,0}' FROM "
			"chargeback.customer_budget WHERE name = 'cb-monthly'"));
	assert_string_equal("ok|1",
		query(f->store, "SELECT status || '|' || count(*) OVER () FROM "
				"chargeback.sync_run"));

	/* A second sync: nothing new, changed or gone; last_seen moves. */
	ASSERT_OK(cb_sync_run(f->store, cfg, NULL, NULL, NULL, &r));
	assert_int_equal(0, r.change_count);
	assert_int_equal(12, r.count[CB_SYNC_CUSTOMER]);
	cb_sync_result_dispose(&r);
	assert_string_equal(
		"0", query(f->store,
			     "SELECT count(*) FROM chargeback.customer WHERE "
			     "last_seen = first_seen OR gone_at IS NOT NULL"));

	/* Changed in Azure: a policy, and a budget's amount. */
	put_policy(s, &p->customers[1], "Allowed");
	put_budget(s, c0, "cb-monthly", "2000");
	ASSERT_OK(cb_sync_run(f->store, cfg, NULL, NULL, NULL, &r));
	assert_int_equal(2, r.change_count);
	assert_int_equal(CB_SYNC_POLICY, r.changes[0].kind);
	assert_int_equal(CB_SYNC_CHANGED, r.changes[0].action);
	assert_string_equal(p->customers[1].id, r.changes[0].customer_id);
	assert_string_equal("view_charges", r.changes[0].fields);
	assert_int_equal(CB_SYNC_BUDGET, r.changes[1].kind);
	assert_string_equal("cb-monthly", r.changes[1].id);
	assert_string_equal("amount,etag", r.changes[1].fields);
	cb_sync_result_dispose(&r);
	snprintf(sql, sizeof(sql),
		"SELECT view_charges || '|' || (observed_at > first_seen) FROM "
		"chargeback.customer_policy WHERE customer_id = '%s'",
		p->customers[1].id);
	assert_string_equal("Allowed|true", query(f->store, sql));
	assert_string_equal("2000",
		query(f->store,
			"SELECT amount FROM chargeback.customer_budget WHERE "
			"name = 'cb-monthly'"));

	cb_config_free(cfg);
	as_server_stop(s);
}

/* A partner file with customers [0, n) except skip (or none: n). */
static void
write_partner(const char *path, unsigned n, unsigned skip)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fprintf(fp,
		"{\"tenantId\": \"11111111-2222-4333-8444-555555555555\",\n"
		" \"name\": \"Fabrikam\",\n"
		" \"accounts\": [{\"name\": \"aaaa:bbbb_2019-05-31\", "
		"\"displayName\": \"Fabrikam\", \"agreement\": "
		"\"MicrosoftPartnerAgreement\"}],\n"
		" \"profiles\": [{\"account\": \"aaaa:bbbb_2019-05-31\", "
		"\"name\": \"AAAA-BBBB-CCC-DDD\", \"displayName\": \"Europe\", "
		"\"currency\": \"EUR\"}],\n \"customers\": [");
	for (unsigned i = 0, first = 1; i < n; i++) {
		if (i == skip)
			continue;
		fprintf(fp,
			"%s{\"profile\": \"AAAA-BBBB-CCC-DDD\", \"id\": "
			"\"aaaaaaaa-0000-4000-8000-%012u\", \"displayName\": "
			"\"Customer %u\"}",
			first ? "" : ",", i, i);
		first = 0;
	}
	fprintf(fp, "],\n \"subscriptions\": [");
	for (unsigned i = 0, first = 1; i < n; i++) {
		if (i == skip)
			continue;
		for (unsigned k = 0; k < 2; k++) {
			fprintf(fp,
				"%s{\"id\": \"bbbbbbbb-000%u-4000-8000-%012u\","
				" \"displayName\": \"Sub %u.%u\", "
				"\"customer\": "
				"\"aaaaaaaa-0000-4000-8000-%012u\"}",
				first ? "" : ",", k, i, i, k, i);
			first = 0;
		}
	}
	fprintf(fp, "]}\n");
	fclose(fp);
}

static void
test_sync_removed_customer_is_gone(void **state)
{
	struct fx *f = *state;
	char all[256], fewer[256];
	cb_sync_result r = CB_SYNC_RESULT_INIT;
	as_server *s;
	cb_config *cfg;

	snprintf(all, sizeof(all), "%s/all.json", f->dir);
	snprintf(fewer, sizeof(fewer), "%s/fewer.json", f->dir);
	write_partner(all, 4, 4);
	write_partner(fewer, 4, 2);

	s = start(0, all, NULL);
	put_budget(s, &s->partner->customers[2], "cb-q", "50");
	cfg = config_for(s, NULL);
	ASSERT_OK(cb_sync_run(f->store, cfg, NULL, NULL, NULL, &r));
	assert_int_equal(4, r.count[CB_SYNC_CUSTOMER]);
	assert_int_equal(8, r.count[CB_SYNC_SUBSCRIPTION]);
	assert_int_equal(1, r.count[CB_SYNC_BUDGET]);
	cb_sync_result_dispose(&r);
	cb_config_free(cfg);
	as_server_stop(s);

	/* The same partner without customer 2. */
	s = start(0, fewer, NULL);
	cfg = config_for(s, NULL);
	ASSERT_OK(cb_sync_run(f->store, cfg, NULL, NULL, NULL, &r));
	assert_int_equal(3, r.count[CB_SYNC_CUSTOMER]);
	assert_int_equal(0, total_changes(&r, CB_SYNC_NEW));
	assert_int_equal(0, total_changes(&r, CB_SYNC_CHANGED));
	assert_int_equal(5, r.change_count);
	/* In order: the customer, its two subscriptions, its policy, its
	 * budget. */
	for (size_t i = 0; i < r.change_count; i++) {
		assert_int_equal(CB_SYNC_GONE, r.changes[i].action);
		assert_string_equal("aaaaaaaa-0000-4000-8000-000000000002",
			r.changes[i].customer_id);
	}
	assert_int_equal(CB_SYNC_CUSTOMER, r.changes[0].kind);
	assert_string_equal("Customer 2", r.changes[0].name);
	assert_int_equal(CB_SYNC_SUBSCRIPTION, r.changes[1].kind);
	assert_string_equal(
		"bbbbbbbb-0000-4000-8000-000000000002", r.changes[1].id);
	assert_int_equal(CB_SYNC_SUBSCRIPTION, r.changes[2].kind);
	assert_int_equal(CB_SYNC_POLICY, r.changes[3].kind);
	assert_int_equal(CB_SYNC_BUDGET, r.changes[4].kind);
	assert_string_equal("cb-q", r.changes[4].id);
	cb_sync_result_dispose(&r);
	/* Never deleted: marked, the rest untouched. */
	assert_string_equal("4|1|8|2",
		query(f->store,
			"SELECT (SELECT count(*) FROM chargeback.customer) || "
			"'|' || (SELECT count(*) FROM chargeback.customer WHERE "
			"gone_at IS NOT NULL) || '|' || (SELECT count(*) FROM "
			"chargeback.subscription) || '|' || (SELECT count(*) "
			"FROM chargeback.subscription WHERE gone_at IS NOT "
			"NULL)"));
	cb_config_free(cfg);
	as_server_stop(s);

	/* Back again: new (returned), gone_at cleared, first_seen kept. */
	s = start(0, all, NULL);
	cfg = config_for(s, NULL);
	ASSERT_OK(cb_sync_run(f->store, cfg, NULL, NULL, NULL, &r));
	assert_int_equal(4, total_changes(&r, CB_SYNC_NEW));
	assert_int_equal(1, r.changed[CB_SYNC_NEW][CB_SYNC_CUSTOMER]);
	cb_sync_result_dispose(&r);
	assert_string_equal("0|4",
		query(f->store,
			"SELECT (SELECT count(*) FROM chargeback.subscription "
			"WHERE gone_at IS NOT NULL) || '|' || (SELECT count(*) "
			"FROM chargeback.customer WHERE first_seen < "
			"last_seen)"));
	cb_config_free(cfg);
	as_server_stop(s);
}

static void
test_sync_stays_under_the_throttle(void **state)
{
	struct fx *f = *state;
	/* 30 reads, 20 a second: the 65 requests of this walk would be
	 * throttled without pacing. */
	as_server *s = start(30, NULL, "reads=30/20");
	cb_config *cfg = config_for(s, "http = { max_parallel = 8; };\n");
	cb_sync_snapshot *snap = NULL;
	cb_test_reply r;

	(void)state;
	CB_UNUSED(f);
	ASSERT_OK(cb_sync_walk(&snap, cfg, NULL, NULL, NULL));
	assert_int_equal(30, snap->customer_count);
	assert_int_equal(65, snap->requests);
	assert_int_equal(0, snap->throttled);
	assert_true(snap->paced > 0);
	/* armsim agrees: no 429 at all. */
	as_test_call(s, &r, "GET", "/_armsim/requests", NULL, NULL);
	assert_null(strstr(r.body, "\"status\":429"));
	assert_non_null(strstr(r.body, "\"status\":200"));
	cb_test_reply_free(&r);
	cb_sync_snapshot_free(snap);
	cb_config_free(cfg);
	as_server_stop(s);
}

static void
test_sync_failure_commits_nothing(void **state)
{
	struct fx *f = *state;
	as_server *s = start(5, NULL, NULL);
	cb_config *cfg = config_for(s, "http = { max_attempts = 2; };\n");
	cb_sync_result r = CB_SYNC_RESULT_INIT;
	const char *before;
	char *saved;
	cb_test_reply t;
	int rc;

	ASSERT_OK(cb_sync_run(f->store, cfg, NULL, NULL, NULL, &r));
	cb_sync_result_dispose(&r);
	saved = strdup(query(f->store,
		"SELECT string_agg(customer_id || last_seen::text, ',' ORDER "
		"BY customer_id) FROM chargeback.customer"));
	/* From the third on, every policy read fails. */
	as_test_call(s, &t, "POST", "/_armsim/faults", NULL,
		"{\"faults\":[{\"route\":\"policies/default\",\"calls\":"
		"{\"from\":3},\"kind\":\"status\",\"status\":503,"
		"\"retryAfter\":0}]}");
	assert_int_equal(200, t.status);
	cb_test_reply_free(&t);
	rc = cb_sync_run(f->store, cfg, NULL, NULL, NULL, &r);
	assert_int_equal(CB_EHTTP, rc);
	assert_int_equal(503, cb_error_last()->http_status);
	assert_non_null(strstr(cb_error_last()->message, "customer "));
	assert_non_null(strstr(
		cb_error_last()->message, "/policies/default: http 503"));
	assert_null(strstr(cb_error_last()->message, "api-version"));
	cb_sync_result_dispose(&r);
	/* The previous snapshot, untouched; the failure recorded. */
	before = query(f->store,
		"SELECT string_agg(customer_id || last_seen::text, ',' ORDER "
		"BY customer_id) FROM chargeback.customer");
	assert_string_equal(saved, before);
	free(saved);
	assert_string_equal("ok,failed",
		query(f->store,
			"SELECT string_agg(status, ',' ORDER BY id) FROM "
			"chargeback.sync_run"));
	assert_non_null(
		strstr(query(f->store, "SELECT error FROM chargeback.sync_run "
				       "WHERE status = 'failed'"),
			"http 503"));
	/* The lock was released: with the fault gone the next sync runs. */
	as_test_expect(s, "DELETE", "/_armsim/faults", NULL, NULL, 204, NULL);
	ASSERT_OK(cb_sync_run(f->store, cfg, NULL, NULL, NULL, &r));
	assert_int_equal(0, r.change_count);
	cb_sync_result_dispose(&r);
	cb_config_free(cfg);
	as_server_stop(s);
}

static void
test_sync_refuses_a_concurrent_sync(void **state)
{
	struct fx *f = *state;
	as_server *s = start(2, NULL, NULL);
	cb_config *cfg = config_for(s, NULL);
	cb_sync_result r = CB_SYNC_RESULT_INIT;
	cb_store *other = NULL;
	char want[256];

	ASSERT_OK(cb_store_open(&other, f->dsn));
	ASSERT_OK(cb_store_sync_lock(other));
	assert_int_equal(
		CB_ELOCKED, cb_sync_run(f->store, cfg, NULL, NULL, NULL, &r));
	snprintf(want, sizeof(want),
		"another sync is running on this database (PostgreSQL backend "
		"%s holds the sync lock); wait for it to finish",
		query(other, "SELECT pg_backend_pid()"));
	assert_string_equal(want, cb_error_last()->message);
	assert_string_equal("0", query(f->store, "SELECT count(*) FROM "
						 "chargeback.sync_run"));
	ASSERT_OK(cb_store_sync_unlock(other));
	ASSERT_OK(cb_sync_run(f->store, cfg, NULL, NULL, NULL, &r));
	cb_sync_result_dispose(&r);
	cb_store_close(other);
	cb_config_free(cfg);
	as_server_stop(s);
}

struct seen {
	size_t calls;
	size_t last_done, last_total;
};

static void
on_progress(const cb_sync_progress *p, void *payload)
{
	struct seen *s = payload;

	s->calls++;
	s->last_done = p->customers_done;
	s->last_total = p->customers_total;
}

static void
test_sync_walks_the_named_accounts(void **state)
{
	as_server *s = start(3, NULL, NULL);
	cb_config *cfg = config_for(s, NULL);
	const char *names[] = { as_test_mpa(s) };
	cb_sync_options o = CB_SYNC_OPTIONS_INIT;
	cb_sync_snapshot *snap = NULL;
	struct seen seen = { 0 };

	(void)state;
	o.billing_accounts = names;
	o.billing_account_count = 1;
	o.concurrency = 2;
	ASSERT_OK(cb_sync_walk(&snap, cfg, &o, on_progress, &seen));
	assert_int_equal(1, snap->account_count);
	assert_string_equal(names[0], snap->accounts[0].id);
	assert_string_equal(
		"MicrosoftPartnerAgreement", snap->accounts[0].agreement_type);
	assert_false(snap->all_accounts);
	assert_int_equal(3, snap->customer_count);
	/* GET account + profiles + customers + subscriptions + 2 per
	 * customer. */
	assert_int_equal(4 + 2 * 3, snap->requests);
	assert_true(seen.calls >= 3);
	assert_int_equal(3, seen.last_done);
	assert_int_equal(3, seen.last_total);
	cb_sync_snapshot_free(snap);

	/* An account that does not exist: ARM's message and the call. */
	names[0] = "nope";
	assert_int_equal(
		CB_ENOTFOUND, cb_sync_walk(&snap, cfg, &o, NULL, NULL));
	assert_non_null(strstr(
		cb_error_last()->message, "billing account nope: GET http://"));
	assert_non_null(strstr(cb_error_last()->message, "http 404"));
	cb_config_free(cfg);
	as_server_stop(s);
}

/* The log index of the first request whose text holds what, or of the
 * last one with last; -1 when none. */
static long
log_find(const char *log, const char *what, bool last)
{
	const char *hit = NULL;

	for (const char *p = log; (p = strstr(p, what)) != NULL; p++) {
		hit = p;
		if (!last)
			break;
	}
	return hit ? (long)(hit - log) : -1;
}

/* Pages of 4: the customers' calls start as the first customers page
 * arrives, not after the lists; the snapshot keeps ARM's order, and the
 * requests are the same as fetching the lists first. */
static void
test_sync_pipelines_the_pages(void **state)
{
	as_options o;
	as_server *s;
	cb_config *cfg;
	cb_sync_snapshot *snap = NULL;
	const as_partner *p;
	size_t k = 0, subs;
	cb_test_reply r;

	(void)state;
	as_test_options(&o, 30);
	o.client_secret = SECRET;
	o.page_size = 4;
	s = as_test_start(&o);
	p = s->partner;
	cfg = config_for(s, "http = { max_parallel = 3; };\n");
	ASSERT_OK(cb_sync_walk(&snap, cfg, NULL, NULL, NULL));
	assert_int_equal(30, snap->customer_count);
	for (size_t i = 0; i < p->ncustomers; i++)
		if (p->accounts[p->customers[i].account].agreement ==
			AS_AGREEMENT_MPA)
			assert_string_equal(p->customers[i].id,
				snap->customers[k++].customer_id);
	assert_int_equal(30, k);
	subs = customer_subscriptions(p);
	assert_int_equal(subs, snap->subscription_count);
	assert_int_equal(p->nprofiles, snap->profile_count);
	/* 1 account list, the profiles of 2 accounts (1 page each), 8
	 * customer pages, the subscription pages, 2 per customer. */
	assert_int_equal(1 + 2 + 8 + (subs + 3) / 4 + 2 * 30, snap->requests);
	as_test_call(s, &r, "GET", "/_armsim/requests", NULL, NULL);
	assert_true(log_find(r.body, "/policies/default", false) > 0);
	assert_true(log_find(r.body, "/policies/default", false) <
		    log_find(r.body, "{ba}/customers\"", true));
	assert_true(log_find(r.body, "/policies/default", false) <
		    log_find(r.body, "{ba}/billingSubscriptions\"", true));
	cb_test_reply_free(&r);
	cb_sync_snapshot_free(snap);
	cb_config_free(cfg);
	as_server_stop(s);
}

/* A customers page that fails after the first: the account, the call and
 * ARM's answer; no snapshot. */
static void
test_sync_list_page_failure(void **state)
{
	as_options o;
	as_server *s;
	cb_config *cfg;
	cb_sync_snapshot *snap = NULL;
	char want[512];
	cb_test_reply t;

	(void)state;
	as_test_options(&o, 10);
	o.client_secret = SECRET;
	o.page_size = 3;
	s = as_test_start(&o);
	cfg = config_for(s, NULL);
	as_test_call(s, &t, "POST", "/_armsim/faults", NULL,
		"{\"faults\":[{\"route\":\"/providers/Microsoft.Billing/"
		"billingAccounts/{name}/customers\","
		"\"calls\":[2],\"kind\":\"status\",\"status\":404,"
		"\"code\":\"NotFound\",\"message\":\"gone away\"}]}");
	assert_int_equal(200, t.status);
	cb_test_reply_free(&t);
	assert_int_equal(
		CB_ENOTFOUND, cb_sync_walk(&snap, cfg, NULL, NULL, NULL));
	assert_null(snap);
	snprintf(want, sizeof(want), "billing account %s: GET http://",
		as_test_mpa(s));
	assert_ptr_equal(cb_error_last()->message,
		strstr(cb_error_last()->message, want));
	assert_non_null(strstr(cb_error_last()->message,
		"/customers: http 404 NotFound: gone away (request id "));
	assert_int_equal(404, cb_error_last()->http_status);
	cb_config_free(cfg);
	as_server_stop(s);
}

/* Tokens that live less than core/auth's refresh margin: every request
 * needs a refresh, which a completion callback may not make, so the walk
 * goes in rounds, each starting outside the executor; same snapshot,
 * no expired token used. */
static void
test_sync_rounds_when_the_token_nears_refresh(void **state)
{
	as_options o;
	as_server *s;
	cb_config *cfg;
	cb_sync_snapshot *snap = NULL;
	cb_test_reply r;

	(void)state;
	as_test_options(&o, 40);
	o.client_secret = SECRET;
	o.page_size = 8;
	o.token_lifetime_s = 120;
	s = as_test_start(&o);
	cfg = config_for(s, "http = { max_parallel = 2; };\n");
	ASSERT_OK(cb_sync_walk(&snap, cfg, NULL, NULL, NULL));
	assert_int_equal(40, snap->customer_count);
	assert_int_equal(
		customer_subscriptions(s->partner), snap->subscription_count);
	assert_int_equal(
		1 + 2 + 5 + (snap->subscription_count + 7) / 8 + 2 * 40,
		snap->requests);
	for (size_t i = 0; i < snap->customer_count; i++)
		assert_non_null(snap->customers[i].view_charges);
	as_test_call(s, &r, "GET", "/_armsim/violations", NULL, NULL);
	assert_non_null(strstr(r.body, "\"count\":0"));
	cb_test_reply_free(&r);
	cb_sync_snapshot_free(snap);
	cb_config_free(cfg);
	as_server_stop(s);
}

/* The store keeps any text exactly (COPY escapes), and a snapshot naming
 * only some accounts marks nothing of the others gone. */
static void
test_sync_store_keeps_text_exactly(void **state)
{
	struct fx *f = *state;
	cb_sync_snapshot *s = calloc(1, sizeof(*s));
	cb_sync_result r = CB_SYNC_RESULT_INIT;
	const char *odd =
		"Tab\there, back\\slash \\N\nnew line\r|\"q\" \xc3\xa9";

	s->accounts = calloc(1, sizeof(*s->accounts));
	s->account_count = 1;
	s->accounts[0].id = cb__strdup("acct:1_2019-05-31");
	s->accounts[0].display_name = cb__strdup(odd);
	s->accounts[0].has_customers = 1;
	s->customers = calloc(1, sizeof(*s->customers));
	s->customer_count = 1;
	s->customers[0].billing_account_id = cb__strdup("acct:1_2019-05-31");
	s->customers[0].customer_id = cb__strdup("Q7GV-UUVA-PJA-TGB");
	s->customers[0].display_name = cb__strdup("\\");
	s->customers[0].tags = cb__strdup("{\"cost\\tcenter\": \"a\\\\b\"}");
	s->budgets = calloc(1, sizeof(*s->budgets));
	s->budget_count = 1;
	s->budgets[0].billing_account_id = cb__strdup("acct:1_2019-05-31");
	s->budgets[0].customer_id = cb__strdup("Q7GV-UUVA-PJA-TGB");
	s->budgets[0].name = cb__strdup("CB-Upper");
	s->budgets[0].amount = cb__strdup("0.000000000000000001");
	s->budgets[0].managed = 1;
	ASSERT_OK(cb_store_sync_write(f->store, s, &r));
	assert_int_equal(3, r.change_count);
	assert_string_equal(odd, r.changes[0].name);
	cb_sync_result_dispose(&r);
	assert_string_equal(odd,
		query(f->store,
			"SELECT display_name FROM chargeback.billing_account"));
	assert_string_equal("\\|a\\b|0.000000000000000001|true|",
		query(f->store,
			"SELECT c.display_name || '|' || (c.tags ->> "
			"'cost\tcenter') || '|' || b.amount || '|' || b.managed "
			"|| '|' || coalesce(c.tenant_id, '') FROM "
			"chargeback.customer c JOIN chargeback.customer_budget b "
			"USING (billing_account_id, customer_id)"));
	/* Another account, walked alone later, leaves this one be. */
	cb__free(s->accounts[0].id);
	s->accounts[0].id = cb__strdup("acct:2_2020-01-15");
	s->customer_count = 0;
	s->budget_count = 0;
	ASSERT_OK(cb_store_sync_write(f->store, s, &r));
	assert_int_equal(1, r.change_count);
	assert_int_equal(CB_SYNC_NEW, r.changes[0].action);
	cb_sync_result_dispose(&r);
	assert_string_equal("0",
		query(f->store,
			"SELECT count(*) FROM chargeback.customer WHERE gone_at "
			"IS NOT NULL"));
	s->customer_count = 1;
	s->budget_count = 1;
	cb_sync_snapshot_free(s);
}

static int
group_setup(void **state)
{
	(void)state;
	base_dsn = getenv("CHARGEBACK_TEST_DSN");
	if (base_dsn == NULL || *base_dsn == '\0') {
		fprintf(stderr, "test_sync: CHARGEBACK_TEST_DSN is not set\n");
		return -1;
	}
	if (cb_init() < 0 || cb_store_open(&admin, base_dsn) != 0) {
		fprintf(stderr, "test_sync: %s\n", cb_error_last()->message);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	cb_store_close(admin);
	cb_buf_dispose(&qbuf);
	cb_shutdown();
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sync_snapshot_equals_the_partner),
		T(test_sync_removed_customer_is_gone),
		T(test_sync_stays_under_the_throttle),
		T(test_sync_failure_commits_nothing),
		T(test_sync_refuses_a_concurrent_sync),
		T(test_sync_walks_the_named_accounts),
		T(test_sync_pipelines_the_pages),
		T(test_sync_list_page_failure),
		T(test_sync_rounds_when_the_token_nears_refresh),
		T(test_sync_store_keeps_text_exactly),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
