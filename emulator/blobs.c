/*
 * emulator/blobs.c - the cost details blobs: Azure Storage's side of a
 * report (azure-api-notes.md b.4).  A link is
 *
 *   /blobs/costdetails/{operationId}/part_{n}.csv?sv=...&se=...&sr=b
 *     &sp=r&sig=...
 *
 * and needs no bearer token; sig is HMAC-SHA256 over the path and the
 * expiry with the server's random key, base64url.  A missing or wrong
 * signature and a link past its expiry get Azure Storage's 403 with its
 * XML error body.  The CSV is generated as it is sent (costgen.h), never
 * held whole in memory; its length is the one the counting pass found.
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/costmgmt.h"
#include "emulator/entra.h"
#include "emulator/sas.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every how many rows the "malformed-csv" fault breaks one, and which. */
#define MALFORMED_EVERY 7
#define MALFORMED_AT    3
/* The comma a broken row loses to a stray quote: the row keeps its
 * length (so Content-Length holds) but has an unbalanced quote and one
 * field fewer. */
#define MALFORMED_COMMA 5

void
as_blob_sign(const unsigned char key[32], const char *path, const char *expiry,
	char *out, size_t outlen)
{
	unsigned char mac[AS_SAS_MAC_LEN];

	out[0] = '\0';
	if (as_sas_mac(key, 32, path, expiry, mac) != 0 ||
		as_b64url_encode(mac, sizeof(mac), out, outlen) < 0)
		out[0] = '\0';
}

/* ------------------------------------------------------------------ */
/* The writer: a counting pass and the download share it. */

int
as_cd_writer_open(as_cd_writer *w, const as_partner *p, const as_cost_filter *f,
	uint64_t first_row, uint64_t rows, bool malformed)
{
	memset(w, 0, sizeof(*w));
	w->skip = first_row;
	w->left = rows;
	w->row = first_row;
	w->malformed = malformed;
	return as_costgen_open(&w->g, p, f);
}

static void
malform(char *line, size_t len)
{
	size_t commas = 0;

	for (size_t i = 0; i < len; i++)
		if (line[i] == ',' && ++commas == MALFORMED_COMMA) {
			line[i] = '"';
			return;
		}
}

int
as_cd_writer_next(as_cd_writer *w, cb_buf *out)
{
	const as_cost_row *row;
	size_t at = out->size;

	if (!w->header_done) {
		w->header_done = true;
		return as_cost_csv_header(out) == 0 ? 1 : -1;
	}
	/* Rows of earlier parts: skipped here, outside the server lock. */
	for (; w->skip > 0; w->skip--)
		if (as_costgen_next(w->g, &row) != 1)
			return -1;
	if (w->left == 0)
		return 0;
	if (as_costgen_next(w->g, &row) != 1 || as_cost_csv_row(w->g, out))
		return -1;
	if (w->malformed && w->row % MALFORMED_EVERY == MALFORMED_AT)
		malform(out->ptr + at, out->size - at);
	w->left--;
	w->row++;
	return 1;
}

void
as_cd_writer_close(as_cd_writer *w)
{
	as_costgen_free(w->g);
	w->g = NULL;
}

/* ------------------------------------------------------------------ */
/* The download */

struct blob_stream {
	as_cd_writer w;
	cb_buf buf;
	size_t off;
	uint64_t sent, total;
};

static long
blob_read(void *ctx, uint64_t pos, char *out, size_t max)
{
	struct blob_stream *bs = ctx;
	size_t n;
	int rc = 1;

	/* libmicrohttpd reads in order; anything else is a bug here. */
	if (pos != bs->sent)
		return -1;
	/* Hand over a whole block per call: libmicrohttpd sends what each
	 * call returns at once, and one ~1 KB row per TLS record and write
	 * would hold downloads far below what the link carries. */
	if (bs->off > 0) {
		memmove(bs->buf.ptr, bs->buf.ptr + bs->off,
			bs->buf.size - bs->off + 1);
		bs->buf.size -= bs->off;
		bs->off = 0;
	}
	while (bs->buf.size < max && rc == 1)
		if ((rc = as_cd_writer_next(&bs->w, &bs->buf)) < 0)
			return -1;
	if (bs->buf.size == 0)
		return bs->sent == bs->total ? 0 : -1;
	n = bs->buf.size < max ? bs->buf.size : max;
	/* Never more than counted: a mismatch would break Content-Length. */
	if (bs->sent + n > bs->total)
		return -1;
	memcpy(out, bs->buf.ptr, n);
	bs->off = n;
	bs->sent += n;
	return (long)n;
}

