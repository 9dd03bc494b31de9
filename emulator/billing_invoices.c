/*
 * emulator/billing_invoices.c - invoices (azure-api-notes.md a.1 items
 * 11-13): list by billing account for a period, get, and the download
 * long-running operation that ends with a signed link to a PDF, served
 * here too.
 *
 * The partner has one month of cost lines, so each billing profile has
 * one invoice: the month's, with its total from as_costgen_invoice()
 * (costgen.h), which equals the profile's ActualCost lines.  It is dated
 * the profile's invoiceDay (5) of the next month and due a month later.
 * armsim has no clock to age invoices by, so the invoices of the first,
 * third... profile of an account are Paid (paid on the 15th) and the
 * others Due, and clients see both states.  No tax, credit or
 * prepayment: billedAmount = subTotal = totalAmount = the cost lines'
 * total, so reconciliation against the lines is exact.
 *
 * Error codes, [unverified] (no example shows these failures): a missing
 * periodStartDate/periodEndDate is 400 MissingRequiredParameter, a
 * malformed or reversed one 400 InvalidParameter; an unknown invoice,
 * document or operation 404 InvoiceNotFound, DocumentNotFound,
 * OperationNotFound.  The blob endpoint answers as Azure Storage does,
 * in XML: 403 AuthenticationFailed for a bad or expired signature, 404
 * BlobNotFound.
 */
#define _DEFAULT_SOURCE 1 /* timegm */

#include "core/common.h"

#include "core/buf.h"
#include "emulator/billing.h"
#include "emulator/calendar.h"
#include "emulator/sas.h"
#include "emulator/costgen.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PROVIDER "/providers/Microsoft.Billing/billingAccounts/"

/* How long a download link stays valid, as Azure's invoice SAS links. */
#define LINK_LIFETIME_S 3600

/* One billing profile's invoice for the partner's month. */
typedef struct {
	const as_profile *bp;
	as_invoice inv;
	int y, m;   /* the invoiced month */
	int iy, im; /* the month it is dated and paid in */
	int dy, dm; /* the month it is due in */
	bool paid;
} bill_invoice;

static int
invoice_load(as_server *s, size_t profile, bill_invoice *out)
{
	const as_partner *p = s->partner;
	size_t nth = 0;

	memset(out, 0, sizeof(*out));
	out->bp = &p->profiles[profile];
	if (as_costgen_invoice(p, profile, &out->inv) != 0)
		return -1;
	for (size_t i = 0; i < profile; i++)
		if (p->profiles[i].account == out->bp->account)
			nth++;
	out->paid = nth % 2 == 0;
	out->y = p->year;
	out->m = p->month;
	out->iy = out->y + out->m / 12;
	out->im = out->m % 12 + 1;
	out->dy = out->iy + out->im / 12;
	out->dm = out->im % 12 + 1;
	return 0;
}

static json_t *
iso_day(int y, int m, int d)
{
	char t[32];

	snprintf(t, sizeof(t), "%04d-%02d-%02dT00:00:00Z", y, m, d);
	return json_string(t);
}

/* The invoice's one document: the PDF, named as the invoice. */
static json_t *
documents_json(as_server *s, const bill_invoice *bi)
{
	char base[128], url[512];

	/* Azure's document url needs credentials of its own; armsim's
	 * is the blob path without a signature, which is refused. */
	as_server_base(s, base, sizeof(base));
	snprintf(url, sizeof(url), "%s/blobs/invoices/%s.pdf", base,
		bi->inv.name);
	return json_pack("[{s:s,s:s,s:s,s:s}]", "kind", "Invoice", "name",
		bi->inv.name, "url", url, "source", "DRS");
}

static json_t *
payments_json(const bill_invoice *bi)
{
	json_t *pay = json_array();

	if (bi->paid)
		json_array_append_new(
			pay, json_pack("{s:o,s:s,s:o,s:s,s:s}", "date",
				     iso_day(bi->iy, bi->im, 15), "paymentType",
				     "completed", "amount",
				     as_billing_money(
					     bi->inv.currency, bi->inv.total),
				     "paymentMethodFamily", "CheckWire",
				     "paymentMethodType", "wire"));
	return pay;
}

