/*
 * emulator/budgets.c - budgets: Microsoft.Consumption/budgets and
 * Microsoft.CostManagement/budgets (azure-api-notes.md a.2 #18, a.3 #19,
 * a.4), at billing account, billing profile, customer, subscription and
 * resource group scope.
 *
 * Both providers serve one store: Cost Management's budgets API is the
 * successor of Consumption's and Azure shows a budget made through one
 * through the other; only "type" differs.  A budget is keyed by its scope
 * and name, both compared case-insensitively as ARM does.
 *
 * Writes: PUT creates (201) or replaces (200); every write makes a new
 * eTag.  A PUT of an existing budget that carries an eTag (body "eTag",
 * as the swagger defines it, or an If-Match header) other than the current
 * one is refused with 400 and code "400", "There are changes made to
 * Budget X. Please get the latest budget to avoid overwrite." - the answer
 * the budgets service gives in the field (MicrosoftDocs/azure-docs#34023,
 * hashicorp/terraform#21050; Azure adds "(Request ID: ...)", armsim does
 * not, being deterministic) - and counted as a "stale-etag" violation.  A
 * PUT without an eTag overwrites, as Azure does.  The budgets service
 * answers its own validation errors the same way (400, code "400"); the
 * messages below are armsim's, in that style, and tests pin them.
 *
 * "Now" is the partner's period (the month of generated cost lines), so
 * the start-date rules and the eTags are deterministic.  currentSpend is
 * the scope's ActualCost of that month (budget_spend()).
 *
 * Request numbers never pass through binary floating point: before jansson sees
 * the body, every number token is rewritten into a marked string holding its
 * literal text (respond.c's marker), so amounts and thresholds are read
 * with cb_money_parse() and written back with as_json_money().
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/armsim.h"
#include "emulator/budgets.h"
#include "emulator/calendar.h"
#include "emulator/costgen.h"
#include "emulator/partner.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Budgets armsim holds at once: far beyond any test, and a bound on the
 * memory a runaway client can take. */
#define BUDGETS_MAX 10000
/* Notifications per thresholdType (swagger maxItems 5). */
#define NOTIFY_MAX 5
/* contactEmails and contactGroups per notification (swagger maxItems). */
#define CONTACTS_MAX 50
/* Budget name length (swagger pattern and ARM template limits). */
#define NAME_MAX_LEN 63

enum prov { PROV_CONSUMPTION, PROV_COSTMGMT };

struct ymd {
	int y, m, d;
};

struct budget {
	char *scope; /* as first written, without a leading '/' */
	char *name;
	char etag[40];
	as_budget_scope sc;
	struct ymd start, end;
	int grain_months; /* 1, 3, 12; 0 for ReservationUtilization */
	bool forecast;    /* a Forecasted notification exists */
	bool cost;        /* category Cost */
	json_t *props;    /* canonical properties, without the spends */
};

struct as_budgets {
	struct budget *items;
	size_t n, cap;
	uint64_t writes; /* eTags are derived from this count */
};

/* ------------------------------------------------------------------ */
/* Errors */

/* The budgets service's 400: code "400" (see the header comment). */
static void bad(as_resp *resp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
bad(as_resp *resp, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	as_resp_arm_error(resp, 400, "400", "%s", msg);
}

/* ------------------------------------------------------------------ */
/* The body: numbers kept as text */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A number's literal text, or NULL when v is not a number. */
static const char *
num_text(const json_t *v)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	return s != NULL && s[0] == AS_NUM_MARK ? s + 1 : NULL;
}

/* A string's text, or NULL when v is not a string (numbers are not). */
static const char *
str_text(const json_t *v)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	return s != NULL && s[0] != AS_NUM_MARK ? s : NULL;
}

/* A JSON value for messages: its text, or its type. */
static const char *
shown(const json_t *v)
{
	if (num_text(v) != NULL)
		return num_text(v);
	if (str_text(v) != NULL)
		return str_text(v);
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	if (json_is_null(v))
		return "null";
	return json_is_array(v) ? "an array" : "an object";
}

/* ------------------------------------------------------------------ */
/* Dates */

