/*
 * core/csv_reader.c - the streaming RFC 4180 reader behind cb_csv_feed().
 *
 * Input is copied into one window buffer and parsed in place: fields point
 * into the window, doubled quotes are undone by shifting bytes left within
 * their own field, and each field is NUL-terminated over the delimiter that
 * ended it.  When the window fills, the unfinished row (the only thing
 * still needed) moves to its front, so memory is the window plus, for a
 * row longer than the window, about twice that row, never more than
 * max_row_bytes + 3.
 *
 * The parser is a resumable state machine: every byte is consumed exactly
 * once, whatever the chunking, and all of its state lives in the reader
 * between calls.  What must stay true for rows and errors to be identical
 * whether the input comes in one piece or one byte at a time:
 *  - a decision depends only on bytes already seen, never on where the
 *    window or the chunk ends (the one byte of lookahead, after a closing
 *    quote or a CR, is a state of its own);
 *  - the row size rule is a property of the byte sequence: a row fails
 *    with CB_ETOOBIG as soon as its content (bytes before the line end)
 *    passes max_row_bytes, and a syntax error found at or past that point
 *    is reported as CB_ETOOBIG too, since one-byte feeding would have hit
 *    the size rule first.
 *
 * Speed: the unquoted-field loop tests eight bytes at a time for the four
 * special bytes (SWAR), quoted fields are scanned the same way for quote
 * and LF, and per-row work is one function call.  Nothing is allocated per
 * field or per row once the window and field array have reached their
 * working size.
 */
#include "core/common.h"
#include "core/csv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * Window size: each fill costs a memmove of the unfinished row, so the
 * window should hold many rows (a 64 KiB window holds ~30 cost-details
 * rows of ~2 KB, making the move ~3% of the bytes parsed) while staying
 * well inside L2 cache.  curl delivers bodies in 16 KiB pieces, so one
 * window usually takes four of them.
 */
#define CSV_WINDOW ((size_t)64 * 1024)

/* Initial field array: grows to the widest row seen (70 for cost files). */
#define CSV_FIELDS_INITIAL 32

/* Longest column name quoted in a duplicate-column message. */
#define CSV_NAME_IN_MESSAGE 64

/* Longest source name kept (it only appears in messages). */
#define CSV_SOURCE_MAX 256

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
	__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CSV_SWAR 1
#endif

enum csv_state {
	ST_ROW,      /* between rows: next byte starts a row or is a blank */
	ST_FIELD,    /* after a delimiter: next byte starts a field */
	ST_UNQUOTED, /* inside an unquoted field starting at fstart */
	ST_QUOTED,   /* inside a quoted field; content is fstart..wpos */
	ST_QUOTE,    /* just read a quote inside a quoted field */
	ST_CR        /* read a CR outside quotes; an LF must follow */
};

/* One header column, sorted by name to look names up and find twins. */
struct csv_column {
	const char *name; /* borrowed from names_mem */
	size_t index;     /* position in the header */
};

struct cb_csv_reader {
	char *source;         /* owned; redacted, for messages */
	char delimiter;       /* field separator */
	bool has_header;      /* first row names the columns */
	size_t max_row;       /* cap on a row's content, bytes */
	size_t cap_limit;     /* largest window: max(CSV_WINDOW, max_row+3) */
	uint8_t special[256]; /* 1 for delimiter, quote, CR, LF */

	char *buf;        /* owned window, cap bytes; buf[len] is spare */
	size_t cap;       /* bytes allocated */
	size_t len;       /* bytes of input held, < cap */
	size_t pos;       /* parse position */
	size_t row_start; /* first byte of the unfinished row (or pos) */
	uint64_t buf_abs; /* stream offset of buf[0] */

	enum csv_state state;
	size_t fstart;        /* offset: start of the current field's content */
	size_t wpos;          /* offset: write position in a quoted field */
	size_t cr;            /* offset: the pending CR (ST_CR) */
	cb_csv_field *fields; /* owned, fcap entries; ptr into buf */
	size_t nfields;       /* fields of the unfinished row */
	size_t fcap;          /* entries allocated */
	size_t expected;      /* fields per row; 0 until the first row */

