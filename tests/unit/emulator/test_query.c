/*
 * tests/unit/emulator/test_query.c - armsim's Query and Forecast: totals,
 * daily rows and groupings equal to sums computed here independently from
 * the generator's lines, exact money, paging through properties.nextLink
 * (re-POSTing the body), filters, the validation errors, and the shapes
 * of the Azure examples.
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/costgen.h"
#include "tests/support/jsonshape.h"
#include "tests/unit/emulator/fixture.h"

#include <stdlib.h>

#define API  "2025-03-01"
#define CM   "/providers/Microsoft.CostManagement"
#define JSON "Content-Type: application/json"

static as_server *
start(unsigned page_size)
{
	as_options o;

	as_test_options(&o, 3);
	o.page_size = page_size;
	o.throttle = AS_TEST_CM_THROTTLE;
	return as_test_start(&o);
}

/* POST body to {scope}/providers/Microsoft.CostManagement/{what}. */
static void
post(as_server *s, cb_test_reply *r, const char *scope, const char *what,
	const char *body)
{
	char target[2048];

	snprintf(target, sizeof(target), "/%s" CM "/%s?api-version=" API, scope,
		what);
	as_test_call(s, r, "POST", target, JSON, body);
}

static void
account_scope(as_server *s, char *out, size_t outlen)
{
	snprintf(out, outlen, "providers/Microsoft.Billing/billingAccounts/%s",
		s->partner->accounts[0].name);
}

static void
customer_scope(as_server *s, size_t c, char *out, size_t outlen)
{
	snprintf(out, outlen,
		"providers/Microsoft.Billing/billingAccounts/%s/customers/%s",
		s->partner->accounts[0].name, s->partner->customers[c].id);
}

/* The text of properties.rows: it is the last member of the answer. */
static char *
rows_text(const cb_test_reply *r)
{
	const char *p = strstr(r->body, "\"rows\":");

	if (p == NULL || r->body_len < 2)
		fail_msg("no rows in %s", r->body);
	p += 7;
	return strndup(p, (size_t)(r->body + r->body_len - 2 - p));
}

/* ------------------------------------------------------------------ */
/* Sums computed here, independently of query.c */

struct exp_cell {
	char group[128];
	long date;
	char currency[4];
	cb_money sum;
};

struct expect {
	struct exp_cell cell[2048];
	size_t n;
};

typedef const char *(*group_fn)(const as_partner *p, const as_cost_row *r);

static void
expect_add(struct expect *e, const char *group, long date, const char *cur,
	cb_money v)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (strcmp(e->cell[i].group, group) == 0 &&
			e->cell[i].date == date &&
			strcmp(e->cell[i].currency, cur) == 0)
			break;
	if (i == e->n) {
		assert_true(e->n < 2048);
		memset(&e->cell[i], 0, sizeof(e->cell[i]));
		snprintf(e->cell[i].group, sizeof(e->cell[i].group), "%s",
			group);
		e->cell[i].date = date;
		snprintf(e->cell[i].currency, 4, "%s", cur);
		e->n++;
	}
	assert_int_equal(0, cb_money_add(&e->cell[i].sum, e->cell[i].sum, v));
}

static int
exp_cmp(const void *a, const void *b)
{
	const struct exp_cell *x = a, *y = b;
	int c;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	if ((c = strcmp(x->group, y->group)) != 0)
		return c;
	return strcmp(x->currency, y->currency);
}

/* The rows armsim must answer: [sum, group?, date?, currency], sorted
 * by date, group, currency.  keep (or NULL) selects lines. */
