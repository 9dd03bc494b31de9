-- sql/migrations/005_costs.sql - cost lines: loads, lines, descriptors.
--
-- `chargeback ingest` streams Cost Details reports and cost files into
-- these tables (sql/store_costs.c, include/chargeback/costs.h).  A month
-- is millions of lines of ~70 columns, most of which repeat from line to
-- line (the meter, subscription, customer, resource, tags...), so a line
-- is stored in two parts:
--
-- * cost_line: what changes per line - the usage day, the resource (group,
--   id, tags) and the eleven exact amounts - plus the id of its
--   descriptor;
-- * cost_descriptor: everything else, once per distinct value within a
--   load (the loader de-duplicates in memory; a repeat it no longer
--   remembers just gets a second id, so correctness never depends on it).
--
-- The view cost_line_full joins them back into one row per line.
--
-- Loads.  Azure cost rows have no id and an open month is re-priced as it
-- fills, so a load is keyed by (scope, period, metric) and replaces that
-- key's previous load whole; rows are never merged or de-duplicated
-- (DESIGN.md "Idempotent and crash-safe"; background B.2).  The loader
-- holds a session advisory lock on the key (a second loader fails at
-- once), COPYs into staging tables that are not yet part of cost_line,
-- checks the stored count and sums against its own, then in ONE
-- transaction drops the key's previous tables and attaches the new ones.
-- Only committed loads are ever attached: whatever cost_line holds is the
-- committed state, and a load killed at any point before that transaction
-- commits changes nothing visible.  Its 'loading' row and any staging
-- tables it left are removed by the next load of the key.
--
-- Partitioning.  cost_line and cost_descriptor are PARTITION BY LIST
-- (period), one partition per month (cost_line_y2026m10, created by the
-- loader on first use), each itself PARTITION BY LIST (load_id) with one
-- leaf per committed load (cost_line_l42).  Replacing a load is then a
-- DROP of its leaves and an ATTACH of the new ones: no DELETE, no
-- vacuum debt, and a report on a month reads that month only.  Staging
-- tables are created with CHECK (period = P AND load_id = L), which
-- implies the leaf's partition bound, so ATTACH does not scan them.
--
-- customer_id (tenant isolation, 001's rules).  Every line and descriptor
-- carries billing_account_id (the line's billingAccountId, '' when the
-- file has none) and customer_id, which is:
--   1. the ARM customer name (chargeback.customer.customer_id) of the
--      customer of that billing account whose tenant_id is the line's
--      customerTenantId, when sync knows it;
--   2. else the customerTenantId itself, lower-cased (a customer sync
--      has not seen yet, or a file from elsewhere);
--   3. else '' (partner-level lines: rounding adjustments, EA and direct
--      MCA files, which have no customer).
-- The value is decided once, at load time, and kept: a later sync does
-- not rewrite stored lines (re-loading the month does).  customer_id is
-- in the descriptor's primary key and on every line, so these tables can
-- be distributed by customer_id (Citus) like the others.  There is no
-- foreign key to chargeback.customer: rule 2 and 3 rows have no customer
-- row, and lines are loaded before or without a sync.
--
-- Amounts are numeric, exact (never a binary floating type), NULL when
-- the file has no such column or the value is empty.  Dates are date.
-- Text columns are the file's text as written (NULL when absent).

-- One row per load attempt.  Partner-owned (a load spans customers), so
-- no customer_id, like billing_account.  state: 'loading' while the
-- loader runs (or after it was killed, until the next load of the key
-- cleans up), 'committed' for the key's current data (at most one, the
-- partial unique index), 'superseded' once a later load replaced it,
-- 'failed' when it was abandoned.  rows/descriptors/totals are set at
-- commit; totals is {"EUR": {"rows": 12, "cost": "1.5", "paygCost":
-- "2.25"}, ...}: per billing currency ("" when absent), amounts as JSON
-- strings so they stay exact.
CREATE TABLE chargeback.cost_load (
  load_id bigint GENERATED ALWAYS AS IDENTITY,
  scope text NOT NULL,
  period date NOT NULL,     -- first day of the month
  metric text NOT NULL,
  source text,              -- "report <operation>", "file x.csv.gz"
  state text NOT NULL DEFAULT 'loading',
  rows bigint,
  descriptors bigint,
  totals jsonb,
  started_at timestamptz NOT NULL DEFAULT now(),
  committed_at timestamptz,
  PRIMARY KEY (load_id),
  CHECK (scope <> ''),
  CHECK (period = date_trunc('month', period)::date),
  CHECK (metric IN ('actual', 'amortized')),
  CHECK (state IN ('loading', 'committed', 'superseded', 'failed')),
  CHECK ((state IN ('committed', 'superseded')) =
    (committed_at IS NOT NULL AND rows IS NOT NULL AND
     descriptors IS NOT NULL AND totals IS NOT NULL)),
  CHECK (totals IS NULL OR jsonb_typeof(totals) = 'object')
);

CREATE UNIQUE INDEX cost_load_one_committed
  ON chargeback.cost_load (scope, period, metric)
  WHERE state = 'committed';

