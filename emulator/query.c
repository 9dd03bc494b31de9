/*
 * emulator/query.c - Microsoft.CostManagement's Query and Forecast
 * (azure-api-notes.md a.2 items 15 and 16): costs of a scope summed by
 * day or in total, grouped by up to two dimensions, filtered, paged
 * through properties.nextLink (the client re-POSTs the same body).
 *
 * Every answer comes from one pass over the scope's generated cost lines
 * (costgen.h), summed exactly in cb_money.  That is fine for the
 * test-sized partners armsim serves; a Query over a 10 M-line month takes
 * as long as generating it.  "Now" is the end of the partner's month, so
 * MonthToDate is that month and answers never depend on the wall clock.
 *
 * Dimensions the line summary (as_cost_row) carries are read from it;
 * any other column of the cost details CSV (ResourceLocation,
 * ResourceId...) and tags are read from the line's CSV record.
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/calendar.h"
#include "emulator/costmgmt.h"
#include "emulator/partner.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Azure's limits: two groupings [doc: Query API], filters nested a few
 * levels (deeper is refused rather than recursed without bound). */
#define Q_MAX_GROUPS 2
#define Q_MAX_AGGS   4
#define Q_MAX_DEPTH  8
/* Columns of the cost details CSV (70) with room to spare. */
#define Q_MAX_COLS 96

/* Dimensions read from as_cost_row; CSV columns are negative ids. */
enum {
	D_RESOURCE_GROUP,
	D_SERVICE_FAMILY,
	D_METER_CATEGORY,
	D_METER_ID,
	D_METER,
	D_CHARGE_TYPE,
	D_PUBLISHER_TYPE,
	D_PRICING_MODEL,
	D_SUBSCRIPTION_ID,
	D_SUBSCRIPTION_NAME,
	D_CUSTOMER_TENANT_ID,
	D_CUSTOMER_NAME,
	D_BILLING_PROFILE_ID,
	D_BILLING_PROFILE_NAME,
	D_RESELLER_MPN_ID,
	D_RESELLER_NAME,
	D_CURRENCY
};

static const struct {
	const char *name;
	int id;
} dims[] = { { "ResourceGroup", D_RESOURCE_GROUP },
	{ "ResourceGroupName", D_RESOURCE_GROUP },
	{ "ServiceFamily", D_SERVICE_FAMILY },
	{ "MeterCategory", D_METER_CATEGORY }, { "MeterId", D_METER_ID },
	{ "Meter", D_METER }, { "MeterName", D_METER },
	{ "ChargeType", D_CHARGE_TYPE }, { "PublisherType", D_PUBLISHER_TYPE },
	{ "PricingModel", D_PRICING_MODEL },
	{ "SubscriptionId", D_SUBSCRIPTION_ID },
	{ "SubscriptionName", D_SUBSCRIPTION_NAME },
	{ "CustomerTenantId", D_CUSTOMER_TENANT_ID },
	{ "CustomerName", D_CUSTOMER_NAME },
	{ "BillingProfileId", D_BILLING_PROFILE_ID },
	{ "BillingProfileName", D_BILLING_PROFILE_NAME },
	{ "ResellerMpnId", D_RESELLER_MPN_ID },
	{ "ResellerName", D_RESELLER_NAME }, { "BillingCurrency", D_CURRENCY },
	{ "Currency", D_CURRENCY } };

enum { A_COST, A_COST_USD, A_QUANTITY };

enum { F_AND, F_OR, F_NOT, F_DIM, F_TAG };

struct q_filter {
	int kind;
	int dim;              /* F_DIM */
	const char *tag;      /* F_TAG */
	json_t *values;       /* borrowed from the body */
	struct q_filter *sub; /* F_AND, F_OR, F_NOT: nsub children */
	size_t nsub;
};

enum { G_NONE, G_DAILY, G_MONTHLY };

struct query {
	json_t *body;
	as_cm_scope scope;
	as_metric metric;
	int granularity;
	int64_t first, last; /* days asked for */
	size_t naggs;
	char agg_name[Q_MAX_AGGS][64];
	int agg_kind[Q_MAX_AGGS];
	size_t ngroups;
	char group_name[Q_MAX_GROUPS][64];
	int group_dim[Q_MAX_GROUPS];
	struct q_filter *filter;
	/* The CSV header's column names, and the current line's fields. */
	cb_buf header;
	char *col[Q_MAX_COLS];
	size_t ncols;
	bool need_csv;
	cb_buf line;
	char *field[Q_MAX_COLS];
	size_t nfields;
	bool line_parsed;
};

/* One output row before sorting. */
struct q_cell {
	char *key; /* group values, date and currency, '\x1f'-joined */
	char *group[Q_MAX_GROUPS];
	long date; /* yyyymmdd, or 0 */
	char currency[4];
	cb_money sum[Q_MAX_AGGS];
};

