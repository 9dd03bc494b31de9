/*
 * include/chargeback/costs.h - cost lines: their typed form, loading a
 * period into the store, and reporting stored cost.
 *
 * A cost line (one row of a Cost Details report or a Cost Management
 * export) is split in two when stored: its *line* part (usage day,
 * resource group, resource id, tags, quantity, prices, amounts) and its
 * *descriptor*: every other column (meter, subscription, customer,
 * invoice, ...), which repeats across the days and lines of a month and
 * is stored once per distinct value (sql/migrations/005_costs.sql).
 *
 * A load is keyed by (scope, period, metric) and replaces that period
 * whole in one transaction (DESIGN.md "Idempotent and crash-safe").
 */
#ifndef CHARGEBACK_COSTS_H
#define CHARGEBACK_COSTS_H

#include "chargeback/common.h"
#include "chargeback/money.h"
#include "chargeback/store.h"

CB_BEGIN_DECL

/** Which view of cost: ActualCost or AmortizedCost. */
typedef enum {
	CB_COST_ACTUAL = 0,    /**< "actual": purchases when bought */
	CB_COST_AMORTIZED = 1, /**< "amortized": benefits spread over use */
} cb_cost_metric;

/** "actual" or "amortized"; NULL for any other value. */
CB_EXTERN(const char *) cb_cost_metric_name(cb_cost_metric metric);

/** Parse "actual" or "amortized" (any letter case); CB_EINVAL otherwise. */
CB_EXTERN(int) cb_cost_metric_parse(cb_cost_metric *out, const char *text);

/**
 * Text columns of a line's descriptor, named after the MPA schema
 * (azure-api-notes.md e.1).  The store keeps each in its own column;
 * header names of the MCA and EA sets map onto the same fields.
 */
typedef enum {
	CB_COST_INVOICE_ID = 0,
	CB_COST_PREVIOUS_INVOICE_ID,
	CB_COST_BILLING_ACCOUNT_ID,
	CB_COST_BILLING_ACCOUNT_NAME,
	CB_COST_BILLING_PROFILE_ID,
	CB_COST_BILLING_PROFILE_NAME,
	CB_COST_INVOICE_SECTION_ID,
	CB_COST_INVOICE_SECTION_NAME,
	CB_COST_PARTNER_TENANT_ID,
	CB_COST_PARTNER_NAME,
	CB_COST_RESELLER_NAME,
	CB_COST_RESELLER_MPN_ID,
	CB_COST_CUSTOMER_TENANT_ID,
	CB_COST_CUSTOMER_NAME,
	CB_COST_COST_CENTER,
	CB_COST_SERVICE_FAMILY,
	CB_COST_PRODUCT_ORDER_ID,
	CB_COST_PRODUCT_ORDER_NAME,
	CB_COST_CONSUMED_SERVICE,
	CB_COST_METER_ID,
	CB_COST_METER_NAME,
	CB_COST_METER_CATEGORY,
	CB_COST_METER_SUBCATEGORY,
	CB_COST_METER_REGION,
	CB_COST_PRODUCT_ID,
	CB_COST_PRODUCT_NAME,
	CB_COST_SUBSCRIPTION_ID,
	CB_COST_SUBSCRIPTION_NAME,
	CB_COST_PUBLISHER_TYPE,
	CB_COST_PUBLISHER_ID,
	CB_COST_PUBLISHER_NAME,
	CB_COST_RESOURCE_GROUP,
	CB_COST_RESOURCE_ID,
	CB_COST_RESOURCE_LOCATION,
	CB_COST_LOCATION,
	CB_COST_UNIT_OF_MEASURE,
	CB_COST_CHARGE_TYPE,
	CB_COST_BILLING_CURRENCY,
	CB_COST_PRICING_CURRENCY,
	CB_COST_SERVICE_INFO1,
	CB_COST_SERVICE_INFO2,
	CB_COST_FREQUENCY,
	CB_COST_TERM,
	CB_COST_RESERVATION_ID,
	CB_COST_RESERVATION_NAME,
	CB_COST_PRICING_MODEL,
	CB_COST_BENEFIT_ID,
	CB_COST_BENEFIT_NAME,
	CB_COST_PROVIDER,
	CB_COST_COST_ALLOCATION_RULE_NAME,
	CB_COST_TEXT_COUNT
} cb_cost_text_field;