static char *
expected_rows(as_server *s, const as_cost_filter *f, group_fn group, bool daily,
	const char *keep_family)
{
	const as_partner *p = s->partner;
	struct expect *e = calloc(1, sizeof(*e));
	as_costgen *g = NULL;
	const as_cost_row *r;
	json_t *rows = json_array();
	char *text, money[64];

	assert_int_equal(0, as_costgen_open(&g, p, f));
	while (as_costgen_next(g, &r) == 1) {
		if (keep_family &&
			strcasecmp(r->service_family, keep_family) != 0)
			continue;
		expect_add(e, group ? group(p, r) : "",
			daily ? (long)p->year * 10000 + p->month * 100 + r->day
			      : 0,
			r->currency, r->cost);
	}
	as_costgen_free(g);
	qsort(e->cell, e->n, sizeof(e->cell[0]), exp_cmp);
	for (size_t i = 0; i < e->n; i++) {
		json_t *row = json_array();
		char date[16];
		assert_int_equal(0,
			cb_money_format(money, sizeof(money), e->cell[i].sum));
		json_array_append_new(row, json_string(money));
		if (group)
			json_array_append_new(
				row, json_string(e->cell[i].group));
		if (daily) {
			snprintf(date, sizeof(date), "%ld", e->cell[i].date);
			json_array_append_new(row, json_string(date));
		}
		json_array_append_new(row, json_string(e->cell[i].currency));
		json_array_append_new(rows, row);
	}
	free(e);
	text = json_dumps(rows, JSON_COMPACT);
	json_decref(rows);
	return text;
}

/* Our expected text quotes numbers; armsim's does not: unquote the
 * money (first element) and date the way the answer writes them. */
static void
unquote_numbers(char *t)
{
	char *w = t;
	bool in_str = false;
	char prev = 0;

	/* A string whose text is all digits, '.' or '-' is a number here:
	 * group values in these tests are never numeric. */
	for (char *r = t; *r != '\0'; r++) {
		if (*r == '"' && !in_str) {
			char *end = strchr(r + 1, '"');
			bool num = end != NULL && end > r + 1;
			for (char *c = r + 1; num && c < end; c++)
				num = (*c >= '0' && *c <= '9') || *c == '.' ||
				      *c == '-';
			if (num) {
				memmove(w, r + 1, (size_t)(end - r - 1));
				w += end - r - 1;
				r = end;
				continue;
			}
			in_str = true;
		} else if (*r == '"' && in_str && prev != '\\') {
			in_str = false;
		}
		prev = *r;
		*w++ = *r;
	}
	*w = '\0';
}

static void
assert_rows(const cb_test_reply *r, char *want)
{
	char *got = rows_text(r);

	unquote_numbers(want);
	if (strcmp(want, got) != 0)
		fail_msg("rows\n got: %s\nwant: %s", got, want);
	free(got);
	free(want);
}

static const char *
by_customer(const as_partner *p, const as_cost_row *r)
{
	return r->customer == AS_ANY ? "" : p->customers[r->customer].display;
}

static const char *
by_family(const as_partner *p, const as_cost_row *r)
{
	(void)p;
	return r->service_family;
}

/* A Query at scope: 200, the columns (unless NULL) in the answer, and
 * exactly the rows of f's lines, grouped by group, per day when daily,
 * of service family only (unless NULL). */
static void
expect_rows(as_server *s, const char *scope, const char *body,
	const char *columns, const as_cost_filter *f, group_fn group,
	bool daily, const char *only)
{
	cb_test_reply r;

	post(s, &r, scope, "query", body);
	if (r.status != 200)
		fail_msg("%s: %ld %s", body, r.status, r.body);
	if (columns != NULL && strstr(r.body, columns) == NULL)
		fail_msg("%s: not %s in %s", body, columns, r.body);
	assert_rows(&r, expected_rows(s, f, group, daily, only));
	cb_test_reply_free(&r);
}

/* ------------------------------------------------------------------ */

static void
test_totals_by_currency(void **state)
{
	as_server *s = start(1000);
	char scope[512];
	as_cost_filter f;
	cb_test_reply r;

	(void)state;
	account_scope(s, scope, sizeof(scope));
	as_cost_filter_init(&f, AS_METRIC_ACTUAL, 0);
	expect_rows(s, scope,
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\","
		"\"dataset\":{\"granularity\":\"None\"}}",
		"\"type\":\"microsoft.costmanagement/Query\",\"properties\":{"
		"\"nextLink\":null,\"columns\":[{\"name\":\"PreTaxCost\","
		"\"type\":\"Number\"},{\"name\":\"Currency\",\"type\":"
		"\"String\"}],\"rows\":",
		&f, NULL, false, NULL);

	/* AmortizedCost is the other view of the month. */
	as_cost_filter_init(&f, AS_METRIC_AMORTIZED, 0);
	f.first_day = 1;
	f.last_day = 10;
	expect_rows(s, scope,
		"{\"type\":\"AmortizedCost\",\"timeframe\":\"Custom\","
		"\"timePeriod\":{\"from\":\"2026-10-01T00:00:00+00:00\","
		"\"to\":\"2026-10-10T23:59:59+00:00\"},\"dataset\":{"
		"\"granularity\":\"None\"}}",
		NULL, &f, NULL, false, NULL);

	/* The last month holds no lines: no rows. */
	post(s, &r, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"TheLastMonth\"}");
	assert_int_equal(200, r.status);
	assert_non_null(strstr(r.body, "\"rows\":[]}}"));
	cb_test_reply_free(&r);
	as_server_stop(s);
}

