/*
 * core/json.c - typed, path-aware access to JSON bodies, on jansson.
 *
 * The only file of the library that includes <jansson.h> (STYLE.md 6.1):
 * everything above sees cb_json and cb_json_node, never json_t.  A
 * cb_json_node pointer is a json_t pointer in disguise, so handing one out
 * costs nothing and needs no allocation.
 *
 * Invariant of every tree held by a cb_json: it contains no jansson
 * integer or real.  Numbers are strings whose first byte is the marker
 * U+0001, followed by the literal text of a valid JSON number: the parser
 * makes them with the scanner in core/json_numbers.c, the setters make
 * them directly, and cb__json_dump() takes the quotes off again.  No other
 * string in a tree starts with the marker: the scanner refuses such a body
 * and the setters refuse such a key or value.
 *
 * Errors about a value name its absolute path.  A node does not know its
 * parent, so the path of the node a getter started from is found, only
 * when an error is reported, by searching the document from its root.
 */
#include "core/common.h"
#include "core/json.h"
#include "core/buf.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

static_assert(sizeof(long long) == sizeof(int64_t), "strtoll reads int64");

struct cb_json {
	json_t *root; /* owned: one reference */
	char *source; /* owned: names the document in messages */
};

#define JSON_DEFAULT_SOURCE "json"

/* Flags for every json_loadb: duplicate keys are an error (a body with
 * two "amount" members has no single meaning), and a bare number, string
 * or literal is a valid document (RFC 8259). */
#define JSON_LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

/* Compact, members in insertion order (the default since jansson 2.8;
 * named for older ones), any value at the top. */
#define JSON_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

/* Longest integer text: "-9223372036854775808" plus the marker and NUL. */
#define JSON_INT64_TEXT_MAX 24

static const json_t *
json_of(const cb_json_node *node)
{
	return (const json_t *)node;
}

/* Several jansson functions (iterators, json_object_foreach) take a
 * mutable json_t they do not modify. */
static json_t *
json_unconst(const json_t *v)
{
	return (json_t *)(uintptr_t)v;
}

static const cb_json_node *
json_node(const json_t *v)
{
	return (const cb_json_node *)v;
}

static bool
json_is_marked(const json_t *v)
{
	return json_is_string(v) && json_string_value(v)[0] == CB__JSON_MARK;
}

static int
json_oom(void)
{
	return cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY, "out of memory");
}

int
cb__json_global_init(void)
{
	json_set_alloc_funcs(cb__malloc, cb__free);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Paths */

enum json_seg_kind {
	JSON_SEG_KEY,
	JSON_SEG_INDEX,
	JSON_SEG_APPEND /* "[]", setters only */
};

struct json_seg {
	enum json_seg_kind kind;
	const char *key; /* KEY: into the path text or the scratch area */
	size_t key_len;  /* KEY: bytes */
	size_t index;    /* INDEX */
};

struct json_path {
	struct json_seg seg[CB_JSON_MAX_DEPTH];
	size_t n;                      /* segments used */
	char scratch[CB_JSON_KEY_MAX]; /* unescaped ["..."] keys */
	size_t scratch_used;           /* bytes of scratch used */
};

static bool
json_path_is_plain_char(unsigned char c)
{
	return c != '.' && c != '[' && c != ']' && c != '"' && c != '\\' &&
	       c != '\0';
}

/* Parse text into p.  Returns 0 or -1 (malformed; no error set). */
static int
json_path_parse(struct json_path *p, const char *text, bool for_write)
{
	size_t i = 0;

	p->n = 0;
	p->scratch_used = 0;
	while (text[i] != '\0') {
		struct json_seg *sg;

		if (p->n == CB_JSON_MAX_DEPTH)
			return -1;
		sg = &p->seg[p->n];
		if (text[i] == '[') {
			i++;
			if (text[i] == ']') {
				if (!for_write)
					return -1;
				sg->kind = JSON_SEG_APPEND;
			} else if (text[i] == '"') {
				size_t start = p->scratch_used;

				for (i++; text[i] != '"'; i++) {
					if (text[i] == '\\' &&
						(text[i + 1] == '"' ||
							text[i + 1] == '\\'))
						i++;
					else if (text[i] == '\0' ||
						 text[i] == '\\')
						return -1;
					if (p->scratch_used ==
						sizeof(p->scratch))
						return -1;
					p->scratch[p->scratch_used++] = text[i];
				}
				i++;
				if (text[i] != ']')
					return -1;
				sg->kind = JSON_SEG_KEY;
				sg->key = p->scratch + start;
				sg->key_len = p->scratch_used - start;
			} else if (text[i] >= '0' && text[i] <= '9') {
				size_t v = 0;

				while (text[i] >= '0' && text[i] <= '9') {
					if (v > (SIZE_MAX - 9) / 10)
						return -1;
					v = v * 10 + (size_t)(text[i++] - '0');
				}
				if (text[i] != ']')
					return -1;
				sg->kind = JSON_SEG_INDEX;
				sg->index = v;
			} else {
				return -1;
			}
			i++;
		} else {
			size_t start;

			if (p->n > 0 && text[i++] != '.')
				return -1;
			start = i;
			while (json_path_is_plain_char((unsigned char)text[i]))
				i++;
			if (i == start)
				return -1;
			sg->kind = JSON_SEG_KEY;
			sg->key = text + start;
			sg->key_len = i - start;
		}
		if (for_write && sg->kind == JSON_SEG_KEY &&
			(!cb__json_utf8_is_valid(sg->key, sg->key_len) ||
				(sg->key_len > 0 &&
					sg->key[0] == CB__JSON_MARK)))
			return -1;
		p->n++;
	}
	return 0;
}

/* A path rendered for a message: cut at CB_JSON_PATH_MAX with "...". */
struct json_text {
	char s[CB_JSON_PATH_MAX];
	size_t n;
	bool cut;
};

static void
json_text_put(struct json_text *t, const char *s, size_t len)
{
	/* Keep room for "..." and the terminator. */
	const size_t room = sizeof(t->s) - 4;

	if (t->cut)
		return;
	if (len > room - t->n) {
		t->cut = true;
		return;
	}
	memcpy(t->s + t->n, s, len);
	t->n += len;
}

static void
json_text_key(struct json_text *t, const char *key, size_t len)
{
	bool plain = len > 0;

	for (size_t i = 0; i < len && plain; i++)
		plain = json_path_is_plain_char((unsigned char)key[i]) &&
			(unsigned char)key[i] >= 0x20 && key[i] != 0x7f;
	if (plain) {
		if (t->n > 0)
			json_text_put(t, ".", 1);
		json_text_put(t, key, len);
		return;
	}
	json_text_put(t, "[\"", 2);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			json_text_put(t, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			json_text_put(t, esc, 6);
		} else {
			json_text_put(t, key + i, 1);
		}
	}
	json_text_put(t, "\"]", 2);
}

