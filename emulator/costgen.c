/*
 * emulator/costgen.c - placeholder: the cost line generator.
 */
#include "core/common.h"

#include "emulator/costgen.h"

#include <stdio.h>

int
as_gencosts_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "armsim gen-costs: not implemented yet\n");
	return 2;
}

/*
 * TEMPORARY STUB, billing branch only: lets billing_invoices.c link and
 * its tests run until branch `costgen` lands its real as_costgen_invoice()
 * (that branch replaces this whole file).  Deterministic name, the
 * profile's currency, totals exactly zero.
 */
#include <string.h>

int
as_costgen_invoice(const as_partner *p, size_t profile, as_invoice *out)
{
	uint64_t st = p->seed ^ (uint64_t)(profile + 1) * 0x9e3779b9ull;

	if (profile >= p->nprofiles)
		return -1;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "G0%08u",
		(unsigned)(as_rand_next(&st) % 100000000u));
	memcpy(out->currency, p->profiles[profile].currency, 4);
	return 0;
}
