/*
 * tests/unit/core/test_arm_error.c - ARM error bodies turned into errors:
 * the exact one-line message, the code per status, the class, and the
 * structured status / ARM code / x-ms-request-id, from a real local server
 * (retries included) and from answers built in memory for the odd shapes.
 */
#include "core/common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/core/test_arm_helpers.h"

#define REQ_ID "8c6b2f4e-1d2a-4b7c-9e0f-0123456789ab"

static cb_test_httpd *srv;
static cb_http *http;
static struct test_token tok = { TEST_TOKEN, 0, "" };

static int
group_setup(void **state)
{
	cb_http_options o = fast_options();

	(void)state;
	if (cb_init() < 0 || cb_test_httpd_start(&srv, NULL) < 0)
		return -1;
	o.max_attempts = 2;
	http = new_client(&o);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	cb__http_free(http);
	cb_test_httpd_stop(srv);
	cb_shutdown();
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	cb_test_httpd_clear(srv);
	cb_error_clear();
	return 0;
}

/* GET path (api-version 2024-04-01) on the server; returns the code. */
static int
get_once(const char *path)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	cb_json *doc = NULL;
	int error;

	error = cb__arm_get(&doc, arm, path, "2024-04-01");
	assert_null(doc);
	cb__arm_free(arm);
	return error;
}

static char *msg(const char *fmt, ...) CB_FORMAT_PRINTF(1, 2);

static char *
msg(const char *fmt, ...)
{
	static char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

static void
test_arm_error_404_with_arm_body(void **state)
{
	(void)state;
	cb_test_httpd_reply(srv,
		"/providers/Microsoft.Billing/billingAccounts/x/customers", 404,
		"x-ms-request-id: " REQ_ID "\nContent-Type: application/json",
		"{\"error\":{\"code\":\"NotFound\",\"message\":\"The billing "
		"account was not found\",\"target\":\"billingAccountName\"}}");
	assert_code(CB_ENOTFOUND,
		get_once("/providers/Microsoft.Billing/billingAccounts/x/"
			 "customers"));
	assert_error(CB_ENOTFOUND, CB_ERRCLASS_AZURE, 404, "NotFound", REQ_ID,
		msg("GET %s/providers/Microsoft.Billing/billingAccounts/x/"
		    "customers: http 404 NotFound: The billing account was "
		    "not found (target: billingAccountName)",
			base_of(srv)));
	/* a 404 is final: asked once */
	assert_int_equal(1, cb_test_httpd_count(srv));
}

static void
test_arm_error_codes_by_status(void **state)
{
	static const struct {
		int status;
		int code;
		const char *arm_code;
	} cases[] = {
		{ 400, CB_EHTTP, "BadRequest" },
		{ 401, CB_EAUTH, "InvalidAuthenticationToken" },
		{ 403, CB_EAUTH, "AuthorizationFailed" },
		{ 404, CB_ENOTFOUND, "ResourceNotFound" },
		{ 409, CB_ECONFLICT, "Conflict" },
		{ 412, CB_ECONFLICT, "PreconditionFailed" },
		{ 410, CB_EHTTP, "Gone" },
		{ 501, CB_EHTTP, "NotImplemented" },
	};
	char body[256], headers[128], id[16];

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		cb_test_httpd_clear(srv);
		snprintf(body, sizeof(body),
			"{\"error\":{\"code\":\"%s\",\"message\":\"m%zu\"}}",
			cases[i].arm_code, i);
		snprintf(
			headers, sizeof(headers), "x-ms-request-id: id-%zu", i);
		cb_test_httpd_reply(srv, "/e", cases[i].status, headers, body);
		assert_code(cases[i].code, get_once("e"));
		snprintf(id, sizeof(id), "id-%zu", i);
		assert_error(cases[i].code, CB_ERRCLASS_AZURE, cases[i].status,
			cases[i].arm_code, id,
			msg("GET %s/e: http %d %s: m%zu", base_of(srv),
				cases[i].status, cases[i].arm_code, i));
	}
}

static void
test_arm_error_details_are_appended(void **state)
{
	(void)state;
	cb_test_httpd_reply(srv, "/r", 400, NULL,
		"{\"error\":{\"code\":\"BadRequest\",\"message\":\"Invalid "
		"input\",\"details\":[{\"code\":\"InvalidTimePeriod\",\"message\":"
		"\"The time period is more than one month\",\"target\":"
		"\"timePeriod\"},{\"foo\":1},{\"message\":\"second\"}],"
		"\"additionalInfo\":[{\"type\":\"t\",\"info\":{}}]}}");
	assert_code(CB_EHTTP, get_once("r"));
	assert_error(CB_EHTTP, CB_ERRCLASS_AZURE, 400, "BadRequest", "",
		msg("GET %s/r: http 400 BadRequest: Invalid input; "
		    "InvalidTimePeriod: The time period is more than one month "
		    "(target: timePeriod); second",
			base_of(srv)));
}

