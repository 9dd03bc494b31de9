#!/usr/bin/env bash
# tests/integration/rate.sh - `chargeback rate` end to end over the
# data-driven cases of tests/data/rating/<case>/:
#
#   costs.csv     cost lines (MPA column names; a small subset of them)
#   rules.cfg     the rule set
#   expected.csv  the charge lines, exactly: psql's CSV of
#                 chargeback.charge_line in line order, amounts as stored
#
# Each case is ingested (`chargeback ingest --file`) and rated into one
# scratch database (each ingest and rate replaces the month's previous
# load and run), then:
#   - the charge lines are compared byte for byte with expected.csv;
#   - every line carries the run's rule-set hash, which is the one
#     printed, and only the latest run is committed;
#   - per currency, sum(billed) - sum(markup) = sum(cost) = the stored
#     lines' cost, in numeric (the engine checks it too);
#   - the cost lines shuffled (three orders) give the same bytes.
# Then: the text and JSON output of a run, re-rating, two ratings at
# once, and the refusals (nothing loaded, allocation this version does
# not apply, a retail base without retail cost, written lines that do
# not add up, no --period).  RATE_UPDATE=1 rewrites expected.csv (review
# the diff).
. "$(dirname "$0")/lib.sh"

P=2026-10
CASES=$CB_SOURCE_DIR/tests/data/rating
scratch_db
DSN=$SCRATCH_DSN
run --dsn "$DSN" db migrate
expect_status 0

check() { # WHAT GOT WANT
	checks=$((checks + 1))
	[ "$2" = "$3" ] || fail "$1: got [$2], want [$3]"
}

LINES="SELECT customer_id, billing_account_id, subscription_id,
  service_family, meter_category, meter_id, meter_name, charge_type,
  publisher_type, pricing_model, reseller_name, date, billing_currency,
  quantity, cost, retail, base, markup, billed, rule_name,
  allocation_rule, source_customer_id
  FROM chargeback.charge_line WHERE period = '$P-01'
  ORDER BY customer_id COLLATE \"C\", line_no"

charge_lines() {
	"$PSQL" "$DSN" -X -q -v ON_ERROR_STOP=1 --csv -c "$LINES"
}

# Rate case $1 with its costs.csv rows in the order of file $2.
rate_case() { # CASE COSTS
	cp "$CASES/$1/rules.cfg" "$TEST_WORKDIR/rules.cfg"
	echo 'rules_file = "rules.cfg";' >"$TEST_WORKDIR/chargeback.cfg"
	run --dsn "$DSN" ingest --period $P --file "$2"
	expect_status 0
	run --dsn "$DSN" --config chargeback.cfg rate --period $P
	expect_status 0
}

