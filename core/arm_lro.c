/*
 * core/arm_lro.c - long-running operations: 201/202, then polling.
 *
 * Two flavours (ARM async-operations doc, notes b.2): Azure-AsyncOperation
 * names a status resource whose "status" ends Succeeded, Failed or
 * Canceled; Location names the result, which answers 202 until it is
 * ready.  Every API we use (cost details reports, invoice and price sheet
 * downloads, the 2024-04-01 policy PUT) is the Location kind; the other is
 * here because ARM lets any RP switch.  The waits are the server's
 * (Retry-After, read by core/http), bounded below so "0" cannot make us
 * spin and above by one deadline for the whole operation, which is checked
 * before sleeping: we never sleep only to give up afterwards.
 */
#include "core/common.h"
#include "core/arm.h"
#include "core/buf.h"
#include "core/log.h"

#include <stdio.h>
#include <strings.h>
#include <time.h>

/* One operation being followed. */
struct arm_lro {
	cb_arm *arm;                  /* borrowed */
	char where[CB_ARM_WHERE_MAX]; /* "POST url" of the first request */
	int64_t start_ms;             /* arm->clock at the first request */
	int64_t deadline_ms;          /* start_ms + lro_deadline_ms */
	long backoff_ms;              /* next wait without Retry-After */
	unsigned polls;               /* GETs made after the first request */
};

static int64_t
arm_wall_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait before the next poll as @p resp asks, or fail now if the wait
 * would end past the deadline. */
static int
arm_lro_wait(struct arm_lro *op, const cb_http_response *resp)
{
	cb_arm *arm = op->arm;
	long wait = cb__http_response_retry_after_ms(resp, arm_wall_clock_ms());
	int64_t now;

	if (wait < 0) {
		wait = op->backoff_ms;
		op->backoff_ms = op->backoff_ms > arm->lro_poll_max_ms / 2
					 ? arm->lro_poll_max_ms
					 : op->backoff_ms * 2;
	}
	if (wait < arm->lro_poll_min_ms)
		wait = arm->lro_poll_min_ms;
	now = arm->clock(arm->clock_payload);
	if (now + wait > op->deadline_ms)
		return cb__error_set(CB_ETIMEOUT, CB_ERRCLASS_HTTP,
			"%s: operation not done after %lld ms and %u poll%s; "
			"the next poll, in %ld ms, would pass the %ld ms "
			"deadline",
			op->where, (long long)(now - op->start_ms), op->polls,
			op->polls == 1 ? "" : "s", wait, arm->lro_deadline_ms);
	cb__log(CB_LOG_DEBUG, "arm",
		"%s: operation running, next poll in %ld ms", op->where, wait);
	arm->sleep(wait, arm->clock_payload);
	return 0;
}

/*
 * The end of an operation: "Failed" is CB_EHTTP, "Canceled" CB_ECANCELED,
 * with the operation's error object (or the document's) as detail.
 */
static int
arm_lro_failed(struct arm_lro *op, const char *state, const cb_json *doc,
	const cb_json_node *err, const cb_http_response *resp)
{
	char desc[CB_ERROR_MESSAGE_MAX];
	const char *code = NULL;
	int error;
	bool described;

	if (err == NULL)
		err = cb__arm_error_node(doc);
	described = cb__arm_error_describe(desc, sizeof(desc), &code, err, 0);
	error = cb__error_set(
		strcasecmp(state, "Canceled") == 0 ? CB_ECANCELED : CB_EHTTP,
		CB_ERRCLASS_AZURE, "%s: operation ended %s%s%s", op->where,
		state, described ? ": " : " with no error detail",
		described ? desc : "");
	cb__error_set_http(resp->status, code, resp->request_id);
	return error;
}

static bool
arm_state_is(const char *state, const char *want)
{
	return state != NULL && strcasecmp(state, want) == 0;
}

/* A result body that reports a failure: Cost Details' "status": "Failed",
 * a resource's "properties.provisioningState": "Failed" or "Canceled". */
static int
arm_lro_check_result(
	struct arm_lro *op, const cb_json *doc, const cb_http_response *resp)
{
	const cb_json_node *root = cb__json_root(doc);
	const char *states[2];

