/*
 * tests/unit/tenants/test_costfile.c - cost file headers and rows to
 * typed cost rows (tenants/costfile.c, tenants/costjson.c) and the cost
 * names of chargeback/costs.h (tenants/costnames.c).
 *
 * The partner set comes from armsim's own generator in-process (every
 * row compared with the generator's exact figures); the EA set from
 * Microsoft's sample file (tests/fixtures/costs/ea_actual_small.csv, a
 * copy of the finops-toolkit sample); the direct MCA set from a header
 * written here, with a byte order mark and names in odd letter case.
 * Rows are compared as a text description of every present value, so a
 * value mapped to the wrong field, or a value invented for an absent
 * one, shows.  Every error message is compared exactly.
 */
#include "core/common.h"

#include "core/buf.h"
#include "emulator/costgen.h"
#include "emulator/partner.h"
#include "tenants/costfile.h"
#include "tenants/costjson.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define ASSERT_OK(expr)                                                    \
	do {                                                               \
		int rc_ = (expr);                                          \
		if (rc_ != 0)                                              \
			fail_msg("%s: %s (%s)", #expr, cb_error_name(rc_), \
				cb_error_last()->message);                 \
	} while (0)

static const char *const text_names[CB_COST_TEXT_COUNT] = { "invoiceId",
	"previousInvoiceId", "billingAccountId", "billingAccountName",
	"billingProfileId", "billingProfileName", "invoiceSectionId",
	"invoiceSectionName", "partnerTenantId", "partnerName", "resellerName",
	"resellerMpnId", "customerTenantId", "customerName", "costCenter",
	"serviceFamily", "productOrderId", "productOrderName",
	"consumedService", "meterId", "meterName", "meterCategory",
	"meterSubCategory", "meterRegion", "productId", "productName",
	"subscriptionId", "subscriptionName", "publisherType", "publisherId",
	"publisherName", "resourceGroup", "resourceId", "resourceLocation",
	"location", "unitOfMeasure", "chargeType", "billingCurrency",
	"pricingCurrency", "serviceInfo1", "serviceInfo2", "frequency", "term",
	"reservationId", "reservationName", "pricingModel", "benefitId",
	"benefitName", "provider", "costAllocationRuleName" };

static const char *const date_names[CB_COST_DATE_COUNT] = {
	"billingPeriodStart", "billingPeriodEnd", "servicePeriodStart",
	"servicePeriodEnd", "exchangeRateDate"
};

static const char *const amount_names[CB_COST_AMOUNT_COUNT] = { "quantity",
	"effectivePrice", "unitPrice", "paygPrice", "cost", "costPricing",
	"costUsd", "paygCost", "paygCostUsd", "exchangeRate", "pecRate" };

/* A day count as yyyy-mm-dd, through the C library's calendar (a second
 * reading of the date arithmetic). */
static void
ymd(int32_t days, char out[16])
{
	time_t t = (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

/* Every present value of a row, one "name=value" a line. */
static void
describe(const cb_cost_row *r, cb_buf *out)
{
	char s[CB_MONEY_STR_MAX];

	cb__buf_clear(out);
	cb__buf_printf(out, "line=%llu part=%u\n", (unsigned long long)r->line,
		r->part);
	for (int i = 0; i < CB_COST_TEXT_COUNT; i++)
		if (r->text[i].ptr)
			cb__buf_printf(out, "%s=%.*s\n", text_names[i],
				(int)r->text[i].len, r->text[i].ptr);
		else
			assert_int_equal(r->text[i].len, 0);
	ymd(r->date, s);
	cb__buf_printf(out, "date=%s\n", s);
	for (int i = 0; i < CB_COST_DATE_COUNT; i++)
		if (r->date_present[i]) {
			ymd(r->dates[i], s);
			cb__buf_printf(out, "%s=%s\n", date_names[i], s);
		}
	for (int i = 0; i < CB_COST_AMOUNT_COUNT; i++)
		if (r->amount_present[i]) {
			cb_money_format(s, sizeof(s), r->amounts[i]);
			cb__buf_printf(out, "%s=%s\n", amount_names[i], s);
		} else {
			assert_int_equal(cb_money_is_zero(r->amounts[i]), 1);
		}
	if (r->credit_eligible >= 0)
		cb__buf_printf(out, "creditEligible=%d\n", r->credit_eligible);
	if (r->pec_applied >= 0)
		cb__buf_printf(out, "pecApplied=%d\n", r->pec_applied);
	if (r->tags.ptr)
		cb__buf_printf(
			out, "tags=%.*s\n", (int)r->tags.len, r->tags.ptr);
	if (r->additional_info.ptr)
		cb__buf_printf(out, "additionalInfo=%.*s\n",
			(int)r->additional_info.len, r->additional_info.ptr);
	if (r->extra.ptr)
		cb__buf_printf(
			out, "extra=%.*s\n", (int)r->extra.len, r->extra.ptr);
}

/* Compare a described row, printing the whole text when it differs
 * (cmocka cuts long strings). */
#define assert_row(got, want) assert_row_(got, want, __LINE__)
static void
assert_row_(const char *got, const char *want, int line)
{
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "line %d: row differs; got:\n%s\n", line, got);
		fail_msg("row differs (line %d)", line);
	}
}

/* Reading a whole text: each typed row is described into rows[]. */
struct read {
	cb_csv_reader *reader;
	cb__costfile *cf;
	bool mapped;
	size_t count;
	cb_buf rows[16];
	/* or handed to a check (the generated file) */
	int (*check)(const cb_cost_row *row, void *payload);
	void *payload;
};

static int
read_row(const cb_csv_row *row, void *payload)
{
	struct read *rd = payload;
	cb_cost_row out;
	int error;

	if (!rd->mapped) {
		if ((error = cb__costfile_header(rd->cf, rd->reader)) != 0)
			return error;
		rd->mapped = true;
	}
	memset(&out, 0x5a, sizeof(out)); /* nothing may be left unset */
	if ((error = cb__costfile_row(rd->cf, row, &out)) != 0)
		return error;
	if (rd->check)
		return rd->check(&out, rd->payload);
	if (rd->count < CB_ARRAY_SIZE(rd->rows))
		describe(&out, &rd->rows[rd->count]);
	rd->count++;
	return 0;
}

