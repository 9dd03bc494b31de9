/*
 * allocation/statement.c - customer statements from a committed rating
 * run (include/chargeback/statement.h has the rules): the one rounding of
 * a statement's total, its apportioning over the lines, and the CSV and
 * JSON renderings.
 */
#include "core/common.h"

#include "chargeback/statement.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/calendar.h"

#include <stdio.h>
#include <stdlib.h>

static int
bad(const char *why)
{
	return cb__error_set(CB_EINVAL, CB_ERRCLASS_MONEY,
		"statement: apportioning: %s", why);
}

/* The parts of one sign: weights of sign @p sign (as magnitudes) share
 * @p total; the other parts are left alone. */
static int
apportion_sign(cb_money *parts, cb_money total, const cb_money *weights,
	size_t n, unsigned places, int sign)
{
	cb_money *w = NULL, *p = NULL;
	size_t k = 0, j = 0;
	int error;

	for (size_t i = 0; i < n; i++)
		if (cb_money_sign(weights[i]) == sign)
			k++;
	if (k == 0)
		return cb_money_is_zero(total)
			       ? 0
			       : bad("a non-zero total over lines of no weight");
	if ((w = cb__calloc(2 * k, sizeof(*w))) == NULL)
		return CB_ENOMEM;
	p = w + k;
	for (size_t i = 0; i < n; i++)
		if (cb_money_sign(weights[i]) == sign &&
			(error = cb_money_abs(&w[j++], weights[i])) < 0)
			goto done;
	if ((error = cb_money_allocate(p, total, w, k, places)) < 0)
		goto done;
	j = 0;
	for (size_t i = 0; i < n; i++)
		if (cb_money_sign(weights[i]) == sign)
			parts[i] = p[j++];
done:
	cb__free(w);
	return error;
}

int
cb_statement_apportion(cb_money *parts, cb_money total, const cb_money *weights,
	size_t n, unsigned places)
{
	cb_money pos = CB_MONEY_ZERO, tp, tn;
	bool refunds = false;
	int error;

	CB_ASSERT_ARG(parts || n == 0);
	CB_ASSERT_ARG(weights || n == 0);
	if (places > 18)
		return bad("more than 18 places");
	if ((error = cb_money_round(&tp, total, places)) < 0)
		return error;
	if (cb_money_cmp(tp, total) != 0)
		return bad("the total is not a multiple of the unit");
	for (size_t i = 0; i < n; i++) {
		parts[i] = CB_MONEY_ZERO;
		refunds = refunds || cb_money_sign(weights[i]) < 0;
		if (cb_money_sign(weights[i]) > 0 &&
			(error = cb_money_add(&pos, pos, weights[i])) < 0)
			return error;
	}
	if ((error = cb_money_round(&tp, pos, places)) < 0 ||
		(error = cb_money_sub(&tn, total, tp)) < 0)
		return error;
	if (refunds && cb_money_sign(tn) > 0)
		return bad("the refunds' share of the total is positive");
	if ((error = apportion_sign(parts, tp, weights, n, places, 1)) < 0 ||
		(error = apportion_sign(parts, tn, weights, n, places, -1)) < 0)
		return error;
	return 0;
}

/* ---- rendering ---- */

typedef struct {
	const char *key; /* NULL: absent */
	cb_money amount;
} subtotal;

typedef struct {
	const char *period;
	cb_statement_format format;
	cb_statement_cb cb;
	void *payload;
	cb_buf out;
} build_ctx;

static int
key_cmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int
subtotal_cmp(const void *a, const void *b)
{
	return key_cmp(((const subtotal *)a)->key, ((const subtotal *)b)->key);
}

/* Add @p amount to @p key's subtotal in @p s (@p n entries so far). */
static int
subtotal_add(subtotal *s, size_t *n, const char *key, cb_money amount)
{
	for (size_t i = 0; i < *n; i++)
		if (key_cmp(s[i].key, key) == 0)
			return cb_money_add(&s[i].amount, s[i].amount, amount);
	s[*n].key = key;
	s[*n].amount = amount;
	(*n)++;
	return 0;
}

