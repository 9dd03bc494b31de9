/*
 * tenants/invoice.c - invoices from the Invoices API, and the tie-out of
 * each against the stored cost lines (include/chargeback/reconcile.h).
 *
 * Reading: GET .../billingAccounts/{ba}/invoices?periodStartDate=&
 * periodEndDate= (azure-api-notes.md a.1 item 11), every page.  The list
 * filters on the day an invoice is dated, which for a month's invoice is
 * early in the next month, so the window asked for runs from the
 * period's first day to the end of the month after it, and only the
 * invoices whose invoice period starts in the period are kept.
 *
 * Tying out: the store sums, per invoice, the period's committed
 * ActualCost lines carrying its id (sql/store_invoice.c); here the sum,
 * rounded half away from zero to the currency's minor unit, is compared
 * with billedAmount.  Azure prices an invoice as each meter's month total
 * rounded to the minor unit, summed, and puts the difference on
 * RoundingAdjustment lines at billing account and profile scope, so the
 * lines of a whole profile add up exactly; the rounding only absorbs a
 * residue below half a minor unit (lines without those adjustments).
 *
 * The rating engine's invariants (reconcile.h) will be checked next to
 * this, from allocation/, once the engine exists.
 */
#include "core/common.h"

#include "chargeback/ingest.h"
#include "core/buf.h"
#include "core/calendar.h"
#include "tenants/invoice.h"

#include <stdio.h>

#define PROVIDER "/providers/Microsoft.Billing/billingAccounts/"

void
cb_invoice_dispose(cb_invoice *inv)
{
	if (inv == NULL)
		return;
	cb__free(inv->billing_account_id);
	cb__free(inv->invoice_id);
	cb__free(inv->billing_profile_id);
	cb__free(inv->billing_profile_name);
	cb__free(inv->invoice_date);
	cb__free(inv->due_date);
	cb__free(inv->period_start);
	cb__free(inv->period_end);
	cb__free(inv->currency);
	cb__free(inv->status);
	cb__free(inv->document_type);
	memset(inv, 0, sizeof(*inv));
}

void
cb__invoices_dispose(cb__invoices *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->count; i++)
		cb_invoice_dispose(&set->v[i]);
	cb__free(set->v);
	memset(set, 0, sizeof(*set));
}

/* ------------------------------------------------------------------ */
/* Parsing */

/* *out = a copy of s (NULL stays NULL); false when out of memory. */
static bool
dup_opt(char **out, const char *s)
{
	*out = s ? cb__strdup(s) : NULL;
	return s == NULL || *out != NULL;
}

/* An optional string: *out stays NULL when absent. */
static int
opt_string(const char **out, const cb_json *doc, const cb_json_node *at,
	const char *path)
{
	int error = cb__json_get_string(out, doc, at, path, CB_JSON_OPTIONAL);

	return error == CB_ENOTFOUND ? 0 : error;
}

/* The "YYYY-MM-DD" day of an ISO timestamp ("2026-11-05T00:00:00Z", or
 * a plain date) at path, into *out (owned); absent: NULL unless
 * required. */
