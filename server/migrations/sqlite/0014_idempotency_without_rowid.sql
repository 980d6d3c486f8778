-- Issue 18 (a lean publish path): the idempotency records become a
-- WITHOUT ROWID table on SQLite. As a rowid table with a composite primary
-- key, every record was written twice, once in the table and once in the
-- automatic index on (user_id, key); clustered on its key it is written
-- once, and a durable publish claims its key with a single insert (see
-- server/src/store/publishes.rs). Rows are small (a key, a 64-character
-- fingerprint and a short JSON reply), which is where WITHOUT ROWID fits.

CREATE TABLE idempotency_by_key (
    user_id      BIGINT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    reply        TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
) WITHOUT ROWID;

INSERT INTO idempotency_by_key (user_id, key, fingerprint, reply, at)
    SELECT user_id, key, fingerprint, reply, at FROM idempotency;
DROP TABLE idempotency;
ALTER TABLE idempotency_by_key RENAME TO idempotency;
