/*
 * core/json.h - Azure JSON bodies, read and written without losing a digit.
 *
 * The JSON layer of the ARM client (token responses, list pages,
 * long-running-operation bodies, error bodies, budgets, invoices, query
 * results) and of its request bodies.  jansson does the parsing and the
 * escaping, but it lives only in core/json.c: nothing here names a jansson
 * type, so auth, arm and tenants never include it.
 *
 * The one thing a reader must know: jansson turns JSON numbers into
 * double, and Azure sends money as JSON numbers with up to 17 significant
 * digits (STYLE.md 6.4).  So before jansson sees a body, a scanner
 * (core/json_numbers.c) rewrites every number token N into the string
 * "\u0001N".  U+0001 is a control character no Azure API sends (a body
 * holding a string that starts with it is refused), so a string that
 * starts with it is known to be an original number, whose literal text is
 * kept whole: money is parsed from those digits by the money module, other
 * integers with a checked strtoll.  Writing reverses the trick: numbers are
 * stored as marked strings and the quotes come off after jansson has
 * serialised the tree.
 *
 * Ownership: a cb_json owns its whole tree.  Every cb_json_node pointer
 * and every string handed out is borrowed from the document and stays
 * valid until cb__json_free(), or until the node (or an ancestor) is
 * replaced or removed by a setter.
 *
 * Paths name a value below a node: keys joined by '.', array indexes in
 * brackets, a key with unusual characters quoted in brackets, "" for the
 * node itself.  Examples: "properties.amountDue.value", "value[3].name",
 * "[0]", "manifest.blobs[0].blobLink", "tags[\"cost.center\"]".  Setters
 * also accept "[]", "append to this array".  A malformed path is the
 * caller's bug: CB_EINVAL.
 *
 * Errors name the document and the absolute path of the offending value:
 *   "GET /providers/Microsoft.Billing/billingAccounts: value[3].properties.
 *    amountDue.value: expected a number, found a string"
 * They never quote a string value (a token response is parsed here too);
 * number literals, which are never secret, are quoted.
 */
#ifndef CB_CORE_JSON_H
#define CB_CORE_JSON_H

#include "chargeback/buf.h"
#include "chargeback/money.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Largest body cb__json_parse() accepts: 64 MiB.  The biggest JSON bodies
 * we read are list pages (a Consumption usage-details page of 1,000 rows is
 * about 3 MB; a Cost Management query page is well under 1 MB); cost detail
 * reports, the really large data, arrive as CSV blobs.  jansson needs
 * several times the text size in memory, so a cap far above real pages but
 * far below exhausting a host is the point; past it is CB_ETOOBIG.
 */
#define CB_JSON_MAX_SIZE ((size_t)64 << 20)

/*
 * Deepest nesting of arrays and objects accepted: 64.  ARM bodies nest
 * about 8 levels (a budget filter: body.properties.filter.and[].dimensions.
 * values[]); jansson's own limit is 2048, enough recursion to hurt on a
 * small thread stack.  Also the longest path (in segments) accepted.
 */
#define CB_JSON_MAX_DEPTH 64

/* Longest path rendered in an error message, in bytes (the message itself
 * is capped at CB_ERROR_MESSAGE_MAX); longer paths are cut with "...". */
#define CB_JSON_PATH_MAX 256

/* Longest key written in quoted path form ["..."] once unescaped. */
#define CB_JSON_KEY_MAX 256

/** A JSON document: a parsed body or one being built.  Owns its tree. */
typedef struct cb_json cb_json;

/** A value inside a document.  Borrowed from the document, never freed. */
typedef struct cb_json_node cb_json_node;

/** What a node holds.  A number is any JSON number token. */
typedef enum {
	CB_JSON_NONE = 0, /* no node (a NULL handle) */
	CB_JSON_NULL,
	CB_JSON_BOOL,
	CB_JSON_NUMBER,
	CB_JSON_STRING,
	CB_JSON_ARRAY,
	CB_JSON_OBJECT
} cb_json_type;

/*
 * Flags for the getters.
 *
 * CB_JSON_OPTIONAL: a value that is missing or null, or below a missing or
 * null parent, is absent: the getter returns CB_ENOTFOUND, leaves *out and
 * the last error untouched.  A value of the wrong type is still CB_EPARSE.
 * Without it, absence is CB_EPARSE ("...: missing").
 *
 * CB_JSON_NUMERIC_STRING (int64 and money getters only): also accept a
 * JSON string holding a JSON number, such as IMDS's "expires_in": "3599".
 * Off by default, because a string where the API documents a number usually
 * means we are reading the wrong field.
 */
