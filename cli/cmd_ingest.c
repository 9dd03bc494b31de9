/*
 * cli/cmd_ingest.c - `chargeback ingest`: a period's cost lines into the
 * store, from Cost Details reports or from cost files (cb_ingest_run,
 * chargeback/ingest.h).
 *
 * stdout: what each load stored (rows, exact sums per billing currency),
 * or one JSON document with --output json.  stderr: progress when it is a
 * terminal (bytes, rows, rows/s, ETA); one line per failed load.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	OPT_PERIOD = CLI_OPT_HELP + 1,
	OPT_METRIC,
	OPT_FILE,
	OPT_SCOPE,
	OPT_INVOICE,
	OPT_BILLING_PERIOD,
};

const struct cli_opt cli_ingest_opts[] = {
	{ OPT_PERIOD, 0, "period", "YYYY-MM", "the month to load (required)" },
	{ OPT_METRIC, 0, "metric", "M",
		"actual, amortized or both (reports); default actual" },
	{ OPT_FILE, 0, "file", "PATH",
		"load cost files (.csv, .csv.gz) instead of reports; "
		"more paths may follow" },
	{ OPT_SCOPE, 0, "scope", "S",
		"reports: this ARM scope only; files: the load's name "
		"(default files)" },
	{ OPT_INVOICE, 0, "invoice", "ID",
		"reports: the lines of this invoice, a load of its own (at "
		"--scope's billing profile, else each profile sync recorded)" },
	{ OPT_BILLING_PERIOD, 0, "billing-period", "YYYYMM",
		"reports: by billing period instead of the month's days" },
	CLI_OPT_HELP_ENTRY,
	{ 0 },
};

/* Progress on a terminal: one line, redrawn at most 5 times a second. */
struct progress {
	bool drawn;
	struct timespec start, last;
};

static double
seconds_since(const struct timespec *t, const struct timespec *now)
{
	return (double)(now->tv_sec - t->tv_sec) +
	       (double)(now->tv_nsec - t->tv_nsec) / 1e9;
}

/* Rates and ETA are display-only estimates, never money. */
static void
show_progress(const cb_ingest_progress *p, void *payload)
{
	struct progress *pr = payload;
	struct timespec now;
	double secs, rate;
	char eta[32] = "";

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!pr->drawn)
		pr->start = now;
	else if (seconds_since(&pr->last, &now) < 0.2 &&
		 strcmp(p->phase, "loading") == 0)
		return;
	pr->last = now;
	pr->drawn = true;
	secs = seconds_since(&pr->start, &now);
	rate = secs > 0 ? (double)p->rows / secs : 0;
	/* Rates and ETA only once there is something to measure. */
	if (secs >= 1 && p->bytes_total > 0 && p->bytes > 0 &&
		(int64_t)p->bytes < p->bytes_total)
		snprintf(eta, sizeof(eta), ", ETA %.0f s",
			secs * (double)((uint64_t)p->bytes_total - p->bytes) /
				(double)p->bytes);
	fprintf(stderr,
		"\r\033[Kingest %u/%u %s %s: %s, %.1f MB, %lu rows, "
		"%.0f rows/s%s",
		p->load_index + 1, p->load_count, p->scope,
		cb_cost_metric_name(p->metric), p->phase,
		(double)p->bytes / 1e6, (unsigned long)p->rows, rate, eta);
	fflush(stderr);
}