static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "yyyy-MM-dd" with an optional midnight "THH:mm:ss[.000][Z|+00:00]",
 * what the SDKs send (JavaScript's Date adds milliseconds). */
static bool
parse_date(const char *s, struct ymd *out)
{
	struct ymd d;
	const char *p;

	if (s == NULL || strlen(s) < 10 || s[4] != '-' || s[7] != '-')
		return false;
	d.y = digits(s, 4);
	d.m = digits(s + 5, 2);
	d.d = digits(s + 8, 2);
	if (d.y < 1 || d.m < 1 || d.m > 12 || d.d < 1 ||
		d.d > as_days_in_month(d.y, d.m))
		return false;
	p = s + 10;
	if (*p == 'T') {
		if (strncmp(p, "T00:00:00", 9) != 0)
			return false;
		p += 9;
		if (*p == '.') {
			p++;
			if (*p != '0')
				return false;
			while (*p == '0')
				p++;
		}
		if (*p == 'Z')
			p++;
		else if (strcmp(p, "+00:00") == 0)
			p += 6;
	}
	if (*p != '\0')
		return false;
	*out = d;
	return true;
}

static int
ymd_cmp(struct ymd a, struct ymd b)
{
	long x = a.y * 10000L + a.m * 100L + a.d;
	long y = b.y * 10000L + b.m * 100L + b.d;

	return x < y ? -1 : x > y;
}

/* Months since year 0, for month arithmetic. */
static int
month_index(int y, int m)
{
	return y * 12 + m - 1;
}

static json_t *
date_json(struct ymd d)
{
	char t[32];

	snprintf(t, sizeof(t), "%04d-%02d-%02dT00:00:00Z", d.y, d.m, d.d);
	return json_string(t);
}

/* ------------------------------------------------------------------ */
/* Scopes */

static bool
seg_is(const char *seg, const char *lit)
{
	return strcasecmp(seg, lit) == 0;
}

int
as_budget_scope_resolve(
	as_server *s, const char *scope, as_budget_scope *sc, as_resp *resp)
{
	const as_partner *p = s->partner;
	char buf[1024], *seg[8], *save = NULL;
	size_t n = 0;

	memset(sc, 0, sizeof(*sc));
	sc->profile = sc->customer = sc->subscription = (size_t)-1;
	snprintf(buf, sizeof(buf), "%s", scope);
	for (char *t = strtok_r(buf, "/", &save); t != NULL;
		t = strtok_r(NULL, "/", &save)) {
		if (n == 8)
			goto unsupported;
		seg[n++] = t;
	}
	if ((n == 2 || n == 4) && seg_is(seg[0], "subscriptions")) {
		const as_subscription *sub = as_partner_subscription(p, seg[1]);
		if (n == 4 && !seg_is(seg[2], "resourceGroups"))
			goto unsupported;
		if (sub == NULL) {
			as_resp_arm_error(resp, 404, "SubscriptionNotFound",
				"The subscription '%.64s' could not be found.",
				seg[1]);
			return -1;
		}
		sc->kind = n == 2 ? AS_BSCOPE_SUBSCRIPTION
				  : AS_BSCOPE_RESOURCE_GROUP;
		sc->subscription = AS_INDEX(p, subscriptions, sub);
		sc->account = sub->account;
		sc->profile = sub->profile;
		sc->customer = sub->customer;
		if (n == 4)
			snprintf(sc->resource_group, sizeof(sc->resource_group),
				"%s", seg[3]);
		return 0;
	}
	if (n < 4 || !seg_is(seg[0], "providers") ||
		!seg_is(seg[1], "Microsoft.Billing") ||
		!seg_is(seg[2], "billingAccounts") || (n != 4 && n != 6) ||
		(n == 6 && !seg_is(seg[4], "customers") &&
			!seg_is(seg[4], "billingProfiles")))
		goto unsupported;
	const as_account *a = as_partner_account(p, seg[3]);
	if (a == NULL) {
		as_resp_arm_error(resp, 404, "NotFound",
			"The billing account '%.128s' was not found.", seg[3]);
		return -1;
	}
	sc->account = AS_INDEX(p, accounts, a);
	sc->kind = AS_BSCOPE_ACCOUNT;
	if (n == 4)
		return 0;
	if (seg_is(seg[4], "customers")) {
		const as_customer *c = as_partner_customer(p, a, seg[5]);
		if (c == NULL) {
			as_resp_arm_error(resp, 404, "NotFound",
				"The customer '%.64s' was not found in "
				"billing account '%.128s'.",
				seg[5], seg[3]);
			return -1;
		}
		sc->kind = AS_BSCOPE_CUSTOMER;
		sc->customer = AS_INDEX(p, customers, c);
		sc->profile = c->profile;
		return 0;
	}
	const as_profile *bp = as_partner_profile(p, a, seg[5]);
	if (bp == NULL) {
		as_resp_arm_error(resp, 404, "NotFound",
			"The billing profile '%.64s' was not found in billing "
			"account '%.128s'.",
			seg[5], seg[3]);
		return -1;
	}
	sc->kind = AS_BSCOPE_PROFILE;
	sc->profile = AS_INDEX(p, profiles, bp);
	return 0;
unsupported:
	bad(resp,
		"The scope '%.300s' is not supported for budgets: use a "
		"billing account, billing profile, customer, subscription or "
		"resource group scope.",
		scope);
	return -1;
}

static bool
scope_is_billing(const as_budget_scope *sc)
{
	return sc->kind == AS_BSCOPE_ACCOUNT || sc->kind == AS_BSCOPE_PROFILE ||
	       sc->kind == AS_BSCOPE_CUSTOMER;
}

/* ------------------------------------------------------------------ */
/* Validation of the budget body (azure-api-notes.md a.4) */

/* What a valid PUT body becomes. */
struct parsed {
	json_t *props;
	struct ymd start, end;
	int grain_months;
	bool forecast, cost;
};

static const char *const cost_grains[] = { "Monthly", "Quarterly", "Annually",
	"BillingMonth", "BillingQuarter", "BillingAnnual", NULL };
static const int cost_grain_months[] = { 1, 3, 12, 1, 3, 12 };
static const char *const ru_grains[] = { "Last7Days", "Last30Days", NULL };
static const char *const cost_operators[] = { "GreaterThan",
	"GreaterThanOrEqualTo", "EqualTo", NULL };
static const char *const threshold_types[] = { "Actual", "Forecasted", NULL };
static const char *const frequencies[] = { "Daily", "Weekly", "Monthly", NULL };
static const char *const locales[] = { "en-us", "ja-jp", "zh-cn", "de-de",
	"es-es", "fr-fr", "it-it", "ko-kr", "pt-br", "ru-ru", "zh-tw", "cs-cz",
	"pl-pl", "tr-tr", "da-dk", "en-gb", "hu-hu", "nb-no", "nl-nl", "pt-pt",
	"sv-se", NULL };

/* Index of s in list (case-insensitive, as Azure reads its enums), or
 * -1. */
static int
enum_index(const char *const *list, const char *s)
{
	for (int i = 0; s != NULL && list[i] != NULL; i++)
		if (strcasecmp(list[i], s) == 0)
			return i;
	return -1;
}

/* "'a', 'b' or 'c'" for messages. */
static const char *
enum_list(const char *const *list, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; list[i] != NULL && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s'%s'",
			i == 0 ? "" : (list[i + 1] == NULL ? " or " : ", "),
			list[i]);
	return out;
}

/* An enum field: the canonical spelling, or NULL with a 400. */
static const char *
want_enum(as_resp *resp, const json_t *v, const char *what,
	const char *const *list)
{
	char known[256];
	int i = enum_index(list, str_text(v));

	if (i >= 0)
		return list[i];
	if (v == NULL)
		bad(resp, "%s is required.", what);
	else
		bad(resp,
			"%s '%.64s' is not supported. Supported values are "
			"%s.",
			what, shown(v), enum_list(list, known, sizeof(known)));
	return NULL;
}

