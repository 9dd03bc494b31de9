/*
 * core/http.h - the library's only HTTP client (libcurl stays inside
 * core/http.c; no curl type appears here).
 *
 * One cb_http is a connection pool plus an executor.  Every request goes
 * through the same engine: a libcurl multi handle (connections, TLS
 * sessions and DNS answers are reused across requests; HTTP/2 is
 * negotiated where the server offers it), with retries, backoff and the
 * Azure throttling headers handled here once, so no caller re-implements
 * them.  cb__http_send() is the blocking form, cb__http_submit() +
 * cb__http_run() the concurrent one (bounded by max_parallel; a request
 * waiting out its Retry-After holds no slot and blocks nobody).
 *
 * What a caller gets back, precisely (cb__http_send and every completion):
 *
 *   0              a final HTTP answer: any status that is not retried
 *                  (2xx, 3xx, and every 4xx but 408/429, plus 5xx other
 *                  than 500/502/503/504, and a 5xx to a non-idempotent
 *                  request without retry_unsafe), after any retries.
 *                  The caller interprets the status and the body (ARM
 *                  error bodies).
 *   CB_ETHROTTLED  max_attempts used up and the last answer was 429.
 *   CB_EHTTP       max_attempts used up and the last answer was 408 or
 *                  500/502/503/504; or a transport failure (connection,
 *                  TLS handshake, truncated body, bad gzip) that was not
 *                  or could no longer be retried; the message carries
 *                  libcurl's error text.
 *   CB_ETIMEOUT    the overall deadline passed, or the wait a server asked
 *                  for (or our backoff) would end after it: we give up
 *                  now rather than sleep in vain.
 *   CB_ESECURITY   plain http to a host that is neither loopback nor
 *                  the metadata service (169.254.169.254), or a TLS
 *                  certificate that does not verify.
 *   CB_ETOOBIG     a buffered body over max_body_bytes, or headers over
 *                  CB_HTTP_HEADERS_MAX.
 *   CB_ENOMEM, CB_EINVAL, CB_ECANCELED (cb__http_abort, or a body
 *                  callback returning a positive value), or whatever
 *                  negative code a body callback returned (its own message
 *                  is kept).
 *
 * With ETHROTTLED, EHTTP-after-a-status and ETIMEOUT-after-a-status the
 * response still holds the last answer (status, headers, body), and
 * cb_error_last() carries the status and x-ms-request-id; after any other
 * failure it holds whatever arrived, which is not an answer.  Messages name
 * the method and the URL without its query string and never include a
 * header or a body.
 *
 * Retried: 408, 429, 500, 502, 503, 504 and transport failures.  429 and
 * 408 mean the server did not process the request, and a failure to
 * connect means it never saw it, so those are retried for every method;
 * 5xx and failures after the request was sent are retried only for
 * idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) or when the request
 * says retry_unsafe (an ARM query POST is safe to repeat).  The wait is
 * the longest of Retry-After (seconds or HTTP-date) and every
 * x-ms-ratelimit-*-retry-after header; with none, exponential backoff with
 * full jitter, capped at backoff_max_ms.  A streamed body is retried only
 * while no byte has reached the callback.
 *
 * Not thread-safe: one thread drives a cb_http at a time (use one per
 * thread, or the executor for parallelism).  cb_init() must have run.
 */
#ifndef CB_CORE_HTTP_H
#define CB_CORE_HTTP_H

#include "chargeback/buf.h"

#include <stdint.h>

/* Biggest buffered body by default: an ARM list page is a few hundred KB
 * and a Cost Management query result a few MB; 64 MiB leaves an order of
 * magnitude of room while bounding what a misbehaving server can make us
 * hold.  Cost report blobs (GBs) are streamed, never buffered. */
#define CB_HTTP_MAX_BODY_DEFAULT ((size_t)64 << 20)

/* All response headers together: ARM sends about 2 KB; curl itself stops a
 * single line at 100 KB.  Past 256 KB something is wrong. */
#define CB_HTTP_HEADERS_MAX ((size_t)256 << 10)

