-- sql/migrations/002_sync.sql - placeholder on the budget branch so 004 has
-- its predecessors; the sync branch owns this file and replaces it at merge.
DO $$ BEGIN NULL; END $$;
