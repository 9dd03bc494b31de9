/*
 * tenants/walk.c - read the partner hierarchy from ARM into a snapshot
 * (cb_sync_walk, include/chargeback/sync.h).
 *
 * Calls, for A billing accounts of which M are partner (MPA) accounts with
 * N customers in all, pages of p items:
 *   1                          list billing accounts (or one GET per
 *                              account named in the configuration)
 *   per account                billing profiles, ceil(profiles/p) pages
 *   per MPA account            customers, ceil(customers/p) pages, and
 *                              billing subscriptions, ceil(subs/p) pages
 *                              (account-level lists: no call per customer)
 *   per customer               policies/default (1) and Consumption
 *                              budgets (1 page each in practice)
 * so about 1 + A + 2M + 2N requests when every list fits a page, plus
 * retries.  The per-customer calls, 2N of them, are the bulk: they run
 * concurrently (options.concurrency in flight) through core/http's
 * executor, paced by the session's rate limiter at ARM's refill rate.
 *
 * The per-customer requests are prepared (bearer token included) outside
 * the executor, in batches, because a token refresh is itself an HTTP call
 * and the executor cannot be re-entered from a completion callback.  A
 * budgets nextLink found in a callback is kept for the next batch.
 *
 * Any failure stops the walk: the executor is aborted, the first error is
 * kept (callbacks of other requests would overwrite the per-thread one)
 * and returned with the customer it concerns, and no snapshot is handed
 * out, so the store keeps the previous complete one.
 */
#include "core/common.h"

#include "core/buf.h"
#include "core/json.h"
#include "tenants/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

/* api-versions (azure-api-notes.md 0): Billing 2024-04-01 has the richest
 * customer and subscription fields; Consumption 2024-08-01 budgets. */
#define BILLING_API     "2024-04-01"
#define CONSUMPTION_API "2024-08-01"
#define ACCOUNTS        "/providers/Microsoft.Billing/billingAccounts"

/* Requests prepared and submitted per executor run: large enough that the
 * run's tail (its last few requests in flight alone) is a small share of
 * it, small enough that tokens stay fresh and memory flat. */
#define WALK_BATCH 512

enum job_kind { JOB_POLICY, JOB_BUDGETS };

struct job {
	struct walk *w;
	size_t customer; /* index in snap->customers */
	enum job_kind kind;
	char *url;        /* the request, or the nextLink to follow; owned */
	struct job *next; /* in walk.pending */
	struct cb_arm_request req;
	cb_http_response resp;
};

struct saved_error {
	int code, klass, status;
	char message[CB_ERROR_MESSAGE_MAX];
	char arm_code[128], request_id[CB_HTTP_ID_MAX];
};

struct walk {
	cb__session *sess;
	cb_sync_snapshot *snap;
	size_t cap_accounts, cap_profiles, cap_customers, cap_subs, cap_budgets;
	const char *account; /* the account being listed; borrowed */
	/* customers sorted by (account, id) */
	const cb_sync_customer **by_id;
	unsigned char *open; /* per customer: jobs not yet done */
	struct job *pending; /* budgets pages still to fetch */
	size_t customers_done;
	cb_sync_progress_fn progress;
	void *payload;
	bool failed;
	struct saved_error err;
};

/* ---- errors -------------------------------------------------------- */

static void
save_error(struct saved_error *e)
{
	const cb_error *last = cb_error_last();

	e->code = last->code < 0 ? last->code : CB_ERROR;
	e->klass = last->klass;
	e->status = last->http_status;
	snprintf(e->message, sizeof(e->message), "%s", last->message);
	snprintf(e->arm_code, sizeof(e->arm_code), "%s", last->arm_code);
	snprintf(e->request_id, sizeof(e->request_id), "%s", last->request_id);
}

static int
restore_error(const struct saved_error *e)
{
	cb__error_set(e->code, e->klass, "%s", e->message);
	if (e->status != 0 || e->arm_code[0] || e->request_id[0])
		cb__error_set_http(e->status,
			e->arm_code[0] ? e->arm_code : NULL,
			e->request_id[0] ? e->request_id : NULL);
	return e->code;
}

