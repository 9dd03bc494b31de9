/*
 * include/chargeback/csv.h - a streaming RFC 4180 CSV reader and writer.
 *
 * Cost-details files are 1-2 GB of 70-column rows arriving as HTTP body
 * chunks of arbitrary size, so the reader is push-driven: hand it bytes as
 * they arrive (cb_csv_feed), and it calls back once per complete row.  Its
 * memory is bounded by the longest row, not by the file or the chunk size,
 * and a row never depends on how the input was cut: feeding one byte at a
 * time gives the same rows and the same errors as feeding the whole file.
 *
 * What the reader accepts (RFC 4180, plus what real producers do):
 *  - fields separated by the delimiter (default ','), rows ended by LF or
 *    CRLF; the last row may lack a line end;
 *  - quoted fields, holding delimiters, CR, LF and doubled quotes ("");
 *  - an optional UTF-8 byte order mark at the very start, dropped;
 *  - an empty line (nothing before its line end) is not a row: it is
 *    skipped but counted in line numbers.  RFC 4180 would read it as one
 *    empty field, but no producer we read writes one on purpose, and a
 *    stray blank line must not fail a 70-column field count.  A row of one
 *    empty field must be written as "" (cb_csv_writer does so).
 * What it refuses, with a "SOURCE:LINE:COLUMN: what" message (CB_EPARSE,
 * CB_ERRCLASS_CSV): a quote inside an unquoted field, anything but a
 * delimiter or line end after a closing quote, a CR not followed by LF
 * outside quotes, a quoted field still open at the end of input (reported
 * where its quote opened), and a row whose field count differs from the
 * header's (or, without a header, from the first row's).  Lines are
 * physical lines counting from 1 (a line end inside a quoted field starts
 * a new one); columns are bytes counting from 1, the byte order mark not
 * included.
 *
 * Memory: a 64 KiB input window, grown only for a row longer than half of
 * it and then to at most max_row_bytes + 3 bytes, plus one cb_csv_field
 * per field of the widest row.  Nothing is allocated per row or field.
 */
#ifndef CHARGEBACK_CSV_H
#define CHARGEBACK_CSV_H

#include "chargeback/common.h"
#include "chargeback/buf.h"

CB_BEGIN_DECL

/**
 * Default cap on one row, in bytes: the row's raw text, quotes and
 * delimiters included, its line end not.  Azure cost-details rows are 1-4
 * KB (70 columns; the longest fields are resource ids and the tags and
 * additionalInfo JSON); 1 MiB is hundreds of times that, yet small enough
 * that a broken file (an unterminated quote swallowing the rest of a 2 GB
 * body) fails after 1 MiB instead of buffering gigabytes.
 */
#define CB_CSV_MAX_ROW_BYTES_DEFAULT ((size_t)1 << 20)

/** Largest max_row_bytes accepted: 1 GiB, the library's cb_buf cap. */
#define CB_CSV_MAX_ROW_BYTES_LIMIT ((size_t)1 << 30)

/** A reader (opaque).  Not thread-safe: one thread at a time. */
typedef struct cb_csv_reader cb_csv_reader;

/** The current version of cb_csv_options. */
#define CB_CSV_OPTIONS_VERSION 1

/** Reader options.  Start from CB_CSV_OPTIONS_INIT. */
typedef struct {
	int version;          /**< CB_CSV_OPTIONS_VERSION */
	const char *source;   /**< name used in messages, e.g. a file name
			       * or a URL; copied up to its first '?' or
			       * '#' (a SAS signature never reaches a
			       * message), at most 256 bytes; NULL: "csv" */
	char delimiter;       /**< field separator; not '"', CR or LF */
	bool has_header;      /**< the first row names the columns */
	size_t max_row_bytes; /**< cap on one row's raw bytes, line end
			       * excluded; 1..CB_CSV_MAX_ROW_BYTES_LIMIT */
} cb_csv_options;

#define CB_CSV_OPTIONS_INIT                              \
	{                                                \
		CB_CSV_OPTIONS_VERSION, NULL, ',', true, \
			CB_CSV_MAX_ROW_BYTES_DEFAULT     \
	}

/** One field of a row: its content, quotes removed and "" undone. */
typedef struct {
	const char *ptr; /**< borrowed; also NUL-terminated (ptr[len] is 0),
			  * though the content itself may hold NUL bytes */
	size_t len;      /**< bytes */
} cb_csv_field;

