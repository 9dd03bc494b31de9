/*
 * core/money.c - exact decimal money: parsing, formatting, arithmetic,
 * rounding, largest-remainder splits and the ISO 4217 minor units.
 *
 * An amount is N x 10^-18 with N a two's complement 128-bit integer.  The
 * arithmetic works on magnitudes (unsigned __int128) and applies the sign
 * last, so no signed 128-bit operation can overflow (undefined behaviour)
 * and every rounding is half away from zero by construction.  Products are
 * formed exactly in 256 bits and divided back with one 256-by-128-bit
 * division (u256_div), so rounding happens once.  __int128 is a GCC/Clang
 * extension confined to this file: the public type is two 64-bit halves.
 *
 * cb_money_parse() is on the ingest hot path (every cost field of every
 * CSV row), so its common case is one pass over the text accumulating
 * digits in a uint64_t and one 64x64->128 multiply; longer digit strings
 * take a second, exact path.  Error reporting is kept out of line.
 */
#include "core/common.h"
#include "chargeback/money.h"

/* Money code is where a silent narrowing costs real money (STYLE.md 6.10):
 * every conversion here is explicit. */
#pragma GCC diagnostic warning "-Wconversion"
#pragma GCC diagnostic warning "-Wsign-conversion"

__extension__ typedef unsigned __int128 u128;
__extension__ typedef __int128 i128;

#define MONEY_COLD __attribute__((cold, noinline))

#define U64_MAX  UINT64_MAX
#define U128_MAX (~(u128)0)
/* 2^127: the magnitude of CB_MONEY_MIN; CB_MONEY_MAX is one less. */
#define MAG_NEG_LIMIT ((u128)1 << 127)
#define MAG_POS_LIMIT (MAG_NEG_LIMIT - 1)

/* 10^18, one whole unit. */
#define UNIT UINT64_C(1000000000000000000)
#define E19  UINT64_C(10000000000000000000)

/* Parse error messages quote at most this many bytes of the text: enough
 * to recognise any real amount, short enough for a log line. */
#define MONEY_QUOTE_MAX 64

/*
 * Exponents are read up to this magnitude and saturate beyond: any
 * non-zero digit is then certainly too large or too precise, and adding a
 * digit position (below 2^63, the largest object size) cannot overflow an
 * int64_t.
 */
#define MONEY_EXP_CAP INT64_C(100000000000000000)

static const uint64_t pow10_u64[20] = { UINT64_C(1), UINT64_C(10),
	UINT64_C(100), UINT64_C(1000), UINT64_C(10000), UINT64_C(100000),
	UINT64_C(1000000), UINT64_C(10000000), UINT64_C(100000000),
	UINT64_C(1000000000), UINT64_C(10000000000), UINT64_C(100000000000),
	UINT64_C(1000000000000), UINT64_C(10000000000000),
	UINT64_C(100000000000000), UINT64_C(1000000000000000),
	UINT64_C(10000000000000000), UINT64_C(100000000000000000),
	UINT64_C(1000000000000000000), E19 };

/* 10^0 .. 10^38; 10^38 is the largest power of ten below 2^128. */
#define E19_TIMES(x) ((u128)E19 * (x))
static const u128 pow10_u128[39] = { 1, UINT64_C(10), UINT64_C(100),
	UINT64_C(1000), UINT64_C(10000), UINT64_C(100000), UINT64_C(1000000),
	UINT64_C(10000000), UINT64_C(100000000), UINT64_C(1000000000),
	UINT64_C(10000000000), UINT64_C(100000000000), UINT64_C(1000000000000),
	UINT64_C(10000000000000), UINT64_C(100000000000000),
	UINT64_C(1000000000000000), UINT64_C(10000000000000000),
	UINT64_C(100000000000000000), UINT64_C(1000000000000000000), E19,
	E19_TIMES(UINT64_C(10)), E19_TIMES(UINT64_C(100)),
	E19_TIMES(UINT64_C(1000)), E19_TIMES(UINT64_C(10000)),
	E19_TIMES(UINT64_C(100000)), E19_TIMES(UINT64_C(1000000)),
	E19_TIMES(UINT64_C(10000000)), E19_TIMES(UINT64_C(100000000)),
	E19_TIMES(UINT64_C(1000000000)), E19_TIMES(UINT64_C(10000000000)),
	E19_TIMES(UINT64_C(100000000000)), E19_TIMES(UINT64_C(1000000000000)),
	E19_TIMES(UINT64_C(10000000000000)),
	E19_TIMES(UINT64_C(100000000000000)),
	E19_TIMES(UINT64_C(1000000000000000)),
	E19_TIMES(UINT64_C(10000000000000000)),
	E19_TIMES(UINT64_C(100000000000000000)),
	E19_TIMES(UINT64_C(1000000000000000000)), E19_TIMES(E19) };
