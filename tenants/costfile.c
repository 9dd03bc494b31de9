/*
 * tenants/costfile.c - cost file header and rows to cb_cost_row (see
 * costfile.h).
 *
 * The header is mapped once: every column gets an action (a text field,
 * an amount, a date, a flag, tags, additionalInfo, or "extra"), kept as
 * one list of column indexes per kind, so typing a row is a few tight
 * loops over known columns with no lookup and no strlen (a field knows
 * its length).  Nothing is allocated per row: the JSON written for a row
 * (tags, additionalInfo, extra) goes to one scratch buffer that grows to
 * the largest row's need and is reused.
 *
 * What a row's values must be:
 *  - text: valid UTF-8 without NUL bytes (what PostgreSQL's text takes);
 *  - amounts: cb_money_parse() (exponent forms, at most 18 places once
 *    the exponent is applied, within cb_money's range);
 *  - dates: MM/dd/yyyy (M/d/yyyy too), yyyy-MM-dd, or an ISO date-time
 *    at midnight (2026-10-01T00:00:00.0000000Z), a real calendar day of
 *    years 1-9999;
 *  - flags: true/false in any letter case, 1 or 0;
 *  - tags and additionalInfo: a JSON object (costjson.h); tags may be
 *    the brace-less fragment.
 * An empty value is absent (NULL in the store), except the usage date,
 * which every row needs.
 */
#include "core/common.h"

#include "tenants/costfile.h"
#include "core/calendar.h"
#include "tenants/costjson.h"

#include <inttypes.h>
#include <stdio.h>

/* Messages quote at most this many bytes of a bad value. */
#define COSTFILE_QUOTE_MAX 64

/*
 * Scratch space for one row's JSON is at most 6 bytes per input byte
 * (a control byte escaped as \u00XX) plus the extra keys, and a row is at
 * most the CSV reader's max_row_bytes (1 MiB by default); past this cap
 * (far above any real row) the row is refused rather than the buffer
 * grown further.
 */
#define COSTFILE_SCRATCH_MAX ((size_t)256 << 20)

enum col_kind {
	COL_EXTRA = 0,
	COL_TEXT,
	COL_DATE,
	COL_USAGE_DATE,
	COL_AMOUNT,
	COL_FLAG,
	COL_TAGS,
	COL_INFO,
	COL_KINDS
};

#define FLAG_CREDIT_ELIGIBLE 0
#define FLAG_PEC_APPLIED     1

struct col_name {
	const char *name;
	unsigned char kind;
	unsigned char field;
};

/*
 * Header names of every column set (azure-api-notes.md e.1-e.3): the MPA
 * names first (the direct MCA set uses the same, fewer), then the EA and
 * older MPA (2019-11-01) spellings.  Compared ignoring ASCII case.
 */