static int
csv_field(cb_buf *b, const char *s, char sep)
{
	int error = 0;

	if (s && s[strcspn(s, ",\"\r\n")] != '\0') {
		error = cb__buf_putc(b, '"');
		for (; *s && error == 0; s++)
			error = *s == '"' ? cb__buf_puts(b, "\"\"")
					  : cb__buf_putc(b, *s);
		if (error == 0)
			error = cb__buf_putc(b, '"');
	} else if (s) {
		error = cb__buf_puts(b, s);
	}
	return error < 0 ? error : cb__buf_putc(b, sep);
}

static int
json_str(cb_buf *b, const char *name, const char *s, bool comma)
{
	int error;

	if (name && (error = cb__buf_printf(b, "\"%s\":", name)) < 0)
		return error;
	if (s == NULL)
		error = cb__buf_puts(b, "null");
	else {
		error = cb__buf_putc(b, '"');
		for (; *s && error == 0; s++) {
			unsigned char c = (unsigned char)*s;

			if (c == '"' || c == '\\')
				error = cb__buf_printf(b, "\\%c", c);
			else if (c < 0x20)
				error = cb__buf_printf(b, "\\u%04x", c);
			else
				error = cb__buf_putc(b, (char)c);
		}
		if (error == 0)
			error = cb__buf_putc(b, '"');
	}
	return error < 0 || !comma ? error : cb__buf_putc(b, ',');
}

/* The context columns every CSV row starts with. */
static int
csv_head(cb_buf *b, const char *record, const cb_statement_head *h,
	const char *period)
{
	int error;

	if ((error = csv_field(b, record, ',')) < 0 ||
		(error = csv_field(b, h->billing_account_id, ',')) < 0 ||
		(error = csv_field(b, h->customer_id, ',')) < 0 ||
		(error = csv_field(b, h->customer_name, ',')) < 0 ||
		(error = csv_field(b, period, ',')) < 0 ||
		(error = csv_field(b, h->provisional ? "true" : "false", ',')) <
			0 ||
		(error = csv_field(b, h->currency, ',')) < 0)
		return error;
	return csv_field(b, h->rules_hash, ',');
}

static const char csv_header[] =
	"record,partner,customer_id,customer_name,period,provisional,"
	"currency,rules_hash,subscription_id,service_family,meter_category,"
	"meter_id,meter_name,charge_type,date,quantity,amount\n";

static int
render_csv(cb_buf *b, const char *period, const cb_statement_head *h,
	const cb_statement_line *lines, const cb_money *amounts, size_t n,
	const subtotal *subs, size_t nsubs, const subtotal *fams, size_t nfams,
	cb_money total, unsigned places)
{
	char money[CB_MONEY_STR_MAX], qty[CB_MONEY_STR_MAX];
	char day[CB_DAY_TEXT_MAX];
	int error;

	if ((error = cb__buf_puts(b, csv_header)) < 0)
		return error;
	for (size_t i = 0; i < n; i++) {
		const cb_statement_line *l = &lines[i];

		if (l->has_date)
			cb__day_text(day, l->date);
		cb_money_format(qty, sizeof(qty), l->quantity);
		cb_money_format_fixed(money, sizeof(money), amounts[i], places);
		if ((error = csv_head(b, "line", h, period)) < 0 ||
			(error = csv_field(b, l->subscription_id, ',')) < 0 ||
			(error = csv_field(b, l->service_family, ',')) < 0 ||
			(error = csv_field(b, l->meter_category, ',')) < 0 ||
			(error = csv_field(b, l->meter_id, ',')) < 0 ||
			(error = csv_field(b, l->meter_name, ',')) < 0 ||
			(error = csv_field(b, l->charge_type, ',')) < 0 ||
			(error = csv_field(b, l->has_date ? day : NULL, ',')) <
				0 ||
			(error = csv_field(b, qty, ',')) < 0 ||
			(error = csv_field(b, money, '\n')) < 0)
			return error;
	}
	for (size_t i = 0; i < nsubs; i++) {
		cb_money_format_fixed(
			money, sizeof(money), subs[i].amount, places);
		if ((error = csv_head(b, "subscription", h, period)) < 0 ||
			(error = csv_field(b, subs[i].key, ',')) < 0 ||
			(error = cb__buf_printf(b, ",,,,,,,%s\n", money)) < 0)
			return error;
	}
	for (size_t i = 0; i < nfams; i++) {
		cb_money_format_fixed(
			money, sizeof(money), fams[i].amount, places);
		if ((error = csv_head(b, "service_family", h, period)) < 0 ||
			(error = cb__buf_putc(b, ',')) < 0 ||
			(error = csv_field(b, fams[i].key, ',')) < 0 ||
			(error = cb__buf_printf(b, ",,,,,,%s\n", money)) < 0)
			return error;
	}
	cb_money_format_fixed(money, sizeof(money), total, places);
	if ((error = csv_head(b, "total", h, period)) < 0)
		return error;
	return cb__buf_printf(b, ",,,,,,,,%s\n", money);
}

