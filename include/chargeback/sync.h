/*
 * include/chargeback/sync.h - the partner hierarchy, read from ARM and
 * kept in the store (`chargeback sync`).
 *
 * A sync walks every billing account (those the configuration or the
 * options name, else every one the credentials can list): its billing
 * profiles; for a Microsoft Partner Agreement account also its customers
 * and billing subscriptions (one paged account-level list each), and per
 * customer its view-charges policy and its budgets (those calls run
 * concurrently, bounded, paced by the principal's rate limiter).  The
 * result is a snapshot, written to the store in one transaction: every
 * row upserted (first_seen kept, last_seen this sync, gone_at cleared if
 * it came back), every row of a walked account that the walk did not see
 * marked gone, nothing deleted.  A walk that fails anywhere writes nothing,
 * so the store always holds the last complete snapshot.
 *
 * The two halves are public too: cb_sync_walk() (ARM only) and
 * cb_store_sync_write() (the store only); cb_sync_run() is both.
 */
#ifndef CHARGEBACK_SYNC_H
#define CHARGEBACK_SYNC_H

#include "chargeback/common.h"
#include "chargeback/config.h"
#include "chargeback/store.h"

#include <stddef.h>

CB_BEGIN_DECL

/** What a row of the snapshot is (cb_sync_change.kind). */
typedef enum {
	CB_SYNC_BILLING_ACCOUNT = 0,
	CB_SYNC_BILLING_PROFILE = 1,
	CB_SYNC_CUSTOMER = 2,
	CB_SYNC_SUBSCRIPTION = 3,
	CB_SYNC_POLICY = 4, /**< a customer's view-charges policy */
	CB_SYNC_BUDGET = 5, /**< a budget at customer scope */
	CB_SYNC_KINDS = 6
} cb_sync_kind;

/** What happened to a row (cb_sync_change.action). */
typedef enum {
	CB_SYNC_NEW = 0,     /**< first seen, or back after being gone */
	CB_SYNC_CHANGED = 1, /**< seen before with other values */
	CB_SYNC_GONE = 2,    /**< seen before, not in this walk */
	CB_SYNC_ACTIONS = 3
} cb_sync_action;

/** "billing account", "billing profile", "customer", "subscription",
 * "policy", "budget"; NULL out of range.  Static. */
CB_EXTERN(const char *) cb_sync_kind_name(int kind);

/** "new", "changed", "gone"; NULL out of range.  Static. */
CB_EXTERN(const char *) cb_sync_action_name(int action);

/* ------------------------------------------------------------------ */
/* The snapshot: what a walk read.  Strings are owned by the snapshot;
 * NULL where ARM sent nothing. */

/** A billing account. */
typedef struct {
	char *id; /**< the ARM name */
	char *display_name;
	char *agreement_type; /**< MicrosoftPartnerAgreement, ... */
	char *account_type;
	char *account_sub_type;
	char *account_status;
	char *primary_billing_tenant_id; /**< lower case */
	/** Whether customers, subscriptions, policies and budgets were
	 * walked (a Microsoft Partner Agreement account). */
	int has_customers;
} cb_sync_account;

/** A billing profile of an account. */
typedef struct {
	char *billing_account_id;
	char *id;
	char *display_name;
	char *currency;
	char *billing_relationship_type;
	char *system_id;
	char *status;
	char *status_reason_code;
	char *indirect_billing_account_id;
	char *indirect_billing_profile_id;
	char *indirect_display_name;
} cb_sync_profile;

/** A customer of an account, with its view-charges policy. */
typedef struct {
	char *billing_account_id;
	char *customer_id; /**< the ARM name */
	char *billing_profile_id;
	char *display_name;
	char *tenant_id; /**< the name when it is a GUID, lower case */
	char *system_id;
	char *reseller_id; /**< MPN id of the indirect reseller */
	char *reseller_name;
	char *status;
	char *tags;         /**< JSON object text; "{}" when none */
	char *view_charges; /**< Allowed, NotAllowed, ...; NULL: no policy */
} cb_sync_customer;

