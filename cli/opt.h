/*
 * cli/opt.h - table-driven option parsing.
 *
 * A command describes its options once, in a table; the same table parses
 * argv and prints the option list of --help, so help cannot drift from
 * what is accepted (libgit2's opt.c, tmux's cmd_entry).  Accepted forms:
 * -v, -vv (clusters), -o VALUE, -oVALUE, --name VALUE, --name=VALUE, and
 * "--" to end options.  Options and arguments may be interleaved unless
 * the parse stops at the first argument (global options before a verb).
 */
#ifndef CB_CLI_OPT_H
#define CB_CLI_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Option ids index cli_args; 0 ends a table.  Every command table has
 * CLI_OPT_HELP, the only id shared by all tables. */
#define CLI_OPT_IDS  16
#define CLI_OPT_HELP 1

struct cli_opt {
	int id;                 /* 1..CLI_OPT_IDS-1, unique in its table */
	char short_name;        /* 'v', or 0 for none */
	const char *long_name;  /* "verbose", or NULL for none */
	const char *value_name; /* "FILE" if the option takes a value */
	const char *help;       /* one line, lower case, no period */
};

#define CLI_OPT_HELP_ENTRY                                                 \
	{                                                                  \
		CLI_OPT_HELP, 'h', "help", NULL, "show this help and exit" \
	}

/* Values of a repeated option kept in cli_args.values; a command that
 * takes more checks count[] against it. */
#define CLI_OPT_REPEAT_MAX 64

/* What a parse found. */
struct cli_args {
	const char *value[CLI_OPT_IDS]; /* last value given; borrowed from
					   argv; NULL if absent or a flag */
	/* every value given, in order (the first CLI_OPT_REPEAT_MAX) */
	const char *values[CLI_OPT_IDS][CLI_OPT_REPEAT_MAX];
	int count[CLI_OPT_IDS]; /* times each option was given */
	int argc;               /* arguments (non-options) */
	char **argv;            /* the arguments, in order; borrowed:
				   the front of the parsed argv */
};

/* Longest usage message a parse produces. */
#define CLI_OPT_ERROR_MAX 256

/*
 * Parse argv[0..argc) against opts.  Arguments are moved to the front of
 * argv (pointers only), so args->argv aliases argv.  With stop_at_arg, the
 * first argument ends the parse: it and everything after it are left, in
 * order, as args->argv.  Returns 0, or -1 with a one-line message in err
 * ("unknown option '--x'").
 */
int cli_opt_parse(struct cli_args *args, const struct cli_opt *opts, int argc,
	char **argv, bool stop_at_arg, char *err, size_t errlen);

/* Print the table as the "Options:" block of --help. */
void cli_opt_print_help(FILE *out, const struct cli_opt *opts);

#endif
