/*
 * core/arm.c - the ARM client: endpoint, URLs, the token guard, and single
 * requests turned into documents or ARM errors.
 *
 * Everything that may carry the bearer token passes cb__arm_check_link or
 * is built by cb__arm_url from the endpoint, so the token can only ever go
 * to the endpoint's scheme, host and port.  Paging is in arm_paging.c,
 * long-running operations in arm_lro.c, error bodies in arm_error.c.
 */
#include "core/common.h"
#include "core/arm.h"
#include "core/buf.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

/* Scheme, host and port of a URL, parsed without allocating.  Hosts are
 * DNS names (at most 253 bytes) or bracketed IPv6 literals. */
struct arm_origin {
	char scheme[8];       /* "http" or "https", lower case */
	char host[256];       /* lower case, brackets kept */
	unsigned port;        /* explicit, else 443 / 80 */
	size_t authority_end; /* offset of what follows host[:port] */
};

static char
arm_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * Parse "scheme://host[:port]" at the start of url.  Returns 0, or -1 when
 * url is not an absolute http(s) URL with a plain host (user info is
 * refused: "https://management.azure.com@evil.example" must never look
 * like ours).
 */
static int
arm_origin_parse(struct arm_origin *o, const char *url)
{
	const char *p, *host, *host_end, *end;
	size_t n;

	memset(o, 0, sizeof(*o));
	if (strncasecmp(url, "https://", 8) == 0) {
		memcpy(o->scheme, "https", 6);
		o->port = 443;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		memcpy(o->scheme, "http", 5);
		o->port = 80;
		p = url + 7;
	} else {
		return -1;
	}
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)) != NULL)
		return -1;
	host = p;
	if (*p == '[') {
		host_end = memchr(p, ']', (size_t)(end - p));
		if (host_end == NULL)
			return -1;
		host_end++;
	} else {
		host_end = memchr(p, ':', (size_t)(end - p));
		if (host_end == NULL)
			host_end = end;
	}
	n = (size_t)(host_end - host);
	if (n == 0 || n >= sizeof(o->host))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)host[i];

		if (c <= ' ' || c >= 0x7f || c == '%' || c == '\\')
			return -1;
		o->host[i] = arm_lower((char)c);
	}
	if (host_end < end) {
		unsigned long port = 0;

		if (*host_end != ':' || host_end + 1 == end)
			return -1;
		for (p = host_end + 1; p < end; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			port = port * 10 + (unsigned long)(*p - '0');
			if (port > 65535)
				return -1;
		}
		if (port == 0)
			return -1;
		o->port = (unsigned)port;
	}
	o->authority_end = (size_t)(end - url);
	return 0;
}

