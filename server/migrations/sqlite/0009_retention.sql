-- Retention (server/src/retention): a lease per periodic job, so that a
-- job runs on one node at a time, with how far it got (`watermark`: for
-- retention, the last event seq examined).
CREATE TABLE jobs (
    name         TEXT PRIMARY KEY,
    holder       TEXT,
    lease_until  BIGINT NOT NULL DEFAULT 0,
    watermark    BIGINT NOT NULL DEFAULT 0,
    last_run_at  BIGINT
);

-- When an alert's personal free text was redacted (NULL: not yet).
ALTER TABLE alerts ADD COLUMN redacted_at BIGINT;
