/*
 * emulator/costgen.c - the partner's month of cost lines, generated as
 * they stream out (costgen.h), their invoices, and `armsim gen-costs`.
 *
 * The lines of one subscription and day are numbered 0..R+2, R being the
 * partner's rows_per_subscription_day; each number is either no line or
 * one line, decided and filled from a generator seeded by (seed, the
 * subscription's id, day, number) alone:
 *
 *   0..R-1  usage.  Subscriptions 0, 4, 8... (partner order) hold a
 *           reservation and 1, 5, 9... a savings plan; their line 0 is a
 *           day of the covered VM (24 hours, PricingModel Reservation or
 *           SavingsPlan): effectivePrice 0 in ActualCost, the benefit's
 *           hourly price in AmortizedCost.  Other lines are Marketplace
 *           usage (8%), Spot VM usage (6%) or Microsoft OnDemand usage,
 *           which carries partner earned credit on customer subscriptions
 *           (partnerEarnedCreditRate 0.15, applied: effectivePrice is
 *           0.85 x unitPrice, unitPrice = PayGPrice).
 *   R       day 1, benefit subscriptions, ActualCost only: the month's
 *           Purchase of the benefit (billed monthly: quantity 1, price =
 *           hourly price x 24 x days in the month), which is exactly what
 *           the covered lines add up to in AmortizedCost.
 *   R+1     day 1, subscriptions 2, 5, 8...: a Marketplace SaaS Purchase.
 *   R+2     one day per subscription 1, 6, 11...: a Refund of last
 *           month's reservation purchase (quantity -1, previousInvoiceId
 *           last month's invoice), in both views.
 *
 * Money, all exact: costInPricingCurrency = effectivePrice x quantity;
 * costInBillingCurrency = that x exchangeRatePricingToBilling (pricing
 * currency USD, a fixed rate per billing currency); costInUsd =
 * costInPricingCurrency; paygCostInUsd = PayGPrice x quantity;
 * paygCostInBillingCurrency = that x the rate.
 *
 * Rounding adjustments (ActualCost only): after the last line of a
 * billing profile's last subscription (partner order) come one
 * RoundingAdjustment line per meter whose month total in the billing
 * currency is not already a whole number of minor units, carrying the
 * difference to that total rounded half away from zero, so the profile's
 * lines add up exactly to its invoice.  They have no subscription, no
 * customer, quantity 1, rate 1, pricing currency = billing currency,
 * effectivePrice = unitPrice = the difference, PayGPrice and payg costs
 * 0, and costInUsd the difference in USD profiles, else 0.  A stream gets
 * them only when its filter covers the whole profile for the whole month
 * (no customer, subscription or day range); narrower filters get the
 * plain lines, whose sum is then not rounded.
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/calendar.h"
#include "emulator/costgen.h"
#include "emulator/costgen_catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Small pure helpers */

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

int
as_costgen_days(const as_partner *p)
{
	return as_days_in_month(p->year, p->month);
}

bool
as_costgen_currency_known(const char *iso4217)
{
	for (size_t i = 0; i < NFX; i++)
		if (strcmp(fx_rates[i].currency, iso4217) == 0)
			return true;
	return false;
}

void
as_costgen_invoice_name(const as_partner *p, size_t profile, int year,
	int month, char *out, size_t outlen)
{
	uint64_t st = p->seed ^ fnv1a(p->profiles[profile].name) ^
		      ((uint64_t)year * 12u + (uint64_t)month) *
			      0x2545f4914f6cdd1dull;

	snprintf(out, outlen, "G0%08u",
		(unsigned)(as_rand_next(&st) % 100000000u));
}

static cb_money
money_of(const char *text)
{
	cb_money v = CB_MONEY_ZERO;

	/* Catalogue literals: always valid. */
	(void)cb_money_parse(&v, text, strlen(text));
	return v;
}

static cb_money
mul(cb_money a, cb_money b)
{
	cb_money r = CB_MONEY_ZERO;

	/* Catalogue prices x bounded quantities: far from overflow. */
	(void)cb_money_mul(&r, a, b);
	return r;
}

static cb_money
add(cb_money a, cb_money b)
{
	cb_money r = a;

	(void)cb_money_add(&r, a, b);
	return r;
}

/* ------------------------------------------------------------------ */
/* The generator's state */

/* Per-subscription facts, derived once when the stream enters it. */
struct subinfo {
	size_t index;
	uint64_t key;   /* fnv1a(id) ^ seed: the line seeds start here */
	int benefit;    /* MK_RESERVATION, MK_SAVINGSPLAN or 0 */
	bool saas;      /* a SaaS purchase on day 1 */
	int refund_day; /* 0: none */
	bool pec;       /* customer subscription: PEC-eligible */
	char order[AS_GUID_LEN + 1], item[AS_GUID_LEN + 1]; /* benefit */
	char benefit_id[160], benefit_name[64];
	char saas_order[AS_GUID_LEN + 1];
	char refund_order[AS_GUID_LEN + 1], refund_item[AS_GUID_LEN + 1];
	char refund_id[160], refund_name[64];
};

/* One line's values beyond as_cost_row. */
struct line {
	const struct meter *m;
	unsigned meter;
	bool adjustment, refund, pec;
	const char *frequency, *term, *pricing_currency;
	/* productOrderId/Name (NULL: the Azure plan), benefitId/Name (NULL:
	 * none); reservation: also reservationId/Name. */
	const char *order, *order_name, *benefit_id, *benefit_name;
	bool reservation;
	unsigned rg, instance;
	cb_money effective, unit, payg, rate;
	cb_money cost_pricing, payg_usd;
};

