/*
 * tenants/sync.c - a whole sync (include/chargeback/sync.h): lock, walk,
 * write, unlock; and the snapshot's and result's bookkeeping.
 *
 * The lock is taken before the walk, not only around the write: a second
 * sync learns at once that one is running, instead of after minutes of
 * walking.  It is a session-level advisory lock, so a killed sync's lock
 * goes with its connection.
 */
#include "core/common.h"

#include <stdio.h>

static const char *const kind_names[CB_SYNC_KINDS] = { "billing account",
	"billing profile", "customer", "subscription", "policy", "budget" };
static const char *const action_names[CB_SYNC_ACTIONS] = { "new", "changed",
	"gone" };

const char *
cb_sync_kind_name(int kind)
{
	return kind >= 0 && kind < CB_SYNC_KINDS ? kind_names[kind] : NULL;
}

const char *
cb_sync_action_name(int action)
{
	return action >= 0 && action < CB_SYNC_ACTIONS ? action_names[action]
						       : NULL;
}

/* Free every char * member of n structs of size bytes at arr; the structs
 * hold only char * and int members, pointers first. */
#define FREE_STRINGS(arr, n, type, ...)                                   \
	do {                                                              \
		for (size_t i_ = 0; (arr) && i_ < (n); i_++) {            \
			type *r_ = &(arr)[i_];                            \
			char *const *f_[] = { __VA_ARGS__ };              \
			for (size_t k_ = 0; k_ < CB_ARRAY_SIZE(f_); k_++) \
				cb__free(*f_[k_]);                        \
		}                                                         \
		cb__free(arr);                                            \
	} while (0)

void
cb_sync_snapshot_free(cb_sync_snapshot *s)
{
	if (s == NULL)
		return;
	FREE_STRINGS(s->accounts, s->account_count, cb_sync_account, &r_->id,
		&r_->display_name, &r_->agreement_type, &r_->account_type,
		&r_->account_sub_type, &r_->account_status,
		&r_->primary_billing_tenant_id);
	FREE_STRINGS(s->profiles, s->profile_count, cb_sync_profile,
		&r_->billing_account_id, &r_->id, &r_->display_name,
		&r_->currency, &r_->billing_relationship_type, &r_->system_id,
		&r_->status, &r_->status_reason_code,
		&r_->indirect_billing_account_id,
		&r_->indirect_billing_profile_id, &r_->indirect_display_name);
	FREE_STRINGS(s->customers, s->customer_count, cb_sync_customer,
		&r_->billing_account_id, &r_->customer_id,
		&r_->billing_profile_id, &r_->display_name, &r_->tenant_id,
		&r_->system_id, &r_->reseller_id, &r_->reseller_name,
		&r_->status, &r_->tags, &r_->view_charges);
	FREE_STRINGS(s->subscriptions, s->subscription_count,
		cb_sync_subscription, &r_->billing_account_id, &r_->customer_id,
		&r_->subscription_id, &r_->billing_profile_id,
		&r_->display_name, &r_->status, &r_->sku_id,
		&r_->sku_description, &r_->reseller_id, &r_->reseller_name,
		&r_->resource_uri);
	FREE_STRINGS(s->budgets, s->budget_count, cb_sync_budget,
		&r_->billing_account_id, &r_->customer_id, &r_->name,
		&r_->category, &r_->amount, &r_->time_grain, &r_->start_date,
		&r_->end_date, &r_->etag, &r_->notifications, &r_->filter);
	cb__free(s);
}

void
cb_sync_result_dispose(cb_sync_result *r)
{
	if (r == NULL)
		return;
	FREE_STRINGS(r->changes, r->change_count, cb_sync_change,
		&r_->billing_account_id, &r_->customer_id, &r_->id, &r_->name,
		&r_->fields);
	*r = (cb_sync_result)CB_SYNC_RESULT_INIT;
}

int
cb_sync_run(cb_store *store, const cb_config *config,
	const cb_sync_options *options, cb_sync_progress_fn progress,
	void *payload, cb_sync_result *result)
{
	cb_sync_snapshot *snap = NULL;
	char msg[CB_ERROR_MESSAGE_MAX];
	int error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(config);
	CB_ASSERT_ARG(result);
	if ((error = cb_store_sync_lock(store)) < 0)
		return error;
	error = cb_sync_walk(&snap, config, options, progress, payload);
	if (error < 0) {
		const cb_error *e = cb_error_last();
		int code = e->code, klass = e->klass, status = e->http_status;
		char arm[128], rid[64];

		/* Recording the failure must not lose the walk's error. */
		snprintf(msg, sizeof(msg), "%s", e->message);
		snprintf(arm, sizeof(arm), "%s", e->arm_code);
		snprintf(rid, sizeof(rid), "%s", e->request_id);
		cb_store_sync_record_failure(store, msg);
		cb_store_sync_unlock(store);
		cb__error_set(code, klass, "%s", msg);
		if (status || arm[0] || rid[0])
			cb__error_set_http(status, arm[0] ? arm : NULL,
				rid[0] ? rid : NULL);
		return code;
	}
	if (progress) {
		cb_sync_progress p = { .phase = "storing",
			.customers_done = snap->customer_count,
			.customers_total = snap->customer_count,
			.requests = snap->requests,
			.throttled = snap->throttled,
			.paced = snap->paced };

		progress(&p, payload);
	}
	error = cb_store_sync_write(store, snap, result);
	cb_sync_snapshot_free(snap);
	if (error < 0) {
		const cb_error *e = cb_error_last();
		int code = e->code, klass = e->klass;

		snprintf(msg, sizeof(msg), "%s", e->message);
		cb_store_sync_record_failure(store, msg);
		cb_store_sync_unlock(store);
		cb__error_set(code, klass, "%s", msg);
		return code;
	}
	return cb_store_sync_unlock(store);
}