/*
 * Put context in front of the current error and ARM's x-ms-request-id
 * (what a support ticket needs) after it, keeping the code and the
 * structured fields.
 */
static int walk_fail(const char *fmt, ...) CB_FORMAT_PRINTF(1, 2);

static int
walk_fail(const char *fmt, ...)
{
	struct saved_error e;
	char ctx[512];
	va_list ap;

	save_error(&e);
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	if (e.request_id[0] && strstr(e.message, e.request_id) == NULL) {
		size_t n = strlen(e.message);

		snprintf(e.message + n, sizeof(e.message) - n,
			" (x-ms-request-id %s)", e.request_id);
	}
	if (ctx[0]) {
		char msg[sizeof(ctx) + sizeof(e.message) + 2];

		snprintf(msg, sizeof(msg), "%s: %s", ctx, e.message);
		snprintf(e.message, sizeof(e.message), "%.*s",
			(int)sizeof(e.message) - 1, msg);
	}
	return restore_error(&e);
}

/* ---- the snapshot -------------------------------------------------- */

static int
grow(void **arr, size_t *cap, size_t count, size_t size)
{
	void *n;
	size_t ncap;

	if (count < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if ((n = cb__reallocarray(*arr, ncap, size)) == NULL)
		return CB_ENOMEM;
	memset((char *)n + *cap * size, 0, (ncap - *cap) * size);
	*arr = n;
	*cap = ncap;
	return 0;
}

/* A copy of s (NULL stays NULL). */
static int
dup(char **out, const char *s)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	return (*out = cb__strdup(s)) == NULL ? CB_ENOMEM : 0;
}