/* Read csv (len bytes) named source; returns the first error. */
static int
read_text(struct read *rd, const char *source, const char *csv, size_t len)
{
	cb_csv_options o = CB_CSV_OPTIONS_INIT;
	int error;

	o.source = source;
	rd->mapped = false;
	rd->count = 0;
	ASSERT_OK(cb_csv_reader_new(&rd->reader, &o));
	ASSERT_OK(cb__costfile_new(&rd->cf, source, 7));
	error = cb_csv_feed(rd->reader, csv, len, read_row, rd);
	if (error == 0)
		error = cb_csv_finish(rd->reader, read_row, rd);
	return error;
}

static void
read_done(struct read *rd)
{
	cb_csv_reader_free(rd->reader);
	cb__costfile_free(rd->cf);
	for (size_t i = 0; i < CB_ARRAY_SIZE(rd->rows); i++)
		cb_buf_dispose(&rd->rows[i]);
	memset(rd, 0, sizeof(*rd));
}

/* Read csv, expecting code and exactly message. */
static void
expect_error(const char *csv, int code, const char *message)
{
	struct read rd = { 0 };
	int error = read_text(&rd, "t.csv", csv, strlen(csv));

	if (error != code)
		fail_msg("expected %s, got %s: %s", cb_error_name(code),
			cb_error_name(error), cb_error_last()->message);
	assert_string_equal(cb_error_last()->message, message);
	read_done(&rd);
}

/* ---- the partner set, from armsim's generator ----------------------- */

struct expect {
	as_costgen *g;
	uint64_t rows, customers, tags;
	cb_buf line;
};

static int
check_generated(const cb_cost_row *row, void *payload)
{
	struct expect *e = payload;
	const as_cost_row *r;
	char s[16];

	assert_int_equal(as_costgen_next(e->g, &r), 1);
	e->rows++;
	assert_int_equal(row->part, 7);
	assert_int_equal(row->line, e->rows + 1);
	ymd(row->date, s);
	assert_int_equal(strncmp(s, "2026-10-", 8), 0);
	assert_int_equal(atoi(s + 8), r->day);
	assert_true(row->amount_present[CB_COST_COST_BILLING]);
	assert_int_equal(
		cb_money_cmp(row->amounts[CB_COST_COST_BILLING], r->cost), 0);
	assert_int_equal(
		cb_money_cmp(row->amounts[CB_COST_COST_USD], r->cost_usd), 0);
	assert_int_equal(cb_money_cmp(row->amounts[CB_COST_PAYG_COST_BILLING],
				 r->payg_cost),
		0);
	assert_int_equal(
		cb_money_cmp(row->amounts[CB_COST_QUANTITY], r->quantity), 0);
	assert_int_equal(
		row->text[CB_COST_BILLING_CURRENCY].len, strlen(r->currency));
	assert_memory_equal(row->text[CB_COST_BILLING_CURRENCY].ptr,
		r->currency, strlen(r->currency));
	assert_int_equal(
		row->text[CB_COST_CHARGE_TYPE].len, strlen(r->charge_type));
	assert_memory_equal(row->text[CB_COST_CHARGE_TYPE].ptr, r->charge_type,
		strlen(r->charge_type));
	assert_int_equal(row->text[CB_COST_METER_ID].len, strlen(r->meter_id));
	assert_memory_equal(row->text[CB_COST_METER_ID].ptr, r->meter_id,
		strlen(r->meter_id));
	assert_true(row->date_present[CB_COST_BILLING_PERIOD_START]);
	ymd(row->dates[CB_COST_BILLING_PERIOD_START], s);
	assert_string_equal(s, "2026-10-01");
	ymd(row->dates[CB_COST_BILLING_PERIOD_END], s);
	assert_string_equal(s, "2026-10-31");
	if (r->customer != AS_ANY) {
		assert_non_null(row->text[CB_COST_CUSTOMER_TENANT_ID].ptr);
		e->customers++;
	} else {
		assert_null(row->text[CB_COST_CUSTOMER_TENANT_ID].ptr);
	}
	if (row->tags.ptr) {
		assert_true(row->tags.len >= 2 && row->tags.ptr[0] == '{' &&
			    row->tags.ptr[row->tags.len - 1] == '}');
		e->tags++;
	}
	assert_true(row->credit_eligible == 0 || row->credit_eligible == 1);
	assert_true(row->pec_applied == 0 || row->pec_applied == 1);
	assert_null(row->extra.ptr);
	return 0;
}

