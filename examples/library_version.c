/*
 * examples/library_version.c - the smallest program using libchargeback:
 * initialise the library, print its version, and show how an error reads.
 *
 * Build against an installed copy:
 *     cc library_version.c $(pkg-config --cflags --libs chargeback)
 */
#include <chargeback/chargeback.h>

#include <stdio.h>

int
main(void)
{
	int level;

	if (cb_init() < 0) {
		fprintf(stderr, "cb_init: %s\n", cb_error_last()->message);
		return 1;
	}
	printf("libchargeback %s\n", cb_version());

	/* Every failure leaves a one-line message and a code behind. */
	if (cb_log_level_parse(&level, "loud") < 0)
		printf("%s: %s\n", cb_error_name(cb_error_last()->code),
			cb_error_last()->message);
	cb_shutdown();
	return 0;
}
