/*
 * tests/unit/core/test_token_cache.c - per-scope caching, the refresh
 * margin, one refresh for many threads, shared failures.
 */
#include "core/common.h"
#include "core/token_cache.h"
#include "core/auth.h"
#include "core/buf.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <cmocka.h>

#define NOW 1767225600

struct fetcher {
	atomic_int calls;
	int64_t lifetime; /* token expires at NOW + lifetime */
	bool fail;        /* fail with CB_EAUTH instead */
	struct cb__token_cache *cache;
	size_t wait_for; /* before returning, wait until this many wait */
};

static int
fetch(cb_buf *token, int64_t *expires_on, const char *scope, void *payload)
{
	struct fetcher *f = payload;
	int n = atomic_fetch_add(&f->calls, 1) + 1;

	/* Hold the refresh until the other threads are queued behind it. */
	while (f->wait_for && cb__token_cache_waiting(f->cache) < f->wait_for) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	if (f->fail) {
		cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"token request to https://login/t failed: http 401 "
			"invalid_client: AADSTS7000215 (attempt %d)",
			n);
		cb__error_set_http(401, "invalid_client", "corr-1");
		return CB_EAUTH;
	}
	*expires_on = NOW + f->lifetime;
	return cb__buf_printf(token, "token-%d-for-%s", n, scope);
}

static void
test_token_cache_hit_miss_and_margin(void **state)
{
	struct cb__token_cache *c = NULL;
	struct fetcher f = { .lifetime = 3600 };
	cb_buf t = CB_BUF_INIT;
	int64_t exp = 0;

	(void)state;
	assert_int_equal(0, cb__token_cache_new(&c));
	assert_int_equal(
		0, cb__token_cache_get(c, "arm", NOW, fetch, &f, &t, &exp));
	assert_string_equal("token-1-for-arm", t.ptr);
	assert_int_equal(NOW + 3600, exp);
	/* Cached: no second fetch, up to 301 s before expiry. */
	assert_int_equal(0, cb__token_cache_get(c, "arm", NOW + 3600 - 301,
				    fetch, &f, &t, &exp));
	assert_string_equal("token-1-for-arm", t.ptr);
	assert_int_equal(1, atomic_load(&f.calls));
	/* Exactly five minutes left: refresh. */
	assert_int_equal(0, cb__token_cache_get(c, "arm", NOW + 3600 - 300,
				    fetch, &f, &t, NULL));
	assert_string_equal("token-2-for-arm", t.ptr);
	assert_int_equal(2, atomic_load(&f.calls));
	/* Another scope is another entry. */
	assert_int_equal(
		0, cb__token_cache_get(c, "storage", NOW, fetch, &f, &t, &exp));
	assert_string_equal("token-3-for-storage", t.ptr);
	assert_int_equal(
		0, cb__token_cache_get(c, "arm", NOW, fetch, &f, &t, &exp));
	assert_string_equal("token-2-for-arm", t.ptr);
	assert_int_equal(3, atomic_load(&f.calls));
	/* clear forgets tokens. */
	cb__token_cache_clear(c);
	assert_int_equal(
		0, cb__token_cache_get(c, "arm", NOW, fetch, &f, &t, &exp));
	assert_string_equal("token-4-for-arm", t.ptr);
	cb__auth_buf_wipe(&t);
	cb__token_cache_free(c);
	cb__token_cache_free(NULL);
}

static void
test_token_cache_short_lived_token_is_fetched_each_time(void **state)
{
	struct cb__token_cache *c = NULL;
	struct fetcher f = { .lifetime = 60 };
	cb_buf t = CB_BUF_INIT;

	(void)state;
	assert_int_equal(0, cb__token_cache_new(&c));
	for (int i = 1; i <= 3; i++) {
		char want[32];

		assert_int_equal(0, cb__token_cache_get(c, "arm", NOW, fetch,
					    &f, &t, NULL));
		snprintf(want, sizeof(want), "token-%d-for-arm", i);
		assert_string_equal(want, t.ptr);
	}
	cb__auth_buf_wipe(&t);
	cb__token_cache_free(c);
}

static void
test_token_cache_failure_then_retry(void **state)
{
	struct cb__token_cache *c = NULL;
	struct fetcher f = { .lifetime = 3600, .fail = true };
	cb_buf t = CB_BUF_INIT;

	(void)state;
	assert_int_equal(0, cb__token_cache_new(&c));
	assert_int_equal(CB_EAUTH,
		cb__token_cache_get(c, "arm", NOW, fetch, &f, &t, NULL));
	assert_string_equal("token request to https://login/t failed: http "
			    "401 invalid_client: AADSTS7000215 (attempt 1)",
		cb_error_last()->message);
	assert_null(t.ptr);
	/* A later caller tries again: failures are not cached. */
	f.fail = false;
	assert_int_equal(
		0, cb__token_cache_get(c, "arm", NOW, fetch, &f, &t, NULL));
	assert_string_equal("token-2-for-arm", t.ptr);
	cb__auth_buf_wipe(&t);
	cb__token_cache_free(c);
}

static int
empty_fetch(cb_buf *token, int64_t *expires_on, const char *scope, void *p)
{
	(void)token;
	(void)scope;
	(void)p;
	*expires_on = NOW + 3600;
	return 0;
}

