/*
 * include/chargeback/budget.h - customer budgets declared in the
 * configuration (budgets = (...); see cb_budget_config in config.h) and
 * made so at Azure: `chargeback budget list | plan | apply | delete`.
 *
 * The marker.  A budget the tool manages is named "cb-" + its template's
 * name (CB_BUDGET_MARKER); a budget whose name does not start with it was
 * made by someone else: it is listed, never changed or deleted.  A managed
 * budget whose template no longer selects the customer (or no longer
 * exists) is deleted by apply.
 *
 * A plan reads the customers from the store (chargeback.customer, filled
 * by `chargeback sync`), checks the templates against them (a template
 * that selects no customer, or names a customer the store does not know,
 * is CB_ECONFIG naming its configuration line, before anything is sent),
 * reads every customer's budgets live from ARM
 * (GET .../customers/{c}/providers/Microsoft.Consumption/budgets,
 * api-version 2024-08-01, paged) and computes, per customer and budget:
 * create, update (with the fields that differ), delete, unchanged, or not
 * managed.  History-derived amounts come from Cost Management's Query API
 * (ActualCost, the N complete months before the as-of date), exact: the
 * average times the percent, rounded up to a multiple of the step, and at
 * least one step (Azure refuses an amount of 0).
 *
 * apply writes what the plan found: PUT with the eTag read at plan time
 * (a budget changed since is refused by Azure and reported for its
 * customer, not overwritten), DELETE; then records each confirmed change
 * in chargeback.budget_change.  A failure for one customer is recorded in
 * its item and the others proceed.
 */
#ifndef CHARGEBACK_BUDGET_H
#define CHARGEBACK_BUDGET_H

#include "chargeback/common.h"
#include "chargeback/config.h"
#include "chargeback/store.h"

CB_BEGIN_DECL

/** Prefix of every budget name the tool manages. */
#define CB_BUDGET_MARKER "cb-"

/** What a plan does with one budget (cb_budget_item.action). */
typedef enum {
	CB_BUDGET_UNCHANGED = 0, /**< managed and as configured */
	CB_BUDGET_CREATE = 1,    /**< configured, missing at Azure */
	CB_BUDGET_UPDATE = 2,    /**< managed, differs (see changes) */
	CB_BUDGET_DELETE = 3,    /**< managed, no template selects it */
	CB_BUDGET_UNMANAGED = 4, /**< made by hand: listed, never touched */
	CB_BUDGET_FAILED = 5     /**< could not be planned (see error) */
} cb_budget_action;

/** What a plan is for (cb_budget_options.mode). */
typedef enum {
	CB_BUDGET_MODE_PLAN = 0,  /**< converge to the configuration */
	CB_BUDGET_MODE_LIST = 1,  /**< only what exists: UNCHANGED/UNMANAGED */
	CB_BUDGET_MODE_DELETE = 2 /**< every managed budget: DELETE */
} cb_budget_mode;

/** Progress: @p done of @p total customers read so far. */
typedef void (*cb_budget_progress_cb)(size_t done, size_t total, void *payload);

#define CB_BUDGET_OPTIONS_VERSION 1

/** Options of cb_budget_plan_new().  Strings are borrowed for the call. */
typedef struct {
	int version; /**< CB_BUDGET_OPTIONS_VERSION */
	int mode;    /**< a cb_budget_mode */
	/** Only these customer ids (NULL: every customer in the store); an
	 * id the store does not know is CB_ENOTFOUND. */
	const char *const *customers;
	size_t customer_count;
	/** "YYYY-MM-DD": history months end before this date's month; NULL:
	 * today (UTC). */
	const char *as_of;
	cb_budget_progress_cb progress; /**< or NULL */
	void *progress_payload;
} cb_budget_options;

#define CB_BUDGET_OPTIONS_INIT                       \
	{                                            \
		.version = CB_BUDGET_OPTIONS_VERSION \
	}

/** One budget of one customer in a plan.  Every string is borrowed from
 * the plan (valid until cb_budget_plan_free()); NULL when not known. */