static bool
valid_email(const char *e)
{
	const char *at = strchr(e, '@');

	if (at == NULL || at == e || at[1] == '\0' || strchr(at + 1, '@') ||
		strchr(at + 1, '.') == NULL || strlen(e) > 254)
		return false;
	for (const char *p = e; *p != '\0'; p++)
		if (*p <= ' ' || *p == ',' || *p == ';')
			return false;
	return true;
}

/* An array of 0..max strings, copied; NULL with a 400. */
static json_t *
want_strings(as_resp *resp, const json_t *v, const char *what, size_t max)
{
	json_t *out;
	size_t i;
	json_t *x;

	if (!json_is_array(v)) {
		bad(resp, "%s must be an array of strings.", what);
		return NULL;
	}
	if (json_array_size(v) > max) {
		bad(resp, "%s has %zu entries; at most %zu are allowed.", what,
			json_array_size(v), max);
		return NULL;
	}
	out = json_array();
	json_array_foreach(v, i, x)
	{
		const char *t = str_text(x);

		if (t == NULL || t[0] == '\0') {
			json_decref(out);
			bad(resp, "%s must be an array of non-empty strings.",
				what);
			return NULL;
		}
		json_array_append_new(out, json_string(t));
	}
	return out;
}

/* One comparison {name, operator: In, values}; where names it. */
static json_t *
want_comparison(
	as_resp *resp, const json_t *c, const char *where, bool ru, bool is_tag)
{
	const char *name = str_text(json_object_get(c, "name"));
	const char *op = str_text(json_object_get(c, "operator"));
	const json_t *vals = json_object_get(c, "values");
	char what[96];
	json_t *v;

	if (!json_is_object(c) || name == NULL || name[0] == '\0') {
		bad(resp, "Budget filter %s needs a 'name'.", where);
		return NULL;
	}
	if (op == NULL || strcasecmp(op, "In") != 0) {
		bad(resp,
			"Budget filter %s: operator '%.32s' is not "
			"supported. Supported values are 'In'.",
			where, op ? op : shown(json_object_get(c, "operator")));
		return NULL;
	}
	if (ru && (is_tag || (strcasecmp(name, "ReservationId") != 0 &&
				     strcasecmp(name, "ReservedResourceType") !=
					     0))) {
		bad(resp,
			"Budget filter %s: a ReservationUtilization budget "
			"filters on the dimensions 'ReservationId' or "
			"'ReservedResourceType' only.",
			where);
		return NULL;
	}
	snprintf(what, sizeof(what), "Budget filter %s values", where);
	if ((v = want_strings(resp, vals, what, 1000)) == NULL)
		return NULL;
	if (json_array_size(v) == 0) {
		json_decref(v);
		bad(resp, "Budget filter %s values must not be empty.", where);
		return NULL;
	}
	return json_pack(
		"{s:s,s:s,s:o}", "name", name, "operator", "In", "values", v);
}

/* {dimensions:{...}} or {tags:{...}}, exactly one. */
static json_t *
want_expression(as_resp *resp, const json_t *e, const char *where, bool ru)
{
	const json_t *d = json_object_get(e, "dimensions");
	const json_t *t = json_object_get(e, "tags");
	char w[64];
	json_t *c;

	if (!json_is_object(e) || (d == NULL) == (t == NULL)) {
		bad(resp,
			"Budget filter%s%s must have exactly one of "
			"'dimensions' or 'tags'.",
			where[0] ? " " : "", where);
		return NULL;
	}
	snprintf(w, sizeof(w), "%s%s%s", where, where[0] ? "." : "",
		d ? "dimensions" : "tags");
	if ((c = want_comparison(resp, d ? d : t, w, ru, d == NULL)) == NULL)
		return NULL;
	return json_pack("{s:o}", d ? "dimensions" : "tags", c);
}

static json_t *
want_filter(as_resp *resp, const json_t *f, bool ru)
{
	const json_t *and = json_object_get(f, "and");
	json_t *out, *x;
	size_t i;

	if (!json_is_object(f)) {
		bad(resp, "Budget filter must be an object.");
		return NULL;
	}
	if (json_object_size(f) == 0)
		return json_object();
	if (and == NULL)
		return want_expression(resp, f, "", ru);
	if (json_object_size(f) != 1 || !json_is_array(and)) {
		bad(resp, "Budget filter must have exactly one of 'and', "
			  "'dimensions' or 'tags'.");
		return NULL;
	}
	if (json_array_size(and) < 2) {
		bad(resp, "Budget filter 'and' must have at least 2 "
			  "expressions.");
		return NULL;
	}
	out = json_array();
	json_array_foreach(and, i, x)
	{
		char w[32];
		json_t *e;

		snprintf(w, sizeof(w), "and[%zu]", i);
		if ((e = want_expression(resp, x, w, ru)) == NULL) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, e);
	}
	return json_pack("{s:o}", "and", out);
}

/* A threshold: a number, 0 < t <= max, at most 2 decimals. */
static json_t *
want_threshold(as_resp *resp, const json_t *v, const char *nname, int max)
{
	const char *t = num_text(v);
	cb_money m, r;

	if (v == NULL) {
		bad(resp, "Notification '%.128s': threshold is required.",
			nname);
		return NULL;
	}
	if (t == NULL || cb_money_parse(&m, t, strlen(t)) != 0) {
		bad(resp,
			"Notification '%.128s': threshold '%.64s' is not a "
			"number.",
			nname, shown(v));
		return NULL;
	}
	if (cb_money_sign(m) <= 0 ||
		cb_money_cmp(m, cb_money_from_int(max)) > 0) {
		bad(resp,
			"Notification '%.128s': threshold %.64s must be "
			"greater than 0 and at most %d.",
			nname, t, max);
		return NULL;
	}
	if (cb_money_round(&r, m, 2) != 0 || cb_money_cmp(r, m) != 0) {
		bad(resp,
			"Notification '%.128s': threshold %.64s has more "
			"than 2 decimal places.",
			nname, t);
		return NULL;
	}
	return as_json_money(m);
}

