/*
 * emulator/throttle.c - ARM's token buckets and Cost Management's own
 * limits (azure-api-notes.md §c).
 *
 * ARM (§c.1): one bucket per principal, per operation type (reads,
 * writes, deletes) and per level: tenant-level paths (/providers/...,
 * every Billing path) share the principal's tenant buckets, a path under
 * /subscriptions/{id} gets that subscription's buckets.  A bucket holds
 * BURST tokens and gets REFILL back per second; each request takes one.
 * Every answer carries x-ms-ratelimit-remaining-{tenant|subscription}-
 * {reads|writes|deletes}; an empty bucket is a 429 with Retry-After (whole
 * seconds until a token is back) and ARM's TooManyRequests error.
 *
 * The operation type comes from the route: AS_ROUTE_DELETE (or DELETE)
 * is a delete, AS_ROUTE_WRITE (or PUT, PATCH) a write, anything else a
 * read.  So a POST without AS_ROUTE_WRITE (Query, Forecast,
 * generateCostDetailsReport) counts as a read: they only read data and
 * need only Cost Management Reader [unverified: ARM's classification of
 * RP actions is not documented].
 *
 * Cost Management then applies its own limits, after ARM took its token:
 * - generateCostDetailsReport POSTs: per scope 2/min, 10/h, 50/day
 *   (api-latency-rate-limits.md's Cost Details table) and per
 *   application (principal) 30/min across scopes (its older "30 calls
 *   per minute per scope per user or application").
 * - Query and Forecast: per tenant 12 QPU / 10 s, 60 / min, 600 / h
 *   (§c.2), one QPU per month of data queried.
 * These are sliding windows: at most COUNT units in any WINDOW.
 *
 * Everything is integer milliseconds from req->now_ms, so a test can
 * drive the clock by constructing requests.
 *
 * Settings (opt.throttle, armsim --throttle), comma-separated:
 *   reads=250/25,writes=200/10,deletes=200/10     BURST/REFILL per second
 *   costdetails-scope=2/min+10/h+50/d            COUNT/WINDOW joined by +
 *   costdetails-app=30/min
 *   qpu=12/10s+60/min+600/h
 * a WINDOW being a number (1 when left out) and s, min, h or d.
 */
#include "core/common.h"

#include "emulator/armsim.h"
#include "emulator/router.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Most windows in one limit (qpu has three). */
#define MAX_WINDOWS 4
/* Largest number in a setting: keeps milli-token sums far from overflow. */
#define MAX_SETTING 1000000000
/* Distinct keys (principal x level x type, scopes, tenants) remembered;
 * past it the least recently used goes, which only makes it kinder. */
#define MAX_KEYS 4096

enum { OP_READ, OP_WRITE, OP_DELETE, NOPS };

static const char *const op_names[NOPS] = { "reads", "writes", "deletes" };
static const char *const op_words[NOPS] = { "read", "write", "delete" };

struct bucket_cfg {
	int64_t burst;  /* tokens */
	int64_t refill; /* tokens per second */
};

struct window_cfg {
	int64_t max;    /* units per window */
	int64_t len_ms; /* window length */
	char label[16]; /* "10s", "1min": as the window was given */
};

struct limit_cfg {
	size_t n;
	struct window_cfg w[MAX_WINDOWS];
};

struct throttle_cfg {
	struct bucket_cfg arm[NOPS];
	struct limit_cfg cd_scope, cd_app, qpu;
};

/* A token bucket; level in milli-tokens so refill stays exact. */
struct bucket {
	char *key;
	int64_t level;
	int64_t last_ms;
};

/* A sliding-window log: what was used, and when, oldest first. */
struct wlog {
	char *key;
	size_t n, cap;
	int64_t *t;
	int64_t *amount;
	int64_t last_ms;
};

struct as_throttle {
	struct throttle_cfg cfg;
	struct bucket *b;
	size_t nb, capb;
	struct wlog *w;
	size_t nw, capw;
};

