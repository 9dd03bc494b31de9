/*
 * core/auth_token.c - reading what token endpoints answer.
 *
 * Three services answer token requests, in two dialects: Entra ID's v2
 * endpoint ({"token_type","expires_in","access_token"}, numbers as
 * numbers), and the managed identity endpoints (IMDS and App Service),
 * which send every number as a string and App Service only "expires_on".
 * Failures come as Entra's flat {"error","error_description",
 * "error_codes","correlation_id"}, App Service's {"statusCode","message"},
 * or ARM's {"error":{"code","message"}} from a proxy or armsim.  Whatever
 * the shape, the message names the endpoint and status and carries the
 * service's own words, and never the request's secret, assertion or a
 * token: only fields that cannot hold one are quoted.
 */
#include "core/common.h"
#include "core/auth.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"

#include <stdio.h>
#include <strings.h>

/*
 * Longest error_description kept in a message.  Entra's first line is
 * "AADSTSnnnnnn: <sentence or two>", about 100-300 bytes; the lines after
 * it (trace id, correlation id, timestamp) are dropped, the correlation id
 * goes to cb_error.request_id instead.
 */
#define DESCRIPTION_MAX 400

/* Longest expires_in believed: Entra issues 60-90 minutes, managed
 * identities up to 24 hours.  A year bounds arithmetic on it. */
#define EXPIRES_IN_MAX ((int64_t)366 * 24 * 3600)

/* The first line of s, scrubbed and cut to DESCRIPTION_MAX bytes. */
static void
first_line(char *out, size_t outlen, const char *s)
{
	char line[DESCRIPTION_MAX + 1];
	size_t n = strcspn(s, "\r\n");

	if (n > DESCRIPTION_MAX)
		n = DESCRIPTION_MAX;
	memcpy(line, s, n);
	line[n] = '\0';
	cb__log_scrub(out, outlen, line);
}

/* A string member, or NULL when absent or not a string. */
static const char *
member_string(const cb_json_node *object, const char *key)
{
	return cb__json_string_value(cb__json_object_get(object, key));
}

static int
token_error(int status, const char *body, size_t len, const char *endpoint)
{
	cb_json *doc = NULL;
	const cb_json_node *root, *inner;
	const char *code = NULL, *text = NULL, *correlation = NULL;
	char detail[DESCRIPTION_MAX + 64] = "";
	char code_buf[96] = "";
	int error;

	if (len > 0 && cb__json_parse(&doc, body, len, "token error") == 0) {
		root = cb__json_root(doc);
		inner = cb__json_object_get(root, "error");
		if (cb__json_type(inner) == CB_JSON_OBJECT) {
			/* ARM's shape. */
			code = member_string(inner, "code");
			text = member_string(inner, "message");
		} else {
			code = member_string(root, "error");
			text = member_string(root, "error_description");
			if (text == NULL)
				text = member_string(root, "message");
		}
		correlation = member_string(root, "correlation_id");
		if (correlation == NULL)
			correlation = member_string(root, "correlationId");
	}
	if (code != NULL && cb__auth_is_token_text(code, 64))
		snprintf(code_buf, sizeof(code_buf), " %s", code);
	else
		code = NULL;
	if (text != NULL && text[0] != '\0') {
		detail[0] = ':';
		detail[1] = ' ';
		first_line(detail + 2, sizeof(detail) - 2, text);
	}
	error = cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
		"token request to %s failed: http %d%s%s", endpoint, status,
		code_buf, detail);
	cb__error_set_http(status, code, correlation);
	cb__json_free(doc);
	return error;
}

/* cb__json_* failed reading a 2xx body: same message, CB_EAUTH. */
static int
as_auth_error(int error)
{
	char message[CB_ERROR_MESSAGE_MAX];

	if (error == CB_ENOMEM)
		return error;
	/* Copied first: setting an error clears the old message. */
	snprintf(message, sizeof(message), "%s", cb_error_last()->message);
	return cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH, "%s", message);
}

