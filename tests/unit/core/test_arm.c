/*
 * tests/unit/core/test_arm.c - the ARM client: endpoint checks, URLs built
 * from paths that keep billing account names verbatim, the token guard on
 * links from the server, and single requests against a real local HTTP
 * server (exact targets and headers, bodies, 204, token provider failures,
 * an OOM walk).
 */
#include "core/common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/core/test_arm_helpers.h"

/* An MCA billing account name: ':' and '_' must reach the server as is. */
#define MCA_ACCOUNT                                                     \
	"00000000-0000-0000-0000-000000000000:11111111-1111-1111-1111-" \
	"111111111111_2019-05-31"

static cb_test_httpd *srv;
static cb_http *http;

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
	return 0;
}

/* A client on a given endpoint; no request is made with it. */
static cb_arm *
arm_at(const char *endpoint)
{
	static struct test_token tok = { TEST_TOKEN, 0, "" };
	cb_arm_options o = CB_ARM_OPTIONS_INIT;

	o.http = http;
	o.endpoint = endpoint;
	o.token = test_token_fn;
	o.token_payload = &tok;
	return new_arm(&o);
}

static void
test_arm_new_defaults_and_trailing_slash(void **state)
{
	cb_arm *arm;

	(void)state;
	arm = arm_at(NULL);
	assert_string_equal(
		"https://management.azure.com", cb__arm_endpoint(arm));
	assert_int_equal(CB_ARM_MAX_PAGES_DEFAULT, arm->max_pages);
	assert_int_equal(CB_ARM_LRO_DEADLINE_DEFAULT_MS, arm->lro_deadline_ms);
	assert_int_equal(CB_ARM_LRO_POLL_DEFAULT_MS, arm->lro_poll_default_ms);
	assert_int_equal(CB_ARM_LRO_POLL_MAX_MS, arm->lro_poll_max_ms);
	assert_int_equal(CB_ARM_LRO_POLL_MIN_MS, arm->lro_poll_min_ms);
	cb__arm_free(arm);

	arm = arm_at("https://management.usgovcloudapi.net//");
	assert_string_equal(
		"https://management.usgovcloudapi.net", cb__arm_endpoint(arm));
	cb__arm_free(arm);

	arm = arm_at("http://127.0.0.1:8080/_armsim/plan/slow/");
	assert_string_equal("http://127.0.0.1:8080/_armsim/plan/slow",
		cb__arm_endpoint(arm));
	assert_string_equal("http://127.0.0.1:8080", arm->origin);
	assert_int_equal(8080, arm->port);
	cb__arm_free(arm);
}

static void
test_arm_new_refuses_bad_endpoints(void **state)
{
	static const char *bad[] = {
		"management.azure.com",
		"ftp://management.azure.com",
		"https://",
		"https://:443",
		"https://management.azure.com:0",
		"https://management.azure.com:65536",
		"https://management.azure.com:44x",
		"https://management.azure.com?x=1",
		"https://management.azure.com/#frag",
		"https://user@management.azure.com",
		"https://manage ment.azure.com",
		"https://[::1",
		"/",
	};
	struct test_token tok = { TEST_TOKEN, 0, "" };
	cb_arm_options o = CB_ARM_OPTIONS_INIT;
	cb_arm *arm = NULL;
	char want[512];

	(void)state;
	o.http = http;
	o.token = test_token_fn;
	o.token_payload = &tok;
	for (size_t i = 0; i < CB_ARRAY_SIZE(bad); i++) {
		o.endpoint = bad[i];
		assert_code(CB_EINVAL, cb__arm_new(&arm, &o));
		assert_null(arm);
		snprintf(want, sizeof(want),
			"arm endpoint '%s' is not http(s)://host[:port][/path]",
			bad[i]);
		assert_string_equal(want, cb_error_last()->message);
		assert_int_equal(CB_ERRCLASS_CONFIG, cb_error_last()->klass);
	}

	o.endpoint = NULL;
	o.http = NULL;
	assert_code(CB_EINVAL, cb__arm_new(&arm, &o));
	assert_string_equal("cb__arm_new: invalid argument: opts->http",
		cb_error_last()->message);
	o.http = http;
	o.token = NULL;
	assert_code(CB_EINVAL, cb__arm_new(&arm, &o));
	o.token = test_token_fn;
	o.version = 0;
	assert_code(CB_EINVAL, cb__arm_new(&arm, &o));
	assert_null(arm);

	/* An IPv6 loopback with a port is a fine endpoint. */
	arm = arm_at("http://[::1]:8080");
	assert_string_equal("[::1]", arm->host);
	cb__arm_free(arm);
}