static bool
arm_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int64_t
arm_default_clock(void *payload)
{
	struct timespec ts;

	CB_UNUSED(payload);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
arm_default_sleep(long ms, void *payload)
{
	struct timespec ts;

	CB_UNUSED(payload);
	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
cb__arm_new(cb_arm **out, const cb_arm_options *opts)
{
	cb_arm *arm = NULL;
	struct arm_origin o;
	const char *endpoint;
	size_t len;
	int error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(opts);
	CB_ASSERT_ARG(opts->version == CB_ARM_OPTIONS_VERSION);
	CB_ASSERT_ARG(opts->http);
	CB_ASSERT_ARG(opts->token);
	CB_ASSERT_ARG(opts->lro_deadline_ms >= 0);
	CB_ASSERT_ARG(opts->lro_poll_default_ms >= 0);
	CB_ASSERT_ARG(opts->lro_poll_max_ms >= 0);

	endpoint = opts->endpoint ? opts->endpoint : CB_ARM_ENDPOINT_DEFAULT;
	len = strlen(endpoint);
	while (len > 0 && endpoint[len - 1] == '/')
		len--;
	if (len == 0 || len > CB_ARM_ENDPOINT_MAX ||
		arm_origin_parse(&o, endpoint) < 0 ||
		strcspn(endpoint, "?#") < strlen(endpoint) ||
		arm_has_control(endpoint) || strchr(endpoint, ' ') != NULL)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_CONFIG,
			"arm endpoint '%.*s' is not http(s)://host[:port][/path]",
			CB_ARM_ENDPOINT_MAX, endpoint);

	if ((arm = cb__calloc(1, sizeof(*arm))) == NULL ||
		(arm->endpoint = cb__strndup(endpoint, len)) == NULL ||
		(arm->origin = cb__strndup(endpoint, o.authority_end)) ==
			NULL ||
		(arm->scheme = cb__strdup(o.scheme)) == NULL ||
		(arm->host = cb__strdup(o.host)) == NULL ||
		(opts->token_scope && (arm->token_scope = cb__strdup(
					       opts->token_scope)) == NULL)) {
		error = CB_ENOMEM;
		goto done;
	}
	arm->port = o.port;
	arm->http = opts->http;
	arm->token = opts->token;
	arm->token_payload = opts->token_payload;
	arm->max_pages =
		opts->max_pages ? opts->max_pages : CB_ARM_MAX_PAGES_DEFAULT;
	arm->lro_deadline_ms = opts->lro_deadline_ms
				       ? opts->lro_deadline_ms
				       : CB_ARM_LRO_DEADLINE_DEFAULT_MS;
	arm->lro_poll_default_ms = opts->lro_poll_default_ms
					   ? opts->lro_poll_default_ms
					   : CB_ARM_LRO_POLL_DEFAULT_MS;
	arm->lro_poll_max_ms = opts->lro_poll_max_ms ? opts->lro_poll_max_ms
						     : CB_ARM_LRO_POLL_MAX_MS;
	if (arm->lro_poll_max_ms < arm->lro_poll_default_ms)
		arm->lro_poll_max_ms = arm->lro_poll_default_ms;
	arm->lro_poll_min_ms = opts->lro_poll_min_ms < 0 ? 0
			       : opts->lro_poll_min_ms == 0
				       ? CB_ARM_LRO_POLL_MIN_MS
				       : opts->lro_poll_min_ms;
	arm->clock = opts->clock ? opts->clock : arm_default_clock;
	arm->sleep = opts->sleep ? opts->sleep : arm_default_sleep;
	arm->clock_payload = opts->clock_payload;

	*out = arm;
	arm = NULL;
	error = 0;
done:
	cb__arm_free(arm);
	return error;
}

void
cb__arm_free(cb_arm *arm)
{
	if (arm == NULL)
		return;
	cb__free(arm->endpoint);
	cb__free(arm->origin);
	cb__free(arm->scheme);
	cb__free(arm->host);
	cb__free(arm->token_scope);
	cb__free(arm);
}

const char *
cb__arm_endpoint(const cb_arm *arm)
{
	return arm->endpoint;
}

const char *
cb__arm_where(char *out, size_t outlen, const char *method, const char *url)
{
	char redacted[CB_REDACTED_URL_MAX];

	snprintf(out, outlen, "%s %s", method ? method : "GET",
		cb__redact_url(redacted, sizeof(redacted), url));
	return out;
}

/* Bytes that may never appear in a URL as such (RFC 3986: controls,
 * space, non-ASCII and the "unwise" set); everything else is kept. */
static bool
arm_url_byte_needs_escape(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || strchr("#<>\"\\^`{|}", c) != NULL;
}

static bool
arm_api_version_is_valid(const char *v)
{
	if (*v == '\0')
		return false;
	for (; *v; v++)
		if (!((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'z') ||
			    (*v >= 'A' && *v <= 'Z') || *v == '-' || *v == '.'))
			return false;
	return true;
}

int
cb__arm_url(cb_buf *out, const cb_arm *arm, const char *path,
	const char *api_version)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t before;
	int error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(arm);
	CB_ASSERT_ARG(path);
	if (strncasecmp(path, "http://", 7) == 0 ||
		strncasecmp(path, "https://", 8) == 0)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"arm path is an absolute url; links from the server go "
			"through cb__arm_check_link");
	if (api_version && !arm_api_version_is_valid(api_version))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"api-version '%.64s' is not [0-9A-Za-z.-]+",
			api_version);

	before = out->size;
	while (*path == '/')
		path++;
	if ((error = cb__buf_puts(out, arm->endpoint)) < 0 ||
		(error = cb__buf_putc(out, '/')) < 0)
		goto fail;
	for (const char *p = path; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (!arm_url_byte_needs_escape(c))
			error = cb__buf_putc(out, (char)c);
		else if ((error = cb__buf_putc(out, '%')) == 0 &&
			 (error = cb__buf_putc(out, hex[c >> 4])) == 0)
			error = cb__buf_putc(out, hex[c & 15]);
		if (error < 0)
			goto fail;
	}
	if (api_version &&
		(error = cb__buf_printf(out, "%capi-version=%s",
			 strchr(path, '?') ? '&' : '?', api_version)) < 0)
		goto fail;
	return 0;