static const struct col_name col_names[] = {
	{ "invoiceId", COL_TEXT, CB_COST_INVOICE_ID },
	{ "previousInvoiceId", COL_TEXT, CB_COST_PREVIOUS_INVOICE_ID },
	{ "billingAccountId", COL_TEXT, CB_COST_BILLING_ACCOUNT_ID },
	{ "billingAccountName", COL_TEXT, CB_COST_BILLING_ACCOUNT_NAME },
	{ "billingProfileId", COL_TEXT, CB_COST_BILLING_PROFILE_ID },
	{ "billingProfileName", COL_TEXT, CB_COST_BILLING_PROFILE_NAME },
	{ "invoiceSectionId", COL_TEXT, CB_COST_INVOICE_SECTION_ID },
	{ "invoiceSectionName", COL_TEXT, CB_COST_INVOICE_SECTION_NAME },
	{ "partnerTenantId", COL_TEXT, CB_COST_PARTNER_TENANT_ID },
	{ "partnerName", COL_TEXT, CB_COST_PARTNER_NAME },
	{ "resellerName", COL_TEXT, CB_COST_RESELLER_NAME },
	{ "resellerMpnId", COL_TEXT, CB_COST_RESELLER_MPN_ID },
	{ "customerTenantId", COL_TEXT, CB_COST_CUSTOMER_TENANT_ID },
	{ "customerName", COL_TEXT, CB_COST_CUSTOMER_NAME },
	{ "costCenter", COL_TEXT, CB_COST_COST_CENTER },
	{ "billingPeriodEndDate", COL_DATE, CB_COST_BILLING_PERIOD_END },
	{ "billingPeriodStartDate", COL_DATE, CB_COST_BILLING_PERIOD_START },
	{ "servicePeriodEndDate", COL_DATE, CB_COST_SERVICE_PERIOD_END },
	{ "servicePeriodStartDate", COL_DATE, CB_COST_SERVICE_PERIOD_START },
	{ "date", COL_USAGE_DATE, 0 },
	{ "serviceFamily", COL_TEXT, CB_COST_SERVICE_FAMILY },
	{ "productOrderId", COL_TEXT, CB_COST_PRODUCT_ORDER_ID },
	{ "productOrderName", COL_TEXT, CB_COST_PRODUCT_ORDER_NAME },
	{ "consumedService", COL_TEXT, CB_COST_CONSUMED_SERVICE },
	{ "meterId", COL_TEXT, CB_COST_METER_ID },
	{ "meterName", COL_TEXT, CB_COST_METER_NAME },
	{ "meterCategory", COL_TEXT, CB_COST_METER_CATEGORY },
	{ "meterSubCategory", COL_TEXT, CB_COST_METER_SUBCATEGORY },
	{ "meterRegion", COL_TEXT, CB_COST_METER_REGION },
	{ "ProductId", COL_TEXT, CB_COST_PRODUCT_ID },
	{ "ProductName", COL_TEXT, CB_COST_PRODUCT_NAME },
	{ "SubscriptionId", COL_TEXT, CB_COST_SUBSCRIPTION_ID },
	{ "subscriptionName", COL_TEXT, CB_COST_SUBSCRIPTION_NAME },
	{ "publisherType", COL_TEXT, CB_COST_PUBLISHER_TYPE },
	{ "publisherId", COL_TEXT, CB_COST_PUBLISHER_ID },
	{ "publisherName", COL_TEXT, CB_COST_PUBLISHER_NAME },
	{ "resourceGroupName", COL_TEXT, CB_COST_RESOURCE_GROUP },
	{ "ResourceId", COL_TEXT, CB_COST_RESOURCE_ID },
	{ "resourceLocation", COL_TEXT, CB_COST_RESOURCE_LOCATION },
	{ "location", COL_TEXT, CB_COST_LOCATION },
	{ "effectivePrice", COL_AMOUNT, CB_COST_EFFECTIVE_PRICE },
	{ "quantity", COL_AMOUNT, CB_COST_QUANTITY },
	{ "unitOfMeasure", COL_TEXT, CB_COST_UNIT_OF_MEASURE },
	{ "chargeType", COL_TEXT, CB_COST_CHARGE_TYPE },
	{ "billingCurrency", COL_TEXT, CB_COST_BILLING_CURRENCY },
	{ "pricingCurrency", COL_TEXT, CB_COST_PRICING_CURRENCY },
	{ "costInBillingCurrency", COL_AMOUNT, CB_COST_COST_BILLING },
	{ "costInPricingCurrency", COL_AMOUNT, CB_COST_COST_PRICING },
	{ "costInUsd", COL_AMOUNT, CB_COST_COST_USD },
	{ "paygCostInBillingCurrency", COL_AMOUNT, CB_COST_PAYG_COST_BILLING },
	{ "paygCostInUsd", COL_AMOUNT, CB_COST_PAYG_COST_USD },
	{ "exchangeRatePricingToBilling", COL_AMOUNT, CB_COST_EXCHANGE_RATE },
	{ "exchangeRateDate", COL_DATE, CB_COST_EXCHANGE_RATE_DATE },
	{ "isAzureCreditEligible", COL_FLAG, FLAG_CREDIT_ELIGIBLE },
	{ "serviceInfo1", COL_TEXT, CB_COST_SERVICE_INFO1 },
	{ "serviceInfo2", COL_TEXT, CB_COST_SERVICE_INFO2 },
	{ "additionalInfo", COL_INFO, 0 },
	{ "tags", COL_TAGS, 0 },
	{ "partnerEarnedCreditRate", COL_AMOUNT, CB_COST_PEC_RATE },
	{ "partnerEarnedCreditApplied", COL_FLAG, FLAG_PEC_APPLIED },
	{ "PayGPrice", COL_AMOUNT, CB_COST_PAYG_PRICE },
	{ "frequency", COL_TEXT, CB_COST_FREQUENCY },
	{ "term", COL_TEXT, CB_COST_TERM },
	{ "reservationId", COL_TEXT, CB_COST_RESERVATION_ID },
	{ "reservationName", COL_TEXT, CB_COST_RESERVATION_NAME },
	{ "PricingModel", COL_TEXT, CB_COST_PRICING_MODEL },
	{ "unitPrice", COL_AMOUNT, CB_COST_UNIT_PRICE },
	{ "benefitId", COL_TEXT, CB_COST_BENEFIT_ID },
	{ "benefitName", COL_TEXT, CB_COST_BENEFIT_NAME },
	{ "provider", COL_TEXT, CB_COST_PROVIDER },
	{ "costAllocationRuleName", COL_TEXT,
		CB_COST_COST_ALLOCATION_RULE_NAME },
	/* EA */
	{ "Product", COL_TEXT, CB_COST_PRODUCT_NAME },
	{ "Cost", COL_AMOUNT, CB_COST_COST_BILLING },
	{ "InvoiceSection", COL_TEXT, CB_COST_INVOICE_SECTION_NAME },
	{ "ResourceGroup", COL_TEXT, CB_COST_RESOURCE_GROUP },
	{ "billingCurrencyCode", COL_TEXT, CB_COST_BILLING_CURRENCY },
	/* MPA 2019-11-01 ("product" and "Location" are above) */
	{ "InstanceName", COL_TEXT, CB_COST_RESOURCE_ID },
};

