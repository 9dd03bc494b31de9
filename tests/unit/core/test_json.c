/*
 * tests/unit/core/test_json.c - typed access, errors, building, dumping.
 *
 * Messages are asserted whole: the path in them is what a user reads when
 * Azure sends something unexpected.  The data-driven cases in
 * tests/data/json/<case>/ (input.json, expected) run through
 * cb__json_parse() and cb__json_dump(): expected is the compact dump, or
 * "error: " and the exact message.
 */
#include "core/common.h"
#include "core/json.h"
#include "core/buf.h"
#include "tests/support/testsupport.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static const char body[] =
	"{\n"
	"  \"id\": \"/providers/Microsoft.Billing/billingAccounts/1234\",\n"
	"  \"properties\": {\n"
	"    \"displayName\": \"Contoso\",\n"
	"    \"amountDue\": {\"currency\": \"USD\", \"value\": 16.53},\n"
	"    \"count\": 3,\n"
	"    \"big\": 9223372036854775807,\n"
	"    \"small\": -9223372036854775808,\n"
	"    \"over\": 9223372036854775808,\n"
	"    \"frac\": 1.5,\n"
	"    \"exp\": 1e3,\n"
	"    \"enabled\": true,\n"
	"    \"disabled\": false,\n"
	"    \"nothing\": null,\n"
	"    \"expiresIn\": \"3599\",\n"
	"    \"notNumber\": \"35x\",\n"
	"    \"tags\": {\"cost.center\": \"cc-1\", \"a\\\"b\": \"q\", "
	"\"\": \"empty\"}\n"
	"  },\n"
	"  \"value\": [\n"
	"    {\"name\": \"first\", \"n\": 1},\n"
	"    {\"name\": \"second\", \"n\": \"two\"},\n"
	"    {\"name\": 3}\n"
	"  ],\n"
	"  \"nextLink\": null\n"
	"}\n";

static cb_json *
parse_body(void)
{
	cb_json *doc = NULL;

	if (cb__json_parse(&doc, body, strlen(body), "t.json") != 0)
		fail_msg("parse: %s", cb_error_last()->message);
	return doc;
}

static void
assert_error(int expected_code, const char *expected_message, int rc)
{
	if (rc != expected_code ||
		strcmp(cb_error_last()->message, expected_message) != 0)
		fail_msg("got %s '%s', expected %s '%s'", cb_error_name(rc),
			cb_error_last()->message, cb_error_name(expected_code),
			expected_message);
}

/* assert_error for CB_EPARSE, also checking the class. */
static void
assert_parse_error(const char *expected_message, int rc)
{
	assert_error(CB_EPARSE, expected_message, rc);
	assert_int_equal(CB_ERRCLASS_JSON, cb_error_last()->klass);
}

static void
test_json_gets_typed_values(void **state)
{
	cb_json *doc = parse_body();
	const cb_json_node *root = cb__json_root(doc), *node = NULL;
	const char *s = NULL;
	int64_t n = 0;
	bool b = false;

	(void)state;
	assert_int_equal(0, cb__json_get_string(&s, doc, root, "id", 0));
	assert_string_equal(
		"/providers/Microsoft.Billing/billingAccounts/1234", s);
	assert_int_equal(0, cb__json_get_string(&s, doc, root,
				    "properties.amountDue.currency", 0));
	assert_string_equal("USD", s);
	assert_int_equal(
		0, cb__json_get_int64(&n, doc, root, "properties.count", 0));
	assert_int_equal(3, n);
	assert_int_equal(
		0, cb__json_get_bool(&b, doc, root, "properties.enabled", 0));
	assert_true(b);
	assert_int_equal(
		0, cb__json_get_bool(&b, doc, root, "properties.disabled", 0));
	assert_false(b);
	assert_int_equal(0, cb__json_get_string(&s, doc, root,
				    "properties.tags[\"cost.center\"]", 0));
	assert_string_equal("cc-1", s);
	assert_int_equal(0, cb__json_get_string(&s, doc, root,
				    "properties.tags[\"a\\\"b\"]", 0));
	assert_string_equal("q", s);
	assert_int_equal(0,
		cb__json_get_string(&s, doc, root, "properties.tags[\"\"]", 0));
	assert_string_equal("empty", s);
	assert_int_equal(
		0, cb__json_get_string(&s, doc, root, "value[1].name", 0));
	assert_string_equal("second", s);

	/* Objects, arrays and any node; "" is the node itself; paths
	 * continue from a node found earlier. */
	assert_int_equal(0, cb__json_get_array(&node, doc, root, "value", 0));
	assert_int_equal(CB_JSON_ARRAY, cb__json_type(node));
	assert_parse_error("t.json: value[2]: expected a string, found an "
			   "object",
		cb__json_get_string(&s, doc, node, "[2]", 0));
	assert_int_equal(0, cb__json_get_string(&s, doc, node, "[0].name", 0));
	assert_string_equal("first", s);
	assert_int_equal(0, cb__json_get_object(&node, doc, node, "[0]", 0));
	assert_int_equal(0, cb__json_get_int64(&n, doc, node, "n", 0));
	assert_int_equal(1, n);
	assert_int_equal(0, cb__json_get_object(&node, doc, root, "", 0));
	assert_ptr_equal(root, node);
	assert_int_equal(0, cb__json_get_node(&node, doc, root,
				    "properties.amountDue.value", 0));
	assert_int_equal(CB_JSON_NUMBER, cb__json_type(node));
	assert_string_equal("16.53", cb__json_number_text(node));
	assert_int_equal(
		0, cb__json_get_node(&node, doc, root, "properties.tags", 0));
	assert_int_equal(CB_JSON_OBJECT, cb__json_type(node));
	cb__json_free(doc);
}

