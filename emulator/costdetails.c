/*
 * emulator/costdetails.c - placeholder: routes arrive with issue 3's
 * costdetails work.
 */
#include "core/common.h"

#include "emulator/armsim.h"

const as_route as_costdetails_routes[] = { { NULL, NULL, 0, 0, NULL } };

int
as_costdetails_init(as_server *s, char *err, size_t errlen)
{
	(void)s;
	(void)err;
	(void)errlen;
	return 0;
}

void
as_costdetails_free(as_server *s)
{
	(void)s;
}
