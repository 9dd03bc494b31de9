#!/usr/bin/env bash
# tests/integration/statement.sh - `chargeback statement` end to end:
# cost lines ingested and rated (`chargeback rate`, as rate.sh does),
# then the statements compared byte for byte.
#
#   tests/data/statement/thirds  three lines of 0.333333 EUR (Contoso,
#       whose name chargeback.customer knows) -> total 1.00, largest
#       remainder with a tie: 0.34/0.33/0.33 (the earlier line wins);
#       Fabrikam 5.005 -> 5.01; a partner-level line (no statement)
#   tests/data/rating/jpy        0 decimals: 1357.4 + 7.7 -> 1365 = 1357 + 8
#   tests/data/rating/refund     110 - 33.33 (refund apportioned apart)
# Plus --customer, --format json, a provisional month, and the refusals
# (no committed run, unknown customer, html, missing options).
. "$(dirname "$0")/lib.sh"

P=2026-10
scratch_db
DSN=$SCRATCH_DSN
run --dsn "$DSN" db migrate
expect_status 0

C1=aaaaaaaa-0000-4000-8000-000000000001
C2=bbbbbbbb-0000-4000-8000-000000000002

expect_out() { # FILE (under the work folder)
	cp "$TEST_WORKDIR/$1" "$TEST_TMP/got" 2>/dev/null || : >"$TEST_TMP/got"
	expect_file got
}

rate_case() { # DIR
	cp "$1/rules.cfg" "$TEST_WORKDIR/rules.cfg"
	echo 'rules_file = "rules.cfg";' >"$TEST_WORKDIR/chargeback.cfg"
	run --dsn "$DSN" ingest --period $P --file "$1/costs.csv"
	expect_status 0
	run --dsn "$DSN" --config chargeback.cfg rate --period $P
	expect_status 0
	hash=$(sed -nE 's/.*; rules ([0-9a-f]{64})$/\1/p' "$TEST_TMP/stdout")
}

# No committed run yet.
run --dsn "$DSN" statement --period $P --out out
expect_status 1
expect_stderr <<ERR
chargeback: statement: statement: $P has no committed rating run (run 'chargeback rate --period $P' first)
ERR
# Usage errors.
run --dsn "$DSN" statement --period $P --format html --out out
expect_status 2
expect_stderr_match '.*html statements are not built yet.*'
run --dsn "$DSN" statement --period $P --format xml --out out
expect_status 2
expect_stderr_match '.*--format must be csv or json.*'
run --dsn "$DSN" statement --period $P
expect_status 2
expect_stderr_match '.*--out DIR is required.*'
run --dsn "$DSN" statement --out out
expect_status 2
expect_stderr_match '.*--period YYYY-MM is required.*'

# Case thirds; Contoso's name from chargeback.customer.
sql "$DSN" "INSERT INTO chargeback.billing_account (id) VALUES ('ba1');
  INSERT INTO chargeback.customer (billing_account_id, customer_id,
  display_name) VALUES ('ba1', '$C1', 'Contoso, Ltd')" >/dev/null