#undef E19_TIMES

/* ---- representation ---------------------------------------------------- */

static inline u128
money_bits(cb_money v)
{
	return ((u128)(uint64_t)v.hi << 64) | v.lo;
}

static inline cb_money
money_from_bits(u128 bits)
{
	cb_money m;

	m.lo = (uint64_t)bits;
	m.hi = (int64_t)(uint64_t)(bits >> 64);
	return m;
}

static inline bool
money_is_neg(cb_money v)
{
	return v.hi < 0;
}

/* |N| as an unsigned integer; 2^127 for CB_MONEY_MIN. */
static inline u128
money_mag(cb_money v)
{
	u128 bits = money_bits(v);

	return money_is_neg(v) ? (u128)0 - bits : bits;
}

/* The amount with magnitude mag and the given sign; mag must be within
 * the limit for that sign.  A zero magnitude is zero whatever the sign. */
static inline cb_money
money_from_mag(u128 mag, bool neg)
{
	return money_from_bits(neg ? (u128)0 - mag : mag);
}

static inline bool
money_mag_fits(u128 mag, bool neg)
{
	return mag <= (neg ? MAG_NEG_LIMIT : MAG_POS_LIMIT);
}

/* ---- 256-bit helpers --------------------------------------------------- */

/* (hi:lo) = a x b, exactly. */
static void
u128_mul_wide(u128 a, u128 b, u128 *hi, u128 *lo)
{
	uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
	uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
	u128 p00 = (u128)a0 * b0, p01 = (u128)a0 * b1;
	u128 p10 = (u128)a1 * b0, p11 = (u128)a1 * b1;
	/* At most 3 x (2^64 - 1): no carry lost. */
	u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;

	*lo = (mid << 64) | (uint64_t)p00;
	*hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
}

static inline int
u128_clz(u128 v)
{
	uint64_t hi = (uint64_t)(v >> 64);

	return hi ? __builtin_clzll(hi) : 64 + __builtin_clzll((uint64_t)v);
}

/*
 * (u1:u0) / v for u1 < v (so the quotient fits in 128 bits), remainder in
 * *rem.  Hacker's Delight's divlu (Warren, 2nd ed., fig. 9-3) with 128-bit
 * words and 64-bit half-words: normalise v so its top bit is set, then two
 * half-word quotient digits, each estimated from the top half of v and
 * corrected at most twice.  The products in the loop conditions cannot
 * overflow: q < b is tested first and the loops keep rhat < b.
 */
static u128
u256_div(u128 u1, u128 u0, u128 v, u128 *rem)
{
	const u128 b = (u128)1 << 64;
	int s = u128_clz(v);
	u128 vn1, vn0, un32, un21, un10, un1, un0, q1, q0, rhat;

	v <<= s;
	vn1 = v >> 64;
	vn0 = (uint64_t)v;
	un32 = s ? (u1 << s) | (u0 >> (128 - s)) : u1;
	un10 = u0 << s;
	un1 = un10 >> 64;
	un0 = (uint64_t)un10;

	q1 = un32 / vn1;
	rhat = un32 - q1 * vn1;
	while (q1 >= b || q1 * vn0 > ((rhat << 64) | un1)) {
		q1--;
		rhat += vn1;
		if (rhat >= b)
			break;
	}
	un21 = (un32 << 64) + un1 - q1 * v;

	q0 = un21 / vn1;
	rhat = un21 - q0 * vn1;
	while (q0 >= b || q0 * vn0 > ((rhat << 64) | un0)) {
		q0--;
		rhat += vn1;
		if (rhat >= b)
			break;
	}
	*rem = ((un21 << 64) + un0 - q0 * v) >> s;
	return (q1 << 64) + q0;
}

/*
 * Round (hi:lo) / d half away from zero into *q.  False when the quotient
 * does not fit in 128 bits.
 */
static bool
u256_div_round(u128 hi, u128 lo, u128 d, u128 *q)
{
	u128 r;

	if (hi >= d)
		return false;
	*q = u256_div(hi, lo, d, &r);
	if (r >= d - r) {
		if (*q == U128_MAX)
			return false;
		(*q)++;
	}
	return true;
}

