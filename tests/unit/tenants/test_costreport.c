/*
 * tests/unit/tenants/test_costreport.c - Cost Details reports fetched
 * from an in-process armsim (and, where armsim cannot be made to say it,
 * a scripted local server):
 *
 * the bytes streamed equal the generator's month for the scope, split
 * blob by blob as the manifest says; the long-running operation is polled
 * no sooner than Retry-After; a 429 on the request is retried after its
 * Retry-After; NoDataFound is no data, not an error; a Failed report, a
 * truncated blob, a storage error are errors with exact messages and the
 * request id; an expired link before the first byte gets a fresh report
 * (twice at most), after it a CB_ECONFLICT; a passed validTill is
 * noticed before the download; the request bodies are exactly what Azure
 * documents; blobs are fetched without the bearer token; the limiter
 * paces the requests; no message ever holds a SAS signature.
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/costgen.h"
#include "emulator/costmgmt.h"
#include "tenants/costreport.h"
#include "tests/support/httpd.h"
#include "tests/unit/emulator/fixture.h"

#include <stdlib.h>

#define SECRET "costreport-test-secret"
#define CM     "/providers/Microsoft.CostManagement"

#define ASSERT_OK(expr)                                                    \
	do {                                                               \
		int rc_ = (expr);                                          \
		if (rc_ != 0)                                              \
			fail_msg("%s: %s (%s)", #expr, cb_error_name(rc_), \
				cb_error_last()->message);                 \
	} while (0)

/* ------------------------------------------------------------------ */
/* armsim, a session on it */

static as_server *
start(unsigned blob_rows, unsigned polls, unsigned retry_after)
{
	as_options o;

	as_test_options(&o, 3);
	o.client_secret = SECRET;
	o.lro_polls = polls;
	o.retry_after_s = retry_after;
	o.blob_rows = blob_rows;
	o.throttle = AS_TEST_CM_THROTTLE;
	return as_test_start(&o);
}

struct env {
	cb_config *cfg;
	cb__session *s;
};

/*
 * A session whose tokens come from armsim and whose ARM calls go to
 * endpoint (NULL: armsim too).  fast: no floor under the operation's
 * Retry-After (armsim's tests answer "0"), so a report takes no second.
 */
static void
env_open(struct env *e, as_server *s, const char *endpoint, bool fast)
{
	char base[128], text[2048];
	const char *tenant, *client;
	cb_arm_options ao = CB_ARM_OPTIONS_INIT;

	as_server_base(s, base, sizeof(base));
	as_entra_ids(s, &tenant, &client);
	setenv("CB_TEST_COSTREPORT_SECRET", SECRET, 1);
	snprintf(text, sizeof(text),
		"azure = { tenant_id = \"%s\"; client_id = \"%s\";\n"
		"  client_secret_env = \"CB_TEST_COSTREPORT_SECRET\";\n"
		"  authority_host = \"%s\"; management_endpoint = \"%s\"; };\n"
		"http = { max_attempts = 3; };\n",
		tenant, client, base, endpoint ? endpoint : base);
	ASSERT_OK(cb_config_load_string(&e->cfg, text, "test.cfg"));
	ASSERT_OK(cb__session_open(&e->s, e->cfg));
	if (fast) {
		cb_arm *arm = NULL;

		ao.http = e->s->http;
		ao.endpoint = cb__arm_endpoint(e->s->arm);
		ao.token = cb__session_token;
		ao.token_payload = e->s;
		ao.lro_poll_min_ms = -1;
		ASSERT_OK(cb__arm_new(&arm, &ao));
		cb__arm_free(e->s->arm);
		e->s->arm = arm;
	}
}

static void
env_close(struct env *e)
{
	cb__session_close(e->s);
	cb_config_free(e->cfg);
}

static void
post_faults(as_server *s, const char *plan)
{
	cb_test_reply r;

	as_test_call(s, &r, "POST", "/_armsim/faults", NULL, plan);
	if (r.status != 200)
		fail_msg("fault plan: %ld %s", r.status, r.body);
	cb_test_reply_free(&r);
}

/* What armsim saw, one line per request outside /_armsim: "POST
 * generate 202", "GET poll 200", "GET blob 0 200", "POST token 200". */
static void
requests_seen(as_server *s, cb_buf *out)
{
	cb_test_reply rep;
	json_t *log, *r;
	size_t i;

	as_test_call(s, &rep, "GET", "/_armsim/requests", NULL, NULL);
	assert_int_equal(200, rep.status);
	log = json_loads(rep.body, 0, NULL);
	cb_test_reply_free(&rep);
	assert_non_null(log);

	cb__buf_clear(out);
	json_array_foreach(json_object_get(log, "requests"), i, r)
	{
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *p = json_string_value(json_object_get(r, "path"));
		const char *part;
		long st =
			(long)json_integer_value(json_object_get(r, "status"));

		if (strncmp(p, "/_armsim/", 9) == 0)
			continue;
		if (strstr(p, "/generateCostDetailsReport"))
			cb__buf_printf(out, "%s generate %ld\n", m, st);
		else if (strstr(p, "/costDetailsOperationResults/"))
			cb__buf_printf(out, "%s poll %ld\n", m, st);
		else if ((part = strstr(p, "/part_")) != NULL)
			cb__buf_printf(out, "%s blob %.*s %ld\n", m,
				(int)strcspn(part + 6, "."), part + 6, st);
		else if (strstr(p, "/oauth2/"))
			cb__buf_printf(out, "%s token %ld\n", m, st);
		else
			cb__buf_printf(out, "%s %s %ld\n", m, p, st);
	}
	json_decref(log);
}