struct q_table {
	struct q_cell *cells;
	size_t n, cap;
	size_t *slot; /* hash slots: index + 1, 0 empty */
	size_t nslot;
};

static int bad(as_resp *resp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A 400 with ARM's error body; returns -1. */
static int
bad(as_resp *resp, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	as_resp_arm_error(resp, 400, "BadRequest", "%s", msg);
	return -1;
}

/* ------------------------------------------------------------------ */
/* CSV columns (for dimensions as_cost_row lacks) */

/* Split one CSV record (RFC 4180, "\r\n" ended) in place: a field
 * shrinks as quotes are undone, so writing never passes reading. */
static size_t
csv_split(char *s, char **field, size_t max)
{
	size_t n = 0;

	while (n < max) {
		char *w = s, end;

		field[n++] = w;
		if (*s == '"') {
			for (s++; *s != '\0';) {
				if (s[0] == '"' && s[1] == '"') {
					*w++ = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else {
					*w++ = *s++;
				}
			}
		}
		while (*s != ',' && *s != '\r' && *s != '\n' && *s != '\0')
			*w++ = *s++;
		end = *s;
		*w = '\0';
		if (end != ',')
			break;
		s++;
	}
	return n;
}

static int
csv_column(struct query *q, const char *name)
{
	if (q->ncols == 0) {
		if (as_cost_csv_header(&q->header) != 0)
			return -1;
		q->ncols = csv_split(q->header.ptr, q->col, Q_MAX_COLS);
	}
	for (size_t i = 0; i < q->ncols; i++)
		if (strcasecmp(q->col[i], name) == 0)
			return (int)i;
	return -1;
}

/* A dimension's id: >= 0 from as_cost_row, < 0 a CSV column; -1000 when
 * neither knows the name. */
static int
dim_id(struct query *q, const char *name)
{
	int c;

	for (size_t i = 0; i < CB_ARRAY_SIZE(dims); i++)
		if (strcasecmp(dims[i].name, name) == 0)
			return dims[i].id;
	if ((c = csv_column(q, name)) < 0)
		return -1000;
	q->need_csv = true;
	return -1 - c;
}

static const char *
csv_field(struct query *q, as_costgen *g, int col)
{
	if (!q->line_parsed) {
		cb__buf_clear(&q->line);
		if (as_cost_csv_row(g, &q->line) != 0)
			return "";
		q->nfields = csv_split(q->line.ptr, q->field, Q_MAX_COLS);
		q->line_parsed = true;
	}
	return (size_t)col < q->nfields ? q->field[col] : "";
}

static const char *
dim_value(as_server *s, struct query *q, as_costgen *g, int dim,
	const as_cost_row *r)
{
	const as_partner *p = s->partner;
	const as_customer *c =
		r->customer == AS_ANY ? NULL : &p->customers[r->customer];

	switch (dim) {
	case D_RESOURCE_GROUP:
		return r->resource_group;
	case D_SERVICE_FAMILY:
		return r->service_family;
	case D_METER_CATEGORY:
		return r->meter_category;
	case D_METER_ID:
		return r->meter_id;
	case D_METER:
		return r->meter_name;
	case D_CHARGE_TYPE:
		return r->charge_type;
	case D_PUBLISHER_TYPE:
		return r->publisher_type;
	case D_PRICING_MODEL:
		return r->pricing_model;
	case D_SUBSCRIPTION_ID:
		return p->subscriptions[r->subscription].id;
	case D_SUBSCRIPTION_NAME:
		return p->subscriptions[r->subscription].display;
	case D_CUSTOMER_TENANT_ID:
		return c ? c->id : "";
	case D_CUSTOMER_NAME:
		return c ? c->display : "";
	case D_BILLING_PROFILE_ID:
		return p->profiles[r->profile].name;
	case D_BILLING_PROFILE_NAME:
		return p->profiles[r->profile].display;
	case D_RESELLER_MPN_ID:
		return c ? c->reseller_mpn : "";
	case D_RESELLER_NAME:
		return c ? c->reseller_name : "";
	case D_CURRENCY:
		return r->currency;
	default:
		return csv_field(q, g, -1 - dim);
	}
}

/* ------------------------------------------------------------------ */
/* Filters */

static void
filter_free(struct q_filter *f)
{
	for (size_t i = 0; f != NULL && i < f->nsub; i++)
		filter_free(&f->sub[i]);
	if (f != NULL)
		free(f->sub);
}

static int filter_parse(struct query *q, json_t *v, struct q_filter *out,
	int depth, as_resp *resp);

static int
filter_list(struct query *q, json_t *arr, struct q_filter *out, int depth,
	as_resp *resp, const char *what)
{
	size_t n = json_array_size(arr);

	if (!json_is_array(arr) || n < 2)
		return bad(resp,
			"Invalid query definition: '%s' needs at least two "
			"expressions.",
			what);
	if ((out->sub = calloc(n, sizeof(*out->sub))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		out->nsub = i + 1;
		if (filter_parse(q, json_array_get(arr, i), &out->sub[i],
			    depth + 1, resp) != 0)
			return -1;
	}
	return 0;
}

static int
filter_cmp(struct query *q, json_t *c, struct q_filter *out, bool tag,
	as_resp *resp)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *op = json_string_value(json_object_get(c, "operator"));
	json_t *values = json_object_get(c, "values");

	if (name == NULL || op == NULL || !json_is_array(values) ||
		json_array_size(values) == 0)
		return bad(resp,
			"Invalid query definition: a %s filter needs name, "
			"operator and values.",
			tag ? "tags" : "dimensions");
	if (strcasecmp(op, "In") != 0)
		return bad(resp,
			"Invalid query definition: the operator '%.40s' is "
			"not supported; use 'In'.",
			op);
	out->values = values;
	if (tag) {
		out->kind = F_TAG;
		out->tag = name;
		if (csv_column(q, "tags") < 0)
			return -1;
		q->need_csv = true;
		return 0;
	}
	out->kind = F_DIM;
	if ((out->dim = dim_id(q, name)) == -1000)
		return bad(resp,
			"Invalid query definition: the dimension '%.60s' is "
			"not valid for this scope.",
			name);
	return 0;
}

static int
filter_parse(struct query *q, json_t *v, struct q_filter *out, int depth,
	as_resp *resp)
{
	json_t *x;

	if (depth > Q_MAX_DEPTH || !json_is_object(v) ||
		json_object_size(v) != 1)
		return bad(resp,
			"Invalid query definition: each filter expression "
			"must be exactly one of and, or, not, dimensions, "
			"tags%s.",
			depth > Q_MAX_DEPTH ? " (nested too deep)" : "");
	if ((x = json_object_get(v, "and")) != NULL) {
		out->kind = F_AND;
		return filter_list(q, x, out, depth, resp, "and");
	}
	if ((x = json_object_get(v, "or")) != NULL) {
		out->kind = F_OR;
		return filter_list(q, x, out, depth, resp, "or");
	}
	if ((x = json_object_get(v, "not")) != NULL) {
		out->kind = F_NOT;
		if ((out->sub = calloc(1, sizeof(*out->sub))) == NULL)
			return -1;
		out->nsub = 1;
		return filter_parse(q, x, out->sub, depth + 1, resp);
	}
	if ((x = json_object_get(v, "dimensions")) != NULL)
		return filter_cmp(q, x, out, false, resp);
	if ((x = json_object_get(v, "tags")) != NULL)
		return filter_cmp(q, x, out, true, resp);
	return bad(resp,
		"Invalid query definition: each filter expression must be "
		"exactly one of and, or, not, dimensions, tags%s.",
		"");
}

static bool
value_in(json_t *values, const char *v)
{
	size_t i;
	json_t *x;

	/* Cost Management compares dimension values case-insensitively. */
	json_array_foreach(values, i,
		x) if (json_is_string(x) &&
		       strcasecmp(json_string_value(x), v) == 0) return true;
	return false;
}

/* Tags are a JSON object, or its inside without braces (notes e.3). */
static bool
tag_match(const char *text, const char *name, json_t *values)
{
	cb_buf b = CB_BUF_INIT;
	json_t *tags, *v;
	const char *k;
	bool hit = false;

	if (text[0] == '\0')
		return false;
	if (text[0] == '{')
		cb__buf_puts(&b, text);
	else
		cb__buf_printf(&b, "{%s}", text);
	tags = b.ptr ? json_loads(b.ptr, 0, NULL) : NULL;
	cb_buf_dispose(&b);
	json_object_foreach(tags, k,
		v) if (strcasecmp(k, name) == 0 && json_is_string(v)) hit =
		value_in(values, json_string_value(v));
	json_decref(tags);
	return hit;
}

static bool
filter_eval(as_server *s, struct query *q, as_costgen *g,
	const struct q_filter *f, const as_cost_row *r)
{
	switch (f->kind) {
	case F_AND:
		for (size_t i = 0; i < f->nsub; i++)
			if (!filter_eval(s, q, g, &f->sub[i], r))
				return false;
		return true;
	case F_OR:
		for (size_t i = 0; i < f->nsub; i++)
			if (filter_eval(s, q, g, &f->sub[i], r))
				return true;
		return false;
	case F_NOT:
		return !filter_eval(s, q, g, &f->sub[0], r);
	case F_DIM:
		return value_in(f->values, dim_value(s, q, g, f->dim, r));
	default:
		return tag_match(csv_field(q, g, csv_column(q, "tags")), f->tag,
			f->values);
	}
}

/* ------------------------------------------------------------------ */
/* The request */

static int
parse_type(json_t *body, as_metric *m, as_resp *resp)
{
	const char *t = json_string_value(json_object_get(body, "type"));

	if (t == NULL)
		return bad(resp, "Invalid query definition: %s",
			"'type' is required (Usage, ActualCost or "
			"AmortizedCost).");
	if (strcasecmp(t, "Usage") == 0 || strcasecmp(t, "ActualCost") == 0) {
		*m = AS_METRIC_ACTUAL;
		return 0;
	}
	if (strcasecmp(t, "AmortizedCost") == 0) {
		*m = AS_METRIC_AMORTIZED;
		return 0;
	}
	return bad(resp,
		"Invalid query definition: the type '%.40s' is not valid; use "
		"Usage, ActualCost or AmortizedCost.",
		t);
}

static int
parse_custom(json_t *body, int64_t *first, int64_t *last, as_resp *resp)
{
	json_t *tp = json_object_get(body, "timePeriod");
	const char *from = json_string_value(json_object_get(tp, "from"));
	const char *to = json_string_value(json_object_get(tp, "to"));

	if (from == NULL || to == NULL)
		return bad(resp, "Invalid query definition: %s",
			"timeframe 'Custom' needs timePeriod with from and "
			"to.");
	*first = as_cm_parse_day(from, false);
	*last = as_cm_parse_day(to, false);
	if (*first == INT64_MIN || *last == INT64_MIN)
		return bad(resp,
			"Invalid query definition: '%.60s' is not an ISO 8601 "
			"date-time.",
			*first == INT64_MIN ? from : to);
	if (*last < *first)
		return bad(resp, "Invalid query definition: %s",
			"timePeriod 'to' is before 'from'.");
	if (*last - *first >= 366)
		return bad(resp, "Invalid query definition: %s",
			"the time period cannot exceed 1 year.");
	return 0;
}

/* The days a timeframe covers; "now" is the partner's month end. */
static int
parse_timeframe(as_server *s, json_t *body, int64_t *first, int64_t *last,
	as_resp *resp)
{
	const char *tf = json_string_value(json_object_get(body, "timeframe"));
	int64_t p0, p1;
	int y, m, d;

	as_cm_period(s, &p0, &p1);
	if (tf == NULL)
		return bad(resp, "Invalid query definition: %s",
			"'timeframe' is required.");
	if (strcasecmp(tf, "MonthToDate") == 0 ||
		strcasecmp(tf, "BillingMonthToDate") == 0) {
		*first = p0;
		*last = p1;
	} else if (strcasecmp(tf, "TheLastMonth") == 0 ||
		   strcasecmp(tf, "TheLastBillingMonth") == 0) {
		as_civil_from_days(p0 - 1, &y, &m, &d);
		*first = as_days_from_civil(y, m, 1);
		*last = p0 - 1;
	} else if (strcasecmp(tf, "WeekToDate") == 0) {
		/* From the Sunday on or before now; day 0 was a Thursday. */
		*first = p1 - ((p1 % 7 + 11) % 7);
		*last = p1;
	} else if (strcasecmp(tf, "Custom") == 0) {
		return parse_custom(body, first, last, resp);
	} else {
		return bad(resp,
			"Invalid query definition: the timeframe '%.40s' is "
			"not valid.",
			tf);
	}
	return 0;
}

static int
parse_aggregation(struct query *q, json_t *agg, as_resp *resp)
{
	const char *alias;
	json_t *a;

	if (agg != NULL && !json_is_object(agg))
		return bad(resp, "Invalid query definition: %s",
			"'aggregation' must be an object.");
	json_object_foreach(agg, alias, a)
	{
		const char *name =
			json_string_value(json_object_get(a, "name"));
		const char *fn =
			json_string_value(json_object_get(a, "function"));
		int kind;

		if (q->naggs == Q_MAX_AGGS)
			return bad(resp, "Invalid query definition: %s",
				"too many aggregations.");
		if (fn == NULL || strcasecmp(fn, "Sum") != 0)
			return bad(resp,
				"Invalid query definition: aggregation '%.40s' "
				"must use the function Sum.",
				alias);
		if (name != NULL && (strcasecmp(name, "PreTaxCost") == 0 ||
					    strcasecmp(name, "Cost") == 0))
			kind = A_COST;
		else if (name != NULL &&
			 (strcasecmp(name, "CostUSD") == 0 ||
				 strcasecmp(name, "PreTaxCostUSD") == 0))
			kind = A_COST_USD;
		else if (name != NULL && strcasecmp(name, "UsageQuantity") == 0)
			kind = A_QUANTITY;
		else
			return bad(resp,
				"Invalid query definition: the aggregation "
				"column '%.40s' is not valid.",
				name ? name : "(none)");
		q->agg_kind[q->naggs] = kind;
		snprintf(q->agg_name[q->naggs], sizeof(q->agg_name[0]), "%s",
			name);
		q->naggs++;
	}
	if (q->naggs ==
		0) { /* Azure's default column [ex: SubscriptionQuery] */
		q->agg_kind[0] = A_COST;
		snprintf(q->agg_name[0], sizeof(q->agg_name[0]), "PreTaxCost");
		q->naggs = 1;
	}
	return 0;
}

static int
parse_grouping(struct query *q, json_t *grp, as_resp *resp)
{
	size_t i;
	json_t *g;

	if (grp != NULL && !json_is_array(grp))
		return bad(resp, "Invalid query definition: %s",
			"'grouping' must be an array.");
	if (json_array_size(grp) > Q_MAX_GROUPS)
		return bad(resp, "Invalid query definition: %s",
			"at most 2 groupings are allowed.");
	json_array_foreach(grp, i, g)
	{
		const char *type =
			json_string_value(json_object_get(g, "type"));
		const char *name =
			json_string_value(json_object_get(g, "name"));

		if (type == NULL || name == NULL)
			return bad(resp, "Invalid query definition: %s",
				"each grouping needs type and name.");
		if (strcasecmp(type, "Dimension") != 0)
			return bad(resp,
				"Invalid query definition: grouping type "
				"'%.40s' is not supported by armsim; use "
				"Dimension.",
				type);
		if ((q->group_dim[i] = dim_id(q, name)) == -1000)
			return bad(resp,
				"Invalid query definition: the dimension "
				"'%.60s' is not valid for this scope.",
				name);
		snprintf(
			q->group_name[i], sizeof(q->group_name[0]), "%s", name);
		q->ngroups = i + 1;
	}
	return 0;
}

static int
parse_dataset(struct query *q, json_t *ds, bool forecast, as_resp *resp)
{
	const char *gran =
		json_string_value(json_object_get(ds, "granularity"));
	json_t *filter = json_object_get(ds, "filter");

	if (ds != NULL && !json_is_object(ds))
		return bad(resp, "Invalid query definition: %s",
			"'dataset' must be an object.");
	if (gran == NULL || strcasecmp(gran, "None") == 0)
		q->granularity = G_NONE;
	else if (strcasecmp(gran, "Daily") == 0)
		q->granularity = G_DAILY;
	else if (strcasecmp(gran, "Monthly") == 0)
		q->granularity = G_MONTHLY;
	else
		return bad(resp,
			"Invalid query definition: the granularity '%.40s' is "
			"not valid; use Daily, Monthly or None.",
			gran);
	if (parse_aggregation(q, json_object_get(ds, "aggregation"), resp))
		return -1;
	if (forecast && json_array_size(json_object_get(ds, "grouping")))
		return bad(resp, "Invalid query definition: %s",
			"grouping is not supported for forecasts.");
	if (parse_grouping(q, json_object_get(ds, "grouping"), resp) != 0)
		return -1;
	if (filter == NULL)
		return 0;
	if ((q->filter = calloc(1, sizeof(*q->filter))) == NULL)
		return -1;
	return filter_parse(q, filter, q->filter, 0, resp);
}

static void
query_dispose(struct query *q)
{
	filter_free(q->filter);
	free(q->filter);
	json_decref(q->body);
	cb_buf_dispose(&q->header);
	cb_buf_dispose(&q->line);
}

/* 0; -1 with resp holding a 4xx (resp->status set) or nothing (500). */
static int
query_parse(as_server *s, as_req *req, struct query *q, bool forecast,
	as_resp *resp)
{
	memset(q, 0, sizeof(*q));
	if (as_cm_scope_resolve(s, req->cap[0], &q->scope, resp) != 0 ||
		(q->body = as_req_json(req, resp)) == NULL ||
		parse_type(q->body, &q->metric, resp) != 0 ||
		parse_timeframe(s, q->body, &q->first, &q->last, resp) != 0)
		return -1;
	return parse_dataset(
		q, json_object_get(q->body, "dataset"), forecast, resp);
}

/* ------------------------------------------------------------------ */
/* Summing */

static void
table_free(struct q_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->cells[i].key);
		for (size_t g = 0; g < Q_MAX_GROUPS; g++)
			free(t->cells[i].group[g]);
	}
	free(t->cells);
	free(t->slot);
}