/* ---- errors ------------------------------------------------------------ */

/* Copy at most MONEY_QUOTE_MAX bytes of text into buf for a message,
 * control bytes as '?', "..." when cut. */
static const char *
money_quote(char *buf, const char *text, size_t len)
{
	size_t n = len < MONEY_QUOTE_MAX ? len : MONEY_QUOTE_MAX, i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

enum money_parse_fault { PARSE_MALFORMED, PARSE_PRECISION, PARSE_RANGE };

static MONEY_COLD int
money_parse_error(enum money_parse_fault fault, const char *text, size_t len)
{
	char q[MONEY_QUOTE_MAX + 4];

	money_quote(q, text ? text : "", text ? len : 0);
	switch (fault) {
	case PARSE_PRECISION:
		return cb__error_set(CB_EPARSE, CB_ERRCLASS_MONEY,
			"'%s' has more than %d decimal places", q,
			CB_MONEY_SCALE);
	case PARSE_RANGE:
		return cb__error_set(CB_EOVERFLOW, CB_ERRCLASS_MONEY,
			"'%s' is out of range", q);
	case PARSE_MALFORMED:
		break;
	}
	return cb__error_set(
		CB_EPARSE, CB_ERRCLASS_MONEY, "'%s' is not a decimal", q);
}

/* "a <op> b is out of range" with both operands in full. */
static MONEY_COLD int
money_range_error(const char *op, cb_money a, cb_money b)
{
	char sa[CB_MONEY_STR_MAX], sb[CB_MONEY_STR_MAX];

	cb_money_format(sa, sizeof(sa), a);
	cb_money_format(sb, sizeof(sb), b);
	return cb__error_set(CB_EOVERFLOW, CB_ERRCLASS_MONEY,
		"%s %s %s is out of range", sa, op, sb);
}

static MONEY_COLD int
money_places_error(const char *func, unsigned places)
{
	return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
		"%s: %u decimal places is more than %d", func, places,
		CB_MONEY_SCALE);
}

/* ---- parsing ----------------------------------------------------------- */

/*
 * The exact path, for more than 19 mantissa digits (where the uint64_t
 * accumulator of the fast path could wrap).  The significand is the span
 * from the first to the last non-zero digit, so leading and trailing zeros
 * of any length cost nothing.  The value is S x 10^q, q the position of
 * the last non-zero digit, and it is representable iff q >= -18 and
 * S x 10^(q+18) is within the limit; S has at most 39 digits then (the
 * limit has 39), accumulated in 19-digit uint64_t chunks.
 */
static MONEY_COLD int
money_parse_long(cb_money *out, const char *text, size_t len, bool neg,
	const char *int_start, size_t int_len, const char *frac_start,
	size_t frac_len, int64_t exp)
{
	size_t n = int_len + frac_len, first = 0, last = n, i;
	u128 m = 0, mag;
	int64_t e;

#define DIGIT(i)                                                              \
	((unsigned)((i) < int_len ? int_start[i] : frac_start[(i)-int_len]) - \
		'0')

	while (first < n && DIGIT(first) == 0)
		first++;
	if (first == n) {
		*out = CB_MONEY_ZERO;
		return 0;
	}
	while (DIGIT(last - 1) == 0)
		last--;
	e = (int64_t)int_len - (int64_t)last + exp + CB_MONEY_SCALE;
	if (e < 0)
		return money_parse_error(PARSE_PRECISION, text, len);
	if (last - first > 39 || e > 38)
		return money_parse_error(PARSE_RANGE, text, len);
	for (i = first; i < last;) {
		size_t k = last - i < 19 ? last - i : 19;
		uint64_t chunk = 0;

		for (size_t j = 0; j < k; j++)
			chunk = chunk * 10 + DIGIT(i + j);
		/* Below 10^38 no fold can wrap; only a 39th digit needs a
		 * check. */
		if (last - first == 39 && i + k == last &&
			m > (U128_MAX - chunk) / pow10_u64[k])
			return money_parse_error(PARSE_RANGE, text, len);
		m = m * pow10_u64[k] + chunk;
		i += k;
	}
#undef DIGIT
	if (e > 0 && m > U128_MAX / pow10_u128[e])
		return money_parse_error(PARSE_RANGE, text, len);
	mag = m * pow10_u128[e];
	if (!money_mag_fits(mag, neg))
		return money_parse_error(PARSE_RANGE, text, len);
	*out = money_from_mag(mag, neg);
	return 0;
}

static inline bool
money_is_digit(unsigned char c)
{
	return (unsigned)(c - '0') < 10;
}