static long
violations(as_server *s)
{
	cb_test_reply rep;
	json_t *v;
	long n;

	as_test_call(s, &rep, "GET", "/_armsim/violations", NULL, NULL);
	assert_int_equal(200, rep.status);
	v = json_loads(rep.body, 0, NULL);
	cb_test_reply_free(&rep);
	assert_non_null(v);
	n = (long)json_integer_value(json_object_get(v, "count"));

	json_decref(v);
	return n;
}

/* ------------------------------------------------------------------ */
/* The sink */

struct sink {
	cb_buf data;
	cb_buf events; /* "begin 0 SOURCE BYTES", "end 0", one a line */
	int fail;      /* data returns this (with a message) when not 0 */
};

static int
sink_begin(uint32_t part, const char *source, int64_t bytes, void *payload)
{
	struct sink *k = payload;

	return cb__buf_printf(&k->events, "begin %u %s %lld\n", part, source,
		(long long)bytes);
}

static int
sink_data(const char *data, size_t len, void *payload)
{
	struct sink *k = payload;

	if (k->fail)
		return cb__error_set(k->fail, CB_ERRCLASS_DB,
			"the sink refused %zu bytes", len);
	return cb__buf_put(&k->data, data, len);
}

static int
sink_end(uint32_t part, void *payload)
{
	struct sink *k = payload;

	return cb__buf_printf(&k->events, "end %u\n", part);
}

#define SINK_OF(k)                                    \
	{                                             \
		sink_begin, sink_data, sink_end, &(k) \
	}

static void
sink_dispose(struct sink *k)
{
	cb_buf_dispose(&k->data);
	cb_buf_dispose(&k->events);
}

/* ------------------------------------------------------------------ */
/* What the reports must hold */

static void
scope_of(as_server *s, const char *scope, as_metric m, as_cost_filter *f)
{
	as_resp resp;
	as_cm_scope sc;

	memset(&resp, 0, sizeof(resp));
	/* armsim's scopes have no leading slash */
	assert_int_equal(0, as_cm_scope_resolve(s, scope + 1, &sc, &resp));
	as_cm_scope_filter(&sc, m, f);
}

/* The generator's lines for f, a header every per rows (0: one part), as
 * parts[]; returns the number of parts. */
static size_t
expected(as_server *s, const as_cost_filter *f, uint64_t per, cb_buf *parts,
	size_t max)
{
	as_costgen *g = NULL;
	const as_cost_row *row;
	uint64_t rows = 0;
	size_t n = 0;

	assert_int_equal(0, as_costgen_open(&g, s->partner, f));
	while (as_costgen_next(g, &row) == 1) {
		if (rows % (per ? per : UINT64_MAX) == 0) {
			assert_true(n < max);
			assert_int_equal(0, as_cost_csv_header(&parts[n]));
			n++;
		}
		assert_int_equal(0, as_cost_csv_row(g, &parts[n - 1]));
		rows++;
	}
	as_costgen_free(g);
	return n;
}

static void
account_scope(as_server *s, size_t a, char *out, size_t outlen)
{
	snprintf(out, outlen, "/providers/Microsoft.Billing/billingAccounts/%s",
		s->partner->accounts[a].name);
}

static void
period_of(as_server *s, char *out, size_t outlen)
{
	snprintf(out, outlen, "%04d-%02d", s->partner->year, s->partner->month);
}

/* The error: code, exact message, no signature in it. */
static void
check_error(int rc, int code, const char *message)
{
	if (rc != code)
		fail_msg("%s, not %s: %s", cb_error_name(rc),
			cb_error_name(code), cb_error_last()->message);
	assert_string_equal(message, cb_error_last()->message);
	assert_null(strstr(cb_error_last()->message, "sig="));
}

/* ------------------------------------------------------------------ */
/* Reports that work */

