/*
 * tests/unit/emulator/test_throttle.c - ARM's token buckets, Cost
 * Details' and the Query API's limits, their headers and 429s, the
 * settings' errors, and the retry-before-Retry-After violation.
 *
 * The buckets run on req->now_ms, so most cases build requests and call
 * as_throttle_take() with a clock they choose: exact counts and exact
 * refill times, whatever the machine's load.
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
#include <unistd.h>
#include <cmocka.h>

#define T0 ((int64_t)1790000000000)

static as_server *
start(const char *throttle)
{
	as_options o;

	as_test_options(&o, 2);
	o.throttle = throttle;
	return as_test_start(&o);
}

/* A request as the pipeline would hand it over after auth. */
struct treq {
	as_req req;
	char path[512];
	char split[512];
};

static as_req *
mkreq(struct treq *t, const char *method, const char *path,
	const char *principal, int64_t now, const char *body)
{
	static unsigned long seq;
	char *p;

	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	snprintf(t->split, sizeof(t->split), "%s", path);
	for (p = strtok(t->split, "/"); p != NULL; p = strtok(NULL, "/"))
		t->req.seg[t->req.nseg++] = p;
	t->req.method = method;
	t->req.path = t->path;
	t->req.query = "";
	t->req.body = body ? body : "";
	t->req.body_len = strlen(t->req.body);
	t->req.principal = principal;
	t->req.now_ms = now;
	t->req.seq = ++seq;
	t->req.call = 1;
	return &t->req;
}

static void
resp_init(as_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->truncate_at = -1;
}

static void
resp_done(as_resp *r)
{
	for (size_t i = 0; i < r->nheader; i++) {
		free(r->hname[i]);
		free(r->hvalue[i]);
	}
	cb_buf_dispose(&r->body);
	memset(r, 0, sizeof(*r));
}

static const char *
hdr(const as_resp *r, const char *name)
{
	for (size_t i = 0; i < r->nheader; i++)
		if (strcasecmp(r->hname[i], name) == 0)
			return r->hvalue[i];
	return NULL;
}

static const char *
body(const as_resp *r)
{
	return r->body.ptr ? r->body.ptr : "";
}

/* One take; returns its result and leaves the answer in r. */
static int
take(as_server *s, as_resp *r, const char *method, const char *path,
	const char *principal, int64_t now, const char *b)
{
	struct treq t;

	resp_init(r);
	return as_throttle_take(
		s, mkreq(&t, method, path, principal, now, b), r);
}

/* One take: its exact result and, unless name is NULL, the exact value
 * of that header (NULL: absent). */
static void
expect_take(as_server *s, int result, const char *method, const char *path,
	const char *principal, int64_t now, const char *b, const char *name,
	const char *value)
{
	as_resp r;

	assert_int_equal(result, take(s, &r, method, path, principal, now, b));
	if (name != NULL && value == NULL)
		assert_null(hdr(&r, name));
	else if (name != NULL)
		assert_string_equal(value, hdr(&r, name));
	resp_done(&r);
}

static const char accounts[] = "/providers/Microsoft.Billing/billingAccounts";
static const char sub_path[] =
	"/subscriptions/00000000-0000-0000-0000-000000000001/providers/"
	"Microsoft.Consumption/budgets";

