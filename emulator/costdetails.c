/*
 * emulator/costdetails.c - Microsoft.CostManagement's long-running
 * operations: the cost details report (generateCostDetailsReport, then
 * costDetailsOperationResults polled to a manifest of blobs) and the
 * price sheet download (azure-api-notes.md a.2 items 14 and 17, b.2,
 * b.4).  The blobs themselves are served by blobs.c.
 *
 * An operation answers 202 (Location, Retry-After) opt.lro_polls times
 * and then 200 with its result.  When a report completes, one counting
 * pass over its lines fixes the rows and exact byte count of each blob;
 * the download then streams the same bytes from the generator.  That
 * pass runs under the server lock, which is fine for the test-sized
 * partners armsim serves and a few seconds for a million lines.
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/calendar.h"
#include "emulator/costmgmt.h"
#include "emulator/partner.h"

#include <openssl/rand.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How long blob links stay valid: Azure does not document it for cost
 * details [unverified]; an hour is ample for a test or a benchmark. */
#define CD_VALID_MS (3600 * 1000)

/* Reports kept per server: each is a few hundred bytes, and a client
 * making more than this many in one armsim run is a runaway loop. */
#define CD_MAX_OPS 100000

enum cd_state { CD_RUNNING, CD_COMPLETED, CD_NODATA, CD_FAILED };
enum cd_kind { CD_REPORT, CD_PRICESHEET };

struct cd_op {
	enum cd_kind kind;
	char id[AS_GUID_LEN + 1];
	char *scope;    /* as requested, without a leading slash */
	char *poll_url; /* Location */
	char api_version[32];
	as_cost_filter filter;
	json_t *request_body; /* echoed in manifest.requestContext */
	enum cd_state state;
	bool want_failed, want_nodata;
	bool empty; /* the period misses the partner's month */
	unsigned polls;
	int64_t next_poll_ms;
	int64_t valid_till_ms;
	size_t nparts;
	uint64_t *part_rows;
	uint64_t *part_bytes;
	uint64_t bytes;
};

struct as_costdetails {
	struct cd_op *ops;
	size_t nops, aops;
	unsigned char key[32];
	uint64_t idstate; /* operation ids, from the seed */
};

const unsigned char *
as_cd_key(as_server *s)
{
	return s->costdetails->key;
}

int
as_costdetails_init(as_server *s, char *err, size_t errlen)
{
	struct as_costdetails *cd = calloc(1, sizeof(*cd));

	if (cd == NULL || RAND_bytes(cd->key, sizeof(cd->key)) != 1) {
		free(cd);
		snprintf(err, errlen,
			"cost details: out of memory or no "
			"random bytes for the blob key");
		return -1;
	}
	cd->idstate = s->opt.seed ^ 0xc057de7a11500000ull;
	s->costdetails = cd;
	return 0;
}

void
as_costdetails_free(as_server *s)
{
	struct as_costdetails *cd = s->costdetails;

	if (cd == NULL)
		return;
	for (size_t i = 0; i < cd->nops; i++) {
		free(cd->ops[i].scope);
		free(cd->ops[i].poll_url);
		json_decref(cd->ops[i].request_body);
		free(cd->ops[i].part_rows);
		free(cd->ops[i].part_bytes);
	}
	free(cd->ops);
	memset(cd->key, 0, sizeof(cd->key));
	free(cd);
	s->costdetails = NULL;
}