static void
test_account_report_streams_the_generators_bytes(void **state)
{
	as_server *s = start(0, 0, 0);
	char scope[256], period[32], base[128], want[1024];
	cb_buf parts[2] = { CB_BUF_INIT, CB_BUF_INIT }, seen = CB_BUF_INIT;
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	as_cost_filter f;
	struct env e;

	(void)state;
	account_scope(s, 0, scope, sizeof(scope));
	period_of(s, period, sizeof(period));
	as_server_base(s, base, sizeof(base));
	env_open(&e, s, NULL, true);
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .period = period
	};

	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	scope_of(s, scope, AS_METRIC_ACTUAL, &f);
	assert_int_equal(1, expected(s, &f, 0, parts, 2));
	assert_true(parts[0].size > 10000);
	assert_int_equal(parts[0].size, k.data.size);
	assert_memory_equal(parts[0].ptr, k.data.ptr, k.data.size);
	assert_int_equal(1, info.blob_count);
	assert_int_equal(parts[0].size, info.byte_count);
	assert_false(info.no_data);
	assert_int_equal(36, strlen(info.operation_id));
	snprintf(want, sizeof(want),
		"begin 0 %s/blobs/costdetails/%s/part_0.csv %zu\nend 0\n", base,
		info.operation_id, parts[0].size);
	assert_string_equal(want, k.events.ptr);
	requests_seen(s, &seen);
	assert_string_equal("POST token 200\n"
			    "POST generate 202\n"
			    "GET poll 200\n"
			    "GET blob 0 200\n",
		seen.ptr);
	assert_int_equal(0, violations(s));

	cb_buf_dispose(&parts[0]);
	cb_buf_dispose(&seen);
	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

static void
test_customer_report_in_several_blobs(void **state)
{
	as_server *s = start(40, 0, 0);
	const as_partner *p = s->partner;
	char scope[512], period[32], base[128], line[512];
	cb_buf parts[64], events = CB_BUF_INIT, all = CB_BUF_INIT;
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	as_cost_filter f;
	struct env e;
	size_t n;

	(void)state;
	memset(parts, 0, sizeof(parts));
	snprintf(scope, sizeof(scope),
		"/providers/Microsoft.Billing/billingAccounts/%s/customers/%s",
		p->accounts[p->customers[1].account].name, p->customers[1].id);
	period_of(s, period, sizeof(period));
	as_server_base(s, base, sizeof(base));
	env_open(&e, s, NULL, true);
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_AMORTIZED, .period = period
	};

	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	scope_of(s, scope, AS_METRIC_AMORTIZED, &f);
	n = expected(s, &f, 40, parts, 64);
	assert_true(n >= 3);
	assert_int_equal(n, info.blob_count);
	for (size_t i = 0; i < n; i++) {
		snprintf(line, sizeof(line),
			"begin %zu %s/blobs/costdetails/%s/part_%zu.csv %zu\n"
			"end %zu\n",
			i, base, info.operation_id, i, parts[i].size, i);
		cb__buf_puts(&events, line);
		cb__buf_put(&all, parts[i].ptr, parts[i].size);
		cb_buf_dispose(&parts[i]);
	}
	assert_string_equal(events.ptr, k.events.ptr);
	assert_int_equal(all.size, k.data.size);
	assert_int_equal(all.size, info.byte_count);
	assert_memory_equal(all.ptr, k.data.ptr, all.size);

	cb_buf_dispose(&events);
	cb_buf_dispose(&all);
	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

/* Two 202s with Retry-After: 1, under core/arm's default pacing. */
static void
test_polls_honour_retry_after(void **state)
{
	as_server *s = start(0, 2, 1);
	char scope[256], period[32];
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	cb_buf seen = CB_BUF_INIT;
	struct env e;

	(void)state;
	account_scope(s, 1, scope, sizeof(scope));
	period_of(s, period, sizeof(period));
	env_open(&e, s, NULL, false);
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .period = period
	};

	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	assert_int_equal(info.byte_count, k.data.size);
	requests_seen(s, &seen);
	assert_string_equal("POST token 200\n"
			    "POST generate 202\n"
			    "GET poll 202\n"
			    "GET poll 202\n"
			    "GET poll 200\n"
			    "GET blob 0 200\n",
		seen.ptr);
	/* armsim checks every poll against the Retry-After it gave. */
	assert_int_equal(0, violations(s));

	cb_buf_dispose(&seen);
	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

/* Cost Details' throttle answers 429: core/http waits it out. */
static void
test_429_on_the_request_is_retried(void **state)
{
	as_server *s = start(0, 0, 0);
	char scope[256], period[32];
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	cb_buf seen = CB_BUF_INIT;
	struct env e;

	(void)state;
	account_scope(s, 0, scope, sizeof(scope));
	period_of(s, period, sizeof(period));
	env_open(&e, s, NULL, true);
	post_faults(s, "{\"faults\":[{\"route\":\"generateCostDetailsReport\","
		       "\"method\":\"POST\",\"calls\":[1],\"kind\":\"status\","
		       "\"status\":429,\"retryAfter\":1}]}");
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .period = period
	};

	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	assert_int_equal(info.byte_count, k.data.size);
	requests_seen(s, &seen);
	assert_string_equal("POST token 200\n"
			    "POST generate 429\n"
			    "POST generate 202\n"
			    "GET poll 200\n"
			    "GET blob 0 200\n",
		seen.ptr);
	/* not before the Retry-After */
	assert_int_equal(0, violations(s));

	cb_buf_dispose(&seen);
	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