/** Date columns of a descriptor (the usage day is cb_cost_row.date). */
typedef enum {
	CB_COST_BILLING_PERIOD_START = 0,
	CB_COST_BILLING_PERIOD_END,
	CB_COST_SERVICE_PERIOD_START,
	CB_COST_SERVICE_PERIOD_END,
	CB_COST_EXCHANGE_RATE_DATE,
	CB_COST_DATE_COUNT
} cb_cost_date_field;

/** Exact decimal columns of a line. */
typedef enum {
	CB_COST_QUANTITY = 0,
	CB_COST_EFFECTIVE_PRICE,
	CB_COST_UNIT_PRICE,
	CB_COST_PAYG_PRICE,
	CB_COST_COST_BILLING,      /**< costInBillingCurrency (EA: Cost) */
	CB_COST_COST_PRICING,      /**< costInPricingCurrency */
	CB_COST_COST_USD,          /**< costInUsd */
	CB_COST_PAYG_COST_BILLING, /**< paygCostInBillingCurrency */
	CB_COST_PAYG_COST_USD,     /**< paygCostInUsd */
	CB_COST_EXCHANGE_RATE,     /**< exchangeRatePricingToBilling */
	CB_COST_PEC_RATE,          /**< partnerEarnedCreditRate */
	CB_COST_AMOUNT_COUNT
} cb_cost_amount_field;

/** A span of text, borrowed.  ptr NULL: the file has no such column. */
typedef struct {
	const char *ptr; /**< not NUL-terminated */
	size_t len;
} cb_cost_text;

/**
 * One cost line, typed and validated.  Everything is borrowed from the
 * producer (the CSV row and the cost file's scratch space) and valid only
 * until the producer's next row.
 *
 * "Absent" (a NULL text, a false *_present flag, -1 for a flag) means the
 * column is missing from the file or its value is empty; the store writes
 * NULL.  Dates are days since 1970-01-01 (proleptic Gregorian).
 */
typedef struct {
	cb_cost_text text[CB_COST_TEXT_COUNT];
	/* JSON objects, validated and normalised: tags written as Azure's
	 * brace-less fragment come wrapped in {}.  ptr NULL: none. */
	cb_cost_text tags;
	cb_cost_text additional_info;
	/* Columns the store does not model, as one JSON object
	 * {"header name": "text value", ...} in file order, header names
	 * as the file spells them; ptr NULL when there are none. */
	cb_cost_text extra;
	int32_t date; /**< the usage day (required) */
	int32_t dates[CB_COST_DATE_COUNT];
	bool date_present[CB_COST_DATE_COUNT];
	cb_money amounts[CB_COST_AMOUNT_COUNT];
	bool amount_present[CB_COST_AMOUNT_COUNT];
	signed char credit_eligible; /**< isAzureCreditEligible: 1, 0, -1 */
	signed char pec_applied;     /**< partnerEarnedCreditApplied */
	uint32_t part;               /**< source part (blob or file), 0.. */
	uint64_t line;               /**< physical line the row starts on */
} cb_cost_row;

/* ------------------------------------------------------------------ */
/* Loading a period (sql/store_costs.c). */

/** What a load replaces: the key, and where its rows come from. */
typedef struct {
	/* The scope the rows were reported for: an ARM scope such as
	 * "/providers/Microsoft.Billing/billingAccounts/X", or a name the
	 * user gave files ("files" by default).  Part of the key. */
	const char *scope;
	const char *period;    /**< "YYYY-MM"; part of the key */
	cb_cost_metric metric; /**< part of the key */
	/* Human description kept with the load ("report <operation id>",
	 * "file usage.csv.gz"); never a URL with a signature.  May be
	 * NULL. */
	const char *source;
} cb_cost_load_key;

/** A load in progress; see cb_store_cost_load_begin(). */
typedef struct cb_cost_load cb_cost_load;

/** Totals of one billing currency. */
typedef struct {
	char currency[8];   /**< ISO 4217 code as the file wrote it */
	uint64_t rows;      /**< lines in this currency */
	cb_money cost;      /**< sum of costInBillingCurrency */
	cb_money payg_cost; /**< sum of paygCostInBillingCurrency */
} cb_cost_currency_total;