static void
json_text_index(struct json_text *t, size_t i)
{
	char s[32];
	int n = snprintf(s, sizeof(s), "[%zu]", i);

	json_text_put(t, s, (size_t)n);
}

static const char *
json_text_str(struct json_text *t)
{
	if (t->cut) {
		memcpy(t->s + t->n, "...", 3);
		t->n += 3;
		t->cut = false;
	}
	t->s[t->n] = '\0';
	return t->s;
}

/* Find target below cur and append its path to t.  Depth-first, bounded
 * like the parser; only called on the error path. */
static bool
json_find(struct json_text *t, const json_t *cur, const json_t *target,
	unsigned depth)
{
	struct json_text saved;

	if (cur == target)
		return true;
	if (depth >= CB_JSON_MAX_DEPTH)
		return false;
	saved = *t;
	if (json_is_object(cur)) {
		const char *key;
		json_t *v;

		json_object_foreach(json_unconst(cur), key, v)
		{
			json_text_key(t, key, strlen(key));
			if (json_find(t, v, target, depth + 1))
				return true;
			*t = saved;
		}
	} else if (json_is_array(cur)) {
		for (size_t i = 0; i < json_array_size(cur); i++) {
			json_text_index(t, i);
			if (json_find(t, json_array_get(cur, i), target,
				    depth + 1))
				return true;
			*t = saved;
		}
	}
	return false;
}

static int json_fail(const cb_json *doc, const json_t *at,
	const struct json_path *p, size_t nseg, const char *fmt, ...)
	CB_FORMAT_PRINTF(5, 6);

static int json_vfail(const cb_json *doc, const json_t *at,
	const struct json_path *p, size_t nseg, const char *fmt, va_list ap)
	CB_FORMAT_PRINTF(5, 0);

/*
 * Record CB_EPARSE: "<source>: <path of at><first nseg segments of p>:
 * <what>", or "<source>: <what>" for the top level.
 */
static int
json_vfail(const cb_json *doc, const json_t *at, const struct json_path *p,
	size_t nseg, const char *fmt, va_list ap)
{
	struct json_text t;
	char what[512];
	const char *path;

	memset(&t, 0, sizeof(t));
	if (!json_find(&t, doc->root, at, 0))
		memset(&t, 0, sizeof(t));
	for (size_t i = 0; p != NULL && i < nseg; i++) {
		if (p->seg[i].kind == JSON_SEG_KEY)
			json_text_key(&t, p->seg[i].key, p->seg[i].key_len);
		else if (p->seg[i].kind == JSON_SEG_INDEX)
			json_text_index(&t, p->seg[i].index);
		else
			json_text_put(&t, "[]", 2);
	}
	path = json_text_str(&t);
	vsnprintf(what, sizeof(what), fmt, ap);
	return cb__error_set(CB_EPARSE, CB_ERRCLASS_JSON, "%s: %s%s%s",
		doc->source, path, path[0] ? ": " : "", what);
}

