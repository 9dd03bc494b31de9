/*
 * tests/unit/core/test_csv_writer.c - the CSV writer, and round trips
 * through the reader.
 */
#include "core/common.h"
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static cb_csv_field
fz(const char *s)
{
	cb_csv_field f = { s, strlen(s) };

	return f;
}

static void
test_csv_writer_quotes_what_needs_it(void **state)
{
	cb_csv_writer_options o = CB_CSV_WRITER_OPTIONS_INIT;
	cb_buf out = CB_BUF_INIT;
	cb_csv_writer *w = NULL;
	const cb_csv_field row1[] = { fz("plain"), fz("a,b"), fz("say \"hi\""),
		fz("\""), fz("line\nbreak"), fz("cr\rx"), fz("") };
	const cb_csv_field row2[] = { fz(" lead"), fz("trail "), fz("\tx"),
		fz("in side"), fz("\xc3\xa9\xe4\xb8\xad"), { "n\0l", 3 },
		fz("{\"env\":\"prod\"}") };

	(void)state;
	o.out = &out;
	assert_int_equal(0, cb_csv_writer_new(&w, &o));
	assert_int_equal(0, cb_csv_writer_row(w, row1, 7));
	assert_int_equal(0, cb_csv_writer_row(w, row2, 7));
	assert_int_equal(0, cb_csv_writer_flush(w));
	cb_csv_writer_free(w);
	assert_int_equal(114, out.size);
	assert_memory_equal("plain,\"a,b\",\"say \"\"hi\"\"\",\"\"\"\","
			    "\"line\nbreak\",\"cr\rx\",\r\n"
			    "\" lead\",\"trail \",\"\tx\",in side,"
			    "\xc3\xa9\xe4\xb8\xad,n\0l,"
			    "\"{\"\"env\"\":\"\"prod\"\"}\"\r\n",
		out.ptr, out.size);
	cb_buf_dispose(&out);
	cb_csv_writer_free(NULL);
}

static void
test_csv_writer_options(void **state)
{
	cb_csv_writer_options o = CB_CSV_WRITER_OPTIONS_INIT;
	cb_buf out = CB_BUF_INIT;
	cb_csv_writer *w = NULL;

	(void)state;
	o.out = &out;
	o.crlf = false;
	o.delimiter = ';';
	assert_int_equal(0, cb_csv_writer_new(&w, &o));
	assert_int_equal(0, cb_csv_writer_field(w, "a,b", 3));
	assert_int_equal(0, cb_csv_writer_field(w, "c;d", 3));
	assert_int_equal(0, cb_csv_writer_field(w, NULL, 0));
	assert_int_equal(0, cb_csv_writer_end_row(w));
	/* A lone empty field is quoted: an empty line is no row. */
	assert_int_equal(0, cb_csv_writer_field(w, "", 0));
	assert_int_equal(0, cb_csv_writer_end_row(w));
	assert_int_equal(0, cb_csv_writer_field(w, "", 0));
	assert_int_equal(0, cb_csv_writer_field(w, "", 0));
	assert_int_equal(0, cb_csv_writer_end_row(w));
	assert_string_equal("a,b;\"c;d\";\n\"\"\n;\n", out.ptr);
	assert_int_equal(CB_EINVAL, cb_csv_writer_end_row(w));
	assert_string_equal("cb_csv_writer_end_row: a csv row needs at least "
			    "one field",
		cb_error_last()->message);
	assert_int_equal(CB_EINVAL, cb_csv_writer_row(w, NULL, 0));
	assert_int_equal(CB_EINVAL, cb_csv_writer_field(w, NULL, 1));
	cb_csv_writer_free(w);
	cb_buf_dispose(&out);

	/* A byte order mark: written once, first; without the option, a
	 * first field starting with one is quoted so it is not dropped. */
	o.bom = true;
	o.delimiter = '\t';
	assert_int_equal(0, cb_csv_writer_new(&w, &o));
	assert_int_equal(0, cb_csv_writer_field(w, "", 0));
	assert_int_equal(0, cb_csv_writer_end_row(w));
	assert_int_equal(0, cb_csv_writer_field(w, "\xef\xbb\xbfx", 4));
	assert_int_equal(0, cb_csv_writer_field(w, "a,b", 3));
	assert_int_equal(0, cb_csv_writer_end_row(w));
	assert_string_equal("\xef\xbb\xbf\"\"\n\xef\xbb\xbfx\ta,b\n", out.ptr);
	cb_csv_writer_free(w);
	cb_buf_dispose(&out);
	o.bom = false;
	assert_int_equal(0, cb_csv_writer_new(&w, &o));
	assert_int_equal(0, cb_csv_writer_field(w, "\xef\xbb\xbfx", 4));
	assert_int_equal(0, cb_csv_writer_field(w, "\xef\xbb\xbfy", 4));
	assert_int_equal(0, cb_csv_writer_end_row(w));
	assert_string_equal("\"\xef\xbb\xbfx\"\t\xef\xbb\xbfy\n", out.ptr);
	cb_csv_writer_free(w);
	cb_buf_dispose(&out);
}

