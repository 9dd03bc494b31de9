/*
 * cli/cmd_sync.c - `chargeback sync`: walk the partner hierarchy over ARM
 * and record it in the store (cb_sync_run, chargeback/sync.h).
 *
 * stdout: the summary (text), or one JSON document with --output json.
 * stderr: progress, only when it is a terminal; one error line on failure.
 */
#include "cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	OPT_ACCOUNT = CLI_OPT_HELP + 1,
	OPT_CONCURRENCY,
};

const struct cli_opt cli_sync_opts[] = {
	{ OPT_ACCOUNT, 0, "billing-account", "ID",
		"walk this billing account (repeatable); default: the "
		"configuration's, else all" },
	{ OPT_CONCURRENCY, 0, "concurrency", "N",
		"per-customer requests in flight, 1-64; default: "
		"http.max_parallel" },
	CLI_OPT_HELP_ENTRY,
	{ 0 },
};

/* Progress on a terminal: one line, redrawn at most 5 times a second. */
struct progress {
	bool on;
	bool drawn;
	struct timespec last;
};

static void
show_progress(const cb_sync_progress *p, void *payload)
{
	struct progress *pr = payload;
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - pr->last.tv_sec) * 1000 +
	     (now.tv_nsec - pr->last.tv_nsec) / 1000000;
	if (pr->drawn && ms < 200 && strcmp(p->phase, "customers") == 0 &&
		p->customers_done < p->customers_total)
		return;
	pr->last = now;
	pr->drawn = true;
	fprintf(stderr,
		"\r\033[Ksync: %s, customers %zu/%zu, requests %lu, "
		"throttled %lu, paced %lu",
		p->phase, p->customers_done, p->customers_total, p->requests,
		p->throttled, p->paced);
	fflush(stderr);
}

static void
end_progress(struct progress *pr)
{
	if (pr->drawn)
		fputs("\r\033[K", stderr);
}

/* "account[/customer][/id]" of a change. */
static void
change_path(char *out, size_t len, const cb_sync_change *c)
{
	bool own = c->kind == CB_SYNC_BILLING_PROFILE ||
		   c->kind == CB_SYNC_SUBSCRIPTION || c->kind == CB_SYNC_BUDGET;

	snprintf(out, len, "%s%s%s%s%s", c->billing_account_id,
		c->customer_id ? "/" : "", c->customer_id ? c->customer_id : "",
		own ? "/" : "", own ? c->id : "");
}

static const char *const json_kinds[CB_SYNC_KINDS] = { "billingAccounts",
	"billingProfiles", "customers", "subscriptions", "policies",
	"budgets" };
static const char *const json_kind[CB_SYNC_KINDS] = { "billingAccount",
	"billingProfile", "customer", "subscription", "policy", "budget" };

static void
print_json(const cb_sync_result *r)
{
	struct cli_json j;

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_int(&j, "run", (long)r->run_id);
	cli_json_object(&j, "counts");
	for (int k = 0; k < CB_SYNC_KINDS; k++)
		cli_json_int(&j, json_kinds[k], (long)r->count[k]);
	cli_json_end(&j, '}');
	for (int a = 0; a < CB_SYNC_ACTIONS; a++) {
		cli_json_array(&j, cb_sync_action_name(a));
		for (size_t i = 0; i < r->change_count; i++) {
			const cb_sync_change *c = &r->changes[i];

			if (c->action != a)
				continue;
			cli_json_object(&j, NULL);
			cli_json_str(&j, "kind", json_kind[c->kind]);
			cli_json_str(
				&j, "billingAccount", c->billing_account_id);
			cli_json_str(&j, "customer", c->customer_id);
			cli_json_str(&j, "id", c->id);
			cli_json_str(&j, "name", c->name);
			if (a == CB_SYNC_CHANGED)
				cli_json_str(&j, "fields", c->fields);
			cli_json_end(&j, '}');
		}
		cli_json_end(&j, ']');
	}
	cli_json_int(&j, "requests", (long)r->requests);
	cli_json_int(&j, "throttled", (long)r->throttled);
	cli_json_int(&j, "paced", (long)r->paced);
	cli_json_end(&j, '}');
}

