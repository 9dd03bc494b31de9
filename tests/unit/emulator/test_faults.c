/*
 * tests/unit/emulator/test_faults.c - fault plans: each kind seen over
 * real HTTP (or, for the kinds a handler acts out, through
 * as_faults_flag()), call selection, plans by file and by POST, and the
 * plan errors' exact messages.
 *
 * The faulted path is one no module serves, so its normal answer is
 * armsim's fixed 404 whatever routes exist.
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define THINGS "/providers/Microsoft.Nope/things"

static const char not_found[] =
	"{\"error\":{\"code\":\"InvalidResourceType\",\"message\":\"The "
	"resource type could not be found: armsim serves no route for GET "
	"/providers/Microsoft.Nope/things.\"}}";

static as_server *
start_with(const char *plan_file, char *err, size_t errlen)
{
	as_options o;
	as_server *s = NULL;

	as_test_options(&o, 2);
	o.fault_plan = plan_file;
	if (as_server_start(&s, &o, err, errlen) != 0)
		return NULL;
	return s;
}

static as_server *
start(void)
{
	char err[512];
	as_server *s = start_with(NULL, err, sizeof(err));

	if (s == NULL)
		fail_msg("armsim: %s", err);
	return s;
}

/* One request without a token (armsim's control paths, and a path no
 * module serves, answer without one); the reply in r (free it). */
static int
fetch(as_server *s, cb_test_reply *r, const char *method, const char *target,
	const char *body)
{
	char u[1024];

	as_test_url(s, target, u, sizeof(u));
	return cb_test_fetch(r, method, u, NULL, body);
}

/* One request without a token: exactly status, and exactly the body
 * want unless it is NULL. */
static void
expect(as_server *s, const char *method, const char *target, const char *body,
	long status, const char *want)
{
	cb_test_reply r;

	assert_int_equal(0, fetch(s, &r, method, target, body));
	as_test_check(&r, method, target, status, want);
}

/* POST a plan; expect status, and body when not NULL. */
static void
post_plan(as_server *s, const char *plan, long status, const char *want)
{
	expect(s, "POST", "/_armsim/faults", plan, status, want);
}

