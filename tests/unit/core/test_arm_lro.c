/*
 * tests/unit/core/test_arm_lro.c - long-running operations against a real
 * local HTTP server: the Location flavour (202, 202, 200 with Retry-After
 * honoured, checked on the server's clock; a Location that moves; backoff
 * without Retry-After; the Cost Details statuses), the Azure-AsyncOperation
 * flavour (InProgress, InProgress, Succeeded then the final GET by method;
 * Failed; Canceled), the token guard on status URLs, the deadline (on a
 * fake clock), the Azure examples, and an OOM walk.
 */
#include "core/common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/core/test_arm_helpers.h"

#define SUB_SCOPE "/subscriptions/00000000-0000-0000-0000-000000000000"
#define OP_ID     "00000000-0000-0000-0000-000000000000"
#define GENERATE  "/providers/Microsoft.CostManagement/generateCostDetailsReport"
#define RESULTS \
	"/providers/Microsoft.CostManagement/costDetailsOperationResults/"

static const char report_body[] =
	"{\"metric\":\"ActualCost\",\"timePeriod\":{\"start\":\"2020-03-01\","
	"\"end\":\"2020-03-15\"}}";

static cb_test_httpd *srv;
static cb_http *http;
static struct test_token tok;
static struct fake_clock clk;

static int
group_setup(void **state)
{
	(void)state;
	if (cb_init() < 0 || cb_test_httpd_start(&srv, NULL) < 0)
		return -1;
	http = new_client(NULL);
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
	memset(&tok, 0, sizeof(tok));
	tok.token = TEST_TOKEN;
	memset(&clk, 0, sizeof(clk));
	clk.now = 1000000;
	return 0;
}

static char *fmt(const char *f, ...) CB_FORMAT_PRINTF(1, 2);

static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

/* A client on the fake clock: sleeps are recorded, not slept. */
static cb_arm *
fake_arm(cb_arm_options *o)
{
	o->clock = fake_clock_now;
	o->sleep = fake_clock_sleep;
	o->clock_payload = &clk;
	return new_arm(o);
}

static void
reply(const char *method, const char *route, int status, const char *headers,
	const char *body)
{
	cb_test_answer a = { 0 };

	a.status = status;
	a.headers = headers;
	a.body = body;
	cb_test_httpd_queue(srv, method, route, &a);
}

static void
assert_string_at(const cb_json *doc, const char *path, const char *want)
{
	const char *s;

	assert_ok(cb__json_get_string(&s, doc, cb__json_root(doc), path, 0));
	assert_string_equal(want, s);
}

static void
assert_int64_at(const cb_json *doc, const char *path, int64_t want)
{
	int64_t v;

	assert_ok(cb__json_get_int64(&v, doc, cb__json_root(doc), path, 0));
	assert_int_equal(want, v);
}

/*
 * The done-when case: a cost details report answering 202, 202, then 200,
 * polled at the pace of Retry-After (measured where the server received
 * the requests), ending with the example manifest.
 */
