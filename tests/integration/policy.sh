#!/usr/bin/env bash
# tests/integration/policy.sh - `chargeback policy list|plan|apply|set`
# end to end: the real chargeback against the real armsim (plain HTTP on
# loopback) and a scratch PostgreSQL database.  Customers are put in the
# store with SQL (what `chargeback sync` does); current values live in
# armsim.  Exact outputs, history rows, drift, a one-off set, and an ARM
# failure for one customer while the others proceed.
. "$(dirname "$0")/lib.sh"

if [ -z "${ARMSIM:-}" ] || [ ! -x "$ARMSIM" ]; then
	echo "FAIL: ARMSIM must name the armsim binary (CTest sets it)" >&2
	exit 1
fi

BA='aaaa:bbbb_2019-05-31'
C1=aaaaaaaa-0000-4000-8000-000000000001 # Contoso, direct
C2=aaaaaaaa-0000-4000-8000-000000000002 # Northwind, reseller 4100000
C3=aaaaaaaa-0000-4000-8000-000000000003 # Fabrikam, direct
TENANT=11111111-2222-4333-8444-555555555555
CLIENT=22222222-3333-4444-5555-666666666666
export ARMSIM_SECRET=policy-test-secret

cat >"$TEST_TMP/partner.json" <<EOF
{ "tenantId": "$TENANT", "name": "Fabrikam Cloud Partners",
  "accounts": [ { "name": "$BA", "displayName": "Fabrikam",
                  "agreement": "MicrosoftPartnerAgreement" } ],
  "profiles": [ { "account": "$BA", "name": "AAAA-BBBB-CCC-DDD",
                  "displayName": "Europe", "currency": "EUR" } ],
  "customers": [
    { "profile": "AAAA-BBBB-CCC-DDD", "id": "$C1", "displayName": "Contoso" },
    { "profile": "AAAA-BBBB-CCC-DDD", "id": "$C2", "displayName": "Northwind",
      "reseller": { "mpnId": "4100000", "name": "Blue Yonder" } },
    { "profile": "AAAA-BBBB-CCC-DDD", "id": "$C3", "displayName": "Fabrikam" } ] }
EOF

"$ARMSIM" --http --port 0 --port-file "$TEST_TMP/port" \
	--partner-file "$TEST_TMP/partner.json" --client-id "$CLIENT" \
	--client-secret-env ARMSIM_SECRET >"$TEST_TMP/armsim.log" 2>&1 &
armsim_pid=$!
trap 'kill $armsim_pid 2>/dev/null; wait $armsim_pid 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do [ -s "$TEST_TMP/port" ] && break; sleep 0.05; done
[ -s "$TEST_TMP/port" ] || { echo "FAIL: armsim did not start"; cat "$TEST_TMP/armsim.log"; exit 1; }
BASE="http://127.0.0.1:$(cat "$TEST_TMP/port")"

scratch_db
db=$SCRATCH_DSN
run --dsn "$db" db migrate
expect_status 0
sql "$db" "INSERT INTO chargeback.billing_account (id) VALUES ('$BA');
INSERT INTO chargeback.customer (billing_account_id, customer_id, display_name, reseller_id, reseller_name) VALUES
 ('$BA', '$C1', 'Contoso', NULL, NULL),
 ('$BA', '$C2', 'Northwind', '4100000', 'Blue Yonder'),
 ('$BA', '$C3', 'Fabrikam', NULL, NULL)"

