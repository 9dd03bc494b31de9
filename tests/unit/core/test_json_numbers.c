/*
 * tests/unit/core/test_json_numbers.c - the number-quoting scanner.
 *
 * The scanner decides which bytes of a body are numbers; a mistake here
 * either quotes digits inside a string or hands jansson a number to turn
 * into a double.  Each case pins the exact output bytes.
 */
#include "core/common.h"
#include "core/json.h"
#include "core/buf.h"

#include <stdio.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* Quote in (a C string) and return the output; "ERR: message" on error.
 * The result lives in a static buffer until the next call. */
static const char *
quote(const char *in)
{
	static char result[4096];
	cb_buf out = CB_BUF_INIT;
	int rc = cb__json_quote_numbers(&out, in, strlen(in), "t");

	if (rc < 0)
		snprintf(result, sizeof(result), "ERR %s: %s",
			cb_error_name(rc), cb_error_last()->message);
	else
		snprintf(result, sizeof(result), "%s", out.ptr);
	cb_buf_dispose(&out);
	return result;
}

static void
test_json_numbers_grammar(void **state)
{
	static const char *valid[] = { "0", "-0", "1", "-1", "10", "0.5",
		"-0.5", "1.0", "1e5", "1E5", "1e+5", "1e-5", "-1.25E-07",
		"0.009865586851323632", "123456789012345678901234567890", "0e0",
		"1.5e005" };
	static const char *invalid[] = { "", "-", "+1", "01", "-01", "1.", ".5",
		"1.e5", "1e", "1e+", "1e5.5", "1.5.3", "--1", "1-2", "0x10",
		"1 ", " 1", "Infinity", "NaN", "1e5e5", "00" };

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(valid); i++)
		assert_true(
			cb__json_number_is_valid(valid[i], strlen(valid[i])));
	for (size_t i = 0; i < CB_ARRAY_SIZE(invalid); i++) {
		if (cb__json_number_is_valid(invalid[i], strlen(invalid[i])))
			fail_msg("'%s' accepted", invalid[i]);
	}
	/* The length is honoured, not the terminator. */
	assert_true(cb__json_number_is_valid("12x", 2));
	assert_false(cb__json_number_is_valid("12x", 3));
}

static void
test_json_numbers_quotes_exactly(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "1", "\"\\u00011\"" },
		{ "-12.5e+3", "\"\\u0001-12.5e+3\"" },
		{ "[1,-2,3.0e-7]",
			"[\"\\u00011\",\"\\u0001-2\",\"\\u00013.0e-7\"]" },
		{ "{\"a\":1,\"b\":\"2\",\"c\":[true,false,null,0]}",
			"{\"a\":\"\\u00011\",\"b\":\"2\",\"c\":[true,false,"
			"null,\"\\u00010\"]}" },
		/* Strings are untouched, whatever their escapes. */
		{ "[\"a\\\"1\",2,\"\\\\\",3,\"\\\\\\\"4\",5,\"\\u0031\"]",
			"[\"a\\\"1\",\"\\u00012\",\"\\\\\",\"\\u00013\","
			"\"\\\\\\\"4\",\"\\u00015\",\"\\u0031\"]" },
		{ "\"12\"", "\"12\"" },
		/* Whitespace and line breaks stay where they were. */
		{ "[\n 1 ,\t2 ]", "[\n \"\\u00011\" ,\t\"\\u00012\" ]" },
		/* A number where a key belongs is left for jansson. */
		{ "{1:2}", "{1:\"\\u00012\"}" },
		{ "{\"a\":1,2:3}", "{\"a\":\"\\u00011\",2:\"\\u00013\"}" },
		/* After a nested object closes, the array is current again. */
		{ "[{\"a\":1},5,{\"b\":[6]},7]",
			"[{\"a\":\"\\u00011\"},\"\\u00015\",{\"b\":[\"\\u00016\"]},"
			"\"\\u00017\"]" },
		{ "{\"a\":{\"b\":1},\"c\":2}",
			"{\"a\":{\"b\":\"\\u00011\"},\"c\":\"\\u00012\"}" },
		/* Runs that are not one valid number stay bare. */
		{ "[01,1.,-,1e,1.5.3,--1,1-2]", "[01,1.,-,1e,1.5.3,--1,1-2]" },
		{ "[+1,.5]", "[+\"\\u00011\",.\"\\u00015\"]" },
		/* Digits inside words are not numbers. */
		{ "[tru1e,null2,e5]", "[tru1e,null2,e5]" },
		/* Unterminated text is copied as far as it goes. */
		{ "[\"abc", "[\"abc" },
		{ "[\"abc\\", "[\"abc\\" },
		{ "[1", "[\"\\u00011\"" },
		{ "", "" },
		/* Only a leading U+0001 escape is reserved. */
		{ "[\"a\\u0001\",\"\\\\u0001\"]",
			"[\"a\\u0001\",\"\\\\u0001\"]" },
		/* A byte order mark is dropped. */
		{ "\xEF\xBB\xBF[1]", "[\"\\u00011\"]" },
		{ "\xEF\xBB", "\xEF\xBB" },
		/* Stray closers do not underflow the depth. */
		{ "]]}[1]", "]]}[\"\\u00011\"]" },
	};

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		const char *got = quote(cases[i].in);

		if (strcmp(got, cases[i].out) != 0)
			fail_msg("case %zu: '%s' gave '%s', expected '%s'", i,
				cases[i].in, got, cases[i].out);
	}
}

