/*
 * include/chargeback/errors.h - error codes and the per-thread last error.
 *
 * Every fallible function returns 0 or a negative code from CB_ERROR_MAP.
 * After a failure, cb_error_last() describes it: a one-line message that
 * names the place (file:line:field, or URL and status) and, for the two
 * remote systems we talk to, structured detail: HTTP status, ARM error code
 * and x-ms-request-id for Azure, SQLSTATE for PostgreSQL.  The table below
 * is the only list of codes; it is only ever appended to.
 */
#ifndef CHARGEBACK_ERRORS_H
#define CHARGEBACK_ERRORS_H

#include "chargeback/common.h"

CB_BEGIN_DECL

/* X(name, value, text): enum CB_<name>, cb_error_name(), cb_strerror(). */
#define CB_ERROR_MAP(X)                                                      \
	X(OK, 0, "success")                                                  \
	X(ERROR, -1, "unexpected failure")                                   \
	X(ENOMEM, -2, "out of memory")                                       \
	X(EINVAL, -3, "invalid argument")                                    \
	X(ENOTFOUND, -4, "not found")                                        \
	X(EEXISTS, -5, "already exists")                                     \
	X(EPARSE, -6, "malformed input")                                     \
	X(EOVERFLOW, -7, "value out of range")                               \
	X(ETHROTTLED, -8, "rate limited by the billing api")                 \
	X(EHTTP, -9, "http request failed")                                  \
	X(EDB, -10, "database error")                                        \
	X(EAUTH, -11, "authentication failed")                               \
	X(EUNBALANCED, -12, "allocation does not add up to the source cost") \
	X(ETIMEOUT, -13, "deadline exceeded")                                \
	X(ECONFIG, -14, "invalid configuration")                             \
	X(EIO, -15, "input/output error")                                    \
	X(ELOCKED, -16, "held by another run")                               \
	X(ECONFLICT, -17, "changed concurrently")                            \
	X(EUNSUPPORTED, -18, "not supported")                                \
	X(ECANCELED, -19, "canceled")                                        \
	X(ETOOBIG, -20, "exceeds a size limit")                              \
	X(ESECURITY, -21, "refused for security")

/** Error codes; every fallible function returns 0 or one of these. */
typedef enum {
#define CB__ERROR_ENUM(name, value, text) CB_##name = value,
	CB_ERROR_MAP(CB__ERROR_ENUM)
#undef CB__ERROR_ENUM
} cb_error_code;

/** Which subsystem detected an error (cb_error.klass). */
typedef enum {
	CB_ERRCLASS_NONE = 0,
	CB_ERRCLASS_OS, /**< a system call; errno text in the message */
	CB_ERRCLASS_NOMEMORY,
	CB_ERRCLASS_INVALID, /**< a caller passed a bad argument */
	CB_ERRCLASS_MONEY,
	CB_ERRCLASS_CSV,
	CB_ERRCLASS_JSON,
	CB_ERRCLASS_CONFIG,
	CB_ERRCLASS_HTTP,  /**< transport or a non-ARM HTTP status */
	CB_ERRCLASS_AZURE, /**< an ARM error body; arm_code is set */
	CB_ERRCLASS_AUTH,
	CB_ERRCLASS_DB, /**< PostgreSQL; sqlstate is set when known */
	CB_ERRCLASS_LOG,
	CB_ERRCLASS_CLI
} cb_error_class;

/** Longest cb_error message kept, in bytes, terminator included. */
#define CB_ERROR_MESSAGE_MAX 1024

/**
 * The last error on this thread.  Structured fields are zero or "" when
 * they do not apply.
 */
typedef struct {
	int code;             /**< the cb_error_code that was returned */
	int klass;            /**< a cb_error_class */
	const char *message;  /**< one line, never NULL; owned by the library */
	int http_status;      /**< HTTP status for HTTP/AZURE, else 0 */
	const char *arm_code; /**< ARM error.code, or ""; library-owned */
	const char *request_id; /**< x-ms-request-id, or ""; library-owned */
	const char *sqlstate;   /**< SQLSTATE for DB, or ""; library-owned */
} cb_error;

/**
 * The last error recorded on the calling thread.  Never NULL.  Borrowed:
 * valid until the next call into the library on this thread.
 */
CB_EXTERN(const cb_error *) cb_error_last(void);

/** Forget the last error on the calling thread. */
CB_EXTERN(void) cb_error_clear(void);

/** Fixed text for a code ("out of memory"); never NULL. */
CB_EXTERN(const char *) cb_strerror(int code);

/** The code's name without prefix ("ENOMEM"); "unknown" if not a code. */
CB_EXTERN(const char *) cb_error_name(int code);

CB_END_DECL

#endif
