-- The verifiable log (docs/audit.md): one RFC 9162 Merkle tree whose
-- leaves are every event and every audit entry, in commit order. Each leaf
-- row is written in the same transaction as the row it commits to.

CREATE TABLE log_leaves (
    idx     BIGINT PRIMARY KEY,   -- leaf index, from 0, no gaps
    source  TEXT NOT NULL,        -- 'event', 'audit' or 'redaction'
    ref     BIGINT NOT NULL,      -- events.seq, audit.id or log_redactions.leaf
    hash    TEXT NOT NULL         -- hex SHA-256(0x00 || leaf bytes)
);
CREATE UNIQUE INDEX log_leaves_by_ref ON log_leaves (source, ref);

-- Cache of perfect subtree hashes (level >= 1) so that checkpoints and
-- proofs never rehash the whole log. Derived data: the verifier ignores it.
CREATE TABLE log_nodes (
    level  BIGINT NOT NULL,
    idx    BIGINT NOT NULL,
    hash   TEXT NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Tombstones: leaf `target` was redacted; the tombstone is itself a leaf.
CREATE TABLE log_redactions (
    leaf    BIGINT PRIMARY KEY,
    target  BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    reason  TEXT NOT NULL
);

-- Every checkpoint the hub signed (C2SP signed-note text), oldest first.
CREATE TABLE log_checkpoints (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    size  BIGINT NOT NULL,
    root  TEXT NOT NULL,
    at    BIGINT NOT NULL,
    note  TEXT NOT NULL
);

-- Checkpoints of this log as cosigned by witnesses.
CREATE TABLE log_cosignatures (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    size     BIGINT NOT NULL,
    witness  TEXT NOT NULL,
    at       BIGINT NOT NULL,
    note     TEXT NOT NULL
);

-- This hub as a witness: the last checkpoint it cosigned for each log.
CREATE TABLE witness_state (
    origin  TEXT PRIMARY KEY,
    size    BIGINT NOT NULL,
    root    TEXT NOT NULL,
    note    TEXT NOT NULL,
    at      BIGINT NOT NULL
);