struct as_costgen {
	const as_partner *p;
	as_cost_filter f;
	int ndays, first, last;
	unsigned nslots;
	bool whole; /* whole profiles, whole month, ActualCost */
	size_t sub; /* current subscription, nsubscriptions at the end */
	bool entered;
	int day;
	unsigned slot;
	/* Adjustments of profile adj_profile, from meter adj_meter on. */
	bool adjusting;
	size_t adj_profile;
	unsigned adj_meter;
	cb_money *sums;   /* nprofiles x NMETERS, when whole */
	size_t *last_sub; /* per profile: its last subscription, or
			   * AS_ANY */
	cb_money price[NMETERS];
	cb_money rates[NFX];
	cb_money pec_factor, spot_factor, hours, month_hours;
	char dates[32][11]; /* "MM/dd/yyyy" per day, [0] unused */
	struct subinfo si;
	/* CSV text of columns 3..19 for the current subscription (or the
	 * adjusting profile) and of its invoice ids. */
	char prefix[4096];
	size_t prefix_len;
	char invoice[16], prev_invoice[16];
	size_t fx; /* index in fx_rates of the current billing currency */
	struct line ln;
	as_cost_row row;
};

void
as_cost_filter_init(as_cost_filter *f, as_metric m, size_t account)
{
	memset(f, 0, sizeof(*f));
	f->metric = m;
	f->account = account;
	f->profile = AS_ANY;
	f->customer = AS_ANY;
	f->subscription = AS_ANY;
}

static bool
sub_in_scope(const as_costgen *g, size_t i)
{
	const as_subscription *s = &g->p->subscriptions[i];
	const as_cost_filter *f = &g->f;

	return (f->account == AS_ANY || f->account == s->account) &&
	       (f->profile == AS_ANY || f->profile == s->profile) &&
	       (f->customer == AS_ANY || f->customer == s->customer) &&
	       (f->subscription == AS_ANY || f->subscription == i);
}

static size_t
fx_index(const char *currency)
{
	for (size_t i = 0; i < NFX; i++)
		if (strcmp(fx_rates[i].currency, currency) == 0)
			return i;
	return 0; /* the loader refuses unknown ones; USD otherwise */
}

static int
check_filter(const as_partner *p, const as_cost_filter *f, int ndays)
{
	if ((f->account != AS_ANY && f->account >= p->naccounts) ||
		(f->profile != AS_ANY && f->profile >= p->nprofiles) ||
		(f->customer != AS_ANY && f->customer >= p->ncustomers) ||
		(f->subscription != AS_ANY &&
			f->subscription >= p->nsubscriptions))
		return -1;
	if (f->first_day == 0 && f->last_day == 0)
		return 0;
	if (f->first_day < 1 || f->last_day < f->first_day ||
		f->first_day > ndays)
		return -1;
	return 0;
}

static void
setup_constants(as_costgen *g)
{
	const as_partner *p = g->p;

	for (size_t i = 0; i < NMETERS; i++)
		g->price[i] = money_of(catalog[i].price);
	for (size_t i = 0; i < NFX; i++)
		g->rates[i] = money_of(fx_rates[i].rate);
	g->pec_factor = money_of("0.85");
	g->spot_factor = money_of("0.2");
	g->hours = cb_money_from_int(24);
	g->month_hours = cb_money_from_int(24 * (int64_t)g->ndays);
	for (int d = 1; d <= g->ndays; d++) {
		char *t = g->dates[d];
		/* MM/dd/yyyy; year 2017..2100, month 1..12. */
		t[0] = (char)('0' + p->month / 10);
		t[1] = (char)('0' + p->month % 10);
		t[2] = '/';
		t[3] = (char)('0' + d / 10);
		t[4] = (char)('0' + d % 10);
		t[5] = '/';
		t[6] = (char)('0' + p->year / 1000 % 10);
		t[7] = (char)('0' + p->year / 100 % 10);
		t[8] = (char)('0' + p->year / 10 % 10);
		t[9] = (char)('0' + p->year % 10);
		t[10] = '\0';
	}
}

int
as_costgen_open(as_costgen **out, const as_partner *p, const as_cost_filter *f)
{
	int ndays = as_days_in_month(p->year, p->month);
	as_costgen *g;

	if (check_filter(p, f, ndays) != 0 ||
		(g = calloc(1, sizeof(*g))) == NULL)
		return -1;
	g->p = p;
	g->f = *f;
	g->ndays = ndays;
	g->first = f->first_day ? f->first_day : 1;
	g->last = f->last_day ? f->last_day : ndays;
	if (g->last > ndays)
		g->last = ndays;
	g->whole = f->metric == AS_METRIC_ACTUAL && f->customer == AS_ANY &&
		   f->subscription == AS_ANY && g->first == 1 &&
		   g->last == ndays;
	g->nslots = p->rows_per_subscription_day
			    ? p->rows_per_subscription_day + 3
			    : 0;
	g->day = g->first;
	setup_constants(g);
	if (g->whole) {
		g->sums = calloc(p->nprofiles * NMETERS + 1, sizeof(cb_money));
		g->last_sub = malloc((p->nprofiles + 1) * sizeof(size_t));
		if (g->sums == NULL || g->last_sub == NULL) {
			as_costgen_free(g);
			return -1;
		}
		for (size_t i = 0; i < p->nprofiles; i++)
			g->last_sub[i] = AS_ANY;
		for (size_t i = 0; i < p->nsubscriptions; i++)
			g->last_sub[p->subscriptions[i].profile] = i;
	}
	*out = g;
	return 0;
}

void
as_costgen_free(as_costgen *g)
{
	if (g == NULL)
		return;
	free(g->sums);
	free(g->last_sub);
	free(g);
}

/* ------------------------------------------------------------------ */
/* CSV text pieces */

static char *
put(char *d, const char *s, size_t n)
{
	memcpy(d, s, n);
	return d + n;
}