/* ------------------------------------------------------------------ */
/* Settings */

static const char known_names[] = "reads, writes, deletes, "
				  "costdetails-scope, costdetails-app, qpu";

static void
cfg_defaults(struct throttle_cfg *c)
{
	static const struct window_cfg scope[] = { { 2, 60000, "1min" },
		{ 10, 3600000, "1h" }, { 50, 86400000, "1d" } };
	static const struct window_cfg app[] = { { 30, 60000, "1min" } };
	static const struct window_cfg qpu[] = { { 12, 10000, "10s" },
		{ 60, 60000, "1min" }, { 600, 3600000, "1h" } };

	memset(c, 0, sizeof(*c));
	c->arm[OP_READ] = (struct bucket_cfg){ 250, 25 };
	c->arm[OP_WRITE] = (struct bucket_cfg){ 200, 10 };
	c->arm[OP_DELETE] = (struct bucket_cfg){ 200, 10 };
	c->cd_scope.n = CB_ARRAY_SIZE(scope);
	memcpy(c->cd_scope.w, scope, sizeof(scope));
	c->cd_app.n = CB_ARRAY_SIZE(app);
	memcpy(c->cd_app.w, app, sizeof(app));
	c->qpu.n = CB_ARRAY_SIZE(qpu);
	memcpy(c->qpu.w, qpu, sizeof(qpu));
}

/* Digits at *p, 1..MAX_SETTING, into *out; advances *p. */
static int
parse_count(const char **p, int64_t *out)
{
	int64_t v = 0;

	if (**p < '0' || **p > '9')
		return -1;
	for (; **p >= '0' && **p <= '9'; (*p)++) {
		v = v * 10 + (**p - '0');
		if (v > MAX_SETTING)
			return -1;
	}
	if (v < 1)
		return -1;
	*out = v;
	return 0;
}

/* "250/25" */
static int
parse_bucket(const char *v, struct bucket_cfg *out)
{
	const char *p = v;

	if (parse_count(&p, &out->burst) != 0 || *p++ != '/' ||
		parse_count(&p, &out->refill) != 0 || *p != '\0')
		return -1;
	return 0;
}

/* "12/10s+60/min" */
static int
parse_windows(const char *v, struct limit_cfg *out)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = { { "min", 60000 }, { "s", 1000 }, { "h", 3600000 },
		{ "d", 86400000 } };
	const char *p = v;

	out->n = 0;
	for (;;) {
		struct window_cfg *w = &out->w[out->n];
		int64_t k = 1;
		size_t u;

		if (out->n == MAX_WINDOWS || parse_count(&p, &w->max) != 0 ||
			*p++ != '/')
			return -1;
		if (*p >= '0' && *p <= '9' && parse_count(&p, &k) != 0)
			return -1;
		for (u = 0; u < CB_ARRAY_SIZE(units); u++)
			if (strncmp(p, units[u].unit, strlen(units[u].unit)) ==
				0)
				break;
		if (u == CB_ARRAY_SIZE(units) || k > MAX_SETTING / 1000 ||
			k * units[u].ms / 1000 > 366 * 86400)
			return -1;
		p += strlen(units[u].unit);
		w->len_ms = k * units[u].ms;
		snprintf(w->label, sizeof(w->label), "%" PRId64 "%s", k,
			units[u].unit);
		out->n++;
		if (*p == '\0')
			return 0;
		if (*p++ != '+')
			return -1;
	}
}

