/*
 * emulator/main.c - the armsim command.
 *
 *   armsim [serve] [options]     serve the emulated Azure APIs until
 *                                SIGINT or SIGTERM
 *   armsim gen-costs ...         write a cost details CSV (benchmarks)
 *
 * Exit codes: 0 stopped by a signal, 1 could not start, 2 bad usage.
 */
#include "core/common.h"

#include "emulator/armsim.h"
#include "emulator/costgen.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: armsim [serve] [options]\n"
	"       armsim gen-costs --rows N [--seed S] [--period YYYY-MM]\n"
	"                        [--metric actual|amortized] --out FILE\n"
	"\n"
	"Serve the Azure APIs chargeback uses (Entra ID tokens, "
	"Microsoft.Billing,\n"
	"Microsoft.CostManagement, Microsoft.Consumption) on loopback, from a\n"
	"deterministic generated CSP partner.\n"
	"\n"
	"Listening:\n"
	"  --bind ADDR            IPv4 address (default 127.0.0.1)\n"
	"  --port N               port, 0 for any free one (default 0)\n"
	"  --port-file FILE       write the port here once listening\n"
	"  --tls-cert FILE        server certificate, PEM (HTTPS is the "
	"default)\n"
	"  --tls-key FILE         its private key, PEM\n"
	"  --http                 plain HTTP instead (simple unit tests)\n"
	"\n"
	"The partner:\n"
	"  --seed N               generator seed (default 1)\n"
	"  --customers N          customers (default 12)\n"
	"  --subscriptions-per-customer N   (default 2)\n"
	"  --rows-per-subscription-day N    cost lines (default 4)\n"
	"  --period YYYY-MM       month of cost lines (default 2026-10)\n"
	"  --partner-file FILE    load the partner from JSON instead\n"
	"\n"
	"The registered application:\n"
	"  --tenant-id GUID       partner tenant (default: generated)\n"
	"  --client-id GUID       application (client) id\n"
	"  --client-secret-env VAR  read the client secret from VAR\n"
	"  --client-cert FILE     certificate for JWT client assertions\n"
	"  --token-lifetime N     access token lifetime, seconds (3599)\n"
	"\n"
	"Behaviour:\n"
	"  --page-size N          items per list page (default 100)\n"
	"  --lro-polls N          202 answers before a report is ready (2)\n"
	"  --retry-after N        Retry-After on long-running operations (1)\n"
	"  --blob-rows N          cost details rows per blob (500000)\n"
	"  --faults FILE          a JSON fault plan (docs/armsim.md, \"Fault "
	"plans\";\n"
	"                         also POST /_armsim/faults)\n"
	"  --throttle SPEC        limits, comma-separated; the defaults:\n"
	"                           reads=250/25,writes=200/10,deletes=200/10\n"
	"                           (ARM buckets per principal: BURST/REFILL "
	"per s)\n"
	"                           costdetails-scope=2/min+10/h+50/d,\n"
	"                           costdetails-app=30/min,\n"
	"                           qpu=12/10s+60/min+600/h (COUNT/WINDOW, "
	"+ joined)\n"
	"  --quiet                no start-up line on stdout\n"
	"  --help                 this text\n";

enum {
	OPT_BIND = 256,
	OPT_PORT_FILE,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_HTTP,
	OPT_SEED,
	OPT_CUSTOMERS,
	OPT_SPC,
	OPT_ROWS,
	OPT_PERIOD,
	OPT_PARTNER_FILE,
	OPT_TENANT,
	OPT_CLIENT_ID,
	OPT_SECRET_ENV,
	OPT_CLIENT_CERT,
	OPT_TOKEN_LIFETIME,
	OPT_PAGE_SIZE,
	OPT_LRO_POLLS,
	OPT_RETRY_AFTER,
	OPT_BLOB_ROWS,
	OPT_FAULTS,
	OPT_THROTTLE,
	OPT_QUIET,
	OPT_HELP
};

static const struct option longopts[] = { { "bind", 1, NULL, OPT_BIND },
	{ "port", 1, NULL, 'p' }, { "port-file", 1, NULL, OPT_PORT_FILE },
	{ "tls-cert", 1, NULL, OPT_TLS_CERT },
	{ "tls-key", 1, NULL, OPT_TLS_KEY }, { "http", 0, NULL, OPT_HTTP },
	{ "seed", 1, NULL, OPT_SEED }, { "customers", 1, NULL, OPT_CUSTOMERS },
	{ "subscriptions-per-customer", 1, NULL, OPT_SPC },
	{ "rows-per-subscription-day", 1, NULL, OPT_ROWS },
	{ "period", 1, NULL, OPT_PERIOD },
	{ "partner-file", 1, NULL, OPT_PARTNER_FILE },
	{ "tenant-id", 1, NULL, OPT_TENANT },
	{ "client-id", 1, NULL, OPT_CLIENT_ID },
	{ "client-secret-env", 1, NULL, OPT_SECRET_ENV },
	{ "client-cert", 1, NULL, OPT_CLIENT_CERT },
	{ "token-lifetime", 1, NULL, OPT_TOKEN_LIFETIME },
	{ "page-size", 1, NULL, OPT_PAGE_SIZE },
	{ "lro-polls", 1, NULL, OPT_LRO_POLLS },
	{ "retry-after", 1, NULL, OPT_RETRY_AFTER },
	{ "blob-rows", 1, NULL, OPT_BLOB_ROWS },
	{ "faults", 1, NULL, OPT_FAULTS },
	{ "throttle", 1, NULL, OPT_THROTTLE }, { "quiet", 0, NULL, OPT_QUIET },
	{ "help", 0, NULL, OPT_HELP }, { NULL, 0, NULL, 0 } };

