/*
 * core/cloud.h - national clouds and the checks every configured endpoint
 * passes.
 *
 * Endpoints come from configuration and environment variables, and a
 * token is sent to whatever they name, so each one is checked once, here:
 * https, or plain http only to a loopback host (armsim, App Service's
 * local token service) or to the link-local metadata service when the
 * caller allows it; no user information, query or fragment.  A checked
 * endpoint has no trailing slash, so paths are appended with "/".
 */
#ifndef CB_CORE_CLOUD_H
#define CB_CORE_CLOUD_H

#include "chargeback/auth.h"

/*
 * Longest endpoint accepted, in bytes.  Real ones are under 80
 * ("https://management.usgovcloudapi.net"); armsim adds a plan prefix.
 * It also keeps every URL built from one under CB_REDACTED_URL_MAX.
 */
#define CB__CLOUD_URL_MAX 256

/* The cloud used when none is named: public Azure. */
const cb_cloud *cb__cloud_default(void);

/* cb__cloud_check_url flags. */
#define CB__URL_ALLOW_IMDS 0x1u /* plain http to 169.254.169.254 too */

/*
 * Check an endpoint and copy it, trailing slashes removed, into *out
 * (owned by the caller, cb__free).  what names the setting in messages
 * ("authority host from AZURE_AUTHORITY_HOST").  Returns 0, CB_ECONFIG or
 * CB_ENOMEM; *out is untouched on failure.
 */
int cb__cloud_check_url(
	char **out, const char *url, const char *what, unsigned flags);

/* True when url's host is 127.0.0.0/8, ::1 or "localhost". */
bool cb__url_is_loopback(const char *url);

/*
 * The v1 "resource" for a v2 scope, as managed identity endpoints want it:
 * "https://management.azure.com/.default" -> "https://management.azure.com/".
 * A scope without the "/.default" suffix is taken as a resource already.
 * *out is owned by the caller.  Returns 0 or CB_ENOMEM.
 */
int cb__cloud_scope_to_resource(char **out, const char *scope);

#endif