/* Room for every field of every kind in col_seen[]. */
#define FIELD_SLOTS 64

struct cb__costfile {
	char *source;
	uint32_t part;
	bool mapped;
	cb__costfile_schema schema;
	size_t columns;
	char *name_text;  /* header names, each NUL-terminated */
	size_t *name_off; /* columns offsets into name_text */
	uint32_t *list;   /* columns entries: the lists below, end to end */
	uint32_t *text, *amount, *date, *flag, *extra;
	uint8_t *field; /* columns entries: the field of a column */
	size_t ntext, namount, ndate, nflag, nextra;
	long usage_date, tags, info; /* column indexes, or -1 */
	char *keys;                  /* per extra column: "name":" escaped */
	size_t *key_off;             /* nextra + 1 offsets into keys */
	char *scratch;
	size_t scratch_cap;
	cb_cost_row blank; /* a row with every value absent */
};

static inline unsigned char
ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

static bool
name_eq(const char *a, const char *b)
{
	while (*a && ascii_lower((unsigned char)*a) ==
			     ascii_lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/* text[0..len) equals word, ignoring ASCII case. */
static bool
span_eq(const char *text, size_t len, const char *word)
{
	size_t i = 0;

	for (; i < len && word[i]; i++)
		if (ascii_lower((unsigned char)text[i]) !=
			ascii_lower((unsigned char)word[i]))
			return false;
	return i == len && word[i] == '\0';
}

static const char *
col_name(const cb__costfile *cf, size_t col)
{
	return cf->name_text + cf->name_off[col];
}

/*
 * A bad value as messages show it: at most COSTFILE_QUOTE_MAX bytes, cut
 * on a character boundary ("..." marks the cut), with control bytes and
 * invalid UTF-8 shown as '?'.
 */
static const char *
quote(char *buf, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;
	size_t w = 0;

	while (p < end) {
		size_t n = cb__utf8_seq(p, end);

		if (w + (n ? n : 1) > COSTFILE_QUOTE_MAX) {
			memcpy(buf + w, "...", 3);
			w += 3;
			break;
		}
		if (n == 0 || *p < 0x20 || *p == 0x7f) {
			buf[w++] = '?';
			p++;
		} else {
			memcpy(buf + w, p, n);
			w += n;
			p += n;
		}
	}
	buf[w] = '\0';
	return buf;
}

#define QUOTE_BUF (COSTFILE_QUOTE_MAX + 4)

/* "SOURCE:LINE: column NAME: what: "value"" */
static int
value_error(const cb__costfile *cf, int code, const cb_csv_row *row,
	uint32_t col, const char *what)
{
	char q[QUOTE_BUF];
	const cb_csv_field *v = &row->fields[col];

	return cb__error_set(code, CB_ERRCLASS_CSV,
		"%s:%" PRIu64 ": column %s: %s: \"%s\"", cf->source, row->line,
		col_name(cf, col), what, quote(q, v->ptr, v->len));
}

/* ---- text --------------------------------------------------------------- */

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* True when text is ASCII without NUL bytes: the common case, 8 bytes a
 * step. */
static inline bool
text_plain(const char *p, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		acc |= v | ((v - ONES) & ~v);
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		acc |= c == 0 ? 0x80 : c;
	}
	return (acc & HIGHS) == 0;
}

/* The byte offset of the first NUL or invalid UTF-8 in text; len if none. */
static size_t
text_bad(const char *text, size_t len, bool *nul)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;

	while (p < end) {
		size_t n = *p ? cb__utf8_seq(p, end) : 0;

		if (n == 0) {
			*nul = *p == 0;
			return (size_t)(p - (const unsigned char *)text);
		}
		p += n;
	}
	return len;
}

