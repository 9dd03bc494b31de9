/*
 * tenants/budget.c - customer budgets: plan and apply
 * (include/chargeback/budget.h says what; this says how).
 *
 * A plan is computed one customer at a time: the budgets the templates
 * want (amounts from the configuration or from the Query API), then the
 * customer's budgets listed from ARM, each matched by name: a managed one
 * ("cb-" + template) is compared field by field with what its template
 * wants, a hand-made one is only listed.  Comparisons are on canonical
 * text built the same way from both sides (amounts and thresholds through
 * cb_money, dates as YYYY-MM-DD, notifications and filters one line per
 * entry), so what armsim or Azure echoes back compares equal to what we
 * sent and a second plan is empty.
 */
#include "core/common.h"

#include "chargeback/budget.h"
#include "core/arm.h"
#include "core/buf.h"
#include "core/glob.h"
#include "core/calendar.h"
#include "core/json.h"
#include "tenants/session.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BUDGET_API_VERSION "2024-08-01"
#define QUERY_API_VERSION  "2024-08-01"

/* Path of a customer scope; billing account names are at most 128 and
 * customer ids far shorter (config.c, 001). */
#define SCOPE_MAX 512

static const char *const grain_names[] = { "Monthly", "Quarterly", "Annually" };

struct customer {
	char *ba, *id, *name, *reseller;
};

/* An item and what apply needs beyond the public part. */
struct item {
	cb_budget_item pub;
	char *scope;   /* the customer scope path */
	char *body;    /* PUT body (CREATE, UPDATE) */
	bool recreate; /* the start date changes: DELETE, then PUT */
};

struct cb_budget_plan {
	const cb_config *cfg;
	cb__session *sess;
	struct item *items;
	size_t n, cap;
	char hash[32];
};

/* What a template wants for one customer. */
struct desired {
	const cb_budget_config *t;
	char name[72];
	cb_money amount;
	bool seen;
};

/* ------------------------------------------------------------------ */
/* Small helpers */

static int
dup_to(const char **field, const char *s)
{
	char *c;

	if (s == NULL) {
		*field = NULL;
		return 0;
	}
	if ((c = cb__strdup(s)) == NULL)
		return CB_ENOMEM;
	cb__free((void *)(uintptr_t)*field);
	*field = c;
	return 0;
}

static void
item_dispose(struct item *it)
{
	cb_budget_item *p = &it->pub;
	const char **f[] = { &p->billing_account_id, &p->customer_id,
		&p->customer_name, &p->budget_name, &p->amount, &p->new_amount,
		&p->changes, &p->etag, &p->error };

	for (size_t i = 0; i < CB_ARRAY_SIZE(f); i++)
		cb__free((void *)(uintptr_t)*f[i]);
	cb__free(it->scope);
	cb__free(it->body);
	memset(it, 0, sizeof(*it));
}

/* A new item for customer c, appended. */
static int
item_add(struct item **out, cb_budget_plan *plan, const struct customer *c,
	const char *scope, const char *budget_name, int action)
{
	struct item *it;

	if (plan->n == plan->cap) {
		size_t cap = plan->cap ? plan->cap * 2 : 16;
		struct item *p = cb__reallocarray(plan->items, cap, sizeof(*p));

		if (p == NULL)
			return CB_ENOMEM;
		plan->items = p;
		plan->cap = cap;
	}
	it = &plan->items[plan->n];
	memset(it, 0, sizeof(*it));
	plan->n++;
	it->pub.action = action;
	if (dup_to(&it->pub.billing_account_id, c->ba) < 0 ||
		dup_to(&it->pub.customer_id, c->id) < 0 ||
		dup_to(&it->pub.customer_name, c->name) < 0 ||
		dup_to(&it->pub.budget_name, budget_name) < 0 ||
		(it->scope = cb__strdup(scope)) == NULL)
		return CB_ENOMEM;
	*out = it;
	return 0;
}

static int
money_text(const char **field, cb_money m)
{
	char t[CB_MONEY_STR_MAX];

	cb_money_format(t, sizeof(t), m);
	return dup_to(field, t);
}

/* The last error as an item's message, with the request id. */
static int
item_fail(struct item *it, const char *call)
{
	const cb_error *e = cb_error_last();
	char msg[CB_ERROR_MESSAGE_MAX + 256];

	snprintf(msg, sizeof(msg), "customer '%s': %s: %s%s%s%s",
		it->pub.customer_id, call, e->message,
		e->request_id[0] ? " (request id " : "", e->request_id,
		e->request_id[0] ? ")" : "");
	it->pub.applied = -1;
	return dup_to(&it->pub.error, msg);
}

static bool
selects(const cb_budget_config *t, const struct customer *c)
{
	switch (t->select) {
	case CB_BUDGET_SELECT_ALL:
		return true;
	case CB_BUDGET_SELECT_CUSTOMERS:
		for (size_t i = 0; i < t->customer_count; i++)
			if (strcasecmp(t->customers[i], c->id) == 0)
				return true;
		return false;
	case CB_BUDGET_SELECT_NAME:
		return cb__glob_match_ci(t->pattern, c->name);
	case CB_BUDGET_SELECT_RESELLER:
		return strcasecmp(t->reseller, c->reseller) == 0;
	default:
		return false;
	}
}

/* ------------------------------------------------------------------ */
/* Customers */

struct customers {
	struct customer *v;
	size_t n, cap;
};

