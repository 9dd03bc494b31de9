/*
 * tests/unit/emulator/test_costgen.c - armsim's cost lines: the 70-column
 * header, determinism, scope consistency, exact money identities on every
 * row, ActualCost against AmortizedCost, invoices and their rounding
 * adjustments, the mix of charges, bounded memory, `armsim gen-costs`
 * usage errors and the partner file loader.
 */
#include "core/common.h"

#include "chargeback/csv.h"
#include "core/buf.h"
#include "emulator/costgen.h"
#include "emulator/partner.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* ------------------------------------------------------------------ */
/* Helpers */

static as_partner *
mk_partner(
	unsigned customers, unsigned rows, int year, int month, uint64_t seed)
{
	as_partner_opts o = { seed, customers, 2, rows, year, month };
	as_partner *p = NULL;
	char err[256];

	if (as_partner_generate(&p, &o, err, sizeof(err)) != 0)
		fail_msg("generate: %s", err);
	return p;
}

/* Which rows of a stream to keep. */
typedef bool (*row_pred)(const as_cost_row *r, const void *arg);

/* Stream f's lines as CSV (no header) into out, keeping those pred
 * accepts (all when NULL); returns the number kept. */
static size_t
stream(const as_partner *p, const as_cost_filter *f, cb_buf *out, row_pred pred,
	const void *arg)
{
	as_costgen *g = NULL;
	const as_cost_row *r;
	size_t n = 0;

	assert_int_equal(0, as_costgen_open(&g, p, f));
	while (as_costgen_next(g, &r) == 1) {
		if (pred != NULL && !pred(r, arg))
			continue;
		assert_int_equal(0, as_cost_csv_row(g, out));
		n++;
	}
	as_costgen_free(g);
	return n;
}

static cb_money
money(const char *s, size_t len)
{
	cb_money v;

	if (cb_money_parse(&v, s, len) != 0)
		fail_msg("not a decimal: '%.*s'", (int)len, s);
	return v;
}

static cb_money
mul(cb_money a, cb_money b)
{
	cb_money r;

	assert_int_equal(0, cb_money_mul(&r, a, b));
	return r;
}

static cb_money
add(cb_money a, cb_money b)
{
	cb_money r;

	assert_int_equal(0, cb_money_add(&r, a, b));
	return r;
}

static void
assert_money_equal(cb_money want, cb_money got)
{
	char a[CB_MONEY_STR_MAX], b[CB_MONEY_STR_MAX];

	if (cb_money_cmp(want, got) != 0) {
		cb_money_format(a, sizeof(a), want);
		cb_money_format(b, sizeof(b), got);
		fail_msg("expected %s, got %s", a, b);
	}
}

static size_t
decimals(const cb_csv_field *f)
{
	const char *dot = memchr(f->ptr, '.', f->len);

	return dot ? f->len - (size_t)(dot - f->ptr) - 1 : 0;
}

/* ------------------------------------------------------------------ */
/* The header */