static int
never_write(const void *data, size_t len, void *payload)
{
	(void)data;
	(void)len;
	(void)payload;
	return -1;
}

static void
test_csv_writer_checks_options(void **state)
{
	cb_csv_writer_options o = CB_CSV_WRITER_OPTIONS_INIT;
	cb_buf out = CB_BUF_INIT;
	cb_csv_writer *w = NULL;

	(void)state;
	assert_int_equal(CB_EINVAL, cb_csv_writer_new(&w, &o));
	assert_string_equal("cb_csv_writer_new: invalid argument: "
			    "(opts->out == NULL) != (opts->write == NULL)",
		cb_error_last()->message);
	o.out = &out;
	o.write = never_write;
	assert_int_equal(CB_EINVAL, cb_csv_writer_new(&w, &o));
	o.write = NULL;
	o.delimiter = '"';
	assert_int_equal(CB_EINVAL, cb_csv_writer_new(&w, &o));
	o.delimiter = '\r';
	assert_int_equal(CB_EINVAL, cb_csv_writer_new(&w, &o));
	o.delimiter = ',';
	o.version = 0;
	assert_int_equal(CB_EINVAL, cb_csv_writer_new(&w, &o));
	assert_int_equal(CB_EINVAL, cb_csv_writer_new(&w, NULL));
	assert_int_equal(CB_EINVAL, cb_csv_writer_new(NULL, &o));
	assert_null(w);
}

struct sink {
	cb_buf got;
	int calls;
	int fail_at; /* return -5 on this call (1-based); 0: never */
};

static int
sink_write(const void *data, size_t len, void *payload)
{
	struct sink *s = payload;

	s->calls++;
	if (s->calls == s->fail_at)
		return cb__error_set(CB_EIO, CB_ERRCLASS_OS, "disk full");
	assert_int_equal(0, cb__buf_put(&s->got, data, len));
	return 0;
}

static void
test_csv_writer_callback_gets_output_in_pieces(void **state)
{
	cb_csv_writer_options o = CB_CSV_WRITER_OPTIONS_INIT;
	struct sink s = { CB_BUF_INIT, 0, 0 };
	cb_csv_writer *w = NULL;
	char field[1000];
	size_t rows = 0;

	(void)state;
	memset(field, 'f', sizeof(field));
	o.write = sink_write;
	o.payload = &s;
	o.crlf = false;
	assert_int_equal(0, cb_csv_writer_new(&w, &o));
	/* Nothing passes until a row ends with 64 KiB pending. */
	while (s.calls == 0) {
		assert_int_equal(0, cb_csv_writer_field(w, field, 100));
		assert_int_equal(0, cb_csv_writer_field(w, field, 899));
		assert_int_equal(0, s.calls);
		assert_int_equal(0, cb_csv_writer_end_row(w));
		rows++;
	}
	assert_int_equal(CB_CSV_WRITER_FLUSH_BYTES / 1001 + 1, rows);
	assert_int_equal(rows * 1001, s.got.size);
	assert_int_equal(0, cb_csv_writer_field(w, "x", 1));
	assert_int_equal(0, cb_csv_writer_end_row(w));
	assert_int_equal(1, s.calls);
	assert_int_equal(0, cb_csv_writer_flush(w));
	assert_int_equal(2, s.calls);
	assert_int_equal(0, cb_csv_writer_flush(w));
	assert_int_equal(2, s.calls);
	assert_memory_equal("f,ff", s.got.ptr + 99, 4);
	assert_memory_equal("\nx\n", s.got.ptr + s.got.size - 3, 3);
	cb_csv_writer_free(w);
	cb_buf_dispose(&s.got);

	/* A failing callback's code comes back. */
	s.calls = 0;
	s.fail_at = 1;
	assert_int_equal(0, cb_csv_writer_new(&w, &o));
	assert_int_equal(0, cb_csv_writer_field(w, "x", 1));
	assert_int_equal(0, cb_csv_writer_end_row(w));
	assert_int_equal(CB_EIO, cb_csv_writer_flush(w));
	assert_string_equal("disk full", cb_error_last()->message);
	/* Unflushed output is dropped by free (leak-checked under ASan). */
	assert_int_equal(0, cb_csv_writer_field(w, "y", 1));
	cb_csv_writer_free(w);
	cb_buf_dispose(&s.got);
}

static void
test_csv_writer_survives_oom(void **state)
{
	cb_csv_writer_options o = CB_CSV_WRITER_OPTIONS_INIT;
	struct sink s = { CB_BUF_INIT, 0, 0 };
	cb_csv_writer *w = NULL;
	unsigned long n;
	int error;

	(void)state;
	o.write = sink_write;
	o.payload = &s;
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb_csv_writer_new(&w, &o);
		for (int i = 0; i < 300 && error == 0; i++) {
			error = cb_csv_writer_field(w, "quoted \"field\"", 14);
			if (error == 0)
				error = cb_csv_writer_field(w, "plain", 5);
			if (error == 0)
				error = cb_csv_writer_end_row(w);
		}
		cb__alloc_fail_after(0);
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_int_equal(CB_ENOMEM, cb_error_last()->code);
		cb_csv_writer_free(w);
		w = NULL;
	}
	assert_true(n > 2);
	assert_int_equal(0, cb_csv_writer_flush(w));
	assert_int_equal(300 * 26, s.got.size);
	cb_csv_writer_free(w);
	cb_buf_dispose(&s.got);
}