static uint64_t
hash(const char *k)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *k != '\0'; k++)
		h = (h ^ (unsigned char)*k) * 0x100000001b3ull;
	return h;
}

static int
table_rehash(struct q_table *t)
{
	size_t n = t->nslot ? t->nslot * 2 : 64;
	size_t *slot = calloc(n, sizeof(*slot));

	if (slot == NULL)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		size_t h = (size_t)hash(t->cells[i].key) & (n - 1);
		while (slot[h] != 0)
			h = (h + 1) & (n - 1);
		slot[h] = i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->nslot = n;
	return 0;
}

/* The cell for key, created when new (groups copied from vals).  */
static struct q_cell *
table_get(struct q_table *t, const char *key, const char *const *vals,
	size_t nvals, long date, const char *currency)
{
	size_t h;
	struct q_cell *c;

	if (t->n * 2 >= t->nslot && table_rehash(t) != 0)
		return NULL;
	for (h = (size_t)hash(key) & (t->nslot - 1); t->slot[h] != 0;
		h = (h + 1) & (t->nslot - 1))
		if (strcmp(t->cells[t->slot[h] - 1].key, key) == 0)
			return &t->cells[t->slot[h] - 1];
	if (t->n == t->cap) {
		size_t n = t->cap ? t->cap * 2 : 32;
		struct q_cell *cells = realloc(t->cells, n * sizeof(*cells));
		if (cells == NULL)
			return NULL;
		t->cells = cells;
		t->cap = n;
	}
	c = &t->cells[t->n];
	memset(c, 0, sizeof(*c));
	if ((c->key = strdup(key)) == NULL)
		return NULL;
	for (size_t g = 0; g < nvals; g++)
		if ((c->group[g] = strdup(vals[g])) == NULL) {
			for (size_t k = 0; k < g; k++)
				free(c->group[k]);
			free(c->key);
			return NULL;
		}
	c->date = date;
	snprintf(c->currency, sizeof(c->currency), "%s", currency);
	t->slot[h] = ++t->n;
	return c;
}