static void
test_read_bucket_counts_down_then_429_and_refills(void **state)
{
	as_server *s = start("reads=5/1");
	as_resp r;
	char want[8];

	(void)state;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(0,
			take(s, &r, "GET", accounts, "tn-a/app-1", T0, NULL));
		snprintf(want, sizeof(want), "%d", 4 - i);
		assert_string_equal(
			want, hdr(&r, "x-ms-ratelimit-remaining-tenant-reads"));
		assert_int_equal(0, r.status); /* the handler answers */
		resp_done(&r);
	}
	assert_int_equal(
		-1, take(s, &r, "GET", accounts, "tn-a/app-1", T0, NULL));
	assert_int_equal(429, r.status);
	assert_string_equal("1", hdr(&r, "Retry-After"));
	assert_string_equal(
		"0", hdr(&r, "x-ms-ratelimit-remaining-tenant-reads"));
	assert_string_equal(
		"{\"error\":{\"code\":\"TooManyRequests\",\"message\":"
		"\"Number of 'read' requests for tenant level actor "
		"'tn-a/app-1' exceeded. Please try again after '1' seconds "
		"after the additional tokens are available. Refer to "
		"https://aka.ms/arm-throttling\"}}",
		body(&r));
	resp_done(&r);
	/* 999 ms refill 0.999 of a token: still empty. */
	expect_take(s, -1, "GET", accounts, "tn-a/app-1", T0 + 999, NULL,
		"Retry-After", "1");
	/* At the Retry-After time a token is back, and only one. */
	expect_take(s, 0, "GET", accounts, "tn-a/app-1", T0 + 1000, NULL,
		"x-ms-ratelimit-remaining-tenant-reads", "0");
	expect_take(s, -1, "GET", accounts, "tn-a/app-1", T0 + 1000, NULL, NULL,
		NULL);
	/* Another principal has its own bucket. */
	expect_take(s, 0, "GET", accounts, "tn-a/app-2", T0 + 1000, NULL,
		"x-ms-ratelimit-remaining-tenant-reads", "4");
	/* A long rest fills the bucket to its burst, not beyond. */
	expect_take(s, 0, "GET", accounts, "tn-a/app-1", T0 + 86400000, NULL,
		"x-ms-ratelimit-remaining-tenant-reads", "4");
	as_server_stop(s);
}

static void
test_default_read_burst_is_250_and_refill_25_per_second(void **state)
{
	as_server *s = start(NULL);
	as_resp r;
	char want[8];

	(void)state;
	for (int i = 0; i < 250; i++) {
		assert_int_equal(
			0, take(s, &r, "GET", accounts, "tn/app", T0, NULL));
		snprintf(want, sizeof(want), "%d", 249 - i);
		assert_string_equal(
			want, hdr(&r, "x-ms-ratelimit-remaining-tenant-reads"));
		resp_done(&r);
	}
	expect_take(
		s, -1, "GET", accounts, "tn/app", T0, NULL, "Retry-After", "1");
	/* 25 per second: one token every 40 ms. */
	expect_take(
		s, -1, "GET", accounts, "tn/app", T0 + 39, NULL, NULL, NULL);
	expect_take(s, 0, "GET", accounts, "tn/app", T0 + 40, NULL, NULL, NULL);
	/* One second later, 25 tokens: 24 left after this one. */
	expect_take(s, 0, "GET", accounts, "tn/app", T0 + 1040, NULL,
		"x-ms-ratelimit-remaining-tenant-reads", "24");
	/* Writes default to 200. */
	expect_take(s, 0, "PUT", accounts, "tn/app", T0, NULL,
		"x-ms-ratelimit-remaining-tenant-writes", "199");
	as_server_stop(s);
}

static void
test_writes_deletes_and_subscriptions_have_their_own_buckets(void **state)
{
	as_server *s = start("reads=3/1,writes=2/1,deletes=1/10");
	as_resp r;

	(void)state;
	assert_int_equal(0, take(s, &r, "PUT", accounts, "tn/app", T0, "{}"));
	assert_string_equal(
		"1", hdr(&r, "x-ms-ratelimit-remaining-tenant-writes"));
	assert_null(hdr(&r, "x-ms-ratelimit-remaining-tenant-reads"));
	resp_done(&r);
	expect_take(s, 0, "PATCH", accounts, "tn/app", T0, "{}",
		"x-ms-ratelimit-remaining-tenant-writes", "0");
	assert_int_equal(-1, take(s, &r, "PUT", accounts, "tn/app", T0, "{}"));
	assert_int_equal(429, r.status);
	assert_non_null(strstr(body(&r), "Number of 'write' requests"));
	resp_done(&r);
	/* Deletes and reads are untouched by the writes. */
	expect_take(s, 0, "DELETE", accounts, "tn/app", T0, NULL,
		"x-ms-ratelimit-remaining-tenant-deletes", "0");
	assert_int_equal(
		-1, take(s, &r, "DELETE", accounts, "tn/app", T0, NULL));
	/* 10 per second: 100 ms to the next token, announced as 1 s. */
	assert_string_equal("1", hdr(&r, "Retry-After"));
	resp_done(&r);
	expect_take(
		s, 0, "DELETE", accounts, "tn/app", T0 + 100, NULL, NULL, NULL);
	expect_take(s, 0, "GET", accounts, "tn/app", T0, NULL,
		"x-ms-ratelimit-remaining-tenant-reads", "2");
	/* A subscription path: the subscription's headers and buckets. */
	assert_int_equal(0, take(s, &r, "GET", sub_path, "tn/app", T0, NULL));
	assert_string_equal(
		"2", hdr(&r, "x-ms-ratelimit-remaining-subscription-reads"));
	assert_null(hdr(&r, "x-ms-ratelimit-remaining-tenant-reads"));
	resp_done(&r);
	expect_take(s, 0, "GET", sub_path, "tn/app", T0, NULL, NULL, NULL);
	expect_take(s, 0, "GET", sub_path, "tn/app", T0, NULL, NULL, NULL);
	assert_int_equal(-1, take(s, &r, "GET", sub_path, "tn/app", T0, NULL));
	assert_string_equal(
		"{\"error\":{\"code\":\"TooManyRequests\",\"message\":"
		"\"Number of 'read' requests for subscription "
		"'00000000-0000-0000-0000-000000000001' actor 'tn/app' "
		"exceeded. Please try again after '1' seconds after the "
		"additional tokens are available. Refer to "
		"https://aka.ms/arm-throttling\"}}",
		body(&r));
	resp_done(&r);
	as_server_stop(s);
}

