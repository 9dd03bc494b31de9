/*
 * core/arm.h - the Azure Resource Manager client every tenants/ file uses:
 * URLs, the bearer token, ARM error bodies, paging and long-running
 * operations, said once here.
 *
 * The one thing a reader must know: the token goes only to the management
 * endpoint.  Every URL the server hands us (nextLink, Location,
 * Azure-AsyncOperation) is checked to have the endpoint's scheme, host and
 * port before it is requested with the Authorization header; anything else
 * is CB_ESECURITY.  Such URLs are otherwise followed verbatim: they carry
 * their own api-version and continuation token, which we never touch.
 *
 * Layers: arm borrows a cb_http (core/http.h: transport, retries of
 * 408/429/5xx, Retry-After, throttling headers) and gets its token from a
 * provider callback, so it works with core/auth's cb_credential or a static
 * token in tests.  Bodies are cb_json documents (core/json.h): numbers keep
 * their digits, so money read from a page is exact.
 *
 * Errors.  A non-2xx answer becomes an error whose message names the method,
 * the URL without its query string, the status and the ARM error body:
 *   "GET https://management.azure.com/providers/Microsoft.Billing/
 *    billingAccounts/x/customers: http 404 NotFound: The billing account
 *    was not found (target: billingAccountName)"
 * with cb_error_last()->http_status, ->arm_code and ->request_id set, class
 * CB_ERRCLASS_AZURE (CB_ERRCLASS_HTTP when the body is not an ARM error).
 * Codes: 401/403 CB_EAUTH, 404 CB_ENOTFOUND, 409/412 CB_ECONFLICT, 429
 * (retries used up) CB_ETHROTTLED, anything else CB_EHTTP.  Transport
 * failures and deadlines keep core/http's code and message.
 *
 * Not thread-safe, because the cb_http it drives is not: one cb_arm per
 * thread (they may share a token provider that is thread-safe).
 */
#ifndef CB_CORE_ARM_H
#define CB_CORE_ARM_H

#include "chargeback/buf.h"
#include "core/http.h"
#include "core/json.h"

#include <stdbool.h>
#include <stdint.h>

/* Azure public cloud; US Gov and China have their own (auth's cb_cloud). */
#define CB_ARM_ENDPOINT_DEFAULT "https://management.azure.com"

/* Longest endpoint base URL accepted: a host and a port, or armsim's
 * "http://127.0.0.1:PORT/_armsim/plan/<name>" prefix, are far shorter. */
#define CB_ARM_ENDPOINT_MAX 256

/*
 * Most pages one listing follows: 10,000.  ARM pages hold 50-1,000 items;
 * the largest listing we make (every billing subscription of a partner's
 * billing account) is some 100,000 items, a few hundred pages.  The cap
 * stops a server that keeps inventing new nextLinks; a nextLink seen
 * before is refused at once (paging loop).
 */
#define CB_ARM_MAX_PAGES_DEFAULT 10000u

/*
 * Long-running operations.  Cost details reports take seconds to minutes
 * (Azure sends Retry-After: 60 on the 202); an hour bounds a report that
 * never finishes.  Without a Retry-After we wait 2 s, doubling to 30 s,
 * Azure SDKs' order of magnitude.  A Retry-After shorter than the minimum
 * (0 is legal) is raised to it, so a server answering "0" cannot make us
 * spin; tests lower the minimum.
 */
#define CB_ARM_LRO_DEADLINE_DEFAULT_MS 3600000L
#define CB_ARM_LRO_POLL_DEFAULT_MS     2000L
#define CB_ARM_LRO_POLL_MAX_MS         30000L
#define CB_ARM_LRO_POLL_MIN_MS         1000L

/*
 * The bearer token provider.  Append the access token for @p scope (NULL:
 * the provider's default, the management endpoint's "/.default") to @p out
 * and return 0, or set the error and return a negative code (CB_EAUTH...),
 * which the request returns as is.  Called once per request; a provider
 * caches its token (core/auth does).  The token is never logged or put in
 * a message; arm wipes its copies after each request.
 */
typedef int (*cb_arm_token_fn)(cb_buf *out, const char *scope, void *payload);

/* Monotonic milliseconds, and a sleep, for long-running operations; tests
 * replace them to run an hour-long deadline in no time. */
typedef int64_t (*cb_arm_clock_fn)(void *payload);
typedef void (*cb_arm_sleep_fn)(long ms, void *payload);