static void
url_case(const char *endpoint, const char *path, const char *api_version,
	const char *want)
{
	cb_arm *arm = arm_at(endpoint);
	cb_buf url = CB_BUF_INIT;

	assert_ok(cb__arm_url(&url, arm, path, api_version));
	assert_string_equal(want, url.ptr);
	cb_buf_dispose(&url);
	cb__arm_free(arm);
}

static void
test_arm_url_keeps_paths_verbatim(void **state)
{
	(void)state;
	url_case(NULL,
		"/providers/Microsoft.Billing/billingAccounts/" MCA_ACCOUNT
		"/customers",
		"2024-04-01",
		"https://management.azure.com/providers/Microsoft.Billing/"
		"billingAccounts/" MCA_ACCOUNT
		"/customers?api-version=2024-04-01");
	/* no leading slash, the 2019-10-01-preview form and an EA number */
	url_case("https://management.azure.com/",
		"providers/Microsoft.Billing/billingAccounts/"
		"aaaa_bbbb/customers/cccc_dddd",
		"2019-10-01-preview",
		"https://management.azure.com/providers/Microsoft.Billing/"
		"billingAccounts/aaaa_bbbb/customers/cccc_dddd"
		"?api-version=2019-10-01-preview");
	/* a query already there: '&', and escapes kept as given */
	url_case(NULL,
		"providers/Microsoft.Billing/billingAccounts/70664866/"
		"providers/Microsoft.CostManagement/budgets?$skiptoken=AQ%3D%3D",
		"2025-03-01",
		"https://management.azure.com/providers/Microsoft.Billing/"
		"billingAccounts/70664866/providers/Microsoft.CostManagement/"
		"budgets?$skiptoken=AQ%3D%3D&api-version=2025-03-01");
	/* only bytes that cannot be in a URL are escaped */
	url_case(NULL, "x/budgets?$filter=properties/category eq 'Cost'",
		"2025-03-01",
		"https://management.azure.com/x/budgets?$filter=properties/"
		"category%20eq%20'Cost'&api-version=2025-03-01");
	url_case(NULL, "a/caf\xc3\xa9#<>\"\\^`{|}\x01", NULL,
		"https://management.azure.com/a/caf%C3%A9%23%3C%3E%22%5C%5E%60"
		"%7B%7C%7D%01");
	/* armsim's fault-plan prefix stays in front of the path */
	url_case("http://127.0.0.1:8080/_armsim/plan/slow/",
		"/providers/Microsoft.Billing/billingAccounts", "2024-04-01",
		"http://127.0.0.1:8080/_armsim/plan/slow/providers/"
		"Microsoft.Billing/billingAccounts?api-version=2024-04-01");
}

static void
test_arm_url_refuses_bad_input(void **state)
{
	cb_arm *arm = arm_at(NULL);
	cb_buf url = CB_BUF_INIT;

	(void)state;
	assert_ok(cb__buf_puts(&url, "kept"));
	assert_code(CB_EINVAL,
		cb__arm_url(&url, arm, "x", "2024-04-01&api-version=1"));
	assert_string_equal(
		"api-version '2024-04-01&api-version=1' is not [0-9A-Za-z.-]+",
		cb_error_last()->message);
	assert_code(CB_EINVAL, cb__arm_url(&url, arm, "x", ""));
	assert_code(CB_EINVAL,
		cb__arm_url(&url, arm, "https://evil.example.com/x", "1"));
	assert_string_equal("arm path is an absolute url; links from the "
			    "server go through cb__arm_check_link",
		cb_error_last()->message);
	assert_code(CB_EINVAL, cb__arm_url(&url, arm, NULL, "1"));
	/* nothing was appended by the failures */
	assert_string_equal("kept", url.ptr);
	cb_buf_dispose(&url);
	cb__arm_free(arm);
}

