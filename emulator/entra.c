/*
 * emulator/entra.c - placeholder: the token endpoint arrives with issue 3.
 */
#include "core/common.h"

#include "emulator/armsim.h"

#include <stdio.h>

const as_route as_entra_routes[] = { { NULL, NULL, 0, 0, NULL } };

int
as_entra_init(as_server *s, char *err, size_t errlen)
{
	(void)s;
	(void)err;
	(void)errlen;
	return 0;
}

void
as_entra_free(as_server *s)
{
	(void)s;
}

int
as_entra_authorize(as_server *s, as_req *req, as_resp *resp)
{
	(void)s;
	(void)resp;
	req->principal = "placeholder";
	return 0;
}

int
as_entra_issue(as_server *s, char *out, size_t outlen)
{
	(void)s;
	snprintf(out, outlen, "placeholder-token");
	return 0;
}