static void
test_json_numbers_quote_appends_and_sizes_exactly(void **state)
{
	cb_buf out = CB_BUF_INIT;
	const char *in = "[1,22,333]";

	(void)state;
	assert_int_equal(0, cb__buf_puts(&out, "head:"));
	assert_int_equal(0, cb__json_quote_numbers(&out, in, strlen(in), "t"));
	assert_string_equal(
		"head:[\"\\u00011\",\"\\u000122\",\"\\u0001333\"]", out.ptr);
	assert_int_equal(5 + strlen(in) + 3 * CB__JSON_MARK_OVERHEAD, out.size);
	cb_buf_dispose(&out);
}

static void
test_json_numbers_refuses_deep_nesting_and_marker(void **state)
{
	char deep[2 * CB_JSON_MAX_DEPTH + 8];
	cb_buf out = CB_BUF_INIT;
	size_t n = 0;

	(void)state;
	/* 64 levels, mixed, are fine. */
	for (int i = 0; i < CB_JSON_MAX_DEPTH; i++)
		deep[n++] = i % 2 ? '[' : '{';
	deep[n] = '\0';
	assert_int_equal(0, cb__json_quote_numbers(&out, deep, n, "deep.json"));
	cb_buf_dispose(&out);

	/* The 65th opening bracket is refused where it stands. */
	deep[n++] = '[';
	deep[n] = '\0';
	assert_int_equal(
		CB_EPARSE, cb__json_quote_numbers(&out, deep, n, "deep.json"));
	assert_int_equal(CB_ERRCLASS_JSON, cb_error_last()->klass);
	assert_string_equal("deep.json:1:65: nesting deeper than 64 levels",
		cb_error_last()->message);
	assert_int_equal(0, out.size);

	/* Depth goes down again: many shallow siblings are fine. */
	assert_string_equal("[[],[],[[]]]", quote("[[],[],[[]]]"));

	assert_string_equal("ERR EPARSE: t:2:3: a string starting with "
			    "\\u0001 is not accepted (reserved to mark "
			    "numbers)",
		quote("[1,\n  \"\\u0001x\"]"));
	assert_string_equal("ERR EPARSE: t:1:2: a string starting with "
			    "\\u0001 is not accepted (reserved to mark "
			    "numbers)",
		quote("{\"\\u0001\":1}"));
	cb_buf_dispose(&out);
}

static void
test_json_numbers_maps_offsets_back(void **state)
{
	/* in:  [1, 22,"x"]
	 * out: ["\u00011", "\u000122","x"] */
	const char *in = "[1, 22,\"x\"]";
	static const size_t map[][2] = { { 0, 0 }, { 1, 1 }, { 5, 1 }, { 7, 1 },
		{ 8, 1 }, { 9, 2 }, { 10, 2 }, { 11, 3 }, { 12, 4 }, { 18, 4 },
		{ 19, 4 }, { 20, 5 }, { 21, 6 }, { 22, 6 }, { 23, 7 },
		{ 26, 10 }, { 27, 11 }, { 99, 11 } };
	const char *bom = "\xEF\xBB\xBF[1]";

	(void)state;
	assert_string_equal("[\"\\u00011\", \"\\u000122\",\"x\"]", quote(in));
	for (size_t i = 0; i < CB_ARRAY_SIZE(map); i++) {
		size_t got = cb__json_input_offset(in, strlen(in), map[i][0]);

		if (got != map[i][1])
			fail_msg("quoted offset %zu mapped to %zu, not %zu",
				map[i][0], got, map[i][1]);
	}
	/* With a BOM the input is 3 bytes ahead of the output. */
	assert_int_equal(3, cb__json_input_offset(bom, 6, 0));
	assert_int_equal(4, cb__json_input_offset(bom, 6, 1));
	assert_int_equal(5, cb__json_input_offset(bom, 6, 9));
	assert_int_equal(6, cb__json_input_offset(bom, 6, 11));
}