static char *
puts_raw(char *d, const char *s)
{
	return put(d, s, strlen(s));
}

/* A text field, quoted when it holds a delimiter, quote or line end. */
static char *
put_text(char *d, const char *s)
{
	size_t n = strcspn(s, ",\"\r\n");

	if (s[n] == '\0')
		return put(d, s, n);
	*d++ = '"';
	for (; *s; s++) {
		if (*s == '"')
			*d++ = '"';
		*d++ = *s;
	}
	*d++ = '"';
	return d;
}

static char *
put_money(char *d, cb_money v)
{
	/* The shortest exact text, as Azure prints its decimals; the
	 * caller reserved room for the terminator. */
	(void)cb_money_format(d, CB_MONEY_STR_MAX, v);
	return d + strlen(d);
}

/* Columns 3..19: account, profile, invoice section, partner, reseller,
 * customer, cost center and the four period dates. */
static void
build_prefix(as_costgen *g, size_t profile, size_t customer)
{
	const as_partner *p = g->p;
	const as_profile *bp = &p->profiles[profile];
	const as_account *a = &p->accounts[bp->account];
	const as_customer *c =
		customer == AS_NO_CUSTOMER ? NULL : &p->customers[customer];
	bool mpa = a->agreement == AS_AGREEMENT_MPA;
	char *d = g->prefix;
	const char *first = g->dates[1], *last = g->dates[g->ndays];

	d = put_text(d, a->name);
	*d++ = ',';
	d = put_text(d, a->display);
	*d++ = ',';
	d = put_text(d, bp->name);
	*d++ = ',';
	d = put_text(d, bp->display);
	*d++ = ',';
	d = put_text(d, bp->invoice_section);
	*d++ = ',';
	d = put_text(d, bp->invoice_section_display);
	*d++ = ',';
	d = put_text(d, mpa ? p->tenant_id : "");
	*d++ = ',';
	d = put_text(d, mpa ? p->name : "");
	*d++ = ',';
	d = put_text(d, c ? c->reseller_name : "");
	*d++ = ',';
	d = put_text(d, c ? c->reseller_mpn : "");
	*d++ = ',';
	d = put_text(d, c ? c->id : "");
	*d++ = ',';
	d = put_text(d, c ? c->display : "");
	*d++ = ',';
	/* costCenter: none */
	*d++ = ',';
	d = put(d, last, 10);
	*d++ = ',';
	d = put(d, first, 10);
	*d++ = ',';
	d = put(d, last, 10);
	*d++ = ',';
	d = put(d, first, 10);
	g->prefix_len = (size_t)(d - g->prefix);
	g->fx = fx_index(bp->currency);
	as_costgen_invoice_name(
		p, profile, p->year, p->month, g->invoice, sizeof(g->invoice));
	as_costgen_invoice_name(p, profile,
		p->month == 1 ? p->year - 1 : p->year,
		p->month == 1 ? 12 : p->month - 1, g->prev_invoice,
		sizeof(g->prev_invoice));
}

/* ------------------------------------------------------------------ */
/* Lines */

static void
enter_sub(as_costgen *g, size_t i)
{
	const as_subscription *s = &g->p->subscriptions[i];
	struct subinfo *si = &g->si;
	uint64_t st;

	memset(si, 0, sizeof(*si));
	si->index = i;
	si->key = fnv1a(s->id) ^ g->p->seed;
	si->benefit = i % 4 == 0   ? MK_RESERVATION
		      : i % 4 == 1 ? MK_SAVINGSPLAN
				   : 0;
	si->saas = i % 3 == 2;
	si->refund_day =
		i % 5 == 1 ? 1 + (int)(si->key % (uint64_t)g->ndays) : 0;
	si->pec = s->customer != AS_NO_CUSTOMER;
	st = si->key ^ 0x5bd1e995ull;
	as_rand_guid(&st, si->order);
	as_rand_guid(&st, si->item);
	as_rand_guid(&st, si->saas_order);
	as_rand_guid(&st, si->refund_order);
	as_rand_guid(&st, si->refund_item);
	snprintf(si->refund_id, sizeof(si->refund_id),
		"/providers/Microsoft.Capacity/reservationOrders/%s/"
		"reservations/%s",
		si->refund_order, si->refund_item);
	snprintf(si->refund_name, sizeof(si->refund_name),
		"VM_RI_01-15-%04d_%04u", g->p->year - 1,
		(unsigned)((si->key >> 16) % 10000u));
	if (si->benefit == MK_RESERVATION) {
		snprintf(si->benefit_id, sizeof(si->benefit_id),
			"/providers/Microsoft.Capacity/reservationOrders/%s/"
			"reservations/%s",
			si->order, si->item);
		snprintf(si->benefit_name, sizeof(si->benefit_name),
			"VM_RI_%02d-01-%04d_%04u", g->p->month, g->p->year - 1,
			(unsigned)(si->key % 10000u));
	} else if (si->benefit == MK_SAVINGSPLAN) {
		snprintf(si->benefit_id, sizeof(si->benefit_id),
			"/providers/Microsoft.BillingBenefits/"
			"savingsPlanOrders/%s/savingsPlans/%s",
			si->order, si->item);
		snprintf(si->benefit_name, sizeof(si->benefit_name),
			"Compute_SavingsPlan_%04u",
			(unsigned)(si->key % 10000u));
	}
	build_prefix(g, s->profile, s->customer);
	g->entered = true;
}

static const char *const charge_usage = "Usage";

/* Fill the money of g->ln from quantity q, prices and the rate. */
static void
finish_money(as_costgen *g, cb_money q)
{
	struct line *l = &g->ln;
	as_cost_row *r = &g->row;

	l->cost_pricing = mul(l->effective, q);
	l->payg_usd = mul(l->payg, q);
	r->quantity = q;
	r->cost = mul(l->cost_pricing, l->rate);
	r->cost_usd = l->cost_pricing;
	r->payg_cost = mul(l->payg_usd, l->rate);
}

