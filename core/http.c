/*
 * core/http.c - the HTTP engine on libcurl's multi interface; the only
 * file that includes <curl/curl.h>.
 *
 * Every request, blocking or not, is a "transfer" (struct xfer) that moves
 * between three lists of its client: queued (not started), active (an easy
 * handle inside the multi handle) and waiting (between attempts, until its
 * wake time).  One loop, http_loop(), starts what may start, drives curl,
 * decides after each attempt whether to finish or retry, and sleeps in
 * curl_multi_poll() until the next socket event, curl timer or wake time.
 * cb__http_send() is that loop run until its own transfer is done (curl's
 * "easy over multi"), so the blocking and concurrent paths are one code
 * path, and connections stay in the multi handle's cache between calls.
 *
 * Errors are recorded only when a transfer completes, right before its
 * callback runs: curl callbacks (write, header) never touch the per-thread
 * error, they leave an abort code and message in the transfer, because
 * other transfers may complete in between.
 */
#include "core/common.h"
#include "core/http.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/ratelimit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0
#endif

/* A CA file is a few hundred KB (Debian's bundle: 220 KB); a bigger one is
 * a wrong path, not a trust store. */
#define HTTP_CA_FILE_MAX ((size_t)16 << 20)

/* Longest poll between loop turns: a safety net in case curl asks for no
 * timeout while a wake time or an abort is pending. */
#define HTTP_POLL_MAX_MS 1000

/* "PROPFIND" is the longest method anyone sends; ours are GET..DELETE. */
#define HTTP_METHOD_MAX 16

struct xfer;

struct xfer_list {
	struct xfer *head; /* oldest */
	struct xfer *tail;
	unsigned count;
};

struct cb_http {
	cb_http_options opts;     /* copied; string fields are NULL */
	char *user_agent;         /* owned */
	char *ca_pem;             /* system store + ca_file, or NULL; owned */
	size_t ca_len;            /* bytes at ca_pem */
	CURLM *multi;             /* owned: connection cache, TLS sessions */
	struct xfer_list queued;  /* submitted, not started */
	struct xfer_list active;  /* inside multi */
	struct xfer_list waiting; /* between attempts */
	uint64_t rng;             /* jitter state, never 0 */
	bool http2;               /* libcurl can speak HTTP/2 */
	bool running;             /* inside http_loop */
	bool aborting;            /* cb__http_abort was called */
	cb_ratelimit *rl;         /* paces its kind of request; borrowed */
	int64_t pace_until;       /* monotonic: rl asked to wait until */
};

struct xfer {
	struct xfer *prev, *next;
	struct xfer_list *list; /* the list holding it, or NULL */
	cb_http *http;          /* borrowed */
	char method[HTTP_METHOD_MAX];
	char where[HTTP_METHOD_MAX + CB_REDACTED_URL_MAX]; /* "GET url" */
	char *url;                                         /* owned */
	char *body;                                        /* owned, or NULL */
	size_t body_len;
	struct curl_slist *headers; /* owned (curl's allocator) */
	cb_http_body_cb on_body;
	void *on_body_payload;
	bool retry_unsafe;
	bool idempotent;
	bool loopback;          /* host is 127/8, ::1 or localhost */
	bool metadata;          /* host is IMDS, 169.254.169.254 */
	bool plain_http;        /* scheme is http (loopback, IMDS only) */
	long timeout_ms;        /* per attempt, 0 = none */
	long deadline_ms;       /* whole request, 0 = none */
	cb_http_response *resp; /* caller's, borrowed */
	cb_http_done_cb done;
	void *payload;
	CURL *easy; /* owned, created at the first attempt */
	unsigned attempt;
	int64_t start_ms;     /* monotonic: first attempt started */
	int64_t attempt_ms;   /* monotonic: this attempt started */
	int64_t wake_ms;      /* monotonic: next attempt may start */
	int64_t wait_from_ms; /* monotonic: last attempt ended */
	bool deadline_cut;    /* this attempt's timeout is the deadline */
	bool body_mode_known; /* streaming decided for this attempt */
	bool streaming;       /* body goes to on_body */
	size_t delivered;     /* bytes handed to on_body, all attempts */
	int abort_code;       /* set by a curl callback that stopped us */
	int abort_klass;
	char abort_msg[CB_ERROR_MESSAGE_MAX];
	char errbuf[CURL_ERROR_SIZE]; /* libcurl's detail */
};

static int64_t
http_clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
http_now(void)
{
	return http_clock_ms(CLOCK_MONOTONIC);
}

/* Milliseconds as "1.5" (seconds, one decimal, rounded). */
static const char *
http_secs(char *out, size_t outlen, long ms)
{
	long tenths = (ms + 50) / 100;

	snprintf(out, outlen, "%ld.%ld", tenths / 10, tenths % 10);
	return out;
}

static void
list_append(struct xfer_list *l, struct xfer *x)
{
	x->list = l;
	x->next = NULL;
	x->prev = l->tail;
	if (l->tail)
		l->tail->next = x;
	else
		l->head = x;
	l->tail = x;
	l->count++;
}

static void
list_remove(struct xfer *x)
{
	struct xfer_list *l = x->list;

	if (l == NULL)
		return;
	if (x->prev)
		x->prev->next = x->next;
	else
		l->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		l->tail = x->prev;
	l->count--;
	x->prev = x->next = NULL;
	x->list = NULL;
}

/* ---- responses ---------------------------------------------------- */

