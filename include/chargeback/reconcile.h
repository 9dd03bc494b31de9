/*
 * include/chargeback/reconcile.h - `chargeback reconcile`: does what
 * Microsoft invoiced add up to the cost lines we stored?
 *
 * For a period (a usage month), the invoices of each billing account are
 * read from the Invoices API and kept in the store
 * (chargeback.invoice, sql/migrations/006_invoice.sql).  Each invoice is
 * then tied out against the stored ActualCost lines that carry its
 * invoiceId: the sum of their costInBillingCurrency, RoundingAdjustment
 * lines included (that is how Azure makes a profile's lines add up to its
 * rounded invoice), against the invoice's billedAmount -- the charges
 * before Azure credits, prepayment and tax, which is what cost lines
 * price.  Amounts are exact (cb_money, numeric in SQL); the comparison is
 * to the currency's minor unit.
 *
 * The rating engine's own invariants (DESIGN.md, background A.5: every
 * allocation conserves its source, billed - markup = cost per currency,
 * every line attributed once) are checks of the same command; they
 * arrive with the engine and will be reported next to the invoices.
 */
#ifndef CHARGEBACK_RECONCILE_H
#define CHARGEBACK_RECONCILE_H

#include "chargeback/common.h"
#include "chargeback/config.h"
#include "chargeback/money.h"
#include "chargeback/store.h"

CB_BEGIN_DECL

/**
 * One invoice as the Invoices API describes it.  Strings are owned by
 * whoever holds the invoice (cb_invoice_dispose()); optional ones are
 * NULL when the API left them out.  Dates are "YYYY-MM-DD" (the day of
 * Azure's timestamp, which is UTC).
 */
typedef struct {
	char *billing_account_id; /**< the account's name */
	char *invoice_id;         /**< the invoice's name ("G012345678") */
	/** the billing profile's name (last segment of billingProfileId),
	 * as cost lines' billingProfileId holds it; NULL when absent */
	char *billing_profile_id;
	char *billing_profile_name; /**< billingProfileDisplayName */
	char *invoice_date;         /**< invoiceDate */
	char *due_date;             /**< dueDate, or NULL */
	char *period_start;         /**< invoicePeriodStartDate */
	char *period_end;           /**< invoicePeriodEndDate */
	char *currency;             /**< billedAmount's currency */
	char *status;               /**< Due, Paid, PastDue...; or NULL */
	char *document_type;        /**< Invoice, CreditNote...; or NULL */
	/** The charges before credits, prepayment and tax: what the cost
	 * lines of the invoice add up to. */
	cb_money billed_amount;
	cb_money sub_total;     /**< subTotal; zero when absent */
	cb_money tax_amount;    /**< taxAmount; zero when absent */
	cb_money total_amount;  /**< totalAmount; zero when absent */
	cb_money amount_due;    /**< amountDue; zero when absent */
	cb_money credit_amount; /**< creditAmount; zero when absent */
} cb_invoice;

/** Release the strings of @p inv and zero it; NULL is a no-op. */
CB_EXTERN(void) cb_invoice_dispose(cb_invoice *inv);

/**
 * Store invoices: insert or replace each (keyed by billing account and
 * invoice id), stamped with the time they were fetched, all in one
 * transaction.  Nothing is written on failure.
 *
 * @return 0, CB_EINVAL (an invoice without account, id, currency or a
 *         period start), CB_EDB.
 */
CB_EXTERN(int)
cb_store_invoices_write(cb_store *store, const cb_invoice *invoices, size_t n);

/** The tie-out of one invoice. */
typedef enum {
	CB_RECONCILE_MATCHED = 0, /**< lines add up to billed_amount */
	CB_RECONCILE_MISMATCHED,  /**< they do not (see difference) */
	CB_RECONCILE_NO_LINES,    /**< no stored ActualCost line carries it */
} cb_reconcile_status;