static void
link_ok(const char *endpoint, const char *link, const char *want)
{
	cb_arm *arm = arm_at(endpoint);
	cb_buf out = CB_BUF_INIT;

	assert_ok(cb__arm_check_link(&out, arm, link, "nextLink"));
	assert_string_equal(want, out.ptr);
	cb_buf_dispose(&out);
	cb__arm_free(arm);
}

static void
link_refused(const char *endpoint, const char *link, const char *message)
{
	cb_arm *arm = arm_at(endpoint);
	cb_buf out = CB_BUF_INIT;

	assert_code(
		CB_ESECURITY, cb__arm_check_link(&out, arm, link, "Location"));
	assert_string_equal(message, cb_error_last()->message);
	assert_int_equal(CB_ERRCLASS_HTTP, cb_error_last()->klass);
	assert_int_equal(0, out.size);
	cb_buf_dispose(&out);
	cb__arm_free(arm);
}

static void
test_arm_check_link_allows_only_the_endpoint(void **state)
{
	(void)state;
	link_ok(NULL,
		"https://management.azure.com/providers/Microsoft.Billing/"
		"billingAccounts/" MCA_ACCOUNT
		"/customers?api-version=2024-04-01"
		"&$skiptoken=AQAAAA%3D%3D",
		"https://management.azure.com/providers/Microsoft.Billing/"
		"billingAccounts/" MCA_ACCOUNT
		"/customers?api-version=2024-04-01"
		"&$skiptoken=AQAAAA%3D%3D");
	/* the price sheet download's Location names port 443 explicitly */
	link_ok(NULL,
		"https://MANAGEMENT.Azure.com:443/providers/x/operationResults/"
		"1?sessiontoken=0:000000&api-version=2025-03-01",
		"https://MANAGEMENT.Azure.com:443/providers/x/operationResults/"
		"1?sessiontoken=0:000000&api-version=2025-03-01");
	link_ok("http://127.0.0.1:8080/_armsim/plan/p",
		"http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x");
	/* a path alone is relative to the endpoint's origin */
	link_ok("http://127.0.0.1:8080/_armsim/plan/p",
		"/_armsim/plan/p/ops/1?api-version=1",
		"http://127.0.0.1:8080/_armsim/plan/p/ops/1?api-version=1");

	link_refused(NULL, "https://evil.example.com/steal?token=1",
		"refusing Location to 'https://evil.example.com': not the "
		"management endpoint 'https://management.azure.com', the token "
		"must not go there");
	link_refused(NULL, "https://management.azure.com.evil.example.com/x",
		"refusing Location to "
		"'https://management.azure.com.evil.example.com': not the "
		"management endpoint 'https://management.azure.com', the token "
		"must not go there");
	link_refused(NULL, "http://management.azure.com/x",
		"refusing Location to 'http://management.azure.com': not the "
		"management endpoint 'https://management.azure.com', the token "
		"must not go there");
	link_refused(NULL, "https://management.azure.com:8443/x",
		"refusing Location to 'https://management.azure.com:8443': not "
		"the management endpoint 'https://management.azure.com', the "
		"token must not go there");
	link_refused("http://127.0.0.1:8080", "http://127.0.0.1:8081/x",
		"refusing Location to 'http://127.0.0.1:8081': not the "
		"management endpoint 'http://127.0.0.1:8080', the token must "
		"not go there");
	link_refused(NULL, "https://management.azure.com@evil.example.com/x",
		"refusing Location: not an absolute http(s) url with a plain "
		"host");
	link_refused(NULL, "//evil.example.com/x",
		"refusing Location: not an absolute http(s) url with a plain "
		"host");
	link_refused(NULL, "ftp://management.azure.com/x",
		"refusing Location: not an absolute http(s) url with a plain "
		"host");
	link_refused(NULL, "x/y",
		"refusing Location: not an absolute http(s) url with a plain "
		"host");
	link_refused(NULL, "https://management.azure.com/x\r\nHost: evil",
		"refusing Location with control characters or spaces");
	link_refused(NULL, "https://management.azure.com/a b",
		"refusing Location with control characters or spaces");
}

