/*
 * tests/unit/core/test_http.c - cb__http_send against a real local HTTP
 * server: answers, retries and Retry-After, giving up (attempts, deadline),
 * what is never retried, transport failures, truncation, streaming, gzip,
 * request ids, the plain-http refusal, body caps and an OOM walk.
 */
#include "core/common.h"
#include "core/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/core/test_http_helpers.h"

static cb_test_httpd *srv;

static int
group_setup(void **state)
{
	(void)state;
	if (cb_init() < 0 || cb_test_httpd_start(&srv, NULL) < 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
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

static void
queue_forever(
	const char *route, int status, const char *headers, const char *body)
{
	cb_test_answer a = { 0 };

	a.status = status;
	a.headers = headers;
	a.body = body;
	a.times = CB_TEST_HTTPD_FOREVER;
	cb_test_httpd_queue(srv, NULL, route, &a);
}

static bool
line_matches(const char *line, const char *pattern)
{
	regex_t re;
	bool ok;

	assert_int_equal(0, regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB));
	ok = regexec(&re, line, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static bool
is_uuid4(const char *s)
{
	regex_t re;
	bool ok;

	regcomp(&re,
		"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
		"[0-9a-f]{12}$",
		REG_EXTENDED | REG_NOSUB);
	ok = s != NULL && regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static void
test_http_get_200_with_body_and_headers(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	const cb_test_request *r;

	(void)state;
	cb_test_httpd_reply(srv, "/billingAccounts", 200,
		"Content-Type: application/json\n"
		"x-ms-request-id: 6c1d9fb6-0d6f-4e0a-9d5b-1c2a3b4c5d6e\n"
		"X-Custom: one\nx-custom: two",
		"{\"value\":[]}");
	assert_ok(do_get(h,
		url_of(srv, "/billingAccounts?api-version=2024-04-01"), &resp));
	assert_int_equal(200, resp.status);
	assert_string_equal("{\"value\":[]}", resp.body.ptr);
	assert_int_equal(12, resp.body.size);
	assert_int_equal(1, resp.attempts);
	assert_int_equal(0, resp.waited_ms);
	assert_string_equal(
		"6c1d9fb6-0d6f-4e0a-9d5b-1c2a3b4c5d6e", resp.request_id);
	/* header names are case-insensitive; the first of a name wins */
	assert_string_equal("application/json",
		cb__http_response_header(&resp, "CONTENT-TYPE"));
	assert_string_equal("application/json",
		cb__http_response_header(&resp, "content-type"));
	assert_string_equal("one", cb__http_response_header(&resp, "x-custom"));
	assert_null(cb__http_response_header(&resp, "x-missing"));
	assert_null(cb__http_response_header(&resp, NULL));
	assert_true(resp.header_count >= 5);

	/* what the server saw */
	assert_int_equal(1, cb_test_httpd_count(srv));
	r = cb_test_httpd_request(srv, 0);
	assert_string_equal("GET", r->method);
	assert_string_equal(
		"/billingAccounts?api-version=2024-04-01", r->target);
	assert_true(
		is_uuid4(cb_test_request_header(r, "x-ms-client-request-id")));
	assert_string_equal(resp.client_request_id,
		cb_test_request_header(r, "X-MS-Client-Request-Id"));
	assert_string_equal("chargeback/" CB_VERSION_STRING,
		cb_test_request_header(r, "User-Agent"));
	assert_non_null(
		strstr(cb_test_request_header(r, "Accept-Encoding"), "gzip"));
	assert_null(cb_test_request_header(r, "Expect"));
	assert_int_equal(0, cb_test_httpd_unexpected(srv));
	cb__http_response_dispose(&resp);
	assert_null(resp.body.ptr);
	assert_null(resp.headers);
	cb__http_response_dispose(&resp);
	cb__http_response_dispose(NULL);
	cb__http_free(h);
	cb__http_free(NULL);
}

static void
test_http_429_retried_after_retry_after(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	const cb_test_request *r0, *r1;

	(void)state;
	cb_test_httpd_reply(srv, "/q", 429,
		"Retry-After: 1\nx-ms-request-id: first",
		"{\"error\":{\"code\":\"429\"}}");
	cb_test_httpd_reply(srv, "/q", 200, "x-ms-request-id: second", "done");
	assert_ok(do_get(h, url_of(srv, "/q"), &resp));
	assert_int_equal(200, resp.status);
	assert_string_equal("done", resp.body.ptr);
	assert_string_equal("second", resp.request_id);
	assert_int_equal(2, resp.attempts);
	assert_true(resp.waited_ms >= 1000);
	assert_true(resp.elapsed_ms >= 1000);
	assert_int_equal(2, cb_test_httpd_count(srv));
	r0 = cb_test_httpd_request(srv, 0);
	r1 = cb_test_httpd_request(srv, 1);
	if (r1->arrival_ms - r0->arrival_ms < 1000)
		fail_msg("retry came %lld ms after the 429",
			(long long)(r1->arrival_ms - r0->arrival_ms));
	/* one logical request: the same client request id on both tries */
	assert_string_equal(
		cb_test_request_header(r0, "x-ms-client-request-id"),
		cb_test_request_header(r1, "x-ms-client-request-id"));
	assert_string_equal(resp.client_request_id,
		cb_test_request_header(r1, "x-ms-client-request-id"));
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_retry_after_http_date(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	char hdr[128];
	time_t at = time(NULL) + 2;
	struct tm tm;

	(void)state;
	gmtime_r(&at, &tm);
	strftime(hdr, sizeof(hdr), "Retry-After: %a, %d %b %Y %H:%M:%S GMT",
		&tm);
	cb_test_httpd_reply(srv, "/d", 503, hdr, "busy");
	cb_test_httpd_reply(srv, "/d", 200, NULL, "ok");
	assert_ok(do_get(h, url_of(srv, "/d"), &resp));
	assert_int_equal(200, resp.status);
	assert_int_equal(2, resp.attempts);
	/* not before the date the server named */
	assert_true(cb_test_httpd_request(srv, 1)->arrival_epoch_ms >=
		    (int64_t)at * 1000);
	assert_true(resp.waited_ms >=
		    (int64_t)at * 1000 -
			    cb_test_httpd_request(srv, 0)->arrival_epoch_ms -
			    50);
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_ms_ratelimit_header_longer_than_retry_after_wins(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	int64_t gap;

	(void)state;
	cb_test_httpd_reply(srv, "/query", 429,
		"Retry-After: 0\n"
		"x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after: 1\n"
		"x-ms-ratelimit-microsoft.costmanagement-qpu-remaining: "
		"QueryQuota:0",
		"");
	cb_test_httpd_reply(srv, "/query", 200, NULL, "{}");
	assert_ok(do_get(h, url_of(srv, "/query"), &resp));
	assert_int_equal(200, resp.status);
	gap = cb_test_httpd_request(srv, 1)->arrival_ms -
	      cb_test_httpd_request(srv, 0)->arrival_ms;
	if (gap < 1000)
		fail_msg("retried after %lld ms, before the qpu wait",
			(long long)gap);
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_5xx_burst_then_success(void **state)
{
	cb_http_options o = fast_options();
	cb_http *h;
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	const int burst[] = { 503, 502, 504, 500, 408 };

	(void)state;
	o.max_attempts = 6;
	h = new_client(&o);
	for (size_t i = 0; i < CB_ARRAY_SIZE(burst); i++)
		cb_test_httpd_reply(srv, "/b", burst[i], NULL, "x");
	cb_test_httpd_reply(srv, "/b", 200, NULL, "finally");
	assert_ok(do_get(h, url_of(srv, "/b"), &resp));
	assert_int_equal(200, resp.status);
	assert_string_equal("finally", resp.body.ptr);
	assert_int_equal(6, resp.attempts);
	assert_int_equal(6, cb_test_httpd_count(srv));
	/* five backoffs of at most backoff_max_ms (40), plus scheduling
	 * slack on a loaded machine: far below one default backoff */
	assert_true(resp.waited_ms < 1000);
	assert_int_equal(0, cb_test_httpd_pending(srv));
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_gives_up_when_the_wait_passes_the_deadline(void **state)
{
	cb_http_options o = fast_options();
	cb_http *h;
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	char want[512];
	int64_t t0 = mono_ms();

	(void)state;
	o.deadline_ms = 2000;
	h = new_client(&o);
	queue_forever("/throttled", 429,
		"Retry-After: 5\nx-ms-request-id: rid-429", "{\"error\":{}}");
	assert_code(CB_ETIMEOUT,
		do_get(h, url_of(srv, "/throttled?sig=SECRET&x=1"), &resp));
	/* exact but for the elapsed time, which depends on machine load */
	snprintf(want, sizeof(want),
		"^GET http://127\\.0\\.0\\.1:%d/throttled: gave up after 1 "
		"attempt in [0-9]+\\.[0-9] s: http 429, retry after 5\\.0 s would "
		"pass the 2\\.0 s deadline$",
		cb_test_httpd_port(srv));
	assert_message_matches(want);
	assert_int_equal(CB_ERRCLASS_HTTP, cb_error_last()->klass);
	assert_int_equal(429, cb_error_last()->http_status);
	assert_string_equal("rid-429", cb_error_last()->request_id);
	/* gave up at once instead of sleeping in vain (5 s) */
	assert_true(mono_ms() - t0 < 2000);
	/* the last answer is kept for the caller */
	assert_int_equal(429, resp.status);
	assert_string_equal("{\"error\":{}}", resp.body.ptr);
	assert_int_equal(1, cb_test_httpd_count(srv));
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_gives_up_when_the_deadline_passes_in_an_attempt(void **state)
{
	cb_http_options o = fast_options();
	cb_http *h;
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	cb_test_answer slow = { 0 };
	cb_http_request req = { 0 };
	char want[512];
	int64_t t0 = mono_ms(), took;

	(void)state;
	h = new_client(&o);
	slow.body = "late";
	slow.delay_ms = 1200;
	cb_test_httpd_queue(srv, NULL, "/slow", &slow);
	req.url = url_of(srv, "/slow");
	req.deadline_ms = 400; /* the request's own deadline wins */
	assert_code(CB_ETIMEOUT, cb__http_send(h, &req, &resp));
	took = mono_ms() - t0;
	assert_in_range(took, 380, 1150);
	snprintf(want, sizeof(want),
		"^GET http://127\\.0\\.0\\.1:%d/slow: gave up after 1 attempt "
		"in [0-9]\\.[0-9] s: the 0\\.4 s deadline passed \\(Operation "
		"timed out after [0-9]+ milliseconds with 0 bytes "
		"received\\)$",
		cb_test_httpd_port(srv));
	assert_message_matches(want);
	assert_int_equal(0, resp.status);
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_gives_up_after_max_attempts(void **state)
{
	cb_http_options o = fast_options();
	cb_http *h;
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	char want[512];

	(void)state;
	o.max_attempts = 3;
	h = new_client(&o);
	queue_forever("/down", 503, "x-ms-request-id: rid-503", "unavailable");
	assert_code(CB_EHTTP, do_get(h, url_of(srv, "/down"), &resp));
	snprintf(want, sizeof(want),
		"^GET http://127\\.0\\.0\\.1:%d/down: gave up after 3 attempts "
		"in [0-9]+\\.[0-9] s: http 503$",
		cb_test_httpd_port(srv));
	assert_message_matches(want);
	assert_int_equal(503, cb_error_last()->http_status);
	assert_string_equal("rid-503", cb_error_last()->request_id);
	assert_int_equal(3, resp.attempts);
	assert_int_equal(503, resp.status);
	assert_string_equal("unavailable", resp.body.ptr);
	assert_int_equal(3, cb_test_httpd_count(srv));
	cb__http_response_dispose(&resp);

	/* throttled to the end: ETHROTTLED */
	cb_test_httpd_clear(srv);
	queue_forever("/busy", 429, "Retry-After: 0", "slow down");
	assert_code(CB_ETHROTTLED, do_get(h, url_of(srv, "/busy"), &resp));
	snprintf(want, sizeof(want),
		"^GET http://127\\.0\\.0\\.1:%d/busy: gave up after 3 attempts "
		"in [0-9]+\\.[0-9] s: http 429$",
		cb_test_httpd_port(srv));
	assert_message_matches(want);
	assert_int_equal(429, cb_error_last()->http_status);
	assert_int_equal(429, resp.status);
	assert_int_equal(3, cb_test_httpd_count(srv));
	cb__http_response_dispose(&resp);

	/* max_attempts 1: no retry at all */
	cb__http_free(h);
	o.max_attempts = 1;
	h = new_client(&o);
	cb_test_httpd_clear(srv);
	queue_forever("/once", 500, NULL, "boom");
	assert_code(CB_EHTTP, do_get(h, url_of(srv, "/once"), &resp));
	snprintf(want, sizeof(want),
		"^GET http://127\\.0\\.0\\.1:%d/once: gave up after 1 attempt "
		"in [0-9]+\\.[0-9] s: http 500$",
		cb_test_httpd_port(srv));
	assert_message_matches(want);
	assert_int_equal(1, cb_test_httpd_count(srv));
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_client_errors_are_final(void **state)
{
	const int final[] = { 400, 401, 403, 404, 409, 412, 501, 505 };
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(final); i++) {
		cb_test_httpd_clear(srv);
		queue_forever(
			"/e", final[i], "Retry-After: 0", "{\"error\":{}}");
		/* returned as an answer (0): arm reads the error body */
		assert_ok(do_get(h, url_of(srv, "/e"), &resp));
		assert_int_equal(final[i], resp.status);
		assert_string_equal("{\"error\":{}}", resp.body.ptr);
		assert_int_equal(1, resp.attempts);
		if (cb_test_httpd_count(srv) != 1)
			fail_msg("status %d was sent %zu times", final[i],
				cb_test_httpd_count(srv));
		cb__http_response_dispose(&resp);
	}
	cb__http_free(h);
}

static void
test_http_post_retries_only_when_safe(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	cb_http_request req = { 0 };
	const cb_test_request *r;

	(void)state;
	req.method = "POST";
	req.url = url_of(srv, "/query?api-version=2025-03-01");
	req.headers = hdrs;
	req.body = "{\"type\":\"ActualCost\"}";
	req.body_len = strlen(req.body);

	/* 503 to a POST: the query may have run; not retried by default */
	cb_test_httpd_reply(srv, "/query", 503, NULL, "no");
	cb_test_httpd_reply(srv, "/query", 200, NULL, "yes");
	assert_ok(cb__http_send(h, &req, &resp));
	assert_int_equal(503, resp.status);
	assert_int_equal(1, cb_test_httpd_count(srv));
	r = cb_test_httpd_request(srv, 0);
	assert_string_equal("POST", r->method);
	assert_string_equal("{\"type\":\"ActualCost\"}", r->body);
	assert_string_equal(
		"application/json", cb_test_request_header(r, "content-type"));
	assert_string_equal("21", cb_test_request_header(r, "Content-Length"));
	assert_null(cb_test_request_header(r, "Expect"));
	cb__http_response_dispose(&resp);

	/* ...but it is when the caller says the POST is safe to repeat */
	req.retry_unsafe = true;
	cb_test_httpd_reply(srv, "/query", 503, NULL, "no");
	cb_test_httpd_reply(srv, "/query", 200, NULL, "yes");
	assert_ok(cb__http_send(h, &req, &resp));
	assert_string_equal("yes", resp.body.ptr);
	cb__http_response_dispose(&resp);

	/* 429 means "not processed": retried for any method */
	req.retry_unsafe = false;
	cb_test_httpd_clear(srv);
	cb_test_httpd_reply(srv, "/query", 429, "Retry-After: 0", "");
	cb_test_httpd_reply(srv, "/query", 200, NULL, "yes");
	assert_ok(cb__http_send(h, &req, &resp));
	assert_int_equal(200, resp.status);
	assert_int_equal(2, cb_test_httpd_count(srv));
	assert_string_equal("{\"type\":\"ActualCost\"}",
		cb_test_httpd_request(srv, 1)->body);
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_methods_and_bodies(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	cb_http_request req = { 0 };
	const char *methods[] = { "PUT", "PATCH", "DELETE", "HEAD", "POST" };
	const char *bodies[] = { "{\"a\":1}", "{}", NULL, NULL, NULL };

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(methods); i++) {
		const cb_test_request *r;

		cb_test_httpd_clear(srv);
		cb_test_httpd_reply(srv, "/m", 200, "ETag: \"1\"",
			strcmp(methods[i], "HEAD") ? "body" : NULL);
		req.method = methods[i];
		req.url = url_of(srv, "/m");
		req.body = bodies[i];
		req.body_len = bodies[i] ? strlen(bodies[i]) : 0;
		assert_ok(cb__http_send(h, &req, &resp));
		assert_int_equal(200, resp.status);
		r = cb_test_httpd_request(srv, 0);
		assert_string_equal(methods[i], r->method);
		assert_string_equal(bodies[i] ? bodies[i] : "", r->body);
		if (strcmp(methods[i], "POST") == 0)
			assert_string_equal("0",
				cb_test_request_header(r, "Content-Length"));
		assert_string_equal(
			"\"1\"", cb__http_response_header(&resp, "etag"));
		cb__http_response_dispose(&resp);
	}
	cb__http_free(h);
}

static void
test_http_connection_refused_is_retried_then_fails(void **state)
{
	cb_http_options o = fast_options();
	cb_http *h;
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	char url[128], want[512];
	int port = cb_test_unused_port();

	(void)state;
	o.max_attempts = 3;
	h = new_client(&o);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x?token=abc", port);
	assert_code(CB_EHTTP, do_get(h, url, &resp));
	snprintf(want, sizeof(want),
		"^GET http://127\\.0\\.0\\.1:%d/x: gave up after 3 attempts in "
		"[0-9]+\\.[0-9] s: Failed to connect to 127\\.0\\.0\\.1 port %d "
		"after [0-9]+ ms: Couldn't connect to server$",
		port, port);
	assert_message_matches(want);
	assert_int_equal(CB_ERRCLASS_HTTP, cb_error_last()->klass);
	assert_int_equal(0, cb_error_last()->http_status);
	assert_int_equal(3, resp.attempts);
	assert_int_equal(0, resp.status);
	assert_true(resp.waited_ms < 1000);
	cb__http_response_dispose(&resp);

	/* a POST that never reached the server is retried too */
	{
		cb_http_request req = { 0 };

		req.method = "POST";
		req.url = url;
		assert_code(CB_EHTTP, cb__http_send(h, &req, &resp));
		assert_int_equal(3, resp.attempts);
		cb__http_response_dispose(&resp);
	}
	cb__http_free(h);
}

static void
test_http_truncated_body_is_an_error(void **state)
{
	cb_http_options o = fast_options();
	cb_http *h;
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	cb_test_answer cut = { 0 };
	char want[512];

	(void)state;
	o.max_attempts = 2;
	h = new_client(&o);
	cut.body = "0123456789abcdefghij";
	cut.truncate = true;
	cut.truncate_at = 5;
	cut.times = 2;
	cb_test_httpd_queue(srv, NULL, "/blob", &cut);
	assert_code(CB_EHTTP, do_get(h, url_of(srv, "/blob"), &resp));
	snprintf(want, sizeof(want),
		"^GET http://127\\.0\\.0\\.1:%d/blob: gave up after 2 attempts "
		"in [0-9]+\\.[0-9] s: transfer closed with 15 bytes remaining to "
		"read$",
		cb_test_httpd_port(srv));
	assert_message_matches(want);
	assert_int_equal(2, cb_test_httpd_count(srv));
	cb__http_response_dispose(&resp);

	/* a truncated GET is simply tried again */
	cut.times = 1;
	cb_test_httpd_queue(srv, NULL, "/blob", &cut);
	cb_test_httpd_reply(srv, "/blob", 200, NULL, "0123456789abcdefghij");
	assert_ok(do_get(h, url_of(srv, "/blob"), &resp));
	assert_string_equal("0123456789abcdefghij", resp.body.ptr);
	assert_int_equal(2, resp.attempts);
	cb__http_response_dispose(&resp);

	/* a dropped connection (no answer at all) likewise */
	cut.drop = true;
	cut.truncate = false;
	cb_test_httpd_queue(srv, NULL, "/gone", &cut);
	cb_test_httpd_reply(srv, "/gone", 200, NULL, "back");
	assert_ok(do_get(h, url_of(srv, "/gone"), &resp));
	assert_string_equal("back", resp.body.ptr);
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

struct sink {
	cb_buf got;
	unsigned calls;
	int fail_with; /* returned from the first call when non-zero */
};

static int
sink_cb(const char *data, size_t len, void *payload)
{
	struct sink *s = payload;

	s->calls++;
	if (s->fail_with > 0)
		return s->fail_with;
	if (s->fail_with < 0)
		return cb__error_set(s->fail_with, CB_ERRCLASS_CSV,
			"costs.csv:2: field 'Cost': 'x' is not a decimal");
	return cb__buf_put(&s->got, data, len);
}

static void
test_http_streams_the_body_in_order(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	cb_http_request req = { 0 };
	struct sink s = { CB_BUF_INIT, 0, 0 };
	size_t n = 300 * 1024;
	char *big = malloc(n + 1);
	cb_test_answer a = { 0 };

	(void)state;
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + (i * 7 + i / 1000) % 26);
	big[n] = '\0';
	/* the 503's body is not the caller's data: it is not streamed */
	cb_test_httpd_reply(srv, "/report.csv", 503, "Retry-After: 0", "oops");
	a.body = big;
	a.body_len = n;
	cb_test_httpd_queue(srv, NULL, "/report.csv", &a);
	req.url = url_of(srv, "/report.csv?sv=2020&sig=abc");
	req.on_body = sink_cb;
	req.on_body_payload = &s;
	assert_ok(cb__http_send(h, &req, &resp));
	assert_int_equal(200, resp.status);
	assert_int_equal(2, resp.attempts);
	assert_int_equal(n, s.got.size);
	assert_memory_equal(big, s.got.ptr, n);
	assert_true(s.calls > 1);
	assert_int_equal(0, resp.body.size);
	cb__http_response_dispose(&resp);
	cb_buf_dispose(&s.got);
	free(big);
	cb__http_free(h);
}

static void
test_http_streaming_abort_and_no_retry_after_delivery(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	cb_http_request req = { 0 };
	struct sink s = { CB_BUF_INIT, 0, 1 };
	cb_test_answer cut = { 0 };
	char want[512];

	(void)state;
	queue_forever("/r", 200, NULL, "a,b\n1,2\n");
	req.url = url_of(srv, "/r");
	req.on_body = sink_cb;
	req.on_body_payload = &s;
	/* a positive return: canceled */
	assert_code(CB_ECANCELED, cb__http_send(h, &req, &resp));
	snprintf(want, sizeof(want),
		"GET http://127.0.0.1:%d/r: canceled by the body callback",
		cb_test_httpd_port(srv));
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(1, s.calls);
	cb__http_response_dispose(&resp);

	/* a negative code: returned with the callback's own message */
	s.fail_with = CB_EPARSE;
	assert_code(CB_EPARSE, cb__http_send(h, &req, &resp));
	assert_string_equal("costs.csv:2: field 'Cost': 'x' is not a decimal",
		cb_error_last()->message);
	assert_int_equal(CB_ERRCLASS_CSV, cb_error_last()->klass);
	assert_int_equal(1, resp.attempts);
	cb__http_response_dispose(&resp);

	/* bytes already delivered: never retried (the caller restarts) */
	cb_test_httpd_clear(srv);
	s.fail_with = 0;
	s.calls = 0;
	cut.body = "0123456789abcdefghij";
	cut.truncate = true;
	cut.truncate_at = 7;
	cut.times = CB_TEST_HTTPD_FOREVER;
	cb_test_httpd_queue(srv, NULL, "/r", &cut);
	assert_code(CB_EHTTP, cb__http_send(h, &req, &resp));
	snprintf(want, sizeof(want),
		"GET http://127.0.0.1:%d/r: transfer closed with 13 bytes "
		"remaining to read after 7 body bytes were streamed; not "
		"retried",
		cb_test_httpd_port(srv));
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(1, cb_test_httpd_count(srv));
	assert_int_equal(7, s.got.size);
	cb__http_response_dispose(&resp);
	cb_buf_dispose(&s.got);
	cb__http_free(h);
}

/* {"value":["gzip decoded"]}\n three times, gzip -n */
static const unsigned char gz_body[] = { 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x02, 0x03, 0xab, 0x56, 0x2a, 0x4b, 0xcc, 0x29, 0x4d, 0x55,
	0xb2, 0x8a, 0x56, 0x4a, 0xaf, 0xca, 0x2c, 0x50, 0x48, 0x49, 0x4d, 0xce,
	0x4f, 0x49, 0x4d, 0x51, 0x8a, 0xad, 0xe5, 0xaa, 0x26, 0x4b, 0x0a, 0x00,
	0x72, 0x9c, 0x12, 0xc9, 0x51, 0x00, 0x00, 0x00 };

static void
test_http_gzip_is_decoded(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	cb_test_answer a = { 0 };
	unsigned char bad[sizeof(gz_body)];
	char want[256];

	(void)state;
	a.headers = "Content-Encoding: gzip\nContent-Type: application/json";
	a.body = gz_body;
	a.body_len = sizeof(gz_body);
	cb_test_httpd_queue(srv, "GET", "/gz", &a);
	assert_ok(do_get(h, url_of(srv, "/gz"), &resp));
	assert_string_equal("{\"value\":[\"gzip decoded\"]}\n"
			    "{\"value\":[\"gzip decoded\"]}\n"
			    "{\"value\":[\"gzip decoded\"]}\n",
		resp.body.ptr);
	cb__http_response_dispose(&resp);

	/* corrupt gzip is an error, not garbage handed on */
	memcpy(bad, gz_body, sizeof(bad));
	memset(bad + 12, 0xff, 8);
	a.body = bad;
	cb_test_httpd_queue(srv, "GET", "/gz", &a);
	assert_code(CB_EHTTP, do_get(h, url_of(srv, "/gz"), &resp));
	snprintf(want, sizeof(want),
		"GET http://127.0.0.1:%d/gz: Error while processing content "
		"unencoding: incorrect data check",
		cb_test_httpd_port(srv));
	assert_string_equal(want, cb_error_last()->message);
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_caller_request_id_is_kept(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	const char *hdrs[] = { "x-ms-client-request-id: my-own-id",
		"Accept: application/json", NULL };
	cb_http_request req = { 0 };
	const cb_test_request *r;

	(void)state;
	cb_test_httpd_reply(srv, "/id", 200, NULL, "");
	req.url = url_of(srv, "/id");
	req.headers = hdrs;
	assert_ok(cb__http_send(h, &req, &resp));
	assert_string_equal("my-own-id", resp.client_request_id);
	r = cb_test_httpd_request(srv, 0);
	assert_string_equal("my-own-id",
		cb_test_request_header(r, "x-ms-client-request-id"));
	assert_string_equal(
		"application/json", cb_test_request_header(r, "accept"));
	assert_string_equal("", resp.body.ptr ? resp.body.ptr : "");
	assert_string_equal("", resp.request_id);
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_refuses_plain_http_to_remote_hosts(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	const char *ok[] = { "localhost", "127.0.0.1", "LOCALHOST" };
	char url[128];

	(void)state;
	assert_code(CB_ESECURITY,
		do_get(h, "http://example.com/x?sig=SECRET", &resp));
	assert_string_equal("GET http://example.com/x: refusing plain http to "
			    "non-loopback host 'example.com'",
		cb_error_last()->message);
	/* refused before any traffic: no attempt was made */
	assert_int_equal(0, resp.attempts);
	cb__http_response_dispose(&resp);
	assert_code(CB_ESECURITY, do_get(h, "http://10.0.0.1:80/", &resp));
	assert_code(CB_ESECURITY, do_get(h, "http://127.0.0.1.nip.io/", &resp));
	assert_code(CB_ESECURITY, do_get(h, "http://[::2]/", &resp));
	assert_code(CB_EINVAL, do_get(h, "ftp://127.0.0.1/f", &resp));
	assert_string_equal(
		"GET ftp://127.0.0.1/f: unsupported url scheme 'ftp'",
		cb_error_last()->message);
	assert_code(CB_EINVAL, do_get(h, "not a url", &resp));
	assert_string_equal(
		"GET not a url: malformed url", cb_error_last()->message);
	/* loopback plain http works, and bypasses any proxy */
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	for (size_t i = 0; i < CB_ARRAY_SIZE(ok); i++) {
		cb_test_httpd_reply(srv, "/l", 200, NULL, "local");
		snprintf(url, sizeof(url), "http://%s:%d/l", ok[i],
			cb_test_httpd_port(srv));
		assert_ok(do_get(h, url, &resp));
		assert_string_equal("local", resp.body.ptr);
		cb__http_response_dispose(&resp);
	}
	unsetenv("http_proxy");
	assert_int_equal(3, cb_test_httpd_count(srv));
	cb__http_free(h);
}

static void
test_http_body_cap(void **state)
{
	cb_http_options o = fast_options();
	cb_http *h;
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	char want[256];

	(void)state;
	o.max_body_bytes = 10;
	h = new_client(&o);
	cb_test_httpd_reply(srv, "/cap", 200, NULL, "0123456789");
	assert_ok(do_get(h, url_of(srv, "/cap"), &resp));
	assert_string_equal("0123456789", resp.body.ptr);
	cb__http_response_dispose(&resp);
	cb_test_httpd_reply(srv, "/cap", 200, NULL, "0123456789A");
	assert_code(CB_ETOOBIG, do_get(h, url_of(srv, "/cap"), &resp));
	snprintf(want, sizeof(want),
		"GET http://127.0.0.1:%d/cap: response body exceeds 10 bytes",
		cb_test_httpd_port(srv));
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(200, cb_error_last()->http_status);
	assert_int_equal(1, resp.attempts);
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_reuses_connections(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;

	(void)state;
	for (int i = 0; i < 3; i++) {
		cb_test_httpd_reply(srv, "/k", 200, NULL, "k");
		assert_ok(do_get(h, url_of(srv, "/k"), &resp));
		cb__http_response_dispose(&resp);
	}
	assert_int_equal(3, cb_test_httpd_count(srv));
	assert_int_equal(cb_test_httpd_request(srv, 0)->client_port,
		cb_test_httpd_request(srv, 2)->client_port);
	cb__http_free(h);
}

static void
test_http_rejects_bad_arguments(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	cb_http_request req = { 0 };
	cb_http_options o = CB_HTTP_OPTIONS_INIT;
	const char *smuggle[] = { "X-A: 1\r\nX-Injected: 2", NULL };
	const char *noname[] = { "just text", NULL };
	cb_http *bad = NULL;
	char want[256];

	(void)state;
	assert_code(CB_EINVAL, cb__http_send(h, &req, &resp));
	assert_string_equal("cb__http_submit: invalid argument: req->url",
		cb_error_last()->message);
	assert_code(CB_EINVAL, cb__http_send(NULL, &req, &resp));
	assert_code(CB_EINVAL, cb__http_send(h, NULL, &resp));
	assert_code(CB_EINVAL, cb__http_send(h, &req, NULL));
	req.url = url_of(srv, "/a");
	req.method = "get";
	assert_code(CB_EINVAL, cb__http_send(h, &req, &resp));
	assert_string_equal(
		"http: invalid method 'get'", cb_error_last()->message);
	req.method = "GET";
	req.headers = smuggle;
	assert_code(CB_EINVAL, cb__http_send(h, &req, &resp));
	snprintf(want, sizeof(want),
		"GET http://127.0.0.1:%d/a: request header 1 is not "
		"'Name: value'",
		cb_test_httpd_port(srv));
	assert_string_equal(want, cb_error_last()->message);
	req.headers = noname;
	assert_code(CB_EINVAL, cb__http_send(h, &req, &resp));
	req.headers = NULL;
	req.body_len = 3;
	assert_code(CB_EINVAL, cb__http_send(h, &req, &resp));
	assert_int_equal(0, cb_test_httpd_count(srv));
	cb__http_response_dispose(&resp);

	o.version = 99;
	assert_code(CB_EINVAL, cb__http_new(&bad, &o));
	assert_string_equal(
		"http options version 99 is not 1", cb_error_last()->message);
	o.version = CB_HTTP_OPTIONS_VERSION;
	o.max_attempts = 0;
	assert_code(CB_EINVAL, cb__http_new(&bad, &o));
	o.max_attempts = 1;
	o.deadline_ms = -1;
	assert_code(CB_EINVAL, cb__http_new(&bad, &o));
	assert_null(bad);
	assert_code(CB_EINVAL, cb__http_new(NULL, NULL));
	cb__http_free(h);
}

struct lines {
	int n;
	char line[8][512];
};

static void
lines_cb(int level, const char *line, void *payload)
{
	struct lines *l = payload;

	assert_int_equal(CB_LOG_DEBUG, level);
	if (l->n < 8)
		snprintf(l->line[l->n], sizeof(l->line[0]), "%s", line);
	l->n++;
}

static void
test_http_logs_each_attempt_without_secrets(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	const char *hdrs[] = { "Authorization: Bearer SECRET-TOKEN", NULL };
	cb_http_request req = { 0 };
	struct lines l;
	char want[512];
	int port = cb_test_httpd_port(srv);

	(void)state;
	memset(&l, 0, sizeof(l));
	cb_test_httpd_reply(srv, "/log", 429,
		"Retry-After: 0\nx-ms-request-id: rid-1\nSet-Cookie: SECRET-C",
		"SECRET-BODY");
	cb_test_httpd_reply(srv, "/log", 200, "x-ms-request-id: rid-2", "ok");
	req.url = url_of(srv, "/log?sig=SECRET-SIG");
	req.headers = hdrs;
	cb_log_set_callback(lines_cb, &l);
	cb_log_set_level(CB_LOG_DEBUG);
	assert_ok(cb__http_send(h, &req, &resp));
	cb_log_set_level(CB_LOG_WARN);
	cb_log_set_callback(NULL, NULL);
	assert_int_equal(3, l.n);
	snprintf(want, sizeof(want),
		"^http: GET http://127\\.0\\.0\\.1:%d/log: http 429 in [0-9]+ "
		"ms, attempt 1, x-ms-request-id rid-1, x-ms-client-request-id "
		"%s$",
		port, resp.client_request_id);
	if (!line_matches(l.line[0], want))
		fail_msg("'%s' !~ '%s'", l.line[0], want);
	snprintf(want, sizeof(want),
		"http: GET http://127.0.0.1:%d/log: http 429, retrying in 0 ms",
		port);
	assert_string_equal(want, l.line[1]);
	snprintf(want, sizeof(want),
		"^http: GET http://127\\.0\\.0\\.1:%d/log: http 200 in [0-9]+ "
		"ms, attempt 2, x-ms-request-id rid-2, x-ms-client-request-id "
		"%s$",
		port, resp.client_request_id);
	if (!line_matches(l.line[2], want))
		fail_msg("'%s' !~ '%s'", l.line[2], want);
	for (int i = 0; i < 3; i++)
		assert_null(strstr(l.line[i], "SECRET"));
	cb__http_response_dispose(&resp);
	cb__http_free(h);
}

static void
test_http_send_survives_oom(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	cb_http_request req = { 0 };
	unsigned long n;
	int error;

	(void)state;
	queue_forever("/oom", 200,
		"x-ms-request-id: r1\nContent-Type: text/plain\nA: b",
		"payload");
	req.method = "PUT";
	req.url = url_of(srv, "/oom");
	req.headers = hdrs;
	req.body = "{\"k\":1}";
	req.body_len = 7;
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__http_send(h, &req, &resp);
		cb__alloc_fail_after(0);
		if (error == 0)
			break;
		if (error != CB_ENOMEM)
			fail_msg("allocation %lu: %s: %s", n,
				cb_error_name(error), cb_error_last()->message);
		cb__http_response_dispose(&resp);
	}
	assert_true(n > 3);
	assert_string_equal("payload", resp.body.ptr);
	assert_string_equal("r1", resp.request_id);
	cb__http_response_dispose(&resp);
	cb__http_free(h);

	/* and creating a client */
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__http_new(&h, NULL);
		cb__alloc_fail_after(0);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
	}
	assert_true(n > 1);
	cb__http_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			test_http_get_200_with_body_and_headers, setup),
		cmocka_unit_test_setup(
			test_http_429_retried_after_retry_after, setup),
		cmocka_unit_test_setup(test_http_retry_after_http_date, setup),
		cmocka_unit_test_setup(
			test_http_ms_ratelimit_header_longer_than_retry_after_wins,
			setup),
		cmocka_unit_test_setup(test_http_5xx_burst_then_success, setup),
		cmocka_unit_test_setup(
			test_http_gives_up_when_the_wait_passes_the_deadline,
			setup),
		cmocka_unit_test_setup(
			test_http_gives_up_when_the_deadline_passes_in_an_attempt,
			setup),
		cmocka_unit_test_setup(
			test_http_gives_up_after_max_attempts, setup),
		cmocka_unit_test_setup(
			test_http_client_errors_are_final, setup),
		cmocka_unit_test_setup(
			test_http_post_retries_only_when_safe, setup),
		cmocka_unit_test_setup(test_http_methods_and_bodies, setup),
		cmocka_unit_test_setup(
			test_http_connection_refused_is_retried_then_fails,
			setup),
		cmocka_unit_test_setup(
			test_http_truncated_body_is_an_error, setup),
		cmocka_unit_test_setup(
			test_http_streams_the_body_in_order, setup),
		cmocka_unit_test_setup(
			test_http_streaming_abort_and_no_retry_after_delivery,
			setup),
		cmocka_unit_test_setup(test_http_gzip_is_decoded, setup),
		cmocka_unit_test_setup(
			test_http_caller_request_id_is_kept, setup),
		cmocka_unit_test_setup(
			test_http_refuses_plain_http_to_remote_hosts, setup),
		cmocka_unit_test_setup(test_http_body_cap, setup),
		cmocka_unit_test_setup(test_http_reuses_connections, setup),
		cmocka_unit_test_setup(test_http_rejects_bad_arguments, setup),
		cmocka_unit_test_setup(
			test_http_logs_each_attempt_without_secrets, setup),
		cmocka_unit_test_setup(test_http_send_survives_oom, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