static json_t *
invoice_json(as_server *s, const bill_invoice *bi)
{
	const as_partner *p = s->partner;
	const char *cur = bi->inv.currency;
	cb_money zero = CB_MONEY_ZERO, total = bi->inv.total;
	char id[512], bpid[512];
	json_t *props;

	snprintf(id, sizeof(id), PROVIDER "%s/invoices/%s",
		p->accounts[bi->bp->account].name, bi->inv.name);
	as_billing_profile_id(s, bi->bp, bpid, sizeof(bpid));
	props = json_pack("{s:o,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		"dueDate", iso_day(bi->dy, bi->dm, 5), "invoiceDate",
		iso_day(bi->iy, bi->im, 5), "status", bi->paid ? "Paid" : "Due",
		"amountDue", as_billing_money(cur, bi->paid ? zero : total),
		"billedAmount", as_billing_money(cur, total),
		"azurePrepaymentApplied", as_billing_money(cur, zero),
		"creditAmount", as_billing_money(cur, zero),
		"freeAzureCreditApplied", as_billing_money(cur, zero),
		"subTotal", as_billing_money(cur, total), "taxAmount",
		as_billing_money(cur, zero), "totalAmount",
		as_billing_money(cur, total));
	json_object_set_new(
		props, "invoicePeriodStartDate", iso_day(bi->y, bi->m, 1));
	json_object_set_new(props, "invoicePeriodEndDate",
		iso_day(bi->y, bi->m, as_days_in_month(bi->y, bi->m)));
	json_object_set_new(props, "isMonthlyInvoice", json_true());
	json_object_set_new(props, "billingProfileId", json_string(bpid));
	json_object_set_new(props, "billingProfileDisplayName",
		json_string(bi->bp->display));
	json_object_set_new(props, "purchaseOrderNumber", json_string(""));
	json_object_set_new(props, "documentType", json_string("Invoice"));
	json_object_set_new(props, "documents", documents_json(s, bi));
	json_object_set_new(props, "payments", payments_json(bi));
	return json_pack("{s:s,s:s,s:s,s:o}", "id", id, "name", bi->inv.name,
		"type", "Microsoft.Billing/billingAccounts/invoices",
		"properties", props);
}

/* The invoice of account a named name: 1 and *out, 0 when there is
 * none, -1 when the generator failed. */
static int
invoice_find(
	as_server *s, const as_account *a, const char *name, bill_invoice *out)
{
	const as_partner *p = s->partner;

	for (size_t i = 0; i < p->nprofiles; i++) {
		if (&p->accounts[p->profiles[i].account] != a)
			continue;
		if (invoice_load(s, i, out) != 0)
			return -1;
		if (strcasecmp(out->inv.name, name) == 0)
			return 1;
	}
	return 0;
}

/* The account and invoice captures 0 and 1 name; 0, or -1 with the
 * error in resp. */
