/*
 * tests/support/testsupport.h - helpers shared by unit tests.
 */
#ifndef CB_TESTS_SUPPORT_H
#define CB_TESTS_SUPPORT_H

/* The repository root (CB_SOURCE_DIR from CTest), or ".". */
const char *cb_test_source_dir(void);

/* The project's shared/ folder (API examples), from CB_SHARED_DIR. */
const char *cb_test_shared_dir(void);

#endif
