/*
 * tests/unit/tenants/test_invoice.c - invoices from the Invoices API
 * (tenants/invoice.c):
 *
 * against an in-process armsim, a billing account's invoices of its month
 * are exactly the generator's (name, profile, currency, amount to the last
 * digit, dates, status), over one-item pages too; the months before and
 * after have none (the list is filtered by invoice date, the result by
 * invoice period); an unknown account is armsim's 404.  Parsing: Azure's
 * own example, amounts beyond a double's precision read exactly, and
 * every malformed body refused with the path of the offending value.
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/costgen.h"
#include "tenants/invoice.h"
#include "tests/unit/emulator/fixture.h"

#include <stdlib.h>

#define SECRET "invoice-test-secret"

#define ASSERT_OK(expr)                                                    \
	do {                                                               \
		int rc_ = (expr);                                          \
		if (rc_ != 0)                                              \
			fail_msg("%s: %s (%s)", #expr, cb_error_name(rc_), \
				cb_error_last()->message);                 \
	} while (0)

static as_server *
start(unsigned page_size)
{
	as_options o;

	as_test_options(&o, 5);
	o.client_secret = SECRET;
	if (page_size)
		o.page_size = page_size;
	return as_test_start(&o);
}

struct env {
	cb_config *cfg;
	cb__session *s;
};

static void
env_open(struct env *e, as_server *s)
{
	char base[128], text[2048];
	const char *tenant, *client;

	as_server_base(s, base, sizeof(base));
	as_entra_ids(s, &tenant, &client);
	setenv("CB_TEST_INVOICE_SECRET", SECRET, 1);
	snprintf(text, sizeof(text),
		"azure = { tenant_id = \"%s\"; client_id = \"%s\";\n"
		"  client_secret_env = \"CB_TEST_INVOICE_SECRET\";\n"
		"  authority_host = \"%s\"; management_endpoint = \"%s\"; };\n"
		"http = { max_attempts = 1; };\n",
		tenant, client, base, base);
	ASSERT_OK(cb_config_load_string(&e->cfg, text, "test.cfg"));
	ASSERT_OK(cb__session_open(&e->s, e->cfg));
}

static void
env_close(struct env *e)
{
	cb__session_close(e->s);
	cb_config_free(e->cfg);
}

static void
assert_money(const char *want, cb_money got)
{
	char text[CB_MONEY_STR_MAX];

	cb_money_format(text, sizeof(text), got);
	assert_string_equal(want, text);
}

/* ------------------------------------------------------------------ */
/* Against armsim */

/* The invoices of the MPA account for 2026-10 equal the generator's,
 * one per billing profile, in profile order. */
static void
check_month(unsigned page_size)
{
	as_server *s = start(page_size);
	const as_partner *p = s->partner;
	const char *mpa = as_test_mpa(s);
	cb__invoices set = { 0 };
	struct env e;
	size_t account = 0, n = 0;

	for (size_t i = 0; i < p->naccounts; i++)
		if (strcmp(p->accounts[i].name, mpa) == 0)
			account = i;
	env_open(&e, s);
	ASSERT_OK(cb__invoice_fetch(&set, e.s, mpa, "2026-10"));
	for (size_t i = 0; i < p->nprofiles; i++) {
		const as_profile *bp = &p->profiles[i];
		const cb_invoice *inv;
		as_invoice want;

		if (bp->account != account)
			continue;
		assert_true(n < set.count);
		inv = &set.v[n];
		assert_int_equal(0, as_costgen_invoice(p, i, &want));
		assert_string_equal(mpa, inv->billing_account_id);
		assert_string_equal(want.name, inv->invoice_id);
		assert_string_equal(bp->name, inv->billing_profile_id);
		assert_string_equal(bp->display, inv->billing_profile_name);
		assert_string_equal(want.currency, inv->currency);
		assert_int_equal(
			0, cb_money_cmp(want.total, inv->billed_amount));
		assert_int_equal(0, cb_money_cmp(want.total, inv->sub_total));
		assert_int_equal(
			0, cb_money_cmp(want.total, inv->total_amount));
		assert_true(cb_money_is_zero(inv->tax_amount));
		assert_true(cb_money_is_zero(inv->credit_amount));
		assert_string_equal("2026-10-01", inv->period_start);
		assert_string_equal("2026-10-31", inv->period_end);
		assert_string_equal("2026-11-05", inv->invoice_date);
		assert_string_equal("2026-12-05", inv->due_date);
		assert_string_equal("Invoice", inv->document_type);
		/* armsim: the first, third... profile's invoice is paid. */
		assert_string_equal(n % 2 == 0 ? "Paid" : "Due", inv->status);
		assert_int_equal(
			0, cb_money_cmp(n % 2 == 0 ? CB_MONEY_ZERO : want.total,
				   inv->amount_due));
		n++;
	}
	assert_true(n >= 2);
	assert_int_equal(n, set.count);
	cb__invoices_dispose(&set);
	assert_null(set.v);
	env_close(&e);
	as_server_stop(s);
}