int
cb_money_parse(cb_money *out, const char *text, size_t len)
{
	const char *p = text, *end, *int_start, *frac_start;
	size_t int_len, frac_len = 0, zeros;
	uint64_t acc = 0;
	int64_t exp = 0, e;
	bool neg = false;
	u128 mag;

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(text != NULL || len == 0);
	if (len == 0)
		return money_parse_error(PARSE_MALFORMED, text, len);
	end = text + len;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	/*
	 * acc holds the digits after the leading zeros (of the integer part,
	 * then of the fraction when the integer part is zero); past 19 of
	 * them it wraps harmlessly and the long path takes over.  Skipping
	 * the zeros keeps "0.009865586851323632" on this path.
	 */
	int_start = p;
	while (p < end && *p == '0')
		p++;
	zeros = (size_t)(p - int_start);
	while (p < end && money_is_digit((unsigned char)*p))
		acc = acc * 10 + (unsigned)(*p++ - '0');
	int_len = (size_t)(p - int_start);
	frac_start = p;
	if (p < end && *p == '.') {
		frac_start = ++p;
		if (zeros == int_len)
			while (p < end && *p == '0')
				p++;
		zeros += (size_t)(p - frac_start);
		while (p < end && money_is_digit((unsigned char)*p))
			acc = acc * 10 + (unsigned)(*p++ - '0');
		frac_len = (size_t)(p - frac_start);
	}
	if (int_len + frac_len == 0)
		return money_parse_error(PARSE_MALFORMED, text, len);
	if (p < end && (*p == 'e' || *p == 'E')) {
		const char *exp_start;
		bool exp_neg = false;

		if (++p < end && (*p == '-' || *p == '+'))
			exp_neg = *p++ == '-';
		exp_start = p;
		for (; p < end && money_is_digit((unsigned char)*p); p++)
			if (exp < MONEY_EXP_CAP)
				exp = exp * 10 + (*p - '0');
		if (p == exp_start)
			return money_parse_error(PARSE_MALFORMED, text, len);
		if (exp_neg)
			exp = -exp;
	}
	if (p != end)
		return money_parse_error(PARSE_MALFORMED, text, len);

	if (int_len + frac_len - zeros > 19)
		return money_parse_long(out, text, len, neg, int_start, int_len,
			frac_start, frac_len, exp);

	/* acc < 10^19 holds every significant digit; value = acc x
	 * 10^(e - 18). */
	if (acc == 0) {
		*out = CB_MONEY_ZERO;
		return 0;
	}
	e = exp - (int64_t)frac_len + CB_MONEY_SCALE;
	if (e >= 0 && e <= 19) {
		/* < 10^38 < 2^127: always in range. */
		mag = (u128)acc * pow10_u64[e];
	} else if (e < 0) {
		if (e < -19 || acc % pow10_u64[-e] != 0)
			return money_parse_error(PARSE_PRECISION, text, len);
		mag = acc / pow10_u64[-e];
	} else {
		if (e > 38 || acc > U128_MAX / pow10_u128[e])
			return money_parse_error(PARSE_RANGE, text, len);
		mag = acc * pow10_u128[e];
		if (!money_mag_fits(mag, neg))
			return money_parse_error(PARSE_RANGE, text, len);
	}
	*out = money_from_mag(mag, neg);
	return 0;
}

/* ---- formatting -------------------------------------------------------- */

/* Write the decimal digits of v ending just before end; returns the
 * first digit written.  At least one digit. */
static char *
money_utoa(char *end, u128 v)
{
	/* Peel 19-digit chunks so the inner loop is 64-bit. */
	while (v > U64_MAX) {
		uint64_t chunk = (uint64_t)(v % E19);

		v /= E19;
		for (int i = 0; i < 19; i++) {
			*--end = (char)('0' + chunk % 10);
			chunk /= 10;
		}
	}
	uint64_t w = (uint64_t)v;
	do {
		*--end = (char)('0' + w % 10);
		w /= 10;
	} while (w);
	return end;
}

/* Write "[-]int[.frac]" with exactly places decimals of the count units
 * (units of 10^-places) into out. */