const char *
cb__http_response_header(const cb_http_response *resp, const char *name)
{
	if (resp == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < resp->header_count; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

void
cb__http_response_dispose(cb_http_response *resp)
{
	if (resp == NULL)
		return;
	cb_buf_dispose(&resp->body);
	cb_buf_dispose(&resp->header_data);
	cb__free(resp->headers);
	*resp = (cb_http_response)CB_HTTP_RESPONSE_INIT;
}

/* Forget the previous attempt's answer; the ids and counters stay. */
static void
response_reset(cb_http_response *resp)
{
	resp->status = 0;
	cb__buf_clear(&resp->body);
	cb__buf_clear(&resp->header_data);
	cb__free(resp->headers);
	resp->headers = NULL;
	resp->header_count = 0;
	resp->request_id[0] = '\0';
}

/* header_data holds "name\0value\0" pairs; point headers[] into it. */
static int
response_index(cb_http_response *resp)
{
	const char *p = resp->header_data.ptr, *end;
	size_t n = 0;

	cb__free(resp->headers);
	resp->headers = NULL;
	resp->header_count = 0;
	if (resp->header_data.size == 0)
		return 0;
	end = p + resp->header_data.size;
	for (const char *q = p; q < end; q++)
		n += *q == '\0';
	n /= 2;
	if ((resp->headers = cb__calloc(n, sizeof(*resp->headers))) == NULL)
		return CB_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		resp->headers[i].name = p;
		p += strlen(p) + 1;
		resp->headers[i].value = p;
		p += strlen(p) + 1;
	}
	resp->header_count = n;
	return 0;
}

static void
http_copy_id(char *dst, const char *src)
{
	snprintf(dst, CB_HTTP_ID_MAX, "%s", src ? src : "");
}

/* ---- errors ------------------------------------------------------- */

/* Record the error of a completing transfer: "<where>: <text>", plus the
 * last status and x-ms-request-id when there was an answer. */
static int xfer_error(struct xfer *x, int code, int klass, const char *fmt, ...)
	CB_FORMAT_PRINTF(4, 5);

static int
xfer_error(struct xfer *x, int code, int klass, const char *fmt, ...)
{
	char msg[CB_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cb__error_set(code, klass, "%s: %s", x->where, msg);
	if (x->resp->status != 0)
		cb__error_set_http(x->resp->status, NULL, x->resp->request_id);
	return code;
}

/* From inside a curl callback: remember why we stop. */
static void xfer_abort(struct xfer *x, int code, const char *fmt, ...)
	CB_FORMAT_PRINTF(3, 4);

static void
xfer_abort(struct xfer *x, int code, const char *fmt, ...)
{
	char msg[256]; /* our own short texts */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->abort_code = code;
	x->abort_klass =
		code == CB_ENOMEM ? CB_ERRCLASS_NOMEMORY : CB_ERRCLASS_HTTP;
	snprintf(x->abort_msg, sizeof(x->abort_msg), "%s: %s", x->where, msg);
}

static int
xfer_setopt_failed(struct xfer *x, const char *opt, CURLcode rc)
{
	if (rc == CURLE_OUT_OF_MEMORY)
		return cb__error_set(
			CB_ENOMEM, CB_ERRCLASS_NOMEMORY, "out of memory");
	return xfer_error(x, CB_EHTTP, CB_ERRCLASS_HTTP,
		"curl_easy_setopt(%s): %s", opt, curl_easy_strerror(rc));
}

/* Every curl_easy_setopt goes through here, so a failure names the
 * option (PostgreSQL's CHECK_SETOPT). */
#define XFER_SETOPT(x, opt, val)                                             \
	do {                                                                 \
		CURLcode setopt_rc_ = curl_easy_setopt((x)->easy, opt, val); \
		if (setopt_rc_ != CURLE_OK)                                  \
			return xfer_setopt_failed(x, #opt, setopt_rc_);      \
	} while (0)

/* ---- curl callbacks ----------------------------------------------- */

static size_t
xfer_header_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	cb_buf *hd = &x->resp->header_data;
	size_t len = size * nmemb, n = len, nlen;
	const char *colon, *value;

	/* A status line starts a new header block: 1xx interim answers and
	 * proxy replies come before the real one. */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		cb__buf_clear(hd);
		return len;
	}
	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	if (n == 0)
		return len;
	if (hd->size + n + 2 > CB_HTTP_HEADERS_MAX) {
		xfer_abort(x, CB_ETOOBIG, "response headers exceed %zu bytes",
			CB_HTTP_HEADERS_MAX);
		return 0;
	}
	if (data[0] == ' ' || data[0] == '\t') {
		/* obsolete line folding: continue the previous value */
		if (hd->size == 0)
			return len;
		while (n > 0 && (*data == ' ' || *data == '\t')) {
			data++;
			n--;
		}
		hd->size--; /* reopen the previous value */
		if (cb__buf_putc(hd, ' ') < 0 || cb__buf_put(hd, data, n) < 0 ||
			cb__buf_put(hd, "", 1) < 0)
			goto oom;
		return len;
	}
	if ((colon = memchr(data, ':', n)) == NULL)
		return len;
	nlen = (size_t)(colon - data);
	while (nlen > 0 && (data[nlen - 1] == ' ' || data[nlen - 1] == '\t'))
		nlen--;
	value = colon + 1;
	while (value < data + n && (*value == ' ' || *value == '\t'))
		value++;
	while (n > 0 && (data[n - 1] == ' ' || data[n - 1] == '\t'))
		n--;
	if (cb__buf_put(hd, data, nlen) < 0 || cb__buf_put(hd, "", 1) < 0 ||
		cb__buf_put(hd, value, (size_t)(data + n - value)) < 0 ||
		cb__buf_put(hd, "", 1) < 0)
		goto oom;
	return len;
oom:
	xfer_abort(x, CB_ENOMEM, "out of memory");
	return 0;
}

static size_t
xfer_write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	cb_buf *body = &x->resp->body;
	size_t len = size * nmemb;
	int rc;

	if (!x->body_mode_known) {
		long code = 0;

		/* Only a success body is the caller's data; an error body
		 * (429, 503...) is kept for the error report instead. */
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		x->streaming = x->on_body != NULL && code >= 200 && code < 300;
		x->body_mode_known = true;
	}
	if (x->streaming) {
		if (len == 0)
			return 0;
		if ((rc = x->on_body(data, len, x->on_body_payload)) != 0) {
			if (rc < 0 && cb__error_code() == rc) {
				x->abort_code = rc;
				x->abort_klass = cb_error_last()->klass;
				snprintf(x->abort_msg, sizeof(x->abort_msg),
					"%s", cb_error_last()->message);
			} else if (rc < 0) {
				xfer_abort(x, rc, "body callback failed: %s",
					cb_strerror(rc));
			} else {
				xfer_abort(x, CB_ECANCELED,
					"canceled by the body callback");
			}
			return CURL_WRITEFUNC_ERROR;
		}
		x->delivered += len;
		return len;
	}
	if (len > x->http->opts.max_body_bytes - body->size) {
		xfer_abort(x, CB_ETOOBIG, "response body exceeds %zu bytes",
			x->http->opts.max_body_bytes);
		return CURL_WRITEFUNC_ERROR;
	}
	if (cb__buf_put(body, data, len) < 0) {
		xfer_abort(x, CB_ENOMEM, "out of memory");
		return CURL_WRITEFUNC_ERROR;
	}
	return len;
}