static void
blob_stream_free(void *ctx)
{
	struct blob_stream *bs = ctx;

	as_cd_writer_close(&bs->w);
	cb_buf_dispose(&bs->buf);
	free(bs);
}

/* Azure Storage's error: XML, x-ms-error-code, and a RequestId. */
static int
storage_error(as_server *s, const as_req *req, as_resp *resp, int status,
	const char *code, const char *message, const char *detail)
{
	char now[40];
	uint64_t st = s->opt.seed ^ req->seq;
	char rid[AS_GUID_LEN + 1];

	as_rand_guid(&st, rid);
	as_cm_iso_time(req->now_ms, 7, now, sizeof(now));
	cb__buf_clear(&resp->body);
	resp->status = status;
	cb__buf_printf(&resp->body,
		"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>"
		"<Error><Code>%s</Code><Message>%s\nRequestId:%s\nTime:%s"
		"</Message>%s%s%s</Error>",
		code, message, rid, now,
		detail ? "<AuthenticationErrorDetail>" : "",
		detail ? detail : "",
		detail ? "</AuthenticationErrorDetail>" : "");
	as_resp_header(resp, "Content-Type", "application/xml");
	as_resp_header(resp, "x-ms-error-code", "%s", code);
	as_resp_header(resp, "x-ms-request-id", "%s", rid);
	return 0;
}

/* "part_3.csv" -> 3; -1 when it is not such a name. */
static long
part_number(const char *name)
{
	char *end;
	long n;

	if (strncmp(name, "part_", 5) != 0 || name[5] < '0' || name[5] > '9')
		return -1;
	n = strtol(name + 5, &end, 10);
	return strcmp(end, ".csv") == 0 && n >= 0 ? n : -1;
}

/* The signature and expiry: 0, or -1 with the 403 in resp. */
static int
check_sas(as_server *s, const as_req *req, as_resp *resp)
{
	char se[64], sig[128], want[64], detail[256], now[40];
	int64_t exp;

	if (as_req_query(req, "sig", sig, sizeof(sig)) != 0 ||
		as_req_query(req, "se", se, sizeof(se)) != 0 ||
		(exp = as_cm_parse_time(se)) == INT64_MIN) {
		return storage_error(s, req, resp, 403, "AuthenticationFailed",
			       AS_SAS_AUTH_FAILED,
			       "Signature fields not well formed.") -
		       1;
	}
	as_blob_sign(as_cd_key(s), req->path, se, want, sizeof(want));
	if (strlen(sig) != strlen(want) ||
		CRYPTO_memcmp(sig, want, strlen(want)) != 0) {
		/* Azure echoes the string to sign; it holds no secret. */
		snprintf(detail, sizeof(detail),
			"Signature did not match. String to sign used was "
			"r\n%.40s\n%.120s",
			se, req->path);
		return storage_error(s, req, resp, 403, "AuthenticationFailed",
			       AS_SAS_AUTH_FAILED, detail) -
		       1;
	}
	if (req->now_ms >= exp || as_faults_flag(s, req, "expired-link")) {
		as_cm_iso_time(req->now_ms, 0, now, sizeof(now));
		snprintf(detail, sizeof(detail),
			"Signature not valid in the specified time frame: "
			"Start [] - Expiry [%s] - Current [%s]",
			se, now);
		return storage_error(s, req, resp, 403, "AuthenticationFailed",
			       AS_SAS_AUTH_FAILED, detail) -
		       1;
	}
	return 0;
}

int
as_blob_get(as_server *s, as_req *req, as_resp *resp)
{
	long n = part_number(req->cap[1]);
	struct blob_stream *bs;
	as_cd_part part;

	if (check_sas(s, req, resp) != 0)
		return 0;
	if (n < 0 || as_cd_part_get(s, req->cap[0], (size_t)n, &part) != 0)
		return storage_error(s, req, resp, 404, "BlobNotFound",
			"The specified blob does not exist.", NULL);
	if ((bs = calloc(1, sizeof(*bs))) == NULL)
		return -1;
	if (as_cd_writer_open(&bs->w, s->partner, &part.filter, part.first_row,
		    part.rows, as_faults_flag(s, req, "malformed-csv")) != 0) {
		blob_stream_free(bs);
		return -1;
	}
	bs->total = part.bytes;
	resp->status = 200;
	resp->stream = blob_read;
	resp->stream_ctx = bs;
	resp->stream_free = blob_stream_free;
	resp->stream_len = part.bytes;
	as_resp_header(resp, "Content-Type", "text/csv");
	as_resp_header(resp, "x-ms-blob-type", "BlockBlob");
	return 0;
}
