/*
 * emulator/billing.c - Microsoft.Billing (azure-api-notes.md a.1): billing
 * accounts, billing profiles, customers and billing subscriptions, over
 * the generated partner (partner.h), plus the route table of the whole
 * module (policies in billing_policy.c, invoices in billing_invoices.c).
 *
 * Bodies follow the examples of the api-version asked for: 2019-10-01-
 * preview items are thin, 2024-04-01 ones the richest; every field of an
 * example is present with its type and nesting (tests/unit/emulator/
 * test_billing.c checks each example's shape).  Names are matched
 * case-insensitively, as ARM does; ids spell the partner's own names.
 */
#include "core/common.h"

#include "emulator/billing.h"
#include "emulator/costgen.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROVIDER "/providers/Microsoft.Billing/billingAccounts/"

/* ------------------------------------------------------------------ */
/* Shared helpers (billing.h) */

as_bill_ver
as_billing_version(const as_req *req)
{
	/* The router only lets the family's three versions through. */
	if (req->api_version == NULL ||
		strcmp(req->api_version, "2024-04-01") == 0)
		return AS_BV_2024;
	if (strcmp(req->api_version, "2020-05-01") == 0)
		return AS_BV_2020;
	return AS_BV_PREVIEW;
}

const as_account *
as_billing_account(as_server *s, const as_req *req, size_t i, as_resp *resp)
{
	const as_account *a = as_partner_account(s->partner, req->cap[i]);

	if (a == NULL)
		as_resp_arm_error(resp, 404, "BillingAccountNotFound",
			"Billing account '%.200s' was not found.", req->cap[i]);
	return a;
}

const as_account *
as_billing_mpa_account(as_server *s, const as_req *req, size_t i, as_resp *resp)
{
	const as_account *a = as_billing_account(s, req, i, resp);

	if (a != NULL && a->agreement != AS_AGREEMENT_MPA) {
		as_resp_arm_error(resp, 400, "InvalidBillingAccountType",
			"The operation is supported only for billing accounts "
			"with agreement type MicrosoftPartnerAgreement; "
			"'%.200s' has agreement type "
			"MicrosoftCustomerAgreement.",
			a->name);
		return NULL;
	}
	return a;
}

const as_profile *
as_billing_profile(as_server *s, const as_account *a, const as_req *req,
	size_t i, as_resp *resp)
{
	const as_profile *bp = as_partner_profile(s->partner, a, req->cap[i]);

	if (bp == NULL)
		as_resp_arm_error(resp, 404, "BillingProfileNotFound",
			"Billing profile '%.200s' was not found in billing "
			"account '%.200s'.",
			req->cap[i], a->name);
	return bp;
}

const as_customer *
as_billing_customer(as_server *s, const as_account *a, const as_profile *bp,
	const as_req *req, size_t i, as_resp *resp)
{
	const as_partner *p = s->partner;
	const as_customer *c = as_partner_customer(p, a, req->cap[i]);

	if (c != NULL && bp != NULL && &p->profiles[c->profile] != bp)
		c = NULL;
	if (c == NULL)
		as_resp_arm_error(resp, 404, "CustomerNotFound",
			"Customer '%.200s' was not found in %s '%.200s'.",
			req->cap[i], bp ? "billing profile" : "billing account",
			bp ? bp->name : a->name);
	return c;
}

void
as_billing_account_id(const as_account *a, char *out, size_t outlen)
{
	snprintf(out, outlen, PROVIDER "%s", a->name);
}

void
as_billing_profile_id(
	as_server *s, const as_profile *bp, char *out, size_t outlen)
{
	snprintf(out, outlen, PROVIDER "%s/billingProfiles/%s",
		s->partner->accounts[bp->account].name, bp->name);
}

json_t *
as_billing_money(const char *currency, cb_money v)
{
	return json_pack(
		"{s:s,s:o}", "currency", currency, "value", as_json_money(v));
}

