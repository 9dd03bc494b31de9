/*
 * tenants/costreport.c - one Cost Details report, from request to the last
 * byte of its last blob (azure-api-notes.md a.2 #14 and b.4).
 *
 *   POST {scope}/providers/Microsoft.CostManagement/generateCostDetailsReport
 *   202 + Location + Retry-After, polled by core/arm (cb__arm_lro_send)
 *   200 {status: Completed | NoDataFound | Failed, validTill, manifest}
 *   GET every manifest.blobs[i].blobLink (a SAS URL: no bearer token)
 *
 * The blobs are streamed to the caller's sink as they arrive and counted
 * against the manifest's byteCount: a download that ends short is an
 * error, never a silently smaller month.  Blob links expire (validTill, or
 * Azure Storage's 403): before the first blob has begun, a fresh report
 * simply replaces the stale one; afterwards the fresh report might not
 * hold the same lines (Azure refreshes cost data every few hours), so the
 * fetch fails with CB_ECONFLICT and the caller starts its load over.
 *
 * Links carry their signature in the query string: only their path (via
 * cb__redact_url) ever reaches a message, a log line or the sink.
 */
#include "core/common.h"

#include "core/buf.h"
#include "core/calendar.h"
#include "core/json.h"
#include "core/log.h"
#include "tenants/costreport.h"

#include <stdio.h>
#include <strings.h>
#include <time.h>

/* The newest Cost Management api-version; armsim and Azure accept it. */
#define COSTREPORT_API "2025-03-01"

/* Fresh reports requested when links expired before the first blob: a
 * link that expires twice in a row before a single byte arrived means a
 * clock or a storage account is wrong, and more reports would only spend
 * the scope's daily allowance (50). */
#define COSTREPORT_RENEWALS 2

/* One fetch. */
struct fetch {
	cb__session *s;
	const cb__costreport_request *req;
	const cb__costreport_sink *sink;
	cb__costreport_info *info;
	bool touched; /* a part_begin went to the sink: no renewal now */
	/* Storage's answer to the last expired link (403), for the error:
	 * status 0 when validTill said it. */
	int expired_status;
	char expired_rid[CB_HTTP_ID_MAX];
};

/* One blob being downloaded. */
struct blob {
	struct fetch *f;
	uint32_t part;
	const char *source; /* the link without its query */
	int64_t expect;     /* manifest byteCount */
	int64_t got;        /* bytes handed to the sink */
	bool begun;         /* part_begin called */
	int stop;           /* what our body callback returned, or 0 */
};

/* ------------------------------------------------------------------ */
/* Errors */

/*
 * Re-word the last error as "<ctx>: <message> (request id R)", keeping its
 * class and Azure detail; the request id is added unless the message
 * already holds it.  Returns code.
 */
static int
report_context(int code, const char *ctx)
{
	const cb_error *e = cb_error_last();
	char msg[CB_ERROR_MESSAGE_MAX], rid[CB_HTTP_ID_MAX], arm[128];
	int klass = e->klass, status = e->http_status;

	snprintf(msg, sizeof(msg), "%s", e->message);
	snprintf(rid, sizeof(rid), "%s", e->request_id ? e->request_id : "");
	snprintf(arm, sizeof(arm), "%s", e->arm_code ? e->arm_code : "");
	if (*rid != '\0' && strstr(msg, rid) == NULL)
		cb__error_set(
			code, klass, "%s: %s (request id %s)", ctx, msg, rid);
	else
		cb__error_set(code, klass, "%s: %s", ctx, msg);
	cb__error_set_http(status, *arm ? arm : NULL, *rid ? rid : NULL);
	return code;
}

/* ------------------------------------------------------------------ */
/* The request */

static bool
costreport_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* The value of n digits (checked by the caller). */
static int
costreport_num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* The request body into out: metric and one of timePeriod, invoiceId or
 * billingPeriod. */
