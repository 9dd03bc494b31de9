/*
 * tests/unit/emulator/test_determinism.c - same seed and options, same
 * answers: two armsim servers started alike answer a broad set of
 * requests byte for byte alike once each one's own base URL is replaced
 * by a placeholder (billing lists followed through nextLink, a policy,
 * Query, Forecast, usage details, a cost details report's CSV blobs and a
 * budget's eTag); a different seed answers differently.
 */
#include "core/common.h"

#include "tests/unit/emulator/fixture.h"

#include <stdlib.h>

#define BASE "{base}"
#define BA   "/providers/Microsoft.Billing/billingAccounts/"
#define CM   "/providers/Microsoft.CostManagement/"

/* Small pages, so that every list has a nextLink to follow; reports in
 * parts of 40 rows, ready at the first poll. */
static as_server *
start(uint64_t seed)
{
	as_options o;

	as_test_options(&o, 3);
	o.seed = seed;
	o.page_size = 2;
	o.lro_polls = 0;
	o.retry_after_s = 0;
	o.blob_rows = 40;
	o.throttle = AS_TEST_CM_THROTTLE;
	return as_test_start(&o);
}

/* text with every occurrence of s's base URL replaced by BASE
 * (malloc'd). */
static char *
unbased(as_server *s, const char *text)
{
	char base[128];
	size_t blen, n = 0;
	const char *p, *hit;
	char *out, *o;

	as_server_base(s, base, sizeof(base));
	blen = strlen(base);
	for (p = strstr(text, base); p != NULL; p = strstr(p + blen, base))
		n++;
	out = malloc(strlen(text) + n * strlen(BASE) + 1);
	assert_non_null(out);
	o = out;
	for (p = text; (hit = strstr(p, base)) != NULL; p = hit + blen) {
		memcpy(o, p, (size_t)(hit - p));
		o += hit - p;
		memcpy(o, BASE, strlen(BASE));
		o += strlen(BASE);
	}
	memcpy(o, p, strlen(p) + 1);
	return out;
}

/* Replace the value of every "key" query parameter or JSON member
 * ('=' or '":"' before it) in t by '*'s, in place. */
static void
mask(char *t, const char *key)
{
	for (char *p = strstr(t, key); p != NULL; p = strstr(p + 1, key)) {
		char *v = p + strlen(key);

		while (*v != '\0' && *v != '&' && *v != '"' && *v != '\\')
			*v++ = '*';
	}
}

/* The same request to both servers: the same status and the same body
 * but for the base URL.  Returns that body (malloc'd). */
static char *
same(as_server *s[2], const char *method, const char *target,
	const char *extra_header, const char *body, long status)
{
	char *got[2];

	for (int i = 0; i < 2; i++) {
		cb_test_reply r;

		as_test_call(s[i], &r, method, target, extra_header, body);
		if (r.status != status)
			fail_msg("%s %s: %ld %s", method, target, r.status,
				r.body);
		got[i] = unbased(s[i], r.body);
		cb_test_reply_free(&r);
	}
	assert_string_equal(got[0], got[1]);
	free(got[1]);
	return got[0];
}

/* A list, page by page through nextLink (the top-level one, or
 * properties.nextLink for a Query); returns the number of pages. */
static size_t
same_pages(as_server *s[2], const char *method, const char *first,
	const char *body)
{
	char target[4096];
	size_t pages = 0;

	snprintf(target, sizeof(target), "%s", first);
	for (;;) {
		char *text = same(s, method, target,
			body ? "Content-Type: application/json" : NULL, body,
			200);
		json_t *v = json_loads(text, 0, NULL);
		json_t *next;

		assert_non_null(v);
		next = json_object_get(v, "nextLink");
		if (next == NULL)
			next = json_object_get(
				json_object_get(v, "properties"), "nextLink");
		pages++;
		if (!json_is_string(next)) {
			json_decref(v);
			free(text);
			return pages;
		}
		/* "{base}/providers/...": back to a target on each server. */
		assert_memory_equal(
			BASE, json_string_value(next), strlen(BASE));
		snprintf(target, sizeof(target), "%s",
			json_string_value(next) + strlen(BASE));
		json_decref(v);
		free(text);
	}
}

static void
start_pair(as_server *s[2])
{
	s[0] = start(20261001);
	s[1] = start(20261001);
}