static void
set_meter(as_costgen *g, unsigned m)
{
	const struct meter *mt = &catalog[m];
	as_cost_row *r = &g->row;

	g->ln.m = mt;
	g->ln.meter = m;
	r->service_family = mt->family;
	r->meter_category = mt->category;
	r->meter_id = mt->id;
	r->meter_name = mt->name;
	r->publisher_type = mt->kind == MK_MARKET || mt->kind == MK_SAAS
				    ? "Marketplace"
				    : "Microsoft";
}

static const char *const rg_names[] = { "rg-web-prod", "rg-data-prod",
	"rg-shared", "rg-dev", "rg-analytics", "rg-network" };

/* Usage line: slot < R. */
static void
make_usage(as_costgen *g, unsigned slot, uint64_t *st)
{
	struct subinfo *si = &g->si;
	struct line *l = &g->ln;
	as_cost_row *r = &g->row;
	uint64_t x = as_rand_next(st);
	unsigned pick = (unsigned)(x % 100u);
	unsigned m;
	cb_money q;

	if (slot == 0 && si->benefit) {
		unsigned b = si->benefit == MK_RESERVATION ? M_RESERVATION
							   : M_SAVINGSPLAN;
		set_meter(g, catalog[b].covers);
		r->pricing_model = si->benefit == MK_RESERVATION
					   ? "Reservation"
					   : "SavingsPlan";
		l->unit = g->price[b];
		l->payg = g->price[l->meter];
		l->effective = g->f.metric == AS_METRIC_ACTUAL ? CB_MONEY_ZERO
							       : g->price[b];
		l->term = "12";
		l->benefit_id = si->benefit_id;
		l->benefit_name = si->benefit_name;
		l->reservation = si->benefit == MK_RESERVATION;
		finish_money(g, g->hours);
		return;
	}
	if (pick < 8) {
		m = N_MICROSOFT + (unsigned)((x >> 8) % 2u);
		set_meter(g, m);
		r->pricing_model = "OnDemand";
		l->unit = l->payg = l->effective = g->price[m];
	} else if (pick < 14) {
		m = (unsigned)((x >> 8) % N_VM);
		set_meter(g, m);
		r->pricing_model = "Spot";
		l->payg = g->price[m];
		l->unit = l->effective = mul(g->price[m], g->spot_factor);
	} else {
		m = (unsigned)((x >> 8) % N_MICROSOFT);
		set_meter(g, m);
		r->pricing_model = "OnDemand";
		l->unit = l->payg = g->price[m];
		l->pec = si->pec;
		l->effective =
			si->pec ? mul(g->price[m], g->pec_factor) : g->price[m];
	}
	/* Whole hours for hourly meters, fractions for the others. */
	q = CB_MONEY_ZERO;
	(void)cb_money_from_minor(
		&q, (int64_t)(1 + (x >> 16) % l->m->qmax), l->m->qdec);
	finish_money(g, q);
}

/* The benefit's monthly purchase (ActualCost) or last month's refund. */
static void
make_benefit_charge(as_costgen *g, bool refund)
{
	struct subinfo *si = &g->si;
	struct line *l = &g->ln;
	as_cost_row *r = &g->row;
	unsigned b = refund || si->benefit == MK_RESERVATION ? M_RESERVATION
							     : M_SAVINGSPLAN;
	cb_money price;

	set_meter(g, b);
	r->pricing_model = b == M_RESERVATION ? "Reservation" : "SavingsPlan";
	r->charge_type = refund ? "Refund" : "Purchase";
	l->frequency = refund ? "OneTime" : "Recurring";
	l->term = "12";
	l->refund = refund;
	l->reservation = b == M_RESERVATION;
	l->order = refund ? si->refund_order : si->order;
	l->order_name = b == M_RESERVATION ? "Reserved VM Instance 1 Year"
					   : "Compute Savings Plan 1 Year";
	l->benefit_id = refund ? si->refund_id : si->benefit_id;
	l->benefit_name = refund ? si->refund_name : si->benefit_name;
	/* A purchase covers this month's hours; a refund returns a 30-day
	 * month bought before. */
	price = mul(g->price[b],
		refund ? cb_money_from_int(24 * 30) : g->month_hours);
	l->unit = l->payg = l->effective = price;
	finish_money(g, refund ? cb_money_from_int(-1) : cb_money_from_int(1));
}

static void
make_saas(as_costgen *g)
{
	struct line *l = &g->ln;

	set_meter(g, M_SAAS);
	g->row.pricing_model = "OnDemand";
	g->row.charge_type = "Purchase";
	l->frequency = "Recurring";
	l->term = "1";
	l->order = g->si.saas_order;
	l->order_name = "SendGrid Pro";
	l->unit = l->payg = l->effective = g->price[M_SAAS];
	finish_money(g, cb_money_from_int(1));
}

