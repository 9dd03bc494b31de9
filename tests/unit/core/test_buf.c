/*
 * tests/unit/core/test_buf.c - cb_buf and the allocation failure hook.
 */
#include "core/common.h"
#include "core/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void
test_buf_appends_and_terminates(void **state)
{
	cb_buf b = CB_BUF_INIT;

	(void)state;
	assert_int_equal(0, cb__buf_puts(&b, "ab"));
	assert_int_equal(0, cb__buf_putc(&b, 'c'));
	assert_int_equal(0, cb__buf_printf(&b, "-%d-%s", 42, "x"));
	assert_int_equal(0, cb__buf_put(&b, "\0z", 2));
	assert_int_equal(10, b.size);
	assert_memory_equal("abc-42-x\0z", b.ptr, 11);
	cb__buf_clear(&b);
	assert_int_equal(0, b.size);
	assert_string_equal("", b.ptr);
	cb_buf_dispose(&b);
	assert_null(b.ptr);
	cb_buf_dispose(NULL);
}

static void
test_buf_grows_geometrically_to_large_sizes(void **state)
{
	cb_buf b = CB_BUF_INIT;
	char chunk[1000];

	(void)state;
	memset(chunk, 'q', sizeof(chunk));
	for (int i = 0; i < 1000; i++)
		assert_int_equal(0, cb__buf_put(&b, chunk, sizeof(chunk)));
	assert_int_equal(1000000, b.size);
	assert_true(b.asize < 2 * b.size);
	assert_int_equal('\0', b.ptr[b.size]);
	cb_buf_dispose(&b);
}

static void
test_buf_refuses_past_cap(void **state)
{
	cb_buf b = CB_BUF_INIT;

	(void)state;
	assert_int_equal(CB_ETOOBIG, cb__buf_grow(&b, CB_BUF_MAX + 1));
	assert_int_equal(CB_ETOOBIG, cb__buf_grow(&b, SIZE_MAX));
	assert_null(b.ptr);
}

static void
test_buf_detach_hands_over(void **state)
{
	cb_buf b = CB_BUF_INIT;
	char *s;

	(void)state;
	s = cb__buf_detach(&b);
	assert_string_equal("", s);
	cb__free(s);
	cb__buf_puts(&b, "hello");
	s = cb__buf_detach(&b);
	assert_string_equal("hello", s);
	assert_null(b.ptr);
	cb__free(s);
}

static void
test_buf_survives_oom(void **state)
{
	cb_buf b = CB_BUF_INIT;
	unsigned long n;
	int error;

	(void)state;
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__buf_printf(&b, "%0900d", 7);
		if (error == 0)
			error = cb__buf_printf(&b, "%0900d", 8);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_int_equal(CB_ENOMEM, cb_error_last()->code);
		cb_buf_dispose(&b);
	}
	cb__alloc_fail_after(0);
	assert_true(n > 1);
	assert_int_equal(1800, b.size);
	cb_buf_dispose(&b);
}

static void
test_alloc_wrappers(void **state)
{
	char *s;
	void *p;

	(void)state;
	s = cb__strndup("abcdef", 3);
	assert_string_equal("abc", s);
	cb__free(s);
	assert_null(cb__reallocarray(NULL, SIZE_MAX / 2, 4));
	assert_int_equal(CB_ENOMEM, cb_error_last()->code);
	p = cb__calloc(0, 0);
	assert_non_null(p);
	cb__free(p);
	cb__alloc_fail_after(1);
	assert_null(cb__strdup("x"));
	cb__alloc_fail_after(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_appends_and_terminates),
		cmocka_unit_test(test_buf_grows_geometrically_to_large_sizes),
		cmocka_unit_test(test_buf_refuses_past_cap),
		cmocka_unit_test(test_buf_detach_hands_over),
		cmocka_unit_test(test_buf_survives_oom),
		cmocka_unit_test(test_alloc_wrappers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