static void
stop_pair(as_server *s[2])
{
	as_server_stop(s[0]);
	as_server_stop(s[1]);
}

/* ------------------------------------------------------------------ */

/* The lists under the MPA account, and their pages of two. */
static const struct {
	const char *suffix;
	size_t pages;
} mpa_lists[] = {
	{ "/billingProfiles?api-version=2024-04-01", 2 },
	{ "/customers?api-version=2024-04-01", 2 },
	{ "/billingSubscriptions?api-version=2024-04-01", 3 },
	{ "/invoices?api-version=2024-04-01&periodStartDate=2026-11-05&"
	  "periodEndDate=2026-11-05",
		2 },
};

static void
test_billing_lists_and_policy(void **state)
{
	as_server *s[2];
	const as_partner *p;
	char t[1024];
	size_t n;

	(void)state;
	start_pair(s);
	p = s[0]->partner;
	n = same_pages(s, "GET",
		"/providers/Microsoft.Billing/billingAccounts?"
		"api-version=2024-04-01",
		NULL);
	assert_int_equal(1, n);
	for (size_t i = 0; i < CB_ARRAY_SIZE(mpa_lists); i++) {
		snprintf(t, sizeof(t), BA "%s%s", as_test_mpa(s[0]),
			mpa_lists[i].suffix);
		n = same_pages(s, "GET", t, NULL);
		if (n != mpa_lists[i].pages)
			fail_msg("%s: %zu pages", mpa_lists[i].suffix, n);
	}
	snprintf(t, sizeof(t),
		BA "%s/customers/%s/policies/default?api-version=2020-05-01",
		p->accounts[p->customers[1].account].name, p->customers[1].id);
	free(same(s, "GET", t, NULL, NULL, 200));
	stop_pair(s);
}

static void
test_query_forecast_and_usage(void **state)
{
	as_server *s[2];
	const as_partner *p;
	char t[1024];

	(void)state;
	start_pair(s);
	p = s[0]->partner;
	/* Grouped and daily: many rows, paged through properties.nextLink
	 * (the body POSTed again). */
	snprintf(t, sizeof(t), BA "%s" CM "query?api-version=2025-03-01",
		p->accounts[0].name);
	assert_true(same_pages(s, "POST", t,
			    "{\"type\":\"Usage\",\"timeframe\":"
			    "\"MonthToDate\",\"dataset\":{\"granularity\":"
			    "\"Daily\",\"grouping\":[{\"type\":\"Dimension\","
			    "\"name\":\"CustomerName\"}]}}") > 1);
	snprintf(t, sizeof(t),
		BA "%s/billingProfiles/%s" CM "forecast?api-version=2025-03-01",
		p->accounts[0].name, p->profiles[0].name);
	assert_true(same_pages(s, "POST", t,
			    "{\"type\":\"Usage\",\"timeframe\":\"Custom\","
			    "\"timePeriod\":{\"from\":\"2026-10-20T00:00:00+"
			    "00:00\",\"to\":\"2026-11-10T23:59:59+00:00\"},"
			    "\"includeActualCost\":true,\"dataset\":{"
			    "\"granularity\":\"Daily\"}}") > 1);
	snprintf(t, sizeof(t),
		BA "%s/customers/%s/providers/Microsoft.Consumption/"
		   "usageDetails?api-version=2024-08-01",
		as_test_mpa(s[0]), p->customers[0].id);
	assert_true(same_pages(s, "GET", t, NULL) > 1);
	stop_pair(s);
}

/* The manifest's links are signed with each server's random key and
 * expire by the wall clock (as does validTill): those values masked,
 * the rest is compared; the blobs' bytes are compared exactly. */
