#!/usr/bin/env python3
"""tests/integration/gen_exact_costs.py - a partner cost file with tricky
amounts, and its totals computed independently of chargeback.

    gen_exact_costs.py --template FILE --out FILE [--rows N] [--seed S]
                       [--period YYYY-MM]

--template is a partner cost CSV from `armsim gen-costs --rows 1`: its
header (the 70 MPA columns) and first row are kept, and --rows rows
(default 2000) are written from that row with, changed per row, the
usage date (a day of --period, default the template's), the resource
group (a handful of values, so there are several descriptors), the
billing currency (USD, EUR, JPY) and the two amounts the totals are
about: costInBillingCurrency and paygCostInBillingCurrency, drawn from
exponent forms (3.6E-05, -1.2345E+02, 1e3), 18-decimal values, values of
1e12 magnitude, refunds (negative), zeros in several spellings, leading
and trailing zeros, '.5' and '5.' forms, and (paygCost only) empty
fields, which are absent and not counted.  Four GBP rows follow whose
amounts cancel out (both totals exactly zero).  Seeded: the same arguments
write the same bytes.

Prints the expected totals, computed with Python's decimal module (exact:
the context holds 200 digits, far more than any sum here) from the very
strings written, one line per billing currency in code order:

    CURRENCY ROWS COST PAYG_COST

amounts in plain notation: no exponent, no trailing zeros, no '.' for a
whole number, '0' for zero (the form chargeback prints).
"""
import argparse
import csv
import decimal
import random
import sys

decimal.getcontext().prec = 200
decimal.getcontext().traps[decimal.Inexact] = True
decimal.getcontext().traps[decimal.Rounded] = True

CURRENCIES = ("USD", "EUR", "JPY")
GROUPS = ("rg-web-prod", "rg-data", "rg-refunds", "rg-batch", "rg-edge")


def plain(d):
    """The exact text of d without exponent or trailing zeros."""
    if d == 0:
        return "0"
    text = format(d.normalize(), "f")
    return text


def digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def amount(rng, allow_empty):
    """One amount's text, in one of the tricky forms."""
    kind = rng.randrange(14 if allow_empty else 13)
    sign = "-" if rng.random() < 0.3 else ""
    if kind == 0:  # mantissa and exponent, upper case, signed exponent
        return "%s%d.%sE-%02d" % (sign, rng.randrange(1, 10), digits(rng, rng.randrange(0, 6)),
                                  rng.randrange(1, 10))
    if kind == 1:  # positive exponent
        return "%s%d.%sE+%02d" % (sign, rng.randrange(1, 10), digits(rng, 4), rng.randrange(0, 4))
    if kind == 2:  # lower case, unsigned exponent
        return "%s%de%d" % (sign, rng.randrange(1, 100), rng.randrange(0, 4))
    if kind == 3:  # the 18th decimal place used
        return "%s%d.%s%d" % (sign, rng.randrange(0, 1000), digits(rng, 17), rng.randrange(1, 10))
    if kind == 4:  # 1e12 magnitude with decimals
        return "%s%d%s.%s" % (sign, rng.randrange(1, 10), digits(rng, 12), digits(rng, 6))
    if kind == 5:  # 1e12 magnitude written with an exponent
        return "%s%d.%sE+12" % (sign, rng.randrange(1, 10), digits(rng, 9))
    if kind == 6:  # a refund
        return "-%d.%s" % (rng.randrange(0, 5000), digits(rng, rng.randrange(1, 9)))
    if kind == 7:  # zero, spelled several ways
        return rng.choice(("0", "0.0", "0.000000000000000000", "-0", "0E+00", "-0.00", "+0"))
    if kind == 8:  # leading zeros, trailing zeros past the 18th place
        return rng.choice(("0012.5", "00.000001", "1.0000000000000000000", "-007.250000",
                           "3.60000000000000000000000E-05"))
    if kind == 9:  # '.5', '5.', explicit '+'
        return rng.choice((".5", "5.", "-.25", "+3.25", "+.75"))
    if kind == 10:  # the smallest steps
        return rng.choice(("0.000000000000000001", "-0.000000000000000001", "1E-18", "-1e-18"))
    if kind == 11:  # the issue's own examples
        return rng.choice(("3.6E-05", "-1.2345E+02"))
    if kind == 12:  # an ordinary price-like amount
        return "%s%d.%s" % (sign, rng.randrange(0, 100000), digits(rng, rng.randrange(0, 11)))
    return ""  # paygCost absent


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--template", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--period", default=None)
    args = ap.parse_args()

    with open(args.template, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        template = next(reader)
    col = {name.lower(): i for i, name in enumerate(header)}
    for need in ("date", "billingcurrency", "costinbillingcurrency",
                 "paygcostinbillingcurrency", "resourcegroupname"):
        if need not in col:
            sys.exit("gen_exact_costs: the template has no column '%s'" % need)
    month, _, year = template[col["date"]].partition("/01/")
    if args.period is not None:
        year, month = args.period.split("-")
    month = int(month)
    year = int(year)
    days = 30 if month in (4, 6, 9, 11) else 31
    if month == 2:
        days = 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28

    rng = random.Random(args.seed)
    totals = {}
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(header)
        for _ in range(args.rows):
            row = list(template)
            currency = rng.choice(CURRENCIES)
            cost = amount(rng, False)
            payg = amount(rng, True)
            row[col["date"]] = "%02d/%02d/%04d" % (month, rng.randrange(1, days + 1), year)
            row[col["billingcurrency"]] = currency
            row[col["costinbillingcurrency"]] = cost
            row[col["paygcostinbillingcurrency"]] = payg
            row[col["resourcegroupname"]] = rng.choice(GROUPS)
            writer.writerow(row)
            t = totals.setdefault(currency, [0, decimal.Decimal(0), decimal.Decimal(0)])
            t[0] += 1
            t[1] += decimal.Decimal(cost)
            if payg != "":
                t[2] += decimal.Decimal(payg)
        # A currency whose lines cancel out: its totals are exactly zero.
        for cost, payg in (("12.5", "7"), ("-12.50", ""), ("1E-18", "-7.000"),
                           ("-0.000000000000000001", "0")):
            row = list(template)
            row[col["date"]] = "%02d/%02d/%04d" % (month, days, year)
            row[col["billingcurrency"]] = "GBP"
            row[col["costinbillingcurrency"]] = cost
            row[col["paygcostinbillingcurrency"]] = payg
            writer.writerow(row)
            t = totals.setdefault("GBP", [0, decimal.Decimal(0), decimal.Decimal(0)])
            t[0] += 1
            t[1] += decimal.Decimal(cost)
            if payg != "":
                t[2] += decimal.Decimal(payg)
    for currency in sorted(totals):
        n, cost, payg = totals[currency]
        print(currency, n, plain(cost), plain(payg))


if __name__ == "__main__":
    main()
