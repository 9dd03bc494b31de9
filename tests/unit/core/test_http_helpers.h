/*
 * tests/unit/core/test_http_helpers.h - shared by the test_http*.c files:
 * a client with fast retry settings, URL building, and assertions that
 * print the error name and message on failure.  Include after <cmocka.h>.
 */
#ifndef CB_TEST_HTTP_HELPERS_H
#define CB_TEST_HTTP_HELPERS_H

#include "core/common.h"
#include "core/http.h"
#include "tests/support/httpd.h"

#include <regex.h>
#include <stdio.h>
#include <time.h>

#define assert_ok(expr)                                                   \
	do {                                                              \
		int rc_ = (expr);                                         \
		if (rc_ != 0)                                             \
			fail_msg("%s: %s: %s", #expr, cb_error_name(rc_), \
				cb_error_last()->message);                \
	} while (0)

#define assert_code(want, expr)                                               \
	do {                                                                  \
		int rc_ = (expr);                                             \
		if (rc_ != (want))                                            \
			fail_msg("%s: got %s (%s), want %s", #expr,           \
				cb_error_name(rc_), cb_error_last()->message, \
				cb_error_name(want));                         \
	} while (0)

/* Retries in milliseconds, not seconds, and a fixed jitter seed. */
static inline cb_http_options
fast_options(void)
{
	cb_http_options o = CB_HTTP_OPTIONS_INIT;

	o.backoff_base_ms = 10;
	o.backoff_max_ms = 40;
	o.deadline_ms = 10000;
	o.max_attempts = 4;
	o.rng_seed = 7;
	return o;
}

static inline cb_http *
new_client(const cb_http_options *o)
{
	cb_http_options fast = fast_options();
	cb_http *h = NULL;

	assert_ok(cb__http_new(&h, o ? o : &fast));
	return h;
}

/* URLs live in a small ring so a test can hold several at once. */
static inline const char *
url_of(cb_test_httpd *d, const char *path)
{
	static char ring[8][512];
	static unsigned next;
	char *buf = ring[next++ % 8];

	return cb_test_httpd_url(d, buf, sizeof(ring[0]), path);
}

static inline int
do_get(cb_http *h, const char *url, cb_http_response *resp)
{
	cb_http_request req = { 0 };

	req.url = url;
	return cb__http_send(h, &req, resp);
}

static inline void
assert_message_matches(const char *pattern)
{
	const char *msg = cb_error_last()->message;
	regex_t re;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		fail_msg("bad pattern %s", pattern);
	if (regexec(&re, msg, 0, NULL, 0) != 0) {
		regfree(&re);
		fail_msg("message '%s' does not match '%s'", msg, pattern);
	}
	regfree(&re);
}

static inline int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
