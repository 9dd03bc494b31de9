/*
 * emulator/partner.c - the generated partner: the billing hierarchy.
 */
#include "core/common.h"

#include "emulator/partner.h"

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
			NULL) {
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

int
as_partner_load(as_partner **out, const char *path, char *err, size_t errlen)
{
	/* Placeholder until the partner-file loader lands (issue 3). */
	(void)out;
	snprintf(err, errlen,
		"%s: loading a partner from a file is not "
		"implemented yet",
		path);
	return -1;
}