static int
money_emit(char *out, size_t outlen, bool neg, u128 units, unsigned places,
	bool trim)
{
	char buf[CB_MONEY_STR_MAX + 20], *end = buf + sizeof(buf), *s;
	u128 ip = units / pow10_u64[places];
	uint64_t fp = (uint64_t)(units % pow10_u64[places]);
	size_t n;

	if (trim)
		while (places > 0 && fp % 10 == 0) {
			fp /= 10;
			places--;
		}
	s = end;
	if (places > 0) {
		for (unsigned i = 0; i < places; i++) {
			*--s = (char)('0' + fp % 10);
			fp /= 10;
		}
		*--s = '.';
	}
	s = money_utoa(s, ip);
	if (neg && units != 0)
		*--s = '-';
	n = (size_t)(end - s);
	if (n + 1 > outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"money text needs %zu bytes, buffer has %zu", n + 1,
			outlen);
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int
cb_money_format(char *out, size_t outlen, cb_money v)
{
	CB_ASSERT_ARG(out != NULL || outlen == 0);
	return money_emit(out, outlen, money_is_neg(v), money_mag(v),
		CB_MONEY_SCALE, true);
}

/* round(mag x 10^-18, places) x 10^places, half away from zero. */
static inline u128
money_round_units(u128 mag, unsigned places)
{
	uint64_t unit = pow10_u64[CB_MONEY_SCALE - places];
	u128 q = mag / unit;
	uint64_t r = (uint64_t)(mag % unit);

	/* 2r >= unit, without overflow; never true when unit is 1. */
	if (r >= unit - r)
		q++;
	return q;
}

int
cb_money_format_fixed(char *out, size_t outlen, cb_money v, unsigned places)
{
	CB_ASSERT_ARG(out != NULL || outlen == 0);
	if (places > CB_MONEY_SCALE) {
		if (outlen > 0)
			out[0] = '\0';
		return money_places_error(__func__, places);
	}
	return money_emit(out, outlen, money_is_neg(v),
		money_round_units(money_mag(v), places), places, false);
}

/* ---- conversions ------------------------------------------------------- */

/* |v|, 2^63 for INT64_MIN. */
static inline u128
i64_mag(int64_t v)
{
	return v < 0 ? (u128)(0 - (uint64_t)v) : (u128)v;
}

cb_money
cb_money_from_int(int64_t units)
{
	/* |units| <= 2^63, x 10^18 < 2^123: exact. */
	return money_from_mag(i64_mag(units) * UNIT, units < 0);
}

int
cb_money_from_minor(cb_money *out, int64_t minor, unsigned places)
{
	CB_ASSERT_ARG(out);
	if (places > CB_MONEY_SCALE)
		return money_places_error(__func__, places);
	/* < 2^63 x 10^18 < 2^123: exact. */
	*out = money_from_mag(
		i64_mag(minor) * pow10_u64[CB_MONEY_SCALE - places], minor < 0);
	return 0;
}

int
cb_money_to_minor(int64_t *out, cb_money v, unsigned places)
{
	bool neg = money_is_neg(v);
	u128 q;

	CB_ASSERT_ARG(out);
	if (places > CB_MONEY_SCALE)
		return money_places_error(__func__, places);
	q = money_round_units(money_mag(v), places);
	if (q > (neg ? (u128)INT64_MAX + 1 : (u128)INT64_MAX)) {
		char s[CB_MONEY_STR_MAX];

		cb_money_format(s, sizeof(s), v);
		return cb__error_set(CB_EOVERFLOW, CB_ERRCLASS_MONEY,
			"%s in units of 10^-%u is out of range", s, places);
	}
	*out = neg ? (int64_t)(0 - (uint64_t)q) : (int64_t)q;
	return 0;
}

/* ---- arithmetic -------------------------------------------------------- */

int
cb_money_add(cb_money *out, cb_money a, cb_money b)
{
	i128 r;

	CB_ASSERT_ARG(out);
	if (__builtin_add_overflow(
		    (i128)money_bits(a), (i128)money_bits(b), &r))
		return money_range_error("+", a, b);
	*out = money_from_bits((u128)r);
	return 0;
}

int
cb_money_sub(cb_money *out, cb_money a, cb_money b)
{
	i128 r;

	CB_ASSERT_ARG(out);
	if (__builtin_sub_overflow(
		    (i128)money_bits(a), (i128)money_bits(b), &r))
		return money_range_error("-", a, b);
	*out = money_from_bits((u128)r);
	return 0;
}

int
cb_money_neg(cb_money *out, cb_money a)
{
	CB_ASSERT_ARG(out);
	if (a.hi == INT64_MIN && a.lo == 0)
		return cb__error_set(CB_EOVERFLOW, CB_ERRCLASS_MONEY,
			"-(%s) is out of range",
			"-170141183460469231731.687303715884105728");
	*out = money_from_bits((u128)0 - money_bits(a));
	return 0;
}

int
cb_money_abs(cb_money *out, cb_money a)
{
	CB_ASSERT_ARG(out);
	if (!money_is_neg(a)) {
		*out = a;
		return 0;
	}
	return cb_money_neg(out, a);
}

int
cb_money_mul(cb_money *out, cb_money a, cb_money b)
{
	bool neg = money_is_neg(a) != money_is_neg(b);
	u128 hi, lo, q;

	CB_ASSERT_ARG(out);
	u128_mul_wide(money_mag(a), money_mag(b), &hi, &lo);
	if (!u256_div_round(hi, lo, UNIT, &q) || !money_mag_fits(q, neg))
		return money_range_error("*", a, b);
	*out = money_from_mag(q, neg);
	return 0;
}

int
cb_money_div(cb_money *out, cb_money a, cb_money b)
{
	bool neg = money_is_neg(a) != money_is_neg(b);
	u128 hi, lo, q, d = money_mag(b);

	CB_ASSERT_ARG(out);
	if (d == 0) {
		char s[CB_MONEY_STR_MAX];

		cb_money_format(s, sizeof(s), a);
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_MONEY,
			"division by zero: %s / 0", s);
	}
	/* round(|a| x 10^18 / |b|), all in integers of 10^-18. */
	u128_mul_wide(money_mag(a), UNIT, &hi, &lo);
	if (!u256_div_round(hi, lo, d, &q) || !money_mag_fits(q, neg))
		return money_range_error("/", a, b);
	*out = money_from_mag(q, neg);
	return 0;
}