	uint64_t line;       /* current physical line, 1-based */
	uint64_t line_abs;   /* stream offset where that line starts */
	uint64_t row_line;   /* line the unfinished row started on */
	uint64_t quote_line; /* where the open quoted field began */
	uint64_t quote_col;
	uint64_t rows; /* data rows delivered */
	bool bom_done; /* the byte order mark question is settled */
	bool finished; /* cb_csv_finish() has run */

	char *names_mem;            /* owned: header names, NUL-separated */
	const char **names;         /* owned array, by column; into names_mem */
	struct csv_column *columns; /* owned array, sorted by name */
	size_t ncolumns;            /* header columns; 0 before the header */

	int error;               /* sticky: first failure, or 0 */
	int error_class;         /* its cb_error class */
	cb_csv_parse_error perr; /* where, for CB_EPARSE / CB_ETOOBIG */
	char message[CB_ERROR_MESSAGE_MAX]; /* its message */
};

static const char csv_bom[3] = { '\xef', '\xbb', '\xbf' };

int
cb_csv_reader_new(cb_csv_reader **out, const cb_csv_options *opts)
{
	static const cb_csv_options defaults = CB_CSV_OPTIONS_INIT;
	cb_csv_reader *r = NULL;
	const char *source;
	size_t n;
	int error = CB_ENOMEM;

	CB_ASSERT_ARG(out);
	if (opts == NULL)
		opts = &defaults;
	CB_ASSERT_ARG(opts->version == CB_CSV_OPTIONS_VERSION);
	CB_ASSERT_ARG(opts->delimiter != '"' && opts->delimiter != '\r' &&
		      opts->delimiter != '\n');
	CB_ASSERT_ARG(opts->max_row_bytes > 0 &&
		      opts->max_row_bytes <= CB_CSV_MAX_ROW_BYTES_LIMIT);

	if ((r = cb__calloc(1, sizeof(*r))) == NULL)
		goto done;
	/* A source may be a blob URL: drop its query (SAS signature). */
	source = opts->source ? opts->source : "csv";
	n = strcspn(source, "?#");
	if ((r->source = cb__strndup(
		     source, n < CSV_SOURCE_MAX ? n : CSV_SOURCE_MAX)) == NULL)
		goto done;
	r->delimiter = opts->delimiter;
	r->has_header = opts->has_header;
	r->max_row = opts->max_row_bytes;
	r->cap_limit =
		r->max_row + 3 > CSV_WINDOW ? r->max_row + 3 : CSV_WINDOW;
	r->special[(unsigned char)r->delimiter] = 1;
	r->special['"'] = r->special['\r'] = r->special['\n'] = 1;
	r->cap = CSV_WINDOW;
	if ((r->buf = cb__malloc(r->cap)) == NULL)
		goto done;
	r->fcap = CSV_FIELDS_INITIAL;
	if ((r->fields = cb__calloc(r->fcap, sizeof(*r->fields))) == NULL)
		goto done;
	r->state = ST_ROW;
	r->line = 1;

	*out = r;
	r = NULL;
	error = 0;
done:
	cb_csv_reader_free(r);
	return error;
}

void
cb_csv_reader_free(cb_csv_reader *r)
{
	if (r == NULL)
		return;
	cb__free(r->source);
	cb__free(r->buf);
	cb__free(r->fields);
	cb__free(r->names_mem);
	cb__free(r->names);
	cb__free(r->columns);
	cb__free(r);
}

/* Remember the first failure so later calls repeat it (sticky). */
static int
csv_stop(cb_csv_reader *r, int code)
{
	const cb_error *e = cb_error_last();

	r->error = code;
	r->message[0] = '\0';
	if (code < 0 && e->code == code) {
		r->error_class = e->klass;
		snprintf(r->message, sizeof(r->message), "%s", e->message);
	}
	return code;
}

