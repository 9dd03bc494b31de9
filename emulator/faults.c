/*
 * emulator/faults.c - faults described as data, and the "retry before
 * Retry-After" rule.
 *
 * A fault plan (armsim --faults FILE, or POST /_armsim/faults; GET shows
 * it, DELETE clears it) is JSON:
 *
 *   {"faults": [
 *     {"route": "/billingAccounts/{name}/customers", "method": "GET",
 *      "calls": [1, 2, 3], "kind": "status", "status": 429,
 *      "retryAfter": 2},
 *     {"route": "generateCostDetailsReport", "calls": {"from": 2},
 *      "kind": "report-failed"}
 *   ]}
 *
 * route   which requests the fault watches: with a '{' it is a route
 *         pattern matched segment by segment like router.c's ({name} one
 *         segment, {scope*} one or more, literals ignoring case); else
 *         a piece of the request path (as sent, without the query),
 *         ignoring case.  /_armsim/ paths are never faulted.
 * method  optional; only requests with this method.
 * calls   which of the requests the fault watches it acts on, counted
 *         from 1 per fault (not per router route: a fault can watch
 *         several routes, or a path no route serves): an array of call
 *         numbers, {"from": N, "to": M} ("to" left out: for ever), or
 *         "all" (the default).  Posting a plan restarts the counts.
 * kind    what happens:
 *   "status"          answer at once, the handler not run: "status"
 *                     (required), an ARM error body with "code" and
 *                     "message" (defaults from the status; "errorBody":
 *                     false for none), "retryAfter" seconds (optional).
 *   "latency"         wait "delayMs" before answering.
 *   "slow-body"       wait "slowMs" before each 4 KiB of the body.
 *   "truncate"        announce the full Content-Length, send "bytes"
 *                     bytes of the body (one byte short at most), close.
 *   "reset"           close the connection, answer nothing, the handler
 *                     not run.
 *   "malformed-json"  the JSON body loses its closing brackets and
 *                     gains a stray ',"' (deterministic, not parseable).
 *   "expired-link", "report-failed", "report-nodata", "malformed-csv"
 *                     acted out by the handler, which asks
 *                     as_faults_flag() for the request in hand.
 * Several faults may act on one request: the first "status" or "reset"
 * in plan order answers; the others add their effects.  A field that is
 * not one of the kind's is an error, so a typo cannot pass unseen.
 *
 * Retry before Retry-After: every answer with 429 or 503 and a
 * Retry-After is remembered for its caller (a digest of the bearer token,
 * never the token) and its method and path; a new request by the same
 * caller with the same method and path before Retry-After has passed is
 * counted as a "retry-before-retry-after" violation, and then answered
 * as usual.  Retrying is asking for the same thing again, hence the path
 * rather than the route pattern, and the digest because faults act
 * before the token is checked.
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/armsim.h"
#include "emulator/router.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Most faults in a plan, and call numbers in one "calls" array. */
#define MAX_FAULTS 64
#define MAX_CALLS  1000
/* Most answers with Retry-After remembered at once (oldest go first). */
#define MAX_LEDGER 1024

enum kind {
	K_STATUS,
	K_LATENCY,
	K_SLOW,
	K_TRUNCATE,
	K_RESET,
	K_MALFORMED_JSON,
	K_EXPIRED_LINK,
	K_REPORT_FAILED,
	K_REPORT_NODATA,
	K_MALFORMED_CSV,
	NKINDS
};

/* Each kind's name and the fields it takes besides route, method,
 * calls and kind. */
static const struct {
	const char *name;
	const char *fields[5];
} kinds[NKINDS] = {
	{ "status",
		{ "status", "code", "message", "retryAfter", "errorBody" } },
	{ "latency", { "delayMs" } },
	{ "slow-body", { "slowMs" } },
	{ "truncate", { "bytes" } },
	{ "reset", { NULL } },
	{ "malformed-json", { NULL } },
	{ "expired-link", { NULL } },
	{ "report-failed", { NULL } },
	{ "report-nodata", { NULL } },
	{ "malformed-csv", { NULL } },
};