# Desired: everyone NotAllowed, the reseller's customers Allowed, the
# "gold" label (Contoso by id, Fabri* by name) Allowed, Fabrikam itself
# NotAllowed by id (customer id beats label).
write_config() { # extra policies lines, extra labels lines
	cat >"$TEST_WORKDIR/chargeback.cfg" <<EOF
azure = {
	tenant_id = "$TENANT";
	client_id = "$CLIENT";
	client_secret_env = "ARMSIM_SECRET";
	authority_host = "$BASE";
	management_endpoint = "$BASE";
};
http = { max_attempts = 2; };
labels = {
	gold = { customers = [ "$C1" ]; names = [ "fabri*" ]; };${2:-}
};
policies = (
	{ all = true; view_charges = "notallowed"; },
	{ reseller = "4100000"; view_charges = "allowed"; },
	{ label = "gold"; view_charges = "allowed"; },
	{ customer = "$C3"; view_charges = "notallowed"; }$1
);
EOF
}
write_config ""
hash=$(python3 -c 'import sys
h=0xcbf29ce484222325
for b in open(sys.argv[1],"rb").read():
    h^=b; h=(h*0x100000001b3)&0xffffffffffffffff
print("%016x"%h)' "$TEST_WORKDIR/chargeback.cfg")

token() {
	curl -sf -X POST "$BASE/$TENANT/oauth2/v2.0/token" \
		-d "grant_type=client_credentials&client_id=$CLIENT&client_secret=$ARMSIM_SECRET&scope=https%3A%2F%2Fmanagement.azure.com%2F.default" |
		sed -E 's/.*"access_token":"([^"]*)".*/\1/'
}
policy_url() { echo "$BASE/providers/Microsoft.Billing/billingAccounts/$BA/customers/$1/policies/default?api-version=2020-05-01"; }
armsim_value() { # customer
	curl -sf -H "Authorization: Bearer $(token)" "$(policy_url "$1")" |
		sed -E 's/.*"viewCharges":"([A-Za-z]*)".*/\1/'
}

# --- list, live ------------------------------------------------------------
run --dsn "$db" policy list
expect_status 0
expect_stdout <<EOF
view charges read live from ARM
customer                              name       view charges
$C1  Contoso    NotAllowed
$C3  Fabrikam   NotAllowed
$C2  Northwind  NotAllowed
EOF
expect_stderr </dev/null

# --- plan: two changes, touching nothing -----------------------------------
run --dsn "$db" policy plan
expect_status 0
expect_stdout <<EOF
customer                              name       view charges: current -> desired
$C1  Contoso    NotAllowed -> Allowed (label gold)
$C3  Fabrikam   NotAllowed (no change, customer $C3)
$C2  Northwind  NotAllowed -> Allowed (reseller 4100000)
2 to change, 1 unchanged, 0 unmanaged, 0 failed
EOF
expect_stderr </dev/null
[ "$(armsim_value "$C1")" = NotAllowed ] || fail "plan changed $C1"
run --dsn "$db" --output json policy plan
expect_status 0
expect_stdout <<EOF
{"customers":[{"billing_account":"$BA","customer":"$C1","name":"Contoso","reseller":null,"current":"NotAllowed","desired":"Allowed","rule":"label gold","rule_line":15,"action":"change","error":null,"request_id":null},{"billing_account":"$BA","customer":"$C3","name":"Fabrikam","reseller":null,"current":"NotAllowed","desired":"NotAllowed","rule":"customer $C3","rule_line":16,"action":"unchanged","error":null,"request_id":null},{"billing_account":"$BA","customer":"$C2","name":"Northwind","reseller":"4100000","current":"NotAllowed","desired":"Allowed","rule":"reseller 4100000","rule_line":14,"action":"change","error":null,"request_id":null}],"summary":{"change":2,"unchanged":1,"unmanaged":0,"failed":0}}
EOF
[ "$(sql "$db" "SELECT count(*) FROM chargeback.policy_change")" = 0 ] || fail "plan recorded a change"

# --- apply: exactly those changes, confirmed and recorded ------------------
run --dsn "$db" policy apply
expect_status 0
expect_stdout <<EOF
customer                              name       view charges: current -> desired
$C1  Contoso    NotAllowed -> Allowed (changed, label gold)
$C3  Fabrikam   NotAllowed (no change, customer $C3)
$C2  Northwind  NotAllowed -> Allowed (changed, reseller 4100000)
2 changed, 1 unchanged, 0 unmanaged, 0 failed
EOF
expect_stderr </dev/null
[ "$(armsim_value "$C1")" = Allowed ] || fail "armsim: $C1 is not Allowed"
[ "$(armsim_value "$C2")" = Allowed ] || fail "armsim: $C2 is not Allowed"
[ "$(armsim_value "$C3")" = NotAllowed ] || fail "armsim: $C3 changed"
checks=$((checks + 1))
got=$(sql "$db" "SELECT billing_account_id, customer_id, old_view_charges, new_view_charges, config_hash, source, request_id IS NOT NULL, changed_at > now() - interval '1 minute' FROM chargeback.policy_change ORDER BY customer_id")
want="$BA|$C1|NotAllowed|Allowed|$hash|apply|t|t
$BA|$C2|NotAllowed|Allowed|$hash|apply|t|t"
[ "$got" = "$want" ] || fail "history rows: got
$got
want
$want"

run --dsn "$db" policy list --from-store
expect_status 0
expect_stdout <<EOF
view charges last recorded in the store (may be stale)
customer                              name       view charges
$C1  Contoso    Allowed
$C3  Fabrikam   NotAllowed
$C2  Northwind  Allowed
EOF

# --- a second plan: nothing to do; a second apply changes nothing ----------
run --dsn "$db" policy plan
expect_status 0
expect_stdout <<EOF
customer                              name       view charges: current -> desired
$C1  Contoso    Allowed (no change, label gold)
$C3  Fabrikam   NotAllowed (no change, customer $C3)
$C2  Northwind  Allowed (no change, reseller 4100000)
0 to change, 3 unchanged, 0 unmanaged, 0 failed
EOF
run --dsn "$db" policy apply
expect_status 0
[ "$(sql "$db" "SELECT count(*) FROM chargeback.policy_change")" = 2 ] || fail "second apply recorded changes"

# --- drift: a change made outside the tool shows in the next plan ----------
curl -sf -X PUT -H "Authorization: Bearer $(token)" -H 'Content-Type: application/json' \
	-d '{"properties":{"viewCharges":"NotAllowed"}}' "$(policy_url "$C2")" >/dev/null ||
	fail "curl PUT to armsim failed"
run --dsn "$db" policy plan
expect_status 0
expect_stdout <<EOF
customer                              name       view charges: current -> desired
$C1  Contoso    Allowed (no change, label gold)
$C3  Fabrikam   NotAllowed (no change, customer $C3)
$C2  Northwind  NotAllowed -> Allowed (reseller 4100000)
1 to change, 2 unchanged, 0 unmanaged, 0 failed
EOF

# --- set: one customer, one value ------------------------------------------
run --dsn "$db" policy set --customer "$C3" --view-charges allowed
expect_status 0
expect_stdout <<EOF
customer                              name      view charges: current -> desired
$C3  Fabrikam  NotAllowed -> Allowed (changed, set)
1 changed, 0 unchanged, 0 unmanaged, 0 failed
EOF
[ "$(armsim_value "$C3")" = Allowed ] || fail "armsim: set did not change $C3"
[ "$(sql "$db" "SELECT old_view_charges || '>' || new_view_charges || ' ' || source || ' ' || config_hash FROM chargeback.policy_change WHERE customer_id = '$C3'")" = "NotAllowed>Allowed set $hash" ] ||
	fail "set: history row"
run --dsn "$db" --output json policy set --customer "$C1" --view-charges ALLOWED
expect_status 0
expect_stdout <<EOF
{"customers":[{"billing_account":"$BA","customer":"$C1","name":"Contoso","reseller":null,"current":"Allowed","desired":"Allowed","previous":null,"rule":"set","rule_line":null,"action":"unchanged","error":null,"request_id":null}],"summary":{"changed":0,"unchanged":1,"unmanaged":0,"failed":0}}
EOF
run --dsn "$db" policy set --customer nobody --view-charges allowed
expect_status 1
expect_stderr <<'EOF'
chargeback: policy set: unknown customer 'nobody' (not in the store: run 'chargeback sync')
EOF
run --dsn "$db" policy set --customer "$C3" --view-charges maybe
expect_status 2
expect_stderr <<'EOF'
chargeback: policy set: --view-charges: 'maybe' is not allowed or notallowed
EOF

# --- an ARM failure for one customer: the others proceed, exit 1 -----------
# C3 back to NotAllowed by the config, C2 drifted: both change; C2's PUT
# gets a 500 on every try (more than max_attempts = 2).
curl -sf -X POST "$BASE/_armsim/faults" -H 'Content-Type: application/json' -d "{\"faults\": [
  {\"route\": \"/customers/$C2/policies/default\", \"method\": \"PUT\", \"kind\": \"status\", \"status\": 500, \"message\": \"Policy store unavailable\"}]}" >/dev/null ||
	fail "cannot post the fault plan"
run --dsn "$db" policy apply
expect_status 1
expect_stdout <<EOF
customer                              name       view charges: current -> desired
$C1  Contoso    Allowed (no change, label gold)
$C3  Fabrikam   Allowed -> NotAllowed (changed, customer $C3)
$C2  Northwind  failed
1 changed, 1 unchanged, 0 unmanaged, 1 failed
EOF
expect_stderr_match "chargeback: policy apply: customer '$C2' \(Northwind\): PUT $BASE/providers/Microsoft.Billing/billingAccounts/$BA/customers/$C2/policies/default: http 500 InternalServerError: Policy store unavailable \(gave up after 2 attempts\) \(request id [0-9a-f-]{36}\)"
[ "$(armsim_value "$C3")" = NotAllowed ] || fail "armsim: $C3 not applied while $C2 failed"
[ "$(sql "$db" "SELECT count(*) FROM chargeback.policy_change WHERE customer_id = '$C2'")" = 1 ] ||
	fail "the failed change was recorded"
curl -sf -X DELETE "$BASE/_armsim/faults" >/dev/null

# --- bad configurations: the line named, nothing sent ----------------------
arm_calls() { curl -sf "$BASE/_armsim/requests" | grep -o 'policies/default' | wc -l; }
before=$(arm_calls)
write_config ',
	{ name = "Nobody*"; view_charges = "allowed"; }'
run --dsn "$db" policy plan
expect_status 1
expect_stderr <<'EOF'
chargeback: policy plan: chargeback.cfg:17: name pattern 'Nobody*' selects no customer
EOF
write_config ',
	{ customer = "bbbbbbbb-0000-4000-8000-000000000009"; view_charges = "allowed"; }'
run --dsn "$db" policy plan
expect_status 1
expect_stderr <<'EOF'
chargeback: policy plan: chargeback.cfg:17: unknown customer 'bbbbbbbb-0000-4000-8000-000000000009' (not in the store: run 'chargeback sync')
EOF
write_config ',
	{ label = "silver"; view_charges = "notallowed"; }' '
	silver = { names = [ "cont*" ]; };'
run --dsn "$db" policy apply
expect_status 1
expect_stderr <<EOF
chargeback: policy apply: chargeback.cfg:18: customer '$C1' (Contoso) is selected by two label rules with different view_charges: line 16 (allowed) and line 18 (notallowed)
EOF
after=$(arm_calls)
[ "$before" = "$after" ] || fail "a bad configuration sent $((after - before)) requests"

checks=$((checks + 1))
violations=$(curl -sf "$BASE/_armsim/violations" | sed -E 's/^\{"count":([0-9]+).*/\1/')
[ "$violations" = 0 ] || fail "armsim violations: $(curl -sf "$BASE/_armsim/violations")"
finish
