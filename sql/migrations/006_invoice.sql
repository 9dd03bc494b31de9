-- sql/migrations/006_invoice.sql - the partner's invoices, as the
-- Invoices API gave them (`chargeback reconcile`, include/chargeback/
-- reconcile.h, sql/store_invoice.c).
--
-- One row per (billing account, invoice), replaced whole each time the
-- invoice is fetched again (its status and amount due change as it is
-- paid; fetched_at says when it was read).  Partner-owned, like
-- billing_account: an invoice is the partner's, spanning customers, so
-- there is no customer_id.  No foreign key to billing_account either:
-- reconcile works from the configuration's accounts, with or without a
-- sync.
--
-- billing_profile_id is the profile's name (the last segment of the
-- invoice's billingProfileId), as cost lines' billingProfileId holds it.
-- Amounts are numeric, exact, in the invoice's currency: billed_amount
-- is the charges before credits, prepayment and tax (what the cost lines
-- add up to), total_amount what is payable after them and tax.
-- period_start/period_end are the invoice period (the usage month for a
-- monthly invoice); invoice_date the day it was issued.
CREATE TABLE chargeback.invoice (
  billing_account_id text NOT NULL,
  invoice_id text NOT NULL,
  billing_profile_id text,
  billing_profile_name text,
  invoice_date date,
  due_date date,
  period_start date NOT NULL,
  period_end date,
  currency text NOT NULL,
  billed_amount numeric NOT NULL,
  sub_total numeric NOT NULL,
  tax_amount numeric NOT NULL,
  total_amount numeric NOT NULL,
  amount_due numeric NOT NULL,
  credit_amount numeric NOT NULL,
  status text,
  document_type text,
  fetched_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (billing_account_id, invoice_id),
  CHECK (billing_account_id <> ''),
  CHECK (invoice_id <> ''),
  CHECK (currency ~ '^[A-Z]{3}$'),
  CHECK (period_end IS NULL OR period_end >= period_start)
);

-- Reconcile reads a period's invoices.
CREATE INDEX invoice_period ON chargeback.invoice (period_start);