static int
costreport_body(cb_buf *out, const cb__costreport_request *req)
{
	cb_json *doc = NULL;
	cb_json_node *root;
	char start[32], end[32];
	int y = 0, m = 0, error;
	int given = (req->period != NULL) + (req->invoice_id != NULL) +
		    (req->billing_period != NULL);

	if (given != 1)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"cost details report for %s: give exactly one of a "
			"period, an invoice id or a billing period",
			req->scope);
	if (req->period && !cb__month_parse(req->period, &y, &m))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"cost details report for %s: period '%.20s' is not "
			"YYYY-MM",
			req->scope, req->period);
	if (req->billing_period &&
		(strlen(req->billing_period) != 6 ||
			!costreport_digits(req->billing_period, 6)))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"cost details report for %s: billing period '%.20s' "
			"is not YYYYMM",
			req->scope, req->billing_period);
	if (req->invoice_id && *req->invoice_id == '\0')
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"cost details report for %s: the invoice id is empty",
			req->scope);
	if (req->metric != CB_COST_ACTUAL && req->metric != CB_COST_AMORTIZED)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"cost details report for %s: unknown metric %d",
			req->scope, (int)req->metric);

	if ((error = cb__json_new(&doc, "cost details request")) < 0)
		return error;
	root = cb__json_root_mut(doc);
	error = cb__json_set_string(doc, root, "metric",
		req->metric == CB_COST_AMORTIZED ? "AmortizedCost"
						 : "ActualCost");
	if (error == 0 && req->period) {
		/* cb__month_parse() bounds y to 4 digits, m to 1..12. */
		snprintf(start, sizeof(start), "%04d-%02d-01", y % 10000,
			m % 100);
		snprintf(end, sizeof(end), "%04d-%02d-%02d", y % 10000, m % 100,
			cb__days_in_month(y, m) % 100);
		if ((error = cb__json_set_string(
			     doc, root, "timePeriod.start", start)) == 0)
			error = cb__json_set_string(
				doc, root, "timePeriod.end", end);
	} else if (error == 0 && req->invoice_id) {
		error = cb__json_set_string(
			doc, root, "invoiceId", req->invoice_id);
	} else if (error == 0) {
		error = cb__json_set_string(
			doc, root, "billingPeriod", req->billing_period);
	}
	if (error == 0)
		error = cb__json_dump(out, root);
	cb__json_free(doc);
	return error;
}

/* ------------------------------------------------------------------ */
/* validTill */

/* "2022-05-10T08:08:46.1973252Z" as epoch milliseconds; false when it is
 * not such a time (the link is then trusted until storage says 403). */
static bool
costreport_parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	int64_t ms = 0, scale = 100;
	time_t t;

	if (s == NULL || strlen(s) < 20 || !costreport_digits(s, 4) ||
		s[4] != '-' || !costreport_digits(s + 5, 2) || s[7] != '-' ||
		!costreport_digits(s + 8, 2) ||
		(s[10] != 'T' && s[10] != 't') ||
		!costreport_digits(s + 11, 2) || s[13] != ':' ||
		!costreport_digits(s + 14, 2) || s[16] != ':' ||
		!costreport_digits(s + 17, 2))
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = costreport_num(s, 4) - 1900;
	tm.tm_mon = costreport_num(s + 5, 2) - 1;
	tm.tm_mday = costreport_num(s + 8, 2);
	tm.tm_hour = costreport_num(s + 11, 2);
	tm.tm_min = costreport_num(s + 14, 2);
	tm.tm_sec = costreport_num(s + 17, 2);
	s += 19;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			ms += (*s - '0') * scale;
	if ((*s != 'Z' && *s != 'z') || s[1] != '\0')
		return false;
	if ((t = timegm(&tm)) == (time_t)-1)
		return false;
	*out = (int64_t)t * 1000 + ms;
	return true;
}

static int64_t
costreport_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ */
/* Blobs */

static int
blob_begin(struct blob *b)
{
	const cb__costreport_sink *sink = b->f->sink;

	b->begun = true;
	b->f->touched = true;
	if (sink->part_begin == NULL)
		return 0;
	return sink->part_begin(b->part, b->source, b->expect, sink->payload);
}

static int
blob_body(const char *data, size_t len, void *payload)
{
	struct blob *b = payload;
	const cb__costreport_sink *sink = b->f->sink;
	int rc;

	if (!b->begun && (rc = blob_begin(b)) != 0)
		return b->stop = rc;
	if ((int64_t)len > b->expect - b->got)
		return b->stop = cb__error_set(CB_EIO, CB_ERRCLASS_HTTP,
			       "the download of blob %u of the report for %s "
			       "went past its %lld bytes",
			       b->part + 1, b->f->req->scope,
			       (long long)b->expect);
	b->got += (int64_t)len;
	if ((rc = sink->data(data, len, sink->payload)) != 0)
		return b->stop = rc;
	return 0;
}

/*
 * Download blob b from link into the sink.  *expired is set (and 0
 * returned) when storage answered 403 before any byte: the caller decides
 * between a fresh report and CB_ECONFLICT.
 */
