/*
 * cli/cmd_costs.c - `chargeback costs`: the stored cost of a period,
 * grouped, with exact sums per billing currency (cb_store_costs,
 * chargeback/costs.h).
 */
#include "cmd.h"

#include <string.h>

enum {
	OPT_PERIOD = CLI_OPT_HELP + 1,
	OPT_BY,
	OPT_METRIC,
};

const struct cli_opt cli_costs_opts[] = {
	{ OPT_PERIOD, 0, "period", "YYYY-MM", "the month (required)" },
	{ OPT_BY, 0, "by", "G",
		"group by customer, subscription, service-family, "
		"meter-category or day; default: currency only" },
	{ OPT_METRIC, 0, "metric", "M", "actual or amortized; default actual" },
	CLI_OPT_HELP_ENTRY,
	{ 0 },
};

struct report {
	int output;
	cb_costs_by by;
	struct cli_json json;
	size_t groups;
};

static int
print_group(const cb_costs_group *g, void *payload)
{
	struct report *rep = payload;
	char cost[CB_MONEY_STR_MAX], payg[CB_MONEY_STR_MAX];

	rep->groups++;
	if (rep->output == CLI_OUTPUT_JSON) {
		struct cli_json *j = &rep->json;

		cli_json_object(j, NULL);
		cli_json_str(j, "key", g->key);
		cli_json_str(j, "label", g->label);
		cli_json_str(j, "currency", g->currency);
		cli_json_int(j, "rows", (long)g->rows);
		cli_json_money(j, "cost", g->cost);
		cli_json_money(j, "payg_cost", g->payg_cost);
		cli_json_end(j, '}');
		return 0;
	}
	cb_money_format(cost, sizeof(cost), g->cost);
	cb_money_format(payg, sizeof(payg), g->payg_cost);
	if (rep->by != CB_COSTS_BY_NONE)
		printf("%s%s%s%s  ", g->key[0] ? g->key : "(none)",
			g->label ? " (" : "", g->label ? g->label : "",
			g->label ? ")" : "");
	printf("%s  %lu rows  cost %s  payg %s\n", g->currency,
		(unsigned long)g->rows, cost, payg);
	return 0;
}

int
cli_costs(struct cli_ctx *ctx, const struct cli_args *args)
{
	struct report rep = { .output = ctx->output };
	cb_cost_metric metric = CB_COST_ACTUAL;
	const char *period = args->value[OPT_PERIOD];
	int rc;

	if (period == NULL)
		return cli_usage(ctx, "--period YYYY-MM is required");
	if (args->value[OPT_BY] &&
		cb_costs_by_parse(&rep.by, args->value[OPT_BY]) < 0)
		return cli_usage(ctx, "--by: expected customer, subscription, "
				      "service-family, meter-category or day");
	if (args->value[OPT_METRIC] &&
		cb_cost_metric_parse(&metric, args->value[OPT_METRIC]) < 0)
		return cli_usage(ctx, "--metric: expected actual or amortized");
	if ((rc = cli_check_schema(ctx)) != CLI_EXIT_OK)
		return rc;
	if (rep.output == CLI_OUTPUT_JSON) {
		cli_json_init(&rep.json, stdout);
		cli_json_object(&rep.json, NULL);
		cli_json_str(&rep.json, "period", period);
		cli_json_str(&rep.json, "metric", cb_cost_metric_name(metric));
		cli_json_str(&rep.json, "by", cb_costs_by_name(rep.by));
		cli_json_array(&rep.json, "groups");
	}
	if (cb_store_costs(ctx->store, period, metric, rep.by, print_group,
		    &rep) < 0) {
		/* The JSON document is left unfinished: the exit status
		 * and stderr say why. */
		if (rep.output == CLI_OUTPUT_JSON)
			fputc('\n', stdout);
		return cli_fail(ctx);
	}
	if (rep.output == CLI_OUTPUT_JSON) {
		cli_json_end(&rep.json, ']');
		cli_json_end(&rep.json, '}');
	} else if (rep.groups == 0) {
		printf("no cost stored for %s %s\n", period,
			cb_cost_metric_name(metric));
	}
	return CLI_EXIT_OK;
}

const char cli_costs_help[] =
	"Report the cost stored for a month: rows and exact sums of\n"
	"costInBillingCurrency and paygCostInBillingCurrency per billing "
	"currency\n(amounts in different currencies are never added), over "
	"every loaded\nscope, optionally grouped.";
