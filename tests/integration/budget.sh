#!/usr/bin/env bash
# tests/integration/budget.sh - `chargeback budget` end to end: the real
# binary against the real armsim (plain HTTP on loopback) and PostgreSQL.
#
# plan shows creates; apply converges in one run; the second plan and
# apply change nothing; a budget made by hand (curl, no "cb-" marker) is
# listed and never touched; a budget edited at armsim between plan and
# apply is refused by its stale eTag and reported for that customer while
# the others are applied (exit 1); delete removes only managed budgets.
# Exact outputs throughout.
. "$(dirname "$0")/lib.sh"

if [ -z "${ARMSIM:-}" ] || [ ! -x "$ARMSIM" ]; then
	echo "FAIL: ARMSIM must name the armsim binary (CTest sets it)" >&2
	exit 1
fi
command -v jq >/dev/null || { echo "FAIL: jq not found" >&2; exit 1; }

TENANT=11111111-2222-4333-8444-555555555555
CLIENT=aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee
export ARMSIM_SECRET=budget-it-secret
"$ARMSIM" --http --port 0 --port-file "$TEST_TMP/port" --quiet \
	--customers 3 --seed 11 --period 2026-10 --tenant-id $TENANT \
	--client-id $CLIENT --client-secret-env ARMSIM_SECRET \
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
arm() { # METHOD PATH [BODY]: prints the body, then the status on a line
	curl -s -X "$1" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' ${3:+-d "$3"} \
		-w '\n%{http_code}\n' "$BASE$2"
}

# The store: the schema, then armsim's customers as `chargeback sync`
# would record them.
scratch_db
DSN=$SCRATCH_DSN
run --dsn "$DSN" db migrate
expect_status 0
accounts=$(curl -sf -H "Authorization: Bearer $TOKEN" \
	"$BASE/providers/Microsoft.Billing/billingAccounts?api-version=2024-04-01" |
	jq -r '.value[].name')
for ba in $accounts; do
	sql "$DSN" "INSERT INTO chargeback.billing_account (id) VALUES ('$ba')"
	curl -sf -H "Authorization: Bearer $TOKEN" \
		"$BASE/providers/Microsoft.Billing/billingAccounts/$ba/customers?api-version=2024-04-01" |
		jq -r '.value[] | [.name, .properties.displayName] | @tsv' |
		while IFS=$'\t' read -r id name; do
			sql "$DSN" "INSERT INTO chargeback.customer (billing_account_id, customer_id, display_name) VALUES ('$ba', '$id', '$name')"
		done
