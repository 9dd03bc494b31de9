/*
 * cli/cmd_budget.c - `chargeback budget list|plan|apply|delete`: the
 * customer budgets of the configuration's budgets section, made so at
 * Azure (include/chargeback/budget.h).
 *
 * Every sub-verb computes a plan (list and delete in their own modes) and
 * prints one line per budget: customer, budget, action, detail.  apply and
 * delete then perform it; a customer whose budgets could not be read or
 * written is reported on stderr (customer, call, ARM message, request id)
 * and makes the exit status 1 while the others proceed.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_CUSTOMER = CLI_OPT_HELP + 1,
	OPT_AS_OF,
};

static const struct cli_opt budget_opts[] = {
	{ OPT_CUSTOMER, 0, "customer", "IDS",
		"only these customer ids (comma-separated)" },
	{ OPT_AS_OF, 0, "as-of", "DATE",
		"history months end before DATE's month (default today)" },
	CLI_OPT_HELP_ENTRY,
	{ 0 },
};

/* Customer ids given with --customer, split on commas (in place). */
#define BUDGET_CUSTOMERS_MAX 1024

static const char *const action_words[] = { "unchanged", "create", "update",
	"delete", "not-managed", "failed" };

static void
progress(size_t done, size_t total, void *payload)
{
	(void)payload;
	fprintf(stderr, "\rbudget: customers %zu/%zu", done, total);
	if (done == total)
		fputc('\n', stderr);
}

/* The detail column of an item. */
static void
detail(char *out, size_t outlen, const cb_budget_item *it)
{
	switch (it->action) {
	case CB_BUDGET_CREATE:
		snprintf(out, outlen, "amount %s", it->new_amount);
		break;
	case CB_BUDGET_UPDATE:
		snprintf(out, outlen, "%s", it->changes);
		break;
	case CB_BUDGET_FAILED:
		snprintf(out, outlen, "%s", it->error);
		break;
	default:
		snprintf(
			out, outlen, "amount %s", it->amount ? it->amount : "");
		break;
	}
}

static void
print_text(const cb_budget_plan *plan, int mode, bool applied)
{
	size_t count[6] = { 0 }, failed = 0;

	for (size_t i = 0; i < cb_budget_plan_count(plan); i++) {
		const cb_budget_item *it = cb_budget_plan_item(plan, i);
		char d[2048];

		detail(d, sizeof(d), it);
		count[it->action]++;
		failed += it->applied < 0;
		printf("%s  %s  %s%s  %s\n", it->customer_id,
			it->budget_name ? it->budget_name : "-",
			action_words[it->action],
			it->applied < 0 ? " (failed)" : "", d);
	}
	if (mode == CB_BUDGET_MODE_LIST) {
		printf("list: %zu managed, %zu not managed, %zu failed\n",
			count[CB_BUDGET_UNCHANGED], count[CB_BUDGET_UNMANAGED],
			count[CB_BUDGET_FAILED]);
		return;
	}
	printf("%s: %zu to create, %zu to update, %zu to delete, %zu "
	       "unchanged, %zu not managed, %zu failed\n",
		applied ? "applied" : "plan", count[CB_BUDGET_CREATE],
		count[CB_BUDGET_UPDATE], count[CB_BUDGET_DELETE],
		count[CB_BUDGET_UNCHANGED], count[CB_BUDGET_UNMANAGED],
		count[CB_BUDGET_FAILED] + failed);
}

static void
print_json(const cb_budget_plan *plan)
{
	struct cli_json j;

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_array(&j, "budgets");
	for (size_t i = 0; i < cb_budget_plan_count(plan); i++) {
		const cb_budget_item *it = cb_budget_plan_item(plan, i);

		cli_json_object(&j, NULL);
		cli_json_str(&j, "billing_account_id", it->billing_account_id);
		cli_json_str(&j, "customer_id", it->customer_id);
		cli_json_str(&j, "customer_name", it->customer_name);
		cli_json_str(&j, "budget", it->budget_name);
		cli_json_str(&j, "action", action_words[it->action]);
		cli_json_str(&j, "amount", it->amount);
		cli_json_str(&j, "new_amount", it->new_amount);
		cli_json_str(&j, "changes", it->changes);
		cli_json_str(&j, "error", it->error);
		cli_json_str(&j, "result",
			it->applied > 0   ? "done"
			: it->applied < 0 ? "failed"
					  : NULL);
		cli_json_end(&j, '}');
	}
	cli_json_end(&j, ']');
	cli_json_int(&j, "failed", (long)cb_budget_plan_failures(plan));
	cli_json_end(&j, '}');
}

