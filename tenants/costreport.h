/*
 * tenants/costreport.h - Cost Details reports: request one
 * (generateCostDetailsReport), poll it honouring Retry-After, and stream
 * every blob of its manifest to a sink, never holding a blob whole.
 *
 * Azure limits report requests per scope (2/min, 10/h, 50/day) and per
 * client application (30/min, across all scopes): every request goes
 * through one cb__costreport_limiter, shared by all workers, that waits
 * for a free slot rather than be throttled into failure.
 */
#ifndef CB_TENANTS_COSTREPORT_H
#define CB_TENANTS_COSTREPORT_H

#include "chargeback/costs.h"
#include "tenants/session.h"

/* ---- the limiter ---- */

typedef struct cb__costreport_limiter cb__costreport_limiter;

/* Azure's published limits; tests pass smaller windows. */
typedef struct {
	unsigned per_scope_minute; /* 2 */
	unsigned per_scope_hour;   /* 10 */
	unsigned per_scope_day;    /* 50 */
	unsigned per_app_minute;   /* 30 */
	/* Clock and sleep, for tests; NULL: CLOCK_MONOTONIC, nanosleep. */
	int64_t (*now_ms)(void *payload);
	void (*sleep_ms)(long ms, void *payload);
	void *payload;
} cb__costreport_limits;

#define CB__COSTREPORT_LIMITS_INIT              \
	{                                       \
		2, 10, 50, 30, NULL, NULL, NULL \
	}

int cb__costreport_limiter_new(
	cb__costreport_limiter **out, const cb__costreport_limits *limits);
void cb__costreport_limiter_free(cb__costreport_limiter *lim);

/*
 * Wait until a report request for scope is within every limit and count
 * it.  Thread-safe.  CB_ETHROTTLED (without waiting) when the scope's
 * daily allowance is spent.
 */
int cb__costreport_limiter_acquire(
	cb__costreport_limiter *lim, const char *scope);

/* ---- a report ---- */

/* What to report: the scope and one of period, invoice or billing
 * period. */
typedef struct {
	/* ARM scope path, e.g. "/providers/Microsoft.Billing/
	 * billingAccounts/X" (the leading '/' may be left out). */
	const char *scope;
	cb_cost_metric metric;
	const char *period;         /* "YYYY-MM": timePeriod of the month */
	const char *invoice_id;     /* or an invoice id */
	const char *billing_period; /* or "YYYYMM" */
} cb__costreport_request;

/* Where the blobs go.  Each callback returns 0 to go on, or a negative
 * cb_error_code (message set) to stop the fetch with that code. */
typedef struct {
	/* A blob begins: its index, its URL without the query string (for
	 * messages) and the manifest's byteCount for it. */
	int (*part_begin)(uint32_t part, const char *source, int64_t bytes,
		void *payload);
	int (*data)(const char *data, size_t len, void *payload);
	/* The blob arrived whole (byteCount checked). */
	int (*part_end)(uint32_t part, void *payload);
	void *payload;
} cb__costreport_sink;

/* What the report was. */
typedef struct {
	char operation_id[64]; /* the report's operation name */
	uint32_t blob_count;
	int64_t byte_count;
	bool no_data; /* ended NoDataFound: no blob, not an error */
} cb__costreport_info;

/*
 * Request the report (through lim; NULL: no pacing), wait for it, and
 * stream its blobs in manifest order to sink.  A download that ends short
 * of its byteCount, a report that ends Failed, or an HTTP error is an
 * error naming the scope and the request id.  When a blob link has
 * expired (validTill passed, or Azure Storage answering 403) before any
 * blob of the report began in the sink, a fresh report is requested
 * (through lim; at most twice) and used instead; once a blob began, a
 * fresh report could differ, so the fetch returns CB_ECONFLICT ("the
 * download links of the report for SCOPE expired mid-download") and the
 * caller starts its load over.  Blobs are fetched without the bearer
 * token (their links are SAS URLs) and with no time limit but the stall
 * timeout; messages number them from 1 ("blob 1 of the report") and
 * never show a link's query string.
 *
 * info is filled from the report used (zeroed first).  Returns 0 (also
 * for NoDataFound: info->no_data), or:
 *   CB_EINVAL       not exactly one of period, invoice_id, billing_period,
 *                   or one malformed; nothing sent
 *   CB_ETHROTTLED   the scope's daily allowance is spent (lim), or 429s
 *                   outlasted core/http's retries
 *   CB_EHTTP        the report ended Failed, an HTTP error (ARM or
 *                   storage), links expired on three reports in a row
 *   CB_EIO          a blob ended short of (or ran past) its byteCount
 *   CB_ECONFLICT    links expired after a blob began in the sink
 *   CB_EPARSE, CB_EUNSUPPORTED  a result or manifest we cannot read
 *                   (compressed or non-CSV blobs)
 *   CB_EAUTH, CB_ENOTFOUND, CB_ETIMEOUT, CB_ENOMEM, or a sink's code.
 */
int cb__costreport_fetch(cb__session *s, cb__costreport_limiter *lim,
	const cb__costreport_request *req, const cb__costreport_sink *sink,
	cb__costreport_info *info);

#endif
