/*
 * tests/unit/core/test_auth_token.c - reading token endpoint answers
 * (Entra ID, IMDS, App Service; success and every error shape) and the
 * expiry of a static JWT.
 */
#include "core/common.h"
#include "core/auth.h"
#include "core/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#define NOW 1767225600
#define EP  "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token"

static int
parse(cb_buf *token, int64_t *exp, int status, const char *body)
{
	return cb__auth_token_response(
		token, exp, status, body, strlen(body), EP, NOW);
}

static void
ok_case(const char *body, const char *want_token, int64_t want_exp)
{
	cb_buf t = CB_BUF_INIT;
	int64_t exp = 0;

	assert_int_equal(0, parse(&t, &exp, 200, body));
	assert_string_equal(want_token, t.ptr);
	assert_int_equal(want_exp, exp);
	cb__auth_buf_wipe(&t);
}

static void
fail_case(int status, const char *body, const char *message)
{
	cb_buf t = CB_BUF_INIT;
	int64_t exp = 7;

	assert_int_equal(CB_EAUTH, parse(&t, &exp, status, body));
	assert_string_equal("EAUTH", cb_error_name(cb_error_last()->code));
	assert_string_equal(message, cb_error_last()->message);
	assert_null(t.ptr);
	assert_int_equal(7, exp);
}

static void
test_auth_token_success_shapes(void **state)
{
	(void)state;
	/* Entra ID v2 (azure-api-notes d.1). */
	ok_case("{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		"\"ext_expires_in\":3599,\"access_token\":\"eyJ0.eyJ1.c2ln\"}",
		"eyJ0.eyJ1.c2ln", NOW + 3599);
	/* IMDS: numbers are strings; expires_in wins over expires_on. */
	ok_case("{\"access_token\":\"mi-token\",\"refresh_token\":\"\","
		"\"expires_in\":\"3599\",\"expires_on\":\"1506484173\","
		"\"not_before\":\"1506480273\",\"resource\":"
		"\"https://management.azure.com/\",\"token_type\":\"Bearer\"}",
		"mi-token", NOW + 3599);
	/* App Service 2019-08-01: only expires_on. */
	ok_case("{\"access_token\":\"as-token\",\"expires_on\":\"1767229200\","
		"\"resource\":\"https://management.azure.com/\","
		"\"token_type\":\"Bearer\",\"client_id\":\"5E29463D\"}",
		"as-token", 1767229200);
	ok_case("{\"access_token\":\"t\",\"expires_in\":60,\"token_type\":"
		"\"bearer\"}",
		"t", NOW + 60);
	ok_case("{\"access_token\":\"t\",\"expires_on\":1767229200}", "t",
		1767229200);
}

static void
test_auth_token_malformed_success_bodies(void **state)
{
	(void)state;
	fail_case(200, "<html>",
		"token response from " EP ": http 200 with a body that is not "
		"JSON");
	fail_case(200, "[1]",
		"token response from " EP ": expected a JSON object");
	fail_case(200, "{\"expires_in\":3599}",
		"token response from " EP ": access_token: missing");
	fail_case(200, "{\"access_token\":3,\"expires_in\":3599}",
		"token response from " EP
		": access_token: expected a string, found a number");
	fail_case(200, "{\"access_token\":\"a b\",\"expires_in\":3599}",
		"token response from " EP ": access_token is empty, longer "
		"than 32768 bytes or holds a blank or control character");
	fail_case(200, "{\"access_token\":\"\",\"expires_in\":3599}",
		"token response from " EP ": access_token is empty, longer "
		"than 32768 bytes or holds a blank or control character");
	fail_case(200, "{\"access_token\":\"t\",\"token_type\":\"pop\"}",
		"token response from " EP
		": token_type is 'pop', expected Bearer");
	fail_case(200, "{\"access_token\":\"t\"}",
		"token response from " EP ": neither expires_in nor expires_on "
		"is a positive number");
	fail_case(200, "{\"access_token\":\"t\",\"expires_in\":0}",
		"token response from " EP ": expires_in is out of range");
	fail_case(200, "{\"access_token\":\"t\",\"expires_in\":99999999999}",
		"token response from " EP ": expires_in is out of range");
	fail_case(200, "{\"access_token\":\"t\",\"expires_in\":\"soon\"}",
		"token response from " EP
		": expires_in: expected an integer, found a string");
}

