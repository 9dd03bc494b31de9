#!/usr/bin/env bash
# tests/integration/reconcile.sh - `chargeback reconcile` end to end: the
# real binary against the real armsim (plain HTTP on loopback) and
# PostgreSQL.
#
# Every expected figure is computed outside chargeback: the invoice
# amounts are the number literals of armsim's own invoice list (read with
# sed: jq 1.6 would turn them into doubles), put to the currency's minor
# unit by psql; the lines' sums are numeric sums over the stored lines
# (cost_line_full), which ingest.sh checks against the report's bytes.
#
#   before ingest: every invoice "no cost lines loaded", exit 1
#   after ingest:  every invoice matched exactly, text and JSON, exit 0;
#                  the invoices stored once however often fetched
#   overlap:       an invoice's own load next to the month's: not counted
#                  twice
#   tampered:      one stored line changed by a cent: that invoice
#                  mismatched by exactly that, exit 1; by a tenth of a
#                  cent: still matched (below the invoice's precision)
#   refused:       the invoice list refused (403): exit 1, Azure's message,
#                  the stored invoices unchanged
#   no invoice:    a month armsim has no invoice for, exit 1
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

TENANT=11111111-2222-4333-8444-555555555555
CLIENT=aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee
export ARMSIM_SECRET=reconcile-it-secret
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

cat >"$TEST_WORKDIR/chargeback.cfg" <<CFG
azure = { tenant_id = "$TENANT"; client_id = "$CLIENT";
  client_secret_env = "ARMSIM_SECRET";
  authority_host = "$BASE"; management_endpoint = "$BASE"; };
billing_accounts = [ "$ACCOUNT" ];
CFG
chmod 600 "$TEST_WORKDIR/chargeback.cfg"

# armsim's invoices of the month as "profile invoice currency value",
# sorted by profile: the literals as armsim wrote them.
curl -sf -H "Authorization: Bearer $TOKEN" \
	"$BASE$SCOPE/invoices?periodStartDate=$P-01&periodEndDate=2026-11-30&api-version=2024-04-01" |
	sed 's/{"id":"\/providers/\n&/g' | sed -nE \
	's/^.*"name":"([^"]+)","type":"Microsoft.Billing\/billingAccounts\/invoices".*"billedAmount":\{"currency":"([A-Z]{3})","value":([-0-9.eE+]+)\}.*\/billingProfiles\/([^"]+)","billingProfileDisplayName".*$/\4 \1 \2 \3/p' |
	sort >"$TEST_TMP/invoices"
check "armsim has three invoices" "$(wc -l <"$TEST_TMP/invoices")" 3

places() { case $1 in JPY) echo 0 ;; *) echo 2 ;; esac; }

# The text line reconcile should print for each invoice, from the
# invoice literals and the stored lines of the latest load carrying it.
expected() { # STATUS-OVERRIDE... (none: computed)
	local profile inv cur value p billed sum rows diff status
	while read -r profile inv cur value; do
		p=$(places "$cur")
		read -r sum rows <<<"$(sql "$DSN" "SELECT coalesce(trim_scale(sum(cost_in_billing_currency)), 0) || ' ' || count(*) FROM chargeback.cost_line_full WHERE metric = 'actual' AND invoice_id = '$inv' AND load_id = (SELECT max(load_id) FROM chargeback.cost_line_full WHERE metric = 'actual' AND invoice_id = '$inv')")"
		billed=$(sql "$DSN" "SELECT round($value::numeric, $p)")
		diff=$(sql "$DSN" "SELECT round($sum::numeric, $p) - round($value::numeric, $p)")
		if [ "$rows" = 0 ]; then
			status="no cost lines loaded"
			diff=$(sql "$DSN" "SELECT round(-$value::numeric, $p)")
		elif [ "$(sql "$DSN" "SELECT $diff = 0")" = t ]; then
			status=matched
		else
			status=mismatched
		fi
		echo "$profile $inv $cur: invoice $billed, lines $sum ($rows rows), difference $diff: $status"
	done <"$TEST_TMP/invoices"
}