/* One "name=value" item of the settings. */
static int
parse_item(struct throttle_cfg *c, unsigned *seen, const char *item, char *err,
	size_t errlen)
{
	static const char *const names[] = { "reads", "writes", "deletes",
		"costdetails-scope", "costdetails-app", "qpu" };
	struct limit_cfg *limits[] = { &c->cd_scope, &c->cd_app, &c->qpu };
	const char *eq = strchr(item, '=');
	size_t nlen = eq ? (size_t)(eq - item) : 0, i;

	if (eq == NULL) {
		snprintf(err, errlen, "--throttle: \"%s\": expected NAME=VALUE",
			item);
		return -1;
	}
	for (i = 0; i < CB_ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == nlen &&
			strncmp(names[i], item, nlen) == 0)
			break;
	if (i == CB_ARRAY_SIZE(names)) {
		snprintf(err, errlen,
			"--throttle: \"%s\": unknown limit \"%.*s\"; known: %s",
			item, (int)nlen, item, known_names);
		return -1;
	}
	if (*seen & (1u << i)) {
		snprintf(err, errlen, "--throttle: \"%s\": %s given twice",
			item, names[i]);
		return -1;
	}
	*seen |= 1u << i;
	if (i < NOPS && parse_bucket(eq + 1, &c->arm[i]) != 0) {
		snprintf(err, errlen,
			"--throttle: \"%s\": expected BURST/REFILL, whole "
			"numbers from 1 (tokens, tokens per second), as in "
			"%s=250/25",
			item, names[i]);
		return -1;
	}
	if (i >= NOPS && parse_windows(eq + 1, limits[i - NOPS]) != 0) {
		snprintf(err, errlen,
			"--throttle: \"%s\": expected up to %d COUNT/WINDOW "
			"joined by '+', WINDOW a number (1 if left out) and "
			"s, min, h or d, at most a year, as in "
			"%s=12/10s+60/min",
			item, MAX_WINDOWS, names[i]);
		return -1;
	}
	return 0;
}

static int
parse_spec(struct throttle_cfg *c, const char *spec, char *err, size_t errlen)
{
	unsigned seen = 0;
	char item[256];

	for (const char *p = spec; *p != '\0';) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == 0 || len >= sizeof(item)) {
			snprintf(err, errlen, "--throttle: %s item in \"%s\"",
				len == 0 ? "an empty" : "an overlong", spec);
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (parse_item(c, &seen, item, err, errlen) != 0)
			return -1;
		p += len;
		if (*p == ',' && *++p == '\0') {
			snprintf(err, errlen,
				"--throttle: an empty item in \"%s\"", spec);
			return -1;
		}
	}
	return 0;
}

int
as_throttle_init(as_server *s, char *err, size_t errlen)
{
	struct as_throttle *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cfg_defaults(&t->cfg);
	if (s->opt.throttle != NULL &&
		parse_spec(&t->cfg, s->opt.throttle, err, errlen) != 0) {
		free(t);
		return -1;
	}
	s->throttle = t;
	return 0;
}

void
as_throttle_free(as_server *s)
{
	struct as_throttle *t = s->throttle;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nb; i++)
		free(t->b[i].key);
	for (size_t i = 0; i < t->nw; i++) {
		free(t->w[i].key);
		free(t->w[i].t);
		free(t->w[i].amount);
	}
	free(t->b);
	free(t->w);
	free(t);
	s->throttle = NULL;
}

/* ------------------------------------------------------------------ */
/* Token buckets */

static struct bucket *
bucket_get(struct as_throttle *t, const char *key, const struct bucket_cfg *c,
	int64_t now)
{
	size_t i, oldest = 0;

	for (i = 0; i < t->nb; i++) {
		if (strcmp(t->b[i].key, key) == 0)
			return &t->b[i];
		if (t->b[i].last_ms < t->b[oldest].last_ms)
			oldest = i;
	}
	if (t->nb == MAX_KEYS) {
		free(t->b[oldest].key);
		t->b[oldest] = t->b[--t->nb];
	}
	if (t->nb == t->capb) {
		size_t cap = t->capb ? t->capb * 2 : 16;
		struct bucket *nb = realloc(t->b, cap * sizeof(*nb));
		if (nb == NULL)
			return NULL;
		t->b = nb;
		t->capb = cap;
	}
	if ((t->b[t->nb].key = strdup(key)) == NULL)
		return NULL;
	t->b[t->nb].level = c->burst * 1000; /* a new bucket starts full */
	t->b[t->nb].last_ms = now;
	return &t->b[t->nb++];
}

