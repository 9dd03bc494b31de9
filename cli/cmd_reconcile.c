/*
 * cli/cmd_reconcile.c - `chargeback reconcile`: each invoice of a period
 * against the stored cost lines that carry it (cb_reconcile_run,
 * chargeback/reconcile.h).  Exit 0 when every invoice matched; 1 on any
 * mismatch, an invoice without loaded lines, or no invoice at all, with a
 * line on stderr saying which.
 */
#include "cmd.h"

#include <string.h>

enum {
	OPT_PERIOD = CLI_OPT_HELP + 1,
	OPT_NO_FETCH,
};

const struct cli_opt cli_reconcile_opts[] = {
	{ OPT_PERIOD, 0, "period", "YYYY-MM", "the usage month (required)" },
	{ OPT_NO_FETCH, 0, "no-fetch", NULL,
		"use the invoices stored by an earlier run; no call to Azure" },
	CLI_OPT_HELP_ENTRY,
	{ 0 },
};

/* v with the currency's minor units ("12.30"), or exact when the
 * currency is unknown. */
static void
amount(char out[CB_MONEY_STR_MAX], cb_money v, const char *currency)
{
	unsigned places;

	if (cb_currency_minor_units(&places, currency) == 0)
		cb_money_format_fixed(out, CB_MONEY_STR_MAX, v, places);
	else
		cb_money_format(out, CB_MONEY_STR_MAX, v);
}

static void
print_text(const char *period, const cb_reconcile_result *res)
{
	for (size_t i = 0; i < res->count; i++) {
		const cb_reconcile_invoice *ri = &res->invoices[i];
		const cb_invoice *inv = &ri->invoice;
		char billed[CB_MONEY_STR_MAX], sum[CB_MONEY_STR_MAX];
		char diff[CB_MONEY_STR_MAX];

		amount(billed, inv->billed_amount, inv->currency);
		cb_money_format(sum, sizeof(sum), ri->lines_sum);
		amount(diff, ri->difference, inv->currency);
		printf("%s %s %s: invoice %s, lines %s (%lu rows), "
		       "difference %s: %s",
			inv->billing_profile_id ? inv->billing_profile_id
						: "(no profile)",
			inv->invoice_id, inv->currency, billed, sum,
			(unsigned long)ri->rows, diff,
			cb_reconcile_status_name(ri->status));
		if (ri->foreign_rows)
			printf(" (%lu lines in another currency)",
				(unsigned long)ri->foreign_rows);
		putchar('\n');
	}
	printf("%s: %zu invoice%s: %zu matched, %zu mismatched, %zu with no "
	       "cost lines loaded\n",
		period, res->count, res->count == 1 ? "" : "s", res->matched,
		res->mismatched, res->no_lines);
}

static void
print_json(const char *period, const cb_reconcile_result *res)
{
	struct cli_json j;

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_str(&j, "period", period);
	cli_json_int(&j, "matched", (long)res->matched);
	cli_json_int(&j, "mismatched", (long)res->mismatched);
	cli_json_int(&j, "no_lines", (long)res->no_lines);
	cli_json_array(&j, "invoices");
	for (size_t i = 0; i < res->count; i++) {
		const cb_reconcile_invoice *ri = &res->invoices[i];
		const cb_invoice *inv = &ri->invoice;

		cli_json_object(&j, NULL);
		cli_json_str(&j, "billing_account", inv->billing_account_id);
		cli_json_str(&j, "billing_profile", inv->billing_profile_id);
		cli_json_str(
			&j, "billing_profile_name", inv->billing_profile_name);
		cli_json_str(&j, "invoice", inv->invoice_id);
		cli_json_str(&j, "invoice_date", inv->invoice_date);
		cli_json_str(&j, "period_start", inv->period_start);
		cli_json_str(&j, "period_end", inv->period_end);
		cli_json_str(&j, "document_type", inv->document_type);
		cli_json_str(&j, "invoice_status", inv->status);
		cli_json_str(&j, "currency", inv->currency);
		cli_json_money(&j, "invoice_amount", inv->billed_amount);
		cli_json_money(&j, "lines_sum", ri->lines_sum);
		cli_json_money(&j, "difference", ri->difference);
		cli_json_int(&j, "rows", (long)ri->rows);
		cli_json_int(&j, "foreign_rows", (long)ri->foreign_rows);
		cli_json_str(&j, "scope", ri->scope);
		cli_json_int(&j, "loads", (long)ri->loads);
		cli_json_str(
			&j, "status", cb_reconcile_status_name(ri->status));
		cli_json_end(&j, '}');
	}
	cli_json_end(&j, ']');
	/* The rating engine's invariant checks will be a second array
	 * here ("checks") once the engine exists. */
	cli_json_end(&j, '}');
}

int
cli_reconcile(struct cli_ctx *ctx, const struct cli_args *args)
{
	cb_reconcile_options opts = CB_RECONCILE_OPTIONS_INIT;
	cb_reconcile_result res = CB_RECONCILE_RESULT_INIT;
	const char *period = args->value[OPT_PERIOD];
	int rc;

	if (period == NULL)
		return cli_usage(ctx, "--period YYYY-MM is required");
	opts.period = period;
	opts.no_fetch = args->count[OPT_NO_FETCH] > 0;
	if ((rc = cli_check_schema(ctx)) != CLI_EXIT_OK)
		return rc;
	if (cb_reconcile_run(ctx->store, ctx->config, &opts, &res) < 0)
		return cli_fail(ctx);
	if (ctx->output == CLI_OUTPUT_JSON)
		print_json(period, &res);
	else if (res.count > 0)
		print_text(period, &res);
	rc = CLI_EXIT_OK;
	if (res.count == 0) {
		fprintf(stderr, "chargeback: %s: no invoice of %s found%s\n",
			ctx->verb, period,
			opts.no_fetch ? " in the store" : " at Azure");
		rc = CLI_EXIT_FAILURE;
	} else if (res.mismatched || res.no_lines) {
		if (res.mismatched)
			fprintf(stderr,
				"chargeback: %s: %s: %zu of %zu invoices do "
				"not match their cost lines\n",
				ctx->verb, period, res.mismatched, res.count);
		if (res.no_lines)
			fprintf(stderr,
				"chargeback: %s: %s: %zu of %zu invoices have "
				"no cost lines loaded: run 'chargeback ingest "
				"--period %s'\n",
				ctx->verb, period, res.no_lines, res.count,
				period);
		rc = CLI_EXIT_FAILURE;
	}
	cb_reconcile_result_dispose(&res);
	return rc;
}

const char cli_reconcile_help[] =
	"Tie out each invoice of a usage month against the stored cost "
	"lines.\n\nThe invoices of each billing account (billing_accounts, "
	"else those sync\nrecorded) are read from Azure and stored; for each, "
	"the stored ActualCost\nlines carrying its invoice id "
	"(RoundingAdjustment lines included) are\nsummed exactly, rounded to "
	"the currency's minor unit and compared with\nits billed amount "
	"(charges before credits and tax).  One line per\ninvoice: billing "
	"profile, invoice, currency, invoice amount, lines' sum,\ndifference, "
	"and matched, mismatched or no cost lines loaded.\n\nExit status: 0 "
	"every invoice matched; 1 a mismatch, an invoice with no\ncost lines "
	"loaded, no invoice, or a failure; 2 usage error.";