static void
test_arm_lro_location_202_202_200(void **state)
{
	static const char rel[] =
		"Microsoft.CostManagement/2025-03-01/"
		"CostDetailsOperationResultsBySubscriptionScope.json";
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm;
	cb_json *doc = NULL;
	char *final = example_text(rel, "responses.200.body", base_of(srv));
	char *location = example_text(
		rel, "responses.202.headers.Location", base_of(srv));
	char *headers = fmt("Location: %s\nRetry-After: 1", location);
	int64_t gap1, gap2;

	(void)state;
	o.lro_poll_min_ms = -1;
	/* without Retry-After we would wait 10 s: far outside the window */
	o.lro_poll_default_ms = 10000;
	arm = new_arm(&o);
	reply("POST", SUB_SCOPE GENERATE, 202, headers, NULL);
	reply("GET", SUB_SCOPE RESULTS OP_ID, 202, "Retry-After: 1", NULL);
	reply("GET", SUB_SCOPE RESULTS OP_ID, 200,
		"Content-Type: application/json", final);

	assert_ok(cb__arm_lro(&doc, arm, "POST", SUB_SCOPE GENERATE,
		"2025-03-01", report_body));

	assert_int_equal(3, cb_test_httpd_count(srv));
	assert_request(
		srv, 0, "POST", SUB_SCOPE GENERATE "?api-version=2025-03-01");
	assert_string_equal(report_body, req_at(srv, 0)->body);
	assert_request(srv, 1, "GET",
		SUB_SCOPE RESULTS OP_ID "?api-version=2025-03-01");
	assert_request(srv, 2, "GET",
		SUB_SCOPE RESULTS OP_ID "?api-version=2025-03-01");
	gap1 = req_at(srv, 1)->arrival_ms - req_at(srv, 0)->arrival_ms;
	gap2 = req_at(srv, 2)->arrival_ms - req_at(srv, 1)->arrival_ms;
	/* Retry-After: 1, with room above for a loaded machine */
	if (gap1 < 1000 || gap1 > 5000 || gap2 < 1000 || gap2 > 5000)
		fail_msg("polls %lld ms and %lld ms apart, want 1-5 s",
			(long long)gap1, (long long)gap2);

	/* the manifest, read from the example's body */
	assert_string_at(doc, "status", "Completed");
	assert_string_at(doc, "validTill", "2022-05-10T08:08:46.1973252Z");
	assert_string_at(doc, "manifest.manifestVersion", "2025-03-01");
	assert_string_at(doc, "manifest.dataFormat", "Csv");
	assert_int64_at(doc, "manifest.blobCount", 1);
	assert_int64_at(doc, "manifest.byteCount", 32741);
	assert_int64_at(doc, "manifest.blobs[0].byteCount", 32741);
	assert_string_at(doc, "manifest.blobs[0].blobLink",
		"https://ccmreportstorageeastus.blob.core.windows.net/"
		"armreports/00000/" OP_ID "?sv=2020-05-31&sr=b&sig=abcd");
	assert_string_at(doc,
		"manifest.requestContext.requestBody.timePeriod.start",
		"2020-03-01");
	cb__json_free(doc);
	free(final);
	free(location);
	free(headers);
	cb__arm_free(arm);
}

static void
test_arm_lro_location_moves_and_no_data(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = fake_arm(&o);
	cb_json *doc = NULL;
	char *h1 = fmt("Location: %s/op/a?api-version=1\nRetry-After: 5",
		base_of(srv));
	char *h2 = fmt("Location: %s/op/b?api-version=1\nRetry-After: 7",
		base_of(srv));

	(void)state;
	reply("POST", "/gen", 202, h1, NULL);
	reply("GET", "/op/a", 202, h2, NULL);
	reply("GET", "/op/b", 200, NULL,
		"{\"status\":\"NoDataFound\",\"manifest\":{\"blobCount\":0,"
		"\"blobs\":[]}}");
	assert_ok(cb__arm_lro(&doc, arm, "POST", "gen", "2025-03-01", "{}"));
	assert_string_at(doc, "status", "NoDataFound");
	assert_int_equal(2, clk.sleeps);
	assert_int_equal(5000, clk.slept[0]);
	assert_int_equal(7000, clk.slept[1]);
	assert_request(srv, 1, "GET", "/op/a?api-version=1");
	assert_request(srv, 2, "GET", "/op/b?api-version=1");
	cb__json_free(doc);
	free(h1);
	free(h2);
	cb__arm_free(arm);
}