static void
test_arm_get_sends_exact_request(void **state)
{
	struct test_token tok = { TEST_TOKEN, 0, "" };
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm;
	cb_json *doc = NULL;
	const char *name;
	const cb_test_request *r;

	(void)state;
	o.token_scope = "https://management.azure.com/.default";
	arm = new_arm(&o);
	cb_test_httpd_reply(srv,
		"/providers/Microsoft.Billing/billingAccounts/" MCA_ACCOUNT,
		200, "Content-Type: application/json",
		"{\"name\":\"" MCA_ACCOUNT "\",\"properties\":{\"n\":1.10}}");
	assert_ok(cb__arm_get(&doc, arm,
		"/providers/Microsoft.Billing/billingAccounts/" MCA_ACCOUNT,
		"2024-04-01"));
	assert_non_null(doc);
	assert_ok(
		cb__json_get_string(&name, doc, cb__json_root(doc), "name", 0));
	assert_string_equal(MCA_ACCOUNT, name);

	assert_int_equal(1, cb_test_httpd_count(srv));
	assert_request(srv, 0, "GET",
		"/providers/Microsoft.Billing/billingAccounts/" MCA_ACCOUNT
		"?api-version=2024-04-01");
	r = req_at(srv, 0);
	assert_string_equal(
		"application/json", cb_test_request_header(r, "Accept"));
	assert_null(cb_test_request_header(r, "Content-Type"));
	assert_int_equal(0, r->body_len);
	assert_int_equal(1, tok.calls);
	assert_string_equal("https://management.azure.com/.default", tok.scope);
	cb__json_free(doc);
	cb__arm_free(arm);
}

static void
test_arm_put_post_delete(void **state)
{
	static const char body[] = "{\"properties\":{\"viewCharges\":"
				   "\"Allowed\"}}";
	struct test_token tok = { TEST_TOKEN, 0, "" };
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	cb_json *doc = NULL;
	const cb_test_request *r;
	const char *v;
	cb_buf url = CB_BUF_INIT;
	int status = 0;

	(void)state;
	cb_test_httpd_reply(srv, "/c/policies/default", 201, NULL,
		"{\"properties\":{\"viewCharges\":\"Allowed\"}}");
	cb_test_httpd_reply(srv, "/c/q", 204, NULL, NULL);
	cb_test_httpd_reply(srv, "/c/b", 200, NULL, " \r\n");

	assert_ok(cb__arm_put(
		&doc, arm, "c/policies/default", "2024-04-01", body));
	assert_ok(cb__json_get_string(
		&v, doc, cb__json_root(doc), "properties.viewCharges", 0));
	assert_string_equal("Allowed", v);
	cb__json_free(doc);
	r = req_at(srv, 0);
	assert_request(
		srv, 0, "PUT", "/c/policies/default?api-version=2024-04-01");
	assert_string_equal(
		"application/json", cb_test_request_header(r, "Content-Type"));
	assert_string_equal(body, r->body);

	doc = (cb_json *)&doc; /* must be overwritten with NULL */
	assert_ok(cb__arm_post(&doc, arm, "c/q", "2025-03-01", "{}"));
	assert_null(doc);
	assert_request(srv, 1, "POST", "/c/q?api-version=2025-03-01");
	assert_string_equal("{}", req_at(srv, 1)->body);

	doc = (cb_json *)&doc;
	assert_ok(cb__arm_delete(&doc, arm, "c/b", "2025-03-01"));
	assert_null(doc);
	assert_request(srv, 2, "DELETE", "/c/b?api-version=2025-03-01");

	/* cb__arm_send reports the status (201 created vs 200 updated) */
	cb_test_httpd_reply(srv, "/c/policies/default", 200, NULL, "{}");
	assert_ok(cb__arm_url(&url, arm, "c/policies/default", "2024-04-01"));
	assert_ok(cb__arm_send(&doc, &status, arm, "PUT", url.ptr, body, 0));
	assert_int_equal(200, status);
	cb__json_free(doc);
	cb_buf_dispose(&url);
	assert_int_equal(0, cb_test_httpd_unexpected(srv));
	cb__arm_free(arm);
}

