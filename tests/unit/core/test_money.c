/*
 * tests/unit/core/test_money.c - exact decimal money.
 *
 * Three kinds of evidence: hand-written cases at every boundary (exact
 * text, exact error messages); PostgreSQL's numeric as an oracle for
 * parsing, products, quotients and rounding (tests/data/money/
 * pg-oracle.tsv, made by generate.sql next to it); and seeded random
 * properties checked with this file's own big-integer code (32-bit limbs,
 * schoolbook), which shares nothing with core/money.c's 128-bit
 * arithmetic.
 */
#include "core/common.h"
#include "tests/support/testsupport.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#define MAX_TEXT "170141183460469231731.687303715884105727"
#define MIN_TEXT "-170141183460469231731.687303715884105728"

/* ---- helpers ----------------------------------------------------------- */

/* Fail with the error's name and message, not just a number. */
#define assert_ok(expr)                                                   \
	do {                                                              \
		int rc_ = (expr);                                         \
		if (rc_ != 0)                                             \
			fail_msg("%s: %s: %s", #expr, cb_error_name(rc_), \
				cb_error_last()->message);                \
	} while (0)

#define assert_error(want_code, want_message, expr)                            \
	do {                                                                   \
		int rc_ = (expr);                                              \
		if (rc_ != (want_code))                                        \
			fail_msg("%s: expected %s, got %s (%s)", #expr,        \
				cb_error_name(want_code), cb_error_name(rc_),  \
				cb_error_last()->message);                     \
		assert_string_equal((want_message), cb_error_last()->message); \
	} while (0)

static cb_money
M(const char *text)
{
	cb_money m;

	assert_ok(cb_money_parse(&m, text, strlen(text)));
	return m;
}

/* Shortest text, in one of a few rotating buffers. */
static const char *
S(cb_money m)
{
	static char bufs[8][CB_MONEY_STR_MAX];
	static unsigned next;
	char *b = bufs[next++ % 8];

	assert_ok(cb_money_format(b, CB_MONEY_STR_MAX, m));
	return b;
}

static void
assert_money_equal(cb_money expected, cb_money actual)
{
	if (cb_money_cmp(expected, actual) != 0 ||
		memcmp(&expected, &actual, sizeof(expected)) != 0)
		fail_msg("expected %s, got %s", S(expected), S(actual));
}

#define assert_money_text(text, m) assert_string_equal((text), S(m))

/* xorshift64*: fixed seed, same sequence on every machine. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* A random amount, magnitudes spread over all bit lengths. */
static cb_money
rng_money(void)
{
	cb_money m = { rng(), (int64_t)rng() };
	unsigned shift = (unsigned)(rng() % 128);

	/* Arithmetic shift of the 128-bit value right by `shift`. */
	if (shift >= 64) {
		m.lo = (uint64_t)(m.hi >> (shift - 64));
		m.hi = m.hi < 0 ? -1 : 0;
	} else if (shift > 0) {
		m.lo = (m.lo >> shift) | ((uint64_t)m.hi << (64 - shift));
		m.hi >>= shift;
	}
	return m;
}

__extension__ typedef unsigned __int128 t_u128;

/*
 * A non-negative amount whose bits are a run of ones, one more than such
 * a run, a power of two plus 0-2, or a run with random low bits: the
 * shapes that make a long division's quotient-digit estimate too large
 * (uniformly random operands almost never do).
 */
static cb_money
rng_structured(void)
{
	unsigned hi = (unsigned)(rng() % 127),
		 lo = (unsigned)(rng() % (hi + 1));
	t_u128 v = 0;
	cb_money m;

	for (unsigned k = lo; k <= hi; k++)
		v |= (t_u128)1 << k;
	switch (rng() % 4) {
	case 1:
		v += 1;
		break;
	case 2:
		v ^= rng() & 0xffff;
		break;
	case 3:
		v = ((t_u128)1 << hi) + rng() % 3;
		break;
	default:
		break;
	}
	m.lo = (uint64_t)v;
	m.hi = (int64_t)(uint64_t)(v >> 64);
	return m;
}

/* Either kind, and either sign. */
static cb_money
rng_any(void)
{
	cb_money m = rng() % 2 ? rng_money() : rng_structured();

	if (rng() % 2 && m.hi >= 0 && cb_money_neg(&m, m) != 0)
		m = CB_MONEY_ZERO;
	return m;
}

/*
 * Test-side big integers: sign and magnitude, 10 little-endian 32-bit
 * limbs (320 bits; the largest value built here is 2 x 2^254).
 */
#define BIG_LIMBS 10

struct big {
	uint32_t l[BIG_LIMBS];
	int neg; /* 1 if negative; zero is never negative */
};

static struct big
big_norm(struct big a)
{
	int zero = 1;

	for (int i = 0; i < BIG_LIMBS; i++)
		if (a.l[i])
			zero = 0;
	if (zero)
		a.neg = 0;
	return a;
}

static struct big
big_u64(uint64_t v)
{
	struct big r = { { 0 }, 0 };

	r.l[0] = (uint32_t)v;
	r.l[1] = (uint32_t)(v >> 32);
	return r;
}

/* The integer N of an amount (N x 10^-18), from its two halves. */
static struct big
big_money(cb_money m)
{
	struct big r = { { 0 }, 0 };
	uint32_t w[4] = { (uint32_t)m.lo, (uint32_t)(m.lo >> 32),
		(uint32_t)(uint64_t)m.hi, (uint32_t)((uint64_t)m.hi >> 32) };

	if (m.hi < 0) { /* two's complement: invert and add one */
		uint64_t carry = 1;

		for (int i = 0; i < 4; i++) {
			uint64_t s = (uint64_t)(uint32_t)~w[i] + carry;

			w[i] = (uint32_t)s;
			carry = s >> 32;
		}
		r.neg = 1;
	}
	memcpy(r.l, w, sizeof(w));
	return big_norm(r);
}

static int
big_cmp_mag(const struct big *a, const struct big *b)
{
	for (int i = BIG_LIMBS - 1; i >= 0; i--)
		if (a->l[i] != b->l[i])
			return a->l[i] < b->l[i] ? -1 : 1;
	return 0;
}

static int
big_cmp(struct big a, struct big b)
{
	if (a.neg != b.neg)
		return a.neg ? -1 : 1;
	return a.neg ? -big_cmp_mag(&a, &b) : big_cmp_mag(&a, &b);
}

static struct big
big_add(struct big a, struct big b)
{
	struct big r = { { 0 }, 0 };

	if (a.neg == b.neg) {
		uint64_t carry = 0;

		for (int i = 0; i < BIG_LIMBS; i++) {
			uint64_t s = (uint64_t)a.l[i] + b.l[i] + carry;

			r.l[i] = (uint32_t)s;
			carry = s >> 32;
		}
		assert_int_equal(0, carry);
		r.neg = a.neg;
	} else {
		const struct big *x = &a, *y = &b;
		int64_t borrow = 0;

		if (big_cmp_mag(&a, &b) < 0) {
			x = &b;
			y = &a;
		}
		for (int i = 0; i < BIG_LIMBS; i++) {
			int64_t d = (int64_t)x->l[i] - y->l[i] - borrow;

			borrow = d < 0;
			r.l[i] = (uint32_t)(d + (borrow << 32));
		}
		r.neg = x->neg;
	}
	return big_norm(r);
}

static struct big
big_neg(struct big a)
{
	a.neg = !a.neg;
	return big_norm(a);
}

static struct big
big_sub(struct big a, struct big b)
{
	return big_add(a, big_neg(b));
}

static struct big
big_mul(struct big a, struct big b)
{
	struct big r = { { 0 }, 0 };

	for (int i = 0; i < BIG_LIMBS; i++) {
		uint64_t carry = 0;

		for (int j = 0; i + j < BIG_LIMBS; j++) {
			uint64_t t =
				(uint64_t)a.l[i] * b.l[j] + r.l[i + j] + carry;

			r.l[i + j] = (uint32_t)t;
			carry = t >> 32;
		}
	}
	r.neg = a.neg != b.neg;
	return big_norm(r);
}

static struct big
big_abs(struct big a)
{
	a.neg = 0;
	return a;
}

static struct big
big_pow10(unsigned k)
{
	struct big r = big_u64(1), ten = big_u64(10);

	while (k--)
		r = big_mul(r, ten);
	return r;
}

/* a / d in place; returns the remainder. */
static uint32_t
big_divmod_u32(struct big *a, uint32_t d)
{
	uint64_t r = 0;

	for (int i = BIG_LIMBS - 1; i >= 0; i--) {
		uint64_t cur = (r << 32) | a->l[i];

		a->l[i] = (uint32_t)(cur / d);
		r = cur % d;
	}
	*a = big_norm(*a);
	return (uint32_t)r;
}

static int
big_is_zero(struct big a)
{
	return big_cmp(a, big_u64(0)) == 0;
}

/* ---- parsing ----------------------------------------------------------- */