static void
customers_dispose(struct customers *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		cb__free(cs->v[i].ba);
		cb__free(cs->v[i].id);
		cb__free(cs->v[i].name);
		cb__free(cs->v[i].reseller);
	}
	cb__free(cs->v);
}

static int
customer_cb(const cb_budget_customer *c, void *payload)
{
	struct customers *cs = payload;
	struct customer *n;

	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 64;
		struct customer *p = cb__reallocarray(cs->v, cap, sizeof(*p));

		if (p == NULL)
			return CB_ENOMEM;
		cs->v = p;
		cs->cap = cap;
	}
	n = &cs->v[cs->n];
	memset(n, 0, sizeof(*n));
	cs->n++;
	if ((n->ba = cb__strdup(c->billing_account_id)) == NULL ||
		(n->id = cb__strdup(c->customer_id)) == NULL ||
		(n->name = cb__strdup(c->display_name)) == NULL ||
		(n->reseller = cb__strdup(c->reseller_id)) == NULL)
		return CB_ENOMEM;
	return 0;
}

/* Keep the customers of the configured billing accounts (all when the
 * configuration names none). */
static void
customers_filter_accounts(struct customers *cs, const cb_config *cfg)
{
	size_t keep = 0, nba = cb_config_billing_account_count(cfg);

	for (size_t i = 0; i < cs->n; i++) {
		bool ok = nba == 0;

		for (size_t j = 0; j < nba && !ok; j++)
			ok = strcmp(cb_config_billing_account(cfg, j),
				     cs->v[i].ba) == 0;
		if (ok) {
			cs->v[keep++] = cs->v[i];
			continue;
		}
		cb__free(cs->v[i].ba);
		cb__free(cs->v[i].id);
		cb__free(cs->v[i].name);
		cb__free(cs->v[i].reseller);
	}
	cs->n = keep;
}

static const struct customer *
customer_find(const struct customers *cs, const char *id)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strcasecmp(cs->v[i].id, id) == 0)
			return &cs->v[i];
	return NULL;
}

/* The templates against the customers: each selects someone, and names
 * only customers that exist (issue 4: error naming the config line). */