static void
test_arm_token_failures_send_nothing(void **state)
{
	struct test_token tok = { NULL, 0, "" };
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	cb_json *doc = NULL;

	(void)state;
	assert_code(CB_EAUTH, cb__arm_get(&doc, arm, "x", "1"));
	assert_string_equal(
		"test provider: no token today", cb_error_last()->message);
	assert_string_equal("(null)", tok.scope);

	tok.token = "";
	assert_code(CB_EAUTH, cb__arm_get(&doc, arm, "x", "1"));
	assert_string_equal("the token provider gave an empty token",
		cb_error_last()->message);

	tok.token = "abc\r\nX-Evil: 1";
	assert_code(CB_EAUTH, cb__arm_get(&doc, arm, "x", "1"));
	assert_string_equal("the token provider gave a token with bytes not "
			    "allowed in a bearer token",
		cb_error_last()->message);
	assert_int_equal(CB_ERRCLASS_AUTH, cb_error_last()->klass);
	assert_null(doc);
	assert_int_equal(0, cb_test_httpd_count(srv));
	cb__arm_free(arm);
}

static void
test_arm_bad_2xx_body_and_transport_errors(void **state)
{
	struct test_token tok = { TEST_TOKEN, 0, "" };
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	cb_json *doc = NULL;
	char want[256], dead[64];

	(void)state;
	cb_test_httpd_reply(srv, "/x", 200, NULL, "<html>ok</html>");
	assert_code(CB_EPARSE, cb__arm_get(&doc, arm, "x", "2024-04-01"));
	snprintf(want, sizeof(want),
		"^GET %s/x: response:1:1: invalid token near '<'$",
		base_of(srv));
	assert_message_matches(want);
	assert_null(doc);

	/* A 200 cut short (retries used up): core/http's message, not a
	 * JSON complaint about half a body. */
	{
		cb_test_answer cut = { 0 };

		cut.body = "{\"value\":[{\"name\":\"a\"}]}";
		cut.truncate = true;
		cut.truncate_at = 5;
		cut.times = CB_TEST_HTTPD_FOREVER;
		cb_test_httpd_queue(srv, NULL, "/cut", &cut);
		assert_code(CB_EHTTP, cb__arm_get(&doc, arm, "cut", "1"));
		snprintf(want, sizeof(want),
			"^GET %s/cut: gave up after 4 attempts .*: transfer "
			"closed with 19 bytes remaining to read$",
			base_of(srv));
		assert_message_matches(want);
		assert_null(doc);
	}
	cb__arm_free(arm);

	/* Nothing listening: core/http's code and message come through. */
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d",
		cb_test_unused_port());
	o.endpoint = dead;
	arm = new_arm(&o);
	assert_code(CB_EHTTP, cb__arm_get(&doc, arm, "x", "2024-04-01"));
	snprintf(want, sizeof(want), "^GET %s/x: ", dead);
	assert_message_matches(want);
	assert_int_equal(0, cb_error_last()->http_status);
	cb__arm_free(arm);
}

/* The two halves of cb__arm_send, as tenants/ code runs them concurrently
 * through core/http's executor. */
