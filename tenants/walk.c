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
 * retries.
 *
 * Everything after the accounts runs as one pipeline through core/http's
 * executor (options.concurrency in flight, paced by the session's rate
 * limiter at ARM's refill rate): three listing chains, profiles, customers
 * and billing subscriptions, start together, each walking the accounts in
 * turn a page at a time (so the snapshot keeps ARM's order), and every
 * customers page starts its customers' two calls as it arrives.  The
 * per-customer calls, 2N of them, are the bulk; they never wait for the
 * rest of a list, and the lists cost next to no time of their own.
 *
 * The executor's queue is first in, first out, so customers' calls are fed
 * to it a few at a time (a window of twice the concurrency) as answers
 * come back: a list's next page queued behind thousands of them would make
 * the list chains, 150 pages for 5,000 customers, the walk's critical
 * path.
 *
 * Requests are prepared (bearer token included) in completion callbacks,
 * which may not make an HTTP call, and a token refresh is one.  So the
 * walk takes the token outside the executor and prepares requests in
 * callbacks only while core/auth will hand out that cached token without a
 * refresh; past that point work waits until the executor drains, and the
 * next round starts with a fresh token.  A walk within a token's life (an
 * hour, the refresh margin aside) is one round.
 *
 * Any failure stops the walk: the executor is aborted, the first error is
 * kept (callbacks of other requests would overwrite the per-thread one)
 * and returned with the account or customer it concerns, and no snapshot
 * is handed out, so the store keeps the previous complete one.
 */
#include "core/common.h"

#include "core/auth.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/token_cache.h"
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

/* Callbacks stop preparing requests this long before core/auth would
 * refresh the token: the credential's clock counts whole seconds, and a
 * request prepared in the last one must not be the one that refreshes. */
#define WALK_TOKEN_SLACK 10

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
	/* customers sorted by (account, id), once all are listed */
	const cb_sync_customer **by_id;
	unsigned char *open; /* per customer: jobs not yet done */
	size_t cap_open;
	size_t next_customer; /* the first whose calls are not started */
	size_t customer_jobs; /* per-customer jobs in the executor */
	size_t window;        /* most customer_jobs: 2 x max_parallel */
	/* Jobs waiting for the next round (a fresh token), in order. */
	struct job *pending, **pending_tail;
	int64_t token_until; /* callbacks prepare requests until then */
	/* In a completion callback, from cb__http_run or from the
	 * cb__http_send of a token refresh (which runs queued requests
	 * too): no HTTP call may be made. */
	bool in_callback;
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
			" (request id %s)", e.request_id);
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
	if ((w->by_id = cb__calloc(n, sizeof(*w->by_id))) == NULL)
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

/* ---- progress ------------------------------------------------------ */

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

/* ---- jobs: every request after the accounts ------------------------ */

enum job_kind {
	JOB_PROFILES, /* account listings, each a chain over the accounts */
	JOB_CUSTOMERS,
	JOB_SUBSCRIPTIONS,
	JOB_POLICY, /* per customer */
	JOB_BUDGETS
};

#define JOB_IS_LIST(kind) ((kind) <= JOB_SUBSCRIPTIONS)

/* The account-level lists. */
static const struct {
	const char *what;    /* below billingAccounts/{account}/ */
	cb_arm_item_fn item; /* adds one element to the snapshot */
	bool mpa_only;       /* only accounts whose customers are walked */
} list_kinds[] = {
	[JOB_PROFILES] = { "billingProfiles", profile_item, false },
	[JOB_CUSTOMERS] = { "customers?$expand=resellers", customer_item,
		true },
	[JOB_SUBSCRIPTIONS] = { "billingSubscriptions", subscription_item,
		true },
};

struct seen_link {
	uint64_t hash; /* FNV-1a of link */
	char *link;    /* owned */
};

