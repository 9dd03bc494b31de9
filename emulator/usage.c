/*
 * emulator/usage.c - Microsoft.Consumption usage details and the legacy
 * price sheet (azure-api-notes.md a.3 #20 and #21), read from the
 * generated cost lines (costgen.h), so every Consumption example has an
 * armsim answer and the figures agree with cost details and invoices.
 *
 * Usage details: GET /{scope}/providers/Microsoft.Consumption/usageDetails
 * at a billing account, billing profile, customer, subscription or
 * resource group scope answers "modern" items (the MCA/MPA shape of
 * UsageDetailsListByMCACustomer.json).  The same under a legacy billing
 * period, {scope}/providers/Microsoft.Billing/billingPeriods/{yyyyMM},
 * answers "legacy" items (the EA/pay-as-you-go shape of
 * UsageDetailsList.json), as billing periods belong to those agreements.
 * Every value is the cost line's own CSV text: numbers go out exactly as
 * generated, dates as ISO 8601.  No cost lines: 204 without a body, as
 * the swagger allows.  Pages are cut as the lines stream by, so a big
 * scope costs one page of memory.
 *
 * Price sheet: GET /subscriptions/{sub}/providers/Microsoft.Consumption/
 * pricesheets/default: the meters of the subscription's month, first seen
 * first, paged through properties.nextLink (PriceSheet.json).
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/armsim.h"
#include "emulator/budgets.h"
#include "emulator/costgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Columns of the partner cost-details CSV (notes e.1). */
#define NCOLS 70
/* Distinct meters a price sheet collects: far above the generator's
 * catalog; a bound on memory all the same. */
#define METERS_MAX 4096
/* Items on one page when the server's page size is 0 ("all"): usage
 * details of a whole billing account would not fit one answer. */
#define USAGE_PAGE_MAX 1000
/* Azure plan's offer, for the legacy fields that name one [unverified]. */
#define OFFER_ID "MS-AZR-0145P"

/* ------------------------------------------------------------------ */
/* One CSV record, split in place */

/* Split the record in line (ending "\r\n") into f[0..NCOLS); quoted
 * fields lose their quotes and doubled quotes.  Returns the count. */
