// bench/walk_sdk.mjs - the partner hierarchy walk written plainly with the
// official Azure SDK for JavaScript (@azure/arm-billing, @azure/identity,
// and @azure/arm-consumption for budgets), the reference bench/walk times
// `chargeback sync` against.  It uses the SDKs pinned in tests/conformance
// (its node_modules; tests/conformance/install.sh installs them).
//
// The walk, as a partner's script would write it with the SDK's pageable
// lists (for await ... of, which follows nextLink):
//   every billing account
//     its billing profiles
//     its customers and its billing subscriptions (account-level lists,
//     the same calls chargeback makes; --per-customer-subscriptions lists
//     them per customer instead, the nested loop many scripts have)
//     for every customer: its view-charges policy (policies/default)
//       and, with --budgets, its budgets (customer scope)
// --concurrency 1 (the default) awaits each customer's calls in turn;
// --concurrency C runs the customers in Promise.all batches of C.
//
// Environment: ARMSIM_BASE (https://127.0.0.1:PORT), WALK_TENANT_ID,
// WALK_CLIENT_ID, WALK_CLIENT_SECRET; NODE_EXTRA_CA_CERTS names armsim's
// CA (TLS verification stays on).  Prints one JSON line on stdout:
// {"mode", "concurrency", "seconds", "accounts", "profiles", "customers",
//  "subscriptions", "policies", "budgets"}; the time covers the walk from
// the first token request to the last answer.  Exits 1 on any failure.
import { createRequire } from "node:module";

const require = createRequire(
  new URL("../tests/conformance/package.json", import.meta.url));
const { ClientSecretCredential } = require("@azure/identity");
const { BillingManagementClient } = require("@azure/arm-billing");
const { ConsumptionManagementClient } = require("@azure/arm-consumption");

function usage(msg) {
  if (msg) console.error(`walk_sdk: ${msg}`);
  console.error(
    "usage: node bench/walk_sdk.mjs [--concurrency C] [--budgets]\n" +
    "                               [--per-customer-subscriptions]");
  process.exit(2);
}

let concurrency = 1;
let budgets = false;
let perCustomerSubs = false;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--concurrency") {
    concurrency = Number(args[++i]);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000)
      usage("--concurrency takes a whole number from 1 to 1000");
  } else if (args[i] === "--budgets") {
    budgets = true;
  } else if (args[i] === "--per-customer-subscriptions") {
    perCustomerSubs = true;
  } else {
    usage(`unknown argument '${args[i]}'`);
  }
}

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`walk_sdk: ${name} is not set (bench/walk sets it)`);
    process.exit(1);
  }
  return v;
};
const base = env("ARMSIM_BASE");
// Tokens are for ARM's audience, as Azure's are; only the host differs.
const scope = "https://management.azure.com/.default";
const credential = new ClientSecretCredential(
  env("WALK_TENANT_ID"), env("WALK_CLIENT_ID"), env("WALK_CLIENT_SECRET"),
  { authorityHost: base, disableInstanceDiscovery: true });
const common = { endpoint: base, credentialScopes: [scope] };
const noSub = "00000000-0000-0000-0000-000000000000";
const billing = new BillingManagementClient(credential, noSub, common);
const consumption = new ConsumptionManagementClient(credential, noSub, common);

const n = { accounts: 0, profiles: 0, customers: 0, subscriptions: 0,
  policies: 0, budgets: 0 };

async function perCustomer(account, customer) {
  if (perCustomerSubs)
    for await (const _ of billing.billingSubscriptions.listByCustomer(
      account, customer))
      n.subscriptions++;
  const policy = await billing.policies.getByCustomer(account, customer);
  if (policy.viewCharges === undefined)
    throw new Error(`customer ${customer}: a policy without viewCharges`);
  n.policies++;
  if (budgets) {
    // No leading slash, as the SDK's samples write scopes.
    const s = `providers/Microsoft.Billing/billingAccounts/${account}` +
      `/customers/${customer}`;
    for await (const _ of consumption.budgets.list(s)) n.budgets++;
  }
}

const t0 = process.hrtime.bigint();
try {
  for await (const account of billing.billingAccounts.list()) {
    n.accounts++;
    for await (const _ of billing.billingProfiles.listByBillingAccount(
      account.name))
      n.profiles++;
    const customers = [];
    if (account.agreementType === "MicrosoftPartnerAgreement")
      for await (const c of billing.customers.listByBillingAccount(
        account.name))
        customers.push(c.name);
    n.customers += customers.length;
    if (!perCustomerSubs || customers.length === 0)
      for await (const _ of billing.billingSubscriptions.listByBillingAccount(
        account.name))
        n.subscriptions++;
    if (concurrency === 1) {
      for (const c of customers) await perCustomer(account.name, c);
    } else {
      for (let i = 0; i < customers.length; i += concurrency)
        await Promise.all(customers.slice(i, i + concurrency)
          .map((c) => perCustomer(account.name, c)));
    }
  }
} catch (e) {
  console.error(`walk_sdk: ${e && e.stack ? e.stack : e}`);
  if (e && e.statusCode) console.error(`  statusCode ${e.statusCode}, code ${e.code}`);
  process.exit(1);
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({
  mode: concurrency === 1 ? "sequential" : "batched", concurrency,
  seconds: Number(seconds.toFixed(3)), ...n }));