fail:
	out->size = before;
	if (out->ptr)
		out->ptr[before] = '\0';
	return error;
}

int
cb__arm_check_link(
	cb_buf *out, const cb_arm *arm, const char *link, const char *what)
{
	struct arm_origin o;
	char shown[CB_REDACTED_URL_MAX];

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(arm);
	CB_ASSERT_ARG(link);
	if (what == NULL)
		what = "link";
	if (arm_has_control(link) || strchr(link, ' ') != NULL)
		return cb__error_set(CB_ESECURITY, CB_ERRCLASS_HTTP,
			"refusing %s with control characters or spaces", what);
	if (link[0] == '/' && link[1] != '/') {
		if (cb__buf_puts(out, arm->origin) < 0 ||
			cb__buf_puts(out, link) < 0)
			return CB_ENOMEM;
		return 0;
	}
	if (arm_origin_parse(&o, link) < 0)
		return cb__error_set(CB_ESECURITY, CB_ERRCLASS_HTTP,
			"refusing %s: not an absolute http(s) url with a plain "
			"host",
			what);
	if (strcmp(o.scheme, arm->scheme) != 0 ||
		strcmp(o.host, arm->host) != 0 || o.port != arm->port) {
		size_t n = o.authority_end + 1 < sizeof(shown)
				   ? o.authority_end + 1
				   : sizeof(shown);

		return cb__error_set(CB_ESECURITY, CB_ERRCLASS_HTTP,
			"refusing %s to '%s': not the management endpoint "
			"'%s', the token must not go there",
			what, cb__redact_url(shown, n, link), arm->origin);
	}
	return cb__buf_puts(out, link) < 0 ? CB_ENOMEM : 0;
}

/* Overwrite memory that held a token before it is freed; volatile so the
 * stores are not optimised away as dead. */
static void
arm_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

static void
arm_buf_wipe_dispose(cb_buf *buf)
{
	if (buf->ptr)
		arm_wipe(buf->ptr, buf->asize);
	cb_buf_dispose(buf);
}

/* Token bytes allowed in a header value: RFC 6750's b64token set, which
 * covers JWTs; anything else could smuggle a header line. */
static bool
arm_token_is_valid(const char *t, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') ||
			    strchr("-._~+/=", c) != NULL) ||
			c == '\0')
			return false;
	}
	return true;
}

static const char arm_bearer[] = "Authorization: Bearer ";

/* Entra ID access tokens are JWTs of 1-4 KB (more with many group
 * claims); 8 KB holds them without the buffer growing. */
#define ARM_TOKEN_ROOM 8192

int
cb__arm_request_prepare(struct cb_arm_request *req, cb_arm *arm,
	const char *method, const char *url, const char *body)
{
	cb_buf token = CB_BUF_INIT;
	size_t h = 0;
	int error;

	CB_ASSERT_ARG(req);
	CB_ASSERT_ARG(arm);
	CB_ASSERT_ARG(method);
	CB_ASSERT_ARG(url);

	if ((req->method = cb__strdup(method)) == NULL ||
		(req->url = cb__strdup(url)) == NULL ||
		(body && (req->body = cb__strdup(body)) == NULL)) {
		error = CB_ENOMEM;
		goto done;
	}
	/* Room for any real token up front, so the provider's writes do not
	 * reallocate and leave unwiped copies behind. */
	if ((error = cb__buf_grow(&token, ARM_TOKEN_ROOM)) < 0 ||
		(error = arm->token(
			 &token, arm->token_scope, arm->token_payload)) < 0)
		goto done;
	if (!arm_token_is_valid(token.ptr, token.size)) {
		error = cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"the token provider gave %s",
			token.size ? "a token with bytes not allowed in a "
				     "bearer token"
				   : "an empty token");
		goto done;
	}
	/* One allocation of the final size: growing would leave partial
	 * copies of the token in freed memory. */
	if ((error = cb__buf_grow(
		     &req->auth, sizeof(arm_bearer) + token.size)) < 0 ||
		(error = cb__buf_puts(&req->auth, arm_bearer)) < 0 ||
		(error = cb__buf_put(&req->auth, token.ptr, token.size)) < 0)
		goto done;

	req->headers[h++] = req->auth.ptr;
	req->headers[h++] = "Accept: application/json";
	if (body)
		req->headers[h++] = "Content-Type: application/json";
	req->headers[h] = NULL;
	memset(&req->http, 0, sizeof(req->http));
	req->http.method = req->method;
	req->http.url = req->url;
	req->http.headers = req->headers;
	req->http.body = req->body;
	req->http.body_len = req->body ? strlen(req->body) : 0;
	error = 0;