static size_t
csv_split(char *line, char **f)
{
	size_t n = 0;
	char *r = line, *w;

	while (n < NCOLS) {
		f[n++] = w = r;
		if (*r == '"') {
			r++;
			for (;;) {
				if (*r == '\0')
					break;
				if (*r == '"' && r[1] == '"') {
					*w++ = '"';
					r += 2;
				} else if (*r == '"') {
					r++;
					break;
				} else {
					*w++ = *r++;
				}
			}
		} else {
			while (*r != ',' && *r != '\r' && *r != '\n' &&
				*r != '\0')
				*w++ = *r++;
		}
		if (*r != ',') {
			*w = '\0';
			break;
		}
		*w = '\0';
		r++;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Values */

enum col_type {
	T_STR,    /* the text */
	T_NUM,    /* an exact number; "" is 0 */
	T_NUMSTR, /* a number's text as a string (exchangeRate) */
	T_DATE7,  /* MM/dd/yyyy -> yyyy-MM-ddT00:00:00.0000000Z */
	T_DATE,   /* MM/dd/yyyy -> yyyy-MM-ddT00:00:00Z */
	T_BOOL,   /* True/False */
	T_LAST,   /* the last '/' segment (resourceName) */
	T_NULL,   /* null (meterDetails without $expand) */
	T_OFFER   /* OFFER_ID */
};

struct col {
	const char *name;
	int col; /* 1-based column of notes e.1; 0 when computed */
	enum col_type type;
};

/* UsageDetailsListByMCACustomer.json's order, then the swagger's other
 * modern fields. */
static const struct col modern_cols[] = {
	{ "billingAccountId", 3, T_STR },
	{ "billingAccountName", 4, T_STR },
	{ "billingPeriodStartDate", 17, T_DATE7 },
	{ "billingPeriodEndDate", 16, T_DATE7 },
	{ "billingProfileId", 5, T_STR },
	{ "billingProfileName", 6, T_STR },
	{ "subscriptionGuid", 32, T_STR },
	{ "subscriptionName", 33, T_STR },
	{ "date", 20, T_DATE7 },
	{ "meterId", 25, T_STR },
	{ "quantity", 42, T_NUM },
	{ "unitPrice", 67, T_NUM },
	{ "billingCurrencyCode", 45, T_STR },
	{ "resourceLocation", 39, T_STR },
	{ "consumedService", 24, T_STR },
	{ "instanceName", 38, T_STR },
	{ "invoiceSectionId", 7, T_STR },
	{ "invoiceSectionName", 8, T_STR },
	{ "costCenter", 15, T_STR },
	{ "resourceGroup", 37, T_STR },
	{ "isAzureCreditEligible", 54, T_BOOL },
	{ "chargeType", 44, T_STR },
	{ "additionalInfo", 57, T_STR },
	{ "costInBillingCurrency", 47, T_NUM },
	{ "costInPricingCurrency", 48, T_NUM },
	{ "exchangeRate", 52, T_NUMSTR },
	{ "exchangeRateDate", 53, T_DATE },
	{ "invoiceId", 1, T_STR },
	{ "previousInvoiceId", 2, T_STR },
	{ "pricingCurrencyCode", 46, T_STR },
	{ "product", 31, T_STR },
	{ "productIdentifier", 30, T_STR },
	{ "productOrderId", 22, T_STR },
	{ "productOrderName", 23, T_STR },
	{ "publisherName", 36, T_STR },
	{ "publisherType", 34, T_STR },
	{ "resourceLocationNormalized", 40, T_STR },
	{ "serviceInfo1", 55, T_STR },
	{ "serviceInfo2", 56, T_STR },
	{ "servicePeriodEndDate", 18, T_DATE },
	{ "servicePeriodStartDate", 19, T_DATE },
	{ "customerTenantId", 13, T_STR },
	{ "customerName", 14, T_STR },
	{ "partnerTenantId", 9, T_STR },
	{ "partnerName", 10, T_STR },
	{ "resellerMpnId", 12, T_STR },
	{ "resellerName", 11, T_STR },
	{ "publisherId", 35, T_STR },
	{ "reservationId", 64, T_STR },
	{ "reservationName", 65, T_STR },
	{ "frequency", 62, T_STR },
	{ "term", 63, T_STR },
	{ "marketPrice", 61, T_NUM },
	{ "costInUSD", 49, T_NUM },
	{ "paygCostInBillingCurrency", 50, T_NUM },
	{ "paygCostInUSD", 51, T_NUM },
	{ "exchangeRatePricingToBilling", 52, T_NUM },
	{ "partnerEarnedCreditRate", 59, T_NUM },
	{ "partnerEarnedCreditApplied", 60, T_STR },
	{ "benefitId", 68, T_STR },
	{ "benefitName", 69, T_STR },
	{ "effectivePrice", 41, T_NUM },
	{ "meterName", 26, T_STR },
	{ "meterCategory", 27, T_STR },
	{ "meterSubCategory", 28, T_STR },
	{ "meterRegion", 29, T_STR },
	{ "serviceFamily", 21, T_STR },
	{ "unitOfMeasure", 43, T_STR },
	{ "pricingModel", 66, T_STR },
	{ NULL, 0, T_STR },
};

/* UsageDetailsList.json's order. */
static const struct col legacy_cols[] = {
	{ "billingAccountId", 3, T_STR },
	{ "billingAccountName", 4, T_STR },
	{ "billingPeriodStartDate", 17, T_DATE7 },
	{ "billingPeriodEndDate", 16, T_DATE7 },
	{ "billingProfileId", 5, T_STR },
	{ "billingProfileName", 6, T_STR },
	{ "accountName", 4, T_STR },
	{ "subscriptionId", 32, T_STR },
	{ "subscriptionName", 33, T_STR },
	{ "date", 20, T_DATE7 },
	{ "product", 31, T_STR },
	{ "partNumber", 30, T_STR },
	{ "meterId", 25, T_STR },
	{ "meterDetails", 0, T_NULL },
	{ "quantity", 42, T_NUM },
	{ "effectivePrice", 41, T_NUM },
	{ "cost", 47, T_NUM },
	{ "unitPrice", 67, T_NUM },
	{ "billingCurrency", 45, T_STR },
	{ "resourceLocation", 39, T_STR },
	{ "consumedService", 24, T_STR },
	{ "resourceId", 38, T_STR },
	{ "resourceName", 38, T_LAST },
	{ "invoiceSection", 8, T_STR },
	{ "costCenter", 15, T_STR },
	{ "resourceGroup", 37, T_STR },
	{ "offerId", 0, T_OFFER },
	{ "isAzureCreditEligible", 54, T_BOOL },
	{ "chargeType", 44, T_STR },
	{ "frequency", 62, T_STR },
	{ "benefitId", 68, T_STR },
	{ "benefitName", 69, T_STR },
	{ "payGPrice", 61, T_NUM },
	{ "pricingModel", 66, T_STR },
	{ NULL, 0, T_STR },
};

/* An exact number from a CSV field; "" (a price Azure leaves empty) is
 * 0.  NULL when the text is not a decimal (a generator bug). */
static json_t *
num_json(const char *t)
{
	cb_money m;

	if (t[0] == '\0')
		return as_json_number_text("0");
	if (cb_money_parse(&m, t, strlen(t)) != 0)
		return NULL;
	return as_json_money(m);
}

/* MM/dd/yyyy as ISO 8601; "" stays "". */
static json_t *
date_json(const char *t, bool seven)
{
	char out[40];

	if (strlen(t) != 10 || t[2] != '/' || t[5] != '/')
		return json_string(t);
	snprintf(out, sizeof(out), "%.4s-%.2s-%.2sT00:00:00%sZ", t + 6, t,
		t + 3, seven ? ".0000000" : "");
	return json_string(out);
}

static json_t *
col_json(const struct col *c, char **f)
{
	const char *t = c->col > 0 ? f[c->col - 1] : "";
	const char *slash;

	switch (c->type) {
	case T_NUM:
		return num_json(t);
	case T_NUMSTR:
		return json_string(t[0] ? t : "0");
	case T_DATE7:
		return date_json(t, true);
	case T_DATE:
		return date_json(t, false);
	case T_BOOL:
		return json_boolean(strcasecmp(t, "True") == 0);
	case T_LAST:
		slash = strrchr(t, '/');
		return json_string(slash ? slash + 1 : t);
	case T_NULL:
		return json_null();
	case T_OFFER:
		return json_string(OFFER_ID);
	case T_STR:
	default:
		return json_string(t);
	}
}

/* The tags column: a JSON object (or its inside, as EA files write
 * it); anything else is no tags. */
static json_t *
tags_json(const char *t)
{
	json_t *v;
	cb_buf b = CB_BUF_INIT;

	if (t[0] == '\0')
		return json_object();
	if (t[0] != '{') {
		cb__buf_printf(&b, "{%s}", t);
		t = b.ptr ? b.ptr : "";
	}
	v = json_loads(t, 0, NULL);
	cb_buf_dispose(&b);
	if (!json_is_object(v)) {
		json_decref(v);
		return json_object();
	}
	return v;
}

/* A stable item name: a GUID from the line's own text (FNV-1a), so the
 * same line has the same name at every scope. */
static void
line_name(const char *line, char out[AS_GUID_LEN + 1])
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = line; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	as_rand_guid(&h, out);
}

/* One usage details item from the CSV record in line. */
static json_t *
usage_item(const char *scope, const char *line, bool legacy)
{
	char *copy = strdup(line), *f[NCOLS], name[AS_GUID_LEN + 1], id[2048];
	const struct col *cols = legacy ? legacy_cols : modern_cols;
	json_t *props, *item;

	if (copy == NULL)
		return NULL;
	if (csv_split(copy, f) != NCOLS) {
		free(copy);
		return NULL;
	}
	line_name(line, name);
	snprintf(id, sizeof(id),
		"/%s/providers/Microsoft.Consumption/usageDetails/%s", scope,
		name);
	props = json_object();
	for (const struct col *c = cols; c->name != NULL; c++) {
		json_t *v = col_json(c, f);
		if (v == NULL) {
			json_decref(props);
			free(copy);
			return NULL;
		}
		json_object_set_new(props, c->name, v);
	}
	item = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "id", id, "name", name,
		"type", "Microsoft.Consumption/usageDetails", "kind",
		legacy ? "legacy" : "modern", "tags", tags_json(f[57]),
		"properties", props);
	free(copy);
	return item;
}

