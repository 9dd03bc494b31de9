/*
 * tests/unit/emulator/test_billing.c - armsim's Microsoft.Billing routes
 * over real HTTP: exact answers for the fixed seed, paging to the end,
 * customer policies kept between requests, invoices and their download
 * operation, errors for unknown names and bad input, and the shape of
 * every Microsoft.Billing response example in ../shared/azure-api-examples.
 */
#define _DEFAULT_SOURCE 1

#include "core/common.h"

#include "emulator/costgen.h"
#include "tests/support/jsonshape.h"
#include "tests/support/testsupport.h"
#include "tests/unit/emulator/fixture.h"

#include <dirent.h>
#include <stdlib.h>
#include <time.h>

#define BA   "/providers/Microsoft.Billing/billingAccounts/"
#define V24  "api-version=2024-04-01"
#define V20  "api-version=2020-05-01"
#define VPRE "api-version=2019-10-01-preview"

/* With 8 customers, customers 3 and 7 are indirect (every fourth);
 * customer 3 is in profile 0 (USD), like customer 0. */
#define INDIRECT 3
#define DIRECT   0

typedef struct {
	as_server *s;
	const as_partner *p;
	char mpa[256]; /* the MPA account name with ':' as %3A */
	char mca[256]; /* the MCA account name, ':' unescaped */
	char base[128];
} fx;

static void
start(fx *f, unsigned page_size, unsigned lro_polls, unsigned retry_after)
{
	as_options o;
	const char *colon;

	memset(f, 0, sizeof(*f));
	as_test_options(&o, 8);
	o.page_size = page_size;
	o.lro_polls = lro_polls;
	o.retry_after_s = retry_after;
	f->s = as_test_start(&o);
	f->p = f->s->partner;
	/* SDKs send the account name's ':' percent-encoded. */
	colon = strchr(f->p->accounts[0].name, ':');
	assert_non_null(colon);
	snprintf(f->mpa, sizeof(f->mpa), "%.*s%%3A%s",
		(int)(colon - f->p->accounts[0].name), f->p->accounts[0].name,
		colon + 1);
	snprintf(f->mca, sizeof(f->mca), "%s", f->p->accounts[1].name);
	as_server_base(f->s, f->base, sizeof(f->base));
}

static void
stop(fx *f)
{
	as_server_stop(f->s);
}

#define JSON_TYPE "Content-Type: application/json"

/* target is a path and query on armsim, or an absolute URL. */
static void
req(fx *f, cb_test_reply *r, const char *method, const char *target,
	const char *body)
{
	as_test_call(f->s, r, method, target, body ? JSON_TYPE : NULL, body);
}