# --- before any cost is loaded ------------------------------------------------
run --dsn "$DSN" reconcile
expect_status 2
expect_stderr <<EOF
chargeback: reconcile: --period YYYY-MM is required
EOF

run --dsn "$DSN" reconcile --period $P
expect_status 1
{ expected; echo "$P: 3 invoices: 0 matched, 0 mismatched, 3 with no cost lines loaded"; } >"$TEST_TMP/want"
expect_stdout <"$TEST_TMP/want"
expect_stderr <<EOF
chargeback: reconcile: $P: 3 of 3 invoices have no cost lines loaded: run 'chargeback ingest --period $P'
EOF
check "no-lines rows" "$(grep -c ', lines 0 (0 rows), ' "$TEST_TMP/stdout")" 3

# --- the month loaded: every invoice matches exactly --------------------------
run --dsn "$DSN" ingest --period $P
expect_status 0
run --dsn "$DSN" reconcile --period $P
expect_status 0
{ expected; echo "$P: 3 invoices: 3 matched, 0 mismatched, 0 with no cost lines loaded"; } >"$TEST_TMP/want"
expect_stdout <"$TEST_TMP/want"
expect_stderr </dev/null
# Independently: each invoice literal equals its lines' numeric sum.
while read -r _ inv _ value; do
	check "invoice $inv = its lines" "$(sql "$DSN" "SELECT sum(cost_in_billing_currency) = $value::numeric FROM chargeback.cost_line_full WHERE metric = 'actual' AND invoice_id = '$inv'")" t
done <"$TEST_TMP/invoices"

run --dsn "$DSN" --output json reconcile --period $P
expect_status 0
check "json counts" "$(jq -c '[.period, .matched, .mismatched, .no_lines, (.invoices | length)]' "$TEST_TMP/stdout")" "[\"$P\",3,0,0,3]"
check "json invoices" "$(jq -r '.invoices[] | [.billing_profile, .invoice, .currency, .invoice_amount, .lines_sum, .difference, .status, .scope, .loads] | map(tostring) | join(" ")' "$TEST_TMP/stdout")" \
	"$(while read -r profile inv cur value; do echo "$profile $inv $cur $value $value 0 matched $SCOPE 1"; done <"$TEST_TMP/invoices")"
# Amounts are JSON strings: exact, whatever reads them.
check "json amounts are strings" "$(jq -r '[.invoices[] | .invoice_amount, .lines_sum, .difference | type] | unique | join(",")' "$TEST_TMP/stdout")" string

# Fetched again: the invoices are replaced, not added.
check "stored invoices" "$(sql "$DSN" "SELECT count(*) || ' ' || count(DISTINCT fetched_at) FROM chargeback.invoice")" "3 1"
check "stored amounts" "$(sql "$DSN" "SELECT billing_profile_id || ' ' || invoice_id || ' ' || currency || ' ' || billed_amount FROM chargeback.invoice ORDER BY billing_profile_id COLLATE \"C\"")" "$(cat "$TEST_TMP/invoices")"

# --- an invoice's own load next to the month's: counted once -----------------
read -r PROFILE INVOICE CUR VALUE < <(grep ' USD ' "$TEST_TMP/invoices")
run --dsn "$DSN" ingest --period $P --invoice "$INVOICE" --scope "$SCOPE/billingProfiles/$PROFILE"
expect_status 0
run --dsn "$DSN" --output json reconcile --period $P
expect_status 0
check "overlap" "$(jq -r ".invoices[] | select(.invoice == \"$INVOICE\") | [.lines_sum, .loads, .scope, .status] | join(\" \")" "$TEST_TMP/stdout")" \
	"$VALUE 2 $SCOPE/billingProfiles/$PROFILE invoice $INVOICE matched"