static void
test_arm_error_throttled_cost_management_429(void **state)
{
	cb_test_answer a = { 0 };

	(void)state;
	a.status = 429;
	a.headers = "Retry-After: 0\nx-ms-request-id: " REQ_ID;
	a.body = "{\"error\":{\"code\":\"429\",\"message\":\"Too many "
		 "requests. Please retry.\"}}";
	a.times = CB_TEST_HTTPD_FOREVER;
	cb_test_httpd_queue(srv, NULL, "/q", &a);
	assert_code(CB_ETHROTTLED, get_once("q"));
	assert_error(CB_ETHROTTLED, CB_ERRCLASS_AZURE, 429, "429", REQ_ID,
		msg("GET %s/q: http 429: Too many requests. Please retry. "
		    "(gave up after 2 attempts)",
			base_of(srv)));
	assert_int_equal(2, cb_test_httpd_count(srv));
}

static void
test_arm_error_html_from_a_proxy(void **state)
{
	cb_test_answer a = { 0 };

	(void)state;
	a.status = 502;
	a.headers = "Content-Type: text/html";
	a.body = "<html><body><h1>502 Bad Gateway</h1></body></html>";
	a.times = CB_TEST_HTTPD_FOREVER;
	cb_test_httpd_queue(srv, NULL, "/p", &a);
	assert_code(CB_EHTTP, get_once("p"));
	assert_error(CB_EHTTP, CB_ERRCLASS_HTTP, 502, "", "",
		msg("GET %s/p: http 502 with a non-JSON body (gave up after 2 "
		    "attempts)",
			base_of(srv)));

	/* once, not retried: no "gave up" */
	cb_test_httpd_clear(srv);
	cb_test_httpd_reply(srv, "/p", 400, NULL, "Bad Request");
	assert_code(CB_EHTTP, get_once("p"));
	assert_error(CB_EHTTP, CB_ERRCLASS_HTTP, 400, "", "",
		msg("GET %s/p: http 400 with a non-JSON body", base_of(srv)));
}

/* The odd shapes, from answers built in memory. */
static void
shape_case(int status, int http_error, const char *body,
	const char *want_message, const char *want_arm_code, int want_klass)
{
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	int code;

	resp.status = status;
	resp.attempts = 1;
	snprintf(resp.request_id, sizeof(resp.request_id), "rid");
	if (body)
		assert_ok(cb__buf_puts(&resp.body, body));
	code = cb__arm_error_from_response("POST",
		"https://management.azure.com/p/query?api-version=1&sig=secret",
		http_error, &resp);
	assert_int_equal(code, cb_error_last()->code);
	assert_error(
		code, want_klass, status, want_arm_code, "rid", want_message);
	cb__http_response_dispose(&resp);
}

