/*
 * include/chargeback/policy.h - customers' "view charges" policies, in bulk.
 *
 * A partner decides which customers may see their own Azure charges
 * (ARM .../billingAccounts/{ba}/customers/{c}/policies/default,
 * properties.viewCharges).  The configuration declares the wanted value
 * with rules (config.h: policies, labels); this module reads the customers
 * from the store (filled by `chargeback sync`), reads each one's current
 * policy live from ARM, and compares:
 *
 *   cb_policy_list()   customers and their current value (ARM or store)
 *   cb_policy_plan()   current -> desired per customer; changes nothing
 *   cb_policy_apply()  the plan's changes: one PUT each, then a GET to
 *                      confirm, then one store transaction recording it
 *   cb_policy_set()    one customer, one value, the same way
 *
 * The one thing to know: the desired value is resolved for every customer
 * before anything is sent, and any configuration problem (a rule that
 * selects no customer, an unknown customer id, a tie between two rules of
 * the same precedence) fails the whole call with CB_ECONFIG naming the
 * file and line; nothing is sent.  ARM failures, on the other hand, are
 * per customer: they are recorded on the customer's item (the call, ARM's
 * message and request id) and the other customers proceed.
 *
 * Precedence, most specific first: customer id > label > reseller > name
 * pattern > all (cb_select_kind).  A customer no rule selects keeps its
 * value (the plan says "unmanaged").
 *
 * Reads run concurrently, at most http.max_parallel at a time.
 */
#ifndef CHARGEBACK_POLICY_H
#define CHARGEBACK_POLICY_H

#include "chargeback/common.h"
#include "chargeback/config.h"
#include "chargeback/store.h"

CB_BEGIN_DECL

/** cb_policy_item.current / desired when there is no value: not read (a
 * failed read, or the store has none), or no rule selects the customer. */
#define CB_VIEW_CHARGES_NONE (-1)

/** "Allowed" or "NotAllowed" (ARM's spelling); "none" for
 * CB_VIEW_CHARGES_NONE.  Static storage. */
CB_EXTERN(const char *) cb_view_charges_name(int view_charges);

/**
 * Parse "allowed" or "notallowed" (any case) into a cb_view_charges.
 * @return 0 or CB_EINVAL (no error message is recorded).
 */
CB_EXTERN(int) cb_view_charges_parse(int *out, const char *text);

/** One customer of a list, plan or apply.  Every string is borrowed from
 * the cb_policy and valid until cb_policy_free(). */
typedef struct {
	const char *billing_account_id; /**< the customer's account */
	const char *customer_id;        /**< ARM name */
	const char *display_name;       /**< "" when unknown */
	const char *reseller_id;        /**< MPN id, or NULL (direct) */
	int current;            /**< cb_view_charges, or CB_VIEW_CHARGES_NONE */
	int desired;            /**< cb_view_charges, or CB_VIEW_CHARGES_NONE */
	const char *rule;       /**< what selected it: "customer", "label gold",
				  "reseller 4100000", "name Contoso*", "all",
				  "set"; NULL if nothing */
	unsigned rule_line;     /**< the rule's line in the configuration */
	bool change;            /**< current and desired differ */
	bool changed;           /**< apply/set: the change was made, confirmed
				  and recorded */
	int previous;           /**< apply/set: the value read before the
				  change, or CB_VIEW_CHARGES_NONE */
	int error;              /**< 0, or the cb_error_code of the failure */
	const char *message;    /**< the failure, naming customer, call, ARM's
				  message and request id; NULL if none */
	const char *request_id; /**< x-ms-request-id of the failed or last
				  call; "" if none */
} cb_policy_item;

/** A set of customers with their policies.  Not thread-safe. */
typedef struct cb_policy cb_policy;

/** Progress: @p done of @p total calls finished (on a terminal the CLI
 * shows it).  Called from the calling thread. */
typedef void (*cb_policy_progress_fn)(size_t done, size_t total, void *payload);

#define CB_POLICY_OPTIONS_VERSION 1

/** Options of every call; NULL means the defaults. */
typedef struct {
	int version;                    /**< CB_POLICY_OPTIONS_VERSION */
	cb_policy_progress_fn progress; /**< or NULL */
	void *progress_payload;         /**< passed to progress */
} cb_policy_options;

#define CB_POLICY_OPTIONS_INIT                       \
	{                                            \
		.version = CB_POLICY_OPTIONS_VERSION \
	}

/** Where cb_policy_list() reads the current values. */
typedef enum {
	CB_POLICY_FROM_ARM = 0,  /**< live, one GET per customer */
	CB_POLICY_FROM_STORE = 1 /**< the last value sync saw or the tool set */
} cb_policy_source;

/**
 * The customers of the store (only the configuration's billing_accounts
 * when it lists some; never those marked gone) with their current value,
 * and the desired one where the rules select them (a list does not fail
 * on configuration problems: desired is then NONE).
 *
 * @param[out] out  receives the list; the caller owns it and releases it
 *                  with cb_policy_free().  Set also when some reads failed
 *                  (their items carry the error).  Untouched on failure.
 * @return 0; 1 when some customers' reads failed (see the items);
 *         CB_EDB, CB_EAUTH (no token at all), CB_ECONFIG, CB_ENOMEM.
 */
