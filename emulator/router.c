/*
 * emulator/router.c - which handler answers a request.
 *
 * Every module's table is flattened into one list at start, in the order
 * below (a more specific pattern must come before a {scope*} one that
 * would also match).  ARM matches path segments case-insensitively
 * (ids in examples spell both billingAccounts and BillingAccounts), so
 * literals here do too; captured names keep their case.
 */
#include "core/common.h"

#include "emulator/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The api-versions each family accepts: those in azure-api-examples, the
 * ones the official SDKs send, and the other published stable ones. */
static const char *const billing_versions[] = { "2019-10-01-preview",
	"2020-05-01", "2024-04-01", NULL };
static const char *const costmgmt_versions[] = { "2019-11-01", "2021-10-01",
	"2022-05-01", "2022-10-01", "2023-03-01", "2023-08-01", "2023-11-01",
	"2024-08-01", "2025-03-01", NULL };
static const char *const consumption_versions[] = { "2019-10-01", "2021-10-01",
	"2023-03-01", "2023-05-01", "2023-11-01", "2024-08-01", NULL };
static const char *const imds_versions[] = { "2018-02-01", "2019-08-01",
	"2021-02-01", NULL };

struct as_router {
	const as_route **routes;
	unsigned long *calls; /* per route */
	size_t n;
	unsigned long seq;
};

static const as_route *const *
tables(void)
{
	static const as_route *const t[] = { as_control_routes,
		as_faults_routes, as_entra_routes, as_billing_routes,
		as_budgets_routes, as_costdetails_routes, as_query_routes,
		NULL };
	return t;
}

int
as_router_init(as_server *s, char *err, size_t errlen)
{
	struct as_router *r = calloc(1, sizeof(*r));
	const as_route *const *t = tables();
	size_t n = 0;

	for (size_t i = 0; t[i] != NULL; i++)
		for (const as_route *rt = t[i]; rt->method != NULL; rt++)
			n++;
	if (r == NULL ||
		(r->routes = calloc(n + 1, sizeof(*r->routes))) == NULL ||
		(r->calls = calloc(n + 1, sizeof(*r->calls))) == NULL) {
		if (r != NULL)
			free(r->routes);
		free(r);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; t[i] != NULL; i++)
		for (const as_route *rt = t[i]; rt->method != NULL; rt++)
			r->routes[r->n++] = rt;
	s->router = r;
	return 0;
}

void
as_router_free(as_server *s)
{
	if (s->router == NULL)
		return;
	free(s->router->routes);
	free(s->router->calls);
	free(s->router);
	s->router = NULL;
}

unsigned long
as_router_next_seq(as_server *s)
{
	return ++s->router->seq;
}

/* Pattern segment i of pat (pat starts with '/'), into out. */
static size_t
split_pattern(const char *pat, char seg[][96], size_t max)
{
	size_t n = 0;

	while (*pat != '\0' && n < max) {
		const char *slash;
		size_t len;

		while (*pat == '/')
			pat++;
		if (*pat == '\0')
			break;
		slash = strchr(pat, '/');
		len = slash ? (size_t)(slash - pat) : strlen(pat);
		if (len >= 96)
			len = 95;
		memcpy(seg[n], pat, len);
		seg[n][len] = '\0';
		n++;
		pat += len;
	}
	return n;
}

static bool
is_capture(const char *seg)
{
	return seg[0] == '{';
}

static bool
seg_match(const char *pat, const char *seg)
{
	return is_capture(pat) ? seg[0] != '\0' : strcasecmp(pat, seg) == 0;
}

static void
clear_caps(as_req *req)
{
	for (size_t i = 0; i < req->ncap; i++)
		free(req->cap[i]);
	req->ncap = 0;
}

static int
add_cap(as_req *req, const char *v)
{
	if (req->ncap == AS_MAX_CAPTURES ||
		(req->cap[req->ncap] = strdup(v)) == NULL)
		return -1;
	req->ncap++;
	return 0;
}

/* The segments [from, to) of req joined with '/'. */
static int
add_scope_cap(as_req *req, size_t from, size_t to)
{
	size_t len = 0;
	char *v;

	for (size_t i = from; i < to; i++)
		len += strlen(req->seg[i]) + 1;
	if (req->ncap == AS_MAX_CAPTURES || (v = malloc(len + 1)) == NULL)
		return -1;
	v[0] = '\0';
	for (size_t i = from, o = 0; i < to; i++) {
		size_t l = strlen(req->seg[i]);
		if (i > from)
			v[o++] = '/';
		memcpy(v + o, req->seg[i], l + 1);
		o += l;
	}
	req->cap[req->ncap++] = v;
	return 0;
}

/* Where pattern's one {scope*} is (np when none), or SIZE_MAX when
 * req's path does not have pattern's shape. */
