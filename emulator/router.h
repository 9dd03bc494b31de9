/*
 * emulator/router.h - route tables, matching and the api-version check.
 */
#ifndef CB_EMULATOR_ROUTER_H
#define CB_EMULATOR_ROUTER_H

#include "emulator/armsim.h"

enum {
	AS_MATCH_NONE,   /* no pattern matches the path */
	AS_MATCH_METHOD, /* a pattern matches, but not for this method */
	AS_MATCH_OK
};

int as_router_init(as_server *s, char *err, size_t errlen);
void as_router_free(as_server *s);

/* The next request number (server lock held). */
unsigned long as_router_next_seq(as_server *s);

/* Find req's route: fills req->cap, req->route and req->call (the call
 * number of this route, from 1) and *rt.  Returns AS_MATCH_*. */
int as_router_match(as_server *s, as_req *req, const as_route **rt);

/* ARM's answer to a path or method armsim does not serve (how is
 * AS_MATCH_NONE or AS_MATCH_METHOD); counted as a violation. */
void as_router_unknown(as_server *s, const as_req *req, as_resp *resp, int how);

/* 0 when req's api-version is one rt accepts, else -1 with ARM's 400. */
int as_router_check_version(
	as_server *s, const as_req *req, const as_route *rt, as_resp *resp);

/* Whether req's path has pattern's shape, matched as routes are:
 * literals ignoring case, {x} one segment, one {scope*} one or more. */
bool as_router_pattern_matches(const char *pattern, const as_req *req);

/* Whether needle occurs in s, ignoring ASCII case. */
bool as_contains_ci(const char *s, const char *needle);

/* Whether version is one of the api-versions of the families apis. */
bool as_router_version_known(unsigned apis, const char *version);

#endif
