/*
 * core/token_cache.h - access tokens kept per scope and refreshed once.
 *
 * Many workers share one credential.  When a token is missing or has less
 * than CB__TOKEN_REFRESH_MARGIN seconds left, exactly one caller fetches a
 * new one while the others for the same scope wait for its result: a
 * failure is handed to the waiters too, so a bad secret costs one request
 * to Entra, not one per worker.  Tokens are wiped from memory when
 * replaced or freed.
 */
#ifndef CB_CORE_TOKEN_CACHE_H
#define CB_CORE_TOKEN_CACHE_H

#include "chargeback/buf.h"

#include <stdint.h>

/*
 * Refresh five minutes before expiry, as the Azure SDKs do: long enough to
 * cover clock skew and a request that is queued behind throttling, short
 * enough to use most of a token's (usually 60-90 minute) life.
 */
#define CB__TOKEN_REFRESH_MARGIN 300

/*
 * Distinct scopes kept by one cache.  The library asks for ARM and maybe a
 * storage scope; more than this means a caller is building scopes from
 * data, which is a bug worth an error rather than unbounded growth.
 */
#define CB__TOKEN_CACHE_MAX_SCOPES 16

struct cb__token_cache;

/*
 * Fetch a fresh token for scope into token (an empty buffer) and its
 * expiry (unix seconds) into *expires_on.  Returns 0 or a negative code
 * with the last error set.
 */
typedef int (*cb__token_fetch_fn)(
	cb_buf *token, int64_t *expires_on, const char *scope, void *payload);

int cb__token_cache_new(struct cb__token_cache **out);

/* Wipes and frees every token.  NULL is a no-op.  No caller may be inside
 * cb__token_cache_get. */
void cb__token_cache_free(struct cb__token_cache *cache);

/*
 * Copy a token for scope valid at now (unix seconds) into token (which the
 * caller wipes with cb__auth_buf_wipe), fetching it with fetch when the
 * cached one is missing or within the refresh margin.  *expires_on (may
 * be NULL) receives its expiry.  A token just fetched by another caller
 * is returned as long as it has not expired, even inside the margin.
 * Returns 0, the fetch's error (for waiters too, with the same message),
 * CB_ETOOBIG past CB__TOKEN_CACHE_MAX_SCOPES, or CB_ENOMEM.
 */
int cb__token_cache_get(struct cb__token_cache *cache, const char *scope,
	int64_t now, cb__token_fetch_fn fetch, void *payload, cb_buf *token,
	int64_t *expires_on);

/* Forget every token (the next get fetches).  For tests and for a caller
 * told by ARM that a token was revoked. */
void cb__token_cache_clear(struct cb__token_cache *cache);

/* How many callers are waiting for another's refresh (tests use it to
 * line threads up deterministically). */
size_t cb__token_cache_waiting(struct cb__token_cache *cache);

#endif