# --- a tampered line ----------------------------------------------------------
# One stored line of the invoice's latest load, in its leaf partition.
read -r LOAD PART LINE < <(sql "$DSN" "SELECT load_id || ' ' || part || ' ' || line FROM chargeback.cost_line_full WHERE invoice_id = '$INVOICE' AND load_id = (SELECT max(load_id) FROM chargeback.cost_line_full WHERE invoice_id = '$INVOICE') ORDER BY part, line LIMIT 1" | tr '|' ' ')
leaf=chargeback.cost_line_l$LOAD
check "leaf exists" "$(sql "$DSN" "SELECT to_regclass('$leaf') IS NOT NULL")" t
sql "$DSN" "UPDATE $leaf SET cost_in_billing_currency = cost_in_billing_currency + 0.01 WHERE part = $PART AND line = $LINE" >/dev/null
run --dsn "$DSN" reconcile --period $P
expect_status 1
{ expected; echo "$P: 3 invoices: 2 matched, 1 mismatched, 0 with no cost lines loaded"; } >"$TEST_TMP/want"
expect_stdout <"$TEST_TMP/want"
check "tampered line" "$(grep " $INVOICE " "$TEST_TMP/stdout" | sed 's/ ([0-9]* rows)//')" \
	"$PROFILE $INVOICE USD: invoice $(sql "$DSN" "SELECT round($VALUE::numeric, 2)"), lines $(sql "$DSN" "SELECT trim_scale($VALUE + 0.01)"), difference 0.01: mismatched"
expect_stderr <<EOF
chargeback: reconcile: $P: 1 of 3 invoices do not match their cost lines
EOF

# Stored invoices, no call to Azure: the same finding.
run --dsn "$DSN" reconcile --period $P --no-fetch
expect_status 1
expect_stdout <"$TEST_TMP/want"

# A tenth of a cent is below the invoice's precision: matched, the
# lines' exact sum shown.
sql "$DSN" "UPDATE $leaf SET cost_in_billing_currency = cost_in_billing_currency - 0.009 WHERE part = $PART AND line = $LINE" >/dev/null
run --dsn "$DSN" reconcile --period $P
expect_status 0
check "sub-cent residue" "$(grep " $INVOICE " "$TEST_TMP/stdout" | sed 's/ ([0-9]* rows)//')" \
	"$PROFILE $INVOICE USD: invoice $(sql "$DSN" "SELECT round($VALUE::numeric, 2)"), lines $(sql "$DSN" "SELECT trim_scale($VALUE + 0.001)"), difference 0.00: matched"

# --- the invoice list refused: an error, the stored invoices unchanged -------
before=$(sql "$DSN" "SELECT string_agg(invoice_id || ' ' || fetched_at, ',' ORDER BY invoice_id) FROM chargeback.invoice")
curl -sf -X POST "$BASE/_armsim/faults" -d '{"faults":[{"route":"/providers/Microsoft.Billing/billingAccounts/{name}/invoices","kind":"status","status":403,"code":"AuthorizationFailed","message":"no access to the invoices"}]}' >/dev/null ||
	fail "fault plan refused"
run --dsn "$DSN" reconcile --period $P
expect_status 1
expect_stdout </dev/null
expect_stderr <<EOF
chargeback: reconcile: GET $BASE$SCOPE/invoices: http 403 AuthorizationFailed: no access to the invoices
EOF
curl -sf -X DELETE "$BASE/_armsim/faults" >/dev/null
check "refused list keeps the invoices" "$(sql "$DSN" "SELECT string_agg(invoice_id || ' ' || fetched_at, ',' ORDER BY invoice_id) FROM chargeback.invoice")" "$before"

# --- a month without an invoice ----------------------------------------------
run --dsn "$DSN" reconcile --period 2026-09
expect_status 1
expect_stdout </dev/null
expect_stderr <<EOF
chargeback: reconcile: no invoice of 2026-09 found at Azure
EOF

check "violations" "$(curl -sf "$BASE/_armsim/violations" | jq -c '[.violations[]? | [.kind, .path]] | unique')" '[]'

finish
