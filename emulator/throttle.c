/*
 * emulator/throttle.c - placeholder: token buckets arrive with issue 3.
 */
#include "core/common.h"

#include "emulator/armsim.h"

int
as_throttle_init(as_server *s, char *err, size_t errlen)
{
	(void)s;
	(void)err;
	(void)errlen;
	return 0;
}

void
as_throttle_free(as_server *s)
{
	(void)s;
}

int
as_throttle_take(as_server *s, const as_req *req, as_resp *resp)
{
	(void)s;
	(void)req;
	(void)resp;
	return 0;
}