/* Take one token: 0 with *remaining, or -1 with *wait_ms until one is
 * back.  REFILL tokens per second are REFILL milli-tokens per ms. */
static int
bucket_take(struct bucket *b, const struct bucket_cfg *c, int64_t now,
	int64_t *remaining, int64_t *wait_ms)
{
	if (now > b->last_ms) {
		int64_t room = c->burst * 1000 - b->level;
		int64_t add = now - b->last_ms;

		/* Compared before multiplying: a long idle time overflows. */
		b->level +=
			add >= room / c->refill + 1 ? room : add * c->refill;
		if (b->level > c->burst * 1000)
			b->level = c->burst * 1000;
	}
	b->last_ms = now;
	if (b->level >= 1000) {
		b->level -= 1000;
		*remaining = b->level / 1000;
		return 0;
	}
	*remaining = 0;
	*wait_ms = (1000 - b->level + c->refill - 1) / c->refill;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Sliding windows */

static struct wlog *
wlog_get(struct as_throttle *t, const char *key, int64_t now)
{
	size_t i, oldest = 0;

	for (i = 0; i < t->nw; i++) {
		if (strcmp(t->w[i].key, key) == 0)
			return &t->w[i];
		if (t->w[i].last_ms < t->w[oldest].last_ms)
			oldest = i;
	}
	if (t->nw == MAX_KEYS) {
		free(t->w[oldest].key);
		free(t->w[oldest].t);
		free(t->w[oldest].amount);
		t->w[oldest] = t->w[--t->nw];
	}
	if (t->nw == t->capw) {
		size_t cap = t->capw ? t->capw * 2 : 16;
		struct wlog *nw = realloc(t->w, cap * sizeof(*nw));
		if (nw == NULL)
			return NULL;
		t->w = nw;
		t->capw = cap;
	}
	memset(&t->w[t->nw], 0, sizeof(t->w[t->nw]));
	if ((t->w[t->nw].key = strdup(key)) == NULL)
		return NULL;
	t->w[t->nw].last_ms = now;
	return &t->w[t->nw++];
}

/* Forget what is older than every window. */
static void
wlog_prune(struct wlog *l, const struct limit_cfg *c, int64_t now)
{
	int64_t longest = 0;
	size_t k = 0;

	for (size_t i = 0; i < c->n; i++)
		if (c->w[i].len_ms > longest)
			longest = c->w[i].len_ms;
	while (k < l->n && l->t[k] <= now - longest)
		k++;
	if (k > 0) {
		memmove(l->t, l->t + k, (l->n - k) * sizeof(*l->t));
		memmove(l->amount, l->amount + k,
			(l->n - k) * sizeof(*l->amount));
		l->n -= k;
	}
}

/* Units used in window w at now. */
static int64_t
wlog_used(const struct wlog *l, const struct window_cfg *w, int64_t now)
{
	int64_t used = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->t[i] > now - w->len_ms)
			used += l->amount[i];
	return used;
}

/* 0 when cost fits in every window of c, else the ms until it does. */
static int64_t
wlog_wait(const struct wlog *l, const struct limit_cfg *c, int64_t cost,
	int64_t now)
{
	int64_t wait = 0;

	for (size_t k = 0; k < c->n; k++) {
		const struct window_cfg *w = &c->w[k];
		int64_t used = wlog_used(l, w, now), freed = 0;

		if (used + cost <= w->max)
			continue;
		/* The oldest entries in the window leave it first. */
		for (size_t i = 0; i < l->n; i++) {
			if (l->t[i] <= now - w->len_ms)
				continue;
			freed += l->amount[i];
			if (used - freed + cost <= w->max) {
				int64_t d = l->t[i] + w->len_ms - now;
				if (d > wait)
					wait = d;
				break;
			}
		}
	}
	return wait;
}