static size_t
shape_match(char pat[][96], size_t np, const as_req *req)
{
	size_t star = np, suffix;

	for (size_t i = 0; i < np; i++)
		if (strcmp(pat[i], "{scope*}") == 0)
			star = i;
	if (star == np ? req->nseg != np : req->nseg < np)
		return SIZE_MAX;
	suffix = star == np ? 0 : np - star - 1;
	for (size_t i = 0; i < (star == np ? np : star); i++)
		if (!seg_match(pat[i], req->seg[i]))
			return SIZE_MAX;
	for (size_t i = 0; i < suffix; i++)
		if (!seg_match(pat[np - suffix + i],
			    req->seg[req->nseg - suffix + i]))
			return SIZE_MAX;
	return star;
}

bool
as_router_pattern_matches(const char *pattern, const as_req *req)
{
	char pat[AS_MAX_SEGMENTS][96];
	size_t np = split_pattern(pattern, pat, AS_MAX_SEGMENTS);

	return shape_match(pat, np, req) != SIZE_MAX;
}

bool
as_contains_ci(const char *s, const char *needle)
{
	size_t m = strlen(needle);

	for (; *s != '\0'; s++)
		if (strncasecmp(s, needle, m) == 0)
			return true;
	return false;
}

/* Whether req's path matches pattern; fills req->cap when it does. */
static bool
path_match(const char *pattern, as_req *req)
{
	char pat[AS_MAX_SEGMENTS][96];
	size_t np = split_pattern(pattern, pat, AS_MAX_SEGMENTS);
	size_t star = shape_match(pat, np, req), suffix;

	if (star == SIZE_MAX)
		return false;
	suffix = star == np ? 0 : np - star - 1;
	clear_caps(req);
	for (size_t i = 0; i < np; i++) {
		int rc = 0;
		if (i == star)
			rc = add_scope_cap(req, star, req->nseg - suffix);
		else if (is_capture(pat[i]))
			rc = add_cap(req,
				req->seg[i < star ? i : req->nseg - (np - i)]);
		if (rc != 0)
			return false;
	}
	return true;
}

int
as_router_match(as_server *s, as_req *req, const as_route **rt)
{
	struct as_router *r = s->router;
	bool path_seen = false;

	for (size_t i = 0; i < r->n; i++) {
		if (!path_match(r->routes[i]->pattern, req))
			continue;
		if (strcasecmp(r->routes[i]->method, req->method) != 0) {
			path_seen = true;
			continue;
		}
		*rt = r->routes[i];
		req->route = r->routes[i]->pattern;
		req->call = ++r->calls[i];
		return AS_MATCH_OK;
	}
	clear_caps(req);
	return path_seen ? AS_MATCH_METHOD : AS_MATCH_NONE;
}

void
as_router_unknown(as_server *s, const as_req *req, as_resp *resp, int how)
{
	if (how == AS_MATCH_METHOD) {
		as_resp_arm_error(resp, 405, "MethodNotAllowed",
			"The requested resource does not support http method "
			"'%s'.",
			req->method);
		as_violation(s, req, "unknown-route",
			"%s is not served for this path", req->method);
		return;
	}
	as_resp_arm_error(resp, 404, "InvalidResourceType",
		"The resource type could not be found: armsim serves no "
		"route for %s %.300s.",
		req->method, req->path);
	as_violation(s, req, "unknown-route", "no route for %s %.300s",
		req->method, req->path);
}

static const char *const *
family_versions(unsigned fam)
{
	switch (fam) {
	case AS_API_BILLING:
		return billing_versions;
	case AS_API_COSTMGMT:
		return costmgmt_versions;
	case AS_API_CONSUMPTION:
		return consumption_versions;
	case AS_API_IMDS:
		return imds_versions;
	default:
		return NULL;
	}
}

bool
as_router_version_known(unsigned apis, const char *version)
{
	for (unsigned fam = 1; fam <= AS_API_IMDS; fam <<= 1) {
		const char *const *v =
			(apis & fam) ? family_versions(fam) : NULL;
		for (; v != NULL && *v != NULL; v++)
			if (strcmp(*v, version) == 0)
				return true;
	}
	return false;
}

/* "'a', 'b', 'c'" for the message, as ARM lists supported versions. */
static void
list_versions(unsigned apis, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (unsigned fam = 1; fam <= AS_API_IMDS; fam <<= 1) {
		const char *const *v =
			(apis & fam) ? family_versions(fam) : NULL;
		for (; v != NULL && *v != NULL && o < outlen; v++)
			o += (size_t)snprintf(out + o, outlen - o, "%s'%s'",
				o > 0 ? ", " : "", *v);
	}
}

int
as_router_check_version(
	as_server *s, const as_req *req, const as_route *rt, as_resp *resp)
{
	char known[512];

	(void)s;
	if (rt->apis == AS_API_NONE)
		return 0;
	if (req->api_version == NULL) {
		as_resp_arm_error(resp, 400, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is "
			"required for all requests.");
		return -1;
	}
	if (as_router_version_known(rt->apis, req->api_version))
		return 0;
	list_versions(rt->apis, known, sizeof(known));
	as_resp_arm_error(resp, 400, "InvalidApiVersionParameter",
		"The api-version '%.40s' is invalid. The supported versions "
		"are %s.",
		req->api_version, known);
	return -1;
}