struct fault {
	char *route;
	bool pattern;         /* route is a pattern, not a piece of path */
	char method[8];       /* "" for any */
	unsigned long *calls; /* listed call numbers, or NULL */
	size_t ncalls;
	unsigned long from, to; /* when calls is NULL; to 0: no end */
	enum kind kind;
	int status;
	char *code, *message;
	long retry_after; /* -1: none */
	bool error_body;
	int64_t ms;         /* delayMs or slowMs */
	int64_t bytes;      /* truncate */
	unsigned long seen; /* requests matched so far */
};

struct retry {
	uint64_t caller;
	char *method, *path;
	int64_t until_ms;
	unsigned long seq;
};

struct as_faults {
	json_t *plan; /* as given, for GET */
	struct fault f[MAX_FAULTS];
	size_t n;
	/* The request being served and the faults acting on it. */
	unsigned long cur_seq;
	bool fired[MAX_FAULTS];
	struct retry *ledger;
	size_t nledger, capledger;
};

/* ------------------------------------------------------------------ */
/* Reading a plan */

static void
fault_clear(struct fault *f)
{
	free(f->route);
	free(f->calls);
	free(f->code);
	free(f->message);
	memset(f, 0, sizeof(*f));
}

static void
plan_clear(struct as_faults *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		fault_clear(&fs->f[i]);
	fs->n = 0;
	json_decref(fs->plan);
	fs->plan = NULL;
	memset(fs->fired, 0, sizeof(fs->fired));
	fs->cur_seq = 0;
}

