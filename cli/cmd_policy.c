/*
 * cli/cmd_policy.c - `chargeback policy list|plan|apply|set`: which
 * customers may see their own Azure charges (include/chargeback/policy.h).
 *
 * Every sub-verb prints one table (or one JSON document); per-customer
 * failures go to stderr, one line each, and make the exit status 1 while
 * the other customers are still shown.  A configuration error stops
 * before anything is sent.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_FROM_STORE = CLI_OPT_HELP + 1, OPT_CUSTOMER, OPT_VIEW_CHARGES };

static const struct cli_opt list_opts[] = {
	{ OPT_FROM_STORE, 0, "from-store", NULL,
		"show the values last recorded in the store, not ARM's" },
	CLI_OPT_HELP_ENTRY,
	{ 0 },
};

static const struct cli_opt set_opts[] = {
	{ OPT_CUSTOMER, 0, "customer", "ID", "the customer id (required)" },
	{ OPT_VIEW_CHARGES, 0, "view-charges", "VALUE",
		"allowed or notallowed (required)" },
	CLI_OPT_HELP_ENTRY,
	{ 0 },
};

/* Progress on stderr, only when it is a terminal. */
static void
progress(size_t done, size_t total, void *payload)
{
	(void)payload;
	fprintf(stderr, "\rpolicy: %zu/%zu calls", done, total);
	if (done == total)
		fputc('\n', stderr);
}

static void
options(cb_policy_options *o)
{
	cb_policy_options init = CB_POLICY_OPTIONS_INIT;

	*o = init;
	if (isatty(2))
		o->progress = progress;
}

/* What happened to one customer, one word. */
static const char *
item_action(const cb_policy_item *it, bool applied)
{
	if (it->error)
		return "failed";
	if (applied && it->changed)
		return "changed";
	if (it->desired == CB_VIEW_CHARGES_NONE)
		return "unmanaged";
	if (it->change)
		return "change";
	return "unchanged";
}

static const char *
value_text(int v)
{
	return v == CB_VIEW_CHARGES_NONE ? "-" : cb_view_charges_name(v);
}

static void
print_json(const cb_policy *p, const char *source, bool applied)
{
	struct cli_json j;
	long counts[5] = { 0 };
	static const char *const words[] = { "change", "changed", "unchanged",
		"unmanaged", "failed" };

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	if (source)
		cli_json_str(&j, "source", source);
	cli_json_array(&j, "customers");
	for (size_t i = 0; i < cb_policy_count(p); i++) {
		const cb_policy_item *it = cb_policy_item_at(p, i);
		const char *act = item_action(it, applied);

		for (size_t w = 0; w < 5; w++)
			counts[w] += strcmp(act, words[w]) == 0;
		cli_json_object(&j, NULL);
		cli_json_str(&j, "billing_account", it->billing_account_id);
		cli_json_str(&j, "customer", it->customer_id);
		cli_json_str(&j, "name", it->display_name);
		cli_json_str(&j, "reseller", it->reseller_id);
		cli_json_str(&j, "current",
			it->current == CB_VIEW_CHARGES_NONE
				? NULL
				: cb_view_charges_name(it->current));
		cli_json_str(&j, "desired",
			it->desired == CB_VIEW_CHARGES_NONE
				? NULL
				: cb_view_charges_name(it->desired));
		if (applied)
			cli_json_str(&j, "previous",
				it->previous == CB_VIEW_CHARGES_NONE
					? NULL
					: cb_view_charges_name(it->previous));
		cli_json_str(&j, "rule", it->rule);
		if (it->rule_line)
			cli_json_int(&j, "rule_line", (long)it->rule_line);
		else
			cli_json_str(&j, "rule_line", NULL);
		cli_json_str(&j, "action", act);
		cli_json_str(&j, "error", it->message);
		cli_json_str(&j, "request_id",
			it->error && *it->request_id ? it->request_id : NULL);
		cli_json_end(&j, '}');
	}
	cli_json_end(&j, ']');
	cli_json_object(&j, "summary");
	for (size_t w = 0; w < 5; w++)
		if (applied ? w != 0 : w != 1)
			cli_json_int(&j, words[w], counts[w]);
	cli_json_end(&j, '}');
	cli_json_end(&j, '}');
}