static void
test_invoice_report(void **state)
{
	as_server *s = start(0, 0, 0);
	const as_partner *p = s->partner;
	char scope[512];
	cb_buf parts[2] = { CB_BUF_INIT, CB_BUF_INIT };
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	as_cost_filter f;
	as_invoice inv;
	struct env e;
	size_t pf = p->customers[0].profile;

	(void)state;
	snprintf(scope, sizeof(scope),
		"/providers/Microsoft.Billing/billingAccounts/%s/"
		"billingProfiles/%s",
		p->accounts[p->profiles[pf].account].name,
		p->profiles[pf].name);
	assert_int_equal(0, as_costgen_invoice(p, pf, &inv));
	env_open(&e, s, NULL, true);
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .invoice_id = inv.name
	};

	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	scope_of(s, scope, AS_METRIC_ACTUAL, &f);
	assert_int_equal(1, expected(s, &f, 0, parts, 2));
	assert_int_equal(parts[0].size, k.data.size);
	assert_memory_equal(parts[0].ptr, k.data.ptr, k.data.size);

	cb_buf_dispose(&parts[0]);
	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

static void
test_no_data(void **state)
{
	as_server *s = start(0, 0, 0);
	char scope[256], period[32];
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	struct env e;
	int y = s->partner->year, m = s->partner->month - 1;

	(void)state;
	account_scope(s, 0, scope, sizeof(scope));
	env_open(&e, s, NULL, true);
	/* A month before the partner's: armsim has no lines for it. */
	if (m == 0) {
		m = 12;
		y--;
	}
	snprintf(period, sizeof(period), "%04d-%02d", y, m);
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .period = period
	};

	memset(&info, 0xff, sizeof(info));
	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	assert_true(info.no_data);
	assert_int_equal(0, info.blob_count);
	assert_int_equal(0, info.byte_count);
	assert_int_equal(36, strlen(info.operation_id));
	assert_int_equal(0, k.data.size);
	assert_int_equal(0, k.events.size);

	/* The same from the report-nodata fault, in the open month. */
	period_of(s, period, sizeof(period));
	post_faults(s, "{\"faults\":[{\"route\":\"generateCostDetailsReport\","
		       "\"kind\":\"report-nodata\"}]}");
	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	assert_true(info.no_data);
	assert_int_equal(0, k.events.size);

	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

/* ------------------------------------------------------------------ */
/* Failures */

static void
test_report_failed(void **state)
{
	as_server *s = start(0, 0, 0);
	char scope[256], period[32], base[128], want[2048];
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	struct env e;
	int rc;

	(void)state;
	account_scope(s, 0, scope, sizeof(scope));
	period_of(s, period, sizeof(period));
	as_server_base(s, base, sizeof(base));
	env_open(&e, s, NULL, true);
	post_faults(s, "{\"faults\":[{\"route\":\"generateCostDetailsReport\","
		       "\"kind\":\"report-failed\"}]}");
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .period = period
	};

	rc = cb__costreport_fetch(e.s, NULL, &req, &sink, &info);
	assert_int_equal(36, strlen(cb_error_last()->request_id));
	assert_string_equal("InternalServerError", cb_error_last()->arm_code);
	assert_int_equal(200, cb_error_last()->http_status);
	snprintf(want, sizeof(want),
		"cost details report for %s: POST %s%s" CM
		"/generateCostDetailsReport: operation ended Failed: "
		"InternalServerError: The cost details report could not be "
		"generated. Try again later. (request id %s)",
		scope, base, scope, cb_error_last()->request_id);
	check_error(rc, CB_EHTTP, want);
	assert_int_equal(0, k.events.size);

	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

static void
test_billing_period_refused_by_armsim(void **state)
{
	as_server *s = start(0, 0, 0);
	char scope[256], base[128], want[2048];
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	struct env e;
	int rc;

	(void)state;
	account_scope(s, 0, scope, sizeof(scope));
	as_server_base(s, base, sizeof(base));
	env_open(&e, s, NULL, true);
	cb__costreport_request req = { .scope = scope,
		.metric = CB_COST_ACTUAL,
		.billing_period = "202609" };

	rc = cb__costreport_fetch(e.s, NULL, &req, &sink, &info);
	assert_int_equal(400, cb_error_last()->http_status);
	snprintf(want, sizeof(want),
		"cost details report for %s: POST %s%s" CM
		"/generateCostDetailsReport: http 400 BadRequest: "
		"billingPeriod is supported only for Enterprise Agreement "
		"scopes; use timePeriod or invoiceId. (request id %s)",
		scope, base, scope, cb_error_last()->request_id);
	check_error(rc, CB_EHTTP, want);

	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

static void
test_truncated_blob(void **state)
{
	as_server *s = start(0, 0, 0);
	char scope[256], period[32], want[1024];
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	cb_buf seen = CB_BUF_INIT;
	struct env e;
	int rc;

	(void)state;
	account_scope(s, 0, scope, sizeof(scope));
	period_of(s, period, sizeof(period));
	env_open(&e, s, NULL, true);
	post_faults(s, "{\"faults\":[{\"route\":\"/blobs/\",\"kind\":"
		       "\"truncate\",\"bytes\":1000}]}");
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .period = period
	};

	rc = cb__costreport_fetch(e.s, NULL, &req, &sink, &info);
	snprintf(want, sizeof(want),
		"the download of blob 1 of the report for %s ended after "
		"1000 of %lld bytes",
		scope, (long long)info.byte_count);
	check_error(rc, CB_EIO, want);
	assert_true(info.byte_count > 10000);
	assert_int_equal(1000, k.data.size);
	/* begun, never ended */
	assert_null(strstr(k.events.ptr, "end 0"));
	/* bytes had arrived: not retried */
	requests_seen(s, &seen);
	assert_string_equal("POST token 200\n"
			    "POST generate 202\n"
			    "GET poll 200\n"
			    "GET blob 0 200\n",
		seen.ptr);

	cb_buf_dispose(&seen);
	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

static void
test_sink_error_stops_the_fetch(void **state)
{
	as_server *s = start(0, 0, 0);
	char scope[256], period[32];
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, CB_EDB };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	struct env e;
	int rc;

	(void)state;
	account_scope(s, 0, scope, sizeof(scope));
	period_of(s, period, sizeof(period));
	env_open(&e, s, NULL, true);
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .period = period
	};

	rc = cb__costreport_fetch(e.s, NULL, &req, &sink, &info);
	assert_int_equal(CB_EDB, rc);
	assert_int_equal(
		0, strncmp("the sink refused ", cb_error_last()->message, 17));

	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