static void
test_json_errors_name_the_absolute_path(void **state)
{
	cb_json *doc = parse_body();
	const cb_json_node *root = cb__json_root(doc), *node = NULL;
	const char *s = NULL;
	int64_t n = 0;
	bool b = false;

	(void)state;
	assert_parse_error("t.json: properties.amountDue.currency: expected "
			   "an integer, found a string",
		cb__json_get_int64(
			&n, doc, root, "properties.amountDue.currency", 0));
	assert_parse_error("t.json: properties.amountDue.value: expected a "
			   "string, found a number",
		cb__json_get_string(
			&s, doc, root, "properties.amountDue.value", 0));
	assert_parse_error("t.json: properties.missing: missing",
		cb__json_get_string(&s, doc, root, "properties.missing.x", 0));
	assert_parse_error("t.json: id: expected an object, found a string",
		cb__json_get_string(&s, doc, root, "id.x", 0));
	assert_parse_error("t.json: value[3]: missing",
		cb__json_get_string(&s, doc, root, "value[3].name", 0));
	assert_parse_error(
		"t.json: properties: expected an array, found an object",
		cb__json_get_string(&s, doc, root, "properties[0]", 0));
	assert_parse_error("t.json: nextLink: expected a string, found null",
		cb__json_get_string(&s, doc, root, "nextLink", 0));
	assert_parse_error("t.json: nextLink: expected an object, found null",
		cb__json_get_string(&s, doc, root, "nextLink.href", 0));
	assert_parse_error("t.json: expected an array, found an object",
		cb__json_get_array(&node, doc, root, "", 0));
	assert_parse_error("t.json: properties.enabled: expected an object, "
			   "found a boolean",
		cb__json_get_object(&node, doc, root, "properties.enabled", 0));
	assert_parse_error("t.json: properties.displayName: expected a "
			   "boolean, found a string",
		cb__json_get_bool(&b, doc, root, "properties.displayName", 0));
	assert_parse_error("t.json: properties.nothing: expected a value, "
			   "found null",
		cb__json_get_node(&node, doc, root, "properties.nothing", 0));
	assert_parse_error("t.json: properties.tags[\"cost.center\"]: "
			   "expected an integer, found a string",
		cb__json_get_int64(
			&n, doc, root, "properties.tags[\"cost.center\"]", 0));
	assert_parse_error("t.json: properties.tags[\"a\\\"b\"]: expected an "
			   "integer, found a string",
		cb__json_get_int64(
			&n, doc, root, "properties.tags[\"a\\\"b\"]", 0));

	/* Starting from a node deep inside, the path is still absolute. */
	node = cb__json_array_get(cb__json_object_get(root, "value"), 1);
	assert_parse_error("t.json: value[1].n: expected an integer, found a "
			   "string",
		cb__json_get_int64(&n, doc, node, "n", 0));
	assert_int_equal(0, cb__json_get_object(&node, doc, root,
				    "properties.amountDue", 0));
	assert_parse_error("t.json: properties.amountDue.value: expected a "
			   "string, found a number",
		cb__json_get_string(&s, doc, node, "value", 0));
	assert_parse_error("t.json: properties.amountDue.currency: expected "
			   "an object, found a string",
		cb__json_get_string(&s, doc, node, "currency.x", 0));
	cb__json_free(doc);
}

static void
test_json_optional_values(void **state)
{
	cb_json *doc = parse_body();
	const cb_json_node *root = cb__json_root(doc), *node = NULL;
	const char *s = "untouched";
	int64_t n = 77;

	(void)state;
	/* Absent or null: CB_ENOTFOUND, out untouched, last error kept. */
	cb__error_set(CB_EIO, CB_ERRCLASS_OS, "sentinel");
	assert_int_equal(CB_ENOTFOUND, cb__json_get_string(&s, doc, root,
					       "nextLink", CB_JSON_OPTIONAL));
	assert_int_equal(
		CB_ENOTFOUND, cb__json_get_string(&s, doc, root,
				      "nextLink.href", CB_JSON_OPTIONAL));
	assert_int_equal(
		CB_ENOTFOUND, cb__json_get_string(&s, doc, root,
				      "properties.nope", CB_JSON_OPTIONAL));
	assert_int_equal(
		CB_ENOTFOUND, cb__json_get_string(&s, doc, root,
				      "nope.deeper.still", CB_JSON_OPTIONAL));
	assert_int_equal(CB_ENOTFOUND, cb__json_get_int64(&n, doc, root,
					       "value[9].n", CB_JSON_OPTIONAL));
	assert_int_equal(
		CB_ENOTFOUND, cb__json_get_node(&node, doc, root,
				      "properties.nothing", CB_JSON_OPTIONAL));
	assert_string_equal("untouched", s);
	assert_int_equal(77, n);
	assert_null(node);
	assert_string_equal("sentinel", cb_error_last()->message);

	/* Present but of the wrong type is still an error. */
	assert_parse_error(
		"t.json: properties.count: expected a string, found a number",
		cb__json_get_string(
			&s, doc, root, "properties.count", CB_JSON_OPTIONAL));
	assert_parse_error("t.json: id: expected an object, found a string",
		cb__json_get_string(&s, doc, root, "id.x", CB_JSON_OPTIONAL));
	assert_int_equal(
		0, cb__json_get_string(&s, doc, root, "properties.displayName",
			   CB_JSON_OPTIONAL));
	assert_string_equal("Contoso", s);
	cb__json_free(doc);
}

static void
test_json_int64_is_checked(void **state)
{
	cb_json *doc = parse_body();
	const cb_json_node *root = cb__json_root(doc);
	int64_t n = 0;

	(void)state;
	assert_int_equal(
		0, cb__json_get_int64(&n, doc, root, "properties.big", 0));
	assert_true(n == INT64_MAX);
	assert_int_equal(
		0, cb__json_get_int64(&n, doc, root, "properties.small", 0));
	assert_true(n == INT64_MIN);
	n = 5;
	assert_parse_error("t.json: properties.over: '9223372036854775808' is "
			   "out of range for a 64-bit integer",
		cb__json_get_int64(&n, doc, root, "properties.over", 0));
	assert_parse_error("t.json: properties.frac: expected an integer, "
			   "found '1.5'",
		cb__json_get_int64(&n, doc, root, "properties.frac", 0));
	assert_parse_error("t.json: properties.exp: expected an integer, "
			   "found '1e3'",
		cb__json_get_int64(&n, doc, root, "properties.exp", 0));
	assert_int_equal(5, n);

	/* IMDS sends "expires_in": "3599": accepted only when asked. */
	assert_parse_error("t.json: properties.expiresIn: expected an "
			   "integer, found a string",
		cb__json_get_int64(&n, doc, root, "properties.expiresIn", 0));
	assert_int_equal(
		0, cb__json_get_int64(&n, doc, root, "properties.expiresIn",
			   CB_JSON_NUMERIC_STRING));
	assert_int_equal(3599, n);
	assert_parse_error("t.json: properties.notNumber: expected an "
			   "integer, found a string",
		cb__json_get_int64(&n, doc, root, "properties.notNumber",
			CB_JSON_NUMERIC_STRING));
	/* The flag does not turn other types into numbers. */
	assert_parse_error("t.json: properties.enabled: expected an integer, "
			   "found a boolean",
		cb__json_get_int64(&n, doc, root, "properties.enabled",
			CB_JSON_NUMERIC_STRING));
	assert_int_equal(3599, n);
	cb__json_free(doc);
}