static int
json_fail(const cb_json *doc, const json_t *at, const struct json_path *p,
	size_t nseg, const char *fmt, ...)
{
	va_list ap;
	int error;

	va_start(ap, fmt);
	error = json_vfail(doc, at, p, nseg, fmt, ap);
	va_end(ap);
	return error;
}

static int
json_bad_path(const char *path)
{
	return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
		"json path '%s' is malformed", path);
}

static const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return json_is_marked(v) ? "a number" : "a string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	default:
		/* Never in our trees (see the file comment). */
		return "a jansson number";
	}
}

/*
 * Follow the first nseg segments of p from at.  Returns 0 and *out;
 * CB_ENOTFOUND when CB_JSON_OPTIONAL and something on the way (or the
 * value) is missing or null, with no error set; or CB_EPARSE.
 */
static int
json_walk(const json_t **out, const cb_json *doc, const json_t *at,
	const struct json_path *p, size_t nseg, unsigned flags)
{
	const json_t *cur = at;
	bool optional = (flags & CB_JSON_OPTIONAL) != 0;

	for (size_t i = 0; i < nseg; i++) {
		const struct json_seg *sg = &p->seg[i];
		const json_t *next;

		if (json_is_null(cur) && optional)
			return CB_ENOTFOUND;
		if (sg->kind == JSON_SEG_KEY) {
			if (!json_is_object(cur))
				return json_fail(doc, at, p, i,
					"expected an object, found %s",
					json_type_name(cur));
			next = json_object_getn(cur, sg->key, sg->key_len);
		} else {
			if (!json_is_array(cur))
				return json_fail(doc, at, p, i,
					"expected an array, found %s",
					json_type_name(cur));
			next = sg->kind == JSON_SEG_INDEX
				       ? json_array_get(cur, sg->index)
				       : NULL;
		}
		if (next == NULL)
			return optional ? CB_ENOTFOUND
					: json_fail(
						  doc, at, p, i + 1, "missing");
		cur = next;
	}
	if (json_is_null(cur) && optional)
		return CB_ENOTFOUND;
	*out = cur;
	return 0;
}

/* The common front of the getters: parse the path, walk it. */
static int
json_lookup(const json_t **out, struct json_path *p, const cb_json *doc,
	const cb_json_node *at, const char *path, unsigned flags)
{
	if (json_path_parse(p, path, false) < 0)
		return json_bad_path(path);
	return json_walk(out, doc, json_of(at), p, p->n, flags);
}

#define JSON_GETTER_ARGS()           \
	do {                         \
		CB_ASSERT_ARG(out);  \
		CB_ASSERT_ARG(doc);  \
		CB_ASSERT_ARG(at);   \
		CB_ASSERT_ARG(path); \
	} while (0)

/* ------------------------------------------------------------------ */
/* Documents */

static int
json_doc_new(cb_json **out, const char *source)
{
	cb_json *doc;

	if ((doc = cb__calloc(1, sizeof(*doc))) == NULL)
		return CB_ENOMEM;
	if ((doc->source = cb__strdup(source ? source : JSON_DEFAULT_SOURCE)) ==
		NULL) {
		cb__free(doc);
		return CB_ENOMEM;
	}
	*out = doc;
	return 0;
}

/* json_loadb failed on the quoted text: say why, in terms of data. */
static int
json_load_failed(const json_error_t *jerr, const char *data, size_t len,
	const char *source)
{
	char text[JSON_ERROR_TEXT_LENGTH + 32];
	size_t offset = 0, line, col, start, end, n;

	/* jansson's allocations go through cb__malloc, which records
	 * CB_ENOMEM; some of its out-of-memory paths then report a bogus
	 * syntax error, so the recorded code is trusted first. */
	if (cb__error_code() == CB_ENOMEM ||
		json_error_code(jerr) == json_error_out_of_memory)
		return json_oom();
	if (jerr->position > 0)
		offset = cb__json_input_offset(
			data, len, (size_t)jerr->position);
	cb__json_line_col(&line, &col, data, len, offset);
	cb__json_clean_message(text, sizeof(text), jerr->text);
	/* jansson names the token it stopped at ("near '3'") only when its
	 * text is at most 20 bytes, and not after a bad UTF-8 byte that
	 * follows a completed string.  A wrapped number is 8 bytes longer
	 * and a completed string, so where jansson stopped right after one,
	 * say what jansson would have said on the text as sent. */
	n = strlen(text);
	if (jerr->position > 0 && strstr(text, " near ") == NULL &&
		cb__json_number_before(
			data, len, (size_t)jerr->position, &start, &end) &&
		end - start <= 20)
		snprintf(text + n, sizeof(text) - n, " near '%.*s'",
			(int)(end - start), data + start);
	return cb__error_set(CB_EPARSE, CB_ERRCLASS_JSON, "%s:%zu:%zu: %s",
		source, line, col, text);
}