struct job {
	struct walk *w;
	enum job_kind kind;
	size_t index;   /* the account listed, or the customer */
	char *url;      /* the page to fetch; owned */
	unsigned pages; /* of this listing, fetched */
	/* The links of this listing, kept once it has a second page, so a
	 * server that loops is an error rather than an endless walk. */
	struct seen_link *seen;
	size_t seen_count, seen_cap;
	struct job *next; /* in walk.pending */
	cb_http_response resp;
};

static void job_done(int http_error, cb_http_response *resp, void *payload);

/* Forget the links of the listing done (a new one starts). */
static void
job_forget(struct job *j)
{
	for (size_t i = 0; i < j->seen_count; i++)
		cb__free(j->seen[i].link);
	j->seen_count = 0;
	j->pages = 0;
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	job_forget(j);
	cb__free(j->seen);
	cb__http_response_dispose(&j->resp);
	cb__free(j->url);
	cb__free(j);
}

static uint64_t
link_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* 1 if this listing requested link before, 0 once it is recorded, or
 * CB_ENOMEM. */
static int
job_seen(struct job *j, const char *link)
{
	uint64_t h = link_hash(link);
	int error;

	for (size_t i = 0; i < j->seen_count; i++)
		if (j->seen[i].hash == h && strcmp(j->seen[i].link, link) == 0)
			return 1;
	if ((error = grow((void **)&j->seen, &j->seen_cap, j->seen_count,
		     sizeof(*j->seen))) < 0)
		return error;
	if ((j->seen[j->seen_count].link = cb__strdup(link)) == NULL)
		return CB_ENOMEM;
	j->seen[j->seen_count++].hash = h;
	return 0;
}

static int
job_path(cb_buf *path, const struct job *j)
{
	const cb_sync_snapshot *s = j->w->snap;
	const cb_sync_customer *c;

	if (JOB_IS_LIST(j->kind))
		return cb__buf_printf(path, ACCOUNTS "/%s/%s",
			s->accounts[j->index].id, list_kinds[j->kind].what);
	c = &s->customers[j->index];
	return cb__buf_printf(path, ACCOUNTS "/%s/customers/%s%s",
		c->billing_account_id, c->customer_id,
		j->kind == JOB_POLICY
			? "/policies/default"
			: "/providers/Microsoft.Consumption/budgets");
}

/* Point j at the first page of what it fetches: a new listing. */
static int
job_first_page(struct job *j)
{
	cb_buf path = CB_BUF_INIT, url = CB_BUF_INIT;
	int error;

	if ((error = job_path(&path, j)) == 0 &&
		(error = cb__arm_url(&url, j->w->sess->arm, path.ptr,
			 j->kind == JOB_BUDGETS ? CONSUMPTION_API
						: BILLING_API)) == 0) {
		cb__free(j->url);
		if ((j->url = cb__buf_detach(&url)) == NULL)
			error = CB_ENOMEM;
		job_forget(j);
	}
	cb_buf_dispose(&path);
	cb_buf_dispose(&url);
	return error;
}

static int
job_new(struct job **out, struct walk *w, enum job_kind kind, size_t index)
{
	struct job *j;
	int error;

	*out = NULL;
	if ((j = cb__calloc(1, sizeof(*j))) == NULL)
		return CB_ENOMEM;
	j->w = w;
	j->kind = kind;
	j->index = index;
	j->resp = (cb_http_response)CB_HTTP_RESPONSE_INIT;
	if ((error = job_first_page(j)) < 0) {
		job_free(j);
		return error;
	}
	*out = j;
	return 0;
}

/* The first account from `from` on that kind's list applies to, or
 * account_count. */
static size_t
list_account(const struct walk *w, enum job_kind kind, size_t from)
{
	const cb_sync_snapshot *s = w->snap;

	while (from < s->account_count && list_kinds[kind].mpa_only &&
		!s->accounts[from].has_customers)
		from++;
	return from;
}