int
cb_money_cmp(cb_money a, cb_money b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

int
cb_money_sign(cb_money a)
{
	if (a.hi < 0)
		return -1;
	return (a.hi > 0 || a.lo != 0) ? 1 : 0;
}

int
cb_money_is_zero(cb_money a)
{
	return a.hi == 0 && a.lo == 0;
}

int
cb_money_round(cb_money *out, cb_money v, unsigned places)
{
	bool neg = money_is_neg(v);
	u128 mag;

	CB_ASSERT_ARG(out);
	if (places > CB_MONEY_SCALE)
		return money_places_error(__func__, places);
	/* q <= 2^127 / unit + 1, so q x unit < 2^128: no wrap. */
	mag = money_round_units(money_mag(v), places) *
	      pow10_u64[CB_MONEY_SCALE - places];
	if (!money_mag_fits(mag, neg)) {
		char s[CB_MONEY_STR_MAX];

		cb_money_format(s, sizeof(s), v);
		return cb__error_set(CB_EOVERFLOW, CB_ERRCLASS_MONEY,
			"%s rounded to %u places is out of range", s, places);
	}
	*out = money_from_mag(mag, neg);
	return 0;
}

/* ---- largest-remainder allocation -------------------------------------- */

/* (t x w) / sum: the floor and, in *rem, the remainder.  t x w < 2^128 x
 * sum because w <= sum, so the quotient fits (it is at most t). */
static inline u128
money_share(u128 t, u128 w, u128 sum, u128 *rem)
{
	u128 hi, lo;

	u128_mul_wide(t, w, &hi, &lo);
	return u256_div(hi, lo, sum, rem);
}

static size_t
money_count_at_least(const cb_money *rems, size_t n, u128 t)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += money_bits(rems[i]) >= t;
	return c;
}

static bool
money_overlap(const cb_money *a, const cb_money *b, size_t n)
{
	uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
	uintptr_t bytes = (uintptr_t)n * sizeof(cb_money);

	return pa < pb + bytes && pb < pa + bytes;
}