/* ---- transfers ---------------------------------------------------- */

static void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->easy) {
		if (x->list == &x->http->active)
			curl_multi_remove_handle(x->http->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	list_remove(x);
	curl_slist_free_all(x->headers);
	cb__free(x->url);
	cb__free(x->body);
	cb__free(x);
}

/* Complete a transfer: error is 0 or a code whose error is recorded. */
static void
xfer_finish(struct xfer *x, int error)
{
	cb_http_done_cb done = x->done;
	cb_http_response *resp = x->resp;
	void *payload = x->payload;

	xfer_free(x);
	done(error, resp, payload);
}

static bool
http_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char v6[INET6_ADDRSTRLEN + 1];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n > 2 && host[0] == '[' && host[n - 1] == ']' &&
		n - 2 < sizeof(v6)) {
		memcpy(v6, host + 1, n - 2);
		v6[n - 2] = '\0';
		return inet_pton(AF_INET6, v6, &a6) == 1 &&
		       IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return false;
}

/* Scheme and host decide what is allowed, before any byte is sent. */
static int
xfer_check_url(struct xfer *x, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int error;

	if (u == NULL)
		return cb__error_set(
			CB_ENOMEM, CB_ERRCLASS_NOMEMORY, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		error = cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"%s: malformed url", x->where);
		goto done;
	}
	x->loopback = http_host_is_loopback(host);
	/* Azure's instance metadata service (managed identity tokens) speaks
	 * only plain http, on a link-local address no router forwards. */
	x->metadata = strcmp(host, "169.254.169.254") == 0;
	x->plain_http = strcmp(scheme, "http") == 0;
	if (x->plain_http && !x->loopback && !x->metadata) {
		error = cb__error_set(CB_ESECURITY, CB_ERRCLASS_HTTP,
			"%s: refusing plain http to non-loopback host '%s'",
			x->where, host);
		goto done;
	}
	if (!x->plain_http && strcmp(scheme, "https") != 0) {
		error = cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"%s: unsupported url scheme '%s'", x->where, scheme);
		goto done;
	}
	error = 0;
done:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return error;
}

static bool
http_method_is_idempotent(const char *m)
{
	static const char *const idem[] = { "GET", "HEAD", "PUT", "DELETE",
		"OPTIONS" };

	for (size_t i = 0; i < CB_ARRAY_SIZE(idem); i++)
		if (strcmp(m, idem[i]) == 0)
			return true;
	return false;
}

static int
xfer_add_header(struct xfer *x, const char *line)
{
	struct curl_slist *l = curl_slist_append(x->headers, line);

	if (l == NULL)
		return cb__error_set(
			CB_ENOMEM, CB_ERRCLASS_NOMEMORY, "out of memory");
	x->headers = l;
	return 0;
}

static int
xfer_build_headers(struct xfer *x, const char *const *headers)
{
	static const char cid[] = "x-ms-client-request-id:";
	char line[sizeof(cid) + CB_HTTP_ID_MAX];
	bool have_cid = false;
	int error;

	for (size_t i = 0; headers && headers[i]; i++) {
		const char *h = headers[i];

		/* A CR or LF would let a value smuggle in another header. */
		if (strpbrk(h, "\r\n") != NULL || h[0] == ':' ||
			strcspn(h, ":;") == strlen(h))
			return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
				"%s: request header %zu is not 'Name: value'",
				x->where, i + 1);
		if (strncasecmp(h, cid, sizeof(cid) - 1) == 0) {
			const char *v = h + sizeof(cid) - 1;

			while (*v == ' ' || *v == '\t')
				v++;
			http_copy_id(x->resp->client_request_id, v);
			have_cid = true;
		}
		if ((error = xfer_add_header(x, h)) < 0)
			return error;
	}
	if (!have_cid) {
		char uuid[37];

		if ((error = cb__http_uuid4(uuid)) < 0)
			return error;
		http_copy_id(x->resp->client_request_id, uuid);
		snprintf(line, sizeof(line), "%s %s", cid, uuid);
		if ((error = xfer_add_header(x, line)) < 0)
			return error;
	}
	/* No "Expect: 100-continue" round trip for bodies: ours are small
	 * and the server answers errors after reading them anyway. */
	if (x->body != NULL && (error = xfer_add_header(x, "Expect:")) < 0)
		return error;
	return 0;
}