/* Whether ?$expand= names what (a comma-separated list, any case). */
static bool
expands(const as_req *req, const char *what)
{
	char v[256];
	size_t n = strlen(what);

	if (as_req_query(req, "$expand", v, sizeof(v)) != 0)
		return false;
	for (const char *p = v; *p != '\0';) {
		size_t len = strcspn(p, ",");
		while (len > 0 && *p == ' ')
			p++, len--;
		if (len >= n && strncasecmp(p, what, n) == 0 &&
			(len == n || p[n] == ' '))
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

static const char *
sku_description(const char *sku)
{
	return strcmp(sku, "0002") == 0 ? "Microsoft Azure Plan for DevTest"
					: "Microsoft Azure Plan";
}

static json_t *
azure_plans(void)
{
	return json_pack("[{s:s,s:s},{s:s,s:s}]", "skuId", "0001",
		"skuDescription", sku_description("0001"), "skuId", "0002",
		"skuDescription", sku_description("0002"));
}

/* ------------------------------------------------------------------ */
/* Billing accounts */

/* The account's creation date is the "_yyyy-mm-dd" its name ends with. */
static void
account_created(const as_account *a, char *out, size_t outlen)
{
	const char *u = strrchr(a->name, '_');

	snprintf(out, outlen, "%.10sT00:00:00.0000000Z",
		u ? u + 1 : "2019-05-31");
}

static json_t *
account_json(as_server *s, const as_account *a, as_bill_ver v)
{
	bool mpa = a->agreement == AS_AGREEMENT_MPA;
	char id[512], created[64];
	json_t *props, *o;

	as_billing_account_id(a, id, sizeof(id));
	props = json_pack("{s:s,s:s,s:s}", "displayName", a->display,
		"agreementType",
		mpa ? "MicrosoftPartnerAgreement"
		    : "MicrosoftCustomerAgreement",
		"accountType", mpa ? "Partner" : "Business");
	if (v == AS_BV_PREVIEW) {
		json_object_set_new(props, "organizationId",
			json_string(s->partner->tenant_id));
	} else {
		json_object_set_new(
			props, "accountStatus", json_string("Active"));
		json_object_set_new(props, "hasReadAccess", json_true());
	}
	/* The MPA subscription-creation doc (2020-05-01) shows this. */
	if (v == AS_BV_2020)
		json_object_set_new(props, "billingProfiles",
			json_pack("{s:b}", "hasMoreResults", 0));
	if (v == AS_BV_2024) {
		json_object_set_new(props, "accountSubType",
			json_string(mpa ? "None" : "Enterprise"));
		json_object_set_new(props, "primaryBillingTenantId",
			json_string(s->partner->tenant_id));
	}
	o = json_pack("{s:s,s:s,s:s,s:o}", "id", id, "name", a->name, "type",
		"Microsoft.Billing/billingAccounts", "properties", props);
	if (v == AS_BV_2024) {
		account_created(a, created, sizeof(created));
		json_object_set_new(o, "systemData",
			json_pack("{s:s,s:s}", "createdAt", created,
				"lastModifiedAt", created));
	}
	return o;
}

static int
accounts_list(as_server *s, as_req *req, as_resp *resp)
{
	json_t *items = json_array();

	for (size_t i = 0; i < s->partner->naccounts; i++)
		json_array_append_new(
			items, account_json(s, &s->partner->accounts[i],
				       as_billing_version(req)));
	as_resp_page(s, req, resp, items);
	return 0;
}

static int
account_get(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a = as_billing_account(s, req, 0, resp);

	if (a != NULL)
		as_resp_json(
			resp, 200, account_json(s, a, as_billing_version(req)));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Billing profiles */

/* Where each MPA profile bills: by currency. */
static json_t *
bill_to(const as_partner *p, const as_profile *bp)
{
	static const struct {
		const char *cur, *city, *postal, *region, *country;
	} at[] = { { "USD", "Redmond", "98052", "WA", "US" },
		{ "EUR", "Dublin", "D02 X285", "Leinster", "IE" },
		{ "JPY", "Tokyo", "108-0075", "Tokyo", "JP" } };
	size_t i = 0;

	for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++)
		if (strcmp(at[k].cur, bp->currency) == 0)
			i = k;
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
		"companyName", p->name, "firstName", "Billing", "lastName",
		"Admin", "addressLine1", "1 Partner Plaza", "addressLine2",
		"Floor 4", "addressLine3", "", "city", at[i].city, "postalCode",
		at[i].postal, "region", at[i].region, "country", at[i].country,
		"email", "billing@partner.example", "phoneNumber",
		"000-000-0000");
}

static json_t *
profile_json(as_server *s, const as_profile *bp, as_bill_ver v)
{
	const as_account *a = &s->partner->accounts[bp->account];
	char id[512];
	json_t *props;

	as_billing_profile_id(s, bp, id, sizeof(id));
	props = json_pack("{s:s,s:s,s:i,s:b,s:o,s:b,s:s,s:s,s:s}",
		"displayName", bp->display, "currency", bp->currency,
		"invoiceDay", 5, "invoiceEmailOptIn", 1, "enabledAzurePlans",
		azure_plans(), "hasReadAccess", 1, "systemId", bp->system_id,
		"status", "Active", "spendingLimit", "Off");
	if (v != AS_BV_PREVIEW) {
		/* "CSPPartner" for the partner's own MPA profiles is
		 * [unverified] (notes a.1 item 3); MCA profiles are Direct.
		 * No profile of the partner's own is indirect, so none
		 * carries indirectRelationshipInfo (that is what a
		 * reseller's customer sees of its partner). */
		json_object_set_new(props, "billingRelationshipType",
			json_string(a->agreement == AS_AGREEMENT_MPA
					    ? "CSPPartner"
					    : "Direct"));
		json_object_set_new(props, "billTo", bill_to(s->partner, bp));
		json_object_set_new(props, "poNumber", json_string(""));
		json_object_set_new(props, "targetClouds", json_array());
	}
	return json_pack("{s:s,s:s,s:s,s:o}", "id", id, "name", bp->name,
		"type", "Microsoft.Billing/billingAccounts/billingProfiles",
		"properties", props);
}

static int
profiles_list(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a = as_billing_account(s, req, 0, resp);
	json_t *items;

	if (a == NULL)
		return 0;
	items = json_array();
	for (size_t i = 0; i < s->partner->nprofiles; i++)
		if (&s->partner->accounts[s->partner->profiles[i].account] == a)
			json_array_append_new(
				items, profile_json(s, &s->partner->profiles[i],
					       as_billing_version(req)));
	as_resp_page(s, req, resp, items);
	return 0;
}

static int
profile_get(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a = as_billing_account(s, req, 0, resp);
	const as_profile *bp =
		a ? as_billing_profile(s, a, req, 1, resp) : NULL;

	if (bp != NULL)
		as_resp_json(resp, 200,
			profile_json(s, bp, as_billing_version(req)));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Customers */

/* Where a customer is seen from, which decides its id and type. */
typedef enum { AT_ACCOUNT, AT_PROFILE } as_seen;

/* A customer's systemId, "ABCD-EFGH-IJK-LMN" like profile names, derived
 * from its id so it never changes. */
static void
customer_system_id(const as_customer *c, char *out, size_t outlen)
{
	static const char alpha[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	static const int groups[] = { 4, 4, 3, 3 };
	uint64_t st = 0xcbf29ce484222325ull; /* FNV-1a of the id */
	size_t o = 0;

	for (const char *p = c->id; *p != '\0'; p++)
		st = (st ^ (unsigned char)*p) * 0x100000001b3ull;
	for (size_t g = 0; g < 4; g++) {
		if (g > 0 && o + 1 < outlen)
			out[o++] = '-';
		for (int i = 0; i < groups[g] && o + 1 < outlen; i++)
			out[o++] = alpha[as_rand_next(&st) % 32];
	}
	out[o] = '\0';
}

static json_t *
resellers_json(const as_customer *c)
{
	json_t *r = json_array();

	if (c->indirect)
		json_array_append_new(
			r, json_pack("{s:s,s:s}", "resellerId", c->reseller_mpn,
				   "description", c->reseller_name));
	return r;
}

/* 2024-04-01 lists name customers under their billing profile even at
 * account level (customersListByBillingAccount.json); its get at account
 * level and older versions name them under the account. */
static json_t *
customer_json(as_server *s, const as_req *req, const as_customer *c, as_seen at,
	bool list)
{
	const as_partner *p = s->partner;
	const as_profile *bp = &p->profiles[c->profile];
	as_bill_ver v = as_billing_version(req);
	bool under_profile = at == AT_PROFILE || (v == AS_BV_2024 && list);
	char id[768], bpid[512], sysid[32];
	const char *type;
	json_t *props;

	as_billing_profile_id(s, bp, bpid, sizeof(bpid));
	if (under_profile)
		snprintf(id, sizeof(id), "%s/customers/%s", bpid, c->id);
	else
		snprintf(id, sizeof(id), PROVIDER "%s/customers/%s",
			p->accounts[c->account].name, c->id);
	if (v == AS_BV_PREVIEW)
		type = "Microsoft.Billing/customers";
	else if (under_profile)
		type = "Microsoft.Billing/billingAccounts/billingProfiles/"
		       "customers";
	else
		type = "Microsoft.Billing/billingAccounts/customers";
	props = json_pack("{s:s}", "displayName", c->display);
	if (v != AS_BV_PREVIEW) {
		json_object_set_new(
			props, "billingProfileId", json_string(bpid));
		json_object_set_new(props, "billingProfileDisplayName",
			json_string(bp->display));
	}
	if (v == AS_BV_2024) {
		customer_system_id(c, sysid, sizeof(sysid));
		json_object_set_new(props, "systemId", json_string(sysid));
		json_object_set_new(props, "status", json_string("Active"));
	}
	if (expands(req, "enabledAzurePlans"))
		json_object_set_new(props, "enabledAzurePlans", azure_plans());
	if (expands(req, "resellers"))
		json_object_set_new(props, "resellers", resellers_json(c));
	return json_pack("{s:s,s:s,s:s,s:o}", "id", id, "name", c->id, "type",
		type, "properties", props);
}

/* ASCII case-insensitive "hay contains needle". */
static bool
contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return n == 0;
}

/* The customers list's $search and $filter (2024-04-01 customer.json
 * documents both).  $search matches the display name or the customer
 * name (its tenant id), case-insensitively, as the portal's search box
 * does.  $filter: only `displayName eq '<text>'` (case-insensitive, ''
 * for a quote) is understood; armsim refuses any other expression with
 * 400 InvalidFilter rather than ignore it, because a client relying on
 * a filter armsim silently dropped would pass tests and fail on Azure. */
typedef struct {
	char search[256];
	char eq[256]; /* displayName eq value, or "" */
	bool has_search, has_eq;
} customer_query;

static int
customer_query_parse(const as_req *req, customer_query *q, as_resp *resp)
{
	char f[512];
	const char *p;
	size_t o = 0;

	memset(q, 0, sizeof(*q));
	q->has_search =
		as_req_query(req, "$search", q->search, sizeof(q->search)) == 0;
	if (as_req_query(req, "$filter", f, sizeof(f)) != 0)
		return 0;
	p = f;
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "displayName", 11) != 0)
		goto bad;
	p += 11;
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "eq", 2) != 0 || p[2] != ' ')
		goto bad;
	p += 3;
	while (*p == ' ')
		p++;
	if (*p++ != '\'')
		goto bad;
	for (;; p++) {
		if (*p == '\0' || o + 1 >= sizeof(q->eq))
			goto bad;
		if (*p == '\'' && p[1] == '\'')
			p++;
		else if (*p == '\'')
			break;
		q->eq[o++] = *p;
	}
	for (p++; *p == ' '; p++)
		;
	if (*p != '\0')
		goto bad;
	q->eq[o] = '\0';
	q->has_eq = true;
	return 0;
