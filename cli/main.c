/*
 * cli/main.c - the chargeback command: global options, dispatch, setup.
 *
 * The command table below (with the sub-verb tables it points to) is the
 * single source of what exists: it drives dispatch, `chargeback help` and
 * every --help alike, so they cannot drift.  Setup -- configuration, log,
 * store -- happens here, once, after a command's arguments are known to
 * be valid, as its table entry asks (CLI_NEEDS_*).
 */
#include "cmd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Longest "db migrate"-style command path. */
#define CLI_PATH_MAX 128

enum {
	OPT_CONFIG = CLI_OPT_HELP + 1,
	OPT_DSN,
	OPT_OUTPUT,
	OPT_VERBOSE,
	OPT_VERSION,
};

static const struct cli_opt global_opts[] = {
	{ OPT_CONFIG, 0, "config", "FILE", "read the configuration from FILE" },
	{ OPT_DSN, 0, "dsn", "DSN", "PostgreSQL connection string or URI" },
	{ OPT_OUTPUT, 0, "output", "FORMAT", "text (default) or json" },
	{ OPT_VERBOSE, 'v', "verbose", NULL,
		"log more on stderr; repeat for more" },
	{ OPT_VERSION, 0, "version", NULL, "print the version and exit" },
	CLI_OPT_HELP_ENTRY,
	{ 0 },
};

static const struct cli_opt help_only_opts[] = {
	CLI_OPT_HELP_ENTRY,
	{ 0 },
};

static int cmd_help(struct cli_ctx *ctx, const struct cli_args *args);
static int cmd_version(struct cli_ctx *ctx, const struct cli_args *args);

static const struct cli_cmd commands[] = {
	{
		.name = "db",
		.summary = "inspect and upgrade the database schema",
		.help = "Inspect and upgrade the database schema.",
		.subcommands = cli_db_commands,
	},
	{
		.name = "sync",
		.run = cli_sync,
		.summary = "record the partner hierarchy from Azure",
		.usage = "[--billing-account ID]... [--concurrency N]",
		.help = cli_sync_help,
		.flags = CLI_NEEDS_STORE,
		.opts = cli_sync_opts,
	},
	{
		.name = "ingest",
		.run = cli_ingest,
		.summary = "load a month of cost lines into the database",
		.usage = "--period YYYY-MM [--metric M] [--file PATH...] "
			 "[--scope S]",
		.help = cli_ingest_help,
		.flags = CLI_NEEDS_STORE,
		.opts = cli_ingest_opts,
		.max_args = CLI_OPT_REPEAT_MAX,
	},
	{
		.name = "costs",
		.run = cli_costs,
		.summary = "report the stored cost of a month",
		.usage = "--period YYYY-MM [--by G] [--metric M]",
		.help = cli_costs_help,
		.flags = CLI_NEEDS_STORE,
		.opts = cli_costs_opts,
	},
	{
		.name = "reconcile",
		.run = cli_reconcile,
		.summary = "tie out a month's invoices against the cost lines",
		.usage = "--period YYYY-MM [--no-fetch]",
		.help = cli_reconcile_help,
		.flags = CLI_NEEDS_STORE,
		.opts = cli_reconcile_opts,
	},
	{
		.name = "rate",
		.run = cli_rate,
		.summary = "price a month's cost with the markup rules",
		.usage = "--period YYYY-MM",
		.help = cli_rate_help,
		.flags = CLI_NEEDS_STORE,
		.opts = cli_rate_opts,
	},
	{
		.name = "statement",
		.run = cli_statement,
		.summary = "write a month's customer statements",
		.usage = "--period YYYY-MM [--customer ID] "
			 "[--format csv|json] --out DIR",
		.help = cli_statement_help,
		.flags = CLI_NEEDS_STORE,
		.opts = cli_statement_opts,
	},
	{
		.name = "policy",
		.summary =
			"customers' view charges policies: list, plan, apply",
		.help = "Which customers may see their own Azure charges: "
			"list, plan, apply\nthe configuration's policies, or "
			"set one customer.",
		.subcommands = cli_policy_commands,
	},
	{
		.name = "budget",
		.summary = "plan and apply customer budgets",
		.help = "Customer budgets from the configuration's budgets "
			"section.",
		.subcommands = cli_budget_commands,
	},
	{
		.name = "help",
		.run = cmd_help,
		.summary = "show help for a command",
		.usage = "[<command>...]",
		.help = "Show help for a command, or list the commands.",
		.max_args = 2,
	},
	{
		.name = "version",
		.run = cmd_version,
		.summary = "print the version",
		.help = "Print the version of chargeback.",
	},
	{ 0 },
};