static int
text_error(const cb__costfile *cf, const cb_csv_row *row, uint32_t col,
	size_t at, bool nul)
{
	char what[64];

	snprintf(what, sizeof(what), "%s at byte %zu",
		nul ? "NUL byte" : "invalid UTF-8", at + 1);
	return value_error(cf, CB_EPARSE, row, col, what);
}

/* ---- dates -------------------------------------------------------------- */

static int
digits(const char *p, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

enum { DATE_OK = 0, DATE_MALFORMED, DATE_IMPOSSIBLE, DATE_TIME };

/* A midnight time after an ISO date: T00:00:00[.000...][Z|+00:00|-00:00]
 * or T00:00[Z]. */
static bool
date_midnight(const char *p, size_t n)
{
	size_t i = 0;

	if (n < 6 || p[0] != 'T' || memcmp(p + 1, "00:00", 5) != 0)
		return false;
	i = 6;
	if (i + 3 <= n && memcmp(p + i, ":00", 3) == 0) {
		i += 3;
		if (i < n && p[i] == '.') {
			if (++i >= n || p[i] < '0' || p[i] > '9')
				return false;
			while (i < n && p[i] == '0')
				i++;
		}
	}
	if (i == n)
		return true;
	if (n - i == 1 && p[i] == 'Z')
		return true;
	return n - i == 6 && (p[i] == '+' || p[i] == '-') &&
	       memcmp(p + i + 1, "00:00", 5) == 0;
}

static bool
date_is_time(const char *p, size_t n)
{
	/* T, two digits, ':' - a time, though not midnight */
	return n >= 4 && p[0] == 'T' && p[1] >= '0' && p[1] <= '9' &&
	       p[3] == ':';
}

static int
date_parse(const char *p, size_t n, int32_t *out)
{
	int y, m, d;
	static const unsigned char mdays[13] = { 0, 31, 29, 31, 30, 31, 30, 31,
		31, 30, 31, 30, 31 };

	if (n >= 10 && p[4] == '-' && p[7] == '-') {
		/* yyyy-MM-dd, maybe a time after it */
		if (digits(p, 4, &y) || digits(p + 5, 2, &m) ||
			digits(p + 8, 2, &d))
			return DATE_MALFORMED;
		if (n > 10 && !date_midnight(p + 10, n - 10))
			return date_is_time(p + 10, n - 10) ? DATE_TIME
							    : DATE_MALFORMED;
	} else {
		/* M/d/yyyy or MM/dd/yyyy */
		size_t i = 0, a, b;

		for (a = 0; a < 2 && i < n && p[i] != '/'; a++)
			i++;
		if (a == 0 || i >= n || p[i] != '/' || digits(p, a, &m))
			return DATE_MALFORMED;
		i++;
		for (b = 0; b < 2 && i + b < n && p[i + b] != '/'; b++)
			;
		if (b == 0 || i + b >= n || p[i + b] != '/' ||
			digits(p + i, b, &d))
			return DATE_MALFORMED;
		i += b + 1;
		if (n - i != 4 || digits(p + i, 4, &y))
			return DATE_MALFORMED;
	}
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m] ||
		(m == 2 && d == 29 &&
			!(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return DATE_IMPOSSIBLE;
	*out = cb__days_from_civil(y, m, d);
	return DATE_OK;
}

static int
date_error(const cb__costfile *cf, const cb_csv_row *row, uint32_t col, int why)
{
	return value_error(cf, CB_EPARSE, row, col,
		why == DATE_IMPOSSIBLE ? "impossible date"
		: why == DATE_TIME     ? "not a whole day"
				       : "not a date");
}

/* ---- amounts ------------------------------------------------------------ */

/* Whether text follows cb_money_parse()'s grammar (so a refusal was for
 * precision, not form).  Cold: only after a failed parse. */
static bool
decimal_form(const char *p, size_t n)
{
	size_t i = 0, d = 0;

	if (i < n && (p[i] == '+' || p[i] == '-'))
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		d++;
	if (i < n && p[i] == '.')
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			d++;
	if (d == 0)
		return false;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		size_t e = 0;

		if (++i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			e++;
		if (e == 0)
			return false;
	}
	return i == n;
}

static int
amount_error(
	const cb__costfile *cf, const cb_csv_row *row, uint32_t col, int code)
{
	const cb_csv_field *v = &row->fields[col];

	if (code == CB_EOVERFLOW)
		return value_error(cf, CB_EOVERFLOW, row, col, "out of range");
	if (code == CB_EPARSE && decimal_form(v->ptr, v->len))
		return value_error(
			cf, CB_EPARSE, row, col, "more than 18 decimal places");
	if (code == CB_EPARSE)
		return value_error(
			cf, CB_EPARSE, row, col, "not a decimal number");
	return code;
}

/* ---- JSON --------------------------------------------------------------- */

/*
 * Write text as the inside of a JSON string at w; returns the end, or
 * NULL with *at and *nul when text holds a NUL byte (jsonb refuses
 * \u0000) or invalid UTF-8.  Writes at most 6 bytes per input byte.
 */
static char *
json_escape(char *w, const char *text, size_t len, size_t *at, bool *nul)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)text, *end = p + len;

	while (p < end) {
		unsigned char c = *p;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*w++ = (char)c;
			p++;
		} else if (c == '"' || c == '\\') {
			*w++ = '\\';
			*w++ = (char)c;
			p++;
		} else if (c >= 0x80) {
			size_t n = cb__utf8_seq(p, end);

			if (n == 0)
				goto bad;
			memcpy(w, p, n);
			w += n;
			p += n;
		} else if (c == 0) {
			goto bad;
		} else {
			const char *s = c == '\n'   ? "\\n"
					: c == '\r' ? "\\r"
					: c == '\t' ? "\\t"
					: c == '\b' ? "\\b"
					: c == '\f' ? "\\f"
						    : NULL;

			if (s) {
				memcpy(w, s, 2);
				w += 2;
			} else {
				memcpy(w, "\\u00", 4);
				w[4] = hex[c >> 4];
				w[5] = hex[c & 15];
				w += 6;
			}
			p++;
		}
	}
	return w;