static void
test_partner_file_from_armsim(void **state)
{
	as_partner_opts o;
	as_partner *p = NULL;
	as_cost_filter f;
	as_costgen *g = NULL;
	const as_cost_row *r;
	cb_buf csv = CB_BUF_INIT;
	struct expect e = { 0 };
	struct read rd = { 0 };
	char err[256];
	uint64_t made = 0;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.seed = 11;
	o.customers = 3;
	o.subscriptions_per_customer = 2;
	o.rows_per_subscription_day = 4;
	o.year = 2026;
	o.month = 10;
	if (as_partner_generate(&p, &o, err, sizeof(err)) != 0)
		fail_msg("partner: %s", err);
	as_cost_filter_init(&f, AS_METRIC_ACTUAL, AS_ANY);
	assert_int_equal(as_costgen_open(&g, p, &f), 0);
	assert_int_equal(as_cost_csv_header(&csv), 0);
	while (as_costgen_next(g, &r) == 1) {
		assert_int_equal(as_cost_csv_row(g, &csv), 0);
		made++;
	}
	as_costgen_free(g);
	assert_true(made > 500);

	assert_int_equal(as_costgen_open(&e.g, p, &f), 0);
	rd.check = check_generated;
	rd.payload = &e;
	ASSERT_OK(read_text(&rd, "gen.csv", csv.ptr, csv.size));
	assert_int_equal(cb__costfile_schema_of(rd.cf), CB__COSTFILE_MPA);
	assert_int_equal(e.rows, made);
	assert_true(e.customers > 0);
	assert_true(e.tags > 0);
	assert_int_equal(as_costgen_next(e.g, &r), 0);
	as_costgen_free(e.g);
	read_done(&rd);

	/* The first row, whole. */
	{
		const char *end = memchr(csv.ptr, '\n', csv.size);

		end = memchr(end + 1, '\n', csv.size);
		ASSERT_OK(read_text(
			&rd, "gen.csv", csv.ptr, (size_t)(end + 1 - csv.ptr)));
		assert_int_equal(rd.count, 1);
		assert_row(rd.rows[0].ptr,
			"line=2 part=7\n"
			"invoiceId=G020559835\n"
			"billingAccountId=812e6299-272e-4df0-aa4a-0f1"
			"a750459c4:8d4bc9"
			"e1-7ab0-480e-99bb-512052f09f64_2019-05-31\n"
			"billingAccountName=Trey Research Cloud Partners\n"
			"billingProfileId=7MDB-2YWP-G27-YF8\n"
			"billingProfileName=Trey Research Cloud Partn"
			"ers Americas\n"
			"partnerTenantId=50f5647d-2380-409d-832a-5cd27a6b13a1\n"
			"partnerName=Trey Research Cloud Partners\n"
			"customerTenantId=df2816a8-d273-49c2-b352-3ec"
			"6141531b7\n"
			"customerName=Coho Winery Logistics 1\n"
			"serviceFamily=Compute\n"
			"productOrderId=6560ceeb-bc68-47df-a081-844e107f7aa5\n"
			"productOrderName=Azure plan\n"
			"consumedService=Microsoft.Compute\n"
			"meterId=6513270e-269e-4d37-b2a7-4de452e6b438\n"
			"meterName=D2s v5\n"
			"meterCategory=Virtual Machines\n"
			"meterSubCategory=Dsv5 Series\n"
			"meterRegion=EU West\n"
			"productId=DZH318Z0C3S9/0013\n"
			"productName=Virtual Machines Dsv5 Series\n"
			"subscriptionId=6560ceeb-bc68-47df-a081-844e107f7aa5\n"
			"subscriptionName=Production Coho Winery Logistics 1\n"
			"publisherType=Microsoft\n"
			"publisherName=Microsoft\n"
			"resourceGroup=rg-web-prod\n"
			"resourceId=/subscriptions/6560ceeb-bc68-47df"
			"-a081-844e107f7a"
			"a5/resourceGroups/rg-web-prod/providers/Micr"
			"osoft.Compute/vi"
			"rtualMachines/vm-app-03\n"
			"resourceLocation=westeurope\n"
			"location=EU West\n"
			"unitOfMeasure=1 Hour\n"
			"chargeType=Usage\n"
			"billingCurrency=USD\n"
			"pricingCurrency=USD\n"
			"frequency=UsageBased\n"
			"term=12\n"
			"reservationId=/providers/Microsoft.Capacity/"
			"reservationOrder"
			"s/f8dba003-98df-4681-b3fa-124218a0d50e/reser"
			"vations/c9aa9da6"
			"-8a46-49b9-b68d-96d085787028\n"
			"reservationName=VM_RI_10-01-2025_3581\n"
			"pricingModel=Reservation\n"
			"benefitId=/providers/Microsoft.Capacity/rese"
			"rvationOrders/f8"
			"dba003-98df-4681-b3fa-124218a0d50e/reservati"
			"ons/c9aa9da6-8a4"
			"6-49b9-b68d-96d085787028\n"
			"benefitName=VM_RI_10-01-2025_3581\n"
			"provider=Azure\n"
			"date=2026-10-01\n"
			"billingPeriodStart=2026-10-01\n"
			"billingPeriodEnd=2026-10-31\n"
			"servicePeriodStart=2026-10-01\n"
			"servicePeriodEnd=2026-10-31\n"
			"exchangeRateDate=2026-10-01\n"
			"quantity=24\n"
			"effectivePrice=0\n"
			"unitPrice=0.0566\n"
			"paygPrice=0.096\n"
			"cost=0\n"
			"costPricing=0\n"
			"costUsd=0\n"
			"paygCost=2.304\n"
			"paygCostUsd=2.304\n"
			"exchangeRate=1\n"
			"pecRate=0\n"
			"creditEligible=1\n"
			"pecApplied=0\n"
			"tags={\"env\":\"prod\",\"costCenter\":\"CC-1001\"}\n"
			"additionalInfo={\"ServiceType\":\"Standard_D"
			"2s_v5\",\"VCPUs"
			"\":2,\"ImageType\":\"Canonical\",\"UsageType"
			"\":\"ComputeHR\""
			"}\n");
		read_done(&rd);
	}
	cb_buf_dispose(&csv);
	as_partner_free(p);
}

/* ---- the EA set, from Microsoft's sample ----------------------------- */

