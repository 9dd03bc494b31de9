/*
 * tests/unit/tenants/test_session.c - a session built from a configuration
 * gets a token from Entra (armsim's) and makes ARM calls with it.
 */
#include "core/common.h"

#include "core/json.h"
#include "tenants/session.h"
#include "tests/unit/emulator/fixture.h"

#include <stdlib.h>

#define SECRET "session-test-secret"

/* A configuration pointing at s, with the secret from the environment. */
static cb_config *
config_for(as_server *s, const char *client_id)
{
	char base[128], text[2048];
	const char *tenant, *client;
	cb_config *cfg = NULL;

	as_server_base(s, base, sizeof(base));
	as_entra_ids(s, &tenant, &client);
	snprintf(text, sizeof(text),
		"azure = { tenant_id = \"%s\"; client_id = \"%s\";\n"
		"  client_secret_env = \"CB_TEST_SESSION_SECRET\";\n"
		"  authority_host = \"%s\"; management_endpoint = \"%s\"; };\n",
		tenant, client_id ? client_id : client, base, base);
	assert_int_equal(0, cb_config_load_string(&cfg, text, "test.cfg"));
	return cfg;
}

static as_server *
start(void)
{
	as_options o;

	as_test_options(&o, 2);
	o.client_secret = SECRET;
	return as_test_start(&o);
}

static void
test_session_lists_billing_accounts(void **state)
{
	as_server *s = start();
	cb_config *cfg;
	cb__session *sess = NULL;
	cb_json *doc = NULL;
	const char *name = NULL;

	(void)state;
	setenv("CB_TEST_SESSION_SECRET", SECRET, 1);
	cfg = config_for(s, NULL);
	assert_int_equal(0, cb__session_open(&sess, cfg));
	assert_int_equal(
		0, cb__arm_get(&doc, sess->arm,
			   "/providers/Microsoft.Billing/billingAccounts",
			   "2024-04-01"));
	assert_int_equal(0, cb__json_get_string(&name, doc, cb__json_root(doc),
				    "value[0].name", 0));
	assert_string_equal(s->partner->accounts[0].name, name);
	cb__json_free(doc);
	cb__session_close(sess);
	cb_config_free(cfg);
	as_server_stop(s);
}

static void
test_session_reports_a_refused_secret(void **state)
{
	as_server *s = start();
	cb_config *cfg;
	cb__session *sess = NULL;
	cb_json *doc = NULL;

	(void)state;
	setenv("CB_TEST_SESSION_SECRET", "wrong-secret", 1);
	cfg = config_for(s, NULL);
	assert_int_equal(0, cb__session_open(&sess, cfg));
	assert_int_equal(CB_EAUTH,
		cb__arm_get(&doc, sess->arm,
			"/providers/Microsoft.Billing/billingAccounts",
			"2024-04-01"));
	assert_null(doc);
	assert_non_null(strstr(cb_error_last()->message, "AADSTS7000215"));
	assert_null(strstr(cb_error_last()->message, "wrong-secret"));
	cb__session_close(sess);
	cb_config_free(cfg);
	as_server_stop(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_lists_billing_accounts),
		cmocka_unit_test(test_session_reports_a_refused_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