/* The count of violations of kind so far. */
static long
violations(as_server *s, const char *kind)
{
	cb_test_reply r;
	json_t *v;
	long n;

	assert_int_equal(0, fetch(s, &r, "GET", "/_armsim/violations", NULL));
	v = json_loads(r.body, 0, NULL);
	assert_non_null(v);
	n = (long)json_integer_value(
		json_object_get(json_object_get(v, "byKind"), kind));
	json_decref(v);
	cb_test_reply_free(&r);
	return n;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_status_storm_on_calls_1_to_3_then_the_normal_answer(void **state)
{
	as_server *s = start();
	cb_test_reply r;
	const char plan[] =
		"{\"faults\":[{\"route\":\"/microsoft.nope/things\","
		"\"method\":\"GET\",\"calls\":[1,2,3],\"kind\":\"status\","
		"\"status\":429,\"retryAfter\":1}]}";

	(void)state;
	post_plan(s, plan, 200,
		"{\"faults\":[{\"route\":\"/microsoft.nope/things\","
		"\"method\":\"GET\",\"calls\":[1,2,3],\"kind\":\"status\","
		"\"status\":429,\"retryAfter\":1}],\"matched\":[0]}");
	for (int call = 1; call <= 4; call++) {
		assert_int_equal(0, fetch(s, &r, "GET", THINGS, NULL));
		if (call < 4) {
			assert_int_equal(429, r.status);
			assert_string_equal(
				"1", cb_test_reply_header(&r, "Retry-After"));
			assert_string_equal(
				"{\"error\":{\"code\":\"TooManyRequests\","
				"\"message\":\"armsim: a fault planned for "
				"this call.\"}}",
				r.body);
		} else {
			assert_int_equal(404, r.status);
			assert_null(cb_test_reply_header(&r, "Retry-After"));
			assert_string_equal(not_found, r.body);
		}
		cb_test_reply_free(&r);
		/* Another method is not watched and not counted. */
		if (call == 1) {
			expect(s, "POST", THINGS, "{}", 404, NULL);
		}
	}
	/* Calls 2, 3 and 4 came at once, inside the Retry-After. */
	assert_int_equal(3, violations(s, "retry-before-retry-after"));
	assert_int_equal(0, fetch(s, &r, "GET", "/_armsim/faults", NULL));
	assert_non_null(strstr(r.body, "\"matched\":[4]"));
	cb_test_reply_free(&r);
	as_server_stop(s);
}

static void
test_5xx_burst_by_range_and_pattern(void **state)
{
	as_server *s = start();
	cb_test_reply r;
	static const long want[] = { 404, 503, 503, 404 };

	(void)state;
	post_plan(s,
		"{\"faults\":[{\"route\":\"" THINGS "\",\"calls\":{\"from\":2,"
		"\"to\":3},\"kind\":\"status\",\"status\":503,\"code\":"
		"\"ServerBusy\",\"message\":\"Try later.\"},{\"route\":"
		"\"/providers/{ns}/widgets\",\"kind\":\"status\",\"status\":"
		"500,\"errorBody\":false}]}",
		200, NULL);
	for (int call = 0; call < 4; call++) {
		assert_int_equal(0, fetch(s, &r, "GET", THINGS, NULL));
		assert_int_equal(want[call], r.status);
		if (want[call] == 503)
			assert_string_equal(
				"{\"error\":{\"code\":\"ServerBusy\","
				"\"message\":\"Try later.\"}}",
				r.body);
		cb_test_reply_free(&r);
	}
	/* No Retry-After, so no early-retry rule. */
	assert_int_equal(0, violations(s, "retry-before-retry-after"));
	/* The pattern: one segment for {ns}, literals ignoring case. */
	expect(s, "GET", "/Providers/X/WIDGETS", NULL, 500, "");
	expect(s, "GET", "/providers/X/Y/widgets", NULL, 404, NULL);
	as_server_stop(s);
}

static void
test_latency_delays_the_answer(void **state)
{
	as_server *s = start();
	int64_t t0;

	(void)state;
	post_plan(s,
		"{\"faults\":[{\"route\":\"" THINGS "\",\"calls\":[1],"
		"\"kind\":\"latency\",\"delayMs\":300}]}",
		200, NULL);
	t0 = mono_ms();
	expect(s, "GET", THINGS, NULL, 404, not_found);
	assert_true(mono_ms() - t0 >= 300);
	as_server_stop(s);
}

static void
test_truncate_announces_the_full_length(void **state)
{
	as_server *s = start();
	cb_test_reply r;
	char len[32];

	(void)state;
	post_plan(s,
		"{\"faults\":[{\"route\":\"" THINGS "\",\"calls\":[2],"
		"\"kind\":\"truncate\",\"bytes\":10}]}",
		200, NULL);
	assert_int_equal(0, fetch(s, &r, "GET", THINGS, NULL));
	assert_int_equal(0, r.curl_code);
	assert_string_equal(not_found, r.body);
	cb_test_reply_free(&r);
	fetch(s, &r, "GET", THINGS, NULL);
	assert_int_equal(18, r.curl_code); /* CURLE_PARTIAL_FILE */
	snprintf(len, sizeof(len), "%zu", strlen(not_found));
	assert_string_equal(len, cb_test_reply_header(&r, "Content-Length"));
	assert_int_equal(10, r.body_len);
	assert_memory_equal(not_found, r.body, 10);
	cb_test_reply_free(&r);
	/* More bytes than the body: one byte short all the same. */
	post_plan(s,
		"{\"faults\":[{\"route\":\"" THINGS "\",\"kind\":\"truncate\","
		"\"bytes\":100000}]}",
		200, NULL);
	fetch(s, &r, "GET", THINGS, NULL);
	assert_int_equal(18, r.curl_code);
	assert_int_equal(strlen(not_found) - 1, r.body_len);
	cb_test_reply_free(&r);
	as_server_stop(s);
}

static void
test_reset_answers_nothing(void **state)
{
	as_server *s = start();
	cb_test_reply r;

	(void)state;
	post_plan(s,
		"{\"faults\":[{\"route\":\"" THINGS "\",\"calls\":[1],"
		"\"kind\":\"reset\"}]}",
		200, NULL);
	assert_int_equal(-1, fetch(s, &r, "GET", THINGS, NULL));
	assert_int_equal(0, r.status);
	assert_int_equal(52, r.curl_code); /* CURLE_GOT_NOTHING */
	cb_test_reply_free(&r);
	expect(s, "GET", THINGS, NULL, 404, NULL);
	as_server_stop(s);
}

static void
test_malformed_json_is_not_parseable(void **state)
{
	as_server *s = start();
	cb_test_reply r;
	char want[512];
	json_t *v;

	(void)state;
	post_plan(s,
		"{\"faults\":[{\"route\":\"" THINGS "\",\"calls\":[1],"
		"\"kind\":\"malformed-json\"}]}",
		200, NULL);
	assert_int_equal(0, fetch(s, &r, "GET", THINGS, NULL));
	assert_int_equal(404, r.status);
	/* The closing "}}" off, a stray ,\" on: the same every time. */
	snprintf(want, sizeof(want), "%.*s,\"", (int)strlen(not_found) - 2,
		not_found);
	assert_string_equal(want, r.body);
	v = json_loads(r.body, 0, NULL);
	assert_null(v);
	cb_test_reply_free(&r);
	as_server_stop(s);
}

/* A request built by hand, for the hooks a handler sees. */
struct treq {
	as_req req;
	char path[256], split[256];
};

static as_req *
mkreq(struct treq *t, const char *method, const char *path, unsigned long seq)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	snprintf(t->split, sizeof(t->split), "%s", path);
	for (char *p = strtok(t->split, "/"); p != NULL; p = strtok(NULL, "/"))
		t->req.seg[t->req.nseg++] = p;
	t->req.method = method;
	t->req.path = t->path;
	t->req.query = "";
	t->req.body = "";
	t->req.principal = "tn/app";
	t->req.seq = seq;
	return &t->req;
}