static void
test_daily_rows_at_subscription(void **state)
{
	as_server *s = start(1000);
	const as_partner *p = s->partner;
	char scope[128];
	as_cost_filter f;

	(void)state;
	snprintf(scope, sizeof(scope), "subscriptions/%s",
		p->subscriptions[3].id);
	as_cost_filter_init(&f, AS_METRIC_ACTUAL, 0);
	f.subscription = 3;
	f.customer = p->subscriptions[3].customer;
	f.profile = p->subscriptions[3].profile;
	expect_rows(s, scope,
		"{\"type\":\"ActualCost\",\"timeframe\":\"MonthToDate\","
		"\"dataset\":{\"granularity\":\"Daily\",\"aggregation\":{"
		"\"totalCost\":{\"name\":\"Cost\",\"function\":\"Sum\"}}}}",
		"\"columns\":[{\"name\":\"Cost\",\"type\":\"Number\"},{"
		"\"name\":\"UsageDate\",\"type\":\"Number\"},{\"name\":"
		"\"Currency\",\"type\":\"String\"}]",
		&f, NULL, true, NULL);
	as_server_stop(s);
}

static void
test_grouping_by_customer_and_service_family(void **state)
{
	as_server *s = start(1000);
	const as_partner *p = s->partner;
	char scope[512];
	as_cost_filter f;

	(void)state;
	account_scope(s, scope, sizeof(scope));
	as_cost_filter_init(&f, AS_METRIC_ACTUAL, 0);
	expect_rows(s, scope,
		"{\"type\":\"Usage\",\"timeframe\":\"BillingMonthToDate\","
		"\"dataset\":{\"granularity\":\"None\",\"aggregation\":{"
		"\"totalCost\":{\"name\":\"PreTaxCost\",\"function\":\"Sum\"}},"
		"\"grouping\":[{\"type\":\"Dimension\",\"name\":"
		"\"CustomerName\"}]}}",
		NULL, &f, by_customer, false, NULL);

	customer_scope(s, 2, scope, sizeof(scope));
	as_cost_filter_init(&f, AS_METRIC_ACTUAL, 0);
	f.customer = 2;
	f.profile = p->customers[2].profile;
	expect_rows(s, scope,
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\","
		"\"dataset\":{\"granularity\":\"Daily\",\"grouping\":[{"
		"\"type\":\"Dimension\",\"name\":\"ServiceFamily\"}]}}",
		NULL, &f, by_family, true, NULL);

	/* A filter: only Compute (values compare case-insensitively). */
	expect_rows(s, scope,
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\","
		"\"dataset\":{\"granularity\":\"None\",\"filter\":{"
		"\"dimensions\":{\"name\":\"ServiceFamily\",\"operator\":"
		"\"In\",\"values\":[\"compute\"]}}}}",
		NULL, &f, NULL, false, "Compute");
	as_server_stop(s);
}

