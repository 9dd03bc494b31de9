// bench/walk_bound.mjs - the least time any client could take for the ARM
// requests a walk made, given armsim's throttle and added latency
// (bench/walk; the formula is in docs/PERFORMANCE.md "Hierarchy walk").
//
//   node bench/walk_bound.mjs LOG FROM TO BURST REFILL DELAY_MS CONCURRENCY
//
// LOG is armsim's GET /_armsim/requests answer (a file); the walk's
// requests are those with FROM < seq <= TO.  Only ARM requests count
// (paths under /providers/ or /subscriptions/: throttled and delayed);
// token requests and /_armsim/ paths are neither.  Requests armsim
// answered 429 took no token and are counted apart (throttled).
//
// With N the ARM requests that took a token, d the added latency, C the
// client's concurrency, B and R the reads bucket (burst, refill per
// second), a the pages of the billing account list and c the most pages
// of one account's customer list:
//   throttle = max(0, (N - B) / R) + d   the N-th token is not there
//                                        before (N - B) / R, and its
//                                        answer comes d later
//   latency  = h*d + ceil((N - h) / C)*d  the h = a + 1 requests before
//                                        the first customer is known run
//                                        one at a time, the rest at best
//                                        C at a time, each taking d
//   chain    = (a + c + 1)*d             account pages, then customer
//                                        pages one after the other, then
//                                        a call for the last customer
//   bound    = max(throttle, latency, chain)
// Prints one JSON object: the counts, each term, the bound and the span
// (below), seconds.
import { readFileSync } from "node:fs";

const [file, from, to, burst, refill, delayMs, concurrency] =
  process.argv.slice(2);
if (concurrency === undefined) {
  console.error("usage: node bench/walk_bound.mjs LOG FROM TO BURST REFILL " +
    "DELAY_MS CONCURRENCY");
  process.exit(2);
}
const log = JSON.parse(readFileSync(file, "utf8"));
if (log.dropped > 0 && Number(from) < log.requests[0]?.seq) {
  console.error(`walk_bound: armsim dropped ${log.dropped} log entries the ` +
    "walk needs");
  process.exit(1);
}
const d = Number(delayMs) / 1000;
const B = Number(burst), R = Number(refill), C = Number(concurrency);
const arm = log.requests.filter((r) => r.seq > Number(from) &&
  r.seq <= Number(to) && /^\/+(providers|subscriptions)\//i.test(r.path));
const took = arm.filter((r) => r.status !== 429);
const N = took.length;
const accountPages = took.filter((r) => r.method === "GET" &&
  r.route === "/providers/Microsoft.Billing/billingAccounts").length;
const customerPages = {};
for (const r of took)
  if (r.method === "GET" &&
    r.route === "/providers/Microsoft.Billing/billingAccounts/{ba}/customers")
    customerPages[r.path.toLowerCase()] =
      (customerPages[r.path.toLowerCase()] || 0) + 1;
const c = Math.max(0, ...Object.values(customerPages));
const h = Math.min(N, accountPages + (c > 0 ? 1 : 0));
const throttle = Math.max(0, (N - B) / R) + (N > 0 ? d : 0);
const latency = h * d + Math.ceil((N - h) / C) * d;
const chain = (accountPages + c + (c > 0 ? 1 : 0)) * d;
// From armsim receiving the first ARM request to it answering the last
// (the request log's times are when each request arrived): the walk as
// armsim saw it, without the client's start-up, token and store work.
const span = arm.length === 0 ? 0
  : (arm.at(-1).timeMs - arm[0].timeMs) / 1000 + d;
const round = (x) => Number(x.toFixed(3));
const byRoute = {};
for (const r of arm) {
  const k = `${r.method} ${r.route}`;
  byRoute[k] = (byRoute[k] || 0) + 1;
}
console.log(JSON.stringify({
  requests: N, throttled: arm.length - N, accountPages, customerPages: c,
  throttle: round(throttle), latency: round(latency), chain: round(chain),
  bound: round(Math.max(throttle, latency, chain)), span: round(span),
  byRoute,
}));