#define CB_ARM_OPTIONS_VERSION 1

typedef struct {
	int version;              /* CB_ARM_OPTIONS_VERSION */
	cb_http *http;            /* required; borrowed, outlives the client */
	const char *endpoint;     /* base URL; NULL: CB_ARM_ENDPOINT_DEFAULT;
				   * copied, trailing '/' dropped */
	cb_arm_token_fn token;    /* required */
	void *token_payload;      /* passed to token */
	const char *token_scope;  /* passed to token; NULL allowed; copied */
	unsigned max_pages;       /* per listing; 0: CB_ARM_MAX_PAGES_DEFAULT */
	long lro_deadline_ms;     /* whole operation; 0: the default */
	long lro_poll_default_ms; /* first wait without Retry-After; 0: dflt */
	long lro_poll_max_ms;     /* cap of that backoff; 0: the default */
	long lro_poll_min_ms;     /* floor of any wait; < 0: none, 0: dflt */
	cb_arm_clock_fn clock;    /* NULL: CLOCK_MONOTONIC */
	cb_arm_sleep_fn sleep;    /* NULL: nanosleep */
	void *clock_payload;      /* passed to clock and sleep */
} cb_arm_options;

#define CB_ARM_OPTIONS_INIT                       \
	{                                         \
		.version = CB_ARM_OPTIONS_VERSION \
	}

typedef struct cb_arm cb_arm;

/*
 * Create a client.  Returns 0, CB_EINVAL (no http or token, an endpoint
 * that is not "http[s]://host[:port][/prefix]" or has a query, user info or
 * fragment), or CB_ENOMEM.  *out (owned; cb__arm_free) untouched on failure.
 */
int cb__arm_new(cb_arm **out, const cb_arm_options *opts);

/* Release a client (not its cb_http).  NULL is a no-op. */
void cb__arm_free(cb_arm *arm);

/* The endpoint, without a trailing '/'.  Borrowed: valid until
 * cb__arm_free(). */
const char *cb__arm_endpoint(const cb_arm *arm);

/*
 * Append the URL of @p path to @p out: endpoint + "/" + path (one '/'
 * between them whatever path starts with) + "?api-version=" (or "&" when
 * path already has a query) + api_version, or nothing more when
 * api_version is NULL (path then carries its own query).  The path is kept
 * verbatim: billing account names such as
 * "00000000-0000-0000-0000-000000000000:11111111-1111-1111-1111-111111111111_2019-05-31"
 * keep their ':' and '_', '%' escapes stay as given; only bytes that can
 * never appear in a URL (controls, space, non-ASCII, "#<>\"\\^`{|}") are
 * percent-encoded, so a $filter with spaces can be written plainly.
 * Returns 0, CB_EINVAL (api_version not [0-9A-Za-z.-]+) or CB_ENOMEM.
 */
int cb__arm_url(cb_buf *out, const cb_arm *arm, const char *path,
	const char *api_version);

/*
 * Check that @p link (from a nextLink, Location or Azure-AsyncOperation)
 * may receive the token, and append its absolute form to @p out: an
 * absolute http(s) URL must have the endpoint's scheme, host (any case)
 * and port (":443" on https equals none), and no user info; a link
 * starting with a single '/' is taken relative to the endpoint's origin.
 * Otherwise CB_ESECURITY, naming @p what ("nextLink") and the link's
 * origin (never its path or query).  Returns 0, CB_ESECURITY or CB_ENOMEM.
 */
int cb__arm_check_link(
	cb_buf *out, const cb_arm *arm, const char *link, const char *what);

/* ------------------------------------------------------------------ */
/* Single requests. */

/* cb__arm_send flags: let core/http retry a POST after a 5xx, for requests
 * that change nothing (a Cost Management query). */
#define CB_ARM_RETRY_UNSAFE (1u << 0)

/*
 * One request to an absolute @p url (from cb__arm_url, or a checked link),
 * with Authorization, Accept and (with a body) Content-Type headers.
 * @p body is JSON text or NULL; @p flags 0 or CB_ARM_RETRY_UNSAFE.  On a
 * 2xx answer *out receives the parsed body (owned; cb__json_free), or NULL
 * when the body is empty (204); @p status_out (may be NULL) the status.
 * Otherwise the ARM error, as described at the top.  Returns 0, CB_ENOTFOUND,
 * CB_ECONFLICT, CB_EAUTH, CB_ETHROTTLED, CB_EHTTP, CB_EPARSE (a 2xx body that
 * is not JSON), CB_ESECURITY, CB_ETIMEOUT or CB_ENOMEM.
 */