static int
json_subtotals(cb_buf *b, const char *list, const char *name, const subtotal *s,
	size_t n, unsigned places)
{
	char money[CB_MONEY_STR_MAX];
	int error;

	if ((error = cb__buf_printf(b, "\"%s\":[", list)) < 0)
		return error;
	for (size_t i = 0; i < n; i++) {
		cb_money_format_fixed(
			money, sizeof(money), s[i].amount, places);
		if ((error = cb__buf_puts(b, i ? ",{" : "{")) < 0 ||
			(error = json_str(b, name, s[i].key, true)) < 0 ||
			(error = cb__buf_printf(
				 b, "\"amount\":\"%s\"}", money)) < 0)
			return error;
	}
	return cb__buf_putc(b, ']');
}

static int
render_json(cb_buf *b, const char *period, const cb_statement_head *h,
	const cb_statement_line *lines, const cb_money *amounts, size_t n,
	const subtotal *subs, size_t nsubs, const subtotal *fams, size_t nfams,
	cb_money total, unsigned places)
{
	char money[CB_MONEY_STR_MAX], qty[CB_MONEY_STR_MAX];
	char day[CB_DAY_TEXT_MAX];
	int error;

	cb_money_format_fixed(money, sizeof(money), total, places);
	if ((error = cb__buf_putc(b, '{')) < 0 ||
		(error = json_str(b, "partner", h->billing_account_id, true)) <
			0 ||
		(error = json_str(b, "customer_id", h->customer_id, true)) <
			0 ||
		(error = json_str(b, "customer_name", h->customer_name, true)) <
			0 ||
		(error = json_str(b, "period", period, true)) < 0 ||
		(error = cb__buf_printf(b, "\"provisional\":%s,",
			 h->provisional ? "true" : "false")) < 0 ||
		(error = json_str(b, "currency", h->currency, true)) < 0 ||
		(error = json_str(b, "rules_hash", h->rules_hash, true)) < 0 ||
		(error = cb__buf_printf(b, "\"total\":\"%s\",", money)) < 0 ||
		(error = json_subtotals(b, "by_subscription", "subscription_id",
			 subs, nsubs, places)) < 0 ||
		(error = cb__buf_putc(b, ',')) < 0 ||
		(error = json_subtotals(b, "by_service_family",
			 "service_family", fams, nfams, places)) < 0 ||
		(error = cb__buf_puts(b, ",\"lines\":[")) < 0)
		return error;
	for (size_t i = 0; i < n; i++) {
		const cb_statement_line *l = &lines[i];

		if (l->has_date)
			cb__day_text(day, l->date);
		cb_money_format(qty, sizeof(qty), l->quantity);
		cb_money_format_fixed(money, sizeof(money), amounts[i], places);
		if ((error = cb__buf_puts(b, i ? ",{" : "{")) < 0 ||
			(error = json_str(b, "subscription_id",
				 l->subscription_id, true)) < 0 ||
			(error = json_str(b, "service_family",
				 l->service_family, true)) < 0 ||
			(error = json_str(b, "meter_category",
				 l->meter_category, true)) < 0 ||
			(error = json_str(b, "meter_id", l->meter_id, true)) <
				0 ||
			(error = json_str(
				 b, "meter_name", l->meter_name, true)) < 0 ||
			(error = json_str(
				 b, "charge_type", l->charge_type, true)) < 0 ||
			(error = json_str(b, "date", l->has_date ? day : NULL,
				 true)) < 0 ||
			(error = cb__buf_printf(b,
				 "\"quantity\":\"%s\",\"amount\":\"%s\"}", qty,
				 money)) < 0)
			return error;
	}
	return cb__buf_puts(b, "]}\n");
}

