/*
 * core/ratelimit.h - pace requests before a server's token bucket runs
 * dry, from the "remaining" header it sends on every answer.
 *
 * ARM gives each principal a bucket per operation type (reads: 250 tokens,
 * refilled 25 per second; writes and deletes: 200, 10 per second;
 * azure-api-notes.md c.1) and says how many are left on every answer
 * (x-ms-ratelimit-remaining-tenant-reads...).  A client that only reacts
 * to 429 empties the bucket, is told to wait whole seconds, and loses
 * more time than it saved.  This limiter keeps its own estimate of the
 * bucket instead: every request it lets start takes one token, tokens come
 * back at the documented refill rate, and every answer's remaining-header
 * resets the estimate to what the server said, less the requests still in
 * flight (which the server may not have counted yet).  A request starts
 * only while the estimate stays above a margin; otherwise the limiter
 * names the wait until enough has been refilled.  So a long walk settles
 * at the refill rate with a few tokens in hand, never throttled.
 *
 * One limiter per principal and operation type, shared by everything that
 * talks for that principal: core/http consults it (cb__http_set_ratelimit)
 * before starting each attempt of a request of its kind, and feeds it each
 * answer.  Thread-safe (a mutex), so clients on several threads may share
 * one.  Time is the caller's monotonic milliseconds, so tests drive it.
 */
#ifndef CB_CORE_RATELIMIT_H
#define CB_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* ARM's read bucket per principal (azure-api-notes.md c.1). */
#define CB_RATELIMIT_ARM_READS_HEADER "x-ms-ratelimit-remaining-tenant-reads"
#define CB_RATELIMIT_ARM_READS_BURST  250u
#define CB_RATELIMIT_ARM_READS_REFILL 25u

/* Largest bucket and refill accepted: keeps milli-token arithmetic far
 * from overflow, and is far above any documented limit. */
#define CB_RATELIMIT_MAX 1000000u

/* Which requests a limiter paces (cb_ratelimit_options.ops). */
#define CB_RATELIMIT_READS   (1u << 0) /* GET, HEAD */
#define CB_RATELIMIT_WRITES  (1u << 1) /* PUT, PATCH, POST */
#define CB_RATELIMIT_DELETES (1u << 2) /* DELETE */

typedef struct {
	const char *header; /* the remaining-count header; copied */
	unsigned ops;       /* CB_RATELIMIT_* of the requests it paces */
	unsigned burst;     /* bucket size, 1..CB_RATELIMIT_MAX */
	unsigned refill;    /* tokens per second, 1..CB_RATELIMIT_MAX */
	/* Tokens kept in hand: a request starts only if at least margin
	 * remain after it.  Cover the requests in flight (max_parallel) and
	 * other clients of the principal; < burst. */
	unsigned margin;
} cb_ratelimit_options;

/* What a limiter has seen (cb__ratelimit_stats). */
typedef struct {
	uint64_t started;   /* requests (attempts) let through */
	uint64_t answered;  /* answers observed */
	uint64_t throttled; /* answers with status 429 */
	uint64_t paced;     /* times a start was held back */
	uint64_t paced_ms;  /* sum of the waits named */
	long remaining;     /* last remaining-header value, -1 if none */
} cb_ratelimit_stats;

typedef struct cb_ratelimit cb_ratelimit;

/* Returns 0, CB_EINVAL (a bound out of range, no header, no ops, margin
 * >= burst) or CB_ENOMEM.  The bucket starts full. */
int cb__ratelimit_new(cb_ratelimit **out, const cb_ratelimit_options *opts);

/* NULL is a no-op. */
void cb__ratelimit_free(cb_ratelimit *rl);

/* Whether requests with this method are the limiter's kind. */
bool cb__ratelimit_applies(const cb_ratelimit *rl, const char *method);

/*
 * Ask to start one request at @p now_ms.  0: go ahead (a token is taken).
 * > 0: do not start; ask again after that many milliseconds (counted as
 * one paced wait only the first time a wait is named after a start).
 */
long cb__ratelimit_acquire(cb_ratelimit *rl, int64_t now_ms);

/*
 * An answer to a request that acquire() let through: @p remaining is the
 * header's value (a decimal count) or NULL when absent or unreadable,
 * @p status the HTTP status (0: no answer, a transport failure).
 */
void cb__ratelimit_observe(
	cb_ratelimit *rl, const char *remaining, int status, int64_t now_ms);

/* The header the limiter reads.  Borrowed: valid until free. */
const char *cb__ratelimit_header(const cb_ratelimit *rl);

/* A copy of the counters. */
void cb__ratelimit_stats(cb_ratelimit *rl, cb_ratelimit_stats *out);

#endif