#define CB_JSON_OPTIONAL       (1u << 0)
#define CB_JSON_NUMERIC_STRING (1u << 1)

/* ------------------------------------------------------------------ */
/* Documents */

/*
 * Parse a JSON body.  source names it in every later message (a file
 * name, or a method and a redacted URL); it is copied; NULL means "json".
 * Any JSON value is accepted at the top level; duplicate keys, bodies
 * over CB_JSON_MAX_SIZE and nesting deeper than CB_JSON_MAX_DEPTH are
 * refused; a UTF-8 byte order mark is skipped.
 *
 * Returns 0 and *out (owned by the caller, free with cb__json_free()),
 * CB_EPARSE ("source:line:column: what", jansson's text; the position is
 * in data as given, not in the quoted copy jansson read: the scanner's
 * offsets are mapped back by scanning data again), CB_ETOOBIG, or
 * CB_ENOMEM.  Lines count from 1; the column is the number of characters
 * read on that line when parsing stopped, as jansson counts it (0 at the
 * start of a line).  *out is untouched on failure.
 */
int cb__json_parse(
	cb_json **out, const char *data, size_t len, const char *source);

/*
 * A new document holding an empty object, for building a request body.
 * source names it in messages (copied; NULL means "json").  Returns 0 or
 * CB_ENOMEM; *out as for cb__json_parse().
 */
int cb__json_new(cb_json **out, const char *source);

/** Release a document and every node in it.  NULL is a no-op. */
void cb__json_free(cb_json *doc);

/** The top-level value.  Borrowed: valid until cb__json_free(doc). */
const cb_json_node *cb__json_root(const cb_json *doc);

/** The top-level value, for the setters.  Borrowed as cb__json_root(). */
cb_json_node *cb__json_root_mut(cb_json *doc);

/** The source name given when the document was made.  Borrowed. */
const char *cb__json_source(const cb_json *doc);

/* ------------------------------------------------------------------ */
/* Reading by path.  Each takes the document (for messages), a node in it
 * (cb__json_root(doc) or one found earlier, never NULL) and a path below
 * that node.  Returns 0 and *out; CB_ENOTFOUND (only with
 * CB_JSON_OPTIONAL); CB_EPARSE (class CB_ERRCLASS_JSON: missing, wrong
 * type, out of range); CB_EINVAL for a malformed path or NULL argument.
 * *out is untouched unless 0 is returned. */

/* A string value.  Borrowed from the document.  Numbers are not strings. */
int cb__json_get_string(const char **out, const cb_json *doc,
	const cb_json_node *at, const char *path, unsigned flags);

/* An integer number in [INT64_MIN, INT64_MAX], read from its digits with
 * a checked strtoll.  A fraction or exponent ("1.0", "1e3") is refused:
 * integers in Azure bodies (counts, byte sizes, expiry seconds, dates as
 * 20180429) are always written plainly. */
int cb__json_get_int64(int64_t *out, const cb_json *doc, const cb_json_node *at,
	const char *path, unsigned flags);

/* true or false. */
int cb__json_get_bool(bool *out, const cb_json *doc, const cb_json_node *at,
	const char *path, unsigned flags);

/* A money amount, exact: the number's literal text ("0.009865586851323632",
 * "1.5E-05") goes to cb_money_parse(), never through a double.  A value
 * cb_money cannot hold exactly (more than 18 decimal places, out of range)
 * is CB_EPARSE, with the money module's reason. */
int cb__json_get_money(cb_money *out, const cb_json *doc,
	const cb_json_node *at, const char *path, unsigned flags);

/* An object or an array node.  Borrowed from the document. */
int cb__json_get_object(const cb_json_node **out, const cb_json *doc,
	const cb_json_node *at, const char *path, unsigned flags);
int cb__json_get_array(const cb_json_node **out, const cb_json *doc,
	const cb_json_node *at, const char *path, unsigned flags);

/* A node of any type except null (null counts as absent, as everywhere:
 * ARM sends "nextLink": null).  Borrowed from the document. */
int cb__json_get_node(const cb_json_node **out, const cb_json *doc,
	const cb_json_node *at, const char *path, unsigned flags);

/*
 * Table-driven extraction (PostgreSQL's struct json_field): read every
 * field of a NULL-path-terminated table below at, stopping at the first
 * failure (whose error is set as by the single getters).  An optional
 * field that is absent leaves its target untouched, so initialise targets
 * with their defaults.  Returns 0, CB_EPARSE, CB_EINVAL or CB_ENOMEM.
 */
