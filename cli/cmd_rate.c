/*
 * cli/cmd_rate.c - `chargeback rate`: price a period's stored ActualCost
 * with the markup rules into charge lines (cb_rate_run,
 * chargeback/rate.h).  Prints per billing currency the charge lines,
 * cost, markup and billed, exact, and the rule set's hash.  Exit 1 when
 * nothing is loaded for the period or the run fails.
 */
#include "cmd.h"

#include <string.h>

enum {
	OPT_PERIOD = CLI_OPT_HELP + 1,
};

const struct cli_opt cli_rate_opts[] = {
	{ OPT_PERIOD, 0, "period", "YYYY-MM", "the usage month (required)" },
	CLI_OPT_HELP_ENTRY,
	{ 0 },
};

static void
print_text(const char *period, const cb_rate_result *res)
{
	for (size_t i = 0; i < res->currency_count; i++) {
		const cb_rate_currency_total *t = &res->currencies[i];
		char cost[CB_MONEY_STR_MAX], markup[CB_MONEY_STR_MAX];
		char billed[CB_MONEY_STR_MAX];

		cb_money_format(cost, sizeof(cost), t->cost);
		cb_money_format(markup, sizeof(markup), t->markup);
		cb_money_format(billed, sizeof(billed), t->billed);
		printf("%s  %lu lines  cost %s  markup %s  billed %s\n",
			t->currency[0] ? t->currency : "(none)",
			(unsigned long)t->lines, cost, markup, billed);
	}
	printf("%s: run %lld: %lu charge lines (%lu at cost, no rule); "
	       "rules %s\n",
		period, (long long)res->run_id, (unsigned long)res->lines,
		(unsigned long)res->unmatched, res->rules_hash);
}

static void
print_json(const char *period, const cb_rate_result *res)
{
	struct cli_json j;

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_str(&j, "period", period);
	cli_json_int(&j, "run_id", (long)res->run_id);
	cli_json_str(&j, "rules_hash", res->rules_hash);
	cli_json_int(&j, "lines", (long)res->lines);
	cli_json_int(&j, "unmatched", (long)res->unmatched);
	cli_json_array(&j, "currencies");
	for (size_t i = 0; i < res->currency_count; i++) {
		const cb_rate_currency_total *t = &res->currencies[i];

		cli_json_object(&j, NULL);
		cli_json_str(&j, "currency", t->currency);
		cli_json_int(&j, "lines", (long)t->lines);
		cli_json_int(&j, "rows", (long)t->rows);
		cli_json_money(&j, "cost", t->cost);
		cli_json_money(&j, "markup", t->markup);
		cli_json_money(&j, "billed", t->billed);
		cli_json_end(&j, '}');
	}
	cli_json_end(&j, ']');
	cli_json_end(&j, '}');
}

int
cli_rate(struct cli_ctx *ctx, const struct cli_args *args)
{
	cb_rate_result res = CB_RATE_RESULT_INIT;
	const char *period = args->value[OPT_PERIOD];
	int rc;

	if (period == NULL) {
		fprintf(stderr,
			"chargeback: %s: --period YYYY-MM is required\n",
			ctx->verb);
		return CLI_EXIT_USAGE;
	}
	if ((rc = cli_check_schema(ctx)) != CLI_EXIT_OK)
		return rc;
	if (cb_rate_run(ctx->store, ctx->config, period, &res) < 0)
		return cli_fail(ctx);
	if (ctx->output == CLI_OUTPUT_JSON)
		print_json(period, &res);
	else
		print_text(period, &res);
	cb_rate_result_dispose(&res);
	return CLI_EXIT_OK;
}

const char cli_rate_help[] =
	"Price a usage month's stored ActualCost lines with the markup rules "
	"of\nrules_file into charge lines (chargeback.charge_line), replacing "
	"the\nmonth's previous run.  Lines are grouped by customer, "
	"subscription,\nservice family, meter category, meter, charge type, "
	"publisher type,\npricing model, reseller and day; each group is "
	"priced by the first\nmatching rule (percent, per unit or tiers of "
	"the customer's monthly\nvolume), or billed at cost when none "
	"matches; a minimum monthly charge\nadds a line for the shortfall.  "
	"Amounts are exact, never rounded.\nBefore writing, per currency: "
	"billed - markup = cost, and cost = the\nstored lines' cost.  "
	"Allocation rules apply first (to customers: even, percent or\n"
	"proportional).\n\n"
	"Exit status: 0 rated; 1 "
	"nothing loaded for the month, an invariant\nfailed, or a failure; "
	"2 usage error.";