/* ------------------------------------------------------------------ */
/* Expired links */

static void
test_expired_link_before_the_first_byte_renews(void **state)
{
	as_server *s = start(0, 0, 0);
	char scope[256], period[32], base[128], want[1024];
	cb_buf parts[2] = { CB_BUF_INIT, CB_BUF_INIT }, seen = CB_BUF_INIT;
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	as_cost_filter f;
	struct env e;

	(void)state;
	account_scope(s, 0, scope, sizeof(scope));
	period_of(s, period, sizeof(period));
	as_server_base(s, base, sizeof(base));
	env_open(&e, s, NULL, true);
	post_faults(s, "{\"faults\":[{\"route\":\"/blobs/costdetails/\","
		       "\"calls\":[1],\"kind\":\"expired-link\"}]}");
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .period = period
	};

	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	requests_seen(s, &seen);
	assert_string_equal("POST token 200\n"
			    "POST generate 202\n"
			    "GET poll 200\n"
			    "GET blob 0 403\n"
			    "POST generate 202\n"
			    "GET poll 200\n"
			    "GET blob 0 200\n",
		seen.ptr);
	scope_of(s, scope, AS_METRIC_ACTUAL, &f);
	assert_int_equal(1, expected(s, &f, 0, parts, 2));
	assert_int_equal(parts[0].size, k.data.size);
	assert_memory_equal(parts[0].ptr, k.data.ptr, k.data.size);
	/* The sink saw only the fresh report. */
	snprintf(want, sizeof(want),
		"begin 0 %s/blobs/costdetails/%s/part_0.csv %zu\nend 0\n", base,
		info.operation_id, parts[0].size);
	assert_string_equal(want, k.events.ptr);

	cb_buf_dispose(&parts[0]);
	cb_buf_dispose(&seen);
	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

static void
test_expired_links_three_times_give_up(void **state)
{
	as_server *s = start(0, 0, 0);
	char scope[256], period[32], want[1024];
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	cb_buf seen = CB_BUF_INIT;
	struct env e;
	int rc;

	(void)state;
	account_scope(s, 0, scope, sizeof(scope));
	period_of(s, period, sizeof(period));
	env_open(&e, s, NULL, true);
	post_faults(s, "{\"faults\":[{\"route\":\"/blobs/costdetails/\","
		       "\"kind\":\"expired-link\"}]}");
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .period = period
	};

	rc = cb__costreport_fetch(e.s, NULL, &req, &sink, &info);
	requests_seen(s, &seen);
	assert_string_equal("POST token 200\n"
			    "POST generate 202\n"
			    "GET poll 200\n"
			    "GET blob 0 403\n"
			    "POST generate 202\n"
			    "GET poll 200\n"
			    "GET blob 0 403\n"
			    "POST generate 202\n"
			    "GET poll 200\n"
			    "GET blob 0 403\n",
		seen.ptr);
	assert_int_equal(36, strlen(cb_error_last()->request_id));
	snprintf(want, sizeof(want),
		"the download links of the report for %s expired before the "
		"download began, 3 reports in a row (blob 1: http 403 "
		"AuthenticationFailed, request id %s)",
		scope, cb_error_last()->request_id);
	check_error(rc, CB_EHTTP, want);
	assert_int_equal(0, k.events.size);

	cb_buf_dispose(&seen);
	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