typedef enum {
	CB_JSON_FIELD_STRING, /* target: const char ** (borrowed) */
	CB_JSON_FIELD_INT64,  /* target: int64_t * */
	CB_JSON_FIELD_BOOL,   /* target: bool * */
	CB_JSON_FIELD_MONEY,  /* target: cb_money * */
	CB_JSON_FIELD_OBJECT, /* target: const cb_json_node ** */
	CB_JSON_FIELD_ARRAY,  /* target: const cb_json_node ** */
	CB_JSON_FIELD_NODE    /* target: const cb_json_node ** */
} cb_json_field_type;

struct cb_json_field {
	const char *path;        /* below the node given; NULL ends a table */
	cb_json_field_type type; /* what to read */
	unsigned flags;          /* CB_JSON_OPTIONAL, CB_JSON_NUMERIC_STRING */
	void *target;            /* where it goes; type as listed above */
};

int cb__json_get_fields(const cb_json *doc, const cb_json_node *at,
	const struct cb_json_field *fields);

/*
 * Record a CB_EPARSE error about a value, in the same shape as the
 * getters' ("<source>: <path of at>.<path>: <what>"), for checks only the
 * caller can make (an unknown enum value, an inconsistent pair).  fmt must
 * not format a secret.  Returns CB_EPARSE.
 */
int cb__json_error(const cb_json *doc, const cb_json_node *at, const char *path,
	const char *fmt, ...) CB_FORMAT_PRINTF(4, 5);

/* ------------------------------------------------------------------ */
/* Walking nodes directly.  None of these fail or set an error; a NULL node
 * or a node of another type gives the empty answer. */

cb_json_type cb__json_type(const cb_json_node *node);

/* The string, or NULL if node is not a string.  Borrowed. */
const char *cb__json_string_value(const cb_json_node *node);

/* A number's literal text as it was written ("0.009865586851323632"), or
 * NULL if node is not a number.  Borrowed. */
const char *cb__json_number_text(const cb_json_node *node);

/* Array length; 0 for anything but an array. */
size_t cb__json_array_size(const cb_json_node *array);

/* Element i, or NULL past the end.  Borrowed. */
const cb_json_node *cb__json_array_get(const cb_json_node *array, size_t i);

/* Number of members; 0 for anything but an object. */
size_t cb__json_object_size(const cb_json_node *object);

/* The member named key (exactly; no path syntax), or NULL.  Borrowed. */
const cb_json_node *cb__json_object_get(
	const cb_json_node *object, const char *key);

/*
 * Iterating an object's members in document order:
 *
 *     cb_json_member m = CB_JSON_MEMBER_INIT;
 *     while (cb__json_object_next(object, &m))
 *             use(m.key, m.value);
 *
 * key and value are borrowed from the document.  Do not change the object
 * while iterating.
 */
typedef struct {
	const char *key;           /* borrowed */
	const cb_json_node *value; /* borrowed */
	void *iter_;               /* private */
	int state_;                /* private: 0 before, 1 during, 2 after */
} cb_json_member;

#define CB_JSON_MEMBER_INIT         \
	{                           \
		NULL, NULL, NULL, 0 \
	}

bool cb__json_object_next(const cb_json_node *object, cb_json_member *m);

/* ------------------------------------------------------------------ */
/* Building (request bodies) and editing (read-modify-write of a parsed
 * budget).  Each setter takes a node of doc (cb__json_root_mut(doc) or one
 * returned by cb__json_set_object/array) and a path below it; missing
 * objects on the way are created ("properties.timePeriod.startDate" on an
 * empty document creates properties and timePeriod), so are missing or
 * null arrays before "[]"; an existing member is replaced in place (it
 * keeps its position).  A last segment "[]" appends, "[n]" replaces an
 * existing element.  Keys and strings must be UTF-8 and not start with
 * U+0001 (CB_EINVAL).  Returns 0, CB_EPARSE (a value on the way has the
 * wrong type, an index is out of range), CB_EINVAL or CB_ENOMEM; on
 * failure the document may hold the objects created on the way. */

int cb__json_set_string(
	cb_json *doc, cb_json_node *at, const char *path, const char *value);
int cb__json_set_int64(
	cb_json *doc, cb_json_node *at, const char *path, int64_t value);
int cb__json_set_bool(
	cb_json *doc, cb_json_node *at, const char *path, bool value);
int cb__json_set_null(cb_json *doc, cb_json_node *at, const char *path);

/* Written as the exact decimal text of cb_money_format(): never through a
 * double. */
int cb__json_set_money(
	cb_json *doc, cb_json_node *at, const char *path, cb_money value);

/* A number written verbatim from its literal (which must be a valid JSON
 * number, else CB_EINVAL): for decimals that are not money, such as a
 * budget notification threshold of 80.5. */
int cb__json_set_number_text(
	cb_json *doc, cb_json_node *at, const char *path, const char *literal);

