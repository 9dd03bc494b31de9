/*
 * include/chargeback/ingest.h - bring a period's cost lines into the
 * store: from Cost Details reports requested over ARM, or from cost files
 * the partner already has (Cost Management exports, .csv or .csv.gz).
 *
 * Rows are parsed as they arrive (never written whole to disk nor held in
 * memory) and each (scope, period, metric) is one load that replaces the
 * period whole (chargeback/costs.h).
 */
#ifndef CHARGEBACK_INGEST_H
#define CHARGEBACK_INGEST_H

#include "chargeback/common.h"
#include "chargeback/config.h"
#include "chargeback/costs.h"
#include "chargeback/store.h"

CB_BEGIN_DECL

/** Where a load is, for a progress display. */
typedef struct {
	const char *scope; /**< the load's scope; borrowed */
	cb_cost_metric metric;
	const char *phase;   /**< "requesting", "downloading", "loading",
			      * "committing" */
	uint64_t bytes;      /**< source bytes read so far */
	int64_t bytes_total; /**< all source bytes, -1 when unknown */
	uint64_t rows;       /**< rows sent to the store so far */
	uint32_t load_index; /**< 0-based index of this load */
	uint32_t load_count; /**< loads in the run */
} cb_ingest_progress;

/** Receives progress, often (every chunk): keep it cheap. */
typedef void (*cb_ingest_progress_cb)(
	const cb_ingest_progress *progress, void *payload);

#define CB_INGEST_OPTIONS_VERSION 1

/** What to ingest.  Start from CB_INGEST_OPTIONS_INIT. */
typedef struct {
	int version;        /**< CB_INGEST_OPTIONS_VERSION */
	const char *period; /**< "YYYY-MM" (required) */
	/* Bit 1 << CB_COST_ACTUAL and/or 1 << CB_COST_AMORTIZED; 0 means
	 * actual only. */
	unsigned metrics;
	/* Files to load instead of requesting reports (.csv, .csv.gz);
	 * together they are one load per metric (only one metric: a file
	 * holds one view). */
	const char *const *files;
	size_t file_count;
	/* Files: the load's scope name (default "files").  Reports: the
	 * one ARM scope to report on instead of every billing account. */
	const char *scope;
	const char *invoice_id;     /**< reports: by invoice */
	const char *billing_period; /**< reports: by billing period YYYYMM */
	cb_ingest_progress_cb progress; /**< may be NULL */
	void *progress_payload;
} cb_ingest_options;

#define CB_INGEST_OPTIONS_INIT                                                 \
	{                                                                      \
		CB_INGEST_OPTIONS_VERSION, NULL, 0, NULL, 0, NULL, NULL, NULL, \
			NULL, NULL                                             \
	}

/** The outcome of one load. */
typedef struct {
	char *scope; /**< owned */
	cb_cost_metric metric;
	char *source;          /**< "report <id>" or the file names; owned */
	int error;             /**< 0, or the load's cb_error_code */
	char *message;         /**< the error's message, or NULL; owned */
	bool no_data;          /**< the report found no cost: nothing
				* loaded, the period keeps its data */
	cb_cost_totals totals; /**< what was stored, when error is 0 */
} cb_ingest_load;

/** The outcome of a run: one entry per load, in the order run. */
typedef struct {
	size_t count;
	cb_ingest_load *loads; /**< owned */
	size_t failed;         /**< loads with an error */
} cb_ingest_result;

#define CB_INGEST_RESULT_INIT \
	{                     \
		0, NULL, 0    \
	}

/**
 * Ingest @p opts->period: each file set, or each scope's report, is one
 * load; a failing load is recorded in @p result (error and message) and
 * the others go on.  Reports cover the billing accounts of
 * @p config (billing_accounts), else those sync recorded in the store;
 * an account whose report is refused (HTTP 403: the credentials may not
 * read the whole account) is covered by one report per billing profile
 * sync recorded for it instead.
 *
 * @return 0 when every load committed (or found no data); CB_ERROR when
 *         some failed (see @p result); another code when nothing could
 *         start (bad options CB_EINVAL, no billing account CB_ENOTFOUND,
 *         the session could not open).
 */
CB_EXTERN(int)
cb_ingest_run(cb_store *store, const cb_config *config,
	const cb_ingest_options *opts, cb_ingest_result *result);

/** Release what a result owns and reset it; NULL is a no-op. */
CB_EXTERN(void) cb_ingest_result_dispose(cb_ingest_result *result);

/**
 * The ids of the billing accounts sync recorded and not gone, sorted, to
 * @p cb (non-zero stops).
 */
CB_EXTERN(int)
cb_store_billing_accounts(cb_store *store,
	int (*cb)(const char *id, void *payload), void *payload);

/** The same for the billing profiles of one account. */
CB_EXTERN(int)
cb_store_billing_profiles(cb_store *store, const char *billing_account_id,
	int (*cb)(const char *id, void *payload), void *payload);

CB_END_DECL

#endif
