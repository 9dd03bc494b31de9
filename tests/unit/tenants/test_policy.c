/*
 * tests/unit/tenants/test_policy.c - view charges policies: plan, apply,
 * set against an in-process armsim, with the customers in a scratch
 * database of the PostgreSQL named by CHARGEBACK_TEST_DSN (the suite
 * fails without one).
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/billing.h"
#include "sql/store_internal.h"
#include "tests/unit/emulator/fixture.h"

#include <ctype.h>
#include <unistd.h>

#define SECRET "policy-test-secret"

#define ASSERT_OK(expr)                                                    \
	do {                                                               \
		int rc_ = (expr);                                          \
		if (rc_ != 0)                                              \
			fail_msg("%s: %s (%s)", #expr, cb_error_name(rc_), \
				cb_error_last()->message);                 \
	} while (0)

static cb_store *admin;
static const char *base_dsn;
static unsigned scratch_seq;

struct fixture {
	as_server *s;
	char dbname[64];
	cb_store *store;
	const char *ba; /* the MPA account */
	const as_customer *c[4];
};

static cb_buf query_out = CB_BUF_INIT;

static const char *
query(cb_store *store, const char *sql)
{
	ASSERT_OK(cb__store_exec(store, &query_out, "test", sql, 0, NULL));
	return query_out.ptr;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char stmt[256], dsn[1024];
	as_options o;
	size_t n = 0;

	assert_non_null(f);
	as_test_options(&o, 8);
	o.client_secret = SECRET;
	f->s = as_test_start(&o);
	f->ba = as_test_mpa(f->s);
	snprintf(f->dbname, sizeof(f->dbname), "cb_test_policy_%ld_%u",
		(long)getpid(), scratch_seq++);
	snprintf(stmt, sizeof(stmt), "CREATE DATABASE %s TEMPLATE template0",
		f->dbname);
	ASSERT_OK(cb__store_exec(admin, NULL, "test", stmt, 0, NULL));
	snprintf(dsn, sizeof(dsn), "%s dbname=%s", base_dsn, f->dbname);
	ASSERT_OK(cb_store_open(&f->store, dsn));
	ASSERT_OK(cb_store_migrate(f->store, NULL));
	ASSERT_OK(cb__store_exec(f->store, NULL, "test",
		"INSERT INTO chargeback.billing_account (id) VALUES ($1)", 1,
		&f->ba));
	/* the first four customers of the MPA account: what sync stores */
	for (size_t i = 0; i < f->s->partner->ncustomers && n < 4; i++) {
		const as_customer *c = &f->s->partner->customers[i];
		const char *p[5] = { f->ba, c->id, c->display,
			c->indirect ? c->reseller_mpn : NULL,
			c->indirect ? c->reseller_name : NULL };

		if (strcmp(f->s->partner->accounts[c->account].name, f->ba))
			continue;
		ASSERT_OK(cb__store_exec(f->store, NULL, "test",
			"INSERT INTO chargeback.customer (billing_account_id,"
			" customer_id, display_name, reseller_id,"
			" reseller_name) VALUES ($1, $2, $3, $4, $5)",
			5, p));
		f->c[n++] = c;
	}
	assert_int_equal(4, n);
	setenv("CB_TEST_POLICY_SECRET", SECRET, 1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char stmt[128];

	cb_store_close(f->store);
	snprintf(
		stmt, sizeof(stmt), "DROP DATABASE %s WITH (FORCE)", f->dbname);
	ASSERT_OK(cb__store_exec(admin, NULL, "test", stmt, 0, NULL));
	as_server_stop(f->s);
	free(f);
	return 0;
}

/* A configuration for f's armsim with these policies/labels lines. */
static cb_config *
config(struct fixture *f, const char *rules)
{
	char base[128], text[8192];
	const char *tenant, *client;
	cb_config *cfg = NULL;

	as_server_base(f->s, base, sizeof(base));
	as_entra_ids(f->s, &tenant, &client);
	snprintf(text, sizeof(text),
		"azure = { tenant_id = \"%s\"; client_id = \"%s\";\n"
		"  client_secret_env = \"CB_TEST_POLICY_SECRET\";\n"
		"  authority_host = \"%s\"; management_endpoint = \"%s\"; };\n"
		"http = { max_attempts = 1; };\n"
		"%s",
		tenant, client, base, base, rules);
	if (cb_config_load_string(&cfg, text, "test.cfg") != 0)
		fail_msg("%s", cb_error_last()->message);
	return cfg;
}

/* The item for customer c. */
static const cb_policy_item *
item_of(const cb_policy *p, const as_customer *c)
{
	for (size_t i = 0; i < cb_policy_count(p); i++)
		if (strcmp(cb_policy_item_at(p, i)->customer_id, c->id) == 0)
			return cb_policy_item_at(p, i);
	fail_msg("no item for %s", c->id);
	return NULL;
}

static void
assert_item(const cb_policy *p, const as_customer *c, int current, int desired,
	const char *rule, unsigned line, bool change)
{
	const cb_policy_item *it = item_of(p, c);

	assert_int_equal(0, it->error);
	assert_int_equal(current, it->current);
	assert_int_equal(desired, it->desired);
	if (rule == NULL)
		assert_null(it->rule);
	else
		assert_string_equal(rule, it->rule);
	assert_int_equal(line, it->rule_line);
	assert_int_equal(change, it->change);
}

/* Rules exercising every precedence level on the four customers:
 * c0 by id, c1 by a label (id member), c2 by a name pattern in another
 * case, c3 by nothing but "all".  Line numbers are in the text. */
static char *
precedence_rules(struct fixture *f, bool catch_all)
{
	static char rules[2048];
	char pat[64];

	snprintf(pat, sizeof(pat), "%.3s*", f->c[2]->display);
	for (char *q = pat; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	snprintf(rules, sizeof(rules),
		"labels = { gold = { customers = [ \"%s\" ]; }; };\n" /* 5 */
		"policies = (\n"                                      /* 6 */
		" { all = true; view_charges = \"allowed\"; },\n"     /* 7 */
		" { name = \"%s\"; view_charges = \"notallowed\"; },\n"
		" { label = \"gold\"; view_charges = \"allowed\"; },\n"
		" { customer = \"%s\"; view_charges = \"allowed\"; }%s\n"
		");\n",
		f->c[1]->id, pat, f->c[0]->id,
		catch_all ? ",\n { name = \"*\"; view_charges = \"allowed\"; }"
			  : "");
	return rules;
}

static void
test_policy_plan_resolves_precedence(void **state)
{
	struct fixture *f = *state;
	cb_config *cfg = config(f, precedence_rules(f, true));
	cb_policy *p = NULL;
	char rule[512];

	/* the name patterns tie on c2 (lines 8 and 11): a tie, and nothing
	 * would be sent */
	assert_int_equal(CB_ECONFIG, cb_policy_plan(&p, cfg, f->store, NULL));
	snprintf(rule, sizeof(rule),
		"test.cfg:11: customer '%s' (%s) is selected by two name "
		"rules with different view_charges: line 8 (notallowed) and "
		"line 11 (allowed)",
		f->c[2]->id, f->c[2]->display);
	assert_string_equal(rule, cb_error_last()->message);
	assert_null(p);
	cb_config_free(cfg);

	/* without the catch-all pattern */
	cfg = config(f, precedence_rules(f, false));
	ASSERT_OK(cb_policy_plan(&p, cfg, f->store, NULL));
	assert_int_equal(4, cb_policy_count(p));
	snprintf(rule, sizeof(rule), "customer %s", f->c[0]->id);
	assert_item(p, f->c[0], CB_VIEW_CHARGES_NOTALLOWED,
		CB_VIEW_CHARGES_ALLOWED, rule, 10, true);
	assert_item(p, f->c[1], CB_VIEW_CHARGES_NOTALLOWED,
		CB_VIEW_CHARGES_ALLOWED, "label gold", 9, true);
	snprintf(rule, sizeof(rule), "name %.3s*", f->c[2]->display);
	for (char *q = rule + 5; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	assert_item(p, f->c[2], CB_VIEW_CHARGES_NOTALLOWED,
		CB_VIEW_CHARGES_NOTALLOWED, rule, 8, false);
	assert_item(p, f->c[3], CB_VIEW_CHARGES_NOTALLOWED,
		CB_VIEW_CHARGES_ALLOWED, "all", 7, true);
	/* a plan changes nothing */
	for (size_t i = 0; i < f->s->partner->ncustomers; i++)
		assert_int_equal(0, f->s->billing->view_charges[i]);
	cb_policy_free(p);
	cb_config_free(cfg);
}

static void
test_policy_apply_converges_and_records(void **state)
{
	struct fixture *f = *state;
	char rules[512], want[512];
	cb_policy *p = NULL;
	cb_buf hash = CB_BUF_INIT;
	cb_config *cfg;

	snprintf(rules, sizeof(rules),
		"policies = ( { all = true; view_charges = \"allowed\"; },\n"
		"  { customer = \"%s\"; view_charges = \"notallowed\"; } );\n",
		f->c[3]->id);
	cfg = config(f, rules);
	ASSERT_OK(cb_config_hash(&hash, cfg));
	ASSERT_OK(cb_policy_plan(&p, cfg, f->store, NULL));
	ASSERT_OK(cb_policy_apply(p, cfg, f->store, NULL));
	for (size_t i = 0; i < 4; i++) {
		const cb_policy_item *it = item_of(p, f->c[i]);

		assert_int_equal(i < 3, it->changed);
		assert_int_equal(i < 3 ? CB_VIEW_CHARGES_ALLOWED
				       : CB_VIEW_CHARGES_NOTALLOWED,
			it->current);
		assert_int_equal(
			i < 3, f->s->billing->view_charges[AS_INDEX(
				       f->s->partner, customers, f->c[i])]);
	}
	cb_policy_free(p);
	snprintf(want, sizeof(want), "3|NotAllowed|Allowed|%s|apply|3",
		hash.ptr);
	assert_string_equal(want,
		query(f->store,
			"SELECT count(*) || '|' || min(old_view_charges) || "
			"'|' || min(new_view_charges) || '|' || "
			"min(config_hash) || '|' || min(source) || '|' || "
			"count(request_id) FROM chargeback.policy_change"));
	assert_string_equal("3|1",
		query(f->store, "SELECT count(*) FILTER (WHERE view_charges = "
				"'Allowed') || '|' || count(*) FILTER (WHERE "
				"view_charges = 'NotAllowed') FROM "
				"chargeback.customer_policy"));

	/* converged: a second plan has nothing to change */
	ASSERT_OK(cb_policy_plan(&p, cfg, f->store, NULL));
	for (size_t i = 0; i < cb_policy_count(p); i++)
		assert_false(cb_policy_item_at(p, i)->change);
	ASSERT_OK(cb_policy_apply(p, cfg, f->store, NULL));
	cb_policy_free(p);
	assert_string_equal("3", query(f->store, "SELECT count(*) FROM "
						 "chargeback.policy_change"));

	/* drift made elsewhere shows in the next plan */
	f->s->billing
		->view_charges[AS_INDEX(f->s->partner, customers, f->c[1])] = 0;
	ASSERT_OK(cb_policy_plan(&p, cfg, f->store, NULL));
	assert_true(item_of(p, f->c[1])->change);
	assert_int_equal(
		CB_VIEW_CHARGES_NOTALLOWED, item_of(p, f->c[1])->current);
	cb_policy_free(p);
	cb_buf_dispose(&hash);
	cb_config_free(cfg);
}

static void
test_policy_arm_refusal_fails_one_customer(void **state)
{
	struct fixture *f = *state;
	char url[256], plan[1024], want[1024];
	cb_test_reply r;
	cb_policy *p = NULL;
	cb_config *cfg = config(f, "policies = ( { all = true; view_charges = "
				   "\"allowed\"; } );\n");
	const cb_policy_item *it;

	as_test_url(f->s, "/_armsim/faults", url, sizeof(url));
	snprintf(plan, sizeof(plan),
		"{\"faults\": [{\"route\": \"/customers/%s/policies/default\","
		" \"method\": \"PUT\", \"kind\": \"status\", \"status\": 403,"
		" \"code\": \"AuthorizationFailed\", \"message\": \"The "
		"client has no write access.\"}]}",
		f->c[1]->id);
	assert_int_equal(0, cb_test_fetch(&r, "POST", url,
				    "Content-Type: application/json", plan));
	assert_int_equal(200, r.status);
	cb_test_reply_free(&r);

	ASSERT_OK(cb_policy_plan(&p, cfg, f->store, NULL));
	assert_int_equal(1, cb_policy_apply(p, cfg, f->store, NULL));
	it = item_of(p, f->c[1]);
	assert_int_equal(CB_EAUTH, it->error);
	assert_false(it->changed);
	as_test_url(f->s, "", url, sizeof(url));
	snprintf(want, sizeof(want),
		"customer '%s' (%s): PUT %s/providers/Microsoft.Billing/"
		"billingAccounts/%s/customers/%s/policies/default: http 403 "
		"AuthorizationFailed: The client has no write access. "
		"(request id %s)",
		f->c[1]->id, f->c[1]->display, url, f->ba, f->c[1]->id,
		it->request_id);
	assert_string_equal(want, it->message);
	assert_int_equal(36, strlen(it->request_id));
	for (size_t i = 0; i < 4; i++)
		if (i != 1)
			assert_true(item_of(p, f->c[i])->changed);
	cb_policy_free(p);
	assert_string_equal("3", query(f->store, "SELECT count(*) FROM "
						 "chargeback.policy_change"));
	cb_config_free(cfg);
}

static void
test_policy_config_errors_name_the_line(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *rules, *error;
	} cases[] = {
		{ "policies = ( { name = \"nobody*\"; view_charges = "
		  "\"allowed\"; } );\n",
			"test.cfg:5: name pattern 'nobody*' selects no "
			"customer" },
		{ "policies = ( { reseller = \"999\"; view_charges = "
		  "\"allowed\"; } );\n",
			"test.cfg:5: reseller '999' selects no customer" },
		{ "policies = ( { customer = \"no-such-customer\"; "
		  "view_charges = \"allowed\"; } );\n",
			"test.cfg:5: unknown customer 'no-such-customer' (not "
			"in the store: run 'chargeback sync')" },
		{ "labels = { x = {\n customers = [ \"ghost\" ]; }; };\n"
		  "policies = ( { label = \"x\"; view_charges = "
		  "\"allowed\"; } );\n",
			"test.cfg:6: label 'x': unknown customer 'ghost' (not "
			"in the store: run 'chargeback sync')" },
		{ "labels = { x = { names = [ \"zz*\" ]; }; };\n"
		  "policies = ( { label = \"x\"; view_charges = "
		  "\"allowed\"; } );\n",
			"test.cfg:6: label 'x' selects no customer" },
		{ "log = { level = \"warn\"; };\n",
			"test.cfg: no 'policies' in the configuration: "
			"nothing to plan" },
	};

	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		cb_config *cfg = config(f, cases[i].rules);
		cb_policy *p = NULL;

		assert_int_equal(
			CB_ECONFIG, cb_policy_plan(&p, cfg, f->store, NULL));
		assert_string_equal(cases[i].error, cb_error_last()->message);
		assert_null(p);
		cb_config_free(cfg);
	}
}

static void
test_policy_set_one_customer(void **state)
{
	struct fixture *f = *state;
	cb_config *cfg = config(f, "");
	cb_policy *p = NULL;
	char id[64];

	/* any case, as ARM compares names */
	snprintf(id, sizeof(id), "%s", f->c[2]->id);
	for (char *q = id; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	ASSERT_OK(cb_policy_set(
		&p, cfg, f->store, id, CB_VIEW_CHARGES_ALLOWED, NULL));
	assert_int_equal(1, cb_policy_count(p));
	assert_true(cb_policy_item_at(p, 0)->changed);
	assert_string_equal("set", cb_policy_item_at(p, 0)->rule);
	cb_policy_free(p);
	assert_int_equal(1, f->s->billing->view_charges[AS_INDEX(
				    f->s->partner, customers, f->c[2])]);
	assert_string_equal("set|NotAllowed|Allowed",
		query(f->store,
			"SELECT source || '|' || old_view_charges || '|' || "
			"new_view_charges FROM chargeback.policy_change"));
	/* already so: nothing sent, nothing recorded */
	ASSERT_OK(cb_policy_set(
		&p, cfg, f->store, id, CB_VIEW_CHARGES_ALLOWED, NULL));
	assert_false(cb_policy_item_at(p, 0)->changed);
	cb_policy_free(p);
	assert_string_equal("1", query(f->store, "SELECT count(*) FROM "
						 "chargeback.policy_change"));
	assert_int_equal(CB_ENOTFOUND, cb_policy_set(&p, cfg, f->store, "ghost",
					       CB_VIEW_CHARGES_ALLOWED, NULL));
	assert_string_equal("unknown customer 'ghost' (not in the store: "
			    "run 'chargeback sync')",
		cb_error_last()->message);
	assert_int_equal(
		CB_EINVAL, cb_policy_set(&p, cfg, f->store, id, 7, NULL));
	cb_config_free(cfg);
}

static void
test_policy_list_from_store_and_arm(void **state)
{
	struct fixture *f = *state;
	cb_config *cfg = config(f, "");
	cb_policy *p = NULL;

	ASSERT_OK(
		cb_policy_list(&p, cfg, f->store, CB_POLICY_FROM_STORE, NULL));
	assert_int_equal(4, cb_policy_count(p));
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(
			CB_VIEW_CHARGES_NONE, cb_policy_item_at(p, i)->current);
		assert_int_equal(
			CB_VIEW_CHARGES_NONE, cb_policy_item_at(p, i)->desired);
	}
	cb_policy_free(p);
	f->s->billing
		->view_charges[AS_INDEX(f->s->partner, customers, f->c[0])] = 1;
	ASSERT_OK(cb_policy_list(&p, cfg, f->store, CB_POLICY_FROM_ARM, NULL));
	assert_int_equal(CB_VIEW_CHARGES_ALLOWED, item_of(p, f->c[0])->current);
	assert_int_equal(
		CB_VIEW_CHARGES_NOTALLOWED, item_of(p, f->c[1])->current);
	cb_policy_free(p);
	cb_config_free(cfg);
}

static int
group_setup(void **state)
{
	(void)state;
	base_dsn = getenv("CHARGEBACK_TEST_DSN");
	if (base_dsn == NULL || *base_dsn == '\0') {
		fprintf(stderr, "test_policy: CHARGEBACK_TEST_DSN is not set "
				"(scripts/pg-local start; export "
				"CHARGEBACK_TEST_DSN=\"$(scripts/pg-local "
				"dsn)\")\n");
		return -1;
	}
	if (cb_store_open(&admin, base_dsn) != 0) {
		fprintf(stderr, "test_policy: %s\n", cb_error_last()->message);
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

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_policy_plan_resolves_precedence),
		T(test_policy_apply_converges_and_records),
		T(test_policy_arm_refusal_fails_one_customer),
		T(test_policy_config_errors_name_the_line),
		T(test_policy_set_one_customer),
		T(test_policy_list_from_store_and_arm),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
