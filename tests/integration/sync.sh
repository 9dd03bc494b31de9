#!/usr/bin/env bash
# tests/integration/sync.sh - `chargeback sync` end to end: the real binary
# against the real armsim (plain HTTP on loopback) and PostgreSQL.
#
# A 429 storm and a 5xx burst still give the complete snapshot, row for
# row the same as an undisturbed sync, with no duplicates and no armsim
# violation; a second sync changes nothing; a change in Azure is reported
# (text and JSON); a sync killed mid-walk leaves the previous snapshot and
# the next one completes; a concurrent sync is refused; failures are one
# line with exit 1, usage errors exit 2.
. "$(dirname "$0")/lib.sh"

if [ -z "${ARMSIM:-}" ] || [ ! -x "$ARMSIM" ]; then
	echo "FAIL: ARMSIM must name the armsim binary (CTest sets it)" >&2
	exit 1
fi

TENANT=11111111-2222-4333-8444-555555555555
CLIENT=22222222-2222-4333-8444-555555555555
export CB_IT_SECRET=integration-secret
armsim_pid=
bg_pid=

stop_armsim() {
	if [ -n "$armsim_pid" ]; then
		kill "$armsim_pid" 2>/dev/null
		wait "$armsim_pid" 2>/dev/null
		armsim_pid=
	fi
}
trap 'stop_armsim; [ -n "$bg_pid" ] && kill -9 "$bg_pid" 2>/dev/null; cleanup' EXIT

# armsim with 20 customers; URL in $BASE, a configuration in $CFG.
start_armsim() {
	rm -f "$TEST_TMP/port"
	"$ARMSIM" --http --port 0 --port-file "$TEST_TMP/port" --quiet \
		--client-secret-env CB_IT_SECRET --tenant-id $TENANT \
		--client-id $CLIENT --customers 20 --seed 7 "$@" \
		>"$TEST_TMP/armsim.log" 2>&1 &
	armsim_pid=$!
	for _ in $(seq 100); do
		[ -s "$TEST_TMP/port" ] && break
		sleep 0.05
	done
	[ -s "$TEST_TMP/port" ] || { echo "FAIL: armsim did not start"; cat "$TEST_TMP/armsim.log"; exit 1; }
	BASE=http://127.0.0.1:$(cat "$TEST_TMP/port")
	CFG=$TEST_WORKDIR/chargeback.cfg
	cat >"$CFG" <<EOF
azure = { tenant_id = "$TENANT"; client_id = "$CLIENT";
  client_secret_env = "CB_IT_SECRET";
  authority_host = "$BASE"; management_endpoint = "$BASE"; };
EOF
	chmod 600 "$CFG"
}

token() {
	curl -sf -X POST "$BASE/$TENANT/oauth2/v2.0/token" \
		-d "client_id=$CLIENT&client_secret=$CB_IT_SECRET&grant_type=client_credentials&scope=https%3A%2F%2Fmanagement.azure.com%2F.default" |
		sed 's/.*"access_token":"\([^"]*\)".*/\1/'
}

faults() { # PLAN-JSON
	curl -sf -X POST -H 'Content-Type: application/json' --data "$1" \
		"$BASE/_armsim/faults" >/dev/null || fail "fault plan refused"
}

violations() {
	curl -sf "$BASE/_armsim/violations" | sed 's/^{"count":\([0-9]*\),.*/\1/'
}

