-- The client address of the request that caused an audit entry (the
-- forwarded one behind a trusted proxy); NULL for the hub's own actions,
-- the command line, and entries written before this column. The entry's
-- hash covers it when present (server/src/store/audit.rs).
ALTER TABLE audit ADD COLUMN client_addr TEXT;