static void
test_money_parse_accepts_every_form(void **state)
{
	static const struct {
		const char *text, *expected;
	} cases[] = {
		{ "12", "12" },
		{ "-0.5", "-0.5" },
		{ "+3.25", "3.25" },
		{ ".5", "0.5" },
		{ "-.5", "-0.5" },
		{ "5.", "5" },
		{ "1e3", "1000" },
		{ "1E3", "1000" },
		{ "3.6E-05", "0.000036" },
		{ "-1.2345E+02", "-123.45" },
		{ "1.5e+0", "1.5" },
		{ "+.5e1", "5" },
		{ "007", "7" },
		{ "0.10", "0.1" },
		{ "1000", "1000" },
		{ "0", "0" },
		{ "0.0", "0" },
		{ "000.000", "0" },
		{ "0e5", "0" },
		{ "12345678.9", "12345678.9" },
		{ "0.009865586851323632", "0.009865586851323632" },
		{ "0.14384913581657052", "0.14384913581657052" },
		{ "1234567890.123456789", "1234567890.123456789" },
		{ "12345678901234567890.123456789012345678",
			"12345678901234567890.123456789012345678" },
		{ "0.00000000000000000000000000001e29", "1" },
		{ "123456789e-18", "0.000000000123456789" },
		{ "1e-18", "0.000000000000000001" },
		{ "1e20", "100000000000000000000" },
		{ "0.1e21", "100000000000000000000" },
		{ "00000000000000000000000000000000000001.5", "1.5" },
		{ "100000000000000000000.000000000000000001",
			"100000000000000000000.000000000000000001" },
	};

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		cb_money m;
		int rc = cb_money_parse(
			&m, cases[i].text, strlen(cases[i].text));

		if (rc != 0)
			fail_msg("'%s': %s", cases[i].text,
				cb_error_last()->message);
		if (strcmp(cases[i].expected, S(m)) != 0)
			fail_msg("'%s': expected %s, got %s", cases[i].text,
				cases[i].expected, S(m));
	}
}

static void
test_money_parse_refuses_with_exact_message(void **state)
{
	static const struct {
		const char *text;
		int code;
		const char *message;
	} cases[] = {
		{ "", CB_EPARSE, "'' is not a decimal" },
		{ " 1", CB_EPARSE, "' 1' is not a decimal" },
		{ "1 ", CB_EPARSE, "'1 ' is not a decimal" },
		{ "1 000", CB_EPARSE, "'1 000' is not a decimal" },
		{ "1,5", CB_EPARSE, "'1,5' is not a decimal" },
		{ "1_000", CB_EPARSE, "'1_000' is not a decimal" },
		{ "12.3.4", CB_EPARSE, "'12.3.4' is not a decimal" },
		{ "1.2.3", CB_EPARSE, "'1.2.3' is not a decimal" },
		{ "1e", CB_EPARSE, "'1e' is not a decimal" },
		{ "1e+", CB_EPARSE, "'1e+' is not a decimal" },
		{ "1e-", CB_EPARSE, "'1e-' is not a decimal" },
		{ "1e1.5", CB_EPARSE, "'1e1.5' is not a decimal" },
		{ "1e1e1", CB_EPARSE, "'1e1e1' is not a decimal" },
		{ "e5", CB_EPARSE, "'e5' is not a decimal" },
		{ ".e5", CB_EPARSE, "'.e5' is not a decimal" },
		{ "--1", CB_EPARSE, "'--1' is not a decimal" },
		{ "+-1", CB_EPARSE, "'+-1' is not a decimal" },
		{ "-", CB_EPARSE, "'-' is not a decimal" },
		{ "+", CB_EPARSE, "'+' is not a decimal" },
		{ ".", CB_EPARSE, "'.' is not a decimal" },
		{ "-.", CB_EPARSE, "'-.' is not a decimal" },
		{ "0x10", CB_EPARSE, "'0x10' is not a decimal" },
		{ "inf", CB_EPARSE, "'inf' is not a decimal" },
		{ "-Infinity", CB_EPARSE, "'-Infinity' is not a decimal" },
		{ "nan", CB_EPARSE, "'nan' is not a decimal" },
		{ "NaN", CB_EPARSE, "'NaN' is not a decimal" },
		{ "\"1\"", CB_EPARSE, "'\"1\"' is not a decimal" },
		{ "1\n", CB_EPARSE, "'1?' is not a decimal" },
		{ "$5", CB_EPARSE, "'$5' is not a decimal" },
		{ "1e40", CB_EOVERFLOW, "'1e40' is out of range" },
		{ "1e21", CB_EOVERFLOW, "'1e21' is out of range" },
		{ "-1e21", CB_EOVERFLOW, "'-1e21' is out of range" },
		{ "1e99999999999999999999999", CB_EOVERFLOW,
			"'1e99999999999999999999999' is out of range" },
		{ "123456789012345678901234567890", CB_EOVERFLOW,
			"'123456789012345678901234567890' is out of range" },
		/* Significands that wrap 2^128 into range if unchecked:
		 * 3 x 2^128 (40 digits) and 2^128 + 5 (39 digits). */
		{ "1020847100762815390390.123822295304634368", CB_EOVERFLOW,
			"'1020847100762815390390.123822295304634368' is out of "
			"range" },
		{ "-340282366920938463463.374607431768211461", CB_EOVERFLOW,
			"'-340282366920938463463.374607431768211461' is out of "
			"range" },
		/* 40 significant digits, the last at the 18th place. */
		{ "1234567890123456789012.123456789012345678", CB_EOVERFLOW,
			"'1234567890123456789012.123456789012345678' is out of "
			"range" },
		{ "1e-19", CB_EPARSE,
			"'1e-19' has more than 18 decimal places" },
		{ "0.0000000000000000001", CB_EPARSE,
			"'0.0000000000000000001' has more than 18 decimal "
			"places" },
		{ "1.0000000000000000001", CB_EPARSE,
			"'1.0000000000000000001' has more than 18 decimal "
			"places" },
		{ "123.456e-17", CB_EPARSE,
			"'123.456e-17' has more than 18 decimal places" },
		{ "1e-99999999999999999999999", CB_EPARSE,
			"'1e-99999999999999999999999' has more than 18 decimal "
			"places" },
		/* Both too large and too precise: precision is reported. */
		{ "1000000000000000000000.0000000000000000001", CB_EPARSE,
			"'1000000000000000000000.0000000000000000001' has more "
			"than 18 decimal places" },
	};

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		cb_money m = M("42");
		int rc = cb_money_parse(
			&m, cases[i].text, strlen(cases[i].text));

		if (rc != cases[i].code)
			fail_msg("'%s': expected %s, got %s", cases[i].text,
				cb_error_name(cases[i].code),
				cb_error_name(rc));
		assert_string_equal(cases[i].message, cb_error_last()->message);
		assert_int_equal(CB_ERRCLASS_MONEY, cb_error_last()->klass);
		/* out is untouched on failure */
		assert_money_text("42", m);
	}
}

static void
test_money_parse_boundaries(void **state)
{
	cb_money m;

	(void)state;
	assert_money_equal(CB_MONEY_MAX, M(MAX_TEXT));
	assert_money_equal(CB_MONEY_MIN, M(MIN_TEXT));
	assert_money_equal(CB_MONEY_MAX, M("+" MAX_TEXT "000e0"));
	assert_money_equal(CB_MONEY_MIN, M("-1701411834604692317316873037158841"
					   "05728e-18"));
	assert_error(CB_EOVERFLOW,
		"'170141183460469231731.687303715884105728' is out of range",
		cb_money_parse(
			&m, "170141183460469231731.687303715884105728", 40));
	assert_error(CB_EOVERFLOW,
		"'-170141183460469231731.687303715884105729' is out of range",
		cb_money_parse(
			&m, "-170141183460469231731.687303715884105729", 41));
	assert_error(CB_EOVERFLOW, "'170141183460469231732' is out of range",
		cb_money_parse(&m, "170141183460469231732", 21));
	assert_money_text("170141183460469231731", M("170141183460469231731"));
	assert_money_text(
		"-170141183460469231731", M("-170141183460469231731"));

	/* 18 decimals, trailing zeros beyond, the 19th non-zero digit. */
	m = M("0.000000000000000001");
	assert_int_equal(1, m.lo);
	assert_int_equal(0, m.hi);
	m = M("-0.000000000000000001");
	assert_int_equal(UINT64_MAX, m.lo);
	assert_int_equal(-1, m.hi);
	assert_money_text("1", M("1.0000000000000000000"));
	assert_money_text("1", M("1.000000000000000000000000000000000000000"
				 "00000000000000000000000000000000000000"));
	assert_money_text(
		"0.123456789012345678", M("0.1234567890123456780000"));
	assert_money_text("-0.000000000000000001", M("-0.0000000000000000010"));
	assert_error(CB_EPARSE,
		"'0.1234567890123456789' has more than 18 decimal places",
		cb_money_parse(&m, "0.1234567890123456789", 21));

	/* Exactly 19 digits (the fast path's limit) and 20 (the long path). */
	assert_money_text("9999999999999999999", M("9999999999999999999"));
	assert_money_text("99999999999999999999", M("99999999999999999999"));
	assert_money_text("0.999999999999999999", M("0.999999999999999999"));
	assert_money_text("9.999999999999999999", M("9.999999999999999999"));
	assert_money_text("99.999999999999999999", M("99.999999999999999999"));
	assert_money_text("1000000000000000000", M("1e18"));
	assert_money_text("10000000000000000000", M("1e19"));
	assert_money_text("99999999999999999990", M("9999999999999999999e1"));
	assert_money_text(
		"170141183460469231731", M("170141183460469231731e0"));

	/* Any exponent is fine for zero. */
	assert_money_text("0", M("0e-99999999999999999999"));
	assert_money_text("0", M("-0.000e99999999999999999999"));
	assert_money_text(
		"0", M("0.00000000000000000000000000000000000000000"));
}