bad:
	*nul = *p == 0;
	*at = (size_t)(p - (const unsigned char *)text);
	return NULL;
}

static int
scratch_reserve(cb__costfile *cf, size_t need)
{
	size_t cap;
	char *p;

	if (need <= cf->scratch_cap)
		return 0;
	if (need > COSTFILE_SCRATCH_MAX)
		return cb__error_set(CB_ETOOBIG, CB_ERRCLASS_CSV,
			"%s: a row needs %zu bytes of JSON, more than %zu",
			cf->source, need, COSTFILE_SCRATCH_MAX);
	cap = cf->scratch_cap ? cf->scratch_cap : 4096;
	while (cap < need)
		cap *= 2;
	if ((p = cb__realloc(cf->scratch, cap)) == NULL)
		return CB_ENOMEM;
	cf->scratch = p;
	cf->scratch_cap = cap;
	return 0;
}

static int
json_column(const cb__costfile *cf, const cb_csv_row *row, long col,
	bool fragment, char **w, cb_cost_text *out)
{
	const cb_csv_field *v;
	cb__costjson_error err;
	size_t n;

	if (col < 0 || (v = &row->fields[col])->len == 0)
		return 0;
	if (cb__costjson_object(*w, &n, v->ptr, v->len, fragment, &err) != 0) {
		char what[96];

		snprintf(what, sizeof(what), "malformed JSON at byte %zu (%s)",
			err.offset + 1, err.what);
		return value_error(cf, CB_EPARSE, row, (uint32_t)col, what);
	}
	out->ptr = *w;
	out->len = n;
	*w += n;
	return 0;
}

/* ---- the reader --------------------------------------------------------- */

int
cb__costfile_new(cb__costfile **out, const char *source, uint32_t part)
{
	cb__costfile *cf;
	size_t n;

	CB_ASSERT_ARG(out);
	if (source == NULL)
		source = "costs";
	n = strcspn(source, "?#");
	if ((cf = cb__calloc(1, sizeof(*cf))) == NULL)
		return CB_ENOMEM;
	if ((cf->source = cb__strndup(source, n)) == NULL) {
		cb__free(cf);
		return CB_ENOMEM;
	}
	cf->part = part;
	cf->usage_date = cf->tags = cf->info = -1;
	*out = cf;
	return 0;
}