/* Contacts: emails always, roles and groups at Azure RBAC scopes only. */
static int
want_contacts(as_resp *resp, const json_t *n, const char *nname,
	const as_budget_scope *sc, json_t *out)
{
	const json_t *emails = json_object_get(n, "contactEmails");
	const json_t *roles = json_object_get(n, "contactRoles");
	const json_t *groups = json_object_get(n, "contactGroups");
	char what[192];
	json_t *v;
	size_t i;

	snprintf(what, sizeof(what), "Notification '%.128s': contactEmails",
		nname);
	if (emails == NULL) {
		bad(resp, "%s is required.", what);
		return -1;
	}
	if ((v = want_strings(resp, emails, what, CONTACTS_MAX)) == NULL)
		return -1;
	json_object_set_new(out, "contactEmails", v);
	for (i = 0; i < json_array_size(v); i++) {
		const char *e = json_string_value(json_array_get(v, i));
		if (!valid_email(e)) {
			bad(resp,
				"Notification '%.128s': contact email "
				"'%.128s' is not a valid e-mail address.",
				nname, e);
			return -1;
		}
	}
	if (scope_is_billing(sc) && (roles != NULL || groups != NULL)) {
		bad(resp,
			"Notification '%.128s': %s supported only at "
			"subscription and resource group scopes.",
			nname,
			roles ? "contactRoles are" : "contactGroups are");
		return -1;
	}
	if (roles != NULL) {
		snprintf(what, sizeof(what),
			"Notification '%.128s': contactRoles", nname);
		if ((v = want_strings(resp, roles, what, CONTACTS_MAX)) == NULL)
			return -1;
		json_object_set_new(out, "contactRoles", v);
	}
	if (groups != NULL) {
		snprintf(what, sizeof(what),
			"Notification '%.128s': contactGroups", nname);
		if ((v = want_strings(resp, groups, what, CONTACTS_MAX)) ==
			NULL)
			return -1;
		json_object_set_new(out, "contactGroups", v);
	}
	/* Billing scopes e-mail only; RBAC scopes need someone to tell. */
	if (json_array_size(json_object_get(out, "contactEmails")) == 0 &&
		(scope_is_billing(sc) || json_array_size(json_object_get(
						 out, "contactGroups")) == 0)) {
		bad(resp,
			"Notification '%.128s': at least one contact %s is "
			"required.",
			nname,
			scope_is_billing(sc) ? "e-mail"
					     : "e-mail or contact group");
		return -1;
	}
	return 0;
}

/* One notification, in the examples' field order. */
static json_t *
want_notification(as_resp *resp, const json_t *n, const char *nname,
	const as_budget_scope *sc, bool ru, const char **ttype)
{
	static const char *const ru_operators[] = { "LessThan", NULL };
	const json_t *en = json_object_get(n, "enabled");
	const json_t *loc = json_object_get(n, "locale");
	char what[192];
	const char *op, *tt = "Actual", *freq = NULL;
	json_t *out, *th;

	if (!json_is_object(n)) {
		bad(resp, "Notification '%.128s' must be an object.", nname);
		return NULL;
	}
	if (!json_is_boolean(en)) {
		bad(resp, "Notification '%.128s': enabled %s.", nname,
			en ? "must be true or false" : "is required");
		return NULL;
	}
	snprintf(what, sizeof(what), "Notification '%.128s': operator", nname);
	if ((op = want_enum(resp, json_object_get(n, "operator"), what,
		     ru ? ru_operators : cost_operators)) == NULL)
		return NULL;
	if ((th = want_threshold(resp, json_object_get(n, "threshold"), nname,
		     ru ? 100 : 1000)) == NULL)
		return NULL;
	out = json_pack("{s:b,s:s,s:o}", "enabled", json_is_true(en),
		"operator", op, "threshold", th);
	if (loc != NULL) {
		snprintf(what, sizeof(what), "Notification '%.128s': locale",
			nname);
		const char *l = want_enum(resp, loc, what, locales);
		if (l == NULL)
			goto fail;
		json_object_set_new(out, "locale", json_string(l));
	}
	if (want_contacts(resp, n, nname, sc, out) != 0)
		goto fail;
	if (json_object_get(n, "thresholdType") != NULL) {
		snprintf(what, sizeof(what),
			"Notification '%.128s': thresholdType", nname);
		if ((tt = want_enum(resp, json_object_get(n, "thresholdType"),
			     what, threshold_types)) == NULL)
			goto fail;
		if (ru && strcmp(tt, "Actual") != 0) {
			bad(resp,
				"Notification '%.128s': a "
				"ReservationUtilization budget supports "
				"thresholdType 'Actual' only.",
				nname);
			goto fail;
		}
	}
	if (ru) {
		snprintf(what, sizeof(what), "Notification '%.128s': frequency",
			nname);
		if ((freq = want_enum(resp, json_object_get(n, "frequency"),
			     what, frequencies)) == NULL)
			goto fail;
		json_object_set_new(out, "frequency", json_string(freq));
	} else {
		json_object_set_new(out, "thresholdType", json_string(tt));
	}
	*ttype = tt;
	return out;
fail:
	json_decref(out);
	return NULL;
}