static void
test_ea_sample(void **state)
{
	const char *dir = getenv("CB_SOURCE_DIR");
	char path[1024];
	cb_buf csv = CB_BUF_INIT;
	struct read rd = { 0 };
	char chunk[4096];
	ssize_t n;
	int fd;

	(void)state;
	snprintf(path, sizeof(path),
		"%s/tests/fixtures/costs/"
		"ea_actual_small.csv",
		dir ? dir : ".");
	if ((fd = open(path, O_RDONLY)) < 0)
		fail_msg("%s: cannot open", path);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		ASSERT_OK(cb__buf_put(&csv, chunk, (size_t)n));
	close(fd);

	ASSERT_OK(read_text(&rd, "ea.csv", csv.ptr, csv.size));
	assert_int_equal(cb__costfile_schema_of(rd.cf), CB__COSTFILE_EA);
	assert_int_equal(rd.count, 11);
	assert_row(rd.rows[0].ptr,
		"line=2 part=7\n"
		"billingAccountId=8611537\n"
		"billingAccountName=Trey Research Demo (DO NOT USE)\n"
		"billingProfileId=8611537\n"
		"billingProfileName=Trey Research Demo (DO NOT USE)\n"
		"invoiceSectionName=ACM\n"
		"costCenter=acm9000\n"
		"serviceFamily=Compute\n"
		"productOrderId=49ed0e4d-8e0c-4f1f-af2c-67c865056615\n"
		"productOrderName=Reserved VM Instance, Standard_B1s, UK Sout"
		"h, 3 Years\n"
		"consumedService=Microsoft.Capacity\n"
		"meterId=f31064a2-ed95-4e11-8b69-270f2fc4fbdd\n"
		"meterName=B1s\n"
		"meterCategory=Virtual Machines\n"
		"meterSubCategory=BS Series\n"
		"meterRegion=UK South\n"
		"productName=Virtual Machines BS Series - B1s - UK South\n"
		"subscriptionId=1caaa5a3-2b66-438e-8ab4-bce37d518c5d\n"
		"subscriptionName=Cost Management Research\n"
		"publisherType=Azure\n"
		"resourceId=/providers/Microsoft.Capacity/reservationOrders/4"
		"9ed0e4d-8e0c-4f1f-af2c-67c865056615/reservations/\n"
		"resourceLocation=uksouth\n"
		"unitOfMeasure=1 Hour\n"
		"chargeType=Purchase\n"
		"billingCurrency=USD\n"
		"frequency=Recurring\n"
		"term=36\n"
		"reservationId=49ed0e4d-8e0c-4f1f-af2c-67c865056615\n"
		"reservationName=VM_RI_06-21-2023_18-56\n"
		"pricingModel=Reservation\n"
		"benefitId=/providers/Microsoft.Capacity/reservationOrders/49"
		"ed0e4d-8e0c-4f1f-af2c-67c865056615/reservations/\n"
		"benefitName=VM_RI_06-21-2023_18-56\n"
		"date=2023-09-21\n"
		"billingPeriodStart=2023-09-01\n"
		"billingPeriodEnd=2023-09-30\n"
		"quantity=1\n"
		"effectivePrice=3.25\n"
		"unitPrice=3.25\n"
		"paygPrice=0\n"
		"cost=3.25\n"
		"creditEligible=1\n"
		"extra={\"AccountOwnerId\":\"acm@testea.onmicrosoft.com\",\"A"
		"ccountName\":\"ACM Team\",\"PartNumber\":\"AAA-88134\"}\n");
	assert_row(rd.rows[1].ptr,
		"line=3 part=7\n"
		"billingAccountId=8611537\n"
		"billingAccountName=Trey Research Demo (DO NOT USE)\n"
		"billingProfileId=8611537\n"
		"billingProfileName=Trey Research Demo (DO NOT USE)\n"
		"invoiceSectionName=ACM\n"
		"costCenter=ACM9000\n"
		"serviceFamily=Compute\n"
		"consumedService=Microsoft.Storage\n"
		"meterId=aaaef613-418a-4a5f-af72-d224d7dee2c6\n"
		"meterName=GRS List and Create Container Operations\n"
		"meterCategory=Storage\n"
		"meterSubCategory=Tiered Block Blob\n"
		"meterRegion=Virginia\n"
		"productName=Tiered Block Blob - GRS - List and Create Contai"
		"ner Operations - US East 2\n"
		"subscriptionId=ed570627-0265-4620-bb42-bae06bcfa914\n"
		"subscriptionName=Trey Research IT\n"
		"publisherType=Azure\n"
		"publisherName=Microsoft\n"
		"resourceGroup=databricks-rg-PeskyData-s6taefbli5c5e\n"
		"resourceId=/subscriptions/ed570627-0265-4620-bb42-bae06bcfa9"
		"14/resourceGroups/databricks-rg-PeskyData-s6taefbli5c5e/prov"
		"iders/Microsoft.Storage/storageAccounts/dbstoragewp6hglwvvra"
		"d2\n"
		"resourceLocation=EastUS2\n"
		"unitOfMeasure=10K\n"
		"chargeType=Usage\n"
		"billingCurrency=USD\n"
		"frequency=UsageBased\n"
		"pricingModel=OnDemand\n"
		"date=2023-09-04\n"
		"billingPeriodStart=2023-09-01\n"
		"billingPeriodEnd=2023-09-30\n"
		"quantity=0.0004\n"
		"effectivePrice=0.1\n"
		"unitPrice=0.1\n"
		"paygPrice=0.1\n"
		"cost=0.00004\n"
		"creditEligible=1\n"
		"tags={\"CostCenter\":\"1234\",\"env\":\"prod\",\"org\":\"tre"
		"y\",\"application\":\"databricks\",\"databricks-environment"
		"\":\"true\"}\n"
		"extra={\"AccountOwnerId\":\"acm@testea.onmicrosoft.com\",\"A"
		"ccountName\":\"ACM Team\",\"PartNumber\":\"AAD-37090\",\"Res"
		"ourceName\":\"dbstoragewp6hglwvvrad2\",\"OfferId\":\"MS-AZR-"
		"0017P\",\"PlanName\":\"Hot\"}\n");
	assert_row(rd.rows[10].ptr,
		"line=12 part=7\n"
		"billingAccountId=8611537\n"
		"billingAccountName=Trey Research Demo (DO NOT USE)\n"
		"billingProfileId=8611537\n"
		"billingProfileName=Trey Research Demo (DO NOT USE)\n"
		"invoiceSectionName=ACM\n"
		"costCenter=ACM9000\n"
		"serviceFamily=Compute\n"
		"consumedService=Microsoft.Sql\n"
		"meterId=cb0969aa-aaaa-4d6c-ab4b-7e182fa06aff\n"
		"meterName=Standard Node\n"
		"meterCategory=Advanced Data Security\n"
		"meterSubCategory=SQL Database\n"
		"productName=Microsoft Defender for SQL - Standard Node\n"
		"subscriptionId=64e355d7-997c-491d-b0c1-8414dccfcf42\n"
		"subscriptionName=Trey Research R&D Playground\n"
		"publisherType=Azure\n"
		"publisherName=Microsoft\n"
		"resourceGroup=example-dtl-DTLWeb-128359\n"
		"resourceId=/subscriptions/64E355D7-997C-491D-B0C1-8414DCCFCF"
		"42/resourceGroups/example-dtl-DTLWeb-128359/providers/Micros"
		"oft.Sql/servers/a7q-a7q5gy-db\n"
		"resourceLocation=CentralUS\n"
		"unitOfMeasure=1/Month\n"
		"chargeType=Usage\n"
		"billingCurrency=USD\n"
		"frequency=UsageBased\n"
		"pricingModel=OnDemand\n"
		"date=2023-09-04\n"
		"billingPeriodStart=2023-09-01\n"
		"billingPeriodEnd=2023-09-30\n"
		"quantity=0.03225806\n"
		"effectivePrice=15\n"
		"unitPrice=15\n"
		"paygPrice=15\n"
		"cost=0.4838709677419368\n"
		"creditEligible=1\n"
		"tags={\"CostCenter\":\"1234\",\"hidden-DevTestLabs-LabUId\":"
		"\"b91f13a0-3134-48c1-877a-a934c56a5996\",\"env\":\"prod\",\""
		"org\":\"trey\",\"costanalysis-parent\":\"http://subscription"
		"s/64e355d7-997c-491d-b0c1-8414dccfcf42/resourcegroups/devtes"
		"tlab/providers/microsoft.devtestlab/labs/example-dtl/environ"
		"ments/example-dtl-DTLWeb-128359\",\"CostAllocationTest\":\"S"
		"ameer\"}\n"
		"additionalInfo={\"ServiceType\":\"SQLThreatDetection\",\"Res"
		"ourceCategory\":\"SQLThreatDetection\"}\n"
		"extra={\"AccountOwnerId\":\"acm@testea.onmicrosoft.com\",\"A"
		"ccountName\":\"ACM Team\",\"PartNumber\":\"AAA-54514\",\"Res"
		"ourceName\":\"a7q-a7q5gy-db\",\"OfferId\":\"MS-AZR-0148P\","
		"\"PlanName\":\"Standard\"}\n");
	read_done(&rd);
	cb_buf_dispose(&csv);
}