static void
test_fetch_month(void **state)
{
	CB_UNUSED(state);
	check_month(0);
}

/* One invoice per page: every nextLink followed, nothing lost. */
static void
test_fetch_paged(void **state)
{
	CB_UNUSED(state);
	check_month(1);
}

/* The month before has no invoice; the month after lists the month's
 * invoice (dated in it) but its invoice period is not that month. */
static void
test_fetch_other_months(void **state)
{
	as_server *s = start(0);
	cb__invoices set = { 0 };
	struct env e;

	CB_UNUSED(state);
	env_open(&e, s);
	ASSERT_OK(cb__invoice_fetch(&set, e.s, as_test_mpa(s), "2026-09"));
	assert_int_equal(0, set.count);
	ASSERT_OK(cb__invoice_fetch(&set, e.s, as_test_mpa(s), "2026-11"));
	assert_int_equal(0, set.count);
	assert_int_equal(CB_EINVAL,
		cb__invoice_fetch(&set, e.s, as_test_mpa(s), "2026-13"));
	assert_string_equal("invoices: period '2026-13' is not YYYY-MM",
		cb_error_last()->message);
	env_close(&e);
	as_server_stop(s);
}

static void
test_fetch_unknown_account(void **state)
{
	as_server *s = start(0);
	cb__invoices set = { 0 };
	struct env e;
	char want[512], base[128];

	CB_UNUSED(state);
	env_open(&e, s);
	assert_int_equal(CB_ENOTFOUND,
		cb__invoice_fetch(&set, e.s, "no-such-account", "2026-10"));
	assert_int_equal(404, cb_error_last()->http_status);
	as_server_base(s, base, sizeof(base));
	snprintf(want, sizeof(want),
		"GET %s/providers/Microsoft.Billing/billingAccounts/"
		"no-such-account/invoices: http 404 ",
		base);
	if (strncmp(cb_error_last()->message, want, strlen(want)) != 0)
		fail_msg("message: %s", cb_error_last()->message);
	assert_int_equal(0, set.count);
	env_close(&e);
	as_server_stop(s);
}

/* ------------------------------------------------------------------ */
/* Parsing */

/* Parse item text (one invoice) as if listed for account "acct". */
static int
parse(cb_invoice *out, const char *text)
{
	cb_json *doc = NULL;
	int rc;

	ASSERT_OK(cb__json_parse(&doc, text, strlen(text), "list"));
	rc = cb__invoice_parse(out, doc, cb__json_root(doc), "acct");
	cb__json_free(doc);
	return rc;
}

