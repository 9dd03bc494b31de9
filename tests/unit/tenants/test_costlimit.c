/*
 * tests/unit/tenants/test_costlimit.c - the Cost Details report limiter
 * (tenants/costlimit.c) on an injected clock: the exact waits of each
 * sliding window (scope minute, hour, day; application minute), the daily
 * allowance refused at once with its message, scope names compared as ARM
 * compares them, idle scopes forgotten, and many threads sharing one
 * limiter never letting more through than allowed.
 */
#include "core/common.h"

#include "tenants/costreport.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <cmocka.h>

#define MIN  ((int64_t)60000)
#define HOUR ((int64_t)3600000)
#define DAY  ((int64_t)86400000)

#define SCOPE_A "/providers/Microsoft.Billing/billingAccounts/a"
#define SCOPE_B "/providers/Microsoft.Billing/billingAccounts/b"

/* A fake clock: sleeping advances it and records the wait. */
struct clock {
	int64_t now;
	long waits[64];
	size_t nwaits;
};

static int64_t
fake_now(void *payload)
{
	return ((struct clock *)payload)->now;
}

static void
fake_sleep(long ms, void *payload)
{
	struct clock *c = payload;

	if (c->nwaits < CB_ARRAY_SIZE(c->waits))
		c->waits[c->nwaits] = ms;
	c->nwaits++;
	c->now += ms;
}

static cb__costreport_limiter *
new_limiter(struct clock *c, unsigned minute, unsigned hour, unsigned day,
	unsigned app)
{
	cb__costreport_limits l = { minute, hour, day, app, fake_now,
		fake_sleep, c };
	cb__costreport_limiter *lim = NULL;

	assert_int_equal(0, cb__costreport_limiter_new(&lim, &l));
	return lim;
}

static void
test_scope_minute(void **state)
{
	struct clock c = { .now = 5 * DAY };
	cb__costreport_limiter *lim = new_limiter(&c, 2, 10, 50, 30);

	(void)state;
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_A));
	c.now += 1000;
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_int_equal(0, c.nwaits);
	c.now += 1000;
	/* The third waits until the first is 60 s old: 58 s from now. */
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_int_equal(1, c.nwaits);
	assert_int_equal(58000, c.waits[0]);
	assert_int_equal(5 * DAY + MIN, c.now);
	/* The fourth until the second is: 1 s more. */
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_int_equal(2, c.nwaits);
	assert_int_equal(1000, c.waits[1]);
	/* Another scope has its own windows. */
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_B));
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_B));
	assert_int_equal(2, c.nwaits);
	cb__costreport_limiter_free(lim);
}

static void
test_scope_hour(void **state)
{
	struct clock c = { .now = 0 };
	cb__costreport_limiter *lim = new_limiter(&c, 2, 10, 50, 30);

	(void)state;
	/* Ten in the first 4.5 minutes (pairs a minute apart). */
	for (int i = 0; i < 10; i++)
		assert_int_equal(
			0, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_int_equal(4, c.nwaits);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(MIN, c.waits[i]);
	assert_int_equal(4 * MIN, c.now);
	/* The eleventh waits until the first is an hour old. */
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_int_equal(5, c.nwaits);
	assert_int_equal(HOUR - 4 * MIN, c.waits[4]);
	assert_int_equal(HOUR, c.now);
	cb__costreport_limiter_free(lim);
}

static void
test_app_minute(void **state)
{
	struct clock c = { .now = 1000 };
	cb__costreport_limiter *lim = new_limiter(&c, 2, 10, 50, 30);
	char scope[128];

	(void)state;
	for (int i = 0; i < 30; i++) {
		snprintf(scope, sizeof(scope),
			"/providers/Microsoft.Billing/billingAccounts/x/"
			"customers/%d",
			i);
		assert_int_equal(0, cb__costreport_limiter_acquire(lim, scope));
		c.now += 100;
	}
	assert_int_equal(0, c.nwaits);
	/* The 31st, on a scope of its own, waits for the application's
	 * minute: until the first (at 1000) is 60 s old. */
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_B));
	assert_int_equal(1, c.nwaits);
	assert_int_equal(1000 + MIN - 4000, c.waits[0]);
	/* The 32nd until the second is. */
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_int_equal(2, c.nwaits);
	assert_int_equal(100, c.waits[1]);
	cb__costreport_limiter_free(lim);
}