rate_case "$CB_SOURCE_DIR/tests/data/statement/thirds"
run --dsn "$DSN" statement --period $P --out out
expect_status 0
expect_stdout <<OUT
out/$C1-EUR.csv
out/$C2-EUR.csv
$P: 2 statements
OUT
check_files() {
	checks=$((checks + 1))
	got=$(cd "$TEST_WORKDIR/out" && ls | tr '\n' ' ')
	[ "$got" = "$1" ] || fail "files in out/: [$got], want [$1]"
}
check_files "$C1-EUR.csv $C2-EUR.csv "
A="ba1,$C1,\"Contoso, Ltd\",$P,false,EUR,$hash"
expect_out out/$C1-EUR.csv <<OUT
record,partner,customer_id,customer_name,period,provisional,currency,rules_hash,subscription_id,service_family,meter_category,meter_id,meter_name,charge_type,date,quantity,amount
line,$A,sub-a,Compute,Virtual Machines,m1,D2s v5,Usage,2026-10-01,1,0.34
line,$A,sub-a,Compute,Virtual Machines,m1,D2s v5,Usage,2026-10-02,1,0.33
line,$A,sub-b,Storage,Storage,m2,"LRS, hot",Usage,2026-10-01,2,0.33
subscription,$A,sub-a,,,,,,,,0.67
subscription,$A,sub-b,,,,,,,,0.33
service_family,$A,,Compute,,,,,,,0.67
service_family,$A,,Storage,,,,,,,0.33
total,$A,,,,,,,,,1.00
OUT
B="ba1,$C2,,$P,false,EUR,$hash"
expect_out out/$C2-EUR.csv <<OUT
record,partner,customer_id,customer_name,period,provisional,currency,rules_hash,subscription_id,service_family,meter_category,meter_id,meter_name,charge_type,date,quantity,amount
line,$B,sub-c,Compute,Virtual Machines,m1,D2s v5,Usage,2026-10-05,1,5.01
subscription,$B,sub-c,,,,,,,,5.01
service_family,$B,,Compute,,,,,,,5.01
total,$B,,,,,,,,,5.01
OUT
# The lines add up to the total, in minor units, in every file.
for f in "$TEST_WORKDIR"/out/*.csv; do
	checks=$((checks + 1))
	awk -F, '$1 == "line" { s += $NF * 100 } $1 == "total" { t = $NF * 100 }
		END { exit !(sprintf("%.0f", s) == sprintf("%.0f", t)) }' \
		"$f" || fail "$f: lines do not add up to the total"
done

# --customer, JSON; same bytes twice.
run --dsn "$DSN" statement --period $P --customer $C1 --format json --out js
expect_status 0
expect_stdout <<OUT
js/$C1-EUR.json
$P: 1 statements
OUT
cp "$TEST_WORKDIR/js/$C1-EUR.json" "$TEST_TMP/first.json"
expect_out js/$C1-EUR.json <<OUT
{"partner":"ba1","customer_id":"$C1","customer_name":"Contoso, Ltd","period":"$P","provisional":false,"currency":"EUR","rules_hash":"$hash","total":"1.00","by_subscription":[{"subscription_id":"sub-a","amount":"0.67"},{"subscription_id":"sub-b","amount":"0.33"}],"by_service_family":[{"service_family":"Compute","amount":"0.67"},{"service_family":"Storage","amount":"0.33"}],"lines":[{"subscription_id":"sub-a","service_family":"Compute","meter_category":"Virtual Machines","meter_id":"m1","meter_name":"D2s v5","charge_type":"Usage","date":"2026-10-01","quantity":"1","amount":"0.34"},{"subscription_id":"sub-a","service_family":"Compute","meter_category":"Virtual Machines","meter_id":"m1","meter_name":"D2s v5","charge_type":"Usage","date":"2026-10-02","quantity":"1","amount":"0.33"},{"subscription_id":"sub-b","service_family":"Storage","meter_category":"Storage","meter_id":"m2","meter_name":"LRS, hot","charge_type":"Usage","date":"2026-10-01","quantity":"2","amount":"0.33"}]}
OUT
run --dsn "$DSN" statement --period $P --customer $C1 --format json --out js
expect_status 0
checks=$((checks + 1))
cmp -s "$TEST_TMP/first.json" "$TEST_WORKDIR/js/$C1-EUR.json" ||
	fail "a second run gives other bytes"

# Unknown customers, the partner bucket included.
for c in nobody ""; do
	run --dsn "$DSN" statement --period $P --customer "$c" --out none
	expect_status 1
	expect_stderr <<ERR
chargeback: statement: statement: customer '$c' has no charge lines in the $P rating run
ERR
done

# JPY, no decimals: 1357.4 + 7.7 = 1365.1 -> 1365 = 1357 + 8.
rm -rf "$TEST_WORKDIR/out"
rate_case "$CB_SOURCE_DIR/tests/data/rating/jpy"
run --dsn "$DSN" statement --period $P --out out
expect_status 0
check_files "$C1-JPY.csv "
A="ba1,$C1,\"Contoso, Ltd\",$P,false,JPY,$hash"
expect_out out/$C1-JPY.csv <<OUT
record,partner,customer_id,customer_name,period,provisional,currency,rules_hash,subscription_id,service_family,meter_category,meter_id,meter_name,charge_type,date,quantity,amount
line,$A,sub-a,Compute,Virtual Machines,m1,D2s v5,Usage,2026-10-01,3,1357
line,$A,sub-a,Compute,Virtual Machines,m1,D2s v5,Usage,2026-10-02,1,8
subscription,$A,sub-a,,,,,,,,1365
service_family,$A,,Compute,,,,,,,1365
total,$A,,,,,,,,,1365
OUT

# A refund: 110 - 33.33 = 76.67, each side apportioned on its own.
rate_case "$CB_SOURCE_DIR/tests/data/rating/refund"
run --dsn "$DSN" statement --period $P --format json --out out
expect_status 0
expect_out out/$C1-USD.json <<OUT
{"partner":"ba1","customer_id":"$C1","customer_name":"Contoso, Ltd","period":"$P","provisional":false,"currency":"USD","rules_hash":"$hash","total":"76.67","by_subscription":[{"subscription_id":"sub-a","amount":"76.67"}],"by_service_family":[{"service_family":"Compute","amount":"76.67"}],"lines":[{"subscription_id":"sub-a","service_family":"Compute","meter_category":"Virtual Machines","meter_id":"m1","meter_name":"D2s v5","charge_type":"Refund","date":"2026-10-03","quantity":"-1","amount":"-33.33"},{"subscription_id":"sub-a","service_family":"Compute","meter_category":"Virtual Machines","meter_id":"m1","meter_name":"D2s v5","charge_type":"Usage","date":"2026-10-03","quantity":"1","amount":"110.00"}]}
OUT

# An open month is provisional (until the 8th day after its end): move
# the run to this month.
M=$(date -u +%Y-%m)
sql "$DSN" "UPDATE chargeback.rating_run SET period = '$M-01'
  WHERE state = 'committed'; UPDATE chargeback.charge_line
  SET period = '$M-01'" >/dev/null
run --dsn "$DSN" statement --period $M --format json --out open
expect_status 0
checks=$((checks + 1))
grep -q '"period":"'$M'","provisional":true,' \
	"$TEST_WORKDIR/open/$C1-USD.json" || fail "$M is not provisional"

finish
