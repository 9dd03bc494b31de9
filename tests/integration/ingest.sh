#!/usr/bin/env bash
# tests/integration/ingest.sh - `chargeback ingest` and `chargeback costs`
# end to end: the real binary against the real armsim (plain HTTP on
# loopback) and PostgreSQL.
#
# Every expected total is computed outside chargeback: the same CSV bytes
# (armsim gen-costs, or the report's blobs fetched with curl) are \copy'd
# by psql into a table of text columns and summed as numeric.
#
#   files:   .csv and .csv.gz give the same exact totals; the same file
#            twice changes nothing; a re-priced month replaces the old one
#   errors:  a malformed row fails with FILE:LINE: column NAME and the
#            period keeps its data; a second load of the same key while
#            one runs is refused
#   kill:    the loader killed at several points (CHARGEBACK_FAULT_KILL),
#            then run again: the same totals and rows as a clean run, the
#            previous month intact until then, no leftovers
#   reports: ActualCost and AmortizedCost of a billing account; a report
#            that fails, a truncated blob, an expired link (renewed)
. "$(dirname "$0")/lib.sh"

if [ -z "${ARMSIM:-}" ] || [ ! -x "$ARMSIM" ]; then
	echo "FAIL: ARMSIM must name the armsim binary (CTest sets it)" >&2
	exit 1
fi
command -v jq >/dev/null || { echo "FAIL: jq not found" >&2; exit 1; }

P=2026-10
scratch_db
DSN=$SCRATCH_DSN
run --dsn "$DSN" db migrate
expect_status 0

check() { # WHAT GOT WANT
	checks=$((checks + 1))
	[ "$2" = "$3" ] || fail "$1: got [$2], want [$3]"
}

# Exact per-currency "CUR|rows|cost|payg" of a cost CSV, by psql alone.
raw_sums() { # FILE
	local head cols i=0 cur='' cost='' payg='' name
	head=$(head -1 "$1" | sed $'s/^\xef\xbb\xbf//' | tr -d '\r')
	IFS=, read -ra names <<<"$head"
	cols=
	for name in "${names[@]}"; do
		i=$((i + 1))
		cols="$cols${cols:+, }c$i text"
		case ${name,,} in
		billingcurrency) cur=c$i ;;
		costinbillingcurrency) cost=c$i ;;
		paygcostinbillingcurrency) payg=c$i ;;
		esac
	done
	"$PSQL" "$DSN" -X -q -v ON_ERROR_STOP=1 -tA >/dev/null <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.raw;
CREATE TABLE public.raw ($cols);
\copy public.raw FROM '$1' (FORMAT csv, HEADER)
SQL
	sql "$DSN" "SELECT $cur || '|' || count(*) || '|' || trim_scale(sum($cost::numeric)) || '|' || coalesce(trim_scale(sum(nullif($payg, '')::numeric)), 0) FROM public.raw GROUP BY $cur ORDER BY $cur COLLATE \"C\""
}

# The same from the last run's --output json (load N, default 0).
json_sums() {
	jq -r ".loads[${1:-0}].currencies[] | [.currency, .rows, .cost, .payg_cost] | map(tostring) | join(\"|\")" "$TEST_TMP/stdout"
}

# The store's own sums, over the view that joins lines and descriptors.
store_sums() { # SCOPE METRIC
	sql "$DSN" "SELECT billing_currency || '|' || count(*) || '|' || coalesce(trim_scale(sum(cost_in_billing_currency)), 0) || '|' || coalesce(trim_scale(sum(payg_cost_in_billing_currency)), 0) FROM chargeback.cost_line_full f WHERE f.scope = '$1' AND f.metric = '$2' GROUP BY billing_currency ORDER BY billing_currency COLLATE \"C\""
}

# Tables of the cost schema that are neither the partitioned parents nor
# attached partitions: what a killed load could leave behind.
leftovers() {
	sql "$DSN" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'chargeback' AND c.relkind IN ('r', 'p') AND c.relname ~ '^cost_(line|descriptor)_' AND NOT c.relispartition"
}

loading_loads() {
	sql "$DSN" "SELECT count(*) FROM chargeback.cost_load WHERE state = 'loading'"
}

