/*
 * tests/unit/cli/test_opt.c - the CLI's table-driven option parser.
 *
 * The CLI is not part of the library, so its source is compiled in here,
 * with the feature macros the CLI's build sets.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli/opt.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

enum { O_FILE = CLI_OPT_HELP + 1, O_VERBOSE, O_OUTPUT, O_FLAG };

static const struct cli_opt opts[] = {
	{ O_FILE, 'f', "file", "FILE", "read FILE" },
	{ O_VERBOSE, 'v', "verbose", NULL, "say more" },
	{ O_OUTPUT, 0, "output", "FORMAT", "text or json" },
	{ O_FLAG, 'q', NULL, NULL, "quiet" },
	CLI_OPT_HELP_ENTRY,
	{ 0 },
};

/* Parse a NULL-terminated list, copied to writable strings as argv is
 * (the parser reorders buf, and values point into the copies). */
static int
parse(struct cli_args *a, char **buf, bool stop, char *err, const char *arg,
	...)
{
	static char copies[16][32];
	va_list ap;
	int n = 0;

	va_start(ap, arg);
	for (const char *s = arg; s; s = va_arg(ap, const char *)) {
		snprintf(copies[n], sizeof(copies[n]), "%s", s);
		buf[n] = copies[n];
		n++;
	}
	va_end(ap);
	buf[n] = NULL;
	return cli_opt_parse(a, opts, n, buf, stop, err, CLI_OPT_ERROR_MAX);
}

static void
test_opt_parses_every_form(void **state)
{
	char err[CLI_OPT_ERROR_MAX] = "", *buf[16];
	struct cli_args a;

	(void)state;
	assert_int_equal(0, parse(&a, buf, false, err, "one", "-vv", "--file",
				    "a.cfg", "two", "--output=json", "-fb.cfg",
				    "-", "-q", "--", "--verbose", "-v", NULL));
	assert_int_equal(2, a.count[O_VERBOSE]);
	assert_int_equal(2, a.count[O_FILE]);
	assert_string_equal("b.cfg", a.value[O_FILE]); /* the last wins */
	assert_string_equal("json", a.value[O_OUTPUT]);
	assert_int_equal(1, a.count[O_FLAG]);
	assert_null(a.value[O_FLAG]);
	assert_int_equal(0, a.count[CLI_OPT_HELP]);
	assert_int_equal(5, a.argc);
	assert_string_equal("one", a.argv[0]);
	assert_string_equal("two", a.argv[1]);
	assert_string_equal("-", a.argv[2]);
	assert_string_equal("--verbose", a.argv[3]);
	assert_string_equal("-v", a.argv[4]);

	/* Short options cluster, a value ends the cluster. */
	assert_int_equal(
		0, parse(&a, buf, false, err, "-qvfx", "-hf", "y", NULL));
	assert_int_equal(1, a.count[O_FLAG]);
	assert_int_equal(1, a.count[O_VERBOSE]);
	assert_int_equal(1, a.count[CLI_OPT_HELP]);
	assert_string_equal("y", a.value[O_FILE]);
	assert_int_equal(0, a.argc);

	/* An empty value is a value. */
	assert_int_equal(0, parse(&a, buf, false, err, "--file=", NULL));
	assert_string_equal("", a.value[O_FILE]);
	assert_string_equal("", err);
}

static void
test_opt_stops_at_the_first_argument(void **state)
{
	char err[CLI_OPT_ERROR_MAX], *buf[16];
	struct cli_args a;

	(void)state;
	assert_int_equal(0, parse(&a, buf, true, err, "-v", "--output", "json",
				    "db", "status", "-v", "--bogus", NULL));
	assert_int_equal(1, a.count[O_VERBOSE]);
	assert_int_equal(4, a.argc);
	assert_string_equal("db", a.argv[0]);
	assert_string_equal("--bogus", a.argv[3]);

	assert_int_equal(0, parse(&a, buf, true, err, "--", "-v", NULL));
	assert_int_equal(0, a.count[O_VERBOSE]);
	assert_int_equal(1, a.argc);
	assert_string_equal("-v", a.argv[0]);

	assert_int_equal(0, parse(&a, buf, true, err, NULL));
	assert_int_equal(0, a.argc);
}

static void
test_opt_reports_usage_errors(void **state)
{
	static const struct {
		const char *args[3];
		const char *message;
	} cases[] = {
		{ { "--nope" }, "unknown option '--nope'" },
		{ { "--nope=1" }, "unknown option '--nope'" },
		{ { "--verb" }, "unknown option '--verb'" },
		{ { "-vz" }, "unknown option '-z'" },
		{ { "--file" }, "option '--file' needs a value (FILE)" },
		{ { "-v", "-f" }, "option '-f' needs a value (FILE)" },
		{ { "--verbose=yes" }, "option '--verbose' takes no value" },
		{ { "--help=me" }, "option '--help' takes no value" },
	};
	char err[CLI_OPT_ERROR_MAX], *buf[16];
	struct cli_args a;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
			-1, parse(&a, buf, false, err, cases[i].args[0],
				    cases[i].args[1], NULL));
		assert_string_equal(cases[i].message, err);
	}
}

static void
test_opt_help_comes_from_the_table(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_non_null(out);
	cli_opt_print_help(out, opts);
	fclose(out);
	assert_string_equal("Options:\n"
			    "  -f, --file FILE      read FILE\n"
			    "  -v, --verbose        say more\n"
			    "      --output FORMAT  text or json\n"
			    "  -q                   quiet\n"
			    "  -h, --help           show this help and exit\n",
		text);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opt_parses_every_form),
		cmocka_unit_test(test_opt_stops_at_the_first_argument),
		cmocka_unit_test(test_opt_reports_usage_errors),
		cmocka_unit_test(test_opt_help_comes_from_the_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