int
cb__json_parse(cb_json **out, const char *data, size_t len, const char *source)
{
	cb_buf quoted = CB_BUF_INIT;
	cb_json *doc = NULL;
	json_error_t jerr;
	int error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(data);

	if (source == NULL)
		source = JSON_DEFAULT_SOURCE;
	if (len > CB_JSON_MAX_SIZE)
		return cb__error_set(CB_ETOOBIG, CB_ERRCLASS_JSON,
			"%s: body of %zu bytes exceeds the %zu-byte limit",
			source, len, CB_JSON_MAX_SIZE);
	if ((error = json_doc_new(&doc, source)) < 0 ||
		(error = cb__json_quote_numbers(&quoted, data, len, source)) <
			0)
		goto done;

	cb_error_clear();
	doc->root = json_loadb(quoted.ptr, quoted.size, JSON_LOAD_FLAGS, &jerr);
	if (doc->root == NULL) {
		error = json_load_failed(&jerr, data, len, source);
		goto done;
	}

	*out = doc;
	doc = NULL;
	error = 0;
done:
	cb_buf_dispose(&quoted);
	cb__json_free(doc);
	return error;
}

int
cb__json_new(cb_json **out, const char *source)
{
	cb_json *doc = NULL;
	int error;

	CB_ASSERT_ARG(out);

	if ((error = json_doc_new(&doc, source)) < 0)
		return error;
	if ((doc->root = json_object()) == NULL) {
		cb__json_free(doc);
		return json_oom();
	}
	*out = doc;
	return 0;
}

void
cb__json_free(cb_json *doc)
{
	if (doc == NULL)
		return;
	json_decref(doc->root);
	cb__free(doc->source);
	cb__free(doc);
}

const cb_json_node *
cb__json_root(const cb_json *doc)
{
	return doc ? json_node(doc->root) : NULL;
}

cb_json_node *
cb__json_root_mut(cb_json *doc)
{
	return doc ? (cb_json_node *)doc->root : NULL;
}

const char *
cb__json_source(const cb_json *doc)
{
	return doc ? doc->source : NULL;
}

/* ------------------------------------------------------------------ */
/* Reading */

int
cb__json_get_string(const char **out, const cb_json *doc,
	const cb_json_node *at, const char *path, unsigned flags)
{
	struct json_path p;
	const json_t *v;
	int error;

	JSON_GETTER_ARGS();
	if ((error = json_lookup(&v, &p, doc, at, path, flags)) < 0)
		return error;
	if (!json_is_string(v) || json_is_marked(v))
		return json_fail(doc, json_of(at), &p, p.n,
			"expected a string, found %s", json_type_name(v));
	*out = json_string_value(v);
	return 0;
}

/*
 * The literal text of a number at v, or of a string holding one when
 * numeric_string; NULL otherwise.
 */
static const char *
json_numeric_text(const json_t *v, bool numeric_string)
{
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	if (s[0] == CB__JSON_MARK)
		return s + 1;
	if (numeric_string && cb__json_number_is_valid(s, strlen(s)))
		return s;
	return NULL;
}

int
cb__json_get_int64(int64_t *out, const cb_json *doc, const cb_json_node *at,
	const char *path, unsigned flags)
{
	struct json_path p;
	const json_t *v;
	const char *text;
	char *end;
	long long n;
	int error;

	JSON_GETTER_ARGS();
	if ((error = json_lookup(&v, &p, doc, at, path, flags)) < 0)
		return error;
	text = json_numeric_text(v, (flags & CB_JSON_NUMERIC_STRING) != 0);
	if (text == NULL)
		return json_fail(doc, json_of(at), &p, p.n,
			"expected an integer, found %s", json_type_name(v));
	if (strpbrk(text, ".eE") != NULL)
		return json_fail(doc, json_of(at), &p, p.n,
			"expected an integer, found '%.40s'", text);
	errno = 0;
	n = strtoll(text, &end, 10);
	if (errno == ERANGE || *end != '\0')
		return json_fail(doc, json_of(at), &p, p.n,
			"'%.40s' is out of range for a 64-bit integer", text);
	*out = (int64_t)n;
	return 0;
}