/* ---- a direct MCA header: BOM, odd letter case, ISO dates ------------ */

static const char mca_header[] =
	"\xef\xbb\xbfINVOICEID,billingaccountid,BillingAccountName,"
	"billingProfileId,invoiceSectionName,resellerName,costCenter,"
	"billingPeriodStartDate,BILLINGPERIODENDDATE,Date,meterId,"
	"SubscriptionId,resourceLocation,effectivePrice,Quantity,"
	"billingCurrency,costInBillingCurrency,costInUsd,"
	"paygCostInBillingCurrency,exchangeRatePricingToBilling,"
	"IsAzureCreditEligible,additionalInfo,Tags,pricingModel,"
	"costAllocationRuleName,My Column,benefitName\r\n";

static void
test_mca_header_bom_case_iso_dates_exponents(void **state)
{
	struct read rd = { 0 };
	cb_buf csv = CB_BUF_INIT;

	(void)state;
	cb__buf_puts(&csv, mca_header);
	cb__buf_puts(&csv,
		"G1,acct-1,\"Contoso, Ltd\",BP1,Section A,,,2026-10-01,"
		"2026-10-31T00:00:00.0000000Z,2026-10-07T00:00:00Z,"
		"m-1,sub-1,westeurope,3.6E-05,1E+3,EUR,0.036,-1.2345E+02,"
		"1.000000000000000000000,.5,FALSE,"
		"\"{ \"\"a\"\" : [1, 2.5e-3, true, null, {\""
		"\"b\"\":\"\"\\u00e9\"\"}] }\","
		"\"{\"\"env\"\": \"\"prod\"\"}\",OnDemand,rule 1,"
		"\"va\"\"l\\ue\xc3\xa9\t\",\r\n");
	cb__buf_puts(&csv,
		"G1,acct-1,,,,,,10/01/2026,10/31/2026,2/9/2024,,,,0,0,EUR,0,,,"
		",1,,,,,,\r\n");
	ASSERT_OK(read_text(&rd, "mca.csv", csv.ptr, csv.size));
	assert_int_equal(cb__costfile_schema_of(rd.cf), CB__COSTFILE_MCA);
	assert_int_equal(rd.count, 2);
	assert_row(rd.rows[0].ptr,
		"line=2 part=7\n"
		"invoiceId=G1\n"
		"billingAccountId=acct-1\n"
		"billingAccountName=Contoso, Ltd\n"
		"billingProfileId=BP1\n"
		"invoiceSectionName=Section A\n"
		"meterId=m-1\n"
		"subscriptionId=sub-1\n"
		"resourceLocation=westeurope\n"
		"billingCurrency=EUR\n"
		"pricingModel=OnDemand\n"
		"costAllocationRuleName=rule 1\n"
		"date=2026-10-07\n"
		"billingPeriodStart=2026-10-01\n"
		"billingPeriodEnd=2026-10-31\n"
		"quantity=1000\n"
		"effectivePrice=0.000036\n"
		"cost=0.036\n"
		"costUsd=-123.45\n"
		"paygCost=1\n"
		"exchangeRate=0.5\n"
		"creditEligible=0\n"
		"tags={\"env\":\"prod\"}\n"
		"additionalInfo={\"a\":[1,2.5e-3,true,null,{\"b\":\"\\u00e9\""
		"}]}\n"
		"extra={\"My Column\":\"va\\\"l\\\\ue\xc3\xa9\\t\"}\n");
	assert_row(rd.rows[1].ptr, "line=3 part=7\n"
				   "invoiceId=G1\n"
				   "billingAccountId=acct-1\n"
				   "billingCurrency=EUR\n"
				   "date=2024-02-09\n"
				   "billingPeriodStart=2026-10-01\n"
				   "billingPeriodEnd=2026-10-31\n"
				   "quantity=0\n"
				   "effectivePrice=0\n"
				   "cost=0\n"
				   "creditEligible=1\n");
	read_done(&rd);
	cb_buf_dispose(&csv);
}

/* ---- errors ---------------------------------------------------------- */

#define HDR "date,costInBillingCurrency,billingCurrency,tags,quantity\n"