/** "matched", "mismatched", "no cost lines loaded"; NULL otherwise. */
CB_EXTERN(const char *) cb_reconcile_status_name(cb_reconcile_status status);

/** One invoice and its lines.  Owned by the result that holds it. */
typedef struct {
	cb_invoice invoice;
	cb_reconcile_status status;
	/** Lines summed: the invoice's lines in its currency, of the one
	 * load used (see scope). */
	uint64_t rows;
	cb_money lines_sum; /**< their costInBillingCurrency, exact */
	/** lines_sum rounded half away from zero to the currency's minor
	 * unit, minus billed_amount: zero when matched, else a whole number
	 * of minor units (NO_LINES: -billed_amount).  A residue below half
	 * a minor unit (lines without Azure's rounding adjustments) is
	 * within the invoice's precision and shows only in lines_sum. */
	cb_money difference;
	/** Lines of that load carrying the invoice id in another billing
	 * currency: never added to lines_sum; any makes it mismatched. */
	uint64_t foreign_rows;
	/** The scope of the committed ActualCost load the lines come from,
	 * or NULL.  When several loads of the period carry the invoice (an
	 * account's month and an invoice's own load), the latest one is
	 * used: loads overlap, and adding them would count lines twice. */
	char *scope;
	uint32_t loads; /**< committed loads carrying the invoice */
} cb_reconcile_invoice;

/** What a reconciliation found, invoices ordered by billing account,
 * billing profile, invoice id. */
typedef struct {
	size_t count;
	cb_reconcile_invoice *invoices; /**< owned */
	size_t matched, mismatched, no_lines;
	/** Billing accounts whose invoices were fetched (0 with
	 * no_fetch). */
	size_t accounts;
} cb_reconcile_result;

#define CB_RECONCILE_RESULT_INIT \
	{                        \
		0                \
	}

/** Release what @p result owns and zero it; NULL is a no-op. */
CB_EXTERN(void) cb_reconcile_result_dispose(cb_reconcile_result *result);

#define CB_RECONCILE_OPTIONS_VERSION 1

/** What to reconcile.  Start from CB_RECONCILE_OPTIONS_INIT. */
typedef struct {
	int version;        /**< CB_RECONCILE_OPTIONS_VERSION */
	const char *period; /**< "YYYY-MM", the usage month (required) */
	/** Use the invoices stored by an earlier run; no call to Azure. */
	bool no_fetch;
} cb_reconcile_options;

#define CB_RECONCILE_OPTIONS_INIT                         \
	{                                                 \
		CB_RECONCILE_OPTIONS_VERSION, NULL, false \
	}

/**
 * The stored invoices of @p period (those whose invoice period starts in
 * it), each with the sums of its stored ActualCost lines, status not yet
 * decided (CB_RECONCILE_MATCHED), to @p cb (borrowed for the call;
 * non-zero stops and is returned).  Exact sums (numeric); one pass over
 * the period's lines.
 */
CB_EXTERN(int)
cb_store_invoice_lines(cb_store *store, const char *period,
	int (*cb)(const cb_reconcile_invoice *inv, void *payload),
	void *payload);

/**
 * Reconcile @p opts->period: fetch the invoices of the period of every
 * billing account of @p config (billing_accounts, else those sync
 * recorded) -- the invoices dated from the period's first day to the end
 * of the month after it, whose invoice period starts in the period --
 * store them, and tie each out against the stored lines.
 *
 * @return 0 when the reconciliation ran, whatever it found (see
 *         @p result: a mismatch is a finding, not an error);
 *         CB_EINVAL (bad options), CB_ENOTFOUND (no billing account),
 *         or the code of the first failed call to Azure or the store
 *         (nothing is stored then).
 */
CB_EXTERN(int)
cb_reconcile_run(cb_store *store, const cb_config *config,
	const cb_reconcile_options *opts, cb_reconcile_result *result);

CB_END_DECL

#endif