static int
csv_repeat_error(cb_csv_reader *r)
{
	if (r->error < 0 && r->message[0] != '\0')
		cb__error_set(r->error, r->error_class, "%s", r->message);
	return r->error;
}

/* A parse or size error at a known place; column 0 means the whole row. */
static int
csv_error_at(cb_csv_reader *r, int code, uint64_t line, uint64_t column,
	const char *what)
{
	r->perr.code = code;
	r->perr.source = r->source;
	r->perr.line = line;
	r->perr.column = column;
	if (column)
		return cb__error_set(code, CB_ERRCLASS_CSV,
			"%s:%" PRIu64 ":%" PRIu64 ": %s", r->source, line,
			column, what);
	return cb__error_set(code, CB_ERRCLASS_CSV, "%s:%" PRIu64 ": %s",
		r->source, line, what);
}

static int
csv_too_big(cb_csv_reader *r)
{
	char what[64];

	snprintf(what, sizeof(what), "row exceeds %zu bytes", r->max_row);
	return csv_error_at(r, CB_ETOOBIG, r->row_line, 0, what);
}

/*
 * A syntax error at window offset @p at.  Past max_row bytes into the row
 * it is a size error instead: byte-at-a-time input would have failed the
 * size rule before reaching it.
 */
static int
csv_syntax_error(cb_csv_reader *r, size_t at, const char *what)
{
	uint64_t abs = r->buf_abs + at;

	if (at - r->row_start >= r->max_row)
		return csv_too_big(r);
	return csv_error_at(r, CB_EPARSE, r->line, abs - r->line_abs + 1, what);
}

static int
csv_fields_grow(cb_csv_reader *r)
{
	size_t n = r->fcap * 2;
	cb_csv_field *f;

	if ((f = cb__reallocarray(r->fields, n, sizeof(*f))) == NULL)
		return CB_ENOMEM;
	r->fields = f;
	r->fcap = n;
	return 0;
}

static int
ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y || x == 0)
			return x - y;
	}
}

static int
csv_column_cmp(const void *a, const void *b)
{
	const struct csv_column *x = a, *y = b;
	int c = ascii_casecmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Keep the header row's names; refuse two columns with one name. */
static int
csv_take_header(cb_csv_reader *r)
{
	size_t n = r->nfields, total = 0, dup_a = 0, dup_b = SIZE_MAX;
	char *mem = NULL, *p;
	const char **names = NULL;
	struct csv_column *cols = NULL;
	int error = CB_ENOMEM;

	for (size_t i = 0; i < n; i++)
		total += r->fields[i].len + 1;
	if ((mem = cb__malloc(total)) == NULL ||
		(names = cb__calloc(n, sizeof(*names))) == NULL ||
		(cols = cb__calloc(n, sizeof(*cols))) == NULL)
		goto done;
	p = mem;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, r->fields[i].ptr, r->fields[i].len + 1);
		names[i] = cols[i].name = p;
		cols[i].index = i;
		p += r->fields[i].len + 1;
	}
	qsort(cols, n, sizeof(*cols), csv_column_cmp);
	/* Of all repeated names, report the repeat that comes first. */
	for (size_t i = 1; i < n; i++) {
		if (ascii_casecmp(cols[i - 1].name, cols[i].name) == 0 &&
			(i < 2 || ascii_casecmp(
					  cols[i - 2].name, cols[i].name)) &&
			cols[i].index < dup_b) {
			dup_a = cols[i - 1].index;
			dup_b = cols[i].index;
		}
	}
	if (dup_b != SIZE_MAX) {
		char what[CSV_NAME_IN_MESSAGE + 96];

		snprintf(what, sizeof(what),
			"duplicate column name '%.*s' (columns %zu and %zu)",
			CSV_NAME_IN_MESSAGE, names[dup_b], dup_a + 1,
			dup_b + 1);
		error = csv_error_at(r, CB_EPARSE, r->row_line, 0, what);
		goto done;
	}
	r->names_mem = mem;
	r->names = names;
	r->columns = cols;
	r->ncolumns = n;
	mem = NULL;
	names = NULL;
	cols = NULL;
	error = 0;