int
cb_money_allocate(cb_money *parts, cb_money total, const cb_money *weights,
	size_t n, unsigned places)
{
	bool neg = money_is_neg(total);
	u128 t, sum = 0, left, threshold = 0;
	uint64_t unit;
	size_t ties = 0;

	CB_ASSERT_ARG(n == 0 || (parts != NULL && weights != NULL));
	if (n > 0 && money_overlap(parts, weights, n))
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_INVALID,
			"%s: parts and weights overlap", __func__);
	if (places > CB_MONEY_SCALE)
		return money_places_error(__func__, places);
	unit = pow10_u64[CB_MONEY_SCALE - places];
	t = money_mag(total);
	if (t % unit != 0) {
		char s[CB_MONEY_STR_MAX], u[CB_MONEY_STR_MAX];

		cb_money_format(s, sizeof(s), total);
		cb_money_format(u, sizeof(u), money_from_bits(unit));
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_MONEY,
			"allocation total %s is not a multiple of %s", s, u);
	}
	t /= unit;

	for (size_t i = 0; i < n; i++) {
		if (money_is_neg(weights[i])) {
			char s[CB_MONEY_STR_MAX];

			cb_money_format(s, sizeof(s), weights[i]);
			return cb__error_set(CB_EINVAL, CB_ERRCLASS_MONEY,
				"allocation weight %zu is negative (%s)", i, s);
		}
		sum += money_bits(weights[i]);
		if (sum > MAG_POS_LIMIT)
			return cb__error_set(CB_EOVERFLOW, CB_ERRCLASS_MONEY,
				"allocation weights sum past the largest "
				"amount");
	}
	if (sum == 0)
		return cb__error_set(CB_EINVAL, CB_ERRCLASS_MONEY,
			"allocation weights sum to zero");

	/* Pass 1: floors are summed, remainders parked in parts[]. */
	left = t;
	for (size_t i = 0; i < n; i++) {
		u128 rem;

		left -= money_share(t, money_bits(weights[i]), sum, &rem);
		parts[i] = money_from_bits(rem);
	}

	/*
	 * left (< n) units go to the largest remainders, ties to the lower
	 * index.  Find the largest threshold with at least `left` remainders
	 * at or above it by bisection over the remainder values (< sum <
	 * 2^127, so at most 127 passes and no extra memory); every remainder
	 * above it wins, and the first `ties` equal to it.  Each winner has
	 * a positive remainder, since the remainders sum to left x sum.
	 */
	if (left > 0) {
		u128 lo = 1, hi = sum - 1;

		while (lo < hi) {
			u128 mid = lo + (hi - lo + 1) / 2;

			if (money_count_at_least(parts, n, mid) >= left)
				lo = mid;
			else
				hi = mid - 1;
		}
		threshold = lo;
		/* threshold < sum <= 2^127: threshold + 1 cannot wrap. */
		ties = (size_t)left -
		       money_count_at_least(parts, n, threshold + 1);
	}

	/* Pass 2: each part is its floor plus its unit, if it won one. */
	for (size_t i = 0; i < n; i++) {
		u128 rem, q = money_share(t, money_bits(weights[i]), sum, &rem);

		if (left > 0 && rem > threshold)
			q++;
		else if (left > 0 && rem == threshold && ties > 0) {
			q++;
			ties--;
		}
		parts[i] = money_from_mag(q * unit, neg);
	}
	return 0;
}

/* ---- ISO 4217 ---------------------------------------------------------- */

/*
 * Minor units of ISO 4217 list one (SIX Group, published 2026-01-01), in
 * code order for bisection.  Entries marked "withdrawn" left the list
 * recently (ANG 2025, BGN 2026 for the euro, CUC 2021, HRK 2023 for the
 * euro, SLL 2024, ZWL 2024) but stay so that re-running an old billing
 * period still works.  Codes with no minor unit (N.A. in the list: XAG,
 * XAU, XBA-XBD, XDR, XPD, XPT, XSU, XTS, XUA, XXX) are left out.
 */