static void
test_error_messages(void **state)
{
	char long_value[200];

	(void)state;
	expect_error("date,billingCurrency,x\n1/1/2026,USD,1\n", CB_EPARSE,
		"t.csv:1: no column costInBillingCurrency (nor Cost)");
	expect_error("Cost,billingCurrency\n1,USD\n", CB_EPARSE,
		"t.csv:1: no column date");
	expect_error("date,Cost\n1/1/2026,1\n", CB_EPARSE,
		"t.csv:1: no column billingCurrency");
	expect_error("Date,Cost,billingCurrency,DATE\n1/1/2026,1,USD,x\n",
		CB_EPARSE,
		"t.csv:1: duplicate column name 'DATE' (columns 1 and 4)");
	expect_error("Date,Cost,billingCurrency,costInBillingCurrency\n"
		     "1/1/2026,1,USD,1\n",
		CB_EPARSE,
		"t.csv:1: columns Cost and costInBillingCurrency are the same "
		"field");
	expect_error(HDR "10/01/2026,abc,USD,,\n", CB_EPARSE,
		"t.csv:2: column costInBillingCurrency: not a decimal number: "
		"\"abc\"");
	expect_error(HDR "10/01/2026,1,USD,,\n10/01/2026,1.5.2,USD,,\n",
		CB_EPARSE,
		"t.csv:3: column costInBillingCurrency: not a decimal number: "
		"\"1.5.2\"");
	expect_error(HDR "10/01/2026,0.0000000000000000001,USD,,\n", CB_EPARSE,
		"t.csv:2: column costInBillingCurrency: more than 18 decimal "
		"places: \"0.0000000000000000001\"");
	expect_error(HDR "10/01/2026,1,USD,,1e-19\n", CB_EPARSE,
		"t.csv:2: column quantity: more than 18 decimal places: "
		"\"1e-19\"");
	expect_error(HDR "10/01/2026,1e40,USD,,\n", CB_EOVERFLOW,
		"t.csv:2: column costInBillingCurrency: out of range: "
		"\"1e40\"");
	expect_error(HDR "10/01/2026, 1,USD,,\n", CB_EPARSE,
		"t.csv:2: column costInBillingCurrency: not a decimal number: "
		"\" 1\"");
	expect_error(HDR "02/30/2026,1,USD,,\n", CB_EPARSE,
		"t.csv:2: column date: impossible date: \"02/30/2026\"");
	expect_error(HDR "02/29/2100,1,USD,,\n", CB_EPARSE,
		"t.csv:2: column date: impossible date: \"02/29/2100\"");
	expect_error(HDR "2026-13-01,1,USD,,\n", CB_EPARSE,
		"t.csv:2: column date: impossible date: \"2026-13-01\"");
	expect_error(HDR "2026/10/01,1,USD,,\n", CB_EPARSE,
		"t.csv:2: column date: not a date: \"2026/10/01\"");
	expect_error(HDR "10-01-2026,1,USD,,\n", CB_EPARSE,
		"t.csv:2: column date: not a date: \"10-01-2026\"");
	expect_error(HDR "2026-10-01T12:00:00Z,1,USD,,\n", CB_EPARSE,
		"t.csv:2: column date: not a whole day: "
		"\"2026-10-01T12:00:00Z\"");
	expect_error(HDR "2026-10-01T00:00:00+02:00,1,USD,,\n", CB_EPARSE,
		"t.csv:2: column date: not a whole day: "
		"\"2026-10-01T00:00:00+02:00\"");
	expect_error(HDR ",1,USD,,\n", CB_EPARSE,
		"t.csv:2: column date: no usage date (it is required): \"\"");
	expect_error(HDR "10/01/2026,1,USD,\"{\"\"a\"\" 1}\",\n", CB_EPARSE,
		"t.csv:2: column tags: malformed JSON at byte 6 (expected "
		"':'): \"{\"a\" 1}\"");
	expect_error(HDR "10/01/2026,1,USD,\"\"\"a\"\":1,\",\n", CB_EPARSE,
		"t.csv:2: column tags: malformed JSON at byte 7 (expected a "
		"string key): \"\"a\":1,\"");
	expect_error(HDR "10/01/2026,1,USD,[1],\n", CB_EPARSE,
		"t.csv:2: column tags: malformed JSON at byte 1 (expected a "
		"string key): \"[1]\"");
	expect_error("date,Cost,billingCurrency,additionalInfo\n"
		     "10/01/2026,1,USD,\"\"\"a\"\":1\"\n",
		CB_EPARSE,
		"t.csv:2: column additionalInfo: malformed JSON at byte 1 "
		"(expected '{'): \"\"a\":1\"");
	expect_error("date,Cost,billingCurrency,isAzureCreditEligible\n"
		     "10/01/2026,1,USD,yes\n",
		CB_EPARSE,
		"t.csv:2: column isAzureCreditEligible: not a"
		" boolean: \"yes\"");
	expect_error("date,Cost,billingCurrency\n10/01/2026,1,US\xff\n",
		CB_EPARSE,
		"t.csv:2: column billingCurrency: invalid UTF-8 at byte 3: "
		"\"US?\"");
	expect_error("date,Cost,billingCurrency,other\n10/01/2026,1,USD,"
		     "caf\xc3\n",
		CB_EPARSE,
		"t.csv:2: column other: invalid UTF-8 at byte 4: \"caf?\"");

	/* A NUL byte (the reader keeps it; PostgreSQL's text cannot). */
	{
		static const char csv[] = "date,Cost,billingCurrency\n"
					  "10/01/2026,1,U\0D\n";

		struct read rd = { 0 };

		assert_int_equal(read_text(&rd, "t.csv", csv, sizeof(csv) - 1),
			CB_EPARSE);
		assert_string_equal(cb_error_last()->message,
			"t.csv:2: column billingCurrency: NUL byte at byte 2: "
			"\"U?D\"");
		read_done(&rd);
	}

	/* Long values are cut in messages. */
	{
		char csv[400];

		memset(long_value, '7', sizeof(long_value));
		long_value[0] = 'x';
		snprintf(csv, sizeof(csv), HDR "10/01/2026,%.*s,USD,,\n", 100,
			long_value);
		expect_error(csv, CB_EPARSE,
			"t.csv:2: column costInBillingCurrency: not a decimal "
			"number: \"x77777777777777777777777777777777777777777"
			"7777777777777777777777...\"");
	}
}

static void
test_field_count_and_source(void **state)
{
	cb_csv_reader *reader = NULL;
	cb__costfile *cf = NULL;
	cb_csv_options o = CB_CSV_OPTIONS_INIT;
	cb_csv_field fields[3] = { { "10/01/2026", 10 }, { "1", 1 },
		{ "USD", 3 } };
	cb_csv_row row = { fields, 2, 9 };
	cb_cost_row out;
	static const char head[] = "date,Cost,billingCurrency\n";

	(void)state;
	ASSERT_OK(cb_csv_reader_new(&reader, &o));
	ASSERT_OK(cb_csv_feed(reader, head, sizeof(head) - 1, NULL, NULL));
	ASSERT_OK(cb__costfile_new(
		&cf, "https://blob.example/c.csv?sig=SECRET&se=1", 0));
	assert_int_equal(cb__costfile_row(cf, &row, &out), CB_EINVAL);
	ASSERT_OK(cb__costfile_header(cf, reader));
	assert_int_equal(cb__costfile_row(cf, &row, &out), CB_EPARSE);
	assert_string_equal(cb_error_last()->message,
		"https://blob.example/c.csv:9: row has 2 fields, the header "
		"has 3");
	row.count = 3;
	ASSERT_OK(cb__costfile_row(cf, &row, &out));
	assert_int_equal(out.line, 9);
	assert_int_equal(cb__costfile_schema_of(cf), CB__COSTFILE_EA);
	cb__costfile_free(cf);
	cb_csv_reader_free(reader);
}

/* ---- dates and flags ------------------------------------------------- */

