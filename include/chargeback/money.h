/*
 * include/chargeback/money.h - exact decimal money.
 *
 * An amount is a signed 128-bit integer counting 10^-18 units: every figure
 * Azure sends (at most 18 decimal places in practice, see DESIGN.md "Money
 * is exact") is held exactly, from about -1.7e20 to +1.7e20.  Text is read
 * digit by digit and a value that cannot be held is refused, never
 * truncated.  The only roundings are a product or quotient at the 18th
 * place and an explicit rounding to a currency's minor unit, both half away
 * from zero like PostgreSQL's round(numeric), so any figure can be
 * re-derived in SQL.  No function here allocates; all are thread-safe.
 */
#ifndef CHARGEBACK_MONEY_H
#define CHARGEBACK_MONEY_H

#include "chargeback/common.h"

CB_BEGIN_DECL

/**
 * An exact amount: the two's complement 128-bit integer (hi:lo) times
 * 10^-18.  A plain value: copy it, compare it with cb_money_cmp() (not
 * memcmp), build it with the functions below.  There is no negative zero.
 */
typedef struct {
	uint64_t lo; /**< low 64 bits of the integer */
	int64_t hi;  /**< high 64 bits, sign included */
} cb_money;

/** Decimal places held: value = integer x 10^-CB_MONEY_SCALE. */
#define CB_MONEY_SCALE 18

/**
 * Buffer size that holds any cb_money_format() or cb_money_format_fixed()
 * text and its terminator.  The longest is the smallest amount,
 * "-170141183460469231731.687303715884105728": 41 characters.
 */
#define CB_MONEY_STR_MAX 48

/** Zero. */
#define CB_MONEY_ZERO ((cb_money){ 0, 0 })

/** The largest amount, 170141183460469231731.687303715884105727. */
#define CB_MONEY_MAX ((cb_money){ UINT64_MAX, INT64_MAX })

/** The smallest amount, -170141183460469231731.687303715884105728. */
#define CB_MONEY_MIN ((cb_money){ 0, INT64_MIN })

/**
 * Read a decimal from text (a CSV field, a JSON number's literal text).
 *
 * The grammar is [+-]? (D+ ('.' D*)? | '.' D+) ([eE] [+-]? D+)?, D a
 * digit 0-9: "12", "-0.5", "+3.25", ".5", "5.", "1e3", "3.6E-05",
 * "-1.2345E+02".  Like PostgreSQL's numeric input it takes ".5" and "5.";
 * unlike it, no spaces anywhere, no "NaN"/"Infinity", no hex or
 * underscores.  Leading zeros and trailing zeros past the 18th place are
 * fine ("1.0000000000000000000"); a non-zero digit past the 18th place,
 * once the exponent is applied, is refused rather than rounded.  When a
 * value is both too precise and too large, the precision is reported.
 *
 * @param[out] out  receives the amount; untouched on failure
 * @param text      the characters; need not be NUL-terminated; NULL only
 *                  when @p len is 0
 * @param len       number of characters in @p text
 * @return 0; CB_EPARSE if the text is not a decimal ("'12.3.4' is not a
 *         decimal") or has a non-zero digit past the 18th place ("'1e-19'
 *         has more than 18 decimal places"); CB_EOVERFLOW if it is beyond
 *         CB_MONEY_MIN..CB_MONEY_MAX ("'1e40' is out of range").  Messages
 *         quote at most the first 64 bytes, control bytes shown as '?'.
 */
CB_EXTERN(int) cb_money_parse(cb_money *out, const char *text, size_t len);

/**
 * Write the shortest exact text of @p v: no exponent, no trailing zeros,
 * no '.' for a whole number, '-' only when negative ("0", "-12.5",
 * "0.000000000000000001").  cb_money_parse() reads it back to @p v.
 *
 * @param[out] out  receives the NUL-terminated text; on failure it holds
 *                  "" when @p outlen > 0
 * @param outlen    size of @p out; CB_MONEY_STR_MAX is always enough
 * @return 0, or CB_EINVAL if @p outlen is too small.
 */
CB_EXTERN(int) cb_money_format(char *out, size_t outlen, cb_money v);

/**
 * Write @p v rounded half away from zero to @p places decimals, with
 * exactly that many decimals ("12.30", "-0.01", "1235" for 0 places).
 * A value that rounds to zero prints without sign ("0.00").  Never
 * overflows: the extremes print as their rounded text.
 *
 * @param[out] out  as for cb_money_format()
 * @param outlen    size of @p out; CB_MONEY_STR_MAX is always enough
 * @param places    0..18
 * @return 0, or CB_EINVAL if @p places > 18 or @p outlen is too small.
 */
CB_EXTERN(int)
cb_money_format_fixed(char *out, size_t outlen, cb_money v, unsigned places);

/** The amount @p units (whole units, e.g. 12 -> 12).  Always exact. */
CB_EXTERN(cb_money) cb_money_from_int(int64_t units);

/**
 * The amount @p minor x 10^-@p places (1234, 2 -> 12.34).  Always exact.
 *
 * @param[out] out  receives the amount; untouched on failure
 * @return 0, or CB_EINVAL if @p places > 18.
 */