done:
	cb__free(mem);
	cb__free(names);
	cb__free(cols);
	return error;
}

/*
 * A row's fields are complete; its content ends at window offset @p end.
 * Check it, then hand it to the callback (or keep it as the header).
 */
static int
csv_row_done(cb_csv_reader *r, size_t end, cb_csv_row_cb cb, void *payload)
{
	cb_csv_row row;
	int error;

	if (end - r->row_start > r->max_row)
		return csv_too_big(r);
	if (r->expected == 0) {
		r->expected = r->nfields;
		if (r->has_header)
			return csv_take_header(r);
	} else if (r->nfields != r->expected) {
		char what[96];

		snprintf(what, sizeof(what), "expected %zu fields, found %zu",
			r->expected, r->nfields);
		return csv_error_at(r, CB_EPARSE, r->row_line, 0, what);
	}
	r->rows++;
	if (cb == NULL)
		return 0;
	row.fields = r->fields;
	row.count = r->nfields;
	row.line = r->row_line;
	error = cb(&row, payload);
	return error;
}

#ifdef CSV_SWAR
#define SWAR_ONES  UINT64_C(0x0101010101010101)
#define SWAR_HIGHS UINT64_C(0x8080808080808080)

/*
 * High bit set in each byte of v equal to the byte repeated in pat.  Exact
 * for the lowest such byte, which is all the scanners use: a borrow can
 * only mark bytes above a true match.
 */
static inline uint64_t
swar_eq(uint64_t v, uint64_t pat)
{
	uint64_t x = v ^ pat;

	return (x - SWAR_ONES) & ~x & SWAR_HIGHS;
}
#endif