/* Line (day, slot) of the current subscription: true when it exists. */
static bool
make_line(as_costgen *g, int day, unsigned slot)
{
	struct subinfo *si = &g->si;
	unsigned nusage = g->p->rows_per_subscription_day;
	struct line *l = &g->ln;
	as_cost_row *r = &g->row;
	uint64_t st;

	if (slot == nusage &&
		(day != 1 || !si->benefit || g->f.metric != AS_METRIC_ACTUAL))
		return false;
	if (slot == nusage + 1 && (day != 1 || !si->saas))
		return false;
	if (slot == nusage + 2 && day != si->refund_day)
		return false;
	st = si->key + (uint64_t)day * 0x9e3779b97f4a7c15ull +
	     (uint64_t)slot * 0xd1b54a32d192ed03ull;
	memset(l, 0, sizeof(*l));
	l->frequency = "UsageBased";
	l->term = "";
	l->pricing_currency = "USD";
	l->rate = g->rates[g->fx];
	r->profile = g->p->subscriptions[si->index].profile;
	r->customer = g->p->subscriptions[si->index].customer;
	if (r->customer == AS_NO_CUSTOMER)
		r->customer = AS_ANY;
	r->subscription = si->index;
	r->day = day;
	r->charge_type = charge_usage;
	r->currency = fx_rates[g->fx].currency;
	if (slot < nusage)
		make_usage(g, slot, &st);
	else if (slot == nusage)
		make_benefit_charge(g, false);
	else if (slot == nusage + 1)
		make_saas(g);
	else
		make_benefit_charge(g, true);
	uint64_t y = as_rand_next(&st);
	l->rg = (unsigned)(y % 6u);
	l->instance = (unsigned)((y >> 8) % 4u);
	r->resource_group = l->m->rtype[0] ? rg_names[l->rg] : "";
	return true;
}

/* The next rounding adjustment of profile g->adj_profile, if any. */
static bool
make_adjustment(as_costgen *g)
{
	size_t pf = g->adj_profile;
	const as_profile *bp = &g->p->profiles[pf];
	struct line *l = &g->ln;
	as_cost_row *r = &g->row;
	unsigned places = 2;

	(void)cb_currency_minor_units(&places, bp->currency);
	while (g->adj_meter < NMETERS) {
		unsigned m = g->adj_meter++;
		cb_money sum = g->sums[pf * NMETERS + m], rounded, diff;

		if (cb_money_round(&rounded, sum, places) != 0 ||
			cb_money_sub(&diff, rounded, sum) != 0 ||
			cb_money_is_zero(diff))
			continue;
		memset(l, 0, sizeof(*l));
		set_meter(g, m);
		l->adjustment = true;
		l->frequency = "OneTime";
		l->term = "";
		l->pricing_currency = fx_rates[g->fx].currency;
		l->rate = cb_money_from_int(1);
		l->unit = l->effective = diff;
		r->profile = pf;
		r->customer = AS_ANY;
		r->subscription = AS_ANY;
		r->day = g->ndays;
		r->resource_group = "";
		r->charge_type = "RoundingAdjustment";
		r->pricing_model = "";
		r->currency = fx_rates[g->fx].currency;
		finish_money(g, cb_money_from_int(1));
		if (g->fx != 0)
			r->cost_usd = CB_MONEY_ZERO;
		return true;
	}
	return false;
}

/* Leave the current subscription; start its profile's adjustments when
 * it was the profile's last one and the stream covers the profile. */
static void
leave_sub(as_costgen *g)
{
	size_t pf = g->p->subscriptions[g->sub].profile;

	if (g->whole && g->last_sub[pf] == g->sub) {
		g->adjusting = true;
		g->adj_profile = pf;
		g->adj_meter = 0;
		build_prefix(g, pf, AS_NO_CUSTOMER);
	}
	g->sub++;
	g->entered = false;
	g->day = g->first;
	g->slot = 0;
}

int
as_costgen_next(as_costgen *g, const as_cost_row **row)
{
	const as_partner *p = g->p;

	for (;;) {
		if (g->adjusting) {
			if (make_adjustment(g)) {
				*row = &g->row;
				return 1;
			}
			g->adjusting = false;
		}
		if (g->sub >= p->nsubscriptions)
			return 0;
		if (!g->entered) {
			if (!sub_in_scope(g, g->sub)) {
				g->sub++;
				continue;
			}
			enter_sub(g, g->sub);
		}
		if (g->day > g->last) {
			leave_sub(g);
			continue;
		}
		if (g->slot >= g->nslots) {
			g->day++;
			g->slot = 0;
			continue;
		}
		if (make_line(g, g->day, g->slot++)) {
			if (g->whole) {
				cb_money *s =
					&g->sums[g->row.profile * NMETERS +
						 g->ln.meter];
				*s = add(*s, g->row.cost);
			}
			*row = &g->row;
			return 1;
		}
	}
}

/* ------------------------------------------------------------------ */
/* CSV */

static const char csv_header[] =
	"invoiceId,previousInvoiceId,billingAccountId,billingAccountName,"
	"billingProfileId,billingProfileName,invoiceSectionId,"
	"invoiceSectionName,partnerTenantId,partnerName,resellerName,"
	"resellerMpnId,customerTenantId,customerName,costCenter,"
	"billingPeriodEndDate,billingPeriodStartDate,servicePeriodEndDate,"
	"servicePeriodStartDate,date,serviceFamily,productOrderId,"
	"productOrderName,consumedService,meterId,meterName,meterCategory,"
	"meterSubCategory,meterRegion,ProductId,ProductName,SubscriptionId,"
	"subscriptionName,publisherType,publisherId,publisherName,"
	"resourceGroupName,ResourceId,resourceLocation,location,"
	"effectivePrice,quantity,unitOfMeasure,chargeType,billingCurrency,"
	"pricingCurrency,costInBillingCurrency,costInPricingCurrency,"
	"costInUsd,paygCostInBillingCurrency,paygCostInUsd,"
	"exchangeRatePricingToBilling,exchangeRateDate,"
	"isAzureCreditEligible,serviceInfo1,serviceInfo2,additionalInfo,"
	"tags,partnerEarnedCreditRate,partnerEarnedCreditApplied,PayGPrice,"
	"frequency,term,reservationId,reservationName,PricingModel,"
	"unitPrice,benefitId,benefitName,provider\r\n";

