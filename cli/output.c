/*
 * cli/output.c - output formats and the JSON writer (see output.h).
 */
#include "output.h"

#include <string.h>

int
cli_output_parse(int *out, const char *name)
{
	if (strcmp(name, "text") == 0)
		*out = CLI_OUTPUT_TEXT;
	else if (strcmp(name, "json") == 0)
		*out = CLI_OUTPUT_JSON;
	else
		return -1;
	return 0;
}

void
cli_json_string(FILE *out, const char *s)
{
	putc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\b':
			fputs("\\b", out);
			break;
		case '\f':
			fputs("\\f", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(out, "\\u%04x", c);
			else
				putc(c, out);
		}
	}
	putc('"', out);
}

void
cli_json_init(struct cli_json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

/* Separator and key before a value at the current depth. */
static void
json_member(struct cli_json *j, const char *key)
{
	/* Past CLI_JSON_DEPTH_MAX commas are not tracked (never happens:
	 * our documents are fixed shapes, far shallower). */
	if (j->depth > 0 && j->depth <= CLI_JSON_DEPTH_MAX) {
		if (!j->first[j->depth - 1])
			putc(',', j->out);
		j->first[j->depth - 1] = false;
	}
	if (key) {
		cli_json_string(j->out, key);
		putc(':', j->out);
	}
}

static void
json_open(struct cli_json *j, const char *key, char open)
{
	json_member(j, key);
	putc(open, j->out);
	if (j->depth < CLI_JSON_DEPTH_MAX)
		j->first[j->depth] = true;
	j->depth++;
}

void
cli_json_object(struct cli_json *j, const char *key)
{
	json_open(j, key, '{');
}

void
cli_json_array(struct cli_json *j, const char *key)
{
	json_open(j, key, '[');
}

void
cli_json_end(struct cli_json *j, char close)
{
	putc(close, j->out);
	if (--j->depth == 0)
		putc('\n', j->out);
}

void
cli_json_str(struct cli_json *j, const char *key, const char *value)
{
	json_member(j, key);
	if (value)
		cli_json_string(j->out, value);
	else
		fputs("null", j->out);
}

void
cli_json_int(struct cli_json *j, const char *key, long value)
{
	json_member(j, key);
	fprintf(j->out, "%ld", value);
}

void
cli_json_money(struct cli_json *j, const char *key, cb_money value)
{
	char text[CB_MONEY_STR_MAX];

	cb_money_format(text, sizeof(text), value);
	cli_json_str(j, key, text);
}