static int
invoice_from_req(as_server *s, const as_req *req, as_resp *resp,
	const as_account **a, bill_invoice *bi)
{
	int rc;

	if ((*a = as_billing_account(s, req, 0, resp)) == NULL)
		return -1;
	rc = invoice_find(s, *a, req->cap[1], bi);
	if (rc < 0) {
		as_resp_arm_error(resp, 500, "InternalServerError",
			"armsim could not compute the invoice.");
		return -1;
	}
	if (rc == 0) {
		as_resp_arm_error(resp, 404, "InvoiceNotFound",
			"Invoice '%.100s' was not found in billing account "
			"'%.200s'.",
			req->cap[1], (*a)->name);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* List and get */

/* A "yyyy-mm-dd" query parameter as yyyymmdd; -1 with a 400. */
static long
period_param(const as_req *req, const char *name, as_resp *resp)
{
	char v[32];
	int y, m, d, n = 0;

	if (as_req_query(req, name, v, sizeof(v)) != 0) {
		as_resp_arm_error(resp, 400, "MissingRequiredParameter",
			"The query parameter '%s' is required.", name);
		return -1;
	}
	if (strlen(v) != 10 ||
		sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
		v[4] != '-' || v[7] != '-' || y < 1900 || m < 1 || m > 12 ||
		d < 1 || d > as_days_in_month(y, m)) {
		as_resp_arm_error(resp, 400, "InvalidParameter",
			"The query parameter '%s' value '%.32s' is not a "
			"date (yyyy-MM-dd).",
			name, v);
		return -1;
	}
	return (long)y * 10000 + m * 100 + d;
}

/* Invoices dated inside [periodStartDate, periodEndDate], both required
 * (format: date, as the examples send; the spec text's "MM-DD-YYYY" is
 * wrong, notes a.1 item 11). */
int
as_billing_invoices_list(as_server *s, as_req *req, as_resp *resp)
{
	const as_partner *p = s->partner;
	const as_account *a = as_billing_account(s, req, 0, resp);
	long from, to;
	json_t *items;

	if (a == NULL ||
		(from = period_param(req, "periodStartDate", resp)) < 0 ||
		(to = period_param(req, "periodEndDate", resp)) < 0)
		return 0;
	if (to < from) {
		as_resp_arm_error(resp, 400, "InvalidParameter",
			"periodEndDate must not be before periodStartDate.");
		return 0;
	}
	items = json_array();
	for (size_t i = 0; i < p->nprofiles; i++) {
		bill_invoice bi;
		long dated;

		if (&p->accounts[p->profiles[i].account] != a)
			continue;
		if (invoice_load(s, i, &bi) != 0) {
			json_decref(items);
			return -1;
		}
		dated = (long)bi.iy * 10000 + bi.im * 100 + 5;
		if (dated >= from && dated <= to)
			json_array_append_new(items, invoice_json(s, &bi));
	}
	as_resp_page(s, req, resp, items);
	return 0;
}

int
as_billing_invoice_get(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a;
	bill_invoice bi;

	if (invoice_from_req(s, req, resp, &a, &bi) == 0)
		as_resp_json(resp, 200, invoice_json(s, &bi));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Download: 202 + Location + Retry-After, polled until 200 {url} */

static struct as_bill_op *
op_find(as_server *s, const char *id)
{
	struct as_billing *b = s->billing;
	size_t n = b->nops < AS_BILL_MAX_OPS ? b->nops : AS_BILL_MAX_OPS;

	for (size_t i = 0; i < n; i++)
		if (strcasecmp(b->ops[i].id, id) == 0)
			return &b->ops[i];
	return NULL;
}

/* 202 with the status URL and Retry-After; the next poll is due then. */
static void
op_accepted(as_server *s, const as_req *req, as_resp *resp,
	struct as_bill_op *op, const char *invoice)
{
	char base[128];

	as_server_base(s, base, sizeof(base));
	resp->status = 202;
	as_resp_header(resp, "Location",
		"%s" PROVIDER "%s/invoices/%s/operationResults/%s"
		"?api-version=%s",
		base, s->partner->accounts[op->account].name, invoice, op->id,
		req->api_version);
	as_resp_header(resp, "Retry-After", "%u", s->opt.retry_after_s);
	op->not_before_ms = req->now_ms + (int64_t)s->opt.retry_after_s * 1000;
}

/* ?documentName= (or the 2024-04-01 example's downloadToken) must name
 * the invoice's one document when given. */
static int
document_check(const as_req *req, const bill_invoice *bi, as_resp *resp)
{
	char doc[128];

	if (as_req_query(req, "documentName", doc, sizeof(doc)) != 0 &&
		as_req_query(req, "downloadToken", doc, sizeof(doc)) != 0)
		return 0;
	if (strcasecmp(doc, bi->inv.name) == 0)
		return 0;
	as_resp_arm_error(resp, 404, "DocumentNotFound",
		"Document '%.100s' was not found for invoice '%s'.", doc,
		bi->inv.name);
	return -1;
}

int
as_billing_invoice_download(as_server *s, as_req *req, as_resp *resp)
{
	struct as_billing *b = s->billing;
	const as_account *a;
	bill_invoice bi;
	struct as_bill_op *op;
	uint64_t st;
	char guid[AS_GUID_LEN + 1];

	if (invoice_from_req(s, req, resp, &a, &bi) != 0 ||
		document_check(req, &bi, resp) != 0)
		return 0;
	/* Operation ids come from the seed and the count, so a run's
	 * Location headers are the same every time. */
	st = s->partner->seed ^ (0x1d0c5ull << 32) ^ (uint64_t)b->nops;
	as_rand_guid(&st, guid);
	op = &b->ops[b->nops++ % AS_BILL_MAX_OPS];
	memset(op, 0, sizeof(*op));
	snprintf(op->id, sizeof(op->id), "invoiceDownload_%s", guid);
	op->account = AS_INDEX(s->partner, accounts, a);
	op->profile = AS_INDEX(s->partner, profiles, bi.bp);
	op_accepted(s, req, resp, op, bi.inv.name);
	return 0;
}

/* The signature of a blob link (sas.h), in hex. */
static void
link_sig(as_server *s, const char *file, const char *se, char out[65])
{
	unsigned char mac[AS_SAS_MAC_LEN];

	out[0] = '\0';
	if (as_sas_mac(s->billing->link_key, sizeof(s->billing->link_key), file,
		    se, mac) != 0)
		return;
	for (size_t i = 0; i < sizeof(mac); i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static void
iso_time(int64_t epoch_s, char *out, size_t outlen)
{
	time_t t = (time_t)epoch_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The final answer: a link valid for LINK_LIFETIME_S from when the
 * operation completed.  This is the one wall-clock value in Billing's
 * bodies: Azure's expiryTime is real time, and the blob endpoint
 * refuses the link once it has passed. */
static void
op_done(as_server *s, const as_req *req, as_resp *resp, struct as_bill_op *op,
	const char *invoice)
{
	char base[128], file[64], se[32], sig[65], url[512];

	if (op->expiry_s == 0)
		op->expiry_s = req->now_ms / 1000 + LINK_LIFETIME_S;
	as_server_base(s, base, sizeof(base));
	snprintf(file, sizeof(file), "%s.pdf", invoice);
	iso_time(op->expiry_s, se, sizeof(se));
	link_sig(s, file, se, sig);
	snprintf(url, sizeof(url),
		"%s/blobs/invoices/%s?sv=2019-02-02&sr=b&sp=r&se=%s&sig=%s",
		base, file, se, sig);
	as_resp_json(resp, 200,
		json_pack("{s:s,s:s}", "url", url, "expiryTime", se));
}

int
as_billing_invoice_operation(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a;
	bill_invoice bi;
	struct as_bill_op *op;

	if (invoice_from_req(s, req, resp, &a, &bi) != 0)
		return 0;
	op = op_find(s, req->cap[2]);
	if (op == NULL || op->account != AS_INDEX(s->partner, accounts, a) ||
		op->profile != AS_INDEX(s->partner, profiles, bi.bp)) {
		as_resp_arm_error(resp, 404, "OperationNotFound",
			"Operation '%.100s' was not found.", req->cap[2]);
		return 0;
	}
	if (req->now_ms < op->not_before_ms)
		as_violation(s, req, "retry-before-retry-after",
			"polled %s %lld ms before its Retry-After ended",
			op->id, (long long)(op->not_before_ms - req->now_ms));
	if (++op->polls <= s->opt.lro_polls)
		op_accepted(s, req, resp, op, bi.inv.name);
	else
		op_done(s, req, resp, op, bi.inv.name);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The PDF behind the link */

static void
storage_error(as_resp *resp, int status, const char *code, const char *msg)
{
	cb__buf_clear(&resp->body);
	cb__buf_printf(&resp->body,
		"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s"
		"</Code><Message>%s</Message></Error>",
		code, msg);
	resp->status = status;
	as_resp_header(resp, "Content-Type", "application/xml");
	as_resp_header(resp, "x-ms-error-code", "%s", code);
}

/* "yyyy-mm-ddThh:mm:ssZ" as epoch seconds, or -1. */
static int64_t
parse_iso(const char *t)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
		    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
		    &n) != 6 ||
		n != (int)strlen(t))
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

/* The invoice whose PDF is file ("G0....pdf"), in any account. */
static int
blob_invoice(as_server *s, const char *file, bill_invoice *out)
{
	const as_partner *p = s->partner;
	size_t len = strlen(file);

	if (len < 5 || strcasecmp(file + len - 4, ".pdf") != 0)
		return 0;
	for (size_t i = 0; i < p->nprofiles; i++) {
		if (invoice_load(s, i, out) != 0)
			return -1;
		if (strlen(out->inv.name) == len - 4 &&
			strncasecmp(out->inv.name, file, len - 4) == 0)
			return 1;
	}
	return 0;
}

static void
pdf_body(as_resp *resp, const bill_invoice *bi)
{
	char total[CB_MONEY_STR_MAX];

	cb_money_format(total, sizeof(total), bi->inv.total);
	cb__buf_clear(&resp->body);
	/* A minimal, well-formed PDF with no pages: a client only stores
	 * it; the comment lets a test see which invoice it got. */
	cb__buf_printf(&resp->body,
		"%%PDF-1.4\n%% armsim invoice %s %s %s\n"
		"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
		"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
		"trailer<</Root 1 0 R>>\n%%%%EOF\n",
		bi->inv.name, total, bi->inv.currency);
	resp->status = 200;
	as_resp_header(resp, "Content-Type", "application/pdf");
	as_resp_header(resp, "x-ms-blob-type", "BlockBlob");
}

int
as_billing_invoice_blob(as_server *s, as_req *req, as_resp *resp)
{
	char se[64], sig[128], want[65];
	bill_invoice bi;
	int64_t expiry;
	int rc = blob_invoice(s, req->cap[0], &bi);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		storage_error(resp, 404, "BlobNotFound",
			"The specified blob does not exist.");
		return 0;
	}
	if (as_req_query(req, "se", se, sizeof(se)) != 0 ||
		as_req_query(req, "sig", sig, sizeof(sig)) != 0 ||
		strlen(sig) != 64) {
		storage_error(
			resp, 403, "AuthenticationFailed", AS_SAS_AUTH_FAILED);
		return 0;
	}
	link_sig(s, req->cap[0], se, want);
	/* The file as the link spelled it: a link is not case-folded. */
	if (CRYPTO_memcmp(want, sig, 64) != 0 || (expiry = parse_iso(se)) < 0) {
		storage_error(resp, 403, "AuthenticationFailed",
			"Signature did not match.");
		return 0;
	}
	if (req->now_ms / 1000 > expiry ||
		as_faults_flag(s, req, "expired-link")) {
		storage_error(resp, 403, "AuthenticationFailed",
			"Signed expiry time has passed.");
		return 0;
	}
	pdf_body(resp, &bi);
	return 0;
}