int
cb__json_get_bool(bool *out, const cb_json *doc, const cb_json_node *at,
	const char *path, unsigned flags)
{
	struct json_path p;
	const json_t *v;
	int error;

	JSON_GETTER_ARGS();
	if ((error = json_lookup(&v, &p, doc, at, path, flags)) < 0)
		return error;
	if (!json_is_boolean(v))
		return json_fail(doc, json_of(at), &p, p.n,
			"expected a boolean, found %s", json_type_name(v));
	*out = json_is_true(v);
	return 0;
}

int
cb__json_get_money(cb_money *out, const cb_json *doc, const cb_json_node *at,
	const char *path, unsigned flags)
{
	struct json_path p;
	const json_t *v;
	const char *text;
	cb_money m;
	int error;

	JSON_GETTER_ARGS();
	if ((error = json_lookup(&v, &p, doc, at, path, flags)) < 0)
		return error;
	text = json_numeric_text(v, (flags & CB_JSON_NUMERIC_STRING) != 0);
	if (text == NULL)
		return json_fail(doc, json_of(at), &p, p.n,
			"expected a number, found %s", json_type_name(v));
	if ((error = cb_money_parse(&m, text, strlen(text))) < 0) {
		char inner[CB_ERROR_MESSAGE_MAX];

		if (error == CB_ENOMEM)
			return error;
		snprintf(inner, sizeof(inner), "%s", cb_error_last()->message);
		return json_fail(doc, json_of(at), &p, p.n, "%s", inner);
	}
	*out = m;
	return 0;
}

static int
json_get_container(const cb_json_node **out, const cb_json *doc,
	const cb_json_node *at, const char *path, unsigned flags,
	json_type want)
{
	struct json_path p;
	const json_t *v;
	int error;

	if ((error = json_lookup(&v, &p, doc, at, path, flags)) < 0)
		return error;
	if (want == JSON_NULL ? json_is_null(v) : json_typeof(v) != want)
		return json_fail(doc, json_of(at), &p, p.n,
			"expected %s, found %s",
			want == JSON_OBJECT  ? "an object"
			: want == JSON_ARRAY ? "an array"
					     : "a value",
			json_type_name(v));
	*out = json_node(v);
	return 0;
}

int
cb__json_get_object(const cb_json_node **out, const cb_json *doc,
	const cb_json_node *at, const char *path, unsigned flags)
{
	JSON_GETTER_ARGS();
	return json_get_container(out, doc, at, path, flags, JSON_OBJECT);
}

int
cb__json_get_array(const cb_json_node **out, const cb_json *doc,
	const cb_json_node *at, const char *path, unsigned flags)
{
	JSON_GETTER_ARGS();
	return json_get_container(out, doc, at, path, flags, JSON_ARRAY);
}

int
cb__json_get_node(const cb_json_node **out, const cb_json *doc,
	const cb_json_node *at, const char *path, unsigned flags)
{
	JSON_GETTER_ARGS();
	/* JSON_NULL stands for "anything but null" here. */
	return json_get_container(out, doc, at, path, flags, JSON_NULL);
}

int
cb__json_get_fields(const cb_json *doc, const cb_json_node *at,
	const struct cb_json_field *fields)
{
	CB_ASSERT_ARG(doc);
	CB_ASSERT_ARG(at);
	CB_ASSERT_ARG(fields);

	for (const struct cb_json_field *f = fields; f->path != NULL; f++) {
		int error;

		CB_ASSERT_ARG(f->target);
		switch (f->type) {
		case CB_JSON_FIELD_STRING:
			error = cb__json_get_string(
				f->target, doc, at, f->path, f->flags);
			break;
		case CB_JSON_FIELD_INT64:
			error = cb__json_get_int64(
				f->target, doc, at, f->path, f->flags);
			break;
		case CB_JSON_FIELD_BOOL:
			error = cb__json_get_bool(
				f->target, doc, at, f->path, f->flags);
			break;
		case CB_JSON_FIELD_MONEY:
			error = cb__json_get_money(
				f->target, doc, at, f->path, f->flags);
			break;
		case CB_JSON_FIELD_OBJECT:
			error = cb__json_get_object(
				f->target, doc, at, f->path, f->flags);
			break;
		case CB_JSON_FIELD_ARRAY:
			error = cb__json_get_array(
				f->target, doc, at, f->path, f->flags);
			break;
		case CB_JSON_FIELD_NODE:
			error = cb__json_get_node(
				f->target, doc, at, f->path, f->flags);
			break;
		default:
			return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
				"json field '%s': unknown type %d", f->path,
				(int)f->type);
		}
		if (error < 0 && !(error == CB_ENOTFOUND &&
					 (f->flags & CB_JSON_OPTIONAL) != 0))
			return error;
	}
	return 0;
}

