-- sql/migrations/001_partner_hierarchy.sql - the partner hierarchy.
--
-- What `chargeback sync` walks over ARM (DESIGN.md, azure-api-notes.md a.1):
-- billing accounts -> billing profiles -> customers -> billing subscriptions.
-- Every row is keyed by the ARM *names* (the last segment of the resource
-- id), which are stable; display names change and are plain columns.
--
-- Rules every table here follows, and later migrations must too:
--
-- * Everything lives in the schema "chargeback", always written out in full
--   (chargeback.customer), so the tables never collide with other
--   applications sharing the database and no statement depends on the
--   connection's search_path.  The store creates the schema together with
--   its version table (chargeback.schema_migration) before the first
--   migration runs; a migration never creates or drops it.
-- * Tenant isolation (DESIGN.md; background C.4).  A customer is the tenant:
--   every customer-owned row carries billing_account_id and customer_id,
--   and every primary key, unique key and foreign key between customer-
--   owned tables includes customer_id, always of type text.  That is what
--   Citus needs to distribute these tables by customer_id (a unique key
--   without the distribution column cannot be enforced per shard) and what
--   keeps a unique check from telling one tenant about another's rows
--   (background C.1).  billing_account and billing_profile belong to the
--   partner, not to a customer: they carry no customer_id and would be
--   Citus reference tables (small, replicated); foreign keys from customer-
--   owned tables to them are allowed, the reverse never is.
-- * Nothing is deleted.  A row Azure stops returning gets gone_at set by
--   the sync that noticed; it is cleared again if the row comes back.
--   first_seen/last_seen record the first and latest sync that saw it.
--   Old statements keep pointing at what existed when they were made.
-- * ARM compares names case-insensitively but PostgreSQL text does not, so
--   GUID-valued keys (subscription ids, Entra tenant ids) are stored in
--   lower case, enforced by CHECK: two spellings of one subscription must
--   never become two rows.  Other ARM names are stored as listed.
-- * Row-level security policies and roles come with the migration that adds
--   the first customer-facing reads, not here.
--
-- Migrations run inside a transaction opened by the store (one per file),
-- so a file must not contain BEGIN/COMMIT; the build refuses one that does.

-- A billing account the credentials can read.  id is the ARM name, e.g.
-- 'a1a9c77e-...:a80d3b1f-..._2019-05-31' for an MPA account: unique on its
-- own across Azure, and the root of every other key.
CREATE TABLE chargeback.billing_account (
  id text NOT NULL,
  display_name text,
  agreement_type text,      -- MicrosoftPartnerAgreement, ...
  account_type text,        -- Partner, Enterprise, Business
  account_sub_type text,
  account_status text,      -- Active, ...
  primary_billing_tenant_id text,
  first_seen timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now(),
  gone_at timestamptz,
  PRIMARY KEY (id),
  CHECK (id <> ''),
  CHECK (primary_billing_tenant_id = lower(primary_billing_tenant_id)),
  CHECK (last_seen >= first_seen),
  CHECK (gone_at IS NULL OR gone_at >= last_seen)
);

-- A billing profile of an account (it carries the invoice and its
-- currency).  Profile names are only unique inside their account, so the
-- key is (billing_account_id, id).  Partner-owned: no customer_id.
CREATE TABLE chargeback.billing_profile (
  billing_account_id text NOT NULL
    REFERENCES chargeback.billing_account (id),
  id text NOT NULL,
  display_name text,
  currency text,            -- ISO 4217 billing currency
  billing_relationship_type text, -- Direct, IndirectCustomer, CSPPartner...
  system_id text,           -- e.g. 1XXX-11XX-XX1-XXXX-XXX
  status text,              -- Active, Warned, ...
  status_reason_code text,
  -- indirectRelationshipInfo: the other party of an indirect relationship
  indirect_billing_account_id text,
  indirect_billing_profile_id text,
  indirect_display_name text,
  first_seen timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now(),
  gone_at timestamptz,
  PRIMARY KEY (billing_account_id, id),
  CHECK (id <> ''),
  CHECK (currency ~ '^[A-Z]{3}$'),
  CHECK (last_seen >= first_seen),
  CHECK (gone_at IS NULL OR gone_at >= last_seen)
);

-- A customer of a partner billing account: the tenant of DESIGN.md.
-- customer_id is the ARM customer name (a GUID or 'Q7GV-UUVA-PJA-TGB'
-- style); it is only known to be unique inside its billing account, hence
-- (billing_account_id, customer_id).  billing_profile_id may be unknown
-- (older api-versions omit it).  reseller_id/reseller_name are the
-- indirect reseller Azure names for the customer; a customer served by
-- several resellers has them per subscription (subscription.reseller_id).
CREATE TABLE chargeback.customer (
  billing_account_id text NOT NULL
    REFERENCES chargeback.billing_account (id),
  customer_id text NOT NULL,
  billing_profile_id text,
  display_name text,
  tenant_id text,           -- the customer's Entra tenant, when known
  system_id text,
  reseller_id text,         -- MPN id
  reseller_name text,
  status text,              -- Active, ...
  tags jsonb NOT NULL DEFAULT '{}',
  first_seen timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now(),
  gone_at timestamptz,
  PRIMARY KEY (billing_account_id, customer_id),
  FOREIGN KEY (billing_account_id, billing_profile_id)
    REFERENCES chargeback.billing_profile (billing_account_id, id),
  CHECK (customer_id <> ''),
  CHECK (tenant_id = lower(tenant_id)),
  CHECK (jsonb_typeof(tags) = 'object'),
  CHECK (last_seen >= first_seen),
  CHECK (gone_at IS NULL OR gone_at >= last_seen)
);

-- A billing subscription of a customer (an Azure plan, or a non-Azure item
-- such as a domain, whose resource_uri is not a subscription).  The key
-- includes customer_id (Citus, above); a subscription moved to another
-- customer therefore becomes a new row and the old one gets gone_at,
-- which is also the history a statement needs.  Cost lines find their
-- subscription by id alone, hence the plain index on subscription_id.
CREATE TABLE chargeback.subscription (
  billing_account_id text NOT NULL,
  customer_id text NOT NULL,
  subscription_id text NOT NULL,
  billing_profile_id text,
  display_name text,
  status text,              -- subscriptionBillingStatus or status
  sku_id text,              -- 0001 Azure Plan, 0002 Azure Plan DevTest
  sku_description text,
  reseller_id text,         -- MPN id of the indirect reseller
  reseller_name text,
  resource_uri text,
  first_seen timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now(),
  gone_at timestamptz,
  PRIMARY KEY (billing_account_id, customer_id, subscription_id),
  FOREIGN KEY (billing_account_id, customer_id)
    REFERENCES chargeback.customer (billing_account_id, customer_id),
  FOREIGN KEY (billing_account_id, billing_profile_id)
    REFERENCES chargeback.billing_profile (billing_account_id, id),
  CHECK (subscription_id <> ''),
  CHECK (subscription_id = lower(subscription_id)),
  CHECK (last_seen >= first_seen),
  CHECK (gone_at IS NULL OR gone_at >= last_seen)
);

CREATE INDEX subscription_by_subscription_id
  ON chargeback.subscription (subscription_id);
