/*
 * core/ratelimit.c - a client-side estimate of a server's token bucket
 * (see ratelimit.h).
 *
 * Tokens are counted in thousandths, so a refill of r per second adds r
 * thousandths per millisecond exactly: no rounding drifts over a long
 * walk.  Invariant: 0 <= milli <= burst * 1000.
 */
#include "core/common.h"

#include "core/ratelimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>

struct cb_ratelimit {
	pthread_mutex_t lock;
	char *header;   /* owned */
	unsigned ops;   /* CB_RATELIMIT_* */
	int64_t burst;  /* in thousandths of a token */
	int64_t refill; /* thousandths per millisecond = tokens per second */
	int64_t margin; /* in thousandths */
	int64_t milli;  /* the estimate */
	int64_t at_ms;  /* time of the estimate; INT64_MIN before any use */
	bool holding;   /* a wait was named since the last start */
	cb_ratelimit_stats stats;
};

int
cb__ratelimit_new(cb_ratelimit **out, const cb_ratelimit_options *o)
{
	cb_ratelimit *rl;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(o);
	if (o->header == NULL || *o->header == '\0' || o->ops == 0 ||
		o->burst == 0 || o->burst > CB_RATELIMIT_MAX ||
		o->refill == 0 || o->refill > CB_RATELIMIT_MAX ||
		o->margin >= o->burst)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"ratelimit: need a header, operations, 1 <= burst, "
			"refill <= %u and margin < burst",
			CB_RATELIMIT_MAX);
	if ((rl = cb__calloc(1, sizeof(*rl))) == NULL)
		return CB_ENOMEM;
	if ((rl->header = cb__strdup(o->header)) == NULL) {
		cb__free(rl);
		return CB_ENOMEM;
	}
	pthread_mutex_init(&rl->lock, NULL);
	rl->ops = o->ops;
	rl->burst = (int64_t)o->burst * 1000;
	rl->refill = o->refill;
	rl->margin = (int64_t)o->margin * 1000;
	rl->milli = rl->burst;
	rl->at_ms = INT64_MIN;
	rl->stats.remaining = -1;
	*out = rl;
	return 0;
}

void
cb__ratelimit_free(cb_ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	cb__free(rl->header);
	cb__free(rl);
}

bool
cb__ratelimit_applies(const cb_ratelimit *rl, const char *method)
{
	unsigned op;

	if (rl == NULL)
		return false;
	if (method == NULL || strcasecmp(method, "GET") == 0 ||
		strcasecmp(method, "HEAD") == 0)
		op = CB_RATELIMIT_READS;
	else if (strcasecmp(method, "DELETE") == 0)
		op = CB_RATELIMIT_DELETES;
	else
		op = CB_RATELIMIT_WRITES;
	return (rl->ops & op) != 0;
}

/* Bring the estimate to now_ms.  Time never runs backwards here: an
 * earlier now_ms (another thread's clock read) refills nothing. */
static void
refill(cb_ratelimit *rl, int64_t now_ms)
{
	if (rl->at_ms == INT64_MIN) {
		rl->at_ms = now_ms;
		return;
	}
	if (now_ms <= rl->at_ms)
		return;
	/* Once full, more time adds nothing; the cap also keeps the product
	 * below overflow for any gap. */
	if (now_ms - rl->at_ms >= rl->burst / rl->refill + 1)
		rl->milli = rl->burst;
	else
		rl->milli += (now_ms - rl->at_ms) * rl->refill;
	if (rl->milli > rl->burst)
		rl->milli = rl->burst;
	rl->at_ms = now_ms;
}

long
cb__ratelimit_acquire(cb_ratelimit *rl, int64_t now_ms)
{
	int64_t need;
	long wait = 0;

	if (rl == NULL)
		return 0;
	pthread_mutex_lock(&rl->lock);
	refill(rl, now_ms);
	need = rl->margin + 1000;
	if (rl->milli >= need) {
		rl->milli -= 1000;
		rl->stats.started++;
		rl->holding = false;
	} else {
		/* Round up: starting a millisecond early could be one token
		 * short. */
		wait = (long)((need - rl->milli + rl->refill - 1) / rl->refill);
		if (!rl->holding) {
			rl->holding = true;
			rl->stats.paced++;
			rl->stats.paced_ms += (uint64_t)wait;
		}
	}
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

/* The header's count, or -1: digits only (ARM sends "249"). */
static long
parse_remaining(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return -1;
	return v;
}

void
cb__ratelimit_observe(
	cb_ratelimit *rl, const char *remaining, int status, int64_t now_ms)
{
	long r = parse_remaining(remaining);

	if (rl == NULL)
		return;
	pthread_mutex_lock(&rl->lock);
	refill(rl, now_ms);
	rl->stats.answered++;
	if (status == 429)
		rl->stats.throttled++;
	if (r >= 0) {
		/* Requests let through and not yet answered may not have
		 * reached the server when it counted: assume they took
		 * their tokens after it did. */
		uint64_t open = rl->stats.started > rl->stats.answered
					? rl->stats.started - rl->stats.answered
					: 0;
		int64_t est = ((int64_t)r - (int64_t)open) * 1000;

		if (r > (long)(rl->burst / 1000))
			r = (long)(rl->burst / 1000);
		rl->stats.remaining = r;
		rl->milli = est < 0 ? 0 : est > rl->burst ? rl->burst : est;
	} else if (status == 429) {
		/* Throttled without a count: the bucket is empty. */
		rl->milli = 0;
	}
	pthread_mutex_unlock(&rl->lock);
}

const char *
cb__ratelimit_header(const cb_ratelimit *rl)
{
	return rl->header;
}

void
cb__ratelimit_stats(cb_ratelimit *rl, cb_ratelimit_stats *out)
{
	pthread_mutex_lock(&rl->lock);
	*out = rl->stats;
	pthread_mutex_unlock(&rl->lock);
}