/* ------------------------------------------------------------------ */
/* Which lines */

/* "{base}/providers/Microsoft.Billing/billingPeriods/{yyyyMM}": the base
 * scope into base and the period into period; false when scope has no
 * billing period. */
static bool
split_period(const char *scope, char *base, size_t baselen, char *period,
	size_t periodlen)
{
	static const char mark[] = "/providers/Microsoft.Billing/"
				   "billingPeriods/";
	size_t len = strlen(scope), ml = sizeof(mark) - 1;

	for (size_t i = 0; i + ml < len; i++) {
		if (strncasecmp(scope + i, mark, ml) != 0 ||
			strchr(scope + i + ml, '/') != NULL)
			continue;
		snprintf(base, baselen, "%.*s", (int)i, scope);
		snprintf(period, periodlen, "%s", scope + i + ml);
		return true;
	}
	return false;
}

/* The filter for a resolved scope. */
static void
scope_filter(const as_budget_scope *sc, as_metric m, as_cost_filter *f)
{
	as_cost_filter_init(f, m, sc->account);
	if (sc->kind == AS_BSCOPE_PROFILE)
		f->profile = sc->profile;
	if (sc->kind == AS_BSCOPE_CUSTOMER)
		f->customer = sc->customer;
	if (sc->kind == AS_BSCOPE_SUBSCRIPTION ||
		sc->kind == AS_BSCOPE_RESOURCE_GROUP)
		f->subscription = sc->subscription;
}