int cb__arm_send(cb_json **out, int *status_out, cb_arm *arm,
	const char *method, const char *url, const char *body, unsigned flags);

/* cb__arm_send to cb__arm_url(path, api_version), by method. */
int cb__arm_get(
	cb_json **out, cb_arm *arm, const char *path, const char *api_version);
int cb__arm_put(cb_json **out, cb_arm *arm, const char *path,
	const char *api_version, const char *body);
int cb__arm_post(cb_json **out, cb_arm *arm, const char *path,
	const char *api_version, const char *body);
int cb__arm_delete(
	cb_json **out, cb_arm *arm, const char *path, const char *api_version);

/*
 * The two halves of cb__arm_send, for requests run concurrently through
 * cb__http_submit(): prepare fills req->http (headers owned by req, token
 * included), and cb__arm_result turns what came back into a document or an
 * ARM error.
 */
struct cb_arm_request {
	cb_http_request http;   /* ready to send; borrows from below */
	const char *headers[4]; /* NULL-ended; point into the buffers */
	cb_buf auth;            /* "Authorization: Bearer ..."; wiped */
	char *method;           /* owned copy */
	char *url;              /* owned copy */
	char *body;             /* owned copy, or NULL */
};

#define CB_ARM_REQUEST_INIT         \
	{                           \
		.auth = CB_BUF_INIT \
	}

/* Returns 0, CB_EINVAL, CB_ENOMEM or the token provider's code.  Always
 * release with cb__arm_request_dispose(). */
int cb__arm_request_prepare(struct cb_arm_request *req, cb_arm *arm,
	const char *method, const char *url, const char *body);

/* Wipe the token and release everything; reset to CB_ARM_REQUEST_INIT. */
void cb__arm_request_dispose(struct cb_arm_request *req);

/*
 * Interpret what cb__http_send/submit gave back for (method, url): a 2xx
 * answer is parsed into *out (NULL when empty); an error status (also one
 * core/http gave up retrying) becomes the ARM error; any other failure (no
 * answer, a broken transfer, the deadline) is returned as is.  Returns as
 * cb__arm_send.
 */
int cb__arm_result(cb_json **out, const char *method, const char *url,
	int http_error, const cb_http_response *resp);

/*
 * Record the error for a non-2xx answer (@p http_error is what core/http
 * returned: 0, or CB_ETHROTTLED / CB_EHTTP when it gave up retrying), reading
 * the ARM error body {"error":{"code","message","target","details"}} (or
 * the same members at the top level), and return its code.  Exposed for
 * tests and for tenants/ code that must inspect a status itself.
 */
int cb__arm_error_from_response(const char *method, const char *url,
	int http_error, const cb_http_response *resp);

/* ------------------------------------------------------------------ */
/* Paging. */

/*
 * Called once per page (a parsed body, borrowed until the callback
 * returns) or once per item (a node of that page).  Return 0 to go on; a
 * negative code (with the error set) stops the walk and is returned; a
 * positive value stops it early and is returned as is.
 */
typedef int (*cb_arm_page_fn)(const cb_json *page, void *payload);
typedef int (*cb_arm_item_fn)(
	const cb_json *page, const cb_json_node *item, void *payload);

/*
 * The general pager: send (method, url, body), hand the page to @p each,
 * read the next link at @p next_path ("nextLink", "properties.nextLink")
 * and repeat with the same method and body until the link is absent, null
 * or "".  Each link is checked (cb__arm_check_link) and requested
 * verbatim.  A link seen before in this walk is a paging loop and more
 * than max_pages pages is too many: both CB_EHTTP, naming the URL.  A 204
 * or empty body ends the walk without a call.  Returns 0, what @p each
 * returned, or a code of cb__arm_send.
 */
int cb__arm_pages(cb_arm *arm, const char *method, const char *url,
	const char *body, unsigned flags, const char *next_path,
	cb_arm_page_fn each, void *payload);

/*
 * An ARM list: GET path (with api-version), then every nextLink; @p each
 * is called for every element of each page's "value" array, in order (a
 * page without "value" is CB_EPARSE).
 */
int cb__arm_list(cb_arm *arm, const char *path, const char *api_version,
	cb_arm_item_fn each, void *payload);

/* The same, a page at a time (the page's "value" left to the caller). */
int cb__arm_list_pages(cb_arm *arm, const char *path, const char *api_version,
	cb_arm_page_fn each, void *payload);