static void
test_json_numbers_finds_the_number_before_an_offset(void **state)
{
	/* out: ["\u00011", "\u000122","x"]: numbers end at 10 and 22. */
	const char *in = "[1, 22,\"x\"]";
	size_t start = 99, end = 99;

	(void)state;
	assert_true(cb__json_number_before(in, strlen(in), 10, &start, &end));
	assert_int_equal(1, start);
	assert_int_equal(2, end);
	assert_true(cb__json_number_before(in, strlen(in), 22, &start, &end));
	assert_int_equal(4, start);
	assert_int_equal(6, end);
	start = end = 99;
	assert_false(cb__json_number_before(in, strlen(in), 9, &start, &end));
	assert_false(cb__json_number_before(in, strlen(in), 11, &start, &end));
	assert_false(cb__json_number_before(in, strlen(in), 21, &start, &end));
	assert_false(cb__json_number_before(in, strlen(in), 27, &start, &end));
	assert_false(cb__json_number_before(in, strlen(in), 0, &start, &end));
	assert_int_equal(99, start);
	assert_int_equal(99, end);
}

static void
test_json_numbers_offset_map_is_monotonic(void **state)
{
	const char *in = "{\"a\": [1, -2.5e3, \"7\", {\"b\": 0}], \"c\": 44}";
	cb_buf out = CB_BUF_INIT;
	size_t prev = 0;

	(void)state;
	assert_int_equal(0, cb__json_quote_numbers(&out, in, strlen(in), "t"));
	for (size_t q = 0; q <= out.size; q++) {
		size_t o = cb__json_input_offset(in, strlen(in), q);

		assert_true(o >= prev);
		assert_true(o <= strlen(in));
		prev = o;
	}
	assert_int_equal(
		strlen(in), cb__json_input_offset(in, strlen(in), out.size));
	cb_buf_dispose(&out);
}

static void
test_json_numbers_line_col_like_jansson(void **state)
{
	const char *s = "ab\ncd\n\xC3\xA9x";
	size_t line, col;

	(void)state;
	cb__json_line_col(&line, &col, s, strlen(s), 0);
	assert_int_equal(1, line);
	assert_int_equal(0, col);
	cb__json_line_col(&line, &col, s, strlen(s), 2);
	assert_int_equal(1, line);
	assert_int_equal(2, col);
	cb__json_line_col(&line, &col, s, strlen(s), 3);
	assert_int_equal(2, line);
	assert_int_equal(0, col);
	cb__json_line_col(&line, &col, s, strlen(s), 5);
	assert_int_equal(2, line);
	assert_int_equal(2, col);
	/* é is two bytes, one column. */
	cb__json_line_col(&line, &col, s, strlen(s), 8);
	assert_int_equal(3, line);
	assert_int_equal(1, col);
	cb__json_line_col(&line, &col, s, strlen(s), 9);
	assert_int_equal(3, line);
	assert_int_equal(2, col);
	/* Past the end is the end. */
	cb__json_line_col(&line, &col, s, strlen(s), 1000);
	assert_int_equal(3, line);
	assert_int_equal(2, col);
}

