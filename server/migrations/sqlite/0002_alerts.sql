-- Mass-movement alerts: current state (one row per alert, with its
-- escalation plan), acknowledgements, and the history of every step.
-- The full alert as clients see it is kept as JSON in `body`; the columns
-- beside it are what queries filter and sort on and what the escalation
-- loop tests. Timestamps are Unix milliseconds; booleans do not occur.

CREATE TABLE alerts (
    id                  TEXT PRIMARY KEY,
    post                TEXT NOT NULL REFERENCES posts(slug),
    corridor            TEXT NOT NULL REFERENCES corridors(slug),
    country             TEXT NOT NULL CHECK (country IN ('BI', 'TZ')),
    kind                TEXT NOT NULL,
    severity            TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('actual', 'exercise', 'test')),
    state               TEXT NOT NULL CHECK (state IN ('open', 'resolved', 'cancelled')),
    headcount_best      BIGINT NOT NULL,
    raised_by           BIGINT NOT NULL,
    raised_at           BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    version             BIGINT NOT NULL,
    ack_count           BIGINT NOT NULL DEFAULT 0,
    -- 0 until the first escalation, then 1, then 2.
    escalation_level    BIGINT NOT NULL DEFAULT 0,
    -- When the next escalation is due; NULL when none is (acknowledged,
    -- closed, not severe enough, or already at the last level).
    next_escalation_at  BIGINT,
    -- The delay from level 1 to level 2, fixed when the alert was raised so
    -- that a restart with other settings does not move running timers.
    second_level_ms     BIGINT NOT NULL,
    body                TEXT NOT NULL
);
CREATE INDEX alerts_by_corridor ON alerts (corridor, raised_at);
CREATE INDEX alerts_due ON alerts (next_escalation_at);

CREATE TABLE alert_acks (
    alert_id  TEXT NOT NULL REFERENCES alerts(id),
    user_id   BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (alert_id, user_id)
);

CREATE TABLE alert_history (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id  TEXT NOT NULL REFERENCES alerts(id),
    version   BIGINT NOT NULL,
    step      TEXT NOT NULL,
    at        BIGINT NOT NULL,
    actor_id  BIGINT,
    seq       BIGINT NOT NULL,   -- the event that announced the step
    change    TEXT NOT NULL      -- JSON AlertChange
);
CREATE INDEX alert_history_by_alert ON alert_history (alert_id, id);