static int
wlog_add(struct wlog *l, int64_t cost, int64_t now)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		int64_t *nt = realloc(l->t, cap * sizeof(*nt));
		int64_t *na;

		if (nt == NULL)
			return -1;
		l->t = nt;
		if ((na = realloc(l->amount, cap * sizeof(*na))) == NULL)
			return -1;
		l->amount = na;
		l->cap = cap;
	}
	l->t[l->n] = now;
	l->amount[l->n] = cost;
	l->n++;
	l->last_ms = now;
	return 0;
}

/* ------------------------------------------------------------------ */
/* What a request is */

static bool
ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int
op_of(const as_req *req, unsigned flags)
{
	if ((flags & AS_ROUTE_DELETE) || strcasecmp(req->method, "DELETE") == 0)
		return OP_DELETE;
	if ((flags & AS_ROUTE_WRITE) || strcasecmp(req->method, "PUT") == 0 ||
		strcasecmp(req->method, "PATCH") == 0)
		return OP_WRITE;
	return OP_READ;
}

/* The route's flags: req carries only its pattern, so look it up. */
static unsigned
route_flags(const as_req *req)
{
	const as_route *const all[] = { as_billing_routes, as_budgets_routes,
		as_costdetails_routes, as_query_routes };

	if (req->route == NULL)
		return 0;
	for (size_t i = 0; i < CB_ARRAY_SIZE(all); i++)
		for (const as_route *rt = all[i]; rt->method != NULL; rt++)
			if (rt->pattern == req->route &&
				strcasecmp(rt->method, req->method) == 0)
				return rt->flags;
	return 0;
}

/* The subscription id of a /subscriptions/{id}/... path, or NULL. */
static const char *
subscription_of(const as_req *req)
{
	if (req->nseg >= 2 && strcasecmp(req->seg[0], "subscriptions") == 0)
		return req->seg[1];
	return NULL;
}

/* The Cost Management scope of the path: its segments before
 * providers/Microsoft.CostManagement, lower case (ARM ignores case). */
static void
scope_of(const as_req *req, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i + 1 < req->nseg; i++) {
		if (strcasecmp(req->seg[i], "providers") == 0 &&
			strcasecmp(req->seg[i + 1],
				"Microsoft.CostManagement") == 0)
			break;
		for (const char *p = req->seg[i]; *p != '\0' && o + 2 < outlen;
			p++) {
			char c = *p;
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			out[o++] = c;
		}
		if (o + 1 < outlen)
			out[o++] = '/';
		out[o] = '\0';
	}
}

/* The tenant of a "tenant/appid" principal, into out. */
static void
tenant_of(const char *principal, char *out, size_t outlen)
{
	const char *slash = strchr(principal, '/');
	size_t len = slash ? (size_t)(slash - principal) : strlen(principal);

	snprintf(out, outlen, "%.*s", (int)len, principal);
}

/* QPUs a Query or Forecast body costs: one per calendar month of a
 * Custom timePeriod, else one (MonthToDate, TheLastMonth...). */
static int64_t
qpu_cost(const as_req *req)
{
	json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
	const char *from = NULL, *to = NULL;
	int y1, m1, y2, m2;
	int64_t cost = 1;

	if (body != NULL &&
		json_unpack(body, "{s:{s:s,s:s}}", "timePeriod", "from", &from,
			"to", &to) == 0 &&
		sscanf(from, "%4d-%2d", &y1, &m1) == 2 &&
		sscanf(to, "%4d-%2d", &y2, &m2) == 2 &&
		y2 * 12 + m2 >= y1 * 12 + m1)
		cost = (int64_t)(y2 * 12 + m2) - (y1 * 12 + m1) + 1;
	json_decref(body);
	return cost;
}

/* ------------------------------------------------------------------ */
/* Answers */