static int
check_templates(const cb_config *cfg, const struct customers *cs)
{
	for (size_t i = 0; i < cb_config_budget_count(cfg); i++) {
		const cb_budget_config *t = cb_config_budget(cfg, i);
		bool any = false;

		for (size_t j = 0; j < t->customer_count; j++)
			if (customer_find(cs, t->customers[j]) == NULL)
				return cb__error_set(CB_ECONFIG,
					CB_ERRCLASS_CONFIG,
					"%s:%u: budget '%s': unknown customer "
					"'%s' (not in the store; run "
					"chargeback sync)",
					cb_config_source(cfg),
					t->customer_lines[j], t->name,
					t->customers[j]);
		for (size_t j = 0; j < cs->n && !any; j++)
			any = selects(t, &cs->v[j]);
		if (!any)
			return cb__error_set(CB_ECONFIG, CB_ERRCLASS_CONFIG,
				"%s:%u: budget '%s' selects no customer",
				cb_config_source(cfg), t->select_line, t->name);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Amounts from history */

/* y, m of as_of (or today, UTC). */
static int
as_of_month(const char *as_of, int *y, int *m)
{
	if (as_of == NULL) {
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		*y = tm.tm_year + 1900;
		*m = tm.tm_mon + 1;
		return 0;
	}
	if (strlen(as_of) != 10 || as_of[4] != '-' || as_of[7] != '-' ||
		sscanf(as_of, "%4d-%2d", y, m) != 2 || *m < 1 || *m > 12 ||
		*y < 2000)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"as-of date '%.32s' is not YYYY-MM-DD", as_of);
	return 0;
}

struct query_sum {
	cb_money sum;
	char currency[8];
	int error;
};

static int
query_page(const cb_json *page, void *payload)
{
	struct query_sum *q = payload;
	const cb_json_node *cols, *rows;
	size_t cost_col = SIZE_MAX, cur_col = SIZE_MAX;
	int error;

	if ((error = cb__json_get_array(&cols, page, cb__json_root(page),
		     "properties.columns", 0)) < 0 ||
		(error = cb__json_get_array(&rows, page, cb__json_root(page),
			 "properties.rows", 0)) < 0)
		return error;
	for (size_t i = 0; i < cb__json_array_size(cols); i++) {
		const char *n = cb__json_string_value(cb__json_object_get(
			cb__json_array_get(cols, i), "name"));

		if (n != NULL && strcmp(n, "Cost") == 0)
			cost_col = i;
		if (n != NULL && strcmp(n, "Currency") == 0)
			cur_col = i;
	}
	if (cost_col == SIZE_MAX)
		return cb__json_error(page, cb__json_root(page),
			"properties.columns", "no Cost column");
	for (size_t r = 0; r < cb__json_array_size(rows); r++) {
		const cb_json_node *row = cb__json_array_get(rows, r);
		const char *cur =
			cb__json_string_value(cb__json_array_get(row, cur_col));
		char idx[32];
		cb_money v;

		snprintf(idx, sizeof(idx), "[%zu]", cost_col);
		if ((error = cb__json_get_money(&v, page, row, idx, 0)) < 0)
			return error;
		if (cur != NULL && q->currency[0] != '\0' &&
			strcmp(cur, q->currency) != 0)
			return cb__error_set(CB_EPARSE, CB_ERRCLASS_AZURE,
				"query: costs in two currencies (%s, %.8s)",
				q->currency, cur);
		if (cur != NULL)
			snprintf(q->currency, sizeof(q->currency), "%s", cur);
		if (cb_money_add(&q->sum, q->sum, v) < 0)
			return cb__error_set(CB_EOVERFLOW, CB_ERRCLASS_MONEY,
				"query: cost sum out of range");
	}
	return 0;
}

/*
 * The amount of a history template: ceil(sum x percent / (100 x months)
 * / step) x step, at least one step.  The ceiling is found exactly: k
 * steps cover the average when k x step x 100 x months >= sum x percent,
 * all products of exact decimals.
 */
int cb__budget_round_up(cb_money *out, cb_money sum, cb_money percent,
	int months, cb_money step);

int
cb__budget_round_up(cb_money *out, cb_money sum, cb_money percent, int months,
	cb_money step)
{
	cb_money target, avg, k, cover;
	cb_money denom = cb_money_from_int((int64_t)100 * months);

	if (cb_money_mul(&target, sum, percent) < 0 ||
		cb_money_div(&avg, target, denom) < 0 ||
		cb_money_div(&k, avg, step) < 0 || cb_money_round(&k, k, 0) < 0)
		return cb__error_set(CB_EOVERFLOW, CB_ERRCLASS_MONEY,
			"budget amount from history is out of range");
	for (int guard = 0; guard < 4; guard++) {
		cb_money prev;

		/* k steps must cover; k - 1 must not. */
		if (cb_money_mul(&cover, k, step) < 0 ||
			cb_money_mul(&cover, cover, denom) < 0)
			return cb__error_set(CB_EOVERFLOW, CB_ERRCLASS_MONEY,
				"budget amount from history is out of range");
		if (cb_money_cmp(cover, target) < 0) {
			cb_money_add(&k, k, cb_money_from_int(1));
			continue;
		}
		cb_money_sub(&prev, k, cb_money_from_int(1));
		if (cb_money_sign(prev) > 0 &&
			cb_money_mul(&cover, prev, step) == 0 &&
			cb_money_mul(&cover, cover, denom) == 0 &&
			cb_money_cmp(cover, target) >= 0) {
			k = prev;
			continue;
		}
		break;
	}
	if (cb_money_sign(k) <= 0)
		k = cb_money_from_int(1);
	if (cb_money_mul(out, k, step) < 0)
		return cb__error_set(CB_EOVERFLOW, CB_ERRCLASS_MONEY,
			"budget amount from history is out of range");
	return 0;
}

/* ActualCost of scope over the months complete months before as_of. */
static int
history_sum(cb_budget_plan *plan, const char *scope, int months, int ay, int am,
	cb_money *out)
{
	char path[SCOPE_MAX + 64], body[512];
	struct query_sum q = { .sum = CB_MONEY_ZERO };
	int fy = ay, fm = am - months, ly = ay, lm = am - 1, error;

	while (fm < 1) {
		fm += 12;
		fy--;
	}
	if (lm < 1) {
		lm += 12;
		ly--;
	}
	snprintf(path, sizeof(path),
		"%s/providers/Microsoft.CostManagement/query", scope);
	snprintf(body, sizeof(body),
		"{\"type\":\"ActualCost\",\"timeframe\":\"Custom\","
		"\"timePeriod\":{\"from\":\"%04d-%02d-01T00:00:00Z\","
		"\"to\":\"%04d-%02d-%02dT00:00:00Z\"},"
		"\"dataset\":{\"granularity\":\"None\",\"aggregation\":"
		"{\"totalCost\":{\"name\":\"Cost\",\"function\":\"Sum\"}}}}",
		fy, fm, ly, lm, cb__days_in_month(ly, lm));
	error = cb__arm_query(
		plan->sess->arm, path, QUERY_API_VERSION, body, query_page, &q);
	if (error < 0)
		return error;
	*out = q.sum;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The wanted budget, as a body and as canonical text */

static void
notification_name(
	char *out, size_t outlen, const cb_budget_notification_config *n)
{
	char t[CB_MONEY_STR_MAX];

	cb_money_format(t, sizeof(t), n->threshold);
	for (char *p = t; *p; p++)
		if (*p == '.')
			*p = '_';
	snprintf(out, outlen, "%s_%s_%s_Percent",
		n->forecasted ? "Forecasted" : "Actual",
		n->or_equal ? "GreaterThanOrEqualTo" : "GreaterThan", t);
}

/* The end date Azure keeps: the configured one, else start + 10 years. */
static void
end_date(char out[11], const cb_budget_config *t)
{
	if (t->end != NULL) {
		snprintf(out, 11, "%s", t->end);
		return;
	}
	int y = (t->start[0] - '0') * 1000 + (t->start[1] - '0') * 100 +
		(t->start[2] - '0') * 10 + (t->start[3] - '0') + 10;

	/* start is YYYY-MM-01 (config.c), so the day always exists. */
	out[0] = (char)('0' + y / 1000 % 10);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	memcpy(out + 4, t->start + 4, 6);
	out[10] = '\0';
}

static int
build_body(cb_buf *out, const struct desired *d, const char *etag)
{
	const cb_budget_config *t = d->t;
	cb_json *doc = NULL;
	cb_json_node *root, *props, *node;
	char date[40], end[11], name[96];
	int e = 0;

	if ((e = cb__json_new(&doc, "budget body")) < 0)
		return e;
	root = cb__json_root_mut(doc);
	if (etag != NULL)
		e = cb__json_set_string(doc, root, "eTag", etag);
	if (e == 0)
		e = cb__json_set_object(&props, doc, root, "properties");
	if (e == 0)
		e = cb__json_set_string(doc, props, "category", "Cost");
	if (e == 0)
		e = cb__json_set_money(doc, props, "amount", d->amount);
	if (e == 0)
		e = cb__json_set_string(
			doc, props, "timeGrain", grain_names[t->grain]);
	snprintf(date, sizeof(date), "%sT00:00:00Z", t->start);
	if (e == 0)
		e = cb__json_set_string(
			doc, props, "timePeriod.startDate", date);
	end_date(end, t);
	snprintf(date, sizeof(date), "%sT00:00:00Z", end);
	if (e == 0)
		e = cb__json_set_string(doc, props, "timePeriod.endDate", date);
	for (size_t i = 0; e == 0 && i < t->filter_count; i++) {
		const cb_budget_filter_config *f = &t->filters[i];
		const char *kind = f->tag ? "tags" : "dimensions";
		char at[64];

		if (t->filter_count == 1)
			e = cb__json_set_object(&node, doc, props, "filter");
		else
			e = cb__json_set_object(
				&node, doc, props, "filter.and[]");
		snprintf(at, sizeof(at), "%s.name", kind);
		if (e == 0)
			e = cb__json_set_string(doc, node, at, f->name);
		snprintf(at, sizeof(at), "%s.operator", kind);
		if (e == 0)
			e = cb__json_set_string(doc, node, at, "In");
		snprintf(at, sizeof(at), "%s.values[]", kind);
		for (size_t v = 0; e == 0 && v < f->value_count; v++)
			e = cb__json_set_string(doc, node, at, f->values[v]);
	}
	if (e == 0)
		e = cb__json_set_object(&node, doc, props, "notifications");
	for (size_t i = 0; e == 0 && i < t->notification_count; i++) {
		const cb_budget_notification_config *n = &t->notifications[i];
		cb_json_node *nn;

		notification_name(name, sizeof(name), n);
		/* Names are [A-Za-z0-9_]: no path syntax to escape. */
		e = cb__json_set_object(&nn, doc, node, name);
		if (e == 0)
			e = cb__json_set_bool(doc, nn, "enabled", n->enabled);
		if (e == 0)
			e = cb__json_set_string(doc, nn, "operator",
				n->or_equal ? "GreaterThanOrEqualTo"
					    : "GreaterThan");
		if (e == 0)
			e = cb__json_set_money(
				doc, nn, "threshold", n->threshold);
		if (e == 0 && n->locale != NULL)
			e = cb__json_set_string(doc, nn, "locale", n->locale);
		if (e == 0)
			e = cb__json_set_array(NULL, doc, nn, "contactEmails");
		for (size_t k = 0; e == 0 && k < n->email_count; k++)
			e = cb__json_set_string(
				doc, nn, "contactEmails[]", n->emails[k]);
		if (e == 0)
			e = cb__json_set_string(doc, nn, "thresholdType",
				n->forecasted ? "Forecasted" : "Actual");
	}
	if (e == 0)
		e = cb__json_dump(out, root);
	cb__json_free(doc);
	return e;
}

/* Canonical notification lines, "name: ..." each ending in '\n', sorted
 * by name (both sides are built the same way). */
static int
canon_sort(cb_buf *out, char **lines, size_t n)
{
	int e = 0;

	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0;
			j--) {
			char *t = lines[j];
			lines[j] = lines[j - 1];
			lines[j - 1] = t;
		}
	for (size_t i = 0; e == 0 && i < n; i++)
		e = cb__buf_printf(out, "%s\n", lines[i]);
	return e;
}

static int
canon_desired_notes(cb_buf *out, const cb_budget_config *t)
{
	char *lines[16] = { 0 };
	size_t n = 0;
	int e = 0;

	for (size_t i = 0; e == 0 && i < t->notification_count && i < 16; i++) {
		const cb_budget_notification_config *c = &t->notifications[i];
		cb_buf l = CB_BUF_INIT;
		char name[96], th[CB_MONEY_STR_MAX];

		notification_name(name, sizeof(name), c);
		cb_money_format(th, sizeof(th), c->threshold);
		e = cb__buf_printf(&l,
			"%s enabled=%s operator=%s threshold=%s "
			"type=%s locale=%s emails=",
			name, c->enabled ? "true" : "false",
			c->or_equal ? "GreaterThanOrEqualTo" : "GreaterThan",
			th, c->forecasted ? "Forecasted" : "Actual",
			c->locale ? c->locale : "");
		for (size_t k = 0; e == 0 && k < c->email_count; k++)
			e = cb__buf_printf(
				&l, "%s%s", k ? "," : "", c->emails[k]);
		if (e == 0 && (lines[n] = cb__buf_detach(&l)) != NULL)
			n++;
		else
			e = e ? e : CB_ENOMEM;
		cb_buf_dispose(&l);
	}
	if (e == 0)
		e = canon_sort(out, lines, n);
	for (size_t i = 0; i < n; i++)
		cb__free(lines[i]);
	return e;
}

/* Azure's notifications; entries that are not objects are skipped
 * (Consumption's list example has one, azure-api-notes.md a.4). */
static int
canon_current_notes(cb_buf *out, const cb_json *doc, const cb_json_node *ns)
{
	cb_json_member m = CB_JSON_MEMBER_INIT;
	char *lines[64] = { 0 };
	size_t n = 0;
	int e = 0;

	while (e == 0 && n < 64 && cb__json_object_next(ns, &m)) {
		const cb_json_node *v = m.value, *emails;
		const char *op = "", *type = "Actual", *locale = "";
		bool enabled = false;
		cb_money th = CB_MONEY_ZERO;
		char tt[CB_MONEY_STR_MAX];
		cb_buf l = CB_BUF_INIT;

		if (cb__json_type(v) != CB_JSON_OBJECT)
			continue;
		cb__json_get_bool(
			&enabled, doc, v, "enabled", CB_JSON_OPTIONAL);
		cb__json_get_string(&op, doc, v, "operator", CB_JSON_OPTIONAL);
		cb__json_get_string(
			&type, doc, v, "thresholdType", CB_JSON_OPTIONAL);
		cb__json_get_string(
			&locale, doc, v, "locale", CB_JSON_OPTIONAL);
		if (cb__json_get_money(&th, doc, v, "threshold",
			    CB_JSON_OPTIONAL) == CB_EPARSE)
			return CB_EPARSE;
		cb_money_format(tt, sizeof(tt), th);
		e = cb__buf_printf(&l,
			"%s enabled=%s operator=%s threshold=%s "
			"type=%s locale=%s emails=",
			m.key, enabled ? "true" : "false", op, tt, type,
			locale);
		emails = cb__json_object_get(v, "contactEmails");
		for (size_t k = 0; e == 0 && k < cb__json_array_size(emails);
			k++) {
			const char *s = cb__json_string_value(
				cb__json_array_get(emails, k));
			e = cb__buf_printf(
				&l, "%s%s", k ? "," : "", s ? s : "");
		}
		if (e == 0 && (lines[n] = cb__buf_detach(&l)) != NULL)
			n++;
		else
			e = e ? e : CB_ENOMEM;
		cb_buf_dispose(&l);
	}
	if (e == 0)
		e = canon_sort(out, lines, n);
	for (size_t i = 0; i < n; i++)
		cb__free(lines[i]);
	return e;
}

static int
canon_desired_filter(cb_buf *out, const cb_budget_config *t)
{
	int e = 0;

	for (size_t i = 0; e == 0 && i < t->filter_count; i++) {
		const cb_budget_filter_config *f = &t->filters[i];

		e = cb__buf_printf(out, "%s%s %s in (", i ? " and " : "",
			f->tag ? "tag" : "dimension", f->name);
		for (size_t v = 0; e == 0 && v < f->value_count; v++)
			e = cb__buf_printf(
				out, "%s%s", v ? "," : "", f->values[v]);
		if (e == 0)
			e = cb__buf_puts(out, ")");
	}
	return e;
}

static int
canon_expression(cb_buf *out, const cb_json_node *x, bool first)
{
	const cb_json_node *d = cb__json_object_get(x, "dimensions");
	const cb_json_node *t = cb__json_object_get(x, "tags");
	const cb_json_node *c = d ? d : t, *vals;
	const char *name =
		cb__json_string_value(cb__json_object_get(c, "name"));
	int e;

	e = cb__buf_printf(out, "%s%s %s in (", first ? "" : " and ",
		d ? "dimension" : "tag", name ? name : "");
	vals = cb__json_object_get(c, "values");
	for (size_t v = 0; e == 0 && v < cb__json_array_size(vals); v++) {
		const char *s =
			cb__json_string_value(cb__json_array_get(vals, v));
		e = cb__buf_printf(out, "%s%s", v ? "," : "", s ? s : "");
	}
	return e ? e : cb__buf_puts(out, ")");
}

static int
canon_current_filter(cb_buf *out, const cb_json_node *f)
{
	const cb_json_node *and = cb__json_object_get(f, "and");
	int e = 0;

	if (f == NULL || cb__json_type(f) != CB_JSON_OBJECT)
		return 0;
	if (and == NULL) {
		if (cb__json_object_get(f, "dimensions") == NULL &&
			cb__json_object_get(f, "tags") == NULL)
			return 0;
		return canon_expression(out, f, true);
	}
	for (size_t i = 0; e == 0 && i < cb__json_array_size(and); i++)
		e = canon_expression(out, cb__json_array_get(and, i), i == 0);
	return e;
}

/* "+a, -b, ~c": notification names added, removed, changed. */
static int
diff_notes(cb_buf *out, const char *want, const char *have)
{
	int e = 0;
	bool first = true;

	for (int side = 0; side < 2; side++) {
		const char *a = side == 0 ? want : have;
		const char *b = side == 0 ? have : want;

		for (const char *l = a; e == 0 && *l; l = strchr(l, '\n') + 1) {
			size_t len = strcspn(l, "\n"), nlen = strcspn(l, " ");
			const char *m = b, *found = NULL;

			for (; *m; m = strchr(m, '\n') + 1)
				if (strncmp(m, l, nlen) == 0 && m[nlen] == ' ')
					found = m;
			if (found == NULL)
				e = cb__buf_printf(out, "%s%c%.*s",
					first ? "" : ", ",
					side == 0 ? '+' : '-', (int)nlen, l);
			else if (side == 0 && (strncmp(found, l, len) != 0 ||
						      found[len] != '\n'))
				e = cb__buf_printf(out, "%s~%.*s",
					first ? "" : ", ", (int)nlen, l);
			else
				continue;
			first = false;
		}
	}
	return e;
}

static int
change(cb_buf *out, const char *field, const char *from, const char *to)
{
	return cb__buf_printf(out, "%s%s: %s -> %s", out->size ? "; " : "",
		field, from[0] ? from : "none", to[0] ? to : "none");
}

/* Compare a managed budget at Azure with what d wants; the differences
 * into out ("" when none); *start_changed when the start date differs. */
static int
diff_budget(cb_buf *out, const struct desired *d, const cb_json *doc,
	const cb_json_node *props, cb_money *current, bool *start_changed)
{
	const cb_budget_config *t = d->t;
	const char *grain = "", *start = "", *end = "";
	const cb_json_node *notes = NULL, *filter = NULL;
	cb_buf want = CB_BUF_INIT, have = CB_BUF_INIT, part = CB_BUF_INIT;
	char a[CB_MONEY_STR_MAX], b[CB_MONEY_STR_MAX], endw[11], s10[11],
		e10[11];
	int e;

	*current = CB_MONEY_ZERO;
	*start_changed = false;
	if ((e = cb__json_get_money(
		     current, doc, props, "amount", CB_JSON_OPTIONAL)) < 0 &&
		e != CB_ENOTFOUND)
		return e;
	cb__json_get_string(&grain, doc, props, "timeGrain", CB_JSON_OPTIONAL);
	cb__json_get_string(
		&start, doc, props, "timePeriod.startDate", CB_JSON_OPTIONAL);
	cb__json_get_string(
		&end, doc, props, "timePeriod.endDate", CB_JSON_OPTIONAL);
	cb__json_get_object(
		&notes, doc, props, "notifications", CB_JSON_OPTIONAL);
	cb__json_get_node(&filter, doc, props, "filter", CB_JSON_OPTIONAL);
	snprintf(s10, sizeof(s10), "%.10s", start);
	snprintf(e10, sizeof(e10), "%.10s", end);
	e = 0;
	if (cb_money_cmp(*current, d->amount) != 0) {
		cb_money_format(a, sizeof(a), *current);
		cb_money_format(b, sizeof(b), d->amount);
		e = change(out, "amount", a, b);
	}
	if (e == 0 && strcasecmp(grain, grain_names[t->grain]) != 0)
		e = change(out, "timeGrain", grain, grain_names[t->grain]);
	if (e == 0 && strcmp(s10, t->start) != 0) {
		*start_changed = true;
		e = change(out, "startDate", s10, t->start);
	}
	end_date(endw, t);
	if (e == 0 && strcmp(e10, endw) != 0)
		e = change(out, "endDate", e10, endw);
	if (e == 0)
		e = canon_desired_filter(&want, t);
	if (e == 0)
		e = canon_current_filter(&have, filter);
	if (e == 0 &&
		strcmp(want.ptr ? want.ptr : "", have.ptr ? have.ptr : ""))
		e = change(out, "filter", have.ptr ? have.ptr : "",
			want.ptr ? want.ptr : "");
	cb__buf_clear(&want);
	cb__buf_clear(&have);
	if (e == 0)
		e = canon_desired_notes(&want, t);
	if (e == 0)
		e = canon_current_notes(&have, doc, notes);
	if (e == 0 &&
		strcmp(want.ptr ? want.ptr : "", have.ptr ? have.ptr : "")) {
		e = diff_notes(&part, want.ptr ? want.ptr : "",
			have.ptr ? have.ptr : "");
		if (e == 0)
			e = cb__buf_printf(out, "%snotifications: %s",
				out->size ? "; " : "",
				part.ptr ? part.ptr : "");
	}
	cb_buf_dispose(&want);
	cb_buf_dispose(&have);
	cb_buf_dispose(&part);
	return e;
}

/* ------------------------------------------------------------------ */
/* One customer */

struct list_ctx {
	cb_budget_plan *plan;
	const struct customer *c;
	const char *scope;
	int mode;
	struct desired *want;
	size_t nwant;
};

static int
list_item(const cb_json *doc, const cb_json_node *b, void *payload)
{
	struct list_ctx *lc = payload;
	const char *name = NULL, *etag = NULL;
	const cb_json_node *props = NULL;
	struct desired *d = NULL;
	struct item *it;
	cb_money current = CB_MONEY_ZERO;
	bool managed;
	int e;

	if ((e = cb__json_get_string(&name, doc, b, "name", 0)) < 0)
		return e;
	cb__json_get_string(&etag, doc, b, "eTag", CB_JSON_OPTIONAL);
	cb__json_get_object(&props, doc, b, "properties", CB_JSON_OPTIONAL);
	managed =
		strncmp(name, CB_BUDGET_MARKER, strlen(CB_BUDGET_MARKER)) == 0;
	for (size_t i = 0; managed && i < lc->nwant; i++)
		if (strcasecmp(lc->want[i].name, name) == 0)
			d = &lc->want[i];
	if ((e = item_add(&it, lc->plan, lc->c, lc->scope, name,
		     CB_BUDGET_UNCHANGED)) < 0)
		return e;
	if ((e = dup_to(&it->pub.etag, etag)) < 0)
		return e;
	if (props != NULL &&
		(e = cb__json_get_money(&current, doc, props, "amount",
			 CB_JSON_OPTIONAL)) < 0 &&
		e != CB_ENOTFOUND)
		return e;
	if ((e = money_text(&it->pub.amount, current)) < 0)
		return e;
	if (!managed) {
		it->pub.action = CB_BUDGET_UNMANAGED;
		return 0;
	}
	if (lc->mode == CB_BUDGET_MODE_DELETE ||
		(lc->mode == CB_BUDGET_MODE_PLAN && d == NULL)) {
		it->pub.action = CB_BUDGET_DELETE;
		return 0;
	}
	if (d == NULL)
		return 0;
	d->seen = true;
	{
		cb_buf diff = CB_BUF_INIT, body = CB_BUF_INIT;

		e = diff_budget(&diff, d, doc, props, &current, &it->recreate);
		if (e == 0 && diff.size > 0) {
			it->pub.action = CB_BUDGET_UPDATE;
			e = dup_to(&it->pub.changes, diff.ptr);
			if (e == 0)
				e = money_text(&it->pub.new_amount, d->amount);
			if (e == 0)
				e = build_body(
					&body, d, it->recreate ? NULL : etag);
			if (e == 0 &&
				(it->body = cb__buf_detach(&body)) == NULL)
				e = CB_ENOMEM;
		}
		cb_buf_dispose(&diff);
		cb_buf_dispose(&body);
	}
	return e;
}

static int
item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return strcmp(x->pub.budget_name, y->pub.budget_name);
}