/* ---- failing ------------------------------------------------------- */

/* Stop the walk at its first failure (the current error): the executor
 * cancels what is open, and later failures, mostly those cancellations,
 * are dropped. */
static void
walk_stop(struct walk *w)
{
	if (!w->failed) {
		w->failed = true;
		save_error(&w->err);
	}
	cb__http_abort(w->sess->http);
}

/* walk_stop, the error naming the account or customer it concerns. */
static void
walk_abort(struct walk *w, enum job_kind kind, size_t index)
{
	const cb_sync_customer *c;

	if (!w->failed && JOB_IS_LIST(kind)) {
		walk_fail("billing account %s", w->snap->accounts[index].id);
	} else if (!w->failed) {
		c = &w->snap->customers[index];
		walk_fail("customer %s (%s)", c->customer_id,
			c->display_name ? c->display_name : "");
	}
	walk_stop(w);
}

static void
job_fail(struct job *j)
{
	walk_abort(j->w, j->kind, j->index);
	job_free(j);
}

/* ---- sending ------------------------------------------------------- */

/*
 * Whether a request prepared now gets the cached token: core/auth
 * refreshes it, an HTTP call, which a completion callback may not make,
 * only within CB__TOKEN_REFRESH_MARGIN of its expiry.
 */
static bool
token_fresh(const struct walk *w)
{
	return cb__credential_now(w->sess->cred) < w->token_until;
}

/* Outside the executor: a token (refreshed if need be), and until when
 * callbacks may prepare requests with it. */
static int
token_lease(struct walk *w)
{
	cb_buf token = CB_BUF_INIT;
	int64_t expires_on = 0;
	int error = cb__credential_get_token(w->sess->cred, w->sess->http,
		w->sess->arm->token_scope, &token, &expires_on);

	cb__auth_buf_wipe(&token);
	if (error < 0)
		return error;
	w->token_until =
		expires_on - CB__TOKEN_REFRESH_MARGIN - WALK_TOKEN_SLACK;
	return 0;
}

static void
pending_push(struct walk *w, struct job *j)
{
	j->next = NULL;
	*w->pending_tail = j;
	w->pending_tail = &j->next;
}

static struct job *
pending_pop(struct walk *w)
{
	struct job *j = w->pending;

	if (j != NULL && (w->pending = j->next) == NULL)
		w->pending_tail = &w->pending;
	return j;
}

/* Hand j's page to the executor; inside it, once the token may need a
 * refresh, to the next round instead.  On failure j is the caller's. */
static int
job_send(struct walk *w, struct job *j)
{
	struct cb_arm_request req = CB_ARM_REQUEST_INIT;
	int error;

	if (w->in_callback && !token_fresh(w)) {
		pending_push(w, j);
		return 0;
	}
	if ((error = cb__arm_request_prepare(
		     &req, w->sess->arm, "GET", j->url, NULL)) == 0)
		error = cb__http_submit(
			w->sess->http, &req.http, &j->resp, job_done, j);
	/* The executor copied the request: wipe the token now. */
	cb__arm_request_dispose(&req);
	if (error == 0 && !JOB_IS_LIST(j->kind))
		w->customer_jobs++;
	return error;
}

/* Start a customer's two calls.  On failure the walk is stopped. */
static int
start_customer(struct walk *w, size_t customer)
{
	for (int k = JOB_POLICY; k <= JOB_BUDGETS; k++) {
		struct job *j;
		int error;

		if ((error = job_new(&j, w, k, customer)) < 0) {
			walk_abort(w, k, customer);
			return error;
		}
		if ((error = job_send(w, j)) < 0) {
			job_fail(j);
			return error;
		}
		w->open[customer]++;
	}
	return 0;
}

/*
 * Start the calls of listed customers while fewer than the window are in
 * the executor (its queue is first in, first out: a list page must not
 * wait behind thousands of them); inside the executor only while the
 * token is fresh, the rest waits for the next round.
 */