static int
blob_download(struct blob *b, const char *link, bool *expired, char *why,
	size_t whylen)
{
	struct fetch *f = b->f;
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	cb_http_request hr = {
		.method = "GET",
		.url = link,
		.on_body = blob_body,
		.on_body_payload = b,
		/* GBs: no per-attempt timeout or deadline; the stall timeout
		 * still ends a dead transfer. */
		.timeout_ms = -1,
		.deadline_ms = -1,
	};
	const char *code;
	int rc;

	*expired = false;
	rc = cb__http_send(f->s->http, &hr, &resp);
	if (rc < 0 && b->stop != 0)
		goto done; /* the sink's or our own stop, message kept */
	if (resp.status >= 200 && resp.status < 300) {
		if (rc == 0 && !b->begun && (rc = blob_begin(b)) != 0)
			goto done;
		if (rc < 0 || b->got != b->expect) {
			rc = cb__error_set(CB_EIO, CB_ERRCLASS_HTTP,
				"the download of blob %u of the report for %s "
				"ended after %lld of %lld bytes",
				b->part + 1, f->req->scope, (long long)b->got,
				(long long)b->expect);
			cb__error_set_http(resp.status, NULL,
				*resp.request_id ? resp.request_id : NULL);
			goto done;
		}
		if (f->sink->part_end && (rc = f->sink->part_end(b->part,
						  f->sink->payload)) != 0)
			goto done;
		rc = 0;
		goto done;
	}
	code = cb__http_response_header(&resp, "x-ms-error-code");
	if (rc == 0 && resp.status == 403) {
		*expired = true;
		f->expired_status = resp.status;
		snprintf(f->expired_rid, sizeof(f->expired_rid), "%s",
			resp.request_id);
		snprintf(why, whylen, "blob %u: http 403%s%.64s%s%s",
			b->part + 1, code ? " " : "", code ? code : "",
			*resp.request_id ? ", request id " : "",
			resp.request_id);
		goto done;
	}
	if (rc == 0) {
		rc = cb__error_set(CB_EHTTP, CB_ERRCLASS_HTTP,
			"GET %s: http %d%s%.64s", b->source, resp.status,
			code ? " " : "", code ? code : "");
		cb__error_set_http(resp.status, NULL,
			*resp.request_id ? resp.request_id : NULL);
	}
	{
		char ctx[CB_ERROR_MESSAGE_MAX];

		snprintf(ctx, sizeof(ctx),
			"the download of blob %u of the report for %s",
			b->part + 1, f->req->scope);
		report_context(rc, ctx);
	}
done:
	cb__http_response_dispose(&resp);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The report */

/* Request a report through the limiter and wait for its end. */
static int
report_request(struct fetch *f, cb__costreport_limiter *lim, const char *url,
	const char *body, cb_json **out)
{
	char ctx[CB_ERROR_MESSAGE_MAX];
	int rc;

	if (lim &&
		(rc = cb__costreport_limiter_acquire(lim, f->req->scope)) < 0)
		return rc;
	if ((rc = cb__arm_lro_send(out, f->s->arm, "POST", url, body)) < 0) {
		if (rc == CB_ENOMEM)
			return rc;
		snprintf(ctx, sizeof(ctx), "cost details report for %s",
			f->req->scope);
		return report_context(rc, ctx);
	}
	if (*out == NULL)
		return cb__error_set(CB_EPARSE, CB_ERRCLASS_AZURE,
			"cost details report for %s: the operation ended "
			"without a result",
			f->req->scope);
	return 0;
}

/* A manifest field's error, naming the scope. */
static int
report_bad(struct fetch *f, int rc)
{
	char ctx[CB_ERROR_MESSAGE_MAX];

	if (rc == CB_ENOMEM)
		return rc;
	snprintf(ctx, sizeof(ctx), "cost details report for %s", f->req->scope);
	return report_context(rc, ctx);
}

/*
 * Read the result's status and manifest into f->info; *blobs_out is the
 * manifest's blob array (NULL with info->no_data).
 */
static int
report_read(struct fetch *f, const cb_json *doc, const cb_json_node **blobs_out,
	int64_t *valid_till)
{
	const cb_json_node *root = cb__json_root(doc), *manifest = NULL;
	const cb_json_node *blobs = NULL;
	const char *status = NULL, *name = "", *format = "Csv", *till = NULL;
	int64_t blob_count = -1, byte_count = -1, sum = 0, n;
	bool compressed = false;
	cb__costreport_info *info = f->info;
	const struct cb_json_field top[] = {
		{ "status", CB_JSON_FIELD_STRING, 0, &status },
		{ "name", CB_JSON_FIELD_STRING, CB_JSON_OPTIONAL, &name },
		{ "validTill", CB_JSON_FIELD_STRING, CB_JSON_OPTIONAL, &till },
		{ NULL, 0, 0, NULL },
	};
	const struct cb_json_field man[] = {
		{ "blobs", CB_JSON_FIELD_ARRAY, 0, &blobs },
		{ "blobCount", CB_JSON_FIELD_INT64, CB_JSON_OPTIONAL,
			&blob_count },
		{ "byteCount", CB_JSON_FIELD_INT64, CB_JSON_OPTIONAL,
			&byte_count },
		{ "compressData", CB_JSON_FIELD_BOOL, CB_JSON_OPTIONAL,
			&compressed },
		{ "dataFormat", CB_JSON_FIELD_STRING, CB_JSON_OPTIONAL,
			&format },
		{ NULL, 0, 0, NULL },
	};
	int rc;

	*blobs_out = NULL;
	*valid_till = INT64_MAX;
	if ((rc = cb__json_get_fields(doc, root, top)) < 0)
		return report_bad(f, rc);
	memset(info, 0, sizeof(*info));
	snprintf(info->operation_id, sizeof(info->operation_id), "%s", name);
	if (strcasecmp(status, "NoDataFound") == 0) {
		info->no_data = true;
		return 0;
	}
	if (strcasecmp(status, "Completed") != 0)
		return cb__error_set(CB_EHTTP, CB_ERRCLASS_AZURE,
			"cost details report for %s: operation %s ended with "
			"status '%.40s', not Completed or NoDataFound",
			f->req->scope, name, status);
	if ((rc = cb__json_get_object(&manifest, doc, root, "manifest", 0)) <
			0 ||
		(rc = cb__json_get_fields(doc, manifest, man)) < 0)
		return report_bad(f, rc);
	if (compressed || strcasecmp(format, "Csv") != 0)
		return cb__error_set(CB_EUNSUPPORTED, CB_ERRCLASS_AZURE,
			"cost details report for %s: operation %s has %s%s "
			"blobs; only uncompressed CSV is supported",
			f->req->scope, name, compressed ? "compressed " : "",
			format);
	n = (int64_t)cb__json_array_size(blobs);
	if (n > UINT32_MAX || (blob_count >= 0 && blob_count != n))
		return cb__error_set(CB_EPARSE, CB_ERRCLASS_AZURE,
			"cost details report for %s: operation %s lists %lld "
			"blobs, its blobCount says %lld",
			f->req->scope, name, (long long)n,
			(long long)blob_count);
	for (int64_t i = 0; i < n; i++) {
		const cb_json_node *blob = cb__json_array_get(blobs, (size_t)i);
		const char *link;
		int64_t bytes;

		if ((rc = cb__json_get_string(
			     &link, doc, blob, "blobLink", 0)) < 0 ||
			(rc = cb__json_get_int64(
				 &bytes, doc, blob, "byteCount", 0)) < 0)
			return report_bad(f, rc);
		if (bytes < 0 || sum > INT64_MAX - bytes)
			return cb__json_error(doc, blob, "byteCount",
				"%lld is not a byte count", (long long)bytes);
		sum += bytes;
	}
	if (byte_count >= 0 && byte_count != sum)
		return cb__error_set(CB_EPARSE, CB_ERRCLASS_AZURE,
			"cost details report for %s: operation %s's blobs "
			"add up to %lld bytes, its byteCount says %lld",
			f->req->scope, name, (long long)sum,
			(long long)byte_count);
	if (till && !costreport_parse_time(till, valid_till))
		cb__log(CB_LOG_DEBUG, "costreport",
			"cost details report %s: validTill '%.40s' unreadable; "
			"relying on storage to refuse an expired link",
			name, till);
	info->blob_count = (uint32_t)n;
	info->byte_count = sum;
	*blobs_out = blobs;
	return 0;
}

/* Storage's status and request id on the current error. */
static void
costreport_expired_detail(const struct fetch *f)
{
	if (f->expired_status != 0)
		cb__error_set_http(f->expired_status, NULL,
			*f->expired_rid ? f->expired_rid : NULL);
}

/*
 * Stream every blob of the manifest.  *expired: a link expired before
 * anything went to the sink (0 returned; why says which); once the sink
 * has begun, an expired link is CB_ECONFLICT.
 */
static int
report_download(struct fetch *f, const cb_json *doc, const cb_json_node *blobs,
	int64_t valid_till, bool *expired, char *why, size_t whylen)
{
	uint32_t n = f->info->blob_count;
	char source[CB_REDACTED_URL_MAX];
	int rc;

	*expired = false;
	for (uint32_t i = 0; i < n; i++) {
		const cb_json_node *node = cb__json_array_get(blobs, i);
		struct blob b = { .f = f, .part = i, .source = source };
		const char *link = NULL;

		if ((rc = cb__json_get_string(
			     &link, doc, node, "blobLink", 0)) < 0 ||
			(rc = cb__json_get_int64(
				 &b.expect, doc, node, "byteCount", 0)) < 0)
			return report_bad(f, rc);
		cb__redact_url(source, sizeof(source), link);
		if (costreport_wall_ms() >= valid_till) {
			*expired = true;
			f->expired_status = 0;
			f->expired_rid[0] = '\0';
			snprintf(why, whylen,
				"blob %u: validTill passed before its download",
				i + 1);
		} else if ((rc = blob_download(
				    &b, link, expired, why, whylen)) < 0) {
			return rc;
		}
		if (!*expired)
			continue;
		if (!f->touched)
			return 0;
		rc = cb__error_set(CB_ECONFLICT, CB_ERRCLASS_HTTP,
			"the download links of the report for %s expired "
			"mid-download (%s)",
			f->req->scope, why);
		costreport_expired_detail(f);
		return rc;
	}
	return 0;
}

int
cb__costreport_fetch(cb__session *s, cb__costreport_limiter *lim,
	const cb__costreport_request *req, const cb__costreport_sink *sink,
	cb__costreport_info *info)
{
	struct fetch f = { .s = s, .req = req, .sink = sink, .info = info };
	cb_buf path = CB_BUF_INIT, url = CB_BUF_INIT, body = CB_BUF_INIT;
	const cb_json_node *blobs;
	cb_json *doc = NULL;
	char why[256];
	int64_t valid_till;
	bool expired;
	int rc;

	CB_ASSERT_ARG(s);
	CB_ASSERT_ARG(req);
	CB_ASSERT_ARG(req->scope && *req->scope);
	CB_ASSERT_ARG(sink);
	CB_ASSERT_ARG(sink->data);
	CB_ASSERT_ARG(info);

	memset(info, 0, sizeof(*info));
	if ((rc = costreport_body(&body, req)) < 0 ||
		(rc = cb__buf_printf(&path,
			 "%s%s/providers/Microsoft.CostManagement/"
			 "generateCostDetailsReport",
			 *req->scope == '/' ? "" : "/", req->scope)) < 0 ||
		(rc = cb__arm_url(&url, s->arm, path.ptr, COSTREPORT_API)) < 0)
		goto done;

	for (unsigned renewals = 0;; renewals++) {
		cb__json_free(doc);
		doc = NULL;
		if ((rc = report_request(&f, lim, url.ptr, body.ptr, &doc)) <
				0 ||
			(rc = report_read(&f, doc, &blobs, &valid_till)) < 0)
			goto done;
		if (info->no_data) {
			cb__log(CB_LOG_INFO, "costreport",
				"cost details report %s for %s: no data",
				info->operation_id, req->scope);
			break;
		}
		cb__log(CB_LOG_INFO, "costreport",
			"cost details report %s for %s: %u blob%s, %lld bytes",
			info->operation_id, req->scope, info->blob_count,
			info->blob_count == 1 ? "" : "s",
			(long long)info->byte_count);
		if ((rc = report_download(&f, doc, blobs, valid_till, &expired,
			     why, sizeof(why))) < 0)
			goto done;
		if (!expired)
			break;
		if (renewals == COSTREPORT_RENEWALS) {
			rc = cb__error_set(CB_EHTTP, CB_ERRCLASS_HTTP,
				"the download links of the report for %s "
				"expired before the download began, %u reports "
				"in a row (%s)",
				req->scope, renewals + 1, why);
			costreport_expired_detail(&f);
			goto done;
		}
		cb__log(CB_LOG_WARN, "costreport",
			"cost details report %s for %s: download links "
			"expired (%s); requesting a fresh report",
			info->operation_id, req->scope, why);
	}
	rc = 0;
done:
	cb__json_free(doc);
	cb_buf_dispose(&path);
	cb_buf_dispose(&url);
	cb_buf_dispose(&body);
	return rc;
}