static int
bad(const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, "armsim: --%s %s: %s\n", opt, arg, why);
	return -1;
}

/* A decimal in [min, max] into *out. */
static int
uint_arg(const char *opt, const char *arg, uint64_t min, uint64_t max,
	uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
		v < min || v > max) {
		char why[96];
		snprintf(why, sizeof(why),
			"expected a whole number from "
			"%" PRIu64 " to %" PRIu64,
			min, max);
		return bad(opt, arg, why);
	}
	*out = v;
	return 0;
}

static int
period_arg(const char *arg, as_options *o)
{
	int y, m;
	char tail;

	if (sscanf(arg, "%4d-%2d%c", &y, &m, &tail) != 2 || strlen(arg) != 7 ||
		y < 2017 || y > 2100 || m < 1 || m > 12)
		return bad("period", arg, "expected YYYY-MM");
	o->period_year = y;
	o->period_month = m;
	return 0;
}

static int
set_uint(const char *opt, const char *arg, uint64_t min, uint64_t max,
	unsigned *out)
{
	uint64_t v;

	if (uint_arg(opt, arg, min, max, &v) != 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int
parse_serve(int argc, char **argv, as_options *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "p:", longopts, NULL)) != -1) {
		const char *name = NULL;
		int rc = 0;

		for (size_t i = 0; longopts[i].name != NULL; i++)
			if (longopts[i].val == c)
				name = longopts[i].name;
		switch (c) {
		case OPT_BIND:
			o->bind = optarg;
			break;
		case 'p':
			rc = set_uint(name, optarg, 0, 65535, &o->port);
			break;
		case OPT_PORT_FILE:
			o->port_file = optarg;
			break;
		case OPT_TLS_CERT:
			o->tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			o->tls_key = optarg;
			break;
		case OPT_HTTP:
			o->plain_http = true;
			break;
		case OPT_SEED:
			rc = uint_arg(name, optarg, 0, UINT64_MAX, &o->seed);
			break;
		case OPT_CUSTOMERS:
			rc = set_uint(name, optarg, 0, 1000000, &o->customers);
			break;
		case OPT_SPC:
			rc = set_uint(name, optarg, 1, 1000,
				&o->subscriptions_per_customer);
			break;
		case OPT_ROWS:
			rc = set_uint(name, optarg, 0, 100000,
				&o->rows_per_subscription_day);
			break;
		case OPT_PERIOD:
			rc = period_arg(optarg, o);
			break;
		case OPT_PARTNER_FILE:
			o->partner_file = optarg;
			break;
		case OPT_TENANT:
			o->tenant_id = optarg;
			break;
		case OPT_CLIENT_ID:
			o->client_id = optarg;
			break;
		case OPT_SECRET_ENV:
			o->client_secret = getenv(optarg);
			if (o->client_secret == NULL || *o->client_secret == 0)
				rc = bad(name, optarg,
					"the variable is not set");
			break;
		case OPT_CLIENT_CERT:
			o->client_cert = optarg;
			break;
		case OPT_TOKEN_LIFETIME:
			rc = set_uint(
				name, optarg, 1, 86400, &o->token_lifetime_s);
			break;
		case OPT_PAGE_SIZE:
			rc = set_uint(name, optarg, 1, 100000, &o->page_size);
			break;
		case OPT_LRO_POLLS:
			rc = set_uint(name, optarg, 0, 1000, &o->lro_polls);
			break;
		case OPT_RETRY_AFTER:
			rc = set_uint(name, optarg, 0, 3600, &o->retry_after_s);
			break;
		case OPT_BLOB_ROWS:
			rc = set_uint(name, optarg, 1, 100000000,
				&o->blob_rows);
			break;
		case OPT_FAULTS:
			o->fault_plan = optarg;
			break;
		case OPT_THROTTLE:
			o->throttle = optarg;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_HELP:
			fputs(usage, stdout);
			exit(0);
		default:
			fputs("armsim: see armsim --help\n", stderr);
			return -1;
		}
		if (rc != 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "armsim: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

static int
serve(int argc, char **argv)
{
	as_options o;
	as_server *s;
	char err[1024], base[128];
	sigset_t set;
	int sig;

	as_options_init(&o);
	if (parse_serve(argc, argv, &o) != 0)
		return 2;
	/* Block the stop signals before any thread starts, then wait. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (as_server_start(&s, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "armsim: %s\n", err);
		return 1;
	}
	as_server_base(s, base, sizeof(base));
	if (!o.quiet) {
		printf("armsim: serving %s (seed %" PRIu64 ", %zu customers)\n",
			base, o.seed, (size_t)o.customers);
		fflush(stdout);
	}
	sigwait(&set, &sig);
	as_server_stop(s);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "gen-costs") == 0)
		return as_gencosts_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "serve") == 0)
		return serve(argc - 1, argv + 1);
	return serve(argc, argv);
}
