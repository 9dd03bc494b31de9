/*
 * tests/unit/core/test_arm_paging.c - following nextLink against a real
 * local HTTP server: three pages requested exactly (the first URL with its
 * api-version, then each nextLink verbatim, the token on each), the end of
 * a listing (absent, null, ""), the token guard on a nextLink to another
 * host, paging loops and the page cap, callbacks that stop, the Query /
 * Forecast re-POST style, the Azure example bodies served as pages, and an
 * OOM walk.
 */
#include "core/common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/core/test_arm_helpers.h"

#define ACCOUNT_PATH \
	"/providers/Microsoft.Billing/billingAccounts/1234:5678_2019-05-31"

static cb_test_httpd *srv;
static cb_http *http;
static struct test_token tok;

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
	return 0;
}

static char *fmt(const char *f, ...) CB_FORMAT_PRINTF(1, 2);

/* A formatted string, malloc'd (tests hold several at once). */
static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	assert_true(n >= 0);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

/* What the callbacks saw. */
struct seen {
	char names[1024]; /* "name" of each item, comma-separated */
	unsigned items;
	unsigned pages;
	int stop_at; /* return stop_code at this item (1-based); 0: never */
	int stop_code;
};

static int
collect_item(const cb_json *page, const cb_json_node *item, void *payload)
{
	struct seen *s = payload;
	const char *name;
	size_t n = strlen(s->names);

	assert_ok(cb__json_get_string(&name, page, item, "name", 0));
	snprintf(
		s->names + n, sizeof(s->names) - n, "%s%s", n ? "," : "", name);
	s->items++;
	if (s->stop_at && (int)s->items == s->stop_at) {
		if (s->stop_code < 0)
			return cb__error_set(s->stop_code, CB_ERRCLASS_INVALID,
				"caller gave up at item %u", s->items);
		return s->stop_code;
	}
	return 0;
}

static int
count_page(const cb_json *page, void *payload)
{
	struct seen *s = payload;
	const cb_json_node *rows;

	s->pages++;
	if (cb__json_get_array(&rows, page, cb__json_root(page),
		    "properties.rows", CB_JSON_OPTIONAL) == 0)
		s->items += (unsigned)cb__json_array_size(rows);
	return 0;
}

static void
reply_json(const char *target, int status, const char *body)
{
	cb_test_httpd_reply(
		srv, target, status, "Content-Type: application/json", body);
}

/* The done-when case: three pages, each requested exactly once. */
static void
test_arm_list_three_pages(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	struct seen s = { 0 };
	char *p1, *p2;

	(void)state;
	p1 = fmt("{\"value\":[{\"name\":\"c1\"},{\"name\":\"c2\"}],"
		 "\"nextLink\":\"%s" ACCOUNT_PATH "/customers?api-version="
		 "2024-04-01&$skiptoken=AQAAAA%%3D%%3D\"}",
		base_of(srv));
	p2 = fmt("{\"totalCount\":5,\"value\":[{\"name\":\"c3\"}],"
		 "\"nextLink\":\"%s" ACCOUNT_PATH "/customers?$skiptoken=p3"
		 "&api-version=2024-04-01\"}",
		base_of(srv));
	reply_json(ACCOUNT_PATH "/customers?api-version=2024-04-01", 200, p1);
	reply_json(ACCOUNT_PATH "/customers?api-version=2024-04-01"
				"&$skiptoken=AQAAAA%3D%3D",
		200, p2);
	reply_json(ACCOUNT_PATH "/customers?$skiptoken=p3&api-version="
				"2024-04-01",
		200, "{\"value\":[{\"name\":\"c4\"},{\"name\":\"c5\"}]}");

	assert_ok(cb__arm_list(arm, ACCOUNT_PATH "/customers", "2024-04-01",
		collect_item, &s));
	assert_string_equal("c1,c2,c3,c4,c5", s.names);
	assert_int_equal(5, s.items);

	assert_int_equal(3, cb_test_httpd_count(srv));
	assert_request(srv, 0, "GET",
		ACCOUNT_PATH "/customers?api-version=2024-04-01");
	assert_request(srv, 1, "GET",
		ACCOUNT_PATH "/customers?api-version=2024-04-01"
			     "&$skiptoken=AQAAAA%3D%3D");
	assert_request(srv, 2, "GET",
		ACCOUNT_PATH "/customers?$skiptoken=p3&api-version=2024-04-01");
	assert_int_equal(3, tok.calls);
	assert_int_equal(0, cb_test_httpd_unexpected(srv));
	assert_int_equal(0, cb_test_httpd_pending(srv));
	free(p1);
	free(p2);
	cb__arm_free(arm);
}