bad:
	as_resp_arm_error(resp, 400, "InvalidFilter",
		"The $filter '%.200s' is not supported; armsim understands "
		"\"displayName eq '<name>'\".",
		f);
	return -1;
}

static bool
customer_query_match(const customer_query *q, const as_customer *c)
{
	if (q->has_search && !contains_nocase(c->display, q->search) &&
		!contains_nocase(c->id, q->search))
		return false;
	return !q->has_eq || strcasecmp(c->display, q->eq) == 0;
}

/* Customers of a (and of bp when not NULL), paged; totalCount counts
 * every match (CustomerListResult, 2020-05-01 and later). */
static void
customers_answer(as_server *s, const as_req *req, as_resp *resp,
	const as_account *a, const as_profile *bp)
{
	const as_partner *p = s->partner;
	customer_query q;
	json_t *items, *page;
	size_t total = 0, first, end;

	if (customer_query_parse(req, &q, resp) != 0 ||
		as_list_window(s, req, resp, &first, &end) != 0)
		return;
	/* Only the page's customers become JSON: 5,000 customers in pages
	 * of 100 stay linear. */
	items = json_array();
	for (size_t i = 0; i < p->ncustomers; i++) {
		const as_customer *c = &p->customers[i];
		if (&p->accounts[c->account] != a ||
			(bp != NULL && &p->profiles[c->profile] != bp) ||
			!customer_query_match(&q, c))
			continue;
		if (total >= first && total < end)
			json_array_append_new(items,
				customer_json(s, req, c,
					bp ? AT_PROFILE : AT_ACCOUNT, true));
		total++;
	}
	page = as_list_window_page(s, req, items, end, total);
	if (page == NULL)
		return; /* out of memory: the pipeline's 500 */
	if (as_billing_version(req) != AS_BV_PREVIEW)
		json_object_set_new(
			page, "totalCount", json_integer((json_int_t)total));
	as_resp_json(resp, 200, page);
}