static void
test_paging_through_next_link(void **state)
{
	as_server *s = start(7);
	char scope[512], base[128], want[1024], url[4096];
	const char *body = "{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\","
			   "\"dataset\":{\"granularity\":\"Daily\","
			   "\"grouping\":[{\"type\":\"Dimension\",\"name\":"
			   "\"ServiceFamily\"}]}}";
	as_cost_filter f;
	cb_test_reply r;
	cb_buf all = CB_BUF_INIT;
	size_t pages = 0;
	char *text, *want_rows;

	(void)state;
	account_scope(s, scope, sizeof(scope));
	as_server_base(s, base, sizeof(base));
	snprintf(url, sizeof(url), "%s/%s" CM "/query?api-version=" API, base,
		scope);
	for (;;) {
		json_t *v, *next;
		as_test_call(s, &r, "POST", url, JSON, body);
		assert_int_equal(200, r.status);
		v = json_loads(r.body, 0, NULL);
		/* The pages' rows, joined as text: exact money kept. */
		text = rows_text(&r);
		assert_true(strlen(text) > 2);
		cb__buf_printf(&all, "%s%.*s", all.size ? "," : "[",
			(int)strlen(text) - 2, text + 1);
		free(text);
		next = json_object_get(
			json_object_get(v, "properties"), "nextLink");
		pages++;
		if (json_is_null(next)) {
			json_decref(v);
			cb_test_reply_free(&r);
			break;
		}
		if (pages == 1) {
			snprintf(want, sizeof(want),
				"%s/%s" CM "/query?api-version=" API
				"&$skiptoken=as7",
				base, scope);
			assert_string_equal(want, json_string_value(next));
		}
		snprintf(url, sizeof(url), "%s", json_string_value(next));
		json_decref(v);
		cb_test_reply_free(&r);
	}
	assert_true(pages > 2);
	as_cost_filter_init(&f, AS_METRIC_ACTUAL, 0);
	want_rows = expected_rows(s, &f, by_family, true, NULL);
	unquote_numbers(want_rows);
	cb__buf_puts(&all, "]");
	assert_string_equal(want_rows, all.ptr);
	free(want_rows);
	cb_buf_dispose(&all);

	/* A $skiptoken armsim never issued. */
	snprintf(url, sizeof(url),
		"%s/%s" CM "/query?api-version=" API "&$skiptoken=xyz", base,
		scope);
	as_test_call(s, &r, "POST", url, JSON, body);
	assert_int_equal(400, r.status);
	assert_string_equal("{\"error\":{\"code\":\"InvalidSkipToken\","
			    "\"message\":\"The $skiptoken 'xyz' is not "
			    "valid.\"}}",
		r.body);
	cb_test_reply_free(&r);
	as_server_stop(s);
}

static void
expect_bad(as_server *s, const char *scope, const char *what, const char *body,
	const char *msg)
{
	cb_test_reply r;
	char want[1024];

	post(s, &r, scope, what, body);
	snprintf(want, sizeof(want),
		"{\"error\":{\"code\":\"BadRequest\",\"message\":\"%s\"}}",
		msg);
	assert_int_equal(400, r.status);
	if (strcmp(want, r.body) != 0)
		fail_msg("for %s\n got: %s\nwant: %s", body, r.body, want);
	cb_test_reply_free(&r);
}