static void
test_json_malformed_paths_are_caller_errors(void **state)
{
	static const char *bad[] = { "a..b", ".a", "a.", "a[", "a[x]", "a[]",
		"a[\"x]", "a[1", "a]", "[-1]", "[\"a\\q\"]", "a.[0]", "a\"b",
		"[99999999999999999999999]", "a\\b" };
	cb_json *doc = parse_body();
	const cb_json_node *root = cb__json_root(doc);
	const char *s = NULL;
	int64_t n = 0;
	char deep[4 * (CB_JSON_MAX_DEPTH + 1) + 1];
	char msg[300];

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(bad); i++) {
		snprintf(msg, sizeof(msg), "json path '%s' is malformed",
			bad[i]);
		assert_error(CB_EINVAL, msg,
			cb__json_get_string(&s, doc, root, bad[i], 0));
	}
	/* At most CB_JSON_MAX_DEPTH segments. */
	deep[0] = '\0';
	for (int i = 0; i < CB_JSON_MAX_DEPTH; i++)
		strcat(deep, "[0]");
	assert_int_equal(
		CB_EPARSE, cb__json_get_string(&s, doc, root, deep, 0));
	strcat(deep, "[0]");
	assert_int_equal(
		CB_EINVAL, cb__json_get_string(&s, doc, root, deep, 0));

	assert_error(CB_EINVAL, "cb__json_get_string: invalid argument: path",
		cb__json_get_string(&s, doc, root, NULL, 0));
	assert_error(CB_EINVAL, "cb__json_get_int64: invalid argument: at",
		cb__json_get_int64(&n, doc, NULL, "a", 0));
	assert_error(CB_EINVAL, "cb__json_get_bool: invalid argument: out",
		cb__json_get_bool(NULL, doc, root, "a", 0));
	assert_error(CB_EINVAL, "cb__json_get_object: invalid argument: doc",
		cb__json_get_object(
			(const cb_json_node *[1]){ NULL }, NULL, root, "a", 0));
	cb__json_free(doc);
}

static void
test_json_field_tables(void **state)
{
	cb_json *doc = parse_body();
	const cb_json_node *root = cb__json_root(doc);
	const char *name = NULL, *next = "none", *currency = NULL;
	const cb_json_node *tags = NULL, *value = NULL, *amount = NULL;
	int64_t count = 0, missing = -1;
	bool enabled = false;
	const struct cb_json_field fields[] = {
		{ "properties.displayName", CB_JSON_FIELD_STRING, 0, &name },
		{ "properties.count", CB_JSON_FIELD_INT64, 0, &count },
		{ "properties.enabled", CB_JSON_FIELD_BOOL, 0, &enabled },
		{ "properties.tags", CB_JSON_FIELD_OBJECT, 0, &tags },
		{ "value", CB_JSON_FIELD_ARRAY, 0, &value },
		{ "properties.amountDue", CB_JSON_FIELD_NODE, 0, &amount },
		{ "properties.amountDue.currency", CB_JSON_FIELD_STRING, 0,
			&currency },
		{ "nextLink", CB_JSON_FIELD_STRING, CB_JSON_OPTIONAL, &next },
		{ "properties.absent", CB_JSON_FIELD_INT64, CB_JSON_OPTIONAL,
			&missing },
		{ NULL, 0, 0, NULL },
	};
	const struct cb_json_field failing[] = {
		{ "properties.displayName", CB_JSON_FIELD_STRING, 0, &name },
		{ "properties.absent", CB_JSON_FIELD_INT64, 0, &missing },
		{ "properties.count", CB_JSON_FIELD_INT64, 0, &count },
		{ NULL, 0, 0, NULL },
	};
	const struct cb_json_field bad_type[] = {
		{ "id", (cb_json_field_type)99, 0, &name },
		{ NULL, 0, 0, NULL },
	};

	(void)state;
	assert_int_equal(0, cb__json_get_fields(doc, root, fields));
	assert_string_equal("Contoso", name);
	assert_int_equal(3, count);
	assert_true(enabled);
	assert_int_equal(3, cb__json_object_size(tags));
	assert_int_equal(3, cb__json_array_size(value));
	assert_int_equal(CB_JSON_OBJECT, cb__json_type(amount));
	assert_string_equal("USD", currency);
	assert_string_equal("none", next);
	assert_int_equal(-1, missing);

	count = 0;
	assert_parse_error("t.json: properties.absent: missing",
		cb__json_get_fields(doc, root, failing));
	assert_int_equal(0, count);
	assert_error(CB_EINVAL, "json field 'id': unknown type 99",
		cb__json_get_fields(doc, root, bad_type));
	cb__json_free(doc);
}

static void
test_json_error_helper_uses_the_same_shape(void **state)
{
	cb_json *doc = parse_body();
	const cb_json_node *root = cb__json_root(doc);
	const cb_json_node *first =
		cb__json_array_get(cb__json_object_get(root, "value"), 0);

	(void)state;
	assert_parse_error("t.json: value[0].name: unknown state 'X'",
		cb__json_error(doc, first, "name", "unknown state '%s'", "X"));
	assert_parse_error("t.json: value[0]: no good",
		cb__json_error(doc, first, "", "no good"));
	assert_parse_error("t.json: whole thing",
		cb__json_error(doc, NULL, NULL, "whole thing"));
	cb__json_free(doc);
}

