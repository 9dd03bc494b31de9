/*
 * emulator/billing.h - what billing.c, billing_policy.c and
 * billing_invoices.c share: the module state, the api-version flavours
 * and the look-ups that answer ARM's 404 themselves.
 *
 * Error codes for names armsim does not know (azure-api-notes.md has no
 * example of a Billing 404 body, so these are [unverified]): the Billing
 * resource provider answers a missing resource with 404 and a code naming
 * the kind of thing, so armsim says BillingAccountNotFound,
 * BillingProfileNotFound, CustomerNotFound, SubscriptionNotFound,
 * InvoiceNotFound, OperationNotFound.  Customers and policies exist only
 * under a Microsoft Partner Agreement; asking for them on the MCA account
 * is 400 InvalidBillingAccountType, as the RP refuses an operation the
 * agreement type does not support rather than pretending it is empty.
 */
#ifndef CB_EMULATOR_BILLING_H
#define CB_EMULATOR_BILLING_H

#include "emulator/armsim.h"
#include "emulator/partner.h"

/* The api-versions of AS_API_BILLING, oldest first: the body shape
 * depends on which one was asked for. */
typedef enum {
	AS_BV_PREVIEW, /* 2019-10-01-preview: thin items */
	AS_BV_2020,    /* 2020-05-01 */
	AS_BV_2024     /* 2024-04-01: the richest */
} as_bill_ver;

/* An invoice download in progress (an LRO, notes a.1 item 13). */
struct as_bill_op {
	char id[64];           /* "invoiceDownload_{guid}" */
	size_t account;        /* index in the partner's accounts */
	size_t profile;        /* whose invoice */
	unsigned polls;        /* status requests answered so far */
	int64_t not_before_ms; /* Retry-After of the last answer ends */
	int64_t expiry_s;      /* the link's expiry, once complete */
};

/* Most invoice downloads remembered; the oldest is forgotten after that
 * (Azure forgets finished operations too).  A client polls a handful at
 * a time, so 1024 is far beyond any real run. */
#define AS_BILL_MAX_OPS 1024

struct as_billing {
	unsigned char *view_charges; /* per customer: 1 Allowed, 0 not */
	struct as_bill_op *ops;      /* ring of AS_BILL_MAX_OPS */
	size_t nops;                 /* ever started */
	unsigned char link_key[32];  /* signs blob links (HMAC-SHA256) */
	cb_money *sub_month; /* per subscription: the month's ActualCost,
			      * summed on first use; NULL before */
};

as_bill_ver as_billing_version(const as_req *req);

/* The account named by capture i of req, or NULL with a 404 in resp. */
const as_account *as_billing_account(
	as_server *s, const as_req *req, size_t i, as_resp *resp);
/* The same, and a 400 unless it is the Microsoft Partner Agreement one
 * (customers and their policies exist only there). */
const as_account *as_billing_mpa_account(
	as_server *s, const as_req *req, size_t i, as_resp *resp);
/* The profile named by capture i, under a; NULL with a 404. */
const as_profile *as_billing_profile(as_server *s, const as_account *a,
	const as_req *req, size_t i, as_resp *resp);
/* The customer named by capture i, under a (and bp when not NULL);
 * NULL with a 404. */
const as_customer *as_billing_customer(as_server *s, const as_account *a,
	const as_profile *bp, const as_req *req, size_t i, as_resp *resp);

/* "/providers/Microsoft.Billing/billingAccounts/{name}" into out. */
void as_billing_account_id(const as_account *a, char *out, size_t outlen);
/* ".../billingAccounts/{a}/billingProfiles/{bp}" into out. */
void as_billing_profile_id(
	as_server *s, const as_profile *bp, char *out, size_t outlen);

/* {"currency": c, "value": v} with v exact. */
json_t *as_billing_money(const char *currency, cb_money v);

/* Handlers in billing_policy.c and billing_invoices.c; billing.c's
 * route table names them. */
int as_billing_policy_get(as_server *s, as_req *req, as_resp *resp);
int as_billing_policy_put(as_server *s, as_req *req, as_resp *resp);
int as_billing_invoices_list(as_server *s, as_req *req, as_resp *resp);
int as_billing_invoice_get(as_server *s, as_req *req, as_resp *resp);
int as_billing_invoice_download(as_server *s, as_req *req, as_resp *resp);
int as_billing_invoice_operation(as_server *s, as_req *req, as_resp *resp);
int as_billing_invoice_blob(as_server *s, as_req *req, as_resp *resp);

#endif