/* azure-api-notes.md e.1, in order. */
static const char *const columns[70] = { "invoiceId", "previousInvoiceId",
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

static void
test_header_is_the_70_mpa_columns(void **state)
{
	cb_buf want = CB_BUF_INIT, got = CB_BUF_INIT;

	(void)state;
	for (size_t i = 0; i < 70; i++) {
		if (i > 0)
			cb__buf_putc(&want, ',');
		cb__buf_puts(&want, columns[i]);
	}
	cb__buf_puts(&want, "\r\n");
	assert_int_equal(0, as_cost_csv_header(&got));
	assert_string_equal(want.ptr, got.ptr);
	cb_buf_dispose(&want);
	cb_buf_dispose(&got);
}

/* ------------------------------------------------------------------ */
/* Parsing the CSV back with core's reader */

enum {
	C_EFF,
	C_QTY,
	C_CHARGE,
	C_CUR,
	C_PCUR,
	C_COST,
	C_COSTP,
	C_USD,
	C_PAYG,
	C_PAYGUSD,
	C_RATE,
	C_PECR,
	C_PECA,
	C_PAYGP,
	C_MODEL,
	C_UNIT,
	C_PUB,
	C_METER,
	C_PREV,
	C_CUST,
	C_PROFILE,
	C_DATE,
	C_NCOLS
};

static const char *const col_names[C_NCOLS] = { "effectivePrice", "quantity",
	"chargeType", "billingCurrency", "pricingCurrency",
	"costInBillingCurrency", "costInPricingCurrency", "costInUsd",
	"paygCostInBillingCurrency", "paygCostInUsd",
	"exchangeRatePricingToBilling", "partnerEarnedCreditRate",
	"partnerEarnedCreditApplied", "PayGPrice", "PricingModel", "unitPrice",
	"publisherType", "meterId", "previousInvoiceId", "customerTenantId",
	"billingProfileId", "date" };

struct check {
	cb_csv_reader *rd;
	long col[C_NCOLS];
	size_t rows, adjustments, pec;
	cb_money total;
	unsigned seen; /* bit per kind below */
};

enum {
	S_USAGE = 1,
	S_PURCHASE = 2,
	S_REFUND = 4,
	S_ADJ = 8,
	S_ONDEMAND = 16,
	S_RES = 32,
	S_SP = 64,
	S_SPOT = 128,
	S_MS = 256,
	S_MARKET = 512,
	S_USD = 1024,
	S_EUR = 2048,
	S_JPY = 4096
};

static bool
is(const cb_csv_field *f, const char *s)
{
	return f->len == strlen(s) && memcmp(f->ptr, s, f->len) == 0;
}

static void
note_kinds(struct check *c, const cb_csv_field *v)
{
	static const struct {
		int col;
		const char *text;
		unsigned bit;
	} kinds[] = { { C_CHARGE, "Usage", S_USAGE },
		{ C_CHARGE, "Purchase", S_PURCHASE },
		{ C_CHARGE, "Refund", S_REFUND },
		{ C_CHARGE, "RoundingAdjustment", S_ADJ },
		{ C_MODEL, "OnDemand", S_ONDEMAND },
		{ C_MODEL, "Reservation", S_RES },
		{ C_MODEL, "SavingsPlan", S_SP }, { C_MODEL, "Spot", S_SPOT },
		{ C_PUB, "Microsoft", S_MS },
		{ C_PUB, "Marketplace", S_MARKET }, { C_CUR, "USD", S_USD },
		{ C_CUR, "EUR", S_EUR }, { C_CUR, "JPY", S_JPY } };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (is(&v[kinds[i].col], kinds[i].text))
			c->seen |= kinds[i].bit;
}

/* Every identity of the file's money on one row. */
static int
check_row(const cb_csv_row *row, void *payload)
{
	struct check *c = payload;
	cb_csv_field v[C_NCOLS];
	cb_money eff, qty, rate, payg, cost_p;

	assert_int_equal(70, row->count);
	if (c->rows == 0)
		for (int i = 0; i < C_NCOLS; i++) {
			c->col[i] = cb_csv_column_index(c->rd, col_names[i]);
			assert_true(c->col[i] >= 0);
		}
	for (int i = 0; i < C_NCOLS; i++)
		v[i] = row->fields[c->col[i]];
	c->rows++;
	note_kinds(c, v);
	eff = money(v[C_EFF].ptr, v[C_EFF].len);
	qty = money(v[C_QTY].ptr, v[C_QTY].len);
	rate = money(v[C_RATE].ptr, v[C_RATE].len);
	payg = money(v[C_PAYGP].ptr, v[C_PAYGP].len);
	cost_p = money(v[C_COSTP].ptr, v[C_COSTP].len);
	c->total = add(c->total, money(v[C_COST].ptr, v[C_COST].len));
	assert_money_equal(mul(eff, qty), cost_p);
	assert_money_equal(
		mul(cost_p, rate), money(v[C_COST].ptr, v[C_COST].len));
	assert_money_equal(
		mul(mul(payg, qty), rate), money(v[C_PAYG].ptr, v[C_PAYG].len));
	assert_money_equal(
		mul(payg, qty), money(v[C_PAYGUSD].ptr, v[C_PAYGUSD].len));
	/* Realistic digits, as Azure's files have. */
	assert_true(decimals(&v[C_QTY]) <= 6);
	assert_true(decimals(&v[C_PAYGP]) <= 8);
	if (is(&v[C_CHARGE], "RoundingAdjustment")) {
		c->adjustments++;
		assert_true(is(&v[C_PCUR], "USD") || !is(&v[C_CUR], "USD"));
		assert_true(is(&v[C_RATE], "1"));
		return 0;
	}
	assert_true(decimals(&v[C_EFF]) <= 8);
	assert_true(is(&v[C_PCUR], "USD"));
	assert_money_equal(cost_p, money(v[C_USD].ptr, v[C_USD].len));
	/* PEC exactly on Microsoft OnDemand usage of customers. */
	bool eligible = is(&v[C_PUB], "Microsoft") &&
			is(&v[C_MODEL], "OnDemand") &&
			is(&v[C_CHARGE], "Usage") && v[C_CUST].len > 0;
	assert_true(is(&v[C_PECA], eligible ? "true" : "false"));
	assert_true(is(&v[C_PECR], eligible ? "0.15" : "0"));
	c->pec += eligible;
	if (is(&v[C_CHARGE], "Refund")) {
		assert_true(cb_money_sign(cost_p) < 0);
		assert_int_equal(10, v[C_PREV].len);
	} else
		assert_int_equal(0, v[C_PREV].len);
	return 0;
}

static void
check_file(const char *path, struct check *c)
{
	cb_csv_options o = CB_CSV_OPTIONS_INIT;
	FILE *fp = fopen(path, "rb");

	assert_non_null(fp);
	memset(c, 0, sizeof(*c));
	o.source = path;
	assert_int_equal(0, cb_csv_reader_new(&c->rd, &o));
	assert_int_equal(0, cb_csv_read_fd(c->rd, fileno(fp), check_row, c));
	assert_int_equal(70, cb_csv_column_count(c->rd));
	cb_csv_reader_free(c->rd);
	fclose(fp);
}

/* ------------------------------------------------------------------ */
/* gen-costs in a child process */

struct child {
	int status;
	char err[2048];
	long maxrss_kb;
};

static void
run_gencosts(struct child *ch, const char *const *args)
{
	static char store[16][256];
	char *argv[16];
	int fds[2], argc = 0;
	pid_t pid;
	struct rusage ru;
	ssize_t n, got = 0;

	/* getopt wants writable strings. */
	snprintf(store[0], sizeof(store[0]), "gen-costs");
	argv[argc++] = store[0];
	for (; args[argc - 1] != NULL && argc < 15; argc++) {
		snprintf(
			store[argc], sizeof(store[argc]), "%s", args[argc - 1]);
		argv[argc] = store[argc];
	}
	argv[argc] = NULL;
	assert_int_equal(0, pipe(fds));
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *out = freopen("/dev/null", "w", stdout);
		(void)out;
		dup2(fds[1], 2);
		close(fds[0]);
		_exit(as_gencosts_main(argc, argv));
	}
	close(fds[1]);
	while ((n = read(fds[0], ch->err + got,
			sizeof(ch->err) - 1 - (size_t)got)) > 0)
		got += n;
	ch->err[got] = '\0';
	close(fds[0]);
	assert_int_equal(pid, wait4(pid, &ch->status, 0, &ru));
	ch->maxrss_kb = ru.ru_maxrss;
	assert_true(WIFEXITED(ch->status));
	ch->status = WEXITSTATUS(ch->status);
}

