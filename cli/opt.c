/*
 * cli/opt.c - table-driven option parsing (see opt.h).
 */
#include "opt.h"

#include <string.h>

static const struct cli_opt *
opt_find_long(const struct cli_opt *opts, const char *name, size_t len)
{
	for (; opts->id; opts++)
		if (opts->long_name && strlen(opts->long_name) == len &&
			strncmp(opts->long_name, name, len) == 0)
			return opts;
	return NULL;
}

static const struct cli_opt *
opt_find_short(const struct cli_opt *opts, char c)
{
	for (; opts->id; opts++)
		if (opts->short_name && opts->short_name == c)
			return opts;
	return NULL;
}

static void
opt_found(struct cli_args *args, const struct cli_opt *opt, const char *value)
{
	if (value && args->count[opt->id] < CLI_OPT_REPEAT_MAX)
		args->values[opt->id][args->count[opt->id]] = value;
	args->count[opt->id]++;
	args->value[opt->id] = value;
}

/* "--name[=value]" at argv[*i]; advances *i past a separate value. */
static int
opt_long(struct cli_args *args, const struct cli_opt *opts, int argc,
	char **argv, int *i, char *err, size_t errlen)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct cli_opt *opt = opt_find_long(opts, name, len);

	if (opt == NULL) {
		snprintf(
			err, errlen, "unknown option '--%.*s'", (int)len, name);
		return -1;
	}
	if (opt->value_name == NULL) {
		if (eq) {
			snprintf(err, errlen, "option '--%s' takes no value",
				opt->long_name);
			return -1;
		}
		opt_found(args, opt, NULL);
		return 0;
	}
	if (eq) {
		opt_found(args, opt, eq + 1);
		return 0;
	}
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "option '--%s' needs a value (%s)",
			opt->long_name, opt->value_name);
		return -1;
	}
	opt_found(args, opt, argv[++*i]);
	return 0;
}

/* "-abc" or "-oVALUE" or "-o VALUE" at argv[*i]. */
static int
opt_short(struct cli_args *args, const struct cli_opt *opts, int argc,
	char **argv, int *i, char *err, size_t errlen)
{
	for (const char *c = argv[*i] + 1; *c; c++) {
		const struct cli_opt *opt = opt_find_short(opts, *c);

		if (opt == NULL) {
			snprintf(err, errlen, "unknown option '-%c'", *c);
			return -1;
		}
		if (opt->value_name == NULL) {
			opt_found(args, opt, NULL);
			continue;
		}
		if (c[1]) {
			opt_found(args, opt, c + 1);
			return 0;
		}
		if (*i + 1 >= argc) {
			snprintf(err, errlen, "option '-%c' needs a value (%s)",
				*c, opt->value_name);
			return -1;
		}
		opt_found(args, opt, argv[++*i]);
		return 0;
	}
	return 0;
}

int
cli_opt_parse(struct cli_args *args, const struct cli_opt *opts, int argc,
	char **argv, bool stop_at_arg, char *err, size_t errlen)
{
	int i, nargs = 0;

	memset(args, 0, sizeof(*args));
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		int rc;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0') { /* "-" is an argument */
			if (stop_at_arg)
				break;
			/* Every slot below i is consumed: reuse it. */
			argv[nargs++] = argv[i];
			continue;
		}
		rc = a[1] == '-'
			     ? opt_long(args, opts, argc, argv, &i, err, errlen)
			     : opt_short(
				       args, opts, argc, argv, &i, err, errlen);
		if (rc < 0)
			return -1;
	}
	for (; i < argc; i++)
		argv[nargs++] = argv[i];
	args->argc = nargs;
	args->argv = argv;
	return 0;
}

/* "-v, --verbose", "    --dsn DSN": long options line up, as in git. */
static int
opt_label(char *out, size_t len, const struct cli_opt *opt)
{
	char s[8] = "    ";

	if (opt->short_name)
		snprintf(s, sizeof(s), "-%c%s", opt->short_name,
			opt->long_name ? ", " : "");
	return snprintf(out, len, "%s%s%s%s%s", s, opt->long_name ? "--" : "",
		opt->long_name ? opt->long_name : "",
		opt->value_name ? " " : "",
		opt->value_name ? opt->value_name : "");
}

void
cli_opt_print_help(FILE *out, const struct cli_opt *opts)
{
	char label[80];
	int width = 0;

	for (const struct cli_opt *o = opts; o->id; o++) {
		int n = opt_label(label, sizeof(label), o);

		if (n > width)
			width = n;
	}
	fprintf(out, "Options:\n");
	for (const struct cli_opt *o = opts; o->id; o++) {
		opt_label(label, sizeof(label), o);
		fprintf(out, "  %-*s  %s\n", width, label, o->help);
	}
}