/** A row, as handed to a cb_csv_row_cb. */
typedef struct {
	const cb_csv_field *fields; /**< count fields; borrowed */
	size_t count;               /**< number of fields, >= 1 */
	uint64_t line;              /**< physical line the row starts on */
} cb_csv_row;

/**
 * Receives each data row (never the header row).  @p row and every byte it
 * points to are borrowed: valid only until the callback returns.  It may
 * call the cb_csv_column_* functions, but must not feed, finish or free
 * the reader.  Return 0 to go on; any other value stops parsing and is
 * returned by the cb_csv_* call that invoked the callback (set the last
 * error first if it is a negative cb_error_code).
 */
typedef int (*cb_csv_row_cb)(const cb_csv_row *row, void *payload);

/** Where a reader's input went wrong (see cb_csv_reader_error()). */
typedef struct {
	int code;           /**< CB_EPARSE or CB_ETOOBIG */
	const char *source; /**< borrowed: valid until the reader is freed */
	uint64_t line;      /**< 1-based physical line */
	uint64_t column;    /**< 1-based byte column, or 0 when the error
			     * concerns the whole row */
} cb_csv_parse_error;

/**
 * Create a reader.
 *
 * @param[out] out  receives the reader; the caller owns it and releases it
 *                  with cb_csv_reader_free().  Untouched on failure.
 * @param opts      options, or NULL for CB_CSV_OPTIONS_INIT; copied.
 * @return 0, CB_EINVAL for bad options, or CB_ENOMEM.
 */
CB_EXTERN(int)
cb_csv_reader_new(cb_csv_reader **out, const cb_csv_options *opts);

/** Release a reader.  Passing NULL is a no-op. */
CB_EXTERN(void) cb_csv_reader_free(cb_csv_reader *reader);

/**
 * Push the next @p len bytes of input (any size, 0 included).  Every row
 * completed by these bytes is passed to @p cb, in order, before this
 * returns; a row cut by the end of @p data is kept and completed by later
 * calls.  @p data is borrowed for the call only.  @p cb may be NULL: rows
 * are then checked and counted but not delivered.
 *
 * After any failure the reader is stopped: later feed and finish calls
 * return the same code again (with the same message for library errors).
 * After cb_csv_finish() they return CB_EINVAL.
 *
 * @return 0, CB_EPARSE for malformed input, CB_ETOOBIG for a row over
 *         max_row_bytes, CB_ENOMEM, or the callback's non-zero value.
 */
CB_EXTERN(int)
cb_csv_feed(cb_csv_reader *reader, const void *data, size_t len,
	cb_csv_row_cb cb, void *payload);

/**
 * End of input: deliver a last row that lacks a line end, and check that
 * no quoted field is left open and, when has_header is set, that there was
 * a header row.  Call once, after the last cb_csv_feed().
 *
 * @return as cb_csv_feed().
 */
CB_EXTERN(int)
cb_csv_finish(cb_csv_reader *reader, cb_csv_row_cb cb, void *payload);

/**
 * Read file descriptor @p fd to its end (retrying on EINTR), feeding every
 * byte, then finish.  The descriptor is not closed.
 *
 * @return as cb_csv_feed(), or CB_EIO if read() fails.
 */
CB_EXTERN(int)
cb_csv_read_fd(cb_csv_reader *reader, int fd, cb_csv_row_cb cb, void *payload);

/**
 * Number of columns named by the header row; 0 until it has been read, or
 * without has_header.
 */
CB_EXTERN(size_t) cb_csv_column_count(const cb_csv_reader *reader);

/**
 * Name of column @p i (0-based) as the header wrote it, without quotes or
 * byte order mark; NULL if @p i is out of range.  Borrowed: valid until
 * cb_csv_reader_free().
 */
CB_EXTERN(const char *)
cb_csv_column_name(const cb_csv_reader *reader, size_t i);

/**
 * Index of the column named @p name, compared ignoring ASCII case
 * ("costinbillingcurrency" finds "costInBillingCurrency"); -1 if there is
 * no such column or no header yet.  Logarithmic in the column count.
 */
CB_EXTERN(long)
cb_csv_column_index(const cb_csv_reader *reader, const char *name);

/** Number of data rows read so far (header excluded). */
CB_EXTERN(uint64_t) cb_csv_reader_row_count(const cb_csv_reader *reader);