static void
test_arm_list_ends_on_null_or_empty_next_link(void **state)
{
	static const char *bodies[] = {
		"{\"value\":[{\"name\":\"a\"}],\"nextLink\":null}",
		"{\"value\":[{\"name\":\"a\"}],\"nextLink\":\"\"}",
		"{\"value\":[{\"name\":\"a\"}]}",
		"{\"nextLink\":null,\"value\":[]}",
	};
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(bodies); i++) {
		struct seen s = { 0 };

		cb_test_httpd_clear(srv);
		reply_json("/c", 200, bodies[i]);
		assert_ok(
			cb__arm_list(arm, "c", "2024-04-01", collect_item, &s));
		assert_int_equal(i == 3 ? 0 : 1, s.items);
		assert_int_equal(1, cb_test_httpd_count(srv));
	}
	/* a 204 is an empty listing */
	cb_test_httpd_clear(srv);
	cb_test_httpd_reply(srv, "/c", 204, NULL, NULL);
	{
		struct seen s = { 0 };

		assert_ok(
			cb__arm_list(arm, "c", "2024-04-01", collect_item, &s));
		assert_int_equal(0, s.items);
	}
	cb__arm_free(arm);
}

static void
test_arm_list_refuses_next_link_to_another_host(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	struct seen s = { 0 };
	char *want, *body;
	int other = cb_test_unused_port();

	(void)state;
	reply_json("/c", 200,
		"{\"value\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"nextLink\":"
		"\"https://evil.example.com/c?$skiptoken=1&sig=x\"}");
	assert_code(CB_ESECURITY,
		cb__arm_list(arm, "c", "2024-04-01", collect_item, &s));
	want = fmt("GET %s/c: refusing nextLink to 'https://evil.example.com': "
		   "not the management endpoint '%s', the token must not go "
		   "there",
		base_of(srv), base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(CB_ERRCLASS_HTTP, cb_error_last()->klass);
	free(want);
	/* the first page was delivered, nothing else was asked */
	assert_string_equal("a,b", s.names);
	assert_int_equal(1, cb_test_httpd_count(srv));

	/* same address, another port: another server */
	cb_test_httpd_clear(srv);
	body = fmt(
		"{\"value\":[],\"nextLink\":\"http://127.0.0.1:%d/c\"}", other);
	reply_json("/c", 200, body);
	assert_code(CB_ESECURITY,
		cb__arm_list(arm, "c", "2024-04-01", collect_item, &s));
	want = fmt("GET %s/c: refusing nextLink to 'http://127.0.0.1:%d': not "
		   "the management endpoint '%s', the token must not go there",
		base_of(srv), other, base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	assert_int_equal(1, cb_test_httpd_count(srv));
	free(want);
	free(body);
	cb__arm_free(arm);
}

static void
test_arm_list_detects_paging_loop(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	struct seen s = { 0 };
	char *p1, *p2, *want;

	(void)state;
	p1 = fmt("{\"value\":[{\"name\":\"a\"}],\"nextLink\":\"%s/c?"
		 "api-version=2024-04-01&$skiptoken=2\"}",
		base_of(srv));
	/* page 2 points back at the first URL */
	p2 = fmt("{\"value\":[{\"name\":\"b\"}],\"nextLink\":\"%s/c?"
		 "api-version=2024-04-01\"}",
		base_of(srv));
	reply_json("/c?api-version=2024-04-01", 200, p1);
	reply_json("/c?api-version=2024-04-01&$skiptoken=2", 200, p2);
	assert_code(CB_EHTTP,
		cb__arm_list(arm, "c", "2024-04-01", collect_item, &s));
	want = fmt("GET %s/c: nextLink repeats a page already listed (paging "
		   "loop) after 2 pages",
		base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	assert_string_equal("a,b", s.names);
	assert_int_equal(2, cb_test_httpd_count(srv));
	free(p1);
	free(p2);
	free(want);
	cb__arm_free(arm);
}

static void
test_arm_list_page_cap(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm;
	struct seen s = { 0 };
	char *p[3], *want;

	(void)state;
	o.max_pages = 2;
	arm = new_arm(&o);
	for (int i = 0; i < 3; i++) {
		char target[64];

		p[i] = fmt("{\"value\":[{\"name\":\"p%d\"}],\"nextLink\":"
			   "\"%s/c?api-version=1&$skiptoken=%d\"}",
			i, base_of(srv), i + 1);
		if (i == 0)
			snprintf(target, sizeof(target), "/c?api-version=1");
		else
			snprintf(target, sizeof(target),
				"/c?api-version=1&$skiptoken=%d", i);
		reply_json(target, 200, p[i]);
	}
	assert_code(CB_EHTTP, cb__arm_list(arm, "c", "1", collect_item, &s));
	want = fmt("GET %s/c: still a nextLink after 2 pages, the most one "
		   "listing may take",
		base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	assert_string_equal("p0,p1", s.names);
	assert_int_equal(2, cb_test_httpd_count(srv));
	for (int i = 0; i < 3; i++)
		free(p[i]);
	free(want);
	cb__arm_free(arm);
}

static void
test_arm_list_callback_stops_the_walk(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	struct seen s = { 0 };
	char *p1;
	cb_test_answer a = { 0 };

	(void)state;
	p1 = fmt("{\"value\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":"
		 "\"c\"}],\"nextLink\":\"%s/c?api-version=1&$skiptoken=2\"}",
		base_of(srv));
	a.body = p1;
	a.times = CB_TEST_HTTPD_FOREVER;
	cb_test_httpd_queue(srv, NULL, "/c?api-version=1", &a);

	s.stop_at = 2;
	s.stop_code = 7;
	assert_int_equal(7, cb__arm_list(arm, "c", "1", collect_item, &s));
	assert_string_equal("a,b", s.names);

	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	s.stop_code = CB_EEXISTS;
	assert_code(CB_EEXISTS, cb__arm_list(arm, "c", "1", collect_item, &s));
	assert_string_equal(
		"caller gave up at item 3", cb_error_last()->message);
	/* neither walk went on to page 2 */
	assert_int_equal(2, cb_test_httpd_count(srv));
	assert_int_equal(0, cb_test_httpd_unexpected(srv));
	free(p1);
	cb__arm_free(arm);
}

static void
test_arm_list_bad_pages(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	struct seen s = { 0 };
	char *p1, *want;

	(void)state;
	reply_json("/c", 200, "{\"nextLink\":null}");
	assert_code(CB_EPARSE, cb__arm_list(arm, "c", "1", collect_item, &s));
	want = fmt("GET %s/c: response: value: missing", base_of(srv));
	assert_string_equal(want, cb_error_last()->message);
	free(want);

	reply_json("/c", 200, "{\"value\":[],\"nextLink\":17}");
	assert_code(CB_EPARSE, cb__arm_list(arm, "c", "1", collect_item, &s));
	want = fmt("^GET %s/c: response: nextLink: ", base_of(srv));
	assert_message_matches(want);
	free(want);

	/* an error on page 2 names page 2; page 1 was delivered */
	p1 = fmt("{\"value\":[{\"name\":\"a\"}],\"nextLink\":\"%s/c?"
		 "api-version=1&$skiptoken=2&sig=secret\"}",
		base_of(srv));
	reply_json("/c?api-version=1", 200, p1);
	cb_test_httpd_reply(srv, "/c?api-version=1&$skiptoken=2&sig=secret",
		404, "x-ms-request-id: r2",
		"{\"error\":{\"code\":\"NotFound\",\"message\":\"skip token "
		"expired\"}}");
	memset(&s, 0, sizeof(s));
	assert_code(
		CB_ENOTFOUND, cb__arm_list(arm, "c", "1", collect_item, &s));
	want = fmt("GET %s/c: http 404 NotFound: skip token expired",
		base_of(srv));
	assert_error(
		CB_ENOTFOUND, CB_ERRCLASS_AZURE, 404, "NotFound", "r2", want);
	assert_string_equal("a", s.names);
	free(want);
	free(p1);
	cb__arm_free(arm);
}

/* Query / Forecast: the same body POSTed again to properties.nextLink. */
static void
test_arm_query_re_posts_the_same_body(void **state)
{
	static const char body[] =
		"{\"type\":\"ActualCost\",\"timeframe\":\"MonthToDate\","
		"\"dataset\":{\"granularity\":\"None\",\"aggregation\":{"
		"\"totalCost\":{\"name\":\"Cost\",\"function\":\"Sum\"}}}}";
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	struct seen s = { 0 };
	char *p1;

	(void)state;
	p1 = fmt(
		"{\"properties\":{\"nextLink\":\"%s" ACCOUNT_PATH
		"/providers/Microsoft.CostManagement/query?api-version="
		"2025-03-01&$skiptoken=AQAAAA%%3D%%3D\",\"columns\":[{\"name\":"
		"\"Cost\",\"type\":\"Number\"}],\"rows\":[[1.5],[2.25]]}}",
		base_of(srv));
	reply_json(ACCOUNT_PATH "/providers/Microsoft.CostManagement/query"
				"?api-version=2025-03-01",
		200, p1);
	reply_json(ACCOUNT_PATH
		"/providers/Microsoft.CostManagement/query"
		"?api-version=2025-03-01&$skiptoken=AQAAAA%3D%3D",
		200,
		"{\"properties\":{\"nextLink\":null,\"columns\":[{\"name\":"
		"\"Cost\",\"type\":\"Number\"}],\"rows\":[[0.125]]}}");

	assert_ok(cb__arm_query(arm,
		ACCOUNT_PATH "/providers/Microsoft.CostManagement/query",
		"2025-03-01", body, count_page, &s));
	assert_int_equal(2, s.pages);
	assert_int_equal(3, s.items);
	assert_int_equal(2, cb_test_httpd_count(srv));
	assert_request(srv, 0, "POST",
		ACCOUNT_PATH "/providers/Microsoft.CostManagement/query"
			     "?api-version=2025-03-01");
	assert_request(srv, 1, "POST",
		ACCOUNT_PATH "/providers/Microsoft.CostManagement/query"
			     "?api-version=2025-03-01&$skiptoken=AQAAAA%3D%3D");
	for (size_t i = 0; i < 2; i++) {
		const cb_test_request *r = req_at(srv, i);

		assert_string_equal(body, r->body);
		assert_string_equal("application/json",
			cb_test_request_header(r, "Content-Type"));
	}
	free(p1);
	cb__arm_free(arm);
}

static void
test_arm_query_post_retry_and_204(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	struct seen s = { 0 };
	cb_json *doc = NULL;

	(void)state;
	/* a query changes nothing: a 503 is retried even though it is a POST */
	cb_test_httpd_reply(srv, "/q", 503, "Retry-After: 0", "busy");
	reply_json("/q", 200, "{\"properties\":{\"rows\":[[1]]}}");
	assert_ok(cb__arm_query(arm, "q", "2025-03-01", "{}", count_page, &s));
	assert_int_equal(1, s.pages);
	assert_int_equal(2, cb_test_httpd_count(srv));

	/* a plain POST is not retried */
	cb_test_httpd_clear(srv);
	cb_test_httpd_reply(srv, "/q", 503, "Retry-After: 0", "busy");
	assert_code(CB_EHTTP, cb__arm_post(&doc, arm, "q", "2025-03-01", "{}"));
	assert_int_equal(1, cb_test_httpd_count(srv));

	/* 204: no data, no page */
	cb_test_httpd_clear(srv);
	cb_test_httpd_reply(srv, "/q", 204, NULL, NULL);
	memset(&s, 0, sizeof(s));
	assert_ok(cb__arm_query(arm, "q", "2025-03-01", "{}", count_page, &s));
	assert_int_equal(0, s.pages);
	cb__arm_free(arm);
}

/*
 * Conformance: each Azure example list body served as three pages (its
 * nextLink pointed at the next one) and walked item by item.
 */
static void
test_arm_list_conformance_examples(void **state)
{
	static const char *lists[] = {
		"Microsoft.Billing/2024-04-01/billingAccountsList.json",
		"Microsoft.Billing/2024-04-01/"
		"billingProfilesListByBillingAccount.json",
		"Microsoft.Billing/2024-04-01/customersListByBillingAccount.json",
		"Microsoft.Billing/2024-04-01/"
		"billingSubscriptionsListByBillingAccount.json",
		"Microsoft.Billing/2024-04-01/invoicesListByBillingAccount.json",
		"Microsoft.Consumption/2024-08-01/BudgetsList.json",
		"Microsoft.CostManagement/2025-03-01/CustomerBudgetsList.json",
	};
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(lists); i++) {
		char *text = example_text(lists[i], "responses.200.body", NULL);
		struct seen s = { 0 };
		char want[1024] = "";
		cb_json *doc = NULL;
		const cb_json_node *value;
		size_t per_page;

		cb_test_httpd_clear(srv);
		assert_ok(cb__json_parse(&doc, text, strlen(text), lists[i]));
		assert_ok(cb__json_get_array(
			&value, doc, cb__json_root(doc), "value", 0));
		per_page = cb__json_array_size(value);
		assert_true(per_page > 0);
		for (int page = 0; page < 3; page++) {
			cb_buf out = CB_BUF_INIT;
			char target[64], *link;

			for (size_t k = 0; k < per_page; k++) {
				const char *name;
				size_t n = strlen(want);

				assert_ok(cb__json_get_string(&name, doc,
					cb__json_array_get(value, k), "name",
					0));
				snprintf(want + n, sizeof(want) - n, "%s%s",
					n ? "," : "", name);
			}
			link = fmt(
				"%s/list?api-version=2024-04-01&$skiptoken=%d",
				base_of(srv), page + 1);
			if (page < 2)
				assert_ok(cb__json_set_string(doc,
					cb__json_root_mut(doc), "nextLink",
					link));
			else
				assert_ok(cb__json_set_null(doc,
					cb__json_root_mut(doc), "nextLink"));
			assert_ok(cb__json_dump(&out, cb__json_root(doc)));
			if (page == 0)
				snprintf(target, sizeof(target),
					"/list?api-version=2024-04-01");
			else
				snprintf(target, sizeof(target),
					"/list?api-version=2024-04-01"
					"&$skiptoken=%d",
					page);
			reply_json(target, 200, out.ptr);
			cb_buf_dispose(&out);
			free(link);
		}
		assert_ok(cb__arm_list(
			arm, "list", "2024-04-01", collect_item, &s));
		assert_int_equal(3 * per_page, s.items);
		assert_string_equal(want, s.names);
		assert_int_equal(3, cb_test_httpd_count(srv));
		assert_int_equal(0, cb_test_httpd_unexpected(srv));
		cb__json_free(doc);
		free(text);
	}
	cb__arm_free(arm);
}

/* What a query page callback checks in the examples: the first cost keeps
 * every digit (no double on the way). */
struct query_check {
	unsigned pages;
	const char *first_cost; /* expected literal of rows[0][0] */
	size_t rows;            /* rows per page expected */
};

static int
check_query_page(const cb_json *page, void *payload)
{
	struct query_check *q = payload;
	const cb_json_node *rows, *cost;

	q->pages++;
	assert_ok(cb__json_get_array(
		&rows, page, cb__json_root(page), "properties.rows", 0));
	assert_int_equal(q->rows, cb__json_array_size(rows));
	assert_ok(cb__json_get_node(&cost, page, rows, "[0][0]", 0));
	assert_string_equal(q->first_cost, cb__json_number_text(cost));
	return 0;
}

static void
query_example(const char *rel, const char *path, const char *next_target,
	const char *first_cost, size_t rows)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	struct query_check q = { 0, first_cost, rows };
	char *page1 = example_text(rel, "responses.200.body", base_of(srv));
	char *request = example_text(rel, "parameters.parameters", NULL);
	char *target = fmt("%s?api-version=2025-03-01", path);
	cb_json *doc = NULL;
	cb_buf page2 = CB_BUF_INIT;

	cb_test_httpd_clear(srv);
	/* page 2: the same body without a nextLink */
	assert_ok(cb__json_parse(&doc, page1, strlen(page1), rel));
	assert_ok(cb__json_set_null(
		doc, cb__json_root_mut(doc), "properties.nextLink"));
	assert_ok(cb__json_dump(&page2, cb__json_root(doc)));
	reply_json(target, 200, page1);
	reply_json(next_target, 200, page2.ptr);

	assert_ok(cb__arm_query(
		arm, path, "2025-03-01", request, check_query_page, &q));
	assert_int_equal(2, q.pages);
	assert_request(srv, 0, "POST", target);
	/* the example's nextLink names another api-version: used as is */
	assert_request(srv, 1, "POST", next_target);
	assert_string_equal(request, req_at(srv, 1)->body);
	cb_buf_dispose(&page2);
	cb__json_free(doc);
	free(page1);
	free(request);
	free(target);
	cb__arm_free(arm);
}

static void
test_arm_query_conformance_examples(void **state)
{
	(void)state;
	query_example(
		"Microsoft.CostManagement/2025-03-01/BillingAccountQuery.json",
		"/providers/Microsoft.Billing/billingAccounts/70664866/"
		"providers/Microsoft.CostManagement/query",
		"/providers/Microsoft.Billing/billingAccounts/70664866/"
		"providers/Microsoft.CostManagement/Query?api-version=2021-10-01"
		"&$skiptoken=AQAAAA%3D%3D",
		"19.545363672276512", 4);
	query_example(
		"Microsoft.CostManagement/2025-03-01/BillingProfileForecast.json",
		"/providers/Microsoft.Billing/billingAccounts/12345:6789/"
		"billingProfiles/13579/providers/Microsoft.CostManagement/"
		"forecast",
		"/providers/Microsoft.Billing/billingAccounts/12345:6789/"
		"billingProfiles/13579/providers/Microsoft.CostManagement/"
		"Forecast?api-version=2019-10-01&$skiptoken=AQAAAA%3D%3D",
		"2.10333307059661", 4);
}

/* Consumption's price sheet: GET, with the link in properties.nextLink. */
static void
test_arm_pages_price_sheet_example(void **state)
{
	static const char rel[] =
		"Microsoft.Consumption/2024-08-01/PriceSheet.json";
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	struct seen s = { 0 };
	char *page1 = example_text(rel, "responses.200.body", base_of(srv));
	char *url =
		fmt("%s/subscriptions/00000000-0000-0000-0000-000000000000/"
		    "providers/Microsoft.Billing/billingPeriods/201702/"
		    "providers/Microsoft.Consumption/pricesheets/default"
		    "?api-version=2024-08-01&$expand=properties/meterDetails",
			base_of(srv));

	(void)state;
	reply_json(
		"/subscriptions/00000000-0000-0000-0000-000000000000/"
		"providers/Microsoft.Billing/billingPeriods/201702/providers/"
		"Microsoft.Consumption/pricesheets/default",
		200, page1);
	reply_json("/subscriptions/00000000-0000-0000-0000-000000000000/"
		   "providers/microsoft.consumption/pricesheets/default"
		   "?api-version=2018-01-31&$skiptoken=AQAAAA%3D%3D",
		200, "{\"properties\":{\"pricesheets\":[],\"nextLink\":null}}");
	assert_ok(cb__arm_pages(arm, "GET", url, NULL, 0, "properties.nextLink",
		count_page, &s));
	assert_int_equal(2, s.pages);
	assert_request(srv, 1, "GET",
		"/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
		"microsoft.consumption/pricesheets/default?api-version="
		"2018-01-31&$skiptoken=AQAAAA%3D%3D");
	free(page1);
	free(url);
	cb__arm_free(arm);
}

static void
test_arm_list_survives_oom(void **state)
{
	cb_arm_options o = arm_options(http, srv, &tok);
	cb_arm *arm = new_arm(&o);
	cb_test_answer a = { 0 };
	char *p[2];
	unsigned long n;
	int error;

	(void)state;
	p[0] = fmt("{\"value\":[{\"name\":\"a\"}],\"nextLink\":\"%s/c?"
		   "api-version=1&$skiptoken=2\"}",
		base_of(srv));
	p[1] = fmt("{\"value\":[{\"name\":\"b\"}],\"nextLink\":\"%s/c?"
		   "api-version=1&$skiptoken=3\"}",
		base_of(srv));
	a.times = CB_TEST_HTTPD_FOREVER;
	a.body = p[0];
	cb_test_httpd_queue(srv, NULL, "/c?api-version=1", &a);
	a.body = p[1];
	cb_test_httpd_queue(srv, NULL, "/c?api-version=1&$skiptoken=2", &a);
	a.body = "{\"value\":[{\"name\":\"c\"}]}";
	cb_test_httpd_queue(srv, NULL, "/c?api-version=1&$skiptoken=3", &a);
	for (n = 1;; n++) {
		struct seen s = { 0 };

		cb__alloc_fail_after(n);
		error = cb__arm_list(arm, "c", "1", collect_item, &s);
		cb__alloc_fail_after(0);
		if (error == 0) {
			assert_string_equal("a,b,c", s.names);
			break;
		}
		assert_code(CB_ENOMEM, error);
	}
	assert_true(n > 10);
	free(p[0]);
	free(p[1]);
	cb__arm_free(arm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_arm_list_three_pages, setup),
		cmocka_unit_test_setup(
			test_arm_list_ends_on_null_or_empty_next_link, setup),
		cmocka_unit_test_setup(
			test_arm_list_refuses_next_link_to_another_host, setup),
		cmocka_unit_test_setup(
			test_arm_list_detects_paging_loop, setup),
		cmocka_unit_test_setup(test_arm_list_page_cap, setup),
		cmocka_unit_test_setup(
			test_arm_list_callback_stops_the_walk, setup),
		cmocka_unit_test_setup(test_arm_list_bad_pages, setup),
		cmocka_unit_test_setup(
			test_arm_query_re_posts_the_same_body, setup),
		cmocka_unit_test_setup(
			test_arm_query_post_retry_and_204, setup),
		cmocka_unit_test_setup(
			test_arm_list_conformance_examples, setup),
		cmocka_unit_test_setup(
			test_arm_query_conformance_examples, setup),
		cmocka_unit_test_setup(
			test_arm_pages_price_sheet_example, setup),
		cmocka_unit_test_setup(test_arm_list_survives_oom, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