static void
test_validation_errors(void **state)
{
	as_server *s = start(100);
	char scope[512];

	(void)state;
	account_scope(s, scope, sizeof(scope));
	expect_bad(s, scope, "query", "{\"timeframe\":\"MonthToDate\"}",
		"Invalid query definition: 'type' is required (Usage, "
		"ActualCost or AmortizedCost).");
	expect_bad(s, scope, "query",
		"{\"type\":\"Cost\",\"timeframe\":\"MonthToDate\"}",
		"Invalid query definition: the type 'Cost' is not valid; use "
		"Usage, ActualCost or AmortizedCost.");
	expect_bad(s, scope, "query", "{\"type\":\"Usage\"}",
		"Invalid query definition: 'timeframe' is required.");
	expect_bad(s, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"Yesterday\"}",
		"Invalid query definition: the timeframe 'Yesterday' is not "
		"valid.");
	expect_bad(s, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"Custom\"}",
		"Invalid query definition: timeframe 'Custom' needs timePeriod "
		"with from and to.");
	expect_bad(s, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"Custom\",\"timePeriod\":{"
		"\"from\":\"2026-10-05\",\"to\":\"2026-10-01\"}}",
		"Invalid query definition: timePeriod 'to' is before 'from'.");
	expect_bad(s, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"Custom\",\"timePeriod\":{"
		"\"from\":\"2025-01-01\",\"to\":\"2026-10-01\"}}",
		"Invalid query definition: the time period cannot exceed 1 "
		"year.");
	expect_bad(s, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"Custom\",\"timePeriod\":{"
		"\"from\":\"2026-10-32\",\"to\":\"2026-10-01\"}}",
		"Invalid query definition: '2026-10-32' is not an ISO 8601 "
		"date-time.");
	expect_bad(s, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\",\"dataset\":"
		"{\"granularity\":\"Hourly\"}}",
		"Invalid query definition: the granularity 'Hourly' is not "
		"valid; use Daily, Monthly or None.");
	expect_bad(s, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\",\"dataset\":"
		"{\"aggregation\":{\"c\":{\"name\":\"PreTaxCost\",\"function\":"
		"\"Avg\"}}}}",
		"Invalid query definition: aggregation 'c' must use the "
		"function Sum.");
	expect_bad(s, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\",\"dataset\":"
		"{\"aggregation\":{\"c\":{\"name\":\"Price\",\"function\":"
		"\"Sum\"}}}}",
		"Invalid query definition: the aggregation column 'Price' is "
		"not valid.");
	expect_bad(s, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\",\"dataset\":"
		"{\"grouping\":[{\"type\":\"Dimension\",\"name\":\"Nope\"}]}}",
		"Invalid query definition: the dimension 'Nope' is not valid "
		"for this scope.");
	expect_bad(s, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\",\"dataset\":"
		"{\"grouping\":[{\"type\":\"Dimension\",\"name\":\"Meter\"},"
		"{\"type\":\"Dimension\",\"name\":\"ChargeType\"},{\"type\":"
		"\"Dimension\",\"name\":\"PricingModel\"}]}}",
		"Invalid query definition: at most 2 groupings are allowed.");
	expect_bad(s, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\",\"dataset\":"
		"{\"filter\":{\"dimensions\":{\"name\":\"ChargeType\","
		"\"operator\":\"Contains\",\"values\":[\"U\"]}}}}",
		"Invalid query definition: the operator 'Contains' is not "
		"supported; use 'In'.");
	expect_bad(s, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\",\"dataset\":"
		"{\"filter\":{\"and\":[{\"dimensions\":{\"name\":\"ChargeType\","
		"\"operator\":\"In\",\"values\":[\"Usage\"]}}]}}}",
		"Invalid query definition: 'and' needs at least two "
		"expressions.");
	expect_bad(s, scope, "forecast",
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\",\"dataset\":"
		"{\"grouping\":[{\"type\":\"Dimension\",\"name\":\"Meter\"}]}}",
		"Invalid query definition: grouping is not supported for "
		"forecasts.");
	expect_bad(s, scope, "forecast",
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\","
		"\"includeActualCost\":\"yes\"}",
		"Invalid forecast definition: 'includeActualCost' must be a "
		"boolean.");
	as_server_stop(s);
}

/* ------------------------------------------------------------------ */
/* Forecast */

static void
test_forecast(void **state)
{
	as_server *s = start(1000);
	const as_partner *p = s->partner;
	char scope[512], want[256], money[64];
	as_cost_filter f;
	as_costgen *g = NULL;
	const as_cost_row *row;
	cb_money total = CB_MONEY_ZERO, avg;
	cb_test_reply r;

	(void)state;
	snprintf(scope, sizeof(scope),
		"providers/Microsoft.Billing/billingAccounts/%s/"
		"billingProfiles/%s",
		p->accounts[0].name, p->profiles[0].name);
	as_cost_filter_init(&f, AS_METRIC_ACTUAL, 0);
	f.profile = 0;
	assert_int_equal(0, as_costgen_open(&g, p, &f));
	while (as_costgen_next(g, &row) == 1)
		assert_int_equal(0, cb_money_add(&total, total, row->cost));
	as_costgen_free(g);
	assert_int_equal(0, cb_money_div(&avg, total, cb_money_from_int(31)));

	/* November, after the partner's month: the daily average. */
	post(s, &r, scope, "forecast",
		"{\"type\":\"Usage\",\"timeframe\":\"Custom\",\"timePeriod\":{"
		"\"from\":\"2026-11-01T00:00:00+00:00\",\"to\":"
		"\"2026-11-30T23:59:59+00:00\"},\"includeActualCost\":false,"
		"\"dataset\":{\"granularity\":\"Daily\"}}");
	assert_int_equal(200, r.status);
	assert_non_null(strstr(r.body,
		"\"type\":\"Microsoft.CostManagement/query\",\"properties\":{"
		"\"nextLink\":null,\"columns\":[{\"name\":\"PreTaxCost\","
		"\"type\":\"Number\"},{\"name\":\"UsageDate\",\"type\":"
		"\"Number\"},{\"name\":\"CostStatus\",\"type\":\"String\"},{"
		"\"name\":\"Currency\",\"type\":\"String\"}]"));
	assert_int_equal(0, cb_money_format(money, sizeof(money), avg));
	snprintf(want, sizeof(want),
		"\"rows\":[[%s,20261101,\"Forecast\","
		"\"USD\"],[%s,20261102,",
		money, money);
	assert_non_null(strstr(r.body, want));
	snprintf(want, sizeof(want), "[%s,20261130,\"Forecast\",\"USD\"]]}}",
		money);
	assert_non_null(strstr(r.body, want));
	cb_test_reply_free(&r);

	/* The month itself, in total: all actual. */
	post(s, &r, scope, "forecast",
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\"}");
	assert_int_equal(200, r.status);
	assert_int_equal(0, cb_money_format(money, sizeof(money), total));
	snprintf(want, sizeof(want), "\"rows\":[[%s,\"Actual\",\"USD\"]]}}",
		money);
	assert_non_null(strstr(r.body, want));
	cb_test_reply_free(&r);
	as_server_stop(s);
}

