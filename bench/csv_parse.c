/*
 * bench/csv_parse.c - how fast cb_csv_feed() reads a cost-details file.
 *
 * Generates an in-memory file shaped like an Azure MPA cost-details export
 * (the 70 columns of schema 2023-12-01-preview: GUIDs, MM/dd/yyyy dates,
 * 16-digit decimals, long resource ids, names with commas, quoted JSON
 * tags and additionalInfo), or reads one from --file, then parses it
 * --iterations times, pushing it in --chunk sized pieces the way an HTTP
 * body arrives, with a callback that counts rows and touches a few fields.
 * Prints MB/s (10^6 bytes per second) for the best and median run and,
 * as a reference measured on the same machine in the same run, the speed
 * of memchr() finding every line feed in the same bytes: no parser can do
 * less work than that.  --write PATH saves the generated file, for
 * comparing other readers (DuckDB's read_csv) on identical input.
 *
 * Exits 1 if the rows or fields read differ from what was generated, so a
 * tiny run doubles as a smoke test (ctest bench.csv_parse_smoke).
 */
#define _POSIX_C_SOURCE 200809L

#include <chargeback/chargeback.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COLUMNS 70

static const char *const header[COLUMNS] = { "invoiceId", "previousInvoiceId",
	"billingAccountId", "billingAccountName", "billingProfileId",
	"billingProfileName", "invoiceSectionId", "invoiceSectionName",
	"partnerTenantId", "partnerName", "resellerName", "resellerMpnId",
	"customerTenantId", "customerName", "costCenter",
	"billingPeriodEndDate", "billingPeriodStartDate",
	"servicePeriodEndDate", "servicePeriodStartDate", "date",
	"serviceFamily", "productOrderId", "productOrderName",
	"consumedService", "meterId", "meterName", "meterCategory",
	"meterSubCategory", "meterRegion", "ProductId", "ProductName",
	"SubscriptionId", "subscriptionName", "publisherType", "publisherId",
	"publisherName", "resourceGroupName", "ResourceId", "resourceLocation",
	"location", "effectivePrice", "quantity", "unitOfMeasure", "chargeType",
	"billingCurrency", "pricingCurrency", "costInBillingCurrency",
	"costInPricingCurrency", "costInUsd", "paygCostInBillingCurrency",
	"paygCostInUsd", "exchangeRatePricingToBilling", "exchangeRateDate",
	"isAzureCreditEligible", "serviceInfo1", "serviceInfo2",
	"additionalInfo", "tags", "partnerEarnedCreditRate",
	"partnerEarnedCreditApplied", "PayGPrice", "frequency", "term",
	"reservationId", "reservationName", "PricingModel", "unitPrice",
	"benefitId", "benefitName", "provider" };

struct text {
	char *ptr;
	size_t len, cap;
};

static void
text_put(struct text *t, const char *s, size_t n)
{
	if (t->len + n > t->cap) {
		size_t cap = t->cap ? t->cap : 1 << 20;

		while (cap < t->len + n)
			cap *= 2;
		if ((t->ptr = realloc(t->ptr, cap)) == NULL) {
			fprintf(stderr, "csv_parse: out of memory\n");
			exit(1);
		}
		t->cap = cap;
	}
	memcpy(t->ptr + t->len, s, n);
	t->len += n;
}

