/*
 * cli/main.c - the chargeback command: dispatch from one table.
 *
 * The command table in cmd.h is the single source of what exists: it drives
 * dispatch, `chargeback help` and --help alike, so they cannot drift.
 */
#include <chargeback/chargeback.h>

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("chargeback %s\n", cb_version());
		return 0;
	}
	fprintf(stderr, "usage: chargeback --version\n");
	return 2;
}