int
as_cost_csv_header(cb_buf *out)
{
	return cb__buf_put(out, csv_header, sizeof(csv_header) - 1) == 0 ? 0
									 : -1;
}

/* Tags per resource group, as CSV-quoted JSON objects. */
static const char *const rg_tags[] = {
	"\"{\"\"env\"\":\"\"prod\"\",\"\"costCenter\"\":\"\"CC-1001\"\"}\"",
	"\"{\"\"env\"\":\"\"prod\"\",\"\"app\"\":\"\"warehouse\"\"}\"", "",
	"\"{\"\"env\"\":\"\"dev\"\",\"\"owner\"\":\"\"team-a@example."
	"com\"\"}\"",
	"\"{\"\"env\"\":\"\"prod\"\",\"\"project\"\":\"\"bi/2026\"\"}\"",
	"\"{\"\"env\"\":\"\"\"\"}\""
};

/* Columns 22..40 (product order to location). */
static char *
put_middle(as_costgen *g, char *d)
{
	const struct line *l = &g->ln;
	const struct meter *m = l->m;
	const struct subinfo *si = &g->si;
	const as_subscription *s =
		l->adjustment ? NULL : &g->p->subscriptions[si->index];

	if (l->adjustment)
		*d++ = ',';
	else if (l->order != NULL) {
		d = put(d, l->order, AS_GUID_LEN);
		*d++ = ',';
		d = puts_raw(d, l->order_name);
	} else {
		d = put(d, s->id, AS_GUID_LEN);
		d = puts_raw(d, ",Azure plan");
	}
	*d++ = ',';
	d = puts_raw(d, m->consumed);
	*d++ = ',';
	d = put(d, m->id, AS_GUID_LEN);
	*d++ = ',';
	d = puts_raw(d, m->name);
	*d++ = ',';
	d = puts_raw(d, m->category);
	*d++ = ',';
	d = puts_raw(d, m->subcategory);
	*d++ = ',';
	d = puts_raw(d, m->region);
	*d++ = ',';
	d = puts_raw(d, m->product_id);
	*d++ = ',';
	d = puts_raw(d, m->product_name);
	*d++ = ',';
	if (s != NULL) {
		d = put(d, s->id, AS_GUID_LEN);
		*d++ = ',';
		d = put_text(d, s->display);
	} else
		*d++ = ',';
	*d++ = ',';
	d = puts_raw(d, g->row.publisher_type);
	*d++ = ',';
	d = puts_raw(d, m->publisher_id);
	*d++ = ',';
	d = puts_raw(d, m->publisher_name);
	*d++ = ',';
	if (s != NULL && m->rtype[0]) {
		const char *rg = rg_names[l->rg];
		d = puts_raw(d, rg);
		d = puts_raw(d, ",/subscriptions/");
		d = put(d, s->id, AS_GUID_LEN);
		d = puts_raw(d, "/resourceGroups/");
		d = puts_raw(d, rg);
		d = puts_raw(d, "/providers/");
		d = puts_raw(d, m->rtype);
		*d++ = '/';
		d = puts_raw(d, m->rprefix);
		*d++ = '0';
		*d++ = (char)('1' + l->instance);
	} else if (s != NULL && l->order != NULL && l->benefit_id) {
		*d++ = ',';
		d = puts_raw(d, l->benefit_id);
	} else
		*d++ = ',';
	*d++ = ',';
	d = puts_raw(d, m->location);
	*d++ = ',';
	d = puts_raw(d, m->region);
	return d;
}

/* Columns 41..70. */
static char *
put_money_cols(as_costgen *g, char *d)
{
	const struct line *l = &g->ln;
	const as_cost_row *r = &g->row;
	const struct meter *m = l->m;

	d = put_money(d, l->effective);
	*d++ = ',';
	d = put_money(d, r->quantity);
	*d++ = ',';
	d = puts_raw(d, m->unit);
	*d++ = ',';
	d = puts_raw(d, r->charge_type);
	*d++ = ',';
	d = put(d, r->currency, 3);
	*d++ = ',';
	d = puts_raw(d, l->pricing_currency);
	*d++ = ',';
	d = put_money(d, r->cost);
	*d++ = ',';
	d = put_money(d, l->cost_pricing);
	*d++ = ',';
	d = put_money(d, r->cost_usd);
	*d++ = ',';
	d = put_money(d, r->payg_cost);
	*d++ = ',';
	d = put_money(d, l->payg_usd);
	*d++ = ',';
	d = put_money(d, l->rate);
	*d++ = ',';
	d = put(d, g->dates[1], 10);
	*d++ = ',';
	d = puts_raw(d,
		m->kind == MK_MARKET || m->kind == MK_SAAS ? "False" : "True");
	d = puts_raw(d, ",,,");
	d = puts_raw(d, l->adjustment ? "" : m->additional_info);
	*d++ = ',';
	d = puts_raw(d, l->adjustment || !m->rtype[0] ? "" : rg_tags[l->rg]);
	d = puts_raw(d, l->pec ? ",0.15,true," : ",0,false,");
	d = put_money(d, l->payg);
	*d++ = ',';
	d = puts_raw(d, l->frequency);
	*d++ = ',';
	d = puts_raw(d, l->term);
	*d++ = ',';
	if (l->reservation) {
		d = puts_raw(d, l->benefit_id);
		*d++ = ',';
		d = puts_raw(d, l->benefit_name);
	} else
		*d++ = ',';
	*d++ = ',';
	d = puts_raw(d, r->pricing_model);
	*d++ = ',';
	d = put_money(d, l->unit);
	*d++ = ',';
	if (l->benefit_id != NULL) {
		d = puts_raw(d, l->benefit_id);
		*d++ = ',';
		d = puts_raw(d, l->benefit_name);
	} else
		*d++ = ',';
	d = puts_raw(d, ",Azure\r\n");
	return d;
}