static const char cd_a[] =
	"/providers/Microsoft.Billing/billingAccounts/A/providers/"
	"Microsoft.CostManagement/generateCostDetailsReport";
static const char cd_b[] =
	"/providers/Microsoft.Billing/billingAccounts/B/providers/"
	"Microsoft.CostManagement/generateCostDetailsReport";

static void
test_cost_details_per_scope_and_per_application(void **state)
{
	as_server *s =
		start("costdetails-scope=2/min+3/h,costdetails-app=4/min");
	as_resp r;
	char path[256];

	(void)state;
	assert_int_equal(0, take(s, &r, "POST", cd_a, "tn/app", T0, "{}"));
	/* ARM counts the POST as a read. */
	assert_string_equal(
		"249", hdr(&r, "x-ms-ratelimit-remaining-tenant-reads"));
	resp_done(&r);
	expect_take(s, 0, "POST", cd_a, "tn/app2", T0 + 10, "{}", NULL, NULL);
	/* The scope's 2 per minute are used, whoever asked. */
	assert_int_equal(
		-1, take(s, &r, "POST", cd_a, "tn/app3", T0 + 20, "{}"));
	assert_int_equal(429, r.status);
	assert_string_equal("60", hdr(&r, "Retry-After"));
	assert_string_equal(
		"60", hdr(&r, "x-ms-ratelimit-microsoft.costmanagement-entity-"
			      "retry-after"));
	assert_null(hdr(&r,
		"x-ms-ratelimit-microsoft.costmanagement-client-retry-after"));
	assert_string_equal("{\"error\":{\"code\":\"429\",\"message\":\"Too "
			    "many requests. Please retry.\"}}",
		body(&r));
	resp_done(&r);
	/* Other scopes are free; scopes ignore case. */
	expect_take(s, 0, "POST", cd_b, "tn/app", T0 + 20, "{}", NULL, NULL);
	expect_take(s, -1, "POST",
		"/PROVIDERS/microsoft.billing/BILLINGACCOUNTS/a/"
		"providers/Microsoft.CostManagement/"
		"generateCostDetailsReport",
		"tn/app", T0 + 20, "{}", NULL, NULL);
	/* A minute after the first, one fits; then the hour's 3 are used
	 * until the first is an hour old. */
	expect_take(s, 0, "POST", cd_a, "tn/app", T0 + 60000, "{}", NULL, NULL);
	expect_take(s, -1, "POST", cd_a, "tn/app", T0 + 120000, "{}",
		"Retry-After", "3480");
	/* Only the generateCostDetailsReport POST is limited. */
	expect_take(s, 0, "GET", cd_a, "tn/app", T0 + 120000, NULL, NULL, NULL);
	/* The application's 4 per minute across scopes. */
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path),
			"/providers/Microsoft.Billing/billingAccounts/C%d/"
			"providers/Microsoft.CostManagement/"
			"generateCostDetailsReport",
			i);
		expect_take(s, 0, "POST", path, "tn/busy", T0 + 1000 * i, "{}",
			NULL, NULL);
	}
	assert_int_equal(
		-1, take(s, &r, "POST", cd_b, "tn/busy", T0 + 5000, "{}"));
	assert_string_equal("55", hdr(&r, "Retry-After"));
	assert_string_equal(
		"55", hdr(&r, "x-ms-ratelimit-microsoft.costmanagement-client-"
			      "retry-after"));
	assert_null(hdr(&r,
		"x-ms-ratelimit-microsoft.costmanagement-entity-retry-after"));
	resp_done(&r);
	/* Refused calls are not charged: scope B still has a call left
	 * this minute. */
	expect_take(
		s, 0, "POST", cd_b, "tn/other", T0 + 5000, "{}", NULL, NULL);
	as_server_stop(s);
}

