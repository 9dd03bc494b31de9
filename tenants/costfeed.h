/*
 * tenants/costfeed.h - the row pipeline of one load: bytes of each part
 * (a blob or a file) go through a streaming CSV reader and the cost file
 * typing (tenants/costfile.h) into the store's load, row by row, as they
 * arrive.  Nothing is kept but the reader's current row.
 */
#ifndef CB_TENANTS_COSTFEED_H
#define CB_TENANTS_COSTFEED_H

#include "chargeback/costs.h"
#include "chargeback/csv.h"
#include "tenants/costfile.h"

typedef struct {
	cb_cost_load *load; /* borrowed */
	int32_t first_day;  /* the period, days since 1970-01-01 */
	int32_t last_day;
	const char *period; /* "YYYY-MM", for messages; borrowed */
	/* The part being read. */
	cb_csv_reader *reader;
	cb__costfile *cf;
	bool mapped;
	char source[256];
	uint32_t parts; /* parts begun */
	/* Counters for progress. */
	uint64_t rows;
	uint64_t bytes;
	/* Called every 64 KiB of input or so; may be NULL. */
	void (*tick)(void *payload);
	void *tick_payload;
} cb__costfeed;

/* Prepare a feed into load for period "YYYY-MM" (CB_EINVAL if bad). */
int cb__costfeed_init(cb__costfeed *f, cb_cost_load *load, const char *period);

/* A part begins; source names it in messages (a URL is cut at '?'). */
int cb__costfeed_begin(cb__costfeed *f, const char *source);

/* Bytes of the current part. */
int cb__costfeed_data(cb__costfeed *f, const char *data, size_t len);

/* The current part ended: its last row and header checks. */
int cb__costfeed_end(cb__costfeed *f);

/* Release the current part, if any (after an error). */
void cb__costfeed_dispose(cb__costfeed *f);

/* "YYYY-MM" -> the first and last day of the month; CB_EINVAL if bad. */
int cb__period_days(const char *period, int32_t *first, int32_t *last);

#endif