/* Room one row can take: 17 partner texts of at most 127 bytes, doubled
 * by quoting, the resource id and benefit ids (< 400), 13 numbers of at
 * most CB_MONEY_STR_MAX and the catalogue's fixed texts (< 1500). */
#define ROW_MAX 8192

int
as_cost_csv_row(as_costgen *g, cb_buf *out)
{
	const as_cost_row *r = &g->row;
	char *d, *start;

	if (cb__buf_grow(out, ROW_MAX) != 0)
		return -1;
	start = d = out->ptr + out->size;
	d = put(d, g->invoice, strlen(g->invoice));
	*d++ = ',';
	if (g->ln.refund)
		d = puts_raw(d, g->prev_invoice);
	*d++ = ',';
	d = put(d, g->prefix, g->prefix_len);
	*d++ = ',';
	d = put(d, g->dates[r->day], 10);
	*d++ = ',';
	d = puts_raw(d, r->service_family);
	*d++ = ',';
	d = put_middle(g, d);
	*d++ = ',';
	d = put_money_cols(g, d);
	out->size += (size_t)(d - start);
	out->ptr[out->size] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ */
/* Invoices */

struct as_costgen_cache {
	pthread_mutex_t lock;
	size_t n;         /* profiles, once computed arrays exist */
	bool *done;       /* per profile */
	as_invoice *invs; /* per profile */
};

struct as_costgen_cache *
as_costgen_cache_new(void)
{
	struct as_costgen_cache *c = calloc(1, sizeof(*c));

	if (c != NULL && pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		c = NULL;
	}
	return c;
}

void
as_costgen_cache_free(struct as_costgen_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->done);
	free(c->invs);
	free(c);
}

/* One pass over the profile's ActualCost lines, adjustments included. */
static int
invoice_compute(const as_partner *p, size_t profile, as_invoice *inv)
{
	as_cost_filter f;
	as_costgen *g;
	const as_cost_row *r;

	as_cost_filter_init(&f, AS_METRIC_ACTUAL, p->profiles[profile].account);
	f.profile = profile;
	if (as_costgen_open(&g, p, &f) != 0)
		return -1;
	memset(inv, 0, sizeof(*inv));
	as_costgen_invoice_name(
		p, profile, p->year, p->month, inv->name, sizeof(inv->name));
	memcpy(inv->currency, p->profiles[profile].currency, 4);
	while (as_costgen_next(g, &r) == 1) {
		if (g->ln.adjustment)
			inv->rounding_adjustment =
				add(inv->rounding_adjustment, r->cost);
		else
			inv->lines = add(inv->lines, r->cost);
	}
	inv->total = add(inv->lines, inv->rounding_adjustment);
	as_costgen_free(g);
	return 0;
}