/*
 * Cost Management Query / Forecast: POST @p body to path, hand each page
 * (properties.columns and properties.rows) to @p each, and re-POST the
 * same body to properties.nextLink until there is none.  The POST may be
 * retried on 5xx: a query changes nothing.
 */
int cb__arm_query(cb_arm *arm, const char *path, const char *api_version,
	const char *body, cb_arm_page_fn each, void *payload);

/* ------------------------------------------------------------------ */
/* Long-running operations. */

/*
 * Send (method, url, body) and, if the answer is 201 or 202 with an
 * Azure-AsyncOperation or Location header, follow the operation to its
 * end:
 *   - Azure-AsyncOperation (preferred when both are given): GET it until
 *     its "status" is Succeeded, Failed or Canceled (anything else, such
 *     as InProgress, means wait); then the result is a GET of Location if
 *     one was given, else of @p url for PUT and PATCH, else the status
 *     body itself (DELETE: none).
 *   - Location: GET it while it answers 202 (each 202 may name a new
 *     Location); a 200 or 201 body is the result, 204 means none.
 * Before every poll we wait the answer's Retry-After (or
 * x-ms-ratelimit-*-retry-after), else 2 s doubling to 30 s, never less
 * than lro_poll_min_ms; a wait that would end past the deadline is
 * CB_ETIMEOUT at once.  A result whose "status" (Cost Details: Completed,
 * NoDataFound, Failed) or "properties.provisioningState" is Failed, or an
 * operation that ends Failed, is CB_EHTTP; Canceled is CB_ECANCELED; both
 * carry the operation's error code (as arm_code) and message.  A 200 or
 * 204 to the first request, or a 201 naming no operation, is the result at
 * once.
 *
 * *out receives the result (owned; cb__json_free) or NULL when there is no
 * body.  Returns 0, CB_ECANCELED, CB_ETIMEOUT, CB_ESECURITY, or a code of
 * cb__arm_send.
 */
int cb__arm_lro_send(cb_json **out, cb_arm *arm, const char *method,
	const char *url, const char *body);

/* cb__arm_lro_send to cb__arm_url(path, api_version). */
int cb__arm_lro(cb_json **out, cb_arm *arm, const char *method,
	const char *path, const char *api_version, const char *body);

/* ------------------------------------------------------------------ */
/* Inside the module (core/arm*.c). */

/* The client.  Immutable after cb__arm_new. */
struct cb_arm {
	cb_http *http;            /* borrowed */
	char *endpoint;           /* owned; no trailing '/' */
	char *origin;             /* owned; "scheme://host[:port]" as given */
	char *scheme;             /* owned; lower case */
	char *host;               /* owned; lower case, IPv6 with brackets */
	unsigned port;            /* explicit, or 443 / 80 by scheme */
	cb_arm_token_fn token;    /* the provider */
	void *token_payload;      /* borrowed */
	char *token_scope;        /* owned, or NULL */
	unsigned max_pages;       /* >= 1 */
	long lro_deadline_ms;     /* > 0 */
	long lro_poll_default_ms; /* > 0 */
	long lro_poll_max_ms;     /* >= lro_poll_default_ms */
	long lro_poll_min_ms;     /* >= 0 */
	cb_arm_clock_fn clock;    /* never NULL */
	cb_arm_sleep_fn sleep;    /* never NULL */
	void *clock_payload;      /* borrowed */
};

/*
 * The error object of an ARM error body: doc's "error" member when it is
 * an object, else the top level when it has "code" or "message", else
 * NULL.  Borrowed from doc.
 */
const cb_json_node *cb__arm_error_node(const cb_json *doc);

/*
 * Describe an ARM error object into out: "Code: message (target: t)" then
 * "; Code: message" per entry of "details", each part only when present, a
 * code equal to @p status ("429") left out, secrets scrubbed.  *code_out
 * receives error.code (borrowed from the document) or NULL.  Returns false
 * (out "") when err has neither code nor message.
 */
bool cb__arm_error_describe(char *out, size_t outlen, const char **code_out,
	const cb_json_node *err, int status);

/* "METHOD url-without-query" into out, for messages. */
const char *cb__arm_where(
	char *out, size_t outlen, const char *method, const char *url);

/* Longest "METHOD url" kept for a message. */
#define CB_ARM_WHERE_MAX (16 + CB_REDACTED_URL_MAX)

#endif