static void
print_text(const cb_sync_result *r)
{
	size_t total[CB_SYNC_ACTIONS] = { 0 };
	char path[1024];

	static const char *const plural[CB_SYNC_KINDS] = { "billing accounts",
		"billing profiles", "customers", "subscriptions", "policies",
		"budgets" };

	printf("synced");
	for (int k = 0; k < CB_SYNC_KINDS; k++) {
		printf("%s %zu %s", k ? "," : "", r->count[k],
			r->count[k] == 1 ? cb_sync_kind_name(k) : plural[k]);
		for (int a = 0; a < CB_SYNC_ACTIONS; a++)
			total[a] += r->changed[a][k];
	}
	printf("\nnew %zu, changed %zu, gone %zu\n", total[CB_SYNC_NEW],
		total[CB_SYNC_CHANGED], total[CB_SYNC_GONE]);
	for (size_t i = 0; i < r->change_count; i++) {
		const cb_sync_change *c = &r->changes[i];

		change_path(path, sizeof(path), c);
		printf("%s %s %s", cb_sync_action_name(c->action),
			cb_sync_kind_name(c->kind), path);
		if (c->name)
			printf(" (%s)", c->name);
		if (c->fields)
			printf(": %s", c->fields);
		putchar('\n');
	}
	printf("ARM requests %lu, throttled %lu, paced %lu\n", r->requests,
		r->throttled, r->paced);
}

int
cli_sync(struct cli_ctx *ctx, const struct cli_args *args)
{
	cb_sync_options o = CB_SYNC_OPTIONS_INIT;
	cb_sync_result r = CB_SYNC_RESULT_INIT;
	struct progress pr = { .on = isatty(2) == 1 };
	cb_config *empty = NULL;
	const cb_config *cfg = ctx->config;
	int rc;

	if (args->count[OPT_ACCOUNT] > CLI_OPT_REPEAT_MAX) {
		fprintf(stderr,
			"chargeback: %s: --billing-account given more than %d "
			"times\n",
			ctx->verb, CLI_OPT_REPEAT_MAX);
		return CLI_EXIT_USAGE;
	}
	o.billing_accounts = args->values[OPT_ACCOUNT];
	o.billing_account_count = (size_t)args->count[OPT_ACCOUNT];
	if (args->value[OPT_CONCURRENCY]) {
		const char *s = args->value[OPT_CONCURRENCY];
		char *end;
		long n;

		errno = 0;
		n = strtol(s, &end, 10);
		if (errno || end == s || *end || n < 1 ||
			n > CB_SYNC_CONCURRENCY_MAX) {
			fprintf(stderr,
				"chargeback: %s: --concurrency: '%s' is not a "
				"number from 1 to %d\n",
				ctx->verb, s, CB_SYNC_CONCURRENCY_MAX);
			return CLI_EXIT_USAGE;
		}
		o.concurrency = (unsigned)n;
	}
	if ((rc = cli_check_schema(ctx)) != CLI_EXIT_OK)
		return rc;
	/* No configuration file: the AZURE_* variables alone. */
	if (cfg == NULL) {
		if (cb_config_load_string(&empty, "", "(environment)") < 0)
			return cli_fail(ctx);
		cfg = empty;
	}
	rc = cb_sync_run(
		ctx->store, cfg, &o, pr.on ? show_progress : NULL, &pr, &r);
	end_progress(&pr);
	cb_config_free(empty);
	if (rc < 0) {
		cb_sync_result_dispose(&r);
		return cli_fail(ctx);
	}
	if (ctx->output == CLI_OUTPUT_JSON)
		print_json(&r);
	else
		print_text(&r);
	cb_sync_result_dispose(&r);
	return CLI_EXIT_OK;
}

const char cli_sync_help[] =
	"Walk every billing account (those named, else the configuration's\n"
	"billing_accounts, else every one the credentials can list): billing\n"
	"profiles, customers, billing subscriptions, each customer's "
	"view-charges\npolicy and budgets.  Record them in the database in "
	"one transaction: new\nrows added, changed rows updated, rows that "
	"disappeared marked gone (never\ndeleted).  A sync that fails "
	"writes nothing; the previous snapshot stays.\nOne sync at a time "
	"per database.  Prints counts and every new, changed\nand gone row; "
	"progress on stderr when it is a terminal.";