static void
test_money_parse_reads_exactly_len_bytes(void **state)
{
	cb_money m = CB_MONEY_ZERO;

	(void)state;
	assert_ok(cb_money_parse(&m, "12.5xyz", 4));
	assert_money_text("12.5", m);
	assert_ok(cb_money_parse(&m, "-7,8", 2));
	assert_money_text("-7", m);
	assert_error(CB_EPARSE, "'1?' is not a decimal",
		cb_money_parse(&m, "1\0002", 2));
	assert_error(
		CB_EPARSE, "'' is not a decimal", cb_money_parse(&m, NULL, 0));
	assert_error(
		CB_EPARSE, "'' is not a decimal", cb_money_parse(&m, "12", 0));
	assert_error(CB_EINVAL,
		"cb_money_parse: invalid argument: text != NULL || len == 0",
		cb_money_parse(&m, NULL, 3));
	assert_error(CB_EINVAL, "cb_money_parse: invalid argument: out",
		cb_money_parse(NULL, "1", 1));
	assert_money_text("-7", m);
}

static void
test_money_parse_message_quotes_at_most_64_bytes(void **state)
{
	char text[200], expected[200];
	cb_money m;

	(void)state;
	memset(text, '7', sizeof(text));
	text[50] = 'x';
	snprintf(expected, sizeof(expected), "'%.64s...' is not a decimal",
		text);
	assert_error(CB_EPARSE, expected, cb_money_parse(&m, text, 200));

	/* 64 bytes exactly are quoted whole. */
	snprintf(expected, sizeof(expected), "'%.64s' is not a decimal", text);
	assert_error(CB_EPARSE, expected, cb_money_parse(&m, text, 64));

	/* 65 digits are quoted cut, and are out of range. */
	memset(text, '9', 65);
	snprintf(
		expected, sizeof(expected), "'%.64s...' is out of range", text);
	assert_error(CB_EOVERFLOW, expected, cb_money_parse(&m, text, 65));
}

static void
test_money_has_no_negative_zero(void **state)
{
	cb_money z, r;
	char buf[CB_MONEY_STR_MAX];

	(void)state;
	z = M("-0");
	assert_int_equal(0, z.lo);
	assert_int_equal(0, z.hi);
	assert_int_equal(0, cb_money_cmp(z, CB_MONEY_ZERO));
	assert_int_equal(0, cb_money_sign(z));
	assert_true(cb_money_is_zero(z));
	assert_money_text("0", z);
	assert_money_text("0", M("-0.000000000000000000000e5"));
	assert_money_text("0", M("+0"));
	assert_ok(cb_money_neg(&r, CB_MONEY_ZERO));
	assert_money_equal(CB_MONEY_ZERO, r);
	assert_ok(cb_money_mul(&r, M("-1"), CB_MONEY_ZERO));
	assert_money_equal(CB_MONEY_ZERO, r);
	assert_ok(cb_money_mul(&r, M("-0.000000000000000001"), M("0.4")));
	assert_money_equal(CB_MONEY_ZERO, r);
	assert_ok(cb_money_div(&r, CB_MONEY_ZERO, M("-3")));
	assert_money_equal(CB_MONEY_ZERO, r);
	assert_ok(cb_money_round(&r, M("-0.004"), 2));
	assert_money_equal(CB_MONEY_ZERO, r);
	assert_ok(cb_money_format_fixed(buf, sizeof(buf), M("-0.004"), 2));
	assert_string_equal("0.00", buf);
	assert_ok(cb_money_format_fixed(buf, sizeof(buf), M("-0.4"), 0));
	assert_string_equal("0", buf);
}

/* ---- formatting -------------------------------------------------------- */

static void
test_money_format_is_shortest_exact(void **state)
{
	char buf[CB_MONEY_STR_MAX];

	(void)state;
	assert_money_text("0", CB_MONEY_ZERO);
	assert_money_text("-12.5", M("-12.500"));
	assert_money_text("0.000000000000000001", M("1e-18"));
	assert_money_text("100", M("100.00"));
	assert_money_text("-100", cb_money_from_int(-100));
	assert_money_text(MAX_TEXT, CB_MONEY_MAX);
	assert_money_text(MIN_TEXT, CB_MONEY_MIN);
	assert_int_equal(41, strlen(MIN_TEXT));
	assert_money_text("18446744073709551615", M("18446744073709551615"));
	assert_money_text("0.018446744073709551", M("0.018446744073709551"));
	assert_money_text("18.446744073709551616", M("18.446744073709551616"));

	/* The buffer must hold the text and its terminator. */
	assert_ok(cb_money_format(buf, 6, M("-12.5")));
	assert_string_equal("-12.5", buf);
	assert_error(CB_EINVAL, "money text needs 6 bytes, buffer has 5",
		cb_money_format(buf, 5, M("-12.5")));
	assert_string_equal("", buf);
	assert_error(CB_EINVAL, "money text needs 2 bytes, buffer has 0",
		cb_money_format(NULL, 0, CB_MONEY_ZERO));
	assert_error(CB_EINVAL,
		"cb_money_format: invalid argument: out != NULL || outlen == 0",
		cb_money_format(NULL, 5, CB_MONEY_ZERO));
	assert_ok(cb_money_format(buf, 42, CB_MONEY_MIN));
	assert_error(CB_EINVAL, "money text needs 42 bytes, buffer has 41",
		cb_money_format(buf, 41, CB_MONEY_MIN));
}

static void
test_money_format_fixed_rounds_and_pads(void **state)
{
	static const struct {
		const char *value;
		unsigned places;
		const char *expected;
	} cases[] = {
		{ "12.3", 2, "12.30" },
		{ "-0.005", 2, "-0.01" },
		{ "-0.0049", 2, "0.00" },
		{ "0.005", 2, "0.01" },
		{ "1234.5", 0, "1235" },
		{ "1234.4999", 0, "1234" },
		{ "-1234.5", 0, "-1235" },
		{ "0", 3, "0.000" },
		{ "0", 0, "0" },
		{ "1.2345", 3, "1.235" },
		{ "-1.2345", 3, "-1.235" },
		{ "0.00005", 4, "0.0001" },
		{ "99.995", 2, "100.00" },
		{ "-99.995", 2, "-100.00" },
		{ "0.000000000000000001", 18, "0.000000000000000001" },
		{ "0.000000000000000001", 17, "0.00000000000000000" },
		{ "0.000000000000000005", 17, "0.00000000000000001" },
		{ MAX_TEXT, 0, "170141183460469231732" },
		{ MAX_TEXT, 2, "170141183460469231731.69" },
		{ MAX_TEXT, 18, MAX_TEXT },
		{ MIN_TEXT, 0, "-170141183460469231732" },
		{ MIN_TEXT, 17, "-170141183460469231731.68730371588410573" },
	};
	char buf[CB_MONEY_STR_MAX];

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		assert_ok(cb_money_format_fixed(
			buf, sizeof(buf), M(cases[i].value), cases[i].places));
		if (strcmp(cases[i].expected, buf) != 0)
			fail_msg("%s at %u: expected %s, got %s",
				cases[i].value, cases[i].places,
				cases[i].expected, buf);
	}
	assert_error(CB_EINVAL,
		"cb_money_format_fixed: 19 decimal places is more than 18",
		cb_money_format_fixed(buf, sizeof(buf), M("1"), 19));
	assert_string_equal("", buf);
	assert_ok(cb_money_format_fixed(buf, 6, M("12.3"), 2));
	assert_string_equal("12.30", buf);
	assert_error(CB_EINVAL, "money text needs 6 bytes, buffer has 5",
		cb_money_format_fixed(buf, 5, M("12.3"), 2));
}

/* ---- rounding and conversions ------------------------------------------ */

