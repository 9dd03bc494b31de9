/*
 * tests/support/testsupport.c - small helpers shared by unit tests.
 */
#include "core/common.h"
#include "tests/support/testsupport.h"

#include <stdlib.h>

const char *
cb_test_source_dir(void)
{
	const char *d = getenv("CB_SOURCE_DIR");

	return d ? d : ".";
}

const char *
cb_test_shared_dir(void)
{
	const char *d = getenv("CB_SHARED_DIR");

	return d ? d : "../shared";
}