static json_t *
want_notifications(as_resp *resp, json_t *ns, const as_budget_scope *sc,
	bool ru, bool *forecast)
{
	json_t *out = json_object(), *n;
	const char *nname;
	size_t actual = 0, forecasted = 0;

	*forecast = false;
	if (ns != NULL && !json_is_object(ns)) {
		json_decref(out);
		bad(resp, "Budget notifications must be an object of named "
			  "notifications.");
		return NULL;
	}
	json_object_foreach(ns, nname, n)
	{
		const char *tt = "Actual";
		json_t *v;

		if (nname[0] == '\0' || strlen(nname) > 128) {
			bad(resp, "Notification names must be 1 to 128 "
				  "characters.");
			goto fail;
		}
		v = want_notification(resp, n, nname, sc, ru, &tt);
		if (v == NULL)
			goto fail;
		json_object_set_new(out, nname, v);
		if (strcmp(tt, "Forecasted") == 0)
			forecasted++;
		else
			actual++;
	}
	if (ru && actual + forecasted != 1) {
		bad(resp, "A ReservationUtilization budget must have exactly "
			  "one notification.");
		goto fail;
	}
	if (actual > NOTIFY_MAX || forecasted > NOTIFY_MAX) {
		bad(resp,
			"A budget can have at most %d notifications with "
			"thresholdType '%s'.",
			NOTIFY_MAX,
			actual > NOTIFY_MAX ? "Actual" : "Forecasted");
		goto fail;
	}
	*forecast = forecasted > 0;
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* startDate and endDate; the start rules apply to a new budget only (an
 * existing one keeps its start: see budget_put()). */
static int
want_period(as_server *s, as_resp *resp, const json_t *tp, bool cost,
	int grain_months, const char *grain, struct parsed *pp)
{
	const json_t *sv = json_object_get(tp, "startDate");
	const json_t *ev = json_object_get(tp, "endDate");
	const struct ymd first = { 2017, 6, 1 };
	int now = month_index(s->partner->year, s->partner->month), mi;

	if (!json_is_object(tp)) {
		bad(resp, "Budget timePeriod is required.");
		return -1;
	}
	if (sv == NULL) {
		bad(resp, "Budget timePeriod.startDate is required.");
		return -1;
	}
	if (!parse_date(str_text(sv), &pp->start)) {
		bad(resp,
			"Budget startDate '%.64s' is not a date of the "
			"form yyyy-MM-ddT00:00:00Z.",
			shown(sv));
		return -1;
	}
	if (pp->start.d != 1) {
		bad(resp,
			"Budget startDate '%.64s' must be the first day of "
			"a month.",
			shown(sv));
		return -1;
	}
	if (ymd_cmp(pp->start, first) < 0) {
		bad(resp,
			"Budget startDate '%.64s' must be on or after "
			"2017-06-01.",
			shown(sv));
		return -1;
	}
	mi = month_index(pp->start.y, pp->start.m);
	if (mi > now + 12) {
		bad(resp,
			"Budget startDate '%.64s' cannot be more than 12 "
			"months in the future.",
			shown(sv));
		return -1;
	}
	/* A past start must fall inside the current time grain period
	 * ("Past start date should be selected within the timegrain
	 * period"), counted back from the current month. [unverified] */
	if (cost && mi <= now - grain_months) {
		int lo = now - grain_months + 1;
		bad(resp,
			"Budget startDate '%.64s' is in the past: a %s "
			"budget must start on or after %04d-%02d-01.",
			shown(sv), grain, lo / 12, lo % 12 + 1);
		return -1;
	}
	if (ev == NULL) {
		/* The swagger: endDate defaults to ten years after start. */
		pp->end = pp->start;
		pp->end.y += 10;
		return 0;
	}
	if (!parse_date(str_text(ev), &pp->end)) {
		bad(resp,
			"Budget endDate '%.64s' is not a date of the form "
			"yyyy-MM-ddT00:00:00Z.",
			shown(ev));
		return -1;
	}
	if (ymd_cmp(pp->end, pp->start) <= 0) {
		bad(resp,
			"Budget endDate '%.64s' must be after startDate "
			"'%.64s'.",
			shown(ev), shown(sv));
		return -1;
	}
	return 0;
}

/* The Cost amount: a number > 0 held exactly. */
static json_t *
want_amount(as_resp *resp, const json_t *v)
{
	const char *t = num_text(v);
	cb_money m;
	int rc;

	if (v == NULL) {
		bad(resp, "Budget amount is required for category 'Cost'.");
		return NULL;
	}
	if (t == NULL) {
		bad(resp, "Budget amount '%.64s' is not a number.", shown(v));
		return NULL;
	}
	if ((rc = cb_money_parse(&m, t, strlen(t))) != 0) {
		bad(resp, "Budget amount %.64s %s.", t,
			rc == CB_EOVERFLOW ? "is out of range"
					   : "has more than 18 decimal places");
		return NULL;
	}
	if (cb_money_sign(m) <= 0) {
		bad(resp, "Budget amount %.64s must be greater than 0.", t);
		return NULL;
	}
	return as_json_money(m);
}

/* Validate body into pp (pp->props owned by the caller on success). */
static int
parse_budget(as_server *s, as_resp *resp, const json_t *body,
	const as_budget_scope *sc, struct parsed *pp)
{
	static const char *const categories[] = { "Cost",
		"ReservationUtilization", NULL };
	const json_t *pr = json_object_get(body, "properties");
	const char *cat, *grain;
	json_t *props = NULL, *v;
	int gi;

	memset(pp, 0, sizeof(*pp));
	if (!json_is_object(pr)) {
		bad(resp, "Budget properties are required.");
		return -1;
	}
	if ((cat = want_enum(resp, json_object_get(pr, "category"),
		     "Budget category", categories)) == NULL)
		return -1;
	pp->cost = strcmp(cat, "Cost") == 0;
	if (!pp->cost && sc->kind != AS_BSCOPE_ACCOUNT &&
		sc->kind != AS_BSCOPE_PROFILE) {
		bad(resp, "Budget category 'ReservationUtilization' is "
			  "supported only at billing account and billing "
			  "profile scopes.");
		return -1;
	}
	if ((grain = want_enum(resp, json_object_get(pr, "timeGrain"),
		     "Budget timeGrain", pp->cost ? cost_grains : ru_grains)) ==
		NULL)
		return -1;
	gi = enum_index(cost_grains, grain);
	pp->grain_months = pp->cost ? cost_grain_months[gi] : 0;
	if (pp->cost && gi >= 3) {
		bad(resp,
			"Budget timeGrain '%s' is supported only for Web "
			"Direct (pay-as-you-go) subscriptions.",
			grain);
		return -1;
	}
	props = json_pack("{s:s}", "category", cat);
	if (pp->cost) {
		if ((v = want_amount(resp, json_object_get(pr, "amount"))) ==
			NULL)
			goto fail;
		json_object_set_new(props, "amount", v);
	}
	json_object_set_new(props, "timeGrain", json_string(grain));
	if (want_period(s, resp, json_object_get(pr, "timePeriod"), pp->cost,
		    pp->grain_months, grain, pp) != 0)
		goto fail;
	json_object_set_new(props, "timePeriod",
		json_pack("{s:o,s:o}", "startDate", date_json(pp->start),
			"endDate", date_json(pp->end)));
	if (json_object_get(pr, "filter") != NULL) {
		if ((v = want_filter(resp, json_object_get(pr, "filter"),
			     !pp->cost)) == NULL)
			goto fail;
		json_object_set_new(props, "filter", v);
	}
	if ((v = want_notifications(resp, json_object_get(pr, "notifications"),
		     sc, !pp->cost, &pp->forecast)) == NULL)
		goto fail;
	json_object_set_new(props, "notifications", v);
	pp->props = props;
	return 0;
fail:
	json_decref(props);
	return -1;
}

/* ------------------------------------------------------------------ */
/* The store */

static struct budget *
budget_find(struct as_budgets *b, const char *scope, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcasecmp(b->items[i].scope, scope) == 0 &&
			strcasecmp(b->items[i].name, name) == 0)
			return &b->items[i];
	return NULL;
}

