// tests/conformance/scenario.mjs - the official Azure SDKs for JavaScript,
// unchanged, against armsim (run.sh starts armsim and sets the environment).
//
// Only options the SDKs document for sovereign or private clouds point
// them at armsim: authorityHost and disableInstanceDiscovery for
// @azure/identity, endpoint and credentialScopes for the ARM clients.
// Node trusts armsim's throwaway CA through NODE_EXTRA_CA_CERTS; TLS
// verification stays on.  Any failed step exits 1.
import assert from "node:assert/strict";
import https from "node:https";
import { readFile } from "node:fs/promises";
import {
  ClientCertificateCredential,
  ClientSecretCredential,
} from "@azure/identity";
import { BillingManagementClient } from "@azure/arm-billing";
import { ConsumptionManagementClient } from "@azure/arm-consumption";
import { CostManagementClient } from "@azure/arm-costmanagement";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run through run.sh)`);
  return v;
};

const base = env("ARMSIM_BASE");
const tenantId = env("CONFORMANCE_TENANT_ID");
const clientId = env("CONFORMANCE_CLIENT_ID");
const pageSize = Number(env("CONFORMANCE_PAGE_SIZE"));
// armsim's tokens are for ARM's audience, as Azure's are; only the host
// the SDK sends requests to is armsim's.
const scope = "https://management.azure.com/.default";

// The 70 columns of the partner (MPA) cost details file, in order (notes §e.1).
const MPA_COLUMNS = [
  "invoiceId", "previousInvoiceId", "billingAccountId", "billingAccountName",
  "billingProfileId", "billingProfileName", "invoiceSectionId",
  "invoiceSectionName", "partnerTenantId", "partnerName", "resellerName",
  "resellerMpnId", "customerTenantId", "customerName", "costCenter",
  "billingPeriodEndDate", "billingPeriodStartDate", "servicePeriodEndDate",
  "servicePeriodStartDate", "date", "serviceFamily", "productOrderId",
  "productOrderName", "consumedService", "meterId", "meterName",
  "meterCategory", "meterSubCategory", "meterRegion", "ProductId",
  "ProductName", "SubscriptionId", "subscriptionName", "publisherType",
  "publisherId", "publisherName", "resourceGroupName", "ResourceId",
  "resourceLocation", "location", "effectivePrice", "quantity",
  "unitOfMeasure", "chargeType", "billingCurrency", "pricingCurrency",
  "costInBillingCurrency", "costInPricingCurrency", "costInUsd",
  "paygCostInBillingCurrency", "paygCostInUsd",
  "exchangeRatePricingToBilling", "exchangeRateDate", "isAzureCreditEligible",
  "serviceInfo1", "serviceInfo2", "additionalInfo", "tags",
  "partnerEarnedCreditRate", "partnerEarnedCreditApplied", "PayGPrice",
  "frequency", "term", "reservationId", "reservationName", "PricingModel",
  "unitPrice", "benefitId", "benefitName", "provider",
];

let failures = 0;
async function step(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    failures++;
    console.log(`not ok - ${name}`);
    console.log(`  ${String(e && e.stack ? e.stack : e).split("\n").join("\n  ")}`);
    if (e && e.statusCode) console.log(`  statusCode ${e.statusCode}, code ${e.code}`);
  }
}

// A plain HTTPS GET (no SDK, no bearer token); resolves {status, headers, body}.
function httpsGet(url) {
  return new Promise((resolve, reject) => {
    https
      .get(url, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

async function armsimJson(path) {
  const r = await httpsGet(`${base}${path}`);
  assert.equal(r.status, 200, `GET ${path}`);
  return JSON.parse(r.body.toString("utf8"));
}

// Every page of a pageable SDK list, asserting armsim cut it into pages.
async function allPages(iter, what) {
  const pages = [];
  for await (const page of iter.byPage()) pages.push(page);
  const items = pages.flat();
  assert.ok(items.length > 0, `${what}: no items`);
  for (const p of pages.slice(0, -1))
    assert.equal(p.length, pageSize, `${what}: a full page before the last`);
  if (items.length > pageSize)
    assert.ok(pages.length > 1, `${what}: ${items.length} items on one page`);
  return { items, pages: pages.length };
}

function clients(credential) {
  const common = { endpoint: base, credentialScopes: [scope] };
  return {
    billing: new BillingManagementClient(credential, "00000000-0000-0000-0000-000000000000", common),
    consumption: new ConsumptionManagementClient(credential, "00000000-0000-0000-0000-000000000000", common),
    cost: new CostManagementClient(credential, common),
  };
}

const identityOptions = { authorityHost: base, disableInstanceDiscovery: true };
const secretCred = new ClientSecretCredential(
  tenantId, clientId, env("CONFORMANCE_CLIENT_SECRET"), identityOptions);
const certCred = new ClientCertificateCredential(
  tenantId, clientId, { certificatePath: env("CONFORMANCE_CLIENT_CERT") }, identityOptions);

const state = {};
const { billing, consumption, cost } = clients(secretCred);

await step("identity: ClientSecretCredential gets a token from armsim", async () => {
  const t = await secretCred.getToken(scope);
  assert.ok(t && t.token && t.token.split(".").length === 3, "a JWT access token");
  assert.ok(t.expiresOnTimestamp > Date.now(), "expires in the future");
});

await step("identity: ClientCertificateCredential (JWT assertion) gets a token", async () => {
  const t = await certCred.getToken(scope);
  assert.ok(t && t.token && t.token.split(".").length === 3, "a JWT access token");
});

await step("billing: list billing accounts (paged)", async () => {
  const { items, pages } = await allPages(billing.billingAccounts.list(), "billingAccounts");
  const mpa = items.find((a) => a.agreementType === "MicrosoftPartnerAgreement");
  assert.ok(mpa, "a Microsoft Partner Agreement account");
  assert.equal(mpa.type, "Microsoft.Billing/billingAccounts");
  assert.equal(mpa.id, `/providers/Microsoft.Billing/billingAccounts/${mpa.name}`);
  state.account = mpa.name;
  console.log(`  ${items.length} accounts in ${pages} page(s); MPA ${mpa.name}`);
});

await step("billing: list customers of the MPA account (paged)", async () => {
  const { items, pages } = await allPages(
    billing.customers.listByBillingAccount(state.account), "customers");
  assert.equal(items.length, 5, "armsim was started with --customers 5");
  for (const c of items) {
    assert.ok(c.name && c.displayName, "customer name and displayName");
    assert.match(c.id, /\/customers\//i);
  }
  assert.equal(new Set(items.map((c) => c.name)).size, items.length, "no customer twice");
  state.customers = items;
  state.customer = items[0].name;
  console.log(`  ${items.length} customers in ${pages} page(s)`);
});

await step("billing: get one customer", async () => {
  const c = await billing.customers.get(state.account, state.customer);
  assert.equal(c.name, state.customer);
  assert.equal(c.displayName, state.customers[0].displayName);
});

await step("billing: list billing subscriptions of every customer (paged)", async () => {
  let total = 0;
  for (const cust of state.customers) {
    const { items } = await allPages(
      billing.billingSubscriptions.listByCustomer(state.account, cust.name),
      `billingSubscriptions of ${cust.name}`);
    assert.equal(items.length, 3, "armsim was started with --subscriptions-per-customer 3");
    for (const s of items)
      assert.match(s.subscriptionId, /^[0-9a-f-]{36}$/i, "a subscription GUID");
    total += items.length;
  }
  console.log(`  ${total} billing subscriptions`);
});

await step("billing: customer policy get, update viewCharges, get again", async () => {
  const p0 = await billing.policies.getByCustomer(state.account, state.customer);
  assert.equal(p0.name, "default");
  assert.equal(p0.viewCharges, "NotAllowed", "viewCharges is NotAllowed by default");
  const put = await billing.policies.updateCustomer(state.account, state.customer, {
    viewCharges: "Allowed",
  });
  assert.equal(put.viewCharges, "Allowed");
  const p1 = await billing.policies.getByCustomer(state.account, state.customer);
  assert.equal(p1.viewCharges, "Allowed", "the update is kept");
  const other = await billing.policies.getByCustomer(state.account, state.customers[1].name);
  assert.equal(other.viewCharges, "NotAllowed", "another customer is untouched");
});

// A Consumption budget at customer scope (the partner doc's customer budget).
const budgetName = "conformance-budget";
function budgetBody(amount, eTag) {
  const start = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1));
  const end = new Date(Date.UTC(start.getUTCFullYear() + 1, start.getUTCMonth(), 1));
  const body = {
    category: "Cost",
    amount,
    timeGrain: "Monthly",
    timePeriod: { startDate: start, endDate: end },
    notifications: {
      Actual_GreaterThan_80_Percent: {
        enabled: true,
        operator: "GreaterThan",
        threshold: 80,
        contactEmails: ["finance@example.com"],
        thresholdType: "Actual",
        locale: "en-us",
      },
    },
  };
  if (eTag !== undefined) body.eTag = eTag;
  return body;
}

await step("consumption: create, update, get, list, stale eTag, delete a customer budget", async () => {
  const scopeId = `providers/Microsoft.Billing/billingAccounts/${state.account}/customers/${state.customer}`;
  let status;
  const onResponse = (r) => (status = r.status);

  const created = await consumption.budgets.createOrUpdate(scopeId, budgetName, budgetBody(1000), { onResponse });
  assert.equal(status, 201, "create answers 201");
  assert.equal(created.name, budgetName);
  assert.equal(created.amount, 1000);
  assert.ok(created.eTag, "an eTag");

  const updated = await consumption.budgets.createOrUpdate(
    scopeId, budgetName, budgetBody(1500.25, created.eTag), { onResponse });
  assert.equal(status, 200, "update answers 200");
  assert.equal(updated.amount, 1500.25);
  assert.notEqual(updated.eTag, created.eTag, "a new eTag after each write");

  const got = await consumption.budgets.get(scopeId, budgetName);
  assert.equal(got.amount, 1500.25);
  assert.equal(got.eTag, updated.eTag);
  assert.equal(got.timeGrain, "Monthly");
  assert.equal(got.notifications.Actual_GreaterThan_80_Percent.threshold, 80);

  const listed = [];
  for await (const b of consumption.budgets.list(scopeId)) listed.push(b);
  assert.deepEqual(listed.map((b) => b.name), [budgetName]);

  // A write carrying the first (now stale) eTag must be refused.  The
  // budgets service answers 400 with code "400" (not ARM's usual 412):
  // MicrosoftDocs/azure-docs#34023 quotes it, "(Request ID: ...)" aside.
  await assert.rejects(
    consumption.budgets.createOrUpdate(scopeId, budgetName, budgetBody(1, created.eTag)),
    (e) => {
      assert.equal(e.statusCode, 400, `stale eTag refused, got ${e.statusCode} ${e.message}`);
      assert.equal(e.code, "400");
      assert.match(e.message, /^There are changes made to Budget conformance-budget\. Please get the latest budget to avoid overwrite\./);
      return true;
    });
  const after = await consumption.budgets.get(scopeId, budgetName);
  assert.equal(after.amount, 1500.25, "the refused write changed nothing");

  await consumption.budgets.delete(scopeId, budgetName, { onResponse });
  assert.equal(status, 200, "delete answers 200");
  await assert.rejects(consumption.budgets.get(scopeId, budgetName), (e) => {
    assert.equal(e.statusCode, 404, "gone after delete");
    return true;
  });
});

await step("costmanagement: cost details report to completion, blob downloaded", async () => {
  const scopeId = `providers/Microsoft.Billing/billingAccounts/${state.account}/customers/${state.customer}`;
  const reqs = await armsimJson("/_armsim/requests");
  const polls0 = countRoute(reqs, /costDetailsOperationResults/i);
  const poller = await cost.generateCostDetailsReport.beginCreateOperation(
    scopeId,
    { metric: "ActualCost", timePeriod: await reportPeriod() },
    { updateIntervalInMs: 200 });
  const result = await poller.pollUntilDone();
  assert.equal(result.status, "Completed");
  // The SDK flattens the wire's "manifest" object into the result
  // (x-ms-client-flatten in the swagger): result.blobs, result.byteCount.
  const m = result;
  assert.ok(m.blobs && m.blobs.length >= 1, "a manifest with blobs");
  assert.equal(m.manifestVersion, "2022-10-01", "manifestVersion is the api-version");
  assert.equal(m.blobCount, m.blobs.length);
  assert.equal(m.dataFormat, "Csv");
  assert.ok(result.validTill instanceof Date && result.validTill > new Date(), "validTill ahead");
  const polls = countRoute(await armsimJson("/_armsim/requests"), /costDetailsOperationResults/i) - polls0;
  assert.ok(polls >= 2, `the poller followed Location (${polls} polls)`);

  let bytes = 0;
  for (const blob of m.blobs) {
    const r = await httpsGet(blob.blobLink);
    assert.equal(r.status, 200, "blob GET");
    assert.equal(r.body.length, blob.byteCount, "byteCount is the blob's size");
    bytes += r.body.length;
    let text = r.body.toString("utf8");
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const header = text.slice(0, text.indexOf("\n")).replace(/\r$/, "").split(",");
    assert.deepEqual(header, MPA_COLUMNS, "the 70-column partner header, in order");
    const rows = text.split("\n").filter((l) => l.length > 0);
    assert.ok(rows.length > 1, "data rows after the header");
  }
  assert.equal(m.byteCount, bytes, "manifest byteCount is the total");
  console.log(`  ${m.blobs.length} blob(s), ${bytes} bytes, ${polls} polls`);
});

// The partner's cost month (run.sh: last month, armsim's --period).
async function reportPeriod() {
  const p = env("CONFORMANCE_PERIOD");
  const [y, m] = p.split("-").map(Number);
  const start = `${p}-01`;
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { start, end: `${p}-${String(last).padStart(2, "0")}` };
}

function countRoute(log, re) {
  return entries(log).filter((e) => re.test(e.path)).length;
}

function entries(log) {
  return Array.isArray(log) ? log : log.requests || log.value || [];
}

await step("certificate credential: the billing client works with it too", async () => {
  const c = clients(certCred);
  const accounts = [];
  for await (const a of c.billing.billingAccounts.list()) accounts.push(a);
  assert.ok(accounts.some((a) => a.name === state.account));
  const p = await c.billing.policies.getByCustomer(state.account, state.customer);
  assert.equal(p.viewCharges, "Allowed");
});

await step("armsim: the api-versions the SDKs sent", async () => {
  const log = entries(await armsimJson("/_armsim/requests"));
  const seen = new Map();
  for (const e of log) {
    const v = e.apiVersion || "(none)";
    if (!e.route || e.route.startsWith("/_armsim/")) continue;
    const key = `${e.method} ${e.route} api-version=${v}`;
    seen.set(key, (seen.get(key) || 0) + 1);
  }
  for (const [k, n] of [...seen].sort()) console.log(`  ${k}: ${n} request(s)`);
  for (const e of log)
    assert.ok(e.status < 500, `armsim answered ${e.status} to ${e.method} ${e.path}`);
});

await step("armsim: no rule broken by the SDKs", async () => {
  const v = await armsimJson("/_armsim/violations");
  const log = entries(await armsimJson("/_armsim/requests"));
  const list = v.violations;
  // The one deliberate break: the budget write with a stale eTag.
  const stale = list.filter((x) => x.kind === "stale-etag");
  assert.equal(stale.length, 1, "exactly the one provoked stale-eTag write");
  // @azure/core-lro 2.x polls twice before its first wait: once in the
  // generated begin*() (poller.poll()) and once at the top of
  // pollUntilDone(); only then does it sleep Retry-After between polls.
  // armsim rightly counts those two as early; any later poll must wait.
  const early = list.filter((x) => x.kind === "retry-before-retry-after");
  for (const x of early) {
    const prior = log.filter(
      (e) => e.seq < x.seq && e.path === x.path.split("?")[0]).length;
    assert.ok(prior <= 1, `only the SDK's first two polls may come early (seq ${x.seq})`);
  }
  assert.ok(early.length <= 2, `${early.length} early polls`);
  const other = list.filter(
    (x) => x.kind !== "stale-etag" && x.kind !== "retry-before-retry-after");
  assert.deepEqual(other, [], "no other rule broken");
  console.log(`  ${stale.length} provoked stale-eTag write, ${early.length} early poll(s) by core-lro`);
});

const pkg = JSON.parse(await readFile(new URL("./package.json", import.meta.url), "utf8"));
console.log(`SDKs: ${Object.entries(pkg.dependencies).map(([k, v]) => `${k}@${v}`).join(", ")}`);
if (failures > 0) {
  console.log(`FAIL: ${failures} step(s) failed`);
  process.exit(1);
}
console.log("PASS");
