/*
 * core/json_numbers.c - the scanner that keeps JSON numbers as text.
 *
 * jansson reads every number into a double or a long long, which loses
 * the 17th digit of an Azure cost and fails outright on a 20-digit
 * integer.  So before jansson sees a body this scanner wraps each number
 * token in quotes with a marker, "\u0001N", and jansson hands the digits
 * back untouched as a string (core/json.h tells the full story).
 *
 * It is a parser in its own right, and must agree with jansson about where
 * strings begin and end, or it would quote digits inside a string.  What
 * must stay true: the output is valid JSON exactly when the input is, with
 * the same structure, so jansson stays the judge of syntax.  That holds
 * because only a run that is exactly one valid number, standing where a
 * value may stand, is wrapped; anything else is left for jansson to refuse.
 * Offsets change by 8 bytes per number; rather than keep a table, a second
 * scan maps a jansson error offset back to the caller's text.
 */
#include "core/common.h"
#include "core/json.h"
#include "core/buf.h"

#include <assert.h>

static_assert(CB_JSON_MAX_DEPTH <= 64, "the scanner keeps one bit per level");
static_assert(sizeof(CB__JSON_MARK_ESCAPED) - 1 + 2 == CB__JSON_MARK_OVERHEAD,
	"opening quote, escaped marker, closing quote");

static const char json_bom[] = "\xEF\xBB\xBF";

static bool
json_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
json_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Characters that may continue a number; a run of them is one token to
 * jansson's eyes or an error. */
static bool
json_is_number_char(unsigned char c)
{
	return json_is_digit(c) || c == '-' || c == '+' || c == '.' ||
	       c == 'e' || c == 'E';
}

bool
cb__json_number_is_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (i < len && s[i] == '-')
		i++;
	if (i >= len || !json_is_digit((unsigned char)s[i]))
		return false;
	if (s[i] == '0')
		i++;
	else
		while (i < len && json_is_digit((unsigned char)s[i]))
			i++;
	if (i < len && s[i] == '.') {
		i++;
		if (i >= len || !json_is_digit((unsigned char)s[i]))
			return false;
		while (i < len && json_is_digit((unsigned char)s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || !json_is_digit((unsigned char)s[i]))
			return false;
		while (i < len && json_is_digit((unsigned char)s[i]))
			i++;
	}
	return i == len;
}

static size_t
json_bom_len(const char *in, size_t len)
{
	return len >= 3 && memcmp(in, json_bom, 3) == 0 ? 3 : 0;
}

/*
 * The scanner proper: a lexer that knows just enough JSON to find the
 * number tokens that stand for values.  One struct, one step function,
 * used by every pass so the passes cannot disagree.
 */
struct scan {
	const char *in;
	size_t len;
	size_t pos;       /* next byte to look at */
	uint64_t objects; /* bit d set: the container at depth d+1 is {} */
	unsigned depth;   /* open containers, as far as the text says */
	bool key_pos;     /* a key, not a value, may come next */
	size_t err_at;    /* on refusal: offset consumed (for line:col) */
	const char *err;  /* on refusal: why */
};

static void
scan_init(struct scan *s, const char *in, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->in = in;
	s->len = len;
	s->pos = json_bom_len(in, len);
}

/* Skip a string whose opening quote is at s->pos. */
static int
scan_string(struct scan *s)
{
	size_t p = s->pos + 1;
	const size_t mark_len = sizeof(CB__JSON_MARK_ESCAPED) - 1;

	/* A string that would decode to a leading U+0001 could not be told
	 * from a number afterwards.  Only the escape can make one: a raw
	 * control byte is invalid JSON, and the JSON escape is lower case. */
	if (s->len - p >= mark_len &&
		memcmp(s->in + p, CB__JSON_MARK_ESCAPED, mark_len) == 0) {
		s->err_at = p;
		s->err = "a string starting with \\u0001 is not accepted "
			 "(reserved to mark numbers)";
		return -1;
	}
	while (p < s->len && s->in[p] != '"')
		p += s->in[p] == '\\' ? 2 : 1;
	s->pos = p < s->len ? p + 1 : s->len;
	s->key_pos = false;
	return 0;
}

