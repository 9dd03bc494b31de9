-- sql/migrations/002_sync.sql - what `chargeback sync` records beyond the
-- hierarchy of 001: its runs, and what it observed of each customer's
-- view-charges policy and budgets.
--
-- The rules of 001 hold: schema chargeback written out, every customer-
-- owned key includes customer_id, nothing is deleted (gone_at), first_seen
-- / last_seen are the first and latest sync that saw a row.  A sync writes
-- its whole snapshot in one transaction (sql/store_sync.c), so these
-- tables always describe one complete walk.

-- One row per sync.  A successful sync's row is written in the same
-- transaction as its snapshot, so status 'ok' means the snapshot is there;
-- a failed sync writes a 'failed' row of its own and nothing else.  A
-- killed sync leaves no row.  counts: rows walked per kind, and new /
-- changed / gone per kind, as JSON (cb_sync_result).
CREATE TABLE chargeback.sync_run (
  id bigserial PRIMARY KEY,
  started timestamptz NOT NULL DEFAULT now(),
  finished timestamptz,
  status text NOT NULL CHECK (status IN ('ok', 'failed')),
  counts jsonb NOT NULL DEFAULT '{}',
  requests bigint NOT NULL DEFAULT 0,   -- ARM requests, retries included
  throttled bigint NOT NULL DEFAULT 0,  -- answers with 429
  error text,                           -- the failure, one line
  CHECK (finished IS NULL OR finished >= started),
  CHECK (jsonb_typeof(counts) = 'object'),
  CHECK ((status = 'failed') = (error IS NOT NULL))
);

-- A customer's view-charges policy as last read
-- (GET .../customers/{c}/policies/default): Allowed, NotAllowed, or what
-- else Azure sends (the enum is modelAsString).  observed_at is the sync
-- that read this value.  policy (003) keeps the history of changes it
-- makes; this is what Azure said.
CREATE TABLE chargeback.customer_policy (
  billing_account_id text NOT NULL,
  customer_id text NOT NULL,
  view_charges text NOT NULL,
  observed_at timestamptz NOT NULL DEFAULT now(),
  first_seen timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now(),
  gone_at timestamptz,
  PRIMARY KEY (billing_account_id, customer_id),
  FOREIGN KEY (billing_account_id, customer_id)
    REFERENCES chargeback.customer (billing_account_id, customer_id),
  CHECK (view_charges <> ''),
  CHECK (last_seen >= first_seen),
  CHECK (gone_at IS NULL OR gone_at >= last_seen)
);

-- A budget at customer scope as last read
-- (GET .../customers/{c}/providers/Microsoft.Consumption/budgets): every
-- budget, made by chargeback or by hand.  managed: the name starts with
-- the marker of budgets chargeback manages, "cb-" in any case
-- (CB_SYNC_MANAGED_BUDGET_PREFIX; budget (004) only ever changes those).
-- amount is the exact decimal Azure sent; notifications and filter are
-- Azure's JSON as sent.  ARM compares budget names ignoring case, but a
-- scope cannot hold two that differ only in case, so the name is stored
-- as listed.
CREATE TABLE chargeback.customer_budget (
  billing_account_id text NOT NULL,
  customer_id text NOT NULL,
  name text NOT NULL,
  category text,            -- Cost, ReservationUtilization
  amount numeric,
  time_grain text,          -- Monthly, Quarterly, Annually, ...
  start_date text,          -- timePeriod.startDate as sent
  end_date text,
  etag text,
  notifications jsonb NOT NULL DEFAULT '{}',
  filter jsonb,
  managed boolean NOT NULL,
  observed_at timestamptz NOT NULL DEFAULT now(),
  first_seen timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now(),
  gone_at timestamptz,
  PRIMARY KEY (billing_account_id, customer_id, name),
  FOREIGN KEY (billing_account_id, customer_id)
    REFERENCES chargeback.customer (billing_account_id, customer_id),
  CHECK (name <> ''),
  CHECK (jsonb_typeof(notifications) = 'object'),
  CHECK (last_seen >= first_seen),
  CHECK (gone_at IS NULL OR gone_at >= last_seen)
);