static void
budget_clear(struct budget *bu)
{
	free(bu->scope);
	free(bu->name);
	json_decref(bu->props);
}

/* A new eTag: a FILETIME-like hex count (as Azure's "1d34d016a593709"),
 * one second after the partner's period start per write so far. */
static void
next_etag(as_server *s, char *out, size_t outlen)
{
	struct as_budgets *b = s->budgets;
	int64_t days =
		as_days_from_civil(s->partner->year, s->partner->month, 1);
	uint64_t ticks = ((uint64_t)days * 86400u + 11644473600u) * 10000000u;

	b->writes++;
	snprintf(out, outlen, "\"%llx\"",
		(unsigned long long)(ticks + b->writes * 10000000u));
}

/* ------------------------------------------------------------------ */
/* Spend */

/* The currency a scope's budget counts in: its billing profile's; a
 * billing account whose profiles bill in several currencies counts in
 * USD (costInUsd), as one amount cannot mix currencies. */
static const char *
scope_unit(const as_partner *p, const as_budget_scope *sc, bool *usd)
{
	const char *cur = NULL;

	*usd = false;
	if (sc->kind != AS_BSCOPE_ACCOUNT)
		return p->profiles[sc->profile].currency;
	for (size_t i = 0; i < p->nprofiles; i++) {
		if (p->profiles[i].account != sc->account)
			continue;
		if (cur != NULL && strcmp(cur, p->profiles[i].currency) != 0) {
			*usd = true;
			return "USD";
		}
		cur = p->profiles[i].currency;
	}
	return cur != NULL ? cur : "USD";
}

/* The scope's ActualCost over the partner's month: a pass over its cost
 * lines (costgen.h), in billing currency or, when usd, in USD. */
static int
month_cost(
	const as_partner *p, const as_budget_scope *sc, bool usd, cb_money *out)
{
	as_cost_filter f;
	as_costgen *g = NULL;
	const as_cost_row *row;
	cb_money sum = CB_MONEY_ZERO;
	int rc = 0;

	as_cost_filter_init(&f, AS_METRIC_ACTUAL, sc->account);
	if (sc->kind == AS_BSCOPE_PROFILE)
		f.profile = sc->profile;
	if (sc->kind == AS_BSCOPE_CUSTOMER)
		f.customer = sc->customer;
	if (sc->kind == AS_BSCOPE_SUBSCRIPTION ||
		sc->kind == AS_BSCOPE_RESOURCE_GROUP)
		f.subscription = sc->subscription;
	if (as_costgen_open(&g, p, &f) != 0)
		return -1;
	while (rc == 0 && as_costgen_next(g, &row) == 1) {
		if (sc->kind == AS_BSCOPE_RESOURCE_GROUP &&
			strcasecmp(row->resource_group, sc->resource_group) !=
				0)
			continue;
		rc = cb_money_add(&sum, sum, usd ? row->cost_usd : row->cost);
	}
	as_costgen_free(g);
	*out = sum;
	return rc == 0 ? 0 : -1;
}

/* currentSpend and forecastSpend of bu.  armsim has one month of cost
 * lines, the partner's period ("now"), so: a budget whose time period
 * covers that month has spent its cost, rounded half away from zero to
 * the currency's minor unit; otherwise nothing.  The forecast assumes
 * every month of the time grain costs what that month did. */
static int
budget_spend(as_server *s, const struct budget *bu, cb_money *current,
	cb_money *forecast, const char **unit)
{
	const as_partner *p = s->partner;
	int now = month_index(p->year, p->month);
	struct ymd first = { p->year, p->month, 1 };
	unsigned places = 2;
	bool usd;
	cb_money m = CB_MONEY_ZERO;

	*unit = scope_unit(p, &bu->sc, &usd);
	if (month_index(bu->start.y, bu->start.m) <= now &&
		ymd_cmp(bu->end, first) >= 0) {
		if (month_cost(p, &bu->sc, usd, &m) != 0)
			return -1;
		if (cb_currency_minor_units(&places, *unit) != 0)
			places = 2;
		if (cb_money_round(&m, m, places) != 0)
			return -1;
	}
	*current = m;
	return cb_money_mul(forecast, m, cb_money_from_int(bu->grain_months));
}

