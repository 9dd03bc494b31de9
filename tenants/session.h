/*
 * tenants/session.h - everything needed to talk to a partner's tenants,
 * built once from the configuration: the credential (core/auth), one HTTP
 * client shared by every call (core/http: retries, Retry-After,
 * concurrency bound) and the ARM client (core/arm) that takes its bearer
 * tokens from the credential.
 *
 * sync, policy and budget all open one session per command; the pieces
 * are borrowed from it and valid until cb__session_close().
 */
#ifndef CB_TENANTS_SESSION_H
#define CB_TENANTS_SESSION_H

#include "chargeback/auth.h"
#include "chargeback/config.h"
#include "core/arm.h"
#include "core/http.h"
#include "core/ratelimit.h"

typedef struct cb__session {
	const cb_config *cfg; /* borrowed */
	cb_credential *cred;
	cb_http *http;
	cb_arm *arm;
	/* ARM's tenant read bucket of this principal, paced on the http
	 * client (core/ratelimit.h): margin max_parallel + 2. */
	cb_ratelimit *reads;
} cb__session;

/*
 * Build a session from cfg's azure and http sections (and the usual
 * AZURE_* variables for what the file leaves out).  Returns 0, or
 * CB_ECONFIG / CB_EIO / CB_ESECURITY / CB_EAUTH / CB_ENOMEM from
 * resolving the credential and building the clients (message set).
 */
int cb__session_open(cb__session **out, const cb_config *cfg);

/* Release the session.  NULL is a no-op. */
void cb__session_close(cb__session *s);

/* core/arm's token callback: a token for scope from the session's
 * credential, over the session's HTTP client. */
int cb__session_token(cb_buf *out, const char *scope, void *payload);

#endif