static const char query[] = "/providers/Microsoft.Billing/billingAccounts/A/"
			    "providers/Microsoft.CostManagement/query";
static const char forecast[] = "/providers/Microsoft.Billing/billingAccounts/"
			       "A/providers/Microsoft.CostManagement/forecast";

static void
test_query_qpu_per_tenant_with_headers(void **state)
{
	as_server *s = start("qpu=3/10s+5/min");
	const char two_months[] =
		"{\"type\":\"ActualCost\",\"timeframe\":\"Custom\","
		"\"timePeriod\":{\"from\":\"2026-08-01T00:00:00Z\","
		"\"to\":\"2026-09-30T23:59:59Z\"}}";
	const char mtd[] = "{\"type\":\"ActualCost\",\"timeframe\":"
			   "\"MonthToDate\"}";
	as_resp r;

	(void)state;
	assert_int_equal(
		0, take(s, &r, "POST", query, "tn/app", T0, two_months));
	assert_string_equal(
		"2", hdr(&r, "x-ms-ratelimit-microsoft.costmanagement-qpu-"
			     "consumed"));
	assert_string_equal("QueryQuota10s:1,QueryQuota1min:3",
		hdr(&r, "x-ms-ratelimit-microsoft.costmanagement-qpu-"
			"remaining"));
	resp_done(&r);
	/* The tenant's quota, whichever application asks. */
	assert_int_equal(0, take(s, &r, "POST", forecast, "tn/app2", T0, mtd));
	assert_string_equal(
		"1", hdr(&r, "x-ms-ratelimit-microsoft.costmanagement-qpu-"
			     "consumed"));
	assert_string_equal("QueryQuota10s:0,QueryQuota1min:2",
		hdr(&r, "x-ms-ratelimit-microsoft.costmanagement-qpu-"
			"remaining"));
	resp_done(&r);
	assert_int_equal(-1, take(s, &r, "POST", query, "tn/app", T0 + 1, mtd));
	assert_int_equal(429, r.status);
	assert_string_equal("10", hdr(&r, "Retry-After"));
	assert_string_equal("10",
		hdr(&r, "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-"
			"after"));
	assert_string_equal(
		"0", hdr(&r, "x-ms-ratelimit-microsoft.costmanagement-qpu-"
			     "consumed"));
	assert_string_equal("QueryQuota10s:0,QueryQuota1min:2",
		hdr(&r, "x-ms-ratelimit-microsoft.costmanagement-qpu-"
			"remaining"));
	assert_string_equal("{\"error\":{\"code\":\"429\",\"message\":\"Too "
			    "many requests. Please retry.\"}}",
		body(&r));
	resp_done(&r);
	/* Another tenant is not affected. */
	expect_take(s, 0, "POST", query, "tn2/app", T0, mtd, NULL, NULL);
	/* Ten seconds on, the 10 s window is empty, the minute is not. */
	expect_take(s, 0, "POST", query, "tn/app", T0 + 10000, mtd,
		"x-ms-ratelimit-microsoft.costmanagement-qpu-"
		"remaining",
		"QueryQuota10s:2,QueryQuota1min:1");
	expect_take(s, 0, "POST", query, "tn/app", T0 + 10000, mtd, NULL, NULL);
	expect_take(s, -1, "POST", query, "tn/app", T0 + 10000, mtd,
		"Retry-After", "50");
	/* A GET on the query path costs no QPU. */
	assert_int_equal(
		0, take(s, &r, "GET", query, "tn/app", T0 + 10000, NULL));
	assert_null(hdr(
		&r, "x-ms-ratelimit-microsoft.costmanagement-qpu-consumed"));
	resp_done(&r);
	as_server_stop(s);
}

