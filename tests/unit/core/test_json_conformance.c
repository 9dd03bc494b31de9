/*
 * tests/unit/core/test_json_conformance.c - the Azure REST examples.
 *
 * Every *.json under $CB_SHARED_DIR/azure-api-examples (real request and
 * response examples from the Azure REST API specifications, each with
 * "parameters" and "responses": {"200": {"body": ...}}) must parse, keep
 * every number token as a number, and dump to text that parses back to
 * the same dump.  A few values are then read exactly, the money ones
 * through cb__json_get_money and back to the same digits.
 */
#include "core/common.h"
#include "core/json.h"
#include "core/buf.h"
#include "tests/support/testsupport.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
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

static cb_json *
parse_example(const char *relative)
{
	char path[1024];
	cb_json *doc = NULL;
	size_t len;
	char *data;

	snprintf(path, sizeof(path), "%s/azure-api-examples/%s",
		cb_test_shared_dir(), relative);
	data = read_file(path, &len);
	if (cb__json_parse(&doc, data, len, relative) != 0)
		fail_msg("%s", cb_error_last()->message);
	free(data);
	return doc;
}

/* Number nodes in a tree. */
static size_t
count_numbers(const cb_json_node *node)
{
	size_t n = 0;

	switch (cb__json_type(node)) {
	case CB_JSON_NUMBER:
		return 1;
	case CB_JSON_ARRAY:
		for (size_t i = 0; i < cb__json_array_size(node); i++)
			n += count_numbers(cb__json_array_get(node, i));
		return n;
	case CB_JSON_OBJECT: {
		cb_json_member m = CB_JSON_MEMBER_INIT;

		while (cb__json_object_next(node, &m))
			n += count_numbers(m.value);
		return n;
	}
	default:
		return 0;
	}
}

/* Parse one file and check the invariants; returns its number count. */
static size_t
check_file(const char *path)
{
	cb_buf quoted = CB_BUF_INIT, dump1 = CB_BUF_INIT, dump2 = CB_BUF_INIT;
	cb_json *doc = NULL, *again = NULL;
	size_t len, markers = 0, numbers;
	char *data = read_file(path, &len);

	if (cb__json_parse(&doc, data, len, path) != 0)
		fail_msg("%s", cb_error_last()->message);

	/* The scanner's count of numbers is the tree's. */
	assert_int_equal(0, cb__json_quote_numbers(&quoted, data, len, path));
	for (const char *p = quoted.ptr;
		(p = strstr(p, CB__JSON_MARK_ESCAPED)) != NULL; p++)
		markers++;
	numbers = count_numbers(cb__json_root(doc));
	if (numbers != markers)
		fail_msg("%s: %zu numbers in the tree, %zu in the text", path,
			numbers, markers);

	/* Dumping is stable: dump, parse, dump gives the same bytes. */
	assert_int_equal(0, cb__json_dump(&dump1, cb__json_root(doc)));
	if (cb__json_parse(&again, dump1.ptr, dump1.size, "dump") != 0)
		fail_msg("%s: dump does not parse: %s", path,
			cb_error_last()->message);
	assert_int_equal(0, cb__json_dump(&dump2, cb__json_root(again)));
	assert_string_equal(dump1.ptr, dump2.ptr);

	cb_buf_dispose(&quoted);
	cb_buf_dispose(&dump1);
	cb_buf_dispose(&dump2);
	cb__json_free(doc);
	cb__json_free(again);
	free(data);
	return numbers;
}

static void
walk(const char *dir, size_t *files, size_t *numbers)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		fail_msg("cannot open %s (set CB_SHARED_DIR)", dir);
	while ((e = readdir(d)) != NULL) {
		char path[2048];
		struct stat st;
		size_t n = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		assert_int_equal(0, stat(path, &st));
		if (S_ISDIR(st.st_mode)) {
			walk(path, files, numbers);
		} else if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0) {
			*numbers += check_file(path);
			(*files)++;
		}
	}
	closedir(d);
}

static void
test_json_conformance_every_example_parses(void **state)
{
	char dir[1024];
	size_t files = 0, numbers = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/azure-api-examples",
		cb_test_shared_dir());
	walk(dir, &files, &numbers);
	/* 46 examples when this was written; fewer means a broken path. */
	assert_true(files >= 46);
	assert_true(numbers > 100);
}

