/*
 * cli/output.h - what the command prints: text or one JSON document.
 *
 * Data goes to stdout; diagnostics to stderr, one line each:
 * "chargeback: <verb>: <message>".  With --output json a command prints
 * exactly one JSON document (compact, one line) so scripts can parse it;
 * the writer below is the only producer of JSON in the CLI, which may not
 * use the library's internal JSON module.
 */
#ifndef CB_CLI_OUTPUT_H
#define CB_CLI_OUTPUT_H

#include <chargeback/money.h>

#include <stdbool.h>
#include <stdio.h>

enum cli_output { CLI_OUTPUT_TEXT = 0, CLI_OUTPUT_JSON = 1 };

/* "text" or "json" -> *out; -1 for anything else. */
int cli_output_parse(int *out, const char *name);

/* Write s as a JSON string, quotes included.  Bytes >= 0x80 pass through
 * (our text is UTF-8); quote, backslash and control characters are
 * escaped. */
void cli_json_string(FILE *out, const char *s);

/* Deepest nesting the writer tracks; our documents use 3. */
#define CLI_JSON_DEPTH_MAX 8

/*
 * A streaming writer that places the commas.  Members take a key; array
 * elements pass key NULL.  cli_json_end() of the outermost value ends the
 * line.
 */
struct cli_json {
	FILE *out;                      /* borrowed */
	int depth;                      /* open objects and arrays */
	bool first[CLI_JSON_DEPTH_MAX]; /* no member written yet at depth */
};

void cli_json_init(struct cli_json *j, FILE *out);
void cli_json_object(struct cli_json *j, const char *key);
void cli_json_array(struct cli_json *j, const char *key);
void cli_json_end(struct cli_json *j, char close);
/* value NULL writes null. */
void cli_json_str(struct cli_json *j, const char *key, const char *value);
void cli_json_int(struct cli_json *j, const char *key, long value);
/* An exact amount as a JSON string (cb_money_format: no exponent, no
 * trailing zeros), so no reader turns it into a float. */
void cli_json_money(struct cli_json *j, const char *key, cb_money value);

#endif