static void
test_auth_token_error_shapes(void **state)
{
	const cb_error *e;

	(void)state;
	fail_case(401,
		"{\"error\":\"invalid_client\",\"error_description\":"
		"\"AADSTS7000215: Invalid client secret provided. Ensure the "
		"secret being sent in the request is the client secret value."
		"\\r\\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\\r\\n"
		"Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd\\r\\n"
		"Timestamp: 2026-01-01 00:00:00Z\",\"error_codes\":[7000215],"
		"\"timestamp\":\"2026-01-01 00:00:00Z\",\"trace_id\":"
		"\"0000aaaa-11bb-cccc-dd22-eeeeee333333\",\"correlation_id\":"
		"\"aaaa0000-bb11-2222-33cc-444444dddddd\"}",
		"token request to " EP " failed: http 401 invalid_client: "
		"AADSTS7000215: Invalid client secret provided. Ensure the "
		"secret being sent in the request is the client secret value.");
	e = cb_error_last();
	assert_int_equal(401, e->http_status);
	assert_string_equal("invalid_client", e->arm_code);
	assert_string_equal(
		"aaaa0000-bb11-2222-33cc-444444dddddd", e->request_id);

	fail_case(400,
		"{\"error\":\"invalid_scope\",\"error_description\":"
		"\"AADSTS70011: The provided value for the input parameter "
		"'scope' is not valid.\",\"error_codes\":[70011]}",
		"token request to " EP " failed: http 400 invalid_scope: "
		"AADSTS70011: The provided value for the input parameter "
		"'scope' is not valid.");
	assert_string_equal("", cb_error_last()->request_id);

	/* IMDS. */
	fail_case(400,
		"{\"error\":\"invalid_request\",\"error_description\":"
		"\"Required metadata header not specified\"}",
		"token request to " EP " failed: http 400 invalid_request: "
		"Required metadata header not specified");
	/* App Service. */
	fail_case(500,
		"{\"statusCode\":500,\"message\":\"An unexpected error occured "
		"while fetching the AAD Token.\",\"correlationId\":\"c-1\"}",
		"token request to " EP " failed: http 500: An unexpected error "
		"occured while fetching the AAD Token.");
	assert_string_equal("c-1", cb_error_last()->request_id);
	assert_string_equal("", cb_error_last()->arm_code);
	/* ARM's shape, from a proxy or armsim. */
	fail_case(403,
		"{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":"
		"\"No access.\"}}",
		"token request to " EP
		" failed: http 403 AuthorizationFailed: No access.");
	/* No JSON: status only, never the body. */
	fail_case(502, "<html>Bad Gateway client_secret=x</html>",
		"token request to " EP " failed: http 502");
	fail_case(404, "", "token request to " EP " failed: http 404");
	assert_int_equal(404, cb_error_last()->http_status);
	/* A description echoing a secret-looking field is scrubbed. */
	fail_case(400,
		"{\"error\":\"invalid_request\",\"error_description\":"
		"\"bad client_secret=hunter2 given\"}",
		"token request to " EP " failed: http 400 invalid_request: bad "
		"client_secret=[redacted] given");
	/* An error code that is not a plain word is left out. */
	fail_case(400, "{\"error\":\"a b\"}",
		"token request to " EP " failed: http 400");
}

static void
test_auth_token_survives_oom(void **state)
{
	const char *body = "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
			   "\"access_token\":\"eyJ0.eyJ1.c2ln\"}";
	cb_buf t = CB_BUF_INIT;
	int64_t exp = 0;
	unsigned long n;
	int error;

	(void)state;
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = parse(&t, &exp, 200, body);
		cb__alloc_fail_after(0);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_null(t.ptr);
	}
	assert_true(n > 2);
	assert_string_equal("eyJ0.eyJ1.c2ln", t.ptr);
	cb__auth_buf_wipe(&t);
	/* The error path allocates too, and must not turn OOM into EAUTH
	 * with a wrong message: it only loses detail. */
	for (n = 1; n < 100; n++) {
		cb__alloc_fail_after(n);
		error = parse(&t, &exp, 401, "{\"error\":\"invalid_client\"}");
		cb__alloc_fail_after(0);
		assert_int_equal(CB_EAUTH, error);
	}
}

/* A JWT whose claims are the given JSON (header and signature dummies). */
static void
make_jwt(cb_buf *out, const char *claims)
{
	assert_int_equal(0, cb__buf_puts(out, "eyJhbGciOiJub25lIn0."));
	assert_int_equal(0, cb__auth_base64url(out, claims, strlen(claims)));
	assert_int_equal(0, cb__buf_puts(out, ".c2ln"));
}

static void
test_auth_jwt_expiry(void **state)
{
	cb_buf j = CB_BUF_INIT;
	int64_t exp = 5;

	(void)state;
	make_jwt(&j, "{\"aud\":\"https://management.azure.com/\","
		     "\"exp\":1767229200,\"nbf\":1767225600}");
	assert_int_equal(0, cb__auth_jwt_expiry(&exp, j.ptr));
	assert_int_equal(1767229200, exp);
	cb_buf_dispose(&j);

	exp = 5;
	make_jwt(&j, "{\"aud\":\"x\"}");
	assert_int_equal(CB_ENOTFOUND, cb__auth_jwt_expiry(&exp, j.ptr));
	cb_buf_dispose(&j);
	make_jwt(&j, "{\"exp\":\"soon\"}");
	assert_int_equal(CB_ENOTFOUND, cb__auth_jwt_expiry(&exp, j.ptr));
	cb_buf_dispose(&j);
	make_jwt(&j, "not json");
	assert_int_equal(CB_ENOTFOUND, cb__auth_jwt_expiry(&exp, j.ptr));
	cb_buf_dispose(&j);
	assert_int_equal(CB_ENOTFOUND, cb__auth_jwt_expiry(&exp, "opaque"));
	assert_int_equal(CB_ENOTFOUND, cb__auth_jwt_expiry(&exp, "a.b"));
	assert_int_equal(CB_ENOTFOUND, cb__auth_jwt_expiry(&exp, "a..c"));
	assert_int_equal(CB_ENOTFOUND, cb__auth_jwt_expiry(&exp, "a.!!.c"));
	assert_int_equal(5, exp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_token_success_shapes),
		cmocka_unit_test(test_auth_token_malformed_success_bodies),
		cmocka_unit_test(test_auth_token_error_shapes),
		cmocka_unit_test(test_auth_token_survives_oom),
		cmocka_unit_test(test_auth_jwt_expiry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
