-- sql/migrations/003_policy.sql - placeholder on the budget branch so 004 has
-- its predecessors; the policy branch owns this file and replaces it at merge.
DO $$ BEGIN NULL; END $$;