static void
test_money_round_ties_go_away_from_zero(void **state)
{
	static const struct {
		const char *value;
		unsigned places;
		const char *expected;
	} cases[] = {
		{ "2.5", 0, "3" },
		{ "-2.5", 0, "-3" },
		{ "3.5", 0, "4" },
		{ "-3.5", 0, "-4" },
		{ "2.4999999999999999", 0, "2" },
		{ "-2.4999999999999999", 0, "-2" },
		{ "0.5", 0, "1" },
		{ "-0.5", 0, "-1" },
		{ "0.005", 2, "0.01" },
		{ "-0.005", 2, "-0.01" },
		{ "0.015", 2, "0.02" },
		{ "0.025", 2, "0.03" },
		{ "1.2345", 3, "1.235" },
		{ "-1.2345", 3, "-1.235" },
		{ "1.2344999", 3, "1.234" },
		{ "0.0005", 3, "0.001" },
		{ "0.00005", 4, "0.0001" },
		{ "-0.00004999", 4, "0" },
		{ "123.456", 1, "123.5" },
		{ "0.000000000000000005", 17, "0.00000000000000001" },
		{ "-0.000000000000000005", 17, "-0.00000000000000001" },
		{ "0.000000000000000004", 17, "0" },
		{ "0.000000000000000001", 18, "0.000000000000000001" },
		{ "12", 0, "12" },
		{ "-12.34", 2, "-12.34" },
	};
	cb_money r;

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		assert_ok(
			cb_money_round(&r, M(cases[i].value), cases[i].places));
		if (strcmp(cases[i].expected, S(r)) != 0)
			fail_msg("round(%s, %u): expected %s, got %s",
				cases[i].value, cases[i].places,
				cases[i].expected, S(r));
	}
}

static void
test_money_round_refuses_overflow_and_bad_places(void **state)
{
	cb_money r = M("5");

	(void)state;
	assert_error(CB_EOVERFLOW,
		MAX_TEXT " rounded to 0 places is out of range",
		cb_money_round(&r, CB_MONEY_MAX, 0));
	assert_error(CB_EOVERFLOW,
		MIN_TEXT " rounded to 17 places is out of range",
		cb_money_round(&r, CB_MONEY_MIN, 17));
	/* Rounding the largest amount up passes it at any place... */
	assert_error(CB_EOVERFLOW,
		MAX_TEXT " rounded to 2 places is out of range",
		cb_money_round(&r, CB_MONEY_MAX, 2));
	/* ...and rounding down is fine. */
	assert_ok(cb_money_round(&r, CB_MONEY_MAX, 3));
	assert_money_text("170141183460469231731.687", r);
	assert_ok(cb_money_round(&r, M("-170141183460469231731.4"), 0));
	assert_money_text("-170141183460469231731", r);
	assert_ok(cb_money_round(&r, CB_MONEY_MIN, 16));
	assert_money_text("-170141183460469231731.6873037158841057", r);
	assert_error(CB_EINVAL,
		"cb_money_round: 19 decimal places is more than 18",
		cb_money_round(&r, M("1"), 19));
	assert_money_text("-170141183460469231731.6873037158841057", r);
}

static void
test_money_converts_whole_and_minor_units(void **state)
{
	cb_money m = CB_MONEY_ZERO;
	int64_t minor = 99;

	(void)state;
	assert_money_text("12", cb_money_from_int(12));
	assert_money_text("-9223372036854775808", cb_money_from_int(INT64_MIN));
	assert_money_text("9223372036854775807", cb_money_from_int(INT64_MAX));
	assert_money_text("0", cb_money_from_int(0));

	assert_ok(cb_money_from_minor(&m, 1234, 2));
	assert_money_text("12.34", m);
	assert_ok(cb_money_from_minor(&m, -5, 3));
	assert_money_text("-0.005", m);
	assert_ok(cb_money_from_minor(&m, 1235, 0));
	assert_money_text("1235", m);
	assert_ok(cb_money_from_minor(&m, INT64_MIN, 18));
	assert_money_text("-9.223372036854775808", m);
	assert_ok(cb_money_from_minor(&m, INT64_MAX, 0));
	assert_money_text("9223372036854775807", m);
	assert_error(CB_EINVAL,
		"cb_money_from_minor: 19 decimal places is more than 18",
		cb_money_from_minor(&m, 1, 19));
	assert_money_text("9223372036854775807", m);

	assert_ok(cb_money_to_minor(&minor, M("12.345"), 2));
	assert_int_equal(1235, minor);
	assert_ok(cb_money_to_minor(&minor, M("-12.345"), 2));
	assert_int_equal(-1235, minor);
	assert_ok(cb_money_to_minor(&minor, M("-0.005"), 2));
	assert_int_equal(-1, minor);
	assert_ok(cb_money_to_minor(&minor, M("-0.0049"), 2));
	assert_int_equal(0, minor);
	assert_ok(cb_money_to_minor(&minor, M("1234.5"), 0));
	assert_int_equal(1235, minor);
	assert_ok(cb_money_to_minor(&minor, M("0.4445"), 3));
	assert_int_equal(445, minor);
	assert_ok(cb_money_to_minor(&minor, M("-9223372036854775808"), 0));
	assert_int_equal(INT64_MIN, minor);
	assert_ok(cb_money_to_minor(&minor, M("9223372036854775807.4"), 0));
	assert_int_equal(INT64_MAX, minor);
	assert_ok(cb_money_to_minor(&minor, M("-9.223372036854775808"), 18));
	assert_int_equal(INT64_MIN, minor);
	minor = 7;
	assert_error(CB_EOVERFLOW,
		"9223372036854775807.5 in units of 10^-0 is out of range",
		cb_money_to_minor(&minor, M("9223372036854775807.5"), 0));
	assert_error(CB_EOVERFLOW,
		"-9223372036854775808.5 in units of 10^-0 is out of range",
		cb_money_to_minor(&minor, M("-9223372036854775808.5"), 0));
	assert_error(CB_EOVERFLOW,
		"92233720368547758.08 in units of 10^-2 is out of range",
		cb_money_to_minor(&minor, M("92233720368547758.08"), 2));
	assert_error(CB_EINVAL,
		"cb_money_to_minor: 19 decimal places is more than 18",
		cb_money_to_minor(&minor, M("1"), 19));
	assert_int_equal(7, minor);
}

/* ---- arithmetic -------------------------------------------------------- */

static void
test_money_add_sub_neg_abs(void **state)
{
	cb_money r = M("3");

	(void)state;
	assert_ok(cb_money_add(&r, M("0.1"), M("0.2")));
	assert_money_text("0.3", r);
	assert_ok(cb_money_add(&r, r, M("-0.3")));
	assert_money_equal(CB_MONEY_ZERO, r);
	assert_ok(cb_money_sub(&r, M("1"), M("0.000000000000000001")));
	assert_money_text("0.999999999999999999", r);
	assert_ok(cb_money_sub(&r, M("-5"), M("-7.25")));
	assert_money_text("2.25", r);
	assert_ok(cb_money_add(&r, CB_MONEY_MAX, CB_MONEY_MIN));
	assert_money_text("-0.000000000000000001", r);
	assert_ok(cb_money_neg(&r, CB_MONEY_MAX));
	assert_money_text("-" MAX_TEXT, r);
	assert_ok(cb_money_abs(&r, M("-2.5")));
	assert_money_text("2.5", r);
	assert_ok(cb_money_abs(&r, M("2.5")));
	assert_money_text("2.5", r);

	r = M("3");
	assert_error(CB_EOVERFLOW,
		MAX_TEXT " + 0.000000000000000001 is out "
			 "of range",
		cb_money_add(&r, CB_MONEY_MAX, M("1e-18")));
	assert_error(CB_EOVERFLOW,
		MIN_TEXT " + -0.000000000000000001 is out of range",
		cb_money_add(&r, CB_MONEY_MIN, M("-1e-18")));
	assert_error(CB_EOVERFLOW,
		MIN_TEXT " - 0.000000000000000001 is out of range",
		cb_money_sub(&r, CB_MONEY_MIN, M("1e-18")));
	assert_error(CB_EOVERFLOW, "0 - " MIN_TEXT " is out of range",
		cb_money_sub(&r, CB_MONEY_ZERO, CB_MONEY_MIN));
	assert_error(CB_EOVERFLOW, "-(" MIN_TEXT ") is out of range",
		cb_money_neg(&r, CB_MONEY_MIN));
	assert_error(CB_EOVERFLOW, "-(" MIN_TEXT ") is out of range",
		cb_money_abs(&r, CB_MONEY_MIN));
	assert_money_text("3", r);
	assert_error(CB_EINVAL, "cb_money_add: invalid argument: out",
		cb_money_add(NULL, r, r));
}