static void
test_arm_lro_backoff_without_retry_after(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm;
	cb_json *doc = (cb_json *)&doc;
	char *h = fmt("Location: %s/op", base_of(srv));

	(void)state;
	o.lro_poll_default_ms = 100;
	o.lro_poll_max_ms = 250;
	o.lro_poll_min_ms = -1;
	arm = fake_arm(&o);
	reply("DELETE", "/res", 202, h, NULL);
	for (int i = 0; i < 4; i++)
		reply("GET", "/op", 202, NULL, NULL);
	reply("GET", "/op", 204, NULL, NULL);
	assert_ok(cb__arm_lro(&doc, arm, "DELETE", "res", "1", NULL));
	assert_null(doc);
	assert_int_equal(5, clk.sleeps);
	assert_int_equal(100, clk.slept[0]);
	assert_int_equal(200, clk.slept[1]);
	assert_int_equal(250, clk.slept[2]);
	assert_int_equal(250, clk.slept[3]);
	assert_int_equal(250, clk.slept[4]);
	assert_int_equal(6, cb_test_httpd_count(srv));
	cb__arm_free(arm);

	/* a Retry-After of 0 is raised to the floor (1 s by default) */
	cb_test_httpd_clear(srv);
	memset(&clk, 0, sizeof(clk));
	o = arm_options(http, srv, &tok);
	arm = fake_arm(&o);
	free(h);
	h = fmt("Location: %s/op\nRetry-After: 0", base_of(srv));
	reply("POST", "/gen", 202, h, NULL);
	reply("GET", "/op", 200, NULL, "{\"status\":\"Completed\"}");
	assert_ok(cb__arm_lro(&doc, arm, "POST", "gen", "1", "{}"));
	assert_int_equal(1, clk.sleeps);
	assert_int_equal(CB_ARM_LRO_POLL_MIN_MS, clk.slept[0]);
	cb__json_free(doc);
	free(h);
	cb__arm_free(arm);
}

/* The Azure examples' own 202 headers (Retry-After 60, a Location with
 * ':' in the billing account and ":443" in the host) drive the polling. */
static void
example_case(const char *rel, const char *path, const char *poll_target,
	const char *check_path, const char *check_value)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = fake_arm(&o);
	cb_json *doc = NULL;
	char *final = example_text(rel, "responses.200.body", base_of(srv));
	char *location = example_text(
		rel, "responses.202.headers.Location", base_of(srv));
	char *retry =
		example_text(rel, "responses.202.headers.Retry-After", NULL);
	char *headers = fmt("Location: %s\nRetry-After: %s", location, retry);

	cb_test_httpd_clear(srv);
	memset(&clk, 0, sizeof(clk));
	reply("POST", path, 202, headers, NULL);
	reply("GET", poll_target, 200, NULL, final);
	assert_ok(cb__arm_lro(&doc, arm, "POST", path, "2025-03-01", "{}"));
	assert_int_equal(1, clk.sleeps);
	assert_int_equal(strtol(retry, NULL, 10) * 1000, clk.slept[0]);
	assert_request(srv, 1, "GET", poll_target);
	assert_string_at(doc, check_path, check_value);
	cb__json_free(doc);
	free(final);
	free(location);
	free(retry);
	free(headers);
	cb__arm_free(arm);
}

static void
test_arm_lro_conformance_examples(void **state)
{
	(void)state;
	example_case("Microsoft.CostManagement/2025-03-01/"
		     "GenerateCostDetailsReportByCustomerAndTimePeriod.json",
		"/providers/Microsoft.Billing/billingAccounts/12345:6789/"
		"customers/13579" GENERATE,
		"/providers/Microsoft.Billing/billingAccounts/12345:6789/"
		"customers/13579" RESULTS OP_ID "?api-version=2025-03-01",
		"manifest.requestContext.requestScope",
		"providers/Microsoft.Billing/billingAccounts/12345:6789/"
		"customers/13579");
	example_case("Microsoft.CostManagement/2025-03-01/"
		     "PricesheetDownloadByBillingProfile.json",
		"/providers/Microsoft.Billing/billingAccounts/"
		"7c05a543-80ff-571e-9f98-1063b3b53cf2:"
		"99ad03ad-2d1b-4889-a452-090ad407d25f_2019-05-31/"
		"billingProfiles/2USN-TPCD-BG7-TGB/providers/"
		"Microsoft.CostManagement/pricesheets/default/download",
		"/providers/Microsoft.Billing/billingAccounts/"
		"7c05a543-80ff-571e-9f98-1063b3b53cf2:"
		"99ad03ad-2d1b-4889-a452-090ad407d25f_2019-05-31/"
		"billingProfiles/2USN-TPCD-BG7-TGB/providers/"
		"Microsoft.CostManagement/operationResults/"
		"45000000-0000-0000-0000-000000000000?sessiontoken=0:000000"
		"&api-version=2025-03-01&OperationType=PriceSheet",
		"expiryTime", "2018-07-21T17:32:28Z");
}