	states[0] = cb__json_string_value(cb__json_object_get(root, "status"));
	states[1] = cb__json_string_value(cb__json_object_get(
		cb__json_object_get(root, "properties"), "provisioningState"));
	for (size_t i = 0; i < CB_ARRAY_SIZE(states); i++)
		if (arm_state_is(states[i], "Failed") ||
			arm_state_is(states[i], "Canceled"))
			return arm_lro_failed(op, states[i], doc,
				cb__json_object_get(root, "error"), resp);
	return 0;
}

/* GET url (a checked link) into *resp, which the caller disposes. */
static int
arm_lro_get(struct arm_lro *op, cb_http_response *resp, const char *url)
{
	struct cb_arm_request req = CB_ARM_REQUEST_INIT;
	int error;

	cb__http_response_dispose(resp);
	if ((error = cb__arm_request_prepare(
		     &req, op->arm, "GET", url, NULL)) == 0)
		error = cb__http_send(op->arm->http, &req.http, resp);
	cb__arm_request_dispose(&req);
	op->polls++;
	return error;
}

/* A link from a header, checked for the token, replacing *out. */
static int
arm_lro_link(
	struct arm_lro *op, cb_buf *out, const char *link, const char *what)
{
	int error;

	cb__buf_clear(out);
	if ((error = cb__arm_check_link(out, op->arm, link, what)) < 0 &&
		error != CB_ENOMEM)
		cb__error_prefix("%s: ", op->where);
	return error;
}

/*
 * Poll Azure-AsyncOperation until a terminal status; *resp starts as the
 * answer that named it and ends as the last poll's.  On Succeeded, *status
 * holds the status body.
 */
static int
arm_lro_poll_async(struct arm_lro *op, cb_json **status, cb_http_response *resp,
	const char *url)
{
	cb_json *doc = NULL;
	const char *state;
	int error;

	for (;;) {
		cb__json_free(doc);
		doc = NULL;
		if ((error = arm_lro_wait(op, resp)) < 0)
			goto done;
		error = arm_lro_get(op, resp, url);
		if ((error = cb__arm_result(&doc, "GET", url, error, resp)) < 0)
			goto done;
		if (doc == NULL) {
			error = cb__error_set(CB_EPARSE, CB_ERRCLASS_AZURE,
				"%s: operation status: http %d with an empty "
				"body",
				op->where, resp->status);
			goto done;
		}
		if ((error = cb__json_get_string(
			     &state, doc, cb__json_root(doc), "status", 0)) < 0)
			goto done;
		if (arm_state_is(state, "Succeeded"))
			break;
		if (arm_state_is(state, "Failed") ||
			arm_state_is(state, "Canceled")) {
			error = arm_lro_failed(op, state, doc,
				cb__json_object_get(
					cb__json_root(doc), "error"),
				resp);
			goto done;
		}
	}
	*status = doc;
	doc = NULL;
	error = 0;
done:
	cb__json_free(doc);
	return error;
}

/*
 * Poll Location while it answers 202 (taking any new Location it names);
 * the first 2xx other than 202 is the result.  With wait_first false the
 * first GET goes at once (the operation already reported Succeeded).
 */
static int
arm_lro_poll_location(struct arm_lro *op, cb_json **out, cb_http_response *resp,
	cb_buf *url, bool wait_first)
{
	cb_json *doc = NULL;
	const char *moved;
	int error;

	for (;;) {
		if (wait_first && (error = arm_lro_wait(op, resp)) < 0)
			return error;
		wait_first = true;
		error = arm_lro_get(op, resp, url->ptr);
		if (error == 0 && resp->status == 202) {
			moved = cb__http_response_header(resp, "Location");
			if (moved && *moved &&
				(error = arm_lro_link(
					 op, url, moved, "Location")) < 0)
				return error;
			continue;
		}
		if ((error = cb__arm_result(
			     &doc, "GET", url->ptr, error, resp)) < 0)
			return error;
		break;
	}
	if (doc && (error = arm_lro_check_result(op, doc, resp)) < 0) {
		cb__json_free(doc);
		return error;
	}
	*out = doc;
	return 0;
}