static struct cd_op *
op_new(as_server *s, enum cd_kind kind, as_resp *resp)
{
	struct as_costdetails *cd = s->costdetails;
	struct cd_op *op;

	if (cd->nops == CD_MAX_OPS) {
		as_resp_arm_error(resp, 503, "ServiceUnavailable",
			"armsim keeps at most %d operations.", CD_MAX_OPS);
		return NULL;
	}
	if (cd->nops == cd->aops) {
		size_t n = cd->aops ? cd->aops * 2 : 16;
		struct cd_op *o = realloc(cd->ops, n * sizeof(*o));
		if (o == NULL)
			return NULL;
		cd->ops = o;
		cd->aops = n;
	}
	op = &cd->ops[cd->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	as_rand_guid(&cd->idstate, op->id);
	return op;
}

static struct cd_op *
op_find(as_server *s, enum cd_kind kind, const char *id)
{
	struct as_costdetails *cd = s->costdetails;

	for (size_t i = 0; i < cd->nops; i++)
		if (cd->ops[i].kind == kind &&
			strcasecmp(cd->ops[i].id, id) == 0)
			return &cd->ops[i];
	return NULL;
}

/* A formatted string, malloc'd; NULL out of memory. */
static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
dupf(const char *fmt, ...)
{
	va_list ap;
	char *out;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (out = malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return out;
}

/* The raw request path with its last n segments replaced by tail. */
static char *
path_swap_tail(const char *path, size_t n, const char *tail)
{
	size_t len = strlen(path);
	char *out;

	while (n-- > 0 && len > 0) {
		while (len > 0 && path[len - 1] == '/')
			len--;
		while (len > 0 && path[len - 1] != '/')
			len--;
	}
	if ((out = malloc(len + strlen(tail) + 1)) == NULL)
		return NULL;
	memcpy(out, path, len);
	strcpy(out + len, tail); /* checksrc: allow strcpy (sized above) */
	return out;
}

/* ------------------------------------------------------------------ */
/* Request validation */

/* The day range [*first, *last] of a timePeriod; -1 and a 400. */
static int
parse_time_period(
	as_server *s, json_t *tp, int64_t *first, int64_t *last, as_resp *resp)
{
	const char *start = json_string_value(json_object_get(tp, "start"));
	const char *end = json_string_value(json_object_get(tp, "end"));
	int64_t p0, p1, oldest;
	int y, m, d;

	if (!json_is_object(tp) || start == NULL || end == NULL) {
		as_resp_arm_error(resp, 400, "BadRequest",
			"Invalid timePeriod: both start and end are required, "
			"as dates in the format yyyy-MM-dd.");
		return -1;
	}
	*first = as_cm_parse_day(start, true);
	*last = as_cm_parse_day(end, true);
	if (*first == INT64_MIN || *last == INT64_MIN) {
		as_resp_arm_error(resp, 400, "BadRequest",
			"Invalid timePeriod: '%.40s' is not a date in the "
			"format yyyy-MM-dd.",
			*first == INT64_MIN ? start : end);
		return -1;
	}
	if (*last < *first) {
		as_resp_arm_error(resp, 400, "BadRequest",
			"Invalid timePeriod: the end date %s is before the "
			"start date %s.",
			end, start);
		return -1;
	}
	/* "At most one month": 31 days inclusive [unverified exact rule]. */
	if (*last - *first + 1 > 31) {
		as_resp_arm_error(resp, 400, "BadRequest",
			"Invalid timePeriod: the range %s to %s is %lld days; "
			"a report covers at most one month (31 days).",
			start, end, (long long)(*last - *first + 1));
		return -1;
	}
	/* 13 months back from the partner's open month. */
	as_cm_period(s, &p0, &p1);
	as_civil_from_days(p0, &y, &m, &d);
	m -= 13;
	while (m < 1) {
		m += 12;
		y--;
	}
	oldest = as_days_from_civil(y, m, 1);
	if (*first < oldest) {
		as_resp_arm_error(resp, 400, "BadRequest",
			"Invalid timePeriod: the start date %s is more than 13 "
			"months in the past; the earliest start date is "
			"%04d-%02d-01.",
			start, y, m);
		return -1;
	}
	return 0;
}

/* invoiceId: the billing profile's invoice for the partner's month. */
static int
check_invoice(
	as_server *s, const as_cm_scope *sc, const char *inv, as_resp *resp)
{
	as_invoice invoice;

	if (sc->kind != AS_SCOPE_PROFILE && sc->kind != AS_SCOPE_CUSTOMER) {
		as_resp_arm_error(resp, 400, "BadRequest",
			"invoiceId is supported only at billing profile and "
			"customer scopes.");
		return -1;
	}
	if (as_costgen_invoice(s->partner, sc->profile, &invoice) != 0 ||
		strcasecmp(invoice.name, inv) != 0) {
		as_resp_arm_error(resp, 400, "BadRequest",
			"Invalid invoiceId: the invoice '%.40s' was not found "
			"for this billing profile.",
			inv);
		return -1;
	}
	return 0;
}

static int
parse_metric(json_t *body, as_metric *m, const char **name, as_resp *resp)
{
	json_t *v = json_object_get(body, "metric");
	const char *t = json_string_value(v);

	*m = AS_METRIC_ACTUAL;
	*name = "ActualCost";
	if (v == NULL)
		return 0;
	if (t != NULL && strcasecmp(t, "ActualCost") == 0)
		return 0;
	if (t != NULL && strcasecmp(t, "AmortizedCost") == 0) {
		*m = AS_METRIC_AMORTIZED;
		*name = "AmortizedCost";
		return 0;
	}
	as_resp_arm_error(resp, 400, "BadRequest",
		"Invalid metric '%.40s': the supported values are "
		"'ActualCost' and 'AmortizedCost'.",
		t ? t : "(not a string)");
	return -1;
}

/* Days of the filter from a range; false when the range misses the
 * partner's month (the report then ends NoDataFound). */
static bool
filter_days(as_server *s, as_cost_filter *f, int64_t first, int64_t last)
{
	int64_t p0, p1;

	as_cm_period(s, &p0, &p1);
	if (first < p0)
		first = p0;
	if (last > p1)
		last = p1;
	if (first > last)
		return false;
	f->first_day = (int)(first - p0 + 1);
	f->last_day = (int)(last - p0 + 1);
	return true;
}

static json_t *
period_json(int64_t first, int64_t last)
{
	char a[16], b[16];
	int y, m, d;

	as_civil_from_days(first, &y, &m, &d);
	snprintf(a, sizeof(a), "%04d-%02d-%02d", y, m, d);
	as_civil_from_days(last, &y, &m, &d);
	snprintf(b, sizeof(b), "%04d-%02d-%02d", y, m, d);
	return json_pack("{s:s,s:s}", "start", a, "end", b);
}

/* Body -> filter and the echoed request body.  -1 and a 400. */
static int
parse_report_body(as_server *s, const as_cm_scope *sc, json_t *body,
	as_cost_filter *f, bool *empty, json_t **echo, as_resp *resp)
{
	json_t *tp = json_object_get(body, "timePeriod");
	json_t *inv = json_object_get(body, "invoiceId");
	json_t *bper = json_object_get(body, "billingPeriod");
	const char *mname;
	as_metric m;
	int64_t first, last;

	if (parse_metric(body, &m, &mname, resp) != 0)
		return -1;
	if ((tp != NULL) + (inv != NULL) + (bper != NULL) > 1) {
		as_resp_arm_error(resp, 400, "BadRequest",
			"Only one of timePeriod, invoiceId or billingPeriod "
			"may be given.");
		return -1;
	}
	if (bper != NULL) {
		as_resp_arm_error(resp, 400, "BadRequest",
			"billingPeriod is supported only for Enterprise "
			"Agreement scopes; use timePeriod or invoiceId.");
		return -1;
	}
	as_cm_scope_filter(sc, m, f);
	*echo = json_pack("{s:s}", "metric", mname);
	if (inv != NULL) {
		if (!json_is_string(inv)) {
			as_resp_arm_error(resp, 400, "BadRequest",
				"Invalid invoiceId: expected a string.");
			return -1;
		}
		if (check_invoice(s, sc, json_string_value(inv), resp) != 0)
			return -1;
		json_object_set(*echo, "invoiceId", inv);
		return 0;
	}
	if (tp != NULL) {
		if (parse_time_period(s, tp, &first, &last, resp) != 0)
			return -1;
	} else {
		as_cm_period(s, &first, &last); /* the open month */
	}
	*empty = !filter_days(s, f, first, last);
	json_object_set_new(*echo, "timePeriod", period_json(first, last));
	return 0;
}

/* ------------------------------------------------------------------ */
/* generateCostDetailsReport */

static void
answer_202(as_server *s, const struct cd_op *op, as_resp *resp)
{
	resp->status = 202;
	as_resp_header(resp, "Location", "%s", op->poll_url);
	as_resp_header(resp, "Retry-After", "%u", s->opt.retry_after_s);
}

static int
generate(as_server *s, as_req *req, as_resp *resp)
{
	json_t *body = NULL, *echo = NULL;
	as_cost_filter f;
	as_cm_scope sc;
	struct cd_op *op;
	bool empty = false;
	char base[128], tail[128];
	char *path = NULL;
	int rc = 0;

	if (as_cm_scope_resolve(s, req->cap[0], &sc, resp) != 0)
		return 0;
	body = req->body_len > 0 ? as_req_json(req, resp) : json_object();
	if (body == NULL ||
		parse_report_body(s, &sc, body, &f, &empty, &echo, resp) != 0)
		goto done;
	if ((op = op_new(s, CD_REPORT, resp)) == NULL) {
		rc = resp->status ? 0 : -1;
		goto done;
	}
	snprintf(tail, sizeof(tail), "costDetailsOperationResults/%s", op->id);
	as_server_base(s, base, sizeof(base));
	path = path_swap_tail(req->path, 1, tail);
	op->scope = strdup(req->cap[0]);
	if (path == NULL || op->scope == NULL ||
		(op->poll_url = dupf("%s%s?api-version=%s", base, path,
			 req->api_version)) == NULL) {
		rc = -1;
		goto done;
	}
	snprintf(op->api_version, sizeof(op->api_version), "%s",
		req->api_version);
	op->filter = f;
	op->empty = empty;
	op->request_body = echo;
	echo = NULL;
	op->want_failed = as_faults_flag(s, req, "report-failed");
	op->want_nodata = as_faults_flag(s, req, "report-nodata");
	op->next_poll_ms = req->now_ms + 1000 * (int64_t)s->opt.retry_after_s;
	answer_202(s, op, resp);
done:
	free(path);
	json_decref(echo);
	json_decref(body);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Completion: the counting pass */

static uint64_t
blob_rows(const as_server *s)
{
	return s->opt.blob_rows ? s->opt.blob_rows : AS_BLOB_ROWS_DEFAULT;
}

/* Count the report's rows and the bytes of each part.  0, or -1. */
static int
count_parts(as_server *s, struct cd_op *op)
{
	uint64_t per = blob_rows(s), rows = 0, bytes = 0, hdr;
	cb_buf line = CB_BUF_INIT;
	as_costgen *g = NULL;
	const as_cost_row *row;
	size_t cap = 0;
	int rc = -1;

	if (as_cost_csv_header(&line) != 0)
		goto done;
	hdr = line.size;
	if (as_costgen_open(&g, s->partner, &op->filter) != 0)
		goto done;
	for (;;) {
		int more = as_costgen_next(g, &row);
		if (more && rows % per == 0) {
			if (op->nparts == cap) {
				size_t n = cap ? cap * 2 : 4;
				uint64_t *a =
					realloc(op->part_rows, n * sizeof(*a));
				uint64_t *b = a ? realloc(op->part_bytes,
							  n * sizeof(*b))
						: NULL;
				if (a != NULL)
					op->part_rows = a;
				if (b == NULL)
					goto done;
				op->part_bytes = b;
				cap = n;
			}
			op->part_rows[op->nparts] = 0;
			op->part_bytes[op->nparts] = hdr;
			op->nparts++;
			bytes += hdr;
		}
		if (!more)
			break;
		cb__buf_clear(&line);
		if (as_cost_csv_row(g, &line) != 0)
			goto done;
		op->part_rows[op->nparts - 1]++;
		op->part_bytes[op->nparts - 1] += line.size;
		bytes += line.size;
		rows++;
	}
	op->bytes = bytes;
	rc = 0;
done:
	as_costgen_free(g);
	cb_buf_dispose(&line);
	return rc;
}

static int
complete(as_server *s, const as_req *req, struct cd_op *op)
{
	if (op->want_failed || as_faults_flag(s, req, "report-failed")) {
		op->state = CD_FAILED;
		return 0;
	}
	if (op->empty || op->want_nodata ||
		as_faults_flag(s, req, "report-nodata")) {
		op->state = CD_NODATA;
		return 0;
	}
	if (count_parts(s, op) != 0)
		return -1;
	op->state = op->nparts == 0 ? CD_NODATA : CD_COMPLETED;
	/* Whole seconds, as a SAS se= carries them. */
	op->valid_till_ms = (req->now_ms / 1000) * 1000 + CD_VALID_MS;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The result */

static json_t *
blob_json(as_server *s, const struct cd_op *op, size_t n)
{
	char base[128], path[160], se[40], se_q[64], sig[64], url[512];
	size_t o = 0;

	as_server_base(s, base, sizeof(base));
	snprintf(path, sizeof(path), "/blobs/costdetails/%s/part_%zu.csv",
		op->id, n);
	as_cm_iso_time(op->valid_till_ms, 0, se, sizeof(se));
	for (const char *p = se; *p != '\0' && o + 4 < sizeof(se_q); p++)
		o += (size_t)(*p == ':' ? snprintf(se_q + o, 4, "%%3A")
					: snprintf(se_q + o, 2, "%c", *p));
	as_blob_sign(as_cd_key(s), path, se, sig, sizeof(sig));
	snprintf(url, sizeof(url), "%s%s?sv=2023-11-03&se=%s&sr=b&sp=r&sig=%s",
		base, path, se_q, sig);
	return json_pack("{s:s,s:I}", "blobLink", url, "byteCount",
		(json_int_t)op->part_bytes[n]);
}

static json_t *
manifest_json(as_server *s, const struct cd_op *op)
{
	json_t *blobs = json_array();

	for (size_t i = 0; i < op->nparts; i++)
		json_array_append_new(blobs, blob_json(s, op, i));
	return json_pack("{s:s,s:s,s:I,s:I,s:b,s:{s:s,s:O},s:o}",
		"manifestVersion", op->api_version, "dataFormat", "Csv",
		"blobCount", (json_int_t)op->nparts, "byteCount",
		(json_int_t)op->bytes, "compressData", 0, "requestContext",
		"requestScope", op->scope, "requestBody", op->request_body,
		"blobs", blobs);
}

static json_t *
result_json(as_server *s, const struct cd_op *op)
{
	char id[1024], vt[40];
	json_t *r;

	snprintf(id, sizeof(id),
		"/%s/providers/Microsoft.CostManagement/"
		"costDetailsOperationResults/%s",
		op->scope, op->id);
	r = json_pack("{s:s,s:s,s:s}", "id", id, "name", op->id, "type",
		"Microsoft.CostManagement/costDetailsOperationResults");
	if (r == NULL)
		return NULL;
	switch (op->state) {
	case CD_COMPLETED:
		as_cm_iso_time(op->valid_till_ms, 7, vt, sizeof(vt));
		json_object_set_new(r, "status", json_string("Completed"));
		json_object_set_new(r, "manifest", manifest_json(s, op));
		json_object_set_new(r, "validTill", json_string(vt));
		break;
	case CD_NODATA:
		json_object_set_new(r, "status", json_string("NoDataFound"));
		break;
	default:
		json_object_set_new(r, "status", json_string("Failed"));
		json_object_set_new(r, "error",
			json_pack("{s:s,s:s}", "code", "InternalServerError",
				"message",
				"The cost details report could not be "
				"generated. Try again later."));
		break;
	}
	return r;
}

/* The 202s before an operation ends, and the client's pacing. */
static bool
still_running(as_server *s, const as_req *req, struct cd_op *op, as_resp *resp)
{
	if (req->now_ms < op->next_poll_ms && op->state == CD_RUNNING)
		as_violation(s, req, "retry-before-retry-after",
			"polled operation %s %lld ms before Retry-After "
			"elapsed",
			op->id, (long long)(op->next_poll_ms - req->now_ms));
	if (op->state != CD_RUNNING || op->polls >= s->opt.lro_polls)
		return false;
	op->polls++;
	op->next_poll_ms = req->now_ms + 1000 * (int64_t)s->opt.retry_after_s;
	answer_202(s, op, resp);
	return true;
}

static int
op_results(as_server *s, as_req *req, as_resp *resp)
{
	struct cd_op *op = op_find(s, CD_REPORT, req->cap[1]);

	if (op == NULL || strcasecmp(op->scope, req->cap[0]) != 0) {
		as_resp_arm_error(resp, 404, "NotFound",
			"The cost details operation '%.60s' was not found "
			"for this scope.",
			req->cap[1]);
		return 0;
	}
	if (still_running(s, req, op, resp))
		return 0;
	if (op->state == CD_RUNNING && complete(s, req, op) != 0)
		return -1;
	as_resp_json(resp, 200, result_json(s, op));
	return 0;
}

int
as_cd_set_outcome(as_server *s, const char *id, bool failed)
{
	struct cd_op *op = op_find(s, CD_REPORT, id);

	if (op == NULL || op->state != CD_RUNNING)
		return -1;
	if (failed)
		op->want_failed = true;
	else
		op->want_nodata = true;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Blob parts for blobs.c */

int
as_cd_part_get(as_server *s, const char *id, size_t n, as_cd_part *out)
{
	struct cd_op *op = op_find(s, CD_REPORT, id);

	if (op == NULL || op->state != CD_COMPLETED || n >= op->nparts)
		return -1;
	out->filter = op->filter;
	out->first_row = 0;
	for (size_t i = 0; i < n; i++)
		out->first_row += op->part_rows[i];
	out->rows = op->part_rows[n];
	out->bytes = op->part_bytes[n];
	out->valid_till_ms = op->valid_till_ms;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Price sheet download (MCA/MPA, by billing profile or invoice) */

static int
pricesheet_download(as_server *s, as_req *req, as_resp *resp)
{
	const as_account *a = as_partner_account(s->partner, req->cap[0]);
	const as_profile *bp =
		a ? as_partner_profile(s->partner, a, req->cap[1]) : NULL;
	as_invoice inv;
	struct cd_op *op;
	char base[128];

	if (bp == NULL) {
		as_resp_arm_error(resp, 404, "NotFound",
			"The billing profile '%.60s' was not found.",
			req->cap[1]);
		return 0;
	}
	if (req->ncap > 2 &&
		(as_costgen_invoice(s->partner,
			 AS_INDEX(s->partner, profiles, bp), &inv) != 0 ||
			strcasecmp(inv.name, req->cap[2]) != 0)) {
		as_resp_arm_error(resp, 404, "NotFound",
			"The invoice '%.60s' was not found.", req->cap[2]);
		return 0;
	}
	if ((op = op_new(s, CD_PRICESHEET, resp)) == NULL)
		return resp->status ? 0 : -1;
	as_server_base(s, base, sizeof(base));
	/* Azure's Location names the billing profile whether the request
	 * was by profile or by invoice [ex: PricesheetDownload*.json]. */
	op->poll_url = dupf("%s/providers/Microsoft.Billing/billingAccounts/"
			    "%s/billingProfiles/%s/providers/"
			    "Microsoft.CostManagement/operationResults/%s"
			    "?sessiontoken=0:000000&api-version=%s"
			    "&OperationType=PriceSheet",
		base, a->name, bp->name, op->id, req->api_version);
	if (op->poll_url == NULL)
		return -1;
	op->next_poll_ms = req->now_ms + 1000 * (int64_t)s->opt.retry_after_s;
	answer_202(s, op, resp);
	as_resp_header(resp, "OData-EntityId", "%s", op->id);
	return 0;
}

static int
pricesheet_result(as_server *s, as_req *req, as_resp *resp)
{
	struct cd_op *op = op_find(s, CD_PRICESHEET, req->cap[2]);
	char base[128], exp[40], sig[64], path[128];

	if (op == NULL) {
		as_resp_arm_error(resp, 404, "NotFound",
			"The operation '%.60s' was not found.", req->cap[2]);
		return 0;
	}
	if (still_running(s, req, op, resp)) {
		as_resp_header(resp, "OData-EntityId", "%s", op->id);
		return 0;
	}
	if (op->state == CD_RUNNING) {
		op->state = CD_COMPLETED;
		op->valid_till_ms = (req->now_ms / 1000) * 1000 + CD_VALID_MS;
	}
	/* The price sheet file itself is not served [the link is signed
	 * like the cost details blobs, for clients that only store it]. */
	as_server_base(s, base, sizeof(base));
	as_cm_iso_time(op->valid_till_ms, 0, exp, sizeof(exp));
	snprintf(path, sizeof(path), "/blobs/pricesheets/%s.zip", op->id);
	as_blob_sign(as_cd_key(s), path, exp, sig, sizeof(sig));
	as_resp_json(resp, 200,
		json_pack("{s:s+++++,s:s}", "downloadUrl", base, path,
			"?sv=2023-11-03&sr=b&sp=r&se=", exp, "&sig=", sig,
			"expiryTime", exp));
	return 0;
}

/* More specific patterns first: router.c takes the first match. */
const as_route as_costdetails_routes[] = {
	{ "POST",
		"/providers/Microsoft.Billing/billingAccounts/{ba}/"
		"billingProfiles/{bp}/providers/Microsoft.CostManagement/"
		"pricesheets/default/download",
		AS_API_COSTMGMT, AS_ROUTE_WRITE, pricesheet_download },
	{ "POST",
		"/providers/Microsoft.Billing/billingAccounts/{ba}/"
		"billingProfiles/{bp}/invoices/{inv}/providers/"
		"Microsoft.CostManagement/pricesheets/default/download",
		AS_API_COSTMGMT, AS_ROUTE_WRITE, pricesheet_download },
	{ "GET",
		"/providers/Microsoft.Billing/billingAccounts/{ba}/"
		"billingProfiles/{bp}/providers/Microsoft.CostManagement/"
		"operationResults/{op}",
		AS_API_COSTMGMT, 0, pricesheet_result },
	{ "POST",
		"/{scope*}/providers/Microsoft.CostManagement/"
		"generateCostDetailsReport",
		AS_API_COSTMGMT, AS_ROUTE_WRITE, generate },
	{ "GET",
		"/{scope*}/providers/Microsoft.CostManagement/"
		"costDetailsOperationResults/{op}",
		AS_API_COSTMGMT, 0, op_results },
	/* The docs article's spelling (azure-api-notes.md a.2 #14). */
	{ "GET",
		"/{scope*}/providers/Microsoft.CostManagement/"
		"costDetailsOperationStatus/{op}",
		AS_API_COSTMGMT, 0, op_results },
	{ "GET", "/blobs/costdetails/{op}/{part}", AS_API_NONE, AS_ROUTE_NOAUTH,
		as_blob_get },
	{ NULL, NULL, 0, 0, NULL }
};