static void
test_token_cache_refuses_empty_token_and_too_many_scopes(void **state)
{
	struct cb__token_cache *c = NULL;
	struct fetcher f = { .lifetime = 3600 };
	cb_buf t = CB_BUF_INIT;
	char scope[32];

	(void)state;
	assert_int_equal(0, cb__token_cache_new(&c));
	assert_int_equal(CB_EAUTH, cb__token_cache_get(c, "arm", NOW,
					   empty_fetch, NULL, &t, NULL));
	assert_string_equal("token request for scope 'arm' returned an empty "
			    "token",
		cb_error_last()->message);
	for (int i = 1; i < CB__TOKEN_CACHE_MAX_SCOPES; i++) {
		snprintf(scope, sizeof(scope), "s%d", i);
		assert_int_equal(0, cb__token_cache_get(c, scope, NOW, fetch,
					    &f, &t, NULL));
	}
	assert_int_equal(CB_ETOOBIG,
		cb__token_cache_get(c, "one-more", NOW, fetch, &f, &t, NULL));
	assert_string_equal(
		"token cache: more than 16 scopes", cb_error_last()->message);
	cb__auth_buf_wipe(&t);
	cb__token_cache_free(c);
}

#define THREADS 8

struct worker {
	pthread_t thread;
	struct cb__token_cache *cache;
	struct fetcher *fetcher;
	int rc;
	char token[64];
	char message[CB_ERROR_MESSAGE_MAX];
	int http_status;
	char request_id[64];
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	cb_buf t = CB_BUF_INIT;

	w->rc = cb__token_cache_get(
		w->cache, "arm", NOW, fetch, w->fetcher, &t, NULL);
	snprintf(w->token, sizeof(w->token), "%s", t.ptr ? t.ptr : "");
	snprintf(
		w->message, sizeof(w->message), "%s", cb_error_last()->message);
	w->http_status = cb_error_last()->http_status;
	snprintf(w->request_id, sizeof(w->request_id), "%s",
		cb_error_last()->request_id);
	cb__auth_buf_wipe(&t);
	return NULL;
}

static void
run_workers(struct worker *w, struct cb__token_cache *c, struct fetcher *f)
{
	for (int i = 0; i < THREADS; i++) {
		w[i].cache = c;
		w[i].fetcher = f;
		assert_int_equal(0,
			pthread_create(&w[i].thread, NULL, worker_run, &w[i]));
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(0, pthread_join(w[i].thread, NULL));
}

static void
test_token_cache_threads_share_one_refresh(void **state)
{
	struct cb__token_cache *c = NULL;
	struct fetcher f = { .lifetime = 3600, .wait_for = THREADS - 1 };
	struct worker w[THREADS] = { 0 };

	(void)state;
	assert_int_equal(0, cb__token_cache_new(&c));
	f.cache = c;
	run_workers(w, c, &f);
	assert_int_equal(1, atomic_load(&f.calls));
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(0, w[i].rc);
		assert_string_equal("token-1-for-arm", w[i].token);
	}
	assert_int_equal(0, cb__token_cache_waiting(c));
	cb__token_cache_free(c);
}

static void
test_token_cache_threads_share_one_failure(void **state)
{
	struct cb__token_cache *c = NULL;
	struct fetcher f = {
		.lifetime = 3600, .fail = true, .wait_for = THREADS - 1
	};
	struct worker w[THREADS] = { 0 };

	(void)state;
	assert_int_equal(0, cb__token_cache_new(&c));
	f.cache = c;
	run_workers(w, c, &f);
	/* One request to Entra, and every worker reports its answer. */
	assert_int_equal(1, atomic_load(&f.calls));
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(CB_EAUTH, w[i].rc);
		assert_string_equal("token request to https://login/t failed: "
				    "http 401 invalid_client: AADSTS7000215 "
				    "(attempt 1)",
			w[i].message);
		assert_int_equal(401, w[i].http_status);
		assert_string_equal("corr-1", w[i].request_id);
		assert_string_equal("", w[i].token);
	}
	cb__token_cache_free(c);
}

static void
test_token_cache_survives_oom(void **state)
{
	struct cb__token_cache *c = NULL;
	struct fetcher f = { .lifetime = 3600 };
	cb_buf t = CB_BUF_INIT;
	unsigned long n;
	int error;

	(void)state;
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__token_cache_new(&c);
		if (error == 0)
			error = cb__token_cache_get(
				c, "arm", NOW, fetch, &f, &t, NULL);
		cb__alloc_fail_after(0);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		cb__token_cache_free(c);
		c = NULL;
	}
	assert_true(n > 3);
	assert_non_null(strstr(t.ptr, "-for-arm"));
	cb__auth_buf_wipe(&t);
	cb__token_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_cache_hit_miss_and_margin),
		cmocka_unit_test(
			test_token_cache_short_lived_token_is_fetched_each_time),
		cmocka_unit_test(test_token_cache_failure_then_retry),
		cmocka_unit_test(
			test_token_cache_refuses_empty_token_and_too_many_scopes),
		cmocka_unit_test(test_token_cache_threads_share_one_refresh),
		cmocka_unit_test(test_token_cache_threads_share_one_failure),
		cmocka_unit_test(test_token_cache_survives_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