static void
test_json_walks_nodes(void **state)
{
	cb_json *doc = parse_body();
	const cb_json_node *root = cb__json_root(doc);
	const cb_json_node *props = cb__json_object_get(root, "properties");
	const cb_json_node *value = cb__json_object_get(root, "value");
	cb_json_member m = CB_JSON_MEMBER_INIT;
	char keys[512] = "";

	(void)state;
	assert_string_equal("t.json", cb__json_source(doc));
	assert_int_equal(CB_JSON_OBJECT, cb__json_type(root));
	assert_int_equal(CB_JSON_ARRAY, cb__json_type(value));
	assert_int_equal(CB_JSON_NULL,
		cb__json_type(cb__json_object_get(root, "nextLink")));
	assert_int_equal(CB_JSON_BOOL,
		cb__json_type(cb__json_object_get(props, "enabled")));
	assert_int_equal(CB_JSON_NUMBER,
		cb__json_type(cb__json_object_get(props, "count")));
	assert_int_equal(CB_JSON_STRING,
		cb__json_type(cb__json_object_get(props, "expiresIn")));
	assert_int_equal(CB_JSON_NONE, cb__json_type(NULL));

	assert_string_equal(
		"3", cb__json_number_text(cb__json_object_get(props, "count")));
	assert_null(
		cb__json_number_text(cb__json_object_get(props, "expiresIn")));
	assert_string_equal("3599",
		cb__json_string_value(cb__json_object_get(props, "expiresIn")));
	assert_null(cb__json_string_value(cb__json_object_get(props, "count")));
	assert_null(cb__json_string_value(NULL));
	assert_null(cb__json_number_text(NULL));

	assert_int_equal(3, cb__json_array_size(value));
	assert_int_equal(0, cb__json_array_size(props));
	assert_null(cb__json_array_get(value, 3));
	assert_null(cb__json_array_get(props, 0));
	assert_int_equal(14, cb__json_object_size(props));
	assert_int_equal(0, cb__json_object_size(value));
	assert_null(cb__json_object_get(props, "absent"));
	assert_null(cb__json_object_get(props, NULL));
	assert_null(cb__json_object_get(value, "x"));

	/* Members come in document order. */
	while (cb__json_object_next(root, &m)) {
		strcat(keys, m.key);
		strcat(keys, cb__json_type(m.value) == CB_JSON_NULL ? "=null,"
								    : ",");
	}
	assert_string_equal("id,properties,value,nextLink=null,", keys);
	assert_false(cb__json_object_next(root, &m));
	assert_null(m.key);

	m = (cb_json_member)CB_JSON_MEMBER_INIT;
	assert_false(cb__json_object_next(value, &m));
	m = (cb_json_member)CB_JSON_MEMBER_INIT;
	assert_false(cb__json_object_next(NULL, &m));
	assert_false(cb__json_object_next(root, NULL));
	cb__json_free(doc);
}

static void
test_json_reads_an_arm_error_body(void **state)
{
	/* What core/arm will do with a 4xx body: code and message required,
	 * target optional, details walked. */
	const char *text =
		"{\"error\":{\"code\":\"BadRequest\",\"message\":\"Invalid "
		"budget\",\"details\":[{\"code\":\"AmountTooLow\",\"message\":"
		"\"amount must be positive\",\"target\":\"properties.amount\"},"
		"{\"code\":\"Other\",\"message\":\"x\"}]}}";
	cb_json *doc = NULL;
	const char *code = NULL, *message = NULL, *target = "(none)";
	const cb_json_node *details = NULL, *err = NULL;
	const struct cb_json_field fields[] = {
		{ "code", CB_JSON_FIELD_STRING, 0, &code },
		{ "message", CB_JSON_FIELD_STRING, 0, &message },
		{ "target", CB_JSON_FIELD_STRING, CB_JSON_OPTIONAL, &target },
		{ "details", CB_JSON_FIELD_ARRAY, CB_JSON_OPTIONAL, &details },
		{ NULL, 0, 0, NULL },
	};

	(void)state;
	assert_int_equal(0, cb__json_parse(&doc, text, strlen(text),
				    "PUT /budgets/b1: http 400"));
	assert_int_equal(0,
		cb__json_get_object(&err, doc, cb__json_root(doc), "error", 0));
	assert_int_equal(0, cb__json_get_fields(doc, err, fields));
	assert_string_equal("BadRequest", code);
	assert_string_equal("Invalid budget", message);
	assert_string_equal("(none)", target);
	assert_int_equal(2, cb__json_array_size(details));
	assert_int_equal(0, cb__json_get_string(&target, doc, details,
				    "[0].target", CB_JSON_OPTIONAL));
	assert_string_equal("properties.amount", target);
	assert_int_equal(
		CB_ENOTFOUND, cb__json_get_string(&target, doc, details,
				      "[1].target", CB_JSON_OPTIONAL));
	assert_parse_error("PUT /budgets/b1: http 400: error.details[1].code: "
			   "expected an integer, found a string",
		cb__json_get_int64((int64_t[1]){ 0 }, doc,
			cb__json_array_get(details, 1), "code", 0));
	cb__json_free(doc);
}