/* The answer for bu, as the provider prov spells it. */
static json_t *
budget_json(as_server *s, const struct budget *bu, enum prov prov)
{
	char id[1400];
	const char *pname = prov == PROV_CONSUMPTION
				    ? "Microsoft.Consumption"
				    : "Microsoft.CostManagement";
	json_t *props = json_deep_copy(bu->props), *notes;
	cb_money current, forecast;
	const char *unit;

	snprintf(id, sizeof(id), "/%s/providers/%s/budgets/%s", bu->scope,
		pname, bu->name);
	if (bu->cost && budget_spend(s, bu, &current, &forecast, &unit) == 0) {
		/* After the amount, timeGrain, timePeriod and filter, as the
		 * examples place it: the notifications move to the end. */
		notes = json_incref(json_object_get(props, "notifications"));
		json_object_del(props, "notifications");
		json_object_set_new(props, "currentSpend",
			json_pack("{s:o,s:s}", "amount", as_json_money(current),
				"unit", unit));
		if (bu->forecast)
			json_object_set_new(props, "forecastSpend",
				json_pack("{s:o,s:s}", "amount",
					as_json_money(forecast), "unit", unit));
		json_object_set_new(props, "notifications", notes);
	}
	return json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", id, "name", bu->name,
		"type",
		prov == PROV_CONSUMPTION ? "Microsoft.Consumption/budgets"
					 : "Microsoft.CostManagement/budgets",
		"eTag", bu->etag, "properties", props);
}

/* ------------------------------------------------------------------ */
/* Handlers */

static bool
name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len < 1 || len > NAME_MAX_LEN)
		return false;
	for (const char *p = n; *p != '\0'; p++)
		if (!is_digit(*p) && !(*p >= 'a' && *p <= 'z') &&
			!(*p >= 'A' && *p <= 'Z') && *p != '-' && *p != '_')
			return false;
	return true;
}

static void
not_found(as_resp *resp, const char *name)
{
	as_resp_arm_error(resp, 404, "NotFound",
		"The budget '%.128s' was not found.", name);
}

/* The request's eTag: body "eTag" first, else If-Match; NULL for none.
 * -1 with a 400 when the body's is not a string. */
static int
req_etag(const as_req *req, const json_t *body, const char **out, as_resp *resp)
{
	const json_t *e = json_object_get(body, "eTag");

	*out = NULL;
	if (e != NULL && !json_is_null(e)) {
		if ((*out = str_text(e)) == NULL) {
			bad(resp, "Budget eTag must be a string.");
			return -1;
		}
		return 0;
	}
	*out = as_req_header(req, "If-Match");
	return 0;
}

static int
budget_put(as_server *s, as_req *req, as_resp *resp, enum prov prov)
{
	struct as_budgets *b = s->budgets;
	const char *scope = req->cap[0], *name = req->cap[1], *etag;
	char etag_buf[128];
	as_budget_scope sc;
	struct parsed pp;
	struct budget *bu;
	json_t *body;

	if (as_budget_scope_resolve(s, scope, &sc, resp) != 0)
		return 0;
	if (!name_ok(name)) {
		bad(resp,
			"The budget name '%.80s' is invalid: use 1 to 63 "
			"letters, digits, hyphens or underscores.",
			name);
		return 0;
	}
	if ((body = as_req_json_exact(req, resp)) == NULL)
		return 0;
	if (req_etag(req, body, &etag, resp) != 0 ||
		parse_budget(s, resp, body, &sc, &pp) != 0) {
		json_decref(body);
		return 0;
	}
	if (etag != NULL)
		snprintf(etag_buf, sizeof(etag_buf), "%s", etag);
	etag = etag != NULL ? etag_buf : NULL;
	json_decref(body);
	bu = budget_find(b, scope, name);
	if (bu != NULL && etag != NULL && strcmp(etag, bu->etag) != 0) {
		as_violation(s, req, "stale-etag",
			"PUT of budget '%.80s' with eTag %.40s; the current "
			"eTag is %s",
			name, etag, bu->etag);
		bad(resp,
			"There are changes made to Budget %.80s. Please get "
			"the latest budget to avoid overwrite.",
			name);
		goto fail;
	}
	if (bu != NULL && ymd_cmp(bu->start, pp.start) != 0) {
		bad(resp, "Start date of budgets cannot be updated. Please "
			  "delete and create a new budget.");
		goto fail;
	}
	if (bu == NULL) {
		if (b->n == BUDGETS_MAX) {
			bad(resp, "armsim holds at most %d budgets.",
				BUDGETS_MAX);
			goto fail;
		}
		if (b->n == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 16;
			struct budget *t = realloc(b->items, cap * sizeof(*t));
			if (t == NULL)
				goto fail;
			b->items = t;
			b->cap = cap;
		}
		bu = &b->items[b->n];
		memset(bu, 0, sizeof(*bu));
		while (*scope == '/')
			scope++;
		if ((bu->scope = strdup(scope)) == NULL ||
			(bu->name = strdup(name)) == NULL) {
			budget_clear(bu);
			goto fail;
		}
		b->n++;
		resp->status = 201;
	} else {
		json_decref(bu->props);
		resp->status = 200;
	}
	bu->sc = sc;
	bu->props = pp.props;
	bu->start = pp.start;
	bu->end = pp.end;
	bu->grain_months = pp.grain_months;
	bu->forecast = pp.forecast;
	bu->cost = pp.cost;
	next_etag(s, bu->etag, sizeof(bu->etag));
	as_resp_json(resp, resp->status, budget_json(s, bu, prov));
	return 0;
fail:
	json_decref(pp.props);
	return resp->status != 0 ? 0 : -1;
}