static void
test_cost_details_report_blobs(void **state)
{
	as_server *s[2];
	const as_partner *p;
	char t[1024], *res[2];
	json_t *v[2];
	size_t nblobs;

	(void)state;
	start_pair(s);
	p = s[0]->partner;
	snprintf(t, sizeof(t),
		BA "%s/customers/%s" CM
		   "generateCostDetailsReport?api-version=2025-03-01",
		p->accounts[p->customers[2].account].name, p->customers[2].id);
	for (int i = 0; i < 2; i++) {
		cb_test_reply r;

		as_test_call(s[i], &r, "POST", t, NULL,
			"{\"metric\":\"ActualCost\",\"timePeriod\":{\"start\":"
			"\"2026-10-01\",\"end\":\"2026-10-20\"}}");
		assert_int_equal(202, r.status);
		assert_int_equal(0, r.body_len);
		/* Location is the same but for the base. */
		res[i] = unbased(s[i], cb_test_reply_header(&r, "Location"));
		cb_test_reply_free(&r);
	}
	assert_string_equal(res[0], res[1]);
	snprintf(t, sizeof(t), "%s", res[0] + strlen(BASE));
	free(res[0]);
	free(res[1]);
	for (int i = 0; i < 2; i++) {
		cb_test_reply r;

		as_test_call(s[i], &r, "GET", t, NULL, NULL);
		assert_int_equal(200, r.status);
		v[i] = json_loads(r.body, 0, NULL);
		assert_non_null(v[i]);
		res[i] = unbased(s[i], r.body);
		mask(res[i], "&se=");
		mask(res[i], "&sig=");
		mask(res[i], "\"validTill\":\"");
		cb_test_reply_free(&r);
	}
	assert_non_null(strstr(res[0], "\"status\":\"Completed\""));
	assert_non_null(strstr(res[0], "&sig=***"));
	assert_string_equal(res[0], res[1]);
	free(res[0]);
	free(res[1]);

	/* Each server's own signed links: the same CSV bytes. */
	nblobs = json_array_size(
		json_object_get(json_object_get(v[0], "manifest"), "blobs"));
	assert_true(nblobs >= 2);
	for (size_t b = 0; b < nblobs; b++) {
		cb_test_reply r[2];

		for (int i = 0; i < 2; i++) {
			json_t *blob = json_array_get(
				json_object_get(
					json_object_get(v[i], "manifest"),
					"blobs"),
				b);
			const char *link = json_string_value(
				json_object_get(blob, "blobLink"));

			assert_non_null(link);
			assert_int_equal(0,
				cb_test_fetch(&r[i], "GET", link, NULL, NULL));
			assert_int_equal(200, r[i].status);
		}
		assert_true(r[0].body_len > 100);
		assert_int_equal(r[0].body_len, r[1].body_len);
		assert_memory_equal(r[0].body, r[1].body, r[0].body_len);
		cb_test_reply_free(&r[0]);
		cb_test_reply_free(&r[1]);
	}
	json_decref(v[0]);
	json_decref(v[1]);
	stop_pair(s);
}

static void
test_budget_same_etag(void **state)
{
	as_server *s[2];
	const as_partner *p;
	char t[1024], *got;

	(void)state;
	start_pair(s);
	p = s[0]->partner;
	snprintf(t, sizeof(t),
		BA "%s/customers/%s/providers/Microsoft.Consumption/budgets/"
		   "team-a?api-version=2021-10-01",
		p->accounts[p->customers[0].account].name, p->customers[0].id);
	got = same(s, "PUT", t, NULL,
		"{\"properties\":{\"category\":\"Cost\",\"amount\":100.65,"
		"\"timeGrain\":\"Monthly\",\"timePeriod\":{\"startDate\":"
		"\"2026-10-01T00:00:00.000Z\",\"endDate\":"
		"\"2027-09-30T00:00:00Z\"}}}",
		201);
	assert_non_null(strstr(got, "\"eTag\":\"\\\""));
	free(got);
	free(same(s, "GET", t, NULL, NULL, 200));
	stop_pair(s);
}

/* Another seed, another partner: the customers list differs. */
static void
test_other_seed_differs(void **state)
{
	as_server *s[2];
	char t[1024], *got[2];

	(void)state;
	s[0] = start(20261001);
	s[1] = start(20261002);
	for (int i = 0; i < 2; i++) {
		cb_test_reply r;

		snprintf(t, sizeof(t), BA "%s/customers?api-version=2024-04-01",
			as_test_mpa(s[i]));
		as_test_call(s[i], &r, "GET", t, NULL, NULL);
		assert_int_equal(200, r.status);
		got[i] = unbased(s[i], r.body);
		cb_test_reply_free(&r);
	}
	assert_true(strcmp(got[0], got[1]) != 0);
	free(got[0]);
	free(got[1]);
	stop_pair(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_billing_lists_and_policy),
		cmocka_unit_test(test_query_forecast_and_usage),
		cmocka_unit_test(test_cost_details_report_blobs),
		cmocka_unit_test(test_budget_same_etag),
		cmocka_unit_test(test_other_seed_differs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
