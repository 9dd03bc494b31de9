/*
 * tenants/invoice.h - the Invoices API (azure-api-notes.md a.1 item 11):
 * a billing account's invoices of a period, read exactly.
 *
 * Money objects {currency, value} are read from the number's literal
 * text (core/json.h), never through a double.  An invoice whose money
 * objects disagree on the currency, or whose dates are not ISO dates, is
 * refused with the path of the offending value.
 */
#ifndef CB_TENANTS_INVOICE_H
#define CB_TENANTS_INVOICE_H

#include "chargeback/reconcile.h"
#include "core/json.h"
#include "tenants/session.h"

/* The Invoices API version we speak. */
#define CB_INVOICE_API_VERSION "2024-04-01"

/* A growing set of invoices, each owned. */
typedef struct {
	cb_invoice *v;
	size_t count;
} cb__invoices;

/* Release every invoice and the array; reset to {0}. */
void cb__invoices_dispose(cb__invoices *set);

/*
 * One element of an invoice list (or a get's body) of billing account
 * @p account into *out (owned strings; cb_invoice_dispose).  Returns 0,
 * CB_EPARSE (message: the document, the path, what is wrong) or
 * CB_ENOMEM; *out is zeroed on failure.
 */
int cb__invoice_parse(cb_invoice *out, const cb_json *doc,
	const cb_json_node *item, const char *account);

/*
 * Append to @p set the invoices of billing account @p account for usage
 * month @p period ("YYYY-MM"): those listed as dated from the period's
 * first day to the last day of the month after it (an invoice is issued
 * after its month closes), whose invoice period starts in the period.
 * Pages are followed (nextLink).  Returns 0, CB_EINVAL (period), or a
 * code of core/arm (the set keeps what was appended before).
 */
int cb__invoice_fetch(cb__invoices *set, cb__session *s, const char *account,
	const char *period);

#endif