# The snapshot's rows without their timestamps, in a fixed order.
snapshot() { # DSN
	sql "$1" "SELECT r FROM (SELECT 'a|' || concat_ws('|', id, display_name, agreement_type, account_type, account_status, gone_at IS NULL) FROM chargeback.billing_account
		UNION ALL SELECT 'p|' || concat_ws('|', billing_account_id, id, display_name, currency, gone_at IS NULL) FROM chargeback.billing_profile
		UNION ALL SELECT 'c|' || concat_ws('|', billing_account_id, customer_id, billing_profile_id, display_name, tenant_id, reseller_id, reseller_name, status, tags, gone_at IS NULL) FROM chargeback.customer
		UNION ALL SELECT 's|' || concat_ws('|', billing_account_id, customer_id, subscription_id, billing_profile_id, display_name, status, sku_id, reseller_id, gone_at IS NULL) FROM chargeback.subscription
		UNION ALL SELECT 'v|' || concat_ws('|', billing_account_id, customer_id, view_charges, gone_at IS NULL) FROM chargeback.customer_policy
		UNION ALL SELECT 'b|' || concat_ws('|', billing_account_id, customer_id, name, amount, etag, managed, gone_at IS NULL) FROM chargeback.customer_budget
		) t (r) ORDER BY r COLLATE \"C\""
}

counts() { # DSN: rows and distinct keys per table
	sql "$1" "SELECT concat_ws(' ',
		(SELECT count(*) FROM chargeback.billing_account),
		(SELECT count(*) FROM chargeback.billing_profile),
		(SELECT count(*) FROM chargeback.customer),
		(SELECT count(DISTINCT customer_id) FROM chargeback.customer),
		(SELECT count(*) FROM chargeback.subscription),
		(SELECT count(DISTINCT subscription_id) FROM chargeback.subscription),
		(SELECT count(*) FROM chargeback.customer_policy),
		(SELECT count(*) FROM chargeback.customer_budget))"
}

start_armsim

# --- usage and set-up errors ----------------------------------------------
scratch_db
db=$SCRATCH_DSN
run --dsn "$db" sync --concurrency 0
expect_status 2
expect_stderr <<'OUT'
chargeback: sync: --concurrency: '0' is not a number from 1 to 64
OUT
run --dsn "$db" sync extra
expect_status 2
run --dsn "$db" sync
expect_status 1
expect_stderr <<'OUT'
chargeback: sync: the database schema is at version 0, this chargeback needs 2: run 'chargeback db migrate'
OUT
run --dsn "$db" db migrate
expect_status 0

# --- an undisturbed sync: the reference snapshot ---------------------------
scratch_db
ref=$SCRATCH_DSN
run --dsn "$ref" db migrate
run --dsn "$ref" sync
expect_status 0
expect_stderr </dev/null
[ "$(head -n 2 "$TEST_TMP/stdout")" = "synced 2 billing accounts, 4 billing profiles, 20 customers, 40 subscriptions, 20 policies, 0 budgets
new 86, changed 0, gone 0" ] || fail "first sync summary: $(head -n 2 "$TEST_TMP/stdout")"
[ "$(tail -n 1 "$TEST_TMP/stdout")" = "ARM requests 45, throttled 0, paced 0" ] ||
	fail "first sync requests: $(tail -n 1 "$TEST_TMP/stdout")"
[ "$(grep -c '^new customer ' "$TEST_TMP/stdout")" = 20 ] || fail "not 20 new customers"
[ "$(counts "$ref")" = "2 4 20 20 40 40 20 0" ] || fail "reference counts: $(counts "$ref")"

# Again: nothing new, changed or gone.
run --dsn "$ref" sync
expect_status 0
expect_stdout <<'OUT'
synced 2 billing accounts, 4 billing profiles, 20 customers, 40 subscriptions, 20 policies, 0 budgets
new 0, changed 0, gone 0
ARM requests 45, throttled 0, paced 0
OUT

# --- a 429 storm and a 5xx burst: the same snapshot --------------------------
faults '{"faults":[
 {"route":"billingSubscriptions","calls":[1,2],"kind":"status","status":429,"retryAfter":1},
 {"route":"policies/default","calls":[2,3,4,5,6,7],"kind":"status","status":503,"retryAfter":1},
 {"route":"Microsoft.Consumption/budgets","calls":[1,3,5],"kind":"status","status":500,"retryAfter":1}]}'