static int
plan_customer(cb_budget_plan *plan, const struct customer *c, int mode, int ay,
	int am)
{
	char scope[SCOPE_MAX], path[SCOPE_MAX + 64];
	size_t first = plan->n, nt = cb_config_budget_count(plan->cfg);
	struct desired *want = NULL;
	struct list_ctx lc = {
		.plan = plan, .c = c, .scope = scope, .mode = mode
	};
	struct item *it;
	const char *call = "listing budgets";
	bool have_hist = false;
	cb_money hist[13];
	bool hist_ok[13] = { false };
	int e = 0;

	snprintf(scope, sizeof(scope),
		"/providers/Microsoft.Billing/billingAccounts/%s/customers/%s",
		c->ba, c->id);
	if (mode == CB_BUDGET_MODE_PLAN && nt > 0 &&
		(want = cb__calloc(nt, sizeof(*want))) == NULL)
		return CB_ENOMEM;
	for (size_t i = 0; mode == CB_BUDGET_MODE_PLAN && i < nt; i++) {
		const cb_budget_config *t = cb_config_budget(plan->cfg, i);
		struct desired *d = &want[lc.nwant];

		if (!selects(t, c))
			continue;
		d->t = t;
		snprintf(d->name, sizeof(d->name), "%s%s", CB_BUDGET_MARKER,
			t->name);
		d->amount = t->amount;
		if (!t->fixed) {
			if (!hist_ok[t->months]) {
				call = "querying ActualCost";
				e = history_sum(plan, scope, t->months, ay, am,
					&hist[t->months]);
				if (e < 0)
					goto fail;
				hist_ok[t->months] = have_hist = true;
			}
			if ((e = cb__budget_round_up(&d->amount,
				     hist[t->months], t->percent, t->months,
				     t->step)) < 0)
				goto fail;
		}
		lc.nwant++;
	}
	(void)have_hist;
	lc.want = want;
	call = "listing budgets";
	snprintf(path, sizeof(path),
		"%s/providers/Microsoft.Consumption/budgets", scope);
	if ((e = cb__arm_list(plan->sess->arm, path, BUDGET_API_VERSION,
		     list_item, &lc)) < 0)
		goto fail;
	for (size_t i = 0; i < lc.nwant; i++) {
		cb_buf body = CB_BUF_INIT;

		if (want[i].seen)
			continue;
		if ((e = item_add(&it, plan, c, scope, want[i].name,
			     CB_BUDGET_CREATE)) < 0 ||
			(e = money_text(&it->pub.new_amount, want[i].amount)) <
				0 ||
			(e = build_body(&body, &want[i], NULL)) < 0) {
			cb_buf_dispose(&body);
			goto done;
		}
		it->body = cb__buf_detach(&body);
		cb_buf_dispose(&body);
		if (it->body == NULL) {
			e = CB_ENOMEM;
			goto done;
		}
	}
	if (plan->n > first)
		qsort(plan->items + first, plan->n - first,
			sizeof(*plan->items), item_cmp);
	goto done;
fail:
	if (e == CB_ENOMEM)
		goto done;
	while (plan->n > first)
		item_dispose(&plan->items[--plan->n]);
	if ((e = item_add(&it, plan, c, scope, NULL, CB_BUDGET_FAILED)) == 0)
		e = item_fail(it, call);
done:
	cb__free(want);
	return e;
}

