-- sql/migrations/004_budget.sql - what `chargeback budget apply|delete`
-- changed at Azure.
--
-- One row per budget write ARM confirmed (PUT answered 200/201, DELETE
-- 200), written after the answer, so the table is the tool's own history
-- of customer budgets: which budget (its ARM name, "cb-" + template), what
-- was done, the amount before and after (numeric: exact), the eTag Azure
-- gave the new version, when, and the hash of the configuration that
-- asked for it (cb_config_hash).  Customer-owned: keyed by customer_id as
-- 001 requires; nothing is ever updated or deleted here.
CREATE TABLE chargeback.budget_change (
  billing_account_id text NOT NULL,
  customer_id text NOT NULL,
  change_id bigint GENERATED ALWAYS AS IDENTITY,
  budget_name text NOT NULL,
  action text NOT NULL,
  old_amount numeric,
  new_amount numeric,
  etag text,
  config_hash text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (billing_account_id, customer_id, change_id),
  FOREIGN KEY (billing_account_id, customer_id)
    REFERENCES chargeback.customer (billing_account_id, customer_id),
  CHECK (budget_name ~ '^[A-Za-z0-9_-]{1,63}$'),
  CHECK (action IN ('create', 'update', 'delete')),
  CHECK ((action = 'create') = (old_amount IS NULL)),
  CHECK ((action = 'delete') = (new_amount IS NULL)),
  CHECK (config_hash ~ '^[0-9a-f]{16}$')
);