/* x-ms-request-id and x-ms-client-request-id are GUIDs (36 characters);
 * a longer value from a non-Azure server is truncated. */
#define CB_HTTP_ID_MAX 64

/* Per-attempt timeout: ARM answers reads in well under a minute and its
 * own gateway gives up after about 60 s; twice that is a hung connection. */
#define CB_HTTP_TIMEOUT_DEFAULT_MS 120000L
/* TCP + TLS set-up; Azure front doors answer in tens of milliseconds. */
#define CB_HTTP_CONNECT_TIMEOUT_DEFAULT_MS 10000L
/* One logical request, retries and waits included: long enough to sit out
 * an ARM token bucket refill or a Cost Management QPU minute (60 s) a few
 * times, short enough that a run does not hang on a dead endpoint. */
#define CB_HTTP_DEADLINE_DEFAULT_MS 300000L
/* Azure SDKs retry 3 times after the first try (4 attempts); we allow one
 * more because throttling is the normal case for cost queries. */
#define CB_HTTP_MAX_ATTEMPTS_DEFAULT 5
/* ARM's read bucket refills 25 per second per principal; 8 requests in
 * flight with ~300 ms latency stays under it without any throttling. */
#define CB_HTTP_MAX_PARALLEL_DEFAULT 8
/* Backoff when the server names no wait: 0.5 s, 1 s, 2 s... up to 30 s,
 * each drawn uniformly from [0, cap] (full jitter). */
#define CB_HTTP_BACKOFF_BASE_DEFAULT_MS 500L
#define CB_HTTP_BACKOFF_MAX_DEFAULT_MS  30000L
/* A transfer that moves no byte for this long is dead, even when the
 * per-attempt timeout is off (cost report blobs). */
#define CB_HTTP_STALL_DEFAULT_MS 120000L

#define CB_HTTP_OPTIONS_VERSION 1

/* Client options.  Durations in milliseconds; 0 in a duration means "no
 * limit" except connect_timeout_ms (0 = libcurl's 300 s). */
typedef struct {
	int version;             /* CB_HTTP_OPTIONS_VERSION */
	long timeout_ms;         /* one attempt, start to last byte */
	long connect_timeout_ms; /* TCP + TLS handshake of one attempt */
	long stall_timeout_ms;   /* abort an attempt idle this long */
	long deadline_ms;        /* one request, all attempts and waits */
	unsigned max_attempts;   /* first try included; >= 1 */
	unsigned max_parallel;   /* transfers in flight in cb__http_run */
	long backoff_base_ms;    /* first backoff cap; doubles per attempt */
	long backoff_max_ms;     /* largest backoff cap */
	size_t max_body_bytes;   /* cap on a buffered body (CB_ETOOBIG) */
	/* Extra CA certificates (PEM) trusted in addition to the system
	 * store, e.g. armsim's; copied.  NULL: the system store only. */
	const char *ca_file;
	/* The system store to add ca_file to; NULL: libcurl's default
	 * bundle.  Tests point it at a throwaway CA; copied. */
	const char *ca_system_file;
	const char *user_agent; /* NULL: "chargeback/<version>"; copied */
	uint64_t rng_seed;      /* jitter seed; 0: from getrandom() */
} cb_http_options;

#define CB_HTTP_OPTIONS_INIT                                              \
	{                                                                 \
		.version = CB_HTTP_OPTIONS_VERSION,                       \
		.timeout_ms = CB_HTTP_TIMEOUT_DEFAULT_MS,                 \
		.connect_timeout_ms = CB_HTTP_CONNECT_TIMEOUT_DEFAULT_MS, \
		.stall_timeout_ms = CB_HTTP_STALL_DEFAULT_MS,             \
		.deadline_ms = CB_HTTP_DEADLINE_DEFAULT_MS,               \
		.max_attempts = CB_HTTP_MAX_ATTEMPTS_DEFAULT,             \
		.max_parallel = CB_HTTP_MAX_PARALLEL_DEFAULT,             \
		.backoff_base_ms = CB_HTTP_BACKOFF_BASE_DEFAULT_MS,       \
		.backoff_max_ms = CB_HTTP_BACKOFF_MAX_DEFAULT_MS,         \
		.max_body_bytes = CB_HTTP_MAX_BODY_DEFAULT,               \
	}

