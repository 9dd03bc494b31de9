/*
 * core/arm_error.c - ARM error bodies turned into cb_error.
 *
 * ARM answers a failure with {"error": {"code", "message", "target",
 * "details": [...], "additionalInfo": [...]}} (common-types ErrorResponse);
 * a few services put the members at the top level, Cost Management
 * throttling sends the status as the code ({"code": "429"}), and a proxy in
 * between may answer HTML.  Whatever arrives, the caller gets one line
 * naming the request, the status and what Azure said, plus the structured
 * fields (status, ARM code, x-ms-request-id) a support ticket needs.
 */
#include "core/common.h"
#include "core/arm.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

const cb_json_node *
cb__arm_error_node(const cb_json *doc)
{
	const cb_json_node *root = doc ? cb__json_root(doc) : NULL;
	const cb_json_node *err = cb__json_object_get(root, "error");

	if (cb__json_type(err) == CB_JSON_OBJECT)
		return err;
	if (cb__json_object_get(root, "code") != NULL ||
		cb__json_object_get(root, "message") != NULL)
		return root;
	return NULL;
}

/* A code may come as a string or, from some services, a number. */
static const char *
arm_error_text(const cb_json_node *obj, const char *key)
{
	const cb_json_node *n = cb__json_object_get(obj, key);
	const char *s = cb__json_string_value(n);

	if (s == NULL)
		s = cb__json_number_text(n);
	return s && *s ? s : NULL;
}

/* Append to out[*len..outlen) like snprintf, never past the end. */
static void arm_append(char *out, size_t outlen, size_t *len, const char *fmt,
	...) CB_FORMAT_PRINTF(4, 5);

static void
arm_append(char *out, size_t outlen, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len + 1 >= outlen)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *len, outlen - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + (size_t)n < outlen ? *len + (size_t)n
						 : outlen - 1;
}

/* "Code: message (target: t)", each part only when present. */
static void
arm_describe_one(char *out, size_t outlen, size_t *len, const char *code,
	const cb_json_node *err)
{
	const char *message = arm_error_text(err, "message");
	const char *target = arm_error_text(err, "target");

	if (code)
		arm_append(out, outlen, len, "%s", code);
	if (message)
		arm_append(out, outlen, len, "%s%s", code ? ": " : "", message);
	if (target)
		arm_append(out, outlen, len, "%s(target: %s)",
			code || message ? " " : "", target);
}

bool
cb__arm_error_describe(char *out, size_t outlen, const char **code_out,
	const cb_json_node *err, int status)
{
	char raw[CB_ERROR_MESSAGE_MAX];
	char status_text[16];
	const cb_json_node *details;
	const char *code = arm_error_text(err, "code");
	size_t len = 0;

	raw[0] = '\0';
	*code_out = code;
	if (code == NULL && arm_error_text(err, "message") == NULL) {
		snprintf(out, outlen, "%s", "");
		return false;
	}
	/* Cost Management's {"code": "429"} repeats the status: say it once. */
	snprintf(status_text, sizeof(status_text), "%d", status);
	arm_describe_one(raw, sizeof(raw), &len,
		code && strcmp(code, status_text) != 0 ? code : NULL, err);
	details = cb__json_object_get(err, "details");
	for (size_t i = 0; i < cb__json_array_size(details); i++) {
		const cb_json_node *d = cb__json_array_get(details, i);

		if (arm_error_text(d, "code") == NULL &&
			arm_error_text(d, "message") == NULL)
			continue;
		arm_append(raw, sizeof(raw), &len, "; ");
		arm_describe_one(
			raw, sizeof(raw), &len, arm_error_text(d, "code"), d);
	}
	/* Remote text may echo what we sent: never let a secret through. */
	cb__log_scrub(out, outlen, raw);
	return true;
}

static int
arm_error_code(int status, int http_error)
{
	if (http_error == CB_ETHROTTLED || status == 429)
		return CB_ETHROTTLED;
	switch (status) {
	case 401:
	case 403:
		return CB_EAUTH;
	case 404:
		return CB_ENOTFOUND;
	case 409:
	case 412:
		return CB_ECONFLICT;
	default:
		return CB_EHTTP;
	}
}

static bool
arm_body_is_blank(const cb_buf *body)
{
	for (size_t i = 0; i < body->size; i++)
		if (strchr(" \t\r\n", body->ptr[i]) == NULL)
			return false;
	return true;
}

int
cb__arm_error_from_response(const char *method, const char *url, int http_error,
	const cb_http_response *resp)
{
	char where[CB_ARM_WHERE_MAX];
	char desc[CB_ERROR_MESSAGE_MAX];
	char gave_up[64] = "";
	const char *arm_code = NULL;
	cb_json *doc = NULL;
	int status = resp->status;
	int code = arm_error_code(status, http_error);
	int error;

	cb__arm_where(where, sizeof(where), method, url);
	if (http_error < 0 && resp->attempts > 1)
		snprintf(gave_up, sizeof(gave_up),
			" (gave up after %u attempts)", resp->attempts);

	if (arm_body_is_blank(&resp->body)) {
		error = cb__error_set(code, CB_ERRCLASS_HTTP,
			"%s: http %d with an empty body%s", where, status,
			gave_up);
		goto done;
	}
	error = cb__json_parse(
		&doc, resp->body.ptr, resp->body.size, "error body");
	if (error == CB_ENOMEM)
		return error;
	if (error < 0) {
		error = cb__error_set(code, CB_ERRCLASS_HTTP,
			"%s: http %d with a non-JSON body%s", where, status,
			gave_up);
		goto done;
	}
	if (!cb__arm_error_describe(desc, sizeof(desc), &arm_code,
		    cb__arm_error_node(doc), status)) {
		error = cb__error_set(code, CB_ERRCLASS_HTTP,
			"%s: http %d with no ARM error in the body%s", where,
			status, gave_up);
		goto done;
	}
	/* "http 404 NotFound: ..." but "http 429: ..." when the code was
	 * only the status again. */
	{
		char status_text[16];
		bool code_shown;

		snprintf(status_text, sizeof(status_text), "%d", status);
		code_shown = arm_code && strcmp(arm_code, status_text) != 0;
		error = cb__error_set(code, CB_ERRCLASS_AZURE,
			"%s: http %d%s%s%s", where, status,
			desc[0] == '\0' ? ""
			: code_shown    ? " "
					: ": ",
			desc, gave_up);
	}
done:
	cb__error_set_http(status, arm_code, resp->request_id);
	cb__json_free(doc);
	return error;
}
