#!/usr/bin/env bash
# tests/integration/ingest_exact.sh - every amount exact, digit for digit.
#
# gen_exact_costs.py writes a partner cost file (the header and first row
# of `armsim gen-costs --rows 1`, repeated with changes) whose amounts
# are tricky - exponent forms (3.6E-05, -1.2345E+02, 1e3), 18 decimal
# places, 1e12 magnitudes, refunds, zeros in several spellings, leading
# and trailing zeros, '.5' and '5.', empty paygCost (absent) - in USD,
# EUR, JPY and a GBP group that cancels out to zero, and prints the
# expected rows and totals per billing currency, computed with Python's
# decimal module (exact, outside our code).  Then:
#   - `chargeback --output json ingest --file` prints those totals;
#   - `chargeback --output json costs` reports them (by none, customer
#     and day: the groups add up to them per currency);
#   - the store holds them: PostgreSQL's own sums of the numeric columns
#     of chargeback.cost_line joined to chargeback.cost_descriptor;
# every amount string compared digit for digit, and each printed amount
# in plain form (no exponent, no trailing zeros, "0" for zero).
. "$(dirname "$0")/lib.sh"

if [ -z "${ARMSIM:-}" ] || [ ! -x "$ARMSIM" ]; then
	echo "FAIL: ARMSIM must name the armsim binary (CTest sets it)" >&2
	exit 1
fi
if ! command -v python3 >/dev/null; then
	echo "FAIL: python3 not found (scripts/bootstrap installs it)" >&2
	exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
P=2026-07
F=$TEST_TMP/exact-costs.csv

"$ARMSIM" gen-costs --rows 1 --period $P --out "$TEST_TMP/template.csv" ||
	{ echo "FAIL: armsim gen-costs"; exit 1; }
python3 "$here/gen_exact_costs.py" --template "$TEST_TMP/template.csv" \
	--out "$F" --period $P --rows 2000 --seed 5 >"$TEST_TMP/expected" ||
	{ echo "FAIL: gen_exact_costs.py"; exit 1; }
# The generator's own figures, pinned: a change in it shows here first.
checks=$((checks + 1))
if ! diff -u - "$TEST_TMP/expected" <<'EOF'; then
EUR 624 190328103400879.293681256025941815 235701150608523.654531380350426551
GBP 4 0 0
JPY 700 286574729126772.271391292880810898 296686624912290.679648509596278944
USD 676 274826678134351.43542644753068712 179594642876514.948513345556988822
EOF
	failures=$((failures + 1))
	echo "FAIL: gen_exact_costs.py's expected totals changed (above)"
fi

# totals MODE: the last run's JSON as "CURRENCY ROWS COST PAYG_COST"
# lines, currency order.  MODE ingest: the loads' currencies, as printed;
# MODE costs: the report's groups added up per currency (exactly).  Every
# amount must be in plain form, else a line "not plain: ..." appears.
totals() {
	python3 - "$1" "$TEST_TMP/stdout" <<'PYEOF'
import decimal, json, sys
decimal.getcontext().prec = 200
decimal.getcontext().traps[decimal.Inexact] = True
def plain(d):
    return "0" if d == 0 else format(d.normalize(), "f")
def check(s):
    if not isinstance(s, str) or plain(decimal.Decimal(s)) != s:
        print("not plain: %r" % (s,))
    return decimal.Decimal(s)
mode, path = sys.argv[1], sys.argv[2]
doc = json.load(open(path))
out = {}
if mode == "ingest":
    for load in doc["loads"]:
        for c in load["currencies"]:
            check(c["cost"]); check(c["payg_cost"])
            if c["currency"] in out:
                print("currency %s twice" % c["currency"])
            out[c["currency"]] = (c["rows"], c["cost"], c["payg_cost"])
else:
    sums = {}
    for g in doc["groups"]:
        t = sums.setdefault(g["currency"], [0, decimal.Decimal(0), decimal.Decimal(0)])
        t[0] += g["rows"]
        t[1] += check(g["cost"])
        t[2] += check(g["payg_cost"])
    for k, (n, c, p) in sums.items():
        out[k] = (n, plain(c), plain(p))
for k in sorted(out):
    print(k, *out[k])
PYEOF
}

expect_totals() { # MODE: the last run's totals are the expected ones
	checks=$((checks + 1))
	totals "$1" >"$TEST_TMP/got" 2>&1
	if ! diff -u "$TEST_TMP/expected" "$TEST_TMP/got" >"$TEST_TMP/diff"; then
		fail "totals differ (- expected with decimal, + chargeback):"
		sed 's/^/  /' "$TEST_TMP/diff"
	fi
}

scratch_db
D=$SCRATCH_DSN
run --dsn "$D" db migrate
expect_status 0

run --dsn "$D" --output json ingest --file "$F" --period $P --scope exact
expect_status 0
expect_totals ingest
checks=$((checks + 1))
got=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["period"], len(d["loads"]), d["loads"][0]["scope"], d["loads"][0]["metric"], d["loads"][0]["rows"])' <"$TEST_TMP/stdout" 2>&1)
[ "$got" = "$P 1 exact actual 2004" ] ||
	fail "period, loads, scope, metric, rows: '$got', expected '$P 1 exact actual 2004'"

run --dsn "$D" --output json costs --period $P
expect_status 0
expect_totals costs
for by in customer day; do
	run --dsn "$D" --output json costs --period $P --by $by
	expect_status 0
	expect_totals costs
done

# The store: PostgreSQL sums the stored numeric columns itself.
checks=$((checks + 1))
sql "$D" "SELECT d.billing_currency, count(*),
	coalesce(trim_scale(sum(l.cost_in_billing_currency)), 0),
	coalesce(trim_scale(sum(l.payg_cost_in_billing_currency)), 0)
	FROM chargeback.cost_line l
	JOIN chargeback.cost_descriptor d ON d.customer_id = l.customer_id
	  AND d.period = l.period AND d.load_id = l.load_id
	  AND d.descriptor_id = l.descriptor_id
	JOIN chargeback.cost_load k ON k.load_id = l.load_id
	WHERE k.scope = 'exact' AND k.period = date '$P-01'
	  AND k.metric = 'actual' AND k.state = 'committed'
	GROUP BY 1 ORDER BY 1" 2>&1 | tr '|' ' ' >"$TEST_TMP/stored"
last_cmd="psql: sums of chargeback.cost_line by billing_currency"
if ! diff -u "$TEST_TMP/expected" "$TEST_TMP/stored" >"$TEST_TMP/diff"; then
	fail "stored sums differ (- expected with decimal, + stored):"
	sed 's/^/  /' "$TEST_TMP/diff"
fi

finish