int
cb__json_error(const cb_json *doc, const cb_json_node *at, const char *path,
	const char *fmt, ...)
{
	struct json_path p;
	va_list ap;
	int error;

	CB_ASSERT_ARG(doc);
	CB_ASSERT_ARG(fmt);

	if (path == NULL || json_path_parse(&p, path, false) < 0)
		p.n = 0;
	va_start(ap, fmt);
	error = json_vfail(doc, at ? json_of(at) : doc->root, &p, p.n, fmt, ap);
	va_end(ap);
	return error;
}

/* ------------------------------------------------------------------ */
/* Walking */

cb_json_type
cb__json_type(const cb_json_node *node)
{
	const json_t *v = json_of(node);

	if (v == NULL)
		return CB_JSON_NONE;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return CB_JSON_OBJECT;
	case JSON_ARRAY:
		return CB_JSON_ARRAY;
	case JSON_STRING:
		return json_is_marked(v) ? CB_JSON_NUMBER : CB_JSON_STRING;
	case JSON_TRUE:
	case JSON_FALSE:
		return CB_JSON_BOOL;
	case JSON_NULL:
		return CB_JSON_NULL;
	default:
		return CB_JSON_NONE;
	}
}

const char *
cb__json_string_value(const cb_json_node *node)
{
	const json_t *v = json_of(node);

	return json_is_string(v) && !json_is_marked(v) ? json_string_value(v)
						       : NULL;
}

const char *
cb__json_number_text(const cb_json_node *node)
{
	const json_t *v = json_of(node);

	return json_is_marked(v) ? json_string_value(v) + 1 : NULL;
}

size_t
cb__json_array_size(const cb_json_node *array)
{
	return json_array_size(json_of(array));
}

const cb_json_node *
cb__json_array_get(const cb_json_node *array, size_t i)
{
	return json_node(json_array_get(json_of(array), i));
}

size_t
cb__json_object_size(const cb_json_node *object)
{
	return json_object_size(json_of(object));
}

const cb_json_node *
cb__json_object_get(const cb_json_node *object, const char *key)
{
	if (key == NULL)
		return NULL;
	return json_node(json_object_get(json_of(object), key));
}

bool
cb__json_object_next(const cb_json_node *object, cb_json_member *m)
{
	json_t *obj = json_unconst(json_of(object));
	void *it = NULL;

	if (m == NULL)
		return false;
	if (m->state_ != 2 && json_is_object(obj))
		it = m->state_ == 0 ? json_object_iter(obj)
				    : json_object_iter_next(obj, m->iter_);
	if (it == NULL) {
		m->key = NULL;
		m->value = NULL;
		m->iter_ = NULL;
		m->state_ = 2;
		return false;
	}
	m->key = json_object_iter_key(it);
	m->value = json_node(json_object_iter_value(it));
	m->iter_ = it;
	m->state_ = 1;
	return true;
}

/* ------------------------------------------------------------------ */
/* Building and editing */

#define JSON_SETTER_ARGS()           \
	do {                         \
		CB_ASSERT_ARG(doc);  \
		CB_ASSERT_ARG(at);   \
		CB_ASSERT_ARG(path); \
	} while (0)

static int
json_bad_write_path(const char *path)
{
	return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
		"json path '%s' is malformed, names no member, or has a key "
		"that is not UTF-8 or starts with U+0001",
		path);
}

/* A new empty container of the kind segment next indexes into. */
static json_t *
json_container_for(const struct json_seg *next)
{
	return next->kind == JSON_SEG_KEY ? json_object() : json_array();
}

/*
 * Walk all but the last segment of p from at, creating each object or
 * array that is missing or null.  Returns 0 and *parent_out, CB_EPARSE
 * or CB_ENOMEM.
 */
static int
json_make_parent(json_t **parent_out, const cb_json *doc, json_t *at,
	const struct json_path *p)
{
	json_t *cur = at;

	for (size_t i = 0; i + 1 < p->n; i++) {
		const struct json_seg *sg = &p->seg[i];
		json_t *next = NULL, *made;

		if (sg->kind == JSON_SEG_KEY) {
			if (!json_is_object(cur))
				return json_fail(doc, at, p, i,
					"expected an object, found %s",
					json_type_name(cur));
			next = json_object_getn(cur, sg->key, sg->key_len);
		} else {
			if (!json_is_array(cur))
				return json_fail(doc, at, p, i,
					"expected an array, found %s",
					json_type_name(cur));
			if (sg->kind == JSON_SEG_INDEX) {
				next = json_array_get(cur, sg->index);
				if (next == NULL)
					return json_fail(
						doc, at, p, i + 1, "missing");
			}
		}
		if (next != NULL && !json_is_null(next)) {
			cur = next;
			continue;
		}
		if ((made = json_container_for(&p->seg[i + 1])) == NULL)
			return json_oom();
		/* Each *_new call below takes made, even when it fails. */
		if (sg->kind == JSON_SEG_KEY) {
			if (json_object_setn_new_nocheck(
				    cur, sg->key, sg->key_len, made) < 0)
				return json_oom();
		} else if (sg->kind == JSON_SEG_INDEX) {
			if (json_array_set_new(cur, sg->index, made) < 0)
				return json_oom();
		} else if (json_array_append_new(cur, made) < 0) {
			return json_oom();
		}
		cur = made;
	}
	*parent_out = cur;
	return 0;
}

