-- Issue 18 (a lean publish path): on SQLite the idempotency records become
-- a WITHOUT ROWID table, written once per record instead of twice (table
-- and key index). PostgreSQL has no such table kind (a heap and its
-- primary-key index are always separate), and the table's columns and key
-- are already what SQLite's now are, so nothing changes here; the file
-- keeps both backends' migration numbers in step.
SELECT 1;
