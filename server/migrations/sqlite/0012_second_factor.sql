-- Second factor (TOTP, RFC 6238) and the cluster-wide login throttle.

-- One TOTP secret per account. `enabled_at` is NULL while an enrolment
-- waits for its confirming code. `last_step` is the last 30-second time
-- step whose code was accepted: a code is never accepted twice (replay),
-- on any node.
CREATE TABLE second_factors (
    user_id     BIGINT PRIMARY KEY REFERENCES users(id),
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    enabled_at  BIGINT,
    last_step   BIGINT NOT NULL DEFAULT 0
);

-- Single-use recovery codes, stored only as SHA-256 hashes.
CREATE TABLE recovery_codes (
    user_id    BIGINT NOT NULL REFERENCES users(id),
    code_hash  TEXT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Proofs that a login's password step passed, waiting for its second
-- factor or its enrolment; stored as hashes, short-lived, single-use.
CREATE TABLE login_challenges (
    id_hash     TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    purpose     TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    client_addr TEXT
);
CREATE INDEX login_challenges_by_expiry ON login_challenges (expires_at);