static void
test_expired_link_mid_manifest_conflicts(void **state)
{
	as_server *s = start(40, 0, 0);
	char scope[256], period[32], want[1024], base[128];
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	cb_buf seen = CB_BUF_INIT;
	struct env e;
	int rc;

	(void)state;
	account_scope(s, 1, scope, sizeof(scope));
	period_of(s, period, sizeof(period));
	as_server_base(s, base, sizeof(base));
	env_open(&e, s, NULL, true);
	post_faults(s, "{\"faults\":[{\"route\":\"/blobs/costdetails/\","
		       "\"calls\":[2],\"kind\":\"expired-link\"}]}");
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .period = period
	};

	rc = cb__costreport_fetch(e.s, NULL, &req, &sink, &info);
	assert_true(info.blob_count >= 2);
	assert_int_equal(36, strlen(cb_error_last()->request_id));
	snprintf(want, sizeof(want),
		"the download links of the report for %s expired "
		"mid-download (blob 2: http 403 AuthenticationFailed, request "
		"id %s)",
		scope, cb_error_last()->request_id);
	check_error(rc, CB_ECONFLICT, want);
	requests_seen(s, &seen);
	assert_string_equal("POST token 200\n"
			    "POST generate 202\n"
			    "GET poll 200\n"
			    "GET blob 0 200\n"
			    "GET blob 1 403\n",
		seen.ptr);
	/* blob 0 whole, blob 1 never begun */
	snprintf(want, sizeof(want),
		"begin 0 %s/blobs/costdetails/%s/part_0.csv ", base,
		info.operation_id);
	assert_memory_equal(want, k.events.ptr, strlen(want));
	assert_non_null(strstr(k.events.ptr, "\nend 0\n"));
	assert_null(strstr(k.events.ptr, "begin 1"));

	cb_buf_dispose(&seen);
	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

/* ------------------------------------------------------------------ */
/* A scripted server: bodies, validTill, headers, short bodies */

static void
queue_result(cb_test_httpd *d, const char *json)
{
	cb_test_answer a = { .status = 200,
		.headers =
			"Content-Type: application/json\n"
			"x-ms-request-id: 11111111-2222-3333-4444-555555555555",
		.body = json };

	cb_test_httpd_queue(d, "POST",
		"/providers/Microsoft.Billing/billingAccounts/x" CM
		"/generateCostDetailsReport",
		&a);
}

static void
test_request_bodies(void **state)
{
	as_server *s = start(0, 0, 0);
	cb_test_httpd *d = NULL;
	char ep[128];
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	struct env e;
	const char *nodata = "{\"name\":\"op\",\"status\":\"NoDataFound\"}";

	(void)state;
	assert_int_equal(0, cb_test_httpd_start(&d, NULL));
	cb_test_httpd_url(d, ep, sizeof(ep), "");
	env_open(&e, s, ep, true);
	for (int i = 0; i < 4; i++)
		queue_result(d, nodata);
	cb__costreport_request req = {
		.scope = "/providers/Microsoft.Billing/billingAccounts/x",
		.metric = CB_COST_ACTUAL,
		.period = "2024-02",
	};
	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	req.period = "2025-12";
	req.metric = CB_COST_AMORTIZED;
	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	req.period = NULL;
	req.invoice_id = "G0\"12\\34";
	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	req.invoice_id = NULL;
	req.billing_period = "202405";
	req.metric = CB_COST_ACTUAL;
	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	assert_true(info.no_data);
	assert_string_equal("op", info.operation_id);

	assert_int_equal(4, cb_test_httpd_count(d));
	for (size_t i = 0; i < 4; i++) {
		const cb_test_request *r = cb_test_httpd_request(d, i);
		assert_string_equal("POST", r->method);
		assert_string_equal(
			"/providers/Microsoft.Billing/billingAccounts/x" CM
			"/generateCostDetailsReport?api-version=2025-03-01",
			r->target);
		assert_string_equal("application/json",
			cb_test_request_header(r, "Content-Type"));
	}
	assert_string_equal("{\"metric\":\"ActualCost\",\"timePeriod\":{"
			    "\"start\":\"2024-02-01\",\"end\":\"2024-02-29\"}}",
		cb_test_httpd_request(d, 0)->body);
	assert_string_equal("{\"metric\":\"AmortizedCost\",\"timePeriod\":{"
			    "\"start\":\"2025-12-01\",\"end\":\"2025-12-31\"}}",
		cb_test_httpd_request(d, 1)->body);
	assert_string_equal(
		"{\"metric\":\"AmortizedCost\",\"invoiceId\":\"G0\\\"12\\\\34\"}",
		cb_test_httpd_request(d, 2)->body);
	assert_string_equal(
		"{\"metric\":\"ActualCost\",\"billingPeriod\":\"202405\"}",
		cb_test_httpd_request(d, 3)->body);

	/* Wrong requests never leave. */
	req.period = "2025-13";
	req.billing_period = NULL;
	check_error(cb__costreport_fetch(e.s, NULL, &req, &sink, &info),
		CB_EINVAL,
		"cost details report for "
		"/providers/Microsoft.Billing/billingAccounts/x: period "
		"'2025-13' is not YYYY-MM");
	req.billing_period = "202405";
	check_error(cb__costreport_fetch(e.s, NULL, &req, &sink, &info),
		CB_EINVAL,
		"cost details report for "
		"/providers/Microsoft.Billing/billingAccounts/x: give exactly "
		"one of a period, an invoice id or a billing period");
	req.period = NULL;
	req.billing_period = "2024-5";
	check_error(cb__costreport_fetch(e.s, NULL, &req, &sink, &info),
		CB_EINVAL,
		"cost details report for "
		"/providers/Microsoft.Billing/billingAccounts/x: billing "
		"period '2024-5' is not YYYYMM");
	assert_int_equal(4, cb_test_httpd_count(d));
	assert_int_equal(0, cb_test_httpd_unexpected(d));

	sink_dispose(&k);
	env_close(&e);
	cb_test_httpd_stop(d);
	as_server_stop(s);
}