int
cb__arm_lro_send(cb_json **out, cb_arm *arm, const char *method,
	const char *url, const char *body)
{
	struct cb_arm_request req = CB_ARM_REQUEST_INIT;
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	cb_buf async_url = CB_BUF_INIT, location = CB_BUF_INIT;
	struct arm_lro op;
	const char *async_hdr, *location_hdr;
	cb_json *doc = NULL;
	int error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(arm);
	CB_ASSERT_ARG(method);
	CB_ASSERT_ARG(url);

	memset(&op, 0, sizeof(op));
	op.arm = arm;
	cb__arm_where(op.where, sizeof(op.where), method, url);
	op.start_ms = arm->clock(arm->clock_payload);
	op.deadline_ms = op.start_ms + arm->lro_deadline_ms;
	op.backoff_ms = arm->lro_poll_default_ms;

	if ((error = cb__arm_request_prepare(&req, arm, method, url, body)) < 0)
		goto done;
	error = cb__http_send(arm->http, &req.http, &resp);
	cb__arm_request_dispose(&req);
	if (error < 0 || (resp.status != 201 && resp.status != 202)) {
		/* Done at once (200, 204), or failed. */
		if ((error = cb__arm_result(&doc, method, url, error, &resp)) ==
				0 &&
			doc)
			error = arm_lro_check_result(&op, doc, &resp);
		goto done;
	}

	async_hdr = cb__http_response_header(&resp, "Azure-AsyncOperation");
	location_hdr = cb__http_response_header(&resp, "Location");
	if (async_hdr && *async_hdr == '\0')
		async_hdr = NULL;
	if (location_hdr && *location_hdr == '\0')
		location_hdr = NULL;
	if (async_hdr == NULL && location_hdr == NULL) {
		if (resp.status == 201) {
			/* Created synchronously: the body is the resource. */
			if ((error = cb__arm_result(
				     &doc, method, url, 0, &resp)) == 0 &&
				doc)
				error = arm_lro_check_result(&op, doc, &resp);
			goto done;
		}
		error = cb__error_set(CB_EHTTP, CB_ERRCLASS_HTTP,
			"%s: http 202 without a Location or "
			"Azure-AsyncOperation header",
			op.where);
		cb__error_set_http(resp.status, NULL, resp.request_id);
		goto done;
	}
	if ((async_hdr && (error = arm_lro_link(&op, &async_url, async_hdr,
				   "Azure-AsyncOperation")) < 0) ||
		(location_hdr && (error = arm_lro_link(&op, &location,
					  location_hdr, "Location")) < 0))
		goto done;

	if (async_hdr == NULL) {
		error = arm_lro_poll_location(
			&op, &doc, &resp, &location, true);
		goto done;
	}
	if ((error = arm_lro_poll_async(&op, &doc, &resp, async_url.ptr)) < 0)
		goto done;
	/* Succeeded: where the result is depends on the method (ARM's
	 * final-state rules). */
	if (location_hdr) {
		cb__json_free(doc);
		doc = NULL;
		error = arm_lro_poll_location(
			&op, &doc, &resp, &location, false);
	} else if (strcasecmp(method, "PUT") == 0 ||
		   strcasecmp(method, "PATCH") == 0) {
		cb__json_free(doc);
		doc = NULL;
		if ((error = cb__buf_puts(&location, url)) == 0)
			error = arm_lro_poll_location(
				&op, &doc, &resp, &location, false);
	} else if (strcasecmp(method, "DELETE") == 0) {
		cb__json_free(doc);
		doc = NULL;
	}
done:
	if (error == 0) {
		*out = doc;
		doc = NULL;
	}
	cb__json_free(doc);
	cb__arm_request_dispose(&req);
	cb__http_response_dispose(&resp);
	cb_buf_dispose(&async_url);
	cb_buf_dispose(&location);
	return error;
}

int
cb__arm_lro(cb_json **out, cb_arm *arm, const char *method, const char *path,
	const char *api_version, const char *body)
{
	cb_buf url = CB_BUF_INIT;
	int error;

	CB_ASSERT_ARG(arm);
	if ((error = cb__arm_url(&url, arm, path, api_version)) == 0)
		error = cb__arm_lro_send(out, arm, method, url.ptr, body);
	cb_buf_dispose(&url);
	return error;
}