static void
costfile_unmap(cb__costfile *cf)
{
	cb__free(cf->name_text);
	cb__free(cf->name_off);
	cb__free(cf->list);
	cb__free(cf->field);
	cb__free(cf->keys);
	cb__free(cf->key_off);
	cf->name_text = cf->keys = NULL;
	cf->name_off = cf->key_off = NULL;
	cf->list = NULL;
	cf->field = NULL;
	cf->mapped = false;
	cf->columns = 0;
	cf->ntext = cf->namount = cf->ndate = cf->nflag = cf->nextra = 0;
	cf->usage_date = cf->tags = cf->info = -1;
}

void
cb__costfile_free(cb__costfile *cf)
{
	if (cf == NULL)
		return;
	costfile_unmap(cf);
	cb__free(cf->scratch);
	cb__free(cf->source);
	cb__free(cf);
}

cb__costfile_schema
cb__costfile_schema_of(const cb__costfile *cf)
{
	return cf->schema;
}

static const struct col_name *
col_lookup(const char *name)
{
	for (size_t i = 0; i < CB_ARRAY_SIZE(col_names); i++)
		if (name_eq(col_names[i].name, name))
			return &col_names[i];
	return NULL;
}

/* Copy the header's names (without a byte order mark on the first). */
static int
header_names(cb__costfile *cf, const cb_csv_reader *reader)
{
	size_t total = 0, off = 0;

	for (size_t i = 0; i < cf->columns; i++)
		total += strlen(cb_csv_column_name(reader, i)) + 1;
	if ((cf->name_text = cb__malloc(total)) == NULL ||
		(cf->name_off = cb__calloc(cf->columns, sizeof(size_t))) ==
			NULL)
		return CB_ENOMEM;
	for (size_t i = 0; i < cf->columns; i++) {
		const char *s = cb_csv_column_name(reader, i);
		size_t n = strlen(s);

		if (i == 0 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
			s += 3;
			n -= 3;
		}
		cf->name_off[i] = off;
		memcpy(cf->name_text + off, s, n + 1);
		off += n + 1;
	}
	return 0;
}

/* The extra columns' keys: "name":" with the name escaped. */
static int
header_keys(cb__costfile *cf)
{
	size_t total = 0;
	char *w;

	for (size_t i = 0; i < cf->nextra; i++)
		total += 6 * strlen(col_name(cf, cf->extra[i])) + 4;
	if ((cf->keys = cb__malloc(total + 1)) == NULL ||
		(cf->key_off = cb__calloc(cf->nextra + 1, sizeof(size_t))) ==
			NULL)
		return CB_ENOMEM;
	w = cf->keys;
	for (size_t i = 0; i < cf->nextra; i++) {
		const char *name = col_name(cf, cf->extra[i]);
		size_t at;
		bool nul;

		cf->key_off[i] = (size_t)(w - cf->keys);
		*w++ = '"';
		if ((w = json_escape(w, name, strlen(name), &at, &nul)) == NULL)
			return cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
				"%s:1: column %zu: name is not valid UTF-8",
				cf->source, (size_t)cf->extra[i] + 1);
		memcpy(w, "\":\"", 3);
		w += 3;
	}
	cf->key_off[cf->nextra] = (size_t)(w - cf->keys);
	return 0;
}