# --- files ------------------------------------------------------------------
F1=$TEST_TMP/oct.csv
F2=$TEST_TMP/oct-repriced.csv
"$ARMSIM" gen-costs --rows 6000 --seed 3 --period $P --out "$F1" || exit 1
"$ARMSIM" gen-costs --rows 4500 --seed 4 --period $P --out "$F2" || exit 1
want1=$(raw_sums "$F1")
want2=$(raw_sums "$F2")
[ -n "$want1" ] && [ "$want1" != "$want2" ] || { echo "FAIL: raw sums: [$want1] [$want2]"; exit 1; }

run --dsn "$DSN" --output json ingest --period $P --file "$F1"
expect_status 0
check "first load totals" "$(json_sums)" "$want1"
check "first load rows" "$(jq -r '.loads[0].rows' "$TEST_TMP/stdout")" 6000
check "store sums" "$(store_sums files actual)" "$want1"
run --dsn "$DSN" --output json costs --period $P
expect_status 0
check "costs" "$(jq -r '.groups[] | [.currency, .rows, .cost, .payg_cost] | map(tostring) | join("|")' "$TEST_TMP/stdout")" "$want1"

# The same file again: nothing changes.
run --dsn "$DSN" --output json ingest --period $P --file "$F1"
expect_status 0
check "replay totals" "$(json_sums)" "$want1"
check "replay store" "$(store_sums files actual)" "$want1"
check "one committed load" "$(sql "$DSN" "SELECT count(*) FROM chargeback.cost_load WHERE scope = 'files' AND state = 'committed'")" 1
check "lines after replay" "$(sql "$DSN" "SELECT count(*) FROM chargeback.cost_line")" 6000

# gzip: the same bytes compressed give the same totals.
gzip -c "$F1" >"$TEST_TMP/oct.csv.gz"
run --dsn "$DSN" --output json ingest --period $P --file "$TEST_TMP/oct.csv.gz"
expect_status 0
check "gzip totals" "$(json_sums)" "$want1"

# A gzip file cut short is an error, not a shorter month.
head -c 20000 "$TEST_TMP/oct.csv.gz" >"$TEST_TMP/cut.csv.gz"
run --dsn "$DSN" ingest --period $P --file "$TEST_TMP/cut.csv.gz"
expect_status 1
expect_stderr <<EOF
chargeback: ingest: files actual: $TEST_TMP/cut.csv.gz: the gzip stream is truncated
EOF
check "cut gzip keeps the period" "$(store_sums files actual)" "$want1"

# A re-priced month replaces the old one.
run --dsn "$DSN" ingest --period $P --file "$F2"
expect_status 0
check "re-priced store" "$(store_sums files actual)" "$want2"
check "lines after re-price" "$(sql "$DSN" "SELECT count(*) FROM chargeback.cost_line")" 4500
check "no leftovers" "$(leftovers)" 0

# Two files are one load; text output names them.
head -1001 "$F1" >"$TEST_TMP/a.csv"
{ head -1 "$F1"; sed -n '1002,3001p' "$F1"; } >"$TEST_TMP/b.csv"
run --dsn "$DSN" ingest --period $P --scope two --file "$TEST_TMP/a.csv" "$TEST_TMP/b.csv"
expect_status 0
check "two files rows" "$(sed -n 1p "$TEST_TMP/stdout")" "loaded two $P actual: 3000 rows (files a.csv, b.csv)"

# --- malformed rows: FILE:LINE: column NAME, the period untouched -----------
bad=$TEST_TMP/bad.csv
awk -F, -v OFS=, 'NR == 7 { $47 = "12.3.4" } { print }' "$F1" >"$bad"
run --dsn "$DSN" ingest --period $P --file "$bad"
expect_status 1
expect_stderr <<EOF
chargeback: ingest: files actual: $bad:7: column costInBillingCurrency: not a decimal number: "12.3.4"
EOF
check "bad row keeps the period" "$(store_sums files actual)" "$want2"
check "bad row no leftovers" "$(leftovers)" 0

awk -F, -v OFS=, 'NR == 9 { $20 = "02/30/2026" } { print }' "$F1" >"$bad"
run --dsn "$DSN" ingest --period $P --file "$bad"
expect_status 1
expect_stderr_match "chargeback: ingest: files actual: $bad:9: column date: .*"

