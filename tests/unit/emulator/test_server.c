/*
 * tests/unit/emulator/test_server.c - armsim's pipeline: unknown routes
 * are ARM errors and violations, the request log redacts secrets, exact
 * numbers survive JSON, and paging links are absolute and echo the query.
 */
#include "core/common.h"

#include "emulator/armsim.h"
#include "emulator/reqlog.h"
#include "tests/support/webclient.h"
#include "tests/unit/emulator/fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

static as_server *
start(void)
{
	as_options o;

	as_test_options(&o, 3);
	return as_test_start(&o);
}

static void
url(as_server *s, char *out, size_t outlen, const char *target)
{
	as_test_url(s, target, out, outlen);
}

static void
test_unknown_route_is_an_arm_error_and_a_violation(void **state)
{
	as_server *s = start();
	cb_test_reply r;
	char u[512];

	(void)state;
	url(s, u, sizeof(u), "/providers/Microsoft.Nope/things?api-version=1");
	assert_int_equal(0, cb_test_fetch(&r, "GET", u, NULL, NULL));
	assert_int_equal(404, r.status);
	assert_string_equal(
		"{\"error\":{\"code\":\"InvalidResourceType\",\"message\":"
		"\"The resource type could not be found: armsim serves no "
		"route for GET /providers/Microsoft.Nope/things.\"}}",
		r.body);
	assert_string_equal("application/json; charset=utf-8",
		cb_test_reply_header(&r, "content-type"));
	cb_test_reply_free(&r);

	url(s, u, sizeof(u), "/_armsim/violations");
	assert_int_equal(0, cb_test_fetch(&r, "POST", u, NULL, "{}"));
	assert_int_equal(405, r.status);
	cb_test_reply_free(&r);
	assert_int_equal(0, cb_test_fetch(&r, "GET", u, NULL, NULL));
	assert_int_equal(200, r.status);
	assert_string_equal("{\"count\":2,\"byKind\":{\"unknown-route\":2},"
			    "\"violations\":[{\"seq\":1,\"kind\":\"unknown-"
			    "route\",\"method\":\"GET\",\"path\":\"/"
			    "providers/Microsoft.Nope/things\",\"detail\":"
			    "\"no route for GET /providers/Microsoft.Nope/"
			    "things\"},{\"seq\":2,\"kind\":\"unknown-route\","
			    "\"method\":\"POST\",\"path\":\"/_armsim/"
			    "violations\",\"detail\":\"POST is not served "
			    "for this path\"}]}",
		r.body);
	cb_test_reply_free(&r);
	as_server_stop(s);
}

static void
test_request_log_redacts_secret_parameters(void **state)
{
	as_server *s = start();
	cb_test_reply r;
	char u[512];

	(void)state;
	url(s, u, sizeof(u),
		"/blobs/x.csv?sv=2023&sig=SECRETSIG%3D&se=2026&token=T0K");
	assert_int_equal(0, cb_test_fetch(&r, "GET", u, NULL, NULL));
	cb_test_reply_free(&r);
	url(s, u, sizeof(u), "/_armsim/requests?since=0");
	assert_int_equal(0, cb_test_fetch(&r, "GET", u, NULL, NULL));
	assert_int_equal(200, r.status);
	assert_non_null(strstr(r.body,
		"\"query\":\"sv=2023&sig=REDACTED&se=2026&token=REDACTED\""));
	assert_null(strstr(r.body, "SECRETSIG"));
	assert_null(strstr(r.body, "T0K"));
	cb_test_reply_free(&r);

	/* since= filters; reset forgets. */
	url(s, u, sizeof(u), "/_armsim/requests?since=2");
	assert_int_equal(0, cb_test_fetch(&r, "GET", u, NULL, NULL));
	assert_string_equal("{\"requests\":[],\"dropped\":0}", r.body);
	cb_test_reply_free(&r);
	url(s, u, sizeof(u), "/_armsim/reset");
	assert_int_equal(0, cb_test_fetch(&r, "POST", u, NULL, ""));
	assert_int_equal(204, r.status);
	cb_test_reply_free(&r);
	url(s, u, sizeof(u), "/_armsim/violations");
	assert_int_equal(0, cb_test_fetch(&r, "GET", u, NULL, NULL));
	assert_string_equal(
		"{\"count\":0,\"byKind\":{},\"violations\":[]}", r.body);
	cb_test_reply_free(&r);
	as_server_stop(s);
}

static void
test_health_names_the_registered_application(void **state)
{
	as_server *s = start();
	cb_test_reply r;
	char u[512], want[512];
	const char *tenant, *client;

	(void)state;
	as_entra_ids(s, &tenant, &client);
	assert_string_equal(s->partner->tenant_id, tenant);
	snprintf(want, sizeof(want),
		"{\"status\":\"ok\",\"port\":%u,\"tenantId\":\"%s\","
		"\"clientId\":\"%s\"}",
		s->port, tenant, client);
	url(s, u, sizeof(u), "/_armsim/health");
	assert_int_equal(0, cb_test_fetch(&r, "GET", u, NULL, NULL));
	assert_int_equal(200, r.status);
	assert_string_equal(want, r.body);
	cb_test_reply_free(&r);
	as_server_stop(s);
}

/* A handler that echoes its request (a cost details manifest does) must
 * never see a string armsim would write back as a bare number. */
static void
test_body_with_the_number_marker_is_refused(void **state)
{
	as_server *s = start();
	cb_test_reply r;
	char target[512];

	(void)state;
	snprintf(target, sizeof(target),
		"/providers/Microsoft.Billing/billingAccounts/%s/providers/"
		"Microsoft.CostManagement/generateCostDetailsReport?api-"
		"version=2025-03-01",
		as_test_mpa(s));
	as_test_call(s, &r, "POST", target, "Content-Type: application/json",
		"{\"metric\":\"\\u0001\"}");
	assert_int_equal(400, r.status);
	assert_string_equal(
		"{\"error\":{\"code\":\"InvalidRequestContent\",\"message\":"
		"\"The request content was invalid and could not be "
		"deserialized: a string holds the control character "
		"U+0001.\"}}",
		r.body);
	cb_test_reply_free(&r);
	as_server_stop(s);
}

static void
test_json_money_is_exact(void **state)
{
	cb_money m;
	json_t *v;
	char *text;

	(void)state;
	assert_int_equal(
		0, cb_money_parse(&m, "12345678901234.123456789012", 27));
	v = json_pack("{s:o,s:o,s:s}", "a", as_json_money(m), "b",
		as_json_number_text("20180331"), "c", "x\"y");
	text = as_json_dump(v, JSON_COMPACT);
	assert_string_equal("{\"a\":12345678901234.123456789012,\"b\":"
			    "20180331,\"c\":\"x\\\"y\"}",
		text);
	free(text);
	json_decref(v);
	text = as_redact_query("client_secret=abc&x=1&sig=");
	assert_string_equal("client_secret=REDACTED&x=1&sig=REDACTED", text);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_unknown_route_is_an_arm_error_and_a_violation),
		cmocka_unit_test(test_request_log_redacts_secret_parameters),
		cmocka_unit_test(test_health_names_the_registered_application),
		cmocka_unit_test(test_body_with_the_number_marker_is_refused),
		cmocka_unit_test(test_json_money_is_exact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
