-- Flow figures (docs/flows.md): reports of movements at a post for a
-- period, their lines (one row per group of people, denormalised with the
-- report's place and period so that headquarters' queries read one table),
-- every version of each report, the surges the detector suggested, and the
-- detector's sensitivity per post or corridor. Counts only: no names.
-- Timestamps are Unix milliseconds.

CREATE TABLE flow_reports (
    id            TEXT PRIMARY KEY,
    post          TEXT NOT NULL REFERENCES posts(slug),
    corridor      TEXT NOT NULL REFERENCES corridors(slug),
    country       TEXT NOT NULL,
    sharing       TEXT NOT NULL CHECK (sharing IN ('national', 'joint')),
    period_start  BIGINT NOT NULL,
    period_end    BIGINT NOT NULL,
    total         BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    recorded_by   BIGINT NOT NULL,
    recorded_at   BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    body          TEXT NOT NULL      -- JSON FlowReport
);
CREATE INDEX flow_reports_by_post ON flow_reports (post, period_start);

CREATE TABLE flow_lines (
    report_id     TEXT NOT NULL REFERENCES flow_reports(id),
    idx           BIGINT NOT NULL,
    post          TEXT NOT NULL,
    sharing       TEXT NOT NULL,
    period_start  BIGINT NOT NULL,
    direction     TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    nationality   TEXT NOT NULL,
    transport     TEXT,
    reason        TEXT,
    men           BIGINT NOT NULL,
    women         BIGINT NOT NULL,
    boys          BIGINT NOT NULL,
    girls         BIGINT NOT NULL,
    total         BIGINT NOT NULL,
    v_children    BIGINT NOT NULL,
    v_pregnant    BIGINT NOT NULL,
    v_elderly     BIGINT NOT NULL,
    v_sick        BIGINT NOT NULL,
    v_disabled    BIGINT NOT NULL,
    PRIMARY KEY (report_id, idx)
);
CREATE INDEX flow_lines_by_post ON flow_lines (post, period_start);
CREATE INDEX flow_lines_by_time ON flow_lines (period_start);

CREATE TABLE flow_versions (
    report_id  TEXT NOT NULL REFERENCES flow_reports(id),
    version    BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor_id   BIGINT NOT NULL,
    seq        BIGINT NOT NULL,   -- the event that announced it
    body       TEXT NOT NULL,     -- JSON FlowVersion
    PRIMARY KEY (report_id, version)
);

CREATE TABLE flow_surges (
    id          TEXT PRIMARY KEY,
    post        TEXT NOT NULL REFERENCES posts(slug),
    day         TEXT NOT NULL,
    direction   TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('suggested', 'confirmed', 'dismissed')),
    found_at    BIGINT NOT NULL,
    -- Who is confirming it (set before the alert is raised, so that two
    -- officers never raise two alerts for one surge).
    claimed_by  BIGINT,
    alert_id    TEXT,
    body        TEXT NOT NULL,    -- JSON FlowSurge
    -- One suggestion per post, day and direction, ever, on every node.
    UNIQUE (post, day, direction)
);
CREATE INDEX flow_surges_by_state ON flow_surges (state, found_at);

CREATE TABLE flow_sensitivity (
    scope       TEXT PRIMARY KEY,  -- 'post:{slug}' or 'corridor:{slug}'
    threshold_milli BIGINT NOT NULL, -- score threshold x 1000
    updated_at  BIGINT NOT NULL,
    updated_by  BIGINT NOT NULL
);