/* Azure's example (2024-04-01 invoicesListByBillingAccount.json). */
static void
test_parse_azure_example(void **state)
{
	const char *dir = getenv("CB_SHARED_DIR");
	char path[1024];
	cb_buf text = CB_BUF_INIT;
	const cb_json_node *items;
	cb_json *doc = NULL;
	cb_invoice inv;
	FILE *f;
	char chunk[4096];
	size_t n;

	CB_UNUSED(state);
	if (dir == NULL)
		fail_msg("set CB_SHARED_DIR");
	snprintf(path, sizeof(path),
		"%s/azure-api-examples/Microsoft.Billing/2024-04-01/"
		"invoicesListByBillingAccount.json",
		dir);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ASSERT_OK(cb__buf_put(&text, chunk, n));
	fclose(f);
	ASSERT_OK(cb__json_parse(&doc, text.ptr, text.size, path));
	ASSERT_OK(cb__json_get_array(&items, doc, cb__json_root(doc),
		"responses[\"200\"].body.value", 0));
	assert_true(cb__json_array_size(items) >= 1);
	ASSERT_OK(cb__invoice_parse(
		&inv, doc, cb__json_array_get(items, 0), "acct"));
	assert_string_equal("acct", inv.billing_account_id);
	assert_string_equal("1383723", inv.invoice_id);
	assert_string_equal(
		"11000000-0000-0000-0000-000000000000", inv.billing_profile_id);
	assert_string_equal(
		"Contoso Operations Billing", inv.billing_profile_name);
	assert_string_equal("USD", inv.currency);
	assert_money("33.99", inv.billed_amount);
	assert_money("33.99", inv.sub_total);
	assert_money("0", inv.tax_amount);
	assert_money("7.53", inv.total_amount);
	assert_money("8.53", inv.amount_due);
	assert_money("1", inv.credit_amount);
	assert_string_equal("2018-01-01", inv.invoice_date);
	assert_string_equal("2018-01-16", inv.due_date);
	assert_string_equal("2018-01-01", inv.period_start);
	assert_string_equal("2018-01-15", inv.period_end);
	assert_string_equal("Due", inv.status);
	assert_string_equal("Invoice", inv.document_type);
	cb_invoice_dispose(&inv);
	assert_null(inv.invoice_id);
	cb__json_free(doc);
	cb_buf_dispose(&text);
}

#define PERIOD                                                 \
	"\"invoicePeriodStartDate\":\"2026-10-01T00:00:00Z\"," \
	"\"invoicePeriodEndDate\":\"2026-10-31T00:00:00Z\""

/* Digits a double cannot hold, and the most decimals cb_money can, are
 * kept; optional fields may be absent. */
static void
test_parse_exact(void **state)
{
	cb_invoice inv;

	CB_UNUSED(state);
	ASSERT_OK(parse(&inv, "{\"name\":\"G1\",\"properties\":{" PERIOD ","
			      "\"billedAmount\":{\"currency\":\"JPY\","
			      "\"value\":12345678901234567.5},"
			      "\"taxAmount\":{\"currency\":\"JPY\","
			      "\"value\":0.000000000000000001}}}"));
	assert_money("12345678901234567.5", inv.billed_amount);
	assert_money("0.000000000000000001", inv.tax_amount);
	assert_money("0", inv.total_amount);
	assert_null(inv.billing_profile_id);
	assert_null(inv.invoice_date);
	assert_null(inv.status);
	assert_string_equal("JPY", inv.currency);
	cb_invoice_dispose(&inv);
}

struct bad {
	const char *props; /* inside "properties":{...} */
	int code;
	const char *message;
};

