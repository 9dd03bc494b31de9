/*
 * emulator/costmgmt.h - what armsim's Microsoft.CostManagement files share:
 * scopes resolved against the partner, calendar arithmetic on the
 * partner's month, the cost details operations the blob endpoint serves,
 * and blob link signing.
 *
 * A scope is the {scope*} capture: the path segments before
 * /providers/Microsoft.CostManagement/..., slash-joined, decoded, without
 * a leading slash ("providers/Microsoft.Billing/billingAccounts/{ba}").
 */
#ifndef CB_EMULATOR_COSTMGMT_H
#define CB_EMULATOR_COSTMGMT_H

#include "emulator/armsim.h"
#include "emulator/costgen.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	AS_SCOPE_ACCOUNT,
	AS_SCOPE_PROFILE,
	AS_SCOPE_CUSTOMER,
	AS_SCOPE_SUBSCRIPTION
} as_scope_kind;

/* A scope armsim knows; indexes into the partner's arrays, AS_ANY for
 * levels the scope does not name. */
typedef struct as_cm_scope {
	as_scope_kind kind;
	size_t account, profile, customer, subscription;
} as_cm_scope;

/* Resolve scope.  0, or -1 with ARM's error in resp (400 for a form
 * Cost Management does not serve, 404 for a name the partner lacks). */
int as_cm_scope_resolve(
	as_server *s, const char *scope, as_cm_scope *out, as_resp *resp);

/* The cost line filter for a scope, whole month. */
void as_cm_scope_filter(const as_cm_scope *sc, as_metric m, as_cost_filter *f);

/* Read "yyyy-MM-dd" (date_only) or an ISO date-time starting with one
 * ("2022-08-31T23:59:59+00:00"; only the date part counts).  Returns the
 * day number, or INT64_MIN when text is not a valid date. */
int64_t as_cm_parse_day(const char *text, bool date_only);

/* The partner's month as day numbers [first, last]. */
void as_cm_period(const as_server *s, int64_t *first, int64_t *last);

/* ---------------------------------------------------------------- */
/* Cost details blobs (costdetails.c keeps the operations, blobs.c serves
 * the files). */

/* Rows per blob when opt.blob_rows is 0. */
#define AS_BLOB_ROWS_DEFAULT 500000u

/* One part of a completed report, copied out of the operation so the
 * stream never touches state the lock guards. */
typedef struct as_cd_part {
	as_cost_filter filter;
	uint64_t first_row; /* rows of the report before this part */
	uint64_t rows;      /* rows in this part */
	uint64_t bytes;     /* exact size, header included */
	int64_t valid_till_ms;
} as_cd_part;

/* Make the running report op end Failed (failed) or NoDataFound, as the
 * "report-failed" and "report-nodata" faults do: for tests and control
 * paths.  0, or -1 when op is not a running report. */
int as_cd_set_outcome(as_server *s, const char *op, bool failed);

/* Part n of operation op, when op completed with data.  0, or -1. */
int as_cd_part_get(as_server *s, const char *op, size_t n, as_cd_part *out);

/* The CSV of one part: its header row, then its rows.  A counting pass
 * and the download run the same code, so byteCount is exact. */
typedef struct as_cd_writer {
	as_costgen *g;
	uint64_t skip; /* rows still to skip before the part */
	uint64_t left; /* rows still to write */
	uint64_t row;  /* index in the report of the next row written */
	bool header_done;
	bool malformed; /* break some rows (the "malformed-csv" fault) */
} as_cd_writer;

/* Start writing a part; 0, or -1 out of memory. */
int as_cd_writer_open(as_cd_writer *w, const as_partner *p,
	const as_cost_filter *f, uint64_t first_row, uint64_t rows,
	bool malformed);
/* Append the next piece (the header, or one row) to out: 1, 0 at the
 * end, -1 on failure (out of memory, fewer lines than counted). */
int as_cd_writer_next(as_cd_writer *w, cb_buf *out);
void as_cd_writer_close(as_cd_writer *w);

/* Sign a blob path and its expiry ("2026-11-22T03:10:08Z") with the
 * server's key: base64url HMAC-SHA256, into out (>= 48 bytes). */
void as_blob_sign(const unsigned char key[32], const char *path,
	const char *expiry, char *out, size_t outlen);
/* The server's blob signing key (random per server). */
const unsigned char *as_cd_key(as_server *s);

/* ISO 8601 UTC text of a time in ms: "2026-11-22T03:10:08Z" (frac 0) or
 * with seven fractional digits "...08.1230000Z" (frac 7). */
void as_cm_iso_time(int64_t ms, int frac, char *out, size_t outlen);
/* The reverse for "yyyy-MM-ddTHH:mm:ss[.fffffff]Z"; INT64_MIN if bad. */
int64_t as_cm_parse_time(const char *text);

/* GET /blobs/costdetails/{op}/{part}: a part's CSV (blobs.c). */
int as_blob_get(as_server *s, as_req *req, as_resp *resp);

#endif