static int
get_day(char **out, const cb_json *doc, const cb_json_node *at,
	const char *path, bool required)
{
	const char *t = NULL;
	int y, m, d, n = 0, error;

	error = cb__json_get_string(
		&t, doc, at, path, required ? 0 : CB_JSON_OPTIONAL);
	if (error == CB_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	if (sscanf(t, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
		t[4] != '-' || t[7] != '-' || (t[10] != '\0' && t[10] != 'T') ||
		y < 1970 || m < 1 || m > 12 || d < 1 ||
		d > cb__days_in_month(y, m))
		return cb__json_error(doc, at, path, "not an ISO date");
	if ((*out = cb__malloc(11)) == NULL)
		return CB_ENOMEM;
	snprintf(*out, 11, "%04d-%02d-%02d", y, m, d);
	return 0;
}

/* The money object at path: its value exactly, its currency the
 * invoice's (*currency, set by the first one read). */
static int
get_money(cb_money *out, const cb_json *doc, const cb_json_node *at,
	const char *path, bool required, const char **currency)
{
	const cb_json_node *obj;
	const char *cur;
	int error;

	error = cb__json_get_object(
		&obj, doc, at, path, required ? 0 : CB_JSON_OPTIONAL);
	if (error == CB_ENOTFOUND)
		return 0;
	if (error < 0 ||
		(error = cb__json_get_string(&cur, doc, obj, "currency", 0)) <
			0 ||
		(error = cb__json_get_money(out, doc, obj, "value", 0)) < 0)
		return error;
	if (strlen(cur) != 3 || strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
		return cb__json_error(
			doc, obj, "currency", "not an ISO 4217 code");
	if (*currency == NULL)
		*currency = cur;
	else if (strcmp(*currency, cur) != 0)
		return cb__json_error(doc, obj, "currency",
			"%s, where the invoice is in %s", cur, *currency);
	return 0;
}

int
cb__invoice_parse(cb_invoice *out, const cb_json *doc, const cb_json_node *item,
	const char *account)
{
	const char *name, *profile = NULL, *profile_name = NULL;
	const char *status = NULL, *doc_type = NULL, *currency = NULL;
	const cb_json_node *p;
	cb_invoice inv;
	int error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(doc);
	CB_ASSERT_ARG(item);
	CB_ASSERT_ARG(account);
	memset(&inv, 0, sizeof(inv));
	memset(out, 0, sizeof(*out));
	if ((error = cb__json_get_string(&name, doc, item, "name", 0)) < 0 ||
		(error = cb__json_get_object(&p, doc, item, "properties", 0)) <
			0 ||
		(error = get_money(&inv.billed_amount, doc, p, "billedAmount",
			 true, &currency)) < 0 ||
		(error = get_money(&inv.sub_total, doc, p, "subTotal", false,
			 &currency)) < 0 ||
		(error = get_money(&inv.tax_amount, doc, p, "taxAmount", false,
			 &currency)) < 0 ||
		(error = get_money(&inv.total_amount, doc, p, "totalAmount",
			 false, &currency)) < 0 ||
		(error = get_money(&inv.amount_due, doc, p, "amountDue", false,
			 &currency)) < 0 ||
		(error = get_money(&inv.credit_amount, doc, p, "creditAmount",
			 false, &currency)) < 0 ||
		(error = opt_string(&profile, doc, p, "billingProfileId")) <
			0 ||
		(error = opt_string(&profile_name, doc, p,
			 "billingProfileDisplayName")) < 0 ||
		(error = opt_string(&status, doc, p, "status")) < 0 ||
		(error = opt_string(&doc_type, doc, p, "documentType")) < 0)
		goto done;
	if (name[0] == '\0') {
		error = cb__json_error(doc, item, "name", "empty");
		goto done;
	}
	if ((error = get_day(&inv.period_start, doc, p,
		     "invoicePeriodStartDate", true)) < 0 ||
		(error = get_day(&inv.period_end, doc, p,
			 "invoicePeriodEndDate", false)) < 0 ||
		(error = get_day(&inv.invoice_date, doc, p, "invoiceDate",
			 false)) < 0 ||
		(error = get_day(&inv.due_date, doc, p, "dueDate", false)) < 0)
		goto done;
	if (inv.period_end && strcmp(inv.period_end, inv.period_start) < 0) {
		error = cb__json_error(doc, p, "invoicePeriodEndDate",
			"before invoicePeriodStartDate");
		goto done;
	}
	/* The profile's name: the last segment of its id. */
	if (profile && strrchr(profile, '/'))
		profile = strrchr(profile, '/') + 1;
	if (profile && profile[0] == '\0')
		profile = NULL;
	error = 0;
	if (!dup_opt(&inv.billing_account_id, account) ||
		!dup_opt(&inv.invoice_id, name) ||
		!dup_opt(&inv.billing_profile_id, profile) ||
		!dup_opt(&inv.billing_profile_name, profile_name) ||
		!dup_opt(&inv.currency, currency) ||
		!dup_opt(&inv.status, status) ||
		!dup_opt(&inv.document_type, doc_type))
		error = cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
			"out of memory reading an invoice");
done:
	if (error < 0) {
		cb_invoice_dispose(&inv);
		return error;
	}
	*out = inv;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Fetching */

struct fetch {
	cb__invoices *set;
	const char *account;
	char first[24], next[24]; /* the period: [first, next) */
};

static int
keep_invoice(const cb_json *page, const cb_json_node *item, void *payload)
{
	struct fetch *f = payload;
	cb_invoice inv, *v;
	int error;

	if ((error = cb__invoice_parse(&inv, page, item, f->account)) < 0)
		return error;
	if (strcmp(inv.period_start, f->first) < 0 ||
		strcmp(inv.period_start, f->next) >= 0) {
		cb_invoice_dispose(&inv);
		return 0;
	}
	v = cb__reallocarray(f->set->v, f->set->count + 1, sizeof(*v));
	if (v == NULL) {
		cb_invoice_dispose(&inv);
		return CB_ENOMEM;
	}
	f->set->v = v;
	v[f->set->count++] = inv;
	return 0;
}

int
cb__invoice_fetch(cb__invoices *set, cb__session *s, const char *account,
	const char *period)
{
	struct fetch f = { set, account, { 0 }, { 0 } };
	cb_buf path = CB_BUF_INIT;
	int y, m, ny, nm, error;

	CB_ASSERT_ARG(set);
	CB_ASSERT_ARG(s);
	CB_ASSERT_ARG(account);
	if (period == NULL || !cb__month_parse(period, &y, &m))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"invoices: period '%.16s' is not YYYY-MM",
			period ? period : "");
	ny = y + m / 12;
	nm = m % 12 + 1;
	snprintf(f.first, sizeof(f.first), "%04d-%02d-01", y, m);
	snprintf(f.next, sizeof(f.next), "%04d-%02d-01", ny, nm);
	if (cb__buf_printf(&path,
		    PROVIDER "%s/invoices?periodStartDate=%s"
			     "&periodEndDate=%04d-%02d-%02d",
		    account, f.first, ny, nm, cb__days_in_month(ny, nm)) < 0)
		return CB_ENOMEM;
	error = cb__arm_list(
		s->arm, path.ptr, CB_INVOICE_API_VERSION, keep_invoice, &f);
	cb_buf_dispose(&path);
	return error;
}

/* ------------------------------------------------------------------ */
/* Reconciling */

const char *
cb_reconcile_status_name(cb_reconcile_status status)
{
	switch (status) {
	case CB_RECONCILE_MATCHED:
		return "matched";
	case CB_RECONCILE_MISMATCHED:
		return "mismatched";
	case CB_RECONCILE_NO_LINES:
		return "no cost lines loaded";
	}
	return NULL;
}

static void
reconcile_invoice_dispose(cb_reconcile_invoice *ri)
{
	cb_invoice_dispose(&ri->invoice);
	cb__free(ri->scope);
	ri->scope = NULL;
}

void
cb_reconcile_result_dispose(cb_reconcile_result *result)
{
	if (result == NULL)
		return;
	for (size_t i = 0; i < result->count; i++)
		reconcile_invoice_dispose(&result->invoices[i]);
	cb__free(result->invoices);
	memset(result, 0, sizeof(*result));
}

/* Decide the status and the difference of ri (amounts exact). */
static int
decide(cb_reconcile_invoice *ri)
{
	const cb_invoice *inv = &ri->invoice;
	cb_money rounded;
	unsigned places;
	int error;

	if ((error = cb_currency_minor_units(&places, inv->currency)) < 0)
		return cb__error_set(error, CB_ERRCLASS_INVALID,
			"invoice %s of %s: unknown currency '%s'",
			inv->invoice_id, inv->billing_account_id,
			inv->currency);
	if ((error = cb_money_round(&rounded, ri->lines_sum, places)) < 0 ||
		(error = cb_money_sub(
			 &ri->difference, rounded, inv->billed_amount)) < 0)
		return cb__error_set(error, CB_ERRCLASS_INVALID,
			"invoice %s of %s: the lines' sum is out of range",
			inv->invoice_id, inv->billing_account_id);
	if (ri->loads == 0)
		ri->status = CB_RECONCILE_NO_LINES;
	else if (cb_money_is_zero(ri->difference) && ri->foreign_rows == 0)
		ri->status = CB_RECONCILE_MATCHED;
	else
		ri->status = CB_RECONCILE_MISMATCHED;
	return 0;
}

/* A copy of in (owned strings), its status decided, appended to the
 * result. */
static int
take_line(const cb_reconcile_invoice *in, void *payload)
{
	cb_reconcile_result *res = payload;
	const cb_invoice *src = &in->invoice;
	cb_reconcile_invoice ri, *v;
	cb_invoice *d = &ri.invoice;
	int error;

	memset(&ri, 0, sizeof(ri));
	ri.rows = in->rows;
	ri.lines_sum = in->lines_sum;
	ri.foreign_rows = in->foreign_rows;
	ri.loads = in->loads;
	d->billed_amount = src->billed_amount;
	d->sub_total = src->sub_total;
	d->tax_amount = src->tax_amount;
	d->total_amount = src->total_amount;
	d->amount_due = src->amount_due;
	d->credit_amount = src->credit_amount;
	if (!dup_opt(&d->billing_account_id, src->billing_account_id) ||
		!dup_opt(&d->invoice_id, src->invoice_id) ||
		!dup_opt(&d->billing_profile_id, src->billing_profile_id) ||
		!dup_opt(&d->billing_profile_name, src->billing_profile_name) ||
		!dup_opt(&d->invoice_date, src->invoice_date) ||
		!dup_opt(&d->due_date, src->due_date) ||
		!dup_opt(&d->period_start, src->period_start) ||
		!dup_opt(&d->period_end, src->period_end) ||
		!dup_opt(&d->currency, src->currency) ||
		!dup_opt(&d->status, src->status) ||
		!dup_opt(&d->document_type, src->document_type) ||
		!dup_opt(&ri.scope, in->scope)) {
		error = cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
			"out of memory reconciling invoices");
		goto fail;
	}
	if ((error = decide(&ri)) < 0)
		goto fail;
	v = cb__reallocarray(res->invoices, res->count + 1, sizeof(*v));
	if (v == NULL) {
		error = CB_ENOMEM;
		goto fail;
	}
	res->invoices = v;
	v[res->count++] = ri;
	switch (ri.status) {
	case CB_RECONCILE_MATCHED:
		res->matched++;
		break;
	case CB_RECONCILE_MISMATCHED:
		res->mismatched++;
		break;
	case CB_RECONCILE_NO_LINES:
		res->no_lines++;
		break;
	}
	return 0;
fail:
	reconcile_invoice_dispose(&ri);
	return error;
}

static int
add_account(const char *id, void *payload)
{
	cb_buf *accounts = payload;

	return cb__buf_put(accounts, id, strlen(id) + 1);
}

/* The billing accounts, NUL-separated: the configuration's, else those
 * sync recorded. */
static int
accounts_of(cb_buf *out, cb_store *store, const cb_config *cfg)
{
	size_t n = cb_config_billing_account_count(cfg);
	int error = 0;

	for (size_t i = 0; error == 0 && i < n; i++)
		error = add_account(cb_config_billing_account(cfg, i), out);
	if (error == 0 && n == 0)
		error = cb_store_billing_accounts(store, add_account, out);
	if (error == 0 && out->size == 0)
		error = cb__error_set(CB_ENOTFOUND, CB_ERRCLASS_CONFIG,
			"no billing account to fetch invoices of: name them "
			"in billing_accounts, or run 'chargeback sync' first");
	return error;
}

static int
fetch_all(cb_reconcile_result *result, cb_store *store, const cb_config *cfg,
	const char *period)
{
	cb_buf accounts = CB_BUF_INIT;
	cb__invoices set = { 0 };
	cb__session *s = NULL;
	const char *end;
	int error;

	if ((error = accounts_of(&accounts, store, cfg)) < 0 ||
		(error = cb__session_open(&s, cfg)) < 0)
		goto done;
	end = accounts.ptr + accounts.size;
	for (const char *a = accounts.ptr; error == 0 && a < end;
		a += strlen(a) + 1) {
		error = cb__invoice_fetch(&set, s, a, period);
		result->accounts++;
	}
	if (error == 0)
		error = cb_store_invoices_write(store, set.v, set.count);
done:
	cb__session_close(s);
	cb__invoices_dispose(&set);
	cb_buf_dispose(&accounts);
	return error;
}

int
cb_reconcile_run(cb_store *store, const cb_config *config,
	const cb_reconcile_options *opts, cb_reconcile_result *result)
{
	int y, m, error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(config);
	CB_ASSERT_ARG(opts);
	CB_ASSERT_ARG(result);
	memset(result, 0, sizeof(*result));
	if (opts->version != CB_RECONCILE_OPTIONS_VERSION)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"reconcile: options version %d, expected %d",
			opts->version, CB_RECONCILE_OPTIONS_VERSION);
	if (opts->period == NULL || !cb__month_parse(opts->period, &y, &m))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"reconcile: period '%.16s' is not YYYY-MM",
			opts->period ? opts->period : "");
	if (!opts->no_fetch &&
		(error = fetch_all(result, store, config, opts->period)) < 0)
		goto fail;
	/* Engine invariants (allocation/) will be checked here too. */
	if ((error = cb_store_invoice_lines(
		     store, opts->period, take_line, result)) < 0)
		goto fail;
	return 0;
fail:
	cb_reconcile_result_dispose(result);
	return error;
}