static void
text_puts(struct text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

static uint64_t rng_state = 20231201;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void
guid(char *out, uint64_t seed)
{
	uint64_t a = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
	uint64_t b = a * UINT64_C(0xbf58476d1ce4e5b9) + 7;

	snprintf(out, 37,
		"%08" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%04" PRIx32
		"-%012" PRIx64,
		(uint32_t)(a >> 32), (uint32_t)(a >> 16) & 0xffff,
		(uint32_t)a & 0xffff, (uint32_t)(b >> 48),
		b & UINT64_C(0xffffffffffff));
}

/* A decimal with up to 16 fraction digits, from integers only. */
static void
decimal(char *out, size_t outlen, uint64_t whole_max)
{
	uint64_t whole = rng() % (whole_max + 1);
	uint64_t frac = rng() % UINT64_C(10000000000000000);
	int digits = 1 + (int)(rng() % 16);
	char f[17];

	snprintf(f, sizeof(f), "%016" PRIu64, frac);
	snprintf(out, outlen, "%" PRIu64 ".%.*s", whole, digits, f);
}

static const char *const meters[][4] = {
	{ "Compute", "Virtual Machines", "Dsv3 Series", "D2s v3" },
	{ "Storage", "Storage", "Premium SSD Managed Disks", "P10 LRS Disk" },
	{ "Networking", "Bandwidth", "Inter-Region",
		"Standard Data Transfer "
		"Out" },
	{ "Databases", "SQL Database", "General Purpose - Compute Gen5",
		"vCore" },
	{ "Compute", "Virtual Machines",
		"Reserved VM Instance, Standard_B1s, "
		"UK South, 3 Years",
		"B1s" },
};

static void
gen_row(struct text *t, uint64_t row)
{
	uint64_t customer = rng() % 500, sub = customer * 4 + rng() % 4;
	const char *const *m = meters[rng() % 5];
	char g[8][40], d[8][40], v[40];
	unsigned day = 1 + (unsigned)(rng() % 28);

	for (int i = 0; i < 8; i++)
		guid(g[i], i < 3 ? customer * 8 + (uint64_t)i : rng());
	for (int i = 0; i < 8; i++)
		decimal(d[i], sizeof(d[i]), i < 2 ? 5 : 250);
	guid(v, sub);

#define F(...)                                             \
	do {                                               \
		char buf_[1024];                           \
		snprintf(buf_, sizeof(buf_), __VA_ARGS__); \
		text_puts(t, buf_);                        \
		text_puts(t, ",");                         \
	} while (0)
#define Q(s) text_puts(t, s "," /* literal text, already CSV */)
	F("G0%08" PRIu64, 10000000 + row / 100000);
	Q("");
	Q("\"8f4c9e7a-1b2c-4d5e-9f00-123456789abc:0a1b2c3d-4e5f-6789-abcd-"
	  "ef0123456789_2019-05-31\"");
	Q("Contoso Cloud Partner Ltd");
	Q("AB12-CD34-EF5-GH6");
	Q("Contoso Billing Profile");
	F("XYZ%03" PRIu64 "-ABC2-PQR-STU", customer % 1000);
	F("Customer %04" PRIu64, customer);
	Q("72f988bf-86f1-41af-91ab-2d7cd011db47");
	Q("Contoso Cloud Partner");
	if (customer % 3 == 0)
		Q("\"Fabrikam Reseller, Inc.\"");
	else
		Q("Northwind Traders");
	F("%07" PRIu64, 4000000 + customer % 7);
	F("%s", g[0]);
	F("\"Customer %04" PRIu64 ", Ltd\"", customer);
	Q("");
	Q("09/30/2026");
	Q("09/01/2026");
	Q("09/30/2026");
	Q("09/01/2026");
	F("09/%02u/2026", day);
	F("%s", m[0]);
	F("%s", g[1]);
	Q("Azure plan");
	Q("Microsoft.Compute");
	F("%s", g[3]);
	F("%s", m[3]);
	F("%s", m[1]);
	if (strchr(m[2], ','))
		F("\"%s\"", m[2]);
	else
		F("%s", m[2]);
	Q("EU West");
	Q("DZH318Z0BQ4L");
	if (strchr(m[2], ','))
		F("\"%s - %s - EU West\"", m[1], m[2]);
	else
		F("%s %s - %s - EU West", m[1], m[2], m[3]);
	F("%s", v);
	F("Customer %04" PRIu64 " Production %" PRIu64, customer, sub % 4);
	Q("Microsoft");
	Q("");
	Q("Microsoft");
	F("rg-app-%03" PRIu64, sub % 1000);
	F("/subscriptions/%s/resourceGroups/rg-app-%03" PRIu64
	  "/providers/Microsoft.Compute/virtualMachines/vm-app-%03" PRIu64
	  "-%02u",
		v, sub % 1000, sub % 1000, (unsigned)(rng() % 40));
	Q("westeurope");
	Q("EU West");
	F("%s", d[0]);
	F("%" PRIu64, 1 + rng() % 744);
	Q("1 Hour");
	Q("Usage");
	Q("EUR");
	Q("USD");
	for (int i = 2; i < 7; i++)
		F("%s", d[i]);
	F("%s", d[1]);
	Q("09/01/2026");
	Q("True");
	Q("");
	Q("");
	Q("\"{\"\"ServiceType\"\":\"\"Standard_D2s_v3\"\",\"\"VMName\"\":"
	  "\"\"\"\",\"\"VCPUs\"\":2,\"\"UsageType\"\":\"\"ComputeHR\"\"}\"");
	if (rng() % 4)
		Q("\"{\"\"env\"\":\"\"prod\"\",\"\"costCenter\"\":\"\"1234\"\","
		  "\"\"owner\"\":\"\"team-a@contoso.com\"\"}\"");
	else
		Q("");
	Q("0.15");
	Q("true");
	F("%s", d[7]);
	Q("UsageBased");
	Q("");
	Q("");
	Q("");
	Q("OnDemand");
	F("%s", d[0]);
	Q("");
	Q("");
	text_puts(t, "Azure\r\n");
#undef F
#undef Q
}

static char *
generate(size_t bytes, size_t *len, uint64_t *rows)
{
	struct text t = { 0 };

	text_put(&t, "\xef\xbb\xbf", 3);
	for (int i = 0; i < COLUMNS; i++) {
		text_puts(&t, header[i]);
		text_puts(&t, i + 1 < COLUMNS ? "," : "\r\n");
	}
	*rows = 0;
	while (t.len < bytes)
		gen_row(&t, (*rows)++);
	*len = t.len;
	return t.ptr;
}

struct counts {
	cb_csv_reader *reader;
	uint64_t rows, fields, touched;
	long cost, tags; /* column indexes, -1 until the header is read */
};

static int
count_row(const cb_csv_row *row, void *payload)
{
	struct counts *c = payload;

	if (c->cost < 0) {
		c->cost =
			cb_csv_column_index(c->reader, "costinbillingcurrency");
		c->tags = cb_csv_column_index(c->reader, "tags");
		if (c->cost < 0 || c->tags < 0) {
			fprintf(stderr, "csv_parse: columns "
					"costInBillingCurrency and tags are "
					"needed\n");
			exit(1);
		}
	}
	c->rows++;
	c->fields += row->count;
	/* Touch what an ingest would convert. */
	c->touched += (uint64_t)row->fields[c->cost].len +
		      (uint64_t)row->fields[c->tags].len +
		      (unsigned char)row->fields[c->cost].ptr[0];
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
parse_once(const char *data, size_t len, size_t chunk, struct counts *c)
{
	cb_csv_options o = CB_CSV_OPTIONS_INIT;
	int error;

	o.source = "bench.csv";
	if ((error = cb_csv_reader_new(&c->reader, &o)) != 0)
		return error;
	c->cost = c->tags = -1;
	for (size_t off = 0; off < len && error == 0; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		error = cb_csv_feed(c->reader, data + off, n, count_row, c);
	}
	if (error == 0)
		error = cb_csv_finish(c->reader, count_row, c);
	cb_csv_reader_free(c->reader);
	c->reader = NULL;
	return error;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: csv_parse [--size MB] [--iterations N] [--chunk BYTES]\n"
		"                 [--file PATH] [--write PATH]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	size_t size_mb = 256, chunk = 16384, len = 0;
	int iterations = 5;
	const char *file = NULL, *write_path = NULL;
	uint64_t rows_made = 0, lf = 0;
	double *times, best, median, memchr_time = 1e9;
	char *data;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--size") == 0)
			size_mb = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--iterations") == 0)
			iterations = atoi(argv[++i]);
		else if (strcmp(argv[i], "--chunk") == 0)
			chunk = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--file") == 0)
			file = argv[++i];
		else if (strcmp(argv[i], "--write") == 0)
			write_path = argv[++i];
		else
			usage();
	}
	if (iterations < 1 || chunk < 1 || (size_mb < 1 && file == NULL))
		usage();

	if (file) {
		struct text t = { 0 };
		char buf[1 << 16];
		ssize_t n;
		int fd = open(file, O_RDONLY);

		if (fd < 0) {
			perror(file);
			return 1;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			text_put(&t, buf, (size_t)n);
		close(fd);
		data = t.ptr;
		len = t.len;
	} else {
		data = generate(size_mb * 1000000, &len, &rows_made);
	}
	if (write_path) {
		FILE *f = fopen(write_path, "wb");

		if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f)) {
			perror(write_path);
			return 1;
		}
	}

	times = calloc((size_t)iterations, sizeof(*times));
	for (int it = 0; it < iterations; it++) {
		struct counts c = { 0 };
		double t0 = now();
		int error = parse_once(data, len, chunk, &c);

		times[it] = now() - t0;
		if (error != 0) {
			fprintf(stderr, "csv_parse: %s\n",
				cb_error_last()->message);
			return 1;
		}
		if (!file && (c.rows != rows_made ||
				     c.fields != rows_made * COLUMNS)) {
			fprintf(stderr,
				"csv_parse: read %" PRIu64 " rows, %" PRIu64
				" fields; generated %" PRIu64 " rows\n",
				c.rows, c.fields, rows_made);
			return 1;
		}
		if (it == 0)
			printf("rows %" PRIu64 ", columns %zu, touched %" PRIu64
			       "\n",
				c.rows, (size_t)COLUMNS, c.touched);
	}
	for (int it = 0; it < 3; it++) {
		double t0 = now();
		const char *p = data, *end = data + len;

		lf = 0;
		while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			lf++;
			p++;
		}
		if (now() - t0 < memchr_time)
			memchr_time = now() - t0;
	}
	qsort(times, (size_t)iterations, sizeof(*times), cmp_double);
	best = times[0];
	median = times[iterations / 2];
	printf("input %.1f MB, chunk %zu bytes, %d iterations\n",
		(double)len / 1e6, chunk, iterations);
	printf("cb_csv_feed: best %.0f MB/s, median %.0f MB/s\n",
		(double)len / 1e6 / best, (double)len / 1e6 / median);
	printf("reference memchr(LF) scan: %.0f MB/s (%" PRIu64
	       " lines); parser is %.1fx slower\n",
		(double)len / 1e6 / memchr_time, lf, best / memchr_time);
	free(times);
	free(data);
	return 0;
}
