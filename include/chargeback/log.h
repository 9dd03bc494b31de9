/*
 * include/chargeback/log.h - where the library's log lines go.
 *
 * The library never prints on its own: until the application names a sink
 * (a file descriptor or a callback), log lines are dropped.  Every line is
 * scrubbed before it reaches the sink: Authorization values, bearer tokens,
 * client secrets and assertions, and URL query strings (SAS signatures) are
 * replaced with "[redacted]", so a secret cannot leak through a log even if
 * a caller formats one by mistake.
 */
#ifndef CHARGEBACK_LOG_H
#define CHARGEBACK_LOG_H

#include "chargeback/common.h"

CB_BEGIN_DECL

/** Severity, most severe first; a sink receives levels <= the set level. */
typedef enum {
	CB_LOG_ERROR = 0,
	CB_LOG_WARN = 1,
	CB_LOG_INFO = 2,
	CB_LOG_DEBUG = 3,
	CB_LOG_TRACE = 4
} cb_log_level;

/** Line format for file-descriptor sinks. */
typedef enum {
	CB_LOG_FORMAT_TEXT = 0, /**< "2026-01-31T10:00:00Z warn http: ..." */
	CB_LOG_FORMAT_JSON = 1  /**< one JSON object per line */
} cb_log_format;

/**
 * A log sink.  @p line is one scrubbed, formatted line without a trailing
 * newline; borrowed for the duration of the call.  May be called from any
 * thread that uses the library.
 */
typedef void (*cb_log_cb)(int level, const char *line, void *payload);

/** Set the most verbose level passed to the sink (default CB_LOG_WARN). */
CB_EXTERN(void) cb_log_set_level(int level);

/** The current level. */
CB_EXTERN(int) cb_log_get_level(void);

/**
 * Write lines to file descriptor @p fd (2 for stderr) in @p format;
 * fd < 0 drops them.  Replaces any callback.
 * @return 0, or CB_EINVAL for an unknown format.
 */
CB_EXTERN(int) cb_log_to_fd(int fd, int format);

/** Send lines to @p cb instead (NULL drops them).  Format is text. */
CB_EXTERN(void) cb_log_set_callback(cb_log_cb cb, void *payload);

/** The level's name ("warn"), or "unknown". */
CB_EXTERN(const char *) cb_log_level_name(int level);

/**
 * Parse a level name (error, warn, info, debug, trace).
 * @return 0, or CB_EINVAL if @p name is not a level.
 */
CB_EXTERN(int) cb_log_level_parse(int *out, const char *name);

CB_END_DECL

#endif