/* Make sure an object (array) is at path and hand it back in *out (may be
 * NULL) for further setters: an existing one is kept; with "[]" a new one
 * is always appended.  *out is borrowed from doc. */
int cb__json_set_object(
	cb_json_node **out, cb_json *doc, cb_json_node *at, const char *path);
int cb__json_set_array(
	cb_json_node **out, cb_json *doc, cb_json_node *at, const char *path);

/* Put a deep copy of value (from any document) at path. */
int cb__json_set_copy(cb_json *doc, cb_json_node *at, const char *path,
	const cb_json_node *value);

/* Remove the value at path (a member, or an array element: later
 * elements move down).  Returns 0, CB_ENOTFOUND (nothing there; no error
 * set), CB_EPARSE or CB_EINVAL. */
int cb__json_remove(cb_json *doc, cb_json_node *at, const char *path);

/*
 * Serialise node (any node of any document) onto the end of out: compact,
 * members in document order, UTF-8 as is, every number exactly as its
 * literal text.  Returns 0, CB_ENOMEM or CB_ETOOBIG (past CB_BUF_MAX).
 * On failure out keeps what it held before.
 */
int cb__json_dump(cb_buf *out, const cb_json_node *node);

/* ------------------------------------------------------------------ */
/* Module set-up, called once from cb_init(): routes jansson's allocations
 * through cb__malloc/cb__free, so they fail like ours (and tests can make
 * them fail).  Returns 0. */
int cb__json_global_init(void);

/* ------------------------------------------------------------------ */
/* The number scanner (core/json_numbers.c), internal to this module and
 * exposed for its tests and fuzz target. */

/* The marker that opens a string standing for a number, and its escaped
 * spelling in JSON text. */
#define CB__JSON_MARK         '\x01'
#define CB__JSON_MARK_ESCAPED "\\u0001"
/* Bytes the scanner adds around one number: "\u0001 and ". */
#define CB__JSON_MARK_OVERHEAD 8

/* True if s[0..len) is exactly one JSON number (RFC 8259 grammar). */
bool cb__json_number_is_valid(const char *s, size_t len);

/*
 * Append to out a copy of in[0..len) with every number token in value
 * position wrapped as "\u0001<token>", a leading UTF-8 byte order mark
 * dropped.  Text that is not valid JSON is copied unchanged around the
 * tokens it can recognise (jansson reports it later); a number-like run
 * that is not one valid number, or that stands where a key belongs, is
 * left bare so that jansson refuses it.  So the output is valid JSON
 * exactly when the input is.  The output is (len - BOM) + 8 * (numbers)
 * bytes, computed in a first pass and allocated once; n numbers need at
 * least 2n - 1 bytes, so that is never more than 5 * len + 4 (a 64 MiB
 * body of "[1,1,...]" quotes to 320 MiB; real bodies grow by a few %).
 *
 * Refused here, with source:line:column: nesting deeper than
 * CB_JSON_MAX_DEPTH, and a string starting with \u0001.  Returns 0,
 * CB_EPARSE, CB_ETOOBIG or CB_ENOMEM.
 */
int cb__json_quote_numbers(
	cb_buf *out, const char *in, size_t len, const char *source);

/*
 * Map a byte offset in the output of cb__json_quote_numbers(in, len) back
 * to in (by scanning in again: nothing is kept between the calls).  An
 * offset inside an added marker maps to the start of its number.
 */
size_t cb__json_input_offset(const char *in, size_t len, size_t quoted);

/*
 * Line and column of the position after in[0..offset), counted as jansson
 * counts them: lines from 1; the column is the number of characters (UTF-8
 * lead bytes) consumed on the line, 0 right after a newline.
 */
void cb__json_line_col(
	size_t *line, size_t *col, const char *in, size_t len, size_t offset);

/*
 * If quoted is the offset just past the closing quote of a wrapped number
 * in the output of cb__json_quote_numbers(in, len), give that number's
 * extent in in and return true.
 */
bool cb__json_number_before(
	const char *in, size_t len, size_t quoted, size_t *start, size_t *end);

/*
 * Append to out the JSON text in[0..len) (as jansson writes it) with every
 * marked string "\u0001N" replaced by the bare number N.  Returns 0,
 * CB_ENOMEM or CB_ETOOBIG.
 */
int cb__json_unquote_numbers(cb_buf *out, const char *in, size_t len);

/* Copy a jansson message into out (always terminated), turning a marked
 * number back into its text: near '"\u00013"' becomes near '3'. */
void cb__json_clean_message(char *out, size_t outlen, const char *msg);

/* True if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
bool cb__json_utf8_is_valid(const char *s, size_t len);

#endif