static void
test_arm_prepare_and_result_concurrently(void **state)
{
	struct test_token tok = { TEST_TOKEN, 0, "" };
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	struct cb_arm_request req[3] = { CB_ARM_REQUEST_INIT,
		CB_ARM_REQUEST_INIT, CB_ARM_REQUEST_INIT };
	cb_http_request hreq[3];
	cb_http_response resp[3] = { CB_HTTP_RESPONSE_INIT,
		CB_HTTP_RESPONSE_INIT, CB_HTTP_RESPONSE_INIT };
	int results[3];
	cb_buf url[3] = { CB_BUF_INIT, CB_BUF_INIT, CB_BUF_INIT };
	cb_json *doc = NULL;
	char want[256];
	const char *name;

	(void)state;
	cb_test_httpd_reply(
		srv, "/customers/c0", 200, NULL, "{\"name\":\"c0\"}");
	cb_test_httpd_reply(
		srv, "/customers/c1", 200, NULL, "{\"name\":\"c1\"}");
	cb_test_httpd_reply(srv, "/customers/c2", 404, "x-ms-request-id: r2",
		"{\"error\":{\"code\":\"CustomerNotFound\",\"message\":"
		"\"no such customer\"}}");
	for (int i = 0; i < 3; i++) {
		char path[32];

		snprintf(path, sizeof(path), "customers/c%d", i);
		assert_ok(cb__arm_url(&url[i], arm, path, "2024-04-01"));
		assert_ok(cb__arm_request_prepare(
			&req[i], arm, "GET", url[i].ptr, NULL));
		hreq[i] = req[i].http;
	}
	/* a 404 is an answer for core/http; arm makes it an error */
	assert_ok(cb__http_send_all(http, hreq, resp, results, 3));
	assert_int_equal(0, results[2]);
	assert_int_equal(404, resp[2].status);
	for (int i = 0; i < 2; i++) {
		assert_ok(cb__arm_result(
			&doc, "GET", url[i].ptr, results[i], &resp[i]));
		assert_ok(cb__json_get_string(
			&name, doc, cb__json_root(doc), "name", 0));
		assert_string_equal(i ? "c1" : "c0", name);
		cb__json_free(doc);
		doc = NULL;
	}
	assert_code(CB_ENOTFOUND,
		cb__arm_result(&doc, "GET", url[2].ptr, results[2], &resp[2]));
	snprintf(want, sizeof(want),
		"GET %s/customers/c2: http 404 CustomerNotFound: no such customer",
		base_of(srv));
	assert_error(CB_ENOTFOUND, CB_ERRCLASS_AZURE, 404, "CustomerNotFound",
		"r2", want);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(TEST_AUTH_HEADER,
			cb_test_request_header(
				req_at(srv, (size_t)i), "Authorization"));
		cb__arm_request_dispose(&req[i]);
		assert_null(req[i].auth.ptr);
		cb__http_response_dispose(&resp[i]);
		cb_buf_dispose(&url[i]);
	}
	assert_int_equal(3, tok.calls);
	cb__arm_free(arm);
}

static void
test_arm_get_survives_oom(void **state)
{
	struct test_token tok = { TEST_TOKEN, 0, "" };
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_test_answer a = { 0 };
	cb_arm *arm = NULL;
	cb_json *doc = NULL;
	unsigned long n;
	int error;

	(void)state;
	a.body = "{\"value\":[{\"name\":\"a\"}],\"n\":12.5}";
	a.times = CB_TEST_HTTPD_FOREVER;
	cb_test_httpd_queue(srv, NULL, "/o", &a);
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__arm_new(&arm, &o);
		if (error == 0)
			error = cb__arm_get(&doc, arm, "o", "2024-04-01");
		cb__alloc_fail_after(0);
		if (error == 0)
			break;
		assert_code(CB_ENOMEM, error);
		assert_null(doc);
		cb__arm_free(arm);
		arm = NULL;
	}
	assert_true(n > 5);
	assert_non_null(doc);
	cb__json_free(doc);
	cb__arm_free(arm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			test_arm_new_defaults_and_trailing_slash, setup),
		cmocka_unit_test_setup(
			test_arm_new_refuses_bad_endpoints, setup),
		cmocka_unit_test_setup(
			test_arm_url_keeps_paths_verbatim, setup),
		cmocka_unit_test_setup(test_arm_url_refuses_bad_input, setup),
		cmocka_unit_test_setup(
			test_arm_check_link_allows_only_the_endpoint, setup),
		cmocka_unit_test_setup(test_arm_get_sends_exact_request, setup),
		cmocka_unit_test_setup(test_arm_put_post_delete, setup),
		cmocka_unit_test_setup(
			test_arm_token_failures_send_nothing, setup),
		cmocka_unit_test_setup(
			test_arm_bad_2xx_body_and_transport_errors, setup),
		cmocka_unit_test_setup(
			test_arm_prepare_and_result_concurrently, setup),
		cmocka_unit_test_setup(test_arm_get_survives_oom, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
