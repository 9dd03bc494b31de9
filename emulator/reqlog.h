/*
 * emulator/reqlog.h - the request log and violations, as JSON for the
 * control paths (as_reqlog_add and as_violation are in armsim.h).
 */
#ifndef CB_EMULATOR_REQLOG_H
#define CB_EMULATOR_REQLOG_H

#include "emulator/armsim.h"

/* {"requests": [{seq, timeMs, method, path, query, route, principal,
 * apiVersion, status}...], "dropped": n}, requests after since. */
json_t *as_reqlog_json(as_server *s, unsigned long since);

/* {"count": n, "byKind": {kind: n}, "violations": [{seq, kind, method,
 * path, detail}...]}. */
json_t *as_violations_json(as_server *s);

/* Forget every request and violation. */
void as_reqlog_clear(as_server *s);

/* q with the values of secret parameters (sig, client_secret...)
 * replaced by REDACTED; malloc'd, or NULL. */
char *as_redact_query(const char *q);

#endif