static void
test_money_mul_rounds_once_at_the_18th_place(void **state)
{
	static const struct {
		const char *a, *b, *expected;
	} cases[] = {
		{ "0.000000000000000001", "0.5", "0.000000000000000001" },
		{ "-0.000000000000000001", "0.5", "-0.000000000000000001" },
		{ "0.000000000000000001", "-0.5", "-0.000000000000000001" },
		{ "0.000000000000000001", "0.499999999999999999", "0" },
		{ "0.000000000000000003", "0.5", "0.000000000000000002" },
		{ "0.000000000000000001", "0.000000000000000001", "0" },
		{ "24", "0.0123456789", "0.2962962936" },
		{ "1.5", "2", "3" },
		{ "-1.5", "-2", "3" },
		{ "0.1", "0.1", "0.01" },
		{ "0.333333333333333333", "3", "0.999999999999999999" },
		{ "0.123456789123456789", "0.987654321987654321",
			"0.121932631356500531" },
		{ "1.000000000000000001", "1.000000000000000001",
			"1.000000000000000002" },
		{ "13043817825.332782212", "13043817825.332782212",
			"170141183460469231722.567801800623612944" },
		{ MAX_TEXT, "1", MAX_TEXT },
		{ MIN_TEXT, "1", MIN_TEXT },
		{ MAX_TEXT, "-1", "-" MAX_TEXT },
		{ MAX_TEXT, "0.000000000000000001", "170.141183460469231732" },
	};
	cb_money r;

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		assert_ok(cb_money_mul(&r, M(cases[i].a), M(cases[i].b)));
		if (strcmp(cases[i].expected, S(r)) != 0)
			fail_msg("%s * %s: expected %s, got %s", cases[i].a,
				cases[i].b, cases[i].expected, S(r));
		assert_ok(cb_money_mul(&r, M(cases[i].b), M(cases[i].a)));
		assert_string_equal(cases[i].expected, S(r));
	}
	assert_ok(cb_money_mul(&r, CB_MONEY_MIN, M("0.5")));
	assert_money_text("-85070591730234615865.843651857942052864", r);

	r = M("9");
	assert_error(CB_EOVERFLOW, MAX_TEXT " * 2 is out of range",
		cb_money_mul(&r, CB_MONEY_MAX, M("2")));
	assert_error(CB_EOVERFLOW, MIN_TEXT " * -1 is out of range",
		cb_money_mul(&r, CB_MONEY_MIN, M("-1")));
	assert_error(CB_EOVERFLOW, "100000000000 * 10000000000 is out of range",
		cb_money_mul(&r, M("1e11"), M("1e10")));
	assert_error(CB_EOVERFLOW, MIN_TEXT " * " MIN_TEXT " is out of range",
		cb_money_mul(&r, CB_MONEY_MIN, CB_MONEY_MIN));
	/* The rounding itself can be what overflows. */
	assert_error(CB_EOVERFLOW,
		MAX_TEXT " * 1.000000000000000001 is out of range",
		cb_money_mul(&r, CB_MONEY_MAX, M("1.000000000000000001")));
	assert_money_text("9", r);
}

static void
test_money_div_rounds_once_at_the_18th_place(void **state)
{
	static const struct {
		const char *a, *b, *expected;
	} cases[] = {
		{ "1", "3", "0.333333333333333333" },
		{ "2", "3", "0.666666666666666667" },
		{ "-2", "3", "-0.666666666666666667" },
		{ "2", "-3", "-0.666666666666666667" },
		{ "-2", "-3", "0.666666666666666667" },
		{ "0.000000000000000001", "2", "0.000000000000000001" },
		{ "-0.000000000000000001", "2", "-0.000000000000000001" },
		{ "0.000000000000000001", "3", "0" },
		{ "0.000000000000000001", "2.000000000000000001", "0" },
		{ "10", "4", "2.5" },
		{ "100", "30", "3.333333333333333333" },
		{ "1", "0.000000000000000001", "1000000000000000000" },
		{ "1234.5678", "1", "1234.5678" },
		{ MAX_TEXT, "1", MAX_TEXT },
		{ MIN_TEXT, "1", MIN_TEXT },
		{ MAX_TEXT, "-1", "-" MAX_TEXT },
		{ MAX_TEXT, MAX_TEXT, "1" },
		{ MIN_TEXT, MIN_TEXT, "1" },
		{ "1", MAX_TEXT, "0" },
		{ MAX_TEXT, "2", "85070591730234615865.843651857942052864" },
		{ MIN_TEXT, "3", "-56713727820156410577.229101238628035243" },
		{ "170141183460469", "170141183460469231731.687303715884105727",
			"0.000001" },
	};
	cb_money r;

	(void)state;
	for (size_t i = 0; i < CB_ARRAY_SIZE(cases); i++) {
		assert_ok(cb_money_div(&r, M(cases[i].a), M(cases[i].b)));
		if (strcmp(cases[i].expected, S(r)) != 0)
			fail_msg("%s / %s: expected %s, got %s", cases[i].a,
				cases[i].b, cases[i].expected, S(r));
	}
	r = M("9");
	assert_error(CB_EINVAL, "division by zero: 5 / 0",
		cb_money_div(&r, M("5"), CB_MONEY_ZERO));
	assert_error(CB_EOVERFLOW, MIN_TEXT " / -1 is out of range",
		cb_money_div(&r, CB_MONEY_MIN, M("-1")));
	assert_error(CB_EOVERFLOW, MAX_TEXT " / 0.1 is out of range",
		cb_money_div(&r, CB_MONEY_MAX, M("0.1")));
	assert_error(CB_EOVERFLOW,
		MAX_TEXT " / 0.000000000000000001 is out of range",
		cb_money_div(&r, CB_MONEY_MAX, M("1e-18")));
	assert_error(CB_EOVERFLOW,
		"170141183460469231731 / 0.999999999999999999 is out of range",
		cb_money_div(&r, M("170141183460469231731"),
			M("0.999999999999999999")));
	assert_money_text("9", r);
}

static void
test_money_cmp_sign_is_zero(void **state)
{
	(void)state;
	assert_int_equal(-1, cb_money_cmp(M("-1"), M("1")));
	assert_int_equal(1, cb_money_cmp(M("1"), M("-1")));
	assert_int_equal(0, cb_money_cmp(M("1.50"), M("1.5")));
	assert_int_equal(-1, cb_money_cmp(M("0.000000000000000001"),
				     M("0.000000000000000002")));
	assert_int_equal(1, cb_money_cmp(M("18.446744073709551616"),
				    M("18.446744073709551615")));
	assert_int_equal(-1, cb_money_cmp(CB_MONEY_MIN, CB_MONEY_MAX));
	assert_int_equal(-1, cb_money_cmp(M("-0.000000000000000001"), M("0")));
	assert_int_equal(-1, cb_money_sign(M("-0.000000000000000001")));
	assert_int_equal(1, cb_money_sign(M("0.000000000000000001")));
	assert_int_equal(1, cb_money_sign(M("18.446744073709551616")));
	assert_int_equal(0, cb_money_sign(CB_MONEY_ZERO));
	assert_int_equal(-1, cb_money_sign(CB_MONEY_MIN));
	assert_int_equal(1, cb_money_is_zero(CB_MONEY_ZERO));
	assert_int_equal(0, cb_money_is_zero(M("1e-18")));
	assert_int_equal(0, cb_money_is_zero(M("18.446744073709551616")));
}

static void
test_money_functions_never_allocate(void **state)
{
	cb_money r, parts[3], w[3] = { M("1"), M("2"), M("3") };
	char buf[CB_MONEY_STR_MAX];
	unsigned places;

	(void)state;
	cb__alloc_fail_after(1);
	assert_ok(cb_money_parse(&r, "123456789012345678901.5e-1", 26));
	assert_ok(cb_money_mul(&r, r, M("3.3")));
	assert_ok(cb_money_div(&r, r, M("7")));
	assert_ok(cb_money_format(buf, sizeof(buf), r));
	assert_ok(cb_money_format_fixed(buf, sizeof(buf), r, 2));
	assert_ok(cb_money_allocate(parts, M("100"), w, 3, 2));
	assert_ok(cb_currency_minor_units(&places, "EUR"));
	assert_error(
		CB_EPARSE, "'x' is not a decimal", cb_money_parse(&r, "x", 1));
	cb__alloc_fail_after(0);
}

/* ---- ISO 4217 ---------------------------------------------------------- */

