-- The SMS bridge (server/src/sms, docs/sms.md): each user's phone and
-- preferences, the short reference code of each alert, the durable
-- outbox of SMS to send (one row per recipient and alert step: the unique
-- `dedup_key` is what makes "never twice" hold across restarts and
-- nodes) and the incoming SMS (unique per gateway message, so a gateway
-- delivering one twice changes nothing).

CREATE TABLE sms_phones (
    user_id        BIGINT PRIMARY KEY REFERENCES users(id),
    -- E.164, e.g. +25779000001; unique once verified (see below).
    phone          TEXT NOT NULL,
    verified_at    BIGINT,
    -- SHA-256 of the pending verification code, its expiry and tries.
    code_hash      TEXT,
    code_expires   BIGINT,
    code_tries     BIGINT NOT NULL DEFAULT 0,
    opted_out      BIGINT NOT NULL DEFAULT 0,
    -- Quiet hours, minutes after midnight UTC (NULL: none).
    quiet_from     BIGINT,
    quiet_to       BIGINT,
    -- SHA-256 of the user's reply PIN (NULL: none set).
    pin_hash       TEXT,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX sms_phones_verified ON sms_phones (phone) WHERE verified_at IS NOT NULL;

CREATE TABLE sms_alert_codes (
    alert_id  TEXT PRIMARY KEY REFERENCES alerts(id),
    code      TEXT NOT NULL UNIQUE
);

CREATE TABLE sms_outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key     TEXT NOT NULL UNIQUE,
    user_id       BIGINT,
    phone         TEXT NOT NULL,
    alert_id      TEXT,
    purpose       TEXT NOT NULL,
    body          TEXT NOT NULL,
    -- queued → sending → sent → delivered | failed (see docs/sms.md).
    state         TEXT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    attempt_id    TEXT,
    attempt_at    BIGINT,
    next_try_at   BIGINT NOT NULL,
    segments      BIGINT NOT NULL,
    encoding      TEXT NOT NULL,
    gateway_reply TEXT,
    error         TEXT,
    created_at    BIGINT NOT NULL,
    sent_at       BIGINT,
    delivered_at  BIGINT
);
CREATE INDEX sms_outbox_due ON sms_outbox (state, next_try_at);
CREATE INDEX sms_outbox_by_alert ON sms_outbox (alert_id);

CREATE TABLE sms_inbound (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key   TEXT NOT NULL UNIQUE,
    sender      TEXT NOT NULL,
    text        TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    user_id     BIGINT,
    alert_id    TEXT,
    -- pending until handled, then accepted or refused:<code>.
    outcome     TEXT NOT NULL
);
