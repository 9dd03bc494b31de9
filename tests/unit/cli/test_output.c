/*
 * tests/unit/cli/test_output.c - the CLI's JSON writer and format names.
 *
 * The CLI is not part of the library, so its source is compiled in here,
 * with the feature macros the CLI's build sets.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli/output.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

struct capture {
	char *text;
	size_t len;
	FILE *out;
};

static void
capture_begin(struct capture *c)
{
	c->text = NULL;
	c->out = open_memstream(&c->text, &c->len);
	assert_non_null(c->out);
}

static const char *
capture_end(struct capture *c)
{
	fclose(c->out);
	return c->text;
}

static void
test_output_escapes_json_strings(void **state)
{
	struct capture c;

	(void)state;
	capture_begin(&c);
	cli_json_string(c.out, "a\"b\\c/d\b\f\n\r\t\x01\x1f\x7f "
			       "caf\xc3\xa9 \xe2\x82\xac");
	assert_string_equal("\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\\u0001\\u001f"
			    "\\u007f caf\xc3\xa9 \xe2\x82\xac\"",
		capture_end(&c));
	free(c.text);

	capture_begin(&c);
	cli_json_string(c.out, "");
	assert_string_equal("\"\"", capture_end(&c));
	free(c.text);
}

static void
test_output_writer_places_commas(void **state)
{
	struct capture c;
	struct cli_json j;

	(void)state;
	capture_begin(&c);
	cli_json_init(&j, c.out);
	cli_json_object(&j, NULL);
	cli_json_int(&j, "n", -42);
	cli_json_str(&j, "s", "x\"y");
	cli_json_str(&j, "null", NULL);
	cli_json_array(&j, "empty");
	cli_json_end(&j, ']');
	cli_json_array(&j, "list");
	cli_json_object(&j, NULL);
	cli_json_int(&j, "a", 1);
	cli_json_end(&j, '}');
	cli_json_object(&j, NULL);
	cli_json_end(&j, '}');
	cli_json_str(&j, NULL, "z");
	cli_json_end(&j, ']');
	cli_json_end(&j, '}');
	assert_string_equal("{\"n\":-42,\"s\":\"x\\\"y\",\"null\":null,"
			    "\"empty\":[],\"list\":[{\"a\":1},{},\"z\"]}\n",
		capture_end(&c));
	free(c.text);
}

static void
test_output_format_names(void **state)
{
	int f = -1;

	(void)state;
	assert_int_equal(0, cli_output_parse(&f, "json"));
	assert_int_equal(CLI_OUTPUT_JSON, f);
	assert_int_equal(0, cli_output_parse(&f, "text"));
	assert_int_equal(CLI_OUTPUT_TEXT, f);
	assert_int_equal(-1, cli_output_parse(&f, "JSON"));
	assert_int_equal(-1, cli_output_parse(&f, ""));
	assert_int_equal(CLI_OUTPUT_TEXT, f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_escapes_json_strings),
		cmocka_unit_test(test_output_writer_places_commas),
		cmocka_unit_test(test_output_format_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