/*
 * Receives a 2xx body as it arrives, in order, decoded (gzip).  Return 0 to
 * continue; a negative cb_error_code (after setting the error) aborts the
 * request with that code and message; a positive value aborts it with
 * CB_ECANCELED.  Called from inside cb__http_send/cb__http_run: it must not
 * call back into the same cb_http.
 */
typedef int (*cb_http_body_cb)(const char *data, size_t len, void *payload);

/* One logical request.  Everything is borrowed for the duration of the
 * call (cb__http_submit copies what it needs). */
typedef struct {
	const char *method;         /* "GET" when NULL */
	const char *url;            /* absolute http(s) URL */
	const char *const *headers; /* "Name: value" strings, NULL-ended */
	const void *body;           /* request body, or NULL */
	size_t body_len;            /* bytes at body */
	cb_http_body_cb on_body;    /* stream a 2xx body here, or NULL */
	void *on_body_payload;      /* passed to on_body */
	bool retry_unsafe;          /* retry 5xx even if not idempotent */
	long timeout_ms;            /* 0: the client's; < 0: none */
	long deadline_ms;           /* 0: the client's; < 0: none */
} cb_http_request;

/* A response header; both strings borrowed from the response. */
typedef struct {
	const char *name;  /* as the server spelled it */
	const char *value; /* leading and trailing blanks removed */
} cb_http_header;

/* The outcome of a request.  Start from CB_HTTP_RESPONSE_INIT and always
 * release with cb__http_response_dispose(), whatever the call returned. */
typedef struct {
	int status;  /* HTTP status of the last answer, 0 if none */
	cb_buf body; /* last body, unless streamed to on_body; owned */
	cb_http_header *headers; /* last answer's headers, in order; owned */
	size_t header_count;     /* entries in headers */
	char request_id[CB_HTTP_ID_MAX];        /* x-ms-request-id or "" */
	char client_request_id[CB_HTTP_ID_MAX]; /* what we sent */
	unsigned attempts;  /* attempts made (1 = no retry) */
	long waited_ms;     /* time spent waiting between attempts */
	long elapsed_ms;    /* first attempt start to completion */
	cb_buf header_data; /* storage behind headers; private */
} cb_http_response;

#define CB_HTTP_RESPONSE_INIT                                               \
	{                                                                   \
		0, CB_BUF_INIT, NULL, 0, { 0 }, { 0 }, 0, 0, 0, CB_BUF_INIT \
	}

typedef struct cb_http cb_http;

/*
 * Called once per submitted request, from cb__http_run(), with the code
 * the blocking call would have returned; cb_error_last() describes it.
 * May submit more requests (they run in the same cb__http_run), or call
 * cb__http_abort(); must not call cb__http_run or cb__http_send.
 */
typedef void (*cb_http_done_cb)(
	int error, cb_http_response *resp, void *payload);

/* curl_global_init/cleanup, called only from cb_init()/cb_shutdown(). */
int cb__http_global_init(void);
void cb__http_global_shutdown(void);

/*
 * Create a client.  @p opts may be NULL for the defaults; strings in it are
 * copied.  Returns 0, CB_EINVAL (bad option), CB_EIO (CA file unreadable),
 * CB_ENOMEM or CB_EHTTP.
 */
int cb__http_new(cb_http **out, const cb_http_options *opts);

/* Release a client; requests still queued are dropped without their
 * callbacks (their responses stay the caller's to dispose).  Never from a
 * callback.  NULL is a no-op. */
void cb__http_free(cb_http *http);

/*
 * Perform one request, retries included, and block until it is done.
 * @p out is overwritten (pass a fresh or disposed response).  Requests
 * submitted earlier progress meanwhile, and those that complete have
 * their callbacks called; the rest carry on at the next cb__http_run.
 * Returns as described at the top of this file; CB_EINVAL from a
 * callback.
 */
int cb__http_send(
	cb_http *http, const cb_http_request *req, cb_http_response *out);