/*
 * Put value (taken: released on failure too) at the last segment of p
 * under parent.
 */
static int
json_place(const cb_json *doc, json_t *at, const struct json_path *p,
	json_t *parent, json_t *value)
{
	const struct json_seg *sg = &p->seg[p->n - 1];

	if (sg->kind == JSON_SEG_KEY) {
		if (!json_is_object(parent)) {
			json_decref(value);
			return json_fail(doc, at, p, p->n - 1,
				"expected an object, found %s",
				json_type_name(parent));
		}
		if (json_object_setn_new_nocheck(
			    parent, sg->key, sg->key_len, value) < 0)
			return json_oom();
		return 0;
	}
	if (!json_is_array(parent)) {
		json_decref(value);
		return json_fail(doc, at, p, p->n - 1,
			"expected an array, found %s", json_type_name(parent));
	}
	if (sg->kind == JSON_SEG_APPEND)
		return json_array_append_new(parent, value) < 0 ? json_oom()
								: 0;
	if (sg->index >= json_array_size(parent)) {
		json_decref(value);
		return json_fail(doc, at, p, p->n, "missing");
	}
	return json_array_set_new(parent, sg->index, value) < 0 ? json_oom()
								: 0;
}

/* Set value (taken: released on failure too) at path below at. */
static int
json_put(cb_json *doc, cb_json_node *at, const char *path, json_t *value)
{
	struct json_path p;
	json_t *parent;
	int error;

	if (value == NULL)
		return json_oom();
	if (json_path_parse(&p, path, true) < 0 || p.n == 0) {
		json_decref(value);
		return json_bad_write_path(path);
	}
	if ((error = json_make_parent(&parent, doc, (json_t *)at, &p)) < 0) {
		json_decref(value);
		return error;
	}
	return json_place(doc, (json_t *)at, &p, parent, value);
}

/* A marked string for a number literal already known to be valid. */
static json_t *
json_number_new(const char *literal)
{
	char small[JSON_INT64_TEXT_MAX];
	size_t len = strlen(literal);
	char *big = NULL;
	char *s = small;
	json_t *v;

	if (len + 2 > sizeof(small)) {
		if ((big = cb__malloc(len + 2)) == NULL)
			return NULL;
		s = big;
	}
	s[0] = CB__JSON_MARK;
	memcpy(s + 1, literal, len + 1);
	v = json_stringn_nocheck(s, len + 1);
	cb__free(big);
	return v;
}

int
cb__json_set_string(
	cb_json *doc, cb_json_node *at, const char *path, const char *value)
{
	size_t len;

	JSON_SETTER_ARGS();
	CB_ASSERT_ARG(value);

	len = strlen(value);
	if (!cb__json_utf8_is_valid(value, len) ||
		(len > 0 && value[0] == CB__JSON_MARK))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"%s: %s: a string must be UTF-8 and not start with "
			"U+0001",
			doc->source, path);
	return json_put(doc, at, path, json_stringn_nocheck(value, len));
}

int
cb__json_set_int64(
	cb_json *doc, cb_json_node *at, const char *path, int64_t value)
{
	char text[JSON_INT64_TEXT_MAX];

	JSON_SETTER_ARGS();
	snprintf(text, sizeof(text), "%" PRId64, value);
	return json_put(doc, at, path, json_number_new(text));
}

int
cb__json_set_bool(cb_json *doc, cb_json_node *at, const char *path, bool value)
{
	JSON_SETTER_ARGS();
	return json_put(doc, at, path, json_boolean(value));
}

int
cb__json_set_null(cb_json *doc, cb_json_node *at, const char *path)
{
	JSON_SETTER_ARGS();
	return json_put(doc, at, path, json_null());
}

int
cb__json_set_money(
	cb_json *doc, cb_json_node *at, const char *path, cb_money value)
{
	char text[CB_MONEY_STR_MAX];
	int error;

	JSON_SETTER_ARGS();
	if ((error = cb_money_format(text, sizeof(text), value)) < 0)
		return error;
	/* The money module's text is a plain decimal; check rather than
	 * trust, since a bad literal would corrupt the whole body. */
	if (!cb__json_number_is_valid(text, strlen(text)))
		return cb__error_set(CB_ERROR, CB_ERRCLASS_JSON,
			"%s: %s: money text '%s' is not a JSON number",
			doc->source, path, text);
	return json_put(doc, at, path, json_number_new(text));
}

