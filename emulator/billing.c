/*
 * emulator/billing.c - placeholder: routes arrive with issue 3's billing work.
 */
#include "core/common.h"

#include "emulator/armsim.h"

const as_route as_billing_routes[] = { { NULL, NULL, 0, 0, NULL } };

int
as_billing_init(as_server *s, char *err, size_t errlen)
{
	(void)s;
	(void)err;
	(void)errlen;
	return 0;
}

void
as_billing_free(as_server *s)
{
	(void)s;
}