/* A Completed result with one blob at path (query appended) of bytes. */
static void
queue_completed(
	cb_test_httpd *d, const char *valid_till, const char *path, long bytes)
{
	char url[256], json[1024];

	cb_test_httpd_url(d, url, sizeof(url), path);
	snprintf(json, sizeof(json),
		"{\"name\":\"op-%s\",\"status\":\"Completed\","
		"\"validTill\":\"%s\",\"manifest\":{\"manifestVersion\":"
		"\"2025-03-01\",\"dataFormat\":\"Csv\",\"blobCount\":1,"
		"\"byteCount\":%ld,\"compressData\":false,\"blobs\":[{"
		"\"blobLink\":\"%s?sv=2023-11-03&sr=b&sp=r&sig=SECRETSIG%%3D\","
		"\"byteCount\":%ld}]}}",
		path + 1, valid_till, bytes, url, bytes);
	queue_result(d, json);
}

static void
test_valid_till_and_storage_answers(void **state)
{
	as_server *s = start(0, 0, 0);
	cb_test_httpd *d = NULL;
	char ep[128], want[1024];
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	struct env e;
	const cb_test_request *r;
	const char *scope = "/providers/Microsoft.Billing/billingAccounts/x";

	(void)state;
	assert_int_equal(0, cb_test_httpd_start(&d, NULL));
	cb_test_httpd_url(d, ep, sizeof(ep), "");
	env_open(&e, s, ep, true);
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .period = "2024-02"
	};

	/* validTill passed: a fresh report, the stale link never tried. */
	queue_completed(d, "2020-01-01T00:00:00.0000000Z", "/a", 5);
	queue_completed(d, "2099-01-01T00:00:00.1234567Z", "/b", 5);
	cb_test_httpd_reply(d, "/b", 200, NULL, "a,b\r\n");
	ASSERT_OK(cb__costreport_fetch(e.s, NULL, &req, &sink, &info));
	assert_string_equal("op-b", info.operation_id);
	assert_int_equal(3, cb_test_httpd_count(d));
	r = cb_test_httpd_request(d, 2);
	assert_string_equal("GET", r->method);
	assert_string_equal(
		"/b?sv=2023-11-03&sr=b&sp=r&sig=SECRETSIG%3D", r->target);
	/* a SAS URL: never the bearer token */
	assert_null(cb_test_request_header(r, "Authorization"));
	assert_non_null(cb_test_request_header(
		cb_test_httpd_request(d, 0), "Authorization"));
	snprintf(want, sizeof(want), "begin 0 %s/b 5\nend 0\n", ep);
	assert_string_equal(want, k.events.ptr);
	assert_string_equal("a,b\r\n", k.data.ptr);

	/* A body shorter than byteCount, ended cleanly. */
	cb_test_httpd_clear(d);
	cb__buf_clear(&k.events);
	queue_completed(d, "2099-01-01T00:00:00Z", "/c", 10);
	cb_test_httpd_reply(d, "/c", 200,
		"x-ms-request-id: 99999999-2222-3333-4444-555555555555",
		"a,b\r\n");
	check_error(cb__costreport_fetch(e.s, NULL, &req, &sink, &info), CB_EIO,
		"the download of blob 1 of the report for "
		"/providers/Microsoft.Billing/billingAccounts/x ended after 5 "
		"of 10 bytes");
	assert_string_equal("99999999-2222-3333-4444-555555555555",
		cb_error_last()->request_id);

	/* A body longer than byteCount. */
	cb_test_httpd_clear(d);
	queue_completed(d, "2099-01-01T00:00:00Z", "/d", 3);
	cb_test_httpd_reply(d, "/d", 200, NULL, "a,b\r\n");
	check_error(cb__costreport_fetch(e.s, NULL, &req, &sink, &info), CB_EIO,
		"the download of blob 1 of the report for "
		"/providers/Microsoft.Billing/billingAccounts/x went past its "
		"3 bytes");

	/* Storage's 404: the link without its signature. */
	cb_test_httpd_clear(d);
	queue_completed(d, "2099-01-01T00:00:00Z", "/e", 3);
	cb_test_httpd_reply(d, "/e", 404,
		"x-ms-error-code: BlobNotFound\n"
		"x-ms-request-id: 88888888-2222-3333-4444-555555555555",
		"<?xml version=\"1.0\"?><Error><Code>BlobNotFound</Code>"
		"</Error>");
	snprintf(want, sizeof(want),
		"the download of blob 1 of the report for "
		"/providers/Microsoft.Billing/billingAccounts/x: GET %s/e: "
		"http 404 BlobNotFound (request id "
		"88888888-2222-3333-4444-555555555555)",
		ep);
	check_error(cb__costreport_fetch(e.s, NULL, &req, &sink, &info),
		CB_EHTTP, want);
	assert_int_equal(404, cb_error_last()->http_status);

	/* A manifest that does not add up. */
	cb_test_httpd_clear(d);
	queue_result(d,
		"{\"name\":\"op\",\"status\":\"Completed\",\"manifest\":{"
		"\"byteCount\":7,\"blobs\":[{\"blobLink\":\"http://127.0.0.1:1/"
		"f?sig=x\",\"byteCount\":3}]}}");
	check_error(cb__costreport_fetch(e.s, NULL, &req, &sink, &info),
		CB_EPARSE,
		"cost details report for "
		"/providers/Microsoft.Billing/billingAccounts/x: operation "
		"op's blobs add up to 3 bytes, its byteCount says 7");
	/* Compressed blobs are not understood. */
	cb_test_httpd_clear(d);
	queue_result(d,
		"{\"name\":\"op\",\"status\":\"Completed\",\"manifest\":{"
		"\"compressData\":true,\"blobs\":[]}}");
	check_error(cb__costreport_fetch(e.s, NULL, &req, &sink, &info),
		CB_EUNSUPPORTED,
		"cost details report for "
		"/providers/Microsoft.Billing/billingAccounts/x: operation op "
		"has compressed Csv blobs; only uncompressed CSV is "
		"supported");
	assert_int_equal(0, cb_test_httpd_unexpected(d));

	sink_dispose(&k);
	env_close(&e);
	cb_test_httpd_stop(d);
	as_server_stop(s);
}

