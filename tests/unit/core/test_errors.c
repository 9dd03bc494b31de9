/*
 * tests/unit/core/test_errors.c - the per-thread last error.
 */
#include "core/common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <cmocka.h>

static void
test_errors_set_returns_code_and_records_message(void **state)
{
	const cb_error *e;

	(void)state;
	assert_int_equal(CB_EPARSE,
		cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
			"costs.csv:%d: field '%s': '%s' is not a decimal", 1042,
			"CostInBillingCurrency", "12.3.4"));
	e = cb_error_last();
	assert_int_equal(CB_EPARSE, e->code);
	assert_int_equal(CB_ERRCLASS_CSV, e->klass);
	assert_string_equal("costs.csv:1042: field 'CostInBillingCurrency': "
			    "'12.3.4' is not a decimal",
		e->message);
	assert_int_equal(0, e->http_status);
	assert_string_equal("", e->sqlstate);
}

static void
test_errors_prefix_and_http_detail(void **state)
{
	const cb_error *e;

	(void)state;
	cb__error_set(
		CB_EHTTP, CB_ERRCLASS_AZURE, "GET %s: http %d", "/x", 404);
	cb__error_set_http(404, "BillingAccountNotFound",
		"6e9f2b7c-0000-4000-8000-000000000001");
	assert_int_equal(CB_EHTTP, cb__error_prefix("customer '%s': ", "c1"));
	e = cb_error_last();
	assert_string_equal("customer 'c1': GET /x: http 404", e->message);
	assert_int_equal(404, e->http_status);
	assert_string_equal("BillingAccountNotFound", e->arm_code);
	assert_string_equal(
		"6e9f2b7c-0000-4000-8000-000000000001", e->request_id);

	/* A new error resets every detail field. */
	cb__error_set(CB_EDB, CB_ERRCLASS_DB, "insert failed");
	cb__error_set_sqlstate("23505");
	e = cb_error_last();
	assert_int_equal(0, e->http_status);
	assert_string_equal("", e->arm_code);
	assert_string_equal("23505", e->sqlstate);
}

static void
test_errors_message_is_one_line_and_bounded(void **state)
{
	char big[4 * CB_ERROR_MESSAGE_MAX];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[10] = '\n';
	cb__error_set(CB_ERROR, CB_ERRCLASS_NONE, "%s", big);
	assert_int_equal(
		CB_ERROR_MESSAGE_MAX - 1, strlen(cb_error_last()->message));
	assert_null(strchr(cb_error_last()->message, '\n'));
}

static void
test_errors_names_and_texts_come_from_one_table(void **state)
{
	(void)state;
	assert_string_equal("ENOMEM", cb_error_name(CB_ENOMEM));
	assert_string_equal("out of memory", cb_strerror(CB_ENOMEM));
	assert_string_equal("OK", cb_error_name(0));
	assert_string_equal("unknown", cb_error_name(-9999));
	assert_string_equal("unknown error", cb_strerror(-9999));
}

static int
errors_assert_arg_helper(const char *p)
{
	CB_ASSERT_ARG(p);
	return 0;
}

static void
test_errors_assert_arg_returns_einval(void **state)
{
	(void)state;
	assert_int_equal(CB_EINVAL, errors_assert_arg_helper(NULL));
	assert_string_equal("errors_assert_arg_helper: invalid argument: p",
		cb_error_last()->message);
	assert_int_equal(0, errors_assert_arg_helper("ok"));
}

static void
test_errors_redact_url_drops_query(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal("https://h/blob/1",
		cb__redact_url(out, sizeof(out),
			"https://h/blob/1?sv=2020&sig=SECRET#frag"));
	assert_string_equal(
		"https://h/a", cb__redact_url(out, 12, "https://h/abcdef"));
	assert_string_equal("", cb__redact_url(out, sizeof(out), NULL));
}

static void *
errors_thread(void *arg)
{
	(void)arg;
	cb__error_set(CB_ETIMEOUT, CB_ERRCLASS_HTTP, "other thread");
	return NULL;
}

static void
test_errors_are_per_thread(void **state)
{
	pthread_t t;

	(void)state;
	cb__error_set(CB_EIO, CB_ERRCLASS_OS, "main thread");
	assert_int_equal(0, pthread_create(&t, NULL, errors_thread, NULL));
	assert_int_equal(0, pthread_join(t, NULL));
	assert_int_equal(CB_EIO, cb_error_last()->code);
	assert_string_equal("main thread", cb_error_last()->message);
	cb_error_clear();
	assert_int_equal(0, cb_error_last()->code);
	assert_string_equal("no error", cb_error_last()->message);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_errors_set_returns_code_and_records_message),
		cmocka_unit_test(test_errors_prefix_and_http_detail),
		cmocka_unit_test(test_errors_message_is_one_line_and_bounded),
		cmocka_unit_test(
			test_errors_names_and_texts_come_from_one_table),
		cmocka_unit_test(test_errors_assert_arg_returns_einval),
		cmocka_unit_test(test_errors_redact_url_drops_query),
		cmocka_unit_test(test_errors_are_per_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
