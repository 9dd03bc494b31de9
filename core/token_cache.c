/*
 * core/token_cache.c - per-scope tokens behind one mutex.
 *
 * The mutex is never held across a fetch: the refreshing caller marks the
 * entry, unlocks, fetches, then relocks to publish the result and wake
 * the waiters.  Each publication bumps the entry's generation, so a
 * waiter can tell "the refresh I waited for finished" from a spurious
 * wake-up, and takes that refresh's outcome instead of starting another.
 */
#include "core/common.h"
#include "core/token_cache.h"
#include "core/auth.h"
#include "core/buf.h"

#include <pthread.h>
#include <stdio.h>

/* An error copied out of the refreshing thread's last error, so waiters on
 * other threads can report the same thing. */
struct cache_error {
	int code;
	int klass;
	int http_status;
	char message[CB_ERROR_MESSAGE_MAX];
	char arm_code[128];
	char request_id[128];
};

struct cache_entry {
	struct cache_entry *next;
	char *scope;         /* owned */
	cb_buf token;        /* owned, wiped; empty when none */
	int64_t expires_on;  /* unix seconds; valid when token.size > 0 */
	bool refreshing;     /* a caller is fetching, others wait */
	bool failed;         /* the last refresh failed with error */
	uint64_t generation; /* bumped at every published refresh */
	struct cache_error error;
};

struct cb__token_cache {
	pthread_mutex_t lock;
	pthread_cond_t done; /* signalled when any refresh finishes */
	struct cache_entry *entries;
	size_t count;
	size_t waiting; /* callers blocked on done, for tests */
};

int
cb__token_cache_new(struct cb__token_cache **out)
{
	struct cb__token_cache *c;

	if ((c = cb__calloc(1, sizeof(*c))) == NULL)
		return CB_ENOMEM;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		cb__free(c);
		return cb__error_set(CB_ERROR, CB_ERRCLASS_OS,
			"token cache: cannot create a mutex");
	}
	if (pthread_cond_init(&c->done, NULL) != 0) {
		pthread_mutex_destroy(&c->lock);
		cb__free(c);
		return cb__error_set(CB_ERROR, CB_ERRCLASS_OS,
			"token cache: cannot create a condition variable");
	}
	*out = c;
	return 0;
}

static void
entry_free(struct cache_entry *e)
{
	cb__auth_buf_wipe(&e->token);
	cb__free(e->scope);
	cb__free(e);
}

void
cb__token_cache_free(struct cb__token_cache *cache)
{
	struct cache_entry *e, *next;

	if (cache == NULL)
		return;
	for (e = cache->entries; e; e = next) {
		next = e->next;
		entry_free(e);
	}
	pthread_cond_destroy(&cache->done);
	pthread_mutex_destroy(&cache->lock);
	cb__free(cache);
}

void
cb__token_cache_clear(struct cb__token_cache *cache)
{
	pthread_mutex_lock(&cache->lock);
	for (struct cache_entry *e = cache->entries; e; e = e->next) {
		cb__auth_buf_wipe(&e->token);
		e->expires_on = 0;
	}
	pthread_mutex_unlock(&cache->lock);
}

size_t
cb__token_cache_waiting(struct cb__token_cache *cache)
{
	size_t n;

	pthread_mutex_lock(&cache->lock);
	n = cache->waiting;
	pthread_mutex_unlock(&cache->lock);
	return n;
}

/* Called with the lock held. */
static int
entry_find(
	struct cache_entry **out, struct cb__token_cache *c, const char *scope)
{
	struct cache_entry *e;