/* clang-format off */
CB_EXTERN(int) cb_policy_list(cb_policy **out, const cb_config *cfg,
	cb_store *store, int source, const cb_policy_options *opts);
/* clang-format on */

/**
 * Plan: resolve every customer's desired value from the rules, read the
 * current values from ARM, and mark the differences.  Sends no write.
 *
 * @param[out] out  as for cb_policy_list().
 * @return 0; 1 when some reads failed; CB_ECONFIG (a rule selecting no
 *         customer, an unknown customer id, a tie, no rules at all:
 *         "file:line: ..."; nothing was read); CB_EDB, CB_EAUTH,
 *         CB_ENOMEM.
 */
/* clang-format off */
CB_EXTERN(int) cb_policy_plan(cb_policy **out, const cb_config *cfg,
	cb_store *store, const cb_policy_options *opts);
/* clang-format on */

/**
 * Apply a plan: PUT the desired value of every item with change set and
 * no error, concurrently; GET each again to confirm; record each
 * confirmed change in the store (chargeback.policy_change, with
 * cb_config_hash(@p cfg) and source "apply") in its own transaction.
 * Items record the outcome (changed, error, message).
 *
 * @return 0 when every change was made; 1 when some failed (see the
 *         items); CB_EINVAL, CB_EAUTH, CB_ENOMEM.
 */
/* clang-format off */
CB_EXTERN(int) cb_policy_apply(cb_policy *plan, const cb_config *cfg,
	cb_store *store, const cb_policy_options *opts);
/* clang-format on */

/**
 * The one-off form: read one customer's policy and, if it differs, set it
 * to @p view_charges, confirm and record it (source "set").
 *
 * @param[out] out   receives a one-item cb_policy (caller owns; free with
 *                   cb_policy_free()); untouched on failure.
 * @param customer   a customer id of the store (any case).
 * @return 0; 1 when ARM refused (see the item); CB_ENOTFOUND (no such
 *         customer in the store); CB_EINVAL, CB_EDB, CB_ENOMEM.
 */
/* clang-format off */
CB_EXTERN(int) cb_policy_set(cb_policy **out, const cb_config *cfg,
	cb_store *store, const char *customer, int view_charges,
	const cb_policy_options *opts);
/* clang-format on */

/** Number of items. */
CB_EXTERN(size_t) cb_policy_count(const cb_policy *policy);

/** The @p index-th item (store order: billing account, display name,
 * customer id), or NULL.  Borrowed: valid until cb_policy_free(). */
/* clang-format off */
CB_EXTERN(const cb_policy_item *) cb_policy_item_at(const cb_policy *policy,
	size_t index);
/* clang-format on */

/** Release a policy set.  NULL is a no-op. */
CB_EXTERN(void) cb_policy_free(cb_policy *policy);

/* ---- the store side (sql/store_policy.c) --------------------------- */

/** A customer as the store knows it.  Strings borrowed for the duration
 * of the callback. */
typedef struct {
	const char *billing_account_id;
	const char *customer_id;
	const char *display_name;  /**< "" when unknown */
	const char *reseller_id;   /**< NULL when direct */
	const char *reseller_name; /**< NULL when direct */
	int view_charges; /**< last seen by sync or set by the tool, or NONE */
	const char *observed_at; /**< "YYYY-MM-DDTHH:MM:SSZ" or NULL */
} cb_store_customer;

/** Called once per customer; return 0 to go on, anything else stops the
 * walk and is returned. */
typedef int (*cb_store_customer_cb)(
	const cb_store_customer *customer, void *payload);

/**
 * Every customer not marked gone, in order of billing account, display
 * name and customer id (byte order), restricted to @p cfg's
 * billing_accounts when it lists some (@p cfg may be NULL).
 * @return 0, what @p cb returned, CB_EDB or CB_ENOMEM.
 */
/* clang-format off */
CB_EXTERN(int) cb_store_customer_foreach(cb_store *store,
	const cb_config *cfg, cb_store_customer_cb cb, void *payload);
/* clang-format on */

/** One confirmed change, for cb_store_policy_record(). */
typedef struct {
	const char *billing_account_id;
	const char *customer_id;
	const char *old_value;   /**< as ARM reported it before */
	int new_value;           /**< a cb_view_charges */
	const char *config_hash; /**< cb_config_hash() */
	const char *source;      /**< "apply" or "set" */
	const char *request_id;  /**< of the PUT, or NULL */
} cb_policy_change;

/**
 * Record a change ARM confirmed: a chargeback.policy_change row and the
 * customer's chargeback.customer_policy value, in one transaction.
 * @return 0 or CB_EDB (nothing recorded).
 */
/* clang-format off */
CB_EXTERN(int) cb_store_policy_record(cb_store *store,
	const cb_policy_change *change);
/* clang-format on */

/**
 * Record a value read from ARM that needed no change, so the store's
 * customer_policy is current (no history row).
 * @return 0 or CB_EDB.
 */
/* clang-format off */
CB_EXTERN(int) cb_store_policy_confirm(cb_store *store,
	const char *billing_account_id, const char *customer_id,
	int view_charges);
/* clang-format on */

CB_END_DECL

#endif