/* Whole seconds for Retry-After, rounded up, at least 1. */
static int64_t
seconds_up(int64_t ms)
{
	int64_t s = (ms + 999) / 1000;

	return s < 1 ? 1 : s;
}

/* Cost Management's 429 body, as seen from the service [3p: MS Q&A;
 * ARM's own throttling says TooManyRequests instead]. */
static void
costmgmt_429(as_resp *resp, int64_t wait_ms)
{
	as_resp_json(resp, 429,
		json_pack("{s:{s:s,s:s}}", "error", "code", "429", "message",
			"Too many requests. Please retry."));
	as_resp_header(resp, "Retry-After", "%" PRId64, seconds_up(wait_ms));
}

static int
take_arm(as_server *s, const as_req *req, as_resp *resp)
{
	struct as_throttle *t = s->throttle;
	int op = op_of(req, route_flags(req));
	const char *sub = subscription_of(req);
	const struct bucket_cfg *c = &t->cfg.arm[op];
	char key[1024], hdr[96];
	struct bucket *b;
	int64_t remaining, wait_ms = 0;

	snprintf(key, sizeof(key), "%s|%s|%s", op_names[op],
		req->principal ? req->principal : "", sub ? sub : "");
	if ((b = bucket_get(t, key, c, req->now_ms)) == NULL)
		return 0; /* out of memory: let the request through */
	snprintf(hdr, sizeof(hdr), "x-ms-ratelimit-remaining-%s-%s",
		sub ? "subscription" : "tenant", op_names[op]);
	if (bucket_take(b, c, req->now_ms, &remaining, &wait_ms) == 0) {
		as_resp_header(resp, hdr, "%" PRId64, remaining);
		return 0;
	}
	/* ARM's message names the operation type and the level, as in
	 * "Number of 'read' requests for subscription '...' actor '...'
	 * exceeded" [doc: request-limits-and-throttling]. */
	if (sub != NULL)
		as_resp_arm_error(resp, 429, "TooManyRequests",
			"Number of '%s' requests for subscription '%.64s' "
			"actor '%.200s' exceeded. Please try again after '%" PRId64
			"' seconds after the additional tokens are available. "
			"Refer to https://aka.ms/arm-throttling",
			op_words[op], sub, req->principal ? req->principal : "",
			seconds_up(wait_ms));
	else
		as_resp_arm_error(resp, 429, "TooManyRequests",
			"Number of '%s' requests for tenant level actor "
			"'%.200s' exceeded. Please try again after '%" PRId64
			"' seconds after the additional tokens are available. "
			"Refer to https://aka.ms/arm-throttling",
			op_words[op], req->principal ? req->principal : "",
			seconds_up(wait_ms));
	as_resp_header(resp, "Retry-After", "%" PRId64, seconds_up(wait_ms));
	as_resp_header(resp, hdr, "0");
	return -1;
}

/* Cost Details: the scope's windows and the application's, both or
 * neither charged. */
static int
take_costdetails(as_server *s, const as_req *req, as_resp *resp)
{
	struct as_throttle *t = s->throttle;
	char scope[1024], key[1100];
	struct wlog *ls, *la;
	int64_t ws, wa;

	scope_of(req, scope, sizeof(scope));
	snprintf(key, sizeof(key), "cd-scope|%s", scope);
	ls = wlog_get(t, key, req->now_ms);
	snprintf(key, sizeof(key), "cd-app|%s",
		req->principal ? req->principal : "");
	la = wlog_get(t, key, req->now_ms);
	if (ls == NULL || la == NULL)
		return 0;
	wlog_prune(ls, &t->cfg.cd_scope, req->now_ms);
	wlog_prune(la, &t->cfg.cd_app, req->now_ms);
	ws = wlog_wait(ls, &t->cfg.cd_scope, 1, req->now_ms);
	wa = wlog_wait(la, &t->cfg.cd_app, 1, req->now_ms);
	if (ws == 0 && wa == 0) {
		wlog_add(ls, 1, req->now_ms);
		wlog_add(la, 1, req->now_ms);
		return 0;
	}
	costmgmt_429(resp, ws > wa ? ws : wa);
	/* Which limit it was, in the names clients look for [3p: client
	 * code only, unverified]: entity = the scope, client = the app. */
	if (ws > 0)
		as_resp_header(resp,
			"x-ms-ratelimit-microsoft.costmanagement-entity-"
			"retry-after",
			"%" PRId64, seconds_up(ws));
	if (wa > 0)
		as_resp_header(resp,
			"x-ms-ratelimit-microsoft.costmanagement-client-"
			"retry-after",
			"%" PRId64, seconds_up(wa));
	return -1;
}