/*
 * Advance to the next number to wrap: 1 with its extent [*start, *end),
 * 0 at the end of the text, -1 when the text is refused (s->err).
 */
static int
scan_next(struct scan *s, size_t *start, size_t *end)
{
	while (s->pos < s->len) {
		size_t p = s->pos;
		unsigned char c = (unsigned char)s->in[p];

		if (c == '"') {
			if (scan_string(s) < 0)
				return -1;
			continue;
		}
		if (c == '-' || json_is_digit(c)) {
			size_t q = p;
			bool wrap;

			while (q < s->len &&
				json_is_number_char((unsigned char)s->in[q]))
				q++;
			wrap = !s->key_pos &&
			       cb__json_number_is_valid(s->in + p, q - p);
			s->pos = q;
			s->key_pos = false;
			if (wrap) {
				*start = p;
				*end = q;
				return 1;
			}
			continue;
		}
		if (json_is_alpha(c)) {
			/* true, false, null, or a word jansson refuses; digits
			 * inside a word are not numbers. */
			while (s->pos < s->len &&
				(json_is_alpha((unsigned char)s->in[s->pos]) ||
					json_is_digit(
						(unsigned char)s->in[s->pos])))
				s->pos++;
			s->key_pos = false;
			continue;
		}
		s->pos = p + 1;
		switch (c) {
		case '{':
		case '[':
			if (s->depth == CB_JSON_MAX_DEPTH) {
				s->err_at = p + 1;
				s->err = "nesting deeper than 64 levels";
				return -1;
			}
			if (c == '{')
				s->objects |= (uint64_t)1 << s->depth;
			else
				s->objects &= ~((uint64_t)1 << s->depth);
			s->depth++;
			s->key_pos = c == '{';
			break;
		case '}':
		case ']':
			if (s->depth > 0)
				s->depth--;
			s->key_pos = false;
			break;
		case ',':
			s->key_pos = s->depth > 0 &&
				     (s->objects >> (s->depth - 1) & 1) != 0;
			break;
		case ':':
			s->key_pos = false;
			break;
		default:
			/* Whitespace, or a byte jansson will refuse. */
			break;
		}
	}
	return 0;
}

void
cb__json_line_col(
	size_t *line, size_t *col, const char *in, size_t len, size_t offset)
{
	size_t l = 1, c = 0;

	if (offset > len)
		offset = len;
	for (size_t i = 0; i < offset; i++) {
		unsigned char b = (unsigned char)in[i];

		if (b == '\n') {
			l++;
			c = 0;
		} else if (b < 0x80 || (b >= 0xC2 && b <= 0xF4)) {
			/* jansson counts a character at its lead byte. */
			c++;
		}
	}
	*line = l;
	*col = c;
}

int
cb__json_quote_numbers(
	cb_buf *out, const char *in, size_t len, const char *source)
{
	struct scan s;
	size_t start, end, numbers = 0, total, from;
	int rc;

	scan_init(&s, in, len);
	while ((rc = scan_next(&s, &start, &end)) > 0)
		numbers++;
	if (rc < 0) {
		size_t line, col;

		cb__json_line_col(&line, &col, in, len, s.err_at);
		return cb__error_set(CB_EPARSE, CB_ERRCLASS_JSON,
			"%s:%zu:%zu: %s", source, line, col, s.err);
	}

	/* Every number is at least one byte, so numbers <= len and this
	 * cannot overflow for any len below SIZE_MAX / 9. */
	from = json_bom_len(in, len);
	if (numbers > (SIZE_MAX - len) / CB__JSON_MARK_OVERHEAD)
		return cb__error_set(CB_ETOOBIG, CB_ERRCLASS_JSON,
			"%s: too many numbers to quote", source);
	total = len - from + numbers * CB__JSON_MARK_OVERHEAD;
	if ((rc = cb__buf_grow(out, total)) < 0)
		return rc;

	scan_init(&s, in, len);
	while (scan_next(&s, &start, &end) > 0) {
		cb__buf_put(out, in + from, start - from);
		cb__buf_putc(out, '"');
		cb__buf_puts(out, CB__JSON_MARK_ESCAPED);
		cb__buf_put(out, in + start, end - start);
		cb__buf_putc(out, '"');
		from = end;
	}
	/* Room was made above, so these appends cannot fail. */
	return cb__buf_put(out, in + from, len - from);
}