done
mapfile -t CUST < <(sql "$DSN" "SELECT customer_id FROM chargeback.customer ORDER BY billing_account_id, customer_id")
mapfile -t SCOPE < <(sql "$DSN" "SELECT '/providers/Microsoft.Billing/billingAccounts/' || billing_account_id || '/customers/' || customer_id FROM chargeback.customer ORDER BY billing_account_id, customer_id")
[ "${#CUST[@]}" -ge 3 ] || { echo "FAIL: armsim has ${#CUST[@]} customers"; exit 1; }
C0=${CUST[0]} C1=${CUST[1]} C2=${CUST[2]}
N=${#CUST[@]}

write_config() { # AMOUNT
	cat >"$TEST_WORKDIR/chargeback.cfg" <<CFG
azure = { tenant_id = "$TENANT"; client_id = "$CLIENT";
  client_secret_env = "ARMSIM_SECRET";
  authority_host = "$BASE"; management_endpoint = "$BASE"; };
budgets = (
  { name = "std"; select = { all = true; };
    amount = $1; time_grain = "Monthly"; start = "2026-10-01";
    notifications = (
      { threshold = 80; emails = [ "ops@partner.example" ]; },
      { type = "Forecasted"; operator = "GreaterThanOrEqualTo";
        threshold = 100; emails = [ "ops@partner.example" ]; } ); }
);
CFG
	chmod 600 "$TEST_WORKDIR/chargeback.cfg"
}
write_config 5000.25

# A budget made by hand, without the marker.
hand='{"properties":{"category":"Cost","amount":42,"timeGrain":"Monthly","timePeriod":{"startDate":"2026-10-01T00:00:00Z"},"notifications":{}}}'
arm PUT "${SCOPE[1]}/providers/Microsoft.Consumption/budgets/manual-budget?api-version=2024-08-01" "$hand" | tail -1 >"$TEST_TMP/st"
[ "$(cat "$TEST_TMP/st")" = 201 ] || { echo "FAIL: hand-made budget not created"; exit 1; }

# --- plan: creates, the hand-made one listed --------------------------------
expected_creates() {
	for c in "${CUST[@]}"; do
		echo "$c  cb-std  create  amount 5000.25"
		[ "$c" = "$C1" ] && echo "$c  manual-budget  not-managed  amount 42"
	done
	true
}
run --dsn "$DSN" budget plan
expect_status 0
{ expected_creates; echo "plan: $N to create, 0 to update, 0 to delete, 0 unchanged, 1 not managed, 0 failed"; } | expect_stdout
expect_stderr </dev/null

# --- apply converges in one run ---------------------------------------------
run --dsn "$DSN" budget apply
expect_status 0
{ expected_creates; echo "applied: $N to create, 0 to update, 0 to delete, 0 unchanged, 1 not managed, 0 failed"; } | expect_stdout
checks=$((checks + 1))
got=$(sql "$DSN" "SELECT count(*) = $N AND sum(new_amount) = 5000.25 * $N FROM chargeback.budget_change WHERE action = 'create' AND budget_name = 'cb-std' AND old_amount IS NULL AND config_hash ~ '^[0-9a-f]{16}\$'")
[ "$got" = t ] || fail "budget_change: $(sql "$DSN" "SELECT action, budget_name, old_amount, new_amount FROM chargeback.budget_change")"

# --- the second plan and apply change nothing -------------------------------
expected_unchanged() {
	for c in "${CUST[@]}"; do
		echo "$c  cb-std  unchanged  amount 5000.25"
		[ "$c" = "$C1" ] && echo "$c  manual-budget  not-managed  amount 42"
	done
	true
}
run --dsn "$DSN" budget plan
expect_status 0
{ expected_unchanged; echo "plan: 0 to create, 0 to update, 0 to delete, $N unchanged, 1 not managed, 0 failed"; } | expect_stdout
run --dsn "$DSN" budget apply
expect_status 0
{ expected_unchanged; echo "applied: 0 to create, 0 to update, 0 to delete, $N unchanged, 1 not managed, 0 failed"; } | expect_stdout
checks=$((checks + 1))
[ "$(sql "$DSN" "SELECT count(*) FROM chargeback.budget_change")" = "$N" ] || fail "a second apply recorded changes"

# --- list, as JSON --------------------------------------------------------------
run --dsn "$DSN" --output json budget list --customer "$C1"
expect_status 0
expect_stdout <<OUT
{"budgets":[{"billing_account_id":"$(sql "$DSN" "SELECT billing_account_id FROM chargeback.customer WHERE customer_id = '$C1'")","customer_id":"$C1","customer_name":"$(sql "$DSN" "SELECT display_name FROM chargeback.customer WHERE customer_id = '$C1'")","budget":"cb-std","action":"unchanged","amount":"5000.25","new_amount":null,"changes":null,"error":null,"result":null},{"billing_account_id":"$(sql "$DSN" "SELECT billing_account_id FROM chargeback.customer WHERE customer_id = '$C1'")","customer_id":"$C1","customer_name":"$(sql "$DSN" "SELECT display_name FROM chargeback.customer WHERE customer_id = '$C1'")","budget":"manual-budget","action":"not-managed","amount":"42","new_amount":null,"changes":null,"error":null,"result":null}],"failed":0}
OUT

# --- a concurrent edit between plan and apply -------------------------------
# The last customer's listing is slowed down; while the apply waits for
# it, the first customer's budget is changed at armsim directly, so the
# eTag the apply read for it is stale by the time it writes.
write_config 6000
curl -sf -X POST "$BASE/_armsim/faults" -d "{\"faults\":[{\"route\":\"customers/$C2/providers/Microsoft.Consumption/budgets\",\"method\":\"GET\",\"kind\":\"latency\",\"delayMs\":1500}]}" >/dev/null ||
	{ echo "FAIL: fault plan refused"; exit 1; }
seq0=$(curl -sf "$BASE/_armsim/requests" | jq '[.requests[].seq] | max')
(run --dsn "$DSN" budget apply; echo "$last_status" >"$TEST_TMP/status") &
apply_pid=$!
for _ in $(seq 200); do
	curl -sf "$BASE/_armsim/requests?since=$seq0" |
		jq -e --arg p "customers/$C0/providers/Microsoft.Consumption/budgets" \
			'[.requests[] | select(.method == "GET" and (.path | endswith($p)))] | length > 0' >/dev/null && break
	sleep 0.02
done
edit='{"properties":{"category":"Cost","amount":7777,"timeGrain":"Monthly","timePeriod":{"startDate":"2026-10-01T00:00:00Z"},"notifications":{}}}'
arm PUT "${SCOPE[0]}/providers/Microsoft.Consumption/budgets/cb-std?api-version=2024-08-01" "$edit" | tail -1 >"$TEST_TMP/st"
wait $apply_pid
# run wrote stdout and stderr into the usual files; its status is here.
last_status=$(cat "$TEST_TMP/status")
last_cmd="chargeback --dsn ... budget apply"
checks=$((checks + 1))
[ "$(cat "$TEST_TMP/st")" = 200 ] || fail "the concurrent edit was not accepted"
expect_status 1
{
	for c in "${CUST[@]}"; do
		if [ "$c" = "$C0" ]; then
			echo "$c  cb-std  update (failed)  amount: 5000.25 -> 6000"
		else
			echo "$c  cb-std  update  amount: 5000.25 -> 6000"
		fi
		[ "$c" = "$C1" ] && echo "$c  manual-budget  not-managed  amount 42"
	done
	echo "applied: 0 to create, $N to update, 0 to delete, 0 unchanged, 1 not managed, 1 failed"
} | expect_stdout
expect_stderr_match "chargeback: budget apply: customer '$C0': PUT budget: PUT http://127\.0\.0\.1:[0-9]+${SCOPE[0]}/providers/Microsoft\.Consumption/budgets/cb-std: http 400: There are changes made to Budget cb-std\. Please get the latest budget to avoid overwrite\. \(request id [0-9a-f-]{36}\)"
checks=$((checks + 1))
[ "$(curl -sf "$BASE/_armsim/violations" | jq -c '.byKind')" = '{"stale-etag":1}' ] ||
	fail "violations: $(curl -sf "$BASE/_armsim/violations" | jq -c .byKind)"
curl -sf -X DELETE "$BASE/_armsim/faults" >/dev/null
checks=$((checks + 1))
[ "$(arm GET "${SCOPE[0]}/providers/Microsoft.Consumption/budgets/cb-std?api-version=2024-08-01" | head -1 | jq -r .properties.amount)" = 7777 ] ||
	fail "the concurrent edit was overwritten"
checks=$((checks + 1))
[ "$(sql "$DSN" "SELECT count(*) FROM chargeback.budget_change WHERE action = 'update' AND old_amount = 5000.25 AND new_amount = 6000")" = $((N - 1)) ] ||
	fail "updates recorded: $(sql "$DSN" "SELECT count(*) FROM chargeback.budget_change WHERE action = 'update'")"

# --- delete removes only managed budgets --------------------------------------
run --dsn "$DSN" budget delete
expect_status 0
{
	for c in "${CUST[@]}"; do
		if [ "$c" = "$C0" ]; then
			echo "$c  cb-std  delete  amount 7777"
		else
			echo "$c  cb-std  delete  amount 6000"
		fi
		[ "$c" = "$C1" ] && echo "$c  manual-budget  not-managed  amount 42"
	done
	echo "applied: 0 to create, 0 to update, $N to delete, 0 unchanged, 1 not managed, 0 failed"
} | expect_stdout
run --dsn "$DSN" budget list
expect_status 0
expect_stdout <<OUT
$C1  manual-budget  not-managed  amount 42
list: 0 managed, 1 not managed, 0 failed
OUT

# --- bad input: nothing sent --------------------------------------------------
run --dsn "$DSN" budget plan --customer nobody
expect_status 1
expect_stderr <<OUT
chargeback: budget plan: customer 'nobody' is not in the store (run chargeback sync)
OUT

finish