int
cb__costfile_header(cb__costfile *cf, const cb_csv_reader *reader)
{
	/* per kind and field, the column holding it + 1 (0: none) */
	size_t seen[COL_KINDS][FIELD_SLOTS];
	uint32_t *lists[COL_KINDS];
	size_t counts[COL_KINDS] = { 0 };
	size_t n;
	const char *cost_name = NULL;
	int error;

	CB_ASSERT_ARG(cf);
	CB_ASSERT_ARG(reader);
	costfile_unmap(cf);
	if ((n = cb_csv_column_count(reader)) == 0)
		return cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
			"%s:1: no header row", cf->source);
	if (n > UINT32_MAX)
		return cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
			"%s:1: too many columns", cf->source);
	cf->columns = n;
	if ((error = header_names(cf, reader)) != 0 ||
		(cf->list = cb__calloc(n, sizeof(uint32_t))) == NULL ||
		(cf->field = cb__calloc(n, 1)) == NULL) {
		error = error ? error : CB_ENOMEM;
		goto fail;
	}

	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < n; i++) {
		const char *name = col_name(cf, i);
		const struct col_name *c;

		for (size_t k = 0; k < i; k++)
			if (name_eq(name, col_name(cf, k))) {
				error = cb__error_set(CB_EPARSE,
					CB_ERRCLASS_CSV,
					"%s:1: column %s appears twice",
					cf->source, name);
				goto fail;
			}
		c = col_lookup(name);
		if (c == NULL) {
			cf->field[i] = COL_EXTRA;
			counts[COL_EXTRA]++;
			continue;
		}
		if (seen[c->kind][c->field] != 0) {
			error = cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
				"%s:1: columns %s and %s are the same field",
				cf->source,
				col_name(cf, seen[c->kind][c->field] - 1),
				name);
			goto fail;
		}
		seen[c->kind][c->field] = i + 1;
		counts[c->kind]++;
		if (c->kind == COL_AMOUNT && c->field == CB_COST_COST_BILLING)
			cost_name = c->name;
	}
	if (seen[COL_USAGE_DATE][0] == 0) {
		error = cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
			"%s:1: no column date", cf->source);
		goto fail;
	}
	if (seen[COL_AMOUNT][CB_COST_COST_BILLING] == 0) {
		error = cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
			"%s:1: no column costInBillingCurrency (nor Cost)",
			cf->source);
		goto fail;
	}
	if (seen[COL_TEXT][CB_COST_BILLING_CURRENCY] == 0) {
		error = cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
			"%s:1: no column billingCurrency", cf->source);
		goto fail;
	}

	/* The lists, end to end in cf->list, each in column order. */
	{
		uint32_t *at = cf->list;
		static const unsigned char order[] = { COL_TEXT, COL_AMOUNT,
			COL_DATE, COL_FLAG, COL_EXTRA };

		for (size_t k = 0; k < CB_ARRAY_SIZE(order); k++) {
			lists[order[k]] = at;
			at += counts[order[k]];
		}
		memset(counts, 0, sizeof(counts));
		for (size_t i = 0; i < n; i++) {
			const struct col_name *c = col_lookup(col_name(cf, i));
			unsigned kind = c ? c->kind : COL_EXTRA;

			if (kind == COL_USAGE_DATE)
				cf->usage_date = (long)i;
			else if (kind == COL_TAGS)
				cf->tags = (long)i;
			else if (kind == COL_INFO)
				cf->info = (long)i;
			else
				lists[kind][counts[kind]++] = (uint32_t)i;
			cf->field[i] = c ? c->field : 0;
		}
	}
	cf->text = lists[COL_TEXT];
	cf->ntext = counts[COL_TEXT];
	cf->amount = lists[COL_AMOUNT];
	cf->namount = counts[COL_AMOUNT];
	cf->date = lists[COL_DATE];
	cf->ndate = counts[COL_DATE];
	cf->flag = lists[COL_FLAG];
	cf->nflag = counts[COL_FLAG];
	cf->extra = lists[COL_EXTRA];
	cf->nextra = counts[COL_EXTRA];
	if ((error = header_keys(cf)) != 0)
		goto fail;

	if (seen[COL_TEXT][CB_COST_CUSTOMER_TENANT_ID] != 0)
		cf->schema = CB__COSTFILE_MPA;
	else if (name_eq(cost_name, "Cost"))
		cf->schema = CB__COSTFILE_EA;
	else
		cf->schema = CB__COSTFILE_MCA;

	memset(&cf->blank, 0, sizeof(cf->blank));
	cf->blank.credit_eligible = -1;
	cf->blank.pec_applied = -1;
	cf->blank.part = cf->part;
	cf->mapped = true;
	return 0;
fail:
	costfile_unmap(cf);
	return error;
}