static void
tmp_path(char *out, size_t outlen, const char *name)
{
	const char *dir = getenv("TMPDIR");

	snprintf(out, outlen, "%s/cg-%ld-%s", dir ? dir : "/tmp",
		(long)getpid(), name);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *s;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal((size_t)n, fread(s, 1, (size_t)n, fp));
	s[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return s;
}

static void
test_gencosts_is_deterministic(void **state)
{
	char a[256], b[256], c[256];
	struct child ch;
	char *x, *y, *z;
	size_t xl, yl, zl;

	(void)state;
	tmp_path(a, sizeof(a), "a.csv");
	tmp_path(b, sizeof(b), "b.csv");
	tmp_path(c, sizeof(c), "c.csv");
	run_gencosts(&ch, (const char *const[]){ "--rows", "3000", "--seed",
				  "7", "--out", a, NULL });
	assert_int_equal(0, ch.status);
	assert_string_equal("", ch.err);
	run_gencosts(&ch, (const char *const[]){ "--seed", "7", "--out", b,
				  "--rows", "3000", NULL });
	assert_int_equal(0, ch.status);
	run_gencosts(&ch, (const char *const[]){ "--rows", "3000", "--seed",
				  "8", "--out", c, NULL });
	assert_int_equal(0, ch.status);
	x = slurp(a, &xl);
	y = slurp(b, &yl);
	z = slurp(c, &zl);
	assert_int_equal(xl, yl);
	assert_memory_equal(x, y, xl);
	assert_true(xl != zl || memcmp(x, z, xl) != 0);
	free(x);
	free(y);
	free(z);
	unlink(a);
	unlink(b);
	unlink(c);
}

/* Every row of both views: identities, 70 fields, the whole mix. */
static void
test_every_row_is_consistent_and_the_mix_is_complete(void **state)
{
	char path[256];
	struct child ch;
	struct check c;

	(void)state;
	tmp_path(path, sizeof(path), "mix.csv");
	run_gencosts(&ch, (const char *const[]){ "--rows", "20000", "--out",
				  path, "--period", "2024-02", NULL });
	assert_int_equal(0, ch.status);
	check_file(path, &c);
	assert_int_equal(20000, c.rows);
	assert_int_equal(0x1fff, c.seen);
	assert_true(c.adjustments > 0);
	assert_true(c.pec > 1000);
	run_gencosts(&ch, (const char *const[]){ "--rows", "20000", "--out",
				  path, "--metric", "amortized", NULL });
	assert_int_equal(0, ch.status);
	check_file(path, &c);
	assert_int_equal(20000, c.rows);
	assert_int_equal(0, c.adjustments);
	assert_true((c.seen & (S_RES | S_SP | S_REFUND)) ==
		    (S_RES | S_SP | S_REFUND));
	unlink(path);
}

/* ------------------------------------------------------------------ */
/* Scopes */

static bool
row_customer(const as_cost_row *r, const void *arg)
{
	return r->customer == *(const size_t *)arg;
}

static bool
row_subscription(const as_cost_row *r, const void *arg)
{
	return r->subscription == *(const size_t *)arg;
}

static bool
row_profile(const as_cost_row *r, const void *arg)
{
	return r->profile == *(const size_t *)arg;
}

static bool
row_days(const as_cost_row *r, const void *arg)
{
	const int *d = arg;

	return r->day >= d[0] && r->day <= d[1] && r->subscription != AS_ANY;
}

static void
assert_scope(const as_partner *p, as_metric m, const as_cost_filter *f,
	row_pred pred, const void *arg)
{
	cb_buf whole = CB_BUF_INIT, part = CB_BUF_INIT;
	as_cost_filter all;
	size_t n;

	as_cost_filter_init(&all, m, 0);
	n = stream(p, &all, &whole, pred, arg);
	assert_true(n > 0);
	assert_int_equal(n, stream(p, f, &part, NULL, NULL));
	assert_int_equal(whole.size, part.size);
	assert_memory_equal(whole.ptr, part.ptr, whole.size);
	cb_buf_dispose(&whole);
	cb_buf_dispose(&part);
}

static void
test_a_scope_yields_the_same_lines_as_the_whole_month(void **state)
{
	as_partner *p = mk_partner(7, 3, 2026, 10, 42);
	int days[2] = { 9, 17 };

	(void)state;
	for (int m = 0; m < 2; m++) {
		for (size_t c = 0; c < p->ncustomers; c++) {
			as_cost_filter f;
			as_cost_filter_init(&f, (as_metric)m, 0);
			f.customer = c;
			assert_scope(p, (as_metric)m, &f, row_customer, &c);
		}
		for (size_t s = 0; s < p->nsubscriptions; s += 3) {
			as_cost_filter f;
			if (p->subscriptions[s].account != 0)
				continue;
			as_cost_filter_init(&f, (as_metric)m, 0);
			f.subscription = s;
			assert_scope(p, (as_metric)m, &f, row_subscription, &s);
		}
		/* A whole profile keeps its adjustments, in place. */
		for (size_t pf = 0; pf < 3; pf++) {
			as_cost_filter f;
			as_cost_filter_init(&f, (as_metric)m, 0);
			f.profile = pf;
			assert_scope(p, (as_metric)m, &f, row_profile, &pf);
		}
		as_cost_filter f;
		as_cost_filter_init(&f, (as_metric)m, 0);
		f.first_day = 9;
		f.last_day = 17;
		assert_scope(p, (as_metric)m, &f, row_days, days);
	}
	as_partner_free(p);
}

static void
test_bad_filters_are_refused(void **state)
{
	as_partner *p = mk_partner(2, 1, 2026, 2, 1);
	as_costgen *g = NULL;
	as_cost_filter f;

	(void)state;
	as_cost_filter_init(&f, AS_METRIC_ACTUAL, 2);
	assert_int_equal(-1, as_costgen_open(&g, p, &f));
	as_cost_filter_init(&f, AS_METRIC_ACTUAL, 0);
	f.customer = 2;
	assert_int_equal(-1, as_costgen_open(&g, p, &f));
	f.customer = AS_ANY;
	f.first_day = 29;
	f.last_day = 30;
	assert_int_equal(-1, as_costgen_open(&g, p, &f));
	f.first_day = 28;
	f.last_day = 31; /* clamped to the month's end */
	assert_int_equal(0, as_costgen_open(&g, p, &f));
	as_costgen_free(g);
	as_partner_free(p);
}

/* ------------------------------------------------------------------ */
/* Views and invoices */

struct sums {
	cb_money lines, adjustments;
	cb_money meter[64];
	char meter_id[64][AS_GUID_LEN + 1];
	size_t nmeters;
};

static void
sum_stream(const as_partner *p, const as_cost_filter *f, struct sums *s)
{
	as_costgen *g = NULL;
	const as_cost_row *r;

	memset(s, 0, sizeof(*s));
	assert_int_equal(0, as_costgen_open(&g, p, f));
	while (as_costgen_next(g, &r) == 1) {
		size_t i = 0;
		if (strcmp(r->charge_type, "RoundingAdjustment") == 0) {
			s->adjustments = add(s->adjustments, r->cost);
			continue;
		}
		s->lines = add(s->lines, r->cost);
		while (i < s->nmeters && strcmp(s->meter_id[i], r->meter_id))
			i++;
		if (i == s->nmeters) {
			assert_true(i < 64);
			strcpy(s->meter_id[s->nmeters++], r->meter_id);
		}
		s->meter[i] = add(s->meter[i], r->cost);
	}
	as_costgen_free(g);
}

static void
test_amortized_and_actual_agree_per_subscription(void **state)
{
	as_partner *p = mk_partner(5, 2, 2026, 3, 9);

	(void)state;
	for (size_t s = 0; s < p->nsubscriptions; s++) {
		as_cost_filter f;
		struct sums act, amo;
		as_cost_filter_init(&f, AS_METRIC_ACTUAL, AS_ANY);
		f.subscription = s;
		sum_stream(p, &f, &act);
		f.metric = AS_METRIC_AMORTIZED;
		sum_stream(p, &f, &amo);
		assert_money_equal(act.lines, amo.lines);
	}
	as_partner_free(p);
}

static void
test_invoices_equal_the_lines_rounded_per_meter(void **state)
{
	as_partner *p = mk_partner(9, 3, 2026, 10, 5);
	char name[16];

	(void)state;
	for (size_t pf = 0; pf < p->nprofiles; pf++) {
		as_invoice inv, again;
		as_cost_filter f;
		struct sums s;
		cb_money rounded = CB_MONEY_ZERO, r;
		unsigned places;

		assert_int_equal(0, as_costgen_invoice(p, pf, &inv));
		as_cost_filter_init(&f, AS_METRIC_ACTUAL, AS_ANY);
		f.profile = pf;
		sum_stream(p, &f, &s);
		assert_int_equal(0, cb_currency_minor_units(
					    &places, p->profiles[pf].currency));
		for (size_t i = 0; i < s.nmeters; i++) {
			assert_int_equal(
				0, cb_money_round(&r, s.meter[i], places));
			rounded = add(rounded, r);
		}
		assert_string_equal(p->profiles[pf].currency, inv.currency);
		assert_money_equal(rounded, inv.total);
		assert_money_equal(s.lines, inv.lines);
		assert_money_equal(s.adjustments, inv.rounding_adjustment);
		assert_money_equal(add(s.lines, s.adjustments), inv.total);
		assert_int_equal(0, cb_money_round(&r, inv.total, places));
		assert_money_equal(r, inv.total);
		assert_false(cb_money_is_zero(inv.rounding_adjustment));
		/* Deterministic name, cached answer. */
		assert_int_equal(10, strlen(inv.name));
		assert_memory_equal("G0", inv.name, 2);
		assert_int_equal(8, strspn(inv.name + 2, "0123456789"));
		as_costgen_invoice_name(p, pf, 2026, 10, name, sizeof(name));
		assert_string_equal(name, inv.name);
		assert_int_equal(0, as_costgen_invoice(p, pf, &again));
		assert_memory_equal(&inv, &again, sizeof(inv));
	}
	/* JPY: whole yen. */
	as_invoice jpy;
	cb_money r;
	assert_string_equal("JPY", p->profiles[2].currency);
	assert_int_equal(0, as_costgen_invoice(p, 2, &jpy));
	assert_int_equal(0, cb_money_round(&r, jpy.total, 0));
	assert_money_equal(r, jpy.total);
	assert_int_equal(-1, as_costgen_invoice(p, p->nprofiles, &jpy));
	as_partner_free(p);
}

struct inv_thread {
	const as_partner *p;
	as_invoice inv[4];
	int rc;
};

static void *
inv_thread(void *arg)
{
	struct inv_thread *t = arg;

	for (size_t i = 0; i < 4; i++)
		t->rc |= as_costgen_invoice(t->p, 3 - i, &t->inv[3 - i]);
	return NULL;
}

static void
test_invoices_are_thread_safe(void **state)
{
	as_partner *p = mk_partner(6, 4, 2026, 10, 3);
	struct inv_thread t[4];
	pthread_t th[4];

	(void)state;
	memset(t, 0, sizeof(t));
	for (int i = 0; i < 4; i++) {
		t[i].p = p;
		assert_int_equal(
			0, pthread_create(&th[i], NULL, inv_thread, &t[i]));
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(0, t[i].rc);
		assert_memory_equal(&t[0].inv, &t[i].inv, sizeof(t[0].inv));
	}
	as_partner_free(p);
}

/* ------------------------------------------------------------------ */
/* Memory */

static void
test_memory_does_not_grow_with_rows(void **state)
{
	struct child small, big;

	(void)state;
	run_gencosts(&small, (const char *const[]){ "--rows", "50000", "--out",
				     "/dev/null", NULL });
	run_gencosts(&big, (const char *const[]){ "--rows", "600000", "--out",
				   "/dev/null", NULL });
	assert_int_equal(0, small.status);
	assert_int_equal(0, big.status);
	/* 550,000 more rows (~580 MB of CSV) may not cost 8 MB. */
	assert_true(big.maxrss_kb - small.maxrss_kb < 8 * 1024);
#if !defined(__SANITIZE_ADDRESS__)
	assert_true(big.maxrss_kb < 50 * 1024);
#endif
}

/* ------------------------------------------------------------------ */
/* gen-costs usage */

static void
assert_usage(const char *const *args, int status, const char *err)
{
	struct child ch;

	run_gencosts(&ch, args);
	assert_string_equal(err, ch.err);
	assert_int_equal(status, ch.status);
}

#define SEE "armsim gen-costs: see armsim gen-costs --help\n"

static void
test_gencosts_usage_errors(void **state)
{
	(void)state;
	assert_usage((const char *const[]){ "--out", "/dev/null", NULL }, 2,
		"armsim gen-costs: --rows is required\n" SEE);
	assert_usage((const char *const[]){ "--rows", "5", NULL }, 2,
		"armsim gen-costs: --out is required\n" SEE);
	assert_usage(
		(const char *const[]){ "--rows", "x5", "--out", "f", NULL }, 2,
		"armsim gen-costs: --rows 'x5': expected a whole number "
		"from 0 to 1000000000\n" SEE);
	assert_usage((const char *const[]){ "--rows", "1000000001", NULL }, 2,
		"armsim gen-costs: --rows '1000000001': expected a whole "
		"number from 0 to 1000000000\n" SEE);
	assert_usage((const char *const[]){ "--seed", "-1", NULL }, 2,
		"armsim gen-costs: --seed '-1': expected a whole number from "
		"0 to 18446744073709551615\n" SEE);
	assert_usage((const char *const[]){ "--period", "2026-13", NULL }, 2,
		"armsim gen-costs: --period '2026-13': expected YYYY-MM, "
		"2017-01 to 2100-12\n" SEE);
	assert_usage((const char *const[]){ "--metric", "usage", NULL }, 2,
		"armsim gen-costs: --metric 'usage': expected actual or "
		"amortized\n" SEE);
	assert_usage((const char *const[]){ "--rows", NULL }, 2,
		"armsim gen-costs: --rows needs a value\n" SEE);
	assert_usage((const char *const[]){ "--rowz", "1", NULL }, 2,
		"armsim gen-costs: unknown option '--rowz'\n" SEE);
	assert_usage(
		(const char *const[]){ "--rows", "1", "--out", "f", "g", NULL },
		2, "armsim gen-costs: unexpected argument 'g'\n" SEE);
	assert_usage((const char *const[]){ "--rows", "1", "--out",
			     "/nonexistent/dir/x.csv", NULL },
		1,
		"armsim gen-costs: /nonexistent/dir/x.csv: No such file or "
		"directory\n");
	assert_usage((const char *const[]){ "--help", NULL }, 0, "");
	assert_usage((const char *const[]){ "--rows", "0", "--out", "/dev/null",
			     NULL },
		0, "");
}

/* ------------------------------------------------------------------ */
/* The partner file */

static const char good_partner[] =
	"{\"tenantId\": \"11111111-2222-4333-8444-555555555555\",\n"
	" \"name\": \"Fabrikam, \\\"Cloud\\\" Partners\", \"seed\": 77,\n"
	" \"period\": \"2025-02\", \"rowsPerSubscriptionDay\": 2,\n"
	" \"accounts\": [\n"
	"  {\"name\": \"aaaa:bbbb_2019-05-31\", \"displayName\": \"Fabrikam\",\n"
	"   \"agreement\": \"MicrosoftPartnerAgreement\"},\n"
	"  {\"name\": \"cccc:dddd_2020-01-15\", \"displayName\": \"Own\",\n"
	"   \"agreement\": \"MicrosoftCustomerAgreement\"}],\n"
	" \"profiles\": [\n"
	"  {\"account\": \"aaaa:bbbb_2019-05-31\", \"name\": \"AAAA-BBBB-CCC-DDD\",\n"
	"   \"displayName\": \"Europe\", \"currency\": \"EUR\"},\n"
	"  {\"account\": \"cccc:dddd_2020-01-15\", \"name\": \"EEEE-FFFF-GGG-HHH\",\n"
	"   \"displayName\": \"Own use\", \"currency\": \"USD\",\n"
	"   \"invoiceSection\": \"SECT-ION1\",\n"
	"   \"invoiceSectionDisplayName\": \"Engineering\"}],\n"
	" \"customers\": [\n"
	"  {\"profile\": \"AAAA-BBBB-CCC-DDD\",\n"
	"   \"id\": \"aaaaaaaa-0000-4000-8000-000000000001\",\n"
	"   \"displayName\": \"Contoso\"},\n"
	"  {\"profile\": \"AAAA-BBBB-CCC-DDD\",\n"
	"   \"id\": \"aaaaaaaa-0000-4000-8000-000000000002\",\n"
	"   \"displayName\": \"Northwind\",\n"
	"   \"reseller\": {\"mpnId\": \"4100000\", \"name\": \"Blue Yonder\"}}],\n"
	" \"subscriptions\": [\n"
	"  {\"id\": \"bbbbbbbb-0000-4000-8000-000000000001\",\n"
	"   \"displayName\": \"Contoso Prod\",\n"
	"   \"customer\": \"aaaaaaaa-0000-4000-8000-000000000001\"},\n"
	"  {\"id\": \"bbbbbbbb-0000-4000-8000-000000000002\",\n"
	"   \"displayName\": \"Northwind Dev\", \"skuId\": \"0002\",\n"
	"   \"customer\": \"aaaaaaaa-0000-4000-8000-000000000002\"},\n"
	"  {\"id\": \"bbbbbbbb-0000-4000-8000-000000000003\",\n"
	"   \"displayName\": \"Engineering\",\n"
	"   \"profile\": \"EEEE-FFFF-GGG-HHH\"}]}\n";

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(strlen(text), fwrite(text, 1, strlen(text), fp));
	fclose(fp);
}