static void
feed(struct walk *w)
{
	while (!w->failed && w->next_customer < w->snap->customer_count &&
		w->customer_jobs < w->window &&
		(!w->in_callback || token_fresh(w)))
		if (start_customer(w, w->next_customer++) < 0)
			return;
}

/* ---- answers ------------------------------------------------------- */

/* A page of an account listing: each element into the snapshot. */
static int
list_page(struct job *j, const cb_json *doc)
{
	struct walk *w = j->w;
	const cb_json_node *value;
	int error;

	if (doc == NULL) /* 204: nothing (more) to list */
		return 0;
	if ((error = cb__json_get_array(
		     &value, doc, cb__json_root(doc), "value", 0)) < 0)
		return error;
	w->account = w->snap->accounts[j->index].id;
	for (size_t i = 0; i < cb__json_array_size(value); i++)
		if ((error = list_kinds[j->kind].item(
			     doc, cb__json_array_get(value, i), w)) < 0)
			return error;
	if (j->kind != JOB_CUSTOMERS)
		return 0;
	while (w->cap_open < w->snap->customer_count)
		if ((error = grow((void **)&w->open, &w->cap_open, w->cap_open,
			     sizeof(*w->open))) < 0)
			return error;
	report(w, "customers");
	return 0;
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

/* A customer's policy, or a page of its budgets. */
static int
customer_page(struct job *j, const cb_json *doc)
{
	struct walk *w = j->w;
	cb_sync_customer *c = &w->snap->customers[j->index];
	const cb_json_node *root = cb__json_root(doc), *value;
	int error;

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
	return 0;
}

/* The page after j's into *next (owned), or NULL at the end; checked as
 * cb__arm_pages checks it: the token may go there, no page twice, at
 * most max_pages. */
static int
job_next_link(struct job *j, const cb_json *doc, char **next)
{
	cb_arm *arm = j->w->sess->arm;
	char where[CB_ARM_WHERE_MAX];
	const char *link = NULL;
	cb_buf abs = CB_BUF_INIT;
	int error;

	*next = NULL;
	if (doc == NULL || j->kind == JOB_POLICY)
		return 0;
	error = cb__json_get_string(
		&link, doc, cb__json_root(doc), "nextLink", CB_JSON_OPTIONAL);
	if (error == CB_ENOTFOUND || (error == 0 && *link == '\0'))
		return 0;
	if (error < 0)
		return error;
	cb__arm_where(where, sizeof(where), "GET", j->url);
	if ((error = cb__arm_check_link(&abs, arm, link, "nextLink")) < 0) {
		if (error != CB_ENOMEM)
			cb__error_prefix("%s: ", where);
		goto done;
	}
	/* The first page's link is kept only once there is a second. */
	if ((j->seen_count == 0 && (error = job_seen(j, j->url)) < 0) ||
		(error = job_seen(j, abs.ptr)) < 0)
		goto done;
	if (error == 1)
		error = cb__error_set(CB_EHTTP, CB_ERRCLASS_HTTP,
			"%s: nextLink repeats a page already listed (paging "
			"loop) after %u pages",
			where, j->pages);
	else if (j->pages >= arm->max_pages)
		error = cb__error_set(CB_EHTTP, CB_ERRCLASS_HTTP,
			"%s: still a nextLink after %u pages, the most one "
			"listing may take",
			where, j->pages);
	else if ((*next = cb__buf_detach(&abs)) == NULL)
		error = CB_ENOMEM;
done:
	cb_buf_dispose(&abs);
	return error;
}

/* After a page: fetch the next one, or the next account's listing, or
 * finish.  On failure j is the caller's. */
static int
job_advance(struct job *j, char *next)
{
	struct walk *w = j->w;
	int error;

	if (next != NULL) {
		cb__free(j->url);
		j->url = next;
		return job_send(w, j);
	}
	if (JOB_IS_LIST(j->kind)) {
		size_t a = list_account(w, j->kind, j->index + 1);

		if (a < w->snap->account_count) {
			j->index = a;
			if ((error = job_first_page(j)) < 0)
				return error;
			return job_send(w, j);
		}
	} else if (--w->open[j->index] == 0) {
		w->customers_done++;
		report(w, "customers");
	}
	job_free(j);
	return 0;
}

/* An answer: its page into the snapshot, then what comes next. */
static void
job_take(struct job *j, int http_error, cb_http_response *resp)
{
	cb_json *doc = NULL;
	char *next = NULL;
	int error;

	j->pages++;
	error = cb__arm_result(&doc, "GET", j->url, http_error, resp);
	if (error == 0)
		error = JOB_IS_LIST(j->kind) ? list_page(j, doc)
					     : customer_page(j, doc);
	if (error == 0)
		error = job_next_link(j, doc, &next);
	cb__json_free(doc);
	cb__http_response_dispose(resp);
	/* The next page first: the executor's queue is in order. */
	if (error == 0)
		error = job_advance(j, next);
	if (error < 0)
		job_fail(j);
}

static void
job_done(int http_error, cb_http_response *resp, void *payload)
{
	struct job *j = payload;
	struct walk *w = j->w;

	if (!JOB_IS_LIST(j->kind))
		w->customer_jobs--;
	if (w->failed) { /* canceled by the failure, or after it */
		job_free(j);
		return;
	}
	w->in_callback = true;
	job_take(j, http_error, resp);
	feed(w);
	w->in_callback = false;
}

/* ---- rounds -------------------------------------------------------- */

/* Queue the chain listing kind for every account it applies to. */
static int
chain_new(struct walk *w, enum job_kind kind)
{
	size_t a = list_account(w, kind, 0);
	struct job *j;

	if (a == w->snap->account_count)
		return 0;
	if (job_new(&j, w, kind, a) < 0)
		return walk_fail("billing account %s", w->snap->accounts[a].id);
	pending_push(w, j);
	return 0;
}

/* A round's start, outside the executor: a token, then what waited for
 * it, then customers' calls. */
static int
walk_kick(struct walk *w)
{
	struct job *j;
	int error;

	if ((error = token_lease(w)) < 0)
		return error;
	while ((j = pending_pop(w)) != NULL)
		if ((error = job_send(w, j)) < 0) {
			job_fail(j);
			return error;
		}
	feed(w);
	return 0;
}

/*
 * Run every job.  One round normally; another each time the token came
 * near its refresh inside the executor and work waited for the executor
 * to drain.
 */
static int
walk_jobs(struct walk *w)
{
	int error;

	for (int k = JOB_PROFILES; k <= JOB_SUBSCRIPTIONS; k++)
		if ((error = chain_new(w, k)) < 0)
			return error;
	report(w, "customers");
	do {
		if (walk_kick(w) < 0)
			walk_stop(w);
		error = cb__http_run(w->sess->http);
		if (w->failed)
			return restore_error(&w->err);
		if (error < 0)
			return error;
	} while (w->pending || w->next_customer < w->snap->customer_count);
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
	if ((error = walk_jobs(w)) < 0 || (error = index_customers(w)) < 0 ||
		(error = check_references(w)) < 0)
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
	unsigned parallel;
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
	parallel = options->concurrency > 0
			   ? options->concurrency
			   : (unsigned)cb_config_http(cfg)->max_parallel;
	w.progress = progress;
	w.payload = payload;
	w.pending_tail = &w.pending;
	/* Customers' calls in the executor: a slot's worth queued behind
	 * those in flight keeps every slot busy, and a list page behind
	 * them waits about one answer's time. */
	w.window = 2 * (size_t)parallel;
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
	for (struct job *j; (j = pending_pop(&w)) != NULL;)
		job_free(j);
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