/* "QueryQuota10s:11,QueryQuota1min:59,QueryQuota1h:599": the value's
 * syntax is not documented [unverified]; clients should only log it. */
static void
qpu_remaining(const struct limit_cfg *c, const struct wlog *l, int64_t now,
	as_resp *resp)
{
	char v[256];
	size_t o = 0;

	v[0] = '\0';
	for (size_t i = 0; i < c->n && o < sizeof(v); i++) {
		int64_t left = c->w[i].max - wlog_used(l, &c->w[i], now);
		o += (size_t)snprintf(v + o, sizeof(v) - o,
			"%sQueryQuota%s:%" PRId64, i ? "," : "", c->w[i].label,
			left < 0 ? 0 : left);
	}
	as_resp_header(resp,
		"x-ms-ratelimit-microsoft.costmanagement-qpu-remaining", "%s",
		v);
}

static int
take_qpu(as_server *s, const as_req *req, as_resp *resp)
{
	struct as_throttle *t = s->throttle;
	const struct limit_cfg *c = &t->cfg.qpu;
	char tenant[256], key[300];
	int64_t cost = qpu_cost(req), wait;
	struct wlog *l;

	/* A query bigger than a window would never pass: charge it all. */
	for (size_t i = 0; i < c->n; i++)
		if (cost > c->w[i].max)
			cost = c->w[i].max;
	tenant_of(req->principal ? req->principal : "", tenant, sizeof(tenant));
	snprintf(key, sizeof(key), "qpu|%s", tenant);
	if ((l = wlog_get(t, key, req->now_ms)) == NULL)
		return 0;
	wlog_prune(l, c, req->now_ms);
	wait = wlog_wait(l, c, cost, req->now_ms);
	if (wait > 0) {
		costmgmt_429(resp, wait);
		as_resp_header(resp,
			"x-ms-ratelimit-microsoft.costmanagement-qpu-retry-"
			"after",
			"%" PRId64, seconds_up(wait));
		as_resp_header(resp,
			"x-ms-ratelimit-microsoft.costmanagement-qpu-consumed",
			"0");
		qpu_remaining(c, l, req->now_ms, resp);
		return -1;
	}
	wlog_add(l, cost, req->now_ms);
	as_resp_header(resp,
		"x-ms-ratelimit-microsoft.costmanagement-qpu-consumed",
		"%" PRId64, cost);
	qpu_remaining(c, l, req->now_ms, resp);
	return 0;
}

int
as_throttle_take(as_server *s, const as_req *req, as_resp *resp)
{
	const char *route = req->route ? req->route : req->path;

	if (s->throttle == NULL || take_arm(s, req, resp) != 0)
		return s->throttle == NULL ? 0 : -1;
	if (strcasecmp(req->method, "POST") != 0 || route == NULL)
		return 0;
	if (as_contains_ci(route, "generateCostDetailsReport"))
		return take_costdetails(s, req, resp);
	if (ends_with_ci(route, "/Microsoft.CostManagement/query") ||
		ends_with_ci(route, "/Microsoft.CostManagement/forecast"))
		return take_qpu(s, req, resp);
	return 0;
}
