-- sql/migrations/003_policy.sql - customer "view charges" policies.
--
-- `chargeback policy apply|set` changes a customer's policy over ARM
-- (policies/default, properties.viewCharges) and records every change it
-- made, after ARM confirmed it, here: one policy_change row and the new
-- customer_policy value, written by one statement (one transaction), so a
-- change is either recorded whole or not at all.  Rules of 001 hold:
-- schema "chargeback", billing_account_id and customer_id on every row and
-- in every key, nothing deleted.

-- The last value of each customer's policy the store knows lives in 002's
-- customer_policy (what sync observed, or what the tool set and
-- confirmed, whichever came last).  `chargeback policy list --from-store`
-- reads it; the live value is always ARM's (a change made elsewhere shows
-- up as drift in `policy plan`, not here).
CREATE TABLE chargeback.policy_change (
  billing_account_id text NOT NULL,
  customer_id text NOT NULL,
  id bigint GENERATED ALWAYS AS IDENTITY,
  old_view_charges text NOT NULL, -- as ARM reported it before the PUT
  new_view_charges text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  config_hash text NOT NULL,
  source text NOT NULL,
  request_id text,
  PRIMARY KEY (billing_account_id, customer_id, id),
  FOREIGN KEY (billing_account_id, customer_id)
    REFERENCES chargeback.customer (billing_account_id, customer_id),
  CHECK (new_view_charges IN ('Allowed', 'NotAllowed')),
  CHECK (old_view_charges <> ''),
  CHECK (config_hash ~ '^[0-9a-f]{16}$'),
  CHECK (source IN ('apply', 'set'))
);