static void
resp_done(as_resp *r)
{
	for (size_t i = 0; i < r->nheader; i++) {
		free(r->hname[i]);
		free(r->hvalue[i]);
	}
	cb_buf_dispose(&r->body);
}

static const char report[] = "/providers/Microsoft.Billing/billingAccounts/A/"
			     "providers/Microsoft.CostManagement/"
			     "generateCostDetailsReport";

static void
test_flags_from_a_plan_file_for_the_right_call_only(void **state)
{
	char path[] = "/tmp/armsim-faults-XXXXXX";
	int fd = mkstemp(path);
	const char plan[] =
		"{\"faults\":[{\"route\":\"generateCostDetailsReport\","
		"\"method\":\"POST\",\"calls\":[2],\"kind\":\"report-failed\"},"
		"{\"route\":\"/blobs/{name}\",\"kind\":\"expired-link\"},"
		"{\"route\":\"/blobs/{name}\",\"kind\":\"slow-body\","
		"\"slowMs\":25},{\"route\":\"/blobs/{name}\",\"kind\":"
		"\"latency\",\"delayMs\":5}]}";
	char err[512];
	as_server *s;
	struct treq t;
	as_req *q;
	as_resp r;
	cb_test_reply cr;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal((ssize_t)strlen(plan), write(fd, plan, strlen(plan)));
	close(fd);
	s = start_with(path, err, sizeof(err));
	unlink(path);
	if (s == NULL)
		fail_msg("armsim: %s", err);
	for (unsigned long call = 1; call <= 3; call++) {
		memset(&r, 0, sizeof(r));
		q = mkreq(&t, "POST", report, 1000 + call);
		assert_int_equal(0, as_faults_before(s, q, &r));
		assert_int_equal(
			call == 2, as_faults_flag(s, q, "report-failed"));
		assert_false(as_faults_flag(s, q, "report-nodata"));
		assert_false(as_faults_flag(s, q, "expired-link"));
		as_faults_after(s, q, &r);
		resp_done(&r);
	}
	/* A GET of the same path is not the POST the fault watches. */
	memset(&r, 0, sizeof(r));
	q = mkreq(&t, "GET", report, 2000);
	as_faults_before(s, q, &r);
	assert_false(as_faults_flag(s, q, "report-failed"));
	/* A blob: its flag, a slow body and a delay. */
	memset(&r, 0, sizeof(r));
	q = mkreq(&t, "GET", "/blobs/b1.csv", 2001);
	assert_int_equal(0, as_faults_before(s, q, &r));
	assert_true(as_faults_flag(s, q, "expired-link"));
	assert_int_equal(25, r.slow_ms);
	assert_int_equal(5, r.delay_ms);
	/* Asked about an earlier request, the answer is no. */
	q->seq = 1002;
	assert_false(as_faults_flag(s, q, "report-failed"));
	assert_int_equal(0, fetch(s, &cr, "GET", "/_armsim/faults", NULL));
	assert_non_null(strstr(cr.body, "\"matched\":[3,1,1,1]}"));
	assert_non_null(strstr(cr.body, "\"kind\":\"report-failed\""));
	cb_test_reply_free(&cr);
	/* DELETE clears the plan. */
	expect(s, "DELETE", "/_armsim/faults", NULL, 204, NULL);
	expect(s, "GET", "/_armsim/faults", NULL, 200,
		"{\"faults\":[],\"matched\":[]}");
	as_server_stop(s);
}

