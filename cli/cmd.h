/*
 * cli/cmd.h - the command table's shape and what every command shares.
 *
 * Commands are data: name, what they run, help texts, the options they
 * take, how many arguments, and the setup they need (git's RUN_SETUP).
 * main.c walks the table to dispatch, to print `chargeback help` and to do
 * the setup -- load the configuration, open the store -- once, the same
 * way for every command, after the command line has been validated (so
 * `chargeback db migrate --help` never needs a database).  A command with
 * sub-verbs (db migrate|status) points to a second table of the same shape.
 */
#ifndef CB_CLI_CMD_H
#define CB_CLI_CMD_H

#include <chargeback/chargeback.h>

#include "opt.h"
#include "output.h"

/* Setup flags (struct cli_cmd.flags). */
#define CLI_NEEDS_CONFIG 0x1u /* load the configuration file */
#define CLI_NEEDS_STORE  0x2u /* open the store (implies NEEDS_CONFIG) */

/* Exit status, documented in `chargeback --help`. */
#define CLI_EXIT_OK      0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE   2

struct cli_ctx;

struct cli_cmd {
	const char *name;
	/* Runs a leaf command once setup succeeded; returns an exit status.
	 * NULL for a command that only holds sub-verbs. */
	int (*run)(struct cli_ctx *ctx, const struct cli_args *args);
	const char *summary; /* one line for command lists */
	const char *usage;   /* arguments after the name, e.g. "[<command>]" */
	const char *help;    /* paragraph for `help <name>`, or NULL */
	unsigned flags;      /* CLI_NEEDS_* */
	const struct cli_opt *opts;        /* options; NULL: only --help */
	int min_args, max_args;            /* arguments accepted */
	const struct cli_cmd *subcommands; /* sub-verb table, or NULL */
};

/* Shared state of one invocation. */
struct cli_ctx {
	const char *verb;        /* "db migrate": for messages; borrowed */
	const char *config_path; /* --config, or NULL; borrowed from argv */
	const char *dsn;         /* --dsn, or NULL; borrowed from argv */
	int output;              /* enum cli_output */
	int verbose;             /* times -v was given */
	cb_config *config;       /* loaded by NEEDS_CONFIG, or NULL; owned */
	cb_store *store;         /* opened by NEEDS_STORE; owned */
};

/* "chargeback: <verb>: <cb_error_last() message>" on stderr; returns
 * CLI_EXIT_FAILURE. */
int cli_fail(const struct cli_ctx *ctx);

/* "chargeback: <verb>: <message>" on stderr; returns CLI_EXIT_USAGE. */
int cli_usage(const struct cli_ctx *ctx, const char *message);

/* CLI_EXIT_OK when the database schema has this chargeback's migrations,
 * else the message asking for 'chargeback db migrate' and
 * CLI_EXIT_FAILURE. */
int cli_check_schema(struct cli_ctx *ctx);

/* Sub-verb tables, one per cmd_<verb>.c. */
extern const struct cli_cmd cli_db_commands[];
extern const struct cli_cmd cli_budget_commands[];
extern const struct cli_cmd cli_policy_commands[];

/* `chargeback sync` (cmd_sync.c): run, options, help text. */
int cli_sync(struct cli_ctx *ctx, const struct cli_args *args);
extern const struct cli_opt cli_sync_opts[];
extern const char cli_sync_help[];

/* `chargeback ingest` and `chargeback costs` (cmd_ingest.c, cmd_costs.c). */
int cli_ingest(struct cli_ctx *ctx, const struct cli_args *args);
extern const struct cli_opt cli_ingest_opts[];
extern const char cli_ingest_help[];
int cli_costs(struct cli_ctx *ctx, const struct cli_args *args);
extern const struct cli_opt cli_costs_opts[];
extern const char cli_costs_help[];

/* `chargeback rate` (cmd_rate.c). */
int cli_rate(struct cli_ctx *ctx, const struct cli_args *args);
extern const struct cli_opt cli_rate_opts[];
extern const char cli_rate_help[];

/* `chargeback statement` (cmd_statement.c). */
int cli_statement(struct cli_ctx *ctx, const struct cli_args *args);
extern const struct cli_opt cli_statement_opts[];
extern const char cli_statement_help[];

/* `chargeback reconcile` (cmd_reconcile.c). */
int cli_reconcile(struct cli_ctx *ctx, const struct cli_args *args);
extern const struct cli_opt cli_reconcile_opts[];
extern const char cli_reconcile_help[];

#endif