static bool
all_usd(const struct query *q)
{
	for (size_t i = 0; i < q->naggs; i++)
		if (q->agg_kind[i] != A_COST_USD)
			return false;
	return true;
}

static cb_money
amount(int kind, const as_cost_row *r)
{
	return kind == A_COST
		       ? r->cost
		       : (kind == A_COST_USD ? r->cost_usd : r->quantity);
}

static int
add_row(as_server *s, struct query *q, as_costgen *g, const as_cost_row *r,
	struct q_table *t)
{
	const as_partner *p = s->partner;
	const char *vals[Q_MAX_GROUPS];
	const char *cur = all_usd(q) ? "USD" : r->currency;
	long date = 0;
	cb_buf key = CB_BUF_INIT;
	struct q_cell *c;
	int rc = -1;

	if (q->granularity == G_DAILY)
		date = (long)p->year * 10000 + p->month * 100 + r->day;
	else if (q->granularity == G_MONTHLY)
		date = (long)p->year * 10000 + p->month * 100 + 1;
	for (size_t i = 0; i < q->ngroups; i++) {
		vals[i] = dim_value(s, q, g, q->group_dim[i], r);
		cb__buf_printf(&key, "%s\x1f", vals[i]);
	}
	if (cb__buf_printf(&key, "%ld\x1f%s", date, cur) != 0 ||
		(c = table_get(t, key.ptr, vals, q->ngroups, date, cur)) ==
			NULL)
		goto done;
	for (size_t i = 0; i < q->naggs; i++)
		if (cb_money_add(&c->sum[i], c->sum[i],
			    amount(q->agg_kind[i], r)) != 0)
			goto done;
	rc = 0;
done:
	cb_buf_dispose(&key);
	return rc;
}