static void
test_plan_errors_name_the_json_path(void **state)
{
	static const struct {
		const char *plan, *msg;
	} cases[] = {
		{ "[]", "expected a JSON object {\\\"faults\\\": [...]}" },
		{ "{}", "faults: required" },
		{ "{\"faults\":[],\"x\":1}", "x: unknown field" },
		{ "{\"faults\":{}}",
			"faults: expected an array of at most 64 faults" },
		{ "{\"faults\":[1]}", "faults[0]: expected an object" },
		{ "{\"faults\":[{\"kind\":\"reset\"}]}",
			"faults[0].route: required" },
		{ "{\"faults\":[{\"route\":\"a\",\"kind\":\"reset\"},"
		  "{\"route\":\"b\",\"kind\":\"reset\"},{\"route\":\"c\","
		  "\"kind\":\"x\"}]}",
			"faults[2].kind: unknown kind \\\"x\\\"" },
		{ "{\"faults\":[{\"route\":\"a\"}]}",
			"faults[0].kind: required" },
		{ "{\"faults\":[{\"route\":\"a\",\"kind\":\"status\"}]}",
			"faults[0].status: required for kind \\\"status\\\"" },
		{ "{\"faults\":[{\"route\":\"a\",\"kind\":\"status\","
		  "\"status\":600}]}",
			"faults[0].status: expected a whole number from 100 "
			"to 599" },
		{ "{\"faults\":[{\"route\":\"a\",\"kind\":\"latency\","
		  "\"delay\":5}]}",
			"faults[0].delay: not a field of kind \\\"latency\\\"" },
		{ "{\"faults\":[{\"route\":\"a\",\"kind\":\"reset\","
		  "\"calls\":[1,0]}]}",
			"faults[0].calls[1]: expected a call number from 1" },
		{ "{\"faults\":[{\"route\":\"a\",\"kind\":\"reset\","
		  "\"calls\":{\"from\":5,\"to\":2}}]}",
			"faults[0].calls: expected \\\"from\\\" a call number "
			"from 1 and \\\"to\\\" (optional) one not before it" },
		{ "{\"faults\":[{\"route\":\"a\",\"kind\":\"reset\","
		  "\"calls\":\"some\"}]}",
			"faults[0].calls: expected \\\"all\\\", an array of 1 "
			"to 1000 call numbers or {\\\"from\\\": N, \\\"to\\\": "
			"M}" },
		{ "{\"faults\":[{\"route\":\"a\",\"kind\":\"reset\","
		  "\"method\":\"get\"}]}",
			"faults[0].method: expected one of GET, PUT, POST, "
			"PATCH, DELETE, HEAD" },
		{ "{\"faults\":[{\"route\":\"a\",\"kind\":\"status\","
		  "\"status\":500,\"errorBody\":1}]}",
			"faults[0].errorBody: expected true or false" },
		{ "{\"faults\":", "line 1, column 10: unexpected token "
				  "near end of file" },
	};
	as_server *s = start();
	char want[1024];

	(void)state;
	post_plan(s, "{\"faults\":[{\"route\":\"keep\",\"kind\":\"reset\"}]}",
		200, NULL);
	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		snprintf(want, sizeof(want),
			"{\"error\":{\"code\":\"InvalidFaultPlan\","
			"\"message\":\"%s\"}}",
			cases[i].msg);
		post_plan(s, cases[i].plan, 400, want);
	}
	/* The plan in force stayed. */
	expect(s, "GET", "/_armsim/faults", NULL, 200,
		"{\"faults\":[{\"route\":\"keep\",\"kind\":\"reset\"}],"
		"\"matched\":[0]}");
	as_server_stop(s);
}