static void
test_json_conformance_query_rows(void **state)
{
	cb_json *doc = parse_example(
		"Microsoft.CostManagement/2025-03-01/SubscriptionQuery.json");
	const cb_json_node *props = NULL, *rows = NULL, *row;
	const char *s = NULL;
	int64_t n = 0;

	(void)state;
	assert_int_equal(0, cb__json_get_object(&props, doc, cb__json_root(doc),
				    "responses[\"200\"].body.properties", 0));
	assert_int_equal(
		0, cb__json_get_string(&s, doc, props, "columns[0].name", 0));
	assert_string_equal("PreTaxCost", s);
	assert_int_equal(CB_ENOTFOUND, cb__json_get_string(&s, doc, props,
					       "nextLink", CB_JSON_OPTIONAL));
	assert_int_equal(0, cb__json_get_array(&rows, doc, props, "rows", 0));
	assert_int_equal(4, cb__json_array_size(rows));

	/* The two long costs, read exactly and written back digit for
	 * digit: a double would give 0.00986558685132363 (%.15g). */
	{
		cb_money cost;
		char text[CB_MONEY_STR_MAX];

		assert_int_equal(
			0, cb__json_get_money(&cost, doc, rows, "[3][0]", 0));
		assert_int_equal(0, cb_money_format(text, sizeof(text), cost));
		assert_string_equal("0.009865586851323632", text);
		assert_int_equal(
			0, cb__json_get_money(&cost, doc, rows, "[2][0]", 0));
		assert_int_equal(0, cb_money_format(text, sizeof(text), cost));
		assert_string_equal("0.14384913581657052", text);
		assert_int_equal(
			0, cb__json_get_money(&cost, doc, rows, "[1][0]", 0));
		assert_int_equal(0, cb_money_format(text, sizeof(text), cost));
		assert_string_equal("218.68795741935486", text);
	}

	row = cb__json_array_get(rows, 3);
	assert_string_equal("0.009865586851323632",
		cb__json_number_text(cb__json_array_get(row, 0)));
	assert_int_equal(0, cb__json_get_int64(&n, doc, row, "[2]", 0));
	assert_int_equal(20180429, n);
	assert_int_equal(0, cb__json_get_string(&s, doc, row, "[3]", 0));
	assert_string_equal("USD", s);
	assert_string_equal("0.14384913581657052",
		cb__json_number_text(
			cb__json_array_get(cb__json_array_get(rows, 2), 0)));

	/* A column of the wrong type is named by its full path. */
	assert_int_equal(
		CB_EPARSE, cb__json_get_string(&s, doc, row, "[0]", 0));
	assert_string_equal("Microsoft.CostManagement/2025-03-01/"
			    "SubscriptionQuery.json: responses.200.body."
			    "properties.rows[3][0]: expected a string, found "
			    "a number",
		cb_error_last()->message);
	cb__json_free(doc);
}

static void
test_json_conformance_invoice_and_report(void **state)
{
	cb_json *doc = parse_example(
		"Microsoft.Billing/2024-04-01/invoicesGetByBillingAccount.json");
	const cb_json_node *body = NULL;
	const char *s = NULL;
	bool b = true;
	int64_t n = 0;

	(void)state;
	assert_int_equal(0, cb__json_get_object(&body, doc, cb__json_root(doc),
				    "responses[\"200\"].body", 0));
	assert_string_equal("16.53",
		cb__json_number_text(cb__json_object_get(
			cb__json_object_get(
				cb__json_object_get(body, "properties"),
				"amountDue"),
			"value")));
	{
		cb_money due, credit;
		char text[CB_MONEY_STR_MAX];
		const struct cb_json_field fields[] = {
			{ "properties.amountDue.value", CB_JSON_FIELD_MONEY, 0,
				&due },
			{ "properties.creditAmount.value", CB_JSON_FIELD_MONEY,
				0, &credit },
			{ NULL, 0, 0, NULL },
		};

		assert_int_equal(0, cb__json_get_fields(doc, body, fields));
		assert_int_equal(0, cb_money_format(text, sizeof(text), due));
		assert_string_equal("16.53", text);
		/* Written "2.00"; the amount is 2. */
		assert_int_equal(
			0, cb_money_format(text, sizeof(text), credit));
		assert_string_equal("2", text);
	}
	assert_int_equal(0, cb__json_get_string(&s, doc, body,
				    "properties.documents[1].kind", 0));
	assert_string_equal("TaxReceipt", s);
	assert_int_equal(0, cb__json_get_bool(&b, doc, body,
				    "properties.isMonthlyInvoice", 0));
	assert_false(b);
	cb__json_free(doc);

	doc = parse_example("Microsoft.CostManagement/2025-03-01/"
			    "CostDetailsOperationResultsBySubscriptionScope."
			    "json");
	assert_int_equal(0, cb__json_get_string(&s, doc, cb__json_root(doc),
				    "responses.200.body.manifest.blobs[0]."
				    "blobLink",
				    0));
	assert_string_equal("https://ccmreportstorageeastus.blob.core.windows."
			    "net/armreports/00000/00000000-0000-0000-0000-"
			    "000000000000?sv=2020-05-31&sr=b&sig=abcd",
		s);
	assert_int_equal(0, cb__json_get_int64(&n, doc, cb__json_root(doc),
				    "responses[\"200\"].body.manifest.blobs[0]."
				    "byteCount",
				    0));
	assert_int_equal(32741, n);
	/* Retry-After is a header, a string: read as a number on request. */
	assert_int_equal(
		0, cb__json_get_int64(&n, doc, cb__json_root(doc),
			   "responses[\"202\"].headers[\"Retry-After\"]",
			   CB_JSON_NUMERIC_STRING));
	assert_int_equal(60, n);
	cb__json_free(doc);
}