int
cb__json_set_number_text(
	cb_json *doc, cb_json_node *at, const char *path, const char *literal)
{
	JSON_SETTER_ARGS();
	CB_ASSERT_ARG(literal);

	if (!cb__json_number_is_valid(literal, strlen(literal)))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"%s: %s: '%.40s' is not a JSON number", doc->source,
			path, literal);
	return json_put(doc, at, path, json_number_new(literal));
}

static int
json_ensure(cb_json_node **out, cb_json *doc, cb_json_node *at,
	const char *path, json_type want)
{
	struct json_path p;
	json_t *parent, *existing = NULL, *made;
	const struct json_seg *last;
	int error;

	if (json_path_parse(&p, path, true) < 0 || p.n == 0)
		return json_bad_write_path(path);
	if ((error = json_make_parent(&parent, doc, (json_t *)at, &p)) < 0)
		return error;
	last = &p.seg[p.n - 1];
	if (last->kind == JSON_SEG_KEY)
		existing = json_object_getn(parent, last->key, last->key_len);
	else if (last->kind == JSON_SEG_INDEX)
		existing = json_array_get(parent, last->index);
	if (existing != NULL && json_typeof(existing) == want) {
		if (out)
			*out = (cb_json_node *)existing;
		return 0;
	}
	if (existing != NULL && !json_is_null(existing))
		return json_fail(doc, (json_t *)at, &p, p.n,
			"expected %s, found %s",
			want == JSON_OBJECT ? "an object" : "an array",
			json_type_name(existing));
	if ((made = want == JSON_OBJECT ? json_object() : json_array()) == NULL)
		return json_oom();
	if ((error = json_place(doc, (json_t *)at, &p, parent, made)) < 0)
		return error;
	/* parent holds the only reference; made stays valid with it. */
	if (out)
		*out = (cb_json_node *)made;
	return 0;
}

int
cb__json_set_object(
	cb_json_node **out, cb_json *doc, cb_json_node *at, const char *path)
{
	JSON_SETTER_ARGS();
	return json_ensure(out, doc, at, path, JSON_OBJECT);
}

int
cb__json_set_array(
	cb_json_node **out, cb_json *doc, cb_json_node *at, const char *path)
{
	JSON_SETTER_ARGS();
	return json_ensure(out, doc, at, path, JSON_ARRAY);
}

int
cb__json_set_copy(cb_json *doc, cb_json_node *at, const char *path,
	const cb_json_node *value)
{
	JSON_SETTER_ARGS();
	CB_ASSERT_ARG(value);
	return json_put(doc, at, path, json_deep_copy(json_of(value)));
}

int
cb__json_remove(cb_json *doc, cb_json_node *at, const char *path)
{
	struct json_path p;
	const json_t *parent;
	const struct json_seg *last;
	int error;

	JSON_SETTER_ARGS();
	if (json_path_parse(&p, path, false) < 0 || p.n == 0)
		return json_bad_write_path(path);
	error = json_walk(
		&parent, doc, (json_t *)at, &p, p.n - 1, CB_JSON_OPTIONAL);
	if (error < 0)
		return error;
	last = &p.seg[p.n - 1];
	if (last->kind == JSON_SEG_KEY) {
		if (!json_is_object(parent))
			return json_fail(doc, (json_t *)at, &p, p.n - 1,
				"expected an object, found %s",
				json_type_name(parent));
		return json_object_deln(json_unconst(parent), last->key,
			       last->key_len) < 0
			       ? CB_ENOTFOUND
			       : 0;
	}
	if (!json_is_array(parent))
		return json_fail(doc, (json_t *)at, &p, p.n - 1,
			"expected an array, found %s", json_type_name(parent));
	return json_array_remove(json_unconst(parent), last->index) < 0
		       ? CB_ENOTFOUND
		       : 0;
}

/* ------------------------------------------------------------------ */
/* Writing */

static int
json_dump_chunk(const char *buffer, size_t size, void *data)
{
	return cb__buf_put(data, buffer, size) < 0 ? -1 : 0;
}

int
cb__json_dump(cb_buf *out, const cb_json_node *node)
{
	cb_buf raw = CB_BUF_INIT;
	int error;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(node);

	cb_error_clear();
	if (json_dump_callback(json_of(node), json_dump_chunk, &raw,
		    JSON_DUMP_FLAGS) < 0) {
		error = cb__error_code() < 0
				? cb__error_code()
				: cb__error_set(CB_ERROR, CB_ERRCLASS_JSON,
					  "cannot serialise the json document");
		goto done;
	}
	error = cb__json_unquote_numbers(out, raw.ptr ? raw.ptr : "", raw.size);
done:
	cb_buf_dispose(&raw);
	return error;
}
