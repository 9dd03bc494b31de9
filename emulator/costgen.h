/*
 * emulator/costgen.h - the partner's month of cost lines, generated as
 * they stream out and never held in memory (a 10 M-row month needs no
 * more RAM than a 10-row one).
 *
 * Each line is a pure function of (seed, subscription, day, line number),
 * so any scope (billing account, billing profile, customer, subscription,
 * a range of days) yields exactly the lines the whole month holds for it,
 * byte for byte, in the same order: subscriptions in partner order, then
 * days, then line number.  Money is exact (cb_money), never floating
 * point: cost = effectivePrice x quantity x exchange rate, payg cost from
 * PayGPrice, rounded at the 18th place only.
 *
 * The CSV is the partner cost-details schema: the 70 columns of
 * azure-api-notes.md e.1 in that order, MM/dd/yyyy dates, tags as JSON.
 *
 * Invoices agree with the lines (see as_costgen_invoice()).
 *
 * The rules (which lines exist, ActualCost against AmortizedCost, the
 * money identities, rounding adjustments) are at the top of costgen.c
 * and in docs/armsim.md "Cost lines".  In short: a reservation or savings
 * plan is a Purchase line on day 1 in ActualCost, where the usage it
 * covers costs 0; in AmortizedCost there is no purchase line and the
 * covered usage carries the prorated price, so both views of a
 * subscription add up to the same amount.  RoundingAdjustment lines
 * (ActualCost only) follow a billing profile's last subscription when
 * the filter covers the whole profile for the whole month.
 */
#ifndef CB_EMULATOR_COSTGEN_H
#define CB_EMULATOR_COSTGEN_H

#include "chargeback/buf.h"
#include "chargeback/money.h"
#include "emulator/partner.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { AS_METRIC_ACTUAL, AS_METRIC_AMORTIZED } as_metric;

#define AS_ANY ((size_t)-1)

/* Which lines.  Indexes into the partner's arrays, or AS_ANY. */
typedef struct as_cost_filter {
	as_metric metric;
	size_t account;
	size_t profile;
	size_t customer;
	size_t subscription;
	int first_day, last_day; /* 1..31 inside the partner's month; 0, 0
				  * for the whole month */
} as_cost_filter;

/* A filter for everything in one billing account, whole month. */
void as_cost_filter_init(as_cost_filter *f, as_metric m, size_t account);

/* One cost line: what other modules aggregate (Query, budgets' current
 * spend, invoices); the full 70 columns come from as_cost_csv_row(). */
typedef struct as_cost_row {
	/* customer AS_ANY: none (MCA subscriptions, adjustments);
	 * subscription AS_ANY: a RoundingAdjustment line, which belongs to
	 * the profile only. */
	size_t profile, customer, subscription;
	int day;                    /* 1..31 */
	const char *service_family; /* "Compute" */
	const char *meter_category; /* "Virtual Machines" */
	const char *meter_id;       /* a GUID */
	const char *meter_name;
	const char *resource_group;
	const char *charge_type;    /* Usage, Purchase, Refund,
				     * RoundingAdjustment */
	const char *publisher_type; /* Microsoft, Marketplace */
	const char *pricing_model;  /* OnDemand, Reservation, SavingsPlan,
				     * Spot */
	const char *currency;       /* billing currency */
	cb_money cost;              /* costInBillingCurrency */
	cb_money cost_usd;          /* costInUsd */
	cb_money payg_cost;         /* paygCostInBillingCurrency */
	cb_money quantity;
} as_cost_row;

typedef struct as_costgen as_costgen;

/* Start a stream of the lines f selects.  Returns 0, or -1 (out of
 * memory, or a filter naming no such item, or first_day outside the
 * month; a last_day past the month's end means its last day).  A filter
 * whose items do not nest (a customer of another account) selects
 * nothing.  Memory is a few KB plus, for a whole-profile ActualCost
 * stream, 16 bytes x profiles x meters; nothing per line. */
int as_costgen_open(
	as_costgen **out, const as_partner *p, const as_cost_filter *f);

/* The next line: 1 and *row (borrowed, valid until the next call), or 0
 * at the end. */
int as_costgen_next(as_costgen *g, const as_cost_row **row);

void as_costgen_free(as_costgen *g);

/* The CSV header line (70 columns, ending "\r\n"), appended to out. */
int as_cost_csv_header(cb_buf *out);

/* The line last returned by g as one CSV record ending "\r\n",
 * appended to out.  0, or -1 out of memory.  Formats without snprintf
 * (about 1 KB per line, > 1.5 GB/s on one core in a release build). */
int as_cost_csv_row(as_costgen *g, cb_buf *out);

/* A billing profile's invoice for the partner's month, from its
 * ActualCost lines: each meter's month total rounded half away from zero
 * to the currency's minor unit, summed.  The stream carries
 * RoundingAdjustment lines with the difference, so the lines (adjustments
 * included) add up to total exactly. */
typedef struct as_invoice {
	char name[32]; /* "G0xxxxxxxx", deterministic */
	char currency[4];
	cb_money total; /* = the sum of the profile's ActualCost lines */
	cb_money lines; /* the sum of the lines without adjustments */
	cb_money rounding_adjustment; /* total - lines */
} as_invoice;

/* Computed once per profile and cached in p->costgen (a pass over its
 * lines, under the cache's mutex); safe to call from several threads.
 * Every ActualCost line of the profile carries name as its invoiceId.
 * Returns 0, or -1 (no such profile, out of memory, or a partner
 * without a cache). */
int as_costgen_invoice(const as_partner *p, size_t profile, as_invoice *out);

/* The invoice name of a billing profile for any month ("G0" and 8
 * digits, a pure function of the seed, the profile name and the month),
 * into out (at least 11 bytes). */
void as_costgen_invoice_name(const as_partner *p, size_t profile, int year,
	int month, char *out, size_t outlen);

/* Whether armsim knows an exchange rate for billing currency iso4217
 * (USD, EUR, JPY, GBP, AUD, CAD, CHF, DKK, NOK, SEK, INR, BRL). */
bool as_costgen_currency_known(const char *iso4217);

/* Days in the partner's month (28..31). */
int as_costgen_days(const as_partner *p);

/* The per-partner invoice cache (as_partner.costgen): made by
 * as_partner_generate() and as_partner_load(), freed by
 * as_partner_free(). */
struct as_costgen_cache *as_costgen_cache_new(void);
void as_costgen_cache_free(struct as_costgen_cache *c);

/* `armsim gen-costs ...`: argv[0] is "gen-costs".  Returns an exit code. */
int as_gencosts_main(int argc, char **argv);

#endif