static const struct {
	char code[4];
	unsigned char places;
} currencies[] = {
	{ "AED", 2 }, { "AFN", 2 }, { "ALL", 2 }, { "AMD", 2 },
	{ "ANG", 2 }, /* withdrawn */
	{ "AOA", 2 }, { "ARS", 2 }, { "AUD", 2 }, { "AWG", 2 }, { "AZN", 2 },
	{ "BAM", 2 }, { "BBD", 2 }, { "BDT", 2 }, { "BGN", 2 }, /* withdrawn */
	{ "BHD", 3 }, { "BIF", 0 }, { "BMD", 2 }, { "BND", 2 }, { "BOB", 2 },
	{ "BOV", 2 }, { "BRL", 2 }, { "BSD", 2 }, { "BTN", 2 }, { "BWP", 2 },
	{ "BYN", 2 }, { "BZD", 2 }, { "CAD", 2 }, { "CDF", 2 }, { "CHE", 2 },
	{ "CHF", 2 }, { "CHW", 2 }, { "CLF", 4 }, { "CLP", 0 }, { "CNY", 2 },
	{ "COP", 2 }, { "COU", 2 }, { "CRC", 2 }, { "CUC", 2 }, /* withdrawn */
	{ "CUP", 2 }, { "CVE", 2 }, { "CZK", 2 }, { "DJF", 0 }, { "DKK", 2 },
	{ "DOP", 2 }, { "DZD", 2 }, { "EGP", 2 }, { "ERN", 2 }, { "ETB", 2 },
	{ "EUR", 2 }, { "FJD", 2 }, { "FKP", 2 }, { "GBP", 2 }, { "GEL", 2 },
	{ "GHS", 2 }, { "GIP", 2 }, { "GMD", 2 }, { "GNF", 0 }, { "GTQ", 2 },
	{ "GYD", 2 }, { "HKD", 2 }, { "HNL", 2 }, { "HRK", 2 }, /* withdrawn */
	{ "HTG", 2 }, { "HUF", 2 }, { "IDR", 2 }, { "ILS", 2 }, { "INR", 2 },
	{ "IQD", 3 }, { "IRR", 2 }, { "ISK", 0 }, { "JMD", 2 }, { "JOD", 3 },
	{ "JPY", 0 }, { "KES", 2 }, { "KGS", 2 }, { "KHR", 2 }, { "KMF", 0 },
	{ "KPW", 2 }, { "KRW", 0 }, { "KWD", 3 }, { "KYD", 2 }, { "KZT", 2 },
	{ "LAK", 2 }, { "LBP", 2 }, { "LKR", 2 }, { "LRD", 2 }, { "LSL", 2 },
	{ "LYD", 3 }, { "MAD", 2 }, { "MDL", 2 }, { "MGA", 2 }, { "MKD", 2 },
	{ "MMK", 2 }, { "MNT", 2 }, { "MOP", 2 }, { "MRU", 2 }, { "MUR", 2 },
	{ "MVR", 2 }, { "MWK", 2 }, { "MXN", 2 }, { "MXV", 2 }, { "MYR", 2 },
	{ "MZN", 2 }, { "NAD", 2 }, { "NGN", 2 }, { "NIO", 2 }, { "NOK", 2 },
	{ "NPR", 2 }, { "NZD", 2 }, { "OMR", 3 }, { "PAB", 2 }, { "PEN", 2 },
	{ "PGK", 2 }, { "PHP", 2 }, { "PKR", 2 }, { "PLN", 2 }, { "PYG", 0 },
	{ "QAR", 2 }, { "RON", 2 }, { "RSD", 2 }, { "RUB", 2 }, { "RWF", 0 },
	{ "SAR", 2 }, { "SBD", 2 }, { "SCR", 2 }, { "SDG", 2 }, { "SEK", 2 },
	{ "SGD", 2 }, { "SHP", 2 }, { "SLE", 2 }, { "SLL", 2 }, /* withdrawn */
	{ "SOS", 2 }, { "SRD", 2 }, { "SSP", 2 }, { "STN", 2 }, { "SVC", 2 },
	{ "SYP", 2 }, { "SZL", 2 }, { "THB", 2 }, { "TJS", 2 }, { "TMT", 2 },
	{ "TND", 3 }, { "TOP", 2 }, { "TRY", 2 }, { "TTD", 2 }, { "TWD", 2 },
	{ "TZS", 2 }, { "UAH", 2 }, { "UGX", 0 }, { "USD", 2 }, { "USN", 2 },
	{ "UYI", 0 }, { "UYU", 2 }, { "UYW", 4 }, { "UZS", 2 }, { "VED", 2 },
	{ "VES", 2 }, { "VND", 0 }, { "VUV", 0 }, { "WST", 2 }, { "XAD", 2 },
	{ "XAF", 0 }, { "XCD", 2 }, { "XCG", 2 }, { "XOF", 0 }, { "XPF", 0 },
	{ "YER", 2 }, { "ZAR", 2 }, { "ZMW", 2 }, { "ZWG", 2 },
	{ "ZWL", 2 }, /* withdrawn */
};

int
cb_currency_minor_units(unsigned *out, const char *iso4217)
{
	size_t lo = 0, hi = CB_ARRAY_SIZE(currencies);

	CB_ASSERT_ARG(out);
	CB_ASSERT_ARG(iso4217);
	if (strnlen(iso4217, 4) == 3) {
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = memcmp(iso4217, currencies[mid].code, 3);

			if (c == 0) {
				*out = currencies[mid].places;
				return 0;
			}
			if (c < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
	}
	char q[MONEY_QUOTE_MAX + 4];

	money_quote(q, iso4217, strnlen(iso4217, MONEY_QUOTE_MAX + 1));
	return cb__error_set(
		CB_ENOTFOUND, CB_ERRCLASS_MONEY, "unknown currency '%s'", q);
}