/* tags, additionalInfo and extra of a row, into the scratch buffer. */
static int
costfile_json(cb__costfile *cf, const cb_csv_row *row, cb_cost_row *out)
{
	const cb_csv_field *f = row->fields;
	size_t need = 8;
	char *w;
	int error;

	if (cf->tags >= 0)
		need += f[cf->tags].len + 2;
	if (cf->info >= 0)
		need += f[cf->info].len + 2;
	for (size_t i = 0; i < cf->nextra; i++)
		need += 6 * f[cf->extra[i]].len + 2;
	need += cf->key_off[cf->nextra];
	if ((error = scratch_reserve(cf, need)) != 0)
		return error;
	w = cf->scratch;
	if ((error = json_column(cf, row, cf->tags, true, &w, &out->tags)) !=
			0 ||
		(error = json_column(cf, row, cf->info, false, &w,
			 &out->additional_info)) != 0)
		return error;

	if (cf->nextra > 0) {
		char *start = w;

		for (size_t i = 0; i < cf->nextra; i++) {
			uint32_t col = cf->extra[i];
			const cb_csv_field *v = &f[col];
			size_t at, klen;
			bool nul;

			if (v->len == 0)
				continue;
			*w = w == start ? '{' : ',';
			w++;
			klen = cf->key_off[i + 1] - cf->key_off[i];
			memcpy(w, cf->keys + cf->key_off[i], klen);
			w += klen;
			if ((w = json_escape(w, v->ptr, v->len, &at, &nul)) ==
				NULL)
				return text_error(cf, row, col, at, nul);
			*w++ = '"';
		}
		if (w != start) {
			*w++ = '}';
			out->extra.ptr = start;
			out->extra.len = (size_t)(w - start);
		}
	}
	return 0;
}

int
cb__costfile_row(cb__costfile *cf, const cb_csv_row *row, cb_cost_row *out)
{
	const cb_csv_field *f;
	int error;

	CB_ASSERT_ARG(cf);
	CB_ASSERT_ARG(row);
	CB_ASSERT_ARG(out);
	if (!cf->mapped)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"%s: cost file rows before its header", cf->source);
	if (row->count != cf->columns)
		return cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
			"%s:%" PRIu64
			": row has %zu fields, the header has %zu",
			cf->source, row->line, row->count, cf->columns);
	f = row->fields;
	memcpy(out, &cf->blank, sizeof(*out));
	out->line = row->line;

	for (size_t i = 0; i < cf->ntext; i++) {
		uint32_t col = cf->text[i];
		const cb_csv_field *v = &f[col];

		if (v->len == 0)
			continue;
		if (!text_plain(v->ptr, v->len)) {
			bool nul = false;
			size_t at = text_bad(v->ptr, v->len, &nul);

			if (at < v->len)
				return text_error(cf, row, col, at, nul);
		}
		out->text[cf->field[col]].ptr = v->ptr;
		out->text[cf->field[col]].len = v->len;
	}
	for (size_t i = 0; i < cf->namount; i++) {
		uint32_t col = cf->amount[i];
		const cb_csv_field *v = &f[col];
		unsigned k = cf->field[col];

		if (v->len == 0)
			continue;
		if ((error = cb_money_parse(
			     &out->amounts[k], v->ptr, v->len)) != 0)
			return amount_error(cf, row, col, error);
		out->amount_present[k] = true;
	}
	{
		const cb_csv_field *v = &f[cf->usage_date];
		int why;

		if (v->len == 0)
			return value_error(cf, CB_EPARSE, row,
				(uint32_t)cf->usage_date,
				"no usage date (it is required)");
		if ((why = date_parse(v->ptr, v->len, &out->date)) != DATE_OK)
			return date_error(
				cf, row, (uint32_t)cf->usage_date, why);
	}
	for (size_t i = 0; i < cf->ndate; i++) {
		uint32_t col = cf->date[i];
		const cb_csv_field *v = &f[col];
		unsigned k = cf->field[col];
		int why;

		if (v->len == 0)
			continue;
		if ((why = date_parse(v->ptr, v->len, &out->dates[k])) !=
			DATE_OK)
			return date_error(cf, row, col, why);
		out->date_present[k] = true;
	}
	for (size_t i = 0; i < cf->nflag; i++) {
		uint32_t col = cf->flag[i];
		const cb_csv_field *v = &f[col];
		signed char b;

		if (v->len == 0)
			continue;
		if (v->len == 1 && (v->ptr[0] == '0' || v->ptr[0] == '1'))
			b = (signed char)(v->ptr[0] - '0');
		else if (span_eq(v->ptr, v->len, "true"))
			b = 1;
		else if (span_eq(v->ptr, v->len, "false"))
			b = 0;
		else
			return value_error(
				cf, CB_EPARSE, row, col, "not a boolean");
		if (cf->field[col] == FLAG_CREDIT_ELIGIBLE)
			out->credit_eligible = b;
		else
			out->pec_applied = b;
	}
	if (cf->tags >= 0 || cf->info >= 0 || cf->nextra > 0)
		return costfile_json(cf, row, out);
	return 0;
}