/* Sum the scope's lines in [q->first, q->last] into t.  0, or -1. */
static int
query_run(as_server *s, struct query *q, struct q_table *t)
{
	int64_t p0, p1, first = q->first, last = q->last;
	as_cost_filter f;
	as_costgen *g = NULL;
	const as_cost_row *r;
	int rc = 0;

	as_cm_period(s, &p0, &p1);
	if (first < p0)
		first = p0;
	if (last > p1)
		last = p1;
	if (first > last)
		return 0; /* no lines outside the partner's month */
	as_cm_scope_filter(&q->scope, q->metric, &f);
	f.first_day = (int)(first - p0 + 1);
	f.last_day = (int)(last - p0 + 1);
	if (as_costgen_open(&g, s->partner, &f) != 0)
		return -1;
	while (rc == 0 && as_costgen_next(g, &r) == 1) {
		q->line_parsed = false;
		if (q->filter != NULL && !filter_eval(s, q, g, q->filter, r))
			continue;
		rc = add_row(s, q, g, r, t);
	}
	as_costgen_free(g);
	return rc;
}

static int
cell_cmp(const void *a, const void *b)
{
	const struct q_cell *x = a, *y = b;
	int c;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	for (size_t g = 0; g < Q_MAX_GROUPS && x->group[g] != NULL; g++)
		if ((c = strcmp(x->group[g], y->group[g])) != 0)
			return c;
	return strcmp(x->currency, y->currency);
}

