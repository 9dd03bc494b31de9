/*
 * core/csv_writer.c - the CSV writer: fields in, RFC 4180 text out.
 *
 * The one promise: cb_csv_reader reads back exactly the bytes written, for
 * any field content.  So a field is quoted not only when it holds a
 * delimiter, quote, CR or LF, but also when the reader would otherwise
 * misread the row: an empty lone field (an empty line is skipped by the
 * reader) and a first field starting with a byte order mark (the reader
 * drops one at the start of input).  Leading or trailing blanks are quoted
 * too, for the benefit of readers that trim.
 */
#include "core/common.h"
#include "core/buf.h"

struct cb_csv_writer {
	char delimiter;           /* field separator */
	bool crlf;                /* rows end with CRLF, else LF */
	bool bom;                 /* start output with a byte order mark */
	bool started;             /* something has been written */
	cb_buf *out;              /* borrowed destination, or &pending */
	cb_buf pending;           /* owned: output waiting for write */
	cb_csv_write_cb write;    /* NULL when writing to a caller's cb_buf */
	void *payload;            /* for write */
	size_t row_fields;        /* fields in the current row */
	size_t row_bytes;         /* bytes written for the current row */
	uint8_t needs_quote[256]; /* delimiter, quote, CR, LF */
};

static const char csv_bom[3] = { '\xef', '\xbb', '\xbf' };

int
cb_csv_writer_new(cb_csv_writer **out, const cb_csv_writer_options *opts)
{
	cb_csv_writer *w;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(opts);
	CB_ASSERT_ARG(opts->version == CB_CSV_WRITER_OPTIONS_VERSION);
	CB_ASSERT_ARG(opts->delimiter != '"' && opts->delimiter != '\r' &&
		      opts->delimiter != '\n');
	CB_ASSERT_ARG((opts->out == NULL) != (opts->write == NULL));

	if ((w = cb__calloc(1, sizeof(*w))) == NULL)
		return CB_ENOMEM;
	w->delimiter = opts->delimiter;
	w->crlf = opts->crlf;
	w->bom = opts->bom;
	w->out = opts->out ? opts->out : &w->pending;
	w->write = opts->write;
	w->payload = opts->payload;
	w->needs_quote[(unsigned char)w->delimiter] = 1;
	w->needs_quote['"'] = w->needs_quote['\r'] = w->needs_quote['\n'] = 1;
	*out = w;
	return 0;
}

void
cb_csv_writer_free(cb_csv_writer *w)
{
	if (w == NULL)
		return;
	cb_buf_dispose(&w->pending);
	cb__free(w);
}

static bool
csv_needs_quotes(const cb_csv_writer *w, const char *data, size_t len)
{
	if (len == 0)
		return false;
	if (data[0] == ' ' || data[0] == '\t' || data[len - 1] == ' ' ||
		data[len - 1] == '\t')
		return true;
	if (!w->started && len >= 3 && memcmp(data, csv_bom, 3) == 0)
		return true;
	for (size_t i = 0; i < len; i++)
		if (w->needs_quote[(unsigned char)data[i]])
			return true;
	return false;
}

static int
csv_put_quoted(cb_buf *b, const char *data, size_t len)
{
	const char *end = data + len, *q;
	int error;

	if ((error = cb__buf_putc(b, '"')) != 0)
		return error;
	/* Copy up to and including each quote, then the quote once more. */
	while ((q = memchr(data, '"', (size_t)(end - data))) != NULL) {
		if ((error = cb__buf_put(b, data, (size_t)(q - data + 1))) !=
				0 ||
			(error = cb__buf_putc(b, '"')) != 0)
			return error;
		data = q + 1;
	}
	if ((error = cb__buf_put(b, data, (size_t)(end - data))) != 0)
		return error;
	return cb__buf_putc(b, '"');
}

int
cb_csv_writer_field(cb_csv_writer *w, const char *data, size_t len)
{
	size_t before;
	int error;

	CB_ASSERT_ARG(w);
	CB_ASSERT_ARG(data || len == 0);
	if (!w->started && w->bom) {
		if ((error = cb__buf_put(w->out, csv_bom, sizeof(csv_bom))) !=
			0)
			return error;
		w->started = true;
	}
	before = w->out->size;
	if (w->row_fields > 0 &&
		(error = cb__buf_putc(w->out, w->delimiter)) != 0)
		return error;
	if (csv_needs_quotes(w, data, len))
		error = csv_put_quoted(w->out, data, len);
	else
		error = cb__buf_put(w->out, data, len);
	if (error != 0)
		return error;
	w->started = true;
	w->row_fields++;
	w->row_bytes += w->out->size - before;
	return 0;
}

int
cb_csv_writer_end_row(cb_csv_writer *w)
{
	int error;

	CB_ASSERT_ARG(w);
	if (w->row_fields == 0)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"%s: a csv row needs at least one field", __func__);
	/* A lone empty field would be an empty line, which readers skip. */
	if (w->row_fields == 1 && w->row_bytes == 0 &&
		(error = cb__buf_put(w->out, "\"\"", 2)) != 0)
		return error;
	if (w->crlf)
		error = cb__buf_put(w->out, "\r\n", 2);
	else
		error = cb__buf_putc(w->out, '\n');
	if (error != 0)
		return error;
	w->row_fields = 0;
	w->row_bytes = 0;
	if (w->write && w->pending.size >= CB_CSV_WRITER_FLUSH_BYTES)
		return cb_csv_writer_flush(w);
	return 0;
}

int
cb_csv_writer_row(cb_csv_writer *w, const cb_csv_field *fields, size_t count)
{
	int error;

	CB_ASSERT_ARG(w);
	CB_ASSERT_ARG(fields || count == 0);
	for (size_t i = 0; i < count; i++)
		if ((error = cb_csv_writer_field(
			     w, fields[i].ptr, fields[i].len)) != 0)
			return error;
	return cb_csv_writer_end_row(w);
}

int
cb_csv_writer_flush(cb_csv_writer *w)
{
	int error;

	CB_ASSERT_ARG(w);
	if (w->write == NULL || w->pending.size == 0)
		return 0;
	error = w->write(w->pending.ptr, w->pending.size, w->payload);
	cb__buf_clear(&w->pending);
	return error;
}
