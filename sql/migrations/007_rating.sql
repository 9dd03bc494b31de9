-- sql/migrations/007_rating.sql - rated charge lines (`chargeback rate`,
-- include/chargeback/rate.h, allocation/rate.c, sql/store_rate.c).
--
-- A rating run prices a period's committed ActualCost lines with the
-- markup rules of a rule set (identified by its content hash) and writes
-- charge lines at the statement grain: customer x subscription x service
-- family x meter category x meter x charge type x publisher type x
-- pricing model x reseller x day, in the line's billing currency.
--
-- Runs.  One row per attempt.  Partner-owned (a run spans customers), so
-- no customer_id, like cost_load.  state: 'running' while the engine
-- reads and prices (or after it was killed), 'committed' for the
-- period's current charge lines (at most one per period and metric, the
-- partial unique index), 'superseded' once a later run replaced them,
-- 'failed' when it was abandoned (an invariant failed, a rule could not
-- be applied).  A re-rate writes the new lines, deletes the previous
-- run's and flips the states in ONE transaction: readers see the old
-- lines or the new ones, never both or neither.
CREATE TABLE chargeback.rating_run (
  run_id bigint GENERATED ALWAYS AS IDENTITY,
  period date NOT NULL,     -- first day of the month
  metric text NOT NULL,
  rules_hash text NOT NULL, -- cb_rules_hash(): SHA-256, 64 hex digits
  state text NOT NULL DEFAULT 'running',
  lines bigint,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  PRIMARY KEY (run_id),
  CHECK (period = date_trunc('month', period)::date),
  CHECK (metric IN ('actual', 'amortized')),
  CHECK (rules_hash ~ '^[0-9a-f]{64}$'),
  CHECK (state IN ('running', 'committed', 'superseded', 'failed')),
  CHECK ((state IN ('committed', 'superseded')) =
    (finished_at IS NOT NULL AND lines IS NOT NULL))
);

CREATE UNIQUE INDEX rating_run_one_committed
  ON chargeback.rating_run (period, metric)
  WHERE state = 'committed';

-- Charge lines.  line_no numbers a run's lines in the engine's sort
-- order (by customer, then the grain's columns, NULLs first, bytewise),
-- so (customer_id, period, run_id, line_no) is the key and the same
-- inputs give the same rows.  Text columns are the cost lines' values
-- (NULL when absent); date is the usage day, NULL for a line of the
-- whole month (a minimum monthly charge's shortfall).
--
-- Amounts are numeric, exact, in billing_currency, never rounded here
-- (rounding to the currency's minor unit happens once, in statements):
--   quantity  sum of the lines' quantity
--   cost      sum of costInBillingCurrency (the partner's cost)
--   retail    sum of paygCostInBillingCurrency (NULL when no line has it)
--   base      what the rule prices: cost or retail (cost without a rule)
--   markup    billed - cost: the partner's margin on the line (negative
--             for a discount below cost); with a retail base it includes
--             retail - cost
--   billed    what the customer pays = cost + markup exactly
-- so per currency sum(billed) - sum(markup) = sum(cost), and sum(cost)
-- equals the period's stored ActualCost (background A.5, checked by the
-- engine before anything is written).  rule_name is the markup rule that
-- priced the line, NULL when none matched (then billed = cost);
-- rules_hash the rule set's hash, on every line.  allocation_rule and
-- source_customer_id are set on a part of a group an allocation rule
-- moved to this customer: the rule and the customer the cost was
-- reported under (NULL otherwise).  charge_type
-- 'MinimumMonthly' marks a shortfall line: cost 0, markup = billed =
-- the minimum less what the rule's lines billed.
CREATE TABLE chargeback.charge_line (
  billing_account_id text NOT NULL,
  customer_id text NOT NULL,
  period date NOT NULL,
  run_id bigint NOT NULL REFERENCES chargeback.rating_run (run_id),
  line_no bigint NOT NULL,
  subscription_id text,
  service_family text,
  meter_category text,
  meter_id text,
  meter_name text,
  charge_type text,
  publisher_type text,
  pricing_model text,
  reseller_name text,
  date date,
  billing_currency text NOT NULL,
  quantity numeric NOT NULL,
  cost numeric NOT NULL,
  retail numeric,
  base numeric NOT NULL,
  markup numeric NOT NULL,
  billed numeric NOT NULL,
  rule_name text,
  allocation_rule text,
  source_customer_id text,
  rules_hash text NOT NULL,
  PRIMARY KEY (customer_id, period, run_id, line_no),
  CHECK (period = date_trunc('month', period)::date),
  CHECK (billed = cost + markup)
);

CREATE INDEX charge_line_period ON chargeback.charge_line (period, run_id);
