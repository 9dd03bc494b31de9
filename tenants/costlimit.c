/*
 * tenants/costlimit.c - the limiter every Cost Details report request goes
 * through (tenants/costreport.h): Azure allows 2 reports a minute, 10 an
 * hour and 50 a day per scope, and 30 a minute per client application
 * across all scopes (azure-api-notes.md c.2).  A 429 costs a minute and
 * the daily allowance is unforgiving, so we count instead of guessing.
 *
 * Sliding windows: a request made at t occupies a slot of each window of
 * length W until t + W.  For a window holding k requests t_1 <= ... <= t_k
 * and a limit L, a new one may go once k - (those expired) < L, that is at
 * t_{k-L+1} + W.  The wait is the longest over the windows; a thread sleeps
 * it with the lock released and checks again (another thread may have
 * taken the slot meanwhile).  A spent daily allowance is refused at once:
 * waiting up to a day inside a run helps nobody.
 *
 * Memory: per scope, a ring of the last max(limits) request times (every
 * window's count needs at most its limit's worth of recent entries), in a
 * chained hash table; scopes whose newest request is a day old are
 * dropped whenever the table has doubled since the last sweep, so a
 * long-lived limiter serving ever new scopes stays bounded by the scopes
 * active within a day.  The application's minute is one more ring.
 */
#include "core/common.h"

#include "tenants/costreport.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define LIMIT_MINUTE_MS ((int64_t)60 * 1000)
#define LIMIT_HOUR_MS   ((int64_t)3600 * 1000)
#define LIMIT_DAY_MS    ((int64_t)86400 * 1000)

/* Largest limit accepted: Azure's are 50 at most; 100,000 keeps a scope's
 * ring under a megabyte whatever a caller passes. */
#define LIMIT_MAX 100000u

/* Hash buckets: a partner's scopes number in the thousands at most, and
 * chains of a few entries cost nothing next to a report request. */
#define LIMIT_BUCKETS 256u

/* Sweep for idle scopes once the table holds this many, then at twice
 * what a sweep leaves. */
#define LIMIT_SWEEP_MIN 64u

/* The request times of one window set, oldest first, in a ring. */
struct limit_ring {
	int64_t *t;
	unsigned cap, head, count; /* head: index of the oldest */
};

struct limit_scope {
	struct limit_scope *next;
	uint64_t hash;
	struct limit_ring ring;
	char key[]; /* the scope, lower case, without leading/trailing '/' */
};

struct cb__costreport_limiter {
	pthread_mutex_t lock;
	cb__costreport_limits limits;
	unsigned scope_cap; /* ring size per scope */
	struct limit_scope *buckets[LIMIT_BUCKETS];
	size_t nscopes;
	size_t sweep_at;
	struct limit_ring app;
};

static int64_t
limit_clock(void *payload)
{
	struct timespec ts;

	CB_UNUSED(payload);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
limit_sleep(long ms, void *payload)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	CB_UNUSED(payload);
	while (nanosleep(&ts, &ts) != 0)
		;
}

static int
limit_ring_init(struct limit_ring *r, unsigned cap)
{
	if ((r->t = cb__calloc(cap, sizeof(*r->t))) == NULL)
		return CB_ENOMEM;
	r->cap = cap;
	r->head = r->count = 0;
	return 0;
}

/* The i-th newest time (0: the newest); i < count. */
static int64_t
limit_ring_newest(const struct limit_ring *r, unsigned i)
{
	return r->t[(r->head + r->count - 1 - i) % r->cap];
}

static void
limit_ring_push(struct limit_ring *r, int64_t t)
{
	if (r->count == r->cap) {
		r->t[r->head] = t;
		r->head = (r->head + 1) % r->cap;
	} else {
		r->t[(r->head + r->count) % r->cap] = t;
		r->count++;
	}
}

/* Requests of r within the window of length w ending at now. */
static unsigned
limit_ring_in_window(const struct limit_ring *r, int64_t now, int64_t w)
{
	unsigned n = 0;

	while (n < r->count && limit_ring_newest(r, n) > now - w)
		n++;
	return n;
}

