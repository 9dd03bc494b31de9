/*
 * cli/cmd_statement.c - `chargeback statement`: write the customer
 * statements of a period's committed rating run
 * (cb_statement_build, chargeback/statement.h) as DIR/<customer>-<currency>
 * .csv or .json.  Each file is written to a temporary name and renamed.
 */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	OPT_PERIOD = CLI_OPT_HELP + 1,
	OPT_CUSTOMER,
	OPT_FORMAT,
	OPT_OUT,
};

const struct cli_opt cli_statement_opts[] = {
	{ OPT_PERIOD, 0, "period", "YYYY-MM", "the usage month (required)" },
	{ OPT_CUSTOMER, 0, "customer", "ID",
		"only this customer's statements" },
	{ OPT_FORMAT, 0, "format", "csv|json", "file format (default csv)" },
	{ OPT_OUT, 0, "out", "DIR", "folder for the files (required)" },
	CLI_OPT_HELP_ENTRY,
	{ 0 },
};

struct writer {
	const struct cli_ctx *ctx;
	const char *dir;
	const char *ext;
	unsigned long files;
};

/* A customer id or currency usable in a file name. */
static bool
name_ok(const char *s)
{
	return s[0] != '\0' && s[0] != '.' && strchr(s, '/') == NULL;
}

static int
write_one(const char *customer, const char *currency, const char *data,
	size_t len, void *payload)
{
	struct writer *w = payload;
	char path[4096], tmp[4112];
	FILE *f;
	int ok;

	if (!name_ok(customer) || !name_ok(currency)) {
		fprintf(stderr,
			"chargeback: %s: customer '%s' currency '%s' cannot "
			"name a file\n",
			w->ctx->verb, customer, currency);
		return 1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s-%s.%s", w->dir,
		    customer, currency, w->ext) >= sizeof(path)) {
		fprintf(stderr, "chargeback: %s: %s/...: path too long\n",
			w->ctx->verb, w->dir);
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "wb")) == NULL) {
		fprintf(stderr, "chargeback: %s: %s: %s\n", w->ctx->verb, tmp,
			strerror(errno));
		return 1;
	}
	ok = fwrite(data, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		fprintf(stderr, "chargeback: %s: %s: %s\n", w->ctx->verb, path,
			strerror(errno));
		remove(tmp);
		return 1;
	}
	printf("%s\n", path);
	w->files++;
	return 0;
}

int
cli_statement(struct cli_ctx *ctx, const struct cli_args *args)
{
	const char *period = args->value[OPT_PERIOD];
	const char *format = args->value[OPT_FORMAT];
	struct writer w = { ctx, args->value[OPT_OUT], "csv", 0 };
	cb_statement_format fmt = CB_STATEMENT_CSV;
	int rc;

	if (period == NULL)
		return cli_usage(ctx, "--period YYYY-MM is required");
	if (w.dir == NULL)
		return cli_usage(ctx, "--out DIR is required");
	if (format == NULL || strcmp(format, "csv") == 0) {
		fmt = CB_STATEMENT_CSV;
	} else if (strcmp(format, "json") == 0) {
		fmt = CB_STATEMENT_JSON;
		w.ext = "json";
	} else if (strcmp(format, "html") == 0) {
		return cli_usage(ctx, "html statements are not built yet");
	} else {
		return cli_usage(ctx, "--format must be csv or json");
	}
	if (mkdir(w.dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "chargeback: %s: %s: %s\n", ctx->verb, w.dir,
			strerror(errno));
		return CLI_EXIT_FAILURE;
	}
	if ((rc = cli_check_schema(ctx)) != CLI_EXIT_OK)
		return rc;
	rc = cb_statement_build(ctx->store, period, args->value[OPT_CUSTOMER],
		fmt, write_one, &w);
	if (rc > 0) /* write_one said why */
		return CLI_EXIT_FAILURE;
	if (rc < 0)
		return cli_fail(ctx);
	printf("%s: %lu statements\n", period, w.files);
	return CLI_EXIT_OK;
}

const char cli_statement_help[] =
	"Write the customer statements of a usage month's committed rating "
	"run\n(`chargeback rate`): one file per customer and billing "
	"currency,\nDIR/<customer>-<currency>.csv or .json; partner-level "
	"lines get none.\nThe total is the exact billed sum rounded once to "
	"the currency's minor\nunit (half away from zero); the lines are "
	"that total split by largest\nremainder (ties to the earlier line; "
	"refunds split apart from charges),\nso they add up to it exactly; "
	"subtotals by subscription and service\nfamily are sums of the "
	"rounded lines.  A statement is provisional until\nthe 8th day after "
	"the month's end.\n\n"
	"Exit status: 0 written; 1 no committed run for the month, an "
	"unknown\ncustomer, or a failure; 2 usage error.";
