/*
 * tests/support/webclient.h - a plain HTTP(S) client for tests that talk
 * to armsim (or any local server) and check exact statuses, headers and
 * bytes.  It is libcurl's easy interface with no retries and no
 * interpretation, so what a test sees is what the server sent; the
 * library's own client (core/http) is what is under test elsewhere.
 *
 *     cb_test_reply r;
 *     cb_test_fetch(&r, "GET", url, "Authorization: Bearer x", NULL);
 *     assert_int_equal(200, r.status);
 *     assert_string_equal("...", cb_test_reply_header(&r, "eTag"));
 *     cb_test_reply_free(&r);
 */
#ifndef CB_TESTS_SUPPORT_WEBCLIENT_H
#define CB_TESTS_SUPPORT_WEBCLIENT_H

#include <stddef.h>

typedef struct {
	long status;   /* 0 when the transfer failed */
	int curl_code; /* CURLcode; nonzero on a reset or truncation */
	char *headers; /* raw header block of the final response */
	char *body;    /* NUL-terminated */
	size_t body_len;
} cb_test_reply;

/*
 * Send one request.  headers: "Name: value" lines separated by '\n', or
 * NULL; body: NUL-terminated, or NULL for none.  A CA file in the
 * environment variable CB_TEST_CA (or set by cb_test_fetch_ca()) is
 * trusted for https; verification is always on.  Returns 0, or -1 when
 * no reply arrived (r->curl_code says why).  Free r with
 * cb_test_reply_free() either way.
 */
int cb_test_fetch(cb_test_reply *r, const char *method, const char *url,
	const char *headers, const char *body);

/* Trust this CA file for https from now on (copied); NULL for none. */
void cb_test_fetch_ca(const char *ca_file);

/* The value of a response header (case-insensitive), in a static buffer
 * overwritten by the next call; NULL when absent. */
const char *cb_test_reply_header(const cb_test_reply *r, const char *name);

void cb_test_reply_free(cb_test_reply *r);

#endif