static int
budget_run(
	struct cli_ctx *ctx, const struct cli_args *args, int mode, bool apply)
{
	cb_budget_options o = CB_BUDGET_OPTIONS_INIT;
	const char *ids[BUDGET_CUSTOMERS_MAX];
	char *list = NULL;
	cb_budget_plan *plan = NULL;
	size_t n = 0;
	int rc = CLI_EXIT_OK;

	if (ctx->config == NULL) {
		fprintf(stderr,
			"chargeback: %s: no configuration (--config FILE)\n",
			ctx->verb);
		return CLI_EXIT_FAILURE;
	}
	if (args->value[OPT_CUSTOMER] != NULL) {
		if ((list = strdup(args->value[OPT_CUSTOMER])) == NULL)
			return CLI_EXIT_FAILURE;
		for (char *save = NULL, *t = strtok_r(list, ",", &save);
			t != NULL; t = strtok_r(NULL, ",", &save)) {
			if (n == BUDGET_CUSTOMERS_MAX) {
				free(list);
				fprintf(stderr,
					"chargeback: %s: more than %d "
					"customers in --customer\n",
					ctx->verb, BUDGET_CUSTOMERS_MAX);
				return CLI_EXIT_USAGE;
			}
			ids[n++] = t;
		}
		o.customers = ids;
		o.customer_count = n;
	}
	o.mode = mode;
	o.as_of = args->value[OPT_AS_OF];
	if (isatty(2))
		o.progress = progress;
	if (cb_budget_plan_new(&plan, ctx->config, ctx->store, &o) < 0 ||
		(apply && cb_budget_plan_apply(plan, ctx->store) < 0)) {
		rc = cli_fail(ctx);
		goto done;
	}
	if (ctx->output == CLI_OUTPUT_JSON)
		print_json(plan);
	else
		print_text(plan, mode, apply);
	for (size_t i = 0; i < cb_budget_plan_count(plan); i++) {
		const cb_budget_item *it = cb_budget_plan_item(plan, i);

		if (it->error != NULL)
			fprintf(stderr, "chargeback: %s: %s\n", ctx->verb,
				it->error);
	}
	if (cb_budget_plan_failures(plan) > 0)
		rc = CLI_EXIT_FAILURE;
done:
	cb_budget_plan_free(plan);
	free(list);
	return rc;
}

static int
budget_list(struct cli_ctx *ctx, const struct cli_args *args)
{
	return budget_run(ctx, args, CB_BUDGET_MODE_LIST, false);
}

static int
budget_plan(struct cli_ctx *ctx, const struct cli_args *args)
{
	return budget_run(ctx, args, CB_BUDGET_MODE_PLAN, false);
}

static int
budget_apply(struct cli_ctx *ctx, const struct cli_args *args)
{
	return budget_run(ctx, args, CB_BUDGET_MODE_PLAN, true);
}

static int
budget_delete(struct cli_ctx *ctx, const struct cli_args *args)
{
	return budget_run(ctx, args, CB_BUDGET_MODE_DELETE, true);
}

#define BUDGET_FLAGS (CLI_NEEDS_CONFIG | CLI_NEEDS_STORE)

const struct cli_cmd cli_budget_commands[] = {
	{
		.name = "list",
		.run = budget_list,
		.summary = "list every customer's budgets, managed or not",
		.help = "List the budgets of every customer in the store (or "
			"of --customer), read\nlive from Azure.  Budgets named "
			"\"cb-\" + a template name are managed\n(\"unchanged\"); "
			"others are \"not-managed\" and are never changed.",
		.flags = BUDGET_FLAGS,
		.opts = budget_opts,
	},
	{
		.name = "plan",
		.run = budget_plan,
		.summary = "show what apply would change",
		.help = "Compare the configuration's budget templates with "
			"the budgets at Azure\nand print, per customer and "
			"budget: create, update (field: old -> new),\ndelete "
			"(a managed budget no template selects), unchanged or "
			"not-managed.\nChanges nothing.  Exit status 1 when a "
			"customer could not be read.",
		.flags = BUDGET_FLAGS,
		.opts = budget_opts,
	},
	{
		.name = "apply",
		.run = budget_apply,
		.summary = "create, update and delete managed budgets",
		.help = "Compute the plan and perform it: PUT with the eTag "
			"read by the plan (a\nbudget changed meanwhile is "
			"reported, not overwritten), DELETE; each\nchange "
			"Azure confirms is recorded in the store.  Exit status "
			"1 when any\ncustomer failed; the others are applied.",
		.flags = BUDGET_FLAGS,
		.opts = budget_opts,
	},
	{
		.name = "delete",
		.run = budget_delete,
		.summary = "delete the managed budgets of customers",
		.help = "Delete every managed (\"cb-\") budget of the "
			"customers given with\n--customer, or of every "
			"customer.  Budgets made by hand are kept.",
		.flags = BUDGET_FLAGS,
		.opts = budget_opts,
	},
	{ 0 },
};
