/*
 * tests/unit/core/test_http_exec.c - the concurrent executor: bounded
 * parallelism measured at the server, retry timers that block no one,
 * callbacks that chain the next page, abort, and cb__http_send_all's
 * per-request results.
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
queue_slow(const char *route, const char *body, long delay_ms)
{
	cb_test_answer a = { 0 };

	a.body = body;
	a.delay_ms = delay_ms;
	cb_test_httpd_queue(srv, NULL, route, &a);
}

static void
test_http_send_all_bounds_parallelism(void **state)
{
	enum { N = 9 };
	cb_http_options o = fast_options();
	cb_http *h;
	cb_http_request reqs[N];
	cb_http_response resps[N];
	int results[N];
	char paths[N][16], bodies[N][8], urls[N][64];
	int64_t t0, took;

	(void)state;
	o.max_parallel = 3;
	h = new_client(&o);
	memset(reqs, 0, sizeof(reqs));
	for (int i = 0; i < N; i++) {
		snprintf(paths[i], sizeof(paths[i]), "/c/%d", i);
		snprintf(bodies[i], sizeof(bodies[i]), "body %d", i);
		queue_slow(paths[i], bodies[i], 200);
		reqs[i].url = cb_test_httpd_url(
			srv, urls[i], sizeof(urls[i]), paths[i]);
		results[i] = 99;
	}
	t0 = mono_ms();
	assert_ok(cb__http_send_all(h, reqs, resps, results, N));
	took = mono_ms() - t0;
	for (int i = 0; i < N; i++) {
		assert_int_equal(0, results[i]);
		assert_int_equal(200, resps[i].status);
		assert_string_equal(bodies[i], resps[i].body.ptr);
		cb__http_response_dispose(&resps[i]);
	}
	assert_int_equal(N, cb_test_httpd_count(srv));
	/* exactly max_parallel at once: never more, and used in full */
	assert_int_equal(3, cb_test_httpd_max_in_flight(srv));
	/* three waves of 200 ms at least (max_in_flight above proves they
	 * overlapped; an upper bound would only measure machine load) */
	if (took < 600)
		fail_msg("9 requests of 200 ms, 3 at a time, took %lld ms",
			(long long)took);
	assert_ok(cb__http_send_all(h, reqs, resps, NULL, 0));
	cb__http_free(h);
}

struct done_log {
	int calls;
	int errors[16];
	char messages[16][256];
	int order[16];
	int next;
};

struct tagged {
	struct done_log *log;
	int tag;
};

static void
log_done(int error, cb_http_response *resp, void *payload)
{
	struct tagged *t = payload;
	struct done_log *l = t->log;

	(void)resp;
	l->errors[t->tag] = error;
	snprintf(l->messages[t->tag], sizeof(l->messages[0]), "%s",
		error ? cb_error_last()->message : "");
	l->order[l->next++] = t->tag;
	l->calls++;
}

static void
test_http_retry_wait_blocks_no_one(void **state)
{
	cb_http_options o = fast_options();
	cb_http *h;
	cb_http_request req = { 0 };
	cb_http_response resps[4];
	struct done_log log;
	struct tagged tags[4];
	const char *paths[] = { "/a", "/b", "/c", "/d" };
	int64_t t0, took;
	const cb_test_request *last;

	(void)state;
	memset(&log, 0, sizeof(log));
	/* one slot: if a's wait held it, b, c and d would queue behind it */
	o.max_parallel = 1;
	h = new_client(&o);
	cb_test_httpd_reply(srv, "/a", 429, "Retry-After: 1", "");
	cb_test_httpd_reply(srv, "/a", 200, NULL, "a");
	queue_slow("/b", "b", 300);
	queue_slow("/c", "c", 300);
	queue_slow("/d", "d", 300);
	for (int i = 0; i < 4; i++) {
		tags[i].log = &log;
		tags[i].tag = i;
		req.url = url_of(srv, paths[i]);
		assert_ok(cb__http_submit(
			h, &req, &resps[i], log_done, &tags[i]));
	}
	t0 = mono_ms();
	assert_ok(cb__http_run(h));
	took = mono_ms() - t0;
	assert_int_equal(4, log.calls);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(0, log.errors[i]);
		assert_int_equal(200, resps[i].status);
		assert_string_equal(paths[i] + 1, resps[i].body.ptr);
		cb__http_response_dispose(&resps[i]);
	}
	/* b, c and d finished while a waited out its Retry-After */
	assert_int_equal(0, log.order[3]);
	assert_int_equal(5, cb_test_httpd_count(srv));
	last = cb_test_httpd_request(srv, 4);
	assert_string_equal("/a", last->target);
	assert_true(
		last->arrival_ms - cb_test_httpd_request(srv, 0)->arrival_ms >=
		1000);
	assert_int_equal(1, cb_test_httpd_max_in_flight(srv));
	/* a's retry came last: had its wait held the only slot, a would
	 * have finished first.  About 1 s in all (blocking: 1.9 s). */
	if (took < 1000)
		fail_msg("took %lld ms, want about 1000", (long long)took);
	cb__http_free(h);
}