/* ------------------------------------------------------------------ */
/* The public API */

int
cb_budget_plan_new(cb_budget_plan **out, const cb_config *cfg, cb_store *store,
	const cb_budget_options *opts)
{
	cb_budget_options dflt = CB_BUDGET_OPTIONS_INIT;
	struct customers cs = { 0 };
	cb_budget_plan *plan = NULL;
	cb_buf hash = CB_BUF_INIT;
	size_t done = 0, total = 0;
	int e, ay = 0, am = 0;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(cfg);
	CB_ASSERT_ARG(store);
	if (opts == NULL)
		opts = &dflt;
	CB_ASSERT_ARG(opts->version == CB_BUDGET_OPTIONS_VERSION);
	CB_ASSERT_ARG(opts->mode >= CB_BUDGET_MODE_PLAN &&
		      opts->mode <= CB_BUDGET_MODE_DELETE);
	if ((e = as_of_month(opts->as_of, &ay, &am)) < 0)
		return e;
	if ((e = cb_store_budget_customers(store, customer_cb, &cs)) < 0)
		goto done;
	customers_filter_accounts(&cs, cfg);
	if (opts->mode == CB_BUDGET_MODE_PLAN &&
		(e = check_templates(cfg, &cs)) < 0)
		goto done;
	for (size_t i = 0; i < opts->customer_count; i++)
		if (customer_find(&cs, opts->customers[i]) == NULL) {
			e = cb__error_set(CB_ENOTFOUND, CB_ERRCLASS_INVALID,
				"customer '%s' is not in the store (run "
				"chargeback sync)",
				opts->customers[i]);
			goto done;
		}
	if ((plan = cb__calloc(1, sizeof(*plan))) == NULL) {
		e = CB_ENOMEM;
		goto done;
	}
	plan->cfg = cfg;
	if ((e = cb_config_hash(&hash, cfg)) < 0)
		goto done;
	snprintf(plan->hash, sizeof(plan->hash), "%s", hash.ptr);
	if ((e = cb__session_open(&plan->sess, cfg)) < 0)
		goto done;
	for (size_t i = 0; i < cs.n; i++) {
		bool in = opts->customer_count == 0;

		for (size_t j = 0; j < opts->customer_count && !in; j++)
			in = strcasecmp(opts->customers[j], cs.v[i].id) == 0;
		total += in;
		if (!in)
			cs.v[i].ba[0] = '\0'; /* skipped below */
	}
	for (size_t i = 0; i < cs.n; i++) {
		if (cs.v[i].ba[0] == '\0')
			continue;
		if ((e = plan_customer(plan, &cs.v[i], opts->mode, ay, am)) < 0)
			goto done;
		if (opts->progress != NULL)
			opts->progress(++done, total, opts->progress_payload);
	}
	*out = plan;
	plan = NULL;
	e = 0;
done:
	cb_buf_dispose(&hash);
	customers_dispose(&cs);
	cb_budget_plan_free(plan);
	return e;
}