static void
test_partner_file_loads(void **state)
{
	char path[256], err[512];
	as_partner *p = NULL;
	as_invoice inv;
	cb_buf csv = CB_BUF_INIT;
	as_cost_filter f;

	(void)state;
	tmp_path(path, sizeof(path), "partner.json");
	write_file(path, good_partner);
	assert_int_equal(0, as_partner_load(&p, path, err, sizeof(err)));
	assert_int_equal(77, p->seed);
	assert_int_equal(2025, p->year);
	assert_int_equal(2, p->month);
	assert_int_equal(2, p->rows_per_subscription_day);
	assert_string_equal("Fabrikam, \"Cloud\" Partners", p->name);
	assert_int_equal(2, p->naccounts);
	assert_int_equal(AS_AGREEMENT_MCA, p->accounts[1].agreement);
	assert_int_equal(2, p->nprofiles);
	assert_string_equal("AAAA-BBBB-CCC-DDD", p->profiles[0].system_id);
	assert_string_equal("SECT-ION1", p->profiles[1].invoice_section);
	assert_int_equal(2, p->ncustomers);
	assert_false(p->customers[0].indirect);
	assert_true(p->customers[1].indirect);
	assert_string_equal("4100000", p->customers[1].reseller_mpn);
	assert_int_equal(3, p->nsubscriptions);
	assert_int_equal(1, p->subscriptions[1].customer);
	assert_int_equal(0, p->subscriptions[1].profile);
	assert_string_equal("0002", p->subscriptions[1].sku_id);
	assert_int_equal(AS_NO_CUSTOMER, p->subscriptions[2].customer);
	assert_int_equal(1, p->subscriptions[2].account);
	/* Its lines: the partner name quoted, the MCA ones customer-free. */
	as_cost_filter_init(&f, AS_METRIC_ACTUAL, AS_ANY);
	assert_true(stream(p, &f, &csv, NULL, NULL) > 28 * 2 * 3);
	assert_non_null(
		strstr(csv.ptr, ",\"Fabrikam, \"\"Cloud\"\" Partners\","));
	assert_non_null(strstr(csv.ptr,
		",SECT-ION1,Engineering,,,,,,,,02/28/2025,02/01/2025,"));
	assert_int_equal(0, as_costgen_invoice(p, 0, &inv));
	assert_string_equal("EUR", inv.currency);
	cb_buf_dispose(&csv);
	as_partner_free(p);
	unlink(path);
}