static void
test_arm_error_shapes(void **state)
{
	(void)state;
	shape_case(500, 0, NULL,
		"POST https://management.azure.com/p/query: http 500 with an "
		"empty body",
		"", CB_ERRCLASS_HTTP);
	shape_case(503, 0, " \r\n",
		"POST https://management.azure.com/p/query: http 503 with an "
		"empty body",
		"", CB_ERRCLASS_HTTP);
	shape_case(400, 0, "{\"foo\":{\"bar\":1}}",
		"POST https://management.azure.com/p/query: http 400 with no "
		"ARM error in the body",
		"", CB_ERRCLASS_HTTP);
	shape_case(400, 0, "[1,2]",
		"POST https://management.azure.com/p/query: http 400 with no "
		"ARM error in the body",
		"", CB_ERRCLASS_HTTP);
	shape_case(400, 0, "{\"error\":\"just text\"}",
		"POST https://management.azure.com/p/query: http 400 with no "
		"ARM error in the body",
		"", CB_ERRCLASS_HTTP);
	/* members at the top level */
	shape_case(400, 0, "{\"code\":\"InvalidScope\",\"message\":\"bad\"}",
		"POST https://management.azure.com/p/query: http 400 "
		"InvalidScope: bad",
		"InvalidScope", CB_ERRCLASS_AZURE);
	/* a code only, a message only, a numeric code */
	shape_case(409, 0, "{\"error\":{\"code\":\"Conflict\"}}",
		"POST https://management.azure.com/p/query: http 409 Conflict",
		"Conflict", CB_ERRCLASS_AZURE);
	shape_case(400, 0, "{\"error\":{\"message\":\"no code\"}}",
		"POST https://management.azure.com/p/query: http 400: no code",
		"", CB_ERRCLASS_AZURE);
	shape_case(400, 0, "{\"error\":{\"code\":1234,\"message\":\"num\"}}",
		"POST https://management.azure.com/p/query: http 400 1234: num",
		"1234", CB_ERRCLASS_AZURE);
	shape_case(429, CB_ETHROTTLED, "{\"error\":{\"code\":\"429\"}}",
		"POST https://management.azure.com/p/query: http 429", "429",
		CB_ERRCLASS_AZURE);
	/* a remote message never carries a secret into ours (the scrubber
	 * drops the rest of an Authorization line) */
	shape_case(401, 0,
		"{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":"
		"\"Authorization: Bearer eyJ0eXAi.abc.def is expired\"}}",
		"POST https://management.azure.com/p/query: http 401 "
		"InvalidAuthenticationToken: Authorization: [redacted]",
		"InvalidAuthenticationToken", CB_ERRCLASS_AZURE);
	/* newlines from the body do not break the line */
	shape_case(400, 0, "{\"error\":{\"code\":\"A\",\"message\":\"x\\ny\"}}",
		"POST https://management.azure.com/p/query: http 400 A: x y",
		"A", CB_ERRCLASS_AZURE);
	/* a status from a retried attempt after a 5xx */
	shape_case(503, CB_EHTTP,
		"{\"error\":{\"code\":\"ServiceUnavailable\",\"message\":\"try "
		"later\"}}",
		"POST https://management.azure.com/p/query: http 503 "
		"ServiceUnavailable: try later",
		"ServiceUnavailable", CB_ERRCLASS_AZURE);
}

static void
test_arm_error_long_message_is_cut_not_overrun(void **state)
{
	cb_buf body = CB_BUF_INIT;
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;

	(void)state;
	assert_ok(cb__buf_puts(
		&body, "{\"error\":{\"code\":\"Big\",\"message\":\""));
	for (int i = 0; i < 3000; i++)
		assert_ok(cb__buf_putc(&body, 'm'));
	assert_ok(cb__buf_puts(&body, "\",\"details\":["));
	for (int i = 0; i < 50; i++)
		assert_ok(cb__buf_printf(&body,
			"%s{\"code\":\"D%d\",\"message\":\"detail\"}",
			i ? "," : "", i));
	assert_ok(cb__buf_puts(&body, "]}}"));
	resp.status = 400;
	resp.body = body;
	assert_code(CB_EHTTP,
		cb__arm_error_from_response("GET", "https://h/x", 0, &resp));
	assert_int_equal(
		CB_ERROR_MESSAGE_MAX - 1, strlen(cb_error_last()->message));
	assert_string_equal("Big", cb_error_last()->arm_code);
	cb__http_response_dispose(&resp);
}

static void
test_arm_error_survives_oom(void **state)
{
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	unsigned long n;
	int error;

	(void)state;
	resp.status = 404;
	assert_ok(cb__buf_puts(&resp.body,
		"{\"error\":{\"code\":\"NotFound\",\"message\":\"gone\"}}"));
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__arm_error_from_response(
			"GET", "https://h/x", 0, &resp);
		cb__alloc_fail_after(0);
		if (error != CB_ENOMEM)
			break;
	}
	assert_true(n > 1);
	assert_code(CB_ENOTFOUND, error);
	assert_string_equal("GET https://h/x: http 404 NotFound: gone",
		cb_error_last()->message);
	cb__http_response_dispose(&resp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_arm_error_404_with_arm_body, setup),
		cmocka_unit_test_setup(test_arm_error_codes_by_status, setup),
		cmocka_unit_test_setup(
			test_arm_error_details_are_appended, setup),
		cmocka_unit_test_setup(
			test_arm_error_throttled_cost_management_429, setup),
		cmocka_unit_test_setup(test_arm_error_html_from_a_proxy, setup),
		cmocka_unit_test_setup(test_arm_error_shapes, setup),
		cmocka_unit_test_setup(
			test_arm_error_long_message_is_cut_not_overrun, setup),
		cmocka_unit_test_setup(test_arm_error_survives_oom, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