static void
test_json_conformance_budget_and_usage_amounts(void **state)
{
	cb_json *doc =
		parse_example("Microsoft.Consumption/2024-08-01/Budget.json");
	const cb_json_node *props = NULL;
	char text[CB_MONEY_STR_MAX];
	const char *etag = NULL;
	cb_money amount;
	int64_t threshold = 0;

	(void)state;
	assert_int_equal(0, cb__json_get_object(&props, doc, cb__json_root(doc),
				    "responses.200.body.properties", 0));
	assert_int_equal(
		0, cb__json_get_money(&amount, doc, props, "amount", 0));
	assert_int_equal(0, cb_money_format(text, sizeof(text), amount));
	assert_string_equal("100.65", text);
	assert_int_equal(0, cb__json_get_money(&amount, doc, props,
				    "currentSpend.amount", 0));
	assert_int_equal(0, cb_money_format(text, sizeof(text), amount));
	assert_string_equal("80.89", text);
	assert_int_equal(0, cb__json_get_int64(&threshold, doc, props,
				    "notifications.Actual_GreaterThan_80_"
				    "Percent.threshold",
				    0));
	assert_int_equal(80, threshold);
	assert_int_equal(0, cb__json_get_string(&etag, doc, cb__json_root(doc),
				    "responses.200.body.eTag", 0));
	assert_string_equal("\"1d34d012214157f\"", etag);
	cb__json_free(doc);

	doc = parse_example(
		"Microsoft.Consumption/2024-08-01/UsageDetailsList.json");
	assert_int_equal(
		0, cb__json_get_money(&amount, doc, cb__json_root(doc),
			   "responses.200.body.value[0].properties.cost", 0));
	assert_int_equal(0, cb_money_format(text, sizeof(text), amount));
	assert_string_equal("0.000001980949998", text);
	cb__json_free(doc);
}

static void
test_json_conformance_duplicate_key_is_refused(void **state)
{
	char path[1024];
	const char *needle = "\"category\": \"Cost\",";
	const char *dup = "\"category\": \"Cost\", \"category\": \"Usage\",";
	cb_buf edited = CB_BUF_INIT;
	cb_json *doc = NULL;
	size_t len;
	char *data, *at;

	(void)state;
	snprintf(path, sizeof(path),
		"%s/azure-api-examples/Microsoft.Consumption/2024-08-01/"
		"Budget.json",
		cb_test_shared_dir());
	data = read_file(path, &len);
	at = strstr(data, needle);
	assert_non_null(at);
	cb__buf_put(&edited, data, (size_t)(at - data));
	cb__buf_puts(&edited, dup);
	cb__buf_puts(&edited, at + strlen(needle));

	/* Line 17 is '          "category": "Cost",'; the second key ends
	 * at column 40. */
	assert_int_equal(CB_EPARSE,
		cb__json_parse(&doc, edited.ptr, edited.size, "Budget.json"));
	assert_string_equal("Budget.json:17:40: duplicate object key near "
			    "'\"category\"'",
		cb_error_last()->message);
	assert_null(doc);

	/* The untouched file parses. */
	assert_int_equal(0, cb__json_parse(&doc, data, len, "Budget.json"));
	cb__json_free(doc);
	cb_buf_dispose(&edited);
	free(data);
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
		cmocka_unit_test(test_json_conformance_every_example_parses),
		cmocka_unit_test(test_json_conformance_query_rows),
		cmocka_unit_test(test_json_conformance_invoice_and_report),
		cmocka_unit_test(
			test_json_conformance_budget_and_usage_amounts),
		cmocka_unit_test(
			test_json_conformance_duplicate_key_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