static int
dup_lower(char **out, const char *s)
{
	int error = dup(out, s);

	for (char *p = *out; error == 0 && p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return error;
}

/* The string at path below at, copied, or NULL when absent. */
static int
get_str(char **out, const cb_json *doc, const cb_json_node *at,
	const char *path)
{
	const char *s = NULL;
	int error = cb__json_get_string(&s, doc, at, path, CB_JSON_OPTIONAL);

	*out = NULL;
	if (error == CB_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	return dup(out, s);
}

/* The last segment of an ARM id (".../customers/{c}" -> "{c}"). */
static int
get_last_segment(char **out, const cb_json *doc, const cb_json_node *at,
	const char *path)
{
	const char *s = NULL, *slash;
	int error = cb__json_get_string(&s, doc, at, path, CB_JSON_OPTIONAL);

	*out = NULL;
	if (error == CB_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	if (*s == '\0' || s[strlen(s) - 1] == '/')
		return cb__json_error(doc, at, path, "not an ARM id");
	slash = strrchr(s, '/');
	return dup(out, slash ? slash + 1 : s);
}

/* The value at path dumped as JSON text, or dflt (copied; may be NULL)
 * when absent. */
static int
get_json(char **out, const cb_json *doc, const cb_json_node *at,
	const char *path, const char *dflt)
{
	const cb_json_node *n = NULL;
	cb_buf buf = CB_BUF_INIT;
	int error = cb__json_get_node(&n, doc, at, path, CB_JSON_OPTIONAL);

	*out = NULL;
	if (error == CB_ENOTFOUND)
		return dup(out, dflt);
	if (error < 0)
		return error;
	if ((error = cb__json_dump(&buf, n)) < 0)
		return error;
	*out = cb__buf_detach(&buf);
	return *out ? 0 : CB_ENOMEM;
}

static bool
is_guid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; s[i]; i++) {
		bool hex = (s[i] >= '0' && s[i] <= '9') ||
			   (s[i] >= 'a' && s[i] <= 'f') ||
			   (s[i] >= 'A' && s[i] <= 'F');

		if (shape[i] == '-' ? s[i] != '-' : !hex)
			return false;
	}
	return true;
}

/* ---- account-level lists ------------------------------------------ */

static int
add_account(struct walk *w, const cb_json *doc, const cb_json_node *item)
{
	cb_sync_snapshot *s = w->snap;
	cb_sync_account *a;
	int error;

	if ((error = grow((void **)&s->accounts, &w->cap_accounts,
		     s->account_count, sizeof(*a))) < 0)
		return error;
	a = &s->accounts[s->account_count++];
	if ((error = get_str(&a->id, doc, item, "name")) < 0 ||
		(error = get_str(&a->display_name, doc, item,
			 "properties.displayName")) < 0 ||
		(error = get_str(&a->agreement_type, doc, item,
			 "properties.agreementType")) < 0 ||
		(error = get_str(&a->account_type, doc, item,
			 "properties.accountType")) < 0 ||
		(error = get_str(&a->account_sub_type, doc, item,
			 "properties.accountSubType")) < 0 ||
		(error = get_str(&a->account_status, doc, item,
			 "properties.accountStatus")) < 0 ||
		(error = get_str(&a->primary_billing_tenant_id, doc, item,
			 "properties.primaryBillingTenantId")) < 0)
		return error;
	if (a->id == NULL || *a->id == '\0')
		return cb__json_error(doc, item, "name", "missing");
	for (char *p = a->primary_billing_tenant_id; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	a->has_customers =
		a->agreement_type &&
		strcmp(a->agreement_type, "MicrosoftPartnerAgreement") == 0;
	return 0;
}

static int
account_item(const cb_json *page, const cb_json_node *item, void *payload)
{
	return add_account(payload, page, item);
}

static int
profile_item(const cb_json *doc, const cb_json_node *item, void *payload)
{
	struct walk *w = payload;
	cb_sync_snapshot *s = w->snap;
	cb_sync_profile *p;
	int error;

	if ((error = grow((void **)&s->profiles, &w->cap_profiles,
		     s->profile_count, sizeof(*p))) < 0)
		return error;
	p = &s->profiles[s->profile_count++];
	if ((error = dup(&p->billing_account_id, w->account)) < 0 ||
		(error = get_str(&p->id, doc, item, "name")) < 0 ||
		(error = get_str(&p->display_name, doc, item,
			 "properties.displayName")) < 0 ||
		(error = get_str(
			 &p->currency, doc, item, "properties.currency")) < 0 ||
		(error = get_str(&p->billing_relationship_type, doc, item,
			 "properties.billingRelationshipType")) < 0 ||
		(error = get_str(&p->system_id, doc, item,
			 "properties.systemId")) < 0 ||
		(error = get_str(&p->status, doc, item, "properties.status")) <
			0 ||
		(error = get_str(&p->status_reason_code, doc, item,
			 "properties.statusReasonCode")) < 0 ||
		(error = get_str(&p->indirect_billing_account_id, doc, item,
			 "properties.indirectRelationshipInfo."
			 "billingAccountName")) < 0 ||
		(error = get_str(&p->indirect_billing_profile_id, doc, item,
			 "properties.indirectRelationshipInfo."
			 "billingProfileName")) < 0 ||
		(error = get_str(&p->indirect_display_name, doc, item,
			 "properties.indirectRelationshipInfo.displayName")) <
			0)
		return error;
	if (p->id == NULL || *p->id == '\0')
		return cb__json_error(doc, item, "name", "missing");
	return 0;
}

static int
customer_item(const cb_json *doc, const cb_json_node *item, void *payload)
{
	struct walk *w = payload;
	cb_sync_snapshot *s = w->snap;
	cb_sync_customer *c;
	int error;

	if ((error = grow((void **)&s->customers, &w->cap_customers,
		     s->customer_count, sizeof(*c))) < 0)
		return error;
	c = &s->customers[s->customer_count++];
	if ((error = dup(&c->billing_account_id, w->account)) < 0 ||
		(error = get_str(&c->customer_id, doc, item, "name")) < 0 ||
		(error = get_last_segment(&c->billing_profile_id, doc, item,
			 "properties.billingProfileId")) < 0 ||
		(error = get_str(&c->display_name, doc, item,
			 "properties.displayName")) < 0 ||
		(error = get_str(&c->system_id, doc, item,
			 "properties.systemId")) < 0 ||
		(error = get_str(&c->status, doc, item, "properties.status")) <
			0 ||
		(error = get_str(&c->reseller_id, doc, item,
			 "properties.resellers[0].resellerId")) < 0 ||
		(error = get_str(&c->reseller_name, doc, item,
			 "properties.resellers[0].description")) < 0 ||
		(error = get_json(&c->tags, doc, item, "tags", "{}")) < 0)
		return error;
	if (c->customer_id == NULL || *c->customer_id == '\0')
		return cb__json_error(doc, item, "name", "missing");
	if (is_guid(c->customer_id) &&
		(error = dup_lower(&c->tenant_id, c->customer_id)) < 0)
		return error;
	return 0;
}

static int
subscription_item(const cb_json *doc, const cb_json_node *item, void *payload)
{
	struct walk *w = payload;
	cb_sync_snapshot *s = w->snap;
	cb_sync_subscription *b;
	char *customer = NULL, *id = NULL;
	int error;

	/* A subscription of no customer (a partner's own, MCA-style) has
	 * no place in a customer's hierarchy. */
	if ((error = get_last_segment(
		     &customer, doc, item, "properties.customerId")) < 0 ||
		customer == NULL)
		return error;
	if ((error = grow((void **)&s->subscriptions, &w->cap_subs,
		     s->subscription_count, sizeof(*b))) < 0) {
		cb__free(customer);
		return error;
	}
	b = &s->subscriptions[s->subscription_count++];
	b->customer_id = customer;
	if ((error = dup(&b->billing_account_id, w->account)) < 0 ||
		(error = get_str(&id, doc, item, "properties.subscriptionId")) <
			0 ||
		(id == NULL && (error = get_str(&id, doc, item, "name")) < 0) ||
		(error = dup_lower(&b->subscription_id, id)) < 0 ||
		(error = get_last_segment(&b->billing_profile_id, doc, item,
			 "properties.billingProfileId")) < 0 ||
		(error = get_str(&b->display_name, doc, item,
			 "properties.displayName")) < 0 ||
		(error = get_str(&b->status, doc, item,
			 "properties.subscriptionBillingStatus")) < 0 ||
		(b->status == NULL && (error = get_str(&b->status, doc, item,
					       "properties.status")) < 0) ||
		(error = get_str(&b->sku_id, doc, item, "properties.skuId")) <
			0 ||
		(error = get_str(&b->sku_description, doc, item,
			 "properties.skuDescription")) < 0 ||
		(error = get_str(&b->reseller_id, doc, item,
			 "properties.reseller.resellerId")) < 0 ||
		(error = get_str(&b->reseller_name, doc, item,
			 "properties.reseller.description")) < 0 ||
		(error = get_str(&b->resource_uri, doc, item,
			 "properties.resourceUri")) < 0)
		goto done;
	if (b->subscription_id == NULL || *b->subscription_id == '\0')
		error = cb__json_error(doc, item, "name", "missing");
done:
	cb__free(id);
	return error;
}

static int
list(struct walk *w, const char *account, const char *what, cb_arm_item_fn each)
{
	cb_buf path = CB_BUF_INIT;
	int error;

	w->account = account;
	if ((error = cb__buf_printf(&path, ACCOUNTS "/%s/%s", account, what)) <
		0)
		return error;
	error = cb__arm_list(w->sess->arm, path.ptr, BILLING_API, each, w);
	cb_buf_dispose(&path);
	if (error < 0)
		return walk_fail("billing account %s", account);
	return 0;
}

/* ---- look-ups ------------------------------------------------------ */

static int
cmp_customer(const void *a, const void *b)
{
	const cb_sync_customer *x = *(const cb_sync_customer *const *)a;
	const cb_sync_customer *y = *(const cb_sync_customer *const *)b;
	int c = strcmp(x->billing_account_id, y->billing_account_id);

	return c ? c : strcmp(x->customer_id, y->customer_id);
}

/* Index customers by (account, id); a duplicate is an error (ARM listed
 * one customer twice: paging went wrong). */
static int
index_customers(struct walk *w)
{
	cb_sync_snapshot *s = w->snap;
	size_t n = s->customer_count;

	if (n == 0)
		return 0;
	if ((w->by_id = cb__calloc(n, sizeof(*w->by_id))) == NULL ||
		(w->open = cb__calloc(n, 1)) == NULL)
		return CB_ENOMEM;
	for (size_t i = 0; i < n; i++)
		w->by_id[i] = &s->customers[i];
	qsort(w->by_id, n, sizeof(*w->by_id), cmp_customer);
	for (size_t i = 1; i < n; i++)
		if (cmp_customer(&w->by_id[i - 1], &w->by_id[i]) == 0)
			return cb__error_set(CB_EPARSE, CB_ERRCLASS_AZURE,
				"billing account %s: customer %s listed twice",
				w->by_id[i]->billing_account_id,
				w->by_id[i]->customer_id);
	return 0;
}

static cb_sync_customer *
find_customer(const struct walk *w, const char *account, const char *id)
{
	size_t lo = 0, hi = w->snap->customer_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const cb_sync_customer *c = w->by_id[mid];
		int cmp = strcmp(account, c->billing_account_id);

		if (cmp == 0)
			cmp = strcmp(id, c->customer_id);
		if (cmp == 0)
			return &w->snap->customers[c - w->snap->customers];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool
has_profile(const cb_sync_snapshot *s, const char *account, const char *id)
{
	if (id == NULL)
		return true;
	for (size_t i = 0; i < s->profile_count; i++)
		if (strcmp(s->profiles[i].billing_account_id, account) == 0 &&
			strcmp(s->profiles[i].id, id) == 0)
			return true;
	return false;
}

/* Every reference between lists holds, so the store's foreign keys do. */
static int
check_references(struct walk *w)
{
	cb_sync_snapshot *s = w->snap;

	for (size_t i = 0; i < s->customer_count; i++) {
		const cb_sync_customer *c = &s->customers[i];

		if (!has_profile(
			    s, c->billing_account_id, c->billing_profile_id))
			return cb__error_set(CB_EPARSE, CB_ERRCLASS_AZURE,
				"billing account %s: customer %s names "
				"billing profile %s, which the profiles list "
				"did not return",
				c->billing_account_id, c->customer_id,
				c->billing_profile_id);
	}
	for (size_t i = 0; i < s->subscription_count; i++) {
		const cb_sync_subscription *b = &s->subscriptions[i];
		cb_sync_customer *c =
			find_customer(w, b->billing_account_id, b->customer_id);
		int error;

		if (c == NULL)
			return cb__error_set(CB_EPARSE, CB_ERRCLASS_AZURE,
				"billing account %s: billing subscription %s "
				"names customer %s, which the customers list "
				"did not return",
				b->billing_account_id, b->subscription_id,
				b->customer_id);
		/* Where the customers list named no reseller, an indirect
		 * customer's subscriptions do. */
		if (c->reseller_id == NULL && b->reseller_id != NULL &&
			((error = dup(&c->reseller_id, b->reseller_id)) < 0 ||
				(error = dup(&c->reseller_name,
					 b->reseller_name)) < 0))
			return error;
		if (!has_profile(
			    s, b->billing_account_id, b->billing_profile_id))
			return cb__error_set(CB_EPARSE, CB_ERRCLASS_AZURE,
				"billing account %s: billing subscription %s "
				"names billing profile %s, which the profiles "
				"list did not return",
				b->billing_account_id, b->subscription_id,
				b->billing_profile_id);
	}
	return 0;
}

/* ---- per-customer calls -------------------------------------------- */

static void
report(struct walk *w, const char *phase)
{
	cb_sync_progress p = { 0 };
	cb_ratelimit_stats st;

	if (w->progress == NULL)
		return;
	cb__ratelimit_stats(w->sess->reads, &st);
	p.phase = phase;
	p.customers_done = w->customers_done;
	p.customers_total = w->snap->customer_count;
	p.requests = (unsigned long)st.started;
	p.throttled = (unsigned long)st.throttled;
	p.paced = (unsigned long)st.paced;
	w->progress(&p, w->payload);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	cb__arm_request_dispose(&j->req);
	cb__http_response_dispose(&j->resp);
	cb__free(j->url);
	cb__free(j);
}

static int
add_budget(struct walk *w, const cb_sync_customer *c, const cb_json *doc,
	const cb_json_node *item)
{
	cb_sync_snapshot *s = w->snap;
	const cb_json_node *amount = NULL;
	cb_sync_budget *b;
	int error;

	if ((error = grow((void **)&s->budgets, &w->cap_budgets,
		     s->budget_count, sizeof(*b))) < 0)
		return error;
	b = &s->budgets[s->budget_count++];
	if ((error = dup(&b->billing_account_id, c->billing_account_id)) < 0 ||
		(error = dup(&b->customer_id, c->customer_id)) < 0 ||
		(error = get_str(&b->name, doc, item, "name")) < 0 ||
		(error = get_str(&b->etag, doc, item, "eTag")) < 0 ||
		(error = get_str(
			 &b->category, doc, item, "properties.category")) < 0 ||
		(error = get_str(&b->time_grain, doc, item,
			 "properties.timeGrain")) < 0 ||
		(error = get_str(&b->start_date, doc, item,
			 "properties.timePeriod.startDate")) < 0 ||
		(error = get_str(&b->end_date, doc, item,
			 "properties.timePeriod.endDate")) < 0 ||
		(error = get_json(&b->notifications, doc, item,
			 "properties.notifications", "{}")) < 0 ||
		(error = get_json(
			 &b->filter, doc, item, "properties.filter", NULL)) < 0)
		return error;
	if (b->name == NULL || *b->name == '\0')
		return cb__json_error(doc, item, "name", "missing");
	error = cb__json_get_node(
		&amount, doc, item, "properties.amount", CB_JSON_OPTIONAL);
	if (error == 0) {
		/* The amount's digits as sent: numeric in the store, never
		 * a double on the way. */
		if (cb__json_number_text(amount) == NULL)
			return cb__json_error(
				doc, item, "properties.amount", "not a number");
		if ((error = dup(&b->amount, cb__json_number_text(amount))) < 0)
			return error;
	} else if (error != CB_ENOTFOUND) {
		return error;
	}
	b->managed = strncasecmp(b->name, CB_SYNC_MANAGED_BUDGET_PREFIX,
			     strlen(CB_SYNC_MANAGED_BUDGET_PREFIX)) == 0;
	return 0;
}

/* What a job's answer holds; the next page link into *next. */
static int
job_parse(struct job *j, const cb_json *doc, char **next)
{
	struct walk *w = j->w;
	cb_sync_customer *c = &w->snap->customers[j->customer];
	const cb_json_node *root = cb__json_root(doc), *value;
	const char *link = NULL;
	cb_buf abs = CB_BUF_INIT;
	int error;

	*next = NULL;
	if (j->kind == JOB_POLICY) {
		cb__free(c->view_charges);
		return get_str(
			&c->view_charges, doc, root, "properties.viewCharges");
	}
	if (doc == NULL) /* 204: no budgets */
		return 0;
	if ((error = cb__json_get_array(&value, doc, root, "value", 0)) < 0)
		return error;
	for (size_t i = 0; i < cb__json_array_size(value); i++)
		if ((error = add_budget(
			     w, c, doc, cb__json_array_get(value, i))) < 0)
			return error;
	error = cb__json_get_string(
		&link, doc, root, "nextLink", CB_JSON_OPTIONAL);
	if (error == CB_ENOTFOUND || (error == 0 && *link == '\0'))
		return 0;
	if (error < 0 || (error = cb__arm_check_link(
				  &abs, w->sess->arm, link, "nextLink")) < 0)
		return error;
	*next = cb__buf_detach(&abs);
	return *next ? 0 : CB_ENOMEM;
}

static void
job_done(int http_error, cb_http_response *resp, void *payload)
{
	struct job *j = payload;
	struct walk *w = j->w;
	const cb_sync_customer *c = &w->snap->customers[j->customer];
	cb_json *doc = NULL;
	char *next = NULL;
	size_t customer;
	int error;

	error = cb__arm_result(&doc, "GET", j->url, http_error, resp);
	if (error == 0)
		error = job_parse(j, doc, &next);
	cb__json_free(doc);
	if (error < 0) {
		if (!w->failed) {
			w->failed = true;
			walk_fail("customer %s (%s)", c->customer_id,
				c->display_name ? c->display_name : "");
			save_error(&w->err);
			cb__http_abort(w->sess->http);
		}
		job_free(j);
		return;
	}
	if (next != NULL) {
		/* The next page goes out with the next batch. */
		cb__arm_request_dispose(&j->req);
		cb__http_response_dispose(&j->resp);
		cb__free(j->url);
		j->url = next;
		j->next = w->pending;
		w->pending = j;
		return;
	}
	customer = j->customer;
	job_free(j);
	if (--w->open[customer] == 0) {
		w->customers_done++;
		report(w, "customers");
	}
}

static int
job_new(struct job **out, struct walk *w, size_t customer, enum job_kind kind)
{
	const cb_sync_customer *c = &w->snap->customers[customer];
	cb_buf path = CB_BUF_INIT, url = CB_BUF_INIT;
	struct job *j;
	int error;

	if ((j = cb__calloc(1, sizeof(*j))) == NULL)
		return CB_ENOMEM;
	j->w = w;
	j->customer = customer;
	j->kind = kind;
	j->req = (struct cb_arm_request)CB_ARM_REQUEST_INIT;
	j->resp = (cb_http_response)CB_HTTP_RESPONSE_INIT;
	if ((error = cb__buf_printf(&path, ACCOUNTS "/%s/customers/%s%s",
		     c->billing_account_id, c->customer_id,
		     kind == JOB_POLICY
			     ? "/policies/default"
			     : "/providers/Microsoft.Consumption/budgets")) <
			0 ||
		(error = cb__arm_url(&url, w->sess->arm, path.ptr,
			 kind == JOB_POLICY ? BILLING_API : CONSUMPTION_API)) <
			0) {
		cb_buf_dispose(&path);
		cb_buf_dispose(&url);
		cb__free(j);
		return error;
	}
	cb_buf_dispose(&path);
	j->url = cb__buf_detach(&url);
	if (j->url == NULL) {
		cb__free(j);
		return CB_ENOMEM;
	}
	*out = j;
	return 0;
}

/* Queue a job.  On failure the jobs already queued are canceled (their
 * callbacks free them) and the failure is returned. */
static int
job_submit(struct walk *w, struct job *j)
{
	const cb_sync_customer *c = &w->snap->customers[j->customer];
	int error;

	if ((error = cb__arm_request_prepare(
		     &j->req, w->sess->arm, "GET", j->url, NULL)) == 0 &&
		(error = cb__http_submit(w->sess->http, &j->req.http, &j->resp,
			 job_done, j)) == 0)
		return 0;
	job_free(j);
	walk_fail("customer %s", c->customer_id);
	w->failed = true;
	save_error(&w->err);
	cb__http_abort(w->sess->http);
	cb__http_run(w->sess->http);
	return restore_error(&w->err);
}

static int
walk_customers(struct walk *w)
{
	const cb_sync_snapshot *s = w->snap;
	size_t next = 0;
	int error;

	report(w, "customers");
	while (next < s->customer_count || w->pending) {
		size_t n = 0;

		while (n < WALK_BATCH && w->pending) {
			struct job *j = w->pending;

			w->pending = j->next;
			if ((error = job_submit(w, j)) < 0)
				return error;
			n++;
		}
		while (n + 2 <= WALK_BATCH && next < s->customer_count) {
			for (int k = JOB_POLICY; k <= JOB_BUDGETS; k++) {
				struct job *j;

				if ((error = job_new(&j, w, next, k)) < 0) {
					j = NULL;
					w->failed = true;
					save_error(&w->err);
					cb__http_abort(w->sess->http);
					cb__http_run(w->sess->http);
					return restore_error(&w->err);
				}
				if ((error = job_submit(w, j)) < 0)
					return error;
				w->open[next]++;
				n++;
			}
			next++;
		}
		if ((error = cb__http_run(w->sess->http)) < 0)
			return error;
		if (w->failed)
			return restore_error(&w->err);
	}
	return 0;
}

/* ---- the walk ------------------------------------------------------ */

static int
walk_accounts(struct walk *w, const cb_config *cfg, const cb_sync_options *o)
{
	size_t n = o->billing_account_count;
	const char *const *names = o->billing_accounts;
	cb_json *doc = NULL;
	int error;

	if (n == 0 && (n = cb_config_billing_account_count(cfg)) > 0)
		names = NULL;
	if (n == 0) {
		w->snap->all_accounts = 1;
		if ((error = cb__arm_list(w->sess->arm, ACCOUNTS, BILLING_API,
			     account_item, w)) < 0)
			return walk_fail("listing billing accounts");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name =
			names ? names[i] : cb_config_billing_account(cfg, i);
		cb_buf path = CB_BUF_INIT;

		if ((error = cb__buf_printf(&path, ACCOUNTS "/%s", name)) < 0)
			return error;
		error = cb__arm_get(&doc, w->sess->arm, path.ptr, BILLING_API);
		cb_buf_dispose(&path);
		if (error < 0)
			return walk_fail("billing account %s", name);
		error = doc ? add_account(w, doc, cb__json_root(doc))
			    : cb__error_set(CB_EPARSE, CB_ERRCLASS_AZURE,
				      "billing account %s: empty answer", name);
		cb__json_free(doc);
		doc = NULL;
		if (error < 0)
			return walk_fail("billing account %s", name);
	}
	return 0;
}

static int
walk_run(struct walk *w, const cb_config *cfg, const cb_sync_options *o)
{
	int error;

	report(w, "accounts");
	if ((error = walk_accounts(w, cfg, o)) < 0)
		return error;
	for (size_t i = 0; i < w->snap->account_count; i++) {
		const cb_sync_account *a = &w->snap->accounts[i];

		if ((error = list(w, a->id, "billingProfiles", profile_item)) <
			0)
			return error;
		if (!a->has_customers)
			continue;
		if ((error = list(w, a->id, "customers?$expand=resellers",
			     customer_item)) < 0 ||
			(error = list(w, a->id, "billingSubscriptions",
				 subscription_item)) < 0)
			return error;
	}
	if ((error = index_customers(w)) < 0 ||
		(error = check_references(w)) < 0 ||
		(error = walk_customers(w)) < 0)
		return error;
	report(w, "done");
	return 0;
}

int
cb_sync_walk(cb_sync_snapshot **out, const cb_config *cfg,
	const cb_sync_options *options, cb_sync_progress_fn progress,
	void *payload)
{
	cb_sync_options dflt = CB_SYNC_OPTIONS_INIT;
	struct walk w = { 0 };
	cb_ratelimit_stats st;
	struct timespec t0, t1;
	int error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(cfg);
	if (options == NULL)
		options = &dflt;
	CB_ASSERT_ARG(options->version == CB_SYNC_OPTIONS_VERSION);
	CB_ASSERT_ARG(options->concurrency <= CB_SYNC_CONCURRENCY_MAX);
	CB_ASSERT_ARG(options->billing_account_count == 0 ||
		      options->billing_accounts != NULL);
	w.progress = progress;
	w.payload = payload;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((w.snap = cb__calloc(1, sizeof(*w.snap))) == NULL)
		return CB_ENOMEM;
	if ((error = cb__session_open(&w.sess, cfg)) < 0)
		goto done;
	if (options->concurrency > 0 &&
		(error = cb__http_set_max_parallel(
			 w.sess->http, options->concurrency)) < 0)
		goto done;
	error = walk_run(&w, cfg, options);
	cb__ratelimit_stats(w.sess->reads, &st);
	w.snap->requests = (unsigned long)st.started;
	w.snap->throttled = (unsigned long)st.throttled;
	w.snap->paced = (unsigned long)st.paced;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	w.snap->walk_ms = (long)((t1.tv_sec - t0.tv_sec) * 1000 +
				 (t1.tv_nsec - t0.tv_nsec) / 1000000);
done:
	while (w.pending) {
		struct job *j = w.pending;

		w.pending = j->next;
		job_free(j);
	}
	cb__session_close(w.sess);
	cb__free(w.by_id);
	cb__free(w.open);
	if (error < 0) {
		cb_sync_snapshot_free(w.snap);
		return error;
	}
	*out = w.snap;
	return 0;
}