static const char usage_line[] =
	"usage: chargeback [<options>] <command> [<args>]\n";

static void
print_commands(FILE *out, const struct cli_cmd *table)
{
	int width = 0;

	for (const struct cli_cmd *c = table; c->name; c++)
		if ((int)strlen(c->name) > width)
			width = (int)strlen(c->name);
	fprintf(out, "Commands:\n");
	for (const struct cli_cmd *c = table; c->name; c++)
		fprintf(out, "  %-*s  %s\n", width, c->name, c->summary);
}

static void
help_main(FILE *out)
{
	fputs(usage_line, out);
	fputs("\nCost, markup and chargeback statements for Microsoft CSP "
	      "partners.\n\n",
		out);
	print_commands(out, commands);
	fputc('\n', out);
	cli_opt_print_help(out, global_opts);
	fputs("\nDefaults: --config is $CHARGEBACK_CONFIG, else "
	      "./chargeback.cfg if it exists;\n--dsn is $CHARGEBACK_DSN, "
	      "else the configuration's database.dsn, else\nlibpq's "
	      "environment (PGHOST, PGDATABASE, ...).  Options go before "
	      "the command.\n\nExit status: 0 success, 1 failure (one line "
	      "on stderr), 2 usage error.\nRun 'chargeback help <command>' "
	      "for the help of a command.\n",
		out);
}

static void
print_usage(FILE *out, const char *path, const struct cli_cmd *cmd)
{
	const char *args = cmd->subcommands ? "<command>" : cmd->usage;

	fprintf(out, "usage: chargeback %s%s%s\n", path, args ? " " : "",
		args ? args : "");
}

static void
help_command(FILE *out, const char *path, const struct cli_cmd *cmd)
{
	print_usage(out, path, cmd);
	if (cmd->help)
		fprintf(out, "\n%s\n", cmd->help);
	fputc('\n', out);
	if (cmd->subcommands)
		print_commands(out, cmd->subcommands);
	else
		cli_opt_print_help(out, cmd->opts ? cmd->opts : help_only_opts);
}

/* A usage error: what is wrong, then how the command is used. */
static int usage_error(const char *path, const struct cli_cmd *cmd,
	const char *fmt, ...) CB_FORMAT_PRINTF(3, 4);

static int
usage_error(const char *path, const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("chargeback: ", stderr);
	if (path)
		fprintf(stderr, "%s: ", path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd)
		print_usage(stderr, path, cmd);
	else
		fputs(usage_line, stderr);
	return CLI_EXIT_USAGE;
}