CB_EXTERN(int)
cb_money_from_minor(cb_money *out, int64_t minor, unsigned places);

/**
 * @p v in units of 10^-@p places, rounded half away from zero
 * (12.345, 2 -> 1235; -0.005, 2 -> -1).
 *
 * @param[out] out  receives the count; untouched on failure
 * @return 0; CB_EINVAL if @p places > 18; CB_EOVERFLOW if the count does
 *         not fit in int64_t.
 */
CB_EXTERN(int) cb_money_to_minor(int64_t *out, cb_money v, unsigned places);

/**
 * @p a + @p b, exact.  @p out may alias an operand.
 * @return 0, or CB_EOVERFLOW (then @p out is untouched).
 */
CB_EXTERN(int) cb_money_add(cb_money *out, cb_money a, cb_money b);

/** @p a - @p b, exact; as cb_money_add(). */
CB_EXTERN(int) cb_money_sub(cb_money *out, cb_money a, cb_money b);

/** -@p a; CB_EOVERFLOW only for CB_MONEY_MIN.  As cb_money_add(). */
CB_EXTERN(int) cb_money_neg(cb_money *out, cb_money a);

/** |@p a|; CB_EOVERFLOW only for CB_MONEY_MIN.  As cb_money_add(). */
CB_EXTERN(int) cb_money_abs(cb_money *out, cb_money a);

/**
 * @p a x @p b (quantity x price, cost x rate): the exact product, rounded
 * half away from zero at the 18th place.  @p out may alias an operand.
 * @return 0, or CB_EOVERFLOW (then @p out is untouched).
 */
CB_EXTERN(int) cb_money_mul(cb_money *out, cb_money a, cb_money b);

/**
 * @p a / @p b (rates, averages), rounded half away from zero at the 18th
 * place.  @p out may alias an operand.
 * @return 0; CB_EINVAL if @p b is zero; CB_EOVERFLOW if the quotient is
 *         out of range.  @p out is untouched on failure.
 */
CB_EXTERN(int) cb_money_div(cb_money *out, cb_money a, cb_money b);

/** -1, 0 or 1 as @p a is less than, equal to or greater than @p b. */
CB_EXTERN(int) cb_money_cmp(cb_money a, cb_money b);

/** -1, 0 or 1: the sign of @p a. */
CB_EXTERN(int) cb_money_sign(cb_money a);

/** 1 if @p a is zero, else 0. */
CB_EXTERN(int) cb_money_is_zero(cb_money a);

/**
 * @p v rounded half away from zero to @p places decimals, as PostgreSQL's
 * round(numeric, places): 2.5 -> 3, -2.5 -> -3, 0.005 -> 0.01 at 2.
 *
 * @param[out] out  receives the amount; untouched on failure
 * @param places    0..18 (18 returns @p v)
 * @return 0; CB_EINVAL if @p places > 18; CB_EOVERFLOW if rounding away
 *         from zero passes CB_MONEY_MAX or CB_MONEY_MIN.
 */
CB_EXTERN(int) cb_money_round(cb_money *out, cb_money v, unsigned places);

/**
 * Split @p total over @p n weights by the largest-remainder method: each
 * part is a multiple of 10^-@p places, the parts sum exactly to @p total,
 * and each is within one unit (10^-@p places) of its exact share
 * total x w[i] / sum(w): every part gets the floor of its share's
 * magnitude, then the units left go one each to the largest remainders,
 * ties to the lower index.  A negative total (a refund) splits as the
 * mirror image of its magnitude.  Does not allocate; O(n) divisions plus
 * at most 128 passes over the remainders.
 *
 * @param[out] parts  @p n amounts; must not overlap @p weights; its
 *                    contents are unspecified on failure
 * @param total       a multiple of 10^-@p places (round it first)
 * @param weights     @p n amounts >= 0 with a positive sum no larger than
 *                    CB_MONEY_MAX; only their ratios matter
 * @param n           number of parts
 * @param places      0..18, usually cb_currency_minor_units()
 * @return 0; CB_EINVAL if @p places > 18, @p total is not a multiple of
 *         10^-@p places, a weight is negative or the weights sum to zero;
 *         CB_EOVERFLOW if the weights sum past CB_MONEY_MAX.
 */
CB_EXTERN(int)
cb_money_allocate(cb_money *parts, cb_money total, const cb_money *weights,
	size_t n, unsigned places);

/**
 * The minor units of an ISO 4217 currency (USD 2, JPY 0, KWD 3, CLF 4):
 * the places a customer-facing amount is rounded to.  Knows every code of
 * ISO 4217 list one that has minor units (published 2026-01-01), plus
 * codes withdrawn since 2023 that old billing periods still carry (ANG,
 * BGN, CUC, HRK, SLL, ZWL).  Codes without minor units (XAU, XDR, XTS,
 * XXX, ...) are not currencies one bills in and are not known.
 *
 * @param[out] out   receives the places; untouched on failure
 * @param iso4217    three upper-case letters, NUL-terminated ("usd" is
 *                   not known)
 * @return 0, or CB_ENOTFOUND ("unknown currency 'XYZ'").
 */
CB_EXTERN(int) cb_currency_minor_units(unsigned *out, const char *iso4217);

CB_END_DECL

#endif
