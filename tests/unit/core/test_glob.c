/*
 * tests/unit/core/test_glob.c - the glob the configuration's selectors and
 * the rules use for customer names.
 */
#include "core/common.h"

#include "core/glob.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void
test_glob_matches_like_a_shell_ignoring_case(void **state)
{
	(void)state;
	assert_true(cb__glob_match_ci("*", ""));
	assert_true(cb__glob_match_ci("", ""));
	assert_false(cb__glob_match_ci("", "a"));
	assert_true(cb__glob_match_ci("contoso*", "Contoso Retail"));
	assert_true(cb__glob_match_ci("*RETAIL", "Contoso Retail"));
	assert_true(cb__glob_match_ci("*so r*", "Contoso Retail"));
	assert_false(cb__glob_match_ci("contoso", "Contoso Retail"));
	assert_true(cb__glob_match_ci("c?ntoso*", "Contoso"));
	assert_false(cb__glob_match_ci("c?ntoso?", "Contoso"));
	assert_true(cb__glob_match_ci("a*b*c", "aXbYbZc"));
	assert_false(cb__glob_match_ci("a*b*c", "aXbYbZ"));
	assert_true(cb__glob_match_ci("**x", "x"));
	/* Only ASCII folds: bytes of UTF-8 names compare as they are. */
	assert_true(cb__glob_match_ci("caf\xc3\xa9*", "CAF\xc3\xa9 Ltd"));
	assert_false(cb__glob_match_ci("caf\xc3\x89", "caf\xc3\xa9"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob_matches_like_a_shell_ignoring_case),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