struct pager {
	cb_http *h;
	cb_http_response resp;
	int pages;
	cb_buf all;
};

static void
pager_done(int error, cb_http_response *resp, void *payload)
{
	struct pager *p = payload;
	const char *next;
	cb_http_request req = { 0 };
	cb_http_response page = *resp;

	assert_int_equal(0, error);
	p->pages++;
	cb__buf_puts(&p->all, page.body.ptr);
	next = cb__http_response_header(&page, "x-next");
	if (next) {
		/* the next request reuses the same response slot: copy the
		 * URL out first, then submit (which resets the slot) */
		char url[256];

		snprintf(url, sizeof(url), "%s", next);
		*resp = (cb_http_response)CB_HTTP_RESPONSE_INIT;
		req.url = url;
		assert_ok(cb__http_submit(p->h, &req, &p->resp, pager_done, p));
	}
	cb__http_response_dispose(&page);
}

static void
test_http_callbacks_chain_pages(void **state)
{
	struct pager p;
	cb_http_request req = { 0 };
	char hdr[2][300];

	(void)state;
	memset(&p, 0, sizeof(p));
	p.h = new_client(NULL);
	snprintf(hdr[0], sizeof(hdr[0]), "x-next: %s",
		url_of(srv, "/list?page=2"));
	snprintf(hdr[1], sizeof(hdr[1]), "x-next: %s",
		url_of(srv, "/list?page=3"));
	cb_test_httpd_reply(srv, "/list?page=1", 200, hdr[0], "[1]");
	cb_test_httpd_reply(srv, "/list?page=2", 200, hdr[1], "[2]");
	cb_test_httpd_reply(srv, "/list?page=3", 200, NULL, "[3]");
	req.url = url_of(srv, "/list?page=1");
	assert_ok(cb__http_submit(p.h, &req, &p.resp, pager_done, &p));
	assert_ok(cb__http_run(p.h));
	assert_int_equal(3, p.pages);
	assert_string_equal("[1][2][3]", p.all.ptr);
	assert_string_equal(
		"/list?page=3", cb_test_httpd_request(srv, 2)->target);
	assert_int_equal(0, cb_test_httpd_unexpected(srv));
	cb_buf_dispose(&p.all);
	cb__http_free(p.h);
}

struct aborter {
	cb_http *h;
	int calls;
	int codes[8];
	int nested_run;
	int nested_send;
};

static void
aborter_done(int error, cb_http_response *resp, void *payload)
{
	struct aborter *a = payload;
	cb_http_request req = { 0 };
	cb_http_response other = CB_HTTP_RESPONSE_INIT;

	(void)resp;
	a->codes[a->calls++] = error;
	if (a->calls == 1) {
		a->nested_run = cb__http_run(a->h);
		req.url = url_of(srv, "/never");
		a->nested_send = cb__http_send(a->h, &req, &other);
		cb__http_response_dispose(&other);
		cb__http_abort(a->h);
	}
}

