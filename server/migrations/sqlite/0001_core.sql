-- Core schema: directory (corridors, posts, users), the event log,
-- idempotency records, refresh tokens, the audit chain and presence.
-- Timestamps are Unix milliseconds (BIGINT) so that SQLite and PostgreSQL
-- share one representation.

CREATE TABLE corridors (
    slug        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE posts (
    slug          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    country       TEXT NOT NULL CHECK (country IN ('BI', 'TZ')),
    region        TEXT NOT NULL DEFAULT '',
    corridor      TEXT REFERENCES corridors(slug),
    last_seen_at  BIGINT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL,
    country        TEXT,
    org            TEXT,
    post           TEXT REFERENCES posts(slug),
    language       TEXT NOT NULL DEFAULT 'fr',
    disabled       BIGINT NOT NULL DEFAULT 0,
    token_version  BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    channel    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    at         BIGINT NOT NULL,
    author_id  BIGINT,
    author     TEXT,            -- JSON snapshot of the author at the time
    audience   TEXT,            -- JSON restriction within the channel, or NULL
    body       TEXT NOT NULL    -- JSON body of the kind
);
CREATE INDEX events_by_channel ON events (channel, seq);

CREATE TABLE idempotency (
    user_id      BIGINT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    reply        TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    family      TEXT NOT NULL,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    revoked     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family);

CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         BIGINT NOT NULL,
    actor_id   BIGINT,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

CREATE TABLE nodes (
    node_id       TEXT PRIMARY KEY,
    started_at    BIGINT NOT NULL,
    heartbeat_at  BIGINT NOT NULL
);

CREATE TABLE presence (
    node_id   TEXT NOT NULL,
    user_id   BIGINT NOT NULL,
    post      TEXT,
    sessions  BIGINT NOT NULL,
    PRIMARY KEY (node_id, user_id)
);
