/*
 * core/errors.h - setting the per-thread last error from inside the library.
 *
 * Set the error where it is detected and return in one statement:
 *     return cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV, "%s:%zu: ...", ...);
 * Callers above only propagate, or add context with cb__error_prefix() when
 * they know something the inner message cannot say.  Recording never
 * allocates (fixed thread-local buffers), so the out-of-memory path cannot
 * fail again.  Never format a secret, a header or a URL query string into a
 * message: pass URLs through cb__redact_url() first.
 */
#ifndef CB_CORE_ERRORS_H
#define CB_CORE_ERRORS_H

#include "chargeback/errors.h"

/* Record an error (replacing any before it); returns code. */
int cb__error_set(int code, int klass, const char *fmt, ...)
	CB_FORMAT_PRINTF(3, 4);

/* Prefix the current message with context ("customer 'x': " + message);
 * returns the current code. */
int cb__error_prefix(const char *fmt, ...) CB_FORMAT_PRINTF(1, 2);

/* Attach Azure detail to the current error: HTTP status, ARM error code and
 * x-ms-request-id (either string may be NULL). */
void cb__error_set_http(
	int status, const char *arm_code, const char *request_id);

/* Attach a PostgreSQL SQLSTATE (5 characters) to the current error. */
void cb__error_set_sqlstate(const char *sqlstate);

/* The code of the last error on this thread (0 if none). */
int cb__error_code(void);

/*
 * Copy a URL into out (of size outlen) without its query string and
 * fragment, which may hold SAS signatures or tokens: the only way a URL may
 * enter a message or a log line.  Returns out.
 */
const char *cb__redact_url(char *out, size_t outlen, const char *url);

/* Largest URL kept by cb__redact_url callers on the stack. */
#define CB_REDACTED_URL_MAX 512

/*
 * Public entry points check their arguments with this: it records CB_EINVAL
 * naming the function and expression and returns, never crashes.
 */
#define CB_ASSERT_ARG(expr)                                                   \
	do {                                                                  \
		if (!(expr))                                                  \
			return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,  \
				"%s: invalid argument: %s", __func__, #expr); \
	} while (0)

#endif
