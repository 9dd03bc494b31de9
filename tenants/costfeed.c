/*
 * tenants/costfeed.c - bytes -> CSV rows -> typed cost rows -> the store
 * (tenants/costfeed.h).
 */
#include "core/common.h"
#include "core/calendar.h"
#include "core/fault.h"
#include "tenants/costfeed.h"

#include <stdio.h>

/* Progress is reported about this often (bytes of input). */
#define TICK_BYTES (256u * 1024u)

int
cb__period_days(const char *period, int32_t *first, int32_t *last)
{
	int y, m;

	if (!cb__month_parse(period, &y, &m))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"period '%s' is not a month YYYY-MM",
			period ? period : "");
	*first = cb__days_from_civil(y, m, 1);
	*last = *first + cb__days_in_month(y, m) - 1;
	return 0;
}

int
cb__costfeed_init(cb__costfeed *f, cb_cost_load *load, const char *period)
{
	memset(f, 0, sizeof(*f));
	f->load = load;
	f->period = period;
	return cb__period_days(period, &f->first_day, &f->last_day);
}

void
cb__costfeed_dispose(cb__costfeed *f)
{
	cb_csv_reader_free(f->reader);
	cb__costfile_free(f->cf);
	f->reader = NULL;
	f->cf = NULL;
	f->mapped = false;
}

int
cb__costfeed_begin(cb__costfeed *f, const char *source)
{
	cb_csv_options o = CB_CSV_OPTIONS_INIT;
	size_t n = strcspn(source, "?#");
	int error;

	cb__costfeed_dispose(f);
	if (n >= sizeof(f->source))
		n = sizeof(f->source) - 1;
	memcpy(f->source, source, n);
	f->source[n] = '\0';
	o.source = f->source;
	if ((error = cb_csv_reader_new(&f->reader, &o)) < 0 ||
		(error = cb__costfile_new(&f->cf, f->source, f->parts)) < 0) {
		cb__costfeed_dispose(f);
		return error;
	}
	f->parts++;
	return 0;
}

static int
map_header(cb__costfeed *f)
{
	int error = cb__costfile_header(f->cf, f->reader);

	if (error == 0)
		f->mapped = true;
	return error;
}

/* Every total is per billing currency: a row without one, or without a
 * cost, cannot be counted.  A row outside the period would be counted in
 * the wrong month. */
static int
check_row(const cb__costfeed *f, const cb_cost_row *row)
{
	char day[CB_DAY_TEXT_MAX];

	if (row->text[CB_COST_BILLING_CURRENCY].ptr == NULL ||
		row->text[CB_COST_BILLING_CURRENCY].len == 0)
		return cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
			"%s:%llu: column billingCurrency: empty", f->source,
			(unsigned long long)row->line);
	if (!row->amount_present[CB_COST_COST_BILLING])
		return cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
			"%s:%llu: column costInBillingCurrency: empty",
			f->source, (unsigned long long)row->line);
	if (row->date >= f->first_day && row->date <= f->last_day)
		return 0;
	cb__day_text(day, row->date);
	return cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
		"%s:%llu: column date: %s is outside the period %s", f->source,
		(unsigned long long)row->line, day, f->period);
}

static int
on_row(const cb_csv_row *csv, void *payload)
{
	cb__costfeed *f = payload;
	cb_cost_row row;
	int error;

	if (!f->mapped && (error = map_header(f)) < 0)
		return error;
	if ((error = cb__costfile_row(f->cf, csv, &row)) < 0 ||
		(error = check_row(f, &row)) < 0)
		return error;
	if ((error = cb_store_cost_load_row(f->load, &row)) < 0)
		return cb__error_prefix(
			"%s:%llu: ", f->source, (unsigned long long)csv->line);
	f->rows++;
	cb__fault_point("row");
	return 0;
}

int
cb__costfeed_data(cb__costfeed *f, const char *data, size_t len)
{
	uint64_t before = f->bytes;
	int error;

	/* Fed in slices so progress moves on a big chunk too. */
	while (len > 0) {
		size_t n = len < TICK_BYTES ? len : TICK_BYTES;

		if ((error = cb_csv_feed(f->reader, data, n, on_row, f)) < 0)
			return error;
		data += n;
		len -= n;
		f->bytes += n;
		if (f->tick && f->bytes / TICK_BYTES != before / TICK_BYTES)
			f->tick(f->tick_payload);
		before = f->bytes;
	}
	return 0;
}

int
cb__costfeed_end(cb__costfeed *f)
{
	int error = cb_csv_finish(f->reader, on_row, f);

	/* A file with a header and no rows still has its header checked. */
	if (error == 0 && !f->mapped && cb_csv_column_count(f->reader) > 0)
		error = map_header(f);
	if (error == 0 && cb_csv_column_count(f->reader) == 0)
		error = cb__error_set(CB_EPARSE, CB_ERRCLASS_CSV,
			"%s: empty: no header row", f->source);
	cb__costfeed_dispose(f);
	if (error == 0 && f->tick)
		f->tick(f->tick_payload);
	return error;
}