static void
print_load_json(struct cli_json *j, const cb_ingest_load *l)
{
	cli_json_object(j, NULL);
	cli_json_str(j, "scope", l->scope);
	cli_json_str(j, "metric", cb_cost_metric_name(l->metric));
	cli_json_str(j, "source", l->source);
	if (l->error) {
		cli_json_str(j, "error", l->message);
		cli_json_end(j, '}');
		return;
	}
	cli_json_int(j, "load_id", (long)l->totals.load_id);
	cli_json_int(j, "rows", (long)l->totals.rows);
	cli_json_int(j, "descriptors", (long)l->totals.descriptors);
	cli_json_str(j, "status", l->no_data ? "no data" : "loaded");
	cli_json_array(j, "currencies");
	for (size_t i = 0; i < l->totals.currency_count; i++) {
		const cb_cost_currency_total *c = &l->totals.currencies[i];

		cli_json_object(j, NULL);
		cli_json_str(j, "currency", c->currency);
		cli_json_int(j, "rows", (long)c->rows);
		cli_json_money(j, "cost", c->cost);
		cli_json_money(j, "payg_cost", c->payg_cost);
		cli_json_end(j, '}');
	}
	cli_json_end(j, ']');
	cli_json_end(j, '}');
}

static void
print_json(const char *period, const cb_ingest_result *r)
{
	struct cli_json j;

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_str(&j, "period", period);
	cli_json_array(&j, "loads");
	for (size_t i = 0; i < r->count; i++)
		print_load_json(&j, &r->loads[i]);
	cli_json_end(&j, ']');
	cli_json_end(&j, '}');
}

static void
print_text(const char *period, const cb_ingest_result *r)
{
	char cost[CB_MONEY_STR_MAX], payg[CB_MONEY_STR_MAX];

	for (size_t i = 0; i < r->count; i++) {
		const cb_ingest_load *l = &r->loads[i];

		if (l->error)
			continue;
		if (l->no_data) {
			printf("%s %s %s: no cost data (the period keeps "
			       "what it had)\n",
				l->scope, period,
				cb_cost_metric_name(l->metric));
			continue;
		}
		printf("loaded %s %s %s: %lu rows (%s)\n", l->scope, period,
			cb_cost_metric_name(l->metric),
			(unsigned long)l->totals.rows, l->source);
		for (size_t k = 0; k < l->totals.currency_count; k++) {
			const cb_cost_currency_total *c =
				&l->totals.currencies[k];

			cb_money_format(cost, sizeof(cost), c->cost);
			cb_money_format(payg, sizeof(payg), c->payg_cost);
			printf("  %-3s %10lu rows  cost %s  payg %s\n",
				c->currency, (unsigned long)c->rows, cost,
				payg);
		}
	}
}

static void
print_failures(const struct cli_ctx *ctx, const cb_ingest_result *r)
{
	for (size_t i = 0; i < r->count; i++)
		if (r->loads[i].error)
			fprintf(stderr, "chargeback: %s: %s %s: %s\n",
				ctx->verb, r->loads[i].scope,
				cb_cost_metric_name(r->loads[i].metric),
				r->loads[i].message);
}

static int
parse_metric(unsigned *out, const char *text)
{
	cb_cost_metric m;

	if (text == NULL) {
		*out = 1u << CB_COST_ACTUAL;
		return 0;
	}
	if (strcmp(text, "both") == 0) {
		*out = (1u << CB_COST_ACTUAL) | (1u << CB_COST_AMORTIZED);
		return 0;
	}
	if (cb_cost_metric_parse(&m, text) < 0)
		return -1;
	*out = 1u << m;
	return 0;
}

/* --file PATH, repeated, and the paths that follow it. */
static int
collect_files(const char ***out, size_t *count, const struct cli_args *a)
{
	size_t n = (size_t)a->count[OPT_FILE] + (size_t)a->argc;
	const char **files;

	*out = NULL;
	*count = 0;
	if (a->count[OPT_FILE] == 0)
		return a->argc ? -1 : 0;
	if ((files = calloc(n, sizeof(*files))) == NULL)
		return -1;
	for (int i = 0; i < a->count[OPT_FILE]; i++)
		files[(*count)++] = a->values[OPT_FILE][i];
	for (int i = 0; i < a->argc; i++)
		files[(*count)++] = a->argv[i];
	*out = files;
	return 0;
}