size_t
cb__json_input_offset(const char *in, size_t len, size_t quoted)
{
	const size_t open = 1 + sizeof(CB__JSON_MARK_ESCAPED) - 1;
	struct scan s;
	size_t start, end, bom = json_bom_len(in, len);
	size_t added = 0; /* bytes added before the current position */
	size_t offset;

	/* Output of number k: "\u0001 (open bytes) at qstart, its digits,
	 * the closing quote; then the text after it, shifted by 8 more. */
	scan_init(&s, in, len);
	while (scan_next(&s, &start, &end) > 0) {
		size_t qstart = start - bom + added;

		if (quoted < qstart)
			break;
		if (quoted < qstart + open)
			return start;
		if (quoted <= qstart + open + (end - start))
			return start + (quoted - qstart - open);
		added += CB__JSON_MARK_OVERHEAD;
	}
	assert(quoted >= added);
	offset = quoted - added + bom;
	return offset > len ? len : offset;
}

bool
cb__json_number_before(const char *in, size_t len, size_t quoted,
	size_t *start_out, size_t *end_out)
{
	struct scan s;
	size_t start, end, bom = json_bom_len(in, len);
	size_t added = 0;

	scan_init(&s, in, len);
	while (scan_next(&s, &start, &end) > 0) {
		size_t qend = start - bom + added + CB__JSON_MARK_OVERHEAD +
			      (end - start);

		if (quoted < qend)
			return false;
		if (quoted == qend) {
			*start_out = start;
			*end_out = end;
			return true;
		}
		added += CB__JSON_MARK_OVERHEAD;
	}
	return false;
}

int
cb__json_unquote_numbers(cb_buf *out, const char *in, size_t len)
{
	const size_t mark_len = sizeof(CB__JSON_MARK_ESCAPED) - 1;
	size_t i = 0, from = 0, start_size = out->size;
	int rc = 0;

	while (i < len) {
		size_t j;

		if (in[i] != '"') {
			i++;
			continue;
		}
		j = i + 1;
		if (len - j >= mark_len &&
			memcmp(in + j, CB__JSON_MARK_ESCAPED, mark_len) == 0) {
			/* A marked number: its text is plain ASCII, written
			 * by jansson without escapes. */
			size_t k = j + mark_len;

			while (k < len && in[k] != '"')
				k++;
			if ((rc = cb__buf_put(out, in + from, i - from)) < 0 ||
				(rc = cb__buf_put(out, in + j + mark_len,
					 k - j - mark_len)) < 0)
				goto done;
			i = from = k < len ? k + 1 : len;
			continue;
		}
		while (j < len && in[j] != '"')
			j += in[j] == '\\' ? 2 : 1;
		i = j < len ? j + 1 : len;
	}
	rc = cb__buf_put(out, in + from, len - from);
done:
	if (rc < 0 && out->ptr != NULL) {
		out->size = start_size;
		out->ptr[start_size] = '\0';
	}
	return rc;
}

void
cb__json_clean_message(char *out, size_t outlen, const char *msg)
{
	const size_t mark_len = sizeof(CB__JSON_MARK_ESCAPED) - 1;
	size_t o = 0;

	if (outlen == 0)
		return;
	while (*msg != '\0' && o + 1 < outlen) {
		if (msg[0] == '"' && strncmp(msg + 1, CB__JSON_MARK_ESCAPED,
					     mark_len) == 0) {
			msg += 1 + mark_len;
			while (json_is_number_char((unsigned char)*msg) &&
				o + 1 < outlen)
				out[o++] = *msg++;
			if (*msg == '"')
				msg++;
			continue;
		}
		out[o++] = *msg++;
	}
	out[o] = '\0';
}

bool
cb__json_utf8_is_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
			cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}
