/*
 * tests/support/jsonshape.h - "same shape" for the Azure examples: armsim's
 * answer has every field the example's answer has, at the same nesting,
 * with the same JSON type (integer and real numbers are both "number";
 * a null in the example matches anything, as Azure sends null for absent
 * optional values).  Arrays: every element armsim sends must have the
 * shape of the example's first element, and a non-empty example array
 * needs a non-empty answer.  Extra fields in armsim's answer are allowed
 * (the examples are trimmed).  Values are not compared.
 */
#ifndef CB_TESTS_SUPPORT_JSONSHAPE_H
#define CB_TESTS_SUPPORT_JSONSHAPE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Compare the shapes of two JSON texts.  Returns true when actual has
 * expected's shape; false with the first difference in why ("value[0].
 * properties.amount: expected number, found string").  Keys listed in
 * ignore ("a.b.c" paths with array indexes as [], NULL-terminated, or
 * NULL) are skipped: an example's field armsim deliberately omits, to be
 * named in the test.
 */
bool cb_test_json_shape(const char *expected, const char *actual,
	const char *const *ignore, char *why, size_t whylen);

/*
 * An example file of ../shared/azure-api-examples (path relative to that
 * folder): the response body for status ("200", "201"...) as JSON text,
 * malloc'd; NULL when the file or that response is missing.
 */
char *cb_test_example_response(const char *relpath, const char *status);

/* The example's parameter (e.g. "billingAccountName"), malloc'd, or NULL. */
char *cb_test_example_parameter(const char *relpath, const char *name);

#endif