for dir in "$CASES"/*/; do
	case=$(basename "$dir")
	rate_case "$case" "$dir/costs.csv"
	charge_lines >"$TEST_TMP/got.csv"
	if [ "${RATE_UPDATE:-}" = 1 ]; then
		cp "$TEST_TMP/got.csv" "$dir/expected.csv"
	fi
	checks=$((checks + 1))
	if ! diff -u "$dir/expected.csv" "$TEST_TMP/got.csv" >"$TEST_TMP/diff"; then
		fail "case $case: charge lines differ (- expected, + actual):"
		sed 's/^/  /' "$TEST_TMP/diff"
	fi
	hash=$(sed -nE 's/.*; rules ([0-9a-f]{64})$/\1/p' "$TEST_TMP/stdout")
	check "case $case: hash printed" "${#hash}" 64
	check "case $case: lines of other runs or hashes" "$(sql "$DSN" \
		"SELECT count(*) FROM chargeback.charge_line l
		 JOIN chargeback.rating_run r USING (run_id)
		 WHERE l.period = '$P-01' AND (r.state <> 'committed'
		   OR l.rules_hash <> '$hash' OR r.rules_hash <> '$hash')")" 0
	check "case $case: committed runs" "$(sql "$DSN" \
		"SELECT count(*) FROM chargeback.rating_run
		 WHERE period = '$P-01' AND state = 'committed'")" 1
	check "case $case: conservation" "$(sql "$DSN" \
		"WITH c AS (SELECT billing_currency cur, sum(cost) cost,
		   sum(billed) - sum(markup) net FROM chargeback.charge_line
		   WHERE period = '$P-01' GROUP BY 1),
		 s AS (SELECT coalesce(billing_currency, '') cur,
		   sum(cost_in_billing_currency) cost
		   FROM chargeback.cost_line_full WHERE period = '$P-01'
		   AND metric = 'actual' GROUP BY 1)
		 SELECT count(*) FROM c FULL JOIN s USING (cur)
		 WHERE c.cost IS DISTINCT FROM s.cost OR c.net <> c.cost")" 0
	# Determinism: the same rows in other orders.
	for seed in 1 2 3; do
		{ head -1 "$dir/costs.csv"
		  tail -n +2 "$dir/costs.csv" |
			shuf --random-source=<(yes $seed); } >"$TEST_TMP/shuffled.csv"
		rate_case "$case" "$TEST_TMP/shuffled.csv"
		checks=$((checks + 1))
		charge_lines | cmp -s - "$TEST_TMP/got.csv" ||
			fail "case $case: shuffled input (seed $seed) gives other lines"
	done
done

# The report of a run, text and JSON (case percent).
rate_case percent "$CASES/percent/costs.csv"
hash=$(sed -nE 's/.*; rules ([0-9a-f]{64})$/\1/p' "$TEST_TMP/stdout")
run_id=$(sql "$DSN" "SELECT run_id FROM chargeback.rating_run WHERE state = 'committed'")
expect_stdout <<OUT
EUR  3 lines  cost 114.083333  markup 11.4083333  billed 125.4916663
$P: run $run_id: 3 charge lines (0 at cost, no rule); rules $hash
OUT
run --dsn "$DSN" --config chargeback.cfg --output json rate --period $P
expect_status 0
run_id=$((run_id + 1))
expect_stdout <<OUT
{"period":"$P","run_id":$run_id,"rules_hash":"$hash","lines":3,"unmatched":0,"currencies":[{"currency":"EUR","lines":3,"rows":4,"cost":"114.083333","markup":"11.4083333","billed":"125.4916663"}]}
OUT
check "re-rate: superseded runs keep no lines" "$(sql "$DSN" \
	"SELECT count(DISTINCT run_id) || '/' || min(run_id)
	 FROM chargeback.charge_line WHERE period = '$P-01'")" "1/$run_id"

# Two ratings of the month at once: both succeed, one after the other;
# the lines are those of the later one alone.
(cd "$TEST_WORKDIR" && "$CHARGEBACK" --dsn "$DSN" --config chargeback.cfg \
	rate --period $P >"$TEST_TMP/c1.out" 2>&1) &
c1=$!
(cd "$TEST_WORKDIR" && "$CHARGEBACK" --dsn "$DSN" --config chargeback.cfg \
	rate --period $P >"$TEST_TMP/c2.out" 2>&1) &
c2=$!
wait $c1; s1=$?
wait $c2; s2=$?
check "concurrent: both succeed" "$s1/$s2" 0/0
check "concurrent: one run's lines, the committed one" "$(sql "$DSN" \
	"SELECT count(DISTINCT l.run_id) || '/' || count(*) || '/' ||
	 min(r.state) FROM chargeback.charge_line l
	 JOIN chargeback.rating_run r USING (run_id)
	 WHERE l.period = '$P-01'")" 1/3/committed
run_id=$(sql "$DSN" "SELECT run_id FROM chargeback.rating_run WHERE state = 'committed'")

# Nothing loaded for the month: exit 1.
run --dsn "$DSN" --config chargeback.cfg rate --period 2026-09
expect_status 1
expect_stderr <<'ERR'
chargeback: rate: rating: no ActualCost lines of 2026-09 are loaded: run 'chargeback ingest --period 2026-09'
ERR

# Allocation this version does not apply is refused, and nothing is
# written.
cat >"$TEST_WORKDIR/rules.cfg" <<'CFG'
allocation = ( { name = "shared"; priority = 1;
	source = { resource_group = "rg-hub"; }; method = "even";
	targets = ( { customer = "bbbbbbbb-0000-4000-8000-000000000002"; } ); } );
markup = ( { name = "ten"; priority = 1; customers = { all = true; };
	base = "cost"; percent = 10; } );
CFG
run --dsn "$DSN" --config chargeback.cfg rate --period $P
expect_status 1
expect_stderr <<'ERR'
chargeback: rate: rules.cfg:1: allocation rule 'shared': not applied yet: resource group and tag sources
ERR
check "refused: the previous run stays" "$(sql "$DSN" \
	"SELECT count(DISTINCT run_id) || '/' || min(run_id)
	 FROM chargeback.charge_line WHERE period = '$P-01'")" "1/$run_id"

# A retail base for a line without retail cost.
printf '%s\n%s\n' "$(head -1 "$CASES/retail/costs.csv")" \
	'ba1,aaaaaaaa-0000-4000-8000-000000000001,Contoso,sub-a,Compute,m1,D2s v5,Virtual Machines,Usage,Microsoft,OnDemand,,USD,10/01/2026,1,80,' \
	>"$TEST_TMP/noretail.csv"
cp "$CASES/retail/rules.cfg" "$TEST_WORKDIR/rules.cfg"
run --dsn "$DSN" ingest --period $P --file "$TEST_TMP/noretail.csv"
expect_status 0
run --dsn "$DSN" --config chargeback.cfg rate --period $P
expect_status 1
expect_stderr <<'ERR'
chargeback: rate: rules.cfg:2: markup rule 'retail-less-5' prices retail cost, but 1 cost line of customer 'aaaaaaaa-0000-4000-8000-000000000001' (meter 'D2s v5') has no paygCostInBillingCurrency
ERR
check "refused: the run is recorded failed" "$(sql "$DSN" \
	"SELECT count(*) FROM chargeback.rating_run WHERE state = 'running'")" 0

# The invariant checked in SQL on what was written: a trigger that
# changes a written line's cost by a cent makes the run CB_EUNBALANCED,
# and nothing of it stays.
rate_case percent "$CASES/percent/costs.csv"
before=$(sql "$DSN" "SELECT min(run_id) FROM chargeback.charge_line")
sql "$DSN" "CREATE FUNCTION public.tamper() RETURNS trigger LANGUAGE plpgsql
  AS \$\$ BEGIN NEW.cost := NEW.cost + 0.01; NEW.billed := NEW.billed + 0.01;
  RETURN NEW; END \$\$;
  CREATE TRIGGER tamper BEFORE INSERT ON chargeback.charge_line
  FOR EACH ROW WHEN (NEW.line_no = 2) EXECUTE FUNCTION public.tamper()"
run --dsn "$DSN" --config chargeback.cfg rate --period $P
expect_status 1
expect_stderr <<'ERR'
chargeback: rate: rating 2026-10: the written charge lines do not add up to the stored cost in 1 currency
ERR
check "unbalanced: the previous run's lines stay" "$(sql "$DSN" \
	"SELECT count(DISTINCT run_id) || '/' || min(run_id) || '/' || count(*)
	 FROM chargeback.charge_line WHERE period = '$P-01'")" "1/$before/3"
check "unbalanced: the run is recorded failed" "$(sql "$DSN" \
	"SELECT state FROM chargeback.rating_run ORDER BY run_id DESC LIMIT 1")" failed
sql "$DSN" "DROP TRIGGER tamper ON chargeback.charge_line"

run --dsn "$DSN" rate
expect_status 2
expect_stderr <<'ERR'
chargeback: rate: --period YYYY-MM is required
ERR

finish
