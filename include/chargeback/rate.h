/*
 * include/chargeback/rate.h - the rating engine: what Microsoft charged,
 * priced with the markup rules, as charge lines
 * (sql/migrations/007_rating.sql).
 *
 * cb_rate_run() reads a period's committed ActualCost lines grouped at
 * the statement grain -- customer x subscription x service family x
 * meter category x meter x charge type x publisher type x pricing model
 * x reseller x day, per billing currency -- with exact numeric sums,
 * prices each group with the first matching markup rule
 * (cb_rules_markup_find()), and writes the charge lines, replacing the
 * period's previous run in one transaction.
 *
 * Pricing, exact (cb_money; the only rounding is at the 18th place of a
 * product or quotient, half away from zero):
 *   base     = cost (costInBillingCurrency) or retail
 *              (paygCostInBillingCurrency), as the rule says
 *   percent  price = base + base x percent / 100 (negative: a discount),
 *            rounded once at the 18th place as SQL's
 *            round(base * percent / 100, 18) (allocation/rate.c says
 *            when two roundings could differ from it)
 *   per_unit price = base + quantity x per_unit
 *   tiers    price = base + base x percent / 100, the percent of the
 *            band holding the customer's monthly volume: the sum of the
 *            base of every group the rule prices for the customer in
 *            that currency over the month (a volume tier: one band for
 *            the whole month, not graduated; a negative volume is in the
 *            first band)
 *   reseller_percent, for a group with a reseller:
 *            price = price + price x reseller_percent / 100
 *   markup   = price - cost; billed = cost + markup = price
 *   minimum_monthly: when the rule's groups for a customer and currency
 *            bill less than the minimum over the month, one more line
 *            (charge type "MinimumMonthly", no day) bills the shortfall
 *            as markup with cost 0.
 * A group no rule matches is billed at cost (markup 0, no rule name), as
 * are partner-level groups (no customer: Azure's rounding adjustments).
 * Rules name customers by tenant id (customerTenantId), matched ignoring
 * case.
 *
 * Tags: groups span resources, so they carry no tags; a rule that
 * selects on a tag matches no group at this grain.  statement_currency
 * and exchange_rate are the statements' business: charge lines stay in
 * the billing currency.
 *
 * Allocation, before markup: a group that an allocation rule's source
 * holds (by subscription, meter category, service family or customer;
 * the rule of lowest priority wins) is split over the rule's customers,
 * evenly, by its percentages, or in proportion to each target's own
 * cost in the group's currency (its groups no allocation source holds;
 * of the rule's service family when it names one; a negative sum weighs
 * 0; a target of no weight gets no line, and when no target has any the
 * group goes whole to the unallocated bucket, customer ""): cost,
 * retail and quantity each by
 * largest remainder at the 18th place, so the parts add up to the group
 * exactly.  Each part becomes a group of its target customer (the
 * customer id that lines of the target's tenant carry, else the tenant
 * id as the rule writes it; name unknown, so name globs do not match
 * the part), records the rule and the source customer, and is priced as
 * the target's.  Not applied yet, and refused (CB_ECONFIG): resource
 * group and tag sources, cost-centre targets.
 *
 * Before anything is written the run checks (background A.5), per
 * billing currency: sum(billed) - sum(markup) = sum(cost) exactly, and
 * sum(cost) of the charge lines = the sum of costInBillingCurrency of
 * the stored lines, computed separately in SQL; a failure is
 * CB_EUNBALANCED and nothing is written.
 *
 * Deterministic: groups come sorted by their key (bytewise, NULLs
 * first), so the same lines and rule set give the same rows in any
 * input order.  Only committed loads are read; every committed
 * ActualCost load of the period counts, whatever its scope, so loads of
 * overlapping scopes of one month count their lines twice (load a month
 * under one scope).
 */
#ifndef CHARGEBACK_RATE_H
#define CHARGEBACK_RATE_H

#include "chargeback/common.h"
#include "chargeback/config.h"
#include "chargeback/costs.h"
#include "chargeback/money.h"
#include "chargeback/rules.h"
#include "chargeback/store.h"

CB_BEGIN_DECL

/** One group of cost lines at the statement grain, or one charge line.
 * Strings are borrowed (NULL: absent). */
