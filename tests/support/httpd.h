/*
 * tests/support/httpd.h - a scriptable local HTTP(S) server for tests.
 *
 * A test queues canned answers per route, runs the client against the
 * server's URL (127.0.0.1 and an ephemeral port), then checks exactly
 * what the server received and when (curl's test servers: behaviour from data,
 * a request log). Built on libmicrohttpd with a thread per connection, so a
 * delayed answer does not hold up the others and concurrency can be measured.
 *
 *     cb_test_httpd *d;
 *     cb_test_httpd_start(&d, NULL);
 *     cb_test_httpd_reply(d, "/x", 429, "Retry-After: 1", "slow down");
 *     cb_test_httpd_reply(d, "/x", 200, NULL, "ok");
 *     ... client GETs cb_test_httpd_url(d, buf, sizeof(buf), "/x") ...
 *     assert_int_equal(2, cb_test_httpd_count(d));
 *     cb_test_httpd_stop(d);
 *
 * Routes: an answer queued for "/a/b" matches any query string; one
 * queued for "/a/b?page=2" matches only that exact target.  Answers for a
 * route are served in the order queued; a request with no answer gets a
 * 404 with an ARM-shaped error body and is counted as unexpected.  The
 * server never uses the library's allocator, so it keeps working while a
 * test injects allocation failures (cb__alloc_fail_after).
 */
#ifndef CB_TESTS_SUPPORT_HTTPD_H
#define CB_TESTS_SUPPORT_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cb_test_httpd cb_test_httpd;

/* Serve an answer for every matching request from now on. */
#define CB_TEST_HTTPD_FOREVER 0xffffffffu

/* One canned answer; strings are copied when queued. */
typedef struct {
	int status;          /* 0 means 200 */
	const char *headers; /* "Name: value" lines separated by \n, or NULL */
	const void *body;    /* or NULL for an empty body */
	size_t body_len;     /* 0 with a body: strlen(body) */
	long delay_ms;       /* wait this long before answering */
	bool truncate;       /* announce the full length, but... */
	size_t truncate_at;  /* ...send only this many bytes, then close */
	bool drop;           /* close the connection without any answer */
	unsigned times;      /* serve it this many times; 0 means once */
} cb_test_answer;

/* What the server received, in arrival order; immutable once logged. */
typedef struct {
	char method[16];
	char *target; /* path and query exactly as sent */
	char *path;   /* target without the query */
	size_t header_count;
	char **header_names;  /* as sent */
	char **header_values; /* as sent */
	char *body;           /* NUL-terminated */
	size_t body_len;
	int64_t arrival_ms;       /* monotonic ms since the server started */
	int64_t arrival_epoch_ms; /* wall clock, for HTTP-date checks */
	unsigned in_flight;       /* requests open at arrival, this included */
	int client_port;          /* same port: same (reused) connection */
	int status;               /* what was answered; 0 if dropped */
} cb_test_request;

/* Paths of a throwaway CA and a server certificate it signed for
 * 127.0.0.1 and localhost (PEM). */
typedef struct {
	char ca[256];
	char cert[256];
	char key[256];
} cb_test_tls_files;

/*
 * Start a server on 127.0.0.1 and an ephemeral port; HTTPS when @p tls is
 * not NULL (cert and key are read from its paths).  Returns 0 or -1 (with
 * a message on stderr: tests fail loudly, never skip).
 */
int cb_test_httpd_start(cb_test_httpd **out, const cb_test_tls_files *tls);

/* Stop the server and free everything, log included.  NULL is a no-op. */
void cb_test_httpd_stop(cb_test_httpd *d);

/* The port it listens on. */
int cb_test_httpd_port(const cb_test_httpd *d);

/* "http(s)://127.0.0.1:<port><path>" into buf; returns buf. */
char *cb_test_httpd_url(
	const cb_test_httpd *d, char *buf, size_t len, const char *path);

/* Queue an answer for method (NULL: any method) on route. */
void cb_test_httpd_queue(cb_test_httpd *d, const char *method,
	const char *route, const cb_test_answer *answer);

/* Shorthand: queue one plain answer for any method. */
void cb_test_httpd_reply(cb_test_httpd *d, const char *route, int status,
	const char *headers, const char *body);

/* Requests received so far (answered, dropped or being answered). */
size_t cb_test_httpd_count(cb_test_httpd *d);

/* The i-th request received.  Borrowed: valid until cb_test_httpd_stop
 * or cb_test_httpd_clear_log. */
const cb_test_request *cb_test_httpd_request(cb_test_httpd *d, size_t i);

/* A request header by name, case-insensitive, or NULL. */
const char *cb_test_request_header(const cb_test_request *r, const char *name);

/* Most requests ever open at once. */
unsigned cb_test_httpd_max_in_flight(cb_test_httpd *d);

/* Requests that found no queued answer (and got the default 404). */
size_t cb_test_httpd_unexpected(cb_test_httpd *d);

/* Answers still queued (a test can check it used them all). */
size_t cb_test_httpd_pending(cb_test_httpd *d);

/* Forget the request log, the counters and the queued answers. */
void cb_test_httpd_clear(cb_test_httpd *d);

/* A port on 127.0.0.1 where nothing listens (bound, then released). */
int cb_test_unused_port(void);

/*
 * Make a throwaway CA and a server certificate for 127.0.0.1/localhost in
 * dir with the openssl command (prefix names the files: <prefix>-ca.pem,
 * <prefix>-cert.pem, <prefix>-key.pem).  Returns 0 or -1.
 */
int cb_test_make_tls(
	cb_test_tls_files *out, const char *dir, const char *prefix);

#endif
