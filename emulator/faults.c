/*
 * emulator/faults.c - placeholder: fault plans arrive with issue 3.
 */
#include "core/common.h"

#include "emulator/armsim.h"

const as_route as_faults_routes[] = { { NULL, NULL, 0, 0, NULL } };

int
as_faults_init(as_server *s, char *err, size_t errlen)
{
	(void)s;
	(void)err;
	(void)errlen;
	return 0;
}

void
as_faults_free(as_server *s)
{
	(void)s;
}

int
as_faults_before(as_server *s, const as_req *req, as_resp *resp)
{
	(void)s;
	(void)req;
	(void)resp;
	return 0;
}

void
as_faults_after(as_server *s, const as_req *req, as_resp *resp)
{
	(void)s;
	(void)req;
	(void)resp;
}

bool
as_faults_flag(as_server *s, const as_req *req, const char *kind)
{
	(void)s;
	(void)req;
	(void)kind;
	return false;
}