typedef struct {
	const char *billing_account_id; /**< never NULL ("" when absent) */
	const char *customer_id;        /**< never NULL ("": partner level) */
	const char *customer_name;      /**< for rules' name globs */
	/** the customer's tenant id (customerTenantId), which rules name;
	 * NULL when the lines have none */
	const char *customer_tenant_id;
	const char *subscription_id;
	const char *service_family;
	const char *meter_category;
	const char *meter_id;
	const char *meter_name;
	const char *charge_type;
	const char *publisher_type;
	const char *pricing_model;
	const char *reseller_name;
	const char *reseller_mpn_id;
	const char *billing_currency; /**< never NULL ("" when absent) */
	bool has_date;                /**< false: a line of the whole month */
	int32_t date;                 /**< the usage day, days since 1970 */
	/** cost lines in the group (each part of an allocated group
	 * repeats its source's) */
	uint64_t rows;
	uint64_t retail_missing; /**< of which without a retail cost */
	cb_money quantity;       /**< sum of quantity */
	cb_money cost;           /**< sum of costInBillingCurrency */
	cb_money retail;         /**< sum of paygCostInBillingCurrency */
	/* Set on charge lines only. */
	cb_money base;         /**< what the rule priced */
	cb_money markup;       /**< billed - cost */
	cb_money billed;       /**< cost + markup, exact */
	const char *rule_name; /**< NULL: no rule matched */
	/** an allocated part: the allocation rule that moved it here, and
	 * the customer whose cost it was; both NULL otherwise */
	const char *allocation_rule;
	const char *source_customer_id;
} cb_charge_group;

/** Receives each group in key order; non-zero stops (and is returned). */
typedef int (*cb_charge_group_cb)(const cb_charge_group *group, void *payload);

/**
 * Read the committed ActualCost lines of @p period ("YYYY-MM") grouped
 * at the statement grain, sorted by the grain's columns (customer first,
 * bytewise, NULLs first), with exact sums.
 *
 * @return 0, CB_EINVAL (bad period), CB_EDB, or what @p cb returned.
 */
CB_EXTERN(int)
cb_store_rate_groups(cb_store *store, const char *period, cb_charge_group_cb cb,
	void *payload);

/** A rating run being written. */
typedef struct {
	const char *period;     /**< "YYYY-MM" */
	const char *rules_hash; /**< cb_rules_hash() */
} cb_rate_run_key;

/**
 * Start a run: record it as 'running' and return its id.
 * @return 0, CB_EINVAL, CB_EDB.
 */
CB_EXTERN(int)
cb_store_rate_begin(
	cb_store *store, const cb_rate_run_key *key, int64_t *run_id);

/**
 * Write run @p run_id's @p n charge lines (line numbers 1..n in array
 * order) and, in the same transaction, delete the period's previous
 * charge lines, mark earlier committed runs superseded and this one
 * committed.  Nothing is changed on failure.
 * @return 0, CB_EINVAL, CB_EDB.
 */
CB_EXTERN(int)
cb_store_rate_commit(cb_store *store, const cb_rate_run_key *key,
	int64_t run_id, const cb_charge_group *lines, size_t n);

/** Mark run @p run_id failed (best effort after an error; keeps the
 * thread's last error). */
CB_EXTERN(void) cb_store_rate_fail(cb_store *store, int64_t run_id);

/** Totals of one billing currency of a run. */
typedef struct {
	char currency[8]; /**< ISO 4217 code as the cost lines wrote it */
	uint64_t lines;   /**< charge lines */
	uint64_t rows;    /**< cost lines rated */
	cb_money cost;
	cb_money markup;
	cb_money billed;
} cb_rate_currency_total;

/** What a run wrote. */
typedef struct {
	int64_t run_id;
	char rules_hash[CB_RULES_HASH_MAX];
	uint64_t lines;     /**< charge lines written */
	uint64_t unmatched; /**< of which no rule priced */
	size_t currency_count;
	cb_rate_currency_total *currencies; /**< ordered by code; owned */
} cb_rate_result;

#define CB_RATE_RESULT_INIT             \
	{                               \
		0, { 0 }, 0, 0, 0, NULL \
	}

/** Release what @p res owns and reset it; NULL is a no-op. */
CB_EXTERN(void) cb_rate_result_dispose(cb_rate_result *res);

/**
 * Rate @p period with the rules of @p rules (not NULL).
 *
 * @param[out] out  the run's totals (dispose it); untouched on failure
 * @return 0; CB_ENOTFOUND when no ActualCost line of the period is
 *         loaded; CB_ECONFIG for allocation rules this version does
 *         not apply or a rule that cannot price a group (a retail base without
 * retail cost); CB_EUNBALANCED when an invariant fails (nothing written);
 * CB_EOVERFLOW; CB_EDB; CB_ENOMEM.
 */
CB_EXTERN(int)
cb_rate_run_rules(cb_store *store, const cb_rules *rules, const char *period,
	cb_rate_result *out);

/**
 * As cb_rate_run_rules() with the rules file the configuration names
 * (rules_file; CB_ENOTFOUND when it names none).
 */
CB_EXTERN(int)
cb_rate_run(cb_store *store, const cb_config *config, const char *period,
	cb_rate_result *out);

CB_END_DECL

#endif
