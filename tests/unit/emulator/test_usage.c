/*
 * tests/unit/emulator/test_usage.c - armsim's Consumption usage details
 * (modern and legacy) and legacy price sheet: the generated lines come
 * back whole and exact, paged, and in the shapes of the Azure examples.
 */
#include "core/common.h"

#include "emulator/armsim.h"
#include "emulator/costgen.h"
#include "emulator/partner.h"
#include "tests/support/jsonshape.h"
#include "tests/support/webclient.h"
#include "tests/unit/emulator/fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static as_server *
start(unsigned page_size)
{
	as_options o;

	as_test_options(&o, 2);
	o.rows_per_subscription_day = 2;
	o.page_size = page_size;
	return as_test_start(&o);
}

/* Sum of every "key":number in text, read exactly from the text. */
static void
sum_field(const char *text, const char *key, cb_money *sum, size_t *count)
{
	char pat[64];
	const char *p = text;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	while ((p = strstr(p, pat)) != NULL) {
		cb_money m;
		size_t n;

		p += strlen(pat);
		n = strcspn(p, ",}");
		assert_int_equal(0, cb_money_parse(&m, p, n));
		assert_int_equal(0, cb_money_add(sum, *sum, m));
		(*count)++;
	}
}

/* The generator's own total for a filter. */
static void
generator_total(
	as_server *s, const as_cost_filter *f, cb_money *sum, size_t *count)
{
	as_costgen *g = NULL;
	const as_cost_row *row;

	*sum = CB_MONEY_ZERO;
	*count = 0;
	assert_int_equal(0, as_costgen_open(&g, s->partner, f));
	while (as_costgen_next(g, &row) == 1) {
		assert_int_equal(0, cb_money_add(sum, *sum, row->cost));
		(*count)++;
	}
	as_costgen_free(g);
}

/* A customer's usage details, query appended to the api-version. */
static void
usage_path(as_server *s, const char *customer, const char *query, char *out,
	size_t outlen)
{
	snprintf(out, outlen,
		"/providers/Microsoft.Billing/billingAccounts/%s/customers/%s/"
		"providers/Microsoft.Consumption/usageDetails?api-version="
		"2024-08-01%s",
		as_test_mpa(s), customer, query);
}

/* Tag names are each resource's own (the generator's are env and
 * costCenter, the examples' env and dev); tags is still an object. */
static const char *const own_tags[] = { "value[].tags.env", "value[].tags.dev",
	NULL };

/* Every page of a customer's usage details: the generator's lines,
 * all of them, with exact costs; the first page in the example's shape. */
static void
test_modern_usage_details_page_through_every_line(void **state)
{
	as_server *s = start(50);
	const as_customer *c = &s->partner->customers[1];
	char path[1024];
	cb_money sum = CB_MONEY_ZERO, want;
	size_t count = 0, want_count, pages = 0;
	as_cost_filter f;
	cb_test_reply r;
	char *next;

	(void)state;
	as_cost_filter_init(&f, AS_METRIC_ACTUAL, c->account);
	f.customer = 1;
	generator_total(s, &f, &want, &want_count);
	assert_true(want_count > 50);
	usage_path(s, c->id, "", path, sizeof(path));
	next = strdup(path);
	while (next != NULL) {
		json_t *v;
		const char *n;

		as_test_call(s, &r, "GET", next, NULL, NULL);
		free(next);
		assert_int_equal(200, r.status);
		if (pages++ == 0)
			as_test_assert_shape(
				"Microsoft.Consumption/2024-08-01/"
				"UsageDetailsListByMCACustomer.json",
				"200", r.body, own_tags);
		assert_non_null(strstr(r.body, "\"kind\":\"modern\""));
		sum_field(r.body, "costInBillingCurrency", &sum, &count);
		v = json_loads(r.body, 0, NULL);
		n = json_string_value(json_object_get(v, "nextLink"));
		next = n ? strdup(n) : NULL;
		json_decref(v);
		cb_test_reply_free(&r);
	}
	assert_int_equal(want_count, count);
	assert_int_equal((want_count + 49) / 50, pages);
	assert_int_equal(0, cb_money_cmp(want, sum));

	/* A day range of the month: only those days' lines. */
	usage_path(s, c->id, "&startDate=2026-10-03&endDate=2026-10-04", path,
		sizeof(path));
	f.first_day = 3;
	f.last_day = 4;
	generator_total(s, &f, &want, &want_count);
	as_test_call(s, &r, "GET", path, NULL, NULL);
	assert_int_equal(200, r.status);
	sum = CB_MONEY_ZERO;
	count = 0;
	sum_field(r.body, "costInBillingCurrency", &sum, &count);
	assert_int_equal(want_count, count);
	assert_int_equal(0, cb_money_cmp(want, sum));
	assert_non_null(
		strstr(r.body, "\"date\":\"2026-10-03T00:00:00.0000000Z\""));
	assert_null(strstr(r.body, "\"date\":\"2026-10-05T"));
	cb_test_reply_free(&r);

	/* Another month has no lines: 204, no body. */
	usage_path(s, c->id, "&startDate=2026-11-01&endDate=2026-11-30", path,
		sizeof(path));
	as_test_expect(s, "GET", path, NULL, NULL, 204, "");

	/* $filter is for legacy scopes only. */
	usage_path(s, c->id, "&$filter=tags%20eq%20'a:b'", path, sizeof(path));
	as_test_expect(s, "GET", path, NULL, NULL, 400,
		"{\"error\":{\"code\":\"BadRequest\",\"message\":\"$filter is "
		"not supported for usage details of a Microsoft Customer "
		"Agreement or Microsoft Partner Agreement scope; use "
		"startDate and endDate.\"}}");

	/* Unknown customer: 404. */
	usage_path(s, "nobody", "", path, sizeof(path));
	as_test_expect(s, "GET", path, NULL, NULL, 404, NULL);
	as_server_stop(s);
}

