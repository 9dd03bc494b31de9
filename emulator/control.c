/*
 * emulator/control.c - the /_armsim/ control paths, which ARM never uses:
 * what tests read (requests, violations) and reset between cases.  They
 * need no token and are not throttled, logged requests aside.
 */
#include "core/common.h"

#include "emulator/armsim.h"
#include "emulator/reqlog.h"

#include <stdlib.h>

static int
get_requests(as_server *s, as_req *req, as_resp *resp)
{
	char since[32];
	unsigned long n = 0;

	if (as_req_query(req, "since", since, sizeof(since)) == 0)
		n = strtoul(since, NULL, 10);
	as_resp_json(resp, 200, as_reqlog_json(s, n));
	return 0;
}

static int
get_violations(as_server *s, as_req *req, as_resp *resp)
{
	(void)req;
	as_resp_json(resp, 200, as_violations_json(s));
	return 0;
}

static int
post_reset(as_server *s, as_req *req, as_resp *resp)
{
	(void)req;
	as_reqlog_clear(s);
	resp->status = 204;
	return 0;
}

/* What a script needs to point a client at this armsim (no secrets). */
static int
get_health(as_server *s, as_req *req, as_resp *resp)
{
	const char *tenant, *client;

	(void)req;
	as_entra_ids(s, &tenant, &client);
	as_resp_json(resp, 200,
		json_pack("{s:s,s:i,s:s,s:s}", "status", "ok", "port",
			(int)s->port, "tenantId", tenant, "clientId", client));
	return 0;
}

const as_route as_control_routes[] = { { "GET", "/_armsim/requests",
					       AS_API_NONE, AS_ROUTE_NOAUTH,
					       get_requests },
	{ "GET", "/_armsim/violations", AS_API_NONE, AS_ROUTE_NOAUTH,
		get_violations },
	{ "POST", "/_armsim/reset", AS_API_NONE, AS_ROUTE_NOAUTH, post_reset },
	{ "GET", "/_armsim/health", AS_API_NONE, AS_ROUTE_NOAUTH, get_health },
	{ NULL, NULL, 0, 0, NULL } };