int
cb__auth_token_response(cb_buf *token, int64_t *expires_on, int status,
	const char *body, size_t len, const char *endpoint, int64_t now)
{
	char source[CB_REDACTED_URL_MAX + 32];
	const char *access = NULL, *type = NULL;
	int64_t expires_in = -1, expires_at = -1;
	cb_json *doc = NULL;
	int error;
	const struct cb_json_field fields[] = {
		{ "access_token", CB_JSON_FIELD_STRING, 0, &access },
		{ "token_type", CB_JSON_FIELD_STRING, CB_JSON_OPTIONAL, &type },
		{ "expires_in", CB_JSON_FIELD_INT64,
			CB_JSON_OPTIONAL | CB_JSON_NUMERIC_STRING,
			&expires_in },
		{ "expires_on", CB_JSON_FIELD_INT64,
			CB_JSON_OPTIONAL | CB_JSON_NUMERIC_STRING,
			&expires_at },
		{ NULL, CB_JSON_FIELD_STRING, 0, NULL },
	};

	if (status < 200 || status > 299)
		return token_error(status, body, len, endpoint);
	snprintf(source, sizeof(source), "token response from %s", endpoint);
	if ((error = cb__json_parse(&doc, body ? body : "", len, source)) < 0) {
		/* Not jansson's words: they may quote part of the body. */
		if (error == CB_ENOMEM)
			return error;
		return cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"%s: http %d with a body that is not JSON", source,
			status);
	}
	if (cb__json_type(cb__json_root(doc)) != CB_JSON_OBJECT) {
		error = cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"%s: expected a JSON object", source);
		goto done;
	}
	if ((error = cb__json_get_fields(doc, cb__json_root(doc), fields)) <
		0) {
		error = as_auth_error(error);
		goto done;
	}
	if (type != NULL && strcasecmp(type, "Bearer") != 0) {
		error = cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"%s: token_type is '%.32s', expected Bearer", source,
			cb__auth_is_token_text(type, 32) ? type : "?");
		goto done;
	}
	if (!cb__auth_is_token_text(access, CB__AUTH_TOKEN_MAX)) {
		error = cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"%s: access_token is empty, longer than %d bytes or "
			"holds a blank or control character",
			source, CB__AUTH_TOKEN_MAX);
		goto done;
	}
	if (expires_in > 0 && expires_in <= EXPIRES_IN_MAX) {
		*expires_on = now + expires_in;
	} else if (expires_in == -1 && expires_at > 0) {
		*expires_on = expires_at;
	} else {
		error = cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH, "%s: %s",
			source,
			expires_in == -1 ? "neither expires_in nor expires_on "
					   "is a positive number"
					 : "expires_in is out of range");
		goto done;
	}
	error = cb__buf_puts(token, access);
done:
	cb__json_free(doc);
	return error;
}

int
cb__auth_jwt_expiry(int64_t *exp, const char *token)
{
	const char *dot1 = strchr(token, '.'), *dot2;
	cb_buf claims = CB_BUF_INIT;
	cb_json *doc = NULL;
	int64_t value = 0;
	int error = CB_ENOTFOUND, rc = 0;

	if (dot1 == NULL || (dot2 = strchr(dot1 + 1, '.')) == NULL)
		return CB_ENOTFOUND;
	/* Not a JWT, or one without "exp": the expiry is unknown, which is
	 * not an error; only running out of memory is. */
	if ((rc = cb__auth_base64url_decode(
		     &claims, dot1 + 1, (size_t)(dot2 - dot1 - 1))) < 0 ||
		claims.size == 0 ||
		(rc = cb__json_parse(
			 &doc, claims.ptr, claims.size, "token claims")) < 0)
		goto done;
	rc = cb__json_get_int64(
		&value, doc, cb__json_root(doc), "exp", CB_JSON_OPTIONAL);
	if (rc == 0) {
		*exp = value;
		error = 0;
	}
done:
	if (rc == CB_ENOMEM)
		error = CB_ENOMEM;
	cb__json_free(doc);
	cb__auth_buf_wipe(&claims);
	return error;
}
