/*
 * bench/money_parse.c - cb_money_parse() throughput on cost-CSV-like
 * fields, against strtod() on the same fields as the reference.
 *
 * strtod is what a parser that gave up exactness would call, so the ratio
 * says what exactness costs.  Fields are the shapes of the partner
 * cost-details CSV (quantities, unit prices, costs with up to 18
 * significant digits, exponent notation), generated from a fixed seed and
 * stored back to back like fields of a read buffer, not NUL-terminated.
 * Standalone on purpose (no bench/ build yet), from the repository root:
 *
 *   cc -O2 -std=c11 -Iinclude -I. bench/money_parse.c core/money.c \
 *      core/errors.c -o /tmp/money_parse && /tmp/money_parse
 */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define FIELDS 1000000 /* ~12 MB of text: well past the caches */
#define ROUNDS 5

static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* One field in the style of the cost CSV; returns its length. */
static int
make_field(char *out, size_t outlen, bool long_form)
{
	uint64_t r = rng();

	if (long_form) /* 20+ digits: the exact slow path */
		return snprintf(out, outlen, "%llu.%018llu",
			(unsigned long long)(r % 100000000000ULL),
			(unsigned long long)(rng() % 1000000000000000000ULL));
	switch (r % 8) {
	case 0: /* quantity */
		return snprintf(out, outlen, "%llu",
			(unsigned long long)(r >> 40) % 1000);
	case 1: /* unit price */
		return snprintf(out, outlen, "0.%04llu",
			(unsigned long long)(r >> 20) % 10000);
	case 2: /* cost, 16-17 significant digits like Azure's */
		return snprintf(out, outlen, "0.%017llu",
			(unsigned long long)(r >> 8) % 100000000000000000ULL);
	case 3: /* exponent notation */
		return snprintf(out, outlen, "%llu.%llue-%02llu",
			(unsigned long long)(r >> 60) % 9 + 1,
			(unsigned long long)(r >> 30) % 100,
			(unsigned long long)(r >> 8) % 9 + 1);
	case 4: /* a credit */
		return snprintf(out, outlen, "-%llu.%02llu",
			(unsigned long long)(r >> 30) % 10000,
			(unsigned long long)(r >> 10) % 100);
	case 5:
		return snprintf(out, outlen, "0");
	case 6: /* statement-sized amount */
		return snprintf(out, outlen, "%llu.%06llu",
			(unsigned long long)(r >> 30) % 10000000,
			(unsigned long long)(r >> 8) % 1000000);
	default: /* effective price, 10 decimals */
		return snprintf(out, outlen, "%llu.%010llu",
			(unsigned long long)(r >> 50) % 100,
			(unsigned long long)(r >> 8) % 10000000000ULL);
	}
}

struct corpus {
	char *text;    /* fields separated by NUL (for strtod); owned */
	size_t *start; /* offset of each field; owned */
	size_t *len;   /* length of each field; owned */
	size_t bytes;  /* text bytes, separators excluded */
};

static void
corpus_make(struct corpus *c, int long_percent)
{
	size_t cap = (size_t)FIELDS * 48, off = 0;

	c->text = malloc(cap);
	c->start = malloc(sizeof(size_t) * FIELDS);
	c->len = malloc(sizeof(size_t) * FIELDS);
	if (!c->text || !c->start || !c->len) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	c->bytes = 0;
	for (size_t i = 0; i < FIELDS; i++) {
		bool long_form = (int)(rng() % 100) < long_percent;
		int n = make_field(c->text + off, cap - off, long_form);

		c->start[i] = off;
		c->len[i] = (size_t)n;
		c->bytes += (size_t)n;
		off += (size_t)n + 1; /* keep snprintf's NUL for strtod */
	}
}

/* CPU time, not wall time: the machines this runs on are shared, and
 * time spent descheduled says nothing about the parser. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Best of ROUNDS, in seconds per pass. */
static double
time_money(const struct corpus *c, uint64_t *sink)
{
	double best = 1e9;

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now();

		for (size_t i = 0; i < FIELDS; i++) {
			cb_money m;

			if (cb_money_parse(&m, c->text + c->start[i],
				    c->len[i]) != 0) {
				fprintf(stderr, "refused: %s\n",
					cb_error_last()->message);
				exit(1);
			}
			*sink += m.lo;
		}
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

static double
time_strtod(const struct corpus *c, double *sink)
{
	double best = 1e9;

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now();

		for (size_t i = 0; i < FIELDS; i++)
			*sink += strtod(c->text + c->start[i], NULL);
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

static void
run(const char *name, int long_percent)
{
	struct corpus c;
	uint64_t sink = 0;
	double dsink = 0, tm, ts;

	corpus_make(&c, long_percent);
	tm = time_money(&c, &sink);
	ts = time_strtod(&c, &dsink);
	printf("%-28s %6.1f M values/s  %5.1f ns/value  %6.0f MB/s   "
	       "strtod %6.1f M/s   ratio %.2fx\n",
		name, FIELDS / tm / 1e6, tm / FIELDS * 1e9, c.bytes / tm / 1e6,
		FIELDS / ts / 1e6, ts / tm);
	/* Keep the results alive. */
	if (sink == 42 && dsink == 42)
		printf("!\n");
	free(c.text);
	free(c.start);
	free(c.len);
}

int
main(void)
{
	printf("cb_money_parse vs strtod, %d fields, best of %d passes "
	       "(CPU time)\n",
		FIELDS, ROUNDS);
	run("cost-csv mix (short)", 0);
	run("mix with 10% 29-digit", 10);
	run("all 29-digit (long path)", 100);
	return 0;
}