/* Options that stay the same for every attempt of a transfer. */
static int
xfer_easy_setup(struct xfer *x)
{
	cb_http *http = x->http;
	const cb_http_options *o = &http->opts;

	if ((x->easy = curl_easy_init()) == NULL)
		return cb__error_set(
			CB_ENOMEM, CB_ERRCLASS_NOMEMORY, "out of memory");
	XFER_SETOPT(x, CURLOPT_PRIVATE, (void *)x);
	XFER_SETOPT(x, CURLOPT_NOSIGNAL, 1L);
	XFER_SETOPT(x, CURLOPT_ERRORBUFFER, x->errbuf);
	XFER_SETOPT(x, CURLOPT_URL, x->url);
	/* https only; plain http solely for loopback (armsim, tests) */
	XFER_SETOPT(x, CURLOPT_PROTOCOLS_STR, x->plain_http ? "http" : "https");
	XFER_SETOPT(x, CURLOPT_FOLLOWLOCATION, 0L);
	XFER_SETOPT(x, CURLOPT_SSL_VERIFYPEER, 1L);
	XFER_SETOPT(x, CURLOPT_SSL_VERIFYHOST, 2L);
	XFER_SETOPT(x, CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
	XFER_SETOPT(x, CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
	if (http->ca_pem) {
		struct curl_blob blob = { http->ca_pem, http->ca_len,
			CURL_BLOB_NOCOPY };

		XFER_SETOPT(x, CURLOPT_CAINFO_BLOB, &blob);
		XFER_SETOPT(x, CURLOPT_PROXY_CAINFO_BLOB, &blob);
	}
	/* Proxies come from http_proxy/https_proxy/no_proxy, which libcurl
	 * reads itself; only loopback and IMDS bypass them, since a proxy
	 * cannot reach our own 127.0.0.1 or this machine's link-local
	 * metadata service. */
	if (x->loopback || x->metadata)
		XFER_SETOPT(x, CURLOPT_NOPROXY, "*");
	XFER_SETOPT(x, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	if (o->connect_timeout_ms > 0)
		XFER_SETOPT(
			x, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	if (o->stall_timeout_ms > 0) {
		XFER_SETOPT(x, CURLOPT_LOW_SPEED_LIMIT, 1L);
		XFER_SETOPT(x, CURLOPT_LOW_SPEED_TIME,
			(o->stall_timeout_ms + 999) / 1000);
	}
	XFER_SETOPT(x, CURLOPT_ACCEPT_ENCODING, "");
	if (http->http2)
		XFER_SETOPT(
			x, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* Wait for a multiplexed HTTP/2 connection rather than open more. */
	XFER_SETOPT(x, CURLOPT_PIPEWAIT, 1L);
	XFER_SETOPT(x, CURLOPT_TCP_KEEPALIVE, 1L);
	XFER_SETOPT(x, CURLOPT_USERAGENT, http->user_agent);
	XFER_SETOPT(x, CURLOPT_HTTPHEADER, x->headers);
	XFER_SETOPT(x, CURLOPT_HEADERFUNCTION, xfer_header_cb);
	XFER_SETOPT(x, CURLOPT_HEADERDATA, (void *)x);
	XFER_SETOPT(x, CURLOPT_WRITEFUNCTION, xfer_write_cb);
	XFER_SETOPT(x, CURLOPT_WRITEDATA, (void *)x);
	if (strcmp(x->method, "GET") == 0) {
		XFER_SETOPT(x, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(x->method, "HEAD") == 0) {
		XFER_SETOPT(x, CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(x->method, "POST") != 0)
			XFER_SETOPT(x, CURLOPT_CUSTOMREQUEST, x->method);
		/* POST, PUT and PATCH always carry a Content-Length (ARM
		 * answers 411 without one), other methods only a body. */
		if (x->body != NULL || strcmp(x->method, "POST") == 0 ||
			strcmp(x->method, "PUT") == 0 ||
			strcmp(x->method, "PATCH") == 0) {
			XFER_SETOPT(x, CURLOPT_POSTFIELDSIZE_LARGE,
				(curl_off_t)x->body_len);
			XFER_SETOPT(
				x, CURLOPT_POSTFIELDS, x->body ? x->body : "");
		}
	}
	return 0;
}

static int
xfer_start(cb_http *http, struct xfer *x, int64_t now)
{
	long limit = x->timeout_ms;
	CURLMcode mc;
	int error;

	if (x->attempt == 0)
		x->start_ms = now;
	else
		x->resp->waited_ms += (long)(now - x->wait_from_ms);
	x->attempt++;
	x->attempt_ms = now;
	x->body_mode_known = false;
	x->errbuf[0] = '\0';
	response_reset(x->resp);
	if (x->easy == NULL && (error = xfer_easy_setup(x)) < 0)
		return error;
	/* The deadline bounds the attempt too, so a slow answer cannot run
	 * past it. */
	x->deadline_cut = false;
	if (x->deadline_ms > 0) {
		int64_t left = x->start_ms + x->deadline_ms - now;

		if (left < 1)
			left = 1;
		if (limit == 0 || left <= limit) {
			limit = (long)left;
			x->deadline_cut = true;
		}
	}
	XFER_SETOPT(x, CURLOPT_TIMEOUT_MS, limit);
	if ((mc = curl_multi_add_handle(http->multi, x->easy)) != CURLM_OK)
		return mc == CURLM_OUT_OF_MEMORY
			       ? cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
					 "out of memory")
			       : xfer_error(x, CB_EHTTP, CB_ERRCLASS_HTTP,
					 "curl_multi_add_handle: %s",
					 curl_multi_strerror(mc));
	list_append(&http->active, x);
	return 0;
}

static const char *
plural(unsigned n)
{
	return n == 1 ? "" : "s";
}

/*
 * The last attempt failed in a retryable way (cause says how).  Retry
 * after the wait the server named or our backoff, unless attempts are
 * used up (exhausted_code) or the wait would end past the deadline.
 */
static void
xfer_retry(cb_http *http, struct xfer *x, int64_t now, int exhausted_code,
	const char *cause)
{
	cb_http_response *resp = x->resp;
	char s1[32], s2[32], s3[32];
	const char *why = "retry after";
	long wait;

	if (x->attempt >= http->opts.max_attempts) {
		xfer_finish(
			x, xfer_error(x, exhausted_code, CB_ERRCLASS_HTTP,
				   "gave up after %u attempt%s in %s s: %s",
				   x->attempt, plural(x->attempt),
				   http_secs(s1, sizeof(s1), resp->elapsed_ms),
				   cause));
		return;
	}
	wait = cb__http_response_retry_after_ms(
		resp, http_clock_ms(CLOCK_REALTIME));
	if (wait < 0) {
		why = "backoff of";
		wait = cb__http_backoff_ms(x->attempt,
			http->opts.backoff_base_ms, http->opts.backoff_max_ms,
			&http->rng);
	}
	if (x->deadline_ms > 0 && now + wait >= x->start_ms + x->deadline_ms) {
		xfer_finish(
			x, xfer_error(x, CB_ETIMEOUT, CB_ERRCLASS_HTTP,
				   "gave up after %u attempt%s in %s s: %s, %s "
				   "%s s would pass the %s s deadline",
				   x->attempt, plural(x->attempt),
				   http_secs(s1, sizeof(s1), resp->elapsed_ms),
				   cause, why, http_secs(s2, sizeof(s2), wait),
				   http_secs(s3, sizeof(s3), x->deadline_ms)));
		return;
	}
	cb__log(CB_LOG_DEBUG, "http", "%s: %s, retrying in %ld ms", x->where,
		cause, wait);
	x->wait_from_ms = now;
	/* Measure from this moment, not from when the answer was read (the
	 * loop may have been busy since), and add 1 ms for the clock's
	 * truncation to whole milliseconds: a retry must never arrive before
	 * the time the server named. */
	x->wake_ms = http_now() + wait + 1;
	list_append(&http->waiting, x);
}

static bool
http_transport_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static void
xfer_transport_failed(
	cb_http *http, struct xfer *x, CURLcode rc, bool sent, int64_t now)
{
	char cause[CURL_ERROR_SIZE + 64], s1[32], s2[32];
	unsigned n = x->attempt;

	/* curl's detail names hosts and ports, not paths; scrubbing is a
	 * second guard against a query string ever reaching a message. */
	cb__log_scrub(cause, sizeof(cause),
		x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	if (rc == CURLE_OUT_OF_MEMORY) {
		xfer_finish(x, cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
				       "out of memory"));
		return;
	}
	/* The same code reports a stall (low-speed limit): only a timeout at
	 * the deadline (less clock rounding) is the deadline's doing. */
	if (rc == CURLE_OPERATION_TIMEDOUT && x->deadline_cut &&
		now >= x->start_ms + x->deadline_ms - 10) {
		xfer_finish(x,
			xfer_error(x, CB_ETIMEOUT, CB_ERRCLASS_HTTP,
				"gave up after %u attempt%s in %s s: the %s s "
				"deadline passed (%s)",
				n, plural(n),
				http_secs(s1, sizeof(s1), x->resp->elapsed_ms),
				http_secs(s2, sizeof(s2), x->deadline_ms),
				cause));
		return;
	}
	if (rc == CURLE_PEER_FAILED_VERIFICATION) {
		xfer_finish(x, xfer_error(x, CB_ESECURITY, CB_ERRCLASS_HTTP,
				       "tls verification failed: %s", cause));
		return;
	}
	if (!http_transport_retryable(rc) ||
		(sent && !x->idempotent && !x->retry_unsafe)) {
		xfer_finish(x,
			xfer_error(x, CB_EHTTP, CB_ERRCLASS_HTTP, "%s", cause));
		return;
	}
	if (x->delivered > 0) {
		xfer_finish(
			x, xfer_error(x, CB_EHTTP, CB_ERRCLASS_HTTP,
				   "%s after %zu body bytes were streamed; not "
				   "retried",
				   cause, x->delivered));
		return;
	}
	xfer_retry(http, x, now, CB_EHTTP, cause);
}

static bool
http_status_retryable(int s)
{
	return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 ||
	       s == 504;
}

/* One attempt ended (curl's result rc): finish, or schedule a retry. */
static void
xfer_attempt_done(cb_http *http, struct xfer *x, CURLcode rc)
{
	cb_http_response *resp = x->resp;
	int64_t now = http_now();
	long status = 0, sent = 0;
	char cause[CURL_ERROR_SIZE];
	int error;

	curl_multi_remove_handle(http->multi, x->easy);
	list_remove(x);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent);
	resp->status = (int)status;
	resp->attempts = x->attempt;
	resp->elapsed_ms = (long)(now - x->start_ms);
	error = response_index(resp);
	http_copy_id(resp->request_id,
		cb__http_response_header(resp, "x-ms-request-id"));
	if (cb__ratelimit_applies(http->rl, x->method))
		cb__ratelimit_observe(http->rl,
			cb__http_response_header(
				resp, cb__ratelimit_header(http->rl)),
			resp->status, now);
	if (rc != CURLE_OK)
		snprintf(cause, sizeof(cause), "%s", curl_easy_strerror(rc));
	else
		snprintf(cause, sizeof(cause), "http %ld", status);
	/* ids only: header values and bodies never reach a log line */
	cb__log(CB_LOG_DEBUG, "http",
		"%s: %s in %ld ms, attempt %u, x-ms-request-id %s, "
		"x-ms-client-request-id %s",
		x->where, cause, (long)(now - x->attempt_ms), x->attempt,
		resp->request_id[0] ? resp->request_id : "-",
		resp->client_request_id);
	if (x->abort_code != 0) {
		cb__error_set(
			x->abort_code, x->abort_klass, "%s", x->abort_msg);
		if (resp->status != 0)
			cb__error_set_http(
				resp->status, NULL, resp->request_id);
		xfer_finish(x, x->abort_code);
		return;
	}
	if (error < 0) {
		xfer_finish(x, error);
		return;
	}
	if (rc != CURLE_OK) {
		xfer_transport_failed(http, x, rc, sent > 0, now);
		return;
	}
	/* 408 and 429 say the request was not processed: safe to repeat
	 * whatever the method. */
	if (!http_status_retryable(resp->status) ||
		(resp->status != 408 && resp->status != 429 && !x->idempotent &&
			!x->retry_unsafe)) {
		xfer_finish(x, 0);
		return;
	}
	snprintf(cause, sizeof(cause), "http %d", resp->status);
	xfer_retry(http, x, now, resp->status == 429 ? CB_ETHROTTLED : CB_EHTTP,
		cause);
}

/* ---- the loop ----------------------------------------------------- */

static bool
http_busy(const cb_http *http)
{
	return http->queued.count + http->active.count + http->waiting.count >
	       0;
}

/* The waiting transfer due first, if it is due. */
static struct xfer *
http_next_due(cb_http *http, int64_t now)
{
	struct xfer *best = NULL;

	for (struct xfer *x = http->waiting.head; x; x = x->next)
		if (x->wake_ms <= now && (!best || x->wake_ms < best->wake_ms))
			best = x;
	return best;
}

static void
http_start_ready(cb_http *http)
{
	while (http->active.count < http->opts.max_parallel &&
		!http->aborting) {
		int64_t now = http_now();
		/* retries first: their deadline clock is already running */
		struct xfer *x = http_next_due(http, now);
		int error;

		if (x == NULL && (x = http->queued.head) == NULL)
			break;
		if (cb__ratelimit_applies(http->rl, x->method)) {
			long wait = cb__ratelimit_acquire(http->rl, now);

			if (wait > 0) {
				http->pace_until = now + wait;
				break;
			}
		}
		list_remove(x);
		if ((error = xfer_start(http, x, now)) < 0) {
			if (cb__ratelimit_applies(http->rl, x->method))
				cb__ratelimit_observe(http->rl, NULL, 0, now);
			xfer_finish(x, error);
		}
	}
}

static long
http_poll_timeout(cb_http *http)
{
	long t = -1;
	int64_t now = http_now();

	curl_multi_timeout(http->multi, &t);
	if (t < 0 || t > HTTP_POLL_MAX_MS)
		t = HTTP_POLL_MAX_MS;
	if (http->active.count < http->opts.max_parallel) {
		/* A start the rate limiter held back waits for it too. */
		int64_t pace = http->pace_until - now;

		if (http->queued.count > 0) {
			if (pace <= 0)
				return 0;
			if (pace < t)
				t = (long)pace;
		}
		for (struct xfer *x = http->waiting.head; x; x = x->next) {
			int64_t d = (x->wake_ms > http->pace_until
						    ? x->wake_ms
						    : http->pace_until) -
				    now;

			if (d < t)
				t = d < 0 ? 0 : (long)d;
		}
	}
	return t;
}

/* Complete every open transfer with code (already recorded once per
 * transfer by xfer_error). */
static void
http_fail_all(cb_http *http, int code, const char *what)
{
	struct xfer_list all = { NULL, NULL, 0 };
	struct xfer_list *lists[] = { &http->active, &http->waiting,
		&http->queued };

	/* Detach everything first: callbacks may submit new work, which
	 * must not be swept up here. */
	for (size_t i = 0; i < CB_ARRAY_SIZE(lists); i++) {
		struct xfer *x;

		while ((x = lists[i]->head) != NULL) {
			if (lists[i] == &http->active) {
				curl_multi_remove_handle(http->multi, x->easy);
				if (cb__ratelimit_applies(http->rl, x->method))
					cb__ratelimit_observe(
						http->rl, NULL, 0, http_now());
			}
			list_remove(x);
			list_append(&all, x);
		}
	}
	for (struct xfer *x = all.head, *next; x; x = next) {
		next = x->next;
		list_remove(x);
		xfer_finish(
			x, xfer_error(x, code, CB_ERRCLASS_HTTP, "%s", what));
	}
}

static int
http_loop(cb_http *http, const bool *stop)
{
	CURLMcode mc = CURLM_OK;
	int still, left;

	if (http->running)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"http: cannot run or send from a completion callback");
	http->running = true;
	while (!(stop && *stop)) {
		CURLMsg *msg;
		long timeout;

		if (http->aborting) {
			http->aborting = false;
			http_fail_all(http, CB_ECANCELED, "canceled");
			continue;
		}
		if (!http_busy(http))
			break;
		http_start_ready(http);
		if ((stop && *stop) || http->aborting)
			continue;
		if ((mc = curl_multi_perform(http->multi, &still)) != CURLM_OK)
			break;
		while (!(stop && *stop) && !http->aborting &&
			(msg = curl_multi_info_read(http->multi, &left)) !=
				NULL) {
			char *x = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(
				msg->easy_handle, CURLINFO_PRIVATE, &x);
			xfer_attempt_done(http, (struct xfer *)(void *)x,
				msg->data.result);
		}
		if ((stop && *stop) || http->aborting || !http_busy(http))
			continue;
		timeout = http_poll_timeout(http);
		if (timeout > 0 && (mc = curl_multi_poll(http->multi, NULL, 0,
					    (int)timeout, NULL)) != CURLM_OK)
			break;
	}
	http->running = false;
	if (mc != CURLM_OK) {
		char what[128];

		snprintf(what, sizeof(what), "curl multi interface failed: %s",
			curl_multi_strerror(mc));
		http_fail_all(http, CB_EHTTP, what);
		return cb__error_set(
			CB_EHTTP, CB_ERRCLASS_HTTP, "http: %s", what);
	}
	return 0;
}

/* ---- the API ------------------------------------------------------ */

int
cb__http_global_init(void)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK)
		return cb__error_set(CB_EHTTP, CB_ERRCLASS_HTTP,
			"curl_global_init: %s", curl_easy_strerror(rc));
	return 0;
}

void
cb__http_global_shutdown(void)
{
	curl_global_cleanup();
}

static int
http_read_file(cb_buf *buf, const char *path, bool required)
{
	FILE *f = fopen(path, "rb");
	int error = 0;

	if (f == NULL) {
		if (!required && errno == ENOENT)
			return 0;
		return cb__error_set(CB_EIO, CB_ERRCLASS_OS,
			"cannot read CA file '%s': %s", path, strerror(errno));
	}
	for (;;) {
		size_t n;

		if ((error = cb__buf_grow(buf, 65536)) < 0)
			break;
		n = fread(buf->ptr + buf->size, 1, 65536, f);
		buf->size += n;
		buf->ptr[buf->size] = '\0';
		if (buf->size > HTTP_CA_FILE_MAX) {
			error = cb__error_set(CB_ETOOBIG, CB_ERRCLASS_HTTP,
				"CA file '%s' exceeds %zu bytes", path,
				HTTP_CA_FILE_MAX);
			break;
		}
		if (n < 65536) {
			if (ferror(f))
				error = cb__error_set(CB_EIO, CB_ERRCLASS_OS,
					"cannot read CA file '%s'", path);
			break;
		}
	}
	fclose(f);
	return error;
}

/*
 * ca_file adds to the system store rather than replacing it (setting
 * CURLOPT_CAINFO alone would drop every public CA): both are loaded into
 * one PEM blob handed to CURLOPT_CAINFO_BLOB.  libcurl's CA directory
 * (CURLOPT_CAPATH) stays in force as well.
 */
static int
http_load_ca(cb_http *http, const cb_http_options *o)
{
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	const char *sys = o->ca_system_file ? o->ca_system_file : vi->cainfo;
	cb_buf pem = CB_BUF_INIT;
	size_t extra_at;
	int error;

	if (o->ca_file == NULL && o->ca_system_file == NULL)
		return 0;
	if (sys && (error = http_read_file(
			    &pem, sys, o->ca_system_file != NULL)) < 0)
		goto done;
	if (pem.size > 0 && pem.ptr[pem.size - 1] != '\n' &&
		(error = cb__buf_putc(&pem, '\n')) < 0)
		goto done;
	extra_at = pem.size;
	if (o->ca_file && (error = http_read_file(&pem, o->ca_file, true)) < 0)
		goto done;
	if (o->ca_file && strstr(pem.ptr + extra_at,
				  "-----BEGIN CERTIFICATE-----") == NULL) {
		error = cb__error_set(CB_EINVAL, CB_ERRCLASS_HTTP,
			"CA file '%s' holds no PEM certificate", o->ca_file);
		goto done;
	}
	http->ca_len = pem.size;
	if ((http->ca_pem = cb__buf_detach(&pem)) == NULL)
		error = CB_ENOMEM;
done:
	cb_buf_dispose(&pem);
	return error;
}

static int
http_check_options(const cb_http_options *o)
{
	if (o->version != CB_HTTP_OPTIONS_VERSION)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"http options version %d is not %d", o->version,
			CB_HTTP_OPTIONS_VERSION);
	if (o->timeout_ms < 0 || o->connect_timeout_ms < 0 ||
		o->stall_timeout_ms < 0 || o->deadline_ms < 0 ||
		o->backoff_base_ms < 0 || o->backoff_max_ms < 0 ||
		o->max_attempts < 1 || o->max_parallel < 1 ||
		o->max_body_bytes < 1 || o->max_body_bytes > CB_BUF_MAX)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"http options: durations must be >= 0, max_attempts, "
			"max_parallel and max_body_bytes >= 1");
	return 0;
}