/* Replace the first occurrence of from with to in good_partner. */
static void
assert_load_error(const char *from, const char *to, const char *want)
{
	char path[256], err[512], text[sizeof(good_partner) + 512], msg[700];
	const char *at = strstr(good_partner, from);
	as_partner *p = NULL;

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good_partner),
		good_partner, to, at + strlen(from));
	tmp_path(path, sizeof(path), "bad.json");
	write_file(path, text);
	assert_int_equal(-1, as_partner_load(&p, path, err, sizeof(err)));
	assert_null(p);
	/* want: "what", or ":LINE:COLUMN: what" for jansson's errors. */
	snprintf(msg, sizeof(msg), "%s%s%s", path, want[0] == ':' ? "" : ": ",
		want);
	assert_string_equal(msg, err);
	unlink(path);
}

static void
test_partner_file_errors(void **state)
{
	char path[256], err[512], msg[600];
	as_partner *p = NULL;

	(void)state;
	assert_load_error("\"name\": \"aaaa:bbbb_2019-05-31\", ", "",
		"accounts[0].name: missing");
	assert_load_error("\"displayName\": \"Fabrikam\"", "\"displayName\": 5",
		"accounts[0].displayName: expected a "
		"string");
	assert_load_error("\"MicrosoftPartnerAgreement\"", "\"EA\"",
		"accounts[0].agreement: 'EA' is not MicrosoftPartnerAgreement "
		"or MicrosoftCustomerAgreement");
	assert_load_error("cccc:dddd_2020-01-15\", \"displayName",
		"AAAA:bbbb_2019-05-31\", \"displayName",
		"accounts[1].name: 'AAAA:bbbb_2019-05-31' is also accounts[0]");
	assert_load_error("\"currency\": \"EUR\"", "\"currency\": \"XYZ\"",
		"profiles[0].currency: 'XYZ' is not one of USD, EUR, JPY, "
		"GBP, AUD, CAD, CHF, DKK, NOK, SEK, INR, BRL");
	assert_load_error("{\"account\": \"aaaa:bbbb_2019-05-31\"",
		"{\"account\": \"nope\"",
		"profiles[0].account: 'nope' names no account");
	assert_load_error(
		"\"tenantId\": \"11111111-2222-4333-8444-555555555555\"",
		"\"tenantId\": \"not-a-guid\"",
		"partner.tenantId: 'not-a-guid' is not a GUID");
	assert_load_error("\"seed\": 77", "\"seed\": -1",
		"seed: expected a whole number from 0 to "
		"9223372036854775807");
	assert_load_error("\"period\": \"2025-02\"", "\"period\": \"2025-2\"",
		"period: '2025-2' is not YYYY-MM (2017 to 2100)");
	assert_load_error("\"displayName\": \"Contoso\"",
		"\"displayName\": \"Contoso\", \"tags\": 1",
		"customers[0].tags: unknown field");
	assert_load_error("\"mpnId\": \"4100000\", ", "",
		"customers[1].reseller.mpnId: missing");
	assert_load_error("{\"profile\": \"AAAA-BBBB-CCC-DDD\",\n   \"id\"",
		"{\"profile\": \"EEEE-FFFF-GGG-HHH\",\n   \"id\"",
		"customers[0].profile: 'EEEE-FFFF-GGG-HHH' is in a Microsoft "
		"Customer Agreement account, which has no customers");
	assert_load_error(
		"\"customer\": \"aaaaaaaa-0000-4000-8000-000000000001\"",
		"\"customer\": \"aaaaaaaa-0000-4000-8000-000000000009\"",
		"subscriptions[0].customer: "
		"'aaaaaaaa-0000-4000-8000-000000000009' names no customer");
	assert_load_error("\"profile\": \"EEEE-FFFF-GGG-HHH\"}]",
		"\"profile\": \"AAAA-BBBB-CCC-DDD\"}]",
		"subscriptions[2].profile: 'AAAA-BBBB-CCC-DDD' is a Microsoft "
		"Partner Agreement profile; name the customer instead");
	assert_load_error(",\n   \"profile\": \"EEEE-FFFF-GGG-HHH\"}]", "}]",
		"subscriptions[2].customer: missing");
	assert_load_error("\"skuId\": \"0002\"", "\"skuId\": \"0003\"",
		"subscriptions[1].skuId: '0003' is not 0001 (Azure plan) or "
		"0002 (Azure plan for DevTest)");
	assert_load_error(
		"000000000002\",\n   \"displayName\": \"Northwind Dev\"",
		"000000000001\",\n   \"displayName\": \"Northwind Dev\"",
		"subscriptions[1].id: 'bbbbbbbb-0000-4000-8000-000000000001' "
		"is also subscriptions[0]");
	assert_load_error(" \"profiles\": [", " \"profiles\": 3, \"x\": [",
		"profiles: expected an array");
	assert_load_error("\"name\": \"Fabrikam", "\"nam\": \"Fabrikam",
		"partner.nam: unknown field");
	/* jansson's own position for broken JSON. */
	assert_load_error("\"seed\": 77,", "\"seed\": 77,,",
		":2:53: string or '}' expected near ','");
	tmp_path(path, sizeof(path), "missing.json");
	assert_int_equal(-1, as_partner_load(&p, path, err, sizeof(err)));
	snprintf(msg, sizeof(msg),
		"%s: unable to open %s: No such file or "
		"directory",
		path, path);
	assert_string_equal(msg, err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_is_the_70_mpa_columns),
		cmocka_unit_test(test_gencosts_is_deterministic),
		cmocka_unit_test(
			test_every_row_is_consistent_and_the_mix_is_complete),
		cmocka_unit_test(
			test_a_scope_yields_the_same_lines_as_the_whole_month),
		cmocka_unit_test(test_bad_filters_are_refused),
		cmocka_unit_test(
			test_amortized_and_actual_agree_per_subscription),
		cmocka_unit_test(
			test_invoices_equal_the_lines_rounded_per_meter),
		cmocka_unit_test(test_invoices_are_thread_safe),
		cmocka_unit_test(test_memory_does_not_grow_with_rows),
		cmocka_unit_test(test_gencosts_usage_errors),
		cmocka_unit_test(test_partner_file_loads),
		cmocka_unit_test(test_partner_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