/* The table: customer, name, current -> desired (or the result). */
static void
print_text(const cb_policy *p, bool applied, bool plan)
{
	int wid = 8, wname = 4;
	long change = 0, changed = 0, same = 0, unmanaged = 0, failed = 0;

	for (size_t i = 0; i < cb_policy_count(p); i++) {
		const cb_policy_item *it = cb_policy_item_at(p, i);

		if ((int)strlen(it->customer_id) > wid)
			wid = (int)strlen(it->customer_id);
		if ((int)strlen(it->display_name) > wname)
			wname = (int)strlen(it->display_name);
	}
	printf("%-*s  %-*s  %s\n", wid, "customer", wname, "name",
		plan ? "view charges: current -> desired" : "view charges");
	for (size_t i = 0; i < cb_policy_count(p); i++) {
		const cb_policy_item *it = cb_policy_item_at(p, i);
		const char *act = item_action(it, applied);

		printf("%-*s  %-*s  ", wid, it->customer_id, wname,
			it->display_name);
		if (it->error) {
			printf("failed\n");
			failed++;
		} else if (!plan) {
			printf("%s\n", value_text(it->current));
		} else if (strcmp(act, "changed") == 0) {
			printf("%s -> %s (changed, %s)\n",
				value_text(it->previous),
				cb_view_charges_name(it->desired), it->rule);
			changed++;
		} else if (strcmp(act, "change") == 0) {
			printf("%s -> %s (%s)\n", value_text(it->current),
				cb_view_charges_name(it->desired), it->rule);
			change++;
		} else if (strcmp(act, "unmanaged") == 0) {
			printf("%s (no rule)\n", value_text(it->current));
			unmanaged++;
		} else {
			printf("%s (no change, %s)\n", value_text(it->current),
				it->rule);
			same++;
		}
	}
	if (applied)
		printf("%ld changed, %ld unchanged, %ld unmanaged, %ld "
		       "failed\n",
			changed, same, unmanaged, failed);
	else if (plan)
		printf("%ld to change, %ld unchanged, %ld unmanaged, %ld "
		       "failed\n",
			change, same, unmanaged, failed);
}

/* One line per failed customer on stderr; returns the exit status. */
static int
report_failures(const struct cli_ctx *ctx, const cb_policy *p)
{
	int rc = CLI_EXIT_OK;

	for (size_t i = 0; i < cb_policy_count(p); i++) {
		const cb_policy_item *it = cb_policy_item_at(p, i);

		if (it->error) {
			fprintf(stderr, "chargeback: %s: %s\n", ctx->verb,
				it->message ? it->message : "failed");
			rc = CLI_EXIT_FAILURE;
		}
	}
	return rc;
}

static int
need_config(struct cli_ctx *ctx)
{
	if (ctx->config != NULL)
		return 0;
	fprintf(stderr,
		"chargeback: %s: no configuration (--config FILE, "
		"$CHARGEBACK_CONFIG or ./chargeback.cfg)\n",
		ctx->verb);
	return CLI_EXIT_FAILURE;
}

static int
policy_list(struct cli_ctx *ctx, const struct cli_args *args)
{
	bool store = args->count[OPT_FROM_STORE] > 0;
	cb_policy_options o;
	cb_policy *p = NULL;
	int rc;

	if (need_config(ctx))
		return CLI_EXIT_FAILURE;
	options(&o);
	rc = cb_policy_list(&p, ctx->config, ctx->store,
		store ? CB_POLICY_FROM_STORE : CB_POLICY_FROM_ARM, &o);
	if (rc < 0)
		return cli_fail(ctx);
	if (ctx->output == CLI_OUTPUT_JSON) {
		print_json(p, store ? "store" : "arm", false);
	} else {
		printf("view charges %s\n",
			store ? "last recorded in the store (may be stale)"
			      : "read live from ARM");
		print_text(p, false, false);
	}
	rc = report_failures(ctx, p);
	cb_policy_free(p);
	return rc;
}

