-- Least privilege for the hub on PostgreSQL (docs/operations.md, docs/audit.md).
--
-- The database owner applies migrations (`mpaka migrate` with the owner's
-- URL); the hub then serves as `mpaka_hub`, which may read everything and
-- INSERT into the log tables but never UPDATE, DELETE or TRUNCATE them. An
-- operator who holds only the hub's credentials cannot rewrite the record.
--
--   psql -d mpaka -v hub_password="'…'" -f deploy/postgres/least-privilege.sql
--
-- Run it again after each upgrade that adds tables.

DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mpaka_hub') THEN
    CREATE ROLE mpaka_hub LOGIN;
  END IF;
END $$;
ALTER ROLE mpaka_hub PASSWORD :hub_password;

GRANT USAGE ON SCHEMA public TO mpaka_hub;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO mpaka_hub;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO mpaka_hub;
-- The record: append only.
REVOKE UPDATE, DELETE, TRUNCATE ON
  events, event_origins, audit, log_leaves, log_nodes, log_redactions, log_checkpoints, log_cosignatures
  FROM mpaka_hub;
-- Retention (docs/operations.md, "Retention") replaces the body of old
-- events: only that column, and the verifier accepts a changed body only
-- when a tombstone leaf (which this role can append, never remove) names it.
GRANT UPDATE (body) ON events TO mpaka_hub;