static void
test_plan_file_errors(void **state)
{
	char path[] = "/tmp/armsim-faults-XXXXXX";
	int fd = mkstemp(path);
	const char plan[] = "{\"faults\":[{\"route\":\"a\",\"kind\":\"reset\"},"
			    "{\"route\":\"b\",\"kind\":\"reset\"},{\"route\":"
			    "\"c\",\"kind\":\"x\"}]}";
	char err[512], want[600];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal((ssize_t)strlen(plan), write(fd, plan, strlen(plan)));
	close(fd);
	assert_null(start_with(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: faults[2].kind: unknown kind \"x\"",
		path);
	assert_string_equal(want, err);
	unlink(path);
	assert_null(start_with(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: unable to open %s: ", path, path);
	assert_memory_equal(want, err, strlen(want));
}

/* On a real ARM route with a token: a 503 burst, then the real answer;
 * and a slow body, over several 4 KiB chunks. */
static void
test_burst_then_success_and_slow_body_on_billing(void **state)
{
	as_options o;
	as_server *s;
	char u[1024], name[256];
	cb_test_reply r;
	json_t *v;
	int64_t t0, chunks;

	(void)state;
	as_test_options(&o, 60);
	o.page_size = 1000;
	s = as_test_start(&o);
	post_plan(s,
		"{\"faults\":[{\"route\":\"/providers/Microsoft.Billing/"
		"billingAccounts\",\"method\":\"GET\",\"calls\":[1,2],"
		"\"kind\":\"status\",\"status\":503,\"retryAfter\":1},"
		"{\"route\":\"/providers/Microsoft.Billing/billingAccounts/"
		"{name}/customers\",\"kind\":\"slow-body\",\"slowMs\":"
		"50}]}",
		200, NULL);
	for (int call = 1; call <= 3; call++) {
		as_test_call(s, &r, "GET",
			"/providers/Microsoft.Billing/billingAccounts"
			"?api-version=2024-04-01",
			NULL, NULL);
		assert_int_equal(call < 3 ? 503 : 200, r.status);
		if (call < 3) {
			assert_string_equal(
				"{\"error\":{\"code\":\"ServiceUnavailable\","
				"\"message\":\"armsim: a fault planned for "
				"this call.\"}}",
				r.body);
			assert_string_equal(
				"1", cb_test_reply_header(&r, "Retry-After"));
			cb_test_reply_free(&r);
			usleep(1050 * 1000); /* a client that waits */
		}
	}
	v = json_loads(r.body, 0, NULL);
	snprintf(name, sizeof(name), "%s",
		json_string_value(json_object_get(
			json_array_get(json_object_get(v, "value"), 0),
			"name")));
	json_decref(v);
	cb_test_reply_free(&r);
	/* The client waited each time: no violation. */
	assert_int_equal(0, violations(s, "retry-before-retry-after"));
	snprintf(u, sizeof(u),
		"/providers/Microsoft.Billing/billingAccounts/%s/customers"
		"?api-version=2024-04-01",
		name);
	t0 = mono_ms();
	as_test_call(s, &r, "GET", u, NULL, NULL);
	assert_int_equal(200, r.status);
	assert_int_equal(0, r.curl_code);
	chunks = (int64_t)(r.body_len + 4095) / 4096;
	assert_true(chunks >= 3);
	assert_true(mono_ms() - t0 >= 50 * (chunks - 1));
	v = json_loads(r.body, 0, NULL);
	assert_non_null(v); /* slow, but whole */
	json_decref(v);
	cb_test_reply_free(&r);
	as_server_stop(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_status_storm_on_calls_1_to_3_then_the_normal_answer),
		cmocka_unit_test(test_5xx_burst_by_range_and_pattern),
		cmocka_unit_test(test_latency_delays_the_answer),
		cmocka_unit_test(test_truncate_announces_the_full_length),
		cmocka_unit_test(test_reset_answers_nothing),
		cmocka_unit_test(test_malformed_json_is_not_parseable),
		cmocka_unit_test(
			test_flags_from_a_plan_file_for_the_right_call_only),
		cmocka_unit_test(test_plan_errors_name_the_json_path),
		cmocka_unit_test(test_plan_file_errors),
		cmocka_unit_test(
			test_burst_then_success_and_slow_body_on_billing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