static void
test_settings_errors_are_exact(void **state)
{
	static const struct {
		const char *spec, *msg;
	} cases[] = {
		{ "reads", "--throttle: \"reads\": expected NAME=VALUE" },
		{ "foo=1/2",
			"--throttle: \"foo=1/2\": unknown limit \"foo\"; "
			"known: reads, writes, deletes, costdetails-scope, "
			"costdetails-app, qpu" },
		{ "reads=5",
			"--throttle: \"reads=5\": expected BURST/REFILL, "
			"whole numbers from 1 (tokens, tokens per second), "
			"as in reads=250/25" },
		{ "writes=0/1",
			"--throttle: \"writes=0/1\": expected BURST/REFILL, "
			"whole numbers from 1 (tokens, tokens per second), "
			"as in writes=250/25" },
		{ "qpu=12/10x",
			"--throttle: \"qpu=12/10x\": expected up to 4 "
			"COUNT/WINDOW joined by '+', WINDOW a number (1 if "
			"left out) and s, min, h or d, at most a year, as "
			"in qpu=12/10s+60/min" },
		{ "costdetails-app=1/s+1/s+1/s+1/s+1/s",
			"--throttle: \"costdetails-app=1/s+1/s+1/s+1/s+1/s\": "
			"expected up to 4 COUNT/WINDOW joined by '+', WINDOW "
			"a number (1 if left out) and s, min, h or d, at most "
			"a year, as in costdetails-app=12/10s+60/min" },
		{ "reads=1/1,reads=2/2",
			"--throttle: \"reads=2/2\": reads given twice" },
		{ "reads=1/1,,writes=1/1", "--throttle: an empty item in "
					   "\"reads=1/1,,writes=1/1\"" },
		{ "reads=1/1,", "--throttle: an empty item in \"reads=1/1,\"" },
	};

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		as_options o;
		as_server *s = NULL;
		char err[512] = "";

		as_options_init(&o);
		o.plain_http = true;
		o.customers = 1;
		o.throttle = cases[i].spec;
		assert_int_equal(-1, as_server_start(&s, &o, err, sizeof(err)));
		assert_string_equal(cases[i].msg, err);
	}
}

static void
test_retry_before_retry_after_is_a_violation(void **state)
{
	as_server *s = start("reads=1/1");
	as_resp r;
	struct treq t;
	json_t *v;
	unsigned long first429 = 0;
	char want[128];

	(void)state;
	/* The pipeline's order: faults, throttle, (handler), faults. */
	for (int i = 0; i < 4; i++) {
		static const int64_t at[] = { 0, 10, 500, 1500 };
		as_req *q =
			mkreq(&t, "GET", accounts, "tn/app", T0 + at[i], NULL);
		resp_init(&r);
		assert_int_equal(0, as_faults_before(s, q, &r));
		if (as_throttle_take(s, q, &r) == 0)
			r.status = 200;
		as_faults_after(s, q, &r);
		/* 10 ms: 429 (wait 1 s, until T0+1010); 500 ms: early, and
		 * a new 429 (until T0+1500); 1500 ms: on time, a token back. */
		assert_int_equal(i == 0 || i == 3 ? 200 : 429, r.status);
		if (i == 1)
			first429 = q->seq;
		resp_done(&r);
	}
	v = as_violations_json(s);
	assert_int_equal(1, json_integer_value(json_object_get(v, "count")));
	assert_string_equal("retry-before-retry-after",
		json_string_value(json_object_get(
			json_array_get(json_object_get(v, "violations"), 0),
			"kind")));
	snprintf(want, sizeof(want),
		"retried 510 ms before the Retry-After of request %lu ended",
		first429);
	assert_string_equal(want,
		json_string_value(json_object_get(
			json_array_get(json_object_get(v, "violations"), 0),
			"detail")));
	json_decref(v);
	as_server_stop(s);
}