	for (e = c->entries; e; e = e->next) {
		if (strcmp(e->scope, scope) == 0) {
			*out = e;
			return 0;
		}
	}
	if (c->count >= CB__TOKEN_CACHE_MAX_SCOPES)
		return cb__error_set(CB_ETOOBIG, CB_ERRCLASS_AUTH,
			"token cache: more than %d scopes",
			CB__TOKEN_CACHE_MAX_SCOPES);
	if ((e = cb__calloc(1, sizeof(*e))) == NULL)
		return CB_ENOMEM;
	if ((e->scope = cb__strdup(scope)) == NULL) {
		cb__free(e);
		return CB_ENOMEM;
	}
	e->next = c->entries;
	c->entries = e;
	c->count++;
	*out = e;
	return 0;
}

static void
error_save(struct cache_error *dst)
{
	const cb_error *src = cb_error_last();

	dst->code = src->code;
	dst->klass = src->klass;
	dst->http_status = src->http_status;
	snprintf(dst->message, sizeof(dst->message), "%s", src->message);
	snprintf(dst->arm_code, sizeof(dst->arm_code), "%s", src->arm_code);
	snprintf(dst->request_id, sizeof(dst->request_id), "%s",
		src->request_id);
}

static int
error_restore(const struct cache_error *src)
{
	cb__error_set(src->code, src->klass, "%s", src->message);
	if (src->http_status || src->arm_code[0] || src->request_id[0])
		cb__error_set_http(
			src->http_status, src->arm_code, src->request_id);
	return src->code;
}

/* Called with the lock held. */
static int
entry_copy_out(struct cache_entry *e, cb_buf *token, int64_t *expires_on)
{
	int error;

	cb__buf_clear(token);
	if ((error = cb__buf_put(token, e->token.ptr, e->token.size)) < 0)
		return error;
	if (expires_on)
		*expires_on = e->expires_on;
	return 0;
}

int
cb__token_cache_get(struct cb__token_cache *cache, const char *scope,
	int64_t now, cb__token_fetch_fn fetch, void *payload, cb_buf *token,
	int64_t *expires_on)
{
	struct cache_entry *e = NULL; /* gcc -O2 misses entry_find setting it */
	cb_buf fresh = CB_BUF_INIT;
	int64_t fresh_expiry = 0;
	int error;

	pthread_mutex_lock(&cache->lock);
	if ((error = entry_find(&e, cache, scope)) < 0)
		goto done;
	for (;;) {
		uint64_t generation;

		if (e->token.size > 0 &&
			e->expires_on - now > CB__TOKEN_REFRESH_MARGIN) {
			error = entry_copy_out(e, token, expires_on);
			goto done;
		}
		if (!e->refreshing)
			break;
		generation = e->generation;
		cache->waiting++;
		while (e->refreshing && e->generation == generation)
			pthread_cond_wait(&cache->done, &cache->lock);
		cache->waiting--;
		if (e->generation == generation)
			continue;
		/* The refresh we waited for is over: take its outcome. */
		if (e->failed) {
			error = error_restore(&e->error);
			goto done;
		}
		if (e->token.size > 0 && e->expires_on > now) {
			error = entry_copy_out(e, token, expires_on);
			goto done;
		}
	}

	e->refreshing = true;
	pthread_mutex_unlock(&cache->lock);
	error = fetch(&fresh, &fresh_expiry, scope, payload);
	if (error == 0 && fresh.size == 0)
		error = cb__error_set(CB_EAUTH, CB_ERRCLASS_AUTH,
			"token request for scope '%.200s' returned an empty "
			"token",
			scope);
	pthread_mutex_lock(&cache->lock);
	e->refreshing = false;
	e->generation++;
	e->failed = error < 0;
	if (error < 0) {
		error_save(&e->error);
	} else {
		cb__auth_buf_wipe(&e->token);
		e->token = fresh;
		e->expires_on = fresh_expiry;
		fresh = (cb_buf)CB_BUF_INIT;
		error = entry_copy_out(e, token, expires_on);
	}
	pthread_cond_broadcast(&cache->done);

done:
	pthread_mutex_unlock(&cache->lock);
	cb__auth_buf_wipe(&fresh);
	return error;
}