static void
test_money_currency_minor_units(void **state)
{
	/* Every code the table holds, by minor units: each must be found,
	 * which also proves the table is sorted for the bisection. */
	static const char *const zero[] = { "BIF", "CLP", "DJF", "GNF", "ISK",
		"JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
		"XAF", "XOF", "XPF" };
	static const char *const three[] = { "BHD", "IQD", "JOD", "KWD", "LYD",
		"OMR", "TND" };
	static const char *const four[] = { "CLF", "UYW" };
	static const char *const two[] = { "AED", "AFN", "ALL", "AMD", "ANG",
		"AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
		"BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN",
		"BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CNY", "COP", "COU",
		"CRC", "CUC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP",
		"ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP",
		"GMD", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR",
		"ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD",
		"KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA",
		"MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN",
		"MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD",
		"PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD",
		"RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE",
		"SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
		"TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD",
		"USN", "UYU", "UZS", "VED", "VES", "WST", "XAD", "XCD", "XCG",
		"YER", "ZAR", "ZMW", "ZWG", "ZWL" };
	static const struct {
		const char *const *codes;
		size_t n;
		unsigned places;
	} groups[] = {
		{ zero, CB_ARRAY_SIZE(zero), 0 },
		{ two, CB_ARRAY_SIZE(two), 2 },
		{ three, CB_ARRAY_SIZE(three), 3 },
		{ four, CB_ARRAY_SIZE(four), 4 },
	};
	unsigned places;

	(void)state;
	for (size_t g = 0; g < CB_ARRAY_SIZE(groups); g++)
		for (size_t i = 0; i < groups[g].n; i++) {
			places = 99;
			if (cb_currency_minor_units(
				    &places, groups[g].codes[i]) != 0)
				fail_msg("%s: %s", groups[g].codes[i],
					cb_error_last()->message);
			if (places != groups[g].places)
				fail_msg("%s: expected %u, got %u",
					groups[g].codes[i], groups[g].places,
					places);
		}

	places = 99;
	assert_error(CB_ENOTFOUND, "unknown currency 'XYZ'",
		cb_currency_minor_units(&places, "XYZ"));
	assert_error(CB_ENOTFOUND, "unknown currency 'usd'",
		cb_currency_minor_units(&places, "usd"));
	assert_error(CB_ENOTFOUND, "unknown currency 'US'",
		cb_currency_minor_units(&places, "US"));
	assert_error(CB_ENOTFOUND, "unknown currency 'USDX'",
		cb_currency_minor_units(&places, "USDX"));
	assert_error(CB_ENOTFOUND, "unknown currency ''",
		cb_currency_minor_units(&places, ""));
	assert_error(CB_ENOTFOUND, "unknown currency 'XAU'",
		cb_currency_minor_units(&places, "XAU"));
	assert_error(CB_ENOTFOUND, "unknown currency 'AAA'",
		cb_currency_minor_units(&places, "AAA"));
	assert_error(CB_ENOTFOUND, "unknown currency 'ZZZ'",
		cb_currency_minor_units(&places, "ZZZ"));
	assert_error(CB_ENOTFOUND, "unknown currency 'US?'",
		cb_currency_minor_units(&places, "US\t"));
	assert_error(CB_ENOTFOUND,
		"unknown currency '"
		"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
		"...'",
		cb_currency_minor_units(&places,
			"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
			"XXXXXXXXXXXXXXXXXXXXXXXXXXX"));
	assert_int_equal(99, places);
	assert_error(CB_EINVAL,
		"cb_currency_minor_units: invalid argument: iso4217",
		cb_currency_minor_units(&places, NULL));
}

/* ---- allocation -------------------------------------------------------- */

/* Allocate and compare with the expected parts' text. */
static void
check_allocation(const char *total, const char *const *weights, size_t n,
	unsigned places, const char *const *expected)
{
	cb_money w[16], parts[16];

	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++)
		w[i] = M(weights[i]);
	assert_ok(cb_money_allocate(parts, M(total), w, n, places));
	for (size_t i = 0; i < n; i++)
		if (strcmp(expected[i], S(parts[i])) != 0)
			fail_msg("%s over %zu weights, part %zu: expected %s, "
				 "got %s",
				total, n, i, expected[i], S(parts[i]));
}

#define ALLOC(total, places, weights, expected)                             \
	do {                                                                \
		static const char *const w_[] = { UNPAREN weights };        \
		static const char *const e_[] = { UNPAREN expected };       \
		assert_int_equal(CB_ARRAY_SIZE(w_), CB_ARRAY_SIZE(e_));     \
		check_allocation(total, w_, CB_ARRAY_SIZE(w_), places, e_); \
	} while (0)
#define UNPAREN(...) __VA_ARGS__

static void
test_money_allocate_splits_exactly(void **state)
{
	(void)state;
	/* One minor unit over three equal weights: the lowest index wins. */
	ALLOC("0.01", 2, ("1", "1", "1"), ("0.01", "0", "0"));
	ALLOC("0.02", 2, ("1", "1", "1"), ("0.01", "0.01", "0"));
	ALLOC("-0.01", 2, ("1", "1", "1"), ("-0.01", "0", "0"));
	ALLOC("-0.02", 2, ("5", "5", "5"), ("-0.01", "-0.01", "0"));
	ALLOC("100", 2, ("1", "1", "1"), ("33.34", "33.33", "33.33"));
	ALLOC("-100", 2, ("1", "1", "1"), ("-33.34", "-33.33", "-33.33"));
	/* The larger remainder wins before the lower index. */
	ALLOC("0.01", 2, ("1", "2"), ("0", "0.01"));
	ALLOC("0.01", 2, ("1", "1", "2"), ("0", "0", "0.01"));
	ALLOC("0.03", 2, ("1", "1", "1", "1"), ("0.01", "0.01", "0.01", "0"));
	ALLOC("1", 2, ("0.3", "0.3", "0.4"), ("0.3", "0.3", "0.4"));
	ALLOC("10", 2, ("1", "2", "3", "4", "5", "6"),
		("0.48", "0.95", "1.43", "1.9", "2.38", "2.86"));
	/* Zero weights get nothing, even when units are left over. */
	ALLOC("0.05", 2, ("0", "1", "0", "1", "0"),
		("0", "0.03", "0", "0.02", "0"));
	ALLOC("7", 2, ("0", "0", "3"), ("0", "0", "7"));
	ALLOC("0", 2, ("1", "2"), ("0", "0"));
	/* Currencies: JPY 0 places, KWD 3, CLF 4. */
	ALLOC("1000", 0, ("1", "1", "1"), ("334", "333", "333"));
	ALLOC("-1001", 0, ("1", "1", "1"), ("-334", "-334", "-333"));
	ALLOC("1", 3, ("1", "1", "1"), ("0.334", "0.333", "0.333"));
	ALLOC("0.0001", 4, ("2", "3"), ("0", "0.0001"));
	/* 18 places: the split is exact to 10^-18. */
	ALLOC("1", 18, ("1", "1", "1"),
		("0.333333333333333334", "0.333333333333333333",
			"0.333333333333333333"));
	/* One weight takes everything. */
	ALLOC("123.45", 2, ("0.000000000000000001"), ("123.45"));
	/* Extremes: the largest total over the largest weights. */
	ALLOC("170141183460469231731.68", 2,
		("56713727820156410577.229101238628035242",
			"56713727820156410577.229101238628035242",
			"56713727820156410577.229101238628035242"),
		("56713727820156410577.23", "56713727820156410577.23",
			"56713727820156410577.22"));
	ALLOC("-170141183460469231731", 0,
		("170141183460469231731.687303715884105726",
			"0.000000000000000001"),
		("-170141183460469231731", "0"));
}

static void
test_money_allocate_refuses_bad_input(void **state)
{
	cb_money parts[3], w[3] = { M("1"), M("2"), M("3") };
	cb_money half[2] = { M("85070591730234615865.843651857942052864"),
		M("85070591730234615865.843651857942052864") };

	(void)state;
	assert_error(CB_EINVAL,
		"allocation total 12.345 is not a multiple of 0.01",
		cb_money_allocate(parts, M("12.345"), w, 3, 2));
	assert_error(CB_EINVAL, "allocation total -0.5 is not a multiple of 1",
		cb_money_allocate(parts, M("-0.5"), w, 3, 0));
	assert_error(CB_EINVAL,
		"cb_money_allocate: 19 decimal places is more than 18",
		cb_money_allocate(parts, M("1"), w, 3, 19));
	w[1] = M("-0.01");
	assert_error(CB_EINVAL, "allocation weight 1 is negative (-0.01)",
		cb_money_allocate(parts, M("1"), w, 3, 2));
	w[0] = w[1] = w[2] = CB_MONEY_ZERO;
	assert_error(CB_EINVAL, "allocation weights sum to zero",
		cb_money_allocate(parts, M("1"), w, 3, 2));
	assert_error(CB_EINVAL, "allocation weights sum to zero",
		cb_money_allocate(NULL, M("0"), NULL, 0, 2));
	assert_error(CB_EOVERFLOW,
		"allocation weights sum past the largest amount",
		cb_money_allocate(parts, M("1"), half, 2, 2));
	half[1] = M("85070591730234615865.843651857942052863"); /* sum: MAX */
	assert_ok(cb_money_allocate(parts, M("1"), half, 2, 2));
	assert_money_text("0.5", parts[0]);
	assert_money_text("0.5", parts[1]);
	assert_error(CB_EINVAL, "cb_money_allocate: parts and weights overlap",
		cb_money_allocate(w + 1, M("1"), w, 2, 2));
	assert_error(CB_EINVAL,
		"cb_money_allocate: invalid argument: n == 0 || (parts != "
		"NULL && weights != NULL)",
		cb_money_allocate(NULL, M("1"), w, 2, 2));
}