/** A billing subscription of a customer. */
typedef struct {
	char *billing_account_id;
	char *customer_id;
	char *subscription_id; /**< lower case */
	char *billing_profile_id;
	char *display_name;
	char *status;
	char *sku_id;
	char *sku_description;
	char *reseller_id;
	char *reseller_name;
	char *resource_uri;
} cb_sync_subscription;

/** A budget at customer scope. */
typedef struct {
	char *billing_account_id;
	char *customer_id;
	char *name;
	char *category;   /**< Cost, ReservationUtilization */
	char *amount;     /**< exact decimal text as ARM sent it, or NULL */
	char *time_grain; /**< Monthly, Quarterly, Annually, ... */
	char *start_date; /**< as ARM sent it */
	char *end_date;
	char *etag;
	char *notifications; /**< JSON object text, "{}" when none */
	char *filter;        /**< JSON text, or NULL */
	/** The name carries the marker of budgets chargeback manages
	 * (CB_SYNC_MANAGED_BUDGET_PREFIX, any case). */
	int managed;
} cb_sync_budget;

/** Budget names starting with this (ignoring case) are chargeback's. */
#define CB_SYNC_MANAGED_BUDGET_PREFIX "cb-"

/** A whole walk.  Arrays in ARM's order; read-only for callers. */
typedef struct {
	cb_sync_account *accounts;
	size_t account_count;
	cb_sync_profile *profiles;
	size_t profile_count;
	cb_sync_customer *customers;
	size_t customer_count;
	cb_sync_subscription *subscriptions;
	size_t subscription_count;
	cb_sync_budget *budgets;
	size_t budget_count;
	/** Whether the accounts are every one the credentials can list
	 * (none was named), so an account missing from them is gone. */
	int all_accounts;
	/** ARM requests (attempts, retries included), answers throttled
	 * with 429, and starts the rate limiter held back. */
	unsigned long requests, throttled, paced;
	long walk_ms; /**< how long the walk took */
} cb_sync_snapshot;

/** Release a snapshot.  NULL is a no-op. */
CB_EXTERN(void) cb_sync_snapshot_free(cb_sync_snapshot *snapshot);

/* ------------------------------------------------------------------ */
/* Options, progress, result. */

#define CB_SYNC_OPTIONS_VERSION 1

/** Most concurrent per-customer requests accepted. */
#define CB_SYNC_CONCURRENCY_MAX 64

/** How to sync.  Start from CB_SYNC_OPTIONS_INIT. */
typedef struct {
	int version; /**< CB_SYNC_OPTIONS_VERSION */
	/** Billing accounts to walk (borrowed during the call); with
	 * count 0 the configuration's billing_accounts, and without those
	 * every account GET /providers/Microsoft.Billing/billingAccounts
	 * lists. */
	const char *const *billing_accounts;
	size_t billing_account_count;
	/** Requests in flight at once, 1..CB_SYNC_CONCURRENCY_MAX; 0: the
	 * configuration's http.max_parallel. */
	unsigned concurrency;
} cb_sync_options;

#define CB_SYNC_OPTIONS_INIT                       \
	{                                          \
		.version = CB_SYNC_OPTIONS_VERSION \
	}

/** Where a walk is, for a progress display. */
typedef struct {
	const char *phase; /**< "accounts", "customers", "storing" */
	size_t customers_done;
	size_t customers_total;
	unsigned long requests;  /**< ARM requests so far */
	unsigned long throttled; /**< 429 answers so far */
	unsigned long paced;     /**< rate limiter waits so far */
} cb_sync_progress;

/**
 * Called as the walk moves on (at most a few times per second is up to
 * the callee).  Must not call back into the library with the same store.
 */
typedef void (*cb_sync_progress_fn)(
	const cb_sync_progress *progress, void *payload);

/** One row that is new, changed or gone.  Strings owned by the result. */
typedef struct {
	int kind;   /**< cb_sync_kind */
	int action; /**< cb_sync_action */
	char *billing_account_id;
	char *customer_id; /**< NULL for accounts and profiles */
	char *id;   /**< the row's own name (profile, subscription, budget) */
	char *name; /**< display name when there is one, else NULL */
	/** CHANGED: the columns that differ, comma-separated; else NULL. */
	char *fields;
} cb_sync_change;