/* First delimiter, quote, CR or LF in [p, end), or end. */
static inline char *
csv_scan_unquoted(const cb_csv_reader *r, char *p, char *end)
{
#ifdef CSV_SWAR
	const uint64_t d = SWAR_ONES * (unsigned char)r->delimiter;
	const uint64_t q = SWAR_ONES * '"', cr = SWAR_ONES * '\r';
	const uint64_t lf = SWAR_ONES * '\n';

	while (end - p >= 8) {
		uint64_t v, m;

		memcpy(&v, p, 8);
		m = swar_eq(v, d) | swar_eq(v, q) | swar_eq(v, cr) |
		    swar_eq(v, lf);
		if (m)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
#endif
	while (p < end && !r->special[(unsigned char)*p])
		p++;
	return p;
}

/* First quote or LF in [p, end), or end. */
static inline char *
csv_scan_quoted(char *p, char *end)
{
#ifdef CSV_SWAR
	const uint64_t q = SWAR_ONES * '"', lf = SWAR_ONES * '\n';

	while (end - p >= 8) {
		uint64_t v, m;

		memcpy(&v, p, 8);
		m = swar_eq(v, q) | swar_eq(v, lf);
		if (m)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
#endif
	while (p < end && *p != '"' && *p != '\n')
		p++;
	return p;
}

/*
 * Parse the window from pos to len, delivering every row completed.  At
 * the end of the window the state is saved for the next call.  Only called
 * when no error is pending.
 */
static int
csv_parse(cb_csv_reader *r, cb_csv_row_cb cb, void *payload)
{
	char *const base = r->buf;
	char *const end = base + r->len;
	char *p = base + r->pos;
	char *fstart = base + r->fstart;
	char *w = base + r->wpos;
	const char delim = r->delimiter;
	int error;
	char c;

#define OFF(ptr) ((size_t)((ptr)-base))
#define PUSH_FIELD(start, n)                               \
	do {                                               \
		if (r->nfields == r->fcap &&               \
			(error = csv_fields_grow(r)) != 0) \
			return error;                      \
		r->fields[r->nfields].ptr = (start);       \
		r->fields[r->nfields].len = (size_t)(n);   \
		r->nfields++;                              \
	} while (0)
	/* Row content ends at cend; the LF that ended it is at p - 1. */
#define ROW_DONE(cend)                                                      \
	do {                                                                \
		if ((error = csv_row_done(r, OFF(cend), cb, payload)) != 0) \
			return error;                                       \
		r->nfields = 0;                                             \
		r->line++;                                                  \
		r->line_abs = r->buf_abs + OFF(p);                          \
		r->row_start = OFF(p);                                      \
	} while (0)

	switch (r->state) {
	case ST_ROW:
		goto row;
	case ST_FIELD:
		goto field;
	case ST_UNQUOTED:
		goto unquoted;
	case ST_QUOTED:
		goto quoted;
	case ST_QUOTE:
		goto quote;
	case ST_CR:
		goto cr;
	}

row:
	if (p == end) {
		r->state = ST_ROW;
		goto suspend;
	}
	if (*p == '\n') {
		/* A blank line: not a row, but a line. */
		p++;
		r->line++;
		r->line_abs = r->buf_abs + OFF(p);
		r->row_start = OFF(p);
		goto row;
	}
	r->row_line = r->line;
	if (*p == '\r') {
		r->cr = OFF(p);
		p++;
		goto cr;
	}
field:
	if (p == end) {
		r->state = ST_FIELD;
		goto suspend;
	}
	if (*p == '"') {
		r->quote_line = r->line;
		r->quote_col = r->buf_abs + OFF(p) - r->line_abs + 1;
		fstart = w = ++p;
		goto quoted;
	}
	fstart = p;
unquoted:
	p = csv_scan_unquoted(r, p, end);
	if (p == end) {
		r->state = ST_UNQUOTED;
		goto suspend;
	}
	c = *p;
	if (c == '"')
		return csv_syntax_error(r, OFF(p), "quote in unquoted field");
	*p = '\0';
	PUSH_FIELD(fstart, p - fstart);
	p++;
	if (c == delim)
		goto field;
	if (c == '\n') {
		ROW_DONE(p - 1);
		goto row;
	}
	r->cr = OFF(p - 1);
cr:
	if (p == end) {
		r->state = ST_CR;
		goto suspend;
	}
	if (*p != '\n')
		return csv_syntax_error(
			r, r->cr, "carriage return not followed by line feed");
	p++;
	if (r->nfields == 0) {
		/* A blank line ended by CRLF. */
		r->line++;
		r->line_abs = r->buf_abs + OFF(p);
		r->row_start = OFF(p);
		goto row;
	}
	ROW_DONE(base + r->cr);
	goto row;

quoted:
	for (;;) {
		char *q = csv_scan_quoted(p, end);

		/* Shift content left over the quotes undone so far. */
		if (w != p)
			memmove(w, p, (size_t)(q - p));
		w += q - p;
		p = q;
		if (p == end) {
			r->state = ST_QUOTED;
			goto suspend;
		}
		if (*p == '"')
			break;
		*w++ = *p++;
		r->line++;
		r->line_abs = r->buf_abs + OFF(p);
	}
	p++;
quote:
	if (p == end) {
		r->state = ST_QUOTE;
		goto suspend;
	}
	c = *p;
	if (c == '"') {
		*w++ = '"';
		p++;
		goto quoted;
	}
	if (c != delim && c != '\n' && c != '\r')
		return csv_syntax_error(
			r, OFF(p), "unexpected character after closing quote");
	*w = '\0';
	PUSH_FIELD(fstart, w - fstart);
	p++;
	if (c == delim)
		goto field;
	if (c == '\n') {
		ROW_DONE(p - 1);
		goto row;
	}
	r->cr = OFF(p - 1);
	goto cr;

suspend:
	r->pos = OFF(p);
	switch (r->state) {
	case ST_UNQUOTED:
		r->fstart = OFF(fstart);
		r->wpos = r->pos;
		break;
	case ST_QUOTED:
	case ST_QUOTE:
		r->fstart = OFF(fstart);
		r->wpos = OFF(w);
		break;
	default:
		r->fstart = r->wpos = r->pos;
		break;
	}
	if (r->state != ST_CR)
		r->cr = r->pos;
	if (r->state != ST_ROW) {
		/* An unfinished row: a pending CR may yet be its line end. */
		size_t content = r->len - r->row_start;

		if (r->state == ST_CR)
			content--;
		if (content > r->max_row)
			return csv_too_big(r);
	}
	return 0;
#undef OFF
#undef PUSH_FIELD
#undef ROW_DONE
}

/* Settle whether the stream starts with a byte order mark. */
static bool
csv_bom_pending(cb_csv_reader *r, bool eof)
{
	size_t have = r->len < 3 ? r->len : 3;

	if (r->bom_done)
		return false;
	if (memcmp(r->buf, csv_bom, have) != 0)
		goto settled;
	if (have < 3)
		return !eof;
	r->pos = r->row_start = r->fstart = r->wpos = r->cr = 3;
	r->line_abs = 3;
settled:
	r->bom_done = true;
	return false;
}

static int
csv_parse_window(cb_csv_reader *r, bool eof, cb_csv_row_cb cb, void *payload)
{
	int error;

	if (csv_bom_pending(r, eof))
		return 0;
	if ((error = csv_parse(r, cb, payload)) != 0)
		return csv_stop(r, error);
	return 0;
}

/*
 * Make room for more input: move the unfinished row to the front of the
 * window, into a larger window when it fills more than half (so moves cost
 * at most as much as the bytes they make room for).
 */
static int
csv_make_room(cb_csv_reader *r)
{
	size_t keep = r->len - r->row_start, shift = r->row_start, ncap;
	char *nbuf, *old_row = r->buf + r->row_start;

	if (r->len + 1 < r->cap)
		return 0;
	if (keep > (r->cap - 1) / 2 && r->cap < r->cap_limit) {
		ncap = r->cap > r->cap_limit / 2 ? r->cap_limit : r->cap * 2;
		if ((nbuf = cb__malloc(ncap)) == NULL)
			return csv_stop(r, CB_ENOMEM);
		memcpy(nbuf, old_row, keep);
		for (size_t i = 0; i < r->nfields; i++)
			r->fields[i].ptr = nbuf + (r->fields[i].ptr - old_row);
		cb__free(r->buf);
		r->buf = nbuf;
		r->cap = ncap;
	} else if (shift > 0) {
		memmove(r->buf, old_row, keep);
		for (size_t i = 0; i < r->nfields; i++)
			r->fields[i].ptr -= shift;
	}
	/* A full window with the row already at its front cannot happen:
	 * the size rule fails a row before it outgrows cap_limit. */
	r->buf_abs += shift;
	r->len -= shift;
	r->pos -= shift;
	r->row_start = 0;
	r->fstart -= shift;
	r->wpos -= shift;
	r->cr -= shift;
	return 0;
}

static int
csv_check_usable(cb_csv_reader *r, const char *func)
{
	if (r->error)
		return csv_repeat_error(r);
	if (r->finished)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"%s: %s: input already finished", func, r->source);
	return 0;
}

int
cb_csv_feed(cb_csv_reader *r, const void *data, size_t len, cb_csv_row_cb cb,
	void *payload)
{
	const char *in = data;
	int error;

	CB_ASSERT_ARG(r);
	CB_ASSERT_ARG(data || len == 0);
	if ((error = csv_check_usable(r, __func__)) != 0)
		return error;
	while (len > 0) {
		size_t n;

		if ((error = csv_make_room(r)) != 0)
			return error;
		n = r->cap - 1 - r->len;
		if (n > len)
			n = len;
		memcpy(r->buf + r->len, in, n);
		r->len += n;
		in += n;
		len -= n;
		if ((error = csv_parse_window(r, false, cb, payload)) != 0)
			return error;
	}
	return 0;
}

int
cb_csv_finish(cb_csv_reader *r, cb_csv_row_cb cb, void *payload)
{
	char *end;
	int error;

	CB_ASSERT_ARG(r);
	if ((error = csv_check_usable(r, __func__)) != 0)
		return error;
	r->finished = true;
	if ((error = csv_parse_window(r, true, cb, payload)) != 0)
		return error;
	/* The window always keeps a spare byte, for this terminator. */
	end = r->buf + r->len;
	*end = '\0';
	switch (r->state) {
	case ST_ROW:
		break;
	case ST_FIELD:
	case ST_UNQUOTED:
	case ST_QUOTE: {
		char *start = r->state == ST_FIELD ? end : r->buf + r->fstart;
		size_t n = r->state == ST_QUOTE ? r->wpos - r->fstart
						: (size_t)(end - start);

		start[n] = '\0';
		if (r->nfields == r->fcap && (error = csv_fields_grow(r)) != 0)
			return csv_stop(r, error);
		r->fields[r->nfields].ptr = start;
		r->fields[r->nfields].len = n;
		r->nfields++;
		if ((error = csv_row_done(r, r->len, cb, payload)) != 0)
			return csv_stop(r, error);
		r->nfields = 0;
		r->state = ST_ROW;
		break;
	}
	case ST_QUOTED:
		return csv_stop(
			r, csv_error_at(r, CB_EPARSE, r->quote_line,
				   r->quote_col, "unterminated quoted field"));
	case ST_CR:
		return csv_stop(r, csv_syntax_error(r, r->cr,
					   "carriage return not followed by "
					   "line feed"));
	}
	if (r->has_header && r->expected == 0)
		return csv_stop(
			r, csv_error_at(r, CB_EPARSE, r->line, 0,
				   "empty input, expected a header row"));
	return 0;
}

int
cb_csv_read_fd(cb_csv_reader *r, int fd, cb_csv_row_cb cb, void *payload)
{
	int error;

	CB_ASSERT_ARG(r);
	CB_ASSERT_ARG(fd >= 0);
	if ((error = csv_check_usable(r, __func__)) != 0)
		return error;
	for (;;) {
		ssize_t n;

		if ((error = csv_make_room(r)) != 0)
			return error;
		/* Read straight into the window: no second copy. */
		n = read(fd, r->buf + r->len, r->cap - 1 - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			char text[128];

			if (strerror_r(errno, text, sizeof(text)) != 0)
				snprintf(text, sizeof(text), "errno %d", errno);
			return csv_stop(r, cb__error_set(CB_EIO, CB_ERRCLASS_OS,
						   "%s: read failed: %s",
						   r->source, text));
		}
		if (n == 0)
			break;
		r->len += (size_t)n;
		if ((error = csv_parse_window(r, false, cb, payload)) != 0)
			return error;
	}
	return cb_csv_finish(r, cb, payload);
}

size_t
cb_csv_column_count(const cb_csv_reader *r)
{
	return r ? r->ncolumns : 0;
}

const char *
cb_csv_column_name(const cb_csv_reader *r, size_t i)
{
	if (r == NULL || i >= r->ncolumns)
		return NULL;
	return r->names[i];
}

long
cb_csv_column_index(const cb_csv_reader *r, const char *name)
{
	size_t lo = 0, hi;

	if (r == NULL || name == NULL)
		return -1;
	hi = r->ncolumns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = ascii_casecmp(name, r->columns[mid].name);

		if (c == 0)
			return (long)r->columns[mid].index;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

uint64_t
cb_csv_reader_row_count(const cb_csv_reader *r)
{
	return r ? r->rows : 0;
}

int
cb_csv_reader_error(const cb_csv_reader *r, cb_csv_parse_error *out)
{
	if (out == NULL)
		return 0;
	if (r == NULL || (r->error != CB_EPARSE && r->error != CB_ETOOBIG) ||
		r->perr.code != r->error) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	*out = r->perr;
	return 1;
}

size_t
cb__csv_reader_window(const cb_csv_reader *r)
{
	return r->cap;
}