static int
budget_get(as_server *s, as_req *req, as_resp *resp, enum prov prov)
{
	as_budget_scope sc;
	struct budget *bu;

	if (as_budget_scope_resolve(s, req->cap[0], &sc, resp) != 0)
		return 0;
	if ((bu = budget_find(s->budgets, req->cap[0], req->cap[1])) == NULL) {
		not_found(resp, req->cap[1]);
		return 0;
	}
	as_resp_json(resp, 200, budget_json(s, bu, prov));
	return 0;
}

static int
budget_delete(as_server *s, as_req *req, as_resp *resp, enum prov prov)
{
	struct as_budgets *b = s->budgets;
	as_budget_scope sc;
	struct budget *bu;

	(void)prov;
	if (as_budget_scope_resolve(s, req->cap[0], &sc, resp) != 0)
		return 0;
	if ((bu = budget_find(b, req->cap[0], req->cap[1])) == NULL) {
		not_found(resp, req->cap[1]);
		return 0;
	}
	budget_clear(bu);
	/* Keep creation order: lists answer in it. */
	memmove(bu, bu + 1, (size_t)(b->items + b->n - bu - 1) * sizeof(*bu));
	b->n--;
	/* Azure answers 200 with no body (DeleteBudget.json). */
	resp->status = 200;
	return 0;
}

/* Cost Management's list takes $filter=properties/category eq 'X'
 * (only eq, notes a.2 #18); category into out, "" for none.  -1 with a
 * 400 for any other filter. */
static int
list_filter(const as_req *req, char *out, size_t outlen, as_resp *resp)
{
	char f[256], cat[64];
	int n = 0;

	out[0] = '\0';
	if (as_req_query(req, "$filter", f, sizeof(f)) != 0)
		return 0;
	if (sscanf(f, "properties/category eq '%63[A-Za-z]'%n", cat, &n) != 1 ||
		f[n] != '\0') {
		bad(resp,
			"The $filter '%.100s' is not supported: use "
			"properties/category eq 'Cost' or "
			"'ReservationUtilization'.",
			f);
		return -1;
	}
	snprintf(out, outlen, "%s", cat);
	return 0;
}

static int
budget_list(as_server *s, as_req *req, as_resp *resp, enum prov prov)
{
	struct as_budgets *b = s->budgets;
	as_budget_scope sc;
	char cat[64] = "";
	json_t *items;

	if (as_budget_scope_resolve(s, req->cap[0], &sc, resp) != 0)
		return 0;
	if (prov == PROV_COSTMGMT &&
		list_filter(req, cat, sizeof(cat), resp) != 0)
		return 0;
	items = json_array();
	for (size_t i = 0; i < b->n; i++) {
		const char *scope = req->cap[0];
		const char *c = json_string_value(
			json_object_get(b->items[i].props, "category"));

		while (*scope == '/')
			scope++;
		if (strcasecmp(b->items[i].scope, scope) != 0 ||
			(cat[0] != '\0' && strcasecmp(c, cat) != 0))
			continue;
		json_array_append_new(
			items, budget_json(s, &b->items[i], prov));
	}
	as_resp_page(s, req, resp, items);
	return 0;
}

#define PROVIDER_HANDLERS(prefix, prov)                                      \
	static int prefix##_put(as_server *s, as_req *req, as_resp *resp)    \
	{                                                                    \
		return budget_put(s, req, resp, prov);                       \
	}                                                                    \
	static int prefix##_get(as_server *s, as_req *req, as_resp *resp)    \
	{                                                                    \
		return budget_get(s, req, resp, prov);                       \
	}                                                                    \
	static int prefix##_delete(as_server *s, as_req *req, as_resp *resp) \
	{                                                                    \
		return budget_delete(s, req, resp, prov);                    \
	}                                                                    \
	static int prefix##_list(as_server *s, as_req *req, as_resp *resp)   \
	{                                                                    \
		return budget_list(s, req, resp, prov);                      \
	}

PROVIDER_HANDLERS(cons, PROV_CONSUMPTION)
PROVIDER_HANDLERS(cm, PROV_COSTMGMT)

#define CONS_ONE "/{scope*}/providers/Microsoft.Consumption/budgets/{name}"
#define CONS_ALL "/{scope*}/providers/Microsoft.Consumption/budgets"
#define CM_ONE   "/{scope*}/providers/Microsoft.CostManagement/budgets/{name}"
#define CM_ALL   "/{scope*}/providers/Microsoft.CostManagement/budgets"

const as_route as_budgets_routes[] = {
	{ "GET", CONS_ONE, AS_API_CONSUMPTION, 0, cons_get },
	{ "PUT", CONS_ONE, AS_API_CONSUMPTION, AS_ROUTE_WRITE, cons_put },
	{ "DELETE", CONS_ONE, AS_API_CONSUMPTION, AS_ROUTE_DELETE,
		cons_delete },
	{ "GET", CONS_ALL, AS_API_CONSUMPTION, 0, cons_list },
	{ "GET", CM_ONE, AS_API_COSTMGMT, 0, cm_get },
	{ "PUT", CM_ONE, AS_API_COSTMGMT, AS_ROUTE_WRITE, cm_put },
	{ "DELETE", CM_ONE, AS_API_COSTMGMT, AS_ROUTE_DELETE, cm_delete },
	{ "GET", CM_ALL, AS_API_COSTMGMT, 0, cm_list },
	{ "GET", "/{scope*}/providers/Microsoft.Consumption/usageDetails",
		AS_API_CONSUMPTION, 0, as_usage_list },
	{ "GET",
		"/subscriptions/{sub}/providers/Microsoft.Consumption/"
		"pricesheets/default",
		AS_API_CONSUMPTION, 0, as_usage_pricesheet },
	{ NULL, NULL, 0, 0, NULL },
};

int
as_budgets_init(as_server *s, char *err, size_t errlen)
{
	if ((s->budgets = calloc(1, sizeof(*s->budgets))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void
as_budgets_free(as_server *s)
{
	struct as_budgets *b = s->budgets;

	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		budget_clear(&b->items[i]);
	free(b->items);
	free(b);
	s->budgets = NULL;
}