static void reqf(fx *f, cb_test_reply *r, const char *method, const char *body,
	const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
reqf(fx *f, cb_test_reply *r, const char *method, const char *body,
	const char *fmt, ...)
{
	char target[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(target, sizeof(target), fmt, ap);
	va_end(ap);
	req(f, r, method, target, body);
}

/* The request must answer exactly status and, unless want is NULL,
 * exactly the body want. */
static void expectf(fx *f, long status, const char *want, const char *method,
	const char *body, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void
expectf(fx *f, long status, const char *want, const char *method,
	const char *body, const char *fmt, ...)
{
	char target[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(target, sizeof(target), fmt, ap);
	va_end(ap);
	as_test_expect(f->s, method, target, body ? JSON_TYPE : NULL, body,
		status, want);
}

static json_t *
parse(const cb_test_reply *r)
{
	json_error_t e;
	json_t *v = json_loads(r->body, 0, &e);

	if (v == NULL)
		fail_msg("not JSON (%s): %.300s", e.text, r->body);
	return v;
}

/* GET: exactly status, and the answer parsed. */
static json_t *getf(fx *f, long status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static json_t *
getf(fx *f, long status, const char *fmt, ...)
{
	char target[4096];
	cb_test_reply r;
	va_list ap;
	json_t *v;

	va_start(ap, fmt);
	vsnprintf(target, sizeof(target), fmt, ap);
	va_end(ap);
	req(f, &r, "GET", target, NULL);
	if (r.status != status)
		fail_msg("GET %s: %ld, not %ld: %s", target, r.status, status,
			r.body);
	v = parse(&r);
	cb_test_reply_free(&r);
	return v;
}

static const char *
str_at(json_t *v, const char *path)
{
	char key[128];
	const char *p = path;

	while (v != NULL && *p != '\0') {
		size_t len = strcspn(p, ".");
		snprintf(key, sizeof(key), "%.*s", (int)len, p);
		v = json_is_array(v) ? json_array_get(v, (size_t)atoi(key))
				     : json_object_get(v, key);
		p += len;
		if (*p == '.')
			p++;
	}
	if (!json_is_string(v))
		fail_msg("%s is not a string", path);
	return json_string_value(v);
}

static char *
dump(json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void
assert_dump(const char *want, json_t *v)
{
	char *d = dump(v);

	assert_string_equal(want, d);
	free(d);
}

static void
profile_id(fx *f, size_t bp, char *out, size_t outlen)
{
	snprintf(out, outlen, BA "%s/billingProfiles/%s",
		f->p->accounts[f->p->profiles[bp].account].name,
		f->p->profiles[bp].name);
}

/* ------------------------------------------------------------------ */

static void
test_accounts(void **state)
{
	fx f;
	cb_test_reply r;
	json_t *v;
	char want[2048], upper[256];
	const as_account *a;

	(void)state;
	start(&f, 100, 0, 0);
	a = &f.p->accounts[0];
	/* Seed 1 always makes the same partner. */
	assert_string_equal("71c18690-ee42-490b-b1bb-54d8d101b5b9:c34d0bff-"
			    "9015-4280-a099-ec6cd7363ca5_2019-05-31",
		a->name);
	assert_string_equal("Woodgrove Cloud Partners", a->display);

	v = getf(&f, 200, BA "?" V24);
	assert_int_equal(2, json_array_size(json_object_get(v, "value")));
	assert_null(json_object_get(v, "nextLink"));
	assert_string_equal(a->name, str_at(v, "value.0.name"));
	assert_string_equal("MicrosoftPartnerAgreement",
		str_at(v, "value.0.properties.agreementType"));
	assert_string_equal(
		"Partner", str_at(v, "value.0.properties.accountType"));
	assert_string_equal(f.p->accounts[1].name, str_at(v, "value.1.name"));
	assert_string_equal("MicrosoftCustomerAgreement",
		str_at(v, "value.1.properties.agreementType"));
	assert_string_equal("2019-05-31T00:00:00.0000000Z",
		str_at(v, "value.0.systemData.createdAt"));
	json_decref(v);

	/* Get, %3A-encoded, in upper case: ids keep the real name. */
	snprintf(upper, sizeof(upper), "%s", f.mpa);
	for (char *c = upper; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	reqf(&f, &r, "GET", NULL, BA "%s?" V20, upper);
	assert_int_equal(200, r.status);
	snprintf(want, sizeof(want),
		"{\"id\":\"" BA "%s\",\"name\":\"%s\",\"type\":\"Microsoft."
		"Billing/billingAccounts\",\"properties\":{\"displayName\":"
		"\"%s\",\"agreementType\":\"MicrosoftPartnerAgreement\","
		"\"accountType\":\"Partner\",\"accountStatus\":\"Active\","
		"\"hasReadAccess\":true,\"billingProfiles\":{"
		"\"hasMoreResults\":false}}}",
		a->name, a->name, a->display);
	assert_string_equal(want, r.body);
	assert_string_equal("application/json; charset=utf-8",
		cb_test_reply_header(&r, "Content-Type"));
	cb_test_reply_free(&r);

	/* 2019-10-01-preview: thin, with organizationId. */
	reqf(&f, &r, "GET", NULL, BA "%s?" VPRE, f.mca);
	snprintf(want, sizeof(want),
		"{\"id\":\"" BA "%s\",\"name\":\"%s\",\"type\":\"Microsoft."
		"Billing/billingAccounts\",\"properties\":{\"displayName\":"
		"\"%s\",\"agreementType\":\"MicrosoftCustomerAgreement\","
		"\"accountType\":\"Business\",\"organizationId\":\"%s\"}}",
		f.mca, f.mca, f.p->accounts[1].display, f.p->tenant_id);
	assert_string_equal(want, r.body);
	cb_test_reply_free(&r);

	expectf(&f, 404,
		"{\"error\":{\"code\":\"BillingAccountNotFound\","
		"\"message\":\"Billing account 'nope:nope_2019-"
		"01-01' was not found.\"}}",
		"GET", NULL, BA "nope%%3Anope_2019-01-01?" V24);
	stop(&f);
}

static void
test_profiles(void **state)
{
	fx f;
	cb_test_reply r;
	json_t *v;
	char want[4096], bpid[512];
	const as_profile *bp;

	(void)state;
	start(&f, 100, 0, 0);
	v = getf(&f, 200, BA "%s/billingProfiles?" V24, f.mpa);
	assert_int_equal(3, json_array_size(json_object_get(v, "value")));
	assert_string_equal("USD", str_at(v, "value.0.properties.currency"));
	assert_string_equal("EUR", str_at(v, "value.1.properties.currency"));
	assert_string_equal("JPY", str_at(v, "value.2.properties.currency"));
	assert_string_equal(f.p->profiles[1].name, str_at(v, "value.1.name"));
	assert_string_equal("CSPPartner",
		str_at(v, "value.2.properties.billingRelationshipType"));
	assert_string_equal(
		"Tokyo", str_at(v, "value.2.properties.billTo.city"));
	assert_int_equal(5,
		json_integer_value(json_object_get(
			json_object_get(
				json_array_get(json_object_get(v, "value"), 0),
				"properties"),
			"invoiceDay")));
	json_decref(v);

	reqf(&f, &r, "GET", NULL, BA "%s/billingProfiles?" V20, f.mca);
	v = parse(&r);
	assert_int_equal(1, json_array_size(json_object_get(v, "value")));
	assert_string_equal("Direct",
		str_at(v, "value.0.properties.billingRelationshipType"));
	json_decref(v);
	cb_test_reply_free(&r);

	/* Get, 2019-10-01-preview: the thin body, exactly. */
	bp = &f.p->profiles[1];
	profile_id(&f, 1, bpid, sizeof(bpid));
	snprintf(want, sizeof(want),
		"{\"id\":\"%s\",\"name\":\"%s\",\"type\":\"Microsoft.Billing/"
		"billingAccounts/billingProfiles\",\"properties\":{"
		"\"displayName\":\"%s\",\"currency\":\"EUR\",\"invoiceDay\":5,"
		"\"invoiceEmailOptIn\":true,\"enabledAzurePlans\":[{\"skuId\":"
		"\"0001\",\"skuDescription\":\"Microsoft Azure Plan\"},{"
		"\"skuId\":\"0002\",\"skuDescription\":\"Microsoft Azure Plan "
		"for DevTest\"}],\"hasReadAccess\":true,\"systemId\":\"%s\","
		"\"status\":\"Active\",\"spendingLimit\":\"Off\"}}",
		bpid, bp->name, bp->display, bp->system_id);
	expectf(&f, 200, want, "GET", NULL, BA "%s/billingProfiles/%s?" VPRE,
		f.mpa, bp->name);

	/* A profile of the other account is not under this one. */
	snprintf(want, sizeof(want),
		"{\"error\":{\"code\":\"BillingProfileNotFound\",\"message\":"
		"\"Billing profile '%s' was not found in billing account "
		"'%s'.\"}}",
		f.p->profiles[3].name, f.p->accounts[0].name);
	expectf(&f, 404, want, "GET", NULL, BA "%s/billingProfiles/%s?" V24,
		f.mpa, f.p->profiles[3].name);
	stop(&f);
}

/* Percent-encode a query value. */
static void
qenc(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in != '\0' && o + 4 < outlen; in++) {
		unsigned char c = (unsigned char)*in;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '.')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "%%%02X", c);
	}
	out[o] = '\0';
}

static void
test_customers(void **state)
{
	fx f;
	cb_test_reply r;
	json_t *v;
	char want[4096], bpid[512], q[512], filt[512];
	const as_customer *c = NULL;

	(void)state;
	start(&f, 100, 0, 0);
	v = getf(&f, 200, BA "%s/customers?" V24, f.mpa);
	assert_int_equal(8, json_array_size(json_object_get(v, "value")));
	assert_int_equal(
		8, json_integer_value(json_object_get(v, "totalCount")));
	for (size_t i = 0; i < 8; i++) {
		char k[32];
		snprintf(k, sizeof(k), "value.%zu.name", i);
		assert_string_equal(f.p->customers[i].id, str_at(v, k));
	}
	/* 2024-04-01 lists name customers under their profile. */
	profile_id(&f, f.p->customers[5].profile, bpid, sizeof(bpid));
	snprintf(want, sizeof(want), "%s/customers/%s", bpid,
		f.p->customers[5].id);
	assert_string_equal(want, str_at(v, "value.5.id"));
	assert_string_equal("Microsoft.Billing/billingAccounts/"
			    "billingProfiles/customers",
		str_at(v, "value.5.type"));
	json_decref(v);

	/* By profile: profile 1 holds customers 1, 4, 7. */
	reqf(&f, &r, "GET", NULL, BA "%s/billingProfiles/%s/customers?" V20,
		f.mpa, f.p->profiles[1].name);
	v = parse(&r);
	assert_int_equal(3, json_array_size(json_object_get(v, "value")));
	assert_int_equal(
		3, json_integer_value(json_object_get(v, "totalCount")));
	assert_string_equal(f.p->customers[4].id, str_at(v, "value.1.name"));
	json_decref(v);
	cb_test_reply_free(&r);

	/* MCA has no customers: refused, not empty. */
	snprintf(want, sizeof(want),
		"{\"error\":{\"code\":\"InvalidBillingAccountType\","
		"\"message\":\"The operation is supported only for billing "
		"accounts with agreement type MicrosoftPartnerAgreement; "
		"'%s' has agreement type MicrosoftCustomerAgreement.\"}}",
		f.mca);
	expectf(&f, 400, want, "GET", NULL, BA "%s/customers?" V24, f.mca);

	/* Get, 2020-05-01, exactly. */
	c = &f.p->customers[DIRECT];
	profile_id(&f, c->profile, bpid, sizeof(bpid));
	snprintf(want, sizeof(want),
		"{\"id\":\"" BA "%s/customers/%s\",\"name\":\"%s\",\"type\":"
		"\"Microsoft.Billing/billingAccounts/customers\","
		"\"properties\":{\"displayName\":\"%s\",\"billingProfileId\":"
		"\"%s\",\"billingProfileDisplayName\":\"%s\"}}",
		f.p->accounts[0].name, c->id, c->id, c->display, bpid,
		f.p->profiles[c->profile].display);
	expectf(&f, 200, want, "GET", NULL, BA "%s/customers/%s?" V20, f.mpa,
		c->id);

	/* $expand: plans and the reseller of an indirect customer. */
	c = &f.p->customers[INDIRECT];
	assert_true(c->indirect);
	reqf(&f, &r, "GET", NULL,
		BA "%s/customers/%s?" V24
		   "&$expand=enabledAzurePlans,resellers",
		f.mpa, c->id);
	v = parse(&r);
	snprintf(want, sizeof(want),
		"[{\"resellerId\":\"%s\",\"description\":\"%s\"}]",
		c->reseller_mpn, c->reseller_name);
	assert_dump(want,
		json_object_get(json_object_get(v, "properties"), "resellers"));
	assert_dump("[{\"skuId\":\"0001\",\"skuDescription\":\"Microsoft "
		    "Azure Plan\"},{\"skuId\":\"0002\",\"skuDescription\":"
		    "\"Microsoft Azure Plan for DevTest\"}]",
		json_object_get(
			json_object_get(v, "properties"), "enabledAzurePlans"));
	json_decref(v);
	cb_test_reply_free(&r);
	/* Without $expand, neither. */
	reqf(&f, &r, "GET", NULL, BA "%s/customers/%s?" V24, f.mpa, c->id);
	assert_null(strstr(r.body, "resellers"));
	assert_null(strstr(r.body, "enabledAzurePlans"));
	cb_test_reply_free(&r);
	/* A direct customer's resellers are an empty list. */
	reqf(&f, &r, "GET", NULL,
		BA "%s/customers/%s?" V24 "&$expand=resellers", f.mpa,
		f.p->customers[DIRECT].id);
	v = parse(&r);
	assert_dump("[]",
		json_object_get(json_object_get(v, "properties"), "resellers"));
	json_decref(v);
	cb_test_reply_free(&r);

	/* $search: part of the display name, any case. */
	c = &f.p->customers[6];
	snprintf(q, sizeof(q), "%s", c->display);
	for (char *p = q; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	qenc(q, filt, sizeof(filt));
	reqf(&f, &r, "GET", NULL, BA "%s/customers?" V24 "&$search=%s", f.mpa,
		filt);
	v = parse(&r);
	assert_int_equal(1, json_array_size(json_object_get(v, "value")));
	assert_int_equal(
		1, json_integer_value(json_object_get(v, "totalCount")));
	assert_string_equal(c->id, str_at(v, "value.0.name"));
	json_decref(v);
	cb_test_reply_free(&r);

	/* $filter=displayName eq '...' */
	snprintf(
		q, sizeof(q), "displayName eq '%s'", f.p->customers[2].display);
	qenc(q, filt, sizeof(filt));
	reqf(&f, &r, "GET", NULL, BA "%s/customers?" V24 "&$filter=%s", f.mpa,
		filt);
	v = parse(&r);
	assert_int_equal(1, json_array_size(json_object_get(v, "value")));
	assert_string_equal(f.p->customers[2].id, str_at(v, "value.0.name"));
	json_decref(v);
	cb_test_reply_free(&r);
	qenc("status eq 'Active'", filt, sizeof(filt));
	expectf(&f, 400,
		"{\"error\":{\"code\":\"InvalidFilter\","
		"\"message\":\"The $filter 'status eq 'Active'' "
		"is not supported; armsim understands "
		"\\\"displayName eq '<name>'\\\".\"}}",
		"GET", NULL, BA "%s/customers?" V24 "&$filter=%s", f.mpa, filt);

	/* Unknown customer; a customer under another profile. */
	snprintf(want, sizeof(want),
		"{\"error\":{\"code\":\"CustomerNotFound\",\"message\":"
		"\"Customer '00000000-0000-4000-8000-000000000000' was not "
		"found in billing account '%s'.\"}}",
		f.p->accounts[0].name);
	expectf(&f, 404, want, "GET", NULL,
		BA "%s/customers/00000000-0000-4000-8000-000000000000?" V24,
		f.mpa);
	expectf(&f, 404, NULL, "GET", NULL,
		BA "%s/billingProfiles/%s/customers/%s?" V24, f.mpa,
		f.p->profiles[1].name, f.p->customers[0].id);
	v = getf(&f, 200, BA "%s/billingProfiles/%s/customers/%s?" V24, f.mpa,
		f.p->profiles[0].name, f.p->customers[0].id);
	profile_id(&f, 0, bpid, sizeof(bpid));
	snprintf(want, sizeof(want), "%s/customers/%s", bpid,
		f.p->customers[0].id);
	assert_string_equal(want, str_at(v, "id"));
	json_decref(v);
	stop(&f);
}

/* Subscription i's lastMonthCharges text: its ActualCost lines of the
 * partner's month, read one subscription at a time (armsim sums whole
 * accounts), rounded to the currency's minor unit. */
static void
month_charges(const as_partner *p, size_t i, char *out, size_t outlen)
{
	as_cost_filter f;
	as_costgen *g;
	const as_cost_row *row;
	cb_money sum = CB_MONEY_ZERO;
	unsigned places;
	size_t n = 0;

	as_cost_filter_init(&f, AS_METRIC_ACTUAL, p->subscriptions[i].account);
	f.subscription = i;
	assert_int_equal(0, as_costgen_open(&g, p, &f));
	while (as_costgen_next(g, &row) == 1) {
		assert_int_equal(i, row->subscription);
		assert_int_equal(0, cb_money_add(&sum, sum, row->cost));
		n++;
	}
	as_costgen_free(g);
	assert_true(n > 0);
	assert_int_equal(
		0, cb_currency_minor_units(&places,
			   p->profiles[p->subscriptions[i].profile].currency));
	assert_int_equal(0, cb_money_round(&sum, sum, places));
	assert_int_equal(0, cb_money_format(out, outlen, sum));
	assert_string_not_equal("0", out);
}

static void
test_subscriptions(void **state)
{
	fx f;
	cb_test_reply r;
	json_t *v;
	char want[4096], bpid[512], last[64];
	const as_customer *c;
	const as_subscription *sub;

	(void)state;
	start(&f, 100, 0, 0);
	c = &f.p->customers[INDIRECT];
	/* Customer 3's subscriptions are 6 and 7 (two per customer). */
	sub = &f.p->subscriptions[6];
	assert_int_equal(INDIRECT, sub->customer);
	profile_id(&f, c->profile, bpid, sizeof(bpid));
	month_charges(f.p, 6, last, sizeof(last));
	reqf(&f, &r, "GET", NULL,
		BA "%s/customers/%s/billingSubscriptions?" V20, f.mpa, c->id);
	assert_int_equal(200, r.status);
	v = parse(&r);
	assert_int_equal(2, json_array_size(json_object_get(v, "value")));
	snprintf(want, sizeof(want),
		"{\"id\":\"" BA "%s/billingSubscriptions/%s\",\"name\":\"%s\","
		"\"type\":\"Microsoft.Billing/billingAccounts/"
		"billingSubscriptions\",\"properties\":{\"displayName\":\"%s\","
		"\"subscriptionId\":\"%s\",\"subscriptionBillingStatus\":"
		"\"Active\",\"lastMonthCharges\":{\"currency\":\"USD\","
		"\"value\":%s},\"monthToDateCharges\":{\"currency\":\"USD\","
		"\"value\":0},\"customerId\":\"" BA "%s/customers/%s\","
		"\"customerDisplayName\":\"%s\",\"reseller\":{\"resellerId\":"
		"\"%s\",\"description\":\"%s\"},\"billingProfileId\":\"%s\","
		"\"billingProfileDisplayName\":\"%s\",\"skuId\":\"%s\","
		"\"skuDescription\":\"%s\"}}",
		f.p->accounts[0].name, sub->id, sub->id, sub->display, sub->id,
		last, f.p->accounts[0].name, c->id, c->display, c->reseller_mpn,
		c->reseller_name, bpid, f.p->profiles[c->profile].display,
		sub->sku_id,
		strcmp(sub->sku_id, "0002") == 0
			? "Microsoft Azure Plan for DevTest"
			: "Microsoft Azure Plan");
	/* In the text: jansson would re-read the money as binary. */
	assert_non_null(strstr(r.body, want));
	json_decref(v);
	cb_test_reply_free(&r);

	/* The same through the billing profile; 2019-10-01-preview names
	 * it under the customer. */
	reqf(&f, &r, "GET", NULL,
		BA
		"%s/billingProfiles/%s/customers/%s/billingSubscriptions?" VPRE,
		f.mpa, f.p->profiles[c->profile].name, c->id);
	assert_int_equal(200, r.status);
	v = parse(&r);
	assert_int_equal(2, json_array_size(json_object_get(v, "value")));
	snprintf(want, sizeof(want),
		BA "%s/customers/%s/billingSubscriptions/%s",
		f.p->accounts[0].name, c->id, f.p->subscriptions[7].id);
	assert_string_equal(want, str_at(v, "value.1.id"));
	assert_string_equal("Microsoft.Billing/billingSubscriptions",
		str_at(v, "value.1.type"));
	json_decref(v);
	cb_test_reply_free(&r);

	/* By account: MPA has every customer's, MCA its own two with the
	 * invoice section. */
	reqf(&f, &r, "GET", NULL, BA "%s/billingSubscriptions?" V24, f.mpa);
	v = parse(&r);
	assert_int_equal(16, json_array_size(json_object_get(v, "value")));
	assert_string_equal(f.p->customers[7].id,
		strrchr(str_at(v, "value.15.properties.customerId"), '/') + 1);
	assert_string_equal("EUR",
		str_at(v, "value.15.properties.monthToDateCharges.currency"));
	json_decref(v);
	cb_test_reply_free(&r);
	reqf(&f, &r, "GET", NULL, BA "%s/billingSubscriptions?" V24, f.mca);
	v = parse(&r);
	assert_int_equal(2, json_array_size(json_object_get(v, "value")));
	profile_id(&f, 3, bpid, sizeof(bpid));
	snprintf(want, sizeof(want), "%s/invoiceSections/%s", bpid,
		f.p->profiles[3].invoice_section);
	assert_string_equal(
		want, str_at(v, "value.0.properties.invoiceSectionId"));
	assert_string_equal("Engineering",
		str_at(v, "value.0.properties.invoiceSectionDisplayName"));
	assert_null(json_object_get(
		json_object_get(json_array_get(json_object_get(v, "value"), 0),
			"properties"),
		"customerId"));
	json_decref(v);
	cb_test_reply_free(&r);

	/* Get one; unknown; one of the other account. */
	v = getf(&f, 200, BA "%s/billingSubscriptions/%s?" V24, f.mpa,
		f.p->subscriptions[0].id);
	assert_string_equal(f.p->subscriptions[0].id, str_at(v, "name"));
	assert_string_equal(f.p->profiles[0].name,
		str_at(v, "properties.billingProfileName"));
	json_decref(v);
	snprintf(want, sizeof(want),
		"{\"error\":{\"code\":\"SubscriptionNotFound\",\"message\":"
		"\"Billing subscription '%s' was not found in billing "
		"account '%s'.\"}}",
		f.p->subscriptions[16].id, f.p->accounts[0].name);
	expectf(&f, 404, want, "GET", NULL,
		BA "%s/billingSubscriptions/%s?" V24, f.mpa,
		f.p->subscriptions[16].id);
	expectf(&f, 400, NULL, "GET", NULL,
		BA "%s/customers/%s/billingSubscriptions?" V24, f.mca, c->id);
	stop(&f);
}

/* Follow nextLink from first to the end; the names seen, in order. */
static void
walk(fx *f, const char *first, char names[][64], size_t max, size_t *n,
	size_t *pages)
{
	char next[4096];
	cb_test_reply r;

	*n = 0;
	*pages = 0;
	snprintf(next, sizeof(next), "%s", first);
	while (next[0] != '\0') {
		json_t *v, *it;
		size_t i;

		req(f, &r, "GET", next, NULL);
		assert_int_equal(200, r.status);
		v = parse(&r);
		json_array_foreach(json_object_get(v, "value"), i, it)
		{
			assert_true(*n < max);
			snprintf(names[(*n)++], 64, "%s",
				json_string_value(json_object_get(it, "name")));
		}
		assert_true(json_array_size(json_object_get(v, "value")) <= 2);
		next[0] = '\0';
		if (json_object_get(v, "nextLink") != NULL)
			snprintf(next, sizeof(next), "%s",
				json_string_value(
					json_object_get(v, "nextLink")));
		(*pages)++;
		json_decref(v);
		cb_test_reply_free(&r);
	}
}

static void
test_paging(void **state)
{
	fx f;
	cb_test_reply r;
	json_t *v;
	char names[40][64], first[1024], want[1024];
	size_t n, pages;

	(void)state;
	start(&f, 2, 0, 0);
	/* The nextLink echoes the path as sent (%3A) and the query. */
	reqf(&f, &r, "GET", NULL, BA "%s/customers?" V24, f.mpa);
	v = parse(&r);
	snprintf(want, sizeof(want),
		"%s" BA "%s/customers?" V24 "&$skiptoken=as2", f.base, f.mpa);
	assert_string_equal(want, str_at(v, "nextLink"));
	assert_int_equal(
		8, json_integer_value(json_object_get(v, "totalCount")));
	json_decref(v);
	cb_test_reply_free(&r);

	snprintf(first, sizeof(first), BA "%s/customers?" V24, f.mpa);
	walk(&f, first, names, 40, &n, &pages);
	assert_int_equal(8, n);
	assert_int_equal(4, pages);
	for (size_t i = 0; i < 8; i++)
		assert_string_equal(f.p->customers[i].id, names[i]);

	snprintf(
		first, sizeof(first), BA "%s/billingSubscriptions?" V20, f.mpa);
	walk(&f, first, names, 40, &n, &pages);
	assert_int_equal(16, n);
	assert_int_equal(8, pages);
	for (size_t i = 0; i < 16; i++)
		assert_string_equal(f.p->subscriptions[i].id, names[i]);

	snprintf(first, sizeof(first), BA "%s/billingProfiles?" V24, f.mpa);
	walk(&f, first, names, 40, &n, &pages);
	assert_int_equal(3, n);
	assert_int_equal(2, pages);

	snprintf(first, sizeof(first), BA "?" VPRE);
	walk(&f, first, names, 40, &n, &pages);
	assert_int_equal(2, n);
	assert_int_equal(1, pages);

	/* A $skiptoken armsim did not issue. */
	expectf(&f, 400,
		"{\"error\":{\"code\":\"InvalidSkipToken\","
		"\"message\":\"The $skiptoken 'zz' is not "
		"valid.\"}}",
		"GET", NULL, BA "%s/customers?" V24 "&$skiptoken=zz", f.mpa);
	stop(&f);
}

/* Follow nextLink from first to the end; every item's name must be the
 * next of want (count items, each stride bytes apart) in order. */
static void
walk_all(fx *f, const char *first, const char *want, size_t stride,
	size_t count, size_t *pages)
{
	char next[4096];
	size_t n = 0;
	cb_test_reply r;

	*pages = 0;
	snprintf(next, sizeof(next), "%s", first);
	while (next[0] != '\0') {
		json_t *v, *it;
		size_t i;

		req(f, &r, "GET", next, NULL);
		assert_int_equal(200, r.status);
		v = parse(&r);
		json_array_foreach(json_object_get(v, "value"), i, it)
		{
			assert_true(n < count);
			assert_string_equal(want + n * stride,
				json_string_value(json_object_get(it, "name")));
			n++;
		}
		next[0] = '\0';
		if (json_object_get(v, "nextLink") != NULL)
			snprintf(next, sizeof(next), "%s",
				json_string_value(
					json_object_get(v, "nextLink")));
		(*pages)++;
		json_decref(v);
		cb_test_reply_free(&r);
	}
	assert_int_equal(count, n);
}

/* A big partner (bench/walk's size) pages in linear time: only the
 * page's items become JSON, not the whole list for every page, which
 * took about 0.3 s a page of 15,000 subscriptions.  The time bound is
 * loose (under ASan too); the quadratic walk took minutes. */
static void
test_paging_big(void **state)
{
	as_options o;
	fx f;
	cb_test_reply r;
	json_t *v;
	char first[1024];
	size_t pages;
	struct timespec t0, t1;

	(void)state;
	memset(&f, 0, sizeof(f));
	as_test_options(&o, 5000);
	o.subscriptions_per_customer = 3;
	o.page_size = 100;
	f.s = as_test_start(&o);
	f.p = f.s->partner;
	snprintf(f.mpa, sizeof(f.mpa), "%s", f.p->accounts[0].name);
	as_server_base(f.s, f.base, sizeof(f.base));
	clock_gettime(CLOCK_MONOTONIC, &t0);

	snprintf(first, sizeof(first), BA "%s/customers?" V24, f.mpa);
	walk_all(&f, first, f.p->customers[0].id, sizeof(f.p->customers[0]),
		5000, &pages);
	assert_int_equal(50, pages);
	snprintf(
		first, sizeof(first), BA "%s/billingSubscriptions?" V20, f.mpa);
	walk_all(&f, first, f.p->subscriptions[0].id,
		sizeof(f.p->subscriptions[0]), 15000, &pages);
	assert_int_equal(150, pages);

	/* The last page, a page past the end, and a filtered list. */
	reqf(&f, &r, "GET", NULL, BA "%s/customers?" V24 "&$skiptoken=as4950",
		f.mpa);
	v = parse(&r);
	assert_int_equal(50, json_array_size(json_object_get(v, "value")));
	assert_null(json_object_get(v, "nextLink"));
	assert_int_equal(
		5000, json_integer_value(json_object_get(v, "totalCount")));
	json_decref(v);
	cb_test_reply_free(&r);
	reqf(&f, &r, "GET", NULL,
		BA "%s/billingSubscriptions?" V20 "&$skiptoken=as15000", f.mpa);
	assert_string_equal("{\"value\":[]}", r.body);
	cb_test_reply_free(&r);
	reqf(&f, &r, "GET", NULL,
		BA "%s/customers?" V24 "&$skiptoken=as0&$search=%s", f.mpa,
		f.p->customers[4999].id);
	v = parse(&r);
	assert_int_equal(1, json_array_size(json_object_get(v, "value")));
	assert_int_equal(
		1, json_integer_value(json_object_get(v, "totalCount")));
	json_decref(v);
	cb_test_reply_free(&r);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 20);
	stop(&f);
}

static void
test_policies(void **state)
{
	fx f;
	cb_test_reply r;
	char want[2048], bpid[512];
	const as_customer *c;
	const char *bp;

	(void)state;
	start(&f, 100, 0, 0);
	c = &f.p->customers[2];
	bp = f.p->profiles[c->profile].name;
	profile_id(&f, c->profile, bpid, sizeof(bpid));

	/* Off by default, on both paths. */
	snprintf(want, sizeof(want),
		"{\"id\":\"" BA "%s/customers/%s/policies/default\",\"name\":"
		"\"default\",\"type\":\"Microsoft.Billing/billingAccounts/"
		"customers/policies\",\"properties\":{\"viewCharges\":"
		"\"NotAllowed\"}}",
		f.p->accounts[0].name, c->id);
	expectf(&f, 200, want, "GET", NULL,
		BA "%s/customers/%s/policies/default?" V20, f.mpa, c->id);

	/* PUT at account level, then GET at profile level sees it. */
	snprintf(want, sizeof(want),
		"{\"id\":\"" BA "%s/customers/%s/policies/default\",\"name\":"
		"\"default\",\"type\":\"Microsoft.Billing/billingAccounts/"
		"customers/policies\",\"properties\":{\"viewCharges\":"
		"\"Allowed\"}}",
		f.p->accounts[0].name, c->id);
	expectf(&f, 200, want, "PUT",
		"{\"properties\":{\"viewCharges\":\"Allowed\"}}",
		BA "%s/customers/%s/policies/default?" V20, f.mpa, c->id);
	reqf(&f, &r, "GET", NULL,
		BA "%s/billingProfiles/%s/customers/%s/policies/default?" VPRE,
		f.mpa, bp, c->id);
	snprintf(want, sizeof(want),
		"{\"id\":\"%s/customers/%s/policies/default\",\"name\":"
		"\"default\",\"type\":\"Microsoft.Billing/billingAccounts/"
		"billingProfiles/customers/policies\",\"properties\":{"
		"\"viewCharges\":\"Allowed\"}}",
		bpid, c->id);
	assert_string_equal(want, r.body);
	cb_test_reply_free(&r);
	/* Another customer is untouched. */
	reqf(&f, &r, "GET", NULL, BA "%s/customers/%s/policies/default?" V24,
		f.mpa, f.p->customers[1].id);
	assert_non_null(strstr(r.body, "\"viewCharges\":\"NotAllowed\""));
	cb_test_reply_free(&r);

	/* 2024-04-01 PUT through the profile: 200 at once (no 201 LRO). */
	reqf(&f, &r, "PUT", "{\"properties\":{\"viewCharges\":\"NotAllowed\"}}",
		BA "%s/billingProfiles/%s/customers/%s/policies/default?" V24,
		f.mpa, bp, c->id);
	assert_int_equal(200, r.status);
	assert_null(cb_test_reply_header(&r, "Location"));
	snprintf(want, sizeof(want),
		"{\"id\":\"%s/customers/%s/policies/default\",\"name\":"
		"\"default\",\"type\":\"Microsoft.Billing/billingAccounts/"
		"billingProfiles/customers/policies\",\"properties\":{"
		"\"viewCharges\":\"NotAllowed\",\"provisioningState\":"
		"\"Succeeded\"}}",
		bpid, c->id);
	assert_string_equal(want, r.body);
	cb_test_reply_free(&r);
	reqf(&f, &r, "GET", NULL, BA "%s/customers/%s/policies/default?" V24,
		f.mpa, c->id);
	assert_non_null(strstr(r.body, "\"viewCharges\":\"NotAllowed\""));
	cb_test_reply_free(&r);

	/* Bad values change nothing. */
	expectf(&f, 400,
		"{\"error\":{\"code\":\"InvalidRequestContent\","
		"\"message\":\"The request content was invalid: "
		"the value 'Sometimes' of "
		"properties.viewCharges is not one of "
		"'Allowed', 'NotAllowed'.\"}}",
		"PUT", "{\"properties\":{\"viewCharges\":\"Sometimes\"}}",
		BA "%s/customers/%s/policies/default?" V24, f.mpa, c->id);
	expectf(&f, 400,
		"{\"error\":{\"code\":\"InvalidRequestContent\","
		"\"message\":\"The request content was invalid: "
		"properties.viewCharges is required.\"}}",
		"PUT", "{\"properties\":{}}",
		BA "%s/customers/%s/policies/default?" V24, f.mpa, c->id);
	expectf(&f, 400, NULL, "PUT", "{\"properties\":{\"viewCharges\":true}}",
		BA "%s/customers/%s/policies/default?" V24, f.mpa, c->id);
	expectf(&f, 400, NULL, "PUT", "viewCharges=Allowed",
		BA "%s/customers/%s/policies/default?" V24, f.mpa, c->id);
	reqf(&f, &r, "GET", NULL, BA "%s/customers/%s/policies/default?" V24,
		f.mpa, c->id);
	assert_non_null(strstr(r.body, "\"viewCharges\":\"NotAllowed\""));
	cb_test_reply_free(&r);

	/* Unknown customer; the MCA account; another policy name. */
	expectf(&f, 404, NULL, "PUT",
		"{\"properties\":{\"viewCharges\":\"Allowed\"}}",
		BA "%s/customers/nobody/policies/default?" V24, f.mpa);
	expectf(&f, 400, NULL, "GET", NULL,
		BA "%s/customers/%s/policies/default?" V24, f.mca, c->id);
	expectf(&f, 404, NULL, "GET", NULL,
		BA "%s/customers/%s/policies/other?" V24, f.mpa, c->id);
	stop(&f);
}

static void
test_api_version(void **state)
{
	fx f;

	(void)state;
	start(&f, 100, 0, 0);
	expectf(&f, 400,
		"{\"error\":{\"code\":\"MissingApiVersionParameter"
		"\",\"message\":\"The api-version query "
		"parameter (?api-version=) is required for all "
		"requests.\"}}",
		"GET", NULL, BA "%s/customers", f.mpa);
	expectf(&f, 400,
		"{\"error\":{\"code\":\"InvalidApiVersionParameter"
		"\",\"message\":\"The api-version '2021-10-01' "
		"is invalid. The supported versions are "
		"'2019-10-01-preview', '2020-05-01', "
		"'2024-04-01'.\"}}",
		"GET", NULL, BA "%s/customers?api-version=2021-10-01", f.mpa);
	stop(&f);
}

/* The money text armsim must send for v. */
static void
money_text(cb_money v, char *out, size_t outlen)
{
	assert_int_equal(0, cb_money_format(out, outlen, v));
}

static void
test_invoices(void **state)
{
	fx f;
	cb_test_reply r;
	json_t *v;
	as_invoice inv[3];
	char want[2048], period[128], total[64], bpid[512], lower[64];
	int iy, im;

	(void)state;
	start(&f, 100, 0, 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(0, as_costgen_invoice(f.p, i, &inv[i]));
	/* Dated the 5th of the month after the partner's month. */
	iy = f.p->year + f.p->month / 12;
	im = f.p->month % 12 + 1;
	snprintf(period, sizeof(period),
		"periodStartDate=%04d-%02d-05&periodEndDate=%04d-%02d-05", iy,
		im, iy, im);

	v = getf(&f, 200, BA "%s/invoices?" V24 "&%s", f.mpa, period);
	assert_int_equal(3, json_array_size(json_object_get(v, "value")));
	for (size_t i = 0; i < 3; i++) {
		char k[64];
		snprintf(k, sizeof(k), "value.%zu.name", i);
		assert_string_equal(inv[i].name, str_at(v, k));
		snprintf(k, sizeof(k), "value.%zu.properties.status", i);
		assert_string_equal(i == 1 ? "Due" : "Paid", str_at(v, k));
	}
	json_decref(v);

	/* A period with no invoice date in it: an empty list. */
	reqf(&f, &r, "GET", NULL,
		BA "%s/invoices?" V24
		   "&periodStartDate=2018-01-01&periodEndDate=2018-06-30",
		f.mpa);
	assert_int_equal(200, r.status);
	assert_string_equal("{\"value\":[]}", r.body);
	cb_test_reply_free(&r);

	/* Required, well-formed, in order. */
	expectf(&f, 400,
		"{\"error\":{\"code\":\"MissingRequiredParameter\","
		"\"message\":\"The query parameter "
		"'periodStartDate' is required.\"}}",
		"GET", NULL, BA "%s/invoices?" V24 "&periodEndDate=2026-11-30",
		f.mpa);
	expectf(&f, 400,
		"{\"error\":{\"code\":\"InvalidParameter\","
		"\"message\":\"The query parameter "
		"'periodStartDate' value '11-01-2026' is not a "
		"date (yyyy-MM-dd).\"}}",
		"GET", NULL,
		BA "%s/invoices?" V24
		   "&periodStartDate=11-01-2026&periodEndDate=2026-11-30",
		f.mpa);
	expectf(&f, 400, NULL, "GET", NULL,
		BA "%s/invoices?" V24
		   "&periodStartDate=2026-02-30&periodEndDate=2026-11-30",
		f.mpa);
	expectf(&f, 400,
		"{\"error\":{\"code\":\"InvalidParameter\","
		"\"message\":\"periodEndDate must not be before "
		"periodStartDate.\"}}",
		"GET", NULL,
		BA "%s/invoices?" V24
		   "&periodStartDate=2026-12-01&periodEndDate=2026-11-30",
		f.mpa);

	/* Get a Due one by its name in lower case. */
	snprintf(lower, sizeof(lower), "%s", inv[1].name);
	for (char *c = lower; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	reqf(&f, &r, "GET", NULL, BA "%s/invoices/%s?" V24, f.mpa, lower);
	assert_int_equal(200, r.status);
	v = parse(&r);
	snprintf(want, sizeof(want), BA "%s/invoices/%s", f.p->accounts[0].name,
		inv[1].name);
	assert_string_equal(want, str_at(v, "id"));
	assert_string_equal("Due", str_at(v, "properties.status"));
	snprintf(want, sizeof(want), "%04d-%02d-05T00:00:00Z", iy, im);
	assert_string_equal(want, str_at(v, "properties.invoiceDate"));
	snprintf(want, sizeof(want), "%04d-%02d-01T00:00:00Z", f.p->year,
		f.p->month);
	assert_string_equal(
		want, str_at(v, "properties.invoicePeriodStartDate"));
	profile_id(&f, 1, bpid, sizeof(bpid));
	assert_string_equal(bpid, str_at(v, "properties.billingProfileId"));
	assert_dump("[]",
		json_object_get(json_object_get(v, "properties"), "payments"));
	json_decref(v);
	/* Money checked in the text: jansson would re-read it as binary. */
	money_text(inv[1].total, total, sizeof(total));
	snprintf(want, sizeof(want),
		"\"status\":\"Due\",\"amountDue\":{\"currency\":\"EUR\","
		"\"value\":%s},\"billedAmount\":{\"currency\":\"EUR\","
		"\"value\":%s},\"azurePrepaymentApplied\":{\"currency\":"
		"\"EUR\",\"value\":0},\"creditAmount\":{\"currency\":"
		"\"EUR\",\"value\":0},\"freeAzureCreditApplied\":{"
		"\"currency\":\"EUR\",\"value\":0},\"subTotal\":{"
		"\"currency\":\"EUR\",\"value\":%s},\"taxAmount\":{"
		"\"currency\":\"EUR\",\"value\":0},\"totalAmount\":{"
		"\"currency\":\"EUR\",\"value\":%s},",
		total, total, total, total);
	assert_non_null(strstr(r.body, want));
	cb_test_reply_free(&r);
	/* Exact money in the text too (jansson above re-reads numbers). */
	reqf(&f, &r, "GET", NULL, BA "%s/invoices/%s?" V24, f.mpa, inv[0].name);
	money_text(inv[0].total, total, sizeof(total));
	snprintf(want, sizeof(want),
		"\"status\":\"Paid\",\"amountDue\":{\"currency\":\"USD\","
		"\"value\":0},\"billedAmount\":{\"currency\":\"USD\","
		"\"value\":%s}",
		total);
	assert_non_null(strstr(r.body, want));
	snprintf(want, sizeof(want),
		"\"payments\":[{\"date\":\"%04d-%02d-15T00:00:00Z\","
		"\"paymentType\":\"completed\",\"amount\":{\"currency\":"
		"\"USD\",\"value\":%s},\"paymentMethodFamily\":\"CheckWire\","
		"\"paymentMethodType\":\"wire\"}]",
		iy, im, total);
	assert_non_null(strstr(r.body, want));
	cb_test_reply_free(&r);

	/* Another account's invoice is not under this one. */
	{
		as_invoice mca;
		assert_int_equal(0, as_costgen_invoice(f.p, 3, &mca));
		reqf(&f, &r, "GET", NULL, BA "%s/invoices/%s?" V24, f.mpa,
			mca.name);
		assert_int_equal(404, r.status);
		snprintf(want, sizeof(want),
			"{\"error\":{\"code\":\"InvoiceNotFound\","
			"\"message\":\"Invoice '%s' was not found in "
			"billing account '%s'.\"}}",
			mca.name, f.p->accounts[0].name);
		assert_string_equal(want, r.body);
		cb_test_reply_free(&r);
	}
	stop(&f);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
test_invoice_download(void **state)
{
	fx f;
	cb_test_reply r;
	json_t *v;
	as_invoice inv;
	char want[2048], loc[2048], url[2048], total[64];
	const char *h;

	(void)state;
	start(&f, 100, 1, 1);
	assert_int_equal(0, as_costgen_invoice(f.p, 2, &inv));
	reqf(&f, &r, "POST", NULL,
		BA "%s/invoices/%s/download?" V24 "&documentName=%s", f.mpa,
		inv.name, inv.name);
	assert_int_equal(202, r.status);
	assert_string_equal("", r.body);
	assert_string_equal("1", cb_test_reply_header(&r, "Retry-After"));
	h = cb_test_reply_header(&r, "Location");
	assert_non_null(h);
	snprintf(loc, sizeof(loc), "%s", h);
	snprintf(want, sizeof(want),
		"%s" BA "%s/invoices/%s/operationResults/invoiceDownload_",
		f.base, f.p->accounts[0].name, inv.name);
	assert_memory_equal(want, loc, strlen(want));
	assert_string_equal("?" V24, loc + strlen(want) + AS_GUID_LEN);
	cb_test_reply_free(&r);

	/* 202 once more (lro_polls 1), then the link; waiting out each
	 * Retry-After, so no violation. */
	sleep_ms(1050);
	req(&f, &r, "GET", loc, NULL);
	assert_int_equal(202, r.status);
	assert_string_equal("1", cb_test_reply_header(&r, "Retry-After"));
	assert_string_equal(loc, cb_test_reply_header(&r, "Location"));
	cb_test_reply_free(&r);
	sleep_ms(1050);
	req(&f, &r, "GET", loc, NULL);
	assert_int_equal(200, r.status);
	v = parse(&r);
	snprintf(url, sizeof(url), "%s", str_at(v, "url"));
	snprintf(want, sizeof(want),
		"%s/blobs/invoices/%s.pdf?sv=2019-02-02&sr=b&sp=r&se=%s&sig=",
		f.base, inv.name, str_at(v, "expiryTime"));
	assert_memory_equal(want, url, strlen(want));
	assert_int_equal(64, strlen(url + strlen(want)));
	json_decref(v);
	cb_test_reply_free(&r);
	req(&f, &r, "GET", "/_armsim/violations", NULL);
	assert_string_equal(
		"{\"count\":0,\"byKind\":{},\"violations\":[]}", r.body);
	cb_test_reply_free(&r);

	/* The PDF: no bearer token needed. */
	assert_int_equal(0, cb_test_fetch(&r, "GET", url, NULL, NULL));
	assert_int_equal(200, r.status);
	assert_string_equal(
		"application/pdf", cb_test_reply_header(&r, "Content-Type"));
	money_text(inv.total, total, sizeof(total));
	snprintf(want, sizeof(want),
		"%%PDF-1.4\n%% armsim invoice %s %s JPY\n"
		"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
		"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
		"trailer<</Root 1 0 R>>\n%%%%EOF\n",
		inv.name, total);
	assert_string_equal(want, r.body);
	cb_test_reply_free(&r);
	/* A changed signature, none at all, another blob. */
	url[strlen(url) - 1] = url[strlen(url) - 1] == '0' ? '1' : '0';
	assert_int_equal(0, cb_test_fetch(&r, "GET", url, NULL, NULL));
	assert_int_equal(403, r.status);
	assert_string_equal("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error>"
			    "<Code>AuthenticationFailed</Code><Message>"
			    "Signature did not match.</Message></Error>",
		r.body);
	cb_test_reply_free(&r);
	reqf(&f, &r, "GET", NULL, "/blobs/invoices/%s.pdf", inv.name);
	assert_int_equal(403, r.status);
	assert_string_equal("AuthenticationFailed",
		cb_test_reply_header(&r, "x-ms-error-code"));
	cb_test_reply_free(&r);
	reqf(&f, &r, "GET", NULL, "/blobs/invoices/G0nothing.pdf?sig=x");
	assert_int_equal(404, r.status);
	assert_string_equal(
		"BlobNotFound", cb_test_reply_header(&r, "x-ms-error-code"));
	cb_test_reply_free(&r);

	/* Polling before Retry-After ends is a violation (still answered). */
	reqf(&f, &r, "POST", NULL, BA "%s/invoices/%s/download?" V24, f.mpa,
		inv.name);
	assert_int_equal(202, r.status);
	snprintf(loc, sizeof(loc), "%s", cb_test_reply_header(&r, "Location"));
	cb_test_reply_free(&r);
	req(&f, &r, "GET", loc, NULL);
	assert_int_equal(202, r.status);
	cb_test_reply_free(&r);
	req(&f, &r, "GET", "/_armsim/violations", NULL);
	assert_non_null(strstr(r.body,
		"\"count\":1,\"byKind\":{\"retry-before-retry-after\":1}"));
	cb_test_reply_free(&r);

	/* Unknown document, invoice, operation. */
	snprintf(want, sizeof(want),
		"{\"error\":{\"code\":\"DocumentNotFound\",\"message\":"
		"\"Document 'DRS_1' was not found for invoice '%s'.\"}}",
		inv.name);
	expectf(&f, 404, want, "POST", NULL,
		BA "%s/invoices/%s/download?" V24 "&documentName=DRS_1", f.mpa,
		inv.name);
	expectf(&f, 404, NULL, "POST", NULL,
		BA "%s/invoices/G000/download?" V24, f.mpa);
	expectf(&f, 404,
		"{\"error\":{\"code\":\"OperationNotFound\","
		"\"message\":\"Operation 'invoiceDownload_x' "
		"was not found.\"}}",
		"GET", NULL,
		BA "%s/invoices/%s/operationResults/invoiceDownload_x?" V24,
		f.mpa, inv.name);
	stop(&f);
}

/* ------------------------------------------------------------------ */
/* Every Microsoft.Billing response example has armsim's shape */

typedef struct {
	const char *file; /* under Microsoft.Billing/ */
	const char *method;
	const char *target; /* {MPA} {MCA} {BP} {C} {INV} {FROM} {TO} */
	const char *const *ignore;
	const char *why; /* the reason for each ignored field */
} shape_case;

/* costCenter: none is set on armsim's subscriptions, and Azure omits an
 * unset property. */
static const char *const no_cost_center[] = { "value[].properties.costCenter",
	NULL };
/* tags: resource tags a partner puts on a customer; armsim's have none. */
static const char *const no_tags[] = { "value[].tags", NULL };
/* statusReasonCode: only a Warned or Disabled profile has one; armsim's
 * are Active. */
static const char *const no_status_reason[] = {
	"value[].properties.statusReasonCode", NULL
};
/* payments: a Due invoice has none yet (an empty array, which the
 * example's non-empty array does not allow); a Paid invoice's payments
 * are shape-checked by invoicesGetByBillingAccount. */
static const char *const no_payments[] = { "value[].properties.payments",
	NULL };

#define ACC  BA "{MPA}"
#define CUS  BA "{MPA}/customers/{C}"
#define PCUS BA "{MPA}/billingProfiles/{BP}/customers/{C}"

static const shape_case shape_cases[] = {
	{ "2019-10-01-preview/BillingAccountsList.json", "GET",
		"/providers/Microsoft.Billing/billingAccounts?" VPRE, NULL,
		NULL },
	/* The example says 2018-11-01-preview, which armsim (like the
	 * client) does not use; the same list at 2019-10-01-preview. */
	{ "2019-10-01-preview/BillingSubscriptionsListByCustomer.json", "GET",
		CUS "/billingSubscriptions?" VPRE, NULL, NULL },
	{ "2019-10-01-preview/CustomerPolicy.json", "GET",
		PCUS "/policies/default?" VPRE, NULL, NULL },
	{ "2019-10-01-preview/CustomersListByBillingAccount.json", "GET",
		ACC "/customers?" VPRE, NULL, NULL },
	{ "2019-10-01-preview/UpdateCustomerPolicy.json", "PUT",
		PCUS "/policies/default?" VPRE, NULL, NULL },
	{ "2020-05-01/CustomerPolicy.json", "GET", CUS "/policies/default?" V20,
		NULL, NULL },
	{ "2020-05-01/CustomersListByBillingAccount.json", "GET",
		ACC "/customers?" V20, NULL, NULL },
	{ "2020-05-01/UpdateCustomerPolicy.json", "PUT",
		CUS "/policies/default?" V20, NULL, NULL },
	{ "2024-04-01/billingAccountsGet.json", "GET", ACC "?" V24, NULL,
		NULL },
	{ "2024-04-01/billingAccountsList.json", "GET",
		"/providers/Microsoft.Billing/billingAccounts?" V24, NULL,
		NULL },
	{ "2024-04-01/billingProfilesListByBillingAccount.json", "GET",
		ACC "/billingProfiles?" V24, no_status_reason,
		"only a Warned or Disabled profile has a statusReasonCode" },
	/* The example is an MCA account's (invoice sections). */
	{ "2024-04-01/billingSubscriptionsListByBillingAccount.json", "GET",
		BA "{MCA}/billingSubscriptions?" V24, no_cost_center,
		"no cost center is set on armsim's subscriptions" },
	{ "2024-04-01/billingSubscriptionsListByCustomer.json", "GET",
		PCUS "/billingSubscriptions?" V24, no_cost_center,
		"no cost center is set on armsim's subscriptions" },
	{ "2024-04-01/billingSubscriptionsListByCustomerAtBillingAccount.json",
		"GET", CUS "/billingSubscriptions?" V24, NULL, NULL },
	{ "2024-04-01/customersGet.json", "GET", CUS "?" V24, NULL, NULL },
	{ "2024-04-01/customersListByBillingAccount.json", "GET",
		ACC "/customers?" V24, no_tags,
		"armsim's customers carry no resource tags" },
	{ "2024-04-01/customersListByBillingProfile.json", "GET",
		BA "{MPA}/billingProfiles/{BP}/customers?" V24, no_tags,
		"armsim's customers carry no resource tags" },
	{ "2024-04-01/invoicesDownloadByBillingAccount.json", "POST",
		ACC "/invoices/{INV}/download?" V24 "&documentName={INV}", NULL,
		NULL },
	{ "2024-04-01/invoicesGetByBillingAccount.json", "GET",
		ACC "/invoices/{INV}?" V24, NULL, NULL },
	{ "2024-04-01/invoicesListByBillingAccount.json", "GET",
		ACC "/invoices?" V24
		    "&periodStartDate={FROM}&periodEndDate={TO}",
		no_payments, "a Due invoice has no payments yet" },
	{ "2024-04-01/policiesGetByCustomer.json", "GET",
		PCUS "/policies/default?" V24, NULL, NULL },
	{ "2024-04-01/policiesGetByCustomerAtBillingAccount.json", "GET",
		CUS "/policies/default?" V24, NULL, NULL },
	{ "2024-04-01/policiesPutByCustomer.json", "PUT",
		PCUS "/policies/default?" V24, NULL, NULL },
};

#define NCASES (sizeof(shape_cases) / sizeof(shape_cases[0]))

/* target with the {TOKENS} replaced. */
static void
expand(fx *f, const char *t, char *out, size_t outlen)
{
	const as_customer *c = &f->p->customers[INDIRECT];
	as_invoice inv;
	char from[16], to[16];
	int iy = f->p->year + f->p->month / 12, im = f->p->month % 12 + 1;
	size_t o = 0;

	/* Profile 0's invoice is Paid, so it has a payment. */
	assert_int_equal(0, as_costgen_invoice(f->p, 0, &inv));
	snprintf(from, sizeof(from), "%04d-%02d-01", iy, im);
	snprintf(to, sizeof(to), "%04d-%02d-28", iy, im);
	while (*t != '\0' && o + 1 < outlen) {
		const char *v = NULL;
		size_t skip = 0;
		if (strncmp(t, "{MPA}", 5) == 0)
			v = f->mpa, skip = 5;
		else if (strncmp(t, "{MCA}", 5) == 0)
			v = f->mca, skip = 5;
		else if (strncmp(t, "{BP}", 4) == 0)
			v = f->p->profiles[c->profile].name, skip = 4;
		else if (strncmp(t, "{C}", 3) == 0)
			v = c->id, skip = 3;
		else if (strncmp(t, "{INV}", 5) == 0)
			v = inv.name, skip = 5;
		else if (strncmp(t, "{FROM}", 6) == 0)
			v = from, skip = 6;
		else if (strncmp(t, "{TO}", 4) == 0)
			v = to, skip = 4;
		if (v != NULL) {
			o += (size_t)snprintf(out + o, outlen - o, "%s", v);
			t += skip;
		} else {
			out[o++] = *t++;
		}
	}
	out[o < outlen ? o : outlen - 1] = '\0';
}

/* The final body of an invoice download, the example's "200". */
static void
download_final(fx *f, const char *target, cb_test_reply *r)
{
	char loc[2048];

	req(f, r, "POST", target, NULL);
	/* The example's 202 carries Location and Retry-After. */
	assert_int_equal(202, r->status);
	assert_non_null(cb_test_reply_header(r, "Location"));
	assert_string_equal("0", cb_test_reply_header(r, "Retry-After"));
	snprintf(loc, sizeof(loc), "%s", cb_test_reply_header(r, "Location"));
	cb_test_reply_free(r);
	req(f, r, "GET", loc, NULL);
}

static void
check_shape(fx *f, const shape_case *sc)
{
	char rel[512], target[4096], why[1024];
	char *expected, *body = NULL;
	cb_test_reply r;

	snprintf(rel, sizeof(rel), "Microsoft.Billing/%s", sc->file);
	expected = cb_test_example_response(rel, "200");
	if (expected == NULL)
		fail_msg("%s: no 200 body", rel);
	expand(f, sc->target, target, sizeof(target));
	if (strcmp(sc->method, "PUT") == 0) {
		/* The example's request body. */
		body = cb_test_example_parameter(rel, "parameters");
		assert_non_null(body);
	}
	if (strcmp(sc->method, "POST") == 0)
		download_final(f, target, &r);
	else
		req(f, &r, sc->method, target, body);
	if (r.status != 200)
		fail_msg("%s: %s %s: %ld %.300s", sc->file, sc->method, target,
			r.status, r.body);
	if (!cb_test_json_shape(expected, r.body, sc->ignore, why, sizeof(why)))
		fail_msg("%s: %s (ignored: %s)", sc->file, why,
			sc->why ? sc->why : "nothing");
	cb_test_reply_free(&r);
	free(expected);
	free(body);
}

/* Whether the shape table has a case for file. */
static bool
has_case(const char *ver, const char *file)
{
	char name[512];

	snprintf(name, sizeof(name), "%s/%s", ver, file);
	for (size_t i = 0; i < NCASES; i++)
		if (strcmp(shape_cases[i].file, name) == 0)
			return true;
	return false;
}

static void
test_every_example_has_a_case(void **state)
{
	static const char *const vers[] = { "2019-10-01-preview", "2020-05-01",
		"2024-04-01" };
	size_t seen = 0;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		char dir[1024];
		DIR *d;
		struct dirent *e;

		snprintf(dir, sizeof(dir),
			"%s/azure-api-examples/Microsoft.Billing/%s",
			cb_test_shared_dir(), vers[i]);
		d = opendir(dir);
		if (d == NULL)
			fail_msg("%s: cannot open", dir);
		while ((e = readdir(d)) != NULL) {
			size_t len = strlen(e->d_name);
			if (len < 6 ||
				strcmp(e->d_name + len - 5, ".json") != 0)
				continue;
			if (!has_case(vers[i], e->d_name))
				fail_msg("no shape case for %s/%s", vers[i],
					e->d_name);
			seen++;
		}
		closedir(d);
	}
	assert_int_equal(NCASES, seen);
}

static void
test_example_shapes(void **state)
{
	fx f;

	(void)state;
	/* Page size 100: each list answers in one page, as the examples. */
	start(&f, 100, 0, 0);
	for (size_t i = 0; i < NCASES; i++)
		check_shape(&f, &shape_cases[i]);
	stop(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accounts),
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_customers),
		cmocka_unit_test(test_subscriptions),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_paging_big),
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_api_version),
		cmocka_unit_test(test_invoices),
		cmocka_unit_test(test_invoice_download),
		cmocka_unit_test(test_every_example_has_a_case),
		cmocka_unit_test(test_example_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