static void
test_json_numbers_unquotes_dumped_text(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "\"\\u00011\"", "1" },
		{ "[\"\\u00011\",{\"k\":\"\\u0001-2.5e3\"}]",
			"[1,{\"k\":-2.5e3}]" },
		/* The marker counts only at the start of a string. */
		{ "[\"a\\\"\\u0001x\",\"\\u0001x\"]", "[\"a\\\"\\u0001x\",x]" },
		{ "[\"\\\\\",\"\\u00017\"]", "[\"\\\\\",7]" },
		{ "{\"\\u00019\":\"\\u00019\"}", "{9:9}" },
		{ "\"plain\"", "\"plain\"" },
		{ "", "" },
		/* Truncated text does not read past the end. */
		{ "[\"\\u00011", "[1" },
		{ "[\"ab\\", "[\"ab\\" },
	};

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		cb_buf out = CB_BUF_INIT;

		assert_int_equal(0, cb__json_unquote_numbers(&out, cases[i].in,
					    strlen(cases[i].in)));
		if (strcmp(out.ptr ? out.ptr : "", cases[i].out) != 0)
			fail_msg("case %zu: '%s' gave '%s'", i, cases[i].in,
				out.ptr ? out.ptr : "");
		cb_buf_dispose(&out);
	}
}

static void
test_json_numbers_cleans_messages(void **state)
{
	char out[64];

	(void)state;
	cb__json_clean_message(
		out, sizeof(out), "']' expected near '\"\\u00013\"'");
	assert_string_equal("']' expected near '3'", out);
	cb__json_clean_message(out, sizeof(out), "x \"\\u0001-1.5e3\" y");
	assert_string_equal("x -1.5e3 y", out);
	cb__json_clean_message(out, sizeof(out), "no marker \"here\"");
	assert_string_equal("no marker \"here\"", out);
	cb__json_clean_message(out, 6, "abcdefgh");
	assert_string_equal("abcde", out);
	cb__json_clean_message(out, 4, "\"\\u0001123456\"");
	assert_string_equal("123", out);
	out[0] = 'z';
	cb__json_clean_message(out, 0, "abc");
	assert_int_equal('z', out[0]);
}

static void
test_json_numbers_utf8(void **state)
{
	static const char *good[] = { "", "abc", "\xC3\xA9", "\xE2\x82\xAC",
		"\xF0\x9F\x98\x80", "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF",
		"\x7F" };
	static const char *bad[] = { "\x80", "\xC0\x80", "\xC1\xBF", "\xC3",
		"\xE2\x82", "\xE0\x80\x80", "\xED\xA0\x80", "\xF0\x80\x80\x80",
		"\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "a\xC3(",
		"\xE2(\xAC" };

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(good); i++)
		assert_true(cb__json_utf8_is_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < CB_ARRAY_SIZE(bad); i++) {
		if (cb__json_utf8_is_valid(bad[i], strlen(bad[i])))
			fail_msg("bad case %zu accepted", i);
	}
}

static void
test_json_numbers_quote_survives_oom(void **state)
{
	const char *in = "{\"rows\":[[2.10333307059661,\"x\",20180331]]}";
	cb_buf out = CB_BUF_INIT;
	unsigned long n;
	int error;

	(void)state;
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__json_quote_numbers(&out, in, strlen(in), "t");
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_int_equal(CB_ENOMEM, cb_error_last()->code);
		assert_int_equal(0, out.size);
	}
	cb__alloc_fail_after(0);
	assert_true(n > 1);
	assert_string_equal("{\"rows\":[[\"\\u00012.10333307059661\",\"x\","
			    "\"\\u000120180331\"]]}",
		out.ptr);
	cb_buf_dispose(&out);

	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__json_unquote_numbers(&out, "[\"\\u00011\"]", 11);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_int_equal(0, out.size);
	}
	cb__alloc_fail_after(0);
	assert_string_equal("[1]", out.ptr);
	cb_buf_dispose(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_numbers_grammar),
		cmocka_unit_test(test_json_numbers_quotes_exactly),
		cmocka_unit_test(
			test_json_numbers_quote_appends_and_sizes_exactly),
		cmocka_unit_test(
			test_json_numbers_refuses_deep_nesting_and_marker),
		cmocka_unit_test(test_json_numbers_maps_offsets_back),
		cmocka_unit_test(
			test_json_numbers_finds_the_number_before_an_offset),
		cmocka_unit_test(test_json_numbers_offset_map_is_monotonic),
		cmocka_unit_test(test_json_numbers_line_col_like_jansson),
		cmocka_unit_test(test_json_numbers_unquotes_dumped_text),
		cmocka_unit_test(test_json_numbers_cleans_messages),
		cmocka_unit_test(test_json_numbers_utf8),
		cmocka_unit_test(test_json_numbers_quote_survives_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
