/*
 * bench/cost_parse.c - how fast a cost file is read and typed: the
 * streaming CSV reader plus cb__costfile_row() for every row (amounts to
 * cb_money, dates, flags, tags and additionalInfo checked as JSON, text
 * checked as UTF-8), the work `chargeback ingest` does before the store.
 *
 * Reads FILE into memory once (so the disk is not measured), then, for
 * each of --iterations runs, feeds it to a cb_csv_reader in --chunk sized
 * pieces (1 MiB by default, an HTTP body's pace) and types every row.
 * Prints the best and median MB/s (10^6 bytes per second) and rows/s, and
 * as a reference measured in the same run the reader alone (a callback
 * that only counts rows), so the cost of typing shows as a ratio.
 *
 *   armsim gen-costs --rows 1000000 --out /tmp/cost1m.csv
 *   cost_parse [--iterations N] [--chunk BYTES] /tmp/cost1m.csv
 *
 * Exits 1 if any row fails to type (the message names the place).
 *
 * Measured (release preset, one core of a 2-core AMD EPYC VM, the 1 M-row
 * 1061 MB file of `armsim gen-costs --rows 1000000`): reader + typing
 * 1028 MB/s (968,000 rows/s), the reader alone 1751 MB/s, and
 * bench/csv_parse --file on the same file 1752 MB/s; issue 5's target
 * for the parse is 400 MB/s.
 */
#define _POSIX_C_SOURCE 200809L

#include "core/common.h"

#include "tenants/costfile.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct run {
	cb_csv_reader *reader;
	cb__costfile *cf;
	bool typed; /* type rows, or only count them */
	uint64_t rows;
	uint64_t check; /* a sum over typed values, so none is optimised
			 * away */
};

static int
on_row(const cb_csv_row *row, void *payload)
{
	struct run *r = payload;
	cb_cost_row out;
	int error;

	if (r->rows++ == 0 && r->typed &&
		(error = cb__costfile_header(r->cf, r->reader)) != 0)
		return error;
	if (!r->typed)
		return 0;
	if ((error = cb__costfile_row(r->cf, row, &out)) != 0)
		return error;
	r->check += (uint64_t)out.date + out.amounts[CB_COST_COST_BILLING].lo +
		    out.tags.len + out.text[CB_COST_SUBSCRIPTION_ID].len;
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
parse_once(const char *data, size_t len, size_t chunk, struct run *r)
{
	cb_csv_options o = CB_CSV_OPTIONS_INIT;
	int error;

	o.source = "bench.csv";
	r->rows = 0;
	if ((error = cb_csv_reader_new(&r->reader, &o)) != 0)
		return error;
	if ((error = cb__costfile_new(&r->cf, "bench.csv", 0)) != 0) {
		cb_csv_reader_free(r->reader);
		return error;
	}
	for (size_t off = 0; off < len && error == 0; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		error = cb_csv_feed(r->reader, data + off, n, on_row, r);
	}
	if (error == 0)
		error = cb_csv_finish(r->reader, on_row, r);
	cb__costfile_free(r->cf);
	cb_csv_reader_free(r->reader);
	return error;
}

/* Runs one mode iterations times; fills best and median seconds. */
static int
measure(const char *data, size_t len, size_t chunk, int iterations, bool typed,
	double *best, double *median, uint64_t *rows)
{
	double *times = calloc((size_t)iterations, sizeof(*times));

	if (times == NULL)
		return 1;
	for (int it = 0; it < iterations; it++) {
		struct run r = { 0 };
		double t0 = now();
		int error;

		r.typed = typed;
		error = parse_once(data, len, chunk, &r);
		times[it] = now() - t0;
		if (error != 0) {
			fprintf(stderr, "cost_parse: %s\n",
				cb_error_last()->message);
			free(times);
			return 1;
		}
		*rows = r.rows;
	}
	qsort(times, (size_t)iterations, sizeof(*times), cmp_double);
	*best = times[0];
	*median = times[iterations / 2];
	free(times);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: cost_parse [--iterations N] [--chunk BYTES] "
			"FILE\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	size_t chunk = (size_t)1 << 20, len = 0, cap = 0;
	int iterations = 5;
	const char *file = NULL;
	char *data = NULL;
	double best, median, rbest, rmedian;
	uint64_t rows = 0, rrows = 0;
	ssize_t n;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
			iterations = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc)
			chunk = strtoul(argv[++i], NULL, 10);
		else if (argv[i][0] != '-' && file == NULL)
			file = argv[i];
		else
			usage();
	}
	if (file == NULL || iterations < 1 || chunk < 1)
		usage();
	if ((fd = open(file, O_RDONLY)) < 0) {
		perror(file);
		return 1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : (size_t)1 << 24;
			if ((data = realloc(data, cap)) == NULL) {
				fprintf(stderr, "cost_parse: out of memory\n");
				return 1;
			}
		}
		if ((n = read(fd, data + len, cap - len)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (n < 0) {
		perror(file);
		return 1;
	}

	if (measure(data, len, chunk, iterations, false, &rbest, &rmedian,
		    &rrows) != 0 ||
		measure(data, len, chunk, iterations, true, &best, &median,
			&rows) != 0)
		return 1;
	printf("input %.1f MB, %" PRIu64 " rows, chunk %zu bytes, "
	       "%d iterations\n",
		(double)len / 1e6, rows, chunk, iterations);
	printf("reader + cb__costfile_row: best %.0f MB/s (%.0f rows/s), "
	       "median %.0f MB/s\n",
		(double)len / 1e6 / best, (double)rows / best,
		(double)len / 1e6 / median);
	printf("reader alone (reference):  best %.0f MB/s (%.0f rows/s), "
	       "median %.0f MB/s; typing costs %.2fx\n",
		(double)len / 1e6 / rbest, (double)rrows / rbest,
		(double)len / 1e6 / rmedian, best / rbest);
	free(data);
	return 0;
}