static void
test_dates_and_flags(void **state)
{
	struct read rd = { 0 };
	static const char csv[] =
		"date,Cost,billingCurrency,partnerEarnedCreditApplied,"
		"exchangeRateDate\n"
		"01/01/1970,1,USD,True,0001-01-01\n"
		"2/29/2000,1,USD,false,9999-12-31\n"
		"2024-02-29T00:00,1,USD,1,12/31/1969\n"
		"2026-10-01T00:00:00.0000000,1,USD,0,2026-10-"
		"01T00:00:00-00:00\n"
		"2026-10-01T00:00:00.000+00:00,1,USD,TRUE,\n";

	(void)state;
	ASSERT_OK(read_text(&rd, "d.csv", csv, sizeof(csv) - 1));
	assert_int_equal(rd.count, 5);
	assert_row(rd.rows[0].ptr,
		"line=2 part=7\nbillingCurrency=USD\ndate=1970-01-01\n"
		"exchangeRateDate=1-01-01\ncost=1\npecApplied=1\n");
	assert_row(rd.rows[1].ptr,
		"line=3 part=7\nbillingCurrency=USD\ndate=2000-02-29\n"
		"exchangeRateDate=9999-12-31\ncost=1\npecApplied=0\n");
	assert_row(rd.rows[2].ptr,
		"line=4 part=7\nbillingCurrency=USD\ndate=2024-02-29\n"
		"exchangeRateDate=1969-12-31\ncost=1\npecApplied=1\n");
	assert_row(rd.rows[3].ptr,
		"line=5 part=7\nbillingCurrency=USD\ndate=2026-10-01\n"
		"exchangeRateDate=2026-10-01\ncost=1\npecApplied=0\n");
	assert_row(rd.rows[4].ptr,
		"line=6 part=7\nbillingCurrency=USD\ndate=2026-10-01\n"
		"cost=1\npecApplied=1\n");
	read_done(&rd);
}

/* ---- the JSON checker ------------------------------------------------ */

static void
json_ok(const char *in, bool fragment, const char *want)
{
	char out[512];
	size_t n = 0;
	cb__costjson_error err = { 0, NULL };

	if (cb__costjson_object(out, &n, in, strlen(in), fragment, &err) != 0)
		fail_msg("'%s': at %zu: %s", in, err.offset, err.what);
	assert_true(n <= strlen(in) + 2);
	out[n] = '\0';
	assert_string_equal(out, want);
}

static void
json_bad(const char *in, bool fragment, size_t offset, const char *what)
{
	char out[512];
	size_t n = 0;
	cb__costjson_error err = { 0, NULL };

	if (cb__costjson_object(out, &n, in, strlen(in), fragment, &err) == 0)
		fail_msg("'%s' accepted", in);
	assert_int_equal(err.offset, offset);
	assert_string_equal(err.what, what);
}

static void
test_json(void **state)
{
	char deep[200];

	(void)state;
	json_ok("{}", false, "{}");
	json_ok(" { } ", false, "{}");
	json_ok("{\"a\" : 1 ,\n\"b\":[ ], \"c\": {\"d\": [true,false,null]}}",
		false, "{\"a\":1,\"b\":[],\"c\":{\"d\":[true,false,null]}}");
	json_ok("{\"n\":[-0,0.5,1e5,-2.5E-3,10]}", false,
		"{\"n\":[-0,0.5,1e5,-2.5E-3,10]}");
	json_ok("{\"s\":\"a b\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"
		"\xc3\xa9\xf0\x9f\x98\x80\"}",
		false,
		"{\"s\":\"a b\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"
		"\xc3\xa9\xf0\x9f\x98\x80\"}");
	/* Azure's brace-less tags */
	json_ok("\"CostCenter\": \"1234\",\"env\": \"prod\"", true,
		"{\"CostCenter\":\"1234\",\"env\":\"prod\"}");
	json_ok("  ", true, "{}");
	json_ok("{\"a\":\"b\"}", true, "{\"a\":\"b\"}");

	json_bad("", false, 0, "expected '{'");
	json_bad("\"a\":1", false, 0, "expected '{'");
	json_bad("{", false, 1, "expected a string key");
	json_bad("{\"a\":1", false, 6, "expected ',' or '}'");
	json_bad("{\"a\":1,}", false, 7, "expected a string key");
	json_bad("{\"a\":1} x", false, 8, "text after the object");
	json_bad("{\"a\":01}", false, 6, "expected ',' or '}'");
	json_bad("{\"a\":1.}", false, 5, "bad number");
	json_bad("{\"a\":-}", false, 5, "bad number");
	json_bad("{\"a\":1e}", false, 5, "bad number");
	json_bad("{\"a\":1e1001}", false, 5, "number out of range");
	json_ok("{\"a\":1e-1000}", false, "{\"a\":1e-1000}");
	json_bad("{\"a\":tru}", false, 5, "expected a value");
	json_bad("{\"a\":nul}", false, 5, "expected a value");
	json_bad("{\"a\":\"x}", false, 5, "unterminated string");
	json_bad("{\"a\":\"\\x\"}", false, 6, "bad escape");
	json_bad("{\"a\":\"\\u12g4\"}", false, 6, "bad \\u escape");
	json_bad("{\"a\":\"\\u0000\"}", false, 6, "\\u0000 is not allowed");
	json_bad("{\"a\":\"\\ud800\"}", false, 6, "unpaired surrogate escape");
	json_bad("{\"a\":\"\\udc00\"}", false, 6, "unpaired surrogate escape");
	json_bad("{\"a\":\"\\ud800\\u0041\"}", false, 6,
		"unpaired surrogate escape");
	json_bad("{\"a\":\"\t\"}", false, 6, "control character in a string");
	json_bad("{\"a\":\"\xc3\"}", false, 6, "invalid UTF-8");
	json_bad("{\"a\":\"\xc0\xaf\"}", false, 6, "invalid UTF-8");
	json_bad("{\"a\":\"\xed\xa0\x80\"}", false, 6, "invalid UTF-8");
	json_bad("{\"a\":\"\xf4\x90\x80\x80\"}", false, 6, "invalid UTF-8");
	json_bad("{a:1}", false, 1, "expected a string key");
	json_bad("\"a\":1}", true, 5, "expected ','");
	json_bad("\"a\" 1", true, 4, "expected ':'");

	/* 32 levels are fine, 33 are not. */
	{
		size_t i, n = 0;

		for (i = 0; i < 31; i++)
			n += (size_t)snprintf(
				deep + n, sizeof(deep) - n, "{\"a\":");
		deep[n] = '\0';
		strcat(deep, "{}");
		for (i = 0; i < 31; i++)
			strcat(deep, "}");
		json_ok(deep, false, deep);
	}
	{
		char d3[400];
		size_t n = 0;

		for (int i = 0; i < 32; i++)
			n += (size_t)snprintf(d3 + n, sizeof(d3) - n, "[");
		d3[n] = '\0';
		{
			char in[420];

			snprintf(in, sizeof(in), "{\"a\":%s", d3);
			json_bad(in, false, 5 + 31, "nested too deeply");
		}
	}
}