static void
test_json_parse_reports_original_positions(void **state)
{
	/* The scanner adds 8 bytes per number; the position must still be
	 * the one in the text as sent: line 2, column 13 is the '3'. */
	const char *text = "{\"a\": 1.5,\n \"b\": [1, 2 3]}";
	cb_json *doc = (cb_json *)&doc;

	(void)state;
	assert_parse_error("GET /x:2:13: ']' expected near '3'",
		cb__json_parse(&doc, text, strlen(text), "GET /x"));
	assert_ptr_equal((cb_json *)&doc, doc);

	assert_parse_error("json:1:12: duplicate object key near '\"a\"'",
		cb__json_parse(&doc, "{\"a\": 1, \"a\": 2}", 16, NULL));
	assert_parse_error("t:1:0: unexpected token near end of file",
		cb__json_parse(&doc, "", 0, "t"));

	/* The size cap is checked before the text is read. */
	assert_error(CB_ETOOBIG,
		"big.json: body of 67108865 bytes exceeds the 67108864-byte "
		"limit",
		cb__json_parse(&doc, "{}", CB_JSON_MAX_SIZE + 1, "big.json"));
	assert_error(CB_EINVAL, "cb__json_parse: invalid argument: data",
		cb__json_parse(&doc, NULL, 0, "t"));
	assert_error(CB_EINVAL, "cb__json_parse: invalid argument: out",
		cb__json_parse(NULL, "{}", 2, "t"));
	assert_ptr_equal((cb_json *)&doc, doc);

	/* The text need not be terminated. */
	doc = NULL;
	assert_int_equal(0, cb__json_parse(&doc, "[12]34", 4, NULL));
	assert_string_equal("json", cb__json_source(doc));
	assert_string_equal("12", cb__json_number_text(cb__json_array_get(
					  cb__json_root(doc), 0)));
	cb__json_free(doc);
	cb__json_free(NULL);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal((size_t)n, fread(data, 1, (size_t)n, f));
	data[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return data;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_json_data_cases(void **state)
{
	char dir[1024], path[1200];
	char *names[256];
	size_t count = 0, errors = 0;
	struct dirent *e;
	DIR *d;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/data/json", cb_test_source_dir());
	d = opendir(dir);
	if (d == NULL)
		fail_msg("cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		assert_true(count < CB_ARRAY_SIZE(names));
		names[count++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof(names[0]), compare_names);

	for (size_t i = 0; i < count; i++) {
		char *input, *expected;
		size_t in_len, exp_len;
		cb_buf out = CB_BUF_INIT;
		cb_json *doc = NULL;
		int rc;

		snprintf(path, sizeof(path), "%s/%s/input.json", dir, names[i]);
		input = read_file(path, &in_len);
		snprintf(path, sizeof(path), "%s/%s/expected", dir, names[i]);
		expected = read_file(path, &exp_len);
		if (input == NULL || expected == NULL)
			fail_msg("case %s: missing input.json or expected",
				names[i]);
		if (exp_len > 0 && expected[exp_len - 1] == '\n')
			expected[--exp_len] = '\0';

		rc = cb__json_parse(&doc, input, in_len, "input.json");
		if (strncmp(expected, "error: ", 7) == 0) {
			errors++;
			if (rc != CB_EPARSE || strcmp(cb_error_last()->message,
						       expected + 7) != 0)
				fail_msg("case %s: got %s '%s'", names[i],
					cb_error_name(rc),
					cb_error_last()->message);
		} else {
			if (rc != 0)
				fail_msg("case %s: %s", names[i],
					cb_error_last()->message);
			assert_int_equal(
				0, cb__json_dump(&out, cb__json_root(doc)));
			if (strcmp(out.ptr, expected) != 0)
				fail_msg("case %s: dumped\n%s\nexpected\n%s",
					names[i], out.ptr, expected);
		}
		cb_buf_dispose(&out);
		cb__json_free(doc);
		free(input);
		free(expected);
		free(names[i]);
	}
	/* Guard against a suite that silently found nothing. */
	assert_true(count >= 30);
	assert_true(errors >= 20);
}

static void
test_json_dump_keeps_every_digit(void **state)
{
	const char *text = "{\"rows\": [[0.009865586851323632, \"x\"], "
			   "[1234567890.123456789, -1E-7]], \"n\": null, "
			   "\"s\": \"\\u00e9\\n\\\"\", \"b\": [true, false]}";
	cb_json *doc = NULL;
	cb_buf out = CB_BUF_INIT;

	(void)state;
	assert_int_equal(0, cb__json_parse(&doc, text, strlen(text), "t"));
	assert_int_equal(0, cb__buf_puts(&out, ">"));
	assert_int_equal(0, cb__json_dump(&out, cb__json_root(doc)));
	assert_string_equal(">{\"rows\":[[0.009865586851323632,\"x\"],"
			    "[1234567890.123456789,-1E-7]],\"n\":null,"
			    "\"s\":\"\xC3\xA9\\n\\\"\",\"b\":[true,false]}",
		out.ptr);
	cb__buf_clear(&out);
	/* Any node dumps, a lone number too. */
	assert_int_equal(
		0, cb__json_dump(&out,
			   cb__json_array_get(
				   cb__json_array_get(
					   cb__json_object_get(
						   cb__json_root(doc), "rows"),
					   1),
				   0)));
	assert_string_equal("1234567890.123456789", out.ptr);
	assert_error(CB_EINVAL, "cb__json_dump: invalid argument: node",
		cb__json_dump(&out, NULL));
	cb_buf_dispose(&out);
	cb__json_free(doc);
}

static void
test_json_builds_a_budget_body(void **state)
{
	cb_json *doc = NULL;
	cb_json_node *root, *props = NULL, *note = NULL, *cond = NULL;
	cb_buf out = CB_BUF_INIT;

	(void)state;
	assert_int_equal(0, cb__json_new(&doc, "budget body"));
	root = cb__json_root_mut(doc);
	assert_int_equal(0,
		cb__json_set_string(doc, root, "eTag", "\"1d34d012214157f\""));
	assert_int_equal(
		0, cb__json_set_object(&props, doc, root, "properties"));
	assert_int_equal(
		0, cb__json_set_string(doc, props, "category", "Cost"));
	assert_int_equal(
		0, cb__json_set_number_text(doc, props, "amount", "100.65"));
	assert_int_equal(
		0, cb__json_set_string(doc, props, "timeGrain", "Monthly"));
	assert_int_equal(
		0, cb__json_set_string(doc, props, "timePeriod.startDate",
			   "2017-10-01T00:00:00Z"));
	assert_int_equal(
		0, cb__json_set_string(doc, props, "timePeriod.endDate",
			   "2018-10-31T00:00:00Z"));
	assert_int_equal(
		0, cb__json_set_object(&cond, doc, props, "filter.and[]"));
	assert_int_equal(
		0, cb__json_set_string(doc, cond, "tags.name", "category"));
	assert_int_equal(
		0, cb__json_set_string(doc, cond, "tags.values[]", "Dev"));
	assert_int_equal(
		0, cb__json_set_string(doc, cond, "tags.values[]", "Prod"));
	assert_int_equal(0, cb__json_set_object(&note, doc, props,
				    "notifications.Actual_GreaterThan_80_"
				    "Percent"));
	assert_int_equal(0, cb__json_set_bool(doc, note, "enabled", true));
	assert_int_equal(0, cb__json_set_int64(doc, note, "threshold", 80));
	assert_int_equal(0, cb__json_set_string(doc, note, "contactEmails[]",
				    "johndoe@contoso.com"));
	assert_int_equal(
		0, cb__json_set_array(NULL, doc, note, "contactGroups"));
	assert_int_equal(0, cb__json_set_null(doc, note, "locale"));

	assert_int_equal(0, cb__json_dump(&out, cb__json_root(doc)));
	assert_string_equal(
		"{\"eTag\":\"\\\"1d34d012214157f\\\"\",\"properties\":{"
		"\"category\":\"Cost\",\"amount\":100.65,\"timeGrain\":"
		"\"Monthly\",\"timePeriod\":{\"startDate\":"
		"\"2017-10-01T00:00:00Z\",\"endDate\":"
		"\"2018-10-31T00:00:00Z\"},\"filter\":{\"and\":[{\"tags\":{"
		"\"name\":\"category\",\"values\":[\"Dev\",\"Prod\"]}}]},"
		"\"notifications\":{\"Actual_GreaterThan_80_Percent\":{"
		"\"enabled\":true,\"threshold\":80,\"contactEmails\":["
		"\"johndoe@contoso.com\"],\"contactGroups\":[],\"locale\":"
		"null}}}}",
		out.ptr);
	cb_buf_dispose(&out);
	cb__json_free(doc);
}

static void
test_json_setters_replace_append_and_refuse(void **state)
{
	cb_json *doc = NULL;
	cb_json_node *root, *a = NULL, *b = NULL;
	cb_buf out = CB_BUF_INIT;

	(void)state;
	assert_int_equal(0, cb__json_new(&doc, NULL));
	root = cb__json_root_mut(doc);
	assert_int_equal(0, cb__json_set_int64(doc, root, "x", 1));
	assert_int_equal(0, cb__json_set_string(doc, root, "y", "s"));
	assert_int_equal(0, cb__json_set_int64(doc, root, "list[]", 1));
	assert_int_equal(0, cb__json_set_int64(doc, root, "list[]", 2));
	/* Replacing keeps the member's place; [n] replaces an element. */
	assert_int_equal(0, cb__json_set_int64(doc, root, "x", INT64_MIN));
	assert_int_equal(0, cb__json_set_bool(doc, root, "list[0]", false));
	/* set_object hands back the same object the second time. */
	assert_int_equal(0, cb__json_set_object(&a, doc, root, "o"));
	assert_int_equal(0, cb__json_set_object(&b, doc, root, "o"));
	assert_ptr_equal(a, b);
	/* A null is replaced by a container. */
	assert_int_equal(0, cb__json_set_null(doc, root, "n"));
	assert_int_equal(0, cb__json_set_string(doc, root, "n.k", "v"));
	assert_int_equal(0, cb__json_set_null(doc, root, "m"));
	assert_int_equal(0, cb__json_set_array(&a, doc, root, "m"));
	assert_int_equal(CB_JSON_ARRAY, cb__json_type(a));
	assert_int_equal(0, cb__json_set_int64(doc, root, "[\"a.b\"]", 3));
	assert_int_equal(0, cb__json_set_object(&a, doc, root, "list[]"));
	assert_int_equal(0, cb__json_set_int64(doc, a, "deep", 4));
	assert_int_equal(0, cb__json_set_int64(doc, root, "list[2].deep", 5));
	assert_int_equal(0, cb__json_set_int64(doc, root, "grid[][]", 6));

	assert_int_equal(0, cb__json_dump(&out, cb__json_root(doc)));
	assert_string_equal("{\"x\":-9223372036854775808,\"y\":\"s\","
			    "\"list\":[false,2,{\"deep\":5}],\"o\":{},"
			    "\"n\":{\"k\":\"v\"},\"m\":[],\"a.b\":3,"
			    "\"grid\":[[6]]}",
		out.ptr);

	/* What is built reads back through the typed getters. */
	{
		int64_t n = 0;

		assert_int_equal(0, cb__json_get_int64(&n, doc,
					    cb__json_root(doc), "x", 0));
		assert_true(n == INT64_MIN);
		assert_int_equal(
			0, cb__json_get_int64(&n, doc, cb__json_root(doc),
				   "list[2].deep", 0));
		assert_int_equal(5, n);
	}

	/* Refusals. */
	assert_parse_error("json: y: expected an object, found a string",
		cb__json_set_int64(doc, root, "y.z", 1));
	assert_parse_error("json: y: expected an object, found a string",
		cb__json_set_int64(doc, root, "y.z.w", 1));
	assert_parse_error("json: x: expected an array, found a number",
		cb__json_set_int64(doc, root, "x[]", 1));
	assert_parse_error("json: list[7]: missing",
		cb__json_set_int64(doc, root, "list[7]", 1));
	assert_parse_error("json: list[7]: missing",
		cb__json_set_int64(doc, root, "list[7].a", 1));
	assert_parse_error("json: y: expected an object, found a string",
		cb__json_set_object(NULL, doc, root, "y"));
	assert_parse_error("json: x: expected an array, found a number",
		cb__json_set_array(NULL, doc, root, "x"));
	assert_parse_error("json: list[1]: expected an object, found a number",
		cb__json_set_object(NULL, doc, root, "list[1]"));
	assert_parse_error("json: list[9]: missing",
		cb__json_set_array(NULL, doc, root, "list[9]"));
	assert_error(CB_EINVAL,
		"json path 'a..b' is malformed, names no member, or has a key "
		"that is not UTF-8 or starts with U+0001",
		cb__json_set_int64(doc, root, "a..b", 1));
	assert_error(CB_EINVAL,
		"json path '' is malformed, names no member, or has a key "
		"that is not UTF-8 or starts with U+0001",
		cb__json_set_int64(doc, root, "", 1));
	assert_int_equal(
		CB_EINVAL, cb__json_set_int64(doc, root, "bad\xFFkey", 1));
	assert_int_equal(
		CB_EINVAL, cb__json_set_int64(doc, root, "\x01key", 1));
	assert_int_equal(
		CB_EINVAL, cb__json_set_object(NULL, doc, root, "a..b"));
	assert_error(CB_EINVAL,
		"json: s: a string must be UTF-8 and not start with U+0001",
		cb__json_set_string(doc, root, "s", "\xC3("));
	assert_error(CB_EINVAL,
		"json: s: a string must be UTF-8 and not start with U+0001",
		cb__json_set_string(doc, root, "s",
			"\x01"
			"7"));
	assert_error(CB_EINVAL, "json: s: '1.' is not a JSON number",
		cb__json_set_number_text(doc, root, "s", "1."));
	assert_error(CB_EINVAL, "cb__json_set_string: invalid argument: value",
		cb__json_set_string(doc, root, "s", NULL));
	assert_error(CB_EINVAL, "cb__json_set_null: invalid argument: at",
		cb__json_set_null(doc, NULL, "s"));

	/* Nothing above changed the document. */
	cb__buf_clear(&out);
	assert_int_equal(0, cb__json_dump(&out, cb__json_root(doc)));
	assert_string_equal("{\"x\":-9223372036854775808,\"y\":\"s\","
			    "\"list\":[false,2,{\"deep\":5}],\"o\":{},"
			    "\"n\":{\"k\":\"v\"},\"m\":[],\"a.b\":3,"
			    "\"grid\":[[6]]}",
		out.ptr);

	/* Removal. */
	assert_int_equal(0, cb__json_remove(doc, root, "y"));
	assert_int_equal(0, cb__json_remove(doc, root, "list[0]"));
	assert_int_equal(0, cb__json_remove(doc, root, "[\"a.b\"]"));
	assert_int_equal(CB_ENOTFOUND, cb__json_remove(doc, root, "y"));
	assert_int_equal(CB_ENOTFOUND, cb__json_remove(doc, root, "list[5]"));
	assert_int_equal(CB_ENOTFOUND, cb__json_remove(doc, root, "q.r.s"));
	assert_parse_error("json: x: expected an object, found a number",
		cb__json_remove(doc, root, "x.k"));
	assert_parse_error("json: x: expected an array, found a number",
		cb__json_remove(doc, root, "x[0]"));
	assert_int_equal(CB_EINVAL, cb__json_remove(doc, root, ""));
	assert_int_equal(CB_EINVAL, cb__json_remove(doc, root, "list[]"));
	cb__buf_clear(&out);
	assert_int_equal(0, cb__json_dump(&out, cb__json_root(doc)));
	assert_string_equal("{\"x\":-9223372036854775808,"
			    "\"list\":[2,{\"deep\":5}],\"o\":{},"
			    "\"n\":{\"k\":\"v\"},\"m\":[],\"grid\":[[6]]}",
		out.ptr);
	cb_buf_dispose(&out);
	cb__json_free(doc);
}

static void
test_json_read_modify_write(void **state)
{
	/* GET a budget, change it, PUT it back: untouched numbers keep
	 * their digits, copied subtrees are deep copies. */
	const char *got = "{\"eTag\":\"\\\"1\\\"\",\"id\":\"/b/x\","
			  "\"properties\":{\"amount\":100.650,\"currentSpend\":"
			  "{\"amount\":80.89,\"unit\":\"USD\"},"
			  "\"filter\":{\"and\":[{\"n\":1}]}}}";
	cb_json *doc = NULL, *put = NULL;
	cb_json_node *props = NULL;
	const cb_json_node *filter = NULL;
	cb_buf out = CB_BUF_INIT;

	(void)state;
	assert_int_equal(0, cb__json_parse(&doc, got, strlen(got), "GET b"));
	assert_int_equal(0, cb__json_set_object(&props, doc,
				    cb__json_root_mut(doc), "properties"));
	assert_int_equal(0, cb__json_remove(doc, props, "currentSpend"));
	assert_int_equal(0, cb__json_remove(doc, cb__json_root_mut(doc), "id"));
	assert_int_equal(
		0, cb__json_set_number_text(doc, props, "threshold", "80.5"));
	assert_int_equal(0, cb__json_dump(&out, cb__json_root(doc)));
	assert_string_equal("{\"eTag\":\"\\\"1\\\"\",\"properties\":{"
			    "\"amount\":100.650,\"filter\":{\"and\":[{\"n\":1}"
			    "]},\"threshold\":80.5}}",
		out.ptr);

	assert_int_equal(0, cb__json_new(&put, "PUT b"));
	assert_int_equal(
		0, cb__json_get_object(&filter, doc, cb__json_root(doc),
			   "properties.filter", 0));
	assert_int_equal(0, cb__json_set_copy(put, cb__json_root_mut(put),
				    "properties.filter", filter));
	cb__json_free(doc);
	cb__buf_clear(&out);
	assert_int_equal(0, cb__json_dump(&out, cb__json_root(put)));
	assert_string_equal(
		"{\"properties\":{\"filter\":{\"and\":[{\"n\":1}]}}}", out.ptr);
	assert_error(CB_EINVAL, "cb__json_set_copy: invalid argument: value",
		cb__json_set_copy(put, cb__json_root_mut(put), "x", NULL));
	cb_buf_dispose(&out);
	cb__json_free(put);
}

static void
test_json_money_is_read_exactly(void **state)
{
	const char *text =
		"{\"m\": {\"cost\": 0.009865586851323632, \"big\": "
		"1234567890.123456789, \"exp\": 1.5E-05, \"neg\": -0.5, "
		"\"trail\": 2.00, \"max\": 170141183460469231731.687303715884105727, "
		"\"tooPrecise\": 1e-19, \"tooBig\": 1e40, \"str\": \"12.5\", "
		"\"word\": \"12.5x\", \"flag\": true, \"nil\": null}}";
	static const struct {
		const char *path, *formatted;
	} ok[] = {
		{ "m.cost", "0.009865586851323632" },
		{ "m.big", "1234567890.123456789" },
		{ "m.exp", "0.000015" },
		{ "m.neg", "-0.5" },
		{ "m.trail", "2" },
		{ "m.max", "170141183460469231731.687303715884105727" },
	};
	cb_json *doc = NULL;
	const cb_json_node *root;
	cb_money m = CB_MONEY_ZERO, before;
	char formatted[CB_MONEY_STR_MAX];

	(void)state;
	assert_int_equal(0, cb__json_parse(&doc, text, strlen(text), "q.json"));
	root = cb__json_root(doc);
	for (size_t i = 0; i < CB_ARRAY_SIZE(ok); i++) {
		if (cb__json_get_money(&m, doc, root, ok[i].path, 0) != 0)
			fail_msg(
				"%s: %s", ok[i].path, cb_error_last()->message);
		assert_int_equal(
			0, cb_money_format(formatted, sizeof(formatted), m));
		assert_string_equal(ok[i].formatted, formatted);
	}

	/* Refused, never rounded; *out untouched. */
	before = m;
	assert_parse_error("q.json: m.tooPrecise: '1e-19' has more than 18 "
			   "decimal places",
		cb__json_get_money(&m, doc, root, "m.tooPrecise", 0));
	assert_parse_error("q.json: m.tooBig: '1e40' is out of range",
		cb__json_get_money(&m, doc, root, "m.tooBig", 0));
	assert_parse_error("q.json: m.str: expected a number, found a string",
		cb__json_get_money(&m, doc, root, "m.str", 0));
	assert_parse_error("q.json: m.word: expected a number, found a string",
		cb__json_get_money(
			&m, doc, root, "m.word", CB_JSON_NUMERIC_STRING));
	assert_parse_error("q.json: m.flag: expected a number, found a "
			   "boolean",
		cb__json_get_money(&m, doc, root, "m.flag", 0));
	assert_parse_error("q.json: m.nil: expected a number, found null",
		cb__json_get_money(&m, doc, root, "m.nil", 0));
	assert_int_equal(CB_ENOTFOUND,
		cb__json_get_money(&m, doc, root, "m.nil", CB_JSON_OPTIONAL));
	assert_int_equal(0, cb_money_cmp(before, m));

	/* A string holding a number only when asked. */
	assert_int_equal(0, cb__json_get_money(&m, doc, root, "m.str",
				    CB_JSON_NUMERIC_STRING));
	assert_int_equal(0, cb_money_format(formatted, sizeof(formatted), m));
	assert_string_equal("12.5", formatted);

	/* And through a field table. */
	{
		cb_money cost = CB_MONEY_ZERO, absent = CB_MONEY_ZERO;
		const struct cb_json_field fields[] = {
			{ "m.cost", CB_JSON_FIELD_MONEY, 0, &cost },
			{ "m.absent", CB_JSON_FIELD_MONEY, CB_JSON_OPTIONAL,
				&absent },
			{ NULL, 0, 0, NULL },
		};

		assert_int_equal(0, cb__json_get_fields(doc, root, fields));
		assert_int_equal(
			0, cb_money_format(formatted, sizeof(formatted), cost));
		assert_string_equal("0.009865586851323632", formatted);
		assert_true(cb_money_is_zero(absent));
	}
	cb__json_free(doc);
}

static void
test_json_money_is_written_exactly(void **state)
{
	static const char *amounts[] = { "100.65", "-0.000000000000000001",
		"170141183460469231731.687303715884105727",
		"-170141183460469231731.687303715884105728", "0", "2.50" };
	cb_json *doc = NULL;
	cb_json_node *root;
	cb_buf out = CB_BUF_INIT;
	cb_money m;

	(void)state;
	assert_int_equal(0, cb__json_new(&doc, "body"));
	root = cb__json_root_mut(doc);
	for (size_t i = 0; i < CB_ARRAY_SIZE(amounts); i++) {
		assert_int_equal(
			0, cb_money_parse(&m, amounts[i], strlen(amounts[i])));
		assert_int_equal(0, cb__json_set_money(doc, root, "a[]", m));
	}
	assert_int_equal(0, cb__json_dump(&out, cb__json_root(doc)));
	assert_string_equal("{\"a\":[100.65,-0.000000000000000001,"
			    "170141183460469231731.687303715884105727,"
			    "-170141183460469231731.687303715884105728,0,2.5]}",
		out.ptr);

	/* What is written reads back to the same amount. */
	for (size_t i = 0; i < CB_ARRAY_SIZE(amounts); i++) {
		char path[16];
		cb_money back;

		snprintf(path, sizeof(path), "a[%zu]", i);
		assert_int_equal(
			0, cb_money_parse(&m, amounts[i], strlen(amounts[i])));
		assert_int_equal(0, cb__json_get_money(&back, doc,
					    cb__json_root(doc), path, 0));
		assert_int_equal(0, cb_money_cmp(m, back));
	}
	assert_error(CB_EINVAL, "cb__json_set_money: invalid argument: path",
		cb__json_set_money(doc, root, NULL, m));
	cb_buf_dispose(&out);
	cb__json_free(doc);
}

static void
test_json_parse_survives_oom(void **state)
{
	cb_json *doc = NULL;
	unsigned long n;
	int error;

	(void)state;
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb__json_parse(&doc, body, strlen(body), "t.json");
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_int_equal(CB_ENOMEM, cb_error_last()->code);
		assert_null(doc);
	}
	cb__alloc_fail_after(0);
	/* jansson's allocations are walked too, not only ours. */
	assert_true(n > 20);
	{
		int64_t v = 0;

		assert_int_equal(
			0, cb__json_get_int64(&v, doc, cb__json_root(doc),
				   "properties.count", 0));
		assert_int_equal(3, v);
	}
	cb__json_free(doc);
}

/* One builder session: every step may fail with CB_ENOMEM. */
static int
build_and_dump(cb_buf *out)
{
	cb_json *doc = NULL;
	cb_json_node *root, *o = NULL;
	const cb_json_node *copy_src;
	cb_json *src = NULL;
	cb_money m;
	int error;

	const char *text = "{\"f\":{\"and\":[1.25,\"x\"]}}";

	if ((error = cb__json_parse(&src, text, strlen(text), "src")) < 0 ||
		(error = cb__json_new(&doc, "body")) < 0)
		goto done;
	root = cb__json_root_mut(doc);
	copy_src = cb__json_object_get(cb__json_root(src), "f");
	if ((error = cb__json_set_string(doc, root, "a.b.c", "text")) < 0 ||
		(error = cb__json_set_int64(doc, root, "a.n", -42)) < 0 ||
		(error = cb__json_set_number_text(doc, root, "a.big",
			 "123456789012345678901234567890.5")) < 0 ||
		(error = cb_money_parse(&m, "-0.009865586851323632", 21)) < 0 ||
		(error = cb__json_set_money(doc, root, "a.cost", m)) < 0 ||
		(error = cb__json_set_object(&o, doc, root, "list[]")) < 0 ||
		(error = cb__json_set_bool(doc, o, "ok", true)) < 0 ||
		(error = cb__json_set_null(doc, root, "list[][]")) < 0 ||
		(error = cb__json_set_copy(doc, root, "copy", copy_src)) < 0 ||
		(error = cb__json_dump(out, cb__json_root(doc))) < 0)
		goto done;
done:
	cb__json_free(doc);
	cb__json_free(src);
	return error;
}

static void
test_json_builder_survives_oom(void **state)
{
	cb_buf out = CB_BUF_INIT;
	unsigned long n;
	int error;

	(void)state;
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = build_and_dump(&out);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_int_equal(0, out.size);
	}
	cb__alloc_fail_after(0);
	assert_true(n > 20);
	assert_string_equal("{\"a\":{\"b\":{\"c\":\"text\"},\"n\":-42,"
			    "\"big\":123456789012345678901234567890.5,"
			    "\"cost\":-0.009865586851323632},"
			    "\"list\":[{\"ok\":true},[null]],\"copy\":{"
			    "\"and\":[1.25,\"x\"]}}",
		out.ptr);
	cb_buf_dispose(&out);
}

static int
setup(void **state)
{
	(void)state;
	return cb_init();
}

static int
teardown(void **state)
{
	(void)state;
	cb_shutdown();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_gets_typed_values),
		cmocka_unit_test(test_json_errors_name_the_absolute_path),
		cmocka_unit_test(test_json_optional_values),
		cmocka_unit_test(test_json_int64_is_checked),
		cmocka_unit_test(test_json_malformed_paths_are_caller_errors),
		cmocka_unit_test(test_json_field_tables),
		cmocka_unit_test(test_json_error_helper_uses_the_same_shape),
		cmocka_unit_test(test_json_walks_nodes),
		cmocka_unit_test(test_json_reads_an_arm_error_body),
		cmocka_unit_test(test_json_parse_reports_original_positions),
		cmocka_unit_test(test_json_data_cases),
		cmocka_unit_test(test_json_dump_keeps_every_digit),
		cmocka_unit_test(test_json_builds_a_budget_body),
		cmocka_unit_test(test_json_setters_replace_append_and_refuse),
		cmocka_unit_test(test_json_read_modify_write),
		cmocka_unit_test(test_json_money_is_read_exactly),
		cmocka_unit_test(test_json_money_is_written_exactly),
		cmocka_unit_test(test_json_parse_survives_oom),
		cmocka_unit_test(test_json_builder_survives_oom),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