size_t
cb_budget_plan_count(const cb_budget_plan *plan)
{
	return plan ? plan->n : 0;
}

const cb_budget_item *
cb_budget_plan_item(const cb_budget_plan *plan, size_t index)
{
	if (plan == NULL || index >= plan->n)
		return NULL;
	return &plan->items[index].pub;
}

size_t
cb_budget_plan_failures(const cb_budget_plan *plan)
{
	size_t n = 0;

	for (size_t i = 0; plan != NULL && i < plan->n; i++)
		n += plan->items[i].pub.action == CB_BUDGET_FAILED ||
		     plan->items[i].pub.applied < 0;
	return n;
}

/* Record it, or keep the store's error in the item. */
static int
apply_record(cb_budget_plan *plan, cb_store *store, struct item *it)
{
	cb_budget_change ch = {
		.billing_account_id = it->pub.billing_account_id,
		.customer_id = it->pub.customer_id,
		.budget_name = it->pub.budget_name,
		.action = it->pub.action,
		.old_amount = it->pub.action == CB_BUDGET_CREATE
				      ? NULL
				      : it->pub.amount,
		.new_amount = it->pub.action == CB_BUDGET_DELETE
				      ? NULL
				      : it->pub.new_amount,
		.etag = it->pub.action == CB_BUDGET_DELETE ? NULL
							   : it->pub.etag,
		.config_hash = plan->hash,
	};

	if (cb_store_budget_record(store, &ch) < 0)
		return item_fail(it, "recording the change");
	it->pub.applied = 1;
	return 0;
}