{ head -5 "$F1"; printf '%s\n' "$(sed -n 6p "$F1" | cut -d, -f1-30)"; } >"$bad"
run --dsn "$DSN" ingest --period $P --file "$bad"
expect_status 1
expect_stderr_match "chargeback: ingest: files actual: $bad:6: .*field.*"
check "short row keeps the period" "$(store_sums files actual)" "$want2"

run --dsn "$DSN" ingest --period 2026-11 --file "$F1"
expect_status 1
expect_stderr_match "chargeback: ingest: files actual: $F1:2: column date: 2026-10-01 is outside the period 2026-11"

run --dsn "$DSN" ingest --period $P --file "$TEST_TMP/missing.csv"
expect_status 1
expect_stderr <<EOF
chargeback: ingest: files actual: $TEST_TMP/missing.csv: No such file or directory
EOF

run --dsn "$DSN" ingest --file "$F1"
expect_status 2
expect_stderr <<EOF
chargeback: ingest: --period YYYY-MM is required
EOF

# --- a second load of the same key is refused while one runs -----------------
fifo=$TEST_TMP/fifo.csv
mkfifo "$fifo"
(cd "$TEST_WORKDIR" && exec "$CHARGEBACK" --dsn "$DSN" ingest --period $P --file "$fifo") \
	>"$TEST_TMP/first.out" 2>"$TEST_TMP/first.err" &
first=$!
for _ in $(seq 200); do
	[ "$(sql "$DSN" "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()")" -gt 0 ] && break
	sleep 0.05
done
run --dsn "$DSN" ingest --period $P --file "$F1"
expect_status 1
expect_stderr <<EOF
chargeback: ingest: files actual: a load of files $P actual is already running
EOF
cat "$F1" >"$fifo"
wait $first
check "first of two exit" $? 0
check "first of two store" "$(store_sums files actual)" "$want1"

# --- kill -9 at several points, then the same command again -----------------
# Each round starts from the re-priced month committed, kills a load of
# the first file, checks the month is still the re-priced one, then runs
# the load again and expects exactly the clean run's rows and totals.
for point in row:1 row:3000 row:6000 copy-end:1 swap:1 committed:1; do
	run --dsn "$DSN" ingest --period $P --file "$F2"
	CHARGEBACK_FAULT_KILL=$point run --dsn "$DSN" ingest --period $P --file "$F1"
	check "killed at $point: status" "$last_status" 137
	if [ "$point" = committed:1 ]; then
		check "killed at $point: committed" "$(store_sums files actual)" "$want1"
	else
		check "killed at $point: previous month" "$(store_sums files actual)" "$want2"
	fi
	run --dsn "$DSN" --output json ingest --period $P --file "$F1"
	expect_status 0
	check "after kill at $point: totals" "$(json_sums)" "$want1"
	check "after kill at $point: store" "$(store_sums files actual)" "$want1"
	check "after kill at $point: lines" "$(sql "$DSN" "SELECT count(*) FROM chargeback.cost_line l JOIN chargeback.cost_load c USING (load_id) WHERE c.scope = 'files'")" 6000
	check "after kill at $point: leftovers" "$(leftovers)" 0
	check "after kill at $point: loading" "$(loading_loads)" 0
done

# --- reports from armsim ----------------------------------------------------
TENANT=11111111-2222-4333-8444-555555555555
CLIENT=aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee
export ARMSIM_SECRET=ingest-it-secret
"$ARMSIM" --http --port 0 --port-file "$TEST_TMP/port" --quiet \
	--customers 4 --seed 7 --period $P --tenant-id $TENANT \
	--client-id $CLIENT --client-secret-env ARMSIM_SECRET \
	--lro-polls 1 --retry-after 1 --blob-rows 700 \
	--throttle 'costdetails-scope=100/min+1000/h+5000/d,costdetails-app=1000/min' \
	>"$TEST_TMP/armsim.log" 2>&1 &