static int
customers_by_account(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a = as_billing_mpa_account(s, req, 0, resp);

	if (a != NULL)
		customers_answer(s, req, resp, a, NULL);
	return 0;
}

static int
customers_by_profile(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a = as_billing_mpa_account(s, req, 0, resp);
	const as_profile *bp =
		a ? as_billing_profile(s, a, req, 1, resp) : NULL;

	if (bp != NULL)
		customers_answer(s, req, resp, a, bp);
	return 0;
}

static int
customer_get(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a = as_billing_mpa_account(s, req, 0, resp);
	const as_customer *c =
		a ? as_billing_customer(s, a, NULL, req, 1, resp) : NULL;

	if (c != NULL)
		as_resp_json(
			resp, 200, customer_json(s, req, c, AT_ACCOUNT, false));
	return 0;
}

static int
customer_get_by_profile(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a = as_billing_mpa_account(s, req, 0, resp);
	const as_profile *bp =
		a ? as_billing_profile(s, a, req, 1, resp) : NULL;
	const as_customer *c =
		bp ? as_billing_customer(s, a, bp, req, 2, resp) : NULL;

	if (c != NULL)
		as_resp_json(
			resp, 200, customer_json(s, req, c, AT_PROFILE, false));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Billing subscriptions */

/* Each subscription's ActualCost for the partner's month, exact: one
 * pass of the cost generator per account, on the first subscription
 * list, then kept (the partner never changes).  A partner of 10 M lines
 * makes that first answer take seconds; every later one is free.
 * RoundingAdjustment lines belong to no subscription and are left out.
 * NULL when out of memory. */
static const cb_money *
sub_month_totals(as_server *s)
{
	struct as_billing *b = s->billing;
	const as_partner *p = s->partner;
	cb_money *t;

	if (b->sub_month != NULL)
		return b->sub_month;
	t = calloc(p->nsubscriptions ? p->nsubscriptions : 1, sizeof(*t));
	for (size_t a = 0; t != NULL && a < p->naccounts; a++) {
		as_cost_filter f;
		as_costgen *g;
		const as_cost_row *row;
		int rc = 0;

		as_cost_filter_init(&f, AS_METRIC_ACTUAL, a);
		if (as_costgen_open(&g, p, &f) != 0) {
			free(t);
			return NULL;
		}
		while (rc == 0 && as_costgen_next(g, &row) == 1)
			if (row->subscription < p->nsubscriptions)
				rc = cb_money_add(&t[row->subscription],
					t[row->subscription], row->cost);
		as_costgen_free(g);
		if (rc != 0) {
			free(t);
			return NULL;
		}
	}
	b->sub_month = t;
	return t;
}

/* lastMonthCharges and monthToDateCharges, in the profile's currency,
 * rounded half away from zero to its minor unit (a customer-facing
 * amount).  armsim's "now" is after the partner's month: its invoices
 * are issued (billing_invoices.c), so last month is the partner's month
 * and this month has no cost lines yet, exactly zero. */
static int
sub_charges(json_t *props, const as_profile *bp, cb_money month)
{
	unsigned places = 2;
	cb_money last;

	if (cb_currency_minor_units(&places, bp->currency) != 0 ||
		cb_money_round(&last, month, places) != 0)
		return -1;
	json_object_set_new(props, "lastMonthCharges",
		as_billing_money(bp->currency, last));
	json_object_set_new(props, "monthToDateCharges",
		as_billing_money(bp->currency, CB_MONEY_ZERO));
	return 0;
}

/* A customer's subscription's customer fields. */
static void
sub_customer(as_server *s, json_t *props, const as_customer *c)
{
	char cid[512];

	snprintf(cid, sizeof(cid), PROVIDER "%s/customers/%s",
		s->partner->accounts[c->account].name, c->id);
	json_object_set_new(props, "customerId", json_string(cid));
	json_object_set_new(
		props, "customerDisplayName", json_string(c->display));
	if (c->indirect)
		json_object_set_new(props, "reseller",
			json_pack("{s:s,s:s}", "resellerId", c->reseller_mpn,
				"description", c->reseller_name));
}

/* 2019-10-01-preview names a customer's subscription under the customer
 * (BillingSubscriptionsListByCustomer.json); later versions under the
 * account.  costCenter is left out: none is set on armsim's
 * subscriptions, and Azure omits unset properties. */
static json_t *
sub_json(as_server *s, const as_req *req, const as_subscription *sub)
{
	const cb_money *month = sub_month_totals(s);
	const as_partner *p = s->partner;
	const as_profile *bp = &p->profiles[sub->profile];
	const as_account *a = &p->accounts[sub->account];
	const as_customer *c = sub->customer == AS_NO_CUSTOMER
				       ? NULL
				       : &p->customers[sub->customer];
	as_bill_ver v = as_billing_version(req);
	char id[768], bpid[512], isid[768];
	json_t *props;

	if (v == AS_BV_PREVIEW && c != NULL)
		snprintf(id, sizeof(id),
			PROVIDER "%s/customers/%s/billingSubscriptions/%s",
			a->name, c->id, sub->id);
	else
		snprintf(id, sizeof(id), PROVIDER "%s/billingSubscriptions/%s",
			a->name, sub->id);
	props = json_pack("{s:s,s:s,s:s}", "displayName", sub->display,
		"subscriptionId", sub->id, "subscriptionBillingStatus",
		"Active");
	if (month == NULL ||
		sub_charges(props, bp,
			month[AS_INDEX(p, subscriptions, sub)]) != 0) {
		json_decref(props);
		return NULL;
	}
	if (c != NULL)
		sub_customer(s, props, c);
	as_billing_profile_id(s, bp, bpid, sizeof(bpid));
	if (v != AS_BV_PREVIEW || c == NULL) {
		json_object_set_new(
			props, "billingProfileId", json_string(bpid));
		json_object_set_new(props, "billingProfileDisplayName",
			json_string(bp->display));
	}
	if (c == NULL) {
		snprintf(isid, sizeof(isid), "%s/invoiceSections/%s", bpid,
			bp->invoice_section);
		json_object_set_new(
			props, "invoiceSectionId", json_string(isid));
		json_object_set_new(props, "invoiceSectionDisplayName",
			json_string(bp->invoice_section_display));
	}
	json_object_set_new(props, "skuId", json_string(sub->sku_id));
	json_object_set_new(props, "skuDescription",
		json_string(sku_description(sub->sku_id)));
	if (v == AS_BV_2024) {
		/* billingSubscriptionsListByCustomerAtBillingAccount.json
		 * adds these; its resourceUri of an Azure subscription is
		 * the billing subscription's own id. */
		json_object_set_new(
			props, "billingProfileName", json_string(bp->name));
		json_object_set_new(props, "resourceUri", json_string(id));
		json_object_set_new(props, "status", json_string("Active"));
	}
	return json_pack("{s:s,s:s,s:s,s:o}", "id", id, "name", sub->id, "type",
		v == AS_BV_PREVIEW
			? "Microsoft.Billing/billingSubscriptions"
			: "Microsoft.Billing/billingAccounts/billingSubscriptions",
		"properties", props);
}

/* Subscriptions of account a, of customer c when not NULL, paged. */
static int
subs_answer(as_server *s, const as_req *req, as_resp *resp, const as_account *a,
	const as_customer *c)
{
	const as_partner *p = s->partner;
	size_t total = 0, first, end;
	json_t *items, *page;

	if (as_list_window(s, req, resp, &first, &end) != 0)
		return 0;
	/* Only the page's subscriptions become JSON (their charges are
	 * the costly part): 15,000 of them in pages of 100 stay linear. */
	items = json_array();
	for (size_t i = 0; i < p->nsubscriptions; i++) {
		const as_subscription *sub = &p->subscriptions[i];
		if (&p->accounts[sub->account] != a ||
			(c != NULL &&
				(sub->customer == AS_NO_CUSTOMER ||
					&p->customers[sub->customer] != c)))
			continue;
		if (total >= first && total < end) {
			json_t *it = sub_json(s, req, sub);
			if (it == NULL) {
				json_decref(items);
				return -1; /* out of memory: the pipeline's 500
					    */
			}
			json_array_append_new(items, it);
		}
		total++;
	}
	if ((page = as_list_window_page(s, req, items, end, total)) == NULL)
		return -1;
	as_resp_json(resp, 200, page);
	return 0;
}

static int
subs_by_customer(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a = as_billing_mpa_account(s, req, 0, resp);
	const as_customer *c =
		a ? as_billing_customer(s, a, NULL, req, 1, resp) : NULL;

	return c != NULL ? subs_answer(s, req, resp, a, c) : 0;
}

static int
subs_by_profile_customer(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a = as_billing_mpa_account(s, req, 0, resp);
	const as_profile *bp =
		a ? as_billing_profile(s, a, req, 1, resp) : NULL;
	const as_customer *c =
		bp ? as_billing_customer(s, a, bp, req, 2, resp) : NULL;

	return c != NULL ? subs_answer(s, req, resp, a, c) : 0;
}

static int
subs_by_account(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a = as_billing_account(s, req, 0, resp);

	return a != NULL ? subs_answer(s, req, resp, a, NULL) : 0;
}

static int
sub_get(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a = as_billing_account(s, req, 0, resp);
	const as_subscription *sub =
		a ? as_partner_subscription(s->partner, req->cap[1]) : NULL;

	if (a == NULL)
		return 0;
	if (sub == NULL || &s->partner->accounts[sub->account] != a) {
		as_resp_arm_error(resp, 404, "SubscriptionNotFound",
			"Billing subscription '%.200s' was not found in "
			"billing account '%.200s'.",
			req->cap[1], a->name);
		return 0;
	}
	as_resp_json(resp, 200, sub_json(s, req, sub));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Routes and state */

#define BA PROVIDER "{ba}"
#define BP BA "/billingProfiles/{bp}"
#define R  AS_API_BILLING

const as_route as_billing_routes[] = {
	{ "GET", "/providers/Microsoft.Billing/billingAccounts", R, 0,
		accounts_list },
	{ "GET", BA, R, 0, account_get },
	{ "GET", BA "/billingProfiles", R, 0, profiles_list },
	{ "GET", BP, R, 0, profile_get },
	{ "GET", BA "/customers", R, 0, customers_by_account },
	{ "GET", BA "/customers/{c}", R, 0, customer_get },
	{ "GET", BP "/customers", R, 0, customers_by_profile },
	{ "GET", BP "/customers/{c}", R, 0, customer_get_by_profile },
	{ "GET", BA "/customers/{c}/billingSubscriptions", R, 0,
		subs_by_customer },
	{ "GET", BP "/customers/{c}/billingSubscriptions", R, 0,
		subs_by_profile_customer },
	{ "GET", BA "/billingSubscriptions", R, 0, subs_by_account },
	{ "GET", BA "/billingSubscriptions/{sub}", R, 0, sub_get },
	{ "GET", BA "/customers/{c}/policies/default", R, 0,
		as_billing_policy_get },
	{ "PUT", BA "/customers/{c}/policies/default", R, AS_ROUTE_WRITE,
		as_billing_policy_put },
	{ "GET", BP "/customers/{c}/policies/default", R, 0,
		as_billing_policy_get },
	{ "PUT", BP "/customers/{c}/policies/default", R, AS_ROUTE_WRITE,
		as_billing_policy_put },
	{ "GET", BA "/invoices", R, 0, as_billing_invoices_list },
	{ "GET", BA "/invoices/{inv}", R, 0, as_billing_invoice_get },
	/* ARM counts a POST action against the write bucket. */
	{ "POST", BA "/invoices/{inv}/download", R, AS_ROUTE_WRITE,
		as_billing_invoice_download },
	{ "GET", BA "/invoices/{inv}/operationResults/{op}", R, 0,
		as_billing_invoice_operation },
	/* The SAS-signed PDF link: no bearer token, no api-version. */
	{ "GET", "/blobs/invoices/{file}", AS_API_NONE, AS_ROUTE_NOAUTH,
		as_billing_invoice_blob },
	{ NULL, NULL, 0, 0, NULL }
};

int
as_billing_init(as_server *s, char *err, size_t errlen)
{
	struct as_billing *b = calloc(1, sizeof(*b));
	size_t n = s->partner->ncustomers;

	if (b == NULL || (b->view_charges = calloc(n ? n : 1, 1)) == NULL ||
		(b->ops = calloc(AS_BILL_MAX_OPS, sizeof(*b->ops))) == NULL) {
		snprintf(err, errlen, "billing: out of memory");
		goto fail;
	}
	/* A random key: a blob link's signature is a secret (the request
	 * log redacts it), and links die with the server anyway. */
	if (RAND_bytes(b->link_key, (int)sizeof(b->link_key)) != 1) {
		snprintf(err, errlen, "billing: no random bytes for link keys");
		goto fail;
	}
	s->billing = b;
	return 0;
fail:
	if (b != NULL) {
		free(b->view_charges);
		free(b->ops);
	}
	free(b);
	return -1;
}

void
as_billing_free(as_server *s)
{
	if (s->billing == NULL)
		return;
	free(s->billing->view_charges);
	free(s->billing->ops);
	free(s->billing->sub_month);
	free(s->billing);
	s->billing = NULL;
}