static void
test_parse_refused(void **state)
{
	static const struct bad cases[] = {
		{ PERIOD, CB_EPARSE, "list: properties.billedAmount: missing" },
		{ PERIOD ",\"billedAmount\":{\"currency\":\"USD\","
			 "\"value\":\"12.5\"}",
			CB_EPARSE,
			"list: properties.billedAmount.value: expected a "
			"number, found a string" },
		{ PERIOD ",\"billedAmount\":{\"currency\":\"USD\","
			 "\"value\":0.0000000000000000001}",
			CB_EPARSE,
			"list: properties.billedAmount.value: "
			"'0.0000000000000000001' has more than 18 decimal "
			"places" },
		{ PERIOD ",\"billedAmount\":{\"currency\":\"usd\","
			 "\"value\":1}",
			CB_EPARSE,
			"list: properties.billedAmount.currency: not an ISO "
			"4217 code" },
		{ PERIOD ",\"billedAmount\":{\"currency\":\"USD\","
			 "\"value\":1},\"taxAmount\":{\"currency\":\"EUR\","
			 "\"value\":0}",
			CB_EPARSE,
			"list: properties.taxAmount.currency: EUR, where the "
			"invoice is in USD" },
		{ "\"billedAmount\":{\"currency\":\"USD\",\"value\":1}",
			CB_EPARSE,
			"list: properties.invoicePeriodStartDate: missing" },
		{ "\"invoicePeriodStartDate\":\"2026-02-30T00:00:00Z\","
		  "\"billedAmount\":{\"currency\":\"USD\",\"value\":1}",
			CB_EPARSE,
			"list: properties.invoicePeriodStartDate: not an ISO "
			"date" },
		{ "\"invoicePeriodStartDate\":\"2026-10-01\","
		  "\"invoicePeriodEndDate\":\"2026-09-30\","
		  "\"billedAmount\":{\"currency\":\"USD\",\"value\":1}",
			CB_EPARSE,
			"list: properties.invoicePeriodEndDate: before "
			"invoicePeriodStartDate" },
		{ PERIOD ",\"billedAmount\":{\"currency\":\"USD\","
			 "\"value\":1},\"status\":7",
			CB_EPARSE,
			"list: properties.status: expected a string, found a "
			"number" },
	};
	char text[1024];
	cb_invoice inv;

	CB_UNUSED(state);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		snprintf(text, sizeof(text),
			"{\"name\":\"G1\",\"properties\":{%s}}",
			cases[i].props);
		rc = parse(&inv, text);
		if (rc != cases[i].code ||
			strcmp(cb_error_last()->message, cases[i].message) != 0)
			fail_msg("case %zu: %s: %s", i, cb_error_name(rc),
				cb_error_last()->message);
		/* Nothing is handed out on failure. */
		assert_null(inv.invoice_id);
		assert_null(inv.currency);
	}
	assert_int_equal(CB_EPARSE,
		parse(&inv, "{\"name\":\"\",\"properties\":{" PERIOD
			    ",\"billedAmount\":{\"currency\":\"USD\","
			    "\"value\":1}}}"));
	assert_string_equal("list: name: empty", cb_error_last()->message);
	assert_int_equal(CB_EPARSE, parse(&inv, "{\"name\":\"G1\"}"));
	assert_string_equal(
		"list: properties: missing", cb_error_last()->message);
}

/* Every allocation failure is CB_ENOMEM and hands nothing out (ASan
 * checks that nothing leaks). */
static void
test_parse_out_of_memory(void **state)
{
	static const char text[] =
		"{\"name\":\"G1\",\"properties\":{" PERIOD ","
		"\"billedAmount\":{\"currency\":\"USD\",\"value\":1.5},"
		"\"invoiceDate\":\"2026-11-05T00:00:00Z\","
		"\"dueDate\":\"2026-12-05T00:00:00Z\","
		"\"billingProfileId\":\"/x/billingProfiles/P1\","
		"\"billingProfileDisplayName\":\"Partner\","
		"\"status\":\"Due\",\"documentType\":\"Invoice\"}}";
	cb_json *doc = NULL;
	cb_invoice inv;
	unsigned long n;
	int rc = CB_ENOMEM;

	CB_UNUSED(state);
	ASSERT_OK(cb__json_parse(&doc, text, strlen(text), "list"));
	for (n = 1; rc == CB_ENOMEM && n < 100; n++) {
		cb__alloc_fail_after(n);
		rc = cb__invoice_parse(&inv, doc, cb__json_root(doc), "acct");
		cb__alloc_fail_after(0);
		if (rc == CB_ENOMEM) {
			assert_null(inv.invoice_id);
			assert_null(inv.period_start);
		}
	}
	ASSERT_OK(rc);
	/* Every owned string was one allocation to fail. */
	assert_true(n > 9);
	assert_string_equal("P1", inv.billing_profile_id);
	assert_money("1.5", inv.billed_amount);
	cb_invoice_dispose(&inv);
	cb__json_free(doc);
}

static void
test_status_names(void **state)
{
	CB_UNUSED(state);
	assert_string_equal(
		"matched", cb_reconcile_status_name(CB_RECONCILE_MATCHED));
	assert_string_equal("mismatched",
		cb_reconcile_status_name(CB_RECONCILE_MISMATCHED));
	assert_string_equal("no cost lines loaded",
		cb_reconcile_status_name(CB_RECONCILE_NO_LINES));
	assert_null(cb_reconcile_status_name((cb_reconcile_status)9));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_month),
		cmocka_unit_test(test_fetch_paged),
		cmocka_unit_test(test_fetch_other_months),
		cmocka_unit_test(test_fetch_unknown_account),
		cmocka_unit_test(test_parse_azure_example),
		cmocka_unit_test(test_parse_exact),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_parse_out_of_memory),
		cmocka_unit_test(test_status_names),
	};
	int rc;

	cb_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cb_shutdown();
	return rc;
}