static void
test_arm_lro_cost_details_failed(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = fake_arm(&o);
	cb_json *doc = NULL;
	char *h = fmt("Location: %s/op\nRetry-After: 1", base_of(srv));
	char *want;

	(void)state;
	reply("POST", "/s" GENERATE, 202, h, NULL);
	reply("GET", "/op", 200, "x-ms-request-id: poll-7",
		"{\"status\":\"Failed\",\"error\":{\"code\":\"ReportGeneration"
		"Failed\",\"message\":\"The report could not be generated\"}}");
	assert_code(CB_EHTTP, cb__arm_lro(&doc, arm, "POST", "s" GENERATE,
				      "2025-03-01", "{}"));
	want = fmt("POST %s/s" GENERATE ": operation ended Failed: "
		   "ReportGenerationFailed: The report could not be generated",
		base_of(srv));
	assert_error(CB_EHTTP, CB_ERRCLASS_AZURE, 200, "ReportGenerationFailed",
		"poll-7", want);
	assert_null(doc);
	free(want);

	/* a synchronous 200 that failed, without detail */
	cb_test_httpd_clear(srv);
	reply("POST", "/s" GENERATE, 200, NULL, "{\"status\":\"Failed\"}");
	assert_code(CB_EHTTP, cb__arm_lro(&doc, arm, "POST", "s" GENERATE,
				      "2025-03-01", "{}"));
	want = fmt("POST %s/s" GENERATE ": operation ended Failed with no "
		   "error detail",
		base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	free(want);

	/* a resource whose provisioningState says Canceled */
	cb_test_httpd_clear(srv);
	reply("PUT", "/r", 201, h, NULL);
	reply("GET", "/op", 200, NULL,
		"{\"properties\":{\"provisioningState\":\"Canceled\"}}");
	assert_code(
		CB_ECANCELED, cb__arm_lro(&doc, arm, "PUT", "r", "1", "{}"));
	free(h);
	cb__arm_free(arm);
}

static void
test_arm_lro_async_put_in_progress_then_succeeded(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm;
	cb_json *doc = NULL;
	char *h = fmt("Azure-AsyncOperation: %s/ops/op1?api-version=2024-04-01"
		      "\nRetry-After: 0",
		base_of(srv));

	(void)state;
	o.lro_poll_min_ms = -1;
	arm = new_arm(&o);
	reply("PUT", "/c/policies/default", 201, h,
		"{\"properties\":{\"provisioningState\":\"Provisioning\"}}");
	reply("GET", "/ops/op1", 200, "Retry-After: 0",
		"{\"status\":\"InProgress\"}");
	reply("GET", "/ops/op1", 200, "Retry-After: 0",
		"{\"status\":\"InProgress\",\"percentComplete\":50}");
	reply("GET", "/ops/op1", 200, NULL, "{\"status\":\"Succeeded\"}");
	reply("GET", "/c/policies/default", 200, NULL,
		"{\"properties\":{\"viewCharges\":\"Allowed\","
		"\"provisioningState\":\"Succeeded\"}}");
	assert_ok(cb__arm_lro(&doc, arm, "PUT", "c/policies/default",
		"2024-04-01",
		"{\"properties\":{\"viewCharges\":\"Allowed\"}}"));
	assert_string_at(doc, "properties.viewCharges", "Allowed");
	assert_int_equal(5, cb_test_httpd_count(srv));
	assert_request(
		srv, 0, "PUT", "/c/policies/default?api-version=2024-04-01");
	for (size_t i = 1; i <= 3; i++)
		assert_request(
			srv, i, "GET", "/ops/op1?api-version=2024-04-01");
	/* PUT: the result is the resource itself */
	assert_request(
		srv, 4, "GET", "/c/policies/default?api-version=2024-04-01");
	cb__json_free(doc);
	free(h);
	cb__arm_free(arm);
}

static void
test_arm_lro_async_preferred_then_location(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = fake_arm(&o);
	cb_json *doc = NULL;
	char *h = fmt("Location: %s/result/1\nAzure-AsyncOperation: %s/status/1"
		      "\nRetry-After: 3",
		base_of(srv), base_of(srv));

	(void)state;
	reply("POST", "/act", 202, h, NULL);
	reply("GET", "/status/1", 200, "Retry-After: 4",
		"{\"status\":\"Running\"}");
	reply("GET", "/status/1", 200, NULL, "{\"status\":\"succeeded\"}");
	reply("GET", "/result/1", 200, NULL, "{\"url\":\"https://x/y.pdf\"}");
	assert_ok(cb__arm_lro(&doc, arm, "POST", "act", "1", "{}"));
	assert_string_at(doc, "url", "https://x/y.pdf");
	assert_int_equal(4, cb_test_httpd_count(srv));
	assert_request(srv, 1, "GET", "/status/1");
	assert_request(srv, 2, "GET", "/status/1");
	assert_request(srv, 3, "GET", "/result/1");
	/* waits before each status poll; none before the result */
	assert_int_equal(2, clk.sleeps);
	assert_int_equal(3000, clk.slept[0]);
	assert_int_equal(4000, clk.slept[1]);
	cb__json_free(doc);

	/* POST with only a status URL: the status body is the result */
	cb_test_httpd_clear(srv);
	free(h);
	h = fmt("Azure-AsyncOperation: %s/status/2", base_of(srv));
	reply("POST", "/act", 202, h, NULL);
	reply("GET", "/status/2", 200, NULL,
		"{\"status\":\"Succeeded\",\"properties\":{\"n\":1}}");
	assert_ok(cb__arm_lro(&doc, arm, "POST", "act", "1", "{}"));
	assert_int64_at(doc, "properties.n", 1);
	cb__json_free(doc);

	/* DELETE: nothing */
	cb_test_httpd_clear(srv);
	reply("DELETE", "/act", 202, h, NULL);
	reply("GET", "/status/2", 200, NULL, "{\"status\":\"Succeeded\"}");
	doc = (cb_json *)&doc;
	assert_ok(cb__arm_lro(&doc, arm, "DELETE", "act", "1", NULL));
	assert_null(doc);
	free(h);
	cb__arm_free(arm);
}

static void
test_arm_lro_async_failed_and_canceled(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = fake_arm(&o);
	cb_json *doc = NULL;
	char *h = fmt("Azure-AsyncOperation: %s/status/9", base_of(srv));
	char *want;

	(void)state;
	reply("PUT", "/c", 201, h, NULL);
	reply("GET", "/status/9", 200, NULL, "{\"status\":\"InProgress\"}");
	reply("GET", "/status/9", 200, "x-ms-request-id: rq-9",
		"{\"status\":\"Failed\",\"error\":{\"code\":\"InternalError\","
		"\"message\":\"boom\",\"target\":\"policy\"}}");
	assert_code(CB_EHTTP, cb__arm_lro(&doc, arm, "PUT", "c", "1", "{}"));
	want = fmt("PUT %s/c: operation ended Failed: InternalError: boom "
		   "(target: policy)",
		base_of(srv));
	assert_error(CB_EHTTP, CB_ERRCLASS_AZURE, 200, "InternalError", "rq-9",
		want);
	assert_null(doc);
	assert_int_equal(3, cb_test_httpd_count(srv));
	free(want);

	cb_test_httpd_clear(srv);
	reply("PUT", "/c", 201, h, NULL);
	reply("GET", "/status/9", 200, NULL, "{\"status\":\"Canceled\"}");
	assert_code(
		CB_ECANCELED, cb__arm_lro(&doc, arm, "PUT", "c", "1", "{}"));
	want = fmt("PUT %s/c: operation ended Canceled with no error detail",
		base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	free(want);

	/* a status body without a status */
	cb_test_httpd_clear(srv);
	reply("PUT", "/c", 201, h, NULL);
	reply("GET", "/status/9", 200, NULL, "{\"percentComplete\":3}");
	assert_code(CB_EPARSE, cb__arm_lro(&doc, arm, "PUT", "c", "1", "{}"));
	want = fmt("GET %s/status/9: response: status: missing", base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	free(want);

	/* an empty status body */
	cb_test_httpd_clear(srv);
	reply("PUT", "/c", 201, h, NULL);
	reply("GET", "/status/9", 200, NULL, NULL);
	assert_code(CB_EPARSE, cb__arm_lro(&doc, arm, "PUT", "c", "1", "{}"));
	want = fmt("PUT %s/c: operation status: http 200 with an empty body",
		base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	free(want);
	free(h);
	cb__arm_free(arm);
}

static void
test_arm_lro_refuses_status_urls_elsewhere(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = fake_arm(&o);
	cb_json *doc = NULL;
	char *want, *h;

	(void)state;
	reply("POST", "/x", 202,
		"Azure-AsyncOperation: https://evil.example.com/status/1",
		NULL);
	assert_code(
		CB_ESECURITY, cb__arm_lro(&doc, arm, "POST", "x", "1", "{}"));
	want = fmt("POST %s/x: refusing Azure-AsyncOperation to "
		   "'https://evil.example.com': not the management endpoint "
		   "'%s', the token must not go there",
		base_of(srv), base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	free(want);
	assert_int_equal(1, cb_test_httpd_count(srv));

	/* a Location that moves elsewhere on a later 202 */
	cb_test_httpd_clear(srv);
	h = fmt("Location: %s/op\nRetry-After: 1", base_of(srv));
	reply("POST", "/x", 202, h, NULL);
	reply("GET", "/op", 202,
		"Location: https://management.azure.com.evil.example.com/op",
		NULL);
	assert_code(
		CB_ESECURITY, cb__arm_lro(&doc, arm, "POST", "x", "1", "{}"));
	want = fmt("POST %s/x: refusing Location to "
		   "'https://management.azure.com.evil.example.com': not the "
		   "management endpoint '%s', the token must not go there",
		base_of(srv), base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(2, cb_test_httpd_count(srv));
	free(want);
	free(h);
	cb__arm_free(arm);
}

static void
test_arm_lro_deadline(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm;
	cb_json *doc = NULL;
	char *h = fmt("Location: %s/op\nRetry-After: 60", base_of(srv));
	char *want;
	cb_test_answer a = { 0 };

	(void)state;
	o.lro_deadline_ms = 90000;
	arm = fake_arm(&o);
	reply("POST", "/x", 202, h, NULL);
	a.status = 202;
	a.headers = "Retry-After: 60";
	a.times = CB_TEST_HTTPD_FOREVER;
	cb_test_httpd_queue(srv, "GET", "/op", &a);
	assert_code(
		CB_ETIMEOUT, cb__arm_lro(&doc, arm, "POST", "x", "1", "{}"));
	want = fmt("POST %s/x: operation not done after 60000 ms and 1 poll; "
		   "the next poll, in 60000 ms, would pass the 90000 ms "
		   "deadline",
		base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(CB_ERRCLASS_HTTP, cb_error_last()->klass);
	/* gave up without the useless second sleep */
	assert_int_equal(1, clk.sleeps);
	assert_int_equal(2, cb_test_httpd_count(srv));
	free(want);
	cb__arm_free(arm);

	/* a first Retry-After already past the deadline: no sleep at all */
	cb_test_httpd_clear(srv);
	memset(&clk, 0, sizeof(clk));
	o.lro_deadline_ms = 30000;
	arm = fake_arm(&o);
	reply("POST", "/x", 202, h, NULL);
	assert_code(
		CB_ETIMEOUT, cb__arm_lro(&doc, arm, "POST", "x", "1", "{}"));
	want = fmt("POST %s/x: operation not done after 0 ms and 0 polls; "
		   "the next poll, in 60000 ms, would pass the 30000 ms "
		   "deadline",
		base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(0, clk.sleeps);
	assert_int_equal(1, cb_test_httpd_count(srv));
	free(want);
	free(h);
	cb__arm_free(arm);
}

static void
test_arm_lro_first_answers(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = fake_arm(&o);
	cb_json *doc = NULL;
	char *want;

	(void)state;
	/* 200 at once: the result, no polling */
	reply("POST", "/x", 200, NULL, "{\"status\":\"Completed\"}");
	assert_ok(cb__arm_lro(&doc, arm, "POST", "x", "1", "{}"));
	assert_string_at(doc, "status", "Completed");
	cb__json_free(doc);
	doc = NULL;
	/* 201 without LRO headers: created synchronously */
	reply("PUT", "/x", 201, NULL, "{\"name\":\"b1\"}");
	assert_ok(cb__arm_lro(&doc, arm, "PUT", "x", "1", "{}"));
	assert_string_at(doc, "name", "b1");
	cb__json_free(doc);
	doc = NULL;
	assert_int_equal(0, clk.sleeps);

	/* 202 with nothing to follow */
	reply("POST", "/x", 202, "x-ms-request-id: r0", NULL);
	assert_code(CB_EHTTP, cb__arm_lro(&doc, arm, "POST", "x", "1", "{}"));
	want = fmt("POST %s/x: http 202 without a Location or "
		   "Azure-AsyncOperation header",
		base_of(srv));
	assert_error(CB_EHTTP, CB_ERRCLASS_HTTP, 202, "", "r0", want);
	free(want);

	/* refused at once */
	reply("POST", "/x", 400, NULL,
		"{\"error\":{\"code\":\"BadRequest\",\"message\":\"Only one of "
		"timePeriod, invoiceId or billingPeriod\"}}");
	assert_code(CB_EHTTP, cb__arm_lro(&doc, arm, "POST", "x", "1", "{}"));
	want = fmt("POST %s/x: http 400 BadRequest: Only one of timePeriod, "
		   "invoiceId or billingPeriod",
		base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	free(want);

	/* a poll that fails names the poll */
	want = fmt("Location: %s/op?api-version=1", base_of(srv));
	reply("POST", "/x", 202, want, NULL);
	free(want);
	reply("GET", "/op", 404, NULL,
		"{\"error\":{\"code\":\"OperationNotFound\",\"message\":\"gone\"}}");
	assert_code(
		CB_ENOTFOUND, cb__arm_lro(&doc, arm, "POST", "x", "1", "{}"));
	want = fmt("GET %s/op: http 404 OperationNotFound: gone", base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	free(want);
	assert_null(doc);
	assert_int_equal(0, cb_test_httpd_unexpected(srv));
	assert_int_equal(0, cb_test_httpd_pending(srv));
	cb__arm_free(arm);
}

static void
test_arm_lro_survives_oom(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = fake_arm(&o);
	cb_test_answer a = { 0 };
	char *h = fmt(
		"Location: %s/op?api-version=1\nRetry-After: 0", base_of(srv));
	unsigned long n;
	int error;

	(void)state;
	a.times = CB_TEST_HTTPD_FOREVER;
	a.status = 202;
	a.headers = h;
	cb_test_httpd_queue(srv, "POST", "/x", &a);
	a.status = 200;
	a.headers = NULL;
	a.body = "{\"status\":\"Completed\",\"manifest\":{\"blobCount\":1}}";
	cb_test_httpd_queue(srv, "GET", "/op", &a);
	for (n = 1;; n++) {
		cb_json *doc = NULL;

		cb__alloc_fail_after(n);
		error = cb__arm_lro(&doc, arm, "POST", "x", "1", "{}");
		cb__alloc_fail_after(0);
		if (error == 0) {
			assert_int64_at(doc, "manifest.blobCount", 1);
			cb__json_free(doc);
			break;
		}
		assert_code(CB_ENOMEM, error);
		assert_null(doc);
	}
	assert_true(n > 10);
	free(h);
	cb__arm_free(arm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			test_arm_lro_location_202_202_200, setup),
		cmocka_unit_test_setup(
			test_arm_lro_location_moves_and_no_data, setup),
		cmocka_unit_test_setup(
			test_arm_lro_backoff_without_retry_after, setup),
		cmocka_unit_test_setup(
			test_arm_lro_conformance_examples, setup),
		cmocka_unit_test_setup(test_arm_lro_cost_details_failed, setup),
		cmocka_unit_test_setup(
			test_arm_lro_async_put_in_progress_then_succeeded,
			setup),
		cmocka_unit_test_setup(
			test_arm_lro_async_preferred_then_location, setup),
		cmocka_unit_test_setup(
			test_arm_lro_async_failed_and_canceled, setup),
		cmocka_unit_test_setup(
			test_arm_lro_refuses_status_urls_elsewhere, setup),
		cmocka_unit_test_setup(test_arm_lro_deadline, setup),
		cmocka_unit_test_setup(test_arm_lro_first_answers, setup),
		cmocka_unit_test_setup(test_arm_lro_survives_oom, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
