/*
 * core/log.h - writing log lines from inside the library.
 *
 * cb__log(CB_LOG_DEBUG, "http", "GET %s: %d", url, status) formats, scrubs
 * secrets (see log.h) and hands the line to the application's sink.  The
 * level check comes first, so a disabled level costs one atomic load.
 */
#ifndef CB_CORE_LOG_H
#define CB_CORE_LOG_H

#include "chargeback/log.h"

#include <stddef.h>

/* Longest log line, in bytes; longer lines are cut (the cut is marked). */
#define CB_LOG_LINE_MAX 2048

void cb__log(int level, const char *component, const char *fmt, ...)
	CB_FORMAT_PRINTF(3, 4);

/* True when a line at this level would be written (skip costly work). */
bool cb__log_enabled(int level);

/*
 * Copy in to out (outlen bytes, always terminated, cut if longer) with
 * every secret value replaced by "[redacted]".  Exposed so other modules
 * (armsim's request log, error texts taken from remote bodies) apply the
 * same rules.
 */
void cb__log_scrub(char *out, size_t outlen, const char *in);

#endif
