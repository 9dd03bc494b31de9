/*
 * sql/store_costcopy.c - PostgreSQL's binary COPY encoding of what the
 * cost loader sends: the buffer, the numeric conversion and the hash.
 *
 * Binary COPY (PostgreSQL 15 documentation, COPY, "Binary Format") is a
 * 19-byte header, then per tuple a 16-bit field count and per field a
 * 32-bit length (-1: NULL) and the type's binary "send" form, all
 * big-endian, then a 16-bit -1.  It spares the server parsing decimal
 * text, and us escaping: text goes as its bytes.
 *
 * numeric's send form (src/backend/utils/adt/numeric.c, numeric_send):
 * int16 ndigits, int16 weight, uint16 sign (0x0000 positive, 0x4000
 * negative), int16 dscale, then ndigits int16 base-10000 digits, most
 * significant first; the value is sum(digit[i] x 10000^(weight - i)) and
 * dscale is the number of decimal places shown.  Leading and trailing
 * zero digits are left out; zero is ndigits 0, weight 0.  The server
 * truncates digits beyond dscale, so dscale must cover every non-zero
 * decimal: we send exactly the decimals the value needs, which is also
 * what makes the stored text look like the input ("0.000036").
 */
#include "core/common.h"
#include "sql/store_costs_internal.h"

/* Magnitudes: a cb_money is a 128-bit integer (see core/money.c). */
__extension__ typedef unsigned __int128 u128;

#define NBASE 10000
#define E18   UINT64_C(1000000000000000000)
#define E16   UINT64_C(10000000000000000)

const unsigned char cb__copy_header[CB_COPY_HEADER_LEN] = { 'P', 'G', 'C', 'O',
	'P', 'Y', '\n', 0xff, '\r', '\n', 0, /* signature */
	0, 0, 0, 0,                          /* flags: no OIDs */
	0, 0, 0, 0 };                        /* no header extension */

int
cb__copybuf_reserve(struct copybuf *b, size_t n)
{
	size_t cap;
	unsigned char *p;

	if (b->cap - b->len >= n)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2)
			return cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
				"copy buffer: out of memory");
		cap *= 2;
	}
	if ((p = cb__realloc(b->ptr, cap)) == NULL)
		return cb__error_set(CB_ENOMEM, CB_ERRCLASS_NOMEMORY,
			"copy buffer: out of memory");
	b->ptr = p;
	b->cap = cap;
	return 0;
}

void
cb__copybuf_dispose(struct copybuf *b)
{
	cb__free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

/* Decimal places a fraction of 18 digits needs (0 for 0). */
static int
frac_scale(uint64_t frac)
{
	int scale = 18;

	if (frac == 0)
		return 0;
	while (frac % 10 == 0) {
		frac /= 10;
		scale--;
	}
	return scale;
}

unsigned char *
cb__copy_numeric(unsigned char *p, cb_money v)
{
	uint16_t digits[11];
	int n = 0, first, last, weight;
	bool negative = v.hi < 0;
	u128 mag = ((u128)(uint64_t)v.hi << 64) | v.lo;
	u128 ip;
	uint64_t frac;

	if (negative)
		mag = ~mag + 1; /* also right for CB_MONEY_MIN: 2^127 */
	if (mag == 0) {
		p = cb__copy_u32(p, 8);
		p = cb__copy_u64(p, 0);
		return p;
	}
	ip = mag / E18;
	frac = (uint64_t)(mag % E18);

	/* Integer part: at most 21 decimal digits (2^127 / 10^18), so at
	 * most 6 base-10000 digits.  Collected least significant first. */
	{
		uint16_t rev[6];
		int r = 0;
		uint64_t low;

		if (ip >= E16) {
			uint64_t high = (uint64_t)(ip / E16);

			low = (uint64_t)(ip % E16);
			for (int i = 0; i < 4; i++) {
				rev[r++] = (uint16_t)(low % NBASE);
				low /= NBASE;
			}
			while (high) {
				rev[r++] = (uint16_t)(high % NBASE);
				high /= NBASE;
			}
		} else {
			low = (uint64_t)ip;
			while (low) {
				rev[r++] = (uint16_t)(low % NBASE);
				low /= NBASE;
			}
		}
		weight = r - 1; /* -1 when there is no integer part */
		while (r)
			digits[n++] = rev[--r];
	}
	/* Fraction: 18 decimals, padded to 20 = 5 base-10000 digits. */
	digits[n++] = (uint16_t)(frac / UINT64_C(100000000000000));
	digits[n++] = (uint16_t)(frac / UINT64_C(10000000000) % NBASE);
	digits[n++] = (uint16_t)(frac / UINT64_C(1000000) % NBASE);
	digits[n++] = (uint16_t)(frac / UINT64_C(100) % NBASE);
	digits[n++] = (uint16_t)(frac % 100 * 100);

	/* Drop leading zero digits (each lowers the weight) and trailing
	 * ones; the value is not zero, so one digit at least remains. */
	first = 0;
	while (digits[first] == 0) {
		first++;
		weight--;
	}
	last = n - 1;
	while (digits[last] == 0)
		last--;

	p = cb__copy_u32(p, (uint32_t)(8 + 2 * (last - first + 1)));
	p = cb__copy_u16(p, (uint16_t)(last - first + 1));
	p = cb__copy_u16(p, (uint16_t)(int16_t)weight);
	p = cb__copy_u16(p, negative ? 0x4000 : 0x0000);
	p = cb__copy_u16(p, (uint16_t)frac_scale(frac));
	for (int i = first; i <= last; i++)
		p = cb__copy_u16(p, digits[i]);
	return p;
}
