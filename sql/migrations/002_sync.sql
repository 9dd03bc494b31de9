-- sql/migrations/002_sync.sql - PLACEHOLDER on the policy branch.
--
-- Migration numbers are fixed (sync 002, policy 003, budget 004) and the
-- build refuses a gap, so the policy branch carries this stand-in until the
-- sync branch's real 002_sync.sql replaces it at the merge (take theirs).
-- It creates nothing.
DO $$ BEGIN NULL; END $$;
