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
