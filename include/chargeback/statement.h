/*
 * include/chargeback/statement.h - customer statements from a period's
 * committed rating run (chargeback.charge_line, include/chargeback/rate.h).
 *
 * One statement per customer and billing currency of the run; the
 * partner-level bucket (customer_id "") gets none.  Rounding happens here
 * and only here, once (DESIGN.md "Money is exact"):
 *
 *   total = round(sum of the lines' exact billed, the currency's minor
 *           units (cb_currency_minor_units), half away from zero)
 *   lines = that total apportioned over the lines by largest remainder
 *           (cb_statement_apportion), so they add up to it exactly
 *   subtotals by subscription and by service family = sums of the
 *           rounded lines.
 *
 * A statement is provisional while its month is open: until the 8th day
 * after the month's end, i.e. now() < first day of the next month + 8
 * days (the database's clock; DESIGN.md: the invoice closes about the 8th).
 */
#ifndef CHARGEBACK_STATEMENT_H
#define CHARGEBACK_STATEMENT_H

#include "chargeback/common.h"
#include "chargeback/money.h"
#include "chargeback/store.h"

CB_BEGIN_DECL

/**
 * Split @p total (a multiple of 10^-@p places) over @p n lines in
 * proportion to their exact amounts @p weights, which may be negative
 * (refunds).  cb_money_allocate() takes only weights >= 0, so the
 * positive and the negative lines are apportioned separately:
 *   P = sum of the weights > 0, N = sum of those < 0,
 *   Tp = round(P, places) (half away from zero), Tn = total - Tp,
 *   Tp over the positive lines, Tn over the negative ones (by their
 *   magnitudes), each by cb_money_allocate(): largest remainder, ties to
 *   the lower index (the line that comes first).
 * A zero weight gets 0.  Each part is within one unit of its exact
 * share of Tp or Tn (total x w / sum as for cb_money_allocate()); when
 * total = round(P + N), Tn <= 0 and is within one unit of N.  Parts
 * sum exactly to @p total.
 *
 * @param[out] parts  @p n amounts; must not overlap @p weights
 * @return 0; CB_EINVAL (places > 18, total not a multiple of 10^-places,
 *         a non-zero total with all weights zero, Tn > 0 with negative
 *         lines); CB_EOVERFLOW; CB_ENOMEM.
 */
CB_EXTERN(int)
cb_statement_apportion(cb_money *parts, cb_money total, const cb_money *weights,
	size_t n, unsigned places);

/** One charge line as a statement shows it; strings borrowed (NULL:
 * absent). */
typedef struct {
	const char *subscription_id;
	const char *service_family;
	const char *meter_category;
	const char *meter_id;
	const char *meter_name;
	const char *charge_type;
	bool has_date;
	int32_t date; /**< days since 1970 */
	cb_money quantity;
	cb_money billed; /**< exact, unrounded */
} cb_statement_line;

/** What a statement says about itself; strings borrowed. */
typedef struct {
	const char *billing_account_id; /**< of its first line */
	const char *customer_id;
	const char *customer_name; /**< chargeback.customer; NULL unknown */
	const char *currency;
	const char *rules_hash;
	bool provisional;
} cb_statement_head;

/** Receives one statement's lines; non-zero stops (and is returned). */
typedef int (*cb_statement_group_cb)(const cb_statement_head *head,
	const cb_statement_line *lines, size_t n, void *payload);

/**
 * The committed run of period ("YYYY-MM"): its lines of customer (NULL:
 * every customer but the partner bucket ""), one call per customer and
 * billing currency, bytewise order, lines in the run's order.
 * Returns 0, CB_EINVAL, CB_ENOTFOUND (no committed run; no line of the
 * customer), CB_EDB, CB_ENOMEM, or what cb returned.
 */
CB_EXTERN(int)
cb_store_statement_groups(cb_store *store, const char *period,
	const char *customer, cb_statement_group_cb cb, void *payload);

/** Output formats. */
typedef enum {
	CB_STATEMENT_CSV = 0,
	CB_STATEMENT_JSON = 1,
} cb_statement_format;

/**
 * Receives one rendered statement: @p customer_id, @p currency (for the
 * file name <customer_id>-<currency>.<csv|json>) and its bytes.  Non-zero
 * stops the run and is returned.
 */
typedef int (*cb_statement_cb)(const char *customer_id, const char *currency,
	const char *data, size_t len, void *payload);

/**
 * Build the statements of @p period ("YYYY-MM") from its committed
 * rating run, of every customer or only @p customer_id (NULL: all), in
 * customer then currency order (bytewise), and hand each to @p cb.
 * The bytes depend only on the stored lines, the customers' names and
 * whether the month is still open: lines in the run's order, subtotals
 * sorted by key, no timestamps.
 *
 * @return 0; CB_EINVAL (bad period); CB_ENOTFOUND when the period has
 *         no committed run ("run 'chargeback rate --period ...' first")
 *         or @p customer_id has no lines in it; CB_ENOTFOUND for a
 *         currency without known minor units; CB_EOVERFLOW; CB_EDB;
 *         CB_ENOMEM; or what @p cb returned.
 */
CB_EXTERN(int)
cb_statement_build(cb_store *store, const char *period, const char *customer_id,
	cb_statement_format format, cb_statement_cb cb, void *payload);

CB_END_DECL

#endif