/* ---- round trip ---- */

static uint64_t
rng_next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static size_t
rng_below(uint64_t *state, size_t n)
{
	return (size_t)(rng_next(state) % n);
}

#define RT_ROWS 120
#define RT_COLS 6

struct round_trip {
	cb_buf want[RT_ROWS][RT_COLS];
	size_t cols;
	size_t rows_seen;
};

static int
check_row(const cb_csv_row *row, void *payload)
{
	struct round_trip *t = payload;

	assert_true(t->rows_seen < RT_ROWS);
	assert_int_equal(t->cols, row->count);
	for (size_t c = 0; c < row->count; c++) {
		const cb_buf *want = &t->want[t->rows_seen][c];

		assert_int_equal(want->size, row->fields[c].len);
		if (want->size)
			assert_memory_equal(
				want->ptr, row->fields[c].ptr, want->size);
	}
	t->rows_seen++;
	return 0;
}

static void
test_csv_writer_round_trips_through_reader(void **state)
{
	static const char *const pieces[] = { "a", "Z", "0.25", ",", ";", "\t",
		"\"", "\"\"", "\r", "\n", "\r\n", " ", "\xc3\xa9",
		"\xe4\xb8\xad", "\xef\xbb\xbf", "{\"env\":\"prod\"}", "\0" };
	static struct round_trip t;
	uint64_t rng = 1;
	int files = 0;

	(void)state;
	for (int file = 0; file < 150; file++) {
		cb_csv_writer_options wo = CB_CSV_WRITER_OPTIONS_INIT;
		cb_csv_options ro = CB_CSV_OPTIONS_INIT;
		cb_buf out = CB_BUF_INIT;
		cb_csv_writer *w = NULL;
		cb_csv_reader *r = NULL;
		size_t off = 0;

		memset(&t, 0, sizeof(t));
		t.cols = 1 + rng_below(&rng, RT_COLS);
		wo.out = &out;
		wo.crlf = rng_below(&rng, 2);
		wo.bom = rng_below(&rng, 4) == 0;
		wo.delimiter = "\t,;|"[rng_below(&rng, 4)];
		ro.delimiter = wo.delimiter;
		ro.has_header = false;
		assert_int_equal(0, cb_csv_writer_new(&w, &wo));
		for (size_t row = 0; row < RT_ROWS; row++) {
			for (size_t c = 0; c < t.cols; c++) {
				cb_buf *f = &t.want[row][c];
				size_t n = rng_below(&rng, 3) == 0
						   ? 0
						   : rng_below(&rng, 12);

				for (size_t k = 0; k < n; k++) {
					const char *p = pieces[rng_below(&rng,
						sizeof(pieces) /
							sizeof(pieces[0]))];

					assert_int_equal(
						0, cb__buf_put(f, p,
							   *p ? strlen(p) : 1));
				}
				assert_int_equal(0, cb_csv_writer_field(w,
							    f->ptr, f->size));
			}
			assert_int_equal(0, cb_csv_writer_end_row(w));
		}
		assert_int_equal(0, cb_csv_writer_flush(w));
		cb_csv_writer_free(w);

		/* Read back in random pieces, one byte at a time for some. */
		assert_int_equal(0, cb_csv_reader_new(&r, &ro));
		while (off < out.size) {
			size_t n = file % 5 == 0 ? 1 : 1 + rng_below(&rng, 700);

			if (n > out.size - off)
				n = out.size - off;
			if (cb_csv_feed(r, out.ptr + off, n, check_row, &t) !=
				0)
				fail_msg("file %d: %s", file,
					cb_error_last()->message);
			off += n;
		}
		assert_int_equal(0, cb_csv_finish(r, check_row, &t));
		assert_int_equal(RT_ROWS, t.rows_seen);
		cb_csv_reader_free(r);
		cb_buf_dispose(&out);
		for (size_t row = 0; row < RT_ROWS; row++)
			for (size_t c = 0; c < RT_COLS; c++)
				cb_buf_dispose(&t.want[row][c]);
		files++;
	}
	assert_int_equal(150, files);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_writer_quotes_what_needs_it),
		cmocka_unit_test(test_csv_writer_options),
		cmocka_unit_test(test_csv_writer_checks_options),
		cmocka_unit_test(
			test_csv_writer_callback_gets_output_in_pieces),
		cmocka_unit_test(test_csv_writer_survives_oom),
		cmocka_unit_test(test_csv_writer_round_trips_through_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