-- The line part.  (load_id, part, line) identifies a line (the source
-- part - blob or file - and the physical line it starts on); it is not
-- indexed: lines are only ever read a month at a time, and an index
-- would double the cost of a load.  No CHECK on the date either: the
-- loader refuses a line outside the period before it is sent.
CREATE TABLE chargeback.cost_line (
  billing_account_id text NOT NULL,
  customer_id text NOT NULL,
  period date NOT NULL,
  load_id bigint NOT NULL,
  part integer NOT NULL,
  line bigint NOT NULL,
  descriptor_id bigint NOT NULL,
  date date NOT NULL,       -- the usage day
  -- The resource is kept with the line: a file that names a new
  -- resource on every line would otherwise make every descriptor
  -- distinct.  tags: the file's JSON object (Azure's brace-less
  -- fragment comes wrapped in {}).
  resource_group text,
  resource_id text,
  tags jsonb,
  quantity numeric,
  effective_price numeric,
  unit_price numeric,
  payg_price numeric,
  cost_in_billing_currency numeric,
  cost_in_pricing_currency numeric,
  cost_in_usd numeric,
  payg_cost_in_billing_currency numeric,
  payg_cost_in_usd numeric,
  exchange_rate_pricing_to_billing numeric,
  partner_earned_credit_rate numeric
) PARTITION BY LIST (period);

-- The descriptor part: every column of a line but the day and amounts,
-- named after the MPA schema (azure-api-notes.md e.1) in snake case, in
-- the order of cb_cost_text_field.  billing_account_id is the line's
-- billingAccountId ('' when absent).  additional_info is the file's JSON
-- object; extra holds the columns this table does not model, as
-- {"header as written": "text"}, so nothing a partner may need later is
-- thrown away.
CREATE TABLE chargeback.cost_descriptor (
  billing_account_id text NOT NULL,
  customer_id text NOT NULL,
  period date NOT NULL,
  load_id bigint NOT NULL,
  descriptor_id bigint NOT NULL,
  invoice_id text,
  previous_invoice_id text,
  billing_account_name text,
  billing_profile_id text,
  billing_profile_name text,
  invoice_section_id text,
  invoice_section_name text,
  partner_tenant_id text,
  partner_name text,
  reseller_name text,
  reseller_mpn_id text,
  customer_tenant_id text,
  customer_name text,
  cost_center text,
  service_family text,
  product_order_id text,
  product_order_name text,
  consumed_service text,
  meter_id text,
  meter_name text,
  meter_category text,
  meter_subcategory text,
  meter_region text,
  product_id text,
  product_name text,
  subscription_id text,
  subscription_name text,
  publisher_type text,
  publisher_id text,
  publisher_name text,
  resource_location text,
  location text,
  unit_of_measure text,
  charge_type text,
  billing_currency text,
  pricing_currency text,
  service_info1 text,
  service_info2 text,
  frequency text,
  term text,
  reservation_id text,
  reservation_name text,
  pricing_model text,
  benefit_id text,
  benefit_name text,
  provider text,
  cost_allocation_rule_name text,
  billing_period_start date,
  billing_period_end date,
  service_period_start date,
  service_period_end date,
  exchange_rate_date date,
  credit_eligible boolean,  -- isAzureCreditEligible
  pec_applied boolean,      -- partnerEarnedCreditApplied
  additional_info jsonb,
  extra jsonb,
  PRIMARY KEY (customer_id, period, load_id, descriptor_id)
) PARTITION BY LIST (period);

-- One row per line with every column, for people and later issues
-- (rating, statements).  Only committed loads are attached, so every row
-- here is current data; scope and metric come from the load.
CREATE VIEW chargeback.cost_line_full AS
SELECT k.scope, k.metric, l.billing_account_id, l.customer_id, l.period,
  l.load_id, l.part, l.line, l.descriptor_id, l.date,
  d.invoice_id, d.previous_invoice_id, d.billing_account_name,
  d.billing_profile_id, d.billing_profile_name, d.invoice_section_id,
  d.invoice_section_name, d.partner_tenant_id, d.partner_name,
  d.reseller_name, d.reseller_mpn_id, d.customer_tenant_id,
  d.customer_name, d.cost_center, d.service_family, d.product_order_id,
  d.product_order_name, d.consumed_service, d.meter_id, d.meter_name,
  d.meter_category, d.meter_subcategory, d.meter_region, d.product_id,
  d.product_name, d.subscription_id, d.subscription_name,
  d.publisher_type, d.publisher_id, d.publisher_name, l.resource_group,
  l.resource_id, d.resource_location, d.location, d.unit_of_measure,
  d.charge_type, d.billing_currency, d.pricing_currency,
  d.service_info1, d.service_info2, d.frequency, d.term,
  d.reservation_id, d.reservation_name, d.pricing_model, d.benefit_id,
  d.benefit_name, d.provider, d.cost_allocation_rule_name,
  d.billing_period_start, d.billing_period_end, d.service_period_start,
  d.service_period_end, d.exchange_rate_date, d.credit_eligible,
  d.pec_applied, l.tags, d.additional_info, d.extra,
  l.quantity, l.effective_price, l.unit_price, l.payg_price,
  l.cost_in_billing_currency, l.cost_in_pricing_currency, l.cost_in_usd,
  l.payg_cost_in_billing_currency, l.payg_cost_in_usd,
  l.exchange_rate_pricing_to_billing, l.partner_earned_credit_rate
FROM chargeback.cost_line l
JOIN chargeback.cost_descriptor d
  ON d.customer_id = l.customer_id AND d.period = l.period
  AND d.load_id = l.load_id AND d.descriptor_id = l.descriptor_id
JOIN chargeback.cost_load k ON k.load_id = l.load_id;