/* ------------------------------------------------------------------ */
/* Shapes of the Azure examples.  Substitutions, named per example: the
 * partner's scopes for the example ids (BillingAccountQuery.json is an
 * EA account, "70664866": the MPA account stands in, armsim has no EA);
 * timeframe TheLastMonth becomes MonthToDate (armsim's lines are one
 * month, "now" its end, so the last month is empty and an empty rows
 * array could not show the row shape); the forecast period becomes the
 * month after the partner's; filter values become a real line's
 * resource group and location (the example's tag filter is kept).
 * Pages of 1 row, so that nextLink is a string as in the examples. */

static char *
example_body(const char *rel, const char *rg, const char *loc)
{
	char *text = cb_test_example_parameter(rel, "parameters");
	json_t *b = json_loads(text, 0, NULL), *f, *tp;
	char *out;

	assert_non_null(b);
	if (json_object_get(b, "timeframe") != NULL &&
		strcmp(json_string_value(json_object_get(b, "timeframe")),
			"TheLastMonth") == 0)
		json_object_set_new(b, "timeframe", json_string("MonthToDate"));
	if ((tp = json_object_get(b, "timePeriod")) != NULL) {
		json_object_set_new(
			tp, "from", json_string("2026-11-01T00:00:00+00:00"));
		json_object_set_new(
			tp, "to", json_string("2026-11-30T23:59:59+00:00"));
	}
	/* BillingAccountQuery.json and SubscriptionQuery.json answer with a
	 * ResourceGroup column their request does not group by; armsim
	 * answers what is asked, so the test asks for that grouping. */
	if (strstr(rel, "/BillingAccountQuery.json") != NULL ||
		strstr(rel, "/SubscriptionQuery.json") != NULL)
		json_object_set_new(json_object_get(b, "dataset"), "grouping",
			json_pack("[{s:s,s:s}]", "type", "Dimension", "name",
				"ResourceGroup"));
	f = json_object_get(json_object_get(b, "dataset"), "filter");
	if (f != NULL) {
		/* and[ or[ dimensions ResourceLocation, tags ], dimensions
		 * ResourceGroup ] in every example that filters. */
		json_t *and = json_object_get(f, "and");
		json_t * or = json_object_get(json_array_get(and, 0), "or");
		json_t *locv = json_object_get(
			json_object_get(json_array_get(or, 0), "dimensions"),
			"values");
		json_t *rgv = json_object_get(
			json_object_get(json_array_get(and, 1), "dimensions"),
			"values");
		assert_non_null(locv);
		assert_non_null(rgv);
		json_array_set_new(locv, 0, json_string(loc));
		json_array_set_new(rgv, 0, json_string(rg));
	}
	out = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	free(text);
	return out;
}

/* A real line's resource group and location, at scope: from a Query
 * grouped by both. */