static void
test_legacy_usage_details_under_a_billing_period(void **state)
{
	as_server *s = start(0);
	const as_subscription *sub = &s->partner->subscriptions[0];
	char path[1024];
	cb_money sum = CB_MONEY_ZERO, want;
	size_t count = 0, want_count;
	as_cost_filter f;
	cb_test_reply r;

	(void)state;
	as_cost_filter_init(&f, AS_METRIC_ACTUAL, sub->account);
	f.subscription = 0;
	generator_total(s, &f, &want, &want_count);
	snprintf(path, sizeof(path),
		"/subscriptions/%s/providers/Microsoft.Billing/billingPeriods/"
		"202610/providers/Microsoft.Consumption/usageDetails?"
		"api-version=2024-08-01",
		sub->id);
	as_test_call(s, &r, "GET", path, NULL, NULL);
	assert_int_equal(200, r.status);
	as_test_assert_shape(
		"Microsoft.Consumption/2024-08-01/UsageDetailsList.json", "200",
		r.body, own_tags);
	assert_non_null(strstr(r.body, "\"kind\":\"legacy\""));
	assert_null(strstr(r.body, "\"kind\":\"modern\""));
	assert_null(strstr(r.body, "nextLink"));
	sum_field(r.body, "cost", &sum, &count);
	assert_int_equal(want_count, count);
	assert_int_equal(0, cb_money_cmp(want, sum));
	cb_test_reply_free(&r);

	/* The example's own period has no lines here: its 204. */
	snprintf(path, sizeof(path),
		"/subscriptions/%s/providers/Microsoft.Billing/billingPeriods/"
		"201903/providers/Microsoft.Consumption/usageDetails?"
		"api-version=2024-08-01",
		sub->id);
	as_test_expect(s, "GET", path, NULL, NULL, 204, NULL);
	as_server_stop(s);
}

static void
test_price_sheet_pages_inside_properties(void **state)
{
	as_server *s = start(1);
	const as_subscription *sub = &s->partner->subscriptions[0];
	char path[1024], id[512];
	cb_test_reply r;
	json_t *v;
	const char *next;
	/* Only the meters a savings plan covered carry savingsPlan prices;
	 * the example's first (only) meter has them. */
	static const char *const ignore[] = {
		"properties.pricesheets[].savingsPlan", NULL
	};

	(void)state;
	snprintf(path, sizeof(path),
		"/subscriptions/%s/providers/Microsoft.Consumption/pricesheets/"
		"default?api-version=2024-08-01",
		sub->id);
	as_test_call(s, &r, "GET", path, NULL, NULL);
	assert_int_equal(200, r.status);
	as_test_assert_shape("Microsoft.Consumption/2024-08-01/PriceSheet.json",
		"200", r.body, ignore);
	v = json_loads(r.body, 0, NULL);
	snprintf(id, sizeof(id),
		"/subscriptions/%s/providers/Microsoft.Billing/billingPeriods/"
		"202610/providers/Microsoft.Consumption/pricesheets/default",
		sub->id);
	assert_string_equal(id, json_string_value(json_object_get(v, "id")));
	assert_int_equal(
		1, json_array_size(json_object_get(
			   json_object_get(v, "properties"), "pricesheets")));
	next = json_string_value(
		json_object_get(json_object_get(v, "properties"), "nextLink"));
	assert_non_null(next);
	assert_non_null(strstr(next, "$skiptoken=as1"));
	cb_test_reply_free(&r);
	as_test_call(s, &r, "GET", next, NULL, NULL);
	json_decref(v);
	assert_int_equal(200, r.status);
	cb_test_reply_free(&r);
	/* Far past the end: an empty page whose nextLink is null. */
	snprintf(path, sizeof(path),
		"/subscriptions/%s/providers/Microsoft.Consumption/pricesheets/"
		"default?api-version=2024-08-01&$skiptoken=as100000",
		sub->id);
	as_test_call(s, &r, "GET", path, NULL, NULL);
	assert_int_equal(200, r.status);
	assert_non_null(strstr(r.body,
		"\"properties\":{\"nextLink\":null,\"pricesheets\":[]}"));
	cb_test_reply_free(&r);
	as_test_expect(s, "GET",
		"/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
		"Microsoft.Consumption/pricesheets/default?api-version="
		"2024-08-01",
		NULL, NULL, 404, NULL);
	as_server_stop(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_modern_usage_details_page_through_every_line),
		cmocka_unit_test(
			test_legacy_usage_details_under_a_billing_period),
		cmocka_unit_test(test_price_sheet_pages_inside_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