/* How long until one more request fits a window of length w and limit
 * l: 0 when it fits now. */
static int64_t
limit_ring_wait(const struct limit_ring *r, int64_t now, int64_t w, unsigned l)
{
	unsigned k = limit_ring_in_window(r, now, w);

	if (k < l)
		return 0;
	/* The (k-l+1)-th oldest in the window is the l-th newest. */
	return limit_ring_newest(r, l - 1) + w - now;
}

/* FNV-1a of the normalised scope: lower case, no '/' at either end. */
static size_t
limit_normalise(const char *scope, char *out, size_t outlen, uint64_t *hash)
{
	size_t len = strlen(scope), n = 0;
	uint64_t h = 1469598103934665603ull;

	while (len > 0 && scope[len - 1] == '/')
		len--;
	while (len > 0 && *scope == '/') {
		scope++;
		len--;
	}
	for (size_t i = 0; i < len; i++) {
		char c = scope[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (out != NULL && n + 1 < outlen)
			out[n++] = c;
		h = (h ^ (unsigned char)c) * 1099511628211ull;
	}
	if (out != NULL)
		out[n] = '\0';
	*hash = h;
	return len;
}

/* Whether key is scope normalised (len: its normalised length). */
static bool
limit_key_equal(const char *key, const char *scope, size_t len)
{
	while (*scope == '/')
		scope++;
	for (size_t i = 0; i < len; i++) {
		char c = scope[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (key[i] != c)
			return false;
	}
	return key[len] == '\0';
}

static void
limit_scope_free(struct limit_scope *sc)
{
	if (sc == NULL)
		return;
	cb__free(sc->ring.t);
	cb__free(sc);
}

/* Drop the scopes whose newest request has left the day window. */
static void
limit_sweep(cb__costreport_limiter *lim, int64_t now)
{
	for (size_t b = 0; b < LIMIT_BUCKETS; b++) {
		struct limit_scope **pp = &lim->buckets[b];

		while (*pp != NULL) {
			struct limit_scope *sc = *pp;

			if (sc->ring.count == 0 ||
				limit_ring_newest(&sc->ring, 0) <=
					now - LIMIT_DAY_MS) {
				*pp = sc->next;
				limit_scope_free(sc);
				lim->nscopes--;
			} else {
				pp = &sc->next;
			}
		}
	}
	lim->sweep_at = lim->nscopes * 2 > LIMIT_SWEEP_MIN ? lim->nscopes * 2
							   : LIMIT_SWEEP_MIN;
}

/* The scope's entry, made when new.  NULL: out of memory. */
static struct limit_scope *
limit_scope_get(cb__costreport_limiter *lim, const char *scope, int64_t now)
{
	uint64_t hash;
	size_t len = limit_normalise(scope, NULL, 0, &hash);
	struct limit_scope *sc;

	for (sc = lim->buckets[hash % LIMIT_BUCKETS]; sc; sc = sc->next) {
		if (sc->hash == hash && limit_key_equal(sc->key, scope, len))
			return sc;
	}
	if (lim->nscopes >= lim->sweep_at)
		limit_sweep(lim, now);
	if ((sc = cb__calloc(1, sizeof(*sc) + len + 1)) == NULL)
		return NULL;
	limit_normalise(scope, sc->key, len + 1, &sc->hash);
	if (limit_ring_init(&sc->ring, lim->scope_cap) != 0) {
		cb__free(sc);
		return NULL;
	}
	sc->next = lim->buckets[hash % LIMIT_BUCKETS];
	lim->buckets[hash % LIMIT_BUCKETS] = sc;
	lim->nscopes++;
	return sc;
}

int
cb__costreport_limiter_new(
	cb__costreport_limiter **out, const cb__costreport_limits *limits)
{
	cb__costreport_limits dflt = CB__COSTREPORT_LIMITS_INIT;
	cb__costreport_limiter *lim;
	const cb__costreport_limits *l = limits ? limits : &dflt;
	unsigned cap;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(
		l->per_scope_minute >= 1 && l->per_scope_minute <= LIMIT_MAX);
	CB_ASSERT_ARG(l->per_scope_hour >= 1 && l->per_scope_hour <= LIMIT_MAX);
	CB_ASSERT_ARG(l->per_scope_day >= 1 && l->per_scope_day <= LIMIT_MAX);
	CB_ASSERT_ARG(l->per_app_minute >= 1 && l->per_app_minute <= LIMIT_MAX);

	if ((lim = cb__calloc(1, sizeof(*lim))) == NULL)
		return CB_ENOMEM;
	lim->limits = *l;
	if (lim->limits.now_ms == NULL)
		lim->limits.now_ms = limit_clock;
	if (lim->limits.sleep_ms == NULL)
		lim->limits.sleep_ms = limit_sleep;
	cap = l->per_scope_minute;
	if (l->per_scope_hour > cap)
		cap = l->per_scope_hour;
	if (l->per_scope_day > cap)
		cap = l->per_scope_day;
	lim->scope_cap = cap;
	lim->sweep_at = LIMIT_SWEEP_MIN;
	if (limit_ring_init(&lim->app, l->per_app_minute) != 0) {
		cb__free(lim);
		return CB_ENOMEM;
	}
	if (pthread_mutex_init(&lim->lock, NULL) != 0) {
		cb__free(lim->app.t);
		cb__free(lim);
		return cb__error_set(CB_ERROR, CB_ERRCLASS_OS,
			"cost details limiter: pthread_mutex_init failed");
	}
	*out = lim;
	return 0;
}

void
cb__costreport_limiter_free(cb__costreport_limiter *lim)
{
	if (lim == NULL)
		return;
	for (size_t b = 0; b < LIMIT_BUCKETS; b++) {
		struct limit_scope *sc = lim->buckets[b], *next;

		for (; sc != NULL; sc = next) {
			next = sc->next;
			limit_scope_free(sc);
		}
	}
	pthread_mutex_destroy(&lim->lock);
	cb__free(lim->app.t);
	cb__free(lim);
}

int
cb__costreport_limiter_acquire(cb__costreport_limiter *lim, const char *scope)
{
	const cb__costreport_limits *l;
	struct limit_scope *sc;
	int64_t now, wait, w;

	CB_ASSERT_ARG(lim);
	CB_ASSERT_ARG(scope);
	l = &lim->limits;

	for (;;) {
		pthread_mutex_lock(&lim->lock);
		now = l->now_ms(l->payload);
		if ((sc = limit_scope_get(lim, scope, now)) == NULL) {
			pthread_mutex_unlock(&lim->lock);
			return CB_ENOMEM;
		}
		if (limit_ring_wait(&sc->ring, now, LIMIT_DAY_MS,
			    l->per_scope_day) > 0) {
			pthread_mutex_unlock(&lim->lock);
			return cb__error_set(CB_ETHROTTLED, CB_ERRCLASS_AZURE,
				"the Cost Details allowance for %s (%u "
				"report%s a day) is spent",
				scope, l->per_scope_day,
				l->per_scope_day == 1 ? "" : "s");
		}
		wait = limit_ring_wait(
			&sc->ring, now, LIMIT_MINUTE_MS, l->per_scope_minute);
		w = limit_ring_wait(
			&sc->ring, now, LIMIT_HOUR_MS, l->per_scope_hour);
		if (w > wait)
			wait = w;
		w = limit_ring_wait(
			&lim->app, now, LIMIT_MINUTE_MS, l->per_app_minute);
		if (w > wait)
			wait = w;
		if (wait <= 0) {
			limit_ring_push(&sc->ring, now);
			limit_ring_push(&lim->app, now);
			pthread_mutex_unlock(&lim->lock);
			return 0;
		}
		pthread_mutex_unlock(&lim->lock);
		l->sleep_ms((long)wait, l->payload);
	}
}