/*
 * Queue a request for cb__http_run.  The request and its strings, headers
 * and body are copied; @p out must stay valid until @p done runs and is
 * overwritten there.  Returns 0 (then @p done is called exactly once), or
 * fails now without calling @p done: CB_EINVAL, CB_ESECURITY, CB_ENOMEM.
 */
int cb__http_submit(cb_http *http, const cb_http_request *req,
	cb_http_response *out, cb_http_done_cb done, void *payload);

/*
 * Run queued requests, at most max_parallel in flight, each with its own
 * retries and timers, calling each one's callback as it completes, until
 * none is left.  Returns 0, or CB_EHTTP if libcurl's multi interface
 * itself failed (every request still open is then completed with that
 * error), or CB_EINVAL when called from a callback.
 */
int cb__http_run(cb_http *http);

/* Change max_parallel (>= 1) for the next cb__http_run.  Returns 0 or
 * CB_EINVAL. */
int cb__http_set_max_parallel(cb_http *http, unsigned n);

/*
 * Pace this client's requests of @p rl's kind with @p rl (core/ratelimit.h;
 * borrowed, must outlive the client or be unset with NULL first): before
 * each attempt starts the limiter may hold it back, holding no slot, and
 * every answer's remaining-header is fed to it.  Requests queue in order
 * behind a held one.  NULL removes it.  Not from a callback.
 */
struct cb_ratelimit;
void cb__http_set_ratelimit(cb_http *http, struct cb_ratelimit *rl);

/* From a callback (or between runs): complete every open request with
 * CB_ECANCELED; cb__http_run returns once they are. */
void cb__http_abort(cb_http *http);

/*
 * Perform n requests concurrently (max_parallel at a time) and wait for
 * all.  @p results (may be NULL) receives each request's code.  Returns 0
 * when every request returned 0; otherwise the lowest-index failure's code,
 * with its message as the last error.
 */
int cb__http_send_all(cb_http *http, const cb_http_request *reqs,
	cb_http_response *resps, int *results, size_t n);

/* First header of that name (case-insensitive), or NULL.  Borrowed: valid
 * until the response is disposed or reused. */
const char *cb__http_response_header(
	const cb_http_response *resp, const char *name);

/* Release what a response holds and reset it to CB_HTTP_RESPONSE_INIT. */
void cb__http_response_dispose(cb_http_response *resp);

/*
 * The wait a response asks for, in ms: the longest of Retry-After (delta
 * seconds, or an HTTP-date taken against @p now_epoch_ms, the wall clock)
 * and every x-ms-ratelimit-*-retry-after header (seconds).  -1 when none
 * is present and readable.  arm's long-running-operation polling uses it
 * on 202 answers too.
 */
long cb__http_response_retry_after_ms(
	const cb_http_response *resp, int64_t now_epoch_ms);

/*
 * One Retry-After value: delta-seconds or an HTTP-date (IMF-fixdate, and
 * the obsolete RFC 850 and asctime forms), as a delay from @p now_epoch_ms
 * (0 for a date in the past), capped at CB_HTTP_RETRY_AFTER_MAX_MS.
 * Returns 0, or CB_EPARSE (no error recorded: a bad header is ignored).
 */
int cb__http_retry_after_parse(
	long *out_ms, const char *value, int64_t now_epoch_ms);

/* One day: no server means a longer wait, and it keeps the sum in a long;
 * the deadline normally cuts far earlier. */
#define CB_HTTP_RETRY_AFTER_MAX_MS 86400000L

/*
 * The backoff before attempt number @p attempt + 1 when no header names
 * one: uniform in [0, min(max_ms, base_ms * 2^(attempt-1))] drawn from
 * @p rng (xorshift state, advanced; must be non-zero).
 */
long cb__http_backoff_ms(
	unsigned attempt, long base_ms, long max_ms, uint64_t *rng);

/* A random UUID v4 ("xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx") into
 * out (37 bytes) from getrandom().  Returns 0 or CB_EIO. */
int cb__http_uuid4(char out[37]);

/* A non-zero seed for the jitter generator from getrandom(). */
uint64_t cb__http_random_seed(void);

#endif