armsim_pid=$!
trap 'kill $armsim_pid 2>/dev/null; wait $armsim_pid 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do [ -s "$TEST_TMP/port" ] && break; sleep 0.05; done
[ -s "$TEST_TMP/port" ] || { echo "FAIL: armsim did not start"; cat "$TEST_TMP/armsim.log"; exit 1; }
BASE=http://127.0.0.1:$(cat "$TEST_TMP/port")
TOKEN=$(curl -sf "$BASE/$TENANT/oauth2/v2.0/token" \
	-d grant_type=client_credentials -d client_id=$CLIENT \
	-d client_secret=$ARMSIM_SECRET \
	-d scope=https://management.azure.com/.default | jq -r .access_token)
[ -n "$TOKEN" ] || { echo "FAIL: no token from armsim"; exit 1; }
ACCOUNT=$(curl -sf -H "Authorization: Bearer $TOKEN" \
	"$BASE/providers/Microsoft.Billing/billingAccounts?api-version=2024-04-01" |
	jq -r '.value[0].name')
SCOPE=/providers/Microsoft.Billing/billingAccounts/$ACCOUNT

# The report's CSV as curl sees it: request, poll, concatenate the blobs
# (each blob has its own header row).
report_csv() { # SCOPE METRIC OUT
	local loc body code i=0 link
	loc=$(curl -s -D - -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' \
		-d "{\"metric\":\"$2\",\"timePeriod\":{\"start\":\"$P-01\",\"end\":\"$P-31\"}}" \
		"$BASE$1/providers/Microsoft.CostManagement/generateCostDetailsReport?api-version=2025-03-01" |
		tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
	for _ in $(seq 20); do
		sleep 1 # armsim's Retry-After
		body=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $TOKEN" "$loc")
		code=${body##*$'\n'}
		[ "$code" = 200 ] && break
	done
	: >"$3"
	while read -r link; do
		if [ $i -eq 0 ]; then curl -sf "$link" >>"$3"; else curl -sf "$link" | tail -n +2 >>"$3"; fi
		i=$((i + 1))
	done < <(jq -r '.manifest.blobs[].blobLink' <<<"${body%$'\n'*}")
}

cat >"$TEST_WORKDIR/chargeback.cfg" <<CFG
azure = { tenant_id = "$TENANT"; client_id = "$CLIENT";
  client_secret_env = "ARMSIM_SECRET";
  authority_host = "$BASE"; management_endpoint = "$BASE"; };
billing_accounts = [ "$ACCOUNT" ];
CFG
chmod 600 "$TEST_WORKDIR/chargeback.cfg"

report_csv "$SCOPE" ActualCost "$TEST_TMP/actual.csv"
report_csv "$SCOPE" AmortizedCost "$TEST_TMP/amortized.csv"
want_actual=$(raw_sums "$TEST_TMP/actual.csv")
want_amortized=$(raw_sums "$TEST_TMP/amortized.csv")
[ -n "$want_actual" ] || { echo "FAIL: no report from armsim"; exit 1; }

run --dsn "$DSN" --output json ingest --period $P --metric both
expect_status 0
check "report actual" "$(json_sums 0)" "$want_actual"
check "report amortized" "$(json_sums 1)" "$want_amortized"
check "report actual store" "$(store_sums "$SCOPE" actual)" "$want_actual"
check "report amortized store" "$(store_sums "$SCOPE" amortized)" "$want_amortized"
check "report source" "$(jq -r '.loads[0].source' "$TEST_TMP/stdout" | cut -c1-7)" "report "

# An invoice's lines are a load of their own: the month's load of the
# account stays as it was.
# Azure reports an invoice at billing profile scope only; without
# --scope the profiles sync recorded are asked (none here).
INVOICE=$(awk -F, 'NR == 2 { print $1 }' "$TEST_TMP/actual.csv")
PROFILE=$SCOPE/billingProfiles/$(awk -F, 'NR == 2 { print $5 }' "$TEST_TMP/actual.csv")
awk -F, -v inv="$INVOICE" 'NR == 1 || $1 == inv' "$TEST_TMP/actual.csv" >"$TEST_TMP/invoice.csv"
run --dsn "$DSN" --output json ingest --period $P --invoice "$INVOICE" --scope "$PROFILE"
expect_status 0
check "invoice totals" "$(json_sums)" "$(raw_sums "$TEST_TMP/invoice.csv")"
check "invoice store" "$(store_sums "$PROFILE invoice $INVOICE" actual)" "$(raw_sums "$TEST_TMP/invoice.csv")"
check "month kept" "$(store_sums "$SCOPE" actual)" "$want_actual"
run --dsn "$DSN" ingest --period $P --invoice "$INVOICE"
expect_status 1
expect_stderr <<EOF
chargeback: ingest: $SCOPE: no billing profile known to look for invoice $INVOICE in: run 'chargeback sync' first, or give --scope with the invoice's billing profile
EOF

# A customer scope per fault case: Azure allows two reports a minute per
# scope, and chargeback's limiter keeps to it.
mapfile -t CUSTOMERS < <(curl -sf -H "Authorization: Bearer $TOKEN" \
	"$BASE$SCOPE/customers?api-version=2024-04-01" | jq -r '.value[].name')
faults() { curl -sf -X POST "$BASE/_armsim/faults" -d "$1" >/dev/null || fail "fault plan refused: $1"; }

# A report that ends Failed: a clear error, nothing committed.
C0=$SCOPE/customers/${CUSTOMERS[0]}
faults '{"faults":[{"route":"generateCostDetailsReport","method":"POST","kind":"report-failed"}]}'
run --dsn "$DSN" ingest --period $P --scope "$C0"
expect_status 1
expect_stderr_match "chargeback: ingest: $C0 actual: .*[Ff]ailed.*"
check "failed report: nothing" "$(sql "$DSN" "SELECT count(*) FROM chargeback.cost_load WHERE scope = '$C0' AND state = 'committed'")" 0

# A truncated blob: a clear error, nothing committed.
C1=$SCOPE/customers/${CUSTOMERS[1]}
faults '{"faults":[{"route":"/blobs/","kind":"truncate","bytes":1000}]}'
run --dsn "$DSN" ingest --period $P --scope "$C1"
expect_status 1
expect_stderr_match "chargeback: ingest: $C1 actual: .*"
check "truncated: nothing" "$(sql "$DSN" "SELECT count(*) FROM chargeback.cost_load WHERE scope = '$C1' AND state = 'committed'")" 0
check "truncated: no sig in message" "$(grep -c 'sig=' "$TEST_TMP/stderr")" 0

# An expired link before the first byte: a fresh report, then success.
C2=$SCOPE/customers/${CUSTOMERS[2]}
faults '{"faults":[{"route":"generateCostDetailsReport","method":"POST","calls":[1],"kind":"expired-link"}]}'
run --dsn "$DSN" --output json ingest --period $P --scope "$C2"
expect_status 0
curl -sf -X DELETE "$BASE/_armsim/faults" >/dev/null
report_csv "$C2" ActualCost "$TEST_TMP/c2.csv"
check "expired link renewed" "$(json_sums)" "$(raw_sums "$TEST_TMP/c2.csv")"
check "violations" "$(curl -sf "$BASE/_armsim/violations" | jq -c '[.violations[]? | [.kind, .path]] | unique')" '[]'

# An account whose report is refused (403: the credentials may not read
# the whole account) is covered by its profiles' reports instead, in a
# database that knows the profiles (as sync records them).
scratch_db
DSN2=$SCRATCH_DSN
run --dsn "$DSN2" db migrate
expect_status 0
sql "$DSN2" "INSERT INTO chargeback.billing_account (id) VALUES ('$ACCOUNT')" >/dev/null
curl -sf -H "Authorization: Bearer $TOKEN" \
	"$BASE$SCOPE/billingProfiles?api-version=2024-04-01" |
	jq -r '.value[] | [.name, .properties.currency] | @tsv' |
	while IFS=$'\t' read -r id cur; do
		sql "$DSN2" "INSERT INTO chargeback.billing_profile (billing_account_id, id, currency) VALUES ('$ACCOUNT', '$id', '$cur')" >/dev/null
	done
nprofiles=$(sql "$DSN2" "SELECT count(*) FROM chargeback.billing_profile")
faults '{"faults":[{"route":"/providers/Microsoft.Billing/billingAccounts/{name}/providers/Microsoft.CostManagement/generateCostDetailsReport","kind":"status","status":403,"code":"AuthorizationFailed","message":"no access to the billing account"}]}'
run --dsn "$DSN2" --output json ingest --period $P
expect_status 0
curl -sf -X DELETE "$BASE/_armsim/faults" >/dev/null
check "profiles instead of the account" "$(jq -r '[.loads[].scope | test("/billingProfiles/")] | all and length == '"$nprofiles" "$TEST_TMP/stdout")" true
run --dsn "$DSN2" --output json costs --period $P
check "profiles add up to the account" "$(jq -r '.groups[] | [.currency, .rows, .cost, .payg_cost] | map(tostring) | join("|")' "$TEST_TMP/stdout")" "$want_actual"

finish