static int
statement_one(const cb_statement_head *h, const cb_statement_line *lines,
	size_t n, void *payload)
{
	build_ctx *ctx = payload;
	cb_money *mem = NULL, *weights, *amounts, sum = CB_MONEY_ZERO, total;
	subtotal *subs = NULL, *fams;
	size_t nsubs = 0, nfams = 0;
	unsigned places;
	int error;

	if ((error = cb_currency_minor_units(&places, h->currency)) < 0)
		return cb__error_set(error, CB_ERRCLASS_MONEY,
			"statement: customer '%.128s': %s", h->customer_id,
			cb_error_last()->message);
	if ((mem = cb__calloc(2 * n, sizeof(*mem))) == NULL ||
		(subs = cb__calloc(2 * n, sizeof(*subs))) == NULL) {
		error = CB_ENOMEM;
		goto done;
	}
	weights = mem;
	amounts = mem + n;
	fams = subs + n;
	for (size_t i = 0; i < n; i++) {
		weights[i] = lines[i].billed;
		if ((error = cb_money_add(&sum, sum, lines[i].billed)) < 0)
			goto done;
	}
	if ((error = cb_money_round(&total, sum, places)) < 0 ||
		(error = cb_statement_apportion(
			 amounts, total, weights, n, places)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++)
		if ((error = subtotal_add(subs, &nsubs,
			     lines[i].subscription_id, amounts[i])) < 0 ||
			(error = subtotal_add(fams, &nfams,
				 lines[i].service_family, amounts[i])) < 0)
			goto done;
	qsort(subs, nsubs, sizeof(*subs), subtotal_cmp);
	qsort(fams, nfams, sizeof(*fams), subtotal_cmp);
	cb__buf_clear(&ctx->out);
	error = ctx->format == CB_STATEMENT_JSON
			? render_json(&ctx->out, ctx->period, h, lines, amounts,
				  n, subs, nsubs, fams, nfams, total, places)
			: render_csv(&ctx->out, ctx->period, h, lines, amounts,
				  n, subs, nsubs, fams, nfams, total, places);
	if (error == 0)
		error = ctx->cb(h->customer_id, h->currency, ctx->out.ptr,
			ctx->out.size, ctx->payload);
done:
	cb__free(mem);
	cb__free(subs);
	return error;
}

int
cb_statement_build(cb_store *store, const char *period, const char *customer_id,
	cb_statement_format format, cb_statement_cb cb, void *payload)
{
	build_ctx ctx;
	int error;

	CB_ASSERT_ARG(store);
	CB_ASSERT_ARG(cb);
	if (format != CB_STATEMENT_CSV && format != CB_STATEMENT_JSON)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"statement: unknown format %d", (int)format);
	memset(&ctx, 0, sizeof(ctx));
	ctx.period = period;
	ctx.format = format;
	ctx.cb = cb;
	ctx.payload = payload;
	error = cb_store_statement_groups(
		store, period, customer_id, statement_one, &ctx);
	cb_buf_dispose(&ctx.out);
	return error;
}