/* Over real HTTP with a token: the pipeline calls the throttle after
 * auth, on Billing's routes. */
static void
test_http_buckets_headers_and_early_retry(void **state)
{
	as_server *s = start("reads=3/1,writes=2/1");
	char base[128], u[512];
	cb_test_reply r;
	json_t *v;
	char want[8];

	(void)state;
	as_server_base(s, base, sizeof(base));
	snprintf(u, sizeof(u), "%s%s?api-version=2024-04-01", base, accounts);
	for (int i = 0; i < 3; i++) {
		as_test_call(s, &r, "GET", u, NULL, NULL);
		assert_int_equal(200, r.status);
		snprintf(want, sizeof(want), "%d", 2 - i);
		assert_string_equal(
			want, cb_test_reply_header(&r,
				      "x-ms-ratelimit-remaining-tenant-reads"));
		cb_test_reply_free(&r);
	}
	as_test_call(s, &r, "GET", u, NULL, NULL);
	assert_int_equal(429, r.status);
	assert_string_equal("1", cb_test_reply_header(&r, "Retry-After"));
	assert_string_equal(
		"0", cb_test_reply_header(
			     &r, "x-ms-ratelimit-remaining-tenant-reads"));
	v = json_loads(r.body, 0, NULL);
	assert_string_equal("TooManyRequests",
		json_string_value(
			json_object_get(json_object_get(v, "error"), "code")));
	assert_non_null(strstr(json_string_value(json_object_get(
				       json_object_get(v, "error"), "message")),
		"Number of 'read' requests for tenant level actor '"));
	json_decref(v);
	cb_test_reply_free(&r);
	/* At once again: a violation, and 429 again. */
	as_test_expect(s, "GET", u, NULL, NULL, 429, NULL);
	v = as_violations_json(s);
	assert_int_equal(1,
		json_integer_value(json_object_get(json_object_get(v, "byKind"),
			"retry-before-retry-after")));
	json_decref(v);
	/* After the Retry-After, a token is back and no rule is broken. */
	usleep(1100 * 1000);
	as_test_expect(s, "GET", u, NULL, NULL, 200, NULL);
	v = as_violations_json(s);
	assert_int_equal(1,
		json_integer_value(json_object_get(json_object_get(v, "byKind"),
			"retry-before-retry-after")));
	json_decref(v);
	/* A PUT takes from the write bucket, whatever the handler says. */
	snprintf(u, sizeof(u),
		"%s%s/nope/customers/nope/policies/default"
		"?api-version=2024-04-01",
		base, accounts);
	as_test_call(s, &r, "PUT", u, NULL,
		"{\"properties\":{\"viewCharges\":"
		"\"Allowed\"}}");
	assert_string_equal(
		"1", cb_test_reply_header(
			     &r, "x-ms-ratelimit-remaining-tenant-writes"));
	assert_null(cb_test_reply_header(
		&r, "x-ms-ratelimit-remaining-tenant-reads"));
	cb_test_reply_free(&r);
	/* No token: Entra's 401 comes first, nothing is taken. */
	snprintf(u, sizeof(u), "%s%s?api-version=2024-04-01", base, accounts);
	assert_int_equal(0, cb_test_fetch(&r, "GET", u, NULL, NULL));
	assert_int_equal(401, r.status);
	assert_null(cb_test_reply_header(
		&r, "x-ms-ratelimit-remaining-tenant-reads"));
	cb_test_reply_free(&r);
	as_server_stop(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_read_bucket_counts_down_then_429_and_refills),
		cmocka_unit_test(
			test_default_read_burst_is_250_and_refill_25_per_second),
		cmocka_unit_test(
			test_writes_deletes_and_subscriptions_have_their_own_buckets),
		cmocka_unit_test(
			test_cost_details_per_scope_and_per_application),
		cmocka_unit_test(test_query_qpu_per_tenant_with_headers),
		cmocka_unit_test(test_settings_errors_are_exact),
		cmocka_unit_test(test_retry_before_retry_after_is_a_violation),
		cmocka_unit_test(test_http_buckets_headers_and_early_retry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