static int
apply_one(cb_budget_plan *plan, cb_store *store, struct item *it)
{
	char path[SCOPE_MAX + 128];
	cb_json *doc = NULL;
	const char *etag = NULL;
	int e;

	snprintf(path, sizeof(path),
		"%s/providers/Microsoft.Consumption/budgets/%s", it->scope,
		it->pub.budget_name);
	if (it->pub.action == CB_BUDGET_DELETE || it->recreate) {
		e = cb__arm_delete(
			&doc, plan->sess->arm, path, BUDGET_API_VERSION);
		cb__json_free(doc);
		doc = NULL;
		if (e < 0)
			return e == CB_ENOMEM ? e
					      : item_fail(it, "DELETE budget");
		if (it->pub.action == CB_BUDGET_DELETE)
			return apply_record(plan, store, it);
	}
	e = cb__arm_put(
		&doc, plan->sess->arm, path, BUDGET_API_VERSION, it->body);
	if (e < 0)
		return e == CB_ENOMEM ? e : item_fail(it, "PUT budget");
	if (doc != NULL)
		cb__json_get_string(&etag, doc, cb__json_root(doc), "eTag",
			CB_JSON_OPTIONAL);
	e = dup_to(&it->pub.etag, etag);
	cb__json_free(doc);
	return e < 0 ? e : apply_record(plan, store, it);
}

int
cb_budget_plan_apply(cb_budget_plan *plan, cb_store *store)
{
	int e;

	CB_ASSERT_ARG(plan);
	CB_ASSERT_ARG(store);
	for (size_t i = 0; i < plan->n; i++) {
		struct item *it = &plan->items[i];
		int a = it->pub.action;

		if (it->pub.applied != 0 ||
			(a != CB_BUDGET_CREATE && a != CB_BUDGET_UPDATE &&
				a != CB_BUDGET_DELETE))
			continue;
		if ((e = apply_one(plan, store, it)) < 0)
			return e;
	}
	return 0;
}

void
cb_budget_plan_free(cb_budget_plan *plan)
{
	if (plan == NULL)
		return;
	for (size_t i = 0; i < plan->n; i++)
		item_dispose(&plan->items[i]);
	cb__free(plan->items);
	cb__session_close(plan->sess);
	cb__free(plan);
}
