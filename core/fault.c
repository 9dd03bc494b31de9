/*
 * core/fault.c - kill points for crash tests (core/fault.h).
 */
#include "core/common.h"
#include "core/fault.h"

#include <signal.h>
#include <stdlib.h>

/* Parsed once: -1 not yet, 0 off, 1 armed. */
static int armed = -1;
static char target[32];
static unsigned long long remaining;

static void
arm(void)
{
	const char *spec = getenv("CHARGEBACK_FAULT_KILL");
	const char *colon;
	char *end;
	size_t len;

	armed = 0;
	if (spec == NULL || (colon = strchr(spec, ':')) == NULL)
		return;
	len = (size_t)(colon - spec);
	if (len == 0 || len >= sizeof(target))
		return;
	remaining = strtoull(colon + 1, &end, 10);
	if (*end != '\0' || remaining == 0)
		return;
	memcpy(target, spec, len);
	target[len] = '\0';
	armed = 1;
}

void
cb__fault_point(const char *point)
{
	if (armed == 0)
		return;
	if (armed < 0) {
		arm();
		if (armed == 0)
			return;
	}
	if (strcmp(point, target) == 0 && --remaining == 0)
		raise(SIGKILL);
}