static int
check_options(const struct cli_ctx *ctx, const struct cli_args *a,
	cb_ingest_options *o, const char ***files)
{
	if (a->value[OPT_PERIOD] == NULL)
		return cli_usage(ctx, "--period YYYY-MM is required");
	if (a->count[OPT_FILE] > CLI_OPT_REPEAT_MAX)
		return cli_usage(ctx, "--file given too many times");
	if (parse_metric(&o->metrics, a->value[OPT_METRIC]) < 0)
		return cli_usage(ctx, "--metric: expected actual, amortized "
				      "or both");
	if (a->count[OPT_FILE] &&
		(a->value[OPT_INVOICE] || a->value[OPT_BILLING_PERIOD]))
		return cli_usage(ctx, "--invoice and --billing-period are "
				      "for reports, not --file");
	if (a->value[OPT_INVOICE] && a->value[OPT_BILLING_PERIOD])
		return cli_usage(ctx, "give --invoice or --billing-period, "
				      "not both");
	if (collect_files(files, &o->file_count, a) < 0)
		return cli_usage(ctx, a->count[OPT_FILE]
					      ? "out of memory"
					      : "unexpected argument: files "
						"follow --file");
	o->files = *files;
	o->period = a->value[OPT_PERIOD];
	o->scope = a->value[OPT_SCOPE];
	o->invoice_id = a->value[OPT_INVOICE];
	o->billing_period = a->value[OPT_BILLING_PERIOD];
	return CLI_EXIT_OK;
}

int
cli_ingest(struct cli_ctx *ctx, const struct cli_args *args)
{
	cb_ingest_options o = CB_INGEST_OPTIONS_INIT;
	cb_ingest_result r = CB_INGEST_RESULT_INIT;
	struct progress pr = { 0 };
	cb_config *empty = NULL;
	const cb_config *cfg = ctx->config;
	const char **files = NULL;
	int rc;

	if ((rc = check_options(ctx, args, &o, &files)) != CLI_EXIT_OK)
		goto out;
	if ((rc = cli_check_schema(ctx)) != CLI_EXIT_OK)
		goto out;
	if (cfg == NULL) {
		if (cb_config_load_string(&empty, "", "(environment)") < 0) {
			rc = cli_fail(ctx);
			goto out;
		}
		cfg = empty;
	}
	if (isatty(2) == 1) {
		o.progress = show_progress;
		o.progress_payload = &pr;
	}
	rc = cb_ingest_run(ctx->store, cfg, &o, &r);
	if (pr.drawn)
		fputs("\r\033[K", stderr);
	if (rc < 0 && r.count == 0) {
		rc = cli_fail(ctx);
		goto out;
	}
	print_failures(ctx, &r);
	if (ctx->output == CLI_OUTPUT_JSON)
		print_json(o.period, &r);
	else
		print_text(o.period, &r);
	rc = r.failed ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
out:
	cb_ingest_result_dispose(&r);
	cb_config_free(empty);
	free(files);
	return rc;
}

const char cli_ingest_help[] =
	"Load a month of cost lines into the database.  Without --file, "
	"request a\nCost Details report for each billing account (those "
	"of the configuration's\nbilling_accounts, else those sync "
	"recorded; --scope names one ARM scope),\npoll it and stream every "
	"blob into the store as it downloads.  With --file,\nload cost "
	"files you already have (exports; .csv or .csv.gz; MPA, MCA or "
	"EA\ncolumns) as one load named by --scope.\n\nEach (scope, "
	"period, metric) is one load that replaces the period whole in\n"
	"one transaction: re-running is always safe, a failed or killed "
	"load\nchanges nothing, and a second load of the same key at the "
	"same time is\nrefused.  A malformed row fails its load with "
	"FILE:LINE: column NAME.\nPrints rows and exact sums of "
	"costInBillingCurrency and\npaygCostInBillingCurrency per billing "
	"currency; progress on stderr when it\nis a terminal.  Exit status "
	"1 when any load failed.";