static bool
row_in_scope(const as_budget_scope *sc, const as_cost_row *row)
{
	return sc->kind != AS_BSCOPE_RESOURCE_GROUP ||
	       strcasecmp(row->resource_group, sc->resource_group) == 0;
}

/* yyyy-MM-dd inside the partner's month: its day; 0 before the month,
 * 32 after it; -1 when not a date. */
static int
day_in_period(const as_partner *p, const char *t)
{
	int y, m, d, n = 0;

	if (sscanf(t, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
		t[n] != '\0' || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	if (y * 12 + m < p->year * 12 + p->month)
		return 0;
	if (y * 12 + m > p->year * 12 + p->month)
		return 32;
	return d;
}

/* metric, startDate/endDate and $filter into f; false with a 400. */
static bool
usage_params(as_server *s, const as_req *req, bool legacy, as_cost_filter *f,
	bool *empty, as_resp *resp)
{
	char metric[32], from[32], to[32], filter[2048];
	int d0 = 1, d1 = 31;
	bool has_from = as_req_query(req, "startDate", from, sizeof(from)) == 0;
	bool has_to = as_req_query(req, "endDate", to, sizeof(to)) == 0;

	*empty = false;
	if (as_req_query(req, "metric", metric, sizeof(metric)) == 0) {
		if (strcasecmp(metric, "amortizedcost") == 0) {
			f->metric = AS_METRIC_AMORTIZED;
		} else if (strcasecmp(metric, "actualcost") != 0 &&
			   strcasecmp(metric, "usage") != 0) {
			as_resp_arm_error(resp, 400, "BadRequest",
				"The metric '%.32s' is not supported. "
				"Supported values are 'actualcost', "
				"'amortizedcost' or 'usage'.",
				metric);
			return false;
		}
	}
	if (!legacy &&
		as_req_query(req, "$filter", filter, sizeof(filter)) == 0) {
		as_resp_arm_error(resp, 400, "BadRequest",
			"$filter is not supported for usage details of a "
			"Microsoft Customer Agreement or Microsoft Partner "
			"Agreement scope; use startDate and endDate.");
		return false;
	}
	if (has_from != has_to) {
		as_resp_arm_error(resp, 400, "BadRequest",
			"startDate and endDate must be given together.");
		return false;
	}
	if (has_from) {
		d0 = day_in_period(s->partner, from);
		d1 = day_in_period(s->partner, to);
		if (d0 < 0 || d1 < 0 || strcmp(from, to) > 0) {
			as_resp_arm_error(resp, 400, "BadRequest",
				"startDate '%.20s' and endDate '%.20s' must "
				"be dates of the form yyyy-MM-dd, startDate "
				"first.",
				from, to);
			return false;
		}
		if (d0 > 31 || d1 < 1) {
			*empty = true;
			return true;
		}
		d0 = d0 < 1 ? 1 : d0;
		d1 = d1 > 31 ? 31 : d1;
		if (d0 > 1 || d1 < 31) {
			f->first_day = d0;
			f->last_day = d1;
		}
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Usage details */

int
as_usage_list(as_server *s, as_req *req, as_resp *resp)
{
	char base[1024], period[64], want[8], line_top[32];
	const char *scope = req->cap[0];
	bool legacy, empty;
	as_budget_scope sc;
	as_cost_filter f;
	as_costgen *g = NULL;
	const as_cost_row *row;
	cb_buf line = CB_BUF_INIT;
	long off = as_req_skiptoken(req, resp);
	size_t size = s->opt.page_size, total = 0, top = SIZE_MAX;
	json_t *items;
	char next[4096];

	if (off < 0)
		return 0;
	while (*scope == '/')
		scope++;
	legacy =
		split_period(scope, base, sizeof(base), period, sizeof(period));
	if (!legacy)
		snprintf(base, sizeof(base), "%s", scope);
	if (as_budget_scope_resolve(s, base, &sc, resp) != 0)
		return 0;
	snprintf(want, sizeof(want), "%04d%02d", s->partner->year,
		s->partner->month);
	scope_filter(&sc, AS_METRIC_ACTUAL, &f);
	if (!usage_params(s, req, legacy, &f, &empty, resp))
		return 0;
	if (as_req_query(req, "$top", line_top, sizeof(line_top)) == 0)
		top = (size_t)strtoul(line_top, NULL, 10);
	/* Only the partner's month has cost lines. */
	if (empty || (legacy && strcmp(period, want) != 0)) {
		resp->status = 204;
		return 0;
	}
	if (size == 0 || size > USAGE_PAGE_MAX)
		size = USAGE_PAGE_MAX;
	if (as_costgen_open(&g, s->partner, &f) != 0)
		return -1;
	items = json_array();
	while (total < top && as_costgen_next(g, &row) == 1) {
		if (!row_in_scope(&sc, row))
			continue;
		if (total >= (size_t)off && total < (size_t)off + size) {
			json_t *it;
			cb__buf_clear(&line);
			if (as_cost_csv_row(g, &line) != 0 ||
				(it = usage_item(scope, line.ptr, legacy)) ==
					NULL) {
				json_decref(items);
				as_costgen_free(g);
				cb_buf_dispose(&line);
				return -1;
			}
			json_array_append_new(items, it);
		}
		total++;
	}
	as_costgen_free(g);
	cb_buf_dispose(&line);
	if (total == 0) {
		json_decref(items);
		resp->status = 204;
		return 0;
	}
	as_next_link(s, req, (size_t)off + size, total, next, sizeof(next));
	items = json_pack("{s:o}", "value", items);
	if (next[0] != '\0')
		json_object_set_new(items, "nextLink", json_string(next));
	as_resp_json(resp, 200, items);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Price sheet */

/* One meter of the price sheet, from the first line that used it. */
static json_t *
meter_json(const char *sub, const char *period, char **f)
{
	char bp[256];
	json_t *m, *price = num_json(f[66][0] ? f[66] : f[60]);

	snprintf(bp, sizeof(bp),
		"/subscriptions/%s/providers/Microsoft.Billing/"
		"billingPeriods/%s",
		sub, period);
	m = json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:s,s:s}", "billingPeriodId",
		bp, "meterId", f[24], "unitOfMeasure", f[42],
		"includedQuantity", as_json_number_text("0"), "partNumber",
		f[29], "unitPrice", price, "currencyCode", f[45], "offerId",
		OFFER_ID);
	/* Savings plan prices for the meters a savings plan covered. */
	if (m != NULL && strcasecmp(f[65], "SavingsPlan") == 0)
		json_object_set_new(m, "savingsPlan",
			json_pack("{s:s,s:o,s:o}", "term",
				strcmp(f[62], "36") == 0 ? "P3Y" : "P1Y",
				"effectivePrice", num_json(f[40]),
				"marketPrice", num_json(f[60])));
	return m;
}

/* The subscription's meters, first seen first (stolen into *out). */
static int
collect_meters(as_server *s, size_t sub, const char *period, json_t **out)
{
	const as_partner *p = s->partner;
	as_cost_filter f;
	as_costgen *g = NULL;
	const as_cost_row *row;
	cb_buf line = CB_BUF_INIT;
	json_t *seen = json_object(), *list = json_array();
	int rc = 0;

	as_cost_filter_init(
		&f, AS_METRIC_ACTUAL, p->subscriptions[sub].account);
	f.subscription = sub;
	if (as_costgen_open(&g, p, &f) != 0) {
		rc = -1;
		goto done;
	}
	while (as_costgen_next(g, &row) == 1) {
		char *copy, *fs[NCOLS];
		json_t *m;

		if (row->meter_id == NULL || row->meter_id[0] == '\0' ||
			json_object_get(seen, row->meter_id) != NULL ||
			json_array_size(list) >= METERS_MAX)
			continue;
		cb__buf_clear(&line);
		if (as_cost_csv_row(g, &line) != 0 ||
			(copy = strdup(line.ptr)) == NULL) {
			rc = -1;
			goto done;
		}
		m = csv_split(copy, fs) == NCOLS
			    ? meter_json(p->subscriptions[sub].id, period, fs)
			    : NULL;
		free(copy);
		if (m == NULL) {
			rc = -1;
			goto done;
		}
		json_object_set_new(seen, row->meter_id, json_true());
		json_array_append_new(list, m);
	}
	*out = list;
	list = NULL;
done:
	as_costgen_free(g);
	cb_buf_dispose(&line);
	json_decref(seen);
	json_decref(list);
	return rc;
}

int
as_usage_pricesheet(as_server *s, as_req *req, as_resp *resp)
{
	const as_subscription *sub =
		as_partner_subscription(s->partner, req->cap[0]);
	long off = as_req_skiptoken(req, resp);
	size_t size = s->opt.page_size, total;
	char period[8], id[512], next[4096];
	json_t *all = NULL, *page;

	if (off < 0)
		return 0;
	if (sub == NULL) {
		as_resp_arm_error(resp, 404, "SubscriptionNotFound",
			"The subscription '%.64s' could not be found.",
			req->cap[0]);
		return 0;
	}
	snprintf(period, sizeof(period), "%04d%02d", s->partner->year,
		s->partner->month);
	if (collect_meters(s, AS_INDEX(s->partner, subscriptions, sub), period,
		    &all) != 0)
		return -1;
	total = json_array_size(all);
	if (size == 0)
		size = total > 0 ? total : 1;
	page = json_array();
	for (size_t i = (size_t)off; i < total && i < (size_t)off + size; i++)
		json_array_append(page, json_array_get(all, i));
	json_decref(all);
	as_next_link(s, req, (size_t)off + size, total, next, sizeof(next));
	snprintf(id, sizeof(id),
		"/subscriptions/%s/providers/Microsoft.Billing/billingPeriods/"
		"%s/providers/Microsoft.Consumption/pricesheets/default",
		sub->id, period);
	/* nextLink sits inside properties; null on the last page. */
	as_resp_json(resp, 200,
		json_pack("{s:s,s:s,s:s,s:{s:o,s:o}}", "id", id, "name",
			"default", "type", "Microsoft.Consumption/pricesheets",
			"properties", "nextLink",
			next[0] ? json_string(next) : json_null(),
			"pricesheets", page));
	return 0;
}