int
as_costgen_invoice(const as_partner *p, size_t profile, as_invoice *out)
{
	struct as_costgen_cache *c = p->costgen;
	int rc = 0;

	if (c == NULL || profile >= p->nprofiles)
		return -1;
	pthread_mutex_lock(&c->lock);
	if (c->done == NULL) {
		c->done = calloc(p->nprofiles, sizeof(*c->done));
		c->invs = calloc(p->nprofiles, sizeof(*c->invs));
		c->n = p->nprofiles;
		if (c->done == NULL || c->invs == NULL) {
			free(c->done);
			free(c->invs);
			c->done = NULL;
			c->invs = NULL;
			rc = -1;
		}
	}
	if (rc == 0 && !c->done[profile]) {
		rc = invoice_compute(p, profile, &c->invs[profile]);
		c->done[profile] = rc == 0;
	}
	if (rc == 0)
		*out = c->invs[profile];
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* ------------------------------------------------------------------ */
/* armsim gen-costs */

static const char gencosts_usage[] =
	"usage: armsim gen-costs --rows N --out FILE [--seed S] "
	"[--period YYYY-MM]\n"
	"                        [--metric actual|amortized]\n"
	"\n"
	"Write N cost lines (after the header) of a generated partner's "
	"month as a\n"
	"partner cost details CSV, the file a cost details report blob "
	"holds: the\n"
	"first N lines of a partner sized to have at least N.  For "
	"benchmarks.\n"
	"\n"
	"  --rows N       data rows, 0 to 1000000000\n"
	"  --out FILE     where to write (replaced)\n"
	"  --seed S       generator seed (default 1)\n"
	"  --period YYYY-MM   the month (default 2026-10)\n"
	"  --metric M     actual (default) or amortized\n"
	"  --help         this text\n"
	"\n"
	"Exit status: 0 written, 1 could not write, 2 bad usage.\n";

struct gencosts_args {
	uint64_t rows, seed;
	const char *out;
	int year, month;
	as_metric metric;
};

static int gencosts_bad(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* A usage error: one line saying what, one pointing to --help; 2. */
static int
gencosts_bad(const char *fmt, ...)
{
	va_list ap;

	fputs("armsim gen-costs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\narmsim gen-costs: see armsim gen-costs --help\n", stderr);
	return 2;
}

static int
u64_arg(const char *arg, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
		v > max)
		return -1;
	*out = v;
	return 0;
}

static int
gencosts_period(const char *arg, struct gencosts_args *a)
{
	int y = 0, m = 0;

	for (int i = 0; i < 7; i++)
		if (i == 4 ? arg[i] != '-' : (arg[i] < '0' || arg[i] > '9'))
			return -1;
	if (arg[7] != '\0')
		return -1;
	y = (arg[0] - '0') * 1000 + (arg[1] - '0') * 100 + (arg[2] - '0') * 10 +
	    (arg[3] - '0');
	m = (arg[5] - '0') * 10 + (arg[6] - '0');
	if (y < 2017 || y > 2100 || m < 1 || m > 12)
		return -1;
	a->year = y;
	a->month = m;
	return 0;
}

/* 0, 1 for --help, or 2 (message printed). */
static int
gencosts_parse(int argc, char **argv, struct gencosts_args *a)
{
	static const struct option opts[] = { { "rows", 1, NULL, 'r' },
		{ "seed", 1, NULL, 's' }, { "out", 1, NULL, 'o' },
		{ "period", 1, NULL, 'p' }, { "metric", 1, NULL, 'm' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	bool have_rows = false;
	int c;

	memset(a, 0, sizeof(*a));
	a->seed = 1;
	a->year = 2026;
	a->month = 10;
	a->metric = AS_METRIC_ACTUAL;
	optind = 0; /* GNU getopt: start over (tests call this twice) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (u64_arg(optarg, 1000000000u, &a->rows) != 0)
				return gencosts_bad("--rows '%s': expected a "
						    "whole number from 0 to "
						    "1000000000",
					optarg);
			have_rows = true;
			break;
		case 's':
			if (u64_arg(optarg, UINT64_MAX, &a->seed) != 0)
				return gencosts_bad("--seed '%s': expected a "
						    "whole number from 0 to "
						    "18446744073709551615",
					optarg);
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'p':
			if (gencosts_period(optarg, a) != 0)
				return gencosts_bad("--period '%s': expected "
						    "YYYY-MM, 2017-01 to "
						    "2100-12",
					optarg);
			break;
		case 'm':
			if (strcmp(optarg, "actual") == 0)
				a->metric = AS_METRIC_ACTUAL;
			else if (strcmp(optarg, "amortized") == 0)
				a->metric = AS_METRIC_AMORTIZED;
			else
				return gencosts_bad("--metric '%s': expected "
						    "actual or amortized",
					optarg);
			break;
		case 'h':
			fputs(gencosts_usage, stdout);
			return 1;
		case ':':
			return gencosts_bad(
				"%s needs a value", argv[optind - 1]);
		default:
			return gencosts_bad(
				"unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return gencosts_bad("unexpected argument '%s'", argv[optind]);
	if (!have_rows)
		return gencosts_bad("--rows is required");
	if (a->out == NULL)
		return gencosts_bad("--out is required");
	return 0;
}

/* A partner with at least rows lines: 2 subscriptions per customer and 8
 * usage lines per subscription and day, or, past 10,000 customers (about
 * 5 M lines; the partner's arrays take ~0.7 KB per customer), more lines
 * per day instead, so memory stays a few MB for any row count. */
#define GENCOSTS_MAX_CUSTOMERS 10000u

static int
gencosts_partner(as_partner **p, const struct gencosts_args *a)
{
	as_partner_opts o;
	char err[256];
	uint64_t days = (uint64_t)as_days_in_month(a->year, a->month);
	uint64_t customers = (a->rows + 2u * 8u * days - 1) / (2u * 8u * days);

	memset(&o, 0, sizeof(o));
	o.seed = a->seed;
	o.rows_per_subscription_day = 8;
	if (customers > GENCOSTS_MAX_CUSTOMERS) {
		uint64_t per_day = 2u * GENCOSTS_MAX_CUSTOMERS * days;
		customers = GENCOSTS_MAX_CUSTOMERS;
		o.rows_per_subscription_day =
			(unsigned)((a->rows + per_day - 1) / per_day);
	}
	o.customers = customers ? (unsigned)customers : 1;
	o.subscriptions_per_customer = 2;
	o.year = a->year;
	o.month = a->month;
	if (as_partner_generate(p, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "armsim gen-costs: %s\n", err);
		return -1;
	}
	return 0;
}

static int
write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Flush the buffer past this size: bounded memory, few write calls. */
#define GENCOSTS_FLUSH ((size_t)1 << 20)

static int
gencosts_write(int fd, const as_partner *p, const struct gencosts_args *a)
{
	cb_buf buf = CB_BUF_INIT;
	as_cost_filter f;
	as_costgen *g = NULL;
	const as_cost_row *r;
	uint64_t n = 0;
	int rc = -1;

	as_cost_filter_init(&f, a->metric, AS_ANY);
	if (as_costgen_open(&g, p, &f) != 0 || as_cost_csv_header(&buf) != 0)
		goto done;
	while (n < a->rows && as_costgen_next(g, &r) == 1) {
		if (as_cost_csv_row(g, &buf) != 0)
			goto done;
		n++;
		if (buf.size >= GENCOSTS_FLUSH) {
			if (write_all(fd, buf.ptr, buf.size) != 0)
				goto done;
			buf.size = 0;
		}
	}
	rc = write_all(fd, buf.ptr, buf.size);
done:
	as_costgen_free(g);
	cb_buf_dispose(&buf);
	return rc;
}

int
as_gencosts_main(int argc, char **argv)
{
	struct gencosts_args a;
	as_partner *p = NULL;
	int rc = gencosts_parse(argc, argv, &a), fd;

	if (rc != 0)
		return rc == 1 ? 0 : rc;
	if (gencosts_partner(&p, &a) != 0)
		return 1;
	fd = open(a.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "armsim gen-costs: %s: %s\n", a.out,
			strerror(errno));
		as_partner_free(p);
		return 1;
	}
	rc = gencosts_write(fd, p, &a);
	if (rc != 0)
		fprintf(stderr, "armsim gen-costs: %s: %s\n", a.out,
			errno ? strerror(errno) : "out of memory");
	if (close(fd) != 0 && rc == 0) {
		fprintf(stderr, "armsim gen-costs: %s: %s\n", a.out,
			strerror(errno));
		rc = -1;
	}
	as_partner_free(p);
	return rc == 0 ? 0 : 1;
}