scratch_db
faulted=$SCRATCH_DSN
run --dsn "$faulted" db migrate
run --dsn "$faulted" sync
expect_status 0
expect_stderr </dev/null
[ "$(head -n 2 "$TEST_TMP/stdout")" = "synced 2 billing accounts, 4 billing profiles, 20 customers, 40 subscriptions, 20 policies, 0 budgets
new 86, changed 0, gone 0" ] || fail "faulted sync summary: $(head -n 2 "$TEST_TMP/stdout")"
requests=$(tail -n 1 "$TEST_TMP/stdout" | sed -n 's/^ARM requests \([0-9]*\), throttled \([0-9]*\), .*/\1 \2/p')
[ "$requests" = "56 2" ] || fail "faulted sync: requests and 429s '$requests', expected '56 2' (45 + 11 retries)"
[ "$(counts "$faulted")" = "2 4 20 20 40 40 20 0" ] || fail "faulted counts: $(counts "$faulted")"
snapshot "$ref" >"$TEST_TMP/ref.rows"
snapshot "$faulted" >"$TEST_TMP/faulted.rows"
diff -u "$TEST_TMP/ref.rows" "$TEST_TMP/faulted.rows" >"$TEST_TMP/rows.diff" ||
	{ fail "faulted snapshot differs:"; sed 's/^/  /' "$TEST_TMP/rows.diff"; }
[ "$(violations)" = 0 ] || fail "armsim violations: $(curl -s "$BASE/_armsim/violations")"
curl -sf -X DELETE "$BASE/_armsim/faults" >/dev/null

# --- a change in Azure, reported as JSON ------------------------------------
account=$(sql "$ref" "SELECT id FROM chargeback.billing_account WHERE agreement_type = 'MicrosoftPartnerAgreement'")
customer=$(sql "$ref" "SELECT customer_id FROM chargeback.customer ORDER BY customer_id COLLATE \"C\" LIMIT 1")
tok=$(token)
curl -sf -X PUT -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	--data '{"properties":{"viewCharges":"Allowed"}}' \
	"$BASE/providers/Microsoft.Billing/billingAccounts/$account/customers/$customer/policies/default?api-version=2020-05-01" >/dev/null ||
	fail "policy PUT failed"
run --dsn "$ref" --output json sync
expect_status 0
run_id=$(sql "$ref" "SELECT max(id) FROM chargeback.sync_run")
expect_stdout <<OUT
{"run":$run_id,"counts":{"billingAccounts":2,"billingProfiles":4,"customers":20,"subscriptions":40,"policies":20,"budgets":0},"new":[],"changed":[{"kind":"policy","billingAccount":"$account","customer":"$customer","id":"$customer","name":null,"fields":"view_charges"}],"gone":[],"requests":45,"throttled":0,"paced":0}
OUT

# --- a sync killed mid-walk: the previous snapshot stays ------------------------
curl -sf -X PUT -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	--data '{"properties":{"viewCharges":"NotAllowed"}}' \
	"$BASE/providers/Microsoft.Billing/billingAccounts/$account/customers/$customer/policies/default?api-version=2020-05-01" >/dev/null ||
	fail "policy PUT failed"
faults '{"faults":[{"route":"policies/default","kind":"latency","delayMs":400}]}'
snapshot "$ref" >"$TEST_TMP/before.rows"
curl -sf -X POST "$BASE/_armsim/reset" >/dev/null # the request log from here
runs_before=$(sql "$ref" "SELECT count(*) FROM chargeback.sync_run")
(cd "$TEST_WORKDIR" && exec "$CHARGEBACK" --dsn "$ref" sync --concurrency 2) >/dev/null 2>&1 &
bg_pid=$!
walking=
for _ in $(seq 200); do # until it is walking customers
	[ "$(curl -sf "$BASE/_armsim/requests" | grep -o 'policies/default' | wc -l)" -ge 2 ] && walking=1 && break
	sleep 0.05
done
[ -n "$walking" ] || fail "the sync to kill never reached the customers"
kill -0 $bg_pid 2>/dev/null || fail "the sync to kill ended before it was killed"
kill -9 $bg_pid
wait $bg_pid 2>/dev/null
bg_pid=
snapshot "$ref" >"$TEST_TMP/after.rows"
diff -u "$TEST_TMP/before.rows" "$TEST_TMP/after.rows" >"$TEST_TMP/rows.diff" ||
	{ fail "the killed sync changed the snapshot:"; sed 's/^/  /' "$TEST_TMP/rows.diff"; }
[ "$(sql "$ref" "SELECT count(*) FROM chargeback.sync_run")" = "$runs_before" ] ||
	fail "the killed sync left a sync_run row"
grep -q "|$customer|Allowed|" "$TEST_TMP/after.rows" || fail "the previous policy is not in place"
curl -sf -X DELETE "$BASE/_armsim/faults" >/dev/null
# The next sync completes it (the killed one's lock went with it).
run --dsn "$ref" sync
expect_status 0
expect_stdout <<OUT
synced 2 billing accounts, 4 billing profiles, 20 customers, 40 subscriptions, 20 policies, 0 budgets
new 0, changed 1, gone 0
changed policy $account/$customer: view_charges
ARM requests 45, throttled 0, paced 0
OUT

# --- a concurrent sync is refused ----------------------------------------------
faults '{"faults":[{"route":"policies/default","kind":"latency","delayMs":300}]}'
(cd "$TEST_WORKDIR" && exec "$CHARGEBACK" --dsn "$ref" sync --concurrency 2) >"$TEST_TMP/bg.out" 2>&1 &
bg_pid=$!
locked=
for _ in $(seq 200); do # until it holds the lock
	[ "$(sql "$ref" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" -ge 1 ] && locked=1 && break
	sleep 0.05
done
[ -n "$locked" ] || fail "the first sync never took the lock"
run --dsn "$ref" sync
expect_status 1
expect_stdout </dev/null
expect_stderr_match "chargeback: sync: another sync is running on this database \(PostgreSQL backend [0-9]+ holds the sync lock\); wait for it to finish"
wait $bg_pid
bg_status=$?
bg_pid=
[ $bg_status = 0 ] || { fail "the first sync failed ($bg_status)"; cat "$TEST_TMP/bg.out"; }
curl -sf -X DELETE "$BASE/_armsim/faults" >/dev/null

# --- failures: one line, exit 1 ------------------------------------------------
run --dsn "$ref" sync --billing-account nope
expect_status 1
expect_stdout </dev/null
expect_stderr <<OUT
chargeback: sync: billing account nope: GET $BASE/providers/Microsoft.Billing/billingAccounts/nope: http 404 BillingAccountNotFound: Billing account 'nope' was not found.
OUT
faults '{"faults":[{"route":"Microsoft.Consumption/budgets","calls":{"from":5},"kind":"status","status":403,"code":"AuthorizationFailed","message":"The client does not have authorization."}]}'
run --dsn "$ref" sync --concurrency 1
expect_status 1
expect_stderr_match "chargeback: sync: customer [0-9a-f-]{36} \(.+\): GET $BASE/providers/Microsoft.Billing/billingAccounts/[^ ]+/customers/[0-9a-f-]{36}/providers/Microsoft.Consumption/budgets: http 403 AuthorizationFailed: The client does not have authorization."
[ "$(sql "$ref" "SELECT status FROM chargeback.sync_run ORDER BY id DESC LIMIT 1")" = failed ] ||
	fail "the failed sync is not recorded"
curl -sf -X DELETE "$BASE/_armsim/faults" >/dev/null
run --dsn "$ref" sync --billing-account "$account"
expect_status 0
expect_stdout <<'OUT'
synced 1 billing account, 3 billing profiles, 20 customers, 40 subscriptions, 20 policies, 0 budgets
new 0, changed 0, gone 0
ARM requests 44, throttled 0, paced 0
OUT
[ "$(violations)" = 0 ] || fail "armsim violations: $(curl -s "$BASE/_armsim/violations")"

stop_armsim
finish