static void
real_values(as_server *s, const char *scope, char *rg, char *loc, size_t n)
{
	cb_test_reply r;
	json_t *v, *row;

	post(s, &r, scope, "query",
		"{\"type\":\"Usage\",\"timeframe\":\"MonthToDate\","
		"\"dataset\":{\"grouping\":[{\"type\":\"Dimension\",\"name\":"
		"\"ResourceGroup\"},{\"type\":\"Dimension\",\"name\":"
		"\"ResourceLocation\"}]}}");
	assert_int_equal(200, r.status);
	v = json_loads(r.body, 0, NULL);
	row = json_array_get(
		json_object_get(json_object_get(v, "properties"), "rows"), 0);
	assert_non_null(row);
	snprintf(rg, n, "%s", json_string_value(json_array_get(row, 1)));
	snprintf(loc, n, "%s", json_string_value(json_array_get(row, 2)));
	json_decref(v);
	cb_test_reply_free(&r);
}

/* Rows are tuples typed by the columns, which jsonshape (every element
 * like the example's first) cannot express: each row here must have the
 * example's first row's JSON types, position by position. */
static void
rows_shape(const char *rel, const char *want, const char *got)
{
	json_t *w = json_loads(want, 0, NULL), *g = json_loads(got, 0, NULL);
	json_t *wr = json_array_get(
		json_object_get(json_object_get(w, "properties"), "rows"), 0);
	json_t *rows =
		json_object_get(json_object_get(g, "properties"), "rows");
	size_t i;
	json_t *row;

	assert_true(json_array_size(rows) > 0);
	json_array_foreach(rows, i, row)
	{
		assert_int_equal(json_array_size(wr), json_array_size(row));
		for (size_t k = 0; k < json_array_size(row); k++) {
			json_t *a = json_array_get(wr, k);
			json_t *b = json_array_get(row, k);
			if (json_is_number(a) != json_is_number(b) ||
				json_is_string(a) != json_is_string(b))
				fail_msg("%s: rows[%zu][%zu] has another type",
					rel, i, k);
		}
	}
	json_decref(w);
	json_decref(g);
}

static void
shape(as_server *s, const char *rel, const char *scope, const char *what)
{
	static const char *const ignore[] = { "properties.rows", NULL };
	char rg[128], loc[128], why[512];
	cb_test_reply r;
	char *body, *want;

	real_values(s, scope, rg, loc, sizeof(rg));
	body = example_body(rel, rg, loc);
	post(s, &r, scope, what, body);
	assert_int_equal(200, r.status);
	want = cb_test_example_response(rel, "200");
	assert_non_null(want);
	if (!cb_test_json_shape(want, r.body, ignore, why, sizeof(why)))
		fail_msg("%s: %s\n%s", rel, why, r.body);
	rows_shape(rel, want, r.body);
	free(want);
	free(body);
	cb_test_reply_free(&r);
}

static void
test_example_shapes(void **state)
{
	as_server *s = start(1);
	const as_partner *p = s->partner;
	char acct[512], cust[512], sub[128], prof[1024];

	(void)state;
	account_scope(s, acct, sizeof(acct));
	customer_scope(s, 0, cust, sizeof(cust));
	snprintf(sub, sizeof(sub), "subscriptions/%s", p->subscriptions[0].id);
	snprintf(prof, sizeof(prof), "%s/billingProfiles/%s", acct,
		p->profiles[0].name);
	shape(s, "Microsoft.CostManagement/2025-03-01/BillingAccountQuery.json",
		acct, "query");
	shape(s, "Microsoft.CostManagement/2025-03-01/SubscriptionQuery.json",
		sub, "query");
	shape(s,
		"Microsoft.CostManagement/2025-03-01/"
		"SubscriptionQueryGrouping.json",
		sub, "query");
	shape(s,
		"Microsoft.CostManagement/2025-03-01/"
		"MCACustomerQueryGrouping.json",
		cust, "query");
	shape(s,
		"Microsoft.CostManagement/2025-03-01/"
		"BillingProfileForecast.json",
		prof, "forecast");
	as_server_stop(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_totals_by_currency),
		cmocka_unit_test(test_daily_rows_at_subscription),
		cmocka_unit_test(test_grouping_by_customer_and_service_family),
		cmocka_unit_test(test_paging_through_next_link),
		cmocka_unit_test(test_validation_errors),
		cmocka_unit_test(test_forecast),
		cmocka_unit_test(test_example_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