/*
 * Check an allocation against its definition, with test-side big
 * integers only.  In integers of 10^-18, with t = |total|, p_i = |part_i|,
 * u = 10^(18 - places) and W = sum w_i: every part has the total's sign
 * and is a multiple of u; the parts sum to the total; x_i = p_i W - t w_i
 * is in (-u W, u W) (within one unit of the exact share); and the parts
 * rounded up (x_i > 0) have remainders r_i = t w_i - floor_i W (floor_i =
 * p_i, or p_i - u when rounded up) no smaller than any part rounded down,
 * equal ones only at a lower index.
 */
static void
verify_allocation(const cb_money *parts, cb_money total,
	const cb_money *weights, size_t n, unsigned places)
{
	struct big unit = big_pow10(18 - places), W = big_u64(0);
	struct big sum = big_u64(0), t = big_abs(big_money(total)), uw;
	struct big rem[256];
	int up[256], tneg = big_money(total).neg;

	assert_true(n <= 256);
	for (size_t i = 0; i < n; i++)
		W = big_add(W, big_money(weights[i]));
	uw = big_mul(unit, W);
	for (size_t i = 0; i < n; i++) {
		struct big p = big_money(parts[i]), tw, x, m;

		if ((tneg && !big_is_zero(p) && !p.neg) || (!tneg && p.neg))
			fail_msg("part %zu (%s) has the wrong sign", i,
				S(parts[i]));
		sum = big_add(sum, p);
		p = big_abs(p);
		m = p;
		for (unsigned k = 0; k < 18 - places; k++)
			if (big_divmod_u32(&m, 10) != 0)
				fail_msg("part %zu (%s) is not a multiple of "
					 "10^-%u",
					i, S(parts[i]), places);
		tw = big_mul(t, big_money(weights[i]));
		x = big_sub(big_mul(p, W), tw);
		if (big_cmp_mag(&x, &uw) >= 0)
			fail_msg("part %zu (%s) is a unit or more from its "
				 "share",
				i, S(parts[i]));
		up[i] = !x.neg && !big_is_zero(x);
		rem[i] = big_sub(tw, big_mul(up[i] ? big_sub(p, unit) : p, W));
		if (rem[i].neg || big_cmp(rem[i], uw) >= 0)
			fail_msg("part %zu has remainder out of [0, uW)", i);
	}
	if (big_cmp(sum, big_money(total)) != 0)
		fail_msg("parts do not sum to %s", S(total));
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int c;

			if (!up[i] || up[j])
				continue;
			c = big_cmp(rem[i], rem[j]);
			if (c < 0 || (c == 0 && i > j))
				fail_msg("part %zu got a unit before part %zu",
					i, j);
		}
}

static void
test_money_allocate_random_splits_are_exact(void **state)
{
	cb_money weights[256], parts[256];

	(void)state;
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 1 + (size_t)(rng() % (iter % 50 == 0 ? 256 : 12));
		unsigned places = (unsigned)(rng() % 19);
		int kind = (int)(rng() % 4);
		cb_money total = rng_any();
		struct big W = big_u64(0), lim = big_money(CB_MONEY_MAX);

		/* A total that is a multiple of the unit. */
		if (cb_money_round(&total, total, places) != 0)
			total = CB_MONEY_ZERO;
		if (kind == 0) { /* few minor units: ties galore */
			assert_ok(cb_money_from_minor(
				&total, (int64_t)(rng() % 7) - 3, places));
		}
		for (size_t i = 0; i < n; i++) {
			switch (kind) {
			case 0:
			case 1:
				weights[i] =
					cb_money_from_int((int64_t)(rng() % 4));
				break;
			case 2:
				weights[i] = rng_any();
				if (cb_money_abs(&weights[i], weights[i]))
					weights[i] = CB_MONEY_ZERO;
				weights[i].hi >>= 9; /* sum of 256 fits */
				break;
			default:
				assert_ok(cb_money_from_minor(&weights[i],
					(int64_t)(rng() % 1000000),
					(unsigned)(rng() % 19)));
			}
			W = big_add(W, big_money(weights[i]));
		}
		if (big_cmp(W, big_u64(0)) == 0)
			weights[n - 1] = M("1");
		assert_true(big_cmp(W, lim) <= 0);
		if (cb_money_allocate(parts, total, weights, n, places) != 0)
			fail_msg("iteration %d: %s", iter,
				cb_error_last()->message);
		verify_allocation(parts, total, weights, n, places);
	}
}

/* ---- properties -------------------------------------------------------- */

static void
test_money_parse_format_round_trip(void **state)
{
	char buf[CB_MONEY_STR_MAX], fixed[CB_MONEY_STR_MAX];

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		cb_money x = rng_money(), y, r;
		unsigned places = (unsigned)(rng() % 19);

		assert_ok(cb_money_format(buf, sizeof(buf), x));
		assert_ok(cb_money_parse(&y, buf, strlen(buf)));
		if (memcmp(&x, &y, sizeof(x)) != 0)
			fail_msg("%s reads back as %s", buf, S(y));
		/* The shortest text: no trailing zero after a point. */
		if (strchr(buf, '.') && buf[strlen(buf) - 1] == '0')
			fail_msg("%s is not the shortest text", buf);

		/* format_fixed agrees with round, and has `places` decimals. */
		assert_ok(
			cb_money_format_fixed(fixed, sizeof(fixed), x, places));
		if (places == 0)
			assert_null(strchr(fixed, '.'));
		else
			assert_int_equal(places,
				strlen(fixed) -
					(size_t)(strchr(fixed, '.') - fixed) -
					1);
		if (cb_money_round(&r, x, places) == 0) {
			assert_ok(cb_money_parse(&y, fixed, strlen(fixed)));
			if (cb_money_cmp(r, y) != 0)
				fail_msg("%s at %u: round %s, fixed %s", buf,
					places, S(r), fixed);
			/* |x - r| <= unit / 2, ties away from zero:
			 * 2 |x - r| <= unit, checked with big integers. */
			struct big bx = big_money(x), br = big_money(r);
			struct big d = big_sub(bx, br);
			struct big two_d = big_abs(big_add(d, d));
			struct big unit = big_pow10(18 - places);
			int c = big_cmp(two_d, unit);

			assert_true(c <= 0);
			if (c == 0) /* a tie: r is the one farther from 0 */
				assert_true(big_cmp_mag(&br, &bx) > 0);
		} else {
			assert_int_equal(CB_EOVERFLOW, cb_error_last()->code);
		}
	}
}

/*
 * a x b: q must satisfy 2 |a b - q 10^18| <= 10^18, a tie going away from
 * zero; EOVERFLOW exactly when that q is beyond the limits.
 */
static void
check_mul(cb_money a, cb_money b)
{
	cb_money q;
	int rc = cb_money_mul(&q, a, b);
	struct big ab = big_mul(big_money(a), big_money(b));
	struct big unit = big_pow10(18);

	if (rc == 0) {
		struct big qu = big_mul(big_money(q), unit);
		struct big d = big_sub(ab, qu);
		struct big twod = big_abs(big_add(d, d));
		int c = big_cmp(twod, unit);

		if (c > 0 || (c == 0 && big_cmp_mag(&qu, &ab) < 0) ||
			(q.hi < 0) != (ab.neg && !cb_money_is_zero(q)))
			fail_msg("%s * %s = %s is not rounded half away", S(a),
				S(b), S(q));
	} else {
		/* Rounded magnitude above the limit: 2|ab| >= (2 lim + 1) u */
		struct big lim = ab.neg ? big_abs(big_money(CB_MONEY_MIN))
					: big_money(CB_MONEY_MAX);
		struct big bound =
			big_mul(big_add(big_add(lim, lim), big_u64(1)), unit);

		assert_int_equal(CB_EOVERFLOW, rc);
		if (big_cmp(big_abs(big_add(ab, ab)), bound) < 0)
			fail_msg("%s * %s refused: %s", S(a), S(b),
				cb_error_last()->message);
	}
}

/* a / b: 2 |a 10^18 - q b| <= |b|, a tie going away from zero. */
static void
check_div(cb_money a, cb_money b)
{
	cb_money q;
	int rc = cb_money_div(&q, a, b);
	struct big au = big_mul(big_money(a), big_pow10(18));
	struct big bb = big_money(b);

	if (cb_money_is_zero(b)) {
		assert_int_equal(CB_EINVAL, rc);
		return;
	}
	if (rc == 0) {
		struct big qb = big_mul(big_money(q), bb);
		struct big d = big_sub(au, qb);
		struct big twod = big_abs(big_add(d, d));
		int c = big_cmp(twod, big_abs(bb));

		if (c > 0 || (c == 0 && big_cmp_mag(&qb, &au) < 0))
			fail_msg("%s / %s = %s is not rounded half away", S(a),
				S(b), S(q));
	} else {
		/* |a u| / |b| rounds above the limit:
		 * 2 |a u| >= (2 lim + 1) |b| */
		int neg = au.neg != bb.neg;
		struct big lim = neg ? big_abs(big_money(CB_MONEY_MIN))
				     : big_money(CB_MONEY_MAX);
		struct big bound = big_mul(
			big_add(big_add(lim, lim), big_u64(1)), big_abs(bb));

		assert_int_equal(CB_EOVERFLOW, rc);
		if (big_cmp(big_abs(big_add(au, au)), bound) < 0)
			fail_msg("%s / %s refused: %s", S(a), S(b),
				cb_error_last()->message);
	}
}