/* ------------------------------------------------------------------ */
/* The limiter in the path */

struct clock {
	int64_t now;
	long waited;
};

static int64_t
fake_now(void *payload)
{
	return ((struct clock *)payload)->now;
}

static void
fake_sleep(long ms, void *payload)
{
	((struct clock *)payload)->now += ms;
	((struct clock *)payload)->waited += ms;
}

static void
test_reports_go_through_the_limiter(void **state)
{
	as_server *s = start(0, 0, 0);
	char scope[256], period[32];
	struct sink k = { CB_BUF_INIT, CB_BUF_INIT, 0 };
	cb__costreport_sink sink = SINK_OF(k);
	cb__costreport_info info;
	struct clock c = { .now = 1000 };
	cb__costreport_limits l = { 1, 10, 3, 30, fake_now, fake_sleep, &c };
	cb__costreport_limiter *lim = NULL;
	cb_buf seen = CB_BUF_INIT;
	struct env e;
	int rc;

	(void)state;
	account_scope(s, 0, scope, sizeof(scope));
	period_of(s, period, sizeof(period));
	env_open(&e, s, NULL, true);
	ASSERT_OK(cb__costreport_limiter_new(&lim, &l));
	cb__costreport_request req = {
		.scope = scope, .metric = CB_COST_ACTUAL, .period = period
	};

	/* One a minute: the second waits the minute out; a renewal too. */
	ASSERT_OK(cb__costreport_fetch(e.s, lim, &req, &sink, &info));
	assert_int_equal(0, c.waited);
	post_faults(s, "{\"faults\":[{\"route\":\"/blobs/costdetails/\","
		       "\"calls\":[1],\"kind\":\"expired-link\"}]}");
	ASSERT_OK(cb__costreport_fetch(e.s, lim, &req, &sink, &info));
	assert_int_equal(120000, c.waited);
	/* Three a day: the fourth is refused without a request. */
	requests_seen(s, &seen);
	rc = cb__costreport_fetch(e.s, lim, &req, &sink, &info);
	{
		char want[512];
		cb_buf after = CB_BUF_INIT;

		snprintf(want, sizeof(want),
			"the Cost Details allowance for %s (3 reports a day) "
			"is spent",
			scope);
		check_error(rc, CB_ETHROTTLED, want);
		requests_seen(s, &after);
		assert_string_equal(seen.ptr, after.ptr);
		cb_buf_dispose(&after);
	}

	cb__costreport_limiter_free(lim);
	cb_buf_dispose(&seen);
	sink_dispose(&k);
	env_close(&e);
	as_server_stop(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_account_report_streams_the_generators_bytes),
		cmocka_unit_test(test_customer_report_in_several_blobs),
		cmocka_unit_test(test_polls_honour_retry_after),
		cmocka_unit_test(test_429_on_the_request_is_retried),
		cmocka_unit_test(test_invoice_report),
		cmocka_unit_test(test_no_data),
		cmocka_unit_test(test_report_failed),
		cmocka_unit_test(test_billing_period_refused_by_armsim),
		cmocka_unit_test(test_truncated_blob),
		cmocka_unit_test(test_sink_error_stops_the_fetch),
		cmocka_unit_test(
			test_expired_link_before_the_first_byte_renews),
		cmocka_unit_test(test_expired_links_three_times_give_up),
		cmocka_unit_test(test_expired_link_mid_manifest_conflicts),
		cmocka_unit_test(test_request_bodies),
		cmocka_unit_test(test_valid_till_and_storage_answers),
		cmocka_unit_test(test_reports_go_through_the_limiter),
	};
	int rc;

	cb_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cb_shutdown();
	return rc;
}
