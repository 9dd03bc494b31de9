/*
 * emulator/partner.c - the generated partner: the billing hierarchy.
 */
#include "core/common.h"

#include "emulator/costgen.h"
#include "emulator/partner.h"

#include <jansson.h>
#include <stdarg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint64_t
as_rand_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void
as_rand_guid(uint64_t *state, char out[AS_GUID_LEN + 1])
{
	uint64_t a = as_rand_next(state), b = as_rand_next(state);

	/* Version 4, variant 10xx: the shape Azure's GUIDs have. */
	snprintf(out, AS_GUID_LEN + 1, "%08x-%04x-4%03x-%04x-%012llx",
		(unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffffu,
		(unsigned)a & 0x0fffu,
		(unsigned)(0x8000u | ((b >> 48) & 0x3fffu)),
		(unsigned long long)(b & 0xffffffffffffull));
}

/* "ABCD-EFGH-IJK-LMN": the shape of billing profile names. */
static void
profile_name(uint64_t *st, char *out, size_t outlen)
{
	static const char alpha[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	static const int groups[] = { 4, 4, 3, 3 };
	size_t o = 0;

	for (size_t g = 0; g < 4; g++) {
		if (g > 0 && o + 1 < outlen)
			out[o++] = '-';
		for (int i = 0; i < groups[g] && o + 1 < outlen; i++)
			out[o++] = alpha[as_rand_next(st) % 32];
	}
	out[o] = '\0';
}

static const char *const company_a[] = { "Northwind", "Fabrikam", "Contoso",
	"Adventure Works", "Tailspin", "Wingtip", "Litware", "Proseware",
	"Alpine Ski", "Coho Winery", "Fourth Coffee", "Lucerne Publishing",
	"Margie's Travel", "Trey Research", "Woodgrove", "Wide World" };
static const char *const company_b[] = { "Traders", "Labs", "Holdings",
	"Logistics", "Retail", "Health", "Energy", "Studios" };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void
gen_accounts(as_partner *p, uint64_t *st)
{
	char g1[AS_GUID_LEN + 1], g2[AS_GUID_LEN + 1];

	p->naccounts = 2;
	as_rand_guid(st, g1);
	as_rand_guid(st, g2);
	p->accounts[0].agreement = AS_AGREEMENT_MPA;
	snprintf(p->accounts[0].name, AS_NAME_MAX, "%s:%s_2019-05-31", g1, g2);
	snprintf(p->accounts[0].display, AS_NAME_MAX, "%s", p->name);
	as_rand_guid(st, g1);
	as_rand_guid(st, g2);
	p->accounts[1].agreement = AS_AGREEMENT_MCA;
	snprintf(p->accounts[1].name, AS_NAME_MAX, "%s:%s_2020-01-15", g1, g2);
	snprintf(p->accounts[1].display, AS_NAME_MAX, "%.64s (own use)",
		p->name);
}

/* MPA: one profile per currency.  MCA: one USD profile with a section. */
static void
gen_profiles(as_partner *p, uint64_t *st)
{
	static const char *const cur[] = { "USD", "EUR", "JPY" };
	static const char *const region[] = { "Americas", "Europe", "Japan" };

	for (size_t i = 0; i < 3; i++) {
		as_profile *bp = &p->profiles[i];

		bp->account = 0;
		profile_name(st, bp->name, sizeof(bp->name));
		snprintf(bp->display, sizeof(bp->display), "%.64s %s", p->name,
			region[i]);
		memcpy(bp->currency, cur[i], 4);
		profile_name(st, bp->system_id, sizeof(bp->system_id));
	}
	as_profile *mca = &p->profiles[3];
	mca->account = 1;
	profile_name(st, mca->name, sizeof(mca->name));
	snprintf(mca->display, sizeof(mca->display), "%.64s own use", p->name);
	memcpy(mca->currency, "USD", 4);
	profile_name(st, mca->system_id, sizeof(mca->system_id));
	profile_name(st, mca->invoice_section, sizeof(mca->invoice_section));
	snprintf(mca->invoice_section_display,
		sizeof(mca->invoice_section_display), "Engineering");
	p->nprofiles = 4;
}

/* Every fourth customer is indirect, sold through one of two resellers. */
static void
gen_customer(as_partner *p, uint64_t *st, size_t i)
{
	as_customer *c = &p->customers[i];

	c->account = 0;
	c->profile = i % 3;
	as_rand_guid(st, c->id);
	snprintf(c->display, sizeof(c->display), "%s %s %zu",
		company_a[as_rand_next(st) % COUNT(company_a)],
		company_b[as_rand_next(st) % COUNT(company_b)], i + 1);
	c->indirect = i % 4 == 3;
	if (c->indirect) {
		unsigned r = (unsigned)(i / 4) % 2;
		snprintf(c->reseller_mpn, sizeof(c->reseller_mpn), "%u",
			4100000u + r * 1111u);
		snprintf(c->reseller_name, sizeof(c->reseller_name),
			r == 0 ? "Blue Yonder Resellers" : "Lakeshore Cloud");
	}
}

static void
gen_subscription(as_partner *p, uint64_t *st, size_t i, size_t customer,
	size_t profile, unsigned n)
{
	as_subscription *sub = &p->subscriptions[i];

	sub->account = p->profiles[profile].account;
	sub->profile = profile;
	sub->customer = customer;
	as_rand_guid(st, sub->id);
	sub->sku_id = n % 5 == 4 ? "0002" : "0001";
	if (customer == AS_NO_CUSTOMER)
		snprintf(sub->display, sizeof(sub->display), "Engineering %u",
			n + 1);
	else
		snprintf(sub->display, sizeof(sub->display), "%s %.100s",
			n % 2 == 0 ? "Production" : "Development",
			p->customers[customer].display);
}

int
as_partner_generate(
	as_partner **out, const as_partner_opts *o, char *err, size_t errlen)
{
	as_partner *p;
	uint64_t st = o->seed;
	size_t nsub;

	if (o->customers > 1000000 || o->subscriptions_per_customer > 1000 ||
		o->subscriptions_per_customer == 0) {
		snprintf(err, errlen,
			"customers must be at most 1000000 and subscriptions "
			"per customer 1 to 1000");
		return -1;
	}
	nsub = (size_t)o->customers * o->subscriptions_per_customer + 2;
	p = calloc(1, sizeof(*p));
	if (p == NULL ||
		(p->accounts = calloc(2, sizeof(*p->accounts))) == NULL ||
		(p->profiles = calloc(4, sizeof(*p->profiles))) == NULL ||
		(p->customers = calloc(
			 o->customers + 1u, sizeof(*p->customers))) == NULL ||
		(p->subscriptions = calloc(nsub, sizeof(*p->subscriptions))) ==
			NULL ||
		(p->costgen = as_costgen_cache_new()) == NULL) {
		as_partner_free(p);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->seed = o->seed;
	p->year = o->year;
	p->month = o->month;
	p->rows_per_subscription_day = o->rows_per_subscription_day;
	as_rand_guid(&st, p->tenant_id);
	snprintf(p->name, sizeof(p->name), "%s Cloud Partners",
		company_a[as_rand_next(&st) % COUNT(company_a)]);
	gen_accounts(p, &st);
	gen_profiles(p, &st);
	for (size_t i = 0; i < o->customers; i++) {
		gen_customer(p, &st, i);
		for (unsigned n = 0; n < o->subscriptions_per_customer; n++)
			gen_subscription(p, &st, p->nsubscriptions++, i,
				p->customers[i].profile, n);
	}
	p->ncustomers = o->customers;
	for (unsigned n = 0; n < 2; n++)
		gen_subscription(
			p, &st, p->nsubscriptions++, AS_NO_CUSTOMER, 3, n);
	*out = p;
	return 0;
}

void
as_partner_free(as_partner *p)
{
	if (p == NULL)
		return;
	free(p->accounts);
	free(p->profiles);
	free(p->customers);
	free(p->subscriptions);
	as_costgen_cache_free(p->costgen);
	free(p);
}

const as_account *
as_partner_account(const as_partner *p, const char *name)
{
	for (size_t i = 0; i < p->naccounts; i++)
		if (strcasecmp(p->accounts[i].name, name) == 0)
			return &p->accounts[i];
	return NULL;
}

const as_profile *
as_partner_profile(const as_partner *p, const as_account *a, const char *name)
{
	for (size_t i = 0; i < p->nprofiles; i++)
		if (&p->accounts[p->profiles[i].account] == a &&
			strcasecmp(p->profiles[i].name, name) == 0)
			return &p->profiles[i];
	return NULL;
}

const as_customer *
as_partner_customer(const as_partner *p, const as_account *a, const char *id)
{
	for (size_t i = 0; i < p->ncustomers; i++)
		if (&p->accounts[p->customers[i].account] == a &&
			strcasecmp(p->customers[i].id, id) == 0)
			return &p->customers[i];
	return NULL;
}

const as_subscription *
as_partner_subscription(const as_partner *p, const char *id)
{
	for (size_t i = 0; i < p->nsubscriptions; i++)
		if (strcasecmp(p->subscriptions[i].id, id) == 0)
			return &p->subscriptions[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/*
 * The partner file: one JSON object (documented in docs/armsim.md,
 * "Partner file"):
 *
 *   {
 *     "tenantId": "GUID",                 the partner's Entra tenant
 *     "name": "Contoso Cloud Partners",
 *     "seed": 1,                          optional (default 1): seeds the
 *                                         cost lines, 0..2^63-1
 *     "period": "2026-10",                optional: the month of cost lines
 *     "rowsPerSubscriptionDay": 4,        optional, 0..100000 (default 4)
 *     "accounts": [ { "name": "...", "displayName": "...",
 *                     "agreement": "MicrosoftPartnerAgreement" or
 *                                  "MicrosoftCustomerAgreement" } ],
 *     "profiles": [ { "account": "<account name>", "name": "...",
 *                     "displayName": "...", "currency": "USD",
 *                     "systemId": "...",                 optional
 *                     "invoiceSection": "...",           optional, MCA
 *                     "invoiceSectionDisplayName": "..." optional } ],
 *     "customers": [ { "profile": "<profile name>", "id": "GUID",
 *                      "displayName": "...",
 *                      "reseller": { "mpnId": "...", "name": "..." }
 *                                  optional: an indirect customer } ],
 *     "subscriptions": [ { "id": "GUID", "displayName": "...",
 *                          "customer": "<customer id>"   (MPA) or
 *                          "profile": "<profile name>"   (MCA),
 *                          "skuId": "0001" or "0002"     optional } ]
 *   }
 *
 * References are by name (profile names unique in the file).  Customers
 * belong to MPA profiles only; MCA subscriptions name a profile, MPA ones
 * a customer.  Unknown fields are refused (a typo must not pass
 * silently).  Errors: "FILE:LINE:COLUMN: what" for JSON syntax (jansson's
 * position), "FILE: accounts[0].name: missing" and the like for content.
 */

struct load_ctx {
	const char *path;
	char *err;
	size_t errlen;
};

static int load_fail(struct load_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
load_fail(struct load_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(c->err, c->errlen, "%s: ", c->path);

	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
load_keys(struct load_ctx *c, json_t *obj, const char *where,
	const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		size_t i = 0;
		while (allowed[i] != NULL && strcmp(allowed[i], key) != 0)
			i++;
		if (allowed[i] == NULL)
			return load_fail(c, "%s.%s: unknown field", where, key);
	}
	return 0;
}

/* A string field into out (size outlen); def when absent and optional. */
static int
load_str(struct load_ctx *c, json_t *obj, const char *where, const char *key,
	const char *def, char *out, size_t outlen)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (v == NULL) {
		if (def == NULL)
			return load_fail(c, "%s.%s: missing", where, key);
		snprintf(out, outlen, "%s", def);
		return 0;
	}
	if (!json_is_string(v))
		return load_fail(c, "%s.%s: expected a string", where, key);
	s = json_string_value(v);
	if (strlen(s) >= outlen)
		return load_fail(c, "%s.%s: longer than %zu characters", where,
			key, outlen - 1);
	if (def == NULL && *s == '\0')
		return load_fail(c, "%s.%s: empty", where, key);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static bool
is_guid(const char *s)
{
	if (strlen(s) != AS_GUID_LEN)
		return false;
	for (int i = 0; i < AS_GUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char ch = s[i];
		if (dash ? ch != '-'
			 : !((ch >= '0' && ch <= '9') ||
				   (ch >= 'a' && ch <= 'f') ||
				   (ch >= 'A' && ch <= 'F')))
			return false;
	}
	return true;
}

static int
load_guid(struct load_ctx *c, json_t *obj, const char *where, const char *key,
	char out[AS_GUID_LEN + 1])
{
	char tmp[AS_NAME_MAX];

	if (load_str(c, obj, where, key, NULL, tmp, sizeof(tmp)) != 0)
		return -1;
	if (!is_guid(tmp))
		return load_fail(
			c, "%s.%s: '%s' is not a GUID", where, key, tmp);
	memcpy(out, tmp, AS_GUID_LEN + 1);
	return 0;
}

/* An optional integer field in [min, max]. */
static int
load_int(struct load_ctx *c, json_t *obj, const char *key, json_int_t min,
	json_int_t max, json_int_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
		json_integer_value(v) > max)
		return load_fail(c,
			"%s: expected a whole number from %" JSON_INTEGER_FORMAT
			" to %" JSON_INTEGER_FORMAT,
			key, min, max);
	*out = json_integer_value(v);
	return 0;
}

/* An array field, maybe optional; its items must be objects. */
static int
load_array(struct load_ctx *c, json_t *root, const char *key, bool required,
	json_t **out)
{
	json_t *v = json_object_get(root, key), *item;
	size_t i;

	*out = NULL;
	if (v == NULL)
		return required ? load_fail(c, "%s: missing", key) : 0;
	if (!json_is_array(v))
		return load_fail(c, "%s: expected an array", key);
	if (required && json_array_size(v) == 0)
		return load_fail(c, "%s: empty", key);
	json_array_foreach(
		v, i, item) if (!json_is_object(item)) return load_fail(c,
		"%s[%zu]: expected an object", key, i);
	*out = v;
	return 0;
}

static int
load_head(struct load_ctx *c, json_t *root, as_partner *p)
{
	static const char *const keys[] = { "tenantId", "name", "seed",
		"period", "rowsPerSubscriptionDay", "accounts", "profiles",
		"customers", "subscriptions", NULL };
	char period[16];
	json_int_t seed = 1, rows = 4;
	int y, m;

	if (load_keys(c, root, "partner", keys) != 0 ||
		load_guid(c, root, "partner", "tenantId", p->tenant_id) != 0 ||
		load_str(c, root, "partner", "name", NULL, p->name,
			sizeof(p->name)) != 0 ||
		load_int(c, root, "seed", 0, INT64_MAX, &seed) != 0 ||
		load_int(c, root, "rowsPerSubscriptionDay", 0, 100000, &rows) !=
			0 ||
		load_str(c, root, "partner", "period", "2026-10", period,
			sizeof(period)) != 0)
		return -1;
	if (strlen(period) != 7 || sscanf(period, "%4d-%2d", &y, &m) != 2 ||
		period[4] != '-' || y < 2017 || y > 2100 || m < 1 || m > 12)
		return load_fail(c,
			"period: '%s' is not YYYY-MM (2017 to 2100)", period);
	p->seed = (uint64_t)seed;
	p->rows_per_subscription_day = (unsigned)rows;
	p->year = y;
	p->month = m;
	return 0;
}

static int
load_accounts(struct load_ctx *c, json_t *arr, as_partner *p)
{
	static const char *const keys[] = { "name", "displayName", "agreement",
		NULL };
	char w[48], agr[64];
	json_t *o;
	size_t i;

	json_array_foreach(arr, i, o)
	{
		as_account *a = &p->accounts[i];
		snprintf(w, sizeof(w), "accounts[%zu]", i);
		if (load_keys(c, o, w, keys) != 0 ||
			load_str(c, o, w, "name", NULL, a->name,
				sizeof(a->name)) != 0 ||
			load_str(c, o, w, "displayName", NULL, a->display,
				sizeof(a->display)) != 0 ||
			load_str(c, o, w, "agreement", NULL, agr,
				sizeof(agr)) != 0)
			return -1;
		if (strcmp(agr, "MicrosoftPartnerAgreement") == 0)
			a->agreement = AS_AGREEMENT_MPA;
		else if (strcmp(agr, "MicrosoftCustomerAgreement") == 0)
			a->agreement = AS_AGREEMENT_MCA;
		else
			return load_fail(c,
				"%s.agreement: '%s' is not "
				"MicrosoftPartnerAgreement or "
				"MicrosoftCustomerAgreement",
				w, agr);
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(p->accounts[j].name, a->name) == 0)
				return load_fail(c,
					"%s.name: '%s' is also "
					"accounts[%zu]",
					w, a->name, j);
		p->naccounts++;
	}
	return 0;
}

static long
find_account(const as_partner *p, const char *name)
{
	for (size_t i = 0; i < p->naccounts; i++)
		if (strcasecmp(p->accounts[i].name, name) == 0)
			return (long)i;
	return -1;
}

static long
find_profile(const as_partner *p, const char *name)
{
	for (size_t i = 0; i < p->nprofiles; i++)
		if (strcasecmp(p->profiles[i].name, name) == 0)
			return (long)i;
	return -1;
}

static long
find_customer(const as_partner *p, const char *id)
{
	for (size_t i = 0; i < p->ncustomers; i++)
		if (strcasecmp(p->customers[i].id, id) == 0)
			return (long)i;
	return -1;
}

static int
load_profiles(struct load_ctx *c, json_t *arr, as_partner *p)
{
	static const char *const keys[] = { "account", "name", "displayName",
		"currency", "systemId", "invoiceSection",
		"invoiceSectionDisplayName", NULL };
	char w[48], ref[AS_NAME_MAX];
	json_t *o;
	size_t i;
	long a;

	json_array_foreach(arr, i, o)
	{
		as_profile *bp = &p->profiles[i];
		snprintf(w, sizeof(w), "profiles[%zu]", i);
		if (load_keys(c, o, w, keys) != 0 ||
			load_str(c, o, w, "account", NULL, ref, sizeof(ref)) !=
				0 ||
			load_str(c, o, w, "name", NULL, bp->name,
				sizeof(bp->name)) != 0 ||
			load_str(c, o, w, "displayName", NULL, bp->display,
				sizeof(bp->display)) != 0 ||
			load_str(c, o, w, "currency", NULL, bp->currency,
				sizeof(bp->currency)) != 0 ||
			load_str(c, o, w, "systemId", bp->name, bp->system_id,
				sizeof(bp->system_id)) != 0 ||
			load_str(c, o, w, "invoiceSection", "",
				bp->invoice_section,
				sizeof(bp->invoice_section)) != 0 ||
			load_str(c, o, w, "invoiceSectionDisplayName", "",
				bp->invoice_section_display,
				sizeof(bp->invoice_section_display)) != 0)
			return -1;
		if ((a = find_account(p, ref)) < 0)
			return load_fail(
				c, "%s.account: '%s' names no account", w, ref);
		bp->account = (size_t)a;
		if (!as_costgen_currency_known(bp->currency))
			return load_fail(c,
				"%s.currency: '%s' is not one of USD, EUR, "
				"JPY, GBP, AUD, CAD, CHF, DKK, NOK, SEK, INR, "
				"BRL",
				w, bp->currency);
		if (find_profile(p, bp->name) >= 0)
			return load_fail(
				c, "%s.name: '%s' is used twice", w, bp->name);
		p->nprofiles++;
	}
	return 0;
}

static int
load_reseller(struct load_ctx *c, json_t *o, const char *where, as_customer *cu)
{
	static const char *const keys[] = { "mpnId", "name", NULL };
	json_t *r = json_object_get(o, "reseller");
	char w[64];

	if (r == NULL)
		return 0;
	snprintf(w, sizeof(w), "%s.reseller", where);
	if (!json_is_object(r))
		return load_fail(c, "%s: expected an object", w);
	cu->indirect = true;
	return load_keys(c, r, w, keys) != 0 ||
			       load_str(c, r, w, "mpnId", NULL,
				       cu->reseller_mpn,
				       sizeof(cu->reseller_mpn)) != 0 ||
			       load_str(c, r, w, "name", NULL,
				       cu->reseller_name,
				       sizeof(cu->reseller_name)) != 0
		       ? -1
		       : 0;
}

static int
load_customers(struct load_ctx *c, json_t *arr, as_partner *p)
{
	static const char *const keys[] = { "profile", "id", "displayName",
		"reseller", NULL };
	char w[48], ref[AS_NAME_MAX];
	json_t *o;
	size_t i;
	long pf;

	json_array_foreach(arr, i, o)
	{
		as_customer *cu = &p->customers[i];
		snprintf(w, sizeof(w), "customers[%zu]", i);
		if (load_keys(c, o, w, keys) != 0 ||
			load_str(c, o, w, "profile", NULL, ref, sizeof(ref)) !=
				0 ||
			load_guid(c, o, w, "id", cu->id) != 0 ||
			load_str(c, o, w, "displayName", NULL, cu->display,
				sizeof(cu->display)) != 0 ||
			load_reseller(c, o, w, cu) != 0)
			return -1;
		if ((pf = find_profile(p, ref)) < 0)
			return load_fail(
				c, "%s.profile: '%s' names no profile", w, ref);
		cu->profile = (size_t)pf;
		cu->account = p->profiles[pf].account;
		if (p->accounts[cu->account].agreement != AS_AGREEMENT_MPA)
			return load_fail(c,
				"%s.profile: '%s' is in a Microsoft Customer "
				"Agreement account, which has no customers",
				w, ref);
		if (find_customer(p, cu->id) >= 0)
			return load_fail(
				c, "%s.id: '%s' is used twice", w, cu->id);
		p->ncustomers++;
	}
	return 0;
}

/* Which customer or profile a subscription belongs to. */
static int
load_sub_owner(struct load_ctx *c, json_t *o, const char *w, as_partner *p,
	as_subscription *s)
{
	char cust[AS_NAME_MAX], prof[AS_NAME_MAX];
	long i;

	if (load_str(c, o, w, "customer", "", cust, sizeof(cust)) != 0 ||
		load_str(c, o, w, "profile", "", prof, sizeof(prof)) != 0)
		return -1;
	if (*cust && *prof)
		return load_fail(c,
			"%s: give customer (MPA) or profile (MCA), not both",
			w);
	if (*cust) {
		if ((i = find_customer(p, cust)) < 0)
			return load_fail(c,
				"%s.customer: '%s' names no customer", w, cust);
		s->customer = (size_t)i;
		s->profile = p->customers[i].profile;
	} else if (*prof) {
		if ((i = find_profile(p, prof)) < 0)
			return load_fail(c, "%s.profile: '%s' names no profile",
				w, prof);
		if (p->accounts[p->profiles[i].account].agreement ==
			AS_AGREEMENT_MPA)
			return load_fail(c,
				"%s.profile: '%s' is a Microsoft Partner "
				"Agreement profile; name the customer instead",
				w, prof);
		s->customer = AS_NO_CUSTOMER;
		s->profile = (size_t)i;
	} else
		return load_fail(c, "%s.customer: missing", w);
	s->account = p->profiles[s->profile].account;
	return 0;
}

static int
load_subscriptions(struct load_ctx *c, json_t *arr, as_partner *p)
{
	static const char *const keys[] = { "id", "displayName", "customer",
		"profile", "skuId", NULL };
	char w[48], sku[16];
	json_t *o;
	size_t i;

	json_array_foreach(arr, i, o)
	{
		as_subscription *s = &p->subscriptions[i];
		snprintf(w, sizeof(w), "subscriptions[%zu]", i);
		if (load_keys(c, o, w, keys) != 0 ||
			load_guid(c, o, w, "id", s->id) != 0 ||
			load_str(c, o, w, "displayName", NULL, s->display,
				sizeof(s->display)) != 0 ||
			load_sub_owner(c, o, w, p, s) != 0 ||
			load_str(c, o, w, "skuId", "0001", sku, sizeof(sku)) !=
				0)
			return -1;
		if (strcmp(sku, "0001") == 0)
			s->sku_id = "0001";
		else if (strcmp(sku, "0002") == 0)
			s->sku_id = "0002";
		else
			return load_fail(c,
				"%s.skuId: '%s' is not 0001 (Azure plan) or "
				"0002 (Azure plan for DevTest)",
				w, sku);
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(p->subscriptions[j].id, s->id) == 0)
				return load_fail(c,
					"%s.id: '%s' is also "
					"subscriptions[%zu]",
					w, s->id, j);
		p->nsubscriptions++;
	}
	return 0;
}

static int
load_alloc(as_partner *p, json_t *acc, json_t *prof, json_t *cust, json_t *subs)
{
	/* +1: calloc(0) may return NULL. */
	p->accounts = calloc(json_array_size(acc) + 1, sizeof(*p->accounts));
	p->profiles = calloc(json_array_size(prof) + 1, sizeof(*p->profiles));
	p->customers = calloc(json_array_size(cust) + 1, sizeof(*p->customers));
	p->subscriptions =
		calloc(json_array_size(subs) + 1, sizeof(*p->subscriptions));
	p->costgen = as_costgen_cache_new();
	return p->accounts && p->profiles && p->customers && p->subscriptions &&
			       p->costgen
		       ? 0
		       : -1;
}

int
as_partner_load(as_partner **out, const char *path, char *err, size_t errlen)
{
	struct load_ctx c = { path, err, errlen };
	json_error_t je;
	json_t *root, *acc, *prof, *cust, *subs;
	as_partner *p = NULL;
	int rc = -1;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		if (je.line < 1)
			snprintf(err, errlen, "%s: %s", path, je.text);
		else
			snprintf(err, errlen, "%s:%d:%d: %s", path, je.line,
				je.column, je.text);
		return -1;
	}
	if (!json_is_object(root)) {
		load_fail(&c, "expected a JSON object at the top");
		goto done;
	}
	if (load_array(&c, root, "accounts", true, &acc) != 0 ||
		load_array(&c, root, "profiles", true, &prof) != 0 ||
		load_array(&c, root, "customers", false, &cust) != 0 ||
		load_array(&c, root, "subscriptions", false, &subs) != 0)
		goto done;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
		load_alloc(p, acc, prof, cust, subs) != 0) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (load_head(&c, root, p) != 0 || load_accounts(&c, acc, p) != 0 ||
		load_profiles(&c, prof, p) != 0 ||
		(cust && load_customers(&c, cust, p) != 0) ||
		(subs && load_subscriptions(&c, subs, p) != 0))
		goto done;
	*out = p;
	p = NULL;
	rc = 0;
done:
	as_partner_free(p);
	json_decref(root);
	return rc;
}