/** What a load stored (or what a report found). */
typedef struct {
	int64_t load_id;                    /**< the committed load, or 0 */
	uint64_t rows;                      /**< all lines */
	uint64_t descriptors;               /**< distinct descriptors stored */
	size_t currency_count;              /**< entries in currencies */
	cb_cost_currency_total *currencies; /**< ordered by code; owned */
} cb_cost_totals;

#define CB_COST_TOTALS_INIT      \
	{                        \
		0, 0, 0, 0, NULL \
	}

/** Release what a cb_cost_totals owns and reset it; NULL is a no-op. */
CB_EXTERN(void) cb_cost_totals_dispose(cb_cost_totals *totals);

/**
 * Start a load of one (scope, period, metric).
 *
 * Takes the key's advisory lock (a second load of the same key, from any
 * process, fails at once with CB_ELOCKED: "a load of <scope> <period>
 * <metric> is already running"); drops what killed earlier loads of the
 * key left behind; creates the staging tables and starts streaming rows
 * to them.  Opens its own connections from the store's connection
 * string, so @p store stays usable meanwhile.
 *
 * @return 0, CB_ELOCKED, CB_EINVAL (bad key), CB_EDB, CB_ENOMEM.
 */
CB_EXTERN(int)
cb_store_cost_load_begin(
	cb_cost_load **out, cb_store *store, const cb_cost_load_key *key);

/**
 * Add one line.  The row's usage date must fall in the key's period
 * (CB_EPARSE naming the row's line otherwise); totals are kept per
 * billing currency.  On failure the load must be aborted.
 */
CB_EXTERN(int)
cb_store_cost_load_row(cb_cost_load *load, const cb_cost_row *row);

/**
 * Finish: end the streams, check the stored row count and per-currency
 * sums against what was sent, then in one transaction make the new rows
 * the period's rows for the key (the previous load of the key, if any,
 * is dropped) and record the load.  Releases the lock and frees @p load
 * whatever the outcome; nothing is changed on failure.
 *
 * @param[out] out  if not NULL, receives the totals (dispose it).
 * @return 0, CB_EDB, CB_ECONFLICT (stored totals differ from sent).
 */
CB_EXTERN(int)
cb_store_cost_load_commit(cb_cost_load *load, cb_cost_totals *out);

/** Abandon a load: nothing is stored; frees @p load.  NULL is a no-op. */
CB_EXTERN(void) cb_store_cost_load_abort(cb_cost_load *load);

/* ------------------------------------------------------------------ */
/* Reporting stored cost. */

/** How cb_store_costs() groups. */
typedef enum {
	CB_COSTS_BY_NONE = 0, /**< one group per currency */
	CB_COSTS_BY_CUSTOMER,
	CB_COSTS_BY_SUBSCRIPTION,
	CB_COSTS_BY_SERVICE_FAMILY,
	CB_COSTS_BY_METER_CATEGORY,
	CB_COSTS_BY_DAY,
} cb_costs_by;

/** "customer", "subscription", "service-family", "meter-category",
 * "day"; NULL for NONE or an unknown value. */
CB_EXTERN(const char *) cb_costs_by_name(cb_costs_by by);

/** Parse a cb_costs_by_name(); CB_EINVAL otherwise. */
CB_EXTERN(int) cb_costs_by_parse(cb_costs_by *out, const char *text);

/** One group of stored cost; strings borrowed for the callback. */
typedef struct {
	const char *key;      /**< the group's value ("" for none), NULL for
			       * CB_COSTS_BY_NONE; a day is "YYYY-MM-DD" */
	const char *label;    /**< a display name when known (customer name,
			       * subscription name), else NULL */
	const char *currency; /**< billing currency */
	uint64_t rows;
	cb_money cost;      /**< sum of costInBillingCurrency */
	cb_money payg_cost; /**< sum of paygCostInBillingCurrency */
} cb_costs_group;

/** Receives each group, ordered by key then currency; non-zero stops. */
typedef int (*cb_costs_group_cb)(const cb_costs_group *group, void *payload);

/**
 * Report the committed cost of @p period ("YYYY-MM") and @p metric over
 * every scope, grouped by @p by, with exact sums (numeric in SQL, never
 * a float).  No group at all when nothing is loaded.
 */
CB_EXTERN(int)
cb_store_costs(cb_store *store, const char *period, cb_cost_metric metric,
	cb_costs_by by, cb_costs_group_cb cb, void *payload);

CB_END_DECL

#endif
