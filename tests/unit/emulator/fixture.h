/*
 * tests/unit/emulator/fixture.h - an in-process armsim for the emulator's
 * tests: start it, build URLs on it, and send requests with a valid
 * bearer token, so each test file states only what it tests.
 */
#ifndef CB_TESTS_EMULATOR_FIXTURE_H
#define CB_TESTS_EMULATOR_FIXTURE_H

#include "emulator/armsim.h"
#include "emulator/partner.h"
#include "tests/support/jsonshape.h"
#include "tests/support/webclient.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Cost Management limits for tests that make more reports and queries
 * than Azure allows in a minute; throttling has its own tests. */
#define AS_TEST_CM_THROTTLE                                      \
	"costdetails-scope=10000/min,costdetails-app=10000/min," \
	"qpu=10000/min"

/* Defaults for tests: plain http, a small partner. */
static inline void
as_test_options(as_options *o, unsigned customers)
{
	as_options_init(o);
	o->plain_http = true;
	o->customers = customers;
}

/* Start armsim with o; fails the test when it cannot. */
static inline as_server *
as_test_start(const as_options *o)
{
	as_server *s = NULL;
	char err[512];

	if (as_server_start(&s, o, err, sizeof(err)) != 0)
		fail_msg("armsim: %s", err);
	return s;
}

/* target relative to the server ("/providers/..."), or an absolute URL
 * (a nextLink or Location) used as it is. */
static inline void
as_test_url(as_server *s, const char *target, char *out, size_t outlen)
{
	char base[128];
	int n;

	as_server_base(s, base, sizeof(base));
	n = snprintf(out, outlen, "%s%s",
		strncmp(target, "http", 4) == 0 ? "" : base, target);
	if (n < 0 || (size_t)n >= outlen)
		fail_msg("URL longer than %zu bytes: %.80s...", outlen, target);
}

/* The name of the partner's Microsoft Partner Agreement account. */
static inline const char *
as_test_mpa(as_server *s)
{
	for (size_t i = 0; i < s->partner->naccounts; i++)
		if (s->partner->accounts[i].agreement == AS_AGREEMENT_MPA)
			return s->partner->accounts[i].name;
	fail_msg("no MPA account");
	return NULL;
}

/* One request with a valid bearer token and optional extra header lines
 * ("Name: value\n..."); the reply in r (free it).  Fails the test when no
 * reply arrives. */
static inline void
as_test_call(as_server *s, cb_test_reply *r, const char *method,
	const char *target, const char *extra_header, const char *body)
{
	char url[4096], tok[4096], hdr[4352];

	as_test_url(s, target, url, sizeof(url));
	assert_int_equal(0, as_entra_issue(s, tok, sizeof(tok)));
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s%s%s", tok,
		extra_header ? "\n" : "", extra_header ? extra_header : "");
	assert_int_equal(0, cb_test_fetch(r, method, url, hdr, body));
}

/* r's exact status, and its exact body want unless want is NULL ("" for
 * an empty body); frees r.  method and target say what was asked. */
static inline void
as_test_check(cb_test_reply *r, const char *method, const char *target,
	long status, const char *want)
{
	if (r->status != status)
		fail_msg("%s %s: %ld, not %ld: %s", method, target, r->status,
			status, r->body);
	if (want != NULL)
		assert_string_equal(want, r->body);
	cb_test_reply_free(r);
}

/* as_test_call, then as_test_check. */
static inline void
as_test_expect(as_server *s, const char *method, const char *target,
	const char *extra_header, const char *body, long status,
	const char *want)
{
	cb_test_reply r;

	as_test_call(s, &r, method, target, extra_header, body);
	as_test_check(&r, method, target, status, want);
}

/* actual has the shape of the Azure example rel's answer with that
 * status (tests/support/jsonshape.h), but for the ignore paths. */
static inline void
as_test_assert_shape(const char *rel, const char *status, const char *actual,
	const char *const *ignore)
{
	char *want = cb_test_example_response(rel, status);
	char why[512];

	assert_non_null(want);
	if (!cb_test_json_shape(want, actual, ignore, why, sizeof(why)))
		fail_msg("%s %s: %s\n%s", rel, status, why, actual);
	free(want);
}

#endif