static int
policy_plan(struct cli_ctx *ctx, const struct cli_args *args)
{
	cb_policy_options o;
	cb_policy *p = NULL;
	int rc;

	(void)args;
	if (need_config(ctx))
		return CLI_EXIT_FAILURE;
	options(&o);
	if (cb_policy_plan(&p, ctx->config, ctx->store, &o) < 0)
		return cli_fail(ctx);
	if (ctx->output == CLI_OUTPUT_JSON)
		print_json(p, NULL, false);
	else
		print_text(p, false, true);
	rc = report_failures(ctx, p);
	cb_policy_free(p);
	return rc;
}

static int
policy_apply(struct cli_ctx *ctx, const struct cli_args *args)
{
	cb_policy_options o;
	cb_policy *p = NULL;
	int rc;

	(void)args;
	if (need_config(ctx))
		return CLI_EXIT_FAILURE;
	options(&o);
	if (cb_policy_plan(&p, ctx->config, ctx->store, &o) < 0)
		return cli_fail(ctx);
	if (cb_policy_apply(p, ctx->config, ctx->store, &o) < 0) {
		cb_policy_free(p);
		return cli_fail(ctx);
	}
	if (ctx->output == CLI_OUTPUT_JSON)
		print_json(p, NULL, true);
	else
		print_text(p, true, true);
	rc = report_failures(ctx, p);
	cb_policy_free(p);
	return rc;
}

static int
policy_set(struct cli_ctx *ctx, const struct cli_args *args)
{
	const char *customer = args->value[OPT_CUSTOMER];
	const char *value = args->value[OPT_VIEW_CHARGES];
	cb_policy_options o;
	cb_policy *p = NULL;
	int vc, rc;

	if (customer == NULL || value == NULL) {
		fprintf(stderr,
			"chargeback: %s: --customer and --view-charges are "
			"required\nusage: chargeback %s --customer ID "
			"--view-charges allowed|notallowed\n",
			ctx->verb, ctx->verb);
		return CLI_EXIT_USAGE;
	}
	if (cb_view_charges_parse(&vc, value) < 0) {
		fprintf(stderr,
			"chargeback: %s: --view-charges: '%s' is not allowed "
			"or notallowed\n",
			ctx->verb, value);
		return CLI_EXIT_USAGE;
	}
	if (need_config(ctx))
		return CLI_EXIT_FAILURE;
	options(&o);
	rc = cb_policy_set(&p, ctx->config, ctx->store, customer, vc, &o);
	if (rc < 0)
		return cli_fail(ctx);
	if (ctx->output == CLI_OUTPUT_JSON)
		print_json(p, NULL, true);
	else
		print_text(p, true, true);
	rc = report_failures(ctx, p);
	cb_policy_free(p);
	return rc;
}

const struct cli_cmd cli_policy_commands[] = {
	{
		.name = "apply",
		.run = policy_apply,
		.summary = "make every customer's view charges as configured",
		.help = "Plan, then PUT the desired value for every customer "
			"whose policy differs,\nre-read each to confirm, and "
			"record each change in the store (with\nthe "
			"configuration's hash).  Customers ARM refuses are "
			"reported on stderr\n(customer, call, ARM's message "
			"and request id); the others proceed.\nExit status 1 "
			"if any customer failed.",
		.flags = CLI_NEEDS_STORE,
	},
	{
		.name = "list",
		.run = policy_list,
		.summary = "show every customer's view charges policy",
		.help = "Show the store's customers with their view charges "
			"policy, read live\nfrom ARM (or, with --from-store, "
			"as last recorded by sync or policy apply).",
		.flags = CLI_NEEDS_STORE,
		.opts = list_opts,
	},
	{
		.name = "plan",
		.run = policy_plan,
		.summary = "show current -> desired view charges; change "
			   "nothing",
		.help = "Resolve the configuration's policies for every "
			"customer of the store\n(most specific wins: customer "
			"id > label > reseller > name > all),\nread the "
			"current values live from ARM and show current -> "
			"desired.\nChanges nothing.  A rule that selects no "
			"customer, an unknown customer\nor a tie is an error "
			"naming the configuration line.",
		.flags = CLI_NEEDS_STORE,
	},
	{
		.name = "set",
		.run = policy_set,
		.summary = "set one customer's view charges",
		.usage = "--customer ID --view-charges allowed|notallowed",
		.help = "Set one customer's view charges policy, confirm it "
			"and record the\nchange in the store.",
		.flags = CLI_NEEDS_STORE,
		.opts = set_opts,
	},
	{ 0 },
};