/* ------------------------------------------------------------------ */
/* The answer */

static json_t *
column(const char *name, const char *type)
{
	return json_pack("{s:s,s:s}", "name", name, "type", type);
}

static json_t *
date_number(long date)
{
	char t[16];

	snprintf(t, sizeof(t), "%ld", date);
	return as_json_number_text(t);
}

/* {id, name, type, properties{nextLink, columns, rows}} for the page of
 * rows req asks for (rows stolen). */
static void
answer(as_server *s, as_req *req, as_resp *resp, const char *type,
	const char *seg, json_t *columns, json_t *rows)
{
	long off = as_req_skiptoken(req, resp);
	size_t total = json_array_size(rows), size = s->opt.page_size;
	char id[1200], next[4096], guid[AS_GUID_LEN + 1];
	uint64_t st = s->opt.seed ^ (0x9e3779b9ull * req->seq);
	json_t *page;

	if (off < 0) {
		json_decref(columns);
		json_decref(rows);
		return;
	}
	if (size == 0)
		size = total ? total : 1;
	page = json_array();
	for (size_t i = (size_t)off; i < total && i < (size_t)off + size; i++)
		json_array_append(page, json_array_get(rows, i));
	json_decref(rows);
	as_next_link(s, req, (size_t)off + size, total, next, sizeof(next));
	as_rand_guid(&st, guid);
	snprintf(id, sizeof(id), "%s/providers/Microsoft.CostManagement/%s/%s",
		req->cap[0], seg, guid);
	as_resp_json(resp, 200,
		json_pack("{s:s,s:s,s:s,s:{s:o,s:o,s:o}}", "id", id, "name",
			guid, "type", type, "properties", "nextLink",
			next[0] ? json_string(next) : json_null(), "columns",
			columns, "rows", page));
}