int
cb__http_new(cb_http **out, const cb_http_options *opts)
{
	static const cb_http_options defaults = CB_HTTP_OPTIONS_INIT;
	cb_http *http = NULL;
	int error;

	CB_ASSERT_ARG(out);
	if (opts == NULL)
		opts = &defaults;
	if ((error = http_check_options(opts)) < 0)
		return error;
	if ((http = cb__calloc(1, sizeof(*http))) == NULL)
		return CB_ENOMEM;
	http->opts = *opts;
	http->opts.ca_file = http->opts.ca_system_file = NULL;
	http->opts.user_agent = NULL;
	if ((http->user_agent = cb__strdup(
		     opts->user_agent ? opts->user_agent
				      : "chargeback/" CB_VERSION_STRING)) ==
		NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	if ((error = http_load_ca(http, opts)) < 0)
		goto done;
	if ((http->multi = curl_multi_init()) == NULL) {
		error = cb__error_set(
			CB_ENOMEM, CB_ERRCLASS_NOMEMORY, "out of memory");
		goto done;
	}
	http->rng = opts->rng_seed ? opts->rng_seed : cb__http_random_seed();
	http->http2 = (curl_version_info(CURLVERSION_NOW)->features &
			      CURL_VERSION_HTTP2) != 0;
	*out = http;
	http = NULL;
	error = 0;
done:
	cb__http_free(http);
	return error;
}

void
cb__http_free(cb_http *http)
{
	struct xfer_list *lists[3];

	if (http == NULL)
		return;
	lists[0] = &http->active;
	lists[1] = &http->waiting;
	lists[2] = &http->queued;
	for (size_t i = 0; i < CB_ARRAY_SIZE(lists); i++)
		while (lists[i]->head)
			xfer_free(lists[i]->head);
	if (http->multi)
		curl_multi_cleanup(http->multi);
	cb__free(http->user_agent);
	cb__free(http->ca_pem);
	cb__free(http);
}

static bool
http_method_is_valid(const char *m)
{
	size_t n = strlen(m);

	if (n == 0 || n >= HTTP_METHOD_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (m[i] < 'A' || m[i] > 'Z')
			return false;
	return true;
}

int
cb__http_submit(cb_http *http, const cb_http_request *req,
	cb_http_response *out, cb_http_done_cb done, void *payload)
{
	char redacted[CB_REDACTED_URL_MAX];
	struct xfer *x = NULL;
	const char *method;
	int error;

	CB_ASSERT_ARG(out);
	*out = (cb_http_response)CB_HTTP_RESPONSE_INIT;
	CB_ASSERT_ARG(http);
	CB_ASSERT_ARG(req);
	CB_ASSERT_ARG(req->url);
	CB_ASSERT_ARG(done);
	CB_ASSERT_ARG(req->body != NULL || req->body_len == 0);
	method = req->method ? req->method : "GET";
	if (!http_method_is_valid(method))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"http: invalid method '%.20s'", method);
	if ((x = cb__calloc(1, sizeof(*x))) == NULL)
		return CB_ENOMEM;
	x->http = http;
	x->resp = out;
	x->done = done;
	x->payload = payload;
	snprintf(x->method, sizeof(x->method), "%s", method);
	snprintf(x->where, sizeof(x->where), "%s %s", method,
		cb__redact_url(redacted, sizeof(redacted), req->url));
	if ((error = xfer_check_url(x, req->url)) < 0)
		goto done;
	if ((x->url = cb__strdup(req->url)) == NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	if (req->body != NULL) {
		if ((x->body = cb__malloc(req->body_len)) == NULL) {
			error = CB_ENOMEM;
			goto done;
		}
		if (req->body_len)
			memcpy(x->body, req->body, req->body_len);
		x->body_len = req->body_len;
	}
	if ((error = xfer_build_headers(x, req->headers)) < 0)
		goto done;
	x->on_body = req->on_body;
	x->on_body_payload = req->on_body_payload;
	x->retry_unsafe = req->retry_unsafe;
	x->idempotent = http_method_is_idempotent(x->method);
	x->timeout_ms = req->timeout_ms == 0
				? http->opts.timeout_ms
				: (req->timeout_ms < 0 ? 0 : req->timeout_ms);
	x->deadline_ms =
		req->deadline_ms == 0
			? http->opts.deadline_ms
			: (req->deadline_ms < 0 ? 0 : req->deadline_ms);
	list_append(&http->queued, x);
	x = NULL;
	error = 0;
done:
	xfer_free(x);
	return error;
}

int
cb__http_run(cb_http *http)
{
	CB_ASSERT_ARG(http);
	return http_loop(http, NULL);
}

int
cb__http_set_max_parallel(cb_http *http, unsigned n)
{
	CB_ASSERT_ARG(http);
	CB_ASSERT_ARG(n >= 1);
	http->opts.max_parallel = n;
	return 0;
}

void
cb__http_set_ratelimit(cb_http *http, cb_ratelimit *rl)
{
	if (http != NULL)
		http->rl = rl;
}

void
cb__http_abort(cb_http *http)
{
	if (http != NULL && http_busy(http))
		http->aborting = true;
}

struct send_state {
	bool done;
	int error;
};

static void
send_done(int error, cb_http_response *resp, void *payload)
{
	struct send_state *st = payload;

	CB_UNUSED(resp);
	st->done = true;
	st->error = error;
}

int
cb__http_send(cb_http *http, const cb_http_request *req, cb_http_response *out)
{
	struct send_state st = { false, 0 };
	int error;

	CB_ASSERT_ARG(out);
	*out = (cb_http_response)CB_HTTP_RESPONSE_INIT;
	CB_ASSERT_ARG(http);
	if (http->running)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"http: cannot run or send from a completion callback");
	if ((error = cb__http_submit(http, req, out, send_done, &st)) < 0)
		return error;
	if ((error = http_loop(http, &st.done)) < 0 && !st.done)
		return error;
	return st.error;
}

/* cb__http_send_all bookkeeping: the first failure's error survives the
 * completions that follow it. */
struct all_state {
	int *results;
	size_t first; /* index of the lowest failure so far, or n */
	int code;
	int klass;
	int status;
	char message[CB_ERROR_MESSAGE_MAX];
	char request_id[CB_HTTP_ID_MAX];
};

struct all_item {
	struct all_state *st;
	size_t index;
};

static void
all_record(struct all_state *st, size_t i, int error)
{
	const cb_error *e = cb_error_last();

	if (st->results)
		st->results[i] = error;
	if (error == 0 || i >= st->first)
		return;
	st->first = i;
	st->code = error;
	st->klass = e->klass;
	st->status = e->http_status;
	snprintf(st->message, sizeof(st->message), "%s", e->message);
	http_copy_id(st->request_id, e->request_id);
}

static void
all_done(int error, cb_http_response *resp, void *payload)
{
	struct all_item *item = payload;

	CB_UNUSED(resp);
	all_record(item->st, item->index, error);
}

int
cb__http_send_all(cb_http *http, const cb_http_request *reqs,
	cb_http_response *resps, int *results, size_t n)
{
	struct all_state st;
	struct all_item *items = NULL;
	int error;

	CB_ASSERT_ARG(resps || n == 0);
	for (size_t i = 0; i < n; i++)
		resps[i] = (cb_http_response)CB_HTTP_RESPONSE_INIT;
	CB_ASSERT_ARG(http);
	CB_ASSERT_ARG(reqs || n == 0);
	if (http->running)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"http: cannot run or send from a completion callback");
	if (n == 0)
		return 0;
	memset(&st, 0, sizeof(st));
	st.results = results;
	st.first = n;
	if ((items = cb__calloc(n, sizeof(*items))) == NULL) {
		for (size_t i = 0; results && i < n; i++)
			results[i] = CB_ENOMEM;
		return CB_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		items[i].st = &st;
		items[i].index = i;
		if ((error = cb__http_submit(http, &reqs[i], &resps[i],
			     all_done, &items[i])) < 0)
			all_record(&st, i, error);
	}
	if ((error = cb__http_run(http)) < 0 && st.first == n)
		all_record(&st, 0, error);
	cb__free(items);
	if (st.first == n)
		return 0;
	cb__error_set(st.code, st.klass, "%s", st.message);
	if (st.status)
		cb__error_set_http(st.status, NULL, st.request_id);
	return st.code;
}
