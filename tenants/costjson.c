/*
 * tenants/costjson.c - checking and compacting the JSON objects of cost
 * files (see costjson.h).
 *
 * A recursive descent over the bytes, writing as it reads; recursion is
 * bounded by CB__COSTJSON_MAX_DEPTH.  Strings are copied verbatim, escapes
 * included (only white space between tokens is dropped), so the output
 * is the same JSON text, byte for byte, minus that white space.
 */
#include "core/common.h"

#include "tenants/costjson.h"

/*
 * Numbers: PostgreSQL's numeric input refuses an exponent beyond +-1000
 * and jsonb stores every number as numeric, so a number the store would
 * refuse is refused here, with its place.  Digits are capped at the same
 * figure, far beyond any real tag or additionalInfo value.
 */
#define COSTJSON_NUMBER_MAX 1000

struct js {
	const unsigned char *p, *end, *start;
	char *w;
	cb__costjson_error *err;
};

/* Bytes copied as they are inside a string: printable ASCII but '"' and
 * '\\'. */
/* clang-format off */
static const unsigned char js_plain[256] = {
	['\x20'] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,            /* 0x30 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,            /* 0x40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,            /* 0x50 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,            /* 0x60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,            /* 0x70 */
};
/* clang-format on */

size_t
cb__utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* up to U+10FFFF */
	} else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static int
js_fail(struct js *j, const unsigned char *at, const char *what)
{
	j->err->offset = (size_t)(at - j->start);
	j->err->what = what;
	return -1;
}