/**
 * Where the reader's input was found malformed or too big.  Fills @p out
 * (caller-owned; its source string is borrowed from the reader) and
 * returns 1 if the reader stopped on CB_EPARSE or CB_ETOOBIG; otherwise
 * zeroes @p out and returns 0.
 */
CB_EXTERN(int)
cb_csv_reader_error(const cb_csv_reader *reader, cb_csv_parse_error *out);

/** A writer (opaque).  Not thread-safe: one thread at a time. */
typedef struct cb_csv_writer cb_csv_writer;

/**
 * Receives the writer's output in pieces (at most a row past
 * CB_CSV_WRITER_FLUSH_BYTES each).  @p data is borrowed for the call.
 * Return 0, or a non-zero value that the writer call returns.
 */
typedef int (*cb_csv_write_cb)(const void *data, size_t len, void *payload);

/**
 * A writer holding output for a callback passes it on once this much is
 * pending: large enough that a write is a few hundred rows, small enough
 * to stay in cache.
 */
#define CB_CSV_WRITER_FLUSH_BYTES ((size_t)64 * 1024)

/** The current version of cb_csv_writer_options. */
#define CB_CSV_WRITER_OPTIONS_VERSION 1

/**
 * Writer options.  Start from CB_CSV_WRITER_OPTIONS_INIT and set exactly
 * one destination: @p out, or @p write.
 */
typedef struct {
	int version;    /**< CB_CSV_WRITER_OPTIONS_VERSION */
	char delimiter; /**< field separator; not '"', CR or LF */
	bool crlf;      /**< end rows with CRLF (RFC 4180) instead of LF */
	bool bom;       /**< start the output with a UTF-8 byte order mark */
	cb_buf *out;    /**< append output here; borrowed: must outlive the
			 * writer */
	cb_csv_write_cb write; /**< or pass output to this callback */
	void *payload;         /**< passed to @p write */
} cb_csv_writer_options;

#define CB_CSV_WRITER_OPTIONS_INIT                                           \
	{                                                                    \
		CB_CSV_WRITER_OPTIONS_VERSION, ',', true, false, NULL, NULL, \
			NULL                                                 \
	}

/**
 * Create a writer.  A field is quoted when it holds the delimiter, a quote,
 * CR or LF, begins or ends with a space or tab, is the only and empty field
 * of its row, or (without a byte order mark) is the file's first field and
 * begins with one; quotes inside are doubled.  Whatever the content, the
 * reader reads back exactly the bytes written.  After a failed call the
 * output ends in a partial row: discard it and the writer.
 *
 * @param[out] out  receives the writer; the caller owns it and releases it
 *                  with cb_csv_writer_free().  Untouched on failure.
 * @param opts      options; copied (the destination is borrowed).
 * @return 0, CB_EINVAL for bad options, or CB_ENOMEM.
 */
CB_EXTERN(int)
cb_csv_writer_new(cb_csv_writer **out, const cb_csv_writer_options *opts);

/**
 * Release a writer.  Output still pending for a callback is dropped: call
 * cb_csv_writer_flush() first.  Passing NULL is a no-op.
 */
CB_EXTERN(void) cb_csv_writer_free(cb_csv_writer *writer);

/**
 * Append one field of @p len bytes (any bytes, NUL included) to the
 * current row; copied.
 * @return 0, CB_ENOMEM, CB_ETOOBIG past the cb_buf cap, or the write
 *         callback's non-zero value.
 */
CB_EXTERN(int)
cb_csv_writer_field(cb_csv_writer *writer, const char *data, size_t len);

/**
 * End the current row.  A row needs at least one field.
 * @return 0, CB_EINVAL for a row without fields, or as
 *         cb_csv_writer_field().
 */
CB_EXTERN(int) cb_csv_writer_end_row(cb_csv_writer *writer);

/**
 * Write a whole row: @p count fields (at least one), then the line end.
 * @return as cb_csv_writer_end_row().
 */
CB_EXTERN(int)
cb_csv_writer_row(
	cb_csv_writer *writer, const cb_csv_field *fields, size_t count);

/**
 * Pass all pending output to the write callback (no-op when writing to a
 * cb_buf).
 * @return 0, or the callback's non-zero value.
 */
CB_EXTERN(int) cb_csv_writer_flush(cb_csv_writer *writer);

CB_END_DECL

#endif