/* Mutated objects never write past len + 2 bytes (heap buffers of that
 * size, so ASan sees any overrun) and, when accepted, are accepted again
 * as written. */
static void
test_json_mutations(void **state)
{
	static const char seed[] = "{ \"a\" : [1, -2.5e-3, true, false, null, {"
				   "\"b\":\"\\u00e9x\"}],"
				   " \"c\\\"\" : \"\xc3\xa9\\ud83d\\ude00\" }";
	static const char bytes[] = "{}[]\":,\\u0-.eE1 tfn\xc3\xa9\xed\x80";
	uint64_t rng = 42;
	size_t accepted = 0;

	(void)state;
	for (int it = 0; it < 20000; it++) {
		char in[sizeof(seed) + 8];
		size_t len = sizeof(seed) - 1, n = 0, n2 = 0;
		char *out, *again;
		cb__costjson_error err;
		bool fragment;

		memcpy(in, seed, len);
		for (int m = 0; m < 1 + it % 4; m++) {
			rng = rng * 6364136223846793005u + 1442695040888963407u;
			in[(rng >> 33) % len] =
				bytes[(rng >> 17) % (sizeof(bytes) - 1)];
		}
		rng = rng * 6364136223846793005u + 1442695040888963407u;
		if ((rng >> 40) % 3 == 0)
			len = (size_t)((rng >> 20) % len);
		fragment = (rng >> 50) & 1;
		out = malloc(len + 2);
		if (cb__costjson_object(out, &n, in, len, fragment, &err) ==
			0) {
			accepted++;
			assert_true(n <= len + 2);
			again = malloc(n + 2);
			assert_int_equal(cb__costjson_object(again, &n2, out, n,
						 false, &err),
				0);
			assert_int_equal(n2, n);
			assert_memory_equal(again, out, n);
			free(again);
		} else {
			assert_true(err.offset <= len);
			assert_non_null(err.what);
		}
		free(out);
	}
	assert_true(accepted > 100);
}

/* ---- names ----------------------------------------------------------- */

static void
test_names(void **state)
{
	cb_cost_metric m = CB_COST_ACTUAL;
	cb_costs_by by = CB_COSTS_BY_NONE;

	(void)state;
	assert_string_equal(cb_cost_metric_name(CB_COST_ACTUAL), "actual");
	assert_string_equal(
		cb_cost_metric_name(CB_COST_AMORTIZED), "amortized");
	assert_null(cb_cost_metric_name((cb_cost_metric)2));
	ASSERT_OK(cb_cost_metric_parse(&m, "Amortized"));
	assert_int_equal(m, CB_COST_AMORTIZED);
	ASSERT_OK(cb_cost_metric_parse(&m, "actual"));
	assert_int_equal(m, CB_COST_ACTUAL);
	assert_int_equal(cb_cost_metric_parse(&m, "both"), CB_EINVAL);
	assert_string_equal(cb_error_last()->message,
		"unknown cost metric 'both' (actual or amortized)");
	assert_int_equal(cb_cost_metric_parse(&m, NULL), CB_EINVAL);

	assert_null(cb_costs_by_name(CB_COSTS_BY_NONE));
	assert_null(cb_costs_by_name((cb_costs_by)99));
	assert_null(cb_costs_by_name((cb_costs_by)-1));
	assert_string_equal(cb_costs_by_name(CB_COSTS_BY_CUSTOMER), "customer");
	assert_string_equal(
		cb_costs_by_name(CB_COSTS_BY_SUBSCRIPTION), "subscription");
	assert_string_equal(
		cb_costs_by_name(CB_COSTS_BY_SERVICE_FAMILY), "service-family");
	assert_string_equal(
		cb_costs_by_name(CB_COSTS_BY_METER_CATEGORY), "meter-category");
	assert_string_equal(cb_costs_by_name(CB_COSTS_BY_DAY), "day");
	for (int i = CB_COSTS_BY_CUSTOMER; i <= CB_COSTS_BY_DAY; i++) {
		ASSERT_OK(cb_costs_by_parse(&by, cb_costs_by_name(i)));
		assert_int_equal(by, i);
	}
	ASSERT_OK(cb_costs_by_parse(&by, "Service-Family"));
	assert_int_equal(by, CB_COSTS_BY_SERVICE_FAMILY);
	assert_int_equal(cb_costs_by_parse(&by, "none"), CB_EINVAL);
	assert_string_equal(cb_error_last()->message,
		"unknown grouping 'none' (customer, subscription, "
		"service-family, meter-category or day)");
	assert_int_equal(cb_costs_by_parse(&by, ""), CB_EINVAL);
}

/* ---- allocation failures --------------------------------------------- */

static void
test_allocation_failures(void **state)
{
	static const char csv[] =
		"date,Cost,billingCurrency,tags,Other\n"
		"10/01/2026,1,USD,\"\"\"a\"\":\"\"b\"\"\",x\n";
	int ok = 0;

	(void)state;
	for (unsigned long n = 1; n < 40 && !ok; n++) {
		cb_csv_reader *reader = NULL;
		cb__costfile *cf = NULL;
		cb_csv_options o = CB_CSV_OPTIONS_INIT;
		struct read rd = { 0 };
		int error;

		ASSERT_OK(cb_csv_reader_new(&reader, &o));
		cb__alloc_fail_after(n);
		error = cb__costfile_new(&cf, "t.csv", 0);
		if (error == 0) {
			rd.reader = reader;
			rd.cf = cf;
			error = cb_csv_feed(
				reader, csv, sizeof(csv) - 1, read_row, &rd);
		}
		cb__alloc_fail_after(0);
		if (error == 0)
			ok = rd.count == 1;
		else
			assert_int_equal(error, CB_ENOMEM);
		cb__costfile_free(cf);
		cb_csv_reader_free(reader);
		for (size_t i = 0; i < CB_ARRAY_SIZE(rd.rows); i++)
			cb_buf_dispose(&rd.rows[i]);
	}
	assert_true(ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partner_file_from_armsim),
		cmocka_unit_test(test_ea_sample),
		cmocka_unit_test(test_mca_header_bom_case_iso_dates_exponents),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_field_count_and_source),
		cmocka_unit_test(test_dates_and_flags),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_mutations),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_allocation_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