static void
js_space(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
					*j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int
js_hex4(const unsigned char *p, const unsigned char *end, unsigned *out)
{
	unsigned v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (unsigned)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* A string, *p at its opening quote. */
static int
js_string(struct js *j)
{
	const unsigned char *p = j->p + 1, *end = j->end;
	char *w = j->w;

	*w++ = '"';
	for (;;) {
		while (p < end && js_plain[*p])
			*w++ = (char)*p++;
		if (p >= end)
			return js_fail(j, j->p, "unterminated string");
		if (*p == '"')
			break;
		if (*p == '\\') {
			const unsigned char *esc = p;
			unsigned u, lo;

			if (end - p < 2)
				return js_fail(j, esc, "unterminated string");
			switch (p[1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				p += 2;
				break;
			case 'u':
				if (js_hex4(p + 2, end, &u) != 0)
					return js_fail(
						j, esc, "bad \\u escape");
				if (u == 0)
					return js_fail(j, esc,
						"\\u0000 is not allowed");
				if (u >= 0xdc00 && u <= 0xdfff)
					return js_fail(j, esc,
						"unpaired surrogate escape");
				p += 6;
				if (u >= 0xd800 && u <= 0xdbff) {
					if (end - p < 6 || p[0] != '\\' ||
						p[1] != 'u' ||
						js_hex4(p + 2, end, &lo) != 0 ||
						lo < 0xdc00 || lo > 0xdfff)
						return js_fail(j, esc,
							"unpaired surrogate "
							"escape");
					p += 6;
				}
				break;
			default:
				return js_fail(j, esc, "bad escape");
			}
			memcpy(w, esc, (size_t)(p - esc));
			w += p - esc;
		} else if (*p < 0x20) {
			return js_fail(j, p, "control character in a string");
		} else {
			size_t n = cb__utf8_seq(p, end);

			if (n == 0)
				return js_fail(j, p, "invalid UTF-8");
			memcpy(w, p, n);
			w += n;
			p += n;
		}
	}
	*w++ = '"';
	j->p = p + 1;
	j->w = w;
	return 0;
}

static size_t
js_digits(struct js *j)
{
	const unsigned char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return (size_t)(j->p - s);
}

static int
js_number(struct js *j)
{
	const unsigned char *s = j->p;
	size_t digits;

	if (*j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0') {
		j->p++;
		digits = 1;
	} else if ((digits = js_digits(j)) == 0) {
		return js_fail(j, s, "bad number");
	}
	if (j->p < j->end && *j->p == '.') {
		size_t frac;

		j->p++;
		if ((frac = js_digits(j)) == 0)
			return js_fail(j, s, "bad number");
		digits += frac;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		unsigned long exp = 0;
		const unsigned char *e;

		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		e = j->p;
		if (js_digits(j) == 0)
			return js_fail(j, s, "bad number");
		for (; e < j->p; e++)
			if ((exp = exp * 10 + (unsigned)(*e - '0')) >
				COSTJSON_NUMBER_MAX)
				return js_fail(j, s, "number out of range");
	}
	if (digits > COSTJSON_NUMBER_MAX)
		return js_fail(j, s, "number out of range");
	memcpy(j->w, s, (size_t)(j->p - s));
	j->w += j->p - s;
	return 0;
}

static int
js_literal(struct js *j, const char *word, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return js_fail(j, j->p, "expected a value");
	memcpy(j->w, word, n);
	j->w += n;
	j->p += n;
	return 0;
}

static int js_members(struct js *j, int depth, bool braced);

static int
js_value(struct js *j, int depth)
{
	if (j->p >= j->end)
		return js_fail(j, j->p, "expected a value");
	switch (*j->p) {
	case '{':
		j->p++;
		return js_members(j, depth + 1, true);
	case '[':
		if (depth + 1 > CB__COSTJSON_MAX_DEPTH)
			return js_fail(j, j->p, "nested too deeply");
		*j->w++ = '[';
		j->p++;
		js_space(j);
		if (j->p < j->end && *j->p == ']') {
			*j->w++ = ']';
			j->p++;
			return 0;
		}
		for (;;) {
			if (js_value(j, depth + 1) != 0)
				return -1;
			js_space(j);
			if (j->p < j->end && *j->p == ',') {
				*j->w++ = ',';
				j->p++;
				js_space(j);
				continue;
			}
			if (j->p < j->end && *j->p == ']') {
				*j->w++ = ']';
				j->p++;
				return 0;
			}
			return js_fail(j, j->p, "expected ',' or ']'");
		}
	case '"':
		return js_string(j);
	case 't':
		return js_literal(j, "true", 4);
	case 'f':
		return js_literal(j, "false", 5);
	case 'n':
		return js_literal(j, "null", 4);
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return js_number(j);
		return js_fail(j, j->p, "expected a value");
	}
}

/*
 * An object's members, after its '{' (braced) or from the start of a
 * brace-less fragment up to the end of the text; writes the braces.
 */
static int
js_members(struct js *j, int depth, bool braced)
{
	if (depth > CB__COSTJSON_MAX_DEPTH)
		return js_fail(j, j->p - 1, "nested too deeply");
	*j->w++ = '{';
	js_space(j);
	if (braced ? j->p < j->end && *j->p == '}' : j->p >= j->end) {
		*j->w++ = '}';
		j->p += braced;
		return 0;
	}
	for (;;) {
		if (j->p >= j->end || *j->p != '"')
			return js_fail(j, j->p, "expected a string key");
		if (js_string(j) != 0)
			return -1;
		js_space(j);
		if (j->p >= j->end || *j->p != ':')
			return js_fail(j, j->p, "expected ':'");
		*j->w++ = ':';
		j->p++;
		js_space(j);
		if (js_value(j, depth) != 0)
			return -1;
		js_space(j);
		if (j->p < j->end && *j->p == ',') {
			*j->w++ = ',';
			j->p++;
			js_space(j);
			continue;
		}
		if (braced && j->p < j->end && *j->p == '}') {
			j->p++;
			break;
		}
		if (!braced && j->p >= j->end)
			break;
		return js_fail(j, j->p,
			braced ? "expected ',' or '}'" : "expected ','");
	}
	*j->w++ = '}';
	return 0;
}

int
cb__costjson_object(char *out, size_t *out_len, const char *text, size_t len,
	bool fragment, cb__costjson_error *err)
{
	struct js j;

	j.start = j.p = (const unsigned char *)text;
	j.end = j.p + len;
	j.w = out;
	j.err = err;
	js_space(&j);
	if (j.p < j.end && *j.p == '{') {
		j.p++;
		if (js_members(&j, 1, true) != 0)
			return -1;
		js_space(&j);
		if (j.p != j.end)
			return js_fail(&j, j.p, "text after the object");
	} else if (fragment) {
		if (js_members(&j, 1, false) != 0)
			return -1;
	} else {
		return js_fail(&j, j.p, "expected '{'");
	}
	*out_len = (size_t)(j.w - out);
	return 0;
}