static void
test_day_allowance_refused_at_once(void **state)
{
	struct clock c = { .now = 0 };
	cb__costreport_limiter *lim = new_limiter(&c, 100, 100, 50, 100);

	(void)state;
	for (int i = 0; i < 50; i++) {
		assert_int_equal(
			0, cb__costreport_limiter_acquire(lim, SCOPE_A));
		c.now += 1000;
	}
	assert_int_equal(
		CB_ETHROTTLED, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_string_equal("the Cost Details allowance for " SCOPE_A
			    " (50 reports a day) is spent",
		cb_error_last()->message);
	assert_int_equal(0, c.nwaits);
	/* Refused again, still without waiting; other scopes go on. */
	assert_int_equal(
		CB_ETHROTTLED, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_B));
	assert_int_equal(0, c.nwaits);
	/* A day after the first, one slot is free again. */
	c.now = DAY;
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_int_equal(
		CB_ETHROTTLED, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_int_equal(0, c.nwaits);
	cb__costreport_limiter_free(lim);
}

static void
test_scope_names_compare_as_arm_does(void **state)
{
	struct clock c = { .now = 0 };
	cb__costreport_limiter *lim = new_limiter(&c, 2, 10, 50, 30);

	(void)state;
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_int_equal(
		0, cb__costreport_limiter_acquire(lim,
			   "providers/microsoft.billing/BILLINGACCOUNTS/A/"));
	assert_int_equal(0, c.nwaits);
	/* The same scope: the third waits a minute. */
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_int_equal(1, c.nwaits);
	assert_int_equal(MIN, c.waits[0]);
	cb__costreport_limiter_free(lim);
}

static void
test_idle_scopes_are_forgotten(void **state)
{
	struct clock c = { .now = 0 };
	cb__costreport_limiter *lim = new_limiter(&c, 2, 10, 1, 100000);
	char scope[64];

	(void)state;
	/* 500 scopes spend their one report a day... */
	for (int i = 0; i < 500; i++) {
		snprintf(scope, sizeof(scope), "/scope/%d", i);
		assert_int_equal(0, cb__costreport_limiter_acquire(lim, scope));
	}
	assert_int_equal(
		CB_ETHROTTLED, cb__costreport_limiter_acquire(lim, "/scope/7"));
	/* ...a day later 500 others sweep them away, and the first ones
	 * start afresh (ASan checks what the sweep freed). */
	c.now = DAY;
	for (int i = 500; i < 1000; i++) {
		snprintf(scope, sizeof(scope), "/scope/%d", i);
		assert_int_equal(0, cb__costreport_limiter_acquire(lim, scope));
	}
	for (int i = 0; i < 500; i++) {
		snprintf(scope, sizeof(scope), "/scope/%d", i);
		assert_int_equal(0, cb__costreport_limiter_acquire(lim, scope));
	}
	assert_int_equal(0, c.nwaits);
	cb__costreport_limiter_free(lim);
}

/* Threads on the real clock: limits that never need a wait, but a daily
 * allowance the threads race for. */
struct racer {
	cb__costreport_limiter *lim;
	int ok, refused;
};

static void *
race(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < 25; i++) {
		int rc = cb__costreport_limiter_acquire(r->lim, SCOPE_A);

		if (rc == 0)
			r->ok++;
		else if (rc == CB_ETHROTTLED)
			r->refused++;
	}
	return NULL;
}

static void
test_threads_share_the_allowance(void **state)
{
	cb__costreport_limits l = { 1000, 1000, 60, 1000, NULL, NULL, NULL };
	cb__costreport_limiter *lim = NULL;
	struct racer r[4];
	pthread_t t[4];
	int ok = 0, refused = 0;

	(void)state;
	assert_int_equal(0, cb__costreport_limiter_new(&lim, &l));
	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){ .lim = lim };
		assert_int_equal(0, pthread_create(&t[i], NULL, race, &r[i]));
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ok += r[i].ok;
		refused += r[i].refused;
	}
	assert_int_equal(60, ok);
	assert_int_equal(40, refused);
	cb__costreport_limiter_free(lim);
}

static void
test_defaults_and_bad_limits(void **state)
{
	cb__costreport_limits l = CB__COSTREPORT_LIMITS_INIT;
	cb__costreport_limiter *lim = NULL;

	(void)state;
	/* NULL limits: Azure's, on the real clock; two go at once. */
	assert_int_equal(0, cb__costreport_limiter_new(&lim, NULL));
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_A));
	assert_int_equal(0, cb__costreport_limiter_acquire(lim, SCOPE_A));
	cb__costreport_limiter_free(lim);
	cb__costreport_limiter_free(NULL);
	l.per_scope_day = 0;
	lim = NULL;
	assert_int_equal(CB_EINVAL, cb__costreport_limiter_new(&lim, &l));
	assert_null(lim);
	assert_int_equal(CB_EINVAL, cb__costreport_limiter_acquire(NULL, "x"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope_minute),
		cmocka_unit_test(test_scope_hour),
		cmocka_unit_test(test_app_minute),
		cmocka_unit_test(test_day_allowance_refused_at_once),
		cmocka_unit_test(test_scope_names_compare_as_arm_does),
		cmocka_unit_test(test_idle_scopes_are_forgotten),
		cmocka_unit_test(test_threads_share_the_allowance),
		cmocka_unit_test(test_defaults_and_bad_limits),
	};
	int rc;

	cb_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cb_shutdown();
	return rc;
}