/** What a sync did.  Start from CB_SYNC_RESULT_INIT; release with
 * cb_sync_result_dispose(). */
typedef struct {
	long long run_id; /**< chargeback.sync_run.id, 0 if none */
	/** Rows in the snapshot, per kind. */
	size_t count[CB_SYNC_KINDS];
	/** Changes per action and kind. */
	size_t changed[CB_SYNC_ACTIONS][CB_SYNC_KINDS];
	/** Every change: by kind, action, billing account, customer, id. */
	cb_sync_change *changes;
	size_t change_count;
	unsigned long requests, throttled, paced; /**< from the walk */
} cb_sync_result;

#define CB_SYNC_RESULT_INIT \
	{                   \
		0           \
	}

/** Release what a result holds and reset it.  NULL is a no-op. */
CB_EXTERN(void) cb_sync_result_dispose(cb_sync_result *result);

/* ------------------------------------------------------------------ */

/**
 * Walk ARM into a snapshot (no store involved).
 *
 * @param[out] out  receives the snapshot (owned; cb_sync_snapshot_free).
 * @param config    azure, http and billing_accounts settings.
 * @param options   NULL for the defaults.
 * @param progress  NULL, or called as the walk moves on.
 * @param payload   passed to @p progress.
 * @return 0; on any failure nothing: the first failure's code, with a
 *         message naming the call (method, URL without query), the
 *         customer when there is one, ARM's message and x-ms-request-id:
 *         CB_EAUTH, CB_ENOTFOUND, CB_ETHROTTLED, CB_EHTTP, CB_ETIMEOUT,
 *         CB_EPARSE, CB_ECONFIG, CB_EINVAL, CB_ENOMEM...
 */
CB_EXTERN(int)
cb_sync_walk(cb_sync_snapshot **out, const cb_config *config,
	const cb_sync_options *options, cb_sync_progress_fn progress,
	void *payload);

/**
 * Take the sync lock: a session-level advisory lock on the store's
 * connection, released by cb_store_sync_unlock() or when the connection
 * ends (a killed process never leaves it behind).
 *
 * @return 0, CB_ELOCKED when another sync holds it (the message names its
 *         PostgreSQL backend), or CB_EDB.
 */
CB_EXTERN(int) cb_store_sync_lock(cb_store *store);

/** Release the sync lock.  Returns 0 or CB_EDB. */
CB_EXTERN(int) cb_store_sync_unlock(cb_store *store);

/**
 * Write a snapshot in one transaction, recorded as a chargeback.sync_run
 * row: upsert every row; mark gone (gone_at = now) every row not in the
 * snapshot that belongs to a walked account (billing accounts themselves
 * only when the snapshot holds every account); report what is new,
 * changed and gone in @p result (counts, changes).  On failure nothing is
 * written.  The migrations must be applied (cb_store_migrate).
 *
 * @return 0, CB_EDB, CB_EINVAL or CB_ENOMEM.
 */
CB_EXTERN(int)
cb_store_sync_write(cb_store *store, const cb_sync_snapshot *snapshot,
	cb_sync_result *result);

/**
 * Record a sync that failed (status 'failed', its message) as a
 * chargeback.sync_run row of its own; the snapshot is untouched.
 * Returns 0 or CB_EDB.
 */
CB_EXTERN(int)
cb_store_sync_record_failure(cb_store *store, const char *message);

/**
 * A whole sync: take the lock (CB_ELOCKED if another sync runs), walk,
 * write, release.  On a failed walk the previous snapshot stays and the
 * failure is recorded in chargeback.sync_run; the error is the walk's.
 *
 * @param store     an open, migrated store.
 * @param config    as for cb_sync_walk().
 * @param options   NULL for the defaults.
 * @param progress  NULL, or called as the sync moves on.
 * @param payload   passed to @p progress.
 * @param[out] result  filled on success (dispose it in any case).
 * @return 0 or a code as cb_sync_walk() and cb_store_sync_write().
 */
CB_EXTERN(int)
cb_sync_run(cb_store *store, const cb_config *config,
	const cb_sync_options *options, cb_sync_progress_fn progress,
	void *payload, cb_sync_result *result);

CB_END_DECL

#endif