typedef struct {
	const char *billing_account_id;
	const char *customer_id;
	const char *customer_name;
	const char *budget_name; /**< NULL for a customer that FAILED */
	int action;              /**< a cb_budget_action */
	const char *amount;      /**< at Azure now (exact decimal text) */
	const char *new_amount;  /**< as configured (CREATE, UPDATE) */
	/** UPDATE: "field: old -> new" parts joined by "; ". */
	const char *changes;
	const char *etag; /**< at plan time; after apply, Azure's new one */
	/** FAILED, or apply failed: customer, call, ARM message and request
	 * id. */
	const char *error;
	int applied; /**< 0 not applied, 1 done, -1 failed (error) */
} cb_budget_item;

/** A computed plan. */
typedef struct cb_budget_plan cb_budget_plan;

/**
 * Read the customers and their budgets and compute the plan.
 *
 * @param[out] out  the plan (owned; cb_budget_plan_free()); untouched on
 *                  failure.
 * @param cfg       the configuration (budgets, azure, http); borrowed for
 *                  the plan's life.
 * @param store     where the customers are; borrowed for the call.
 * @param opts      NULL for the defaults (MODE_PLAN, every customer).
 * @return 0 (per-customer failures are FAILED items); CB_ECONFIG (a
 *         template that selects nothing or names an unknown customer:
 *         "file:line: ..."); CB_ENOTFOUND (an unknown --customer); CB_EDB;
 *         the session's codes (CB_EAUTH, ...); CB_ENOMEM.
 */
CB_EXTERN(int)
cb_budget_plan_new(cb_budget_plan **out, const cb_config *cfg, cb_store *store,
	const cb_budget_options *opts);

/** Number of items, in customer order then budget name order. */
CB_EXTERN(size_t) cb_budget_plan_count(const cb_budget_plan *plan);

/** Item @p index, or NULL past the end.  Borrowed from the plan. */
/* clang-format off */
CB_EXTERN(const cb_budget_item *) cb_budget_plan_item(
	const cb_budget_plan *plan, size_t index);
/* clang-format on */

/** Items FAILED, or whose apply failed. */
CB_EXTERN(size_t) cb_budget_plan_failures(const cb_budget_plan *plan);

/**
 * Perform the plan's CREATE, UPDATE and DELETE items, each recorded in
 * the store once ARM confirmed it.  A refusal is kept in its item
 * (applied -1, error) and the rest proceed.  Applying twice does nothing
 * the second time.
 *
 * @return 0 (see cb_budget_plan_failures()), CB_EINVAL, CB_ENOMEM.
 */
CB_EXTERN(int) cb_budget_plan_apply(cb_budget_plan *plan, cb_store *store);

/** Release a plan.  NULL is a no-op. */
CB_EXTERN(void) cb_budget_plan_free(cb_budget_plan *plan);

/* ---- the store's part (sql/store_budget.c) ---------------------------- */

/** A customer as the store knows it (borrowed during the callback). */
typedef struct {
	const char *billing_account_id;
	const char *customer_id;
	const char *display_name; /**< "" when unknown */
	const char *reseller_id;  /**< MPN id, "" when none */
} cb_budget_customer;

/** Called per customer; non-zero stops the walk and is returned. */
typedef int (*cb_budget_customer_cb)(
	const cb_budget_customer *customer, void *payload);

/**
 * Every customer not gone, ordered by billing account and customer id.
 * @return 0, what @p cb returned, or CB_EDB.
 */
CB_EXTERN(int)
cb_store_budget_customers(
	cb_store *store, cb_budget_customer_cb cb, void *payload);

/** One confirmed change (cb_store_budget_record()). */
typedef struct {
	const char *billing_account_id;
	const char *customer_id;
	const char *budget_name;
	int action;              /**< CB_BUDGET_CREATE, _UPDATE or _DELETE */
	const char *old_amount;  /**< NULL for CREATE */
	const char *new_amount;  /**< NULL for DELETE */
	const char *etag;        /**< Azure's new eTag; NULL for DELETE */
	const char *config_hash; /**< cb_config_hash() */
} cb_budget_change;

/**
 * Record one change in chargeback.budget_change (one statement: all or
 * nothing).  @return 0, CB_EINVAL or CB_EDB.
 */
CB_EXTERN(int)
cb_store_budget_record(cb_store *store, const cb_budget_change *change);

CB_END_DECL

#endif