/* A whole number in [min, max] at key of o (absent: ok, *out kept). */
static int
int_field(json_t *o, const char *key, json_int_t min, json_int_t max,
	int64_t *out, size_t idx, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
		json_integer_value(v) > max) {
		snprintf(err, errlen,
			"faults[%zu].%s: expected a whole number from "
			"%" JSON_INTEGER_FORMAT " to %" JSON_INTEGER_FORMAT,
			idx, key, min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int
str_field(json_t *o, const char *key, char **out, size_t idx, char *err,
	size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
		json_string_length(v) > 1000) {
		snprintf(err, errlen,
			"faults[%zu].%s: expected a non-empty string of at "
			"most 1000 characters",
			idx, key);
		return -1;
	}
	if ((*out = strdup(json_string_value(v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
parse_calls(json_t *v, struct fault *f, size_t idx, char *err, size_t errlen)
{
	size_t j;
	json_t *e;

	f->from = 1;
	f->to = 0;
	if (v == NULL ||
		(json_is_string(v) && strcmp(json_string_value(v), "all") == 0))
		return 0;
	if (json_is_array(v) && json_array_size(v) > 0 &&
		json_array_size(v) <= MAX_CALLS) {
		f->ncalls = json_array_size(v);
		if ((f->calls = calloc(f->ncalls, sizeof(*f->calls))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		json_array_foreach(v, j, e)
		{
			if (!json_is_integer(e) || json_integer_value(e) < 1) {
				snprintf(err, errlen,
					"faults[%zu].calls[%zu]: expected a "
					"call number from 1",
					idx, j);
				return -1;
			}
			f->calls[j] = (unsigned long)json_integer_value(e);
		}
		return 0;
	}
	if (json_is_object(v)) {
		json_t *from = json_object_get(v, "from"),
		       *to = json_object_get(v, "to");
		const char *k;

		json_object_foreach(v, k,
			e) if (strcmp(k, "from") != 0 && strcmp(k, "to") != 0)
		{
			snprintf(err, errlen,
				"faults[%zu].calls.%s: unknown field", idx, k);
			return -1;
		}
		if (!json_is_integer(from) || json_integer_value(from) < 1 ||
			(to != NULL &&
				(!json_is_integer(to) ||
					json_integer_value(to) <
						json_integer_value(from)))) {
			snprintf(err, errlen,
				"faults[%zu].calls: expected \"from\" a call "
				"number from 1 and \"to\" (optional) one not "
				"before it",
				idx);
			return -1;
		}
		f->from = (unsigned long)json_integer_value(from);
		f->to = to ? (unsigned long)json_integer_value(to) : 0;
		return 0;
	}
	snprintf(err, errlen,
		"faults[%zu].calls: expected \"all\", an array of 1 to %d call "
		"numbers or {\"from\": N, \"to\": M}",
		idx, MAX_CALLS);
	return -1;
}

/* Every field of o belongs to a fault of kind k. */
static int
check_fields(json_t *o, enum kind k, size_t idx, char *err, size_t errlen)
{
	static const char *const common[] = { "route", "method", "calls",
		"kind" };
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
	{
		bool ok = false;
		for (size_t i = 0; i < CB_ARRAY_SIZE(common); i++)
			ok = ok || strcmp(key, common[i]) == 0;
		for (size_t i = 0; i < 5 && kinds[k].fields[i] != NULL; i++)
			ok = ok || strcmp(key, kinds[k].fields[i]) == 0;
		if (!ok) {
			snprintf(err, errlen,
				"faults[%zu].%s: not a field of kind \"%s\"",
				idx, key, kinds[k].name);
			return -1;
		}
	}
	return 0;
}

static const char *
default_code(int status)
{
	switch (status) {
	case 401:
		return "AuthenticationFailed";
	case 403:
		return "AuthorizationFailed";
	case 404:
		return "NotFound";
	case 409:
		return "Conflict";
	case 429:
		return "TooManyRequests";
	case 500:
		return "InternalServerError";
	case 502:
		return "BadGateway";
	case 503:
		return "ServiceUnavailable";
	case 504:
		return "GatewayTimeout";
	default:
		return status >= 500 ? "InternalServerError" : "BadRequest";
	}
}

static int
parse_kind_params(
	json_t *o, struct fault *f, size_t idx, char *err, size_t errlen)
{
	int64_t v = -1;
	json_t *eb = json_object_get(o, "errorBody");
	const char *need = f->kind == K_STATUS     ? "status"
			   : f->kind == K_LATENCY  ? "delayMs"
			   : f->kind == K_SLOW     ? "slowMs"
			   : f->kind == K_TRUNCATE ? "bytes"
						   : NULL;

	if (need != NULL && json_object_get(o, need) == NULL) {
		snprintf(err, errlen,
			"faults[%zu].%s: required for kind \"%s\"", idx, need,
			kinds[f->kind].name);
		return -1;
	}
	f->retry_after = -1;
	f->error_body = true;
	if (int_field(o, "status", 100, 599, &v, idx, err, errlen) != 0)
		return -1;
	f->status = (int)v;
	v = -1;
	if (int_field(o, "retryAfter", 0, 86400, &v, idx, err, errlen) != 0)
		return -1;
	f->retry_after = (long)v;
	if (int_field(o, "delayMs", 0, 600000, &f->ms, idx, err, errlen) != 0 ||
		int_field(o, "slowMs", 0, 60000, &f->ms, idx, err, errlen) !=
			0 ||
		int_field(o, "bytes", 0, INT64_MAX / 2, &f->bytes, idx, err,
			errlen) != 0 ||
		str_field(o, "code", &f->code, idx, err, errlen) != 0 ||
		str_field(o, "message", &f->message, idx, err, errlen) != 0)
		return -1;
	if (eb != NULL && !json_is_boolean(eb)) {
		snprintf(err, errlen,
			"faults[%zu].errorBody: expected true or false", idx);
		return -1;
	}
	if (eb != NULL)
		f->error_body = json_is_true(eb);
	return 0;
}

static int
parse_fault(json_t *o, struct fault *f, size_t idx, char *err, size_t errlen)
{
	static const char *const methods[] = { "GET", "PUT", "POST", "PATCH",
		"DELETE", "HEAD" };
	json_t *route = json_object_get(o, "route"),
	       *method = json_object_get(o, "method"),
	       *kind = json_object_get(o, "kind");
	size_t k;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "faults[%zu]: expected an object", idx);
		return -1;
	}
	if (!json_is_string(route) || json_string_length(route) == 0 ||
		json_string_length(route) > 2000) {
		snprintf(err, errlen, "faults[%zu].route: %s", idx,
			route == NULL ? "required"
				      : "expected a non-empty string of at "
					"most 2000 characters");
		return -1;
	}
	if (!json_is_string(kind)) {
		snprintf(err, errlen, "faults[%zu].kind: %s", idx,
			kind == NULL ? "required" : "expected a string");
		return -1;
	}
	for (k = 0; k < NKINDS; k++)
		if (strcmp(kinds[k].name, json_string_value(kind)) == 0)
			break;
	if (k == NKINDS) {
		snprintf(err, errlen,
			"faults[%zu].kind: unknown kind \"%.100s\"", idx,
			json_string_value(kind));
		return -1;
	}
	f->kind = (enum kind)k;
	if (method != NULL) {
		size_t m = 0;
		while (m < CB_ARRAY_SIZE(methods) &&
			!(json_is_string(method) &&
				strcmp(methods[m], json_string_value(method)) ==
					0))
			m++;
		if (m == CB_ARRAY_SIZE(methods)) {
			snprintf(err, errlen,
				"faults[%zu].method: expected one of GET, PUT, "
				"POST, PATCH, DELETE, HEAD",
				idx);
			return -1;
		}
		snprintf(f->method, sizeof(f->method), "%s", methods[m]);
	}
	if ((f->route = strdup(json_string_value(route))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	f->pattern = strchr(f->route, '{') != NULL;
	if (check_fields(o, f->kind, idx, err, errlen) != 0 ||
		parse_calls(json_object_get(o, "calls"), f, idx, err, errlen) !=
			0)
		return -1;
	return parse_kind_params(o, f, idx, err, errlen);
}

/* Replace the plan with plan (borrowed); on error the old one stays. */
static int
plan_set(struct as_faults *fs, json_t *plan, char *err, size_t errlen)
{
	struct fault nf[MAX_FAULTS];
	json_t *arr = json_object_get(plan, "faults"), *e;
	const char *key;
	size_t i, n = 0;

	if (!json_is_object(plan)) {
		snprintf(err, errlen,
			"expected a JSON object {\"faults\": [...]}");
		return -1;
	}
	json_object_foreach(plan, key, e) if (strcmp(key, "faults") != 0)
	{
		snprintf(err, errlen, "%.100s: unknown field", key);
		return -1;
	}
	if (!json_is_array(arr) || json_array_size(arr) > MAX_FAULTS) {
		snprintf(err, errlen, "faults: %s",
			arr == NULL ? "required"
				    : "expected an array of at most 64 faults");
		return -1;
	}
	memset(nf, 0, sizeof(nf));
	json_array_foreach(arr, i, e)
	{
		n = i + 1;
		if (parse_fault(e, &nf[i], i, err, errlen) != 0) {
			for (size_t j = 0; j < n; j++)
				fault_clear(&nf[j]);
			return -1;
		}
	}
	plan_clear(fs);
	memcpy(fs->f, nf, sizeof(nf));
	fs->n = n;
	fs->plan = json_incref(plan);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Matching */

static bool
is_control(const as_req *req)
{
	return req->nseg > 0 && strcasecmp(req->seg[0], "_armsim") == 0;
}

static bool
fault_watches(const struct fault *f, const as_req *req)
{
	if (f->method[0] != '\0' && strcasecmp(f->method, req->method) != 0)
		return false;
	return f->pattern ? as_router_pattern_matches(f->route, req)
			  : as_contains_ci(req->path, f->route);
}

static bool
call_selected(const struct fault *f, unsigned long call)
{
	if (f->calls == NULL)
		return call >= f->from && (f->to == 0 || call <= f->to);
	for (size_t i = 0; i < f->ncalls; i++)
		if (f->calls[i] == call)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Retry before Retry-After */

/* FNV-1a of the caller's bearer token (or principal): who asked,
 * without keeping the secret. */
static uint64_t
caller_of(const as_req *req)
{
	const char *who = as_req_header(req, "Authorization");
	uint64_t h = 14695981039346656037u;

	if (who == NULL)
		who = req->principal ? req->principal : "";
	for (; *who != '\0'; who++) {
		h ^= (unsigned char)*who;
		h *= 1099511628211u;
	}
	return h;
}

static void
retry_drop(struct as_faults *fs, size_t i)
{
	free(fs->ledger[i].method);
	free(fs->ledger[i].path);
	fs->ledger[i] = fs->ledger[--fs->nledger];
}

static struct retry *
retry_find(struct as_faults *fs, uint64_t caller, const as_req *req)
{
	for (size_t i = 0; i < fs->nledger; i++) {
		struct retry *r = &fs->ledger[i];
		if (r->caller == caller &&
			strcmp(r->method, req->method) == 0 &&
			strcmp(r->path, req->path) == 0)
			return r;
	}
	return NULL;
}

static void
retry_check(as_server *s, const as_req *req)
{
	struct as_faults *fs = s->faults;
	struct retry *r;

	for (size_t i = 0; i < fs->nledger;)
		if (fs->ledger[i].until_ms <= req->now_ms)
			retry_drop(fs, i);
		else
			i++;
	r = retry_find(fs, caller_of(req), req);
	if (r != NULL)
		as_violation(s, req, "retry-before-retry-after",
			"retried %" PRId64 " ms before the Retry-After of "
			"request %lu ended",
			r->until_ms - req->now_ms, r->seq);
}

/* Remember an answer that told the caller to wait. */
static void
retry_note(as_server *s, const as_req *req, const as_resp *resp)
{
	struct as_faults *fs = s->faults;
	uint64_t caller = caller_of(req);
	const char *ra = NULL;
	struct retry *r;
	char *end;
	long secs;

	for (size_t i = 0; i < resp->nheader; i++)
		if (strcasecmp(resp->hname[i], "Retry-After") == 0)
			ra = resp->hvalue[i];
	if (ra == NULL || (secs = strtol(ra, &end, 10)) <= 0 || *end != '\0')
		return;
	if ((r = retry_find(fs, caller, req)) == NULL) {
		if (fs->nledger == MAX_LEDGER)
			retry_drop(fs, 0);
		if (fs->nledger == fs->capledger) {
			size_t cap = fs->capledger ? fs->capledger * 2 : 16;
			struct retry *nl =
				realloc(fs->ledger, cap * sizeof(*nl));
			if (nl == NULL)
				return;
			fs->ledger = nl;
			fs->capledger = cap;
		}
		r = &fs->ledger[fs->nledger];
		r->method = strdup(req->method);
		r->path = strdup(req->path);
		if (r->method == NULL || r->path == NULL) {
			free(r->method);
			free(r->path);
			return;
		}
		fs->nledger++;
	}
	r->caller = caller;
	/* The wait starts when the answer leaves, after any planned delay. */
	r->until_ms = req->now_ms + resp->delay_ms + (int64_t)secs * 1000;
	r->seq = req->seq;
}

/* ------------------------------------------------------------------ */
/* Acting */

static void
act_status(const struct fault *f, as_resp *resp)
{
	if (f->error_body)
		as_resp_arm_error(resp, f->status,
			f->code ? f->code : default_code(f->status), "%s",
			f->message ? f->message
				   : "armsim: a fault planned for this call.");
	else
		resp->status = f->status;
	if (f->retry_after >= 0)
		as_resp_header(resp, "Retry-After", "%ld", f->retry_after);
}

int
as_faults_before(as_server *s, const as_req *req, as_resp *resp)
{
	struct as_faults *fs = s->faults;
	int answered = 0;

	if (fs == NULL || is_control(req))
		return 0;
	retry_check(s, req);
	fs->cur_seq = req->seq;
	memset(fs->fired, 0, sizeof(fs->fired));
	for (size_t i = 0; i < fs->n; i++) {
		struct fault *f = &fs->f[i];

		if (!fault_watches(f, req) || !call_selected(f, ++f->seen))
			continue;
		fs->fired[i] = true;
		if (f->kind == K_LATENCY)
			resp->delay_ms += f->ms;
		else if (f->kind == K_SLOW)
			resp->slow_ms = f->ms;
		else if (f->kind == K_STATUS && !answered)
			act_status(f, resp), answered = 1;
		else if (f->kind == K_RESET && !answered)
			resp->drop = true, answered = 1;
	}
	return answered;
}

/* Break a JSON body: closing brackets off, a stray ',"' on. */
static void
malform_json(as_resp *resp)
{
	size_t n = resp->body.size;

	while (n > 0 && strchr("}] \n\r\t", resp->body.ptr[n - 1]) != NULL)
		n--;
	resp->body.size = n;
	cb__buf_puts(&resp->body, ",\"");
}

void
as_faults_after(as_server *s, const as_req *req, as_resp *resp)
{
	struct as_faults *fs = s->faults;

	if (fs == NULL || req->path == NULL || is_control(req))
		return;
	if (resp->status == 429 || resp->status == 503)
		retry_note(s, req, resp);
	if (fs->cur_seq != req->seq)
		return;
	for (size_t i = 0; i < fs->n; i++) {
		const struct fault *f = &fs->f[i];
		uint64_t len;

		if (!fs->fired[i])
			continue;
		if (f->kind == K_MALFORMED_JSON && resp->stream == NULL)
			malform_json(resp);
		if (f->kind != K_TRUNCATE)
			continue;
		len = resp->stream ? resp->stream_len : resp->body.size;
		if (len == 0)
			continue; /* nothing to cut */
		resp->truncate_at =
			(uint64_t)f->bytes < len ? f->bytes : (int64_t)len - 1;
		if (len == UINT64_MAX)
			resp->truncate_at = f->bytes;
	}
}

bool
as_faults_flag(as_server *s, const as_req *req, const char *kind)
{
	struct as_faults *fs = s->faults;

	if (fs == NULL || fs->cur_seq != req->seq || req->seq == 0)
		return false;
	for (size_t i = 0; i < fs->n; i++)
		if (fs->fired[i] &&
			strcmp(kinds[fs->f[i].kind].name, kind) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* /_armsim/faults and start-up */

static json_t *
plan_json(const struct as_faults *fs)
{
	json_t *seen = json_array();
	json_t *faults =
		fs->plan ? json_incref(json_object_get(fs->plan, "faults"))
			 : json_array();

	for (size_t i = 0; i < fs->n; i++)
		json_array_append_new(
			seen, json_integer((json_int_t)fs->f[i].seen));
	return json_pack("{s:o,s:o}", "faults", faults, "matched", seen);
}

static int
get_faults(as_server *s, as_req *req, as_resp *resp)
{
	(void)req;
	as_resp_json(resp, 200, plan_json(s->faults));
	return 0;
}

static int
post_faults(as_server *s, as_req *req, as_resp *resp)
{
	json_error_t je;
	json_t *plan;
	char err[512];

	plan = json_loadb(
		req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
	if (plan == NULL) {
		as_resp_arm_error(resp, 400, "InvalidFaultPlan",
			"line %d, column %d: %s", je.line, je.column, je.text);
		return 0;
	}
	if (plan_set(s->faults, plan, err, sizeof(err)) != 0) {
		json_decref(plan);
		as_resp_arm_error(resp, 400, "InvalidFaultPlan", "%s", err);
		return 0;
	}
	json_decref(plan);
	as_resp_json(resp, 200, plan_json(s->faults));
	return 0;
}

static int
delete_faults(as_server *s, as_req *req, as_resp *resp)
{
	(void)req;
	plan_clear(s->faults);
	resp->status = 204;
	return 0;
}

const as_route as_faults_routes[] = { { "GET", "/_armsim/faults", AS_API_NONE,
					      AS_ROUTE_NOAUTH, get_faults },
	{ "POST", "/_armsim/faults", AS_API_NONE, AS_ROUTE_NOAUTH,
		post_faults },
	{ "DELETE", "/_armsim/faults", AS_API_NONE, AS_ROUTE_NOAUTH,
		delete_faults },
	{ NULL, NULL, 0, 0, NULL } };

int
as_faults_init(as_server *s, char *err, size_t errlen)
{
	struct as_faults *fs = calloc(1, sizeof(*fs));
	json_error_t je;
	json_t *plan;
	char why[512];

	if (fs == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->faults = fs;
	if (s->opt.fault_plan == NULL)
		return 0;
	plan = json_load_file(s->opt.fault_plan, JSON_REJECT_DUPLICATES, &je);
	if (plan == NULL) {
		if (je.line < 1)
			snprintf(err, errlen, "%s: %s", s->opt.fault_plan,
				je.text);
		else
			snprintf(err, errlen, "%s: line %d, column %d: %s",
				s->opt.fault_plan, je.line, je.column, je.text);
		return -1;
	}
	if (plan_set(fs, plan, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", s->opt.fault_plan, why);
		json_decref(plan);
		return -1;
	}
	json_decref(plan);
	return 0;
}

void
as_faults_free(as_server *s)
{
	struct as_faults *fs = s->faults;

	if (fs == NULL)
		return;
	plan_clear(fs);
	while (fs->nledger > 0)
		retry_drop(fs, 0);
	free(fs->ledger);
	free(fs);
	s->faults = NULL;
}