/* The schema must have this chargeback's migrations. */
int
cli_check_schema(struct cli_ctx *ctx)
{
	int have = 0, want = 0;

	if (cb_store_schema_version(ctx->store, &have, &want) < 0)
		return cli_fail(ctx);
	if (have < want) {
		fprintf(stderr,
			"chargeback: %s: the database schema is at version "
			"%d, this chargeback needs %d: run 'chargeback db "
			"migrate'\n",
			ctx->verb, have, want);
		return CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_OK;
}

int
cli_usage(const struct cli_ctx *ctx, const char *message)
{
	fprintf(stderr, "chargeback: %s: %s\n", ctx->verb, message);
	return CLI_EXIT_USAGE;
}

int
cli_fail(const struct cli_ctx *ctx)
{
	fprintf(stderr, "chargeback: %s: %s\n", ctx->verb,
		cb_error_last()->message);
	return CLI_EXIT_FAILURE;
}

static const struct cli_cmd *
find_command(const struct cli_cmd *table, const char *name)
{
	for (const struct cli_cmd *c = table; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/*
 * The configuration file, if any: --config FILE, else $CHARGEBACK_CONFIG
 * (both must exist), else ./chargeback.cfg when there is one.  Its log
 * settings apply from here on, raised by -v.
 */
static int
setup_config(struct cli_ctx *ctx)
{
	const char *path = ctx->config_path, *env;
	const cb_log_config *log;
	bool required = true;
	int error;

	if (path == NULL && (env = getenv("CHARGEBACK_CONFIG")) && *env)
		path = env;
	if (path == NULL) {
		path = "chargeback.cfg";
		required = false;
	}
	error = cb_config_load(&ctx->config, path);
	if (error == CB_ENOTFOUND && !required)
		return 0;
	if (error < 0)
		return error;
	log = cb_config_log(ctx->config);
	cb_log_set_level(log->level + ctx->verbose);
	return cb_log_to_fd(2, log->format);
}

/* --dsn, else $CHARGEBACK_DSN, else database.dsn, else NULL: libpq's own
 * environment (PGHOST, PGDATABASE, ...). */
static const char *
setup_dsn(const struct cli_ctx *ctx)
{
	const char *env = getenv("CHARGEBACK_DSN");

	if (ctx->dsn)
		return ctx->dsn;
	if (env && *env)
		return env;
	if (ctx->config && cb_config_dsn(ctx->config))
		return cb_config_dsn(ctx->config);
	return NULL;
}

static int
setup(struct cli_ctx *ctx, unsigned flags)
{
	int error;

	if ((flags & (CLI_NEEDS_CONFIG | CLI_NEEDS_STORE)) &&
		(error = setup_config(ctx)) < 0)
		return error;
	if ((flags & CLI_NEEDS_STORE) &&
		(error = cb_store_open(&ctx->store, setup_dsn(ctx))) < 0)
		return error;
	return 0;
}

/* Run argv[0] (a name in table) with its arguments; parent is the path of
 * the table's command ("db"), or NULL at the top. */
static int
dispatch(struct cli_ctx *ctx, const struct cli_cmd *table,
	const struct cli_cmd *parent_cmd, const char *parent, int argc,
	char **argv)
{
	char path[CLI_PATH_MAX], err[CLI_OPT_ERROR_MAX];
	const struct cli_cmd *cmd = find_command(table, argv[0]);
	struct cli_args args;

	if (cmd == NULL)
		return usage_error(
			parent, parent_cmd, "unknown command '%s'", argv[0]);
	snprintf(path, sizeof(path), "%s%s%s", parent ? parent : "",
		parent ? " " : "", cmd->name);

	if (cmd->subcommands) {
		if (argc < 2)
			return usage_error(path, cmd, "%s", "missing command");
		if (strcmp(argv[1], "-h") == 0 ||
			strcmp(argv[1], "--help") == 0) {
			help_command(stdout, path, cmd);
			return CLI_EXIT_OK;
		}
		if (argv[1][0] == '-')
			return usage_error(
				path, cmd, "unknown option '%s'", argv[1]);
		return dispatch(
			ctx, cmd->subcommands, cmd, path, argc - 1, argv + 1);
	}

	if (cli_opt_parse(&args, cmd->opts ? cmd->opts : help_only_opts,
		    argc - 1, argv + 1, false, err, sizeof(err)) < 0)
		return usage_error(path, cmd, "%s", err);
	if (args.count[CLI_OPT_HELP]) {
		help_command(stdout, path, cmd);
		return CLI_EXIT_OK;
	}
	if (args.argc > cmd->max_args)
		return usage_error(path, cmd, "unexpected argument '%s'",
			args.argv[cmd->max_args]);
	if (args.argc < cmd->min_args)
		return usage_error(path, cmd, "%s", "missing argument");

	ctx->verb = path;
	if (setup(ctx, cmd->flags) < 0)
		return cli_fail(ctx);
	return cmd->run(ctx, &args);
}

static int
cmd_help(struct cli_ctx *ctx, const struct cli_args *args)
{
	const struct cli_cmd *table = commands, *cmd = NULL;
	char path[CLI_PATH_MAX] = "";

	(void)ctx;
	if (args->argc == 0) {
		help_main(stdout);
		return CLI_EXIT_OK;
	}
	for (int i = 0; i < args->argc; i++) {
		size_t n = strlen(path);

		snprintf(path + n, sizeof(path) - n, "%s%s", n ? " " : "",
			args->argv[i]);
		if (table == NULL ||
			(cmd = find_command(table, args->argv[i])) == NULL)
			return usage_error("help",
				find_command(commands, "help"),
				"unknown command '%s'", path);
		table = cmd->subcommands;
	}
	help_command(stdout, path, cmd);
	return CLI_EXIT_OK;
}

static int
cmd_version(struct cli_ctx *ctx, const struct cli_args *args)
{
	(void)args;
	if (ctx->output == CLI_OUTPUT_JSON) {
		struct cli_json j;

		cli_json_init(&j, stdout);
		cli_json_object(&j, NULL);
		cli_json_str(&j, "version", cb_version());
		cli_json_end(&j, '}');
	} else {
		printf("chargeback %s\n", cb_version());
	}
	return CLI_EXIT_OK;
}

/* Global options, before the command. */
static int
parse_globals(struct cli_ctx *ctx, struct cli_args *args, int argc, char **argv)
{
	char err[CLI_OPT_ERROR_MAX];

	if (cli_opt_parse(
		    args, global_opts, argc, argv, true, err, sizeof(err)) < 0)
		return usage_error(NULL, NULL, "%s", err);
	ctx->config_path = args->value[OPT_CONFIG];
	ctx->dsn = args->value[OPT_DSN];
	ctx->verbose = args->count[OPT_VERBOSE];
	if (args->value[OPT_OUTPUT] &&
		cli_output_parse(&ctx->output, args->value[OPT_OUTPUT]) < 0)
		return usage_error(NULL, NULL,
			"--output: '%s' is not text or json",
			args->value[OPT_OUTPUT]);
	return CLI_EXIT_OK;
}

static int
run(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_args globals;
	int rc;

	if ((rc = parse_globals(ctx, &globals, argc - 1, argv + 1)) != 0)
		return rc;
	cb_log_set_level(CB_LOG_WARN + ctx->verbose);
	if (globals.count[OPT_VERSION])
		return cmd_version(ctx, &globals);
	if (globals.count[CLI_OPT_HELP]) {
		struct cli_args help = globals;

		return cmd_help(ctx, &help);
	}
	if (globals.argc == 0)
		return usage_error(NULL, NULL, "%s", "missing command");
	return dispatch(ctx, commands, NULL, NULL, globals.argc, globals.argv);
}

int
main(int argc, char **argv)
{
	struct cli_ctx ctx = { .verb = "chargeback" };
	int rc;

	/* Until the configuration says otherwise: warnings and errors, as
	 * text, on stderr. */
	cb_log_to_fd(2, CB_LOG_FORMAT_TEXT);
	if (cb_init() < 0) {
		fprintf(stderr, "chargeback: %s\n", cb_error_last()->message);
		return CLI_EXIT_FAILURE;
	}
	rc = run(&ctx, argc, argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "chargeback: %s: cannot write output: %s\n",
			ctx.verb, strerror(errno));
		rc = CLI_EXIT_FAILURE;
	}
	cb_store_close(ctx.store);
	cb_config_free(ctx.config);
	cb_shutdown();
	return rc;
}