done:
	arm_buf_wipe_dispose(&token);
	return error;
}

void
cb__arm_request_dispose(struct cb_arm_request *req)
{
	if (req == NULL)
		return;
	arm_buf_wipe_dispose(&req->auth);
	cb__free(req->method);
	cb__free(req->url);
	cb__free(req->body);
	memset(req, 0, sizeof(*req));
}

int
cb__arm_result(cb_json **out, const char *method, const char *url,
	int http_error, const cb_http_response *resp)
{
	char where[CB_ARM_WHERE_MAX];
	char source[CB_ARM_WHERE_MAX + 16];
	const char *p;
	size_t n;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(method);
	CB_ASSERT_ARG(url);
	CB_ASSERT_ARG(resp);

	/* An error status core/http gave up retrying (429, 5xx) is read
	 * like any other; no answer, a broken transfer or a deadline keep
	 * core/http's message, which says it all. */
	if (http_error < 0) {
		if ((http_error == CB_ETHROTTLED || http_error == CB_EHTTP) &&
			resp->status >= 300)
			return cb__arm_error_from_response(
				method, url, http_error, resp);
		return http_error;
	}
	if (resp->status < 200 || resp->status > 299)
		return cb__arm_error_from_response(method, url, 0, resp);

	p = resp->body.ptr;
	n = resp->body.size;
	while (n > 0 && strchr(" \t\r\n", *p) != NULL) {
		p++;
		n--;
	}
	if (n == 0) {
		*out = NULL;
		return 0;
	}
	/* Names the body in JSON messages: "GET url: response:1:1: ...",
	 * "GET url: response: value[3].name: expected a string...". */
	cb__arm_where(where, sizeof(where), method, url);
	snprintf(source, sizeof(source), "%s: response", where);
	return cb__json_parse(out, resp->body.ptr, resp->body.size, source);
}

int
cb__arm_send(cb_json **out, int *status_out, cb_arm *arm, const char *method,
	const char *url, const char *body, unsigned flags)
{
	struct cb_arm_request req = CB_ARM_REQUEST_INIT;
	cb_http_response resp = CB_HTTP_RESPONSE_INIT;
	int error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(arm);

	if ((error = cb__arm_request_prepare(&req, arm, method, url, body)) < 0)
		goto done;
	req.http.retry_unsafe = (flags & CB_ARM_RETRY_UNSAFE) != 0;
	error = cb__http_send(arm->http, &req.http, &resp);
	error = cb__arm_result(out, method, url, error, &resp);
	if (error == 0 && status_out)
		*status_out = resp.status;
done:
	cb__arm_request_dispose(&req);
	cb__http_response_dispose(&resp);
	return error;
}

static int
arm_call(cb_json **out, cb_arm *arm, const char *method, const char *path,
	const char *api_version, const char *body)
{
	cb_buf url = CB_BUF_INIT;
	int error;

	CB_ASSERT_ARG(arm);
	if ((error = cb__arm_url(&url, arm, path, api_version)) == 0)
		error = cb__arm_send(out, NULL, arm, method, url.ptr, body, 0);
	cb_buf_dispose(&url);
	return error;
}

int
cb__arm_get(
	cb_json **out, cb_arm *arm, const char *path, const char *api_version)
{
	return arm_call(out, arm, "GET", path, api_version, NULL);
}

int
cb__arm_put(cb_json **out, cb_arm *arm, const char *path,
	const char *api_version, const char *body)
{
	return arm_call(out, arm, "PUT", path, api_version, body);
}

int
cb__arm_post(cb_json **out, cb_arm *arm, const char *path,
	const char *api_version, const char *body)
{
	return arm_call(out, arm, "POST", path, api_version, body);
}

int
cb__arm_delete(
	cb_json **out, cb_arm *arm, const char *path, const char *api_version)
{
	return arm_call(out, arm, "DELETE", path, api_version, NULL);
}