static void
test_http_abort_from_a_callback(void **state)
{
	cb_http_options o = fast_options();
	struct aborter a;
	cb_http_request req = { 0 };
	cb_http_response resps[4];
	char want[256];

	(void)state;
	memset(&a, 0, sizeof(a));
	o.max_parallel = 1;
	a.h = new_client(&o);
	for (int i = 0; i < 4; i++) {
		queue_slow("/s", "s", 50);
		req.url = url_of(srv, "/s?x=1");
		assert_ok(cb__http_submit(
			a.h, &req, &resps[i], aborter_done, &a));
	}
	assert_ok(cb__http_run(a.h));
	assert_int_equal(4, a.calls);
	assert_int_equal(0, a.codes[0]);
	assert_int_equal(CB_EINVAL, a.nested_run);
	assert_int_equal(CB_EINVAL, a.nested_send);
	for (int i = 1; i < 4; i++)
		assert_int_equal(CB_ECANCELED, a.codes[i]);
	snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/s: canceled",
		cb_test_httpd_port(srv));
	assert_string_equal(want, cb_error_last()->message);
	/* only the first ever reached the server */
	assert_int_equal(1, cb_test_httpd_count(srv));
	for (int i = 0; i < 4; i++)
		cb__http_response_dispose(&resps[i]);
	/* abort with nothing open is a no-op; the client still works */
	cb__http_abort(a.h);
	cb__http_abort(NULL);
	cb_test_httpd_reply(srv, "/after", 200, NULL, "fine");
	assert_ok(do_get(a.h, url_of(srv, "/after"), &resps[0]));
	assert_string_equal("fine", resps[0].body.ptr);
	cb__http_response_dispose(&resps[0]);
	cb__http_free(a.h);
}

static void
test_http_send_all_reports_each_result(void **state)
{
	cb_http_options o = fast_options();
	cb_http *h;
	cb_http_request reqs[4];
	cb_http_response resps[4];
	int results[4];

	(void)state;
	o.max_attempts = 2;
	h = new_client(&o);
	memset(reqs, 0, sizeof(reqs));
	cb_test_httpd_reply(srv, "/ok", 200, NULL, "ok");
	cb_test_httpd_reply(srv, "/missing", 404, NULL, "{}");
	cb_test_httpd_reply(srv, "/down", 503, NULL, "");
	cb_test_httpd_reply(srv, "/down", 503, NULL, "");
	reqs[0].url = url_of(srv, "/ok");
	reqs[1].url = "http://example.com/remote";
	reqs[2].url = url_of(srv, "/missing");
	reqs[3].url = url_of(srv, "/down");
	assert_code(
		CB_ESECURITY, cb__http_send_all(h, reqs, resps, results, 4));
	/* the lowest-index failure is the last error */
	assert_string_equal("GET http://example.com/remote: refusing plain "
			    "http to non-loopback host 'example.com'",
		cb_error_last()->message);
	assert_int_equal(0, results[0]);
	assert_int_equal(CB_ESECURITY, results[1]);
	assert_int_equal(0, results[2]);
	assert_int_equal(CB_EHTTP, results[3]);
	assert_int_equal(200, resps[0].status);
	assert_int_equal(0, resps[1].status);
	assert_int_equal(404, resps[2].status);
	assert_int_equal(503, resps[3].status);
	assert_int_equal(2, resps[3].attempts);
	for (int i = 0; i < 4; i++)
		cb__http_response_dispose(&resps[i]);

	/* when only a later request fails, its status is kept too */
	reqs[1].url = url_of(srv, "/ok");
	cb_test_httpd_clear(srv);
	cb_test_httpd_reply(srv, "/ok", 200, NULL, "ok");
	cb_test_httpd_reply(srv, "/ok", 200, NULL, "ok");
	cb_test_httpd_reply(srv, "/missing", 404, NULL, "{}");
	cb_test_httpd_reply(srv, "/down", 429, "x-ms-request-id: r9", "");
	cb_test_httpd_reply(srv, "/down", 429, "x-ms-request-id: r9", "");
	assert_code(
		CB_ETHROTTLED, cb__http_send_all(h, reqs, resps, results, 4));
	assert_int_equal(429, cb_error_last()->http_status);
	assert_string_equal("r9", cb_error_last()->request_id);
	for (int i = 0; i < 4; i++)
		cb__http_response_dispose(&resps[i]);
	cb__http_free(h);
}

struct stream {
	cb_buf got;
};

static int
stream_cb(const char *data, size_t len, void *payload)
{
	struct stream *s = payload;

	return cb__buf_put(&s->got, data, len);
}