static void
test_money_mul_div_random_against_big_integers(void **state)
{
	(void)state;
	for (int iter = 0; iter < 40000; iter++) {
		cb_money a = rng_any(), b = rng_any();

		check_mul(a, b);
		check_div(a, b);
		/* Ties: b = +-0.5 x 10^-k hits them often. */
		if (iter % 4 == 0) {
			cb_money half;

			assert_ok(
				cb_money_from_minor(&half, (iter % 8 ? 5 : -5),
					1 + (unsigned)(rng() % 18)));
			check_mul(a, half);
			check_div(a, cb_money_from_int(iter % 8 ? 2 : -2));
		}
	}
	check_mul(CB_MONEY_MAX, CB_MONEY_MAX);
	check_mul(CB_MONEY_MIN, CB_MONEY_MIN);
	check_div(CB_MONEY_MIN, M("-0.000000000000000001"));
	/* The first quotient digit's estimate needs correcting here. */
	check_div(M("20769187434139310.514121985316880385"),
		M("295.147905179352825857"));
	check_div(M("-42535295865117307932.921825928971026434"),
		M("147.573952589676412929"));
	check_div(M("1e-18"), CB_MONEY_MIN);
}

/*
 * Small operands, checked with plain __int128 arithmetic: |N| < 2^62, so
 * a x b < 2^124 and a x 10^18 < 2^122 fit.
 */
__extension__ typedef __int128 t_i128;

static t_i128
round_div_i128(t_i128 n, t_i128 d)
{
	int neg = (n < 0) != (d < 0);
	t_i128 an = n < 0 ? -n : n, ad = d < 0 ? -d : d;
	t_i128 q = an / ad, r = an % ad;

	if (2 * r >= ad)
		q++;
	return neg ? -q : q;
}

static cb_money
money_i128(t_i128 v)
{
	cb_money m;

	m.lo = (uint64_t)v;
	m.hi = (int64_t)(v >> 64);
	return m;
}

static void
test_money_arithmetic_small_values_against_int128(void **state)
{
	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		int64_t x = (int64_t)(rng() >> (2 + rng() % 60));
		int64_t y = (int64_t)(rng() >> (2 + rng() % 60));
		cb_money a, b, r;

		x = rng() & 1 ? -x : x;
		y = rng() & 1 ? -y : y;
		a = money_i128(x);
		b = money_i128(y);
		assert_ok(cb_money_mul(&r, a, b));
		assert_money_equal(money_i128(round_div_i128((t_i128)x * y,
					   (t_i128)1000000000000000000)),
			r);
		if (y != 0) {
			assert_ok(cb_money_div(&r, a, b));
			assert_money_equal(
				money_i128(round_div_i128(
					(t_i128)x * 1000000000000000000, y)),
				r);
		}
		assert_ok(cb_money_add(&r, a, b));
		assert_money_equal(money_i128((t_i128)x + y), r);
		assert_ok(cb_money_sub(&r, a, b));
		assert_money_equal(money_i128((t_i128)x - y), r);
	}
}

static int
big_fits(struct big v)
{
	return big_cmp(v, big_money(CB_MONEY_MAX)) <= 0 &&
	       big_cmp(v, big_money(CB_MONEY_MIN)) >= 0;
}

static void
test_money_add_sub_random_overflow(void **state)
{
	size_t refused = 0;

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		cb_money a = rng_money(), b = rng_money(), r;
		struct big s, d;

		if (iter % 2) { /* large magnitudes: overflow is likely */
			a.hi ^= INT64_C(0x4000000000000000);
			b.hi ^= INT64_C(0x4000000000000000);
		}
		s = big_add(big_money(a), big_money(b));
		d = big_sub(big_money(a), big_money(b));
		r = M("7");
		if (big_fits(s)) {
			assert_ok(cb_money_add(&r, a, b));
			assert_int_equal(0, big_cmp(s, big_money(r)));
		} else {
			assert_int_equal(CB_EOVERFLOW, cb_money_add(&r, a, b));
			assert_money_text("7", r);
			refused++;
		}
		if (big_fits(d)) {
			assert_ok(cb_money_sub(&r, a, b));
			assert_int_equal(0, big_cmp(d, big_money(r)));
		} else {
			assert_int_equal(CB_EOVERFLOW, cb_money_sub(&r, a, b));
			refused++;
		}
	}
	assert_true(refused > 1000);
}

/* ---- PostgreSQL oracle ------------------------------------------------- */

static void
test_money_agrees_with_postgresql(void **state)
{
	char path[4096], line[512], got[CB_MONEY_STR_MAX];
	size_t count[4] = { 0 }, lineno = 0;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/money/pg-oracle.tsv",
		cb_test_source_dir());
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *op = line, *a, *b, *want, *nl;
		cb_money x, y, r = CB_MONEY_ZERO;
		int rc = 0, kind = 0;

		lineno++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		a = strchr(op, '\t');
		b = a ? strchr(a + 1, '\t') : NULL;
		want = b ? strchr(b + 1, '\t') : NULL;
		if (a == NULL || b == NULL || want == NULL) {
			fail_msg("%s:%zu: not 4 fields", path, lineno);
			break; /* not reached: fail_msg leaves the test */
		}
		*a++ = *b++ = *want++ = '\0';

		if (strcmp(op, "parse") == 0) {
			kind = 0;
			rc = cb_money_parse(&r, a, strlen(a));
		} else {
			assert_ok(cb_money_parse(&x, a, strlen(a)));
			if (strcmp(op, "round") == 0) {
				kind = 3;
				rc = cb_money_round(&r, x, (unsigned)atoi(b));
			} else {
				assert_ok(cb_money_parse(&y, b, strlen(b)));
				if (strcmp(op, "mul") == 0) {
					kind = 1;
					rc = cb_money_mul(&r, x, y);
				} else if (strcmp(op, "div") == 0) {
					kind = 2;
					rc = cb_money_div(&r, x, y);
				} else {
					fail_msg("%s:%zu: unknown op %s", path,
						lineno, op);
				}
			}
		}
		if (rc != 0)
			snprintf(got, sizeof(got), "%s", cb_error_name(rc));
		else
			assert_ok(cb_money_format(got, sizeof(got), r));
		if (strcmp(want, got) != 0)
			fail_msg("%s:%zu: %s '%s' '%s': postgresql says %s, we "
				 "say %s",
				path, lineno, op, a, b, want, got);
		count[kind]++;
	}
	fclose(f);
	/* The file is generated with these proportions; a truncated or
	 * missing file must fail, not pass quietly. */
	assert_true(count[0] > 1900);
	assert_true(count[1] > 1400);
	assert_true(count[2] > 1400);
	assert_true(count[3] > 1400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_money_parse_accepts_every_form),
		cmocka_unit_test(test_money_parse_refuses_with_exact_message),
		cmocka_unit_test(test_money_parse_boundaries),
		cmocka_unit_test(test_money_parse_reads_exactly_len_bytes),
		cmocka_unit_test(
			test_money_parse_message_quotes_at_most_64_bytes),
		cmocka_unit_test(test_money_has_no_negative_zero),
		cmocka_unit_test(test_money_format_is_shortest_exact),
		cmocka_unit_test(test_money_format_fixed_rounds_and_pads),
		cmocka_unit_test(test_money_round_ties_go_away_from_zero),
		cmocka_unit_test(
			test_money_round_refuses_overflow_and_bad_places),
		cmocka_unit_test(test_money_converts_whole_and_minor_units),
		cmocka_unit_test(test_money_add_sub_neg_abs),
		cmocka_unit_test(test_money_mul_rounds_once_at_the_18th_place),
		cmocka_unit_test(test_money_div_rounds_once_at_the_18th_place),
		cmocka_unit_test(test_money_cmp_sign_is_zero),
		cmocka_unit_test(test_money_functions_never_allocate),
		cmocka_unit_test(test_money_currency_minor_units),
		cmocka_unit_test(test_money_allocate_splits_exactly),
		cmocka_unit_test(test_money_allocate_refuses_bad_input),
		cmocka_unit_test(test_money_allocate_random_splits_are_exact),
		cmocka_unit_test(test_money_parse_format_round_trip),
		cmocka_unit_test(
			test_money_mul_div_random_against_big_integers),
		cmocka_unit_test(
			test_money_arithmetic_small_values_against_int128),
		cmocka_unit_test(test_money_add_sub_random_overflow),
		cmocka_unit_test(test_money_agrees_with_postgresql),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