static int
query_usage(as_server *s, as_req *req, as_resp *resp)
{
	struct query q;
	struct q_table t = { 0 };
	json_t *cols = NULL, *rows = NULL;
	int rc = -1;

	if (query_parse(s, req, &q, false, resp) != 0) {
		rc = resp->status ? 0 : -1;
		goto done;
	}
	if (query_run(s, &q, &t) != 0)
		goto done;
	if (t.n > 0)
		qsort(t.cells, t.n, sizeof(*t.cells), cell_cmp);
	cols = json_array();
	rows = json_array();
	for (size_t i = 0; i < q.naggs; i++)
		json_array_append_new(cols, column(q.agg_name[i], "Number"));
	for (size_t i = 0; i < q.ngroups; i++)
		json_array_append_new(cols, column(q.group_name[i], "String"));
	if (q.granularity != G_NONE)
		json_array_append_new(cols, column("UsageDate", "Number"));
	json_array_append_new(cols, column("Currency", "String"));
	for (size_t i = 0; i < t.n; i++) {
		struct q_cell *c = &t.cells[i];
		json_t *row = json_array();
		for (size_t a = 0; a < q.naggs; a++)
			json_array_append_new(row, as_json_money(c->sum[a]));
		for (size_t g = 0; g < q.ngroups; g++)
			json_array_append_new(row, json_string(c->group[g]));
		if (q.granularity != G_NONE)
			json_array_append_new(row, date_number(c->date));
		json_array_append_new(row, json_string(c->currency));
		json_array_append_new(rows, row);
	}
	answer(s, req, resp, "microsoft.costmanagement/Query", "Query", cols,
		rows);
	cols = rows = NULL;
	rc = 0;
done:
	json_decref(cols);
	json_decref(rows);
	table_free(&t);
	query_dispose(&q);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Forecast: actual cost for the partner's month (now is its end), and
 * for each later day the month's average daily cost per currency - a
 * simple, deterministic model, exact to the 18th place. */

/* Most currencies one scope bills in (the partner has three). */
#define Q_MAX_CURRENCIES 8

struct fc_currency {
	char code[4];
	cb_money avg[Q_MAX_AGGS];
};

static long
day_date(int64_t day, int granularity)
{
	int y, m, d;

	as_civil_from_days(day, &y, &m, &d);
	if (granularity == G_NONE)
		return 0;
	return (long)y * 10000 + m * 100 + (granularity == G_DAILY ? d : 1);
}

static int
fc_add(struct q_table *out, long date, const char *status, const char *cur,
	const cb_money *v, size_t n)
{
	char key[64];
	struct q_cell *c;

	snprintf(key, sizeof(key), "%ld\x1f%s\x1f%s", date, status, cur);
	if ((c = table_get(out, key, &status, 1, date, cur)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (cb_money_add(&c->sum[i], c->sum[i], v[i]) != 0)
			return -1;
	return 0;
}

/* Average daily cost per currency over the partner's month. */
static int
fc_averages(const struct q_table *act, size_t naggs, int ndays,
	struct fc_currency *cur, size_t *ncur)
{
	cb_money days = cb_money_from_int(ndays);

	*ncur = 0;
	for (size_t i = 0; i < act->n; i++) {
		const struct q_cell *c = &act->cells[i];
		size_t k = 0;
		while (k < *ncur && strcmp(cur[k].code, c->currency) != 0)
			k++;
		if (k == *ncur) {
			if (k == Q_MAX_CURRENCIES)
				return -1;
			memset(&cur[k], 0, sizeof(cur[k]));
			memcpy(cur[k].code, c->currency, 4);
			(*ncur)++;
		}
		for (size_t a = 0; a < naggs; a++)
			if (cb_money_add(&cur[k].avg[a], cur[k].avg[a],
				    c->sum[a]) != 0)
				return -1;
	}
	for (size_t k = 0; k < *ncur; k++)
		for (size_t a = 0; a < naggs; a++)
			if (cb_money_div(&cur[k].avg[a], cur[k].avg[a], days) !=
				0)
				return -1;
	return 0;
}

static int
fc_build(as_server *s, struct query *q, int gran, bool actual,
	const struct q_table *act, struct q_table *out)
{
	struct fc_currency cur[Q_MAX_CURRENCIES];
	int64_t p0, p1;
	size_t ncur;

	as_cm_period(s, &p0, &p1);
	if (fc_averages(act, q->naggs, (int)(p1 - p0 + 1), cur, &ncur) != 0)
		return -1;
	for (int64_t d = q->first; d <= q->last; d++) {
		long date = day_date(d, gran), daily = day_date(d, G_DAILY);
		if (d > p1) {
			for (size_t k = 0; k < ncur; k++)
				if (fc_add(out, date, "Forecast", cur[k].code,
					    cur[k].avg, q->naggs) != 0)
					return -1;
			continue;
		}
		if (!actual || d < p0)
			continue;
		for (size_t i = 0; i < act->n; i++)
			if (act->cells[i].date == daily &&
				fc_add(out, date, "Actual",
					act->cells[i].currency,
					act->cells[i].sum, q->naggs) != 0)
				return -1;
	}
	return 0;
}

static int
fc_flag(json_t *body, const char *name, bool *out, as_resp *resp)
{
	json_t *v = json_object_get(body, name);

	*out = v == NULL || json_is_true(v);
	if (v != NULL && !json_is_boolean(v))
		return bad(resp,
			"Invalid forecast definition: '%s' must be a "
			"boolean.",
			name);
	return 0;
}

static int
forecast(as_server *s, as_req *req, as_resp *resp)
{
	struct query q;
	struct q_table act = { 0 }, out = { 0 };
	json_t *cols = NULL, *rows = NULL;
	int64_t first, last;
	bool actual, fresh;
	int gran, rc = -1;

	if (query_parse(s, req, &q, true, resp) != 0 ||
		fc_flag(q.body, "includeActualCost", &actual, resp) != 0 ||
		fc_flag(q.body, "includeFreshPartialCost", &fresh, resp) != 0) {
		rc = resp->status ? 0 : -1;
		goto done;
	}
	/* Actuals: the whole month, daily, whatever was asked. */
	gran = q.granularity;
	first = q.first;
	last = q.last;
	as_cm_period(s, &q.first, &q.last);
	q.granularity = G_DAILY;
	if (query_run(s, &q, &act) != 0)
		goto done;
	q.first = first;
	q.last = last;
	if (fc_build(s, &q, gran, actual, &act, &out) != 0)
		goto done;
	if (out.n > 0)
		qsort(out.cells, out.n, sizeof(*out.cells), cell_cmp);
	cols = json_array();
	rows = json_array();
	for (size_t i = 0; i < q.naggs; i++)
		json_array_append_new(cols, column(q.agg_name[i], "Number"));
	if (gran != G_NONE)
		json_array_append_new(cols, column("UsageDate", "Number"));
	json_array_append_new(cols, column("CostStatus", "String"));
	json_array_append_new(cols, column("Currency", "String"));
	for (size_t i = 0; i < out.n; i++) {
		struct q_cell *c = &out.cells[i];
		json_t *row = json_array();
		for (size_t a = 0; a < q.naggs; a++)
			json_array_append_new(row, as_json_money(c->sum[a]));
		if (gran != G_NONE)
			json_array_append_new(row, date_number(c->date));
		json_array_append_new(row, json_string(c->group[0]));
		json_array_append_new(row, json_string(c->currency));
		json_array_append_new(rows, row);
	}
	answer(s, req, resp, "Microsoft.CostManagement/query", "query", cols,
		rows);
	cols = rows = NULL;
	rc = 0;
done:
	json_decref(cols);
	json_decref(rows);
	table_free(&act);
	table_free(&out);
	query_dispose(&q);
	return rc;
}

/* Query and Forecast are reads that carry a body (POST), as in Azure. */
const as_route as_query_routes[] = {
	{ "POST", "/{scope*}/providers/Microsoft.CostManagement/query",
		AS_API_COSTMGMT, 0, query_usage },
	{ "POST", "/{scope*}/providers/Microsoft.CostManagement/forecast",
		AS_API_COSTMGMT, 0, forecast },
	{ NULL, NULL, 0, 0, NULL }
};