static void
test_http_parallel_streams_stay_apart(void **state)
{
	enum { N = 3, SIZE = 200000 };
	cb_http *h = new_client(NULL);
	cb_http_request reqs[N];
	cb_http_response resps[N];
	struct stream s[N];
	char *bodies[N], path[32];

	(void)state;
	memset(reqs, 0, sizeof(reqs));
	for (int i = 0; i < N; i++) {
		cb_test_answer a = { 0 };

		bodies[i] = malloc(SIZE);
		for (int j = 0; j < SIZE; j++)
			bodies[i][j] = (char)('A' + (i * 5 + j) % 23);
		a.body = bodies[i];
		a.body_len = SIZE;
		snprintf(path, sizeof(path), "/blob/%d", i);
		cb_test_httpd_queue(srv, "GET", path, &a);
		s[i].got = (cb_buf)CB_BUF_INIT;
		reqs[i].url = url_of(srv, path);
		reqs[i].on_body = stream_cb;
		reqs[i].on_body_payload = &s[i];
		reqs[i].timeout_ms = -1;
	}
	assert_ok(cb__http_send_all(h, reqs, resps, NULL, N));
	for (int i = 0; i < N; i++) {
		assert_int_equal(SIZE, s[i].got.size);
		assert_memory_equal(bodies[i], s[i].got.ptr, SIZE);
		cb_buf_dispose(&s[i].got);
		cb__http_response_dispose(&resps[i]);
		free(bodies[i]);
	}
	cb__http_free(h);
}

static void
count_done(int error, cb_http_response *resp, void *payload)
{
	int *n = payload;

	(void)error;
	(void)resp;
	(*n)++;
}

static void
test_http_send_with_queued_work_and_free_with_open_work(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_request req = { 0 };
	cb_http_response queued = CB_HTTP_RESPONSE_INIT, now, dropped;
	int calls = 0, dropped_calls = 0;

	(void)state;
	queue_slow("/later", "later", 300);
	cb_test_httpd_reply(srv, "/now", 200, NULL, "now");
	req.url = url_of(srv, "/later");
	assert_ok(cb__http_submit(h, &req, &queued, count_done, &calls));
	assert_ok(do_get(h, url_of(srv, "/now"), &now));
	assert_string_equal("now", now.body.ptr);
	cb__http_response_dispose(&now);
	assert_ok(cb__http_run(h));
	assert_int_equal(1, calls);
	assert_string_equal("later", queued.body.ptr);
	cb__http_response_dispose(&queued);

	/* freeing a client with work still queued: no callback, no leak */
	req.url = url_of(srv, "/not-run");
	assert_ok(
		cb__http_submit(h, &req, &dropped, count_done, &dropped_calls));
	cb__http_free(h);
	assert_int_equal(0, dropped_calls);
	cb__http_response_dispose(&dropped);
	assert_int_equal(0, cb_test_httpd_unexpected(srv));
}

static void
test_http_send_all_survives_oom(void **state)
{
	cb_http *h = new_client(NULL);
	cb_http_request reqs[3];
	cb_http_response resps[3];
	int results[3];
	cb_test_answer a = { 0 };
	unsigned long n;
	int error;

	(void)state;
	a.headers = "x-ms-request-id: r";
	a.body = "{\"value\":[]}";
	a.times = CB_TEST_HTTPD_FOREVER;
	cb_test_httpd_queue(srv, NULL, "/o", &a);
	memset(reqs, 0, sizeof(reqs));
	for (int i = 0; i < 3; i++)
		reqs[i].url = url_of(srv, "/o");
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__http_send_all(h, reqs, resps, results, 3);
		cb__alloc_fail_after(0);
		for (int i = 0; i < 3; i++) {
			if (results[i] != 0 && results[i] != CB_ENOMEM)
				fail_msg("allocation %lu, request %d: %s", n, i,
					cb_error_name(results[i]));
			if (error == 0)
				assert_string_equal(
					"{\"value\":[]}", resps[i].body.ptr);
			cb__http_response_dispose(&resps[i]);
		}
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
	}
	assert_true(n > 5);
	cb__http_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			test_http_send_all_bounds_parallelism, setup),
		cmocka_unit_test_setup(
			test_http_retry_wait_blocks_no_one, setup),
		cmocka_unit_test_setup(test_http_callbacks_chain_pages, setup),
		cmocka_unit_test_setup(test_http_abort_from_a_callback, setup),
		cmocka_unit_test_setup(
			test_http_send_all_reports_each_result, setup),
		cmocka_unit_test_setup(
			test_http_parallel_streams_stay_apart, setup),
		cmocka_unit_test_setup(
			test_http_send_with_queued_work_and_free_with_open_work,
			setup),
		cmocka_unit_test_setup(test_http_send_all_survives_oom, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
